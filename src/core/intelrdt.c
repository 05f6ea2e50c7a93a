/* linux.intelRdt, as runtime-spec 1.3 words it (config-linux.md,
 * "IntelRdt"):
 * - no resctrl filesystem mounted where the runtime runs: an error;
 * - closID unset: the group is <resctrl>/<container id>, made by the
 *   runtime and removed at delete; closID "/": the root (default CLOS);
 * - closID set with schemata: made if missing, else its schemata must
 *   match l3CacheSchema and memBwSchema; closID set without: it must exist;
 * - schemata are written l3CacheSchema first, then memBwSchema, then the
 *   schemata lines;
 * - enableMonitoring: a MON group mon_groups/<container id> in the group,
 *   removed at delete, its failure an error. */
#define _GNU_SOURCE
#include "intelrdt.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static int get_line(json_t *obj, const char *key, char **ret, husk_error **err)
{
	json_t *v = json_object_get(obj, key);
	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return husk_fail(err, 0, "linux.intelRdt.%s: must be a string", key);
	if (strchr(json_string_value(v), '\n'))
		return husk_fail(err, 0, "linux.intelRdt.%s: must not contain a newline", key);
	*ret = strdup(json_string_value(v));
	return 0;
}

int husk_intelrdt_parse(json_t *obj, struct husk_intelrdt *r, husk_error **err)
{
	memset(r, 0, sizeof(*r));
	if (!obj || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return husk_fail(err, 0, "linux.intelRdt: must be an object");
	if (get_line(obj, "closID", &r->clos_id, err) < 0 ||
	    get_line(obj, "l3CacheSchema", &r->l3_cache_schema, err) < 0 ||
	    get_line(obj, "memBwSchema", &r->mem_bw_schema, err) < 0)
		return -1;
	if (r->clos_id && strcmp(r->clos_id, "/") != 0 &&
	    (!*r->clos_id || strchr(r->clos_id, '/') || strcmp(r->clos_id, ".") == 0 ||
	     strcmp(r->clos_id, "..") == 0))
		return husk_fail(err, 0,
				 "linux.intelRdt.closID \"%s\": expected a group name or \"/\"",
				 r->clos_id);
	if (r->mem_bw_schema && strncmp(r->mem_bw_schema, "MB:", 3) != 0)
		return husk_fail(err, 0, "linux.intelRdt.memBwSchema \"%s\": must start with MB:",
				 r->mem_bw_schema);
	json_t *sch = json_object_get(obj, "schemata");
	if (sch && !json_is_null(sch)) {
		if (!json_is_array(sch))
			return husk_fail(err, 0, "linux.intelRdt.schemata: must be an array");
		r->schemata = calloc(json_array_size(sch) + 1, sizeof(char *));
		size_t i;
		json_t *l;
		json_array_foreach (sch, i, l) {
			if (!json_is_string(l))
				return husk_fail(err, 0,
						 "linux.intelRdt.schemata[%zu]: must be a string",
						 i);
			if (strchr(json_string_value(l), '\n'))
				return husk_fail(err, 0,
						 "linux.intelRdt.schemata[%zu]: must not contain a "
						 "newline",
						 i);
			r->schemata[r->n_schemata++] = strdup(json_string_value(l));
		}
	}
	r->monitoring = json_is_true(json_object_get(obj, "enableMonitoring"));
	r->set = true;
	return 0;
}

void husk_intelrdt_release(struct husk_intelrdt *r)
{
	free(r->clos_id);
	free(r->l3_cache_schema);
	free(r->mem_bw_schema);
	for (size_t i = 0; i < r->n_schemata; i++)
		free(r->schemata[i]);
	free(r->schemata);
	memset(r, 0, sizeof(*r));
}

/* mountinfo escapes blanks and backslashes as \ooo */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

char *husk_resctrl_mount(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;
	char *line = NULL, *found = NULL;
	size_t cap = 0;
	while (!found && getline(&line, &cap, f) > 0) {
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "resctrl ", 8) != 0)
			continue;
		/* id parent major:minor root MOUNTPOINT ... */
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (tok) {
			found = strdup(tok);
			unescape(found);
		}
	}
	free(line);
	fclose(f);
	if (!found)
		errno = ENOENT;
	return found;
}

/* "L3:0=7f0;1=1f" against the schemata file: every domain given has the
 * same value there (the kernel prints its own way: leading zeroes, blanks,
 * lower case), compared as numbers */
static bool line_matches(const char *want, const char *file)
{
	const char *colon = strchr(want, ':');
	if (!colon)
		return false;
	size_t rlen = (size_t)(colon - want);
	bool mb = rlen == 2 && strncmp(want, "MB", 2) == 0;
	const char *have = NULL;
	for (const char *l = file; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		while (*l == ' ' || *l == '\t')
			l++;
		if (strncmp(l, want, rlen) == 0 && l[rlen] == ':') {
			have = l + rlen + 1;
			break;
		}
	}
	if (!have)
		return false;
	cleanup_free char *copy = strdup(colon + 1);
	char *save = NULL;
	for (char *d = strtok_r(copy, ";", &save); d; d = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(d, '=');
		if (!eq)
			return false;
		*eq = '\0';
		long dom = strtol(d, NULL, 10);
		unsigned long v = strtoul(eq + 1, NULL, mb ? 10 : 16);
		bool ok = false;
		for (const char *p = have; *p && *p != '\n';) {
			while (*p == ' ' || *p == ';')
				p++;
			char *end;
			long hd = strtol(p, &end, 10);
			if (end == p || *end != '=')
				break;
			unsigned long hv = strtoul(end + 1, &end, mb ? 10 : 16);
			if (hd == dom && hv == v)
				ok = true;
			p = end;
		}
		if (!ok)
			return false;
	}
	return true;
}

static bool has_schemata(const struct husk_intelrdt *r)
{
	return r->l3_cache_schema || r->mem_bw_schema || r->n_schemata;
}

static char *group_dir(const char *root, const struct husk_intelrdt *r, const char *id)
{
	if (r->clos_id && strcmp(r->clos_id, "/") == 0)
		return strdup(root);
	return husk_strdup_printf("%s/%s", root, r->clos_id ? r->clos_id : id);
}

int husk_intelrdt_setup(const char *root, const struct husk_intelrdt *r, const char *id,
			char **ret_tasks, husk_error **err)
{
	cleanup_free char *dir = group_dir(root, r, id);
	cleanup_free char *sfile = husk_strdup_printf("%s/schemata", dir);
	bool made = false;
	struct stat st;
	bool exists = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
	if (!r->clos_id || (!exists && has_schemata(r))) {
		if (mkdir(dir, 0755) < 0)
			return husk_fail(err, errno, "linux.intelRdt: make resctrl group \"%s\"",
					 dir);
		made = true;
	} else if (!exists) {
		return husk_fail(err, ENOENT,
				 "linux.intelRdt.closID \"%s\": no such resctrl group in \"%s\" "
				 "(without schemata it must be made beforehand)",
				 r->clos_id, root);
	}
	if (r->clos_id && exists) {
		/* a group that is there: its schemata must be the ones asked */
		cleanup_free char *have = NULL;
		if ((r->l3_cache_schema || r->mem_bw_schema) &&
		    husk_read_file(sfile, &have, NULL, err) < 0)
			return husk_error_wrap(err, "linux.intelRdt");
		const char *lines[] = {r->l3_cache_schema, r->mem_bw_schema};
		for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
			if (lines[i] && !line_matches(lines[i], have))
				return husk_fail(err, EINVAL,
						 "linux.intelRdt: resctrl group \"%s\" exists with "
						 "other schemata than \"%s\"",
						 r->clos_id, lines[i]);
	} else if (has_schemata(r)) {
		size_t len = 0;
		cleanup_free char *buf = NULL;
		FILE *m = open_memstream(&buf, &len);
		if (r->l3_cache_schema)
			fprintf(m, "%s\n", r->l3_cache_schema);
		if (r->mem_bw_schema)
			fprintf(m, "%s\n", r->mem_bw_schema);
		for (size_t i = 0; i < r->n_schemata; i++)
			fprintf(m, "%s\n", r->schemata[i]);
		fclose(m);
		if (husk_write_file(sfile, buf, len, 0644, err) < 0) {
			if (made)
				rmdir(dir);
			return husk_error_wrap(err, "linux.intelRdt: write the schemata");
		}
	}
	if (r->monitoring) {
		cleanup_free char *mon = husk_strdup_printf("%s/mon_groups/%s", dir, id);
		if (mkdir(mon, 0755) < 0) {
			int e = errno;
			if (made)
				rmdir(dir);
			return husk_fail(err, e, "linux.intelRdt.enableMonitoring: make \"%s\"",
					 mon);
		}
		*ret_tasks = husk_strdup_printf("%s/tasks", mon);
	} else {
		*ret_tasks = husk_strdup_printf("%s/tasks", dir);
	}
	return 0;
}

char *husk_intelrdt_tasks(const char *root, const struct husk_intelrdt *r, const char *id)
{
	cleanup_free char *dir = group_dir(root, r, id);
	return r->monitoring ? husk_strdup_printf("%s/mon_groups/%s/tasks", dir, id)
			     : husk_strdup_printf("%s/tasks", dir);
}

int husk_intelrdt_join(const char *tasks, pid_t pid, husk_error **err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	if (husk_write_file(tasks, buf, (size_t)n, 0, err) < 0)
		return husk_error_wrap(err, "linux.intelRdt: add pid %d", (int)pid);
	return 0;
}

void husk_intelrdt_remove(const char *root, const struct husk_intelrdt *r, const char *id)
{
	cleanup_free char *dir = group_dir(root, r, id);
	if (r->monitoring) {
		cleanup_free char *mon = husk_strdup_printf("%s/mon_groups/%s", dir, id);
		rmdir(mon);
	}
	if (!r->clos_id)
		rmdir(dir);
}

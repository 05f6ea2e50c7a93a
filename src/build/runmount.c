/* RUN --mount and build --secret specs: parsed and checked as BuildKit's
 * Dockerfile frontend (instructions/commands_runmount.go) and buildx
 * read them, so that what Docker refuses is refused here with its
 * reasons.  See runmount.h for the fields. */
#define _GNU_SOURCE
#include "runmount.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static const char *const type_names[] = {
	[HUSK_RMOUNT_BIND] = "bind",   [HUSK_RMOUNT_CACHE] = "cache",
	[HUSK_RMOUNT_TMPFS] = "tmpfs", [HUSK_RMOUNT_SECRET] = "secret",
	[HUSK_RMOUNT_SSH] = "ssh",
};

const char *husk_rmount_type_name(enum husk_rmount_type t)
{
	return (size_t)t < ARRAY_SIZE(type_names) ? type_names[t] : "?";
}

/* Go's encoding/csv on one line: fields split at commas, a field in
 * double quotes may hold commas, "" in it is one quote */
static int csv_fields(const char *s, char ***ret, size_t *ret_n, husk_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	const char *p = s;
	for (;;) {
		size_t cap = strlen(p) + 1, n = 0;
		char *f = malloc(cap);
		if (!f)
			abort();
		if (*p == '"') {
			p++;
			for (;;) {
				if (!*p) {
					free(f);
					husk_strv_free(*ret, *ret_n);
					*ret = NULL;
					*ret_n = 0;
					return husk_fail_as(err, EINVAL,
							    "\"%s\": a quote is not closed", s);
				}
				if (*p == '"' && p[1] == '"') {
					f[n++] = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					f[n++] = *p++;
				}
			}
			if (*p && *p != ',') {
				free(f);
				husk_strv_free(*ret, *ret_n);
				*ret = NULL;
				*ret_n = 0;
				return husk_fail_as(err, EINVAL,
						    "\"%s\": a quoted field ends before ,", s);
			}
		} else {
			while (*p && *p != ',')
				f[n++] = *p++;
		}
		f[n] = '\0';
		husk_strv_push(ret, ret_n, f);
		if (*p != ',')
			return 0;
		p++;
	}
}

static int parse_uint(const char *v, int base, unsigned long long max, long long *ret)
{
	if (!*v || !isxdigit((unsigned char)*v))
		return -1;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, base);
	if (errno || *end || x > max)
		return -1;
	*ret = (long long)x;
	return 0;
}

void husk_rmount_release(struct husk_rmount *m)
{
	if (!m)
		return;
	free(m->target);
	free(m->source);
	free(m->from);
	free(m->id);
	*m = (struct husk_rmount){0};
}

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = strdup(v);
}

static int parse_fields(char **f, size_t n, struct husk_rmount *m, husk_error **err)
{
	/* the type first: what the other keys mean depends on it */
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(f[i], '=');
		if (!eq || eq - f[i] != 4 || strncasecmp(f[i], "type", 4) != 0)
			continue;
		size_t t = 0;
		while (t < ARRAY_SIZE(type_names) && strcasecmp(type_names[t], eq + 1) != 0)
			t++;
		if (t == ARRAY_SIZE(type_names))
			return husk_fail_as(err, EINVAL, "unsupported mount type \"%s\"", eq + 1);
		m->type = (enum husk_rmount_type)t;
	}
	if (m->type == HUSK_RMOUNT_SSH)
		return husk_fail_as(err, EINVAL,
				    "type=ssh is not supported by husk (it forwards no ssh agent): "
				    "give the step what it needs with type=secret");
	bool secretish = m->type == HUSK_RMOUNT_SECRET || m->type == HUSK_RMOUNT_SSH;
	bool ro_auto = true, sharing_set = false;
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(f[i], '=');
		cleanup_free char *key = strndup(f[i], eq ? (size_t)(eq - f[i]) : strlen(f[i]));
		for (char *c = key; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		const char *v = eq ? eq + 1 : NULL;
		int b = 1; /* the value of a boolean key (none: true) */
		if (!v && strcmp(key, "ro") != 0 && strcmp(key, "readonly") != 0 &&
		    strcmp(key, "rw") != 0 && strcmp(key, "readwrite") != 0 &&
		    strcmp(key, "required") != 0)
			return husk_fail_as(err, EINVAL,
					    "invalid field \"%s\": it must be a key=value pair",
					    f[i]);
		if (v &&
		    (strcmp(key, "ro") == 0 || strcmp(key, "readonly") == 0 ||
		     strcmp(key, "rw") == 0 || strcmp(key, "readwrite") == 0 ||
		     strcmp(key, "required") == 0) &&
		    (b = husk_parse_bool(v)) < 0)
			return husk_fail_as(err, EINVAL, "%s=%s: not a boolean", key, v);
		if (strcmp(key, "type") == 0) {
			continue;
		} else if (strcmp(key, "ro") == 0 || strcmp(key, "readonly") == 0) {
			m->ro = b;
			ro_auto = false;
		} else if (strcmp(key, "rw") == 0 || strcmp(key, "readwrite") == 0) {
			m->ro = !b;
			ro_auto = false;
		} else if (strcmp(key, "required") == 0) {
			if (!secretish)
				return husk_fail_as(
					err, EINVAL,
					"unexpected key \"required\" for mount type \"%s\"",
					type_names[m->type]);
			m->required = b;
		} else if (strcmp(key, "target") == 0 || strcmp(key, "dst") == 0 ||
			   strcmp(key, "destination") == 0) {
			set_str(&m->target, v);
		} else if (strcmp(key, "source") == 0 || strcmp(key, "src") == 0) {
			set_str(&m->source, v);
		} else if (strcmp(key, "from") == 0) {
			set_str(&m->from, v);
		} else if (strcmp(key, "id") == 0) {
			set_str(&m->id, v);
		} else if (strcmp(key, "sharing") == 0) {
			if (strcasecmp(v, "shared") == 0)
				m->sharing = HUSK_SHARING_SHARED;
			else if (strcasecmp(v, "private") == 0)
				m->sharing = HUSK_SHARING_PRIVATE;
			else if (strcasecmp(v, "locked") == 0)
				m->sharing = HUSK_SHARING_LOCKED;
			else
				return husk_fail_as(
					err, EINVAL,
					"unsupported sharing value \"%s\": shared, private "
					"or locked",
					v);
			sharing_set = true;
		} else if (strcmp(key, "mode") == 0) {
			long long x;
			if (parse_uint(v, 8, 07777, &x) < 0)
				return husk_fail_as(err, EINVAL, "invalid value %s for mode", v);
			m->mode = (int)x;
		} else if (strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0) {
			long long x;
			if (parse_uint(v, 10, 0xfffffffeULL, &x) < 0)
				return husk_fail_as(err, EINVAL, "invalid value %s for %s", v, key);
			*(key[0] == 'u' ? &m->uid : &m->gid) = x;
		} else if (strcmp(key, "size") == 0) {
			if (m->type != HUSK_RMOUNT_TMPFS)
				return husk_fail_as(err, EINVAL,
						    "unexpected key \"size\" for mount type \"%s\"",
						    type_names[m->type]);
			if (husk_parse_size(v, &m->size) < 0 || m->size < 0)
				return husk_fail_as(err, EINVAL, "invalid value %s for size", v);
		} else if (strcmp(key, "env") == 0 && m->type == HUSK_RMOUNT_SECRET) {
			/* Dockerfile 1.10's secret as an environment variable:
			 * its value would be in the step's config.json */
			return husk_fail_as(err, EINVAL,
					    "env=%s: a secret as an environment variable is not "
					    "supported by husk (mount it as a file)",
					    v);
		} else {
			return husk_fail_as(err, EINVAL, "unexpected key \"%s\" in \"%s\"", key,
					    f[i]);
		}
	}
	const char *tn = type_names[m->type];
	bool file_info = secretish || m->type == HUSK_RMOUNT_CACHE;
	if (!file_info && m->mode >= 0)
		return husk_fail_as(err, EINVAL, "mode not allowed for \"%s\" type mounts", tn);
	if (!file_info && m->uid >= 0)
		return husk_fail_as(err, EINVAL, "uid not allowed for \"%s\" type mounts", tn);
	if (!file_info && m->gid >= 0)
		return husk_fail_as(err, EINVAL, "gid not allowed for \"%s\" type mounts", tn);
	if (sharing_set && m->type != HUSK_RMOUNT_CACHE)
		return husk_fail_as(err, EINVAL, "invalid cache sharing set for %s mount", tn);
	if (m->from && m->type != HUSK_RMOUNT_BIND && m->type != HUSK_RMOUNT_CACHE)
		return husk_fail_as(err, EINVAL, "%s mount should not have a from", tn);
	if (m->id && m->type != HUSK_RMOUNT_CACHE && !secretish)
		return husk_fail_as(err, EINVAL, "unexpected key \"id\" for mount type \"%s\"", tn);
	if (m->source && m->type == HUSK_RMOUNT_TMPFS)
		return husk_fail_as(err, EINVAL, "unexpected key \"source\" for mount type \"%s\"",
				    tn);
	if (ro_auto)
		m->ro = m->type != HUSK_RMOUNT_CACHE && m->type != HUSK_RMOUNT_TMPFS;
	if (secretish) {
		/* a secret's source is its id (BuildKit takes both words) */
		if (m->source && m->id)
			return husk_fail_as(err, EINVAL, "both source and id can't be set");
		if (m->source) {
			m->id = m->source;
			m->source = NULL;
		}
		if (!m->id && (!m->target || !*m->target))
			return husk_fail_as(err, EINVAL, "one of id, target required");
		if (!m->id) {
			const char *sl = strrchr(m->target, '/');
			m->id = strdup(sl ? sl + 1 : m->target);
		}
		if (!m->target)
			m->target = husk_strdup_printf("/run/secrets/%s", m->id);
		return 0;
	}
	if (!m->target || !*m->target)
		return husk_fail_as(err, EINVAL, "mount type \"%s\" needs a target", tn);
	if (m->type == HUSK_RMOUNT_CACHE && !m->id)
		m->id = strdup(m->target);
	return 0;
}

int husk_rmount_parse(const char *spec, husk_rmount_expand expand, void *ud,
		      struct husk_rmount *ret, husk_error **err)
{
	*ret = (struct husk_rmount){.mode = -1, .uid = -1, .gid = -1};
	char **f = NULL;
	size_t n = 0;
	if (csv_fields(spec, &f, &n, err) < 0)
		return -1;
	/* the values, not the keys nor the type */
	for (size_t i = 0; expand && i < n; i++) {
		char *eq = strchr(f[i], '=');
		if (!eq || (eq - f[i] == 4 && strncasecmp(f[i], "type", 4) == 0))
			continue;
		char *v = NULL;
		if (expand(ud, eq + 1, &v, err) < 0) {
			husk_strv_free(f, n);
			return -1;
		}
		char *field = husk_strdup_printf("%.*s=%s", (int)(eq - f[i]), f[i], v);
		free(v);
		free(f[i]);
		f[i] = field;
	}
	int r = parse_fields(f, n, ret, err);
	husk_strv_free(f, n);
	if (r < 0)
		husk_rmount_release(ret);
	return r;
}

char *husk_rmount_canonical(const struct husk_rmount *m)
{
	static const char *const sharing[] = {"shared", "private", "locked"};
	return husk_strdup_printf("type=%s,target=%s,source=%s,from=%s,id=%s,ro=%d,required=%d,"
				  "sharing=%s,mode=%o,uid=%lld,gid=%lld,size=%lld",
				  type_names[m->type], m->target ? m->target : "",
				  m->source ? m->source : "", m->from ? m->from : "",
				  m->id ? m->id : "", m->ro, m->required, sharing[m->sharing],
				  m->mode < 0 ? 0 : (unsigned)m->mode, m->uid, m->gid, m->size);
}

void husk_secret_src_release(struct husk_secret_src *s)
{
	if (!s)
		return;
	free(s->id);
	free(s->file);
	free(s->env);
	*s = (struct husk_secret_src){0};
}

int husk_secret_src_parse(const char *spec, struct husk_secret_src *ret, husk_error **err)
{
	*ret = (struct husk_secret_src){0};
	char **f = NULL;
	size_t n = 0;
	if (csv_fields(spec, &f, &n, err) < 0)
		return husk_error_wrap(err, "--secret");
	bool env_type = false;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		char *eq = strchr(f[i], '=');
		if (!eq) {
			r = husk_fail_as(
				err, EINVAL,
				"--secret: invalid field \"%s\": it must be a key=value pair",
				f[i]);
			break;
		}
		*eq = '\0';
		const char *v = eq + 1;
		for (char *c = f[i]; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (strcmp(f[i], "type") == 0) {
			if (strcmp(v, "file") != 0 && strcmp(v, "env") != 0)
				r = husk_fail_as(
					err, EINVAL,
					"--secret: unsupported secret type \"%s\": file or env", v);
			env_type = strcmp(v, "env") == 0;
		} else if (strcmp(f[i], "id") == 0) {
			set_str(&ret->id, v);
		} else if (strcmp(f[i], "src") == 0 || strcmp(f[i], "source") == 0) {
			set_str(&ret->file, v);
		} else if (strcmp(f[i], "env") == 0) {
			set_str(&ret->env, v);
		} else {
			r = husk_fail_as(err, EINVAL, "--secret: unexpected key \"%s\"", f[i]);
		}
	}
	husk_strv_free(f, n);
	if (r == 0 && env_type && !ret->env) {
		ret->env = ret->file;
		ret->file = NULL;
	}
	if (r == 0 && (!ret->id || !*ret->id))
		r = husk_fail_as(err, EINVAL, "--secret \"%s\": the id= is missing", spec);
	if (r == 0 && ret->file && ret->env)
		r = husk_fail_as(err, EINVAL, "--secret \"%s\": src= or env=, not both", spec);
	if (r < 0)
		husk_secret_src_release(ret);
	return r;
}

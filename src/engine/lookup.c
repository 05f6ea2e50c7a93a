/* Containers by name or id, one or all, as the kernel sees them now
 * (husk_record_observe).  Linked into the monitor too. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "engine-private.h"
#include "engine.h"
#include "util.h"

int husk_engine_resolve(struct husk_engine *e, const char *name_or_id, char **ret_id,
			husk_error **err)
{
	return husk_record_resolve(e->root, name_or_id, ret_id, err);
}

int husk_engine_get(struct husk_engine *e, const char *name_or_id, struct husk_ctr *ret,
		    husk_error **err)
{
	cleanup_free char *id = NULL;
	if (husk_record_resolve(e->root, name_or_id, &id, err) < 0)
		return -1;
	if (husk_record_load(e->root, id, ret, err) < 0)
		return -1;
	husk_engine_observe(e, ret);
	return 0;
}

int husk_engine_inspect(struct husk_engine *e, const char *name_or_id, struct husk_ctr *ret,
			husk_error **err)
{
	if (husk_engine_get(e, name_or_id, ret, err) < 0)
		return -1;
	if (husk_record_load_docker(e->root, ret, err) < 0) {
		husk_ctr_release(ret);
		return -1;
	}
	return 0;
}

void husk_engine_observe(struct husk_engine *e, struct husk_ctr *c)
{
	if (!husk_record_observe(c) || !e->monitor_path)
		return;
	/* a new monitor claims it under the record's lock: of two commands
	 * that found the orphan at once, one adopts it and the other's
	 * monitor says EALREADY; either way the record is read again */
	husk_error *err = NULL;
	husk_engine_run_monitor(e, c->id, true, NULL, NULL, &err);
	husk_error_free(err);
	struct husk_ctr now;
	if (husk_record_load(e->root, c->id, &now, NULL) < 0)
		return;
	husk_record_observe(&now);
	husk_ctr_release(c);
	*c = now;
}

/* A dir without a record is a create under way, or one that was killed
 * (kill -9 of `husk run` before its record was written).  Once it is old
 * enough not to be under way, it is listed as being removed, so that
 * `ps -a` shows it and `rm -f` can take what it left (a mount, a name). */
static bool left_by_crash(int containers_fd, const char *id, struct husk_ctr *ret)
{
	struct stat st;
	if (fstatat(containers_fd, id, &st, 0) < 0 || time(NULL) - st.st_mtime < 30)
		return false;
	memset(ret, 0, sizeof(*ret));
	ret->id = strdup(id);
	ret->name = strdup("");
	ret->image = strdup("");
	ret->command = strdup("");
	ret->created_ns = (int64_t)st.st_mtime * 1000000000;
	ret->state = HUSK_CTR_REMOVING;
	return true;
}

static int by_created_desc(const void *a, const void *b)
{
	const struct husk_ctr *x = a, *y = b;
	return x->created_ns < y->created_ns ? 1 : x->created_ns > y->created_ns ? -1 : 0;
}

/* What each record costs is what ps with 1,000 containers costs: one
 * readdir, then per record an open relative to the directory, one read,
 * a parse, and for a running one a single /proc read (its monitor's) */
int husk_engine_list(struct husk_engine *e, struct husk_ctr **ret, size_t *ret_n, husk_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	cleanup_free char *dir = husk_strdup_printf("%s/containers", e->root);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : husk_fail(err, errno, "open \"%s\"", dir);
	int dfd = dirfd(d);
	struct husk_ctr *v = NULL;
	size_t k = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!husk_record_id_ok(de->d_name))
			continue;
		if (k == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				abort();
		}
		if (husk_record_load_in(dfd, de->d_name, &v[k], NULL) == 0) {
			/* a record of before docker.json carries inspect's view:
			 * not kept for a listing */
			json_decref(v[k].docker);
			v[k].docker = NULL;
			husk_engine_observe(e, &v[k++]);
		} else if (left_by_crash(dfd, de->d_name, &v[k]))
			k++;
	}
	closedir(d);
	if (k)
		qsort(v, k, sizeof(*v), by_created_desc);
	*ret = v;
	*ret_n = k;
	return 0;
}

void husk_engine_list_free(struct husk_ctr *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		husk_ctr_release(&v[i]);
	free(v);
}

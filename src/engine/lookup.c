/* Containers by name or id, one or all, as the kernel sees them now
 * (husk_record_observe).  Linked into the monitor too. */
#define _GNU_SOURCE
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
	husk_record_observe(ret);
	return 0;
}

/* A dir without a record is a create under way, or one that was killed
 * (kill -9 of `husk run` before its record was written).  Once it is old
 * enough not to be under way, it is listed as being removed, so that
 * `ps -a` shows it and `rm -f` can take what it left (a mount, a name). */
static bool left_by_crash(struct husk_engine *e, const char *id, struct husk_ctr *ret)
{
	cleanup_free char *dir = husk_engine_dir(e, id);
	struct stat st;
	if (stat(dir, &st) < 0 || time(NULL) - st.st_mtime < 30)
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

int husk_engine_list(struct husk_engine *e, struct husk_ctr **ret, size_t *ret_n, husk_error **err)
{
	char **ids = NULL;
	size_t n = 0;
	*ret = NULL;
	*ret_n = 0;
	if (husk_record_ids(e->root, &ids, &n, err) < 0)
		return -1;
	struct husk_ctr *v = calloc(n + 1, sizeof(*v));
	if (!v)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (husk_record_load(e->root, ids[i], &v[k], NULL) < 0) {
			if (!left_by_crash(e, ids[i], &v[k]))
				continue;
			k++;
			continue;
		}
		husk_record_observe(&v[k]);
		k++;
	}
	husk_strv_free(ids, n);
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

/* A pidfd of pid if it is still the process that started at start */
int husk_pidfd_of(pid_t pid, unsigned long long start)
{
	if (pid <= 0)
		return -1;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -1;
	if (!husk_pid_alive(pid, start)) {
		close(fd);
		return -1;
	}
	return fd;
}

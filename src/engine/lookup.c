/* Containers by name or id, one or all, as the kernel sees them now
 * (husk_record_observe).  Linked into the monitor too. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
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
	cleanup_free char *log = husk_engine_log_path(e, ret->id);
	ret->log_cut = husk_log_cut_get(log, &ret->log_cut_errno, &ret->log_cut_ns) == 1;
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
	husk_engine_run_monitor(e, c->id, NULL, NULL, NULL, &err);
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
 * a parse, and for a running one a single look at its monitor.  The parse
 * is most of it (jansson reads a 600-byte record in about 120,000
 * instructions), so past LIST_PARALLEL_MIN records the loads are shared
 * among threads, one a CPU (at most LIST_THREADS): each takes the next
 * record from a shared counter into its own slot of the result. */
#define LIST_PARALLEL_MIN 64
#define LIST_THREADS	  4

struct list_job {
	struct husk_engine *e;
	int dfd;
	char (*ids)[65]; /* 64 hex digits */
	struct husk_ctr *v;
	bool *ok;
	size_t n;
	size_t next; /* taken with __atomic_fetch_add */
};

static void list_one(struct list_job *j, size_t i)
{
	struct husk_ctr *c = &j->v[i];
	if (husk_record_load_in(j->dfd, j->ids[i], c, NULL) == 0) {
		/* a record of before docker.json carries inspect's view:
		 * not kept for a listing */
		json_decref(c->docker);
		c->docker = NULL;
		husk_engine_observe(j->e, c);
		j->ok[i] = true;
	} else {
		j->ok[i] = left_by_crash(j->dfd, j->ids[i], c);
	}
}

static void *list_worker(void *arg)
{
	struct list_job *j = arg;
	size_t i;
	while ((i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->n)
		list_one(j, i);
	return NULL;
}

static void list_all(struct list_job *j)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = cpus > LIST_THREADS ? LIST_THREADS : cpus > 1 ? (size_t)cpus : 1;
	pthread_t t[LIST_THREADS];
	size_t started = 0;
	if (j->n >= LIST_PARALLEL_MIN && nt > 1) {
		json_object_seed(0); /* before any thread makes an object */
		for (; started < nt - 1; started++)
			if (pthread_create(&t[started], NULL, list_worker, j) != 0)
				break;
	}
	list_worker(j); /* this thread too; alone when threads could not start */
	for (size_t k = 0; k < started; k++)
		pthread_join(t[k], NULL);
}

int husk_engine_list(struct husk_engine *e, struct husk_ctr **ret, size_t *ret_n, husk_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	cleanup_free char *dir = husk_strdup_printf("%s/containers", e->root);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : husk_fail(err, errno, "open \"%s\"", dir);
	struct list_job j = {.e = e, .dfd = dirfd(d)};
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!husk_record_id_ok(de->d_name))
			continue;
		if (j.n == cap) {
			cap = cap ? cap * 2 : 64;
			j.ids = realloc(j.ids, cap * sizeof(*j.ids));
			if (!j.ids)
				abort();
		}
		memcpy(j.ids[j.n++], de->d_name, sizeof(*j.ids)); /* id_ok: 64 + NUL */
	}
	j.v = calloc(j.n ? j.n : 1, sizeof(*j.v));
	j.ok = calloc(j.n ? j.n : 1, sizeof(*j.ok));
	if (!j.v || !j.ok)
		abort();
	list_all(&j);
	closedir(d);
	size_t k = 0;
	for (size_t i = 0; i < j.n; i++)
		if (j.ok[i])
			j.v[k++] = j.v[i];
	free(j.ids);
	free(j.ok);
	if (k)
		qsort(j.v, k, sizeof(*j.v), by_created_desc);
	else {
		free(j.v);
		j.v = NULL;
	}
	*ret = j.v;
	*ret_n = k;
	return 0;
}

void husk_engine_list_free(struct husk_ctr *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		husk_ctr_release(&v[i]);
	free(v);
}

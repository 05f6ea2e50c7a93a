/* husk update: a container's limits and restart policy changed, as
 * Docker's `update` changes them.  Under the record's lock, the same
 * change goes to three places, or the command fails naming the first
 * that refused it:
 *   - the running container's cgroup, by the runtime's update (when it
 *     runs or is paused; a stopped one has no cgroup);
 *   - the bundle's config.json, so that the next start keeps it;
 *   - docker.json's HostConfig, which inspect shows, and the record's
 *     restart policy, which the monitor reads at the exit (and inspect
 *     shows).
 * The files' new text is written first beside them (PATH.update, synced),
 * then the cgroup changed, then the files renamed into place: a full disk
 * or a value the kernel refuses (a memory limit under what the container
 * uses) changes nothing at all.  No cpuset: an engine
 * container has a cpuset cgroup only when run with --cpuset-cpus or
 * --cpuset-mems (cgroup.h says why), so Docker's --cpuset-* are not
 * offered here. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "engine-private.h"
#include "engine.h"
#include "husk.h"
#include "record.h"
#include "util.h"

/* dst[key] as an object, made when missing */
static json_t *obj_at(json_t *dst, const char *key)
{
	json_t *o = json_object_get(dst, key);
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(dst, key, o);
	}
	return o;
}

/* linux.resources for what o changes (the OCI runtime spec's names) */
static json_t *resources_of(const struct husk_update_opts *o)
{
	json_t *r = json_object();
	if (o->memory || o->memory_swap || o->memory_reservation) {
		json_t *m = obj_at(r, "memory");
		if (o->memory)
			json_object_set_new(m, "limit", json_integer(o->memory));
		/* as run: -m alone is no swap (swap counts memory too) */
		if (o->memory_swap || o->memory)
			json_object_set_new(
				m, "swap",
				json_integer(o->memory_swap ? o->memory_swap : o->memory));
		if (o->memory_reservation)
			json_object_set_new(m, "reservation", json_integer(o->memory_reservation));
	}
	if (o->cpus > 0 || o->cpu_shares || o->cpu_period || o->cpu_quota) {
		json_t *c = obj_at(r, "cpu");
		if (o->cpus > 0) {
			json_object_set_new(c, "quota",
					    json_integer((json_int_t)(o->cpus * 100000)));
			json_object_set_new(c, "period", json_integer(100000));
		}
		if (o->cpu_shares)
			json_object_set_new(c, "shares", json_integer(o->cpu_shares));
		if (o->cpu_period)
			json_object_set_new(c, "period", json_integer(o->cpu_period));
		if (o->cpu_quota)
			json_object_set_new(c, "quota", json_integer(o->cpu_quota));
	}
	if (o->pids_limit)
		json_object_set_new(obj_at(r, "pids"), "limit", json_integer(o->pids_limit));
	if (o->blkio_weight)
		json_object_set_new(obj_at(r, "blockIO"), "weight", json_integer(o->blkio_weight));
	return r;
}

/* What inspect shows, under Docker's names */
static void host_config(json_t *host, const struct husk_update_opts *o)
{
	if (o->memory) {
		json_object_set_new(host, "Memory", json_integer(o->memory));
		if (!o->memory_swap)
			json_object_set_new(host, "MemorySwap", json_integer(o->memory));
	}
	if (o->memory_swap)
		json_object_set_new(host, "MemorySwap", json_integer(o->memory_swap));
	if (o->memory_reservation)
		json_object_set_new(host, "MemoryReservation", json_integer(o->memory_reservation));
	if (o->cpus > 0)
		json_object_set_new(host, "NanoCpus", json_integer((json_int_t)(o->cpus * 1e9)));
	if (o->cpu_shares)
		json_object_set_new(host, "CpuShares", json_integer(o->cpu_shares));
	if (o->cpu_period)
		json_object_set_new(host, "CpuPeriod", json_integer(o->cpu_period));
	if (o->cpu_quota)
		json_object_set_new(host, "CpuQuota", json_integer(o->cpu_quota));
	if (o->pids_limit)
		json_object_set_new(host, "PidsLimit", json_integer(o->pids_limit));
	if (o->blkio_weight)
		json_object_set_new(host, "BlkioWeight", json_integer(o->blkio_weight));
	/* RestartPolicy: inspect takes it from the record */
}

struct update_ud {
	struct husk_engine *e;
	const struct husk_update_opts *o;
};

/* The new text of a file, written beside it first (PATH.update) and put
 * in place only once the cgroup took the change */
struct staged {
	char *path, *tmp;
};

static int stage(struct staged *st, const char *path, json_t *j, husk_error **err)
{
	cleanup_free char *text = json_dumps(j, JSON_COMPACT);
	if (!text)
		return husk_fail(err, ENOMEM, "write \"%s\"", path);
	st->path = strdup(path);
	st->tmp = husk_strdup_printf("%s.update", path);
	cleanup_close int fd = open(st->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", st->tmp);
	int w = husk_write_all(fd, text, strlen(text));
	if (w < 0)
		return husk_fail(err, -w, "write \"%s\"", st->tmp);
	/* docker.json and config.json outlive a crash: durable before the
	 * rename, as the record's writes are */
	if (fsync(fd) < 0)
		return husk_fail(err, errno, "fsync \"%s\"", st->tmp);
	return 0;
}

static void unstage(struct staged *st)
{
	if (st->tmp)
		unlink(st->tmp);
	free(st->tmp);
	free(st->path);
	*st = (struct staged){0};
}

static int do_update(struct husk_ctr *c, void *data, husk_error **err)
{
	struct update_ud *ud = data;
	const struct husk_update_opts *o = ud->o;
	if (c->state == HUSK_CTR_REMOVING)
		return husk_fail_as(err, ENOENT, "container \"%s\" is being removed", c->name);
	if (o->cpus > 0 && (o->cpu_period || o->cpu_quota))
		return husk_fail_as(err, EINVAL,
				    "--cpus and --cpu-period/--cpu-quota cannot go together");
	json_t *res = resources_of(o);
	cleanup_free char *dir = husk_engine_dir(ud->e, c->id);
	cleanup_free char *cfg_path = husk_strdup_printf("%s/config.json", dir);
	struct staged files[2] = {{0}};
	json_t *old_res = NULL;
	int r = 0;
	/* the files' new text first, beside them: a write that fails (a full
	 * disk) then changes nothing, the cgroup included */
	if (json_object_size(res) > 0) {
		json_error_t je;
		json_t *cfg = json_load_file(cfg_path, 0, &je);
		if (!json_is_object(cfg)) {
			r = husk_fail(err, EIO, "read \"%s\": %s", cfg_path, je.text);
		} else {
			json_t *cur = obj_at(obj_at(cfg, "linux"), "resources");
			old_res = json_deep_copy(cur);
			husk_json_merge(cur, res);
			r = stage(&files[0], cfg_path, cfg, err);
		}
		json_decref(cfg);
	}
	if (r == 0 && husk_record_load_docker(ud->e->root, c, err) < 0)
		r = -1;
	if (r == 0 && c->docker) {
		host_config(obj_at(c->docker, "HostConfig"), o);
		cleanup_free char *p = husk_strdup_printf("%s/docker.json", dir);
		r = stage(&files[1], p, c->docker, err);
	}
	/* then the cgroup: a value the kernel refuses leaves all as it was */
	bool live = json_object_size(res) > 0 &&
		    (c->state == HUSK_CTR_RUNNING || c->state == HUSK_CTR_PAUSED);
	if (r == 0 && live) {
		cleanup_free char *text = json_dumps(res, JSON_COMPACT);
		r = husk_update(ud->e->runroot, c->id, text, err);
	}
	/* a rename in the same directory fails only when that directory is
	 * gone from under us; then the cgroup gets its old values back */
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(files); i++)
		if (files[i].tmp && rename(files[i].tmp, files[i].path) < 0) {
			r = husk_fail(err, errno, "rename \"%s\"", files[i].tmp);
			if (live && old_res) {
				cleanup_free char *text = json_dumps(old_res, JSON_COMPACT);
				husk_update(ud->e->runroot, c->id, text, NULL);
			}
		}
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		unstage(&files[i]);
	json_decref(old_res);
	json_decref(res);
	if (r < 0)
		return -1;
	if (o->restart_set) {
		c->restart = o->restart;
		c->restart_max = o->restart_max;
	}
	return 0;
}

int husk_engine_update(struct husk_engine *e, const char *name_or_id,
		       const struct husk_update_opts *o, husk_error **err)
{
	cleanup_free char *id = NULL;
	if (husk_record_resolve(e->root, name_or_id, &id, err) < 0)
		return -1;
	struct update_ud ud = {.e = e, .o = o};
	if (husk_record_update(e->root, id, do_update, &ud, err) < 0)
		return husk_error_wrap(err, "update container \"%s\"", name_or_id);
	return 0;
}

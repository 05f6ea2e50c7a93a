/* The container record: meta.json under a lock, the names index, lookups.
 * The rules are in record.h. */
#define _GNU_SOURCE
#include "record.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* pidfs (Linux 6.9), as linux/magic.h has it; Debian 12's lacks it */
#ifndef PID_FS_MAGIC
#define PID_FS_MAGIC 0x50494446
#endif

static const char *const state_names[] = {
	[HUSK_CTR_CREATED] = "created",	  [HUSK_CTR_RUNNING] = "running",
	[HUSK_CTR_PAUSED] = "paused",	  [HUSK_CTR_EXITED] = "exited",
	[HUSK_CTR_REMOVING] = "removing",
};

const char *husk_ctr_state_name(enum husk_ctr_state s)
{
	return (size_t)s < ARRAY_SIZE(state_names) ? state_names[s] : "unknown";
}

static int state_parse(const char *s)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(state_names); i++)
		if (strcmp(s, state_names[i]) == 0)
			return (int)i;
	return -1;
}

/* created -> running (start) | removing (rm)
 * running -> paused | exited | running (a restart records a new init)
 * paused  -> running | exited (killed while paused)
 * exited  -> running (start, restart policy) | removing
 * removing -> nothing: the record goes */
bool husk_ctr_transition_ok(enum husk_ctr_state from, enum husk_ctr_state to)
{
	switch (from) {
	case HUSK_CTR_CREATED:
		return to == HUSK_CTR_RUNNING || to == HUSK_CTR_EXITED || to == HUSK_CTR_REMOVING;
	case HUSK_CTR_RUNNING:
		return to == HUSK_CTR_PAUSED || to == HUSK_CTR_EXITED || to == HUSK_CTR_RUNNING;
	case HUSK_CTR_PAUSED:
		return to == HUSK_CTR_RUNNING || to == HUSK_CTR_EXITED;
	case HUSK_CTR_EXITED:
		return to == HUSK_CTR_RUNNING || to == HUSK_CTR_REMOVING;
	case HUSK_CTR_REMOVING:
		return false;
	default:
		return false;
	}
}

static const char *const restart_names[] = {
	[HUSK_RESTART_NO] = "no",
	[HUSK_RESTART_ON_FAILURE] = "on-failure",
	[HUSK_RESTART_ALWAYS] = "always",
	[HUSK_RESTART_UNLESS_STOPPED] = "unless-stopped",
};

const char *husk_restart_name(enum husk_restart r)
{
	return (size_t)r < ARRAY_SIZE(restart_names) ? restart_names[r] : "no";
}

int husk_restart_parse(const char *s, enum husk_restart *ret, int *ret_max, husk_error **err)
{
	*ret_max = 0;
	const char *colon = strchr(s, ':');
	size_t len = colon ? (size_t)(colon - s) : strlen(s);
	for (size_t i = 0; i < ARRAY_SIZE(restart_names); i++) {
		if (strlen(restart_names[i]) != len || strncmp(s, restart_names[i], len) != 0)
			continue;
		if (colon) {
			long n;
			if (i != HUSK_RESTART_ON_FAILURE || husk_parse_long(colon + 1, &n) < 0 ||
			    n < 0 || n > 1000000)
				break;
			*ret_max = (int)n;
		}
		*ret = (enum husk_restart)i;
		return 0;
	}
	return husk_fail_as(err, EINVAL,
			    "invalid restart policy \"%s\": expected no, on-failure[:N], always or "
			    "unless-stopped",
			    s);
}

static const char *const action_names[] = {
	[HUSK_HEALTH_NONE] = "none",
	[HUSK_HEALTH_KILL] = "kill",
	[HUSK_HEALTH_RESTART] = "restart",
	[HUSK_HEALTH_STOP] = "stop",
};

const char *husk_health_action_name(enum husk_health_action a)
{
	return (size_t)a < ARRAY_SIZE(action_names) ? action_names[a] : "none";
}

int husk_health_action_parse(const char *s, enum husk_health_action *ret, husk_error **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(action_names); i++) {
		if (strcmp(s, action_names[i]) == 0) {
			*ret = (enum husk_health_action)i;
			return 0;
		}
	}
	return husk_fail_as(
		err, EINVAL,
		"invalid --health-on-failure \"%s\": expected none, kill, restart or stop", s);
}

void husk_ctr_release(struct husk_ctr *c)
{
	if (!c)
		return;
	for (char **p = c->test; p && *p; p++)
		free(*p);
	free(c->test);
	free(c->health_status);
	for (size_t i = 0; i < c->n_health_log; i++)
		free(c->health_log[i].output);
	free(c->id);
	free(c->name);
	free(c->image);
	free(c->image_id);
	free(c->command);
	free(c->network);
	free(c->ip);
	free(c->hostname);
	free(c->log_driver);
	for (char **p = c->ports; p && *p; p++)
		free(*p);
	free(c->ports);
	json_decref(c->docker);
	for (size_t i = 0; i < c->n_mounts; i++) {
		struct husk_ctr_mount *m = &c->mounts[i];
		free(m->type);
		free(m->name);
		free(m->source);
		free(m->destination);
		free(m->mode);
		free(m->propagation);
	}
	free(c->mounts);
	for (char **p = c->tmpfs; p && *p; p++)
		free(*p);
	free(c->tmpfs);
	memset(c, 0, sizeof(*c));
}

char *husk_record_dir(const char *root, const char *id)
{
	return husk_strdup_printf("%s/containers/%s", root, id);
}

int husk_name_check(const char *name, husk_error **err)
{
	size_t n = strlen(name);
	bool ok = n > 0 && n <= 255;
	for (size_t i = 0; ok && i < n; i++) {
		char ch = name[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');
		ok = alnum || (i > 0 && (ch == '_' || ch == '.' || ch == '-'));
	}
	if (!ok)
		return husk_fail_as(err, EINVAL,
				    "invalid container name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] "
				    "are allowed",
				    name);
	return 0;
}

static char *dup_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? strdup(s) : NULL;
}

/* a JSON array of strings as a NULL-terminated list; NULL when empty */
static char **strv_from_json(json_t *a)
{
	size_t n = json_array_size(a);
	if (!n)
		return NULL;
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		abort();
	for (size_t i = 0; i < n; i++)
		v[i] = strdup(json_string_value(json_array_get(a, i)) ?: "");
	return v;
}

static json_t *strv_to_json(char **v)
{
	json_t *a = json_array();
	for (char **p = v; p && *p; p++)
		json_array_append_new(a, json_string(*p));
	return a;
}

static long long get_int(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static bool get_bool(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

/* The record in m (consumed); p names it in errors */
static int record_parse(json_t *m, const char *p, struct husk_ctr *ret, husk_error **err)
{
	ret->id = dup_str(m, "id");
	ret->name = dup_str(m, "name");
	ret->image = dup_str(m, "image");
	ret->image_id = dup_str(m, "image_id");
	ret->command = dup_str(m, "command");
	ret->created_ns = get_int(m, "created_ns");
	ret->started_ns = get_int(m, "started_ns");
	ret->finished_ns = get_int(m, "finished_ns");
	int st = state_parse(json_string_value(json_object_get(m, "state")));
	ret->state = st < 0 ? HUSK_CTR_CREATED : (enum husk_ctr_state)st;
	ret->pid = (pid_t)get_int(m, "pid");
	ret->pid_start = (unsigned long long)get_int(m, "pid_start");
	ret->monitor_pid = (pid_t)get_int(m, "monitor_pid");
	ret->monitor_start = (unsigned long long)get_int(m, "monitor_start");
	ret->monitor_pidfd_id = (uint64_t)get_int(m, "monitor_pidfd_id");
	snprintf(ret->boot_id, sizeof(ret->boot_id), "%s",
		 json_string_value(json_object_get(m, "boot_id")) ?: "");
	ret->has_exit = json_object_get(m, "exit_code") != NULL;
	ret->exit_code = (int)get_int(m, "exit_code");
	ret->oom_killed = get_bool(m, "oom_killed");
	ret->rm = get_bool(m, "rm");
	ret->tty = get_bool(m, "tty");
	ret->interactive = get_bool(m, "interactive");
	ret->network = dup_str(m, "network");
	ret->ip = dup_str(m, "ip");
	ret->hostname = dup_str(m, "hostname");
	ret->ports = strv_from_json(json_object_get(m, "ports"));
	ret->net_egress_rate = (uint64_t)get_int(m, "net_egress_rate");
	ret->net_ingress_rate = (uint64_t)get_int(m, "net_ingress_rate");
	int r = 0;
	husk_restart_parse(json_string_value(json_object_get(m, "restart")) ?: "no", &ret->restart,
			   &r, NULL);
	ret->restart_max = (int)get_int(m, "restart_max");
	ret->restart_count = (int)get_int(m, "restart_count");
	ret->stopped_by_user = get_bool(m, "stopped_by_user");
	ret->log_driver = dup_str(m, "log_driver");
	ret->log_max_size = get_int(m, "log_max_size");
	ret->log_max_file = (int)get_int(m, "log_max_file");
	ret->stop_signal = (int)get_int(m, "stop_signal");
	ret->stop_timeout = (int)get_int(m, "stop_timeout");
	json_t *h = json_object_get(m, "health");
	ret->test = strv_from_json(json_object_get(h, "test"));
	ret->health_interval_ns = get_int(h, "interval_ns");
	ret->health_timeout_ns = get_int(h, "timeout_ns");
	ret->health_start_period_ns = get_int(h, "start_period_ns");
	ret->health_retries = (int)get_int(h, "retries");
	husk_health_action_parse(json_string_value(json_object_get(h, "on_failure")) ?: "none",
				 &ret->health_on_failure, NULL);
	ret->health_status = dup_str(h, "status");
	ret->health_streak = (int)get_int(h, "failing_streak");
	json_t *log = json_object_get(h, "log");
	for (size_t i = 0; i < json_array_size(log) && i < HUSK_HEALTH_LOG_MAX; i++) {
		json_t *lr = json_array_get(log, i);
		struct husk_health_result *hr = &ret->health_log[ret->n_health_log++];
		hr->start_ns = get_int(lr, "start_ns");
		hr->end_ns = get_int(lr, "end_ns");
		hr->exit_code = (int)get_int(lr, "exit_code");
		hr->output = dup_str(lr, "output");
	}
	ret->docker = json_incref(json_object_get(m, "docker"));
	json_t *mounts = json_object_get(m, "mounts");
	ret->n_mounts = json_array_size(mounts);
	ret->mounts = ret->n_mounts ? calloc(ret->n_mounts, sizeof(*ret->mounts)) : NULL;
	if (ret->n_mounts && !ret->mounts)
		abort();
	for (size_t i = 0; i < ret->n_mounts; i++) {
		json_t *mj = json_array_get(mounts, i);
		struct husk_ctr_mount *mt = &ret->mounts[i];
		mt->type = dup_str(mj, "type");
		mt->name = dup_str(mj, "name");
		mt->source = dup_str(mj, "source");
		mt->destination = dup_str(mj, "destination");
		mt->mode = dup_str(mj, "mode");
		mt->propagation = dup_str(mj, "propagation");
		mt->rw = get_bool(mj, "rw");
		mt->anonymous = get_bool(mj, "anonymous");
	}
	ret->tmpfs = strv_from_json(json_object_get(m, "tmpfs"));
	ret->read_only = get_bool(m, "read_only");
	ret->throwaway = get_bool(m, "throwaway");
	json_decref(m);
	if (!ret->id || !ret->name) {
		husk_ctr_release(ret);
		return husk_fail(err, EIO, "container record \"%s\": no id or name", p);
	}
	return 0;
}

/* The whole of a small file in one read where it fits in buf (a record is
 * about 600 bytes; 5 healthcheck outputs of 4 KiB make it larger).  A
 * record is never written in place: it is renamed over, complete, so a
 * read shorter than asked is its end, and no second read is needed to
 * see EOF.  *ret_heap is what to free when it did not fit. */
static ssize_t read_small(int fd, char *buf, size_t size, char **ret_heap)
{
	*ret_heap = NULL;
	ssize_t n;
	while ((n = read(fd, buf, size)) < 0 && errno == EINTR)
		;
	if (n < 0 || (size_t)n < size)
		return n;
	size_t len = 0;
	if (lseek(fd, 0, SEEK_SET) < 0 || husk_read_fd_all(fd, ret_heap, &len, NULL) < 0)
		return -1;
	return (ssize_t)len;
}

/* meta.json of id, opened relative to dirfd (the containers dir: a listing
 * opens it once; AT_FDCWD with root/containers in id for one lookup).  No
 * lock: a record is replaced by rename, so a reader sees one whole
 * version. */
static int record_load_at(int dirfd, const char *id, const char *shown, struct husk_ctr *ret,
			  husk_error **err)
{
	memset(ret, 0, sizeof(*ret));
	char p[PATH_MAX];
	if ((size_t)snprintf(p, sizeof(p), "%s/meta.json", id) >= sizeof(p))
		return husk_fail_as(err, ENAMETOOLONG, "container record \"%s\"", shown);
	int fd = openat(dirfd, p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return husk_fail_as(err, ENOENT, "no such container: \"%s\"", shown);
		return husk_fail(err, errno, "open \"%s\"", p);
	}
	char buf[16384];
	cleanup_free char *heap = NULL;
	ssize_t n = read_small(fd, buf, sizeof(buf), &heap);
	int e = errno;
	close(fd);
	if (n < 0)
		return husk_fail(err, e, "read \"%s\"", p);
	json_error_t je;
	json_t *m = json_loadb(heap ? heap : buf, (size_t)n, 0, &je);
	if (!m)
		return husk_fail(err, EIO, "container record \"%s\": %s", p, je.text);
	return record_parse(m, p, ret, err);
}

int husk_record_load(const char *root, const char *id, struct husk_ctr *ret, husk_error **err)
{
	cleanup_free char *dir = husk_strdup_printf("%s/containers/%s", root, id);
	return record_load_at(AT_FDCWD, dir, id, ret, err);
}

int husk_record_load_in(int containers_fd, const char *id, struct husk_ctr *ret, husk_error **err)
{
	return record_load_at(containers_fd, id, id, ret, err);
}

static void set_str(json_t *m, const char *key, const char *v)
{
	if (v)
		json_object_set_new(m, key, json_string(v));
}

/* Space kept for the next write of a record: a record is a few KiB (the
 * health log can make it bigger) */
#define RECORD_RESERVE (64 * 1024)

/* Replace path with text: a temp file, fsync, rename.  The record is on
 * disk storage and must survive a crash of the machine whole or not at
 * all.  Except for a container made with --rm or for a build's step (sync
 * false): its record, like its root, is thrown away at its exit, and after
 * a crash by `husk system boot` or `container prune`, so nothing of it is
 * worth a wait for
 * the disk; the fdatasync was, with a rename over the file, most of what
 * a `run --rm` spent in the kernel on a busy host (milliseconds each).
 *
 * The temp file is left allocated (fallocate) for the next write, so that
 * the record of a container that filled the disk (its upper dir or its
 * log on the same filesystem) still takes its exit code and time: writing
 * into blocks already reserved needs no new ones.  Without the reserve the
 * exit was lost and `ps` showed "Exited (255) 56 years ago".  Only the
 * state record (meta.json) changes after create: only it keeps a reserve. */
static int write_durable(const char *path, const char *text, bool reserve, bool sync,
			 husk_error **err)
{
	cleanup_free char *tmp = husk_strdup_printf("%s.tmp", path);
	cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", tmp);
	size_t len = strlen(text);
	if (husk_write_all(fd, text, len) < 0 || ftruncate(fd, (off_t)len) < 0 ||
	    (sync && fdatasync(fd) < 0) || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return husk_fail(err, e, "write \"%s\"", path);
	}
	/* the reserve for the next write; none when the disk is full already */
	int r = !reserve ? -1 : open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (r >= 0) {
		if (fallocate(r, 0, 0, RECORD_RESERVE) < 0)
			unlink(tmp);
		close(r);
	}
	return 0;
}

int husk_record_save(const char *root, const struct husk_ctr *c, husk_error **err)
{
	json_t *m = json_object();
	set_str(m, "id", c->id);
	set_str(m, "name", c->name);
	set_str(m, "image", c->image);
	set_str(m, "image_id", c->image_id);
	set_str(m, "command", c->command);
	if (c->docker)
		json_object_set(m, "docker", c->docker);
	json_object_set_new(m, "created_ns", json_integer(c->created_ns));
	json_object_set_new(m, "started_ns", json_integer(c->started_ns));
	json_object_set_new(m, "finished_ns", json_integer(c->finished_ns));
	set_str(m, "state", husk_ctr_state_name(c->state));
	json_object_set_new(m, "pid", json_integer(c->pid));
	json_object_set_new(m, "pid_start", json_integer((json_int_t)c->pid_start));
	json_object_set_new(m, "monitor_pid", json_integer(c->monitor_pid));
	json_object_set_new(m, "monitor_start", json_integer((json_int_t)c->monitor_start));
	if (c->monitor_pidfd_id) {
		json_object_set_new(m, "monitor_pidfd_id",
				    json_integer((json_int_t)c->monitor_pidfd_id));
		set_str(m, "boot_id", c->boot_id);
	}
	if (c->has_exit)
		json_object_set_new(m, "exit_code", json_integer(c->exit_code));
	json_object_set_new(m, "oom_killed", json_boolean(c->oom_killed));
	json_object_set_new(m, "rm", json_boolean(c->rm));
	json_object_set_new(m, "tty", json_boolean(c->tty));
	json_object_set_new(m, "interactive", json_boolean(c->interactive));
	set_str(m, "network", c->network);
	set_str(m, "ip", c->ip);
	set_str(m, "hostname", c->hostname);
	if (c->ports)
		json_object_set_new(m, "ports", strv_to_json(c->ports));
	if (c->net_egress_rate)
		json_object_set_new(m, "net_egress_rate",
				    json_integer((json_int_t)c->net_egress_rate));
	if (c->net_ingress_rate)
		json_object_set_new(m, "net_ingress_rate",
				    json_integer((json_int_t)c->net_ingress_rate));
	set_str(m, "restart", husk_restart_name(c->restart));
	json_object_set_new(m, "restart_max", json_integer(c->restart_max));
	json_object_set_new(m, "restart_count", json_integer(c->restart_count));
	json_object_set_new(m, "stopped_by_user", json_boolean(c->stopped_by_user));
	set_str(m, "log_driver", c->log_driver);
	json_object_set_new(m, "log_max_size", json_integer(c->log_max_size));
	json_object_set_new(m, "log_max_file", json_integer(c->log_max_file));
	json_object_set_new(m, "stop_signal", json_integer(c->stop_signal));
	json_object_set_new(m, "stop_timeout", json_integer(c->stop_timeout));
	if (c->test) {
		json_t *h = json_object();
		json_object_set_new(h, "test", strv_to_json(c->test));
		json_object_set_new(h, "interval_ns", json_integer(c->health_interval_ns));
		json_object_set_new(h, "timeout_ns", json_integer(c->health_timeout_ns));
		json_object_set_new(h, "start_period_ns", json_integer(c->health_start_period_ns));
		json_object_set_new(h, "retries", json_integer(c->health_retries));
		set_str(h, "on_failure", husk_health_action_name(c->health_on_failure));
		set_str(h, "status", c->health_status);
		json_object_set_new(h, "failing_streak", json_integer(c->health_streak));
		json_t *log = json_array();
		for (size_t i = 0; i < c->n_health_log; i++) {
			const struct husk_health_result *r = &c->health_log[i];
			json_array_append_new(log, json_pack("{s:I,s:I,s:i,s:s}", "start_ns",
							     (json_int_t)r->start_ns, "end_ns",
							     (json_int_t)r->end_ns, "exit_code",
							     r->exit_code, "output",
							     r->output ? r->output : ""));
		}
		json_object_set_new(h, "log", log);
		json_object_set_new(m, "health", h);
	}
	if (c->n_mounts) {
		json_t *mounts = json_array();
		for (size_t i = 0; i < c->n_mounts; i++) {
			const struct husk_ctr_mount *mt = &c->mounts[i];
			if (!mt->type)
				continue;
			json_t *mj =
				json_pack("{s:b,s:b}", "rw", mt->rw, "anonymous", mt->anonymous);
			set_str(mj, "type", mt->type);
			set_str(mj, "name", mt->name);
			set_str(mj, "source", mt->source);
			set_str(mj, "destination", mt->destination);
			set_str(mj, "mode", mt->mode);
			set_str(mj, "propagation", mt->propagation);
			json_array_append_new(mounts, mj);
		}
		json_object_set_new(m, "mounts", mounts);
	}
	if (c->tmpfs)
		json_object_set_new(m, "tmpfs", strv_to_json(c->tmpfs));
	if (c->read_only)
		json_object_set_new(m, "read_only", json_true());
	if (c->throwaway)
		json_object_set_new(m, "throwaway", json_true());
	char *text = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	if (!text)
		abort();
	cleanup_free char *p = husk_strdup_printf("%s/containers/%s/meta.json", root, c->id);
	int r = write_durable(p, text, true, !c->rm && !c->throwaway, err);
	free(text);
	return r;
}

int husk_record_save_docker(const char *root, const char *id, json_t *docker, bool sync,
			    husk_error **err)
{
	char *text = json_dumps(docker, JSON_COMPACT);
	if (!text)
		abort();
	cleanup_free char *p = husk_strdup_printf("%s/containers/%s/docker.json", root, id);
	int r = write_durable(p, text, false, sync, err);
	free(text);
	return r;
}

int husk_record_load_docker(const char *root, struct husk_ctr *c, husk_error **err)
{
	if (c->docker)
		return 0;
	cleanup_free char *p = husk_strdup_printf("%s/containers/%s/docker.json", root, c->id);
	json_error_t je;
	c->docker = json_load_file(p, 0, &je);
	if (!c->docker && access(p, F_OK) == 0)
		return husk_fail(err, EIO, "\"%s\": %s", p, je.text);
	return 0;
}

int husk_record_lock(const char *root, const char *id, husk_error **err)
{
	cleanup_free char *p = husk_strdup_printf("%s/containers/%s/lock", root, id);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == ENOENT)
			return husk_fail_as(err, ENOENT, "no such container: \"%s\"", id);
		return husk_fail(err, errno, "open \"%s\"", p);
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return husk_fail(err, e, "lock \"%s\"", p);
		}
	}
	return fd;
}

int husk_record_set_stopped(struct husk_ctr *c, void *ud, husk_error **err)
{
	(void)ud;
	(void)err;
	if (c->stopped_by_user)
		return 1; /* nothing to write */
	c->stopped_by_user = true;
	return 0;
}

int husk_record_update(const char *root, const char *id, husk_record_fn fn, void *ud,
		       husk_error **err)
{
	cleanup_close int lock = husk_record_lock(root, id, err);
	if (lock < 0)
		return -1;
	struct husk_ctr c;
	if (husk_record_load(root, id, &c, err) < 0)
		return -1;
	int r = fn(&c, ud, err);
	if (r == 0)
		r = husk_record_save(root, &c, err);
	husk_ctr_release(&c);
	return r < 0 ? -1 : 0;
}

int husk_name_claim(const char *root, const char *name, const char *id, husk_error **err)
{
	if (husk_name_check(name, err) < 0)
		return -1;
	cleanup_free char *dir = husk_strdup_printf("%s/names", root);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return husk_fail(err, errno, "mkdir \"%s\"", dir);
	cleanup_free char *link = husk_strdup_printf("%s/%s", dir, name);
	if (symlink(id, link) == 0)
		return 0;
	if (errno != EEXIST)
		return husk_fail(err, errno, "claim the name \"%s\"", name);
	/* a link whose container is gone (a crash between the two) is stale */
	char target[80];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		cleanup_free char *meta =
			husk_strdup_printf("%s/containers/%s/meta.json", root, target);
		cleanup_free char *cdir = husk_strdup_printf("%s/containers/%s", root, target);
		if (access(cdir, F_OK) < 0 && errno == ENOENT && unlink(link) == 0 &&
		    symlink(id, link) == 0)
			return 0;
		return husk_fail_as(
			err, EEXIST,
			"the container name \"%s\" is already in use by container \"%.12s\"", name,
			target);
	}
	return husk_fail_as(err, EEXIST, "the container name \"%s\" is already in use", name);
}

void husk_name_release(const char *root, const char *name, const char *id)
{
	if (!name || !*name)
		return;
	cleanup_free char *link = husk_strdup_printf("%s/names/%s", root, name);
	char target[80];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	if (strcmp(target, id) == 0)
		unlink(link);
}

void husk_names_release_id(const char *root, const char *id)
{
	cleanup_free char *dir = husk_strdup_printf("%s/names", root);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char target[80];
		ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, id) == 0)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

static bool is_hex_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int husk_record_resolve(const char *root, const char *name_or_id, char **ret_id, husk_error **err)
{
	*ret_id = NULL;
	if (!*name_or_id || strchr(name_or_id, '/') || strcmp(name_or_id, ".") == 0 ||
	    strcmp(name_or_id, "..") == 0)
		return husk_fail_as(err, ENOENT, "no such container: \"%s\"", name_or_id);
	/* an exact id */
	if (strlen(name_or_id) == 64 && is_hex_id(name_or_id)) {
		cleanup_free char *d = husk_strdup_printf("%s/containers/%s", root, name_or_id);
		if (access(d, F_OK) == 0) {
			*ret_id = strdup(name_or_id);
			return 0;
		}
	}
	/* a name: one link */
	cleanup_free char *link = husk_strdup_printf("%s/names/%s", root, name_or_id);
	char target[80];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		cleanup_free char *d = husk_strdup_printf("%s/containers/%s", root, target);
		if (access(d, F_OK) == 0) {
			*ret_id = strdup(target);
			return 0;
		}
	}
	/* a unique prefix of an id: the directory's names only */
	if (is_hex_id(name_or_id)) {
		cleanup_free char *dir = husk_strdup_printf("%s/containers", root);
		DIR *d = opendir(dir);
		size_t len = strlen(name_or_id);
		char *found = NULL;
		int hits = 0;
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (strncmp(de->d_name, name_or_id, len) == 0 && strlen(de->d_name) == 64) {
				hits++;
				free(found);
				found = strdup(de->d_name);
			}
		}
		if (d)
			closedir(d);
		if (hits == 1) {
			*ret_id = found;
			return 0;
		}
		free(found);
		if (hits > 1)
			return husk_fail_as(err, EINVAL,
					    "\"%s\" is the start of more than one container's id",
					    name_or_id);
	}
	return husk_fail_as(err, ENOENT, "no such container: \"%s\"", name_or_id);
}

bool husk_record_id_ok(const char *s)
{
	return strlen(s) == 64 && is_hex_id(s);
}

int husk_record_ids(const char *root, char ***ret, size_t *ret_n, husk_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	cleanup_free char *dir = husk_strdup_printf("%s/containers", root);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : husk_fail(err, errno, "open \"%s\"", dir);
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!husk_record_id_ok(de->d_name))
			continue;
		if (*ret_n + 1 >= cap) {
			cap = cap ? cap * 2 : 64;
			char **n = realloc(*ret, cap * sizeof(char *));
			if (!n)
				abort();
			*ret = n;
		}
		(*ret)[(*ret_n)++] = strdup(de->d_name);
		(*ret)[*ret_n] = NULL;
	}
	closedir(d);
	return 0;
}

/* This boot's id (/proc/sys/kernel/random/boot_id), read once; "" when
 * it cannot be read */
static const char *this_boot(void)
{
	static char id[sizeof(((struct husk_ctr *)0)->boot_id)];
	static bool read_once;
	if (!read_once) {
		read_once = true;
		cleanup_close int fd =
			open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, id, sizeof(id) - 1) : -1;
		id[n > 0 ? n : 0] = '\0';
		id[strcspn(id, "\n")] = '\0';
	}
	return id;
}

/* The id of the process a pidfd refers to: its pidfs inode number, which
 * the kernel never gives another process until it reboots (pidfs, Linux
 * 6.9; before it, pidfds are anonymous inodes that all share one).  0
 * when there is none. */
static uint64_t pidfd_id(int pidfd)
{
	struct statfs sfs;
	struct stat st;
	if (fstatfs(pidfd, &sfs) < 0 || sfs.f_type != PID_FS_MAGIC || fstat(pidfd, &st) < 0 ||
	    sizeof(st.st_ino) < sizeof(uint64_t))
		return 0;
	return (uint64_t)st.st_ino;
}

void husk_record_set_monitor(struct husk_ctr *c, pid_t self)
{
	c->monitor_pid = self;
	c->monitor_start = husk_pid_starttime(self);
	c->monitor_pidfd_id = 0;
	c->boot_id[0] = '\0';
	int fd = *this_boot() ? (int)syscall(SYS_pidfd_open, self, 0) : -1;
	if (fd < 0)
		return;
	c->monitor_pidfd_id = pidfd_id(fd);
	close(fd);
	if (c->monitor_pidfd_id)
		snprintf(c->boot_id, sizeof(c->boot_id), "%s", this_boot());
}

void husk_record_clear_monitor(struct husk_ctr *c)
{
	c->monitor_pid = 0;
	c->monitor_start = 0;
	c->monitor_pidfd_id = 0;
	c->boot_id[0] = '\0';
}

/* Is the record's monitor alive?  By its pidfd id when the record has one
 * of this boot: a pidfd_open, an fstat and a poll (has it exited, a
 * zombie not yet reaped?), no path walk through /proc and no formatting
 * of /proc/PID/stat, which took about half of what ps spent on a running
 * container.  Else by its start time in /proc/PID/stat. */
static bool monitor_alive(const struct husk_ctr *c)
{
	if (!c->monitor_pidfd_id || !*c->boot_id || strcmp(c->boot_id, this_boot()) != 0)
		return husk_pid_alive(c->monitor_pid, c->monitor_start);
	if (c->monitor_pid <= 0)
		return false;
	int fd = (int)syscall(SYS_pidfd_open, c->monitor_pid, 0);
	if (fd < 0)
		return false;
	struct stat st;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	bool alive = fstat(fd, &st) == 0 && (uint64_t)st.st_ino == c->monitor_pidfd_id &&
		     poll(&p, 1, 0) == 0;
	close(fd);
	return alive;
}

bool husk_record_observe(struct husk_ctr *c)
{
	if (c->state != HUSK_CTR_RUNNING && c->state != HUSK_CTR_PAUSED)
		return false;
	/* the monitor first: while it lives it is who records the exit, so
	 * one look answers for a running container */
	if (monitor_alive(c))
		return false;
	if (husk_pid_alive(c->pid, c->pid_start))
		return true; /* an orphan */
	c->state = HUSK_CTR_EXITED;
	if (!c->has_exit) {
		c->has_exit = true;
		c->exit_code = 255;
	}
	return false;
}

int64_t husk_time_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

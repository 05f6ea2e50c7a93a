#define _GNU_SOURCE
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "seccomp.h"
#include "spec.h"
#include "util.h"

/* linux.seccomp, apart from state.json */
#define SECCOMP_FILE "seccomp.json"

const char *husk_status_name(enum husk_status s)
{
	switch (s) {
	case HUSK_CREATING:
		return "creating";
	case HUSK_CREATED:
		return "created";
	case HUSK_RUNNING:
		return "running";
	case HUSK_PAUSED:
		return "paused";
	case HUSK_STOPPED:
		return "stopped";
	default:
		return "unknown";
	}
}

int husk_id_validate(const char *id, husk_error **err)
{
	if (!id || !*id)
		return husk_fail(err, 0, "container id: must not be empty");
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return husk_fail(err, 0, "container id \"%s\": not a valid id", id);
	if (strlen(id) > 1024)
		return husk_fail(err, 0, "container id: longer than 1024 characters");
	for (const char *p = id; *p; p++) {
		char c = *p;
		if (c == '/')
			return husk_fail(err, 0, "container id \"%s\": must not contain '/'", id);
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '-' || c == '.'))
			return husk_fail(err, 0,
					 "container id \"%s\": only letters, digits and _+.- are "
					 "allowed",
					 id);
	}
	return 0;
}

/* Lock <dir> and check that the path still names what we locked: a delete
 * may have removed it (and a create made it again) while we waited. */
static int lock_dir(const char *dir, int *ret, husk_error **err)
{
	for (;;) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX) < 0) {
			int e = errno;
			close(fd);
			return husk_fail(err, e, "lock \"%s\"", dir);
		}
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(dir, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			*ret = fd;
			return 0;
		}
		close(fd);
	}
}

int husk_state_dir_create(const char *root, const char *id, char **ret_dir, int *ret_lockfd,
			  husk_error **err)
{
	if (husk_id_validate(id, err) < 0)
		return -1;
	if (mkdir(root, 0700) < 0 && errno != EEXIST && husk_mkdir_p(root, 0700, err) < 0)
		return husk_error_wrap(err, "state root");
	/* made under a name of its own, locked, then renamed into place: a
	 * concurrent delete never sees it unlocked and without state.json,
	 * which is what a create that crashed leaves (and delete removes) */
	cleanup_free char *tmp = husk_strdup_printf("%s/.new-%s-%d", root, id, (int)getpid());
	if (mkdir(tmp, 0700) < 0)
		return husk_fail(err, errno, "create state directory for \"%s\"", id);
	int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		rmdir(tmp);
		return husk_fail(err, e, "lock state directory for \"%s\"", id);
	}
	char *dir = husk_strdup_printf("%s/%s", root, id);
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_NOREPLACE) < 0) {
		int e = errno;
		close(fd);
		rmdir(tmp);
		free(dir);
		if (e == EEXIST)
			return husk_fail(err, 0, "container \"%s\" already exists", id);
		return husk_fail(err, e, "create state directory for \"%s\"", id);
	}
	*ret_lockfd = fd;
	*ret_dir = dir;
	return 0;
}

int husk_state_lock(const char *root, const char *id, int *ret_lockfd, husk_error **err)
{
	if (husk_id_validate(id, err) < 0)
		return -1;
	cleanup_free char *dir = husk_strdup_printf("%s/%s", root, id);
	int r = lock_dir(dir, ret_lockfd, err);
	if (r == -ENOENT || r == -ENOTDIR)
		return husk_fail(err, ENOENT, "container \"%s\" does not exist", id);
	if (r < -1)
		return husk_fail(err, -r, "open state of \"%s\"", id);
	return r;
}

static json_t *cgroup_to_json(const struct husk_cgroup *cg)
{
	json_t *dirs = json_array();
	for (size_t i = 0; i < cg->n; i++)
		json_array_append_new(dirs,
				      json_pack("{s:s,s:s,s:s,s:s,s:b}", "controllers",
						cg->dirs[i].controllers, "path", cg->dirs[i].path,
						"mount", cg->dirs[i].mount, "rel", cg->dirs[i].rel,
						"v2", cg->dirs[i].v2));
	json_t *created = json_array();
	for (size_t i = 0; i < cg->n_created; i++)
		json_array_append_new(created, json_string(cg->created[i]));
	return json_pack("{s:o,s:o}", "dirs", dirs, "created", created);
}

static void cgroup_from_json(json_t *j, struct husk_cgroup *cg)
{
	memset(cg, 0, sizeof(*cg));
	json_t *dirs = json_object_get(j, "dirs"), *created = json_object_get(j, "created");
	cg->n = json_array_size(dirs);
	cg->dirs = calloc(cg->n + 1, sizeof(*cg->dirs));
	for (size_t i = 0; i < cg->n; i++) {
		json_t *d = json_array_get(dirs, i);
		cg->dirs[i].controllers =
			strdup(json_string_value(json_object_get(d, "controllers")) ?: "");
		cg->dirs[i].path = strdup(json_string_value(json_object_get(d, "path")) ?: "");
		cg->dirs[i].mount = strdup(json_string_value(json_object_get(d, "mount")) ?: "");
		cg->dirs[i].rel = strdup(json_string_value(json_object_get(d, "rel")) ?: "");
		cg->dirs[i].v2 = json_is_true(json_object_get(d, "v2"));
	}
	cg->n_created = json_array_size(created);
	cg->created = calloc(cg->n_created + 1, sizeof(char *));
	for (size_t i = 0; i < cg->n_created; i++)
		cg->created[i] = strdup(json_string_value(json_array_get(created, i)) ?: "");
}

int husk_state_save(const struct husk_state *st, husk_error **err)
{
	json_t *j =
		json_pack("{s:s,s:i,s:I,s:s,s:s,s:s,s:s}", "id", st->id, "pid", (int)st->pid,
			  "starttime", (json_int_t)st->starttime, "bundle", st->bundle, "rootfs",
			  st->rootfs, "created", st->created, "owner", st->owner ? st->owner : "");
	if (st->annotations)
		json_object_set(j, "annotations", st->annotations);
	if (st->has_cgroup)
		json_object_set_new(j, "cgroup", cgroup_to_json(&st->cgroup));
	json_t *lx = json_object_get(st->config, "linux");
	json_t *sc = json_object_get(lx, "seccomp");
	/* create's fast path leaves linux.seccomp null in the config it
	 * parsed and the profile in seccomp_text */
	if (st->seccomp_text || (sc && !json_is_null(sc))) {
		/* the profile in a file of its own, as it is: a load (the
		 * monitor's exit, ps, delete) then parses none of it; state.json
		 * names its length and hash, so that a torn or changed file
		 * fails exec rather than running it unconfined */
		cleanup_free char *dumped = st->seccomp_text ? NULL : json_dumps(sc, JSON_COMPACT);
		const char *sct = st->seccomp_text ? st->seccomp_text : dumped;
		if (!sct)
			abort();
		size_t len = strlen(sct);
		cleanup_free char *sp = husk_strdup_printf("%s/" SECCOMP_FILE, st->dir);
		if (husk_write_file(sp, sct, len, 0600, err) < 0) {
			json_decref(j);
			return -1;
		}
		char hash[17];
		snprintf(hash, sizeof(hash), "%016" PRIx64,
			 husk_fnv1a64(sct, len, HUSK_FNV1A_INIT));
		json_object_set_new(j, "seccomp",
				    json_pack("{s:s,s:I,s:s}", "file", SECCOMP_FILE, "bytes",
					      (json_int_t)len, "fnv1a64", hash));
		json_t *c = json_copy(st->config), *l = json_copy(lx);
		json_object_del(l, "seccomp");
		json_object_set_new(c, "linux", l);
		json_object_set_new(j, "config", c);
	} else {
		if (st->config)
			json_object_set(j, "config", st->config);
		if (st->seccomp_ref)
			json_object_set(j, "seccomp", st->seccomp_ref);
	}
	cleanup_free char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	cleanup_free char *path = husk_strdup_printf("%s/state.json", st->dir);
	return husk_write_file_atomic(path, text, strlen(text), 0600, err);
}

static int state_load(const char *root, const char *id, struct husk_state *st, husk_error **err);

int husk_state_save_creating(const char *dir, const struct husk_cgroup *cg, pid_t pid,
			     husk_error **err)
{
	json_t *j = json_pack("{s:i,s:I}", "pid", (int)pid, "starttime",
			      (json_int_t)(pid > 0 ? husk_pid_starttime(pid) : 0));
	if (cg)
		json_object_set_new(j, "cgroup", cgroup_to_json(cg));
	cleanup_free char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	cleanup_free char *path = husk_strdup_printf("%s/creating.json", dir);
	return husk_write_file_atomic(path, text, strlen(text), 0600, err);
}

int husk_state_load_creating(const char *dir, struct husk_state *st, husk_error **err)
{
	memset(st, 0, sizeof(*st));
	cleanup_free char *path = husk_strdup_printf("%s/creating.json", dir);
	cleanup_free char *text = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 1 : husk_fail(err, errno, "read \"%s\"", path);
	int r = husk_read_fd_all(fd, &text, NULL, err);
	close(fd);
	if (r < 0)
		return -1;
	json_t *j = json_loads(text, 0, NULL);
	if (!j)
		return 1; /* cut short by the crash: nothing was made after it */
	st->dir = strdup(dir);
	st->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	st->starttime = (unsigned long long)json_integer_value(json_object_get(j, "starttime"));
	json_t *cg = json_object_get(j, "cgroup");
	if (cg) {
		cgroup_from_json(cg, &st->cgroup);
		st->has_cgroup = true;
	}
	json_decref(j);
	return 0;
}

int husk_state_load(const char *root, const char *id, struct husk_state *st, husk_error **err)
{
	int r = state_load(root, id, st, err);
	if (r < 0)
		husk_state_release(st);
	return r;
}

int husk_state_load_existing(const char *root, const char *id, struct husk_state *st,
			     husk_error **err)
{
	int r = husk_state_load(root, id, st, err);
	if (r > 0) {
		husk_state_release(st);
		return husk_fail(err, 0, "container \"%s\" is still being created", id);
	}
	return r;
}

static int state_load(const char *root, const char *id, struct husk_state *st, husk_error **err)
{
	memset(st, 0, sizeof(*st));
	if (husk_id_validate(id, err) < 0)
		return -1;
	st->dir = husk_strdup_printf("%s/%s", root, id);
	st->id = strdup(id);
	cleanup_free char *path = husk_strdup_printf("%s/state.json", st->dir);
	cleanup_free char *text = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		struct stat sb;
		if (e == ENOENT && stat(st->dir, &sb) == 0)
			return 1; /* still being created */
		if (e == ENOENT)
			return husk_fail(err, ENOENT, "container \"%s\" does not exist", id);
		return husk_fail(err, e, "read state of \"%s\"", id);
	}
	int r = husk_read_fd_all(fd, &text, NULL, err);
	close(fd);
	if (r < 0)
		return -1;
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j)
		return husk_fail(err, 0, "state of \"%s\" is corrupt: %s", id, je.text);
	st->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	st->starttime = (unsigned long long)json_integer_value(json_object_get(j, "starttime"));
	st->bundle = strdup(json_string_value(json_object_get(j, "bundle")) ?: "");
	st->rootfs = strdup(json_string_value(json_object_get(j, "rootfs")) ?: "");
	st->created = strdup(json_string_value(json_object_get(j, "created")) ?: "");
	st->owner = strdup(json_string_value(json_object_get(j, "owner")) ?: "");
	st->annotations = json_incref(json_object_get(j, "annotations"));
	st->config = json_incref(json_object_get(j, "config"));
	json_t *sc = json_object_get(j, "seccomp");
	if (sc) {
		/* as we write it; anything else is a state we did not write, and
		 * guessing would run exec unconfined */
		if (!json_is_integer(json_object_get(sc, "bytes")) ||
		    !json_is_string(json_object_get(sc, "fnv1a64")) ||
		    !json_is_object(json_object_get(st->config, "linux"))) {
			json_decref(j);
			return husk_fail(err, 0, "state of \"%s\" is corrupt: seccomp", id);
		}
		st->seccomp_ref = json_incref(sc);
	}
	json_t *cg = json_object_get(j, "cgroup");
	if (cg) {
		cgroup_from_json(cg, &st->cgroup);
		st->has_cgroup = true;
	}
	json_decref(j);
	return 0;
}

int husk_state_config_seccomp(struct husk_state *st, husk_error **err)
{
	if (!st->seccomp_ref)
		return 0;
	cleanup_free char *path = husk_strdup_printf("%s/" SECCOMP_FILE, st->dir);
	cleanup_free char *text = NULL;
	size_t len = 0;
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || husk_read_fd_all(fd, &text, &len, NULL) < 0)
		return husk_fail(err, fd < 0 ? errno : EIO,
				 "state of \"%s\" is corrupt: seccomp: read " SECCOMP_FILE, st->id);
	char hash[17];
	snprintf(hash, sizeof(hash), "%016" PRIx64, husk_fnv1a64(text, len, HUSK_FNV1A_INIT));
	if ((json_int_t)len != json_integer_value(json_object_get(st->seccomp_ref, "bytes")) ||
	    strcmp(hash, json_string_value(json_object_get(st->seccomp_ref, "fnv1a64"))) != 0)
		return husk_fail(err, 0,
				 "state of \"%s\" is corrupt: seccomp: " SECCOMP_FILE
				 " is not the one written at create",
				 st->id);
	json_error_t je;
	json_t *sc = json_loadb(text, len, 0, &je);
	if (!json_is_object(sc)) {
		json_decref(sc);
		return husk_fail(err, 0, "state of \"%s\" is corrupt: seccomp: %s", st->id,
				 je.text);
	}
	/* state_load checked that linux is an object */
	json_object_set_new(json_object_get(st->config, "linux"), "seccomp", sc);
	json_decref(st->seccomp_ref);
	st->seccomp_ref = NULL;
	return 0;
}

bool husk_state_process_alive(const struct husk_state *st)
{
	if (st->pid <= 0)
		return false;
	unsigned long long t = husk_pid_starttime(st->pid);
	return t != 0 && t == st->starttime;
}

enum husk_status husk_state_status(const struct husk_state *st)
{
	if (!st->created)
		return HUSK_CREATING;
	if (!husk_state_process_alive(st))
		return HUSK_STOPPED;
	cleanup_free char *fifo = husk_strdup_printf("%s/exec.fifo", st->dir);
	if (access(fifo, F_OK) == 0)
		return HUSK_CREATED;
	if (st->has_cgroup && husk_cgroup_is_frozen(&st->cgroup))
		return HUSK_PAUSED;
	return HUSK_RUNNING;
}

char *husk_state_to_oci_json(const struct husk_state *st, bool indent)
{
	enum husk_status s = husk_state_status(st);
	json_t *j = json_pack(
		"{s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s}", "ociVersion", "1.3.0", "id", st->id, "status",
		husk_status_name(s), "pid", s == HUSK_STOPPED ? 0 : (int)st->pid, "bundle",
		st->bundle ? st->bundle : "", "rootfs", st->rootfs ? st->rootfs : "", "created",
		st->created ? st->created : "", "owner", st->owner ? st->owner : "");
	if (st->annotations && json_object_size(st->annotations))
		json_object_set(j, "annotations", st->annotations);
	char *out = json_dumps(j, JSON_PRESERVE_ORDER | (indent ? JSON_INDENT(2) : JSON_COMPACT));
	json_decref(j);
	return out;
}

void husk_state_release(struct husk_state *st)
{
	free(st->id);
	free(st->dir);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->owner);
	json_decref(st->annotations);
	json_decref(st->config);
	json_decref(st->seccomp_ref);
	if (st->has_cgroup)
		husk_cgroup_release(&st->cgroup);
	memset(st, 0, sizeof(*st));
}

int husk_state_dir_remove(const char *dir, husk_error **err)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : husk_fail(err, errno, "open \"%s\"", dir);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	if (rmdir(dir) < 0 && errno != ENOENT)
		return husk_fail(err, errno, "remove \"%s\"", dir);
	return 0;
}

static char *now_rfc3339(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char buf[64];
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", ts.tv_nsec);
	return strdup(buf);
}

int husk_state_save_new(const char *id, const char *dir, pid_t pid, const char *bundle,
			const struct husk_spec *spec, const struct husk_cgroup *cg, bool has_cgroup,
			husk_error **err)
{
	struct husk_state st = {.id = (char *)id,
				.dir = (char *)dir,
				.pid = pid,
				.starttime = husk_pid_starttime(pid),
				.bundle = (char *)bundle,
				.rootfs = spec->root_path,
				.created = now_rfc3339(),
				.owner = (char *)"",
				.annotations = spec->annotations,
				.config = spec->json,
				/* the profile as the filter's cache key dumped it;
				 * or, where no create took the filter (restore),
				 * as husk_spec_load found it cached: the config
				 * then says null, and without it the state would
				 * name no profile and exec would run unconfined */
				.seccomp_text = spec->seccomp_text
							? spec->seccomp_text
							: husk_seccomp_text(spec->seccomp_cached),
				.cgroup = *cg,
				.has_cgroup = has_cgroup};
	int r = husk_state_save(&st, err);
	free(st.created);
	return r;
}

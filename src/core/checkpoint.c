/* checkpoint and restore through CRIU's command line (Debian's criu), with
 * runc's flags.  CRIU does the work: it freezes and dumps the container's
 * process tree with its namespaces and mounts into the image directory, and
 * restores it into a rootfs and cgroup the runtime makes ready.  The
 * runtime's part is what runc's is:
 * - mounts the container binds from the host are external to CRIU: named
 *   by their destination in the image (--ext-mount-map DEST:DEST at dump)
 *   and mapped back to the config's sources at restore;
 * - the rootfs is given to CRIU bind-mounted at <state>/criu-root, and the
 *   restored tree is put in the container's cgroup (--cgroup-root);
 * - after a dump without --leave-running the container is gone: its
 *   state and cgroup are removed, as runc destroys it;
 * - restore records the restored init as a new container of that id. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "husk.h"
#include "rootfs.h"
#include "spec.h"
#include "state.h"
#include "util.h"

static const char *manage_mode(const char *m, husk_error **err)
{
	static const char *modes[] = {"soft", "full", "strict", "ignore"};
	if (!m)
		return "soft";
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (strcmp(m, modes[i]) == 0)
			return modes[i];
	husk_fail(err, EINVAL,
		  "--manage-cgroups-mode \"%s\": expected soft, full, strict or ignore", m);
	return NULL;
}

/* The first error line CRIU logged, "Error (file.c:N): ..." (the cause;
 * the later ones say what it gave up), for the message; not the output of
 * the ip(8) it runs ("Error: ipv4: Address already assigned."). */
static char *criu_log_error(const char *log)
{
	cleanup_free char *text = NULL;
	if (husk_read_file(log, &text, NULL, NULL) < 0)
		return NULL;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		/* CRIU logs as errors, and goes on, that it could not raise
		 * its own RLIMIT_NOFILE or open /dev/net/tun (a probe, denied
		 * in the container's devices cgroup): not the cause */
		if (strstr(l, "Error (") && !strstr(l, "RLIMIT_NOFILE") &&
		    !strstr(l, "Unable to create tun"))
			return strdup(l);
	return NULL;
}

/* Run CRIU (criu: a path, or NULL for criu in PATH) with argv; on failure,
 * the error names its log and its first error line.  A dump's stdio is
 * /dev/null; a restore's is ours, for --inherit-fd to hand our stdio pipes
 * to the restored tree. */
static int run_criu(const char *criu, char **argv, bool our_stdio, const struct husk_cgroup *cg,
		    const char *log, husk_error **err)
{
	const char *bin = criu ? criu : "criu";
	pid_t pid = fork();
	if (pid < 0)
		return husk_fail(err, errno, "fork for criu");
	if (pid == 0) {
		int null = our_stdio ? -1 : open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		/* CRIU itself in the container's cgroup, as runc puts it: what
		 * it restores is born there, whatever --manage-cgroups-mode */
		for (size_t i = 0; cg && i < cg->n; i++) {
			cleanup_free char *procs =
				husk_strdup_printf("%s/cgroup.procs", cg->dirs[i].path);
			int fd = open(procs, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, "0", 1) != 1) {
				fprintf(stderr, "join \"%s\": %s\n", procs, strerror(errno));
				_exit(124);
			}
			close(fd);
		}
		execvp(bin, argv);
		fprintf(stderr, "criu \"%s\": %s\n", bin, strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return husk_fail(err, ENOENT,
				 criu ? "--criu \"%s\": not found"
				      : "%s is not installed (Debian's package criu)",
				 bin);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
		return husk_fail(err, EACCES, "criu \"%s\" cannot be run", bin);
	if (cg && WIFEXITED(status) && WEXITSTATUS(status) == 124)
		return husk_fail(err, EIO, "put criu in the container's cgroup");
	cleanup_free char *why = criu_log_error(log);
	return husk_fail_as(err, EIO, "criu %s failed (status %d): %s (log: %s)", argv[1],
			    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
			    why ? why : "no error logged", log);
}

struct argv {
	char **v;
	size_t n;
};

static void arg(struct argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct argv *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	husk_strv_push(&a->v, &a->n, s);
}

static void argv_free(struct argv *a)
{
	husk_strv_free(a->v, a->n);
	a->v = NULL;
	a->n = 0;
}

static int dirs_ready(const char *image, const char *work, husk_error **err)
{
	if (husk_mkdir_p(image, 0700, err) < 0)
		return husk_error_wrap(err, "--image-path");
	if (husk_mkdir_p(work, 0700, err) < 0)
		return husk_error_wrap(err, "--work-path");
	return 0;
}

/* the common flags of dump and restore */
static void common_args(struct argv *a, const struct husk_checkpoint_opts *o, const char *image,
			const char *work, const char *mode, const char *log)
{
	arg(a, "--images-dir=%s", image);
	arg(a, "--work-dir=%s", work);
	arg(a, "--log-file=%s", log);
	arg(a, "-v4");
	arg(a, "--manage-cgroups=%s", mode);
	if (o->tcp_established)
		arg(a, "--tcp-established");
	if (o->file_locks)
		arg(a, "--file-locks");
	if (o->ext_unix_sk)
		arg(a, "--ext-unix-sk");
	if (o->shell_job)
		arg(a, "--shell-job");
}

/* What the init's stdio were, as runc's descriptors.json beside the images:
 * the /proc/PID/fd links of fds 0-2 ("" where one cannot be read). */
static char *stdio_descriptors(pid_t pid)
{
	json_t *a = json_array();
	for (int fd = 0; fd < 3; fd++) {
		char link[64], target[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		json_array_append_new(a, json_string(target));
	}
	char *text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}

/* The init's stdio pipes at the dump are ours at the restore (runc's
 * --inherit-fd from descriptors.json): a caller such as conmon reads the
 * restored container's output on its new pipes. */
static void inherit_stdio_pipes(struct argv *a, const char *image)
{
	cleanup_free char *path = husk_strdup_printf("%s/descriptors.json", image);
	json_t *d = json_load_file(path, 0, NULL);
	size_t i;
	json_t *v;
	json_array_foreach (d, i, v) {
		const char *s = json_string_value(v);
		if (i < 3 && s && strncmp(s, "pipe:", 5) == 0)
			arg(a, "--inherit-fd=fd[%zu]:%s", i, s);
	}
	json_decref(d);
}

/* The container's cgroup mounts without a cgroup namespace are binds of its
 * host cgroup directories (rootfs.c's mount_cgroup): external to CRIU, as
 * runc makes them, named by their destination at the dump (to_host false)
 * and mapped to the restored container's directories at the restore.
 * CRIU could not dump the hybrid host's cgroup2 one ("unified doesn't
 * have a proper root mount"). */
static void cgroup_binds(struct argv *a, const struct husk_spec *spec, const struct husk_cgroup *cg,
			 bool to_host)
{
	if (spec->ns[HUSK_NS_CGROUP].enabled || !cg || cg->n == 0)
		return;
	bool v2 = husk_cgroup_mode() == HUSK_CGROUP_V2;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct husk_mount *m = &spec->mounts[i];
		if (!m->type || (strcmp(m->type, "cgroup") != 0 && strcmp(m->type, "cgroup2") != 0))
			continue;
		if (v2) {
			arg(a, "--ext-mount-map=%s:%s", m->destination,
			    to_host ? cg->dirs[0].path : m->destination);
			continue;
		}
		for (size_t j = 0; j < cg->n; j++) {
			const struct husk_cgroup_dir *d = &cg->dirs[j];
			const char *name = d->v2 ? "unified" : d->controllers;
			if (strncmp(name, "name=", 5) == 0)
				name += 5;
			if (to_host)
				arg(a, "--ext-mount-map=%s/%s:%s", m->destination, name, d->path);
			else
				arg(a, "--ext-mount-map=%s/%s:%s/%s", m->destination, name,
				    m->destination, name);
		}
	}
}

static bool is_bind(const struct husk_mount *m)
{
	return m->bind || (m->type && strcmp(m->type, "bind") == 0);
}

int husk_checkpoint(const struct husk_checkpoint_opts *o, husk_error **err)
{
	const char *mode = manage_mode(o->manage_cgroups_mode, err);
	if (!mode)
		return -1;
	cleanup_close int lockfd = -1;
	if (husk_state_lock(o->state_root, o->id, &lockfd, err) < 0)
		return -1;
	struct husk_state st;
	if (husk_state_load_existing(o->state_root, o->id, &st, err) < 0)
		return -1;
	struct husk_spec *spec = NULL;
	struct argv a = {0};
	int r = -1;
	cleanup_free char *cfg = NULL, *log = NULL, *desc = NULL;
	enum husk_status s = husk_state_status(&st);
	if (s != HUSK_RUNNING && s != HUSK_PAUSED) {
		husk_fail(err, 0, "container \"%s\" is %s: only a running one can be checkpointed",
			  o->id, husk_status_name(s));
		goto out;
	}
	if (husk_state_config_seccomp(&st, err) < 0)
		goto out;
	cfg = json_dumps(st.config, JSON_COMPACT);
	if (husk_spec_parse(cfg, st.bundle, &spec, err) < 0)
		goto out;
	const char *work = o->work_path ? o->work_path : o->image_path;
	if (dirs_ready(o->image_path, work, err) < 0)
		goto out;
	log = husk_strdup_printf("%s/%s.log", work, o->pre_dump ? "pre-dump" : "dump");
	arg(&a, "criu");
	arg(&a, o->pre_dump ? "pre-dump" : "dump");
	arg(&a, "--tree=%d", (int)st.pid);
	arg(&a, "--root=%s", st.rootfs);
	common_args(&a, o, o->image_path, work, mode, log);
	if (o->parent_path)
		arg(&a, "--prev-images-dir=%s", o->parent_path);
	if (o->pre_dump)
		arg(&a, "--track-mem");
	else if (o->leave_running)
		arg(&a, "--leave-running");
	/* a bind from the host is not the container's to dump: name it by
	 * its destination, for restore to map back */
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (is_bind(&spec->mounts[i]))
			arg(&a, "--ext-mount-map=%s:%s", spec->mounts[i].destination,
			    spec->mounts[i].destination);
	cgroup_binds(&a, spec, st.has_cgroup ? &st.cgroup : NULL, false);
	/* a joined network namespace is not the container's either */
	if (spec->ns[HUSK_NS_NET].enabled && spec->ns[HUSK_NS_NET].path) {
		struct stat nsst;
		if (stat(spec->ns[HUSK_NS_NET].path, &nsst) == 0)
			arg(&a, "--external=net[%llu]:extRootNetNS",
			    (unsigned long long)nsst.st_ino);
	}
	husk_strv_push(&a.v, &a.n, NULL);
	a.n--;
	desc = stdio_descriptors(st.pid);
	if (run_criu(o->criu, a.v, false, NULL, log, err) < 0) {
		/* CRIU's words name its own --track-mem, not ours */
		if (o->pre_dump && *err && strstr((*err)->msg, "Tracking memory is not available"))
			husk_error_wrap(err, "--pre-dump: this kernel has no memory dirty tracking "
					     "(soft-dirty bits)");
		husk_error_wrap(err, "checkpoint container \"%s\"", o->id);
		goto out;
	}
	/* the config beside the images, for a restore elsewhere */
	char *cp = husk_strdup_printf("%s/config.json", o->image_path);
	husk_write_file_atomic(cp, cfg, strlen(cfg), 0600, NULL);
	free(cp);
	if (desc) {
		cp = husk_strdup_printf("%s/descriptors.json", o->image_path);
		husk_write_file_atomic(cp, desc, strlen(desc), 0600, NULL);
		free(cp);
	}
	r = 0;
out:
	argv_free(&a);
	husk_spec_free(spec);
	husk_state_release(&st);
	if (r == 0 && !o->pre_dump && !o->leave_running) {
		/* CRIU killed the tree after the dump: the container is gone,
		 * as runc destroys it */
		close(lockfd);
		lockfd = -1;
		husk_delete(o->state_root, o->id, true, NULL);
	}
	return r;
}

/* dest is path or below it */
static bool path_under(const char *dest, const char *path)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	return strncmp(dest, path, n) == 0 && (dest[n] == '\0' || dest[n] == '/' || n == 1);
}

/* The mount points CRIU restores onto, made in the rootfs as a create
 * makes them (runc's prepareCriuRestoreMounts): a restore into a new
 * container (Podman's restore --import --name) has a rootfs without the
 * files the runtime created, such as Podman's /run/.containerenv ("Can't
 * stat mountpoint").  Those on a tmpfs come back with the tmpfs's content,
 * and the cgroup ones with their tmpfs or /sys. */
static int restore_mountpoints(const char *root, const struct husk_spec *spec, husk_error **err)
{
	cleanup_close int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return husk_fail(err, errno, "open \"%s\"", root);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct husk_mount *m = &spec->mounts[i];
		bool on_tmpfs = false;
		for (size_t j = 0; j < spec->n_mounts && !on_tmpfs; j++)
			on_tmpfs = j != i && spec->mounts[j].type &&
				   strcmp(spec->mounts[j].type, "tmpfs") == 0 &&
				   path_under(m->destination, spec->mounts[j].destination);
		if (on_tmpfs || (m->type && (strcmp(m->type, "cgroup") == 0 ||
					     strcmp(m->type, "cgroup2") == 0)))
			continue;
		struct stat st;
		bool file = is_bind(m) && m->source && stat(m->source, &st) == 0 &&
			    !S_ISDIR(st.st_mode);
		int fd = husk_mkpath_in_root(rootfd, m->destination, file, err);
		if (fd < 0)
			return husk_error_wrap(err, "mount point \"%s\"", m->destination);
		close(fd);
	}
	return 0;
}

int husk_restore(const struct husk_restore_opts *o, pid_t *ret_pid, husk_error **err)
{
	const struct husk_checkpoint_opts *c = &o->ck;
	struct husk_spec *spec = NULL;
	struct husk_cgroup cg = {0};
	bool cg_made = false, mounted = false;
	char *dir = NULL;
	cleanup_close int lockfd = -1;
	struct argv a = {0};
	cleanup_free char *criu_root = NULL, *pidfile = NULL, *ptext = NULL;
	cleanup_close int netns_fd = -1;
	int r = -1;
	pid_t pid = -1;
	cleanup_free char *log = NULL;
	const char *mode = manage_mode(c->manage_cgroups_mode, err);
	if (!mode || husk_id_validate(c->id, err) < 0)
		return -1;
	/* the cgroup is the runtime's, made before CRIU runs: strict would
	 * abort on it ("Abort restore of existing cgroups"); full restores
	 * the dumped properties onto it (runc 1.1 restores strict as soft) */
	if (strcmp(mode, "strict") == 0 && !o->no_cgroup)
		mode = "full";
	if (husk_spec_load(o->bundle, o->config_path, &spec, err) < 0)
		return -1;
	const char *work = c->work_path ? c->work_path : c->image_path;
	log = husk_strdup_printf("%s/restore.log", work);
	struct stat sb;
	if (stat(c->image_path, &sb) < 0) {
		husk_fail(err, errno, "--image-path \"%s\"", c->image_path);
		goto out;
	}
	if (husk_mkdir_p(work, 0700, err) < 0)
		goto out;
	if (husk_state_dir_create(c->state_root, c->id, &dir, &lockfd, err) < 0)
		goto out;
	if (!o->no_cgroup) {
		if (husk_cgroup_create(spec->cgroups_path, c->id, true, &cg, err) < 0)
			goto out;
		cg_made = true;
		json_t *devs = json_object_get(json_object_get(spec->json, "linux"), "devices");
		if (husk_cgroup_apply(&cg, spec->resources, devs, true, err) < 0)
			goto out;
	}
	/* CRIU restores into a root of its own: the rootfs bound privately */
	criu_root = husk_strdup_printf("%s/criu-root", dir);
	if (mkdir(criu_root, 0755) < 0 ||
	    mount(spec->root_path, criu_root, NULL, MS_BIND | MS_REC, NULL) < 0) {
		husk_fail(err, errno, "bind the rootfs for criu at \"%s\"", criu_root);
		goto out;
	}
	mounted = true;
	mount(NULL, criu_root, NULL, MS_PRIVATE | MS_REC, NULL);
	if (restore_mountpoints(criu_root, spec, err) < 0)
		goto out;
	pidfile = husk_strdup_printf("%s/restore.pid", dir);
	arg(&a, "criu");
	arg(&a, "restore");
	arg(&a, "--root=%s", criu_root);
	arg(&a, "--restore-detached");
	arg(&a, "--pidfile=%s", pidfile);
	common_args(&a, c, c->image_path, work, mode, log);
	/* each hierarchy's own root, as runc's CgRoot per controller: on v1
	 * they differ (memory may sit below our cgroup, freezer at its top) */
	for (size_t i = 0; cg_made && i < cg.n; i++)
		if (cg.dirs[i].v2 || !cg.dirs[i].controllers[0])
			arg(&a, "--cgroup-root=%s", cg.dirs[i].rel);
		else
			arg(&a, "--cgroup-root=%s:%s", cg.dirs[i].controllers, cg.dirs[i].rel);
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (is_bind(&spec->mounts[i]))
			arg(&a, "--ext-mount-map=%s:%s", spec->mounts[i].destination,
			    spec->mounts[i].source);
	cgroup_binds(&a, spec, cg_made ? &cg : NULL, true);
	if (spec->ns[HUSK_NS_NET].enabled && spec->ns[HUSK_NS_NET].path) {
		/* criu inherits it: no close-on-exec */
		netns_fd = open(spec->ns[HUSK_NS_NET].path, O_RDONLY);
		if (netns_fd < 0) {
			husk_fail(err, errno, "linux.namespaces: network namespace path \"%s\"",
				  spec->ns[HUSK_NS_NET].path);
			goto out;
		}
		arg(&a, "--inherit-fd=fd[%d]:extRootNetNS", netns_fd);
	}
	inherit_stdio_pipes(&a, c->image_path);
	husk_strv_push(&a.v, &a.n, NULL);
	a.n--;
	if (run_criu(c->criu, a.v, true, cg_made ? &cg : NULL, log, err) < 0)
		goto out;
	long lp = 0;
	if (husk_read_file(pidfile, &ptext, NULL, err) < 0)
		goto out;
	ptext[strcspn(ptext, "\n")] = '\0';
	if (husk_parse_long(ptext, &lp) < 0 || lp <= 0) {
		husk_fail(err, EPROTO, "criu's pid file \"%s\": \"%s\"", pidfile, ptext);
		goto out;
	}
	pid = (pid_t)lp;
	if (husk_state_save_new(c->id, dir, pid, o->bundle, spec, &cg, cg_made, err) < 0)
		goto out;
	if (o->pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
		if (husk_write_file_atomic(o->pid_file, buf, (size_t)n, 0644, err) < 0) {
			husk_error_wrap(err, "--pid-file");
			goto out;
		}
	}
	*ret_pid = pid;
	r = 0;
out:
	if (r < 0)
		husk_error_wrap(err, "restore container \"%s\"", c->id);
	/* the restored tree keeps its own mounts: ours goes either way */
	if (mounted)
		umount2(criu_root, MNT_DETACH);
	if (criu_root)
		rmdir(criu_root);
	if (r < 0) {
		if (pid > 0)
			kill(pid, SIGKILL);
		if (cg_made) {
			husk_cgroup_kill_all(&cg, SIGKILL, NULL);
			husk_cgroup_destroy(&cg, NULL);
		}
		if (dir)
			husk_state_dir_remove(dir, NULL);
	}
	argv_free(&a);
	husk_cgroup_release(&cg);
	husk_spec_free(spec);
	free(dir);
	return r;
}

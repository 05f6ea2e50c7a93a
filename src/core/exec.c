/* husk-oci exec: a new process in a running container.  It joins the
 * container's cgroup and every namespace of its init, then ends like init
 * does: limits, user, capabilities, seccomp, execve. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cgroup.h"
#include "fault.h"
#include "husk.h"
#include "intelrdt.h"
#include "mempolicy.h"
#include "process.h"
#include "seccomp.h"
#include "spec.h"
#include "state.h"
#include "sync.h"
#include "util.h"

static const char *ns_proc_name(enum husk_ns_type t)
{
	static const char *n[HUSK_NS_COUNT] = {
		[HUSK_NS_PID] = "pid",	     [HUSK_NS_NET] = "net",  [HUSK_NS_MNT] = "mnt",
		[HUSK_NS_IPC] = "ipc",	     [HUSK_NS_UTS] = "uts",  [HUSK_NS_USER] = "user",
		[HUSK_NS_CGROUP] = "cgroup", [HUSK_NS_TIME] = "time"};
	return n[t];
}

/* The process to run: --process as given, or the container's own process
 * with the command line's changes. */
static json_t *build_process(const struct husk_exec_opts *o, json_t *config, husk_error **err)
{
	if (o->process_json) {
		json_error_t je;
		json_t *p = json_loads(o->process_json, 0, &je);
		if (!p)
			husk_fail(err, 0, "--process: line %d: %s", je.line, je.text);
		return p;
	}
	json_t *p = json_deep_copy(json_object_get(config, "process"));
	if (!p)
		p = json_object();
	json_t *args = json_array();
	for (char **a = o->args; a && *a; a++)
		json_array_append_new(args, json_string(*a));
	json_object_set_new(p, "args", args);
	json_object_set_new(p, "terminal", json_boolean(o->tty));
	json_object_del(p, "consoleSize");
	if (o->env && *o->env) {
		json_t *env = json_object_get(p, "env");
		if (!json_is_array(env)) {
			env = json_array();
			json_object_set_new(p, "env", env);
		}
		/* -e NAME=VALUE replaces NAME from process.env: with both,
		 * getenv would find the config's first */
		for (char **e = o->env; *e; e++) {
			size_t l = strcspn(*e, "=");
			for (size_t i = json_array_size(env); i-- > 0;) {
				const char *old = json_string_value(json_array_get(env, i));
				if (old && strncmp(old, *e, l) == 0 && old[l] == '=')
					json_array_remove(env, i);
			}
			json_array_append_new(env, json_string(*e));
		}
	}
	if (o->cwd)
		json_object_set_new(p, "cwd", json_string(o->cwd));
	if (o->user) {
		long uid = 0, gid = 0;
		cleanup_free char *u = strdup(o->user);
		char *colon = strchr(u, ':');
		if (colon)
			*colon = '\0';
		if (husk_parse_long(u, &uid) < 0 || uid < 0 ||
		    (colon && (husk_parse_long(colon + 1, &gid) < 0 || gid < 0))) {
			husk_fail(err, 0, "--user \"%s\": expected uid[:gid] as numbers", o->user);
			json_decref(p);
			return NULL;
		}
		json_object_set_new(
			p, "user",
			json_pack("{s:I,s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid));
	}
	if (o->caps && *o->caps) {
		json_t *caps = json_object_get(p, "capabilities");
		if (!json_is_object(caps)) {
			caps = json_object();
			json_object_set_new(p, "capabilities", caps);
		}
		static const char *sets[] = {"bounding", "effective", "permitted"};
		for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
			json_t *arr = json_object_get(caps, sets[i]);
			if (!json_is_array(arr)) {
				arr = json_array();
				json_object_set_new(caps, sets[i], arr);
			}
			for (char **c = o->caps; *c; c++)
				json_array_append_new(arr, json_string(*c));
		}
	}
	if (o->no_new_privs)
		json_object_set_new(p, "noNewPrivileges", json_true());
	if (o->additional_gids) {
		json_t *user = json_object_get(p, "user");
		if (!json_is_object(user)) {
			user = json_pack("{s:i,s:i}", "uid", 0, "gid", 0);
			json_object_set_new(p, "user", user);
		}
		json_t *gids = json_array();
		cleanup_free char *copy = strdup(o->additional_gids);
		char *save = NULL;
		for (char *g = strtok_r(copy, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
			long v;
			if (husk_parse_long(g, &v) < 0 || v < 0) {
				json_decref(gids);
				json_decref(p);
				husk_fail(err, 0, "--additional-gids \"%s\": expected numbers",
					  o->additional_gids);
				return NULL;
			}
			json_array_append_new(gids, json_integer(v));
		}
		json_object_set_new(user, "additionalGids", gids);
	}
	if (o->apparmor)
		json_object_set_new(p, "apparmorProfile", json_string(o->apparmor));
	if (o->process_label)
		json_object_set_new(p, "selinuxLabel", json_string(o->process_label));
	return p;
}

/* exec --cgroup [CTRL[,CTRL...]:]PATH (runc's flag): the process joins
 * PATH below the container's cgroup, in the hierarchies of the controllers
 * named, or in every one; the cgroup must exist.  ret borrows all but the
 * paths from cg. */
static int sub_cgroup(const struct husk_cgroup *cg, char **specs, struct husk_cgroup *ret,
		      husk_error **err)
{
	ret->dirs = calloc(cg->n, sizeof(*ret->dirs));
	ret->n = cg->n;
	for (size_t i = 0; i < cg->n; i++) {
		ret->dirs[i] = cg->dirs[i];
		ret->dirs[i].path = strdup(cg->dirs[i].path);
	}
	for (char **s = specs; *s; s++) {
		const char *colon = strchr(*s, ':');
		const char *path = colon ? colon + 1 : *s;
		while (*path == '/')
			path++;
		cleanup_free char *ctrls = colon ? strndup(*s, (size_t)(colon - *s)) : NULL;
		if (!*path || strcmp(path, "..") == 0 || strncmp(path, "../", 3) == 0 ||
		    strstr(path, "/../") ||
		    (strlen(path) >= 3 && !strcmp(path + strlen(path) - 3, "/..")))
			return husk_fail(err, EINVAL,
					 "exec --cgroup \"%s\": expected a path below the "
					 "container's cgroup",
					 *s);
		bool matched = false;
		for (size_t i = 0; i < cg->n; i++) {
			struct husk_cgroup_dir *d = &ret->dirs[i];
			bool want = !ctrls;
			cleanup_free char *copy = ctrls ? strdup(ctrls) : NULL;
			char *save = NULL;
			for (char *c = copy ? strtok_r(copy, ",", &save) : NULL; c && !want;
			     c = strtok_r(NULL, ",", &save)) {
				cleanup_free char *have = strdup(d->controllers);
				char *save2 = NULL;
				for (char *h = strtok_r(have, ",", &save2); h;
				     h = strtok_r(NULL, ",", &save2))
					if (strcmp(h, c) == 0 ||
					    (d->v2 && strcmp(c, "unified") == 0))
						want = true;
			}
			if (!want)
				continue;
			matched = true;
			char *p = husk_strdup_printf("%s/%s", cg->dirs[i].path, path);
			struct stat sb;
			if (stat(p, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
				int e = errno ? errno : ENOTDIR;
				free(p);
				return husk_fail(err, e, "exec --cgroup \"%s\": cgroup \"%s/%s\"",
						 *s, cg->dirs[i].rel, path);
			}
			free(d->path);
			d->path = p;
		}
		if (!matched)
			return husk_fail(err, ENOENT,
					 "exec --cgroup \"%s\": the container has no cgroup of "
					 "controller \"%s\"",
					 *s, ctrls);
	}
	return 0;
}

static void sub_cgroup_release(struct husk_cgroup *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->dirs[i].path);
	free(c->dirs);
	c->dirs = NULL;
	c->n = 0;
}

struct exec_child {
	int sock;
	int ns_fds[HUSK_NS_COUNT];
	struct husk_cgroup_join *join;
	struct husk_process *proc;
	const struct husk_mempolicy *mempolicy;
	struct husk_seccomp *seccomp;
	int preserve_fds;
	int root_fd; /* no mount namespace: the init's root, to chroot into; or -1 */
	struct husk_tracer tr;
};

/* process.execCPUAffinity.final, right after the move into the
 * container's cgroup (which may have reset the affinity to its cpuset).
 * With no execCPUAffinity at all, every CPU, as runc does: the process
 * should not keep the affinity the runtime was started with (the kernel
 * narrows the mask to the cgroup's cpuset). */
static int set_final_affinity(const struct husk_process *p, husk_error **err)
{
	if (p->has_exec_cpu_final) {
		if (sched_setaffinity(0, sizeof(p->exec_cpu_final.bits),
				      (const cpu_set_t *)p->exec_cpu_final.bits) < 0)
			return husk_fail(err, errno,
					 "process.execCPUAffinity.final: sched_setaffinity");
		return 0;
	}
	if (!p->has_exec_cpu_initial) {
		struct husk_cpu_mask all;
		memset(&all, 0xff, sizeof(all));
		sched_setaffinity(0, sizeof(all.bits), (const cpu_set_t *)all.bits);
	}
	return 0;
}

static void exec_child_main(struct exec_child *c)
{
	husk_error *err = NULL;
	bool exec_failed = false;
	struct husk_sync_msg m;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* until execve we are the runtime's binary inside the container: make
	 * /proc/self/exe and our memory unreachable to it (CVE-2019-5736) */
	prctl(PR_SET_DUMPABLE, 0);
	if (husk_sync_recv(c->sock, &m) <= 0 || m.type != SYNC_GO) {
		husk_fail(&err, EPIPE, "wait for the runtime");
		goto fail;
	}
	if (husk_cgroup_join_self(c->join, &err) < 0)
		goto fail;
	if (set_final_affinity(c->proc, &err) < 0)
		goto fail;
	static const enum husk_ns_type order[] = {HUSK_NS_USER, HUSK_NS_IPC,	HUSK_NS_UTS,
						  HUSK_NS_NET,	HUSK_NS_CGROUP, HUSK_NS_MNT};
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		enum husk_ns_type t = order[i];
		if (c->ns_fds[t] < 0)
			continue;
		if (setns(c->ns_fds[t], husk_ns_clone_flag(t)) < 0) {
			husk_fail(&err, errno, "join the container's %s namespace",
				  husk_ns_name(t));
			goto fail;
		}
		close(c->ns_fds[t]);
		if (t == HUSK_NS_USER && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
			husk_fail(&err, errno, "become root in the container's user namespace");
			goto fail;
		}
	}
	/* Only now, with the container's root and cwd, enter its pid (and
	 * time) namespace, and only for a child: had we been visible there
	 * earlier, a container process with CAP_SYS_PTRACE could have walked
	 * /proc/PID/root into the host's root (runc's nsexec works this way
	 * too).  CLONE_PARENT makes the runtime its parent, to wait for it. */
	if (c->root_fd >= 0 && (fchdir(c->root_fd) < 0 || chroot(".") < 0)) {
		husk_fail(&err, errno, "chroot into the container's root");
		goto fail;
	}
	if (chdir("/") < 0) {
		husk_fail(&err, errno, "chdir / in the container");
		goto fail;
	}
	for (enum husk_ns_type t = HUSK_NS_PID; t <= HUSK_NS_TIME; t++) {
		if ((t != HUSK_NS_PID && t != HUSK_NS_TIME) || c->ns_fds[t] < 0)
			continue;
		if (setns(c->ns_fds[t], husk_ns_clone_flag(t)) < 0) {
			husk_fail(&err, errno, "join the container's %s namespace",
				  husk_ns_name(t));
			goto fail;
		}
		close(c->ns_fds[t]);
	}
	struct clone_args ca = {.flags = CLONE_PARENT}; /* exit_signal: the parent's */
	pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0) {
		husk_fail(&err, errno, "clone3 into the container's pid namespace");
		goto fail;
	}
	if (pid > 0) {
		husk_sync_send(c->sock, SYNC_PID, (int32_t)pid, 0, NULL, 0, -1);
		_exit(0);
	}
	/* the process that will exec: its parent is the runtime */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* a process group of its own, as runc makes it: the runtime's group
	 * is outside the container's pid namespace (getpgrp() would say 0);
	 * with a tty, setsid below does it */
	if (!c->proc->terminal)
		setpgid(0, 0);
	HUSK_TRACE(&c->tr, "join cgroup + setns into the container's namespaces, fork");
	if (husk_process_limits(c->proc, &err) < 0)
		goto fail;
	if (husk_mempolicy_apply(c->mempolicy, &err) < 0)
		goto fail;
	char *warn = NULL;
	if (husk_process_lsm(c->proc, &warn, &err) < 0)
		goto fail;
	if (warn)
		husk_sync_send(c->sock, SYNC_TRACE, -1, 0, warn, strlen(warn), -1);
	if (c->proc->terminal) {
		int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		int unlock = 0;
		if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0) {
			husk_fail(&err, errno, "open /dev/ptmx in the container");
			goto fail;
		}
		int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
		if (slave < 0) {
			husk_fail(&err, errno, "open pty slave");
			goto fail;
		}
		if (c->proc->has_console_size) {
			struct winsize ws = {.ws_row = c->proc->console_height,
					     .ws_col = c->proc->console_width};
			ioctl(slave, TIOCSWINSZ, &ws);
		}
		husk_sync_send(c->sock, SYNC_PTY, 0, 0, NULL, 0, master);
		close(master);
		if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) {
			husk_fail(&err, errno, "make the pty the controlling terminal");
			goto fail;
		}
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2)
			close(slave);
	}
	char *exe = NULL;
	if (husk_find_executable(c->proc, &exe, &err) < 0) {
		exec_failed = true;
		goto fail;
	}
	struct husk_finalize f = {.proc = c->proc,
				  .exe = exe,
				  .seccomp = c->seccomp,
				  .seccomp_agent_fd = -1,
				  .preserve_fds = c->preserve_fds,
				  .tr = &c->tr};
	prctl(PR_SET_PDEATHSIG, 0);
	husk_process_finalize_and_exec(&f, &err);
	exec_failed = f.exec_failed;
fail:
	/* SYNC_EXEC_FAILED only when the executable is what failed, so that
	 * the caller can tell a missing command from a failed setns */
	husk_sync_send(c->sock, exec_failed ? SYNC_EXEC_FAILED : SYNC_ERROR, err ? err->errnum : 0,
		       0, err ? err->msg : "exec failed", err ? strlen(err->msg) : 11, -1);
	_exit(127);
}

int husk_exec(const struct husk_exec_opts *o, struct husk_exec_result *ret, husk_error **err)
{
	struct husk_state st;
	struct husk_spec *spec = NULL;
	json_t *pj = NULL;
	struct husk_process proc = {0};
	bool have_proc = false;
	struct husk_seccomp *sc = NULL;
	int ns_fds[HUSK_NS_COUNT];
	struct husk_cgroup_join join = {.v2_dirfd = -1};
	struct husk_cgroup subcg = {0};
	cleanup_close int root_fd = -1;
	int sock[2] = {-1, -1}, master = -1;
	pid_t pid = -1;
	int r = -1;
	char *cfg = NULL;
	cleanup_free char *rdt_root = NULL, *rdt_tasks = NULL;
	cleanup_close int pidfd_sock = -1;
	struct husk_tracer tr = {.fn = o->trace, .ud = o->ud, .sock = -1};
	for (int i = 0; i < HUSK_NS_COUNT; i++)
		ns_fds[i] = -1;
	ret->pid = -1;
	ret->pty_master = -1;
	ret->exec_failed = false;

	if (husk_state_load_existing(o->state_root, o->id, &st, err) < 0)
		return -1;
	enum husk_status s = husk_state_status(&st);
	if (s != HUSK_RUNNING && s != HUSK_CREATED) {
		husk_fail(err, 0, "cannot exec in container \"%s\": it is %s", o->id,
			  husk_status_name(s));
		goto out;
	}
	/* the exec'd process gets the container's filter */
	if (husk_state_config_seccomp(&st, err) < 0)
		goto out;
	cfg = json_dumps(st.config, JSON_COMPACT);
	if (!cfg || husk_spec_parse(cfg, st.bundle, &spec, err) < 0)
		goto out;
	pj = build_process(o, st.config, err);
	if (!pj)
		goto out;
	if (husk_process_parse(pj, &proc, err) < 0) {
		husk_error_wrap(err, "exec");
		goto out;
	}
	have_proc = true;
	if (proc.caps.ambient) {
		cleanup_free char *w = husk_caps_drop_unraisable(&proc.caps);
		if (w && o->warn)
			o->warn(o->ud, w);
	}
	/* execCPUAffinity of --process, else the config's (runc's order) */
	if (!proc.has_exec_cpu_initial && !proc.has_exec_cpu_final) {
		proc.has_exec_cpu_initial = spec->process.has_exec_cpu_initial;
		proc.has_exec_cpu_final = spec->process.has_exec_cpu_final;
		proc.exec_cpu_initial = spec->process.exec_cpu_initial;
		proc.exec_cpu_final = spec->process.exec_cpu_final;
	}
	if (spec->intelrdt.set) {
		rdt_root = husk_resctrl_mount();
		if (rdt_root)
			rdt_tasks = husk_intelrdt_tasks(rdt_root, &spec->intelrdt, o->id);
	}
	if (proc.terminal && o->detach && !o->console_socket) {
		husk_fail(err, 0, "exec --tty --detach needs --console-socket");
		goto out;
	}
	for (int t = 0; t < HUSK_NS_COUNT; t++) {
		if (!spec->ns[t].enabled)
			continue;
		cleanup_free char *p =
			husk_strdup_printf("/proc/%d/ns/%s", (int)st.pid, ns_proc_name(t));
		ns_fds[t] = open(p, O_RDONLY | O_CLOEXEC);
		if (ns_fds[t] < 0) {
			husk_fail(err, errno, "open \"%s\"", p);
			goto out;
		}
	}
	if (spec->seccomp) {
		cleanup_free char *cache = husk_seccomp_cache_dir();
		if (husk_seccomp_compile(spec->seccomp, cache, &sc, err) < 0)
			goto out;
	}
	if (!spec->ns[HUSK_NS_MNT].enabled) {
		/* the container shares our mount namespace, chrooted (create) */
		cleanup_free char *p = husk_strdup_printf("/proc/%d/root", (int)st.pid);
		root_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root_fd < 0) {
			husk_fail(err, errno, "open \"%s\"", p);
			goto out;
		}
	}
	if (o->cgroups && *o->cgroups) {
		if (!st.has_cgroup || !st.cgroup.n) {
			husk_fail(err, 0, "exec --cgroup: container \"%s\" has no cgroup", o->id);
			goto out;
		}
		if (sub_cgroup(&st.cgroup, o->cgroups, &subcg, err) < 0)
			goto out;
	}
	if (st.has_cgroup && st.cgroup.n &&
	    husk_cgroup_join_prepare(subcg.n ? &subcg : &st.cgroup, &join, err) < 0)
		goto out;
	if (o->pidfd_socket) {
		pidfd_sock = husk_connect_unix(o->pidfd_socket, err);
		if (pidfd_sock < 0) {
			husk_error_wrap(err, "--pidfd-socket");
			goto out;
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) < 0) {
		husk_fail(err, errno, "socketpair");
		goto out;
	}
	husk_trace_begin(&tr);
	struct clone_args ca = {.exit_signal = SIGCHLD};
	if (join.v2_dirfd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)join.v2_dirfd;
	}
	/* execCPUAffinity.initial: where the process runs until it is in the
	 * container's cgroup; the child inherits it from us, and ours comes
	 * back after the fork */
	struct husk_cpu_mask own;
	bool restore_own = false;
	if (proc.has_exec_cpu_initial) {
		if (sched_getaffinity(0, sizeof(own.bits), (cpu_set_t *)own.bits) == 0)
			restore_own = true;
		if (sched_setaffinity(0, sizeof(proc.exec_cpu_initial.bits),
				      (const cpu_set_t *)proc.exec_cpu_initial.bits) < 0) {
			husk_fail(err, errno, "process.execCPUAffinity.initial: sched_setaffinity");
			goto out;
		}
	}
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	int clone_errno = errno;
	if (restore_own && pid != 0)
		sched_setaffinity(0, sizeof(own.bits), (const cpu_set_t *)own.bits);
	if (pid < 0) {
		husk_fail(err, clone_errno, "clone3");
		goto out;
	}
	if (pid == 0) {
		close(sock[0]);
		struct exec_child c = {.sock = sock[1],
				       .join = &join,
				       .proc = &proc,
				       .mempolicy = &spec->mempolicy,
				       .seccomp = sc,
				       .preserve_fds = o->preserve_fds,
				       .root_fd = root_fd,
				       .tr = {.sock = o->trace ? sock[1] : -1}};
		memcpy(c.ns_fds, ns_fds, sizeof(ns_fds));
		exec_child_main(&c);
		_exit(127);
	}
	close(sock[1]);
	sock[1] = -1;
	HUSK_TRACE(&tr, "clone3 pid %d to join the container", (int)pid);
	/* the container's resctrl group, before GO: its fork inherits it */
	if (rdt_tasks && husk_intelrdt_join(rdt_tasks, pid, err) < 0)
		goto out;
	HUSK_FAULT(oci_exec_fork);
	husk_sync_send(sock[0], SYNC_GO, (int32_t)pid, 0, NULL, 0, -1);
	pid_t joiner = pid, final = -1;
	pid = -1;
	for (;;) {
		struct husk_sync_msg m;
		int rr = husk_sync_recv(sock[0], &m);
		if (rr <= 0)
			break; /* close-on-exec: the exec happened */
		if (m.type == SYNC_TRACE) {
			if (m.errnum == -1 && o->warn)
				o->warn(o->ud, m.payload);
			else if (m.errnum != -1 && o->trace)
				o->trace(o->ud, m.payload, m.ns);
			continue;
		}
		if (m.type == SYNC_PTY) {
			if (husk_pty_to_caller(o->console_socket, m.fd, &master, err) < 0)
				goto out;
			continue;
		}
		if (m.type == SYNC_PID) {
			final = (pid_t)m.errnum;
			continue;
		}
		if (m.type == SYNC_EXEC_FAILED || m.type == SYNC_ERROR) {
			husk_fail(err, 0, "%s", m.payload);
			if (m.errnum && err && *err)
				(*err)->errnum = m.errnum;
			ret->exec_failed = m.type == SYNC_EXEC_FAILED;
			waitpid(joiner, NULL, 0);
			if (final > 0)
				waitpid(final, NULL, 0);
			goto out;
		}
	}
	/* the joining process is done once it has forked */
	int jstatus = 0;
	while (waitpid(joiner, &jstatus, 0) < 0 && errno == EINTR)
		;
	if (final <= 0) {
		husk_fail(err, 0, "exec: the process joining the container exited (status %d)",
			  WIFEXITED(jstatus) ? WEXITSTATUS(jstatus) : 128 + WTERMSIG(jstatus));
		goto out;
	}
	pid = final;
	if (o->pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
		if (husk_write_file_atomic(o->pid_file, buf, (size_t)n, 0644, err) < 0) {
			husk_error_wrap(err, "--pid-file");
			goto out;
		}
	}
	if (pidfd_sock >= 0 && husk_send_pidfd(steal_fd(pidfd_sock), pid, "setns", err) < 0)
		goto out;
	ret->pid = pid;
	ret->pty_master = master;
	master = -1;
	pid = -1;
	r = 0;
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (master >= 0)
		close(master);
	for (int i = 0; i < HUSK_NS_COUNT; i++)
		if (ns_fds[i] >= 0)
			close(ns_fds[i]);
	husk_cgroup_join_release(&join);
	sub_cgroup_release(&subcg);
	for (int i = 0; i < 2; i++)
		if (sock[i] >= 0)
			close(sock[i]);
	if (have_proc)
		husk_process_release(&proc);
	json_decref(pj);
	free(cfg);
	husk_seccomp_free(sc);
	husk_spec_free(spec);
	husk_state_release(&st);
	return r;
}

/* The create sequence, as a story.
 *
 * The runtime (parent) makes the state directory and the cgroup, then
 * clones the container's init (child) into its new namespaces.  The two
 * talk over a SOCK_SEQPACKET pair (sync.h).  The parent writes the id maps
 * and runs the runtime-namespace hooks; the child joins its cgroup, builds
 * the mounts, pivot_roots, and then waits on the exec fifo until `start`
 * opens it (the create/start split of the OCI spec).  After start the child
 * drops to the configured user, capabilities and seccomp filter and execs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/sched.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "fault.h"
#include "hooks.h"
#include "husk.h"
#include "intelrdt.h"
#include "mempolicy.h"
#include "netdev.h"
#include "process.h"
#include "rootfs.h"
#include "seccomp.h"
#include "spec.h"
#include "state.h"
#include "sync.h"
#include "procfs.h"
#include "util.h"

struct child_ctx {
	const struct husk_create_opts *o;
	struct husk_spec *spec;
	int sock;
	struct husk_cgroup_join *join;
	int statedir_fd;
	int ns_fds[HUSK_NS_COUNT];
	struct husk_cgroup *cgroup;
	struct husk_seccomp *seccomp;
	int seccomp_agent_fd;
	struct husk_tracer tr;
	int preserve_fds;
	char **extra_env;
	bool self_map;	/* rootless: write our own id maps */
	pid_t host_pid; /* our pid as the host sees it (from GO) */
	struct husk_rootfs_ctx rc;
	int fifo_fd; /* exec fifo, held open until execve: `start` waits for EOF */
};

static char *state_json_for_hooks(const char *id, pid_t pid, const char *status, const char *bundle,
				  json_t *annotations);

static pid_t sys_clone3(struct clone_args *a)
{
	return (pid_t)syscall(SYS_clone3, a, sizeof(*a));
}

/* ------------------------------------------------------------------ */
/* The child: runs in the new namespaces, reports failures to the parent */

/* type: SYNC_ERROR, or SYNC_EXEC_FAILED when the process's executable is
 * what failed (not found, not executable), which callers tell apart */
static void child_fail_as(struct child_ctx *c, uint32_t type, husk_error *e)
{
	husk_sync_send(c->sock, type, e ? e->errnum : 0, 0, e ? e->msg : "unknown error",
		       e ? strlen(e->msg) : 13, -1);
	_exit(1);
}

static void child_fail(struct child_ctx *c, husk_error *e)
{
	child_fail_as(c, SYNC_ERROR, e);
}

static int wait_for(struct child_ctx *c, uint32_t type, struct husk_sync_msg *m, husk_error **err)
{
	int r = husk_sync_recv(c->sock, m);
	if (r <= 0)
		return husk_fail(err, r < 0 ? -r : EPIPE, "wait for the runtime");
	if (m->type != type)
		return husk_fail(err, EPROTO, "wait for the runtime: message %u", m->type);
	return 0;
}

static int join_ns(struct child_ctx *c, enum husk_ns_type t, husk_error **err)
{
	if (c->ns_fds[t] < 0)
		return 0;
	husk_trace_begin(&c->tr);
	if (setns(c->ns_fds[t], husk_ns_clone_flag(t)) < 0)
		return husk_fail(err, errno, "join %s namespace \"%s\"", husk_ns_name(t),
				 c->spec->ns[t].path);
	close(c->ns_fds[t]);
	c->ns_fds[t] = -1;
	HUSK_TRACE(&c->tr, "setns %s (%s)", husk_ns_name(t), c->spec->ns[t].path);
	return 0;
}

/* A new network namespace comes with its loopback down, and a container
 * expects 127.0.0.1 to answer (runc and crun bring it up too).  Setting
 * IFF_UP is all it takes: the kernel adds 127.0.0.1 and ::1 itself when lo
 * goes up.  An ioctl on a socket made here acts on the netns we are in. */
static int loopback_up(struct child_ctx *c, husk_error **err)
{
	husk_trace_begin(&c->tr);
	cleanup_close int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return husk_fail(err, errno, "bring up \"lo\": socket");
	struct ifreq ifr = {0};
	memcpy(ifr.ifr_name, "lo", sizeof("lo"));
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return husk_fail(err, errno, "bring up \"lo\": get its flags");
	/* the other flags stay as they are: SIOCSIFFLAGS sets them all */
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return husk_fail(err, errno, "bring up \"lo\"");
	HUSK_TRACE(&c->tr, "ioctl(SIOCSIFFLAGS, IFF_UP) lo in the new network namespace");
	return 0;
}

static int setup_time_ns(struct child_ctx *c, husk_error **err)
{
	/* offsets can only be written before any process is in the new time
	 * namespace: unshare (for our children), write, then enter it */
	husk_trace_begin(&c->tr);
	if (unshare(CLONE_NEWTIME) < 0)
		return husk_fail(err, errno, "unshare time namespace");
	json_t *offs = c->spec->time_offsets;
	const char *clk;
	json_t *v;
	json_object_foreach (offs, clk, v) {
		const char *name = strcmp(clk, "monotonic") == 0  ? "monotonic"
				   : strcmp(clk, "boottime") == 0 ? "boottime"
								  : NULL;
		if (!name)
			return husk_fail(err, 0, "linux.timeOffsets: unknown clock \"%s\"", clk);
		char line[128];
		int n = snprintf(line, sizeof(line), "%s %lld %lld\n", name,
				 (long long)json_integer_value(json_object_get(v, "secs")),
				 (long long)json_integer_value(json_object_get(v, "nanosecs")));
		if (husk_proc_write("self/timens_offsets", line, (size_t)n, err) < 0)
			return husk_error_wrap(err, "linux.timeOffsets.%s", clk);
	}
	cleanup_close int fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWTIME) < 0)
		return husk_fail(err, errno, "enter the new time namespace");
	HUSK_TRACE(&c->tr, "unshare(CLONE_NEWTIME) + timens_offsets");
	return 0;
}

static int setup_terminal(struct child_ctx *c, husk_error **err)
{
	const struct husk_process *p = &c->spec->process;
	/* the pty comes from the container's own devpts, so that its slave
	 * is a path the container can see */
	cleanup_close int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return husk_fail(err, errno, "open /dev/ptmx in the container");
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return husk_fail(err, errno, "unlock pty");
	cleanup_close int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		return husk_fail(err, errno, "open pty slave");
	if (p->has_console_size) {
		struct winsize ws = {.ws_row = p->console_height, .ws_col = p->console_width};
		ioctl(slave, TIOCSWINSZ, &ws);
	}
	if (husk_rootfs_console(slave, err) < 0)
		return -1;
	int r = husk_sync_send(c->sock, SYNC_PTY, 0, 0, NULL, 0, master);
	if (r < 0)
		return husk_fail(err, -r, "send the pty to the runtime");
	if (setsid() < 0)
		return husk_fail(err, errno, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return husk_fail(err, errno, "make the pty the controlling terminal");
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return husk_fail(err, errno, "dup2 pty");
	return 0;
}

/* Rootless: only the namespace's own process may map root to the caller's
 * uid without CAP_SETFCAP over the parent namespace (user_namespaces(7)),
 * and gid_map needs setgroups denied first. */
static int write_own_maps(const struct husk_spec *s, husk_error **err)
{
	/* older kernels have no setgroups file: nothing to deny there */
	husk_proc_write("self/setgroups", "deny", 4, NULL);
	/* rootless: only your own uid and gid can be mapped, one id each */
	return husk_idmaps_write("/proc/self", "linux.", s->uid_maps, s->n_uid_maps, s->gid_maps,
				 s->n_gid_maps, err);
}

static int child_setup(struct child_ctx *c, husk_error **err)
{
	struct husk_spec *s = c->spec;
	struct husk_sync_msg msg;
	bool userns = s->ns[HUSK_NS_USER].enabled;

	/* the parent writes our id maps (and nothing else may happen as an
	 * unmapped user), then sends GO with our pid as the host sees it */
	if (wait_for(c, SYNC_GO, &msg, err) < 0)
		return -1;
	pid_t host_pid = (pid_t)msg.errnum;
	c->host_pid = host_pid;
	if (c->self_map && write_own_maps(s, err) < 0)
		return -1;
	if (userns && s->ns[HUSK_NS_USER].path) {
		if (join_ns(c, HUSK_NS_USER, err) < 0)
			return -1;
		/* namespaces created after joining a user namespace belong to it */
		int flags = 0;
		static const enum husk_ns_type later[] = {HUSK_NS_MNT, HUSK_NS_UTS, HUSK_NS_IPC,
							  HUSK_NS_NET};
		for (size_t i = 0; i < ARRAY_SIZE(later); i++)
			if (s->ns[later[i]].enabled && !s->ns[later[i]].path)
				flags |= husk_ns_clone_flag(later[i]);
		if (flags && unshare(flags) < 0)
			return husk_fail(err, errno,
					 "unshare namespaces in the joined user namespace");
	}
	if (userns) {
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			return husk_fail(
				err, errno,
				"become root in the user namespace (is uid/gid 0 mapped?)");
	}
	static const enum husk_ns_type order[] = {HUSK_NS_IPC, HUSK_NS_UTS, HUSK_NS_NET,
						  HUSK_NS_MNT};
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		if (join_ns(c, order[i], err) < 0)
			return -1;
	/* in our final network namespace now; one joined by path is its
	 * owner's to configure */
	if (s->ns[HUSK_NS_NET].enabled && !s->ns[HUSK_NS_NET].path && loopback_up(c, err) < 0)
		return -1;
	if (s->n_netdevs) {
		/* the runtime moves them from the host's namespace into ours */
		husk_trace_begin(&c->tr);
		husk_sync_send(c->sock, SYNC_NETDEVS, 0, 0, NULL, 0, -1);
		if (wait_for(c, SYNC_NETDEVS_DONE, &msg, err) < 0)
			return -1;
		HUSK_TRACE(&c->tr, "move %zu linux.netDevices in", s->n_netdevs);
	}

	/* the cgroup before the cgroup namespace, so that the namespace's
	 * root is the container's own cgroup */
	if (c->join->n_v1) {
		husk_trace_begin(&c->tr);
		if (husk_cgroup_join_self(c->join, err) < 0)
			return -1;
		HUSK_TRACE(&c->tr, "write 0 > tasks in %zu v1 hierarchies", c->join->n_v1);
	}
	if (s->ns[HUSK_NS_CGROUP].enabled) {
		if (s->ns[HUSK_NS_CGROUP].path) {
			if (join_ns(c, HUSK_NS_CGROUP, err) < 0)
				return -1;
		} else {
			husk_trace_begin(&c->tr);
			if (unshare(CLONE_NEWCGROUP) < 0)
				return husk_fail(err, errno, "unshare cgroup namespace");
			HUSK_TRACE(&c->tr, "unshare(CLONE_NEWCGROUP)");
		}
	}
	if (s->ns[HUSK_NS_TIME].enabled && !s->ns[HUSK_NS_TIME].path && setup_time_ns(c, err) < 0)
		return -1;

	if (s->has_process && (husk_process_limits(&s->process, err) < 0))
		return -1;
	if (husk_mempolicy_apply(&s->mempolicy, err) < 0)
		return -1;
	if (!c->o->no_new_keyring) {
		/* a fresh session keyring, so that keys are not shared with the
		 * host's session */
		cleanup_free char *name = husk_strdup_printf("_ses.%s", c->o->id);
		syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, name);
	}

	/* a seccomp agent lives at a host path: connect before pivot_root */
	if (c->seccomp && husk_seccomp_needs_listener(c->seccomp)) {
		c->seccomp_agent_fd =
			husk_connect_unix(husk_seccomp_listener_path(c->seccomp), err);
		if (c->seccomp_agent_fd < 0)
			return husk_error_wrap(err, "linux.seccomp.listenerPath");
	}

	struct husk_rootfs_ctx rc = {.spec = s,
				     .bundle = c->o->bundle,
				     .cgroup = c->cgroup,
				     .in_userns = userns,
				     .defer_proc = c->ns_fds[HUSK_NS_PID] >= 0 &&
						   s->ns[HUSK_NS_MNT].enabled,
				     .no_mntns = !s->ns[HUSK_NS_MNT].enabled,
				     .tr = &c->tr};
	if (husk_rootfs_prepare(&rc, err) < 0)
		return -1;

	if (s->hooks.n_prestart || s->hooks.n_create_runtime) {
		husk_sync_send(c->sock, SYNC_RUNTIME_HOOKS, 0, 0, NULL, 0, -1);
		if (wait_for(c, SYNC_HOOKS_DONE, &msg, err) < 0)
			return -1;
	}
	if (s->hooks.n_create_container) {
		cleanup_free char *st = state_json_for_hooks(c->o->id, host_pid, "creating",
							     c->o->bundle, s->annotations);
		husk_trace_begin(&c->tr);
		if (husk_hooks_run(s->hooks.create_container, s->hooks.n_create_container,
				   "createContainer", st, err) < 0)
			return -1;
		HUSK_TRACE(&c->tr, "run %zu createContainer hook(s)", s->hooks.n_create_container);
	}

	if (husk_rootfs_pivot(&rc, c->o->no_pivot, err) < 0)
		return -1;
	c->rc = rc;
	if (s->hostname) {
		husk_trace_begin(&c->tr);
		if (sethostname(s->hostname, strlen(s->hostname)) < 0)
			return husk_fail(err, errno, "hostname \"%s\"", s->hostname);
		HUSK_TRACE(&c->tr, "sethostname %s", s->hostname);
	}
	if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
		return husk_fail(err, errno, "domainname \"%s\"", s->domainname);
	if (s->has_personality && personality(s->personality) < 0)
		return husk_fail(err, errno, "linux.personality");
	return 0;
}

/* A pid namespace given by path is entered last, by a child: a process
 * there is visible to the namespace's other processes, and before
 * pivot_root its /proc/PID/root was the host's (reachable with
 * CAP_SYS_PTRACE).  The new child, born inside with the container's root,
 * becomes the container's init; CLONE_PARENT makes the runtime its parent.
 * Returns 0 in that child; the first process reports and exits. */
static int enter_joined_pid_ns(struct child_ctx *c, husk_error **err)
{
	if (c->ns_fds[HUSK_NS_PID] < 0 && c->ns_fds[HUSK_NS_TIME] < 0)
		return 0;
	for (enum husk_ns_type t = HUSK_NS_PID; t <= HUSK_NS_TIME; t++) {
		if ((t != HUSK_NS_PID && t != HUSK_NS_TIME) || c->ns_fds[t] < 0)
			continue;
		if (setns(c->ns_fds[t], husk_ns_clone_flag(t)) < 0)
			return husk_fail(err, errno, "join %s namespace \"%s\"", husk_ns_name(t),
					 c->spec->ns[t].path);
		close(c->ns_fds[t]);
		c->ns_fds[t] = -1;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_fail(err, errno, "pipe");
	struct clone_args ca = {.flags = CLONE_PARENT}; /* exit_signal: the parent's */
	pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0)
		return husk_fail(err, errno, "clone3 into the joined pid namespace");
	if (pid > 0) {
		close(p[0]);
		husk_write_all(p[1], &pid, sizeof(pid));
		husk_sync_send(c->sock, SYNC_PID, (int32_t)pid, 0, NULL, 0, -1);
		_exit(0);
	}
	close(p[1]);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pid_t me = 0;
	if (read(p[0], &me, sizeof(me)) != sizeof(me))
		return husk_fail(err, EPIPE, "learn our pid");
	close(p[0]);
	c->host_pid = me;
	return 0;
}

static int child_main(struct child_ctx *c)
{
	husk_error *err = NULL;
	struct husk_spec *s = c->spec;
	bool exec_failed = false;
	/* until the container is created, our death should follow the
	 * runtime's */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (child_setup(c, &err) < 0)
		child_fail(c, err);
	if (enter_joined_pid_ns(c, &err) < 0)
		child_fail(c, err);
	/* now in the container's pid namespace: mount proc if it waited for
	 * that, then the paths masked and made read-only inside it */
	if (c->rc.defer_proc && husk_rootfs_mount_deferred(&c->rc, &err) < 0)
		child_fail(c, err);
	if (husk_rootfs_finish(&c->rc, &err) < 0)
		child_fail(c, err);
	if (s->process.terminal) {
		husk_trace_begin(&c->tr);
		if (setup_terminal(c, &err) < 0)
			child_fail(c, err);
		HUSK_TRACE(&c->tr, "open /dev/pts/ptmx, pty as the controlling terminal");
	} else {
		/* a session of its own, as runc's init: the runtime's session
		 * is outside the container's pid namespace, and CRIU refuses
		 * to dump a tree whose session leader it cannot see */
		if (setsid() < 0) {
			husk_fail(&err, errno, "setsid");
			child_fail(c, err);
		}
		if (!c->rc.no_mntns && husk_rootfs_reopen_null(&err) < 0)
			child_fail(c, err);
	}
	cleanup_free char *exe = NULL;
	if (s->has_process && husk_find_executable(&s->process, &exe, &err) < 0)
		child_fail_as(c, SYNC_EXEC_FAILED, err);
	char *warn = NULL;
	if (s->has_process && husk_process_lsm(&s->process, &warn, &err) < 0)
		child_fail(c, err);
	if (warn)
		husk_sync_send(c->sock, SYNC_TRACE, -1, 0, warn, strlen(warn), -1);
	/* the fifo is opened only after CREATED (the open blocks until
	 * start): make sure now that it can be, so that create fails, not
	 * start */
	if (c->statedir_fd >= 0 && faccessat(c->statedir_fd, "exec.fifo", W_OK, 0) < 0) {
		husk_fail(&err, errno, "the exec fifo is not writable by the container's init");
		child_fail(c, err);
	}
	/* the runtime may exit once we say CREATED: stop following it */
	prctl(PR_SET_PDEATHSIG, 0);
	husk_sync_send(c->sock, SYNC_CREATED, 0, 0, NULL, 0, -1);

	struct husk_finalize f = {.proc = &s->process,
				  .exe = exe,
				  .seccomp = c->seccomp,
				  .seccomp_agent_fd = c->seccomp_agent_fd,
				  .preserve_fds = c->preserve_fds,
				  .extra_env = c->extra_env,
				  .tr = &c->tr};
	/* run: the runtime now writes the state and only then says start;
	 * meanwhile, the steps before the privilege drop, the filter too when
	 * it lets the wait for start and its answers through (runc loads it
	 * before its own wait), which takes them off the start's path (about
	 * 0.4 ms).  A failure is told after start, where it always was.  Not
	 * with startContainer hooks, which run before those steps, nor with a
	 * listener, whose agent is told after start. */
	husk_error *prep_err = NULL;
	bool prepared = false;
	if (c->statedir_fd < 0 && s->has_process && !s->hooks.n_start_container &&
	    !(c->seccomp && husk_seccomp_needs_listener(c->seccomp))) {
		static const int wait_calls[] = {SYS_recvmsg, SYS_sendmsg, SYS_read,
						 SYS_write,   SYS_close,   SYS_exit_group};
		f.seccomp_in_prepare = !c->seccomp || husk_seccomp_allows(c->seccomp, wait_calls,
									  ARRAY_SIZE(wait_calls));
		prepared = true;
		if (husk_process_prepare(&f, &prep_err) < 0)
			prepared = false;
	}

	if (c->statedir_fd >= 0) {
		/* blocks until `start` opens the fifo for reading; we keep it
		 * open (close-on-exec) so that `start` sees EOF exactly when the
		 * process has been executed, or our error text if it was not */
		c->fifo_fd = openat(c->statedir_fd, "exec.fifo", O_WRONLY | O_CLOEXEC);
		if (c->fifo_fd < 0) {
			husk_fail(&err, errno, "open exec fifo");
			goto late_fail;
		}
		close(c->statedir_fd);
		c->statedir_fd = -1;
		if (write(c->fifo_fd, "0", 1) != 1) {
			husk_fail(&err, errno, "write exec fifo");
			goto late_fail;
		}
	} else {
		struct husk_sync_msg m;
		if (wait_for(c, SYNC_START, &m, &err) < 0)
			goto late_fail;
	}
	if (prep_err) {
		err = prep_err;
		goto late_fail;
	}
	if (!s->has_process) {
		/* `start` refuses a config without one before it gets here */
		husk_fail(&err, 0, "process: missing (nothing to start)");
		goto late_fail;
	}
	if (s->hooks.n_start_container) {
		cleanup_free char *st = state_json_for_hooks(c->o->id, c->host_pid, "created",
							     c->o->bundle, s->annotations);
		if (husk_hooks_run(s->hooks.start_container, s->hooks.n_start_container,
				   "startContainer", st, &err) < 0)
			goto late_fail;
	}
	cleanup_free char *sstate = NULL;
	if (c->seccomp && husk_seccomp_needs_listener(c->seccomp)) {
		const char *md = husk_seccomp_listener_metadata(c->seccomp);
		json_t *state = json_pack("{s:s,s:s,s:s,s:i,s:s}", "ociVersion", "1.3.0", "id",
					  c->o->id, "status", "creating", "pid", (int)c->host_pid,
					  "bundle", c->o->bundle);
		if (s->annotations && json_object_size(s->annotations))
			json_object_set(state, "annotations", s->annotations);
		json_t *j = json_pack("{s:s,s:[s],s:i,s:s,s:o}", "ociVersion", "1.3.0", "fds",
				      "seccompFd", "pid", (int)c->host_pid, "metadata",
				      md ? md : "", "state", state);
		sstate = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		f.seccomp_state_json = sstate;
	}
	if (prepared)
		husk_process_finish_and_exec(&f, &err);
	else
		husk_process_finalize_and_exec(&f, &err);
	exec_failed = f.exec_failed;
late_fail:
	/* past CREATED, `run` listens on the socket and `start` on the fifo */
	if (c->fifo_fd < 0)
		husk_sync_send(c->sock, exec_failed ? SYNC_EXEC_FAILED : SYNC_ERROR,
			       err ? err->errnum : 0, 0, err ? err->msg : "exec failed",
			       err ? strlen(err->msg) : 11, -1);
	if (c->fifo_fd >= 0 && err)
		husk_write_all(c->fifo_fd, err->msg, strlen(err->msg));
	_exit(127);
}

/* ------------------------------------------------------------------ */
/* The parent */

static char *state_json_for_hooks(const char *id, pid_t pid, const char *status, const char *bundle,
				  json_t *annotations)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:s}", "ociVersion", "1.3.0", "id", id, "status",
			      status, "pid", (int)pid, "bundle", bundle);
	if (annotations && json_object_size(annotations))
		json_object_set(j, "annotations", annotations);
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

/* A cpuset cgroup of its own: unless the caller asked for one only when
 * the config sets cpus or mems (cpuset_when_asked, cgroup.h says why) */
static bool wants_cpuset(const struct husk_create_opts *o, const struct husk_spec *spec)
{
	if (!o->cpuset_when_asked)
		return true;
	json_t *cpu = json_object_get(spec->resources, "cpu");
	const char *cpus = json_string_value(json_object_get(cpu, "cpus"));
	const char *mems = json_string_value(json_object_get(cpu, "mems"));
	return (cpus && *cpus) || (mems && *mems);
}

static void kill_and_reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static int write_pid_file(const char *path, pid_t pid, husk_error **err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	return husk_write_file_atomic(path, buf, (size_t)n, 0644, err) < 0
		       ? husk_error_wrap(err, "--pid-file")
		       : 0;
}

static uint32_t host_id_of(const struct husk_idmap *m, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (id >= m[i].container_id && id - m[i].container_id < m[i].size)
			return m[i].host_id + (id - m[i].container_id);
	return 0;
}

/* In a user namespace the init cannot mknod, and a node on a filesystem
 * it mounts does not open (SB_I_NODEV): it binds the host's node of each
 * linux.devices path.  Where the host has no node of that type and number
 * at that path, the runtime makes one in the host's /dev (devtmpfs, which
 * lets nodes open), owned by the ids the container's uid and gid map to;
 * the init binds it and remove_host_nodes unlinks it once the container
 * exists (the bind keeps it).  Not done rootless: no mknod there either. */
static int make_host_nodes(struct husk_spec *s, const char *id, husk_error **err)
{
	for (size_t i = 0; i < s->n_devices; i++) {
		struct husk_device *d = &s->devices[i];
		if (d->type == 'p')
			continue;
		mode_t type = d->type == 'b' ? S_IFBLK : S_IFCHR;
		dev_t dev = makedev(d->major, d->minor);
		struct stat st;
		if (stat(d->path, &st) == 0 && (st.st_mode & S_IFMT) == type && st.st_rdev == dev)
			continue;
		d->host_node = husk_strdup_printf("/dev/.husk-%s-%zu", id, i);
		unlink(d->host_node);
		mode_t mode = d->has_mode ? (d->file_mode & 07777) : 0666;
		if (mknod(d->host_node, type | 0600, dev) < 0 || chmod(d->host_node, mode) < 0 ||
		    chown(d->host_node,
			  host_id_of(s->uid_maps, s->n_uid_maps, d->has_uid ? d->uid : 0),
			  host_id_of(s->gid_maps, s->n_gid_maps, d->has_gid ? d->gid : 0)) < 0) {
			int e = errno;
			unlink(d->host_node);
			free(d->host_node);
			d->host_node = NULL;
			return husk_fail(
				err, e, "linux.devices: make \"%s\" (%c %lld:%lld) on the host",
				d->path, d->type, (long long)d->major, (long long)d->minor);
		}
	}
	return 0;
}

static void remove_host_nodes(struct husk_spec *s)
{
	for (size_t i = 0; s && i < s->n_devices; i++)
		if (s->devices[i].host_node)
			unlink(s->devices[i].host_node);
}

static int count_listen_fds(void)
{
	const char *lf = getenv("LISTEN_FDS");
	long n = 0;
	if (!lf || husk_parse_long(lf, &n) < 0 || n < 0 || n > 1024)
		return 0;
	return (int)n;
}

/* Does linux.resources ask for anything besides the default device rules? */
static bool has_limits(json_t *res)
{
	const char *k;
	json_t *v;
	json_object_foreach (res, k, v) {
		if (strcmp(k, "devices") != 0 && !json_is_null(v))
			return true;
	}
	return false;
}

int husk_create(const struct husk_create_opts *o, struct husk_created *ret, husk_error **err)
{
	struct husk_spec *spec = NULL;
	char *dir = NULL;
	int lockfd = -1, sock[2] = {-1, -1}, statedir = -1;
	struct husk_cgroup_join join = {.v2_dirfd = -1};
	struct husk_cgroup cg = {0};
	bool cg_made = false;
	struct husk_seccomp *sc = NULL;
	pid_t pid = -1;
	int master = -1;
	int ns_fds[HUSK_NS_COUNT];
	char *lf_env[3] = {NULL, NULL, NULL};
	struct husk_tracer tr = {.fn = o->trace, .ud = o->ud, .sock = -1};
	int r = -1;
	char *rdt_root = NULL, *rdt_tasks = NULL;
	int pidfd_sock = -1;
	for (int i = 0; i < HUSK_NS_COUNT; i++)
		ns_fds[i] = -1;
	memset(ret, 0, sizeof(*ret));
	ret->pty_master = ret->sync_fd = -1;

	if (husk_id_validate(o->id, err) < 0)
		return -1;
	husk_trace_begin(&tr);
	if (husk_spec_load(o->bundle, o->config_path, &spec, err) < 0)
		return -1;
	HUSK_TRACE(&tr, "read and parse %s%s", o->config_path ? o->config_path : "config.json",
		   spec->seccomp_cached ? "; seccomp filter loaded from the cache by the profile's "
					  "bytes (not parsed)"
					: "");
	HUSK_FAULT(oci_create_config);
	/* config.md: process is REQUIRED when start is called; create makes
	 * the container without one, `start` fails (run fails at once) */
	if (!spec->has_process && o->start_now) {
		husk_fail(err, 0, "process: missing (nothing to run)");
		goto out;
	}
	if (spec->process.caps.ambient) {
		cleanup_free char *w = husk_caps_drop_unraisable(&spec->process.caps);
		if (w && o->warn)
			o->warn(o->ud, w);
	}
	if (!spec->ns[HUSK_NS_MNT].enabled) {
		/* inherit the runtime's mount namespace: the host's, where the
		 * container's mounts would stay behind; the process is chrooted
		 * into root.path and mounts nothing (runc 1.2 prepares no rootfs
		 * without a new mount namespace either) */
		if (spec->sysctl && json_object_size(spec->sysctl)) {
			husk_fail(err, 0,
				  "linux.sysctl: needs a mount namespace (/proc/sys is mounted "
				  "in it)");
			goto out;
		}
		if ((spec->n_mounts || spec->n_masked_paths || spec->n_readonly_paths ||
		     spec->n_devices) &&
		    o->warn)
			o->warn(o->ud, "linux.namespaces: no mount namespace: mounts, devices, "
				       "maskedPaths and readonlyPaths are not applied (they would "
				       "be the host's mounts)");
	}
	if (spec->intelrdt.set) {
		/* config-linux.md: no resctrl mounted where the runtime runs is
		 * an error */
		rdt_root = husk_resctrl_mount();
		if (!rdt_root) {
			husk_fail_as(err, ENOTSUP,
				     "linux.intelRdt: no resctrl filesystem is mounted (Intel RDT "
				     "or AMD PQoS needs \"mount -t resctrl resctrl "
				     "/sys/fs/resctrl\", and a CPU and kernel that have it)");
			goto out;
		}
	}
	if (spec->process.terminal && !o->console_socket && !o->start_now) {
		husk_fail(err, 0, "process.terminal is true: --console-socket is required");
		goto out;
	}
	if (!spec->process.terminal && o->console_socket) {
		husk_fail(err, 0, "--console-socket given but process.terminal is false");
		goto out;
	}
	/* the receiver must be there before anything is made, as with runc */
	if (o->pidfd_socket) {
		pidfd_sock = husk_connect_unix(o->pidfd_socket, err);
		if (pidfd_sock < 0) {
			husk_error_wrap(err, "--pidfd-socket");
			goto out;
		}
	}
	/* open namespaces to join first, so that a bad path fails early */
	for (int t = 0; t < HUSK_NS_COUNT; t++) {
		if (!spec->ns[t].enabled || !spec->ns[t].path)
			continue;
		ns_fds[t] = open(spec->ns[t].path, O_RDONLY | O_CLOEXEC);
		if (ns_fds[t] < 0) {
			husk_fail(err, errno, "linux.namespaces: %s namespace path \"%s\"",
				  husk_ns_name(t), spec->ns[t].path);
			goto out;
		}
	}
	if (spec->seccomp_cached) {
		/* found by its bytes before the parse, which then skipped it */
		sc = steal_ptr(spec->seccomp_cached);
		spec->seccomp_text = husk_seccomp_take_text(sc); /* for state.json */
	} else if (spec->seccomp) {
		husk_trace_begin(&tr);
		cleanup_free char *cache = husk_seccomp_cache_dir();
		if (husk_seccomp_compile_raw(spec->seccomp, spec->seccomp_raw, cache, &sc, err) < 0)
			goto out;
		HUSK_TRACE(&tr, "seccomp filter %s",
			   husk_seccomp_from_cache(sc) ? "loaded from the cache" : "compiled");
		spec->seccomp_text = husk_seccomp_take_text(sc); /* for state.json */
	}

	husk_trace_begin(&tr);
	if (husk_state_dir_create(o->state_root, o->id, &dir, &lockfd, err) < 0)
		goto out;
	HUSK_TRACE(&tr, "mkdir %s (state) + flock", dir);
	HUSK_FAULT(oci_create_state_dir);

	husk_trace_begin(&tr);
	if (o->no_cgroup) {
		/* as crun's disabled manager: the process stays in ours, and
		 * linux.resources has nowhere to go */
		if (has_limits(spec->resources) && o->warn)
			o->warn(o->ud, "linux.resources ignored: --cgroup-manager disabled");
	} else if (husk_cgroup_create(spec->cgroups_path, o->id, wants_cpuset(o, spec), &cg, err) <
		   0) {
		/* rootless with no cgroup delegated to us: run without a cgroup
		 * of its own, as runc does, unless limits were asked for */
		int e = (*err)->errnum;
		bool denied = e == EACCES || e == EPERM || e == EROFS;
		if (geteuid() == 0 || !denied || has_limits(spec->resources))
			goto out;
		if (o->warn) {
			cleanup_free char *w = husk_strdup_printf(
				"rootless: running without a cgroup of its own (%s)", (*err)->msg);
			o->warn(o->ud, w);
		}
		husk_error_freep(err);
		husk_cgroup_release(&cg);
	} else {
		cg_made = true;
		/* before anything goes into it: a crash from here on leaves a
		 * cgroup that delete --force must find */
		if (husk_state_save_creating(dir, &cg, 0, err) < 0)
			goto out;
		HUSK_TRACE(&tr, "mkdir cgroup %s in %zu hierarchies", cg.dirs[0].rel, cg.n);
		husk_trace_begin(&tr);
		json_t *devs = json_object_get(json_object_get(spec->json, "linux"), "devices");
		if (husk_cgroup_apply(&cg, spec->resources, devs, true, err) < 0)
			goto out;
		if (husk_cgroup_join_prepare(&cg, &join, err) < 0)
			goto out;
		HUSK_TRACE(&tr, "write linux.resources (device rules: v1 lists, v2 eBPF)");
		HUSK_FAULT(oci_create_cgroup);
	}

	if (rdt_root && husk_intelrdt_setup(rdt_root, &spec->intelrdt, o->id, &rdt_tasks, err) < 0)
		goto out;

	if (!o->start_now) {
		cleanup_free char *fifo = husk_strdup_printf("%s/exec.fifo", dir);
		if (mkfifo(fifo, 0600) < 0) {
			husk_fail(err, errno, "mkfifo \"%s\"", fifo);
			goto out;
		}
		/* with a user namespace the init is the host uid that container
		 * root maps to: it must reach the fifo (runc does the same: the
		 * state dir searchable, the fifo the init's) */
		uid_t fuid = 0;
		gid_t fgid = 0;
		for (size_t i = 0; i < spec->n_uid_maps; i++)
			if (spec->uid_maps[i].container_id == 0)
				fuid = spec->uid_maps[i].host_id;
		for (size_t i = 0; i < spec->n_gid_maps; i++)
			if (spec->gid_maps[i].container_id == 0)
				fgid = spec->gid_maps[i].host_id;
		if ((fuid || fgid) && (chmod(dir, 0711) < 0 || chown(fifo, fuid, fgid) < 0)) {
			husk_fail(err, errno, "hand \"%s\" to the container's root", fifo);
			goto out;
		}
		statedir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (statedir < 0) {
			husk_fail(err, errno, "open \"%s\"", dir);
			goto out;
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) < 0) {
		husk_fail(err, errno, "socketpair");
		goto out;
	}
	if (husk_rootfs_prepare_idmaps(spec, o->bundle, err) < 0)
		goto out;
	if (spec->ns[HUSK_NS_USER].enabled && spec->n_devices && geteuid() == 0 &&
	    make_host_nodes(spec, o->id, err) < 0)
		goto out;

	uint64_t flags = 0;
	bool join_user = spec->ns[HUSK_NS_USER].enabled && spec->ns[HUSK_NS_USER].path;
	for (int t = 0; t < HUSK_NS_COUNT; t++) {
		if (!spec->ns[t].enabled || spec->ns[t].path)
			continue;
		if (t == HUSK_NS_CGROUP || t == HUSK_NS_TIME)
			continue; /* done by the child, see child_setup */
		if (join_user && t != HUSK_NS_PID)
			continue; /* made inside the joined user namespace */
		flags |= (uint64_t)husk_ns_clone_flag(t);
	}
	int lfds = count_listen_fds();
	int preserve = o->preserve_fds + lfds;
	if (lfds) {
		lf_env[0] = husk_strdup_printf("LISTEN_FDS=%d", lfds);
		lf_env[1] = strdup("LISTEN_PID=1");
	}

	/* decided here: in the child, before its maps, geteuid() is the
	 * overflow uid */
	bool self_map = geteuid() != 0;
	husk_trace_begin(&tr);
	struct clone_args ca = {.flags = flags, .exit_signal = SIGCHLD};
	if (o->init_to_parent) {
		/* clone3 takes no exit_signal with it: the child's is ours,
		 * SIGCHLD as our parent forked us */
		ca.flags |= CLONE_PARENT;
		ca.exit_signal = 0;
	}
	if (join.v2_dirfd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)join.v2_dirfd;
	}
	pid = sys_clone3(&ca);
	if (pid < 0) {
		husk_fail(err, errno, "clone3 (namespaces 0x%llx)", (unsigned long long)flags);
		goto out;
	}
	if (pid == 0) {
		close(sock[0]);
		close(lockfd);
		struct child_ctx c = {.o = o,
				      .spec = spec,
				      .sock = sock[1],
				      .join = &join,
				      .statedir_fd = statedir,
				      .cgroup = &cg,
				      .seccomp = sc,
				      .seccomp_agent_fd = -1,
				      .fifo_fd = -1,
				      .tr = {.fn = NULL, .sock = o->trace ? sock[1] : -1},
				      .preserve_fds = preserve,
				      .extra_env = lf_env,
				      .self_map = self_map && spec->ns[HUSK_NS_USER].enabled &&
						  !join_user};
		memcpy(c.ns_fds, ns_fds, sizeof(ns_fds));
		child_main(&c);
		_exit(127);
	}
	close(sock[1]);
	sock[1] = -1;
	HUSK_TRACE(&tr, "clone3 pid %d flags 0x%llx%s", (int)pid, (unsigned long long)ca.flags,
		   join.v2_dirfd >= 0 ? " (CLONE_INTO_CGROUP)" : "");
	/* no cgroup to find the init by: its pid, for a crash after it stops
	 * listening for our death (SYNC_CREATED clears its PDEATHSIG) */
	if (!cg_made && husk_state_save_creating(dir, NULL, pid, err) < 0)
		goto out;
	HUSK_FAULT(oci_create_clone);

	if (spec->ns[HUSK_NS_USER].enabled && !join_user && !self_map) {
		husk_trace_begin(&tr);
		cleanup_free char *procdir = husk_strdup_printf("/proc/%d", (int)pid);
		if (husk_idmaps_write(procdir, "linux.", spec->uid_maps, spec->n_uid_maps,
				      spec->gid_maps, spec->n_gid_maps, err) < 0)
			goto out;
		HUSK_TRACE(&tr, "write /proc/%d/uid_map and gid_map", (int)pid);
	}
	/* before GO: whatever the init forks inherits its group */
	if (rdt_tasks && husk_intelrdt_join(rdt_tasks, pid, err) < 0)
		goto out;
	if (husk_sync_send(sock[0], SYNC_GO, (int32_t)pid, 0, NULL, 0, -1) < 0) {
		husk_fail(err, EPIPE, "container init died before setup");
		goto out;
	}

	/* serve the child until it is created */
	for (;;) {
		struct husk_sync_msg m;
		int rr = husk_sync_recv(sock[0], &m);
		if (rr <= 0) {
			int status = 0;
			/* no child of ours with init_to_parent: no status */
			if (waitpid(pid, &status, 0) < 0)
				husk_fail(err, 0, "container init exited during setup");
			else
				husk_fail(err, 0, "container init exited during setup (status %d)",
					  WIFEXITED(status) ? WEXITSTATUS(status)
							    : 128 + WTERMSIG(status));
			pid = -1;
			goto out;
		}
		if (m.type == SYNC_TRACE) {
			if (m.errnum == -1) {
				if (o->warn)
					o->warn(o->ud, m.payload);
			} else if (o->trace) {
				o->trace(o->ud, m.payload, m.ns);
			}
			continue;
		}
		if (m.type == SYNC_ERROR || m.type == SYNC_EXEC_FAILED) {
			husk_fail(err, 0, "%s", m.payload);
			if (m.errnum && err && *err)
				(*err)->errnum = m.errnum;
			ret->exec_failed = m.type == SYNC_EXEC_FAILED;
			goto out;
		}
		if (m.type == SYNC_RUNTIME_HOOKS) {
			cleanup_free char *st = state_json_for_hooks(o->id, pid, "creating",
								     o->bundle, spec->annotations);
			husk_trace_begin(&tr);
			if (husk_hooks_run(spec->hooks.prestart, spec->hooks.n_prestart, "prestart",
					   st, err) < 0 ||
			    husk_hooks_run(spec->hooks.create_runtime, spec->hooks.n_create_runtime,
					   "createRuntime", st, err) < 0)
				goto out;
			HUSK_TRACE(&tr, "run prestart + createRuntime hooks");
			husk_sync_send(sock[0], SYNC_HOOKS_DONE, 0, 0, NULL, 0, -1);
			continue;
		}
		if (m.type == SYNC_PTY) {
			if (husk_pty_to_caller(o->console_socket, m.fd, &master, err) < 0)
				goto out;
			continue;
		}
		if (m.type == SYNC_NETDEVS) {
			if (husk_netdevs_move(spec, pid, err) < 0)
				goto out;
			husk_sync_send(sock[0], SYNC_NETDEVS_DONE, 0, 0, NULL, 0, -1);
			continue;
		}
		if (m.type == SYNC_PID) {
			/* the init was re-born in a joined pid namespace */
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			pid = (pid_t)m.errnum;
			continue;
		}
		if (m.type == SYNC_CREATED)
			break;
		husk_fail(err, EPROTO, "unexpected message %u from container init", m.type);
		goto out;
	}

	HUSK_FAULT(oci_create_created);
	/* record the container */
	husk_trace_begin(&tr);
	if (husk_state_save_new(o->id, dir, pid, o->bundle, spec, &cg, cg_made, err) < 0)
		goto out;
	if (o->pid_file && write_pid_file(o->pid_file, pid, err) < 0)
		goto out;
	if (pidfd_sock >= 0 && husk_send_pidfd(steal_fd(pidfd_sock), pid, "standard", err) < 0)
		goto out;
	HUSK_TRACE(&tr, "write state.json%s", o->pid_file ? " and pid file" : "");
	HUSK_FAULT(oci_create_state);
	ret->pid = pid;
	ret->terminal = spec->process.terminal;
	ret->pty_master = master;
	master = -1;
	if (o->start_now) {
		ret->sync_fd = sock[0];
		sock[0] = -1;
	}
	r = 0;
out:
	if (r < 0) {
		kill_and_reap(pid);
		if (cg_made)
			husk_cgroup_destroy(&cg, NULL);
		if (rdt_tasks)
			husk_intelrdt_remove(rdt_root, &spec->intelrdt, o->id);
		if (dir)
			husk_state_dir_remove(dir, NULL);
	}
	free(rdt_root);
	free(rdt_tasks);
	if (pidfd_sock >= 0)
		close(pidfd_sock);
	if (master >= 0)
		close(master);
	for (int i = 0; i < HUSK_NS_COUNT; i++)
		if (ns_fds[i] >= 0)
			close(ns_fds[i]);
	husk_cgroup_join_release(&join);
	for (int i = 0; i < 2; i++)
		if (sock[i] >= 0)
			close(sock[i]);
	if (statedir >= 0)
		close(statedir);
	if (lockfd >= 0)
		close(lockfd);
	free(lf_env[0]);
	free(lf_env[1]);
	husk_cgroup_release(&cg);
	husk_seccomp_free(sc);
	remove_host_nodes(spec);
	husk_spec_free(spec);
	free(dir);
	return r;
}

static int run_poststart(struct husk_state *st, husk_error **err)
{
	if (!st->config)
		return 0;
	json_t *hooks = json_object_get(st->config, "hooks");
	if (!json_object_get(hooks, "poststart"))
		return 0;
	cleanup_free char *text = json_dumps(st->config, JSON_COMPACT);
	struct husk_spec *spec = NULL;
	if (husk_spec_parse(text, st->bundle, &spec, err) < 0)
		return -1;
	cleanup_free char *sj =
		state_json_for_hooks(st->id, st->pid, "running", st->bundle, st->annotations);
	int r = husk_hooks_run(spec->hooks.poststart, spec->hooks.n_poststart, "poststart", sj,
			       err);
	husk_spec_free(spec);
	return r;
}

int husk_run_start(const struct husk_create_opts *o, struct husk_created *c, husk_error **err)
{
	c->exec_failed = false;
	int r = husk_sync_send(c->sync_fd, SYNC_START, 0, 0, NULL, 0, -1);
	if (r < 0) {
		close(c->sync_fd);
		c->sync_fd = -1;
		return husk_fail(err, -r, "start container \"%s\"", o->id);
	}
	/* the socket is close-on-exec: EOF means the execve happened */
	for (;;) {
		struct husk_sync_msg m;
		int rr = husk_sync_recv(c->sync_fd, &m);
		if (rr <= 0)
			break;
		if (m.type == SYNC_TRACE) {
			if (o->trace && m.errnum != -1)
				o->trace(o->ud, m.payload, m.ns);
			continue;
		}
		if (m.type == SYNC_EXEC_FAILED || m.type == SYNC_ERROR) {
			close(c->sync_fd);
			c->sync_fd = -1;
			/* the errno as the child had it, so that callers can tell
			 * not found (ENOENT) from not executable (EACCES ...) */
			husk_fail(err, 0, "%s", m.payload);
			if (m.errnum && err && *err)
				(*err)->errnum = m.errnum;
			c->exec_failed = m.type == SYNC_EXEC_FAILED;
			return m.errnum > 0 ? -m.errnum : -1;
		}
	}
	close(c->sync_fd);
	c->sync_fd = -1;
	struct husk_state st;
	if (husk_state_load(o->state_root, o->id, &st, err) != 0)
		return -1;
	r = run_poststart(&st, err);
	husk_state_release(&st);
	return r;
}

int husk_start(const char *root, const char *id, husk_trace_fn trace, husk_warn_fn warn, void *ud,
	       husk_error **err)
{
	cleanup_close int lockfd = -1;
	if (husk_state_lock(root, id, &lockfd, err) < 0)
		return -1;
	struct husk_state st;
	if (husk_state_load_existing(root, id, &st, err) < 0)
		return -1;
	int r = 0;
	enum husk_status s = husk_state_status(&st);
	if (s != HUSK_CREATED) {
		husk_fail(err, 0, "container \"%s\" is %s, not created: cannot start it", id,
			  husk_status_name(s));
		husk_state_release(&st);
		return -1;
	}
	if (st.config && !json_object_get(st.config, "process")) {
		/* runtime.md: start MUST generate an error if process was not
		 * set; the container stays created, for delete --force */
		husk_fail(err, 0, "start container \"%s\": process: missing in its config", id);
		husk_state_release(&st);
		return -1;
	}
	struct husk_tracer tr = {.fn = trace, .ud = ud, .sock = -1};
	HUSK_FAULT(oci_start_fifo);
	husk_trace_begin(&tr);
	cleanup_free char *fifo = husk_strdup_printf("%s/exec.fifo", st.dir);
	/* non-blocking open, then wait for the byte while watching the
	 * process, so that a container that died cannot hang us */
	cleanup_close int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = husk_fail(err, errno, "open exec fifo of \"%s\"", id);
		goto out;
	}
	int pidfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
	/* first the byte that says the init is past the fifo, then EOF when
	 * its copy closes on execve; anything else is its error message */
	bool got_byte = false;
	char msg[SYNC_MAX_PAYLOAD + 1];
	size_t mlen = 0;
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
				      {.fd = pidfd, .events = POLLIN}};
		int n = poll(p, pidfd >= 0 && !got_byte ? 2 : 1, 100);
		if (n < 0 && errno == EINTR)
			continue;
		if (p[0].revents & (POLLIN | POLLHUP)) {
			char buf[512];
			ssize_t k = read(fd, buf, sizeof(buf));
			if (k > 0) {
				size_t off = 0;
				if (!got_byte) {
					got_byte = true;
					off = 1;
				}
				for (size_t i = off; i < (size_t)k && mlen < sizeof(msg) - 1; i++)
					msg[mlen++] = buf[i];
				continue;
			}
			if (k == 0 && got_byte)
				break; /* the writer is gone: exec'd, or failed */
		}
		if (!got_byte &&
		    ((pidfd >= 0 && (p[1].revents & POLLIN)) || !husk_state_process_alive(&st))) {
			r = husk_fail(err, 0, "container \"%s\" died before it could start", id);
			if (pidfd >= 0)
				close(pidfd);
			goto out;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	if (mlen) {
		msg[mlen] = '\0';
		unlink(fifo);
		r = husk_fail(err, 0, "start container \"%s\": %s", id, msg);
		goto out;
	}
	unlink(fifo);
	HUSK_TRACE(&tr, "open + read exec.fifo: the container execs");
	HUSK_FAULT(oci_start_exec);
	r = run_poststart(&st, err);
	if (r < 0) {
		/* runtime.md (1.3), step 9: a failing poststart hook is an
		 * error, and the container is stopped and destroyed (step 12)
		 * with its poststop hooks run (step 13), as delete --force does */
		husk_state_release(&st);
		close(lockfd);
		lockfd = -1;
		husk_delete_warn(root, id, true, warn, ud, NULL);
		return r;
	}
out:
	husk_state_release(&st);
	return r;
}

int husk_state(const char *root, const char *id, char **ret_json, husk_error **err)
{
	struct husk_state st;
	int r = husk_state_load(root, id, &st, err);
	if (r < 0)
		return -1;
	*ret_json = husk_state_to_oci_json(&st, true);
	husk_state_release(&st);
	return 0;
}

int husk_kill(const char *root, const char *id, int sig, bool all, husk_error **err)
{
	struct husk_state st;
	if (husk_state_load_existing(root, id, &st, err) < 0)
		return -1;
	int r;
	enum husk_status s = husk_state_status(&st);
	HUSK_FAULT(oci_kill_signal);
	if (all && st.has_cgroup) {
		r = husk_cgroup_kill_all(&st.cgroup, sig, err);
	} else if (s == HUSK_STOPPED) {
		/* runc's words: containerd's shim takes "container not
		 * running" (and "does not exist") as already gone */
		r = husk_fail(err, ESRCH, "kill container \"%s\": container not running", id);
	} else {
		/* pidfd_send_signal: no race with the pid being reused */
		int pidfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
		if (pidfd >= 0 && husk_pid_starttime(st.pid) == st.starttime) {
			r = (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
			if (r < 0)
				r = husk_fail(err, errno, "kill container \"%s\"", id);
		} else {
			r = husk_fail(err, ESRCH, "kill container \"%s\": container not running",
				      id);
		}
		if (pidfd >= 0)
			close(pidfd);
	}
	husk_state_release(&st);
	return r;
}

int husk_pause(const char *root, const char *id, bool pause, husk_error **err)
{
	cleanup_close int lockfd = -1;
	if (husk_state_lock(root, id, &lockfd, err) < 0)
		return -1;
	struct husk_state st;
	if (husk_state_load_existing(root, id, &st, err) < 0)
		return -1;
	enum husk_status s = husk_state_status(&st);
	int r;
	if (pause && s != HUSK_RUNNING)
		r = husk_fail(err, 0, "container \"%s\" is %s, not running", id,
			      husk_status_name(s));
	else if (!pause && s != HUSK_PAUSED)
		r = husk_fail(err, 0, "container \"%s\" is %s, not paused", id,
			      husk_status_name(s));
	else
		r = husk_cgroup_freeze(&st.cgroup, pause, err);
	husk_state_release(&st);
	return r;
}

int husk_pids(const char *root, const char *id, pid_t **ret, size_t *ret_n, husk_error **err)
{
	struct husk_state st;
	if (husk_state_load_existing(root, id, &st, err) < 0)
		return -1;
	int r = st.has_cgroup ? husk_cgroup_pids(&st.cgroup, ret, ret_n, err)
			      : husk_fail(err, 0, "container \"%s\" has no cgroup", id);
	husk_state_release(&st);
	return r;
}

/* the resctrl groups of linux.intelRdt that are the container's */
static void remove_intelrdt(const struct husk_state *st, const char *id)
{
	json_t *j = json_object_get(json_object_get(st->config, "linux"), "intelRdt");
	if (!j || json_is_null(j))
		return;
	struct husk_intelrdt r = {0};
	cleanup_free char *root = husk_resctrl_mount();
	if (root && husk_intelrdt_parse(j, &r, NULL) == 0)
		husk_intelrdt_remove(root, &r, id);
	husk_intelrdt_release(&r);
}

int husk_delete(const char *root, const char *id, bool force, husk_error **err)
{
	return husk_delete_warn(root, id, force, NULL, NULL, err);
}

/* What creating.json says a crashed create made: its init killed, its
 * cgroup removed, then the state dir */
static int undo_crashed_create(const char *dir, husk_error **err)
{
	struct husk_state st;
	int r = husk_state_load_creating(dir, &st, err);
	if (r < 0)
		return -1;
	if (r == 0) {
		if (st.has_cgroup)
			husk_cgroup_kill_all(&st.cgroup, SIGKILL, NULL);
		if (husk_state_process_alive(&st))
			kill(st.pid, SIGKILL);
		for (int i = 0; i < 500 && husk_state_process_alive(&st); i++) {
			struct timespec ts = {0, 2000000};
			nanosleep(&ts, NULL);
		}
		r = st.has_cgroup ? husk_cgroup_destroy(&st.cgroup, err) : 0;
		husk_state_release(&st);
		if (r < 0)
			return -1;
	}
	return husk_state_dir_remove(dir, err);
}

static int delete_impl(const char *root, const char *id, bool force, husk_warn_fn warn, void *ud,
		       long long *ret_ooms, husk_error **err)
{
	cleanup_close int lockfd = -1;
	if (husk_state_lock(root, id, &lockfd, err) < 0)
		return -1;
	struct husk_state st;
	int r = husk_state_load(root, id, &st, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		/* a create that crashed before writing its state */
		cleanup_free char *d = husk_strdup_printf("%s/%s", root, id);
		husk_state_release(&st);
		return undo_crashed_create(d, err);
	}
	enum husk_status s = husk_state_status(&st);
	/* runtime.md: deleting a container that is not stopped MUST have no
	 * effect on it and MUST generate an error; created is not stopped */
	if (s != HUSK_STOPPED && !force) {
		husk_fail(err, 0, "container \"%s\" is %s: stop it first or use --force", id,
			  husk_status_name(s));
		husk_state_release(&st);
		return -1;
	}
	if (s != HUSK_STOPPED) {
		/* created (never started) or --force: kill everything in it */
		if (st.has_cgroup) {
			if (s == HUSK_PAUSED)
				husk_cgroup_freeze(&st.cgroup, false, NULL);
			/* still frozen: a parent freezer cgroup holds it (a pod
			 * frozen whole); waiting for the kill would take the
			 * cgroup removal's whole retry budget and fail EBUSY */
			if (husk_cgroup_is_frozen(&st.cgroup))
				husk_cgroup_thaw_out(&st.cgroup);
			husk_cgroup_kill_all(&st.cgroup, SIGKILL, NULL);
		}
		if (husk_state_process_alive(&st))
			kill(st.pid, SIGKILL);
		/* reap if it is ours (run), else wait for it to go */
		for (int i = 0; i < 500 && husk_state_process_alive(&st); i++) {
			waitpid(st.pid, NULL, WNOHANG);
			struct timespec ts = {0, 2000000};
			nanosleep(&ts, NULL);
		}
	}
	r = 0;
	HUSK_FAULT(oci_delete_killed);
	if (ret_ooms)
		*ret_ooms = st.has_cgroup ? husk_cgroup_oom_kills(&st.cgroup) : 0;
	if (st.has_cgroup) {
		/* the processes of a killed container leave the cgroup a moment
		 * after they die: kill stragglers (forked after our kill) too */
		pid_t *pids = NULL;
		size_t n = 0;
		if (husk_cgroup_pids(&st.cgroup, &pids, &n, NULL) == 0 && n)
			husk_cgroup_kill_all(&st.cgroup, SIGKILL, NULL);
		free(pids);
		r = husk_cgroup_destroy(&st.cgroup, err);
	}
	remove_intelrdt(&st, id);
	if (st.config) {
		json_t *hooks = json_object_get(st.config, "hooks");
		if (json_object_get(hooks, "poststop")) {
			cleanup_free char *text = json_dumps(st.config, JSON_COMPACT);
			struct husk_spec *spec = NULL;
			husk_error *herr = NULL;
			if (husk_spec_parse(text, st.bundle, &spec, &herr) == 0) {
				cleanup_free char *sj = state_json_for_hooks(
					id, 0, "stopped", st.bundle, st.annotations);
				/* a failing poststop hook is a warning and the
				 * later ones still run (runtime.md, step 13) */
				husk_hooks_run_warn(spec->hooks.poststop, spec->hooks.n_poststop,
						    "poststop", sj, warn, ud);
				husk_spec_free(spec);
			} else if (warn)
				warn(ud, herr->msg);
			husk_error_free(herr);
		}
	}
	HUSK_FAULT(oci_delete_cgroup);
	if (r == 0)
		r = husk_state_dir_remove(st.dir, err);
	husk_state_release(&st);
	return r;
}

int husk_delete_warn(const char *root, const char *id, bool force, husk_warn_fn warn, void *ud,
		     husk_error **err)
{
	return delete_impl(root, id, force, warn, ud, NULL, err);
}

int husk_delete_exited(const char *root, const char *id, long long *ret_ooms, husk_error **err)
{
	*ret_ooms = 0;
	return delete_impl(root, id, true, NULL, NULL, ret_ooms, err);
}

int husk_list(const char *root, struct husk_list_entry **ret, size_t *ret_n, husk_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	DIR *d = opendir(root);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return husk_fail(err, errno, "open state root \"%s\"", root);
	}
	struct dirent *e;
	struct husk_list_entry *v = NULL;
	size_t n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		struct husk_state st;
		int r = husk_state_load(root, e->d_name, &st, NULL);
		if (r < 0)
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		struct husk_list_entry *le = &v[n++];
		enum husk_status s = r > 0 ? HUSK_CREATING : husk_state_status(&st);
		le->id = strdup(e->d_name);
		le->pid = s == HUSK_STOPPED || r > 0 ? 0 : st.pid;
		le->status = strdup(husk_status_name(s));
		le->bundle = strdup(st.bundle ? st.bundle : "");
		le->created = strdup(st.created ? st.created : "");
		le->owner = strdup(st.owner && *st.owner ? st.owner : "root");
		husk_state_release(&st);
	}
	closedir(d);
	*ret = v;
	*ret_n = n;
	return 0;
}

void husk_list_free(struct husk_list_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].status);
		free(v[i].bundle);
		free(v[i].created);
		free(v[i].owner);
	}
	free(v);
}

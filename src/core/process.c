#define _GNU_SOURCE
#include "process.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "seccomp.h"
#include "sync.h"
#include "procfs.h"
#include "util.h"

static const char *env_get(char **env, const char *name)
{
	size_t l = strlen(name);
	for (char **e = env; e && *e; e++)
		if (strncmp(*e, name, l) == 0 && (*e)[l] == '=')
			return *e + l + 1;
	return NULL;
}

/* 0 when path is a file we may execute, else why not, as an errno: stat's,
 * EISDIR for a directory (execve says EACCES there; this says more),
 * EACCES for any other file that is not a regular one, or access's. */
static int exec_file_error(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno;
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	if (!S_ISREG(st.st_mode))
		return EACCES;
	return access(path, X_OK) < 0 ? errno : 0;
}

/* Not found is ENOENT, as execvp says it, with runc's message. */
static int not_found(const char *name, husk_error **err)
{
	husk_fail(err, 0, "exec: \"%s\": executable file not found in $PATH", name);
	if (err && *err)
		(*err)->errnum = ENOENT;
	return -ENOENT;
}

int husk_find_executable(const struct husk_process *p, char **ret, husk_error **err)
{
	const char *name = p->args[0];
	if (strchr(name, '/')) {
		/* a relative path is taken from cwd, as execve would */
		char *path =
			name[0] == '/' ? strdup(name) : husk_strdup_printf("%s/%s", p->cwd, name);
		int e = exec_file_error(path);
		if (e) {
			free(path);
			/* strerror's words with a small first letter, as Go (runc)
			 * writes them: dockerd finds "no such file or directory"
			 * and "permission denied" in this message to exit 127
			 * and 126 (with strerror's capital it exits 125) */
			char why[128];
			snprintf(why, sizeof(why), "%s", strerror(e));
			why[0] = (char)tolower((unsigned char)why[0]);
			return husk_fail_as(err, e, "exec: \"%s\": %s", name, why);
		}
		*ret = path;
		return 0;
	}
	/* as runc: with no PATH in the environment, a bare name is not found */
	const char *path = env_get(p->env, "PATH");
	if (!path)
		return not_found(name, err);
	cleanup_free char *copy = strdup(path);
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *cand = husk_strdup_printf("%s/%s", *dir ? dir : ".", name);
		if (exec_file_error(cand) == 0) {
			*ret = cand;
			return 0;
		}
		free(cand);
	}
	return not_found(name, err);
}

/* glibc 2.36 has no struct sched_attr, and linux/sched/types.h clashes
 * with <sched.h>: the kernel's layout, version 1 (with util clamps) */
struct husk_sched_attr {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

int husk_process_limits(const struct husk_process *p, husk_error **err)
{
	static const char *rl_names[] = {
		[RLIMIT_CPU] = "RLIMIT_CPU",	       [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
		[RLIMIT_DATA] = "RLIMIT_DATA",	       [RLIMIT_STACK] = "RLIMIT_STACK",
		[RLIMIT_CORE] = "RLIMIT_CORE",	       [RLIMIT_RSS] = "RLIMIT_RSS",
		[RLIMIT_NPROC] = "RLIMIT_NPROC",       [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
		[RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",   [RLIMIT_AS] = "RLIMIT_AS",
		[RLIMIT_LOCKS] = "RLIMIT_LOCKS",       [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
		[RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",
		[RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",     [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
	};
	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
		if (setrlimit(p->rlimits[i].resource, &rl) < 0)
			return husk_fail(err, errno, "process.rlimits: set %s to %llu:%llu",
					 rl_names[p->rlimits[i].resource],
					 (unsigned long long)rl.rlim_cur,
					 (unsigned long long)rl.rlim_max);
	}
	if (p->has_oom_score_adj) {
		char buf[16];
		int n = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
		if (husk_proc_write("self/oom_score_adj", buf, (size_t)n, err) < 0)
			return husk_error_wrap(err, "process.oomScoreAdj");
	}
	if (p->has_scheduler) {
		struct husk_sched_attr a = {.size = sizeof(a),
					    .sched_policy = (uint32_t)p->sched_policy,
					    .sched_flags = p->sched_flags,
					    .sched_nice = p->sched_nice,
					    .sched_priority = (uint32_t)p->sched_priority,
					    .sched_runtime = p->sched_runtime,
					    .sched_deadline = p->sched_deadline,
					    .sched_period = p->sched_period};
		if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
			return husk_fail(err, errno, "process.scheduler: sched_setattr");
	}
	if (p->has_io_priority) {
		int v = (p->io_priority_class << 13) | p->io_priority;
		if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, v) < 0)
			return husk_fail(err, errno, "process.ioPriority: ioprio_set");
	}
	return 0;
}

int husk_process_lsm(const struct husk_process *p, char **warn_out, husk_error **err)
{
	if (p->apparmor_profile && *p->apparmor_profile) {
		if (access("/sys/kernel/security/apparmor", F_OK) == 0) {
			cleanup_free char *v = husk_strdup_printf("exec %s", p->apparmor_profile);
			const char *f = access("/proc/self/attr/apparmor/exec", F_OK) == 0
						? "self/attr/apparmor/exec"
						: "self/attr/exec";
			if (husk_proc_write(f, v, strlen(v), err) < 0)
				return husk_error_wrap(err, "process.apparmorProfile \"%s\"",
						       p->apparmor_profile);
		} else if (warn_out) {
			*warn_out = husk_strdup_printf("process.apparmorProfile \"%s\" ignored: "
						       "AppArmor is not enabled on this host",
						       p->apparmor_profile);
		}
	}
	if (p->selinux_label && *p->selinux_label) {
		if (access("/sys/fs/selinux/enforce", F_OK) == 0) {
			if (husk_proc_write("self/attr/exec", p->selinux_label,
					    strlen(p->selinux_label), err) < 0)
				return husk_error_wrap(err, "process.selinuxLabel \"%s\"",
						       p->selinux_label);
		} else if (warn_out && !*warn_out) {
			*warn_out =
				husk_strdup_printf("process.selinuxLabel \"%s\" ignored: SELinux "
						   "is not enabled on this host",
						   p->selinux_label);
		}
	}
	return 0;
}

static int set_caps(const struct husk_caps *c, husk_error **err)
{
	cap_t caps = cap_init();
	if (!caps)
		return husk_fail(err, errno, "capabilities");
	int last = (int)cap_max_bits();
	for (int v = 0; v < last && v < 64; v++) {
		cap_value_t cv = v;
		if (c->effective & (1ull << v))
			cap_set_flag(caps, CAP_EFFECTIVE, 1, &cv, CAP_SET);
		if (c->permitted & (1ull << v))
			cap_set_flag(caps, CAP_PERMITTED, 1, &cv, CAP_SET);
		if (c->inheritable & (1ull << v))
			cap_set_flag(caps, CAP_INHERITABLE, 1, &cv, CAP_SET);
	}
	int r = cap_set_proc(caps);
	int e = errno;
	cap_free(caps);
	if (r < 0)
		return husk_fail(err, e, "process.capabilities: capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return husk_fail(err, errno, "process.capabilities.ambient: clear");
	for (int v = 0; v < last && v < 64; v++)
		if (c->ambient & (1ull << v))
			if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, v, 0, 0) < 0)
				return husk_fail(err, errno,
						 "process.capabilities.ambient: raise %s "
						 "(it must be permitted and inheritable too)",
						 cap_to_name(v));
	return 0;
}

char *husk_caps_drop_unraisable(struct husk_caps *c)
{
	uint64_t bad = c->ambient & ~(c->permitted & c->inheritable);
	if (!bad)
		return NULL;
	char names[1024] = "";
	size_t o = 0;
	for (int v = 0; v < 64 && o < sizeof(names) - 64; v++) {
		if (!(bad & (1ull << v)))
			continue;
		char *n = cap_to_name(v);
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", o ? ", " : "",
				      n ? n : "?");
		cap_free(n);
	}
	c->ambient &= ~bad;
	return husk_strdup_printf("process.capabilities.ambient: cannot raise %s (an ambient "
				  "capability must be permitted and inheritable too): skipped",
				  names);
}

static int drop_bounding(const struct husk_caps *c, husk_error **err)
{
	int last = (int)cap_max_bits();
	for (int v = 0; v < last; v++) {
		if (v < 64 && (c->bounding & (1ull << v)))
			continue;
		if (prctl(PR_CAPBSET_DROP, v, 0, 0, 0) < 0 && errno != EINVAL)
			return husk_fail(err, errno, "process.capabilities.bounding: drop %d", v);
	}
	return 0;
}

static int set_user(const struct husk_process *p, husk_error **err)
{
	gid_t groups[p->n_additional_gids + 1];
	for (size_t i = 0; i < p->n_additional_gids; i++)
		groups[i] = p->additional_gids[i];
	if (setgroups(p->n_additional_gids, groups) < 0 && errno != EPERM)
		return husk_fail(err, errno, "process.user.additionalGids: setgroups");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return husk_fail(err, errno, "process.user.gid: setgid %u", p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return husk_fail(err, errno, "process.user.uid: setuid %u", p->uid);
	return 0;
}

/* The home directory of uid in the container's /etc/passwd (we are past
 * pivot_root), or "/" when it has no entry: what runc gives as HOME. */
static char *home_of(uid_t uid)
{
	cleanup_free char *text = NULL;
	if (husk_read_file("/etc/passwd", &text, NULL, NULL) < 0)
		return strdup("HOME=/");
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* name:passwd:uid:gid:gecos:home:shell */
		char *f[7] = {0};
		int n = 0;
		for (char *p = line; n < 7; n++) {
			f[n] = p;
			char *c = strchr(p, ':');
			if (!c) {
				n++;
				break;
			}
			*c = '\0';
			p = c + 1;
		}
		long id;
		if (n >= 6 && husk_parse_long(f[2], &id) == 0 && id == (long)uid && *f[5])
			return husk_strdup_printf("HOME=%s", f[5]);
	}
	return strdup("HOME=/");
}

static char **build_env(const struct husk_process *p, char **extra, char **home)
{
	size_t n = 0, m = 0;
	for (char **e = p->env; e && *e; e++)
		n++;
	for (char **e = extra; e && *e; e++)
		m++;
	char **v = calloc(n + m + 3, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		v[k++] = p->env[i];
	for (size_t i = 0; i < m; i++)
		v[k++] = extra[i];
	if (!env_get(p->env, "HOME")) {
		*home = home_of(p->uid);
		v[k++] = *home;
	}
	return v;
}

/* The seccomp agent socket was connected before pivot_root (its path is a
 * host path): hand it the listener fd and the container's state. */
static int send_listener(struct husk_finalize *f, int lfd, husk_error **err)
{
	if (lfd < 0)
		return 0;
	int r = 0;
	if (f->seccomp_agent_fd >= 0) {
		const char *st = f->seccomp_state_json ? f->seccomp_state_json : "{}";
		r = husk_seccomp_send_listener(f->seccomp_agent_fd, lfd, st, err);
		if (r < 0)
			husk_error_wrap(err, "linux.seccomp.listenerPath");
		close(f->seccomp_agent_fd);
		f->seccomp_agent_fd = -1;
	}
	close(lfd);
	return r < 0 ? -1 : 0;
}

/* The process starts as a fresh one would: no signal blocked, none
 * ignored.  Both survive execve, so whatever the caller had (a monitor
 * that blocks SIGTERM and SIGCHLD for its signalfd, a shell that ignores
 * SIGQUIT or SIGPIPE for its background jobs) would reach the container:
 * an init that cannot get the SIGTERM of `stop`, a `yes | head` that never
 * ends.  (Caught signals are reset by execve itself.) */
static void reset_signals(void)
{
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &sa) == 0 &&
		    sa.sa_handler == SIG_IGN)
			signal(sig, SIG_DFL);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* A process that is not root gets its stdio pipes (the runtime made them
 * as root, mode 0600) as its own, so that it can reopen /dev/stdout; as
 * runc's fixStdioPermissions and crun do.  Ttys are the console's to own.
 * A pipe shared with the caller changes owner for the caller too. */
static void chown_stdio(const struct husk_process *p)
{
	if (p->uid == 0 && p->gid == 0)
		return;
	for (int fd = 0; fd < 3; fd++) {
		struct stat st;
		if (fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) &&
		    (st.st_uid != p->uid || st.st_gid != p->gid))
			fchown(fd, p->uid, p->gid); /* best effort: an unmapped owner stays */
	}
}

/* Mark every fd from first on close-on-exec: close_range(2), or where
 * the kernel lacks it (before 5.11 for CLOSE_RANGE_CLOEXEC) each fd that
 * /proc/self/fd lists. */
static int cloexec_from(unsigned int first, husk_error **err)
{
	if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return husk_fail(err, errno, "close_range, then open /proc/self/fd");
	struct dirent *e;
	while ((e = readdir(d))) {
		long fd;
		if (husk_parse_long(e->d_name, &fd) < 0 || fd < (long)first || fd == dirfd(d))
			continue;
		int fl = fcntl((int)fd, F_GETFD);
		if (fl >= 0 && !(fl & FD_CLOEXEC))
			fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC);
	}
	closedir(d);
	return 0;
}

static int load_filter(struct husk_finalize *f, husk_error **err)
{
	husk_trace_begin(f->tr);
	int lfd = -1;
	if (husk_seccomp_load(f->seccomp, &lfd, err) < 0 || send_listener(f, lfd, err) < 0)
		return -1;
	f->seccomp_loaded = true;
	HUSK_TRACE(f->tr, "seccomp(SECCOMP_SET_MODE_FILTER)");
	return 0;
}

int husk_process_prepare(struct husk_finalize *f, husk_error **err)
{
	const struct husk_process *p = f->proc;
	struct husk_tracer *tr = f->tr;

	/* cwd first, as root, then check it is inside the container: a cwd
	 * that reaches the host through a leaked fd (/proc/self/fd/N, the
	 * CVE-2024-21626 escape) is refused here */
	husk_trace_begin(tr);
	if (chdir(p->cwd) < 0)
		return husk_fail(err, errno, "process.cwd \"%s\"", p->cwd);
	char cwdbuf[4096];
	if (!getcwd(cwdbuf, sizeof(cwdbuf)))
		return husk_fail(err, errno,
				 "process.cwd \"%s\": resolves outside the container's root",
				 p->cwd);
	HUSK_TRACE(tr, "chdir %s", p->cwd);

	if (p->has_caps) {
		husk_trace_begin(tr);
		if (drop_bounding(&p->caps, err) < 0)
			return -1;
		HUSK_TRACE(tr, "prctl(PR_CAPBSET_DROP) outside the bounding set");
	}
	/* keep the permitted set across setuid so that capset can choose it */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return husk_fail(err, errno, "prctl(PR_SET_KEEPCAPS)");
	/* nothing of ours may reach the container: close every fd past the
	 * preserved ones on exec.  This and the rest of the steps that need
	 * no privilege come before the seccomp filter: a profile that denies
	 * close_range (or predates it) must still run, and after the filter
	 * only the privilege drop and execve remain, as in runc (and, when
	 * the init prepares while its runtime records it, the wait for start,
	 * which the filter is checked to allow: container.c) */
	unsigned int first = 3 + (unsigned int)(f->preserve_fds > 0 ? f->preserve_fds : 0);
	for (int fd = 3; fd < (int)first; fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0)
			fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
	}
	if (cloexec_from(first, err) < 0)
		return -1;
	chown_stdio(p);
	umask(p->has_umask ? p->umask : 022);
	f->env = build_env(p, f->extra_env, &f->home);
	/* without no_new_privs the filter must go in while we still hold
	 * CAP_SYS_ADMIN */
	if (f->seccomp && !p->no_new_privileges && f->seccomp_in_prepare && load_filter(f, err) < 0)
		return -1;
	return 0;
}

int husk_process_finish_and_exec(struct husk_finalize *f, husk_error **err)
{
	const struct husk_process *p = f->proc;
	struct husk_tracer *tr = f->tr;
	reset_signals();
	if (f->seccomp && !p->no_new_privileges && !f->seccomp_loaded && load_filter(f, err) < 0)
		return -1;
	husk_trace_begin(tr);
	if (set_user(p, err) < 0)
		return -1;
	HUSK_TRACE(tr, "setgroups/setresgid %u/setresuid %u", p->gid, p->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return husk_fail(err, errno, "prctl(PR_SET_KEEPCAPS)");
	if (p->has_caps) {
		husk_trace_begin(tr);
		if (set_caps(&p->caps, err) < 0)
			return -1;
		HUSK_TRACE(tr, "capset + ambient capabilities");
	}
	if (p->no_new_privileges) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			return husk_fail(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
	}
	if (f->seccomp && !f->seccomp_loaded && load_filter(f, err) < 0)
		return -1;
	husk_trace_begin(tr);
	HUSK_TRACE(tr, "execve %s", f->exe);
	execve(f->exe, p->args, f->env);
	f->exec_failed = true;
	return husk_fail(err, errno, "exec \"%s\"", f->exe);
}

int husk_process_finalize_and_exec(struct husk_finalize *f, husk_error **err)
{
	f->seccomp_in_prepare = true; /* nothing runs between the two */
	if (husk_process_prepare(f, err) < 0)
		return -1;
	return husk_process_finish_and_exec(f, err);
}

/* husk-monitor: the parent of one engine container, for as long as it
 * runs (Podman's conmon, without a daemon behind it).
 *
 *   husk-monitor [--adopt] --status-fd N [--client-fd N] ROOT RUNROOT ID
 *
 * It
 *  - starts the container: a forked child (the "creator") runs the core's
 *    create and start and exits; the container's init, orphaned, is
 *    reparented to us, a child subreaper (PR_SET_CHILD_SUBREAPER).  The
 *    create code and its memory live and die in the creator, so that what
 *    stays resident for the container's lifetime is this loop only;
 *  - says on the status fd "0 PID" once the process runs, or "ERRNO
 *    MESSAGE" when it could not start, then closes it;
 *  - holds the container's pty or its stdout/stderr pipes, writes the log,
 *    and copies both ways with the clients on its attach socket
 *    (engine/attach.h); --client-fd is a first client, attached before
 *    anything ran (a foreground `husk run`);
 *  - records the exit (code and time) in the container's record, removes
 *    the core's state and cgroup, applies the restart policy with Docker's
 *    back-off (100 ms, doubled, back to 100 ms after 10 s up), and removes
 *    the container when it was run with --rm;
 *  - then tells the clients the exit code and exits.
 * A SIGTERM to the monitor, sent by stop and rm while it waits to restart,
 * makes it read the record again.
 *
 * --adopt: the container's monitor was killed (kill -9, the OOM killer)
 * and its init runs on, an orphan that no one would see exit.  Any engine
 * command that notices (husk_engine_observe) starts this monitor, which
 * takes the record over under its lock (the first of several adopters
 * wins; the others say EALREADY), holds a pidfd to the init and learns
 * its exit through it, since the init is no longer our child: the orphan
 * went to whoever reaps orphans (pid 1 or a subreaper), and only that
 * parent can wait(2) for it.  Its status comes from the kernel once that
 * parent has reaped it (PIDFD_INFO_EXIT, Linux 6.15), or from /proc while
 * it is a zombie; when neither can tell, 255.  From the exit on, this is a
 * monitor like any other: the exit recorded, the cgroup removed, --rm and
 * the restart policy applied (a restart is our own child again).  What it
 * cannot adopt is the output: the pipes' read ends (or the pty's master)
 * died with the old monitor, so nothing the container writes from then on
 * reaches the log or an attached client; a write to a pipe fails with
 * EPIPE or kills the writer with SIGPIPE, and a pty's hangup sends its
 * session SIGHUP.  Attach clients get the exit code only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attach.h"
#include "engine-private.h"
#include "engine.h"
#include "husk.h"
#include "logfile.h"
#include "record.h"
#include "sync.h"
#include "util.h"

#define MAX_CLIENTS 32

struct mon {
	struct husk_engine e;
	const char *id;
	struct husk_ctr rec;
	int status_fd;
	int listen_fd;
	int clients[MAX_CLIENTS];
	size_t n_clients;
	int out_fd, err_fd; /* pipes, or out_fd the pty master */
	int in_fd;	    /* the stdin pipe's write end, or the pty master */
	pid_t pid;
	int pidfd; /* an adopted init's: it is not our child */
	int64_t started_ns;
	struct husk_log_writer *log;
	int sfd, tfd;
	int hfd;	 /* the healthcheck's interval */
	pid_t check_pid; /* a healthcheck under way */
	long backoff_ms;
	bool waiting_restart;
	bool force_restart; /* --health-on-failure restart */
	bool doomed;	    /* stopped or removed while it started */
	int start_code;	    /* when the start failed: 125, 126 or 127 */
	int last_code;	    /* the last run's exit code, told the clients */
};

static int exit_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* "0 PID" once the process runs, else "ERRNO EXITCODE MESSAGE" */
static void report(struct mon *m, int errnum, int code, const char *msg)
{
	if (m->status_fd < 0)
		return;
	char buf[4096];
	int n = errnum ? snprintf(buf, sizeof(buf), "%d %d %s", errnum, code, msg)
		       : snprintf(buf, sizeof(buf), "0 %s", msg);
	husk_write_all(m->status_fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	close(m->status_fd);
	m->status_fd = -1;
}

static void broadcast(struct mon *m, int type, const void *buf, size_t len)
{
	for (size_t i = 0; i < m->n_clients;) {
		if (husk_attach_send(m->clients[i], type, buf, len) < 0) {
			close(m->clients[i]);
			m->clients[i] = m->clients[--m->n_clients];
			continue;
		}
		i++;
	}
}

static void add_client(struct mon *m, int fd)
{
	if (m->n_clients >= MAX_CLIENTS) {
		close(fd);
		return;
	}
	m->clients[m->n_clients++] = fd;
}

/* --- starting --- */

static void creator(struct mon *m, int sock, int in, int out, int errf)
{
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (dup2(in >= 0 ? in : nul, 0) < 0 || dup2(out >= 0 ? out : nul, 1) < 0 ||
	    dup2(errf >= 0 ? errf : nul, 2) < 0)
		_exit(1);
	cleanup_free char *bundle = husk_engine_dir(&m->e, m->id);
	struct husk_create_opts co = {
		.state_root = m->e.runroot, .id = m->id, .bundle = bundle, .start_now = true};
	struct husk_created cr;
	husk_error *err = NULL;
	/* Docker's codes when the process could not be executed (126, 127),
	 * 125 for every other failure, whatever its errno */
	int failed = 0;
	cr.exec_failed = false;
	if (husk_create(&co, &cr, &err) < 0 || husk_run_start(&co, &cr, &err) < 0)
		failed = cr.exec_failed ? husk_exit_code_of_exec_error(err ? err->errnum : 0) : 125;
	if (failed) {
		/* the exit code rides in the ns field */
		husk_sync_send(sock, 0, err && err->errnum ? err->errnum : EIO, (uint64_t)failed,
			       err ? err->msg : "start failed", err ? strlen(err->msg) : 12, -1);
		_exit(1);
	}
	husk_sync_send(sock, 1, 0, (uint64_t)cr.pid, NULL, 0, cr.pty_master);
	_exit(0);
}

static int mark_running(struct husk_ctr *c, void *ud, husk_error **err)
{
	struct mon *m = ud;
	(void)err;
	/* stop or rm came while we (re)started it: it is not to run.  The
	 * record keeps saying so; the process is killed once we return */
	m->doomed = c->state == HUSK_CTR_REMOVING || c->stopped_by_user;
	if (c->state != HUSK_CTR_REMOVING)
		c->state = HUSK_CTR_RUNNING;
	c->pid = m->pid;
	c->pid_start = husk_pid_starttime(m->pid);
	husk_record_set_monitor(c);
	c->started_ns = m->started_ns;
	c->has_exit = false;
	c->oom_killed = false;
	if (!m->doomed)
		husk_engine_event(&m->e, "start", c->id, c->name, c->image, NULL);
	if (c->test) {
		free(c->health_status);
		c->health_status = strdup("starting");
		c->health_streak = 0;
	}
	return 0;
}

static void close_stdio(struct mon *m)
{
	if (m->in_fd >= 0 && m->in_fd != m->out_fd)
		close(m->in_fd);
	if (m->out_fd >= 0)
		close(m->out_fd);
	if (m->err_fd >= 0)
		close(m->err_fd);
	m->in_fd = m->out_fd = m->err_fd = -1;
}

static int start_container(struct mon *m, husk_error **err)
{
	int out[2] = {-1, -1}, errp[2] = {-1, -1}, in[2] = {-1, -1}, sp[2] = {-1, -1};
	bool tty = m->rec.tty;
	if ((!tty && (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)) ||
	    (!tty && m->rec.interactive && pipe2(in, O_CLOEXEC) < 0) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		int e = errno;
		for (int *f = (int[]){out[0], out[1], errp[0], errp[1], in[0], in[1]}, i = 0; i < 6;
		     i++)
			if (f[i] >= 0)
				close(f[i]);
		return husk_fail(err, e, "pipes for the container");
	}
	m->started_ns = husk_time_ns();
	pid_t c = fork();
	if (c == 0) {
		close(sp[0]);
		creator(m, sp[1], in[0], out[1], errp[1]);
	}
	int e = errno;
	close(sp[1]);
	if (out[1] >= 0)
		close(out[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (in[0] >= 0)
		close(in[0]);
	m->out_fd = out[0];
	m->err_fd = errp[0];
	m->in_fd = in[1];
	if (c < 0) {
		close(sp[0]);
		close_stdio(m);
		return husk_fail(err, e, "fork");
	}
	struct husk_sync_msg msg;
	int r = husk_sync_recv(sp[0], &msg);
	close(sp[0]);
	while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
		;
	m->start_code = 125;
	if (r <= 0 || msg.type != 1) {
		close_stdio(m);
		if (r <= 0)
			return husk_fail(err, EIO, "the container's creator died");
		msg.payload[msg.len] = '\0';
		m->start_code = (int)msg.ns;
		return husk_fail_as(err, msg.errnum, "%s", msg.payload);
	}
	m->pid = (pid_t)msg.ns;
	if (tty) {
		m->out_fd = msg.fd;
		m->in_fd = m->rec.interactive ? msg.fd : -1;
	}
	if (m->out_fd >= 0)
		fcntl(m->out_fd, F_SETFL, O_NONBLOCK);
	if (m->err_fd >= 0)
		fcntl(m->err_fd, F_SETFL, O_NONBLOCK);
	if (husk_record_update(m->e.root, m->id, mark_running, m, NULL) < 0 || m->doomed)
		kill(m->pid, SIGKILL); /* reaped by the loop, which ends it */
	return 0;
}

/* --- adopting --- */

/* --adopt, under the record's lock: still an orphan (running, its monitor
 * gone, its init alive)?  Then it is ours: a pidfd to the init, and the
 * record names us as its monitor. */
static int claim_orphan(struct husk_ctr *c, void *ud, husk_error **err)
{
	struct mon *m = ud;
	bool live = c->state == HUSK_CTR_RUNNING || c->state == HUSK_CTR_PAUSED;
	if (live && husk_pid_alive(c->monitor_pid, c->monitor_start))
		return husk_fail_as(err, EALREADY, "container \"%s\" has a monitor", c->name);
	m->pidfd = live ? husk_pidfd_of(c->pid, c->pid_start) : -1;
	if (m->pidfd < 0)
		return husk_fail_as(err, ESRCH, "container \"%s\" is not running", c->name);
	m->pid = c->pid;
	m->started_ns = c->started_ns;
	husk_record_set_monitor(c);
	return 0;
}

/* A signal to the container's init; through its pidfd when adopted: once
 * its reaper (not us) has reaped it, its pid may be another's */
static void signal_init(struct mon *m, int sig)
{
	if (m->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, m->pidfd, sig, NULL, 0);
	else if (m->pid > 0)
		kill(m->pid, sig);
}

/* --- ending --- */

struct exit_ud {
	struct mon *m;
	int code;
	bool oom; /* the OOM killer acted in its cgroup */
};

/* Recorded with its events: oom (as Docker's, before die), die */
static int mark_exited(struct husk_ctr *c, void *ud, husk_error **err)
{
	struct exit_ud *x = ud;
	(void)err;
	c->state = HUSK_CTR_EXITED;
	c->has_exit = true;
	c->exit_code = x->code;
	c->oom_killed = x->oom;
	c->finished_ns = husk_time_ns();
	if (x->oom)
		husk_engine_event(&x->m->e, "oom", c->id, c->name, c->image, NULL);
	char code[16];
	snprintf(code, sizeof(code), "%d", x->code);
	husk_engine_event(&x->m->e, "die", c->id, c->name, c->image,
			  (const char *const[]){"exitCode", code, NULL});
	return 0;
}

/* Did the OOM killer act in the container's memory cgroup during this run
 * (Docker's State.OOMKilled)?  Its count (v2 memory.events, v1
 * memory.oom_control: oom_kill) goes with the cgroup, so it is read
 * before husk_delete removes it. */
static bool oom_killed(struct mon *m)
{
	long long n = 0;
	return husk_stats(m->e.runroot, m->id, NULL, &n, NULL, NULL) == 0 && n > 0;
}

static int count_restart(struct husk_ctr *c, void *ud, husk_error **err)
{
	(void)ud;
	(void)err;
	c->restart_count++;
	return 0;
}

/* What a container's output is now: to the log and every client */
static bool pump(struct mon *m, int fd, int stream)
{
	char buf[32768];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	if (m->log)
		husk_log_write(m->log, stream, buf, (size_t)n, NULL);
	broadcast(m, stream == 1 ? HUSK_ATT_STDOUT : HUSK_ATT_STDERR, buf, (size_t)n);
	return true;
}

static void drain(struct mon *m)
{
	/* the init is gone and the pid namespace with it: the pipes end;
	 * a pty may hold data until read, then says EIO */
	for (int i = 0; i < 1000; i++) {
		struct pollfd p[2] = {{.fd = m->out_fd, .events = POLLIN},
				      {.fd = m->err_fd, .events = POLLIN}};
		if (poll(p, 2, 0) <= 0)
			break;
		bool more = false;
		if (p[0].revents && pump(m, m->out_fd, 1))
			more = true;
		if (p[1].revents && pump(m, m->err_fd, 2))
			more = true;
		if (!more)
			break;
	}
	if (m->log)
		husk_log_flush(m->log, NULL);
	close_stdio(m);
}

static bool should_restart(struct mon *m, int code)
{
	struct husk_ctr now;
	if (husk_record_load(m->e.root, m->id, &now, NULL) < 0)
		return false;
	bool stopped = now.stopped_by_user || now.state == HUSK_CTR_REMOVING;
	enum husk_restart p = now.restart;
	int count = now.restart_count, max = now.restart_max;
	husk_ctr_release(&now);
	if (stopped)
		return false;
	if (m->force_restart) {
		m->force_restart = false;
		return true;
	}
	switch (p) {
	case HUSK_RESTART_ALWAYS:
	case HUSK_RESTART_UNLESS_STOPPED:
		return true;
	case HUSK_RESTART_ON_FAILURE:
		return code != 0 && (max == 0 || count < max);
	case HUSK_RESTART_NO:
	default:
		return false;
	}
}

/* --rm: the whole container, network included (src/net/teardown.c needs
 * no library this static binary lacks) */
static void remove_container(struct mon *m)
{
	husk_engine_cleanup(&m->e, m->id, true, NULL);
}

static int clear_monitor(struct husk_ctr *c, void *ud, husk_error **err)
{
	(void)ud;
	(void)err;
	husk_record_clear_monitor(c);
	return 0;
}

static void finish(struct mon *m, int code)
{
	husk_attach_unlink(m->e.runroot, m->id);
	/* the record no longer names us before any client hears of the exit:
	 * a `start` right after it must not take our last moments for a
	 * monitor waiting to restart */
	if (m->rec.rm)
		remove_container(m);
	else
		husk_record_update(m->e.root, m->id, clear_monitor, NULL, NULL);
	int32_t c = code;
	broadcast(m, HUSK_ATT_EXIT, &c, sizeof(c));
	husk_log_close(m->log);
	exit(0);
}

static void arm_restart(struct mon *m)
{
	int64_t ran_ms = (husk_time_ns() - m->started_ns) / 1000000;
	if (m->backoff_ms == 0 || ran_ms >= 10000)
		m->backoff_ms = 100;
	else
		m->backoff_ms *= 2;
	struct itimerspec it = {.it_value = {.tv_sec = m->backoff_ms / 1000,
					     .tv_nsec = (m->backoff_ms % 1000) * 1000000}};
	timerfd_settime(m->tfd, 0, &it, NULL);
	m->waiting_restart = true;
}

static void on_exit_code(struct mon *m, int code)
{
	/* the cgroup's OOM count, before it goes with the core's state */
	struct exit_ud x = {.m = m, .code = code, .oom = oom_killed(m)};
	m->last_code = code;
	husk_record_update(m->e.root, m->id, mark_exited, &x, NULL);
	husk_delete(m->e.runroot, m->id, true, NULL);
	m->pid = 0;
	if (should_restart(m, code)) {
		arm_restart(m);
		return;
	}
	finish(m, code);
}

static void arm_health(struct mon *m);

static void on_restart_timer(struct mon *m)
{
	uint64_t n;
	if (read(m->tfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	m->waiting_restart = false;
	struct husk_ctr now;
	bool stopped = true;
	if (husk_record_load(m->e.root, m->id, &now, NULL) == 0) {
		stopped = now.stopped_by_user || now.state == HUSK_CTR_REMOVING;
		husk_ctr_release(&now);
	}
	if (stopped) {
		/* the run that exited last, not the record as it was when we
		 * began (before any run) */
		finish(m, m->last_code);
		return;
	}
	husk_record_update(m->e.root, m->id, count_restart, NULL, NULL);
	husk_error *err = NULL;
	if (start_container(m, &err) == 0) {
		arm_health(m);
	} else {
		int code = m->start_code;
		if (m->log && err)
			husk_log_write(m->log, 2, err->msg, strlen(err->msg), NULL);
		husk_error_free(err);
		on_exit_code(m, code);
	}
}

/* --- healthchecks --- */

static void arm_health(struct mon *m)
{
	if (!m->rec.test || m->hfd < 0)
		return;
	int64_t ns = m->rec.health_interval_ns > 0 ? m->rec.health_interval_ns : 30000000000LL;
	struct itimerspec it = {
		.it_value = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000}};
	timerfd_settime(m->hfd, 0, &it, NULL);
}

/* Each check in a child: its exec and its wait never hold up the loop.
 * Exit 2: this check made the container unhealthy. */
static void on_health_timer(struct mon *m)
{
	uint64_t n;
	if (read(m->hfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	if (m->check_pid > 0 || m->pid <= 0)
		return;
	pid_t p = fork();
	if (p == 0) {
		bool bad = false;
		int r = husk_engine_health_check(&m->e, m->id, NULL, &bad, NULL);
		_exit(r < 0 ? 1 : bad ? 2 : 0);
	}
	m->check_pid = p > 0 ? p : 0;
}

/* --health-on-failure: what an unhealthy container gets */
static void on_unhealthy(struct mon *m)
{
	struct husk_ctr now;
	if (husk_record_load(m->e.root, m->id, &now, NULL) < 0)
		return;
	enum husk_health_action a = now.health_on_failure;
	husk_ctr_release(&now);
	if (a == HUSK_HEALTH_NONE || m->pid <= 0)
		return;
	if (a == HUSK_HEALTH_STOP)
		husk_record_update(m->e.root, m->id, husk_record_set_stopped, NULL, NULL);
	if (a == HUSK_HEALTH_RESTART)
		m->force_restart = true;
	signal_init(m, SIGKILL);
}

/* --- the loop --- */

static void on_client_msg(struct mon *m, size_t i)
{
	char pkt[HUSK_ATT_MAX];
	ssize_t n = recv(m->clients[i], pkt, sizeof(pkt), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(m->clients[i]);
		m->clients[i] = m->clients[--m->n_clients];
		return;
	}
	switch (pkt[0]) {
	case HUSK_ATT_STDIN:
		if (m->in_fd >= 0)
			husk_write_all(m->in_fd, pkt + 1, (size_t)n - 1);
		break;
	case HUSK_ATT_STDIN_EOF:
		/* a pipe ends; a terminal has no end of input but ^D */
		if (m->in_fd >= 0 && m->in_fd != m->out_fd) {
			close(m->in_fd);
			m->in_fd = -1;
		}
		break;
	case HUSK_ATT_RESIZE:
		if (n >= 5 && m->rec.tty && m->out_fd >= 0) {
			uint16_t rc[2];
			memcpy(rc, pkt + 1, sizeof(rc));
			struct winsize ws = {.ws_row = rc[0], .ws_col = rc[1]};
			ioctl(m->out_fd, TIOCSWINSZ, &ws);
		}
		break;
	case HUSK_ATT_SIGNAL:
		if (n >= 5 && m->pid > 0) {
			int32_t s;
			memcpy(&s, pkt + 1, sizeof(s));
			signal_init(m, s);
		}
		break;
	default:
		break;
	}
}

static void on_signal(struct mon *m)
{
	struct signalfd_siginfo si;
	if (read(m->sfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGTERM && m->waiting_restart) {
		/* stop or rm while waiting to restart: let the record decide */
		struct itimerspec now = {.it_value = {0, 1}};
		timerfd_settime(m->tfd, 0, &now, NULL);
		return;
	}
	if (si.ssi_signo != SIGCHLD)
		return;
	int status;
	pid_t w;
	while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
		if (w == m->check_pid) {
			m->check_pid = 0;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
				on_unhealthy(m);
			if (m->pid > 0)
				arm_health(m);
			continue;
		}
		if (w == m->pid && m->pid > 0 && m->pidfd < 0) {
			drain(m);
			on_exit_code(m, exit_of(status));
		}
	}
}

/* The adopted init has exited: its pidfd is readable */
static void on_adopted_exit(struct mon *m)
{
	int status = 0;
	int code = husk_pidfd_exit_status(m->pidfd, m->pid, &status) == 0 ? exit_of(status) : 255;
	close(m->pidfd);
	m->pidfd = -1;
	drain(m);
	on_exit_code(m, code);
}

static void loop(struct mon *m)
{
	for (;;) {
		struct pollfd p[7 + MAX_CLIENTS];
		size_t n = 0;
		p[n++] = (struct pollfd){.fd = m->sfd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = m->tfd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = m->listen_fd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = m->out_fd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = m->err_fd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = m->hfd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = m->pidfd, .events = POLLIN};
		size_t nc = m->n_clients;
		for (size_t i = 0; i < nc; i++)
			p[n++] = (struct pollfd){.fd = m->clients[i], .events = POLLIN};
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[3].revents && !pump(m, m->out_fd, 1)) {
			close(m->out_fd);
			if (m->in_fd == m->out_fd)
				m->in_fd = -1;
			m->out_fd = -1;
		}
		if (p[4].revents && !pump(m, m->err_fd, 2)) {
			close(m->err_fd);
			m->err_fd = -1;
		}
		for (size_t i = nc; i-- > 0;)
			if (p[7 + i].revents)
				on_client_msg(m, i);
		if (p[5].revents & POLLIN)
			on_health_timer(m);
		if (p[2].revents & POLLIN) {
			int c = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0)
				add_client(m, c);
		}
		if (p[6].revents)
			on_adopted_exit(m);
		if (p[1].revents & POLLIN)
			on_restart_timer(m);
		if (p[0].revents & POLLIN)
			on_signal(m);
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: husk-monitor [--adopt] --status-fd N [--client-fd N] [--husk PATH] "
			"ROOT RUNROOT ID\n(started by husk, not by hand)\n");
	return 2;
}

int main(int argc, char **argv, char **envp)
{
	struct mon m = {.status_fd = -1,
			.listen_fd = -1,
			.out_fd = -1,
			.err_fd = -1,
			.in_fd = -1,
			.hfd = -1,
			.pidfd = -1};
	int client = -1, i = 1;
	bool adopt = false;
	long v;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *val = i + 1 < argc ? argv[i + 1] : "";
		if (strcmp(argv[i], "--adopt") == 0) {
			adopt = true;
			continue;
		}
		if (strcmp(argv[i], "--status-fd") == 0 && husk_parse_long(val, &v) == 0)
			m.status_fd = (int)v;
		else if (strcmp(argv[i], "--client-fd") == 0 && husk_parse_long(val, &v) == 0)
			client = (int)v;
		else if (strcmp(argv[i], "--husk") == 0 && *val)
			m.e.self_path = argv[i + 1];
		else
			return usage();
		i++; /* the value */
	}
	if (argc - i != 3 || m.status_fd < 0)
		return usage();
	/* this process's children enter containers: run from a binary no
	 * container can write (CVE-2019-5736) */
	husk_error *err = NULL;
	if (husk_ensure_sealed_exe(argv, envp, &err) < 0) {
		report(&m, err->errnum ? err->errnum : EIO, 125, err->msg);
		return 1;
	}
	m.e.root = argv[i];
	m.e.runroot = argv[i + 1];
	m.id = argv[i + 2];
	if (client >= 0)
		add_client(&m, client);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	m.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	m.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	m.hfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m.sfd < 0 || m.tfd < 0 || m.hfd < 0) {
		report(&m, errno, 125, "signalfd or timerfd");
		return 1;
	}
	if (husk_record_load(m.e.root, m.id, &m.rec, &err) < 0 ||
	    (adopt && husk_record_update(m.e.root, m.id, claim_orphan, &m, &err) < 0)) {
		report(&m, err->errnum ? err->errnum : EIO, 125, err->msg);
		return 1;
	}
	/* adopted: a failure from here on leaves the record naming a monitor
	 * that is gone, and the next command that looks adopts it again */
	m.listen_fd = husk_attach_listen(m.e.runroot, m.id, &err);
	int drv = husk_log_driver_parse(m.rec.log_driver ? m.rec.log_driver : "json-file");
	if (m.listen_fd < 0 ||
	    (drv != HUSK_LOG_NONE &&
	     husk_log_open(husk_engine_log_path(&m.e, m.id), (enum husk_log_driver)drv,
			   m.rec.log_max_size, m.rec.log_max_file, &m.log, &err) < 0)) {
		report(&m, err->errnum ? err->errnum : EIO, 125, err->msg);
		husk_attach_unlink(m.e.runroot, m.id);
		return 1;
	}
	if (!adopt && start_container(&m, &err) < 0) {
		/* the record says how it ended, as Docker's does */
		struct exit_ud x = {.m = &m, .code = m.start_code};
		husk_record_update(m.e.root, m.id, mark_exited, &x, NULL);
		husk_delete(m.e.runroot, m.id, true, NULL);
		husk_attach_unlink(m.e.runroot, m.id);
		if (m.rec.rm)
			remove_container(&m);
		report(&m, err->errnum ? err->errnum : EIO, m.start_code, err->msg);
		return 1;
	}
	char ok[32];
	snprintf(ok, sizeof(ok), "%d", (int)m.pid);
	report(&m, 0, 0, ok);
	arm_health(&m);
	loop(&m);
	return 0;
}

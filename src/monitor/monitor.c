/* husk-monitor: the parent of one engine container, for as long as it
 * runs (Podman's conmon, without a daemon behind it).
 *
 *   husk-monitor (--adopt | --settings LINE) --status-fd N [--client-fd N] [--husk PATH]
 *                ROOT RUNROOT ID
 *
 * It stays resident while its container runs, so it is small: built
 * against musl, static, no library but libc (about 100 kB resident,
 * where the same loop in a static glibc binary with the runtime linked
 * in was 1.2 MB, nearly all of it the binary's pages mapped by the
 * kernel's fault-around).  What needs the runtime, the record (jansson)
 * or the network is done by husk-monitor-step (step.c), run as our child
 * for one step and gone a few milliseconds later.
 *
 * It
 *  - starts the container: a step creates and starts it and exits; the
 *    container's init, orphaned, is reparented to us, a child subreaper
 *    (PR_SET_CHILD_SUBREAPER);
 *  - says on the status fd "0 PID" once the process runs, or "ERRNO
 *    EXITCODE MESSAGE" when it could not start, then closes it;
 *  - holds the container's pty or its stdout/stderr pipes, writes the log,
 *    and copies both ways with the clients on its attach socket
 *    (engine/attach.h); --client-fd is a first client, attached before
 *    anything ran (a foreground `husk run`);
 *  - on the exit has a step record it (code and time) and remove the
 *    runtime's state and cgroup, applies the restart policy with Docker's
 *    back-off (100 ms, doubled, back to 100 ms after 10 s up), and has the
 *    container removed when it was run with --rm;
 *  - then tells the clients the exit code and exits.
 * A SIGTERM, sent by stop and rm while it waits to restart, makes it ask
 * the record again at once.
 *
 * --adopt: the container's monitor was killed (kill -9, the OOM killer)
 * and its init runs on, an orphan that no one would see exit.  Any engine
 * command that notices (husk_engine_observe) starts this monitor, whose
 * init step takes the record over under its lock (the first of several
 * adopters wins; the others say EALREADY).  We hold a pidfd to the init
 * and learn its exit through it, since the init is no longer our child:
 * the orphan went to whoever reaps orphans (pid 1 or a subreaper), and
 * only that parent can wait(2) for it.  Its status comes from the kernel
 * once that parent has reaped it (PIDFD_INFO_EXIT, Linux 6.15), or from
 * /proc while it is a zombie; when neither can tell, 255.  From the exit
 * on, this is a monitor like any other (a restart is our own child
 * again).  What it cannot adopt is the output: the pipes' read ends (or
 * the pty's master) died with the old monitor, so nothing the container
 * writes from then on reaches the log or an attached client.  Attach
 * clients get the exit code only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/mount.h>

#include "attach.h"
#include "engine-private.h"
#include "fault.h"
#include "logfile.h"
#include "sync.h"
#include "util.h"

#define MAX_CLIENTS  32
#define STEP_RESTART 10 /* step.c: exited, start it again */
#define STEP_IDLE    11 /* step.c: a kept start step that was told nothing */

struct mon {
	const char *root, *runroot, *id, *husk;
	char step[PATH_MAX]; /* husk-monitor-step, beside us */
	int step_fd;	     /* its read-only clone, or -1 (seal_step) */
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
	/* the start step, kept when a client waits for the exit, waiting
	 * for its code on pre_fd (its socket) to be the exit step */
	pid_t pre_pid;
	int pre_fd;
	long backoff_ms;
	bool waiting_restart;
	bool force_restart; /* --health-on-failure restart */
	int start_code;	    /* when the start failed: 125, 126 or 127 */
	int last_code;	    /* the last run's exit code, told the clients */
	/* from the record, through the init step */
	bool tty, interactive, health;
	int64_t health_interval_ns;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

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

/* --- steps --- */

/* In a child about to exec a step: fds 0-3 as given (-1: /dev/null for
 * 0-2, nothing for 3), the signal mask and SIGPIPE as a new process has
 * them.  Every other fd of ours is close-on-exec. */
static void exec_step(struct mon *m, int in, int out, int errf, int extra, const char *const *args)
{
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	int fds[4] = {in >= 0 ? in : nul, out >= 0 ? out : nul, errf >= 0 ? errf : 2, extra};
	/* above 3 first, so that no dup2 below overwrites a source */
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0 && dup2(fds[i], i) < 0)
			_exit(127);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	const char *argv[12];
	size_t n = 0;
	argv[n++] = m->step;
	argv[n++] = args[0];
	argv[n++] = m->root;
	argv[n++] = m->runroot;
	argv[n++] = m->id;
	if (m->husk) {
		argv[n++] = "--husk";
		argv[n++] = m->husk;
	}
	for (size_t i = 1; args[i] && n < 11; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (m->step_fd >= 0)
		syscall(SYS_execveat, m->step_fd, "", argv, environ, AT_EMPTY_PATH);
	execv(m->step, (char *const *)argv);
	_exit(127);
}

/* Run a step to its end: its exit status, -1 when it could not run.
 * out: its stdout, or -1. */
static int run_step(struct mon *m, int out, const char *const *args)
{
	pid_t c = fork();
	if (c < 0)
		return -1;
	if (c == 0)
		exec_step(m, -1, out, -1, -1, args);
	int status;
	while (waitpid(c, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define STEP(m, ...) run_step((m), -1, (const char *const[]){__VA_ARGS__, NULL})

/* A foreground client waits for the exit: the start step stays, waiting
 * for the code (step.c's "start wait"), so that a short run's exit waits
 * for no fork, no exec and no static binary's start (3-4 ms of a 35 ms
 * `run --rm true` here), and it answers on its socket before it unlinks
 * the trash and exits, so the exit waits for no teardown of its memory
 * either.  It gives up after a second (STEP_IDLE), and the exit then runs
 * a step of its own: a long-running container keeps no step.
 *
 * Told the code: its status, or -1 when it gave up first, died, or was
 * never kept, and the exit needs a step of its own. */
static int run_prespawned_exit(struct mon *m, const char *code, bool force)
{
	if (m->pre_pid <= 0)
		return -1;
	char line[48];
	int n = snprintf(line, sizeof(line), "%s%s\n", code, force ? " force" : "");
	/* EPIPE when it has gone (SIGPIPE is ignored): EOF below says so */
	(void)!write(m->pre_fd, line, (size_t)n);
	unsigned char status;
	ssize_t r;
	while ((r = read(m->pre_fd, &status, 1)) < 0 && errno == EINTR)
		;
	close(m->pre_fd);
	m->pre_fd = -1;
	if (r == 1) {
		/* it answered: reaped by the loop (or by whoever reaps our
		 * orphans) once it has unlinked the trash */
		m->pre_pid = 0;
		return status;
	}
	while (waitpid(m->pre_pid, NULL, 0) < 0 && errno == EINTR)
		;
	m->pre_pid = 0;
	return -1;
}

/* It ended by itself (gave up waiting, or died): reaped by the loop */
static void prespawned_gone(struct mon *m)
{
	m->pre_pid = 0;
	if (m->pre_fd >= 0)
		close(m->pre_fd);
	m->pre_fd = -1;
}

/* --- starting --- */

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

static void close_all(int *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (f[i] >= 0)
			close(f[i]);
}

static int start_container(struct mon *m, husk_error **err)
{
	int out[2] = {-1, -1}, errp[2] = {-1, -1}, in[2] = {-1, -1}, sp[2] = {-1, -1};
	bool tty = m->tty;
	if ((!tty && (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)) ||
	    (!tty && m->interactive && pipe2(in, O_CLOEXEC) < 0) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		int e = errno;
		close_all((int[]){out[0], out[1], errp[0], errp[1], in[0], in[1]}, 6);
		return husk_fail(err, e, "pipes for the container");
	}
	m->started_ns = now_ns();
	/* a client waits for the exit: the step stays, to be the exit's
	 * (step.c's "start wait") */
	bool keep = m->n_clients > 0 && m->pre_pid <= 0;
	pid_t c = fork();
	if (c == 0)
		exec_step(m, in[0], out[1], errp[1], sp[1],
			  (const char *const[]){"start", keep ? "wait" : NULL, NULL});
	int e = errno;
	close_all((int[]){sp[1], out[1], errp[1], in[0]}, 4);
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
	if (keep && r > 0 && msg.type == 1) {
		/* started: it waits for the code on the socket */
		m->pre_pid = c;
		m->pre_fd = sp[0];
	} else {
		close(sp[0]);
		while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
			;
	}
	m->start_code = 125;
	if (r <= 0 || msg.type != 1) {
		close_stdio(m);
		if (r <= 0)
			return husk_fail(err, EIO, "the container's start step died");
		msg.payload[msg.len] = '\0';
		m->start_code = (int)msg.ns;
		return husk_fail_as(err, msg.errnum, "%s", msg.payload);
	}
	/* a stop or rm that came meanwhile: the step killed it, and the loop
	 * reaps it and ends */
	m->pid = (pid_t)msg.ns;
	if (tty) {
		m->out_fd = msg.fd;
		m->in_fd = m->interactive ? msg.fd : -1;
	}
	if (m->out_fd >= 0)
		fcntl(m->out_fd, F_SETFL, O_NONBLOCK);
	if (m->err_fd >= 0)
		fcntl(m->err_fd, F_SETFL, O_NONBLOCK);
	HUSK_FAULT(engine_monitor_running);
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

/* The end: the record no longer names us (or the container is gone,
 * --rm) before any client hears of the exit.  finished: a step did it
 * already (exited, when it found no restart due) */
static void finish(struct mon *m, int code, bool finished)
{
	husk_attach_unlink(m->runroot, m->id);
	if (m->pre_fd >= 0)
		close(m->pre_fd); /* a waiting exit step told nothing: it goes */
	if (!finished)
		STEP(m, "finish");
	int32_t c = code;
	broadcast(m, HUSK_ATT_EXIT, &c, sizeof(c));
	husk_log_close(m->log);
	exit(0);
}

static void arm_restart(struct mon *m)
{
	int64_t ran_ms = (now_ns() - m->started_ns) / 1000000;
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
	char c[16];
	snprintf(c, sizeof(c), "%d", code);
	m->last_code = code;
	m->pid = 0;
	int r = run_prespawned_exit(m, c, m->force_restart);
	if (r < 0)
		r = m->force_restart ? STEP(m, "exited", c, "force") : STEP(m, "exited", c);
	m->force_restart = false;
	if (r == STEP_RESTART) {
		arm_restart(m);
		return;
	}
	finish(m, code, r == 0);
}

static void arm_health(struct mon *m);

static void on_restart_timer(struct mon *m)
{
	uint64_t n;
	if (read(m->tfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	m->waiting_restart = false;
	/* stop or rm came meanwhile: the run that exited last is the end */
	if (STEP(m, "restart") != 0) {
		finish(m, m->last_code, false);
		return;
	}
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
	if (!m->health || m->hfd < 0)
		return;
	int64_t ns = m->health_interval_ns > 0 ? m->health_interval_ns : 30000000000LL;
	struct itimerspec it = {
		.it_value = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000}};
	timerfd_settime(m->hfd, 0, &it, NULL);
}

/* Each check in a step of its own: its exec and its wait never hold up
 * the loop.  Exit 2: this check made the container unhealthy. */
static void on_health_timer(struct mon *m)
{
	uint64_t n;
	if (read(m->hfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	if (m->check_pid > 0 || m->pid <= 0)
		return;
	pid_t p = fork();
	if (p == 0)
		exec_step(m, -1, -1, -1, -1, (const char *const[]){"health", NULL});
	m->check_pid = p > 0 ? p : 0;
}

/* --health-on-failure: what an unhealthy container gets (the step says:
 * 0 nothing, 1 killed, 2 killed and started again) */
static void on_unhealthy(struct mon *m)
{
	if (m->pid <= 0)
		return;
	int r = STEP(m, "unhealthy");
	if (r == 2)
		m->force_restart = true;
	if (r == 1 || r == 2)
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
		if (n >= 5 && m->tty && m->out_fd >= 0) {
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
		if (w == m->pre_pid) {
			prespawned_gone(m);
			continue;
		}
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

struct settings {
	char log_path[PATH_MAX];
	int drv, max_file;
	long long max_size;
	unsigned long long pid_start;
};

/* The record's settings we need, one line (husk_monitor_settings): from
 * --settings, or from the init step when adopting */
static int parse_settings(struct mon *m, const char *line, struct settings *st, husk_error **err)
{
	int tty, interactive, health, pid, off = 0;
	long long interval, started;
	if (sscanf(line, "%d %d %d %lld %d %d %lld %d %llu %lld %n", &tty, &interactive, &st->drv,
		   &st->max_size, &st->max_file, &health, &interval, &pid, &st->pid_start, &started,
		   &off) != 10 ||
	    off <= 0)
		return husk_fail_as(err, EINVAL, "the monitor's settings: \"%.200s\"", line);
	snprintf(st->log_path, sizeof(st->log_path), "%s", line + off);
	m->tty = tty;
	m->interactive = interactive;
	m->health = health;
	m->health_interval_ns = interval;
	m->pid = pid;
	m->started_ns = started;
	return 0;
}

/* adopt: the init step claims the record and says its settings */
static int adopt_settings(struct mon *m, struct settings *st, husk_error **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_fail(err, errno, "pipe");
	pid_t c = fork();
	if (c == 0)
		exec_step(m, -1, p[1], -1, -1, (const char *const[]){"init", "adopt", NULL});
	close(p[1]);
	char line[PATH_MAX + 256];
	size_t len = 0;
	ssize_t r;
	while (len < sizeof(line) - 1 &&
	       ((r = read(p[0], line + len, sizeof(line) - 1 - len)) > 0 ||
		(r < 0 && errno == EINTR)))
		if (r > 0)
			len += (size_t)r;
	close(p[0]);
	line[len] = '\0';
	line[strcspn(line, "\n")] = '\0';
	while (c > 0 && waitpid(c, NULL, 0) < 0 && errno == EINTR)
		;
	int e = 0, off = 0;
	if (sscanf(line, "ERR %d %n", &e, &off) == 1 && off > 0)
		return husk_fail_as(err, e ? e : EIO, "%s", line + off);
	return parse_settings(m, line, st, err);
}

/* The start and health steps enter the container, so they must run from
 * a file no container can write (CVE-2019-5736, src/core/selfexe.c); a
 * step exec'd from its path re-exec'd itself from a read-only clone of
 * its mount, one exec more on every start.  The clone is made here once,
 * and every step is exec'd from it: the step finds itself on a read-only
 * mount and goes on.  Without open_tree (before Linux 5.2, or no
 * privilege) the steps seal themselves as before. */
static void seal_step(struct mon *m)
{
	m->step_fd = -1;
	int fd =
		(int)syscall(SYS_open_tree, AT_FDCWD, m->step, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return;
	struct mount_attr a = {.attr_set =
				       MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0) {
		close(fd);
		return;
	}
	m->step_fd = fd;
}

/* husk-monitor-step, in our own directory */
static int find_step(struct mon *m, husk_error **err)
{
	ssize_t n = readlink("/proc/self/exe", m->step, sizeof(m->step) - 32);
	if (n <= 0)
		return husk_fail(err, errno, "readlink /proc/self/exe");
	m->step[n] = '\0';
	char *slash = strrchr(m->step, '/');
	snprintf(slash ? slash + 1 : m->step, 32, "husk-monitor-step");
	seal_step(m);
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: husk-monitor (--adopt | --settings LINE) --status-fd N [--client-fd N] "
		"[--husk PATH] ROOT RUNROOT ID\n(started by husk, not by hand)\n");
	return 2;
}

static int fail(struct mon *m, husk_error *err, int code)
{
	report(m, err->errnum ? err->errnum : EIO, code, err->msg);
	husk_error_free(err);
	return 1;
}

int main(int argc, char **argv)
{
	struct mon m = {.status_fd = -1,
			.listen_fd = -1,
			.out_fd = -1,
			.err_fd = -1,
			.in_fd = -1,
			.hfd = -1,
			.pidfd = -1,
			.pre_fd = -1};
	int client = -1, i = 1;
	bool adopt = false;
	const char *settings = NULL;
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
			m.husk = argv[i + 1];
		else if (strcmp(argv[i], "--settings") == 0 && *val)
			settings = argv[i + 1];
		else
			return usage();
		i++; /* the value */
	}
	if (argc - i != 3 || m.status_fd < 0 || (!adopt && !settings))
		return usage();
	m.root = argv[i];
	m.runroot = argv[i + 1];
	m.id = argv[i + 2];
	/* husk spawned us as its child (spawn.c): the monitor proper is our
	 * child, which no husk process waits for, and outlives it */
	pid_t self = fork();
	if (self < 0) {
		report(&m, errno, 125, "fork the monitor");
		return 1;
	}
	if (self > 0)
		_exit(0);
	if (client >= 0) {
		/* ours only: a step holding it would keep the client from
		 * seeing our end (a waiting exit step lives up to a second) */
		fcntl(client, F_SETFD, FD_CLOEXEC);
		add_client(&m, client);
	}
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
	husk_error *err = NULL;
	struct settings st;
	if (find_step(&m, &err) < 0 ||
	    (adopt ? adopt_settings(&m, &st, &err) : parse_settings(&m, settings, &st, &err)) < 0)
		return fail(&m, err, 125);
	if (adopt) {
		/* adopted: a failure from here on leaves the record naming a
		 * monitor that is gone, and the next command that looks adopts
		 * it again */
		m.pidfd = husk_pidfd_of(m.pid, st.pid_start);
		if (m.pidfd < 0) {
			report(&m, ESRCH, 125, "the container is not running");
			return 1;
		}
	} else {
		m.pid = 0;
	}
	m.listen_fd = husk_attach_listen(m.runroot, m.id, &err);
	if (m.listen_fd < 0 || (st.drv != HUSK_LOG_NONE &&
				husk_log_open(st.log_path, (enum husk_log_driver)st.drv,
					      st.max_size, st.max_file, &m.log, &err) < 0)) {
		husk_attach_unlink(m.runroot, m.id);
		return fail(&m, err, 125);
	}
	if (!adopt && start_container(&m, &err) < 0) {
		/* the record says how it ended, as Docker's does */
		char code[16];
		snprintf(code, sizeof(code), "%d", m.start_code);
		STEP(&m, "failed", code);
		husk_attach_unlink(m.runroot, m.id);
		return fail(&m, err, m.start_code);
	}
	char ok[32];
	snprintf(ok, sizeof(ok), "%d", (int)m.pid);
	report(&m, 0, 0, ok);
	arm_health(&m);
	loop(&m);
	return 0;
}

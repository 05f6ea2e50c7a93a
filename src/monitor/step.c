/* husk-monitor-step: what a container's monitor does that needs the
 * runtime, the record or the network, one step a process.
 *
 *   husk-monitor-step STEP ROOT RUNROOT ID [--husk PATH] [ARG]
 *
 * The monitor (husk-monitor, monitor.c) stays resident for as long as its
 * container runs, so it is built against musl with no library but libc
 * and holds only the container's stdio, its log and its clients.  Each
 * time it must read or change the record, start the container, tear it
 * down or run a healthcheck, it runs this binary (static, glibc, the
 * runtime's core linked in) as its child and reads the answer from the
 * exit status (and for init, a line on stdout; for start, a message on
 * fd 3).  A step lives a few milliseconds; the memory of the runtime's
 * code and of jansson is paid only then.  The monitor is the parent of
 * each step, so "the monitor" in the record is our parent.
 *
 * Steps:
 *   init [adopt]  the settings the monitor needs, one line on stdout
 *                 (husk_monitor_settings; a start gets them from husk in
 *                 its argv).  adopt: claim the running orphan under the
 *                 record's lock first (EALREADY when another monitor has
 *                 it).  On failure "ERR errno message".
 *   start [wait]  create and start the container with fds 0-2 as its
 *                 stdio; the result on fd 3 (sync.h): type 1 with the pid
 *                 and the pty master, or type 0 with errno, Docker's exit
 *                 code and a message.  The init is born the monitor's
 *                 child (init_to_parent).  wait (a client waits for the
 *                 exit): once started, this step lets go of the stdio and
 *                 is the exit's step (exited, below), told the code on
 *                 fd 3: the exit of a short run waits for no fork and no
 *                 exec of a step, the process being here and its code
 *                 paged in.
 *   exited CODE [force]  record the exit (OOM and die events), remove the
 *                 runtime's state and cgroup; exit 10 when the restart
 *                 policy (or force: --health-on-failure restart) says to
 *                 start it again, else finish (below) and exit 0.
 *                 start wait, once it has started the container: the
 *                 same, "CODE[ force]" coming on fd 3, the status
 *                 answered there as a byte before the trash is unlinked;
 *                 told nothing within a second (or EOF), exit 11 having
 *                 done nothing, and the exit runs an exited step.
 *   restart       the back-off is over: exit 1 when stop or rm came
 *                 meanwhile, else count the restart and exit 0.
 *   failed CODE   the first start failed: recorded as an exit, state and
 *                 cgroup removed, the container removed with --rm.
 *   finish        the end: the container removed with --rm, else the
 *                 record no longer names a monitor.
 *   health        one healthcheck: exit 2 when it made the container
 *                 unhealthy.
 *   unhealthy     --health-on-failure: exit 0 to leave it, 1 to kill it,
 *                 2 to kill it and start it again (stop: also recorded). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine-private.h"
#include "engine.h"
#include "fault.h"
#include "husk.h"
#include "logfile.h"
#include "record.h"
#include "sync.h"
#include "util.h"

#define STEP_RESTART 10
#define STEP_IDLE    11 /* start wait: told nothing, did nothing */
/* how long start wait waits for the code (monitor.c's run_prespawned_exit) */
#define EXITED_WAIT_MS 1000

struct step {
	struct husk_engine e;
	const char *id;
	pid_t monitor;
	pid_t pid;
	int64_t started_ns;
	bool doomed;
};

/* --- init --- */

/* adopt, under the record's lock: still an orphan (running, its monitor
 * gone, its init alive)?  Then the record names our parent as its
 * monitor; the monitor opens its own pidfd to the init and checks it is
 * the same process (by its start time). */
static int claim_orphan(struct husk_ctr *c, void *ud, husk_error **err)
{
	struct step *s = ud;
	bool live = c->state == HUSK_CTR_RUNNING || c->state == HUSK_CTR_PAUSED;
	if (live && husk_pid_alive(c->monitor_pid, c->monitor_start))
		return husk_fail_as(err, EALREADY, "container \"%s\" has a monitor", c->name);
	if (!live || !husk_pid_alive(c->pid, c->pid_start))
		return husk_fail_as(err, ESRCH, "container \"%s\" is not running", c->name);
	husk_record_set_monitor(c, s->monitor);
	return 0;
}

static int step_init(struct step *s, bool adopt)
{
	husk_error *err = NULL;
	struct husk_ctr c;
	if ((adopt && husk_record_update(s->e.root, s->id, claim_orphan, s, &err) < 0) ||
	    husk_record_load(s->e.root, s->id, &c, &err) < 0) {
		printf("ERR %d %s\n", err->errnum ? err->errnum : EIO, err->msg);
		husk_error_free(err);
		return 1;
	}
	cleanup_free char *line = husk_monitor_settings(&s->e, &c);
	printf("%s\n", line);
	husk_ctr_release(&c);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* --- start --- */

static int mark_running(struct husk_ctr *c, void *ud, husk_error **err)
{
	struct step *s = ud;
	(void)err;
	/* stop or rm came while we (re)started it: it is not to run.  The
	 * record keeps saying so; the process is killed once we return */
	s->doomed = c->state == HUSK_CTR_REMOVING || c->stopped_by_user;
	if (c->state != HUSK_CTR_REMOVING)
		c->state = HUSK_CTR_RUNNING;
	c->pid = s->pid;
	c->pid_start = husk_pid_starttime(s->pid);
	husk_record_set_monitor(c, s->monitor);
	c->started_ns = s->started_ns;
	c->has_exit = false;
	c->oom_killed = false;
	if (!s->doomed)
		husk_engine_event(&s->e, "start", c->id, c->name, c->image, NULL);
	if (c->test) {
		free(c->health_status);
		c->health_status = strdup("starting");
		c->health_streak = 0;
	}
	return 0;
}

static int wait_exit(struct step *s, int fd);

static int step_start(struct step *s, char **argv, char **envp, bool wait)
{
	const int sock = 3;
	/* this process enters the container: run from a binary no container
	 * can write (CVE-2019-5736) */
	husk_error *err = NULL;
	if (husk_ensure_sealed_exe(argv, envp, &err) < 0) {
		husk_sync_send(sock, 0, err->errnum ? err->errnum : EIO, 125, err->msg,
			       strlen(err->msg), -1);
		return 1;
	}
	s->started_ns = husk_time_ns();
	cleanup_free char *bundle = husk_engine_dir(&s->e, s->id);
	struct husk_create_opts co = {.state_root = s->e.runroot,
				      .id = s->id,
				      .bundle = bundle,
				      .start_now = true,
				      .init_to_parent = true,
				      .cpuset_when_asked = true};
	struct husk_created cr;
	/* Docker's codes when the process could not be executed (126, 127),
	 * 125 for every other failure, whatever its errno */
	cr.exec_failed = false;
	int r = husk_create(&co, &cr, &err);
	if (r == 0)
		HUSK_FAULT(engine_monitor_created);
	if (r < 0 || husk_run_start(&co, &cr, &err) < 0) {
		int code =
			cr.exec_failed ? husk_exit_code_of_exec_error(err ? err->errnum : 0) : 125;
		/* the exit code rides in the ns field */
		husk_sync_send(sock, 0, err && err->errnum ? err->errnum : EIO, (uint64_t)code,
			       err ? err->msg : "start failed", err ? strlen(err->msg) : 12, -1);
		return 1;
	}
	s->pid = cr.pid;
	if (husk_record_update(s->e.root, s->id, mark_running, s, NULL) < 0 || s->doomed)
		kill(s->pid, SIGKILL); /* reaped by the monitor, which ends it */
	husk_sync_send(sock, 1, 0, (uint64_t)cr.pid, NULL, 0, cr.pty_master);
	if (!wait)
		return 0;
	/* the container's stdio is the monitor's alone from here: its pipes
	 * end when the container's last holder goes */
	if (cr.pty_master >= 0)
		close(cr.pty_master);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && nul >= 0; fd++)
		dup2(nul, fd);
	if (nul > 2)
		close(nul);
	return wait_exit(s, sock);
}

/* --- exits and restarts --- */

struct exit_ud {
	struct step *s;
	int code;
	bool oom;   /* the OOM killer acted in its cgroup */
	bool force; /* to be started again whatever its policy */
	/* what the record said, read under its lock as the exit went in:
	 * what comes next needs no other read of it */
	bool read, rm, stop;
	enum husk_restart restart;
	int restart_count, restart_max;
};

static bool stopped(const struct husk_ctr *c)
{
	return c->stopped_by_user || c->state == HUSK_CTR_REMOVING;
}

/* Recorded with its events: oom (as Docker's, before die), die.  A --rm
 * container about to be removed gets its events only: its record goes
 * next, and clients hear the code from the monitor. */
static int mark_exited(struct husk_ctr *c, void *ud, husk_error **err)
{
	struct exit_ud *x = ud;
	(void)err;
	x->read = true;
	x->rm = c->rm;
	x->stop = stopped(c);
	x->restart = c->restart;
	x->restart_count = c->restart_count;
	x->restart_max = c->restart_max;
	c->state = HUSK_CTR_EXITED;
	c->has_exit = true;
	c->exit_code = x->code;
	c->oom_killed = x->oom;
	c->finished_ns = husk_time_ns();
	if (x->oom)
		husk_engine_event(&x->s->e, "oom", c->id, c->name, c->image, NULL);
	char code[16];
	snprintf(code, sizeof(code), "%d", x->code);
	husk_engine_event(&x->s->e, "die", c->id, c->name, c->image,
			  (const char *const[]){"exitCode", code, NULL});
	return c->rm && !x->force ? 1 : 0;
}

/* The runtime's state and cgroup removed, then the exit recorded.  Did
 * the OOM killer act in the container's memory cgroup during this run
 * (Docker's State.OOMKilled)?  Its count (v2 memory.events, v1
 * memory.oom_control: oom_kill) goes with the cgroup: the delete reads it
 * first. */
static void record_exit(struct step *s, int code, bool look_for_oom, bool force, struct exit_ud *x)
{
	long long ooms = 0;
	husk_delete_exited(s->e.runroot, s->id, &ooms, NULL);
	*x = (struct exit_ud){
		.s = s, .code = code, .oom = look_for_oom && ooms > 0, .force = force};
	husk_record_update(s->e.root, s->id, mark_exited, x, NULL);
}

/* By the record as the exit read it: a stop or rm coming after it is
 * seen by the restart step, which reads the record again */
static bool should_restart(const struct exit_ud *x, int code, bool force)
{
	if (!x->read || x->stop)
		return false;
	enum husk_restart p = x->restart;
	int count = x->restart_count, max = x->restart_max;
	if (force)
		return true;
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

static int count_restart(struct husk_ctr *c, void *ud, husk_error **err)
{
	(void)ud;
	(void)err;
	c->restart_count++;
	return 0;
}

static int step_restart(struct step *s)
{
	struct husk_ctr now;
	bool stop = true;
	if (husk_record_load(s->e.root, s->id, &now, NULL) == 0) {
		stop = stopped(&now);
		husk_ctr_release(&now);
	}
	if (stop)
		return 1;
	husk_record_update(s->e.root, s->id, count_restart, NULL, NULL);
	return 0;
}

static int clear_monitor(struct husk_ctr *c, void *ud, husk_error **err)
{
	(void)ud;
	(void)err;
	husk_record_clear_monitor(c);
	return 0;
}

/* --rm: the whole container, network included; else the record no longer
 * names a monitor, before any client hears of the exit: a `start` right
 * after it must not take the monitor's last moments for one waiting to
 * restart.  rm: the record's --rm, or -1 to read it */
static int step_finish(struct step *s, int rm)
{
	struct husk_ctr now;
	if (rm < 0) {
		rm = 0;
		if (husk_record_load(s->e.root, s->id, &now, NULL) == 0) {
			rm = now.rm;
			husk_ctr_release(&now);
		}
	}
	if (rm)
		husk_engine_cleanup(&s->e, s->id, true, NULL);
	else
		husk_record_update(s->e.root, s->id, clear_monitor, NULL, NULL);
	return 0;
}

/* --- healthchecks --- */

static int step_unhealthy(struct step *s)
{
	struct husk_ctr now;
	if (husk_record_load(s->e.root, s->id, &now, NULL) < 0)
		return 0;
	enum husk_health_action a = now.health_on_failure;
	husk_ctr_release(&now);
	switch (a) {
	case HUSK_HEALTH_STOP:
		husk_record_update(s->e.root, s->id, husk_record_set_stopped, NULL, NULL);
		return 1;
	case HUSK_HEALTH_KILL:
		return 1;
	case HUSK_HEALTH_RESTART:
		return 2;
	case HUSK_HEALTH_NONE:
	default:
		return 0;
	}
}

/* exited (or failed: the start failed): recorded, and either a restart
 * (STEP_RESTART) or the end */
static int step_exited(struct step *s, int code, bool failed, bool force)
{
	struct exit_ud x;
	record_exit(s, code, !failed, force, &x);
	if (failed) {
		if (x.read && x.rm)
			husk_engine_cleanup(&s->e, s->id, true, NULL);
		return 0;
	}
	if (should_restart(&x, code, force))
		return STEP_RESTART;
	return step_finish(s, x.read ? x.rm : -1);
}

/* The exit's answer is its status: with the container's directory in the
 * trash, the unlinking goes to a child of ours, so that the monitor hears
 * the status (and run --rm's client the code) without waiting for it.
 * The child is reparented to the monitor, a subreaper, which reaps it. */
static int answer(struct step *s, int status)
{
	if (!s->e.trash)
		return status;
	pid_t c = fork();
	if (c == 0) {
		husk_engine_rm_rf(s->e.trash);
		_exit(0);
	}
	if (c < 0)
		husk_engine_rm_rf(s->e.trash);
	return status;
}

/* start wait, the container started: told "CODE[ force]" on fd (the
 * monitor's socket) when it exits, then an exited step like any other,
 * the status answered on fd before the trash goes; told nothing within
 * a second (or EOF), STEP_IDLE having done nothing */
static int wait_exit(struct step *s, int fd)
{
	char line[48];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, EXITED_WAIT_MS) <= 0)
		return STEP_IDLE;
	ssize_t n = read(fd, line, sizeof(line) - 1);
	if (n <= 0)
		return STEP_IDLE;
	line[n] = '\0';
	char *sp = strchr(line, ' '), *nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	bool force = sp && strcmp(sp + 1, "force") == 0;
	if (sp)
		*sp = '\0';
	long code;
	if (husk_parse_long(line, &code) < 0)
		return STEP_IDLE;
	int status = step_exited(s, (int)code, false, force);
	unsigned char b = (unsigned char)status;
	if (write(fd, &b, 1) != 1)
		return answer(s, status);
	/* answered: the trash is ours to unlink, off the critical path */
	if (s->e.trash)
		husk_engine_rm_rf(s->e.trash);
	return status;
}

static int usage(void)
{
	fprintf(stderr, "usage: husk-monitor-step STEP ROOT RUNROOT ID [--husk PATH] [ARG...]\n"
			"(run by husk-monitor, not by hand)\n");
	return 64;
}

int main(int argc, char **argv, char **envp)
{
	if (argc < 5)
		return usage();
	/* a removal (--rm) leaves the directory's unlinking to answer() */
	struct step s = {.monitor = getppid(), .e.trash_later = true};
	const char *what = argv[1];
	s.e.root = argv[2];
	s.e.runroot = argv[3];
	s.id = argv[4];
	int i = 5;
	if (i + 1 < argc && strcmp(argv[i], "--husk") == 0) {
		s.e.self_path = argv[i + 1];
		i += 2;
	}
	const char *arg = i < argc ? argv[i] : NULL;
	long code = 0;
	if (strcmp(what, "init") == 0)
		return step_init(&s, arg && strcmp(arg, "adopt") == 0);
	if (strcmp(what, "start") == 0)
		return step_start(&s, argv, envp, arg && strcmp(arg, "wait") == 0);
	if (strcmp(what, "exited") == 0 || strcmp(what, "failed") == 0) {
		if (!arg || husk_parse_long(arg, &code) < 0)
			return usage();
		bool failed = what[0] == 'f';
		bool force = !failed && i + 1 < argc && strcmp(argv[i + 1], "force") == 0;
		return answer(&s, step_exited(&s, (int)code, failed, force));
	}
	if (strcmp(what, "restart") == 0)
		return step_restart(&s);
	if (strcmp(what, "finish") == 0)
		return answer(&s, step_finish(&s, -1));
	if (strcmp(what, "health") == 0) {
		/* the check enters the container: a sealed binary, as start */
		husk_error *err = NULL;
		if (husk_ensure_sealed_exe(argv, envp, &err) < 0) {
			husk_error_free(err);
			return 1;
		}
		bool bad = false;
		int r = husk_engine_health_check(&s.e, s.id, NULL, &bad, NULL);
		return r < 0 ? 1 : bad ? 2 : 0;
	}
	if (strcmp(what, "unhealthy") == 0)
		return step_unhealthy(&s);
	return usage();
}

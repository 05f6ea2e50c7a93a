/* Starting a monitor (husk-monitor, src/monitor/): for start, and with
 * adopt for a container whose monitor was killed while its init runs on.
 * Linked into the monitor too, which never starts one (it has no
 * monitor_path). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine-private.h"
#include "engine.h"
#include "logfile.h"
#include "record.h"
#include "util.h"

char *husk_monitor_settings(struct husk_engine *e, const struct husk_ctr *c)
{
	int drv = husk_log_driver_parse(c->log_driver ? c->log_driver : "json-file");
	cleanup_free char *log = husk_engine_log_path(e, c->id);
	return husk_strdup_printf("%d %d %d %lld %d %d %lld %d %llu %lld %s", c->tty,
				  c->interactive, drv < 0 ? HUSK_LOG_JSON_FILE : drv,
				  c->log_max_size, c->log_max_file, c->test != NULL,
				  (long long)c->health_interval_ns, (int)c->pid, c->pid_start,
				  (long long)c->started_ns, log);
}

/* Start the monitor with the status pipe on fd 3 and the client on fd 4,
 * in a session of its own.  It is spawned (vfork and exec: no copy of
 * husk's page tables, which two forks of the CLI paid, about a
 * millisecond each) as our child, and forks at once itself (a small
 * static process), so that the monitor proper is nobody's child that
 * could wait for it, and outlives us; we reap the one that exits.
 * settings: the record's, for a start (an adopting monitor reads them
 * when it has claimed the record) */
static pid_t spawn_monitor(struct husk_engine *e, const char *id, bool adopt, int status_w,
			   int client, char *settings)
{
	char *argv[14];
	size_t n = 0;
	argv[n++] = e->monitor_path;
	if (adopt)
		argv[n++] = "--adopt";
	argv[n++] = "--status-fd";
	argv[n++] = "3";
	if (client >= 0) {
		argv[n++] = "--client-fd";
		argv[n++] = "4";
	}
	if (e->self_path) {
		argv[n++] = "--husk";
		argv[n++] = e->self_path;
	}
	if (settings) {
		argv[n++] = "--settings";
		argv[n++] = settings;
	}
	argv[n++] = e->root;
	argv[n++] = e->runroot;
	argv[n++] = (char *)id;
	argv[n] = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	/* our fds are >= 3 (pipe2 and socketpair after stdio), so none of
	 * these overwrites a source still to be copied */
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
	posix_spawn_file_actions_adddup2(&fa, 0, 1);
	posix_spawn_file_actions_adddup2(&fa, 0, 2);
	posix_spawn_file_actions_adddup2(&fa, status_w, 3);
	if (client >= 0)
		posix_spawn_file_actions_adddup2(&fa, client, 4);
	posix_spawn_file_actions_addclosefrom_np(&fa, client >= 0 ? 5 : 4);
	sigset_t none, dfl;
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	pid_t p;
	int r = posix_spawn(&p, e->monitor_path, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r != 0) {
		errno = r;
		return -1;
	}
	return p;
}

int husk_engine_run_monitor(struct husk_engine *e, const char *id, const struct husk_ctr *c,
			    int *ret_client, int *ret_code, husk_error **err)
{
	int st[2], cl[2] = {-1, -1};
	/* a start passes the record it has read; an adopting monitor reads
	 * it itself, once it has claimed it */
	cleanup_free char *settings = c ? husk_monitor_settings(e, c) : NULL;
	if (pipe2(st, O_CLOEXEC) < 0)
		return husk_fail(err, errno, "pipe");
	if (ret_client && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, cl) < 0) {
		int en = errno;
		close(st[0]);
		close(st[1]);
		return husk_fail(err, en, "socketpair");
	}
	pid_t p = spawn_monitor(e, id, !c, st[1], cl[1], settings);
	int en = errno;
	close(st[1]);
	if (cl[1] >= 0)
		close(cl[1]);
	if (p < 0) {
		close(st[0]);
		if (cl[0] >= 0)
			close(cl[0]);
		return husk_fail(err, en, "start the monitor");
	}
	while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
		;
	cleanup_free char *msg = NULL;
	size_t len = 0;
	int r = husk_read_fd_all(st[0], &msg, &len, err);
	close(st[0]);
	/* "0 PID", or "ERRNO CODE MESSAGE" */
	long errnum = -1, code = 125;
	char *sp = r == 0 ? strchr(msg, ' ') : NULL;
	if (sp) {
		*sp = '\0';
		if (husk_parse_long(msg, &errnum) < 0)
			errnum = -1;
	}
	if (sp && errnum > 0) {
		char *sp2 = strchr(sp + 1, ' ');
		if (sp2) {
			*sp2 = '\0';
			if (husk_parse_long(sp + 1, &code) < 0)
				code = 125;
			sp = sp2;
		}
	}
	if (ret_code)
		*ret_code = (int)code;
	if (r == 0 && errnum == 0) {
		if (ret_client)
			*ret_client = cl[0];
		return 0;
	}
	if (cl[0] >= 0)
		close(cl[0]);
	if (r < 0)
		return -1;
	if (errnum < 0)
		return husk_fail(err, EIO,
				 "the monitor of \"%.12s\" (%s) died before it said how "
				 "the start went",
				 id, e->monitor_path);
	return husk_fail_as(err, (int)errnum, "%s", sp + 1);
}

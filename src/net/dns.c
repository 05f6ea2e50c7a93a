/* Starting the resolver of user-defined networks (src/dns/husk-dns.c)
 * when a container joins one and none runs.  It holds <state>/dns.lock
 * for its life; whether it runs is asked of that lock, under the name
 * tables' lock, which it takes too before it exits for want of tables:
 * so a container joining a network finds it running (and staying: its
 * table is there) or starts one. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net-private.h"
#include "util.h"

static int lock_file(const char *name, int how, husk_error **err)
{
	cleanup_free char *p = husk_strdup_printf("%s/%s", husk_net_state_dir(), name);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", p);
	if (flock(fd, how) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return -EWOULDBLOCK;
		return husk_fail(err, e, "lock \"%s\"", p);
	}
	return fd;
}

int husk_dns_ensure(const char *dns_path, husk_error **err)
{
	if (husk_mkdir_p(husk_net_state_dir(), 0755, err) < 0)
		return -1;
	if (access(dns_path, X_OK) < 0)
		return husk_fail(err, errno, "the resolver \"%s\"", dns_path);
	cleanup_close int names = lock_file("names.lock", LOCK_EX, err);
	if (names < 0)
		return -1;
	int dns = lock_file("dns.lock", LOCK_EX | LOCK_NB, err);
	if (dns == -EWOULDBLOCK)
		return 0; /* it runs */
	if (dns < 0)
		return -1;
	close(dns);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_fail(err, errno, "pipe");
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		int nul = open("/dev/null", O_RDWR);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0 ||
		    dup2(p[1], 3) < 0)
			_exit(1);
		syscall(SYS_close_range, 4, ~0U, 0);
		execl(dns_path, dns_path, "--ready-fd", "3", husk_net_state_dir(), (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return husk_fail(err, errno, "start the resolver");
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	/* EOF when it listens (or died) */
	struct pollfd pf = {.fd = p[0], .events = POLLIN};
	char c;
	if (poll(&pf, 1, 5000) == 1)
		(void)!read(p[0], &c, 1);
	close(p[0]);
	return 0;
}

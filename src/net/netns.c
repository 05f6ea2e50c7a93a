/* Persistent network namespaces, as `ip netns add` makes them: a new
 * netns bind-mounted on a file, so that it outlives every process in it
 * and the OCI config can name it by path. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/mount.h>
#include <unistd.h>

#include "net-private.h"
#include "util.h"

int net_in_child(int (*fn)(void *arg, husk_error **err), void *arg, husk_error **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_fail(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return husk_fail(err, e, "fork");
	}
	if (pid == 0) {
		close(p[0]);
		husk_error *e = NULL;
		if (fn(arg, &e) == 0)
			_exit(0);
		/* errno, then the message */
		int code = e ? e->errnum : 0;
		const char *msg = e && e->msg ? e->msg : "failed";
		if (write(p[1], &code, sizeof(code)) == sizeof(code))
			(void)!write(p[1], msg, strlen(msg));
		_exit(1);
	}
	close(p[1]);
	int code = 0;
	char msg[1024];
	ssize_t n = read(p[0], &code, sizeof(code));
	ssize_t m = n == sizeof(code) ? read(p[0], msg, sizeof(msg) - 1) : 0;
	close(p[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	msg[m > 0 ? m : 0] = '\0';
	/* the message names the errno already; keep the number */
	husk_fail(err, 0, "%s", m > 0 ? msg : "the network helper process died");
	if (err && *err)
		(*err)->errnum = code;
	return -1;
}

static int create_in_child(void *arg, husk_error **err)
{
	const char *path = arg;
	if (unshare(CLONE_NEWNET) < 0)
		return husk_fail(err, errno, "unshare the network namespace");
	/* same mount namespace as the engine: the bind outlives us */
	if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
		return husk_fail(err, errno, "bind the network namespace on \"%s\"", path);
	return 0;
}

/* A child unshares a netns and pins it on path: the engine itself never
 * changes its netns, threads or not. */
int net_ns_create(const char *path, husk_error **err)
{
	int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_fail(err, errno, "create \"%s\"", path);
	close(fd);
	if (net_in_child(create_in_child, (void *)path, err) < 0) {
		unlink(path);
		return -1;
	}
	return 0;
}

void net_ns_remove(const char *path)
{
	umount2(path, MNT_DETACH);
	unlink(path);
}

/* The attach protocol (attach.h), its socket: the monitor's end (listen,
 * send) and the client's connect.  No library but libc: the monitor,
 * built against musl, links it. */
#define _GNU_SOURCE
#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

/* sun_path of <runroot>/attach/<id> through an fd of the dir */
static int attach_addr(const char *runroot, bool make, struct sockaddr_un *sa, int *ret_dirfd,
		       const char *id, husk_error **err)
{
	cleanup_free char *dir = husk_strdup_printf("%s/attach", runroot);
	if (make && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return husk_fail(err, errno, "mkdir \"%s\"", dir);
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return husk_fail(err, errno == ENOENT ? ENOTCONN : errno, "open \"%s\"", dir);
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%.64s", dfd, id);
	*ret_dirfd = dfd;
	return 0;
}

int husk_attach_listen(const char *runroot, const char *id, husk_error **err)
{
	struct sockaddr_un sa;
	cleanup_close int dfd = -1;
	if (attach_addr(runroot, true, &sa, &dfd, id, err) < 0)
		return -1;
	unlinkat(dfd, id, 0);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return husk_fail(err, errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		close(fd);
		return husk_fail(err, e, "listen on \"%s/attach/%s\"", runroot, id);
	}
	return fd;
}

int husk_attach_connect(const char *runroot, const char *id, husk_error **err)
{
	struct sockaddr_un sa;
	cleanup_close int dfd = -1;
	if (attach_addr(runroot, false, &sa, &dfd, id, err) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return husk_fail(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			e = ENOTCONN;
		return husk_fail(err, e, "attach to container \"%.12s\"", id);
	}
	return fd;
}

void husk_attach_unlink(const char *runroot, const char *id)
{
	cleanup_free char *p = husk_strdup_printf("%s/attach/%s", runroot, id);
	unlink(p);
}

int husk_attach_send(int fd, int type, const void *buf, size_t len)
{
	char pkt[HUSK_ATT_MAX];
	if (len > sizeof(pkt) - 1)
		len = sizeof(pkt) - 1;
	pkt[0] = (char)type;
	if (len)
		memcpy(pkt + 1, buf, len);
	for (;;) {
		ssize_t n = send(fd, pkt, len + 1, MSG_NOSIGNAL);
		if (n >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			if (poll(&p, 1, 5000) > 0)
				continue;
		}
		return -errno;
	}
}

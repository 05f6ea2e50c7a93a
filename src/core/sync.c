#define _GNU_SOURCE
#include "sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

struct wire {
	uint32_t type;
	int32_t errnum;
	uint64_t ns;
};

static int send_with_fd(int sock, struct iovec *iov, int iovcnt, int fd)
{
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	for (;;) {
		ssize_t r = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (r >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int husk_sync_send(int sock, uint32_t type, int errnum, uint64_t ns, const char *payload,
		   size_t len, int fd)
{
	struct wire w = {.type = type, .errnum = errnum, .ns = ns};
	if (len > SYNC_MAX_PAYLOAD)
		len = SYNC_MAX_PAYLOAD;
	struct iovec iov[2] = {{&w, sizeof(w)}, {(void *)payload, len}};
	return send_with_fd(sock, iov, payload && len ? 2 : 1, fd);
}

int husk_sync_recv(int sock, struct husk_sync_msg *m)
{
	struct wire w;
	struct iovec iov[2] = {{&w, sizeof(w)}, {m->payload, SYNC_MAX_PAYLOAD}};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = iov,
			    .msg_iovlen = 2,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t r;
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == ECONNRESET ? 0 : -errno;
	if (r == 0)
		return 0;
	if ((size_t)r < sizeof(w))
		return -EPROTO;
	m->type = w.type;
	m->errnum = w.errnum;
	m->ns = w.ns;
	m->len = (size_t)r - sizeof(w);
	m->payload[m->len] = '\0';
	m->fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&m->fd, CMSG_DATA(c), sizeof(int));
	return 1;
}

int husk_send_fd(int sock, int fd, const char *payload, size_t len)
{
	char dummy = '\0';
	struct iovec iov = {payload && len ? (void *)payload : &dummy, payload && len ? len : 1};
	return send_with_fd(sock, &iov, 1, fd);
}

int husk_recv_fd(int sock, int *ret_fd)
{
	struct husk_sync_msg m;
	char buf[256];
	struct iovec iov = {buf, sizeof(buf)};
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.b,
			    .msg_controllen = sizeof(u.b)};
	(void)m;
	ssize_t r;
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	*ret_fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
	return *ret_fd >= 0 ? 0 : -EBADMSG;
}

int husk_connect_unix(const char *path, husk_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return husk_fail(err, ENAMETOOLONG, "socket \"%s\"", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return husk_fail(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return husk_fail(err, e, "connect to \"%s\"", path);
	}
	return fd;
}

int husk_send_pidfd(int sock, pid_t pid, const char *kind, husk_error **err)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		int e = errno;
		close(sock);
		return husk_fail(err, e, "--pidfd-socket: pidfd_open(%d)", (int)pid);
	}
	int r = husk_send_fd(sock, pidfd, kind, strlen(kind));
	close(pidfd);
	close(sock);
	if (r < 0)
		return husk_fail(err, -r, "--pidfd-socket: send the pidfd of %d", (int)pid);
	return 0;
}

int husk_pty_to_caller(const char *console_socket, int fd, int *master, husk_error **err)
{
	if (fd < 0)
		return husk_fail(err, EPROTO, "no pty from the container");
	if (!console_socket) {
		if (*master >= 0)
			close(*master);
		*master = fd;
		return 0;
	}
	int sock = husk_connect_unix(console_socket, err);
	if (sock < 0) {
		close(fd);
		return husk_error_wrap(err, "console socket");
	}
	int r = husk_send_fd(sock, fd, "/dev/ptmx", 9);
	close(sock);
	close(fd);
	if (r < 0)
		return husk_fail(err, -r, "send the pty master to the console socket \"%s\"",
				 console_socket);
	return 0;
}

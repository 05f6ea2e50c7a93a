/* seccomp-agent SOCKET: a minimal seccomp notify agent for the tests.
 * Listens on the unix socket SOCKET, accepts one connection, receives the
 * listener fd (SCM_RIGHTS) and the state JSON; prints the JSON as its first
 * line, then answers every notification with a fake success (return value
 * 0, the syscall not done), printing "notif NR" for each, until the
 * container's filter has no user left. */
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: seccomp-agent SOCKET\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strncpy(sa.sun_path, argv[1], sizeof(sa.sun_path) - 1);
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0) {
		perror("seccomp-agent: listen");
		return 1;
	}
	int c = accept(ls, NULL, NULL);
	if (c < 0) {
		perror("seccomp-agent: accept");
		return 1;
	}
	static char json[1 << 16];
	size_t len = 0;
	int fd = -1;
	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = {.iov_base = json + len, .iov_len = sizeof(json) - 1 - len};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		ssize_t n = recvmsg(c, &mh, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("seccomp-agent: recvmsg");
			return 1;
		}
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
				memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
		if (n == 0 || len + (size_t)n >= sizeof(json) - 1)
			break;
		len += (size_t)n;
	}
	json[len] = 0;
	close(c);
	close(ls);
	printf("%s\n", json);
	if (fd < 0) {
		fprintf(stderr, "seccomp-agent: no fd received\n");
		return 1;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("seccomp-agent: poll");
			return 1;
		}
		if (!(p.revents & POLLIN))
			break; /* POLLHUP: no process uses the filter any more */
		struct seccomp_notif req;
		memset(&req, 0, sizeof(req));
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			perror("seccomp-agent: NOTIF_RECV");
			return 1;
		}
		printf("notif %d\n", req.data.nr);
		struct seccomp_notif_resp resp = {.id = req.id, .val = 0, .error = 0, .flags = 0};
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT) {
			perror("seccomp-agent: NOTIF_SEND");
			return 1;
		}
	}
	return 0;
}

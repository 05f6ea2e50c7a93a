/* recvtty SOCKET [INPUT]: listen on the unix socket SOCKET, accept one
 * connection, receive one fd by SCM_RIGHTS (a pty master from
 * --console-socket), write INPUT to it if given, then copy what the
 * container writes to the pty to stdout until the slave side is closed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: recvtty SOCKET [INPUT]\n");
		return 2;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strncpy(sa.sun_path, argv[1], sizeof(sa.sun_path) - 1);
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0) {
		perror("recvtty: listen");
		return 1;
	}
	int c = accept(ls, NULL, NULL);
	if (c < 0) {
		perror("recvtty: accept");
		return 1;
	}
	char buf[4096];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	if (recvmsg(c, &mh, 0) < 0) {
		perror("recvtty: recvmsg");
		return 1;
	}
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "recvtty: no fd received\n");
		return 1;
	}
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	close(c);
	close(ls);
	if (argc > 2) {
		size_t n = strlen(argv[2]);
		if (write(fd, argv[2], n) != (ssize_t)n || write(fd, "\n", 1) != 1) {
			perror("recvtty: write");
			return 1;
		}
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) /* EIO: the last slave fd is closed */
			break;
		if (write(1, buf, (size_t)n) != n)
			return 1;
	}
	return 0;
}

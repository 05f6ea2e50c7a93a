/* pidfd-recv SOCKET [SIGNAL [GOFILE]]: what a --pidfd-socket client does (runc's
 * tests/cmd/pidfd-kill): listen on the unix socket SOCKET, accept one
 * connection, receive one fd by SCM_RIGHTS, and print
 *     PAYLOAD PID
 * where PID is the process the fd refers to, read from the "Pid:" line of
 * its fdinfo, which only a pidfd has.  With SIGNAL (a number), then send
 * it through the pidfd (pidfd_send_signal) and print "sent"; with GOFILE,
 * only once that file exists (at most 10 s). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: pidfd-recv SOCKET [SIGNAL]\n");
		return 2;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strncpy(sa.sun_path, argv[1], sizeof(sa.sun_path) - 1);
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0) {
		perror("pidfd-recv: listen");
		return 1;
	}
	int c = accept(ls, NULL, NULL);
	if (c < 0) {
		perror("pidfd-recv: accept");
		return 1;
	}
	char buf[256];
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.b,
			    .msg_controllen = sizeof(u.b)};
	ssize_t n = recvmsg(c, &mh, 0);
	if (n < 0) {
		perror("pidfd-recv: recvmsg");
		return 1;
	}
	buf[n] = '\0';
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "pidfd-recv: no fd received\n");
		return 1;
	}
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "r");
	long pid = 0;
	int found = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %ld", &pid) == 1)
			found = 1;
	if (!found) {
		fprintf(stderr, "pidfd-recv: fd %d is not a pidfd (no Pid: in its fdinfo)\n", fd);
		return 1;
	}
	printf("%s %ld\n", buf, pid);
	fflush(stdout);
	if (argc > 2) {
		for (int i = 0; argc > 3 && access(argv[3], F_OK) < 0 && i < 1000; i++)
			nanosleep(&(struct timespec){0, 10000000}, NULL);
		if (syscall(SYS_pidfd_send_signal, fd, (int)strtol(argv[2], NULL, 10), NULL, 0) <
		    0) {
			perror("pidfd-recv: pidfd_send_signal");
			return 1;
		}
		printf("sent\n");
	}
	return 0;
}

/* Messages between the runtime (parent) and the container's init (child)
 * over a SOCK_SEQPACKET socketpair: one message per packet, an optional fd
 * passed along with SCM_RIGHTS. */
#ifndef HUSK_SYNC_H
#define HUSK_SYNC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum husk_sync_type {
	SYNC_TRACE = 1,	    /* child -> parent: a step and how long it took */
	SYNC_ERROR,	    /* child -> parent: setup failed, payload is the message */
	SYNC_GO,	    /* parent -> child: id maps written, carry on */
	SYNC_RUNTIME_HOOKS, /* child -> parent: run prestart + createRuntime now */
	SYNC_HOOKS_DONE,    /* parent -> child */
	SYNC_PTY,	    /* child -> parent: the pty master, as an fd */
	SYNC_CREATED,	    /* child -> parent: all set up, waiting for start */
	SYNC_START,	    /* parent -> child (run): start without the fifo */
	SYNC_EXEC_FAILED,   /* child -> parent: the final execve failed */
	SYNC_PID,	    /* exec: the process to wait for (errnum holds its pid) */
	SYNC_NETDEVS,	    /* child -> parent: in the final netns, move linux.netDevices */
	SYNC_NETDEVS_DONE,  /* parent -> child */
};

#define SYNC_MAX_PAYLOAD 4000

struct husk_sync_msg {
	uint32_t type;
	int32_t errnum;
	uint64_t ns;
	char payload[SYNC_MAX_PAYLOAD + 1];
	size_t len;
	int fd; /* -1 unless one came along */
};

int husk_sync_send(int sock, uint32_t type, int errnum, uint64_t ns, const char *payload,
		   size_t len, int fd);
/* Returns 0 on EOF (the peer closed or exec'd), 1 for a message, <0 -errno. */
int husk_sync_recv(int sock, struct husk_sync_msg *m);

/* Plain fd passing on a connected unix socket (console socket, seccomp agent). */
int husk_send_fd(int sock, int fd, const char *payload, size_t len);
int husk_recv_fd(int sock, int *ret_fd);

#include "error.h"

/* Connect a SOCK_STREAM unix socket to path (close-on-exec). */
int husk_connect_unix(const char *path, husk_error **err);
/* --pidfd-socket (runc 1.2): a pidfd of pid sent with SCM_RIGHTS over sock
 * (connected beforehand), the payload naming the kind of process as runc
 * does ("standard" for a container's init, "setns" for exec).  Closes
 * sock. */
int husk_send_pidfd(int sock, pid_t pid, const char *kind, husk_error **err);

/* A pty master from the container: to the console socket when one was
 * given (closing our copy), else kept in *master for the caller. */
int husk_pty_to_caller(const char *console_socket, int fd, int *master, husk_error **err);

#endif

/* The attach protocol between a container's monitor and its clients
 * (`husk run` in the foreground, `start -a`, `attach`).
 *
 * The monitor listens on <runroot>/attach/<id>, a SOCK_SEQPACKET unix
 * socket: every message is one packet, its first byte the type, the rest
 * its payload, so nothing needs framing.  A client that connects gets
 * the container's output from then on; what came before is in the log. */
#ifndef HUSK_ENGINE_ATTACH_H
#define HUSK_ENGINE_ATTACH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

enum husk_attach_msg {
	/* monitor -> client */
	HUSK_ATT_STDOUT = 1, /* bytes */
	HUSK_ATT_STDERR = 2, /* bytes */
	HUSK_ATT_EXIT = 3,   /* int32: the exit code, after --rm removal */
	/* client -> monitor */
	HUSK_ATT_STDIN = 16,	 /* bytes */
	HUSK_ATT_STDIN_EOF = 17, /* nothing */
	HUSK_ATT_RESIZE = 18,	 /* uint16 rows, uint16 cols */
	HUSK_ATT_SIGNAL = 19,	 /* int32 */
};

/* Largest packet: a type byte and 32 KiB */
#define HUSK_ATT_MAX (1 + 32768)

/* <runroot>/attach/<id>; the socket is bound and connected through an fd
 * of that directory, so that long runroots fit sun_path. */
int husk_attach_connect(const char *runroot, const char *id, husk_error **err);
int husk_attach_listen(const char *runroot, const char *id, husk_error **err);
void husk_attach_unlink(const char *runroot, const char *id);

int husk_attach_send(int fd, int type, const void *buf, size_t len);

struct husk_attach_opts {
	bool tty;		       /* the caller's terminal goes raw, resizes are forwarded */
	bool stdin_open;	       /* copy our stdin to the container */
	bool sig_proxy;		       /* forward the signals we get to the container */
	bool quiet;		       /* drop output (run -d with a pre-attached client) */
	bool drop_stdout, drop_stderr; /* run -a: the streams not asked for */
	const char *detach_keys;       /* "ctrl-p,ctrl-q" (NULL: that default; "" none) */
};

/* Proxy between our stdio and the monitor's socket until the container
 * exits (returns its exit code), the user detaches (returns -2 with
 * errno 0 in err), or the monitor goes away (-1, ECONNRESET). */
int husk_attach_proxy(int sock, const struct husk_attach_opts *o, husk_error **err);

#endif

/* The attach protocol (attach.h): the client's side, which copies between
 * our stdio and the container (the socket itself: attachsock.c). */
#define _GNU_SOURCE
#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "tty.h"
#include "util.h"

/* cli_forward_cooked_input's end: the monitor's socket, an end-of-file
 * mark as ^D */
static void send_cooked(void *ud, const char *buf, size_t len)
{
	husk_attach_send(*(int *)ud, HUSK_ATT_STDIN, buf ? buf : "\004", buf ? len : 1);
}

static void send_winsize(int sock)
{
	struct winsize ws;
	if (ioctl(0, TIOCGWINSZ, &ws) < 0)
		return;
	uint16_t rc[2] = {ws.ws_row, ws.ws_col};
	husk_attach_send(sock, HUSK_ATT_RESIZE, rc, sizeof(rc));
}

struct proxy {
	int sock, sfd;
	bool in_open;
	char keys[8];
	size_t n_keys, matched;
};

/* our stdin to the container; returns -2 when the detach keys came */
static int copy_stdin(struct proxy *p, const struct husk_attach_opts *o)
{
	char buf[8192];
	ssize_t n = read(0, buf, sizeof(buf));
	if (n <= 0) {
		p->in_open = false;
		husk_attach_send(p->sock, HUSK_ATT_STDIN_EOF, NULL, 0);
		return 0;
	}
	if (o->tty && p->n_keys) {
		/* the keys in a row detach; a partial match is held back
		 * until it fails, then sent as typed */
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == p->keys[p->matched]) {
				if (++p->matched == p->n_keys)
					return -2;
				continue;
			}
			if (p->matched) {
				husk_attach_send(p->sock, HUSK_ATT_STDIN, p->keys, p->matched);
				p->matched = 0;
			}
			husk_attach_send(p->sock, HUSK_ATT_STDIN, buf + i, 1);
		}
		return 0;
	}
	husk_attach_send(p->sock, HUSK_ATT_STDIN, buf, (size_t)n);
	return 0;
}

int husk_attach_proxy(int sock, const struct husk_attach_opts *o, husk_error **err)
{
	struct proxy p = {.sock = sock, .in_open = o->stdin_open};
	p.n_keys = cli_detach_keys_parse(o->detach_keys ? o->detach_keys : "ctrl-p,ctrl-q", p.keys,
					 sizeof(p.keys));
	sigset_t mask, old;
	sigemptyset(&mask);
	if (o->sig_proxy) {
		int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
		for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
			sigaddset(&mask, sigs[i]);
	}
	sigaddset(&mask, SIGWINCH);
	sigaddset(&mask, SIGPIPE);
	sigprocmask(SIG_BLOCK, &mask, &old);
	p.sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	struct termios saved;
	bool raw = false;
	if (o->tty && isatty(0) && tcgetattr(0, &saved) == 0) {
		if (o->stdin_open)
			cli_forward_cooked_input(send_cooked, &sock);
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(0, TCSANOW, &t) == 0;
		send_winsize(sock);
	}
	int rc = -1;
	char *pkt = malloc(HUSK_ATT_MAX);
	if (!pkt)
		abort();
	for (;;) {
		struct pollfd f[3] = {{.fd = sock, .events = POLLIN},
				      {.fd = p.sfd, .events = POLLIN},
				      {.fd = p.in_open ? 0 : -1, .events = POLLIN}};
		if (poll(f, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			husk_fail(err, errno, "poll");
			break;
		}
		if (f[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(p.sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGWINCH)
					send_winsize(sock);
				else if (si.ssi_signo != SIGPIPE) {
					int32_t s = (int32_t)si.ssi_signo;
					husk_attach_send(sock, HUSK_ATT_SIGNAL, &s, sizeof(s));
				}
			}
		}
		if (f[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (copy_stdin(&p, o) == -2) {
				husk_fail(err, 0, "detached");
				rc = -2;
				break;
			}
		}
		if (f[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(sock, pkt, HUSK_ATT_MAX, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				husk_fail(err, ECONNRESET, "the container's monitor went away");
				break;
			}
			if (pkt[0] == HUSK_ATT_EXIT && n >= 5) {
				int32_t code;
				memcpy(&code, pkt + 1, sizeof(code));
				rc = code;
				break;
			}
			if (!o->quiet && ((pkt[0] == HUSK_ATT_STDOUT && !o->drop_stdout) ||
					  (pkt[0] == HUSK_ATT_STDERR && !o->drop_stderr)))
				husk_write_all(pkt[0] == HUSK_ATT_STDOUT ? 1 : 2, pkt + 1,
					       (size_t)n - 1);
		}
	}
	free(pkt);
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	close(p.sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

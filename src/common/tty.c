/* The foreground side of run and exec: forward signals to the container's
 * process, copy between our terminal and its pty, and wait for it. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "tty.h"
#include "util.h"

int parse_signal(const char *s, int *ret)
{
	long n;
	if (husk_parse_long(s, &n) == 0) {
		if (n <= 0 || n > SIGRTMAX)
			return -1;
		*ret = (int)n;
		return 0;
	}
	const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (int i = 1; i < SIGRTMIN; i++) {
		const char *abbr = sigabbrev_np(i);
		if (abbr && strcasecmp(abbr, name) == 0) {
			*ret = i;
			return 0;
		}
	}
	if (strncasecmp(name, "RTMIN", 5) == 0 || strncasecmp(name, "RTMAX", 5) == 0) {
		bool min = strncasecmp(name, "RTMIN", 5) == 0;
		long off = 0;
		const char *rest = name + 5;
		if (*rest && (husk_parse_long(rest, &off) < 0))
			return -1;
		int v = min ? SIGRTMIN + (int)off : SIGRTMAX + (int)off;
		if (v < SIGRTMIN || v > SIGRTMAX)
			return -1;
		*ret = v;
		return 0;
	}
	return -1;
}

static void copy_once(int from, int to, bool *open_)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0) {
		*open_ = false;
		return;
	}
	husk_write_all(to, buf, (size_t)n);
}

/* What the terminal completed in canonical mode before we go raw (lines
 * typed ahead, end-of-file marks) goes to the container now, read as the
 * terminal meant it.  An end-of-file mark (^D at the start of a line, which
 * script(1) sends as soon as its own stdin ends, as under CI) waits in the
 * kernel's buffer as a NUL byte that only canonical reads skip: read raw, it
 * came out as a "\0" that the container's pty echoed back as "^@" before
 * the output.  Read here it is an end of file, and send() is told so
 * (buf NULL), to pass on the container's terminal's EOF character. */
void cli_forward_cooked_input(void (*send)(void *ud, const char *buf, size_t len), void *ud)
{
	struct termios t;
	if (tcgetattr(0, &t) < 0 || !(t.c_lflag & ICANON))
		return;
	/* poll says POLLIN in canonical mode only for a whole line or a mark,
	 * so the read does not block; a partial line stays for the raw loop */
	for (int i = 0; i < 64; i++) {
		struct pollfd p = {.fd = 0, .events = POLLIN};
		if (poll(&p, 1, 0) <= 0 || (p.revents & (POLLHUP | POLLERR)) ||
		    !(p.revents & POLLIN))
			return;
		char buf[4096];
		ssize_t n = read(0, buf, sizeof(buf));
		if (n < 0)
			return;
		send(ud, n > 0 ? buf : NULL, (size_t)n);
	}
}

/* to a pty master: the bytes, or its own EOF character (none when the
 * container's terminal has it disabled) */
static void send_to_master(void *ud, const char *buf, size_t len)
{
	int master = *(int *)ud;
	if (buf) {
		husk_write_all(master, buf, len);
		return;
	}
	struct termios ct;
	char eof = tcgetattr(master, &ct) == 0 ? (char)ct.c_cc[VEOF] : '\004';
	if (eof != _POSIX_VDISABLE)
		husk_write_all(master, &eof, 1);
}

int cli_wait_and_proxy(pid_t pid, int master)
{
	sigset_t mask, old;
	sigfillset(&mask);
	sigdelset(&mask, SIGSEGV);
	sigdelset(&mask, SIGBUS);
	sigdelset(&mask, SIGILL);
	sigdelset(&mask, SIGFPE);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	struct termios saved;
	bool raw = false;
	if (master >= 0 && isatty(0) && tcgetattr(0, &saved) == 0) {
		cli_forward_cooked_input(send_to_master, &master);
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(0, TCSANOW, &t) == 0;
		struct winsize ws;
		if (ioctl(0, TIOCGWINSZ, &ws) == 0)
			ioctl(master, TIOCSWINSZ, &ws);
	}
	bool in_open = master >= 0, out_open = master >= 0;
	int status = 0;
	/* it may have exited before SIGCHLD was blocked, and then that signal
	 * was discarded: look once before waiting for it */
	bool done = waitpid(pid, &status, WNOHANG) == pid;
	while (!done) {
		struct pollfd p[3] = {{.fd = sfd, .events = POLLIN},
				      {.fd = in_open ? 0 : -1, .events = POLLIN},
				      {.fd = out_open ? master : -1, .events = POLLIN}};
		int n = poll(p, 3, -1);
		if (n < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					pid_t w;
					while ((w = waitpid(-1, &status, WNOHANG)) > 0)
						if (w == pid)
							done = true;
				} else if (si.ssi_signo == SIGWINCH && master >= 0) {
					struct winsize ws;
					if (ioctl(0, TIOCGWINSZ, &ws) == 0)
						ioctl(master, TIOCSWINSZ, &ws);
				} else {
					kill(pid, (int)si.ssi_signo);
				}
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP))
			copy_once(0, master, &in_open);
		if (p[2].revents & (POLLIN | POLLHUP))
			copy_once(master, 1, &out_open);
	}
	/* what the process wrote just before it exited is still in the pty */
	while (master >= 0 && out_open) {
		struct pollfd pm = {.fd = master, .events = POLLIN};
		if (poll(&pm, 1, 0) <= 0 || !(pm.revents & POLLIN))
			break;
		copy_once(master, 1, &out_open);
	}
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	if (master >= 0)
		close(master);
	close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

/* The foreground side of run and exec: forward signals to the container's
 * process, copy between our terminal and its pty, and wait for it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

/* "ctrl-p,ctrl-q" -> the bytes 0x10 0x11; "a,b" the letters */
size_t cli_detach_keys_parse(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	cleanup_free char *copy = strdup(s);
	if (!copy)
		return 0;
	for (char *save = NULL, *k = strtok_r(copy, ",", &save); k && n < cap;
	     k = strtok_r(NULL, ",", &save)) {
		if (strncasecmp(k, "ctrl-", 5) == 0 && strlen(k) == 6) {
			char ch = k[5];
			if (ch >= 'a' && ch <= 'z')
				out[n++] = (char)(ch - 'a' + 1);
			else if (ch >= '@' && ch <= '_')
				out[n++] = (char)(ch - '@');
		} else if (strlen(k) == 1) {
			out[n++] = k[0];
		}
	}
	return n;
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

/* our stdin to the pty; true when the detach keys came (a partial match
 * is held back until it fails, then sent as typed) */
static bool copy_stdin(int master, bool *open_, const char *keys, size_t n_keys, size_t *matched)
{
	char buf[8192];
	ssize_t n = read(0, buf, sizeof(buf));
	if (n <= 0) {
		*open_ = false;
		return false;
	}
	if (!n_keys) {
		husk_write_all(master, buf, (size_t)n);
		return false;
	}
	size_t from = 0;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == keys[*matched]) {
			husk_write_all(master, buf + from, (size_t)i - from);
			from = (size_t)i + 1;
			if (++*matched == n_keys)
				return true;
			continue;
		}
		if (*matched) {
			husk_write_all(master, buf + from, (size_t)i - from);
			husk_write_all(master, keys, *matched);
			from = (size_t)i;
			*matched = 0;
		}
	}
	husk_write_all(master, buf + from, (size_t)n - from);
	return false;
}

/* After a detach the process goes on: someone must hold its pty's master
 * (closed, the process would get SIGHUP) and read what it writes (else it
 * blocks on a full pty): a child of ours in a session of its own, until
 * the process and any others on the pty are gone.  The process itself is
 * left to whoever reaps orphans, as a detached exec is in Docker. */
static void hold_master(int master)
{
	pid_t pid = fork();
	if (pid != 0) {
		close(master);
		return;
	}
	setsid();
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	/* the hangup of the terminal we came from (the caller's session ends
	 * as we go) may be pending already: ignored, it is dropped */
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	char buf[8192];
	while (read(master, buf, sizeof(buf)) > 0 || errno == EINTR)
		;
	_exit(0);
}

int cli_wait_and_proxy(pid_t pid, int master)
{
	return cli_wait_and_proxy_detach(pid, master, NULL, NULL);
}

int cli_wait_and_proxy_detach(pid_t pid, int master, const char *detach_keys, bool *ret_detached)
{
	char keys[8];
	size_t n_keys = 0, matched = 0;
	bool detached = false;
	if (ret_detached)
		*ret_detached = false;
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
	/* the keys detach only from a pty of the process's, as Docker's */
	if (ret_detached && master >= 0)
		n_keys = cli_detach_keys_parse(detach_keys ? detach_keys : "ctrl-p,ctrl-q", keys,
					       sizeof(keys));
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
		if ((p[1].revents & (POLLIN | POLLHUP)) &&
		    copy_stdin(master, &in_open, keys, n_keys, &matched)) {
			detached = true;
			break;
		}
		if (p[2].revents & (POLLIN | POLLHUP))
			copy_once(master, 1, &out_open);
	}
	/* what the process wrote just before it exited is still in the pty */
	while (master >= 0 && out_open && !detached) {
		struct pollfd pm = {.fd = master, .events = POLLIN};
		if (poll(&pm, 1, 0) <= 0 || !(pm.revents & POLLIN))
			break;
		copy_once(master, 1, &out_open);
	}
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	if (detached) {
		hold_master(master);
		*ret_detached = true;
	} else if (master >= 0) {
		close(master);
	}
	close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

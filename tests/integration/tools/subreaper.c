/* subreaper CMD [ARG...]: run CMD as a child subreaper
 * (PR_SET_CHILD_SUBREAPER) that reaps each of its children, and every
 * orphan of its descendants, the moment it exits.  It exits itself once
 * CMD has and no child or adopted orphan is left, or on SIGTERM.
 *
 * Some hosts' pid 1 reaps orphans only now and then (this one's does every
 * few seconds), others at once (systemd, tini): a test runs husk under
 * this to see the second kind. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_chld(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: subreaper CMD [ARG...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		perror("prctl");
		return 1;
	}
	sigset_t chld, orig;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &orig);
	struct sigaction sa = {.sa_handler = on_chld};
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGTERM, SIG_DFL);
	pid_t p = fork();
	if (p == 0) {
		sigprocmask(SIG_SETMASK, &orig, NULL);
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	for (;;) {
		pid_t w;
		while ((w = waitpid(-1, NULL, WNOHANG)) > 0)
			;
		if (w < 0)
			return 0; /* ECHILD: nothing left to reap */
		sigsuspend(&orig);
	}
}

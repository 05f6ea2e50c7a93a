#define _GNU_SOURCE
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

static int run_one(const struct husk_hook *h, const char *stage, size_t idx, const char *state,
		   husk_error **err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return husk_fail(err, errno, "hooks.%s[%zu]: pipe", stage, idx);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return husk_fail(err, e, "hooks.%s[%zu]: fork", stage, idx);
	}
	if (pid == 0) {
		dup2(pipefd[0], 0);
		/* a hook's stdout goes where ours goes only if it is not the
		 * caller's protocol channel: keep it on stderr */
		dup2(2, 1);
		char *def_args[] = {h->path, NULL};
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execve(h->path, h->args && h->args[0] ? h->args : def_args,
		       h->env ? h->env : environ);
		_exit(127);
	}
	close(pipefd[0]);
	/* a hook that does not read its stdin must not block us: ignore EPIPE */
	struct sigaction sa = {.sa_handler = SIG_IGN}, old;
	sigaction(SIGPIPE, &sa, &old);
	husk_write_all(pipefd[1], state, strlen(state));
	close(pipefd[1]);
	sigaction(SIGPIPE, &old, NULL);

	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int status = 0;
	if (pidfd >= 0) {
		struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
		int ms = h->timeout > 0 ? h->timeout * 1000 : -1;
		int r;
		do
			r = poll(&pfd, 1, ms);
		while (r < 0 && errno == EINTR);
		close(pidfd);
		if (r == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return husk_fail(err, 0, "hooks.%s[%zu] \"%s\": timed out after %d s",
					 stage, idx, h->path, h->timeout);
		}
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return husk_fail(err, errno, "hooks.%s[%zu]: wait", stage, idx);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return husk_fail(err, 0, "hooks.%s[%zu] \"%s\": could not be run (exit 127)", stage,
				 idx, h->path);
	if (WIFEXITED(status))
		return husk_fail(err, 0, "hooks.%s[%zu] \"%s\": exited with status %d", stage, idx,
				 h->path, WEXITSTATUS(status));
	return husk_fail(err, 0, "hooks.%s[%zu] \"%s\": killed by signal %d", stage, idx, h->path,
			 WTERMSIG(status));
}

int husk_hooks_run(const struct husk_hook *hooks, size_t n, const char *stage,
		   const char *state_json, husk_error **err)
{
	for (size_t i = 0; i < n; i++)
		if (run_one(&hooks[i], stage, i, state_json, err) < 0)
			return -1;
	return 0;
}

void husk_hooks_run_warn(const struct husk_hook *hooks, size_t n, const char *stage,
			 const char *state_json, void (*warn)(void *ud, const char *msg), void *ud)
{
	for (size_t i = 0; i < n; i++) {
		husk_error *e = NULL;
		if (run_one(&hooks[i], stage, i, state_json, &e) < 0 && warn)
			warn(ud, e->msg);
		husk_error_free(e);
	}
}

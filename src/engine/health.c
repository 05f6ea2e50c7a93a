/* Healthchecks: a container's test command run inside it, its result
 * folded into the record as Docker keeps State.Health (the status, the
 * failures in a row, the last five results).
 *
 * A check runs in a process of its own (the monitor forks one per check,
 * so that a slow check never stalls the container's output), which execs
 * the test through the core, captures at most 4 KiB of its output, kills
 * it when it runs past its timeout, and records the result under the
 * record's lock. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "husk.h"
#include "util.h"

#define OUTPUT_MAX 4096

/* Run the test once; the result, or -1 when it could not be run at all */
static int run_test(struct husk_engine *e, const struct husk_ctr *c, struct husk_health_result *ret,
		    husk_error **err)
{
	memset(ret, 0, sizeof(*ret));
	char *sh[] = {"/bin/sh", "-c", c->test[1], NULL};
	char **args = strcmp(c->test[0], "CMD-SHELL") == 0 ? sh : c->test + 1;
	if (!args[0])
		return husk_fail_as(err, EINVAL, "container \"%s\": an empty healthcheck", c->name);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_fail(err, errno, "pipe");
	/* the exec'd process gets our stdout and stderr: the pipe */
	int saved1 = dup(1), saved2 = dup(2);
	dup2(p[1], 1);
	dup2(p[1], 2);
	close(p[1]);
	ret->start_ns = husk_time_ns();
	struct husk_exec_opts xo = {.state_root = e->runroot, .id = c->id, .args = args};
	struct husk_exec_result xr;
	int r = husk_exec(&xo, &xr, err);
	dup2(saved1, 1);
	dup2(saved2, 2);
	close(saved1);
	close(saved2);
	if (r < 0) {
		close(p[0]);
		return -1;
	}
	int pfd = (int)syscall(SYS_pidfd_open, xr.pid, 0);
	char *out = calloc(1, OUTPUT_MAX + 1);
	if (!out)
		abort();
	size_t len = 0;
	int64_t deadline = ret->start_ns + c->health_timeout_ns;
	bool timed_out = false, open_ = true;
	for (;;) {
		int64_t left_ms = (deadline - husk_time_ns()) / 1000000;
		if (left_ms <= 0) {
			timed_out = true;
			kill(xr.pid, SIGKILL);
			break;
		}
		struct pollfd f[2] = {{.fd = pfd, .events = POLLIN},
				      {.fd = open_ ? p[0] : -1, .events = POLLIN}};
		if (poll(f, 2, (int)left_ms) < 0 && errno != EINTR)
			break;
		if (f[1].revents) {
			char buf[1024];
			ssize_t n = read(p[0], buf, sizeof(buf));
			if (n <= 0) {
				open_ = false;
			} else if (len < OUTPUT_MAX) {
				size_t k =
					(size_t)n < OUTPUT_MAX - len ? (size_t)n : OUTPUT_MAX - len;
				memcpy(out + len, buf, k);
				len += k;
			}
		}
		if (f[0].revents && !open_)
			break;
		if (f[0].revents && open_) {
			/* ended: what it wrote last is in the pipe, or nothing */
			struct pollfd q = {.fd = p[0], .events = POLLIN};
			if (poll(&q, 1, 0) <= 0)
				break;
		}
	}
	int status = 0;
	while (waitpid(xr.pid, &status, 0) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (pfd >= 0)
		close(pfd);
	ret->end_ns = husk_time_ns();
	if (timed_out) {
		ret->exit_code = -1;
		snprintf(out, OUTPUT_MAX, "Health check exceeded timeout (%llds)",
			 (long long)(c->health_timeout_ns / 1000000000));
	} else {
		ret->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	ret->output = out;
	return 0;
}

struct fold {
	struct husk_health_result *r;
	bool became_unhealthy;
	bool changed; /* health_status event: Docker's on every change */
	const char *status;
};

/* Docker's rules: a success makes it healthy and clears the streak; a
 * failure within the start period, while still starting, does not count;
 * retries failures in a row make it unhealthy */
static int fold_result(struct husk_ctr *c, void *ud, husk_error **err)
{
	struct fold *f = ud;
	(void)err;
	if (!c->test)
		return 0;
	if (c->n_health_log == HUSK_HEALTH_LOG_MAX) {
		free(c->health_log[0].output);
		memmove(c->health_log, c->health_log + 1,
			(HUSK_HEALTH_LOG_MAX - 1) * sizeof(c->health_log[0]));
		c->n_health_log--;
	}
	struct husk_health_result *slot = &c->health_log[c->n_health_log++];
	*slot = *f->r;
	slot->output = strdup(f->r->output ? f->r->output : "");
	bool starting = !c->health_status || strcmp(c->health_status, "starting") == 0;
	/* a constant: the record's string is freed below */
	const char *now = starting				     ? "starting"
			  : strcmp(c->health_status, "healthy") == 0 ? "healthy"
								     : "unhealthy";
	if (f->r->exit_code == 0) {
		c->health_streak = 0;
		now = "healthy";
	} else if (starting && f->r->start_ns - c->started_ns < c->health_start_period_ns) {
		/* in the start period: not counted */
	} else if (++c->health_streak >= (c->health_retries > 0 ? c->health_retries : 3)) {
		f->became_unhealthy = strcmp(now, "unhealthy") != 0;
		now = "unhealthy";
	}
	f->changed = !c->health_status || strcmp(c->health_status, now) != 0;
	free(c->health_status);
	c->health_status = strdup(now);
	f->status = now;
	return 0;
}

int husk_engine_health_check(struct husk_engine *e, const char *name_or_id, const char **ret_status,
			     bool *ret_became_unhealthy, husk_error **err)
{
	struct husk_ctr c;
	if (husk_engine_get(e, name_or_id, &c, err) < 0)
		return -1;
	int r = -1;
	if (!c.test) {
		husk_fail_as(err, EINVAL, "container \"%s\" has no healthcheck", name_or_id);
		goto out;
	}
	if (c.state != HUSK_CTR_RUNNING) {
		husk_fail_as(err, ENOTCONN, "container \"%s\" is not running", name_or_id);
		goto out;
	}
	struct husk_health_result res;
	if (run_test(e, &c, &res, err) < 0)
		goto out;
	struct fold f = {.r = &res};
	r = husk_record_update(e->root, c.id, fold_result, &f, err);
	free(res.output);
	if (r == 0 && f.changed && strcmp(f.status, "starting") != 0) {
		cleanup_free char *action = husk_strdup_printf("health_status: %s", f.status);
		husk_engine_event(e, action, c.id, c.name, c.image, NULL);
	}
	if (ret_status)
		*ret_status = f.status;
	if (ret_became_unhealthy)
		*ret_became_unhealthy = f.became_unhealthy;
out:
	husk_ctr_release(&c);
	return r;
}

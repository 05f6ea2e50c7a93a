/* husk exec: a process in a running container, as the user -u names,
 * resolved from the container's own /etc/passwd. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "engine.h"
#include "tty.h"
#include "user.h"
#include "util.h"

/* Docker's events of an exec: "exec_create: CMD", "exec_start: CMD",
 * "exec_die", each with the exec's id */
struct exec_event {
	const char *id, *name, *image;
	char exec_id[65];
	char *cmd;
};

static void exec_event(struct husk_engine *e, struct exec_event *x, const char *what,
		       const char *exit_code)
{
	cleanup_free char *action =
		exit_code ? strdup(what) : husk_strdup_printf("%s: %s", what, x->cmd);
	const char *attrs[] = {"execID", x->exec_id, exit_code ? "exitCode" : NULL, exit_code,
			       NULL};
	husk_engine_event(e, action, x->id, x->name, x->image, attrs);
}

static void exec_event_init(struct exec_event *x, char *const *args)
{
	unsigned char b[32] = {0};
	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		memset(b, 0, sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(x->exec_id + 2 * i, 3, "%02x", b[i]);
	size_t len = 1, n = 0;
	for (char *const *a = args; a && *a; a++)
		len += strlen(*a) + 1;
	x->cmd = calloc(1, len);
	if (!x->cmd)
		abort();
	for (char *const *a = args; a && *a; a++) {
		size_t l = strlen(*a);
		if (n)
			x->cmd[n++] = ' ';
		memcpy(x->cmd + n, *a, l);
		n += l;
	}
}

/* --privileged: every capability in our own bounding set (root here may
 * lack some, CAP_SYS_RESOURCE on these hosts: asking for more fails),
 * as names, NULL-terminated */
static char **own_caps(void)
{
	char **v = NULL;
	size_t n = 0;
	for (int i = 0; i <= CAP_LAST_CAP + 16; i++) {
		if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) != 1)
			continue;
		char *name = cap_to_name((cap_value_t)i);
		if (!name)
			continue;
		char *up = strdup(name);
		cap_free(name);
		if (!up)
			abort();
		for (char *c = up; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		husk_strv_push(&v, &n, up);
	}
	return v;
}

int husk_engine_exec(struct husk_engine *e, const char *name_or_id,
		     const struct husk_engine_exec_opts *o, int *ret_code, husk_error **err)
{
	*ret_code = 125;
	struct husk_ctr c;
	if (husk_engine_get(e, name_or_id, &c, err) < 0)
		return -1;
	bool running = c.state == HUSK_CTR_RUNNING;
	bool paused = c.state == HUSK_CTR_PAUSED;
	cleanup_free char *id = strdup(c.id), *cname = strdup(c.name), *cimage = strdup(c.image);
	husk_ctr_release(&c);
	if (!running)
		return husk_fail_as(err, ENOTCONN, "container \"%s\" is %s", name_or_id,
				    paused ? "paused: unpause it first" : "not running");
	cleanup_free char *user = NULL;
	if (o->user) {
		cleanup_free char *rootfs =
			husk_strdup_printf("%s/containers/%s/rootfs", e->root, id);
		cleanup_close int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return husk_fail(err, errno, "open \"%s\"", rootfs);
		struct husk_user u = {0};
		if (husk_user_resolve(fd, o->user, &u, err) < 0)
			return -1;
		user = husk_strdup_printf("%u:%u", u.uid, u.gid);
		husk_user_release(&u);
	}
	char **caps = o->privileged ? own_caps() : NULL;
	struct husk_exec_opts xo = {.state_root = e->runroot,
				    .caps = caps,
				    .id = id,
				    .args = o->args,
				    .env = o->env,
				    .cwd = o->workdir,
				    .user = user,
				    .tty = o->tty,
				    .detach = o->detach};
	struct exec_event ev = {.id = id, .name = cname, .image = cimage};
	exec_event_init(&ev, o->args);
	exec_event(e, &ev, "exec_create", NULL);
	exec_event(e, &ev, "exec_start", NULL);
	struct husk_exec_result x = {.exec_failed = false};
	int r = husk_exec(&xo, &x, err);
	for (char **cap = caps; cap && *cap; cap++)
		free(*cap);
	free(caps);
	char code[16];
	if (r < 0) {
		if (x.exec_failed)
			*ret_code = husk_exit_code_of_exec_error(err && *err ? (*err)->errnum : 0);
		snprintf(code, sizeof(code), "%d", *ret_code);
		exec_event(e, &ev, "exec_die", code);
		free(ev.cmd);
		return -1;
	}
	*ret_code = 0;
	HUSK_FAULT(engine_exec_started);
	if (o->detach) {
		free(ev.cmd); /* no one waits for it: no exec_die */
		return 0;
	}
	/* the caller's terminal and the process's, until it ends or the
	 * detach keys leave it running */
	bool detached = false;
	int status = cli_wait_and_proxy_detach(x.pid, x.pty_master, o->detach_keys, &detached);
	if (detached) {
		/* Docker's: the action alone, no command after it */
		const char *attrs[] = {"execID", ev.exec_id, NULL};
		husk_engine_event(e, "exec_detach", ev.id, ev.name, ev.image, attrs);
		free(ev.cmd);
		return 0;
	}
	*ret_code = WIFEXITED(status)	  ? WEXITSTATUS(status)
		    : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
					  : 1;
	snprintf(code, sizeof(code), "%d", *ret_code);
	exec_event(e, &ev, "exec_die", code);
	free(ev.cmd);
	return 0;
}

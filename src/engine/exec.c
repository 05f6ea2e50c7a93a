/* husk exec: a process in a running container, as the user -u names,
 * resolved from the container's own /etc/passwd. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
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
	cleanup_free char *id = strdup(c.id);
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
	struct husk_exec_result x = {.exec_failed = false};
	int r = husk_exec(&xo, &x, err);
	for (char **cap = caps; cap && *cap; cap++)
		free(*cap);
	free(caps);
	if (r < 0) {
		if (x.exec_failed)
			*ret_code = husk_exit_code_of_exec_error(err && *err ? (*err)->errnum : 0);
		return -1;
	}
	*ret_code = 0;
	HUSK_FAULT(engine_exec_started);
	if (o->detach)
		return 0;
	/* the caller's terminal and the process's, until it ends */
	int status = cli_wait_and_proxy(x.pid, x.pty_master);
	*ret_code = WIFEXITED(status)	  ? WEXITSTATUS(status)
		    : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
					  : 1;
	return 0;
}

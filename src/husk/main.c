/* husk: the engine's command line, with Docker's habits.  This file is
 * the command table (name, usage, one line of help) and the global
 * options; each verb lives in its own file and makes its engine calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "engine.h"
#include "husk.h"
#include "template.h"
#include "util.h"

struct husk_engine eng;

int fail(husk_error *err)
{
	fprintf(stderr, "husk: %s\n", err && err->msg ? err->msg : "unknown error");
	husk_error_free(err);
	return 125; /* Docker's status for an error of the engine itself */
}

int failf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("husk: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 125;
}

int cli_print_tmpl(const struct husk_tmpl *t, json_t *data)
{
	husk_error *err = NULL;
	char *line = NULL;
	if (husk_tmpl_render(t, data, &line, &err) < 0)
		return fail(err);
	printf("%s\n", line);
	free(line);
	return 0;
}

/* one line per command; clang-format off keeps them so */
// clang-format off
static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
} commands[] = {
	{"run", cmd_run, "[OPTIONS] IMAGE [COMMAND...]", "create and start a container, attached unless -d"},
	{"create", cmd_create, "[OPTIONS] IMAGE [COMMAND...]", "create a container"},
	{"start", cmd_start, "[-a] [-i] CONTAINER...", "start created or stopped containers"},
	{"stop", cmd_stop, "[-t SECONDS] CONTAINER...", "stop containers: their stop signal, SIGKILL after the timeout"},
	{"restart", cmd_restart, "[-t SECONDS] CONTAINER...", "stop, then start containers"},
	{"kill", cmd_kill, "[-s SIGNAL] CONTAINER...", "send a signal (SIGKILL) to containers"},
	{"pause", cmd_pause, "CONTAINER...", "freeze every process of containers"},
	{"unpause", cmd_unpause, "CONTAINER...", "thaw paused containers"},
	{"wait", cmd_wait, "CONTAINER...", "wait until containers stop; print their exit codes"},
	{"attach", cmd_attach, "[--no-stdin] [--detach-keys K] CONTAINER", "attach to a running container (ctrl-p ctrl-q detaches)"},
	{"rm", cmd_rm, "[-f] CONTAINER...", "remove containers"},
	{"rename", cmd_rename, "CONTAINER NEW_NAME", "rename a container"},
	{"ps", cmd_ps, "[-a] [-q] [--no-trunc]", "list containers"},
	{"logs", cmd_logs, "[-f] [--tail N] [-t] [--since T] [--until T] CONTAINER", "print a container's output"},
	{"exec", cmd_exec, "[-it] [-d] [-e K=V] [-u USER] [-w DIR] [--privileged] CONTAINER COMMAND...", "run a command in a running container"},
	{"inspect", cmd_inspect, "[-f TEMPLATE] CONTAINER...", "a container's state and configuration, as JSON"},
	{"healthcheck", cmd_healthcheck, "run CONTAINER", "run a container's healthcheck now"},
	{"system", cmd_system, "boot", "after a reboot: start the containers whose restart policy says so"},
	{"images", cmd_images, "[-q] [--digests] [--no-trunc] [--format T] [REPO]", "list images"},
	{"load", cmd_load, "-i FILE", "load images from an OCI or docker archive"},
	{"import", cmd_import, "ROOTFS.tar NAME", "make an image of a root filesystem tarball"},
	{"rmi", cmd_rmi, "IMAGE...", "remove images"},
	{"image", cmd_image, "ls|rm|prune|inspect|tag|save ...", "manage images"},
	{"pull", cmd_pull, "[OPTIONS] IMAGE", "pull an image from a registry"},
	{"push", cmd_push, "[OPTIONS] IMAGE [DEST]", "push an image to a registry"},
	{"login", cmd_login, "[-u USER] [-p PASS | --password-stdin] HOST", "log in to a registry"},
	{"logout", cmd_logout, "HOST", "log out of a registry"},
	{"save", cmd_save, "[-o FILE] [--format oci-archive|docker-archive] IMAGE...", "save images to an archive"},
	{"tag", cmd_tag, "SOURCE TARGET", "give an image another name"},
};
// clang-format on

static void usage(FILE *f)
{
	fprintf(f, "usage: husk [--root DIR] [--runroot DIR] COMMAND [ARGS...]\n\n"
		   "A daemonless container engine with Docker's habits.\n\ncommands:\n");
	for (size_t k = 0; k < ARRAY_SIZE(commands); k++)
		fprintf(f, "  %-10s %s\n", commands[k].name, commands[k].help);
	fprintf(f, "\nhusk COMMAND --help gives a command's usage.\n");
}

/* The monitor is exec'd from where husk is: found before husk re-execs
 * itself from a sealed copy, whose path says nothing. */
static void find_binaries(void)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		n = 0;
	self[n] = '\0';
	const char *env = getenv("HUSK_MONITOR");
	if (env && *env) {
		eng.monitor_path = strdup(env);
	} else {
		char *slash = strrchr(self, '/');
		eng.monitor_path =
			slash ? husk_strdup_printf("%.*s/husk-monitor", (int)(slash - self), self)
			      : strdup("husk-monitor");
		setenv("HUSK_MONITOR", eng.monitor_path, 1);
	}
	env = getenv("HUSK_SELF");
	if (env && *env) {
		eng.self_path = strdup(env);
	} else {
		eng.self_path = strdup(self);
		setenv("HUSK_SELF", self, 1);
	}
}

int main(int argc, char **argv, char **envp)
{
	const char *root = getenv("HUSK_ROOT"), *runroot = getenv("HUSK_RUNROOT");
	eng.root = strdup(root && *root ? root : "/var/lib/husk");
	eng.runroot = strdup(runroot && *runroot ? runroot : "/run/husk-engine");
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
			free(eng.root);
			eng.root = strdup(argv[++i]);
		} else if (strcmp(argv[i], "--runroot") == 0 && i + 1 < argc) {
			free(eng.runroot);
			eng.runroot = strdup(argv[++i]);
		} else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-v") == 0) {
			printf("husk version 0.1.0\n");
			return 0;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return failf("unknown option \"%s\"", argv[i]);
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 125;
	}
	const char *cmd = argv[i];
	int sub_argc = argc - i;
	char **sub_argv = argv + i;
	bool help = sub_argc >= 2 && strcmp(sub_argv[1], "--help") == 0;
	if (strcmp(cmd, "help") == 0) {
		if (sub_argc < 2) {
			usage(stdout);
			return 0;
		}
		cmd = sub_argv[1];
		help = true;
	}
	const struct command *c = NULL;
	for (size_t k = 0; k < ARRAY_SIZE(commands); k++)
		if (strcmp(cmd, commands[k].name) == 0)
			c = &commands[k];
	if (!c) {
		usage(stderr);
		return failf("unknown command \"%s\"", cmd);
	}
	if (help) {
		printf("usage: husk %s %s\n\n%s\n", c->name, c->usage, c->help);
		return 0;
	}
	find_binaries();
	husk_engine_net_teardown = husk_net_teardown;
	optind = 1;
	if (strcmp(cmd, "exec") == 0 || strcmp(cmd, "healthcheck") == 0) {
		/* exec enters a container from this process: run from a copy
		 * no container can write (CVE-2019-5736) */
		husk_error *err = NULL;
		if (husk_ensure_sealed_exe(argv, envp, &err) < 0)
			return fail(err);
	}
	if (husk_mkdir_p(eng.root, 0700, NULL) < 0 || husk_mkdir_p(eng.runroot, 0700, NULL) < 0)
		return failf("cannot create \"%s\" or \"%s\"", eng.root, eng.runroot);
	return c->fn(sub_argc, sub_argv);
}

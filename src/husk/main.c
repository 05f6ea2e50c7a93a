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

#ifndef HUSK_VERSION
#define HUSK_VERSION "0.1.0"
#endif
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

/* The command table: help, man pages and completions are made from it
 * (cli.c).  clang-format off keeps one command to a line or two. */
// clang-format off
static const struct cli_command network_cmds[] = {
	{"create", cmd_network_create, "NETWORK", "create a network: a bridge of its own, where containers find each other by name", network_create_flags, "husk network create --subnet 10.90.1.0/24 backend"},
	{"ls", cmd_network_ls, NULL, "list networks", network_ls_flags, "husk network ls"},
	{"inspect", cmd_network_inspect, "NETWORK...", "a network's configuration and containers, as JSON", network_inspect_flags, "husk network inspect -f '{{.IPAM}}' backend"},
	{"rm", cmd_network_rm, "NETWORK...", "remove networks no container is on", network_rm_flags, "husk network rm backend"},
	{"prune", cmd_network_prune, NULL, "remove every network no container is on", network_prune_flags, "husk network prune -f"},
	{"connect", cmd_network_connect, "NETWORK CONTAINER", "join a container to a network", network_connect_flags, "husk network connect --alias db backend pg"},
	{"disconnect", cmd_network_disconnect, "NETWORK CONTAINER", "take a container off a network", network_disconnect_flags, "husk network disconnect backend pg"},
	{0},
};

static const struct cli_command image_cmds[] = {
	{"ls", cmd_images, "[REPOSITORY[:TAG]]", "list images", images_flags, "husk image ls --format '{{.Repository}}:{{.Tag}}'"},
	{"rm", cmd_rmi, "IMAGE...", "remove images", rmi_flags, "husk image rm alpine:3.19"},
	{"prune", cmd_image_prune, NULL, "remove dangling images (-a: every image no container uses)", image_prune_flags, "husk image prune -af"},
	{"inspect", cmd_image_inspect, "IMAGE...", "an image's configuration, as JSON", image_inspect_flags, "husk image inspect -f '{{.Config.Cmd}}' busybox"},
	{"history", cmd_history, "IMAGE", "the steps that made an image, with their layers' sizes", history_flags, "husk image history --no-trunc busybox"},
	{"tag", cmd_tag, "SOURCE TARGET", "give an image another name", NULL, "husk image tag busybox registry.local/busybox:1"},
	{"save", cmd_save, "IMAGE...", "save images to an archive", save_flags, "husk image save -o busybox.tar busybox"},
	{"load", cmd_load, NULL, "load images from an OCI or docker archive (-i FILE, or stdin)", load_flags, "husk image load < busybox.tar"},
	{"import", cmd_import, "FILE|- [REPOSITORY[:TAG]]", "make an image of a root filesystem tarball", import_flags, "husk export web | husk image import - mine:flat"},
	{"build", cmd_build, "CONTEXT|-", "build an image from a Dockerfile (or Containerfile)", build_flags, "husk image build -t mine:1 ."},
	{"pull", cmd_pull, "IMAGE", "pull an image from a registry", pull_flags, "husk image pull docker.io/library/alpine:3.19"},
	{"push", cmd_push, "IMAGE [DESTINATION]", "push an image to a registry", push_flags, "husk image push localhost:5000/mine:1"},
	{0},
};

static const struct cli_command container_cmds[] = {
	{"run", cmd_run, "IMAGE [COMMAND...]", "create and start a container, attached unless -d", run_flags, "husk container run --rm -it busybox sh"},
	{"create", cmd_create, "IMAGE [COMMAND...]", "create a container", run_flags, "husk container create --name web busybox httpd -f"},
	{"start", cmd_start, "CONTAINER...", "start created or stopped containers", start_flags, "husk container start web"},
	{"stop", cmd_stop, "CONTAINER...", "stop containers", stop_flags, "husk container stop -t 2 web"},
	{"restart", cmd_restart, "CONTAINER...", "stop, then start containers", stop_flags, "husk container restart web"},
	{"kill", cmd_kill, "CONTAINER...", "send a signal to containers", kill_flags, "husk container kill -s HUP web"},
	{"pause", cmd_pause, "CONTAINER...", "freeze every process of containers", NULL, "husk container pause web"},
	{"unpause", cmd_unpause, "CONTAINER...", "thaw paused containers", NULL, "husk container unpause web"},
	{"wait", cmd_wait, "CONTAINER...", "wait until containers stop; print their exit codes", NULL, "husk container wait web"},
	{"attach", cmd_attach, "CONTAINER", "attach to a running container", attach_flags, "husk container attach web"},
	{"rm", cmd_rm, "CONTAINER...", "remove containers", rm_flags, "husk container rm -f web"},
	{"rename", cmd_rename, "CONTAINER NEW_NAME", "rename a container", NULL, "husk container rename web www"},
	{"update", cmd_update, "CONTAINER...", "change containers' limits and restart policy", update_flags, "husk container update -m 256m --restart always web"},
	{"ls", cmd_ps, NULL, "list containers", ps_flags, "husk container ls -a"},
	{"logs", cmd_logs, "CONTAINER", "print a container's output", logs_flags, "husk container logs -f --tail 10 web"},
	{"exec", cmd_exec, "CONTAINER COMMAND...", "run a command in a running container", exec_flags, "husk container exec -it web sh"},
	{"inspect", cmd_inspect, "CONTAINER...", "a container's state and configuration, as JSON", inspect_flags, "husk container inspect web"},
	{"cp", cmd_cp, "SRC DEST", "copy files between a container and the host", cp_flags, "husk container cp ./site web:/var/www"},
	{"commit", cmd_commit, "CONTAINER [REPOSITORY[:TAG]]", "make an image of a container's changes", commit_flags, "husk container commit -c 'CMD [\"httpd\",\"-f\"]' web mine:1"},
	{"export", cmd_export, "CONTAINER", "write a container's root filesystem as a tar", export_flags, "husk container export -o web.tar web"},
	{"top", cmd_top, "CONTAINER [PS OPTIONS...]", "a container's processes, as the host's ps shows them (-ef)", NULL, "husk container top web -o pid,rss,args"},
	{"stats", cmd_stats, "[CONTAINER...]", "CPU, memory, network, block I/O and pids of containers, every second", stats_flags, "husk container stats --no-stream web"},
	{"port", cmd_port, "CONTAINER [PRIVATE_PORT[/PROTO]]", "a container's published ports", NULL, "husk container port web 80/tcp"},
	{"diff", cmd_diff, "CONTAINER", "files added (A), changed (C) and deleted (D) in a container's root", NULL, "husk container diff web"},
	{"prune", cmd_container_prune, NULL, "remove every stopped container", prune_flags, "husk container prune -f"},
	{0},
};

static const struct cli_command volume_cmds[] = {
	{"create", cmd_volume_create, "[VOLUME]", "create a volume (no name: 64 random hex digits), print its name", volume_create_flags, "husk volume create --label app=web data"},
	{"ls", cmd_volume_ls, NULL, "list volumes", volume_ls_flags, "husk volume ls --filter dangling=true"},
	{"inspect", cmd_volume_inspect, "VOLUME...", "volumes as JSON", volume_inspect_flags, "husk volume inspect -f '{{.Mountpoint}}' data"},
	{"rm", cmd_volume_rm, "VOLUME...", "remove volumes no container uses", volume_rm_flags, "husk volume rm data"},
	{"prune", cmd_volume_prune, NULL, "remove the anonymous volumes no container uses (--all: every unused one)", volume_prune_flags, "husk volume prune -f"},
	{0},
};

static const struct cli_command builder_cmds[] = {
	{"prune", cmd_builder_prune, NULL, "remove the build cache (RUN --mount=type=cache dirs too), and the blobs no image uses", builder_prune_flags, "husk builder prune -f"},
	{0},
};

static const struct cli_command healthcheck_cmds[] = {
	{"run", cmd_healthcheck_run, "CONTAINER", "run a container's healthcheck now and print its health; exit 1 when unhealthy", NULL, "husk healthcheck run web"},
	{0},
};

static const struct cli_command system_cmds[] = {
	{"boot", cmd_system_boot, NULL, "after a reboot: start the containers whose restart policy says so", NULL, "husk system boot"},
	{"df", cmd_system_df, NULL, "the disk images, containers and volumes use", df_flags, "husk system df -v"},
	{"prune", cmd_system_prune, NULL, "remove stopped containers, unused networks and dangling images (-a: every unused image)", system_prune_flags, "husk system prune -af"},
	{"events", cmd_events, NULL, "what happens to containers, past and as it happens", events_flags, "husk system events --since 10m --filter event=die"},
	{"info", cmd_info, NULL, "the host and the engine: kernel, cgroups, storage, security, counts", info_flags, "husk system info --format '{{.CgroupVersion}}'"},
	{0},
};

static int cmd_completion(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct cli_command commands[] = {
	{"run", cmd_run, "IMAGE [COMMAND...]", "create and start a container, attached unless -d", run_flags, "husk run --rm -it busybox sh"},
	{"create", cmd_create, "IMAGE [COMMAND...]", "create a container", run_flags, "husk create --name web busybox httpd -f"},
	{"start", cmd_start, "CONTAINER...", "start created or stopped containers", start_flags, "husk start -a web"},
	{"stop", cmd_stop, "CONTAINER...", "stop containers: their stop signal, SIGKILL after the timeout", stop_flags, "husk stop -t 2 web"},
	{"restart", cmd_restart, "CONTAINER...", "stop, then start containers", stop_flags, "husk restart web"},
	{"kill", cmd_kill, "CONTAINER...", "send a signal (SIGKILL) to containers", kill_flags, "husk kill -s HUP web"},
	{"pause", cmd_pause, "CONTAINER...", "freeze every process of containers", NULL, "husk pause web"},
	{"unpause", cmd_unpause, "CONTAINER...", "thaw paused containers", NULL, "husk unpause web"},
	{"wait", cmd_wait, "CONTAINER...", "wait until containers stop; print their exit codes", NULL, "husk wait web"},
	{"attach", cmd_attach, "CONTAINER", "attach to a running container (ctrl-p ctrl-q detaches)", attach_flags, "husk attach web"},
	{"rm", cmd_rm, "CONTAINER...", "remove containers", rm_flags, "husk rm -f web"},
	{"rename", cmd_rename, "CONTAINER NEW_NAME", "rename a container", NULL, "husk rename web www"},
	{"update", cmd_update, "CONTAINER...", "change containers' limits and restart policy", update_flags, "husk update -m 256m --restart always web"},
	{"ps", cmd_ps, NULL, "list containers", ps_flags, "husk ps -a --format '{{.Names}}\\t{{.Status}}'"},
	{"logs", cmd_logs, "CONTAINER", "print a container's output", logs_flags, "husk logs -f --tail 10 web"},
	{"exec", cmd_exec, "CONTAINER COMMAND...", "run a command in a running container", exec_flags, "husk exec -it web sh"},
	{"inspect", cmd_inspect, "CONTAINER...", "a container's state and configuration, as JSON", inspect_flags, "husk inspect -f '{{.State.Status}}' web"},
	{"cp", cmd_cp, "SRC DEST", "copy files between a container (CONTAINER:PATH) and the host (a path, or - for a tar stream)", cp_flags, "husk cp web:/etc/nginx/nginx.conf ."},
	{"commit", cmd_commit, "CONTAINER [REPOSITORY[:TAG]]", "make an image of a container's changes", commit_flags, "husk commit -m 'with nginx.conf' web mine:1"},
	{"export", cmd_export, "CONTAINER", "write a container's root filesystem as a tar", export_flags, "husk export web | tar -t"},
	{"top", cmd_top, "CONTAINER [PS OPTIONS...]", "a container's processes, as the host's ps shows them (-ef)", NULL, "husk top web -o pid,rss,args"},
	{"stats", cmd_stats, "[CONTAINER...]", "CPU, memory, network, block I/O and pids of containers, every second", stats_flags, "husk stats --no-stream"},
	{"port", cmd_port, "CONTAINER [PRIVATE_PORT[/PROTO]]", "a container's published ports", NULL, "husk port web 80"},
	{"diff", cmd_diff, "CONTAINER", "files added (A), changed (C) and deleted (D) in a container's root", NULL, "husk diff web"},
	{"events", cmd_events, NULL, "what happens to containers, past and as it happens", events_flags, "husk events --filter container=web --filter event=die"},
	{"container", NULL, "COMMAND", "manage containers", NULL, NULL, container_cmds},
	{"volume", NULL, "COMMAND", "manage volumes", NULL, NULL, volume_cmds},
	{"healthcheck", NULL, "COMMAND", "run healthchecks by hand", NULL, NULL, healthcheck_cmds},
	{"system", NULL, "COMMAND", "the engine as a whole", NULL, NULL, system_cmds},
	{"build", cmd_build, "CONTEXT|-", "build an image from a Dockerfile (or Containerfile)", build_flags, "husk build -t mine:1 ."},
	{"builder", NULL, "COMMAND", "manage the build cache", NULL, NULL, builder_cmds},
	{"images", cmd_images, "[REPOSITORY[:TAG]]", "list images", images_flags, "husk images busybox"},
	{"load", cmd_load, NULL, "load images from an OCI or docker archive (-i FILE, or stdin)", load_flags, "husk load < busybox.tar"},
	{"import", cmd_import, "FILE|- [REPOSITORY[:TAG]]", "make an image of a root filesystem tarball", import_flags, "husk import rootfs.tar mine:1"},
	{"rmi", cmd_rmi, "IMAGE...", "remove images", rmi_flags, "husk rmi alpine:3.19"},
	{"image", NULL, "COMMAND", "manage images", NULL, NULL, image_cmds},
	{"network", NULL, "COMMAND", "manage networks", NULL, NULL, network_cmds},
	{"pull", cmd_pull, "IMAGE", "pull an image from a registry", pull_flags, "husk pull docker.io/library/alpine:3.19"},
	{"push", cmd_push, "IMAGE [DESTINATION]", "push an image to a registry", push_flags, "husk push localhost:5000/mine:1"},
	{"login", cmd_login, "REGISTRY", "log in to a registry", login_flags, "printf %s \"$TOKEN\" | husk login -u me --password-stdin registry.example"},
	{"logout", cmd_logout, "REGISTRY", "log out of a registry", logout_flags, "husk logout registry.example"},
	{"save", cmd_save, "IMAGE...", "save images to an archive", save_flags, "husk save -o busybox.tar busybox"},
	{"tag", cmd_tag, "SOURCE TARGET", "give an image another name", NULL, "husk tag busybox mine:1"},
	{"history", cmd_history, "IMAGE", "the steps that made an image, with their layers' sizes", history_flags, "husk history busybox"},
	{"version", cmd_version, NULL, "husk's version, compiler and platform", version_flags, "husk version --format '{{.Client.Version}}'"},
	{"info", cmd_info, NULL, "the host and the engine: kernel, cgroups, storage, security, counts", info_flags, "husk info --format '{{.CgroupVersion}}'"},
	{"completion", cmd_completion, "bash|zsh|fish", "print a shell's completion script", NULL, "husk completion bash > /etc/bash_completion.d/husk"},
	{"help", cmd_help, "[COMMAND]", "a command's usage", NULL, "husk help run"},
	{0},
};
// clang-format on

static void usage(FILE *f)
{
	fprintf(f, "Usage: husk [--root DIR] [--runroot DIR] COMMAND [ARGS...]\n\n"
		   "A daemonless container engine with Docker's habits.\n\nCommands:\n");
	for (const struct cli_command *c = commands; c->name; c++)
		if (!c->hidden)
			fprintf(f, "  %-12s %s\n", c->name, c->help);
	fprintf(f, "\nhusk COMMAND --help gives a command's usage.\n");
}

static const struct cli_command *find(const struct cli_command *cmds, const char *name)
{
	for (const struct cli_command *c = cmds; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static int cmd_completion(int argc, char **argv)
{
	if (cli_getopt(argc, argv) != -1 || cli_operands(argc, argv, 1, 1))
		return 125;
	if (cli_write_completion(stdout, commands, argv[optind]) < 0)
		return cli_usage_error("\"%s\": husk completes bash, zsh and fish", argv[optind]);
	return 0;
}

/* husk help [COMMAND [SUBCOMMAND]]; husk help --man DIR writes the man
 * pages (the build does) */
/* A word that is no command but a noun's subcommand (boot, ls, prune...):
 * with help, the help of each noun's; else a hint.  0 (help printed), or
 * 125 (the error printed). */
static int noun_verb(const char *word, bool help)
{
	const struct cli_command *nouns[16];
	const struct cli_command *subs[16];
	size_t n = 0;
	for (const struct cli_command *c = commands; c->name && n < 16; c++)
		for (const struct cli_command *s = c->subs; s && s->name && n < 16; s++)
			if (strcmp(s->name, word) == 0) {
				nouns[n] = c;
				subs[n++] = s;
			}
	if (n == 0 || !help) {
		fprintf(stderr, "husk: unknown command \"%s\"", word);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "%s'husk %s %s'", i ? ", " : " (did you mean ",
				nouns[i]->name, word);
		fprintf(stderr, "%s\n", n ? "?)" : " (see 'husk --help')");
		return 125;
	}
	for (size_t i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof(path), "%s %s", nouns[i]->name, word);
		if (i)
			printf("\n");
		cli_print_help(stdout, subs[i], path);
	}
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--man") == 0) {
		if (cli_write_man(commands, argv[2], HUSK_VERSION) < 0)
			return failf("cannot write the man pages into \"%s\": %s", argv[2],
				     strerror(errno));
		return 0;
	}
	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cli_print_help(stdout, cli_current, "help");
		return 0;
	}
	const struct cli_command *c = find(commands, argv[1]);
	if (!c)
		return noun_verb(argv[1], true);
	char path[64];
	snprintf(path, sizeof(path), "%s", c->name);
	if (argc >= 3 && c->subs) {
		const struct cli_command *s = find(c->subs, argv[2]);
		if (!s)
			return failf("unknown command \"%s %s\" (see 'husk %s --help')", argv[1],
				     argv[2], argv[1]);
		snprintf(path, sizeof(path), "%s %s", c->name, s->name);
		c = s;
	}
	cli_print_help(stdout, c, path);
	return 0;
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
	env = getenv("HUSK_DNS");
	if (env && *env) {
		eng.dns_path = strdup(env);
	} else {
		char *slash = strrchr(self, '/');
		eng.dns_path =
			slash ? husk_strdup_printf("%.*s/husk-dns", (int)(slash - self), self)
			      : strdup("husk-dns");
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
			printf("husk version %s\n", HUSK_VERSION);
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
	const struct cli_command *c = find(commands, argv[i]);
	if (!c) {
		bool help = false;
		for (int k = i + 1; k < argc && !help; k++)
			help = strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0;
		return noun_verb(argv[i], help);
	}
	int sub_argc = argc - i;
	char **sub_argv = argv + i;
	snprintf(cli_current_path, sizeof(cli_current_path), "%s", c->name);
	if (c->subs) {
		if (sub_argc < 2 || strcmp(sub_argv[1], "--help") == 0 ||
		    strcmp(sub_argv[1], "-h") == 0) {
			cli_print_help(sub_argc < 2 ? stderr : stdout, c, c->name);
			return sub_argc < 2 ? 125 : 0;
		}
		const struct cli_command *s = find(c->subs, sub_argv[1]);
		if (!s) {
			fprintf(stderr, "husk: unknown command \"%s %s\" (see 'husk %s --help')\n",
				c->name, sub_argv[1], c->name);
			return 125;
		}
		snprintf(cli_current_path, sizeof(cli_current_path), "%s %s", c->name, s->name);
		c = s;
		sub_argc--;
		sub_argv++;
	}
	cli_current = c;
	if (c->fn == cmd_help || c->fn == cmd_completion)
		return c->fn(sub_argc, sub_argv); /* nothing of the engine: the build runs it */
	find_binaries();
	optind = 1;
	if (c->fn == cmd_exec || c->fn == cmd_healthcheck_run) {
		/* exec enters a container from this process: run from a copy
		 * no container can write (CVE-2019-5736) */
		husk_error *err = NULL;
		if (husk_ensure_sealed_exe(argv, envp, &err) < 0)
			return fail(err);
	}
	if (husk_mkdir_p(eng.root, 0700, NULL) < 0 || husk_mkdir_p(eng.runroot, 0700, NULL) < 0)
		return failf("cannot create \"%s\" or \"%s\"", eng.root, eng.runroot);
	int rc = c->fn(sub_argc, sub_argv);
	cli_tmpl_flush();
	return rc;
}

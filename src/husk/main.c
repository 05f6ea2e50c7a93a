/* husk: the engine's command line, with Docker's habits.
 *   husk run [--rm] [-d] [-it] [--name N] [-e K=V] [-w DIR] [-u UID[:GID]]
 *            [-v SRC:DST[:ro]] [--memory 64m] [--pids-limit N] [--cpus X]
 *            [--hostname H] [--network none|host|bridge] [-p HOST:CTR[/tcp|udp]]
 *            [--pull missing|never|always]
 *            IMAGE [CMD...]
 *   husk ps [-a] [-q] | rm [-f] NAME... | stop [-t S] NAME... | logs NAME
 *   husk exec [-it] [-e K=V] NAME CMD... | images [-q] | load -i FILE
 *   husk pull IMAGE | push IMAGE [DEST] | login -u U -p P HOST | logout HOST */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "husk.h"
#include "image.h"
#include "cli.h"
#include "tty.h"
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

static int exit_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/* Start the created container with the core, in this process. */
static int start(const char *id, bool tty, struct husk_created *cr, husk_error **err)
{
	cleanup_free char *bundle = husk_engine_dir(&eng, id);
	struct husk_create_opts co = {
		.state_root = eng.runroot, .id = id, .bundle = bundle, .start_now = true};
	(void)tty;
	if (husk_create(&co, cr, err) < 0)
		return -1;
	return husk_run_start(&co, cr, err);
}

static void finish(const char *id, bool rm, int code)
{
	husk_error *err = NULL;
	husk_engine_set_exit(&eng, id, code, NULL);
	if (rm && husk_engine_rm(&eng, id, true, &err) < 0)
		fail(err);
}

/* what run's options allocated: the -e list (of argv's strings), the
 * volumes (each src owns its string, dst points into it), the ports */
static void run_opts_clear(struct husk_run_opts *o)
{
	for (size_t i = 0; i < o->n_volumes; i++)
		free(o->volumes[i].src);
	free(o->volumes);
	free(o->env);
	free(o->ports);
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"rm", no_argument, NULL, 'R'},
		{"detach", no_argument, NULL, 'd'},
		{"interactive", no_argument, NULL, 'i'},
		{"tty", no_argument, NULL, 't'},
		{"name", required_argument, NULL, 'n'},
		{"env", required_argument, NULL, 'e'},
		{"workdir", required_argument, NULL, 'w'},
		{"user", required_argument, NULL, 'u'},
		{"volume", required_argument, NULL, 'v'},
		{"memory", required_argument, NULL, 'm'},
		{"pids-limit", required_argument, NULL, 'P'},
		{"cpus", required_argument, NULL, 'c'},
		{"hostname", required_argument, NULL, 'h'},
		{"network", required_argument, NULL, 'N'},
		{"publish", required_argument, NULL, 'p'},
		{"pull", required_argument, NULL, 'L'},
		{0},
	};
	__attribute__((cleanup(run_opts_clear))) struct husk_run_opts o = {0};
	enum cli_pull pull = CLI_PULL_MISSING;
	size_t nenv = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+dite:w:u:v:m:h:p:", opts, NULL)) != -1) {
		switch (c) {
		case 'R':
			o.rm = true;
			break;
		case 'd':
			o.detach = true;
			break;
		case 'i':
			o.interactive = true;
			break;
		case 't':
			o.tty = true;
			break;
		case 'n':
			o.name = optarg;
			break;
		case 'e':
			if (!strchr(optarg, '='))
				return failf("-e \"%s\": expected NAME=VALUE", optarg);
			husk_strv_push(&o.env, &nenv, optarg);
			break;
		case 'w':
			o.workdir = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'v': {
			cleanup_free char *v = strdup(optarg);
			char *dst = v ? strchr(v, ':') : NULL;
			if (!dst || v[0] != '/' || dst[1] != '/')
				return failf("-v \"%s\": expected /host/dir:/container/dir[:ro]",
					     optarg);
			*dst++ = '\0';
			char *mode = strchr(dst, ':');
			if (mode)
				*mode++ = '\0';
			o.volumes = realloc(o.volumes, (o.n_volumes + 1) * sizeof(*o.volumes));
			o.volumes[o.n_volumes++] = (struct husk_volume){
				.src = steal_ptr(v), .dst = dst, .ro = mode && !strcmp(mode, "ro")};
			break;
		}
		case 'm':
			if (husk_parse_size(optarg, &o.memory) < 0 || o.memory <= 0)
				return failf("--memory \"%s\": expected a size such as 64m",
					     optarg);
			break;
		case 'P': {
			long n;
			if (husk_parse_long(optarg, &n) < 0 || n < 0)
				return failf("--pids-limit \"%s\": expected a number", optarg);
			o.pids_limit = n;
			break;
		}
		case 'c': {
			char *end = NULL;
			o.cpus = strtod(optarg, &end);
			if (!end || *end || o.cpus <= 0)
				return failf("--cpus \"%s\": expected a number such as 0.5",
					     optarg);
			break;
		}
		case 'h':
			o.hostname = optarg;
			break;
		case 'L':
			if (strcmp(optarg, "missing") == 0)
				pull = CLI_PULL_MISSING;
			else if (strcmp(optarg, "never") == 0)
				pull = CLI_PULL_NEVER;
			else if (strcmp(optarg, "always") == 0)
				pull = CLI_PULL_ALWAYS;
			else
				return failf("--pull \"%s\": expected missing, never or always",
					     optarg);
			break;
		case 'N':
			o.host_network = strcmp(optarg, "host") == 0;
			o.bridge_network = strcmp(optarg, "bridge") == 0;
			if (!o.host_network && !o.bridge_network && strcmp(optarg, "none") != 0)
				return failf("--network \"%s\": expected none, host or bridge",
					     optarg);
			break;
		case 'p': {
			husk_error *perr = NULL;
			o.ports = realloc(o.ports, (o.n_ports + 1) * sizeof(*o.ports));
			if (!o.ports)
				return failf("-p: out of memory");
			if (husk_net_parse_port(optarg, &o.ports[o.n_ports], &perr) < 0)
				return fail(perr);
			o.n_ports++;
			break;
		}
		default:
			return failf("run: bad option (usage: husk run [OPTIONS] IMAGE [CMD...])");
		}
	}
	if (optind >= argc)
		return failf("run: expected an image");
	cleanup_free char *image = NULL;
	if (cli_image_for_run(argv[optind], pull, &image) != 0)
		return 125; /* not in the store, and the pull failed */
	o.image = image;
	o.cmd = optind + 1 < argc ? argv + optind + 1 : NULL;
	if (o.tty && o.detach)
		return failf("run: -t with -d is not supported yet");
	if (o.n_ports && !o.bridge_network)
		return failf("run: -p needs --network bridge");
	husk_error *err = NULL;
	cleanup_free char *id = NULL;
	if (husk_engine_create(&eng, &o, &id, &err) < 0)
		return fail(err);
	if (!o.detach) {
		struct husk_created cr;
		if (start(id, o.tty, &cr, &err) < 0) {
			int r = fail(err);
			finish(id, o.rm, 127);
			return r;
		}
		int status = cli_wait_and_proxy(cr.pid, cr.pty_master);
		finish(id, o.rm, exit_of(status));
		return exit_of(status);
	}
	/* detached: a monitor process (the container's parent, like
	 * Podman's conmon) starts it with its output going to the log, then
	 * waits for it, records its exit, and removes it with --rm */
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return failf("pipe: %m");
	pid_t m = fork();
	if (m < 0)
		return failf("fork: %m");
	if (m == 0) {
		close(p[0]);
		setsid();
		if (fork() != 0)
			_exit(0);
		cleanup_free char *log = husk_strdup_printf("%s/log", husk_engine_dir(&eng, id));
		int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (lfd < 0 || nfd < 0)
			_exit(1);
		dup2(nfd, 0);
		dup2(lfd, 1);
		dup2(lfd, 2);
		struct husk_created cr;
		husk_error *merr = NULL;
		if (start(id, false, &cr, &merr) < 0) {
			husk_write_all(p[1], merr->msg, strlen(merr->msg));
			finish(id, o.rm, 127);
			_exit(1);
		}
		husk_write_all(p[1], "", 1);
		close(p[1]);
		int status = 0;
		while (waitpid(cr.pid, &status, 0) < 0 && errno == EINTR)
			;
		finish(id, o.rm, exit_of(status));
		_exit(0);
	}
	close(p[1]);
	waitpid(m, NULL, 0);
	char buf[4096];
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	if (n == 1 && buf[0] == '\0') {
		printf("%s\n", id);
		return 0;
	}
	buf[n > 0 ? n : 0] = '\0';
	return failf("%s", n > 0 ? buf : "the monitor process died");
}

static int cmd_ps(int argc, char **argv)
{
	bool all = false, quiet = false;
	int c;
	while ((c = getopt(argc, argv, "+aq")) != -1) {
		if (c == 'a')
			all = true;
		else if (c == 'q')
			quiet = true;
		else
			return failf("ps: bad option");
	}
	husk_error *err = NULL;
	struct husk_ctr_info *v = NULL;
	size_t n = 0;
	if (husk_engine_list(&eng, &v, &n, &err) < 0)
		return fail(err);
	if (!quiet)
		printf("%-14s %-16s %-26s %-22s %-14s %s\n", "CONTAINER ID", "IMAGE", "COMMAND",
		       "CREATED", "STATUS", "NAMES");
	for (size_t i = 0; i < n; i++) {
		bool running =
			strcmp(v[i].status, "running") == 0 || strcmp(v[i].status, "paused") == 0;
		if (!all && !running)
			continue;
		if (quiet)
			printf("%.12s\n", v[i].id);
		else
			printf("%-14.12s %-16s %-26.26s %-22s %-14s %s\n", v[i].id, v[i].image,
			       v[i].command, v[i].created, v[i].status, v[i].name);
	}
	husk_engine_list_free(v, n);
	return 0;
}

static int cmd_rm(int argc, char **argv)
{
	bool force = false;
	int c;
	while ((c = getopt(argc, argv, "+f")) != -1) {
		if (c != 'f')
			return failf("rm: bad option");
		force = true;
	}
	if (optind >= argc)
		return failf("rm: expected a container");
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		husk_error *err = NULL;
		if (husk_engine_rm(&eng, argv[i], force, &err) < 0)
			rc = fail(err);
		else
			printf("%s\n", argv[i]);
	}
	return rc;
}

static int cmd_stop(int argc, char **argv)
{
	long secs = 10;
	int c;
	while ((c = getopt(argc, argv, "+t:")) != -1) {
		if (c != 't' || husk_parse_long(optarg, &secs) < 0 || secs < 0)
			return failf("stop: usage: husk stop [-t SECONDS] NAME...");
	}
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		husk_error *err = NULL;
		char *id = NULL;
		if (husk_engine_resolve(&eng, argv[i], &id, &err) < 0) {
			rc = fail(err);
			continue;
		}
		/* TERM to every process, then KILL after the grace time */
		husk_kill(eng.runroot, id, SIGTERM, true, NULL);
		for (long t = 0; t < secs * 20; t++) {
			char *json = NULL;
			if (husk_state(eng.runroot, id, &json, NULL) < 0 ||
			    strstr(json, "\"stopped\"")) {
				free(json);
				break;
			}
			free(json);
			struct timespec ts = {0, 50000000};
			nanosleep(&ts, NULL);
		}
		husk_kill(eng.runroot, id, SIGKILL, true, NULL);
		printf("%s\n", argv[i]);
		free(id);
	}
	return rc;
}

static int cmd_logs(int argc, char **argv)
{
	if (argc != 2)
		return failf("logs: usage: husk logs NAME");
	husk_error *err = NULL;
	char *id = NULL;
	if (husk_engine_resolve(&eng, argv[1], &id, &err) < 0)
		return fail(err);
	cleanup_free char *dir = husk_engine_dir(&eng, id);
	cleanup_free char *log = husk_strdup_printf("%s/log", dir);
	free(id);
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (husk_read_file(log, &text, &len, &err) < 0) {
		if (err && err->errnum == ENOENT) {
			husk_error_free(err);
			return 0; /* ran in the foreground: nothing logged */
		}
		return fail(err);
	}
	fwrite(text, 1, len, stdout);
	return 0;
}

static int cmd_exec(int argc, char **argv)
{
	bool tty = false;
	cleanup_free char **env = NULL;
	size_t nenv = 0;
	int c;
	while ((c = getopt(argc, argv, "+ite:")) != -1) {
		if (c == 't')
			tty = true;
		else if (c == 'e')
			husk_strv_push(&env, &nenv, optarg);
		else if (c != 'i')
			return failf("exec: bad option");
	}
	if (optind + 1 >= argc)
		return failf("exec: usage: husk exec [-it] [-e K=V] NAME CMD...");
	husk_error *err = NULL;
	char *id = NULL;
	if (husk_engine_resolve(&eng, argv[optind], &id, &err) < 0)
		return fail(err);
	struct husk_exec_opts o = {.state_root = eng.runroot,
				   .id = id,
				   .args = argv + optind + 1,
				   .env = env,
				   .tty = tty};
	struct husk_exec_result r;
	int er = husk_exec(&o, &r, &err);
	free(id);
	if (er < 0)
		return fail(err);
	return exit_of(cli_wait_and_proxy(r.pid, r.pty_master));
}

/* one line per command; clang-format off keeps them so */
// clang-format off
static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{"run", cmd_run},
	{"ps", cmd_ps},
	{"rm", cmd_rm},
	{"stop", cmd_stop},
	{"logs", cmd_logs},
	{"exec", cmd_exec},
	{"images", cmd_images},
	{"load", cmd_load},
	{"import", cmd_import},
	{"rmi", cmd_rmi},
	{"image", cmd_image},
	{"pull", cmd_pull},
	{"push", cmd_push},
	{"login", cmd_login},
	{"logout", cmd_logout},
	{"save", cmd_save},
	{"tag", cmd_tag},
};
// clang-format on

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
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("husk version 0.1.0\n");
			return 0;
		} else {
			return failf("unknown option \"%s\"", argv[i]);
		}
	}
	if (i >= argc) {
		fprintf(stderr, "usage: husk [--root DIR] [--runroot DIR] "
				"run|ps|exec|logs|stop|rm|images|load|import|rmi|image|"
				"pull|push|login|logout ...\n");
		return 125;
	}
	const char *cmd = argv[i];
	int sub_argc = argc - i;
	char **sub_argv = argv + i;
	optind = 1;
	if (strcmp(cmd, "run") == 0 || strcmp(cmd, "exec") == 0) {
		/* these enter containers: run from a copy no container can
		 * write (CVE-2019-5736) */
		husk_error *err = NULL;
		if (husk_ensure_sealed_exe(argv, envp, &err) < 0)
			return fail(err);
	}
	if (husk_mkdir_p(eng.root, 0700, NULL) < 0 || husk_mkdir_p(eng.runroot, 0700, NULL) < 0)
		return failf("cannot create \"%s\" or \"%s\"", eng.root, eng.runroot);
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(cmd, commands[k].name) == 0)
			return commands[k].fn(sub_argc, sub_argv);
	return failf("unknown command \"%s\"", cmd);
}

/* husk-oci: global flags, dispatch to the verbs, and how errors are shown. */
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
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fault.h"
#include "husk.h"
#include "util.h"

struct cli g = {.root = "/run/husk", .log_fd = -1};

static void log_line(const char *level, const char *msg)
{
	if (g.log_fd < 0)
		return;
	int fd = g.log_fd;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char t[64];
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* json: an object a line, as runc's; text: logrus's key="value",
	 * the message quoted with its quotes, backslashes and control
	 * characters escaped (a JSON string's escapes are Go's for these) */
	cleanup_free char *line = NULL;
	if (g.log_json) {
		json_t *o = json_pack("{s:s,s:s,s:s}", "level", level, "msg", msg, "time", t);
		line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (line)
			dprintf(fd, "%s\n", line);
	} else {
		json_t *m = json_string(msg);
		line = m ? json_dumps(m, JSON_ENCODE_ANY) : NULL;
		json_decref(m);
		if (line)
			dprintf(fd, "time=\"%s\" level=%s msg=%s\n", t, level, line);
	}
}

int cli_error(husk_error *err)
{
	const char *m = err && err->msg ? err->msg : "unknown error";
	fprintf(stderr, "husk-oci: %s\n", m);
	log_line("error", m);
	husk_error_free(err);
	return 1;
}

int cli_errorf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	fprintf(stderr, "husk-oci: %s\n", m ? m : fmt);
	log_line("error", m ? m : fmt);
	free(m);
	return 1;
}

void cli_warn(void *ud, const char *msg)
{
	(void)ud;
	fprintf(stderr, "husk-oci: warning: %s\n", msg);
	log_line("warning", msg);
}

void cli_trace(void *ud, const char *step, uint64_t ns)
{
	(void)ud;
	if (g.explain)
		fprintf(stderr, "[explain] %9.3f ms  %s\n", (double)ns / 1e6, step);
	if (g.debug) {
		char line[600];
		snprintf(line, sizeof(line), "%s (%.3f ms)", step, (double)ns / 1e6);
		log_line("debug", line);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: husk-oci [global options] COMMAND [options] [args]\n"
		   "\n"
		   "An OCI container runtime with runc's command line.\n"
		   "\n"
		   "commands:\n"
		   "  spec      write a default config.json (--rootless for a user namespace)\n"
		   "  create    create a container from a bundle (waits for start)\n"
		   "  start     run the created container's process\n"
		   "  run       create and start, wait for the exit (-d to detach)\n"
		   "  exec      run another process in a running container\n"
		   "  state     print the container's state as JSON\n"
		   "  kill      send a signal to the container (--all: every process)\n"
		   "  delete    remove a stopped container (--force: any)\n"
		   "  list      list containers (-q, --format table|json)\n"
		   "  ps        list the container's processes\n"
		   "  pause     freeze every process of the container\n"
		   "  resume    thaw a paused container\n"
		   "  features  print what this runtime supports as JSON\n"
		   "  checkpoint  dump a running container to images (CRIU)\n"
		   "  restore   start a container again from its images (CRIU)\n"
		   "\n"
		   "global options:\n"
		   "  --root DIR            state directory (default /run/husk)\n"
		   "  --log FILE            also write errors to FILE\n"
		   "  --log-format text|json\n"
		   "  --debug               more messages\n"
		   "  --explain             print each kernel step with its time\n"
		   "  --systemd-cgroup      (not supported: husk drives cgroupfs)\n"
		   "  --cgroup-manager cgroupfs|disabled (disabled: no cgroup is made)\n"
		   "  --criu PATH           CRIU's binary for checkpoint/restore (default: criu)\n"
		   "  --list-faults         the steps HUSK_FAULT=STEP kills at (test builds)\n"
		   "  -v, --version\n");
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
	bool enters; /* enters a container: run from the sealed copy */
} commands[] = {
	{"spec", cmd_spec, false},
	{"create", cmd_create, true},
	{"run", cmd_run, true},
	{"start", cmd_start, false},
	{"state", cmd_state, false},
	{"kill", cmd_kill, false},
	{"delete", cmd_delete, false},
	{"list", cmd_list, false},
	{"ps", cmd_ps, false},
	{"pause", cmd_pause, false},
	{"resume", cmd_resume, false},
	{"exec", cmd_exec, true},
	{"features", cmd_features, false},
	{"update", cmd_update, false},
	{"events", cmd_events, false},
	{"checkpoint", cmd_checkpoint, false},
	{"restore", cmd_restore, false},
};

int main(int argc, char **argv, char **envp)
{
	g.argv0 = argv[0];
	const char *env_root = getenv("HUSK_OCI_ROOT");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (env_root && *env_root)
		g.root = env_root;
	else if (geteuid() != 0 && xdg && *xdg)
		g.root = husk_strdup_printf("%s/husk", xdg); /* rootless, as runc does */
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},
		{"log", required_argument, NULL, 'l'},
		{"log-format", required_argument, NULL, 'f'},
		{"debug", no_argument, NULL, 'd'},
		{"explain", no_argument, NULL, 'x'},
		{"systemd-cgroup", no_argument, NULL, 's'},
		{"cgroup-manager", required_argument, NULL, 'c'},
		{"rootless", required_argument, NULL, 'R'},
		{"criu", required_argument, NULL, 'C'},
		{"version", no_argument, NULL, 'v'},
		{"list-faults", no_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	/* global options stop at the command name */
	int c;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			g.root = optarg;
			break;
		case 'l':
			g.log_path = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				g.log_json = true;
			else if (strcmp(optarg, "text") != 0)
				return cli_errorf("--log-format \"%s\": expected text or json",
						  optarg);
			break;
		case 'd':
			g.debug = true;
			break;
		case 'x':
			g.explain = true;
			break;
		case 's':
			return cli_errorf("--systemd-cgroup: the systemd cgroup driver is not "
					  "supported; husk manages cgroupfs directly");
		case 'c':
			if (strcmp(optarg, "systemd") == 0)
				return cli_errorf("--cgroup-manager systemd: not supported; use "
						  "cgroupfs");
			if (strcmp(optarg, "disabled") == 0)
				g.no_cgroups = true;
			else if (strcmp(optarg, "cgroupfs") != 0)
				return cli_errorf("--cgroup-manager \"%s\": expected cgroupfs or "
						  "disabled",
						  optarg);
			break;
		case 'C':
			g.criu = optarg;
			break;
		case 'R':
			break; /* accepted for runc compatibility */
		case 'v':
			printf("husk-oci version 0.1.0\nspec: 1.3.0\n");
			return 0;
		case 'F':
			/* the steps HUSK_FAULT names, husk-oci's and the engine's
			 * (tests/integration/faults.bats walks them) */
			if (!HUSK_FAULT_ENABLED)
				return cli_errorf("--list-faults: built without -Dfault_injection");
			for (size_t i = 0; i < HUSK_FAULT_N; i++)
				printf("%s\t%s\n", husk_fault_steps[i].name,
				       husk_fault_steps[i].what);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind];
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(commands[i].name, cmd) != 0)
			continue;
		if (commands[i].enters) {
			husk_error *err = NULL;
			if (husk_ensure_sealed_exe(argv, envp, &err) < 0)
				return cli_error(err);
		}
		/* after the re-exec: one open for every line of the log, and a
		 * path that cannot be opened is an error, as with runc */
		if (g.log_path) {
			g.log_fd =
				open(g.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
			if (g.log_fd < 0)
				return cli_errorf("--log \"%s\": %s", g.log_path, strerror(errno));
		}
		int sub_argc = argc - optind;
		char **sub_argv = argv + optind;
		optind = 0; /* reset getopt for the verb */
		return commands[i].fn(sub_argc, sub_argv);
	}
	/* the error goes to --log too, as runc's */
	if (g.log_path && g.log_fd < 0)
		g.log_fd = open(g.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	return cli_errorf("unknown command \"%s\" (see husk-oci --help)", cmd);
}

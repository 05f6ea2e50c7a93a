/* husk run and husk create: Docker's flags into the engine's options;
 * run then starts the container under its monitor and, in the
 * foreground, attaches to it. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "engine.h"
#include "tty.h"
#include "util.h"

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

struct run_cli {
	struct husk_run_opts o;
	enum cli_pull pull;
	bool detach;
	bool sig_proxy;
	const char *detach_keys;
	size_t nenv;
	char **owned; /* the strings -e NAME made */
	size_t n_owned;
};

static int parse_volume(struct husk_run_opts *o, const char *arg)
{
	cleanup_free char *v = strdup(arg);
	char *dst = v ? strchr(v, ':') : NULL;
	if (!dst || v[0] != '/' || dst[1] != '/')
		return failf("-v \"%s\": expected /host/dir:/container/dir[:ro]", arg);
	*dst++ = '\0';
	char *mode = strchr(dst, ':');
	if (mode)
		*mode++ = '\0';
	if (mode && strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0)
		return failf("-v \"%s\": the mode is ro or rw", arg);
	o->volumes = realloc(o->volumes, (o->n_volumes + 1) * sizeof(*o->volumes));
	if (!o->volumes)
		abort();
	o->volumes[o->n_volumes++] = (struct husk_volume){
		.src = steal_ptr(v), .dst = dst, .ro = mode && !strcmp(mode, "ro")};
	return 0;
}

static int parse_log_opt(struct husk_run_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq)
		return failf("--log-opt \"%s\": expected KEY=VALUE", arg);
	if (strncmp(arg, "max-size=", 9) == 0) {
		if (husk_parse_size(eq + 1, &o->log_max_size) < 0 || o->log_max_size <= 0)
			return failf("--log-opt \"%s\": expected a size such as 10m", arg);
		return 0;
	}
	if (strncmp(arg, "max-file=", 9) == 0) {
		long n;
		if (husk_parse_long(eq + 1, &n) < 0 || n < 1 || n > 1000)
			return failf("--log-opt \"%s\": expected a count from 1", arg);
		o->log_max_file = (int)n;
		return 0;
	}
	return failf("--log-opt \"%s\": husk knows max-size and max-file", arg);
}

enum {
	OPT_RM = 1000,
	OPT_NAME,
	OPT_MEMORY,
	OPT_PIDS,
	OPT_CPUS,
	OPT_NETWORK,
	OPT_PULL,
	OPT_RESTART,
	OPT_LOG_DRIVER,
	OPT_LOG_OPT,
	OPT_STOP_SIGNAL,
	OPT_STOP_TIMEOUT,
	OPT_SIG_PROXY,
	OPT_DETACH_KEYS,
	OPT_HOSTNAME,
	OPT_HEALTH_CMD,
	OPT_HEALTH_INTERVAL,
	OPT_HEALTH_TIMEOUT,
	OPT_HEALTH_RETRIES,
	OPT_HEALTH_START,
	OPT_HEALTH_ON_FAILURE,
	OPT_NO_HEALTHCHECK,
};

const struct cli_flag run_flags[] = {
	{"detach", 'd', NULL, "run in the background and print the id"},
	{"interactive", 'i', NULL, "keep stdin open (without it, stdin is /dev/null)"},
	{"tty", 't', NULL, "give the container a terminal"},
	{"rm", 0, NULL, "remove the container when it exits", OPT_RM},
	{"name", 0, "NAME", "name the container ([a-zA-Z0-9][a-zA-Z0-9_.-]*)", OPT_NAME},
	{"env", 'e', "NAME[=VALUE]", "set a variable (NAME alone: the value from here)"},
	{"workdir", 'w', "DIR", "the working directory in the container"},
	{"user", 'u', "USER[:GROUP]", "run as this user, a name or a number"},
	{"volume", 'v', "SRC:DST[:ro]", "bind mount a host directory"},
	{"memory", 'm', "SIZE", "memory limit (64m, 1g)"},
	{"pids-limit", 0, "N", "at most N processes", OPT_PIDS},
	{"cpus", 0, "N", "CPU limit, in CPUs (0.5)", OPT_CPUS},
	{"hostname", 'h', "NAME", "the container's host name", OPT_HOSTNAME},
	{"network", 0, "MODE", "none (default), host or bridge", OPT_NETWORK},
	{"net", 0, "MODE", NULL, OPT_NETWORK},
	{"publish", 'p', "[IP:]HOST:CTR[/PROTO]", "publish a port (needs --network bridge)"},
	{"pull", 0, "POLICY", "missing (default), never or always", OPT_PULL},
	{"restart", 0, "POLICY", "no, on-failure[:N], always or unless-stopped", OPT_RESTART},
	{"log-driver", 0, "DRIVER", "json-file (default), k8s-file or none", OPT_LOG_DRIVER},
	{"log-opt", 0, "KEY=VALUE", "max-size=SIZE, max-file=N", OPT_LOG_OPT},
	{"stop-signal", 0, "SIGNAL", "the signal stop sends (default the image's, TERM)",
	 OPT_STOP_SIGNAL},
	{"stop-timeout", 0, "SECONDS", "seconds stop waits before SIGKILL (10)", OPT_STOP_TIMEOUT},
	{"sig-proxy", 0, "BOOL", "forward signals to the container (default true)", OPT_SIG_PROXY},
	{"detach-keys", 0, "KEYS", "the keys that detach (default ctrl-p,ctrl-q)", OPT_DETACH_KEYS},
	{"health-cmd", 0, "COMMAND", "the healthcheck, run by /bin/sh -c", OPT_HEALTH_CMD},
	{"health-interval", 0, "DURATION", "time between checks (30s)", OPT_HEALTH_INTERVAL},
	{"health-timeout", 0, "DURATION", "a check's time limit (30s)", OPT_HEALTH_TIMEOUT},
	{"health-retries", 0, "N", "failures in a row that make it unhealthy (3)",
	 OPT_HEALTH_RETRIES},
	{"health-start-period", 0, "DURATION", "failures in this time after start do not count",
	 OPT_HEALTH_START},
	{"health-on-failure", 0, "ACTION", "none, kill, restart or stop when unhealthy",
	 OPT_HEALTH_ON_FAILURE},
	{"no-healthcheck", 0, NULL, "no healthcheck, not even the image's", OPT_NO_HEALTHCHECK},
	{0},
};

static int parse_one(struct run_cli *r, int c)
{
	struct husk_run_opts *o = &r->o;
	husk_error *err = NULL;
	switch (c) {
	case OPT_RM:
		o->rm = true;
		return 0;
	case 'd':
		r->detach = true;
		return 0;
	case 'i':
		o->interactive = true;
		return 0;
	case 't':
		o->tty = true;
		return 0;
	case OPT_NAME:
		o->name = optarg;
		return 0;
	case 'e':
		if (!strchr(optarg, '=')) {
			/* -e NAME: the value from our environment, or nothing */
			if (!getenv(optarg))
				return 0;
			char *kv = husk_strdup_printf("%s=%s", optarg, getenv(optarg));
			husk_strv_push(&r->owned, &r->n_owned, kv);
			husk_strv_push(&o->env, &r->nenv, kv);
			return 0;
		}
		husk_strv_push(&o->env, &r->nenv, optarg);
		return 0;
	case 'w':
		o->workdir = optarg;
		return 0;
	case 'u':
		o->user = optarg;
		return 0;
	case 'v':
		return parse_volume(o, optarg);
	case 'm':
		if (husk_parse_size(optarg, &o->memory) < 0 || o->memory <= 0)
			return failf("--memory \"%s\": expected a size such as 64m", optarg);
		return 0;
	case OPT_PIDS: {
		long n;
		if (husk_parse_long(optarg, &n) < 0 || n < 0)
			return failf("--pids-limit \"%s\": expected a number", optarg);
		o->pids_limit = n;
		return 0;
	}
	case OPT_CPUS: {
		char *end = NULL;
		o->cpus = strtod(optarg, &end);
		if (!end || *end || o->cpus <= 0)
			return failf("--cpus \"%s\": expected a number such as 0.5", optarg);
		return 0;
	}
	case OPT_HOSTNAME:
		o->hostname = optarg;
		return 0;
	case OPT_PULL:
		if (strcmp(optarg, "missing") == 0)
			r->pull = CLI_PULL_MISSING;
		else if (strcmp(optarg, "never") == 0)
			r->pull = CLI_PULL_NEVER;
		else if (strcmp(optarg, "always") == 0)
			r->pull = CLI_PULL_ALWAYS;
		else
			return failf("--pull \"%s\": expected missing, never or always", optarg);
		return 0;
	case OPT_NETWORK:
		if (strcmp(optarg, "host") == 0)
			o->network = HUSK_NETMODE_HOST;
		else if (strcmp(optarg, "bridge") == 0)
			o->network = HUSK_NETMODE_BRIDGE;
		else if (strcmp(optarg, "none") == 0)
			o->network = HUSK_NETMODE_NONE;
		else
			return failf("--network \"%s\": expected none, host or bridge", optarg);
		return 0;
	case 'p':
		o->ports = realloc(o->ports, (o->n_ports + 1) * sizeof(*o->ports));
		if (!o->ports)
			abort();
		if (husk_net_parse_port(optarg, &o->ports[o->n_ports], &err) < 0)
			return fail(err);
		o->n_ports++;
		return 0;
	case OPT_RESTART:
		if (husk_restart_parse(optarg, &o->restart, &o->restart_max, &err) < 0)
			return fail(err);
		return 0;
	case OPT_LOG_DRIVER:
		if (husk_log_driver_parse(optarg) < 0)
			return failf("--log-driver \"%s\": expected json-file, k8s-file or none",
				     optarg);
		o->log_driver = optarg;
		return 0;
	case OPT_LOG_OPT:
		return parse_log_opt(o, optarg);
	case OPT_STOP_SIGNAL:
		if (parse_signal(optarg, &o->stop_signal) < 0)
			return failf("--stop-signal \"%s\": not a signal", optarg);
		return 0;
	case OPT_STOP_TIMEOUT: {
		long n;
		if (husk_parse_long(optarg, &n) < 0 || n < -1 || n > 100000)
			return failf("--stop-timeout \"%s\": expected seconds", optarg);
		o->stop_timeout = (int)n;
		return 0;
	}
	case OPT_SIG_PROXY:
		r->sig_proxy = strcmp(optarg, "false") != 0;
		return 0;
	case OPT_DETACH_KEYS:
		r->detach_keys = optarg;
		return 0;
	case OPT_HEALTH_CMD:
		o->health_cmd = optarg;
		return 0;
	case OPT_NO_HEALTHCHECK:
		o->no_healthcheck = true;
		return 0;
	case OPT_HEALTH_INTERVAL:
	case OPT_HEALTH_TIMEOUT:
	case OPT_HEALTH_START: {
		int64_t ns;
		const char *flag = c == OPT_HEALTH_INTERVAL  ? "--health-interval"
				   : c == OPT_HEALTH_TIMEOUT ? "--health-timeout"
							     : "--health-start-period";
		if (cli_parse_duration(optarg, &ns) < 0 || (c != OPT_HEALTH_START && ns < 1000000))
			return failf("%s \"%s\": expected a duration such as 30s or 500ms", flag,
				     optarg);
		*(c == OPT_HEALTH_INTERVAL  ? &o->health_interval_ns
		  : c == OPT_HEALTH_TIMEOUT ? &o->health_timeout_ns
					    : &o->health_start_period_ns) = ns;
		return 0;
	}
	case OPT_HEALTH_RETRIES: {
		long n;
		if (husk_parse_long(optarg, &n) < 0 || n < 1 || n > 1000000)
			return failf("--health-retries \"%s\": expected a number from 1", optarg);
		o->health_retries = (int)n;
		return 0;
	}
	case OPT_HEALTH_ON_FAILURE:
		if (husk_health_action_parse(optarg, &o->health_on_failure, &err) < 0)
			return fail(err);
		return 0;
	default:
		return 125;
	}
}

static int parse(struct run_cli *r, int argc, char **argv, const char *verb, char **ret_image)
{
	r->pull = CLI_PULL_MISSING;
	r->sig_proxy = true;
	r->o.stop_timeout = -1;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		int rc = parse_one(r, c);
		if (rc)
			return rc;
	}
	if (cli_operands(argc, argv, 1, -1))
		return 125;
	if (r->o.n_ports && r->o.network != HUSK_NETMODE_BRIDGE)
		return failf("%s: -p needs --network bridge", verb);
	if (r->detach && r->o.rm && r->o.restart != HUSK_RESTART_NO)
		return failf("%s: --restart and --rm cannot go together", verb);
	if (r->o.rm && r->o.restart != HUSK_RESTART_NO)
		return failf("%s: --restart and --rm cannot go together", verb);
	if (r->o.no_healthcheck && r->o.health_cmd)
		return failf("%s: --no-healthcheck and --health-cmd cannot go together", verb);
	if (cli_image_for_run(argv[optind], r->pull, ret_image) != 0)
		return 125; /* not in the store, and the pull failed */
	r->o.image = *ret_image;
	/* the pty starts at our terminal's size: the process may ask for it
	 * before the first resize could reach it */
	struct winsize ws;
	if (r->o.tty && isatty(0) && ioctl(0, TIOCGWINSZ, &ws) == 0) {
		r->o.tty_rows = ws.ws_row;
		r->o.tty_cols = ws.ws_col;
	}
	r->o.cmd = optind + 1 < argc ? argv + optind + 1 : NULL;
	return 0;
}

static void run_cli_clear(struct run_cli *r)
{
	run_opts_clear(&r->o);
	for (size_t i = 0; i < r->n_owned; i++)
		free(r->owned[i]);
	free(r->owned);
}

int cmd_create(int argc, char **argv)
{
	struct run_cli r = {0};
	cleanup_free char *image = NULL;
	int rc = parse(&r, argc, argv, "create", &image);
	if (rc) {
		run_cli_clear(&r);
		return rc;
	}
	husk_error *err = NULL;
	cleanup_free char *id = NULL;
	rc = husk_engine_create(&eng, &r.o, &id, &err) < 0 ? fail(err) : 0;
	run_cli_clear(&r);
	if (rc == 0)
		printf("%s\n", id);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	struct run_cli r = {0};
	cleanup_free char *image = NULL;
	int rc = parse(&r, argc, argv, "run", &image);
	if (rc) {
		run_cli_clear(&r);
		return rc;
	}
	husk_error *err = NULL;
	cleanup_free char *id = NULL;
	if (husk_engine_create(&eng, &r.o, &id, &err) < 0) {
		run_cli_clear(&r);
		return fail(err);
	}
	struct husk_attach_opts ao = {.tty = r.o.tty,
				      .stdin_open = r.o.interactive,
				      .sig_proxy = r.sig_proxy,
				      .detach_keys = r.detach_keys};
	bool detach = r.detach;
	run_cli_clear(&r);
	int client = -1, code = 125;
	if (husk_engine_start(&eng, id, detach ? NULL : &client, &code, &err) < 0) {
		fail(err);
		return code;
	}
	if (detach) {
		printf("%s\n", id);
		return 0;
	}
	rc = husk_attach_proxy(client, &ao, &err);
	close(client);
	if (rc == -2) {
		husk_error_free(err);
		return 0; /* detached: it runs on */
	}
	if (rc < 0)
		return fail(err);
	return rc;
}

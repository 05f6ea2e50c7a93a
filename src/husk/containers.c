/* The container verbs other than run and create: start, stop, kill,
 * restart, pause, unpause, wait, attach, rm, rename, ps, logs, exec.
 * Each parses its flags, calls the engine once per container, prints. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "engine.h"
#include "template.h"
#include "tty.h"
#include "util.h"

static int need_names(int argc, const char *verb, const char *usage)
{
	if (optind >= argc)
		return failf("%s: expected at least one container (usage: husk %s %s)", verb, verb,
			     usage);
	return 0;
}

/* -t SECONDS of stop and restart */
static int parse_time(const char *verb, int argc, char **argv, int *t)
{
	static const struct option opts[] = {{"time", required_argument, NULL, 't'},
					     {"timeout", required_argument, NULL, 't'},
					     {0}};
	int c;
	while ((c = getopt_long(argc, argv, "+t:", opts, NULL)) != -1) {
		long n;
		if (c != 't' || husk_parse_long(optarg, &n) < 0 || n < -1 || n > 100000)
			return failf("%s: usage: husk %s [-t SECONDS] CONTAINER...", verb, verb);
		*t = (int)n;
	}
	return need_names(argc, verb, "[-t SECONDS] CONTAINER...");
}

int cmd_stop(int argc, char **argv)
{
	int t = -1;
	int rc = parse_time("stop", argc, argv, &t);
	if (rc)
		return rc;
	for (int i = optind; i < argc; i++) {
		husk_error *err = NULL;
		if (husk_engine_stop(&eng, argv[i], t, &err) < 0)
			rc = fail(err);
		else
			printf("%s\n", argv[i]);
	}
	return rc;
}

int cmd_restart(int argc, char **argv)
{
	int t = -1;
	int rc = parse_time("restart", argc, argv, &t);
	if (rc)
		return rc;
	for (int i = optind; i < argc; i++) {
		husk_error *err = NULL;
		if (husk_engine_restart(&eng, argv[i], t, &err) < 0)
			rc = fail(err);
		else
			printf("%s\n", argv[i]);
	}
	return rc;
}

int cmd_start(int argc, char **argv)
{
	static const struct option opts[] = {{"attach", no_argument, NULL, 'a'},
					     {"interactive", no_argument, NULL, 'i'},
					     {"detach-keys", required_argument, NULL, 'k'},
					     {0}};
	bool attach = false, interactive = false;
	const char *keys = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+ai", opts, NULL)) != -1) {
		if (c == 'a')
			attach = true;
		else if (c == 'i')
			interactive = true;
		else if (c == 'k')
			keys = optarg;
		else
			return failf("start: usage: husk start [-a] [-i] CONTAINER...");
	}
	int rc = need_names(argc, "start", "[-a] [-i] CONTAINER...");
	if (rc)
		return rc;
	if (attach && argc - optind != 1)
		return failf("start: -a takes one container");
	for (int i = optind; i < argc; i++) {
		husk_error *err = NULL;
		int client = -1, code = 125;
		if (husk_engine_start(&eng, argv[i], attach ? &client : NULL, &code, &err) < 0) {
			fail(err);
			rc = attach ? code : 125;
			continue;
		}
		if (!attach) {
			printf("%s\n", argv[i]);
			continue;
		}
		struct husk_ctr ctr;
		bool tty = false;
		if (husk_engine_get(&eng, argv[i], &ctr, NULL) == 0) {
			tty = ctr.tty;
			husk_ctr_release(&ctr);
		}
		struct husk_attach_opts ao = {.tty = tty,
					      .stdin_open = interactive,
					      .sig_proxy = true,
					      .detach_keys = keys};
		rc = husk_attach_proxy(client, &ao, &err);
		close(client);
		if (rc == -2) {
			husk_error_free(err);
			rc = 0;
		} else if (rc < 0) {
			rc = fail(err);
		}
	}
	return rc;
}

int cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {{"no-stdin", no_argument, NULL, 'n'},
					     {"sig-proxy", required_argument, NULL, 's'},
					     {"detach-keys", required_argument, NULL, 'k'},
					     {0}};
	bool no_stdin = false, sig_proxy = true;
	const char *keys = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 'n')
			no_stdin = true;
		else if (c == 's')
			sig_proxy = strcmp(optarg, "false") != 0;
		else if (c == 'k')
			keys = optarg;
		else
			return failf("attach: usage: husk attach [--no-stdin] CONTAINER");
	}
	if (argc - optind != 1)
		return failf("attach: usage: husk attach [--no-stdin] [--detach-keys K] CONTAINER");
	husk_error *err = NULL;
	struct husk_ctr ctr;
	if (husk_engine_get(&eng, argv[optind], &ctr, &err) < 0)
		return fail(err);
	struct husk_attach_opts ao = {.tty = ctr.tty,
				      .stdin_open = ctr.interactive && !no_stdin,
				      .sig_proxy = sig_proxy,
				      .detach_keys = keys};
	husk_ctr_release(&ctr);
	int fd;
	if (husk_engine_attach(&eng, argv[optind], &fd, &err) < 0)
		return fail(err);
	int rc = husk_attach_proxy(fd, &ao, &err);
	close(fd);
	if (rc == -2) {
		husk_error_free(err);
		return 0;
	}
	return rc < 0 ? fail(err) : rc;
}

int cmd_kill(int argc, char **argv)
{
	static const struct option opts[] = {{"signal", required_argument, NULL, 's'}, {0}};
	int sig = SIGKILL, c;
	while ((c = getopt_long(argc, argv, "+s:", opts, NULL)) != -1) {
		if (c != 's' || parse_signal(optarg, &sig) < 0)
			return failf("kill: usage: husk kill [-s SIGNAL] CONTAINER...");
	}
	int rc = need_names(argc, "kill", "[-s SIGNAL] CONTAINER...");
	for (int i = optind; !rc && i < argc; i++) {
		husk_error *err = NULL;
		if (husk_engine_kill(&eng, argv[i], sig, &err) < 0)
			rc = fail(err);
		else
			printf("%s\n", argv[i]);
	}
	return rc;
}

static int pause_verb(int argc, char **argv, bool pause)
{
	const char *verb = pause ? "pause" : "unpause";
	optind = 1;
	int rc = need_names(argc, verb, "CONTAINER...");
	for (int i = optind; !rc && i < argc; i++) {
		husk_error *err = NULL;
		if (husk_engine_pause(&eng, argv[i], pause, &err) < 0)
			rc = fail(err);
		else
			printf("%s\n", argv[i]);
	}
	return rc;
}

int cmd_pause(int argc, char **argv)
{
	return pause_verb(argc, argv, true);
}

int cmd_unpause(int argc, char **argv)
{
	return pause_verb(argc, argv, false);
}

int cmd_wait(int argc, char **argv)
{
	optind = 1;
	int rc = need_names(argc, "wait", "CONTAINER...");
	for (int i = optind; !rc && i < argc; i++) {
		husk_error *err = NULL;
		int code = 0;
		if (husk_engine_wait(&eng, argv[i], &code, &err) < 0)
			rc = fail(err);
		else
			printf("%d\n", code);
	}
	return rc;
}

int cmd_rm(int argc, char **argv)
{
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'}, {"volumes", no_argument, NULL, 'v'}, {0}};
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "+fv", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c != 'v')
			return failf("rm: usage: husk rm [-f] [-v] CONTAINER...");
	}
	int rc = need_names(argc, "rm", "[-f] CONTAINER...");
	if (rc)
		return rc;
	for (int i = optind; i < argc; i++) {
		husk_error *err = NULL;
		if (husk_engine_rm(&eng, argv[i], force, &err) < 0)
			rc = fail(err);
		else
			printf("%s\n", argv[i]);
	}
	return rc;
}

int cmd_rename(int argc, char **argv)
{
	if (argc != 3)
		return failf("rename: usage: husk rename CONTAINER NEW_NAME");
	husk_error *err = NULL;
	if (husk_engine_rename(&eng, argv[1], argv[2], &err) < 0)
		return fail(err);
	return 0;
}

/* --- ps --- */

/* STATUS as docker words it: "Up 5 seconds", "Exited (0) 3 seconds ago" */
static void status_text(const struct husk_ctr *c, char *out, size_t n)
{
	char d[64];
	long long now = (long long)time(NULL);
	switch (c->state) {
	case HUSK_CTR_RUNNING:
	case HUSK_CTR_PAUSED:
		cli_human_duration(now - c->started_ns / 1000000000, d, sizeof(d));
		const char *h = !c->health_status			    ? ""
				: strcmp(c->health_status, "starting") == 0 ? " (health: starting)"
				: strcmp(c->health_status, "healthy") == 0  ? " (healthy)"
									    : " (unhealthy)";
		snprintf(out, n, "Up %s%s%s", d, c->state == HUSK_CTR_PAUSED ? " (Paused)" : h, "");
		return;
	case HUSK_CTR_EXITED:
		cli_human_duration(now - c->finished_ns / 1000000000, d, sizeof(d));
		snprintf(out, n, "Exited (%d) %s ago", c->exit_code, d);
		return;
	case HUSK_CTR_REMOVING:
		snprintf(out, n, "Removal In Progress");
		return;
	case HUSK_CTR_CREATED:
	default:
		snprintf(out, n, "Created");
		return;
	}
}

static const char *const ps_fields[] = {"ID",	     "Names",	   "Image",  "Command",
					"CreatedAt", "RunningFor", "Status", "State",
					"Ports",     "ExitCode",   NULL};

/* One row of ps, with docker's field names for --format */
static json_t *ps_row(const struct husk_ctr *c, bool trunc)
{
	char status[160], d[64], running_for[80], cmd[300], ports[128] = "", created[64];
	long long now = (long long)time(NULL);
	status_text(c, status, sizeof(status));
	cli_human_duration(now - c->created_ns / 1000000000, d, sizeof(d));
	snprintf(running_for, sizeof(running_for), "%s ago", d);
	if (trunc && strlen(c->command) > 20)
		snprintf(cmd, sizeof(cmd), "\"%.19s…\"", c->command);
	else
		snprintf(cmd, sizeof(cmd), "\"%s\"", c->command);
	size_t pl = 0;
	for (char **p = c->ports; p && *p && pl < sizeof(ports) - 32; p++)
		pl += (size_t)snprintf(ports + pl, sizeof(ports) - pl, "%s0.0.0.0:%s",
				       pl ? ", " : "", *p);
	time_t t = (time_t)(c->created_ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(created, sizeof(created), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
	return json_pack("{s:s%,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "ID", c->id,
			 (size_t)(trunc ? 12 : 64), "Names", c->name, "Image", c->image, "Command",
			 cmd, "CreatedAt", created, "RunningFor", running_for, "Status", status,
			 "State", husk_ctr_state_name(c->state), "Ports", ports, "ExitCode",
			 c->has_exit ? c->exit_code : 0);
}

int cmd_ps(int argc, char **argv)
{
	static const char usage[] = "ps: usage: husk ps [-a] [-q] [--no-trunc] [--format TEMPLATE]";
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
					     {"quiet", no_argument, NULL, 'q'},
					     {"no-trunc", no_argument, NULL, 'T'},
					     {"format", required_argument, NULL, 'F'},
					     {0}};
	bool all = false, quiet = false, trunc = true;
	const char *format = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+aq", opts, NULL)) != -1) {
		if (c == 'a')
			all = true;
		else if (c == 'q')
			quiet = true;
		else if (c == 'T')
			trunc = false;
		else if (c == 'F')
			format = optarg;
		else
			return failf("%s", usage);
	}
	if (optind < argc)
		return failf("ps: unexpected \"%s\" (%s)", argv[optind], usage);
	husk_error *err = NULL;
	struct husk_tmpl *tmpl = NULL;
	if (format && husk_tmpl_parse(format, ps_fields, &tmpl, &err) < 0)
		return fail(err);
	struct husk_ctr *v = NULL;
	size_t n = 0;
	if (husk_engine_list(&eng, &v, &n, &err) < 0) {
		husk_tmpl_free(tmpl);
		return fail(err);
	}
	if (!quiet && !tmpl)
		printf("%-14s %-16s %-22s %-20s %-28s %-20s %s\n", "CONTAINER ID", "IMAGE",
		       "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES");
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool running = v[i].state == HUSK_CTR_RUNNING || v[i].state == HUSK_CTR_PAUSED;
		if (!all && !running)
			continue;
		if (quiet) {
			printf("%.*s\n", trunc ? 12 : 64, v[i].id);
			continue;
		}
		json_t *row = ps_row(&v[i], trunc);
		const char *f[ARRAY_SIZE(ps_fields)];
		for (size_t k = 0; ps_fields[k]; k++)
			f[k] = json_string_value(json_object_get(row, ps_fields[k]));
		if (tmpl) {
			rc = cli_print_tmpl(tmpl, row);
		} else {
			printf("%-14s %-16s %-22s %-20s %-28s %-20s %s\n", f[0], f[2], f[3], f[5],
			       f[6], f[8], f[1]);
		}
		json_decref(row);
	}
	husk_engine_list_free(v, n);
	husk_tmpl_free(tmpl);
	return rc;
}

/* --- logs --- */

/* "2026-12-06T19:50:31Z", "10m", "1h30m" (relative), or Unix seconds */
static int parse_time_arg(const char *s, int64_t *ret)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end && (*end == '\0' || *end == 'Z')) {
		*ret = (int64_t)timegm(&tm) * 1000000000;
		return 0;
	}
	long n;
	if (husk_parse_long(s, &n) == 0) {
		*ret = (int64_t)n * 1000000000;
		return 0;
	}
	/* a duration: now minus it */
	int64_t total = 0;
	const char *p = s;
	while (*p) {
		char *e;
		double v = strtod(p, &e);
		if (e == p)
			return -1;
		int64_t unit = *e == 'h' ? 3600 : *e == 'm' ? 60 : *e == 's' ? 1 : 0;
		if (!unit)
			return -1;
		total += (int64_t)(v * (double)unit * 1e9);
		p = e + 1;
	}
	*ret = husk_time_ns() - total;
	return 0;
}

struct logs_out {
	bool timestamps;
};

static int emit_line(void *ud, int stream, int64_t t, const char *buf, size_t len)
{
	struct logs_out *o = ud;
	FILE *f = stream == 2 ? stderr : stdout;
	if (o->timestamps) {
		time_t s = (time_t)(t / 1000000000);
		struct tm tm;
		char ts[64];
		gmtime_r(&s, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(f, "%s.%09lldZ ", ts, (long long)(t % 1000000000));
	}
	fwrite(buf, 1, len, f);
	fflush(f);
	return 0;
}

int cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {
		{"follow", no_argument, NULL, 'f'},	 {"tail", required_argument, NULL, 'n'},
		{"timestamps", no_argument, NULL, 't'},	 {"since", required_argument, NULL, 'S'},
		{"until", required_argument, NULL, 'U'}, {0}};
	static const char usage[] = "logs: usage: husk logs [-f] [--tail N] [-t] [--since T] "
				    "[--until T] CONTAINER";
	struct logs_out out = {0};
	struct husk_log_read_opts o = {.tail = -1, .emit = emit_line, .ud = &out};
	int c;
	while ((c = getopt_long(argc, argv, "+fn:t", opts, NULL)) != -1) {
		long n;
		switch (c) {
		case 'f':
			o.follow = true;
			break;
		case 'n':
			if (strcmp(optarg, "all") == 0)
				o.tail = -1;
			else if (husk_parse_long(optarg, &n) < 0 || n < 0)
				return failf("logs: --tail \"%s\": expected a number or all",
					     optarg);
			else
				o.tail = n;
			break;
		case 't':
			out.timestamps = true;
			break;
		case 'S':
			if (parse_time_arg(optarg, &o.since_ns) < 0)
				return failf("logs: --since \"%s\": expected a time or a duration",
					     optarg);
			break;
		case 'U':
			if (parse_time_arg(optarg, &o.until_ns) < 0)
				return failf("logs: --until \"%s\": expected a time or a duration",
					     optarg);
			break;
		default:
			return failf("%s", usage);
		}
	}
	if (argc - optind != 1)
		return failf("%s", usage);
	husk_error *err = NULL;
	if (husk_engine_logs(&eng, argv[optind], &o, &err) < 0)
		return fail(err);
	return 0;
}

/* --- exec --- */

int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{"interactive", no_argument, NULL, 'i'}, {"tty", no_argument, NULL, 't'},
		{"detach", no_argument, NULL, 'd'},	 {"env", required_argument, NULL, 'e'},
		{"user", required_argument, NULL, 'u'},	 {"workdir", required_argument, NULL, 'w'},
		{"privileged", no_argument, NULL, 'P'},	 {0}};
	struct husk_engine_exec_opts o = {0};
	cleanup_free char **env = NULL;
	size_t nenv = 0;
	bool interactive = false;
	int c;
	while ((c = getopt_long(argc, argv, "+itde:u:w:", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			interactive = true;
			break;
		case 't':
			o.tty = true;
			break;
		case 'd':
			o.detach = true;
			break;
		case 'e':
			husk_strv_push(&env, &nenv, optarg);
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'w':
			o.workdir = optarg;
			break;
		case 'P':
			o.privileged = true;
			break;
		default:
			return failf(
				"exec: usage: husk exec [-it] [-d] [-e K=V] [-u USER] [-w DIR] "
				"[--privileged] CONTAINER COMMAND...");
		}
	}
	if (optind + 1 >= argc)
		return failf("exec: usage: husk exec [-it] [-d] [-e K=V] [-u USER] [-w DIR] "
			     "CONTAINER COMMAND...");
	o.env = env;
	o.args = argv + optind + 1;
	husk_error *err = NULL;
	struct husk_exec_result r;
	r.exec_failed = false;
	if (husk_engine_exec(&eng, argv[optind], &o, &r, &err) < 0) {
		int code =
			r.exec_failed ? husk_exit_code_of_exec_error(err ? err->errnum : 0) : 125;
		fail(err);
		return code;
	}
	if (o.detach)
		return 0;
	(void)interactive;
	int status = cli_wait_and_proxy(r.pid, r.pty_master);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
}

/* husk system boot: what a machine's start-up runs once (README) */
int cmd_system(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "boot") != 0)
		return failf("system: usage: husk system boot");
	husk_error *err = NULL;
	char **started = NULL;
	size_t n = 0;
	int rc = husk_engine_boot(&eng, &started, &n, &err) < 0 ? fail(err) : 0;
	for (size_t i = 0; i < n; i++)
		printf("%s\n", started[i]);
	husk_strv_free(started, n);
	return rc;
}

/* The container verbs other than run and create: start, stop, kill,
 * restart, pause, unpause, wait, attach, rm, rename, ps, logs, exec.
 * Each parses its flags, calls the engine once per container, prints. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
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

const struct cli_flag stop_flags[] = {
	{"time", 't', "SECONDS", "seconds to wait before SIGKILL (default: the container's, 10)"},
	{"timeout", 0, "SECONDS", NULL, 't'},
	{"signal", 's', "SIGNAL", "the signal to stop with (default: the container's, SIGTERM)"},
	{0},
};

/* -t SECONDS and -s SIGNAL of stop and restart (Docker 23's -s) */
static int parse_stop(int argc, char **argv, int *t, int *sig)
{
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		long n;
		if (c == 's') {
			if (parse_signal(optarg, sig) < 0)
				return cli_usage_error("-s \"%s\": not a signal", optarg);
			continue;
		}
		if (c != 't')
			return 125;
		if (husk_parse_long(optarg, &n) < 0 || n < -1 || n > 100000)
			return cli_usage_error("-t \"%s\": expected seconds", optarg);
		*t = (int)n;
	}
	return cli_operands(argc, argv, 1, -1);
}

int cmd_stop(int argc, char **argv)
{
	int t = -1, sig = 0;
	int rc = parse_stop(argc, argv, &t, &sig);
	if (rc)
		return rc;
	for (int i = optind; i < argc; i++) {
		husk_error *err = NULL;
		if (husk_engine_stop(&eng, argv[i], t, sig, &err) < 0)
			rc = fail(err);
		else
			printf("%s\n", argv[i]);
	}
	return rc;
}

int cmd_restart(int argc, char **argv)
{
	int t = -1, sig = 0;
	int rc = parse_stop(argc, argv, &t, &sig);
	if (rc)
		return rc;
	for (int i = optind; i < argc; i++) {
		husk_error *err = NULL;
		if (husk_engine_restart(&eng, argv[i], t, sig, &err) < 0)
			rc = fail(err);
		else
			printf("%s\n", argv[i]);
	}
	return rc;
}

const struct cli_flag start_flags[] = {
	{"attach", 'a', NULL, "attach to its output (one container)"},
	{"interactive", 'i', NULL, "attach its stdin"},
	{"detach-keys", 0, "KEYS", "the keys that detach (default ctrl-p,ctrl-q)", 'k'},
	{0},
};

int cmd_start(int argc, char **argv)
{
	bool attach = false, interactive = false;
	const char *keys = NULL;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'a')
			attach = true;
		else if (c == 'i')
			interactive = true;
		else if (c == 'k')
			keys = optarg;
		else
			return 125;
	}
	int rc = cli_operands(argc, argv, 1, attach ? 1 : -1);
	if (rc)
		return rc;
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
			husk_engine_detached(&eng, argv[i]);
			rc = 0;
		} else if (rc < 0) {
			rc = fail(err);
		}
	}
	return rc;
}

const struct cli_flag attach_flags[] = {
	{"no-stdin", 0, NULL, "do not attach stdin", 'n'},
	{"sig-proxy", 0, "BOOL", "forward signals to the container (default true)", 's'},
	{"detach-keys", 0, "KEYS", "the keys that detach (default ctrl-p,ctrl-q)", 'k'},
	{0},
};

int cmd_attach(int argc, char **argv)
{
	bool no_stdin = false, sig_proxy = true;
	const char *keys = NULL;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'n')
			no_stdin = true;
		else if (c == 's')
			sig_proxy = strcmp(optarg, "false") != 0;
		else if (c == 'k')
			keys = optarg;
		else
			return 125;
	}
	if (cli_operands(argc, argv, 1, 1))
		return 125;
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
		husk_engine_detached(&eng, argv[optind]);
		return 0;
	}
	return rc < 0 ? fail(err) : rc;
}

const struct cli_flag kill_flags[] = {
	{"signal", 's', "SIGNAL", "the signal, by name or number (default KILL)"},
	{0},
};

int cmd_kill(int argc, char **argv)
{
	int sig = SIGKILL, c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c != 's')
			return 125;
		if (parse_signal(optarg, &sig) < 0)
			return cli_usage_error("-s \"%s\": not a signal", optarg);
	}
	int rc = cli_operands(argc, argv, 1, -1);
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
	if (cli_getopt(argc, argv) != -1)
		return 125;
	int rc = cli_operands(argc, argv, 1, -1);
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
	if (cli_getopt(argc, argv) != -1)
		return 125;
	int rc = cli_operands(argc, argv, 1, -1);
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

const struct cli_flag rm_flags[] = {
	{"force", 'f', NULL, "kill a running container first"},
	{"volumes", 'v', NULL, "remove its anonymous volumes too"},
	{0},
};

int cmd_rm(int argc, char **argv)
{
	bool force = false, volumes = false;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'v')
			volumes = true;
		else
			return 125;
	}
	int rc = cli_operands(argc, argv, 1, -1);
	if (rc)
		return rc;
	for (int i = optind; i < argc; i++) {
		husk_error *err = NULL;
		if (husk_engine_rm(&eng, argv[i], force, volumes, &err) < 0) {
			/* -f of one that is not there: said, not failed, as
			 * Docker's since 20.10 (rm -f's meaning) */
			bool gone = force && err && err->errnum == ENOENT;
			int r = fail(err);
			rc = gone ? rc : r;
		} else {
			printf("%s\n", argv[i]);
		}
	}
	return rc;
}

int cmd_rename(int argc, char **argv)
{
	if (cli_getopt(argc, argv) != -1 || cli_operands(argc, argv, 2, 2))
		return 125;
	husk_error *err = NULL;
	if (husk_engine_rename(&eng, argv[optind], argv[optind + 1], &err) < 0)
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

static const char *const ps_fields[] = {"ID",		"Names",  "Image", "Command", "CreatedAt",
					"RunningFor",	"Status", "State", "Ports",   "ExitCode",
					"Size",		"Labels", "Label", "Mounts",  "Networks",
					"LocalVolumes", NULL};

/* Docker's .Mounts: each mount's volume name or source, by 15 characters
 * unless --no-trunc; .LocalVolumes: how many are volumes */
static void ps_mounts(json_t *row, const struct husk_ctr *c, bool trunc)
{
	char buf[1024] = "";
	size_t l = 0;
	int vols = 0;
	for (size_t i = 0; i < c->n_mounts && l < sizeof(buf) - 64; i++) {
		const struct husk_ctr_mount *m = &c->mounts[i];
		bool vol = m->type && strcmp(m->type, "volume") == 0;
		vols += vol;
		const char *name = vol && m->name ? m->name : m->source ? m->source : "";
		if (trunc && strlen(name) > 15)
			l += (size_t)snprintf(buf + l, sizeof(buf) - l, "%s%.14s…", l ? "," : "",
					      name);
		else
			l += (size_t)snprintf(buf + l, sizeof(buf) - l, "%s%s", l ? "," : "", name);
	}
	json_object_set_new(row, "Mounts", json_string(buf));
	/* a string, as every field of Docker's ps --format json */
	char nv[16];
	snprintf(nv, sizeof(nv), "%d", vols);
	json_object_set_new(row, "LocalVolumes", json_string(nv));
}

/* One row of ps, with docker's field names for --format */
static json_t *ps_row(const struct husk_ctr *c, bool trunc)
{
	char status[160], d[64], running_for[80], cmd[300], ports[1024] = "", created[64];
	long long now = (long long)time(NULL);
	status_text(c, status, sizeof(status));
	cli_human_duration(now - c->created_ns / 1000000000, d, sizeof(d));
	snprintf(running_for, sizeof(running_for), "%s ago", d);
	if (trunc && strlen(c->command) > 20)
		snprintf(cmd, sizeof(cmd), "\"%.19s…\"", c->command);
	else
		snprintf(cmd, sizeof(cmd), "\"%s\"", c->command);
	/* Docker's: 0.0.0.0:8080->80/tcp, 127.0.0.1:53->53/udp */
	size_t pl = 0;
	for (char **p = c->ports; p && *p && pl < sizeof(ports) - 64; p++) {
		char ip[46] = "0.0.0.0", proto[4] = "tcp";
		unsigned h = 0, ct = 0;
		bool v6 = false;
		if (sscanf(*p, "%u:%u/%3s", &h, &ct, proto) < 2 &&
		    sscanf(*p, "%15[0-9.]:%u:%u/%3s", ip, &h, &ct, proto) < 3 &&
		    !(v6 = sscanf(*p, "[%45[0-9a-fA-F:.]]:%u:%u/%3s", ip, &h, &ct, proto) >= 3))
			continue;
		/* an IPv6 one as Docker 26 writes it: [::]:8080->80/tcp */
		pl += (size_t)snprintf(ports + pl, sizeof(ports) - pl, "%s%s%s%s:%u->%u/%s",
				       pl ? ", " : "", v6 ? "[" : "", ip, v6 ? "]" : "", h, ct,
				       proto);
	}
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

const struct cli_flag ps_flags[] = {
	{"all", 'a', NULL, "every container, not only the running ones"},
	{"quiet", 'q', NULL, "only the ids"},
	{"no-trunc", 0, NULL, "whole ids and commands", 'T'},
	{"format", 0, "TEMPLATE",
	 "each container through a Go template ({{.Names}}, {{.Status}}...)", 'F'},
	{"filter", 'f', "KEY=VALUE",
	 "only containers that match: id, name, label, exited, status, ancestor, volume, network, "
	 "health, before, since"},
	{"last", 'n', "N", "the N containers created last, in every state"},
	{"latest", 'l', NULL, "the container created last, in every state"},
	{"size", 's', NULL, "the bytes each container wrote, and with its image's (virtual)"},
	{0},
};

int cmd_ps(int argc, char **argv)
{
	bool all = false, quiet = false, trunc = true, size = false;
	const char *format = NULL;
	cleanup_free char **filters = NULL;
	size_t n_filters = 0;
	long last = -1;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'a')
			all = true;
		else if (c == 'q')
			quiet = true;
		else if (c == 'T')
			trunc = false;
		else if (c == 'F')
			format = optarg;
		else if (c == 'f')
			husk_strv_push(&filters, &n_filters, optarg);
		else if (c == 'l')
			last = 1;
		else if (c == 's')
			size = true;
		else if (c == 'n') {
			if (husk_parse_long(optarg, &last) < 0 || last < 0)
				return cli_usage_error("-n \"%s\": expected a count", optarg);
		} else
			return 125;
	}
	/* -n and -l count every state, as Docker's; a filter on the status
	 * does too */
	if (last >= 0)
		all = true;
	for (size_t i = 0; i < n_filters; i++)
		if (strncmp(filters[i], "status=", 7) == 0 ||
		    strncmp(filters[i], "exited=", 7) == 0)
			all = true;
	if (cli_operands(argc, argv, 0, 0))
		return 125;
	/* as Docker's: a format that shows the size measures it; labels and
	 * networks are read only for a format that shows them */
	if (format && strstr(format, ".Size"))
		size = true;
	bool labels = format && (strstr(format, ".Label") || strstr(format, "json ."));
	bool networks = format && (strstr(format, ".Networks") || strstr(format, "json ."));
	husk_error *err = NULL;
	struct husk_tmpl *tmpl = NULL;
	if (format && cli_tmpl_parse(format, ps_fields, &tmpl, &err) < 0)
		return fail(err);
	struct husk_ctr *v = NULL;
	size_t n = 0;
	if (husk_engine_list_filtered(&eng, (const char *const *)filters, n_filters, &v, &n, &err) <
	    0) {
		husk_tmpl_free(tmpl);
		return fail(err);
	}
	cleanup_free long long *rw = NULL, *rootfs = NULL;
	if (size && !quiet) {
		rw = calloc(n + 1, sizeof(*rw));
		rootfs = calloc(n + 1, sizeof(*rootfs));
		if (!rw || !rootfs)
			abort();
		if (husk_engine_ctr_sizes(&eng, v, n, rw, rootfs, &err) < 0) {
			husk_engine_list_free(v, n);
			husk_tmpl_free(tmpl);
			return fail(err);
		}
	}
	json_t *rows = json_array();
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0 && (last < 0 || (long)i < last); i++) {
		bool running = v[i].state == HUSK_CTR_RUNNING || v[i].state == HUSK_CTR_PAUSED;
		if (!all && !running)
			continue;
		if (quiet) {
			printf("%.*s\n", trunc ? 12 : 64, v[i].id);
			continue;
		}
		json_t *row = ps_row(&v[i], trunc);
		ps_mounts(row, &v[i], trunc);
		if (labels || networks) {
			json_t *l = NULL;
			char *nw = NULL;
			if (husk_engine_ctr_extras(&eng, &v[i], labels ? &l : NULL,
						   networks ? &nw : NULL, &err) < 0) {
				json_decref(row);
				rc = fail(err);
				break;
			}
			if (l)
				cli_row_labels(row, l);
			if (nw)
				json_object_set_new(row, "Networks", json_string(nw));
			free(nw);
		}
		if (rw) {
			/* Docker's: "12B (virtual 2.13MB)", 3 digits */
			char a[32], b[32], both[80];
			cli_human_size(rw[i], 3, a, sizeof(a));
			cli_human_size(rootfs[i], 3, b, sizeof(b));
			snprintf(both, sizeof(both), "%s (virtual %s)", a, b);
			json_object_set_new(row, "Size", json_string(both));
		}
		if (tmpl) {
			rc = cli_print_tmpl(tmpl, row);
			json_decref(row);
		} else {
			json_array_append_new(rows, row);
		}
	}
	if (!quiet && !tmpl) {
		static const char *const cols[] = {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
						   "STATUS",	   "PORTS", "NAMES",   "SIZE"};
		static const char *const keys[] = {"ID",     "Image", "Command", "RunningFor",
						   "Status", "Ports", "Names",	 "Size"};
		cli_print_table(cols, keys, ARRAY_SIZE(cols) - (rw ? 0 : 1), rows);
	}
	json_decref(rows);
	husk_engine_list_free(v, n);
	husk_tmpl_free(tmpl);
	return rc;
}

/* --- logs --- */

struct logs_out {
	bool timestamps;
};

static int emit_line(void *ud, int stream, int64_t t, const char *attrs, const char *buf,
		     size_t len)
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
	/* --details: Docker's prefix, a space after the attrs even when
	 * there are none */
	if (attrs)
		fprintf(f, "%s ", attrs);
	fwrite(buf, 1, len, f);
	fflush(f);
	return 0;
}

/* The monitor's log writer stopped at a write that failed (its filesystem
 * full): the log holds what came before.  One line on stderr, after it. */
static void print_cut(void *ud, int errnum, int64_t time_ns)
{
	(void)ud;
	fflush(stdout);
	char why[128] = "a write failed", when[64] = "";
	if (errnum) {
		snprintf(why, sizeof(why), "%s", strerror(errnum));
		why[0] = (char)tolower((unsigned char)why[0]);
	}
	time_t t = (time_t)(time_ns / 1000000000);
	struct tm tm;
	if (time_ns > 0 && gmtime_r(&t, &tm))
		strftime(when, sizeof(when), " (at %Y-%m-%dT%H:%M:%SZ)", &tm);
	fprintf(stderr, "husk: log truncated: %s%s\n", why, when);
}

const struct cli_flag logs_flags[] = {
	{"follow", 'f', NULL, "go on printing output as it comes, until the container stops"},
	{"tail", 'n', "N", "only the last N lines (or all)"},
	{"timestamps", 't', NULL, "each line with its time"},
	{"details", 0, NULL, "each line after its attributes (--log-opt labels=, env=, tag=)", 'D'},
	{"since", 0, "TIME", "lines from TIME on: RFC 3339, a Unix time or a duration (10m)", 'S'},
	{"until", 0, "TIME", "lines before TIME", 'U'},
	{0},
};

int cmd_logs(int argc, char **argv)
{
	struct logs_out out = {0};
	struct husk_log_read_opts o = {.tail = -1, .emit = emit_line, .cut = print_cut, .ud = &out};
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		long n;
		switch (c) {
		case 'f':
			o.follow = true;
			break;
		case 'n':
			if (strcmp(optarg, "all") == 0)
				o.tail = -1;
			else if (husk_parse_long(optarg, &n) < 0 || n < 0)
				return cli_usage_error("--tail \"%s\": expected a number or all",
						       optarg);
			else
				o.tail = n;
			break;
		case 't':
			out.timestamps = true;
			break;
		case 'D':
			o.details = true;
			break;
		case 'S':
			if (cli_parse_time(optarg, &o.since_ns) < 0)
				return cli_usage_error(
					"--since \"%s\": expected a time or a duration", optarg);
			break;
		case 'U':
			if (cli_parse_time(optarg, &o.until_ns) < 0)
				return cli_usage_error(
					"--until \"%s\": expected a time or a duration", optarg);
			break;
		default:
			return 125;
		}
	}
	if (cli_operands(argc, argv, 1, 1))
		return 125;
	husk_error *err = NULL;
	if (husk_engine_logs(&eng, argv[optind], &o, &err) < 0)
		return fail(err);
	return 0;
}

/* --- exec --- */

const struct cli_flag exec_flags[] = {
	{"interactive", 'i', NULL, "keep stdin open"},
	{"tty", 't', NULL, "give the command a terminal"},
	{"detach", 'd', NULL, "run it in the background"},
	{"env", 'e', "NAME=VALUE", "set an environment variable"},
	{"env-file", 0, "FILE", "environment variables from a file of NAME=VALUE lines", 'E'},
	{"user", 'u', "USER[:GROUP]", "run as this user (a name or a uid)"},
	{"workdir", 'w', "DIR", "run in this directory"},
	{"privileged", 0, NULL, "give it every capability the engine holds", 'P'},
	{"detach-keys", 0, "KEYS", "the keys that detach, leaving it running (ctrl-p,ctrl-q)", 'k'},
	{0},
};

int cmd_exec(int argc, char **argv)
{
	struct husk_engine_exec_opts o = {0};
	cleanup_free char **env = NULL, **files = NULL;
	size_t nenv = 0, nfiles = 0;
	bool interactive = false;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
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
		case 'E':
			husk_strv_push(&files, &nfiles, optarg);
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
		case 'k':
			o.detach_keys = optarg;
			break;
		default:
			return 125;
		}
	}
	if (cli_operands(argc, argv, 2, -1))
		return 125;
	/* the files first, -e over them, as Docker reads them */
	char **all = NULL, **owned = NULL;
	size_t n_owned = 0;
	int code = 0;
	for (size_t i = 0; i < nfiles && !code; i++)
		code = cli_read_kv_file("--env-file", files[i], true, &all, &owned, &n_owned);
	size_t n_all = 0;
	while (all && all[n_all])
		n_all++;
	for (size_t i = 0; i < nenv; i++) {
		/* -e NAME: the caller's value, dropped when it has none */
		if (!strchr(env[i], '=')) {
			const char *v = getenv(env[i]);
			if (!v)
				continue;
			char *kv = husk_strdup_printf("%s=%s", env[i], v);
			husk_strv_push(&owned, &n_owned, kv);
			husk_strv_push(&all, &n_all, kv);
			continue;
		}
		husk_strv_push(&all, &n_all, env[i]);
	}
	o.env = all;
	o.args = argv + optind + 1;
	husk_error *err = NULL;
	(void)interactive;
	if (code == 0) {
		code = 125;
		if (husk_engine_exec(&eng, argv[optind], &o, &code, &err) < 0)
			fail(err);
	}
	free(all);
	for (size_t i = 0; i < n_owned; i++)
		free(owned[i]);
	free(owned);
	return code;
}

/* husk system boot: what a machine's start-up runs once (README) */
int cmd_system_boot(int argc, char **argv)
{
	if (cli_getopt(argc, argv) != -1 || cli_operands(argc, argv, 0, 0))
		return 125;
	husk_error *err = NULL;
	char **started = NULL;
	size_t n = 0;
	int rc = husk_engine_boot(&eng, &started, &n, &err) < 0 ? fail(err) : 0;
	for (size_t i = 0; i < n; i++)
		printf("%s\n", started[i]);
	husk_strv_free(started, n);
	return rc;
}

/* --- cp --- */

/* "CONTAINER:PATH" or a host path, as Docker splits them: a path that
 * starts with / or . is the host's, else what comes before the first ':' */
static void split_cp_arg(char *arg, const char **ret_ctr, const char **ret_path)
{
	char *colon = strchr(arg, ':');
	if (arg[0] == '/' || arg[0] == '.' || !colon) {
		*ret_ctr = NULL;
		*ret_path = arg;
		return;
	}
	*colon = '\0';
	*ret_ctr = arg;
	*ret_path = colon[1] ? colon + 1 : "/";
}

static bool to_stdout_is_tty(const struct husk_cp_opts *o)
{
	return !o->dst_ctr && strcmp(o->dst_path, "-") == 0 && isatty(STDOUT_FILENO);
}

const struct cli_flag cp_flags[] = {
	{"archive", 'a', NULL,
	 "keep the owners of the source (else root's in a container, yours "
	 "on the host)"},
	{"follow-link", 'L', NULL, "follow a symlink named as the source"},
	{"quiet", 'q', NULL, "no progress (husk prints none)"},
	{0},
};

int cmd_cp(int argc, char **argv)
{
	struct husk_cp_opts o = {0};
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'a')
			o.archive = true;
		else if (c == 'L')
			o.follow = true;
		else if (c != 'q')
			return 125;
	}
	if (cli_operands(argc, argv, 2, 2))
		return 125;
	split_cp_arg(argv[optind], &o.src_ctr, &o.src_path);
	split_cp_arg(argv[optind + 1], &o.dst_ctr, &o.dst_path);
	if (to_stdout_is_tty(&o))
		return cli_usage_error("refusing to write a tar stream to a terminal");
	husk_error *err = NULL;
	if (husk_engine_cp(&eng, &o, &err) < 0)
		return fail(err);
	return 0;
}

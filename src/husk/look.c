/* The verbs that look: version, info, top, stats, port, diff, history,
 * events; and what takes space back: container and image prune, system
 * df, system prune.  Each parses its flags, calls the engine, prints as Docker does. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "cli.h"
#include "engine.h"
#include "husk-version.h"
#include "template.h"
#include "util.h"

#ifndef HUSK_VERSION
#define HUSK_VERSION "0.1.0"
#endif

/* --- units, as Docker's go-units prints them --- */

/* decimal: "1.23MB", "0B" (HumanSizeWithPrecision) */
static void size_dec(long long bytes, int prec, char *out, size_t n)
{
	static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	double v = (double)bytes;
	size_t i = 0;
	while (v >= 1000 && i + 1 < ARRAY_SIZE(units)) {
		v /= 1000;
		i++;
	}
	snprintf(out, n, "%.*g%s", prec, v, units[i]);
}

/* binary: "1.234MiB" (BytesSize) */
static void size_bin(long long bytes, char *out, size_t n)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	size_t i = 0;
	while (v >= 1024 && i + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		i++;
	}
	snprintf(out, n, "%.4g%s", v, units[i]);
}

/* Docker's times (moby's GetTimestamp): "2026-12-06", "2026-12-06T19",
 * "2026-12-06T19:50", "2026-12-06T19:50:31" with a fraction, each with Z or
 * an offset or else in local time; Unix seconds (with a fraction); or a
 * duration before now ("10m", "1h30m") */
int cli_parse_time(const char *s, int64_t *ret)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%d", &tm);
	if (end && end - s == 10) {
		if (*end == 'T') {
			const char *t = strptime(end + 1, "%H", &tm);
			if (!t || t - end != 3)
				return -1;
			end = t;
			for (int f = 0; f < 2 && *end == ':'; f++) {
				t = strptime(end + 1, f ? "%S" : "%M", &tm);
				if (!t || t - end != 3)
					return -1;
				end = t;
			}
		}
		int64_t ns = 0;
		if (*end == '.') {
			int64_t scale = 100000000;
			for (end++; *end >= '0' && *end <= '9'; end++, scale /= 10)
				ns += (*end - '0') * scale;
		}
		long off = 0;
		bool local = false;
		if (*end == '+' || *end == '-') {
			int h = 0, m = 0;
			if (sscanf(end + 1, "%2d:%2d", &h, &m) != 2)
				return -1;
			off = (*end == '-' ? -1 : 1) * (h * 3600 + m * 60);
			end += 6;
		} else if (*end == 'Z' || *end == 'z') {
			end++;
		} else {
			local = true;
		}
		if (*end)
			return -1;
		tm.tm_isdst = -1;
		time_t t = local ? mktime(&tm) : timegm(&tm);
		*ret = ((int64_t)t - off) * 1000000000 + ns;
		return 0;
	}
	if (strchr(s, '-'))
		return -1; /* a date the forms above do not take */
	char *e;
	errno = 0;
	double d = strtod(s, &e);
	if (e != s && !*e && errno == 0 && *s >= '0' && *s <= '9') {
		*ret = (int64_t)(d * 1e9);
		return 0;
	}
	int64_t dur;
	if (cli_parse_duration(s, &dur) < 0)
		return -1;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	*ret = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - dur;
	return 0;
}

static struct husk_tmpl *parse_format(const char *format, const char *const *fields, int *rc)
{
	husk_error *err = NULL;
	struct husk_tmpl *t = NULL;
	*rc = 0;
	if (format && strcmp(format, "json") != 0 && cli_tmpl_parse(format, fields, &t, &err) < 0)
		*rc = fail(err);
	return t;
}

/* --format json: the data on one line; a template: rendered; else 1 */
static int print_formatted(const char *format, const struct husk_tmpl *t, json_t *data)
{
	if (format && strcmp(format, "json") == 0) {
		char *s = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", s ? s : "{}");
		free(s);
		return 0;
	}
	if (t)
		return cli_print_tmpl(t, data);
	return 1;
}

/* --- version --- */

static const char *compiler(void)
{
#if defined(__clang__)
	return "clang " __clang_version__;
#elif defined(__GNUC__)
	return "gcc " __VERSION__;
#else
	return "cc";
#endif
}

/* Go's names for the machine */
static const char *go_arch(const char *m)
{
	return strcmp(m, "x86_64") == 0	   ? "amd64"
	       : strcmp(m, "aarch64") == 0 ? "arm64"
	       : strcmp(m, "i686") == 0	   ? "386"
					   : m;
}

const struct cli_flag version_flags[] = {
	{"format", 'f', "json|TEMPLATE", "json, or a Go template ({{.Client.Version}})"},
	{0},
};

static const char *const version_fields[] = {"Client", "Server", NULL};

int cmd_version(int argc, char **argv)
{
	const char *format = NULL;
	int c, rc;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c != 'f')
			return 125;
		format = optarg;
	}
	if (cli_operands(argc, argv, 0, 0))
		return 125;
	struct husk_tmpl *t = parse_format(format, version_fields, &rc);
	if (rc)
		return rc;
	struct utsname u;
	uname(&u);
	const char *commit = HUSK_GIT_COMMIT;
	const char *arch = go_arch(u.machine);
	json_t *data = json_pack(
		"{s:{s:s,s:s,s:s,s:s,s:s,s:s},s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:s}]}}",
		"Client", "Platform", "husk", "Version", HUSK_VERSION, "GitCommit", commit,
		"GoVersion", compiler(), "Os", "linux", "Arch", arch, "Server", "Platform",
		"husk (daemonless)", "Version", HUSK_VERSION, "GitCommit", commit, "GoVersion",
		compiler(), "Os", "linux", "Arch", arch, "KernelVersion", u.release, "Components",
		"Name", "Engine", "Version", HUSK_VERSION);
	rc = print_formatted(format, t, data);
	if (rc == 1) {
		rc = 0;
		printf("Client:\n Version:           %s\n Git commit:        %s\n"
		       " Compiler:          %s\n OS/Arch:           linux/%s\n\n",
		       HUSK_VERSION, *commit ? commit : "unknown", compiler(), arch);
		printf("Server: husk (daemonless: the engine runs in each command)\n Engine:\n"
		       "  Version:          %s\n  Git commit:       %s\n  Compiler:         %s\n"
		       "  OS/Arch:          linux/%s\n  Kernel:           %s\n",
		       HUSK_VERSION, *commit ? commit : "unknown", compiler(), arch, u.release);
	}
	json_decref(data);
	husk_tmpl_free(t);
	return rc;
}

/* --- info --- */

const struct cli_flag info_flags[] = {
	{"format", 'f', "json|TEMPLATE", "json, or a Go template ({{.CgroupVersion}})"},
	{0},
};

static const char *const info_fields[] = {"ID",
					  "Containers",
					  "ContainersRunning",
					  "ContainersPaused",
					  "ContainersStopped",
					  "Images",
					  "Driver",
					  "DriverStatus",
					  "LoggingDriver",
					  "CgroupDriver",
					  "CgroupVersion",
					  "CgroupMode",
					  "KernelVersion",
					  "OperatingSystem",
					  "OSType",
					  "Architecture",
					  "NCPU",
					  "MemTotal",
					  "Name",
					  "DockerRootDir",
					  "RunRoot",
					  "StorageFsSize",
					  "StorageFsFree",
					  "SecurityOptions",
					  "Rootless",
					  "Runtimes",
					  "DefaultRuntime",
					  "NetworkBackend",
					  "ServerVersion",
					  NULL};

int cmd_info(int argc, char **argv)
{
	const char *format = NULL;
	int c, rc;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c != 'f')
			return 125;
		format = optarg;
	}
	if (cli_operands(argc, argv, 0, 0))
		return 125;
	struct husk_tmpl *t = parse_format(format, info_fields, &rc);
	if (rc)
		return rc;
	husk_error *err = NULL;
	struct husk_info i;
	if (husk_engine_info(&eng, &i, &err) < 0) {
		husk_tmpl_free(t);
		husk_info_release(&i);
		return fail(err);
	}
	char fsize[32], ffree[32], cgv[4];
	size_dec((long long)i.root_fs_size, 4, fsize, sizeof(fsize));
	size_dec((long long)i.root_fs_free, 4, ffree, sizeof(ffree));
	snprintf(cgv, sizeof(cgv), "%d", i.cgroup_version);
	json_t *sec = json_array();
	if (i.seccomp)
		json_array_append_new(sec, json_string("name=seccomp,profile=builtin"));
	if (i.apparmor)
		json_array_append_new(sec, json_string("name=apparmor"));
	if (i.selinux)
		json_array_append_new(sec, json_string("name=selinux"));
	if (i.rootless)
		json_array_append_new(sec, json_string("name=rootless"));
	json_t *data = json_pack(
		"{s:I,s:I,s:I,s:I,s:I,s:s,s:[[s,s],[s,s],[s,s]],s:s,s:s,s:s,s:s,s:s,s:s,s:s,"
		"s:s,s:I,s:I,s:s,s:s,s:s,s:I,s:I,s:o,s:b,s:{s:{s:s}},s:s,s:s,s:s}",
		"Containers", (json_int_t)i.containers, "ContainersRunning", (json_int_t)i.running,
		"ContainersPaused", (json_int_t)i.paused, "ContainersStopped",
		(json_int_t)i.stopped, "Images", (json_int_t)i.images, "Driver", "overlay",
		"DriverStatus", "Root Dir", i.root, "Filesystem Size", fsize, "Filesystem Free",
		ffree, "LoggingDriver", "json-file", "CgroupDriver", "cgroupfs", "CgroupVersion",
		cgv, "CgroupMode", i.cgroup_mode, "KernelVersion", i.kernel, "OperatingSystem",
		i.os, "OSType", "linux", "Architecture", i.arch, "NCPU", (json_int_t)i.ncpu,
		"MemTotal", (json_int_t)i.mem_total, "Name", i.hostname, "DockerRootDir", i.root,
		"RunRoot", i.runroot, "StorageFsSize", (json_int_t)i.root_fs_size, "StorageFsFree",
		(json_int_t)i.root_fs_free, "SecurityOptions", sec, "Rootless", i.rootless,
		"Runtimes", "husk", "path", "built in (libhusk, no separate runtime binary)",
		"DefaultRuntime", "husk", "NetworkBackend", "nftables", "ServerVersion",
		HUSK_VERSION);
	rc = print_formatted(format, t, data);
	if (rc == 1) {
		rc = 0;
		char mem[32];
		size_bin(i.mem_total, mem, sizeof(mem));
		printf("Server:\n Containers: %zu\n  Running: %zu\n  Paused: %zu\n  Stopped: %zu\n"
		       " Images: %zu\n Server Version: %s\n Storage Driver: overlay\n"
		       "  Root Dir: %s\n  Filesystem Size: %s\n  Filesystem Free: %s\n"
		       " Logging Driver: json-file\n Cgroup Driver: cgroupfs\n Cgroup Version: %d\n"
		       " Cgroup Mode: %s\n Runtimes: husk\n Default Runtime: husk (built in)\n"
		       " Network Backend: nftables (bridge husk0)\n Security Options:\n",
		       i.containers, i.running, i.paused, i.stopped, i.images, HUSK_VERSION, i.root,
		       fsize, ffree, i.cgroup_version, i.cgroup_mode);
		printf("  seccomp: %s\n  apparmor: %s\n  selinux: %s\n  rootless: %s\n",
		       i.seccomp ? "yes (builtin profile)" : "no", i.apparmor ? "yes" : "no",
		       i.selinux ? "yes" : "no", i.rootless ? "yes" : "no");
		printf(" Kernel Version: %s\n Operating System: %s\n OSType: linux\n"
		       " Architecture: %s\n CPUs: %ld\n Total Memory: %s\n Name: %s\n"
		       " Docker Root Dir: %s\n Run Root: %s\n",
		       i.kernel, i.os, i.arch, i.ncpu, mem, i.hostname, i.root, i.runroot);
	}
	json_decref(data);
	husk_tmpl_free(t);
	husk_info_release(&i);
	return rc;
}

/* --- top --- */

int cmd_top(int argc, char **argv)
{
	if (cli_getopt(argc, argv) != -1 || cli_operands(argc, argv, 1, -1))
		return 125;
	husk_error *err = NULL;
	struct husk_top t;
	if (husk_engine_top(&eng, argv[optind], argv + optind + 1, &t, &err) < 0)
		return fail(err);
	size_t *w = calloc(t.n_titles + 1, sizeof(size_t));
	if (!w)
		abort();
	for (size_t i = 0; i < t.n_titles; i++) {
		w[i] = strlen(t.titles[i]);
		for (size_t r = 0; r < t.n_rows; r++)
			if (strlen(t.rows[r][i]) > w[i])
				w[i] = strlen(t.rows[r][i]);
	}
	for (size_t r = 0; r <= t.n_rows; r++) {
		char **row = r == 0 ? t.titles : t.rows[r - 1];
		for (size_t i = 0; i < t.n_titles; i++) {
			if (i + 1 == t.n_titles)
				printf("%s\n", row[i]);
			else
				printf("%-*s   ", (int)w[i], row[i]);
		}
	}
	free(w);
	husk_top_release(&t);
	return 0;
}

/* --- stats --- */

const struct cli_flag stats_flags[] = {
	{"all", 'a', NULL, "every container, not only the running ones"},
	{"no-stream", 0, NULL, "one sample, then exit", 'n'},
	{"no-trunc", 0, NULL, "whole ids", 'T'},
	{"format", 0, "TEMPLATE", "each container through a Go template ({{.MemUsage}}...)", 'F'},
	{0},
};

static const char *const stats_fields[] = {"Container", "ID",	    "Name",	"CPUPerc",
					   "MemUsage",	"MemPerc",  "NetIO",	"BlockIO",
					   "PIDs",	"MemLimit", "MemBytes", NULL};

static json_t *stats_row(const struct husk_stats *s, bool trunc)
{
	char cpu[32] = "--", mem[80] = "-- / --", memp[32] = "--", net[80] = "--", blk[80] = "--",
	     pids[32] = "--";
	if (s->ok) {
		snprintf(cpu, sizeof(cpu), "%.2f%%", s->cpu_percent);
		char u[32], l[32], r1[32], r2[32];
		size_bin(s->mem_usage, u, sizeof(u));
		size_bin(s->mem_limit, l, sizeof(l));
		snprintf(mem, sizeof(mem), "%s / %s", u, l);
		snprintf(memp, sizeof(memp), "%.2f%%",
			 s->mem_limit > 0 ? (double)s->mem_usage / (double)s->mem_limit * 100.0
					  : 0.0);
		size_dec((long long)s->net_rx, 3, r1, sizeof(r1));
		size_dec((long long)s->net_tx, 3, r2, sizeof(r2));
		snprintf(net, sizeof(net), "%s / %s", r1, r2);
		size_dec((long long)s->blk_read, 3, r1, sizeof(r1));
		size_dec((long long)s->blk_write, 3, r2, sizeof(r2));
		snprintf(blk, sizeof(blk), "%s / %s", r1, r2);
		snprintf(pids, sizeof(pids), "%lld", s->pids);
	}
	return json_pack("{s:s,s:s%,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "Container",
			 s->name ? s->name : "", "ID", s->id ? s->id : "",
			 (size_t)(s->id ? (trunc ? 12 : strlen(s->id)) : 0), "Name",
			 s->name ? s->name : "", "CPUPerc", cpu, "MemUsage", mem, "MemPerc", memp,
			 "NetIO", net, "BlockIO", blk, "PIDs", pids, "MemLimit",
			 (json_int_t)(s->ok ? s->mem_limit : 0), "MemBytes",
			 (json_int_t)(s->ok ? s->mem_usage : 0));
}

/* The containers to sample: those named, else running ones (every one
 * with -a) */
static char **stats_targets(char **names, size_t n_names, bool all, size_t *ret_n, int *rc)
{
	char **v = NULL;
	size_t n = 0;
	*rc = 0;
	if (n_names) {
		for (size_t i = 0; i < n_names; i++)
			husk_strv_push(&v, &n, strdup(names[i]));
		*ret_n = n;
		return v;
	}
	husk_error *err = NULL;
	struct husk_ctr *cs = NULL;
	size_t nc = 0;
	if (husk_engine_list(&eng, &cs, &nc, &err) < 0) {
		*rc = fail(err);
		*ret_n = 0;
		return NULL;
	}
	for (size_t i = 0; i < nc; i++)
		if (all || cs[i].state == HUSK_CTR_RUNNING || cs[i].state == HUSK_CTR_PAUSED)
			husk_strv_push(&v, &n, strdup(cs[i].id));
	husk_engine_list_free(cs, nc);
	*ret_n = n;
	return v;
}

int cmd_stats(int argc, char **argv)
{
	bool all = false, stream = true, trunc = true;
	const char *format = NULL;
	int c, rc;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'a')
			all = true;
		else if (c == 'n')
			stream = false;
		else if (c == 'T')
			trunc = false;
		else if (c == 'F')
			format = optarg;
		else
			return 125;
	}
	if (cli_operands(argc, argv, 0, -1))
		return 125;
	/* "table" alone: the columns we print anyway; "table T": T's
	 * header over columns as wide as their widest cell, again for each
	 * sample of a stream (parsed anew: the header is the parse's) */
	if (format && strcmp(format, "table") == 0)
		format = NULL;
	else if (format && strcmp(format, "json") == 0)
		format = "{{json .}}"; /* a line of JSON a container, as Docker 23's */
	bool table = format && strncmp(format, "table", 5) == 0;
	struct husk_tmpl *t = parse_format(format, stats_fields, &rc);
	if (rc)
		return rc;
	size_t n_named = (size_t)(argc - optind);
	bool tty = isatty(1);
	for (bool first = true; first || stream; first = false) {
		size_t n = 0;
		char **targets = stats_targets(argv + optind, n_named, all, &n, &rc);
		if (rc)
			break;
		struct husk_stats *v = calloc(n + 1, sizeof(*v));
		if (!v)
			abort();
		/* CPU % is a rate: two samples a second apart, as Docker's */
		husk_error *err = NULL;
		if (husk_engine_stats_rate(&eng, targets, n, n_named > 0, 1000, v, &err) < 0)
			rc = fail(err);
		if (rc == 0) {
			if (stream && tty)
				printf("\033[2J\033[H");
			if (!t)
				printf("%-14s %-20s %-8s %-22s %-8s %-16s %-16s %s\n",
				       "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT",
				       "MEM %", "NET I/O", "BLOCK I/O", "PIDS");
			for (size_t i = 0; i < n && rc == 0; i++) {
				json_t *row = stats_row(&v[i], trunc);
				if (t) {
					rc = cli_print_tmpl(t, row);
				} else {
					const char *f[9];
					for (size_t k = 0; k < 9; k++)
						f[k] = json_string_value(
							json_object_get(row, stats_fields[k]));
					printf("%-14s %-20s %-8s %-22s %-8s %-16s %-16s %s\n", f[1],
					       f[2], f[3], f[4], f[5], f[6], f[7], f[8]);
				}
				json_decref(row);
			}
			cli_tmpl_flush();
			fflush(stdout);
		}
		for (size_t i = 0; i < n; i++)
			husk_stats_release(&v[i]);
		free(v);
		husk_strv_free(targets, n);
		if (rc)
			break;
		if (table && stream) {
			husk_tmpl_free(t);
			t = parse_format(format, stats_fields, &rc);
			if (rc)
				break;
		}
	}
	husk_tmpl_free(t);
	return rc;
}

/* --- port --- */

int cmd_port(int argc, char **argv)
{
	if (cli_getopt(argc, argv) != -1 || cli_operands(argc, argv, 1, 2))
		return 125;
	const char *want = optind + 1 < argc ? argv[optind + 1] : NULL;
	char want_port[16] = "", want_proto[8] = "tcp";
	if (want) {
		unsigned p;
		int k = 0;
		if (sscanf(want, "%5u%n", &p, &k) != 1 || p == 0 || p > 65535 ||
		    (want[k] && (sscanf(want + k, "/%7[a-z]", want_proto) != 1 ||
				 (strcmp(want_proto, "tcp") && strcmp(want_proto, "udp")))))
			return cli_usage_error("\"%s\": expected PORT[/tcp|/udp]", want);
		snprintf(want_port, sizeof(want_port), "%u", p);
	}
	husk_error *err = NULL;
	struct husk_ctr ctr;
	if (husk_engine_get(&eng, argv[optind], &ctr, &err) < 0)
		return fail(err);
	bool found = false;
	for (char **p = ctr.ports; p && *p; p++) {
		/* [IP:]HOSTPORT:CTRPORT[/PROTO] */
		cleanup_free char *s = strdup(*p);
		char *proto = strchr(s, '/');
		if (proto)
			*proto++ = '\0';
		char *colon = strrchr(s, ':');
		if (!colon)
			continue;
		*colon = '\0';
		const char *ctrport = colon + 1, *host = s, *ip = "0.0.0.0";
		char *ipc = strrchr(s, ':');
		if (ipc) {
			*ipc = '\0';
			ip = *s ? s : "0.0.0.0";
			host = ipc + 1;
		}
		if (!proto)
			proto = "tcp";
		if (!want) {
			printf("%s/%s -> %s:%s\n", ctrport, proto, ip, host);
			found = true;
		} else if (strcmp(ctrport, want_port) == 0 && strcmp(proto, want_proto) == 0) {
			printf("%s:%s\n", ip, host);
			found = true;
		}
	}
	cleanup_free char *name = strdup(ctr.name);
	husk_ctr_release(&ctr);
	if (want && !found) {
		fprintf(stderr, "husk: no public port '%s/%s' published for %s\n", want_port,
			want_proto, name);
		return 1;
	}
	return 0;
}

/* --- diff --- */

int cmd_diff(int argc, char **argv)
{
	if (cli_getopt(argc, argv) != -1 || cli_operands(argc, argv, 1, 1))
		return 125;
	husk_error *err = NULL;
	struct husk_change *v = NULL;
	size_t n = 0;
	if (husk_engine_diff(&eng, argv[optind], &v, &n, &err) < 0)
		return fail(err);
	for (size_t i = 0; i < n; i++)
		printf("%c %s\n", v[i].kind, v[i].path);
	husk_changes_free(v, n);
	return 0;
}

/* --- history --- */

const struct cli_flag history_flags[] = {
	{"human", 'H', "[=BOOL]",
	 "sizes and times for people (default true); false: bytes and RFC 3339"},
	{"no-trunc", 0, NULL, "whole ids and steps", 'T'},
	{"quiet", 'q', NULL, "only the ids"},
	{"format", 0, "TEMPLATE", "each step through a Go template ({{.CreatedBy}}...)", 'F'},
	{0},
};

static const char *const history_fields[] = {"ID",   "CreatedSince", "CreatedAt", "CreatedBy",
					     "Size", "Comment",	     NULL};

int cmd_history(int argc, char **argv)
{
	bool trunc = true, quiet = false, human = true;
	const char *format = NULL;
	int c, rc;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'H') {
			int b = optarg ? husk_parse_bool(optarg + (*optarg == '=')) : 1;
			if (b < 0)
				return cli_usage_error("--human=%s: expected true or false",
						       optarg);
			human = b;
		} else if (c == 'T')
			trunc = false;
		else if (c == 'q')
			quiet = true;
		else if (c == 'F')
			format = optarg;
		else
			return 125;
	}
	if (cli_operands(argc, argv, 1, 1))
		return 125;
	struct husk_tmpl *t = parse_format(format, history_fields, &rc);
	if (rc)
		return rc;
	husk_error *err = NULL;
	struct husk_history *v = NULL;
	size_t n = 0;
	if (husk_engine_history(&eng, argv[optind], &v, &n, &err) < 0) {
		husk_tmpl_free(t);
		return fail(err);
	}
	if (!quiet && !t)
		printf("%-14s %-*s %-46s %-10s %s\n", "IMAGE", human ? 16 : 22, "CREATED",
		       "CREATED BY", "SIZE", "COMMENT");
	for (size_t i = 0; i < n && rc == 0; i++) {
		char id[80], since[64], at[64], by[4096], size[32];
		if (v[i].id) {
			const char *hex =
				strncmp(v[i].id, "sha256:", 7) == 0 ? v[i].id + 7 : v[i].id;
			snprintf(id, sizeof(id), "%.*s", trunc ? 12 : 80, trunc ? hex : v[i].id);
		} else {
			snprintf(id, sizeof(id), "<missing>");
		}
		if (quiet) {
			printf("%s\n", id);
			continue;
		}
		if (v[i].created > 0) {
			char d[48];
			cli_human_duration((long long)time(NULL) - v[i].created, d, sizeof(d));
			time_t tt = (time_t)v[i].created;
			struct tm tm;
			gmtime_r(&tt, &tm);
			strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
			/* -H=false: Docker's CREATED is the time itself */
			if (human)
				snprintf(since, sizeof(since), "%.48s ago", d);
			else
				snprintf(since, sizeof(since), "%s", at);
		} else {
			snprintf(since, sizeof(since), "N/A");
			snprintf(at, sizeof(at), "N/A");
		}
		size_t bl = strlen(v[i].created_by);
		if (trunc && bl > 45)
			snprintf(by, sizeof(by), "%.44s…", v[i].created_by);
		else
			snprintf(by, sizeof(by), "%s", v[i].created_by);
		if (human)
			size_dec(v[i].size, 3, size, sizeof(size));
		else
			snprintf(size, sizeof(size), "%lld", (long long)v[i].size);
		json_t *row = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "ID", id, "CreatedSince",
					since, "CreatedAt", at, "CreatedBy", by, "Size", size,
					"Comment", v[i].comment);
		if (t)
			rc = cli_print_tmpl(t, row);
		else
			printf("%-14s %-*s %-46s %-10s %s\n", id, human ? 16 : 22, since, by, size,
			       v[i].comment);
		json_decref(row);
	}
	husk_history_free(v, n);
	husk_tmpl_free(t);
	return rc;
}

/* --- events --- */

const struct cli_flag events_flags[] = {
	{"since", 0, "TIME", "events from TIME on: RFC 3339, a Unix time or a duration (10m)", 'S'},
	{"until", 0, "TIME", "events up to TIME, then exit", 'U'},
	{"filter", 'f', "KEY=VALUE",
	 "type=container|image, event=die, container=NAME, image=IMAGE"},
	{"format", 0, "TEMPLATE", "json, or a Go template ({{.Action}} {{.Actor.Attributes.name}})",
	 'F'},
	{0},
};

static const char *const events_fields[] = {
	"status",   "id",     "from", "Type", "Action", "Actor", "scope",    "time",
	"timeNano", "Status", "ID",   "From", "Scope",	"Time",	 "TimeNano", NULL};

struct events_out {
	const char *format;
	struct husk_tmpl *t;
	int rc;
};

static int print_event(void *ud, json_t *ev)
{
	struct events_out *o = ud;
	if (o->format) {
		/* Docker's templates also take the Go names of the short keys */
		json_t *d = json_deep_copy(ev);
		json_object_set(d, "Status", json_object_get(ev, "status"));
		json_object_set(d, "ID", json_object_get(ev, "id"));
		json_object_set(d, "From", json_object_get(ev, "from"));
		json_object_set(d, "Scope", json_object_get(ev, "scope"));
		json_object_set(d, "Time", json_object_get(ev, "time"));
		json_object_set(d, "TimeNano", json_object_get(ev, "timeNano"));
		o->rc = print_formatted(o->format, o->t, strcmp(o->format, "json") == 0 ? ev : d);
		json_decref(d);
		fflush(stdout);
		return o->rc;
	}
	long long ns = (long long)json_integer_value(json_object_get(ev, "timeNano"));
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	char ts[64];
	gmtime_r(&s, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	json_t *actor = json_object_get(ev, "Actor");
	printf("%s.%09lldZ %s %s %s", ts, ns % 1000000000,
	       json_string_value(json_object_get(ev, "Type")),
	       json_string_value(json_object_get(ev, "Action")),
	       json_string_value(json_object_get(actor, "ID")));
	/* the attributes, sorted by key, as Docker's */
	json_t *attrs = json_object_get(actor, "Attributes");
	const char **keys = calloc(json_object_size(attrs) + 1, sizeof(char *));
	size_t nk = 0;
	const char *k;
	json_t *v;
	json_object_foreach (attrs, k, v)
		keys[nk++] = k;
	for (size_t i = 1; i < nk; i++)
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *x = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = x;
		}
	for (size_t i = 0; i < nk; i++)
		printf("%s%s=%s", i ? ", " : " (", keys[i],
		       json_string_value(json_object_get(attrs, keys[i])));
	printf("%s\n", nk ? ")" : "");
	free(keys);
	fflush(stdout);
	return 0;
}

int cmd_events(int argc, char **argv)
{
	struct husk_event_filter f = {0};
	size_t nt = 0, ne = 0, nc = 0, ni = 0;
	struct events_out out = {0};
	struct husk_events_opts o = {.follow = true, .filter = &f, .emit = print_event, .ud = &out};
	int c, rc = 0;
	while (rc == 0 && (c = cli_getopt(argc, argv)) != -1) {
		switch (c) {
		case 'S':
			if (cli_parse_time(optarg, &o.since_ns) < 0)
				rc = cli_usage_error(
					"--since \"%s\": expected a time or a duration", optarg);
			break;
		case 'U':
			if (cli_parse_time(optarg, &o.until_ns) < 0)
				rc = cli_usage_error(
					"--until \"%s\": expected a time or a duration", optarg);
			break;
		case 'f': {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg || !eq[1]) {
				rc = cli_usage_error("--filter \"%s\": expected KEY=VALUE", optarg);
				break;
			}
			char *val = strdup(eq + 1);
			size_t kl = (size_t)(eq - optarg);
			if (kl == 4 && strncmp(optarg, "type", 4) == 0)
				husk_strv_push(&f.type, &nt, val);
			else if (kl == 5 && strncmp(optarg, "event", 5) == 0)
				husk_strv_push(&f.event, &ne, val);
			else if (kl == 9 && strncmp(optarg, "container", 9) == 0)
				husk_strv_push(&f.container, &nc, val);
			else if (kl == 5 && strncmp(optarg, "image", 5) == 0)
				husk_strv_push(&f.image, &ni, val);
			else {
				free(val);
				rc = cli_usage_error("--filter \"%s\": husk filters events by "
						     "type, event, container and image",
						     optarg);
			}
			break;
		}
		case 'F':
			out.format = optarg;
			break;
		default:
			rc = 125;
		}
	}
	if (rc == 0)
		rc = cli_operands(argc, argv, 0, 0);
	if (rc == 0)
		out.t = parse_format(out.format, events_fields, &rc);
	if (rc == 0) {
		husk_error *err = NULL;
		if (husk_engine_events(&eng, &o, &err) < 0)
			rc = fail(err);
		else
			rc = out.rc;
	}
	husk_tmpl_free(out.t);
	husk_strv_free(f.type, nt);
	husk_strv_free(f.event, ne);
	husk_strv_free(f.container, nc);
	husk_strv_free(f.image, ni);
	return rc;
}

/* --- prune, df --- */

/* Docker's question before a prune, on stdout as Docker and Podman ask it;
 * the answer is read from stdin (a terminal or a pipe): true to go on */
static bool confirm(const char *what)
{
	printf("WARNING! This will remove%s\nAre you sure you want to continue? [y/N] ", what);
	fflush(stdout);
	char line[32];
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

int cli_prune_filter(struct husk_prune_filter *f, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1])
		return cli_usage_error("--filter \"%s\": expected KEY=VALUE", arg);
	size_t kl = (size_t)(eq - arg);
	const char *val = eq + 1;
	if (kl == 5 && strncmp(arg, "until", 5) == 0) {
		if (f->until_ns)
			return cli_usage_error("--filter \"%s\": until given twice", arg);
		if (cli_parse_time(val, &f->until_ns) < 0 || f->until_ns <= 0)
			return cli_usage_error(
				"--filter \"%s\": expected a time (2026-12-06T19:50:31Z, "
				"Unix seconds) or a duration (10m)",
				arg);
		return 0;
	}
	if (val[0] == '=')
		return cli_usage_error("--filter \"%s\": expected label=KEY[=VALUE]", arg);
	size_t n = 0;
	if (kl == 5 && strncmp(arg, "label", 5) == 0) {
		while (f->labels && f->labels[n])
			n++;
		husk_strv_push(&f->labels, &n, strdup(val));
		return 0;
	}
	if (kl == 6 && strncmp(arg, "label!", 6) == 0) {
		while (f->not_labels && f->not_labels[n])
			n++;
		husk_strv_push(&f->not_labels, &n, strdup(val));
		return 0;
	}
	return cli_usage_error("--filter \"%s\": unknown filter \"%.*s\": husk prunes by until, "
			       "label and label!",
			       arg, (int)kl, arg);
}

int cli_prune_args(int argc, char **argv, struct cli_prune *p)
{
	int c, rc = 0;
	while (rc == 0 && (c = cli_getopt(argc, argv)) != -1) {
		if (c == 'f')
			p->force = true;
		else if (c == 'a')
			p->all = true;
		else if (c == 'V')
			p->volumes = true;
		else if (c == 'L')
			rc = cli_prune_filter(&p->filter, optarg);
		else
			rc = 125;
	}
	return rc ? rc : cli_operands(argc, argv, 0, 0);
}

#define PRUNE_FILTER_HELP "prune only what matches: until=TIME, label=KEY[=VALUE], label!=..."

const struct cli_flag prune_flags[] = {
	{"force", 'f', NULL, "do not ask first"},
	{"filter", 0, "KEY=VALUE", PRUNE_FILTER_HELP, 'L'},
	{0},
};

static int container_prune(const struct husk_prune_filter *f, long long *reclaimed)
{
	husk_error *err = NULL;
	char **ids = NULL;
	size_t n = 0;
	int rc =
		husk_engine_container_prune(&eng, f, &ids, &n, reclaimed, &err) < 0 ? fail(err) : 0;
	if (n) {
		printf("Deleted Containers:\n");
		for (size_t i = 0; i < n; i++)
			printf("%s\n", ids[i]);
		printf("\n");
	}
	husk_strv_free(ids, n);
	return rc;
}

int cmd_container_prune(int argc, char **argv)
{
	struct cli_prune p = {0};
	struct husk_prune_filter *f = &p.filter;
	int rc = cli_prune_args(argc, argv, &p);
	if (rc == 0 && (p.force || confirm(":\n  - all stopped containers\n"))) {
		long long freed = 0;
		rc = container_prune(f, &freed);
		char s[32];
		size_dec(freed, 4, s, sizeof(s));
		printf("Total reclaimed space: %s\n", s);
	}
	husk_prune_filter_release(f);
	return rc;
}

/* "Deleted Images:" as Docker lists them: a name untagged, an id deleted */
static void print_pruned_images(const struct husk_image_pruned *v, size_t n)
{
	if (!n)
		return;
	printf("Deleted Images:\n");
	for (size_t i = 0; i < n; i++) {
		if (v[i].untagged)
			printf("untagged: %s\n", v[i].untagged);
		if (v[i].deleted)
			printf("deleted: %s\n", v[i].deleted);
	}
	printf("\n");
}

static int image_prune(bool all, const struct husk_prune_filter *f, long long *reclaimed)
{
	husk_error *err = NULL;
	struct husk_image_pruned *v = NULL;
	size_t n = 0;
	int rc = husk_engine_image_prune(&eng, all, f, &v, &n, reclaimed, &err) < 0 ? fail(err) : 0;
	print_pruned_images(v, n);
	husk_image_pruned_free(v, n);
	/* the build cache entries whose layers went, and the containers of
	 * builds that were killed */
	husk_build_cache_tidy(&eng);
	return rc;
}

static void print_reclaimed(long long bytes)
{
	char s[32];
	size_dec(bytes, 4, s, sizeof(s));
	printf("Total reclaimed space: %s\n", s);
}

const struct cli_flag image_prune_flags[] = {
	{"all", 'a', NULL, "every image no container uses, not only dangling ones"},
	{"force", 'f', NULL, "do not ask first"},
	{"filter", 0, "KEY=VALUE", PRUNE_FILTER_HELP, 'L'},
	{0},
};

int cmd_image_prune(int argc, char **argv)
{
	struct cli_prune p = {0};
	struct husk_prune_filter *f = &p.filter;
	int rc = cli_prune_args(argc, argv, &p);
	if (rc == 0 && (p.force || confirm(p.all ? " all images without at least one container "
						   "associated to them."
						 : " all dangling images."))) {
		long long freed = 0;
		rc = image_prune(p.all, f, &freed);
		print_reclaimed(freed);
	}
	husk_prune_filter_release(f);
	return rc;
}

const struct cli_flag system_prune_flags[] = {
	{"all", 'a', NULL, "every image no container uses, not only dangling ones"},
	{"force", 'f', NULL, "do not ask first"},
	{"volumes", 0, NULL, "also the anonymous volumes no container uses", 'V'},
	{"filter", 0, "KEY=VALUE", PRUNE_FILTER_HELP, 'L'},
	{0},
};

/* Docker's list, in its words */
static bool system_confirm(bool all, bool volumes)
{
	cleanup_free char *what = husk_strdup_printf(
		":\n  - all stopped containers\n  - all networks not used by at least one "
		"container\n%s%s\n",
		volumes ? "  - all anonymous volumes not used by at least one container\n" : "",
		all ? "  - all images without at least one container associated to them\n"
		      "  - all build cache"
		    : "  - all dangling images\n  - unused build cache");
	return confirm(what);
}

static int system_prune(bool all, bool volumes, const struct husk_prune_filter *f)
{
	long long cfreed = 0, vfreed = 0, ifreed = 0;
	int rc = container_prune(f, &cfreed);
	if (cli_network_prune(f) != 0)
		rc = 125;
	if (volumes) {
		husk_error *err = NULL;
		char **names = NULL;
		size_t n = 0;
		unsigned long long bytes = 0;
		if (husk_engine_volume_prune(&eng, false, f, &names, &n, &bytes, &err) < 0)
			rc = fail(err);
		if (n) {
			printf("Deleted Volumes:\n");
			for (size_t i = 0; i < n; i++)
				printf("%s\n", names[i]);
			printf("\n");
		}
		husk_strv_free(names, n);
		vfreed = (long long)bytes;
	}
	if (image_prune(all, f, &ifreed) != 0)
		rc = 125;
	/* -a: "all build cache", as the question says and Docker does: the
	 * whole cache, as builder prune -a (with a filter only the entries
	 * whose layers went above: the cache has no labels or times) */
	long long bfreed = 0;
	husk_error *err = NULL;
	if (all && husk_prune_filter_empty(f) && husk_build_prune(&eng, &bfreed, &err) < 0)
		rc = fail(err);
	print_reclaimed(cfreed + vfreed + ifreed + bfreed);
	return rc;
}

int cmd_system_prune(int argc, char **argv)
{
	struct cli_prune p = {0};
	int rc = cli_prune_args(argc, argv, &p);
	if (rc == 0 && (p.force || system_confirm(p.all, p.volumes)))
		rc = system_prune(p.all, p.volumes, &p.filter);
	husk_prune_filter_release(&p.filter);
	return rc;
}

const struct cli_flag df_flags[] = {
	{"verbose", 'v', NULL, "each image and container"},
	{"format", 0, "TEMPLATE", "each row through a Go template ({{.Type}} {{.Size}})", 'F'},
	{0},
};

static const char *const df_fields[] = {"Type", "TotalCount",  "Active",
					"Size", "Reclaimable", NULL};

static json_t *df_row(const char *type, size_t total, size_t active, long long size,
		      long long reclaim, bool pct)
{
	char sz[32], rc[48], r[32];
	size_dec(size, 4, sz, sizeof(sz));
	size_dec(reclaim, 4, r, sizeof(r));
	if (pct)
		snprintf(rc, sizeof(rc), "%s (%d%%)", r,
			 size > 0 ? (int)(reclaim * 100 / size) : 0);
	else
		snprintf(rc, sizeof(rc), "%s", r);
	char t[16], a[16];
	snprintf(t, sizeof(t), "%zu", total);
	snprintf(a, sizeof(a), "%zu", active);
	return json_pack("{s:s,s:s,s:s,s:s,s:s}", "Type", type, "TotalCount", t, "Active", a,
			 "Size", sz, "Reclaimable", rc);
}

int cmd_system_df(int argc, char **argv)
{
	bool verbose = false;
	const char *format = NULL;
	int c, rc;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'v')
			verbose = true;
		else if (c == 'F')
			format = optarg;
		else
			return 125;
	}
	if (cli_operands(argc, argv, 0, 0))
		return 125;
	struct husk_tmpl *t = parse_format(format, df_fields, &rc);
	if (rc)
		return rc;
	husk_error *err = NULL;
	struct husk_df d;
	if (husk_engine_df(&eng, verbose, &d, &err) < 0) {
		husk_tmpl_free(t);
		return fail(err);
	}
	json_t *rows[4] = {
		df_row("Images", d.n_images, d.active_images, d.images_size, d.images_reclaimable,
		       true),
		df_row("Containers", d.n_containers, d.active_containers, d.containers_size,
		       d.containers_reclaimable, true),
		df_row("Local Volumes", d.n_volumes, 0, d.volumes_size, d.volumes_size, true),
		df_row("Build Cache", 0, 0, 0, 0, false),
	};
	if (!t && !verbose)
		printf("%-16s%-10s%-10s%-12s%s\n", "TYPE", "TOTAL", "ACTIVE", "SIZE",
		       "RECLAIMABLE");
	for (size_t i = 0; i < 4 && rc == 0; i++) {
		if (t) {
			rc = cli_print_tmpl(t, rows[i]);
		} else if (!verbose) {
			const char *f[5];
			for (size_t k = 0; k < 5; k++)
				f[k] = json_string_value(json_object_get(rows[i], df_fields[k]));
			printf("%-16s%-10s%-10s%-12s%s\n", f[0], f[1], f[2], f[3], f[4]);
		}
	}
	for (size_t i = 0; i < 4; i++)
		json_decref(rows[i]);
	if (verbose && !t) {
		char s[32];
		printf("Images space usage:\n\n%-40s %-14s %-10s %s\n", "IMAGE", "IMAGE ID", "SIZE",
		       "CONTAINERS");
		for (size_t i = 0; i < d.n_image_rows; i++) {
			const char *id = d.images[i].id;
			size_dec(d.images[i].size, 4, s, sizeof(s));
			printf("%-40s %-14.12s %-10s %zu\n", d.images[i].name,
			       strncmp(id, "sha256:", 7) == 0 ? id + 7 : id, s, d.images[i].users);
		}
		printf("\nContainers space usage:\n\n%-14s %-24s %-10s %s\n", "CONTAINER ID",
		       "NAMES", "SIZE", "STATUS");
		for (size_t i = 0; i < d.n_container_rows; i++) {
			size_dec(d.containers[i].size, 4, s, sizeof(s));
			printf("%-14.12s %-24s %-10s %s\n", d.containers[i].id,
			       d.containers[i].name, s,
			       d.containers[i].active ? "running" : "stopped");
		}
		printf("\nLocal Volumes space usage:\n\n");
		if (d.have_volumes) {
			size_dec(d.volumes_size, 4, s, sizeof(s));
			printf("%zu volumes, %s\n", d.n_volumes, s);
		}
		printf("\nBuild cache usage: 0B\n");
	}
	husk_df_release(&d);
	husk_tmpl_free(t);
	return rc;
}

/* `events --stats`: a container's cgroup counters in runc's JSON shape,
 * read from v1 or v2 files, whichever hold each controller. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

static const struct husk_cgroup_dir *find(const struct husk_cgroup *cg, const char *ctrl)
{
	for (size_t i = 0; i < cg->n; i++) {
		const char *l = cg->dirs[i].controllers;
		size_t n = strlen(ctrl);
		for (const char *p = l; p && *p;) {
			const char *c = strchr(p, ',');
			size_t len = c ? (size_t)(c - p) : strlen(p);
			if (len == n && strncmp(p, ctrl, n) == 0 && !cg->dirs[i].v2)
				return &cg->dirs[i];
			p = c ? c + 1 : NULL;
		}
	}
	for (size_t i = 0; i < cg->n; i++)
		if (cg->dirs[i].v2 && husk_cgroup_has_v2(cg, ctrl))
			return &cg->dirs[i];
	return NULL;
}

static char *read_cg(const struct husk_cgroup_dir *d, const char *file)
{
	if (!d)
		return NULL;
	cleanup_free char *p = husk_strdup_printf("%s/%s", d->path, file);
	char *text = NULL;
	if (husk_read_file(p, &text, NULL, NULL) < 0)
		return NULL;
	return text;
}

static json_int_t read_num(const struct husk_cgroup_dir *d, const char *file)
{
	cleanup_free char *t = read_cg(d, file);
	if (!t)
		return 0;
	if (strncmp(t, "max", 3) == 0)
		return -1; /* unlimited */
	return (json_int_t)strtoull(t, NULL, 10);
}

/* "key value" lines into an object */
static json_t *read_kv(const struct husk_cgroup_dir *d, const char *file)
{
	json_t *o = json_object();
	cleanup_free char *t = read_cg(d, file);
	char *save = NULL;
	for (char *l = t ? strtok_r(t, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		json_object_set_new(o, l, json_integer((json_int_t)strtoull(sp + 1, NULL, 10)));
	}
	return o;
}

static json_t *cpu_stats(const struct husk_cgroup *cg)
{
	const struct husk_cgroup_dir *acct = find(cg, "cpuacct");
	const struct husk_cgroup_dir *cpu = find(cg, "cpu");
	json_t *usage = json_object(), *thr = json_object();
	if (acct && !acct->v2) {
		json_object_set_new(usage, "total", json_integer(read_num(acct, "cpuacct.usage")));
		json_t *per = json_array();
		cleanup_free char *t = read_cg(acct, "cpuacct.usage_percpu");
		char *save = NULL;
		for (char *w = t ? strtok_r(t, " \n", &save) : NULL; w;
		     w = strtok_r(NULL, " \n", &save))
			json_array_append_new(per, json_integer((json_int_t)strtoull(w, NULL, 10)));
		json_object_set_new(usage, "percpu", per);
		json_t *st = read_kv(acct, "cpuacct.stat");
		long hz = sysconf(_SC_CLK_TCK);
		json_int_t ns = hz > 0 ? 1000000000 / hz : 10000000;
		json_object_set_new(
			usage, "kernel",
			json_integer(json_integer_value(json_object_get(st, "system")) * ns));
		json_object_set_new(
			usage, "user",
			json_integer(json_integer_value(json_object_get(st, "user")) * ns));
		json_decref(st);
	}
	if (cpu) {
		json_t *st = read_kv(cpu, "cpu.stat");
		if (cpu->v2) {
			json_object_set_new(
				usage, "total",
				json_integer(json_integer_value(json_object_get(st, "usage_usec")) *
					     1000));
			json_object_set_new(usage, "kernel",
					    json_integer(json_integer_value(json_object_get(
								 st, "system_usec")) *
							 1000));
			json_object_set_new(
				usage, "user",
				json_integer(json_integer_value(json_object_get(st, "user_usec")) *
					     1000));
		}
		json_object_set(thr, "periods", json_object_get(st, "nr_periods"));
		json_object_set(thr, "throttledPeriods", json_object_get(st, "nr_throttled"));
		json_t *tt = json_object_get(st, cpu->v2 ? "throttled_usec" : "throttled_time");
		json_object_set_new(thr, "throttledTime",
				    json_integer(json_integer_value(tt) * (cpu->v2 ? 1000 : 1)));
		json_decref(st);
	}
	return json_pack("{s:o,s:o}", "usage", usage, "throttling", thr);
}

static json_t *mem_entry(const struct husk_cgroup_dir *m, const char *prefix)
{
	cleanup_free char *u = husk_strdup_printf("%s.usage_in_bytes", prefix);
	cleanup_free char *x = husk_strdup_printf("%s.max_usage_in_bytes", prefix);
	cleanup_free char *f = husk_strdup_printf("%s.failcnt", prefix);
	cleanup_free char *l = husk_strdup_printf("%s.limit_in_bytes", prefix);
	return json_pack("{s:I,s:I,s:I,s:I}", "usage", read_num(m, u), "max", read_num(m, x),
			 "failcnt", read_num(m, f), "limit", read_num(m, l));
}

static json_t *memory_stats(const struct husk_cgroup *cg)
{
	const struct husk_cgroup_dir *m = find(cg, "memory");
	if (!m)
		return json_object();
	if (m->v2) {
		json_t *ev = read_kv(m, "memory.events");
		json_t *j =
			json_pack("{s:{s:I,s:I,s:I,s:I},s:{s:I,s:I},s:o}", "usage", "usage",
				  read_num(m, "memory.current"), "max", read_num(m, "memory.peak"),
				  "failcnt", json_integer_value(json_object_get(ev, "max")),
				  "limit", read_num(m, "memory.max"), "swap", "usage",
				  read_num(m, "memory.swap.current"), "limit",
				  read_num(m, "memory.swap.max"), "raw", read_kv(m, "memory.stat"));
		json_decref(ev);
		return j;
	}
	return json_pack("{s:o,s:o,s:o,s:o,s:o}", "usage", mem_entry(m, "memory"), "swap",
			 mem_entry(m, "memory.memsw"), "kernel", mem_entry(m, "memory.kmem"),
			 "kernelTCP", mem_entry(m, "memory.kmem.tcp"), "raw",
			 read_kv(m, "memory.stat"));
}

/* runc's blkio.ioServiceBytesRecursive: v1's throttle counters (kept
 * whatever the I/O scheduler), v2's io.stat rbytes and wbytes */
static json_t *blkio_stats(const struct husk_cgroup *cg)
{
	json_t *list = json_array();
	const struct husk_cgroup_dir *b = find(cg, "blkio");
	const struct husk_cgroup_dir *io = b ? NULL : find(cg, "io");
	cleanup_free char *t = b ? read_cg(b, "blkio.throttle.io_service_bytes_recursive")
				 : read_cg(io, "io.stat");
	char *save = NULL;
	for (char *l = t ? strtok_r(t, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		unsigned maj, min;
		int off = 0;
		if (sscanf(l, "%u:%u %n", &maj, &min, &off) != 2 || off == 0)
			continue;
		if (b) {
			char op[16];
			unsigned long long v;
			if (sscanf(l + off, "%15s %llu", op, &v) == 2)
				json_array_append_new(list, json_pack("{s:i,s:i,s:s,s:I}", "major",
								      maj, "minor", min, "op", op,
								      "value", (json_int_t)v));
			continue;
		}
		char *s2 = NULL;
		for (char *kv = strtok_r(l + off, " ", &s2); kv; kv = strtok_r(NULL, " ", &s2)) {
			unsigned long long v;
			const char *op = strncmp(kv, "rbytes=", 7) == 0	  ? "Read"
					 : strncmp(kv, "wbytes=", 7) == 0 ? "Write"
									  : NULL;
			if (op && sscanf(kv + 7, "%llu", &v) == 1)
				json_array_append_new(list, json_pack("{s:i,s:i,s:s,s:I}", "major",
								      maj, "minor", min, "op", op,
								      "value", (json_int_t)v));
		}
	}
	return json_pack("{s:o}", "ioServiceBytesRecursive", list);
}

long long husk_cgroup_oom_kills(const struct husk_cgroup *cg)
{
	const struct husk_cgroup_dir *m = find(cg, "memory");
	if (!m)
		return 0;
	json_t *o = read_kv(m, m->v2 ? "memory.events" : "memory.oom_control");
	json_int_t n = json_integer_value(json_object_get(o, "oom_kill"));
	json_decref(o);
	return n;
}

char *husk_cgroup_stats_json(const struct husk_cgroup *cg, const char *id)
{
	const struct husk_cgroup_dir *p = find(cg, "pids");
	json_t *data =
		json_pack("{s:o,s:o,s:{s:I,s:I},s:o,s:{},s:{},s:n}", "cpu", cpu_stats(cg), "memory",
			  memory_stats(cg), "pids", "current", read_num(p, "pids.current"), "limit",
			  read_num(p, "pids.max"), "blkio", blkio_stats(cg), "hugetlb", "intel_rdt",
			  "network_interfaces");
	json_t *j = json_pack("{s:s,s:s,s:o}", "type", "stats", "id", id, "data", data);
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s;
}

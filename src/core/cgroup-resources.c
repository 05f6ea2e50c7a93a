/* linux.resources -> the container's cgroup files, on v1 and v2.
 *
 * Each resource names the controller and file it goes to on either
 * version; a failure names the resource and the file.  Values the kernel
 * rejects are reported as it rejects them, not second-guessed here. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

static bool has_ctrl(const char *list, const char *want)
{
	size_t wl = strlen(want);
	for (const char *p = list; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == wl && strncmp(p, want, wl) == 0)
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

/* The directory that holds controller's files: a v1 hierarchy that has
 * it, else the unified one when it offers it (hybrid or v2). */
static const struct husk_cgroup_dir *dir_for(const struct husk_cgroup *cg, const char *ctrl)
{
	for (size_t i = 0; i < cg->n; i++)
		if (!cg->dirs[i].v2 && has_ctrl(cg->dirs[i].controllers, ctrl))
			return &cg->dirs[i];
	for (size_t i = 0; i < cg->n; i++) {
		if (!cg->dirs[i].v2)
			continue;
		cleanup_free char *p =
			husk_strdup_printf("%s/cgroup.controllers", cg->dirs[i].path);
		cleanup_free char *list = NULL;
		if (husk_read_file(p, &list, NULL, NULL) < 0)
			continue;
		for (char *s = list; *s; s++)
			if (*s == ' ' || *s == '\n')
				*s = ',';
		if (has_ctrl(list, ctrl))
			return &cg->dirs[i];
	}
	return NULL;
}

bool husk_cgroup_has_v2(const struct husk_cgroup *cg, const char *ctrl)
{
	const struct husk_cgroup_dir *d = dir_for(cg, ctrl);
	return d && d->v2;
}

static int cg_write(const struct husk_cgroup *cg, const char *ctrl, const char *file,
		    const char *value, const char *field, husk_error **err)
{
	const struct husk_cgroup_dir *d = dir_for(cg, ctrl);
	if (!d) {
		/* name the file too: where the value would have gone */
		const char *where = cg->n ? cg->dirs[cg->n - 1].path : "?";
		for (size_t i = 0; i < cg->n; i++)
			if (cg->dirs[i].v2)
				where = cg->dirs[i].path;
		return husk_fail(err, 0,
				 "linux.resources.%s: the %s controller is not available for "
				 "\"%s/%s\"",
				 field, ctrl, where, file);
	}
	cleanup_free char *p = husk_strdup_printf("%s/%s", d->path, file);
	if (husk_write_file(p, value, strlen(value), 0, err) < 0)
		return husk_error_wrap(err, "linux.resources.%s", field);
	return 0;
}

static bool get_i64(json_t *obj, const char *key, int64_t *v)
{
	json_t *j = json_object_get(obj, key);
	if (!json_is_integer(j))
		return false;
	*v = json_integer_value(j);
	return true;
}

/* v1 takes -1 for "no limit", v2 takes "max" */
static char *limit_str(int64_t v, bool v2)
{
	if (v < 0)
		return strdup(v2 ? "max" : "-1");
	return husk_strdup_printf("%lld", (long long)v);
}

static int apply_memory(const struct husk_cgroup *cg, json_t *m, husk_error **err)
{
	bool v2 = husk_cgroup_has_v2(cg, "memory");
	int64_t limit = 0, swap = 0, v = 0;
	bool has_limit = get_i64(m, "limit", &limit), has_swap = get_i64(m, "swap", &swap);
	if (get_i64(m, "reservation", &v)) {
		cleanup_free char *s = limit_str(v, v2);
		if (cg_write(cg, "memory", v2 ? "memory.low" : "memory.soft_limit_in_bytes", s,
			     "memory.reservation", err) < 0)
			return -1;
	}
	if (v2) {
		if (has_limit && limit > 0 &&
		    json_is_true(json_object_get(m, "checkBeforeUpdate"))) {
			/* v2 takes any memory.max and reclaims or OOM-kills to meet
			 * it: refuse one below what the container already uses */
			const struct husk_cgroup_dir *md = dir_for(cg, "memory");
			cleanup_free char *cur_file =
				md ? husk_strdup_printf("%s/memory.current", md->path) : NULL;
			cleanup_free char *cur = NULL;
			if (cur_file && husk_read_file(cur_file, &cur, NULL, NULL) == 0 &&
			    strtoll(cur, NULL, 10) > limit)
				return husk_fail(
					err, 0,
					"linux.resources.memory.limit: %lld is below the current "
					"usage %lld of \"%s\" (checkBeforeUpdate)",
					(long long)limit, strtoll(cur, NULL, 10), cur_file);
		}
		if (has_limit) {
			cleanup_free char *s = limit_str(limit, true);
			if (cg_write(cg, "memory", "memory.max", s, "memory.limit", err) < 0)
				return -1;
		}
		if (has_swap) {
			/* the spec's swap is memory+swap; v2's swap.max is swap alone */
			int64_t sw = swap < 0 ? -1 : (has_limit && limit > 0 ? swap - limit : swap);
			if (sw < -1)
				return husk_fail(
					err, 0,
					"linux.resources.memory.swap: %lld is below the memory "
					"limit %lld",
					(long long)swap, (long long)limit);
			cleanup_free char *s = limit_str(sw, true);
			if (cg_write(cg, "memory", "memory.swap.max", s, "memory.swap", err) < 0)
				return -1;
		}
	} else {
		/* memsw must stay >= limit at every step: raise memsw first when
		 * the new limit is above it, else the limit first */
		cleanup_free char *ls = has_limit ? limit_str(limit, false) : NULL;
		cleanup_free char *ss = has_swap ? limit_str(swap, false) : NULL;
		const struct husk_cgroup_dir *md = dir_for(cg, "memory");
		cleanup_free char *memsw_file =
			md ? husk_strdup_printf("%s/memory.memsw.limit_in_bytes", md->path) : NULL;
		bool memsw = memsw_file && access(memsw_file, F_OK) == 0;
		if (has_swap && !memsw && swap != limit && swap >= 0)
			return husk_fail(err, 0,
					 "linux.resources.memory.swap: this kernel has no swap "
					 "accounting (memory.memsw)");
		husk_error *first = NULL;
		if (ls &&
		    cg_write(cg, "memory", "memory.limit_in_bytes", ls, "memory.limit", &first) <
			    0 &&
		    !(ss && memsw)) {
			*err = first;
			return -1;
		}
		if (ss && memsw &&
		    cg_write(cg, "memory", "memory.memsw.limit_in_bytes", ss, "memory.swap", err) <
			    0) {
			/* both refused: the limit's error says why (EBUSY: it
			 * uses more than that), memsw's only that it is below
			 * the limit still in place */
			if (first) {
				husk_error_free(*err);
				*err = first;
			}
			return -1;
		}
		if (first) {
			husk_error_free(first);
			if (cg_write(cg, "memory", "memory.limit_in_bytes", ls, "memory.limit",
				     err) < 0)
				return -1;
		}
		if (get_i64(m, "kernel", &v)) {
			cleanup_free char *s = limit_str(v, false);
			cg_write(cg, "memory", "memory.kmem.limit_in_bytes", s, "memory.kernel",
				 NULL); /* gone from recent kernels: ignored, as runc */
		}
		if (get_i64(m, "kernelTCP", &v)) {
			cleanup_free char *s = limit_str(v, false);
			if (cg_write(cg, "memory", "memory.kmem.tcp.limit_in_bytes", s,
				     "memory.kernelTCP", err) < 0)
				return -1;
		}
		if (get_i64(m, "swappiness", &v) && v >= 0) {
			cleanup_free char *s = husk_strdup_printf("%lld", (long long)v);
			if (cg_write(cg, "memory", "memory.swappiness", s, "memory.swappiness",
				     err) < 0)
				return -1;
		}
		if (json_is_true(json_object_get(m, "disableOOMKiller")) &&
		    cg_write(cg, "memory", "memory.oom_control", "1", "memory.disableOOMKiller",
			     err) < 0)
			return -1;
	}
	return 0;
}

/* runc's and crun's conversion of v1 cpu.shares [2, 262144] to v2
 * cpu.weight [1, 10000] */
static uint64_t shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares <= 2)
		return 1;
	if (shares >= 262144)
		return 10000;
	return 1 + ((shares - 2) * 9999) / 262142;
}

static int apply_cpu(const struct husk_cgroup *cg, json_t *c, husk_error **err)
{
	bool v2 = husk_cgroup_has_v2(cg, "cpu");
	int64_t v = 0, quota = 0, period = 0;
	if (get_i64(c, "shares", &v) && v > 0) {
		cleanup_free char *s = husk_strdup_printf(
			"%llu",
			(unsigned long long)(v2 ? shares_to_weight((uint64_t)v) : (uint64_t)v));
		if (cg_write(cg, "cpu", v2 ? "cpu.weight" : "cpu.shares", s, "cpu.shares", err) < 0)
			return -1;
	}
	bool has_q = get_i64(c, "quota", &quota), has_p = get_i64(c, "period", &period);
	if (v2 && (has_q || has_p)) {
		cleanup_free char *s = NULL;
		if (has_q && quota > 0)
			s = husk_strdup_printf("%lld %lld", (long long)quota,
					       (long long)(has_p && period > 0 ? period : 100000));
		else
			s = husk_strdup_printf("max %lld",
					       (long long)(has_p && period > 0 ? period : 100000));
		if (cg_write(cg, "cpu", "cpu.max", s, "cpu.quota", err) < 0)
			return -1;
	} else {
		if (has_p && period > 0) {
			cleanup_free char *s = husk_strdup_printf("%lld", (long long)period);
			if (cg_write(cg, "cpu", "cpu.cfs_period_us", s, "cpu.period", err) < 0)
				return -1;
		}
		if (has_q && quota != 0) {
			cleanup_free char *s = husk_strdup_printf("%lld", (long long)quota);
			if (cg_write(cg, "cpu", "cpu.cfs_quota_us", s, "cpu.quota", err) < 0)
				return -1;
		}
	}
	if (get_i64(c, "burst", &v) && v >= 0) {
		cleanup_free char *s = husk_strdup_printf("%lld", (long long)v);
		if (cg_write(cg, "cpu", v2 ? "cpu.max.burst" : "cpu.cfs_burst_us", s, "cpu.burst",
			     err) < 0)
			return -1;
	}
	if (!v2 && get_i64(c, "realtimePeriod", &v) && v > 0) {
		cleanup_free char *s = husk_strdup_printf("%lld", (long long)v);
		if (cg_write(cg, "cpu", "cpu.rt_period_us", s, "cpu.realtimePeriod", err) < 0)
			return -1;
	}
	if (!v2 && get_i64(c, "realtimeRuntime", &v) && v != 0) {
		cleanup_free char *s = husk_strdup_printf("%lld", (long long)v);
		if (cg_write(cg, "cpu", "cpu.rt_runtime_us", s, "cpu.realtimeRuntime", err) < 0)
			return -1;
	}
	if (get_i64(c, "idle", &v)) {
		cleanup_free char *s = husk_strdup_printf("%lld", (long long)v);
		if (cg_write(cg, "cpu", "cpu.idle", s, "cpu.idle", err) < 0)
			return -1;
	}
	const char *cpus = json_string_value(json_object_get(c, "cpus"));
	const char *mems = json_string_value(json_object_get(c, "mems"));
	if (cpus && *cpus && cg_write(cg, "cpuset", "cpuset.cpus", cpus, "cpu.cpus", err) < 0)
		return -1;
	if (mems && *mems && cg_write(cg, "cpuset", "cpuset.mems", mems, "cpu.mems", err) < 0)
		return -1;
	return 0;
}

static int apply_pids(const struct husk_cgroup *cg, json_t *p, husk_error **err)
{
	int64_t v;
	if (!get_i64(p, "limit", &v))
		return 0;
	cleanup_free char *s = v > 0 ? husk_strdup_printf("%lld", (long long)v) : strdup("max");
	return cg_write(cg, "pids", "pids.max", s, "pids.limit", err);
}

static int device_rules(json_t *arr, const char *what, const char *file,
			const struct husk_cgroup *cg, husk_error **err)
{
	size_t i;
	json_t *d;
	json_array_foreach (arr, i, d) {
		int64_t maj = -1, min = -1, rate = 0;
		get_i64(d, "major", &maj);
		get_i64(d, "minor", &min);
		bool is_weight = strcmp(file, "blkio.weight_device") == 0 ||
				 strcmp(file, "blkio.leaf_weight_device") == 0;
		if (!get_i64(d, is_weight ? "weight" : "rate", &rate))
			continue;
		if (maj < 0 || min < 0)
			return husk_fail(err, 0,
					 "linux.resources.blockIO.%s[%zu]: needs major and minor",
					 what, i);
		cleanup_free char *s = husk_strdup_printf("%lld:%lld %lld", (long long)maj,
							  (long long)min, (long long)rate);
		cleanup_free char *field = husk_strdup_printf("blockIO.%s[%zu]", what, i);
		if (cg_write(cg, "blkio", file, s, field, err) < 0)
			return -1;
	}
	return 0;
}

static int apply_blkio(const struct husk_cgroup *cg, json_t *b, husk_error **err)
{
	if (husk_cgroup_has_v2(cg, "io")) {
		/* v2 io: weight and io.max lines per device */
		int64_t w;
		if (get_i64(b, "weight", &w) && w > 0) {
			cleanup_free char *s = husk_strdup_printf(
				"default %lld", (long long)(1 + (w - 10) * 9999 / 990));
			if (cg_write(cg, "io", "io.weight", s, "blockIO.weight", err) < 0)
				return -1;
		}
		size_t wi;
		json_t *wd;
		json_array_foreach (json_object_get(b, "weightDevice"), wi, wd) {
			int64_t maj = -1, min = -1, dw = 0;
			get_i64(wd, "major", &maj);
			get_i64(wd, "minor", &min);
			if (!get_i64(wd, "weight", &dw))
				continue;
			cleanup_free char *s =
				husk_strdup_printf("%lld:%lld %lld", (long long)maj, (long long)min,
						   (long long)(1 + (dw - 10) * 9999 / 990));
			cleanup_free char *field =
				husk_strdup_printf("blockIO.weightDevice[%zu]", wi);
			if (cg_write(cg, "io", "io.weight", s, field, err) < 0)
				return -1;
		}
		static const struct {
			const char *key, *name;
		} t[] = {{"throttleReadBpsDevice", "rbps"},
			 {"throttleWriteBpsDevice", "wbps"},
			 {"throttleReadIOPSDevice", "riops"},
			 {"throttleWriteIOPSDevice", "wiops"}};
		for (size_t k = 0; k < ARRAY_SIZE(t); k++) {
			size_t i;
			json_t *d;
			json_array_foreach (json_object_get(b, t[k].key), i, d) {
				int64_t maj = -1, min = -1, rate = 0;
				get_i64(d, "major", &maj);
				get_i64(d, "minor", &min);
				get_i64(d, "rate", &rate);
				cleanup_free char *s = husk_strdup_printf(
					"%lld:%lld %s=%lld", (long long)maj, (long long)min,
					t[k].name, (long long)rate);
				cleanup_free char *field =
					husk_strdup_printf("blockIO.%s[%zu]", t[k].key, i);
				if (cg_write(cg, "io", "io.max", s, field, err) < 0)
					return -1;
			}
		}
		return 0;
	}
	int64_t w;
	if (get_i64(b, "weight", &w) && w > 0) {
		cleanup_free char *s = husk_strdup_printf("%lld", (long long)w);
		const struct husk_cgroup_dir *d = dir_for(cg, "blkio");
		cleanup_free char *cfq = d ? husk_strdup_printf("%s/blkio.weight", d->path) : NULL;
		const char *file =
			cfq && access(cfq, F_OK) == 0 ? "blkio.weight" : "blkio.bfq.weight";
		if (cg_write(cg, "blkio", file, s, "blockIO.weight", err) < 0)
			return -1;
	}
	if (device_rules(json_object_get(b, "weightDevice"), "weightDevice", "blkio.weight_device",
			 cg, err) < 0 ||
	    device_rules(json_object_get(b, "throttleReadBpsDevice"), "throttleReadBpsDevice",
			 "blkio.throttle.read_bps_device", cg, err) < 0 ||
	    device_rules(json_object_get(b, "throttleWriteBpsDevice"), "throttleWriteBpsDevice",
			 "blkio.throttle.write_bps_device", cg, err) < 0 ||
	    device_rules(json_object_get(b, "throttleReadIOPSDevice"), "throttleReadIOPSDevice",
			 "blkio.throttle.read_iops_device", cg, err) < 0 ||
	    device_rules(json_object_get(b, "throttleWriteIOPSDevice"), "throttleWriteIOPSDevice",
			 "blkio.throttle.write_iops_device", cg, err) < 0)
		return -1;
	return 0;
}

/* v1 devices: deny everything, then the rules in order, then what every
 * container needs to work (the default devices, ptys), as runc does. */
static const char *const default_allow[] = {
	"c *:* m",   "b *:* m",	  "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",   "c 1:8 rwm",
	"c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",
};

static int device_rule_str(json_t *d, size_t i, char **ret, bool *allow, husk_error **err)
{
	*allow = json_is_true(json_object_get(d, "allow"));
	const char *type = json_string_value(json_object_get(d, "type"));
	const char *access_ = json_string_value(json_object_get(d, "access"));
	if (!type || !*type)
		type = "a";
	if (!access_ || !*access_)
		access_ = "rwm";
	if (strlen(type) != 1 || !strchr("abc", type[0]))
		return husk_fail(err, 0,
				 "linux.resources.devices[%zu].type: \"%s\" is not a, b or c", i,
				 type);
	for (const char *p = access_; *p; p++)
		if (!strchr("rwm", *p))
			return husk_fail(
				err, 0,
				"linux.resources.devices[%zu].access: \"%s\" is not made of "
				"r, w, m",
				i, access_);
	int64_t maj = -1, min = -1;
	get_i64(d, "major", &maj);
	get_i64(d, "minor", &min);
	if (maj > 0xfff || min > 0xfffff)
		return husk_fail(err, 0, "linux.resources.devices[%zu]: major/minor out of range",
				 i);
	char smaj[24], smin[24];
	if (maj < 0)
		snprintf(smaj, sizeof(smaj), "*");
	else
		snprintf(smaj, sizeof(smaj), "%lld", (long long)maj);
	if (min < 0)
		snprintf(smin, sizeof(smin), "*");
	else
		snprintf(smin, sizeof(smin), "%lld", (long long)min);
	if (type[0] == 'a')
		*ret = strdup("a");
	else
		*ret = husk_strdup_printf("%c %s:%s %s", type[0], smaj, smin, access_);
	return 0;
}

static int parse_rule(json_t *d, size_t i, struct husk_dev_rule *r, husk_error **err)
{
	cleanup_free char *s = NULL;
	bool allow;
	if (device_rule_str(d, i, &s, &allow, err) < 0)
		return -1;
	const char *type = json_string_value(json_object_get(d, "type"));
	const char *acc = json_string_value(json_object_get(d, "access"));
	int64_t maj = -1, min = -1;
	get_i64(d, "major", &maj);
	get_i64(d, "minor", &min);
	r->type = type && *type ? type[0] : 'a';
	r->major = maj;
	r->minor = min;
	r->allow = allow;
	r->access = 0;
	for (const char *p = acc && *acc ? acc : "rwm"; *p; p++)
		r->access |= *p == 'm' ? 1 : *p == 'r' ? 2 : 4;
	return 0;
}

static void parse_default(const char *s, struct husk_dev_rule *r)
{
	/* "c 1:3 rwm", "c *:* m" */
	r->type = s[0];
	r->allow = true;
	const char *p = s + 2;
	r->major = *p == '*' ? -1 : strtoll(p, NULL, 10);
	p = strchr(p, ':') + 1;
	r->minor = *p == '*' ? -1 : strtoll(p, NULL, 10);
	r->access = 0;
	for (p = strchr(p, ' ') + 1; *p; p++)
		r->access |= *p == 'm' ? 1 : *p == 'r' ? 2 : 4;
}

static int apply_devices(const struct husk_cgroup *cg, json_t *devs, json_t *spec_devices,
			 husk_error **err)
{
	/* the list in force: deny all, the rules in order, then what every
	 * container needs (the default devices, ptys) as runc does, except a
	 * default that a rule denies by its exact device: that denial stands;
	 * then the devices the config creates, rwm unless a rule names that
	 * very device */
	size_t cap = 2 + json_array_size(devs) + ARRAY_SIZE(default_allow) +
		     json_array_size(spec_devices);
	cleanup_free struct husk_dev_rule *rules = calloc(cap, sizeof(*rules));
	cleanup_free char **lines = calloc(cap, sizeof(char *));
	size_t n = 0;
	rules[n] = (struct husk_dev_rule){.type = 'a', .major = -1, .minor = -1, .access = 7};
	lines[n++] = strdup("a");
	size_t i;
	json_t *r;
	int rc = -1;
	json_array_foreach (devs, i, r) {
		if (parse_rule(r, i, &rules[n], err) < 0)
			goto out;
		bool allow;
		if (device_rule_str(r, i, &lines[n], &allow, err) < 0)
			goto out;
		n++;
	}
	for (size_t k = 0; k < ARRAY_SIZE(default_allow); k++) {
		struct husk_dev_rule d;
		parse_default(default_allow[k], &d);
		bool denied = false;
		for (size_t j = 1; j < n; j++)
			if (!rules[j].allow && rules[j].type == d.type && rules[j].major >= 0 &&
			    rules[j].minor >= 0 && rules[j].major == d.major &&
			    rules[j].minor == d.minor)
				denied = true;
		if (denied)
			continue;
		rules[n] = d;
		lines[n++] = strdup(default_allow[k]);
	}
	json_array_foreach (spec_devices, i, r) {
		const char *type = json_string_value(json_object_get(r, "type"));
		int64_t maj = 0, min = 0;
		if (!type || !get_i64(r, "major", &maj) || !get_i64(r, "minor", &min))
			continue;
		char t = type[0] == 'b' ? 'b' : 'c';
		/* a device the rules name by its exact number keeps their
		 * access (the engine's --device /dev/x:r) */
		bool named = false;
		for (size_t j = 1; j < n; j++)
			named |= rules[j].type == t && rules[j].major == maj &&
				 rules[j].minor == min;
		if (named)
			continue;
		rules[n] = (struct husk_dev_rule){
			.type = t, .major = maj, .minor = min, .access = 7, .allow = true};
		lines[n++] =
			husk_strdup_printf("%c %lld:%lld rwm", t, (long long)maj, (long long)min);
	}
	const struct husk_cgroup_dir *v1 = NULL;
	for (size_t k = 0; k < cg->n; k++)
		if (!cg->dirs[k].v2 && has_ctrl(cg->dirs[k].controllers, "devices"))
			v1 = &cg->dirs[k];
	if (v1) {
		for (size_t k = 0; k < n; k++) {
			/* a line is a deny when its rule is, "a" first of all */
			const char *file = rules[k].allow ? "devices.allow" : "devices.deny";
			cleanup_free char *field =
				k == 0 ? strdup("devices")
				       : husk_strdup_printf("devices[%zu]", k - 1);
			if (cg_write(cg, "devices", file, lines[k], field, err) < 0)
				goto out;
		}
	}
	/* v2: the same list as an eBPF program.  On a hybrid host the v1
	 * lists above already govern every device open, so a program on the
	 * unified hierarchy would only add its load (about 0.1 ms) to the
	 * start */
	for (size_t k = 0; k < cg->n && !v1; k++) {
		if (!cg->dirs[k].v2)
			continue;
		if (husk_cgroup_v2_devices(cg->dirs[k].path, rules, n, err) < 0)
			goto out;
	}
	rc = 0;
out:
	for (size_t k = 0; k < cap; k++)
		free(lines[k]);
	return rc;
}

static int apply_misc(const struct husk_cgroup *cg, json_t *res, husk_error **err)
{
	size_t i;
	json_t *h;
	json_array_foreach (json_object_get(res, "hugepageLimits"), i, h) {
		const char *size = json_string_value(json_object_get(h, "pageSize"));
		int64_t limit;
		if (!size || !get_i64(h, "limit", &limit))
			return husk_fail(err, 0,
					 "linux.resources.hugepageLimits[%zu]: needs pageSize "
					 "and limit",
					 i);
		bool v2 = husk_cgroup_has_v2(cg, "hugetlb");
		cleanup_free char *file = husk_strdup_printf(
			v2 ? "hugetlb.%s.max" : "hugetlb.%s.limit_in_bytes", size);
		cleanup_free char *s = husk_strdup_printf("%lld", (long long)limit);
		cleanup_free char *field = husk_strdup_printf("hugepageLimits[%zu]", i);
		if (cg_write(cg, "hugetlb", file, s, field, err) < 0)
			return -1;
	}
	json_t *net = json_object_get(res, "network");
	int64_t classid;
	if (get_i64(net, "classID", &classid)) {
		cleanup_free char *s = husk_strdup_printf("%lld", (long long)classid);
		if (cg_write(cg, "net_cls", "net_cls.classid", s, "network.classID", err) < 0)
			return -1;
	}
	json_array_foreach (json_object_get(net, "priorities"), i, h) {
		const char *name = json_string_value(json_object_get(h, "name"));
		int64_t prio = 0;
		get_i64(h, "priority", &prio);
		cleanup_free char *s =
			husk_strdup_printf("%s %lld", name ? name : "", (long long)prio);
		if (cg_write(cg, "net_prio", "net_prio.ifpriomap", s, "network.priorities", err) <
		    0)
			return -1;
	}
	const char *dev;
	json_t *lim;
	json_object_foreach (json_object_get(res, "rdma"), dev, lim) {
		int64_t handles = -1, objects = -1;
		get_i64(lim, "hcaHandles", &handles);
		get_i64(lim, "hcaObjects", &objects);
		cleanup_free char *hs = handles >= 0
						? husk_strdup_printf("%lld", (long long)handles)
						: strdup("max");
		cleanup_free char *os = objects >= 0
						? husk_strdup_printf("%lld", (long long)objects)
						: strdup("max");
		cleanup_free char *line =
			husk_strdup_printf("%s hca_handle=%s hca_object=%s", dev, hs, os);
		cleanup_free char *field = husk_strdup_printf("rdma.%s", dev);
		if (cg_write(cg, "rdma", "rdma.max", line, field, err) < 0)
			return -1;
	}
	json_t *unified = json_object_get(res, "unified");
	if (unified && json_object_size(unified)) {
		const struct husk_cgroup_dir *v2 = NULL;
		for (size_t k = 0; k < cg->n; k++)
			if (cg->dirs[k].v2)
				v2 = &cg->dirs[k];
		if (!v2 || husk_cgroup_mode() != HUSK_CGROUP_V2)
			return husk_fail(err, 0, "linux.resources.unified: needs a cgroup v2 host");
		const char *key;
		json_t *v;
		json_object_foreach (unified, key, v) {
			if (!json_is_string(v) || strchr(key, '/') || key[0] == '.')
				return husk_fail(err, 0,
						 "linux.resources.unified.%s: bad key or value",
						 key);
			cleanup_free char *p = husk_strdup_printf("%s/%s", v2->path, key);
			const char *val = json_string_value(v);
			if (husk_write_file(p, val, strlen(val), 0, err) < 0)
				return husk_error_wrap(err, "linux.resources.unified.%s", key);
		}
	}
	return 0;
}

int husk_cgroup_apply(const struct husk_cgroup *cg, json_t *res, json_t *spec_devices,
		      bool with_devices, husk_error **err)
{
	if (!res || json_is_null(res))
		return 0;
	if (!json_is_object(res))
		return husk_fail(err, 0, "linux.resources: must be an object");
	json_t *v;
	if ((v = json_object_get(res, "memory")) && apply_memory(cg, v, err) < 0)
		return -1;
	if ((v = json_object_get(res, "cpu")) && apply_cpu(cg, v, err) < 0)
		return -1;
	if ((v = json_object_get(res, "pids")) && apply_pids(cg, v, err) < 0)
		return -1;
	if ((v = json_object_get(res, "blockIO")) && apply_blkio(cg, v, err) < 0)
		return -1;
	if (with_devices && (v = json_object_get(res, "devices")) &&
	    apply_devices(cg, v, spec_devices, err) < 0)
		return -1;
	return apply_misc(cg, res, err);
}

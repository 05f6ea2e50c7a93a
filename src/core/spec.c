/* config.json -> struct husk_spec.  Every error names the JSON field. */
#define _GNU_SOURCE
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <linux/mount.h>
#include <sched.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "intelrdt.h"
#include "mempolicy.h"
#include "netdev.h"
#include "procfs.h"
#include "seccomp.h"
#include "util.h"

static const struct {
	const char *name;
	int flag;
} ns_table[HUSK_NS_COUNT] = {
	[HUSK_NS_PID] = {"pid", CLONE_NEWPID},		[HUSK_NS_NET] = {"network", CLONE_NEWNET},
	[HUSK_NS_MNT] = {"mount", CLONE_NEWNS},		[HUSK_NS_IPC] = {"ipc", CLONE_NEWIPC},
	[HUSK_NS_UTS] = {"uts", CLONE_NEWUTS},		[HUSK_NS_USER] = {"user", CLONE_NEWUSER},
	[HUSK_NS_CGROUP] = {"cgroup", CLONE_NEWCGROUP}, [HUSK_NS_TIME] = {"time", CLONE_NEWTIME},
};

const char *husk_ns_name(enum husk_ns_type t)
{
	return ns_table[t].name;
}
int husk_ns_clone_flag(enum husk_ns_type t)
{
	return ns_table[t].flag;
}

int husk_ns_from_name(const char *name)
{
	for (int i = 0; i < HUSK_NS_COUNT; i++)
		if (strcmp(name, ns_table[i].name) == 0)
			return i;
	return -1;
}

/* ---- small JSON accessors that name the field on error ---- */

static int get_string(json_t *obj, const char *key, const char *where, bool required, char **ret,
		      husk_error **err)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		if (required)
			return husk_fail(err, 0, "%s.%s: missing", where, key);
		*ret = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return husk_fail(err, 0, "%s.%s: must be a string", where, key);
	*ret = strdup(json_string_value(v));
	return 0;
}

static int get_u32(json_t *obj, const char *key, const char *where, bool *has, uint32_t *ret,
		   husk_error **err)
{
	json_t *v = json_object_get(obj, key);
	if (has)
		*has = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)UINT32_MAX)
		return husk_fail(err, 0, "%s.%s: must be an unsigned 32-bit integer", where, key);
	*ret = (uint32_t)json_integer_value(v);
	if (has)
		*has = true;
	return 0;
}

static int get_strv(json_t *obj, const char *key, const char *where, char ***ret, size_t *ret_n,
		    husk_error **err)
{
	json_t *arr = json_object_get(obj, key);
	*ret = NULL;
	if (ret_n)
		*ret_n = 0;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return husk_fail(err, 0, "%s.%s: must be an array of strings", where, key);
	size_t n = json_array_size(arr);
	char **v = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(arr, i);
		if (!json_is_string(s)) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return husk_fail(err, 0, "%s.%s[%zu]: must be a string", where, key, i);
		}
		v[i] = strdup(json_string_value(s));
	}
	*ret = v;
	if (ret_n)
		*ret_n = n;
	return 0;
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* ---- capabilities and rlimits ---- */

int husk_cap_from_name(const char *name)
{
	char lower[64];
	size_t n = strlen(name);
	if (n >= sizeof(lower))
		return -1;
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	cap_value_t v;
	if (cap_from_name(lower, &v) < 0)
		return -1;
	return (int)v;
}

static int parse_capset(json_t *caps, const char *key, uint64_t *mask, bool *has, husk_error **err)
{
	json_t *arr = json_object_get(caps, key);
	*mask = 0;
	*has = false;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return husk_fail(err, 0, "process.capabilities.%s: must be an array", key);
	*has = true;
	int last = (int)cap_max_bits() - 1;
	size_t i;
	json_t *c;
	json_array_foreach (arr, i, c) {
		if (!json_is_string(c))
			return husk_fail(err, 0, "process.capabilities.%s[%zu]: must be a string",
					 key, i);
		int v = husk_cap_from_name(json_string_value(c));
		if (v < 0)
			return husk_fail(err, 0,
					 "process.capabilities.%s: unknown capability \"%s\"", key,
					 json_string_value(c));
		if (v > last || v > 63)
			continue; /* newer than this kernel: runc ignores it too */
		*mask |= 1ull << v;
	}
	return 0;
}

static const struct {
	const char *name;
	int res;
} rlimit_table[] = {
	{"RLIMIT_AS", RLIMIT_AS},
	{"RLIMIT_CORE", RLIMIT_CORE},
	{"RLIMIT_CPU", RLIMIT_CPU},
	{"RLIMIT_DATA", RLIMIT_DATA},
	{"RLIMIT_FSIZE", RLIMIT_FSIZE},
	{"RLIMIT_LOCKS", RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
	{"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
	{"RLIMIT_NICE", RLIMIT_NICE},
	{"RLIMIT_NOFILE", RLIMIT_NOFILE},
	{"RLIMIT_NPROC", RLIMIT_NPROC},
	{"RLIMIT_RSS", RLIMIT_RSS},
	{"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
	{"RLIMIT_RTTIME", RLIMIT_RTTIME},
	{"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
	{"RLIMIT_STACK", RLIMIT_STACK},
};

int husk_rlimit_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_table); i++)
		if (strcmp(rlimit_table[i].name, name) == 0)
			return rlimit_table[i].res;
	return -1;
}

static int parse_u64_field(json_t *obj, const char *key, const char *where, uint64_t *ret,
			   husk_error **err)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return husk_fail(err, 0, "%s.%s: missing", where, key);
	/* a negative one is a uint64 above INT64_MAX that husk_spec_parse
	 * stored as its bit pattern (RLIM_INFINITY is 2^64-1) */
	if (json_is_integer(v)) {
		*ret = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v) && json_real_value(v) >= 1.8e19) {
		*ret = UINT64_MAX;
		return 0;
	}
	return husk_fail(err, 0, "%s.%s: must be an unsigned integer", where, key);
}

/* ---- process ---- */

static const struct {
	const char *name;
	int value;
} sched_policies[] = {
	{"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},	      {"SCHED_BATCH", 3},
	{"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6},
};

static int parse_scheduler(json_t *s, struct husk_process *p, husk_error **err)
{
	const char *pol = json_string_value(json_object_get(s, "policy"));
	if (!pol)
		return husk_fail(err, 0, "process.scheduler.policy: missing");
	p->sched_policy = -1;
	for (size_t i = 0; i < ARRAY_SIZE(sched_policies); i++)
		if (strcmp(sched_policies[i].name, pol) == 0)
			p->sched_policy = sched_policies[i].value;
	if (p->sched_policy < 0)
		return husk_fail(err, 0, "process.scheduler.policy: unknown policy \"%s\"", pol);
	p->sched_nice = (int)json_integer_value(json_object_get(s, "nice"));
	p->sched_priority = (int)json_integer_value(json_object_get(s, "priority"));
	p->sched_runtime = (uint64_t)json_integer_value(json_object_get(s, "runtime"));
	p->sched_deadline = (uint64_t)json_integer_value(json_object_get(s, "deadline"));
	p->sched_period = (uint64_t)json_integer_value(json_object_get(s, "period"));
	json_t *flags = json_object_get(s, "flags");
	size_t i;
	json_t *f;
	json_array_foreach (flags, i, f) {
		const char *n = json_string_value(f);
		static const char *names[] = {
			"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM",
			"SCHED_FLAG_DL_OVERRUN",    "SCHED_FLAG_KEEP_POLICY",
			"SCHED_FLAG_KEEP_PARAMS",   "SCHED_FLAG_UTIL_CLAMP_MIN",
			"SCHED_FLAG_UTIL_CLAMP_MAX"};
		bool ok = false;
		for (size_t k = 0; n && k < ARRAY_SIZE(names); k++)
			if (strcmp(n, names[k]) == 0) {
				p->sched_flags |= 1ull << (k == 0 ? 0 : k);
				ok = true;
			}
		if (!ok)
			return husk_fail(err, 0, "process.scheduler.flags: unknown flag \"%s\"",
					 n ? n : "?");
	}
	p->has_scheduler = true;
	return 0;
}

/* process.execCPUAffinity: "initial" and "final", CPU lists; an empty or
 * missing one leaves that step alone */
static int parse_cpu_affinity(json_t *aff, struct husk_process *p, husk_error **err)
{
	if (!json_is_object(aff))
		return husk_fail(err, 0, "process.execCPUAffinity: must be an object");
	static const char *keys[] = {"initial", "final"};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		json_t *v = json_object_get(aff, keys[i]);
		if (!v || json_is_null(v))
			continue;
		if (!json_is_string(v))
			return husk_fail(err, 0, "process.execCPUAffinity.%s: must be a string",
					 keys[i]);
		const char *list = json_string_value(v);
		struct husk_cpu_mask *m = i ? &p->exec_cpu_final : &p->exec_cpu_initial;
		size_t n = 0;
		int r = husk_parse_id_list(list, m->bits, HUSK_MAX_CPUS, &n);
		if (r == -ERANGE)
			return husk_fail(err, 0,
					 "process.execCPUAffinity.%s \"%s\": a CPU number is above "
					 "%d",
					 keys[i], list, HUSK_MAX_CPUS - 1);
		if (r < 0)
			return husk_fail(
				err, 0,
				"process.execCPUAffinity.%s \"%s\": expected a list of CPUs "
				"such as \"0-3,7\"",
				keys[i], list);
		if (!n)
			continue;
		if (i)
			p->has_exec_cpu_final = true;
		else
			p->has_exec_cpu_initial = true;
	}
	return 0;
}

int husk_process_parse(json_t *obj, struct husk_process *p, husk_error **err)
{
	memset(p, 0, sizeof(*p));
	if (!json_is_object(obj))
		return husk_fail(err, 0, "process: must be an object");
	p->terminal = json_is_true(json_object_get(obj, "terminal"));
	json_t *cs = json_object_get(obj, "consoleSize");
	if (json_is_object(cs)) {
		p->console_height =
			(unsigned short)json_integer_value(json_object_get(cs, "height"));
		p->console_width = (unsigned short)json_integer_value(json_object_get(cs, "width"));
		p->has_console_size = true;
	}
	json_t *user = json_object_get(obj, "user");
	if (user) {
		if (!json_is_object(user))
			return husk_fail(err, 0, "process.user: must be an object");
		if (get_u32(user, "uid", "process.user", NULL, &p->uid, err) < 0 ||
		    get_u32(user, "gid", "process.user", NULL, &p->gid, err) < 0)
			return -1;
		uint32_t um = 0;
		if (get_u32(user, "umask", "process.user", &p->has_umask, &um, err) < 0)
			return -1;
		p->umask = (mode_t)um;
		json_t *ag = json_object_get(user, "additionalGids");
		if (json_is_array(ag)) {
			p->n_additional_gids = json_array_size(ag);
			p->additional_gids = calloc(p->n_additional_gids + 1, sizeof(uint32_t));
			for (size_t i = 0; i < p->n_additional_gids; i++) {
				json_t *g = json_array_get(ag, i);
				if (!json_is_integer(g) || json_integer_value(g) < 0)
					return husk_fail(
						err, 0,
						"process.user.additionalGids[%zu]: must be "
						"an unsigned integer",
						i);
				p->additional_gids[i] = (uint32_t)json_integer_value(g);
			}
		}
		if (json_object_get(user, "username") && !json_object_get(user, "uid"))
			return husk_fail(err, 0,
					 "process.user.username: not supported on Linux, "
					 "give uid and gid");
	}
	if (get_strv(obj, "args", "process", &p->args, NULL, err) < 0 ||
	    get_strv(obj, "env", "process", &p->env, NULL, err) < 0)
		return -1;
	if (!p->args || !p->args[0])
		return husk_fail(err, 0, "process.args: must hold at least one string");
	if (get_string(obj, "cwd", "process", false, &p->cwd, err) < 0)
		return -1;
	if (!p->cwd)
		p->cwd = strdup("/");
	if (p->cwd[0] != '/')
		return husk_fail(err, 0, "process.cwd: \"%s\" is not an absolute path", p->cwd);

	json_t *caps = json_object_get(obj, "capabilities");
	if (caps && !json_is_null(caps)) {
		if (!json_is_object(caps))
			return husk_fail(err, 0, "process.capabilities: must be an object");
		struct husk_caps *c = &p->caps;
		if (parse_capset(caps, "bounding", &c->bounding, &c->has_bounding, err) < 0 ||
		    parse_capset(caps, "effective", &c->effective, &c->has_effective, err) < 0 ||
		    parse_capset(caps, "inheritable", &c->inheritable, &c->has_inheritable, err) <
			    0 ||
		    parse_capset(caps, "permitted", &c->permitted, &c->has_permitted, err) < 0 ||
		    parse_capset(caps, "ambient", &c->ambient, &c->has_ambient, err) < 0)
			return -1;
		p->has_caps = true;
	}

	json_t *rl = json_object_get(obj, "rlimits");
	if (json_is_array(rl)) {
		p->n_rlimits = json_array_size(rl);
		p->rlimits = calloc(p->n_rlimits + 1, sizeof(*p->rlimits));
		for (size_t i = 0; i < p->n_rlimits; i++) {
			json_t *r = json_array_get(rl, i);
			const char *type = json_string_value(json_object_get(r, "type"));
			if (!type)
				return husk_fail(err, 0, "process.rlimits[%zu].type: missing", i);
			int res = husk_rlimit_from_name(type);
			if (res < 0)
				return husk_fail(err, 0,
						 "process.rlimits[%zu].type: unknown rlimit \"%s\"",
						 i, type);
			p->rlimits[i].resource = res;
			if (parse_u64_field(r, "soft", "process.rlimits[]", &p->rlimits[i].soft,
					    err) < 0 ||
			    parse_u64_field(r, "hard", "process.rlimits[]", &p->rlimits[i].hard,
					    err) < 0)
				return -1;
			for (size_t k = 0; k < i; k++)
				if (p->rlimits[k].resource == res)
					return husk_fail(err, 0,
							 "process.rlimits: \"%s\" given twice",
							 type);
		}
	}
	p->no_new_privileges = json_is_true(json_object_get(obj, "noNewPrivileges"));
	json_t *oom = json_object_get(obj, "oomScoreAdj");
	if (oom && !json_is_null(oom)) {
		if (!json_is_integer(oom) || json_integer_value(oom) < -1000 ||
		    json_integer_value(oom) > 1000)
			return husk_fail(err, 0,
					 "process.oomScoreAdj: must be an integer in -1000..1000");
		p->has_oom_score_adj = true;
		p->oom_score_adj = (int)json_integer_value(oom);
	}
	if (get_string(obj, "apparmorProfile", "process", false, &p->apparmor_profile, err) < 0 ||
	    get_string(obj, "selinuxLabel", "process", false, &p->selinux_label, err) < 0)
		return -1;
	json_t *iop = json_object_get(obj, "ioPriority");
	if (json_is_object(iop)) {
		const char *cls = json_string_value(json_object_get(iop, "class"));
		if (!cls)
			return husk_fail(err, 0, "process.ioPriority.class: missing");
		if (strcmp(cls, "IOPRIO_CLASS_RT") == 0)
			p->io_priority_class = 1;
		else if (strcmp(cls, "IOPRIO_CLASS_BE") == 0)
			p->io_priority_class = 2;
		else if (strcmp(cls, "IOPRIO_CLASS_IDLE") == 0)
			p->io_priority_class = 3;
		else
			return husk_fail(err, 0, "process.ioPriority.class: unknown class \"%s\"",
					 cls);
		p->io_priority = (int)json_integer_value(json_object_get(iop, "priority"));
		if (p->io_priority < 0 || p->io_priority > 7)
			return husk_fail(err, 0, "process.ioPriority.priority: must be 0..7");
		p->has_io_priority = true;
	}
	json_t *sch = json_object_get(obj, "scheduler");
	if (json_is_object(sch) && parse_scheduler(sch, p, err) < 0)
		return -1;
	json_t *aff = json_object_get(obj, "execCPUAffinity");
	if (aff && !json_is_null(aff) && parse_cpu_affinity(aff, p, err) < 0)
		return -1;
	return 0;
}

void husk_process_release(struct husk_process *p)
{
	strv_free(p->args);
	strv_free(p->env);
	free(p->cwd);
	free(p->additional_gids);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	memset(p, 0, sizeof(*p));
}

/* ---- mounts ---- */

static const struct mount_opt {
	const char *name;
	bool clear;	    /* the option clears the flag */
	unsigned long flag; /* MS_* */
	uint64_t attr;	    /* MOUNT_ATTR_* for the recursive r* forms */
	unsigned long prop; /* propagation */
} mount_opts[] = {
	{"defaults", false, 0, 0, 0},
	{"ro", false, MS_RDONLY, 0, 0},
	{"rw", true, MS_RDONLY, 0, 0},
	{"suid", true, MS_NOSUID, 0, 0},
	{"nosuid", false, MS_NOSUID, 0, 0},
	{"dev", true, MS_NODEV, 0, 0},
	{"nodev", false, MS_NODEV, 0, 0},
	{"exec", true, MS_NOEXEC, 0, 0},
	{"noexec", false, MS_NOEXEC, 0, 0},
	{"sync", false, MS_SYNCHRONOUS, 0, 0},
	{"async", true, MS_SYNCHRONOUS, 0, 0},
	{"dirsync", false, MS_DIRSYNC, 0, 0},
	{"remount", false, MS_REMOUNT, 0, 0},
	{"mand", false, MS_MANDLOCK, 0, 0},
	{"nomand", true, MS_MANDLOCK, 0, 0},
	{"atime", true, MS_NOATIME, 0, 0},
	{"noatime", false, MS_NOATIME, 0, 0},
	{"diratime", true, MS_NODIRATIME, 0, 0},
	{"nodiratime", false, MS_NODIRATIME, 0, 0},
	{"relatime", false, MS_RELATIME, 0, 0},
	{"norelatime", true, MS_RELATIME, 0, 0},
	{"strictatime", false, MS_STRICTATIME, 0, 0},
	{"nostrictatime", true, MS_STRICTATIME, 0, 0},
	{"lazytime", false, MS_LAZYTIME, 0, 0},
	{"nolazytime", true, MS_LAZYTIME, 0, 0},
	{"silent", false, MS_SILENT, 0, 0},
	{"loud", true, MS_SILENT, 0, 0},
	{"iversion", false, MS_I_VERSION, 0, 0},
	{"noiversion", true, MS_I_VERSION, 0, 0},
	{"bind", false, MS_BIND, 0, 0},
	{"rbind", false, MS_BIND | MS_REC, 0, 0},
	{"private", false, 0, 0, MS_PRIVATE},
	{"rprivate", false, 0, 0, MS_PRIVATE | MS_REC},
	{"shared", false, 0, 0, MS_SHARED},
	{"rshared", false, 0, 0, MS_SHARED | MS_REC},
	{"slave", false, 0, 0, MS_SLAVE},
	{"rslave", false, 0, 0, MS_SLAVE | MS_REC},
	{"unbindable", false, 0, 0, MS_UNBINDABLE},
	{"runbindable", false, 0, 0, MS_UNBINDABLE | MS_REC},
	{"rro", false, 0, MOUNT_ATTR_RDONLY, 0},
	{"rrw", true, 0, MOUNT_ATTR_RDONLY, 0},
	{"rnosuid", false, 0, MOUNT_ATTR_NOSUID, 0},
	{"rsuid", true, 0, MOUNT_ATTR_NOSUID, 0},
	{"rnodev", false, 0, MOUNT_ATTR_NODEV, 0},
	{"rdev", true, 0, MOUNT_ATTR_NODEV, 0},
	{"rnoexec", false, 0, MOUNT_ATTR_NOEXEC, 0},
	{"rexec", true, 0, MOUNT_ATTR_NOEXEC, 0},
	{"rnodiratime", false, 0, MOUNT_ATTR_NODIRATIME, 0},
	{"rdiratime", true, 0, MOUNT_ATTR_NODIRATIME, 0},
	{"rnoatime", false, 0, MOUNT_ATTR_NOATIME, 0},
	{"rrelatime", false, 0, MOUNT_ATTR_RELATIME, 0},
	{"rstrictatime", false, 0, MOUNT_ATTR_STRICTATIME, 0},
	{"rnosymfollow", false, 0, MOUNT_ATTR_NOSYMFOLLOW, 0},
	{"rsymfollow", true, 0, MOUNT_ATTR_NOSYMFOLLOW, 0},
};

int husk_mount_parse_options(struct husk_mount *m, json_t *options, husk_error **err)
{
	size_t i;
	json_t *o;
	size_t dlen = 0;
	char *data = NULL;
	json_array_foreach (options, i, o) {
		const char *s = json_string_value(o);
		if (!s) {
			free(data);
			return husk_fail(err, 0, "mounts[\"%s\"].options[%zu]: must be a string",
					 m->destination, i);
		}
		const struct mount_opt *hit = NULL;
		for (size_t k = 0; k < ARRAY_SIZE(mount_opts); k++)
			if (strcmp(mount_opts[k].name, s) == 0)
				hit = &mount_opts[k];
		if (strcmp(s, "tmpcopyup") == 0) {
			m->tmpcopyup = true;
			continue;
		}
		if (strcmp(s, "idmap") == 0 || strcmp(s, "ridmap") == 0) {
			m->idmap = true;
			m->idmap_recursive = s[0] == 'r';
			continue;
		}
		if (!hit) {
			/* anything else goes to the filesystem as data: size=, mode= ... */
			size_t sl = strlen(s);
			char *nd = realloc(data, dlen + sl + 2);
			if (!nd) {
				free(data);
				return husk_fail(err, ENOMEM, "mount options");
			}
			data = nd;
			if (dlen)
				data[dlen++] = ',';
			memcpy(data + dlen, s, sl + 1);
			dlen += sl;
			continue;
		}
		if (hit->prop)
			m->propagation = hit->prop;
		if (hit->attr) {
			if (hit->clear) {
				m->attr_clr |= hit->attr;
				m->attr_set &= ~hit->attr;
			} else {
				m->attr_set |= hit->attr;
				m->attr_clr &= ~hit->attr;
			}
		}
		if (hit->flag) {
			if (hit->clear)
				m->flags &= ~hit->flag;
			else
				m->flags |= hit->flag;
		}
		if (hit->flag & MS_BIND) {
			m->bind = true;
			m->recursive = (hit->flag & MS_REC) != 0;
		}
	}
	m->data = data;
	return 0;
}

static int parse_idmaps(json_t *arr, const char *key, struct husk_idmap **ret, size_t *ret_n,
			husk_error **err);

static int parse_mounts(struct husk_spec *s, json_t *arr, husk_error **err)
{
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return husk_fail(err, 0, "mounts: must be an array");
	s->n_mounts = json_array_size(arr);
	s->mounts = calloc(s->n_mounts + 1, sizeof(*s->mounts));
	for (size_t i = 0; i < s->n_mounts; i++) {
		json_t *mj = json_array_get(arr, i);
		struct husk_mount *m = &s->mounts[i];
		if (!json_is_object(mj))
			return husk_fail(err, 0, "mounts[%zu]: must be an object", i);
		char where[96];
		snprintf(where, sizeof(where), "mounts[%zu]", i);
		if (get_string(mj, "destination", where, true, &m->destination, err) < 0 ||
		    get_string(mj, "type", where, false, &m->type, err) < 0 ||
		    get_string(mj, "source", where, false, &m->source, err) < 0)
			return -1;
		if (m->destination[0] != '/')
			return husk_fail(err, 0, "mounts[%zu].destination: \"%s\" is not absolute",
					 i, m->destination);
		json_t *opts = json_object_get(mj, "options");
		if (opts && !json_is_array(opts))
			return husk_fail(err, 0, "mounts[%zu].options: must be an array", i);
		if (husk_mount_parse_options(m, opts, err) < 0)
			return -1;
		m->tree_fd = -1;
		char key[64];
		snprintf(key, sizeof(key), "mounts[%zu].uidMappings", i);
		if (parse_idmaps(json_object_get(mj, "uidMappings"), key, &m->uid_maps,
				 &m->n_uid_maps, err) < 0)
			return -1;
		snprintf(key, sizeof(key), "mounts[%zu].gidMappings", i);
		if (parse_idmaps(json_object_get(mj, "gidMappings"), key, &m->gid_maps,
				 &m->n_gid_maps, err) < 0)
			return -1;
		if (m->type && strcmp(m->type, "bind") == 0)
			m->bind = true;
		if (!m->bind && !m->type)
			return husk_fail(err, 0,
					 "mounts[%zu] (\"%s\"): no type and not a bind mount", i,
					 m->destination);
		if (m->bind && !m->source)
			return husk_fail(err, 0,
					 "mounts[%zu] (\"%s\"): a bind mount needs a source", i,
					 m->destination);
	}
	return 0;
}

/* ---- linux ---- */

static int parse_idmaps(json_t *arr, const char *key, struct husk_idmap **ret, size_t *ret_n,
			husk_error **err)
{
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return husk_fail(err, 0, "%s: must be an array", key);
	*ret_n = json_array_size(arr);
	*ret = calloc(*ret_n + 1, sizeof(**ret));
	for (size_t i = 0; i < *ret_n; i++) {
		json_t *m = json_array_get(arr, i);
		char where[96];
		snprintf(where, sizeof(where), "%s[%zu]", key, i);
		if (get_u32(m, "containerID", where, NULL, &(*ret)[i].container_id, err) < 0 ||
		    get_u32(m, "hostID", where, NULL, &(*ret)[i].host_id, err) < 0 ||
		    get_u32(m, "size", where, NULL, &(*ret)[i].size, err) < 0)
			return -1;
		if ((*ret)[i].size == 0)
			return husk_fail(err, 0, "%s.size: must be at least 1", where);
	}
	return 0;
}

static int parse_propagation(const char *s, unsigned long *ret)
{
	static const struct {
		const char *n;
		unsigned long f;
	} t[] = {{"private", MS_PRIVATE},	{"rprivate", MS_PRIVATE | MS_REC},
		 {"shared", MS_SHARED},		{"rshared", MS_SHARED | MS_REC},
		 {"slave", MS_SLAVE},		{"rslave", MS_SLAVE | MS_REC},
		 {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC}};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (strcmp(t[i].n, s) == 0) {
			*ret = t[i].f;
			return 0;
		}
	return -1;
}

static int parse_devices(struct husk_spec *s, json_t *arr, husk_error **err)
{
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return husk_fail(err, 0, "linux.devices: must be an array");
	s->n_devices = json_array_size(arr);
	s->devices = calloc(s->n_devices + 1, sizeof(*s->devices));
	for (size_t i = 0; i < s->n_devices; i++) {
		json_t *d = json_array_get(arr, i);
		struct husk_device *dev = &s->devices[i];
		char where[96];
		snprintf(where, sizeof(where), "linux.devices[%zu]", i);
		cleanup_free char *type = NULL;
		if (get_string(d, "path", where, true, &dev->path, err) < 0 ||
		    get_string(d, "type", where, true, &type, err) < 0)
			return -1;
		if (dev->path[0] != '/')
			return husk_fail(err, 0, "%s.path: \"%s\" is not absolute", where,
					 dev->path);
		/* "/dev/foo/" names /dev/foo, as runc's filepath.Clean reads it */
		for (size_t l = strlen(dev->path); l > 1 && dev->path[l - 1] == '/'; l--)
			dev->path[l - 1] = '\0';
		if (strcmp(dev->path, "/") == 0)
			return husk_fail(err, 0, "%s.path: \"/\" is not a device path", where);
		if (strlen(type) != 1 || !strchr("cbup", type[0]))
			return husk_fail(err, 0, "%s.type: \"%s\" is not one of c, b, u, p", where,
					 type);
		dev->type = type[0];
		json_t *maj = json_object_get(d, "major"), *min = json_object_get(d, "minor");
		if (dev->type != 'p') {
			if (!json_is_integer(maj) || !json_is_integer(min))
				return husk_fail(err, 0,
						 "%s: major and minor are required for \"%s\"",
						 where, dev->path);
			dev->major = json_integer_value(maj);
			dev->minor = json_integer_value(min);
			if (dev->major < 0 || dev->minor < 0 || dev->major > 0xfff ||
			    dev->minor > 0xfffff)
				return husk_fail(err, 0, "%s: major/minor out of range for \"%s\"",
						 where, dev->path);
		}
		if (get_u32(d, "fileMode", where, &dev->has_mode, &dev->file_mode, err) < 0 ||
		    get_u32(d, "uid", where, &dev->has_uid, &dev->uid, err) < 0 ||
		    get_u32(d, "gid", where, &dev->has_gid, &dev->gid, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_linux(struct husk_spec *s, json_t *lx, husk_error **err)
{
	if (!lx || json_is_null(lx))
		return 0;
	if (!json_is_object(lx))
		return husk_fail(err, 0, "linux: must be an object");
	json_t *nss = json_object_get(lx, "namespaces");
	if (nss && !json_is_array(nss))
		return husk_fail(err, 0, "linux.namespaces: must be an array");
	size_t i;
	json_t *n;
	json_array_foreach (nss, i, n) {
		const char *type = json_string_value(json_object_get(n, "type"));
		if (!type)
			return husk_fail(err, 0, "linux.namespaces[%zu].type: missing", i);
		int t = husk_ns_from_name(type);
		if (t < 0)
			return husk_fail(err, 0,
					 "linux.namespaces[%zu].type: unknown namespace \"%s\"", i,
					 type);
		if (s->ns[t].enabled)
			return husk_fail(err, 0, "linux.namespaces: \"%s\" given twice", type);
		s->ns[t].enabled = true;
		if (get_string(n, "path", "linux.namespaces[]", false, &s->ns[t].path, err) < 0)
			return -1;
		if (s->ns[t].path && s->ns[t].path[0] != '/')
			return husk_fail(err, 0,
					 "linux.namespaces[%zu].path: \"%s\" is not absolute", i,
					 s->ns[t].path);
	}
	if (parse_idmaps(json_object_get(lx, "uidMappings"), "linux.uidMappings", &s->uid_maps,
			 &s->n_uid_maps, err) < 0 ||
	    parse_idmaps(json_object_get(lx, "gidMappings"), "linux.gidMappings", &s->gid_maps,
			 &s->n_gid_maps, err) < 0)
		return -1;
	if ((s->n_uid_maps || s->n_gid_maps) && !s->ns[HUSK_NS_USER].enabled)
		return husk_fail(err, 0, "linux.uidMappings: given without a user namespace");
	if (s->ns[HUSK_NS_USER].enabled && !s->ns[HUSK_NS_USER].path &&
	    (!s->n_uid_maps || !s->n_gid_maps))
		return husk_fail(err, 0,
				 "linux.uidMappings and gidMappings: required for a new "
				 "user namespace");
	if (parse_devices(s, json_object_get(lx, "devices"), err) < 0)
		return -1;
	if (get_strv(lx, "maskedPaths", "linux", &s->masked_paths, &s->n_masked_paths, err) < 0 ||
	    get_strv(lx, "readonlyPaths", "linux", &s->readonly_paths, &s->n_readonly_paths, err) <
		    0)
		return -1;
	const char *rp = json_string_value(json_object_get(lx, "rootfsPropagation"));
	if (rp && parse_propagation(rp, &s->rootfs_propagation) < 0)
		return husk_fail(err, 0, "linux.rootfsPropagation: unknown value \"%s\"", rp);
	if (get_string(lx, "cgroupsPath", "linux", false, &s->cgroups_path, err) < 0 ||
	    get_string(lx, "mountLabel", "linux", false, &s->mount_label, err) < 0)
		return -1;
	s->resources = json_object_get(lx, "resources");
	s->seccomp = json_object_get(lx, "seccomp");
	if (s->seccomp && json_is_null(s->seccomp))
		s->seccomp = NULL;
	s->sysctl = json_object_get(lx, "sysctl");
	if (s->sysctl && !json_is_object(s->sysctl) && !json_is_null(s->sysctl))
		return husk_fail(err, 0, "linux.sysctl: must be an object");
	s->time_offsets = json_object_get(lx, "timeOffsets");
	if (s->time_offsets && !s->ns[HUSK_NS_TIME].enabled)
		return husk_fail(err, 0, "linux.timeOffsets: given without a time namespace");
	/* runtime-spec 1.3 */
	if (husk_mempolicy_parse(json_object_get(lx, "memoryPolicy"), &s->mempolicy, err) < 0 ||
	    husk_netdevs_parse(json_object_get(lx, "netDevices"), s, err) < 0 ||
	    husk_intelrdt_parse(json_object_get(lx, "intelRdt"), &s->intelrdt, err) < 0)
		return -1;
	json_t *pers = json_object_get(lx, "personality");
	if (json_is_object(pers)) {
		const char *dom = json_string_value(json_object_get(pers, "domain"));
		if (!dom)
			return husk_fail(err, 0, "linux.personality.domain: missing");
		if (strcmp(dom, "LINUX") == 0)
			s->personality = PER_LINUX;
		else if (strcmp(dom, "LINUX32") == 0)
			s->personality = PER_LINUX32;
		else
			return husk_fail(err, 0, "linux.personality.domain: unknown domain \"%s\"",
					 dom);
		s->has_personality = true;
	}
	return 0;
}

/* ---- hooks ---- */

static int parse_hook_list(json_t *hooks, const char *key, struct husk_hook **ret, size_t *ret_n,
			   husk_error **err)
{
	json_t *arr = json_object_get(hooks, key);
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return husk_fail(err, 0, "hooks.%s: must be an array", key);
	*ret_n = json_array_size(arr);
	*ret = calloc(*ret_n + 1, sizeof(**ret));
	for (size_t i = 0; i < *ret_n; i++) {
		json_t *h = json_array_get(arr, i);
		char where[96];
		snprintf(where, sizeof(where), "hooks.%s[%zu]", key, i);
		if (get_string(h, "path", where, true, &(*ret)[i].path, err) < 0 ||
		    get_strv(h, "args", where, &(*ret)[i].args, NULL, err) < 0 ||
		    get_strv(h, "env", where, &(*ret)[i].env, NULL, err) < 0)
			return -1;
		if ((*ret)[i].path[0] != '/')
			return husk_fail(err, 0, "%s.path: \"%s\" is not absolute", where,
					 (*ret)[i].path);
		json_t *to = json_object_get(h, "timeout");
		if (to && !json_is_null(to)) {
			if (!json_is_integer(to) || json_integer_value(to) <= 0)
				return husk_fail(err, 0, "%s.timeout: must be a positive integer",
						 where);
			(*ret)[i].timeout = (int)json_integer_value(to);
		}
	}
	return 0;
}

static void free_hooks(struct husk_hook *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].path);
		strv_free(h[i].args);
		strv_free(h[i].env);
	}
	free(h);
}

/* ---- the document ---- */

/* jansson's integers are int64: a uint64 field above INT64_MAX (RLIM_INFINITY
 * in rlimits, a scheduler runtime, a memory value) fails as "too big
 * integer".  Rewrite each such number outside strings as the int64 of the
 * same bits, which the uint64 readers cast back.  Only after a failed
 * parse: the common config never pays for it. */
static char *big_uints_as_bits(const char *text)
{
	size_t n = strlen(text);
	/* a 19-digit number can come back one character longer: its sign */
	char *out = malloc(2 * n + 1);
	size_t o = 0;
	bool in_str = false;
	for (size_t i = 0; i < n;) {
		char ch = text[i];
		if (in_str) {
			out[o++] = ch;
			i++;
			if (ch == '\\' && i < n)
				out[o++] = text[i++];
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == '"') {
			in_str = true;
			out[o++] = text[i++];
			continue;
		}
		bool starts = ch >= '0' && ch <= '9' &&
			      (i == 0 || !strchr("-.0123456789eE+", text[i - 1]));
		if (starts) {
			size_t j = i;
			while (j < n && text[j] >= '0' && text[j] <= '9')
				j++;
			bool integer = j >= n || !strchr(".eE", text[j]);
			if (integer && j - i >= 19 && j - i <= 20) {
				char num[24];
				memcpy(num, text + i, j - i);
				num[j - i] = '\0';
				errno = 0;
				unsigned long long v = strtoull(num, NULL, 10);
				if (errno == 0 && v > (unsigned long long)INT64_MAX) {
					/* the longest int64 is as long as the number */
					o += (size_t)snprintf(out + o, 22, "%lld", (long long)v);
					i = j;
					continue;
				}
			}
			memcpy(out + o, text + i, j - i);
			o += j - i;
			i = j;
			continue;
		}
		out[o++] = text[i++];
	}
	out[o] = '\0';
	return out;
}

int husk_spec_parse(const char *text, const char *bundle, struct husk_spec **ret, husk_error **err)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr);
	if (!root && json_error_code(&jerr) == json_error_numeric_overflow) {
		cleanup_free char *fixed = big_uints_as_bits(text);
		json_error_t jerr2;
		root = json_loads(fixed, 0, &jerr2);
	}
	if (!root)
		return husk_fail(err, 0, "config.json: line %d column %d: %s", jerr.line,
				 jerr.column, jerr.text);
	struct husk_spec *s = calloc(1, sizeof(*s));
	s->json = root;
	int r = -1;
	cleanup_free char *rpath = NULL;
	if (!json_is_object(root)) {
		husk_fail(err, 0, "config.json: must be a JSON object");
		goto out;
	}
	if (get_string(root, "ociVersion", "config", true, &s->oci_version, err) < 0)
		goto out;
	if (strncmp(s->oci_version, "1.", 2) != 0) {
		husk_fail(err, 0, "ociVersion \"%s\": not supported (1.x is)", s->oci_version);
		goto out;
	}
	json_t *rootobj = json_object_get(root, "root");
	if (!json_is_object(rootobj)) {
		husk_fail(err, 0, "root: missing (the rootfs path)");
		goto out;
	}
	if (get_string(rootobj, "path", "root", true, &rpath, err) < 0)
		goto out;
	if (rpath[0] == '/' || !bundle)
		s->root_path = strdup(rpath);
	else
		s->root_path = husk_strdup_printf("%s/%s", bundle, rpath);
	s->root_readonly = json_is_true(json_object_get(rootobj, "readonly"));
	if (get_string(root, "hostname", "config", false, &s->hostname, err) < 0 ||
	    get_string(root, "domainname", "config", false, &s->domainname, err) < 0)
		goto out;
	json_t *proc = json_object_get(root, "process");
	if (proc && !json_is_null(proc)) {
		if (husk_process_parse(proc, &s->process, err) < 0)
			goto out;
		s->has_process = true;
	}
	if (parse_mounts(s, json_object_get(root, "mounts"), err) < 0)
		goto out;
	if (parse_linux(s, json_object_get(root, "linux"), err) < 0)
		goto out;
	if (s->hostname && !s->ns[HUSK_NS_UTS].enabled) {
		husk_fail(err, 0, "hostname: needs a new uts namespace");
		goto out;
	}
	json_t *hooks = json_object_get(root, "hooks");
	if (hooks && !json_is_null(hooks)) {
		struct husk_hooks *h = &s->hooks;
		if (!json_is_object(hooks)) {
			husk_fail(err, 0, "hooks: must be an object");
			goto out;
		}
		if (parse_hook_list(hooks, "prestart", &h->prestart, &h->n_prestart, err) < 0 ||
		    parse_hook_list(hooks, "createRuntime", &h->create_runtime,
				    &h->n_create_runtime, err) < 0 ||
		    parse_hook_list(hooks, "createContainer", &h->create_container,
				    &h->n_create_container, err) < 0 ||
		    parse_hook_list(hooks, "startContainer", &h->start_container,
				    &h->n_start_container, err) < 0 ||
		    parse_hook_list(hooks, "poststart", &h->poststart, &h->n_poststart, err) < 0 ||
		    parse_hook_list(hooks, "poststop", &h->poststop, &h->n_poststop, err) < 0)
			goto out;
	}
	s->annotations = json_object_get(root, "annotations");
	r = 0;
out:
	if (r < 0) {
		husk_spec_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

int husk_spec_load(const char *bundle, const char *config_path, struct husk_spec **ret,
		   husk_error **err)
{
	cleanup_free char *path =
		config_path ? strdup(config_path) : husk_strdup_printf("%s/config.json", bundle);
	cleanup_free char *text = NULL;
	if (husk_read_file(path, &text, NULL, err) < 0)
		return config_path ? husk_error_wrap(err, "--config") : -1;
	cleanup_free char *cache = husk_seccomp_cache_dir();
	struct husk_seccomp *cached = NULL;
	char *raw = NULL;
	if (husk_seccomp_take_cached(text, cache, &cached, &raw) < 0)
		return husk_fail(err, ENOMEM, "linux.seccomp");
	if (husk_spec_parse(text, bundle, ret, err) < 0) {
		husk_seccomp_free(cached);
		free(raw);
		return husk_error_wrap(err, "bundle \"%s\"", bundle);
	}
	(*ret)->seccomp_cached = cached;
	(*ret)->seccomp_raw = raw;
	/* the span blanked must have been the value the parser reads as
	 * linux.seccomp: it now reads null there, or the two disagreed */
	json_t *lx = json_object_get((*ret)->json, "linux");
	json_t *sc = json_object_get(lx, "seccomp");
	if (cached && (!json_is_object(lx) || !json_is_null(sc))) {
		husk_fail(err, EINVAL, "linux.seccomp: not where a scan of config.json found it");
		husk_spec_free(*ret);
		*ret = NULL;
		return -1;
	}
	struct stat st;
	int e = 0;
	if (stat((*ret)->root_path, &st) < 0)
		e = errno;
	else if (!S_ISDIR(st.st_mode))
		e = ENOTDIR;
	if (e) {
		husk_fail(err, e, "root.path \"%s\"", (*ret)->root_path);
		husk_spec_free(*ret);
		*ret = NULL;
		return -1;
	}
	return 0;
}

int husk_idmaps_write(const char *procdir, const char *field_prefix, const struct husk_idmap *uids,
		      size_t n_uids, const struct husk_idmap *gids, size_t n_gids, husk_error **err)
{
	const struct {
		const char *file, *field;
		const struct husk_idmap *m;
		size_t n;
	} maps[] = {{"uid_map", "uidMappings", uids, n_uids},
		    {"gid_map", "gidMappings", gids, n_gids}};
	for (size_t k = 0; k < 2; k++) {
		char buf[4096];
		size_t len = 0;
		for (size_t i = 0; i < maps[k].n && len < sizeof(buf) - 40; i++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n",
						maps[k].m[i].container_id, maps[k].m[i].host_id,
						maps[k].m[i].size);
		/* procdir is /proc/self or /proc/PID */
		const char *rel = strncmp(procdir, "/proc/", 6) == 0 ? procdir + 6 : procdir;
		cleanup_free char *path = husk_strdup_printf("%s/%s", rel, maps[k].file);
		if (husk_proc_write(path, buf, len, err) < 0)
			return husk_error_wrap(err, "%s%s", field_prefix, maps[k].field);
	}
	return 0;
}

void husk_spec_free(struct husk_spec *s)
{
	if (!s)
		return;
	free(s->oci_version);
	free(s->seccomp_text);
	free(s->seccomp_raw);
	husk_seccomp_free(s->seccomp_cached);
	free(s->root_path);
	free(s->hostname);
	free(s->domainname);
	husk_process_release(&s->process);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		free(s->mounts[i].data);
		free(s->mounts[i].uid_maps);
		free(s->mounts[i].gid_maps);
		if (s->mounts[i].tree_fd >= 0)
			close(s->mounts[i].tree_fd);
	}
	free(s->mounts);
	for (int i = 0; i < HUSK_NS_COUNT; i++)
		free(s->ns[i].path);
	free(s->uid_maps);
	free(s->gid_maps);
	for (size_t i = 0; i < s->n_devices; i++) {
		free(s->devices[i].path);
		free(s->devices[i].host_node);
	}
	free(s->devices);
	strv_free(s->masked_paths);
	strv_free(s->readonly_paths);
	free(s->cgroups_path);
	free(s->mount_label);
	for (size_t i = 0; i < s->n_netdevs; i++) {
		free(s->netdevs[i].host_name);
		free(s->netdevs[i].name);
	}
	free(s->netdevs);
	husk_intelrdt_release(&s->intelrdt);
	struct husk_hooks *h = &s->hooks;
	free_hooks(h->prestart, h->n_prestart);
	free_hooks(h->create_runtime, h->n_create_runtime);
	free_hooks(h->create_container, h->n_create_container);
	free_hooks(h->start_container, h->n_start_container);
	free_hooks(h->poststart, h->n_poststart);
	free_hooks(h->poststop, h->n_poststop);
	json_decref(s->json);
	free(s);
}

/* config.json of an engine container, made from the image's config and
 * the run options: see config.h. */
#define _GNU_SOURCE
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include "husk.h"
#include "spec.h"
#include "util.h"

/* Docker's default capabilities: what most images expect of root */
static const char *const engine_caps[] = {
	"CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",	   "CAP_FOWNER",
	"CAP_MKNOD",   "CAP_NET_RAW",	   "CAP_SETGID",	   "CAP_SETUID",
	"CAP_SETFCAP", "CAP_SETPCAP",	   "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
	"CAP_KILL",    "CAP_AUDIT_WRITE",
};

static void add_bind(json_t *mounts, const char *src, const char *dst, bool ro)
{
	json_t *opts = json_pack("[s,s]", "rbind", ro ? "ro" : "rw");
	json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type",
						"bind", "source", src, "options", opts));
}

/* the options of a mount (a comma-separated list) after the defaults */
static void add_opts(json_t *opts, const char *list)
{
	if (!list || !*list)
		return;
	cleanup_free char *copy = strdup(list);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(opts, json_string(t));
}

/* One -v, --mount, --tmpfs or the image's VOLUME, as Docker makes it:
 * binds and volumes rbind, rprivate unless asked; tmpfs nosuid, nodev,
 * noexec unless the options say otherwise */
static void add_mount(json_t *mounts, const struct husk_volume *v)
{
	json_t *opts = json_array();
	const char *type = "bind", *src = v->src;
	switch (v->type) {
	case HUSK_MOUNT_BIND:
	case HUSK_MOUNT_VOLUME:
		json_array_append_new(opts, json_string("rbind"));
		json_array_append_new(opts, json_string(v->ro ? "ro" : "rw"));
		json_array_append_new(opts,
				      json_string(v->propagation ? v->propagation : "rprivate"));
		break;
	case HUSK_MOUNT_TMPFS:
		type = "tmpfs";
		src = "tmpfs";
		json_array_append_new(opts, json_string("nosuid"));
		json_array_append_new(opts, json_string("nodev"));
		json_array_append_new(opts, json_string("noexec"));
		if (v->ro)
			json_array_append_new(opts, json_string("ro"));
		add_opts(opts, v->opts);
		break;
	case HUSK_MOUNT_FS:
	default:
		type = v->fstype ? v->fstype : "none";
		if (v->ro)
			json_array_append_new(opts, json_string("ro"));
		add_opts(opts, v->opts);
		break;
	}
	json_array_append_new(mounts,
			      json_pack("{s:s,s:s,s:s,s:o}", "destination", v->dst, "type", type,
					"source", src ? src : "none", "options", opts));
}

static size_t depth_of(const char *path)
{
	size_t n = 0;
	for (const char *p = path; *p; p++)
		n += *p == '/';
	return n;
}

/* parents before what is mounted inside them, as Docker orders them:
 * by the number of components, stable otherwise */
static void add_mounts(json_t *mounts, const struct husk_volume *v, size_t n)
{
	size_t max = 0;
	for (size_t i = 0; i < n; i++)
		max = depth_of(v[i].dst) > max ? depth_of(v[i].dst) : max;
	for (size_t d = 0; d <= max; d++)
		for (size_t i = 0; i < n; i++)
			if (depth_of(v[i].dst) == d)
				add_mount(mounts, &v[i]);
}

static bool env_has(json_t *env, const char *name)
{
	size_t i, n = strlen(name);
	json_t *v;
	json_array_foreach (env, i, v) {
		const char *s = json_string_value(v);
		if (s && strncmp(s, name, n) == 0 && s[n] == '=')
			return true;
	}
	return false;
}

/* NAME=VALUE replaces an earlier NAME, as Docker's -e over the image's */
static void env_set(json_t *env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t n = eq ? (size_t)(eq - kv) : strlen(kv);
	size_t i;
	json_t *v;
	json_array_foreach (env, i, v) {
		const char *s = json_string_value(v);
		if (s && strncmp(s, kv, n) == 0 && s[n] == '=') {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

static json_t *make_args(const struct husk_config_in *in, json_t *ic, husk_error **err)
{
	json_t *args = json_array();
	size_t i;
	json_t *v;
	/* --entrypoint replaces the image's and, as Docker does, drops its Cmd
	 * too; "" leaves no entrypoint */
	const char *ep = in->o->entrypoint;
	if (ep && *ep)
		json_array_append_new(args, json_string(ep));
	else if (!ep)
		json_array_foreach (json_object_get(ic, "Entrypoint"), i, v)
			json_array_append(args, v);
	if (in->o->cmd && in->o->cmd[0]) {
		for (char **a = in->o->cmd; *a; a++)
			json_array_append_new(args, json_string(*a));
	} else if (!ep) {
		json_array_foreach (json_object_get(ic, "Cmd"), i, v)
			json_array_append(args, v);
	}
	if (json_array_size(args) == 0) {
		json_decref(args);
		husk_fail_as(err, EINVAL, "image \"%s\" has no command: give one", in->image_name);
		return NULL;
	}
	return args;
}

static json_t *make_env(const struct husk_config_in *in, json_t *ic)
{
	json_t *env = json_array();
	size_t i;
	json_t *v;
	for (char **l = in->link_env; l && *l; l++)
		env_set(env, *l);
	json_array_foreach (json_object_get(ic, "Env"), i, v)
		if (json_is_string(v))
			env_set(env, json_string_value(v));
	if (!env_has(env, "PATH"))
		env_set(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	if (in->o->tty && !env_has(env, "TERM"))
		env_set(env, "TERM=xterm");
	for (char **e = in->o->env; e && *e; e++)
		env_set(env, *e);
	cleanup_free char *host = husk_strdup_printf("HOSTNAME=%s", in->hostname);
	if (!env_has(env, "HOSTNAME"))
		env_set(env, host);
	if (!env_has(env, "HOME")) {
		cleanup_free char *home = husk_strdup_printf(
			"HOME=%s", in->user && in->user->home ? in->user->home : "/");
		env_set(env, home);
	}
	return env;
}

static json_t *make_user(const struct husk_user *u)
{
	json_t *user = json_pack("{s:I,s:I}", "uid", (json_int_t)(u ? u->uid : 0), "gid",
				 (json_int_t)(u ? u->gid : 0));
	if (u && u->n_gids) {
		json_t *g = json_array();
		for (size_t i = 0; i < u->n_gids; i++)
			json_array_append_new(g, json_integer(u->gids[i]));
		json_object_set_new(user, "additionalGids", g);
	}
	return user;
}

static void set_resources(json_t *lx, const struct husk_run_opts *o)
{
	json_t *res = json_object_get(lx, "resources");
	if (o->memory > 0)
		json_object_set_new(res, "memory",
				    json_pack("{s:I,s:I}", "limit", (json_int_t)o->memory, "swap",
					      (json_int_t)o->memory));
	if (o->pids_limit > 0)
		json_object_set_new(res, "pids",
				    json_pack("{s:I}", "limit", (json_int_t)o->pids_limit));
	if (o->cpus > 0)
		json_object_set_new(res, "cpu",
				    json_pack("{s:I,s:I}", "quota", (json_int_t)(o->cpus * 100000),
					      "period", (json_int_t)100000));
}

static void set_netns(json_t *lx, const struct husk_config_in *in)
{
	size_t i;
	json_t *v;
	if (in->netns_path) {
		/* join the netns husk_net_setup made and configured */
		json_array_foreach (json_object_get(lx, "namespaces"), i, v) {
			const char *t = json_string_value(json_object_get(v, "type"));
			if (t && strcmp(t, "network") == 0)
				json_object_set_new(v, "path", json_string(in->netns_path));
		}
	} else if (in->o->network == HUSK_NETMODE_HOST) {
		json_t *keep = json_array();
		json_array_foreach (json_object_get(lx, "namespaces"), i, v) {
			const char *t = json_string_value(json_object_get(v, "type"));
			if (t && strcmp(t, "network") != 0)
				json_array_append(keep, v);
		}
		json_object_set_new(lx, "namespaces", keep);
	}
}

/* ---- Docker's words for run's options (parsed by the CLI, checked here
 * so that the engine refuses them too) ---- */

/* "chown", "cap_chown", "CAP_CHOWN" -> "CAP_CHOWN"; "all" -> "ALL";
 * -1 when the kernel's list has no such name */
static int cap_norm(const char *name, char *out, size_t n)
{
	const char *bare = strncasecmp(name, "CAP_", 4) == 0 ? name + 4 : name;
	if (strcasecmp(bare, "ALL") == 0 && bare == name) {
		snprintf(out, n, "ALL");
		return 0;
	}
	if (!*bare || strlen(bare) + 5 > n)
		return -1;
	int k = snprintf(out, n, "CAP_%s", bare);
	for (int i = 4; i < k; i++)
		out[i] = (char)toupper((unsigned char)out[i]);
	return husk_cap_from_name(out) < 0 ? -1 : 0;
}

int husk_cap_check(const char *name, husk_error **err)
{
	char c[64];
	if (cap_norm(name, c, sizeof(c)) < 0)
		return husk_fail_as(err, EINVAL, "unknown capability \"%s\"", name);
	return 0;
}

static const struct {
	const char *name;
	int res;
} ulimit_names[] = {
	{"as", RLIMIT_AS},
	{"core", RLIMIT_CORE},
	{"cpu", RLIMIT_CPU},
	{"data", RLIMIT_DATA},
	{"fsize", RLIMIT_FSIZE},
	{"locks", RLIMIT_LOCKS},
	{"memlock", RLIMIT_MEMLOCK},
	{"msgqueue", RLIMIT_MSGQUEUE},
	{"nice", RLIMIT_NICE},
	{"nofile", RLIMIT_NOFILE},
	{"nproc", RLIMIT_NPROC},
	{"rss", RLIMIT_RSS},
	{"rtprio", RLIMIT_RTPRIO},
	{"rttime", RLIMIT_RTTIME},
	{"sigpending", RLIMIT_SIGPENDING},
	{"stack", RLIMIT_STACK},
};

static const char *const rlimit_oci[] = {
	[RLIMIT_AS] = "RLIMIT_AS",
	[RLIMIT_CORE] = "RLIMIT_CORE",
	[RLIMIT_CPU] = "RLIMIT_CPU",
	[RLIMIT_DATA] = "RLIMIT_DATA",
	[RLIMIT_FSIZE] = "RLIMIT_FSIZE",
	[RLIMIT_LOCKS] = "RLIMIT_LOCKS",
	[RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",
	[RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE",
	[RLIMIT_NICE] = "RLIMIT_NICE",
	[RLIMIT_NOFILE] = "RLIMIT_NOFILE",
	[RLIMIT_NPROC] = "RLIMIT_NPROC",
	[RLIMIT_RSS] = "RLIMIT_RSS",
	[RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",
	[RLIMIT_RTTIME] = "RLIMIT_RTTIME",
	[RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
	[RLIMIT_STACK] = "RLIMIT_STACK",
};

static int parse_limit(const char *s, long long *ret)
{
	long v;
	if (husk_parse_long(s, &v) < 0 || v < -1)
		return -1;
	*ret = v;
	return 0;
}

int husk_ulimit_parse(const char *s, struct husk_ulimit *ret, husk_error **err)
{
	const char *eq = strchr(s, '=');
	*ret = (struct husk_ulimit){0};
	for (size_t i = 0; eq && i < ARRAY_SIZE(ulimit_names); i++)
		if (strlen(ulimit_names[i].name) == (size_t)(eq - s) &&
		    strncmp(s, ulimit_names[i].name, (size_t)(eq - s)) == 0) {
			ret->name = ulimit_names[i].name;
			ret->resource = ulimit_names[i].res;
		}
	if (!ret->name)
		return husk_fail_as(
			err, EINVAL,
			"--ulimit \"%s\": expected NAME=SOFT[:HARD] with a NAME such as "
			"nofile, nproc, core, memlock or stack",
			s);
	char val[64];
	snprintf(val, sizeof(val), "%s", eq + 1);
	char *colon = strchr(val, ':');
	if (colon)
		*colon++ = '\0';
	if (parse_limit(val, &ret->soft) < 0 || (colon && parse_limit(colon, &ret->hard) < 0))
		return husk_fail_as(err, EINVAL,
				    "--ulimit \"%s\": limits are numbers (-1: unlimited)", s);
	if (!colon)
		ret->hard = ret->soft;
	/* -1 is unlimited: the largest */
	if ((unsigned long long)ret->soft > (unsigned long long)ret->hard)
		return husk_fail_as(
			err, EINVAL,
			"--ulimit \"%s\": the soft limit must not be above the hard one", s);
	return 0;
}

/* Docker's list of the sysctls a container may set (they are namespaced):
 * the IPC ones, the mqueue ones, net.* in its own network namespace */
static const char *const ipc_sysctls[] = {
	"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",	    "kernel.sem",
	"kernel.shmall", "kernel.shmmax", "kernel.shm_rmid_forced", "kernel.shmmni",
};

static bool is_ipc_sysctl(const char *k, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(ipc_sysctls); i++)
		if (strlen(ipc_sysctls[i]) == n && strncmp(k, ipc_sysctls[i], n) == 0)
			return true;
	return strncmp(k, "fs.mqueue.", 10) == 0;
}

int husk_sysctl_check(const char *kv, husk_error **err)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return husk_fail_as(err, EINVAL, "--sysctl \"%s\": expected KEY=VALUE", kv);
	size_t n = (size_t)(eq - kv);
	if (is_ipc_sysctl(kv, n) || strncmp(kv, "net.", 4) == 0 ||
	    (n == 17 && strncmp(kv, "kernel.domainname", n) == 0))
		return 0;
	return husk_fail_as(err, EINVAL, "--sysctl \"%s\": not a namespaced sysctl (%.*s)", kv,
			    (int)n, kv);
}

int husk_device_map_parse(const char *s, struct husk_device_map *ret, husk_error **err)
{
	*ret = (struct husk_device_map){0};
	char *v = strdup(s);
	if (!v)
		abort();
	char *parts[3] = {v, NULL, NULL};
	char *c = strchr(v, ':');
	if (c) {
		*c++ = '\0';
		parts[1] = c;
		if ((c = strchr(c, ':'))) {
			*c++ = '\0';
			parts[2] = c;
		}
	}
	/* HOST:PERMS as Docker also takes it */
	if (parts[1] && !parts[2] && parts[1][0] != '/') {
		parts[2] = parts[1];
		parts[1] = NULL;
	}
	const char *perms = parts[2] ? parts[2] : "rwm";
	if (parts[0][0] != '/' || (parts[1] && parts[1][0] != '/') || !*perms ||
	    strlen(perms) > 3 || strspn(perms, "rwm") != strlen(perms)) {
		free(v);
		return husk_fail_as(err, EINVAL,
				    "--device \"%s\": expected /dev/HOST[:/dev/CTR[:rwm]]", s);
	}
	ret->host = v;
	ret->ctr = parts[1] ? strdup(parts[1]) : NULL;
	snprintf(ret->perms, sizeof(ret->perms), "%s", perms);
	return 0;
}

int husk_throttle_parse(enum husk_throttle_kind kind, const char *s, struct husk_throttle *ret,
			husk_error **err)
{
	static const char *const flag[] = {"--device-read-bps", "--device-write-bps",
					   "--device-read-iops", "--device-write-iops"};
	bool bps = kind == HUSK_THROTTLE_READ_BPS || kind == HUSK_THROTTLE_WRITE_BPS;
	const char *c = strrchr(s, ':');
	*ret = (struct husk_throttle){.kind = kind};
	long long size = -1;
	uint64_t n = 0;
	if (!c || s[0] != '/' ||
	    (bps ? husk_parse_size(c + 1, &size) < 0 || size <= 0
		 : husk_parse_u64(c + 1, &n) < 0 || n == 0))
		return husk_fail_as(err, EINVAL, "%s \"%s\": expected /dev/DEVICE:%s", flag[kind],
				    s, bps ? "RATE (such as 1mb)" : "IOPS (a number)");
	ret->path = strndup(s, (size_t)(c - s));
	if (!ret->path)
		abort();
	ret->rate = bps ? (unsigned long long)size : n;
	return 0;
}

/* ---- the config's parts for those options ---- */

/* Every capability the kernel names, as held (0: all) */
static void all_caps(json_t *caps, uint64_t held)
{
	for (int i = 0; i <= CAP_LAST_CAP && i < 64; i++) {
		if (held && !(held & (1ull << i)))
			continue;
		char *name = cap_to_name((cap_value_t)i);
		if (!name)
			continue;
		char up[64];
		snprintf(up, sizeof(up), "%s", name);
		cap_free(name);
		for (char *c = up; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		if (strncmp(up, "CAP_", 4) == 0)
			json_array_append_new(caps, json_string(up));
	}
}

static bool in_caps(char **list, const char *cap)
{
	char c[64];
	for (char **l = list; l && *l; l++)
		if (cap_norm(*l, c, sizeof(c)) == 0 && strcmp(c, cap) == 0)
			return true;
	return false;
}

static void caps_add_unique(json_t *caps, const char *cap)
{
	size_t i;
	json_t *v;
	json_array_foreach (caps, i, v)
		if (strcmp(json_string_value(v), cap) == 0)
			return;
	json_array_append_new(caps, json_string(cap));
}

/* Docker's TweakCapabilities: add ALL (less the drops), drop ALL (only
 * the adds), else the defaults less the drops plus the adds */
static json_t *make_caps(const struct husk_config_in *in, husk_error **err)
{
	const struct husk_run_opts *o = in->o;
	json_t *caps = json_array();
	for (char **l = o->cap_add; l && *l; l++)
		if (husk_cap_check(*l, err) < 0)
			goto bad;
	for (char **l = o->cap_drop; l && *l; l++)
		if (husk_cap_check(*l, err) < 0)
			goto bad;
	if (o->privileged || in_caps(o->cap_add, "ALL")) {
		json_t *all = json_array();
		all_caps(all, in->held_caps);
		size_t i;
		json_t *v;
		json_array_foreach (all, i, v)
			if (o->privileged || !in_caps(o->cap_drop, json_string_value(v)))
				json_array_append(caps, v);
		json_decref(all);
		return caps;
	}
	if (!in_caps(o->cap_drop, "ALL"))
		for (size_t k = 0; k < ARRAY_SIZE(engine_caps); k++)
			if (!in_caps(o->cap_drop, engine_caps[k]))
				json_array_append_new(caps, json_string(engine_caps[k]));
	for (char **l = o->cap_add; l && *l; l++) {
		char c[64];
		cap_norm(*l, c, sizeof(c));
		caps_add_unique(caps, c);
	}
	return caps;
bad:
	json_decref(caps);
	return NULL;
}

static void drop_path(json_t *list, const char *path)
{
	for (size_t i = 0; i < json_array_size(list);) {
		if (strcmp(json_string_value(json_array_get(list, i)), path) == 0)
			json_array_remove(list, i);
		else
			i++;
	}
}

/* Docker's seccomp profile (archMap, includes/excludes by capability and
 * architecture, "name") into the OCI one; an OCI profile passes through */
#if defined(__x86_64__)
#define NATIVE_ARCH "SCMP_ARCH_X86_64"
#elif defined(__aarch64__)
#define NATIVE_ARCH "SCMP_ARCH_AARCH64"
#else
#define NATIVE_ARCH ""
#endif

static bool str_in(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach (arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

/* includes: every cap and arch listed must hold; excludes: none may */
static bool rule_applies(json_t *call, json_t *caps)
{
	json_t *inc = json_object_get(call, "includes"), *exc = json_object_get(call, "excludes");
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(inc, "caps"), i, v)
		if (!str_in(caps, json_string_value(v) ?: ""))
			return false;
	json_t *arches = json_object_get(inc, "arches");
	if (json_array_size(arches) && !str_in(arches, "amd64") && !str_in(arches, "x86_64") &&
	    !str_in(arches, NATIVE_ARCH))
		return false;
	json_array_foreach (json_object_get(exc, "caps"), i, v)
		if (str_in(caps, json_string_value(v) ?: ""))
			return false;
	arches = json_object_get(exc, "arches");
	if (str_in(arches, "amd64") || str_in(arches, "x86_64"))
		return false;
	return true;
}

/* The default profile Debian ships is Podman's, which allows outright
 * some calls that Docker's default allows only with CAP_SYS_ADMIN, or not
 * at all: the kernel keyring, new namespaces (unshare, setns, clone with
 * namespace flags, clone3 whose flags seccomp cannot see), and the mount
 * API.  husk's default is Docker's: those leave the unconditional allow
 * lists; the SYS_ADMIN ones come back for a container that holds that
 * capability; a denied call fails with EPERM, as Docker's. */
static const char *const docker_never[] = {"keyctl", "add_key", "request_key"};
static const char *const docker_sys_admin[] = {"unshare",	  "setns",
					       "mount",		  "umount",
					       "umount2",	  "pivot_root",
					       "fsopen",	  "fsconfig",
					       "fsmount",	  "fspick",
					       "open_tree",	  "move_mount",
					       "mount_setattr",	  "syslog",
					       "quotactl",	  "quotactl_fd",
					       "lookup_dcookie",  "name_to_handle_at",
					       "fanotify_init",	  "bpf",
					       "perf_event_open", "sethostname",
					       "setdomainname",	  "clone3"};
/* clone's flags that make namespaces: CLONE_NEWNS | NEWCGROUP | NEWUTS |
 * NEWIPC | NEWUSER | NEWPID | NEWNET */
#define CLONE_NS_FLAGS 0x7E020000ull

static void drop_names(json_t *rule, const char *const *names, size_t n)
{
	json_t *list = json_object_get(rule, "names");
	for (size_t i = 0; i < json_array_size(list);) {
		const char *name = json_string_value(json_array_get(list, i));
		bool hit = false;
		for (size_t k = 0; name && k < n && !hit; k++)
			hit = strcmp(name, names[k]) == 0;
		if (hit)
			json_array_remove(list, i);
		else
			i++;
	}
}

void husk_seccomp_docker_default(json_t *prof)
{
	json_object_set_new(prof, "defaultErrnoRet", json_integer(EPERM));
	size_t i;
	json_t *r;
	json_array_foreach (json_object_get(prof, "syscalls"), i, r) {
		const char *action = json_string_value(json_object_get(r, "action"));
		bool conditional = json_object_get(json_object_get(r, "includes"), "caps") ||
				   json_array_size(json_object_get(r, "args"));
		if (!action || strcmp(action, "SCMP_ACT_ALLOW") != 0 || conditional)
			continue;
		drop_names(r, docker_never, ARRAY_SIZE(docker_never));
		drop_names(r, docker_sys_admin, ARRAY_SIZE(docker_sys_admin));
		drop_names(r, (const char *const[]){"clone"}, 1);
	}
	json_t *calls = json_object_get(prof, "syscalls");
	json_t *admin = json_array();
	for (size_t k = 0; k < ARRAY_SIZE(docker_sys_admin); k++)
		json_array_append_new(admin, json_string(docker_sys_admin[k]));
	json_array_append_new(calls,
			      json_pack("{s:o,s:s,s:{s:[s]}}", "names", admin, "action",
					"SCMP_ACT_ALLOW", "includes", "caps", "CAP_SYS_ADMIN"));
	json_array_append_new(calls,
			      json_pack("{s:[s],s:s,s:{s:[s]}}", "names", "clone", "action",
					"SCMP_ACT_ALLOW", "includes", "caps", "CAP_SYS_ADMIN"));
	/* without it: clone only without namespace flags; clone3 ENOSYS, so
	 * that libc falls back to clone */
	json_array_append_new(calls,
			      json_pack("{s:[s],s:s,s:[{s:i,s:I,s:i,s:s}],s:{s:[s]}}", "names",
					"clone", "action", "SCMP_ACT_ALLOW", "args", "index", 0,
					"value", (json_int_t)CLONE_NS_FLAGS, "valueTwo", 0, "op",
					"SCMP_CMP_MASKED_EQ", "excludes", "caps", "CAP_SYS_ADMIN"));
	json_array_append_new(calls, json_pack("{s:[s],s:s,s:i,s:{s:[s]}}", "names", "clone3",
					       "action", "SCMP_ACT_ERRNO", "errnoRet", ENOSYS,
					       "excludes", "caps", "CAP_SYS_ADMIN"));
}

json_t *husk_engine_seccomp_convert(const char *text, bool as_docker, json_t *caps,
				    husk_error **err)
{
	json_error_t je;
	json_t *prof = json_loads(text, 0, &je);
	if (!json_is_object(prof)) {
		json_decref(prof);
		husk_fail_as(err, EINVAL,
			     "--security-opt seccomp: not a JSON profile: %s (line %d)", je.text,
			     je.line);
		return NULL;
	}
	if (!json_is_string(json_object_get(prof, "defaultAction"))) {
		json_decref(prof);
		husk_fail_as(err, EINVAL,
			     "--security-opt seccomp: the profile has no defaultAction");
		return NULL;
	}
	if (as_docker)
		husk_seccomp_docker_default(prof);
	json_t *out = json_object();
	const char *key;
	json_t *v;
	json_object_foreach (prof, key, v)
		if (strcmp(key, "archMap") && strcmp(key, "syscalls") && strcmp(key, "comment"))
			json_object_set(out, key, v);
	size_t i;
	json_array_foreach (json_object_get(prof, "archMap"), i, v) {
		if (strcmp(json_string_value(json_object_get(v, "architecture")) ?: "",
			   NATIVE_ARCH) != 0)
			continue;
		json_t *archs = json_array();
		json_array_append(archs, json_object_get(v, "architecture"));
		size_t k;
		json_t *sub;
		json_array_foreach (json_object_get(v, "subArchitectures"), k, sub)
			json_array_append(archs, sub);
		json_object_set_new(out, "architectures", archs);
	}
	json_t *calls = json_array();
	json_array_foreach (json_object_get(prof, "syscalls"), i, v) {
		if (!rule_applies(v, caps))
			continue;
		json_t *c = json_object();
		json_t *f;
		json_object_foreach (v, key, f)
			if (strcmp(key, "includes") && strcmp(key, "excludes") &&
			    strcmp(key, "comment") && strcmp(key, "name"))
				json_object_set(c, key, f);
		if (json_is_string(json_object_get(v, "name")) && !json_object_get(c, "names"))
			json_object_set_new(c, "names",
					    json_pack("[O]", json_object_get(v, "name")));
		json_array_append_new(calls, c);
	}
	json_object_set_new(out, "syscalls", calls);
	json_decref(prof);
	return out;
}

static const struct husk_host_dev *host_dev(const struct husk_config_in *in, const char *path)
{
	for (size_t i = 0; i < in->n_host_devs; i++)
		if (strcmp(in->host_devs[i].path, path) == 0)
			return &in->host_devs[i];
	return NULL;
}

static void add_device(json_t *lx, const struct husk_host_dev *d, const char *ctr,
		       const char *perms)
{
	char type[2] = {d->type, '\0'};
	json_t *devs = json_object_get(lx, "devices");
	if (!devs) {
		devs = json_array();
		json_object_set_new(lx, "devices", devs);
	}
	json_array_append_new(devs,
			      json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "path", ctr, "type", type,
					"major", (json_int_t)d->major, "minor",
					(json_int_t)d->minor, "fileMode", (json_int_t)d->mode,
					"uid", (json_int_t)d->uid, "gid", (json_int_t)d->gid));
	if (perms)
		json_array_append_new(json_object_get(json_object_get(lx, "resources"), "devices"),
				      json_pack("{s:b,s:s,s:I,s:I,s:s}", "allow", 1, "type", type,
						"major", (json_int_t)d->major, "minor",
						(json_int_t)d->minor, "access", perms));
}

static void drop_device(json_t *lx, const char *path)
{
	json_t *devs = json_object_get(lx, "devices");
	for (size_t i = 0; i < json_array_size(devs);) {
		if (strcmp(json_string_value(json_object_get(json_array_get(devs, i), "path"))
				   ?: "",
			   path) == 0)
			json_array_remove(devs, i);
		else
			i++;
	}
}

/* "K=V" strings (NULL-terminated, or NULL: none) as an object */
static json_t *kv_json(char **v)
{
	json_t *o = json_object();
	for (; v && *v; v++) {
		const char *eq = strchr(*v, '=');
		cleanup_free char *k = strndup(*v, eq ? (size_t)(eq - *v) : strlen(*v));
		if (!k)
			abort();
		json_object_set_new(o, k, json_string(eq ? eq + 1 : ""));
	}
	return o;
}

/* A number or "*" (any: left out of the rule); false when neither */
static bool rule_number(const char *s, size_t n, json_t *rule, const char *key)
{
	if (n == 1 && *s == '*')
		return true;
	long long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > 0xfffff)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (n == 0)
		return false;
	json_object_set_new(rule, key, json_integer(v));
	return true;
}

/* --device-cgroup-rule "c 1:3 rwm" (Docker's, the v1 devices.allow line):
 * an allow rule of the OCI config, NULL when it is not one */
static json_t *device_rule(const char *text)
{
	char type, acc[8];
	char num[64];
	int end = 0;
	if (sscanf(text, "%c %63s %7s%n", &type, num, acc, &end) != 3 || text[end] ||
	    !strchr("abc", type) || acc[strspn(acc, "rwm")])
		return NULL;
	const char *colon = strchr(num, ':');
	json_t *rule =
		json_pack("{s:b,s:s#,s:s}", "allow", 1, "type", &type, (size_t)1, "access", acc);
	if (!colon || !rule_number(num, (size_t)(colon - num), rule, "major") ||
	    !rule_number(colon + 1, strlen(colon + 1), rule, "minor")) {
		json_decref(rule);
		return NULL;
	}
	return rule;
}

static int set_devices(json_t *lx, const struct husk_config_in *in, husk_error **err)
{
	const struct husk_run_opts *o = in->o;
	if (o->privileged) {
		/* every node of the host's /dev, and the cgroup lets all through */
		json_object_set_new(json_object_get(lx, "resources"), "devices",
				    json_pack("[{s:b,s:s}]", "allow", 1, "access", "rwm"));
		for (size_t i = 0; i < in->n_host_devs; i++)
			if (strncmp(in->host_devs[i].path, "/dev/", 5) == 0)
				add_device(lx, &in->host_devs[i], in->host_devs[i].path, NULL);
	}
	for (size_t k = 0; k < o->n_devices; k++) {
		const struct husk_device_map *m = &o->devices[k];
		const struct husk_host_dev *d = host_dev(in, m->host);
		if (!d)
			return husk_fail_as(err, ENODEV, "--device \"%s\": not a device", m->host);
		if (o->privileged) /* already there with the host's path */
			drop_device(lx, m->ctr ? m->ctr : m->host);
		add_device(lx, d, m->ctr ? m->ctr : m->host, o->privileged ? NULL : m->perms);
	}
	for (char **r = o->device_cgroup_rules; r && *r && !o->privileged; r++) {
		json_t *rule = device_rule(*r);
		if (!rule)
			return husk_fail_as(
				err, EINVAL,
				"--device-cgroup-rule \"%s\": expected TYPE MAJOR:MINOR "
				"ACCESS, such as \"c 1:3 rwm\" (TYPE a, b or c; * for any "
				"number; ACCESS of r, w, m)",
				*r);
		json_array_append_new(json_object_get(json_object_get(lx, "resources"), "devices"),
				      rule);
	}
	return 0;
}

/* -1 is RLIM_INFINITY, 2^64-1: too big for a JSON integer here, so a real
 * (as the core reads it) */
static json_t *rlim_json(long long v)
{
	return v < 0 ? json_real(18446744073709551615.0) : json_integer(v);
}

static void set_rlimits(json_t *p, const struct husk_run_opts *o)
{
	json_t *rl = json_object_get(p, "rlimits");
	for (size_t k = 0; k < o->n_ulimits; k++) {
		const struct husk_ulimit *u = &o->ulimits[k];
		const char *type = rlimit_oci[u->resource];
		for (size_t i = 0; i < json_array_size(rl);) {
			if (strcmp(json_string_value(
					   json_object_get(json_array_get(rl, i), "type")),
				   type) == 0)
				json_array_remove(rl, i);
			else
				i++;
		}
		json_array_append_new(rl,
				      json_pack("{s:s,s:o,s:o}", "type", type, "hard",
						rlim_json(u->hard), "soft", rlim_json(u->soft)));
	}
}

static int set_sysctls(json_t *lx, const struct husk_run_opts *o, husk_error **err)
{
	if (!o->sysctls)
		return 0;
	json_t *sc = json_object();
	json_object_set_new(lx, "sysctl", sc);
	for (char **kv = o->sysctls; *kv; kv++) {
		if (husk_sysctl_check(*kv, err) < 0)
			return -1;
		const char *eq = strchr(*kv, '=');
		cleanup_free char *k = strndup(*kv, (size_t)(eq - *kv));
		if (!k)
			abort();
		bool host_ipc = o->ipc_mode && strcmp(o->ipc_mode, "host") == 0;
		bool host_uts = o->uts_mode && strcmp(o->uts_mode, "host") == 0;
		if (strncmp(k, "net.", 4) == 0 && o->network == HUSK_NETMODE_HOST)
			return husk_fail_as(err, EINVAL,
					    "--sysctl \"%s\": not with --network host (the host's)",
					    *kv);
		if (is_ipc_sysctl(k, strlen(k)) && host_ipc)
			return husk_fail_as(err, EINVAL,
					    "--sysctl \"%s\": not with --ipc host (the host's)",
					    *kv);
		if (strcmp(k, "kernel.domainname") == 0 && host_uts)
			return husk_fail_as(err, EINVAL,
					    "--sysctl \"%s\": not with --uts host (the host's)",
					    *kv);
		json_object_set_new(sc, k, json_string(eq + 1));
	}
	return 0;
}

static json_t *find_mount(json_t *mounts, const char *dst)
{
	size_t i;
	json_t *m;
	json_array_foreach (mounts, i, m)
		if (strcmp(json_string_value(json_object_get(m, "destination")) ?: "", dst) == 0)
			return m;
	return NULL;
}

/* drop the options named by prefix ("size=") or, without '=', by name
 * ("ro"); then add opt */
static void set_mount_opt(json_t *m, const char *prefix, const char *opt)
{
	json_t *opts = json_object_get(m, "options");
	bool whole = !strchr(prefix, '=');
	for (size_t i = 0; i < json_array_size(opts);) {
		const char *s = json_string_value(json_array_get(opts, i));
		if (whole ? strcmp(s, prefix) == 0 : strncmp(s, prefix, strlen(prefix)) == 0)
			json_array_remove(opts, i);
		else
			i++;
	}
	if (opt)
		json_array_append_new(opts, json_string(opt));
}

/* --pid, --ipc, --uts, --cgroupns: leave the namespace out (host), join
 * another container's (container:NAME), or keep a new one */
static void set_ns(json_t *lx, const char *type, const char *mode, const char *path)
{
	if (!mode)
		return;
	json_t *nss = json_object_get(lx, "namespaces");
	size_t i;
	json_t *v;
	json_array_foreach (nss, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "type")) ?: "", type) != 0)
			continue;
		if (strcmp(mode, "host") == 0)
			json_array_remove(nss, i);
		else if (strncmp(mode, "container:", 10) == 0 && path)
			json_object_set_new(v, "path", json_string(path));
		return;
	}
}

json_t *husk_engine_config_caps(const struct husk_config_in *in, husk_error **err)
{
	return make_caps(in, err);
}

static int set_security(json_t *c, json_t *p, json_t *lx, const struct husk_config_in *in,
			husk_error **err)
{
	const struct husk_run_opts *o = in->o;
	json_t *caps = make_caps(in, err);
	if (!caps)
		return -1;
	json_object_set_new(
		p, "capabilities",
		json_pack("{s:O,s:O,s:O}", "bounding", caps, "effective", caps, "permitted", caps));
	/* a profile of the user's own; the default one is spliced in by
	 * create from its memo (seccomp-memo.c) */
	if (o->seccomp_profile && !o->seccomp_unconfined && !o->privileged) {
		json_t *sc = husk_engine_seccomp_convert(o->seccomp_profile, false, caps, err);
		if (!sc) {
			json_decref(caps);
			return -1;
		}
		json_object_set_new(lx, "seccomp", sc);
	}
	json_decref(caps);
	json_object_set_new(p, "noNewPrivileges", json_boolean(o->no_new_privileges));
	json_t *masked = json_object_get(lx, "maskedPaths");
	json_t *ro = json_object_get(lx, "readonlyPaths");
	for (char **u = o->unmask_paths; u && *u; u++) {
		if (strcmp(*u, "ALL") == 0) {
			json_array_clear(masked);
			json_array_clear(ro);
		}
		drop_path(masked, *u);
		drop_path(ro, *u);
	}
	for (char **m = o->mask_paths; m && *m; m++) {
		if ((*m)[0] != '/')
			return husk_fail_as(err, EINVAL,
					    "--security-opt mask: \"%s\" is not absolute", *m);
		json_array_append_new(masked, json_string(*m));
	}
	json_t *mounts = json_object_get(c, "mounts");
	if (o->privileged) {
		json_array_clear(masked);
		json_array_clear(ro);
		/* /sys and its cgroups read-write, as Docker mounts them */
		set_mount_opt(find_mount(mounts, "/sys"), "ro", NULL);
		set_mount_opt(find_mount(mounts, "/sys/fs/cgroup"), "ro", NULL);
	}
	if (o->shm_size > 0) {
		char opt[64];
		snprintf(opt, sizeof(opt), "size=%lldk", (o->shm_size + 1023) / 1024);
		set_mount_opt(find_mount(mounts, "/dev/shm"), "size=", opt);
	}
	return 0;
}

/* a throttle list of linux.resources.blockIO, made when first needed */
static json_t *blkio_list(json_t *res, const char *key)
{
	json_t *b = json_object_get(res, "blockIO");
	if (!b) {
		b = json_object();
		json_object_set_new(res, "blockIO", b);
	}
	json_t *l = json_object_get(b, key);
	if (!l) {
		l = json_array();
		json_object_set_new(b, key, l);
	}
	return l;
}

static int set_more_resources(json_t *lx, const struct husk_config_in *in, husk_error **err)
{
	const struct husk_run_opts *o = in->o;
	json_t *res = json_object_get(lx, "resources");
	if (o->memory_swap && !o->memory)
		return husk_fail_as(err, EINVAL, "--memory-swap needs --memory");
	if (o->memory_swap > 0 && o->memory_swap < o->memory)
		return husk_fail_as(err, EINVAL,
				    "--memory-swap %lld: must not be below --memory (%lld): it is "
				    "memory and swap together",
				    o->memory_swap, o->memory);
	if ((o->cpu_period || o->cpu_quota) && o->cpus > 0)
		return husk_fail_as(err, EINVAL,
				    "--cpus and --cpu-period/--cpu-quota cannot go together");
	json_t *mem = json_object_get(res, "memory");
	if (o->memory_swap || o->memory_reservation || o->oom_kill_disable ||
	    o->memory_swappiness_set) {
		if (!mem) {
			mem = json_object();
			json_object_set_new(res, "memory", mem);
		}
		if (o->memory_swap)
			json_object_set_new(mem, "swap", json_integer(o->memory_swap));
		if (o->memory_reservation)
			json_object_set_new(mem, "reservation",
					    json_integer(o->memory_reservation));
		if (o->oom_kill_disable)
			json_object_set_new(mem, "disableOOMKiller", json_true());
		if (o->memory_swappiness_set)
			json_object_set_new(mem, "swappiness", json_integer(o->memory_swappiness));
	}
	if (o->cpu_shares || o->cpu_period || o->cpu_quota || o->cpuset_cpus || o->cpuset_mems) {
		json_t *cpu = json_object_get(res, "cpu");
		if (!cpu) {
			cpu = json_object();
			json_object_set_new(res, "cpu", cpu);
		}
		if (o->cpu_shares)
			json_object_set_new(cpu, "shares", json_integer(o->cpu_shares));
		if (o->cpu_period)
			json_object_set_new(cpu, "period", json_integer(o->cpu_period));
		if (o->cpu_quota)
			json_object_set_new(cpu, "quota", json_integer(o->cpu_quota));
		if (o->cpuset_cpus)
			json_object_set_new(cpu, "cpus", json_string(o->cpuset_cpus));
		if (o->cpuset_mems)
			json_object_set_new(cpu, "mems", json_string(o->cpuset_mems));
	}
	if (o->blkio_weight) {
		blkio_list(res, "weightDevice"); /* makes blockIO */
		json_t *b = json_object_get(res, "blockIO");
		json_object_del(b, "weightDevice");
		json_object_set_new(b, "weight", json_integer(o->blkio_weight));
	}
	static const char *const keys[] = {"throttleReadBpsDevice", "throttleWriteBpsDevice",
					   "throttleReadIOPSDevice", "throttleWriteIOPSDevice"};
	for (size_t k = 0; k < o->n_throttles; k++) {
		const struct husk_throttle *t = &o->throttles[k];
		const struct husk_host_dev *d = host_dev(in, t->path);
		if (!d || d->type != 'b')
			return husk_fail_as(err, ENODEV, "\"%s\": not a block device", t->path);
		json_array_append_new(blkio_list(res, keys[t->kind]),
				      json_pack("{s:I,s:I,s:I}", "major", (json_int_t)d->major,
						"minor", (json_int_t)d->minor, "rate",
						(json_int_t)t->rate));
	}
	return 0;
}

/* Everything of Docker's everyday flags that is not args, env, user,
 * mounts or the network */
static int set_docker_options(json_t *c, const struct husk_config_in *in, husk_error **err)
{
	const struct husk_run_opts *o = in->o;
	json_t *p = json_object_get(c, "process");
	json_t *lx = json_object_get(c, "linux");
	if (set_security(c, p, lx, in, err) < 0 || set_devices(lx, in, err) < 0 ||
	    set_sysctls(lx, o, err) < 0 || set_more_resources(lx, in, err) < 0)
		return -1;
	set_rlimits(p, o);
	if (o->oom_score_adj_set)
		json_object_set_new(p, "oomScoreAdj", json_integer(o->oom_score_adj));
	if (o->init && in->init_path) {
		/* tini as pid 1: it reaps orphans and passes signals on */
		json_t *args = json_pack("[s,s]", HUSK_INIT_DEST, "--");
		json_array_extend(args, json_object_get(p, "args"));
		json_object_set_new(p, "args", args);
		json_array_append_new(json_object_get(c, "mounts"),
				      json_pack("{s:s,s:s,s:s,s:[s,s]}", "destination",
						HUSK_INIT_DEST, "type", "bind", "source",
						in->init_path, "options", "rbind", "ro"));
	}
	set_ns(lx, "pid", o->pid_mode, in->pid_ns_path);
	set_ns(lx, "ipc", o->ipc_mode, in->ipc_ns_path);
	set_ns(lx, "uts", o->uts_mode, NULL);
	set_ns(lx, "cgroup", o->cgroupns_mode, NULL);
	if (o->uts_mode && strcmp(o->uts_mode, "host") == 0)
		json_object_del(c, "hostname"); /* the host's: not ours to set */
	if (o->uts_mode && strcmp(o->uts_mode, "host") == 0)
		json_object_del(c, "domainname");
	return 0;
}

json_t *husk_engine_config(const struct husk_config_in *in, husk_error **err)
{
	const struct husk_run_opts *o = in->o;
	cleanup_free char *text = husk_spec_default_json(false, 0, 0);
	json_t *c = json_loads(text, 0, NULL);
	if (!c)
		abort();
	json_t *ic = in->image_config;
	json_t *p = json_object_get(c, "process");
	json_object_set_new(p, "terminal", json_boolean(o->tty));
	if (o->tty && o->tty_rows && o->tty_cols)
		json_object_set_new(
			p, "consoleSize",
			json_pack("{s:i,s:i}", "height", o->tty_rows, "width", o->tty_cols));
	json_t *args = make_args(in, ic, err);
	if (!args) {
		json_decref(c);
		return NULL;
	}
	json_object_set_new(p, "args", args);
	json_object_set_new(p, "env", make_env(in, ic));
	const char *wd =
		o->workdir ? o->workdir : json_string_value(json_object_get(ic, "WorkingDir"));
	json_object_set_new(p, "cwd", json_string(wd && *wd ? wd : "/"));
	json_object_set_new(p, "user", make_user(in->user));
	json_object_set_new(c, "root",
			    json_pack("{s:s,s:b}", "path", "rootfs", "readonly", o->read_only));
	json_object_set_new(c, "hostname", json_string(in->hostname));
	if (o->domainname && *o->domainname)
		json_object_set_new(c, "domainname", json_string(o->domainname));
	json_t *mounts = json_object_get(c, "mounts");
	if (in->hosts_path)
		add_bind(mounts, in->hosts_path, "/etc/hosts", false);
	if (in->hostname_path)
		add_bind(mounts, in->hostname_path, "/etc/hostname", false);
	if (in->resolv_path)
		add_bind(mounts, in->resolv_path, "/etc/resolv.conf", false);
	if (in->mounts)
		add_mounts(mounts, in->mounts, in->n_mounts);
	else
		add_mounts(mounts, o->volumes, o->n_volumes);
	json_t *lx = json_object_get(c, "linux");
	set_resources(lx, o);
	/* one level below the caller's cgroup, no shared parent: a parent
	 * made by the first container would outlive it whenever a second was
	 * still inside, and nobody would remove it */
	cleanup_free char *cgp =
		o->cgroup_parent && *o->cgroup_parent
			? husk_strdup_printf("%s/husk-%s", o->cgroup_parent, in->id)
			: husk_strdup_printf("husk-%s", in->id);
	json_object_set_new(lx, "cgroupsPath", json_string(cgp));
	set_netns(lx, in);
	if (o->annotations) {
		json_t *a = kv_json(o->annotations);
		json_object_set_new(c, "annotations", a);
	}
	if (set_docker_options(c, in, err) < 0) {
		json_decref(c);
		return NULL;
	}
	return c;
}

char *husk_engine_config_command(json_t *config)
{
	json_t *args = json_object_get(json_object_get(config, "process"), "args");
	size_t i, len = 0;
	json_t *v;
	char cmd[256] = "";
	/* --init's tini is not the command (Docker's ps leaves it out too) */
	size_t skip = strcmp(json_string_value(json_array_get(args, 0)) ?: "", HUSK_INIT_DEST) == 0
			      ? 2
			      : 0;
	json_array_foreach (args, i, v) {
		if (i < skip)
			continue;
		int n = snprintf(cmd + len, sizeof(cmd) - len, "%s%s", i > skip ? " " : "",
				 json_string_value(v));
		if (n < 0 || (size_t)n >= sizeof(cmd) - len) {
			len = sizeof(cmd) - 1;
			break;
		}
		len += (size_t)n;
	}
	return strdup(cmd);
}

static json_t *strv_json(char **v)
{
	if (!v)
		return json_null();
	json_t *a = json_array();
	for (; *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static const char *mode_or(const char *mode, const char *dflt)
{
	return mode ? mode : dflt;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* the object with its keys in order, as Go prints a map (takes obj) */
static json_t *sorted(json_t *obj)
{
	size_t n = json_object_size(obj), i = 0;
	const char **keys = calloc(n + 1, sizeof(*keys));
	if (!keys)
		abort();
	const char *k;
	json_t *v;
	json_object_foreach (obj, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	json_t *out = json_object();
	for (i = 0; i < n; i++)
		json_object_set(out, keys[i], json_object_get(obj, keys[i]));
	free(keys);
	json_decref(obj);
	return out;
}

/* The rest of the container's Config as Docker keeps it: the image's
 * values with run's options over them.  Commit makes the new image's
 * config of it. */
static void effective_config(const struct husk_config_in *in, json_t *config)
{
	const struct husk_run_opts *o = in->o;
	json_t *ic = in->image_config;
	json_t *cmd = json_null();
	if (o->cmd && o->cmd[0])
		cmd = strv_json(o->cmd);
	else if (!o->entrypoint && json_is_array(json_object_get(ic, "Cmd")))
		cmd = json_copy(json_object_get(ic, "Cmd"));
	json_object_set_new(config, "Cmd", cmd);
	json_t *env = json_array();
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(ic, "Env"), i, v)
		if (json_is_string(v))
			env_set(env, json_string_value(v));
	for (char **e = o->env; e && *e; e++)
		env_set(env, *e);
	json_object_set_new(config, "Env", env);
	const char *wd =
		o->workdir ? o->workdir : json_string_value(json_object_get(ic, "WorkingDir"));
	json_object_set_new(config, "WorkingDir", json_string(wd ? wd : ""));
	const char *user = o->user ? o->user : json_string_value(json_object_get(ic, "User"));
	json_object_set_new(config, "User", json_string(user ? user : ""));
	/* the image's labels under run's */
	json_t *labels = json_object_get(config, "Labels");
	const char *k;
	json_object_foreach (json_object_get(ic, "Labels"), k, v)
		if (!json_object_get(labels, k))
			json_object_set(labels, k, v);
	json_object_set_new(config, "Labels", sorted(json_incref(labels)));
	/* (ExposedPorts: the image's with --expose and -p's, made above) */
	static const char *const from_image[] = {"Volumes", "StopSignal"};
	for (i = 0; i < ARRAY_SIZE(from_image); i++) {
		json_t *x = json_object_get(ic, from_image[i]);
		if (x && !json_is_null(x))
			json_object_set_new(config, from_image[i], json_deep_copy(x));
	}
	if (o->stop_signal > 0 && sigabbrev_np(o->stop_signal)) {
		cleanup_free char *sig = husk_strdup_printf("SIG%s", sigabbrev_np(o->stop_signal));
		json_object_set_new(config, "StopSignal", json_string(sig));
	}
}

json_t *husk_engine_config_docker(const struct husk_config_in *in)
{
	const struct husk_run_opts *o = in->o;
	json_t *labels = json_object();
	for (char **l = o->labels; l && *l; l++) {
		const char *eq = strchr(*l, '=');
		cleanup_free char *k = eq ? strndup(*l, (size_t)(eq - *l)) : strdup(*l);
		if (!k)
			abort();
		json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
	}
	labels = sorted(labels);
	json_t *ep = json_null();
	if (o->entrypoint && *o->entrypoint)
		ep = json_pack("[s]", o->entrypoint);
	else if (!o->entrypoint && json_is_array(json_object_get(in->image_config, "Entrypoint")))
		ep = json_copy(json_object_get(in->image_config, "Entrypoint"));
	json_t *config = json_pack("{s:o,s:o}", "Labels", labels, "Entrypoint", ep);
	/* ExposedPorts: the image's, --expose and -p's container ports;
	 * PortBindings: -p as given ("" for a host port to pick) */
	json_t *exposed = json_object();
	const char *ek;
	json_t *ev;
	json_object_foreach (json_object_get(in->image_config, "ExposedPorts"), ek, ev)
		json_object_set_new(exposed, ek, json_object());
	for (char **x = o->expose; x && *x; x++)
		json_object_set_new(exposed, *x, json_object());
	json_t *bindings = json_object();
	for (size_t k = 0; k < o->n_ports; k++) {
		const struct husk_net_port *p = &o->ports[k];
		char key[16], hp[16] = "";
		snprintf(key, sizeof(key), "%u/%s", p->ctr,
			 p->proto == IPPROTO_UDP ? "udp" : "tcp");
		if (p->host_end)
			snprintf(hp, sizeof(hp), "%u-%u", p->host, p->host_end);
		else if (p->host)
			snprintf(hp, sizeof(hp), "%u", p->host);
		json_object_set_new(exposed, key, json_object());
		json_t *l = json_object_get(bindings, key);
		if (!l)
			json_object_set_new(bindings, key, l = json_array());
		json_array_append_new(l,
				      json_pack("{s:s,s:s}", "HostIp", p->host_ip, "HostPort", hp));
	}
	if (json_object_size(exposed))
		json_object_set_new(config, "ExposedPorts", sorted(exposed));
	else
		json_decref(exposed);
	effective_config(in, config);
	json_object_set_new(config, "Domainname", json_string(o->domainname ? o->domainname : ""));

	json_t *devices = json_array();
	for (size_t k = 0; k < o->n_devices; k++)
		json_array_append_new(devices, json_pack("{s:s,s:s,s:s}", "PathOnHost",
							 o->devices[k].host, "PathInContainer",
							 o->devices[k].ctr ? o->devices[k].ctr
									   : o->devices[k].host,
							 "CgroupPermissions", o->devices[k].perms));
	json_t *ulimits = json_array();
	for (size_t k = 0; k < o->n_ulimits; k++)
		json_array_append_new(ulimits,
				      json_pack("{s:s,s:I,s:I}", "Name", o->ulimits[k].name, "Hard",
						(json_int_t)o->ulimits[k].hard, "Soft",
						(json_int_t)o->ulimits[k].soft));
	json_t *sysctls = sorted(kv_json(o->sysctls));
	json_t *throttle[4] = {json_array(), json_array(), json_array(), json_array()};
	for (size_t k = 0; k < o->n_throttles; k++)
		json_array_append_new(throttle[o->throttles[k].kind],
				      json_pack("{s:s,s:I}", "Path", o->throttles[k].path, "Rate",
						(json_int_t)o->throttles[k].rate));
	json_t *host = json_object();
	json_object_set_new(host, "PortBindings", sorted(bindings));
	json_object_set_new(host, "PublishAllPorts", json_boolean(o->publish_all));
	json_object_set_new(host, "CapAdd", strv_json(o->cap_add));
	json_object_set_new(host, "CapDrop", strv_json(o->cap_drop));
	json_object_set_new(host, "Privileged", json_boolean(o->privileged));
	json_object_set_new(host, "SecurityOpt", strv_json(o->security_opts));
	json_object_set_new(host, "Devices", devices);
	json_object_set_new(host, "Ulimits", ulimits);
	json_object_set_new(host, "Sysctls", sysctls);
	json_object_set_new(host, "GroupAdd", strv_json(o->group_add));
	json_object_set_new(host, "VolumesFrom", strv_json(o->volumes_from));
	json_object_set_new(host, "Links", strv_json(in->link_specs));
	json_object_set_new(host, "DeviceCgroupRules", strv_json(o->device_cgroup_rules));
	json_object_set_new(host, "CgroupParent",
			    json_string(o->cgroup_parent ? o->cgroup_parent : ""));
	json_object_set_new(host, "Annotations",
			    o->annotations ? sorted(kv_json(o->annotations)) : json_null());
	json_object_set_new(host, "ShmSize", json_integer(o->shm_size ? o->shm_size : 67108864));
	json_object_set_new(host, "OomScoreAdj", json_integer(o->oom_score_adj));
	json_object_set_new(host, "Init", o->init ? json_true() : json_null());
	json_object_set_new(host, "PidMode", json_string(mode_or(o->pid_mode, "")));
	json_object_set_new(host, "IpcMode", json_string(mode_or(o->ipc_mode, "private")));
	json_object_set_new(host, "UTSMode", json_string(mode_or(o->uts_mode, "")));
	json_object_set_new(host, "UsernsMode", json_string(mode_or(o->userns_mode, "")));
	json_object_set_new(host, "CgroupnsMode",
			    json_string(mode_or(o->cgroupns_mode, "private")));
	json_object_set_new(host, "Memory", json_integer(o->memory));
	json_object_set_new(host, "MemorySwap", json_integer(o->memory_swap));
	json_object_set_new(host, "MemoryReservation", json_integer(o->memory_reservation));
	json_object_set_new(host, "MemorySwappiness",
			    o->memory_swappiness_set ? json_integer(o->memory_swappiness)
						     : json_null());
	json_object_set_new(host, "NanoCpus", json_integer((json_int_t)(o->cpus * 1e9)));
	json_object_set_new(host, "CpuShares", json_integer(o->cpu_shares));
	json_object_set_new(host, "CpuPeriod", json_integer(o->cpu_period));
	json_object_set_new(host, "CpuQuota", json_integer(o->cpu_quota));
	json_object_set_new(host, "CpusetCpus", json_string(o->cpuset_cpus ? o->cpuset_cpus : ""));
	json_object_set_new(host, "CpusetMems", json_string(o->cpuset_mems ? o->cpuset_mems : ""));
	json_object_set_new(host, "BlkioWeight", json_integer(o->blkio_weight));
	json_object_set_new(host, "BlkioDeviceReadBps", throttle[HUSK_THROTTLE_READ_BPS]);
	json_object_set_new(host, "BlkioDeviceWriteBps", throttle[HUSK_THROTTLE_WRITE_BPS]);
	json_object_set_new(host, "BlkioDeviceReadIOps", throttle[HUSK_THROTTLE_READ_IOPS]);
	json_object_set_new(host, "BlkioDeviceWriteIOps", throttle[HUSK_THROTTLE_WRITE_IOPS]);
	json_object_set_new(host, "OomKillDisable", json_boolean(o->oom_kill_disable));
	/* husk's own (Docker has no rate limit): bits a second, 0 none */
	json_object_set_new(host, "NetworkEgressRate",
			    json_integer((json_int_t)o->net_egress_rate));
	json_object_set_new(host, "NetworkIngressRate",
			    json_integer((json_int_t)o->net_ingress_rate));
	json_object_set_new(host, "PidsLimit",
			    o->pids_limit ? json_integer(o->pids_limit) : json_null());
	json_object_set_new(host, "LogConfig",
			    json_pack("{s:s,s:o}", "Type",
				      o->log_driver ? o->log_driver : "json-file", "Config",
				      sorted(kv_json(o->log_opts))));
	return json_pack("{s:o,s:o}", "Config", config, "HostConfig", host);
}

/* linux.seccomp: validate the OCI profile, compile it to classic BPF with
 * libseccomp (or take the BPF from the on-disk cache), load it with
 * seccomp(2), and pass the notify listener to the agent.
 *
 * We load with the raw syscall instead of seccomp_load() so that the
 * compiled program is plain bytes: it can be cached, it survives fork
 * without libseccomp state, and loading allocates nothing. */
#define _GNU_SOURCE
#include "seccomp.h" /* ours and libseccomp's: see the note there */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bpf-shrink.h"
#include "json-span.h"
#include "util.h"

/* Older uapi headers lack the newer flags; the values are kernel ABI. */
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define WHERE	    "linux.seccomp"
#define ARCH_PREFIX "SCMP_ARCH_"
#define MAX_ARGS    6

struct husk_seccomp {
	struct sock_filter *insns;
	size_t n_insns;
	unsigned int flags; /* SECCOMP_FILTER_FLAG_* named in the profile */
	bool needs_listener;
	bool from_cache;
	char *listener_path;
	char *listener_metadata;
	char *profile_text; /* the profile's text: its bytes in config.json when create
			       found them, else compact JSON with keys sorted; the
			       cache key's, and state.json's */
};

/* ---- the profile's vocabulary -------------------------------------- */

static const struct {
	const char *name;
	uint32_t action;
	bool takes_errno; /* the low 16 bits carry errnoRet */
} actions[] = {
	{"SCMP_ACT_KILL", SCMP_ACT_KILL, false},
	{"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
	{"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
	{"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
	{"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
	{"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
	{"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
	{"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
	{"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false},
};

static const struct {
	const char *name;
	enum scmp_compare op;
} ops[] = {
	{"SCMP_CMP_NE", SCMP_CMP_NE},
	{"SCMP_CMP_LT", SCMP_CMP_LT},
	{"SCMP_CMP_LE", SCMP_CMP_LE},
	{"SCMP_CMP_EQ", SCMP_CMP_EQ},
	{"SCMP_CMP_GE", SCMP_CMP_GE},
	{"SCMP_CMP_GT", SCMP_CMP_GT},
	{"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static const struct {
	const char *name;
	unsigned int flag;
} filter_flags[] = {
	{"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
	{"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
	{"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
	{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

/* An unsigned integer field; absent (or null) leaves *ret alone. */
static int get_uint(json_t *obj, const char *key, uint64_t max, uint64_t *ret, bool *ret_present,
		    const char *where, husk_error **err)
{
	json_t *v = json_object_get(obj, key);
	if (ret_present)
		*ret_present = v && !json_is_null(v);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return husk_fail(err, 0, "%s.%s: must be an integer from 0 to %" PRIu64, where, key,
				 max);
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

/* An action plus its errno: `action_key`/`errno_key` are the profile's
 * names for them ("defaultAction"/"defaultErrnoRet" or "action"/"errnoRet"). */
static int parse_action(json_t *obj, const char *action_key, const char *errno_key,
			const char *where, uint32_t *ret, husk_error **err)
{
	json_t *v = json_object_get(obj, action_key);
	if (!v)
		return husk_fail(err, 0, "%s.%s: missing", where, action_key);
	if (!json_is_string(v))
		return husk_fail(err, 0, "%s.%s: must be a string", where, action_key);
	const char *name = json_string_value(v);
	size_t i;
	for (i = 0; i < ARRAY_SIZE(actions); i++)
		if (strcmp(name, actions[i].name) == 0)
			break;
	if (i == ARRAY_SIZE(actions))
		return husk_fail(err, 0, "%s.%s: unknown action \"%s\"", where, action_key, name);

	uint64_t e = EPERM; /* the spec's default for ERRNO and TRACE */
	bool present = false;
	if (get_uint(obj, errno_key, 0xffff, &e, &present, where, err) < 0)
		return -1;
	/* the spec: an errno given to an action that cannot return one is an error */
	if (present && !actions[i].takes_errno)
		return husk_fail(err, 0, "%s.%s: not valid with action \"%s\"", where, errno_key,
				 name);
	*ret = actions[i].action | (actions[i].takes_errno ? (uint32_t)e : 0);
	return 0;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token for "x86_64"; 0 if unknown. */
static uint32_t resolve_arch(const char *name)
{
	if (strncmp(name, ARCH_PREFIX, strlen(ARCH_PREFIX)) != 0)
		return 0;
	char lower[32];
	const char *s = name + strlen(ARCH_PREFIX);
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof(lower))
		return 0;
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)tolower((unsigned char)s[i]);
	return seccomp_arch_resolve_name(lower);
}

/* The top level, everything but syscalls: fills f and returns the
 * default action and the architecture tokens (*ret_archs is malloc'ed). */
static int parse_top(json_t *sc, struct husk_seccomp *f, uint32_t *ret_default,
		     uint32_t **ret_archs, size_t *ret_n_archs, husk_error **err)
{
	if (!json_is_object(sc))
		return husk_fail(err, 0, WHERE ": must be an object");
	if (parse_action(sc, "defaultAction", "defaultErrnoRet", WHERE, ret_default, err) < 0)
		return -1;
	/* every syscall, including the ones that would send the listener
	 * to the agent, would wait for an agent that never gets the fd */
	if (*ret_default == SCMP_ACT_NOTIFY)
		return husk_fail(err, 0,
				 WHERE ".defaultAction: SCMP_ACT_NOTIFY cannot be the "
				       "default action");

	json_t *archs = json_object_get(sc, "architectures");
	if (archs && !json_is_null(archs)) {
		if (!json_is_array(archs))
			return husk_fail(err, 0, WHERE ".architectures: must be an array");
		size_t n = json_array_size(archs);
		uint32_t *tok = calloc(n ? n : 1, sizeof(*tok));
		if (!tok)
			return husk_fail(err, ENOMEM, WHERE ".architectures");
		for (size_t i = 0; i < n; i++) {
			json_t *a = json_array_get(archs, i);
			if (!json_is_string(a)) {
				free(tok);
				return husk_fail(err, 0,
						 WHERE ".architectures[%zu]: must be a string", i);
			}
			tok[i] = resolve_arch(json_string_value(a));
			if (!tok[i]) {
				husk_fail(err, 0,
					  WHERE ".architectures[%zu]: unknown architecture "
						"\"%s\"",
					  i, json_string_value(a));
				free(tok);
				return -1;
			}
		}
		*ret_archs = tok;
		*ret_n_archs = n;
	}

	json_t *flags = json_object_get(sc, "flags");
	if (flags && !json_is_null(flags)) {
		if (!json_is_array(flags))
			return husk_fail(err, 0, WHERE ".flags: must be an array");
		for (size_t i = 0; i < json_array_size(flags); i++) {
			json_t *fl = json_array_get(flags, i);
			if (!json_is_string(fl))
				return husk_fail(err, 0, WHERE ".flags[%zu]: must be a string", i);
			size_t k;
			for (k = 0; k < ARRAY_SIZE(filter_flags); k++)
				if (strcmp(json_string_value(fl), filter_flags[k].name) == 0)
					break;
			if (k == ARRAY_SIZE(filter_flags))
				return husk_fail(err, 0, WHERE ".flags[%zu]: unknown flag \"%s\"",
						 i, json_string_value(fl));
			f->flags |= filter_flags[k].flag;
		}
	}

	static const char *const strs[] = {"listenerPath", "listenerMetadata"};
	char **dst[] = {&f->listener_path, &f->listener_metadata};
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		json_t *v = json_object_get(sc, strs[i]);
		if (!v || json_is_null(v))
			continue;
		if (!json_is_string(v))
			return husk_fail(err, 0, WHERE ".%s: must be a string", strs[i]);
		*dst[i] = strdup(json_string_value(v));
		if (!*dst[i])
			return husk_fail(err, ENOMEM, WHERE ".%s", strs[i]);
	}
	return 0;
}

/* syscalls[i].args.  *ret_or is set when an index repeats: runc then adds
 * one rule per condition (OR), because libseccomp refuses two conditions
 * on the same argument in one rule; otherwise all conditions go into one
 * rule (AND). */
static int parse_args(json_t *jargs, size_t i, struct scmp_arg_cmp **ret, size_t *ret_n,
		      bool *ret_or, husk_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	*ret_or = false;
	if (!jargs || json_is_null(jargs))
		return 0;
	if (!json_is_array(jargs))
		return husk_fail(err, 0, WHERE ".syscalls[%zu].args: must be an array", i);
	size_t n = json_array_size(jargs);
	if (n == 0)
		return 0;
	cleanup_free struct scmp_arg_cmp *cmp = calloc(n, sizeof(*cmp));
	if (!cmp)
		return husk_fail(err, ENOMEM, WHERE ".syscalls[%zu].args", i);
	unsigned int seen[MAX_ARGS] = {0};
	for (size_t k = 0; k < n; k++) {
		json_t *a = json_array_get(jargs, k);
		char where[96];
		snprintf(where, sizeof(where), WHERE ".syscalls[%zu].args[%zu]", i, k);
		if (!json_is_object(a))
			return husk_fail(err, 0, "%s: must be an object", where);
		uint64_t index = 0, value = 0, value2 = 0;
		bool has_index = false, has_value = false;
		if (get_uint(a, "index", MAX_ARGS - 1, &index, &has_index, where, err) < 0 ||
		    get_uint(a, "value", UINT64_MAX, &value, &has_value, where, err) < 0 ||
		    get_uint(a, "valueTwo", UINT64_MAX, &value2, NULL, where, err) < 0)
			return -1;
		if (!has_index)
			return husk_fail(err, 0, "%s.index: missing", where);
		if (!has_value)
			return husk_fail(err, 0, "%s.value: missing", where);
		json_t *op = json_object_get(a, "op");
		if (!op)
			return husk_fail(err, 0, "%s.op: missing", where);
		if (!json_is_string(op))
			return husk_fail(err, 0, "%s.op: must be a string", where);
		size_t o;
		for (o = 0; o < ARRAY_SIZE(ops); o++)
			if (strcmp(json_string_value(op), ops[o].name) == 0)
				break;
		if (o == ARRAY_SIZE(ops))
			return husk_fail(err, 0, "%s.op: unknown operator \"%s\"", where,
					 json_string_value(op));
		/* MASKED_EQ: (arg & value) == valueTwo; the others ignore valueTwo */
		cmp[k] = (struct scmp_arg_cmp){.arg = (unsigned int)index,
					       .op = ops[o].op,
					       .datum_a = value,
					       .datum_b = value2};
		if (++seen[index] > 1)
			*ret_or = true;
	}
	*ret = steal_ptr(cmp);
	*ret_n = n;
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const struct scmp_arg_cmp *args,
		    size_t n_args, bool or_args, size_t i, const char *name, husk_error **err)
{
	int r = 0;
	if (n_args == 0 || !or_args) {
		r = seccomp_rule_add_array(ctx, action, nr, (unsigned int)n_args, args);
	} else {
		for (size_t k = 0; k < n_args && r == 0; k++)
			r = seccomp_rule_add_array(ctx, action, nr, 1, &args[k]);
	}
	if (r < 0)
		return husk_fail(err, -r, WHERE ".syscalls[%zu]: add a rule for \"%s\"", i, name);
	return 0;
}

/* Walk syscalls[]: validate every entry and, when ctx is not NULL, add its
 * rules.  A cache hit walks with ctx == NULL, so that a profile reports the
 * same errors (and the same listener needs) with or without the cache. */
static int walk_syscalls(json_t *sc, uint32_t default_action, scmp_filter_ctx ctx,
			 struct husk_seccomp *f, husk_error **err)
{
	json_t *calls = json_object_get(sc, "syscalls");
	if (!calls || json_is_null(calls))
		return 0;
	if (!json_is_array(calls))
		return husk_fail(err, 0, WHERE ".syscalls: must be an array");
	for (size_t i = 0; i < json_array_size(calls); i++) {
		json_t *call = json_array_get(calls, i);
		char where[64];
		snprintf(where, sizeof(where), WHERE ".syscalls[%zu]", i);
		if (!json_is_object(call))
			return husk_fail(err, 0, "%s: must be an object", where);
		uint32_t action = 0;
		if (parse_action(call, "action", "errnoRet", where, &action, err) < 0)
			return -1;
		if (action == SCMP_ACT_NOTIFY) {
			if (!f->listener_path)
				return husk_fail(err, 0,
						 "%s.action: SCMP_ACT_NOTIFY needs " WHERE
						 ".listenerPath",
						 where);
			f->needs_listener = true;
		}
		json_t *names = json_object_get(call, "names");
		if (!json_is_array(names))
			return husk_fail(err, 0, "%s.names: %s", where,
					 names ? "must be an array of strings" : "missing");
		cleanup_free struct scmp_arg_cmp *args = NULL;
		size_t n_args = 0;
		bool or_args = false;
		if (parse_args(json_object_get(call, "args"), i, &args, &n_args, &or_args, err) < 0)
			return -1;
		for (size_t j = 0; j < json_array_size(names); j++) {
			json_t *nm = json_array_get(names, j);
			if (!json_is_string(nm))
				return husk_fail(err, 0, "%s.names[%zu]: must be a string", where,
						 j);
			/* libseccomp refuses a rule that repeats the default
			 * action; it would change nothing anyway */
			if (!ctx || action == default_action)
				continue;
			const char *name = json_string_value(nm);
			/* unknown to libseccomp (too new, or a typo): skip, as
			 * runc and crun do, so one profile serves many kernels */
			int nr = seccomp_syscall_resolve_name(name);
			if (nr == __NR_SCMP_ERROR)
				continue;
			if (add_rule(ctx, action, nr, args, n_args, or_args, i, name, err) < 0)
				return -1;
		}
	}
	return 0;
}

/* ---- compile with libseccomp ---------------------------------------- */

static void ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

/* libseccomp 2.5 exports only to an fd; a memfd keeps it off the disk and
 * has no pipe-buffer limit to deadlock on. */
static int export_bpf(scmp_filter_ctx ctx, struct husk_seccomp *f, husk_error **err)
{
	cleanup_close int fd = memfd_create("husk-seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, WHERE ": memfd_create");
	int r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return husk_fail(err, -r, WHERE ": export the BPF program");
	struct stat st;
	if (fstat(fd, &st) < 0)
		return husk_fail(err, errno, WHERE ": fstat the BPF program");
	size_t len = (size_t)st.st_size;
	if (len == 0 || len % sizeof(struct sock_filter) != 0)
		return husk_fail(err, EINVAL, WHERE ": libseccomp exported %zu bytes of BPF", len);
	/* the kernel's limit: fail here, before anything is set up, rather
	 * than with EINVAL at load time inside the container */
	if (len / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return husk_fail(err, E2BIG,
				 WHERE ": the filter has %zu instructions, more than "
				       "the kernel's %d",
				 len / sizeof(struct sock_filter), BPF_MAXINSNS);
	f->insns = malloc(len);
	if (!f->insns)
		return husk_fail(err, ENOMEM, WHERE);
	r = husk_pread_all(fd, f->insns, len, 0);
	if (r < 0)
		return husk_fail(err, -r, WHERE ": read the BPF program");
	f->n_insns = len / sizeof(struct sock_filter);
	/* the same decisions in fewer instructions, when it can (Docker's
	 * profile: 1,220 -> 561, seccomp(2) ~0.45 -> ~0.29 ms here) */
	size_t n_short = 0;
	struct sock_filter *shorter = husk_bpf_shrink(f->insns, f->n_insns, &n_short);
	if (shorter) {
		free(f->insns);
		f->insns = shorter;
		f->n_insns = n_short;
	}
	return 0;
}

static int compile(json_t *sc, uint32_t default_action, const uint32_t *archs, size_t n_archs,
		   struct husk_seccomp *f, husk_error **err)
{
	__attribute__((cleanup(ctx_releasep))) scmp_filter_ctx ctx = seccomp_init(default_action);
	if (!ctx)
		return husk_fail(err, 0,
				 WHERE ".defaultAction: libseccomp refused it (does this "
				       "kernel support it?)");
	/* no_new_privs is the runtime's decision (process.noNewPrivileges),
	 * not the filter's; and raw return codes instead of libseccomp's
	 * catch-all ECANCELED give real errors.  Both only matter to
	 * seccomp_load, which we do not use, so failures are not fatal. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 5)
	seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	/* A binary tree of syscall numbers instead of libseccomp's default
	 * linear list.  The kernel runs the filter once per syscall number
	 * and architecture when it loads it (to fill its allow bitmap), so
	 * with a linear list of Docker's ~400 names seccomp(2) alone took
	 * 5 ms; a lookup of log(n) compares makes that a fraction. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
#endif
	for (size_t i = 0; i < n_archs; i++) {
		int r = seccomp_arch_add(ctx, archs[i]);
		/* the native architecture is in the filter from the start */
		if (r < 0 && r != -EEXIST)
			return husk_fail(err, -r, WHERE ".architectures[%zu]: add to the filter",
					 i);
	}
	if (walk_syscalls(sc, default_action, ctx, f, err) < 0)
		return -1;
	return export_bpf(ctx, f, err);
}

/* ---- the cache ------------------------------------------------------ */

/* Format 2: this header, then key_len bytes of key text, then bpf_len
 * bytes of BPF.  Native byte order: the key names the architecture.  The
 * profile's flags and whether it needs a listener are kept so that a hit
 * on a profile's raw bytes needs nothing parsed (husk_seccomp_take_cached). */
struct cache_header {
	char magic[8];
	uint64_t key_len;
	uint64_t bpf_len;
	uint64_t bpf_hash; /* FNV-1a of the BPF: catches a torn or corrupted file */
	uint32_t flags;	   /* SECCOMP_FILTER_FLAG_* the profile names */
	uint32_t needs_listener;
};
static const char cache_magic[8] = {'H', 'U', 'S', 'K', 'B', 'P', 'F', '2'};

/* Everything the BPF depends on: a short prefix, then the profile's text
 * (kept where it is, never copied into one string: a 7.5 kB vasprintf and
 * its fresh pages cost create ~0.2 ms).  libseccomp's output changes with
 * its version and with the API level it finds in the kernel, and the
 * native architecture is that of this binary, not of the machine.  The
 * kernel's build (release and version, which has its build number and
 * date) stands for the API level: asking libseccomp for it probes the
 * kernel with a dozen syscalls. */
struct cache_key {
	char prefix[640];
	size_t prefix_len;
	const char *profile;
	size_t profile_len;
	uint64_t hash; /* FNV-1a of prefix then profile: the file's name */
};

static bool cache_key_init(struct cache_key *k, const char *profile, size_t len)
{
	struct utsname u;
	if (uname(&u) < 0)
		return false;
	const struct scmp_version *v = seccomp_version();
	int n = snprintf(k->prefix, sizeof(k->prefix),
			 "husk seccomp cache 6\nlibseccomp %u.%u.%u\nkernel %s %s %s\n"
			 "native arch %" PRIu32 "\n",
			 v->major, v->minor, v->micro, u.release, u.version, u.machine,
			 seccomp_arch_native());
	if (n < 0 || (size_t)n >= sizeof(k->prefix))
		return false;
	k->prefix_len = (size_t)n;
	k->profile = profile;
	k->profile_len = len;
	k->hash =
		husk_fnv1a64(profile, len, husk_fnv1a64(k->prefix, k->prefix_len, HUSK_FNV1A_INIT));
	return true;
}

/* A hit fills f->insns; anything wrong with the file is a miss. */
static bool cache_load(const char *path, const struct cache_key *k, struct husk_seccomp *f)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return false;
	/* we are about to load this into a container as its syscall filter:
	 * trust only a file we wrote, that nobody else can have changed */
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022))
		return false;
	struct cache_header h;
	size_t key_len = k->prefix_len + k->profile_len;
	if (husk_pread_all(fd, &h, sizeof(h), 0) < 0 || memcmp(h.magic, cache_magic, 8) != 0 ||
	    h.key_len != key_len || h.bpf_len == 0 || h.bpf_len % sizeof(struct sock_filter) ||
	    h.bpf_len / sizeof(struct sock_filter) > BPF_MAXINSNS ||
	    (uint64_t)st.st_size != sizeof(h) + h.key_len + h.bpf_len)
		return false;
	/* the full key, not the hash in the file name, decides a hit: its
	 * prefix, then the profile, compared as they are read */
	if (!husk_pread_matches(fd, sizeof(h), k->prefix, k->prefix_len) ||
	    !husk_pread_matches(fd, (off_t)(sizeof(h) + k->prefix_len), k->profile, k->profile_len))
		return false;
	cleanup_free struct sock_filter *insns = malloc(h.bpf_len);
	if (!insns || husk_pread_all(fd, insns, h.bpf_len, (off_t)(sizeof(h) + key_len)) < 0 ||
	    husk_fnv1a64(insns, h.bpf_len, HUSK_FNV1A_INIT) != h.bpf_hash)
		return false;
	f->insns = steal_ptr(insns);
	f->n_insns = h.bpf_len / sizeof(struct sock_filter);
	f->flags = h.flags;
	f->needs_listener = h.needs_listener != 0;
	return true;
}

/* At most HUSK_SECCOMP_CACHE_MAX filters stay: after a store (a miss, which
 * just paid for a compile) the oldest by mtime go.  A hit never scans. */
#define HUSK_SECCOMP_CACHE_MAX 64
static void cache_trim(const char *cache_dir)
{
	DIR *d = opendir(cache_dir);
	if (!d)
		return;
	struct ent {
		char name[64];
		struct timespec mtime;
	} *v = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		struct stat st;
		if (l < 5 || l >= sizeof(v->name) || strcmp(e->d_name + l - 4, ".bpf") != 0 ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		memcpy(v[n].name, e->d_name, l + 1);
		v[n++].mtime = st.st_mtim;
	}
	while (n > HUSK_SECCOMP_CACHE_MAX) {
		size_t old = 0;
		for (size_t i = 1; i < n; i++)
			if (v[i].mtime.tv_sec < v[old].mtime.tv_sec ||
			    (v[i].mtime.tv_sec == v[old].mtime.tv_sec &&
			     v[i].mtime.tv_nsec < v[old].mtime.tv_nsec))
				old = i;
		unlinkat(dirfd(d), v[old].name, 0);
		v[old] = v[--n];
	}
	free(v);
	closedir(d);
}

/* Best effort: the filter works without the cache.  A unique temp name
 * (not a pid-based one) because the engine may compile in several threads
 * of one process.  No fsync: a file torn by a crash fails the length or
 * hash check and is a miss, and skipping it keeps a miss fast. */
static void cache_store(const char *cache_dir, const char *path, const struct cache_key *k,
			const struct husk_seccomp *f)
{
	if (husk_mkdir_p(cache_dir, 0700, NULL) < 0)
		return;
	size_t key_len = k->prefix_len + k->profile_len,
	       bpf_len = f->n_insns * sizeof(struct sock_filter);
	struct cache_header h = {.key_len = key_len,
				 .bpf_len = bpf_len,
				 .bpf_hash = husk_fnv1a64(f->insns, bpf_len, HUSK_FNV1A_INIT),
				 .flags = f->flags,
				 .needs_listener = f->needs_listener};
	memcpy(h.magic, cache_magic, sizeof(h.magic));
	cleanup_free char *tmp = husk_strdup_printf("%s/.tmp-XXXXXX", cache_dir);
	cleanup_close int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0)
		return;
	struct iovec iov[] = {{&h, sizeof(h)},
			      {(void *)k->prefix, k->prefix_len},
			      {(void *)k->profile, k->profile_len},
			      {f->insns, bpf_len}};
	ssize_t want = (ssize_t)(sizeof(h) + key_len + bpf_len);
	ssize_t w;
	do
		w = writev(fd, iov, ARRAY_SIZE(iov));
	while (w < 0 && errno == EINTR);
	/* a short write to a regular file means the disk is full: give up */
	if (w != want || rename(tmp, path) < 0) {
		unlink(tmp);
		return;
	}
	cache_trim(cache_dir);
}

char *husk_seccomp_cache_dir(void)
{
	const char *env = getenv("HUSK_SECCOMP_CACHE");
	if (env)
		return *env ? strdup(env) : NULL;
	if (geteuid() == 0)
		return strdup("/var/cache/husk/seccomp");
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (xdg && *xdg == '/')
		return husk_strdup_printf("%s/husk/seccomp", xdg);
	if (home && *home == '/')
		return husk_strdup_printf("%s/.cache/husk/seccomp", home);
	return NULL;
}

/* ---- the API -------------------------------------------------------- */

static void seccomp_freep(struct husk_seccomp **f)
{
	husk_seccomp_free(*f);
}

static char *cache_path(const char *cache_dir, const struct cache_key *k)
{
	return husk_strdup_printf("%s/%016" PRIx64 ".bpf", cache_dir, k->hash);
}

int husk_seccomp_take_cached(char *config, const char *cache_dir, struct husk_seccomp **ret,
			     char **ret_raw)
{
	*ret = NULL;
	*ret_raw = NULL;
	static const char *const keys[] = {"linux", "seccomp"};
	size_t off, len;
	if (!cache_dir || husk_json_member_span(config, strlen(config), keys, 2, &off, &len) != 1 ||
	    config[off] != '{')
		return 0;
	char *raw = strndup(config + off, len);
	if (!raw)
		return -ENOMEM;
	struct cache_key k;
	if (!cache_key_init(&k, raw, len)) {
		*ret_raw = raw;
		return 0;
	}
	cleanup_free char *path = cache_path(cache_dir, &k);
	struct husk_seccomp *f = calloc(1, sizeof(*f));
	if (!f) {
		free(raw);
		return -ENOMEM;
	}
	/* a listener's path and metadata are the parsed profile's: such a
	 * profile takes the full path (they are rare) */
	if (!cache_load(path, &k, f) || f->needs_listener) {
		husk_seccomp_free(f);
		*ret_raw = raw;
		return 0;
	}
	f->from_cache = true;
	f->profile_text = raw;
	/* same length, so that the parser's line and column in an error
	 * still point into the file */
	memset(config + off, ' ', len);
	memcpy(config + off, "null", 4);
	*ret = f;
	return 1;
}

int husk_seccomp_compile(json_t *seccomp, const char *cache_dir, struct husk_seccomp **ret,
			 husk_error **err)
{
	return husk_seccomp_compile_raw(seccomp, NULL, cache_dir, ret, err);
}

int husk_seccomp_compile_raw(json_t *seccomp, const char *raw, const char *cache_dir,
			     struct husk_seccomp **ret, husk_error **err)
{
	__attribute__((cleanup(seccomp_freep))) struct husk_seccomp *f = calloc(1, sizeof(*f));
	if (!f)
		return husk_fail(err, ENOMEM, WHERE);
	uint32_t default_action = 0;
	cleanup_free uint32_t *archs = NULL;
	size_t n_archs = 0;
	if (parse_top(seccomp, f, &default_action, &archs, &n_archs, err) < 0)
		return -1;

	/* the profile's own bytes when the caller has them (the key the
	 * next create looks up without parsing), else keys sorted: the same
	 * profile written in another order is a hit; state.json's
	 * seccomp.json takes this text too, made once */
	if (cache_dir &&
	    !(f->profile_text =
		      raw ? strdup(raw) : json_dumps(seccomp, JSON_COMPACT | JSON_SORT_KEYS)))
		return husk_fail(err, ENOMEM, WHERE);
	struct cache_key k;
	cleanup_free char *path = NULL;
	if (f->profile_text && cache_key_init(&k, f->profile_text, strlen(f->profile_text))) {
		path = cache_path(cache_dir, &k);
		f->from_cache = cache_load(path, &k, f);
	}
	if (f->from_cache) {
		if (walk_syscalls(seccomp, default_action, NULL, f, err) < 0)
			return -1;
	} else {
		if (compile(seccomp, default_action, archs, n_archs, f, err) < 0)
			return -1;
		if (path)
			cache_store(cache_dir, path, &k, f);
	}
	*ret = steal_ptr(f);
	return 0;
}

int husk_seccomp_load(struct husk_seccomp *f, int *ret_listener_fd, husk_error **err)
{
	if (ret_listener_fd)
		*ret_listener_fd = -1;
	unsigned int flags = f->flags;
	if (f->needs_listener) {
		flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
		/* with TSYNC alone a failure returns the offending thread's
		 * id, which the kernel will not mix up with a listener fd:
		 * it refuses TSYNC|NEW_LISTENER unless failures are ESRCH */
		if (flags & SECCOMP_FILTER_FLAG_TSYNC)
			flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
	}
	struct sock_fprog prog = {.len = (unsigned short)f->n_insns, .filter = f->insns};
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (r < 0) {
		if (errno == EACCES)
			return husk_fail(err, errno,
					 "seccomp(SECCOMP_SET_MODE_FILTER): needs "
					 "no_new_privs or CAP_SYS_ADMIN");
		return husk_fail(err, errno, "seccomp(SECCOMP_SET_MODE_FILTER) with flags %#x",
				 flags);
	}
	if (f->needs_listener) {
		if (ret_listener_fd)
			*ret_listener_fd = (int)r; /* the kernel sets O_CLOEXEC on it */
		else
			close((int)r);
	} else if (r > 0) {
		return husk_fail(err, 0,
				 "seccomp(SECCOMP_SET_MODE_FILTER): thread %ld could not "
				 "be synchronized",
				 r);
	}
	return 0;
}

bool husk_seccomp_allows(const struct husk_seccomp *f, const int *nrs, size_t n)
{
#if defined(__x86_64__)
	const uint32_t arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
	const uint32_t arch = AUDIT_ARCH_AARCH64;
#else
	return false;
#endif
	for (size_t i = 0; i < n; i++) {
		uint32_t v;
		if (!husk_bpf_decides(f->insns, f->n_insns, arch, (uint32_t)nrs[i], &v))
			return false;
		uint32_t action = v & SECCOMP_RET_ACTION_FULL;
		if (action != SECCOMP_RET_ALLOW && action != SECCOMP_RET_LOG)
			return false;
	}
	return true;
}

bool husk_seccomp_needs_listener(const struct husk_seccomp *f)
{
	return f && f->needs_listener;
}

const char *husk_seccomp_listener_path(const struct husk_seccomp *f)
{
	return f ? f->listener_path : NULL;
}

const char *husk_seccomp_listener_metadata(const struct husk_seccomp *f)
{
	return f ? f->listener_metadata : NULL;
}

const void *husk_seccomp_bpf(const struct husk_seccomp *f, size_t *ret_len)
{
	if (ret_len)
		*ret_len = f ? f->n_insns * sizeof(struct sock_filter) : 0;
	return f ? f->insns : NULL;
}

char *husk_seccomp_take_text(struct husk_seccomp *f)
{
	return f ? steal_ptr(f->profile_text) : NULL;
}

const char *husk_seccomp_text(const struct husk_seccomp *f)
{
	return f ? f->profile_text : NULL;
}

bool husk_seccomp_from_cache(const struct husk_seccomp *f)
{
	return f && f->from_cache;
}

int husk_seccomp_send_listener(int sock, int listener_fd, const char *state_json, husk_error **err)
{
	/* a stream carries SCM_RIGHTS on a byte, so the payload is never empty */
	const char *p = state_json && *state_json ? state_json : "{}";
	size_t len = strlen(p);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = {(void *)p, len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &listener_fd, sizeof(int));
	while (len > 0) {
		/* MSG_NOSIGNAL: an agent that hung up is an error, not SIGPIPE */
		ssize_t w = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return husk_fail(err, errno, "seccomp agent: send the listener fd");
		/* the fd went with the first bytes; send the rest plainly */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		iov.iov_base = (char *)iov.iov_base + w;
		iov.iov_len -= (size_t)w;
		len -= (size_t)w;
	}
	return 0;
}

void husk_seccomp_free(struct husk_seccomp *f)
{
	if (!f)
		return;
	free(f->insns);
	free(f->listener_path);
	free(f->listener_metadata);
	free(f->profile_text);
	free(f);
}

/* seccomp.c, checked by effect where possible: a forked child loads the
 * filter and reports through its exit status what its syscalls returned. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bpf-shrink.h"
#include "error.h"
#include "seccomp.h"
#include "sync.h"

/* ---- helpers -------------------------------------------------------- */

static json_t *profile(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j)
		fail_msg("bad test JSON: %s: %s", je.text, text);
	return j;
}

static struct husk_seccomp *compile_ok(const char *text, const char *cache_dir)
{
	json_t *j = profile(text);
	struct husk_seccomp *f = NULL;
	husk_error *err = NULL;
	int r = husk_seccomp_compile(j, cache_dir, &f, &err);
	json_decref(j);
	if (r < 0)
		fail_msg("compile failed: %s", err ? err->msg : "(no message)");
	assert_non_null(f);
	return f;
}

/* Compile must fail; returns the message (caller frees). */
static char *compile_err(const char *text)
{
	json_t *j = profile(text);
	struct husk_seccomp *f = NULL;
	husk_error *err = NULL;
	int r = husk_seccomp_compile(j, NULL, &f, &err);
	json_decref(j);
	assert_true(r < 0);
	assert_null(f);
	assert_non_null(err);
	char *m = strdup(err->msg);
	husk_error_free(err);
	return m;
}

/* Fork; the child sets no_new_privs (so that no CAP_SYS_ADMIN is needed),
 * loads f and exits with check()'s result.  Returns that status, or
 * 100+ for a failed load, 128+signal for a killed child. */
static int run_filtered(struct husk_seccomp *f, int (*check)(void))
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(100);
		husk_error *err = NULL;
		int lfd = -1;
		if (husk_seccomp_load(f, &lfd, &err) < 0) {
			fprintf(stderr, "load: %s\n", err->msg);
			_exit(101);
		}
		/* the raw exit_group: a sanitizer's _exit hook would make
		 * syscalls that a default-deny filter refuses */
		syscall(SYS_exit_group, check());
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* -1 with errno e from a raw syscall: 0 if so, else a code saying what */
static int expect_errno(long r, int e, int code)
{
	return (r == -1 && errno == e) ? 0 : code;
}

static const char *GETPPID_42 =
	"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
	"{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":42}]}";

static int check_getppid_42(void)
{
	/* the raw syscall: glibc's getppid() cannot fail, so it hands back
	 * the kernel's -42 as the parent's pid and leaves errno alone */
	errno = 0;
	return expect_errno(syscall(SYS_getppid), 42, 1);
}

/* ---- tests ---------------------------------------------------------- */

static void test_errno_rule(void **state)
{
	(void)state;
	struct husk_seccomp *f = compile_ok(GETPPID_42, NULL);
	assert_false(husk_seccomp_needs_listener(f));
	assert_false(husk_seccomp_from_cache(f));
	assert_int_equal(run_filtered(f, check_getppid_42), 0);
	husk_seccomp_free(f);
}

static int check_personality(void)
{
	/* 0xffffffff queries the persona without changing it */
	errno = 0;
	if (expect_errno(syscall(SYS_personality, 0x1234UL), 43, 1))
		return 1;
	if (syscall(SYS_personality, 0xffffffffUL) < 0)
		return 2;
	return 0;
}

static void test_args_eq(void **state)
{
	(void)state;
	struct husk_seccomp *f = compile_ok(
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"personality\"],"
		"\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":43,"
		"\"args\":[{\"index\":0,\"value\":4660,\"op\":\"SCMP_CMP_EQ\"}]}]}",
		NULL);
	assert_int_equal(run_filtered(f, check_personality), 0);
	husk_seccomp_free(f);
}

static int check_and(void)
{
	/* both conditions: hit; only the first: a plain getpriority */
	if (expect_errno(syscall(SYS_getpriority, PRIO_PROCESS, 4242), 44, 1))
		return 1;
	errno = 0;
	long r = syscall(SYS_getpriority, PRIO_PROCESS, 0);
	if (r < 0)
		return 2;
	r = syscall(SYS_getpriority, PRIO_PGRP, 4242);
	if (r == -1 && errno == 44)
		return 3;
	return 0;
}

static void test_args_and(void **state)
{
	(void)state;
	struct husk_seccomp *f = compile_ok(
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpriority\"],"
		"\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":44,\"args\":["
		"{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"},"
		"{\"index\":1,\"value\":4242,\"op\":\"SCMP_CMP_EQ\"}]}]}",
		NULL);
	assert_int_equal(run_filtered(f, check_and), 0);
	husk_seccomp_free(f);
}

static int check_or(void)
{
	if (expect_errno(syscall(SYS_personality, 0x10000UL), 45, 1))
		return 1;
	if (expect_errno(syscall(SYS_personality, 0x20000UL), 45, 2))
		return 2;
	/* MASKED_EQ: (0x123456 & 0xff0000) == 0x120000 */
	if (expect_errno(syscall(SYS_personality, 0x123456UL), 45, 3))
		return 3;
	if (syscall(SYS_personality, 0xffffffffUL) < 0)
		return 4;
	return 0;
}

/* one index used twice: runc's rule, every condition is its own rule (OR) */
static void test_args_or_same_index(void **state)
{
	(void)state;
	struct husk_seccomp *f = compile_ok(
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"personality\"],"
		"\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":45,\"args\":["
		"{\"index\":0,\"value\":65536,\"op\":\"SCMP_CMP_EQ\"},"
		"{\"index\":0,\"value\":131072,\"op\":\"SCMP_CMP_EQ\"},"
		"{\"index\":0,\"value\":16711680,\"valueTwo\":1179648,"
		"\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}",
		NULL);
	assert_int_equal(run_filtered(f, check_or), 0);
	husk_seccomp_free(f);
}

static int check_default_eperm(void)
{
	return expect_errno(syscall(SYS_getppid), EPERM, 1);
}

static int check_default_55(void)
{
	return expect_errno(syscall(SYS_getppid), 55, 1);
}

/* defaultAction ERRNO: EPERM unless defaultErrnoRet says otherwise.  The
 * child needs only exit_group after the load. */
static void test_default_errno(void **state)
{
	(void)state;
	struct husk_seccomp *f =
		compile_ok("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
			   "{\"names\":[\"exit_group\",\"exit\"],\"action\":\"SCMP_ACT_ALLOW\"}]}",
			   NULL);
	assert_int_equal(run_filtered(f, check_default_eperm), 0);
	husk_seccomp_free(f);
	f = compile_ok("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":55,"
		       "\"syscalls\":[{\"names\":[\"exit_group\",\"exit\"],"
		       "\"action\":\"SCMP_ACT_ALLOW\"}]}",
		       NULL);
	assert_int_equal(run_filtered(f, check_default_55), 0);
	husk_seccomp_free(f);
}

static void test_unknown_syscall_skipped(void **state)
{
	(void)state;
	struct husk_seccomp *f =
		compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
			   "{\"names\":[\"no_such_syscall_xyz\",\"getppid\",\"another_bogus\"],"
			   "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":42}]}",
			   NULL);
	assert_int_equal(run_filtered(f, check_getppid_42), 0);
	husk_seccomp_free(f);
}

/* libseccomp refuses a rule with the default action: it is skipped */
static void test_rule_equal_to_default_skipped(void **state)
{
	(void)state;
	struct husk_seccomp *f = compile_ok(
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":"
		"[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\",\"SCMP_ARCH_AARCH64\"],"
		"\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"],"
		"\"syscalls\":[{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":42}]}",
		NULL);
	assert_int_equal(run_filtered(f, check_getppid_42), 0);
	husk_seccomp_free(f);
}

static void assert_error(const char *text, const char *want)
{
	char *m = compile_err(text);
	if (strcmp(m, want) != 0)
		fail_msg("got error \"%s\", want \"%s\"", m, want);
	free(m);
}

static void test_errors_name_the_field(void **state)
{
	(void)state;
	assert_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
		     "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\"},"
		     "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_FOO\"}]}",
		     "linux.seccomp.syscalls[1].action: unknown action \"SCMP_ACT_FOO\"");
	assert_error("{\"defaultAction\":\"SCMP_ACT_NOPE\"}",
		     "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_NOPE\"");
	assert_error("{}", "linux.seccomp.defaultAction: missing");
	assert_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":"
		     "[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_VAX\"]}",
		     "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"");
	assert_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_X\"]}",
		     "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_X\"");
	assert_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"kill\"],"
		     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,"
		     "\"op\":\"SCMP_CMP_ABOUT\"}]}]}",
		     "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_ABOUT\"");
	assert_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"kill\"],"
		     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,"
		     "\"op\":\"SCMP_CMP_EQ\"}]}]}",
		     "linux.seccomp.syscalls[0].args[0].index: must be an integer from 0 to 5");
	assert_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"kill\"],"
		     "\"action\":\"SCMP_ACT_KILL\",\"errnoRet\":1}]}",
		     "linux.seccomp.syscalls[0].errnoRet: not valid with action \"SCMP_ACT_KILL\"");
	assert_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"kill\"],"
		     "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
		     "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY needs "
		     "linux.seccomp.listenerPath");
	assert_error("{\"defaultAction\":\"SCMP_ACT_NOTIFY\",\"listenerPath\":\"/x\"}",
		     "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
}

/* ---- the cache ------------------------------------------------------ */

static char *make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *d = NULL;
	assert_true(asprintf(&d, "%s/husk-seccomp-test-XXXXXX", base ? base : "/tmp") > 0);
	assert_non_null(mkdtemp(d));
	return d;
}

/* The one cache file in dir (caller frees), NULL if none. */
static char *cache_file(const char *dir)
{
	char *cmd = NULL, *path = NULL;
	assert_true(asprintf(&cmd, "ls -1 %s/*.bpf 2>/dev/null", dir) > 0);
	FILE *p = popen(cmd, "r");
	free(cmd);
	assert_non_null(p);
	char line[4096];
	if (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		path = strdup(line);
		assert_null(fgets(line, sizeof(line), p)); /* only one */
	}
	pclose(p);
	return path;
}

static void rm_rf(const char *dir)
{
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void assert_same_bpf(const struct husk_seccomp *a, const struct husk_seccomp *b)
{
	size_t la = 0, lb = 0;
	const void *pa = husk_seccomp_bpf(a, &la), *pb = husk_seccomp_bpf(b, &lb);
	assert_true(la > 0);
	assert_int_equal(la, lb);
	assert_memory_equal(pa, pb, la);
}

static void test_cache_hit(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char *cdir = NULL;
	/* a cache dir that does not exist yet is created */
	assert_true(asprintf(&cdir, "%s/cache", dir) > 0);

	struct husk_seccomp *nocache = compile_ok(GETPPID_42, NULL);
	struct husk_seccomp *miss = compile_ok(GETPPID_42, cdir);
	assert_false(husk_seccomp_from_cache(miss));
	char *path = cache_file(cdir);
	assert_non_null(path);
	struct stat st1, st2;
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_mode & 0777, 0600);

	struct husk_seccomp *hit = compile_ok(GETPPID_42, cdir);
	assert_true(husk_seccomp_from_cache(hit));
	assert_same_bpf(nocache, miss);
	assert_same_bpf(miss, hit);
	/* a hit does not rewrite the file */
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(run_filtered(hit, check_getppid_42), 0);

	/* the same profile with its keys in another order is the same key */
	struct husk_seccomp *reordered =
		compile_ok("{\"syscalls\":[{\"errnoRet\":42,\"action\":\"SCMP_ACT_ERRNO\","
			   "\"names\":[\"getppid\"]}],\"defaultAction\":\"SCMP_ACT_ALLOW\"}",
			   cdir);
	assert_true(husk_seccomp_from_cache(reordered));

	/* another profile is another file */
	struct husk_seccomp *other = compile_ok(
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
		"{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":43}]}",
		cdir);
	assert_false(husk_seccomp_from_cache(other));

	husk_seccomp_free(nocache);
	husk_seccomp_free(miss);
	husk_seccomp_free(hit);
	husk_seccomp_free(reordered);
	husk_seccomp_free(other);
	free(path);
	free(cdir);
	rm_rf(dir);
	free(dir);
}

/* create's fast path: a profile's bytes found in config.json's text and
 * looked up in the cache; a hit blanks them so the parser skips them. */
static void test_take_cached(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	const char *prof = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
			   "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\","
			   "\"errnoRet\":42}]}";
	char *config = NULL;
	assert_true(
		asprintf(&config,
			 "{\"ociVersion\":\"1.0.2\",\"annotations\":{\"x\":\"\\\"seccomp\\\"\"},"
			 "\"linux\":{\"namespaces\":[{\"type\":\"pid\"}],\"seccomp\":%s,"
			 "\"sysctl\":{}}}",
			 prof) > 0);
	char *orig = strdup(config);
	struct husk_seccomp *f = NULL;
	char *raw = NULL;

	/* no cache dir: nothing found, nothing changed */
	assert_int_equal(husk_seccomp_take_cached(config, NULL, &f, &raw), 0);
	assert_null(f);
	assert_null(raw);
	/* a miss hands back the profile's bytes, the text unchanged */
	assert_int_equal(husk_seccomp_take_cached(config, dir, &f, &raw), 0);
	assert_null(f);
	assert_non_null(raw);
	assert_string_equal(raw, prof);
	assert_string_equal(config, orig);
	/* the slow path stores the filter under those bytes ... */
	json_t *j = profile(prof);
	husk_error *err = NULL;
	struct husk_seccomp *slow = NULL;
	assert_int_equal(husk_seccomp_compile_raw(j, raw, dir, &slow, &err), 0);
	assert_false(husk_seccomp_from_cache(slow));
	free(raw);
	raw = NULL;
	/* ... and the next create finds them without a parse */
	assert_int_equal(husk_seccomp_take_cached(config, dir, &f, &raw), 1);
	assert_non_null(f);
	assert_null(raw);
	assert_true(husk_seccomp_from_cache(f));
	assert_same_bpf(slow, f);
	assert_int_equal(run_filtered(f, check_getppid_42), 0);
	char *text = husk_seccomp_take_text(f);
	assert_string_equal(text, prof); /* state.json's seccomp.json */
	free(text);
	/* the text keeps its length; the rest parses as before, with
	 * linux.seccomp null in place of the profile */
	assert_int_equal(strlen(config), strlen(orig));
	json_t *c = json_loads(config, 0, NULL), *o = json_loads(orig, 0, NULL);
	assert_non_null(c);
	json_t *lx = json_object_get(c, "linux");
	assert_true(json_is_null(json_object_get(lx, "seccomp")));
	json_object_del(json_object_get(o, "linux"), "seccomp");
	json_object_del(lx, "seccomp");
	assert_true(json_equal(c, o));
	json_decref(c);
	json_decref(o);
	husk_seccomp_free(f);
	husk_seccomp_free(slow);
	json_decref(j);

	/* a profile with a listener always takes the full path: its path
	 * and metadata are the parsed profile's */
	const char *lprof = "{\"defaultAction\":\"SCMP_ACT_ALLOW\","
			    "\"listenerPath\":\"/run/agent.sock\",\"syscalls\":["
			    "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}";
	char *lconfig = NULL;
	assert_true(asprintf(&lconfig, "{\"linux\":{\"seccomp\":%s}}", lprof) > 0);
	j = profile(lprof);
	assert_int_equal(husk_seccomp_compile_raw(j, lprof, dir, &slow, &err), 0);
	husk_seccomp_free(slow);
	assert_int_equal(husk_seccomp_compile_raw(j, lprof, dir, &slow, &err), 0);
	assert_true(husk_seccomp_from_cache(slow)); /* it is cached ... */
	assert_true(husk_seccomp_needs_listener(slow));
	husk_seccomp_free(slow);
	json_decref(j);
	char *lorig = strdup(lconfig);
	assert_int_equal(husk_seccomp_take_cached(lconfig, dir, &f, &raw), 0); /* ... not taken */
	assert_null(f);
	assert_string_equal(raw, lprof);
	assert_string_equal(lconfig, lorig);
	free(raw);
	raw = NULL;

	/* linux.seccomp twice: the scan leaves it to the parser */
	char *dup = NULL;
	assert_true(asprintf(&dup, "{\"linux\":{\"seccomp\":%s,\"seccomp\":%s}}", prof, prof) > 0);
	assert_int_equal(husk_seccomp_take_cached(dup, dir, &f, &raw), 0);
	assert_null(f);
	assert_null(raw);

	free(dup);
	free(lconfig);
	free(lorig);
	free(config);
	free(orig);
	rm_rf(dir);
	free(dir);
}

/* ---- bpf-shrink.c ---------------------------------------------------- */

/* A classic BPF interpreter for what libseccomp emits, independent of
 * bpf-shrink.c's own evaluator (which only follows nr and arch). */
static uint32_t interp(const struct sock_filter *p, size_t n, const struct seccomp_data *d)
{
	uint32_t a = 0;
	size_t pc = 0;
	const uint32_t *w = (const uint32_t *)d;
	for (;;) {
		assert_true(pc < n);
		const struct sock_filter *f = &p[pc];
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			a = w[f->k / 4];
			pc++;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += 1 + (a == f->k ? f->jt : f->jf);
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += 1 + (a > f->k ? f->jt : f->jf);
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += 1 + (a >= f->k ? f->jt : f->jf);
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += 1 + ((a & f->k) ? f->jt : f->jf);
			break;
		case BPF_JMP | BPF_JA:
			pc += 1 + f->k;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			a &= f->k;
			pc++;
			break;
		case BPF_RET | BPF_K:
			return f->k;
		default:
			fail_msg("instruction %#x at %zu", f->code, pc);
		}
	}
}

/* libseccomp's own program for a ctx (not shrunk) */
static struct sock_filter *export_raw(scmp_filter_ctx ctx, size_t *ret_n)
{
	int fd = memfd_create("test-bpf", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(seccomp_export_bpf(ctx, fd), 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	struct sock_filter *p = malloc((size_t)st.st_size);
	assert_int_equal(pread(fd, p, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*ret_n = (size_t)st.st_size / sizeof(*p);
	return p;
}

/* Docker's default profile in miniature, on x86_64, x86 and x32: most
 * syscalls allowed (in runs, with gaps), a few refused with another errno,
 * argument rules (personality's values, clone's flags under a mask, a
 * socket family refused with its own errno), clone3 ENOSYS. */
static scmp_filter_ctx docker_like(uint32_t def)
{
	scmp_filter_ctx ctx = seccomp_init(def);
	assert_non_null(ctx);
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	assert_int_equal(seccomp_arch_add(ctx, SCMP_ARCH_X86), 0);
	assert_int_equal(seccomp_arch_add(ctx, SCMP_ARCH_X32), 0);
	const char *skip[] = {"personality", "clone", "clone3", "socket", "getppid", "mkdir"};
	for (int nr = 0; nr < 460; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
		if (!name)
			continue;
		bool special = false;
		for (size_t i = 0; i < sizeof(skip) / sizeof(*skip); i++)
			special |= strcmp(name, skip[i]) == 0;
		int sys = seccomp_syscall_resolve_name(name);
		if (!special && nr % 11 != 5 && sys >= 0)
			assert_int_equal(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sys, 0), 0);
		free(name);
	}
	uint32_t per[] = {0, 8, 0x20000, 0x20008, 0xffffffff};
	for (size_t i = 0; i < sizeof(per) / sizeof(*per); i++)
		assert_int_equal(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
						  SCMP_A0(SCMP_CMP_EQ, per[i])),
				 0);
	assert_int_equal(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
					  SCMP_A0(SCMP_CMP_MASKED_EQ, 0x7e020000, 0)),
			 0);
	assert_int_equal(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
					  SCMP_A0(SCMP_CMP_EQ, 40)),
			 0);
	assert_int_equal(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0), 0);
	assert_int_equal(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(42), SCMP_SYS(getppid), 0), 0);
	return ctx;
}

static uint64_t rnd64(void)
{
	return ((uint64_t)(uint32_t)random() << 32) ^ (uint64_t)(uint32_t)random();
}

/* Both programs decide alike for every syscall number of every
 * architecture (and a few that are none), with arguments that hit and miss
 * the rules' values. */
static void assert_same_decisions(const struct sock_filter *p, size_t n,
				  const struct sock_filter *q, size_t m)
{
	const uint32_t arches[] = {AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, 0,
				   0xffffffff};
	const uint64_t vals[] = {
		0, 8, 40, 0x20000, 0x20008, 0xffffffff, 0x100000000ull, 0x7e020000, 0x00020000};
	srandom(7);
	size_t tried = 0;
	for (size_t a = 0; a < sizeof(arches) / sizeof(*arches); a++)
		for (uint32_t base = 0; base < 3; base++)
			for (uint32_t nr = 0; nr < 1100; nr++)
				for (int r = 0; r < 12; r++) {
					struct seccomp_data d = {0};
					d.arch = arches[a];
					d.nr = (int)(nr + (base == 1   ? 0x40000000u
							   : base == 2 ? 0xfffffc00u
								       : 0));
					d.instruction_pointer = rnd64();
					for (int i = 0; i < 6; i++)
						d.args[i] = r < 9 ? vals[(r + i) % 9] : rnd64();
					uint32_t x = interp(p, n, &d), y = interp(q, m, &d);
					if (x != y)
						fail_msg("arch %#x nr %#x arg0 %#llx: %#x, shrunk "
							 "%#x",
							 d.arch, (unsigned)d.nr,
							 (unsigned long long)d.args[0], x, y);
					tried++;
				}
	assert_true(tried > 100000);
}

static void test_shrink_same_decisions(void **state)
{
	(void)state;
	const uint32_t defs[] = {SCMP_ACT_ERRNO(EPERM), SCMP_ACT_KILL_PROCESS};
	for (size_t i = 0; i < 2; i++) {
		scmp_filter_ctx ctx = docker_like(defs[i]);
		size_t n = 0, m = 0;
		struct sock_filter *p = export_raw(ctx, &n);
		struct sock_filter *q = husk_bpf_shrink(p, n, &m);
		assert_non_null(q);
		assert_true(m < n * 3 / 4); /* the point of it */
		assert_same_decisions(p, n, q, m);
		free(p);
		free(q);
		seccomp_release(ctx);
	}
}

/* The kernel takes the shrunk program, and it does what the profile says
 * (husk_seccomp_compile shrinks what it compiles). */
static int check_docker_like(void)
{
	errno = 0;
	if (expect_errno(syscall(SYS_getppid), 42, 1))
		return 1;
	if (expect_errno(syscall(SYS_socket, 40, SOCK_STREAM, 0), EAFNOSUPPORT, 2))
		return 2;
	if (expect_errno(syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0), EPERM, 3))
		return 3;
	if (expect_errno(syscall(SYS_personality, 0x1234), EPERM, 4))
		return 4;
	if (syscall(SYS_personality, 0xffffffff) < 0)
		return 5;
	if (expect_errno(syscall(SYS_mkdir, "/nonexistent-x", 0700), EPERM, 6))
		return 6;
	return syscall(SYS_getpid) > 0 ? 0 : 7;
}

static void test_shrink_loads(void **state)
{
	(void)state;
	char *names = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&names, &len);
	for (int nr = 0; nr < 460; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
		if (name && strcmp(name, "personality") && strcmp(name, "socket") &&
		    strcmp(name, "getppid") && strcmp(name, "mkdir"))
			fprintf(m, "%s\"%s\"", ftell(m) ? "," : "", name);
		free(name);
	}
	fclose(m);
	char *text = NULL;
	assert_true(
		asprintf(
			&text,
			"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":["
			"\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],\"syscalls\":["
			"{\"names\":[%s],\"action\":\"SCMP_ACT_ALLOW\"},"
			"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\","
			"\"args\":[{\"index\":0,\"value\":4294967295,\"op\":\"SCMP_CMP_EQ\"}]},"
			"{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":97,"
			"\"args\":[{\"index\":0,\"value\":40,\"op\":\"SCMP_CMP_EQ\"}]},"
			"{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":42}]}",
			names) > 0);
	struct husk_seccomp *f = compile_ok(text, NULL);
	size_t blen = 0;
	husk_seccomp_bpf(f, &blen);
	/* one test per allowed syscall per arch would be > 900; a return
	 * per interval (before the leaves were shared) about 560 */
	assert_true(blen / sizeof(struct sock_filter) < 400);
	assert_int_equal(run_filtered(f, check_docker_like), 0);
	husk_seccomp_free(f);
	free(text);
	free(names);
}

/* husk_seccomp_allows: the native syscalls the init needs after an early
 * filter, allowed whatever their arguments, or not */
static void test_allows(void **state)
{
	(void)state;
	const int wait[] = {SYS_recvmsg, SYS_sendmsg, SYS_read, SYS_write, SYS_exit_group};
	struct husk_seccomp *f = compile_ok(
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
		"\"action\":\"SCMP_ACT_ERRNO\"}]}",
		NULL);
	assert_true(husk_seccomp_allows(f, wait, sizeof(wait) / sizeof(wait[0])));
	const int mk[] = {SYS_mkdir};
	assert_false(husk_seccomp_allows(f, mk, 1));
	husk_seccomp_free(f);
	/* denied outright, or only for some arguments: not allowed */
	f = compile_ok(
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"recvmsg\"],"
		"\"action\":\"SCMP_ACT_ERRNO\"}]}",
		NULL);
	assert_false(husk_seccomp_allows(f, wait, sizeof(wait) / sizeof(wait[0])));
	husk_seccomp_free(f);
	f = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"write\"],"
		       "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":99,"
		       "\"op\":\"SCMP_CMP_EQ\"}]}]}",
		       NULL);
	assert_false(husk_seccomp_allows(f, wait, sizeof(wait) / sizeof(wait[0])));
	const int rd[] = {SYS_read};
	assert_true(husk_seccomp_allows(f, rd, 1));
	husk_seccomp_free(f);
	/* a deny-by-default list that names them; a log action counts */
	f = compile_ok(
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"recvmsg\","
		"\"sendmsg\",\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"exit_group\"],\"action\":\"SCMP_ACT_LOG\"}]}",
		NULL);
	assert_true(husk_seccomp_allows(f, wait, sizeof(wait) / sizeof(wait[0])));
	husk_seccomp_free(f);
}

/* Many intervals in one block: a binary search whose left half is longer
 * than a conditional jump's 8-bit offset goes through a JA.  The input is
 * made long on purpose (no-op jumps after each test) so that the shrunk
 * program is shorter and taken. */
#define FAR_VALUES 300
static int check_far(void)
{
	errno = 0;
	if (expect_errno(syscall(1000 + 2 * 77), EPERM, 1)) /* listed: refused */
		return 1;
	if (expect_errno(syscall(1000 + 2 * 77 + 1), ENOSYS, 2)) /* allowed: no such call */
		return 2;
	return syscall(SYS_getpid) > 0 ? 0 : 3;
}

static void test_shrink_far_jumps(void **state)
{
	(void)state;
	size_t n = 0;
	struct sock_filter *p = calloc(2 + FAR_VALUES * 5, sizeof(*p));
	p[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0);
	for (uint32_t i = 0; i < FAR_VALUES; i++) {
		p[n++] =
			(struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1000 + 2 * i, 0, 1);
		p[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
		for (int k = 0; k < 3; k++)
			p[n++] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 0);
	}
	p[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	size_t m = 0;
	struct sock_filter *q = husk_bpf_shrink(p, n, &m);
	assert_non_null(q);
	assert_true(m < n);
	size_t far = 0; /* a test that falls through to a JA over its left half */
	for (size_t i = 0; i + 1 < m; i++)
		far += q[i].code == (BPF_JMP | BPF_JGT | BPF_K) && q[i].jt == 0 && q[i].jf == 1 &&
		       q[i + 1].code == (BPF_JMP | BPF_JA) && q[i + 1].k > 255;
	assert_true(far > 0);
	for (uint32_t nr = 0; nr < 1000 + 2 * FAR_VALUES + 100; nr++) {
		struct seccomp_data d = {.nr = (int)nr, .arch = AUDIT_ARCH_X86_64};
		assert_int_equal(interp(p, n, &d), interp(q, m, &d));
	}
	/* and the kernel takes it */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sock_fprog prog = {.len = (unsigned short)m, .filter = q};
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
			_exit(100);
		syscall(SYS_exit_group, check_far());
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	free(p);
	free(q);
}

/* What it does not take, it leaves: X register, scratch memory, a head
 * that masks nr; and a program it cannot shorten. */
static void test_shrink_leaves_others(void **state)
{
	(void)state;
	struct sock_filter tax[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter masked[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xff),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter jset[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter tiny[] = {
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	size_t m = 0;
	assert_null(husk_bpf_shrink(tax, 3, &m));
	assert_null(husk_bpf_shrink(masked, 5, &m));
	assert_null(husk_bpf_shrink(jset, 4, &m));
	assert_null(husk_bpf_shrink(tiny, 1, &m));
}

/* Flip one byte at offset off from the end of the file (off > 0) or
 * from its start (off <= 0, as -off). */
static void flip_byte(const char *path, long off)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	off_t at = off > 0 ? st.st_size - off : -off;
	unsigned char c;
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x01;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

/* A corrupted BPF (hash check) and a different stored key (what a hash
 * collision looks like) are both misses, and the file is rewritten. */
static void test_cache_rejects_bad_files(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	struct husk_seccomp *f = compile_ok(GETPPID_42, dir);
	husk_seccomp_free(f);
	char *path = cache_file(dir);
	assert_non_null(path);

	flip_byte(path, 3); /* inside the BPF, at the end */
	f = compile_ok(GETPPID_42, dir);
	assert_false(husk_seccomp_from_cache(f));
	assert_int_equal(run_filtered(f, check_getppid_42), 0);
	husk_seccomp_free(f);
	f = compile_ok(GETPPID_42, dir); /* rewritten: a hit again */
	assert_true(husk_seccomp_from_cache(f));
	husk_seccomp_free(f);

	flip_byte(path, -44); /* inside the key, just past the 40-byte header */
	f = compile_ok(GETPPID_42, dir);
	assert_false(husk_seccomp_from_cache(f));
	husk_seccomp_free(f);

	/* a file others could have written is not trusted */
	assert_int_equal(chmod(path, 0622), 0);
	f = compile_ok(GETPPID_42, dir);
	assert_false(husk_seccomp_from_cache(f));
	husk_seccomp_free(f);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* a truncated file */
	assert_int_equal(truncate(path, 20), 0);
	f = compile_ok(GETPPID_42, dir);
	assert_false(husk_seccomp_from_cache(f));
	husk_seccomp_free(f);

	free(path);
	rm_rf(dir);
	free(dir);
}

/* Errors do not depend on the cache: a hit still validates. */
static void test_cache_hit_keeps_listener_info(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	const char *p = "{\"defaultAction\":\"SCMP_ACT_ALLOW\","
			"\"listenerPath\":\"/run/agent.sock\",\"listenerMetadata\":\"md\","
			"\"syscalls\":["
			"{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}";
	for (int i = 0; i < 2; i++) {
		struct husk_seccomp *f = compile_ok(p, dir);
		assert_int_equal(husk_seccomp_from_cache(f), i == 1);
		assert_true(husk_seccomp_needs_listener(f));
		assert_string_equal(husk_seccomp_listener_path(f), "/run/agent.sock");
		assert_string_equal(husk_seccomp_listener_metadata(f), "md");
		husk_seccomp_free(f);
	}
	rm_rf(dir);
	free(dir);
}

/* ---- the notify listener -------------------------------------------- */

static int listen_unix(const char *path)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path));
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 4), 0);
	return s;
}

/* Accept one agent connection: its payload (NUL-terminated in buf) and fd. */
static int recv_agent(int lsock, char *buf, size_t size)
{
	int c = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c >= 0);
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	size_t got = 0;
	int fd = -1;
	for (;;) {
		struct iovec iov = {buf + got, size - 1 - got};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		if (fd < 0) {
			mh.msg_control = u.b;
			mh.msg_controllen = sizeof(u.b);
		}
		ssize_t r = recvmsg(c, &mh, MSG_CMSG_CLOEXEC);
		assert_true(r >= 0);
		if (r == 0)
			break;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); fd < 0 && cm;
		     cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
				memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		got += (size_t)r;
	}
	buf[got] = '\0';
	close(c);
	return fd;
}

static void test_send_listener(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char *sock = NULL;
	assert_true(asprintf(&sock, "%s/agent.sock", dir) > 0);
	int ls = listen_unix(sock);
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);

	/* larger than one socket buffer: the rest follows the fd's bytes */
	size_t big = 300000;
	char *state_json = malloc(big + 16);
	memset(state_json, 'x', big);
	memcpy(state_json, "{\"fds\":\"", 8);
	memcpy(state_json + big, "\"}", 3);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		husk_error *err = NULL;
		int c = husk_connect_unix(sock, &err);
		_exit(c < 0 || husk_seccomp_send_listener(c, p[1], state_json, &err) < 0 ? 1 : 0);
	}
	char *buf = malloc(big + 16);
	int fd = recv_agent(ls, buf, big + 16);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_string_equal(buf, state_json);
	assert_true(fd >= 0);
	struct stat a, b;
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstat(p[1], &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);

	/* an agent that hung up: an error, not SIGPIPE */
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	husk_error *err = NULL;
	assert_true(husk_seccomp_send_listener(sv[0], p[1], "{}", &err) < 0);
	assert_non_null(strstr(err->msg, "seccomp agent"));
	husk_error_free(err);
	close(sv[0]);

	close(fd);
	close(p[0]);
	close(p[1]);
	close(ls);
	free(buf);
	free(state_json);
	free(sock);
	rm_rf(dir);
	free(dir);
}

static struct husk_seccomp *notify_filter;

static int check_notify(void)
{
	husk_error *err = NULL;
	int lfd = -1;
	if (husk_seccomp_load(notify_filter, &lfd, &err) < 0) {
		fprintf(stderr, "load: %s\n", err->msg);
		return 10;
	}
	if (lfd < 0)
		return 11;
	int sock = husk_connect_unix(husk_seccomp_listener_path(notify_filter), &err);
	if (sock < 0 ||
	    husk_seccomp_send_listener(sock, lfd, "{\"fds\":[\"seccompFd\"]}", &err) < 0) {
		fprintf(stderr, "send: %s\n", err->msg);
		return 12;
	}
	close(sock);
	close(lfd);
	/* the agent answers this one with errno 77 */
	return expect_errno(syscall(SYS_getppid), 77, 13);
}

/* End to end: the child's getppid waits for us, the agent, to answer. */
static void test_notify(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char *sock = NULL, *text = NULL;
	assert_true(asprintf(&sock, "%s/agent.sock", dir) > 0);
	/* TSYNC too: the load must then add TSYNC_ESRCH for the kernel */
	assert_true(asprintf(&text,
			     "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"%s\","
			     "\"flags\":[\"SECCOMP_FILTER_FLAG_TSYNC\"],\"syscalls\":["
			     "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
			     sock) > 0);
	notify_filter = compile_ok(text, NULL);
	assert_true(husk_seccomp_needs_listener(notify_filter));
	int ls = listen_unix(sock);

	alarm(20); /* a hang is a failure */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(100);
		_exit(check_notify());
	}
	char buf[256];
	int nfd = recv_agent(ls, buf, sizeof(buf));
	assert_true(nfd >= 0);
	assert_string_equal(buf, "{\"fds\":[\"seccompFd\"]}");

	struct seccomp_notif req;
	memset(&req, 0, sizeof(req));
	assert_int_equal(ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, &req), 0);
	assert_int_equal(req.data.nr, SYS_getppid);
	assert_int_equal(req.pid, pid);
	struct seccomp_notif_resp resp = {.id = req.id, .error = -77};
	assert_int_equal(ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0);

	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	alarm(0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	close(nfd);
	close(ls);
	husk_seccomp_free(notify_filter);
	notify_filter = NULL;
	free(text);
	free(sock);
	rm_rf(dir);
	free(dir);
}

/* Without no_new_privs and CAP_SYS_ADMIN the kernel says EACCES: the
 * message says what is missing. */
static void test_load_needs_nnp(void **state)
{
	(void)state;
	struct husk_seccomp *f = compile_ok(GETPPID_42, NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		husk_error *err = NULL;
		/* root: becoming nobody clears the effective capabilities */
		if (geteuid() == 0 && setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		int r = husk_seccomp_load(f, NULL, &err);
		_exit(r < 0 && err->errnum == EACCES && strstr(err->msg, "no_new_privs") ? 0 : 1);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	husk_seccomp_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_rule),
		cmocka_unit_test(test_args_eq),
		cmocka_unit_test(test_args_and),
		cmocka_unit_test(test_args_or_same_index),
		cmocka_unit_test(test_default_errno),
		cmocka_unit_test(test_unknown_syscall_skipped),
		cmocka_unit_test(test_rule_equal_to_default_skipped),
		cmocka_unit_test(test_errors_name_the_field),
		cmocka_unit_test(test_cache_hit),
		cmocka_unit_test(test_cache_rejects_bad_files),
		cmocka_unit_test(test_take_cached),
		cmocka_unit_test(test_shrink_same_decisions),
		cmocka_unit_test(test_shrink_loads),
		cmocka_unit_test(test_shrink_far_jumps),
		cmocka_unit_test(test_shrink_leaves_others),
		cmocka_unit_test(test_allows),
		cmocka_unit_test(test_cache_hit_keeps_listener_info),
		cmocka_unit_test(test_send_listener),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_load_needs_nnp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

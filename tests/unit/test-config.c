/* config.json from an image's config and run's options
 * (src/engine/config.c): each rule a user would notice. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <linux/capability.h>

#include "config.h"

static json_t *image(void)
{
	return json_pack("{s:[s],s:[s,s],s:[s,s],s:s}", "Entrypoint", "/entry", "Cmd", "a", "b",
			 "Env", "PATH=/img/bin", "LANG=C", "WorkingDir", "/srv");
}

static json_t *make(const struct husk_run_opts *o, json_t *ic, const struct husk_user *u,
		    husk_error **err)
{
	struct husk_config_in in = {.o = o,
				    .image_config = ic,
				    .image_name = "img",
				    .id = "0123456789abcdef",
				    .user = u,
				    .hostname = "0123456789ab",
				    .hosts_path = "/c/hosts",
				    .hostname_path = "/c/hostname",
				    .resolv_path = "/c/resolv.conf"};
	return husk_engine_config(&in, err);
}

static const char *arg(json_t *c, size_t i)
{
	return json_string_value(
		json_array_get(json_object_get(json_object_get(c, "process"), "args"), i));
}

static bool has_env(json_t *c, const char *kv)
{
	json_t *env = json_object_get(json_object_get(c, "process"), "env");
	size_t i;
	json_t *v;
	json_array_foreach (env, i, v)
		if (strcmp(json_string_value(v), kv) == 0)
			return true;
	return false;
}

static void test_args(void **state)
{
	(void)state;
	json_t *ic = image();
	struct husk_run_opts o = {0};
	husk_error *err = NULL;
	json_t *c = make(&o, ic, NULL, &err);
	assert_non_null(c);
	/* Entrypoint + Cmd of the image */
	assert_string_equal(arg(c, 0), "/entry");
	assert_string_equal(arg(c, 1), "a");
	assert_string_equal(arg(c, 2), "b");
	json_decref(c);
	/* a command given replaces Cmd, not Entrypoint */
	char *cmd[] = {"x", NULL};
	o.cmd = cmd;
	c = make(&o, ic, NULL, &err);
	assert_string_equal(arg(c, 0), "/entry");
	assert_string_equal(arg(c, 1), "x");
	assert_null(arg(c, 2));
	json_decref(c);
	/* nothing to run: EINVAL naming the image */
	json_t *empty = json_object();
	o.cmd = NULL;
	assert_null(make(&o, empty, NULL, &err));
	assert_int_equal(err->errnum, EINVAL);
	assert_non_null(strstr(err->msg, "\"img\""));
	husk_error_free(err);
	json_decref(empty);
	json_decref(ic);
}

static void test_env_and_cwd(void **state)
{
	(void)state;
	json_t *ic = image();
	char *env[] = {"LANG=fr", "NEW=1", NULL};
	struct husk_run_opts o = {.env = env, .tty = true};
	struct husk_user u = {.uid = 1000, .gid = 1000, .home = "/home/app"};
	husk_error *err = NULL;
	json_t *c = make(&o, ic, &u, &err);
	assert_non_null(c);
	assert_true(has_env(c, "PATH=/img/bin"));
	/* -e replaces the image's value, once */
	assert_true(has_env(c, "LANG=fr"));
	assert_false(has_env(c, "LANG=C"));
	assert_true(has_env(c, "NEW=1"));
	assert_true(has_env(c, "TERM=xterm"));
	assert_true(has_env(c, "HOME=/home/app"));
	assert_true(has_env(c, "HOSTNAME=0123456789ab"));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(c, "process"), "cwd")), "/srv");
	json_decref(c);
	/* no PATH in the image: the usual one */
	json_t *bare = json_pack("{s:[s]}", "Cmd", "sh");
	struct husk_run_opts o2 = {.workdir = "/w"};
	c = make(&o2, bare, NULL, &err);
	assert_true(
		has_env(c, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
	assert_true(has_env(c, "HOME=/"));
	assert_false(has_env(c, "TERM=xterm"));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(c, "process"), "cwd")), "/w");
	json_decref(c);
	json_decref(bare);
	json_decref(ic);
}

static void test_user(void **state)
{
	(void)state;
	json_t *ic = image();
	uint32_t gids[] = {27, 100};
	struct husk_user u = {.uid = 1000, .gid = 0, .gids = gids, .n_gids = 2, .home = "/"};
	struct husk_run_opts o = {0};
	husk_error *err = NULL;
	json_t *c = make(&o, ic, &u, &err);
	json_t *user = json_object_get(json_object_get(c, "process"), "user");
	assert_int_equal(json_integer_value(json_object_get(user, "uid")), 1000);
	assert_int_equal(json_integer_value(json_object_get(user, "gid")), 0);
	json_t *g = json_object_get(user, "additionalGids");
	assert_int_equal(json_array_size(g), 2);
	assert_int_equal(json_integer_value(json_array_get(g, 1)), 100);
	json_decref(c);
	json_decref(ic);
}

static bool has_mount(json_t *c, const char *dst, const char *src)
{
	size_t i;
	json_t *m;
	json_array_foreach (json_object_get(c, "mounts"), i, m) {
		const char *d = json_string_value(json_object_get(m, "destination"));
		const char *s = json_string_value(json_object_get(m, "source"));
		if (d && s && strcmp(d, dst) == 0 && strcmp(s, src) == 0)
			return true;
	}
	return false;
}

static bool has_ns(json_t *c, const char *type)
{
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(json_object_get(c, "linux"), "namespaces"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "type")), type) == 0)
			return true;
	return false;
}

/* the mount at dst, its options joined by commas */
static json_t *mount_opts_at(json_t *c, const char *dst, char *opts, size_t n)
{
	size_t i, k;
	json_t *m, *o;
	json_array_foreach (json_object_get(c, "mounts"), i, m) {
		if (strcmp(json_string_value(json_object_get(m, "destination")), dst) != 0)
			continue;
		opts[0] = '\0';
		size_t len = 0;
		json_array_foreach (json_object_get(m, "options"), k, o)
			len += (size_t)snprintf(opts + len, n - len, "%s%s", k ? "," : "",
						json_string_value(o));
		return m;
	}
	return NULL;
}

static size_t mount_index(json_t *c, const char *dst)
{
	size_t i;
	json_t *m;
	json_array_foreach (json_object_get(c, "mounts"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "destination")), dst) == 0)
			return i;
	return (size_t)-1;
}

/* -v, --mount, --tmpfs, --read-only as Docker makes them: binds rbind and
 * rprivate unless asked, tmpfs nosuid,nodev,noexec before the user's
 * options, parents before what is mounted inside them */
static void test_volumes_tmpfs_read_only(void **state)
{
	(void)state;
	json_t *ic = image();
	struct husk_volume v[] = {
		{.type = HUSK_MOUNT_BIND, .src = "/h", .dst = "/a/b/c", .ro = true},
		{.type = HUSK_MOUNT_BIND, .src = "/h2", .dst = "/a", .propagation = "rslave"},
		{.type = HUSK_MOUNT_TMPFS, .dst = "/t", .opts = "size=1m,exec"},
		{.type = HUSK_MOUNT_FS,
		 .fstype = "tmpfs",
		 .src = "tmpfs",
		 .dst = "/f",
		 .opts = "size=2m"},
	};
	struct husk_run_opts o = {.volumes = v, .n_volumes = 4, .read_only = true};
	husk_error *err = NULL;
	json_t *c = make(&o, ic, NULL, &err);
	assert_non_null(c);
	char opts[256];
	json_t *m = mount_opts_at(c, "/a/b/c", opts, sizeof(opts));
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "type")), "bind");
	assert_string_equal(opts, "rbind,ro,rprivate");
	m = mount_opts_at(c, "/a", opts, sizeof(opts));
	assert_string_equal(opts, "rbind,rw,rslave");
	assert_true(mount_index(c, "/a") < mount_index(c, "/a/b/c"));
	m = mount_opts_at(c, "/t", opts, sizeof(opts));
	assert_string_equal(json_string_value(json_object_get(m, "type")), "tmpfs");
	assert_string_equal(json_string_value(json_object_get(m, "source")), "tmpfs");
	assert_string_equal(opts, "nosuid,nodev,noexec,size=1m,exec");
	/* a volume with driver options: its filesystem, only its options */
	m = mount_opts_at(c, "/f", opts, sizeof(opts));
	assert_string_equal(json_string_value(json_object_get(m, "type")), "tmpfs");
	assert_string_equal(opts, "size=2m");
	assert_true(json_is_true(json_object_get(json_object_get(c, "root"), "readonly")));
	json_decref(c);
	/* without --read-only the root is writable */
	struct husk_run_opts w = {0};
	c = make(&w, ic, NULL, &err);
	assert_true(json_is_false(json_object_get(json_object_get(c, "root"), "readonly")));
	json_decref(c);
	json_decref(ic);
}

static void test_mounts_network_resources(void **state)
{
	(void)state;
	json_t *ic = image();
	struct husk_volume vol = {.src = "/data", .dst = "/in", .ro = true};
	struct husk_run_opts o = {
		.volumes = &vol, .n_volumes = 1, .memory = 64 << 20, .pids_limit = 10, .cpus = 0.5};
	husk_error *err = NULL;
	json_t *c = make(&o, ic, NULL, &err);
	/* every mode has its own hosts, hostname and resolv.conf */
	assert_true(has_mount(c, "/etc/hosts", "/c/hosts"));
	assert_true(has_mount(c, "/etc/hostname", "/c/hostname"));
	assert_true(has_mount(c, "/etc/resolv.conf", "/c/resolv.conf"));
	assert_true(has_mount(c, "/in", "/data"));
	/* none: a network namespace of its own */
	assert_true(has_ns(c, "network"));
	json_t *lx = json_object_get(c, "linux");
	json_t *res = json_object_get(lx, "resources");
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(res, "memory"), "limit")),
		64 << 20);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "pids"), "limit")),
			 10);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "cpu"), "quota")),
			 50000);
	assert_string_equal(json_string_value(json_object_get(lx, "cgroupsPath")),
			    "husk-0123456789abcdef");
	assert_string_equal(json_string_value(json_object_get(c, "hostname")), "0123456789ab");
	json_decref(c);
	/* host: the host's network namespace */
	struct husk_run_opts h = {.network = HUSK_NETMODE_HOST};
	c = make(&h, ic, NULL, &err);
	assert_false(has_ns(c, "network"));
	assert_true(has_ns(c, "mount"));
	json_decref(c);
	json_decref(ic);
}

static json_t *make_in(struct husk_config_in *in, husk_error **err)
{
	json_t *ic = in->image_config ? NULL : image();
	if (ic)
		in->image_config = ic;
	in->image_name = "img";
	in->id = "0123456789abcdef";
	in->hostname = "0123456789ab";
	json_t *c = husk_engine_config(in, err);
	if (ic) {
		in->image_config = NULL;
		json_decref(ic);
	}
	return c;
}

static json_t *lx(json_t *c)
{
	return json_object_get(c, "linux");
}

static bool str_in(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach (arr, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

static json_t *eff(json_t *c)
{
	return json_object_get(json_object_get(json_object_get(c, "process"), "capabilities"),
			       "effective");
}

static void test_entrypoint(void **state)
{
	(void)state;
	json_t *ic = image();
	char *cmd[] = {"x", NULL};
	struct husk_run_opts o = {.entrypoint = "/bin/other"};
	husk_error *err = NULL;
	/* replaces the image's entrypoint and drops its Cmd */
	json_t *c = make(&o, ic, NULL, &err);
	assert_string_equal(arg(c, 0), "/bin/other");
	assert_null(arg(c, 1));
	json_decref(c);
	o.cmd = cmd;
	c = make(&o, ic, NULL, &err);
	assert_string_equal(arg(c, 0), "/bin/other");
	assert_string_equal(arg(c, 1), "x");
	json_decref(c);
	/* "" clears it: the command alone */
	o.entrypoint = "";
	c = make(&o, ic, NULL, &err);
	assert_string_equal(arg(c, 0), "x");
	assert_null(arg(c, 1));
	json_decref(c);
	/* and with no command there is nothing to run */
	o.cmd = NULL;
	assert_null(make(&o, ic, NULL, &err));
	assert_int_equal(err->errnum, EINVAL);
	husk_error_freep(&err);
	json_decref(ic);
}

static void test_caps(void **state)
{
	(void)state;
	char *add[] = {"net_admin", "CAP_SYS_TIME", NULL};
	char *drop[] = {"Chown", NULL};
	struct husk_run_opts o = {.cap_add = add, .cap_drop = drop};
	struct husk_config_in in = {.o = &o};
	husk_error *err = NULL;
	json_t *c = make_in(&in, &err);
	assert_non_null(c);
	assert_true(str_in(eff(c), "CAP_NET_ADMIN"));
	assert_true(str_in(eff(c), "CAP_SYS_TIME"));
	assert_false(str_in(eff(c), "CAP_CHOWN"));
	assert_true(str_in(eff(c), "CAP_KILL"));
	json_decref(c);
	/* drop ALL: only the adds */
	char *all[] = {"ALL", NULL};
	o.cap_drop = all;
	c = make_in(&in, &err);
	assert_int_equal(json_array_size(eff(c)), 2);
	json_decref(c);
	/* add ALL: every one we hold, less the drops */
	o.cap_add = all;
	o.cap_drop = drop;
	in.held_caps = (1ull << CAP_CHOWN) | (1ull << CAP_KILL) | (1ull << CAP_SYS_ADMIN);
	c = make_in(&in, &err);
	assert_int_equal(json_array_size(eff(c)), 2);
	assert_true(str_in(eff(c), "CAP_SYS_ADMIN"));
	json_decref(c);
	/* an unknown name: EINVAL naming it */
	char *bad[] = {"CAP_NOPE", NULL};
	o.cap_add = bad;
	assert_null(make_in(&in, &err));
	assert_int_equal(err->errnum, EINVAL);
	assert_non_null(strstr(err->msg, "CAP_NOPE"));
	husk_error_freep(&err);
	assert_int_equal(husk_cap_check("all", NULL), 0);
	assert_true(husk_cap_check("cap_all", &err) < 0);
	husk_error_freep(&err);
}

static json_t *mount_at(json_t *c, const char *dst)
{
	size_t i;
	json_t *m;
	json_array_foreach (json_object_get(c, "mounts"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "destination")), dst) == 0)
			return m;
	return NULL;
}

static void test_privileged(void **state)
{
	(void)state;
	struct husk_host_dev devs[] = {
		{.path = "/dev/sda", .type = 'b', .major = 8, .minor = 0, .mode = 0660},
		{.path = "/dev/kmsg", .type = 'c', .major = 1, .minor = 11, .mode = 0644},
	};
	struct husk_run_opts o = {.privileged = true};
	struct husk_config_in in = {.o = &o, .host_devs = devs, .n_host_devs = 2};
	husk_error *err = NULL;
	json_t *c = make_in(&in, &err);
	assert_non_null(c);
	assert_true(str_in(eff(c), "CAP_SYS_ADMIN"));
	assert_int_equal(json_array_size(json_object_get(lx(c), "maskedPaths")), 0);
	assert_int_equal(json_array_size(json_object_get(lx(c), "readonlyPaths")), 0);
	assert_false(str_in(json_object_get(mount_at(c, "/sys"), "options"), "ro"));
	assert_int_equal(json_array_size(json_object_get(lx(c), "devices")), 2);
	json_t *rules = json_object_get(json_object_get(lx(c), "resources"), "devices");
	assert_int_equal(json_array_size(rules), 1);
	assert_true(json_is_true(json_object_get(json_array_get(rules, 0), "allow")));
	assert_null(json_object_get(lx(c), "seccomp"));
	json_decref(c);
}

static void test_security_opt(void **state)
{
	(void)state;
	char *unmask[] = {"/proc/kcore", NULL};
	char *mask[] = {"/etc/secret", NULL};
	const char *profile =
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[{\"architecture\":"
		"\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_X86\"]},{\"architecture\":"
		"\"SCMP_ARCH_AARCH64\",\"subArchitectures\":[]}],\"syscalls\":["
		"{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":["
		"\"CAP_SYS_ADMIN\"]}},"
		"{\"name\":\"write\",\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"caps\":["
		"\"CAP_SYS_ADMIN\"]}}]}";
	struct husk_run_opts o = {.no_new_privileges = true,
				  .unmask_paths = unmask,
				  .mask_paths = mask,
				  .seccomp_profile = profile};
	struct husk_config_in in = {.o = &o};
	husk_error *err = NULL;
	json_t *c = make_in(&in, &err);
	assert_non_null(c);
	assert_true(
		json_is_true(json_object_get(json_object_get(c, "process"), "noNewPrivileges")));
	assert_false(str_in(json_object_get(lx(c), "maskedPaths"), "/proc/kcore"));
	assert_true(str_in(json_object_get(lx(c), "maskedPaths"), "/etc/secret"));
	/* Docker's profile as OCI's: this arch's archMap entry, the rules
	 * whose includes/excludes hold for the container's caps */
	json_t *sc = json_object_get(lx(c), "seccomp");
	assert_string_equal(json_string_value(json_object_get(sc, "defaultAction")),
			    "SCMP_ACT_ERRNO");
	assert_null(json_object_get(sc, "archMap"));
#ifdef __x86_64__
	assert_true(str_in(json_object_get(sc, "architectures"), "SCMP_ARCH_X86"));
#endif
	json_t *calls = json_object_get(sc, "syscalls");
	assert_int_equal(json_array_size(calls), 2); /* read, write (no SYS_ADMIN) */
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(json_array_get(calls, 1), "names"), 0)),
			    "write");
	assert_null(json_object_get(json_array_get(calls, 1), "excludes"));
	json_decref(c);
	/* unconfined: none; ALL: no masked or read-only paths */
	char *all[] = {"ALL", NULL};
	o.seccomp_unconfined = true;
	o.unmask_paths = all;
	o.mask_paths = NULL;
	c = make_in(&in, &err);
	assert_null(json_object_get(lx(c), "seccomp"));
	assert_int_equal(json_array_size(json_object_get(lx(c), "maskedPaths")), 0);
	assert_int_equal(json_array_size(json_object_get(lx(c), "readonlyPaths")), 0);
	json_decref(c);
	/* not JSON: EINVAL */
	o.seccomp_unconfined = false;
	o.seccomp_profile = "{nope";
	assert_null(make_in(&in, &err));
	assert_int_equal(err->errnum, EINVAL);
	husk_error_freep(&err);
}

static void test_process_limits(void **state)
{
	(void)state;
	struct husk_ulimit ul[2];
	husk_error *err = NULL;
	assert_int_equal(husk_ulimit_parse("nofile=100:200", &ul[0], &err), 0);
	assert_int_equal(husk_ulimit_parse("core=-1", &ul[1], &err), 0);
	assert_int_equal(ul[1].hard, -1);
	assert_true(husk_ulimit_parse("nofile=300:200", &ul[1], &err) < 0);
	husk_error_freep(&err);
	assert_true(husk_ulimit_parse("bogus=1", &ul[1], &err) < 0);
	assert_int_equal(err->errnum, EINVAL);
	husk_error_freep(&err);
	assert_int_equal(husk_ulimit_parse("nproc=10", &ul[1], &err), 0);
	char *sysctls[] = {"net.ipv4.ip_forward=1", "kernel.shmmax=4096", NULL};
	struct husk_run_opts o = {.ulimits = ul,
				  .n_ulimits = 2,
				  .sysctls = sysctls,
				  .shm_size = 10 << 20,
				  .oom_score_adj = 500,
				  .oom_score_adj_set = true,
				  .init = true};
	struct husk_config_in in = {
		.o = &o, .init_path = "/usr/bin/tini-static", .image_config = image()};
	json_t *c = make_in(&in, &err);
	assert_non_null(c);
	json_t *p = json_object_get(c, "process");
	json_t *rl = json_object_get(p, "rlimits");
	int seen = 0;
	size_t i;
	json_t *v;
	json_array_foreach (rl, i, v) {
		const char *t = json_string_value(json_object_get(v, "type"));
		if (strcmp(t, "RLIMIT_NOFILE") == 0) {
			assert_int_equal(json_integer_value(json_object_get(v, "soft")), 100);
			assert_int_equal(json_integer_value(json_object_get(v, "hard")), 200);
			seen++;
		}
		if (strcmp(t, "RLIMIT_NPROC") == 0)
			seen++;
	}
	assert_int_equal(seen, 2); /* nofile replaced, not doubled */
	json_t *sc = json_object_get(lx(c), "sysctl");
	assert_string_equal(json_string_value(json_object_get(sc, "kernel.shmmax")), "4096");
	assert_true(str_in(json_object_get(mount_at(c, "/dev/shm"), "options"), "size=10240k"));
	assert_int_equal(json_integer_value(json_object_get(p, "oomScoreAdj")), 500);
	/* --init: tini first, bound read-only */
	assert_string_equal(arg(c, 0), HUSK_INIT_DEST);
	assert_string_equal(arg(c, 1), "--");
	assert_string_equal(arg(c, 2), "/entry");
	char *cmdline = husk_engine_config_command(c); /* ps: without tini */
	assert_string_equal(cmdline, "/entry a b");
	free(cmdline);
	assert_string_equal(
		json_string_value(json_object_get(mount_at(c, HUSK_INIT_DEST), "source")),
		"/usr/bin/tini-static");
	json_decref(c);
	/* sysctls: namespaced only, and not the host's */
	assert_true(husk_sysctl_check("kernel.hostname=x", &err) < 0);
	assert_int_equal(err->errnum, EINVAL);
	husk_error_freep(&err);
	assert_int_equal(husk_sysctl_check("fs.mqueue.msg_max=20", &err), 0);
	o.network = HUSK_NETMODE_HOST;
	assert_null(make_in(&in, &err));
	assert_non_null(strstr(err->msg, "net.ipv4.ip_forward"));
	husk_error_freep(&err);
	json_decref((json_t *)in.image_config);
}

static void test_devices(void **state)
{
	(void)state;
	husk_error *err = NULL;
	struct husk_device_map d[2];
	assert_int_equal(husk_device_map_parse("/dev/kmsg:/dev/k:r", &d[0], &err), 0);
	assert_string_equal(d[0].ctr, "/dev/k");
	assert_string_equal(d[0].perms, "r");
	assert_int_equal(husk_device_map_parse("/dev/sda:rw", &d[1], &err), 0);
	assert_null(d[1].ctr);
	assert_string_equal(d[1].perms, "rw");
	struct husk_device_map bad;
	assert_true(husk_device_map_parse("/dev/x:/dev/y:rwx", &bad, &err) < 0);
	husk_error_freep(&err);
	struct husk_host_dev hd[] = {
		{.path = "/dev/kmsg", .type = 'c', .major = 1, .minor = 11, .mode = 0644},
		{.path = "/dev/sda", .type = 'b', .major = 8, .minor = 0, .mode = 0660},
	};
	struct husk_throttle t;
	assert_int_equal(husk_throttle_parse(HUSK_THROTTLE_READ_BPS, "/dev/sda:1mb", &t, &err), 0);
	assert_int_equal(t.rate, 1 << 20);
	struct husk_run_opts o = {.devices = d,
				  .n_devices = 2,
				  .throttles = &t,
				  .n_throttles = 1,
				  .memory = 64 << 20,
				  .memory_swap = 128 << 20,
				  .memory_reservation = 32 << 20,
				  .cpu_shares = 512,
				  .cpuset_cpus = "0-1",
				  .cpu_period = 50000,
				  .cpu_quota = 25000,
				  .blkio_weight = 300,
				  .oom_kill_disable = true};
	struct husk_config_in in = {.o = &o, .host_devs = hd, .n_host_devs = 2};
	json_t *c = make_in(&in, &err);
	assert_non_null(c);
	json_t *devs = json_object_get(lx(c), "devices");
	assert_int_equal(json_array_size(devs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(devs, 0), "path")),
			    "/dev/k");
	json_t *res = json_object_get(lx(c), "resources");
	json_t *rule = json_array_get(json_object_get(res, "devices"), 1);
	assert_string_equal(json_string_value(json_object_get(rule, "access")), "r");
	assert_int_equal(json_integer_value(json_object_get(rule, "minor")), 11);
	json_t *mem = json_object_get(res, "memory");
	assert_int_equal(json_integer_value(json_object_get(mem, "swap")), 128 << 20);
	assert_int_equal(json_integer_value(json_object_get(mem, "reservation")), 32 << 20);
	assert_true(json_is_true(json_object_get(mem, "disableOOMKiller")));
	json_t *cpu = json_object_get(res, "cpu");
	assert_int_equal(json_integer_value(json_object_get(cpu, "shares")), 512);
	assert_int_equal(json_integer_value(json_object_get(cpu, "quota")), 25000);
	assert_string_equal(json_string_value(json_object_get(cpu, "cpus")), "0-1");
	json_t *bio = json_object_get(res, "blockIO");
	assert_int_equal(json_integer_value(json_object_get(bio, "weight")), 300);
	json_t *thr = json_array_get(json_object_get(bio, "throttleReadBpsDevice"), 0);
	assert_int_equal(json_integer_value(json_object_get(thr, "major")), 8);
	assert_int_equal(json_integer_value(json_object_get(thr, "rate")), 1 << 20);
	json_decref(c);
	/* Docker's rules: swap is memory and swap together, so not below it */
	o.memory_swap = 32 << 20;
	assert_null(make_in(&in, &err));
	assert_int_equal(err->errnum, EINVAL);
	husk_error_freep(&err);
	o.memory_swap = 0;
	o.cpus = 1;
	assert_null(make_in(&in, &err));
	husk_error_freep(&err);
	free(d[0].host);
	free(d[0].ctr);
	free(d[1].host);
	free(t.path);
}

static bool ns_has(json_t *c, const char *type, const char **path)
{
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(lx(c), "namespaces"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "type")), type) == 0) {
			*path = json_string_value(json_object_get(v, "path"));
			return true;
		}
	return false;
}

static void test_namespaces(void **state)
{
	(void)state;
	struct husk_run_opts o = {.pid_mode = "host",
				  .ipc_mode = "container:db",
				  .uts_mode = "host",
				  .cgroupns_mode = "host"};
	struct husk_config_in in = {.o = &o, .ipc_ns_path = "/proc/42/ns/ipc"};
	husk_error *err = NULL;
	json_t *c = make_in(&in, &err);
	const char *path = NULL;
	assert_false(ns_has(c, "pid", &path));
	assert_false(ns_has(c, "uts", &path));
	assert_false(ns_has(c, "cgroup", &path));
	assert_null(json_object_get(c, "hostname")); /* the host's is not ours to set */
	assert_true(ns_has(c, "ipc", &path));
	assert_string_equal(path, "/proc/42/ns/ipc");
	assert_true(ns_has(c, "mount", &path));
	json_decref(c);
}

static void test_docker_view(void **state)
{
	(void)state;
	char *labels[] = {"a=1", "b", NULL};
	char *add[] = {"NET_ADMIN", NULL};
	struct husk_run_opts o = {.labels = labels,
				  .cap_add = add,
				  .init = true,
				  .shm_size = 1024,
				  .net_egress_rate = 10000000};
	json_t *ic = image();
	struct husk_config_in in = {.o = &o, .image_config = ic};
	json_t *d = husk_engine_config_docker(&in);
	json_t *cfg = json_object_get(d, "Config"), *host = json_object_get(d, "HostConfig");
	assert_string_equal(json_string_value(json_object_get(json_object_get(cfg, "Labels"), "a")),
			    "1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(cfg, "Labels"), "b")),
			    "");
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(cfg, "Entrypoint"), 0)), "/entry");
	assert_true(str_in(json_object_get(host, "CapAdd"), "NET_ADMIN"));
	assert_true(json_is_null(json_object_get(host, "CapDrop")));
	assert_true(json_is_true(json_object_get(host, "Init")));
	assert_int_equal(json_integer_value(json_object_get(host, "ShmSize")), 1024);
	/* the rate limits, bits a second; 0 for none */
	assert_int_equal(json_integer_value(json_object_get(host, "NetworkEgressRate")), 10000000);
	assert_int_equal(json_integer_value(json_object_get(host, "NetworkIngressRate")), 0);
	assert_true(json_is_integer(json_object_get(host, "NetworkIngressRate")));
	json_decref(d);
	json_decref(ic);
}

/* ExposedPorts: the image's, --expose's and -p's; PortBindings as -p gave
 * them ("" for a host port to pick, a range as it was given) */
static void test_docker_view_ports(void **state)
{
	(void)state;
	char *expose[] = {"7000/udp", NULL};
	struct husk_net_port ports[] = {
		{.host = 8080, .ctr = 80, .proto = IPPROTO_TCP, .host_ip = "127.0.0.1"},
		{.host = 0, .ctr = 81, .proto = IPPROTO_TCP},
		{.host = 9000, .host_end = 9010, .ctr = 80, .proto = IPPROTO_TCP}};
	struct husk_run_opts o = {
		.expose = expose, .ports = ports, .n_ports = 3, .publish_all = true};
	json_t *ic = json_pack("{s:{s:{}}}", "ExposedPorts", "443/tcp");
	struct husk_config_in in = {.o = &o, .image_config = ic};
	json_t *d = husk_engine_config_docker(&in);
	json_t *ex = json_object_get(json_object_get(d, "Config"), "ExposedPorts");
	assert_int_equal(json_object_size(ex), 4);
	assert_non_null(json_object_get(ex, "443/tcp"));
	assert_non_null(json_object_get(ex, "7000/udp"));
	assert_non_null(json_object_get(ex, "80/tcp"));
	assert_non_null(json_object_get(ex, "81/tcp"));
	json_t *host = json_object_get(d, "HostConfig");
	json_t *pb = json_object_get(host, "PortBindings");
	json_t *b80 = json_object_get(pb, "80/tcp");
	assert_int_equal(json_array_size(b80), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(b80, 0), "HostIp")),
			    "127.0.0.1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(b80, 0), "HostPort")),
			    "8080");
	assert_string_equal(json_string_value(json_object_get(json_array_get(b80, 1), "HostPort")),
			    "9000-9010");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(pb, "81/tcp"), 0), "HostPort")),
			    "");
	assert_true(json_is_true(json_object_get(host, "PublishAllPorts")));
	json_decref(d);
	json_decref(ic);
}

/* what commit makes the new image's config of: the image's values with
 * run's options over them */
static void test_docker_effective_config(void **state)
{
	(void)state;
	char *env[] = {"LANG=en", "A=1", NULL};
	char *labels[] = {"k=run", NULL};
	struct husk_run_opts o = {.env = env, .labels = labels, .user = "1:2"};
	json_t *ic = image();
	json_object_set_new(ic, "Labels", json_pack("{s:s,s:s}", "k", "img", "only", "img"));
	struct husk_config_in in = {.o = &o, .image_config = ic};
	json_t *d = husk_engine_config_docker(&in);
	json_t *cfg = json_object_get(d, "Config");
	char *s = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
	/* Domainname: Docker's Config always has it, "" unless given */
	assert_string_equal(
		s, "{\"Cmd\":[\"a\",\"b\"],\"Domainname\":\"\",\"Entrypoint\":[\"/entry\"],"
		   "\"Env\":[\"PATH=/img/bin\",\"LANG=en\",\"A=1\"],"
		   "\"Labels\":{\"k\":\"run\",\"only\":\"img\"},\"User\":\"1:2\","
		   "\"WorkingDir\":\"/srv\"}");
	free(s);
	json_decref(d);
	/* a command replaces the image's; --entrypoint drops its Cmd */
	char *cmd[] = {"sh", NULL};
	o = (struct husk_run_opts){.cmd = cmd, .workdir = "/w"};
	d = husk_engine_config_docker(&in);
	cfg = json_object_get(d, "Config");
	assert_string_equal(json_string_value(json_array_get(json_object_get(cfg, "Cmd"), 0)),
			    "sh");
	assert_string_equal(json_string_value(json_object_get(cfg, "WorkingDir")), "/w");
	json_decref(d);
	o = (struct husk_run_opts){.entrypoint = "/bin/echo"};
	d = husk_engine_config_docker(&in);
	assert_true(json_is_null(json_object_get(json_object_get(d, "Config"), "Cmd")));
	json_decref(d);
	json_decref(ic);
}

/* Podman's default profile made Docker's: the keyring gone, namespaces
 * and mounts only with CAP_SYS_ADMIN, clone without namespace flags */
static bool rule_has(json_t *calls, const char *name, const char *action, const char *incl_cap,
		     const char *excl_cap, bool with_args)
{
	size_t i;
	json_t *r;
	json_array_foreach (calls, i, r) {
		size_t k;
		json_t *n;
		bool named = false;
		json_array_foreach (json_object_get(r, "names"), k, n)
			named |= strcmp(json_string_value(n), name) == 0;
		if (!named || strcmp(json_string_value(json_object_get(r, "action")), action) != 0)
			continue;
		json_t *inc =
			json_array_get(json_object_get(json_object_get(r, "includes"), "caps"), 0);
		json_t *exc =
			json_array_get(json_object_get(json_object_get(r, "excludes"), "caps"), 0);
		if ((incl_cap == NULL) != (inc == NULL) || (excl_cap == NULL) != (exc == NULL))
			continue;
		if (incl_cap && strcmp(json_string_value(inc), incl_cap) != 0)
			continue;
		if (excl_cap && strcmp(json_string_value(exc), excl_cap) != 0)
			continue;
		if (with_args != (json_array_size(json_object_get(r, "args")) > 0))
			continue;
		return true;
	}
	return false;
}

static void test_seccomp_docker_default(void **state)
{
	(void)state;
	json_t *p =
		json_loads("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38,"
			   " \"syscalls\": [{\"names\": [\"read\", \"keyctl\", \"unshare\","
			   " \"clone\", \"clone3\", \"mount\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
			   0, NULL);
	assert_non_null(p);
	husk_seccomp_docker_default(p);
	json_t *calls = json_object_get(p, "syscalls");
	assert_int_equal(json_integer_value(json_object_get(p, "defaultErrnoRet")), EPERM);
	assert_true(rule_has(calls, "read", "SCMP_ACT_ALLOW", NULL, NULL, false));
	assert_false(rule_has(calls, "keyctl", "SCMP_ACT_ALLOW", NULL, NULL, false));
	assert_false(rule_has(calls, "keyctl", "SCMP_ACT_ALLOW", "CAP_SYS_ADMIN", NULL, false));
	assert_false(rule_has(calls, "unshare", "SCMP_ACT_ALLOW", NULL, NULL, false));
	assert_true(rule_has(calls, "unshare", "SCMP_ACT_ALLOW", "CAP_SYS_ADMIN", NULL, false));
	assert_true(rule_has(calls, "mount", "SCMP_ACT_ALLOW", "CAP_SYS_ADMIN", NULL, false));
	assert_false(rule_has(calls, "clone", "SCMP_ACT_ALLOW", NULL, NULL, false));
	assert_true(rule_has(calls, "clone", "SCMP_ACT_ALLOW", NULL, "CAP_SYS_ADMIN", true));
	assert_true(rule_has(calls, "clone3", "SCMP_ACT_ERRNO", NULL, "CAP_SYS_ADMIN", false));
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_env_and_cwd),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_mounts_network_resources),
		cmocka_unit_test(test_entrypoint),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_privileged),
		cmocka_unit_test(test_security_opt),
		cmocka_unit_test(test_process_limits),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_docker_view),
		cmocka_unit_test(test_docker_view_ports),
		cmocka_unit_test(test_docker_effective_config),
		cmocka_unit_test(test_seccomp_docker_default),
		cmocka_unit_test(test_volumes_tmpfs_read_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

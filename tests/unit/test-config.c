/* config.json from an image's config and run's options
 * (src/engine/config.c): each rule a user would notice. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_env_and_cwd),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_mounts_network_resources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

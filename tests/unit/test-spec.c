/* spec.c: config.json parsing and validation, and the state id rules. */
#define _GNU_SOURCE
#include <jansson.h>
#include <linux/mount.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "json-span.h"
#include "spec.h"
#include "state.h"

#define BASE                                                       \
	"\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"}," \
	"\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"}"

static struct husk_spec *parse_ok(const char *text)
{
	struct husk_spec *s = NULL;
	husk_error *err = NULL;
	int r = husk_spec_parse(text, "/bundle", &s, &err);
	if (r < 0)
		fail_msg("unexpected error: %s", err->msg);
	return s;
}

/* Parse, expect failure, and check the message names what is wrong. */
static void parse_fails(const char *text, const char *needle)
{
	struct husk_spec *s = NULL;
	husk_error *err = NULL;
	int r = husk_spec_parse(text, "/bundle", &s, &err);
	assert_true(r < 0);
	assert_null(s);
	assert_non_null(err);
	if (!strstr(err->msg, needle))
		fail_msg("message \"%s\" does not name \"%s\"", err->msg, needle);
	husk_error_free(err);
}

static void test_minimal(void **state)
{
	(void)state;
	struct husk_spec *s = parse_ok("{" BASE "}");
	assert_string_equal(s->root_path, "/bundle/rootfs");
	assert_string_equal(s->process.args[0], "sh");
	assert_string_equal(s->process.cwd, "/");
	assert_false(s->root_readonly);
	husk_spec_free(s);
}

static void test_bad_json_names_line(void **state)
{
	(void)state;
	parse_fails("{\n\"ociVersion\": \"1.2.0\",\n oops }", "config.json: line 3");
}

static void test_namespaces(void **state)
{
	(void)state;
	struct husk_spec *s = parse_ok(
		"{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\","
		"\"path\":\"/var/run/netns/x\"},{\"type\":\"mount\"}]}}");
	assert_true(s->ns[HUSK_NS_PID].enabled);
	assert_null(s->ns[HUSK_NS_PID].path);
	assert_true(s->ns[HUSK_NS_NET].enabled);
	assert_string_equal(s->ns[HUSK_NS_NET].path, "/var/run/netns/x");
	assert_false(s->ns[HUSK_NS_UTS].enabled);
	husk_spec_free(s);
	parse_fails("{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"foo\"}]}}",
		    "unknown namespace \"foo\"");
	parse_fails("{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}",
		    "\"pid\" given twice");
	parse_fails("{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"net\"}]}}", "\"net\"");
	parse_fails("{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}}",
		    "uidMappings and gidMappings");
	parse_fails("{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"ipc\",\"path\":\"rel\"}]}}",
		    "not absolute");
}

static void test_process_errors(void **state)
{
	(void)state;
	parse_fails(
		"{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"process\":{\"cwd\":\"/\"}}",
		"process.args");
	parse_fails(
		"{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"],"
		"\"cwd\":\"tmp\"}}",
		"process.cwd");
	parse_fails("{\"ociVersion\":\"1.0.0\",\"process\":{\"args\":[\"x\"]}}", "root");
	parse_fails(
		"{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"],"
		"\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\",\"soft\":1,\"hard\":1}]}}",
		"unknown rlimit \"RLIMIT_BOGUS\"");
	parse_fails(
		"{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"],"
		"\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}}}",
		"unknown capability \"CAP_NOPE\"");
	parse_fails(
		"{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"],"
		"\"oomScoreAdj\":5000}}",
		"process.oomScoreAdj");
	parse_fails("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"hostname\":\"h\","
		    "\"process\":{\"args\":[\"x\"]}}",
		    "uts namespace");
}

static void test_process_fields(void **state)
{
	(void)state;
	struct husk_spec *s = parse_ok(
		"{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"/abs\",\"readonly\":true},"
		"\"process\":{\"args\":[\"a\",\"b\"],\"env\":[\"X=1\"],\"user\":{\"uid\":10,"
		"\"gid\":"
		"20,\"umask\":18,\"additionalGids\":[5,6]},\"noNewPrivileges\":true,"
		"\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"cap_kill\"],\"ambient\":[]},"
		"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":512,\"hard\":1024}]}}");
	assert_string_equal(s->root_path, "/abs");
	assert_true(s->root_readonly);
	assert_int_equal(s->process.uid, 10);
	assert_int_equal(s->process.gid, 20);
	assert_true(s->process.has_umask);
	assert_int_equal(s->process.umask, 18);
	assert_int_equal(s->process.n_additional_gids, 2);
	assert_int_equal(s->process.additional_gids[1], 6);
	assert_true(s->process.no_new_privileges);
	assert_true(s->process.caps.has_bounding);
	assert_int_equal(s->process.caps.bounding, (1ull << 0) | (1ull << 5));
	assert_true(s->process.caps.has_ambient);
	assert_int_equal(s->process.caps.ambient, 0);
	assert_false(s->process.caps.has_effective);
	assert_int_equal(s->process.n_rlimits, 1);
	assert_int_equal(s->process.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(s->process.rlimits[0].soft, 512);
	assert_int_equal(s->process.rlimits[0].hard, 1024);
	husk_spec_free(s);
}

static struct husk_mount mount_with(const char *opts_json)
{
	struct husk_mount m = {.destination = (char *)"/x"};
	json_t *opts = json_loads(opts_json, 0, NULL);
	husk_error *err = NULL;
	if (husk_mount_parse_options(&m, opts, &err) < 0)
		fail_msg("%s", err->msg);
	json_decref(opts);
	return m;
}

static void test_mount_options(void **state)
{
	(void)state;
	struct husk_mount m = mount_with("[\"nosuid\",\"ro\",\"size=64k\",\"mode=755\"]");
	assert_int_equal(m.flags, MS_NOSUID | MS_RDONLY);
	assert_string_equal(m.data, "size=64k,mode=755");
	assert_false(m.bind);
	free(m.data);

	m = mount_with("[\"rbind\",\"rro\",\"rprivate\",\"rw\"]");
	assert_true(m.bind);
	assert_true(m.recursive);
	assert_int_equal(m.attr_set, MOUNT_ATTR_RDONLY);
	assert_int_equal(m.propagation, MS_PRIVATE | MS_REC);
	assert_int_equal(m.flags & MS_RDONLY, 0);
	assert_null(m.data);

	/* a later option wins over an earlier one */
	m = mount_with("[\"ro\",\"rw\",\"noexec\",\"exec\",\"bind\"]");
	assert_int_equal(m.flags, MS_BIND);
	assert_false(m.recursive);

	m = mount_with("[\"tmpcopyup\"]");
	assert_true(m.tmpcopyup);

	m = mount_with("[\"rbind\",\"ridmap\"]");
	assert_true(m.idmap);
	assert_true(m.idmap_recursive);
}

static void test_mount_validation(void **state)
{
	(void)state;
	parse_fails("{" BASE ",\"mounts\":[{\"destination\":\"rel\",\"type\":\"tmpfs\"}]}",
		    "mounts[0].destination: \"rel\" is not absolute");
	parse_fails("{" BASE ",\"mounts\":[{\"destination\":\"/b\",\"options\":[\"bind\"]}]}",
		    "needs a source");
	parse_fails("{" BASE ",\"mounts\":[{\"destination\":\"/b\"}]}", "no type");
}

static void test_devices(void **state)
{
	(void)state;
	struct husk_spec *s = parse_ok("{" BASE ",\"linux\":{\"devices\":[{\"path\":\"/dev/fuse\","
				       "\"type\":\"c\",\"major\":10,\"minor\":229,\"fileMode\":"
				       "438,\"uid\":0,\"gid\":0}]}}");
	assert_int_equal(s->n_devices, 1);
	assert_int_equal(s->devices[0].major, 10);
	assert_int_equal(s->devices[0].minor, 229);
	assert_int_equal(s->devices[0].file_mode, 0666);
	husk_spec_free(s);
	parse_fails("{" BASE ",\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"q\","
		    "\"major\":1,\"minor\":1}]}}",
		    "not one of c, b, u, p");
	parse_fails("{" BASE ",\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\"}]}}",
		    "major and minor are required");
	parse_fails("{" BASE ",\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\","
		    "\"major\":99999,\"minor\":1}]}}",
		    "out of range");
}

static void test_hooks(void **state)
{
	(void)state;
	struct husk_spec *s = parse_ok("{" BASE ",\"hooks\":{\"createRuntime\":[{\"path\":\"/bin/"
				       "true\",\"args\":[\"true\",\"x\"],\"timeout\":3}]}}");
	assert_int_equal(s->hooks.n_create_runtime, 1);
	assert_int_equal(s->hooks.create_runtime[0].timeout, 3);
	assert_string_equal(s->hooks.create_runtime[0].args[1], "x");
	husk_spec_free(s);
	parse_fails("{" BASE ",\"hooks\":{\"poststart\":[{\"path\":\"rel\"}]}}", "not absolute");
	parse_fails("{" BASE ",\"hooks\":{\"poststart\":[{\"path\":\"/x\",\"timeout\":0}]}}",
		    "timeout");
}

static void test_default_spec_parses(void **state)
{
	(void)state;
	for (int rootless = 0; rootless < 2; rootless++) {
		char *text = husk_spec_default_json(rootless, 1000, 1000);
		assert_non_null(text);
		struct husk_spec *s = parse_ok(text);
		assert_true(s->ns[HUSK_NS_MNT].enabled);
		assert_true(s->ns[HUSK_NS_PID].enabled);
		assert_int_equal(s->ns[HUSK_NS_USER].enabled, rootless);
		assert_int_equal(s->ns[HUSK_NS_NET].enabled, !rootless);
		if (rootless) {
			assert_int_equal(s->uid_maps[0].host_id, 1000);
			assert_int_equal(s->uid_maps[0].container_id, 0);
		}
		assert_true(s->n_masked_paths > 0);
		husk_spec_free(s);
		free(text);
	}
}

static void test_container_ids(void **state)
{
	(void)state;
	husk_error *err = NULL;
	assert_int_equal(husk_id_validate("web-1.a_b+c", &err), 0);
	const char *bad[] = {"", ".", "..", "a/b", "a b", "x;y"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_true(husk_id_validate(bad[i], &err) < 0);
		husk_error_free(err);
		err = NULL;
	}
}

/* json-span.c against jansson: where the scan answers 1, its span parses to
 * the value jansson finds at the path; where it cannot be sure, -1. */
static void span_case(const char *text, int want, const char *want_span)
{
	static const char *const keys[] = {"linux", "seccomp"};
	size_t off = 0, len = 0;
	int r = husk_json_member_span(text, strlen(text), keys, 2, &off, &len);
	if (r != want)
		fail_msg("%s: got %d, want %d", text, r, want);
	if (r != 1)
		return;
	char *span = strndup(text + off, len);
	assert_string_equal(span, want_span);
	json_t *root = json_loads(text, 0, NULL), *v = json_loads(span, JSON_DECODE_ANY, NULL);
	assert_non_null(root);
	assert_non_null(v);
	assert_true(json_equal(v, json_object_get(json_object_get(root, "linux"), "seccomp")));
	json_decref(root);
	json_decref(v);
	free(span);
}

static void test_json_span(void **state)
{
	(void)state;
	span_case("{\"linux\":{\"seccomp\":{\"a\":1}}}", 1, "{\"a\":1}");
	/* blanks, other members before and after, nested look-alikes in
	 * strings, in other objects and in arrays */
	span_case(
		" {\"seccomp\":{\"x\":2}, \"process\":{\"args\":[\"\\\"linux\\\"\",\"seccomp\"]},\n"
		"  \"linux\" : { \"n\":[{\"seccomp\":1}], \"seccomp\" : "
		"{\"s\":\"}\\\\\",\"t\":[1,2]} ,"
		"\"z\":null}\t}\n",
		1, "{\"s\":\"}\\\\\",\"t\":[1,2]}");
	span_case("{\"linux\":{\"seccomp\":null}}", 1, "null");
	span_case("{\"linux\":{\"seccomp\":[true,false,-1.5e3]}}", 1, "[true,false,-1.5e3]");
	/* absent, or linux not an object */
	span_case("{\"linux\":{\"resources\":{}}}", 0, NULL);
	span_case("{\"process\":{}}", 0, NULL);
	span_case("{\"linux\":[{\"seccomp\":{}}]}", 0, NULL);
	span_case("{}", 0, NULL);
	/* a key on the path twice, or escaped: the parser decides, not the
	 * scan (jansson keeps the last "seccomp", and "se\u0063comp" is it) */
	span_case("{\"linux\":{\"seccomp\":{},\"seccomp\":{\"b\":1}}}", -1, NULL);
	span_case("{\"linux\":{},\"linux\":{\"seccomp\":{}}}", -1, NULL);
	span_case("{\"linux\":{\"se\\u0063comp\":{\"b\":1}}}", -1, NULL);
	/* not well formed where the scan goes, or more than one value */
	span_case("{\"linux\":{\"seccomp\":{\"a\":1}}", -1, NULL);
	span_case("{\"linux\":{\"seccomp\":{\"a\" 1}}}", -1, NULL);
	span_case("{\"linux\":{\"seccomp\":\"unterminated}}}", -1, NULL);
	span_case("{\"linux\":{\"seccomp\":{}}} {}", -1, NULL);
	span_case("[\"linux\"]", -1, NULL);
	span_case("", -1, NULL);
	/* nesting deeper than the scan goes */
	char deep[2048] = "{\"linux\":{\"seccomp\":";
	size_t n = strlen(deep);
	for (int i = 0; i < 600; i++)
		deep[n++] = '[';
	for (int i = 0; i < 600; i++)
		deep[n++] = ']';
	memcpy(deep + n, "}}", 3);
	span_case(deep, -1, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_json_span),
		cmocka_unit_test(test_bad_json_names_line),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_process_errors),
		cmocka_unit_test(test_process_fields),
		cmocka_unit_test(test_mount_options),
		cmocka_unit_test(test_mount_validation),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_default_spec_parses),
		cmocka_unit_test(test_container_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

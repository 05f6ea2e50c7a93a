/* The engine CLI's --format templates (src/husk/template.c): the subset it
 * takes, how values print, and the errors for everything else. */
#define _GNU_SOURCE
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"
#include "util.h"

static char *render(const char *text, const char *const *fields, const char *data_json)
{
	husk_error *err = NULL;
	struct husk_tmpl *t = NULL;
	json_t *data = json_loads(data_json, 0, NULL);
	assert_non_null(data);
	if (husk_tmpl_parse(text, fields, &t, &err) < 0)
		fail_msg("parse \"%s\": %s", text, err->msg);
	char *out = NULL;
	if (husk_tmpl_render(t, data, &out, &err) < 0)
		fail_msg("render \"%s\": %s", text, err->msg);
	husk_tmpl_free(t);
	json_decref(data);
	return out;
}

/* The error message of a template that must not parse. */
static char *parse_error(const char *text, const char *const *fields)
{
	husk_error *err = NULL;
	struct husk_tmpl *t = NULL;
	assert_true(husk_tmpl_parse(text, fields, &t, &err) < 0);
	assert_null(t);
	assert_non_null(err);
	char *m = strdup(err->msg);
	husk_error_free(err);
	return m;
}

static const char *const fields[] = {"Repository", "Tag", "ID", "Config", "Size", NULL};

static void test_fields(void **state)
{
	(void)state;
	const char *row = "{\"Repository\":\"busybox\",\"Tag\":\"latest\",\"ID\":\"0123456789ab\"}";
	char *s = render("{{.Repository}}:{{.Tag}} {{ .ID }}", fields, row);
	assert_string_equal(s, "busybox:latest 0123456789ab");
	free(s);
	/* docker's CLI reads \t and \n in the format */
	s = render("{{.Repository}}\\t{{.Tag}}\\n", fields, row);
	assert_string_equal(s, "busybox\tlatest\n");
	free(s);
	s = render("no actions at all", fields, row);
	assert_string_equal(s, "no actions at all");
	free(s);
	/* a lone } or { is text */
	s = render("{a} {{.Tag}}}", fields, row);
	assert_string_equal(s, "{a} latest}");
	free(s);
}

static void test_values(void **state)
{
	(void)state;
	const char *img = "{\"Size\":2080000,\"Config\":{\"Cmd\":[\"sh\",\"-c\",\"x\"],"
			  "\"Env\":[],\"Labels\":{\"b\":\"2\",\"a\":\"1\"},\"User\":null}}";
	char *s = render("{{.Size}}", fields, img);
	assert_string_equal(s, "2080000");
	free(s);
	s = render("{{.Config.Cmd}}|{{.Config.Env}}", fields, img);
	assert_string_equal(s, "[sh -c x]|[]");
	free(s);
	/* maps print with sorted keys, as Go's fmt does */
	s = render("{{.Config.Labels}}", fields, img);
	assert_string_equal(s, "map[a:1 b:2]");
	free(s);
	s = render("{{json .Config.Cmd}} {{json .Config.Labels.a}}", fields, img);
	assert_string_equal(s, "[\"sh\",\"-c\",\"x\"] \"1\"");
	free(s);
	/* a key missing inside an object value, as Go's map lookups say */
	s = render("{{.Config.WorkingDir}}/{{.Config.User}}", fields, img);
	assert_string_equal(s, "<no value>/<nil>");
	free(s);
	s = render("{{json .}}", NULL, "{\"a\":1}");
	assert_string_equal(s, "{\"a\":1}");
	free(s);
}

static void test_errors(void **state)
{
	(void)state;
	char *m = parse_error("{{.Repo}}", fields);
	assert_non_null(strstr(m, "unknown field \".Repo\""));
	assert_non_null(strstr(m, ".Repository"));
	free(m);
	m = parse_error("{{range .Tag}}x{{end}}", fields);
	assert_non_null(strstr(m, "unsupported action \"{{range .Tag}}\""));
	free(m);
	m = parse_error("{{.Tag | printf \"%s\"}}", fields);
	assert_non_null(strstr(m, "unsupported action"));
	free(m);
	m = parse_error("{{.Tag", fields);
	assert_non_null(strstr(m, "unclosed action"));
	free(m);
	m = parse_error("{{.Config..Cmd}}", fields);
	assert_non_null(strstr(m, "unsupported action"));
	free(m);
	m = parse_error("{{}}", fields);
	assert_non_null(strstr(m, "unsupported action"));
	free(m);

	/* a field below a value that is not an object */
	husk_error *err = NULL;
	struct husk_tmpl *t = NULL;
	assert_int_equal(husk_tmpl_parse("{{.Tag.X}}", fields, &t, &err), 0);
	json_t *data = json_pack("{s:s}", "Tag", "latest");
	char *out = NULL;
	assert_true(husk_tmpl_render(t, data, &out, &err) < 0);
	assert_null(out);
	assert_non_null(strstr(err->msg, "can't evaluate field \"X\""));
	husk_error_free(err);
	json_decref(data);
	husk_tmpl_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The engine CLI's --format templates (src/husk/template.c): the subset of
 * Go's text/template it takes (fields, functions, pipelines, range, if and
 * with), how values print, and the errors for everything else. */
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
	/* Docker's method {{.Label "k"}}: a missing key is "", as Docker's
	 * Label returns */
	s = render("{{.Label \"b\"}}|{{.Label \"z\"}}|{{.Label \"a\" | printf \"<%s>\"}}", NULL,
		   "{\"Label\":{\"b\":\"2\",\"a\":\"1\"}}");
	assert_string_equal(s, "2||<1>");
	free(s);
}

/* A rendering error's message (the template parses). */
static char *render_error(const char *text, const char *data_json)
{
	husk_error *err = NULL;
	struct husk_tmpl *t = NULL;
	json_t *data = json_loads(data_json, 0, NULL);
	assert_non_null(data);
	if (husk_tmpl_parse(text, NULL, &t, &err) < 0)
		fail_msg("parse \"%s\": %s", text, err->msg);
	char *out = NULL;
	assert_true(husk_tmpl_render(t, data, &out, &err) < 0);
	assert_null(out);
	char *m = strdup(err->msg);
	husk_error_free(err);
	husk_tmpl_free(t);
	json_decref(data);
	return m;
}

#define assert_renders(text, flds, data, want)         \
	do {                                           \
		char *got_ = render(text, flds, data); \
		assert_string_equal(got_, want);       \
		free(got_);                            \
	} while (0)

#define assert_error(m, want)                                                   \
	do {                                                                    \
		char *m_ = (m);                                                 \
		if (!strstr(m_, want))                                          \
			fail_msg("error \"%s\" does not say \"%s\"", m_, want); \
		free(m_);                                                       \
	} while (0)

/* docker ps and inspect data, as husk gives them */
static const char *const ctr_fields[] = {"Names",  "Name",  "Status", "Labels", "Mounts",
					 "Config", "State", "Ports",  NULL};
static const char *ctr =
	"{\"Names\":[\"web\",\"web-alias\"],\"Name\":\"/web\",\"Status\":\"Up 3 seconds\","
	"\"Labels\":{\"com.example.x\":\"1\",\"b\":\"two\"},"
	"\"Mounts\":[{\"Destination\":\"/data\",\"RW\":true},{\"Destination\":\"/etc/x\","
	"\"RW\":false}],"
	"\"Config\":{\"Env\":[\"A=1\",\"B=2\"],\"Labels\":null,\"Cmd\":[]},"
	"\"State\":{\"Running\":true,\"ExitCode\":0,\"Status\":\"RUNNING\",\"Health\":null},"
	"\"Ports\":\"\"}";

static void test_functions(void **state)
{
	(void)state;
	assert_renders("{{join .Names \",\"}}", ctr_fields, ctr, "web,web-alias");
	assert_renders("{{join .Config.Cmd \",\"}}|{{join .Config.Labels \" \"}}", ctr_fields, ctr,
		       "|");
	assert_renders("{{index .Labels \"com.example.x\"}}", ctr_fields, ctr, "1");
	/* a missing label is "", as docker's map[string]string gives */
	assert_renders("[{{index .Labels \"nope\"}}][{{index .Config.Labels \"x\"}}]", ctr_fields,
		       ctr, "[][]");
	/* elsewhere a missing key is no value, as Go's map[string]interface{} */
	assert_renders("{{index .State \"Nope\"}}", ctr_fields, ctr, "<no value>");
	assert_renders("{{index .Names 1}} {{index .Mounts 0 \"Destination\"}}", ctr_fields, ctr,
		       "web-alias /data");
	assert_renders("{{lower .State.Status}} {{upper .Name}} {{title \"up and-running x_y\"}}",
		       ctr_fields, ctr, "running /WEB Up And-Running X_y");
	assert_renders("{{len .Names}} {{len .Labels}} {{len .Status}} {{len .Config.Labels}}",
		       ctr_fields, ctr, "2 2 12 0");
	assert_renders("{{json .Labels}} {{json .Names}} {{json .Nope}}", NULL, ctr,
		       "{\"com.example.x\":\"1\",\"b\":\"two\"} [\"web\",\"web-alias\"] null");
	assert_renders(
		"{{split \"a,b,,c\" \",\"}} {{len (split \"\" \",\")}} {{split \"ab\" \"\"}}", NULL,
		"{}", "[a b  c] 1 [a b]");
	/* literals: Go's escapes in "...", none in `...`, integers */
	assert_renders("{{\"a\\\"b\\\\c\\td\\ne\"}}|{{`x\\n`}}|{{42}} {{-7}} {{0x10}} {{1.5}}",
		       NULL, "{}", "a\"b\\c\td\ne|x\\n|42 -7 16 1.5");
	assert_renders("{{\"\\u00e9\\x41\\101\"}} {{\"}}\"}}", NULL, "{}",
		       "\xc3\xa9"
		       "AA }}");
	assert_renders("{{eq .Status \"Up 3 seconds\"}} {{eq 1 2 1}} {{ne .Name \"/web\"}} "
		       "{{not .Ports}} {{and 1 0 2}} {{or 0 \"\" \"x\"}}",
		       ctr_fields, ctr, "true true false true 0 x");
	assert_renders("{{print \"a\" 1 2 \"b\"}}", NULL, "{}", "a1 2b");
	/* printf's common verbs, and Go's words for what does not fit */
	assert_renders("{{printf \"%s|%-6s|%5.2s|%v|%q|%d|%05d|%x|%.1f|%t|%%\" .Name .Name .Name "
		       ".Names .Name .State.ExitCode 42 255 1.25 .State.Running}}",
		       ctr_fields, ctr,
		       "/web|/web  |   /w|[web web-alias]|\"/web\"|0|00042|ff|1.2|true|%");
	assert_renders("{{printf \"%.12s\" \"0123456789abcdef\"}} {{printf \"%d %s\" \"x\"}} "
		       "{{printf \"%s\" 1 2}} {{printf \"%x\" -255}}",
		       NULL, "{}",
		       "0123456789ab %!d(string=x) %!s(MISSING) %!s(int=1)%!(EXTRA int=2) -ff");
	assert_renders("{{.Name | printf \"%s!\"}}", ctr_fields, ctr, "/web!");
	/* parentheses and a field of their value */
	assert_renders("{{upper (index .Names 0)}} {{(index .Mounts 1).Destination}}", ctr_fields,
		       ctr, "WEB /etc/x");
}

static void test_pipelines(void **state)
{
	(void)state;
	assert_renders("{{.Name | upper}}", ctr_fields, ctr, "/WEB");
	assert_renders("{{.Labels | json}}", ctr_fields, ctr,
		       "{\"com.example.x\":\"1\",\"b\":\"two\"}");
	/* the value goes last: join's list is its first argument */
	assert_renders("{{\",\" | join .Names}}", ctr_fields, ctr, "web,web-alias");
	assert_renders("{{join .Names \"+\" | upper | printf \"%s\"}}", ctr_fields, ctr,
		       "WEB+WEB-ALIAS");
	/* and so .Names | join "+" passes join a string for its list, as in Go */
	assert_error(render_error("{{.Names | join \"+\"}}", ctr),
		     "join: wrong type for value; expected list; got string");
}

static void test_range(void **state)
{
	(void)state;
	assert_renders("{{range .Mounts}}{{.Destination}} {{end}}", ctr_fields, ctr,
		       "/data /etc/x ");
	/* objects in sorted key order, as Go's maps */
	assert_renders("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", ctr_fields, ctr,
		       "b=two;com.example.x=1;");
	assert_renders("{{range $i, $m := .Mounts}}{{$i}}:{{$m.Destination}},{{.RW}} {{end}}",
		       ctr_fields, ctr, "0:/data,true 1:/etc/x,false ");
	assert_renders("{{range $v := .Names}}<{{$v}}>{{end}}", ctr_fields, ctr,
		       "<web><web-alias>");
	assert_renders("{{range .Labels}}{{.}} {{end}}", ctr_fields, ctr, "two 1 ");
	/* empty, null or missing: the {{else}} part */
	assert_renders("{{range .Config.Cmd}}x{{else}}none{{end}} "
		       "{{range .Config.Labels}}x{{else}}none{{end}} "
		       "{{range .Config.Nope}}x{{else}}none{{end}}",
		       ctr_fields, ctr, "none none none");
	/* nested, with $ the data and the outer variable in reach */
	assert_renders("{{range $n := .Names}}{{range $.Mounts}}{{$n}}{{.Destination}} "
		       "{{end}}{{end}}",
		       ctr_fields, ctr, "web/data web/etc/x web-alias/data web-alias/etc/x ");
	assert_renders("{{range .Config.Env}}{{$.Name}}:{{.}} {{end}}", ctr_fields, ctr,
		       "/web:A=1 /web:B=2 ");
	/* fields inside a range belong to the element: not checked */
	assert_renders("{{range .Mounts}}{{.Nope}}{{end}}", ctr_fields, ctr,
		       "<no value><no value>");
	assert_renders("{{range .Config.Env}}{{split . \"=\" | json}}{{end}}", ctr_fields, ctr,
		       "[\"A\",\"1\"][\"B\",\"2\"]");
}

static void test_if(void **state)
{
	(void)state;
	assert_renders("{{if .State.Running}}up{{else}}down{{end}}", ctr_fields, ctr, "up");
	/* Go's truth: "", 0, false, null, empty list or object, no value */
	assert_renders("{{if .Ports}}a{{end}}{{if .State.ExitCode}}b{{end}}"
		       "{{if .State.Health}}c{{end}}{{if .Config.Cmd}}d{{end}}"
		       "{{if .Config.Nope}}e{{end}}{{if .Names}}f{{end}}{{if false}}g{{end}}",
		       ctr_fields, ctr, "f");
	assert_renders("{{if eq .State.Status \"exited\"}}x{{else if .State.Running}}r"
		       "{{else}}y{{end}}",
		       ctr_fields, ctr, "r");
	assert_renders("{{with .State}}{{.Status}}{{end}}{{with .Ports}}x{{else}}-{{end}}",
		       ctr_fields, ctr, "RUNNING-");
	assert_renders("{{$n := .Name}}{{range .Names}}{{$n}}{{end}}", ctr_fields, ctr, "/web/web");
	assert_renders("{{if $s := .Status}}{{$s}}{{end}}", ctr_fields, ctr, "Up 3 seconds");
	/* {{- and -}} cut the white space beside them; comments print nothing */
	assert_renders("a  {{- .Name -}} \n b {{/* x */}}c\n{{- /* y */ -}}\nd", ctr_fields, ctr,
		       "a/webb cd");
	assert_renders("{{range .Names -}}\n  {{.}}\n{{- end}}", ctr_fields, ctr, "webweb-alias");
	assert_renders("{{- 3}} {{-3}}", NULL, "{}", "3 -3");
}

static void test_errors(void **state)
{
	(void)state;
	assert_error(parse_error("{{.Repo}}", fields), "unknown field \".Repo\"");
	assert_error(parse_error("{{.Repo}}", fields), ".Repository");
	assert_error(parse_error("{{range .Repo}}{{end}}", fields), "unknown field \".Repo\"");
	assert_error(parse_error("{{json $.Repo}}", fields), "unknown field \".Repo\"");
	assert_error(parse_error("{{range .Tag}}x", fields), "\"{{range .Tag}}\" has no {{end}}");
	assert_error(parse_error("{{if .Tag}}x{{else}}y", fields), "has no {{end}}");
	assert_error(parse_error("x{{end}}", fields), "unexpected {{end}}");
	assert_error(parse_error("{{else}}", fields), "unexpected {{else}}");
	assert_error(parse_error("{{if 1}}{{else}}{{else}}{{end}}", fields), "a second {{else}}");
	assert_error(parse_error("{{.Tag | sprintf \"%s\"}}", fields),
		     "unknown function \"sprintf\" in \"{{.Tag | sprintf \"%s\"}}\"");
	assert_error(parse_error("{{foo .Tag}}", fields), "unknown function \"foo\"");
	assert_error(parse_error("{{join .Tag}}", fields),
		     "wrong number of arguments for \"join\": want 2, got 1");
	assert_error(parse_error("{{.Tag | upper \"x\"}}", fields),
		     "wrong number of arguments for \"upper\": want 1, got 2");
	assert_error(parse_error("{{index}}", fields), "want at least 1, got 0");
	assert_error(parse_error("{{.Tag", fields), "unclosed action");
	assert_error(parse_error("{{(.Tag}}", fields), "unclosed left parenthesis");
	assert_error(parse_error("{{.Config..Cmd}}", fields), "unexpected \".\"");
	assert_error(parse_error("{{}}", fields), "missing value");
	assert_error(parse_error("{{.Tag .ID}}", fields), "can't give arguments");
	assert_error(parse_error("{{.Tag | .ID}}", fields), "not a function in stage 2");
	assert_error(parse_error("{{$x}}", fields), "undefined variable \"$x\"");
	assert_error(parse_error("{{range $v := .Tag}}{{end}}{{$v}}", fields),
		     "undefined variable \"$v\"");
	assert_error(parse_error("{{$a, $b := .Tag}}", fields), "too many declarations");
	assert_error(parse_error("{{\"abc}}", fields), "unterminated quoted string");
	assert_error(parse_error("{{\"\\q\"}}", fields), "bad escape");
	assert_error(parse_error("{{template \"x\"}}", fields), "not supported");
	assert_error(parse_error("{{/* x }}", fields), "unclosed comment");

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

	/* what fails only on the data names the action */
	assert_error(render_error("{{upper .A}}", "{\"A\":[1]}"),
		     "executing \"{{upper .A}}\": upper: wrong type for value; expected string; "
		     "got list");
	assert_error(render_error("{{index .A 2}}", "{\"A\":[1]}"), "index out of range: 2");
	assert_error(render_error("{{index .A \"k\"}}", "{\"A\":[1]}"), "cannot index");
	assert_error(render_error("{{range .A}}{{end}}", "{\"A\":\"s\"}"),
		     "range can't iterate over string");
	assert_error(render_error("{{join .A \",\"}}", "{\"A\":\"s\"}"), "expected list");
	assert_error(render_error("{{eq .A 1}}", "{\"A\":[]}"), "incomparable");
	/* ranges nested over the whole data end, in one line */
	assert_error(render_error("{{range $}}{{range $}}{{range $}}{{range $}}{{range $}}"
				  "{{range $}}{{range $}}{{.}}{{end}}{{end}}{{end}}{{end}}{{end}}"
				  "{{end}}{{end}}",
				  "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7}"),
		     "more than");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),	  cmocka_unit_test(test_values),
		cmocka_unit_test(test_functions), cmocka_unit_test(test_pipelines),
		cmocka_unit_test(test_range),	  cmocka_unit_test(test_if),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

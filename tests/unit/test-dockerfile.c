/* Dockerfiles (src/build/dockerfile.c): the structure, the words and
 * variables, .dockerignore -- an example of each rule in dockerfile.h,
 * and the errors for what Docker refuses. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dockerfile.h"
#include "download.h"
#include "runmount.h"
#include "util.h"

static struct husk_dockerfile *parse(const char *text)
{
	husk_error *err = NULL;
	struct husk_dockerfile *df = NULL;
	if (husk_df_parse(text, "Dockerfile", &df, &err) < 0)
		fail_msg("parse: %s", err->msg);
	return df;
}

static char *parse_error(const char *text)
{
	husk_error *err = NULL;
	struct husk_dockerfile *df = NULL;
	assert_true(husk_df_parse(text, "Dockerfile", &df, &err) < 0);
	assert_null(df);
	assert_int_equal(err->errnum, EINVAL);
	char *m = strdup(err->msg);
	husk_error_free(err);
	return m;
}

static void test_structure(void **state)
{
	(void)state;
	struct husk_dockerfile *df = parse("# syntax=docker/dockerfile:1\n"
					   "ARG BASE=busybox\n"
					   "FROM $BASE AS Build\n"
					   "# a comment\n"
					   "\n"
					   "run echo a \\\n"
					   "  # dropped inside\n"
					   "\n"
					   "  && echo b\n"
					   "COPY --from=x --chown=1:2 a b /dst/\n"
					   "CMD [\"sh\", \"-c\", \"echo hi\"]\n"
					   "ENTRYPOINT [\"not json\"\n"
					   "FROM build\n"
					   "ONBUILD RUN make\n");
	assert_int_equal(df->escape, '\\');
	assert_int_equal(df->n_args, 1);
	assert_string_equal(df->args[0].args[0], "BASE=busybox");
	assert_int_equal(df->n_stages, 2);
	struct husk_df_stage *s = &df->stages[0];
	assert_string_equal(s->name, "build");
	assert_int_equal(s->n, 5);
	assert_int_equal(s->v[0].kind, HUSK_DF_FROM);
	assert_int_equal(s->v[0].line, 3);
	assert_int_equal(s->v[1].kind, HUSK_DF_RUN);
	assert_int_equal(s->v[1].line, 6);
	assert_string_equal(s->v[1].args[0], "echo a   && echo b");
	assert_string_equal(s->v[1].text, "RUN echo a   && echo b");
	assert_int_equal(s->v[2].n_flags, 2);
	assert_string_equal(husk_df_flag(&s->v[2], "from"), "x");
	assert_string_equal(husk_df_flag(&s->v[2], "chown"), "1:2");
	assert_null(husk_df_flag(&s->v[2], "chmod"));
	assert_string_equal(s->v[2].args[0], "a b /dst/");
	assert_true(s->v[3].json);
	assert_int_equal(s->v[3].n_args, 3);
	assert_string_equal(s->v[3].args[2], "echo hi");
	/* not JSON: the shell form */
	assert_false(s->v[4].json);
	assert_string_equal(s->v[4].args[0], "[\"not json\"");
	assert_null(df->stages[1].name);
	assert_int_equal(df->stages[1].v[1].kind, HUSK_DF_ONBUILD);
	assert_int_equal(df->stages[1].v[1].onbuild->kind, HUSK_DF_RUN);
	assert_string_equal(df->stages[1].v[1].onbuild->args[0], "make");
	husk_df_free(df);
}

static void test_escape_directive_and_crlf(void **state)
{
	(void)state;
	struct husk_dockerfile *df = parse("# escape=`\r\n"
					   "FROM busybox\r\n"
					   "RUN dir c:\\ `\r\n"
					   "  && echo ok\r\n");
	assert_int_equal(df->escape, '`');
	assert_string_equal(df->stages[0].v[1].args[0], "dir c:\\   && echo ok");
	husk_df_free(df);
	/* after a comment, "# escape=" is only a comment */
	df = parse("# hello\n# escape=`\nFROM busybox\nRUN a \\\n b\n");
	assert_int_equal(df->escape, '\\');
	assert_string_equal(df->stages[0].v[1].args[0], "a  b");
	husk_df_free(df);
}

static void test_heredocs(void **state)
{
	(void)state;
	struct husk_dockerfile *df = parse("FROM busybox\n"
					   "RUN <<EOF\n"
					   "echo $HOME\n"
					   "echo two\n"
					   "EOF\n"
					   "COPY <<-\"END\" <<two /x/\n"
					   "\t\tliteral $X\n"
					   "\tEND\n"
					   "second\n"
					   "two\n"
					   "RUN a<<b\n");
	struct husk_df_insn *run = &df->stages[0].v[1];
	assert_int_equal(run->n_heredocs, 1);
	assert_string_equal(run->heredocs[0].name, "EOF");
	assert_string_equal(run->heredocs[0].body, "echo $HOME\necho two\n");
	assert_true(run->heredocs[0].expand);
	struct husk_df_insn *copy = &df->stages[0].v[2];
	assert_int_equal(copy->n_heredocs, 2);
	assert_string_equal(copy->heredocs[0].body, "literal $X\n");
	assert_false(copy->heredocs[0].expand);
	assert_true(copy->heredocs[0].strip_tabs);
	assert_string_equal(copy->heredocs[1].body, "second\n");
	/* "<<" inside a word is no heredoc */
	assert_int_equal(df->stages[0].v[3].n_heredocs, 0);
	husk_df_free(df);
	char *m = parse_error("FROM busybox\nRUN <<EOF\necho\n");
	assert_string_equal(m, "Dockerfile:2: the heredoc \"EOF\" has no end");
	free(m);
}

static void test_errors(void **state)
{
	(void)state;
	struct {
		const char *text, *msg;
	} cases[] = {
		{"FROM busybox\nFROB x\n", "Dockerfile:2: unknown instruction: FROB"},
		{"RUN x\nFROM busybox\n",
		 "Dockerfile:1: RUN before the first FROM (only ARG may come before it)"},
		{"# just a comment\n", "Dockerfile: no FROM: a Dockerfile names its base image"},
		{"FROM a b\n", "Dockerfile:1: FROM requires either one or three arguments"},
		{"FROM a AS x\nFROM b AS X\n", "Dockerfile:2: the stage name \"x\" is used twice"},
		{"FROM a\nRUN\n", "Dockerfile:2: RUN requires at least one argument"},
		{"FROM a\nSHELL /bin/bash -c\n",
		 "Dockerfile:2: SHELL requires the arguments as a JSON array"},
		{"FROM a\nCOPY [\"one\"]\n", "Dockerfile:2: COPY requires at least two arguments"},
		{"FROM a\nONBUILD ONBUILD RUN x\n", "Dockerfile:2: ONBUILD ONBUILD is not allowed"},
		{"FROM a\nONBUILD FROM b\n", "Dockerfile:2: ONBUILD FROM is not allowed"},
		{"# escape=x\nFROM a\n",
		 "Dockerfile:1: invalid escape character \"x\": it is \\ or `"},
		/* each instruction's flags, as Docker's reference lists them */
		{"FROM a\nRUN --foo echo\n", "Dockerfile:2: RUN: unknown flag --foo"},
		{"FROM a\nRUN --from=x echo\n", "Dockerfile:2: RUN: unknown flag --from"},
		{"FROM --mount=x a\n", "Dockerfile:1: FROM: unknown flag --mount"},
		{"FROM a\nCOPY --parents a /b/\n", "Dockerfile:2: COPY: unknown flag --parents"},
		{"FROM a\nCOPY --checksum=sha256:0 a /b\n",
		 "Dockerfile:2: COPY: unknown flag --checksum"},
		{"FROM a\nADD --keep-git-dir a /b\n",
		 "Dockerfile:2: ADD: unknown flag --keep-git-dir"},
		{"FROM a\nCMD --help\n", "Dockerfile:2: CMD: unknown flag --help"},
		{"FROM a\nONBUILD RUN --x y\n", "Dockerfile:2: RUN: unknown flag --x"},
		{"FROM a\nHEALTHCHECK --interval=1s --bogus CMD true\n",
		 "Dockerfile:2: HEALTHCHECK: unknown flag --bogus"},
		{"FROM a\nCOPY --from=a --from=b x /y\n",
		 "Dockerfile:2: COPY: --from is given twice"},
		{"FROM a\nCOPY --chown a /b\n",
		 "Dockerfile:2: COPY: --chown needs a value (--chown=...)"},
		{"FROM a\nCOPY --link=maybe a /b\n",
		 "Dockerfile:2: COPY: --link=maybe: expected a boolean"},
		{"FROM a\nRUN --network=bridge x\n",
		 "Dockerfile:2: RUN --network=bridge: default, none or host"},
		{"FROM a\nRUN --security=insecure x\n",
		 "Dockerfile:2: RUN --security=insecure: husk runs no build step with every "
		 "privilege "
		 "(BuildKit's security.insecure entitlement)"},
		{"FROM a\nRUN --mount=\"type=cache x\n",
		 "Dockerfile:2: RUN: a quote is not closed in its flags"},
		{"FROM a\nRUN --mount=type=cache x\n",
		 "Dockerfile:2: RUN --mount=type=cache: mount type \"cache\" needs a target"},
		{"FROM a\nRUN --mount=type=ssh x\n",
		 "Dockerfile:2: RUN --mount=type=ssh: type=ssh is not supported by husk (it "
		 "forwards no "
		 "ssh agent): give the step what it needs with type=secret"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *m = parse_error(cases[i].text);
		assert_string_equal(m, cases[i].msg);
		free(m);
	}
}

static const char *vars(const char *name, void *ud)
{
	(void)ud;
	if (strcmp(name, "A") == 0)
		return "a";
	if (strcmp(name, "SP") == 0)
		return "x y";
	if (strcmp(name, "EMPTY") == 0)
		return "";
	return NULL;
}

static char *expand(const char *w, char esc)
{
	husk_error *err = NULL;
	char *out = NULL;
	if (husk_df_expand(w, esc, vars, NULL, &out, &err) < 0)
		fail_msg("expand \"%s\": %s", w, err->msg);
	return out;
}

static void test_expand(void **state)
{
	(void)state;
	struct {
		const char *in, *out;
	} cases[] = {
		{"$A", "a"},
		{"${A}b", "ab"},
		{"$UNSET-", "-"},
		{"${UNSET:-def}", "def"},
		{"${EMPTY:-def}", "def"},
		{"${EMPTY-def}", ""},
		{"${UNSET-def}", "def"},
		{"${A:+alt}", "alt"},
		{"${EMPTY:+alt}", ""},
		{"${EMPTY+alt}", "alt"},
		{"${UNSET:-${A}z}", "az"},
		{"'$A'", "$A"},
		{"\"$A b\"", "a b"},
		{"\\$A", "$A"},
		{"\"\\$A\"", "$A"},
		{"a\\ b", "a b"},
		{"$", "$"},
		{"5$", "5$"},
		{"\"it's\"", "it's"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *o = expand(cases[i].in, '\\');
		if (strcmp(o, cases[i].out) != 0)
			fail_msg("\"%s\" gave \"%s\", not \"%s\"", cases[i].in, o, cases[i].out);
		free(o);
	}
	/* the backtick as escape: a backslash is a character */
	char *o = expand("c:\\dir `$A", '`');
	assert_string_equal(o, "c:\\dir $A");
	free(o);
	husk_error *err = NULL;
	char *out = NULL;
	assert_true(husk_df_expand("'open", '\\', vars, NULL, &out, &err) < 0);
	assert_int_equal(err->errnum, EINVAL);
	husk_error_free(err);
	err = NULL;
	assert_true(husk_df_expand("${A#x}", '\\', vars, NULL, &out, &err) < 0);
	assert_non_null(strstr(err->msg, "husk takes :- and :+"));
	husk_error_free(err);
}

static void test_words(void **state)
{
	(void)state;
	husk_error *err = NULL;
	char **w = NULL;
	size_t n = 0;
	assert_int_equal(husk_df_words("a=1 b=\"two words\" $SP \"$SP\" '' c\\ d", '\\', vars, NULL,
				       &w, &n, &err),
			 0);
	assert_int_equal(n, 7);
	assert_string_equal(w[0], "a=1");
	assert_string_equal(w[1], "b=two words");
	/* an unquoted value splits, a quoted one does not (Docker's ProcessWords) */
	assert_string_equal(w[2], "x");
	assert_string_equal(w[3], "y");
	assert_string_equal(w[4], "x y");
	assert_string_equal(w[5], "");
	assert_string_equal(w[6], "c d");
	husk_strv_free(w, n);
}

static bool excluded(const char *patterns, const char *path)
{
	husk_error *err = NULL;
	struct husk_ignore *ig = NULL;
	assert_int_equal(husk_ignore_parse(patterns, &ig, &err), 0);
	bool r = husk_ignore_excluded(ig, path);
	husk_ignore_free(ig);
	return r;
}

static void test_ignore(void **state)
{
	(void)state;
	assert_true(excluded("*.log\n", "a.log"));
	assert_false(excluded("*.log\n", "dir/a.log")); /* * does not cross / */
	assert_true(excluded("**/*.log\n", "dir/sub/a.log"));
	assert_true(excluded("**/*.log\n", "a.log"));	   /* ** matches no component too */
	assert_true(excluded("build\n", "build/out/x.o")); /* a parent matched */
	assert_true(excluded("/build/\n", "build/x"));	   /* leading / and trailing / */
	assert_true(excluded("./a/../b\n", "b"));	   /* cleaned */
	assert_true(excluded("*\n!keep\n", "other"));
	assert_false(excluded("*\n!keep\n", "keep"));
	assert_false(excluded("*.md\n!README*.md\n", "README-x.md"));
	assert_true(excluded("*.md\n!README*.md\nREADME-secret.md\n", "README-secret.md"));
	assert_true(excluded("# comment\n  spaced  \n", "spaced"));
	assert_false(excluded("# comment\n", "# comment"));
	assert_true(excluded("d?r/[ab]\n", "dir/b"));
	assert_false(excluded("d?r/[ab]\n", "dir/c"));
	/* may the walk skip an excluded dir? not when a ! pattern reaches in */
	husk_error *err = NULL;
	struct husk_ignore *ig = NULL;
	assert_int_equal(husk_ignore_parse("node_modules\n!node_modules/keep/**\n", &ig, &err), 0);
	assert_true(husk_ignore_excluded(ig, "node_modules/x"));
	assert_false(husk_ignore_excluded(ig, "node_modules/keep/a"));
	assert_true(husk_ignore_may_include_below(ig, "node_modules"));
	assert_false(husk_ignore_may_include_below(ig, "other"));
	husk_ignore_free(ig);
}

/* the flags husk takes, and those it takes without doing anything */
static void test_flags(void **state)
{
	(void)state;
	struct husk_dockerfile *df =
		parse("FROM --platform=$BUILDPLATFORM a\n"
		      "RUN --mount=type=cache,target=/c --mount=type=bind,target=/s,from=$X "
		      "--network=none --security=sandbox true\n"
		      "COPY --link --from=a --chown=1 --chmod=600 x /y\n"
		      "ADD --link=false --checksum=sha256:0 http://h/x /y\n"
		      "RUN --mount=\"type=bind,target=/my dir\" --network='none' true\n");
	struct husk_df_stage *s = &df->stages[0];
	assert_string_equal(husk_df_flag(&s->v[0], "platform"), "$BUILDPLATFORM");
	assert_int_equal(s->v[1].n_flags, 4);
	assert_string_equal(husk_df_flag(&s->v[1], "mount"), "type=cache,target=/c");
	assert_string_equal(husk_df_flag(&s->v[2], "link"), "");
	/* quotes group a flag's blanks and go, as BuildKit's parser reads it */
	assert_string_equal(husk_df_flag(&s->v[4], "mount"), "type=bind,target=/my dir");
	assert_string_equal(husk_df_flag(&s->v[4], "network"), "none");
	assert_string_equal(s->v[4].args[0], "true");
	husk_df_free(df);
}

static struct husk_rmount mount_of(const char *spec)
{
	husk_error *err = NULL;
	struct husk_rmount m;
	if (husk_rmount_parse(spec, NULL, NULL, &m, &err) < 0)
		fail_msg("parse \"%s\": %s", spec, err->msg);
	return m;
}

static char *mount_error(const char *spec)
{
	husk_error *err = NULL;
	struct husk_rmount m;
	assert_true(husk_rmount_parse(spec, NULL, NULL, &m, &err) < 0);
	assert_int_equal(err->errnum, EINVAL);
	char *msg = strdup(err->msg);
	husk_error_free(err);
	return msg;
}

/* $T is "/EXPANDED" */
static int upper_vars(void *ud, const char *v, char **ret, husk_error **err)
{
	(void)ud;
	(void)err;
	const char *t = strstr(v, "$T");
	*ret = t ? husk_strdup_printf("%.*s/EXPANDED%s", (int)(t - v), v, t + 2) : strdup(v);
	return 0;
}

/* RUN --mount's specs, as BuildKit reads them */
static void test_run_mount(void **state)
{
	(void)state;
	/* bind by default, read-only unless rw; keys in any case, CSV quotes */
	struct husk_rmount m = mount_of("target=/src,\"SOURCE=a,b\"");
	assert_int_equal(m.type, HUSK_RMOUNT_BIND);
	assert_string_equal(m.target, "/src");
	assert_string_equal(m.source, "a,b");
	assert_true(m.ro);
	husk_rmount_release(&m);
	m = mount_of("type=bind,dst=/s,from=build,rw");
	assert_false(m.ro);
	assert_string_equal(m.from, "build");
	husk_rmount_release(&m);
	m = mount_of("type=bind,dst=/s,readwrite=true,ro=1");
	assert_true(m.ro);
	husk_rmount_release(&m);
	/* a cache: writable, its id its target */
	m = mount_of("type=cache,target=/root/.cache,sharing=locked,mode=0700,uid=7,gid=8");
	assert_false(m.ro);
	assert_string_equal(m.id, "/root/.cache");
	assert_int_equal(m.sharing, HUSK_SHARING_LOCKED);
	assert_int_equal(m.mode, 0700);
	assert_int_equal(m.uid, 7);
	assert_int_equal(m.gid, 8);
	char *c = husk_rmount_canonical(&m);
	assert_string_equal(c, "type=cache,target=/root/.cache,source=,from=,id=/root/.cache,ro=0,"
			       "required=0,sharing=locked,mode=700,uid=7,gid=8,size=0");
	free(c);
	husk_rmount_release(&m);
	m = mount_of("type=tmpfs,target=/t,size=64m");
	assert_int_equal(m.size, 64LL << 20);
	assert_false(m.ro);
	husk_rmount_release(&m);
	/* a secret: its target from its id, its id from its target */
	m = mount_of("type=secret,id=tok,required");
	assert_string_equal(m.target, "/run/secrets/tok");
	assert_true(m.required);
	assert_true(m.ro);
	husk_rmount_release(&m);
	m = mount_of("type=secret,target=/etc/key.pem,required=false");
	assert_string_equal(m.id, "key.pem");
	assert_false(m.required);
	husk_rmount_release(&m);
	m = mount_of("type=secret,src=tok");
	assert_string_equal(m.id, "tok");
	husk_rmount_release(&m);
	static const char *const bad[][2] = {
		{"type=nfs,target=/x", "unsupported mount type \"nfs\""},
		{"type=bind", "mount type \"bind\" needs a target"},
		{"target=/x,bogus=1", "unexpected key \"bogus\" in \"bogus=1\""},
		{"target=/x,from", "invalid field \"from\": it must be a key=value pair"},
		{"target=/x,mode=0755", "mode not allowed for \"bind\" type mounts"},
		{"type=tmpfs,target=/x,uid=1", "uid not allowed for \"tmpfs\" type mounts"},
		{"type=cache,target=/x,mode=9", "invalid value 9 for mode"},
		{"type=cache,target=/x,sharing=all",
		 "unsupported sharing value \"all\": shared, private or locked"},
		{"target=/x,sharing=locked", "invalid cache sharing set for bind mount"},
		{"type=cache,target=/x,size=1m",
		 "unexpected key \"size\" for mount type \"cache\""},
		{"target=/x,required", "unexpected key \"required\" for mount type \"bind\""},
		{"target=/x,ro=maybe", "ro=maybe: not a boolean"},
		{"type=secret,from=a,id=x", "secret mount should not have a from"},
		{"type=secret", "one of id, target required"},
		{"type=secret,id=a,src=b", "both source and id can't be set"},
		{"type=secret,id=a,env=TOKEN", "env=TOKEN: a secret as an environment variable is "
					       "not supported by husk (mount it "
					       "as a file)"},
		{"type=tmpfs,\"target=/x", "\"type=tmpfs,\"target=/x\": a quote is not closed"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *msg = mount_error(bad[i][0]);
		assert_string_equal(msg, bad[i][1]);
		free(msg);
	}
	/* values expanded once split, keys and the type not */
	husk_error *xerr = NULL;
	assert_int_equal(
		husk_rmount_parse("type=cache,target=$T,id=a$T", upper_vars, NULL, &m, &xerr), 0);
	assert_string_equal(m.target, "/EXPANDED");
	assert_string_equal(m.id, "a/EXPANDED");
	husk_rmount_release(&m);
	/* build --secret */
	husk_error *err = NULL;
	struct husk_secret_src sec;
	assert_int_equal(husk_secret_src_parse("id=a,src=/f", &sec, &err), 0);
	assert_string_equal(sec.id, "a");
	assert_string_equal(sec.file, "/f");
	assert_null(sec.env);
	husk_secret_src_release(&sec);
	assert_int_equal(husk_secret_src_parse("type=env,id=a,src=TOKEN", &sec, &err), 0);
	assert_string_equal(sec.env, "TOKEN");
	assert_null(sec.file);
	husk_secret_src_release(&sec);
	assert_int_equal(husk_secret_src_parse("id=a", &sec, &err), 0);
	assert_null(sec.env);
	assert_null(sec.file);
	husk_secret_src_release(&sec);
	assert_true(husk_secret_src_parse("src=/f", &sec, &err) < 0);
	assert_string_equal(err->msg, "--secret \"src=/f\": the id= is missing");
	husk_error_free(err);
	err = NULL;
	assert_true(husk_secret_src_parse("id=a,type=ssh", &sec, &err) < 0);
	husk_error_free(err);
}

/* ADD's URLs: named as Go's path.Base names the URL's path */
static void test_download_name(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{"http://h/f.txt", "f.txt"},
		{"https://h:8080/d/f.tar.gz", "f.tar.gz"},
		{"http://h/d/f?x=1&y=/z", "f"},
		{"http://h/d/f#frag", "f"},
		{"http://h/d/dir/", "dir"},
		{"http://h/", NULL},
		{"http://h", NULL},
		{"http://h?q=/a", NULL},
		{"http://h/..", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *n = husk_download_name(cases[i][0]);
		if (cases[i][1])
			assert_string_equal(n, cases[i][1]);
		else
			assert_null(n);
		free(n);
	}
	assert_true(husk_download_is_url("https://h/x"));
	assert_false(husk_download_is_url("git@github.com:a/b"));
	assert_false(husk_download_is_url("ftp://h/x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure), cmocka_unit_test(test_escape_directive_and_crlf),
		cmocka_unit_test(test_heredocs),  cmocka_unit_test(test_errors),
		cmocka_unit_test(test_expand),	  cmocka_unit_test(test_words),
		cmocka_unit_test(test_ignore),	  cmocka_unit_test(test_download_name),
		cmocka_unit_test(test_flags),	  cmocka_unit_test(test_run_mount),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Dockerfiles: the structure (husk_df_parse), the words and variables
 * (husk_df_expand, husk_df_words), .dockerignore (husk_ignore_*).  The
 * subset and its rules are in dockerfile.h; tests/unit/test-dockerfile.c
 * holds an example of each. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"
#include "runmount.h"
#include "util.h"

static const char *const kinds[] = {
	[HUSK_DF_FROM] = "FROM",
	[HUSK_DF_RUN] = "RUN",
	[HUSK_DF_CMD] = "CMD",
	[HUSK_DF_ENTRYPOINT] = "ENTRYPOINT",
	[HUSK_DF_ENV] = "ENV",
	[HUSK_DF_ARG] = "ARG",
	[HUSK_DF_LABEL] = "LABEL",
	[HUSK_DF_EXPOSE] = "EXPOSE",
	[HUSK_DF_WORKDIR] = "WORKDIR",
	[HUSK_DF_USER] = "USER",
	[HUSK_DF_VOLUME] = "VOLUME",
	[HUSK_DF_COPY] = "COPY",
	[HUSK_DF_ADD] = "ADD",
	[HUSK_DF_STOPSIGNAL] = "STOPSIGNAL",
	[HUSK_DF_HEALTHCHECK] = "HEALTHCHECK",
	[HUSK_DF_ONBUILD] = "ONBUILD",
	[HUSK_DF_SHELL] = "SHELL",
	[HUSK_DF_MAINTAINER] = "MAINTAINER",
};

const char *husk_df_kind_name(enum husk_df_kind k)
{
	return (size_t)k < ARRAY_SIZE(kinds) ? kinds[k] : "?";
}

static int kind_of(const char *word, size_t n)
{
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
		if (strlen(kinds[k]) == n && strncasecmp(kinds[k], word, n) == 0)
			return (int)k;
	return -1;
}

static void insn_release(struct husk_df_insn *i)
{
	free(i->text);
	husk_strv_free(i->flags, i->n_flags);
	husk_strv_free(i->args, i->n_args);
	for (size_t k = 0; k < i->n_heredocs; k++) {
		free(i->heredocs[k].name);
		free(i->heredocs[k].body);
	}
	free(i->heredocs);
	if (i->onbuild) {
		insn_release(i->onbuild);
		free(i->onbuild);
	}
}

void husk_df_free(struct husk_dockerfile *df)
{
	if (!df)
		return;
	for (size_t i = 0; i < df->n_args; i++)
		insn_release(&df->args[i]);
	free(df->args);
	for (size_t s = 0; s < df->n_stages; s++) {
		for (size_t i = 0; i < df->stages[s].n; i++)
			insn_release(&df->stages[s].v[i]);
		free(df->stages[s].v);
		free(df->stages[s].name);
	}
	free(df->stages);
	free(df);
}

const char *husk_df_flag(const struct husk_df_insn *insn, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < insn->n_flags; i++) {
		const char *f = insn->flags[i] + 2;
		if (strncmp(f, name, n) == 0 && (f[n] == '=' || f[n] == '\0'))
			return f[n] == '=' ? f + n + 1 : "";
	}
	return NULL;
}

/* --- lines --- */

struct lines {
	char **v;
	size_t n;
	size_t at; /* the next line to read */
	const char *file;
	char escape;
	husk_error **err;
};

static int fail_at(struct lines *l, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_at(struct lines *l, size_t line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return husk_fail_as(l->err, EINVAL, "%s:%zu: %s", l->file, line, msg);
}

static bool blank(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return *s == '\0';
}

static bool comment(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return *s == '#';
}

/* Does the line end with the escape character (trailing blanks aside)?
 * Then it is cut there. */
static bool continues(char *s, char escape)
{
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || s[n - 1] != escape)
		return false;
	s[n - 1] = '\0';
	return true;
}

/* Parser directives: "# key=value" lines at the very top. */
static int directives(struct lines *l)
{
	bool seen_escape = false;
	for (; l->at < l->n; l->at++) {
		const char *s = l->v[l->at];
		while (isspace((unsigned char)*s))
			s++;
		if (*s != '#')
			return 0;
		s++;
		while (isspace((unsigned char)*s))
			s++;
		const char *k = s;
		while (isalnum((unsigned char)*s))
			s++;
		size_t klen = (size_t)(s - k);
		while (isspace((unsigned char)*s))
			s++;
		if (klen == 0 || *s != '=')
			return 0; /* a comment: no more directives */
		s++;
		while (isspace((unsigned char)*s))
			s++;
		const char *v = s;
		size_t vlen = strlen(v);
		while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
			vlen--;
		if (klen == 6 && strncasecmp(k, "escape", 6) == 0) {
			if (seen_escape)
				return fail_at(l, l->at + 1, "the escape directive is given twice");
			if (vlen != 1 || (v[0] != '\\' && v[0] != '`'))
				return fail_at(l, l->at + 1,
					       "invalid escape character \"%.*s\": it is \\ or `",
					       (int)vlen, v);
			l->escape = v[0];
			seen_escape = true;
		} else if (!(klen == 6 && strncasecmp(k, "syntax", 6) == 0) &&
			   !(klen == 5 && strncasecmp(k, "check", 5) == 0)) {
			l->at++;
			return 0; /* unknown: a comment, and the end of directives */
		}
	}
	return 0;
}

/* --- one instruction --- */

/* the heredoc markers of a shell-form line, in order */
static int find_heredocs(struct lines *l, struct husk_df_insn *in, const char *rest, size_t line)
{
	const char *p = rest;
	while ((p = strstr(p, "<<"))) {
		/* "<<" inside a word (a<<b, $((1<<2))) is not a heredoc */
		if (p != rest && !isspace((unsigned char)p[-1])) {
			p += 2;
			continue;
		}
		const char *q = p + 2;
		if (*q == '-')
			q++;
		char quote = (*q == '"' || *q == '\'') ? *q++ : 0;
		const char *name = q;
		while (isalnum((unsigned char)*q) || *q == '_')
			q++;
		size_t n = (size_t)(q - name);
		if (n == 0 || isdigit((unsigned char)name[0])) {
			p += 2;
			continue;
		}
		if (quote && *q++ != quote)
			return fail_at(l, line, "unterminated heredoc delimiter");
		struct husk_df_heredoc *v =
			realloc(in->heredocs, (in->n_heredocs + 1) * sizeof(*v));
		if (!v)
			abort();
		in->heredocs = v;
		v[in->n_heredocs++] = (struct husk_df_heredoc){
			.name = strndup(name, n),
			.expand = !quote,
			.strip_tabs = p[2] == '-',
		};
		p = q;
	}
	return 0;
}

/* the lines of each heredoc, after the instruction */
static int read_heredocs(struct lines *l, struct husk_df_insn *in)
{
	for (size_t h = 0; h < in->n_heredocs; h++) {
		struct husk_df_heredoc *d = &in->heredocs[h];
		bool strip = d->strip_tabs;
		size_t cap = 256, len = 0;
		char *body = malloc(cap);
		if (!body)
			abort();
		body[0] = '\0';
		bool done = false;
		for (; l->at < l->n; l->at++) {
			const char *s = l->v[l->at];
			if (strip)
				while (*s == '\t')
					s++;
			if (strcmp(s, d->name) == 0) {
				l->at++;
				done = true;
				break;
			}
			size_t n = strlen(s);
			while (len + n + 2 > cap)
				cap *= 2;
			body = realloc(body, cap);
			if (!body)
				abort();
			memcpy(body + len, s, n);
			len += n;
			body[len++] = '\n';
			body[len] = '\0';
		}
		d->body = body;
		if (!done)
			return fail_at(l, (size_t)in->line, "the heredoc \"%s\" has no end",
				       d->name);
	}
	return 0;
}

/* a JSON array of strings, or not one */
static bool json_form(const char *s, char ***ret, size_t *ret_n)
{
	while (isspace((unsigned char)*s))
		s++;
	if (*s != '[')
		return false;
	json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
	if (!json_is_array(j)) {
		json_decref(j);
		return false;
	}
	size_t i;
	json_t *v;
	json_array_foreach (j, i, v)
		if (!json_is_string(v)) {
			json_decref(j);
			return false;
		}
	*ret = NULL;
	*ret_n = 0;
	json_array_foreach (j, i, v)
		husk_strv_push(ret, ret_n, strdup(json_string_value(v)));
	if (!*ret)
		*ret = calloc(1, sizeof(char *)); /* []: no arguments */
	json_decref(j);
	return true;
}

/* --- the flags each instruction takes --- */

enum flag_value { FLAG_STRING, FLAG_BOOL };

struct flag_rule {
	enum husk_df_kind kind;
	const char *name;
	enum flag_value value;
	bool repeat; /* may be given more than once */
};

/* Docker's reference, BuildKit's stable syntax.  COPY and ADD --link is
 * taken and changes nothing here: it lets BuildKit reuse the layer on
 * another base, and the image's tree is the same either way.  ADD --from
 * is buildah's (not Docker's), which the builder has always taken.  The
 * rest Docker knows (COPY --parents and --exclude, ADD --keep-git-dir)
 * husk does not do: unknown flags, as in BuildKit's stable syntax. */
static const struct flag_rule flag_rules[] = {
	{HUSK_DF_FROM, "platform", FLAG_STRING, false},
	{HUSK_DF_RUN, "mount", FLAG_STRING, true},
	{HUSK_DF_RUN, "network", FLAG_STRING, false},
	{HUSK_DF_RUN, "security", FLAG_STRING, false},
	{HUSK_DF_COPY, "from", FLAG_STRING, false},
	{HUSK_DF_COPY, "chown", FLAG_STRING, false},
	{HUSK_DF_COPY, "chmod", FLAG_STRING, false},
	{HUSK_DF_COPY, "link", FLAG_BOOL, false},
	{HUSK_DF_ADD, "from", FLAG_STRING, false},
	{HUSK_DF_ADD, "chown", FLAG_STRING, false},
	{HUSK_DF_ADD, "chmod", FLAG_STRING, false},
	{HUSK_DF_ADD, "checksum", FLAG_STRING, false},
	{HUSK_DF_ADD, "link", FLAG_BOOL, false},
	{HUSK_DF_HEALTHCHECK, "interval", FLAG_STRING, false},
	{HUSK_DF_HEALTHCHECK, "timeout", FLAG_STRING, false},
	{HUSK_DF_HEALTHCHECK, "start-period", FLAG_STRING, false},
	{HUSK_DF_HEALTHCHECK, "start-interval", FLAG_STRING, false},
	{HUSK_DF_HEALTHCHECK, "retries", FLAG_STRING, false},
};

/* RUN's flags whose values are fixed words, and --mount's specs that
 * hold no variable (the others are checked once expanded, at build
 * time), so that a build refuses them before its first step */
static int check_run_flag(struct lines *l, size_t line, const char *name, const char *v)
{
	if (strcmp(name, "network") == 0 && strcmp(v, "default") != 0 && strcmp(v, "none") != 0 &&
	    strcmp(v, "host") != 0)
		return fail_at(l, line, "RUN --network=%s: default, none or host", v);
	if (strcmp(name, "security") == 0 && strcmp(v, "insecure") == 0)
		return fail_at(l, line,
			       "RUN --security=insecure: husk runs no build step with every "
			       "privilege (BuildKit's security.insecure entitlement)");
	if (strcmp(name, "security") == 0 && strcmp(v, "sandbox") != 0)
		return fail_at(l, line, "RUN --security=%s: sandbox or insecure", v);
	if (strcmp(name, "mount") == 0 && !strchr(v, '$')) {
		husk_error *e = NULL;
		struct husk_rmount m;
		if (husk_rmount_parse(v, NULL, NULL, &m, &e) < 0) {
			fail_at(l, line, "RUN --mount=%s: %s", v, e && e->msg ? e->msg : "invalid");
			husk_error_free(e);
			return -1;
		}
		husk_rmount_release(&m);
	}
	return 0;
}

/* Docker refuses a flag an instruction does not take ("Unknown flag"),
 * one given twice, and a value of the wrong kind */
static int check_flags(struct lines *l, size_t line, const struct husk_df_insn *in)
{
	const char *kind = kinds[in->kind];
	for (size_t i = 0; i < in->n_flags; i++) {
		const char *f = in->flags[i] + 2;
		const char *eq = strchr(f, '=');
		size_t nl = eq ? (size_t)(eq - f) : strlen(f);
		const struct flag_rule *rule = NULL;
		for (size_t k = 0; k < ARRAY_SIZE(flag_rules) && !rule; k++)
			if (flag_rules[k].kind == in->kind && strlen(flag_rules[k].name) == nl &&
			    strncmp(flag_rules[k].name, f, nl) == 0)
				rule = &flag_rules[k];
		if (!rule)
			return fail_at(l, line, "%s: unknown flag --%.*s", kind, (int)nl, f);
		for (size_t k = 0; k < i && !rule->repeat; k++)
			if (strncmp(in->flags[k] + 2, f, nl) == 0 &&
			    (in->flags[k][2 + nl] == '=' || in->flags[k][2 + nl] == '\0'))
				return fail_at(l, line, "%s: --%s is given twice", kind,
					       rule->name);
		if (rule->value == FLAG_STRING && !eq)
			return fail_at(l, line, "%s: --%s needs a value (--%s=...)", kind,
				       rule->name, rule->name);
		if (rule->value == FLAG_BOOL && eq && husk_parse_bool(eq + 1) < 0)
			return fail_at(l, line, "%s: --%s=%s: expected a boolean", kind, rule->name,
				       eq + 1);
		if (in->kind == HUSK_DF_RUN && check_run_flag(l, line, rule->name, eq + 1) < 0)
			return -1;
	}
	return 0;
}

static int parse_insn(struct lines *l, const char *logical, size_t line, bool inner,
		      struct husk_df_insn *in)
{
	*in = (struct husk_df_insn){.line = (int)line};
	const char *s = logical;
	while (isspace((unsigned char)*s))
		s++;
	const char *kw = s;
	while (*s && !isspace((unsigned char)*s))
		s++;
	int k = kind_of(kw, (size_t)(s - kw));
	if (k < 0)
		return fail_at(l, line, "unknown instruction: %.*s", (int)(s - kw), kw);
	in->kind = (enum husk_df_kind)k;
	while (isspace((unsigned char)*s))
		s++;
	size_t rlen = strlen(s);
	while (rlen > 0 && isspace((unsigned char)s[rlen - 1]))
		rlen--;
	cleanup_free char *rest = strndup(s, rlen);
	in->text = husk_strdup_printf("%s%s%s", kinds[k], *rest ? " " : "", rest);
	if (in->kind == HUSK_DF_ONBUILD) {
		if (inner)
			return fail_at(l, line, "ONBUILD ONBUILD is not allowed");
		if (!*rest)
			return fail_at(l, line, "ONBUILD needs an instruction");
		in->onbuild = calloc(1, sizeof(*in->onbuild));
		if (parse_insn(l, rest, line, true, in->onbuild) < 0)
			return -1;
		if (in->onbuild->kind == HUSK_DF_FROM || in->onbuild->kind == HUSK_DF_MAINTAINER)
			return fail_at(l, line, "ONBUILD %s is not allowed",
				       kinds[in->onbuild->kind]);
		return 0;
	}
	/* leading --flags; as BuildKit's parser reads them, a quoted part
	 * may hold blanks, and the quotes go (--mount="type=bind,...") */
	char *p = rest;
	while (p[0] == '-' && p[1] == '-') {
		char *end = p, quote = 0;
		char *flag = calloc(1, strlen(p) + 1), *o = flag;
		if (!flag)
			abort();
		for (; *end && (quote || !isspace((unsigned char)*end)); end++) {
			if (quote && *end == quote)
				quote = 0;
			else if (!quote && (*end == '"' || *end == '\''))
				quote = *end;
			else
				*o++ = *end;
		}
		if (quote) {
			free(flag);
			return fail_at(l, line, "%s: a quote is not closed in its flags", kinds[k]);
		}
		husk_strv_push(&in->flags, &in->n_flags, flag);
		while (isspace((unsigned char)*end))
			end++;
		p = end;
	}
	if (check_flags(l, line, in) < 0)
		return -1;
	if (json_form(p, &in->args, &in->n_args)) {
		in->json = true;
	} else if (*p) {
		husk_strv_push(&in->args, &in->n_args, strdup(p));
		if (!inner &&
		    (in->kind == HUSK_DF_RUN || in->kind == HUSK_DF_COPY ||
		     in->kind == HUSK_DF_ADD) &&
		    find_heredocs(l, in, p, line) < 0)
			return -1;
	}
	switch (in->kind) {
	case HUSK_DF_CMD:
	case HUSK_DF_ENTRYPOINT:
		return 0; /* CMD [] and ENTRYPOINT [] clear */
	case HUSK_DF_SHELL:
		if (!in->json || in->n_args == 0)
			return fail_at(l, line, "SHELL requires the arguments as a JSON array");
		return 0;
	case HUSK_DF_FROM: {
		if (in->json || in->n_args == 0)
			return fail_at(l, line, "FROM requires either one or three arguments");
		return 0;
	}
	case HUSK_DF_COPY:
	case HUSK_DF_ADD:
		if (in->n_args == 0 || (in->json && in->n_args < 2))
			return fail_at(l, line, "%s requires at least two arguments", kinds[k]);
		return 0;
	default:
		if (in->n_args == 0)
			return fail_at(l, line, "%s requires at least one argument", kinds[k]);
		return 0;
	}
}

/* FROM image [AS name]: the stage's name */
static int stage_name(struct lines *l, const struct husk_df_insn *from, char **ret)
{
	*ret = NULL;
	cleanup_free char *copy = strdup(from->args[0]);
	char *save = NULL, *w[4];
	size_t n = 0;
	for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == 3)
			return fail_at(l, (size_t)from->line,
				       "FROM requires either one or three arguments");
		w[n++] = t;
	}
	if (n == 2 || (n == 3 && strcasecmp(w[1], "as") != 0))
		return fail_at(l, (size_t)from->line,
			       "FROM requires either one or three arguments");
	if (n == 3) {
		for (char *c = w[2]; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!isalpha((unsigned char)w[2][0]))
			return fail_at(l, (size_t)from->line,
				       "invalid stage name \"%s\": it starts with a letter", w[2]);
		*ret = strdup(w[2]);
	}
	return 0;
}

static int add_insn(struct lines *l, struct husk_dockerfile *df, struct husk_df_insn *in)
{
	if (in->kind == HUSK_DF_FROM) {
		struct husk_df_stage *v = realloc(df->stages, (df->n_stages + 1) * sizeof(*v));
		if (!v)
			abort();
		df->stages = v;
		struct husk_df_stage *st = &v[df->n_stages++];
		*st = (struct husk_df_stage){0};
		if (stage_name(l, in, &st->name) < 0)
			return -1;
		for (size_t s = 0; st->name && s + 1 < df->n_stages; s++)
			if (df->stages[s].name && strcmp(df->stages[s].name, st->name) == 0)
				return fail_at(l, (size_t)in->line,
					       "the stage name \"%s\" is used twice", st->name);
	} else if (df->n_stages == 0) {
		if (in->kind != HUSK_DF_ARG)
			return fail_at(l, (size_t)in->line,
				       "%s before the first FROM (only ARG may come before it)",
				       kinds[in->kind]);
		struct husk_df_insn *v = realloc(df->args, (df->n_args + 1) * sizeof(*v));
		if (!v)
			abort();
		df->args = v;
		v[df->n_args++] = *in;
		return 0;
	}
	struct husk_df_stage *st = &df->stages[df->n_stages - 1];
	struct husk_df_insn *v = realloc(st->v, (st->n + 1) * sizeof(*v));
	if (!v)
		abort();
	st->v = v;
	v[st->n++] = *in;
	return 0;
}

int husk_df_parse(const char *text, const char *file, struct husk_dockerfile **ret,
		  husk_error **err)
{
	*ret = NULL;
	struct lines l = {.file = file ? file : "Dockerfile", .escape = '\\', .err = err};
	cleanup_free char *copy = strdup(text);
	for (char *p = copy, *nl; p; p = nl) {
		nl = strchr(p, '\n');
		if (nl)
			*nl++ = '\0';
		size_t n = strlen(p);
		if (n > 0 && p[n - 1] == '\r')
			p[n - 1] = '\0';
		if (!nl && !*p)
			break; /* the newline at the end */
		husk_strv_push(&l.v, &l.n, strdup(p));
	}
	struct husk_dockerfile *df = calloc(1, sizeof(*df));
	int r = directives(&l);
	df->escape = l.escape;
	while (r == 0 && l.at < l.n) {
		if (blank(l.v[l.at]) || comment(l.v[l.at])) {
			l.at++;
			continue;
		}
		size_t first = l.at + 1;
		char *line = strdup(l.v[l.at++]);
		bool more = continues(line, l.escape);
		while (more && l.at < l.n) {
			char *next = l.v[l.at++];
			if (comment(next) || blank(next))
				continue; /* dropped inside a continued line */
			char *joined = husk_strdup_printf("%s%s", line, next);
			free(line);
			line = joined;
			more = continues(line, l.escape);
		}
		struct husk_df_insn in;
		r = parse_insn(&l, line, first, false, &in);
		free(line);
		if (r == 0)
			r = read_heredocs(&l, &in);
		if (r == 0)
			r = add_insn(&l, df, &in);
		if (r < 0)
			insn_release(&in);
	}
	if (r == 0 && df->n_stages == 0)
		r = husk_fail_as(err, EINVAL, "%s: no FROM: a Dockerfile names its base image",
				 l.file);
	husk_strv_free(l.v, l.n);
	if (r < 0) {
		husk_df_free(df);
		return -1;
	}
	*ret = df;
	return 0;
}

/* --- words and variables --- */

struct buf {
	char *s;
	size_t len, cap;
};

static void put(struct buf *b, char c)
{
	if (b->len + 2 > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
}

struct lex {
	const char *p;
	char escape;
	husk_df_lookup lookup;
	void *ud;
	husk_error **err;
	/* splitting into words (husk_df_words), else one word */
	bool split;
	char ***words;
	size_t *n_words;
	bool in_word; /* a word has begun (even an empty "") */
};

static void end_word(struct lex *x, struct buf *b)
{
	if (x->split && x->in_word) {
		husk_strv_push(x->words, x->n_words, b->s ? b->s : strdup(""));
		*b = (struct buf){0};
		x->in_word = false;
	}
}

/* a value put unquoted: split at blanks when splitting */
static void put_value(struct lex *x, struct buf *b, const char *v, bool quoted)
{
	for (; *v; v++) {
		if (x->split && !quoted && isspace((unsigned char)*v)) {
			end_word(x, b);
			continue;
		}
		x->in_word = true;
		put(b, *v);
	}
}

static int word(struct lex *x, struct buf *b, const char *stop, bool quoted);

/* after '$': a variable, or a '$' of its own */
static int dollar(struct lex *x, struct buf *b, bool quoted)
{
	const char *p = x->p;
	if (*p != '{') {
		const char *n = p;
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		if (p == n) {
			put_value(x, b, "$", true);
			return 0;
		}
		cleanup_free char *name = strndup(n, (size_t)(p - n));
		const char *v = x->lookup(name, x->ud);
		put_value(x, b, v ? v : "", quoted);
		x->p = p;
		return 0;
	}
	p++;
	const char *n = p;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	if (p == n)
		return husk_fail_as(x->err, EINVAL, "bad substitution: ${ with no name");
	cleanup_free char *name = strndup(n, (size_t)(p - n));
	const char *v = x->lookup(name, x->ud);
	if (*p == '}') {
		x->p = p + 1;
		put_value(x, b, v ? v : "", quoted);
		return 0;
	}
	bool colon = *p == ':';
	if (colon)
		p++;
	char op = *p;
	if (op != '-' && op != '+')
		return husk_fail_as(x->err, EINVAL,
				    "bad substitution in ${%s...}: husk takes :- and :+ (and - +)",
				    name);
	p++;
	/* the word after the operator, expanded, up to the matching } */
	struct buf alt = {0};
	x->p = p;
	bool was_split = x->split;
	x->split = false;
	int r = word(x, &alt, "}", quoted);
	x->split = was_split;
	if (r < 0 || *x->p != '}') {
		free(alt.s);
		return r < 0 ? r : husk_fail_as(x->err, EINVAL, "missing } in ${%s", name);
	}
	x->p++;
	bool set = colon ? (v && *v) : v != NULL;
	const char *out =
		op == '-' ? (set ? v : (alt.s ? alt.s : "")) : (set ? (alt.s ? alt.s : "") : "");
	put_value(x, b, out, quoted);
	free(alt.s);
	return 0;
}

/* characters up to one of stop (not consumed) or the end */
static int word(struct lex *x, struct buf *b, const char *stop, bool quoted)
{
	while (*x->p && !strchr(stop, *x->p)) {
		char c = *x->p++;
		if (c == x->escape && !quoted) {
			if (*x->p) {
				x->in_word = true;
				put(b, *x->p++);
			} else {
				put(b, c);
			}
		} else if (c == '\'' && !quoted) {
			x->in_word = true;
			while (*x->p && *x->p != '\'')
				put(b, *x->p++);
			if (*x->p != '\'')
				return husk_fail_as(x->err, EINVAL,
						    "unexpected end of text: a ' is not closed");
			x->p++;
		} else if (c == '"' && !quoted) {
			x->in_word = true;
			while (*x->p && *x->p != '"') {
				char d = *x->p++;
				if (d == x->escape &&
				    (*x->p == '"' || *x->p == '$' || *x->p == x->escape)) {
					put(b, *x->p++);
				} else if (d == '$') {
					if (dollar(x, b, true) < 0)
						return -1;
				} else {
					put(b, d);
				}
			}
			if (*x->p != '"')
				return husk_fail_as(x->err, EINVAL,
						    "unexpected end of text: a \" is not closed");
			x->p++;
		} else if (c == '$') {
			if (dollar(x, b, quoted) < 0)
				return -1;
		} else if (x->split && !quoted && isspace((unsigned char)c)) {
			end_word(x, b);
		} else {
			x->in_word = true;
			put(b, c);
		}
	}
	return 0;
}

int husk_df_expand(const char *w, char escape, husk_df_lookup lookup, void *ud, char **ret,
		   husk_error **err)
{
	struct lex x = {.p = w, .escape = escape, .lookup = lookup, .ud = ud, .err = err};
	struct buf b = {0};
	*ret = NULL;
	if (word(&x, &b, "", false) < 0) {
		free(b.s);
		return -1;
	}
	*ret = b.s ? b.s : strdup("");
	return 0;
}

int husk_df_words(const char *line, char escape, husk_df_lookup lookup, void *ud, char ***ret,
		  size_t *ret_n, husk_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	struct lex x = {.p = line,
			.escape = escape,
			.lookup = lookup,
			.ud = ud,
			.err = err,
			.split = true,
			.words = ret,
			.n_words = ret_n};
	struct buf b = {0};
	if (word(&x, &b, "", false) < 0) {
		free(b.s);
		husk_strv_free(*ret, *ret_n);
		*ret = NULL;
		*ret_n = 0;
		return -1;
	}
	end_word(&x, &b);
	free(b.s);
	return 0;
}

/* --- .dockerignore --- */

struct pattern {
	char **comps; /* the pattern's components; "**" matches any number */
	size_t n;
	bool include; /* "!pattern" */
};

struct husk_ignore {
	struct pattern *v;
	size_t n;
};

/* a path's components, cleaned: "." and empty ones dropped, ".." taking
 * one back (not above the start) */
static void components(const char *path, char ***ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	cleanup_free char *copy = strdup(path);
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			if (*ret_n > 0)
				free((*ret)[--*ret_n]);
			continue;
		}
		husk_strv_push(ret, ret_n, strdup(c));
	}
}

void husk_ignore_free(struct husk_ignore *ig)
{
	if (!ig)
		return;
	for (size_t i = 0; i < ig->n; i++)
		husk_strv_free(ig->v[i].comps, ig->v[i].n);
	free(ig->v);
	free(ig);
}

int husk_ignore_parse(const char *text, struct husk_ignore **ret, husk_error **err)
{
	struct husk_ignore *ig = calloc(1, sizeof(*ig));
	(void)err; /* every line is some pattern */
	cleanup_free char *copy = strdup(text);
	for (char *p = copy, *nl; p; p = nl) {
		nl = strchr(p, '\n');
		if (nl)
			*nl++ = '\0';
		while (isspace((unsigned char)*p))
			p++;
		size_t n = strlen(p);
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			p[--n] = '\0';
		if (!*p || *p == '#')
			continue;
		bool include = *p == '!';
		if (include) {
			p++;
			while (isspace((unsigned char)*p))
				p++;
		}
		struct pattern pat = {.include = include};
		components(p, &pat.comps, &pat.n);
		if (pat.n == 0) {
			husk_strv_free(pat.comps, pat.n);
			continue;
		}
		struct pattern *v = realloc(ig->v, (ig->n + 1) * sizeof(*v));
		if (!v)
			abort();
		ig->v = v;
		v[ig->n++] = pat;
	}
	*ret = ig;
	return 0;
}

/* pattern components against path components, all of both */
static bool match(char *const *pc, size_t pn, char *const *c, size_t n)
{
	if (pn == 0)
		return n == 0;
	if (strcmp(pc[0], "**") == 0) {
		for (size_t skip = 0; skip <= n; skip++)
			if (match(pc + 1, pn - 1, c + skip, n - skip))
				return true;
		return false;
	}
	if (n == 0 || fnmatch(pc[0], c[0], 0) != 0)
		return false;
	return match(pc + 1, pn - 1, c + 1, n - 1);
}

bool husk_ignore_excluded(const struct husk_ignore *ig, const char *relpath)
{
	if (!ig || ig->n == 0)
		return false;
	char **c = NULL;
	size_t n = 0;
	components(relpath, &c, &n);
	bool excluded = false;
	for (size_t i = 0; i < ig->n; i++) {
		const struct pattern *p = &ig->v[i];
		/* the path itself, or one of its parents */
		bool m = false;
		for (size_t len = n; len > 0 && !m; len--)
			m = match(p->comps, p->n, c, len);
		if (m)
			excluded = !p->include;
	}
	husk_strv_free(c, n);
	return excluded;
}

/* could pattern p match something below the components c (a prefix)? */
static bool may_match_below(char *const *pc, size_t pn, char *const *c, size_t n)
{
	if (n == 0)
		return pn > 0;
	if (pn == 0)
		return false;
	if (strcmp(pc[0], "**") == 0)
		return true;
	if (fnmatch(pc[0], c[0], 0) != 0)
		return false;
	return may_match_below(pc + 1, pn - 1, c + 1, n - 1);
}

bool husk_ignore_may_include_below(const struct husk_ignore *ig, const char *reldir)
{
	if (!ig || ig->n == 0)
		return false;
	char **c = NULL;
	size_t n = 0;
	components(reldir, &c, &n);
	bool may = false;
	for (size_t i = 0; i < ig->n && !may; i++)
		if (ig->v[i].include)
			may = may_match_below(ig->v[i].comps, ig->v[i].n, c, n);
	husk_strv_free(c, n);
	return may;
}

/* --format templates: see template.h for the subset.  A template is parsed
 * once into a tree (text, actions that print a pipeline, and if, with and
 * range with their bodies), then walked per row with the row as dot.
 *
 * Values are jansson values; an evaluation returns a new reference, or
 * NULL for Go's "no value" (a key missing from an object), which prints
 * as <no value> and is false. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "util.h"

/* Nesting of if, with, range and parentheses: deeper is refused, so that
 * neither the parser's nor the walk's recursion can exhaust the stack. */
#define MAX_DEPTH 64
/* Nodes and commands run per render: a template that nests ranges over
 * the whole data multiplies them, and this ends it in one line. */
#define MAX_STEPS 100000

struct pipe;
struct eval;

struct operand {
	enum { O_DOT, O_VAR, O_LIT, O_PIPE } kind;
	char *var;	   /* O_VAR: its name, $ included */
	json_t *lit;	   /* O_LIT: a string, number, true or false */
	struct pipe *pipe; /* O_PIPE: a parenthesized pipeline */
	char **path;	   /* the fields after it: .A.B */
	size_t n_path;
};

struct func {
	const char *name;
	int min, max; /* arguments; max -1: any number */
	int (*call)(struct eval *e, json_t **a, size_t n, json_t **ret);
};

struct cmd {
	const struct func *fn; /* NULL: one operand, whose value it is */
	struct operand *args;
	size_t n_args;
};

struct pipe {
	char *decl[2]; /* $v := or $k, $v := */
	size_t n_decl;
	struct cmd *cmds;
	size_t n_cmds;
};

struct list {
	struct node *v;
	size_t n;
};

enum node_kind { N_TEXT, N_PRINT, N_IF, N_WITH, N_RANGE };

struct node {
	enum node_kind kind;
	char *text; /* N_TEXT: the text; else the action as written */
	size_t len;
	struct pipe *pipe;
	struct list body, other; /* other: after {{else}} */
};

struct husk_tmpl {
	struct list root;
};

/* --- the tree --- */

static void pipe_free(struct pipe *p);

static void operand_release(struct operand *o)
{
	free(o->var);
	json_decref(o->lit);
	pipe_free(o->pipe);
	for (size_t i = 0; i < o->n_path; i++)
		free(o->path[i]);
	free(o->path);
}

static void pipe_free(struct pipe *p)
{
	if (!p)
		return;
	free(p->decl[0]);
	free(p->decl[1]);
	for (size_t i = 0; i < p->n_cmds; i++) {
		for (size_t k = 0; k < p->cmds[i].n_args; k++)
			operand_release(&p->cmds[i].args[k]);
		free(p->cmds[i].args);
	}
	free(p->cmds);
	free(p);
}

static void list_release(struct list *l);

static void node_release(struct node *n)
{
	free(n->text);
	pipe_free(n->pipe);
	list_release(&n->body);
	list_release(&n->other);
}

static void list_release(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		node_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void husk_tmpl_free(struct husk_tmpl *t)
{
	if (!t)
		return;
	list_release(&t->root);
	free(t);
}

/* Append *n to l, which then owns what it holds (released on failure). */
static int list_add(struct list *l, struct node *n)
{
	struct node *v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v) {
		node_release(n);
		return -ENOMEM;
	}
	l->v = v;
	v[l->n++] = *n;
	return 0;
}

/* --- parsing --- */

struct parser {
	const char *p;	 /* the cursor */
	const char *act; /* the {{ of the action being parsed, for messages */
	const char *const *fields;
	bool trim_next;	   /* the last action ended with " -}}" */
	int depth;	   /* of if, with, range and parentheses */
	int dot_depth;	   /* of range and with: dot is no longer the data */
	const char **vars; /* the variables in scope, "$" first */
	size_t n_vars;
	husk_error **err;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool ident_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

static void skip_space(struct parser *ps)
{
	while (is_space(*ps->p))
		ps->p++;
}

/* An error in the action being parsed: "template: WHAT in "{{...}}"". */
static int perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct parser *ps, const char *fmt, ...)
{
	char *what = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (n < 0)
		return husk_fail(ps->err, ENOMEM, "template");
	const char *close = strstr(ps->act + 2, "}}");
	int len = close ? (int)(close + 2 - ps->act) : (int)strlen(ps->act);
	int r = husk_fail(ps->err, 0, "template: %s in \"%.*s\"", what, len > 200 ? 200 : len,
			  ps->act);
	free(what);
	return r;
}

static int unknown_field(struct parser *ps, const char *name)
{
	char *known = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&known, &len);
	if (!f)
		return husk_fail(ps->err, ENOMEM, "template");
	for (size_t i = 0; ps->fields[i]; i++)
		fprintf(f, "%s.%s", i ? " " : "", ps->fields[i]);
	fclose(f);
	int r = husk_fail(ps->err, 0, "template: unknown field \".%s\" (known: %s)", name,
			  known ? known : "");
	free(known);
	return r;
}

static int check_field(struct parser *ps, const char *name)
{
	if (!ps->fields)
		return 0;
	for (size_t k = 0; ps->fields[k]; k++)
		if (strcmp(ps->fields[k], name) == 0)
			return 0;
	return unknown_field(ps, name);
}

/* Literal text, \t and \n made a tab and a newline as docker's CLI does,
 * its leading or trailing white space cut for a "-}}" before it or a
 * "{{-" after it. */
static int add_text(struct list *l, const char *s, size_t n, bool trim_left, bool trim_right)
{
	char *out = malloc(n + 1);
	if (!out)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && (s[i + 1] == 't' || s[i + 1] == 'n')) {
			out[o++] = s[i + 1] == 't' ? '\t' : '\n';
			i++;
		} else {
			out[o++] = s[i];
		}
	}
	size_t start = 0;
	if (trim_left)
		while (start < o && is_space(out[start]))
			start++;
	if (trim_right)
		while (o > start && is_space(out[o - 1]))
			o--;
	if (o == start) {
		free(out);
		return 0;
	}
	memmove(out, out + start, o - start);
	out[o - start] = '\0';
	struct node nd = {.kind = N_TEXT, .text = out, .len = o - start};
	return list_add(l, &nd);
}

/* The action's end: "}}", or " -}}" to cut the white space after it. */
static bool at_close(const struct parser *ps)
{
	const char *p = ps->p;
	return (p[0] == '}' && p[1] == '}') ||
	       (p[0] == '-' && p[1] == '}' && p[2] == '}' && is_space(p[-1]));
}

static int expect_close(struct parser *ps)
{
	skip_space(ps);
	if (ps->p[0] == '}' && ps->p[1] == '}') {
		ps->p += 2;
		return 0;
	}
	if (at_close(ps)) {
		ps->p += 3;
		ps->trim_next = true;
		return 0;
	}
	if (!*ps->p)
		return perr(ps, "unclosed action");
	return perr(ps, "unexpected \"%c\"", *ps->p);
}

/* The end of a command: a pipe, a parenthesis, the action's end. */
static bool at_command_end(const struct parser *ps)
{
	char c = *ps->p;
	return c == '|' || c == ')' || c == '\0' || at_close(ps);
}

static char *read_ident(struct parser *ps)
{
	const char *s = ps->p;
	while (ident_char(*ps->p, ps->p == s))
		ps->p++;
	return strndup(s, (size_t)(ps->p - s));
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t put_utf8(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* A Go string literal: "..." with Go's escapes, or `...` taken as is. */
static int parse_string(struct parser *ps, json_t **ret)
{
	char q = *ps->p++;
	const char *s = ps->p;
	const char *e = s;
	while (*e && *e != q && !(q == '"' && *e == '\n'))
		e += q == '"' && e[0] == '\\' && e[1] ? 2 : 1;
	if (*e != q)
		return perr(ps, "unterminated quoted string");
	char *out = malloc((size_t)(e - s) + 1);
	if (!out)
		return husk_fail(ps->err, ENOMEM, "template");
	size_t o = 0;
	for (const char *p = s; p < e;) {
		if (q == '`' || *p != '\\') {
			out[o++] = *p++;
			continue;
		}
		p++;
		const char *simple = "a\ab\bf\fn\nr\rt\tv\v\\\\\"\"";
		const char *m = strchr(simple, *p);
		if (*p && m && (m - simple) % 2 == 0) {
			out[o++] = m[1];
			p++;
			continue;
		}
		char c = *p;
		int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
		uint32_t base = 16, v = 0;
		const char *d = p + 1;
		if (c >= '0' && c <= '7') { /* \ooo: three octal digits, a byte */
			digits = 3;
			base = 8;
			d = p;
		}
		bool ok = digits > 0;
		for (int i = 0; i < digits && ok; i++) {
			int h = d + i < e ? hex_digit(d[i]) : -1;
			ok = h >= 0 && (uint32_t)h < base;
			v = v * base + (uint32_t)(ok ? h : 0);
		}
		bool rune = c == 'u' || c == 'U';
		if (ok && base == 8)
			ok = v < 256;
		if (ok && rune)
			ok = v <= 0x10ffff && !(v >= 0xd800 && v < 0xe000);
		if (!ok) {
			free(out);
			return perr(ps, "bad escape in string literal");
		}
		if (rune)
			o += put_utf8(out + o, v);
		else
			out[o++] = (char)v;
		p = d + digits;
	}
	ps->p = e + 1;
	*ret = json_stringn_nocheck(out, o);
	free(out);
	return *ret ? 0 : husk_fail(ps->err, ENOMEM, "template");
}

/* A Go number: an integer as strconv.ParseInt(s, 0, 64) reads it (0x,
 * 0 for octal), else a float. */
static int parse_number(struct parser *ps, json_t **ret)
{
	const char *s = ps->p;
	const char *e = s + 1;
	while (ident_char(*e, false) || *e == '.' ||
	       ((*e == '+' || *e == '-') && (e[-1] == 'e' || e[-1] == 'E')))
		e++;
	char *tok = strndup(s, (size_t)(e - s));
	if (!tok)
		return husk_fail(ps->err, ENOMEM, "template");
	char *end;
	errno = 0;
	long long i = strtoll(tok, &end, 0);
	if (errno == 0 && *end == '\0') {
		*ret = json_integer(i);
	} else {
		errno = 0;
		double d = strtod(tok, &end);
		if (errno != 0 || *end != '\0' || !isfinite(d)) {
			int r = perr(ps, "bad number syntax \"%s\"", tok);
			free(tok);
			return r;
		}
		*ret = json_real(d);
	}
	free(tok);
	ps->p = e;
	return *ret ? 0 : husk_fail(ps->err, ENOMEM, "template");
}

/* .A.B after an operand */
static int parse_path(struct parser *ps, struct operand *o)
{
	while (ps->p[0] == '.' && ident_char(ps->p[1], true)) {
		ps->p++;
		char **path = realloc(o->path, (o->n_path + 1) * sizeof(char *));
		if (!path)
			return husk_fail(ps->err, ENOMEM, "template");
		o->path = path;
		if (!(o->path[o->n_path] = read_ident(ps)))
			return husk_fail(ps->err, ENOMEM, "template");
		o->n_path++;
	}
	return 0;
}

static int parse_pipe(struct parser *ps, struct pipe **ret, size_t max_decl);

static int parse_operand(struct parser *ps, struct operand *o)
{
	const char *s = ps->p;
	char c = *s;
	int r = 0;
	if (c == '.') {
		o->kind = O_DOT;
		if (ident_char(s[1], true))
			r = parse_path(ps, o);
		else
			ps->p++;
		if (r == 0 && o->n_path && ps->dot_depth == 0)
			r = check_field(ps, o->path[0]);
	} else if (c == '$') {
		o->kind = O_VAR;
		ps->p++;
		while (ident_char(*ps->p, false))
			ps->p++;
		if (!(o->var = strndup(s, (size_t)(ps->p - s))))
			return husk_fail(ps->err, ENOMEM, "template");
		bool known = false;
		for (size_t i = 0; i < ps->n_vars && !known; i++)
			known = strcmp(ps->vars[i], o->var) == 0;
		if (!known)
			return perr(ps, "undefined variable \"%s\"", o->var);
		r = parse_path(ps, o);
		if (r == 0 && o->n_path && strcmp(o->var, "$") == 0)
			r = check_field(ps, o->path[0]);
	} else if (c == '"' || c == '`') {
		o->kind = O_LIT;
		r = parse_string(ps, &o->lit);
	} else if ((c >= '0' && c <= '9') ||
		   ((c == '-' || c == '+') && s[1] >= '0' && s[1] <= '9')) {
		o->kind = O_LIT;
		r = parse_number(ps, &o->lit);
	} else if (c == '(') {
		o->kind = O_PIPE;
		if (ps->depth >= MAX_DEPTH)
			return perr(ps, "nested too deep");
		ps->p++;
		ps->depth++;
		r = parse_pipe(ps, &o->pipe, 0);
		ps->depth--;
		if (r < 0)
			return r;
		skip_space(ps);
		if (*ps->p != ')')
			return perr(ps, "unclosed left parenthesis");
		ps->p++;
		r = parse_path(ps, o);
	} else if (ident_char(c, true)) {
		char *w = read_ident(ps);
		if (!w)
			return husk_fail(ps->err, ENOMEM, "template");
		if (strcmp(w, "true") == 0 || strcmp(w, "false") == 0) {
			o->kind = O_LIT;
			o->lit = json_boolean(w[0] == 't');
		} else {
			r = perr(ps,
				 "unexpected \"%s\" in operand (a function needs parentheses "
				 "there)",
				 w);
		}
		free(w);
	} else if (at_command_end(ps)) {
		return perr(ps, "missing value");
	} else {
		return perr(ps, "unexpected \"%c\" in operand", c);
	}
	if (r < 0)
		return r;
	if (!is_space(*ps->p) && !at_command_end(ps))
		return perr(ps, "unexpected \"%c\" in operand", *ps->p);
	return 0;
}

static int fn_json(struct eval *, json_t **, size_t, json_t **);
static int fn_join(struct eval *, json_t **, size_t, json_t **);
static int fn_index(struct eval *, json_t **, size_t, json_t **);
static int fn_len(struct eval *, json_t **, size_t, json_t **);
static int fn_upper(struct eval *, json_t **, size_t, json_t **);
static int fn_lower(struct eval *, json_t **, size_t, json_t **);
static int fn_title(struct eval *, json_t **, size_t, json_t **);
static int fn_split(struct eval *, json_t **, size_t, json_t **);
static int fn_eq(struct eval *, json_t **, size_t, json_t **);
static int fn_ne(struct eval *, json_t **, size_t, json_t **);
static int fn_not(struct eval *, json_t **, size_t, json_t **);
static int fn_and(struct eval *, json_t **, size_t, json_t **);
static int fn_or(struct eval *, json_t **, size_t, json_t **);
static int fn_print(struct eval *, json_t **, size_t, json_t **);
static int fn_printf(struct eval *, json_t **, size_t, json_t **);

static const struct func funcs[] = {
	{"json", 1, 1, fn_json},   {"join", 2, 2, fn_join},    {"index", 1, -1, fn_index},
	{"len", 1, 1, fn_len},	   {"upper", 1, 1, fn_upper},  {"lower", 1, 1, fn_lower},
	{"title", 1, 1, fn_title}, {"split", 2, 2, fn_split},  {"eq", 2, -1, fn_eq},
	{"ne", 2, 2, fn_ne},	   {"not", 1, 1, fn_not},      {"and", 1, -1, fn_and},
	{"or", 1, -1, fn_or},	   {"print", 0, -1, fn_print}, {"printf", 1, -1, fn_printf},
};

static int add_arg(struct parser *ps, struct cmd *c)
{
	struct operand *a = realloc(c->args, (c->n_args + 1) * sizeof(*a));
	if (!a)
		return husk_fail(ps->err, ENOMEM, "template");
	c->args = a;
	memset(&a[c->n_args], 0, sizeof(*a));
	c->n_args++;
	return parse_operand(ps, &a[c->n_args - 1]);
}

/* One command of a pipeline: a function and its arguments, or one
 * operand (only first: a later command gets the value before it). */
static int parse_cmd(struct parser *ps, struct cmd *c, size_t stage)
{
	skip_space(ps);
	if (!ident_char(*ps->p, true) || strncmp(ps->p, "true", 4) == 0 ||
	    strncmp(ps->p, "false", 5) == 0) {
		int r = add_arg(ps, c);
		if (r < 0)
			return r;
		skip_space(ps);
		const struct operand *o = &c->args[0];
		if (!at_command_end(ps) && o->kind == O_DOT && o->n_path == 1 && stage == 0 &&
		    strcmp(o->path[0], "Label") == 0) {
			/* .Label "k": Docker's method of ps, volume ls and
			 * network ls looks the key up in the labels, which
			 * the data holds as a map under that name: index's */
			for (size_t i = 0; i < ARRAY_SIZE(funcs) && !c->fn; i++)
				if (strcmp(funcs[i].name, "index") == 0)
					c->fn = &funcs[i];
			while (!at_command_end(ps)) {
				if ((r = add_arg(ps, c)) < 0)
					return r;
				skip_space(ps);
			}
			return 0;
		}
		if (!at_command_end(ps))
			return perr(ps, "can't give arguments to a value that is not a function");
		if (stage > 0)
			return perr(ps,
				    "a value that is not a function in stage %zu of the "
				    "pipeline",
				    stage + 1);
		return 0;
	}
	const char *s = ps->p;
	while (ident_char(*ps->p, false))
		ps->p++;
	size_t n = (size_t)(ps->p - s);
	for (size_t i = 0; i < ARRAY_SIZE(funcs) && !c->fn; i++)
		if (strlen(funcs[i].name) == n && strncmp(funcs[i].name, s, n) == 0)
			c->fn = &funcs[i];
	if (!c->fn)
		return perr(ps, "unknown function \"%.*s\"", (int)n, s);
	if (!is_space(*ps->p) && !at_command_end(ps))
		return perr(ps, "unexpected \"%c\" after \"%s\"", *ps->p, c->fn->name);
	for (;;) {
		skip_space(ps);
		if (at_command_end(ps))
			break;
		int r = add_arg(ps, c);
		if (r < 0)
			return r;
	}
	size_t got = c->n_args + (stage > 0);
	if (got < (size_t)c->fn->min || (c->fn->max >= 0 && got > (size_t)c->fn->max)) {
		if (c->fn->min == c->fn->max)
			return perr(ps, "wrong number of arguments for \"%s\": want %d, got %zu",
				    c->fn->name, c->fn->min, got);
		return perr(ps, "wrong number of arguments for \"%s\": want at least %d, got %zu",
			    c->fn->name, c->fn->min, got);
	}
	return 0;
}

/* The declarations of a pipeline, "$x :=" or (range's) "$k, $v :=", if
 * there are any: else the cursor stays where it was. */
static int parse_decl(struct parser *ps, struct pipe *pp, size_t max_decl)
{
	const char *start = ps->p;
	const char *names[2][2];
	size_t n = 0;
	for (;;) {
		if (*ps->p != '$')
			break;
		names[n][0] = ps->p++;
		while (ident_char(*ps->p, false))
			ps->p++;
		names[n][1] = ps->p;
		n++;
		skip_space(ps);
		if (ps->p[0] == ':' && ps->p[1] == '=') {
			ps->p += 2;
			if (n > max_decl)
				return perr(ps, max_decl ? "too many declarations"
							 : "a declaration is not allowed here");
			for (size_t i = 0; i < n; i++) {
				pp->decl[i] =
					strndup(names[i][0], (size_t)(names[i][1] - names[i][0]));
				if (!pp->decl[i])
					return husk_fail(ps->err, ENOMEM, "template");
				if (names[i][1] - names[i][0] == 1)
					return perr(ps, "can't declare \"$\"");
			}
			pp->n_decl = n;
			return 0;
		}
		if (ps->p[0] == '=' && ps->p[1] != '=')
			return perr(ps, "assignment to a variable is not supported");
		if (*ps->p != ',' || n == 2)
			break;
		ps->p++;
		skip_space(ps);
	}
	ps->p = start;
	return 0;
}

static int parse_pipe(struct parser *ps, struct pipe **ret, size_t max_decl)
{
	struct pipe *pp = calloc(1, sizeof(*pp));
	if (!pp)
		return husk_fail(ps->err, ENOMEM, "template");
	*ret = pp; /* the caller frees it, whole or not */
	skip_space(ps);
	int r = parse_decl(ps, pp, max_decl);
	for (size_t stage = 0; r == 0; stage++) {
		struct cmd *c = realloc(pp->cmds, (pp->n_cmds + 1) * sizeof(*c));
		if (!c)
			return husk_fail(ps->err, ENOMEM, "template");
		pp->cmds = c;
		memset(&c[pp->n_cmds], 0, sizeof(*c));
		pp->n_cmds++;
		r = parse_cmd(ps, &c[pp->n_cmds - 1], stage);
		if (r < 0)
			return r;
		skip_space(ps);
		if (*ps->p != '|')
			break;
		ps->p++;
	}
	if (r < 0)
		return r;
	/* declared from here on, so that $x := $x reads the outer one */
	const char **v = realloc(ps->vars, (ps->n_vars + pp->n_decl) * sizeof(char *));
	if (!v)
		return husk_fail(ps->err, ENOMEM, "template");
	ps->vars = v;
	for (size_t i = 0; i < pp->n_decl; i++)
		ps->vars[ps->n_vars++] = pp->decl[i];
	return 0;
}

enum list_end { END_EOF, END_END, END_ELSE, END_ELSE_IF, END_ELSE_WITH };

static int parse_list(struct parser *ps, struct list *l, enum list_end *ret_end);

static char *action_text(const struct parser *ps)
{
	return strndup(ps->act, (size_t)(ps->p - ps->act));
}

/* {{if}}, {{with}} or {{range}} (the cursor after its word) up to its
 * {{end}}; an {{else if}} is an {{if}} alone in the else part, closed by
 * the same {{end}}. */
static int parse_control(struct parser *ps, struct list *l, enum node_kind kind)
{
	static const char *const word[] = {[N_IF] = "if", [N_WITH] = "with", [N_RANGE] = "range"};
	struct node nd = {.kind = kind};
	size_t vars = ps->n_vars;
	enum list_end end;
	if (ps->depth >= MAX_DEPTH)
		return perr(ps, "nested too deep");
	ps->depth++;
	int r = parse_pipe(ps, &nd.pipe, kind == N_RANGE ? 2 : 1);
	if (r == 0)
		r = expect_close(ps);
	if (r == 0 && !(nd.text = action_text(ps)))
		r = husk_fail(ps->err, ENOMEM, "template");
	if (r == 0) {
		ps->dot_depth += kind != N_IF;
		r = parse_list(ps, &nd.body, &end);
		ps->dot_depth -= kind != N_IF;
	}
	if (r == 0 && end == END_ELSE) {
		r = parse_list(ps, &nd.other, &end);
		if (r == 0 && end != END_END && end != END_EOF)
			r = perr(ps, "a second {{else}} in {{%s}}", word[kind]);
	} else if (r == 0 && (end == END_ELSE_IF || end == END_ELSE_WITH)) {
		enum node_kind k = end == END_ELSE_IF ? N_IF : N_WITH;
		if (k != kind)
			r = perr(ps, "{{else %s}} in {{%s}}", word[k], word[kind]);
		else
			r = parse_control(ps, &nd.other, k);
		end = END_END; /* the chained one took the {{end}} */
	}
	if (r == 0 && end == END_EOF)
		r = husk_fail(ps->err, 0, "template: \"%.200s\" has no {{end}}", nd.text);
	ps->depth--;
	ps->n_vars = vars;
	if (r < 0) {
		node_release(&nd);
		return r;
	}
	return list_add(l, &nd) < 0 ? husk_fail(ps->err, ENOMEM, "template") : 0;
}

/* Text and actions up to an {{end}}, an {{else}} or the end of the text,
 * which *ret_end says. */
static int parse_list(struct parser *ps, struct list *l, enum list_end *ret_end)
{
	size_t vars = ps->n_vars;
	int r = 0;
	for (;;) {
		const char *open = strstr(ps->p, "{{");
		bool trim = open && open[2] == '-' && is_space(open[3]);
		if (add_text(l, ps->p, open ? (size_t)(open - ps->p) : strlen(ps->p), ps->trim_next,
			     trim) < 0) {
			r = husk_fail(ps->err, ENOMEM, "template");
			break;
		}
		ps->trim_next = false;
		if (!open) {
			*ret_end = END_EOF;
			break;
		}
		ps->act = open;
		ps->p = open + (trim ? 4 : 2);
		if (ps->p[0] == '/' && ps->p[1] == '*') {
			const char *e = strstr(ps->p + 2, "*/");
			if (!e) {
				r = perr(ps, "unclosed comment");
				break;
			}
			ps->p = e + 2;
			if (!at_close(ps) &&
			    !(ps->p[0] == ' ' && at_close(&(struct parser){.p = ps->p + 1}))) {
				r = perr(ps, "comment ends before the action");
				break;
			}
			if ((r = expect_close(ps)) < 0)
				break;
			continue;
		}
		skip_space(ps);
		const char *w = ps->p;
		size_t n = 0;
		while (ident_char(w[n], n == 0))
			n++;
#define IS(word) (n == strlen(word) && strncmp(w, word, n) == 0)
		if (IS("end") || IS("else")) {
			ps->p += n;
			skip_space(ps);
			*ret_end = IS("end") ? END_END : END_ELSE;
			if (IS("else") && strncmp(ps->p, "if", 2) == 0 && is_space(ps->p[2])) {
				ps->p += 2;
				*ret_end = END_ELSE_IF;
			} else if (IS("else") && strncmp(ps->p, "with", 4) == 0 &&
				   is_space(ps->p[4])) {
				ps->p += 4;
				*ret_end = END_ELSE_WITH;
			} else {
				r = expect_close(ps);
			}
			break;
		}
		if (IS("if") || IS("with") || IS("range")) {
			ps->p += n;
			r = parse_control(ps, l, IS("if") ? N_IF : IS("with") ? N_WITH : N_RANGE);
		} else if (IS("break") || IS("continue") || IS("define") || IS("template") ||
			   IS("block") || IS("nil")) {
			r = perr(ps, "\"%.*s\" is not supported", (int)n, w);
		} else {
			struct node nd = {.kind = N_PRINT};
			r = parse_pipe(ps, &nd.pipe, 1);
			if (r == 0)
				r = expect_close(ps);
			if (r == 0 && !(nd.text = action_text(ps)))
				r = husk_fail(ps->err, ENOMEM, "template");
			if (r < 0)
				node_release(&nd);
			else if (list_add(l, &nd) < 0)
				r = husk_fail(ps->err, ENOMEM, "template");
		}
#undef IS
		if (r < 0)
			break;
	}
	ps->n_vars = vars;
	return r;
}

int husk_tmpl_parse(const char *text, const char *const *fields, struct husk_tmpl **ret,
		    husk_error **err)
{
	struct husk_tmpl *t = calloc(1, sizeof(*t));
	struct parser ps = {.p = text, .act = text, .fields = fields, .err = err};
	ps.vars = malloc(sizeof(char *));
	if (!t || !ps.vars) {
		free(t);
		free(ps.vars);
		return husk_fail(err, ENOMEM, "template");
	}
	ps.vars[ps.n_vars++] = "$";
	enum list_end end;
	int r = parse_list(&ps, &t->root, &end);
	if (r == 0 && end != END_EOF)
		r = perr(&ps, "unexpected {{%s}}", end == END_END ? "end" : "else");
	free(ps.vars);
	if (r < 0) {
		husk_tmpl_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

/* --- rendering --- */

struct var {
	const char *name;
	json_t *v; /* owned; NULL for no value */
};

struct eval {
	FILE *f;
	const char *act; /* the action being run, for messages */
	struct var *vars;
	size_t n_vars;
	long steps;
	husk_error **err;
};

/* An error running the current action: "template: executing "{{...}}": WHAT". */
static int eerr(struct eval *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int eerr(struct eval *e, const char *fmt, ...)
{
	char *what = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (n < 0)
		return husk_fail(e->err, ENOMEM, "template");
	int r = husk_fail(e->err, 0, "template: executing \"%.200s\": %s", e->act, what);
	free(what);
	return r;
}

static int push_var(struct eval *e, const char *name, json_t *v)
{
	struct var *vs = realloc(e->vars, (e->n_vars + 1) * sizeof(*vs));
	if (!vs) {
		json_decref(v);
		return husk_fail(e->err, ENOMEM, "template");
	}
	e->vars = vs;
	vs[e->n_vars++] = (struct var){name, v};
	return 0;
}

static void pop_vars(struct eval *e, size_t mark)
{
	while (e->n_vars > mark)
		json_decref(e->vars[--e->n_vars].v);
}

static const char *type_name(const json_t *v)
{
	if (!v)
		return "no value";
	switch (json_typeof(v)) {
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	case JSON_ARRAY:
		return "list";
	case JSON_OBJECT:
		return "object";
	case JSON_NULL:
	default:
		return "null";
	}
}

/* Go's truth: false, 0, "", null, an empty list or object, no value. */
static bool truth(const json_t *v)
{
	if (!v)
		return false;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0;
	case JSON_TRUE:
		return true;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_OBJECT:
		return json_object_size(v) > 0;
	case JSON_FALSE:
	case JSON_NULL:
	default:
		return false;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An object's keys in Go's map order: sorted (malloc'd, NULL for none). */
static const char **sorted_keys(json_t *o)
{
	size_t n = json_object_size(o), i = 0;
	const char **keys = calloc(n ? n : 1, sizeof(char *));
	const char *k;
	json_t *e;
	if (!keys)
		return NULL;
	json_object_foreach (o, k, e)
		keys[i++] = k;
	qsort(keys, n, sizeof(char *), cmp_str);
	return keys;
}

/* A value the way Go's fmt prints it. */
static void print_value(FILE *f, json_t *v)
{
	if (!v) {
		fputs("<no value>", f);
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING:
		fwrite(json_string_value(v), 1, json_string_length(v), f);
		break;
	case JSON_INTEGER:
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(f, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("true", f);
		break;
	case JSON_FALSE:
		fputs("false", f);
		break;
	case JSON_ARRAY: {
		size_t i;
		json_t *e;
		fputc('[', f);
		json_array_foreach (v, i, e) {
			if (i)
				fputc(' ', f);
			print_value(f, e);
		}
		fputc(']', f);
		break;
	}
	case JSON_OBJECT: {
		const char **keys = sorted_keys(v);
		if (!keys)
			break;
		fputs("map[", f);
		for (size_t i = 0; i < json_object_size(v); i++) {
			fprintf(f, "%s%s:", i ? " " : "", keys[i]);
			print_value(f, json_object_get(v, keys[i]));
		}
		fputc(']', f);
		free(keys);
		break;
	}
	case JSON_NULL:
	default:
		fputs("<nil>", f);
		break;
	}
}

/* A string built by print_value and friends into a memstream. */
static int memstream_string(struct eval *e, FILE *f, char **buf, size_t *len, json_t **ret)
{
	if (fclose(f) != 0 || !*buf) {
		free(*buf);
		return husk_fail(e->err, ENOMEM, "template");
	}
	*ret = json_stringn_nocheck(*buf, *len);
	free(*buf);
	return *ret ? 0 : husk_fail(e->err, ENOMEM, "template");
}

static int new_value(struct eval *e, json_t *v, json_t **ret)
{
	*ret = v;
	return v ? 0 : husk_fail(e->err, ENOMEM, "template");
}

/* Docker's json: the value as compact JSON, null for no value. */
static int fn_json(struct eval *e, json_t **a, size_t n, json_t **ret)
{
	(void)n;
	char *j = a[0] ? json_dumps(a[0], JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	int r = new_value(e, json_string_nocheck(j ? j : "null"), ret);
	free(j);
	return r;
}

static int want_string(struct eval *e, const char *fn, json_t *v)
{
	if (json_is_string(v))
		return 0;
	return eerr(e, "%s: wrong type for value; expected string; got %s", fn, type_name(v));
}

/* Docker's join (strings.Join): a list's elements, null none. */
static int fn_join(struct eval *e, json_t **a, size_t n, json_t **ret)
{
	(void)n;
	if (!json_is_array(a[0]) && !json_is_null(a[0]))
		return eerr(e, "join: wrong type for value; expected list; got %s",
			    type_name(a[0]));
	if (want_string(e, "join", a[1]) < 0)
		return -1;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);
	json_t *v;
	if (!f)
		return husk_fail(e->err, ENOMEM, "template");
	json_array_foreach (a[0], i, v) {
		if (i)
			fwrite(json_string_value(a[1]), 1, json_string_length(a[1]), f);
		print_value(f, v);
	}
	return memstream_string(e, f, &buf, &len, ret);
}

/* Go's index: item[k1][k2]...  An object whose values are all strings,
 * and null, are taken as Go's map[string]string (Labels, Options): a
 * missing key is "", as docker prints it. */
static int fn_index(struct eval *e, json_t **a, size_t n, json_t **ret)
{
	json_t *v = a[0];
	for (size_t i = 1; i < n; i++) {
		json_t *k = a[i];
		if (!v)
			return eerr(e, "index of untyped nil");
		if (json_is_object(v) || (json_is_null(v) && json_is_string(k))) {
			if (!json_is_string(k))
				return eerr(e, "index: value has type %s; should be string",
					    type_name(k));
			json_t *got =
				json_object_getn(v, json_string_value(k), json_string_length(k));
			if (!got) {
				const char *key;
				json_t *x;
				bool strings = true;
				json_object_foreach (v, key, x)
					strings = strings && json_is_string(x);
				*ret = strings ? json_string("") : NULL;
				return strings && !*ret ? husk_fail(e->err, ENOMEM, "template") : 0;
			}
			v = got;
		} else if (json_is_array(v) || json_is_string(v) || json_is_null(v)) {
			if (!json_is_integer(k))
				return eerr(e, "cannot index slice/array with type %s",
					    type_name(k));
			json_int_t x = json_integer_value(k);
			size_t len = json_is_array(v)	 ? json_array_size(v)
				     : json_is_string(v) ? json_string_length(v)
							 : 0;
			if (x < 0 || (uint64_t)x >= len)
				return eerr(e,
					    "error calling index: index out of range: "
					    "%" JSON_INTEGER_FORMAT,
					    x);
			if (json_is_string(v)) /* Go's s[i]: a byte */
				return new_value(
					e, json_integer((unsigned char)json_string_value(v)[x]),
					ret);
			v = json_array_get(v, (size_t)x);
		} else {
			return eerr(e, "can't index item of type %s", type_name(v));
		}
	}
	*ret = json_incref(v);
	return 0;
}

static int fn_len(struct eval *e, json_t **a, size_t n, json_t **ret)
{
	(void)n;
	size_t len;
	if (json_is_string(a[0]))
		len = json_string_length(a[0]);
	else if (json_is_array(a[0]))
		len = json_array_size(a[0]);
	else if (json_is_object(a[0]))
		len = json_object_size(a[0]);
	else if (json_is_null(a[0]))
		len = 0;
	else
		return eerr(e, "error calling len: len of type %s", type_name(a[0]));
	return new_value(e, json_integer((json_int_t)len), ret);
}

/* upper, lower and title: ASCII letters only (Go's change every
 * Unicode letter) */
static int change_case(struct eval *e, const char *fn, json_t *v, int how, json_t **ret)
{
	if (want_string(e, fn, v) < 0)
		return -1;
	size_t len = json_string_length(v);
	char *s = malloc(len + 1);
	if (!s)
		return husk_fail(e->err, ENOMEM, "template");
	memcpy(s, json_string_value(v), len + 1);
	bool word_start = true;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if ((how > 0 || (how == 0 && word_start)) && c >= 'a' && c <= 'z')
			s[i] = (char)(c - 'a' + 'A');
		else if (how < 0 && c >= 'A' && c <= 'Z')
			s[i] = (char)(c - 'A' + 'a');
		word_start = !letter && !(c >= '0' && c <= '9') && c != '_' &&
			     !((unsigned char)c & 0x80);
	}
	int r = new_value(e, json_stringn_nocheck(s, len), ret);
	free(s);
	return r;
}

static int fn_upper(struct eval *e, json_t **a, size_t n, json_t **ret)
{
	(void)n;
	return change_case(e, "upper", a[0], 1, ret);
}

static int fn_lower(struct eval *e, json_t **a, size_t n, json_t **ret)
{
	(void)n;
	return change_case(e, "lower", a[0], -1, ret);
}

/* Docker's title (strings.Title): each word's first letter upper case */
static int fn_title(struct eval *e, json_t **a, size_t n, json_t **ret)
{
	(void)n;
	return change_case(e, "title", a[0], 0, ret);
}

/* The length of the UTF-8 sequence that starts with c (1 if it is not one). */
static size_t utf8_len(char c)
{
	unsigned char u = (unsigned char)c;
	return (u & 0xe0) == 0xc0 ? 2 : (u & 0xf0) == 0xe0 ? 3 : (u & 0xf8) == 0xf0 ? 4 : 1;
}

/* Docker's split (strings.Split): an empty separator splits into each
 * character */
static int fn_split(struct eval *e, json_t **a, size_t n, json_t **ret)
{
	(void)n;
	if (want_string(e, "split", a[0]) < 0 || want_string(e, "split", a[1]) < 0)
		return -1;
	const char *s = json_string_value(a[0]), *sep = json_string_value(a[1]);
	size_t len = json_string_length(a[0]), sl = json_string_length(a[1]);
	json_t *list = json_array();
	if (!list)
		return husk_fail(e->err, ENOMEM, "template");
	size_t start = 0;
	for (size_t i = 0; len && i < len;) {
		if (sl == 0) {
			size_t c = utf8_len(s[i]);
			if (c > len - i)
				c = len - i;
			if (json_array_append_new(list, json_stringn_nocheck(s + i, c)) < 0)
				goto nomem;
			i += c;
		} else if (i + sl <= len && memcmp(s + i, sep, sl) == 0) {
			if (json_array_append_new(list,
						  json_stringn_nocheck(s + start, i - start)) < 0)
				goto nomem;
			i += sl;
			start = i;
		} else {
			i++;
		}
	}
	if (sl && json_array_append_new(list, json_stringn_nocheck(s + start, len - start)) < 0)
		goto nomem;
	*ret = list;
	return 0;
nomem:
	json_decref(list);
	return husk_fail(e->err, ENOMEM, "template");
}

/* Go's eq and ne compare strings, numbers and bools, each with its kind */
static int compare(struct eval *e, json_t *x, json_t *y, bool *ret)
{
	bool xn = json_is_number(x), yn = json_is_number(y);
	if ((!json_is_string(x) && !xn && !json_is_boolean(x) && !json_is_null(x)) ||
	    (!json_is_string(y) && !yn && !json_is_boolean(y) && !json_is_null(y)))
		return eerr(e, "error calling eq: incomparable types %s and %s", type_name(x),
			    type_name(y));
	if (xn && yn)
		*ret = json_number_value(x) == json_number_value(y);
	else if (json_typeof(x) == json_typeof(y) || (json_is_boolean(x) && json_is_boolean(y)))
		*ret = json_equal(x, y);
	else if (json_is_null(x) || json_is_null(y))
		*ret = false;
	else
		return eerr(e, "error calling eq: incompatible types for comparison: %s and %s",
			    type_name(x), type_name(y));
	return 0;
}

static int fn_eq(struct eval *e, json_t **a, size_t n, json_t **ret)
{
	bool any = false;
	for (size_t i = 1; i < n && !any; i++)
		if (compare(e, a[0], a[i], &any) < 0)
			return -1;
	return new_value(e, json_boolean(any), ret);
}

static int fn_ne(struct eval *e, json_t **a, size_t n, json_t **ret)
{
	(void)n;
	bool same = false;
	if (compare(e, a[0], a[1], &same) < 0)
		return -1;
	return new_value(e, json_boolean(!same), ret);
}

static int fn_not(struct eval *e, json_t **a, size_t n, json_t **ret)
{
	(void)n;
	return new_value(e, json_boolean(!truth(a[0])), ret);
}

/* Go's and: the first false argument, or the last; or: the first true */
static int fn_and(struct eval *e, json_t **a, size_t n, json_t **ret)
{
	(void)e;
	size_t i = 0;
	while (i + 1 < n && truth(a[i]))
		i++;
	*ret = json_incref(a[i]);
	return 0;
}

static int fn_or(struct eval *e, json_t **a, size_t n, json_t **ret)
{
	(void)e;
	size_t i = 0;
	while (i + 1 < n && !truth(a[i]))
		i++;
	*ret = json_incref(a[i]);
	return 0;
}

/* Go's print (fmt.Sprint): a space between two arguments when neither is
 * a string */
static int fn_print(struct eval *e, json_t **a, size_t n, json_t **ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return husk_fail(e->err, ENOMEM, "template");
	for (size_t i = 0; i < n; i++) {
		if (i && !json_is_string(a[i - 1]) && !json_is_string(a[i]))
			fputc(' ', f);
		if (a[i])
			print_value(f, a[i]);
		else
			fputs("<nil>", f);
	}
	return memstream_string(e, f, &buf, &len, ret);
}

/* The Go type a value would have in a map[string]interface{}, for
 * printf's complaints */
static const char *go_type(const json_t *v)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "int";
	case JSON_REAL:
		return "float64";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	case JSON_ARRAY:
		return "[]interface {}";
	case JSON_OBJECT:
		return "map[string]interface {}";
	case JSON_NULL:
	default:
		return NULL;
	}
}

static void print_typed(FILE *f, json_t *v)
{
	if (go_type(v)) {
		fprintf(f, "%s=", go_type(v));
		print_value(f, v);
	} else {
		fputs("<nil>", f);
	}
}

/* s padded to width (in characters) and cut to prec characters, as Go's
 * fmt does strings: spaces, or zeros with the 0 flag, left with - */
static void put_padded(FILE *f, const char *s, size_t len, int width, int prec, bool minus,
		       bool zero)
{
	size_t chars = 0, end = 0;
	while (end < len && (prec < 0 || chars < (size_t)prec)) {
		size_t c = utf8_len(s[end]);
		end += c > len - end ? len - end : c;
		chars++;
	}
	for (int i = (int)chars; !minus && i < width; i++)
		fputc(zero ? '0' : ' ', f);
	fwrite(s, 1, end, f);
	for (int i = (int)chars; minus && i < width; i++)
		fputc(' ', f);
}

/* Go's printf, with its common verbs: %v %s %q %d %x %X %o %t %f %e %g,
 * %%, the flags - + 0 space #, a width and a precision.  An argument of
 * the wrong kind, a missing or an extra one print as Go prints them
 * (%!d(string=x), %!s(MISSING), %!(EXTRA int=1)). */
static int fn_printf(struct eval *e, json_t **a, size_t n, json_t **ret)
{
	if (want_string(e, "printf", a[0]) < 0)
		return -1;
	const char *fmt = json_string_value(a[0]);
	size_t flen = json_string_length(a[0]), arg = 1;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return husk_fail(e->err, ENOMEM, "template");
	for (size_t i = 0; i < flen; i++) {
		if (fmt[i] != '%') {
			fputc(fmt[i], f);
			continue;
		}
		char spec[16] = "%";
		size_t k = 1;
		bool minus = false, zero = false;
		while (++i < flen && strchr("-+ 0#", fmt[i]) && fmt[i]) {
			minus |= fmt[i] == '-';
			zero |= fmt[i] == '0';
			if (k < 6 && !strchr(spec, fmt[i]))
				spec[k++] = fmt[i];
		}
		int width = -1, prec = -1;
		for (; i < flen && fmt[i] >= '0' && fmt[i] <= '9'; i++)
			width = (width < 0 ? 0 : width) * 10 + (fmt[i] - '0') > 10000
					? 10000
					: (width < 0 ? 0 : width) * 10 + (fmt[i] - '0');
		if (i < flen && fmt[i] == '.')
			for (prec = 0, i++; i < flen && fmt[i] >= '0' && fmt[i] <= '9'; i++)
				prec = prec * 10 + (fmt[i] - '0') > 10000
					       ? 10000
					       : prec * 10 + (fmt[i] - '0');
		if (i >= flen) {
			fputs("%!(NOVERB)", f);
			break;
		}
		char verb = fmt[i];
		if (verb == '%') {
			fputc('%', f);
			continue;
		}
		if (arg >= n) {
			fprintf(f, "%%!%c(MISSING)", verb);
			continue;
		}
		json_t *v = a[arg++];
		char *str = NULL;
		size_t slen = 0;
		bool bad = false;
		if (strchr("dxXo", verb) && json_is_integer(v)) {
			spec[k++] = '*';
			spec[k++] = '.';
			spec[k++] = '*';
			spec[k++] = 'l';
			spec[k++] = 'l';
			spec[k++] = verb;
			spec[k] = '\0';
			long long x = json_integer_value(v);
			if (verb == 'd') {
				fprintf(f, spec, width < 0 ? 0 : width, prec, x);
			} else { /* Go's %x of -255 is -ff, not its two's complement */
				if (x < 0)
					fputc('-', f);
				unsigned long long u =
					x < 0 ? 0 - (unsigned long long)x : (unsigned long long)x;
				fprintf(f, spec, width < 0 ? 0 : width, prec, u);
			}
		} else if (strchr("feEgG", verb) && json_is_number(v)) {
			spec[k++] = '*';
			spec[k++] = '.';
			spec[k++] = '*';
			spec[k++] = verb;
			spec[k] = '\0';
			fprintf(f, spec, width < 0 ? 0 : width, prec < 0 ? 6 : prec,
				json_number_value(v));
		} else if ((verb == 's' && !json_is_number(v) && !json_is_boolean(v)) ||
			   verb == 'v' || (verb == 't' && json_is_boolean(v)) ||
			   (verb == 'q' && json_is_string(v))) {
			FILE *sf = open_memstream(&str, &slen);
			if (!sf) {
				fclose(f);
				free(buf);
				return husk_fail(e->err, ENOMEM, "template");
			}
			if (verb == 'q') {
				char *q = json_dumps(v, JSON_ENCODE_ANY);
				fputs(q ? q : "\"\"", sf);
				free(q);
			} else if (v) {
				print_value(sf, v);
			} else {
				fputs("<nil>", sf);
			}
			if (fclose(sf) != 0 || !str) {
				free(str);
				fclose(f);
				free(buf);
				return husk_fail(e->err, ENOMEM, "template");
			}
			put_padded(f, str, slen, width, verb == 'q' ? -1 : prec, minus, zero);
			free(str);
		} else {
			bad = true;
		}
		if (bad) {
			fprintf(f, "%%!%c(", verb);
			print_typed(f, v);
			fputc(')', f);
		}
	}
	if (arg < n) {
		fputs("%!(EXTRA ", f);
		for (size_t i = arg; i < n; i++) {
			if (i > arg)
				fputs(", ", f);
			print_typed(f, a[i]);
		}
		fputc(')', f);
	}
	return memstream_string(e, f, &buf, &len, ret);
}

static int eval_pipe(struct eval *e, const struct pipe *pp, json_t *dot, json_t **ret);

static int eval_operand(struct eval *e, const struct operand *o, json_t *dot, json_t **ret)
{
	json_t *v = NULL;
	switch (o->kind) {
	case O_DOT:
		v = json_incref(dot);
		break;
	case O_VAR:
		for (size_t i = e->n_vars; i-- > 0;)
			if (strcmp(e->vars[i].name, o->var) == 0) {
				v = json_incref(e->vars[i].v);
				break;
			}
		break;
	case O_LIT:
		v = json_incref(o->lit);
		break;
	case O_PIPE:
	default:
		if (eval_pipe(e, o->pipe, dot, &v) < 0)
			return -1;
		break;
	}
	for (size_t k = 0; v && k < o->n_path; k++) {
		if (!json_is_object(v) && !json_is_null(v)) {
			json_decref(v);
			return eerr(e, "can't evaluate field \"%s\": \"%s%s\" is not an object",
				    o->path[k], k ? "." : "", k ? o->path[k - 1] : ".");
		}
		json_t *next = json_incref(json_object_get(v, o->path[k]));
		json_decref(v);
		v = next;
	}
	*ret = v;
	return 0;
}

static int eval_pipe(struct eval *e, const struct pipe *pp, json_t *dot, json_t **ret)
{
	json_t *last = NULL;
	for (size_t i = 0; i < pp->n_cmds; i++) {
		const struct cmd *c = &pp->cmds[i];
		json_t *v = NULL;
		if (++e->steps > MAX_STEPS) {
			json_decref(last);
			return eerr(e, "more than %d steps", MAX_STEPS);
		}
		if (!c->fn) {
			if (eval_operand(e, &c->args[0], dot, &v) < 0)
				return -1;
			last = v; /* only ever first */
			continue;
		}
		size_t n = c->n_args + (i > 0);
		json_t **a = calloc(n ? n : 1, sizeof(*a));
		int r = a ? 0 : husk_fail(e->err, ENOMEM, "template");
		for (size_t k = 0; r == 0 && k < c->n_args; k++)
			r = eval_operand(e, &c->args[k], dot, &a[k]);
		if (i > 0 && a)
			a[n - 1] = last; /* the value before it, last */
		else
			json_decref(last);
		last = NULL;
		if (r == 0)
			r = c->fn->call(e, a, n, &v);
		for (size_t k = 0; a && k < n; k++)
			json_decref(a[k]);
		free(a);
		if (r < 0)
			return -1;
		last = v;
	}
	*ret = last;
	return 0;
}

static int walk(struct eval *e, const struct list *l, json_t *dot);

static int walk_range(struct eval *e, const struct node *nd, json_t *dot, json_t *v)
{
	const struct pipe *pp = nd->pipe;
	size_t n = json_is_array(v)    ? json_array_size(v)
		   : json_is_object(v) ? json_object_size(v)
				       : 0;
	if (v && !json_is_null(v) && !json_is_array(v) && !json_is_object(v))
		return eerr(e, "range can't iterate over %s", type_name(v));
	if (n == 0)
		return walk(e, &nd->other, dot);
	const char **keys = json_is_object(v) ? sorted_keys(v) : NULL;
	if (json_is_object(v) && !keys)
		return husk_fail(e->err, ENOMEM, "template");
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		json_t *elem = keys ? json_object_get(v, keys[i]) : json_array_get(v, i);
		size_t mark = e->n_vars;
		if (pp->n_decl == 2) {
			json_t *k =
				keys ? json_string_nocheck(keys[i]) : json_integer((json_int_t)i);
			r = k ? push_var(e, pp->decl[0], k) : husk_fail(e->err, ENOMEM, "template");
		}
		if (r == 0 && pp->n_decl)
			r = push_var(e, pp->decl[pp->n_decl - 1], json_incref(elem));
		if (r == 0)
			r = walk(e, &nd->body, elem);
		pop_vars(e, mark);
	}
	free(keys);
	return r;
}

static int walk(struct eval *e, const struct list *l, json_t *dot)
{
	size_t mark = e->n_vars;
	int r = 0;
	for (size_t i = 0; i < l->n && r == 0; i++) {
		const struct node *nd = &l->v[i];
		json_t *v = NULL;
		if (nd->kind == N_TEXT) {
			fwrite(nd->text, 1, nd->len, e->f);
			continue;
		}
		e->act = nd->text;
		if (++e->steps > MAX_STEPS)
			return eerr(e, "more than %d steps", MAX_STEPS);
		if ((r = eval_pipe(e, nd->pipe, dot, &v)) < 0)
			break;
		size_t inner = e->n_vars;
		if (nd->kind != N_RANGE && nd->pipe->n_decl &&
		    (r = push_var(e, nd->pipe->decl[0], json_incref(v))) < 0) {
			json_decref(v);
			break;
		}
		switch (nd->kind) {
		case N_PRINT:
			if (!nd->pipe->n_decl)
				print_value(e->f, v);
			break;
		case N_IF:
			r = walk(e, truth(v) ? &nd->body : &nd->other, dot);
			break;
		case N_WITH:
			r = truth(v) ? walk(e, &nd->body, v) : walk(e, &nd->other, dot);
			break;
		case N_RANGE:
			r = walk_range(e, nd, dot, v);
			break;
		case N_TEXT:
		default:
			break;
		}
		if (nd->kind != N_PRINT)
			pop_vars(e, inner);
		json_decref(v);
	}
	pop_vars(e, mark);
	return r;
}

int husk_tmpl_render(const struct husk_tmpl *t, json_t *data, char **ret, husk_error **err)
{
	char *out = NULL;
	size_t len = 0;
	struct eval e = {.err = err, .act = ""};
	e.f = open_memstream(&out, &len);
	if (!e.f)
		return husk_fail(err, ENOMEM, "template");
	int r = push_var(&e, "$", json_incref(data));
	if (r == 0)
		r = walk(&e, &t->root, data);
	pop_vars(&e, 0);
	free(e.vars);
	if (fclose(e.f) != 0 && r == 0)
		r = husk_fail(err, ENOMEM, "template");
	if (r < 0) {
		free(out);
		return r;
	}
	*ret = out;
	return 0;
}

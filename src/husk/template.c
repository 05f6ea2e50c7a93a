/* --format templates: see template.h for the subset and why it stops
 * there.  Parsed once into pieces (text, or a path into the data), then
 * rendered per row. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "util.h"

struct piece {
	char *text;  /* literal text, or NULL for an action */
	char **path; /* the action's field names; n_path 0 for {{.}} */
	size_t n_path;
	bool json;
};

struct husk_tmpl {
	struct piece *v;
	size_t n;
};

void husk_tmpl_free(struct husk_tmpl *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].text);
		for (size_t k = 0; k < t->v[i].n_path; k++)
			free(t->v[i].path[k]);
		free(t->v[i].path);
	}
	free(t->v);
	free(t);
}

static struct piece *add_piece(struct husk_tmpl *t)
{
	struct piece *v = realloc(t->v, (t->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	t->v = v;
	memset(&v[t->n], 0, sizeof(*v));
	return &v[t->n++];
}

/* Literal text with \t and \n made a tab and a newline. */
static int add_text(struct husk_tmpl *t, const char *s, size_t n)
{
	if (n == 0)
		return 0;
	struct piece *p = add_piece(t);
	char *out = p ? malloc(n + 1) : NULL;
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
	out[o] = '\0';
	p->text = out;
	return 0;
}

static bool ident_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

static int unsupported(const char *a, size_t n, husk_error **err)
{
	return husk_fail(err, 0,
			 "template: unsupported action \"{{%.*s}}\": only {{.Field}}, "
			 "{{.Field.Sub}} and {{json .Field}} are supported",
			 (int)n, a);
}

static int unknown_field(const char *name, const char *const *fields, husk_error **err)
{
	char *known = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&known, &len);
	if (!f)
		return husk_fail(err, ENOMEM, "template");
	for (size_t i = 0; fields[i]; i++)
		fprintf(f, "%s.%s", i ? " " : "", fields[i]);
	fclose(f);
	int r = husk_fail(err, 0, "template: unknown field \".%s\" (known: %s)", name,
			  known ? known : "");
	free(known);
	return r;
}

/* One action, the text between {{ and }}. */
static int add_action(struct husk_tmpl *t, const char *a, size_t n, const char *const *fields,
		      husk_error **err)
{
	size_t i = 0, end = n;
	while (i < end && a[i] == ' ')
		i++;
	while (end > i && a[end - 1] == ' ')
		end--;
	bool json = false;
	if (end - i > 5 && strncmp(a + i, "json ", 5) == 0) {
		json = true;
		i += 5;
		while (i < end && a[i] == ' ')
			i++;
	}
	if (i >= end || a[i] != '.')
		return unsupported(a, n, err);
	struct piece *p = add_piece(t);
	if (!p)
		return husk_fail(err, ENOMEM, "template");
	p->json = json;
	if (end - i == 1) /* {{.}} */
		return 0;
	while (i < end) {
		if (a[i] != '.' || i + 1 >= end || !ident_char(a[i + 1], true))
			return unsupported(a, n, err);
		size_t s = ++i;
		while (i < end && ident_char(a[i], false))
			i++;
		char **path = realloc(p->path, (p->n_path + 1) * sizeof(char *));
		if (!path)
			return husk_fail(err, ENOMEM, "template");
		p->path = path;
		if (!(p->path[p->n_path++] = strndup(a + s, i - s)))
			return husk_fail(err, ENOMEM, "template");
	}
	if (fields) {
		bool ok = false;
		for (size_t k = 0; fields[k] && !ok; k++)
			ok = strcmp(fields[k], p->path[0]) == 0;
		if (!ok)
			return unknown_field(p->path[0], fields, err);
	}
	return 0;
}

int husk_tmpl_parse(const char *text, const char *const *fields, struct husk_tmpl **ret,
		    husk_error **err)
{
	struct husk_tmpl *t = calloc(1, sizeof(*t));
	if (!t)
		return husk_fail(err, ENOMEM, "template");
	const char *p = text;
	for (;;) {
		const char *open = strstr(p, "{{");
		if (add_text(t, p, open ? (size_t)(open - p) : strlen(p)) < 0) {
			husk_tmpl_free(t);
			return husk_fail(err, ENOMEM, "template");
		}
		if (!open)
			break;
		const char *close = strstr(open + 2, "}}");
		if (!close) {
			husk_tmpl_free(t);
			return husk_fail(err, 0, "template: unclosed action \"%s\"", open);
		}
		if (add_action(t, open + 2, (size_t)(close - open - 2), fields, err) < 0) {
			husk_tmpl_free(t);
			return -1;
		}
		p = close + 2;
	}
	*ret = t;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A value the way Go's fmt prints it. */
static void print_value(FILE *f, json_t *v)
{
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
		size_t n = json_object_size(v), i = 0;
		const char **keys = calloc(n ? n : 1, sizeof(char *));
		const char *k;
		json_t *e;
		if (!keys)
			break;
		json_object_foreach (v, k, e)
			keys[i++] = k;
		qsort(keys, n, sizeof(char *), cmp_str);
		fputs("map[", f);
		for (i = 0; i < n; i++) {
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

int husk_tmpl_render(const struct husk_tmpl *t, json_t *data, char **ret, husk_error **err)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return husk_fail(err, ENOMEM, "template");
	int r = 0;
	for (size_t i = 0; i < t->n && r == 0; i++) {
		const struct piece *p = &t->v[i];
		if (p->text) {
			fputs(p->text, f);
			continue;
		}
		json_t *v = data;
		for (size_t k = 0; v && k < p->n_path; k++) {
			if (!json_is_object(v) && !json_is_null(v)) {
				r = husk_fail(err, 0,
					      "template: can't evaluate field \"%s\": \".%s\" "
					      "is not an object",
					      p->path[k], k ? p->path[k - 1] : "");
				break;
			}
			v = json_object_get(v, p->path[k]);
		}
		if (r < 0)
			break;
		if (!v) {
			fputs("<no value>", f);
		} else if (p->json) {
			char *j = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			fputs(j ? j : "null", f);
			free(j);
		} else {
			print_value(f, v);
		}
	}
	if (fclose(f) != 0 && r == 0)
		r = husk_fail(err, ENOMEM, "template");
	if (r < 0) {
		free(out);
		return r;
	}
	*ret = out;
	return 0;
}

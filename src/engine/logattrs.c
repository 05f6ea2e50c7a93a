/* The attributes Docker's json-file driver puts in each record ("attrs"),
 * from the container's --log-opt, as Docker's loggers compute them
 * (daemon/logger's Info.ExtraAttributes and the log tag):
 *  - labels=K1,K2: the container's labels of those keys (those it has);
 *  - labels-regex=RE: its labels whose key RE matches (unanchored);
 *  - env=K1,K2 and env-regex=RE: the same of its environment (Config.Env,
 *    the image's with -e over it);
 *  - tag=TEMPLATE: "tag", the template expanded.  Docker's is a Go
 *    template over the container; husk expands the fields people put in
 *    one, {{.ID}} (12 hex digits), {{.FullID}}, {{.Name}}, {{.ImageID}},
 *    {{.ImageFullID}}, {{.ImageName}} and {{.DaemonName}} ("husk"), with
 *    text around them, and refuses anything else with EINVAL.
 * POSIX extended regular expressions stand for Go's (the same for the
 * patterns label and env names need), without {m,n} counts.  The result
 * is written beside the log (logfile.h), where the monitor's writer
 * finds it. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "engine-private.h"
#include "util.h"

/* The value of KEY= in opts, the last one given; NULL when none */
static const char *opt(char **opts, const char *key)
{
	const char *v = NULL;
	size_t n = strlen(key);
	for (char **o = opts; o && *o; o++)
		if (strncmp(*o, key, n) == 0 && (*o)[n] == '=')
			v = *o + n + 1;
	return v;
}

/* Each of src's keys in the comma-separated list, or matched by re */
static int pick(json_t *attrs, json_t *src, const char *list, const char *re_text, const char *what,
		husk_error **err)
{
	if (list) {
		cleanup_free char *l = strdup(list);
		if (!l)
			return husk_fail(err, ENOMEM, "--log-opt %s", what);
		char *save = NULL;
		for (char *k = strtok_r(l, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
			json_t *v = json_object_get(src, k);
			if (v)
				json_object_set(attrs, k, v);
		}
	}
	if (re_text) {
		/* glibc's NFA grows with each {m,n} (nested counts multiply):
		 * without them a pattern costs what its length does */
		if (strchr(re_text, '{') || strlen(re_text) > 1024)
			return husk_fail_as(
				err, EINVAL,
				"--log-opt %s-regex=%s: husk takes POSIX extended "
				"expressions of 1024 bytes at most, without {m,n} counts",
				what, re_text);
		regex_t re;
		int rc = regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char why[128];
			regerror(rc, &re, why, sizeof(why));
			return husk_fail_as(err, EINVAL, "--log-opt %s-regex=%s: %s", what, re_text,
					    why);
		}
		const char *k;
		json_t *v;
		json_object_foreach (src, k, v)
			if (regexec(&re, k, 0, NULL, 0) == 0)
				json_object_set(attrs, k, v);
		regfree(&re);
	}
	return 0;
}

/* "sha256:abc..." -> "abc..." cut to 12, as Docker's short ids */
static char *short_id(const char *id)
{
	const char *colon = id ? strchr(id, ':') : NULL;
	return husk_strdup_printf("%.12s", colon ? colon + 1 : id ? id : "");
}

/* tag=: the fields above, each {{.Field}} (spaces inside the braces
 * allowed), the text between kept */
static char *expand_tag(const char *tmpl, const struct husk_log_tag *t, husk_error **err)
{
	cleanup_free char *sid = short_id(t->id);
	cleanup_free char *simg = short_id(t->image_id);
	const struct {
		const char *name, *value;
	} fields[] = {
		{"ID", sid},
		{"FullID", t->id},
		{"Name", t->name},
		{"ImageID", simg},
		{"ImageFullID", t->image_id},
		{"ImageName", t->image_name},
		{"DaemonName", "husk"},
	};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f) {
		husk_fail(err, ENOMEM, "--log-opt tag");
		return NULL;
	}
	const char *p = tmpl;
	while (*p) {
		const char *open = strstr(p, "{{");
		if (!open) {
			fputs(p, f);
			break;
		}
		fwrite(p, 1, (size_t)(open - p), f);
		const char *close = strstr(open, "}}");
		const char *a = open + 2, *b = close;
		while (close && a < b && *a == ' ')
			a++;
		while (close && b > a && b[-1] == ' ')
			b--;
		const char *value = NULL;
		if (close && a < b && *a == '.')
			for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
				if ((size_t)(b - a - 1) == strlen(fields[i].name) &&
				    strncmp(a + 1, fields[i].name, (size_t)(b - a - 1)) == 0)
					value = fields[i].value;
		if (!value) {
			fclose(f);
			free(out);
			husk_fail_as(
				err, EINVAL,
				"--log-opt tag=%s: husk expands {{.ID}}, {{.FullID}}, {{.Name}}, "
				"{{.ImageID}}, {{.ImageFullID}}, {{.ImageName}} and "
				"{{.DaemonName}}",
				tmpl);
			return NULL;
		}
		fputs(value, f);
		p = close + 2;
	}
	fclose(f);
	return out;
}

/* Config.Env's "K=V" entries as an object */
static json_t *env_object(json_t *env)
{
	json_t *o = json_object();
	size_t i;
	json_t *v;
	json_array_foreach (env, i, v) {
		const char *s = json_string_value(v);
		const char *eq = s ? strchr(s, '=') : NULL;
		if (!eq)
			continue;
		cleanup_free char *k = strndup(s, (size_t)(eq - s));
		if (k)
			json_object_set_new(o, k, json_string(eq + 1));
	}
	return o;
}

int husk_log_attrs(char **opts, json_t *config, const struct husk_log_tag *t, char **ret,
		   husk_error **err)
{
	*ret = NULL;
	json_t *attrs = json_object();
	json_t *env = env_object(json_object_get(config, "Env"));
	int r = pick(attrs, json_object_get(config, "Labels"), opt(opts, "labels"),
		     opt(opts, "labels-regex"), "labels", err);
	if (r == 0)
		r = pick(attrs, env, opt(opts, "env"), opt(opts, "env-regex"), "env", err);
	const char *tag = opt(opts, "tag");
	if (r == 0 && tag) {
		char *v = expand_tag(tag, t, err);
		if (v)
			json_object_set_new(attrs, "tag", json_string(v));
		else
			r = -1;
		free(v);
	}
	if (r == 0 && json_object_size(attrs) > 0) {
		*ret = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
		if (!*ret)
			r = husk_fail(err, ENOMEM, "the log's attributes");
	}
	json_decref(env);
	json_decref(attrs);
	return r;
}

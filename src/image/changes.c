/* Docker's --change (-c) for commit and import: Dockerfile instructions
 * that change an image's config without running anything.  The words are
 * Docker's: a JSON array is the exec form of CMD, ENTRYPOINT and VOLUME,
 * anything else their shell form; ENV and LABEL take KEY=VALUE words
 * (quotes and backslashes as in a Dockerfile) or the old "KEY VALUE".
 * As Docker's builder does, ENTRYPOINT clears an inherited CMD unless a
 * CMD came earlier among the same changes. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "image.h"
#include "util.h"

/* Split s into words: blanks separate them outside quotes, quotes are
 * removed, a backslash keeps the next character (not inside '...').
 * NULL for an unterminated quote. */
static json_t *split_words(const char *s)
{
	json_t *words = json_array();
	size_t len = strlen(s);
	cleanup_free char *w = malloc(len + 1);
	size_t n = 0;
	bool in_word = false;
	char quote = 0;
	for (const char *p = s; *p; p++) {
		char c = *p;
		if (quote) {
			if (c == quote)
				quote = 0;
			else if (c == '\\' && quote == '"' && p[1])
				w[n++] = *++p;
			else
				w[n++] = c;
			continue;
		}
		if (isblank((unsigned char)c)) {
			if (in_word) {
				json_array_append_new(words, json_stringn(w, n));
				n = 0;
				in_word = false;
			}
			continue;
		}
		in_word = true;
		if (c == '"' || c == '\'')
			quote = c;
		else if (c == '\\' && p[1])
			w[n++] = *++p;
		else
			w[n++] = c;
	}
	if (quote) {
		json_decref(words);
		return NULL;
	}
	if (in_word)
		json_array_append_new(words, json_stringn(w, n));
	return words;
}

/* ["a", "b"] (every element a string), or NULL: the shell form */
static json_t *exec_form(const char *args)
{
	if (args[0] != '[')
		return NULL;
	json_t *j = json_loads(args, JSON_DECODE_ANY, NULL);
	if (!json_is_array(j)) {
		json_decref(j);
		return NULL;
	}
	size_t i;
	json_t *v;
	json_array_foreach (j, i, v) {
		if (!json_is_string(v)) {
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

static json_t *cmd_value(const char *args)
{
	json_t *j = exec_form(args);
	return j ? j : json_pack("[s,s,s]", "/bin/sh", "-c", args);
}

/* KEY=VALUE words (or the old "KEY VALUE") as pairs into obj */
static int name_values(const char *what, const char *args, json_t *obj, husk_error **err)
{
	json_t *words = split_words(args);
	if (!words)
		return husk_fail_as(err, EINVAL, "%s: unterminated quote", what);
	int r = 0;
	const char *first = json_string_value(json_array_get(words, 0));
	if (first && !strchr(first, '=')) {
		/* the old form: the first word is the key, the rest the value */
		const char *rest = args + strspn(args, " \t");
		rest += strcspn(rest, " \t");
		rest += strspn(rest, " \t");
		if (!*rest)
			r = husk_fail_as(err, EINVAL, "%s: \"%s\" needs a value (%s KEY=VALUE)",
					 what, first, what);
		else
			json_object_set_new(obj, first, json_string(rest));
		json_decref(words);
		return r;
	}
	size_t i;
	json_t *v;
	json_array_foreach (words, i, v) {
		const char *kv = json_string_value(v);
		const char *eq = strchr(kv, '=');
		if (!eq || eq == kv) {
			r = husk_fail_as(err, EINVAL, "%s: \"%s\" is not KEY=VALUE", what, kv);
			break;
		}
		cleanup_free char *k = strndup(kv, (size_t)(eq - kv));
		json_object_set_new(obj, k, json_string(eq + 1));
	}
	json_decref(words);
	return r;
}

static int do_env(json_t *cfg, const char *args, husk_error **err)
{
	json_t *pairs = json_object();
	if (name_values("ENV", args, pairs, err) < 0) {
		json_decref(pairs);
		return -1;
	}
	json_t *env = json_object_get(cfg, "Env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(cfg, "Env", env);
	}
	const char *k;
	json_t *v;
	json_object_foreach (pairs, k, v) {
		cleanup_free char *entry = husk_strdup_printf("%s=%s", k, json_string_value(v));
		size_t klen = strlen(k), i;
		json_t *e;
		bool replaced = false;
		json_array_foreach (env, i, e) {
			const char *s = json_string_value(e);
			if (s && strncmp(s, k, klen) == 0 && s[klen] == '=') {
				json_array_set_new(env, i, json_string(entry));
				replaced = true;
				break;
			}
		}
		if (!replaced)
			json_array_append_new(env, json_string(entry));
	}
	json_decref(pairs);
	return 0;
}

static int do_label(json_t *cfg, const char *args, husk_error **err)
{
	json_t *labels = json_object_get(cfg, "Labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(cfg, "Labels", labels);
	}
	return name_values("LABEL", args, labels, err);
}

static bool port_ok(const char *s, size_t n, unsigned *ret)
{
	if (n == 0 || n > 5)
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*ret = v;
	return v >= 1 && v <= 65535;
}

/* PORT[-PORT][/tcp|udp|sctp] ... into ExposedPorts */
static int do_expose(json_t *cfg, const char *args, husk_error **err)
{
	json_t *words = split_words(args);
	json_t *ports = json_object();
	size_t i;
	json_t *v;
	int r = words ? 0 : husk_fail_as(err, EINVAL, "EXPOSE: unterminated quote");
	json_array_foreach (words, i, v) {
		const char *w = json_string_value(v);
		const char *slash = strchr(w, '/');
		const char *proto = slash ? slash + 1 : "tcp";
		size_t n = slash ? (size_t)(slash - w) : strlen(w);
		const char *dash = memchr(w, '-', n);
		unsigned lo = 0, hi = 0;
		bool ok = strcmp(proto, "tcp") == 0 || strcmp(proto, "udp") == 0 ||
			  strcmp(proto, "sctp") == 0;
		ok = ok && port_ok(w, dash ? (size_t)(dash - w) : n, &lo);
		hi = lo;
		if (ok && dash)
			ok = port_ok(dash + 1, n - (size_t)(dash + 1 - w), &hi) && hi >= lo;
		if (!ok) {
			r = husk_fail_as(err, EINVAL, "EXPOSE: invalid port \"%s\"", w);
			break;
		}
		for (unsigned p = lo; p <= hi; p++) {
			char key[32];
			snprintf(key, sizeof(key), "%u/%s", p, proto);
			json_object_set_new(ports, key, json_object());
		}
	}
	if (r == 0 && json_object_size(ports) == 0)
		r = husk_fail_as(err, EINVAL, "EXPOSE needs at least one port");
	if (r == 0) {
		json_t *have = json_object_get(cfg, "ExposedPorts");
		if (json_is_object(have))
			json_object_update(have, ports);
		else
			json_object_set(cfg, "ExposedPorts", ports);
	}
	json_decref(ports);
	json_decref(words);
	return r;
}

static int do_volume(json_t *cfg, const char *args, husk_error **err)
{
	json_t *list = exec_form(args);
	if (!list)
		list = split_words(args);
	if (!list)
		return husk_fail_as(err, EINVAL, "VOLUME: unterminated quote");
	json_t *vols = json_object_get(cfg, "Volumes");
	if (!json_is_object(vols)) {
		vols = json_object();
		json_object_set_new(cfg, "Volumes", vols);
	}
	size_t i;
	json_t *v;
	int r = 0;
	json_array_foreach (list, i, v) {
		const char *p = json_string_value(v);
		if (!*p) {
			r = husk_fail_as(err, EINVAL, "VOLUME: an empty path");
			break;
		}
		json_object_set_new(vols, p, json_object());
	}
	json_decref(list);
	return r;
}

static int do_workdir(json_t *cfg, const char *args)
{
	const char *cur = json_string_value(json_object_get(cfg, "WorkingDir"));
	cleanup_free char *dir =
		args[0] == '/' ? strdup(args)
			       : husk_strdup_printf("%s/%s", cur && *cur ? cur : "", args);
	json_object_set_new(cfg, "WorkingDir", json_string(dir));
	return 0;
}

static int do_stopsignal(json_t *cfg, const char *args, husk_error **err)
{
	/* a name (SIGTERM, TERM, RTMIN+1) or a number; the engine checks
	 * the name when it stops the container */
	bool ok = *args != '\0';
	for (const char *p = args; *p && ok; p++)
		ok = isalnum((unsigned char)*p) || *p == '+' || *p == '-';
	if (!ok)
		return husk_fail_as(err, EINVAL, "STOPSIGNAL: invalid signal \"%s\"", args);
	json_object_set_new(cfg, "StopSignal", json_string(args));
	return 0;
}

static int do_onbuild(json_t *cfg, const char *args, husk_error **err)
{
	size_t n = strcspn(args, " \t");
	if ((n == 7 && strncasecmp(args, "ONBUILD", 7) == 0) ||
	    (n == 4 && strncasecmp(args, "FROM", 4) == 0) ||
	    (n == 10 && strncasecmp(args, "MAINTAINER", 10) == 0))
		return husk_fail_as(err, EINVAL, "ONBUILD: %.*s is not allowed as a trigger",
				    (int)n, args);
	json_t *list = json_object_get(cfg, "OnBuild");
	if (!json_is_array(list)) {
		list = json_array();
		json_object_set_new(cfg, "OnBuild", list);
	}
	json_array_append_new(list, json_string(args));
	return 0;
}

static int apply_one(json_t *cfg, const char *change, bool *cmd_set, husk_error **err)
{
	const char *p = change + strspn(change, " \t");
	size_t n = strcspn(p, " \t");
	cleanup_free char *word = strndup(p, n);
	const char *args = p + n;
	args += strspn(args, " \t");
	cleanup_free char *a = strdup(args);
	for (size_t len = strlen(a); len > 0 && isspace((unsigned char)a[len - 1]);)
		a[--len] = '\0';
	static const char *known[] = {"CMD",	 "ENTRYPOINT", "ENV",	 "EXPOSE",  "LABEL",
				      "ONBUILD", "USER",       "VOLUME", "WORKDIR", "STOPSIGNAL"};
	size_t k = 0;
	for (; k < ARRAY_SIZE(known); k++)
		if (strcasecmp(word, known[k]) == 0)
			break;
	if (k == ARRAY_SIZE(known))
		return husk_fail_as(err, EINVAL,
				    "%s%s is not a valid change command (CMD, ENTRYPOINT, ENV, "
				    "EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL)",
				    *word ? word : "\"\"", *word ? "" : " (an empty change)");
	if (!*a)
		return husk_fail_as(err, EINVAL, "%s needs an argument", known[k]);
	switch (k) {
	case 0:
		json_object_set_new(cfg, "Cmd", cmd_value(a));
		*cmd_set = true;
		return 0;
	case 1:
		json_object_set_new(cfg, "Entrypoint", cmd_value(a));
		if (!*cmd_set)
			json_object_set_new(cfg, "Cmd", json_null());
		return 0;
	case 2:
		return do_env(cfg, a, err);
	case 3:
		return do_expose(cfg, a, err);
	case 4:
		return do_label(cfg, a, err);
	case 5:
		return do_onbuild(cfg, a, err);
	case 6:
		json_object_set_new(cfg, "User", json_string(a));
		return 0;
	case 7:
		return do_volume(cfg, a, err);
	case 8:
		return do_workdir(cfg, a);
	case 9:
		return do_stopsignal(cfg, a, err);
	default:
		return -1;
	}
}

int husk_image_config_changes(json_t *config, const char *const *changes, size_t n,
			      husk_error **err)
{
	/* on a copy, so that a bad change leaves config as it was */
	json_t *work = json_deep_copy(config);
	if (!work)
		return husk_fail(err, ENOMEM, "changes");
	bool cmd_set = false;
	for (size_t i = 0; i < n; i++) {
		if (apply_one(work, changes[i], &cmd_set, err) < 0) {
			json_decref(work);
			return husk_error_wrap(err, "invalid change \"%s\"", changes[i]);
		}
	}
	json_object_clear(config);
	json_object_update(config, work);
	json_decref(work);
	return 0;
}

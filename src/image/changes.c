/* The Dockerfile instructions that change an image's config without
 * running anything, applied by one function (husk_image_config_apply) for
 * both Docker's --change (-c) of commit and import and the builder
 * (src/build), so that each behaves the same both ways: what is checked,
 * how ports and paths are read, how values merge.
 *
 * --change's words are Docker's: a JSON array is the exec form of CMD,
 * ENTRYPOINT and VOLUME, anything else their shell form; ENV and LABEL
 * take KEY=VALUE words (quotes and backslashes as in a Dockerfile) or the
 * old "KEY VALUE".  The builder parses its own (with variables expanded)
 * and hands the same shapes over. */
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

static const char *const insn_names[] = {
	[HUSK_CI_CMD] = "CMD",
	[HUSK_CI_ENTRYPOINT] = "ENTRYPOINT",
	[HUSK_CI_ENV] = "ENV",
	[HUSK_CI_EXPOSE] = "EXPOSE",
	[HUSK_CI_LABEL] = "LABEL",
	[HUSK_CI_ONBUILD] = "ONBUILD",
	[HUSK_CI_STOPSIGNAL] = "STOPSIGNAL",
	[HUSK_CI_USER] = "USER",
	[HUSK_CI_VOLUME] = "VOLUME",
	[HUSK_CI_WORKDIR] = "WORKDIR",
};

const char *husk_config_insn_name(enum husk_config_insn insn)
{
	return (size_t)insn < ARRAY_SIZE(insn_names) ? insn_names[insn] : "?";
}

int husk_config_insn_lookup(const char *word)
{
	for (size_t k = 0; k < ARRAY_SIZE(insn_names); k++)
		if (strcasecmp(word, insn_names[k]) == 0)
			return (int)k;
	return -1;
}

char *husk_image_workdir(const char *cur, const char *arg)
{
	cleanup_free char *j = arg[0] == '/'
				       ? strdup(arg)
				       : husk_strdup_printf("%s/%s", cur && *cur ? cur : "", arg);
	/* Go's Clean of an absolute path: "." and empty parts go, ".."
	 * takes the part before it and stops at the root */
	size_t len = strlen(j);
	char *out = calloc(1, len + 2);
	if (!out)
		abort();
	size_t n = 0;
	for (const char *p = j; *p;) {
		while (*p == '/')
			p++;
		size_t l = strcspn(p, "/");
		if (l == 0 || (l == 1 && p[0] == '.')) {
			/* nothing */
		} else if (l == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
		} else {
			out[n++] = '/';
			memcpy(out + n, p, l);
			n += l;
		}
		p += l;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	return out;
}

static bool all_strings(json_t *a)
{
	size_t i;
	json_t *v;
	if (!json_is_array(a))
		return false;
	json_array_foreach (a, i, v)
		if (!json_is_string(v))
			return false;
	return true;
}

static int do_env(json_t *cfg, json_t *pairs)
{
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
	return 0;
}

static int do_label(json_t *cfg, json_t *pairs)
{
	json_t *labels = json_object_get(cfg, "Labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(cfg, "Labels", labels);
	}
	json_object_update(labels, pairs);
	return 0;
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
static int do_expose(json_t *cfg, json_t *words, husk_error **err)
{
	json_t *ports = json_object();
	size_t i;
	json_t *v;
	int r = 0;
	json_array_foreach (words, i, v) {
		cleanup_free char *w = strdup(json_string_value(v));
		for (char *c = w; *c; c++)
			*c = (char)tolower((unsigned char)*c);
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
			r = husk_fail_as(err, EINVAL, "EXPOSE: invalid port \"%s\"",
					 json_string_value(v));
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
	return r;
}

static int do_volume(json_t *cfg, json_t *list, husk_error **err)
{
	size_t i;
	json_t *v;
	json_array_foreach (list, i, v)
		if (!*json_string_value(v))
			return husk_fail_as(err, EINVAL, "VOLUME: an empty path");
	if (json_array_size(list) == 0)
		return husk_fail_as(err, EINVAL, "VOLUME needs at least one path");
	json_t *vols = json_object_get(cfg, "Volumes");
	if (!json_is_object(vols)) {
		vols = json_object();
		json_object_set_new(cfg, "Volumes", vols);
	}
	json_array_foreach (list, i, v)
		json_object_set_new(vols, json_string_value(v), json_object());
	return 0;
}

static int do_stopsignal(json_t *cfg, const char *a, husk_error **err)
{
	/* a name (SIGTERM, TERM, RTMIN+1) or a number; the engine checks
	 * the name when it stops the container */
	bool ok = *a != '\0';
	for (const char *p = a; *p && ok; p++)
		ok = isalnum((unsigned char)*p) || *p == '+' || *p == '-';
	if (!ok)
		return husk_fail_as(err, EINVAL, "STOPSIGNAL: invalid signal \"%s\"", a);
	json_object_set_new(cfg, "StopSignal", json_string(a));
	return 0;
}

static int do_onbuild(json_t *cfg, const char *a, husk_error **err)
{
	a += strspn(a, " \t");
	size_t n = strcspn(a, " \t");
	if (n == 0)
		return husk_fail_as(err, EINVAL, "ONBUILD needs an instruction");
	if ((n == 7 && strncasecmp(a, "ONBUILD", 7) == 0) ||
	    (n == 4 && strncasecmp(a, "FROM", 4) == 0) ||
	    (n == 10 && strncasecmp(a, "MAINTAINER", 10) == 0))
		return husk_fail_as(err, EINVAL, "ONBUILD: %.*s is not allowed as a trigger",
				    (int)n, a);
	json_t *list = json_object_get(cfg, "OnBuild");
	if (!json_is_array(list)) {
		list = json_array();
		json_object_set_new(cfg, "OnBuild", list);
	}
	json_array_append_new(list, json_string(a));
	return 0;
}

int husk_image_config_apply(json_t *cfg, enum husk_config_insn insn, json_t *arg, bool *cmd_set,
			    husk_error **err)
{
	const char *name = husk_config_insn_name(insn);
	const char *str = json_string_value(arg);
	switch (insn) {
	case HUSK_CI_CMD:
	case HUSK_CI_ENTRYPOINT:
		if (!all_strings(arg))
			return husk_fail_as(err, EINVAL, "%s: expected a list of strings", name);
		json_object_set(cfg, insn == HUSK_CI_CMD ? "Cmd" : "Entrypoint", arg);
		/* as Docker's: a CMD from before goes with a new ENTRYPOINT */
		if (insn == HUSK_CI_CMD)
			*cmd_set = true;
		else if (!*cmd_set)
			json_object_set_new(cfg, "Cmd", json_null());
		return 0;
	case HUSK_CI_ENV:
	case HUSK_CI_LABEL: {
		const char *k;
		json_t *v;
		if (!json_is_object(arg) || json_object_size(arg) == 0)
			return husk_fail_as(err, EINVAL, "%s needs KEY=VALUE", name);
		json_object_foreach (arg, k, v)
			if (!*k || !json_is_string(v) || (insn == HUSK_CI_ENV && strchr(k, '=')))
				return husk_fail_as(err, EINVAL, "%s: \"%s\" is not KEY=VALUE",
						    name, k);
		return insn == HUSK_CI_ENV ? do_env(cfg, arg) : do_label(cfg, arg);
	}
	case HUSK_CI_EXPOSE:
	case HUSK_CI_VOLUME:
		if (!all_strings(arg))
			return husk_fail_as(err, EINVAL, "%s: expected a list of strings", name);
		return insn == HUSK_CI_EXPOSE ? do_expose(cfg, arg, err) : do_volume(cfg, arg, err);
	case HUSK_CI_ONBUILD:
	case HUSK_CI_STOPSIGNAL:
	case HUSK_CI_USER:
	case HUSK_CI_WORKDIR:
		if (!str || !*str)
			return husk_fail_as(err, EINVAL, "%s needs an argument", name);
		if (insn == HUSK_CI_ONBUILD)
			return do_onbuild(cfg, str, err);
		if (insn == HUSK_CI_STOPSIGNAL)
			return do_stopsignal(cfg, str, err);
		if (insn == HUSK_CI_USER) {
			json_object_set_new(cfg, "User", json_string(str));
			return 0;
		}
		{
			cleanup_free char *dir = husk_image_workdir(
				json_string_value(json_object_get(cfg, "WorkingDir")), str);
			json_object_set_new(cfg, "WorkingDir", json_string(dir));
		}
		return 0;
	default:
		return husk_fail_as(err, EINVAL, "not an instruction of the config");
	}
}

/* One --change: its words in the shape husk_image_config_apply takes */
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
	int k = husk_config_insn_lookup(word);
	if (k < 0)
		return husk_fail_as(err, EINVAL,
				    "%s%s is not a valid change command (CMD, ENTRYPOINT, ENV, "
				    "EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL)",
				    *word ? word : "\"\"", *word ? "" : " (an empty change)");
	const char *name = husk_config_insn_name((enum husk_config_insn)k);
	if (!*a)
		return husk_fail_as(err, EINVAL, "%s needs an argument", name);
	json_t *arg = NULL;
	switch ((enum husk_config_insn)k) {
	case HUSK_CI_CMD:
	case HUSK_CI_ENTRYPOINT:
		/* the shell form: Docker's default shell and the line */
		arg = exec_form(a);
		if (!arg)
			arg = json_pack("[s,s,s]", "/bin/sh", "-c", a);
		break;
	case HUSK_CI_ENV:
	case HUSK_CI_LABEL:
		arg = json_object();
		if (name_values(name, a, arg, err) < 0) {
			json_decref(arg);
			return -1;
		}
		break;
	case HUSK_CI_VOLUME:
		arg = exec_form(a);
		if (!arg)
			arg = split_words(a);
		break;
	case HUSK_CI_EXPOSE:
		arg = split_words(a);
		break;
	default:
		arg = json_string(a);
	}
	if (!arg)
		return husk_fail_as(err, EINVAL, "%s: unterminated quote", name);
	int r = husk_image_config_apply(cfg, (enum husk_config_insn)k, arg, cmd_set, err);
	json_decref(arg);
	return r;
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

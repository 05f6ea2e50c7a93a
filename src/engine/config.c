/* config.json of an engine container, made from the image's config and
 * the run options: see config.h. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "husk.h"
#include "spec.h"
#include "util.h"

/* Docker's default capabilities: what most images expect of root */
static const char *const engine_caps[] = {
	"CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",	   "CAP_FOWNER",
	"CAP_MKNOD",   "CAP_NET_RAW",	   "CAP_SETGID",	   "CAP_SETUID",
	"CAP_SETFCAP", "CAP_SETPCAP",	   "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
	"CAP_KILL",    "CAP_AUDIT_WRITE",
};

static void add_bind(json_t *mounts, const char *src, const char *dst, bool ro)
{
	json_t *opts = json_pack("[s,s]", "rbind", ro ? "ro" : "rw");
	json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type",
						"bind", "source", src, "options", opts));
}

static bool env_has(json_t *env, const char *name)
{
	size_t i, n = strlen(name);
	json_t *v;
	json_array_foreach (env, i, v) {
		const char *s = json_string_value(v);
		if (s && strncmp(s, name, n) == 0 && s[n] == '=')
			return true;
	}
	return false;
}

/* NAME=VALUE replaces an earlier NAME, as Docker's -e over the image's */
static void env_set(json_t *env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t n = eq ? (size_t)(eq - kv) : strlen(kv);
	size_t i;
	json_t *v;
	json_array_foreach (env, i, v) {
		const char *s = json_string_value(v);
		if (s && strncmp(s, kv, n) == 0 && s[n] == '=') {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

static json_t *make_args(const struct husk_config_in *in, json_t *ic, husk_error **err)
{
	json_t *args = json_array();
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(ic, "Entrypoint"), i, v)
		json_array_append(args, v);
	if (in->o->cmd && in->o->cmd[0]) {
		for (char **a = in->o->cmd; *a; a++)
			json_array_append_new(args, json_string(*a));
	} else {
		json_array_foreach (json_object_get(ic, "Cmd"), i, v)
			json_array_append(args, v);
	}
	if (json_array_size(args) == 0) {
		json_decref(args);
		husk_fail_as(err, EINVAL, "image \"%s\" has no command: give one", in->image_name);
		return NULL;
	}
	return args;
}

static json_t *make_env(const struct husk_config_in *in, json_t *ic)
{
	json_t *env = json_array();
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(ic, "Env"), i, v)
		if (json_is_string(v))
			env_set(env, json_string_value(v));
	if (!env_has(env, "PATH"))
		env_set(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	if (in->o->tty && !env_has(env, "TERM"))
		env_set(env, "TERM=xterm");
	for (char **e = in->o->env; e && *e; e++)
		env_set(env, *e);
	cleanup_free char *host = husk_strdup_printf("HOSTNAME=%s", in->hostname);
	if (!env_has(env, "HOSTNAME"))
		env_set(env, host);
	if (!env_has(env, "HOME")) {
		cleanup_free char *home = husk_strdup_printf(
			"HOME=%s", in->user && in->user->home ? in->user->home : "/");
		env_set(env, home);
	}
	return env;
}

static json_t *make_user(const struct husk_user *u)
{
	json_t *user = json_pack("{s:I,s:I}", "uid", (json_int_t)(u ? u->uid : 0), "gid",
				 (json_int_t)(u ? u->gid : 0));
	if (u && u->n_gids) {
		json_t *g = json_array();
		for (size_t i = 0; i < u->n_gids; i++)
			json_array_append_new(g, json_integer(u->gids[i]));
		json_object_set_new(user, "additionalGids", g);
	}
	return user;
}

static void set_resources(json_t *lx, const struct husk_run_opts *o)
{
	json_t *res = json_object_get(lx, "resources");
	if (o->memory > 0)
		json_object_set_new(res, "memory",
				    json_pack("{s:I,s:I}", "limit", (json_int_t)o->memory, "swap",
					      (json_int_t)o->memory));
	if (o->pids_limit > 0)
		json_object_set_new(res, "pids",
				    json_pack("{s:I}", "limit", (json_int_t)o->pids_limit));
	if (o->cpus > 0)
		json_object_set_new(res, "cpu",
				    json_pack("{s:I,s:I}", "quota", (json_int_t)(o->cpus * 100000),
					      "period", (json_int_t)100000));
}

static void set_netns(json_t *lx, const struct husk_config_in *in)
{
	size_t i;
	json_t *v;
	if (in->netns_path) {
		/* join the netns husk_net_setup made and configured */
		json_array_foreach (json_object_get(lx, "namespaces"), i, v) {
			const char *t = json_string_value(json_object_get(v, "type"));
			if (t && strcmp(t, "network") == 0)
				json_object_set_new(v, "path", json_string(in->netns_path));
		}
	} else if (in->o->network == HUSK_NETMODE_HOST) {
		json_t *keep = json_array();
		json_array_foreach (json_object_get(lx, "namespaces"), i, v) {
			const char *t = json_string_value(json_object_get(v, "type"));
			if (t && strcmp(t, "network") != 0)
				json_array_append(keep, v);
		}
		json_object_set_new(lx, "namespaces", keep);
	}
}

json_t *husk_engine_config(const struct husk_config_in *in, husk_error **err)
{
	const struct husk_run_opts *o = in->o;
	cleanup_free char *text = husk_spec_default_json(false, 0, 0);
	json_t *c = json_loads(text, 0, NULL);
	if (!c)
		abort();
	json_t *ic = in->image_config;
	json_t *p = json_object_get(c, "process");
	json_object_set_new(p, "terminal", json_boolean(o->tty));
	if (o->tty && o->tty_rows && o->tty_cols)
		json_object_set_new(
			p, "consoleSize",
			json_pack("{s:i,s:i}", "height", o->tty_rows, "width", o->tty_cols));
	json_object_set_new(p, "noNewPrivileges", json_false());
	json_t *args = make_args(in, ic, err);
	if (!args) {
		json_decref(c);
		return NULL;
	}
	json_object_set_new(p, "args", args);
	json_object_set_new(p, "env", make_env(in, ic));
	const char *wd =
		o->workdir ? o->workdir : json_string_value(json_object_get(ic, "WorkingDir"));
	json_object_set_new(p, "cwd", json_string(wd && *wd ? wd : "/"));
	json_object_set_new(p, "user", make_user(in->user));
	json_t *caps = json_array();
	for (size_t k = 0; k < ARRAY_SIZE(engine_caps); k++)
		json_array_append_new(caps, json_string(engine_caps[k]));
	json_object_set_new(
		p, "capabilities",
		json_pack("{s:O,s:O,s:O}", "bounding", caps, "effective", caps, "permitted", caps));
	json_decref(caps);
	json_object_set_new(c, "root", json_pack("{s:s,s:b}", "path", "rootfs", "readonly", 0));
	json_object_set_new(c, "hostname", json_string(in->hostname));
	json_t *mounts = json_object_get(c, "mounts");
	if (in->hosts_path)
		add_bind(mounts, in->hosts_path, "/etc/hosts", false);
	if (in->hostname_path)
		add_bind(mounts, in->hostname_path, "/etc/hostname", false);
	if (in->resolv_path)
		add_bind(mounts, in->resolv_path, "/etc/resolv.conf", false);
	for (size_t k = 0; k < o->n_volumes; k++)
		add_bind(mounts, o->volumes[k].src, o->volumes[k].dst, o->volumes[k].ro);
	json_t *lx = json_object_get(c, "linux");
	set_resources(lx, o);
	/* one level below the caller's cgroup, no shared parent: a parent
	 * made by the first container would outlive it whenever a second was
	 * still inside, and nobody would remove it */
	cleanup_free char *cgp = husk_strdup_printf("husk-%s", in->id);
	json_object_set_new(lx, "cgroupsPath", json_string(cgp));
	set_netns(lx, in);
	return c;
}

char *husk_engine_config_command(json_t *config)
{
	json_t *args = json_object_get(json_object_get(config, "process"), "args");
	size_t i, len = 0;
	json_t *v;
	char cmd[256] = "";
	json_array_foreach (args, i, v) {
		int n = snprintf(cmd + len, sizeof(cmd) - len, "%s%s", i ? " " : "",
				 json_string_value(v));
		if (n < 0 || (size_t)n >= sizeof(cmd) - len) {
			len = sizeof(cmd) - 1;
			break;
		}
		len += (size_t)n;
	}
	return strdup(cmd);
}

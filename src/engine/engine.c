/* Containers of the engine: dirs, overlay roots, config.json, metadata. */
#define _GNU_SOURCE
#include "engine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "husk.h"
#include "image.h"
#include "spec.h"
#include "state.h"
#include "util.h"

char *husk_engine_dir(struct husk_engine *e, const char *id)
{
	return husk_strdup_printf("%s/containers/%s", e->root, id);
}

static json_t *read_meta(struct husk_engine *e, const char *id)
{
	cleanup_free char *p = husk_strdup_printf("%s/containers/%s/meta.json", e->root, id);
	return json_load_file(p, 0, NULL);
}

static int write_meta(struct husk_engine *e, const char *id, json_t *meta, husk_error **err)
{
	cleanup_free char *p = husk_strdup_printf("%s/containers/%s/meta.json", e->root, id);
	cleanup_free char *text = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
	return husk_write_file_atomic(p, text, strlen(text), 0600, err);
}

int husk_engine_resolve(struct husk_engine *e, const char *name_or_id, char **ret_id,
			husk_error **err)
{
	cleanup_free char *dir = husk_strdup_printf("%s/containers", e->root);
	DIR *d = opendir(dir);
	char *found = NULL;
	int hits = 0;
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			json_t *m = read_meta(e, de->d_name);
			const char *name = json_string_value(json_object_get(m, "name"));
			bool match = (name && strcmp(name, name_or_id) == 0) ||
				     strcmp(de->d_name, name_or_id) == 0 ||
				     (strlen(name_or_id) >= 4 &&
				      strncmp(de->d_name, name_or_id, strlen(name_or_id)) == 0);
			if (match && (!found || strcmp(found, de->d_name) != 0)) {
				hits++;
				free(found);
				found = strdup(de->d_name);
			}
			json_decref(m);
		}
		closedir(d);
	}
	if (hits == 0)
		return husk_fail(err, 0, "no such container: \"%s\"", name_or_id);
	if (hits > 1) {
		free(found);
		return husk_fail(err, 0, "\"%s\" names more than one container", name_or_id);
	}
	*ret_id = found;
	return 0;
}

/* 64 random hex digits, or NULL with errno set */
static char *new_id(void)
{
	unsigned char b[32];
	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return NULL;
	char *s = malloc(65);
	if (!s)
		return NULL;
	for (int i = 0; i < 32; i++)
		snprintf(s + i * 2, 3, "%02x", b[i]);
	return s;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

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

/* net: the container's network with --network bridge, else NULL */
static json_t *build_config(const struct husk_run_opts *o, const struct husk_image *img,
			    const char *id, const struct husk_net_info *net, husk_error **err)
{
	cleanup_free char *text = husk_spec_default_json(false, 0, 0);
	json_t *c = json_loads(text, 0, NULL);
	json_t *ic = json_object_get(img->config, "config");
	json_t *p = json_object_get(c, "process");
	json_object_set_new(p, "terminal", json_boolean(o->tty));
	json_object_set_new(p, "noNewPrivileges", json_false());
	/* args: the command given, else Entrypoint + Cmd of the image */
	json_t *args = json_array();
	json_t *ep = json_object_get(ic, "Entrypoint");
	size_t i;
	json_t *v;
	json_array_foreach (ep, i, v)
		json_array_append(args, v);
	if (o->cmd && o->cmd[0]) {
		for (char **a = o->cmd; *a; a++)
			json_array_append_new(args, json_string(*a));
	} else {
		json_array_foreach (json_object_get(ic, "Cmd"), i, v)
			json_array_append(args, v);
	}
	if (json_array_size(args) == 0) {
		json_decref(args);
		json_decref(c);
		husk_fail(err, 0, "image \"%s\" has no command: give one", img->name);
		return NULL;
	}
	json_object_set_new(p, "args", args);
	json_t *env = json_array();
	json_t *ienv = json_object_get(ic, "Env");
	if (json_array_size(ienv))
		json_array_extend(env, ienv);
	else
		json_array_append_new(env, json_string("PATH=/usr/local/sbin:/usr/local/bin:"
						       "/usr/sbin:/usr/bin:/sbin:/bin"));
	if (o->tty)
		json_array_append_new(env, json_string("TERM=xterm"));
	for (char **e = o->env; e && *e; e++)
		json_array_append_new(env, json_string(*e));
	json_object_set_new(p, "env", env);
	const char *wd =
		o->workdir ? o->workdir : json_string_value(json_object_get(ic, "WorkingDir"));
	json_object_set_new(p, "cwd", json_string(wd && *wd ? wd : "/"));
	const char *user = o->user ? o->user : json_string_value(json_object_get(ic, "User"));
	if (user && *user && strcmp(user, "root") != 0) {
		long uid = 0, gid = 0;
		cleanup_free char *u = strdup(user);
		char *colon = strchr(u, ':');
		if (colon)
			*colon = '\0';
		if (husk_parse_long(u, &uid) < 0 ||
		    (colon && husk_parse_long(colon + 1, &gid) < 0)) {
			json_decref(c);
			husk_fail(err, 0, "user \"%s\": only numeric uid[:gid] is supported yet",
				  user);
			return NULL;
		}
		json_object_set_new(p, "user",
				    json_pack("{s:I,s:I}", "uid", (json_int_t)uid, "gid",
					      (json_int_t)(colon ? gid : uid)));
	}
	json_t *caps = json_array();
	for (size_t k = 0; k < ARRAY_SIZE(engine_caps); k++)
		json_array_append_new(caps, json_string(engine_caps[k]));
	json_object_set_new(
		p, "capabilities",
		json_pack("{s:O,s:O,s:O}", "bounding", caps, "effective", caps, "permitted", caps));
	json_decref(caps);
	json_object_set_new(c, "root", json_pack("{s:s,s:b}", "path", "rootfs", "readonly", 0));
	char host[13];
	snprintf(host, sizeof(host), "%.12s", id);
	json_object_set_new(c, "hostname", json_string(o->hostname ? o->hostname : host));
	json_t *mounts = json_object_get(c, "mounts");
	if (net) {
		add_bind(mounts, net->hosts_path, "/etc/hosts", false);
		add_bind(mounts, net->resolv_path, "/etc/resolv.conf", false);
	}
	for (size_t k = 0; k < o->n_volumes; k++)
		add_bind(mounts, o->volumes[k].src, o->volumes[k].dst, o->volumes[k].ro);
	json_t *lx = json_object_get(c, "linux");
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
	/* one level below the caller's cgroup, no shared parent: a parent
	 * made by the first container would outlive it whenever a second was
	 * still inside, and nobody would remove it */
	cleanup_free char *cgp = husk_strdup_printf("husk-%s", id);
	json_object_set_new(lx, "cgroupsPath", json_string(cgp));
	if (net) {
		/* join the netns husk_net_setup made and configured */
		json_array_foreach (json_object_get(lx, "namespaces"), i, v) {
			const char *t = json_string_value(json_object_get(v, "type"));
			if (t && strcmp(t, "network") == 0)
				json_object_set_new(v, "path", json_string(net->netns_path));
		}
	} else if (o->host_network) {
		json_t *keep = json_array();
		json_array_foreach (json_object_get(lx, "namespaces"), i, v) {
			const char *t = json_string_value(json_object_get(v, "type"));
			if (t && strcmp(t, "network") != 0)
				json_array_append(keep, v);
		}
		json_object_set_new(lx, "namespaces", keep);
	}
	return c;
}

/* overlayfs stacks at most this many lower dirs (OVL_MAX_STACK) */
#define OVERLAY_MAX_LAYERS 500
/* mount(2) takes one page of options */
#define MOUNT_OPTS_MAX	4096
#define OVERLAYFS_MAGIC 0x794c7630

/* Why overlay refused the store, in the kernel's words: the mount again
 * through fsopen(2), with the top layer only, whose log says what
 * mount(2) could only call EINVAL ("overlay: filesystem on ... not
 * supported as upperdir").  Runs with the same cwd as the mount.  Empty
 * when the kernel has no fsopen or says nothing. */
static void overlay_reason(const char *lower, const char *upper, const char *work, char *buf,
			   size_t size)
{
	buf[0] = '\0';
	cleanup_close int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return;
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		/* the log: one message per read, "e ..." for errors; keep the last */
		char msg[256];
		ssize_t n;
		while ((n = read(fs, msg, sizeof(msg) - 1)) > 0) {
			while (n > 0 && msg[n - 1] == '\n')
				n--;
			msg[n] = '\0';
			if (n > 2 && msg[0] == 'e' && msg[1] == ' ')
				snprintf(buf, size, "%s", msg + 2);
		}
	}
}

/* The container's root: an overlay of the image's layers (top first) under
 * the container's own upper and work dirs.
 *
 * The lower dirs are named by the layers' short links, l/<hex prefix> (see
 * layer_link in store.c), and upper and work relative to l/ too, with
 * <root>/l as the cwd of the mount call: mount(2) takes one page of
 * options, which full paths of about 90 bytes fill at 45 layers, and short
 * names fit overlay's own maximum of 500.  fsconfig's "lowerdir+" (one
 * call per layer) would lift the page limit without links, but only from
 * Linux 6.8, and its older "lowerdir" takes 256 bytes at most; links work
 * on every kernel overlay runs on, so there is one path to test.  The
 * engine is single-threaded, so the chdir there and back is safe; the
 * target is named through an fd opened before. */
static int mount_overlay(const char *root, const struct husk_image *img, const char *id,
			 const char *rootfs, husk_error **err)
{
	size_t cap = 1;
	for (size_t i = 0; i < img->n_layers; i++)
		cap += strlen(img->links[i]) + 1;
	cleanup_free char *lower = calloc(1, cap);
	if (!lower)
		return husk_fail(err, ENOMEM, "overlay");
	size_t len = 0;
	for (size_t i = img->n_layers; i-- > 0;)
		len += (size_t)snprintf(lower + len, cap - len, "%s%s",
					i + 1 < img->n_layers ? ":" : "", img->links[i]);
	cleanup_free char *upper = husk_strdup_printf("../containers/%s/upper", id);
	cleanup_free char *work = husk_strdup_printf("../containers/%s/work", id);
	cleanup_free char *opts =
		husk_strdup_printf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	if (strlen(opts) >= MOUNT_OPTS_MAX)
		return husk_fail(err, E2BIG,
				 "image \"%s\": the overlay options for its %zu layers take %zu "
				 "bytes, more than the %d a mount takes",
				 img->name, img->n_layers, strlen(opts), MOUNT_OPTS_MAX);
	cleanup_free char *ldir = husk_strdup_printf("%s/l", root);
	cleanup_close int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int target = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || target < 0)
		return husk_fail(err, errno, "open \"%s\"", cwd < 0 ? "." : rootfs);
	char tpath[64];
	snprintf(tpath, sizeof(tpath), "/proc/self/fd/%d", target);
	if (chdir(ldir) < 0)
		return husk_fail(err, errno, "chdir \"%s\"", ldir);
	int r = mount("overlay", tpath, "overlay", 0, opts);
	int e = errno;
	char reason[256] = "";
	if (r < 0 && (e == EINVAL || e == EOPNOTSUPP))
		overlay_reason(img->links[img->n_layers - 1], upper, work, reason, sizeof(reason));
	if (fchdir(cwd) < 0) {
		e = errno;
		if (r == 0)
			umount2(tpath, MNT_DETACH);
		return husk_fail(err, e, "back to the cwd after mounting \"%s\"", rootfs);
	}
	if (r == 0)
		return 0;
	if (e == ENODEV)
		return husk_fail(err, e,
				 "mount the overlay root \"%s\": this kernel has no "
				 "overlay filesystem (modprobe overlay)",
				 rootfs);
	if (e != EINVAL && e != EOPNOTSUPP)
		return husk_fail(err, e, "mount the overlay root \"%s\"", rootfs);
	struct statfs sf;
	bool on_overlay = statfs(root, &sf) == 0 && sf.f_type == OVERLAYFS_MAGIC;
	return husk_fail(err, e,
			 "mount the overlay root \"%s\": overlay refuses the store \"%s\"%s%s%s; "
			 "give husk a --root on another filesystem (ext4, xfs, btrfs, tmpfs)",
			 rootfs, root,
			 on_overlay ? ", which is itself on overlayfs (husk in a container?)" : "",
			 *reason ? ": " : "", reason);
}

static bool name_taken(struct husk_engine *e, const char *name)
{
	char *id = NULL;
	husk_error *err = NULL;
	bool taken = husk_engine_resolve(e, name, &id, &err) == 0 && id;
	free(id);
	husk_error_free(err);
	return taken;
}

int husk_engine_create(struct husk_engine *e, const struct husk_run_opts *o, char **ret_id,
		       husk_error **err)
{
	struct husk_store *store = NULL;
	struct husk_image *img = NULL;
	json_t *config = NULL;
	char *id = NULL, *dir = NULL;
	bool mounted = false, networked = false;
	struct husk_net_info net = {0};
	int r = -1;
	cleanup_free char *cdir = NULL;
	cleanup_free char *rootfs = NULL;
	cleanup_free char *cfg = NULL;
	if (o->name && name_taken(e, o->name))
		return husk_fail(err, 0, "the name \"%s\" is already in use", o->name);
	if (husk_store_open(e->root, &store, err) < 0)
		return -1;
	if (husk_store_find(store, o->image, &img, err) < 0) {
		bool bb =
			strcmp(o->image, "busybox") == 0 || strcmp(o->image, "busybox:latest") == 0;
		if (!bb)
			goto out;
		husk_error_freep(err);
		if (husk_store_ensure_busybox(store, err) < 0 ||
		    husk_store_find(store, o->image, &img, err) < 0)
			goto out;
	}
	/* before making anything, so that a refused image leaves nothing */
	if (img->n_layers > OVERLAY_MAX_LAYERS) {
		husk_fail(err, E2BIG, "image \"%s\" has %zu layers; overlay stacks %d at most",
			  img->name, img->n_layers, OVERLAY_MAX_LAYERS);
		goto out;
	}
	if (img->n_layers == 0) {
		husk_fail(err, EINVAL, "image \"%s\" has no layers", img->name);
		goto out;
	}
	id = new_id();
	if (!id) {
		husk_fail(err, errno, "a container id: getrandom");
		goto out;
	}
	dir = husk_engine_dir(e, id);
	cdir = husk_strdup_printf("%s/containers", e->root);
	if (husk_mkdir_p(cdir, 0700, err) < 0)
		goto out;
	static const char *subs[] = {"", "/rootfs", "/upper", "/work"};
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		cleanup_free char *p = husk_strdup_printf("%s%s", dir, subs[i]);
		if (mkdir(p, 0700) < 0) {
			husk_fail(err, errno, "mkdir \"%s\"", p);
			goto out;
		}
	}
	rootfs = husk_strdup_printf("%s/rootfs", dir);
	if (mount_overlay(e->root, img, id, rootfs, err) < 0)
		goto out;
	mounted = true;
	char name[16];
	snprintf(name, sizeof(name), "husk_%.8s", id);
	if (o->bridge_network) {
		char host[13];
		snprintf(host, sizeof(host), "%.12s", id);
		struct husk_net_opts no = {.runroot = e->runroot,
					   .id = id,
					   .dir = dir,
					   .name = o->name ? o->name : name,
					   .hostname = o->hostname ? o->hostname : host,
					   .ports = o->ports,
					   .n_ports = o->n_ports};
		if (husk_net_setup(&no, &net, err) < 0)
			goto out;
		networked = true;
	}
	config = build_config(o, img, id, networked ? &net : NULL, err);
	if (!config)
		goto out;
	cfg = husk_strdup_printf("%s/config.json", dir);
	if (json_dump_file(config, cfg, JSON_INDENT(2)) < 0) {
		husk_fail(err, errno, "write \"%s\"", cfg);
		goto out;
	}
	json_t *args = json_object_get(json_object_get(config, "process"), "args");
	size_t i;
	json_t *v;
	size_t clen = 0;
	char cmd[256] = "";
	json_array_foreach (args, i, v) {
		int n = snprintf(cmd + clen, sizeof(cmd) - clen, "%s%s", i ? " " : "",
				 json_string_value(v));
		if (n < 0 || (size_t)n >= sizeof(cmd) - clen)
			break;
		clen += (size_t)n;
	}
	time_t now = time(NULL);
	char created[32];
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json_t *meta =
		json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "id", id, "name", o->name ? o->name : name,
			  "image", img->name, "command", cmd, "created", created, "rm", o->rm);
	if (networked) {
		json_object_set_new(meta, "network", json_string("bridge"));
		json_object_set_new(meta, "ip", json_string(net.ip));
	}
	int wr = write_meta(e, id, meta, err);
	json_decref(meta);
	if (wr < 0)
		goto out;
	*ret_id = id;
	id = NULL;
	r = 0;
out:
	if (r < 0 && dir) {
		cleanup_free char *rootfs2 = husk_strdup_printf("%s/rootfs", dir);
		if (networked)
			husk_net_teardown(e->runroot, id, NULL);
		if (mounted)
			umount2(rootfs2, MNT_DETACH);
		rm_rf(dir);
	}
	husk_net_info_release(&net);
	json_decref(config);
	husk_image_free(img);
	husk_store_close(store);
	free(dir);
	free(id);
	return r;
}

int husk_engine_set_exit(struct husk_engine *e, const char *id, int code, husk_error **err)
{
	json_t *m = read_meta(e, id);
	if (!m)
		return husk_fail(err, 0, "container \"%s\": no metadata", id);
	json_object_set_new(m, "exit_code", json_integer(code));
	int r = write_meta(e, id, m, err);
	json_decref(m);
	return r;
}

int husk_engine_rm(struct husk_engine *e, const char *name_or_id, bool force, husk_error **err)
{
	cleanup_free char *id = NULL;
	if (husk_engine_resolve(e, name_or_id, &id, err) < 0)
		return -1;
	char *json = NULL;
	if (husk_state(e->runroot, id, &json, NULL) == 0) {
		json_t *st = json_loads(json, 0, NULL);
		free(json);
		const char *status = json_string_value(json_object_get(st, "status"));
		bool live = status && strcmp(status, "stopped") != 0;
		json_decref(st);
		if (live && !force)
			return husk_fail(err, 0,
					 "container \"%s\" is running: stop it first or use -f",
					 name_or_id);
		if (husk_delete(e->runroot, id, true, err) < 0)
			return husk_error_wrap(err, "remove container \"%s\"", name_or_id);
	}
	cleanup_free char *dir = husk_engine_dir(e, id);
	/* its network, once its processes are gone; also when meta.json
	 * never got written (a crash in create): the netns file tells */
	json_t *m = read_meta(e, id);
	const char *mode = json_string_value(json_object_get(m, "network"));
	cleanup_free char *ns = husk_strdup_printf("%s/net/ns/%s", e->runroot, id);
	bool bridge = (mode && strcmp(mode, "bridge") == 0) || access(ns, F_OK) == 0;
	json_decref(m);
	if (bridge && husk_net_teardown(e->runroot, id, err) < 0)
		return husk_error_wrap(err, "remove container \"%s\"", name_or_id);
	cleanup_free char *rootfs = husk_strdup_printf("%s/rootfs", dir);
	if (umount2(rootfs, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return husk_fail(err, errno, "unmount \"%s\"", rootfs);
	rm_rf(dir);
	return 0;
}

int husk_engine_list(struct husk_engine *e, struct husk_ctr_info **ret, size_t *ret_n,
		     husk_error **err)
{
	(void)err;
	*ret = NULL;
	*ret_n = 0;
	cleanup_free char *dir = husk_strdup_printf("%s/containers", e->root);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		json_t *m = read_meta(e, de->d_name);
		if (!m)
			continue;
		*ret = realloc(*ret, (*ret_n + 1) * sizeof(**ret));
		struct husk_ctr_info *c = &(*ret)[(*ret_n)++];
		c->id = strdup(de->d_name);
		c->name = strdup(json_string_value(json_object_get(m, "name")) ?: "");
		c->image = strdup(json_string_value(json_object_get(m, "image")) ?: "");
		c->command = strdup(json_string_value(json_object_get(m, "command")) ?: "");
		c->created = strdup(json_string_value(json_object_get(m, "created")) ?: "");
		c->exit_code = (int)json_integer_value(json_object_get(m, "exit_code"));
		char *json = NULL;
		const char *status = "created";
		json_t *st = NULL;
		if (husk_state(e->runroot, de->d_name, &json, NULL) == 0) {
			st = json_loads(json, 0, NULL);
			free(json);
			status = json_string_value(json_object_get(st, "status")) ?: "unknown";
		}
		if (json_object_get(m, "exit_code") && (!st || strcmp(status, "stopped") == 0))
			c->status = husk_strdup_printf("exited (%d)", c->exit_code);
		else
			c->status = strdup(status);
		json_decref(st);
		json_decref(m);
	}
	closedir(d);
	return 0;
}

void husk_engine_list_free(struct husk_ctr_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].name);
		free(v[i].image);
		free(v[i].command);
		free(v[i].status);
		free(v[i].created);
	}
	free(v);
}

/* husk build: the stages of a Dockerfile, step by step, each step's state
 * (an image config and its layers) cached under a key chained from its
 * parent's.  See build.h for the shape; copy.c for COPY and ADD. */
#define _GNU_SOURCE
#include "fault.h"
#include "build.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cachemount.h"
#include "copy.h"
#include "dockerfile.h"
#include "download.h"
#include "squash.h"
#include "engine-private.h" /* husk_pidfd_of */
#include "image-private.h"  /* husk_store_tmpdir */
#include "image.h"
#include "lazy.h"
#include "overlay.h"
#include "rootfs.h"
#include "runmount.h"
#include "user.h"
#include "util.h"

#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"

/* what the engine binds over in every container: their empty mount
 * points are not the step's */
static const char *const mount_points[] = {"etc/hosts", "etc/hostname", "etc/resolv.conf", NULL};

static const char *const proxy_args[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
					 "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
					 "ALL_PROXY",  "all_proxy",  NULL};

struct var {
	char *name;
	char *value; /* NULL: declared, no value */
};

/* a --secret: its content, for RUN --mount=type=secret */
struct secret {
	char *id;
	char *data;
	size_t len;
};

struct stage_st {
	json_t *config; /* the whole image config */
	json_t *layers; /* manifest descriptors */
	char key[65];
	bool built, building;
	struct var *args;
	size_t n_args;
	bool cmd_set;
	/* the layers and history entries of the image the stage started
	 * from (through earlier stages): what --squash keeps as they are */
	size_t n_base_layers, n_base_history;
};

struct bctx {
	struct husk_engine *e;
	const struct husk_build_opts *o;
	husk_build_progress cb;
	void *ud;
	struct husk_store *s;
	char *tmp; /* <root>/tmp/build-XXXXXX, locked while we live */
	int tmp_lock;
	const char *tmp_id; /* its XXXXXX */
	int n_steps;	    /* steps run, for names */
	char *ctx_dir;	    /* NULL: no context */
	int ctx_fd;
	struct husk_ignore *ignore;
	struct husk_dockerfile *df;
	char *df_name;
	struct var *gargs; /* the global ARGs */
	size_t n_gargs;
	bool *arg_used;
	struct stage_st *st;
	char *cache_dir;
	struct husk_hash_cache *hash_cache; /* the context's, once a COPY reads it */
	struct secret *secrets;		    /* --secret, read when the build starts */
	size_t n_secrets;
};

static void emit(struct bctx *b, enum husk_build_event_kind k, const char *text)
{
	if (b->cb) {
		struct husk_build_event ev = {.kind = k, .text = text};
		b->cb(b->ud, &ev);
	}
}

static void now_rfc3339(char *buf, size_t n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char sec[32];
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%09ldZ", sec, ts.tv_nsec);
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_cb, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* --- variables --- */

static const char *var_get(const struct var *v, size_t n, const char *name)
{
	for (size_t i = n; i-- > 0;)
		if (strcmp(v[i].name, name) == 0)
			return v[i].value;
	return NULL;
}

static bool var_has(const struct var *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return true;
	return false;
}

static void var_set(struct var **v, size_t *n, const char *name, const char *value)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i].name, name) == 0) {
			free((*v)[i].value);
			(*v)[i].value = value ? strdup(value) : NULL;
			return;
		}
	*v = realloc(*v, (*n + 1) * sizeof(**v));
	if (!*v)
		abort();
	(*v)[(*n)++] = (struct var){strdup(name), value ? strdup(value) : NULL};
}

static void vars_free(struct var *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

static const char *env_get(json_t *config, const char *name)
{
	json_t *env = json_object_get(json_object_get(config, "config"), "Env");
	size_t n = strlen(name), i;
	json_t *e;
	const char *found = NULL;
	json_array_foreach (env, i, e) {
		const char *s = json_string_value(e);
		if (s && strncmp(s, name, n) == 0 && s[n] == '=')
			found = s + n + 1;
	}
	return found;
}

/* a --build-arg's value (NULL: not given); marks it used */
static const char *build_arg(struct bctx *b, const char *name, bool *given)
{
	size_t n = strlen(name);
	*given = false;
	for (size_t i = 0; i < b->o->n_build_args; i++) {
		const char *a = b->o->build_args[i];
		if (strncmp(a, name, n) != 0 || (a[n] != '=' && a[n] != '\0'))
			continue;
		b->arg_used[i] = true;
		*given = true;
		return a[n] == '=' ? a + n + 1 : getenv(name);
	}
	return NULL;
}

struct lookup_ud {
	struct bctx *b;
	struct stage_st *st; /* NULL: the global ARGs */
};

static const char *lookup(const char *name, void *ud)
{
	struct lookup_ud *l = ud;
	if (!l->st)
		return var_get(l->b->gargs, l->b->n_gargs, name);
	const char *v = env_get(l->st->config, name);
	return v ? v : var_get(l->st->args, l->st->n_args, name);
}

static int words(struct bctx *b, struct stage_st *st, const char *line, char ***ret, size_t *n,
		 husk_error **err)
{
	struct lookup_ud l = {b, st};
	return husk_df_words(line, b->df->escape, lookup, &l, ret, n, err);
}

static int expand(struct bctx *b, struct stage_st *st, const char *w, char **ret, husk_error **err)
{
	struct lookup_ud l = {b, st};
	return husk_df_expand(w, b->df->escape, lookup, &l, ret, err);
}

/* --- the cache --- */

static void key_next(const char *parent, const char *desc, const char *extra, char out[65])
{
	cleanup_free char *s = husk_strdup_printf("%s\n%s\n%s", parent, desc, extra ? extra : "");
	husk_sha256_hex(s, strlen(s), out);
}

static bool cache_get(struct bctx *b, const char *key, struct stage_st *st)
{
	if (b->o->no_cache)
		return false;
	cleanup_free char *path = husk_strdup_printf("%s/%s.json", b->cache_dir, key);
	json_t *j = json_load_file(path, 0, NULL);
	json_t *layers = json_object_get(j, "layers");
	json_t *config = json_object_get(j, "config");
	bool ok = json_is_array(layers) && json_is_object(config);
	size_t i;
	json_t *l;
	json_array_foreach (layers, i, l) {
		cleanup_free char *blob =
			husk_store_blob_path(b->s, json_string_value(json_object_get(l, "digest")));
		ok = ok && blob && access(blob, F_OK) == 0;
	}
	if (ok) {
		json_decref(st->config);
		json_decref(st->layers);
		st->config = json_incref(config);
		st->layers = json_incref(layers);
	}
	json_decref(j);
	return ok;
}

static void cache_put(struct bctx *b, const char *key, struct stage_st *st)
{
	cleanup_free char *path = husk_strdup_printf("%s/%s.json", b->cache_dir, key);
	json_t *j = json_pack("{s:O,s:O}", "config", st->config, "layers", st->layers);
	cleanup_free char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text)
		husk_write_file_atomic(path, text, strlen(text), 0600, NULL);
}

/* --- states --- */

static void history_add(struct stage_st *st, const char *created_by, bool empty)
{
	char created[64];
	now_rfc3339(created, sizeof(created));
	json_t *h = json_object_get(st->config, "history");
	if (!json_is_array(h)) {
		h = json_array();
		json_object_set_new(st->config, "history", h);
	}
	json_t *e = json_pack("{s:s,s:s}", "created", created, "created_by", created_by);
	if (empty)
		json_object_set_new(e, "empty_layer", json_true());
	json_array_append_new(h, e);
	json_object_set_new(st->config, "created", json_string(created));
}

static json_t *cfg(struct stage_st *st)
{
	json_t *c = json_object_get(st->config, "config");
	if (!json_is_object(c)) {
		c = json_object();
		json_object_set_new(st->config, "config", c);
	}
	return c;
}

static json_t *scratch_config(void)
{
	return json_pack("{s:s,s:s,s:{},s:{s:s,s:[]},s:[]}", "architecture", "amd64", "os", "linux",
			 "config", "rootfs", "type", "layers", "diff_ids", "history");
}

/* --- mounts of our own: an overlay of a state --- */

static int mount_state(struct bctx *b, struct stage_st *st, const char *dir, bool ro,
		       char **ret_merged, husk_error **err)
{
	struct husk_image *img = NULL;
	if (json_array_size(st->layers) &&
	    husk_store_image_of(b->s, "build", st->config, st->layers, &img, err) < 0)
		return -1;
	const char *root = b->e->root;
	cleanup_free char *upper = husk_strdup_printf("%s/upper", dir);
	cleanup_free char *work = husk_strdup_printf("%s/work", dir);
	cleanup_free char *merged = husk_strdup_printf("%s/merged", dir);
	cleanup_free char *empty = husk_strdup_printf("%s/empty", b->tmp);
	const char *rel = dir + strlen(root) + 1; /* tmp/build-X/sN */
	int r = 0;
	if (mkdir(dir, 0700) < 0 || mkdir(merged, 0755) < 0 || (!ro && mkdir(upper, 0755) < 0) ||
	    (!ro && mkdir(work, 0700) < 0) || (mkdir(empty, 0755) < 0 && errno != EEXIST)) {
		husk_image_free(img);
		return husk_fail(err, errno, "mkdir \"%s\"", dir);
	}
	size_t cap = 64 + strlen(rel) * 2 + strlen(b->tmp);
	for (size_t i = 0; img && i < img->n_layers; i++)
		cap += strlen(img->links[i]) + 1;
	cleanup_free char *opts = calloc(1, cap);
	size_t len = (size_t)snprintf(opts, cap, "lowerdir=");
	if (!img || img->n_layers == 0)
		len += (size_t)snprintf(opts + len, cap - len, "../%s/empty",
					b->tmp + strlen(root) + 1);
	size_t n_lower = 0;
	for (size_t i = img ? img->n_layers : 0; i-- > 0;)
		if (!husk_overlay_layer_again(img, i))
			len += (size_t)snprintf(opts + len, cap - len, "%s%s", n_lower++ ? ":" : "",
						img->links[i]);
	if (ro && img && n_lower == 1)
		len += (size_t)snprintf(opts + len, cap - len, ":../%s/empty",
					b->tmp + strlen(root) + 1);
	if (!ro)
		snprintf(opts + len, cap - len, ",upperdir=../%s/upper,workdir=../%s/work", rel,
			 rel);
	/* the merged root takes the upper dir's mode and owner */
	if (!ro && img) {
		struct stat s;
		if (stat(img->layers[img->n_layers - 1], &s) == 0) {
			if (chown(upper, s.st_uid, s.st_gid) < 0 ||
			    chmod(upper, s.st_mode & 07777) < 0)
				r = husk_fail(err, errno, "chmod \"%s\"", upper);
		}
	}
	husk_image_free(img);
	if (r < 0)
		return -1;
	cleanup_free char *ldir = husk_strdup_printf("%s/l", root);
	cleanup_close int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || chdir(ldir) < 0)
		return husk_fail(err, errno, "chdir \"%s\"", ldir);
	r = mount("overlay", merged, "overlay", ro ? MS_RDONLY : 0, opts);
	int e = errno;
	if (fchdir(cwd) < 0)
		e = errno, r = -1;
	if (r < 0)
		return husk_fail(err, e, "mount an overlay on \"%s\"", merged);
	*ret_merged = steal_ptr(merged);
	return 0;
}

static bool dir_empty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return true;
	struct dirent *de;
	bool empty = true;
	while (empty && (de = readdir(d)))
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* the upper dir as the state's next layer (none when it is empty) */
static int add_layer(struct bctx *b, struct stage_st *st, const char *upper, const char *created_by,
		     husk_error **err)
{
	for (size_t i = 0; mount_points[i]; i++) {
		cleanup_free char *p = husk_strdup_printf("%s/%s", upper, mount_points[i]);
		struct stat s;
		if (lstat(p, &s) == 0 && S_ISREG(s.st_mode) && s.st_size == 0)
			unlink(p);
	}
	if (dir_empty(upper)) {
		history_add(st, created_by, true);
		return 0;
	}
	struct husk_layer_info li = {0};
	if (husk_store_layer_from_upper(b->s, upper, NULL, &li, err) < 0)
		return -1;
	int r = husk_store_adopt_layer(b->s, li.diff_id, upper, err);
	if (r == 0) {
		json_array_append_new(st->layers,
				      json_pack("{s:s,s:s,s:I}", "mediaType", li.media_type,
						"digest", li.digest, "size", (json_int_t)li.size));
		json_t *rootfs = json_object_get(st->config, "rootfs");
		if (!json_is_object(rootfs)) {
			rootfs = json_pack("{s:s,s:[]}", "type", "layers", "diff_ids");
			json_object_set_new(st->config, "rootfs", rootfs);
		}
		json_array_append_new(json_object_get(rootfs, "diff_ids"), json_string(li.diff_id));
		history_add(st, created_by, false);
	}
	husk_layer_info_release(&li);
	return r;
}

/* --- RUN: a container of the engine --- */

static int read_output(struct bctx *b, int sock, int *ret_code)
{
	cleanup_free char *buf = malloc(HUSK_ATT_MAX);
	if (!buf)
		abort();
	for (;;) {
		ssize_t n = recv(sock, buf, HUSK_ATT_MAX, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if ((buf[0] == HUSK_ATT_STDOUT || buf[0] == HUSK_ATT_STDERR) && b->cb) {
			struct husk_build_event ev = {
				.kind = HUSK_BUILD_OUTPUT, .data = buf + 1, .len = (size_t)n - 1};
			b->cb(b->ud, &ev);
		} else if (buf[0] == HUSK_ATT_EXIT && n >= 5) {
			int32_t c;
			memcpy(&c, buf + 1, sizeof(c));
			*ret_code = c;
			return 0;
		}
	}
}

/* The empty files the engine bound /etc/hosts, /etc/hostname and
 * /etc/resolv.conf on are not the step's, nor is the /etc copied up to
 * hold them when it is left empty, not opaque, with the image's mode and
 * owner (etc: the image's /etc; NULL: it had none): else every RUN
 * would make a layer, and two identical ones. */
static void drop_mount_points(const char *upper, const struct stat *etc)
{
	bool dropped = false;
	for (size_t i = 0; mount_points[i]; i++) {
		cleanup_free char *p = husk_strdup_printf("%s/%s", upper, mount_points[i]);
		struct stat s;
		if (lstat(p, &s) == 0 && S_ISREG(s.st_mode) && s.st_size == 0 && unlink(p) == 0)
			dropped = true;
	}
	cleanup_free char *dir = husk_strdup_printf("%s/etc", upper);
	struct stat s;
	char x;
	if (!dropped || !etc || lstat(dir, &s) < 0 || !S_ISDIR(s.st_mode) ||
	    (s.st_mode & 07777) != (etc->st_mode & 07777) || s.st_uid != etc->st_uid ||
	    s.st_gid != etc->st_gid || lgetxattr(dir, "trusted.overlay.opaque", &x, 1) >= 0)
		return;
	rmdir(dir); /* fails, as it should, when the step left files there */
}

/* --- what a step's mounts leave in its upper dir --- */

/* A RUN --mount target that the image lacks is made in the step's root
 * for the mount (the engine makes mount points, and the dirs missing
 * above them).  BuildKit removes these "mount stubs" after the step when
 * they are still empty (executor.MountStubsCleaner, recursive), so that
 * a mount leaves no trace in the layer; so does husk, and also the dirs
 * above them that overlay copied up only to hold them.  (buildah 1.28
 * leaves them: its issue 4242, fixed in 2025.) */
struct stub {
	char *path;	/* relative to the root, symlinks on the way resolved in it */
	bool made;	/* made for the mount; else a dir above one, there before */
	struct stat st; /* !made: its attributes before the step */
};

struct stubs {
	struct stub *v;
	size_t n;
};

static char *join_words(char **w, size_t n, const char *sep);

static void stub_add(struct stubs *s, char *path, bool made, const struct stat *st)
{
	s->v = realloc(s->v, (s->n + 1) * sizeof(*s->v));
	if (!s->v)
		abort();
	s->v[s->n++] = (struct stub){.path = path, .made = made, .st = st ? *st : (struct stat){0}};
}

static void stubs_release(struct stubs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].path);
	free(s->v);
	*s = (struct stubs){0};
}

/* In the merged root before the step starts: target's missing part, and
 * the dirs above it */
static void find_stubs(int rootfd, const char *rootfs_real, const char *target, struct stubs *s)
{
	cleanup_free char *c = husk_copy_clean(target);
	if (!c || !*c)
		return;
	char **comps = NULL;
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(c, "/", &save); t; t = strtok_r(NULL, "/", &save))
		husk_strv_push(&comps, &n, strdup(t));
	/* the longest part that is there */
	size_t k = n;
	cleanup_close int fd = -1;
	for (; k > 0; k--) {
		cleanup_free char *pre = join_words(comps, k, "/");
		fd = husk_open_in_root(rootfd, pre, O_PATH, NULL);
		if (fd >= 0 || errno != ENOENT)
			break;
	}
	cleanup_free char *canon = NULL;
	if (k == 0) {
		canon = strdup("");
	} else if (fd >= 0 && k < n) {
		char lp[64], buf[PATH_MAX];
		snprintf(lp, sizeof(lp), "/proc/self/fd/%d", fd);
		ssize_t l = readlink(lp, buf, sizeof(buf) - 1);
		size_t rl = strlen(rootfs_real);
		if (l > 0) {
			buf[l] = '\0';
			if (strncmp(buf, rootfs_real, rl) == 0 && (buf[rl] == '/' || !buf[rl]))
				canon = strdup(buf + rl + (buf[rl] == '/'));
		}
	}
	if (canon) {
		cleanup_free char *p = strdup(canon);
		while (*p) {
			struct stat st;
			if (fstatat(rootfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISDIR(st.st_mode))
				stub_add(s, strdup(p), false, &st);
			char *sl = strrchr(p, '/');
			*(sl ? sl : p) = '\0';
		}
		cleanup_free char *cur = strdup(canon);
		for (size_t i = k; i < n; i++) {
			char *next = husk_strdup_printf("%s%s%s", cur, *cur ? "/" : "", comps[i]);
			stub_add(s, strdup(next), true, NULL);
			free(cur);
			cur = next;
		}
	}
	husk_strv_free(comps, n);
}

static size_t depth(const char *p)
{
	size_t d = 0;
	for (; *p; p++)
		d += *p == '/';
	return d;
}

static int by_depth(const void *a, const void *b)
{
	size_t x = depth(((const struct stub *)a)->path), y = depth(((const struct stub *)b)->path);
	return x < y ? 1 : x > y ? -1 : 0;
}

/* After the step, in its upper dir: the stubs still empty, then the
 * dirs above them left empty, as they were, not opaque; deepest first */
static void drop_stubs(const char *upper, struct stubs *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), by_depth);
	cleanup_close int ufd = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; ufd >= 0 && i < s->n; i++) {
		const struct stub *x = &s->v[i];
		struct stat st;
		char o;
		if (fstatat(ufd, x->path, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		cleanup_free char *p = husk_strdup_printf("%s/%s", upper, x->path);
		if (x->made && S_ISREG(st.st_mode) && st.st_size == 0) {
			unlinkat(ufd, x->path, 0);
		} else if (x->made && S_ISDIR(st.st_mode)) {
			unlinkat(ufd, x->path, AT_REMOVEDIR); /* fails unless empty */
		} else if (!x->made && S_ISDIR(st.st_mode) &&
			   (st.st_mode & 07777) == (x->st.st_mode & 07777) &&
			   st.st_uid == x->st.st_uid && st.st_gid == x->st.st_gid &&
			   lgetxattr(p, "trusted.overlay.opaque", &o, 1) < 0) {
			unlinkat(ufd, x->path, AT_REMOVEDIR);
		}
	}
}

/* A step's container: its extra mounts (the /dev/pipes of a #! script,
 * --mount's), its network, the --mount targets whose stubs go */
struct step_run {
	const struct husk_volume *volumes;
	size_t n_volumes;
	enum husk_netmode network;
	char *const *stub_targets;
	size_t n_stub_targets;
};

static int run_container(struct bctx *b, struct stage_st *st, char **argv, char **env,
			 const struct step_run *sr, const char *created_by, const char *what,
			 husk_error **err)
{
	struct husk_image *img = NULL;
	if (husk_store_image_of(b->s, "build", st->config, st->layers, &img, err) < 0)
		return -1;
	cleanup_free char *name = husk_strdup_printf("husk-build-%s-%d", b->tmp_id, ++b->n_steps);
	struct husk_run_opts ro = {
		.image = "build",
		.image_obj = img,
		.cmd = argv,
		.entrypoint = "",
		.env = env,
		.name = name,
		.network = sr->network,
		.no_healthcheck = true,
		.stop_timeout = -1,
		.throwaway_root = true,
		.volumes = (struct husk_volume *)sr->volumes,
		.n_volumes = sr->n_volumes,
	};
	/* the image's /etc, to tell a copy-up made only for the engine's
	 * mount points from a change of the step's */
	struct stat etc_st;
	bool have_etc = false;
	for (size_t i = img->n_layers; !have_etc && i-- > 0;) {
		cleanup_free char *p = husk_strdup_printf("%s/etc", img->layers[i]);
		have_etc = lstat(p, &etc_st) == 0 && S_ISDIR(etc_st.st_mode);
	}
	char *id = NULL;
	int r = husk_engine_create(b->e, &ro, &id, err);
	husk_image_free(img);
	if (r < 0)
		return -1;
	cleanup_free char *dir = husk_engine_dir(b->e, id);
	cleanup_free char *rootfs = husk_strdup_printf("%s/rootfs", dir);
	cleanup_free char *upper = husk_strdup_printf("%s/upper", dir);
	/* the root is mounted, its mounts not yet made: what they will add */
	struct stubs stubs = {0};
	if (sr->n_stub_targets) {
		cleanup_free char *real = realpath(rootfs, NULL);
		cleanup_close int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		for (size_t i = 0; real && rootfd >= 0 && i < sr->n_stub_targets; i++)
			find_stubs(rootfd, real, sr->stub_targets[i], &stubs);
	}
	int client = -1, code = 0;
	r = husk_engine_start(b->e, id, &client, &code, err);
	if (r == 0 && read_output(b, client, &code) < 0)
		r = husk_fail(err, ECONNRESET, "%s: the container's monitor went away", what);
	closep_(&client);
	if (r == 0 && code != 0)
		r = husk_fail_as(err, 0, "%s: the command returned a non-zero code: %d", what,
				 code);
	if (r == 0)
		r = husk_overlay_unmount(rootfs, err);
	if (r == 0) {
		drop_mount_points(upper, have_etc ? &etc_st : NULL);
		drop_stubs(upper, &stubs);
	}
	stubs_release(&stubs);
	if (r == 0)
		HUSK_FAULT(engine_build_step);
	if (r == 0)
		r = add_layer(b, st, upper, created_by, err);
	if (r == 0)
		HUSK_FAULT(engine_build_commit);
	husk_engine_rm(b->e, id, true, true, NULL);
	free(id);
	return r;
}

/* --- the instructions --- */

struct step {
	struct bctx *b;
	struct stage_st *st;
	const struct husk_df_insn *in;
	char where[512]; /* "Dockerfile:3: RUN make" for messages */
};

static int fail_step(struct step *s, husk_error **err)
{
	return husk_error_wrap(err, "%s", s->where);
}

/* s (of size cap) with t appended */
static void append(char *s, size_t cap, const char *t)
{
	size_t l = strlen(s);
	snprintf(s + l, cap - l, "%s", t);
}

static char *join_words(char **w, size_t n, const char *sep)
{
	size_t cap = 1;
	for (size_t i = 0; i < n; i++)
		cap += strlen(w[i]) + strlen(sep);
	char *s = calloc(1, cap);
	if (!s)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (i)
			append(s, cap, sep);
		append(s, cap, w[i]);
	}
	return s;
}

static json_t *shell_of(struct stage_st *st)
{
	json_t *sh = json_object_get(cfg(st), "Shell");
	if (json_is_array(sh) && json_array_size(sh))
		return json_deep_copy(sh);
	return json_pack("[s,s]", "/bin/sh", "-c");
}

/* CMD, ENTRYPOINT, RUN: the exec form's array, or the shell's with the
 * line */
static json_t *command_of(struct stage_st *st, const struct husk_df_insn *in, const char *line)
{
	if (in->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < in->n_args; i++)
			json_array_append_new(a, json_string(in->args[i]));
		return a;
	}
	json_t *a = shell_of(st);
	json_array_append_new(a, json_string(line));
	return a;
}

/* RUN's one heredoc when the line is only "<<EOF" (or <<-EOF, <<"EOF"),
 * else NULL */
static const struct husk_df_heredoc *heredoc_alone(const struct husk_df_insn *in)
{
	if (in->n_heredocs != 1)
		return NULL;
	const struct husk_df_heredoc *h = &in->heredocs[0];
	const char *line = in->args[0];
	const char *t = line + strspn(line, " \t");
	size_t tl = strlen(t);
	while (tl > 0 && isspace((unsigned char)t[tl - 1]))
		tl--;
	const char *dash = h->strip_tabs ? "-" : "";
	cleanup_free char *f1 = husk_strdup_printf("<<%s%s", dash, h->name);
	cleanup_free char *f2 = husk_strdup_printf("<<%s\"%s\"", dash, h->name);
	cleanup_free char *f3 = husk_strdup_printf("<<%s'%s'", dash, h->name);
	const char *forms[] = {f1, f2, f3};
	for (size_t i = 0; i < 3; i++)
		if (tl == strlen(forms[i]) && strncmp(t, forms[i], tl) == 0)
			return h;
	return NULL;
}

/* RUN <<EOF whose body starts with "#!": as BuildKit, the body is a file
 * of mode 0755 at /dev/pipes/EOF (a read-only mount, not in the layer),
 * run as the command, so its interpreter is the #! line's */
static const struct husk_df_heredoc *shebang_script(const struct husk_df_insn *in)
{
	const struct husk_df_heredoc *h = in->json ? NULL : heredoc_alone(in);
	return h && strncmp(h->body, "#!", 2) == 0 ? h : NULL;
}

/* RUN's shell line with its heredocs: a line that is only "<<EOF" runs
 * the body as the script; otherwise the shell gets the line and the
 * bodies, and does the here-documents itself */
static char *run_line(const struct husk_df_insn *in)
{
	const char *line = in->args[0];
	if (in->n_heredocs == 0)
		return strdup(line);
	const struct husk_df_heredoc *h = heredoc_alone(in);
	if (h)
		return strdup(h->body);
	size_t cap = strlen(line) + 2;
	for (size_t i = 0; i < in->n_heredocs; i++)
		cap += strlen(in->heredocs[i].body) + strlen(in->heredocs[i].name) + 2;
	char *s = calloc(1, cap);
	if (!s)
		abort();
	append(s, cap, line);
	append(s, cap, "\n");
	for (size_t i = 0; i < in->n_heredocs; i++) {
		append(s, cap, in->heredocs[i].body);
		append(s, cap, in->heredocs[i].name);
		append(s, cap, "\n");
	}
	return s;
}

static char **strv_of(json_t *a)
{
	size_t n = json_array_size(a);
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		abort();
	for (size_t i = 0; i < n; i++)
		v[i] = strdup(json_string_value(json_array_get(a, i)) ?: "");
	return v;
}

static void strv_free0(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* --- RUN --mount --- */

static int from_root(struct bctx *b, const char *from, char **ret_dir, husk_error **err);

/* One --mount of a RUN step: checked, and for a bind (and a cache filled
 * from a stage) its source found and hashed before the step's key; set
 * up only when the step runs */
struct rmount {
	struct husk_rmount m; /* its target absolute and clean, WORKDIR applied */
	int root;	      /* bind, cache from=: the root the source is in; -1 */
	char *from_dir;	      /* from=: the stage's or image's root (from_root) */
	char *path;	      /* the source, relative to root */
	bool from_ctx;
	int cache; /* type=cache: its dir in run_mounts.caches; -1 */
};

struct run_mounts {
	struct rmount *v;
	size_t n;
	char *dir;  /* <tmp>/mountsN: what the mounts are made of */
	char **mps; /* mounted by us, unmounted after the step */
	size_t n_mps;
	struct husk_cache_mount *caches; /* held (locked) for the step */
	size_t n_caches;
	struct husk_volume *vols; /* for the engine */
	size_t n_vols;
};

static void run_mounts_release(struct run_mounts *rm)
{
	for (size_t i = rm->n_mps; i-- > 0;)
		umount2(rm->mps[i], MNT_DETACH);
	husk_strv_free(rm->mps, rm->n_mps);
	for (size_t i = 0; i < rm->n_caches; i++)
		husk_cache_mount_release(&rm->caches[i]);
	free(rm->caches);
	for (size_t i = 0; i < rm->n; i++) {
		struct rmount *m = &rm->v[i];
		husk_rmount_release(&m->m);
		closep_(&m->root);
		if (m->from_dir)
			umount2(m->from_dir, MNT_DETACH);
		free(m->from_dir);
		free(m->path);
	}
	free(rm->v);
	for (size_t i = 0; i < rm->n_vols; i++) {
		free(rm->vols[i].src);
		free(rm->vols[i].dst);
		free(rm->vols[i].opts);
	}
	free(rm->vols);
	if (rm->dir)
		rm_rf(rm->dir);
	free(rm->dir);
	*rm = (struct run_mounts){0};
}

/* A bind's source (a cache's from=): in the context, or from= a stage's
 * or an image's root as COPY --from, found as COPY finds its sources
 * (inside the root, never through a symlink out of it) */
static int mount_source(struct bctx *b, struct rmount *m, husk_error **err)
{
	if (m->m.from) {
		if (from_root(b, m->m.from, &m->from_dir, err) < 0)
			return -1;
		m->root = open(m->from_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else {
		if (b->ctx_fd < 0)
			return husk_fail_as(err, ENOENT, "there is no build context to bind");
		m->root = fcntl(b->ctx_fd, F_DUPFD_CLOEXEC, 3);
		m->from_ctx = true;
		/* a context from stdin is new each time: nothing to keep */
		if (!b->hash_cache && b->o->context)
			b->hash_cache = husk_hash_cache_open(b->cache_dir, b->ctx_dir);
	}
	if (m->root < 0)
		return husk_fail(err, errno, "open the mount's source");
	struct husk_copy_opts o = {.chmod = -1, .ignore = m->from_ctx ? b->ignore : NULL};
	const char *src = m->m.source ? m->m.source : ".";
	char **paths = NULL;
	size_t n = 0;
	if (husk_copy_sources(m->root, &src, 1, &o, &paths, &n, err) < 0)
		return -1;
	if (n != 1) {
		husk_strv_free(paths, n);
		return husk_fail_as(err, EINVAL, "source=%s: a path, not a pattern", src);
	}
	m->path = steal_ptr(paths[0]);
	husk_strv_free(paths, n);
	return 0;
}

/* a --mount field's value: the stage's ARG and ENV in it */
static int expand_value(void *ud, const char *value, char **ret, husk_error **err)
{
	struct lookup_ud *l = ud;
	return husk_df_expand(value, l->b->df->escape, lookup, l, ret, err);
}

/* The step's --mount flags, expanded and checked; *ret_key what the cache
 * key takes of them: each one's spec in a canonical form, and a bind's
 * content hashed as COPY's sources are (a change in the bound files
 * reruns the step).  A secret's content is never in it, only its id. */
static int run_mounts_prepare(struct step *s, struct run_mounts *rm, char **ret_key,
			      husk_error **err)
{
	struct bctx *b = s->b;
	struct stage_st *st = s->st;
	cleanup_free char *key = strdup("");
	for (size_t i = 0; i < s->in->n_flags; i++) {
		const char *f = s->in->flags[i];
		if (strncmp(f, "--mount=", 8) != 0)
			continue;
		const char *spec = f + 8;
		rm->v = realloc(rm->v, (rm->n + 1) * sizeof(*rm->v));
		if (!rm->v)
			abort();
		struct rmount *m = &rm->v[rm->n++];
		*m = (struct rmount){.root = -1, .cache = -1};
		struct lookup_ud l = {b, st};
		if (husk_rmount_parse(spec, expand_value, &l, &m->m, err) < 0)
			return husk_error_wrap(err, "--mount=%s", spec);
		/* a relative target is in WORKDIR, as BuildKit's */
		const char *wd = json_string_value(json_object_get(cfg(st), "WorkingDir"));
		cleanup_free char *abs =
			m->m.target[0] == '/'
				? strdup(m->m.target)
				: husk_strdup_printf("%s/%s", wd ? wd : "", m->m.target);
		cleanup_free char *c = husk_copy_clean(abs);
		if (!c || !*c)
			return husk_fail_as(err, EINVAL, "--mount=%s: invalid mount target \"%s\"",
					    spec, m->m.target);
		free(m->m.target);
		m->m.target = husk_strdup_printf("/%s", c);
		char hash[65] = "";
		if ((m->m.type == HUSK_RMOUNT_BIND ||
		     (m->m.type == HUSK_RMOUNT_CACHE && m->m.from)) &&
		    mount_source(b, m, err) < 0)
			return husk_error_wrap(err, "--mount=%s", spec);
		if (m->m.type == HUSK_RMOUNT_BIND) {
			struct husk_copy_opts o = {.chmod = -1,
						   .ignore = m->from_ctx ? b->ignore : NULL,
						   .hash_cache =
							   m->from_ctx ? b->hash_cache : NULL};
			if (husk_copy_hash(m->root, &m->path, 1, &o, hash, err) < 0)
				return husk_error_wrap(err, "--mount=%s", spec);
		}
		cleanup_free char *canon = husk_rmount_canonical(&m->m);
		char *k = husk_strdup_printf("%s%s%s%s\n", key, canon, *hash ? " content=" : "",
					     hash);
		free(key);
		key = k;
	}
	*ret_key = steal_ptr(key);
	return 0;
}

/* fd (O_PATH) bound at mp, made as a dir or an empty file */
static int bind_fd(struct run_mounts *rm, int fd, bool dir, const char *mp, husk_error **err)
{
	int made = dir ? mkdir(mp, 0755)
		       : open(mp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (made < 0)
		return husk_fail(err, errno, "make \"%s\"", mp);
	if (!dir)
		close(made);
	char src[64];
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (mount(src, mp, NULL, MS_BIND | MS_REC, NULL) < 0)
		return husk_fail(err, errno, "bind the source at \"%s\"", mp);
	husk_strv_push(&rm->mps, &rm->n_mps, strdup(mp));
	return 0;
}

/* the source copied into the new dir dst (COPY's rules: a dir's
 * contents, a file by its name, owned by root); *ret_src what to mount */
static int copy_source(struct rmount *m, const char *dst, const struct husk_copy_opts *o, bool dir,
		       char **ret_src, husk_error **err)
{
	if (mkdir(dst, 0755) < 0)
		return husk_fail(err, errno, "mkdir \"%s\"", dst);
	cleanup_close int dfd = open(dst, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return husk_fail(err, errno, "open \"%s\"", dst);
	if (husk_copy(m->root, &m->path, 1, dfd, "/", o, err) < 0)
		return -1;
	const char *bn = strrchr(m->path, '/');
	*ret_src = dir ? strdup(dst) : husk_strdup_printf("%s/%s", dst, bn ? bn + 1 : m->path);
	return 0;
}

/* type=bind: the source bound read-only; rw, an overlay on it whose
 * writes go with the step (a copy where overlay refuses the source's
 * filesystem).  A dir of the context with a .dockerignore is a copy
 * without what it excludes, as Docker's context has none of it. */
static int setup_bind(struct bctx *b, struct run_mounts *rm, struct rmount *m, const char *base,
		      char **ret_src, husk_error **err)
{
	cleanup_close int fd = husk_open_in_root(m->root, m->path, O_PATH, err);
	struct stat st;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		return husk_fail(err, errno, "stat \"%s\"", m->path);
	bool dir = S_ISDIR(st.st_mode);
	struct husk_copy_opts o = {.chmod = -1, .ignore = m->from_ctx ? b->ignore : NULL};
	if ((dir && o.ignore) || (!dir && !m->m.ro))
		return copy_source(m, base, &o, dir, ret_src, err);
	if (bind_fd(rm, fd, dir, base, err) < 0)
		return -1;
	if (m->m.ro) {
		*ret_src = strdup(base);
		return 0;
	}
	cleanup_free char *upper = husk_strdup_printf("%s.upper", base);
	cleanup_free char *work = husk_strdup_printf("%s.work", base);
	cleanup_free char *merged = husk_strdup_printf("%s.rw", base);
	cleanup_free char *opts =
		husk_strdup_printf("lowerdir=%s,upperdir=%s,workdir=%s", base, upper, work);
	if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0 || mkdir(merged, 0755) < 0)
		return husk_fail(err, errno, "mkdir \"%s\"", merged);
	if (mount("overlay", merged, "overlay", 0, opts) == 0) {
		husk_strv_push(&rm->mps, &rm->n_mps, strdup(merged));
		*ret_src = steal_ptr(merged);
		return 0;
	}
	cleanup_free char *copy = husk_strdup_printf("%s.copy", base);
	return copy_source(m, copy, &o, dir, ret_src, err);
}

/* a cache from= a stage: its source's files in the new cache dir */
static int seed_cache(void *ud, int dirfd, husk_error **err)
{
	struct rmount *m = ud;
	struct husk_copy_opts o = {.chmod = -1};
	return husk_copy(m->root, &m->path, 1, dirfd, "/", &o, err);
}

/* type=cache: its dir (cachemount.h), or with source= (and no from=) a
 * dir in it, resolved inside it */
static int setup_cache(struct bctx *b, struct run_mounts *rm, struct rmount *m, const char *base,
		       char **ret_src, husk_error **err)
{
	/* the same id twice in a step: one dir, locked once (a second flock
	 * of our own would wait for the first) */
	struct husk_cache_mount c = {.lock = -1};
	for (size_t i = 0; i < (size_t)(m - rm->v) && !c.path; i++)
		if (rm->v[i].m.type == HUSK_RMOUNT_CACHE && rm->v[i].cache >= 0 &&
		    strcmp(rm->v[i].m.id, m->m.id) == 0)
			c = rm->caches[rm->v[i].cache];
	if (!c.path) {
		if (husk_cache_mount_open(b->e->root, &m->m, base, m->m.from ? seed_cache : NULL, m,
					  &c, err) < 0)
			return -1;
		rm->caches = realloc(rm->caches, (rm->n_caches + 1) * sizeof(*rm->caches));
		if (!rm->caches)
			abort();
		m->cache = (int)rm->n_caches;
		rm->caches[rm->n_caches++] = c;
	}
	if (m->m.from || !m->m.source) {
		*ret_src = strdup(c.path);
		return 0;
	}
	cleanup_close int cfd = open(c.path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0)
		return husk_fail(err, errno, "open \"%s\"", c.path);
	struct husk_copy_opts o = {.chmod = -1,
				   .chown = true,
				   .uid = m->m.uid >= 0 ? (uid_t)m->m.uid : 0,
				   .gid = m->m.gid >= 0 ? (gid_t)m->m.gid : 0};
	cleanup_close int fd = husk_copy_mkdir_p(cfd, m->m.source, &o, err);
	cleanup_free char *mp = husk_strdup_printf("%s.sub", base);
	if (fd < 0 || bind_fd(rm, fd, true, mp, err) < 0)
		return -1;
	*ret_src = steal_ptr(mp);
	return 0;
}

/* type=secret: the --secret's content in a file of the mount's mode and
 * owner (0400, root's), bound read-only; none given: skipped, or an
 * error when required.  The file is on a tmpfs of the step's, mounted in
 * the builder's own mount namespace: never on a disk, and gone with the
 * builder however it ends. */
static int setup_secret(struct bctx *b, struct run_mounts *rm, struct rmount *m, const char *base,
			char **ret_src, husk_error **err)
{
	const struct secret *sec = NULL;
	for (size_t i = 0; i < b->n_secrets && !sec; i++)
		if (strcmp(b->secrets[i].id, m->m.id) == 0)
			sec = &b->secrets[i];
	*ret_src = NULL;
	if (!sec)
		return m->m.required ? husk_fail_as(err, ENOENT,
						    "secret \"%s\" is required: give it with "
						    "--secret id=%s,src=FILE",
						    m->m.id, m->m.id)
				     : 0;
	cleanup_free char *dir = husk_strdup_printf("%s/secrets", rm->dir);
	if (access(dir, F_OK) < 0) {
		if (mkdir(dir, 0700) < 0)
			return husk_fail(err, errno, "mkdir \"%s\"", dir);
		if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
			return husk_fail(err, errno, "mount a tmpfs on \"%s\"", dir);
		husk_strv_push(&rm->mps, &rm->n_mps, strdup(dir));
	}
	cleanup_free char *file = husk_strdup_printf("%s/%s", dir, strrchr(base, '/') + 1);
	cleanup_close int fd =
		open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || husk_write_all(fd, sec->data, sec->len) < 0 ||
	    fchown(fd, m->m.uid >= 0 ? (uid_t)m->m.uid : 0, m->m.gid >= 0 ? (gid_t)m->m.gid : 0) <
		    0 ||
	    fchmod(fd, m->m.mode >= 0 ? (mode_t)m->m.mode : 0400) < 0)
		return husk_fail(err, errno, "secret \"%s\"", m->m.id);
	*ret_src = steal_ptr(file);
	return 0;
}

/* The mounts made, as the engine's volumes */
static int run_mounts_setup(struct bctx *b, struct run_mounts *rm, husk_error **err)
{
	if (rm->n == 0)
		return 0;
	rm->dir = husk_strdup_printf("%s/mounts%d", b->tmp, ++b->n_steps);
	if (mkdir(rm->dir, 0700) < 0)
		return husk_fail(err, errno, "mkdir \"%s\"", rm->dir);
	rm->vols = calloc(rm->n, sizeof(*rm->vols));
	if (!rm->vols)
		abort();
	for (size_t i = 0; i < rm->n; i++) {
		struct rmount *m = &rm->v[i];
		cleanup_free char *base = husk_strdup_printf("%s/%zu", rm->dir, i);
		char *src = NULL;
		int r = 0;
		if (m->m.type == HUSK_RMOUNT_BIND)
			r = setup_bind(b, rm, m, base, &src, err);
		else if (m->m.type == HUSK_RMOUNT_CACHE)
			r = setup_cache(b, rm, m, base, &src, err);
		else if (m->m.type == HUSK_RMOUNT_SECRET)
			r = setup_secret(b, rm, m, base, &src, err);
		if (r < 0)
			return husk_error_wrap(err, "--mount=type=%s,target=%s",
					       husk_rmount_type_name(m->m.type), m->m.target);
		if (m->m.type == HUSK_RMOUNT_SECRET && !src)
			continue;
		/* a tmpfs as BuildKit's: programs run from it */
		bool tmpfs = m->m.type == HUSK_RMOUNT_TMPFS;
		rm->vols[rm->n_vols++] = (struct husk_volume){
			.type = tmpfs ? HUSK_MOUNT_TMPFS : HUSK_MOUNT_BIND,
			.src = src,
			.dst = strdup(m->m.target),
			.ro = m->m.ro,
			.opts = !tmpfs	    ? NULL
				: m->m.size ? husk_strdup_printf("exec,size=%lld", m->m.size)
					    : strdup("exec"),
		};
	}
	return 0;
}

static int do_run(struct step *s, husk_error **err)
{
	struct stage_st *st = s->st;
	struct bctx *b = s->b;
	const struct husk_df_heredoc *script = shebang_script(s->in);
	cleanup_free char *line = s->in->json || script ? NULL : run_line(s->in);
	cleanup_free char *script_path =
		script ? husk_strdup_printf("/dev/pipes/%s", script->name) : NULL;
	json_t *cmd = script ? json_pack("[s]", script_path) : command_of(st, s->in, line);
	/* the build args in scope are the command's environment, and part
	 * of its key and history, as Docker's "|1 K=V /bin/sh -c ..." */
	char **env = NULL, **argsv = NULL;
	size_t n_env = 0, n_argsv = 0;
	for (size_t i = 0; i < st->n_args; i++) {
		if (!st->args[i].value || env_get(st->config, st->args[i].name))
			continue;
		char *kv = husk_strdup_printf("%s=%s", st->args[i].name, st->args[i].value);
		husk_strv_push(&argsv, &n_argsv, strdup(kv));
		husk_strv_push(&env, &n_env, kv);
	}
	for (size_t i = 0; proxy_args[i]; i++) {
		bool given = false;
		const char *v = build_arg(b, proxy_args[i], &given);
		if (given && v && !var_has(st->args, st->n_args, proxy_args[i]))
			husk_strv_push(&env, &n_env, husk_strdup_printf("%s=%s", proxy_args[i], v));
	}
	husk_strv_push(&env, &n_env, NULL);
	n_env--;
	cleanup_free char *cmdline = NULL;
	{
		char **cv = strv_of(cmd);
		cmdline = join_words(cv, json_array_size(cmd), " ");
		strv_free0(cv);
	}
	cleanup_free char *argstr = n_argsv ? join_words(argsv, n_argsv, " ") : NULL;
	cleanup_free char *created_by =
		n_argsv ? husk_strdup_printf("|%zu %s %s", n_argsv, argstr, cmdline)
			: strdup(cmdline);
	cleanup_free char *jcmd = json_dumps(cmd, JSON_COMPACT);
	cleanup_free char *desc = husk_strdup_printf("RUN %s %s", created_by, jcmd);
	/* --mount and --network: in the key when given, so that a RUN
	 * without them keeps the key it had */
	struct run_mounts rm = {0};
	cleanup_free char *mkey = NULL;
	int r = run_mounts_prepare(s, &rm, &mkey, err);
	const char *netflag = husk_df_flag(s->in, "network");
	struct step_run sr = {.network = b->o->network};
	if (netflag && strcmp(netflag, "none") == 0)
		sr.network = HUSK_NETMODE_NONE;
	else if (netflag && strcmp(netflag, "host") == 0)
		sr.network = HUSK_NETMODE_HOST;
	cleanup_free char *extra = r == 0 && (*mkey || netflag)
					   ? husk_strdup_printf("%s\n--mount\n%s--network=%s",
								script ? script->body : "", mkey,
								netflag ? netflag : "")
					   : NULL;
	char key[65];
	key_next(st->key, desc, extra ? extra : script ? script->body : NULL, key);
	if (r < 0) {
		/* nothing more */
	} else if (cache_get(b, key, st)) {
		emit(b, HUSK_BUILD_CACHED, key);
	} else {
		char **argv = strv_of(cmd);
		cleanup_free char *what = husk_strdup_printf("RUN %s", cmdline);
		cleanup_free char *pipes =
			script ? husk_strdup_printf("%s/pipes%d", b->tmp, ++b->n_steps) : NULL;
		if (pipes) {
			cleanup_free char *f = husk_strdup_printf("%s/%s", pipes, script->name);
			if (mkdir(pipes, 0755) < 0)
				r = husk_fail(err, errno, "mkdir \"%s\"", pipes);
			else
				r = husk_write_file(f, script->body, strlen(script->body), 0755,
						    err);
		}
		if (r == 0)
			r = run_mounts_setup(b, &rm, err);
		/* the script's /dev/pipes, then the --mount's */
		struct husk_volume *vols = calloc(rm.n_vols + 1, sizeof(*vols));
		char **targets = calloc(rm.n_vols + 1, sizeof(char *));
		if (!vols || !targets)
			abort();
		if (pipes)
			vols[sr.n_volumes++] = (struct husk_volume){.type = HUSK_MOUNT_BIND,
								    .src = pipes,
								    .dst = (char *)"/dev/pipes",
								    .ro = true};
		for (size_t i = 0; i < rm.n_vols; i++) {
			vols[sr.n_volumes++] = rm.vols[i];
			targets[i] = rm.vols[i].dst;
		}
		sr.volumes = vols;
		sr.stub_targets = targets;
		sr.n_stub_targets = rm.n_vols;
		if (r == 0)
			r = run_container(b, st, argv, env, &sr, created_by, what, err);
		free(vols);
		free(targets);
		strv_free0(argv);
		if (r == 0) {
			cache_put(b, key, st);
			emit(b, HUSK_BUILD_DONE, key);
		}
	}
	if (r == 0)
		memcpy(st->key, key, sizeof(key));
	run_mounts_release(&rm);
	json_decref(cmd);
	husk_strv_free(env, n_env);
	husk_strv_free(argsv, n_argsv);
	return r;
}

/* a metadata step: apply changes the config; cached like the others so
 * that a rebuild gives the same image */
typedef int (*meta_fn)(struct step *s, void *ud, husk_error **err);

static int meta_step(struct step *s, const char *desc, meta_fn apply, void *ud, husk_error **err)
{
	char key[65];
	key_next(s->st->key, desc, NULL, key);
	if (cache_get(s->b, key, s->st)) {
		emit(s->b, HUSK_BUILD_CACHED, key);
	} else {
		if (apply(s, ud, err) < 0)
			return -1;
		cleanup_free char *by = husk_strdup_printf("/bin/sh -c #(nop) %s", desc);
		history_add(s->st, by, true);
		cache_put(s->b, key, s->st);
		emit(s->b, HUSK_BUILD_DONE, key);
	}
	memcpy(s->st->key, key, sizeof(key));
	return 0;
}

static int set_json(struct step *s, void *ud, husk_error **err)
{
	(void)err;
	json_t *kv = ud;
	json_object_update(cfg(s->st), kv);
	return 0;
}

/* KEY=VALUE words, or the old "KEY VALUE" form */
static int pairs(struct step *s, json_t *out, husk_error **err)
{
	char **w = NULL;
	size_t n = 0;
	if (words(s->b, s->st, s->in->args[0], &w, &n, err) < 0)
		return -1;
	int r = 0;
	if (n > 0 && !strchr(w[0], '=')) {
		const char *rest = s->in->args[0] + strspn(s->in->args[0], " \t");
		rest += strcspn(rest, " \t");
		rest += strspn(rest, " \t");
		if (!*rest || n < 2) {
			r = husk_fail_as(err, EINVAL, "%s names \"%s\" without a value",
					 husk_df_kind_name(s->in->kind), w[0]);
		} else {
			char *v = NULL;
			r = expand(s->b, s->st, rest, &v, err);
			if (r == 0)
				json_object_set_new(out, w[0], json_string(v));
			free(v);
		}
	} else {
		for (size_t i = 0; i < n && r == 0; i++) {
			char *eq = strchr(w[i], '=');
			if (!eq || eq == w[i]) {
				r = husk_fail_as(err, EINVAL, "\"%s\" is not KEY=VALUE", w[i]);
				break;
			}
			*eq = '\0';
			json_object_set_new(out, w[i], json_string(eq + 1));
		}
	}
	husk_strv_free(w, n);
	return r;
}

static char *desc_of_pairs(const char *kind, json_t *kv)
{
	cleanup_free char *j = json_dumps(kv, JSON_COMPACT | JSON_SORT_KEYS | JSON_PRESERVE_ORDER);
	return husk_strdup_printf("%s %s", kind, j ? j : "");
}

/* CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME,
 * WORKDIR: applied by the image library's function, the one commit -c and
 * import -c use, so that each means the same both ways */
struct insn_ud {
	enum husk_config_insn insn;
	json_t *arg;
};

static int apply_insn(struct step *s, void *ud, husk_error **err)
{
	struct insn_ud *u = ud;
	return husk_image_config_apply(cfg(s->st), u->insn, u->arg, &s->st->cmd_set, err);
}

static int apply_author(struct step *s, void *ud, husk_error **err)
{
	(void)err;
	json_object_set(s->st->config, "author", ud);
	return 0;
}

static int apply_arg(struct step *s, void *ud, husk_error **err)
{
	(void)s;
	(void)ud;
	(void)err;
	return 0;
}

/* Go's durations: 30s, 1m30s, 500ms */
static int parse_duration(const char *v, json_int_t *ret)
{
	double total = 0;
	const char *p = v;
	if (!*p)
		return -1;
	while (*p) {
		char *end;
		double x = strtod(p, &end);
		if (end == p)
			return -1;
		p = end;
		double unit;
		if (strncmp(p, "ns", 2) == 0)
			unit = 1, p += 2;
		else if (strncmp(p, "us", 2) == 0)
			unit = 1e3, p += 2;
		else if (strncmp(p, "ms", 2) == 0)
			unit = 1e6, p += 2;
		else if (*p == 's')
			unit = 1e9, p++;
		else if (*p == 'm')
			unit = 60e9, p++;
		else if (*p == 'h')
			unit = 3600e9, p++;
		else
			return -1;
		total += x * unit;
	}
	*ret = (json_int_t)total;
	return 0;
}

static int healthcheck(struct step *s, json_t **ret, husk_error **err)
{
	const char *a = s->in->args[0];
	size_t n = strcspn(a, " \t");
	const char *rest = a + n + strspn(a + n, " \t");
	json_t *hc = json_object();
	if (n == 4 && strncasecmp(a, "NONE", 4) == 0 && !*rest) {
		json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
		*ret = hc;
		return 0;
	}
	if (!(n == 3 && strncasecmp(a, "CMD", 3) == 0) || !*rest) {
		json_decref(hc);
		return husk_fail_as(err, EINVAL, "HEALTHCHECK takes CMD COMMAND or NONE");
	}
	json_t *arr = json_loads(rest, JSON_DECODE_ANY, NULL);
	if (json_is_array(arr)) {
		json_t *t = json_pack("[s]", "CMD");
		json_array_extend(t, arr);
		json_object_set_new(hc, "Test", t);
	} else {
		json_object_set_new(hc, "Test", json_pack("[s,s]", "CMD-SHELL", rest));
	}
	json_decref(arr);
	static const char *const flags[][2] = {{"interval", "Interval"},
					       {"timeout", "Timeout"},
					       {"start-period", "StartPeriod"},
					       {"start-interval", "StartInterval"}};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		const char *v = husk_df_flag(s->in, flags[i][0]);
		json_int_t d;
		if (!v)
			continue;
		if (parse_duration(v, &d) < 0) {
			json_decref(hc);
			return husk_fail_as(err, EINVAL, "HEALTHCHECK --%s=\"%s\": not a duration",
					    flags[i][0], v);
		}
		json_object_set_new(hc, flags[i][1], json_integer(d));
	}
	const char *rv = husk_df_flag(s->in, "retries");
	if (rv) {
		long x;
		if (husk_parse_long(rv, &x) < 0 || x < 0) {
			json_decref(hc);
			return husk_fail_as(err, EINVAL, "HEALTHCHECK --retries=\"%s\"", rv);
		}
		json_object_set_new(hc, "Retries", json_integer(x));
	}
	*ret = hc;
	return 0;
}

static int do_workdir_mkdir(struct step *s, const char *dir, const char *desc, husk_error **err);

static int do_meta(struct step *s, husk_error **err)
{
	struct stage_st *st = s->st;
	const struct husk_df_insn *in = s->in;
	struct bctx *b = s->b;
	json_t *val = NULL;
	cleanup_free char *desc = NULL;
	int r = 0;
	meta_fn fn = set_json;
	int insn = -1; /* a husk_config_insn, or none (SHELL, HEALTHCHECK...) */
	char **w = NULL;
	size_t n = 0;
	const char *kind = husk_df_kind_name(in->kind);
	switch (in->kind) {
	case HUSK_DF_ENV:
	case HUSK_DF_LABEL:
		val = json_object();
		r = pairs(s, val, err);
		insn = in->kind == HUSK_DF_ENV ? HUSK_CI_ENV : HUSK_CI_LABEL;
		if (r == 0)
			desc = desc_of_pairs(kind, val);
		break;
	case HUSK_DF_CMD:
	case HUSK_DF_ENTRYPOINT:
		val = command_of(st, in, in->n_args ? in->args[0] : "");
		if (!in->json && in->n_args == 0) {
			json_decref(val);
			val = json_array();
		}
		insn = in->kind == HUSK_DF_CMD ? HUSK_CI_CMD : HUSK_CI_ENTRYPOINT;
		break;
	case HUSK_DF_SHELL:
		val = json_pack("{s:o}", "Shell", command_of(st, in, NULL));
		break;
	case HUSK_DF_USER:
	case HUSK_DF_STOPSIGNAL: {
		char *v = NULL;
		r = expand(b, st, in->args[0], &v, err);
		if (r == 0)
			val = json_string(v);
		free(v);
		insn = in->kind == HUSK_DF_USER ? HUSK_CI_USER : HUSK_CI_STOPSIGNAL;
		break;
	}
	case HUSK_DF_EXPOSE:
	case HUSK_DF_VOLUME: {
		if (in->json) {
			for (size_t i = 0; i < in->n_args; i++) {
				char *v = NULL;
				if (expand(b, st, in->args[i], &v, err) < 0) {
					r = -1;
					break;
				}
				husk_strv_push(&w, &n, v);
			}
		} else {
			r = words(b, st, in->args[0], &w, &n, err);
		}
		val = json_array();
		for (size_t i = 0; r == 0 && i < n; i++)
			json_array_append_new(val, json_string(w[i]));
		insn = in->kind == HUSK_DF_EXPOSE ? HUSK_CI_EXPOSE : HUSK_CI_VOLUME;
		break;
	}
	case HUSK_DF_HEALTHCHECK: {
		json_t *hc = NULL;
		r = healthcheck(s, &hc, err);
		if (r == 0)
			val = json_pack("{s:o}", "Healthcheck", hc);
		break;
	}
	case HUSK_DF_ONBUILD:
		val = json_string(in->text + strlen("ONBUILD "));
		insn = HUSK_CI_ONBUILD;
		break;
	case HUSK_DF_MAINTAINER:
		val = json_string(in->args[0]);
		fn = apply_author;
		break;
	case HUSK_DF_WORKDIR: {
		char *v = NULL;
		r = expand(b, st, in->args[0], &v, err);
		if (r == 0) {
			const char *cur = json_string_value(json_object_get(cfg(st), "WorkingDir"));
			cleanup_free char *dir = husk_image_workdir(cur, v);
			cleanup_free char *d = husk_strdup_printf("WORKDIR %s", dir);
			free(v);
			husk_strv_free(w, n);
			return do_workdir_mkdir(s, dir, d, err);
		}
		free(v);
		break;
	}
	default:
		r = husk_fail_as(err, EINVAL, "%s: not a metadata instruction", kind);
	}
	if (r == 0 && !desc) {
		cleanup_free char *j =
			json_dumps(val, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		desc = husk_strdup_printf("%s %s", kind, j ? j : "");
	}
	struct insn_ud u = {.insn = (enum husk_config_insn)insn, .arg = val};
	if (r == 0)
		r = insn >= 0 ? meta_step(s, desc, apply_insn, &u, err)
			      : meta_step(s, desc, fn, val, err);
	json_decref(val);
	husk_strv_free(w, n);
	return r;
}

static int do_arg(struct step *s, husk_error **err)
{
	char **w = NULL;
	size_t n = 0;
	if (words(s->b, s->st, s->in->args[0], &w, &n, err) < 0)
		return -1;
	char **descs = NULL;
	size_t nd = 0;
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(w[i], '=');
		if (eq)
			*eq = '\0';
		bool given = false;
		const char *v = build_arg(s->b, w[i], &given);
		if (!given)
			v = eq ? eq + 1 : NULL;
		if (!given && !eq && var_has(s->b->gargs, s->b->n_gargs, w[i]))
			v = var_get(s->b->gargs, s->b->n_gargs, w[i]);
		var_set(&s->st->args, &s->st->n_args, w[i], v);
		husk_strv_push(&descs, &nd,
			       husk_strdup_printf("%s%s%s", w[i], v ? "=" : "", v ? v : ""));
	}
	cleanup_free char *j = join_words(descs, nd, " ");
	cleanup_free char *desc = husk_strdup_printf("ARG %s", j);
	husk_strv_free(w, n);
	husk_strv_free(descs, nd);
	return meta_step(s, desc, apply_arg, NULL, err);
}

/* --- COPY, ADD, WORKDIR: into an overlay of the state --- */

static int stage_index(struct bctx *b, const char *name)
{
	for (size_t i = 0; i < b->df->n_stages; i++)
		if (b->df->stages[i].name && strcasecmp(b->df->stages[i].name, name) == 0)
			return (int)i;
	long x;
	if (husk_parse_long(name, &x) == 0 && x >= 0 && (size_t)x < b->df->n_stages)
		return (int)x;
	return -1;
}

static int build_stage(struct bctx *b, size_t idx, husk_error **err);
static int base_image(struct bctx *b, const char *ref, struct husk_image **ret, husk_error **err);

/* --from: a stage's or an image's root, mounted read-only */
static int from_root(struct bctx *b, const char *from, char **ret_dir, husk_error **err)
{
	struct stage_st tmp = {0};
	struct stage_st *src = NULL;
	int si = stage_index(b, from);
	if (si >= 0) {
		if (build_stage(b, (size_t)si, err) < 0)
			return -1;
		src = &b->st[si];
	} else {
		struct husk_image *img = NULL;
		if (base_image(b, from, &img, err) < 0)
			return -1;
		tmp.config = json_deep_copy(img->config);
		husk_image_free(img);
		/* its layers: the manifest has them */
		cleanup_free char *md = NULL, *mpath = NULL, *text = NULL;
		if (husk_store_manifest_digest(b->s, from, &md, err) < 0) {
			json_decref(tmp.config);
			return -1;
		}
		mpath = husk_store_blob_path(b->s, md);
		size_t len = 0;
		if (husk_read_file(mpath, &text, &len, err) < 0) {
			json_decref(tmp.config);
			return -1;
		}
		json_t *m = json_loadb(text, len, 0, NULL);
		tmp.layers = json_incref(json_object_get(m, "layers"));
		json_decref(m);
		src = &tmp;
	}
	cleanup_free char *dir = husk_strdup_printf("%s/s%d", b->tmp, ++b->n_steps);
	int r = mount_state(b, src, dir, true, ret_dir, err);
	json_decref(tmp.config);
	json_decref(tmp.layers);
	return r;
}

static int owner_of(struct bctx *b, int rootfd, const char *spec, struct husk_copy_opts *o,
		    husk_error **err)
{
	(void)b;
	struct husk_user u = {0};
	if (husk_user_resolve(rootfd, spec, &u, err) < 0)
		return -1;
	o->chown = true;
	o->uid = u.uid;
	o->gid = u.gid;
	/* "user" alone: its primary group only when named; a uid alone: gid
	 * as Docker, the same number */
	if (!strchr(spec, ':')) {
		long x;
		if (husk_parse_long(spec, &x) == 0)
			o->gid = (gid_t)x;
	}
	husk_user_release(&u);
	return 0;
}

/* plan: a COPY's, carried out in the upper dir once it is unmounted
 * (src_root: its sources), NULL for none */
static int finish_overlay(struct bctx *b, struct stage_st *st, const char *dir, const char *merged,
			  const char *created_by, struct husk_copy_plan *plan, int src_root,
			  husk_error **err)
{
	if (umount2(merged, MNT_DETACH) < 0)
		return husk_fail(err, errno, "unmount \"%s\"", merged);
	cleanup_free char *upper = husk_strdup_printf("%s/upper", dir);
	if (husk_copy_plan_finish(plan, src_root, upper, err) < 0)
		return -1;
	return add_layer(b, st, upper, created_by, err);
}

static int do_workdir_mkdir(struct step *s, const char *dirpath, const char *desc, husk_error **err)
{
	struct bctx *b = s->b;
	struct stage_st *st = s->st;
	char key[65];
	key_next(st->key, desc, NULL, key);
	if (cache_get(b, key, st)) {
		emit(b, HUSK_BUILD_CACHED, key);
		memcpy(st->key, key, sizeof(key));
		return 0;
	}
	json_t *arg = json_string(dirpath);
	int ar = husk_image_config_apply(cfg(st), HUSK_CI_WORKDIR, arg, &st->cmd_set, err);
	json_decref(arg);
	if (ar < 0)
		return -1;
	cleanup_free char *dir = husk_strdup_printf("%s/s%d", b->tmp, ++b->n_steps);
	cleanup_free char *merged = NULL;
	if (mount_state(b, st, dir, false, &merged, err) < 0)
		return -1;
	cleanup_close int root = open(merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct husk_copy_opts o = {.chmod = -1};
	int fd = root < 0 ? -1 : husk_copy_mkdir_p(root, dirpath, &o, err);
	if (fd >= 0)
		close(fd);
	cleanup_free char *by = husk_strdup_printf("/bin/sh -c #(nop) %s", desc);
	int r = finish_overlay(b, st, dir, merged, by, NULL, -1, fd < 0 ? NULL : err);
	if (fd < 0)
		return -1;
	if (r < 0)
		return -1;
	cache_put(b, key, st);
	emit(b, HUSK_BUILD_DONE, key);
	memcpy(st->key, key, sizeof(key));
	return 0;
}

static int do_copy(struct step *s, husk_error **err)
{
	struct bctx *b = s->b;
	struct stage_st *st = s->st;
	const struct husk_df_insn *in = s->in;
	bool add = in->kind == HUSK_DF_ADD;
	char **w = NULL;
	size_t n = 0;
	int r = 0;
	if (in->json) {
		for (size_t i = 0; i < in->n_args && r == 0; i++) {
			char *v = NULL;
			r = expand(b, st, in->args[i], &v, err);
			if (r == 0)
				husk_strv_push(&w, &n, v);
		}
	} else {
		r = words(b, st, in->args[0], &w, &n, err);
	}
	if (r < 0)
		return -1;
	if (n < 2) {
		husk_strv_free(w, n);
		return husk_fail_as(err, EINVAL, "%s requires at least two arguments",
				    add ? "ADD" : "COPY");
	}
	const char *from = husk_df_flag(in, "from");
	const char *chown_spec = husk_df_flag(in, "chown");
	const char *chmod_spec = husk_df_flag(in, "chmod");
	struct husk_copy_opts o = {.chmod = -1, .add = add && !from};
	if (chmod_spec) {
		char *end;
		long m = strtol(chmod_spec, &end, 8);
		if (!*chmod_spec || *end || m < 0 || m > 07777) {
			husk_strv_free(w, n);
			return husk_fail_as(err, EINVAL, "--chmod=%s: not an octal mode",
					    chmod_spec);
		}
		o.chmod = (int)m;
	}
	/* the destination: relative to WORKDIR, its trailing '/' kept */
	const char *dest_w = w[n - 1];
	const char *wd = json_string_value(json_object_get(cfg(st), "WorkingDir"));
	cleanup_free char *dest =
		dest_w[0] == '/' ? strdup(dest_w)
				 : husk_strdup_printf("%s/%s", wd && *wd ? wd : "", dest_w);
	size_t dl = strlen(dest_w);
	bool trailing = dl > 0 && (dest_w[dl - 1] == '/' || strcmp(dest_w, ".") == 0 ||
				   (dl >= 2 && strcmp(dest_w + dl - 2, "/.") == 0));
	if (trailing && dest[strlen(dest) - 1] != '/') {
		char *d2 = husk_strdup_printf("%s/", dest);
		free(dest);
		dest = d2;
	}
	/* the sources: heredocs, the context, or --from's root */
	char **heredoc_names = NULL, **heredoc_bodies = NULL, **pats = NULL;
	size_t nh = 0, np = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		bool hd = false;
		for (size_t k = 0; k < in->n_heredocs; k++) {
			const char *nm = w[i];
			if (strncmp(nm, "<<", 2) != 0)
				continue;
			nm += 2;
			if (*nm == '-')
				nm++;
			size_t nl = strlen(nm);
			if ((*nm == '"' || *nm == '\'') && nl >= 2)
				nm++, nl -= 2;
			if (nl == strlen(in->heredocs[k].name) &&
			    strncmp(nm, in->heredocs[k].name, nl) == 0) {
				char *body = NULL;
				if (in->heredocs[k].expand)
					expand(b, st, in->heredocs[k].body, &body, NULL);
				husk_strv_push(&heredoc_names, &nh, strdup(in->heredocs[k].name));
				husk_strv_push(&heredoc_bodies, &np,
					       body ? body : strdup(in->heredocs[k].body));
				hd = true;
				break;
			}
		}
		(void)hd;
	}
	size_t n_pats = 0, n_urls = 0;
	char **urls = NULL;
	for (size_t i = 0; i + 1 < n; i++)
		if (strncmp(w[i], "<<", 2) == 0)
			continue;
		else if (add && husk_download_is_url(w[i]))
			husk_strv_push(&urls, &n_urls, strdup(w[i]));
		else
			husk_strv_push(&pats, &n_pats, strdup(w[i]));
	for (size_t i = 0; i < n_pats; i++)
		if (add && (strstr(pats[i], "://") || strncmp(pats[i], "git@", 4) == 0)) {
			r = husk_fail_as(err, EINVAL,
					 "ADD \"%s\": only http:// and https:// URLs are supported",
					 pats[i]);
			break;
		}
	const char *checksum = husk_df_flag(in, "checksum");
	if (r == 0 && checksum && (n_urls != 1 || n_pats || nh))
		r = husk_fail_as(err, EINVAL,
				 "--checksum: only for one http:// or https:// source");
	if (r == 0 && checksum &&
	    (strncmp(checksum, "sha256:", 7) != 0 || strlen(checksum) != 7 + 64 ||
	     strspn(checksum + 7, "0123456789abcdef") != 64))
		r = husk_fail_as(err, EINVAL, "--checksum=%s: expected sha256:<64 hex digits>",
				 checksum);
	if (r == 0 && n_urls && from)
		r = husk_fail_as(err, EINVAL, "ADD --from: no URL sources");
	/* URLs: fetched now, each time, as Docker's builder does; the key
	 * takes their content's hash and mtime (from Last-Modified) */
	cleanup_free char *dl_dir = NULL, *url_key = NULL;
	char **dl_names = NULL;
	size_t n_dl = 0;
	if (r == 0 && n_urls) {
		dl_dir = husk_strdup_printf("%s/dl%d", b->tmp, ++b->n_steps);
		if (mkdir(dl_dir, 0700) < 0)
			r = husk_fail(err, errno, "mkdir \"%s\"", dl_dir);
		url_key = strdup("");
	}
	bool dest_dir = dest[strlen(dest) - 1] == '/';
	for (size_t i = 0; r == 0 && i < n_urls; i++) {
		char *name = husk_download_name(urls[i]);
		if (!name && dest_dir) {
			r = husk_fail_as(err, EINVAL, "cannot determine filename from url: %s",
					 urls[i]);
			break;
		}
		if (!name) {
			/* the destination names the file */
			const char *slash = strrchr(dest, '/');
			name = strdup(slash ? slash + 1 : dest);
		}
		for (size_t k = 0; k < n_dl && r == 0; k++)
			if (strcmp(dl_names[k], name) == 0)
				r = husk_fail_as(err, EINVAL, "ADD: two URLs named \"%s\"", name);
		char sha[65];
		time_t mt = 0;
		if (r == 0)
			r = husk_download(urls[i], dl_dir, name, sha, &mt, err);
		if (r == 0 && checksum && strcmp(sha, checksum + 7) != 0)
			r = husk_fail_as(err, EINVAL,
					 "ADD \"%s\": digest mismatch: expected %s, got sha256:%s",
					 urls[i], checksum, sha);
		if (r == 0) {
			char *k = husk_strdup_printf("%s%s %s sha256:%s %lld\n", url_key, urls[i],
						     name, sha, (long long)mt);
			free(url_key);
			url_key = k;
		}
		husk_strv_push(&dl_names, &n_dl, name);
	}
	cleanup_free char *from_dir = NULL, *fr = NULL;
	int src_root = -1;
	if (r == 0 && from) {
		r = expand(b, st, from, &fr, err);
		if (r == 0)
			r = from_root(b, fr, &from_dir, err);
		if (r == 0) {
			src_root = open(from_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (src_root < 0)
				r = husk_fail(err, errno, "open \"%s\"", from_dir);
		}
	} else if (r == 0 && n_pats) {
		if (b->ctx_fd < 0)
			r = husk_fail_as(err, ENOENT, "%s: there is no build context",
					 husk_df_kind_name(in->kind));
		else
			src_root = dup(b->ctx_fd);
		o.ignore = b->ignore;
		/* a context from stdin is new each time: nothing to keep */
		if (!b->hash_cache && b->o->context)
			b->hash_cache = husk_hash_cache_open(b->cache_dir, b->ctx_dir);
		o.hash_cache = b->hash_cache;
	}
	char **paths = NULL;
	size_t n_paths = 0;
	if (r == 0 && n_pats)
		r = husk_copy_sources(src_root, (const char *const *)pats, n_pats, &o, &paths,
				      &n_paths, err);
	if (r == 0 && n_paths + nh + n_urls > 1 && !dest_dir)
		r = husk_fail_as(err, EINVAL,
				 "When using %s with more than one source file, the destination "
				 "must be a directory and end with a /",
				 add ? "ADD" : "COPY");
	/* the key: the instruction as expanded, and what it copies.  For
	 * --from, what it copies is all that counts, not how the stage or
	 * image came to be (Docker's builders do the same): a change of an
	 * earlier stage that leaves the files copied from it as they were
	 * does not rebuild the steps after the copy */
	char key[65];
	cleanup_free char *desc = NULL;
	if (r == 0) {
		char hash[65] = "";
		if (n_paths)
			r = husk_copy_hash(src_root, paths, n_paths, &o, hash, err);
		cleanup_free char *ws = join_words(w, n, " ");
		cleanup_free char *hd = join_words(heredoc_bodies, np, "\n--\n");
		desc = husk_strdup_printf(
			"%s --from=%s --chown=%s --chmod=%s %s", add ? "ADD" : "COPY", fr ? fr : "",
			chown_spec ? chown_spec : "", chmod_spec ? chmod_spec : "", ws);
		cleanup_free char *extra =
			husk_strdup_printf("%s\n%s\n%s", hash, hd, url_key ? url_key : "");
		key_next(st->key, desc, extra, key);
	}
	bool cached = r == 0 && cache_get(b, key, st);
	struct husk_copy_plan *plan = NULL;
	if (r == 0 && !cached) {
		/* one source from a context dir: what an earlier build of the
		 * same COPY wrote may be linked (copyplan.h), found by the
		 * context, the instruction (owner and mode aside: each file's
		 * are compared) and the destination */
		cleanup_free char *record = NULL;
		if (n_paths == 1 && !from && nh == 0 && n_dl == 0 && b->ctx_dir && b->o->context) {
			cleanup_free char *ws = join_words(w, n, " ");
			cleanup_free char *what = husk_strdup_printf(
				"%s\n%s %s\n%s", b->ctx_dir, add ? "ADD" : "COPY", ws, dest);
			char rk[65];
			husk_sha256_hex(what, strlen(what), rk);
			record = husk_strdup_printf("%s/copy-%s", b->cache_dir, rk);
		}
		cleanup_free char *layers_dir = husk_strdup_printf("%s/layers", b->e->root);
		plan = husk_copy_plan_new(record, layers_dir, !b->o->no_cache);
		o.plan = plan;
		size_t before = json_array_size(st->layers);
		cleanup_free char *dir = husk_strdup_printf("%s/s%d", b->tmp, ++b->n_steps);
		cleanup_free char *merged = NULL;
		r = mount_state(b, st, dir, false, &merged, err);
		if (r == 0) {
			cleanup_close int root = open(merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (root < 0)
				r = husk_fail(err, errno, "open \"%s\"", merged);
			if (r == 0 && chown_spec) {
				cleanup_free char *cs = NULL;
				r = expand(b, st, chown_spec, &cs, err);
				if (r == 0)
					r = owner_of(b, root, cs, &o, err);
			}
			if (r == 0 && n_paths)
				r = husk_copy(src_root, paths, n_paths, root, dest, &o, err);
			for (size_t i = 0; r == 0 && i < nh; i++)
				r = husk_copy_content(root, dest, heredoc_names[i],
						      heredoc_bodies[i], &o, err);
			if (r == 0 && n_dl) {
				/* a download is never unpacked */
				struct husk_copy_opts uo = o;
				uo.add = false;
				uo.ignore = NULL;
				cleanup_close int dlfd =
					open(dl_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
				r = dlfd < 0
					    ? husk_fail(err, errno, "open \"%s\"", dl_dir)
					    : husk_copy(dlfd, dl_names, n_dl, root, dest, &uo, err);
			}
			cleanup_free char *by = husk_strdup_printf("/bin/sh -c #(nop) %s %s in %s",
								   add ? "ADD" : "COPY",
								   n_paths ? "dir:"
								   : n_dl  ? "url:"
									   : "heredoc:",
								   dest);
			if (r == 0) {
				r = finish_overlay(b, st, dir, merged, by, plan, src_root, err);
			} else {
				umount2(merged, MNT_DETACH);
			}
		}
		if (r == 0) {
			json_t *diffs =
				json_object_get(json_object_get(st->config, "rootfs"), "diff_ids");
			husk_copy_plan_save(plan,
					    json_array_size(st->layers) > before
						    ? json_string_value(json_array_get(
							      diffs, json_array_size(diffs) - 1))
						    : NULL);
			cache_put(b, key, st);
			emit(b, HUSK_BUILD_DONE, key);
		}
	} else if (cached) {
		emit(b, HUSK_BUILD_CACHED, key);
	}
	if (r == 0)
		memcpy(st->key, key, sizeof(key));
	if (from_dir) {
		umount2(from_dir, MNT_DETACH);
	}
	husk_copy_plan_free(plan);
	closep_(&src_root);
	husk_strv_free(paths, n_paths);
	husk_strv_free(pats, n_pats);
	husk_strv_free(urls, n_urls);
	husk_strv_free(dl_names, n_dl);
	husk_strv_free(heredoc_names, nh);
	husk_strv_free(heredoc_bodies, np);
	husk_strv_free(w, n);
	return r;
}

/* --- FROM --- */

static int base_image(struct bctx *b, const char *ref, struct husk_image **ret, husk_error **err)
{
	husk_error *ferr = NULL;
	bool want_pull = b->o->pull == HUSK_BUILD_PULL_ALWAYS;
	if (!want_pull && husk_store_find(b->s, ref, ret, &ferr) == 0)
		return 0;
	bool missing = !ferr || ferr->errnum == ENOENT;
	if (ferr && !missing) {
		if (err)
			*err = ferr;
		else
			husk_error_free(ferr);
		return -1;
	}
	husk_error_free(ferr);
	if (strcmp(ref, "busybox") == 0 || strcmp(ref, "busybox:latest") == 0) {
		if (husk_store_ensure_busybox(b->s, err) < 0)
			return -1;
		return husk_store_find(b->s, ref, ret, err);
	}
	if (b->o->pull == HUSK_BUILD_PULL_NEVER)
		return husk_fail_as(err, ENOENT, "image \"%s\" is not in the store (--pull=never)",
				    ref);
	struct husk_registry_opts ro = {0};
	cleanup_free char *name = NULL, *id = NULL;
	/* the store is held by this build: a pull inside it is one change */
	if (husk_registry_pull(b->s, ref, &ro, &name, &id, err) < 0)
		return husk_error_wrap(err,
				       "image \"%s\" is not in the store and could not be "
				       "pulled",
				       ref);
	return husk_store_find(b->s, name, ret, err);
}

static int exec_insn(struct bctx *b, struct stage_st *st, const struct husk_df_insn *in,
		     husk_error **err)
{
	struct step s = {.b = b, .st = st, .in = in};
	snprintf(s.where, sizeof(s.where), "%s:%d: %.400s", b->df_name, in->line, in->text);
	int r;
	switch (in->kind) {
	case HUSK_DF_RUN:
		r = do_run(&s, err);
		break;
	case HUSK_DF_COPY:
	case HUSK_DF_ADD:
		r = do_copy(&s, err);
		break;
	case HUSK_DF_ARG:
		r = do_arg(&s, err);
		break;
	case HUSK_DF_FROM:
		r = husk_fail_as(err, EINVAL, "FROM inside a stage");
		break;
	default:
		r = do_meta(&s, err);
	}
	return r < 0 ? fail_step(&s, err) : 0;
}

static void emit_step(struct bctx *b, size_t stage, size_t i, size_t n, const char *text)
{
	cleanup_free char *line =
		b->df->n_stages > 1 ? husk_strdup_printf("[%zu/%zu] STEP %zu/%zu: %s", stage + 1,
							 b->df->n_stages, i + 1, n, text)
				    : husk_strdup_printf("STEP %zu/%zu: %s", i + 1, n, text);
	emit(b, HUSK_BUILD_STEP, line);
}

static int from(struct bctx *b, size_t idx, husk_error **err)
{
	struct husk_df_stage *stg = &b->df->stages[idx];
	struct stage_st *st = &b->st[idx];
	const struct husk_df_insn *in = &stg->v[0];
	char **w = NULL;
	size_t n = 0;
	struct lookup_ud l = {b, NULL};
	if (husk_df_words(in->args[0], b->df->escape, lookup, &l, &w, &n, err) < 0 || n == 0) {
		husk_strv_free(w, n);
		return husk_error_wrap(err, "%s:%d: %s", b->df_name, in->line, in->text);
	}
	/* --platform: the host's, the only one husk runs (an ARG that
	 * expands to nothing leaves the default) */
	const char *platform = husk_df_flag(in, "platform");
	if (platform) {
		cleanup_free char *p = NULL;
		if (husk_df_expand(platform, b->df->escape, lookup, &l, &p, err) < 0 ||
		    (*p && husk_platform_check(p, err) < 0)) {
			husk_strv_free(w, n);
			return husk_error_wrap(err, "%s:%d: %s", b->df_name, in->line, in->text);
		}
	}
	int r = 0;
	int si = stage_index(b, w[0]);
	if (si >= 0 && (size_t)si == idx)
		si = -1;
	/* a number names a stage only in --from */
	long num;
	if (si >= 0 && husk_parse_long(w[0], &num) == 0)
		si = -1;
	if (si >= 0) {
		r = build_stage(b, (size_t)si, err);
		if (r == 0) {
			st->config = json_deep_copy(b->st[si].config);
			st->layers = json_deep_copy(b->st[si].layers);
			st->n_base_layers = b->st[si].n_base_layers;
			st->n_base_history = b->st[si].n_base_history;
			key_next(b->st[si].key, "FROM stage", NULL, st->key);
		}
	} else if (strcasecmp(w[0], "scratch") == 0) {
		st->config = scratch_config();
		st->layers = json_array();
		key_next("", "FROM scratch", NULL, st->key);
	} else {
		struct husk_image *img = NULL;
		r = base_image(b, w[0], &img, err);
		if (r == 0) {
			cleanup_free char *md = NULL, *text = NULL;
			r = husk_store_manifest_digest(b->s, img->name, &md, err);
			cleanup_free char *mpath = r == 0 ? husk_store_blob_path(b->s, md) : NULL;
			size_t len = 0;
			if (r == 0)
				r = husk_read_file(mpath, &text, &len, err);
			if (r == 0) {
				json_t *m = json_loadb(text, len, 0, NULL);
				st->layers = json_deep_copy(json_object_get(m, "layers"));
				json_decref(m);
				st->config = json_deep_copy(img->config);
				cleanup_free char *d = husk_strdup_printf("FROM %s", img->id);
				key_next("", d, NULL, st->key);
				if (!json_is_array(st->layers))
					st->layers = json_array();
				st->n_base_layers = json_array_size(st->layers);
				st->n_base_history =
					json_array_size(json_object_get(st->config, "history"));
			}
			husk_image_free(img);
		}
	}
	husk_strv_free(w, n);
	if (r < 0)
		return husk_error_wrap(err, "%s:%d: %s", b->df_name, in->line, in->text);
	/* the base's history stays; its ONBUILD triggers run now, and go */
	json_t *c = cfg(st);
	json_t *triggers = json_incref(json_object_get(c, "OnBuild"));
	json_object_del(c, "OnBuild");
	size_t i;
	json_t *t;
	json_array_foreach (triggers, i, t) {
		cleanup_free char *text =
			husk_strdup_printf("FROM scratch\n%s\n", json_string_value(t) ?: "");
		struct husk_dockerfile *tdf = NULL;
		if (husk_df_parse(text, "ONBUILD", &tdf, err) < 0) {
			r = -1;
			break;
		}
		cleanup_free char *line = husk_strdup_printf("ONBUILD %s", json_string_value(t));
		emit(b, HUSK_BUILD_STEP, line);
		if (tdf->n_stages == 1 && tdf->stages[0].n == 2)
			r = exec_insn(b, st, &tdf->stages[0].v[1], err);
		husk_df_free(tdf);
		if (r < 0)
			break;
	}
	json_decref(triggers);
	return r;
}

static int build_stage(struct bctx *b, size_t idx, husk_error **err)
{
	struct stage_st *st = &b->st[idx];
	struct husk_df_stage *stg = &b->df->stages[idx];
	if (st->built)
		return 0;
	if (st->building)
		return husk_fail_as(err, EINVAL, "circular dependency detected on stage: %s",
				    stg->name ? stg->name : "(unnamed)");
	st->building = true;
	emit_step(b, idx, 0, stg->n, stg->v[0].text);
	if (from(b, idx, err) < 0)
		return -1;
	for (size_t i = 1; i < stg->n; i++) {
		emit_step(b, idx, i, stg->n, stg->v[i].text);
		if (exec_insn(b, st, &stg->v[i], err) < 0)
			return -1;
	}
	st->building = false;
	st->built = true;
	return 0;
}

/* --- the containers of builds that are gone --- */

static void reap(struct husk_engine *e)
{
	struct husk_ctr *v = NULL;
	size_t n = 0;
	if (husk_engine_list(e, &v, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *nm = v[i].name;
		if (!nm || strncmp(nm, "husk-build-", 11) != 0)
			continue;
		cleanup_free char *bid = strndup(nm + 11, strcspn(nm + 11, "-"));
		cleanup_free char *dir = husk_strdup_printf("%s/tmp/build-%s", e->root, bid);
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		bool alive = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0;
		if (fd >= 0)
			close(fd);
		if (alive)
			continue;
		/* its monitor first: it lives in the dead build's mount
		 * namespace, where the container's root is mounted, and that
		 * mount goes only when the last process there does */
		int mon = husk_pidfd_of(v[i].monitor_pid, v[i].monitor_start);
		husk_engine_kill(e, v[i].id, SIGKILL, NULL);
		if (mon >= 0) {
			struct pollfd p = {.fd = mon, .events = POLLIN};
			while (poll(&p, 1, 10000) < 0 && errno == EINTR)
				;
			close(mon);
		}
		husk_engine_rm(e, v[i].id, true, true, NULL);
	}
	husk_engine_list_free(v, n);
}

void husk_build_cache_tidy(struct husk_engine *e)
{
	reap(e);
	struct husk_store *s = NULL;
	if (husk_store_open(e->root, &s, NULL) < 0)
		return;
	cleanup_free char *dir = husk_strdup_printf("%s/build-cache", e->root);
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		/* the steps' entries and the COPYs' records of layers that went;
		 * the context's file hashes (files-*) stay */
		size_t nl = strlen(de->d_name);
		if (strncmp(de->d_name, "copy-", 5) == 0) {
			cleanup_free char *p = husk_strdup_printf("%s/%s", dir, de->d_name);
			cleanup_free char *layers = husk_strdup_printf("%s/layers", e->root);
			if (!husk_copy_plan_record_live(p, layers))
				unlink(p);
			continue;
		}
		if (de->d_name[0] == '.' || nl < 5 || strcmp(de->d_name + nl - 5, ".json") != 0)
			continue;
		cleanup_free char *p = husk_strdup_printf("%s/%s", dir, de->d_name);
		json_t *j = json_load_file(p, 0, NULL);
		bool ok = j != NULL;
		size_t i;
		json_t *l;
		json_array_foreach (json_object_get(j, "layers"), i, l) {
			cleanup_free char *blob = husk_store_blob_path(
				s, json_string_value(json_object_get(l, "digest")));
			ok = ok && blob && access(blob, F_OK) == 0;
		}
		json_decref(j);
		if (!ok)
			unlink(p);
	}
	if (d)
		closedir(d);
	husk_store_close(s);
}

int husk_build_prune(struct husk_engine *e, long long *ret_freed, husk_error **err)
{
	reap(e);
	cleanup_free char *dir = husk_strdup_printf("%s/build-cache", e->root);
	rm_rf(dir);
	long long mounts = husk_cache_mounts_prune(e->root);
	struct husk_store *s = NULL;
	if (husk_store_open(e->root, &s, err) < 0)
		return -1;
	int r = husk_store_prune(s, ret_freed, err);
	husk_store_close(s);
	if (r == 0 && ret_freed)
		*ret_freed += mounts;
	return r;
}

/* --- --squash --- */

/* The build's new layers as one, on the base image's (as Podman's
 * --squash); the history stays, the entries of the squashed layers
 * marked empty, with one for the layer that holds them (as Docker's
 * --squash: "merge <new> to <base>"). */
static int squash(struct bctx *b, struct stage_st *st, json_t *config, json_t **layers,
		  husk_error **err)
{
	size_t n = json_array_size(st->layers), nb = st->n_base_layers;
	if (n <= nb)
		return 0;
	struct husk_image *img = NULL;
	if (husk_store_image_of(b->s, "build", st->config, st->layers, &img, err) < 0)
		return -1;
	cleanup_free char *out = husk_strdup_printf("%s/squash", b->tmp);
	int r = mkdir(out, 0755) < 0 ? husk_fail(err, errno, "mkdir \"%s\"", out) : 0;
	if (r == 0)
		r = husk_squash_layers(img->layers + nb, n - nb, out, err);
	husk_image_free(img);
	struct husk_layer_info li = {0};
	if (r == 0)
		r = husk_store_layer_from_upper(b->s, out, NULL, &li, err);
	if (r == 0)
		r = husk_store_adopt_layer(b->s, li.diff_id, out, err);
	if (r < 0) {
		husk_layer_info_release(&li);
		return husk_error_wrap(err, "--squash");
	}
	json_t *nl = json_array();
	for (size_t i = 0; i < nb; i++)
		json_array_append(nl, json_array_get(st->layers, i));
	json_array_append_new(nl, json_pack("{s:s,s:s,s:I}", "mediaType", li.media_type, "digest",
					    li.digest, "size", (json_int_t)li.size));
	json_decref(*layers);
	*layers = nl;
	json_t *diffs = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	const char *base_top = nb ? json_string_value(json_array_get(diffs, nb - 1)) : "scratch";
	cleanup_free char *by =
		husk_strdup_printf("merge %s to %s", li.diff_id, base_top ? base_top : "");
	while (json_array_size(diffs) > nb)
		json_array_remove(diffs, nb);
	json_array_append_new(diffs, json_string(li.diff_id));
	json_t *hist = json_object_get(config, "history");
	for (size_t i = st->n_base_history; i < json_array_size(hist); i++)
		json_object_set_new(json_array_get(hist, i), "empty_layer", json_true());
	char created[64];
	now_rfc3339(created, sizeof(created));
	json_array_append_new(hist, json_pack("{s:s,s:s}", "created", created, "created_by", by));
	husk_layer_info_release(&li);
	return 0;
}

/* --- the build --- */

static int read_dockerfile(struct bctx *b, char **ret_text, husk_error **err)
{
	const struct husk_build_opts *o = b->o;
	if (o->dockerfile) {
		b->df_name = strdup(o->dockerfile);
		const char *base = strrchr(o->dockerfile, '/');
		(void)base;
		return husk_read_file(o->dockerfile, ret_text, NULL, err) < 0
			       ? husk_error_wrap(err, "the Dockerfile")
			       : 0;
	}
	if (!b->ctx_dir)
		return husk_fail_as(err, ENOENT, "no Dockerfile: give one with -f");
	static const char *const names[] = {"Dockerfile", "Containerfile"};
	for (size_t i = 0; i < 2; i++) {
		cleanup_free char *p = husk_strdup_printf("%s/%s", b->ctx_dir, names[i]);
		if (access(p, F_OK) == 0) {
			b->df_name = strdup(names[i]);
			return husk_read_file(p, ret_text, NULL, err);
		}
	}
	return husk_fail_as(err, ENOENT, "no Dockerfile or Containerfile in \"%s\"", b->ctx_dir);
}

static int read_ignore(struct bctx *b, husk_error **err)
{
	static const char *const names[] = {".containerignore", ".dockerignore"};
	for (size_t i = 0; i < 2 && b->ctx_dir; i++) {
		cleanup_free char *p = husk_strdup_printf("%s/%s", b->ctx_dir, names[i]);
		cleanup_free char *text = NULL;
		if (access(p, F_OK) != 0)
			continue;
		if (husk_read_file(p, &text, NULL, err) < 0 ||
		    husk_ignore_parse(text, &b->ignore, err) < 0)
			return husk_error_wrap(err, "%s", names[i]);
		return 0;
	}
	return 0;
}

/* stdin: a tar (the context, unpacked) or a Dockerfile */
static int read_stdin(struct bctx *b, char **ret_text, husk_error **err)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	if (husk_read_fd_all(b->o->context_fd, &data, &len, err) < 0)
		return husk_error_wrap(err, "read the context from stdin");
	bool tar = len >= 262 && memcmp(data + 257, "ustar", 5) == 0;
	bool gz = len >= 2 && (unsigned char)data[0] == 0x1f && (unsigned char)data[1] == 0x8b;
	if (!tar && !gz) {
		*ret_text = steal_ptr(data);
		b->df_name = strdup("Dockerfile");
		return 0;
	}
	cleanup_free char *tarp = husk_strdup_printf("%s/context.tar", b->tmp);
	cleanup_free char *dir = husk_strdup_printf("%s/context", b->tmp);
	if (husk_write_file(tarp, data, len, 0600, err) < 0 || mkdir(dir, 0755) < 0)
		return -1;
	if (husk_layer_unpack(tarp, dir, err) < 0)
		return husk_error_wrap(err, "the context from stdin");
	unlink(tarp);
	b->ctx_dir = steal_ptr(dir);
	return read_dockerfile(b, ret_text, err);
}

/* BuildKit's automatic platform ARGs, in the global scope (FROM
 * --platform=$BUILDPLATFORM, and a stage's ARG TARGETARCH takes it): the
 * host's, the one platform husk builds for */
static const char *const platform_args[] = {"TARGETPLATFORM", "TARGETOS",      "TARGETARCH",
					    "TARGETVARIANT",  "BUILDPLATFORM", "BUILDOS",
					    "BUILDARCH",      "BUILDVARIANT",  NULL};

static bool platform_arg(const char *name)
{
	for (size_t i = 0; platform_args[i]; i++)
		if (strcmp(platform_args[i], name) == 0)
			return true;
	return false;
}

static int global_args(struct bctx *b, husk_error **err)
{
	const char *arch = husk_platform_arch();
	cleanup_free char *platform = husk_strdup_printf("linux/%s", arch);
	for (size_t i = 0; platform_args[i]; i++) {
		const char *n = platform_args[i];
		bool target = n[0] == 'T';
		const char *rest = n + (target ? 6 : 5);
		var_set(&b->gargs, &b->n_gargs, n,
			strcmp(rest, "PLATFORM") == 0 ? platform
			: strcmp(rest, "OS") == 0     ? "linux"
			: strcmp(rest, "ARCH") == 0   ? arch
						      : "");
	}
	for (size_t i = 0; i < b->df->n_args; i++) {
		const struct husk_df_insn *in = &b->df->args[i];
		char **w = NULL;
		size_t n = 0;
		struct lookup_ud l = {b, NULL};
		if (husk_df_words(in->args[0], b->df->escape, lookup, &l, &w, &n, err) < 0)
			return husk_error_wrap(err, "%s:%d", b->df_name, in->line);
		for (size_t k = 0; k < n; k++) {
			char *eq = strchr(w[k], '=');
			if (eq)
				*eq = '\0';
			bool given = false;
			const char *v = build_arg(b, w[k], &given);
			if (!given && !eq && platform_arg(w[k]))
				continue; /* declared: it keeps its value */
			var_set(&b->gargs, &b->n_gargs, w[k], given ? v : eq ? eq + 1 : NULL);
		}
		husk_strv_free(w, n);
	}
	return 0;
}

static int build(struct bctx *b, char **ret_id, husk_error **err)
{
	const struct husk_build_opts *o = b->o;
	cleanup_free char *text = NULL;
	if (o->context_fd >= 0) {
		if (read_stdin(b, &text, err) < 0)
			return -1;
	} else {
		if (o->context) {
			b->ctx_dir = realpath(o->context, NULL);
			struct stat s;
			if (!b->ctx_dir || stat(b->ctx_dir, &s) < 0 || !S_ISDIR(s.st_mode))
				return husk_fail(err, b->ctx_dir ? ENOTDIR : errno,
						 "the build context \"%s\"", o->context);
		}
		if (read_dockerfile(b, &text, err) < 0)
			return -1;
	}
	if (b->ctx_dir) {
		b->ctx_fd = open(b->ctx_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (b->ctx_fd < 0)
			return husk_fail(err, errno, "open \"%s\"", b->ctx_dir);
	}
	if (read_ignore(b, err) < 0)
		return -1;
	if (husk_df_parse(text, b->df_name, &b->df, err) < 0)
		return -1;
	if (b->df->n_stages == 0)
		return husk_fail_as(err, EINVAL, "%s: no FROM instruction", b->df_name);
	b->st = calloc(b->df->n_stages, sizeof(*b->st));
	if (!b->st)
		abort();
	if (global_args(b, err) < 0)
		return -1;
	size_t target = b->df->n_stages - 1;
	if (o->target) {
		int t = -1;
		for (size_t i = 0; i < b->df->n_stages; i++)
			if (b->df->stages[i].name &&
			    strcasecmp(b->df->stages[i].name, o->target) == 0)
				t = (int)i;
		if (t < 0)
			return husk_fail_as(err, EINVAL, "target stage \"%s\" could not be found",
					    o->target);
		target = (size_t)t;
	}
	if (build_stage(b, target, err) < 0)
		return -1;
	for (size_t i = 0; i < o->n_build_args; i++) {
		if (b->arg_used[i])
			continue;
		cleanup_free char *nm = strndup(o->build_args[i], strcspn(o->build_args[i], "="));
		bool proxy = false;
		for (size_t k = 0; proxy_args[k]; k++)
			proxy |= strcmp(proxy_args[k], nm) == 0;
		if (proxy)
			continue;
		cleanup_free char *w =
			husk_strdup_printf("one or more build-args [%s] were not consumed", nm);
		emit(b, HUSK_BUILD_WARNING, w);
	}
	/* the image: the target's state, with --label's labels */
	struct stage_st *st = &b->st[target];
	json_t *config = json_deep_copy(st->config);
	json_t *c = json_object_get(config, "config");
	if (o->n_labels) {
		json_t *l = json_object_get(c, "Labels");
		if (!json_is_object(l)) {
			l = json_object();
			json_object_set_new(c, "Labels", l);
		}
		for (size_t i = 0; i < o->n_labels; i++) {
			const char *eq = strchr(o->labels[i], '=');
			cleanup_free char *k =
				strndup(o->labels[i],
					eq ? (size_t)(eq - o->labels[i]) : strlen(o->labels[i]));
			json_object_set_new(l, k, json_string(eq ? eq + 1 : ""));
		}
	}
	for (size_t i = 0; i < o->n_tags; i++)
		if (husk_image_name_check(o->tags[i], err) < 0) {
			json_decref(config);
			return -1;
		}
	emit(b, HUSK_BUILD_COMMIT, o->n_tags ? o->tags[0] : NULL);
	json_t *layers = json_incref(st->layers);
	int r = o->squash ? squash(b, st, config, &layers, err) : 0;
	if (r == 0)
		r = husk_store_put_image(b->s, config, layers, o->tags, o->n_tags, ret_id, err);
	json_decref(layers);
	json_decref(config);
	for (size_t i = 0; r == 0 && i < o->n_tags; i++)
		emit(b, HUSK_BUILD_TAGGED, o->tags[i]);
	return r;
}

/* --secret: read when the build starts, so that a missing file fails it
 * before any step (buildx's rules: id=ID with src=FILE or env=VAR;
 * neither, the variable named ID if set, else the file; 500 kB at most,
 * as BuildKit) */
static int load_secrets(struct bctx *b, husk_error **err)
{
	for (size_t i = 0; i < b->o->n_secrets; i++) {
		struct husk_secret_src src;
		if (husk_secret_src_parse(b->o->secrets[i], &src, err) < 0)
			return -1;
		const char *file = src.file, *env = src.env;
		if (!file && !env)
			*(getenv(src.id) ? &env : &file) = src.id;
		char *data = NULL;
		size_t len = 0;
		struct stat st;
		int r = 0;
		if (env) {
			const char *v = getenv(env);
			if (!v)
				r = husk_fail_as(err, ENOENT,
						 "--secret id=%s: the variable %s is not set",
						 src.id, env);
			else
				data = strdup(v), len = strlen(v);
		} else if (stat(file, &st) < 0) {
			r = husk_fail(err, errno, "--secret id=%s: \"%s\"", src.id, file);
		} else if (st.st_size > 500 * 1024) {
			r = husk_fail_as(err, EFBIG, "--secret id=%s: \"%s\" is over 500 kB",
					 src.id, file);
		} else if (husk_read_file(file, &data, &len, err) < 0) {
			r = husk_error_wrap(err, "--secret id=%s", src.id);
		}
		if (r == 0) {
			/* the same id twice: the last one, as buildx */
			size_t k = 0;
			while (k < b->n_secrets && strcmp(b->secrets[k].id, src.id) != 0)
				k++;
			if (k == b->n_secrets) {
				b->secrets = realloc(b->secrets, (k + 1) * sizeof(*b->secrets));
				if (!b->secrets)
					abort();
				b->secrets[b->n_secrets++] = (struct secret){.id = strdup(src.id)};
			} else {
				explicit_bzero(b->secrets[k].data, b->secrets[k].len);
				free(b->secrets[k].data);
			}
			b->secrets[k].data = data;
			b->secrets[k].len = len;
		}
		husk_secret_src_release(&src);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Our own mount namespace, a slave of the host's: what we mount goes
 * with us, whatever way we end */
static int own_mounts(husk_error **err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return husk_fail(err, errno, "unshare a mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return husk_fail(err, errno, "make the mounts slaves");
	return 0;
}

int husk_build(struct husk_engine *e, const struct husk_build_opts *o, husk_build_progress cb,
	       void *ud, char **ret_id, husk_error **err)
{
	/* what can be refused is refused first */
	for (size_t i = 0; i < o->n_tags; i++)
		if (husk_image_name_check(o->tags[i], err) < 0)
			return husk_error_wrap(err, "build");
	struct bctx b = {.e = e, .o = o, .cb = cb, .ud = ud, .tmp_lock = -1, .ctx_fd = -1};
	b.arg_used = calloc(o->n_build_args + 1, sizeof(bool));
	if (!b.arg_used)
		abort();
	/* the cache's keys, the context's hashes, every layer: SHA-256 */
	int r = husk_lazy_crypto(err) < 0 ? -1 : load_secrets(&b, err);
	if (r == 0)
		r = own_mounts(err);
	if (r == 0)
		r = husk_store_open(e->root, &b.s, err);
	if (r == 0)
		reap(e);
	if (r == 0)
		r = husk_store_begin(b.s, err);
	if (r == 0)
		r = husk_store_tmpdir(b.s, "build", &b.tmp, &b.tmp_lock, err);
	if (r == 0) {
		b.tmp_id = strrchr(b.tmp, '-') + 1;
		b.cache_dir = husk_strdup_printf("%s/build-cache", e->root);
		r = husk_mkdir_top(b.cache_dir, 0700, err);
	}
	cleanup_free char *id = NULL;
	if (r == 0)
		r = build(&b, &id, err);
	if (r == 0 && id) {
		/* Podman's "build" event (Docker's builder has none), then a
		 * "tag" for each name, as Docker's classic builder writes */
		husk_engine_image_event(e, "build", id, o->n_tags ? o->tags[0] : id);
		for (size_t i = 0; i < o->n_tags; i++) {
			cleanup_free char *name = husk_image_ref_normalize(o->tags[i]);
			husk_engine_image_event(e, "tag", id, name);
		}
	}
	if (r == 0 && ret_id)
		*ret_id = steal_ptr(id);
	if (b.tmp) {
		rm_rf(b.tmp);
		closep_(&b.tmp_lock);
	}
	if (b.s)
		husk_store_end(b.s, false);
	husk_store_close(b.s);
	for (size_t i = 0; b.df && i < b.df->n_stages; i++) {
		json_decref(b.st[i].config);
		json_decref(b.st[i].layers);
		vars_free(b.st[i].args, b.st[i].n_args);
	}
	free(b.st);
	for (size_t i = 0; i < b.n_secrets; i++) {
		explicit_bzero(b.secrets[i].data, b.secrets[i].len);
		free(b.secrets[i].data);
		free(b.secrets[i].id);
	}
	free(b.secrets);
	husk_df_free(b.df);
	husk_hash_cache_save(b.hash_cache);
	husk_hash_cache_free(b.hash_cache);
	husk_ignore_free(b.ignore);
	vars_free(b.gargs, b.n_gargs);
	free(b.arg_used);
	free(b.ctx_dir);
	closep_(&b.ctx_fd);
	free(b.df_name);
	free(b.cache_dir);
	free(b.tmp);
	return r < 0 ? -1 : 0;
}

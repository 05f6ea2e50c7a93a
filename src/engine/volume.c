/* The volume store: <root>/volumes/<name>/{_data/, volume.json, refs/}.
 * The rules (the lock, refs, atomic appearance and removal) are in
 * engine.h; the copy-up in volume.h.  Linked into the static monitor
 * too, which removes a --rm container's anonymous volumes. */
#define _GNU_SOURCE
#include "volume.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "engine-private.h"
#include "rootfs.h"
#include "util.h"

#define ANON_LABEL "com.docker.volume.anonymous"

static int check_name(const char *name, husk_error **err)
{
	if (husk_volume_name_ok(name))
		return 0;
	if (strlen(name) == 1)
		return husk_fail_as(err, EINVAL,
				    "volume name is too short, names should be at least two "
				    "alphanumeric characters");
	return husk_fail_as(err, EINVAL,
			    "\"%s\" includes invalid characters for a local volume name, only "
			    "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a "
			    "host directory, use absolute path",
			    name);
}

static char *vol_path(const char *root, const char *name, const char *sub)
{
	return husk_strdup_printf("%s/volumes/%s%s%s", root, name, sub ? "/" : "", sub ? sub : "");
}

/* flock of <root>/volumes/.lock, held until the fd is closed */
static int lock_volumes(const char *root, husk_error **err)
{
	cleanup_free char *dir = husk_strdup_printf("%s/volumes", root);
	if (husk_mkdir_top(dir, 0701, err) < 0)
		return -1;
	cleanup_free char *p = husk_strdup_printf("%s/.lock", dir);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", p);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return husk_fail(err, e, "lock \"%s\"", p);
		}
	}
	return fd;
}

static char *random_hex(size_t bytes)
{
	unsigned char b[32];
	if (bytes > sizeof(b) || getrandom(b, bytes, 0) != (ssize_t)bytes)
		return NULL;
	char *s = malloc(bytes * 2 + 1);
	if (!s)
		abort();
	for (size_t i = 0; i < bytes; i++)
		snprintf(s + i * 2, 3, "%02x", b[i]);
	return s;
}

void husk_vol_release(struct husk_vol *v)
{
	if (!v)
		return;
	free(v->name);
	free(v->mountpoint);
	for (char **p = v->labels; p && *p; p++)
		free(*p);
	free(v->labels);
	for (char **p = v->options; p && *p; p++)
		free(*p);
	free(v->options);
	husk_strv_free(v->users, v->n_users);
	memset(v, 0, sizeof(*v));
}

void husk_engine_volume_list_free(struct husk_vol *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		husk_vol_release(&v[i]);
	free(v);
}

/* {"K":"V"} as "K=V" strings */
static char **kv_from_json(json_t *o)
{
	size_t n = 0;
	char **v = NULL;
	const char *k;
	json_t *val;
	json_object_foreach (o, k, val)
		husk_strv_push(&v, &n,
			       husk_strdup_printf("%s=%s", k, json_string_value(val) ?: ""));
	return v;
}

static json_t *kv_to_json(char **v, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(v[i], '=');
		cleanup_free char *k = eq ? strndup(v[i], (size_t)(eq - v[i])) : strdup(v[i]);
		json_object_set_new(o, k, json_string(eq ? eq + 1 : ""));
	}
	return o;
}

/* The containers that mount it: refs/<id> whose container still exists
 * (a crash can leave the ref of one that is gone) */
static void load_users(const char *root, const char *name, struct husk_vol *v)
{
	cleanup_free char *refs = vol_path(root, name, "refs");
	DIR *d = opendir(refs);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		cleanup_free char *cdir = husk_strdup_printf("%s/containers/%s", root, de->d_name);
		if (access(cdir, F_OK) == 0)
			husk_strv_push(&v->users, &v->n_users, strdup(de->d_name));
	}
	if (d)
		closedir(d);
}

static int load(const char *root, const char *name, struct husk_vol *ret, husk_error **err)
{
	memset(ret, 0, sizeof(*ret));
	if (!husk_volume_name_ok(name))
		return husk_fail_as(err, ENOENT, "no such volume: \"%s\"", name);
	cleanup_free char *p = vol_path(root, name, "volume.json");
	json_error_t je;
	json_t *m = json_load_file(p, 0, &je);
	if (!m) {
		if (access(p, F_OK) < 0 && errno == ENOENT)
			return husk_fail_as(err, ENOENT, "no such volume: \"%s\"", name);
		return husk_fail(err, EIO, "volume \"%s\": %s", p, je.text);
	}
	ret->name = strdup(name);
	ret->mountpoint = vol_path(root, name, "_data");
	ret->created_ns = (int64_t)json_integer_value(json_object_get(m, "CreatedAt"));
	json_t *labels = json_object_get(m, "Labels");
	ret->labels = kv_from_json(labels);
	ret->options = kv_from_json(json_object_get(m, "Options"));
	ret->anonymous = json_object_get(labels, ANON_LABEL) != NULL;
	json_decref(m);
	load_users(root, name, ret);
	return 0;
}

int husk_engine_volume_get(struct husk_engine *e, const char *name, struct husk_vol *ret,
			   husk_error **err)
{
	return load(e->root, name, ret, err);
}

static int check_options(const struct husk_vol_create_opts *o, husk_error **err)
{
	bool type = false, device = false;
	for (size_t i = 0; i < o->n_options; i++) {
		const char *kv = o->options[i];
		const char *eq = strchr(kv, '=');
		size_t n = eq ? (size_t)(eq - kv) : strlen(kv);
		if (n == 4 && strncmp(kv, "type", 4) == 0)
			type = true;
		else if (n == 6 && strncmp(kv, "device", 6) == 0)
			device = true;
		else if (!(n == 1 && kv[0] == 'o'))
			return husk_fail_as(err, EINVAL,
					    "invalid option key: \"%.*s\" (the local driver "
					    "takes type, device and o)",
					    (int)n, kv);
		if (!eq)
			return husk_fail_as(err, EINVAL,
					    "invalid option \"%s\": expected KEY=VALUE", kv);
	}
	if (o->n_options && !type)
		return husk_fail_as(err, EINVAL, "missing required option: \"type\"");
	if (o->n_options && !device)
		return husk_fail_as(err, EINVAL, "missing required option: \"device\"");
	return 0;
}

/* Under the lock: make <name> aside (.new-*) and rename it into place.
 * EEXIST when a volume of that name is there. */
static int make_volume(const char *root, const char *name, const struct husk_vol_create_opts *o,
		       husk_error **err)
{
	cleanup_free char *tmp = husk_strdup_printf("%s/volumes/.new-XXXXXX", root);
	if (!mkdtemp(tmp))
		return husk_fail(err, errno, "mkdir \"%s\"", tmp);
	chmod(tmp, 0701);
	cleanup_free char *data = husk_strdup_printf("%s/_data", tmp);
	cleanup_free char *refs = husk_strdup_printf("%s/refs", tmp);
	cleanup_free char *meta = husk_strdup_printf("%s/volume.json", tmp);
	json_t *labels = kv_to_json(o->labels, o->n_labels);
	if (o->anonymous)
		json_object_set_new(labels, ANON_LABEL, json_string(""));
	json_t *m = json_pack("{s:s,s:I,s:o,s:o}", "Name", name, "CreatedAt",
			      (json_int_t)husk_time_ns(), "Labels", labels, "Options",
			      kv_to_json(o->options, o->n_options));
	char *text = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	if (!text)
		abort();
	int r = 0;
	if (mkdir(data, 0755) < 0 || mkdir(refs, 0700) < 0)
		r = husk_fail(err, errno, "mkdir \"%s\"", data);
	else if (husk_write_file(meta, text, strlen(text), 0600, err) < 0)
		r = -1;
	free(text);
	cleanup_free char *dst = vol_path(root, name, NULL);
	if (r == 0 && rename(tmp, dst) < 0) {
		/* a non-empty directory of that name: the volume exists */
		int e = errno == ENOTEMPTY ? EEXIST : errno;
		r = e == EEXIST ? husk_fail_as(err, EEXIST, "volume \"%s\" exists", name)
				: husk_fail(err, e, "rename \"%s\" to \"%s\"", tmp, dst);
	}
	if (r < 0)
		husk_engine_rm_rf(tmp);
	return r;
}

/* Under the lock: get name, making it when it is not there */
static int get_or_make(const char *root, const char *name, const struct husk_vol_create_opts *o,
		       struct husk_vol *ret, bool *ret_made, husk_error **err)
{
	husk_error *lerr = NULL;
	if (ret_made)
		*ret_made = false;
	if (load(root, name, ret, &lerr) == 0)
		return 0;
	if (lerr->errnum != ENOENT) {
		if (err)
			*err = lerr;
		else
			husk_error_free(lerr);
		return -1;
	}
	husk_error_free(lerr);
	if (make_volume(root, name, o, err) < 0)
		return -1;
	if (ret_made)
		*ret_made = true;
	return load(root, name, ret, err);
}

int husk_engine_volume_create(struct husk_engine *e, const struct husk_vol_create_opts *o,
			      struct husk_vol *ret, husk_error **err)
{
	memset(ret, 0, sizeof(*ret));
	cleanup_free char *name = o->name ? strdup(o->name) : random_hex(32);
	if (!name)
		return husk_fail(err, errno, "a volume name: getrandom");
	if (check_name(name, err) < 0 || check_options(o, err) < 0)
		return husk_error_wrap(err, "create volume \"%s\"", name);
	cleanup_close int lock = lock_volumes(e->root, err);
	if (lock < 0 || get_or_make(e->root, name, o, ret, NULL, err) < 0)
		return husk_error_wrap(err, "create volume \"%s\"", name);
	return 0;
}

int husk_engine_volume_list(struct husk_engine *e, struct husk_vol **ret, size_t *ret_n,
			    husk_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	cleanup_free char *dir = husk_strdup_printf("%s/volumes", e->root);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : husk_fail(err, errno, "open \"%s\"", dir);
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		struct husk_vol v;
		if (load(e->root, de->d_name, &v, NULL) < 0)
			continue; /* going away, or not one of ours */
		if (*ret_n == cap) {
			cap = cap ? cap * 2 : 16;
			struct husk_vol *n = realloc(*ret, cap * sizeof(**ret));
			if (!n)
				abort();
			*ret = n;
		}
		(*ret)[(*ret_n)++] = v;
	}
	closedir(d);
	return 0;
}

/* Under the lock: move the volume aside, so that it is gone for every
 * reader at once; *ret_aside is then removed (after the lock) by rm_rf */
static int move_aside(const char *root, const char *name, char **ret_aside, husk_error **err)
{
	cleanup_free char *rnd = random_hex(8);
	cleanup_free char *from = vol_path(root, name, NULL);
	char *to = husk_strdup_printf("%s/volumes/.rm-%s-%s", root, name, rnd ? rnd : "x");
	if (rename(from, to) < 0) {
		int e = errno;
		free(to);
		return husk_fail(err, e, "rename \"%s\"", from);
	}
	*ret_aside = to;
	return 0;
}

static int in_use_error(const char *root, const struct husk_vol *v, husk_error **err)
{
	struct husk_ctr c;
	if (husk_record_load(root, v->users[0], &c, NULL) == 0) {
		husk_fail_as(err, EBUSY, "volume is in use by container \"%s\" (%.12s)", c.name,
			     c.id);
		husk_ctr_release(&c);
		return -1;
	}
	return husk_fail_as(err, EBUSY, "volume is in use by container %.12s", v->users[0]);
}

int husk_engine_volume_rm(struct husk_engine *e, const char *name, bool force, husk_error **err)
{
	cleanup_free char *aside = NULL;
	{
		cleanup_close int lock = lock_volumes(e->root, err);
		if (lock < 0)
			return husk_error_wrap(err, "remove volume \"%s\"", name);
		struct husk_vol v;
		husk_error *lerr = NULL;
		if (load(e->root, name, &v, &lerr) < 0) {
			if (force && lerr->errnum == ENOENT) {
				husk_error_free(lerr);
				return 0;
			}
			if (err)
				*err = lerr;
			else
				husk_error_free(lerr);
			return -1;
		}
		int r = v.n_users ? in_use_error(e->root, &v, err)
				  : move_aside(e->root, name, &aside, err);
		husk_vol_release(&v);
		if (r < 0)
			return husk_error_wrap(err, "remove volume \"%s\"", name);
	}
	husk_engine_rm_rf(aside);
	return 0;
}

static unsigned long long du_bytes;
static int du_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p;
	(void)f;
	if (flag == FTW_F && S_ISREG(st->st_mode))
		du_bytes += (unsigned long long)st->st_size;
	return 0;
}

int husk_engine_volume_prune(struct husk_engine *e, bool all, const struct husk_prune_filter *f,
			     char ***ret_names, size_t *ret_n, unsigned long long *ret_bytes,
			     husk_error **err)
{
	*ret_names = NULL;
	*ret_n = 0;
	*ret_bytes = 0;
	char **asides = NULL;
	size_t n_asides = 0;
	{
		cleanup_close int lock = lock_volumes(e->root, err);
		if (lock < 0)
			return husk_error_wrap(err, "prune volumes");
		cleanup_free char *dir = husk_strdup_printf("%s/volumes", e->root);
		DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			/* what a crash left: half-made and half-removed volumes */
			if (strncmp(de->d_name, ".new-", 5) == 0 ||
			    strncmp(de->d_name, ".rm-", 4) == 0) {
				husk_strv_push(&asides, &n_asides,
					       husk_strdup_printf("%s/%s", dir, de->d_name));
				continue;
			}
			struct husk_vol v;
			if (de->d_name[0] == '.' || load(e->root, de->d_name, &v, NULL) < 0)
				continue;
			char *aside = NULL;
			json_t *labels =
				husk_prune_filter_empty(f) ? NULL : husk_labels_object(v.labels);
			bool match = husk_prune_filter_match(f, labels, v.created_ns);
			json_decref(labels);
			if (!v.n_users && (all || v.anonymous) && match) {
				du_bytes = 0;
				nftw(v.mountpoint, du_entry, 32, FTW_PHYS);
				if (move_aside(e->root, v.name, &aside, NULL) == 0) {
					*ret_bytes += du_bytes;
					husk_strv_push(&asides, &n_asides, aside);
					husk_strv_push(ret_names, ret_n, strdup(v.name));
				}
			}
			husk_vol_release(&v);
		}
		if (d)
			closedir(d);
	}
	for (size_t i = 0; i < n_asides; i++)
		husk_engine_rm_rf(asides[i]);
	husk_strv_free(asides, n_asides);
	return 0;
}

int husk_volume_use(const char *root, const char *name, const char *id, struct husk_vol *ret,
		    bool *ret_made, husk_error **err)
{
	memset(ret, 0, sizeof(*ret));
	cleanup_free char *made_name = name ? strdup(name) : random_hex(32);
	if (!made_name)
		return husk_fail(err, errno, "a volume name: getrandom");
	if (check_name(made_name, err) < 0)
		return -1;
	struct husk_vol_create_opts o = {.name = made_name, .anonymous = !name};
	cleanup_close int lock = lock_volumes(root, err);
	if (lock < 0 || get_or_make(root, made_name, &o, ret, ret_made, err) < 0)
		return husk_error_wrap(err, "volume \"%s\"", made_name);
	cleanup_free char *ref = husk_strdup_printf("%s/volumes/%s/refs/%s", root, made_name, id);
	int fd = open(ref, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		husk_vol_release(ret);
		return husk_fail(err, e, "volume \"%s\": create \"%s\"", made_name, ref);
	}
	close(fd);
	return 0;
}

void husk_volume_unuse(const char *root, const char *name, const char *id, bool remove_anonymous)
{
	if (!name || !husk_volume_name_ok(name))
		return;
	cleanup_free char *aside = NULL;
	{
		cleanup_close int lock = lock_volumes(root, NULL);
		if (lock < 0)
			return;
		cleanup_free char *ref =
			husk_strdup_printf("%s/volumes/%s/refs/%s", root, name, id);
		unlink(ref);
		struct husk_vol v;
		if (!remove_anonymous || load(root, name, &v, NULL) < 0)
			return;
		/* still counts the container whose dir is not removed yet */
		bool others = false;
		for (size_t i = 0; i < v.n_users; i++)
			others |= strcmp(v.users[i], id) != 0;
		if (v.anonymous && !others)
			move_aside(root, name, &aside, NULL);
		husk_vol_release(&v);
	}
	if (aside)
		husk_engine_rm_rf(aside);
}

/* --- copy-up --- */

/* /proc/self/fd/N: the inode itself, never a path that could be swapped */
#define FDPATH(b, fd) (snprintf((b), sizeof(b), "/proc/self/fd/%d", (fd)), (b))

static int copy_xattrs(int from, int to, const char *what, husk_error **err)
{
	char fp[32], tp[32];
	FDPATH(fp, from);
	FDPATH(tp, to);
	ssize_t n = listxattr(fp, NULL, 0);
	if (n <= 0)
		return 0; /* none, or a filesystem without them */
	cleanup_free char *list = malloc((size_t)n);
	if (!list)
		abort();
	n = listxattr(fp, list, (size_t)n);
	for (char *k = list; n > 0 && k < list + n; k += strlen(k) + 1) {
		ssize_t vn = getxattr(fp, k, NULL, 0);
		if (vn < 0)
			continue;
		cleanup_free char *val = malloc((size_t)vn + 1);
		if (!val)
			abort();
		vn = getxattr(fp, k, val, (size_t)vn);
		if (vn < 0)
			continue;
		if (setxattr(tp, k, val, (size_t)vn, 0) < 0 && errno != ENOTSUP)
			return husk_fail(err, errno, "copy the xattr %s of \"%s\"", k, what);
	}
	return 0;
}

/* owner, mode, xattrs, times of the copy tfd (any type, O_PATH will do)
 * from sfd; the mode after the owner, which clears set-id bits */
static int copy_meta(int sfd, int tfd, const struct stat *st, const char *what, husk_error **err)
{
	char tp[32];
	FDPATH(tp, tfd);
	if (fchownat(tfd, "", st->st_uid, st->st_gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return husk_fail(err, errno, "chown \"%s\"", what);
	if (!S_ISLNK(st->st_mode) && chmod(tp, st->st_mode & 07777) < 0)
		return husk_fail(err, errno, "chmod \"%s\"", what);
	if (copy_xattrs(sfd, tfd, what, err) < 0)
		return -1;
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if (!S_ISLNK(st->st_mode) && utimensat(AT_FDCWD, tp, ts, 0) < 0)
		return husk_fail(err, errno, "set the times of \"%s\"", what);
	return 0;
}

static int copy_data(int sf, int tf, const char *what, husk_error **err)
{
	for (;;) {
		ssize_t c = sendfile(tf, sf, NULL, 1 << 30);
		if (c == 0)
			return 0;
		if (c < 0 && errno != EINTR)
			return husk_fail(err, errno, "copy \"%s\"", what);
	}
}

/* A copy in progress: the volume's root, and the files with more than
 * one link met so far, so that their other names become links again */
struct copy_ctx {
	int root;    /* the data dir */
	size_t skip; /* what to drop of a path to make it relative to root */
	struct seen {
		dev_t dev;
		ino_t ino;
		char *rel;
	} * seen;
	size_t n_seen;
};

static const char *seen_as(const struct copy_ctx *c, const struct stat *st)
{
	for (size_t i = 0; i < c->n_seen; i++)
		if (c->seen[i].dev == st->st_dev && c->seen[i].ino == st->st_ino)
			return c->seen[i].rel;
	return NULL;
}

static void see(struct copy_ctx *c, const struct stat *st, const char *what)
{
	c->seen = realloc(c->seen, (c->n_seen + 1) * sizeof(*c->seen));
	if (!c->seen)
		abort();
	c->seen[c->n_seen++] = (struct seen){st->st_dev, st->st_ino, strdup(what + c->skip)};
}

static int copy_tree(struct copy_ctx *c, int from, int to, const char *path, int depth,
		     husk_error **err);

/* One entry n of dir from into dir to, as what (its path in the image) */
static int copy_entry(struct copy_ctx *c, int from, int to, const char *n, const struct stat *st,
		      const char *what, int depth, husk_error **err)
{
	cleanup_close int sfd = -1, tfd = -1;
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		const char *first = seen_as(c, st);
		if (first) {
			if (linkat(c->root, first, to, n, 0) < 0)
				return husk_fail(err, errno, "link \"%s\"", what);
			return 0;
		}
		see(c, st, what);
	}
	if (S_ISDIR(st->st_mode)) {
		if (mkdirat(to, n, 0700) < 0)
			return husk_fail(err, errno, "mkdir \"%s\"", what);
		sfd = openat(from, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		tfd = openat(to, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0 || tfd < 0)
			return husk_fail(err, errno, "open \"%s\"", what);
		if (copy_tree(c, sfd, tfd, what, depth + 1, err) < 0)
			return -1;
	} else if (S_ISREG(st->st_mode)) {
		sfd = openat(from, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		tfd = openat(to, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (sfd < 0 || tfd < 0)
			return husk_fail(err, errno, "open \"%s\"", what);
		if (copy_data(sfd, tfd, what, err) < 0)
			return -1;
	} else {
		if (S_ISLNK(st->st_mode)) {
			char target[4096];
			ssize_t l = readlinkat(from, n, target, sizeof(target) - 1);
			if (l < 0)
				return husk_fail(err, errno, "readlink \"%s\"", what);
			target[l] = '\0';
			if (symlinkat(target, to, n) < 0)
				return husk_fail(err, errno, "symlink \"%s\"", what);
		} else if (mknodat(to, n, st->st_mode & (S_IFMT | 0600), st->st_rdev) < 0) {
			return husk_fail(err, errno, "mknod \"%s\"", what);
		}
		sfd = openat(from, n, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		tfd = openat(to, n, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0 || tfd < 0)
			return husk_fail(err, errno, "open \"%s\"", what);
	}
	return copy_meta(sfd, tfd, st, what, err);
}

static int copy_tree(struct copy_ctx *c, int from, int to, const char *path, int depth,
		     husk_error **err)
{
	if (depth > 256)
		return husk_fail_as(err, ELOOP, "copy \"%s\": too deep", path);
	int dfd = dup(from);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return husk_fail(err, errno, "read \"%s\"", path);
	}
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(from, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		cleanup_free char *what = husk_strdup_printf("%s/%s", path, de->d_name);
		if (S_ISSOCK(st.st_mode))
			continue; /* a socket is no content */
		r = copy_entry(c, from, to, de->d_name, &st, what, depth, err);
	}
	closedir(d);
	return r;
}

static bool dir_empty(int fd)
{
	int dfd = dup(fd);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return false;
	}
	struct dirent *de;
	bool empty = true;
	while (empty && (de = readdir(d)))
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* what a failed copy left: the volume is empty again, to be filled by
 * the next container that mounts it */
static void empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		cleanup_free char *p = husk_strdup_printf("%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR)
			husk_engine_rm_rf(p);
		else
			unlink(p);
	}
	if (d)
		closedir(d);
}

int husk_volume_copy_up(const char *rootfs, const char *dst, const char *data, husk_error **err)
{
	cleanup_close int to = open(data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (to < 0)
		return husk_fail(err, errno, "open \"%s\"", data);
	while (flock(to, LOCK_EX) < 0)
		if (errno != EINTR)
			return husk_fail(err, errno, "lock \"%s\"", data);
	if (!dir_empty(to))
		return 0;
	cleanup_close int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return husk_fail(err, errno, "open \"%s\"", rootfs);
	/* inside the root: a symlink in the image resolves within it */
	cleanup_close int from = husk_open_in_root(rootfd, dst, O_RDONLY | O_DIRECTORY, NULL);
	if (from < 0)
		return 0; /* nothing there, or not a directory: nothing to copy */
	struct stat st;
	if (fstat(from, &st) < 0)
		return husk_fail(err, errno, "stat \"%s\" in the image", dst);
	/* what paths start with below: dst and its slash */
	struct copy_ctx c = {.root = to, .skip = strlen(dst) + 1};
	int r = copy_tree(&c, from, to, dst, 0, err) < 0 || copy_meta(from, to, &st, dst, err) < 0
			? -1
			: 0;
	for (size_t i = 0; i < c.n_seen; i++)
		free(c.seen[i].rel);
	free(c.seen);
	if (r < 0) {
		empty_dir(data);
		return husk_error_wrap(err, "copy \"%s\" of the image into the volume", dst);
	}
	return 0;
}

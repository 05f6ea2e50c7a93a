/* COPY and ADD: sources, their content hash and the copy, as Docker's
 * reference says:
 *  - sources are relative to their root (the context, or a stage's or an
 *    image's root for --from); "../" out of it is refused; globs are
 *    matched one component at a time (Go's filepath.Match: '*' also
 *    takes a leading '.'), results sorted; .dockerignore'd files are not
 *    there;
 *  - a directory's contents are copied, not the directory itself; a file
 *    goes to DEST/its name when DEST ends with '/' or is a directory, else
 *    to DEST; several sources need a DEST ending with '/';
 *  - what is copied keeps its mode and mtime, owned by 0:0 or --chown's
 *    ids, --chmod over the mode; directories made for DEST are 0755 with
 *    the same owner; symlinks are copied as links, except a source named
 *    directly, which is followed;
 *  - ADD unpacks a local tar (plain, gzip, bzip2, xz, zstd) into DEST,
 *    keeping the archive's owners.  URLs are not taken.
 * The merged root of the step is written through, so overlay copies up
 * what the copy changes (parent directories keep their attributes). */
#define _GNU_SOURCE
#include "copy.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lazy.h"
#include "util.h"

static int open_in(int root, const char *rel, int flags)
{
	struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	return (int)syscall(SYS_openat2, root, *rel ? rel : ".", &how, sizeof(how));
}

char *husk_copy_clean(const char *path)
{
	size_t len = strlen(path);
	char *out = calloc(1, len + 1);
	if (!out)
		abort();
	size_t n = 0;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t l = (size_t)(e - p);
		if (l == 0 || (l == 1 && p[0] == '.')) {
			/* nothing */
		} else if (l == 2 && p[0] == '.' && p[1] == '.') {
			if (n == 0) {
				free(out);
				return NULL;
			}
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
		} else {
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, l);
			n += l;
		}
		p = e;
	}
	out[n] = '\0';
	return out;
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static bool excluded(const struct husk_copy_opts *o, const char *rel)
{
	return o->ignore && *rel && husk_ignore_excluded(o->ignore, rel);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the names in dir, sorted */
static int list_dir(int dirfd, char ***ret, size_t *ret_n)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			husk_strv_push(&v, &n, strdup(de->d_name));
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*ret = v;
	*ret_n = n;
	return 0;
}

static void glob_walk(int root, const char *prefix, char **comps, size_t nc,
		      const struct husk_copy_opts *o, char ***out, size_t *n_out)
{
	if (nc == 0) {
		husk_strv_push(out, n_out, strdup(prefix));
		return;
	}
	cleanup_close int dfd = open_in(root, prefix, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return;
	if (!has_glob(comps[0])) {
		cleanup_free char *p =
			husk_strdup_printf("%s%s%s", prefix, *prefix ? "/" : "", comps[0]);
		struct stat st;
		if (fstatat(dfd, comps[0], &st, AT_SYMLINK_NOFOLLOW) == 0 && !excluded(o, p))
			glob_walk(root, p, comps + 1, nc - 1, o, out, n_out);
		return;
	}
	char **names = NULL;
	size_t nn = 0;
	if (list_dir(dfd, &names, &nn) < 0)
		return;
	for (size_t i = 0; i < nn; i++) {
		if (fnmatch(comps[0], names[i], 0) != 0)
			continue;
		cleanup_free char *p =
			husk_strdup_printf("%s%s%s", prefix, *prefix ? "/" : "", names[i]);
		if (!excluded(o, p))
			glob_walk(root, p, comps + 1, nc - 1, o, out, n_out);
	}
	husk_strv_free(names, nn);
}

int husk_copy_sources(int src_root, const char *const *patterns, size_t n,
		      const struct husk_copy_opts *o, char ***ret, size_t *ret_n, husk_error **err)
{
	char **out = NULL;
	size_t n_out = 0;
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *c = husk_copy_clean(patterns[i]);
		if (!c) {
			husk_strv_free(out, n_out);
			return husk_fail_as(err, EINVAL,
					    "\"%s\": forbidden path outside the build context",
					    patterns[i]);
		}
		if (has_glob(c)) {
			char **comps = NULL;
			size_t nc = 0;
			cleanup_free char *copy = strdup(c);
			char *save = NULL;
			for (char *t = strtok_r(copy, "/", &save); t;
			     t = strtok_r(NULL, "/", &save))
				husk_strv_push(&comps, &nc, strdup(t));
			size_t before = n_out;
			glob_walk(src_root, "", comps, nc, o, &out, &n_out);
			husk_strv_free(comps, nc);
			if (n_out == before) {
				husk_strv_free(out, n_out);
				return husk_fail_as(err, ENOENT,
						    "no source files were specified: no file "
						    "matches \"%s\"",
						    patterns[i]);
			}
			continue;
		}
		int fd = open_in(src_root, c, O_PATH);
		if (fd < 0 || excluded(o, c)) {
			int e = fd < 0 ? errno : ENOENT;
			if (fd >= 0)
				close(fd);
			husk_strv_free(out, n_out);
			if (e == EXDEV || e == ELOOP)
				return husk_fail_as(err, EINVAL,
						    "\"%s\": forbidden path outside the build "
						    "context",
						    patterns[i]);
			return husk_fail_as(
				err, ENOENT,
				"\"%s\": no such file or directory in the build context%s",
				patterns[i], o->ignore ? " (or excluded by .dockerignore)" : "");
		}
		close(fd);
		husk_strv_push(&out, &n_out, steal_ptr(c));
	}
	*ret = out;
	*ret_n = n_out;
	return 0;
}

/* --- the entries a source gives --- */

/* An entry as the walk finds it: src relative to the source root, dst
 * relative to the target ("" for the target itself), and (for a walk
 * below a directory) the dir that holds it and its name there */
struct found {
	const char *src;
	const char *dst;
	int dfd; /* -1: a source named directly, src from the root */
	const char *name;
	const struct stat *st;
};

typedef int (*found_fn)(void *ud, const struct found *f, husk_error **err);

struct walker {
	const struct husk_copy_opts *o;
	found_fn fn;
	void *ud;
	size_t dst_off; /* where dst starts in path */
	char path[PATH_MAX];
};

/* below the dir path[0, len) (fd dfd), preorder, sorted; nothing kept
 * but the path being walked, so that a cached build's walk of a large
 * context touches little memory */
static int walk(struct walker *w, int dfd, size_t len, husk_error **err);

/* the entry name in the dir path[0, len) (fd dfd), and below it */
static int walk_one(struct walker *w, int dfd, size_t len, const char *name, husk_error **err)
{
	size_t nl = strlen(name);
	size_t at = len ? len + 1 : 0;
	if (at + nl >= sizeof(w->path))
		return husk_fail(err, ENAMETOOLONG, "\"%s/%s\"", w->path, name);
	if (len)
		w->path[len] = '/';
	memcpy(w->path + at, name, nl + 1);
	struct stat st;
	int r = 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = husk_fail(err, errno, "stat \"%s\"", w->path);
	else if ((excluded(w->o, w->path) &&
		  !(S_ISDIR(st.st_mode) && husk_ignore_may_include_below(w->o->ignore, w->path))) ||
		 S_ISSOCK(st.st_mode))
		r = 0;
	else {
		struct found f = {.src = w->path,
				  .dst = w->path + w->dst_off,
				  .dfd = dfd,
				  .name = name,
				  .st = &st};
		r = w->fn(w->ud, &f, err);
		if (r == 0 && S_ISDIR(st.st_mode)) {
			cleanup_close int sub =
				openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				r = husk_fail(err, errno, "open \"%s\"", w->path);
			else
				r = walk(w, sub, at + nl, err);
		}
	}
	w->path[len] = '\0';
	return r;
}

static int walk(struct walker *w, int dfd, size_t len, husk_error **err)
{
	char **names = NULL;
	size_t nn = 0;
	if (list_dir(dfd, &names, &nn) < 0)
		return husk_fail(err, errno, "read \"%s\"", w->path);
	int r = 0;
	for (size_t i = 0; i < nn && r == 0; i++)
		r = walk_one(w, dfd, len, names[i], err);
	husk_strv_free(names, nn);
	return r;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* one source: a dir's contents (dst relative to the target dir), or a
 * file as its base name, each given to fn */
static int each_entry(int root, const char *path, const struct husk_copy_opts *o, found_fn fn,
		      void *ud, bool *ret_dir, husk_error **err)
{
	/* a source named directly is followed (O_PATH: a fifo does not block) */
	cleanup_close int fd = open_in(root, path, O_PATH);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return husk_fail(err, errno, "stat \"%s\"", path);
	*ret_dir = S_ISDIR(st.st_mode);
	if (!*ret_dir) {
		struct found f = {
			.src = path, .dst = base_name(*path ? path : "."), .dfd = -1, .st = &st};
		return fn(ud, &f, err);
	}
	struct walker *w = malloc(sizeof(*w));
	if (!w)
		abort();
	size_t len = strlen(path);
	if (len >= sizeof(w->path)) {
		free(w);
		return husk_fail(err, ENAMETOOLONG, "\"%s\"", path);
	}
	*w = (struct walker){.o = o, .fn = fn, .ud = ud, .dst_off = len ? len + 1 : 0};
	memcpy(w->path, path, len + 1);
	cleanup_close int dfd = open_in(root, path, O_RDONLY | O_DIRECTORY);
	int r = dfd < 0 ? husk_fail(err, errno, "open \"%s\"", path) : walk(w, dfd, len, err);
	free(w);
	return r;
}

/* the entries, kept for the copy */
struct entry {
	char *src; /* relative to the source root */
	char *dst; /* relative to the target: "" for the target itself */
	struct stat st;
	ssize_t parent; /* the entry of its dir; -1: the target */
	bool fresh;	/* a dir that the copy made (nothing else is in it) */
};

struct entries {
	struct entry *v;
	size_t n, cap;
	size_t *dirs; /* the dirs above the last entry, as a stack */
	size_t n_dirs, cap_dirs;
};

static void entries_free(struct entries *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].src);
		free(e->v[i].dst);
	}
	free(e->v);
	free(e->dirs);
	*e = (struct entries){0};
}

static int add_found(void *ud, const struct found *f, husk_error **err)
{
	(void)err;
	struct entries *e = ud;
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 64;
		e->v = realloc(e->v, e->cap * sizeof(*e->v));
		if (!e->v)
			abort();
	}
	/* the walk is preorder: the dir of this entry is on the stack */
	size_t dl = strlen(f->dst);
	while (e->n_dirs) {
		const char *d = e->v[e->dirs[e->n_dirs - 1]].dst;
		size_t l = strlen(d);
		if (l < dl && f->dst[l] == '/' && strncmp(d, f->dst, l) == 0)
			break;
		e->n_dirs--;
	}
	ssize_t parent = e->n_dirs ? (ssize_t)e->dirs[e->n_dirs - 1] : -1;
	if (S_ISDIR(f->st->st_mode) && *f->dst) {
		if (e->n_dirs == e->cap_dirs) {
			e->cap_dirs = e->cap_dirs ? e->cap_dirs * 2 : 16;
			e->dirs = realloc(e->dirs, e->cap_dirs * sizeof(*e->dirs));
			if (!e->dirs)
				abort();
		}
		e->dirs[e->n_dirs++] = e->n;
	}
	e->v[e->n++] = (struct entry){
		.src = strdup(f->src), .dst = strdup(f->dst), .st = *f->st, .parent = parent};
	return 0;
}

static int collect(int root, const char *path, const struct husk_copy_opts *o, struct entries *e,
		   bool *ret_dir, husk_error **err)
{
	return each_entry(root, path, o, add_found, e, ret_dir, err);
}

static mode_t mode_of(const struct husk_copy_opts *o, const struct stat *st)
{
	return o->chmod >= 0 ? (mode_t)o->chmod : st->st_mode & 07777;
}

/* --- the hash --- */

/* Where the hash's bytes go: the digest, or (a part of the walk done by
 * another thread) a buffer given to the digest later, in order */
struct sink {
	EVP_MD_CTX *md; /* NULL: into buf */
	char *buf;
	size_t len, cap;
};

static void sink_put(struct sink *s, const void *p, size_t n)
{
	if (s->md) {
		EVP_DigestUpdate(s->md, p, n);
		return;
	}
	if (s->len + n > s->cap) {
		s->cap = s->cap * 2 > s->len + n ? s->cap * 2 : s->len + n + 4096;
		s->buf = realloc(s->buf, s->cap);
		if (!s->buf)
			abort();
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

/* a file's content as its own sha256, from o's cache when its stat (st)
 * is the one it was hashed with */
static int hash_file(struct sink *md, int root, const struct found *en,
		     const struct husk_copy_opts *o, husk_error **err)
{
	const char *path = en->src;
	unsigned char d[EVP_MAX_MD_SIZE];
	if (husk_hash_cache_get(o->hash_cache, path, en->st, d)) {
		sink_put(md, d, 32);
		return 0;
	}
	cleanup_close int fd = en->dfd >= 0 ? openat(en->dfd, en->name,
						     O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC)
					    : open_in(root, path, O_RDONLY);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", path);
	/* its times now: a write between the stat and the read makes them
	 * differ from the cached ones next time */
	struct stat now;
	if (fstat(fd, &now) < 0)
		return husk_fail(err, errno, "stat \"%s\"", path);
	EVP_MD_CTX *f = EVP_MD_CTX_new();
	if (!f || EVP_DigestInit_ex(f, EVP_sha256(), NULL) != 1)
		abort();
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			EVP_MD_CTX_free(f);
			return husk_fail(err, errno, "read \"%s\"", path);
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(f, buf, (size_t)n);
	}
	unsigned int dn = 0;
	EVP_DigestFinal_ex(f, d, &dn);
	EVP_MD_CTX_free(f);
	struct stat after;
	if (fstat(fd, &after) == 0 && after.st_ctim.tv_sec == now.st_ctim.tv_sec &&
	    after.st_ctim.tv_nsec == now.st_ctim.tv_nsec)
		husk_hash_cache_put(o->hash_cache, path, &now, d);
	sink_put(md, d, 32);
	return 0;
}

struct hasher {
	struct sink *out;
	int root;
	const struct husk_copy_opts *o;
};

/* "%o %u %u %llu" without printf: a cached build hashes one line per
 * file of the context */
static char *put_num(char *p, unsigned long long v, unsigned base)
{
	char tmp[24];
	int n = 0;
	do
		tmp[n++] = (char)('0' + v % base);
	while ((v /= base));
	while (n)
		*p++ = tmp[--n];
	return p;
}

static int hash_found(void *ud, const struct found *en, husk_error **err)
{
	struct hasher *h = ud;
	const struct husk_copy_opts *o = h->o;
	const struct stat *st = en->st;
	char line[128], *p = line;
	/* "\n%o %u %u %llu\n": a source named directly may be a symlink
	 * followed: its content is what counts, found by the same open */
	*p++ = '\n';
	p = put_num(p, mode_of(o, st) | (st->st_mode & S_IFMT), 8);
	*p++ = ' ';
	p = put_num(p, o->chown ? o->uid : 0, 10);
	*p++ = ' ';
	p = put_num(p, o->chown ? o->gid : 0, 10);
	*p++ = ' ';
	p = put_num(p, S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) ? st->st_rdev : 0, 10);
	*p++ = '\n';
	sink_put(h->out, en->dst, strlen(en->dst) + 1);
	sink_put(h->out, line, (size_t)(p - line));
	if (S_ISREG(st->st_mode))
		return hash_file(h->out, h->root, en, o, err);
	if (S_ISLNK(st->st_mode)) {
		char t[4096];
		ssize_t l;
		if (en->dfd >= 0) {
			l = readlinkat(en->dfd, en->name, t, sizeof(t) - 1);
		} else {
			cleanup_free char *parent = strdup(en->src);
			char *sl = strrchr(parent, '/');
			if (sl)
				*sl = '\0';
			else
				parent[0] = '\0';
			cleanup_close int pfd = open_in(h->root, parent, O_PATH | O_DIRECTORY);
			l = pfd < 0 ? -1 : readlinkat(pfd, base_name(en->src), t, sizeof(t) - 1);
		}
		if (l < 0)
			return husk_fail(err, errno, "readlink \"%s\"", en->src);
		sink_put(h->out, t, (size_t)l);
	}
	return 0;
}

/* A dir source's walk for its hash, on every CPU: each name at its top
 * (and what is below it) is a task whose bytes are kept, then given to
 * the digest in order.  A fully cached build spends most of its time in
 * this walk, a stat a file, and a large context has most of its files
 * below a few dirs. */
struct ptask {
	const char *name;
	struct sink out;
	husk_error *err;
	int r;
};

struct pwalk {
	int root, dfd;
	const struct husk_copy_opts *o;
	const char *path; /* the source */
	size_t len;
	struct ptask *tasks;
	size_t n, next;
};

static void *pwalk_main(void *arg)
{
	struct pwalk *p = arg;
	struct walker *w = malloc(sizeof(*w));
	if (!w)
		abort();
	struct hasher h = {.root = p->root, .o = p->o};
	*w = (struct walker){
		.o = p->o, .fn = hash_found, .ud = &h, .dst_off = p->len ? p->len + 1 : 0};
	memcpy(w->path, p->path, p->len + 1);
	for (;;) {
		size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
		if (i >= p->n)
			break;
		h.out = &p->tasks[i].out;
		p->tasks[i].r = walk_one(w, p->dfd, p->len, p->tasks[i].name, &p->tasks[i].err);
	}
	free(w);
	return NULL;
}

static int hash_dir_parallel(int root, const char *path, const struct husk_copy_opts *o,
			     struct sink *out, husk_error **err)
{
	size_t len = strlen(path);
	if (len >= PATH_MAX)
		return husk_fail(err, ENAMETOOLONG, "\"%s\"", path);
	cleanup_close int dfd = open_in(root, path, O_RDONLY | O_DIRECTORY);
	char **names = NULL;
	size_t nn = 0;
	if (dfd < 0 || list_dir(dfd, &names, &nn) < 0)
		return husk_fail(err, errno, "read \"%s\"", path);
	struct pwalk p = {.root = root, .dfd = dfd, .o = o, .path = path, .len = len, .n = nn};
	p.tasks = calloc(nn + 1, sizeof(*p.tasks));
	if (!p.tasks)
		abort();
	for (size_t i = 0; i < nn; i++)
		p.tasks[i].name = names[i];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n_threads = cpus > 4 ? 4 : cpus > 1 ? (size_t)cpus : 1;
	if (n_threads > nn)
		n_threads = nn ? nn : 1;
	pthread_t th[4];
	size_t started = 0;
	while (started + 1 < n_threads && pthread_create(&th[started], NULL, pwalk_main, &p) == 0)
		started++;
	pwalk_main(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	int r = 0;
	for (size_t i = 0; i < nn; i++) {
		if (r == 0 && p.tasks[i].r < 0) {
			r = -1;
			if (err)
				*err = steal_ptr(p.tasks[i].err);
		}
		if (r == 0)
			sink_put(out, p.tasks[i].out.buf, p.tasks[i].out.len);
		husk_error_free(p.tasks[i].err);
		free(p.tasks[i].out.buf);
	}
	free(p.tasks);
	husk_strv_free(names, nn);
	return r;
}

int husk_copy_hash(int src_root, char *const *paths, size_t n, const struct husk_copy_opts *o,
		   char ret_hex[65], husk_error **err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return husk_fail(err, ENOMEM, "sha256");
	}
	struct sink out = {.md = md};
	struct hasher h = {.out = &out, .root = src_root, .o = o};
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		/* the head first: the entries follow it in the stream */
		cleanup_close int fd = open_in(src_root, paths[i], O_PATH);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			r = husk_fail(err, errno, "open \"%s\"", paths[i]);
			break;
		}
		char head[128];
		snprintf(head, sizeof(head), "source %zu %s\n", i,
			 S_ISDIR(st.st_mode) ? "dir" : "file");
		EVP_DigestUpdate(md, head, strlen(head));
		bool dir = false;
		r = S_ISDIR(st.st_mode)
			    ? hash_dir_parallel(src_root, paths[i], o, &out, err)
			    : each_entry(src_root, paths[i], o, hash_found, &h, &dir, err);
	}
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_DigestFinal_ex(md, d, &len);
	EVP_MD_CTX_free(md);
	for (unsigned int i = 0; i < len && i < 32; i++)
		snprintf(ret_hex + 2 * i, 3, "%02x", d[i]);
	return r;
}

/* --- writing into the destination root --- */

int husk_copy_mkdir_p(int root, const char *path, const struct husk_copy_opts *o, husk_error **err)
{
	cleanup_free char *c = husk_copy_clean(path);
	if (!c)
		c = strdup("");
	int fd = open_in(root, "", O_PATH | O_DIRECTORY);
	if (fd < 0)
		return husk_fail(err, errno, "open the root");
	char *save = NULL;
	for (char *t = strtok_r(c, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		int next = -1;
		struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
		/* resolved from the root, so that a symlink on the way stays
		 * inside it */
		next = (int)syscall(SYS_openat2, fd, t, &how, sizeof(how));
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(fd, t, 0755) < 0 && errno != EEXIST) {
				int e = errno;
				close(fd);
				return husk_fail(err, e, "mkdir \"%s\"", path);
			}
			if (fchownat(fd, t, o->chown ? o->uid : 0, o->chown ? o->gid : 0,
				     AT_SYMLINK_NOFOLLOW) < 0) {
				int e = errno;
				close(fd);
				return husk_fail(err, e, "chown \"%s\"", path);
			}
			next = (int)syscall(SYS_openat2, fd, t, &how, sizeof(how));
		}
		int e = errno;
		close(fd);
		if (next < 0)
			return husk_fail(err, e == ENOTDIR ? ENOTDIR : e, "\"%s\": not a directory",
					 path);
		fd = next;
	}
	return fd;
}

static int copy_data(int in, int out)
{
	for (;;) {
		ssize_t n = sendfile(out, in, NULL, 1 << 30);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EINVAL || errno == ENOSYS))
			break;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
	}
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		if (husk_write_all(out, buf, (size_t)n) < 0)
			return -1;
	}
}

/* make room for a new name: whatever non-directory is there goes */
static int clear_name(int dfd, const char *name, bool want_dir)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		if (want_dir)
			return 0;
		errno = EISDIR;
		return -1;
	}
	return unlinkat(dfd, name, 0);
}

static int set_attrs(int dfd, const char *name, int fd, mode_t mode, uid_t uid, gid_t gid,
		     const struct stat *src, bool link)
{
	struct timespec ts[2] = {src->st_mtim, src->st_mtim};
	if (link)
		return fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
				       utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0
			       ? -1
			       : 0;
	if (fd >= 0)
		return fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0 || futimens(fd, ts) < 0 ? -1
												: 0;
	return fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
			       fchmodat(dfd, name, mode, 0) < 0 || utimensat(dfd, name, ts, 0) < 0
		       ? -1
		       : 0;
}

/* entry (already stat'ed in the source) as name in dfd; plan: the
 * source's (NULL: none), may_link: whether the file may be left to it
 * (its dir is in the upper dir already) */
static int put_entry(int src_root, struct entry *en, int dfd, const char *name,
		     const struct husk_copy_opts *o, struct husk_copy_plan *plan, bool may_link,
		     bool in_fresh, husk_error **err)
{
	const struct stat *st = &en->st;
	uid_t uid = o->chown ? o->uid : 0;
	gid_t gid = o->chown ? o->gid : 0;
	mode_t mode = mode_of(o, st);
	unsigned char sha[32];
	if (plan && S_ISREG(st->st_mode) &&
	    husk_copy_plan_file(plan, en->dst, en->src, st, mode, uid, gid,
				husk_hash_cache_get(o->hash_cache, en->src, st, sha) ? sha : NULL,
				may_link)) {
		/* a link, made later: only what would stop the copy is
		 * checked now (what else is there is hidden by the link), and
		 * nothing is in a dir this copy made */
		struct stat cur;
		if (!in_fresh && fstatat(dfd, name, &cur, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(cur.st_mode))
			return husk_fail(err, EISDIR, "cannot replace \"%s\" with a file", en->dst);
		return 0;
	}
	if (!in_fresh && clear_name(dfd, name, S_ISDIR(st->st_mode)) < 0)
		return husk_fail(err, errno, "cannot replace \"%s\" with a file", en->dst);
	if (S_ISREG(st->st_mode)) {
		cleanup_close int in = open_in(src_root, en->src, O_RDONLY);
		if (in < 0)
			return husk_fail(err, errno, "open \"%s\"", en->src);
		cleanup_close int out = openat(
			dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0 || copy_data(in, out) < 0 ||
		    set_attrs(dfd, name, out, mode, uid, gid, st, false) < 0)
			return husk_fail(err, errno, "copy \"%s\"", en->src);
		return 0;
	}
	if (S_ISDIR(st->st_mode)) {
		en->fresh = mkdirat(dfd, name, 0700) == 0;
		if (!en->fresh && errno != EEXIST)
			return husk_fail(err, errno, "mkdir \"%s\"", en->dst);
		cleanup_close int fd =
			openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || set_attrs(dfd, name, fd, mode, uid, gid, st, false) < 0)
			return husk_fail(err, errno, "directory \"%s\"", en->dst);
		/* what is written in it changes its mtime: set again after */
		husk_copy_plan_dir(plan, en->dst, &st->st_mtim);
		return 0;
	}
	if (S_ISLNK(st->st_mode)) {
		char t[4096];
		cleanup_free char *parent = strdup(en->src);
		char *sl = strrchr(parent, '/');
		if (sl)
			*sl = '\0';
		else
			parent[0] = '\0';
		cleanup_close int pfd = open_in(src_root, parent, O_PATH | O_DIRECTORY);
		ssize_t l = pfd < 0 ? -1 : readlinkat(pfd, base_name(en->src), t, sizeof(t) - 1);
		if (l < 0)
			return husk_fail(err, errno, "readlink \"%s\"", en->src);
		t[l] = '\0';
		if (symlinkat(t, dfd, name) < 0 ||
		    set_attrs(dfd, name, -1, 0, uid, gid, st, true) < 0)
			return husk_fail(err, errno, "symlink \"%s\"", en->dst);
		return 0;
	}
	if (mknodat(dfd, name, st->st_mode & S_IFMT, st->st_rdev) < 0 ||
	    set_attrs(dfd, name, -1, mode, uid, gid, st, false) < 0)
		return husk_fail(err, errno, "mknod \"%s\"", en->dst);
	return 0;
}

static bool is_dir_in(int root, const char *path)
{
	cleanup_free char *c = husk_copy_clean(path);
	if (!c)
		return false;
	cleanup_close int fd = open_in(root, c, O_PATH);
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
}

/* the dir that holds the entry dst (relative to target) */
static int parent_fd(int dst_root, const char *target, const char *dst, husk_error **err)
{
	cleanup_free char *p = husk_strdup_printf("%s/%s", target, dst);
	char *sl = strrchr(p, '/');
	*sl = '\0';
	cleanup_free char *c = husk_copy_clean(p);
	int fd = c ? open_in(dst_root, c, O_PATH | O_DIRECTORY) : -1;
	if (fd < 0)
		return husk_fail(err, errno ? errno : EINVAL, "\"%s\": not a directory", p);
	return fd;
}

/* --- ADD: a local tar unpacked --- */

static struct archive *open_archive(int fd)
{
	struct archive *a = archive_read_new();
	if (!a)
		return NULL;
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

static bool is_archive(int root, const char *path)
{
	cleanup_close int fd = open_in(root, path, O_RDONLY);
	if (fd < 0)
		return false;
	struct archive *a = open_archive(fd);
	if (!a)
		return false;
	struct archive_entry *e;
	bool ok = archive_read_next_header(a, &e) == ARCHIVE_OK;
	archive_read_free(a);
	return ok;
}

static int unpack(int src_root, const char *path, int dst_root, const char *target,
		  husk_error **err)
{
	cleanup_close int fd = open_in(src_root, path, O_RDONLY);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", path);
	struct archive *a = open_archive(fd);
	if (!a)
		return husk_fail(err, EINVAL, "\"%s\": not an archive", path);
	struct archive_entry *ae;
	int r = 0, ar;
	struct husk_copy_opts root_owner = {.chmod = -1};
	while (r == 0 && (ar = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		cleanup_free char *name = husk_copy_clean(archive_entry_pathname(ae));
		if (!name) {
			r = husk_fail_as(err, EINVAL, "\"%s\": entry \"%s\" leaves its root", path,
					 archive_entry_pathname(ae));
			break;
		}
		if (!*name)
			continue;
		cleanup_free char *full = husk_strdup_printf("%s/%s", target, name);
		cleanup_free char *dir = strdup(full);
		*strrchr(dir, '/') = '\0';
		cleanup_close int dfd = husk_copy_mkdir_p(dst_root, dir, &root_owner, err);
		if (dfd < 0) {
			r = -1;
			break;
		}
		const char *base = base_name(name);
		struct stat st = {0};
		st.st_mode = archive_entry_filetype(ae) | archive_entry_perm(ae);
		st.st_mtim.tv_sec = archive_entry_mtime(ae);
		st.st_mtim.tv_nsec = archive_entry_mtime_nsec(ae);
		struct husk_copy_opts own = {.chown = true,
					     .uid = (uid_t)archive_entry_uid(ae),
					     .gid = (gid_t)archive_entry_gid(ae),
					     .chmod = archive_entry_perm(ae)};
		const char *hl = archive_entry_hardlink(ae);
		if (clear_name(dfd, base, S_ISDIR(st.st_mode)) < 0) {
			r = husk_fail(err, errno, "\"%s\": cannot replace \"%s\"", path, name);
			break;
		}
		if (hl) {
			cleanup_free char *t = husk_copy_clean(hl);
			cleanup_free char *tfull =
				t ? husk_strdup_printf("%s/%s", target, t) : NULL;
			cleanup_free char *tc = tfull ? husk_copy_clean(tfull) : NULL;
			cleanup_close int tfd =
				tc ? open_in(dst_root, tc, O_PATH | O_NOFOLLOW) : -1;
			char proc[64];
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", tfd);
			if (tfd < 0 || linkat(AT_FDCWD, proc, dfd, base, AT_SYMLINK_FOLLOW) < 0)
				r = husk_fail(err, errno, "\"%s\": hard link \"%s\"", path, name);
			continue;
		}
		if (S_ISREG(st.st_mode)) {
			cleanup_close int out =
				openat(dfd, base,
				       O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (out < 0) {
				r = husk_fail(err, errno, "\"%s\": create \"%s\"", path, name);
				break;
			}
			const void *buf;
			size_t size;
			la_int64_t off;
			int dr;
			while ((dr = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK)
				if (pwrite(out, buf, size, off) != (ssize_t)size) {
					dr = ARCHIVE_FATAL;
					break;
				}
			if (dr != ARCHIVE_EOF ||
			    set_attrs(dfd, base, out, own.chmod, own.uid, own.gid, &st, false) < 0)
				r = husk_fail(err, errno ? errno : EIO, "\"%s\": write \"%s\"",
					      path, name);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if ((mkdirat(dfd, base, 0700) < 0 && errno != EEXIST) ||
			    set_attrs(dfd, base, -1, own.chmod, own.uid, own.gid, &st, false) < 0)
				r = husk_fail(err, errno, "\"%s\": mkdir \"%s\"", path, name);
			continue;
		}
		if (S_ISLNK(st.st_mode)) {
			if (symlinkat(archive_entry_symlink(ae), dfd, base) < 0 ||
			    set_attrs(dfd, base, -1, 0, own.uid, own.gid, &st, true) < 0)
				r = husk_fail(err, errno, "\"%s\": symlink \"%s\"", path, name);
			continue;
		}
		if (mknodat(dfd, base, st.st_mode, archive_entry_rdev(ae)) < 0 ||
		    set_attrs(dfd, base, -1, own.chmod, own.uid, own.gid, &st, false) < 0)
			r = husk_fail(err, errno, "\"%s\": mknod \"%s\"", path, name);
	}
	if (r == 0 && ar != ARCHIVE_EOF)
		r = husk_fail(err, EIO, "\"%s\": %s", path, archive_error_string(a));
	archive_read_free(a);
	return r;
}

int husk_copy(int src_root, char *const *paths, size_t n, int dst_root, const char *dest,
	      const struct husk_copy_opts *o, husk_error **err)
{
	size_t dl = strlen(dest);
	bool dest_dir = (dl > 0 && dest[dl - 1] == '/') || n > 1;
	if (o->add && husk_lazy_archive(err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct entries e = {0};
		bool dir = false;
		if (collect(src_root, paths[i], o, &e, &dir, err) < 0) {
			entries_free(&e);
			return -1;
		}
		int r = 0;
		if (!dir && o->add && S_ISREG(e.v[0].st.st_mode) &&
		    is_archive(src_root, paths[i])) {
			cleanup_close int t = husk_copy_mkdir_p(dst_root, dest, o, err);
			r = t < 0 ? -1 : unpack(src_root, paths[i], dst_root, dest, err);
			entries_free(&e);
			if (r < 0)
				return -1;
			continue;
		}
		/* the target: dest as a directory, or (one file) its parent */
		cleanup_free char *target = NULL;
		cleanup_free char *fname = NULL;
		if (dir || dest_dir || is_dir_in(dst_root, dest)) {
			target = strdup(dest);
		} else {
			cleanup_free char *c = husk_copy_clean(dest);
			const char *sl = c ? strrchr(c, '/') : NULL;
			target = sl ? strndup(c, (size_t)(sl - c)) : strdup("");
			fname = strdup(c ? base_name(c) : "");
			if (!*fname) {
				entries_free(&e);
				return husk_fail_as(err, EINVAL, "\"%s\": not a file name", dest);
			}
		}
		cleanup_close int tfd = husk_copy_mkdir_p(dst_root, target, o, err);
		if (tfd < 0) {
			entries_free(&e);
			return -1;
		}
		/* a directory's contents: the plan knows where they go in the
		 * upper dir.  A file may be left to it when its dir is there
		 * already: one of this copy's dirs, or the target once
		 * something was written in it */
		struct husk_copy_plan *plan = NULL;
		if (!fname && husk_copy_plan_target(o->plan, dst_root, tfd))
			plan = o->plan;
		bool target_up = false;
		int last = -1;
		cleanup_free char *last_dir = NULL;
		for (size_t k = 0; r == 0 && k < e.n; k++) {
			const char *d = e.v[k].dst;
			if (fname) {
				r = put_entry(src_root, &e.v[k], tfd, fname, o, NULL, false, false,
					      err);
				break;
			}
			const char *sl = strrchr(d, '/');
			if (!sl) {
				r = put_entry(src_root, &e.v[k], tfd, d, o, plan, target_up, false,
					      err);
				target_up = true;
				continue;
			}
			size_t pl = (size_t)(sl - d);
			if (!last_dir || strlen(last_dir) != pl || strncmp(last_dir, d, pl) != 0) {
				closep_(&last);
				free(last_dir);
				last_dir = strndup(d, pl);
				last = parent_fd(dst_root, target, d, err);
				if (last < 0) {
					r = -1;
					break;
				}
			}
			ssize_t pi = e.v[k].parent;
			r = put_entry(src_root, &e.v[k], last, sl + 1, o, plan, true,
				      pi >= 0 && e.v[pi].fresh, err);
		}
		closep_(&last);
		entries_free(&e);
		if (r < 0)
			return -1;
	}
	return 0;
}

int husk_copy_content(int dst_root, const char *dest, const char *name, const char *content,
		      const struct husk_copy_opts *o, husk_error **err)
{
	size_t dl = strlen(dest);
	bool dest_dir = (dl > 0 && dest[dl - 1] == '/') || is_dir_in(dst_root, dest);
	cleanup_free char *c = husk_copy_clean(dest);
	if (!c)
		c = strdup("");
	cleanup_free char *target = NULL, *fname = NULL;
	if (dest_dir) {
		target = strdup(c);
		fname = strdup(name);
	} else {
		const char *sl = strrchr(c, '/');
		target = sl ? strndup(c, (size_t)(sl - c)) : strdup("");
		fname = strdup(base_name(c));
	}
	cleanup_close int tfd = husk_copy_mkdir_p(dst_root, target, o, err);
	if (tfd < 0)
		return -1;
	if (clear_name(tfd, fname, false) < 0)
		return husk_fail(err, errno, "\"%s\"", dest);
	cleanup_close int out =
		openat(tfd, fname, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat now = {0};
	clock_gettime(CLOCK_REALTIME, &now.st_mtim);
	if (out < 0 || husk_write_all(out, content, strlen(content)) < 0 ||
	    set_attrs(tfd, fname, out, o->chmod >= 0 ? (mode_t)o->chmod : 0644,
		      o->chown ? o->uid : 0, o->chown ? o->gid : 0, &now, false) < 0)
		return husk_fail(err, errno, "write \"%s\"", dest);
	return 0;
}

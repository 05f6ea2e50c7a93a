/* A directory tree as a tar stream, written by one safe walker: `husk cp`
 * out of a container, `husk export` of its root, and the layer `husk
 * commit` (and later the builder) makes of a container's overlay upper dir.
 *
 * The tree may belong to a container, which can make any path in it a
 * symlink at any moment.  So nothing is resolved by path: the walk starts
 * from a descriptor and every step is openat() of one name relative to its
 * parent's descriptor with O_NOFOLLOW; a symlink is written as a symlink,
 * never followed.  Owners are numbers, never looked up by name, so nothing
 * loads the container's NSS modules (CVE-2019-14271).  Children are
 * written in name order, so the same tree gives the same bytes (a layer's
 * digest that a builder's cache can find again).
 *
 * As an OCI layer (o->overlay_upper), the layer changeset rules of the OCI
 * image spec (layer.md): a whiteout of overlayfs (a character device 0:0)
 * is an empty file .wh.NAME, an opaque directory (xattr
 * trusted.overlay.opaque or user.overlay.opaque "y") gets an entry
 * .wh..wh..opq right after its own, before its children; files linked
 * several times inside the tree are written once and then as hard links;
 * of the xattrs, security.capability is kept (as Docker's layers keep it),
 * overlay's own never are. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image.h"
#include "lazy.h"
#include "util.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

struct link_seen {
	dev_t dev;
	ino_t ino;
	char *name;
};

struct walker {
	struct archive *a;
	const struct husk_tar_tree_opts *o;
	husk_error **err;
	/* files linked several times, by (dev, ino): an open-addressing
	 * table, as a builder's layer may share every one of its files with
	 * an earlier layer (each then seen once here) */
	struct link_seen *links;
	size_t n_links, cap_links;
	char buf[65536];
};

static int archive_fail(struct archive *a, husk_error **err, const char *what)
{
	int e = archive_errno(a);
	return husk_fail_as(err, e > 0 ? e : EIO, "%s: %s", what,
			    archive_error_string(a) ? archive_error_string(a) : "bad tar stream");
}

/* dirfd/name again with flags, never through a symlink; name "" is dirfd
 * itself (an O_PATH fd of the thing) */
static int reopen(int dirfd, const char *name, int flags)
{
	if (*name)
		return openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (flags & O_DIRECTORY)
		return openat(dirfd, ".", flags | O_CLOEXEC);
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", dirfd);
	return open(p, flags | O_CLOEXEC | O_NOCTTY);
}

static int add_children(struct walker *w, int dirfd, const char *name, const char *tarname);

static int add_data(struct walker *w, int fd, off_t size, const char *tarname)
{
	off_t left = size;
	while (left > 0) {
		ssize_t n = read(fd, w->buf, sizeof(w->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_fail(w->err, errno, "read \"%s\"", tarname);
		if (n == 0)
			break; /* it shrank while we read: pad to what the header says */
		if ((off_t)n > left)
			n = (ssize_t)left;
		if (archive_write_data(w->a, w->buf, (size_t)n) < 0)
			return archive_fail(w->a, w->err, tarname);
		left -= n;
	}
	memset(w->buf, 0, sizeof(w->buf));
	while (left > 0) {
		size_t n = left < (off_t)sizeof(w->buf) ? (size_t)left : sizeof(w->buf);
		if (archive_write_data(w->a, w->buf, n) < 0)
			return archive_fail(w->a, w->err, tarname);
		left -= (off_t)n;
	}
	return 0;
}

/* An empty regular file called tarname with st's owner and times: the
 * whiteouts of a layer */
static int add_marker(struct walker *w, const char *tarname, const struct stat *st)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, tarname);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0);
	archive_entry_set_uid(e, st->st_uid);
	archive_entry_set_gid(e, st->st_gid);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	archive_entry_set_size(e, 0);
	int r = archive_write_header(w->a, e) == ARCHIVE_OK ? 0
							    : archive_fail(w->a, w->err, tarname);
	archive_entry_free(e);
	return r;
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int fd)
{
	static const char *names[] = {"trusted.overlay.opaque", "user.overlay.opaque"};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char v[4];
		ssize_t n = fgetxattr(fd, names[i], v, sizeof(v));
		if (n == 1 && v[0] == 'y')
			return true;
	}
	return false;
}

/* A mount point the engine made for a file it binds over (o->mount_points):
 * an empty regular file, which the container cannot have written, as
 * writes go to the file bound over it. */
static bool is_mount_point(struct walker *w, const char *tarname, const struct stat *st)
{
	if (!w->o->mount_points || !S_ISREG(st->st_mode) || st->st_size != 0)
		return false;
	for (const char *const *p = w->o->mount_points; *p; p++)
		if (strcmp(*p, tarname) == 0)
			return true;
	return false;
}

static size_t link_slot(const struct walker *w, dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)ino * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)dev;
	size_t i = (size_t)(h >> 20) & (w->cap_links - 1);
	while (w->links[i].name && (w->links[i].dev != dev || w->links[i].ino != ino))
		i = (i + 1) & (w->cap_links - 1);
	return i;
}

/* The first name of a file linked several times in the tree, or NULL (and
 * this name remembered) */
static const char *link_target(struct walker *w, const struct stat *st, const char *tarname)
{
	if ((w->n_links + 1) * 2 > w->cap_links) {
		struct link_seen *old = w->links;
		size_t ocap = w->cap_links;
		w->cap_links = ocap ? ocap * 2 : 256;
		w->links = calloc(w->cap_links, sizeof(*w->links));
		if (!w->links)
			abort();
		for (size_t i = 0; i < ocap; i++)
			if (old[i].name)
				w->links[link_slot(w, old[i].dev, old[i].ino)] = old[i];
		free(old);
	}
	struct link_seen *l = &w->links[link_slot(w, st->st_dev, st->st_ino)];
	if (l->name)
		return l->name;
	*l = (struct link_seen){st->st_dev, st->st_ino, strdup(tarname)};
	if (!l->name)
		abort();
	w->n_links++;
	return NULL;
}

/* dirfd/name (name "": dirfd itself) as tarname (NULL: not written, only
 * its children, named from there), and below it */
static int add_entry(struct walker *w, int dirfd, const char *name, const char *tarname,
		     const struct stat *st)
{
	bool layer = w->o->overlay_upper;
	if (!tarname)
		return S_ISDIR(st->st_mode) ? add_children(w, dirfd, name, NULL) : 0;
	if (is_mount_point(w, tarname, st))
		return 0;
	if (layer && is_whiteout(st)) {
		const char *slash = strrchr(tarname, '/');
		cleanup_free char *wh =
			slash ? husk_strdup_printf("%.*s/" WHITEOUT_PREFIX "%s",
						   (int)(slash - tarname), tarname, slash + 1)
			      : husk_strdup_printf(WHITEOUT_PREFIX "%s", tarname);
		return add_marker(w, wh, st);
	}
	if (S_ISSOCK(st->st_mode) && layer)
		return 0; /* a tar cannot hold one; Docker's layers leave them out */
	cleanup_close int fd = -1;
	char target[4096];
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, tarname);
	archive_entry_copy_stat(e, st);
	archive_entry_set_nlink(e, 1); /* no hard links unless found below */
	const char *first = NULL;
	if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (n < 0) {
			archive_entry_free(e);
			return husk_fail(w->err, errno, "read the link \"%s\"", tarname);
		}
		target[n] = '\0';
		archive_entry_set_symlink(e, target);
	} else if (S_ISREG(st->st_mode) && layer && st->st_nlink > 1 &&
		   (first = link_target(w, st, tarname))) {
		archive_entry_set_hardlink(e, first);
		archive_entry_set_size(e, 0);
	} else if (S_ISREG(st->st_mode)) {
		fd = reopen(dirfd, name, O_RDONLY);
		if (fd < 0) {
			archive_entry_free(e);
			return husk_fail(w->err, errno, "open \"%s\"", tarname);
		}
	} else {
		archive_entry_set_size(e, 0);
	}
	if (layer && fd >= 0) {
		char cap[256];
		ssize_t n = fgetxattr(fd, "security.capability", cap, sizeof(cap));
		if (n > 0)
			archive_entry_xattr_add_entry(e, "security.capability", cap, (size_t)n);
	}
	int r = archive_write_header(w->a, e) == ARCHIVE_OK ? 0
							    : archive_fail(w->a, w->err, tarname);
	archive_entry_free(e);
	if (r == 0 && fd >= 0)
		r = add_data(w, fd, st->st_size, tarname);
	if (r == 0 && S_ISDIR(st->st_mode))
		r = add_children(w, dirfd, name, tarname);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_children(struct walker *w, int dirfd, const char *name, const char *tarname)
{
	const char *label = tarname ? tarname : ".";
	int fd = reopen(dirfd, name, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return husk_fail(w->err, errno, "open the directory \"%s\"", label);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return husk_fail(w->err, errno, "read the directory \"%s\"", label);
	}
	int r = 0;
	if (w->o->overlay_upper && tarname && is_opaque(fd)) {
		struct stat st;
		cleanup_free char *opq = husk_strdup_printf("%s/" WHITEOUT_OPAQUE, tarname);
		r = fstat(fd, &st) < 0 ? husk_fail(w->err, errno, "stat \"%s\"", label)
				       : add_marker(w, opq, &st);
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while (r == 0 && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			husk_strv_push(&names, &n, strdup(de->d_name));
	}
	if (r == 0 && errno != 0)
		r = husk_fail(w->err, errno, "read the directory \"%s\"", label);
	if (n)
		qsort(names, n, sizeof(char *), cmp_names);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct stat st;
		if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue; /* gone while we looked */
			r = husk_fail(w->err, errno, "stat \"%s/%s\"", label, names[i]);
			break;
		}
		cleanup_free char *child = !tarname || strcmp(tarname, ".") == 0
						   ? strdup(names[i])
						   : husk_strdup_printf("%s/%s", tarname, names[i]);
		r = add_entry(w, fd, names[i], child, &st);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

int husk_tar_tree(struct archive *a, int fd, const struct husk_tar_tree_opts *o, husk_error **err)
{
	struct walker *w = calloc(1, sizeof(*w));
	if (!w)
		return husk_fail(err, ENOMEM, "tar");
	w->a = a;
	w->o = o;
	w->err = err;
	struct stat st;
	int r = fstat(fd, &st) < 0 ? husk_fail(err, errno, "stat \"%s\"", o->top ? o->top : ".")
				   : add_entry(w, fd, "", o->top, &st);
	for (size_t i = 0; i < w->cap_links; i++)
		free(w->links[i].name);
	free(w->links);
	free(w);
	return r;
}

int husk_tar_tree_fd(int out_fd, int fd, const struct husk_tar_tree_opts *o, husk_error **err)
{
	if (husk_lazy_archive(err) < 0)
		return -1;
	struct archive *a = archive_write_new();
	if (!a)
		return husk_fail(err, ENOMEM, "tar");
	int r = 0;
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, out_fd) != ARCHIVE_OK)
		r = archive_fail(a, err, "tar");
	else
		r = husk_tar_tree(a, fd, o, err);
	if (archive_write_close(a) != ARCHIVE_OK && r == 0)
		r = archive_fail(a, err, "tar");
	archive_write_free(a);
	return r;
}

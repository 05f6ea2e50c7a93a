/* build --squash: layer dirs merged into one upper dir.  The dirs are the
 * store's own unpacked layers (made by husk, never a user's tree), so
 * paths are walked with the l* calls, which never follow a last symlink,
 * and each layer is applied as overlayfs stacks it: a whiteout removes
 * what is below and stays (the base may hold the path), an opaque dir
 * replaces the dir below, anything else replaces the entry below, and a
 * dir over a dir merges. */
#define _GNU_SOURCE
#include "squash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util.h"

#define OPAQUE "trusted.overlay.opaque"

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(const char *path)
{
	char v = 0;
	return lgetxattr(path, OPAQUE, &v, 1) == 1 && v == 'y';
}

static void rm_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		cleanup_free char *p = husk_strdup_printf("%s/%s", path, de->d_name);
		rm_tree(p);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

/* src's xattrs (security.capability, the opaque mark...) onto dst */
static int copy_xattrs(const char *src, const char *dst, husk_error **err)
{
	char names[4096];
	ssize_t n = llistxattr(src, names, sizeof(names));
	if (n < 0)
		return errno == ENOTSUP ? 0
					: husk_fail(err, errno, "list the xattrs of \"%s\"", src);
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		char val[4096];
		ssize_t vl = lgetxattr(src, names + i, val, sizeof(val));
		if (vl < 0 || lsetxattr(dst, names + i, val, (size_t)vl, 0) < 0)
			return husk_fail(err, errno, "xattr \"%s\" of \"%s\"", names + i, dst);
	}
	return 0;
}

/* 1: a hard link (the attributes are the source's), 0: a copy */
static int copy_file(const char *src, const char *dst, const struct stat *st, husk_error **err)
{
	if (link(src, dst) == 0)
		return 1;
	cleanup_close int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_close int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				     st->st_mode & 07777);
	if (in < 0 || out < 0)
		return husk_fail(err, errno, "copy \"%s\"", src);
	for (off_t left = st->st_size; left > 0;) {
		ssize_t c = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
		if (c <= 0)
			return husk_fail(err, c < 0 ? errno : EIO, "copy \"%s\"", src);
		left -= c;
	}
	return 0;
}

/* the owner, mode and times of st onto path (a symlink's own) */
static int set_attrs(const char *path, const struct stat *st, husk_error **err)
{
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if (lchown(path, st->st_uid, st->st_gid) < 0 ||
	    (!S_ISLNK(st->st_mode) && chmod(path, st->st_mode & 07777) < 0) ||
	    utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return husk_fail(err, errno, "set the attributes of \"%s\"", path);
	return 0;
}

static int apply(const char *src, const char *dst, husk_error **err);

static int apply_entry(const char *src, const char *dst, husk_error **err)
{
	struct stat st, have;
	if (lstat(src, &st) < 0)
		return husk_fail(err, errno, "stat \"%s\"", src);
	bool exists = lstat(dst, &have) == 0;
	if (is_whiteout(&st)) {
		rm_tree(dst);
		if (mknod(dst, S_IFCHR | 0000, makedev(0, 0)) < 0)
			return husk_fail(err, errno, "whiteout \"%s\"", dst);
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		/* a dir over a whiteout hides what is below, as an opaque one */
		bool opaque = is_opaque(src) || (exists && is_whiteout(&have));
		if (exists && (!S_ISDIR(have.st_mode) || opaque)) {
			rm_tree(dst);
			exists = false;
		}
		if (!exists && mkdir(dst, 0700) < 0)
			return husk_fail(err, errno, "mkdir \"%s\"", dst);
		if (copy_xattrs(src, dst, err) < 0)
			return -1;
		if (opaque && lsetxattr(dst, OPAQUE, "y", 1, 0) < 0)
			return husk_fail(err, errno, "mark \"%s\" opaque", dst);
		if (apply(src, dst, err) < 0)
			return -1;
		return set_attrs(dst, &st, err);
	}
	if (exists)
		rm_tree(dst);
	if (S_ISREG(st.st_mode)) {
		int r = copy_file(src, dst, &st, err);
		if (r != 0)
			return r < 0 ? -1 : 0;
	} else if (S_ISLNK(st.st_mode)) {
		cleanup_free char *target = calloc(1, (size_t)st.st_size + 2);
		if (!target)
			abort();
		ssize_t n = readlink(src, target, (size_t)st.st_size + 1);
		if (n < 0 || symlink(target, dst) < 0)
			return husk_fail(err, errno, "symlink \"%s\"", dst);
	} else if (mknod(dst, st.st_mode, st.st_rdev) < 0) {
		return husk_fail(err, errno, "mknod \"%s\"", dst);
	}
	if (copy_xattrs(src, dst, err) < 0)
		return -1;
	return set_attrs(dst, &st, err);
}

static int apply(const char *src, const char *dst, husk_error **err)
{
	DIR *d = opendir(src);
	if (!d)
		return husk_fail(err, errno, "open \"%s\"", src);
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		cleanup_free char *s = husk_strdup_printf("%s/%s", src, de->d_name);
		cleanup_free char *t = husk_strdup_printf("%s/%s", dst, de->d_name);
		r = apply_entry(s, t, err);
	}
	closedir(d);
	return r;
}

int husk_squash_layers(char *const *dirs, size_t n, const char *out, husk_error **err)
{
	for (size_t i = 0; i < n; i++) {
		if (apply(dirs[i], out, err) < 0)
			return -1;
		/* the root's attributes, as the top layer's */
		struct stat st;
		if (lstat(dirs[i], &st) < 0 || set_attrs(out, &st, err) < 0)
			return husk_error_wrap(err, "the root of \"%s\"", dirs[i]);
	}
	return 0;
}

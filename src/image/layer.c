/* Unpacking one layer tar into a directory, safely.
 *
 * A layer is untrusted input that is unpacked as root, so every entry is
 * created with *at() calls relative to an fd of its parent directory, and
 * that fd is obtained one component at a time with openat2() refusing
 * symlinks (RESOLVE_NO_SYMLINKS) and anything outside (RESOLVE_BENEATH).
 * The last component is never followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW).
 * So "a -> /tmp/outside" followed by "a/pwned" is refused instead of
 * writing through the link, the way CVE-2018-15664-style and the old
 * docker cp escapes worked.  Names are checked first: no absolute names,
 * no ".." component.
 *
 * The tar is read through two libarchive readers: the outer one only
 * decompresses (gzip, zstd, or nothing) and hashes what comes out, which
 * is the layer's diff id; the inner one parses the tar from that stream.
 * One pass gives both the files and the digest the image config promises. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image-private.h"
#include "image.h"
#include "lazy.h"
#include "util.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

static int openat2_(int dirfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = {.flags = (unsigned long long)flags, .resolve = resolve};
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

int husk_open_in(int dirfd, const char *relpath, int flags, husk_error **err)
{
	int fd = openat2_(dirfd, relpath, flags | O_CLOEXEC,
			  RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", relpath);
	return fd;
}

/* --- the decompressing outer reader, hashing as it goes --- */

struct raw_stream {
	struct archive *raw;
	EVP_MD_CTX *md;
	bool eof;
};

static la_ssize_t raw_read(struct archive *inner, void *data, const void **buf)
{
	struct raw_stream *rs = data;
	if (rs->eof)
		return 0;
	const void *block;
	size_t size;
	la_int64_t off;
	int r = archive_read_data_block(rs->raw, &block, &size, &off);
	if (r == ARCHIVE_EOF) {
		rs->eof = true;
		return 0;
	}
	if (r < ARCHIVE_WARN) {
		archive_set_error(inner, archive_errno(rs->raw), "%s",
				  archive_error_string(rs->raw) ? archive_error_string(rs->raw)
								: "read error");
		return -1;
	}
	EVP_DigestUpdate(rs->md, block, size);
	*buf = block;
	return (la_ssize_t)size;
}

/* --- names --- */

/* Strip "./" and trailing '/', refuse absolute names and "..". Returns a
 * malloc'd clean relative path ("" for the root itself). */
static int clean_name(const char *name, char **ret)
{
	if (!name)
		return -EINVAL;
	if (name[0] == '/')
		return -EPERM;
	cleanup_free char *out = malloc(strlen(name) + 1);
	if (!out)
		return -ENOMEM;
	size_t n = 0;
	const char *p = name;
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t len = (size_t)(e - p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return -EPERM;
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p = *e ? e + 1 : e;
	}
	out[n] = '\0';
	*ret = steal_ptr(out);
	return 0;
}

/* --- the unpacker --- */

struct dir_time {
	char *path;
	struct timespec ts[2];
};

struct unpacker {
	const char *tar;
	int rootfd;
	/* the last parent dir opened, most entries share it */
	char *cache_path;
	int cache_fd;
	struct dir_time *dirs;
	size_t n_dirs, cap_dirs;
};

static void cache_drop(struct unpacker *u)
{
	free(u->cache_path);
	u->cache_path = NULL;
	closep_(&u->cache_fd);
}

/* An fd for directory rel (relative, clean), created if missing, walked
 * one component at a time without following any symlink. */
static int open_dir(struct unpacker *u, const char *rel, bool create, husk_error **err)
{
	if (u->cache_path && strcmp(u->cache_path, rel) == 0) {
		int fd = fcntl(u->cache_fd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? husk_fail(err, errno, "dup") : fd;
	}
	cleanup_free char *copy = strdup(rel);
	if (!copy)
		return husk_fail(err, ENOMEM, "open \"%s\"", rel);
	int fd = fcntl(u->rootfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return husk_fail(err, errno, "dup");
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		const unsigned long long res =
			RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
		int next = openat2_(fd, c, O_PATH | O_DIRECTORY | O_CLOEXEC, res);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST) {
				int e = errno;
				close(fd);
				return husk_fail(err, e, "mkdir \"%s\"", rel);
			}
			next = openat2_(fd, c, O_PATH | O_DIRECTORY | O_CLOEXEC, res);
		}
		if (next < 0) {
			int e = errno;
			close(fd);
			if (e == ELOOP || e == ENOTDIR)
				return husk_fail(err, e,
						 "refused: \"%s\" is not a directory inside the "
						 "layer (a symlink?)",
						 rel);
			return husk_fail(err, e, "open \"%s\"", rel);
		}
		close(fd);
		fd = next;
	}
	cache_drop(u);
	u->cache_path = strdup(rel);
	u->cache_fd = u->cache_path ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	return fd;
}

/* Make room for a new entry called name in pfd: a directory stays when the
 * new entry is a directory too, anything else goes. */
static int clear_slot(int pfd, const char *name, bool want_dir)
{
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode)) {
		if (want_dir)
			return 1;
		if (unlinkat(pfd, name, AT_REMOVEDIR) < 0)
			return -errno;
		return 0;
	}
	if (unlinkat(pfd, name, 0) < 0)
		return -errno;
	return 0;
}

static bool xattr_allowed(const char *name)
{
	/* trusted.overlay.* in a layer would steer the overlay mount
	 * (redirects, metacopy); only whiteouts set opaque, below */
	return strncmp(name, "trusted.", 8) != 0;
}

static bool xattr_must(const char *name)
{
	return strncmp(name, "user.", 5) == 0 || strcmp(name, "security.capability") == 0;
}

static int set_xattrs(struct archive_entry *e, int fd, husk_error **err)
{
	const char *name;
	const void *value;
	size_t size;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (!xattr_allowed(name))
			continue;
		if (fsetxattr(fd, name, value, size, 0) < 0 && xattr_must(name))
			return husk_fail(err, errno, "set xattr \"%s\"", name);
	}
	return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
}

static int write_data(struct archive *a, int fd, long long size, husk_error **err)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	for (;;) {
		int r = archive_read_data_block(a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return husk_fail(err, archive_errno(a) > 0 ? archive_errno(a) : 0,
					 "read data: %s", archive_error_string(a));
		const char *p = buf;
		while (len > 0) {
			ssize_t w = pwrite(fd, p, len, off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return husk_fail(err, errno, "write");
			}
			p += w;
			off += w;
			len -= (size_t)w;
		}
	}
	/* sparse files end in a hole */
	if (ftruncate(fd, size) < 0)
		return husk_fail(err, errno, "truncate");
	return 0;
}

static int remember_dir(struct unpacker *u, const char *path, struct archive_entry *e)
{
	if (u->n_dirs == u->cap_dirs) {
		size_t cap = u->cap_dirs ? u->cap_dirs * 2 : 64;
		struct dir_time *n = realloc(u->dirs, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		u->dirs = n;
		u->cap_dirs = cap;
	}
	struct dir_time *d = &u->dirs[u->n_dirs];
	d->path = strdup(path);
	if (!d->path)
		return -ENOMEM;
	entry_times(e, d->ts);
	u->n_dirs++;
	return 0;
}

static int whiteout(int pfd, const char *base, husk_error **err)
{
	if (strcmp(base, WHITEOUT_OPAQUE) == 0) {
		cleanup_close int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return husk_fail(err, errno, "open");
		if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
			return husk_fail(err, errno, "set xattr \"trusted.overlay.opaque\"");
		return 0;
	}
	const char *name = base + strlen(WHITEOUT_PREFIX);
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return husk_fail(err, EINVAL, "refused: bad whiteout");
	int r = clear_slot(pfd, name, false);
	if (r < 0)
		return husk_fail(err, -r, "remove \"%s\"", name);
	/* overlayfs's whiteout: a character device 0:0 */
	if (mknodat(pfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
		return husk_fail(err, errno, "mknod whiteout \"%s\"", name);
	return 0;
}

static int hardlink(struct unpacker *u, int pfd, const char *base, const char *target,
		    husk_error **err)
{
	cleanup_free char *clean = NULL;
	int r = clean_name(target, &clean);
	if (r < 0 || !*clean)
		return husk_fail(err, r == -ENOMEM ? ENOMEM : EPERM,
				 "refused: hardlink target \"%s\" outside the layer", target);
	/* O_PATH|O_NOFOLLOW: a link to a symlink links the symlink itself */
	cleanup_close int tfd =
		openat2_(u->rootfd, clean, O_PATH | O_NOFOLLOW | O_CLOEXEC,
			 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (tfd < 0)
		return husk_fail(err, errno, "refused: hardlink target \"%s\"", target);
	struct stat st;
	if (fstat(tfd, &st) < 0)
		return husk_fail(err, errno, "stat \"%s\"", target);
	if (S_ISDIR(st.st_mode))
		return husk_fail(err, EPERM, "refused: hardlink to directory \"%s\"", target);
	r = clear_slot(pfd, base, false);
	if (r < 0)
		return husk_fail(err, -r, "remove");
	if (linkat(tfd, "", pfd, base, AT_EMPTY_PATH) == 0)
		return 0;
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH in the initial user
	 * namespace; the /proc path works everywhere else */
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", tfd);
	if (linkat(AT_FDCWD, proc, pfd, base, AT_SYMLINK_FOLLOW) < 0)
		return husk_fail(err, errno, "link to \"%s\"", target);
	return 0;
}

static int meta_at(int pfd, const char *base, struct archive_entry *e, bool chmod_it,
		   husk_error **err)
{
	if (fchownat(pfd, base, archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) <
	    0)
		return husk_fail(err, errno, "chown");
	if (chmod_it && fchmodat(pfd, base, archive_entry_perm(e), 0) < 0)
		return husk_fail(err, errno, "chmod");
	struct timespec ts[2];
	entry_times(e, ts);
	if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return husk_fail(err, errno, "set times");
	return 0;
}

static int meta_fd(int fd, struct archive_entry *e, husk_error **err)
{
	if (fchown(fd, archive_entry_uid(e), archive_entry_gid(e)) < 0)
		return husk_fail(err, errno, "chown");
	/* after chown, which clears set-id bits */
	if (fchmod(fd, archive_entry_perm(e)) < 0)
		return husk_fail(err, errno, "chmod");
	return set_xattrs(e, fd, err);
}

static int unpack_entry(struct unpacker *u, struct archive *a, struct archive_entry *e,
			const char *path, husk_error **err)
{
	mode_t type = archive_entry_filetype(e);
	const char *link = archive_entry_hardlink(e);

	if (!*path) {
		/* "./": the root itself */
		if (type != AE_IFDIR)
			return husk_fail(err, EINVAL, "refused: the root is not a directory");
		if (meta_fd(u->rootfd, e, err) < 0)
			return -1;
		return remember_dir(u, "", e) < 0 ? husk_fail(err, ENOMEM, "unpack") : 0;
	}

	cleanup_free char *parent = strdup(path);
	if (!parent)
		return husk_fail(err, ENOMEM, "unpack");
	char *slash = strrchr(parent, '/');
	const char *base = slash ? path + (slash - parent) + 1 : path;
	if (slash)
		*slash = '\0';
	else
		parent[0] = '\0';

	/* an entry that replaces a directory on the cached path drops it */
	if (u->cache_path) {
		size_t n = strlen(path);
		if (strncmp(u->cache_path, path, n) == 0 &&
		    (u->cache_path[n] == '\0' || u->cache_path[n] == '/'))
			cache_drop(u);
	}
	cleanup_close int pfd = open_dir(u, parent, true, err);
	if (pfd < 0)
		return -1;

	if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
		return whiteout(pfd, base, err);
	if (link)
		return hardlink(u, pfd, base, link, err);

	int r = clear_slot(pfd, base, type == AE_IFDIR);
	if (r < 0)
		return husk_fail(err, -r, "remove old");

	switch (type) {
	case AE_IFDIR: {
		if (r == 0 && mkdirat(pfd, base, 0700) < 0)
			return husk_fail(err, errno, "mkdir");
		cleanup_close int fd =
			openat2_(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
				 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
		if (fd < 0)
			return husk_fail(err, errno, "open");
		if (meta_fd(fd, e, err) < 0)
			return -1;
		return remember_dir(u, path, e) < 0 ? husk_fail(err, ENOMEM, "unpack") : 0;
	}
	case AE_IFREG: {
		cleanup_close int fd = openat(
			pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return husk_fail(err, errno, "create");
		if (write_data(a, fd, archive_entry_size(e), err) < 0 || meta_fd(fd, e, err) < 0)
			return -1;
		struct timespec ts[2];
		entry_times(e, ts);
		if (futimens(fd, ts) < 0)
			return husk_fail(err, errno, "set times");
		return 0;
	}
	case AE_IFLNK: {
		const char *target = archive_entry_symlink(e);
		if (!target)
			return husk_fail(err, EINVAL, "symlink without a target");
		/* the target is stored, never followed here */
		if (symlinkat(target, pfd, base) < 0)
			return husk_fail(err, errno, "symlink");
		return meta_at(pfd, base, e, false, err);
	}
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		if (mknodat(pfd, base, type | archive_entry_perm(e), archive_entry_rdev(e)) < 0)
			return husk_fail(err, errno, "mknod");
		return meta_at(pfd, base, e, true, err);
	default:
		return husk_fail(err, EINVAL, "unsupported file type 0%o", (unsigned)type);
	}
}

/* Directory times last: creating their contents changed them. Deepest
 * first is the reverse of tar order. */
static int finish_dirs(struct unpacker *u, husk_error **err)
{
	for (size_t i = u->n_dirs; i-- > 0;) {
		struct dir_time *d = &u->dirs[i];
		cleanup_close int fd = *d->path ? open_dir(u, d->path, false, err)
						: fcntl(u->rootfd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return husk_error_wrap(err, "entry \"%s\"", d->path);
		if (utimensat(fd, "", d->ts, AT_EMPTY_PATH) < 0)
			return husk_fail(err, errno, "set times of \"%s\"", d->path);
	}
	return 0;
}

int husk_layer_unpack_digest(const char *tar_path, const char *dir, char **ret_diff_id,
			     husk_error **err)
{
	struct unpacker u = {.tar = tar_path, .rootfd = -1, .cache_fd = -1};
	struct raw_stream rs = {0};
	struct archive *in = NULL;
	int ret = -1;

	if (husk_lazy_archive(err) < 0 || husk_lazy_crypto(err) < 0)
		return -1;
	u.rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u.rootfd < 0) {
		husk_fail(err, errno, "open \"%s\"", dir);
		goto out;
	}
	rs.md = EVP_MD_CTX_new();
	rs.raw = archive_read_new();
	in = archive_read_new();
	if (!rs.md || !rs.raw || !in || EVP_DigestInit_ex(rs.md, EVP_sha256(), NULL) != 1) {
		husk_fail(err, ENOMEM, "unpack \"%s\"", tar_path);
		goto out;
	}
	archive_read_support_filter_all(rs.raw);
	archive_read_support_format_raw(rs.raw);
	archive_read_support_format_tar(in);
	struct archive_entry *e;
	if (archive_read_open_filename(rs.raw, tar_path, 1 << 16) != ARCHIVE_OK ||
	    archive_read_next_header(rs.raw, &e) != ARCHIVE_OK) {
		husk_fail(err, archive_errno(rs.raw) > 0 ? archive_errno(rs.raw) : 0,
			  "open \"%s\": %s", tar_path, archive_error_string(rs.raw));
		goto out;
	}
	if (archive_read_open(in, &rs, NULL, raw_read, NULL) != ARCHIVE_OK) {
		husk_fail(err, 0, "read \"%s\": %s", tar_path, archive_error_string(in));
		goto out;
	}
	for (;;) {
		int r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			husk_fail(err, archive_errno(in) > 0 ? archive_errno(in) : 0,
				  "read \"%s\": %s", tar_path, archive_error_string(in));
			goto out;
		}
		const char *name = archive_entry_pathname(e);
		cleanup_free char *path = NULL;
		r = clean_name(name, &path);
		if (r < 0) {
			husk_fail(err, r == -ENOMEM ? ENOMEM : 0,
				  "layer \"%s\": entry \"%s\": refused: %s", tar_path,
				  name ? name : "(no name)",
				  r == -EINVAL ? "no name" : "outside the layer");
			goto out;
		}
		if (unpack_entry(&u, in, e, path, err) < 0) {
			husk_error_wrap(err, "layer \"%s\": entry \"%s\"", tar_path, name);
			goto out;
		}
	}
	/* read to the end so the digest covers the whole stream */
	const void *buf;
	while (raw_read(in, &rs, &buf) > 0)
		;
	if (finish_dirs(&u, err) < 0) {
		husk_error_wrap(err, "layer \"%s\"", tar_path);
		goto out;
	}
	if (ret_diff_id) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int len = 0;
		EVP_DigestFinal_ex(rs.md, md, &len);
		char hex[2 * EVP_MAX_MD_SIZE + 1];
		for (unsigned int i = 0; i < len; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		*ret_diff_id = husk_strdup_printf("sha256:%s", hex);
	}
	ret = 0;
out:
	if (in)
		archive_read_free(in);
	if (rs.raw)
		archive_read_free(rs.raw);
	EVP_MD_CTX_free(rs.md);
	cache_drop(&u);
	closep_(&u.rootfd);
	for (size_t i = 0; i < u.n_dirs; i++)
		free(u.dirs[i].path);
	free(u.dirs);
	return ret;
}

int husk_layer_unpack(const char *tar_path, const char *dir, husk_error **err)
{
	return husk_layer_unpack_digest(tar_path, dir, NULL, err);
}

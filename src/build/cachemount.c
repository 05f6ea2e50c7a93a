/* RUN --mount=type=cache's persistent dirs: made, locked, pruned.  See
 * cachemount.h for the rules. */
#define _GNU_SOURCE
#include "cachemount.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lazy.h"
#include "util.h"

#define CACHE_MOUNTS "build-cache-mounts"

static char *dir_of(const char *root, const char *id)
{
	char hex[65];
	husk_sha256_hex(id, strlen(id), hex);
	return husk_strdup_printf("%s/" CACHE_MOUNTS "/%s", root, hex);
}

/* Below dirfd, name and all it holds; the bytes of its files added to
 * *bytes.  A mount point in it stays (rmdir fails on it). */
static void remove_tree(int at, const char *name, long long *bytes)
{
	struct stat st;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		if (S_ISREG(st.st_mode) && st.st_nlink == 1)
			*bytes += st.st_size;
		unlinkat(at, name, 0);
		return;
	}
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			remove_tree(dirfd(d), de->d_name, bytes);
	closedir(d);
	unlinkat(at, name, AT_REMOVEDIR);
}

/* a new dir at path with the mount's mode and owner, filled by seed */
static int make_dir(const char *path, const struct husk_rmount *m, husk_cache_seed seed, void *ud,
		    husk_error **err)
{
	if (mkdir(path, 0700) < 0)
		return husk_fail(err, errno, "mkdir \"%s\"", path);
	cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", path);
	if (seed && seed(ud, fd, err) < 0)
		return -1;
	if (fchown(fd, m->uid >= 0 ? (uid_t)m->uid : 0, m->gid >= 0 ? (gid_t)m->gid : 0) < 0 ||
	    fchmod(fd, m->mode >= 0 ? (mode_t)m->mode : 0755) < 0)
		return husk_fail(err, errno, "chmod \"%s\"", path);
	return 0;
}

/* the dir at path, made (through a temp dir renamed into place, so that
 * no other build sees it half made) when it is not there */
static int ensure_dir(const char *path, const struct husk_rmount *m, husk_cache_seed seed, void *ud,
		      husk_error **err)
{
	struct stat st;
	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : husk_fail_as(err, ENOTDIR, "\"%s\"", path);
	cleanup_free char *tmp = husk_strdup_printf("%s.new-%d", path, (int)getpid());
	if (make_dir(tmp, m, seed, ud, err) < 0) {
		long long n = 0;
		remove_tree(AT_FDCWD, tmp, &n);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		long long n = 0;
		remove_tree(AT_FDCWD, tmp, &n);
		/* another build made it first: theirs it is */
		if (e != EEXIST && e != ENOTEMPTY)
			return husk_fail(err, e, "rename \"%s\"", tmp);
	}
	return 0;
}

int husk_cache_mount_open(const char *root, const struct husk_rmount *m, const char *private_dir,
			  husk_cache_seed seed, void *seed_ud, struct husk_cache_mount *ret,
			  husk_error **err)
{
	*ret = (struct husk_cache_mount){.lock = -1};
	cleanup_free char *top = husk_strdup_printf("%s/" CACHE_MOUNTS, root);
	if (husk_mkdir_p(top, 0700, err) < 0)
		return -1;
	cleanup_free char *path = dir_of(root, m->id);
	int how = m->sharing == HUSK_SHARING_SHARED   ? LOCK_SH
		  : m->sharing == HUSK_SHARING_LOCKED ? LOCK_EX
						      : LOCK_EX | LOCK_NB;
	/* a prune may remove the dir between our open and our lock: then
	 * the lock is on a dir that is gone, and it is made again */
	for (int tries = 0; tries < 10; tries++) {
		if (ensure_dir(path, m, seed, seed_ud, err) < 0)
			return -1;
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0)
			return husk_fail(err, errno, "open \"%s\"", path);
		int r;
		while ((r = flock(fd, how)) < 0 && errno == EINTR)
			;
		if (r < 0 && errno == EWOULDBLOCK) {
			/* private, and another step has it: one of our own */
			close(fd);
			if (make_dir(private_dir, m, seed, seed_ud, err) < 0)
				return -1;
			ret->path = strdup(private_dir);
			return 0;
		}
		if (r < 0) {
			int e = errno;
			close(fd);
			return husk_fail(err, e, "lock \"%s\"", path);
		}
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino) {
			ret->path = steal_ptr(path);
			ret->lock = fd;
			return 0;
		}
		close(fd);
	}
	return husk_fail_as(err, EAGAIN, "the cache dir \"%s\" keeps going away", path);
}

void husk_cache_mount_release(struct husk_cache_mount *c)
{
	if (!c)
		return;
	free(c->path);
	closep_(&c->lock);
	*c = (struct husk_cache_mount){.lock = -1};
}

long long husk_cache_mounts_prune(const char *root)
{
	cleanup_free char *top = husk_strdup_printf("%s/" CACHE_MOUNTS, root);
	cleanup_close int tfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int dfd = tfd >= 0 ? dup(tfd) : -1;
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	long long bytes = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		cleanup_close int fd =
			openat(tfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		/* a dir half made (".new-PID") has no lock: it goes when its
		 * maker is gone */
		const char *half = strstr(de->d_name, ".new-");
		long pid = 0;
		if (half && husk_parse_long(half + 5, &pid) < 0)
			pid = 0;
		if (fd < 0 || (half && pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM)) ||
		    (!half && flock(fd, LOCK_EX | LOCK_NB) < 0))
			continue;
		remove_tree(tfd, de->d_name, &bytes);
	}
	closedir(d);
	return bytes;
}

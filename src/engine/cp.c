/* husk cp: files between a container and the host, or as a tar stream.
 *
 * The threat: a container owns every path inside its root and can make any
 * of them a symlink, at any moment, to anything.  A copy that resolves a
 * container path as a host path, or follows a symlink it did not check on
 * the way down, reads or writes the host (CVE-2018-15664: a symlink
 * swapped in while docker cp ran).  A copy that runs code from the
 * container, as docker-tar did when glibc loaded the container's libnss
 * (CVE-2019-14271), runs it as root on the host.  And a tar stream made in
 * the container is the container's: "../" names and planted symlinks in it
 * must not reach past the destination on the host.
 *
 * The defence: no chroot, and no path resolved twice.  Each side's start
 * is opened once with openat2(RESOLVE_IN_ROOT) on a descriptor of the
 * container's root (/proc/PID/root while it runs, so that its volumes and
 * tmpfs mounts are seen as it sees them), so that "..", absolute symlinks
 * and mounts all stay inside.  Below that, every step is openat() of one
 * name relative to its parent's descriptor with O_NOFOLLOW: a symlink
 * swapped in is an error, never followed.  The same walker writes on the
 * host, and refuses ".." in a stream's names.  libarchive only
 * (de)serialises the stream (loaded before any of this); owners are
 * numbers, never looked up by name, so nothing loads NSS modules.
 *
 * The cost: a walker of husk's own (libarchive's disk reader and writer
 * take paths), without ACLs, xattrs or hard links on the way out (each
 * link is a copy).  The way out is the walker export and commit use too
 * (src/image/tartree.c). */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine-private.h"
#include "engine.h"
#include "image.h"
#include "lazy.h"
#include "util.h"

/* path inside the root at rootfd, every step kept inside */
static int open_in_root(int rootfd, const char *path, int flags, bool follow_last)
{
	while (*path == '/')
		path++;
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	if (!follow_last)
		how.flags |= O_NOFOLLOW;
	return (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
}

static int archive_fail(struct archive *a, husk_error **err, const char *what)
{
	int e = archive_errno(a);
	return husk_fail_as(err, e > 0 ? e : EIO, "%s: %s", what,
			    archive_error_string(a) ? archive_error_string(a) : "bad tar stream");
}

/* A source: an O_PATH fd of the thing (its last link followed only with
 * -L or DIR/.), what it is, and its top name in the stream: its last
 * component, or "." for DIR/. (the contents, the dir itself as ".") */
struct cp_src {
	int fd;
	struct stat st;
	char *top;
};

static bool names_contents(const char *p)
{
	size_t n = strlen(p);
	return strcmp(p, ".") == 0 || (n >= 2 && strcmp(p + n - 2, "/.") == 0);
}

static int cp_src_open(int rootfd, const char *path, const char *label, bool follow,
		       struct cp_src *s, husk_error **err)
{
	*s = (struct cp_src){.fd = -1};
	bool contents = names_contents(path);
	s->fd = open_in_root(rootfd, path, O_PATH, follow || contents);
	if (s->fd < 0)
		return husk_fail(err, errno, "%s", label);
	if (fstat(s->fd, &s->st) < 0)
		return husk_fail(err, errno, "%s", label);
	if (contents && !S_ISDIR(s->st.st_mode))
		return husk_fail_as(err, ENOTDIR, "%s: not a directory", label);
	cleanup_free char *copy = strdup(path);
	size_t n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	const char *base = basename(copy);
	s->top = strdup(contents || strcmp(base, "/") == 0 ? "." : base);
	return 0;
}

static void cp_src_release(struct cp_src *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->top);
}

/* the source as a tar stream, by the walker cp shares with export and
 * commit (src/image/tartree.c) */
static int write_stream(const struct cp_src *s, int out_fd, husk_error **err)
{
	struct husk_tar_tree_opts o = {.top = s->top};
	return husk_tar_tree_fd(out_fd, s->fd, &o, err);
}

/* --- in: a tar stream into a directory --- */

struct reader {
	struct archive *a;
	int dirfd;	  /* where the names start */
	const char *from; /* the stream's top name, renamed to... */
	const char *to;	  /* ...this (NULL: names as they are) */
	bool keep_owner;  /* -a: the stream's owners, else uid:gid */
	uid_t uid;
	gid_t gid;
	husk_error **err;
	char buf[65536];
};

/* name's components after the rename, "." and empty ones dropped; ".."
 * refused.  An empty list is the destination itself. */
static int split_name(struct reader *r, const char *name, char ***ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	cleanup_free char *copy = strdup(name);
	char *save = NULL;
	bool first = true;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, "..") == 0) {
			husk_strv_free(*ret, *ret_n);
			*ret = NULL;
			return husk_fail_as(r->err, EINVAL,
					    "the stream's \"%s\" climbs out with \"..\"", name);
		}
		bool dot = strcmp(c, ".") == 0;
		if (first && r->to && r->from) {
			first = false;
			/* the top: "base" (or "." for contents) becomes the
			 * destination's name */
			if (strcmp(c, r->from) == 0) {
				if (strcmp(r->to, ".") != 0)
					husk_strv_push(ret, ret_n, strdup(r->to));
				continue;
			}
			if (strcmp(r->from, ".") == 0 && strcmp(r->to, ".") != 0)
				husk_strv_push(ret, ret_n, strdup(r->to));
		}
		first = false;
		if (!dot)
			husk_strv_push(ret, ret_n, strdup(c));
	}
	return 0;
}

/* the parent directory of comps[n-1], made where missing, each step
 * O_NOFOLLOW below r->dirfd */
static int walk_parent(struct reader *r, char **comps, size_t n, const char *name)
{
	int fd = dup(r->dirfd);
	if (fd < 0)
		return husk_fail(r->err, errno, "dup");
	for (size_t i = 0; i + 1 < n; i++) {
		int next = openat(fd, comps[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && mkdirat(fd, comps[i], 0755) == 0)
			next = openat(fd, comps[i],
				      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			int e = errno;
			close(fd);
			if (e == ELOOP || e == ENOTDIR)
				return husk_fail_as(
					r->err, e,
					"cannot copy \"%s\": \"%s\" on its way is not a "
					"directory (a symlink is not followed)",
					name, comps[i]);
			return husk_fail(r->err, e, "cannot copy \"%s\"", name);
		}
		close(fd);
		fd = next;
	}
	return fd;
}

/* make room for a non-directory: whatever is at dirfd/name, unless a dir */
static int clear_for(struct reader *r, int dirfd, const char *leaf, const char *name)
{
	if (unlinkat(dirfd, leaf, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno == EISDIR)
		return husk_fail_as(r->err, EISDIR, "cannot copy \"%s\": a directory is in the way",
				    name);
	return husk_fail(r->err, errno, "cannot copy \"%s\"", name);
}

static int own(struct reader *r, int fd, const char *leaf, struct archive_entry *e, int flags)
{
	uid_t uid = r->keep_owner ? (uid_t)archive_entry_uid(e) : r->uid;
	gid_t gid = r->keep_owner ? (gid_t)archive_entry_gid(e) : r->gid;
	return fchownat(fd, leaf, uid, gid, flags);
}

static int extract_entry(struct reader *r, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e);
	char **comps = NULL;
	size_t n = 0;
	if (!name || split_name(r, name, &comps, &n) < 0)
		return -1;
	int ret = 0;
	mode_t type = archive_entry_filetype(e);
	mode_t perm = archive_entry_perm(e) & 07777;
	if (n == 0) {
		/* the destination itself (DIR/. into an existing dir): it stays */
		husk_strv_free(comps, n);
		return type == AE_IFDIR ? 0
					: husk_fail_as(r->err, EISDIR,
						       "cannot copy \"%s\" over a directory", name);
	}
	const char *leaf = comps[n - 1];
	int dfd = walk_parent(r, comps, n, name);
	if (dfd < 0) {
		husk_strv_free(comps, n);
		return -1;
	}
	struct timespec times[2] = {
		{.tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e)},
		{.tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e)}};
	const char *hardlink = archive_entry_hardlink(e);
	if (hardlink) {
		char **tc = NULL;
		size_t tn = 0;
		int tfd = -1;
		if (split_name(r, hardlink, &tc, &tn) == 0 && tn > 0 &&
		    (tfd = walk_parent(r, tc, tn, hardlink)) >= 0 &&
		    clear_for(r, dfd, leaf, name) == 0 && linkat(tfd, tc[tn - 1], dfd, leaf, 0) < 0)
			ret = husk_fail(r->err, errno, "cannot link \"%s\" to \"%s\"", name,
					hardlink);
		else if (tfd < 0 || tn == 0)
			ret = -1;
		if (tfd >= 0)
			close(tfd);
		husk_strv_free(tc, tn);
	} else if (type == AE_IFDIR) {
		if (mkdirat(dfd, leaf, 0700) < 0 && errno != EEXIST)
			ret = husk_fail(r->err, errno, "cannot make \"%s\"", name);
		int fd = ret ? -1
			     : openat(dfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (!ret && fd < 0)
			ret = husk_fail(r->err, errno, "cannot copy \"%s\": not a directory there",
					name);
		if (fd >= 0) {
			if (own(r, fd, "", e, AT_EMPTY_PATH) < 0 || fchmod(fd, perm) < 0)
				ret = husk_fail(r->err, errno,
						"cannot set the owner or mode of \"%s\"", name);
			close(fd);
		}
	} else if (type == AE_IFREG) {
		int fd = -1;
		if (clear_for(r, dfd, leaf, name) < 0)
			ret = -1;
		else if ((fd = openat(dfd, leaf,
				      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
					      O_NOCTTY,
				      0600)) < 0)
			ret = husk_fail(r->err, errno, "cannot make \"%s\"", name);
		for (ssize_t got; fd >= 0 && ret == 0 &&
				  (got = archive_read_data(r->a, r->buf, sizeof(r->buf))) != 0;) {
			if (got < 0) {
				ret = archive_fail(r->a, r->err, name);
				break;
			}
			for (ssize_t off = 0; off < got;) {
				ssize_t w = write(fd, r->buf + off, (size_t)(got - off));
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0) {
					ret = husk_fail(r->err, errno, "cannot write \"%s\"", name);
					break;
				}
				off += w;
			}
		}
		if (fd >= 0 && ret == 0 &&
		    (own(r, fd, "", e, AT_EMPTY_PATH) < 0 || fchmod(fd, perm) < 0 ||
		     futimens(fd, times) < 0))
			ret = husk_fail(r->err, errno,
					"cannot set the owner, mode or time of \"%s\"", name);
		if (fd >= 0 && close(fd) < 0 && ret == 0)
			ret = husk_fail(r->err, errno, "cannot write \"%s\"", name);
	} else if (type == AE_IFLNK) {
		if (clear_for(r, dfd, leaf, name) < 0)
			ret = -1;
		else if (symlinkat(archive_entry_symlink(e), dfd, leaf) < 0)
			ret = husk_fail(r->err, errno, "cannot make the link \"%s\"", name);
		else if (own(r, dfd, leaf, e, AT_SYMLINK_NOFOLLOW) < 0 ||
			 utimensat(dfd, leaf, times, AT_SYMLINK_NOFOLLOW) < 0)
			ret = husk_fail(r->err, errno, "cannot set the owner of \"%s\"", name);
	} else if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO) {
		if (clear_for(r, dfd, leaf, name) < 0)
			ret = -1;
		else if (mknodat(dfd, leaf, type | perm, archive_entry_rdev(e)) < 0)
			ret = husk_fail(r->err, errno, "cannot make \"%s\"", name);
		else if (own(r, dfd, leaf, e, AT_SYMLINK_NOFOLLOW) < 0 ||
			 fchmodat(dfd, leaf, perm, 0) < 0)
			ret = husk_fail(r->err, errno, "cannot set the owner of \"%s\"", name);
	} /* sockets and the like: nothing to make */
	close(dfd);
	husk_strv_free(comps, n);
	return ret;
}

static int read_stream(struct reader *r, int in_fd)
{
	r->a = archive_read_new();
	archive_read_support_format_tar(r->a);
	archive_read_support_format_gnutar(r->a);
	archive_read_support_filter_all(r->a);
	int ret = 0;
	if (archive_read_open_fd(r->a, in_fd, 65536) != ARCHIVE_OK) {
		ret = archive_fail(r->a, r->err, "tar stream");
	} else {
		struct archive_entry *e;
		int s;
		while (ret == 0 && (s = archive_read_next_header(r->a, &e)) != ARCHIVE_EOF) {
			if (s < ARCHIVE_WARN) {
				ret = archive_fail(r->a, r->err, "tar stream");
				break;
			}
			ret = extract_entry(r, e);
		}
	}
	archive_read_free(r->a);
	return ret;
}

/* --- the two ends, and a thread between them --- */

struct side {
	const char *ctr; /* NULL: the host */
	const char *path;
	char *abs; /* a relative host path made absolute */
	int rootfd;
	bool running; /* a container whose root is /proc/PID/root */
};

/* the root a path of this side starts from: the container's as it runs
 * (its mounts with it), or its overlay when stopped, or the host's / */
static int side_open(struct husk_engine *e, struct side *s, husk_error **err)
{
	if (!s->ctr) {
		if (s->path[0] != '/') {
			char cwd[4096];
			if (!getcwd(cwd, sizeof(cwd)))
				return husk_fail(err, errno, "getcwd");
			s->abs = husk_strdup_printf("%s/%s", cwd, s->path);
			s->path = s->abs;
		}
		s->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		return s->rootfd < 0 ? husk_fail(err, errno, "open /") : 0;
	}
	struct husk_ctr c;
	if (husk_engine_get(e, s->ctr, &c, err) < 0)
		return -1;
	int r = 0;
	if (c.state == HUSK_CTR_RUNNING || c.state == HUSK_CTR_PAUSED) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/%d/root", (int)c.pid);
		s->rootfd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
		/* still the same process once opened: not a recycled pid */
		if (s->rootfd >= 0 && husk_pid_alive(c.pid, c.pid_start))
			s->running = true;
		else if (s->rootfd >= 0) {
			close(s->rootfd);
			s->rootfd = -1;
		}
	}
	if (!s->running) {
		if (husk_engine_prepare_root(e, &c, err) < 0) {
			r = -1;
		} else {
			cleanup_free char *rootfs =
				husk_strdup_printf("%s/containers/%s/rootfs", e->root, c.id);
			s->rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (s->rootfd < 0)
				r = husk_fail(err, errno, "open the root of \"%s\"", s->ctr);
		}
	}
	husk_ctr_release(&c);
	return r;
}

struct producer {
	const struct cp_src *src;
	int fd;
	husk_error *err;
	int r;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	/* a reader that stopped early: EPIPE here, not SIGPIPE for all */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	p->r = write_stream(p->src, p->fd, &p->err);
	close(p->fd);
	return NULL;
}

/* Where the stream goes on the destination's side, by Docker's rules:
 * into DEST when it is a directory; else as DEST itself, in its parent
 * (which must exist), renamed from the stream's top name. */
static int plan_dest(struct side *d, const struct cp_src *src, struct reader *r, char **ret_to,
		     husk_error **err)
{
	size_t len = strlen(d->path);
	bool slash = len > 0 && d->path[len - 1] == '/';
	struct stat st;
	int fd = open_in_root(d->rootfd, d->path, O_PATH, true);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		r->dirfd = fd;
		return 0;
	}
	if (fd >= 0) {
		close(fd);
		if (!src || S_ISDIR(src->st.st_mode))
			return husk_fail_as(err, ENOTDIR,
					    "cannot copy a directory to \"%s\": it is a file",
					    d->path);
	} else if (errno != ENOENT) {
		return husk_fail(err, errno, "\"%s\"", d->path);
	} else if (!src) {
		return husk_fail_as(err, ENOENT, "\"%s\": no such directory", d->path);
	} else if (slash && !S_ISDIR(src->st.st_mode)) {
		return husk_fail_as(err, ENOENT, "\"%s\": no such directory", d->path);
	}
	cleanup_free char *a = strdup(d->path), *b = strdup(d->path);
	size_t n = strlen(b);
	while (n > 1 && b[n - 1] == '/')
		b[--n] = '\0';
	r->dirfd = open_in_root(d->rootfd, dirname(a), O_PATH | O_DIRECTORY, true);
	if (r->dirfd < 0)
		return husk_fail(err, errno, "\"%s\": its directory", d->path);
	*ret_to = strdup(basename(b));
	return 0;
}

int husk_engine_cp(struct husk_engine *e, const struct husk_cp_opts *o, husk_error **err)
{
	if (!o->src_ctr == !o->dst_ctr)
		return husk_fail_as(err, EINVAL,
				    o->src_ctr ? "copying between containers is not supported"
					       : "one side must be a container (CONTAINER:PATH)");
	if (husk_lazy_archive(err) < 0)
		return -1;
	struct side s = {.ctr = o->src_ctr, .path = o->src_path, .rootfd = -1};
	struct side d = {.ctr = o->dst_ctr, .path = o->dst_path, .rootfd = -1};
	bool from_stdin = !s.ctr && strcmp(s.path, "-") == 0;
	bool to_stdout = !d.ctr && strcmp(d.path, "-") == 0;
	struct cp_src src = {.fd = -1};
	struct reader *r = calloc(1, sizeof(*r));
	cleanup_free char *to = NULL, *label = NULL;
	int ret = -1;
	if (!r) {
		husk_fail(err, ENOMEM, "cp");
		goto out;
	}
	r->dirfd = -1;
	if ((!from_stdin && side_open(e, &s, err) < 0) || (!to_stdout && side_open(e, &d, err) < 0))
		goto out;
	label = s.ctr ? husk_strdup_printf("%s:%s", s.ctr, s.path) : strdup(s.path);
	if (!from_stdin && cp_src_open(s.rootfd, s.path, label, o->follow, &src, err) < 0)
		goto out;
	if (to_stdout) {
		ret = write_stream(&src, STDOUT_FILENO, err);
		goto out;
	}
	if (plan_dest(&d, from_stdin ? NULL : &src, r, &to, err) < 0)
		goto out;
	r->from = from_stdin ? NULL : src.top;
	r->to = to;
	r->err = err;
	r->keep_owner = o->archive;
	/* Docker's owners: root's in a container, the caller's on the host */
	r->uid = d.ctr ? 0 : getuid();
	r->gid = d.ctr ? 0 : getgid();
	if (from_stdin) {
		ret = read_stream(r, STDIN_FILENO);
		goto out;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		husk_fail(err, errno, "pipe");
		goto out;
	}
	struct producer prod = {.src = &src, .fd = p[1]};
	pthread_t t;
	int te = pthread_create(&t, NULL, produce, &prod);
	if (te != 0) {
		close(p[0]);
		close(p[1]);
		husk_fail(err, te, "thread");
		goto out;
	}
	ret = read_stream(r, p[0]);
	close(p[0]); /* a writer still at it gets EPIPE */
	pthread_join(t, NULL);
	/* the producer's failure is the cause, unless it only met the
	 * reader's (EPIPE) */
	if (prod.r < 0 && (ret == 0 || (prod.err && prod.err->errnum != EPIPE))) {
		if (ret < 0) {
			husk_error_free(*err);
			*err = NULL;
		}
		*err = prod.err;
		prod.err = NULL;
		ret = -1;
	}
	husk_error_free(prod.err);
out:
	cp_src_release(&src);
	if (r && r->dirfd >= 0)
		close(r->dirfd);
	free(r);
	if (s.rootfd >= 0)
		close(s.rootfd);
	if (d.rootfd >= 0)
		close(d.rootfd);
	free(s.abs);
	free(d.abs);
	return ret;
}

#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

char *husk_strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		abort(); /* out of memory: nothing sensible to do */
	return s;
}

int husk_read_fd_all(int fd, char **ret, size_t *ret_len, husk_error **err)
{
	/* a regular file's size up front: growing by doubling from 4 kB
	 * copied a 30 kB file four times and touched twice its pages, each
	 * a fault that costs 10-20 us on these VMs (+2: room for the NUL
	 * and for the read that finds the end) */
	size_t cap = 4096, len = 0;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < (64 << 20))
		cap = (size_t)st.st_size + 2;
	char *buf = malloc(cap);
	if (!buf)
		return husk_fail(err, ENOMEM, "read");
	for (;;) {
		if (len + 1 >= cap) {
			cap *= 2;
			char *n = realloc(buf, cap);
			if (!n) {
				free(buf);
				return husk_fail(err, ENOMEM, "read");
			}
			buf = n;
		}
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			return husk_fail(err, e, "read");
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int husk_read_file(const char *path, char **ret, size_t *ret_len, husk_error **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", path);
	if (husk_read_fd_all(fd, ret, ret_len, err) < 0)
		return husk_error_wrap(err, "\"%s\"", path);
	return 0;
}

int husk_pread_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	while (len > 0) {
		ssize_t r = pread(fd, p, len, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* short: the file changed under us */
		p += r;
		off += r;
		len -= (size_t)r;
	}
	return 0;
}

bool husk_pread_matches(int fd, off_t off, const void *want, size_t len)
{
	char buf[4096];
	for (size_t done = 0; done < len;) {
		size_t chunk = len - done < sizeof(buf) ? len - done : sizeof(buf);
		if (husk_pread_all(fd, buf, chunk, off) < 0 ||
		    memcmp(buf, (const char *)want + done, chunk) != 0)
			return false;
		done += chunk;
		off += (off_t)chunk;
	}
	return true;
}

int husk_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int husk_write_file(const char *path, const char *buf, size_t len, mode_t mode, husk_error **err)
{
	int flags = O_WRONLY | O_CLOEXEC | O_TRUNC | (mode ? O_CREAT : 0);
	cleanup_close int fd = open(path, flags, mode);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", path);
	int r = husk_write_all(fd, buf, len);
	if (r < 0)
		return husk_fail(err, -r, "write \"%s\"", path);
	return 0;
}

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* a temp file in path's dir, then renamed over path, or (swap) exchanged
 * with it (husk_write_file_swap says why) */
static int write_replacing(const char *path, const char *buf, size_t len, mode_t mode, bool swap,
			   husk_error **err)
{
	cleanup_free char *tmp = husk_strdup_printf("%s.tmp.%d", path, (int)getpid());
	cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", tmp);
	int r = husk_write_all(fd, buf, len);
	/* by syscall: musl, which the static monitor is built with, has no
	 * renameat2 */
	if (r == 0 && swap &&
	    syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
		/* tmp now names the old file */
		unlink(tmp);
		return 0;
	}
	/* rename alone makes the change atomic for readers; runtime state (a
	 * tmpfs under /run) and pid files need nothing more, and an fsync
	 * on a disk costs more than the rest of a container's start.  (An
	 * exchange that failed: ENOENT, no file there yet; EINVAL, none on
	 * this fs.) */
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return husk_fail(err, -r, "write \"%s\"", path);
	}
	return 0;
}

int husk_write_file_atomic(const char *path, const char *buf, size_t len, mode_t mode,
			   husk_error **err)
{
	return write_replacing(path, buf, len, mode, false, err);
}

int husk_write_file_swap(const char *path, const char *buf, size_t len, mode_t mode,
			 husk_error **err)
{
	return write_replacing(path, buf, len, mode, true, err);
}

int husk_mkdir_p(const char *path, mode_t mode, husk_error **err)
{
	/* the common case, every dir there but maybe the last: one call,
	 * not one a component (the store opens six such paths a command) */
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return husk_fail(err, errno, "mkdir \"%s\"", path);
	cleanup_free char *p = strdup(path);
	if (!p)
		return husk_fail(err, ENOMEM, "mkdir");
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return husk_fail(err, errno, "mkdir \"%s\"", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return husk_fail(err, errno, "mkdir \"%s\"", p);
	return 0;
}

/* Spread the trees.  ext4 puts a new dir's inode in its parent's block
 * group when that group has room, and a file's beside its dir's; with no
 * journal (as on these VMs' root) it skips every free inode whose dtime is
 * less than 60 s old (360 s while its table block is dirty), scanning the
 * group's bitmap past each one with a buffer-cache lookup.  So a store
 * that lost a tree (an rm, an image prune, a build's steps) makes the
 * next tree's files in the same groups, each allocation past the
 * thousands just freed: a 10,000-file COPY took 4-6 s, 70% of it in
 * find_inode_bit/recently_deleted, against 0.7 s with the dirs below
 * marked.  FS_TOPDIR_FL tells the Orlov allocator that each child of the
 * dir starts a hierarchy of its own, placed in a group with more free
 * inodes and blocks and fewer dirs than average, picked at random: the
 * next tree lands away from the last.  Cost: one open and two ioctls when
 * the dir is made; nothing on other filesystems (ENOTTY, EOPNOTSUPP are
 * ignored). */
static void mark_top(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	int flags = 0;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && !(flags & FS_TOPDIR_FL)) {
		flags |= FS_TOPDIR_FL;
		(void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
	}
	close(fd);
}

int husk_mkdir_top(const char *path, mode_t mode, husk_error **err)
{
	if (mkdir(path, mode) < 0) {
		if (errno == EEXIST)
			return 0;
		if (errno != ENOENT)
			return husk_fail(err, errno, "mkdir \"%s\"", path);
		if (husk_mkdir_p(path, mode, err) < 0)
			return -1;
	}
	mark_top(path);
	return 0;
}

int husk_parse_long(const char *s, long *ret)
{
	if (!s || !*s)
		return -EINVAL;
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int husk_parse_bool(const char *s)
{
	static const char *const t[] = {"1", "t", "T", "true", "True", "TRUE"};
	static const char *const f[] = {"0", "f", "F", "false", "False", "FALSE"};
	for (size_t i = 0; s && i < ARRAY_SIZE(t); i++) {
		if (strcmp(s, t[i]) == 0)
			return 1;
		if (strcmp(s, f[i]) == 0)
			return 0;
	}
	return -1;
}

int husk_parse_u64(const char *s, uint64_t *ret)
{
	if (!s || !*s || *s == '-')
		return -EINVAL;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int parse_list_number(const char **p, unsigned long *ret)
{
	if (**p < '0' || **p > '9')
		return -EINVAL;
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(*p, &end, 10);
	if (errno)
		return -ERANGE;
	*p = end;
	*ret = v;
	return 0;
}

int husk_parse_id_list(const char *s, unsigned long *mask, size_t nbits, size_t *ret_count)
{
	const size_t lbits = 8 * sizeof(unsigned long);
	memset(mask, 0, (nbits + lbits - 1) / lbits * sizeof(unsigned long));
	size_t count = 0;
	const char *p = skip_blanks(s);
	while (*p) {
		unsigned long lo, hi;
		int r = parse_list_number(&p, &lo);
		if (r < 0)
			return r;
		hi = lo;
		p = skip_blanks(p);
		if (*p == '-') {
			p = skip_blanks(p + 1);
			if ((r = parse_list_number(&p, &hi)) < 0)
				return r;
			if (hi < lo)
				return -EINVAL;
			p = skip_blanks(p);
		}
		if (hi >= nbits)
			return -ERANGE;
		for (unsigned long i = lo; i <= hi; i++) {
			if (!(mask[i / lbits] & (1ul << (i % lbits))))
				count++;
			mask[i / lbits] |= 1ul << (i % lbits);
		}
		if (*p == ',') {
			p = skip_blanks(p + 1);
			if (!*p)
				return -EINVAL; /* "1," */
		} else if (*p) {
			return -EINVAL;
		}
	}
	if (ret_count)
		*ret_count = count;
	return 0;
}

int husk_parse_size(const char *s, long long *ret)
{
	if (strcmp(s, "-1") == 0) {
		*ret = -1;
		return 0;
	}
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || v < 0)
		return -EINVAL;
	long long mul = 1;
	switch (*end | 0x20) {
	case ' ':
		break;
	case 'b':
		break;
	case 'k':
		mul = 1024;
		break;
	case 'm':
		mul = 1024 * 1024;
		break;
	case 'g':
		mul = 1024LL * 1024 * 1024;
		break;
	case 't':
		mul = 1024LL * 1024 * 1024 * 1024;
		break;
	default:
		return -EINVAL;
	}
	/* after the unit, only an optional b */
	if (*end && end[1] && !((end[1] | 0x20) == 'b' && !end[2]))
		return -EINVAL;
	/* a size past what a long long holds is no size (and converting it
	 * would be undefined: the fuzzer found it) */
	if (!(v * (double)mul < 9.2e18))
		return -ERANGE;
	*ret = (long long)(v * (double)mul);
	return 0;
}

void husk_strv_push(char ***v, size_t *n, char *s)
{
	*v = realloc(*v, (*n + 2) * sizeof(char *));
	if (!*v)
		abort();
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

void husk_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *husk_strv_join_sorted(char **v, size_t n, const char *sep)
{
	if (n)
		qsort(v, n, sizeof(*v), cmp_strp);
	size_t len = 1, at = 0;
	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + strlen(sep);
	char *s = calloc(1, len);
	if (!s)
		abort();
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(s + at, len - at, "%s%s", i ? sep : "", v[i]);
	return s;
}

uint64_t husk_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

unsigned long long husk_pid_starttime(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parens: fields start after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	/* after ')' comes field 3 (state); starttime is field 22 */
	int field = 2;
	char *save = NULL;
	for (char *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		field++;
		if (field == 3 && tok[0] == 'Z')
			return 0; /* a zombie has exited */
		if (field == 22)
			return strtoull(tok, NULL, 10);
	}
	return 0;
}

bool husk_pid_alive(pid_t pid, unsigned long long start)
{
	if (pid <= 0)
		return false;
	unsigned long long now = husk_pid_starttime(pid);
	return now != 0 && (start == 0 || now == start);
}

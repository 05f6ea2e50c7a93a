/* A COPY's work after its overlay is unmounted, and its record for the
 * next build (copyplan.h). */
#define _GNU_SOURCE
#include "copyplan.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#define RECORD_HEAD "husk-copy-record 1\n"

/* a regular file the copy writes, or (link) will link */
struct pfile {
	char *path; /* relative to the upper dir */
	char *src;  /* relative to the source root, for a link */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	long long mtime_ns;
	unsigned long long size;
	unsigned char sha[32];
	bool link;
};

struct pdir {
	char *path;
	struct timespec mtime;
};

/* a line of the earlier record */
struct rline {
	const char *path;
	uint32_t hash;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	long long mtime_ns;
	unsigned long long size;
	unsigned char sha[32];
};

struct husk_copy_plan {
	char *record; /* NULL: none kept */
	int old_fd;   /* the earlier layer's dir; -1: nothing to link */
	char *target; /* the current target's path in the upper dir; NULL: unknown */
	char *text;   /* the earlier record */
	struct rline *lines;
	size_t n_lines;
	uint32_t *index; /* into lines, + 1; 0 free */
	size_t cap;
	struct pfile *files;
	size_t n_files, files_cap;
	struct pdir *dirs;
	size_t n_dirs, dirs_cap;
};

static uint32_t hash_str(const char *s)
{
	uint64_t h = husk_fnv1a64(s, strlen(s), HUSK_FNV1A_INIT);
	return (uint32_t)(h ^ (h >> 32));
}

/* "SHA MODE UID GID MTIME_NS SIZE PATH" (line NUL-terminated) */
static bool parse(char *line, struct rline *l)
{
	if (strlen(line) < 66 || line[64] != ' ')
		return false;
	for (int i = 0; i < 32; i++) {
		int hi = husk_unhex_digit(line[2 * i]), lo = husk_unhex_digit(line[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		l->sha[i] = (unsigned char)(hi << 4 | lo);
	}
	unsigned int mode = 0, uid = 0, gid = 0;
	long long mt = 0;
	unsigned long long size = 0;
	int off = 0;
	if (sscanf(line + 65, "%o %u %u %lld %llu %n", &mode, &uid, &gid, &mt, &size, &off) != 5 ||
	    off == 0 || !line[65 + off])
		return false;
	l->mode = (mode_t)mode;
	l->uid = (uid_t)uid;
	l->gid = (gid_t)gid;
	l->mtime_ns = mt;
	l->size = size;
	l->path = line + 65 + off;
	l->hash = hash_str(l->path);
	return true;
}

static const struct rline *lookup(const struct husk_copy_plan *p, const char *path)
{
	if (!p->cap)
		return NULL;
	uint32_t h = hash_str(path);
	for (size_t i = h & (p->cap - 1); p->index[i]; i = (i + 1) & (p->cap - 1)) {
		const struct rline *l = &p->lines[p->index[i] - 1];
		if (l->hash == h && strcmp(l->path, path) == 0)
			return l;
	}
	return NULL;
}

/* the earlier record, and its layer's dir opened */
static void load(struct husk_copy_plan *p, const char *layers_dir)
{
	size_t len = 0;
	if (husk_read_file(p->record, &p->text, &len, NULL) < 0)
		return;
	char *t = p->text;
	if (strncmp(t, RECORD_HEAD, strlen(RECORD_HEAD)) != 0)
		return;
	t += strlen(RECORD_HEAD);
	char *nl = strchr(t, '\n');
	if (!nl || strncmp(t, "sha256:", 7) != 0 || nl - t != 7 + 64)
		return;
	*nl = '\0';
	if (strspn(t + 7, "0123456789abcdef") != 64)
		return;
	cleanup_free char *dir = husk_strdup_printf("%s/%s", layers_dir, t + 7);
	size_t n = 0;
	for (char *q = nl + 1; (q = strchr(q, '\n')); q++)
		n++;
	p->lines = calloc(n + 1, sizeof(*p->lines));
	for (p->cap = 16; p->cap < 2 * n; p->cap *= 2)
		;
	p->index = calloc(p->cap, sizeof(*p->index));
	if (!p->lines || !p->index)
		abort();
	for (char *line = nl + 1; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		struct rline l;
		if (!parse(line, &l) || lookup(p, l.path))
			continue;
		p->lines[p->n_lines++] = l;
		size_t i = l.hash & (p->cap - 1);
		while (p->index[i])
			i = (i + 1) & (p->cap - 1);
		p->index[i] = (uint32_t)p->n_lines;
	}
	p->old_fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

struct husk_copy_plan *husk_copy_plan_new(const char *record, const char *layers_dir, bool reuse)
{
	struct husk_copy_plan *p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	p->old_fd = -1;
	p->record = record ? strdup(record) : NULL;
	if (p->record && reuse)
		load(p, layers_dir);
	return p;
}

void husk_copy_plan_free(struct husk_copy_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_files; i++) {
		free(p->files[i].path);
		free(p->files[i].src);
	}
	for (size_t i = 0; i < p->n_dirs; i++)
		free(p->dirs[i].path);
	free(p->files);
	free(p->dirs);
	free(p->lines);
	free(p->index);
	free(p->text);
	free(p->target);
	free(p->record);
	closep_(&p->old_fd);
	free(p);
}

static char *fd_path(int fd)
{
	char proc[64], buf[4096];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

bool husk_copy_plan_target(struct husk_copy_plan *p, int dst_root, int tfd)
{
	if (!p)
		return false;
	free(p->target);
	p->target = NULL;
	cleanup_free char *root = fd_path(dst_root);
	cleanup_free char *t = fd_path(tfd);
	if (!root || !t)
		return false;
	size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
	if (strncmp(t, root, rl) != 0 || (t[rl] != '/' && t[rl] != '\0'))
		return false;
	p->target = strdup(t[rl] == '/' ? t + rl + 1 : "");
	return p->target != NULL;
}

static char *upper_path(const struct husk_copy_plan *p, const char *dst)
{
	return *p->target ? husk_strdup_printf("%s/%s", p->target, dst) : strdup(dst);
}

static long long ns_of(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

bool husk_copy_plan_file(struct husk_copy_plan *p, const char *dst, const char *src,
			 const struct stat *st, mode_t mode, uid_t uid, gid_t gid,
			 const unsigned char *sha, bool may_link)
{
	if (!p || !p->target || !sha || (!p->record && p->old_fd < 0))
		return false;
	if (p->n_files == p->files_cap) {
		p->files_cap = p->files_cap ? p->files_cap * 2 : 256;
		p->files = realloc(p->files, p->files_cap * sizeof(*p->files));
		if (!p->files)
			abort();
	}
	struct pfile *f = &p->files[p->n_files++];
	*f = (struct pfile){.path = upper_path(p, dst),
			    .mode = mode,
			    .uid = uid,
			    .gid = gid,
			    .mtime_ns = ns_of(&st->st_mtim),
			    .size = (unsigned long long)st->st_size};
	memcpy(f->sha, sha, 32);
	if (!may_link || p->old_fd < 0)
		return false;
	/* what the earlier copy wrote there, by its record and as it is */
	const struct rline *l = lookup(p, f->path);
	struct stat o;
	if (!l || memcmp(l->sha, f->sha, 32) != 0 || l->mode != mode || l->uid != uid ||
	    l->gid != gid || l->mtime_ns != f->mtime_ns || l->size != f->size ||
	    fstatat(p->old_fd, f->path, &o, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(o.st_mode) ||
	    (o.st_mode & 07777) != mode || o.st_uid != uid || o.st_gid != gid ||
	    ns_of(&o.st_mtim) != f->mtime_ns || (unsigned long long)o.st_size != f->size)
		return false;
	f->src = strdup(src);
	f->link = true;
	return true;
}

void husk_copy_plan_dir(struct husk_copy_plan *p, const char *dst, const struct timespec *mtime)
{
	if (!p || !p->target || !*dst)
		return;
	if (p->n_dirs == p->dirs_cap) {
		p->dirs_cap = p->dirs_cap ? p->dirs_cap * 2 : 64;
		p->dirs = realloc(p->dirs, p->dirs_cap * sizeof(*p->dirs));
		if (!p->dirs)
			abort();
	}
	p->dirs[p->n_dirs++] = (struct pdir){.path = upper_path(p, dst), .mtime = *mtime};
}

/* the link that failed: the file copied from its source, in upper */
static int copy_file(int src_root, int upper, const struct pfile *f)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	cleanup_close int in = (int)syscall(SYS_openat2, src_root, f->src, &how, sizeof(how));
	cleanup_close int out =
		in < 0 ? -1
		       : openat(upper, f->path,
				O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return -1;
	for (;;) {
		ssize_t n = sendfile(out, in, NULL, 1 << 30);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
	}
	struct timespec ts[2] = {
		{.tv_sec = f->mtime_ns / 1000000000LL, .tv_nsec = f->mtime_ns % 1000000000LL}};
	ts[1] = ts[0];
	return fchown(out, f->uid, f->gid) < 0 || fchmod(out, f->mode) < 0 || futimens(out, ts) < 0
		       ? -1
		       : 0;
}

int husk_copy_plan_finish(struct husk_copy_plan *p, int src_root, const char *upper,
			  husk_error **err)
{
	if (!p || (!p->n_dirs && !p->n_files))
		return 0;
	cleanup_close int ufd = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ufd < 0)
		return husk_fail(err, errno, "open \"%s\"", upper);
	for (size_t i = 0; i < p->n_files; i++) {
		const struct pfile *f = &p->files[i];
		if (!f->link)
			continue;
		if (linkat(p->old_fd, f->path, ufd, f->path, 0) == 0)
			continue;
		/* too many links (65,000 on ext4), the layer gone */
		if (copy_file(src_root, ufd, f) < 0)
			return husk_fail(err, errno ? errno : EIO, "copy \"%s\"", f->src);
	}
	for (size_t i = 0; i < p->n_dirs; i++) {
		struct timespec ts[2] = {p->dirs[i].mtime, p->dirs[i].mtime};
		if (utimensat(ufd, p->dirs[i].path, ts, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
			return husk_fail(err, errno, "set the times of \"%s\"", p->dirs[i].path);
	}
	return 0;
}

void husk_copy_plan_save(struct husk_copy_plan *p, const char *diff_id)
{
	if (!p || !p->record)
		return;
	if (!diff_id || !p->n_files) {
		unlink(p->record);
		return;
	}
	size_t cap = strlen(RECORD_HEAD) + strlen(diff_id) + 2;
	for (size_t i = 0; i < p->n_files; i++)
		cap += strlen(p->files[i].path) + 160;
	char *buf = malloc(cap);
	if (!buf)
		abort();
	size_t len = (size_t)snprintf(buf, cap, "%s%s\n", RECORD_HEAD, diff_id);
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < p->n_files; i++) {
		const struct pfile *f = &p->files[i];
		if (strchr(f->path, '\n'))
			continue;
		for (int k = 0; k < 32; k++) {
			buf[len++] = digits[f->sha[k] >> 4];
			buf[len++] = digits[f->sha[k] & 15];
		}
		len += (size_t)snprintf(buf + len, cap - len, " %o %u %u %lld %llu %s\n",
					(unsigned int)f->mode, (unsigned int)f->uid,
					(unsigned int)f->gid, f->mtime_ns, f->size, f->path);
	}
	husk_write_file_atomic(p->record, buf, len, 0600, NULL);
	free(buf);
}

bool husk_copy_plan_record_live(const char *path, const char *layers_dir)
{
	char head[128] = "";
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(head, 1, sizeof(head) - 1, f);
	fclose(f);
	head[n] = '\0';
	size_t hl = strlen(RECORD_HEAD);
	if (n < hl + 7 + 64 || strncmp(head, RECORD_HEAD, hl) != 0 ||
	    strncmp(head + hl, "sha256:", 7) != 0)
		return false;
	head[hl + 7 + 64] = '\0';
	cleanup_free char *dir = husk_strdup_printf("%s/%s", layers_dir, head + hl + 7);
	struct stat st;
	return stat(dir, &st) == 0;
}

/* The context's file hashes between builds (hashcache.h).  The file is
 * one line per file, "HEX INO SIZE MTIME_NS CTIME_NS PATH\n" (PATH last:
 * it may hold spaces; a path with a newline is never kept).
 *
 * A fully cached build reads it whole, so loading is made cheap: the
 * file is mapped, not copied, and indexed by an open-addressing table of
 * 8-byte slots (a line's offset and its path's hash); a line is parsed
 * only when its path is looked up.  Memory is what costs here: on these
 * VMs a page touched for the first time costs 10-20 us, and the earlier
 * loader (sscanf into 88-byte entries, the text copied) took 25-50 ms
 * for 10,000 files, about 1,000 page faults of it. */
#define _GNU_SOURCE
#include "hashcache.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lazy.h"
#include "util.h"

/* a file's entry, parsed */
struct hc_entry {
	unsigned long long ino, size;
	long long mtime_ns, ctime_ns;
	unsigned char sha[32];
};

/* An entry put by this build: its line made when saved */
struct hc_added {
	char *path;
	struct hc_entry e;
};

/* slot.ref: 0 free; odd: (line offset << 1) | 1 into the file; even:
 * (index into added + 1) << 1 */
struct hc_slot {
	uint32_t ref;
	uint32_t hash;
	uint16_t len; /* the path's */
	uint8_t skip; /* a line's path starts skip bytes in */
	uint8_t spare;
};

struct husk_hash_cache {
	char *file; /* NULL: not saved */
	const char *text;
	size_t len; /* text mapped, len bytes */
	struct hc_slot *v;
	size_t cap, n; /* cap a power of two, n <= cap * 3 / 4 */
	struct hc_added *added;
	size_t n_added;
	bool dirty;
	long long now_ns;
	pthread_rwlock_t mu; /* a COPY's walk runs on several threads */
};

static uint32_t hash_mem(const char *s, size_t len)
{
	uint64_t h = husk_fnv1a64(s, len, HUSK_FNV1A_INIT);
	return (uint32_t)(h ^ (h >> 32));
}

static long long ns_of(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static const char *slot_path(const struct husk_hash_cache *c, const struct hc_slot *s)
{
	if (s->ref & 1)
		return c->text + (s->ref >> 1) + s->skip;
	return c->added[(s->ref >> 1) - 1].path;
}

static struct hc_slot *slot(struct husk_hash_cache *c, const char *path, size_t len, uint32_t h)
{
	size_t i = h & (c->cap - 1);
	for (;; i = (i + 1) & (c->cap - 1)) {
		struct hc_slot *s = &c->v[i];
		if (!s->ref)
			return s;
		if (s->hash == h && s->len == len && memcmp(slot_path(c, s), path, len) == 0)
			return s;
	}
}

static void grow(struct husk_hash_cache *c, size_t want)
{
	size_t cap = c->cap ? c->cap : 64;
	while (want > cap / 4 * 3)
		cap *= 2;
	if (cap == c->cap)
		return;
	struct hc_slot *old = c->v;
	size_t ocap = c->cap;
	c->cap = cap;
	c->v = calloc(cap, sizeof(*c->v));
	if (!c->v)
		abort();
	for (size_t i = 0; i < ocap; i++)
		if (old[i].ref)
			*slot(c, slot_path(c, &old[i]), old[i].len, old[i].hash) = old[i];
	free(old);
}

/* a decimal number and the space after it; NULL when there is none */
static const char *number(const char *p, const char *end, unsigned long long *ret)
{
	unsigned long long v = 0;
	const char *start = p;
	while (p < end && *p >= '0' && *p <= '9' && p - start < 19)
		v = v * 10 + (unsigned long long)(*p++ - '0');
	if (p == start || p >= end || *p != ' ')
		return NULL;
	*ret = v;
	return p + 1;
}

/* line [p, end): its entry and where its path starts; NULL if damaged */
static const char *parse_line(const char *p, const char *end, struct hc_entry *e)
{
	if (end - p < 66 || p[64] != ' ')
		return NULL;
	for (int i = 0; i < 32; i++) {
		int hi = husk_unhex_digit(p[2 * i]), lo = husk_unhex_digit(p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return NULL;
		e->sha[i] = (unsigned char)(hi << 4 | lo);
	}
	unsigned long long mt = 0, ct = 0;
	p += 65;
	if (!(p = number(p, end, &e->ino)) || !(p = number(p, end, &e->size)) ||
	    !(p = number(p, end, &mt)) || !(p = number(p, end, &ct)) || p >= end)
		return NULL;
	e->mtime_ns = (long long)mt;
	e->ctime_ns = (long long)ct;
	return p;
}

static void map_file(struct husk_hash_cache *c)
{
	cleanup_close int fd = open(c->file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0 || st.st_size >= (off_t)1 << 31)
		return;
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		return;
	c->text = m;
	c->len = (size_t)st.st_size;
}

struct husk_hash_cache *husk_hash_cache_open(const char *cache_dir, const char *ctx)
{
	struct husk_hash_cache *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	pthread_rwlock_init(&c->mu, NULL);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	c->now_ns = ns_of(&now);
	char hex[65];
	husk_sha256_hex(ctx, strlen(ctx), hex);
	c->file = husk_strdup_printf("%s/files-%s", cache_dir, hex);
	map_file(c);
	size_t lines = 0;
	const char *text = c->text, *end = text + c->len;
	for (const char *p = text; p < end && (p = memchr(p, '\n', (size_t)(end - p))); p++)
		lines++;
	grow(c, lines + 1);
	for (const char *line = text, *nl;
	     line < end && (nl = memchr(line, '\n', (size_t)(end - line))); line = nl + 1) {
		/* its path, after the digest and four numbers; the rest is
		 * parsed when looked up */
		const char *p = nl - line > 66 && line[64] == ' ' ? line + 65 : NULL;
		for (int i = 0; i < 4 && p; i++)
			p = memchr(p, ' ', (size_t)(nl - p)), p = p ? p + 1 : NULL;
		if (!p || p >= nl || nl - p > UINT16_MAX || p - line > UINT8_MAX)
			continue; /* damaged: that line is not kept */
		uint32_t h = hash_mem(p, (size_t)(nl - p));
		struct hc_slot *s = slot(c, p, (size_t)(nl - p), h);
		if (!s->ref)
			c->n++;
		*s = (struct hc_slot){.ref = (uint32_t)(line - text) << 1 | 1,
				      .hash = h,
				      .len = (uint16_t)(nl - p),
				      .skip = (uint8_t)(p - line)};
	}
	return c;
}

static bool get_locked(struct husk_hash_cache *c, const char *path, const struct stat *st,
		       unsigned char ret_sha256[32])
{
	size_t len = strlen(path);
	struct hc_slot *s = slot(c, path, len, hash_mem(path, len));
	if (!s->ref)
		return false;
	struct hc_entry e;
	if (s->ref & 1) {
		const char *line = c->text + (s->ref >> 1);
		if (!parse_line(line, line + s->skip + s->len, &e))
			return false;
	} else {
		e = c->added[(s->ref >> 1) - 1].e;
	}
	if (e.ino != (unsigned long long)st->st_ino || e.size != (unsigned long long)st->st_size ||
	    e.mtime_ns != ns_of(&st->st_mtim) || e.ctime_ns != ns_of(&st->st_ctim))
		return false;
	memcpy(ret_sha256, e.sha, 32);
	return true;
}

static void put_locked(struct husk_hash_cache *c, const char *path, const struct stat *st,
		       const unsigned char sha256[32])
{
	/* racily clean: changed too recently to trust its times.  File
	 * times tick by the kernel's coarse clock (a jiffy, 10 ms at most);
	 * a filesystem whose times are whole seconds has tv_nsec 0 */
	long long margin = st->st_ctim.tv_nsec == 0 ? 2000000000LL : 20000000LL;
	if (strchr(path, '\n') || strlen(path) > UINT16_MAX ||
	    ns_of(&st->st_mtim) > c->now_ns - margin || ns_of(&st->st_ctim) > c->now_ns - margin ||
	    ns_of(&st->st_mtim) < 0 || ns_of(&st->st_ctim) < 0 || c->n_added >= UINT32_MAX / 2 - 1)
		return;
	struct hc_added *a = realloc(c->added, (c->n_added + 1) * sizeof(*a));
	if (!a)
		abort();
	c->added = a;
	a = &c->added[c->n_added++];
	a->path = strdup(path);
	if (!a->path)
		abort();
	a->e = (struct hc_entry){
		.ino = (unsigned long long)st->st_ino,
		.size = (unsigned long long)st->st_size,
		.mtime_ns = ns_of(&st->st_mtim),
		.ctime_ns = ns_of(&st->st_ctim),
	};
	memcpy(a->e.sha, sha256, 32);
	grow(c, c->n + 1);
	size_t len = strlen(path);
	uint32_t h = hash_mem(path, len);
	struct hc_slot *s = slot(c, path, len, h);
	if (!s->ref)
		c->n++;
	*s = (struct hc_slot){.ref = (uint32_t)c->n_added << 1, .hash = h, .len = (uint16_t)len};
	c->dirty = true;
}

bool husk_hash_cache_get(struct husk_hash_cache *c, const char *path, const struct stat *st,
			 unsigned char ret_sha256[32])
{
	if (!c)
		return false;
	pthread_rwlock_rdlock(&c->mu);
	bool r = get_locked(c, path, st, ret_sha256);
	pthread_rwlock_unlock(&c->mu);
	return r;
}

void husk_hash_cache_put(struct husk_hash_cache *c, const char *path, const struct stat *st,
			 const unsigned char sha256[32])
{
	if (!c)
		return;
	pthread_rwlock_wrlock(&c->mu);
	put_locked(c, path, st, sha256);
	pthread_rwlock_unlock(&c->mu);
}

void husk_hash_cache_save(struct husk_hash_cache *c)
{
	if (!c || !c->dirty || !c->file)
		return;
	size_t cap = c->len + 1;
	for (size_t i = 0; i < c->n_added; i++)
		cap += strlen(c->added[i].path) + 160;
	char *buf = malloc(cap);
	if (!buf)
		abort();
	size_t len = 0;
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < c->cap; i++) {
		const struct hc_slot *s = &c->v[i];
		if (!s->ref)
			continue;
		if (s->ref & 1) {
			/* a line of the file, as it was */
			const char *line = c->text + (s->ref >> 1);
			const char *nl = memchr(line, '\n', c->len - (size_t)(line - c->text));
			memcpy(buf + len, line, (size_t)(nl - line) + 1);
			len += (size_t)(nl - line) + 1;
			continue;
		}
		const struct hc_added *a = &c->added[(s->ref >> 1) - 1];
		for (int k = 0; k < 32; k++) {
			buf[len++] = digits[a->e.sha[k] >> 4];
			buf[len++] = digits[a->e.sha[k] & 15];
		}
		len += (size_t)snprintf(buf + len, cap - len, " %llu %llu %lld %lld %s\n", a->e.ino,
					a->e.size, a->e.mtime_ns, a->e.ctime_ns, a->path);
	}
	husk_write_file_atomic(c->file, buf, len, 0600, NULL);
	free(buf);
	c->dirty = false;
}

void husk_hash_cache_free(struct husk_hash_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_added; i++)
		free(c->added[i].path);
	free(c->added);
	free(c->v);
	if (c->text)
		munmap((void *)c->text, c->len);
	free(c->file);
	pthread_rwlock_destroy(&c->mu);
	free(c);
}

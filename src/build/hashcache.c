/* The context's file hashes between builds (hashcache.h).  The file is
 * one line per file, "HEX INO SIZE MTIME_NS CTIME_NS PATH\n" (PATH last:
 * it may hold spaces; a path with a newline is never kept), read into an
 * open-addressing table by path. */
#define _GNU_SOURCE
#include "hashcache.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

struct hc_entry {
	char *path; /* NULL: a free slot */
	unsigned long long ino, size;
	long long mtime_ns, ctime_ns;
	unsigned char sha[32];
};

struct husk_hash_cache {
	char *file; /* NULL: not saved */
	struct hc_entry *v;
	size_t cap, n; /* cap a power of two, n < cap / 2 */
	bool dirty;
	long long now_ns;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static long long ns_of(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static struct hc_entry *slot(struct husk_hash_cache *c, const char *path)
{
	size_t i = hash_str(path) & (c->cap - 1);
	while (c->v[i].path && strcmp(c->v[i].path, path) != 0)
		i = (i + 1) & (c->cap - 1);
	return &c->v[i];
}

static void grow(struct husk_hash_cache *c)
{
	struct hc_entry *old = c->v;
	size_t ocap = c->cap;
	c->cap = ocap ? ocap * 2 : 1024;
	c->v = calloc(c->cap, sizeof(*c->v));
	if (!c->v)
		abort();
	for (size_t i = 0; i < ocap; i++)
		if (old[i].path)
			*slot(c, old[i].path) = old[i];
	free(old);
}

static void insert(struct husk_hash_cache *c, const struct hc_entry *e)
{
	if ((c->n + 1) * 2 > c->cap)
		grow(c);
	struct hc_entry *s = slot(c, e->path);
	if (s->path) {
		free(s->path);
		c->n--;
	}
	*s = *e;
	c->n++;
}

static int unhex(const char *h, unsigned char out[32])
{
	for (int i = 0; i < 32; i++) {
		unsigned int b;
		if (sscanf(h + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (unsigned char)b;
	}
	return 0;
}

struct husk_hash_cache *husk_hash_cache_open(const char *cache_dir, const char *ctx)
{
	struct husk_hash_cache *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	c->now_ns = ns_of(&now);
	grow(c);
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dn = 0;
	EVP_Digest(ctx, strlen(ctx), d, &dn, EVP_sha256(), NULL);
	char hex[65] = "";
	for (unsigned int i = 0; i < dn && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	c->file = husk_strdup_printf("%s/files-%s", cache_dir, hex);
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (husk_read_file(c->file, &text, &len, NULL) < 0)
		return c;
	for (char *line = text, *nl;
	     line < text + len && (nl = memchr(line, '\n', (size_t)(text + len - line)));
	     line = nl + 1) {
		*nl = '\0';
		struct hc_entry e = {0};
		int off = 0;
		if (strlen(line) < 65 || line[64] != ' ' || unhex(line, e.sha) < 0 ||
		    sscanf(line + 65, "%llu %llu %lld %lld %n", &e.ino, &e.size, &e.mtime_ns,
			   &e.ctime_ns, &off) != 4 ||
		    off == 0 || !line[65 + off])
			continue; /* damaged: that line is not kept */
		e.path = strdup(line + 65 + off);
		if (!e.path)
			abort();
		insert(c, &e);
	}
	return c;
}

bool husk_hash_cache_get(struct husk_hash_cache *c, const char *path, const struct stat *st,
			 unsigned char ret_sha256[32])
{
	if (!c)
		return false;
	struct hc_entry *e = slot(c, path);
	if (!e->path || e->ino != (unsigned long long)st->st_ino ||
	    e->size != (unsigned long long)st->st_size || e->mtime_ns != ns_of(&st->st_mtim) ||
	    e->ctime_ns != ns_of(&st->st_ctim))
		return false;
	memcpy(ret_sha256, e->sha, 32);
	return true;
}

void husk_hash_cache_put(struct husk_hash_cache *c, const char *path, const struct stat *st,
			 const unsigned char sha256[32])
{
	/* racily clean: changed too recently to trust its times.  File
	 * times tick by the kernel's coarse clock (a jiffy, 10 ms at most);
	 * a filesystem whose times are whole seconds has tv_nsec 0 */
	long long margin = st->st_ctim.tv_nsec == 0 ? 2000000000LL : 20000000LL;
	if (!c || strchr(path, '\n') || ns_of(&st->st_mtim) > c->now_ns - margin ||
	    ns_of(&st->st_ctim) > c->now_ns - margin)
		return;
	struct hc_entry e = {
		.path = strdup(path),
		.ino = (unsigned long long)st->st_ino,
		.size = (unsigned long long)st->st_size,
		.mtime_ns = ns_of(&st->st_mtim),
		.ctime_ns = ns_of(&st->st_ctim),
	};
	if (!e.path)
		abort();
	memcpy(e.sha, sha256, 32);
	insert(c, &e);
	c->dirty = true;
}

void husk_hash_cache_save(struct husk_hash_cache *c)
{
	if (!c || !c->dirty || !c->file)
		return;
	size_t cap = 1, len = 0;
	for (size_t i = 0; i < c->cap; i++)
		if (c->v[i].path)
			cap += strlen(c->v[i].path) + 160;
	char *buf = malloc(cap);
	if (!buf)
		abort();
	for (size_t i = 0; i < c->cap; i++) {
		const struct hc_entry *e = &c->v[i];
		if (!e->path)
			continue;
		for (int k = 0; k < 32; k++)
			snprintf(buf + len + 2 * (size_t)k, 3, "%02x", e->sha[k]);
		len += 64;
		len += (size_t)snprintf(buf + len, cap - len, " %llu %llu %lld %lld %s\n", e->ino,
					e->size, e->mtime_ns, e->ctime_ns, e->path);
	}
	husk_write_file_atomic(c->file, buf, len, 0600, NULL);
	free(buf);
	c->dirty = false;
}

void husk_hash_cache_free(struct husk_hash_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->cap; i++)
		free(c->v[i].path);
	free(c->v);
	free(c->file);
	free(c);
}

/* The content hashes of a build context's files, kept between builds so
 * that the COPY of a large unchanged context reads no file again: a
 * file's sha256 is reused while its path, inode, size, mtime and ctime
 * are those it was hashed with (ctime moves with every write, even one
 * that puts the mtime back).  A file changed just before it was hashed
 * (20 ms; 2 s where times are whole seconds) is not kept: it could
 * change again within the same timestamp (git's "racily clean").
 *
 * One text file per context dir, <root>/build-cache/files-<sha256 of
 * the dir's path>, replaced atomically when it changed; a missing or
 * damaged file is an empty cache. */
#ifndef HUSK_BUILD_HASHCACHE_H
#define HUSK_BUILD_HASHCACHE_H

#include <stdbool.h>
#include <sys/stat.h>

struct husk_hash_cache;

/* The cache of context dir ctx, kept under cache_dir (never fails: at
 * worst an empty cache that is not saved) */
struct husk_hash_cache *husk_hash_cache_open(const char *cache_dir, const char *ctx);
/* path's sha256 (32 bytes) when st is what it was hashed with (get and
 * put may be called from several threads) */
bool husk_hash_cache_get(struct husk_hash_cache *c, const char *path, const struct stat *st,
			 unsigned char ret_sha256[32]);
void husk_hash_cache_put(struct husk_hash_cache *c, const char *path, const struct stat *st,
			 const unsigned char sha256[32]);
/* Write it back if it changed (errors ignored: it is a cache) */
void husk_hash_cache_save(struct husk_hash_cache *c);
void husk_hash_cache_free(struct husk_hash_cache *c);

#endif

/* COPY and ADD's file work, with Docker's rules: sources (globs,
 * .dockerignore, never outside their root), the content hash the cache
 * keys them by, and the copy into a step's root.  Every path on either
 * side is resolved inside its root (openat2 RESOLVE_IN_ROOT), so a
 * symlink in the context or in an image never leads to the host. */
#ifndef HUSK_BUILD_COPY_H
#define HUSK_BUILD_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "dockerfile.h"
#include "error.h"
#include "copyplan.h"
#include "hashcache.h"

struct husk_copy_opts {
	const struct husk_ignore *ignore; /* the context's; NULL for --from */
	bool chown;			  /* else 0:0 */
	uid_t uid;
	gid_t gid;
	int chmod; /* -1: the source's mode */
	bool add;  /* ADD: a local tar archive is unpacked */
	/* the context's file hashes (husk_copy_hash); NULL: none */
	struct husk_hash_cache *hash_cache;
	/* what to do after the unmount (husk_copy); NULL: nothing */
	struct husk_copy_plan *plan;
};

/* The sources as paths relative to src_root, globs expanded (sorted);
 * EINVAL for a path outside the root, ENOENT for one that is not there
 * (or is excluded). */
int husk_copy_sources(int src_root, const char *const *patterns, size_t n,
		      const struct husk_copy_opts *o, char ***ret, size_t *ret_n, husk_error **err);

/* sha256 (hex, 65 bytes) of what copying paths would write: names,
 * types, modes, owners, contents, link targets. */
int husk_copy_hash(int src_root, char *const *paths, size_t n, const struct husk_copy_opts *o,
		   char ret_hex[65], husk_error **err);

/* Copy paths into dst_root at dest (absolute in that root; a trailing
 * '/' means a directory), Docker's rules for directories and files.
 * With o->plan, a copied directory's times and the files it may link
 * are left to husk_copy_plan_finish, which must follow the unmount. */
int husk_copy(int src_root, char *const *paths, size_t n, int dst_root, const char *dest,
	      const struct husk_copy_opts *o, husk_error **err);

/* A file (COPY <<EOF) of content at dest, mode 0644 (or o->chmod). */
int husk_copy_content(int dst_root, const char *dest, const char *name, const char *content,
		      const struct husk_copy_opts *o, husk_error **err);

/* The dir at path in root (absolute), made with its parents (0755, o's
 * owner) when missing; its fd. */
int husk_copy_mkdir_p(int root, const char *path, const struct husk_copy_opts *o, husk_error **err);

/* "a/./b/../c/" -> "a/c"; NULL when it climbs out of its root. */
char *husk_copy_clean(const char *path);

#endif

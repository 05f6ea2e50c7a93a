/* RUN --mount=type=cache: the persistent dirs behind it.
 *
 * One dir per cache id, <root>/build-cache-mounts/<sha256 of the id>,
 * made on first use with the mount's mode, uid and gid (0755, 0:0 by
 * default) and, with from=, filled from that stage's or image's source;
 * kept between builds, never part of a layer, removed by `husk builder
 * prune` (husk_cache_mounts_prune).  A step holds a flock on its dir
 * while it runs: shared for sharing=shared (BuildKit's default: every
 * writer at once), exclusive for locked (the next waits); for private a
 * busy dir is left to its user and the step gets a fresh dir of its own,
 * thrown away after it.  Prune takes each dir's lock without waiting and
 * skips one in use. */
#ifndef HUSK_BUILD_CACHEMOUNT_H
#define HUSK_BUILD_CACHEMOUNT_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "runmount.h"

/* Fill a new cache dir (an fd of it) before it is used */
typedef int (*husk_cache_seed)(void *ud, int dirfd, husk_error **err);

struct husk_cache_mount {
	char *path; /* the dir to mount */
	int lock;   /* its locked fd, held for the step; -1 */
};

/* The dir for m (type=cache) under root, locked as m->sharing says;
 * private_dir: where a private mount goes when its dir is busy (made
 * here).  seed (NULL: none) fills a dir made now. */
int husk_cache_mount_open(const char *root, const struct husk_rmount *m, const char *private_dir,
			  husk_cache_seed seed, void *seed_ud, struct husk_cache_mount *ret,
			  husk_error **err);
void husk_cache_mount_release(struct husk_cache_mount *c);

/* Remove every cache dir no step holds; the bytes of their files */
long long husk_cache_mounts_prune(const char *root);

#endif

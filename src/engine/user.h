/* The user a container's process runs as, resolved as Docker does from
 * the container's own /etc/passwd and /etc/group.
 *
 * spec is what -u or the image's USER says: "name", "uid", "name:group",
 * "uid:gid", "name:gid", "uid:group" (empty or NULL: root).
 *  - a name must be in passwd (ENOENT otherwise); a number need not be:
 *    uid 1000 with no entry runs with gid 0 and HOME "/", as Docker and
 *    Podman do;
 *  - the gid is the group given, else the passwd entry's, else 0;
 *  - the supplementary groups are every group of /etc/group that lists the
 *    user's name, as Docker's getent does (only when no group was given);
 *  - HOME is the passwd entry's home, else "/".
 * The files are read through openat2(RESOLVE_IN_ROOT) below rootfs_fd, so
 * that a symlink in the image cannot make the engine read a host file. */
#ifndef HUSK_ENGINE_USER_H
#define HUSK_ENGINE_USER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct husk_user {
	uint32_t uid, gid;
	uint32_t *gids; /* supplementary groups */
	size_t n_gids;
	char *home;
};

int husk_user_resolve(int rootfs_fd, const char *spec, struct husk_user *ret, husk_error **err);
/* --group-add: each a gid or a group name of the container's /etc/group
 * (ENOENT with Docker's words when it has none), added to u's
 * supplementary groups. */
int husk_user_add_groups(int rootfs_fd, char **groups, struct husk_user *u, husk_error **err);
void husk_user_release(struct husk_user *u);

#endif

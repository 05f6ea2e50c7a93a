/* What create and rm do with volumes besides the public calls of
 * engine.h: the refs that say which containers mount a volume, and the
 * copy of the image's content into an empty one. */
#ifndef HUSK_ENGINE_VOLUME_H
#define HUSK_ENGINE_VOLUME_H

#include <stdbool.h>

#include "engine.h"

/* The volume name (NULL: a new anonymous one), made if missing, with a
 * ref for container id, all under the volumes' lock: a volume rm at the
 * same time either goes first (and this makes it again) or sees the ref.
 * ret_made: it was made now. */
int husk_volume_use(const char *root, const char *name, const char *id, struct husk_vol *ret,
		    bool *ret_made, husk_error **err);
/* Container id mounts name no more; with remove_anonymous, an anonymous
 * volume that no other container mounts goes too.  Never fails: what a
 * crash leaves (a ref of a container that is gone) counts for nothing. */
void husk_volume_unuse(const char *root, const char *name, const char *id, bool remove_anonymous);

/* Docker's copy-up: when the volume's data dir is empty and the image
 * has a directory at dst (resolved inside rootfs, never outside it), its
 * content goes into the volume with owners, modes, times, symlinks,
 * devices and xattrs, and the data dir takes the owner and mode of the
 * image's directory.  Under flock of the data dir: two containers that
 * first mount it at once copy once. */
int husk_volume_copy_up(const char *rootfs, const char *dst, const char *data, husk_error **err);

#endif

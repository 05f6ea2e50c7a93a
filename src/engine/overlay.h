/* A container's root: an overlay of the image's layers (top first) under
 * the container's own upper and work dirs, <root>/containers/<id>/. */
#ifndef HUSK_ENGINE_OVERLAY_H
#define HUSK_ENGINE_OVERLAY_H

#include <stdbool.h>

#include "error.h"
#include "image.h"

/* overlayfs stacks at most this many lower dirs (OVL_MAX_STACK) */
#define OVERLAY_MAX_LAYERS 500

/* Is layer i of img also higher up in it (the same diff twice, as two
 * identical steps of a build make)?  overlayfs refuses a lower dir given
 * twice (ELOOP); its topmost copy alone gives the same tree. */
bool husk_overlay_layer_again(const struct husk_image *img, size_t i);

/* Make upper/ and work/ (upper with the mode and owner of the image's
 * root, which the merged root takes) and mount the overlay on rootfs.
 * throwaway: the upper dir is not kept past a crash (--rm, a build's
 * step), so overlay's "volatile": no sync of the whole host filesystem
 * when it is unmounted, and fsync in the container is a no-op. */
int husk_overlay_mount(const char *root, const struct husk_image *img, const char *id,
		       const char *rootfs, bool throwaway, husk_error **err);
/* Is path a mount point (the overlay is mounted)? */
bool husk_overlay_mounted(const char *rootfs);
int husk_overlay_unmount(const char *rootfs, husk_error **err);

#endif

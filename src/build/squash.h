/* build --squash: several unpacked layers (overlay upper dirs: whiteouts
 * as 0:0 character devices, opaque dirs by their xattr) merged into one
 * upper dir that, over the same base, gives the same tree. */
#ifndef HUSK_BUILD_SQUASH_H
#define HUSK_BUILD_SQUASH_H

#include <stddef.h>

#include "error.h"

/* Apply the layer dirs, bottom first, onto out (an empty dir).  Regular
 * files are hard links to the layers' (they are never written), copies
 * when that fails. */
int husk_squash_layers(char *const *dirs, size_t n, const char *out, husk_error **err);

#endif

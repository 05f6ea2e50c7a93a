/* OCI hooks: each runs with the container's state JSON on its stdin; a
 * non-zero exit or a timeout fails the stage. */
#ifndef HUSK_HOOKS_H
#define HUSK_HOOKS_H

#include <stddef.h>

#include "error.h"
#include "spec.h"

int husk_hooks_run(const struct husk_hook *hooks, size_t n, const char *stage,
		   const char *state_json, husk_error **err);

#endif

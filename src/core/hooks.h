/* OCI hooks: each runs with the container's state JSON on its stdin; a
 * non-zero exit or a timeout fails the stage. */
#ifndef HUSK_HOOKS_H
#define HUSK_HOOKS_H

#include <stddef.h>

#include "error.h"
#include "spec.h"

/* A hook without env gets the runtime's own environment, as runc's and
 * crun's hooks do (config.md leaves env OPTIONAL). */
int husk_hooks_run(const struct husk_hook *hooks, size_t n, const char *stage,
		   const char *state_json, husk_error **err);

/* poststop: a hook that fails is a warning (warn, when given) and the rest
 * still run (runtime.md, lifecycle step 13). */
void husk_hooks_run_warn(const struct husk_hook *hooks, size_t n, const char *stage,
			 const char *state_json, void (*warn)(void *ud, const char *msg), void *ud);

#endif

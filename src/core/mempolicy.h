/* linux.memoryPolicy (runtime-spec 1.3): the NUMA memory policy of the
 * container's processes, set with set_mempolicy(2). */
#ifndef HUSK_MEMPOLICY_H
#define HUSK_MEMPOLICY_H

#include "error.h"
#include "spec.h"

/* Parse the object (NULL or null: no policy).  A mode or flag that is not
 * the spec's, a malformed node list, nodes given where the mode takes none
 * (or none where it needs one) and both node flags at once are refused. */
int husk_mempolicy_parse(json_t *obj, struct husk_mempolicy *ret, husk_error **err);
/* set_mempolicy for the calling process (inherited over fork and execve). */
int husk_mempolicy_apply(const struct husk_mempolicy *m, husk_error **err);

#endif

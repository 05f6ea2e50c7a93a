/* linux.netDevices (runtime-spec 1.3): host network interfaces moved into
 * the container's network namespace. */
#ifndef HUSK_NETDEV_H
#define HUSK_NETDEV_H

#include <sys/types.h>

#include "error.h"
#include "spec.h"

/* Parse the object (keys: host interface names; values: {"name": new}).
 * Names must be valid interface names; a network namespace of the
 * container's own is required; rootless is refused (the move needs
 * CAP_NET_ADMIN over the host's namespace). */
int husk_netdevs_parse(json_t *obj, struct husk_spec *s, husk_error **err);

/* Move each device into the network namespace of pid: set it down, note
 * its permanent global addresses, move and rename it in one RTM_NEWLINK
 * (so that its host name never clashes there: a name taken in the
 * container fails with EEXIST unless it is a "%d" template), then add the
 * addresses again (the kernel drops them on a move) and set it up.  A
 * device moved before a later one failed stays where it went: the
 * namespace's end gives it back (physical) or destroys it (virtual), as
 * the spec says. */
int husk_netdevs_move(const struct husk_spec *s, pid_t pid, husk_error **err);

#endif

/* Writes to /proc that nothing mounted over a procfs file can redirect. */
#ifndef HUSK_PROCFS_H
#define HUSK_PROCFS_H

#include <stddef.h>

#include "error.h"

/* Write buf to /proc/REL (REL as "self/oom_score_adj", "sys/net/ipv4/
 * ip_forward", "1234/uid_map") of the procfs mounted at /proc, which must be
 * a procfs root; REL is opened with openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS, so that a file or directory
 * mounted anywhere on the way (a tmpfs over /proc/self/attr, core_pattern
 * bound over oom_score_adj) fails the write with EXDEV instead of receiving
 * it (CVE-2025-52881). */
int husk_proc_write(const char *rel, const char *buf, size_t len, husk_error **err);

#endif

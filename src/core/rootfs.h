/* The container's filesystem: mounts inside the rootfs, devices, the
 * pivot_root, masked and read-only paths.  Runs in the child, inside its
 * new mount namespace. */
#ifndef HUSK_ROOTFS_H
#define HUSK_ROOTFS_H

#include <stdbool.h>

#include "cgroup.h"
#include "error.h"
#include "spec.h"
#include "trace.h"

struct husk_rootfs_ctx {
	const struct husk_spec *spec;
	const char *bundle;
	const struct husk_cgroup *cgroup; /* for "cgroup" mounts */
	bool in_userns;			  /* mknod is not allowed: bind devices */
	/* the pid namespace is joined later: proc (which shows the pid
	 * namespace of whoever mounts it) and what lies under it wait for
	 * husk_rootfs_mount_deferred */
	bool defer_proc;
	/* no mount namespace of its own: the runtime's is the host's, where
	 * nothing may be mounted; the root is entered by chroot alone */
	bool no_mntns;
	struct husk_tracer *tr;
};

/* Open path (absolute, inside the root at rootfd) without leaving the root:
 * symlinks are resolved as if rootfd were "/" (openat2 RESOLVE_IN_ROOT). */
int husk_open_in_root(int rootfd, const char *path, int flags, husk_error **err);
/* As above, creating missing directories (and the last component as a
 * directory or, when is_file, an empty file). */
int husk_mkpath_in_root(int rootfd, const char *path, bool is_file, husk_error **err);

/* In the runtime, before the clone: idmapped bind mounts need privilege
 * over the host's filesystems, so their trees are made here and attached
 * by the child (mounts[].tree_fd). */
int husk_rootfs_prepare_idmaps(struct husk_spec *s, const char *bundle, husk_error **err);
int husk_rootfs_prepare(struct husk_rootfs_ctx *c, husk_error **err);
int husk_rootfs_pivot(struct husk_rootfs_ctx *c, bool no_pivot, husk_error **err);
/* After pivot_root, by a process in the container's pid namespace. */
int husk_rootfs_mount_deferred(struct husk_rootfs_ctx *c, husk_error **err);
int husk_rootfs_finish(struct husk_rootfs_ctx *c, husk_error **err);
/* Bind the pty slave onto /dev/console (after pivot). */
int husk_rootfs_console(int slave_fd, husk_error **err);
/* Stdio on the host's /dev/null reopened on the container's (after pivot). */
int husk_rootfs_reopen_null(husk_error **err);

#endif

/* The PIDFD_GET_INFO ioctl (Linux 6.13) and its PIDFD_INFO_EXIT (Linux
 * 6.15), as include/uapi/linux/pidfd.h has them.  Debian 12's headers
 * (Linux 6.1) have neither; the names here are our own, so that newer
 * headers do not clash with them.
 *
 * struct pidfd_info grows by versions; the kernel copies what fits in the
 * size the ioctl number carries, and accepts any size from the first
 * version's 64 bytes (PIDFD_INFO_SIZE_VER0), which already holds
 * exit_code.  With PIDFD_INFO_EXIT asked for in mask, exit_code is the
 * status as waitpid(2) reports it, and the kernel says it filled it in by
 * leaving PIDFD_INFO_EXIT set in mask.  It does so only once the task has
 * been reaped (its pollers see EPOLLHUP then), and only for a task that
 * somebody held a pidfd to before it was: it is stored at release_task()
 * for the pids pidfs knows.
 *
 * Older kernels: before 6.13 the ioctl fails with ENOTTY (EINVAL for a
 * size it does not take); 6.13 and 6.14 leave PIDFD_INFO_EXIT out of the
 * mask, and fail with ESRCH once the task is reaped. */
#ifndef HUSK_PIDFD_INFO_H
#define HUSK_PIDFD_INFO_H

#include <stdint.h>
#include <sys/ioctl.h>

struct husk_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid;
	uint32_t ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
_Static_assert(sizeof(struct husk_pidfd_info) == 64, "PIDFD_INFO_SIZE_VER0 is 64 bytes");

#define HUSK_PIDFS_IOCTL_MAGIC 0xFF
#define HUSK_PIDFD_GET_INFO    _IOWR(HUSK_PIDFS_IOCTL_MAGIC, 11, struct husk_pidfd_info)
#define HUSK_PIDFD_INFO_EXIT   (1ULL << 3)

#endif

/* CVE-2019-5736: a container that gets the runtime's binary executed
 * inside it (through /proc/self/exe as its entry point, or a /proc/PID/exe
 * of a runtime process that joined it) can reopen that file for writing
 * once no process runs it, and replace the host's runtime.  Kernels refuse
 * to open a running binary for writing, but not an O_PATH fd reopened
 * after the exec (shown on these hosts, shared/DESIGN.md).
 *
 * Defence: the commands that enter containers run from a file that cannot
 * be written through the path a container can reach:
 *  - nothing to do when the binary already sits on a read-only mount, or is
 *    a sealed memfd;
 *  - else re-exec through a read-only clone of its own mount (open_tree +
 *    mount_setattr: no copy; a reopen for writing gets EROFS);
 *  - else (no privilege for open_tree, e.g. rootless) from a sealed memfd
 *    copy.
 * The re-exec is the cost (about 0.5 ms here); installing husk-oci on a
 * read-only mount avoids it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <linux/mount.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "husk.h"
#include "util.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static bool exe_is_protected(void)
{
	cleanup_close int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals >= 0 && (seals & SEALS) == SEALS)
		return true;
	struct statvfs sv;
	return fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

static int reexec_readonly_clone(char **argv, char **envp)
{
	cleanup_close int fd = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe",
					    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct mount_attr a = {.attr_set =
				       MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
		return -errno;
	syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
	return -errno;
}

static int reexec_sealed_memfd(char **argv, char **envp, husk_error **err)
{
	cleanup_close int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return husk_fail(err, errno, "open /proc/self/exe");
	struct stat st;
	if (fstat(src, &st) < 0)
		return husk_fail(err, errno, "stat /proc/self/exe");
	cleanup_close int mfd = memfd_create("husk", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (mfd < 0)
		return husk_fail(err, errno, "memfd_create");
	off_t left = st.st_size;
	while (left > 0) {
		ssize_t n = sendfile(mfd, src, NULL, (size_t)left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return husk_fail(err, errno, "copy the runtime into a memfd");
		}
		if (n == 0)
			break;
		left -= n;
	}
	if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
		return husk_fail(err, errno, "seal the memfd");
	syscall(SYS_execveat, mfd, "", argv, envp, AT_EMPTY_PATH);
	return husk_fail(err, errno, "re-exec from the sealed memfd");
}

int husk_ensure_sealed_exe(char **argv, char **envp, husk_error **err)
{
	if (exe_is_protected())
		return 0;
	(void)reexec_readonly_clone(argv, envp); /* returns only on failure */
	return reexec_sealed_memfd(argv, envp, err);
}

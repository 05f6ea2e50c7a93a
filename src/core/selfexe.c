/* CVE-2019-5736: a container that gets the runtime's binary executed
 * inside it (through /proc/self/exe as its entry point, or a /proc/PID/exe
 * of a runtime process that joined it) can reopen that file for writing
 * once no process runs it, and replace the host's runtime.  Kernels refuse
 * to open a running binary for writing, but not an O_PATH fd reopened
 * after the exec (shown on these hosts, shared/DESIGN.md).
 *
 * Defence: the commands that enter containers run from a sealed memfd copy
 * of the binary.  A container can then reach only that copy, which no one
 * can write.  The copy costs one memfd, a copy of the (static, small)
 * binary from the page cache, and one execve. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "husk.h"
#include "util.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static bool running_from_sealed_memfd(void)
{
	cleanup_close int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	int seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & SEALS) == SEALS;
}

int husk_ensure_sealed_exe(char **argv, char **envp, husk_error **err)
{
	if (running_from_sealed_memfd())
		return 0;
	cleanup_close int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return husk_fail(err, errno, "open /proc/self/exe");
	struct stat st;
	if (fstat(src, &st) < 0)
		return husk_fail(err, errno, "stat /proc/self/exe");
	/* not MFD_CLOEXEC: fexecve of a script would need the fd, and we exec
	 * a static ELF, whose fd the kernel closes for us anyway */
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

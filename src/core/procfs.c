/* Writes to /proc through a checked handle (CVE-2025-52881).
 *
 * The runtime writes to /proc after the container's mounts are made, and in
 * `exec` inside a mount namespace the container itself owns: LSM labels
 * (attr/exec), oom_score_adj, sysctls, setgroups and the id maps.  A write
 * by path lands wherever the path leads: a tmpfs mounted over
 * /proc/self/attr swallows the AppArmor label, /proc/sysrq-trigger bound
 * over /proc/self/oom_score_adj receives the score.  So each write starts
 * from /proc checked to be the root of a procfs, and walks down without
 * crossing a mount (RESOLVE_NO_XDEV: a mount on any component, "self"
 * included, fails it) or a magic link.  A procfs of another pid namespace
 * mounted on /proc has no "self" for us: the write fails.
 *
 * A private procfs (fsopen("proc") + fsmount, or open_tree of /proc alone)
 * would need no check at all, but its detached mount costs 0.5-2 ms to
 * release (measured here: fsopen 1.4-2.1 ms, open_tree 0.5-0.7 ms per write,
 * against 10-40 us for this check) on every container start. */
#define _GNU_SOURCE
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* procfs's root directory: PROC_ROOT_INO in fs/proc/internal.h */
#define PROC_ROOT_INO 1

static bool on_procfs(int fd)
{
	struct statfs sf;
	return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

int husk_proc_write(const char *rel, const char *buf, size_t len, husk_error **err)
{
	cleanup_close int root = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return husk_fail(err, errno, "open /proc");
	struct stat st;
	if (!on_procfs(root) || fstat(root, &st) < 0 || st.st_ino != PROC_ROOT_INO)
		return husk_fail(err, EXDEV, "write /proc/%s: /proc is not the root of a procfs",
				 rel);
	struct open_how how = {.flags = O_WRONLY | O_NOCTTY | O_CLOEXEC,
			       .resolve =
				       RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS};
	cleanup_close int fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
	if (fd < 0 && errno == EXDEV)
		return husk_fail(err, EXDEV,
				 "open /proc/%s: something is mounted over it (not procfs's own "
				 "file)",
				 rel);
	if (fd < 0)
		return husk_fail(err, errno, "open /proc/%s", rel);
	if (!on_procfs(fd))
		return husk_fail(err, EXDEV, "open /proc/%s: not a procfs file", rel);
	int r = husk_write_all(fd, buf, len);
	if (r < 0)
		return husk_fail(err, -r, "write /proc/%s", rel);
	return 0;
}

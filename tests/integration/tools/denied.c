/* Calls a container's seccomp profile should deny, each printed as
 * "NAME ERRNO-NAME" (or "NAME ok"), for the engine's default-profile test. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *name, long r)
{
	if (r >= 0)
		printf("%s ok\n", name);
	else
		printf("%s %s\n", name, strerrorname_np(errno));
}

int main(void)
{
	report("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
	report("add_key", syscall(SYS_add_key, "user", "husk", "x", 1, KEY_SPEC_PROCESS_KEYRING));
	report("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
	report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
	report("bpf", syscall(SYS_bpf, 0, NULL, 0));
	long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(0);
	report("clone-newuser", pid);
	/* last: a process in a new user namespace can make no other */
	report("unshare", unshare(CLONE_NEWUSER));
	return 0;
}

/* The last steps before the container's process runs: limits, user,
 * capabilities, no_new_privs, seccomp, fds, execve.  Shared by the
 * container's init and by exec. */
#ifndef HUSK_PROCESS_H
#define HUSK_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"
#include "trace.h"

struct husk_seccomp;

struct husk_finalize {
	const struct husk_process *proc;
	const char *exe;		/* resolved executable path in the container */
	struct husk_seccomp *seccomp;	/* may be NULL */
	int seccomp_agent_fd;		/* connected to listenerPath, or -1 */
	const char *seccomp_state_json; /* sent to the agent with the listener fd */
	int preserve_fds;		/* fds 3 .. 3+n-1 stay open */
	char **extra_env;		/* appended (LISTEN_FDS ...) */
	struct husk_tracer *tr;
	/* without no_new_privileges: the filter goes in at the end of
	 * husk_process_prepare (else at the start of the finish) */
	bool seccomp_in_prepare;
	bool seccomp_loaded;
	char **env; /* built by husk_process_prepare (its strings p's, or home) */
	char *home;
	bool exec_failed; /* out: the execve itself failed (not a step before it) */
};

/* Search PATH (from the process env) for args[0] the way execvp would,
 * inside the current root.  Returns a malloc'd path.  Fails with ENOENT
 * when there is no such file (or no PATH to search), with EACCES or EISDIR
 * (or stat's errno) when there is one that cannot be executed. */
int husk_find_executable(const struct husk_process *p, char **ret, husk_error **err);

/* Steps that need no privilege drop and can run early: rlimits,
 * oom_score_adj, scheduler, io priority. */
int husk_process_limits(const struct husk_process *p, husk_error **err);
/* apparmor / selinux labels; warn_out gets a warning when the LSM is absent. */
int husk_process_lsm(const struct husk_process *p, char **warn_out, husk_error **err);
/* An ambient capability can be raised only when it is both permitted and
 * inheritable (prctl(2) PR_CAP_AMBIENT_RAISE): runc and crun skip one that
 * is not with a warning (runc spec's default config asks for three), and
 * so does husk.  Clears those bits of caps->ambient; returns a malloc'd
 * warning naming them, or NULL when every one can be raised. */
char *husk_caps_drop_unraisable(struct husk_caps *caps);
/* Everything else, ending in execve; returns only on failure.  In two
 * parts for an init that prepares while its runtime records it (before
 * it is told to start): what needs no privilege drop (cwd, the bounding
 * set, fds closed on exec, stdio's owner, umask, the environment, and the
 * filter when f->seccomp_in_prepare), then signals reset, the privilege
 * drop, the filter if not in yet, and execve. */
int husk_process_prepare(struct husk_finalize *f, husk_error **err);
int husk_process_finish_and_exec(struct husk_finalize *f, husk_error **err);
int husk_process_finalize_and_exec(struct husk_finalize *f, husk_error **err);

#endif

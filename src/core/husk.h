/* libhusk: the runtime core.  The CLIs call only what is declared here. */
#ifndef HUSK_H
#define HUSK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "trace.h"

typedef void (*husk_warn_fn)(void *ud, const char *msg);

struct husk_create_opts {
	const char *state_root; /* --root */
	const char *id;
	const char *bundle;	 /* absolute */
	const char *config_path; /* instead of BUNDLE/config.json (--config), or NULL */
	const char *pid_file;
	const char *console_socket;
	const char *pidfd_socket; /* gets a pidfd of the init (runc 1.2) */
	int preserve_fds;
	bool no_pivot;
	bool no_new_keyring;
	bool no_cgroup; /* --cgroup-manager disabled: the caller's cgroups */
	bool start_now; /* run: no exec fifo, husk_run_start() starts it */
	/* The init born a child of our parent (CLONE_PARENT), not ours: for
	 * a caller that lives on after the start while its parent is the one
	 * to wait for the init (the engine's start step, whose parent is the
	 * container's monitor).  Our waits for it then find no child: its
	 * exit status on a failure is the parent's to reap. */
	bool init_to_parent;
	/* A cpuset cgroup only when linux.resources.cpu sets cpus or mems
	 * (husk_cgroup_create's cpuset says why): for a caller that changes
	 * no running container's cpuset later (the engine's update offers
	 * no --cpuset-*) */
	bool cpuset_when_asked;
	husk_trace_fn trace;
	husk_warn_fn warn;
	void *ud; /* passed to trace and warn */
};

struct husk_created {
	pid_t pid;
	int pty_master; /* terminal without console socket: the caller's; else -1 */
	int sync_fd;	/* run only: until husk_run_start */
	bool terminal;
	/* After a failure of husk_create or husk_run_start: true when the
	 * process could not be executed, and then err's errnum says why: ENOENT
	 * for not found, EACCES, EISDIR or ENOEXEC (or another execve errno) for
	 * found but not executable.  False for every other failure, whatever
	 * its errno (a mount source's ENOENT is no missing command). */
	bool exec_failed;
};

/* Everything up to the exec fifo (or, with start_now, up to START).  The
 * process's executable is looked up here, so a missing one fails create
 * (as with runc), with exec_failed set. */
int husk_create(const struct husk_create_opts *o, struct husk_created *ret, husk_error **err);
/* With start_now: let the process exec; fails if the exec failed
 * (exec_failed tells that from the steps before it). */
int husk_run_start(const struct husk_create_opts *o, struct husk_created *c, husk_error **err);

/* A failing poststart hook fails start, and then the container is killed
 * and deleted (its poststop hooks run, their failures warnings). */
int husk_start(const char *root, const char *id, husk_trace_fn trace, husk_warn_fn warn, void *ud,
	       husk_error **err);
/* The OCI state JSON of one container (malloc'd). */
int husk_state(const char *root, const char *id, char **ret_json, husk_error **err);
int husk_kill(const char *root, const char *id, int sig, bool all, husk_error **err);
int husk_delete(const char *root, const char *id, bool force, husk_error **err);
/* The same, with a warn callback for what does not fail delete (a failing
 * poststop hook). */
int husk_delete_warn(const char *root, const char *id, bool force, husk_warn_fn warn, void *ud,
		     husk_error **err);
/* delete --force of a container whose process has exited, telling first
 * how many times the OOM killer acted in its cgroup (the count goes with
 * the cgroup): one read of the state where stats and delete took two. */
int husk_delete_exited(const char *root, const char *id, long long *ret_ooms, husk_error **err);
int husk_pause(const char *root, const char *id, bool pause, husk_error **err);
int husk_pids(const char *root, const char *id, pid_t **ret, size_t *ret_n, husk_error **err);

struct husk_list_entry {
	char *id;
	pid_t pid;
	char *status;
	char *bundle;
	char *created;
	char *owner;
};
int husk_list(const char *root, struct husk_list_entry **ret, size_t *ret_n, husk_error **err);
void husk_list_free(struct husk_list_entry *v, size_t n);

struct husk_exec_opts {
	const char *state_root;
	const char *id;
	const char *process_json; /* a whole process object (--process), or NULL */
	char **args;		  /* when no process_json */
	char **env;		  /* added to the container's env, replacing (-e) */
	char **cgroups;		  /* [CTRL[,CTRL]:]PATH below its cgroup (--cgroup) */
	const char *cwd;
	const char *user;	     /* "uid[:gid]" */
	char **caps;		     /* added (--cap) */
	const char *additional_gids; /* "10,20" */
	const char *apparmor;
	const char *process_label;
	bool tty;
	bool no_new_privs;
	bool detach;
	const char *console_socket;
	const char *pidfd_socket; /* gets a pidfd of the process (runc 1.2) */
	const char *pid_file;
	int preserve_fds;
	husk_trace_fn trace;
	husk_warn_fn warn;
	void *ud;
};

struct husk_exec_result {
	pid_t pid;
	int pty_master;	  /* -1 unless tty without console socket */
	bool exec_failed; /* after a failure: as in husk_created */
};
int husk_exec(const struct husk_exec_opts *o, struct husk_exec_result *ret, husk_error **err);

/* The runtime's own binary must not be writable from a container
 * (CVE-2019-5736): re-exec from a sealed memfd copy unless already there.
 * Returns 0 when nothing needed doing; on success of the re-exec it does not
 * return. */
int husk_ensure_sealed_exe(char **argv, char **envp, husk_error **err);

/* Apply a linux.resources object to a live container (husk-oci update). */
int husk_update(const char *root, const char *id, const char *resources_json, husk_error **err);
/* What update does to the recorded config: src into dst, objects key by
 * key, anything else replaced */
struct json_t;
void husk_json_merge(struct json_t *dst, struct json_t *src);
/* Its cgroup counters as runc's stats event; OOM kills so far; whether it
 * still runs.  Any of the outputs may be NULL. */
int husk_stats(const char *root, const char *id, char **ret_json, long long *ret_ooms,
	       bool *ret_running, husk_error **err);

/* checkpoint and restore through CRIU (runc's flags) */
struct husk_checkpoint_opts {
	const char *criu; /* CRIU's binary: a path, or NULL for criu in PATH */
	const char *state_root;
	const char *id;
	const char *image_path;		 /* required */
	const char *work_path;		 /* logs; NULL: the image path */
	const char *parent_path;	 /* a pre-dump's images, relative to image_path */
	const char *manage_cgroups_mode; /* soft (NULL), full, strict, ignore */
	bool leave_running, tcp_established, file_locks, pre_dump, ext_unix_sk, shell_job;
};
int husk_checkpoint(const struct husk_checkpoint_opts *o, husk_error **err);

struct husk_restore_opts {
	struct husk_checkpoint_opts ck; /* the same flags, state root and id */
	const char *bundle;		/* absolute */
	const char *config_path;
	const char *pid_file;
	bool no_cgroup;
};
/* Restore a checkpoint as container ck.id; *ret_pid is its init. */
int husk_restore(const struct husk_restore_opts *o, pid_t *ret_pid, husk_error **err);

/* The features JSON (husk-oci features). */
char *husk_features_json(void);

#endif

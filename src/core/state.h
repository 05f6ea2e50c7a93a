/* Per-container runtime state: one directory under the state root
 * (--root, default /run/husk) holding state.json, the config it was made
 * from, and the exec fifo while the container is created but not started.
 * Every command that changes a container holds flock() on its directory. */
#ifndef HUSK_STATE_H
#define HUSK_STATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "cgroup.h"
#include "error.h"

typedef struct json_t json_t;

struct husk_state {
	char *id;
	char *dir;
	pid_t pid;
	unsigned long long starttime;
	char *bundle;
	char *rootfs;
	char *created; /* RFC 3339 */
	char *owner;
	json_t *annotations; /* owned */
	json_t *config;	     /* the container's config.json, owned; without
				linux.seccomp when loaded: see seccomp_ref */
	/* state.json keeps linux.seccomp apart, in seccomp.json of the state
	 * dir, so that a load (ps, the monitor's exit, delete) parses none of
	 * its ~400 syscall names: seccomp_ref is state.json's note of it
	 * (length, hash), owned; husk_state_config_seccomp puts the profile
	 * back for what applies it (exec, checkpoint).  seccomp_text: to
	 * save, the profile's compact text when the caller has it, borrowed */
	json_t *seccomp_ref;
	const char *seccomp_text;
	struct husk_cgroup cgroup;
	bool has_cgroup;
};

enum husk_status { HUSK_CREATING, HUSK_CREATED, HUSK_RUNNING, HUSK_PAUSED, HUSK_STOPPED };
const char *husk_status_name(enum husk_status s);

/* Reject ids runc rejects: empty, ".", "..", a '/', characters outside
 * [A-Za-z0-9_+.-] */
int husk_id_validate(const char *id, husk_error **err);

/* Make <root>/<id> (EEXIST: already exists) and lock it. */
int husk_state_dir_create(const char *root, const char *id, char **ret_dir, int *ret_lockfd,
			  husk_error **err);
/* Lock an existing container's directory; ENOENT names the id. */
int husk_state_lock(const char *root, const char *id, int *ret_lockfd, husk_error **err);
int husk_state_save(const struct husk_state *st, husk_error **err);
struct husk_spec;
/* The state of a container just made (create, restore): its init is pid,
 * created now, from spec and the bundle */
int husk_state_save_new(const char *id, const char *dir, pid_t pid, const char *bundle,
			const struct husk_spec *spec, const struct husk_cgroup *cg, bool has_cgroup,
			husk_error **err);
int husk_state_load(const char *root, const char *id, struct husk_state *st, husk_error **err);
/* As husk_state_load, but a container still being created is an error. */
int husk_state_load_existing(const char *root, const char *id, struct husk_state *st,
			     husk_error **err);
/* Put linux.seccomp back into st->config from seccomp.json, checked
 * against state.json's length and hash (exec and checkpoint need it);
 * nothing to do when the container has no filter. */
int husk_state_config_seccomp(struct husk_state *st, husk_error **err);
enum husk_status husk_state_status(const struct husk_state *st);
bool husk_state_process_alive(const struct husk_state *st);
/* The OCI state JSON (ociVersion, id, status, pid, bundle, ...). */
char *husk_state_to_oci_json(const struct husk_state *st, bool indent);
void husk_state_release(struct husk_state *st);
/* While create runs, before state.json exists: what a crash of the
 * runtime would leave outside the state dir (the cgroup, and the init when
 * it has no cgroup to be found by), in <dir>/creating.json, so that
 * delete --force can undo it.  Load gives 1 when there is none. */
int husk_state_save_creating(const char *dir, const struct husk_cgroup *cg, pid_t pid,
			     husk_error **err);
int husk_state_load_creating(const char *dir, struct husk_state *st, husk_error **err);
/* Remove the directory and all in it. */
int husk_state_dir_remove(const char *dir, husk_error **err);

#endif

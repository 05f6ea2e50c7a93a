/* The daemonless engine behind `husk`: containers made from images in the
 * store, each with an overlay root (the image's layers under its own
 * upper and work dirs), run by the core in-process.
 *
 * Storage (--root, default /var/lib/husk): the image store, and
 *   containers/<id>/{meta.json, config.json, rootfs/, upper/, work/, log}
 * Runtime state (--runroot, default /run/husk-engine): the core's state. */
#ifndef HUSK_ENGINE_H
#define HUSK_ENGINE_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "net.h"

struct husk_engine {
	char *root;
	char *runroot;
};

struct husk_volume {
	char *src, *dst;
	bool ro;
};

struct husk_run_opts {
	const char *image;
	char **cmd; /* NULL: the image's */
	const char *name;
	char **env; /* added */
	const char *workdir;
	const char *user;
	const char *hostname;
	struct husk_volume *volumes;
	size_t n_volumes;
	long long memory; /* bytes, 0: none */
	long long pids_limit;
	double cpus;
	bool rm, detach, tty, interactive;
	bool host_network;
	/* --network bridge: a veth on husk0, an address, -p ports */
	bool bridge_network;
	struct husk_net_port *ports;
	size_t n_ports;
};

struct husk_ctr_info {
	char *id, *name, *image, *command, *status, *created;
	int exit_code;
};

/* Make the container: its dirs, overlay root and config.json.
 * Returns the new id (64 hex) in *ret_id. */
int husk_engine_create(struct husk_engine *e, const struct husk_run_opts *o, char **ret_id,
		       husk_error **err);
/* Remove a container: stop it (SIGKILL when force), its core state, its
 * overlay mount and its dirs.  A running one needs force. */
int husk_engine_rm(struct husk_engine *e, const char *name_or_id, bool force, husk_error **err);
int husk_engine_resolve(struct husk_engine *e, const char *name_or_id, char **ret_id,
			husk_error **err);
int husk_engine_list(struct husk_engine *e, struct husk_ctr_info **ret, size_t *ret_n,
		     husk_error **err);
void husk_engine_list_free(struct husk_ctr_info *v, size_t n);
/* Record how the container ended (meta.json: exit code). */
int husk_engine_set_exit(struct husk_engine *e, const char *id, int code, husk_error **err);
char *husk_engine_dir(struct husk_engine *e, const char *id);

#endif

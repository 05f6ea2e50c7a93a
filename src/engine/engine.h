/* The daemonless engine behind `husk`: containers made from images in the
 * store, each with an overlay root (the image's layers under its own
 * upper and work dirs), each run under its own monitor process.
 *
 * Storage (--root, default /var/lib/husk): the image store, and
 *   containers/<id>/{meta.json, lock, config.json, rootfs/, upper/, work/,
 *                    log, hosts, hostname, resolv.conf}
 *   names/<name> -> <id>
 * Runtime state (--runroot, default /run/husk-engine): the core's state of
 * each container, attach/<id> (the monitor's socket), net/.
 *
 * Every container, foreground or detached, runs under a monitor
 * (husk-monitor, src/monitor/): its parent, holding its pty or pipes,
 * writing its log, recording its exit, applying the restart policy and
 * removing it with --rm.  A foreground `husk run` is a client attached to
 * it (attach.h).
 *
 * Every call fails with an errno callers can test: ENOENT no such
 * container, EEXIST a name in use, EBUSY running (rm without force),
 * EINVAL bad input, ENOTCONN not running (exec, attach, pause). */
#ifndef HUSK_ENGINE_H
#define HUSK_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "error.h"
#include "husk.h"
#include "image.h"
#include "logfile.h"
#include "net.h"
#include "record.h"

struct husk_engine {
	char *root;
	char *runroot;
	char *monitor_path; /* husk-monitor */
	char *self_path;    /* husk */
	char *dns_path;	    /* husk-dns, the resolver of user-defined networks */
	/* a removal renames the container's directory into <root>/trash
	 * and leaves its unlinking to the caller, who finds it in trash
	 * (malloc'd) and calls husk_engine_rm_rf: the monitor's exit step
	 * answers first, so that run --rm's client does not wait for it */
	bool trash_later;
	char *trash;
};

/* What a container mounts: one -v, --mount or --tmpfs (and the image's
 * VOLUMEs, which the engine adds as anonymous volumes). */
enum husk_mount_type { HUSK_MOUNT_BIND, HUSK_MOUNT_VOLUME, HUSK_MOUNT_TMPFS, HUSK_MOUNT_FS };

struct husk_volume {
	enum husk_mount_type type;
	char *src; /* bind: the host path; volume: its name (NULL: anonymous);
		    * fs: the device */
	char *dst; /* absolute, in the container */
	bool ro;
	bool nocopy;	   /* volume: no copy of the image's content into it */
	bool bind_make;	   /* bind: a missing source is made (-v), else an error (--mount) */
	bool tmpfs_flag;   /* --tmpfs: shown in HostConfig.Tmpfs, not in Mounts */
	char *propagation; /* bind: "rprivate"...; NULL: rprivate */
	char *opts;	   /* tmpfs, fs: data options, comma-separated */
	char *mode;	   /* -v's options as given, for inspect's Mode */
	char *fstype;	   /* fs */
};

/* BRIDGE: the networks of nets (none given: the default bridge);
 * CONTAINER: the network stack of net_container, a running container */
enum husk_netmode {
	HUSK_NETMODE_NONE,
	HUSK_NETMODE_HOST,
	HUSK_NETMODE_BRIDGE,
	HUSK_NETMODE_CONTAINER
};

struct husk_image;
struct husk_run_opts {
	const char *image;
	/* an image not in the store's index, used as it is (the builder's
	 * steps, husk_store_image_of): then image is only its name */
	const struct husk_image *image_obj;
	char **cmd; /* NULL: the image's */
	const char *name;
	char **env; /* added */
	const char *workdir;
	const char *user;
	const char *hostname;
	const char *domainname; /* --domainname: the UTS namespace's NIS domain */
	struct husk_volume *volumes;
	size_t n_volumes;
	char **volumes_from; /* "CONTAINER[:ro|:rw]", NULL-terminated */
	bool read_only;	     /* --read-only: the root filesystem */
	long long memory;    /* bytes, 0: none */
	long long pids_limit;
	double cpus;
	bool rm, tty, interactive;
	/* the upper dir is read once the process exits, then removed (a
	 * build's step): not kept past a crash, as with rm (overlay.h) */
	bool throwaway_root;
	unsigned short tty_rows, tty_cols; /* the pty's first size; 0: the kernel's */
	enum husk_netmode network;
	struct husk_net_attach *nets;
	size_t n_nets;
	const char *net_container;
	char **dns, **dns_search, **dns_options, **add_hosts; /* NULL-terminated or NULL */
	char **links;					      /* --link NAME[:ALIAS] (links.c) */
	struct husk_net_port *ports;			      /* -p */
	size_t n_ports;
	/* bits a second on each network, 0: none (--network-egress-rate,
	 * --network-ingress-rate) */
	uint64_t net_egress_rate, net_ingress_rate;
	char **expose;		 /* --expose: "80/tcp", added to the image's ExposedPorts */
	bool publish_all;	 /* -P: every exposed port not in ports, on a free host port */
	const char *mac_address; /* --mac-address, on the first network */
	enum husk_restart restart;
	int restart_max;
	const char *log_driver; /* NULL: json-file */
	long long log_max_size;
	int log_max_file;
	/* --log-opt as given, "KEY=VALUE" (NULL-terminated): inspect's
	 * LogConfig.Config, and labels=, env=, tag=... (logattrs.c) */
	char **log_opts;
	int stop_signal;  /* 0: the image's, else SIGTERM */
	int stop_timeout; /* -1: 10 s */
	/* healthcheck: --health-cmd (for /bin/sh -c) over the image's; the
	 * times and retries 0 for the image's or Docker's defaults */
	const char *health_cmd;
	bool no_healthcheck;
	int64_t health_interval_ns, health_timeout_ns, health_start_period_ns;
	int health_retries;
	enum husk_health_action health_on_failure;

	/* Docker's everyday flags over the OCI config (config.c).  Lists are
	 * NULL-terminated; NULL or 0 leaves Docker's default. */
	const char *entrypoint;	    /* over the image's; "" clears it */
	char **labels;		    /* "KEY=VALUE" */
	char **cap_add, **cap_drop; /* names with or without CAP_, any case, or ALL */
	bool privileged;
	/* --security-opt */
	bool no_new_privileges, seccomp_unconfined;
	const char *seccomp_profile;	   /* a Docker or OCI seccomp profile's JSON text */
	char **mask_paths, **unmask_paths; /* unmask "ALL": every default one */
	char **security_opts;		   /* as given, for inspect */
	struct husk_device_map *devices;   /* --device */
	size_t n_devices;
	struct husk_ulimit *ulimits;
	size_t n_ulimits;
	char **sysctls; /* "KEY=VALUE" */
	char **group_add;
	long long shm_size; /* bytes */
	int oom_score_adj;
	bool oom_score_adj_set;
	bool init; /* tini as pid 1, from init_path (config_in) */
	/* namespaces: NULL private (Docker's default); "host"; "container:NAME" */
	const char *pid_mode, *ipc_mode, *uts_mode, *cgroupns_mode;
	/* --userns: "host" or NULL, the same here: the engine runs every
	 * container in the host's user namespace (no remapping) */
	const char *userns_mode;
	/* resources (OCI linux.resources); 0 for unset */
	long long memory_swap; /* -1 unlimited */
	long long memory_reservation;
	int memory_swappiness; /* 0-100, when memory_swappiness_set */
	bool memory_swappiness_set;
	long long cpu_shares, cpu_period, cpu_quota;
	const char *cpuset_cpus, *cpuset_mems;
	int blkio_weight;
	struct husk_throttle *throttles; /* --device-{read,write}-{bps,iops} */
	char **device_cgroup_rules;	 /* "c 1:3 rwm", as the v1 devices.allow line */
	/* --cgroup-parent: the container's cgroup goes below it (absolute
	 * from the hierarchy's root, or below the caller's cgroup) */
	const char *cgroup_parent;
	char **annotations; /* --annotation "K=V": the OCI config's */
	size_t n_throttles;
	bool oom_kill_disable;
};

/* --device HOST[:CTR[:PERMS]] */
struct husk_device_map {
	char *host, *ctr; /* ctr: NULL for the host's path */
	char perms[4];	  /* "rwm" or a part */
};

/* --ulimit NAME=SOFT[:HARD]: resource is RLIMIT_* */
struct husk_ulimit {
	const char *name; /* Docker's: "nofile" */
	int resource;
	long long soft, hard; /* -1: unlimited */
};

enum husk_throttle_kind {
	HUSK_THROTTLE_READ_BPS,
	HUSK_THROTTLE_WRITE_BPS,
	HUSK_THROTTLE_READ_IOPS,
	HUSK_THROTTLE_WRITE_IOPS
};
struct husk_throttle {
	enum husk_throttle_kind kind;
	char *path; /* a block device on the host */
	unsigned long long rate;
};

/* Docker's words for these options, parsed (EINVAL naming the value):
 * --device HOST[:CTR[:rwm]], --ulimit NAME=SOFT[:HARD], --sysctl KEY=VALUE
 * (only namespaced keys, as Docker checks; net.* not with --network host,
 * kernel.domainname not with --uts host: checked in husk_engine_create),
 * --device-read-bps PATH:RATE (a size) and the iops ones (a number). */
int husk_device_map_parse(const char *s, struct husk_device_map *ret, husk_error **err);
int husk_ulimit_parse(const char *s, struct husk_ulimit *ret, husk_error **err);
int husk_sysctl_check(const char *kv, husk_error **err);
int husk_throttle_parse(enum husk_throttle_kind kind, const char *s, struct husk_throttle *ret,
			husk_error **err);
/* a capability name as Docker takes it (chown, CAP_CHOWN, ALL): 0, or
 * EINVAL */
int husk_cap_check(const char *name, husk_error **err);

/* Make the container: record, name, dirs, overlay root, network,
 * config.json.  Nothing is left when it fails.  Returns the id. */
int husk_engine_create(struct husk_engine *e, const struct husk_run_opts *o, char **ret_id,
		       husk_error **err);

/* Start a created or exited container under a new monitor.  With
 * ret_client, the caller is attached from the first byte: *ret_client is
 * its end of the attach socket (husk_attach_proxy).  When the process
 * could not start, *ret_code (if not NULL) is the exit code recorded for
 * it, as Docker's: 127 command not found, 126 not executable, 125 any
 * other failure. */
int husk_engine_start(struct husk_engine *e, const char *name_or_id, int *ret_client, int *ret_code,
		      husk_error **err);

/* sig (0: the container's stop signal, else SIGTERM), SIGKILL after
 * timeout seconds (-1: the container's), waited for on a pidfd; the
 * restart policy is suspended until start. */
int husk_engine_stop(struct husk_engine *e, const char *name_or_id, int timeout, int sig,
		     husk_error **err);
int husk_engine_kill(struct husk_engine *e, const char *name_or_id, int sig, husk_error **err);
int husk_engine_restart(struct husk_engine *e, const char *name_or_id, int timeout, int sig,
			husk_error **err);
int husk_engine_pause(struct husk_engine *e, const char *name_or_id, bool pause, husk_error **err);
/* Wait until it is not running; its exit code. */
int husk_engine_wait(struct husk_engine *e, const char *name_or_id, int *ret_code,
		     husk_error **err);
/* Remove: EBUSY when running unless force (which kills it first).  With
 * volumes (rm -v), or when it was run with --rm, its anonymous volumes
 * go too. */
int husk_engine_rm(struct husk_engine *e, const char *name_or_id, bool force, bool volumes,
		   husk_error **err);
int husk_engine_rename(struct husk_engine *e, const char *name_or_id, const char *new_name,
		       husk_error **err);
/* The monitor's socket of a running container (ENOTCONN otherwise). */
int husk_engine_attach(struct husk_engine *e, const char *name_or_id, int *ret_fd,
		       husk_error **err);

int husk_engine_resolve(struct husk_engine *e, const char *name_or_id, char **ret_id,
			husk_error **err);
/* A record, its state as the kernel sees it (husk_record_observe). */
int husk_engine_get(struct husk_engine *e, const char *name_or_id, struct husk_ctr *ret,
		    husk_error **err);
/* husk_engine_get, with what only inspect shows (husk_ctr.docker) */
int husk_engine_inspect(struct husk_engine *e, const char *name_or_id, struct husk_ctr *ret,
			husk_error **err);
/* Every record, observed. */
int husk_engine_list(struct husk_engine *e, struct husk_ctr **ret, size_t *ret_n, husk_error **err);
void husk_engine_list_free(struct husk_ctr *v, size_t n);
/* The records that match every filter "KEY=VALUE" (ps --filter, Docker's
 * keys: filter.c), newest first.  EINVAL: a filter husk does not know. */
int husk_engine_list_filtered(struct husk_engine *e, const char *const *filters, size_t n_filters,
			      struct husk_ctr **ret, size_t *ret_n, husk_error **err);

/* Its log, read as o says (o->done is set here: following ends when the
 * monitor does).  EINVAL with --log-driver none. */
int husk_engine_logs(struct husk_engine *e, const char *name_or_id,
		     const struct husk_log_read_opts *o, husk_error **err);

struct husk_engine_exec_opts {
	char **args;
	char **env;
	const char *user; /* a name or uid[:gid], resolved in the container */
	const char *workdir;
	bool tty, detach;
	bool privileged;	 /* every capability we hold ourselves */
	const char *detach_keys; /* with tty: "ctrl-p,ctrl-q" when NULL, "" none */
};
/* A process in a running container (ENOTCONN when it is not).  Detached,
 * it returns once the process runs; else the caller's terminal and the
 * process's are proxied until it ends (or, with a tty, the detach keys
 * leave it running: *ret_code 0), and *ret_code is its exit code
 * (128+N killed by N).  When it could not start, *ret_code is Docker's
 * code for that: 127 not found, 126 not executable, 125 else. */
int husk_engine_exec(struct husk_engine *e, const char *name_or_id,
		     const struct husk_engine_exec_opts *o, int *ret_code, husk_error **err);

/* Copy between a container and the host, as docker cp: one side is a
 * container (its name or id, and a path inside it), the other the host
 * (a path, or "-": a tar stream on stdin or stdout).  Paths inside the
 * container are resolved inside its root, never through the host's
 * (cp.c).  EINVAL: two containers or none; ENOENT: no such path. */
struct husk_cp_opts {
	const char *src_ctr, *src_path; /* src_ctr NULL: the host */
	const char *dst_ctr, *dst_path;
	bool archive; /* -a: keep the source's owners */
	bool follow;  /* -L: follow a symlink named as the source */
};
int husk_engine_cp(struct husk_engine *e, const struct husk_cp_opts *o, husk_error **err);

/* A new image of the container: its image's layers and one more made of
 * what it changed (its overlay upper dir), named o->name or dangling.
 * With pause, a running container is frozen for the walk (Docker's -p).
 * A bad name or change (EINVAL) is refused before anything is made; a
 * failure leaves no blob.  The image id to *ret_id (malloc'd). */
struct husk_commit_opts;
int husk_engine_commit(struct husk_engine *e, const char *name_or_id,
		       const struct husk_commit_opts *o, bool pause, char **ret_id,
		       husk_error **err);
/* The container's root filesystem (its overlay, without /proc, /sys, /dev
 * or volumes) as a tar stream on out_fd, names relative ("etc/passwd"). */
int husk_engine_export(struct husk_engine *e, const char *name_or_id, int out_fd, husk_error **err);

/* Run the container's healthcheck once and record the result; its health
 * now ("healthy", "unhealthy", "starting"), and whether this check made it
 * unhealthy.  EINVAL: it has no healthcheck; ENOTCONN: not running. */
int husk_engine_health_check(struct husk_engine *e, const char *name_or_id, const char **ret_status,
			     bool *ret_became_unhealthy, husk_error **err);

/* After a reboot (the runtime state gone): start every container whose
 * restart policy says so, as Docker's daemon does when it comes up:
 * always (even one stopped by hand), unless-stopped when not stopped by
 * hand, on-failure when the machine went down under it.  The names
 * started; the first failure, after trying all. */
int husk_engine_boot(struct husk_engine *e, char ***ret_started, size_t *ret_n, husk_error **err);

/* --- volumes: <root>/volumes/<name>/{_data/, volume.json, refs/<id>} ---
 *
 * A volume is a directory the engine owns, mounted into containers by
 * name.  refs/ holds one empty file per container that mounts it (made
 * at create, removed with the container), so "in use" is one readdir,
 * never a scan of every record.  Every change (create, a new ref, rm)
 * happens under flock of <root>/volumes/.lock; a volume appears whole by
 * rename of a directory made aside and goes by rename before its files
 * are removed.  Anonymous volumes carry Docker's label
 * com.docker.volume.anonymous. */
struct husk_vol {
	char *name;
	char *mountpoint; /* <root>/volumes/<name>/_data */
	int64_t created_ns;
	char **labels;	/* "KEY=VALUE", NULL-terminated; may be NULL */
	char **options; /* "type=tmpfs", "device=...", "o=..." */
	bool anonymous;
	char **users; /* ids of the containers that mount it */
	size_t n_users;
};
void husk_vol_release(struct husk_vol *v);

struct husk_vol_create_opts {
	const char *name; /* NULL: 64 random hex digits */
	char **labels;	  /* "KEY=VALUE" */
	size_t n_labels;
	char **options; /* "KEY=VALUE": type, device, o (Docker's local driver) */
	size_t n_options;
	bool anonymous;
};
/* EINVAL: a bad name or option.  A volume of that name already there is
 * returned as it is, as Docker does. */
int husk_engine_volume_create(struct husk_engine *e, const struct husk_vol_create_opts *o,
			      struct husk_vol *ret, husk_error **err);
/* ENOENT: no such volume */
int husk_engine_volume_get(struct husk_engine *e, const char *name, struct husk_vol *ret,
			   husk_error **err);
int husk_engine_volume_list(struct husk_engine *e, struct husk_vol **ret, size_t *ret_n,
			    husk_error **err);
void husk_engine_volume_list_free(struct husk_vol *v, size_t n);
/* EBUSY: a container (running or not) mounts it, named in the message;
 * ENOENT: no such volume (not an error with force). */
int husk_engine_volume_rm(struct husk_engine *e, const char *name, bool force, husk_error **err);
/* Remove the volumes no container mounts: the anonymous ones, or with
 * all every one; of those, the ones f matches (NULL: all).  Their names,
 * and the bytes they held. */
struct husk_prune_filter;
int husk_engine_volume_prune(struct husk_engine *e, bool all, const struct husk_prune_filter *f,
			     char ***ret_names, size_t *ret_n, unsigned long long *ret_bytes,
			     husk_error **err);
/* Docker's rule for a volume's name: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
bool husk_volume_name_ok(const char *name);

/* -v, --mount and --tmpfs, as Docker reads them, into *ret (mountspec.c):
 * EINVAL with Docker's words for what is wrong, and nothing allocated */
int husk_mount_parse_v(const char *arg, struct husk_volume *ret, husk_error **err);
int husk_mount_parse(const char *arg, struct husk_volume *ret, husk_error **err);
int husk_mount_parse_tmpfs(const char *arg, struct husk_volume *ret, husk_error **err);
/* what a parsed mount holds, freed */
void husk_volume_release(struct husk_volume *v);

char *husk_engine_dir(struct husk_engine *e, const char *id);
char *husk_engine_log_path(struct husk_engine *e, const char *id);

/* What is left of a container after its init exited, undone by whoever
 * gets there: the core's state and cgroup.  With remove, the whole
 * container (overlay, network, dirs, name).  Safe to repeat. */
int husk_engine_cleanup(struct husk_engine *e, const char *id, bool remove, husk_error **err);

/* Docker's exit status for a process that could not be executed (the
 * core's exec_failed): 127 not found (ENOENT), 126 not executable (EACCES,
 * EPERM, ENOEXEC, EISDIR), else 125.  By errno, never by the message. */
int husk_exit_code_of_exec_error(int errnum);

/* Join a running or created container to a network, or take it off one
 * (networks.c).  EEXIST: already on it; ENOENT: not on it. */
int husk_engine_net_connect(struct husk_engine *e, const char *name_or_id,
			    const struct husk_net_attach *a, husk_error **err);
int husk_engine_net_disconnect(struct husk_engine *e, const char *name_or_id, const char *network,
			       husk_error **err);
/* husk update: what is 0 (false) stays as it is */
struct husk_update_opts {
	long long memory, memory_swap, memory_reservation; /* bytes */
	double cpus;
	long long cpu_shares, cpu_period, cpu_quota; /* quota, period: us */
	long long pids_limit;
	int blkio_weight;
	bool restart_set;
	enum husk_restart restart;
	int restart_max;
};
/* Live in the cgroup when it runs, kept for its next start and shown by
 * inspect (update.c); EINVAL for options that cannot go together, the
 * kernel's errno for a value it refuses */
int husk_engine_update(struct husk_engine *e, const char *name_or_id,
		       const struct husk_update_opts *o, husk_error **err);

/* What ps --format shows beyond the record, each only when asked (ret
 * not NULL): its labels (a new object, {} when none; from docker.json)
 * and its networks ("a,b" by name, malloc'd: its endpoints, or its mode:
 * none, host, container:ID) */
int husk_engine_ctr_extras(struct husk_engine *e, struct husk_ctr *c, json_t **ret_labels,
			   char **ret_networks, husk_error **err);
/* What a container got on each of its networks (none: an empty list) */
int husk_engine_net_endpoints(struct husk_engine *e, const char *id, struct husk_net_endpoint **ret,
			      size_t *ret_n, husk_error **err);
/* network prune: every user-defined network no container is on that f
 * matches (NULL: all); their names */
struct husk_prune_filter;
int husk_engine_network_prune(struct husk_engine *e, const struct husk_prune_filter *f,
			      char ***ret_names, size_t *ret_n, husk_error **err);
/* The containers (names) on a network of this engine */
int husk_engine_net_containers(struct husk_engine *e, const char *network, char ***ret,
			       husk_error **err);

/* --- looking at things (events.c, look.c) --- */

/* The event log, <runroot>/events.log: one JSON line per event, in
 * Docker's shape ({"status","id","from","Type","Action","Actor":{"ID",
 * "Attributes"},"scope","time","timeNano"}), appended with one write(2)
 * on an O_APPEND fd so that concurrent writers (the engine, the monitors)
 * never interleave; past HUSK_EVENTS_MAX bytes it moves to events.log.1.
 * Appending is best effort: an event that cannot be written never fails
 * the action it tells of.  attrs: key, value pairs, NULL-terminated. */
#define HUSK_EVENTS_MAX (1 << 20)
void husk_engine_event(const struct husk_engine *e, const char *action, const char *id,
		       const char *name, const char *image, const char *const *attrs);
/* An image's event, Type "image", as Docker writes them: pull, push, tag,
 * untag, delete, load, save, import (and build, Podman's): id is the
 * image's id or, for pull, push and load, its name; name is the
 * Attributes' name (the new name of a tag) */
void husk_engine_image_event(const struct husk_engine *e, const char *action, const char *id,
			     const char *name);
/* A client that attached to a container left it with the detach keys */
void husk_engine_detached(struct husk_engine *e, const char *name_or_id);

/* Docker's --filter of events: within a key any value matches, across
 * keys all must (NULL-terminated lists, NULL: no filter on that key) */
struct husk_event_filter {
	char **type;	  /* "container", "image" */
	char **event;	  /* "die", "start" ("health_status" matches each health,
			   * "exec_start" each "exec_start: CMD") */
	char **container; /* a name, or an id or its prefix */
	char **image;
};
struct husk_events_opts {
	int64_t since_ns, until_ns; /* 0: from the start / no end */
	bool follow;		    /* after the past, new ones until until_ns */
	const struct husk_event_filter *filter;
	/* each event (its JSON object, borrowed); non-zero stops */
	int (*emit)(void *ud, json_t *event);
	void *ud;
};
/* Past events in range, then (follow) new ones as they are written
 * (inotify, no polling) until until_ns, or for ever. */
int husk_engine_events(struct husk_engine *e, const struct husk_events_opts *o, husk_error **err);

/* top: the processes of a running container, as the host's ps(1) shows
 * them with args (NULL: -ef), keeping the rows whose PID is in the
 * container's cgroup.  titles[n_titles], rows[n_rows][n_titles] (the last
 * column takes the rest of the line).  EINVAL: ps printed no PID column;
 * ENOTCONN: not running. */
struct husk_top {
	char **titles;
	size_t n_titles;
	char ***rows;
	size_t n_rows;
};
int husk_engine_top(struct husk_engine *e, const char *name_or_id, char *const *ps_args,
		    struct husk_top *ret, husk_error **err);
void husk_top_release(struct husk_top *t);

/* One sample of a container's counters (its cgroup, its init's
 * /proc/PID/net/dev); ENOTCONN when not running, and then only the
 * name and id are set. */
struct husk_stats {
	char *id, *name;
	bool running;
	int64_t read_ns;     /* when it was read (CLOCK_MONOTONIC) */
	uint64_t cpu_ns;     /* CPU time used */
	long long mem_usage; /* less the inactive file cache, as Docker's */
	long long mem_limit; /* the host's memory when there is none */
	uint64_t net_rx, net_tx;
	uint64_t blk_read, blk_write;
	long long pids;
	double cpu_percent; /* husk_engine_stats_rate: CPU time over wall time */
	bool ok;	    /* husk_engine_stats_rate: both samples were read */
};
int husk_engine_stats(struct husk_engine *e, const char *name_or_id, struct husk_stats *ret,
		      husk_error **err);
/* Two samples of each container interval_ms apart, as Docker's CPU % is a
 * rate: ret[i] is the second, with cpu_percent; ok false for one that is
 * not running.  A named container that is not there fails the call
 * (ENOENT); with named false, one gone in between is only not ok. */
int husk_engine_stats_rate(struct husk_engine *e, char *const *names, size_t n, bool named,
			   int interval_ms, struct husk_stats *ret, husk_error **err);
void husk_stats_release(struct husk_stats *s);

/* diff: what the container changed in its root, from its overlay upper
 * dir: 'A' added, 'C' changed, 'D' deleted (a whiteout, or what an opaque
 * dir hides), sorted by path */
struct husk_change {
	char kind;
	char *path;
};
int husk_engine_diff(struct husk_engine *e, const char *name_or_id, struct husk_change **ret,
		     size_t *ret_n, husk_error **err);
void husk_changes_free(struct husk_change *v, size_t n);

/* history: the image config's history, newest first, each step that made
 * a layer with that layer's unpacked size */
struct husk_history {
	char *id; /* the image's id on the newest step, else NULL */
	long long created;
	char *created_by, *comment;
	long long size;
	bool empty_layer;
};
int husk_engine_history(struct husk_engine *e, const char *image, struct husk_history **ret,
			size_t *ret_n, husk_error **err);
void husk_history_free(struct husk_history *v, size_t n);

/* info: the host and the engine as `docker info` shows them */
struct husk_info {
	char *kernel, *os, *arch, *hostname;
	const char *cgroup_mode; /* "v1", "hybrid", "v2" */
	int cgroup_version;	 /* 1 or 2: which one controls resources */
	char *root, *runroot;
	unsigned long long root_fs_size, root_fs_free; /* the filesystem holding root */
	bool seccomp, apparmor, selinux, rootless;
	long ncpu;
	long long mem_total;
	size_t containers, running, paused, stopped, images;
};
int husk_engine_info(struct husk_engine *e, struct husk_info *ret, husk_error **err);
void husk_info_release(struct husk_info *i);

/* Docker's --filter of the prune verbs (prunefilter.c), as moby's
 * daemon matches it: what is pruned was created before until_ns (0: at any
 * time), carries every one of labels ("KEY" or "KEY=VALUE": label=) and
 * not all of not_labels (label!=).  Lists NULL-terminated, or NULL.  A
 * NULL filter matches everything. */
struct husk_prune_filter {
	int64_t until_ns;
	char **labels, **not_labels;
};
void husk_prune_filter_release(struct husk_prune_filter *f);
bool husk_prune_filter_empty(const struct husk_prune_filter *f);
/* labels: a JSON object of KEY: VALUE, or NULL for none */
bool husk_prune_filter_match(const struct husk_prune_filter *f, json_t *labels, int64_t created_ns);
/* labels (a JSON object, or NULL) has "KEY", or "KEY=VALUE" with that
 * value: one spec of Docker's label= filter */
bool husk_labels_match(json_t *labels, const char *spec);
/* "KEY=VALUE" strings as a JSON object (new) */
json_t *husk_labels_object(char *const *kv);

/* container prune: remove every container that is not running or paused
 * (created and exited ones) and that f matches; their ids and the space
 * their upper dirs took.  A container started meanwhile stays.  Without a
 * filter, what a killed create left goes too. */
int husk_engine_container_prune(struct husk_engine *e, const struct husk_prune_filter *f,
				char ***ret_ids, size_t *ret_n, long long *ret_reclaimed,
				husk_error **err);
/* image prune: the images no container uses, dangling ones (known only by
 * a digest: commit, import or build without a name) or with all every
 * one; then the blobs and layers no image needs (husk_store_prune), whose
 * bytes go to *ret_reclaimed.  What went, as Docker reports it: a name
 * untagged (NULL for a dangling image) and the id deleted when no name
 * is left on it (NULL otherwise). */
struct husk_image_pruned {
	char *untagged;
	char *deleted;
};
int husk_engine_image_prune(struct husk_engine *e, bool all, const struct husk_prune_filter *f,
			    struct husk_image_pruned **ret, size_t *ret_n, long long *ret_reclaimed,
			    husk_error **err);
void husk_image_pruned_free(struct husk_image_pruned *v, size_t n);

/* --- the image verbs (images.c): the store's and the registry's calls,
 * with the events Docker writes for images --- */

/* tag: source (a name or id prefix) also named target */
int husk_engine_image_tag(struct husk_engine *e, const char *source, const char *target,
			  husk_error **err);
/* rmi of one image: its name untagged to *ret_name, then the blobs and
 * layers no image needs go (when that fails, *ret_name is set all the
 * same: the name went).  EBUSY (naming it) when a container was made
 * from it: its layers are that container's root; ENOENT: not there. */
int husk_engine_image_rm(struct husk_engine *e, const char *ref, char **ret_name, husk_error **err);
/* load an archive (husk_store_load): the names loaded, NULL-terminated */
int husk_engine_image_load(struct husk_engine *e, const char *path, char ***ret_names,
			   husk_error **err);
/* import a rootfs tar as an image (husk_store_import): its id */
int husk_engine_image_import(struct husk_engine *e, const char *path,
			     const struct husk_commit_opts *o, char **ret_id, husk_error **err);
/* save refs to path, or to fd when path is NULL */
int husk_engine_image_save(struct husk_engine *e, const char *const *refs, size_t n,
			   enum husk_save_format format, const char *path, int fd,
			   husk_error **err);
/* pull (husk_registry_pull): the name it has in the store and its id
 * (ret_id may be NULL) */
/* pull --all-tags: the tags of repo on its registry (husk_registry_tags) */
int husk_engine_image_tags(struct husk_engine *e, const char *repo,
			   const struct husk_registry_opts *o, char ***ret, size_t *ret_n,
			   husk_error **err);
int husk_engine_image_pull(struct husk_engine *e, const char *ref,
			   const struct husk_registry_opts *o, char **ret_name, char **ret_id,
			   husk_error **err);
int husk_engine_image_push(struct husk_engine *e, const char *image, const char *dest,
			   const struct husk_registry_opts *o, char **ret_digest, husk_error **err);
/* The name run takes image by when the store has it: as given (a name,
 * an id, or the built-in busybox, made on first use), or its full name
 * ("docker.io/library/x:latest").  ENOENT when it is not there. */
int husk_engine_image_local(struct husk_engine *e, const char *image, char **ret_name,
			    husk_error **err);
/* images --filter, as moby's image list matches it: every condition that
 * is set must hold.  A row is one name of the store; a dangling one is a
 * name that is a digest (what commit, import or build leave without a
 * name, shown as <none>).  references: one of these patterns (path.Match
 * globs, as Docker's: '*' stops at '/') matches the name, as name:tag or
 * as the repository alone, as the store spells it or as Docker's familiar
 * name (docker.io/library/ left off); a dangling row never matches.
 * before, since: created before every one of these images / after every
 * one (names or ids; ENOENT when one is not in the store).  match: until
 * (created before), label= (all of them) and label! (not all of them), as
 * the prune verbs take them.  An image whose creation time is unknown
 * fails before, since and until.  Lists NULL-terminated, or NULL. */
enum husk_dangling { HUSK_DANGLING_ANY, HUSK_DANGLING_ONLY, HUSK_DANGLING_NONE };
struct husk_image_filter {
	enum husk_dangling dangling;
	char **references;
	char **before, **since;
	struct husk_prune_filter match;
};
void husk_image_filter_release(struct husk_image_filter *f);
/* images: every name in the store that f matches (NULL: every name),
 * newest first */
struct husk_image_row {
	char *name;   /* "busybox:latest", or the digest of a dangling image */
	char *id;     /* "sha256:<hex>" */
	char *digest; /* of its manifest; NULL if unknown */
	long long size, created;
};
int husk_engine_image_list(struct husk_engine *e, const struct husk_image_filter *f,
			   struct husk_image_row **ret, size_t *ret_n, husk_error **err);
void husk_image_rows_free(struct husk_image_row *v, size_t n);
/* image inspect: what Docker's shows of one image (Id, RepoTags, Config,
 * RootFS...), a new JSON object */
int husk_engine_image_inspect(struct husk_engine *e, const char *ref, json_t **ret,
			      husk_error **err);

/* ps -s: each container's own bytes (its upper dir: Docker's SizeRw) and
 * those with its image's (SizeRootFs), into ret_rw[i] and ret_rootfs[i] */
int husk_engine_ctr_sizes(struct husk_engine *e, const struct husk_ctr *v, size_t n,
			  long long *ret_rw, long long *ret_rootfs, husk_error **err);

/* system df */
struct husk_df_row {
	char *name; /* an image's name or a container's */
	char *id;
	long long size; /* its own bytes: unique layers / upper dir */
	bool active;	/* used by a container / running */
	size_t users;	/* images: containers using it */
};
struct husk_df {
	size_t n_images, active_images;
	long long images_size, images_reclaimable;
	size_t n_containers, active_containers;
	long long containers_size, containers_reclaimable;
	bool have_volumes; /* <root>/volumes exists */
	size_t n_volumes;
	long long volumes_size;
	struct husk_df_row *images, *containers; /* with verbose */
	size_t n_image_rows, n_container_rows;
};
int husk_engine_df(struct husk_engine *e, bool verbose, struct husk_df *ret, husk_error **err);
void husk_df_release(struct husk_df *d);

#endif

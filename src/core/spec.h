/* The OCI runtime config (config.json), parsed into plain structs.
 * Parsing validates what Linux needs; the raw JSON is kept for the parts
 * only passed along (annotations, hooks state). */
#ifndef HUSK_SPEC_H
#define HUSK_SPEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

typedef struct json_t json_t;

enum husk_ns_type {
	HUSK_NS_PID,
	HUSK_NS_NET,
	HUSK_NS_MNT,
	HUSK_NS_IPC,
	HUSK_NS_UTS,
	HUSK_NS_USER,
	HUSK_NS_CGROUP,
	HUSK_NS_TIME,
	HUSK_NS_COUNT
};

struct husk_namespace {
	bool enabled;
	char *path; /* join this one; NULL: create a new one */
};

struct husk_idmap {
	uint32_t container_id, host_id, size;
};

struct husk_rlimit {
	int resource;
	uint64_t soft, hard;
};

struct husk_mount {
	char *destination;
	char *type;
	char *source;
	unsigned long flags;	     /* MS_* set */
	unsigned long propagation;   /* MS_PRIVATE, MS_SHARED ... (may include MS_REC) */
	uint64_t attr_set, attr_clr; /* MOUNT_ATTR_* applied recursively (rro ...) */
	char *data;		     /* filesystem options left for the kernel */
	bool bind, recursive;
	bool tmpcopyup;
	bool idmap, idmap_recursive;		/* "idmap" / "ridmap" */
	struct husk_idmap *uid_maps, *gid_maps; /* the mount's own, or NULL */
	size_t n_uid_maps, n_gid_maps;
	int tree_fd; /* prepared by the runtime (idmap): attached by the child */
};

struct husk_device {
	char *path;
	char type; /* c, b, u, p */
	int64_t major, minor;
	uint32_t file_mode;
	bool has_mode;
	uint32_t uid, gid;
	bool has_uid, has_gid;
	char *host_node; /* user namespace: the host node to bind, if not path */
};

struct husk_hook {
	char *path;
	char **args;
	char **env;
	int timeout; /* seconds, 0: none */
};

struct husk_hooks {
	struct husk_hook *prestart, *create_runtime, *create_container, *start_container,
		*poststart, *poststop;
	size_t n_prestart, n_create_runtime, n_create_container, n_start_container, n_poststart,
		n_poststop;
};

struct husk_caps {
	/* bitmasks of capability numbers */
	uint64_t bounding, effective, inheritable, permitted, ambient;
	bool has_bounding, has_effective, has_inheritable, has_permitted, has_ambient;
};

/* A CPU list of process.execCPUAffinity ("0-3,7"), as sched_setaffinity
 * takes it */
#define HUSK_MAX_CPUS 1024
struct husk_cpu_mask {
	unsigned long bits[HUSK_MAX_CPUS / (8 * sizeof(unsigned long))];
};

struct husk_process {
	bool terminal;
	unsigned short console_height, console_width;
	bool has_console_size;
	uint32_t uid, gid;
	uint32_t *additional_gids;
	size_t n_additional_gids;
	bool has_umask;
	mode_t umask;
	char **args;
	char **env;
	char *cwd;
	struct husk_caps caps;
	bool has_caps;
	struct husk_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *apparmor_profile;
	char *selinux_label;
	bool has_io_priority;
	int io_priority_class, io_priority;
	bool has_scheduler;
	int sched_policy, sched_nice, sched_priority;
	uint64_t sched_flags, sched_runtime, sched_deadline, sched_period;
	/* execCPUAffinity (runtime-spec 1.3): exec only, not the init */
	bool has_exec_cpu_initial, has_exec_cpu_final;
	struct husk_cpu_mask exec_cpu_initial, exec_cpu_final;
};

/* linux.memoryPolicy (runtime-spec 1.3): set_mempolicy(2) for the init
 * and every exec'd process */
#define HUSK_MAX_NUMA_NODES 1024
struct husk_mempolicy {
	bool set;
	int mode;	/* MPOL_* */
	unsigned flags; /* MPOL_F_* */
	size_t n_nodes;
	unsigned long nodes[HUSK_MAX_NUMA_NODES / (8 * sizeof(unsigned long))];
};

/* linux.netDevices (runtime-spec 1.3): host interfaces moved into the
 * container's network namespace, renamed to name */
struct husk_netdev {
	char *host_name;
	char *name;
};

/* linux.intelRdt: a resctrl group for the container */
struct husk_intelrdt {
	bool set;
	char *clos_id; /* NULL: the container's id (made and removed by us) */
	char *l3_cache_schema, *mem_bw_schema;
	char **schemata;
	size_t n_schemata;
	bool monitoring;
};

struct husk_seccomp; /* compiled lazily from the raw JSON, see seccomp.c */

struct husk_spec {
	json_t *json; /* the whole document; owned */
	char *oci_version;
	char *root_path; /* absolute, resolved against the bundle */
	bool root_readonly;
	char *hostname, *domainname;
	struct husk_process process;
	bool has_process;
	struct husk_mount *mounts;
	size_t n_mounts;
	struct husk_namespace ns[HUSK_NS_COUNT];
	struct husk_idmap *uid_maps, *gid_maps;
	size_t n_uid_maps, n_gid_maps;
	struct husk_device *devices;
	size_t n_devices;
	char **masked_paths, **readonly_paths;
	size_t n_masked_paths, n_readonly_paths;
	unsigned long rootfs_propagation; /* 0: default (rslave) */
	char *cgroups_path;
	json_t *resources;  /* linux.resources, borrowed from json */
	json_t *seccomp;    /* linux.seccomp, borrowed */
	char *seccomp_text; /* linux.seccomp as compact JSON once create made it, owned */
	/* husk_spec_load's look in the seccomp cache before the parse
	 * (husk_seccomp_take_cached): the filter on a hit (seccomp is then
	 * NULL: the profile was not parsed), else the profile's bytes, the
	 * key to store its filter under; both owned */
	struct husk_seccomp *seccomp_cached;
	char *seccomp_raw;
	json_t *sysctl;	      /* borrowed */
	json_t *annotations;  /* borrowed */
	json_t *time_offsets; /* linux.timeOffsets, borrowed */
	char *mount_label;
	bool has_personality;
	unsigned long personality;
	struct husk_hooks hooks;
	struct husk_mempolicy mempolicy;
	struct husk_netdev *netdevs;
	size_t n_netdevs;
	struct husk_intelrdt intelrdt;
};

const char *husk_ns_name(enum husk_ns_type t);
int husk_ns_clone_flag(enum husk_ns_type t);
/* "pid" -> HUSK_NS_PID, -1 if unknown; accepts "mount" and "network" */
int husk_ns_from_name(const char *name);

/* Parse config.json text; bundle is used to resolve a relative root.path. */
int husk_spec_parse(const char *text, const char *bundle, struct husk_spec **ret, husk_error **err);
/* config_path NULL: BUNDLE/config.json.  Relative paths in the config
 * (root.path, mount sources) are the bundle's either way. */
int husk_spec_load(const char *bundle, const char *config_path, struct husk_spec **ret,
		   husk_error **err);
void husk_spec_free(struct husk_spec *s);

/* Write uid and gid maps into procdir ("/proc/self", "/proc/PID"): uid_map
 * first, then gid_map; the error names the file and which mappings. */
int husk_idmaps_write(const char *procdir, const char *field_prefix, const struct husk_idmap *uids,
		      size_t n_uids, const struct husk_idmap *gids, size_t n_gids,
		      husk_error **err);

/* Parse a process object (also used by exec --process). */
int husk_process_parse(json_t *obj, struct husk_process *p, husk_error **err);
void husk_process_release(struct husk_process *p);
int husk_cap_from_name(const char *name);
int husk_rlimit_from_name(const char *name);

/* Parse a mount option list into m (used by the spec and unit tests). */
int husk_mount_parse_options(struct husk_mount *m, json_t *options, husk_error **err);

/* The default config.json (runc spec); rootless adds a user namespace. */
char *husk_spec_default_json(bool rootless, uint32_t uid, uint32_t gid);

#endif

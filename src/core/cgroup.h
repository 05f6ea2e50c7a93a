/* Placing a container in cgroups on v1, v2 and hybrid hosts.
 * The full resource controls live in their own files; this is where the
 * container's cgroup directories are found, made, joined, signalled and
 * removed. */
#ifndef HUSK_CGROUP_H
#define HUSK_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

enum husk_cgroup_mode { HUSK_CGROUP_V1 = 1, HUSK_CGROUP_HYBRID, HUSK_CGROUP_V2 };

struct husk_cgroup_dir {
	char *controllers; /* "memory", "cpu,cpuacct", "name=systemd", "" for v2 */
	char *path;	   /* absolute directory */
	char *mount;	   /* where the hierarchy is mounted on the host */
	char *rel;	   /* path inside the hierarchy, e.g. /process_api/x/ctr */
	bool v2;
};

struct husk_cgroup {
	struct husk_cgroup_dir *dirs;
	size_t n;
	char **created; /* directories made by us, outermost first */
	size_t n_created;
};

enum husk_cgroup_mode husk_cgroup_mode(void);

/* Compute and make the container's cgroup in every hierarchy.
 * cgroups_path: NULL (use the id), relative (below our own cgroup) or
 * absolute.  cpuset false: none in v1's cpuset hierarchy, and v2's cpuset
 * controller not turned on for it (the container stays in our cpuset),
 * for a container that asks for no cpus or mems: the first cpuset cgroup
 * of a host turns a static key of the kernel on, which patches its text
 * (1.7 ms a mkdir here, and as much again when the last goes), so a host
 * where the container's would be the only one pays it every run.  On
 * failure nothing made is left behind. */
int husk_cgroup_create(const char *cgroups_path, const char *id, bool cpuset,
		       struct husk_cgroup *cg, husk_error **err);
/* Only compute the directories (exec and delete use what state recorded). */
int husk_cgroup_resolve(const char *cgroups_path, const char *id, struct husk_cgroup *cg,
			husk_error **err);
/* How a new process joins the container's cgroups without the wait that a
 * migration costs after an idle moment (a cgroup.procs write takes the
 * global threadgroup rwsem, whose writer waits for an RCU grace period:
 * 10-15 ms here).  The v2 directory is entered at birth through
 * clone3(CLONE_INTO_CGROUP); each v1 hierarchy by the single-threaded child
 * writing "0" into its `tasks` file, a one-thread move of current that
 * skips that lock. */
struct husk_cgroup_join {
	int v2_dirfd; /* for clone_args.cgroup, or -1 */
	int *v1_fds;  /* `tasks` files open for writing */
	size_t n_v1;
};
int husk_cgroup_join_prepare(const struct husk_cgroup *cg, struct husk_cgroup_join *j,
			     husk_error **err);
/* In the child: write "0" to each v1 tasks file. */
int husk_cgroup_join_self(struct husk_cgroup_join *j, husk_error **err);
void husk_cgroup_join_release(struct husk_cgroup_join *j);
/* The pids in the container's cgroup. */
int husk_cgroup_pids(const struct husk_cgroup *cg, pid_t **ret, size_t *ret_n, husk_error **err);
int husk_cgroup_kill_all(const struct husk_cgroup *cg, int sig, husk_error **err);
int husk_cgroup_freeze(const struct husk_cgroup *cg, bool freeze, husk_error **err);
bool husk_cgroup_is_frozen(const struct husk_cgroup *cg);
/* Frozen by an ancestor, a cgroup cannot be thawed by itself, and its
 * tasks take no SIGKILL: move them to the freezer hierarchy's root, which
 * is never frozen (moving a task to a cgroup that is not frozen thaws it,
 * on v1 and v2).  For delete --force only.  Returns how many moved. */
int husk_cgroup_thaw_out(const struct husk_cgroup *cg);
typedef struct json_t json_t;

/* One device rule, as in linux.resources.devices. */
struct husk_dev_rule {
	char type;		/* 'a', 'b', 'c' */
	long long major, minor; /* -1: any */
	int access;		/* BPF_DEVCG_ACC_*: m=1, r=2, w=4 */
	bool allow;
};
/* v2: load the rules as an eBPF device program and attach it to dir,
 * replacing programs attached before (cgroup-devices-bpf.c). */
int husk_cgroup_v2_devices(const char *dir, const struct husk_dev_rule *rules, size_t n,
			   husk_error **err);
/* Write linux.resources into the container's cgroup (cgroup-resources.c).
 * with_devices: also the device rules (v1), at create time. */
int husk_cgroup_apply(const struct husk_cgroup *cg, json_t *resources, json_t *spec_devices,
		      bool with_devices, husk_error **err);
bool husk_cgroup_has_v2(const struct husk_cgroup *cg, const char *ctrl);
/* runc's `events --stats` JSON (cgroup-stats.c). */
char *husk_cgroup_stats_json(const struct husk_cgroup *cg, const char *id);
/* How many times the OOM killer acted in the container's memory cgroup. */
long long husk_cgroup_oom_kills(const struct husk_cgroup *cg);

/* Remove what create made, retrying while processes leave. */
int husk_cgroup_destroy(struct husk_cgroup *cg, husk_error **err);
void husk_cgroup_release(struct husk_cgroup *cg);

#endif

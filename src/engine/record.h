/* The container record: what the engine knows of a container between
 * commands, in <root>/containers/<id>/meta.json.
 *
 * Consistency rule: meta.json changes only under flock(2) of the
 * container's `lock` file, by read-modify-write, and is replaced
 * atomically (temp file, fsync, rename), so a reader never sees half a
 * record and two writers never lose each other's change.  A name belongs
 * to one container through the names index, <root>/names/<name>, a
 * symlink to the id: symlink(2) either makes it or fails with EEXIST, so
 * two `run --name x` at once give one container and one clear error, and
 * a lookup by name reads one link, not every record.
 *
 * The state is typed, and changes only along the allowed transitions
 * (husk_ctr_transition).  A record's state is what the engine last wrote;
 * husk_record_observe() checks it against the kernel (is the init, is the
 * monitor still alive), so that a killed monitor or a reboot shows as the
 * truth. */
#ifndef HUSK_ENGINE_RECORD_H
#define HUSK_ENGINE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

enum husk_ctr_state {
	HUSK_CTR_CREATED,
	HUSK_CTR_RUNNING,
	HUSK_CTR_PAUSED,
	HUSK_CTR_EXITED,
	HUSK_CTR_REMOVING,
};

const char *husk_ctr_state_name(enum husk_ctr_state s);
/* May a container in state from go to state to? */
bool husk_ctr_transition_ok(enum husk_ctr_state from, enum husk_ctr_state to);

enum husk_restart {
	HUSK_RESTART_NO,
	HUSK_RESTART_ON_FAILURE,
	HUSK_RESTART_ALWAYS,
	HUSK_RESTART_UNLESS_STOPPED
};

/* "no", "on-failure[:N]", "always", "unless-stopped" */
int husk_restart_parse(const char *s, enum husk_restart *ret, int *ret_max, husk_error **err);
const char *husk_restart_name(enum husk_restart r);

enum husk_health_action {
	HUSK_HEALTH_NONE,
	HUSK_HEALTH_KILL,
	HUSK_HEALTH_RESTART,
	HUSK_HEALTH_STOP
};
int husk_health_action_parse(const char *s, enum husk_health_action *ret, husk_error **err);
const char *husk_health_action_name(enum husk_health_action a);

/* One healthcheck's result, as Docker's State.Health.Log keeps them */
struct husk_health_result {
	int64_t start_ns, end_ns;
	int exit_code; /* -1: it ran past its timeout */
	char *output;  /* at most 4 KiB */
};
#define HUSK_HEALTH_LOG_MAX 5

/* A mount of the container as inspect shows it (Docker's Mounts) */
struct husk_ctr_mount {
	char *type; /* "bind", "volume", "tmpfs" */
	char *name; /* a volume's */
	char *source, *destination;
	char *mode;	   /* -v's options as given ("ro,z"), or "z" for a volume */
	char *propagation; /* binds: "rprivate" unless asked */
	bool rw;
	bool anonymous; /* an anonymous volume: rm -v and --rm remove it */
};

struct husk_ctr {
	char *id; /* 64 hex */
	char *name;
	char *image;	/* as resolved in the store */
	char *image_id; /* its id then ("sha256:<hex>"); NULL in older records */
	char *command;	/* for ps */
	int64_t created_ns, started_ns, finished_ns;
	enum husk_ctr_state state;
	pid_t pid; /* the container's init, as the host sees it */
	unsigned long long pid_start;
	pid_t monitor_pid;
	unsigned long long monitor_start;
	/* where the kernel has pidfs (Linux 6.9), the monitor's pidfd inode
	 * number, unique within the boot named by boot_id: ps checks a
	 * monitor with a pidfd instead of a read of /proc/PID/stat.  0: none */
	uint64_t monitor_pidfd_id;
	char boot_id[40]; /* a UUID; "" with no pidfd id */
	bool has_exit;
	int exit_code;
	bool oom_killed;
	/* options that outlive create */
	bool rm, tty, interactive;
	/* its root and record go once its process is read (a build's step):
	 * not synced, as with rm (write_durable in record.c) */
	bool throwaway;
	char *network; /* "none", "host", "bridge" */
	char *ip;
	char **ports;				    /* "8080:80/tcp", NULL-terminated */
	uint64_t net_egress_rate, net_ingress_rate; /* bit/s, 0: none */
	char *hostname;
	enum husk_restart restart;
	int restart_max;
	int restart_count;
	bool stopped_by_user; /* stop suspends the restart policy until start */
	char *log_driver;     /* "json-file", "k8s-file", "none" */
	long long log_max_size;
	int log_max_file;
	int stop_signal;
	int stop_timeout;
	/* healthcheck: test NULL when there is none.  test[0] is "CMD" (the
	 * rest is argv) or "CMD-SHELL" (test[1] is for /bin/sh -c) */
	char **test;
	int64_t health_interval_ns, health_timeout_ns, health_start_period_ns;
	int health_retries;
	enum husk_health_action health_on_failure;
	char *health_status; /* "starting", "healthy", "unhealthy"; NULL: none */
	int health_streak;   /* failures in a row */
	struct husk_health_result health_log[HUSK_HEALTH_LOG_MAX];
	size_t n_health_log;
	/* what inspect shows of run's other options, under Docker's names:
	 * {"Config": {...}, "HostConfig": {...}} (husk_engine_config_docker).
	 * Written once at create beside the record, in docker.json, and read
	 * only by husk_record_load_docker (inspect): about 50 keys that every
	 * ps would otherwise parse for each container.  Records of before
	 * that carry it in meta.json.  NULL: not loaded, or none */
	struct json_t *docker;
	struct husk_ctr_mount *mounts;
	size_t n_mounts;
	char **tmpfs; /* --tmpfs "PATH[:OPTIONS]", NULL-terminated */
	bool read_only;
	/* set by husk_engine_inspect only: the monitor's log writer stopped at
	 * a write that failed (logfile.h), with its errno (0: unknown) and
	 * when (Unix ns, 0: unknown) */
	bool log_cut;
	int log_cut_errno;
	int64_t log_cut_ns;
};

void husk_ctr_release(struct husk_ctr *c);

char *husk_record_dir(const char *root, const char *id);

/* Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 255 bytes; EINVAL
 * with Docker's words otherwise. */
int husk_name_check(const char *name, husk_error **err);

/* ENOENT when there is no such record.  No lock is taken: a record is
 * replaced by rename, so a reader sees one whole version. */
int husk_record_load(const char *root, const char *id, struct husk_ctr *ret, husk_error **err);
/* The same, relative to an open <root>/containers (a listing opens it once) */
int husk_record_load_in(int containers_fd, const char *id, struct husk_ctr *ret, husk_error **err);
/* Replaced atomically; synced to the disk unless the container is
 * thrown away at its exit (c->rm, see write_durable in record.c) */
int husk_record_save(const char *root, const struct husk_ctr *c, husk_error **err);

/* docker.json: what inspect shows of run's options (husk_ctr.docker),
 * written by create before the record (sync: as the record's); loaded
 * into c->docker unless the record carried it */
int husk_record_save_docker(const char *root, const char *id, struct json_t *docker, bool sync,
			    husk_error **err);
int husk_record_load_docker(const char *root, struct husk_ctr *c, husk_error **err);

/* The record's lock, held until the fd is closed. */
int husk_record_lock(const char *root, const char *id, husk_error **err);

/* Load under the lock, let fn change the record, save.  fn returns < 0
 * (with err set) to fail, > 0 when it changed nothing (no write, no
 * fsync). */
typedef int (*husk_record_fn)(struct husk_ctr *c, void *ud, husk_error **err);
int husk_record_update(const char *root, const char *id, husk_record_fn fn, void *ud,
		       husk_error **err);

/* A husk_record_fn: the user stopped it (stop, --health-on-failure stop);
 * its restart policy waits for the next start */
int husk_record_set_stopped(struct husk_ctr *c, void *ud, husk_error **err);

/* The names index.  claim: EEXIST when the name is another's. */
int husk_name_claim(const char *root, const char *name, const char *id, husk_error **err);
/* Remove name's link if it still points at id. */
/* Every name that points at id: what a create killed before it wrote its
 * record left (one readdir of the names, only for such a wreck). */
void husk_names_release_id(const char *root, const char *id);
void husk_name_release(const char *root, const char *name, const char *id);

/* A container by exact id, exact name, or unique id prefix, as Docker
 * looks them up.  ENOENT: none; EINVAL: the prefix fits several. */
int husk_record_resolve(const char *root, const char *name_or_id, char **ret_id, husk_error **err);

/* Is s a record's id (64 hex digits)? */
bool husk_record_id_ok(const char *s);
/* Every record's id (readdir only). */
int husk_record_ids(const char *root, char ***ret, size_t *ret_n, husk_error **err);

/* The record's monitor is that process (pid, start time, pidfd id and
 * boot), or none */
void husk_record_set_monitor(struct husk_ctr *c, pid_t monitor);
void husk_record_clear_monitor(struct husk_ctr *c);

/* The record as the kernel sees it: running or paused with neither the
 * init nor its monitor alive means the machine or the monitor died; the
 * container then reads as exited (255 when no code was recorded, as
 * Docker shows a container whose daemon died).  Changes only *c.
 * Returns true for an orphan: running, its monitor gone, its init alive;
 * nobody would record its exit (husk_engine_observe adopts it). */
bool husk_record_observe(struct husk_ctr *c);

int64_t husk_time_ns(void);

#endif

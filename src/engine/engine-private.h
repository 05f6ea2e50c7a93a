/* What the engine's files share and nobody else uses. */
#ifndef HUSK_ENGINE_PRIVATE_H
#define HUSK_ENGINE_PRIVATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "engine.h"

void husk_engine_rm_rf(const char *dir);

/* --link (links.c): the /etc/hosts entries ("ALIAS HOSTNAME NAME:IP", as
 * --add-host takes them), the environment (default bridge only) and
 * inspect's HostConfig.Links ("/db:/web/db") */
struct husk_links {
	char **hosts, **env, **specs;
	size_t n_hosts, n_env, n_specs;
};
int husk_links_resolve(struct husk_engine *e, const struct husk_run_opts *o, const char *self,
		       struct husk_links *ret, husk_error **err);
void husk_links_release(struct husk_links *l);

/* What --log-opt tag= may name of the container (logattrs.c) */
struct husk_log_tag {
	const char *id, *name, *image_id, *image_name;
};
/* json-file's "attrs" for a container (logattrs.c): from opts ("KEY=VALUE",
 * --log-opt's) and its Docker Config (Labels, Env), one compact JSON
 * object with sorted keys in *ret, NULL when there are none.  EINVAL for a
 * bad regular expression or tag template. */
struct json_t;
int husk_log_attrs(char **opts, struct json_t *config, const struct husk_log_tag *t, char **ret,
		   husk_error **err);
/* Unlink what a remover that died left in <root>/trash (engine.h's
 * trash_later): at boot and with the prunes */
void husk_engine_trash_sweep(struct husk_engine *e);
/* A pidfd of pid if it is still the process that started at start, else
 * -1 (also for pid 0: nothing to wait for) */
int husk_pidfd_of(pid_t pid, unsigned long long start);
/* The status (as waitpid(2) reports it) of a process that has exited but
 * is not our child, through a pidfd opened on it before it exited: from
 * the kernel once it is reaped (PIDFD_INFO_EXIT, Linux 6.15), from /proc
 * while it is a zombie.  -1 when neither can tell (an older kernel, and
 * the process already reaped). */
int husk_pidfd_exit_status(int pidfd, pid_t pid, int *ret_status);

/* Start a monitor for id and wait until it says how the start went:
 * "0 PID", or an errno, Docker's exit code (ret_code) and a message.  With
 * ret_client, the caller's end of an attach socket made before anything
 * ran.  c: the record just read, for a start; NULL for a monitor that
 * adopts the running init of a container whose monitor is gone
 * (husk-monitor --adopt): EALREADY when another has adopted it, ESRCH
 * when the init is gone too. */
/* What a monitor needs of the record, one line (monitor.c reads it):
 * "tty interactive log_driver log_max_size log_max_file health
 * health_interval_ns pid pid_start started_ns log_path" */
char *husk_monitor_settings(struct husk_engine *e, const struct husk_ctr *c);

int husk_engine_run_monitor(struct husk_engine *e, const char *id, const struct husk_ctr *c,
			    int *ret_client, int *ret_code, husk_error **err);

/* husk_record_observe, and for an orphan (a running container whose
 * monitor is gone and whose init is not) a new monitor that adopts it, so
 * that its exit is still recorded; *c is then read again.  Not from the
 * monitor itself (no monitor_path). */
void husk_engine_observe(struct husk_engine *e, struct husk_ctr *c);

struct husk_engine;
struct husk_ctr;
/* The container's overlay root mounted (again, after a reboot). */
int husk_engine_prepare_root(struct husk_engine *e, const struct husk_ctr *c, husk_error **err);
/* husk_engine_cleanup, saying whether anonymous volumes go (rm -v): 1
 * yes, 0 no, -1 as the record's --rm says */
int husk_engine_cleanup_volumes(struct husk_engine *e, const char *id, bool remove, int volumes,
				husk_error **err);

#endif

/* A container's life after create: start under a monitor, stop, kill,
 * restart, pause, wait, rm, rename, attach; and the lookups.
 *
 * Waiting is on pidfds (the init's, the monitor's), never by polling
 * state.  The record is the truth of what the engine did; the kernel is
 * the truth of what still runs (husk_record_observe). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attach.h"
#include "fault.h"
#include "engine-private.h"
#include "engine.h"
#include "husk.h"
#include "image.h"
#include "overlay.h"
#include "util.h"

/* --- pidfds --- */

/* true when it ended within ms (-1: no limit) */
static bool pidfd_wait(int fd, int ms)
{
	if (fd < 0)
		return true;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	for (;;) {
		int r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		return r > 0;
	}
}

static int pidfd_signal(int fd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

/* --- start --- */

int husk_engine_prepare_root(struct husk_engine *e, const struct husk_ctr *c, husk_error **err)
{
	cleanup_free char *rootfs = husk_strdup_printf("%s/containers/%s/rootfs", e->root, c->id);
	if (husk_overlay_mounted(rootfs))
		return 0;
	/* after a reboot: the layers again, the upper dir as it was; the
	 * image by its id, as its name may have moved to another since */
	struct husk_store *store = NULL;
	struct husk_image *img = NULL;
	int r = -1;
	if (husk_store_open(e->root, &store, err) == 0 &&
	    husk_store_find(store, c->image_id ? c->image_id : c->image, &img, err) == 0)
		r = husk_overlay_mount(e->root, img, c->id, rootfs, c->rm, err);
	husk_image_free(img);
	husk_store_close(store);
	return r;
}

struct net_ud {
	const char *ip;
};

static int set_ip(struct husk_ctr *c, void *ud, husk_error **err)
{
	(void)err;
	free(c->ip);
	c->ip = strdup(((struct net_ud *)ud)->ip);
	return 0;
}

/* After a reboot the netns is gone with the runtime state: a new one at
 * the same path (config.json names it), on the same networks with the
 * same addresses and aliases, the record's ports again */
static int prepare_network(struct husk_engine *e, const struct husk_ctr *c, husk_error **err)
{
	if (!c->network || strcmp(c->network, "none") == 0 || strcmp(c->network, "host") == 0 ||
	    strncmp(c->network, "container:", 10) == 0)
		return 0;
	cleanup_free char *ns = husk_strdup_printf("%s/net/ns/%s", e->runroot, c->id);
	if (access(ns, F_OK) == 0)
		return 0;
	size_t np = 0;
	while (c->ports && c->ports[np])
		np++;
	cleanup_free struct husk_net_port *ports = calloc(np + 1, sizeof(*ports));
	if (!ports)
		abort();
	for (size_t i = 0; i < np; i++)
		if (husk_net_parse_port(c->ports[i], &ports[i], err) < 0)
			return -1;
	cleanup_free char *dir = husk_engine_dir(e, c->id);
	struct husk_net_endpoint *eps = NULL;
	size_t n = 0;
	husk_net_endpoints_load(dir, &eps, &n);
	struct husk_net_attach *nets = calloc(n + 1, sizeof(*nets));
	if (!nets)
		abort();
	for (size_t i = 0; i < n; i++)
		/* the same addresses: chosen on a user-defined network, and the
		 * lease kept by id on the default one (ipam.c) */
		nets[i] = (struct husk_net_attach){
			.network = eps[i].network,
			.ip = strcmp(eps[i].network, HUSK_NET_DEFAULT) ? eps[i].ip : NULL,
			.ip6 = strcmp(eps[i].network, HUSK_NET_DEFAULT) && *eps[i].ip6 ? eps[i].ip6
										       : NULL,
			.aliases = eps[i].aliases};
	struct husk_net_opts no = {.root = e->root,
				   .runroot = e->runroot,
				   .id = c->id,
				   .dir = dir,
				   .name = c->name,
				   .hostname = c->hostname ? c->hostname : c->name,
				   .nets = nets,
				   .n_nets = n,
				   .ports = ports,
				   .n_ports = np,
				   .dns_path = e->dns_path,
				   .egress_rate = c->net_egress_rate,
				   .ingress_rate = c->net_ingress_rate};
	struct husk_net_info info = {0};
	int r = husk_net_setup(&no, &info, err);
	free(nets);
	for (size_t i = 0; i < n; i++)
		husk_net_endpoint_release(&eps[i]);
	free(eps);
	if (r < 0)
		return -1;
	struct net_ud ud = {.ip = info.ip};
	r = husk_record_update(e->root, c->id, set_ip, &ud, err);
	husk_net_info_release(&info);
	return r;
}

static int clear_stopped(struct husk_ctr *c, void *ud, husk_error **err)
{
	(void)ud;
	if (c->state == HUSK_CTR_REMOVING)
		return husk_fail_as(err, EINVAL, "container \"%s\" is being removed", c->name);
	if (!c->stopped_by_user)
		return 1; /* nothing to write */
	c->stopped_by_user = false;
	return 0;
}

int husk_engine_start(struct husk_engine *e, const char *name_or_id, int *ret_client, int *ret_code,
		      husk_error **err)
{
	cleanup_free char *id = NULL;
	if (ret_code)
		*ret_code = 125;
	if (husk_record_resolve(e->root, name_or_id, &id, err) < 0)
		return -1;
	/* one start at a time: the record's own lock is the monitor's to
	 * take while it starts the process */
	cleanup_free char *lp = husk_strdup_printf("%s/containers/%s/start.lock", e->root, id);
	cleanup_close int lock = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0)
		return husk_fail(err, errno, "lock \"%s\"", lp);
	struct husk_ctr c;
	if (husk_record_load(e->root, id, &c, err) < 0)
		return -1;
	husk_engine_observe(e, &c);
	int r = 0;
	if (c.state == HUSK_CTR_RUNNING || c.state == HUSK_CTR_PAUSED) {
		/* as Docker: starting a running container does nothing */
		if (ret_client)
			r = (*ret_client = husk_attach_connect(e->runroot, id, err)) < 0 ? -1 : 0;
		if (r == 0 && ret_client)
			husk_engine_event(e, "attach", c.id, c.name, c.image, NULL);
		husk_ctr_release(&c);
		return r;
	}
	if (husk_pid_alive(c.monitor_pid, c.monitor_start)) {
		/* waiting to restart it: the monitor's, not ours */
		husk_ctr_release(&c);
		return husk_fail_as(err, EBUSY, "container \"%s\" is restarting", name_or_id);
	}
	r = husk_engine_prepare_root(e, &c, err);
	if (r == 0)
		r = prepare_network(e, &c, err);
	if (r == 0)
		HUSK_FAULT(engine_start_monitor);
	/* as Docker's: a client attached from the start (run, start -a) is
	 * an attach before the start */
	if (r == 0 && ret_client)
		husk_engine_event(e, "attach", c.id, c.name, c.image, NULL);
	if (r < 0 || husk_record_update(e->root, id, clear_stopped, NULL, err) < 0 ||
	    husk_engine_run_monitor(e, id, &c, ret_client, ret_code, err) < 0)
		r = husk_error_wrap(err, "start container \"%s\"", c.name);
	else
		HUSK_FAULT(engine_start_started);
	husk_ctr_release(&c);
	return r < 0 ? -1 : 0;
}

/* --- stop, kill, pause --- */

int husk_engine_stop(struct husk_engine *e, const char *name_or_id, int timeout, int sig,
		     husk_error **err)
{
	cleanup_free char *id = NULL;
	if (husk_record_resolve(e->root, name_or_id, &id, err) < 0 ||
	    husk_record_update(e->root, id, husk_record_set_stopped, NULL, err) < 0)
		return -1;
	struct husk_ctr c;
	if (husk_record_load(e->root, id, &c, err) < 0)
		return -1;
	/* an orphan gets a monitor first, which records how the stop ends */
	husk_engine_observe(e, &c);
	cleanup_close int mon = husk_pidfd_of(c.monitor_pid, c.monitor_start);
	cleanup_close int init = husk_pidfd_of(c.pid, c.pid_start);
	bool paused = c.state == HUSK_CTR_PAUSED;
	if (sig <= 0)
		sig = c.stop_signal > 0 ? c.stop_signal : SIGTERM;
	int t = timeout >= 0 ? timeout : c.stop_timeout > 0 ? c.stop_timeout : 10;
	cleanup_free char *name = strdup(c.name), *image = strdup(c.image);
	husk_ctr_release(&c);
	if (init >= 0) {
		char s[16];
		snprintf(s, sizeof(s), "%d", sig);
		husk_engine_event(e, "kill", id, name, image,
				  (const char *const[]){"signal", s, NULL});
		pidfd_signal(init, sig);
		HUSK_FAULT(engine_stop_signal);
		if (paused)
			husk_pause(e->runroot, id, false, NULL);
		if (!pidfd_wait(init, t * 1000)) {
			pidfd_signal(init, SIGKILL);
			pidfd_wait(init, 10000);
		}
	} else if (mon >= 0) {
		/* between two runs of a restart policy: wake it to see the flag */
		pidfd_signal(mon, SIGTERM);
	}
	/* the monitor records the exit, then goes */
	pidfd_wait(mon, 10000);
	husk_engine_event(e, "stop", id, name, image, NULL);
	return 0;
}

int husk_engine_kill(struct husk_engine *e, const char *name_or_id, int sig, husk_error **err)
{
	struct husk_ctr c;
	if (husk_engine_get(e, name_or_id, &c, err) < 0)
		return -1;
	cleanup_close int init = -1;
	if (c.state == HUSK_CTR_RUNNING || c.state == HUSK_CTR_PAUSED)
		init = husk_pidfd_of(c.pid, c.pid_start);
	if (init < 0) {
		husk_ctr_release(&c);
		return husk_fail_as(err, ENOTCONN, "container \"%s\" is not running", name_or_id);
	}
	/* told before it is sent: the monitor writes the die it causes */
	char s[16];
	snprintf(s, sizeof(s), "%d", sig);
	husk_engine_event(e, "kill", c.id, c.name, c.image,
			  (const char *const[]){"signal", s, NULL});
	husk_ctr_release(&c);
	if (pidfd_signal(init, sig) < 0)
		return husk_fail(err, errno, "signal container \"%s\"", name_or_id);
	return 0;
}

int husk_engine_restart(struct husk_engine *e, const char *name_or_id, int timeout, int sig,
			husk_error **err)
{
	if (husk_engine_stop(e, name_or_id, timeout, sig, err) < 0 ||
	    husk_engine_start(e, name_or_id, NULL, NULL, err) < 0)
		return -1;
	struct husk_ctr c;
	if (husk_engine_get(e, name_or_id, &c, NULL) == 0) {
		husk_engine_event(e, "restart", c.id, c.name, c.image, NULL);
		husk_ctr_release(&c);
	}
	return 0;
}

struct pause_ud {
	bool pause;
};

static int mark_paused(struct husk_ctr *c, void *ud, husk_error **err)
{
	struct pause_ud *p = ud;
	enum husk_ctr_state to = p->pause ? HUSK_CTR_PAUSED : HUSK_CTR_RUNNING;
	if (!husk_ctr_transition_ok(c->state, to) || (p->pause && c->state != HUSK_CTR_RUNNING))
		return husk_fail_as(err, ENOTCONN, "container \"%s\" is %s", c->name,
				    husk_ctr_state_name(c->state));
	c->state = to;
	return 0;
}

int husk_engine_pause(struct husk_engine *e, const char *name_or_id, bool pause, husk_error **err)
{
	struct husk_ctr c;
	if (husk_engine_get(e, name_or_id, &c, err) < 0)
		return -1;
	bool ok = pause ? c.state == HUSK_CTR_RUNNING : c.state == HUSK_CTR_PAUSED;
	cleanup_free char *id = strdup(c.id), *name = strdup(c.name), *image = strdup(c.image);
	const char *st = husk_ctr_state_name(c.state);
	if (!ok) {
		husk_fail_as(err, ENOTCONN, "container \"%s\" is %s, not %s", name_or_id, st,
			     pause ? "running" : "paused");
		husk_ctr_release(&c);
		return -1;
	}
	husk_ctr_release(&c);
	struct pause_ud ud = {.pause = pause};
	if (husk_pause(e->runroot, id, pause, err) < 0 ||
	    husk_record_update(e->root, id, mark_paused, &ud, err) < 0)
		return husk_error_wrap(err, "%s container \"%s\"", pause ? "pause" : "unpause",
				       name_or_id);
	husk_engine_event(e, pause ? "pause" : "unpause", id, name, image, NULL);
	return 0;
}

/* An inotify fd that wakes when the record changes: meta.json is renamed
 * over, and rm removes the directory */
static int watch_record(struct husk_engine *e, const char *id, husk_error **err)
{
	int fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "inotify");
	cleanup_free char *dir = husk_engine_dir(e, id);
	if (inotify_add_watch(fd, dir, IN_MOVED_TO | IN_DELETE_SELF) < 0) {
		int en = errno;
		close(fd);
		return husk_fail(err, en, "watch \"%s\"", dir);
	}
	return fd;
}

/* Docker's: a container created and not started yet is waited for until
 * it is started and then stops.  No polling: while it is created, the
 * record's directory is watched; once it runs, its monitor's pidfd. */
int husk_engine_wait(struct husk_engine *e, const char *name_or_id, int *ret_code, husk_error **err)
{
	cleanup_free char *id = NULL;
	if (husk_record_resolve(e->root, name_or_id, &id, err) < 0)
		return -1;
	cleanup_close int watch = -1;
	for (;;) {
		struct husk_ctr c;
		if (husk_record_load(e->root, id, &c, NULL) < 0) {
			/* removed (on exit with --rm, or by rm): its code went with it */
			*ret_code = 0;
			return 0;
		}
		husk_engine_observe(e, &c);
		cleanup_close int mon = husk_pidfd_of(c.monitor_pid, c.monitor_start);
		bool created = c.state == HUSK_CTR_CREATED;
		*ret_code = c.has_exit ? c.exit_code : 0;
		husk_ctr_release(&c);
		if (mon >= 0) {
			/* it runs, or its monitor waits to restart it: until the
			 * monitor has recorded the end */
			pidfd_wait(mon, -1);
			continue;
		}
		if (!created)
			return 0;
		if (watch < 0) {
			/* then read it again: a start may have come before the watch */
			watch = watch_record(e, id, err);
			if (watch < 0)
				return husk_error_wrap(err, "wait for container \"%s\"",
						       name_or_id);
			continue;
		}
		char ev[4096];
		while (read(watch, ev, sizeof(ev)) < 0)
			if (errno != EINTR)
				return husk_fail(err, errno, "wait for container \"%s\"",
						 name_or_id);
	}
}

/* --- rm, rename, attach --- */

struct rm_ud {
	bool force;
	const char *as;
};

static int mark_removing(struct husk_ctr *c, void *ud, husk_error **err)
{
	struct rm_ud *r = ud;
	husk_record_observe(c);
	bool live = c->state == HUSK_CTR_RUNNING || c->state == HUSK_CTR_PAUSED;
	if (live && !r->force)
		return husk_fail_as(
			err, EBUSY,
			"cannot remove container \"%s\": it is running: stop it first, or "
			"use -f",
			r->as);
	c->state = HUSK_CTR_REMOVING;
	c->stopped_by_user = true;
	return 0;
}

int husk_engine_rm(struct husk_engine *e, const char *name_or_id, bool force, bool volumes,
		   husk_error **err)
{
	cleanup_free char *id = NULL;
	if (husk_record_resolve(e->root, name_or_id, &id, err) < 0)
		return -1;
	struct rm_ud ud = {.force = force, .as = name_or_id};
	husk_error *uerr = NULL;
	if (husk_record_update(e->root, id, mark_removing, &ud, &uerr) < 0) {
		/* no record: a create that crashed; what it left goes below.
		 * A full disk that took even the record's reserve must not
		 * keep the container that filled it: remove it unmarked */
		if (!uerr ||
		    (uerr->errnum != ENOENT && uerr->errnum != ENOSPC && uerr->errnum != EDQUOT)) {
			if (err)
				*err = uerr;
			else
				husk_error_free(uerr);
			return -1;
		}
		husk_error_free(uerr);
	}
	HUSK_FAULT(engine_rm_removing);
	struct husk_ctr c;
	if (husk_record_load(e->root, id, &c, NULL) == 0) {
		cleanup_close int mon = husk_pidfd_of(c.monitor_pid, c.monitor_start);
		cleanup_close int init = husk_pidfd_of(c.pid, c.pid_start);
		if (init >= 0) {
			pidfd_signal(init, SIGKILL);
			husk_pause(e->runroot, id, false, NULL);
			pidfd_wait(init, 10000);
		} else if (mon >= 0) {
			pidfd_signal(mon, SIGTERM);
		}
		/* the monitor finishes first, unless it is who called us (it
		 * removes a --rm container through us when it has a network) */
		if (c.monitor_pid != getppid())
			pidfd_wait(mon, 10000);
		husk_ctr_release(&c);
	}
	HUSK_FAULT(engine_rm_killed);
	if (husk_engine_cleanup_volumes(e, id, true, volumes ? 1 : -1, err) < 0)
		return husk_error_wrap(err, "remove container \"%s\"", name_or_id);
	return 0;
}

struct rename_ud {
	const char *root, *name;
	char *old;
};

static int do_rename(struct husk_ctr *c, void *ud, husk_error **err)
{
	struct rename_ud *r = ud;
	if (husk_name_claim(r->root, r->name, c->id, err) < 0)
		return -1;
	r->old = c->name;
	c->name = strdup(r->name);
	return 0;
}

int husk_engine_rename(struct husk_engine *e, const char *name_or_id, const char *new_name,
		       husk_error **err)
{
	cleanup_free char *id = NULL;
	if (husk_record_resolve(e->root, name_or_id, &id, err) < 0)
		return -1;
	struct rename_ud ud = {.root = e->root, .name = new_name};
	if (husk_record_update(e->root, id, do_rename, &ud, err) < 0) {
		/* claimed, then the record could not be saved: give it back */
		if (ud.old)
			husk_name_release(e->root, new_name, id);
		free(ud.old);
		return husk_error_wrap(err, "rename container \"%s\"", name_or_id);
	}
	husk_name_release(e->root, ud.old, id);
	struct husk_ctr c;
	if (husk_record_load(e->root, id, &c, NULL) == 0) {
		husk_engine_event(e, "rename", id, c.name, c.image,
				  (const char *const[]){"oldName", ud.old, NULL});
		husk_ctr_release(&c);
	}
	free(ud.old);
	return 0;
}

int husk_engine_attach(struct husk_engine *e, const char *name_or_id, int *ret_fd, husk_error **err)
{
	struct husk_ctr c;
	if (husk_engine_get(e, name_or_id, &c, err) < 0)
		return -1;
	bool live = c.state == HUSK_CTR_RUNNING || c.state == HUSK_CTR_PAUSED;
	int fd = -1;
	if (!live)
		husk_fail_as(err, ENOTCONN, "cannot attach to container \"%s\": it is not running",
			     name_or_id);
	else
		fd = husk_attach_connect(e->runroot, c.id, err);
	if (fd >= 0)
		husk_engine_event(e, "attach", c.id, c.name, c.image, NULL);
	husk_ctr_release(&c);
	if (fd < 0)
		return -1;
	*ret_fd = fd;
	return 0;
}

void husk_engine_detached(struct husk_engine *e, const char *name_or_id)
{
	struct husk_ctr c;
	if (husk_engine_get(e, name_or_id, &c, NULL) < 0)
		return;
	husk_engine_event(e, "detach", c.id, c.name, c.image, NULL);
	husk_ctr_release(&c);
}

/* --- boot --- */

/* Should this container run again after the machine restarted? Its
 * record says how it was left: running (the machine went down under it,
 * so no exit was recorded) or stopped, and by whom. */
static bool wants_boot(const struct husk_ctr *raw)
{
	bool was_running = raw->state == HUSK_CTR_RUNNING || raw->state == HUSK_CTR_PAUSED;
	switch (raw->restart) {
	case HUSK_RESTART_ALWAYS:
		return true; /* Docker's: even when stopped by hand */
	case HUSK_RESTART_UNLESS_STOPPED:
		return !raw->stopped_by_user;
	case HUSK_RESTART_ON_FAILURE:
		return was_running;
	case HUSK_RESTART_NO:
	default:
		return false;
	}
}

int husk_engine_boot(struct husk_engine *e, char ***ret_started, size_t *ret_n, husk_error **err)
{
	char **ids = NULL;
	size_t n = 0, k = 0;
	*ret_started = NULL;
	*ret_n = 0;
	husk_engine_trash_sweep(e);
	if (husk_record_ids(e->root, &ids, &n, err) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		struct husk_ctr c;
		if (husk_record_load(e->root, ids[i], &c, NULL) < 0)
			continue;
		bool live = husk_pid_alive(c.pid, c.pid_start) ||
			    husk_pid_alive(c.monitor_pid, c.monitor_start);
		bool want = !live && wants_boot(&c);
		/* --rm: it went down with the machine and goes now, as
		 * dockerd removes such containers when it starts (its record
		 * and root were not synced, and its volatile root cannot
		 * mount again anyway) */
		bool gone = !live && c.rm;
		char *name = strdup(c.name);
		husk_ctr_release(&c);
		if (gone) {
			husk_engine_cleanup(e, ids[i], true, NULL);
			free(name);
			continue;
		}
		husk_error *serr = NULL;
		if (want && husk_engine_start(e, ids[i], NULL, NULL, &serr) < 0) {
			/* the first failure is the one returned; the others run */
			if (r == 0 && err)
				*err = serr;
			else
				husk_error_free(serr);
			r = -1;
			free(name);
			continue;
		}
		if (want)
			husk_strv_push(ret_started, &k, name);
		else
			free(name);
	}
	*ret_n = k;
	husk_strv_free(ids, n);
	return r;
}

/* husk logs: a container's log read back, following it while its monitor
 * lives (the monitor is the log's only writer). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine-private.h"
#include "engine.h"
#include "util.h"

/* the caller's emit and ud, and the monitor's pidfd for done() */
struct follow {
	const struct husk_log_read_opts *o;
	int mon;
};

static int emit(void *ud, int stream, int64_t time_ns, const char *attrs, const char *buf,
		size_t len)
{
	struct follow *f = ud;
	return f->o->emit(f->o->ud, stream, time_ns, attrs, buf, len);
}

static void cut(void *ud, int errnum, int64_t time_ns)
{
	struct follow *f = ud;
	f->o->cut(f->o->ud, errnum, time_ns);
}

static bool monitor_gone(void *ud)
{
	int fd = ((struct follow *)ud)->mon;
	if (fd < 0)
		return true;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) > 0;
}

int husk_engine_logs(struct husk_engine *e, const char *name_or_id,
		     const struct husk_log_read_opts *o, husk_error **err)
{
	struct husk_ctr c;
	if (husk_engine_get(e, name_or_id, &c, err) < 0)
		return -1;
	int drv = husk_log_driver_parse(c.log_driver ? c.log_driver : "json-file");
	cleanup_free char *path = husk_engine_log_path(e, c.id);
	cleanup_close int mon = -1;
	if (o->follow)
		mon = husk_pidfd_of(c.monitor_pid, c.monitor_start);
	husk_ctr_release(&c);
	if (drv == HUSK_LOG_NONE)
		return husk_fail_as(err, EINVAL,
				    "container \"%s\" keeps no log (--log-driver none)",
				    name_or_id);
	struct follow f = {.o = o, .mon = mon};
	struct husk_log_read_opts ro = *o;
	ro.done = monitor_gone;
	ro.emit = emit;
	ro.cut = o->cut ? cut : NULL;
	ro.ud = &f;
	int r = husk_log_read(path, (enum husk_log_driver)drv, &ro, err);
	if (r < 0 && err && *err && (*err)->errnum == ENOENT) {
		/* never started: nothing written yet */
		husk_error_freep(err);
		return 0;
	}
	return r;
}

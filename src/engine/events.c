/* The event log: what happened to containers, one JSON line an event in
 * <runroot>/events.log, written by the engine and by every monitor, read
 * by `husk events`.  Linked into the static monitor too.
 *
 * Writers never lock to append: one write(2) of a whole line on an
 * O_APPEND fd lands at the end in one piece whatever else writes.  Only
 * rotation (past HUSK_EVENTS_MAX, to events.log.1) takes a lock, on the
 * file being rotated, and looks again after getting it: the one that
 * finds the name still on its file renames it.  Readers follow the
 * directory with inotify, and notice a rotation by the name pointing at
 * another inode: the rest of the old file first, then the new one. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "util.h"

static char *log_path(const char *runroot, bool old)
{
	return husk_strdup_printf("%s/events.log%s", runroot, old ? ".1" : "");
}

static int open_log(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/* The fd to append to, after moving a full log aside */
static int open_for_append(const char *runroot)
{
	cleanup_free char *path = log_path(runroot, false);
	int fd = open_log(path);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < HUSK_EVENTS_MAX)
		return fd;
	if (flock(fd, LOCK_EX) == 0) {
		struct stat now;
		/* still the file under the name: nobody rotated it before us */
		if (stat(path, &now) == 0 && now.st_ino == st.st_ino && now.st_dev == st.st_dev) {
			cleanup_free char *old = log_path(runroot, true);
			rename(path, old);
		}
	}
	close(fd);
	return open_log(path);
}

/* One line to the log: Docker's shape, "from" for containers only */
static void write_event(const struct husk_engine *e, const char *type, const char *action,
			const char *id, const char *from, json_t *attrs)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_int_t ns = (json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	json_t *ev = json_pack("{s:s,s:s}", "status", action, "id", id);
	if (from)
		json_object_set_new(ev, "from", json_string(from));
	json_object_set_new(ev, "Type", json_string(type));
	json_object_set_new(ev, "Action", json_string(action));
	json_object_set_new(ev, "Actor", json_pack("{s:s,s:o}", "ID", id, "Attributes", attrs));
	json_object_set_new(ev, "scope", json_string("local"));
	json_object_set_new(ev, "time", json_integer((json_int_t)ts.tv_sec));
	json_object_set_new(ev, "timeNano", json_integer(ns));
	char *line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(ev);
	if (!line)
		return;
	size_t len = strlen(line);
	char *buf = realloc(line, len + 2);
	if (!buf) {
		free(line);
		return;
	}
	buf[len] = '\n';
	buf[len + 1] = '\0';
	int fd = open_for_append(e->runroot);
	if (fd >= 0) {
		/* one write: the line is whole at the end, or not there */
		ssize_t n = write(fd, buf, len + 1);
		(void)n;
		close(fd);
	}
	free(buf);
}

void husk_engine_event(const struct husk_engine *e, const char *action, const char *id,
		       const char *name, const char *image, const char *const *attrs)
{
	if (!e || !e->runroot || !action || !id)
		return;
	json_t *a = json_object();
	if (image && *image)
		json_object_set_new(a, "image", json_string(image));
	if (name && *name)
		json_object_set_new(a, "name", json_string(name));
	for (size_t i = 0; attrs && attrs[i] && attrs[i + 1]; i += 2)
		json_object_set_new(a, attrs[i], json_string(attrs[i + 1]));
	write_event(e, "container", action, id, image ? image : "", a);
}

void husk_engine_image_event(const struct husk_engine *e, const char *action, const char *id,
			     const char *name)
{
	if (!e || !e->runroot || !action || !id)
		return;
	json_t *a = json_object();
	if (name && *name)
		json_object_set_new(a, "name", json_string(name));
	write_event(e, "image", action, id, NULL, a);
}

/* --- reading --- */

static bool in_list(char **list, const char *v)
{
	if (!list)
		return true;
	for (size_t i = 0; list[i]; i++)
		if (v && strcmp(list[i], v) == 0)
			return true;
	return false;
}

static bool event_matches(const struct husk_event_filter *f, json_t *ev)
{
	if (!f)
		return true;
	json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
	const char *type = json_string_value(json_object_get(ev, "Type"));
	const char *action = json_string_value(json_object_get(ev, "Action"));
	const char *id = json_string_value(json_object_get(ev, "id"));
	const char *name = json_string_value(json_object_get(attrs, "name"));
	const char *image = json_string_value(json_object_get(attrs, "image"));
	bool is_image = type && strcmp(type, "image") == 0;
	if (!in_list(f->type, type))
		return false;
	if (f->event) {
		bool ok = in_list(f->event, action);
		/* Docker's: event=health_status matches "health_status: healthy",
		 * event=exec_start "exec_start: sh" */
		const char *colon = action ? strchr(action, ':') : NULL;
		if (!ok && colon) {
			cleanup_free char *head = strndup(action, (size_t)(colon - action));
			ok = in_list(f->event, head);
		}
		if (!ok)
			return false;
	}
	if (is_image) {
		/* an image's event: its name is its image, its id its id */
		image = name;
		name = NULL;
	}
	if (f->container) {
		bool ok = false;
		if (is_image)
			return false;
		for (size_t i = 0; f->container[i] && !ok; i++) {
			const char *c = f->container[i];
			ok = (name && strcmp(c, name) == 0) ||
			     (id && *c && strncmp(id, c, strlen(c)) == 0);
		}
		if (!ok)
			return false;
	}
	if (f->image) {
		bool ok = false;
		for (size_t i = 0; f->image[i] && !ok; i++) {
			const char *m = f->image[i];
			size_t n = strlen(m);
			/* "busybox" matches "busybox:latest" as well */
			ok = image && (strcmp(image, m) == 0 ||
				       (strncmp(image, m, n) == 0 && image[n] == ':'));
			ok = ok || (is_image && id && strcmp(id, m) == 0);
		}
		if (!ok)
			return false;
	}
	return true;
}

struct reader {
	const struct husk_events_opts *o;
	char *buf; /* a line not yet ended */
	size_t len, cap;
	bool stop;
};

static void one_line(struct reader *r, const char *line, size_t len)
{
	json_t *ev = json_loadb(line, len, 0, NULL);
	if (!ev)
		return; /* a torn line from a crash: skipped */
	int64_t t = (int64_t)json_integer_value(json_object_get(ev, "timeNano"));
	if ((r->o->since_ns && t < r->o->since_ns) || (r->o->until_ns && t > r->o->until_ns) ||
	    !event_matches(r->o->filter, ev)) {
		json_decref(ev);
		return;
	}
	if (r->o->emit(r->o->ud, ev) != 0)
		r->stop = true;
	json_decref(ev);
}

/* Everything fd holds from where it is, line by line */
static void read_more(struct reader *r, int fd)
{
	char chunk[65536];
	ssize_t n;
	while (!r->stop && (n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (r->len + (size_t)n + 1 > r->cap) {
			r->cap = (r->len + (size_t)n + 1) * 2;
			r->buf = realloc(r->buf, r->cap);
			if (!r->buf)
				abort();
		}
		memcpy(r->buf + r->len, chunk, (size_t)n);
		r->len += (size_t)n;
		size_t start = 0;
		for (size_t i = 0; i < r->len && !r->stop; i++) {
			if (r->buf[i] != '\n')
				continue;
			one_line(r, r->buf + start, i - start);
			start = i + 1;
		}
		memmove(r->buf, r->buf + start, r->len - start);
		r->len -= start;
	}
}

static int ms_until(int64_t until_ns)
{
	if (!until_ns)
		return -1;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (now >= until_ns)
		return 0;
	int64_t ms = (until_ns - now) / 1000000 + 1;
	return ms > 1000000 ? 1000000 : (int)ms;
}

int husk_engine_events(struct husk_engine *e, const struct husk_events_opts *o, husk_error **err)
{
	cleanup_free char *path = log_path(e->runroot, false);
	cleanup_free char *old = log_path(e->runroot, true);
	struct reader r = {.o = o};
	cleanup_close int in = -1;
	bool follow = o->follow && ms_until(o->until_ns) != 0;
	if (follow) {
		/* watched before the past is read: nothing falls between */
		in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (in < 0 ||
		    inotify_add_watch(in, e->runroot, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0)
			return husk_fail(err, errno, "watch \"%s\"", e->runroot);
	}
	/* the rotated part, then the current one */
	int ofd = open(old, O_RDONLY | O_CLOEXEC);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ofd >= 0) {
		struct stat a, b;
		/* a rotation between the two opens: old is what fd was */
		if (fd < 0 || fstat(ofd, &a) < 0 || fstat(fd, &b) < 0 || a.st_ino != b.st_ino)
			read_more(&r, ofd);
		r.len = 0;
		close(ofd);
	}
	if (fd < 0 && follow) {
		int c = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
		if (c < 0) {
			free(r.buf);
			return husk_fail(err, errno, "open \"%s\"", path);
		}
		fd = c;
	}
	if (fd >= 0)
		read_more(&r, fd);
	while (follow && !r.stop) {
		int ms = ms_until(o->until_ns);
		if (ms == 0)
			break;
		struct pollfd p = {.fd = in, .events = POLLIN};
		int pr = poll(&p, 1, ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			int en = errno;
			close(fd);
			free(r.buf);
			return husk_fail(err, en, "wait for events");
		}
		char evbuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		while (read(in, evbuf, sizeof(evbuf)) > 0)
			; /* what changed is read from the file itself */
		read_more(&r, fd);
		/* rotated: the name is on a new file now */
		struct stat a, b;
		if (stat(path, &b) == 0 && fstat(fd, &a) == 0 && a.st_ino != b.st_ino) {
			read_more(&r, fd);
			int nfd = open(path, O_RDONLY | O_CLOEXEC);
			if (nfd >= 0) {
				close(fd);
				fd = nfd;
				r.len = 0;
				read_more(&r, fd);
			}
		}
	}
	if (fd >= 0)
		close(fd);
	free(r.buf);
	return 0;
}

/* A container's log (see logfile.h): the writer, run by the container's
 * monitor.  It lives in a process meant to stay under half a MiB (built
 * against musl, with no JSON library: records are formatted here), so it
 * keeps nothing but one partial line a stream (allocated the first time a
 * write ends mid-line) and formats each record through a small stack
 * buffer straight into write(2) on an O_APPEND fd.  The reader is
 * logfile.c. */
#define _GNU_SOURCE
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* Docker cuts a line at 16 KiB (daemon/logger/copier.go) */
#define PART_MAX (16 * 1024)

int husk_log_driver_parse(const char *s)
{
	if (!s)
		return -1;
	if (strcmp(s, "json-file") == 0)
		return HUSK_LOG_JSON_FILE;
	if (strcmp(s, "k8s-file") == 0)
		return HUSK_LOG_K8S_FILE;
	if (strcmp(s, "none") == 0)
		return HUSK_LOG_NONE;
	return -1;
}

static const char *stream_name(int stream)
{
	return stream == 2 ? "stderr" : "stdout";
}

/* ---- the writer ---- */

struct partial {
	char *buf; /* PART_MAX bytes, allocated on the first partial line */
	size_t len;
};

struct husk_log_writer {
	char *path;
	enum husk_log_driver drv;
	int fd;
	long long max_size;
	int max_file;
	long long size; /* of the current file */
	/* a failed write left part of a record that could not be cut off:
	 * end that line before the next record, so that only it is lost */
	bool need_newline;
	/* a write failed: nothing more is written (see logfile.h) */
	int cut_errno;
	/* json-file: the record's "attrs" object (PATH-attrs), or NULL */
	char *attrs;
	struct partial part[2];
};

#define CUT_XATTR "user.husk.log-cut"

/* Formatted output: a small buffer in front of write(2), or (fd < 0) only
 * a count of the bytes, to know a record's size before writing it. */
struct out {
	int fd;
	int error;
	size_t len;
	long long total;
	char buf[8192];
};

static void out_flush(struct out *o)
{
	if (o->fd >= 0 && o->len > 0 && !o->error) {
		int r = husk_write_all(o->fd, o->buf, o->len);
		if (r < 0)
			o->error = -r;
	}
	o->len = 0;
}

static void out_put(struct out *o, const void *p, size_t n)
{
	o->total += (long long)n;
	if (o->fd < 0)
		return;
	const char *s = p;
	while (n > 0) {
		size_t m = sizeof(o->buf) - o->len;
		if (m > n)
			m = n;
		memcpy(o->buf + o->len, s, m);
		o->len += m;
		s += m;
		n -= m;
		if (o->len == sizeof(o->buf))
			out_flush(o);
	}
}

static void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

/* The length of the valid UTF-8 sequence at s (of n bytes) that starts
 * with a byte >= 0x80, 0 when it is not valid: the rules of Go's
 * utf8.DecodeRune (no overlong forms, no surrogates, nothing past
 * U+10FFFF), which Docker's encoder follows. */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* A JSON string's contents, as Docker's json-file writes them
 * (ffjsonWriteJSONBytesAsString in daemon/logger/jsonfilelog/jsonlog):
 * " and \ escaped, \n and \r by name, other control bytes and < > & as
 * \u00XX, U+2028 and U+2029 as \u202X, valid UTF-8 as it is, and each
 * byte of invalid UTF-8 as \ufffd. */
static void out_json_string(struct out *o, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)p;
	size_t start = 0, i = 0;
	while (i < n) {
		unsigned char b = s[i];
		char esc[8];
		size_t esc_len, adv = 1;
		if (b < 0x80) {
			if (b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' &&
			    b != '&') {
				i++;
				continue;
			}
			esc[0] = '\\';
			esc_len = 2;
			if (b == '"' || b == '\\') {
				esc[1] = (char)b;
			} else if (b == '\n') {
				esc[1] = 'n';
			} else if (b == '\r') {
				esc[1] = 'r';
			} else {
				memcpy(esc + 1, "u00", 3);
				esc[4] = hex[b >> 4];
				esc[5] = hex[b & 0xf];
				esc_len = 6;
			}
		} else {
			size_t len = utf8_valid_len(s + i, n - i);
			if (len == 3 && b == 0xe2 && s[i + 1] == 0x80 &&
			    (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
				memcpy(esc, "\\u202", 5);
				esc[5] = s[i + 2] == 0xa8 ? '8' : '9';
				esc_len = 6;
				adv = 3;
			} else if (len > 0) {
				i += len;
				continue;
			} else {
				memcpy(esc, "\\ufffd", 6);
				esc_len = 6;
			}
		}
		out_put(o, s + start, i - start);
		out_put(o, esc, esc_len);
		i += adv;
		start = i;
	}
	out_put(o, s + start, n - start);
}

/* RFC 3339 in UTC: json-file as Go's time.RFC3339Nano prints it (Docker),
 * trailing zeros of the fraction dropped, "Z"; k8s-file as conmon prints
 * it, nine digits and a numeric offset. */
static void format_time(const struct timespec *ts, bool k8s, char *buf, size_t size)
{
	struct tm tm;
	gmtime_r(&ts->tv_sec, &tm);
	int n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= size)
		return;
	if (k8s) {
		snprintf(buf + n, size - (size_t)n, ".%09ld+00:00", ts->tv_nsec);
		return;
	}
	char frac[16] = "";
	if (ts->tv_nsec > 0) {
		int f = snprintf(frac, sizeof(frac), ".%09ld", ts->tv_nsec);
		while (f > 1 && frac[f - 1] == '0')
			frac[--f] = '\0';
	}
	snprintf(buf + n, size - (size_t)n, "%sZ", frac);
}

static void out_record(struct out *o, enum husk_log_driver drv, const char *attrs,
		       bool newline_first, const char *ts, int stream, const char *s, size_t n,
		       bool full)
{
	if (newline_first)
		out_put(o, "\n", 1);
	if (drv == HUSK_LOG_K8S_FILE) {
		out_str(o, ts);
		out_put(o, " ", 1);
		out_str(o, stream_name(stream));
		out_str(o, full ? " F " : " P ");
		out_put(o, s, n);
		out_put(o, "\n", 1);
		return;
	}
	out_str(o, "{\"log\":\"");
	out_json_string(o, s, n);
	if (full)
		out_str(o, "\\n");
	out_str(o, "\",\"stream\":\"");
	out_str(o, stream_name(stream));
	if (attrs) {
		/* Docker's order: log, stream, attrs, time */
		out_str(o, "\",\"attrs\":");
		out_str(o, attrs);
		out_str(o, ",\"time\":\"");
	} else {
		out_str(o, "\",\"time\":\"");
	}
	out_str(o, ts);
	out_str(o, "\"}\n");
}

char *husk_log_rotated_name(const char *path, int i)
{
	return i == 0 ? strdup(path) : husk_strdup_printf("%s.%d", path, i);
}

static int open_for_append(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
}

/* PATH.(max_file-2) -> PATH.(max_file-1) (over the oldest) ... PATH ->
 * PATH.1, then a new PATH.  Should the new file not open, the writer goes
 * on with the old fd and tries again at the next record. */
static int rotate(struct husk_log_writer *w, husk_error **err)
{
	for (int i = w->max_file - 1; i >= 1; i--) {
		cleanup_free char *from = husk_log_rotated_name(w->path, i - 1);
		cleanup_free char *to = husk_log_rotated_name(w->path, i);
		if (!from || !to)
			return husk_fail(err, ENOMEM, "rotate log \"%s\"", w->path);
		if (rename(from, to) < 0 && errno != ENOENT)
			return husk_fail(err, errno, "rotate log: rename \"%s\"", from);
	}
	if (w->max_file == 1 && unlink(w->path) < 0 && errno != ENOENT)
		return husk_fail(err, errno, "rotate log: remove \"%s\"", w->path);
	int fd = open_for_append(w->path);
	if (fd < 0)
		return husk_fail(err, errno, "rotate log: open \"%s\"", w->path);
	close(w->fd);
	w->fd = fd;
	w->size = 0;
	w->need_newline = false;
	return 0;
}

/* The writer stops at a failed write, and says so where a reader looks:
 * the log's xattr (no data block needed: in the inode on ext4 and XFS,
 * charged to tmpfs's inode space, not its size), else PATH-cut, whose
 * name alone tells even when its content does not fit. */
static void mark_cut(struct husk_log_writer *w, int errnum)
{
	w->cut_errno = errnum ? errnum : EIO;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char v[48];
	int n = snprintf(v, sizeof(v), "%d %lld", w->cut_errno,
			 (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
	if (fsetxattr(w->fd, CUT_XATTR, v, (size_t)n, 0) == 0)
		return;
	struct stat st;
	if (fstat(w->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return; /* a device (/dev/full): nothing beside it */
	cleanup_free char *side = husk_strdup_printf("%s-cut", w->path);
	int fd = open(side, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return;
	if (husk_write_all(fd, v, (size_t)n) < 0) {
		/* not even that fits: the name alone tells (cause unknown) */
		int r = ftruncate(fd, 0);
		(void)r;
	}
	close(fd);
}

int husk_log_cut_get(const char *path, int *ret_errnum, int64_t *ret_time_ns)
{
	char v[64];
	*ret_errnum = 0;
	*ret_time_ns = 0;
	ssize_t n = getxattr(path, CUT_XATTR, v, sizeof(v) - 1);
	if (n < 0) {
		cleanup_free char *side = husk_strdup_printf("%s-cut", path);
		int fd = open(side, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return 0;
		n = read(fd, v, sizeof(v) - 1);
		close(fd);
		if (n < 0)
			n = 0;
	}
	v[n] = '\0';
	int e = 0;
	long long t = 0;
	if (sscanf(v, "%d %lld", &e, &t) == 2 && e > 0 && t > 0) {
		*ret_errnum = e;
		*ret_time_ns = t;
	}
	return 1;
}

/* One record of n bytes of s (n <= PART_MAX); full: the line ended there. */
static int write_record(struct husk_log_writer *w, int stream, const char *s, size_t n, bool full,
			husk_error **err)
{
	if (w->cut_errno)
		return husk_fail(err, w->cut_errno, "write log \"%s\": cut by an earlier write",
				 w->path);
	struct timespec now;
	char ts[64];
	clock_gettime(CLOCK_REALTIME, &now);
	format_time(&now, w->drv == HUSK_LOG_K8S_FILE, ts, sizeof(ts));

	struct out o;
	o.fd = -1;
	o.error = 0;
	o.len = 0;
	o.total = 0;
	out_record(&o, w->drv, w->attrs, w->need_newline, ts, stream, s, n, full);
	if (w->max_size > 0 && w->size > 0 && w->size + o.total > w->max_size) {
		if (rotate(w, err) < 0)
			return -1;
		o.total = 0;
		out_record(&o, w->drv, w->attrs, false, ts, stream, s, n, full);
	}
	long long size = o.total;

	o.fd = w->fd;
	o.total = 0;
	out_record(&o, w->drv, w->attrs, w->need_newline, ts, stream, s, n, full);
	out_flush(&o);
	if (o.error) {
		/* disk full, or a file size limit: cut off what was written of
		 * the record, so that the file still holds whole records */
		if (ftruncate(w->fd, w->size) < 0) {
			struct stat st;
			if (fstat(w->fd, &st) == 0)
				w->size = st.st_size;
			w->need_newline = true;
		}
		mark_cut(w, o.error);
		return husk_fail(err, o.error, "write log \"%s\"", w->path);
	}
	w->size += size;
	w->need_newline = false;
	return 0;
}

/* Where to cut a partial record of n bytes: before a UTF-8 sequence that
 * the cut would split, so that each record stays valid (Docker cuts at
 * 16 KiB whatever is there, and the two halves become U+FFFD). */
static size_t utf8_cut(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	for (size_t back = 1; back <= 3 && back <= n; back++) {
		unsigned char c = s[n - back];
		if ((c & 0xc0) == 0x80)
			continue; /* a continuation byte: look further back */
		size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		if (need > back && back < n)
			return n - back;
		break;
	}
	return n;
}

/* PATH-attrs: one JSON object on one line (made by the engine with a JSON
 * library), put in every record as it is; anything else is ignored */
static char *read_attrs(const char *path)
{
	cleanup_free char *p = husk_strdup_printf("%s-attrs", path);
	char *s = NULL;
	size_t n = 0;
	if (!p || husk_read_file(p, &s, &n, NULL) < 0)
		return NULL;
	while (n > 0 && s[n - 1] == '\n')
		s[--n] = '\0';
	if (n < 2 || n > 64 * 1024 || s[0] != '{' || s[n - 1] != '}' || memchr(s, '\n', n) ||
	    strlen(s) != n) {
		free(s);
		return NULL;
	}
	return s;
}

int husk_log_open(const char *path, enum husk_log_driver drv, long long max_size, int max_file,
		  struct husk_log_writer **ret, husk_error **err)
{
	if (drv != HUSK_LOG_JSON_FILE && drv != HUSK_LOG_K8S_FILE && drv != HUSK_LOG_NONE)
		return husk_fail(err, EINVAL, "open log \"%s\": unknown driver %d", path, (int)drv);
	struct husk_log_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return husk_fail(err, ENOMEM, "open log \"%s\"", path);
	w->drv = drv;
	w->fd = -1;
	w->max_size = max_size > 0 ? max_size : 0;
	w->max_file = max_file < 1 ? 1 : max_file;
	if (drv != HUSK_LOG_NONE) {
		w->path = strdup(path);
		if (!w->path) {
			free(w);
			return husk_fail(err, ENOMEM, "open log \"%s\"", path);
		}
		w->fd = open_for_append(path);
		struct stat st;
		if (w->fd < 0 || fstat(w->fd, &st) < 0) {
			int e = errno;
			husk_log_close(w);
			return husk_fail(err, e, "open log \"%s\"", path);
		}
		w->size = st.st_size;
		if (drv == HUSK_LOG_JSON_FILE)
			w->attrs = read_attrs(path);
	}
	*ret = w;
	return 0;
}

int husk_log_write(struct husk_log_writer *w, int stream, const char *buf, size_t len,
		   husk_error **err)
{
	if (stream != 1 && stream != 2)
		return husk_fail(err, EINVAL, "write log: stream %d", stream);
	if (w->drv == HUSK_LOG_NONE)
		return 0;
	struct partial *p = &w->part[stream - 1];
	/* a record that fails is lost, the rest of buf still goes on (or
	 * waits); the first error is the one returned */
	int ret = 0;
	while (len > 0) {
		if (p->len == 0) {
			/* nothing waits: whole lines go out from buf itself */
			size_t scan = len < PART_MAX + 1 ? len : PART_MAX + 1;
			const char *nl = memchr(buf, '\n', scan);
			if (nl) {
				size_t n = (size_t)(nl - buf);
				if (write_record(w, stream, buf, n, true, ret ? NULL : err) < 0)
					ret = -1;
				buf += n + 1;
				len -= n + 1;
				continue;
			}
			if (len > PART_MAX) {
				size_t n = utf8_cut(buf, PART_MAX);
				if (write_record(w, stream, buf, n, false, ret ? NULL : err) < 0)
					ret = -1;
				buf += n;
				len -= n;
				continue;
			}
			if (!p->buf) {
				p->buf = malloc(PART_MAX);
				if (!p->buf)
					return husk_fail(err, ENOMEM, "write log \"%s\"", w->path);
			}
			memcpy(p->buf, buf, len);
			p->len = len;
			return ret;
		}
		/* the rest of a line that waits: a newline within what fits
		 * ends it, a full buffer goes out as a partial record */
		size_t room = PART_MAX - p->len;
		size_t scan = len < room + 1 ? len : room + 1;
		const char *nl = memchr(buf, '\n', scan);
		size_t n = nl ? (size_t)(nl - buf) : (scan < room ? scan : room);
		memcpy(p->buf + p->len, buf, n);
		p->len += n;
		buf += n;
		len -= n;
		if (nl) {
			buf++;
			len--;
			size_t l = p->len;
			p->len = 0;
			if (write_record(w, stream, p->buf, l, true, ret ? NULL : err) < 0)
				ret = -1;
		} else if (p->len == PART_MAX && len > 0 && buf[0] != '\n') {
			size_t cut = utf8_cut(p->buf, p->len);
			size_t rest = p->len - cut;
			p->len = 0;
			if (write_record(w, stream, p->buf, cut, false, ret ? NULL : err) < 0)
				ret = -1;
			memmove(p->buf, p->buf + cut, rest);
			p->len = rest;
		}
	}
	return ret;
}

int husk_log_flush(struct husk_log_writer *w, husk_error **err)
{
	int ret = 0;
	for (int i = 0; i < 2; i++) {
		struct partial *p = &w->part[i];
		if (p->len == 0)
			continue;
		size_t n = p->len;
		p->len = 0;
		if (write_record(w, i + 1, p->buf, n, false, ret ? NULL : err) < 0)
			ret = -1;
	}
	return ret;
}

void husk_log_close(struct husk_log_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0) {
		/* what a caller did not flush: best effort */
		husk_log_flush(w, NULL);
		close(w->fd);
	}
	free(w->part[0].buf);
	free(w->part[1].buf);
	free(w->attrs);
	free(w->path);
	free(w);
}

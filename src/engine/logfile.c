/* A container's log (see logfile.h): the writer, run by the container's
 * monitor, and the reader, run by `husk logs`.
 *
 * The writer lives in a process meant to stay under half a MiB, so it
 * keeps nothing but one partial line a stream (allocated the first time a
 * write ends mid-line) and formats each record through a small stack
 * buffer straight into write(2) on an O_APPEND fd.  The reader may use
 * more, but stays bounded whatever the size of the files: --tail scans
 * backwards in blocks, lines longer than LINE_MAX are skipped. */
#define _GNU_SOURCE
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* Docker cuts a line at 16 KiB (daemon/logger/copier.go) */
#define PART_MAX (16 * 1024)
/* the largest record a reader takes: a json-file record of 16 KiB of
 * control bytes is 96 KiB escaped */
#define RECORD_MAX (1024 * 1024)
#define READ_BLOCK (64 * 1024)

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
	struct partial part[2];
};

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

static void out_record(struct out *o, enum husk_log_driver drv, bool newline_first, const char *ts,
		       int stream, const char *s, size_t n, bool full)
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
	out_str(o, "\",\"time\":\"");
	out_str(o, ts);
	out_str(o, "\"}\n");
}

static char *rotated_name(const char *path, int i)
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
		cleanup_free char *from = rotated_name(w->path, i - 1);
		cleanup_free char *to = rotated_name(w->path, i);
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

/* One record of n bytes of s (n <= PART_MAX); full: the line ended there. */
static int write_record(struct husk_log_writer *w, int stream, const char *s, size_t n, bool full,
			husk_error **err)
{
	struct timespec now;
	char ts[64];
	clock_gettime(CLOCK_REALTIME, &now);
	format_time(&now, w->drv == HUSK_LOG_K8S_FILE, ts, sizeof(ts));

	struct out o;
	o.fd = -1;
	o.error = 0;
	o.len = 0;
	o.total = 0;
	out_record(&o, w->drv, w->need_newline, ts, stream, s, n, full);
	if (w->max_size > 0 && w->size > 0 && w->size + o.total > w->max_size) {
		if (rotate(w, err) < 0)
			return -1;
		o.total = 0;
		out_record(&o, w->drv, false, ts, stream, s, n, full);
	}
	long long size = o.total;

	o.fd = w->fd;
	o.total = 0;
	out_record(&o, w->drv, w->need_newline, ts, stream, s, n, full);
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
	free(w->path);
	free(w);
}

/* ---- the reader ---- */

/* 1970-01-01 to y-m-d in days (Howard Hinnant's days_from_civil) */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool digits(const char *s, size_t n, int *ret)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

/* "2026-12-06T19:50:31[.frac](Z|+hh:mm|-hh:mm)", exactly n bytes */
static int parse_time(const char *s, size_t n, int64_t *ret)
{
	int y, mo, d, h, mi, sec;
	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	size_t i = 19;
	int64_t ns = 0;
	if (s[i] == '.') {
		int64_t scale = 100000000;
		i++;
		size_t start = i;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			ns += (s[i] - '0') * scale;
			scale /= 10;
		}
		if (i == start)
			return -1;
	}
	int64_t off = 0;
	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
		off = 0;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int oh, om;
		if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om))
			return -1;
		off = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
	} else {
		return -1;
	}
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	*ret = secs * 1000000000 + ns;
	return 0;
}

/* A record of either format: its stream, time and bytes.  *ret_json, when
 * set, owns buf (json-file's decoded string).  -1: not a record. */
static int parse_record(enum husk_log_driver drv, char *line, size_t n, int *ret_stream,
			int64_t *ret_time, const char **ret_buf, size_t *ret_len, json_t **ret_json)
{
	*ret_json = NULL;
	if (drv == HUSK_LOG_K8S_FILE) {
		/* TIMESTAMP STREAM TAG CONTENT\n; line[n - 1] is the newline */
		char *end = line + n - 1;
		char *sp1 = memchr(line, ' ', (size_t)(end - line));
		if (!sp1)
			return -1;
		char *sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
		if (!sp2)
			return -1;
		size_t slen = (size_t)(sp2 - sp1 - 1);
		if (slen == 6 && memcmp(sp1 + 1, "stdout", 6) == 0)
			*ret_stream = 1;
		else if (slen == 6 && memcmp(sp1 + 1, "stderr", 6) == 0)
			*ret_stream = 2;
		else
			return -1;
		if (parse_time(line, (size_t)(sp1 - line), ret_time) < 0)
			return -1;
		char *tag = sp2 + 1;
		if (tag >= end || (*tag != 'F' && *tag != 'P') || (tag + 1 < end && tag[1] != ' '))
			return -1;
		char *content = tag + 1 < end ? tag + 2 : end;
		*ret_buf = content;
		/* F: the line's own newline is the one the process wrote */
		*ret_len = (size_t)(end - content) + (*tag == 'F');
		return 0;
	}
	json_t *j = json_loadb(line, n, JSON_ALLOW_NUL, NULL);
	if (!j)
		return -1;
	json_t *log = json_object_get(j, "log");
	const char *stream = json_string_value(json_object_get(j, "stream"));
	const char *t = json_string_value(json_object_get(j, "time"));
	if ((log && !json_is_string(log)) || !stream || !t ||
	    parse_time(t, strlen(t), ret_time) < 0) {
		json_decref(j);
		return -1;
	}
	if (strcmp(stream, "stdout") == 0) {
		*ret_stream = 1;
	} else if (strcmp(stream, "stderr") == 0) {
		*ret_stream = 2;
	} else {
		json_decref(j);
		return -1;
	}
	/* Docker leaves "log" out when it is empty */
	*ret_buf = log ? json_string_value(log) : "";
	*ret_len = log ? json_string_length(log) : 0;
	*ret_json = j;
	return 0;
}

/* Lines of one file, in a buffer that grows to RECORD_MAX at most. */
struct line_reader {
	int fd;
	dev_t dev;
	ino_t ino;
	char *buf;
	size_t cap, pos, len;
	bool skipping; /* in a line longer than RECORD_MAX: dropped */
};

static void lr_reset(struct line_reader *lr, int fd)
{
	if (lr->fd >= 0 && lr->fd != fd)
		close(lr->fd);
	lr->fd = fd;
	lr->pos = lr->len = 0;
	lr->skipping = false;
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0) {
		lr->dev = st.st_dev;
		lr->ino = st.st_ino;
	}
}

/* 1: a line (with its newline) in *ret, 0: no whole line before the end
 * of the file (what there is of one stays for the next call), <0: -errno */
static int lr_next(struct line_reader *lr, char **ret, size_t *ret_len)
{
	for (;;) {
		char *nl = memchr(lr->buf + lr->pos, '\n', lr->len - lr->pos);
		if (nl) {
			size_t n = (size_t)(nl - (lr->buf + lr->pos)) + 1;
			char *line = lr->buf + lr->pos;
			lr->pos += n;
			if (lr->skipping) {
				lr->skipping = false;
				continue;
			}
			*ret = line;
			*ret_len = n;
			return 1;
		}
		if (lr->skipping) {
			lr->pos = lr->len = 0;
		} else if (lr->pos > 0) {
			memmove(lr->buf, lr->buf + lr->pos, lr->len - lr->pos);
			lr->len -= lr->pos;
			lr->pos = 0;
		}
		if (lr->len == lr->cap) {
			if (lr->cap >= RECORD_MAX) {
				lr->skipping = true;
				lr->len = 0;
			} else {
				char *b = realloc(lr->buf, lr->cap * 2);
				if (!b)
					return -ENOMEM;
				lr->buf = b;
				lr->cap *= 2;
			}
		}
		ssize_t r = read(lr->fd, lr->buf + lr->len, lr->cap - lr->len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return 0;
		lr->len += (size_t)r;
	}
}

/* The files of a log, oldest first: PATH.N ... PATH.1, PATH. */
struct chain {
	int *fds;
	size_t n;
};

static void chain_release(struct chain *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	free(c->fds);
	c->fds = NULL;
	c->n = 0;
}

/* Open PATH, then PATH.1, PATH.2 ... until one is missing or is the file
 * (stop_dev, stop_ino) a follower already read (stop_ino 0: none).  PATH
 * first: a rotation during the walk then shows as a file seen twice,
 * dropped, rather than as one missed. */
static int chain_open(const char *path, dev_t stop_dev, ino_t stop_ino, struct chain *ret,
		      husk_error **err)
{
	struct chain c = {0};
	struct stat *seen = NULL;
	int r = 0;
	for (int i = 0; i < 100000; i++) {
		cleanup_free char *p = rotated_name(path, i);
		if (!p) {
			r = husk_fail(err, ENOMEM, "read log \"%s\"", path);
			break;
		}
		int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			if (errno == ENOENT)
				break;
			r = husk_fail(err, errno, "open log \"%s\"", p);
			break;
		}
		struct stat st;
		if (fstat(fd, &st) < 0) {
			r = husk_fail(err, errno, "stat log \"%s\"", p);
			close(fd);
			break;
		}
		if (stop_ino && st.st_dev == stop_dev && st.st_ino == stop_ino) {
			close(fd);
			break;
		}
		bool dup = false;
		for (size_t k = 0; k < c.n; k++)
			dup = dup || (seen[k].st_dev == st.st_dev && seen[k].st_ino == st.st_ino);
		if (dup) {
			close(fd);
			continue;
		}
		int *fds = realloc(c.fds, (c.n + 1) * sizeof(*fds));
		struct stat *s2 = fds ? realloc(seen, (c.n + 1) * sizeof(*s2)) : NULL;
		if (fds)
			c.fds = fds;
		if (s2)
			seen = s2;
		if (!fds || !s2) {
			close(fd);
			r = husk_fail(err, ENOMEM, "read log \"%s\"", path);
			break;
		}
		c.fds[c.n] = fd;
		seen[c.n] = st;
		c.n++;
	}
	free(seen);
	if (r < 0) {
		chain_release(&c);
		return r;
	}
	/* newest first -> oldest first */
	for (size_t i = 0; i < c.n / 2; i++) {
		int t = c.fds[i];
		c.fds[i] = c.fds[c.n - 1 - i];
		c.fds[c.n - 1 - i] = t;
	}
	*ret = c;
	return 0;
}

/* Where the last `tail` records start: scan backwards, in blocks, for the
 * (tail+1)-th newline from the end (a last line without one is a record
 * being written, not counted). */
static int tail_start(const char *path, const struct chain *c, long tail, size_t *ret_file,
		      off_t *ret_off, husk_error **err)
{
	cleanup_free char *blk = malloc(READ_BLOCK);
	if (!blk)
		return husk_fail(err, ENOMEM, "read log \"%s\"", path);
	long count = 0;
	for (size_t k = c->n; k-- > 0;) {
		struct stat st;
		if (fstat(c->fds[k], &st) < 0)
			return husk_fail(err, errno, "stat log \"%s\"", path);
		off_t end = st.st_size;
		while (end > 0) {
			size_t m = end < READ_BLOCK ? (size_t)end : READ_BLOCK;
			off_t start = end - (off_t)m;
			ssize_t r = pread(c->fds[k], blk, m, start);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return husk_fail(err, errno, "read log \"%s\"", path);
			if ((size_t)r < m) /* cut off under us: take it as empty */
				break;
			for (size_t i = m; i-- > 0;) {
				if (blk[i] == '\n' && ++count > tail) {
					*ret_file = k;
					*ret_off = start + (off_t)i + 1;
					return 0;
				}
			}
			end = start;
		}
	}
	*ret_file = 0;
	*ret_off = 0;
	return 0;
}

struct reader {
	const char *path;
	const struct husk_log_read_opts *o;
	enum husk_log_driver drv;
	struct line_reader lr;
	bool past_until;
};

/* Emit the whole lines of lr's file up to its end: 0, or emit's non-zero
 * return, or <0 on a read error. */
static int drain(struct reader *rd, husk_error **err)
{
	const struct husk_log_read_opts *o = rd->o;
	if (rd->lr.fd < 0 || rd->past_until)
		return 0;
	for (;;) {
		char *line = NULL;
		size_t n = 0;
		int r = lr_next(&rd->lr, &line, &n);
		if (r < 0)
			return husk_fail(err, -r, "read log \"%s\"", rd->path);
		if (r == 0)
			return 0;
		int stream;
		int64_t t;
		const char *buf;
		size_t len;
		json_t *j;
		if (parse_record(rd->drv, line, n, &stream, &t, &buf, &len, &j) < 0)
			continue; /* malformed: skipped */
		if (o->until_ns && t > o->until_ns) {
			json_decref(j);
			rd->past_until = true;
			return 0;
		}
		r = 0;
		if ((!o->since_ns || t >= o->since_ns) && len > 0)
			r = o->emit(o->ud, stream, t, buf, len);
		json_decref(j);
		if (r != 0)
			return r;
	}
}

/* When PATH is no longer the file being read (rotated), read the rest of
 * it, then the files that came after it, and go on with the new PATH
 * (*moved).  0, or what drain() stopped with. */
static int follow_rotation(struct reader *rd, bool *moved, husk_error **err)
{
	struct stat st;
	*moved = false;
	if (stat(rd->path, &st) < 0)
		return 0; /* between rename and create, or gone: wait */
	if (rd->lr.fd >= 0 && st.st_dev == rd->lr.dev && st.st_ino == rd->lr.ino)
		return 0;
	int r = drain(rd, err);
	if (r != 0)
		return r;
	struct chain c = {0};
	if (chain_open(rd->path, rd->lr.dev, rd->lr.fd >= 0 ? rd->lr.ino : 0, &c, err) < 0)
		return -1;
	for (size_t i = 0; i < c.n && r == 0; i++) {
		lr_reset(&rd->lr, c.fds[i]);
		c.fds[i] = -1;
		*moved = true;
		if (i + 1 < c.n)
			r = drain(rd, err);
	}
	chain_release(&c);
	return r;
}

/* A file cut shorter than what was read (a writer dropping a record it
 * could not finish): go on from its new end. */
static void follow_truncation(struct reader *rd)
{
	struct stat st;
	off_t pos = lseek(rd->lr.fd, 0, SEEK_CUR);
	if (pos >= 0 && fstat(rd->lr.fd, &st) == 0 && st.st_size < pos) {
		lseek(rd->lr.fd, st.st_size, SEEK_SET);
		rd->lr.pos = rd->lr.len = 0;
		rd->lr.skipping = false;
	}
}

static int follow(struct reader *rd, husk_error **err)
{
	const struct husk_log_read_opts *o = rd->o;
	cleanup_close int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd >= 0) {
		/* a watch on the directory sees the file written (IN_MODIFY
		 * on a child), renamed away and created again */
		cleanup_free char *d = strdup(rd->path);
		if (!d || inotify_add_watch(ifd, dirname(d),
					    IN_MODIFY | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO |
						    IN_DELETE | IN_CLOSE_WRITE) < 0) {
			close(ifd);
			ifd = -1; /* polled every 100 ms instead */
		}
	}
	for (;;) {
		/* asked before reading: what was written before it said
		 * done is then read below */
		bool finished = o->done && o->done(o->ud);
		if (rd->lr.fd >= 0)
			follow_truncation(rd);
		int r = drain(rd, err);
		bool moved = false;
		if (r == 0 && !rd->past_until)
			r = follow_rotation(rd, &moved, err);
		if (r != 0 || rd->past_until)
			return r;
		if (moved)
			continue;
		if (finished)
			return 0;
		struct pollfd pfd = {.fd = ifd, .events = POLLIN};
		if (poll(&pfd, ifd >= 0 ? 1 : 0, 100) > 0) {
			char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
			while (read(ifd, ev, sizeof(ev)) > 0)
				;
		}
	}
}

int husk_log_read(const char *path, enum husk_log_driver drv, const struct husk_log_read_opts *o,
		  husk_error **err)
{
	if (drv == HUSK_LOG_NONE)
		return 0;
	if (drv != HUSK_LOG_JSON_FILE && drv != HUSK_LOG_K8S_FILE)
		return husk_fail(err, EINVAL, "read log \"%s\": unknown driver %d", path, (int)drv);
	struct chain c = {0};
	if (chain_open(path, 0, 0, &c, err) < 0)
		return -1;
	struct reader rd = {.path = path, .o = o, .drv = drv, .lr = {.fd = -1}};
	int r = 0;
	size_t first = 0;
	off_t off = 0;
	if (o->tail >= 0 && c.n > 0 && tail_start(path, &c, o->tail, &first, &off, err) < 0) {
		r = -1;
		goto out;
	}
	rd.lr.cap = READ_BLOCK;
	rd.lr.buf = malloc(rd.lr.cap);
	if (!rd.lr.buf) {
		r = husk_fail(err, ENOMEM, "read log \"%s\"", path);
		goto out;
	}
	for (size_t i = first; i < c.n; i++) {
		lr_reset(&rd.lr, c.fds[i]);
		c.fds[i] = -1;
		if (i == first && off > 0 && lseek(rd.lr.fd, off, SEEK_SET) < 0) {
			r = husk_fail(err, errno, "read log \"%s\"", path);
			goto out;
		}
		r = drain(&rd, err);
		if (r != 0 || rd.past_until)
			goto out;
	}
	if (o->follow)
		r = follow(&rd, err);
out:
	lr_reset(&rd.lr, -1);
	free(rd.lr.buf);
	chain_release(&c);
	return r;
}

/* A container's log (see logfile.h): the reader, run by `husk logs`.  It
 * may use more than the writer (logwrite.c), but stays bounded whatever
 * the size of the files: --tail scans backwards in blocks, lines longer
 * than LINE_MAX are skipped. */
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

/* the largest record a reader takes: a json-file record of 16 KiB of
 * control bytes is 96 KiB escaped */
#define RECORD_MAX (1024 * 1024)
#define READ_BLOCK (64 * 1024)

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
		cleanup_free char *p = husk_log_rotated_name(path, i);
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
	bool cut_told;
};

/* the writer stopped at a failed write: told once, if before until */
static void tell_cut(struct reader *rd)
{
	const struct husk_log_read_opts *o = rd->o;
	int errnum;
	int64_t t;
	if (rd->cut_told || !o->cut || !husk_log_cut_get(rd->path, &errnum, &t))
		return;
	if (o->until_ns && t > o->until_ns)
		return;
	rd->cut_told = true;
	o->cut(o->ud, errnum, t);
}

/* Go's url.QueryEscape, which Docker's --details applies to each key and
 * value: letters, digits and -_.~ as they are, space as +, the rest %XX */
static void query_escape(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-_.~", *p))
			fputc(*p, f);
		else if (*p == ' ')
			fputc('+', f);
		else
			fprintf(f, "%%%02X", *p);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A json-file record's attrs as Docker's logs --details prints them:
 * "k=v,k2=v2", keys sorted, "" for none (k8s-file records have none) */
static char *details(json_t *j)
{
	json_t *attrs = json_object_get(j, "attrs");
	size_t n = json_is_object(attrs) ? json_object_size(attrs) : 0;
	cleanup_free const char **keys = calloc(n + 1, sizeof(*keys));
	char *ret = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&ret, &len);
	if (!keys || !f) {
		if (f)
			fclose(f);
		free(ret);
		return strdup("");
	}
	size_t k = 0;
	const char *key;
	json_t *v;
	json_object_foreach (attrs, key, v)
		if (json_is_string(v))
			keys[k++] = key;
	qsort(keys, k, sizeof(*keys), cmp_str);
	for (size_t i = 0; i < k; i++) {
		if (i)
			fputc(',', f);
		query_escape(f, keys[i]);
		fputc('=', f);
		query_escape(f, json_string_value(json_object_get(attrs, keys[i])));
	}
	fclose(f);
	return ret;
}

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
		if ((!o->since_ns || t >= o->since_ns) && len > 0) {
			cleanup_free char *attrs = o->details ? details(j) : NULL;
			r = o->emit(o->ud, stream, t, attrs, buf, len);
		}
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
						    IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB) < 0) {
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
		tell_cut(rd);
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
	if (r == 0)
		tell_cut(&rd);
	lr_reset(&rd.lr, -1);
	free(rd.lr.buf);
	chain_release(&c);
	return r;
}

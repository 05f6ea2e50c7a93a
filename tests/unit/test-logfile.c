/* The container log (src/engine/logfile.c): what the monitor writes in
 * either format reads back as the bytes the process wrote, on the stream
 * it wrote them, through long lines, odd bytes, rotation, --tail,
 * --since/--until and --follow. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "logfile.h"
#include "util.h"

static const enum husk_log_driver drivers[] = {HUSK_LOG_JSON_FILE, HUSK_LOG_K8S_FILE};

/* ---- fixtures ---- */

struct ctx {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/husk-logfile-XXXXXX");
	if (!mkdtemp(c->dir))
		return -1;
	snprintf(c->path, sizeof(c->path), "%s/ctr.log", c->dir);
	*state = c;
	return 0;
}

static void empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	empty_dir(c->dir);
	rmdir(c->dir);
	free(c);
	return 0;
}

/* ---- what a read emits ---- */

struct rec {
	int stream;
	int64_t t;
	char *buf;
	size_t len;
};

struct got {
	struct rec *r;
	size_t n;
	char *out[3]; /* per stream, all bytes; [0]: both, in order */
	size_t out_len[3];
	int stop_after; /* return 7 after that many records (0: never) */
	char *attrs;	/* with details: each record's attrs, then "|" */
	size_t attrs_len;
};

static void append(char **b, size_t *n, const char *s, size_t len)
{
	*b = realloc(*b, *n + len + 1);
	assert_non_null(*b);
	memcpy(*b + *n, s, len);
	*n += len;
	(*b)[*n] = '\0';
}

static int collect(void *ud, int stream, int64_t t, const char *attrs, const char *buf, size_t len)
{
	struct got *g = ud;
	if (attrs) {
		append(&g->attrs, &g->attrs_len, attrs, strlen(attrs));
		append(&g->attrs, &g->attrs_len, "|", 1);
	}
	g->r = realloc(g->r, (g->n + 1) * sizeof(*g->r));
	assert_non_null(g->r);
	struct rec *r = &g->r[g->n++];
	r->stream = stream;
	r->t = t;
	r->buf = malloc(len + 1);
	memcpy(r->buf, buf, len);
	r->buf[len] = '\0';
	r->len = len;
	append(&g->out[0], &g->out_len[0], buf, len);
	append(&g->out[stream], &g->out_len[stream], buf, len);
	if (g->stop_after && g->n == (size_t)g->stop_after)
		return 7;
	return 0;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->r[i].buf);
	free(g->r);
	for (int i = 0; i < 3; i++)
		free(g->out[i]);
	free(g->attrs);
	memset(g, 0, sizeof(*g));
}

static const char *out_of(struct got *g, int i)
{
	return g->out[i] ? g->out[i] : "";
}

static void read_log(const char *path, enum husk_log_driver drv, long tail, int64_t since,
		     int64_t until, struct got *g)
{
	husk_error *err = NULL;
	struct husk_log_read_opts o = {
		.tail = tail, .since_ns = since, .until_ns = until, .emit = collect, .ud = g};
	if (husk_log_read(path, drv, &o, &err) != 0)
		fail_msg("read \"%s\": %s", path, err ? err->msg : "(emit)");
}

static struct husk_log_writer *open_log(const char *path, enum husk_log_driver drv,
					long long max_size, int max_file)
{
	husk_error *err = NULL;
	struct husk_log_writer *w = NULL;
	if (husk_log_open(path, drv, max_size, max_file, &w, &err) < 0)
		fail_msg("open \"%s\": %s", path, err->msg);
	return w;
}

static void write_log(struct husk_log_writer *w, int stream, const char *s, size_t n)
{
	husk_error *err = NULL;
	if (husk_log_write(w, stream, s, n, &err) < 0)
		fail_msg("write: %s", err->msg);
}

static void write_str(struct husk_log_writer *w, int stream, const char *s)
{
	write_log(w, stream, s, strlen(s));
}

static char *slurp(const char *path)
{
	char *s = NULL;
	husk_error *err = NULL;
	if (husk_read_file(path, &s, NULL, &err) < 0)
		fail_msg("%s", err->msg);
	return s;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Every line of a json-file log is a JSON object Docker would read. */
static void assert_json_lines(const char *path)
{
	char *s = slurp(path);
	for (char *line = s, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		json_error_t e;
		json_t *j = json_loadb(line, (size_t)(nl - line), JSON_ALLOW_NUL, &e);
		if (!j)
			fail_msg("not json: %.*s: %s", (int)(nl - line), line, e.text);
		assert_true(json_is_string(json_object_get(j, "log")));
		const char *stream = json_string_value(json_object_get(j, "stream"));
		assert_true(strcmp(stream, "stdout") == 0 || strcmp(stream, "stderr") == 0);
		const char *t = json_string_value(json_object_get(j, "time"));
		assert_non_null(t);
		assert_int_equal(t[strlen(t) - 1], 'Z');
		json_decref(j);
	}
	free(s);
}

/* ---- tests ---- */

static void test_driver_parse(void **state)
{
	(void)state;
	assert_int_equal(husk_log_driver_parse("json-file"), HUSK_LOG_JSON_FILE);
	assert_int_equal(husk_log_driver_parse("k8s-file"), HUSK_LOG_K8S_FILE);
	assert_int_equal(husk_log_driver_parse("none"), HUSK_LOG_NONE);
	assert_int_equal(husk_log_driver_parse("journald"), -1);
	assert_int_equal(husk_log_driver_parse(""), -1);
	assert_int_equal(husk_log_driver_parse(NULL), -1);
}

static void test_round_trip(void **state)
{
	struct ctx *c = *state;
	for (size_t d = 0; d < ARRAY_SIZE(drivers); d++) {
		empty_dir(c->dir);
		struct husk_log_writer *w = open_log(c->path, drivers[d], 0, 1);
		write_str(w, 1, "hello\nworld\n");
		write_str(w, 2, "oops\n");
		write_str(w, 1, "\n");	   /* an empty line */
		write_str(w, 1, "in ");	   /* a line in three writes... */
		write_str(w, 2, "err \r"); /* ...with the other stream between */
		write_str(w, 1, "three ");
		write_str(w, 2, "line\n");
		write_str(w, 1, "writes\nand a tail");
		husk_log_close(w); /* flushes what was left */

		struct stat st;
		assert_int_equal(stat(c->path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);

		struct got g = {0};
		read_log(c->path, drivers[d], -1, 0, 0, &g);
		assert_string_equal(out_of(&g, 1), "hello\nworld\n\nin three writes\nand a tail");
		assert_string_equal(out_of(&g, 2), "oops\nerr \rline\n");
		assert_string_equal(
			out_of(&g, 0),
			"hello\nworld\noops\n\nerr \rline\nin three writes\nand a tail");
		assert_int_equal(g.n, 7);
		for (size_t i = 1; i < g.n; i++)
			assert_true(g.r[i].t >= g.r[i - 1].t);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		assert_true(g.r[0].t > now - 60 * (int64_t)1000000000 && g.r[0].t <= now);
		got_free(&g);

		char *s = slurp(c->path);
		if (drivers[d] == HUSK_LOG_JSON_FILE) {
			assert_json_lines(c->path);
			assert_non_null(strstr(
				s, "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\""));
			assert_non_null(
				strstr(s, "{\"log\":\"err \\rline\\n\",\"stream\":\"stderr\","));
			assert_non_null(
				strstr(s, "{\"log\":\"and a tail\",\"stream\":\"stdout\","));
		} else {
			/* 2026-12-06T19:50:31.123456789+00:00 stdout F hello */
			assert_int_equal(s[4], '-');
			assert_int_equal(s[10], 'T');
			assert_int_equal(s[19], '.');
			assert_memory_equal(s + 29, "+00:00 stdout F hello\n", 22);
			assert_non_null(strstr(s, "+00:00 stdout F \n"));
			assert_non_null(strstr(s, "+00:00 stderr F err \rline\n"));
			assert_non_null(strstr(s, "+00:00 stdout P and a tail\n"));
		}
		free(s);
	}
}

static void test_flush_partial(void **state)
{
	struct ctx *c = *state;
	for (size_t d = 0; d < ARRAY_SIZE(drivers); d++) {
		empty_dir(c->dir);
		struct husk_log_writer *w = open_log(c->path, drivers[d], 0, 1);
		husk_error *err = NULL;
		write_str(w, 1, "prompt> ");
		/* it waits for the rest of its line */
		struct got g = {0};
		read_log(c->path, drivers[d], -1, 0, 0, &g);
		assert_int_equal(g.n, 0);
		got_free(&g);

		assert_int_equal(husk_log_flush(w, &err), 0);
		read_log(c->path, drivers[d], -1, 0, 0, &g);
		assert_int_equal(g.n, 1);
		assert_string_equal(out_of(&g, 1), "prompt> ");
		got_free(&g);

		write_str(w, 1, "ls\n");
		assert_int_equal(husk_log_flush(w, &err), 0); /* nothing waits: no-op */
		husk_log_close(w);
		read_log(c->path, drivers[d], -1, 0, 0, &g);
		assert_int_equal(g.n, 2);
		assert_string_equal(out_of(&g, 1), "prompt> ls\n");
		got_free(&g);
		char *s = slurp(c->path);
		if (drivers[d] == HUSK_LOG_JSON_FILE)
			assert_non_null(strstr(s, "{\"log\":\"prompt\\u003e \",\"stream\""));
		else
			assert_non_null(strstr(s, " stdout P prompt> \n"));
		free(s);
	}
}

/* 40 KiB and a newline: 16 KiB + 16 KiB + 8 KiB, as Docker cuts it,
 * whether it comes in one write or in small ones. */
static void test_long_line(void **state)
{
	struct ctx *c = *state;
	size_t n = 40 * 1024;
	char *line = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		line[i] = (char)('a' + i % 26);
	line[n] = '\n';
	for (size_t d = 0; d < ARRAY_SIZE(drivers); d++) {
		for (int chunked = 0; chunked < 2; chunked++) {
			empty_dir(c->dir);
			struct husk_log_writer *w = open_log(c->path, drivers[d], 0, 1);
			if (chunked) {
				for (size_t off = 0; off < n + 1; off += 1000)
					write_log(w, 2, line + off,
						  n + 1 - off < 1000 ? n + 1 - off : 1000);
			} else {
				write_log(w, 2, line, n + 1);
			}
			husk_log_close(w);

			char *s = slurp(c->path);
			assert_int_equal(count_lines(s), 3);
			free(s);
			if (drivers[d] == HUSK_LOG_JSON_FILE)
				assert_json_lines(c->path);

			struct got g = {0};
			read_log(c->path, drivers[d], -1, 0, 0, &g);
			assert_int_equal(g.n, 3);
			assert_int_equal(g.r[0].len, 16384);
			assert_int_equal(g.r[1].len, 16384);
			assert_int_equal(g.r[2].len, 8192 + 1);
			assert_int_equal(g.r[2].buf[8192], '\n');
			assert_int_equal(g.out_len[2], n + 1);
			assert_memory_equal(g.out[2], line, n + 1);
			assert_null(g.out[1]);
			got_free(&g);
		}
	}
	free(line);

	/* a cut that would split a UTF-8 character moves before it */
	empty_dir(c->dir);
	char *u = malloc(16384 + 8);
	memset(u, 'x', 16383);
	memcpy(u + 16383, "\xc3\xa9", 2); /* é across the 16 KiB mark */
	memcpy(u + 16385, "end\n", 4);
	struct husk_log_writer *w = open_log(c->path, HUSK_LOG_JSON_FILE, 0, 1);
	write_log(w, 1, u, 16389);
	husk_log_close(w);
	struct got g = {0};
	read_log(c->path, HUSK_LOG_JSON_FILE, -1, 0, 0, &g);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].len, 16383);
	assert_int_equal(g.out_len[1], 16389);
	assert_memory_equal(g.out[1], u, 16389);
	got_free(&g);
	free(u);
}

static void test_json_escaping(void **state)
{
	struct ctx *c = *state;
	static const char in[] =
		"say \"hi\" back\\slash\ttab \x01\x1f del\x7f <b>&amp; "
		"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x80\xa8 \xef\xbf\xbd "
		"bad:\xff|\xc3(|\xed\xa0\x80|\xe2\x82|\xc0\xaf|\xf4\x90\x80\x80|\x80"
		" nul:\0!\n";
	static const char want[] = "say \"hi\" back\\slash\ttab \x01\x1f del\x7f <b>&amp; "
				   "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x80\xa8 \xef\xbf\xbd "
				   "bad:\xef\xbf\xbd|\xef\xbf\xbd(|"
				   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
				   "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
				   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd"
				   " nul:\0!\n";
	struct husk_log_writer *w = open_log(c->path, HUSK_LOG_JSON_FILE, 0, 1);
	write_log(w, 1, in, sizeof(in) - 1);
	husk_log_close(w);

	assert_json_lines(c->path);
	char *s = slurp(c->path);
	static const char *const escapes[] = {
		"say \\\"hi\\\" back\\\\slash\\u0009tab \\u0001\\u001f del\x7f "
		"\\u003cb\\u003e\\u0026amp; ",
		"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 \\u2028 \xef\xbf\xbd ",
		"bad:\\ufffd|\\ufffd(|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd|",
		" nul:\\u0000!\\n\",\"stream\":\"stdout\"",
	};
	for (size_t i = 0; i < ARRAY_SIZE(escapes); i++)
		if (!strstr(s, escapes[i]))
			fail_msg("no %s in %s", escapes[i], s);
	free(s);

	struct got g = {0};
	read_log(c->path, HUSK_LOG_JSON_FILE, -1, 0, 0, &g);
	assert_int_equal(g.out_len[1], sizeof(want) - 1);
	assert_memory_equal(g.out[1], want, sizeof(want) - 1);
	got_free(&g);

	/* k8s-file keeps the bytes as they are */
	empty_dir(c->dir);
	w = open_log(c->path, HUSK_LOG_K8S_FILE, 0, 1);
	write_log(w, 1, in, sizeof(in) - 1);
	husk_log_close(w);
	read_log(c->path, HUSK_LOG_K8S_FILE, -1, 0, 0, &g);
	assert_int_equal(g.out_len[1], sizeof(in) - 1);
	assert_memory_equal(g.out[1], in, sizeof(in) - 1);
	got_free(&g);
}

static void test_tail(void **state)
{
	struct ctx *c = *state;
	for (size_t d = 0; d < ARRAY_SIZE(drivers); d++) {
		empty_dir(c->dir);
		struct husk_log_writer *w = open_log(c->path, drivers[d], 0, 1);
		write_str(w, 1, "line1\nline2\n");
		write_str(w, 2, "line3\n");
		write_str(w, 1, "line4\n");
		husk_log_close(w);
		/* the next record passes max_size: line5 starts a new file */
		struct stat st;
		assert_int_equal(stat(c->path, &st), 0);
		w = open_log(c->path, drivers[d], st.st_size + 1, 2);
		write_str(w, 1, "line5\n");
		write_str(w, 1, "a partial one");
		char *p1 = husk_strdup_printf("%s.1", c->path);
		assert_int_equal(access(p1, F_OK), 0);
		char *s = slurp(p1);
		assert_int_equal(count_lines(s), 4);
		free(s);
		free(p1);

		struct got g = {0};
		read_log(c->path, drivers[d], 2, 0, 0, &g);
		assert_string_equal(out_of(&g, 0), "line4\nline5\n");
		got_free(&g);
		read_log(c->path, drivers[d], 3, 0, 0, &g);
		assert_string_equal(out_of(&g, 0), "line3\nline4\nline5\n");
		assert_string_equal(out_of(&g, 2), "line3\n");
		got_free(&g);
		read_log(c->path, drivers[d], 1, 0, 0, &g);
		assert_string_equal(out_of(&g, 0), "line5\n");
		got_free(&g);
		read_log(c->path, drivers[d], 0, 0, 0, &g);
		assert_int_equal(g.n, 0);
		got_free(&g);
		read_log(c->path, drivers[d], 100, 0, 0, &g);
		assert_string_equal(out_of(&g, 0), "line1\nline2\nline3\nline4\nline5\n");
		got_free(&g);

		/* the partial line, once written, is the last record */
		husk_log_close(w);
		read_log(c->path, drivers[d], 2, 0, 0, &g);
		assert_string_equal(out_of(&g, 0), "line5\na partial one");
		got_free(&g);
	}
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000L};
	nanosleep(&ts, NULL);
}

static void test_since_until(void **state)
{
	struct ctx *c = *state;
	for (size_t d = 0; d < ARRAY_SIZE(drivers); d++) {
		empty_dir(c->dir);
		struct husk_log_writer *w = open_log(c->path, drivers[d], 0, 1);
		write_str(w, 1, "one\n");
		sleep_ms(2);
		write_str(w, 1, "two\n");
		sleep_ms(2);
		write_str(w, 1, "three\n");
		husk_log_close(w);

		struct got all = {0};
		read_log(c->path, drivers[d], -1, 0, 0, &all);
		assert_int_equal(all.n, 3);
		int64_t t2 = all.r[1].t;
		assert_true(all.r[0].t < t2 && t2 < all.r[2].t);

		struct got g = {0};
		read_log(c->path, drivers[d], -1, t2, 0, &g);
		assert_string_equal(out_of(&g, 1), "two\nthree\n");
		got_free(&g);
		read_log(c->path, drivers[d], -1, 0, t2, &g);
		assert_string_equal(out_of(&g, 1), "one\ntwo\n");
		got_free(&g);
		read_log(c->path, drivers[d], -1, t2, t2, &g);
		assert_string_equal(out_of(&g, 1), "two\n");
		assert_int_equal(g.r[0].t, t2);
		got_free(&g);
		read_log(c->path, drivers[d], -1, all.r[2].t + 1, 0, &g);
		assert_int_equal(g.n, 0);
		got_free(&g);
		/* --tail picks the last records, then the window applies */
		read_log(c->path, drivers[d], 2, 0, t2, &g);
		assert_string_equal(out_of(&g, 1), "two\n");
		got_free(&g);
		got_free(&all);
	}
}

/* Files written by others: Podman's conmon (local time with its offset),
 * Docker (fewer digits), and lines that are not records. */
static void test_foreign_lines(void **state)
{
	struct ctx *c = *state;
	/* 2023-01-01T09:00:00.5Z */
	const int64_t t0 = 1672563600LL * 1000000000 + 500000000;
	const char *k8s = "2023-01-01T10:00:00.500000000+01:00 stdout F from conmon\n"
			  "garbage\n"
			  "2023-01-01T04:00:00.5-05:00 stderr P part\n"
			  "2023-01-01T09:00:00.500000000Z stdout X bad tag\n"
			  "2023-01-01T09:00:00.500000000Z stdin F bad stream\n"
			  "2023-13-01T09:00:00.500000000Z stdout F bad month\n"
			  "2023-01-01T09:00:00.5Z stderr F ial\n"
			  "2023-01-01T09:00:01Z stdout F\n"
			  "2023-01-01T09:00:01Z stdout F no newline at the end";
	assert_int_equal(husk_write_file(c->path, k8s, strlen(k8s), 0600, NULL), 0);
	struct got g = {0};
	read_log(c->path, HUSK_LOG_K8S_FILE, -1, 0, 0, &g);
	assert_string_equal(out_of(&g, 1), "from conmon\n\n");
	assert_string_equal(out_of(&g, 2), "partial\n");
	assert_int_equal(g.n, 4);
	assert_int_equal(g.r[0].t, t0);
	assert_int_equal(g.r[1].t, t0);
	assert_int_equal(g.r[3].t, t0 + 500000000);
	got_free(&g);

	const char *json =
		"{\"log\":\"docker\\n\",\"stream\":\"stdout\",\"time\":"
		"\"2023-01-01T09:00:00.5Z\"}\n"
		"{\"log\":\"no time\\n\",\"stream\":\"stdout\"}\n"
		"{\"log\":\"cut\n"
		"[1,2]\n"
		"{\"log\":\"\\u00e9\\ud83d\\ude00\\u0000\\n\",\"stream\":\"stderr\",\"time\":"
		"\"2023-01-01T09:00:00.500000001Z\",\"attrs\":{\"a\":\"b\"}}\n"
		"{\"stream\":\"stdout\",\"time\":\"2023-01-01T09:00:00.5Z\"}\n";
	assert_int_equal(husk_write_file(c->path, json, strlen(json), 0600, NULL), 0);
	read_log(c->path, HUSK_LOG_JSON_FILE, -1, 0, 0, &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(out_of(&g, 1), "docker\n");
	assert_int_equal(g.out_len[2], 8);
	assert_memory_equal(g.out[2], "\xc3\xa9\xf0\x9f\x98\x80\0\n", 8);
	assert_int_equal(g.r[0].t, t0);
	assert_int_equal(g.r[1].t, t0 + 1);
	got_free(&g);

	/* emit stops the read with its value */
	g.stop_after = 1;
	husk_error *err = NULL;
	struct husk_log_read_opts o = {.tail = -1, .emit = collect, .ud = &g};
	assert_int_equal(husk_log_read(c->path, HUSK_LOG_JSON_FILE, &o, &err), 7);
	assert_int_equal(g.n, 1);
	got_free(&g);

	/* no log yet: nothing */
	unlink(c->path);
	read_log(c->path, HUSK_LOG_JSON_FILE, -1, 0, 0, &g);
	assert_int_equal(g.n, 0);
}

/* max_file 3: PATH, PATH.1, PATH.2, each under max_size, the newest lines */
static void test_rotation(void **state)
{
	struct ctx *c = *state;
	for (size_t d = 0; d < ARRAY_SIZE(drivers); d++) {
		empty_dir(c->dir);
		const long long max = 300;
		struct husk_log_writer *w = open_log(c->path, drivers[d], max, 3);
		for (int i = 0; i < 100; i++) {
			char line[64];
			snprintf(line, sizeof(line), "line %03d of the rotation test\n", i);
			write_str(w, 1 + i % 2, line);
		}
		husk_log_close(w);
		for (int i = 0; i < 4; i++) {
			char *p = i ? husk_strdup_printf("%s.%d", c->path, i) : strdup(c->path);
			struct stat st;
			if (i < 3) {
				assert_int_equal(stat(p, &st), 0);
				assert_true(st.st_size > 0 && st.st_size <= max);
				assert_int_equal(st.st_mode & 0777, 0600);
			} else {
				assert_int_equal(stat(p, &st), -1);
				assert_int_equal(errno, ENOENT);
			}
			free(p);
		}
		struct got g = {0};
		read_log(c->path, drivers[d], -1, 0, 0, &g);
		assert_true(g.n >= 3 && g.n < 100);
		/* the newest lines, in order, none missing from the first kept */
		for (size_t i = 0; i < g.n; i++) {
			char want[64];
			snprintf(want, sizeof(want), "line %03zu of the rotation test\n",
				 100 - g.n + i);
			assert_string_equal(g.r[i].buf, want);
			assert_int_equal(g.r[i].stream, 1 + (int)((100 - g.n + i) % 2));
		}
		got_free(&g);
	}

	/* max_file 1: the file starts again */
	empty_dir(c->dir);
	struct husk_log_writer *w = open_log(c->path, HUSK_LOG_JSON_FILE, 100, 0);
	write_str(w, 1, "first line of the file\n");
	write_str(w, 1, "second line, over 100 bytes\n");
	husk_log_close(w);
	struct got g = {0};
	read_log(c->path, HUSK_LOG_JSON_FILE, -1, 0, 0, &g);
	assert_string_equal(out_of(&g, 1), "second line, over 100 bytes\n");
	got_free(&g);
	char *p1 = husk_strdup_printf("%s.1", c->path);
	assert_int_equal(access(p1, F_OK), -1);
	free(p1);
}

static bool child_done(void *ud)
{
	pid_t *pid = ud;
	int status;
	if (*pid > 0 && waitpid(*pid, &status, WNOHANG) == *pid) {
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		*pid = 0;
	}
	return *pid == 0;
}

struct follow_ud {
	pid_t pid;
	struct got g;
};

static bool follow_done(void *ud)
{
	return child_done(&((struct follow_ud *)ud)->pid);
}

static int follow_emit(void *ud, int stream, int64_t t, const char *attrs, const char *buf,
		       size_t len)
{
	return collect(&((struct follow_ud *)ud)->g, stream, t, attrs, buf, len);
}

/* A writer in another process, as the monitor is, starts after the
 * reader, writes with pauses, rotates, ends on a partial line; the
 * reader sees every line once, in order. */
static void test_follow(void **state)
{
	struct ctx *c = *state;
	for (size_t d = 0; d < ARRAY_SIZE(drivers); d++) {
		empty_dir(c->dir);
		/* one line before the reader starts, read through --tail */
		struct husk_log_writer *w = open_log(c->path, drivers[d], 400, 3);
		write_str(w, 1, "before\n");
		husk_log_close(w);

		struct follow_ud f = {0};
		f.pid = fork();
		assert_true(f.pid >= 0);
		if (f.pid == 0) {
			sleep_ms(50);
			husk_error *err = NULL;
			if (husk_log_open(c->path, drivers[d], 400, 3, &w, &err) < 0)
				_exit(1);
			for (int i = 0; i < 40; i++) {
				char line[64];
				snprintf(line, sizeof(line), "followed line %02d\n", i);
				if (husk_log_write(w, 1 + i % 2, line, strlen(line), &err) < 0)
					_exit(2);
				if (i % 3 == 0)
					sleep_ms(5);
			}
			if (husk_log_write(w, 1, "the end", 7, &err) < 0 ||
			    husk_log_flush(w, &err) < 0)
				_exit(3);
			husk_log_close(w);
			_exit(0);
		}
		husk_error *err = NULL;
		struct husk_log_read_opts o = {.tail = 1,
					       .follow = true,
					       .done = follow_done,
					       .emit = follow_emit,
					       .ud = &f};
		if (husk_log_read(c->path, drivers[d], &o, &err) != 0)
			fail_msg("follow: %s", err ? err->msg : "(emit)");
		assert_int_equal(f.pid, 0);

		char *want = strdup("before\n");
		size_t want_len = strlen(want);
		for (int i = 0; i < 40; i++) {
			char line[64];
			snprintf(line, sizeof(line), "followed line %02d\n", i);
			append(&want, &want_len, line, strlen(line));
		}
		append(&want, &want_len, "the end", 7);
		assert_string_equal(out_of(&f.g, 0), want);
		free(want);
		/* it did rotate while followed */
		char *p2 = husk_strdup_printf("%s.2", c->path);
		assert_int_equal(access(p2, F_OK), 0);
		free(p2);
		got_free(&f.g);
	}
}

/* follow ends on done() even when nothing is ever written */
static void test_follow_nothing(void **state)
{
	struct ctx *c = *state;
	struct follow_ud f = {0};
	f.pid = fork();
	assert_true(f.pid >= 0);
	if (f.pid == 0) {
		sleep_ms(150);
		_exit(0);
	}
	husk_error *err = NULL;
	struct husk_log_read_opts o = {
		.tail = -1, .follow = true, .done = follow_done, .emit = follow_emit, .ud = &f};
	assert_int_equal(husk_log_read(c->path, HUSK_LOG_K8S_FILE, &o, &err), 0);
	assert_int_equal(f.g.n, 0);
}

static void test_none(void **state)
{
	struct ctx *c = *state;
	husk_error *err = NULL;
	struct husk_log_writer *w = open_log(c->path, HUSK_LOG_NONE, 0, 1);
	write_str(w, 1, "dropped\n");
	write_str(w, 2, "partial");
	assert_int_equal(husk_log_flush(w, &err), 0);
	husk_log_close(w);
	assert_int_equal(access(c->path, F_OK), -1);
	struct got g = {0};
	read_log(c->path, HUSK_LOG_NONE, -1, 0, 0, &g);
	assert_int_equal(g.n, 0);

	/* bad arguments */
	w = NULL;
	assert_true(husk_log_open(c->path, HUSK_LOG_JSON_FILE, 0, 1, &w, &err) == 0);
	assert_true(husk_log_write(w, 3, "x\n", 2, &err) < 0);
	assert_int_equal(err->errnum, EINVAL);
	husk_error_free(err);
	err = NULL;
	husk_log_close(w);
	char *missing = husk_strdup_printf("%s/no/such/dir/log", c->dir);
	assert_true(husk_log_open(missing, HUSK_LOG_JSON_FILE, 0, 1, &w, &err) < 0);
	assert_int_equal(err->errnum, ENOENT);
	husk_error_free(err);
	free(missing);
}

/* PATH-attrs (--log-opt labels=, env=, tag=) goes in each json-file
 * record as Docker's "attrs", read back with details as "k=v,..." sorted
 * and query-escaped; without the file, or with one that is not a single
 * JSON object, records have none (" " before each line with details) */
static void test_attrs(void **state)
{
	struct ctx *c = *state;
	husk_error *err = NULL;
	char *side = husk_strdup_printf("%s-attrs", c->path);
	FILE *f = fopen(side, "w");
	assert_non_null(f);
	fputs("{\"zeta\":\"last\",\"app\":\"a b/c&d\",\"tag\":\"web\"}\n", f);
	fclose(f);
	struct husk_log_writer *w = open_log(c->path, HUSK_LOG_JSON_FILE, 0, 1);
	write_str(w, 1, "one\n");
	write_str(w, 2, "two\n");
	husk_log_close(w);
	char *raw = NULL;
	assert_int_equal(husk_read_file(c->path, &raw, NULL, &err), 0);
	/* Docker's order of the keys in a record */
	assert_non_null(strstr(raw, "{\"log\":\"one\\n\",\"stream\":\"stdout\",\"attrs\":"
				    "{\"zeta\":\"last\",\"app\":\"a b/c&d\",\"tag\":\"web\"},"
				    "\"time\":\""));
	free(raw);
	struct got g = {0};
	struct husk_log_read_opts o = {.tail = -1, .details = true, .emit = collect, .ud = &g};
	assert_int_equal(husk_log_read(c->path, HUSK_LOG_JSON_FILE, &o, &err), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.attrs, "app=a+b%2Fc%26d,tag=web,zeta=last|"
				     "app=a+b%2Fc%26d,tag=web,zeta=last|");
	assert_string_equal(out_of(&g, 0), "one\ntwo\n");
	got_free(&g);
	/* without details: no attrs */
	read_log(c->path, HUSK_LOG_JSON_FILE, -1, 0, 0, &g);
	assert_null(g.attrs);
	got_free(&g);

	/* not one object on one line: ignored, records have none */
	unlink(c->path);
	f = fopen(side, "w");
	fputs("{\"a\":\n\"b\"}", f);
	fclose(f);
	w = open_log(c->path, HUSK_LOG_JSON_FILE, 0, 1);
	write_str(w, 1, "three\n");
	husk_log_close(w);
	o.ud = &g;
	assert_int_equal(husk_log_read(c->path, HUSK_LOG_JSON_FILE, &o, &err), 0);
	assert_string_equal(g.attrs, "|");
	got_free(&g);
	unlink(side);
	free(side);
}

struct cut_seen {
	int recs, cuts, errnum, recs_before_cut;
};

static int count_rec(void *ud, int stream, int64_t t, const char *attrs, const char *buf,
		     size_t len)
{
	(void)attrs;
	(void)stream;
	(void)t;
	(void)buf;
	(void)len;
	((struct cut_seen *)ud)->recs++;
	return 0;
}

static void on_cut(void *ud, int errnum, int64_t t)
{
	struct cut_seen *s = ud;
	(void)t;
	s->cuts++;
	s->errnum = errnum;
	s->recs_before_cut = s->recs;
}

/* Disk full: the write fails with the errno, and so does every one after
 * (the writer stopped); nothing is made beside a device. */
static void test_write_error(void **state)
{
	(void)state;
	husk_error *err = NULL;
	struct husk_log_writer *w = open_log("/dev/full", HUSK_LOG_JSON_FILE, 0, 1);
	assert_true(husk_log_write(w, 1, "lost\n", 5, &err) < 0);
	assert_int_equal(err->errnum, ENOSPC);
	husk_error_free(err);
	err = NULL;
	assert_true(husk_log_write(w, 2, "lost too\n", 9, &err) < 0);
	assert_int_equal(err->errnum, ENOSPC);
	husk_error_free(err);
	husk_log_close(w);
	assert_int_equal(access("/dev/full-cut", F_OK), -1);
}

/* A record cut off by a failed write is removed: the file keeps whole
 * records, the writer stops there (nothing after goes in, even once
 * there is room again) and records the cut, which the reader tells once
 * after the records. */
static void test_write_error_truncates(void **state)
{
	struct ctx *c = *state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		husk_error *err = NULL;
		struct husk_log_writer *w;
		if (husk_log_open(c->path, HUSK_LOG_JSON_FILE, 0, 1, &w, &err) < 0)
			_exit(1);
		if (husk_log_write(w, 1, "kept\n", 5, &err) < 0)
			_exit(2);
		struct stat st;
		struct rlimit rl;
		if (stat(c->path, &st) < 0 || getrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(3);
		struct rlimit small = {.rlim_cur = (rlim_t)st.st_size + 40,
				       .rlim_max = rl.rlim_max};
		if (setrlimit(RLIMIT_FSIZE, &small) < 0)
			_exit(4);
		/* 9000 bytes of '<', 54000 escaped: several write(2)s, the
		 * first of them short; the start of the next line, in the
		 * same write, waits as it would have */
		char *big = malloc(9005);
		memset(big, '<', 9000);
		memcpy(big + 9000, "\nand ", 5);
		if (husk_log_write(w, 1, big, 9005, &err) >= 0 || err->errnum != EFBIG)
			_exit(5);
		free(big);
		husk_error_free(err);
		err = NULL;
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(6);
		if (husk_log_write(w, 1, "after\n", 6, &err) >= 0 || err->errnum != EFBIG)
			_exit(7);
		husk_log_close(w);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_json_lines(c->path);
	int64_t before = (int64_t)time(NULL) * 1000000000;
	struct got g = {0};
	read_log(c->path, HUSK_LOG_JSON_FILE, -1, 0, 0, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(out_of(&g, 0), "kept\n");
	got_free(&g);
	int errnum = 0;
	int64_t t = 0;
	assert_int_equal(husk_log_cut_get(c->path, &errnum, &t), 1);
	assert_int_equal(errnum, EFBIG);
	assert_true(t > before - 60 * 1000000000LL && t <= before + 2000000000LL);
	/* the reader tells it once, after the records; not with an until
	 * before it */
	struct cut_seen seen = {0};
	husk_error *err = NULL;
	struct husk_log_read_opts o = {.tail = -1, .emit = count_rec, .cut = on_cut, .ud = &seen};
	assert_int_equal(husk_log_read(c->path, HUSK_LOG_JSON_FILE, &o, &err), 0);
	assert_int_equal(seen.cuts, 1);
	assert_int_equal(seen.errnum, EFBIG);
	assert_int_equal(seen.recs_before_cut, 1);
	memset(&seen, 0, sizeof(seen));
	o.until_ns = t - 1;
	assert_int_equal(husk_log_read(c->path, HUSK_LOG_JSON_FILE, &o, &err), 0);
	assert_int_equal(seen.cuts, 0);
	/* a log never cut says so */
	char *other = husk_strdup_printf("%s.other", c->path);
	struct husk_log_writer *w = open_log(other, HUSK_LOG_JSON_FILE, 0, 1);
	write_str(w, 1, "fine\n");
	husk_log_close(w);
	assert_int_equal(husk_log_cut_get(other, &errnum, &t), 0);
	unlink(other);
	free(other);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_parse),
		T(test_round_trip),
		T(test_flush_partial),
		T(test_long_line),
		T(test_json_escaping),
		T(test_tail),
		T(test_since_until),
		T(test_foreign_lines),
		T(test_rotation),
		T(test_follow),
		T(test_follow_nothing),
		T(test_none),
		cmocka_unit_test(test_write_error),
		T(test_attrs),
		T(test_write_error_truncates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

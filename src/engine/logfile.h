/* A container's log: what its process wrote to stdout and stderr, kept by
 * its monitor, read back by `husk logs`.
 *
 * Formats, chosen per container (--log-driver):
 *  - json-file (Docker's): one JSON object a line,
 *      {"log":"text\n","stream":"stdout","time":"2026-12-06T19:50:31.123456789Z"}
 *    with Docker's "attrs" object after "stream" when the file PATH-attrs
 *    holds one (--log-opt labels=, env=, tag=...: written at create, read
 *    by the writer when it opens the log);
 *  - k8s-file (Podman's, CRI's): "2026-12-06T19:50:31.123456789+00:00 stdout F text"
 *    (P for a partial line, F for the end of one);
 *  - none: nothing kept.
 * A line longer than 16 KiB is cut into partial records, as Docker does.
 * Rotation (--log-opt max-size=, max-file=): when the file would pass
 * max_size it is renamed to PATH.1 (PATH.1 to PATH.2 ..., the oldest
 * dropped) and a new one started; max_file counts the current file.
 * A write that fails (the log's filesystem full: ENOSPC, EDQUOT, EFBIG)
 * stops the writer: the file keeps the whole records written before,
 * nothing after goes in, and the cut is recorded with its errno and time
 * ("ERRNO TIME_NS"), in the log's xattr user.husk.log-cut, which needs no
 * data block, or where that cannot be set in a file PATH-cut (empty if
 * even its content does not fit); the reader tells it (cut in
 * husk_log_read_opts). */
#ifndef HUSK_ENGINE_LOGFILE_H
#define HUSK_ENGINE_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum husk_log_driver { HUSK_LOG_JSON_FILE, HUSK_LOG_K8S_FILE, HUSK_LOG_NONE };

/* "json-file", "k8s-file", "none" -> the driver; -1 when unknown */
int husk_log_driver_parse(const char *s);

struct husk_log_writer;

/* max_size 0: no rotation; max_file < 1 is taken as 1 */
int husk_log_open(const char *path, enum husk_log_driver drv, long long max_size, int max_file,
		  struct husk_log_writer **ret, husk_error **err);
/* Bytes as the process wrote them on stream 1 (stdout) or 2 (stderr);
 * a partial line waits for the rest (or for husk_log_flush). */
int husk_log_write(struct husk_log_writer *w, int stream, const char *buf, size_t len,
		   husk_error **err);
/* Write out partial lines (the process ended). */
int husk_log_flush(struct husk_log_writer *w, husk_error **err);
void husk_log_close(struct husk_log_writer *w);

/* Was the log at path cut by a failed write?  1 with its errno (0 when
 * unknown) and when (Unix ns, 0 when unknown), else 0. */
int husk_log_cut_get(const char *path, int *ret_errnum, int64_t *ret_time_ns);

/* PATH for i == 0, PATH.i for the i-th rotated file (writer and reader) */
char *husk_log_rotated_name(const char *path, int i);

struct husk_log_read_opts {
	long tail;	  /* the last N lines only; -1: all */
	int64_t since_ns; /* 0: from the start (Unix time in ns) */
	int64_t until_ns; /* 0: no end */
	bool follow;	  /* after the end, wait for more until done() */
	/* with follow: true once nothing more will be written (the
	 * container ended); polled at least every 100 ms */
	bool (*done)(void *ud);
	/* with details: each record's attrs in emit, as Docker's logs
	 * --details prints them */
	bool details;
	/* one record: stream 1 or 2, its time, its bytes (with the newline of
	 * a full line); with details, its attrs as "k=v,k2=v2" (keys sorted,
	 * both URL-query escaped; "" for none), else NULL; a non-zero return
	 * stops the read and is returned */
	int (*emit)(void *ud, int stream, int64_t time_ns, const char *attrs, const char *buf,
		    size_t len);
	/* the log was cut (husk_log_cut_get) before until_ns: called once,
	 * after the records, when the read ends (or with follow as soon as
	 * the cut is seen); NULL: not told */
	void (*cut)(void *ud, int errnum, int64_t time_ns);
	void *ud;
};

/* Read the log at path, its rotated files first (oldest first). */
int husk_log_read(const char *path, enum husk_log_driver drv, const struct husk_log_read_opts *o,
		  husk_error **err);

#endif

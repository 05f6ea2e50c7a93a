#define _GNU_SOURCE
#include "error.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

static int vfail(husk_error **err, int errnum, bool say_errno, const char *fmt, va_list ap)
{
	if (err) {
		char *m = vformat(fmt, ap);
		husk_error *e = calloc(1, sizeof(*e));
		if (e) {
			e->errnum = errnum;
			if (errnum && m && say_errno) {
				char *full = NULL;
				if (asprintf(&full, "%s: %s", m, strerror(errnum)) >= 0) {
					free(m);
					m = full;
				}
			}
			e->msg = m ? m : strdup("out of memory");
		} else {
			free(m);
		}
		husk_error_free(*err);
		*err = e;
	}
	return errnum > 0 ? -errnum : -1;
}

int husk_fail(husk_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfail(err, errnum, true, fmt, ap);
	va_end(ap);
	return r;
}

int husk_fail_as(husk_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfail(err, errnum, false, fmt, ap);
	va_end(ap);
	return r;
}

int husk_error_wrap(husk_error **err, const char *fmt, ...)
{
	if (!err || !*err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *ctx = vformat(fmt, ap);
	va_end(ap);
	char *full = NULL;
	if (ctx && asprintf(&full, "%s: %s", ctx, (*err)->msg) >= 0) {
		free((*err)->msg);
		(*err)->msg = full;
	}
	free(ctx);
	return (*err)->errnum > 0 ? -(*err)->errnum : -1;
}

void husk_error_free(husk_error *e)
{
	if (!e)
		return;
	free(e->msg);
	free(e);
}

void husk_error_freep(husk_error **e)
{
	if (e) {
		husk_error_free(*e);
		*e = NULL;
	}
}

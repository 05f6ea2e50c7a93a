/* The error contract of libhusk.
 *
 * A function that can fail returns a negative value and, if err is not NULL,
 * fills *err with an errno and a message.  Callers add what they were doing
 * with husk_error_wrap() on the way up; only the CLI prints, once.
 * Messages are lower case, name the subject in quotes, and say what failed
 * first: create container "web": mount "/proc": Operation not permitted */
#ifndef HUSK_ERROR_H
#define HUSK_ERROR_H

#include <stdarg.h>

typedef struct husk_error {
	int errnum; /* errno value, 0 when the failure is not a system error */
	char *msg;  /* full message chain, errno text included */
} husk_error;

/* Set *err from errnum and a printf-style message; returns -1 (or -errnum
 * when errnum != 0) so that `return husk_fail(...)` reads naturally. */
int husk_fail(husk_error **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, without the errno's text in the message: for an errno that
 * says what kind of failure it is (ENOENT: no such container) rather than
 * which system call failed, and for a message relayed whole from another
 * process. */
int husk_fail_as(husk_error **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix *err's message with more context: "ctx: old message". */
int husk_error_wrap(husk_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void husk_error_free(husk_error *e);
void husk_error_freep(husk_error **e);

#endif

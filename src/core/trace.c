#define _GNU_SOURCE
#include "trace.h"

#include <stdarg.h>
#include <stdio.h>

#include "sync.h"

void husk_trace_emit(struct husk_tracer *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	uint64_t d = husk_now_ns() - t->t0;
	if (t->fn)
		t->fn(t->ud, buf, d);
	else if (t->sock >= 0)
		husk_sync_send(t->sock, SYNC_TRACE, 0, d, buf, (size_t)n, -1);
	t->t0 = husk_now_ns();
}

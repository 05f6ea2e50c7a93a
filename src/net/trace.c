/* HUSK_NET_TRACE=FILE: each step of a container's network setup and
 * teardown appended to FILE with the time it took, to see where the
 * milliseconds go (bench/README.md).  Unset, a step costs a branch. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "net-private.h"
#include "util.h"

static int trace_fd = -2; /* -2: not looked at yet */
static uint64_t trace_t0;

bool net_trace_on(void)
{
	if (trace_fd == -2) {
		const char *p = getenv("HUSK_NET_TRACE");
		trace_fd = p && *p ? open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
	}
	return trace_fd >= 0;
}

void net_trace_begin(void)
{
	if (net_trace_on())
		trace_t0 = husk_now_ns();
}

void net_trace_step(const char *fmt, ...)
{
	char step[128], line[192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(step, sizeof(step), fmt, ap);
	va_end(ap);
	uint64_t now = husk_now_ns();
	int n = snprintf(line, sizeof(line), "%d %8.3f ms  %s\n", (int)getpid(),
			 (double)(now - trace_t0) / 1e6, step);
	(void)!write(trace_fd, line, (size_t)n);
	trace_t0 = husk_now_ns();
}

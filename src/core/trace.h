/* --explain: each kernel step reported with the time it took.  When no
 * callback is set every call here is a branch on NULL and nothing else. */
#ifndef HUSK_TRACE_H
#define HUSK_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

typedef void (*husk_trace_fn)(void *ud, const char *step, uint64_t ns);

struct husk_tracer {
	husk_trace_fn fn;
	void *ud;
	int sock; /* in the child: steps go to the parent over the sync socket */
	uint64_t t0;
};

static inline bool husk_trace_on(const struct husk_tracer *t)
{
	return t && (t->fn || t->sock >= 0);
}

static inline void husk_trace_begin(struct husk_tracer *t)
{
	if (husk_trace_on(t))
		t->t0 = husk_now_ns();
}

void husk_trace_emit(struct husk_tracer *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Report the step begun by the last husk_trace_begin. */
#define HUSK_TRACE(t, ...)                                 \
	do {                                               \
		if (husk_trace_on(t))                      \
			husk_trace_emit((t), __VA_ARGS__); \
	} while (0)

#endif

/* What the engine's files share and nobody else uses. */
#ifndef HUSK_ENGINE_PRIVATE_H
#define HUSK_ENGINE_PRIVATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "engine.h"

void husk_engine_rm_rf(const char *dir);
/* A pidfd of pid if it is still the process that started at start, else
 * -1 (also for pid 0: nothing to wait for) */
int husk_pidfd_of(pid_t pid, unsigned long long start);

struct husk_engine;
struct husk_ctr;
/* The container's overlay root mounted (again, after a reboot). */
int husk_engine_prepare_root(struct husk_engine *e, const struct husk_ctr *c, husk_error **err);
/* husk_engine_cleanup, saying whether anonymous volumes go (rm -v): 1
 * yes, 0 no, -1 as the record's --rm says */
int husk_engine_cleanup_volumes(struct husk_engine *e, const char *id, bool remove, int volumes,
				husk_error **err);

#endif

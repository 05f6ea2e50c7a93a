/* linux.intelRdt: the container's resctrl group (Intel RDT, AMD PQoS). */
#ifndef HUSK_INTELRDT_H
#define HUSK_INTELRDT_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

int husk_intelrdt_parse(json_t *obj, struct husk_intelrdt *ret, husk_error **err);
void husk_intelrdt_release(struct husk_intelrdt *r);

/* The mount point of the resctrl filesystem in our mount namespace
 * (malloc'd), or NULL with ENOENT when none is mounted. */
char *husk_resctrl_mount(void);

/* Make (or check) the group runtime-spec 1.3 asks for below the resctrl
 * mount root, write its schemata, make the MON group; *ret_tasks gets the
 * tasks file the container's init goes into.  Undone by
 * husk_intelrdt_remove. */
int husk_intelrdt_setup(const char *root, const struct husk_intelrdt *r, const char *id,
			char **ret_tasks, husk_error **err);
/* The tasks file of an existing setup (for exec), malloc'd. */
char *husk_intelrdt_tasks(const char *root, const struct husk_intelrdt *r, const char *id);
/* Put pid into the tasks file (the group's, or its MON group's). */
int husk_intelrdt_join(const char *tasks, pid_t pid, husk_error **err);
/* At delete: the MON group, and the group when the runtime made it
 * (closID unset); never a closID group. */
void husk_intelrdt_remove(const char *root, const struct husk_intelrdt *r, const char *id);

#endif

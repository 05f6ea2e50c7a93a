/* RUN --mount=... and build --secret, as Docker's reference words them:
 * the specs parsed and checked, with no file touched (build.c mounts
 * them).
 *
 * A --mount value is comma-separated fields (CSV: a field may be quoted),
 * keys in any case: type=bind (the default), cache, tmpfs, secret or ssh;
 * target (dst, destination); source (src); from; id; sharing=shared,
 * private or locked (cache); ro, readonly, rw, readwrite alone or =BOOL;
 * required (secret); mode (octal), uid, gid (cache, secret); size (tmpfs,
 * 64m).  As BuildKit: a bind is read-only unless rw, the others
 * writable; a cache's id is its target; a secret's target is
 * /run/secrets/ID and its id the target's base name when only one is
 * given.  type=ssh is refused by name (husk forwards no ssh agent).
 *
 * A --secret value (husk build): id=ID with src=FILE (source=), or
 * env=VAR, or type=env with src=VAR; neither: the variable named ID. */
#ifndef HUSK_BUILD_RUNMOUNT_H
#define HUSK_BUILD_RUNMOUNT_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

enum husk_rmount_type {
	HUSK_RMOUNT_BIND,
	HUSK_RMOUNT_CACHE,
	HUSK_RMOUNT_TMPFS,
	HUSK_RMOUNT_SECRET,
	HUSK_RMOUNT_SSH,
};

enum husk_rmount_sharing { HUSK_SHARING_SHARED, HUSK_SHARING_PRIVATE, HUSK_SHARING_LOCKED };

struct husk_rmount {
	enum husk_rmount_type type;
	char *target; /* as given: absolute, or relative to WORKDIR; NULL: none */
	char *source; /* NULL: the root of from (bind, cache) */
	char *from;   /* a stage or an image; NULL: the context (bind), none (cache) */
	char *id;     /* cache, secret */
	bool ro;
	bool required; /* secret: a missing one is an error */
	enum husk_rmount_sharing sharing;
	int mode;	/* -1: the default (cache 0755, secret 0400) */
	long long uid;	/* -1: 0 */
	long long gid;	/* -1: 0 */
	long long size; /* tmpfs, bytes; 0: the kernel's default */
};

/* A field's value, its variables expanded (the builder's ARG and ENV) */
typedef int (*husk_rmount_expand)(void *ud, const char *value, char **ret, husk_error **err);

/* One --mount value, each field's value through expand (NULL: taken as
 * it is) once split, as BuildKit expands them; EINVAL with what is wrong,
 * in BuildKit's terms. */
int husk_rmount_parse(const char *spec, husk_rmount_expand expand, void *ud,
		      struct husk_rmount *ret, husk_error **err);
void husk_rmount_release(struct husk_rmount *m);
/* The spec in one canonical form (every field, in a fixed order), for
 * the cache key: the same mount written two ways is one key. */
char *husk_rmount_canonical(const struct husk_rmount *m);
const char *husk_rmount_type_name(enum husk_rmount_type t);

struct husk_secret_src {
	char *id;
	char *file; /* or */
	char *env;
};

int husk_secret_src_parse(const char *spec, struct husk_secret_src *ret, husk_error **err);
void husk_secret_src_release(struct husk_secret_src *s);

#endif

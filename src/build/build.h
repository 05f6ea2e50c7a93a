/* husk build: images from Dockerfiles (and Containerfiles), as Docker's
 * classic builder makes them, with a cache.
 *
 * Each stage is a list of steps over a state (an image config and its
 * layers, not in images.json until the end).  A RUN step is a container
 * of the engine on the overlay of the state's layers; a COPY, ADD or a
 * WORKDIR that makes its dir writes into an overlay of the state mounted
 * by the builder itself; either way the overlay's upper dir becomes the
 * step's layer (husk_store_layer_from_upper) and then, by rename, the
 * unpacked layer (husk_store_adopt_layer), so nothing is unpacked again.
 * The other instructions change the config only (an empty_layer history
 * entry).
 *
 * The builder works in a mount namespace of its own (a slave of the
 * host's), so that every mount it or its steps make goes with it, even
 * when it is killed; the containers of its steps are named
 * husk-build-<build>-<step>, and those of a build that is gone (its
 * <root>/tmp/build-<build> dir no longer locked) are removed by the next
 * build, by `husk builder prune` and by `husk image prune`.
 *
 * A RUN step's --mount (runmount.h) are the engine's volumes of its
 * container: a bind of the context or of a stage's or image's root
 * (read-only; rw through an overlay thrown away after), a cache dir kept
 * under the store root (cachemount.h), a tmpfs, a --secret's file on a
 * tmpfs of the builder's; the mount points made for them go from the
 * step's layer, as BuildKit's "mount stubs".  RUN --network picks the
 * step's network over the build's.
 *
 * The cache: <root>/build-cache/<key>.json, the state after a step, where
 * key = sha256(parent key, the instruction after substitution, and for
 * COPY/ADD a hash of the files copied: names, types, modes, owners,
 * contents and link targets, not times; for a RUN with --mount, each
 * mount's spec and a bind's files hashed the same way, never a secret's
 * content).  An entry is used only while its layers' blobs are in the
 * store. */
#ifndef HUSK_BUILD_H
#define HUSK_BUILD_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "error.h"

enum husk_build_pull { HUSK_BUILD_PULL_MISSING, HUSK_BUILD_PULL_NEVER, HUSK_BUILD_PULL_ALWAYS };

struct husk_build_opts {
	const char *context;	/* a directory; NULL: none, or context_fd */
	int context_fd;		/* >= 0: stdin, a tar (the context) or a Dockerfile */
	const char *dockerfile; /* -f; NULL: Dockerfile or Containerfile in the context */
	const char *const *tags;
	size_t n_tags;
	const char *const *build_args; /* "K=V", or "K": from our environment */
	size_t n_build_args;
	const char *const *labels; /* "K=V" */
	size_t n_labels;
	const char *target;
	bool no_cache;
	bool squash; /* the new layers as one, on the base image's */
	enum husk_build_pull pull;
	enum husk_netmode network; /* NONE, HOST or BRIDGE (the default bridge) */
	/* --secret: "id=ID,src=FILE" or "id=ID,env=VAR" (runmount.h), for
	 * RUN --mount=type=secret; read when the build starts */
	const char *const *secrets;
	size_t n_secrets;
};

enum husk_build_event_kind {
	HUSK_BUILD_STEP,    /* text: "[2/3] STEP 4/9: RUN make" */
	HUSK_BUILD_OUTPUT,  /* data, len: what a RUN step wrote (stdout and stderr) */
	HUSK_BUILD_CACHED,  /* text: the step's cache key */
	HUSK_BUILD_DONE,    /* text: the step's cache key (a step that ran) */
	HUSK_BUILD_COMMIT,  /* text: the first tag, or NULL */
	HUSK_BUILD_TAGGED,  /* text: a tag given to the image */
	HUSK_BUILD_WARNING, /* text */
};

struct husk_build_event {
	enum husk_build_event_kind kind;
	const char *text;
	const char *data;
	size_t len;
};

typedef void (*husk_build_progress)(void *ud, const struct husk_build_event *ev);

/* Build; the image id ("sha256:<hex>") to *ret_id.  Errors are one line:
 * EINVAL for the Dockerfile ("Dockerfile:3: unknown instruction: FORM"),
 * a bad --target, a cycle between stages or a COPY source outside the
 * context; ENOENT for a missing source, image or Dockerfile; a RUN that
 * fails names its command and exit status (errno 0).  Nothing is tagged
 * then; the steps that finished stay in the cache. */
int husk_build(struct husk_engine *e, const struct husk_build_opts *o, husk_build_progress cb,
	       void *ud, char **ret_id, husk_error **err);

/* husk builder prune: every cache entry and RUN --mount=type=cache dir
 * (but those a build is using), then what no image uses. */
int husk_build_prune(struct husk_engine *e, long long *ret_freed, husk_error **err);
/* The cache entries whose layers went (after husk_store_prune), and the
 * containers of builds that are gone. */
void husk_build_cache_tidy(struct husk_engine *e);

#endif

/* The image side of husk: a content-addressed store of blobs, images
 * (name:tag -> manifest) and layers unpacked once, each a directory that
 * an overlay mount stacks.
 *
 * Layout under the store root (default /var/lib/husk, the engine's
 * --root):
 *   blobs/sha256/<hex>        verified while written; never partial
 *   layers/<hex>/             one unpacked layer (diff id), whiteouts as
 *                             overlay whiteouts
 *   images.json               name:tag -> {manifest, config, layers[]},
 *                             changed under flock, replaced atomically
 * Like the core, this never prints or exits. */
#ifndef HUSK_IMAGE_H
#define HUSK_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

typedef struct json_t json_t;
struct husk_store;

struct husk_image {
	char *name;    /* "busybox:latest" */
	char *id;      /* sha256:<hex> of the image config */
	char **layers; /* absolute dirs of the unpacked layers, lowest first */
	size_t n_layers;
	json_t *config;	   /* the OCI image config (owned) */
	long long created; /* unix seconds, 0 if unknown */
	long long size;	   /* bytes of the layers' blobs */
};

int husk_store_open(const char *root, struct husk_store **ret, husk_error **err);
void husk_store_close(struct husk_store *s);
const char *husk_store_root(const struct husk_store *s);

/* "busybox" made from the host's busybox-static (one layer) when not yet
 * in the store; returns 0 when it is there afterwards. */
int husk_store_ensure_busybox(struct husk_store *s, husk_error **err);

/* Load an OCI image layout (directory or tar) or a docker-archive; the
 * names of the images loaded go to *ret_names (NULL-terminated). */
int husk_store_load(struct husk_store *s, const char *path, char ***ret_names, husk_error **err);

/* Find by name[:tag] (tag defaults to latest) or by id prefix. */
int husk_store_find(struct husk_store *s, const char *ref, struct husk_image **ret,
		    husk_error **err);
int husk_store_list(struct husk_store *s, struct husk_image ***ret, size_t *ret_n,
		    husk_error **err);
void husk_image_free(struct husk_image *img);

/* Unpack one layer tar (gzip, zstd or plain) into dir, refusing entries
 * that would write outside it (absolute names, "..", through a symlink,
 * hardlinks to outside); whiteouts become overlay whiteouts. */
int husk_layer_unpack(const char *tar_path, const char *dir, husk_error **err);
/* The same, also giving the sha256 of the uncompressed tar (its diff id,
 * "sha256:<hex>", malloc'd) when ret_diff_id is not NULL. */
int husk_layer_unpack_digest(const char *tar_path, const char *dir, char **ret_diff_id,
			     husk_error **err);

/* Blobs.  want: the expected "sha256:<hex>" or NULL; a mismatch is an
 * error naming the blob and both digests, and nothing is stored.  The
 * digest stored goes to *ret_digest (malloc'd) when not NULL. */
int husk_store_put_blob(struct husk_store *s, const void *buf, size_t len, const char *want,
			char **ret_digest, husk_error **err);
int husk_store_put_blob_file(struct husk_store *s, const char *path, const char *want,
			     char **ret_digest, husk_error **err);
int husk_store_put_blob_fd(struct husk_store *s, int fd, const char *want, const char *what,
			   char **ret_digest, husk_error **err);
/* <root>/blobs/sha256/<hex> (malloc'd), NULL for a malformed digest. */
char *husk_store_blob_path(const struct husk_store *s, const char *digest);

/* A rootfs tar (plain, gzip or zstd) as a one-layer image called name. */
int husk_store_import(struct husk_store *s, const char *tar_path, const char *name,
		      husk_error **err);
/* Forget a name; its blobs and layers stay until husk_store_prune. */
int husk_store_remove(struct husk_store *s, const char *name, husk_error **err);
/* Remove every blob and unpacked layer that no image name refers to. */
int husk_store_prune(struct husk_store *s, long long *ret_freed, husk_error **err);

#endif

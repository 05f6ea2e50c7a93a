/* Shared between the files of the image side, not exported: the store's
 * struct, blobs written while hashed, and safe path helpers. */
#ifndef HUSK_IMAGE_PRIVATE_H
#define HUSK_IMAGE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "image.h"

#define HUSK_DIGEST_HEX_LEN 64

/* What one load or pull added to the store (new blobs, newly unpacked
 * layers), so that a failure can take it back; see husk_store_journal. */
struct husk_journal;

struct husk_store {
	char *root;
	struct husk_journal *journal; /* NULL: nothing is recorded */
	int hold;		      /* husk_store_begin's, or -1 */
};

/* A blob being written: a file nobody sees until the digest matched. */
struct husk_blob_writer;

int husk_blob_writer_new(struct husk_store *s, struct husk_blob_writer **ret, husk_error **err);
int husk_blob_writer_write(struct husk_blob_writer *w, const void *buf, size_t len,
			   husk_error **err);
/* From now on the writes (and their hashing) are done by a thread of
 * the writer's own, while the caller makes the next ones: each write is
 * copied into one of a few buffers, and a failure is returned by a later
 * write or by commit.  For large blobs made here (a layer's tar): on two
 * cores the tar of a 100 MB layer is made in about half the time. */
int husk_blob_writer_background(struct husk_blob_writer *w, husk_error **err);
/* Make the blob visible under its digest.  want may be NULL (take what
 * was written); otherwise a mismatch is an error naming both digests and
 * nothing is left.  Frees w in every case. */
int husk_blob_writer_commit(struct husk_blob_writer *w, const char *want, const char *what,
			    char **ret_digest, long long *ret_size, husk_error **err);
void husk_blob_writer_abort(struct husk_blob_writer *w);

/* "sha256:<64 lower-case hex>", anything else refused: a digest becomes a
 * path component, so it must never carry a '/' or "..". */
bool husk_digest_valid(const char *digest);
/* The hex part of a valid digest. */
const char *husk_digest_hex(const char *digest);

/* Open relpath inside dirfd, never leaving it (RESOLVE_IN_ROOT). */
int husk_open_in(int dirfd, const char *relpath, int flags, husk_error **err);

/* Open (creating) path and flock(op) it, waiting through EINTR; the fd,
 * or -1 with an error naming the file. */
int husk_lock_file(const char *path, int op, husk_error **err);

/* images.json: read (an empty index when there is none yet; malformed
 * JSON is an error naming the file) and replaced atomically.  Changes are
 * made under the index lock, <root>/images.lock. */
int husk_index_read(struct husk_store *s, json_t **ret, husk_error **err);
int husk_index_write(struct husk_store *s, json_t *j, husk_error **err);

/* rm -rf of a directory this process made (does not follow symlinks). */
int husk_rm_rf(const char *path);

/* A temp dir <root>/tmp/<prefix>-XXXXXX (malloc'd path), kept for the
 * caller while it holds *ret_lockfd; the dirs of that prefix a killed husk
 * left behind are removed first. */
int husk_store_tmpdir(struct husk_store *s, const char *prefix, char **ret_path, int *ret_lockfd,
		      husk_error **err);

/* The store's hold (<root>/gc.lock): whatever adds blobs and layers that
 * no name refers to yet (load, pull, import) holds it shared from its
 * first blob to its registered name; prune, and a failed pull undoing what
 * it added, hold it exclusive, so they never take what another is about
 * to name.  Returns the fd keeping it (close to release); with !wait, a
 * hold another has gives -1 with EWOULDBLOCK. */
int husk_store_hold(struct husk_store *s, bool exclusive, bool wait, husk_error **err);

/* Record, from now on, the blobs and layers this store handle adds (the
 * blob writer and the unpack do).  husk_store_journal_end forgets them, or
 * with undo removes those no image name refers to, and the short links
 * left dangling; only when no other load or pull is under way (the hold
 * taken exclusive without waiting, so the caller must have released its
 * own shared hold), else prune takes them later. */
int husk_store_journal_begin(struct husk_store *s, husk_error **err);
void husk_store_journal_end(struct husk_store *s, bool undo);
void husk_journal_add(struct husk_store *s, bool layer, const char *digest);

/* The digest (borrowed from index) of the linux/amd64 image an image
 * index lists; NULL with an error naming the platforms it does list. */
const char *husk_index_pick(json_t *index, husk_error **err);

/* Put a manifest (already a blob) under name in images.json, unpacking
 * its layers first. */
int husk_store_register(struct husk_store *s, const char *name, const char *manifest_digest,
			husk_error **err);

/* Put config (with o's changes, history entry and author) and a manifest
 * of layers (manifest descriptors) in the store and register the image
 * under o->name, or under the manifest's digest when there is none
 * (commit.c). */
int husk_store_new_image(struct husk_store *s, json_t *config, json_t *layers,
			 const struct husk_commit_opts *o, char **ret_id, husk_error **err);

#endif

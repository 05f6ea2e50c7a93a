/* What a COPY leaves to do once its overlay is unmounted, written in the
 * step's upper dir itself:
 *
 *  - a copied directory's mtime is the source's, set after everything in
 *    it is written (as Docker's untar does), so that the same context
 *    copied again makes the same layer (the same diff id);
 *  - a file that an earlier build of the same COPY (same context, sources
 *    and destination) wrote with the same content, mode, owner, mtime and
 *    size is a hard link to that file in the earlier layer's unpacked dir
 *    instead of a copy.  Unpacked layers are never written to (a
 *    container's changes go to its own upper dir), so sharing inodes
 *    between them is safe, and the layer's tar is the same bytes: a file
 *    is written as a hard link only when it appears twice in one tree.
 *
 * What the earlier COPY wrote is its record, <cache>/copy-<key>: its
 * layer's diff id, then one line a regular file, "SHA256 MODE UID GID
 * MTIME_NS SIZE PATH" (PATH relative to the layer's root).  A link is
 * made only when the record and the file in that layer both say what the
 * copy would write; anything else (no record, the layer gone, a link that
 * fails) is copied as before. */
#ifndef HUSK_BUILD_COPYPLAN_H
#define HUSK_BUILD_COPYPLAN_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"

struct husk_copy_plan;

/* A plan whose record is the file record (it may not exist), the
 * layers' unpacked dirs in layers_dir (<root>/layers); reuse: whether
 * files may be linked, record: whether to keep a record (one source only:
 * each destination path is then written once) */
struct husk_copy_plan *husk_copy_plan_new(const char *record, const char *layers_dir, bool reuse);
void husk_copy_plan_free(struct husk_copy_plan *p);

/* The target dir (tfd) of the source being copied into the merged root
 * dst_root: its path in the upper dir.  false: unknown, nothing more is
 * planned. */
bool husk_copy_plan_target(struct husk_copy_plan *p, int dst_root, int tfd);

/* A regular file at dst (relative to the target) with what the copy
 * gives it; sha NULL when its content hash is not known.  true: it will
 * be a link made by husk_copy_plan_finish (src_root/src copied instead
 * if the link fails), and nothing is to be written now. */
bool husk_copy_plan_file(struct husk_copy_plan *p, const char *dst, const char *src,
			 const struct stat *st, mode_t mode, uid_t uid, gid_t gid,
			 const unsigned char *sha, bool may_link);
/* A directory at dst (relative to the target) whose mtime is mtime */
void husk_copy_plan_dir(struct husk_copy_plan *p, const char *dst, const struct timespec *mtime);

/* After the unmount: the links, then the directories' times, in upper.
 * src_root: where the sources are, for a link that fails. */
int husk_copy_plan_finish(struct husk_copy_plan *p, int src_root, const char *upper,
			  husk_error **err);
/* The record of what was copied, for the next build (errors ignored: a
 * cache); diff_id: the step's layer */
void husk_copy_plan_save(struct husk_copy_plan *p, const char *diff_id);
/* Whether the record at path is of a layer that is still in layers_dir
 * (image prune drops the others) */
bool husk_copy_plan_record_live(const char *path, const char *layers_dir);

#endif

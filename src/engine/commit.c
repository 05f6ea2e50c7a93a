/* Images from containers, and a container's files as one tar: husk commit
 * and husk export.
 *
 * commit makes the container's overlay upper dir, which holds everything
 * it changed, a new layer on top of its image's (the layer's rules are in
 * src/image/tartree.c, the image's in src/image/commit.c).  Like Docker, it
 * freezes a running container for the walk by default, so that the layer
 * is one moment of it.  The three files the engine binds over
 * /etc/{hosts,hostname,resolv.conf} are the engine's, not the container's:
 * the empty files made in the upper dir as their mount points stay out.
 *
 * export writes the merged root as the host sees it: the overlay, without
 * the container's /proc, /sys, /dev or volumes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "engine-private.h"
#include "engine.h"
#include "image.h"
#include "util.h"

static const char *const mount_points[] = {"etc/hosts", "etc/hostname", "etc/resolv.conf", NULL};

static int commit(struct husk_engine *e, struct husk_store *store, const struct husk_ctr *c,
		  const struct husk_commit_opts *o, bool pause, char **ret_id, husk_error **err)
{
	bool paused = false;
	if (pause && c->state == HUSK_CTR_RUNNING) {
		husk_error *perr = NULL;
		if (husk_engine_pause(e, c->id, true, &perr) == 0) {
			paused = true;
		} else if (perr->errnum != ENOTCONN) {
			if (err)
				*err = perr;
			else
				husk_error_free(perr);
			return -1;
		} else {
			husk_error_free(perr); /* it stopped meanwhile: nothing moves */
		}
	}
	cleanup_free char *upper = husk_strdup_printf("%s/containers/%s/upper", e->root, c->id);
	struct husk_layer_info layer = {0};
	int r = husk_store_layer_from_upper(store, upper, mount_points, &layer, err);
	if (paused && husk_engine_pause(e, c->id, false, r < 0 ? NULL : err) < 0 && r == 0)
		r = -1;
	struct husk_commit_opts co = *o;
	co.created_by = c->command;
	co.config = json_object_get(c->docker, "Config");
	cleanup_free char *id = NULL;
	if (r == 0)
		r = husk_store_commit(store, c->image_id ? c->image_id : c->image, &layer, &co, &id,
				      err);
	if (r == 0) {
		/* Docker's: a container's event, naming the image made */
		const char *attrs[] = {"comment", o->message ? o->message : "", "imageID",
				       id,	  o->name ? "imageRef" : NULL,	o->name,
				       NULL};
		husk_engine_event(e, "commit", c->id, c->name, c->image, attrs);
		if (ret_id)
			*ret_id = steal_ptr(id);
	}
	husk_layer_info_release(&layer);
	return r;
}

int husk_engine_commit(struct husk_engine *e, const char *name_or_id,
		       const struct husk_commit_opts *o, bool pause, char **ret_id,
		       husk_error **err)
{
	/* what can be refused is refused before anything is made */
	if (o->name && husk_image_name_check(o->name, err) < 0)
		return -1;
	json_t *scratch = json_object();
	int r = husk_image_config_changes(scratch, o->changes, o->n_changes, err);
	json_decref(scratch);
	if (r < 0)
		return -1;
	struct husk_ctr c;
	if (husk_engine_get(e, name_or_id, &c, err) < 0)
		return -1;
	/* the config it ran with (docker.json), which the image takes */
	struct husk_store *store = NULL;
	r = husk_record_load_docker(e->root, &c, err);
	if (r == 0)
		r = husk_store_open(e->root, &store, err);
	if (r == 0)
		r = husk_store_begin(store, err);
	if (r == 0) {
		r = commit(e, store, &c, o, pause, ret_id, err);
		husk_store_end(store, r < 0);
	}
	husk_store_close(store);
	if (r < 0)
		husk_error_wrap(err, "commit container \"%s\"", name_or_id);
	husk_ctr_release(&c);
	return r < 0 ? -1 : 0;
}

int husk_engine_export(struct husk_engine *e, const char *name_or_id, int out_fd, husk_error **err)
{
	struct husk_ctr c;
	if (husk_engine_get(e, name_or_id, &c, err) < 0)
		return -1;
	cleanup_free char *rootfs = husk_strdup_printf("%s/containers/%s/rootfs", e->root, c.id);
	int r = husk_engine_prepare_root(e, &c, err);
	cleanup_close int fd = r < 0 ? -1 : open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r == 0 && fd < 0)
		r = husk_fail(err, errno, "open \"%s\"", rootfs);
	struct husk_tar_tree_opts to = {0}; /* names as Docker's: "etc/passwd" */
	if (r == 0)
		r = husk_tar_tree_fd(out_fd, fd, &to, err);
	if (r < 0)
		husk_error_wrap(err, "export container \"%s\"", name_or_id);
	husk_ctr_release(&c);
	return r < 0 ? -1 : 0;
}

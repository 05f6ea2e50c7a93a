/* New images made here rather than loaded or pulled: a layer made from a
 * directory (a container's overlay upper dir, later each step of a
 * build), and an image made of a parent, that layer, and a config changed
 * as Docker's commit and import change it.
 *
 * The layer is written once, as a tar straight into the store's hashing
 * blob writer.  It is not compressed: the store keeps blobs as they came,
 * and one made here is read again only on this machine (to unpack it
 * into layers/, to save it) until a push; gzip would cost a commit, and
 * each step of a build, some 20-50 MB/s of one core, and `save` as a
 * docker-archive would inflate it again.  Docker and Podman keep their
 * own layers uncompressed for the same reason.  So its digest is also its
 * diff id, found in the same pass. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image-private.h"
#include "image.h"
#include "lazy.h"
#include "util.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG	"application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER	"application/vnd.oci.image.layer.v1.tar"

void husk_layer_info_release(struct husk_layer_info *l)
{
	if (!l)
		return;
	free(l->digest);
	free(l->diff_id);
	*l = (struct husk_layer_info){0};
}

struct tar_out {
	struct husk_blob_writer *w;
	husk_error *err;
};

static la_ssize_t tar_write(struct archive *a, void *data, const void *buf, size_t len)
{
	(void)a;
	struct tar_out *t = data;
	if (husk_blob_writer_write(t->w, buf, len, &t->err) < 0)
		return -1;
	return (la_ssize_t)len;
}

int husk_store_layer_from_upper(struct husk_store *s, const char *upper_dir,
				const char *const *mount_points, struct husk_layer_info *ret,
				husk_error **err)
{
	if (husk_lazy_archive(err) < 0)
		return -1;
	cleanup_close int fd = open(upper_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "layer of \"%s\"", upper_dir);
	struct tar_out t = {0};
	if (husk_blob_writer_new(s, &t.w, err) < 0)
		return -1;
	/* the files read and made a tar here, written and hashed there */
	if (husk_blob_writer_background(t.w, err) < 0) {
		husk_blob_writer_abort(t.w);
		return -1;
	}
	struct archive *a = archive_write_new();
	struct husk_tar_tree_opts o = {.overlay_upper = true, .mount_points = mount_points};
	int r = 0;
	/* no padding to 10 KiB blocks: the tar ends with its two zero blocks.
	 * Written in blocks of 1 MiB, not 10 KiB: the same bytes, a
	 * hundredth of the writes and hash updates (10,000 for a layer of
	 * 100 MB) */
	if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 1 << 20) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, &t, NULL, tar_write, NULL) != ARCHIVE_OK)
		r = husk_fail(err, ENOMEM, "layer of \"%s\": %s", upper_dir,
			      a ? archive_error_string(a) : "out of memory");
	else
		r = husk_tar_tree(a, fd, &o, err);
	if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
		r = -1;
	if (r < 0 && t.err) {
		/* the writer's failure (a full disk) is the cause */
		husk_error_freep(err);
		if (err)
			*err = steal_ptr(t.err);
	} else if (r < 0 && err && !*err) {
		husk_fail(err, EIO, "layer of \"%s\": %s", upper_dir, archive_error_string(a));
	}
	husk_error_free(t.err);
	if (a)
		archive_write_free(a);
	if (r < 0) {
		husk_blob_writer_abort(t.w);
		return husk_error_wrap(err, "layer of \"%s\"", upper_dir);
	}
	*ret = (struct husk_layer_info){.media_type = MT_OCI_LAYER};
	if (husk_blob_writer_commit(t.w, NULL, upper_dir, &ret->digest, &ret->size, err) < 0)
		return -1;
	ret->diff_id = strdup(ret->digest);
	return 0;
}

static void now_rfc3339(char *buf, size_t n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char sec[32];
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%09ldZ", sec, ts.tv_nsec);
}

static int put_json(struct husk_store *s, json_t *j, char **ret_digest, long long *ret_size,
		    husk_error **err)
{
	cleanup_free char *buf = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (!buf)
		return husk_fail(err, ENOMEM, "json");
	*ret_size = (long long)strlen(buf);
	return husk_store_put_blob(s, buf, strlen(buf), NULL, ret_digest, err);
}

/* Docker's layer media types in an OCI manifest have OCI's names */
static const char *oci_layer_type(const char *mt)
{
	if (!mt || strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar.gzip") == 0)
		return mt ? "application/vnd.oci.image.layer.v1.tar+gzip" : MT_OCI_LAYER;
	if (strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar") == 0)
		return MT_OCI_LAYER;
	return mt;
}

int husk_store_new_image(struct husk_store *s, json_t *config, json_t *layers,
			 const struct husk_commit_opts *o, char **ret_id, husk_error **err)
{
	char created[64];
	now_rfc3339(created, sizeof(created));
	json_t *cc = json_object_get(config, "config");
	if (!json_is_object(cc)) {
		cc = json_object();
		json_object_set_new(config, "config", cc);
	}
	/* what a container ran with, over what its image said */
	static const char *const from_container[] = {"Cmd",	     "Entrypoint", "Env",
						     "WorkingDir",   "User",	   "Labels",
						     "ExposedPorts", "Volumes",	   "StopSignal"};
	for (size_t i = 0; o->config && i < ARRAY_SIZE(from_container); i++) {
		json_t *v = json_object_get(o->config, from_container[i]);
		if (v)
			json_object_set_new(cc, from_container[i], json_deep_copy(v));
	}
	if (husk_image_config_changes(cc, o->changes, o->n_changes, err) < 0)
		return -1;
	json_object_set_new(config, "created", json_string(created));
	if (o->author)
		json_object_set_new(config, "author", json_string(o->author));
	json_t *h = json_pack("{s:s}", "created", created);
	if (o->created_by)
		json_object_set_new(h, "created_by", json_string(o->created_by));
	if (o->author)
		json_object_set_new(h, "author", json_string(o->author));
	if (o->message && *o->message)
		json_object_set_new(h, "comment", json_string(o->message));
	json_t *history = json_object_get(config, "history");
	if (!json_is_array(history)) {
		history = json_array();
		json_object_set_new(config, "history", history);
	}
	json_array_append_new(history, h);
	return husk_store_put_image(s, config, layers, &o->name, o->name ? 1 : 0, ret_id, err);
}

int husk_store_put_image(struct husk_store *s, json_t *config, json_t *layers,
			 const char *const *names, size_t n_names, char **ret_id, husk_error **err)
{
	cleanup_free char *config_d = NULL, *manifest_d = NULL;
	long long config_size = 0, manifest_size = 0;
	if (put_json(s, config, &config_d, &config_size, err) < 0)
		return -1;
	json_t *manifest =
		json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:O}", "schemaVersion", 2, "mediaType",
			  MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG, "digest", config_d,
			  "size", (json_int_t)config_size, "layers", layers);
	int r = put_json(s, manifest, &manifest_d, &manifest_size, err);
	json_decref(manifest);
	/* no name: the image is known by its id, registered (as loads of
	 * unnamed images are) under its manifest's digest */
	if (r == 0 && n_names == 0)
		r = husk_store_register(s, manifest_d, manifest_d, err);
	for (size_t i = 0; r == 0 && i < n_names; i++)
		r = husk_store_register(s, names[i], manifest_d, err);
	if (r < 0)
		return -1;
	if (ret_id)
		*ret_id = steal_ptr(config_d);
	return 0;
}

int husk_store_commit(struct husk_store *s, const char *parent, const struct husk_layer_info *layer,
		      const struct husk_commit_opts *o, char **ret_id, husk_error **err)
{
	if (o->name && husk_image_name_check(o->name, err) < 0)
		return -1;
	struct husk_image *img = NULL;
	json_t *manifest = NULL, *config = NULL, *layers = NULL;
	cleanup_free char *mdigest = NULL, *mpath = NULL, *mtext = NULL;
	int r = -1;
	if (husk_store_find(s, parent, &img, err) < 0 ||
	    husk_store_manifest_digest(s, img->name, &mdigest, err) < 0)
		goto out;
	mpath = husk_store_blob_path(s, mdigest);
	size_t len = 0;
	if (!mpath || husk_read_file(mpath, &mtext, &len, err) < 0)
		goto out;
	manifest = json_loadb(mtext, len, 0, NULL);
	if (!json_is_array(json_object_get(manifest, "layers"))) {
		husk_fail(err, 0, "manifest \"%s\": no layers", mdigest);
		goto out;
	}
	layers = json_array();
	size_t i;
	json_t *l;
	json_array_foreach (json_object_get(manifest, "layers"), i, l) {
		json_t *c = json_deep_copy(l);
		const char *mt = json_string_value(json_object_get(l, "mediaType"));
		json_object_set_new(c, "mediaType", json_string(oci_layer_type(mt)));
		json_array_append_new(layers, c);
	}
	json_array_append_new(layers,
			      json_pack("{s:s,s:s,s:I}", "mediaType", layer->media_type, "digest",
					layer->digest, "size", (json_int_t)layer->size));
	config = json_deep_copy(img->config);
	json_t *rootfs = json_object_get(config, "rootfs");
	json_t *diffs = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(diffs) || json_array_size(diffs) + 1 != json_array_size(layers)) {
		husk_fail(err, 0, "image \"%s\": its config's diff_ids do not match its layers",
			  img->name);
		goto out;
	}
	json_array_append_new(diffs, json_string(layer->diff_id));
	r = husk_store_new_image(s, config, layers, o, ret_id, err);
out:
	if (r < 0)
		husk_error_wrap(err, "commit on \"%s\"", parent);
	husk_image_free(img);
	json_decref(manifest);
	json_decref(config);
	json_decref(layers);
	return r;
}

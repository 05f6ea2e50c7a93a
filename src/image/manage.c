/* Images in and out of the store by hand: import a rootfs tar, remove a
 * name, and prune what no name refers to any more. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image-private.h"
#include "image.h"
#include "util.h"

static int lock_index(struct husk_store *s, husk_error **err)
{
	cleanup_free char *p = husk_strdup_printf("%s/images.lock", s->root);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_fail(err, errno, "open lock \"%s\"", p);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return husk_fail(err, e, "lock \"%s\"", p);
		}
	return fd;
}

static json_t *load_index(struct husk_store *s, husk_error **err)
{
	cleanup_free char *p = husk_strdup_printf("%s/images.json", s->root);
	if (access(p, F_OK) < 0)
		return json_pack("{s:{}}", "images");
	json_error_t je;
	json_t *j = json_load_file(p, 0, &je);
	if (!j || !json_is_object(json_object_get(j, "images"))) {
		json_decref(j);
		husk_fail(err, 0, "\"%s\": bad JSON", p);
		return NULL;
	}
	return j;
}

static int save_index(struct husk_store *s, json_t *j, husk_error **err)
{
	cleanup_free char *p = husk_strdup_printf("%s/images.json", s->root);
	cleanup_free char *text = json_dumps(j, JSON_INDENT(1));
	return husk_write_file_atomic(p, text, strlen(text), 0600, err);
}

int husk_store_import(struct husk_store *s, const char *tar_path, const char *name,
		      husk_error **err)
{
	/* the diff id is the digest of the uncompressed tar: unpack once to
	 * learn it (register unpacks into the store proper) */
	cleanup_free char *tmp = husk_strdup_printf("%s/tmp/import-XXXXXX", s->root);
	if (!mkdtemp(tmp))
		return husk_fail(err, errno, "import: temp dir");
	char *diff = NULL;
	int r = husk_layer_unpack_digest(tar_path, tmp, &diff, err);
	husk_rm_rf(tmp);
	if (r < 0)
		return husk_error_wrap(err, "import \"%s\"", tar_path);
	cleanup_free char *diff_id = diff;
	char *layer = NULL;
	if (husk_store_put_blob_file(s, tar_path, NULL, &layer, err) < 0)
		return husk_error_wrap(err, "import \"%s\"", tar_path);
	cleanup_free char *layer_digest = layer;
	struct stat st;
	if (stat(tar_path, &st) < 0)
		return husk_fail(err, errno, "import \"%s\"", tar_path);
	char created[32];
	time_t now = time(NULL);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json_t *config =
		json_pack("{s:s,s:s,s:s,s:{s:s,s:[s]},s:{s:[s]},s:[{s:s,s:s}]}", "architecture",
			  "amd64", "os", "linux", "created", created, "rootfs", "type", "layers",
			  "diff_ids", diff_id, "config", "Env",
			  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			  "history", "created", created, "created_by", "husk import");
	cleanup_free char *ctext = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(config);
	char *cd = NULL;
	if (husk_store_put_blob(s, ctext, strlen(ctext), NULL, &cd, err) < 0)
		return -1;
	cleanup_free char *config_digest = cd;
	/* a gzip or zstd tar is a compressed layer; plain otherwise */
	const char *mt = "application/vnd.oci.image.layer.v1.tar";
	FILE *f = fopen(tar_path, "re");
	unsigned char magic[4] = {0};
	if (f) {
		if (fread(magic, 1, 4, f) < 2)
			magic[0] = 0;
		fclose(f);
	}
	if (magic[0] == 0x1f && magic[1] == 0x8b)
		mt = "application/vnd.oci.image.layer.v1.tar+gzip";
	else if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
		mt = "application/vnd.oci.image.layer.v1.tar+zstd";
	json_t *manifest =
		json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:[{s:s,s:s,s:I}]}", "schemaVersion", 2,
			  "mediaType", "application/vnd.oci.image.manifest.v1+json", "config",
			  "mediaType", "application/vnd.oci.image.config.v1+json", "digest",
			  config_digest, "size", (json_int_t)strlen(ctext), "layers", "mediaType",
			  mt, "digest", layer_digest, "size", (json_int_t)st.st_size);
	cleanup_free char *mtext = json_dumps(manifest, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(manifest);
	char *md = NULL;
	if (husk_store_put_blob(s, mtext, strlen(mtext), NULL, &md, err) < 0)
		return -1;
	cleanup_free char *manifest_digest = md;
	return husk_store_register(s, name, manifest_digest, err);
}

int husk_store_remove(struct husk_store *s, const char *name, husk_error **err)
{
	cleanup_close int lfd = lock_index(s, err);
	if (lfd < 0)
		return -1;
	json_t *idx = load_index(s, err);
	if (!idx)
		return -1;
	json_t *images = json_object_get(idx, "images");
	cleanup_free char *key = NULL;
	const char *slash = strrchr(name, '/');
	key = strchr(slash ? slash : name, ':') ? strdup(name)
						: husk_strdup_printf("%s:latest", name);
	int r = 0;
	if (!json_object_get(images, key))
		r = husk_fail(err, 0, "no such image: \"%s\"", name);
	else {
		json_object_del(images, key);
		r = save_index(s, idx, err);
	}
	json_decref(idx);
	return r;
}

static void add_hex(json_t *set, const char *digest)
{
	if (digest && strncmp(digest, "sha256:", 7) == 0)
		json_object_set_new(set, digest + 7, json_true());
}

int husk_store_prune(struct husk_store *s, long long *ret_freed, husk_error **err)
{
	cleanup_close int lfd = lock_index(s, err);
	if (lfd < 0)
		return -1;
	json_t *idx = load_index(s, err);
	if (!idx)
		return -1;
	/* what the names still need: manifests, configs, layer blobs and the
	 * unpacked layers (by diff id) */
	json_t *blobs = json_object(), *layers = json_object();
	const char *k;
	json_t *e;
	json_object_foreach (json_object_get(idx, "images"), k, e) {
		add_hex(blobs, json_string_value(json_object_get(e, "manifest")));
		add_hex(blobs, json_string_value(json_object_get(e, "config")));
		size_t i;
		json_t *l;
		json_array_foreach (json_object_get(e, "layers"), i, l) {
			add_hex(blobs, json_string_value(json_object_get(l, "digest")));
			add_hex(layers, json_string_value(json_object_get(l, "diff_id")));
		}
	}
	long long freed = 0;
	static const char *dirs[] = {"blobs/sha256", "layers"};
	for (size_t d = 0; d < 2; d++) {
		cleanup_free char *dir = husk_strdup_printf("%s/%s", s->root, dirs[d]);
		DIR *dp = opendir(dir);
		if (!dp)
			continue;
		struct dirent *de;
		while ((de = readdir(dp))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			json_t *keep = d == 0 ? blobs : layers;
			/* half-made layers (.tmp-*) of a crashed unpack go too */
			if (json_object_get(keep, de->d_name))
				continue;
			cleanup_free char *p = husk_strdup_printf("%s/%s", dir, de->d_name);
			struct stat st;
			if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
				freed += st.st_size;
			husk_rm_rf(p);
		}
		closedir(dp);
	}
	json_decref(blobs);
	json_decref(layers);
	json_decref(idx);
	if (ret_freed)
		*ret_freed = freed;
	return 0;
}

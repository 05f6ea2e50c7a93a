/* `husk load`: an OCI image layout (a directory or a tar of one) or a
 * docker-archive (`docker save`, `podman save`) into the store.
 *
 * Every blob is copied through the verifying writer, so a layout whose
 * files do not match their digests loads nothing under those digests.
 * Files of the input are opened with RESOLVE_IN_ROOT from the layout's
 * directory: a symlink in a hostile archive cannot point the copy at a
 * host file.  A tar is first unpacked, with the same safe unpacker as
 * layers, into a temp dir of the store. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "image-private.h"
#include "image.h"
#include "util.h"

#define MT_OCI_INDEX	  "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST	  "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST	  "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG	  "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER	  "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"

struct loader {
	struct husk_store *s;
	int dirfd;
	const char *path;
	char *base; /* a name for images the input does not name */
	char **names;
	size_t n_names;
};

static int add_name(struct loader *l, const char *name)
{
	char **n = realloc(l->names, (l->n_names + 2) * sizeof(char *));
	if (!n)
		return -ENOMEM;
	l->names = n;
	l->names[l->n_names++] = strdup(name);
	l->names[l->n_names] = NULL;
	return 0;
}

static int read_json_in(struct loader *l, const char *rel, json_t **ret, husk_error **err)
{
	cleanup_close int fd = husk_open_in(l->dirfd, rel, O_RDONLY, err);
	if (fd < 0)
		return -1;
	cleanup_free char *buf = NULL;
	size_t len = 0;
	if (husk_read_fd_all(fd, &buf, &len, err) < 0)
		return husk_error_wrap(err, "\"%s\"", rel);
	json_error_t je;
	*ret = json_loadb(buf, len, 0, &je);
	if (!*ret)
		return husk_fail(err, 0, "\"%s\": bad JSON: %s", rel, je.text);
	return 0;
}

/* Copy blobs/sha256/<hex> of an OCI layout, verifying it. */
static int copy_blob(struct loader *l, const char *digest, husk_error **err)
{
	if (!husk_digest_valid(digest))
		return husk_fail(err, EINVAL, "bad digest \"%s\"", digest ? digest : "(none)");
	cleanup_free char *dst = husk_store_blob_path(l->s, digest);
	struct stat st;
	if (stat(dst, &st) == 0)
		return 0; /* stored blobs were verified when written */
	cleanup_free char *rel = husk_strdup_printf("blobs/sha256/%s", husk_digest_hex(digest));
	cleanup_close int fd = husk_open_in(l->dirfd, rel, O_RDONLY, err);
	if (fd < 0)
		return -1;
	int r = husk_store_put_blob_fd(l->s, fd, digest, rel, NULL, err);
	HUSK_FAULT(engine_load_blob);
	return r;
}

static json_t *read_blob(struct loader *l, const char *digest, husk_error **err)
{
	cleanup_free char *path = husk_store_blob_path(l->s, digest);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	if (!j)
		husk_fail(err, 0, "blob \"%s\": bad JSON: %s", digest, je.text);
	return j;
}

static bool is_index(const char *mt)
{
	return mt && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0);
}

/* From an index, the manifest for linux/amd64. */
const char *husk_index_pick(json_t *index, husk_error **err)
{
	cleanup_free char *offered = strdup("");
	json_t *m;
	size_t i;
	json_array_foreach (json_object_get(index, "manifests"), i, m) {
		json_t *p = json_object_get(m, "platform");
		const char *os = json_string_value(json_object_get(p, "os"));
		const char *arch = json_string_value(json_object_get(p, "architecture"));
		const char *variant = json_string_value(json_object_get(p, "variant"));
		const char *digest = json_string_value(json_object_get(m, "digest"));
		if (os && arch && strcmp(os, "linux") == 0 && strcmp(arch, "amd64") == 0 &&
		    husk_digest_valid(digest) &&
		    !is_index(json_string_value(json_object_get(m, "mediaType"))))
			return digest;
		char *o = husk_strdup_printf("%s%s%s/%s%s%s", offered ? offered : "",
					     offered && *offered ? ", " : "", os ? os : "?",
					     arch ? arch : "?", variant ? "/" : "",
					     variant ? variant : "");
		free(offered);
		offered = o;
	}
	husk_fail(err, 0, "no linux/amd64 image in the index (it has: %s)",
		  offered && *offered ? offered : "nothing");
	return NULL;
}

static char *oci_name(struct loader *l, json_t *desc, const char *manifest)
{
	json_t *ann = json_object_get(desc, "annotations");
	const char *full = json_string_value(json_object_get(ann, "io.containerd.image.name"));
	const char *ref =
		json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
	if (full)
		return strdup(full);
	if (ref && (strchr(ref, '/') || strchr(ref, ':')))
		return strdup(ref);
	if (ref) /* only a tag, as skopeo's oci:DIR:TAG writes */
		return husk_strdup_printf("%s:%s", l->base, ref);
	return strdup(manifest);
}

static int load_oci(struct loader *l, husk_error **err)
{
	json_t *index = NULL;
	if (read_json_in(l, "index.json", &index, err) < 0)
		return -1;
	int ret = -1;
	json_t *desc;
	size_t i;
	json_array_foreach (json_object_get(index, "manifests"), i, desc) {
		const char *digest = json_string_value(json_object_get(desc, "digest"));
		const char *mt = json_string_value(json_object_get(desc, "mediaType"));
		json_t *sub = NULL;
		if (copy_blob(l, digest, err) < 0)
			goto out;
		if (is_index(mt)) {
			sub = read_blob(l, digest, err);
			if (!sub)
				goto out;
			const char *m = husk_index_pick(sub, err);
			if (!m) {
				json_decref(sub);
				husk_error_wrap(err, "index \"%s\"", digest);
				goto out;
			}
			digest = m;
			if (copy_blob(l, digest, err) < 0) {
				json_decref(sub);
				goto out;
			}
		}
		cleanup_free char *mdigest = strdup(digest);
		json_decref(sub);
		json_t *manifest = read_blob(l, mdigest, err);
		if (!manifest)
			goto out;
		int r = copy_blob(l,
				  json_string_value(json_object_get(
					  json_object_get(manifest, "config"), "digest")),
				  err);
		json_t *layer;
		size_t j;
		json_array_foreach (json_object_get(manifest, "layers"), j, layer) {
			if (r == 0)
				r = copy_blob(l,
					      json_string_value(json_object_get(layer, "digest")),
					      err);
		}
		json_decref(manifest);
		cleanup_free char *name = oci_name(l, desc, mdigest);
		if (r < 0 || !name || husk_store_register(l->s, name, mdigest, err) < 0 ||
		    add_name(l, name) < 0)
			goto out;
	}
	ret = 0;
out:
	json_decref(index);
	return ret;
}

/* Copy a file of a docker-archive, named by its path, into a blob. */
static int copy_file(struct loader *l, const char *rel, char **ret_digest, long long *ret_size,
		     bool *ret_gzip, husk_error **err)
{
	if (!rel)
		return husk_fail(err, EINVAL, "manifest.json: a path is missing");
	cleanup_close int fd = husk_open_in(l->dirfd, rel, O_RDONLY, err);
	if (fd < 0)
		return -1;
	struct stat st;
	unsigned char magic[2] = {0};
	if (fstat(fd, &st) < 0)
		return husk_fail(err, errno, "stat \"%s\"", rel);
	if (ret_gzip)
		*ret_gzip = pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
	*ret_size = st.st_size;
	int r = husk_store_put_blob_fd(l->s, fd, NULL, rel, ret_digest, err);
	HUSK_FAULT(engine_load_blob);
	return r;
}

static int load_docker_one(struct loader *l, json_t *m, husk_error **err)
{
	cleanup_free char *config = NULL;
	long long config_size = 0;
	if (copy_file(l, json_string_value(json_object_get(m, "Config")), &config, &config_size,
		      NULL, err) < 0)
		return -1;
	json_t *layers = json_array();
	json_t *layer;
	size_t i;
	json_array_foreach (json_object_get(m, "Layers"), i, layer) {
		cleanup_free char *d = NULL;
		long long size = 0;
		bool gz = false;
		if (copy_file(l, json_string_value(layer), &d, &size, &gz, err) < 0) {
			json_decref(layers);
			return -1;
		}
		json_array_append_new(layers, json_pack("{s:s,s:s,s:I}", "mediaType",
							gz ? MT_OCI_LAYER_GZIP : MT_OCI_LAYER,
							"digest", d, "size", (json_int_t)size));
	}
	/* a docker-archive has no manifest: make the OCI one it implies */
	json_t *manifest =
		json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType",
			  MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG, "digest", config,
			  "size", (json_int_t)config_size, "layers", layers);
	cleanup_free char *buf = manifest ? json_dumps(manifest, JSON_COMPACT) : NULL;
	json_decref(manifest);
	cleanup_free char *mdigest = NULL;
	if (!buf)
		return husk_fail(err, ENOMEM, "manifest");
	if (husk_store_put_blob(l->s, buf, strlen(buf), NULL, &mdigest, err) < 0)
		return -1;
	json_t *tags = json_object_get(m, "RepoTags");
	json_t *tag;
	if (json_array_size(tags) == 0)
		return husk_store_register(l->s, mdigest, mdigest, err) < 0 ||
				       add_name(l, mdigest) < 0
			       ? -1
			       : 0;
	json_array_foreach (tags, i, tag) {
		const char *name = json_string_value(tag);
		if (!name)
			continue;
		if (husk_store_register(l->s, name, mdigest, err) < 0 || add_name(l, name) < 0)
			return -1;
	}
	return 0;
}

static int load_docker(struct loader *l, husk_error **err)
{
	json_t *manifests = NULL;
	if (read_json_in(l, "manifest.json", &manifests, err) < 0)
		return -1;
	int r = json_is_array(manifests) ? 0 : husk_fail(err, 0, "manifest.json: not a list");
	json_t *m;
	size_t i;
	json_array_foreach (manifests, i, m) {
		if (r == 0)
			r = load_docker_one(l, m, err);
	}
	json_decref(manifests);
	return r;
}

static char *base_name(const char *path)
{
	cleanup_free char *copy = strdup(path);
	if (!copy)
		return NULL;
	char *b = basename(copy);
	char *dot = strstr(b, ".tar");
	if (dot && dot != b)
		*dot = '\0';
	return strdup(*b && strcmp(b, "/") != 0 && strcmp(b, ".") != 0 ? b : "image");
}

int husk_store_load(struct husk_store *s, const char *path, char ***ret_names, husk_error **err)
{
	struct loader l = {.s = s, .dirfd = -1, .path = path};
	cleanup_free char *tmp = NULL;
	cleanup_close int tmp_lock = -1, hold = -1;
	int ret = -1;
	struct stat st;
	if (stat(path, &st) < 0) {
		husk_fail(err, errno, "load \"%s\"", path);
		goto out;
	}
	/* blobs and layers without a name until the end: keep prune away */
	hold = husk_store_hold(s, false, true, err);
	if (hold < 0 || husk_store_journal_begin(s, err) < 0)
		goto out;
	l.base = base_name(path);
	const char *dir = path;
	if (!S_ISDIR(st.st_mode)) {
		if (husk_store_tmpdir(s, "load", &tmp, &tmp_lock, err) < 0)
			goto out;
		if (husk_layer_unpack(path, tmp, err) < 0)
			goto out;
		dir = tmp;
	}
	l.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l.dirfd < 0) {
		husk_fail(err, errno, "open \"%s\"", dir);
		goto out;
	}
	if (faccessat(l.dirfd, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		ret = load_oci(&l, err);
	else if (faccessat(l.dirfd, "manifest.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		ret = load_docker(&l, err);
	else
		ret = husk_fail(err, 0, "not an OCI layout or docker-archive");
out:
	if (ret < 0)
		husk_error_wrap(err, "load \"%s\"", path);
	closep_(&l.dirfd);
	if (tmp)
		husk_rm_rf(tmp);
	/* a failure takes back what this load added (its own hold released
	 * first, as the undo wants the store to itself) */
	closep_(&hold);
	husk_store_journal_end(s, ret < 0);
	free(l.base);
	if (ret == 0 && ret_names) {
		if (!l.names)
			l.names = calloc(1, sizeof(char *));
		*ret_names = l.names;
	} else {
		for (size_t i = 0; i < l.n_names; i++)
			free(l.names[i]);
		free(l.names);
	}
	return ret;
}

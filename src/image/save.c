/* `husk save`: images out of the store as one tar, in either format the
 * loader reads.
 *
 * oci-archive: an OCI image layout (oci-layout, index.json, blobs/sha256)
 * whose blobs are the store's own, byte for byte, so the manifest digest
 * and the image id survive the trip.  index.json names each image in
 * org.opencontainers.image.ref.name with its full name, as podman writes
 * it, and in io.containerd.image.name too when the name starts with a
 * registry host (containerd wants a full reference there).
 *
 * docker-archive (`docker save`): manifest.json, repositories, the config
 * as <id>.json and each layer as <diff id>.tar.  Those layers must be the
 * plain tars the diff ids hash, so a layer stored compressed is
 * decompressed with libarchive into an unnamed temp file, hashed on the
 * way and compared with its diff id before it goes out.
 *
 * The tar is written with libarchive into a temp file next to the target,
 * renamed over it at the end: a failure half way leaves no file. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-private.h"
#include "image.h"
#include "lazy.h"
#include "util.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"

/* One image asked for. */
struct save_item {
	char *name;	/* its name in the store */
	bool tagged;	/* asked for by name (not by id): the name goes out */
	char *manifest; /* digest */
	json_t *mjson;	/* the manifest */
	json_t *config; /* the image config */
	char *config_digest;
};

struct saver {
	struct husk_store *s;
	struct archive *a;
	json_t *written; /* entry names already in the tar */
	struct save_item *items;
	size_t n_items;
};

static void items_free(struct save_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].manifest);
		free(v[i].config_digest);
		json_decref(v[i].mjson);
		json_decref(v[i].config);
	}
	free(v);
}

static int read_blob_json_(struct husk_store *s, const char *digest, json_t **ret, husk_error **err)
{
	cleanup_free char *path = husk_store_blob_path(s, digest);
	if (!path)
		return husk_fail(err, EINVAL, "bad digest \"%s\"", digest ? digest : "(none)");
	json_error_t je;
	*ret = json_load_file(path, 0, &je);
	if (!*ret)
		return husk_fail(err, 0, "blob \"%s\": %s", digest, je.text);
	return 0;
}

/* Look every ref up before anything is written: a bad name fails early. */
static int resolve(struct saver *sv, const char *const *refs, size_t n, husk_error **err)
{
	sv->items = calloc(n ? n : 1, sizeof(*sv->items));
	if (!sv->items)
		return husk_fail(err, ENOMEM, "save");
	for (size_t i = 0; i < n; i++) {
		struct save_item *it = &sv->items[sv->n_items++];
		struct husk_image *img = NULL;
		if (husk_store_find(sv->s, refs[i], &img, err) < 0)
			return -1;
		it->name = strdup(img->name);
		husk_image_free(img);
		cleanup_free char *key = husk_image_ref_normalize(refs[i]);
		if (!it->name || !key)
			return husk_fail(err, ENOMEM, "save");
		/* an image loaded without a name is called by its manifest
		 * digest: that is no name to hand on */
		it->tagged = strcmp(key, it->name) == 0 && strncmp(it->name, "sha256:", 7) != 0;
		if (husk_store_manifest_digest(sv->s, it->name, &it->manifest, err) < 0 ||
		    read_blob_json_(sv->s, it->manifest, &it->mjson, err) < 0)
			return husk_error_wrap(err, "image \"%s\"", refs[i]);
		const char *cd = json_string_value(
			json_object_get(json_object_get(it->mjson, "config"), "digest"));
		if (!husk_digest_valid(cd) || !(it->config_digest = strdup(cd)) ||
		    read_blob_json_(sv->s, cd, &it->config, err) < 0) {
			if (!cd || !husk_digest_valid(cd))
				husk_fail(err, 0, "manifest \"%s\": no config", it->manifest);
			return husk_error_wrap(err, "image \"%s\"", refs[i]);
		}
	}
	return 0;
}

/* --- tar entries --- */

static int archive_fail(struct saver *sv, husk_error **err, const char *what)
{
	int e = archive_errno(sv->a);
	return husk_fail(err, e > 0 ? e : 0, "write \"%s\": %s", what,
			 archive_error_string(sv->a) ? archive_error_string(sv->a) : "error");
}

static int add_header(struct saver *sv, const char *name, mode_t type, long long size,
		      husk_error **err)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return husk_fail(err, ENOMEM, "write \"%s\"", name);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)size : 0);
	/* fixed times: the same images give the same tar */
	archive_entry_set_mtime(e, 0, 0);
	int r = archive_write_header(sv->a, e);
	archive_entry_free(e);
	json_object_set_new(sv->written, name, json_true());
	return r == ARCHIVE_OK ? 0 : archive_fail(sv, err, name);
}

static bool written(struct saver *sv, const char *name)
{
	return json_object_get(sv->written, name) != NULL;
}

static int add_dir(struct saver *sv, const char *name, husk_error **err)
{
	return add_header(sv, name, AE_IFDIR, 0, err);
}

static int add_buf(struct saver *sv, const char *name, const char *buf, size_t len,
		   husk_error **err)
{
	if (add_header(sv, name, AE_IFREG, (long long)len, err) < 0)
		return -1;
	if (len && archive_write_data(sv->a, buf, len) != (la_ssize_t)len)
		return archive_fail(sv, err, name);
	return 0;
}

static int add_json(struct saver *sv, const char *name, json_t *j, husk_error **err)
{
	cleanup_free char *text = json_dumps(j, JSON_COMPACT);
	if (!text)
		return husk_fail(err, ENOMEM, "write \"%s\"", name);
	return add_buf(sv, name, text, strlen(text), err);
}

/* The whole of fd, from its start, as the entry name. */
static int add_fd(struct saver *sv, const char *name, int fd, const char *what, husk_error **err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return husk_fail(err, errno, "stat \"%s\"", what);
	if (add_header(sv, name, AE_IFREG, st.st_size, err) < 0)
		return -1;
	const size_t bufsize = 1 << 16;
	cleanup_free char *buf = malloc(bufsize);
	if (!buf)
		return husk_fail(err, ENOMEM, "write \"%s\"", name);
	off_t off = 0;
	while (off < st.st_size) {
		ssize_t n = pread(fd, buf, bufsize, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_fail(err, errno, "read \"%s\"", what);
		if (n == 0) /* shrank under us: the entry would be short */
			return husk_fail(err, EIO, "read \"%s\": shorter than its size", what);
		if (archive_write_data(sv->a, buf, (size_t)n) != n)
			return archive_fail(sv, err, name);
		off += n;
	}
	return 0;
}

static int add_blob(struct saver *sv, const char *name, const char *digest, husk_error **err)
{
	if (written(sv, name))
		return 0;
	cleanup_free char *path = husk_store_blob_path(sv->s, digest);
	if (!path)
		return husk_fail(err, EINVAL, "bad digest \"%s\"", digest ? digest : "(none)");
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "blob \"%s\"", digest);
	return add_fd(sv, name, fd, digest, err);
}

/* --- oci-archive --- */

/* Whether the first component of name is a registry host. */
static bool has_domain(const char *name)
{
	const char *slash = strchr(name, '/');
	if (!slash)
		return false;
	size_t n = (size_t)(slash - name);
	return memchr(name, '.', n) || memchr(name, ':', n) ||
	       (n == 9 && strncmp(name, "localhost", 9) == 0);
}

static int blob_size(struct saver *sv, const char *digest, long long *ret, husk_error **err)
{
	cleanup_free char *path = husk_store_blob_path(sv->s, digest);
	struct stat st;
	if (!path || stat(path, &st) < 0)
		return husk_fail(err, path ? errno : EINVAL, "blob \"%s\"", digest);
	*ret = st.st_size;
	return 0;
}

static int save_oci(struct saver *sv, husk_error **err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	if (add_buf(sv, "oci-layout", layout, strlen(layout), err) < 0 ||
	    add_dir(sv, "blobs/", err) < 0 || add_dir(sv, "blobs/sha256/", err) < 0)
		return -1;
	json_t *manifests = json_array();
	json_t *index =
		json_pack("{s:i,s:s,s:o}", "schemaVersion", 2, "mediaType",
			  "application/vnd.oci.image.index.v1+json", "manifests", manifests);
	int r = index ? 0 : husk_fail(err, ENOMEM, "index.json");
	for (size_t i = 0; r == 0 && i < sv->n_items; i++) {
		struct save_item *it = &sv->items[i];
		json_t *blobs = json_array();
		json_array_append_new(blobs, json_string(it->manifest));
		json_array_append_new(blobs, json_string(it->config_digest));
		size_t k;
		json_t *l;
		json_array_foreach (json_object_get(it->mjson, "layers"), k, l)
			json_array_append(blobs, json_object_get(l, "digest"));
		json_t *d;
		json_array_foreach (blobs, k, d) {
			const char *digest = json_string_value(d);
			if (!husk_digest_valid(digest)) {
				r = husk_fail(err, 0, "image \"%s\": bad digest \"%s\"", it->name,
					      digest ? digest : "(none)");
				break;
			}
			cleanup_free char *entry =
				husk_strdup_printf("blobs/sha256/%s", husk_digest_hex(digest));
			if ((r = add_blob(sv, entry, digest, err)) < 0)
				break;
		}
		json_decref(blobs);
		long long msize = 0;
		if (r < 0 || (r = blob_size(sv, it->manifest, &msize, err)) < 0)
			break;
		const char *mt = json_string_value(json_object_get(it->mjson, "mediaType"));
		json_t *desc = json_pack("{s:s,s:s,s:I}", "mediaType", mt ? mt : MT_OCI_MANIFEST,
					 "digest", it->manifest, "size", (json_int_t)msize);
		if (it->tagged) {
			json_t *ann =
				json_pack("{s:s}", "org.opencontainers.image.ref.name", it->name);
			if (has_domain(it->name))
				json_object_set_new(ann, "io.containerd.image.name",
						    json_string(it->name));
			json_object_set_new(desc, "annotations", ann);
		}
		json_array_append_new(manifests, desc);
	}
	if (r == 0)
		r = add_json(sv, "index.json", index, err);
	json_decref(index);
	return r;
}

/* --- docker-archive --- */

static void hex_of(EVP_MD_CTX *md, char out[HUSK_DIGEST_HEX_LEN + 1])
{
	unsigned char bin[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_DigestFinal_ex(md, bin, &len);
	for (unsigned int i = 0; i < len && i < HUSK_DIGEST_HEX_LEN / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", bin[i]);
}

/* The plain tar of a compressed layer blob, in an unnamed temp file of the
 * store, checked against diff_id. */
static int decompress_layer(struct saver *sv, const char *blob, const char *diff_id,
			    husk_error **err)
{
	cleanup_free char *path = husk_store_blob_path(sv->s, blob);
	cleanup_free char *tmpdir = husk_strdup_printf("%s/tmp", sv->s->root);
	cleanup_close int out = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (out < 0)
		return husk_fail(err, errno, "temp file in \"%s\"", tmpdir);
	struct archive *in = archive_read_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ret = -1;
	if (!in || !md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		husk_fail(err, ENOMEM, "decompress");
		goto out;
	}
	archive_read_support_filter_all(in);
	archive_read_support_format_raw(in);
	struct archive_entry *e;
	if (archive_read_open_filename(in, path, 1 << 16) != ARCHIVE_OK ||
	    archive_read_next_header(in, &e) != ARCHIVE_OK) {
		husk_fail(err, 0, "open: %s", archive_error_string(in));
		goto out;
	}
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		int r = archive_read_data_block(in, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			husk_fail(err, 0, "read: %s", archive_error_string(in));
			goto out;
		}
		EVP_DigestUpdate(md, buf, size);
		int w = husk_write_all(out, buf, size);
		if (w < 0) {
			husk_fail(err, -w, "write temp file");
			goto out;
		}
	}
	char hex[HUSK_DIGEST_HEX_LEN + 1] = "";
	hex_of(md, hex);
	if (strcmp(hex, husk_digest_hex(diff_id)) != 0) {
		husk_fail(err, 0, "diff id mismatch: expected \"%s\", got \"sha256:%s\"", diff_id,
			  hex);
		goto out;
	}
	ret = steal_fd(out);
out:
	if (in)
		archive_read_free(in);
	EVP_MD_CTX_free(md);
	if (ret < 0)
		husk_error_wrap(err, "decompress layer \"%s\"", blob);
	return ret;
}

static int add_docker_layer(struct saver *sv, const char *name, const char *blob,
			    const char *diff_id, husk_error **err)
{
	if (written(sv, name))
		return 0;
	/* a blob whose digest is its diff id is the plain tar already */
	if (strcmp(blob, diff_id) == 0)
		return add_blob(sv, name, blob, err);
	cleanup_close int fd = decompress_layer(sv, blob, diff_id, err);
	if (fd < 0)
		return -1;
	return add_fd(sv, name, fd, blob, err);
}

/* "repo:tag" -> the two halves (the tag after the last '/'). */
static void split_name(const char *name, char **repo, char **tag)
{
	const char *slash = strrchr(name, '/');
	const char *colon = strchr(slash ? slash : name, ':');
	*repo = colon ? strndup(name, (size_t)(colon - name)) : strdup(name);
	*tag = strdup(colon ? colon + 1 : "latest");
}

static int save_docker(struct saver *sv, husk_error **err)
{
	json_t *manifest = json_array(), *repos = json_object();
	int r = manifest && repos ? 0 : husk_fail(err, ENOMEM, "manifest.json");
	for (size_t i = 0; r == 0 && i < sv->n_items; i++) {
		struct save_item *it = &sv->items[i];
		const char *chex = husk_digest_hex(it->config_digest);
		cleanup_free char *cname = husk_strdup_printf("%s.json", chex);
		if ((r = add_blob(sv, cname, it->config_digest, err)) < 0)
			break;
		json_t *ml = json_object_get(it->mjson, "layers");
		json_t *diffs = json_object_get(json_object_get(it->config, "rootfs"), "diff_ids");
		if (json_array_size(ml) != json_array_size(diffs)) {
			r = husk_fail(err, 0, "image \"%s\": layers do not match the diff_ids",
				      it->name);
			break;
		}
		json_t *names = json_array();
		const char *top = NULL;
		for (size_t k = 0; r == 0 && k < json_array_size(ml); k++) {
			const char *blob =
				json_string_value(json_object_get(json_array_get(ml, k), "digest"));
			const char *diff = json_string_value(json_array_get(diffs, k));
			if (!husk_digest_valid(blob) || !husk_digest_valid(diff)) {
				r = husk_fail(err, 0, "image \"%s\": bad layer %zu", it->name, k);
				break;
			}
			top = husk_digest_hex(diff);
			cleanup_free char *lname = husk_strdup_printf("%s.tar", top);
			r = add_docker_layer(sv, lname, blob, diff, err);
			json_array_append_new(names, json_string(lname));
		}
		if (r < 0) {
			json_decref(names);
			husk_error_wrap(err, "image \"%s\"", it->name);
			break;
		}
		/* one entry per image, its names gathered */
		json_t *entry = NULL, *m;
		size_t k;
		json_array_foreach (manifest, k, m) {
			if (strcmp(json_string_value(json_object_get(m, "Config")), cname) == 0)
				entry = m;
		}
		if (!entry) {
			entry = json_pack("{s:s,s:[],s:o}", "Config", cname, "RepoTags", "Layers",
					  names);
			json_array_append_new(manifest, entry);
		} else {
			json_decref(names);
		}
		if (it->tagged) {
			json_t *tags = json_object_get(entry, "RepoTags");
			json_t *t;
			bool have = false;
			json_array_foreach (tags, k, t)
				have |= strcmp(json_string_value(t), it->name) == 0;
			if (!have)
				json_array_append_new(tags, json_string(it->name));
			cleanup_free char *repo = NULL, *tag = NULL;
			split_name(it->name, &repo, &tag);
			if (repo && tag && top) {
				json_t *rt = json_object_get(repos, repo);
				if (!rt)
					json_object_set_new(repos, repo, rt = json_object());
				json_object_set_new(rt, tag, json_string(top));
			}
		}
	}
	if (r == 0)
		r = add_json(sv, "manifest.json", manifest, err);
	if (r == 0 && json_object_size(repos) > 0)
		r = add_json(sv, "repositories", repos, err);
	json_decref(manifest);
	json_decref(repos);
	return r;
}

/* --- the two entry points --- */

int husk_store_save_fd(struct husk_store *s, const char *const *refs, size_t n_refs,
		       enum husk_save_format format, int fd, husk_error **err)
{
	struct saver sv = {.s = s};
	int r = -1;
	if (husk_lazy_archive(err) < 0 || husk_lazy_crypto(err) < 0)
		return -1;
	if (n_refs == 0) {
		husk_fail(err, 0, "save: no image given");
		goto out;
	}
	if (resolve(&sv, refs, n_refs, err) < 0)
		goto out;
	sv.written = json_object();
	sv.a = archive_write_new();
	if (!sv.written || !sv.a) {
		husk_fail(err, ENOMEM, "save");
		goto out;
	}
	if (archive_write_set_format_pax_restricted(sv.a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(sv.a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(sv.a, fd) != ARCHIVE_OK) {
		archive_fail(&sv, err, "archive");
		goto out;
	}
	switch (format) {
	case HUSK_SAVE_OCI_ARCHIVE:
		r = save_oci(&sv, err);
		break;
	case HUSK_SAVE_DOCKER_ARCHIVE:
		r = save_docker(&sv, err);
		break;
	default:
		r = husk_fail(err, 0, "save: unknown format %d", (int)format);
		break;
	}
	if (r == 0 && archive_write_close(sv.a) != ARCHIVE_OK)
		r = archive_fail(&sv, err, "archive");
out:
	if (sv.a)
		archive_write_free(sv.a);
	json_decref(sv.written);
	items_free(sv.items, sv.n_items);
	return r;
}

int husk_store_save(struct husk_store *s, const char *const *refs, size_t n_refs,
		    enum husk_save_format format, const char *path, husk_error **err)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return husk_fail(err, EISDIR, "save to \"%s\"", path);
	cleanup_free char *copy = strdup(path), *copy2 = strdup(path);
	if (!copy || !copy2)
		return husk_fail(err, ENOMEM, "save");
	cleanup_free char *tmp =
		husk_strdup_printf("%s/.%s.tmp-XXXXXX", dirname(copy), basename(copy2));
	cleanup_close int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "save to \"%s\": temp file", path);
	int r = fchmod(fd, 0644) < 0 ? husk_fail(err, errno, "chmod \"%s\"", tmp) : 0;
	if (r == 0)
		r = husk_store_save_fd(s, refs, n_refs, format, fd, err);
	if (r == 0 && fsync(fd) < 0)
		r = husk_fail(err, errno, "fsync \"%s\"", tmp);
	if (r == 0 && rename(tmp, path) < 0)
		r = husk_fail(err, errno, "rename to \"%s\"", path);
	if (r < 0) {
		unlink(tmp);
		return husk_error_wrap(err, "save to \"%s\"", path);
	}
	return 0;
}

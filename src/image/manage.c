/* Images in and out of the store by hand: import a rootfs tar, remove a
 * name, and prune what no name refers to any more. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
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
	return husk_lock_file(p, LOCK_EX, err);
}

int husk_store_hold(struct husk_store *s, bool exclusive, bool wait, husk_error **err)
{
	cleanup_free char *p = husk_strdup_printf("%s/gc.lock", s->root);
	return husk_lock_file(p, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB), err);
}

int husk_store_begin(struct husk_store *s, husk_error **err)
{
	if (s->hold >= 0)
		return husk_fail_as(err, EBUSY, "store \"%s\": a change is already under way",
				    s->root);
	s->hold = husk_store_hold(s, false, true, err);
	if (s->hold < 0)
		return -1;
	if (husk_store_journal_begin(s, err) < 0) {
		closep_(&s->hold);
		return -1;
	}
	return 0;
}

void husk_store_end(struct husk_store *s, bool undo)
{
	if (s->hold < 0)
		return;
	/* the undo wants the store to itself: our shared hold goes first */
	closep_(&s->hold);
	husk_store_journal_end(s, undo);
}

/* A seekable copy of what path gives (a pipe: /dev/stdin), in tmpdir. */
static int spool(const char *path, const char *tmpdir, char **ret, husk_error **err)
{
	cleanup_close int in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return husk_fail(err, errno, "open \"%s\"", path);
	cleanup_free char *out_path = husk_strdup_printf("%s/input", tmpdir);
	cleanup_close int out =
		open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		return husk_fail(err, errno, "create \"%s\"", out_path);
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_fail(err, errno, "read \"%s\"", path);
		if (n == 0)
			break;
		int r = husk_write_all(out, buf, (size_t)n);
		if (r < 0)
			return husk_fail(err, -r, "write \"%s\"", out_path);
	}
	*ret = steal_ptr(out_path);
	return 0;
}

static const char *layer_media_type(const char *tar_path)
{
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
	return mt;
}

static int import(struct husk_store *s, const char *tar_path, const struct husk_commit_opts *o,
		  char **ret_id, husk_error **err)
{
	cleanup_free char *tmp = NULL, *spooled = NULL, *unpacked = NULL;
	cleanup_free char *diff_id = NULL, *layer_digest = NULL;
	cleanup_close int tmp_lock = -1;
	if (husk_store_tmpdir(s, "import", &tmp, &tmp_lock, err) < 0)
		return -1;
	int r = -1;
	struct stat st;
	if (stat(tar_path, &st) < 0) {
		husk_fail(err, errno, "\"%s\"", tar_path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		if (spool(tar_path, tmp, &spooled, err) < 0 || stat(spooled, &st) < 0)
			goto out;
		tar_path = spooled;
	}
	/* the diff id is the digest of the uncompressed tar: unpack once to
	 * learn it, checking the tar (register unpacks into the store) */
	unpacked = husk_strdup_printf("%s/rootfs", tmp);
	if (mkdir(unpacked, 0700) < 0) {
		husk_fail(err, errno, "mkdir \"%s\"", unpacked);
		goto out;
	}
	if (husk_layer_unpack_digest(tar_path, unpacked, &diff_id, err) < 0 ||
	    husk_store_put_blob_file(s, tar_path, NULL, &layer_digest, err) < 0)
		goto out;
	json_t *config =
		json_pack("{s:s,s:s,s:{s:s,s:[s]},s:{s:[s]}}", "architecture", "amd64", "os",
			  "linux", "rootfs", "type", "layers", "diff_ids", diff_id, "config", "Env",
			  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	json_t *layers = json_pack("[{s:s,s:s,s:I}]", "mediaType", layer_media_type(tar_path),
				   "digest", layer_digest, "size", (json_int_t)st.st_size);
	struct husk_commit_opts io = *o;
	if (!io.created_by)
		io.created_by = "husk import";
	r = husk_store_new_image(s, config, layers, &io, ret_id, err);
	json_decref(config);
	json_decref(layers);
out:
	husk_rm_rf(tmp);
	return r;
}

int husk_store_import(struct husk_store *s, const char *tar_path, const struct husk_commit_opts *o,
		      char **ret_id, husk_error **err)
{
	if (o->name && husk_image_name_check(o->name, err) < 0)
		return husk_error_wrap(err, "import \"%s\"", tar_path);
	/* the changes checked before anything is read or stored */
	json_t *scratch = json_object();
	int r = husk_image_config_changes(scratch, o->changes, o->n_changes, err);
	json_decref(scratch);
	if (r < 0 || husk_store_begin(s, err) < 0)
		return husk_error_wrap(err, "import \"%s\"", tar_path);
	r = import(s, tar_path, o, ret_id, err);
	husk_store_end(s, r < 0);
	if (r < 0)
		husk_error_wrap(err, "import \"%s\"", tar_path);
	return r;
}

int husk_store_remove(struct husk_store *s, const char *name, husk_error **err)
{
	cleanup_close int lfd = lock_index(s, err);
	if (lfd < 0)
		return -1;
	json_t *idx = NULL;
	if (husk_index_read(s, &idx, err) < 0)
		return -1;
	json_t *images = json_object_get(idx, "images");
	cleanup_free char *key = husk_image_ref_normalize(name);
	int r = 0;
	if (!json_object_get(images, key))
		r = husk_fail(err, 0, "no such image: \"%s\"", name);
	else {
		json_object_del(images, key);
		r = husk_index_write(s, idx, err);
	}
	json_decref(idx);
	return r;
}

static void add_hex(json_t *set, const char *digest)
{
	if (digest && strncmp(digest, "sha256:", 7) == 0)
		json_object_set_new(set, digest + 7, json_true());
}

/* What the names in the index still need: manifests, configs and layer
 * blobs (by hex) in *ret_blobs, the unpacked layers (by diff id hex) in
 * *ret_layers. */
static void referenced(json_t *idx, json_t **ret_blobs, json_t **ret_layers)
{
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
	*ret_blobs = blobs;
	*ret_layers = layers;
}

/* A short link in l/ whose layer went points nowhere. */
static void remove_dangling_links(struct husk_store *s)
{
	cleanup_free char *ldir = husk_strdup_printf("%s/l", s->root);
	int fd = open(ldir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dp = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	while (dp && (de = readdir(dp))) {
		struct stat st;
		if (de->d_name[0] != '.' && fstatat(fd, de->d_name, &st, 0) < 0 && errno == ENOENT)
			unlinkat(fd, de->d_name, 0);
	}
	if (dp)
		closedir(dp);
	else if (fd >= 0)
		close(fd);
}

struct husk_journal {
	pthread_mutex_t mu; /* layers are unpacked by several threads */
	char **blobs, **layers;
	size_t n_blobs, n_layers;
};

int husk_store_journal_begin(struct husk_store *s, husk_error **err)
{
	struct husk_journal *j = calloc(1, sizeof(*j));
	if (!j)
		return husk_fail(err, ENOMEM, "journal");
	pthread_mutex_init(&j->mu, NULL);
	s->journal = j;
	return 0;
}

void husk_journal_add(struct husk_store *s, bool layer, const char *digest)
{
	struct husk_journal *j = s->journal;
	if (!j || !husk_digest_valid(digest))
		return;
	pthread_mutex_lock(&j->mu);
	if (layer)
		husk_strv_push(&j->layers, &j->n_layers, strdup(digest));
	else
		husk_strv_push(&j->blobs, &j->n_blobs, strdup(digest));
	pthread_mutex_unlock(&j->mu);
}

static void journal_undo(struct husk_store *s, struct husk_journal *j)
{
	cleanup_close int hold = husk_store_hold(s, true, false, NULL);
	if (hold < 0)
		return; /* another load or pull may need them: prune's job */
	cleanup_close int lfd = lock_index(s, NULL);
	json_t *idx = NULL;
	if (lfd < 0 || husk_index_read(s, &idx, NULL) < 0)
		return;
	json_t *blobs = NULL, *layers = NULL;
	referenced(idx, &blobs, &layers);
	for (size_t i = 0; i < j->n_blobs; i++) {
		cleanup_free char *p = husk_store_blob_path(s, j->blobs[i]);
		if (p && !json_object_get(blobs, husk_digest_hex(j->blobs[i])))
			unlink(p);
	}
	for (size_t i = 0; i < j->n_layers; i++) {
		if (json_object_get(layers, husk_digest_hex(j->layers[i])))
			continue;
		cleanup_free char *p =
			husk_strdup_printf("%s/layers/%s", s->root, husk_digest_hex(j->layers[i]));
		husk_rm_rf(p);
	}
	remove_dangling_links(s);
	json_decref(blobs);
	json_decref(layers);
	json_decref(idx);
}

void husk_store_journal_end(struct husk_store *s, bool undo)
{
	struct husk_journal *j = s->journal;
	if (!j)
		return;
	s->journal = NULL;
	if (undo)
		journal_undo(s, j);
	for (size_t i = 0; i < j->n_blobs; i++)
		free(j->blobs[i]);
	for (size_t i = 0; i < j->n_layers; i++)
		free(j->layers[i]);
	free(j->blobs);
	free(j->layers);
	pthread_mutex_destroy(&j->mu);
	free(j);
}

int husk_store_prune(struct husk_store *s, long long *ret_freed, husk_error **err)
{
	/* no load, pull or import is between its first blob and its name */
	cleanup_close int hold = husk_store_hold(s, true, true, err);
	if (hold < 0)
		return -1;
	cleanup_close int lfd = lock_index(s, err);
	if (lfd < 0)
		return -1;
	json_t *idx = NULL;
	if (husk_index_read(s, &idx, err) < 0)
		return -1;
	json_t *blobs = NULL, *layers = NULL;
	referenced(idx, &blobs, &layers);
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
	/* with the hold exclusive nothing is under way: what is in tmp/ was
	 * left by a killed load or pull (partial downloads included), and a
	 * link in l/ whose layer went points nowhere */
	cleanup_free char *tmpdir = husk_strdup_printf("%s/tmp", s->root);
	DIR *dp = opendir(tmpdir);
	struct dirent *de;
	while (dp && (de = readdir(dp))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		cleanup_free char *p = husk_strdup_printf("%s/%s", tmpdir, de->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
			freed += st.st_size;
		husk_rm_rf(p);
	}
	if (dp)
		closedir(dp);
	remove_dangling_links(s);
	json_decref(blobs);
	json_decref(layers);
	json_decref(idx);
	if (ret_freed)
		*ret_freed = freed;
	return 0;
}

/* --- names: normalising, checking, tagging --- */

char *husk_image_ref_normalize(const char *ref)
{
	const char *slash = strrchr(ref, '/');
	if (strchr(slash ? slash : ref, ':') || strchr(ref, '@'))
		return strdup(ref);
	return husk_strdup_printf("%s:latest", ref);
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* A path component of a repository: [a-z0-9]+ with single separators
 * ('.', '_', "__", or any run of '-') between, as in docker's grammar. */
static bool component_valid(const char *c, size_t n)
{
	if (n == 0 || !is_lower_alnum(c[0]) || !is_lower_alnum(c[n - 1]))
		return false;
	for (size_t i = 1; i < n - 1; i++) {
		if (is_lower_alnum(c[i]))
			continue;
		if (c[i] == '.' || c[i] == '_') {
			bool dunder = c[i] == '_' && c[i + 1] == '_';
			size_t next = i + (dunder ? 2 : 1);
			if (next >= n || !is_lower_alnum(c[next]))
				return false;
			i = next - 1;
		} else if (c[i] == '-') {
			while (i < n - 1 && c[i] == '-')
				i++;
			if (!is_lower_alnum(c[i]))
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/* host[:port]: labels of letters, digits and inner '-', dot-separated. */
static bool domain_valid(const char *d, size_t n)
{
	const char *colon = memchr(d, ':', n);
	size_t host = colon ? (size_t)(colon - d) : n;
	if (colon) {
		size_t p = host + 1;
		if (p == n)
			return false;
		for (; p < n; p++)
			if (d[p] < '0' || d[p] > '9')
				return false;
	}
	size_t start = 0;
	for (size_t i = 0; i <= host; i++) {
		if (i < host && d[i] != '.') {
			if (!is_alnum(d[i]) && d[i] != '-')
				return false;
			continue;
		}
		if (i == start || d[start] == '-' || d[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

int husk_image_name_check(const char *name, husk_error **err)
{
	size_t len = strlen(name);
	if (len == 0)
		return husk_fail(err, 0, "invalid image name \"\": empty");
	if (strchr(name, '@'))
		return husk_fail(err, 0, "invalid image name \"%s\": a digest cannot be a tag",
				 name);
	const char *slash = strrchr(name, '/');
	const char *colon = strchr(slash ? slash : name, ':');
	size_t repo_len = colon ? (size_t)(colon - name) : len;
	if (colon) {
		const char *t = colon + 1;
		size_t n = strlen(t);
		bool ok = n > 0 && n <= 128 && (is_alnum(t[0]) || t[0] == '_');
		for (size_t i = 1; ok && i < n; i++)
			ok = is_alnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-';
		if (!ok)
			return husk_fail(err, 0,
					 "invalid image name \"%s\": bad tag \"%s\" (letters, "
					 "digits, '_', '.', '-', at most 128)",
					 name, t);
	}
	if (repo_len > 255)
		return husk_fail(err, 0, "invalid image name \"%s\": longer than 255", name);
	/* the first component is a registry host when it looks like one
	 * (a '.', a ':' or "localhost") and more follow */
	const char *p = name, *end = name + repo_len;
	const char *first_end = memchr(name, '/', repo_len);
	if (first_end) {
		size_t n = (size_t)(first_end - name);
		bool host = memchr(name, '.', n) || memchr(name, ':', n) ||
			    (n == 9 && strncmp(name, "localhost", 9) == 0);
		if (host) {
			if (!domain_valid(name, n))
				return husk_fail(err, 0,
						 "invalid image name \"%s\": bad registry \"%.*s\"",
						 name, (int)n, name);
			p = first_end + 1;
		}
	}
	while (p <= end) {
		const char *e = memchr(p, '/', (size_t)(end - p));
		size_t n = e ? (size_t)(e - p) : (size_t)(end - p);
		if (!component_valid(p, n)) {
			bool upper = false;
			for (size_t i = 0; i < n; i++)
				upper |= p[i] >= 'A' && p[i] <= 'Z';
			return husk_fail(err, 0, "invalid image name \"%s\": %s \"%.*s\"", name,
					 upper ? "repository names must be lower case, not"
					       : "bad path component",
					 (int)n, p);
		}
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

int husk_store_tag(struct husk_store *s, const char *source, const char *target, husk_error **err)
{
	if (husk_image_name_check(target, err) < 0)
		return husk_error_wrap(err, "tag \"%s\"", source);
	struct husk_image *img = NULL;
	if (husk_store_find(s, source, &img, err) < 0)
		return husk_error_wrap(err, "tag");
	cleanup_free char *from = strdup(img->name);
	husk_image_free(img);
	cleanup_free char *to = husk_image_ref_normalize(target);
	if (!from || !to)
		return husk_fail(err, ENOMEM, "tag \"%s\"", source);
	cleanup_close int lfd = lock_index(s, err);
	if (lfd < 0)
		return -1;
	json_t *idx = NULL;
	if (husk_index_read(s, &idx, err) < 0)
		return -1;
	json_t *images = json_object_get(idx, "images");
	/* the source may have gone between the lookup and the lock */
	json_t *entry = json_object_get(images, from);
	int r;
	if (!entry)
		r = husk_fail(err, ENOENT, "tag \"%s\": image \"%s\"", source, from);
	else if (json_object_set_new(images, to, json_deep_copy(entry)) < 0)
		r = husk_fail(err, ENOMEM, "tag \"%s\"", source);
	else
		r = husk_index_write(s, idx, err);
	json_decref(idx);
	return r;
}

int husk_store_manifest_digest(struct husk_store *s, const char *name, char **ret, husk_error **err)
{
	json_t *idx = NULL;
	if (husk_index_read(s, &idx, err) < 0)
		return -1;
	cleanup_free char *key = husk_image_ref_normalize(name);
	json_t *entry = key ? json_object_get(json_object_get(idx, "images"), key) : NULL;
	const char *m = json_string_value(json_object_get(entry, "manifest"));
	int r = 0;
	if (!m)
		r = husk_fail_as(err, ENOENT, "no such image: \"%s\"", name);
	else if (!(*ret = strdup(m)))
		r = husk_fail(err, ENOMEM, "image \"%s\"", name);
	json_decref(idx);
	return r;
}

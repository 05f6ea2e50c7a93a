/* The store: blobs by digest, layers unpacked once, images.json.
 *
 * Three rules keep it consistent when several husk processes load or pull
 * at once, or one is killed half way:
 *  - a blob is written to an unnamed file (O_TMPFILE) while hashed and
 *    linked under its digest only when the digest matches, so a blob that
 *    has a name is complete and correct;
 *  - a layer is unpacked into a temp dir next to layers/<diff id> and
 *    renamed into place, under a lock file per layer, checked again after
 *    taking the lock, so it is unpacked once; the temp dir has a fixed
 *    name per layer, so whoever holds the lock next removes what a killed
 *    unpack left there;
 *  - each layer has a short name, a symlink l/<hex prefix> made with one
 *    symlink(2), so that an overlay of hundreds of layers fits the mount
 *    option page (see layer_link);
 *  - images.json is changed under flock on images.lock and replaced with a
 *    rename; an image is registered after its blobs and layers exist. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "image-private.h"
#include "image.h"
#include "util.h"
#include "lazy.h"

#define MT_OCI_MANIFEST	   "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

/* --- digests --- */

bool husk_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0)
		return false;
	const char *h = d + 7;
	size_t i = 0;
	for (; h[i]; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return false;
	return i == HUSK_DIGEST_HEX_LEN;
}

const char *husk_digest_hex(const char *digest)
{
	return digest + 7;
}

char *husk_store_blob_path(const struct husk_store *s, const char *digest)
{
	if (!husk_digest_valid(digest))
		return NULL;
	return husk_strdup_printf("%s/blobs/sha256/%s", s->root, husk_digest_hex(digest));
}

/* --- blob writer --- */

#define BG_BUFS 4

struct bg_buf {
	char *p;
	size_t len, cap;
};

struct husk_blob_writer {
	struct husk_store *s;
	int fd;
	char *tmp_path; /* only when O_TMPFILE is not supported */
	EVP_MD_CTX *md;
	long long size;
	/* husk_blob_writer_background: a ring of buffers, head filled by
	 * the caller, tail written and hashed by the thread */
	bool bg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct bg_buf ring[BG_BUFS];
	size_t head, tail, queued;
	bool stop;
	int error; /* the thread's errno, once */
};

static int write_now(struct husk_blob_writer *w, const void *buf, size_t len)
{
	int r = husk_write_all(w->fd, buf, len);
	if (r < 0)
		return r;
	EVP_DigestUpdate(w->md, buf, len);
	w->size += (long long)len;
	return 0;
}

static void *bg_main(void *arg)
{
	struct husk_blob_writer *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->queued && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->queued)
			break;
		struct bg_buf *b = &w->ring[w->tail];
		pthread_mutex_unlock(&w->mu);
		int r = w->error ? 0 : write_now(w, b->p, b->len);
		pthread_mutex_lock(&w->mu);
		if (r < 0 && !w->error)
			w->error = -r;
		w->tail = (w->tail + 1) % BG_BUFS;
		w->queued--;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* the thread done with everything queued (and gone); its error */
static int bg_stop(struct husk_blob_writer *w)
{
	if (!w->bg)
		return 0;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	for (size_t i = 0; i < BG_BUFS; i++)
		free(w->ring[i].p);
	w->bg = false;
	return w->error;
}

int husk_blob_writer_background(struct husk_blob_writer *w, husk_error **err)
{
	if (w->bg)
		return 0;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	int e = pthread_create(&w->thread, NULL, bg_main, w);
	if (e) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		return husk_fail(err, e, "start the blob's writer");
	}
	w->bg = true;
	return 0;
}

void husk_blob_writer_abort(struct husk_blob_writer *w)
{
	if (!w)
		return;
	if (w->bg) {
		/* what is queued is not written */
		pthread_mutex_lock(&w->mu);
		if (!w->error)
			w->error = ECANCELED;
		pthread_mutex_unlock(&w->mu);
	}
	bg_stop(w);
	if (w->tmp_path) {
		unlink(w->tmp_path);
		free(w->tmp_path);
	}
	closep_(&w->fd);
	EVP_MD_CTX_free(w->md);
	free(w);
}

int husk_blob_writer_new(struct husk_store *s, struct husk_blob_writer **ret, husk_error **err)
{
	if (husk_lazy_crypto(err) < 0)
		return -1;
	struct husk_blob_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return husk_fail(err, ENOMEM, "new blob");
	w->s = s;
	cleanup_free char *dir = husk_strdup_printf("%s/blobs/sha256", s->root);
	w->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	if (w->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		w->tmp_path = husk_strdup_printf("%s/.tmp-XXXXXX", dir);
		w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
		if (w->fd < 0) {
			free(w->tmp_path);
			w->tmp_path = NULL;
		} else if (fchmod(w->fd, 0644) < 0) {
			int e = errno;
			husk_blob_writer_abort(w);
			return husk_fail(err, e, "chmod blob");
		}
	}
	if (w->fd < 0) {
		int e = errno;
		husk_blob_writer_abort(w);
		return husk_fail(err, e, "new blob in \"%s\"", dir);
	}
	w->md = EVP_MD_CTX_new();
	if (!w->md || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
		husk_blob_writer_abort(w);
		return husk_fail(err, ENOMEM, "sha256");
	}
	*ret = w;
	return 0;
}

int husk_blob_writer_write(struct husk_blob_writer *w, const void *buf, size_t len,
			   husk_error **err)
{
	if (!w->bg) {
		int r = write_now(w, buf, len);
		return r < 0 ? husk_fail(err, -r, "write blob") : 0;
	}
	pthread_mutex_lock(&w->mu);
	while (w->queued == BG_BUFS && !w->error)
		pthread_cond_wait(&w->cv, &w->mu);
	int e = w->error;
	pthread_mutex_unlock(&w->mu);
	if (e)
		return husk_fail(err, e, "write blob");
	/* head is ours until queued counts it */
	struct bg_buf *b = &w->ring[w->head];
	if (b->cap < len) {
		free(b->p);
		b->cap = len;
		b->p = malloc(len);
		if (!b->p)
			abort();
	}
	memcpy(b->p, buf, len);
	b->len = len;
	pthread_mutex_lock(&w->mu);
	w->head = (w->head + 1) % BG_BUFS;
	w->queued++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int husk_blob_writer_commit(struct husk_blob_writer *w, const char *want, const char *what,
			    char **ret_digest, long long *ret_size, husk_error **err)
{
	int e = bg_stop(w);
	if (e) {
		husk_blob_writer_abort(w);
		return husk_fail(err, e, "write blob");
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
	EVP_DigestFinal_ex(w->md, md, &len);
	for (unsigned int i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	cleanup_free char *got = husk_strdup_printf("sha256:%s", hex);
	if (want && strcmp(want, got) != 0) {
		husk_blob_writer_abort(w);
		return husk_fail(err, 0,
				 "blob \"%s\": digest mismatch: expected \"%s\", got \"%s\"",
				 what ? what : want, want, got);
	}
	cleanup_free char *path = husk_store_blob_path(w->s, got);
	int r = 0;
	if (w->tmp_path) {
		struct stat st;
		bool existed = stat(path, &st) == 0;
		if (rename(w->tmp_path, path) < 0)
			r = -errno;
		else {
			if (!existed)
				husk_journal_add(w->s, false, got);
			free(w->tmp_path);
			w->tmp_path = NULL;
		}
	} else {
		/* linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the /proc
		 * path is the documented way for O_TMPFILE files */
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", w->fd);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
			husk_journal_add(w->s, false, got);
		else if (errno != EEXIST)
			r = -errno; /* EEXIST: the same content is already there */
	}
	long long size = w->size;
	husk_blob_writer_abort(w);
	if (r < 0)
		return husk_fail(err, -r, "store blob \"%s\"", got);
	if (ret_digest)
		*ret_digest = steal_ptr(got);
	if (ret_size)
		*ret_size = size;
	return 0;
}

int husk_store_put_blob(struct husk_store *s, const void *buf, size_t len, const char *want,
			char **ret_digest, husk_error **err)
{
	struct husk_blob_writer *w = NULL;
	if (husk_blob_writer_new(s, &w, err) < 0)
		return -1;
	if (husk_blob_writer_write(w, buf, len, err) < 0) {
		husk_blob_writer_abort(w);
		return -1;
	}
	return husk_blob_writer_commit(w, want, want, ret_digest, NULL, err);
}

int husk_store_put_blob_fd(struct husk_store *s, int fd, const char *want, const char *what,
			   char **ret_digest, husk_error **err)
{
	struct husk_blob_writer *w = NULL;
	if (husk_blob_writer_new(s, &w, err) < 0)
		return -1;
	const size_t bufsize = 1 << 16;
	cleanup_free char *buf = malloc(bufsize);
	if (!buf) {
		husk_blob_writer_abort(w);
		return husk_fail(err, ENOMEM, "read \"%s\"", what);
	}
	for (;;) {
		ssize_t n = read(fd, buf, bufsize);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			husk_blob_writer_abort(w);
			return husk_fail(err, e, "read \"%s\"", what);
		}
		if (n == 0)
			break;
		if (husk_blob_writer_write(w, buf, (size_t)n, err) < 0) {
			husk_blob_writer_abort(w);
			return -1;
		}
	}
	return husk_blob_writer_commit(w, want, what, ret_digest, NULL, err);
}

int husk_store_put_blob_file(struct husk_store *s, const char *path, const char *want,
			     char **ret_digest, husk_error **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", path);
	return husk_store_put_blob_fd(s, fd, want, path, ret_digest, err);
}

static int read_blob_json(struct husk_store *s, const char *digest, json_t **ret, husk_error **err)
{
	cleanup_free char *path = husk_store_blob_path(s, digest);
	if (!path)
		return husk_fail(err, EINVAL, "bad digest \"%s\"", digest ? digest : "");
	cleanup_free char *buf = NULL;
	size_t len = 0;
	if (husk_read_file(path, &buf, &len, err) < 0)
		return -1;
	json_error_t je;
	json_t *j = json_loadb(buf, len, 0, &je);
	if (!j)
		return husk_fail(err, 0, "blob \"%s\": bad JSON: %s", digest, je.text);
	*ret = j;
	return 0;
}

/* --- misc --- */

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 ? -1 : 0;
}

int husk_rm_rf(const char *path)
{
	return nftw(path, rm_cb, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 ? -errno : 0;
}

int husk_lock_file(const char *path, int op, husk_error **err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_fail(err, errno, "open lock \"%s\"", path);
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		return husk_fail(err, e, "lock \"%s\"", path);
	}
	return fd;
}

/* --- open --- */

int husk_store_open(const char *root, struct husk_store **ret, husk_error **err)
{
	/* layers and tmp hold a tree a child: each placed apart (util.c) */
	static const struct {
		const char *sub;
		bool top;
	} subs[] = {{"", false},   {"/blobs/sha256", false}, {"/layers", true},
		    {"/l", false}, {"/locks", false},	     {"/tmp", true}};
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		cleanup_free char *d = husk_strdup_printf("%s%s", root, subs[i].sub);
		if ((subs[i].top ? husk_mkdir_top : husk_mkdir_p)(d, 0700, err) < 0)
			return husk_error_wrap(err, "open store \"%s\"", root);
	}
	struct husk_store *s = calloc(1, sizeof(*s));
	if (!s || !(s->root = strdup(root))) {
		free(s);
		return husk_fail(err, ENOMEM, "open store");
	}
	s->hold = -1;
	*ret = s;
	return 0;
}

void husk_store_close(struct husk_store *s)
{
	if (!s)
		return;
	husk_store_end(s, false);
	free(s->root);
	free(s);
}

const char *husk_store_root(const struct husk_store *s)
{
	return s->root;
}

/* --- layers --- */

/* A store dir that lives while the caller holds *ret_lockfd: tmp/<prefix>-
 * XXXXXX, flock'ed.  Dirs of the same prefix that nobody holds any more (a
 * killed husk) are removed first.  Making a dir and locking it happen under
 * locks/tmp, as does the sweep, so the sweep never sees a dir whose maker
 * has not locked it yet. */
int husk_store_tmpdir(struct husk_store *s, const char *prefix, char **ret_path, int *ret_lockfd,
		      husk_error **err)
{
	cleanup_free char *tdir = husk_strdup_printf("%s/tmp", s->root);
	cleanup_free char *lock = husk_strdup_printf("%s/locks/tmp", s->root);
	cleanup_close int lfd = husk_lock_file(lock, LOCK_EX, err);
	if (lfd < 0)
		return -1;
	size_t plen = strlen(prefix);
	DIR *d = opendir(tdir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, prefix, plen) != 0 || de->d_name[plen] != '-')
			continue;
		cleanup_free char *p = husk_strdup_printf("%s/%s", tdir, de->d_name);
		cleanup_close int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
			husk_rm_rf(p);
	}
	if (d)
		closedir(d);
	cleanup_free char *path = husk_strdup_printf("%s/%s-XXXXXX", tdir, prefix);
	if (!mkdtemp(path))
		return husk_fail(err, errno, "mkdtemp \"%s\"", path);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		husk_rm_rf(path);
		return husk_fail(err, e, "lock \"%s\"", path);
	}
	*ret_path = steal_ptr(path);
	*ret_lockfd = fd;
	return 0;
}

/* The short name of layer <hex>: l/<its first 6 hex digits>, a symlink to
 * ../layers/<hex>, or a longer prefix when a shorter one is taken by
 * another layer.  A container's overlay names its lower dirs by these
 * (the mount runs with <root>/l as its cwd): 500 layers, overlay's
 * maximum, take 3500 bytes of the 4096 a mount's options may have, where
 * full paths would stop at about 50 layers.
 *
 * Nothing records the name: it is found again the same way, each prefix
 * read back and taken only when it points at this layer.  symlink(2) is
 * atomic and fails on an existing name, so two processes making names at
 * once agree without a lock.  The link of a pruned layer stays, dangling,
 * and serves again when the layer comes back. */
#define LINK_MIN_LEN 6

static int layer_link(struct husk_store *s, const char *hex, char **ret, husk_error **err)
{
	cleanup_free char *target = husk_strdup_printf("../layers/%s", hex);
	for (int n = LINK_MIN_LEN; n <= HUSK_DIGEST_HEX_LEN; n += 2) {
		cleanup_free char *path = husk_strdup_printf("%s/l/%.*s", s->root, n, hex);
		for (int tries = 0; tries < 2; tries++) {
			char got[128];
			ssize_t len = readlink(path, got, sizeof(got) - 1);
			if (len >= 0) {
				got[len] = '\0';
				if (strcmp(got, target) == 0)
					goto found;
				break; /* another layer's name */
			}
			if (errno == EINVAL)
				break; /* not a symlink: not ours */
			if (errno != ENOENT)
				return husk_fail(err, errno, "read link \"%s\"", path);
			if (symlink(target, path) == 0)
				goto found;
			if (errno != EEXIST)
				return husk_fail(err, errno, "make link \"%s\"", path);
			/* made by someone else just now: read it */
		}
		continue;
	found:
		*ret = strndup(hex, (size_t)n);
		return *ret ? 0 : husk_fail(err, ENOMEM, "layer link");
	}
	return husk_fail(err, EEXIST, "layer \"%s\": no free short name in \"%s/l\"", hex, s->root);
}

/* layers/<hex>, unpacked from the blob under the layer's lock, unless
 * someone else did while we waited for it. */
static int unpack_layer(struct husk_store *s, const char *blob, const char *diff_id,
			const char *dir, husk_error **err)
{
	const char *hex = husk_digest_hex(diff_id);
	cleanup_free char *lock = husk_strdup_printf("%s/locks/layer-%s", s->root, hex);
	cleanup_close int lfd = husk_lock_file(lock, LOCK_EX, err);
	if (lfd < 0)
		return -1;
	struct stat st;
	if (stat(dir, &st) == 0)
		return 0;
	/* one temp name per layer: what is there was left by a killed
	 * unpack, as a live one would hold the lock */
	cleanup_free char *tmp = husk_strdup_printf("%s/layers/.tmp-%s", s->root, hex);
	int r = husk_rm_rf(tmp);
	if (r < 0 && r != -ENOENT)
		return husk_fail(err, -r, "remove \"%s\"", tmp);
	if (mkdir(tmp, 0755) < 0)
		return husk_fail(err, errno, "mkdir \"%s\"", tmp);
	cleanup_free char *path = husk_store_blob_path(s, blob);
	cleanup_free char *got = NULL;
	r = husk_layer_unpack_digest(path, tmp, &got, err);
	if (r == 0 && strcmp(got, diff_id) != 0)
		r = husk_fail(err, 0, "layer \"%s\": diff id mismatch: expected \"%s\", got \"%s\"",
			      blob, diff_id, got);
	if (r == 0 && rename(tmp, dir) < 0)
		r = husk_fail(err, errno, "rename \"%s\"", dir);
	if (r < 0)
		husk_rm_rf(tmp);
	else
		husk_journal_add(s, true, diff_id);
	return r;
}

/* layers/<diff id hex>, unpacked from the blob if not there yet, and its
 * short name (see layer_link), to *ret_link when not NULL. */
static int ensure_layer(struct husk_store *s, const char *blob, const char *diff_id,
			char **ret_link, husk_error **err)
{
	if (!husk_digest_valid(blob) || !husk_digest_valid(diff_id))
		return husk_fail(err, EINVAL, "layer \"%s\": bad digest", blob ? blob : "");
	const char *hex = husk_digest_hex(diff_id);
	cleanup_free char *dir = husk_strdup_printf("%s/layers/%s", s->root, hex);
	struct stat st;
	if (stat(dir, &st) < 0 && unpack_layer(s, blob, diff_id, dir, err) < 0)
		return -1;
	char *name = NULL;
	if (layer_link(s, hex, &name, err) < 0)
		return -1;
	if (ret_link)
		*ret_link = name;
	else
		free(name);
	return 0;
}

/* The layers of one image, unpacked in parallel: inflating gzip is half of
 * an unpack and one core does about 250 MB/s of it here, so each CPU (up
 * to UNPACK_THREADS) takes the next layer, the largest first.  The
 * per-layer locks work between threads as between processes (flock is per
 * open file), so a layer twice in one image is still unpacked once.
 * After a failure no new layer is started; the first error is returned. */
#define UNPACK_THREADS 4

struct unpack_jobs {
	struct husk_store *s;
	const char **blobs, **diffs;
	size_t *order, n;
	pthread_mutex_t mu;
	size_t next;	 /* under mu */
	husk_error *err; /* under mu: the first failure */
	bool failed;
};

static void *unpack_worker(void *arg)
{
	struct unpack_jobs *j = arg;
	for (;;) {
		pthread_mutex_lock(&j->mu);
		size_t k = j->failed ? j->n : j->next++;
		pthread_mutex_unlock(&j->mu);
		if (k >= j->n)
			return NULL;
		size_t i = j->order[k];
		husk_error *e = NULL;
		if (ensure_layer(j->s, j->blobs[i], j->diffs[i], NULL, &e) == 0)
			continue;
		pthread_mutex_lock(&j->mu);
		if (!j->failed) {
			j->failed = true;
			j->err = steal_ptr(e);
		}
		pthread_mutex_unlock(&j->mu);
		husk_error_free(e);
	}
}

static int ensure_layers(struct husk_store *s, json_t *ml, json_t *diffs, husk_error **err)
{
	size_t n = json_array_size(ml);
	struct unpack_jobs j = {.s = s, .n = n, .mu = PTHREAD_MUTEX_INITIALIZER};
	cleanup_free const char **blobs = calloc(n + 1, sizeof(char *));
	cleanup_free const char **dids = calloc(n + 1, sizeof(char *));
	cleanup_free size_t *order = calloc(n + 1, sizeof(size_t));
	cleanup_free long long *sizes = calloc(n + 1, sizeof(long long));
	if (!blobs || !dids || !order || !sizes)
		return husk_fail(err, ENOMEM, "unpack layers");
	/* json_t is read here only, before any thread starts */
	for (size_t i = 0; i < n; i++) {
		json_t *l = json_array_get(ml, i);
		blobs[i] = json_string_value(json_object_get(l, "digest"));
		dids[i] = json_string_value(json_array_get(diffs, i));
		sizes[i] = json_integer_value(json_object_get(l, "size"));
		/* insertion sort, largest first: images have tens of layers */
		size_t k = i;
		for (; k > 0 && sizes[order[k - 1]] < sizes[i]; k--)
			order[k] = order[k - 1];
		order[k] = i;
	}
	j.blobs = blobs;
	j.diffs = dids;
	j.order = order;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = cpus > 1 ? (size_t)cpus : 1;
	if (nthreads > UNPACK_THREADS)
		nthreads = UNPACK_THREADS;
	if (nthreads > n)
		nthreads = n;
	pthread_t tids[UNPACK_THREADS];
	size_t started = 0;
	/* this thread is one of the workers; a thread that cannot start
	 * leaves its share to the others */
	for (; started + 1 < nthreads; started++)
		if (pthread_create(&tids[started], NULL, unpack_worker, &j) != 0)
			break;
	unpack_worker(&j);
	for (size_t t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	pthread_mutex_destroy(&j.mu);
	if (j.failed) {
		if (err)
			*err = j.err;
		else
			husk_error_free(j.err);
		return -1;
	}
	return 0;
}

/* --- images.json --- */

int husk_index_read(struct husk_store *s, json_t **ret, husk_error **err)
{
	cleanup_free char *path = husk_strdup_printf("%s/images.json", s->root);
	cleanup_free char *buf = NULL;
	size_t len = 0;
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		*ret = json_pack("{s:{}}", "images");
		return 0;
	}
	if (husk_read_file(path, &buf, &len, err) < 0)
		return -1;
	json_error_t je;
	json_t *j = json_loadb(buf, len, 0, &je);
	if (!j || !json_is_object(json_object_get(j, "images"))) {
		json_decref(j);
		return husk_fail(err, 0, "\"%s\": bad JSON", path);
	}
	*ret = j;
	return 0;
}

int husk_index_write(struct husk_store *s, json_t *j, husk_error **err)
{
	cleanup_free char *path = husk_strdup_printf("%s/images.json", s->root);
	cleanup_free char *buf = json_dumps(j, JSON_INDENT(1));
	if (!buf)
		return husk_fail(err, ENOMEM, "images.json");
	return husk_write_file_atomic(path, buf, strlen(buf), 0600, err);
}

/* "busybox" -> "busybox:latest"; a tag is after the last '/'. */
int husk_store_register(struct husk_store *s, const char *name, const char *manifest_digest,
			husk_error **err)
{
	json_t *manifest = NULL, *config = NULL, *layers = NULL, *index = NULL;
	cleanup_free char *lock = NULL, *key = NULL;
	int ret = -1, lfd = -1;
	if (read_blob_json(s, manifest_digest, &manifest, err) < 0)
		goto out;
	const char *mt = json_string_value(json_object_get(manifest, "mediaType"));
	if (mt && strcmp(mt, MT_OCI_MANIFEST) != 0 && strcmp(mt, MT_DOCKER_MANIFEST) != 0) {
		husk_fail(err, 0, "manifest \"%s\": unknown media type \"%s\"", manifest_digest,
			  mt);
		goto out;
	}
	const char *cdigest =
		json_string_value(json_object_get(json_object_get(manifest, "config"), "digest"));
	if (read_blob_json(s, cdigest, &config, err) < 0)
		goto out;
	json_t *ml = json_object_get(manifest, "layers");
	json_t *diffs = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	if (!json_is_array(ml) || !json_is_array(diffs) ||
	    json_array_size(ml) != json_array_size(diffs)) {
		husk_fail(err, 0, "manifest \"%s\": layers do not match the config's diff_ids",
			  manifest_digest);
		goto out;
	}
	if (ensure_layers(s, ml, diffs, err) < 0)
		goto out;
	layers = json_array();
	long long size = 0;
	for (size_t i = 0; i < json_array_size(ml); i++) {
		json_t *l = json_array_get(ml, i);
		const char *blob = json_string_value(json_object_get(l, "digest"));
		const char *diff = json_string_value(json_array_get(diffs, i));
		json_int_t lsize = json_integer_value(json_object_get(l, "size"));
		size += lsize;
		json_array_append_new(layers, json_pack("{s:s,s:s,s:I}", "digest", blob, "diff_id",
							diff, "size", lsize));
	}
	lock = husk_strdup_printf("%s/images.lock", s->root);
	lfd = husk_lock_file(lock, LOCK_EX, err);
	if (lfd < 0 || husk_index_read(s, &index, err) < 0)
		goto out;
	key = husk_image_ref_normalize(name);
	if (!key) {
		husk_fail(err, ENOMEM, "register");
		goto out;
	}
	json_object_set_new(json_object_get(index, "images"), key,
			    json_pack("{s:s,s:s,s:O,s:I}", "manifest", manifest_digest, "config",
				      cdigest, "layers", layers, "size", (json_int_t)size));
	if (husk_index_write(s, index, err) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		husk_error_wrap(err, "register image \"%s\"", name);
	closep_(&lfd);
	json_decref(manifest);
	json_decref(config);
	json_decref(layers);
	json_decref(index);
	return ret;
}

/* --- find / list --- */

void husk_image_free(struct husk_image *img)
{
	if (!img)
		return;
	free(img->name);
	free(img->id);
	for (size_t i = 0; i < img->n_layers; i++) {
		free(img->layers[i]);
		if (img->links)
			free(img->links[i]);
	}
	free(img->layers);
	free(img->links);
	json_decref(img->config);
	free(img);
}

/* the config's "created" (RFC 3339: "2024-01-02T03:04:05.123456789Z",
 * or with an offset) in ns since the epoch, 0 if unknown; images --filter
 * before= and since= compare two images committed in the same second */
static long long parse_created(const char *s)
{
	if (!s)
		return 0;
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return 0;
	long long ns = 0, scale = 100000000;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++, scale /= 10)
			ns += (*end - '0') * scale;
	int h = 0, m = 0;
	long long off = 0;
	if ((*end == '+' || *end == '-') && sscanf(end + 1, "%2d:%2d", &h, &m) == 2)
		off = (*end == '-' ? -1 : 1) * (h * 3600LL + m * 60);
	return ((long long)timegm(&tm) - off) * 1000000000 + ns;
}

static int make_image(struct husk_store *s, const char *name, json_t *entry, bool unpack,
		      struct husk_image **ret, husk_error **err)
{
	struct husk_image *img = calloc(1, sizeof(*img));
	if (!img)
		return husk_fail(err, ENOMEM, "image");
	const char *cdigest = json_string_value(json_object_get(entry, "config"));
	json_t *layers = json_object_get(entry, "layers");
	img->name = strdup(name);
	img->id = cdigest ? strdup(cdigest) : NULL;
	img->size = json_integer_value(json_object_get(entry, "size"));
	img->layers = calloc(json_array_size(layers) + 1, sizeof(char *));
	if (unpack)
		img->links = calloc(json_array_size(layers) + 1, sizeof(char *));
	if (!img->name || !img->id || !img->layers || (unpack && !img->links)) {
		husk_image_free(img);
		return husk_fail(err, ENOMEM, "image \"%s\"", name);
	}
	if (read_blob_json(s, cdigest, &img->config, err) < 0) {
		husk_image_free(img);
		return husk_error_wrap(err, "image \"%s\"", name);
	}
	img->created_ns = parse_created(json_string_value(json_object_get(img->config, "created")));
	img->created = img->created_ns / 1000000000;
	for (size_t i = 0; i < json_array_size(layers); i++) {
		json_t *l = json_array_get(layers, i);
		const char *blob = json_string_value(json_object_get(l, "digest"));
		const char *diff = json_string_value(json_object_get(l, "diff_id"));
		/* a layer removed behind our back comes back from its blob; a
		 * store made before short names gets them here */
		char *link = NULL;
		if (!husk_digest_valid(diff)) {
			husk_image_free(img);
			return husk_fail(err, 0, "image \"%s\": bad layer %zu", name, i);
		}
		if (unpack && ensure_layer(s, blob, diff, &link, err) < 0) {
			husk_image_free(img);
			return husk_error_wrap(err, "image \"%s\": layer %zu", name, i);
		}
		if (unpack)
			img->links[img->n_layers] = link;
		img->layers[img->n_layers++] =
			husk_strdup_printf("%s/layers/%s", s->root, husk_digest_hex(diff));
	}
	*ret = img;
	return 0;
}

int husk_store_find(struct husk_store *s, const char *ref, struct husk_image **ret,
		    husk_error **err)
{
	json_t *index = NULL;
	if (husk_index_read(s, &index, err) < 0)
		return -1;
	json_t *images = json_object_get(index, "images");
	cleanup_free char *key = husk_image_ref_normalize(ref);
	json_t *entry = json_object_get(images, key);
	const char *found = key;
	if (!entry) {
		/* an id prefix, with or without "sha256:" */
		const char *want = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
		size_t n = strlen(want);
		const char *k;
		json_t *v;
		json_object_foreach (images, k, v) {
			const char *c = json_string_value(json_object_get(v, "config"));
			if (n == 0 || !c || strncmp(c + 7, want, n) != 0)
				continue;
			if (entry && !json_equal(json_object_get(entry, "config"),
						 json_object_get(v, "config"))) {
				json_decref(index);
				return husk_fail(err, 0, "image id \"%s\" is ambiguous", ref);
			}
			entry = v;
			found = k;
		}
	}
	if (!entry) {
		json_decref(index);
		return husk_fail_as(err, ENOENT, "no such image: \"%s\"", ref);
	}
	int r = make_image(s, found, entry, true, ret, err);
	json_decref(index);
	return r;
}

int husk_store_list(struct husk_store *s, struct husk_image ***ret, size_t *ret_n, husk_error **err)
{
	json_t *index = NULL;
	if (husk_index_read(s, &index, err) < 0)
		return -1;
	json_t *images = json_object_get(index, "images");
	size_t n = json_object_size(images), i = 0;
	struct husk_image **v = calloc(n + 1, sizeof(*v));
	if (!v) {
		json_decref(index);
		return husk_fail(err, ENOMEM, "list images");
	}
	const char *k;
	json_t *e;
	json_object_foreach (images, k, e) {
		if (make_image(s, k, e, false, &v[i], err) < 0) {
			while (i-- > 0)
				husk_image_free(v[i]);
			free(v);
			json_decref(index);
			return -1;
		}
		i++;
	}
	json_decref(index);
	*ret = v;
	*ret_n = i;
	return 0;
}

/* --- the builder's images: not in images.json until the last step --- */

int husk_store_image_of(struct husk_store *s, const char *name, json_t *config, json_t *layers,
			struct husk_image **ret, husk_error **err)
{
	json_t *diffs = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	if (json_array_size(diffs) != json_array_size(layers))
		return husk_fail(err, EINVAL, "image \"%s\": layers do not match diff_ids", name);
	cleanup_free char *id = NULL;
	cleanup_free char *text = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text || husk_store_put_blob(s, text, strlen(text), NULL, &id, err) < 0)
		return husk_error_wrap(err, "image \"%s\"", name);
	json_t *entry = json_pack("{s:s,s:[]}", "config", id, "layers");
	for (size_t i = 0; i < json_array_size(layers); i++) {
		json_t *l = json_array_get(layers, i);
		json_array_append_new(json_object_get(entry, "layers"),
				      json_pack("{s:O,s:O,s:O}", "digest",
						json_object_get(l, "digest"), "diff_id",
						json_array_get(diffs, i), "size",
						json_object_get(l, "size")));
	}
	int r = make_image(s, name, entry, true, ret, err);
	json_decref(entry);
	return r;
}

/* What overlay wrote into an upper dir for its own use: kept, it would
 * mean something to an overlay that stacks the dir as a lower one (a
 * redirect, a metacopy), so only the opaque mark stays, as an unpacked
 * layer has it. */
static int strip_overlay_xattrs(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_SL)
		return 0;
	char names[4096];
	ssize_t n = llistxattr(path, names, sizeof(names));
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		const char *x = names + i;
		if (strncmp(x, "trusted.overlay.", 16) == 0 &&
		    strcmp(x, "trusted.overlay.opaque") != 0)
			lremovexattr(path, x);
	}
	return 0;
}

int husk_store_adopt_layer(struct husk_store *s, const char *diff_id, const char *dir,
			   husk_error **err)
{
	if (!husk_digest_valid(diff_id))
		return husk_fail(err, EINVAL, "layer \"%s\": bad digest", diff_id ? diff_id : "");
	const char *hex = husk_digest_hex(diff_id);
	cleanup_free char *lock = husk_strdup_printf("%s/locks/layer-%s", s->root, hex);
	cleanup_free char *dst = husk_strdup_printf("%s/layers/%s", s->root, hex);
	cleanup_close int lfd = husk_lock_file(lock, LOCK_EX, err);
	if (lfd < 0)
		return -1;
	struct stat st;
	if (stat(dst, &st) == 0)
		return 0; /* the same layer is there: the caller's copy goes */
	if (nftw(dir, strip_overlay_xattrs, 32, FTW_PHYS | FTW_MOUNT) < 0)
		return husk_fail(err, errno, "layer \"%s\": read \"%s\"", hex, dir);
	if (chmod(dir, 0755) < 0 || rename(dir, dst) < 0)
		return husk_fail(err, errno, "layer \"%s\": rename \"%s\"", hex, dir);
	husk_journal_add(s, true, diff_id);
	return 0;
}

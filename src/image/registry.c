/* Images from and to registries, per the OCI distribution spec: image
 * references, pull and push.  The HTTP side (scheme, TLS, retries, auth
 * challenges) is in registry-http.c, credentials in registry-auth.c.
 *
 * A pull keeps the store consistent the way `husk load` does: every blob
 * goes through the verifying writer, and the name is registered last, so
 * a failed or killed pull leaves no name.  A failed pull also removes the
 * blobs and layers it added that nothing refers to (the store's journal),
 * unless another pull or load is under way; prune takes them then.  A layer is first
 * downloaded to <root>/tmp/blob-<hex>.partial (locked while written): a
 * pull that was interrupted resumes it with a Range request, and the
 * whole blob is verified against its digest anyway. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "image-private.h"
#include "registry-private.h"
#include "util.h"
#include "lazy.h"

#define MANIFEST_ACCEPT \
	MT_OCI_MANIFEST ", " MT_OCI_INDEX ", " MT_DOCKER_MANIFEST ", " MT_DOCKER_LIST

/* --- references --- */

void husk_ref_free(struct husk_ref *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	free(r);
}

char *husk_ref_string(const struct husk_ref *r)
{
	if (r->digest)
		return husk_strdup_printf("%s/%s@%s", r->domain, r->path, r->digest);
	return husk_strdup_printf("%s/%s:%s", r->domain, r->path, r->tag);
}

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path components: [a-z0-9]+ joined by '.', '_', '__' or dashes */
static bool valid_path(const char *p)
{
	if (!*p)
		return false;
	const char *c = p;
	while (*c) {
		const char *end = c + strcspn(c, "/");
		if (end == c || !is_alnum_lower(*c) || !is_alnum_lower(end[-1]))
			return false;
		for (const char *q = c; q < end; q++) {
			if (is_alnum_lower(*q))
				continue;
			if (*q != '.' && *q != '_' && *q != '-')
				return false;
			/* separators: ".", "_", "__" or runs of "-" */
			if (*q == '.' && !is_alnum_lower(q[1]))
				return false;
			if (*q == '_' &&
			    !(is_alnum_lower(q[1]) || (q[1] == '_' && is_alnum_lower(q[2]))))
				return false;
		}
		c = *end ? end + 1 : end;
		if (*end && !*c)
			return false;
	}
	return true;
}

static bool valid_tag(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > 128 || t[0] == '.' || t[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

/* host[:port], the host a name, an IPv4 address or [IPv6] */
static bool valid_domain(const char *d)
{
	const char *port = d[0] == '[' ? strchr(d, ']') : d;
	port = port ? strchr(port, ':') : NULL;
	if (!*d || d[0] == ':' || (port && !port[1]))
		return false;
	for (const char *p = d; *p && p != port; p++)
		if (!isalnum((unsigned char)*p) && !strchr(d[0] == '[' ? ".-:[]" : ".-", *p))
			return false;
	for (const char *p = port ? port + 1 : ""; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return true;
}

int husk_ref_parse(const char *s, struct husk_ref **ret, husk_error **err)
{
	if (strncmp(s, "docker://", 9) == 0)
		s += 9;
	cleanup_free char *name = strdup(s);
	struct husk_ref *r = calloc(1, sizeof(*r));
	if (!name || !r) {
		free(r);
		return husk_fail(err, ENOMEM, "reference");
	}
	char *at = strchr(name, '@');
	if (at) {
		*at = '\0';
		if (!husk_digest_valid(at + 1)) {
			husk_ref_free(r);
			return husk_fail(err, 0, "reference \"%s\": bad digest \"%s\"", s, at + 1);
		}
		r->digest = strdup(at + 1);
	}
	char *slash = strrchr(name, '/');
	char *colon = strrchr(slash ? slash : name, ':');
	if (colon) {
		*colon = '\0';
		r->tag = strdup(colon + 1);
		if (!valid_tag(r->tag)) {
			husk_ref_free(r);
			return husk_fail(err, 0, "reference \"%s\": bad tag \"%s\"", s, colon + 1);
		}
	}
	char *first = strchr(name, '/');
	if (first && (memchr(name, '.', (size_t)(first - name)) ||
		      memchr(name, ':', (size_t)(first - name)) ||
		      (first - name == 9 && strncmp(name, "localhost", 9) == 0))) {
		*first = '\0';
		r->domain = strdup(strcmp(name, "index.docker.io") == 0 ? "docker.io" : name);
		r->path = strdup(first + 1);
	} else {
		r->domain = strdup("docker.io");
		r->path = strdup(name);
	}
	if (r->domain && r->path && strcmp(r->domain, "docker.io") == 0 && !strchr(r->path, '/')) {
		char *p = husk_strdup_printf("library/%s", r->path);
		free(r->path);
		r->path = p;
	}
	if (!r->tag && !r->digest)
		r->tag = strdup("latest");
	if (!r->domain || !r->path || (!r->tag && !r->digest)) {
		husk_ref_free(r);
		return husk_fail(err, ENOMEM, "reference");
	}
	if (!valid_domain(r->domain) || !valid_path(r->path)) {
		bool upper = false;
		for (const char *p = r->path; *p; p++)
			upper = upper || isupper((unsigned char)*p);
		husk_ref_free(r);
		return husk_fail(err, 0, "reference \"%s\": %s", s,
				 upper ? "repository names must be lower case"
				       : "not a valid image name");
	}
	*ret = r;
	return 0;
}

static bool have_blob(struct husk_store *s, const char *digest)
{
	cleanup_free char *p = husk_store_blob_path(s, digest);
	struct stat st;
	return p && stat(p, &st) == 0;
}

/* --- pull --- */

static char *sha256_of(const char *buf, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
	if (husk_lazy_crypto(NULL) < 0 || EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL) != 1)
		return NULL;
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return husk_strdup_printf("sha256:%s", hex);
}

static char *media_type_of(const char *header, json_t *body)
{
	const char *field = json_string_value(json_object_get(body, "mediaType"));
	/* a generic Content-Type says nothing: the body's field decides */
	if (header && *header && strncmp(header, "application/json", 16) != 0 &&
	    strncmp(header, "text/plain", 10) != 0 &&
	    strncmp(header, "application/octet-stream", 24) != 0)
		return strndup(header, strcspn(header, "; "));
	if (field)
		return strdup(field);
	/* no media type anywhere: an OCI manifest or index by its shape */
	if (json_object_get(body, "manifests"))
		return strdup(MT_OCI_INDEX);
	if (json_object_get(body, "layers"))
		return strdup(MT_OCI_MANIFEST);
	return strdup(header && *header ? header : "(none)");
}

struct manifest {
	char *body;
	size_t len;
	char *digest;
	char *media_type;
	json_t *json;
};

static void manifest_clear(struct manifest *m)
{
	free(m->body);
	free(m->digest);
	free(m->media_type);
	json_decref(m->json);
	memset(m, 0, sizeof(*m));
}

static const char *unauthorized_hint(struct reg_client *c)
{
	return c->basic ? " (are the credentials right?)"
			: " (log in with husk login, or check the image name)";
}

/* GET /v2/<path>/manifests/<reference>, checked against its digest. */
static int get_manifest(struct reg_client *c, const char *path, const char *reference,
			struct manifest *m, husk_error **err)
{
	cleanup_free char *url = husk_strdup_printf("/v2/%s/manifests/%s", path, reference);
	struct reg_req q = {.method = "GET",
			    .url = url,
			    .accept = MANIFEST_ACCEPT,
			    .body_fd = -1,
			    .out_fd = -1};
	struct reg_resp resp = {0};
	if (reg_do(c, &q, &resp, err) < 0)
		return husk_error_wrap(err, "manifest \"%s\"", reference);
	if (resp.status != 200) {
		cleanup_free char *why = reg_resp_error(&resp);
		long st = resp.status;
		reg_resp_clear(&resp);
		return husk_fail(err, 0, "manifest \"%s\": %s%s", reference, why,
				 st == 401 || st == 403 ? unauthorized_hint(c) : "");
	}
	m->body = steal_ptr(resp.body);
	m->len = resp.len;
	m->digest = sha256_of(m->body ? m->body : "", m->len);
	cleanup_free char *ctype = steal_ptr(resp.content_type);
	cleanup_free char *header_digest = steal_ptr(resp.digest);
	reg_resp_clear(&resp);
	const char *want = husk_digest_valid(reference) ? reference : header_digest;
	if (!m->digest)
		return husk_fail(err, ENOMEM, "manifest");
	if (want && strncmp(want, "sha256:", 7) == 0 && strcmp(want, m->digest) != 0)
		return husk_fail(err, 0,
				 "manifest \"%s\": digest mismatch: expected \"%s\", got \"%s\"",
				 reference, want, m->digest);
	json_error_t je;
	m->json = json_loadb(m->body ? m->body : "", m->len, 0, &je);
	if (!json_is_object(m->json))
		return husk_fail(err, 0, "manifest \"%s\": bad JSON: %s", reference, je.text);
	m->media_type = media_type_of(ctype, m->json);
	if (!m->media_type)
		return husk_fail(err, ENOMEM, "manifest");
	reg_debug(c, "manifest %s: %s %s", reference, m->media_type, m->digest);
	return 0;
}

static bool is_index(const char *mt)
{
	return strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0;
}

static bool is_manifest(const char *mt)
{
	return strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0;
}

/* linux/amd64 of an index, or an error naming what it offers. */
static int pick_platform(struct manifest *idx, char **ret, husk_error **err)
{
	const char *d = husk_index_pick(idx->json, err);
	if (!d)
		return -1;
	*ret = strdup(d);
	return *ret ? 0 : husk_fail(err, ENOMEM, "index");
}

static bool known_layer_type(const char *mt)
{
	static const char *ok[] = {
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.v1.tar+gzip",
		"application/vnd.oci.image.layer.v1.tar+zstd",
		"application/vnd.docker.image.rootfs.diff.tar.gzip",
		"application/vnd.docker.image.rootfs.diff.tar",
	};
	if (!mt)
		return true; /* the manifest's own media type decides */
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (strcmp(mt, ok[i]) == 0)
			return true;
	return false;
}

/* A small blob (the config) through memory into the store. */
static int fetch_small_blob(struct reg_client *c, struct husk_store *s, const char *path,
			    const char *digest, husk_error **err)
{
	if (have_blob(s, digest))
		return 0;
	cleanup_free char *url = husk_strdup_printf("/v2/%s/blobs/%s", path, digest);
	struct reg_req q = {
		.method = "GET", .url = url, .body_fd = -1, .out_fd = -1, .max_body = 16 << 20};
	struct reg_resp resp = {0};
	if (reg_do(c, &q, &resp, err) < 0)
		return husk_error_wrap(err, "blob \"%s\"", digest);
	int r;
	if (resp.status != 200) {
		cleanup_free char *why = reg_resp_error(&resp);
		r = husk_fail(err, 0, "blob \"%s\": %s", digest, why);
	} else {
		r = husk_store_put_blob(s, resp.body ? resp.body : "", resp.len, digest, NULL, err);
	}
	reg_resp_clear(&resp);
	return r;
}

static void progress(struct reg_client *c, const char *digest, long long done, long long total,
		     bool finished, bool skipped)
{
	if (!c->o->progress)
		return;
	struct husk_progress p = {.digest = digest,
				  .done = done,
				  .total = total,
				  .finished = finished,
				  .skipped = skipped};
	c->o->progress(c->o->ud, &p);
}

/* A layer: downloaded (or resumed) into its partial file, then copied
 * through the verifying writer into the store. */
static int fetch_layer(struct reg_client *c, struct husk_store *s, const char *path,
		       const char *digest, long long size, husk_error **err)
{
	if (have_blob(s, digest)) {
		progress(c, digest, size, size, true, true);
		return 0;
	}
	cleanup_free char *partial =
		husk_strdup_printf("%s/tmp/blob-%s.partial", s->root, husk_digest_hex(digest));
	cleanup_close int fd = -1;
	for (;;) {
		fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return husk_fail(err, errno, "open \"%s\"", partial);
		/* one writer per blob; another pull of it waits here */
		while (flock(fd, LOCK_EX) < 0)
			if (errno != EINTR)
				return husk_fail(err, errno, "lock \"%s\"", partial);
		struct stat st;
		if (fstat(fd, &st) < 0)
			return husk_fail(err, errno, "stat \"%s\"", partial);
		if (st.st_nlink > 0)
			break;
		/* the one we waited for finished and removed it */
		closep_(&fd);
		if (have_blob(s, digest)) {
			progress(c, digest, size, size, true, true);
			return 0;
		}
	}
	if (have_blob(s, digest)) {
		unlink(partial);
		progress(c, digest, size, size, true, true);
		return 0;
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return husk_fail(err, errno, "stat \"%s\"", partial);
	if (size > 0 && st.st_size > size && ftruncate(fd, 0) < 0)
		return husk_fail(err, errno, "truncate \"%s\"", partial);
	if (size <= 0 || st.st_size != size) {
		cleanup_free char *url = husk_strdup_printf("/v2/%s/blobs/%s", path, digest);
		struct reg_req q = {.method = "GET",
				    .url = url,
				    .body_fd = -1,
				    .out_fd = fd,
				    .digest = digest,
				    .total = size};
		struct reg_resp resp = {0};
		/* on a transport error the partial file stays: the next pull
		 * resumes it */
		if (reg_do(c, &q, &resp, err) < 0)
			return husk_error_wrap(err, "blob \"%s\"", digest);
		if (resp.status != 200 && resp.status != 206) {
			cleanup_free char *why = reg_resp_error(&resp);
			reg_resp_clear(&resp);
			unlink(partial);
			return husk_fail(err, 0, "blob \"%s\": %s", digest, why);
		}
		reg_resp_clear(&resp);
	} else {
		reg_debug(c, "blob %s: already downloaded", digest);
	}
	if (fstat(fd, &st) < 0)
		return husk_fail(err, errno, "stat \"%s\"", partial);
	if (size > 0 && st.st_size != size) {
		unlink(partial);
		return husk_fail(err, 0, "blob \"%s\": size %lld, the manifest says %lld", digest,
				 (long long)st.st_size, size);
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		return husk_fail(err, errno, "seek \"%s\"", partial);
	int r = husk_store_put_blob_fd(s, fd, digest, digest, NULL, err);
	/* done, or wrong for good: the partial file is no use any more */
	unlink(partial);
	if (r < 0)
		return -1;
	progress(c, digest, size, size, true, false);
	return 0;
}

static int pull(struct husk_store *s, struct reg_client *c, const struct husk_ref *ref,
		const char *name, char **ret_id, husk_error **err)
{
	struct manifest m = {0};
	int r = -1;
	const char *reference = ref->digest ? ref->digest : ref->tag;
	if (reg_ping(c, err) < 0 || get_manifest(c, ref->path, reference, &m, err) < 0)
		goto out;
	if (is_index(m.media_type)) {
		cleanup_free char *pick = NULL;
		if (pick_platform(&m, &pick, err) < 0)
			goto out;
		manifest_clear(&m);
		if (get_manifest(c, ref->path, pick, &m, err) < 0)
			goto out;
	}
	if (!is_manifest(m.media_type)) {
		husk_fail(err, 0, "manifest \"%s\": unsupported media type \"%s\"", m.digest,
			  m.media_type);
		goto out;
	}
	json_t *cdesc = json_object_get(m.json, "config");
	const char *cdigest = json_string_value(json_object_get(cdesc, "digest"));
	json_t *layers = json_object_get(m.json, "layers");
	if (!husk_digest_valid(cdigest) || !json_is_array(layers)) {
		husk_fail(err, 0, "manifest \"%s\": no config or no layers", m.digest);
		goto out;
	}
	json_t *l;
	size_t i;
	json_array_foreach (layers, i, l) {
		const char *mt = json_string_value(json_object_get(l, "mediaType"));
		if (!known_layer_type(mt)) {
			husk_fail(err, 0,
				  "manifest \"%s\": layer %zu: unsupported media type \"%s\"",
				  m.digest, i, mt);
			goto out;
		}
		if (!husk_digest_valid(json_string_value(json_object_get(l, "digest")))) {
			husk_fail(err, 0, "manifest \"%s\": layer %zu: bad digest", m.digest, i);
			goto out;
		}
	}
	if (fetch_small_blob(c, s, ref->path, cdigest, err) < 0)
		goto out;
	HUSK_FAULT(engine_pull_blob);
	json_array_foreach (layers, i, l) {
		const char *d = json_string_value(json_object_get(l, "digest"));
		long long size = json_integer_value(json_object_get(l, "size"));
		if (fetch_layer(c, s, ref->path, d, size, err) < 0)
			goto out;
		HUSK_FAULT(engine_pull_layer);
	}
	if (!have_blob(s, m.digest)) {
		if (husk_store_put_blob(s, m.body, m.len, m.digest, NULL, err) < 0)
			goto out;
	}
	if (husk_store_register(s, name, m.digest, err) < 0)
		goto out;
	if (ret_id && !(*ret_id = strdup(cdigest))) {
		husk_fail(err, ENOMEM, "pull");
		goto out;
	}
	r = 0;
out:
	manifest_clear(&m);
	return r;
}

int husk_registry_pull(struct husk_store *s, const char *refstr, const struct husk_registry_opts *o,
		       char **ret_name, char **ret_id, husk_error **err)
{
	struct husk_ref *ref = NULL;
	struct reg_client *c = NULL;
	cleanup_free char *name = NULL;
	int r = -1;
	if (husk_ref_parse(refstr, &ref, err) < 0)
		goto out;
	name = husk_ref_string(ref);
	if (reg_client_new(ref->domain, o, &c, err) < 0)
		goto out;
	c->scope = husk_strdup_printf("repository:%s:pull", ref->path);
	int hold = husk_store_hold(s, false, true, err);
	if (hold < 0 || husk_store_journal_begin(s, err) < 0) {
		if (hold >= 0)
			close(hold);
		goto out;
	}
	r = pull(s, c, ref, name, ret_id, err);
	close(hold);
	husk_store_journal_end(s, r < 0);
out:
	if (r < 0)
		husk_error_wrap(err, "pulling \"%s\"", refstr);
	else if (ret_name)
		*ret_name = steal_ptr(name);
	reg_client_free(c);
	husk_ref_free(ref);
	return r;
}

/* --- tags --- */

/* The next page of a Link header, as the distribution spec gives it:
 * "</v2/NAME/tags/list?n=100&last=x>; rel="next"" (a path on the same
 * registry); NULL when there is none */
static char *next_page(const char *link)
{
	if (!link || !strstr(link, "rel=\"next\""))
		return NULL;
	const char *a = strchr(link, '<'), *b = a ? strchr(a, '>') : NULL;
	if (!a || !b || strncmp(a + 1, "/v2/", 4) != 0)
		return NULL;
	return strndup(a + 1, (size_t)(b - a - 1));
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int husk_registry_tags(const char *repo, const struct husk_registry_opts *o, char ***ret,
		       size_t *ret_n, husk_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	struct husk_ref *ref = NULL;
	struct reg_client *c = NULL;
	char **tags = NULL;
	size_t n = 0;
	int r = -1;
	if (husk_ref_parse(repo, &ref, err) < 0)
		goto out;
	if (reg_client_new(ref->domain, o, &c, err) < 0)
		goto out;
	c->scope = husk_strdup_printf("repository:%s:pull", ref->path);
	if (reg_ping(c, err) < 0)
		goto out;
	char *url = husk_strdup_printf("/v2/%s/tags/list", ref->path);
	/* at most 1000 pages: a registry that links back to a page it gave
	 * does not keep us here */
	for (int page = 0; url && page < 1000; page++) {
		struct reg_req q = {.method = "GET", .url = url, .body_fd = -1, .out_fd = -1};
		struct reg_resp resp = {0};
		if (reg_do(c, &q, &resp, err) < 0) {
			free(url);
			goto out;
		}
		free(url);
		url = NULL;
		if (resp.status != 200) {
			cleanup_free char *why = reg_resp_error(&resp);
			long st = resp.status;
			reg_resp_clear(&resp);
			husk_fail(err, 0, "tags: %s%s", why,
				  st == 401 || st == 403 ? unauthorized_hint(c) : "");
			goto out;
		}
		json_t *j = json_loadb(resp.body ? resp.body : "", resp.len, 0, NULL);
		json_t *list = json_object_get(j, "tags");
		size_t i;
		json_t *t;
		json_array_foreach (list, i, t)
			if (json_is_string(t))
				husk_strv_push(&tags, &n, strdup(json_string_value(t)));
		bool ok = json_is_object(j) && (json_is_array(list) || json_is_null(list));
		json_decref(j);
		url = next_page(resp.link);
		reg_resp_clear(&resp);
		if (!ok) {
			free(url);
			husk_fail(err, 0, "tags: not a tag list");
			goto out;
		}
	}
	free(url);
	if (n)
		qsort(tags, n, sizeof(*tags), cmp_strp);
	*ret = steal_ptr(tags);
	*ret_n = n;
	n = 0;
	r = 0;
out:
	if (r < 0)
		husk_error_wrap(err, "listing the tags of \"%s\"", repo);
	husk_strv_free(tags, n);
	reg_client_free(c);
	husk_ref_free(ref);
	return r;
}

/* --- push --- */

static int push_blob(struct reg_client *c, struct husk_store *s, const char *path,
		     const char *digest, husk_error **err)
{
	cleanup_free char *url = husk_strdup_printf("/v2/%s/blobs/%s", path, digest);
	cleanup_free char *file = husk_store_blob_path(s, digest);
	struct reg_req head = {.method = "HEAD", .url = url, .body_fd = -1, .out_fd = -1};
	struct reg_resp resp = {0};
	if (!file)
		return husk_fail(err, EINVAL, "bad digest \"%s\"", digest);
	cleanup_close int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return husk_fail(err, errno, "blob \"%s\": not in the store", digest);
	if (reg_do(c, &head, &resp, err) < 0)
		return -1;
	if (resp.status == 200) {
		reg_resp_clear(&resp);
		progress(c, digest, st.st_size, st.st_size, true, true);
		return 0;
	}
	cleanup_free char *start = husk_strdup_printf("/v2/%s/blobs/uploads/", path);
	struct reg_req post = {.method = "POST", .url = start, .body_fd = -1, .out_fd = -1};
	if (reg_do(c, &post, &resp, err) < 0)
		return -1;
	if (resp.status != 202 || !resp.location) {
		cleanup_free char *why = reg_resp_error(&resp);
		long stt = resp.status;
		reg_resp_clear(&resp);
		return husk_fail(err, 0, "starting an upload: %s%s", why,
				 stt == 401 || stt == 403 ? unauthorized_hint(c) : "");
	}
	/* a monolithic upload: PUT <location>?digest=<digest> with the blob */
	cleanup_free char *put = husk_strdup_printf("%s%sdigest=%s", resp.location,
						    strchr(resp.location, '?') ? "&" : "?", digest);
	reg_resp_clear(&resp);
	struct reg_req q = {.method = "PUT",
			    .url = put,
			    .content_type = "application/octet-stream",
			    .body_fd = fd,
			    .body_len = (size_t)st.st_size,
			    .out_fd = -1};
	if (reg_do(c, &q, &resp, err) < 0)
		return -1;
	int r = 0;
	if (resp.status != 201) {
		cleanup_free char *why = reg_resp_error(&resp);
		r = husk_fail(err, 0, "uploading: %s", why);
	}
	reg_resp_clear(&resp);
	if (r == 0)
		progress(c, digest, st.st_size, st.st_size, true, false);
	return r;
}

static int push(struct husk_store *s, struct reg_client *c, const struct husk_ref *ref,
		const char *mdigest, char **ret_digest, husk_error **err)
{
	cleanup_free char *mpath = husk_store_blob_path(s, mdigest);
	cleanup_free char *body = NULL;
	size_t len = 0;
	if (husk_read_file(mpath, &body, &len, err) < 0)
		return -1;
	json_t *m = json_loadb(body, len, 0, NULL);
	if (!m)
		return husk_fail(err, 0, "manifest \"%s\": bad JSON", mdigest);
	const char *mt = json_string_value(json_object_get(m, "mediaType"));
	cleanup_free char *media_type = strdup(mt ? mt : MT_OCI_MANIFEST);
	int r = reg_ping(c, err);
	const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
	if (r == 0 && !husk_digest_valid(cd))
		r = husk_fail(err, 0, "manifest \"%s\": no config", mdigest);
	json_t *l;
	size_t i;
	json_array_foreach (json_object_get(m, "layers"), i, l) {
		if (r == 0)
			r = push_blob(c, s, ref->path,
				      json_string_value(json_object_get(l, "digest")), err);
	}
	if (r == 0)
		r = push_blob(c, s, ref->path, cd, err);
	json_decref(m);
	if (r < 0)
		return -1;
	cleanup_free char *url = husk_strdup_printf("/v2/%s/manifests/%s", ref->path,
						    ref->digest ? ref->digest : ref->tag);
	struct reg_req q = {.method = "PUT",
			    .url = url,
			    .content_type = media_type,
			    .body = body,
			    .body_len = len,
			    .body_fd = -1,
			    .out_fd = -1};
	struct reg_resp resp = {0};
	if (reg_do(c, &q, &resp, err) < 0)
		return husk_error_wrap(err, "manifest");
	if (resp.status != 201) {
		cleanup_free char *why = reg_resp_error(&resp);
		reg_resp_clear(&resp);
		return husk_fail(err, 0, "manifest: %s", why);
	}
	reg_resp_clear(&resp);
	if (ret_digest && !(*ret_digest = strdup(mdigest)))
		return husk_fail(err, ENOMEM, "push");
	return 0;
}

int husk_registry_push(struct husk_store *s, const char *image, const char *dest,
		       const struct husk_registry_opts *o, char **ret_digest, husk_error **err)
{
	struct husk_image *img = NULL;
	struct husk_ref *ref = NULL;
	struct reg_client *c = NULL;
	cleanup_free char *mdigest = NULL;
	int r = -1;
	if (husk_store_find(s, image, &img, err) < 0 ||
	    husk_store_manifest_digest(s, img->name, &mdigest, err) < 0 ||
	    husk_ref_parse(dest ? dest : img->name, &ref, err) < 0 ||
	    reg_client_new(ref->domain, o, &c, err) < 0)
		goto out;
	c->scope = husk_strdup_printf("repository:%s:pull,push", ref->path);
	r = push(s, c, ref, mdigest, ret_digest, err);
out:
	if (r < 0)
		husk_error_wrap(err, "pushing \"%s\"", dest ? dest : image);
	reg_client_free(c);
	husk_ref_free(ref);
	husk_image_free(img);
	return r;
}

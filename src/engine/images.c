/* The image verbs of the engine: tag, rm, load, save, import, pull, push,
 * the images run finds, list and inspect.  Each is the store's call (or
 * the registry client's) plus what the engine adds to it: the events
 * Docker writes for images (events.c), and for rm the rule that an image a
 * container was made from stays.  The CLI parses, calls one of these and
 * prints. */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "image.h"
#include "util.h"

/* Docker's image event for ref (the id it has now in the store): name is
 * the event's name attribute, NULL for ref itself */
static void image_event(struct husk_engine *e, struct husk_store *s, const char *action,
			const char *ref, const char *name)
{
	struct husk_image *img = NULL;
	if (husk_store_find(s, ref, &img, NULL) < 0)
		return;
	husk_engine_image_event(e, action, img->id, name ? name : ref);
	husk_image_free(img);
}

int husk_engine_image_tag(struct husk_engine *e, const char *source, const char *target,
			  husk_error **err)
{
	struct husk_store *s = NULL;
	if (husk_store_open(e->root, &s, err) < 0)
		return -1;
	int r = husk_store_tag(s, source, target, err);
	if (r == 0) {
		cleanup_free char *name = husk_image_ref_normalize(target);
		image_event(e, s, "tag", name, NULL);
	}
	husk_store_close(s);
	return r < 0 ? -1 : 0;
}

int husk_engine_image_rm(struct husk_engine *e, const char *ref, char **ret_name, husk_error **err)
{
	*ret_name = NULL;
	struct husk_store *s = NULL;
	if (husk_store_open(e->root, &s, err) < 0)
		return -1;
	struct husk_image *img = NULL;
	if (husk_store_find(s, ref, &img, err) < 0) {
		husk_store_close(s);
		return -1;
	}
	/* an image a container was made from stays: its layers are that
	 * container's root */
	struct husk_ctr *v = NULL;
	size_t n = 0;
	husk_engine_list(e, &v, &n, NULL);
	const char *user = NULL;
	for (size_t k = 0; k < n; k++)
		if (strcmp(v[k].image, img->name) == 0)
			user = v[k].name;
	int r = 0;
	if (user) {
		r = husk_fail_as(err, EBUSY,
				 "image \"%s\" is used by container \"%s\": remove it first",
				 img->name, user);
	} else if (husk_store_remove(s, img->name, err) < 0) {
		r = -1;
	} else {
		/* Docker's events: untag, and delete when no name is left on
		 * the id */
		husk_engine_image_event(e, "untag", img->id, img->id);
		struct husk_image *left = NULL;
		if (husk_store_find(s, img->id, &left, NULL) == 0)
			husk_image_free(left);
		else
			husk_engine_image_event(e, "delete", img->id, img->id);
		*ret_name = strdup(img->name);
		/* and the blobs and layers no image needs now */
		long long freed = 0;
		r = husk_store_prune(s, &freed, err);
	}
	husk_engine_list_free(v, n);
	husk_image_free(img);
	husk_store_close(s);
	return r < 0 ? -1 : 0;
}

int husk_engine_image_load(struct husk_engine *e, const char *path, char ***ret_names,
			   husk_error **err)
{
	*ret_names = NULL;
	struct husk_store *s = NULL;
	if (husk_store_open(e->root, &s, err) < 0)
		return -1;
	char **names = NULL;
	int r = husk_store_load(s, path, &names, err);
	for (char **p = names; r == 0 && p && *p; p++)
		image_event(e, s, "load", *p, NULL);
	husk_store_close(s);
	if (r < 0) {
		for (char **p = names; p && *p; p++)
			free(*p);
		free(names);
		return -1;
	}
	*ret_names = names;
	return 0;
}

int husk_engine_image_import(struct husk_engine *e, const char *path,
			     const struct husk_commit_opts *o, char **ret_id, husk_error **err)
{
	*ret_id = NULL;
	struct husk_store *s = NULL;
	if (husk_store_open(e->root, &s, err) < 0)
		return -1;
	char *id = NULL;
	int r = husk_store_import(s, path, o, &id, err);
	if (r == 0)
		husk_engine_image_event(e, "import", id, o->name ? o->name : id);
	husk_store_close(s);
	if (r < 0)
		return -1;
	*ret_id = id;
	return 0;
}

int husk_engine_image_save(struct husk_engine *e, const char *const *refs, size_t n,
			   enum husk_save_format format, const char *path, int fd, husk_error **err)
{
	struct husk_store *s = NULL;
	if (husk_store_open(e->root, &s, err) < 0)
		return -1;
	int r = path ? husk_store_save(s, refs, n, format, path, err)
		     : husk_store_save_fd(s, refs, n, format, fd, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		image_event(e, s, "save", refs[i], NULL);
	husk_store_close(s);
	return r < 0 ? -1 : 0;
}

/* Docker's: "pull" (or "push") of "busybox:latest", its name attribute
 * "busybox" */
static void repo_event(struct husk_engine *e, const char *action, const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *colon = strchr(slash ? slash : name, ':');
	const char *at = strchr(name, '@');
	const char *end = at ? at : colon;
	cleanup_free char *repo = end ? strndup(name, (size_t)(end - name)) : strdup(name);
	husk_engine_image_event(e, action, name, repo);
}

int husk_engine_image_tags(struct husk_engine *e, const char *repo,
			   const struct husk_registry_opts *o, char ***ret, size_t *ret_n,
			   husk_error **err)
{
	(void)e;
	return husk_registry_tags(repo, o, ret, ret_n, err);
}

int husk_engine_image_pull(struct husk_engine *e, const char *ref,
			   const struct husk_registry_opts *o, char **ret_name, char **ret_id,
			   husk_error **err)
{
	struct husk_store *s = NULL;
	char *name = NULL;
	if (ret_id)
		*ret_id = NULL;
	*ret_name = NULL;
	if (husk_store_open(e->root, &s, err) < 0)
		return -1;
	int r = husk_registry_pull(s, ref, o, &name, ret_id, err);
	husk_store_close(s);
	if (r < 0)
		return -1;
	repo_event(e, "pull", name);
	*ret_name = name;
	return 0;
}

int husk_engine_image_push(struct husk_engine *e, const char *image, const char *dest,
			   const struct husk_registry_opts *o, char **ret_digest, husk_error **err)
{
	struct husk_store *s = NULL;
	*ret_digest = NULL;
	if (husk_store_open(e->root, &s, err) < 0)
		return -1;
	int r = husk_registry_push(s, image, dest, o, ret_digest, err);
	husk_store_close(s);
	if (r < 0)
		return -1;
	repo_event(e, "push", dest ? dest : image);
	return 0;
}

int husk_engine_image_local(struct husk_engine *e, const char *image, char **ret_name,
			    husk_error **err)
{
	*ret_name = NULL;
	struct husk_store *s = NULL;
	struct husk_image *img = NULL;
	if (husk_store_open(e->root, &s, err) < 0)
		return -1;
	/* in the store as given (a name or an id), or the built-in busybox
	 * that the engine makes when needed */
	bool builtin = strcmp(image, "busybox") == 0 || strcmp(image, "busybox:latest") == 0;
	if (husk_store_find(s, image, &img, NULL) == 0 || builtin) {
		husk_image_free(img);
		husk_store_close(s);
		*ret_name = strdup(image);
		return 0;
	}
	/* in the store under its full name ("docker.io/library/x:latest") */
	struct husk_ref *ref = NULL;
	if (husk_ref_parse(image, &ref, NULL) == 0) {
		cleanup_free char *full = husk_ref_string(ref);
		husk_ref_free(ref);
		if (full && husk_store_find(s, full, &img, NULL) == 0) {
			husk_image_free(img);
			husk_store_close(s);
			*ret_name = steal_ptr(full);
			return 0;
		}
	}
	husk_store_close(s);
	return husk_fail_as(err, ENOENT, "image \"%s\" is not in the store", image);
}

/* --- images, image inspect --- */

void husk_image_rows_free(struct husk_image_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].id);
		free(v[i].digest);
	}
	free(v);
}

static int by_created(const void *a, const void *b)
{
	const struct husk_image *x = *(struct husk_image *const *)a;
	const struct husk_image *y = *(struct husk_image *const *)b;
	if (x->created != y->created)
		return x->created < y->created ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* A store name's repository: "a/b:1" -> "a/b"; NULL for a name that is a
 * digest (an image loaded without one) */
static char *repo_of(const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *at = strchr(name, '@');
	const char *colon = strchr(slash ? slash : name, ':');
	if (strncmp(name, "sha256:", 7) == 0)
		return NULL;
	if (at)
		return strndup(name, (size_t)(at - name));
	if (colon)
		return strndup(name, (size_t)(colon - name));
	return strdup(name);
}

/* images --filter: reference, Docker's (distribution's FamiliarMatch):
 * the pattern as Go's path.Match takes it, where '*' and '?' stop at '/'
 * as fnmatch's do with FNM_PATHNAME, against name:tag and the name alone;
 * husk shows a pulled image as docker.io/library/x, Docker as x: both */
static bool reference_matches(const char *pattern, const char *name)
{
	const char *familiar = name;
	if (strncmp(name, "docker.io/library/", 18) == 0)
		familiar = name + 18;
	else if (strncmp(name, "docker.io/", 10) == 0)
		familiar = name + 10;
	const char *const forms[] = {name, familiar};
	for (size_t i = 0; i < (familiar == name ? 1 : 2); i++) {
		cleanup_free char *repo = repo_of(forms[i]);
		if (!repo) /* a dangling name: no reference to match */
			return false;
		if (fnmatch(pattern, forms[i], FNM_PATHNAME) == 0 ||
		    fnmatch(pattern, repo, FNM_PATHNAME) == 0)
			return true;
	}
	return false;
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

void husk_image_filter_release(struct husk_image_filter *f)
{
	if (!f)
		return;
	strv_free(f->references);
	strv_free(f->before);
	strv_free(f->since);
	husk_prune_filter_release(&f->match);
	memset(f, 0, sizeof(*f));
}

/* before= and since= as times: of the oldest image named (before), of the
 * newest (since), as moby ANDs several values of one of them; 0 when none
 * is given or none has a known time */
static int filter_bound(struct husk_store *s, const char *key, char *const *refs, bool newest,
			long long *ret, husk_error **err)
{
	*ret = 0;
	for (size_t i = 0; refs && refs[i]; i++) {
		struct husk_image *img = NULL;
		if (husk_store_find(s, refs[i], &img, err) < 0)
			return husk_error_wrap(err, "--filter \"%s=%s\"", key, refs[i]);
		long long t = img->created_ns;
		husk_image_free(img);
		if (t && (!*ret || (newest ? t > *ret : t < *ret)))
			*ret = t;
	}
	return 0;
}

static bool filter_keep(const struct husk_image_filter *f, long long before_ns, long long since_ns,
			const struct husk_image *img)
{
	bool dangling = strncmp(img->name, "sha256:", 7) == 0;
	if ((f->dangling == HUSK_DANGLING_ONLY && !dangling) ||
	    (f->dangling == HUSK_DANGLING_NONE && dangling))
		return false;
	bool any = !f->references;
	for (size_t i = 0; f->references && f->references[i] && !any; i++)
		any = reference_matches(f->references[i], img->name);
	if (!any)
		return false;
	long long t = img->created_ns;
	if (!t && (before_ns || since_ns || f->match.until_ns))
		return false;
	if ((before_ns && t >= before_ns) || (since_ns && t <= since_ns))
		return false;
	json_t *labels = json_object_get(json_object_get(img->config, "config"), "Labels");
	return husk_prune_filter_match(&f->match, labels, t);
}

int husk_engine_image_list(struct husk_engine *e, const struct husk_image_filter *f,
			   struct husk_image_row **ret, size_t *ret_n, husk_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	struct husk_store *s = NULL;
	if (husk_store_open(e->root, &s, err) < 0)
		return -1;
	long long before_ns = 0, since_ns = 0;
	if (f && (filter_bound(s, "before", f->before, false, &before_ns, err) < 0 ||
		  filter_bound(s, "since", f->since, true, &since_ns, err) < 0)) {
		husk_store_close(s);
		return -1;
	}
	struct husk_image **v = NULL;
	size_t n = 0;
	if (husk_store_list(s, &v, &n, err) < 0) {
		husk_store_close(s);
		return -1;
	}
	qsort(v, n, sizeof(*v), by_created);
	struct husk_image_row *out = calloc(n + 1, sizeof(*out));
	if (!out)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (f && !filter_keep(f, before_ns, since_ns, v[i])) {
			husk_image_free(v[i]);
			continue;
		}
		husk_error *derr = NULL;
		if (husk_store_manifest_digest(s, v[i]->name, &out[k].digest, &derr) < 0)
			husk_error_free(derr);
		out[k].name = steal_ptr(v[i]->name);
		out[k].id = steal_ptr(v[i]->id);
		out[k].size = v[i]->size;
		out[k].created = v[i]->created;
		husk_image_free(v[i]);
		k++;
	}
	free(v);
	husk_store_close(s);
	*ret = out;
	*ret_n = k;
	return 0;
}

/* "sha256:<hex>" -> "<hex>" */
static const char *hex_of(const char *id)
{
	const char *c = strchr(id, ':');
	return c ? c + 1 : id;
}

static int cmp_json_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
		      json_string_value(*(json_t *const *)b));
}

/* Sort a list of strings in place. */
static void sort_strings(json_t *list)
{
	size_t n = json_array_size(list);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(list, i));
	qsort(v, n, sizeof(*v), cmp_json_str);
	json_array_clear(list);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, v[i]);
	free(v);
}

/* RepoDigests: repo@<manifest digest> for each repo that names the image. */
static void add_repo_digest(json_t *list, const char *name, const char *digest)
{
	cleanup_free char *repo = repo_of(name);
	if (!repo || !digest)
		return;
	cleanup_free char *rd = husk_strdup_printf("%s@%s", repo, digest);
	size_t i;
	json_t *e;
	json_array_foreach (list, i, e)
		if (strcmp(json_string_value(e), rd) == 0)
			return;
	json_array_append_new(list, json_string(rd));
}

static json_t *str_or(json_t *v, const char *dflt)
{
	return json_string(json_string_value(v) ? json_string_value(v) : dflt);
}

/* What podman's `image inspect` shows of an image, from the store. */
static json_t *inspect_one(struct husk_store *s, struct husk_image *img, struct husk_image **all,
			   size_t n_all)
{
	cleanup_free char *digest = NULL;
	husk_error *err = NULL;
	if (husk_store_manifest_digest(s, img->name, &digest, &err) < 0)
		husk_error_free(err);
	json_t *tags = json_array(), *digests = json_array();
	for (size_t i = 0; i < n_all; i++) {
		if (strcmp(all[i]->id, img->id) != 0)
			continue;
		const char *name = all[i]->name;
		cleanup_free char *d = NULL;
		err = NULL;
		if (husk_store_manifest_digest(s, name, &d, &err) < 0)
			husk_error_free(err);
		if (strncmp(name, "sha256:", 7) != 0 && !strchr(name, '@'))
			json_array_append_new(tags, json_string(name));
		add_repo_digest(digests, name, d);
	}
	sort_strings(tags);
	json_t *cfg = img->config;
	json_t *rootfs = json_object_get(cfg, "rootfs");
	json_t *inner = json_object_get(cfg, "config");
	json_t *o = json_object();
	json_object_set_new(o, "Id", json_string(hex_of(img->id)));
	json_object_set_new(o, "Digest", digest ? json_string(digest) : json_null());
	json_object_set_new(o, "RepoTags", tags);
	json_object_set_new(o, "RepoDigests", digests);
	json_object_set_new(o, "Created",
			    str_or(json_object_get(cfg, "created"), "0001-01-01T00:00:00Z"));
	json_object_set(o, "Architecture",
			json_object_get(cfg, "architecture") ? json_object_get(cfg, "architecture")
							     : json_string(""));
	json_object_set(o, "Os",
			json_object_get(cfg, "os") ? json_object_get(cfg, "os") : json_string(""));
	json_object_set_new(o, "Author", str_or(json_object_get(cfg, "author"), ""));
	json_object_set_new(o, "Config",
			    json_is_object(inner) ? json_deep_copy(inner) : json_object());
	json_t *layers = json_object_get(rootfs, "diff_ids");
	json_object_set_new(o, "RootFS",
			    json_pack("{s:o,s:o}", "Type",
				      str_or(json_object_get(rootfs, "type"), "layers"), "Layers",
				      layers ? json_incref(layers) : json_array()));
	json_t *hist = json_object_get(cfg, "history");
	json_object_set_new(o, "History",
			    json_is_array(hist) ? json_deep_copy(hist) : json_array());
	json_object_set_new(o, "Size", json_integer(img->size));
	json_t *labels = json_object_get(inner, "Labels");
	json_object_set_new(o, "Labels",
			    json_is_object(labels) ? json_deep_copy(labels) : json_null());
	return o;
}

int husk_engine_image_inspect(struct husk_engine *e, const char *ref, json_t **ret,
			      husk_error **err)
{
	*ret = NULL;
	struct husk_store *s = NULL;
	if (husk_store_open(e->root, &s, err) < 0)
		return -1;
	struct husk_image **all = NULL;
	size_t n_all = 0;
	struct husk_image *img = NULL;
	int r = husk_store_list(s, &all, &n_all, err);
	if (r == 0 && husk_store_find(s, ref, &img, err) < 0) {
		husk_error_wrap(err, "inspect");
		r = -1;
	}
	if (r == 0)
		*ret = inspect_one(s, img, all, n_all);
	husk_image_free(img);
	for (size_t i = 0; i < n_all; i++)
		husk_image_free(all[i]);
	free(all);
	husk_store_close(s);
	return r < 0 ? -1 : 0;
}

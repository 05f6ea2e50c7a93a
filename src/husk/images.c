/* The image commands of the engine's command line: images, load, save,
 * import, tag, rmi, image ls|rm|prune|inspect|tag|save.
 *
 * --format takes the template subset of template.h.  `husk images`
 * knows {{.Repository}} {{.Tag}} {{.ID}} {{.Digest}} {{.Size}}
 * {{.CreatedAt}} {{.CreatedSince}}; `husk image inspect` the top-level
 * keys of its JSON (Id or ID, Digest, RepoTags, RepoDigests, Created,
 * Architecture, Os, Author, Config, RootFS, History, Size, Labels) and
 * what lies below them ({{.Config.Cmd}}, {{.RootFS.Layers}}). */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "cli.h"
#include "engine.h"
#include "image.h"
#include "template.h"
#include "util.h"

/* --- shared --- */

static int open_store(struct husk_store **s)
{
	husk_error *err = NULL;
	if (husk_store_open(eng.root, s, &err) < 0)
		return fail(err);
	return 0;
}

/* "sha256:<hex>" -> "<hex>" */
static const char *hex_of(const char *id)
{
	const char *c = strchr(id, ':');
	return c ? c + 1 : id;
}

/* A store name as REPOSITORY and TAG: "a/b:1" -> "a/b" "1"; a name that is
 * a digest (an image loaded without one) -> <none> <none>. */
static void split_name(const char *name, char **repo, char **tag)
{
	const char *slash = strrchr(name, '/');
	const char *at = strchr(name, '@');
	const char *colon = strchr(slash ? slash : name, ':');
	if (strncmp(name, "sha256:", 7) == 0) {
		*repo = strdup("<none>");
		*tag = strdup("<none>");
	} else if (at) {
		*repo = strndup(name, (size_t)(at - name));
		*tag = strdup("<none>");
	} else if (colon) {
		*repo = strndup(name, (size_t)(colon - name));
		*tag = strdup(colon + 1);
	} else {
		*repo = strdup(name);
		*tag = strdup("latest");
	}
}

/* Sizes as docker prints them: decimal units, 3 significant digits. */
static void human_size(long long bytes, char *out, size_t n)
{
	static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	double v = (double)bytes;
	size_t i = 0;
	while (v >= 1000 && i + 1 < ARRAY_SIZE(units)) {
		v /= 1000;
		i++;
	}
	snprintf(out, n, "%.3g%s", v, units[i]);
}

/* "2 hours ago", as docker's CREATED column says it. */
static void human_since(long long created, char *out, size_t n)
{
	if (created <= 0) {
		snprintf(out, n, "N/A");
		return;
	}
	char d[48];
	cli_human_duration((long long)time(NULL) - created, d, sizeof(d));
	snprintf(out, n, "%s ago", d);
}

static void created_at(long long created, char *out, size_t n)
{
	time_t t = (time_t)created;
	struct tm tm;
	if (created <= 0 || !gmtime_r(&t, &tm) ||
	    !strftime(out, n, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm))
		snprintf(out, n, "N/A");
}

static int by_created(const void *a, const void *b)
{
	const struct husk_image *x = *(struct husk_image *const *)a;
	const struct husk_image *y = *(struct husk_image *const *)b;
	if (x->created != y->created)
		return x->created < y->created ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* --- images --- */

static const char *const image_fields[] = {"Repository", "Tag",	      "ID",	      "Digest",
					   "Size",	 "CreatedAt", "CreatedSince", NULL};

/* `husk images busybox`, `husk images a:1`; shell globs work in both halves */
static bool matches(const char *filter, const char *repo, const char *tag)
{
	if (!filter)
		return true;
	const char *slash = strrchr(filter, '/');
	const char *colon = strchr(slash ? slash : filter, ':');
	cleanup_free char *frepo =
		colon ? strndup(filter, (size_t)(colon - filter)) : strdup(filter);
	if (!frepo || fnmatch(frepo, repo, 0) != 0)
		return false;
	return !colon || fnmatch(colon + 1, tag, 0) == 0;
}

const struct cli_flag images_flags[] = {
	{"all", 'a', NULL, "every image (husk keeps no intermediate ones)"},
	{"quiet", 'q', NULL, "only the ids"},
	{"digests", 0, NULL, "show the digests", 'D'},
	{"no-trunc", 0, NULL, "whole ids", 'T'},
	{"format", 0, "TEMPLATE", "each image through a Go template ({{.Repository}}...)", 'F'},
	{0},
};

int cmd_images(int argc, char **argv)
{
	bool quiet = false, digests = false, no_trunc = false;
	const char *format = NULL;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'D':
			digests = true;
			break;
		case 'T':
			no_trunc = true;
			break;
		case 'F':
			format = optarg;
			break;
		case 'a': /* every image is listed anyway: no intermediate images */
			break;
		default:
			return 125;
		}
	}
	if (cli_operands(argc, argv, 0, 1))
		return 125;
	const char *filter = optind < argc ? argv[optind] : NULL;
	husk_error *err = NULL;
	struct husk_tmpl *tmpl = NULL;
	if (format && cli_tmpl_parse(format, image_fields, &tmpl, &err) < 0)
		return fail(err);
	struct husk_store *s = NULL;
	if (open_store(&s) != 0) {
		husk_tmpl_free(tmpl);
		return 125;
	}
	struct husk_image **v = NULL;
	size_t n = 0;
	if (husk_store_list(s, &v, &n, &err) < 0) {
		husk_tmpl_free(tmpl);
		husk_store_close(s);
		return fail(err);
	}
	qsort(v, n, sizeof(*v), by_created);
	/* rows of columns, printed once the widths are known */
	json_t *rows = json_array();
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *repo = NULL, *tag = NULL, *digest = NULL;
		split_name(v[i]->name, &repo, &tag);
		if (!repo || !tag || !matches(filter, repo, tag))
			continue;
		if (husk_store_manifest_digest(s, v[i]->name, &digest, &err) < 0) {
			husk_error_free(err);
			err = NULL;
		}
		char id[80], size[32], since[64], at[64];
		snprintf(id, sizeof(id), no_trunc ? "%s" : "%.12s",
			 no_trunc ? v[i]->id : hex_of(v[i]->id));
		human_size(v[i]->size, size, sizeof(size));
		human_since(v[i]->created, since, sizeof(since));
		created_at(v[i]->created, at, sizeof(at));
		if (quiet) {
			printf("%s\n", id);
			continue;
		}
		json_t *row = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Repository", repo, "Tag",
					tag, "ID", id, "Digest", digest ? digest : "<none>", "Size",
					size, "CreatedAt", at, "CreatedSince", since);
		if (tmpl) {
			rc = cli_print_tmpl(tmpl, row);
			json_decref(row);
			if (rc)
				break;
		} else {
			json_array_append_new(rows, row);
		}
	}
	if (!quiet && !tmpl && rc == 0) {
		static const char *const cols[] = {"REPOSITORY", "TAG",	    "DIGEST",
						   "IMAGE ID",	 "CREATED", "SIZE"};
		static const char *const keys[] = {"Repository", "Tag",		 "Digest",
						   "ID",	 "CreatedSince", "Size"};
		static const char *const nodigest_cols[] = {"REPOSITORY", "TAG", "IMAGE ID",
							    "CREATED", "SIZE"};
		static const char *const nodigest_keys[] = {"Repository", "Tag", "ID",
							    "CreatedSince", "Size"};
		if (digests)
			cli_print_table(cols, keys, ARRAY_SIZE(cols), rows);
		else
			cli_print_table(nodigest_cols, nodigest_keys, ARRAY_SIZE(nodigest_cols),
					rows);
	}
	json_decref(rows);
	for (size_t i = 0; i < n; i++)
		husk_image_free(v[i]);
	free(v);
	husk_tmpl_free(tmpl);
	husk_store_close(s);
	return rc;
}

const struct cli_flag load_flags[] = {
	{"input", 'i', "FILE", "the archive (oci-archive or docker-archive); default: stdin"},
	{"quiet", 'q', NULL, "taken as Docker's (husk prints no progress)"},
	{0},
};

/* Docker's image event for ref (the id it has now in the store): name is
 * the event's name attribute, NULL for ref itself */
static void image_event(struct husk_store *s, const char *action, const char *ref, const char *name)
{
	struct husk_image *img = NULL;
	if (husk_store_find(s, ref, &img, NULL) < 0)
		return;
	husk_engine_image_event(&eng, action, img->id, name ? name : ref);
	husk_image_free(img);
}

/* untag, and delete when no name is left on the id, as Docker's rmi */
static void untag_events(struct husk_store *s, const char *id)
{
	husk_engine_image_event(&eng, "untag", id, id);
	struct husk_image *img = NULL;
	if (husk_store_find(s, id, &img, NULL) == 0)
		husk_image_free(img);
	else
		husk_engine_image_event(&eng, "delete", id, id);
}

int cmd_load(int argc, char **argv)
{
	const char *in = NULL;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'i')
			in = optarg;
		else if (c != 'q')
			return 125;
	}
	if (cli_operands(argc, argv, 0, 0))
		return 125;
	/* Docker's: the archive on stdin, never from a terminal */
	if (!in || strcmp(in, "-") == 0) {
		if (isatty(STDIN_FILENO))
			return failf(
				"load: requested load from stdin, but stdin is a terminal: use "
				"-i FILE or a redirect");
		in = "/dev/stdin";
	}
	husk_error *err = NULL;
	struct husk_store *s = NULL;
	if (husk_store_open(eng.root, &s, &err) < 0)
		return fail(err);
	char **names = NULL;
	int r = husk_store_load(s, in, &names, &err);
	for (char **p = names; r == 0 && p && *p; p++)
		image_event(s, "load", *p, NULL);
	husk_store_close(s);
	if (r < 0)
		return fail(err);
	for (char **p = names; p && *p; p++) {
		printf("Loaded image: %s\n", *p);
		free(*p);
	}
	free(names);
	return 0;
}

const struct cli_flag import_flags[] = {
	{"change", 'c', "INSTRUCTION",
	 "a Dockerfile instruction for the image's config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
	 "ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL (repeatable)"},
	{"message", 'm', "MESSAGE", "a comment for the image's history"},
	{0},
};

int cmd_import(int argc, char **argv)
{
	struct husk_commit_opts o = {0};
	cleanup_free const char **changes = calloc((size_t)argc + 1, sizeof(char *));
	if (!changes)
		abort();
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'c')
			changes[o.n_changes++] = optarg;
		else if (c == 'm')
			o.message = optarg;
		else
			return 125;
	}
	if (cli_operands(argc, argv, 1, 2))
		return 125;
	o.changes = changes;
	o.name = optind + 1 < argc ? argv[optind + 1] : NULL;
	const char *in = argv[optind];
	if (strcmp(in, "-") == 0) {
		if (isatty(STDIN_FILENO))
			return failf("import: the tarball on stdin, but stdin is a terminal");
		in = "/dev/stdin";
	}
	husk_error *err = NULL;
	struct husk_store *s = NULL;
	if (husk_store_open(eng.root, &s, &err) < 0)
		return fail(err);
	char *id = NULL;
	int r = husk_store_import(s, in, &o, &id, &err);
	if (r == 0)
		husk_engine_image_event(&eng, "import", id, o.name ? o.name : id);
	husk_store_close(s);
	if (r < 0)
		return fail(err);
	printf("%s\n", id);
	free(id);
	return 0;
}

const struct cli_flag rmi_flags[] = {
	{"force", 'f', NULL, "taken as Docker's; an image a container uses stays"},
	{0},
};

int cmd_rmi(int argc, char **argv)
{
	int c;
	/* -f is taken as Docker's, but an image a container was made from
	 * stays either way: its layers are that container's root */
	while ((c = cli_getopt(argc, argv)) != -1)
		if (c != 'f')
			return 125;
	if (cli_operands(argc, argv, 1, -1))
		return 125;
	husk_error *err = NULL;
	struct husk_store *s = NULL;
	if (husk_store_open(eng.root, &s, &err) < 0)
		return fail(err);
	struct husk_ctr *v = NULL;
	size_t n = 0;
	husk_engine_list(&eng, &v, &n, NULL);
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		struct husk_image *img = NULL;
		if (husk_store_find(s, argv[i], &img, &err) < 0) {
			rc = fail(err);
			err = NULL;
			continue;
		}
		/* an image a container was made from stays: its layers are
		 * that container's root */
		const char *user = NULL;
		for (size_t k = 0; k < n; k++)
			if (strcmp(v[k].image, img->name) == 0)
				user = v[k].name;
		if (user) {
			rc = failf("image \"%s\" is used by container \"%s\": remove it first",
				   img->name, user);
		} else if (husk_store_remove(s, img->name, &err) < 0) {
			rc = fail(err);
			err = NULL;
		} else {
			printf("Untagged: %s\n", img->name);
			untag_events(s, img->id);
		}
		husk_image_free(img);
	}
	husk_engine_list_free(v, n);
	long long freed = 0;
	if (rc == 0 && husk_store_prune(s, &freed, &err) < 0)
		rc = fail(err);
	husk_store_close(s);
	return rc;
}

/* --- save, tag --- */

const struct cli_flag save_flags[] = {
	{"output", 'o', "FILE", "write to FILE (default stdout, never a terminal)"},
	{"format", 0, "FORMAT", "oci-archive (default) or docker-archive", 'F'},
	{0},
};

int cmd_save(int argc, char **argv)
{
	const char *out = NULL;
	enum husk_save_format format = HUSK_SAVE_OCI_ARCHIVE;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'o') {
			out = optarg;
		} else if (c == 'F' && strcmp(optarg, "oci-archive") == 0) {
			format = HUSK_SAVE_OCI_ARCHIVE;
		} else if (c == 'F' && strcmp(optarg, "docker-archive") == 0) {
			format = HUSK_SAVE_DOCKER_ARCHIVE;
		} else if (c == 'F') {
			return cli_usage_error(
				"--format \"%s\": expected oci-archive or docker-archive", optarg);
		} else {
			return 125;
		}
	}
	if (cli_operands(argc, argv, 1, -1))
		return 125;
	bool to_stdout = out ? strcmp(out, "-") == 0 : true;
	if (to_stdout && isatty(STDOUT_FILENO))
		return failf("save: refusing to write an archive to a terminal: use -o FILE");
	struct husk_store *s = NULL;
	if (open_store(&s) != 0)
		return 125;
	husk_error *err = NULL;
	const char *const *refs = (const char *const *)argv + optind;
	size_t n = (size_t)(argc - optind);
	int r = to_stdout ? husk_store_save_fd(s, refs, n, format, STDOUT_FILENO, &err)
			  : husk_store_save(s, refs, n, format, out, &err);
	for (size_t i = 0; r == 0 && i < n; i++)
		image_event(s, "save", refs[i], NULL);
	husk_store_close(s);
	return r < 0 ? fail(err) : 0;
}

int cmd_tag(int argc, char **argv)
{
	if (cli_getopt(argc, argv) != -1 || cli_operands(argc, argv, 2, 2))
		return 125;
	struct husk_store *s = NULL;
	if (open_store(&s) != 0)
		return 125;
	husk_error *err = NULL;
	int r = husk_store_tag(s, argv[optind], argv[optind + 1], &err);
	if (r == 0) {
		cleanup_free char *name = husk_image_ref_normalize(argv[optind + 1]);
		image_event(s, "tag", name, NULL);
	}
	husk_store_close(s);
	return r < 0 ? fail(err) : 0;
}

/* --- image inspect --- */

static const char *const inspect_fields[] = {
	"Id",	   "ID",	   "Digest", "RepoTags", "RepoDigests",
	"Created", "Architecture", "Os",     "Author",	 "Config",
	"RootFS",  "History",	   "Size",   "Labels",	 NULL};

static int cmp_json_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
		      json_string_value(*(json_t *const *)b));
}

/* Sort a list of strings in place. */
static void json_array_sort_strings_(json_t *list)
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
	cleanup_free char *repo = NULL, *tag = NULL;
	split_name(name, &repo, &tag);
	if (!repo || !digest || strcmp(repo, "<none>") == 0)
		return;
	cleanup_free char *rd = husk_strdup_printf("%s@%s", repo, digest);
	size_t i;
	json_t *e;
	json_array_foreach (list, i, e)
		if (strcmp(json_string_value(e), rd) == 0)
			return;
	json_array_append_new(list, json_string(rd));
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
		if (husk_store_manifest_digest(s, name, &d, &err) < 0) {
			husk_error_free(err);
			err = NULL;
		}
		if (strncmp(name, "sha256:", 7) != 0 && !strchr(name, '@'))
			json_array_append_new(tags, json_string(name));
		add_repo_digest(digests, name, d);
	}
	json_array_sort_strings_(tags);
	json_t *cfg = img->config;
	json_t *rootfs = json_object_get(cfg, "rootfs");
	json_t *inner = json_object_get(cfg, "config");
	const char *created = json_string_value(json_object_get(cfg, "created"));
	json_t *o = json_object();
	json_object_set_new(o, "Id", json_string(hex_of(img->id)));
	json_object_set_new(o, "Digest", digest ? json_string(digest) : json_null());
	json_object_set_new(o, "RepoTags", tags);
	json_object_set_new(o, "RepoDigests", digests);
	json_object_set_new(o, "Created", json_string(created ? created : "0001-01-01T00:00:00Z"));
	json_object_set(o, "Architecture",
			json_object_get(cfg, "architecture") ? json_object_get(cfg, "architecture")
							     : json_string(""));
	json_object_set(o, "Os",
			json_object_get(cfg, "os") ? json_object_get(cfg, "os") : json_string(""));
	json_object_set_new(o, "Author",
			    json_string(json_string_value(json_object_get(cfg, "author"))
						? json_string_value(json_object_get(cfg, "author"))
						: ""));
	json_object_set_new(o, "Config",
			    json_is_object(inner) ? json_deep_copy(inner) : json_object());
	json_object_set_new(o, "RootFS",
			    json_pack("{s:s,s:O}", "Type",
				      json_string_value(json_object_get(rootfs, "type"))
					      ? json_string_value(json_object_get(rootfs, "type"))
					      : "layers",
				      "Layers",
				      json_object_get(rootfs, "diff_ids")
					      ? json_object_get(rootfs, "diff_ids")
					      : json_array()));
	json_t *hist = json_object_get(cfg, "history");
	json_object_set_new(o, "History",
			    json_is_array(hist) ? json_deep_copy(hist) : json_array());
	json_object_set_new(o, "Size", json_integer(img->size));
	json_t *labels = json_object_get(inner, "Labels");
	json_object_set_new(o, "Labels",
			    json_is_object(labels) ? json_deep_copy(labels) : json_null());
	return o;
}

const struct cli_flag image_inspect_flags[] = {
	{"format", 'f', "TEMPLATE", "print through a Go template ({{.Id}}, {{.Config.Cmd}}...)"},
	{0},
};

int cmd_image_inspect(int argc, char **argv)
{
	const char *format = NULL;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c != 'f')
			return 125;
		format = optarg;
	}
	if (cli_operands(argc, argv, 1, -1))
		return 125;
	husk_error *err = NULL;
	struct husk_tmpl *tmpl = NULL;
	if (format && husk_tmpl_parse(format, inspect_fields, &tmpl, &err) < 0)
		return fail(err);
	struct husk_store *s = NULL;
	if (open_store(&s) != 0) {
		husk_tmpl_free(tmpl);
		return 125;
	}
	struct husk_image **all = NULL;
	size_t n_all = 0;
	if (husk_store_list(s, &all, &n_all, &err) < 0) {
		husk_tmpl_free(tmpl);
		husk_store_close(s);
		return fail(err);
	}
	json_t *out = json_array();
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		struct husk_image *img = NULL;
		if (husk_store_find(s, argv[i], &img, &err) < 0) {
			husk_error_wrap(&err, "inspect");
			rc = fail(err);
			err = NULL;
			continue;
		}
		json_t *o = inspect_one(s, img, all, n_all);
		husk_image_free(img);
		if (!tmpl) {
			json_array_append_new(out, o);
			continue;
		}
		/* podman's Go field is ID, docker's JSON key Id: both work */
		json_object_set(o, "ID", json_object_get(o, "Id"));
		if (cli_print_tmpl(tmpl, o))
			rc = 125;
		json_decref(o);
	}
	if (!tmpl && (json_array_size(out) > 0 || rc == 0)) {
		char *text = json_dumps(out, JSON_INDENT(4));
		if (text)
			printf("%s\n", text);
		free(text);
	}
	json_decref(out);
	for (size_t i = 0; i < n_all; i++)
		husk_image_free(all[i]);
	free(all);
	husk_tmpl_free(tmpl);
	husk_store_close(s);
	return rc;
}

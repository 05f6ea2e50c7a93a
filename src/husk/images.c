/* The image commands of the engine's command line: images, load, save,
 * import, tag, rmi, image ls|rm|prune|inspect|tag|save.
 *
 * --format takes the template subset of template.h.  `husk images`
 * knows {{.Repository}} {{.Tag}} {{.ID}} {{.Digest}} {{.Size}}
 * {{.CreatedAt}} {{.CreatedSince}}; `husk image inspect` the top-level
 * keys of its JSON (Id or ID, Digest, RepoTags, RepoDigests, Created,
 * Architecture, Os, Author, Config, RootFS, History, Size, Labels) and
 * what lies below them ({{.Config.Cmd}}, {{.RootFS.Layers}}).
 *
 * images --filter parses Docker's keys into a husk_image_filter; the
 * engine resolves before= and since= and matches (engine/images.c). */
#define _GNU_SOURCE
#include <errno.h>
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

/* --- images --- */

static const char *const image_fields[] = {"Repository", "Tag",	      "ID",	      "Digest",
					   "Size",	 "CreatedAt", "CreatedSince", NULL};

const struct cli_flag images_flags[] = {
	{"all", 'a', NULL, "every image (husk keeps no intermediate ones)"},
	{"quiet", 'q', NULL, "only the ids"},
	{"digests", 0, NULL, "show the digests", 'D'},
	{"no-trunc", 0, NULL, "whole ids", 'T'},
	{"format", 0, "TEMPLATE", "each image through a Go template ({{.Repository}}...)", 'F'},
	{"filter", 'f', "KEY=VALUE",
	 "only images that match: dangling=true|false, label=KEY[=VALUE], label!=..., "
	 "reference=PATTERN, before=IMAGE, since=IMAGE, until=TIME"},
	{0},
};

/* one --filter of images into f, as Docker's daemon takes them; 0, or 125
 * after saying what is wrong */
static int image_filter_add(struct husk_image_filter *f, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t kl = eq ? (size_t)(eq - arg) : 0;
	const char *val = eq ? eq + 1 : "";
#define KEY(k) (kl == strlen(k) && strncmp(arg, (k), kl) == 0)
	if (KEY("label") || KEY("label!"))
		return cli_prune_filter(&f->match, arg);
	if (!eq || kl == 0 || !*val)
		return cli_usage_error("--filter \"%s\": expected KEY=VALUE", arg);
	size_t n = 0;
	if (KEY("dangling")) {
		bool yes = strcmp(val, "true") == 0 || strcmp(val, "1") == 0;
		bool no = strcmp(val, "false") == 0 || strcmp(val, "0") == 0;
		enum husk_dangling d = yes ? HUSK_DANGLING_ONLY : HUSK_DANGLING_NONE;
		if (!yes && !no)
			return cli_usage_error("--filter \"%s\": dangling is true or false", arg);
		if (f->dangling != HUSK_DANGLING_ANY && f->dangling != d)
			return cli_usage_error(
				"--filter \"%s\": dangling given both true and false", arg);
		f->dangling = d;
		return 0;
	}
	if (KEY("until")) {
		/* several: the earliest, as moby's */
		int64_t ns = 0;
		if (cli_parse_time(val, &ns) < 0 || ns <= 0)
			return cli_usage_error(
				"--filter \"%s\": expected a time (2026-12-06T19:50:31Z, Unix "
				"seconds) or a duration (10m)",
				arg);
		if (!f->match.until_ns || ns < f->match.until_ns)
			f->match.until_ns = ns;
		return 0;
	}
	char ***list = KEY("reference") ? &f->references
		       : KEY("before")	? &f->before
		       : KEY("since")	? &f->since
					: NULL;
#undef KEY
	if (!list)
		return cli_usage_error(
			"--filter \"%s\": unknown filter \"%.*s\": husk filters images "
			"by dangling, label, label!, reference, before, since and until",
			arg, (int)kl, arg);
	while (*list && (*list)[n])
		n++;
	husk_strv_push(list, &n, husk_strdup_printf("%s", val));
	return 0;
}

int cmd_images(int argc, char **argv)
{
	bool quiet = false, digests = false, no_trunc = false;
	const char *format = NULL;
	struct husk_image_filter f = {0};
	int c, rc = 0;
	while (rc == 0 && (c = cli_getopt(argc, argv)) != -1) {
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
		case 'f':
			rc = image_filter_add(&f, optarg);
			break;
		case 'a': /* every image is listed anyway: no intermediate images */
			break;
		default:
			rc = 125;
		}
	}
	/* `husk images busybox`, `husk images 'a:v*'`: Docker's CLI makes the
	 * operand one more reference filter */
	if (rc == 0 && (rc = cli_operands(argc, argv, 0, 1)) == 0 && optind < argc &&
	    *argv[optind]) {
		cleanup_free char *ref = husk_strdup_printf("reference=%s", argv[optind]);
		rc = image_filter_add(&f, ref);
	}
	husk_error *err = NULL;
	struct husk_tmpl *tmpl = NULL;
	if (rc == 0 && format && cli_tmpl_parse(format, image_fields, &tmpl, &err) < 0)
		rc = fail(err);
	struct husk_image_row *v = NULL;
	size_t n = 0;
	if (rc == 0 && husk_engine_image_list(&eng, &f, &v, &n, &err) < 0)
		rc = fail(err);
	husk_image_filter_release(&f);
	if (rc) {
		husk_tmpl_free(tmpl);
		return rc;
	}
	/* rows of columns, printed once the widths are known */
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *repo = NULL, *tag = NULL;
		const char *digest = v[i].digest;
		split_name(v[i].name, &repo, &tag);
		if (!repo || !tag)
			continue;
		char id[80], size[32], since[64], at[64];
		snprintf(id, sizeof(id), no_trunc ? "%s" : "%.12s",
			 no_trunc ? v[i].id : hex_of(v[i].id));
		human_size(v[i].size, size, sizeof(size));
		human_since(v[i].created, since, sizeof(since));
		created_at(v[i].created, at, sizeof(at));
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
	husk_image_rows_free(v, n);
	husk_tmpl_free(tmpl);
	return rc;
}

const struct cli_flag load_flags[] = {
	{"input", 'i', "FILE", "the archive (oci-archive or docker-archive); default: stdin"},
	{"quiet", 'q', NULL, "taken as Docker's (husk prints no progress)"},
	{0},
};

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
	char **names = NULL;
	if (husk_engine_image_load(&eng, in, &names, &err) < 0)
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
	{"platform", 0, "PLATFORM", "linux/amd64 (the host's; others are refused)", 'P'},
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
		else if (c != 'P' || cli_check_platform(optarg))
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
	char *id = NULL;
	if (husk_engine_image_import(&eng, in, &o, &id, &err) < 0)
		return fail(err);
	printf("%s\n", id);
	free(id);
	return 0;
}

const struct cli_flag rmi_flags[] = {
	{"force", 'f', NULL, "taken as Docker's; an image a container uses stays"},
	{"no-prune", 0, NULL, "keep untagged parents (husk's images have none: no effect)", 'N'},
	{0},
};

int cmd_rmi(int argc, char **argv)
{
	int c;
	bool force = false;
	/* -f is taken as Docker's, but an image a container was made from
	 * stays either way: its layers are that container's root */
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'N')
			continue;
		if (c != 'f')
			return 125;
		force = true;
	}
	if (cli_operands(argc, argv, 1, -1))
		return 125;
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		husk_error *err = NULL;
		char *name = NULL;
		int r = husk_engine_image_rm(&eng, argv[i], &name, &err);
		if (name)
			printf("Untagged: %s\n", name);
		if (r < 0) {
			/* -f of an image that is not there: said, not failed,
			 * as Docker's */
			bool gone = force && err && err->errnum == ENOENT;
			int f = fail(err);
			rc = gone ? rc : f;
		}
		free(name);
	}
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
	husk_error *err = NULL;
	if (husk_engine_image_save(&eng, (const char *const *)argv + optind,
				   (size_t)(argc - optind), format, to_stdout ? NULL : out,
				   STDOUT_FILENO, &err) < 0)
		return fail(err);
	return 0;
}

int cmd_tag(int argc, char **argv)
{
	if (cli_getopt(argc, argv) != -1 || cli_operands(argc, argv, 2, 2))
		return 125;
	husk_error *err = NULL;
	if (husk_engine_image_tag(&eng, argv[optind], argv[optind + 1], &err) < 0)
		return fail(err);
	return 0;
}

/* --- image inspect --- */

static const char *const inspect_fields[] = {
	"Id",	   "ID",	   "Digest", "RepoTags", "RepoDigests",
	"Created", "Architecture", "Os",     "Author",	 "Config",
	"RootFS",  "History",	   "Size",   "Labels",	 NULL};

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
	json_t *out = json_array();
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		json_t *o = NULL;
		if (husk_engine_image_inspect(&eng, argv[i], &o, &err) < 0) {
			rc = fail(err);
			err = NULL;
			continue;
		}
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
	husk_tmpl_free(tmpl);
	return rc;
}

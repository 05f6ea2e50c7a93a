/* husk volume create|ls|inspect|rm|prune: Docker's volume commands over
 * the engine's volume store (engine.h).  --format takes the template
 * subset of template.h: ls knows {{.Name}} {{.Driver}} {{.Mountpoint}}
 * {{.Labels}} {{.Scope}} {{.Links}}; inspect the keys of its JSON. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "engine.h"
#include "template.h"
#include "util.h"

/* Docker's RFC 3339, seconds only, as volume inspect shows it */
static json_t *created_at(int64_t ns)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	char buf[40];
	gmtime_r(&s, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* "K=V" strings as {"K":"V"} */
static json_t *kv_json(char **kv)
{
	json_t *o = json_object();
	for (char **p = kv; p && *p; p++) {
		const char *eq = strchr(*p, '=');
		cleanup_free char *k = eq ? strndup(*p, (size_t)(eq - *p)) : strdup(*p);
		json_object_set_new(o, k, json_string(eq ? eq + 1 : ""));
	}
	return o;
}

static json_t *inspect_json(const struct husk_vol *v)
{
	return json_pack("{s:o,s:s,s:o,s:s,s:s,s:o,s:s}", "CreatedAt", created_at(v->created_ns),
			 "Driver", "local", "Labels", kv_json(v->labels), "Mountpoint",
			 v->mountpoint, "Name", v->name, "Options", kv_json(v->options), "Scope",
			 "local");
}

/* --- create --- */

const struct cli_flag volume_create_flags[] = {
	{"label", 'l', "KEY=VALUE", "set a label (repeat for more)"},
	{"opt", 'o', "KEY=VALUE", "a driver option: type=tmpfs|none|FS, device=..., o=..."},
	{"driver", 'd', "DRIVER", "the volume driver: local (the only one)"},
	{0},
};

int cmd_volume_create(int argc, char **argv)
{
	char **labels = NULL, **options = NULL;
	size_t n_labels = 0, n_options = 0;
	int c, rc = 0;
	while (rc == 0 && (c = cli_getopt(argc, argv)) != -1) {
		if (c == 'l')
			husk_strv_push(&labels, &n_labels, optarg);
		else if (c == 'o')
			husk_strv_push(&options, &n_options, optarg);
		else if (c != 'd')
			rc = 125;
		else if (strcmp(optarg, "local") != 0)
			rc = cli_usage_error("--driver \"%s\": husk has the local driver only",
					     optarg);
	}
	if (rc == 0)
		rc = cli_operands(argc, argv, 0, 1);
	if (rc == 0) {
		struct husk_vol_create_opts o = {
			.name = optind < argc ? argv[optind] : NULL,
			.labels = labels,
			.n_labels = n_labels,
			.options = options,
			.n_options = n_options,
		};
		struct husk_vol v;
		husk_error *err = NULL;
		if (husk_engine_volume_create(&eng, &o, &v, &err) < 0) {
			rc = fail(err);
		} else {
			printf("%s\n", v.name);
			husk_vol_release(&v);
		}
	}
	free(labels);
	free(options);
	return rc;
}

/* --- ls --- */

static const char *const ls_fields[] = {"Name",	 "Driver", "Mountpoint", "Labels",
					"Label", "Scope",  "Links",	 NULL};

struct ls_filter {
	int dangling; /* -1: either */
	bool nothing; /* driver= another than local */
	char **names, **labels;
	size_t n_names, n_labels;
};

static bool has_label(const struct husk_vol *v, const char *want)
{
	const char *eq = strchr(want, '=');
	size_t kn = eq ? (size_t)(eq - want) : strlen(want);
	for (char **p = v->labels; p && *p; p++) {
		if (strncmp(*p, want, kn) != 0 || (*p)[kn] != '=')
			continue;
		if (!eq || strcmp(*p + kn + 1, eq + 1) == 0)
			return true;
	}
	return false;
}

/* Docker's filters: every label= must match, one of the name= (a part
 * of the name) must */
static bool keep(const struct ls_filter *f, const struct husk_vol *v)
{
	if (f->nothing)
		return false;
	if (f->dangling >= 0 && (v->n_users == 0) != (f->dangling == 1))
		return false;
	for (size_t i = 0; i < f->n_labels; i++)
		if (!has_label(v, f->labels[i]))
			return false;
	bool name_ok = f->n_names == 0;
	for (size_t i = 0; i < f->n_names; i++)
		name_ok |= strstr(v->name, f->names[i]) != NULL;
	return name_ok;
}

static int parse_filter(struct ls_filter *f, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq)
		return cli_usage_error("--filter \"%s\": expected KEY=VALUE", arg);
	const char *val = eq + 1;
	size_t kn = (size_t)(eq - arg);
	if (kn == 8 && strncmp(arg, "dangling", 8) == 0) {
		if (strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
			f->dangling = 1;
		else if (strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
			f->dangling = 0;
		else
			return cli_usage_error("--filter \"%s\": dangling is true or false", arg);
	} else if (kn == 4 && strncmp(arg, "name", 4) == 0) {
		husk_strv_push(&f->names, &f->n_names, (char *)val);
	} else if (kn == 5 && strncmp(arg, "label", 5) == 0) {
		husk_strv_push(&f->labels, &f->n_labels, (char *)val);
	} else if (kn == 6 && strncmp(arg, "driver", 6) == 0) {
		if (strcmp(val, "local") != 0)
			f->nothing = true;
	} else {
		return cli_usage_error("--filter \"%s\": husk filters by dangling, name, label "
				       "and driver",
				       arg);
	}
	return 0;
}

static json_t *ls_row(const struct husk_vol *v)
{
	cleanup_free char *links = husk_strdup_printf("%zu", v->n_users);
	json_t *row = json_pack("{s:s,s:s,s:s,s:s,s:s}", "Name", v->name, "Driver", "local",
				"Mountpoint", v->mountpoint, "Scope", "local", "Links", links);
	cli_row_labels(row, husk_labels_object(v->labels));
	return row;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct husk_vol *)a)->name, ((const struct husk_vol *)b)->name);
}

const struct cli_flag volume_ls_flags[] = {
	{"quiet", 'q', NULL, "only the names"},
	{"format", 0, "TEMPLATE", "each volume through a Go template ({{.Name}}, {{.Driver}}...)",
	 'F'},
	{"filter", 'f', "KEY=VALUE",
	 "dangling=true|false, name=PART, label=KEY[=VALUE], driver=local"},
	{0},
};

int cmd_volume_ls(int argc, char **argv)
{
	bool quiet = false;
	const char *format = NULL;
	struct ls_filter f = {.dangling = -1};
	int c, rc = 0;
	while (rc == 0 && (c = cli_getopt(argc, argv)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (c == 'F')
			format = optarg;
		else if (c == 'f')
			rc = parse_filter(&f, optarg);
		else
			rc = 125;
	}
	if (rc == 0)
		rc = cli_operands(argc, argv, 0, 0);
	husk_error *err = NULL;
	struct husk_tmpl *tmpl = NULL;
	if (rc == 0 && format && cli_tmpl_parse(format, ls_fields, &tmpl, &err) < 0)
		rc = fail(err);
	struct husk_vol *v = NULL;
	size_t n = 0;
	if (rc == 0 && husk_engine_volume_list(&eng, &v, &n, &err) < 0)
		rc = fail(err);
	if (rc == 0) {
		qsort(v, n, sizeof(*v), by_name);
		if (!quiet && !tmpl)
			printf("%-10s%s\n", "DRIVER", "VOLUME NAME");
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (!keep(&f, &v[i]))
				continue;
			if (quiet) {
				printf("%s\n", v[i].name);
			} else if (tmpl) {
				json_t *row = ls_row(&v[i]);
				rc = cli_print_tmpl(tmpl, row);
				json_decref(row);
			} else {
				printf("%-10s%s\n", "local", v[i].name);
			}
		}
	}
	husk_engine_volume_list_free(v, n);
	husk_tmpl_free(tmpl);
	free(f.names);
	free(f.labels);
	return rc;
}

/* --- inspect --- */

static const char *const inspect_fields[] = {"CreatedAt", "Driver",  "Labels", "Mountpoint",
					     "Name",	  "Options", "Scope",  NULL};

const struct cli_flag volume_inspect_flags[] = {
	{"format", 'f', "TEMPLATE", "print through a Go template ({{.Mountpoint}}...)"},
	{0},
};

json_t *cli_volume_json(const char *name, husk_error **err)
{
	struct husk_vol v;
	if (husk_engine_volume_get(&eng, name, &v, err) < 0)
		return NULL;
	json_t *j = inspect_json(&v);
	husk_vol_release(&v);
	return j;
}

int cmd_volume_inspect(int argc, char **argv)
{
	const char *format = NULL;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'f')
			format = optarg;
		else
			return 125;
	}
	if (cli_operands(argc, argv, 1, -1))
		return 125;
	return cli_inspect(argv + optind, (size_t)(argc - optind), format, inspect_fields,
			   cli_volume_json);
}

/* --- rm, prune --- */

const struct cli_flag volume_rm_flags[] = {
	{"force", 'f', NULL, "no error for a volume that is not there"},
	{0},
};

int cmd_volume_rm(int argc, char **argv)
{
	bool force = false;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'f')
			force = true;
		else
			return 125;
	}
	if (cli_operands(argc, argv, 1, -1))
		return 125;
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		husk_error *err = NULL;
		if (husk_engine_volume_rm(&eng, argv[i], force, &err) < 0)
			rc = fail(err);
		else
			printf("%s\n", argv[i]);
	}
	return rc;
}

/* go-units' HumanSize, as docker prints reclaimed space: 4 significant
 * digits, decimal units */
static void human_size(unsigned long long b, char *out, size_t n)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	double v = (double)b;
	size_t u = 0;
	while (v >= 1000 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1000;
		u++;
	}
	snprintf(out, n, "%.4g%s", v, units[u]);
}

const struct cli_flag volume_prune_flags[] = {
	{"force", 'f', NULL, "do not ask for confirmation"},
	{"all", 'a', NULL, "named volumes too, not only anonymous ones"},
	{"filter", 0, "KEY=VALUE",
	 "prune only what matches: until=TIME, label=KEY[=VALUE], label!=...", 'L'},
	{0},
};

static int volume_prune(bool force, bool all, const struct husk_prune_filter *f);

int cmd_volume_prune(int argc, char **argv)
{
	struct cli_prune p = {0};
	struct husk_prune_filter *f = &p.filter;
	int rc = cli_prune_args(argc, argv, &p);
	if (rc == 0)
		rc = volume_prune(p.force, p.all, f);
	husk_prune_filter_release(f);
	return rc;
}

static int volume_prune(bool force, bool all, const struct husk_prune_filter *f)
{
	if (!force) {
		printf("WARNING! This will remove %s local volumes not used by at least one "
		       "container.\nAre you sure you want to continue? [y/N] ",
		       all ? "all" : "anonymous");
		fflush(stdout);
		char line[16] = "";
		if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y'))
			return 0;
	}
	char **names = NULL;
	size_t n = 0;
	unsigned long long bytes = 0;
	husk_error *err = NULL;
	if (husk_engine_volume_prune(&eng, all, f, &names, &n, &bytes, &err) < 0)
		return fail(err);
	if (n) {
		printf("Deleted Volumes:\n");
		for (size_t i = 0; i < n; i++)
			printf("%s\n", names[i]);
		printf("\n");
	}
	char size[32];
	human_size(bytes, size, sizeof(size));
	printf("Total reclaimed space: %s\n", size);
	husk_strv_free(names, n);
	return 0;
}

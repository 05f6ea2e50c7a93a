/* The command table's readers: the flag parser every verb calls, --help,
 * the man pages and the shell completions.  All four are made from the
 * same table (main.c's commands, each with its flags), so that a flag
 * added to a verb is parsed, documented and completed at once.
 *
 * A flag table ends with a zero entry.  A flag with no help is an alias
 * (--net for --network, --timeout for --time): parsed, never shown. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "image.h"
#include "template.h"
#include "util.h"

enum { CLI_HELP = 0x7fff };

const struct cli_command *cli_current;
char cli_current_path[64];

static int flag_key(const struct cli_flag *f)
{
	return f->key ? f->key : f->letter;
}

/* getopt_long's tables for one flag table, remade when the table changes */
/* Docker's commands take flags after operands too (`logs web -f`,
 * `rm web -f`), getopt permuting them to the front, but not those whose
 * operands end with a command of the container's (run, create, exec) or
 * with ps's options (top): there the first operand ends husk's flags, the
 * rest is the command's (cobra's SetInterspersed(false) in Docker's). */
static bool stops_at_operand(const struct cli_command *c)
{
	const char *o = c ? c->operands : NULL;
	return o && (strstr(o, "COMMAND") || strstr(o, "OPTIONS"));
}

int cli_getopt(int argc, char **argv)
{
	static const struct cli_flag *built;
	static bool built_stop;
	static struct option longs[128];
	static char shorts[128];
	const struct cli_flag *flags = cli_current ? cli_current->flags : NULL;
	if (!flags) {
		static const struct cli_flag none[] = {{0}};
		flags = none;
	}
	bool stop = stops_at_operand(cli_current);
	if (built != flags || built_stop != stop) {
		size_t n = 0, s = 0;
		if (stop)
			shorts[s++] = '+';
		shorts[s++] = ':';
		for (const struct cli_flag *f = flags; f->name && n + 2 < ARRAY_SIZE(longs); f++) {
			/* "[=BOOL]": the value is optional, and only after '=' */
			bool optional = f->arg && strncmp(f->arg, "[=", 2) == 0;
			/* a switch takes --name=BOOL too, as Go's flags do */
			longs[n++] = (struct option){f->name,
						     f->arg && !optional ? required_argument
									 : optional_argument,
						     NULL, flag_key(f)};
			if (f->letter && s + 4 < sizeof(shorts)) {
				shorts[s++] = f->letter;
				if (f->arg)
					shorts[s++] = ':';
				if (optional)
					shorts[s++] = ':';
			}
		}
		longs[n++] = (struct option){"help", no_argument, NULL, CLI_HELP};
		longs[n] = (struct option){0};
		shorts[s] = '\0';
		built = flags;
		built_stop = stop;
	}
	opterr = 0;
	int prev, c;
	for (;;) {
		prev = optind ? optind : 1;
		c = getopt_long(argc, argv, shorts, longs, NULL);
		const struct cli_flag *sw = NULL;
		for (const struct cli_flag *f = flags; optarg && c > 0 && f->name && !sw; f++)
			if (!f->arg && flag_key(f) == c)
				sw = f;
		if (!sw)
			break;
		/* --rm=true is --rm; --rm=false as if not given */
		int b = husk_parse_bool(optarg);
		if (b < 0) {
			cli_usage_error("--%s=%s: expected true or false", sw->name, optarg);
			return '?';
		}
		optarg = NULL;
		if (b)
			break;
	}
	if (c == '?' || c == ':') {
		const char *arg = prev < argc ? argv[prev] : "";
		char shortname[3] = {'-', (char)optopt, '\0'};
		const char *what = optopt && strncmp(arg, "--", 2) != 0 ? shortname : arg;
		if (c == '?')
			cli_usage_error("unknown flag %s", what);
		else
			cli_usage_error("%s needs a value", what);
		return '?';
	}
	if (c == CLI_HELP) {
		cli_print_help(stdout, cli_current, cli_current_path);
		exit(0);
	}
	/* -h for --hostname: the letter, as getopt gives it, to the flag's key */
	for (const struct cli_flag *f = flags; c > 0 && c < 256 && f->name; f++)
		if (f->letter == c)
			return flag_key(f);
	return c;
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "husk: %s: ", cli_current_path);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see 'husk %s --help')\n", cli_current_path);
	va_end(ap);
	return 125;
}

int cli_operands(int argc, char **argv, int min, int max)
{
	int n = argc - optind;
	if (n >= min && (max < 0 || n <= max))
		return 0;
	const char *ops = cli_current && cli_current->operands ? cli_current->operands : "nothing";
	if (n < min)
		return cli_usage_error("expected %s", ops);
	return cli_usage_error("unexpected \"%s\"", argv[optind + max]);
}

/* the columns a UTF-8 string takes ("…" is one): its code points */
static int columns(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* A column's width in Docker's tables (its tabwriter: minimum width 10,
 * padding 3): its widest cell and three spaces, ten at the least */
static int cell_width(int widest)
{
	return widest + 3 > 10 ? widest + 3 : 10;
}

void cli_row_labels(json_t *row, json_t *labels)
{
	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	char **kv = NULL;
	size_t n = 0;
	const char *key;
	json_t *v;
	json_object_foreach (labels, key, v)
		husk_strv_push(&kv, &n,
			       husk_strdup_printf("%s=%s", key, json_string_value(v) ?: ""));
	char *text = husk_strv_join_sorted(kv, n, ",");
	husk_strv_free(kv, n);
	json_object_set_new(row, "Labels", json_string(text));
	json_object_set_new(row, "Label", labels);
	free(text);
}

void cli_print_table(const char *const *cols, const char *const *keys, size_t n, json_t *rows)
{
	int width[32];
	for (size_t k = 0; k < n && k < ARRAY_SIZE(width); k++) {
		width[k] = columns(cols[k]);
		size_t i;
		json_t *row;
		json_array_foreach (rows, i, row) {
			const char *cell = json_string_value(json_object_get(row, keys[k]));
			int w = cell ? columns(cell) : 0;
			if (w > width[k])
				width[k] = w;
		}
	}
	for (size_t i = 0; i <= json_array_size(rows); i++) {
		json_t *row = i ? json_array_get(rows, i - 1) : NULL;
		for (size_t k = 0; k < n && k < ARRAY_SIZE(width); k++) {
			const char *cell =
				row ? json_string_value(json_object_get(row, keys[k])) : cols[k];
			if (!cell)
				cell = "";
			if (k + 1 == n)
				printf("%s\n", cell);
			else
				printf("%s%*s", cell, cell_width(width[k]) - columns(cell), "");
		}
	}
}

/* --- --format and Docker's "table" --- */

static struct {
	bool on;
	char **lines; /* the header, then a rendered row each */
	size_t n;
} table;

/* A field's header in Docker's tables; an ID or a Name by what is listed */
static char *header_of(const char *field)
{
	static const char *const names[][2] = {
		{"Image", "IMAGE"},
		{"Command", "COMMAND"},
		{"CreatedAt", "CREATED AT"},
		{"RunningFor", "CREATED"},
		{"CreatedSince", "CREATED"},
		{"Ports", "PORTS"},
		{"Status", "STATUS"},
		{"Size", "SIZE"},
		{"Names", "NAMES"},
		{"Labels", "LABELS"},
		{"Mounts", "MOUNTS"},
		{"Networks", "NETWORKS"},
		{"State", "STATE"},
		{"LocalVolumes", "LOCAL VOLUMES"},
		{"Repository", "REPOSITORY"},
		{"Tag", "TAG"},
		{"Digest", "DIGEST"},
		{"Driver", "DRIVER"},
		{"Scope", "SCOPE"},
		{"Mountpoint", "MOUNTPOINT"},
		{"Container", "CONTAINER"},
		{"CPUPerc", "CPU %"},
		{"MemUsage", "MEM USAGE / LIMIT"},
		{"MemPerc", "MEM %"},
		{"NetIO", "NET I/O"},
		{"BlockIO", "BLOCK I/O"},
		{"PIDs", "PIDS"},
	};
	const char *what = cli_current_path;
	if (strcmp(field, "ID") == 0)
		return strdup(strstr(what, "image")	? "IMAGE ID"
			      : strstr(what, "network") ? "NETWORK ID"
							: "CONTAINER ID");
	if (strcmp(field, "Name") == 0)
		return strdup(strstr(what, "volume") ? "VOLUME NAME" : "NAME");
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(names[i][0], field) == 0)
			return strdup(names[i][1]);
	/* else its words in capitals: ExitCode is EXIT CODE */
	char *h = malloc(2 * strlen(field) + 1), *o = h;
	if (!h)
		abort();
	for (const char *p = field; *p; p++) {
		if (p != field && isupper((unsigned char)*p) && islower((unsigned char)p[-1]))
			*o++ = ' ';
		*o++ = (char)toupper((unsigned char)*p);
	}
	*o = '\0';
	return h;
}

static void table_add(char *line)
{
	char **v = realloc(table.lines, (table.n + 1) * sizeof(*v));
	if (!v)
		abort();
	table.lines = v;
	table.lines[table.n++] = line;
}

int cli_tmpl_parse(const char *format, const char *const *fields, struct husk_tmpl **ret,
		   husk_error **err)
{
	*ret = NULL;
	/* Docker 23's --format json: each row as one line of JSON */
	const char *t = strcmp(format, "json") == 0 ? "{{json .}}" : format;
	if (strncmp(t, "table", 5) != 0 || (t[5] != '\0' && !isspace((unsigned char)t[5])))
		return husk_tmpl_parse(t, fields, ret, err);
	t += 5;
	while (isspace((unsigned char)*t))
		t++;
	if (!*t)
		return 0; /* the command's own table */
	if (husk_tmpl_parse(t, fields, ret, err) < 0)
		return -1;
	/* the header: the template over each field's header name */
	json_t *names = json_object();
	for (size_t i = 0; fields && fields[i]; i++) {
		char *h = header_of(fields[i]);
		json_object_set_new(names, fields[i], json_string(h));
		free(h);
	}
	char *line = NULL;
	int r = husk_tmpl_render(*ret, names, &line, err);
	json_decref(names);
	if (r < 0) {
		husk_tmpl_free(*ret);
		*ret = NULL;
		return -1;
	}
	table.on = true;
	table_add(line);
	return 0;
}

int cli_print_tmpl(const struct husk_tmpl *t, json_t *data)
{
	husk_error *err = NULL;
	char *line = NULL;
	if (husk_tmpl_render(t, data, &line, &err) < 0)
		return fail(err);
	if (table.on) {
		table_add(line);
		return 0;
	}
	printf("%s\n", line);
	free(line);
	return 0;
}

/* cell k of a line: the text between its k-th tab and the next (len) */
static const char *cell_of(const char *line, size_t k, size_t *len)
{
	for (; k > 0; k--) {
		line = strchr(line, '\t');
		if (!line)
			return NULL;
		line++;
	}
	const char *tab = strchr(line, '\t');
	*len = tab ? (size_t)(tab - line) : strlen(line);
	return line;
}

static int cell_columns(const char *c, size_t len)
{
	int n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)c[i] & 0xc0) != 0x80;
	return n;
}

void cli_tmpl_flush(void)
{
	if (!table.on)
		return;
	int width[64] = {0};
	for (size_t i = 0; i < table.n; i++) {
		size_t len;
		const char *c;
		for (size_t k = 0; k < ARRAY_SIZE(width) && (c = cell_of(table.lines[i], k, &len));
		     k++)
			if (cell_columns(c, len) > width[k])
				width[k] = cell_columns(c, len);
	}
	for (size_t i = 0; i < table.n; i++) {
		size_t len;
		const char *c;
		for (size_t k = 0; k < ARRAY_SIZE(width) && (c = cell_of(table.lines[i], k, &len));
		     k++) {
			if (!strchr(c, '\t'))
				printf("%.*s", (int)len, c); /* the last: no padding */
			else
				printf("%.*s%*s", (int)len, c,
				       cell_width(width[k]) - cell_columns(c, len), "");
		}
		putchar('\n');
		free(table.lines[i]);
	}
	free(table.lines);
	table.lines = NULL;
	table.n = 0;
	table.on = false;
}

int cli_inspect(char *const *names, size_t n, const char *format, const char *const *fields,
		json_t *(*one)(const char *name, husk_error **err))
{
	husk_error *err = NULL;
	struct husk_tmpl *tmpl = NULL;
	if (format && husk_tmpl_parse(format, fields, &tmpl, &err) < 0)
		return fail(err);
	json_t *all = json_array();
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *j = one(names[i], &err);
		if (!j) {
			rc = fail(err);
			err = NULL;
			continue;
		}
		if (tmpl) {
			if (cli_print_tmpl(tmpl, j))
				rc = 125;
			json_decref(j);
		} else {
			json_array_append_new(all, j);
		}
	}
	if (!tmpl && (json_array_size(all) || rc == 0)) {
		char *text = json_dumps(all, JSON_INDENT(4));
		if (text)
			printf("%s\n", text);
		free(text);
	}
	json_decref(all);
	husk_tmpl_free(tmpl);
	return rc;
}

/* --- help --- */

static void flag_words(const struct cli_flag *f, char *out, size_t n)
{
	if (f->letter)
		snprintf(out, n, "-%c, --%s%s%s", f->letter, f->name,
			 f->arg && strncmp(f->arg, "[=", 2) != 0 ? " " : "", f->arg ? f->arg : "");
	else
		snprintf(out, n, "    --%s%s%s", f->name,
			 f->arg && strncmp(f->arg, "[=", 2) != 0 ? " " : "", f->arg ? f->arg : "");
}

void cli_print_help(FILE *out, const struct cli_command *c, const char *path)
{
	fprintf(out, "Usage: husk %s%s%s%s\n\n%s\n", path, c->flags ? " [OPTIONS]" : "",
		c->operands ? " " : "", c->operands ? c->operands : "", c->help);
	if (c->subs) {
		fprintf(out, "\nCommands:\n");
		for (const struct cli_command *s = c->subs; s->name; s++)
			fprintf(out, "  %-12s %s\n", s->name, s->help);
	}
	if (c->flags) {
		fprintf(out, "\nOptions:\n");
		for (const struct cli_flag *f = c->flags; f->name; f++) {
			if (!f->help)
				continue;
			char w[96];
			flag_words(f, w, sizeof(w));
			if (strlen(w) > 30)
				fprintf(out, "  %s\n  %-30s %s\n", w, "", f->help);
			else
				fprintf(out, "  %-30s %s\n", w, f->help);
		}
	}
	if (c->example)
		fprintf(out, "\nExample:\n  %s\n", c->example);
	if (c->subs)
		fprintf(out, "\nhusk %s COMMAND --help gives a command's usage.\n", path);
}

/* --- man pages (roff, man(7)) --- */

/* text with roff's specials escaped: backslash, and '-' as a real minus */
static void roff(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

static void man_flags(FILE *f, const struct cli_flag *flags)
{
	for (const struct cli_flag *fl = flags; fl && fl->name; fl++) {
		if (!fl->help)
			continue;
		fputs(".TP\n", f);
		if (fl->letter)
			fprintf(f, "\\fB\\-%c\\fR, ", fl->letter);
		fputs("\\fB\\-\\-", f);
		roff(f, fl->name);
		fputs("\\fR", f);
		if (fl->arg) {
			fputs(" \\fI", f);
			roff(f, fl->arg);
			fputs("\\fR", f);
		}
		fputc('\n', f);
		roff(f, fl->help);
		fputc('\n', f);
	}
}

static void man_page(FILE *f, const struct cli_command *c, const char *path, const char *version)
{
	char upper[64];
	size_t i = 0;
	for (const char *p = path; *p && i + 1 < sizeof(upper); p++)
		upper[i++] = *p == ' ' ? '-' : (char)toupper((unsigned char)*p);
	upper[i] = '\0';
	fprintf(f, ".TH HUSK\\-");
	roff(f, upper);
	fprintf(f, " 1 \"\" \"husk %s\" \"husk manual\"\n.SH NAME\nhusk\\-", version);
	for (const char *p = path; *p; p++)
		fputs(*p == ' ' ? "\\-" : (char[]){*p, 0}, f);
	fputs(" \\- ", f);
	roff(f, c->help);
	fputs("\n.SH SYNOPSIS\n\\fBhusk ", f);
	roff(f, path);
	fputs("\\fR", f);
	if (c->flags)
		fputs(" [\\fIOPTIONS\\fR]", f);
	if (c->operands) {
		fputc(' ', f);
		roff(f, c->operands);
	}
	fputs("\n.SH DESCRIPTION\n", f);
	roff(f, c->help);
	fputs(".\n", f);
	if (c->subs) {
		fputs(".SH COMMANDS\n", f);
		for (const struct cli_command *s = c->subs; s->name; s++) {
			fputs(".TP\n\\fBhusk ", f);
			roff(f, path);
			fputc(' ', f);
			roff(f, s->name);
			fputs("\\fR", f);
			if (s->flags)
				fputs(" [\\fIOPTIONS\\fR]", f);
			if (s->operands) {
				fputc(' ', f);
				roff(f, s->operands);
			}
			fputc('\n', f);
			roff(f, s->help);
			fputs(".\n", f);
			if (s->flags) {
				fputs(".RS\n", f);
				man_flags(f, s->flags);
				fputs(".RE\n", f);
			}
		}
	}
	if (c->flags) {
		fputs(".SH OPTIONS\n", f);
		man_flags(f, c->flags);
	}
	if (c->example) {
		fputs(".SH EXAMPLE\n.nf\n.RS\n", f);
		roff(f, c->example);
		fputs("\n.RE\n.fi\n", f);
	}
	fputs(".SH SEE ALSO\n\\fBhusk\\fR(1)\n", f);
}

static void man_index(FILE *f, const struct cli_command *cmds, const char *version)
{
	fprintf(f,
		".TH HUSK 1 \"\" \"husk %s\" \"husk manual\"\n"
		".SH NAME\nhusk \\- a daemonless container engine with Docker's habits\n"
		".SH SYNOPSIS\n\\fBhusk\\fR [\\fB\\-\\-root\\fR \\fIDIR\\fR] "
		"[\\fB\\-\\-runroot\\fR \\fIDIR\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR...]\n"
		".SH DESCRIPTION\nhusk runs containers from OCI and Docker images, each under "
		"its own small monitor process, with no daemon.  Its commands and flags are "
		"Docker's.\n.SH COMMANDS\n",
		version);
	for (const struct cli_command *c = cmds; c->name; c++) {
		fputs(".TP\n\\fBhusk\\-", f);
		roff(f, c->name);
		fputs("\\fR(1)\n", f);
		roff(f, c->help);
		fputc('\n', f);
	}
	fputs(".SH ENVIRONMENT\n.TP\n\\fBHUSK_ROOT\\fR\nthe storage root "
	      "(/var/lib/husk)\n.TP\n\\fBHUSK_RUNROOT\\fR\nthe runtime state "
	      "(/run/husk\\-engine)\n",
	      f);
}

int cli_write_man(const struct cli_command *cmds, const char *dir, const char *version)
{
	if (husk_mkdir_p(dir, 0755, NULL) < 0)
		return -1;
	char path[4096];
	snprintf(path, sizeof(path), "%s/husk.1", dir);
	FILE *f = fopen(path, "we");
	if (!f)
		return -1;
	man_index(f, cmds, version);
	if (fclose(f) != 0)
		return -1;
	for (const struct cli_command *c = cmds; c->name; c++) {
		if (c->hidden)
			continue;
		snprintf(path, sizeof(path), "%s/husk-%s.1", dir, c->name);
		f = fopen(path, "we");
		if (!f)
			return -1;
		man_page(f, c, c->name, version);
		if (fclose(f) != 0)
			return -1;
	}
	return 0;
}

/* --- shell completions --- */

/* what a command's operands are, for completion: its usage says */
static const char *operand_kind(const struct cli_command *c)
{
	if (!c->operands)
		return "none";
	if (strstr(c->operands, "CONTAINER"))
		return "containers";
	if (strstr(c->operands, "IMAGE"))
		return "images";
	if (strstr(c->operands, "NETWORK"))
		return "networks";
	if (strstr(c->operands, "VOLUME"))
		return "volumes";
	return "files";
}

static void flag_list(FILE *f, const struct cli_flag *flags, bool with_arg_only)
{
	bool first = true;
	for (const struct cli_flag *fl = flags; fl && fl->name; fl++) {
		if (with_arg_only && (!fl->arg || strncmp(fl->arg, "[=", 2) == 0))
			continue;
		if (!with_arg_only && !fl->help)
			continue;
		fprintf(f, "%s--%s", first ? "" : " ", fl->name);
		first = false;
		if (fl->letter)
			fprintf(f, " -%c", fl->letter);
	}
}

static void bash_case(FILE *f, const struct cli_command *c, const char *key)
{
	fprintf(f, "\t\t%s) flags='", key);
	flag_list(f, c->flags, false);
	fputs("'; valued='", f);
	flag_list(f, c->flags, true);
	fprintf(f, "'; kind=%s; subs='", operand_kind(c));
	for (const struct cli_command *s = c->subs; s && s->name; s++)
		fprintf(f, "%s%s", s == c->subs ? "" : " ", s->name);
	fputs("' ;;\n", f);
}

static void bash(FILE *f, const struct cli_command *cmds)
{
	fputs("# bash completion for husk, made by `husk completion bash`\n"
	      "_husk_list() {\n"
	      "\tcase \"$1\" in\n"
	      "\tcontainers) husk ps -a --format '{{.Names}}' 2>/dev/null ;;\n"
	      "\timages) husk images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null ;;\n"
	      "\tnetworks) husk network ls --format '{{.Name}}' 2>/dev/null ;;\n"
	      "\tvolumes) husk volume ls --format '{{.Name}}' 2>/dev/null ;;\n"
	      "\tesac\n}\n"
	      "_husk_spec() {\n\tflags= valued= kind=none subs=\n\tcase \"$1\" in\n",
	      f);
	for (const struct cli_command *c = cmds; c->name; c++) {
		if (c->hidden)
			continue;
		bash_case(f, c, c->name);
		for (const struct cli_command *s = c->subs; s && s->name; s++) {
			char key[128];
			snprintf(key, sizeof(key), "'%s %s'", c->name, s->name);
			bash_case(f, s, key);
		}
	}
	fputs("\tesac\n}\n"
	      "_husk() {\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} cmd= i=1 w flags valued kind subs\n"
	      "\t# the command: the first word that is not a global flag or its value\n"
	      "\twhile [ $i -lt $COMP_CWORD ]; do\n"
	      "\t\tw=${COMP_WORDS[i]}\n"
	      "\t\tcase \"$w\" in\n"
	      "\t\t--root|--runroot) i=$((i + 2)); continue ;;\n"
	      "\t\t-*) i=$((i + 1)); continue ;;\n"
	      "\t\tesac\n"
	      "\t\tcmd=$w; i=$((i + 1)); break\n"
	      "\tdone\n"
	      "\tif [ -z \"$cmd\" ]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W '--root --runroot --help --version ",
	      f);
	for (const struct cli_command *c = cmds; c->name; c++)
		if (!c->hidden)
			fprintf(f, "%s ", c->name);
	fputs("' -- \"$cur\"))\n\t\treturn\n\tfi\n"
	      "\t_husk_spec \"$cmd\"\n"
	      "\tif [ -n \"$subs\" ]; then\n"
	      "\t\tlocal sub=\n"
	      "\t\twhile [ $i -lt $COMP_CWORD ]; do\n"
	      "\t\t\tcase \"${COMP_WORDS[i]}\" in -*) ;; *) sub=${COMP_WORDS[i]}; i=$((i + 1)); "
	      "break ;; esac\n"
	      "\t\t\ti=$((i + 1))\n"
	      "\t\tdone\n"
	      "\t\tif [ -z \"$sub\" ]; then\n"
	      "\t\t\tCOMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
	      "\t\t\treturn\n"
	      "\t\tfi\n"
	      "\t\t_husk_spec \"$cmd $sub\"\n"
	      "\tfi\n"
	      "\t# the word before is a flag that takes a value: no suggestion but files\n"
	      "\tlocal prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "\tif [ $COMP_CWORD -gt $i ] || [ $COMP_CWORD -eq $i ]; then\n"
	      "\t\tfor w in $valued; do\n"
	      "\t\t\tif [ \"$prev\" = \"$w\" ] && [ $((COMP_CWORD - 1)) -ge $i ]; then\n"
	      "\t\t\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	      "\t\t\t\treturn\n"
	      "\t\t\tfi\n"
	      "\t\tdone\n"
	      "\tfi\n"
	      "\tcase \"$cur\" in\n"
	      "\t-*) COMPREPLY=($(compgen -W \"$flags --help\" -- \"$cur\")) ;;\n"
	      "\t*)\n"
	      "\t\tcase \"$kind\" in\n"
	      "\t\tnone) COMPREPLY=() ;;\n"
	      "\t\tfiles) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
	      "\t\t*) COMPREPLY=($(compgen -W \"$(_husk_list \"$kind\")\" -- \"$cur\")) ;;\n"
	      "\t\tesac ;;\n"
	      "\tesac\n"
	      "}\n"
	      "complete -F _husk husk\n",
	      f);
}

/* fish: one `complete` line per command and per flag */
static void fish_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

static void fish_flags(FILE *f, const char *cond, const struct cli_flag *flags)
{
	for (const struct cli_flag *fl = flags; fl && fl->name; fl++) {
		if (!fl->help)
			continue;
		fprintf(f, "complete -c husk -n %s -l %s", cond, fl->name);
		if (fl->letter)
			fprintf(f, " -s %c", fl->letter);
		if (fl->arg)
			fputs(" -r", f);
		fputs(" -d ", f);
		fish_quote(f, fl->help);
		fputc('\n', f);
	}
}

static void fish(FILE *f, const struct cli_command *cmds)
{
	fputs("# fish completion for husk, made by `husk completion fish`\n"
	      "complete -c husk -f\n"
	      "function __husk_list\n"
	      "    switch $argv[1]\n"
	      "        case containers; husk ps -a --format '{{.Names}}' 2>/dev/null\n"
	      "        case images; husk images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null\n"
	      "        case networks; husk network ls --format '{{.Name}}' 2>/dev/null\n"
	      "        case volumes; husk volume ls --format '{{.Name}}' 2>/dev/null\n"
	      "    end\n"
	      "end\n",
	      f);
	for (const struct cli_command *c = cmds; c->name; c++) {
		if (c->hidden)
			continue;
		fprintf(f, "complete -c husk -n __fish_use_subcommand -a %s -d ", c->name);
		fish_quote(f, c->help);
		fputc('\n', f);
		char cond[256];
		snprintf(cond, sizeof(cond), "'__fish_seen_subcommand_from %s'", c->name);
		if (c->subs) {
			for (const struct cli_command *s = c->subs; s->name; s++) {
				fprintf(f, "complete -c husk -n %s -a %s -d ", cond, s->name);
				fish_quote(f, s->help);
				fputc('\n', f);
				char sc[300];
				snprintf(sc, sizeof(sc),
					 "'__fish_seen_subcommand_from %s; and "
					 "__fish_seen_subcommand_from "
					 "%s'",
					 c->name, s->name);
				fish_flags(f, sc, s->flags);
			}
			continue;
		}
		fish_flags(f, cond, c->flags);
		const char *kind = operand_kind(c);
		if (strcmp(kind, "none") != 0 && strcmp(kind, "files") != 0)
			fprintf(f, "complete -c husk -n %s -a '(__husk_list %s)'\n", cond, kind);
		else if (strcmp(kind, "files") == 0)
			fprintf(f, "complete -c husk -n %s -F\n", cond);
	}
}

/* zsh: the bash function through zsh's bashcompinit, which every zsh has */
static void zsh(FILE *f, const struct cli_command *cmds)
{
	fputs("#compdef husk\n# zsh completion for husk, made by `husk completion zsh`\n"
	      "autoload -U +X bashcompinit && bashcompinit\n",
	      f);
	bash(f, cmds);
}

int cli_write_completion(FILE *f, const struct cli_command *cmds, const char *shell)
{
	if (strcmp(shell, "bash") == 0)
		bash(f, cmds);
	else if (strcmp(shell, "zsh") == 0)
		zsh(f, cmds);
	else if (strcmp(shell, "fish") == 0)
		fish(f, cmds);
	else {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* s onto the NULL-terminated *into, and onto *owned, which frees it */
static void add_owned(char ***into, char ***owned, size_t *n_owned, char *s)
{
	size_t n = 0;
	while (*into && (*into)[n])
		n++;
	husk_strv_push(into, &n, s);
	husk_strv_push(owned, n_owned, s);
}

/* Docker's env and label files: NAME=VALUE lines (leading blanks dropped),
 * # comments and blank lines skipped; a NAME alone takes our value when
 * env is set (and is dropped when we have none), else it stands as is */
int cli_read_kv_file(const char *flag, const char *path, bool env, char ***into, char ***owned,
		     size_t *n_owned)
{
	husk_error *err = NULL;
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (husk_read_file(path, &text, &len, &err) < 0) {
		husk_error_wrap(&err, "%s \"%s\"", flag, path);
		return fail(err);
	}
	if (strlen(text) != len)
		return failf("%s \"%s\": not a text file", flag, path);
	char *save = NULL;
	int lineno = 0;
	char *p = text;
	if (strncmp(p, "\xef\xbb\xbf", 3) == 0) /* a UTF-8 byte order mark */
		p += 3;
	for (char *line = strtok_r(p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		while (*line == ' ' || *line == '\t' || *line == '\r')
			line++;
		size_t n = strlen(line);
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (!*line || *line == '#')
			continue;
		char *eq = strchr(line, '=');
		size_t klen = eq ? (size_t)(eq - line) : n;
		if (klen == 0 || strcspn(line, " \t") < klen)
			return failf("%s \"%s\": line %d: \"%.*s\" is not a name", flag, path,
				     lineno, (int)klen, line);
		if (!eq && env) {
			const char *v = getenv(line);
			if (v)
				add_owned(into, owned, n_owned,
					  husk_strdup_printf("%s=%s", line, v));
			continue;
		}
		add_owned(into, owned, n_owned, strdup(line));
	}
	return 0;
}

int cli_check_platform(const char *p)
{
	husk_error *err = NULL;
	return husk_platform_check(p, &err) < 0 ? fail(err) : 0;
}

/* The registry commands of the engine's command line: pull, push, login,
 * logout, and the pull that `husk run` does for an image not in the
 * store.  The library reports progress through a callback; on a terminal
 * this draws one line per layer, elsewhere it stays quiet.
 *
 * Credentials: --authfile, else $REGISTRY_AUTH_FILE, else <root>/auth.json
 * (Docker's auth.json format, 0600). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "engine.h"
#include "image.h"
#include "util.h"

struct draw {
	bool tty;
	char last[80];	/* digest of the line being drawn */
	uint64_t at_ns; /* when it was last drawn */
};

static void human(long long n, char *buf, size_t len)
{
	if (n >= 1 << 20)
		snprintf(buf, len, "%.1f MB", (double)n / (1 << 20));
	else if (n >= 1 << 10)
		snprintf(buf, len, "%.1f kB", (double)n / (1 << 10));
	else
		snprintf(buf, len, "%lld B", n);
}

static void draw_progress(void *ud, const struct husk_progress *p)
{
	struct draw *d = ud;
	if (!d->tty)
		return;
	const char *hex = strchr(p->digest, ':') ? strchr(p->digest, ':') + 1 : p->digest;
	uint64_t now = husk_now_ns();
	bool same = strcmp(d->last, p->digest) == 0;
	/* at most ten redraws a second, but always the last one */
	if (same && !p->finished && now - d->at_ns < 100000000ULL)
		return;
	if (!same && d->last[0])
		fputc('\n', stderr);
	snprintf(d->last, sizeof(d->last), "%s", p->digest);
	d->at_ns = now;
	char done[32], total[32];
	human(p->done, done, sizeof(done));
	human(p->total, total, sizeof(total));
	if (p->skipped)
		fprintf(stderr, "\rCopying blob %.12s: already there\033[K", hex);
	else
		fprintf(stderr, "\rCopying blob %.12s: %s / %s\033[K", hex, done, total);
	if (p->finished) {
		fputc('\n', stderr);
		d->last[0] = '\0';
	}
	fflush(stderr);
}

static void print_debug(void *ud, const char *msg)
{
	(void)ud;
	fprintf(stderr, "husk: debug: %s\n", msg);
}

static char *auth_file(const char *given)
{
	const char *env = getenv("REGISTRY_AUTH_FILE");
	if (given)
		return strdup(given);
	if (env && *env)
		return strdup(env);
	return husk_strdup_printf("%s/auth.json", eng.root);
}

/* The options pull, push and login share. */
struct reg_cli {
	struct husk_registry_opts o;
	struct draw draw;
	char *authfile;
	char *user; /* --creds USER:PASS, split */
	bool quiet;
	bool all_tags; /* -a: every tag of the repository */
};

enum {
	OPT_TLS = 256,
	OPT_CERT_DIR,
	OPT_AUTHFILE,
	OPT_CREDS,
	OPT_RATE,
	OPT_DEBUG,
	OPT_STDIN,
	OPT_PLATFORM,
	OPT_ALL_TAGS
};

/* the flags pull, push and login share */
#define REG_FLAGS                                                                                 \
	{"tls-verify", 0, "[=BOOL]", "check the registry's certificate (default true)", OPT_TLS}, \
		{"cert-dir", 0, "DIR", "CA certificates and client keys for the registry",        \
		 OPT_CERT_DIR},                                                                   \
		{"authfile", 0, "FILE", "credentials (default the containers auth.json)",         \
		 OPT_AUTHFILE},                                                                   \
	{                                                                                         \
		"debug", 0, NULL, "print each HTTP request and answer", OPT_DEBUG                 \
	}

const struct cli_flag pull_flags[] = {
	REG_FLAGS,
	{"quiet", 'q', NULL, "no progress; print the id"},
	{"creds", 0, "USER:PASS", "credentials for this pull", OPT_CREDS},
	{"limit-rate", 0, "RATE", "bytes per second at most (10m)", OPT_RATE},
	{"platform", 0, "PLATFORM", "linux/amd64 (the host's; others are refused)", OPT_PLATFORM},
	{"all-tags", 'a', NULL, "every tag of the repository", OPT_ALL_TAGS},
	{0},
};

const struct cli_flag push_flags[] = {
	REG_FLAGS,
	{"quiet", 'q', NULL, "no progress"},
	{"creds", 0, "USER:PASS", "credentials for this push", OPT_CREDS},
	{"limit-rate", 0, "RATE", "bytes per second at most (10m)", OPT_RATE},
	{"all-tags", 'a', NULL, "every local tag of the repository", OPT_ALL_TAGS},
	{0},
};

const struct cli_flag login_flags[] = {
	REG_FLAGS,
	{"username", 'u', "USER", "the user name"},
	{"password", 'p', "PASSWORD", "the password (--password-stdin keeps it out of ps)"},
	{"password-stdin", 0, NULL, "read the password from stdin", OPT_STDIN},
	{0},
};

/* Parse the shared options; returns optind, or -1 after printing why. */
static int parse_opts(int argc, char **argv, struct reg_cli *r, bool *ret_stdin)
{
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		switch (c) {
		case OPT_TLS:
			if (!optarg || strcmp(optarg, "true") == 0)
				r->o.tls = HUSK_TLS_VERIFY;
			else if (strcmp(optarg, "false") == 0)
				r->o.tls = HUSK_TLS_INSECURE;
			else {
				cli_usage_error("--tls-verify=\"%s\": expected true or false",
						optarg);
				return -1;
			}
			break;
		case OPT_CERT_DIR:
			r->o.cert_dir = optarg;
			break;
		case OPT_AUTHFILE:
			free(r->authfile);
			r->authfile = strdup(optarg);
			break;
		case OPT_CREDS: {
			free(r->user);
			r->user = strdup(optarg);
			char *colon = strchr(r->user, ':');
			if (colon) {
				*colon = '\0';
				r->o.password = colon + 1;
			}
			r->o.username = r->user;
			break;
		}
		case OPT_RATE:
			if (husk_parse_size(optarg, &r->o.rate_limit) < 0 || r->o.rate_limit <= 0) {
				cli_usage_error("--limit-rate \"%s\": expected bytes per second "
						"such as 10m",
						optarg);
				return -1;
			}
			break;
		case OPT_DEBUG:
			r->o.debug = print_debug;
			break;
		case 'q':
			r->quiet = true;
			break;
		case 'u':
			r->o.username = optarg;
			break;
		case 'p':
			r->o.password = optarg;
			break;
		case OPT_STDIN:
			*ret_stdin = true;
			break;
		case OPT_PLATFORM:
			/* the index's entry for the host is the one pulled */
			if (cli_check_platform(optarg))
				return -1;
			break;
		case OPT_ALL_TAGS:
			r->all_tags = true;
			break;
		default:
			return -1;
		}
	}
	if (!r->authfile)
		r->authfile = auth_file(NULL);
	r->o.auth_file = r->authfile;
	r->draw.tty = !r->quiet && isatty(STDERR_FILENO);
	r->o.progress = draw_progress;
	r->o.ud = &r->draw;
	return optind;
}

static void reg_cli_free(struct reg_cli *r)
{
	free(r->authfile);
	free(r->user);
}

/* REPO names a tag or a digest (a ':' after its last '/', or an '@') */
static bool tagged(const char *repo)
{
	const char *last = strrchr(repo, '/');
	return strchr(last ? last : repo, ':') || strchr(repo, '@');
}

/* pull -a REPO: each tag, a line "NAME ID" each (a name alone says
 * little with several); a tag or digest in REPO is refused as Docker's */
static int pull_all_tags(struct reg_cli *r, const char *repo)
{
	if (tagged(repo))
		return cli_usage_error("\"%s\": a tag or digest cannot go with --all-tags", repo);
	husk_error *err = NULL;
	char **tags = NULL;
	size_t n = 0;
	if (husk_engine_image_tags(&eng, repo, &r->o, &tags, &n, &err) < 0)
		return fail(err);
	int rc = 0;
	if (n == 0)
		rc = failf("\"%s\" has no tags", repo);
	for (size_t k = 0; k < n && rc == 0; k++) {
		cleanup_free char *ref = husk_strdup_printf("%s:%s", repo, tags[k]);
		char *id = NULL, *name = NULL;
		if (husk_engine_image_pull(&eng, ref, &r->o, &name, &id, &err) < 0)
			rc = fail(err);
		else
			printf("%s %s\n", name, strchr(id, ':') ? strchr(id, ':') + 1 : id);
		free(id);
		free(name);
	}
	husk_strv_free(tags, n);
	return rc;
}

int cmd_pull(int argc, char **argv)
{
	struct reg_cli r = {0};
	bool unused = false;
	int i = parse_opts(argc, argv, &r, &unused);
	if (i < 0 || cli_operands(argc, argv, 1, 1)) {
		reg_cli_free(&r);
		return 125;
	}
	if (r.all_tags) {
		int rc = pull_all_tags(&r, argv[i]);
		reg_cli_free(&r);
		return rc;
	}
	husk_error *err = NULL;
	char *id = NULL, *name = NULL;
	int rc = 0;
	if (husk_engine_image_pull(&eng, argv[i], &r.o, &name, &id, &err) < 0)
		rc = fail(err);
	else
		printf("%s\n", strchr(id, ':') ? strchr(id, ':') + 1 : id);
	free(id);
	free(name);
	reg_cli_free(&r);
	return rc;
}

/* push -a REPO: each local name REPO:TAG, to where it names, its digest
 * after it */
static int push_all_tags(struct reg_cli *r, const char *repo)
{
	if (tagged(repo))
		return cli_usage_error("\"%s\": a tag or digest cannot go with --all-tags", repo);
	husk_error *err = NULL;
	struct husk_image_row *v = NULL;
	size_t n = 0;
	cleanup_free char *pattern = husk_strdup_printf("%s:*", repo);
	char *refs[] = {pattern, NULL};
	struct husk_image_filter f = {.references = refs};
	if (husk_engine_image_list(&eng, &f, &v, &n, &err) < 0)
		return fail(err);
	int rc = n ? 0 : failf("no tag of \"%s\" is here", repo);
	for (size_t k = 0; k < n && rc == 0; k++) {
		char *digest = NULL;
		if (husk_engine_image_push(&eng, v[k].name, NULL, &r->o, &digest, &err) < 0)
			rc = fail(err);
		else
			printf("%s %s\n", v[k].name, digest);
		free(digest);
	}
	husk_image_rows_free(v, n);
	return rc;
}

int cmd_push(int argc, char **argv)
{
	struct reg_cli r = {0};
	bool unused = false;
	int i = parse_opts(argc, argv, &r, &unused);
	if (i < 0 || cli_operands(argc, argv, 1, r.all_tags ? 1 : 2)) {
		reg_cli_free(&r);
		return 125;
	}
	if (r.all_tags) {
		int rc = push_all_tags(&r, argv[i]);
		reg_cli_free(&r);
		return rc;
	}
	husk_error *err = NULL;
	char *digest = NULL;
	int rc = 0;
	if (husk_engine_image_push(&eng, argv[i], i + 1 < argc ? argv[i + 1] : NULL, &r.o, &digest,
				   &err) < 0)
		rc = fail(err);
	else
		printf("%s\n", digest);
	free(digest);
	reg_cli_free(&r);
	return rc;
}

int cmd_login(int argc, char **argv)
{
	struct reg_cli r = {0};
	bool from_stdin = false;
	int i = parse_opts(argc, argv, &r, &from_stdin);
	cleanup_free char *line = NULL;
	if (i < 0 || cli_operands(argc, argv, 1, 1)) {
		reg_cli_free(&r);
		return 125;
	}
	if (!r.o.username || (!r.o.password && !from_stdin) || (r.o.password && from_stdin)) {
		reg_cli_free(&r);
		return cli_usage_error(
			"expected -u USER and either -p PASSWORD or --password-stdin");
	}
	if (from_stdin) {
		size_t cap = 0;
		ssize_t n = getline(&line, &cap, stdin);
		if (n < 0) {
			reg_cli_free(&r);
			return failf("login: no password on standard input");
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		r.o.password = line;
	}
	husk_error *err = NULL;
	int rc = 0;
	if (husk_registry_login(argv[i], &r.o, &err) < 0)
		rc = fail(err);
	else
		printf("Login Succeeded!\n");
	reg_cli_free(&r);
	return rc;
}

const struct cli_flag logout_flags[] = {
	{"authfile", 0, "FILE", "credentials (default the containers auth.json)", 'a'},
	{0},
};

int cmd_logout(int argc, char **argv)
{
	const char *given = NULL;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c != 'a')
			return 125;
		given = optarg;
	}
	if (cli_operands(argc, argv, 1, 1))
		return 125;
	cleanup_free char *file = auth_file(given);
	husk_error *err = NULL;
	if (husk_registry_logout(argv[optind], file, &err) < 0)
		return fail(err);
	printf("Removed login credentials for %s\n", argv[optind]);
	return 0;
}

int cli_image_for_run(const char *image, enum cli_pull pull, bool quiet, char **ret_name)
{
	husk_error *err = NULL;
	*ret_name = NULL;
	if (pull != CLI_PULL_ALWAYS) {
		if (husk_engine_image_local(&eng, image, ret_name, &err) == 0)
			return 0;
		if (err->errnum != ENOENT)
			return fail(err);
		husk_error_free(err);
		err = NULL;
	}
	if (pull == CLI_PULL_NEVER)
		return failf("image \"%s\" is not in the store, and --pull never", image);
	struct reg_cli r = {0};
	r.authfile = auth_file(NULL);
	r.o.auth_file = r.authfile;
	r.draw.tty = !quiet && isatty(STDERR_FILENO);
	r.o.progress = draw_progress;
	r.o.ud = &r.draw;
	if (r.draw.tty)
		fprintf(stderr, "Pulling %s\n", image);
	int rc = 0;
	if (husk_engine_image_pull(&eng, image, &r.o, ret_name, NULL, &err) < 0)
		rc = fail(err);
	reg_cli_free(&r);
	return rc;
}

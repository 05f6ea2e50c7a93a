/* husk build and husk builder prune: images from Dockerfiles, printed as
 * Podman prints its builds (src/build does the work). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "cli.h"
#include "util.h"

enum {
	OPT_BUILD_ARG = 1000,
	OPT_TARGET,
	OPT_NO_CACHE,
	OPT_PULL,
	OPT_LABEL,
	OPT_NETWORK,
	OPT_IIDFILE,
	OPT_SQUASH,
	OPT_RM,
	OPT_FORCE_RM,
	OPT_PROGRESS,
	OPT_PLATFORM,
	OPT_SECRET,
};

const struct cli_flag build_flags[] = {
	{"tag", 't', "NAME[:TAG]", "name the image (repeatable)"},
	{"file", 'f', "FILE",
	 "the Dockerfile (default: CONTEXT/Dockerfile or CONTEXT/Containerfile)"},
	{"build-arg", 0, "KEY[=VALUE]", "a build argument (no value: from the environment)",
	 OPT_BUILD_ARG},
	{"target", 0, "STAGE", "build the stage of that name and what it needs, no further",
	 OPT_TARGET},
	{"no-cache", 0, NULL, "run every step, whatever the cache holds", OPT_NO_CACHE},
	{"pull", 0, "[=POLICY]", "missing (default), never, or always (--pull alone)", OPT_PULL},
	{"label", 0, "KEY=VALUE", "a label for the image (repeatable)", OPT_LABEL},
	{"network", 0, "MODE", "the RUN steps' network: bridge (default), none or host",
	 OPT_NETWORK},
	{"iidfile", 0, "FILE", "write the image id to FILE", OPT_IIDFILE},
	{"squash", 0, NULL, "the build's new layers as one, on the base image's", OPT_SQUASH},
	{"quiet", 'q', NULL, "print only the image id"},
	{"rm", 0, "[=BOOL]", "remove the steps' containers (always: husk keeps none)", OPT_RM},
	{"force-rm", 0, NULL, "remove them after a failed step too (always)", OPT_FORCE_RM},
	{"progress", 0, "MODE", "auto, plain or tty (husk's plain lines), quiet (as -q)",
	 OPT_PROGRESS},
	{"platform", 0, "PLATFORM", "linux/amd64 (the host's; others are refused)", OPT_PLATFORM},
	{"secret", 0, "id=ID,src=FILE|env=VAR",
	 "a secret for RUN --mount=type=secret (repeatable; in no layer, no history)", OPT_SECRET},
	{0},
};

struct out {
	bool quiet;
	bool at_line_start;
};

static void progress(void *ud, const struct husk_build_event *ev)
{
	struct out *o = ud;
	if (o->quiet && ev->kind != HUSK_BUILD_WARNING)
		return;
	if (ev->kind == HUSK_BUILD_OUTPUT) {
		fwrite(ev->data, 1, ev->len, stdout);
		if (ev->len)
			o->at_line_start = ev->data[ev->len - 1] == '\n';
		fflush(stdout);
		return;
	}
	if (!o->at_line_start)
		putchar('\n');
	o->at_line_start = true;
	switch (ev->kind) {
	case HUSK_BUILD_STEP:
		printf("%s\n", ev->text);
		break;
	case HUSK_BUILD_CACHED:
		printf("--> Using cache %s\n", ev->text);
		break;
	case HUSK_BUILD_DONE:
		printf("--> %.12s\n", ev->text);
		break;
	case HUSK_BUILD_COMMIT:
		printf("COMMIT%s%s\n", ev->text ? " " : "", ev->text ? ev->text : "");
		break;
	case HUSK_BUILD_TAGGED:
		printf("Successfully tagged %s\n", ev->text);
		break;
	case HUSK_BUILD_WARNING:
		fprintf(stderr, "[Warning] %s\n", ev->text);
		break;
	default:
		break;
	}
	fflush(stdout);
}

int cmd_build(int argc, char **argv)
{
	/* RUN steps on the default bridge, as Docker's builder and buildah */
	struct husk_build_opts o = {.context_fd = -1, .network = HUSK_NETMODE_BRIDGE};
	cleanup_free const char **tags = calloc((size_t)argc + 1, sizeof(char *));
	cleanup_free const char **args = calloc((size_t)argc + 1, sizeof(char *));
	cleanup_free const char **labels = calloc((size_t)argc + 1, sizeof(char *));
	cleanup_free const char **secrets = calloc((size_t)argc + 1, sizeof(char *));
	const char *iidfile = NULL;
	struct out out = {.at_line_start = true};
	if (!tags || !args || !labels || !secrets)
		abort();
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		switch (c) {
		case 't':
			tags[o.n_tags++] = optarg;
			break;
		case 'f':
			o.dockerfile = optarg;
			break;
		case OPT_BUILD_ARG:
			args[o.n_build_args++] = optarg;
			break;
		case OPT_TARGET:
			o.target = optarg;
			break;
		case OPT_NO_CACHE:
			o.no_cache = true;
			break;
		case OPT_PULL: {
			const char *v = optarg ? optarg : "always";
			if (*v == '=')
				v++;
			if (strcmp(v, "missing") == 0 || strcmp(v, "false") == 0)
				o.pull = HUSK_BUILD_PULL_MISSING;
			else if (strcmp(v, "never") == 0)
				o.pull = HUSK_BUILD_PULL_NEVER;
			else if (strcmp(v, "always") == 0 || strcmp(v, "true") == 0)
				o.pull = HUSK_BUILD_PULL_ALWAYS;
			else
				return cli_usage_error("--pull=\"%s\": missing, never or always",
						       v);
			break;
		}
		case OPT_LABEL:
			if (!strchr(optarg, '='))
				return cli_usage_error("--label \"%s\": expected KEY=VALUE",
						       optarg);
			labels[o.n_labels++] = optarg;
			break;
		case OPT_NETWORK:
			if (strcmp(optarg, "none") == 0)
				o.network = HUSK_NETMODE_NONE;
			else if (strcmp(optarg, "host") == 0)
				o.network = HUSK_NETMODE_HOST;
			else if (strcmp(optarg, "bridge") == 0 || strcmp(optarg, "default") == 0)
				o.network = HUSK_NETMODE_BRIDGE;
			else
				return cli_usage_error("--network \"%s\": bridge, none or host",
						       optarg);
			break;
		case OPT_IIDFILE:
			iidfile = optarg;
			break;
		case OPT_SQUASH:
			o.squash = true;
			break;
		case 'q':
			out.quiet = true;
			break;
		case OPT_RM:
			/* Docker's classic builder keeps the step containers
			 * with --rm=false; husk has none to keep */
			if (optarg && husk_parse_bool(optarg) != 1)
				return cli_usage_error("--rm=%s: husk always removes the steps' "
						       "containers",
						       optarg);
			break;
		case OPT_FORCE_RM:
			break;
		case OPT_PROGRESS:
			if (strcmp(optarg, "quiet") == 0)
				out.quiet = true;
			else if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "plain") != 0 &&
				 strcmp(optarg, "tty") != 0)
				return cli_usage_error("--progress \"%s\": auto, plain, tty or "
						       "quiet",
						       optarg);
			break;
		case OPT_PLATFORM:
			if (cli_check_platform(optarg))
				return 125;
			break;
		case OPT_SECRET:
			secrets[o.n_secrets++] = optarg;
			break;
		default:
			return 125;
		}
	}
	if (cli_operands(argc, argv, 1, 1))
		return 125;
	const char *ctx = argv[optind];
	if (strcmp(ctx, "-") == 0)
		o.context_fd = STDIN_FILENO;
	else
		o.context = ctx;
	o.tags = tags;
	o.build_args = args;
	o.labels = labels;
	o.secrets = secrets;
	husk_error *err = NULL;
	char *id = NULL;
	if (husk_build(&eng, &o, progress, &out, &id, &err) < 0) {
		if (!out.at_line_start)
			putchar('\n');
		fflush(stdout);
		fprintf(stderr, "husk: build: %s\n", err && err->msg ? err->msg : "failed");
		husk_error_free(err);
		return 1; /* docker build's status for a build that failed */
	}
	const char *hex = strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
	if (!out.quiet)
		printf("--> %.12s\n", hex);
	printf("%s\n", hex);
	int rc = 0;
	if (iidfile) {
		husk_error *werr = NULL;
		if (husk_write_file(iidfile, id, strlen(id), 0644, &werr) < 0)
			rc = fail(werr);
	}
	free(id);
	return rc;
}

int cmd_builder_prune(int argc, char **argv)
{
	int c;
	while ((c = cli_getopt(argc, argv)) != -1)
		if (c != 'f' && c != 'a')
			return 125;
	if (cli_operands(argc, argv, 0, 0))
		return 125;
	husk_error *err = NULL;
	long long freed = 0;
	if (husk_build_prune(&eng, &freed, &err) < 0)
		return fail(err);
	printf("Total reclaimed space: %lld kB\n", freed / 1024);
	return 0;
}

const struct cli_flag builder_prune_flags[] = {
	{"force", 'f', NULL, "do not ask (husk never asks)"},
	{"all", 'a', NULL, "every cache entry (husk always prunes them all)"},
	{0},
};

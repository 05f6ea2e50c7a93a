/* husk commit and husk export: a container as a new image, or its files as
 * one tar, as docker commit and docker export. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "image.h"
#include "util.h"

/* a [=BOOL] flag's value: none is true; "-p=false" gives "=false" */
static int parse_bool(const char *v)
{
	return v ? husk_parse_bool(v + (*v == '=')) : 1;
}

const struct cli_flag commit_flags[] = {
	{"author", 'a', "AUTHOR", "the author (\"A Name <a@example.com>\")"},
	{"message", 'm', "MESSAGE", "a comment for the image's history"},
	{"change", 'c', "INSTRUCTION",
	 "a Dockerfile instruction for the image's config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
	 "ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL (repeatable)"},
	{"pause", 'p', "[=BOOL]", "freeze the container while its changes are read (default true)"},
	{0},
};

int cmd_commit(int argc, char **argv)
{
	struct husk_commit_opts o = {0};
	cleanup_free const char **changes = calloc((size_t)argc + 1, sizeof(char *));
	bool pause = true;
	int c;
	if (!changes)
		abort();
	while ((c = cli_getopt(argc, argv)) != -1) {
		switch (c) {
		case 'a':
			o.author = optarg;
			break;
		case 'm':
			o.message = optarg;
			break;
		case 'c':
			changes[o.n_changes++] = optarg;
			break;
		case 'p': {
			int b = parse_bool(optarg);
			if (b < 0)
				return cli_usage_error("--pause=\"%s\": expected true or false",
						       optarg);
			pause = b;
			break;
		}
		default:
			return 125;
		}
	}
	if (cli_operands(argc, argv, 1, 2))
		return 125;
	o.changes = changes;
	o.name = optind + 1 < argc ? argv[optind + 1] : NULL;
	husk_error *err = NULL;
	char *id = NULL;
	if (husk_engine_commit(&eng, argv[optind], &o, pause, &id, &err) < 0)
		return fail(err);
	printf("%s\n", id);
	free(id);
	return 0;
}

const struct cli_flag export_flags[] = {
	{"output", 'o', "FILE", "write to FILE, not stdout"},
	{0},
};

int cmd_export(int argc, char **argv)
{
	const char *out = NULL;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c != 'o')
			return 125;
		out = optarg;
	}
	if (cli_operands(argc, argv, 1, 1))
		return 125;
	if (out && strcmp(out, "-") == 0)
		out = NULL;
	if (!out && isatty(STDOUT_FILENO))
		return failf("export: refusing to write an archive to a terminal: use -o FILE");
	husk_error *err = NULL;
	if (!out) {
		if (husk_engine_export(&eng, argv[optind], STDOUT_FILENO, &err) < 0)
			return fail(err);
		return 0;
	}
	/* a temp file renamed at the end: a failure leaves no half archive */
	cleanup_free char *tmp = husk_strdup_printf("%s.XXXXXX", out);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return failf("export: cannot create \"%s\": %s", out, strerror(errno));
	int r = husk_engine_export(&eng, argv[optind], fd, &err);
	if (r == 0 && (fchmod(fd, 0644) < 0 || close(fd) < 0)) {
		unlink(tmp);
		return failf("export: cannot write \"%s\": %s", out, strerror(errno));
	}
	if (r < 0) {
		close(fd);
		unlink(tmp);
		return fail(err);
	}
	if (rename(tmp, out) < 0) {
		int e = errno;
		unlink(tmp);
		return failf("export: cannot write \"%s\": %s", out, strerror(e));
	}
	return 0;
}

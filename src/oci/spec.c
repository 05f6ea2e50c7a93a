/* husk-oci spec: write runc's default config.json. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "spec.h"
#include "util.h"

int cmd_spec(int argc, char **argv)
{
	static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
					     {"rootless", no_argument, NULL, 'r'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	const char *bundle = ".";
	bool rootless = false;
	int c;
	while ((c = getopt_long(argc, argv, "+b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bundle = optarg;
			break;
		case 'r':
			rootless = true;
			break;
		case 'h':
			printf("usage: husk-oci spec [--bundle DIR] [--rootless]\n");
			return 0;
		default:
			return cli_errorf("spec: bad option");
		}
	}
	if (optind != argc)
		return cli_errorf("spec: takes no arguments");
	char *text = husk_spec_default_json(rootless, (uint32_t)getuid(), (uint32_t)getgid());
	if (!text)
		return cli_errorf("spec: out of memory");
	char *path = husk_strdup_printf("%s/config.json", bundle);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		free(text);
		if (e == EEXIST)
			return cli_errorf("spec: \"%s\" exists; remove it first", path);
		return cli_errorf("spec: create \"%s\": %s", path, strerror(e));
	}
	size_t len = strlen(text);
	int r = husk_write_all(fd, text, len);
	if (r == 0)
		r = husk_write_all(fd, "\n", 1);
	close(fd);
	free(text);
	if (r < 0)
		return cli_errorf("spec: write \"%s\": %s", path, strerror(-r));
	free(path);
	return 0;
}

/* The small verbs: start, state, kill, delete, pause, resume, features. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "husk.h"

static const char *one_id(int argc, char **argv, const char *verb)
{
	if (optind != argc - 1) {
		cli_errorf("%s: expected exactly one container id", verb);
		return NULL;
	}
	return argv[optind];
}

static int no_options(int argc, char **argv, const char *verb)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("usage: husk-oci %s ID\n", verb);
			exit(0);
		}
		return cli_errorf("%s: bad option", verb);
	}
	return 0;
}

int cmd_start(int argc, char **argv)
{
	if (no_options(argc, argv, "start"))
		return 1;
	const char *id = one_id(argc, argv, "start");
	if (!id)
		return 1;
	husk_error *err = NULL;
	if (husk_start(g.root, id, g.explain || (g.debug && g.log_path) ? cli_trace : NULL,
		       cli_warn, NULL, &err) < 0)
		return cli_error(err);
	return 0;
}

int cmd_state(int argc, char **argv)
{
	if (no_options(argc, argv, "state"))
		return 1;
	const char *id = one_id(argc, argv, "state");
	if (!id)
		return 1;
	husk_error *err = NULL;
	char *json = NULL;
	if (husk_state(g.root, id, &json, &err) < 0)
		return cli_error(err);
	printf("%s\n", json);
	free(json);
	return 0;
}

int cmd_kill(int argc, char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'}, {0}};
	bool all = false;
	int c;
	while ((c = getopt_long(argc, argv, "+ah", opts, NULL)) != -1) {
		if (c == 'a')
			all = true;
		else if (c == 'h') {
			printf("usage: husk-oci kill [--all] ID [SIGNAL]\n");
			return 0;
		} else
			return cli_errorf("kill: bad option");
	}
	if (optind >= argc || argc - optind > 2)
		return cli_errorf("kill: expected a container id and an optional signal");
	const char *id = argv[optind];
	int sig = 15;
	if (argc - optind == 2 && parse_signal(argv[optind + 1], &sig) < 0)
		return cli_errorf("kill: unknown signal \"%s\"", argv[optind + 1]);
	husk_error *err = NULL;
	if (husk_kill(g.root, id, sig, all, &err) < 0)
		return cli_error(err);
	return 0;
}

int cmd_delete(int argc, char **argv)
{
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "+fh", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'h') {
			printf("usage: husk-oci delete [--force] ID\n");
			return 0;
		} else
			return cli_errorf("delete: bad option");
	}
	const char *id = one_id(argc, argv, "delete");
	if (!id)
		return 1;
	husk_error *err = NULL;
	if (husk_delete_warn(g.root, id, force, cli_warn, NULL, &err) < 0) {
		/* runc: --force on a container that does not exist is not an error */
		if (force && err && err->errnum == ENOENT) {
			husk_error_free(err);
			return 0;
		}
		return cli_error(err);
	}
	return 0;
}

static int pause_resume(int argc, char **argv, bool pause)
{
	const char *verb = pause ? "pause" : "resume";
	if (no_options(argc, argv, verb))
		return 1;
	const char *id = one_id(argc, argv, verb);
	if (!id)
		return 1;
	husk_error *err = NULL;
	if (husk_pause(g.root, id, pause, &err) < 0)
		return cli_error(err);
	return 0;
}

int cmd_pause(int argc, char **argv)
{
	return pause_resume(argc, argv, true);
}
int cmd_resume(int argc, char **argv)
{
	return pause_resume(argc, argv, false);
}

int cmd_features(int argc, char **argv)
{
	if (no_options(argc, argv, "features"))
		return 1;
	char *j = husk_features_json();
	if (!j)
		return cli_errorf("features: out of memory");
	printf("%s\n", j);
	free(j);
	return 0;
}

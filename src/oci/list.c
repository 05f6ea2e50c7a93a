/* husk-oci list and ps. */
#define _GNU_SOURCE
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "husk.h"

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
					     {"format", required_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	bool quiet = false, json = false;
	int c;
	while ((c = getopt_long(argc, argv, "+qf:h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "table") != 0)
				return cli_errorf("list: --format \"%s\": expected table or json",
						  optarg);
			break;
		case 'h':
			printf("usage: husk-oci list [-q] [--format table|json]\n");
			return 0;
		default:
			return cli_errorf("list: bad option");
		}
	}
	if (optind != argc)
		return cli_errorf("list: takes no arguments");
	husk_error *err = NULL;
	struct husk_list_entry *v = NULL;
	size_t n = 0;
	if (husk_list(g.root, &v, &n, &err) < 0)
		return cli_error(err);
	if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", v[i].id);
	} else if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(
				arr, json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s}", "ociVersion",
					       "1.3.0", "id", v[i].id, "pid", (int)v[i].pid,
					       "status", v[i].status, "bundle", v[i].bundle,
					       "created", v[i].created, "owner", v[i].owner));
		char *s = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", n ? s : "null");
		free(s);
		json_decref(arr);
	} else {
		printf("%-12s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE",
		       "CREATED", "OWNER");
		for (size_t i = 0; i < n; i++)
			printf("%-12s %-8d %-10s %-40s %-31s %s\n", v[i].id, (int)v[i].pid,
			       v[i].status, v[i].bundle, v[i].created, v[i].owner);
	}
	husk_list_free(v, n);
	return 0;
}

int cmd_ps(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "table") != 0)
				return cli_errorf("ps: --format \"%s\": expected table or json",
						  optarg);
			break;
		case 'h':
			printf("usage: husk-oci ps [--format table|json] ID [ps options]\n");
			return 0;
		default:
			return cli_errorf("ps: bad option");
		}
	}
	if (optind >= argc)
		return cli_errorf("ps: expected a container id");
	const char *id = argv[optind];
	husk_error *err = NULL;
	pid_t *pids = NULL;
	size_t n = 0;
	if (husk_pids(g.root, id, &pids, &n, &err) < 0)
		return cli_error(err);
	if (json) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		printf("]\n");
		free(pids);
		return 0;
	}
	/* table: ps(1) with the given options, filtered to our pids */
	char **args = calloc((size_t)argc + 8, sizeof(char *));
	size_t k = 0;
	args[k++] = (char *)"ps";
	for (int i = optind + 1; i < argc; i++)
		args[k++] = argv[i];
	if (k == 1)
		args[k++] = (char *)"-ef";
	char *list = calloc(n * 12 + 2, 1);
	size_t off = 0;
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(list + off, n * 12 + 2 - off, "%s%d", i ? "," : "",
					(int)pids[i]);
	if (n == 0)
		list[0] = '0';
	args[k++] = (char *)"-p";
	args[k++] = list;
	fflush(stdout);
	execvp("ps", args);
	free(pids);
	return cli_errorf("ps: exec ps: %m");
}

/* husk-oci list and ps. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

/* ps(1)'s output: the header, then each line whose PID column holds one
 * of pids.  -p cannot do it: with -e (the default options) ps lists every
 * process whatever -p says. */
static bool has_pid(const pid_t *pids, size_t n, long pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* the index of the whitespace-separated field of line named name, or -1 */
static int field_index(const char *line, const char *name)
{
	int idx = 0;
	for (const char *p = line; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n')
			break;
		size_t len = strcspn(p, " \t\n");
		if (len == strlen(name) && strncmp(p, name, len) == 0)
			return idx;
		p += len;
		idx++;
	}
	return -1;
}

static long field_long(const char *line, int want)
{
	int idx = 0;
	for (const char *p = line; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n')
			break;
		size_t len = strcspn(p, " \t\n");
		if (idx++ == want) {
			char *end;
			long v = strtol(p, &end, 10);
			return end == p + len ? v : -1;
		}
		p += len;
	}
	return -1;
}

static int ps_filtered(int argc, char **argv, const pid_t *pids, size_t n)
{
	char **args = calloc((size_t)argc + 2, sizeof(char *));
	if (!args)
		return cli_errorf("ps: out of memory");
	size_t k = 0;
	args[k++] = (char *)"ps";
	for (int i = 0; i < argc; i++)
		args[k++] = argv[i];
	if (k == 1)
		args[k++] = (char *)"-ef";
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		free(args);
		return cli_errorf("ps: pipe: %m");
	}
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		dup2(fds[1], 1);
		execvp("ps", args);
		fprintf(stderr, "husk-oci: ps: exec ps: %s\n", strerror(errno));
		_exit(127);
	}
	free(args);
	close(fds[1]);
	if (child < 0) {
		close(fds[0]);
		return cli_errorf("ps: fork: %m");
	}
	FILE *f = fdopen(fds[0], "r");
	char *line = NULL;
	size_t cap = 0;
	int col = -1;
	bool header = true;
	while (f && getline(&line, &cap, f) > 0) {
		if (header) {
			col = field_index(line, "PID");
			header = false;
			fputs(line, stdout);
		} else if (col >= 0 && has_pid(pids, n, field_long(line, col))) {
			fputs(line, stdout);
		}
	}
	free(line);
	if (f)
		fclose(f);
	else
		close(fds[0]);
	int st = 0;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return cli_errorf("ps: ps(1) failed (status %d)",
				  WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	if (col < 0)
		return cli_errorf(
			"ps: no PID column in ps's output (give ps options that print it)");
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
	/* table: ps(1) with the given options (-ef by default), its header
	 * and the lines whose PID is one of ours, as runc prints them */
	int r = ps_filtered(argc - optind - 1, argv + optind + 1, pids, n);
	free(pids);
	return r;
}

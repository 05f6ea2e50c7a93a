/* husk-oci update and events: runc's flags. */
#define _GNU_SOURCE
#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "husk.h"
#include "util.h"

int cmd_update(int argc, char **argv)
{
	static const struct option opts[] = {
		{"resources", required_argument, NULL, 'r'},
		{"memory", required_argument, NULL, 'm'},
		{"memory-reservation", required_argument, NULL, 'R'},
		{"memory-swap", required_argument, NULL, 'S'},
		{"kernel-memory", required_argument, NULL, 'K'},
		{"kernel-memory-tcp", required_argument, NULL, 'T'},
		{"cpu-shares", required_argument, NULL, 's'},
		{"cpu-quota", required_argument, NULL, 'q'},
		{"cpu-period", required_argument, NULL, 'p'},
		{"cpu-rt-period", required_argument, NULL, 'P'},
		{"cpu-rt-runtime", required_argument, NULL, 'U'},
		{"cpuset-cpus", required_argument, NULL, 'c'},
		{"cpuset-mems", required_argument, NULL, 'M'},
		{"pids-limit", required_argument, NULL, 'L'},
		{"blkio-weight", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	json_t *res = json_object(), *mem = json_object(), *cpu = json_object();
	char *from_file = NULL;
	int c, rc = 1;
	while ((c = getopt_long(argc, argv, "+r:h", opts, NULL)) != -1) {
		long long v = 0;
		const char *name = NULL;
		switch (c) {
		case 'r': {
			husk_error *err = NULL;
			if (strcmp(optarg, "-") == 0) {
				if (husk_read_fd_all(0, &from_file, NULL, &err) < 0)
					return cli_error(err);
			} else if (husk_read_file(optarg, &from_file, NULL, &err) < 0) {
				return cli_error(err);
			}
			break;
		}
		case 'm':
		case 'R':
		case 'S':
		case 'K':
		case 'T':
			if (husk_parse_size(optarg, &v) < 0) {
				cli_errorf("update: \"%s\" is not a size (bytes, or with k/m/g)",
					   optarg);
				goto out;
			}
			name = c == 'm'	  ? "limit"
			       : c == 'R' ? "reservation"
			       : c == 'S' ? "swap"
			       : c == 'K' ? "kernel"
					  : "kernelTCP";
			json_object_set_new(mem, name, json_integer(v));
			break;
		case 's':
		case 'q':
		case 'p':
		case 'P':
		case 'U':
		case 'L':
		case 'w': {
			long n;
			if (husk_parse_long(optarg, &n) < 0) {
				cli_errorf("update: \"%s\" is not a number", optarg);
				goto out;
			}
			if (c == 'L') {
				json_object_set_new(res, "pids",
						    json_pack("{s:I}", "limit", (json_int_t)n));
			} else if (c == 'w') {
				json_object_set_new(res, "blockIO",
						    json_pack("{s:I}", "weight", (json_int_t)n));
			} else {
				name = c == 's'	  ? "shares"
				       : c == 'q' ? "quota"
				       : c == 'p' ? "period"
				       : c == 'P' ? "realtimePeriod"
						  : "realtimeRuntime";
				json_object_set_new(cpu, name, json_integer(n));
			}
			break;
		}
		case 'c':
			json_object_set_new(cpu, "cpus", json_string(optarg));
			break;
		case 'M':
			json_object_set_new(cpu, "mems", json_string(optarg));
			break;
		case 'h':
			printf("usage: husk-oci update [-r resources.json|-] [--memory N] "
			       "[--memory-swap N] [--memory-reservation N] [--cpu-shares N] "
			       "[--cpu-quota N] [--cpu-period N] [--cpuset-cpus L] [--cpuset-mems "
			       "L] "
			       "[--pids-limit N] [--blkio-weight N] ID\n");
			rc = 0;
			goto out;
		default:
			cli_errorf("update: bad option (see --help)");
			goto out;
		}
	}
	if (optind != argc - 1) {
		cli_errorf("update: expected exactly one container id");
		goto out;
	}
	if (json_object_size(mem))
		json_object_set(res, "memory", mem);
	if (json_object_size(cpu))
		json_object_set(res, "cpu", cpu);
	char *text = from_file ? from_file : json_dumps(res, JSON_COMPACT);
	if (!from_file && json_object_size(res) == 0) {
		free(text);
		cli_errorf("update: nothing to change (give flags or -r)");
		goto out;
	}
	husk_error *err = NULL;
	int r = husk_update(g.root, argv[optind], text, &err);
	if (text != from_file)
		free(text);
	rc = r < 0 ? cli_error(err) : 0;
out:
	free(from_file);
	json_decref(res);
	json_decref(mem);
	json_decref(cpu);
	return rc;
}

int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {{"stats", no_argument, NULL, 's'},
					     {"interval", required_argument, NULL, 'i'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	bool once = false;
	double interval = 5.0;
	int c;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 's') {
			once = true;
		} else if (c == 'i') {
			char *end = NULL;
			interval = strtod(optarg, &end);
			/* runc takes Go durations: 1s, 500ms, 2m */
			if (end && strcmp(end, "ms") == 0)
				interval /= 1000.0;
			else if (end && strcmp(end, "m") == 0)
				interval *= 60.0;
			else if (end && *end && strcmp(end, "s") != 0)
				interval = -1;
			if (interval <= 0)
				return cli_errorf("events: --interval \"%s\": expected a duration "
						  "such as 5s or 500ms",
						  optarg);
		} else if (c == 'h') {
			printf("usage: husk-oci events [--stats] [--interval 5s] ID\n");
			return 0;
		} else {
			return cli_errorf("events: bad option");
		}
	}
	if (optind != argc - 1)
		return cli_errorf("events: expected exactly one container id");
	const char *id = argv[optind];
	husk_error *err = NULL;
	char *json = NULL;
	long long ooms = 0;
	bool running = false;
	if (husk_stats(g.root, id, &json, &ooms, &running, &err) < 0)
		return cli_error(err);
	if (once) {
		printf("%s\n", json);
		free(json);
		return 0;
	}
	/* the stream: stats every interval, an "oom" event as soon as one
	 * happens (looked for 5 times a second), until the container stops */
	free(json);
	setvbuf(stdout, NULL, _IOLBF, 0);
	double since = 0;
	for (;;) {
		struct timespec ts = {0, 200000000};
		nanosleep(&ts, NULL);
		since += 0.2;
		long long now = 0;
		json = NULL;
		if (husk_stats(g.root, id, since >= interval ? &json : NULL, &now, &running, &err) <
		    0)
			return cli_error(err);
		for (; ooms < now; ooms++)
			printf("{\"type\":\"oom\",\"id\":\"%s\"}\n", id);
		if (json) {
			printf("%s\n", json);
			free(json);
			since = 0;
		}
		if (!running)
			return 0;
	}
}

/* husk-oci create / run: runc's flags, then the core does the work. */
#define _GNU_SOURCE
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "husk.h"
#include "util.h"

struct create_args {
	struct husk_create_opts o;
	bool detach;
	bool keep;
	char bundle_abs[PATH_MAX];
};

static int parse_create(int argc, char **argv, struct create_args *a, bool is_run)
{
	static const struct option opts[] = {
		{"bundle", required_argument, NULL, 'b'},
		{"config", required_argument, NULL, 'C'},
		{"pid-file", required_argument, NULL, 'p'},
		{"console-socket", required_argument, NULL, 'c'},
		{"pidfd-socket", required_argument, NULL, 'F'},
		{"preserve-fds", required_argument, NULL, 'P'},
		{"no-pivot", no_argument, NULL, 'n'},
		{"no-new-keyring", no_argument, NULL, 'k'},
		{"detach", no_argument, NULL, 'd'},
		{"keep", no_argument, NULL, 'K'},
		{"no-subreaper", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *bundle = ".";
	int c;
	while ((c = getopt_long(argc, argv, is_run ? "+b:dh" : "+b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bundle = optarg;
			break;
		case 'C':
			a->o.config_path = optarg;
			break;
		case 'p':
			a->o.pid_file = optarg;
			break;
		case 'c':
			a->o.console_socket = optarg;
			break;
		case 'F':
			a->o.pidfd_socket = optarg;
			break;
		case 'P': {
			long n;
			if (husk_parse_long(optarg, &n) < 0 || n < 0 || n > 65536)
				return cli_errorf("--preserve-fds \"%s\": not a count of fds",
						  optarg);
			a->o.preserve_fds = (int)n;
			break;
		}
		case 'n':
			a->o.no_pivot = true;
			break;
		case 'k':
			a->o.no_new_keyring = true;
			break;
		case 'd':
			if (!is_run)
				return cli_errorf("create: unknown option --detach");
			a->detach = true;
			break;
		case 'K':
			a->keep = true;
			break;
		case 'S':
			break;
		case 'h':
			printf("usage: husk-oci %s [--bundle DIR] [--config FILE] [--pid-file F] "
			       "[--console-socket S] [--pidfd-socket S] "
			       "[--preserve-fds N] [--no-pivot] [--no-new-keyring]%s ID\n",
			       is_run ? "run" : "create", is_run ? " [-d]" : "");
			exit(0);
		default:
			return cli_errorf("%s: bad option (see --help)", is_run ? "run" : "create");
		}
	}
	if (optind != argc - 1)
		return cli_errorf("%s: expected exactly one container id",
				  is_run ? "run" : "create");
	a->o.id = argv[optind];
	if (!realpath(bundle, a->bundle_abs))
		return cli_errorf("bundle \"%s\": %m", bundle);
	a->o.bundle = a->bundle_abs;
	a->o.state_root = g.root;
	a->o.no_cgroup = g.no_cgroups;
	a->o.warn = cli_warn;
	if (g.explain || (g.debug && g.log_path))
		a->o.trace = cli_trace;
	/* pid-file and console socket paths are relative to where we run */
	return 0;
}

int cmd_create(int argc, char **argv)
{
	struct create_args a = {0};
	if (parse_create(argc, argv, &a, false))
		return 1;
	husk_error *err = NULL;
	struct husk_created cr;
	if (husk_create(&a.o, &cr, &err) < 0)
		return cli_error(err);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct create_args a = {0};
	if (parse_create(argc, argv, &a, true))
		return 1;
	a.o.start_now = true;
	husk_error *err = NULL;
	struct husk_created cr;
	if (husk_create(&a.o, &cr, &err) < 0)
		return cli_error(err);
	if (cr.terminal && a.detach && !a.o.console_socket) {
		husk_delete(g.root, a.o.id, true, NULL);
		return cli_errorf("run --detach with process.terminal needs --console-socket");
	}
	if (husk_run_start(&a.o, &cr, &err) < 0) {
		/* a failing poststart hook too: stop and destroy (runtime.md) */
		husk_delete_warn(g.root, a.o.id, true, cli_warn, NULL, NULL);
		return cli_error(err);
	}
	if (a.detach)
		return 0;
	int status = cli_wait_and_proxy(cr.pid, cr.pty_master);
	if (!a.keep && husk_delete_warn(g.root, a.o.id, true, cli_warn, NULL, &err) < 0)
		cli_error(err);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/* husk-oci exec: runc's flags. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli.h"
#include "husk.h"
#include "util.h"

int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{"process", required_argument, NULL, 'p'},
		{"tty", no_argument, NULL, 't'},
		{"console-socket", required_argument, NULL, 'c'},
		{"pidfd-socket", required_argument, NULL, 'f'},
		{"detach", no_argument, NULL, 'd'},
		{"pid-file", required_argument, NULL, 'P'},
		{"env", required_argument, NULL, 'e'},
		{"cwd", required_argument, NULL, 'w'},
		{"user", required_argument, NULL, 'u'},
		{"additional-gids", required_argument, NULL, 'g'},
		{"cap", required_argument, NULL, 'C'},
		{"no-new-privs", no_argument, NULL, 'n'},
		{"preserve-fds", required_argument, NULL, 'F'},
		{"process-label", required_argument, NULL, 'L'},
		{"apparmor", required_argument, NULL, 'A'},
		{"ignore-paused", no_argument, NULL, 'I'},
		{"cgroup", required_argument, NULL, 'G'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct husk_exec_opts o = {.state_root = g.root, .warn = cli_warn};
	if (g.explain || (g.debug && g.log_path))
		o.trace = cli_trace;
	char **env = NULL, **caps = NULL, **cgroups = NULL;
	size_t nenv = 0, ncaps = 0, ncgroups = 0;
	const char *process_file = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+p:tdP:e:w:u:g:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			process_file = optarg;
			break;
		case 't':
			o.tty = true;
			break;
		case 'c':
			o.console_socket = optarg;
			break;
		case 'f':
			o.pidfd_socket = optarg;
			break;
		case 'd':
			o.detach = true;
			break;
		case 'P':
			o.pid_file = optarg;
			break;
		case 'e':
			if (!strchr(optarg, '='))
				return cli_errorf("exec: --env \"%s\": expected NAME=VALUE",
						  optarg);
			husk_strv_push(&env, &nenv, optarg);
			break;
		case 'w':
			o.cwd = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'C':
			husk_strv_push(&caps, &ncaps, optarg);
			break;
		case 'n':
			o.no_new_privs = true;
			break;
		case 'F': {
			long n;
			if (husk_parse_long(optarg, &n) < 0 || n < 0 || n > 65536)
				return cli_errorf("exec: --preserve-fds \"%s\": not a count",
						  optarg);
			o.preserve_fds = (int)n;
			break;
		}
		case 'G':
			husk_strv_push(&cgroups, &ncgroups, optarg);
			break;
		case 'g':
		case 'L':
		case 'A':
			return cli_errorf("exec: --%s is not supported yet",
					  c == 'g'   ? "additional-gids"
					  : c == 'L' ? "process-label"
						     : "apparmor");
		case 'I':
			break;
		case 'h':
			printf("usage: husk-oci exec [options] ID [COMMAND [ARG...]]\n"
			       "  -p, --process FILE   process.json to run\n"
			       "  -t, --tty            allocate a pty\n"
			       "      --console-socket S\n"
			       "      --pidfd-socket S  send a pidfd of the process to this unix "
			       "socket\n"
			       "  -d, --detach\n"
			       "      --pid-file FILE\n"
			       "  -e, --env NAME=VALUE\n"
			       "      --cwd DIR\n"
			       "  -u, --user UID[:GID]\n"
			       "      --cap CAP\n"
			       "      --no-new-privs\n"
			       "      --preserve-fds N\n"
			       "      --cgroup [CTRL[,CTRL]:]PATH  a cgroup below the "
			       "container's\n");
			return 0;
		default:
			return cli_errorf("exec: bad option (see --help)");
		}
	}
	if (optind >= argc)
		return cli_errorf("exec: expected a container id");
	o.id = argv[optind];
	char *pj = NULL;
	husk_error *err = NULL;
	if (process_file) {
		if (husk_read_file(process_file, &pj, NULL, &err) < 0) {
			husk_error_wrap(&err, "exec --process");
			return cli_error(err);
		}
		o.process_json = pj;
	} else {
		if (optind + 1 >= argc)
			return cli_errorf("exec: expected a command to run (or --process)");
		o.args = argv + optind + 1;
	}
	o.env = env;
	o.caps = caps;
	o.cgroups = cgroups;
	struct husk_exec_result r;
	int er = husk_exec(&o, &r, &err);
	free(pj);
	free(env);
	free(caps);
	free(cgroups);
	if (er < 0)
		return cli_error(err);
	if (o.detach)
		return 0;
	int status = cli_wait_and_proxy(r.pid, r.pty_master);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

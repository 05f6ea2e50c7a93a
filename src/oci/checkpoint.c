/* husk-oci checkpoint / restore: runc's flags over libhusk's CRIU driver. */
#define _GNU_SOURCE
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "husk.h"
#include "util.h"

enum {
	OPT_IMAGE = 1000,
	OPT_WORK,
	OPT_PARENT,
	OPT_LEAVE,
	OPT_TCP,
	OPT_UNIX,
	OPT_SHELL,
	OPT_LOCKS,
	OPT_PREDUMP,
	OPT_CGMODE,
	OPT_BUNDLE,
	OPT_DETACH,
	OPT_PIDFILE,
	OPT_IGNORED,
	OPT_IGNORED_ARG,
	OPT_HELP,
};

static const struct option ck_opts[] = {
	{"image-path", required_argument, NULL, OPT_IMAGE},
	{"work-path", required_argument, NULL, OPT_WORK},
	{"parent-path", required_argument, NULL, OPT_PARENT},
	{"leave-running", no_argument, NULL, OPT_LEAVE},
	{"tcp-established", no_argument, NULL, OPT_TCP},
	{"ext-unix-sk", no_argument, NULL, OPT_UNIX},
	{"shell-job", no_argument, NULL, OPT_SHELL},
	{"file-locks", no_argument, NULL, OPT_LOCKS},
	{"pre-dump", no_argument, NULL, OPT_PREDUMP},
	{"manage-cgroups-mode", required_argument, NULL, OPT_CGMODE},
	/* restore only */
	{"bundle", required_argument, NULL, OPT_BUNDLE},
	{"detach", no_argument, NULL, OPT_DETACH},
	{"pid-file", required_argument, NULL, OPT_PIDFILE},
	{"no-subreaper", no_argument, NULL, OPT_IGNORED},
	{"no-pivot", no_argument, NULL, OPT_IGNORED},
	{"auto-dedup", no_argument, NULL, OPT_IGNORED},
	{"help", no_argument, NULL, OPT_HELP},
	{0},
};

static const char ck_help[] =
	"  --image-path DIR        where the images go (default: ./checkpoint)\n"
	"  --work-path DIR         CRIU's logs (default: the image path)\n"
	"  --tcp-established       established TCP connections too\n"
	"  --ext-unix-sk           unix sockets connected outside\n"
	"  --shell-job             a process attached to a terminal of the caller\n"
	"  --file-locks            held file locks\n"
	"  --manage-cgroups-mode soft|full|strict|ignore\n";

struct ck_args {
	struct husk_restore_opts r;
	bool detach;
	char bundle[PATH_MAX];
};

/* p made absolute against the working directory (malloc'd) */
static char *absolute(const char *p)
{
	if (p[0] == '/')
		return strdup(p);
	cleanup_free char *cwd = getcwd(NULL, 0);
	return cwd ? husk_strdup_printf("%s/%s", cwd, p) : NULL;
}

static int parse(int argc, char **argv, struct ck_args *a, bool restore)
{
	const char *verb = restore ? "restore" : "checkpoint";
	struct husk_checkpoint_opts *o = &a->r.ck;
	const char *image = "checkpoint", *work = NULL, *bundle = ".";
	int c;
	while ((c = getopt_long(argc, argv, restore ? "+b:dh" : "+h", ck_opts, NULL)) != -1) {
		switch (c) {
		case OPT_IMAGE:
			image = optarg;
			break;
		case OPT_WORK:
			work = optarg;
			break;
		case OPT_TCP:
			o->tcp_established = true;
			break;
		case OPT_UNIX:
			o->ext_unix_sk = true;
			break;
		case OPT_SHELL:
			o->shell_job = true;
			break;
		case OPT_LOCKS:
			o->file_locks = true;
			break;
		case OPT_CGMODE:
			o->manage_cgroups_mode = optarg;
			break;
		case OPT_PARENT:
		case OPT_LEAVE:
		case OPT_PREDUMP:
			if (restore)
				return cli_errorf("restore: bad option (see --help)");
			if (c == OPT_PARENT)
				o->parent_path = optarg;
			else if (c == OPT_LEAVE)
				o->leave_running = true;
			else
				o->pre_dump = true;
			break;
		case 'b':
		case 'd':
		case OPT_BUNDLE:
		case OPT_DETACH:
		case OPT_PIDFILE:
		case OPT_IGNORED:
			if (!restore)
				return cli_errorf("checkpoint: bad option (see --help)");
			if (c == 'b' || c == OPT_BUNDLE)
				bundle = optarg;
			else if (c == 'd' || c == OPT_DETACH)
				a->detach = true;
			else if (c == OPT_PIDFILE)
				a->r.pid_file = optarg;
			break;
		case 'h':
		case OPT_HELP:
			printf("usage: husk-oci %s [options] ID\n%s%s", verb, ck_help,
			       restore ? "  -b, --bundle DIR\n  -d, --detach\n  --pid-file FILE\n"
				       : "  --leave-running         keep it running after the "
					 "dump\n"
					 "  --pre-dump              memory only, for a later dump\n"
					 "  --parent-path DIR       a pre-dump's images, relative "
					 "to the image path\n");
			exit(0);
		default:
			return cli_errorf("%s: bad option (see --help)", verb);
		}
	}
	if (optind != argc - 1)
		return cli_errorf("%s: expected exactly one container id", verb);
	o->id = argv[optind];
	o->criu = g.criu;
	/* relative paths are the caller's, made absolute before CRIU runs
	 * (runc makes --root absolute too: CRIU's --root is in the state) */
	o->state_root = absolute(g.root);
	o->image_path = absolute(image);
	o->work_path = work ? absolute(work) : NULL;
	if (!o->state_root || !o->image_path || (work && !o->work_path))
		return cli_errorf("%s: getcwd: %m", verb);
	if (restore) {
		if (!realpath(bundle, a->bundle))
			return cli_errorf("bundle \"%s\": %m", bundle);
		a->r.bundle = a->bundle;
		a->r.no_cgroup = g.no_cgroups;
	}
	return 0;
}

int cmd_checkpoint(int argc, char **argv)
{
	struct ck_args a = {0};
	if (parse(argc, argv, &a, false))
		return 1;
	husk_error *err = NULL;
	if (husk_checkpoint(&a.r.ck, &err) < 0)
		return cli_error(err);
	return 0;
}

int cmd_restore(int argc, char **argv)
{
	struct ck_args a = {0};
	if (parse(argc, argv, &a, true))
		return 1;
	/* CRIU leaves the restored init to the nearest subreaper: us, so
	 * that a foreground restore waits for it as run does */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	husk_error *err = NULL;
	pid_t pid = -1;
	if (husk_restore(&a.r, &pid, &err) < 0)
		return cli_error(err);
	if (a.detach)
		return 0;
	int status = cli_wait_and_proxy(pid, -1);
	if (husk_delete_warn(g.root, a.r.ck.id, true, cli_warn, NULL, &err) < 0)
		cli_error(err);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

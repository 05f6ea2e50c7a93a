/* husk-oci: runc's command line over libhusk.  One file per verb; this
 * header holds what they share: global options, error printing, the tty
 * proxy and signal names. */
#ifndef HUSK_OCI_CLI_H
#define HUSK_OCI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct cli {
	const char *root;
	const char *log_path;
	const char *criu; /* --criu: CRIU's binary (NULL: criu in PATH) */
	int log_fd;	  /* --log, opened once, or -1 */
	bool no_cgroups;  /* --cgroup-manager disabled */
	bool log_json;
	bool debug;
	bool explain;
	const char *argv0;
};

extern struct cli g;

/* Print err once (stderr and --log), return exit status 1. */
int cli_error(husk_error *err);
int cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(void *ud, const char *msg);
void cli_trace(void *ud, const char *step, uint64_t ns);

#include "tty.h"

int cmd_spec(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_restore(int argc, char **argv);

#endif

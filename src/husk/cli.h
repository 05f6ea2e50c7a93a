/* What the files of the engine's command line share: the engine handle
 * (roots), the error printers and one function per command. */
#ifndef HUSK_CLI_H
#define HUSK_CLI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "error.h"

extern struct husk_engine eng;

/* Print "husk: MESSAGE" once and return 125, Docker's status for an error
 * of the engine itself. fail() frees err. */
int fail(husk_error *err);
int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct husk_tmpl;
/* --format: data rendered by the template, on a line of its own; 0, or
 * the error printed and 125 */
int cli_print_tmpl(const struct husk_tmpl *t, json_t *data);

/* run.c */
int cmd_run(int argc, char **argv);
int cmd_create(int argc, char **argv);

/* containers.c */
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_unpause(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_rename(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_healthcheck(int argc, char **argv);
int cmd_system(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

/* human.c: "5 seconds", "About an hour", as docker words durations */
void cli_human_duration(long long seconds, char *out, size_t n);
/* "30s", "1m30s", "500ms" (Go's durations); -1 when not one */
int cli_parse_duration(const char *s, int64_t *ret_ns);

/* images.c */
int cmd_images(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_rmi(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_tag(int argc, char **argv);

/* registry.c */
int cmd_pull(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
/* The name `husk run` should use for image: as given when it is in the
 * store (or is the built-in busybox), else pulled first.  Prints the
 * error and returns 125 when that fails. */
/* run's --pull: like Podman's */
enum cli_pull { CLI_PULL_MISSING, CLI_PULL_NEVER, CLI_PULL_ALWAYS };
int cli_image_for_run(const char *image, enum cli_pull pull, char **ret_name);

#endif

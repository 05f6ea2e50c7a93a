/* What the files of the engine's command line share: the engine handle
 * (roots), the error printers and one function per command. */
#ifndef HUSK_CLI_H
#define HUSK_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "engine.h"
#include "error.h"

extern struct husk_engine eng;

/* A flag of a command.  The table ends with a zero entry. */
struct cli_flag {
	const char *name; /* --name */
	char letter;	  /* -x, or 0 */
	const char *arg;  /* the value's name ("SECONDS"), NULL for a switch */
	const char *help; /* one line; NULL: an alias, parsed but never shown */
	int key;	  /* what cli_getopt returns; 0: the letter */
};

/* A command, or a noun's subcommand (image ls).  A table ends with a zero
 * entry.  fn gets argv from the command's own name. */
struct cli_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *operands; /* "IMAGE [COMMAND...]", NULL for none */
	const char *help;
	const struct cli_flag *flags;
	const char *example;
	const struct cli_command *subs; /* a noun's verbs */
	bool hidden;
};

/* The command running, and its path ("image ls") for messages. */
extern const struct cli_command *cli_current;
extern char cli_current_path[64];

/* getopt_long over cli_current's flags, taking them after operands too,
 * as Docker's, except where the operands end with a command (run,
 * create, exec, top: the first operand ends husk's flags): the flag's key, -1 at the end, or '?'
 * after printing what was wrong (an unknown flag, a missing value): the verb then returns 125. */
int cli_getopt(int argc, char **argv);
/* One object's inspect JSON (a new reference), or NULL with err set:
 * for `husk inspect`, which takes every kind as Docker's does */
json_t *cli_network_json(const char *name, husk_error **err);
json_t *cli_volume_json(const char *name, husk_error **err);
/* inspect's output for each name: one(name) as a JSON array, or each
 * through the --format template; 0, or 125 when one of them failed (its
 * error printed, the others still shown) */
int cli_inspect(char *const *names, size_t n, const char *format, const char *const *fields,
		json_t *(*one)(const char *name, husk_error **err));
/* rows (objects of strings) in columns as Docker's tables: a header of
 * cols, each column as wide as its widest cell and three spaces (ten
 * columns at the least, as Docker's tabwriter) */
void cli_print_table(const char *const *cols, const char *const *keys, size_t n, json_t *rows);
/* A row's labels as Docker's ls commands show them: .Labels "k=v,k2=v2"
 * (by key), and the object itself under "Label" for {{.Label "k"}}.
 * labels: an object (stolen), or NULL for none. */
void cli_row_labels(json_t *row, json_t *labels);
/* "husk: CMD: MESSAGE (see 'husk CMD --help')"; returns 125 */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 0 when min..max operands follow the flags (max -1: no bound), else the
 * usage error printed and 125 */
int cli_operands(int argc, char **argv, int min, int max);
void cli_print_help(FILE *out, const struct cli_command *c, const char *path);
/* husk.1 and husk-CMD.1 for every command into dir */
int cli_write_man(const struct cli_command *cmds, const char *dir, const char *version);
/* bash, zsh or fish; EINVAL for another shell */
int cli_write_completion(FILE *f, const struct cli_command *cmds, const char *shell);

/* Print "husk: MESSAGE" once and return 125, Docker's status for an error
 * of the engine itself. fail() frees err. */
int fail(husk_error *err);
int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Docker's --env-file and --label-file: NAME=VALUE lines appended to the
 * NULL-terminated *into, each string also pushed on *owned (the caller
 * frees them); with env, a NAME alone takes the caller's value.  0, or
 * 125 after printing what is wrong (flag and path named). */
/* --platform: 0 for the host's (linux, linux/amd64 or its arch), else 125
 * after one line (husk runs no emulation) */
int cli_check_platform(const char *p);
int cli_read_kv_file(const char *flag, const char *path, bool env, char ***into, char ***owned,
		     size_t *n_owned);

struct husk_tmpl;
/* --format: data rendered by the template, on a line of its own (in
 * table mode, kept for cli_tmpl_flush); 0, or the error printed and 125 */
int cli_print_tmpl(const struct husk_tmpl *t, json_t *data);
/* A listing's --format, as Docker's: "table TEMPLATE" is a header row
 * (each {{.Field}} named as Docker's tables name it) and then the rows,
 * their cells (the text between tabs) aligned in columns when
 * cli_tmpl_flush prints them; "table" alone is the command's own table
 * (*ret NULL, as with no --format); anything else a template a row. */
int cli_tmpl_parse(const char *format, const char *const *fields, struct husk_tmpl **ret,
		   husk_error **err);
/* The rows a table --format kept, aligned; nothing otherwise.  main()
 * calls it when the verb returns. */
void cli_tmpl_flush(void);

/* run.c */
int cmd_run(int argc, char **argv);
int cmd_create(int argc, char **argv);
extern const struct cli_flag run_flags[];

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
int cmd_update(int argc, char **argv);
extern const struct cli_flag update_flags[];
int cmd_ps(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_healthcheck_run(int argc, char **argv);
int cmd_system_boot(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_cp(int argc, char **argv);

/* network.c */
int cmd_network_create(int argc, char **argv);
int cmd_network_ls(int argc, char **argv);
int cmd_network_inspect(int argc, char **argv);
int cmd_network_rm(int argc, char **argv);
int cmd_network_prune(int argc, char **argv);
/* remove and list the networks no container is on that f matches
 * (network prune, system prune); 0 or 125 */
int cli_network_prune(const struct husk_prune_filter *f);
int cmd_network_connect(int argc, char **argv);
int cmd_network_disconnect(int argc, char **argv);
extern const struct cli_flag network_rm_flags[];
extern const struct cli_flag network_create_flags[], network_ls_flags[], network_inspect_flags[],
	network_prune_flags[], network_connect_flags[], network_disconnect_flags[];
extern const struct cli_flag start_flags[], stop_flags[], kill_flags[], attach_flags[], rm_flags[],
	ps_flags[], logs_flags[], exec_flags[], inspect_flags[], cp_flags[];

/* commit.c */
int cmd_commit(int argc, char **argv);
int cmd_export(int argc, char **argv);
extern const struct cli_flag commit_flags[], export_flags[];

/* build.c */
int cmd_build(int argc, char **argv);
int cmd_builder_prune(int argc, char **argv);
extern const struct cli_flag build_flags[], builder_prune_flags[];

/* human.c: "5 seconds", "About an hour", as docker words durations */
void cli_human_duration(long long seconds, char *out, size_t n);
/* "1.23MB", "0B": decimal units, prec significant digits (go-units'
 * HumanSizeWithPrecision) */
void cli_human_size(long long bytes, int prec, char *out, size_t n);
/* "30s", "1m30s", "500ms" (Go's durations); -1 when not one */
int cli_parse_duration(const char *s, int64_t *ret_ns);

/* images.c */
int cmd_images(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_rmi(int argc, char **argv);
int cmd_image_inspect(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_tag(int argc, char **argv);
extern const struct cli_flag images_flags[], load_flags[], rmi_flags[], save_flags[],
	image_inspect_flags[], import_flags[];

/* volume.c */
int cmd_volume_create(int argc, char **argv);
int cmd_volume_ls(int argc, char **argv);
int cmd_volume_inspect(int argc, char **argv);
int cmd_volume_rm(int argc, char **argv);
int cmd_volume_prune(int argc, char **argv);
extern const struct cli_flag volume_create_flags[], volume_ls_flags[], volume_inspect_flags[],
	volume_rm_flags[], volume_prune_flags[];

/* registry.c */
int cmd_pull(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
extern const struct cli_flag pull_flags[], push_flags[], login_flags[], logout_flags[];
/* The name `husk run` should use for image: as given when it is in the
 * store (or is the built-in busybox), else pulled first.  Prints the
 * error and returns 125 when that fails. */
/* run's --pull: like Podman's; quiet: no progress (run -q) */
enum cli_pull { CLI_PULL_MISSING, CLI_PULL_NEVER, CLI_PULL_ALWAYS };
int cli_image_for_run(const char *image, enum cli_pull pull, bool quiet, char **ret_name);

/* look.c: version, info, top, stats, port, diff, history, events,
 * container prune, system df, system prune */
int cmd_version(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_port(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_container_prune(int argc, char **argv);
int cmd_system_df(int argc, char **argv);
int cmd_system_prune(int argc, char **argv);
int cmd_image_prune(int argc, char **argv);
extern const struct cli_flag version_flags[], info_flags[], stats_flags[], history_flags[],
	events_flags[], prune_flags[], system_prune_flags[], image_prune_flags[], df_flags[];
/* "2026-12-06T19:50:31.5Z" (offsets too), Unix seconds (with a fraction),
 * or a duration before now ("10m"); -1 when none of those */
int cli_parse_time(const char *s, int64_t *ret_ns);
/* one --filter of a prune verb (until=, label=, label!=) into f; 125 after
 * saying what is wrong */
int cli_prune_filter(struct husk_prune_filter *f, const char *arg);
/* A prune verb's flags, those its table has: -f, -a, --volumes ('V'),
 * --filter ('L'); no operands.  0, or 125 after saying what is wrong;
 * the filter is the caller's to release. */
struct cli_prune {
	bool force, all, volumes;
	struct husk_prune_filter filter;
};
int cli_prune_args(int argc, char **argv, struct cli_prune *p);

#endif

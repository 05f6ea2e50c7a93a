/* Shared by both command lines: signal names, and the foreground side of
 * a container's process (forward signals, copy to and from its pty, wait). */
#ifndef HUSK_COMMON_TTY_H
#define HUSK_COMMON_TTY_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

int parse_signal(const char *s, int *ret);
/* Before a terminal goes raw: what it already completed in canonical mode,
 * to send(); buf NULL for an end-of-file mark */
void cli_forward_cooked_input(void (*send)(void *ud, const char *buf, size_t len), void *ud);
/* Returns the wait status of pid. */
int cli_wait_and_proxy(pid_t pid, int pty_master);
/* The same, and with a pty the detach keys ("ctrl-p,ctrl-q" when NULL, ""
 * none) end the proxy: *ret_detached, 0 returned, the process going on
 * with its pty held and drained by a child of ours in its own session. */
int cli_wait_and_proxy_detach(pid_t pid, int pty_master, const char *detach_keys,
			      bool *ret_detached);
/* Docker's --detach-keys: "ctrl-p,ctrl-q" -> 0x10 0x11, "a,b" the letters;
 * how many bytes went to out */
size_t cli_detach_keys_parse(const char *s, char *out, size_t cap);

#endif

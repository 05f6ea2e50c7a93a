/* Shared by both command lines: signal names, and the foreground side of
 * a container's process (forward signals, copy to and from its pty, wait). */
#ifndef HUSK_COMMON_TTY_H
#define HUSK_COMMON_TTY_H

#include <sys/types.h>

#include <stddef.h>

int parse_signal(const char *s, int *ret);
/* Before a terminal goes raw: what it already completed in canonical mode,
 * to send(); buf NULL for an end-of-file mark */
void cli_forward_cooked_input(void (*send)(void *ud, const char *buf, size_t len), void *ud);
/* Returns the wait status of pid. */
int cli_wait_and_proxy(pid_t pid, int pty_master);

#endif

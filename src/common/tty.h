/* Shared by both command lines: signal names, and the foreground side of
 * a container's process (forward signals, copy to and from its pty, wait). */
#ifndef HUSK_COMMON_TTY_H
#define HUSK_COMMON_TTY_H

#include <sys/types.h>

int parse_signal(const char *s, int *ret);
/* Returns the wait status of pid. */
int cli_wait_and_proxy(pid_t pid, int pty_master);

#endif

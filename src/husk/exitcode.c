/* The exit status of run and exec when the container's process could not be
 * executed, as Docker (and POSIX shells) have it: 127 when the command was
 * not found, 126 when it was found but cannot be executed.  Matched by the
 * core's errno, never by the message. */
#include <errno.h>

#include "cli.h"

int cli_exit_code_for_exec_error(const husk_error *err)
{
	switch (err ? err->errnum : 0) {
	case ENOENT:
		return 127;
	case EACCES:
	case EPERM:
	case ENOEXEC:
	case EISDIR:
		return 126;
	default:
		return 125; /* an error of the engine itself */
	}
}

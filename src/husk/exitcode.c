/* Docker's exit codes for a container process that could not start:
 * 127 when the command is not found, 126 when it cannot be executed,
 * 125 for any other failure of the engine.  Matched by errno, never by
 * the message. */
#include <errno.h>

#include "cli.h"

int cli_exit_code_for_exec_error(const husk_error *err)
{
	int e = err ? err->errnum : 0;
	if (e < 0)
		e = -e;
	if (e == ENOENT)
		return 127;
	if (e == EACCES || e == EPERM || e == ENOEXEC || e == EISDIR)
		return 126;
	return 125;
}

#define _GNU_SOURCE
#include "fault.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct husk_fault_info husk_fault_steps[HUSK_FAULT_N] = {
#define HUSK_FAULT_INFO(id, name, what) [HUSK_FAULT_##id] = {name, what},
	HUSK_FAULT_STEPS(HUSK_FAULT_INFO)
#undef HUSK_FAULT_INFO
};

#ifdef HUSK_FAULT_INJECTION
void husk_fault_at(enum husk_fault_step step)
{
	/* read each time: cheap, and right in a cloned child too */
	const char *want = getenv("HUSK_FAULT");
	if (!want || strcmp(want, husk_fault_steps[step].name) != 0)
		return;
	raise(SIGKILL);
	/* still here: the init of a new pid namespace, which ignores signals
	 * sent from inside it, even SIGKILL (pid_namespaces(7)) */
	_exit(128 + SIGKILL);
}
#endif

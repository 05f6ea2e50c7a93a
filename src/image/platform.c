/* The one platform husk runs: the host's (linux/amd64, or linux/arm64 on
 * an aarch64 host), as --platform values and FROM --platform name it.
 * Every --platform of the CLI and the builder's FROM --platform check
 * their value here, so that both take the same spellings. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include "image.h"

const char *husk_platform_arch(void)
{
	struct utsname u;
	return uname(&u) == 0 && strcmp(u.machine, "aarch64") == 0 ? "arm64" : "amd64";
}

int husk_platform_check(const char *p, husk_error **err)
{
	const char *arch = husk_platform_arch();
	const char *a = strncmp(p, "linux/", 6) == 0 ? p + 6 : p;
	if (strcmp(p, "linux") == 0 || strcmp(a, arch) == 0 ||
	    (strcmp(arch, "amd64") == 0 && strcmp(a, "x86_64") == 0))
		return 0;
	return husk_fail_as(err, EINVAL,
			    "--platform \"%s\": this host runs linux/%s containers only", p, arch);
}

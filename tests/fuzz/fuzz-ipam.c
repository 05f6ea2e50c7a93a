/* libFuzzer: the host's address leases (src/net/ipam.c): any bytes in
 * leases.json must be read, counted, allocated from and released from
 * without a crash, and an allocation must never hand out an address the
 * file already gives another container. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net-private.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/husk-fuzz-ipam.XXXXXX";
static char *leases;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!leases) {
		if (!mkdtemp(dir))
			abort();
		leases = husk_strdup_printf("%s/leases.json", dir);
	}
	int fd = open(leases, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	(void)net_ipam_count(dir);
	char **in = net_ipam_in(dir, ntohl(inet_addr("10.89.0.0")), 24);
	for (char **p = in; p && *p; p++)
		free(*p);
	free(in);
	husk_error *err = NULL;
	struct net_pool pool = {.net = ntohl(inet_addr("10.89.0.0")), .prefix = 24};
	pool.gw = pool.net + 1;
	pool.lo = pool.net + 2;
	pool.hi = pool.net + 254;
	struct in_addr got;
	if (net_ipam_alloc(dir, &pool, 0, "fuzz", &got, &err) == 0) {
		/* never an address the file gives another container */
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &got, ip, sizeof(ip));
		json_t *j = json_loadb((const char *)data, size, 0, NULL);
		const char *owner = json_string_value(json_object_get(j, ip));
		if (owner && strcmp(owner, "fuzz") != 0)
			abort();
		json_decref(j);
		(void)net_ipam_release(dir, "fuzz", ip, NULL, NULL);
	}
	husk_error_free(err);
	return 0;
}

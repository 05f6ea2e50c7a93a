/* The undo of a container's network, fast and without libraries, so that
 * the static monitor does it for --rm containers itself (no exec of husk,
 * no libnftables) and `run --rm` waits for little:
 *
 * - the netns is unmounted, never its veths deleted: RTM_DELLINK waits
 *   for an RCU grace period (26 ms measured here), while the kernel
 *   removes the veth pairs of a freed netns asynchronously (cleanup_net);
 * - the names go from the resolver's tables;
 * - published ports are deleted from the table's maps by nfnetlink;
 * - the lease is released, and when it was the host's last, the table
 *   goes too (nfnetlink, under the leases' lock, so that a container
 *   being set up at the same time either finds it or makes it again). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net-private.h"
#include "util.h"

static void keep_first(husk_error **err, husk_error **e)
{
	if (err && !*err)
		*err = *e;
	else
		husk_error_free(*e);
	*e = NULL;
}

static void table_delete(void)
{
	net_nfnl_table_delete();
}

int husk_net_teardown(const char *runroot, const char *id, husk_error **err)
{
	int r = 0;
	husk_error *e = NULL;
	cleanup_free char *ns = husk_strdup_printf("%s/net/ns/%s", runroot, id);
	net_ns_remove(ns);
	if (husk_names_remove(NULL, id, &e) < 0) {
		r = -1;
		keep_first(err, &e);
	}
	cleanup_free char *undo = husk_strdup_printf("%s/net/nft/%s", runroot, id);
	cleanup_free char *ports = NULL;
	size_t len = 0;
	if (husk_read_file(undo, &ports, &len, &e) == 0) {
		/* "tcp 8080" a line: each alone, one already gone must not
		 * keep the rest */
		for (char *save = NULL, *l = strtok_r(ports, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			char proto[4];
			unsigned int port;
			if (sscanf(l, "%3s %u", proto, &port) != 2 || port > 65535)
				continue;
			int nr = net_nfnl_port_delete(strcmp(proto, "udp") ? "tcp_ports"
									   : "udp_ports",
						      (unsigned short)port);
			if (nr < 0 && r == 0) {
				r = husk_fail(err, -nr, "unpublish port %u/%s", port, proto);
				r = -1;
			}
		}
		unlink(undo);
	}
	husk_error_freep(&e);
	if (net_ipam_release(husk_net_state_dir(), id, NULL, table_delete, &e) < 0) {
		r = -1;
		keep_first(err, &e);
	}
	return r;
}

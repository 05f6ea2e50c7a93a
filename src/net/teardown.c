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
 *   and the default bridge go too (under the leases' lock, so that a
 *   container being set up at the same time, which takes its lease before
 *   it makes them, either finds them or makes them again).  Deleting the
 *   bridge waits for an RCU grace period, but only the host's last
 *   container pays it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
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

/* RTM_DELLINK of the default bridge, in raw rtnetlink (the static monitor
 * links no libmnl); gone already is fine */
static void bridge_delete(void)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
		char attrs[64];
	} req = {0};
	req.h.nlmsg_type = RTM_DELLINK;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.i));
	req.i.ifi_family = AF_UNSPEC;
	struct rtattr *a = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.h.nlmsg_len));
	a->rta_type = IFLA_IFNAME;
	a->rta_len = RTA_LENGTH(sizeof(HUSK_NET_BRIDGE));
	memcpy(RTA_DATA(a), HUSK_NET_BRIDGE, sizeof(HUSK_NET_BRIDGE));
	req.h.nlmsg_len = NLMSG_ALIGN(req.h.nlmsg_len) + RTA_ALIGN(a->rta_len);
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return;
	if (send(fd, &req, req.h.nlmsg_len, 0) == (ssize_t)req.h.nlmsg_len) {
		char ack[512];
		(void)recv(fd, ack, sizeof(ack), 0); /* the ack: after the delete is done */
	}
	close(fd);
}

static void last_lease_gone(void)
{
	net_nfnl_table_delete();
	net_nfnl_table6_delete();
	bridge_delete();
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
		/* "tcp 8080" or "tcp 8080 127.0.0.1" a line: each alone, one
		 * already gone must not keep the rest */
		for (char *save = NULL, *l = strtok_r(ports, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			char proto[4], ip[16] = "";
			unsigned int port;
			struct in_addr a;
			int k = sscanf(l, "%3s %u %15s", proto, &port, ip);
			if (k < 2 || port > 65535)
				continue;
			bool udp = strcmp(proto, "udp") == 0;
			int nr = k == 3 && inet_pton(AF_INET, ip, &a) == 1
					 ? net_nfnl_bind_delete(udp ? "udp_binds" : "tcp_binds", a,
								(unsigned short)port)
					 : net_nfnl_port_delete(udp ? "udp_ports" : "tcp_ports",
								(unsigned short)port);
			int nc = net_nfnl_port_delete(udp ? "udp_claims" : "tcp_claims",
						      (unsigned short)port);
			if (nr >= 0)
				nr = nc;
			if (nr < 0 && r == 0) {
				husk_fail(err, -nr, "unpublish port %u/%s", port, proto);
				r = -1;
			}
		}
		unlink(undo);
	}
	husk_error_freep(&e);
	if (net_ipam_release(husk_net_state_dir(), id, NULL, last_lease_gone, &e) < 0) {
		r = -1;
		keep_first(err, &e);
	}
	return r;
}

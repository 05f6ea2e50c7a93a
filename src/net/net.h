/* Container networking for the engine: the bridge husk0, a veth pair per
 * container, IPAM leases, the container's /etc/hosts and /etc/resolv.conf,
 * and (nft.c) masquerade and published ports in husk's own nft table.
 *
 * Runtime state under <runroot>/net:
 *   ns/<id>       the container's network namespace, a bind mount of an
 *                 nsfs file (as `ip netns add` makes them)
 *   leases.json   {"10.89.0.2": "<id>", ...}, changed under flock of
 *                 leases.lock and replaced atomically
 * Linked by the engine only, never by husk-oci. */
#ifndef HUSK_NET_H
#define HUSK_NET_H

#include <stddef.h>

#include "error.h"

#define HUSK_NET_BRIDGE	 "husk0"
#define HUSK_NET_SUBNET	 "10.89.0.0/16"
#define HUSK_NET_GATEWAY "10.89.0.1"

struct husk_net_port {
	unsigned short host, ctr;
	int proto; /* IPPROTO_TCP or IPPROTO_UDP */
};

struct husk_net_opts {
	const char *runroot;
	const char *id;	      /* 64 hex */
	const char *dir;      /* the container's dir: hosts and resolv.conf go there */
	const char *name;     /* for /etc/hosts */
	const char *hostname; /* for /etc/hosts */
	const struct husk_net_port *ports;
	size_t n_ports;
};

struct husk_net_info {
	char ip[16];	   /* dotted quad */
	char *netns_path;  /* for the OCI config's network namespace */
	char *hosts_path;  /* to bind on /etc/hosts */
	char *resolv_path; /* to bind on /etc/resolv.conf */
};

/* Give the container id a network: the bridge if missing, a netns, a veth
 * pair with eth0 inside, an address, routes, hosts and resolv.conf, and
 * its published ports.  On failure nothing of it is left. */
int husk_net_setup(const struct husk_net_opts *o, struct husk_net_info *ret, husk_error **err);
/* Undo husk_net_setup for id, whatever part of it exists: safe to call
 * more than once, and after a crash. */
int husk_net_teardown(const char *runroot, const char *id, husk_error **err);
void husk_net_info_release(struct husk_net_info *i);
/* "8080:80", "8080:80/tcp", "53:53/udp" */
int husk_net_parse_port(const char *s, struct husk_net_port *ret, husk_error **err);

#endif

/* What the files of src/net share. */
#ifndef HUSK_NET_PRIVATE_H
#define HUSK_NET_PRIVATE_H

#include <netinet/in.h>
#include <stdbool.h>

#include "net.h"

/* link.c: rtnetlink through libmnl, in the calling thread's netns */
int net_bridge_ensure(const char *name, struct in_addr gw, int prefix, husk_error **err);
/* a veth pair: host (attached to master, up) and peer, made directly in
 * the netns of ns_fd with the name peer */
int net_veth_add(const char *host, const char *master, const char *peer, int ns_fd,
		 husk_error **err);
/* inside the netns of ns_fd: lo up, dev up with addr/prefix, default
 * route via gw */
int net_ns_configure(int ns_fd, const char *dev, struct in_addr addr, int prefix, struct in_addr gw,
		     husk_error **err);
/* 0 when gone or never there */
int net_link_del(const char *name, husk_error **err);

/* netns.c: persistent namespaces as bind-mounted nsfs files */
int net_ns_create(const char *path, husk_error **err);
/* fn(arg) in a forked child (so that the caller never changes its
 * namespaces); its error, message and errno, comes back to the caller. */
int net_in_child(int (*fn)(void *arg, husk_error **err), void *arg, husk_error **err);
void net_ns_remove(const char *path);

/* ipam.c */
int net_ipam_alloc(const char *runroot, const char *id, struct in_addr *ret, husk_error **err);
int net_ipam_release(const char *runroot, const char *id, husk_error **err);
/* How many leases are held (to know when the last container went). */
int net_ipam_count(const char *runroot);

/* nft.c: husk's own table */
/* The table, once (atomically: a batch that creates it whole or fails),
 * then the container's published ports as elements of its maps; what
 * undoes them is kept in <runroot>/net/nft/<id>. */
int net_nft_add(const char *runroot, const char *id, struct in_addr addr,
		const struct husk_net_port *ports, size_t n_ports, husk_error **err);
/* The container's elements, and the table when no veth of husk's is left. */
int net_nft_del(const char *runroot, const char *id, husk_error **err);

#endif

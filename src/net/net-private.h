/* What the files of src/net share. */
#ifndef HUSK_NET_PRIVATE_H
#define HUSK_NET_PRIVATE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "net.h"

#define HUSK_NFT_TABLE "husk"

/* link.c: rtnetlink through libmnl, in the calling thread's netns */
/* the bridge name, made if missing, with the gateway's address: 1 when it
 * was there and up (up is the last step of making one, net_bridge_up, so
 * it has the rest), else 0 */
int net_bridge_ensure(const char *name, struct in_addr gw, int prefix, int mtu, husk_error **err);
int net_bridge_up(const char *name, husk_error **err);
/* a veth pair: host (attached to master, up, its port in hairpin mode if
 * asked) and peer, made directly in the netns of ns_fd with the name peer
 * and the address mac (6 bytes) */
int net_veth_add(const char *host, const char *master, const char *peer, int ns_fd, int mtu,
		 const unsigned char *mac, bool hairpin, husk_error **err);
/* the netns of nl (an rtnetlink socket opened there, net_ns_create or
 * net_ns_rtnl): lo up, dev (up) with addr/prefix, a default route via gw
 * unless gw is 0, and what leaves by dev limited to egress bit/s unless
 * it is 0 */
int net_ns_configure(int nl, const char *dev, struct in_addr addr, int prefix, struct in_addr gw,
		     uint64_t egress, husk_error **err);
/* what leaves by dev (in the caller's netns) at bits a second at most: a
 * TBF qdisc at its root, gone with the link */
int net_link_rate(const char *dev, uint64_t bits, husk_error **err);
/* IPv6: the bridge's address (the gateway), and in the netns of nl
 * dev's address and (gw not NULL) the default route; no DAD */
int net_bridge_addr6(const char *name, const struct in6_addr *gw, int prefix, husk_error **err);
int net_ns_configure6(int nl, const char *dev, const struct in6_addr *addr, int prefix,
		      const struct in6_addr *gw, husk_error **err);
/* 0 when gone or never there */
int net_link_del(const char *name, husk_error **err);
/* the IPv4 routes of the main table: fn(dst, prefix, ifname) for each
 * (the default route skipped); 1 when fn returned 1 for one */
int net_routes_each(int (*fn)(uint32_t dst, int prefix, const char *dev, void *arg), void *arg,
		    husk_error **err);

/* netns.c: persistent namespaces as bind-mounted nsfs files */
/* A new netns pinned on path: an fd of it (ret_ns) and an rtnetlink
 * socket bound to it (ret_rtnl), made by the calling thread from inside,
 * which it leaves at once (it never stays in another netns) */
int net_ns_create(const char *path, int *ret_ns, int *ret_rtnl, husk_error **err);
/* An rtnetlink socket of the netns of ns_fd, the same way */
int net_ns_rtnl(int ns_fd, husk_error **err);
void net_ns_remove(const char *path);

/* ipam.c: host-wide leases */
struct net_pool {
	uint32_t net; /* host order */
	int prefix;
	uint32_t gw;
	uint32_t lo, hi; /* the range to pick from, inclusive */
};
/* want 0: the lowest free address of the pool; else that one (EADDRINUSE
 * when taken, EINVAL when outside the subnet) */
int net_ipam_alloc(const char *dir, const struct net_pool *p, uint32_t want, const char *id,
		   struct in_addr *ret, husk_error **err);
/* id's leases: all of them, or only the address ip (non-NULL); when none
 * is left, when_none() (if not NULL) runs, the lock still held */
int net_ipam_release(const char *dir, const char *id, const char *ip, void (*when_none)(void),
		     husk_error **err);
/* The host's last lease is gone: husk's tables and the default bridge go
 * after a grace period, from a reaper (teardown.c); net_ipam_release's
 * when_none for every release, a failed setup's too */
void net_reap_later(void);
/* IPv6: the lowest free address of net/prefix from ::2 (never gw), or the
 * one id holds there already */
/* want: the address asked for (--ip6), or NULL for the lowest free one */
int net_ipam_alloc6(const char *dir, const struct in6_addr *net, int prefix,
		    const struct in6_addr *gw, const struct in6_addr *want, const char *id,
		    struct in6_addr *ret, husk_error **err);
/* How many leases are held (to know when the last container went). */
int net_ipam_count(const char *dir);
/* The leases in a subnet: "ip id" strings, NULL-terminated */
char **net_ipam_in(const char *dir, uint32_t net, int prefix);
/* Take the leases' lock (for deciding on the table under it) */
int net_ipam_lock(const char *dir, husk_error **err);

/* nft.c: husk's own table, made with libnftables */
/* The table, once (atomically: a batch that creates it whole or fails),
 * then the container's published ports as elements of its maps (those of
 * the ip6 table too when addr6 is not NULL); what undoes them is kept in
 * <runroot>/net/nft/<id>.  *ports (malloc'd) is replaced by the ports as
 * published: host ports picked, and with addr6 a port on every address
 * made two, 0.0.0.0 and ::, as Docker shows them.  EINVAL for an IPv6
 * host address without addr6. */
int net_nft_add(const char *runroot, const char *id, struct in_addr addr,
		const struct in6_addr *addr6, struct husk_net_port **ports, size_t *n_ports,
		husk_error **err);
/* The table with every chain, map and set of this husk's (one made by an
 * older husk gets what it lacks) */
int net_nft_ensure(husk_error **err);
/* `ip6 husk`, for IPv6 networks: their isolation, masquerade and
 * published ports (one made by an older husk gets what it lacks) */
int net_nft_ensure6(husk_error **err);

/* proxy.c: husk-proxy (beside dns_path) for the TCP and UDP ports on
 * "::" or "::1", to addr6: what NAT cannot do from the host's [::1] */
int net_proxy_start(const char *runroot, const char *id, const char *dns_path,
		    const struct in6_addr *addr6, const struct husk_net_port *ports, size_t n,
		    husk_error **err);
/* teardown.c: kill it (by <runroot>/net/proxy/<id>), and wait for it */
void net_proxy_stop(const char *runroot, const char *id);

/* nfnl.c: raw nfnetlink, no library: 1/0 there or not, or -errno */
int net_nfnl_table_exists(void);
int net_nfnl_table_delete(void);
/* the same of the ip6 table */
int net_nfnl_table6_exists(void);
int net_nfnl_table6_delete(void);
int net_nfnl_set_exists(const char *name);
int net_nfnl_chain_exists(const char *name);
int net_nfnl_chain6_exists(const char *name);
/* is port in the set (tcp_claims, udp_claims)? 1, 0 or -errno */
int net_nfnl_port_claimed(const char *set, unsigned short port);
/* the element port (a set or map keyed by inet_service), or with addr
 * (an IPv4 address, keyed by ipv4_addr . inet_service) */
int net_nfnl_port_delete(const char *map, unsigned short port);
int net_nfnl_bind_delete(const char *map, struct in_addr addr, unsigned short port);
/* the same in the ip6 table: a port (IPv6 every address), an address's */
int net_nfnl_port6_delete(const char *map, unsigned short port);
int net_nfnl_bind6_delete(const char *map, const struct in6_addr *addr, unsigned short port);
/* the element addr . addr of the set selfs (the hairpin of a container
 * to its own ports, nft.c), in the ip or ip6 table */
int net_nfnl_self_delete(struct in_addr addr);
int net_nfnl_self6_delete(const struct in6_addr *addr);

/* network.c: the bridge of n up, as husk_network_create made it */
int net_network_bridge(const struct husk_network *n, husk_error **err);

/* trace.c: HUSK_NET_TRACE=FILE, each step and its time appended to FILE */
bool net_trace_on(void);
void net_trace_begin(void);
void net_trace_step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define NET_TRACE(...)                               \
	do {                                         \
		if (net_trace_on())                  \
			net_trace_step(__VA_ARGS__); \
	} while (0)

/* names.c */
char *net_names_dir(void);

#endif

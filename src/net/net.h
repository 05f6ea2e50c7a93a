/* Container networking for the engine: networks (the default bridge husk0
 * and user-defined ones), a netns per container with a veth pair per
 * network, IPAM leases, the container's /etc/hosts and /etc/resolv.conf,
 * names for the resolver (names.c, dns.c), and (nft.c, nfnl.c)
 * masquerade and published ports in husk's own nft table.
 *
 * Host-wide state, under husk_net_state_dir() (/run/husk-net): what is
 * shared by every husk on the host because the links and the table are.
 *   leases.json       {"10.89.0.2": "<id>", ...}, changed under flock of
 *                     leases.lock and replaced atomically
 *   names/<bridge>    the name table of a user-defined network (names.c)
 *   dns.pid           the resolver, when one runs
 * Per engine (<runroot>/net): ns/<id> (the container's netns, a bind mount
 * of an nsfs file) and nft/<id> (its published ports, to undo).
 * Per engine storage (<root>/networks/<name>.json): user-defined networks.
 *
 * Linked by the engine only, never by husk-oci.  teardown.c, ipam.c,
 * names.c and nfnl.c need neither libmnl nor libnftables: the static
 * monitor links them to remove --rm containers itself. */
#ifndef HUSK_NET_H
#define HUSK_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define HUSK_NET_BRIDGE	 "husk0"
#define HUSK_NET_SUBNET	 "10.89.0.0/16"
#define HUSK_NET_GATEWAY "10.89.0.1"
#define HUSK_NET_DEFAULT "bridge" /* the default network's name */

/* /run/husk-net, or $HUSK_NET_STATE (the unit tests) */
const char *husk_net_state_dir(void);

/* A published port: host_ip:host -> the container's ctr.  host 0: a free
 * port of the ephemeral range, picked when it is published; host_end
 * above host: a free one of host..host_end (Docker's -p 8000-8010:80).
 * host_ip "" is every address of the host, IPv6 ones too when the
 * container has an IPv6 address; "0.0.0.0" every IPv4 one, "::" every
 * IPv6 one, as Docker's. */
struct husk_net_port {
	unsigned short host, ctr;
	unsigned short host_end;
	int proto;	  /* IPPROTO_TCP or IPPROTO_UDP */
	char host_ip[46]; /* "", an IPv4 or an IPv6 address (no brackets) */
};

/* A network: the default bridge or a user-defined one. */
struct husk_network {
	char *name;
	char *id;     /* 64 hex; "" for the default bridge */
	char *bridge; /* the link: husk0, or hbr-<10 hex of id> */
	char *subnet; /* 10.90.0.0/24 */
	char *gateway;
	char *ip_range;		  /* NULL: the whole subnet */
	char *subnet6, *gateway6; /* --ipv6: fd00:1::/64 and fd00:1::1; NULL without */
	bool internal;		  /* no route out, no masquerade */
	int mtu;		  /* 0: the kernel's */
	char **labels;		  /* "KEY=VALUE", NULL-terminated */
	int64_t created_ns;
};

struct husk_network_opts {
	const char *name;
	const char *subnet, *gateway, *ip_range; /* NULL: husk picks */
	bool ipv6;
	const char *subnet6, *gateway6; /* with ipv6: the subnet (needed), the gateway */
	bool internal;
	int mtu;
	char **labels;
};

/* Make a user-defined network and its bridge.  EEXIST: the name is used;
 * EINVAL: bad or overlapping subnet, gateway or range. */
int husk_network_create(const char *root, const struct husk_network_opts *o,
			struct husk_network *ret, husk_error **err);
/* A network by name (or id prefix); ENOENT when there is none. */
int husk_network_get(const char *root, const char *name, struct husk_network *ret,
		     husk_error **err);
/* Every network, the default bridge first. */
int husk_network_list(const char *root, struct husk_network **ret, size_t *ret_n, husk_error **err);
/* EBUSY when a container is on it; EPERM for the default one. */
int husk_network_rm(const char *root, const char *name, husk_error **err);
/* The addresses held on the network: "ip id" pairs, NULL-terminated */
char **husk_network_endpoints(const struct husk_network *n);
void husk_network_release(struct husk_network *n);
void husk_network_list_free(struct husk_network *v, size_t n);

/* One network a container joins */
struct husk_net_attach {
	const char *network; /* a name; NULL: the default bridge */
	const char *ip;	     /* --ip, or NULL */
	const char *ip6;     /* --ip6, or NULL: on a network with an IPv6 subnet */
	const char *mac;     /* --mac-address, or NULL: 02:42 and the IPv4 address, as Docker's */
	char **aliases;	     /* --network-alias, NULL-terminated */
};

struct husk_net_opts {
	const char *root, *runroot;
	const char *id;	      /* 64 hex */
	const char *dir;      /* the container's dir: hosts and resolv.conf go there */
	const char *name;     /* for /etc/hosts and the resolver */
	const char *hostname; /* for /etc/hosts */
	const struct husk_net_attach *nets;
	size_t n_nets;
	const struct husk_net_port *ports;
	size_t n_ports;
	const char *mac; /* the first network's, unless its attach gives one */
	char **dns, **dns_search, **dns_options; /* NULL-terminated, or NULL */
	char **add_hosts;			 /* "NAME:IP" */
	const char *dns_path;			 /* husk-dns */
	/* bandwidth, in bits a second on each of its networks (0: none):
	 * what the container sends (egress) and receives (ingress) */
	uint64_t egress_rate, ingress_rate;
};

/* What a container got on one network */
struct husk_net_endpoint {
	char *network, *bridge, *ip, *gateway, *ifname;
	char *mac, *network_id; /* "" in a net.json of an older husk */
	char *ip6, *gateway6;	/* "" on a network without IPv6 */
	int prefix6;
	int prefix;
	char **aliases;
};

struct husk_net_info {
	char ip[16];	   /* the first network's address */
	char *netns_path;  /* for the OCI config's network namespace */
	char *hosts_path;  /* to bind on /etc/hosts */
	char *resolv_path; /* to bind on /etc/resolv.conf */
	struct husk_net_endpoint *eps;
	size_t n_eps;
	struct husk_net_port *ports; /* the published ports, their host ports picked */
	size_t n_ports;
};

/* Give the container id a netns joined to o's networks: each network's
 * bridge if missing, a veth pair per network (eth0, eth1...), addresses,
 * the default route, names for the resolver, hosts and resolv.conf, and
 * its published ports.  On failure nothing of it is left. */
int husk_net_setup(const struct husk_net_opts *o, struct husk_net_info *ret, husk_error **err);
/* Join a further network, or leave one (the container's netns exists). */
int husk_net_connect(const struct husk_net_opts *o, const struct husk_net_attach *a, int index,
		     struct husk_net_endpoint *ret, husk_error **err);
int husk_net_disconnect(const char *root, const char *runroot, const char *id,
			const struct husk_net_endpoint *ep, husk_error **err);
/* Undo husk_net_setup for id, whatever part of it exists: safe to call
 * more than once, and after a crash.  Off the critical path: the veths
 * go with the netns (the kernel removes them when it frees it, which it
 * does asynchronously), never by RTM_DELLINK, which waits for an RCU
 * grace period; the table goes when the last lease does. */
int husk_net_teardown(const char *runroot, const char *id, husk_error **err);
void husk_net_info_release(struct husk_net_info *i);
/* <dir>/net.json: what husk_net_setup and connect gave the container */
int husk_net_endpoints_save(const char *dir, const struct husk_net_endpoint *eps, size_t n,
			    husk_error **err);
/* -1 when there is no file (an empty list then) */
int husk_net_endpoints_load(const char *dir, struct husk_net_endpoint **ret, size_t *ret_n);
void husk_net_endpoint_release(struct husk_net_endpoint *e);
/* One published port as the record keeps it: [IP:]HOSTPORT:CTRPORT[/tcp|/udp]
 * ("8080:80", "127.0.0.1:53:53/udp") */
int husk_net_parse_port(const char *s, struct husk_net_port *ret, husk_error **err);
/* A rate as tc writes it ("10mbit", "512kbit", "1gbit", "2mbps" for
 * bytes): bits a second; EINVAL or ERANGE, the message naming flag. */
int husk_net_parse_rate(const char *flag, const char *s, uint64_t *ret_bits, husk_error **err);
/* -p as Docker takes it, appended to *v: [IP:][HOSTPORT[-END]:]CTRPORT[-END][/PROTO]
 * (80, 8080:80, 8000-8002:80-82, 127.0.0.1:8080:80, 127.0.0.1::80,
 * 8000-8010:80).  Ranges of both sides have one size. */
int husk_net_parse_publish(const char *s, struct husk_net_port **v, size_t *n, husk_error **err);
/* --expose PORT[-END][/PROTO], appended to *v as "PORT/PROTO" */
int husk_net_parse_expose(const char *s, char ***v, size_t *n, husk_error **err);
/* "02:42:0a:59:00:02": 0 and the 6 bytes, or EINVAL (a multicast or zero
 * address too: the kernel takes neither for a link) */
int husk_net_parse_mac(const char *s, unsigned char ret[6]);
/* "fd00:1::/64": the address and prefix; -EINVAL else */
struct in6_addr;
int husk_net_parse_cidr6(const char *s, struct in6_addr *ret_net, int *ret_prefix);
/* "a.b.c.d/n": the network address and prefix; EINVAL else */
int husk_net_parse_cidr(const char *s, uint32_t *ret_net, int *ret_prefix);

/* The name tables the resolver answers from (names.c): every container
 * on a user-defined network under its name, its aliases and its short
 * id.  Written atomically (a temp file, then rename). */
int husk_names_add(const char *bridge, const char *gateway, const char *id, const char *ip,
		   const char *ip6, const char *const *names, husk_error **err);
/* Remove id from one table (bridge) or from all (bridge NULL). */
int husk_names_remove(const char *bridge, const char *id, husk_error **err);
/* Start the resolver unless it runs (dns.c; the path of husk-dns). */
int husk_dns_ensure(const char *dns_path, husk_error **err);

#endif

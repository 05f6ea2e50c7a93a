/* A container's network, step by step: the netns, then for each network
 * its bridge, an address, a veth pair and the inside of the netns, the
 * resolver's names; /etc/hosts and /etc/resolv.conf; the nft table and
 * published ports.  The undo is teardown.c. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "net-private.h"
#include "util.h"

/* husk<8 hex of the id> for eth0, husk<8 hex>.<n> for ethn: under IFNAMSIZ */
static void host_veth_name(const char *id, int index, char buf[32])
{
	if (index == 0)
		snprintf(buf, 32, "husk%.8s", id);
	else
		snprintf(buf, 32, "husk%.8s.%d", id, index % 100);
}

static char *ns_path(const char *runroot, const char *id)
{
	return husk_strdup_printf("%s/net/ns/%s", runroot, id);
}

static bool user_defined(const struct husk_net_endpoint *ep)
{
	return strcmp(ep->bridge, HUSK_NET_BRIDGE) != 0;
}

static int write_hosts(const char *path, const struct husk_net_opts *o, const char *ip,
		       const char *ip6, const char *gateway, husk_error **err)
{
	bool other = o->name && strcmp(o->name, o->hostname) != 0;
	size_t cap = 256 + 2 * (strlen(o->hostname) + (o->name ? strlen(o->name) : 0) + 64);
	for (char **h = o->add_hosts; h && *h; h++)
		cap += strlen(*h) + 64;
	cleanup_free char *text = calloc(1, cap);
	if (!text)
		abort();
	size_t n = (size_t)snprintf(
		text, cap,
		"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s%s%s\n", ip,
		o->hostname, other ? " " : "", other ? o->name : "");
	/* an IPv6 network's address too, as Docker's */
	if (ip6 && *ip6)
		n += (size_t)snprintf(text + n, cap - n, "%s\t%s%s%s\n", ip6, o->hostname,
				      other ? " " : "", other ? o->name : "");
	/* --add-host NAME:IP (or NAME=IP); host-gateway: the bridge's address */
	for (char **h = o->add_hosts; h && *h; h++) {
		size_t k = strcspn(*h, ":=");
		const char *addr = (*h)[k] ? *h + k + 1 : "";
		if (strcmp(addr, "host-gateway") == 0)
			addr = gateway;
		n += (size_t)snprintf(text + n, cap - n, "%s\t%.*s\n", addr, (int)k, *h);
	}
	return husk_write_file(path, text, strlen(text), 0644, err);
}

static void append(char **buf, size_t *len, const char *fmt, const char *s)
{
	char *line = husk_strdup_printf(fmt, s);
	size_t l = strlen(line);
	*buf = realloc(*buf, *len + l + 1);
	if (!*buf)
		abort();
	memcpy(*buf + *len, line, l + 1);
	*len += l;
	free(line);
}

/* The nameservers: --dns, else the resolver on the first user-defined
 * network's gateway (it forwards what is not a container's name), else
 * the host's, less those on its loopback (a local resolver such as
 * systemd-resolved's 127.0.0.53 cannot be reached from the container's
 * netns).  search and options: --dns-search and --dns-option, else the
 * host's. */
static int net_write_resolv(const char *path, const struct husk_net_opts *o, const char *resolver,
			    husk_error **err)
{
	cleanup_free char *host = NULL;
	size_t hlen = 0;
	husk_error *rerr = NULL;
	if (husk_read_file("/etc/resolv.conf", &host, &hlen, &rerr) < 0) {
		husk_error_free(rerr);
		host = strdup("");
	}
	char *out = strdup("");
	size_t n = 0;
	int servers = 0, dropped = 0;
	for (char **d = o->dns; d && *d; d++, servers++)
		append(&out, &n, "nameserver %s\n", *d);
	if (!servers && resolver) {
		append(&out, &n, "nameserver %s\n", resolver);
		servers++;
	}
	bool own_servers = servers > 0;
	if (o->dns_search && *o->dns_search) {
		append(&out, &n, "%s", "search");
		for (char **s = o->dns_search; *s; s++)
			append(&out, &n, " %s", *s);
		append(&out, &n, "%s", "\n");
	}
	if (o->dns_options && *o->dns_options) {
		append(&out, &n, "%s", "options");
		for (char **s = o->dns_options; *s; s++)
			append(&out, &n, " %s", *s);
		append(&out, &n, "%s", "\n");
	}
	for (char *save = NULL, *line = strtok_r(host, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char addr[64];
		if (sscanf(line, " nameserver %63s", addr) == 1) {
			if (own_servers)
				continue;
			if (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0) {
				dropped++;
				continue;
			}
			servers++;
		} else if ((o->dns_search && *o->dns_search &&
			    (strncmp(line, "search", 6) == 0 || strncmp(line, "domain", 6) == 0)) ||
			   (o->dns_options && *o->dns_options &&
			    strncmp(line, "options", 7) == 0)) {
			continue;
		}
		append(&out, &n, "%s\n", line);
	}
	if (dropped && !servers)
		append(&out, &n, "%s",
		       "# husk: the host's nameservers are on its loopback, which a container "
		       "cannot reach: no nameserver\n");
	int r = husk_write_file(path, out, n, 0644, err);
	free(out);
	return r;
}

void husk_net_endpoint_release(struct husk_net_endpoint *e)
{
	free(e->network);
	free(e->bridge);
	free(e->ip);
	free(e->gateway);
	free(e->ifname);
	free(e->mac);
	free(e->network_id);
	free(e->ip6);
	free(e->gateway6);
	for (char **a = e->aliases; a && *a; a++)
		free(*a);
	free(e->aliases);
	*e = (struct husk_net_endpoint){0};
}

void husk_net_info_release(struct husk_net_info *i)
{
	free(i->netns_path);
	free(i->hosts_path);
	free(i->resolv_path);
	for (size_t k = 0; k < i->n_eps; k++)
		husk_net_endpoint_release(&i->eps[k]);
	free(i->eps);
	free(i->ports);
	*i = (struct husk_net_info){0};
}

struct join {
	const struct husk_net_opts *o;
	const struct husk_net_attach *a;
	int nsfd;
	int nl;		  /* an rtnetlink socket of the netns */
	int index;	  /* ethN */
	bool route;	  /* give it the default route */
	bool del_veth;	  /* on failure: the netns stays (connect), delete the veth */
	const char *name; /* the container's, for the resolver */
};

/* One network into the netns: EINVAL/ENOENT for a bad network or --ip,
 * and on failure nothing of this network is left. */
static int join_network(const struct join *j, struct husk_net_endpoint *ep, bool *ret_routed,
			husk_error **err)
{
	const struct husk_net_opts *o = j->o;
	const char *netname = j->a->network ? j->a->network : HUSK_NET_DEFAULT;
	struct husk_network nw = {0};
	int r = -1;
	bool leased = false;
	char veth[32];
	char ip6[INET6_ADDRSTRLEN] = ""; /* its IPv6 lease, when it has one */
	int prefix6 = 0;
	host_veth_name(o->id, j->index, veth);
	if (husk_network_get(o->root, netname, &nw, err) < 0)
		return -1;
	NET_TRACE("network \"%s\"", netname);
	uint32_t net, want = 0;
	int prefix;
	struct in_addr gw, addr, a;
	if (husk_net_parse_cidr(nw.subnet, &net, &prefix) < 0 ||
	    inet_pton(AF_INET, nw.gateway, &gw) != 1) {
		husk_fail_as(err, EINVAL, "network \"%s\": bad subnet", nw.name);
		goto out;
	}
	if (j->a->ip) {
		if (!*nw.id) {
			/* as Docker: only on user-defined networks */
			husk_fail_as(err, EINVAL,
				     "--ip \"%s\": a chosen address needs a user-defined network",
				     j->a->ip);
			goto out;
		}
		if (inet_pton(AF_INET, j->a->ip, &a) != 1) {
			husk_fail_as(err, EINVAL, "--ip \"%s\": not an IPv4 address", j->a->ip);
			goto out;
		}
		want = ntohl(a.s_addr);
	}
	struct in6_addr want6;
	if (j->a->ip6) {
		if (!*nw.id || !nw.subnet6) {
			husk_fail_as(err, EINVAL,
				     "--ip6 \"%s\": a chosen address needs a user-defined network "
				     "with an IPv6 subnet (network create --ipv6)",
				     j->a->ip6);
			goto out;
		}
		if (inet_pton(AF_INET6, j->a->ip6, &want6) != 1) {
			husk_fail_as(err, EINVAL, "--ip6 \"%s\": not an IPv6 address", j->a->ip6);
			goto out;
		}
	}
	unsigned char mac[6];
	if (j->a->mac && husk_net_parse_mac(j->a->mac, mac) < 0) {
		husk_fail_as(err, EINVAL, "--mac-address \"%s\": not a unicast MAC address",
			     j->a->mac);
		goto out;
	}
	if (j->a->aliases && *j->a->aliases && !*nw.id) {
		husk_fail_as(err, EINVAL, "--network-alias needs a user-defined network");
		goto out;
	}
	struct net_pool pool = {.net = net, .prefix = prefix, .gw = ntohl(gw.s_addr)};
	pool.lo = net;
	pool.hi = net | ~(prefix ? 0xffffffffu << (32 - prefix) : 0);
	if (nw.ip_range) {
		uint32_t rn;
		int rp;
		if (husk_net_parse_cidr(nw.ip_range, &rn, &rp) == 0) {
			pool.lo = rn;
			pool.hi = rn | ~(rp ? 0xffffffffu << (32 - rp) : 0);
		}
	}
	/* the lease first, the bridge after: the last lease's release takes
	 * the default bridge away (teardown.c), so a bridge made before our
	 * lease could go under us */
	if (net_ipam_alloc(husk_net_state_dir(), &pool, want, o->id, &addr, err) < 0)
		goto out;
	leased = true;
	NET_TRACE("lease");
	if (net_network_bridge(&nw, err) < 0)
		goto out;
	NET_TRACE("bridge \"%s\"", nw.bridge);
	char ifname[16];
	snprintf(ifname, sizeof(ifname), "eth%d", j->index);
	struct in_addr route = {0};
	if (j->route && !nw.internal)
		route = gw;
	if (!j->a->mac) {
		/* as Docker's: 02:42 and the address, unique on the network */
		mac[0] = 0x02;
		mac[1] = 0x42;
		memcpy(mac + 2, &addr.s_addr, 4);
	}
	/* ports are published on the first network's address */
	bool hairpin = j->index == 0 && o->n_ports > 0;
	if (net_veth_add(veth, nw.bridge, ifname, j->nsfd, nw.mtu, mac, hairpin, err) < 0)
		goto out;
	NET_TRACE("veth \"%s\"", veth);
	HUSK_FAULT(engine_create_net_veth);
	/* Rate limits are token buckets (TBF) where each direction leaves a
	 * link, so that they shape (queue) rather than police (drop):
	 * what the container receives leaves by the host's end of the pair,
	 * what it sends leaves by its own end, inside the netns.  A limit
	 * on the host's end for what it sends would be a policer (an ingress
	 * qdisc with act_police, not in every kernel: not in this one) or an
	 * IFB device per container.  The container cannot lift its own
	 * without CAP_NET_ADMIN, which it does not have unless given.  Both
	 * go with the veth pair. */
	if (o->ingress_rate && net_link_rate(veth, o->ingress_rate, err) < 0)
		goto out;
	if (net_ns_configure(j->nl, ifname, addr, prefix, route, o->egress_rate, err) < 0)
		goto out;
	NET_TRACE("configure the netns");
	/* IPv6: an address of the subnet, the default route with the IPv4
	 * one, husk's ip6 table */
	if (nw.subnet6) {
		struct in6_addr net6, gw6, a6;
		if (husk_net_parse_cidr6(nw.subnet6, &net6, &prefix6) < 0 ||
		    inet_pton(AF_INET6, nw.gateway6, &gw6) != 1) {
			husk_fail_as(err, EINVAL, "network \"%s\": bad IPv6 subnet", nw.name);
			goto out;
		}
		if (net_ipam_alloc6(husk_net_state_dir(), &net6, prefix6, &gw6,
				    j->a->ip6 ? &want6 : NULL, o->id, &a6, err) < 0)
			goto out;
		inet_ntop(AF_INET6, &a6, ip6, sizeof(ip6));
		if (net_ns_configure6(j->nl, ifname, &a6, prefix6, route.s_addr ? &gw6 : NULL,
				      err) < 0 ||
		    net_nft_ensure6(err) < 0)
			goto out;
	}
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	*ep = (struct husk_net_endpoint){.network = strdup(nw.name),
					 .bridge = strdup(nw.bridge),
					 .ip = strdup(ip),
					 .gateway = strdup(nw.gateway),
					 .ifname = strdup(ifname),
					 .mac = husk_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x",
								   mac[0], mac[1], mac[2], mac[3],
								   mac[4], mac[5]),
					 .network_id = strdup(nw.id),
					 .ip6 = strdup(ip6),
					 .gateway6 = strdup(nw.gateway6 ?: ""),
					 .prefix6 = prefix6,
					 .prefix = prefix};
	size_t na = 0;
	ep->aliases = calloc(1, sizeof(char *));
	for (char **al = j->a->aliases; al && *al; al++)
		husk_strv_push(&ep->aliases, &na, strdup(*al));
	if (*nw.id) {
		/* the resolver's names: the container's, its aliases, its
		 * short id */
		const char *names[64];
		size_t k = 0;
		char shortid[13];
		snprintf(shortid, sizeof(shortid), "%.12s", o->id);
		if (j->name)
			names[k++] = j->name;
		for (char **al = j->a->aliases; al && *al && k < 62; al++)
			names[k++] = *al;
		names[k++] = shortid;
		names[k] = NULL;
		if (husk_names_add(nw.bridge, nw.gateway, o->id, ip, ip6, names, err) < 0 ||
		    (o->dns_path && husk_dns_ensure(o->dns_path, err) < 0)) {
			husk_names_remove(nw.bridge, o->id, NULL);
			husk_net_endpoint_release(ep);
			goto out;
		}
	}
	NET_TRACE("names");
	*ret_routed = route.s_addr != 0;
	r = 0;
out:
	if (r < 0) {
		/* else the netns goes and the kernel removes the veth with it,
		 * never waited for (RTM_DELLINK waits for an RCU grace period) */
		if (j->del_veth)
			net_link_del(veth, NULL);
		if (leased) {
			char lip[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &addr, lip, sizeof(lip));
			net_ipam_release(husk_net_state_dir(), o->id, lip, net_reap_later, NULL);
		}
		if (*ip6)
			net_ipam_release(husk_net_state_dir(), o->id, ip6, net_reap_later, NULL);
		husk_error_wrap(err, "network \"%s\"", netname);
	}
	husk_network_release(&nw);
	return r;
}

static const struct husk_net_attach default_attach = {0};

int husk_net_setup(const struct husk_net_opts *o, struct husk_net_info *ret, husk_error **err)
{
	struct husk_net_info info = {0};
	cleanup_close int nsfd = -1;
	cleanup_close int nl = -1;
	cleanup_free char *nsdir = husk_strdup_printf("%s/net/ns", o->runroot);
	const struct husk_net_attach *nets = o->n_nets ? o->nets : &default_attach;
	size_t n_nets = o->n_nets ? o->n_nets : 1;
	const char *resolver = NULL;
	bool routed = false;
	net_trace_begin();
	if (husk_mkdir_p(nsdir, 0700, err) < 0)
		goto fail;
	info.netns_path = ns_path(o->runroot, o->id);
	if (net_ns_create(info.netns_path, &nsfd, &nl, err) < 0) {
		free(info.netns_path);
		info.netns_path = NULL;
		goto fail;
	}
	NET_TRACE("netns");
	HUSK_FAULT(engine_create_net_netns);
	info.eps = calloc(n_nets, sizeof(*info.eps));
	if (!info.eps)
		abort();
	for (size_t i = 0; i < n_nets; i++) {
		struct husk_net_attach a = nets[i];
		if (i == 0 && !a.mac)
			a.mac = o->mac;
		struct join j = {.o = o,
				 .a = &a,
				 .nsfd = nsfd,
				 .nl = nl,
				 .index = (int)i,
				 .route = !routed,
				 .name = o->name};
		bool r = false;
		if (join_network(&j, &info.eps[i], &r, err) < 0)
			goto fail;
		info.n_eps++;
		routed |= r;
		if (!resolver && user_defined(&info.eps[i]))
			resolver = info.eps[i].gateway;
	}
	snprintf(info.ip, sizeof(info.ip), "%s", info.eps[0].ip);
	info.hosts_path = husk_strdup_printf("%s/hosts", o->dir);
	info.resolv_path = husk_strdup_printf("%s/resolv.conf", o->dir);
	if (write_hosts(info.hosts_path, o, info.ip, info.eps[0].ip6, info.eps[0].gateway, err) <
		    0 ||
	    net_write_resolv(info.resolv_path, o, resolver, err) < 0)
		goto fail;
	NET_TRACE("hosts, resolv.conf");
	struct in_addr addr;
	inet_pton(AF_INET, info.ip, &addr);
	info.ports = calloc(o->n_ports + 1, sizeof(*info.ports));
	if (!info.ports)
		abort();
	if (o->n_ports)
		memcpy(info.ports, o->ports, o->n_ports * sizeof(*o->ports));
	info.n_ports = o->n_ports;
	/* IPv6: published on the address of its first IPv6 network */
	struct in6_addr addr6, *a6 = NULL;
	for (size_t i = 0; i < info.n_eps && !a6; i++)
		if (*info.eps[i].ip6 && inet_pton(AF_INET6, info.eps[i].ip6, &addr6) == 1)
			a6 = &addr6;
	if (net_nft_add(o->runroot, o->id, addr, a6, &info.ports, &info.n_ports, err) < 0 ||
	    net_proxy_start(o->runroot, o->id, o->dns_path, a6, info.ports, info.n_ports, err) < 0)
		goto fail;
	NET_TRACE("nft, %zu ports", info.n_ports);
	*ret = info;
	return 0;
fail:
	husk_net_info_release(&info);
	husk_net_teardown(o->runroot, o->id, NULL);
	return husk_error_wrap(err, "network of container \"%.12s\"", o->id);
}

int husk_net_connect(const struct husk_net_opts *o, const struct husk_net_attach *a, int index,
		     struct husk_net_endpoint *ret, husk_error **err)
{
	cleanup_free char *ns = ns_path(o->runroot, o->id);
	cleanup_close int nsfd = open(ns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return husk_fail(err, errno, "open \"%s\"", ns);
	cleanup_close int nl = net_ns_rtnl(nsfd, err);
	if (nl < 0)
		return -1;
	struct join j = {.o = o,
			 .a = a,
			 .nsfd = nsfd,
			 .nl = nl,
			 .index = index,
			 .route = false,
			 .del_veth = true,
			 .name = o->name};
	bool routed;
	return join_network(&j, ret, &routed, err);
}

int husk_net_disconnect(const char *root, const char *runroot, const char *id,
			const struct husk_net_endpoint *ep, husk_error **err)
{
	(void)root;
	(void)runroot;
	int index = 0;
	sscanf(ep->ifname, "eth%d", &index);
	char veth[32];
	host_veth_name(id, index, veth);
	if (net_link_del(veth, err) < 0)
		return -1;
	husk_names_remove(ep->bridge, id, NULL);
	if (ep->ip6 && *ep->ip6 &&
	    net_ipam_release(husk_net_state_dir(), id, ep->ip6, net_reap_later, err) < 0)
		return -1;
	return net_ipam_release(husk_net_state_dir(), id, ep->ip, net_reap_later, err);
}

/* <dir>/net.json: the container's endpoints, for inspect, connect,
 * disconnect and a start after a reboot */
int husk_net_endpoints_save(const char *dir, const struct husk_net_endpoint *eps, size_t n,
			    husk_error **err)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *al = json_array();
		for (char **x = eps[i].aliases; x && *x; x++)
			json_array_append_new(al, json_string(*x));
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:s, s:s}", "network",
				     eps[i].network, "bridge", eps[i].bridge, "ip", eps[i].ip,
				     "gateway", eps[i].gateway, "ifname", eps[i].ifname, "prefix",
				     eps[i].prefix, "aliases", al, "mac", eps[i].mac ?: "",
				     "network_id", eps[i].network_id ?: ""));
		if (eps[i].ip6 && *eps[i].ip6) {
			json_t *e = json_array_get(a, i);
			json_object_set_new(e, "ip6", json_string(eps[i].ip6));
			json_object_set_new(e, "gateway6", json_string(eps[i].gateway6 ?: ""));
			json_object_set_new(e, "prefix6", json_integer(eps[i].prefix6));
		}
	}
	cleanup_free char *text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	cleanup_free char *path = husk_strdup_printf("%s/net.json", dir);
	return husk_write_file_atomic(path, text, strlen(text), 0600, err);
}

int husk_net_endpoints_load(const char *dir, struct husk_net_endpoint **ret, size_t *ret_n)
{
	cleanup_free char *path = husk_strdup_printf("%s/net.json", dir);
	json_t *a = json_load_file(path, 0, NULL);
	size_t n = json_array_size(a);
	struct husk_net_endpoint *v = calloc(n + 1, sizeof(*v));
	if (!v)
		abort();
	size_t i;
	json_t *e;
	json_array_foreach (a, i, e) {
		v[i].network = strdup(json_string_value(json_object_get(e, "network")) ?: "");
		v[i].bridge = strdup(json_string_value(json_object_get(e, "bridge")) ?: "");
		v[i].ip = strdup(json_string_value(json_object_get(e, "ip")) ?: "");
		v[i].gateway = strdup(json_string_value(json_object_get(e, "gateway")) ?: "");
		v[i].ifname = strdup(json_string_value(json_object_get(e, "ifname")) ?: "");
		v[i].mac = strdup(json_string_value(json_object_get(e, "mac")) ?: "");
		v[i].network_id = strdup(json_string_value(json_object_get(e, "network_id")) ?: "");
		v[i].ip6 = strdup(json_string_value(json_object_get(e, "ip6")) ?: "");
		v[i].gateway6 = strdup(json_string_value(json_object_get(e, "gateway6")) ?: "");
		v[i].prefix6 = (int)json_integer_value(json_object_get(e, "prefix6"));
		v[i].prefix = (int)json_integer_value(json_object_get(e, "prefix"));
		size_t na = 0, k;
		json_t *x;
		v[i].aliases = calloc(1, sizeof(char *));
		json_array_foreach (json_object_get(e, "aliases"), k, x)
			husk_strv_push(&v[i].aliases, &na, strdup(json_string_value(x) ?: ""));
	}
	json_decref(a);
	*ret = v;
	*ret_n = n;
	return a ? 0 : -1;
}

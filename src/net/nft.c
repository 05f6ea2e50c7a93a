/* Masquerade and published ports in husk's own nft table, `ip husk`:
 * husk never flushes or touches any other table.
 *
 *   tcp_ports, udp_ports   maps host port -> container address . port
 *   prerouting, output     DNAT of what comes to a local address
 *   postrouting            masquerade of the subnet out of other links, and
 *                          of loopback sources sent into husk0
 *   guard                  drop what comes from husk0 to 127.0.0.0/8
 *
 * A published port is reachable from the host's loopback too: output
 * DNATs 127.0.0.1:P to the container, which needs route_localnet on
 * husk0 (else the kernel drops a loopback source routed out of it) and a
 * masquerade so the container answers 10.89.0.1.  route_localnet also
 * lets a container send to 127.x of the host through husk0: the guard
 * chain drops that (Kubernetes' CVE-2020-8558). */
#define _GNU_SOURCE
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lazy.h"
#include "net-private.h"
#include "util.h"

#define BRIDGES_USER "hbr-*" /* user-defined networks' bridges */
#define BRIDGES_INT  "hbi-*" /* --internal ones */

static const char table_def[] =
	"create table ip husk\n"
	"add map ip husk tcp_ports { type inet_service : ipv4_addr . inet_service; }\n"
	"add map ip husk udp_ports { type inet_service : ipv4_addr . inet_service; }\n"
	"add chain ip husk guard { type filter hook prerouting priority raw; policy accept; }\n"
	"add rule ip husk guard iifname \"" HUSK_NET_BRIDGE "\" ip daddr 127.0.0.0/8 drop\n"
	"add rule ip husk guard iifname \"" BRIDGES_USER "\" ip daddr 127.0.0.0/8 drop\n"
	"add rule ip husk guard iifname \"" BRIDGES_INT "\" ip daddr 127.0.0.0/8 drop\n"
	"add chain ip husk prerouting { type nat hook prerouting priority dstnat; policy "
	"accept; }\n"
	"add rule ip husk prerouting fib daddr type local dnat to tcp dport map @tcp_ports\n"
	"add rule ip husk prerouting fib daddr type local dnat to udp dport map @udp_ports\n"
	"add chain ip husk output { type nat hook output priority -100; policy accept; }\n"
	"add rule ip husk output fib daddr type local dnat to tcp dport map @tcp_ports\n"
	"add rule ip husk output fib daddr type local dnat to udp dport map @udp_ports\n"
	"add chain ip husk postrouting { type nat hook postrouting priority srcnat; policy "
	"accept; }\n"
	"add rule ip husk postrouting ip saddr " HUSK_NET_SUBNET " oifname != \"" HUSK_NET_BRIDGE
	"\" masquerade\n"
	"add rule ip husk postrouting iifname \"" BRIDGES_USER "\" oifname != \"" BRIDGES_USER
	"\" masquerade\n"
	"add rule ip husk postrouting ip saddr 127.0.0.0/8 oifname \"" HUSK_NET_BRIDGE
	"\" masquerade\n"
	"add rule ip husk postrouting ip saddr 127.0.0.0/8 oifname \"" BRIDGES_USER
	"\" masquerade\n";

/* What came after the first table: added whole to a table made by an
 * older husk (which another husk on the host may still use), or made
 * with the table.  Its "create chain" makes it fail whole, EEXIST, when
 * another husk added it first.
 *
 *   tcp_binds, udp_binds   host address . port -> container address . port,
 *                          for -p IP:HOSTPORT:CTR: DNAT of that address only,
 *                          before the maps of every address (a nat chain
 *                          after one that made the binding is not run)
 *   tcp_claims, udp_claims the host ports published, whatever address:
 *                          what makes a second -p of a port fail
 *   isolate                networks apart, as Docker's isolation chains:
 *                          what comes from a bridge of husk's is forwarded
 *                          to another of husk's bridges only when the
 *                          route to its destination goes out of the bridge
 *                          it came in by (fib daddr . iif: with
 *                          br_netfilter, traffic inside one bridge goes
 *                          through this hook too, in and out the same
 *                          bridge); an internal network reaches nothing
 *                          beyond its bridge. */
static const char ext_def[] =
	"create chain ip husk isolate { type filter hook forward priority filter; policy accept; "
	"}\n"
	"add rule ip husk isolate iifname \"" BRIDGES_INT "\" fib daddr . iif oif missing drop\n"
	"add rule ip husk isolate oifname \"" BRIDGES_INT "\" iifname != \"" BRIDGES_INT "\" drop\n"
	"add rule ip husk isolate iifname { \"" HUSK_NET_BRIDGE "\", \"" BRIDGES_USER
	"\" } oifname { \"" HUSK_NET_BRIDGE "\", \"" BRIDGES_USER
	"\" } fib daddr . iif oif missing drop\n"
	"add map ip husk tcp_binds { type ipv4_addr . inet_service : ipv4_addr . inet_service; }\n"
	"add map ip husk udp_binds { type ipv4_addr . inet_service : ipv4_addr . inet_service; }\n"
	"add set ip husk tcp_claims { type inet_service; }\n"
	"add set ip husk udp_claims { type inet_service; }\n"
	"add chain ip husk binds_pre { type nat hook prerouting priority dstnat - 1; policy "
	"accept; }\n"
	"add rule ip husk binds_pre dnat to ip daddr . tcp dport map @tcp_binds\n"
	"add rule ip husk binds_pre dnat to ip daddr . udp dport map @udp_binds\n"
	"add chain ip husk binds_out { type nat hook output priority -101; policy accept; }\n"
	"add rule ip husk binds_out dnat to ip daddr . tcp dport map @tcp_binds\n"
	"add rule ip husk binds_out dnat to ip daddr . udp dport map @udp_binds\n";

/* Hairpin: a container that connects to a published port of its own, or
 * of a container on its bridge, by an address of the host.  The DNAT
 * sends it back into the bridge it came from; without a masquerade the
 * answer goes straight from container to container (or, to itself,
 * inside its own netns) and never meets the conntrack entry that would
 * undo the DNAT: the client sees an answer from an address it did not
 * ask, and drops it.  Masqueraded, the server sees the bridge's gateway,
 * as Docker's docker-proxy makes it see.
 *
 * Routed (no br_netfilter), such a packet comes in by a bridge of husk's
 * and goes out by one: the first rule.  With br_netfilter the kernel
 * bridges it instead, and the postrouting hook of a bridged packet has no
 * input interface: between two containers the bridge's own conntrack
 * undoes the DNAT of the answer, but a container's answer to itself never
 * leaves its netns.  nft cannot compare saddr with daddr, so the set
 * selfs holds addr . addr for each container that publishes ports
 * (net_nft_add; its undo file removes it); the bridge's port of such a
 * container is in hairpin mode (net_veth_add).
 *
 * A chain of its own (before postrouting, so its masquerade is the one
 * that binds), added whole to an older husk's table; its presence says
 * the table is up to date. */
#define HAIRPIN_RULE(fam, addr)                                                               \
	"add set " fam " husk selfs { type " addr " . " addr "; }\n"                          \
	"create chain " fam " husk hairpin { type nat hook postrouting priority srcnat - 1; " \
	"policy accept; }\n"                                                                  \
	"add rule " fam " husk hairpin ct status dnat iifname { \"" HUSK_NET_BRIDGE           \
	"\", \"" BRIDGES_USER "\" } oifname { \"" HUSK_NET_BRIDGE "\", \"" BRIDGES_USER       \
	"\" } masquerade\n"                                                                   \
	"add rule " fam " husk hairpin ct status dnat " fam " saddr . " fam                   \
	" daddr @selfs masquerade\n"
static const char hairpin_def[] = HAIRPIN_RULE("ip", "ipv4_addr");
static const char hairpin6_def[] = HAIRPIN_RULE("ip6", "ipv6_addr");

/* A table of an older husk had the isolation of internal networks in a
 * chain "forward" that dropped all they forwarded, which with br_netfilter
 * is traffic inside their own bridge too: isolate replaces it */
static const char ext_upgrade[] =
	"add chain ip husk forward { type filter hook forward priority filter; policy accept; }\n"
	"flush chain ip husk forward\n"
	"delete chain ip husk forward\n";

/* `ip6 husk`, for IPv6 networks: kept apart as isolate keeps IPv4 ones
 * (table6_def, what an older husk made), and what came after (ext6_def,
 * added whole to such a table or made with it):
 *
 *   tcp_ports, udp_ports   host port -> container address . port: -p PORT
 *                          and -p [::]:PORT on every IPv6 address
 *   tcp_binds, udp_binds   -p [ADDR]:PORT, that address only
 *   prerouting, output,    their DNAT, as the ip table's
 *   binds_pre, binds_out
 *   postrouting            masquerade of what the containers send out of
 *                          other links (as Docker's ip6tables does for an
 *                          IPv6 network)
 *
 * The claims of host ports stay in the ip table's sets: a port is
 * published once per protocol, whatever its address or family.
 *
 * Not [::1]: IPv6 has no route_localnet, and the answers to a connection
 * from ::1, de-NATed to ::1 as they come in by the bridge, are dropped
 * (ip6_rcv_core drops ::1 on any link but lo; with br_netfilter the
 * de-NAT comes before it).  husk-proxy takes those (proxy.c); output
 * leaves ::1 alone. */
static const char table6_def[] =
	"create table ip6 husk\n"
	"add chain ip6 husk isolate { type filter hook forward priority filter; policy accept; }\n"
	"add rule ip6 husk isolate iifname \"" BRIDGES_INT "\" fib daddr . iif oif missing drop\n"
	"add rule ip6 husk isolate oifname \"" BRIDGES_INT "\" iifname != \"" BRIDGES_INT
	"\" drop\n"
	"add rule ip6 husk isolate iifname { \"" HUSK_NET_BRIDGE "\", \"" BRIDGES_USER
	"\" } oifname { \"" HUSK_NET_BRIDGE "\", \"" BRIDGES_USER
	"\" } fib daddr . iif oif missing drop\n";

static const char ext6_def[] =
	"create chain ip6 husk postrouting { type nat hook postrouting priority srcnat; policy "
	"accept; }\n"
	"add rule ip6 husk postrouting iifname { \"" HUSK_NET_BRIDGE "\", \"" BRIDGES_USER
	"\" } oifname != { \"" HUSK_NET_BRIDGE "\", \"" BRIDGES_USER "\" } masquerade\n"
	"add map ip6 husk tcp_ports { type inet_service : ipv6_addr . inet_service; }\n"
	"add map ip6 husk udp_ports { type inet_service : ipv6_addr . inet_service; }\n"
	"add map ip6 husk tcp_binds { type ipv6_addr . inet_service : ipv6_addr . inet_service; }\n"
	"add map ip6 husk udp_binds { type ipv6_addr . inet_service : ipv6_addr . inet_service; }\n"
	"add chain ip6 husk binds_pre { type nat hook prerouting priority dstnat - 1; policy "
	"accept; }\n"
	"add rule ip6 husk binds_pre dnat to ip6 daddr . tcp dport map @tcp_binds\n"
	"add rule ip6 husk binds_pre dnat to ip6 daddr . udp dport map @udp_binds\n"
	"add chain ip6 husk binds_out { type nat hook output priority -101; policy accept; }\n"
	"add rule ip6 husk binds_out dnat to ip6 daddr . tcp dport map @tcp_binds\n"
	"add rule ip6 husk binds_out dnat to ip6 daddr . udp dport map @udp_binds\n"
	"add chain ip6 husk prerouting { type nat hook prerouting priority dstnat; policy "
	"accept; }\n"
	"add rule ip6 husk prerouting fib daddr type local dnat to tcp dport map @tcp_ports\n"
	"add rule ip6 husk prerouting fib daddr type local dnat to udp dport map @udp_ports\n"
	"add chain ip6 husk output { type nat hook output priority -100; policy accept; }\n"
	"add rule ip6 husk output ip6 daddr != ::1 fib daddr type local dnat to tcp dport map "
	"@tcp_ports\n"
	"add rule ip6 husk output ip6 daddr != ::1 fib daddr type local dnat to udp dport map "
	"@udp_ports\n";

/* Run nft commands; the error in nft's words. */
static int nft_run(const char *cmds, bool quiet_exists, husk_error **err)
{
	if (husk_lazy_nftables(err) < 0)
		return -1;
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return husk_fail(err, ENOMEM, "nftables");
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	int r = nft_run_cmd_from_buffer(ctx, cmds);
	if (r != 0) {
		const char *e = nft_ctx_get_error_buffer(ctx);
		bool exists = strstr(e ?: "", "File exists") != NULL;
		if (!(quiet_exists && exists)) {
			/* the first line says it all */
			size_t len = e ? strcspn(e, "\n") : 0;
			husk_fail(err, exists ? EEXIST : 0, "nft: %.*s", (int)len, e ?: "");
		}
		r = exists ? -EEXIST : -1;
	}
	nft_ctx_free(ctx);
	return r;
}

static char *undo_path(const char *runroot, const char *id)
{
	return husk_strdup_printf("%s/net/nft/%s", runroot, id);
}

/* The ephemeral range, as Docker's port allocator reads it */
static void ephemeral_range(unsigned *lo, unsigned *hi)
{
	*lo = 32768;
	*hi = 60999;
	cleanup_free char *t = NULL;
	size_t len;
	if (husk_read_file("/proc/sys/net/ipv4/ip_local_port_range", &t, &len, NULL) == 0)
		sscanf(t, "%u %u", lo, hi);
	if (*lo == 0 || *hi > 65535 || *lo > *hi) {
		*lo = 32768;
		*hi = 60999;
	}
}

/* The families a port is published on: FAM4, FAM6 or both */
enum { FAM4 = 1, FAM6 = 2 };

static bool is_ip6(const char *host_ip)
{
	return strchr(host_ip, ':') != NULL;
}

static int families(const struct husk_net_port *p, bool has6)
{
	if (!*p->host_ip)
		return FAM4 | (has6 ? FAM6 : 0);
	return is_ip6(p->host_ip) ? FAM6 : FAM4;
}

/* Is port free of the host's own sockets (a socket bound to it)? */
static bool host_port_free(const struct husk_net_port *p, unsigned port)
{
	bool v6 = is_ip6(p->host_ip);
	int fd = socket(v6 ? AF_INET6 : AF_INET,
			(p->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;
	bool ok;
	if (v6) {
		int one = 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
					  .sin6_port = htons((uint16_t)port)};
		inet_pton(AF_INET6, p->host_ip, &sa.sin6_addr);
		ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	} else {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		if (*p->host_ip)
			inet_pton(AF_INET, p->host_ip, &sa.sin_addr);
		ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	}
	close(fd);
	return ok;
}

/* Give each port to pick (host 0, or a host range) a host port: free of
 * the host's sockets and of the ports picked before it; tries is how
 * many times the table refused a pick already (start further on). */
static void pick_ports(struct husk_net_port *ports, const bool *pick, size_t n, unsigned tries)
{
	unsigned elo, ehi;
	ephemeral_range(&elo, &ehi);
	for (size_t i = 0; i < n; i++) {
		if (!pick[i])
			continue;
		unsigned lo = ports[i].host_end ? ports[i].host : elo;
		unsigned hi = ports[i].host_end ? ports[i].host_end : ehi;
		unsigned span = hi - lo + 1;
		unsigned start =
			ports[i].host_end ? tries * 1u : (unsigned)getpid() * 7919u + tries * 613u;
		for (unsigned k = 0; k < span; k++) {
			unsigned cand = lo + (start + k) % span;
			bool used = false;
			for (size_t j = 0; j < n && !used; j++)
				used = j != i && ports[j].proto == ports[i].proto &&
				       ports[j].host == cand && (j < i || !pick[j]);
			if (!used && host_port_free(&ports[i], cand)) {
				ports[i].host = (unsigned short)cand;
				break;
			}
		}
	}
}

int net_nft_ensure(husk_error **err)
{
	/* the table is made whole in one transaction, or not at all when
	 * it is there: concurrent runs cannot add its rules twice.  Asked
	 * by nfnetlink first: libnftables is loaded only when there is
	 * something for it to do. */
	int t = net_nfnl_table_exists();
	if (t == 1 && net_nfnl_chain_exists("hairpin") == 1)
		return 0;
	if (t != 1) {
		cleanup_free char *all =
			husk_strdup_printf("%s%s%s", table_def, ext_def, hairpin_def);
		int r = nft_run(all, true, err);
		if (r == 0)
			return 0;
		if (r != -EEXIST)
			return husk_error_wrap(err, "create the nft table \"ip husk\"");
	}
	/* made by an older husk, or by another just now */
	cleanup_free char *up = husk_strdup_printf(
		"%s%s%s", ext_upgrade, net_nfnl_set_exists("tcp_claims") == 1 ? "" : ext_def,
		hairpin_def);
	int r = nft_run(up, true, err);
	if (r < 0 && r != -EEXIST)
		return husk_error_wrap(err, "add to the nft table \"ip husk\"");
	return 0;
}

int net_nft_ensure6(husk_error **err)
{
	int t = net_nfnl_table6_exists();
	if (t == 1 && net_nfnl_chain6_exists("hairpin") == 1)
		return 0;
	if (t != 1) {
		cleanup_free char *all =
			husk_strdup_printf("%s%s%s", table6_def, ext6_def, hairpin6_def);
		int r = nft_run(all, true, err);
		if (r == 0)
			return 0;
		if (r != -EEXIST)
			return husk_error_wrap(err, "create the nft table \"ip6 husk\"");
	}
	/* made by an older husk, or by another just now: its "create chain"
	 * fails whole when another added it first */
	cleanup_free char *up = husk_strdup_printf(
		"%s%s", net_nfnl_chain6_exists("postrouting") == 1 ? "" : ext6_def, hairpin6_def);
	int r = nft_run(up, true, err);
	if (r < 0 && r != -EEXIST)
		return husk_error_wrap(err, "add to the nft table \"ip6 husk\"");
	return 0;
}

/* "[::1]" for an IPv6 address, as Docker writes one with a port */
static void host_text(const char *host_ip, char buf[64])
{
	snprintf(buf, 64, is_ip6(host_ip) ? "[%s]" : "%s", *host_ip ? host_ip : "0.0.0.0");
}

/* Does port i need its own claim?  Not when every earlier port of the
 * container on its host port is of the other family (-p 0.0.0.0:80:80 -p
 * [::]:80:80, or the record's two halves of -p 80:80): one host port. */
static bool claims(const struct husk_net_port *ports, size_t i, bool has6)
{
	bool other = false;
	for (size_t j = 0; j < i; j++) {
		if (ports[j].proto != ports[i].proto || ports[j].host != ports[i].host)
			continue;
		if (families(&ports[j], has6) & families(&ports[i], has6))
			return true;
		other = true;
	}
	return !other;
}

int net_nft_add(const char *runroot, const char *id, struct in_addr addr,
		const struct in6_addr *addr6, struct husk_net_port **ret_ports, size_t *ret_n,
		husk_error **err)
{
	if (net_nft_ensure(err) < 0)
		return -1;
	struct husk_net_port *ports = *ret_ports;
	size_t n_ports = *ret_n;
	if (n_ports == 0)
		return 0;
	bool has6 = addr6 != NULL, any6 = false;
	for (size_t i = 0; i < n_ports; i++) {
		if (families(&ports[i], has6) & FAM6)
			any6 = true;
		if (!has6 && is_ip6(ports[i].host_ip)) {
			char h[64];
			host_text(ports[i].host_ip, h);
			return husk_fail_as(err, EINVAL,
					    "-p %s:%u:%u: the container has no IPv6 address (its "
					    "network has no --ipv6)",
					    h, ports[i].host, ports[i].ctr);
		}
	}
	if (any6 && net_nft_ensure6(err) < 0)
		return -1;
	char ip[INET_ADDRSTRLEN], ip6[INET6_ADDRSTRLEN] = "";
	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	if (has6)
		inet_ntop(AF_INET6, addr6, ip6, sizeof(ip6));
	cleanup_free bool *pick = calloc(n_ports, sizeof(bool));
	size_t cap = 512 + n_ports * 512;
	cleanup_free char *add = calloc(1, cap);
	cleanup_free char *del = calloc(1, cap);
	if (!add || !del || !pick)
		return husk_fail(err, ENOMEM, "nft");
	bool picking = false;
	for (size_t i = 0; i < n_ports; i++)
		picking |= pick[i] = ports[i].host == 0 || ports[i].host_end != 0;
	cleanup_free char *dir = husk_strdup_printf("%s/net/nft", runroot);
	cleanup_free char *undo = undo_path(runroot, id);
	if (husk_mkdir_p(dir, 0700, err) < 0)
		return -1;
	int r = -1;
	for (unsigned tries = 0; tries < 16; tries++) {
		pick_ports(ports, pick, n_ports, tries);
		size_t na = 0, nd = 0;
		/* its own ports by an address of the host: the hairpin chain */
		na += (size_t)snprintf(add + na, cap - na,
				       "add element ip husk selfs { %s . %s }\n", ip, ip);
		nd += (size_t)snprintf(del + nd, cap - nd, "self %s\n", ip);
		if (any6) {
			na += (size_t)snprintf(add + na, cap - na,
					       "add element ip6 husk selfs { %s . %s }\n", ip6,
					       ip6);
			nd += (size_t)snprintf(del + nd, cap - nd, "self %s\n", ip6);
		}
		for (size_t i = 0; i < n_ports; i++) {
			const struct husk_net_port *p = &ports[i];
			const char *proto = p->proto == IPPROTO_UDP ? "udp" : "tcp";
			int fam = families(p, has6);
			/* create: fails when another container holds the port */
			if (claims(ports, i, has6))
				na += (size_t)snprintf(add + na, cap - na,
						       "create element ip husk %s_claims { %u }\n",
						       proto, p->host);
			/* "" and 0.0.0.0 (::) every address of the family */
			bool every = !*p->host_ip || strcmp(p->host_ip, "0.0.0.0") == 0 ||
				     strcmp(p->host_ip, "::") == 0;
			if ((fam & FAM4) && every) {
				na += (size_t)snprintf(
					add + na, cap - na,
					"create element ip husk %s_ports { %u : %s . %u }\n", proto,
					p->host, ip, p->ctr);
				nd += (size_t)snprintf(del + nd, cap - nd, "%s %u\n", proto,
						       p->host);
			} else if (fam & FAM4) {
				na += (size_t)snprintf(
					add + na, cap - na,
					"create element ip husk %s_binds { %s . %u : %s . %u }\n",
					proto, p->host_ip, p->host, ip, p->ctr);
				nd += (size_t)snprintf(del + nd, cap - nd, "%s %u %s\n", proto,
						       p->host, p->host_ip);
			}
			if ((fam & FAM6) && every) {
				na += (size_t)snprintf(
					add + na, cap - na,
					"create element ip6 husk %s_ports { %u : %s . %u }\n",
					proto, p->host, ip6, p->ctr);
				nd += (size_t)snprintf(del + nd, cap - nd, "%s %u ::\n", proto,
						       p->host);
			} else if ((fam & FAM6) && strcmp(p->host_ip, "::1") == 0) {
				/* husk-proxy's alone; the line undoes the claim */
				nd += (size_t)snprintf(del + nd, cap - nd, "%s %u ::1\n", proto,
						       p->host);
			} else if (fam & FAM6) {
				na += (size_t)snprintf(
					add + na, cap - na,
					"create element ip6 husk %s_binds { %s . %u : %s . %u }\n",
					proto, p->host_ip, p->host, ip6, p->ctr);
				nd += (size_t)snprintf(del + nd, cap - nd, "%s %u %s\n", proto,
						       p->host, p->host_ip);
			}
		}
		/* what undoes them first: a crash right after leaves nothing
		 * that husk rm cannot find */
		if (husk_write_file(undo, del, strlen(del), 0600, err) < 0)
			return -1;
		r = nft_run(add, true, err);
		if (r != -EEXIST || !picking)
			break;
		/* again with other picks, unless a port given is what is taken */
		bool fixed_taken = false;
		for (size_t i = 0; i < n_ports && !fixed_taken; i++)
			fixed_taken =
				!pick[i] &&
				net_nfnl_port_claimed(ports[i].proto == IPPROTO_UDP ? "udp_claims"
										    : "tcp_claims",
						      ports[i].host) == 1;
		if (fixed_taken)
			break;
	}
	if (r == -EEXIST) {
		unlink(undo);
		/* which: one another container holds, else one asked twice */
		const struct husk_net_port *p = &ports[0];
		bool held = false;
		for (size_t i = 0; i < n_ports && !held; i++) {
			p = &ports[i];
			held = net_nfnl_port_claimed(p->proto == IPPROTO_UDP ? "udp_claims"
									     : "tcp_claims",
						     p->host) == 1;
		}
		for (size_t i = 0; i < n_ports && !held; i++)
			for (size_t k = 0; k < i && !held; k++)
				if (ports[k].host == ports[i].host &&
				    ports[k].proto == ports[i].proto) {
					p = &ports[i];
					held = true;
				}
		char h[64];
		host_text(p->host_ip, h);
		return husk_fail_as(err, EADDRINUSE,
				    "bind for %s:%u/%s failed: port is already allocated", h,
				    p->host, p->proto == IPPROTO_UDP ? "udp" : "tcp");
	}
	if (r < 0) {
		unlink(undo);
		return husk_error_wrap(err, "publish ports");
	}
	/* as Docker shows them: a port on every address is two bindings,
	 * 0.0.0.0 and ::, when the container has an IPv6 address */
	if (has6) {
		size_t n2 = n_ports;
		for (size_t i = 0; i < n_ports; i++)
			n2 += !*ports[i].host_ip;
		if (n2 > n_ports) {
			struct husk_net_port *v = calloc(n2 + 1, sizeof(*v));
			if (!v)
				abort();
			size_t k = 0;
			for (size_t i = 0; i < n_ports; i++) {
				v[k] = ports[i];
				if (*ports[i].host_ip) {
					k++;
					continue;
				}
				snprintf(v[k++].host_ip, sizeof(v->host_ip), "0.0.0.0");
				v[k] = ports[i];
				snprintf(v[k++].host_ip, sizeof(v->host_ip), "::");
			}
			free(*ret_ports);
			*ret_ports = v;
			*ret_n = n2;
		}
	}
	return 0;
}

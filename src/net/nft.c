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

/* A table of an older husk had the isolation of internal networks in a
 * chain "forward" that dropped all they forwarded, which with br_netfilter
 * is traffic inside their own bridge too: isolate replaces it */
static const char ext_upgrade[] =
	"add chain ip husk forward { type filter hook forward priority filter; policy accept; }\n"
	"flush chain ip husk forward\n"
	"delete chain ip husk forward\n";

/* `ip6 husk`: IPv6 networks kept apart as isolate keeps IPv4 ones (no
 * NAT for IPv6, as Docker's default) */
static const char table6_def[] =
	"create table ip6 husk\n"
	"add chain ip6 husk isolate { type filter hook forward priority filter; policy accept; }\n"
	"add rule ip6 husk isolate iifname \"" BRIDGES_INT "\" fib daddr . iif oif missing drop\n"
	"add rule ip6 husk isolate oifname \"" BRIDGES_INT "\" iifname != \"" BRIDGES_INT
	"\" drop\n"
	"add rule ip6 husk isolate iifname { \"" HUSK_NET_BRIDGE "\", \"" BRIDGES_USER
	"\" } oifname { \"" HUSK_NET_BRIDGE "\", \"" BRIDGES_USER
	"\" } fib daddr . iif oif missing drop\n";

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

/* Is port free of the host's own sockets (a socket bound to it)? */
static bool host_port_free(const struct husk_net_port *p, unsigned port)
{
	int fd = socket(AF_INET,
			(p->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (*p->host_ip)
		inet_pton(AF_INET, p->host_ip, &sa.sin_addr);
	bool ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
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
	if (t == 1 && net_nfnl_set_exists("tcp_claims") == 1 &&
	    net_nfnl_chain_exists("forward") == 0)
		return 0;
	if (t != 1) {
		cleanup_free char *all = husk_strdup_printf("%s%s", table_def, ext_def);
		int r = nft_run(all, true, err);
		if (r == 0)
			return 0;
		if (r != -EEXIST)
			return husk_error_wrap(err, "create the nft table \"ip husk\"");
	}
	/* made by an older husk, or by another just now */
	cleanup_free char *up = husk_strdup_printf(
		"%s%s", ext_upgrade, net_nfnl_set_exists("tcp_claims") == 1 ? "" : ext_def);
	int r = nft_run(up, true, err);
	if (r < 0 && r != -EEXIST)
		return husk_error_wrap(err, "add to the nft table \"ip husk\"");
	return 0;
}

int net_nft_ensure6(husk_error **err)
{
	if (net_nfnl_table6_exists() == 1)
		return 0;
	int r = nft_run(table6_def, true, err);
	if (r < 0 && r != -EEXIST)
		return husk_error_wrap(err, "create the nft table \"ip6 husk\"");
	return 0;
}

int net_nft_add(const char *runroot, const char *id, struct in_addr addr,
		struct husk_net_port *ports, size_t n_ports, husk_error **err)
{
	if (net_nft_ensure(err) < 0)
		return -1;
	if (n_ports == 0)
		return 0;
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	cleanup_free bool *pick = calloc(n_ports, sizeof(bool));
	size_t cap = 64 + n_ports * 256;
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
		for (size_t i = 0; i < n_ports; i++) {
			const struct husk_net_port *p = &ports[i];
			const char *proto = p->proto == IPPROTO_UDP ? "udp" : "tcp";
			/* create: fails when another container holds the port */
			na += (size_t)snprintf(add + na, cap - na,
					       "create element ip husk %s_claims { %u }\n", proto,
					       p->host);
			if (*p->host_ip)
				na += (size_t)snprintf(
					add + na, cap - na,
					"create element ip husk %s_binds { %s . %u : %s . %u }\n",
					proto, p->host_ip, p->host, ip, p->ctr);
			else
				na += (size_t)snprintf(
					add + na, cap - na,
					"create element ip husk %s_ports { %u : %s . %u }\n", proto,
					p->host, ip, p->ctr);
			nd += (size_t)snprintf(del + nd, cap - nd, "%s %u%s%s\n", proto, p->host,
					       *p->host_ip ? " " : "", p->host_ip);
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
		return husk_fail_as(err, EADDRINUSE,
				    "bind for %s:%u/%s failed: port is already allocated",
				    *p->host_ip ? p->host_ip : "0.0.0.0", p->host,
				    p->proto == IPPROTO_UDP ? "udp" : "tcp");
	}
	if (r < 0) {
		unlink(undo);
		return husk_error_wrap(err, "publish ports");
	}
	return 0;
}

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
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	/* an internal network reaches nothing beyond its bridge */
	"add chain ip husk forward { type filter hook forward priority filter; policy accept; }\n"
	"add rule ip husk forward iifname \"" BRIDGES_INT "\" drop\n"
	"add rule ip husk forward oifname \"" BRIDGES_INT "\" drop\n"
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

int net_nft_add(const char *runroot, const char *id, struct in_addr addr,
		const struct husk_net_port *ports, size_t n_ports, husk_error **err)
{
	/* the table is made whole in one transaction, or not at all when
	 * it is there: concurrent runs cannot add its rules twice.  Asked
	 * by nfnetlink first: libnftables is loaded only when there is
	 * something for it to do. */
	if (net_nfnl_table_exists() != 1) {
		int r = nft_run(table_def, true, err);
		if (r < 0 && r != -EEXIST)
			return husk_error_wrap(err, "create the nft table \"ip husk\"");
	}
	if (n_ports == 0)
		return 0;
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	size_t cap = 64 + n_ports * 96;
	cleanup_free char *add = calloc(1, cap);
	cleanup_free char *del = calloc(1, cap);
	if (!add || !del)
		return husk_fail(err, ENOMEM, "nft");
	size_t na = 0, nd = 0;
	for (size_t i = 0; i < n_ports; i++) {
		bool udp = ports[i].proto == IPPROTO_UDP;
		/* create: fails when another container holds the port */
		na += (size_t)snprintf(
			add + na, cap - na, "create element ip husk %s { %u : %s . %u }\n",
			udp ? "udp_ports" : "tcp_ports", ports[i].host, ip, ports[i].ctr);
		nd += (size_t)snprintf(del + nd, cap - nd, "%s %u\n", udp ? "udp" : "tcp",
				       ports[i].host);
	}
	cleanup_free char *dir = husk_strdup_printf("%s/net/nft", runroot);
	cleanup_free char *undo = undo_path(runroot, id);
	if (husk_mkdir_p(dir, 0700, err) < 0)
		return -1;
	/* what undoes them first: a crash right after leaves nothing that
	 * husk rm cannot find */
	if (husk_write_file(undo, del, strlen(del), 0600, err) < 0)
		return -1;
	int r = nft_run(add, false, err);
	if (r == -EEXIST) {
		unlink(undo);
		return husk_fail_as(err, EADDRINUSE,
				    "publish ports: a host port is already published");
	}
	if (r < 0) {
		unlink(undo);
		return husk_error_wrap(err, "publish ports");
	}
	return 0;
}

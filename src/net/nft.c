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
#include <net/if.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lazy.h"
#include "net-private.h"
#include "util.h"

static const char table_def[] =
	"create table ip husk\n"
	"add map ip husk tcp_ports { type inet_service : ipv4_addr . inet_service; }\n"
	"add map ip husk udp_ports { type inet_service : ipv4_addr . inet_service; }\n"
	"add chain ip husk guard { type filter hook prerouting priority raw; policy accept; }\n"
	"add rule ip husk guard iifname \"" HUSK_NET_BRIDGE "\" ip daddr 127.0.0.0/8 drop\n"
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
	"add rule ip husk postrouting ip saddr 127.0.0.0/8 oifname \"" HUSK_NET_BRIDGE
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
	 * it is there: concurrent runs cannot add its rules twice */
	int r = nft_run(table_def, true, err);
	if (r < 0 && r != -EEXIST)
		return husk_error_wrap(err, "create the nft table \"ip husk\"");
	/* loopback sources routed into husk0 (see the top of this file) */
	if (husk_write_file("/proc/sys/net/ipv4/conf/" HUSK_NET_BRIDGE "/route_localnet", "1", 1, 0,
			    err) < 0)
		return -1;
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
		const char *map = ports[i].proto == IPPROTO_UDP ? "udp_ports" : "tcp_ports";
		/* create: fails when another container holds the port */
		na += (size_t)snprintf(add + na, cap - na,
				       "create element ip husk %s { %u : %s . %u }\n", map,
				       ports[i].host, ip, ports[i].ctr);
		nd += (size_t)snprintf(del + nd, cap - nd, "delete element ip husk %s { %u }\n",
				       map, ports[i].host);
	}
	cleanup_free char *dir = husk_strdup_printf("%s/net/nft", runroot);
	cleanup_free char *undo = undo_path(runroot, id);
	if (husk_mkdir_p(dir, 0700, err) < 0)
		return -1;
	r = nft_run(add, false, err);
	if (r == -EEXIST)
		return husk_fail(err, EADDRINUSE,
				 "publish ports: a host port is already published");
	if (r < 0)
		return husk_error_wrap(err, "publish ports");
	return husk_write_file(undo, del, strlen(del), 0600, err);
}

/* Is a veth of husk's (husk<hex>) still on the host? */
static bool husk_veth_left(void)
{
	struct if_nameindex *ifs = if_nameindex();
	bool left = false;
	for (struct if_nameindex *i = ifs; i && i->if_index; i++)
		if (strncmp(i->if_name, "husk", 4) == 0 && strcmp(i->if_name, HUSK_NET_BRIDGE) != 0)
			left = true;
	if (ifs)
		if_freenameindex(ifs);
	return left;
}

int net_nft_del(const char *runroot, const char *id, husk_error **err)
{
	cleanup_free char *undo = undo_path(runroot, id);
	cleanup_free char *cmds = NULL;
	size_t len = 0;
	husk_error *rerr = NULL;
	int r = 0;
	/* first, not left to nft_run(): a library that cannot be loaded says
	 * "No such file or directory", which would pass for a table already
	 * gone below */
	if (husk_lazy_nftables(err) < 0)
		return -1;
	if (husk_read_file(undo, &cmds, &len, &rerr) == 0) {
		/* each element alone: one already gone must not keep the rest */
		for (char *save = NULL, *l = strtok_r(cmds, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save))
			nft_run(l, false, NULL);
		unlink(undo);
	}
	husk_error_free(rerr);
	if (!husk_veth_left()) {
		husk_error *e = NULL;
		if (nft_run("delete table ip husk", false, &e) < 0 &&
		    !strstr(e && e->msg ? e->msg : "", "No such file"))
			r = husk_fail(err, e ? e->errnum : 0, "%s", e ? e->msg : "nft");
		husk_error_free(e);
	}
	return r;
}

/* A container's network, step by step: the bridge, an address, the
 * netns, the veth pair, the inside of the netns, /etc/hosts and
 * /etc/resolv.conf, the nft rules; and the undo of all of it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net-private.h"
#include "util.h"

#define PREFIX 16

/* husk<8 hex of the id>: 12 bytes, under IFNAMSIZ */
static void host_veth_name(const char *id, char buf[16])
{
	snprintf(buf, 16, "husk%.8s", id);
}

static char *ns_path(const char *runroot, const char *id)
{
	return husk_strdup_printf("%s/net/ns/%s", runroot, id);
}

static int write_hosts(const char *path, const struct husk_net_opts *o, const char *ip,
		       husk_error **err)
{
	cleanup_free char *text = husk_strdup_printf(
		"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s%s%s\n", ip,
		o->hostname, o->name && strcmp(o->name, o->hostname) ? " " : "",
		o->name && strcmp(o->name, o->hostname) ? o->name : "");
	return husk_write_file(path, text, strlen(text), 0644, err);
}

/* The host's resolv.conf, less the nameservers on its loopback (a local
 * resolver such as systemd-resolved's 127.0.0.53 cannot be reached from
 * the container's netns). */
static int write_resolv(const char *path, husk_error **err)
{
	cleanup_free char *host = NULL;
	size_t len = 0;
	husk_error *rerr = NULL;
	if (husk_read_file("/etc/resolv.conf", &host, &len, &rerr) < 0) {
		husk_error_free(rerr);
		host = strdup("");
	}
	size_t cap = strlen(host) + 256;
	cleanup_free char *out = calloc(1, cap);
	if (!host || !out)
		return husk_fail(err, ENOMEM, "write \"%s\"", path);
	size_t n = 0;
	int servers = 0, dropped = 0;
	for (char *save = NULL, *line = strtok_r(host, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char addr[64];
		if (sscanf(line, " nameserver %63s", addr) == 1) {
			if (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0) {
				dropped++;
				continue;
			}
			servers++;
		}
		n += (size_t)snprintf(out + n, cap - n, "%s\n", line);
	}
	if (dropped && !servers)
		snprintf(out + n, cap - n,
			 "# husk: the host's nameservers are on its loopback, which a "
			 "container cannot reach: no nameserver\n");
	return husk_write_file(path, out, strlen(out), 0644, err);
}

int husk_net_setup(const struct husk_net_opts *o, struct husk_net_info *ret, husk_error **err)
{
	struct husk_net_info info = {0};
	struct in_addr gw, addr;
	char veth[16];
	cleanup_close int nsfd = -1;
	inet_pton(AF_INET, HUSK_NET_GATEWAY, &gw);
	host_veth_name(o->id, veth);
	cleanup_free char *nsdir = husk_strdup_printf("%s/net/ns", o->runroot);
	if (husk_mkdir_p(nsdir, 0700, err) < 0)
		goto fail;
	if (net_bridge_ensure(HUSK_NET_BRIDGE, gw, PREFIX, err) < 0)
		goto fail;
	if (net_ipam_alloc(o->runroot, o->id, &addr, err) < 0)
		goto fail;
	inet_ntop(AF_INET, &addr, info.ip, sizeof(info.ip));
	info.netns_path = ns_path(o->runroot, o->id);
	if (net_ns_create(info.netns_path, err) < 0)
		goto fail;
	nsfd = open(info.netns_path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		husk_fail(err, errno, "open \"%s\"", info.netns_path);
		goto fail;
	}
	if (net_veth_add(veth, HUSK_NET_BRIDGE, "eth0", nsfd, err) < 0 ||
	    net_ns_configure(nsfd, "eth0", addr, PREFIX, gw, err) < 0)
		goto fail;
	info.hosts_path = husk_strdup_printf("%s/hosts", o->dir);
	info.resolv_path = husk_strdup_printf("%s/resolv.conf", o->dir);
	if (write_hosts(info.hosts_path, o, info.ip, err) < 0 ||
	    write_resolv(info.resolv_path, err) < 0)
		goto fail;
	if (net_nft_add(o->runroot, o->id, addr, o->ports, o->n_ports, err) < 0)
		goto fail;
	*ret = info;
	return 0;
fail:
	husk_net_info_release(&info);
	husk_net_teardown(o->runroot, o->id, NULL);
	return husk_error_wrap(err, "network of container \"%.12s\"", o->id);
}

int husk_net_teardown(const char *runroot, const char *id, husk_error **err)
{
	char veth[16];
	host_veth_name(id, veth);
	int r = 0;
	husk_error *e = NULL;
	/* the host end takes its peer along */
	if (net_link_del(veth, &e) < 0) {
		r = -1;
		if (err && !*err)
			*err = e;
		else
			husk_error_free(e);
		e = NULL;
	}
	cleanup_free char *ns = ns_path(runroot, id);
	net_ns_remove(ns);
	if (net_ipam_release(runroot, id, &e) < 0) {
		r = -1;
		if (err && !*err)
			*err = e;
		else
			husk_error_free(e);
		e = NULL;
	}
	if (net_nft_del(runroot, id, &e) < 0) {
		r = -1;
		if (err && !*err)
			*err = e;
		else
			husk_error_free(e);
	}
	return r;
}

void husk_net_info_release(struct husk_net_info *i)
{
	free(i->netns_path);
	free(i->hosts_path);
	free(i->resolv_path);
	*i = (struct husk_net_info){0};
}

int husk_net_parse_port(const char *s, struct husk_net_port *ret, husk_error **err)
{
	char proto[8] = "tcp";
	unsigned int h = 0, c = 0;
	int n = 0, m = 0;
	if ((sscanf(s, "%5u:%5u%n", &h, &c, &n) != 2) ||
	    (s[n] && (sscanf(s + n, "/%7[a-z]%n", proto, &m) != 1 || s[n + m])) || !h || !c ||
	    h > 65535 || c > 65535 || (strcmp(proto, "tcp") && strcmp(proto, "udp")))
		return husk_fail(err, EINVAL,
				 "-p \"%s\": expected HOSTPORT:CONTAINERPORT[/tcp|/udp]", s);
	*ret = (struct husk_net_port){.host = (unsigned short)h,
				      .ctr = (unsigned short)c,
				      .proto = strcmp(proto, "udp") ? IPPROTO_TCP : IPPROTO_UDP};
	return 0;
}

/* Links, addresses, routes and rate limits (a TBF qdisc) through
 * rtnetlink (libmnl). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net-private.h"
#include "util.h"

/* To the kernel, on a raw rtnetlink socket (bound by the kernel on the
 * first send).  A socket belongs to the netns it was opened in, whichever
 * the thread is in now. */
static ssize_t nl_send(int fd, const struct nlmsghdr *nlh)
{
	static const struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	return sendto(fd, nlh, nlh->nlmsg_len, 0, (const struct sockaddr *)&kernel, sizeof(kernel));
}

/* One request, one acknowledgement: 0, or -1 with errno set from the
 * kernel's answer; cb (if not NULL) sees the replies before the ack */
static int nl_talk_cb(int fd, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	static unsigned int seq;
	char buf[16384];
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++seq;
	if (nl_send(fd, nlh) < 0)
		return -1;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		int r = mnl_cb_run(buf, (size_t)n, seq, 0, cb, data);
		if (r <= MNL_CB_STOP)
			return r < 0 ? -1 : 0;
	}
}

static int nl_talk(int fd, struct nlmsghdr *nlh)
{
	return nl_talk_cb(fd, nlh, NULL, NULL);
}

static int nl_open(husk_error **err)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return husk_fail(err, errno, "open an rtnetlink socket");
	return fd;
}

static struct nlmsghdr *link_msg(char *buf, int type, int flags, int index)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (unsigned short)type;
	nlh->nlmsg_flags = (unsigned short)flags;
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = index;
	return nlh;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		*(struct ifinfomsg *)data = *(struct ifinfomsg *)mnl_nlmsg_get_payload(nlh);
	return MNL_CB_OK;
}

/* The index of link name in the socket's netns (if_nametoindex's is the
 * thread's), or -errno (-ENODEV when there is none); its flags in
 * *ret_flags if not NULL */
static int nl_index_of(int fd, const char *name, unsigned int *ret_flags)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, 0, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	struct ifinfomsg ifm = {0};
	if (nl_talk_cb(fd, nlh, link_cb, &ifm) < 0)
		return -errno;
	if (ret_flags)
		*ret_flags = ifm.ifi_flags;
	return ifm.ifi_index > 0 ? ifm.ifi_index : -ENODEV;
}

static int nl_index(int fd, const char *name, husk_error **err)
{
	int idx = nl_index_of(fd, name, NULL);
	if (idx < 0)
		return husk_fail(err, -idx, "link \"%s\"", name);
	return idx;
}

static int link_up(int fd, const char *name, int idx, husk_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, idx);
	struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	if (nl_talk(fd, nlh) < 0)
		return husk_fail(err, errno, "set link \"%s\" up", name);
	return 0;
}

static int addr_add(int fd, const char *dev, int idx, struct in_addr addr, int prefix,
		    husk_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned int)idx;
	mnl_attr_put_u32(nlh, IFA_LOCAL, addr.s_addr);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, addr.s_addr);
	struct in_addr bcast = {addr.s_addr | htonl(0xffffffffu >> prefix)};
	mnl_attr_put_u32(nlh, IFA_BROADCAST, bcast.s_addr);
	if (nl_talk(fd, nlh) < 0 && errno != EEXIST)
		return husk_fail(err, errno, "add an address to \"%s\"", dev);
	return 0;
}

/* an IPv6 address, without duplicate address detection: it is ours on
 * a link of ours, and DAD would leave it tentative (unusable) a second */
static int addr6_add(int fd, const char *dev, int idx, const struct in6_addr *addr, int prefix,
		     husk_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned int)idx;
	ifa->ifa_flags = IFA_F_NODAD;
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(*addr), addr);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(*addr), addr);
	mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	if (nl_talk(fd, nlh) < 0 && errno != EEXIST)
		return husk_fail(err, errno, "add an IPv6 address to \"%s\"", dev);
	return 0;
}

int net_bridge_addr6(const char *name, const struct in6_addr *gw, int prefix, husk_error **err)
{
	cleanup_close int fd = nl_open(err);
	if (fd < 0)
		return -1;
	int idx = nl_index(fd, name, err);
	if (idx < 0 || addr6_add(fd, name, idx, gw, prefix, err) < 0)
		return husk_error_wrap(err, "bridge \"%s\"", name);
	return 0;
}

int net_bridge_ensure(const char *name, struct in_addr gw, int prefix, int mtu, husk_error **err)
{
	cleanup_close int fd = nl_open(err);
	if (fd < 0)
		return -1;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int flags = 0;
	int idx = nl_index_of(fd, name, &flags);
	if (idx < 0 && idx != -ENODEV)
		return husk_fail(err, -idx, "bridge \"%s\"", name);
	if (idx > 0 && (flags & IFF_UP))
		return 1;
	if (idx < 0) {
		struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
		if (mtu > 0)
			mnl_attr_put_u32(nlh, IFLA_MTU, (uint32_t)mtu);
		struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
		mnl_attr_nest_end(nlh, li);
		/* EEXIST: another husk made it meanwhile */
		if (nl_talk(fd, nlh) < 0 && errno != EEXIST)
			return husk_fail(err, errno, "create the bridge \"%s\"", name);
		if ((idx = nl_index(fd, name, err)) < 0)
			return husk_error_wrap(err, "bridge \"%s\"", name);
	}
	if (addr_add(fd, name, idx, gw, prefix, err) < 0)
		return husk_error_wrap(err, "bridge \"%s\"", name);
	return 0;
}

int net_bridge_up(const char *name, husk_error **err)
{
	cleanup_close int fd = nl_open(err);
	if (fd < 0)
		return -1;
	int idx = nl_index(fd, name, err);
	if (idx < 0 || link_up(fd, name, idx, err) < 0)
		return husk_error_wrap(err, "bridge \"%s\"", name);
	return 0;
}

/* The host's end of a container's veth is named from the container's id,
 * so a name in use is most likely the container's own last pair, whose
 * netns the kernel is still tearing down (cleanup_net, a workqueue, after
 * an RCU grace period; seconds under load): a start right after a kill -9
 * or a reboot's leftovers met it.  Wait up to 5 s for it to go; a name
 * that stays is another link's, and the create fails as it did. */
static bool name_freed(const char *name)
{
	for (int i = 0; i < 500; i++) {
		if (if_nametoindex(name) == 0 && errno == ENODEV)
			return true;
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	return false;
}

int net_veth_add(const char *host, const char *master, const char *peer, int ns_fd, int mtu,
		 const unsigned char *mac, bool hairpin, husk_error **err)
{
	cleanup_close int fd = nl_open(err);
	if (fd < 0)
		return -1;
	int midx = nl_index(fd, master, err);
	if (midx < 0)
		return husk_error_wrap(err, "bridge \"%s\"", master);
	/* One message makes the pair: the host's end attached to the bridge
	 * and up, the peer directly in the container's netns under its final
	 * name (no temporary name can clash in the host's) with its address.
	 * Not the peer up: it is registered before the pair is joined, and a
	 * veth without its peer refuses to open (veth_open: ENOTCONN); it
	 * goes up from inside, net_ns_configure */
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)midx);
	if (mtu > 0)
		mnl_attr_put_u32(nlh, IFLA_MTU, (uint32_t)mtu);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *pe = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* the peer's own ifinfomsg, then its attributes */
	struct ifinfomsg *pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
	pifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)ns_fd);
	if (mtu > 0)
		mnl_attr_put_u32(nlh, IFLA_MTU, (uint32_t)mtu);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	mnl_attr_nest_end(nlh, pe);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	if (nl_talk(fd, nlh) < 0 && (errno != EEXIST || !name_freed(host) || nl_talk(fd, nlh) < 0))
		return husk_fail(err, errno, "create the veth pair \"%s\"", host);
	if (!hairpin)
		return 0;
	/* Hairpin on the bridge's port: a container that reaches a published
	 * port of its own by an address of the host is DNATed back to itself;
	 * with br_netfilter the kernel bridges that (br_nf_pre_routing_finish)
	 * out of the port it came in by, which a port sends nothing back to
	 * unless in hairpin mode (as Podman's, and Docker's without a userland
	 * proxy).  The masquerade that makes the answer come back by the host
	 * is the nft table's (nft.c).  A message more: only for a container
	 * that publishes ports. */
	nlh = link_msg(buf, RTM_NEWLINK, 0, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_SLAVE_KIND, "bridge");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_SLAVE_DATA);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, 1);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	if (nl_talk(fd, nlh) < 0)
		return husk_fail(err, errno, "hairpin mode on \"%s\"", host);
	return 0;
}

/* A token bucket as the root qdisc of dev: what leaves dev goes out at
 * bits a second at most (tc-tbf(8)).  The bucket holds 10 ms at the rate
 * and at least 32 KiB: below a few MTUs TCP stalls, and a big bucket lets
 * a short transfer run past the rate.  The queue holds 50 ms more at the
 * rate (tc's "latency 50ms"), and at least 256 KiB, then drops, which
 * TCP reads as the limit.  A GSO packet over the bucket is cut into
 * segments by the qdisc, so TCP hands it up to 64 KiB at once: a queue of
 * 50 ms alone (62 KiB at 10mbit) dropped a third of the segments, with
 * 1800 retransmits in 2 s and one transfer in two 15% under the rate
 * (iperf3 between two containers); four GSO packets of queue gave none
 * and every transfer at the rate. */
static int qdisc_tbf(int fd, const char *dev, int idx, uint64_t bits, husk_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint64_t bytes = bits / 8;
	uint64_t burst = bytes / 100 > 32768 ? bytes / 100 : 32768;
	if (burst > UINT32_MAX / 2)
		burst = UINT32_MAX / 2;
	uint64_t limit = burst + (bytes / 20 > 262144 ? bytes / 20 : 262144);
	if (limit > UINT32_MAX)
		limit = UINT32_MAX;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWQDISC;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = idx;
	tcm->tcm_parent = TC_H_ROOT;
	mnl_attr_put_strz(nlh, TCA_KIND, "tbf");
	struct nlattr *opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	/* the link layer given, the kernel computes the packets' time
	 * itself and wants no rate table; the bucket in bytes (TCA_TBF_BURST)
	 * and, for kernels before it, in 64 ns ticks */
	struct tc_tbf_qopt q = {.limit = (uint32_t)limit};
	q.rate.rate = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
	q.rate.linklayer = TC_LINKLAYER_ETHERNET;
	uint64_t ticks = burst * 1000000000ull / bytes / 64;
	q.buffer = ticks > UINT32_MAX ? UINT32_MAX : (uint32_t)ticks;
	mnl_attr_put(nlh, TCA_TBF_PARMS, sizeof(q), &q);
	if (bytes > UINT32_MAX)
		mnl_attr_put_u64(nlh, TCA_TBF_RATE64, bytes);
	mnl_attr_put_u32(nlh, TCA_TBF_BURST, (uint32_t)burst);
	mnl_attr_nest_end(nlh, opts);
	if (nl_talk(fd, nlh) < 0)
		return husk_fail(err, errno, "limit \"%s\" to %llu bit/s", dev,
				 (unsigned long long)bits);
	return 0;
}

int net_link_rate(const char *dev, uint64_t bits, husk_error **err)
{
	cleanup_close int fd = nl_open(err);
	if (fd < 0)
		return -1;
	int idx = nl_index(fd, dev, err);
	return idx < 0 ? -1 : qdisc_tbf(fd, dev, idx, bits, err);
}

/* The default route via gw (family AF_INET or AF_INET6, gw_len bytes of
 * address) out of dev */
static int route_add_default(int fd, const char *dev, int idx, int family, const void *gw,
			     size_t gw_len, husk_error **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)family;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, gw_len, gw);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)idx);
	if (nl_talk(fd, nlh) < 0)
		return husk_fail(err, errno, "add the %sdefault route via \"%s\"",
				 family == AF_INET6 ? "IPv6 " : "", dev);
	return 0;
}

/* IPv6 through the netns's own socket: dev's address, the default route */
int net_ns_configure6(int nl, const char *dev, const struct in6_addr *addr, int prefix,
		      const struct in6_addr *gw, husk_error **err)
{
	int idx = nl_index(nl, dev, err);
	if (idx < 0 || addr6_add(nl, dev, idx, addr, prefix, err) < 0 ||
	    (gw && route_add_default(nl, dev, idx, AF_INET6, gw, sizeof(*gw), err) < 0))
		return -1;
	return 0;
}

/* Through the netns's own socket: lo up (the loopback is index 1 in
 * every netns, LOOPBACK_IFINDEX), dev up, then its address (with its
 * prefix route, which the default route needs) */
int net_ns_configure(int nl, const char *dev, struct in_addr addr, int prefix, struct in_addr gw,
		     uint64_t egress, husk_error **err)
{
	int idx = nl_index(nl, dev, err);
	if (idx < 0 || link_up(nl, "lo", 1, err) < 0 || link_up(nl, dev, idx, err) < 0 ||
	    addr_add(nl, dev, idx, addr, prefix, err) < 0 ||
	    (gw.s_addr &&
	     route_add_default(nl, dev, idx, AF_INET, &gw.s_addr, sizeof(gw.s_addr), err) < 0) ||
	    (egress && qdisc_tbf(nl, dev, idx, egress, err) < 0))
		return -1;
	return 0;
}

int net_link_del(const char *name, husk_error **err)
{
	cleanup_close int fd = nl_open(err);
	if (fd < 0)
		return -1;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_DELLINK, 0, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (nl_talk(fd, nlh) < 0 && errno != ENODEV)
		return husk_fail(err, errno, "delete link \"%s\"", name);
	return 0;
}

struct route_walk {
	int (*fn)(uint32_t dst, int prefix, const char *dev, void *arg);
	void *arg;
	int found;
};

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_walk *w = data;
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family != AF_INET || rtm->rtm_table != RT_TABLE_MAIN ||
	    rtm->rtm_dst_len == 0 || rtm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	uint32_t dst = 0;
	char dev[IF_NAMESIZE] = "";
	struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*rtm))
	{
		if (mnl_attr_get_type(a) == RTA_DST)
			dst = ntohl(mnl_attr_get_u32(a));
		else if (mnl_attr_get_type(a) == RTA_OIF)
			if_indextoname(mnl_attr_get_u32(a), dev);
	}
	if (w->fn(dst, rtm->rtm_dst_len, dev, w->arg) == 1)
		w->found = 1;
	return MNL_CB_OK;
}

int net_routes_each(int (*fn)(uint32_t dst, int prefix, const char *dev, void *arg), void *arg,
		    husk_error **err)
{
	cleanup_close int fd = nl_open(err);
	if (fd < 0)
		return -1;
	char buf[16384];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	unsigned int seq = (unsigned int)time(NULL);
	nlh->nlmsg_seq = seq;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	if (nl_send(fd, nlh) < 0)
		return husk_fail(err, errno, "list the routes");
	struct route_walk w = {.fn = fn, .arg = arg};
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_fail(err, errno, "list the routes");
		int r = mnl_cb_run(buf, (size_t)n, seq, 0, route_cb, &w);
		if (r < 0)
			return husk_fail(err, errno, "list the routes");
		if (r == MNL_CB_STOP)
			break;
	}
	return w.found;
}

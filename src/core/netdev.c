/* linux.netDevices in raw rtnetlink: four kinds of message, no library.
 * The runtime does it from the host's network namespace, where the
 * devices are, once the container's init is in its own. */
#define _GNU_SOURCE
#include "netdev.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

/* runc's rule: 1..15 bytes, not . or .., no '/', ':' or blank */
static bool valid_ifname(const char *n)
{
	size_t l = strlen(n);
	if (l == 0 || l >= IFNAMSIZ || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
		return false;
	return strpbrk(n, "/: \t\n") == NULL;
}

int husk_netdevs_parse(json_t *obj, struct husk_spec *s, husk_error **err)
{
	if (!obj || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return husk_fail(err, 0, "linux.netDevices: must be an object");
	if (!json_object_size(obj))
		return 0;
	if (!s->ns[HUSK_NS_NET].enabled)
		return husk_fail(err, 0,
				 "linux.netDevices: needs a network namespace of the "
				 "container's (linux.namespaces has no \"network\")");
	if (geteuid() != 0)
		return husk_fail(err, EPERM, "linux.netDevices: not supported rootless");
	s->netdevs = calloc(json_object_size(obj) + 1, sizeof(*s->netdevs));
	const char *host;
	json_t *v;
	json_object_foreach (obj, host, v) {
		struct husk_netdev *d = &s->netdevs[s->n_netdevs++];
		d->host_name = strdup(host);
		if (!valid_ifname(host))
			return husk_fail(err, 0,
					 "linux.netDevices: \"%s\" is not an interface name", host);
		if (!json_is_object(v))
			return husk_fail(err, 0, "linux.netDevices.%s: must be an object", host);
		json_t *n = json_object_get(v, "name");
		if (n && !json_is_null(n) && !json_is_string(n))
			return husk_fail(err, 0, "linux.netDevices.%s.name: must be a string",
					 host);
		const char *name = json_string_value(n);
		if (!name || !*name)
			name = host;
		if (!valid_ifname(name))
			return husk_fail(err, 0,
					 "linux.netDevices.%s.name: \"%s\" is not an interface "
					 "name",
					 host, name);
		d->name = strdup(name);
	}
	/* two devices asking for one name would fail in the kernel halfway */
	for (size_t i = 0; i < s->n_netdevs; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(s->netdevs[i].name, s->netdevs[k].name) == 0 &&
			    !strstr(s->netdevs[i].name, "%d"))
				return husk_fail(err, 0,
						 "linux.netDevices: \"%s\" and \"%s\" are both to "
						 "be named \"%s\"",
						 s->netdevs[k].host_name, s->netdevs[i].host_name,
						 s->netdevs[i].name);
	return 0;
}

/* ---- rtnetlink, raw ---- */

struct nlreq {
	struct nlmsghdr h;
	char body[1024];
};

/* the end of the message, as a pointer into the whole request (not into
 * its header: GCC's -O3 then sees a write past the header's size) */
static void *nl_tail(struct nlreq *r)
{
	return (char *)r + NLMSG_ALIGN(r->h.nlmsg_len);
}

static void nl_put(struct nlreq *r, unsigned short type, const void *data, size_t len)
{
	/* the attributes husk puts are a few names and ids: never past the
	 * buffer, but a bug must not write beyond it */
	if (NLMSG_ALIGN(r->h.nlmsg_len) + RTA_SPACE(len) > sizeof(*r))
		abort();
	struct rtattr *a = nl_tail(r);
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static void nl_init(struct nlreq *r, unsigned short type, unsigned short flags, const void *hdr,
		    size_t hlen)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = NLM_F_REQUEST | flags;
	r->h.nlmsg_len = (unsigned)NLMSG_LENGTH(hlen);
	memcpy(NLMSG_DATA(&r->h), hdr, hlen);
}

/* Send and wait for the ack: 0 or -errno */
static int nl_talk(int fd, struct nlreq *r)
{
	r->h.nlmsg_flags |= NLM_F_ACK;
	if (send(fd, r, r->h.nlmsg_len, 0) < 0)
		return -errno;
	char buf[8192];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
		}
	}
}

typedef int (*nl_dump_fn)(struct nlmsghdr *h, void *ud);

static int nl_dump(int fd, struct nlreq *r, nl_dump_fn fn, void *ud)
{
	r->h.nlmsg_flags |= NLM_F_DUMP;
	if (send(fd, r, r->h.nlmsg_len, 0) < 0)
		return -errno;
	char buf[16384];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			int rr = fn(h, ud);
			if (rr < 0)
				return rr;
		}
	}
}

static int set_up(int fd, int ifindex, bool up)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC,
				.ifi_index = ifindex,
				.ifi_change = IFF_UP,
				.ifi_flags = up ? IFF_UP : 0};
	struct nlreq r;
	nl_init(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	return nl_talk(fd, &r);
}

/* the addresses to carry over */
struct addr {
	unsigned char family, prefixlen;
	unsigned char local[16], bcast[16];
	size_t len;
	bool has_bcast;
	uint32_t flags; /* IFA_F_NODAD and the like, kept */
};

struct addrs {
	int ifindex;
	struct addr *v;
	size_t n;
};

static int collect_addr(struct nlmsghdr *h, void *ud)
{
	struct addrs *as = ud;
	if (h->nlmsg_type != RTM_NEWADDR)
		return 0;
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	if ((int)ifa->ifa_index != as->ifindex)
		return 0;
	uint32_t flags = ifa->ifa_flags;
	const unsigned char *local = NULL, *address = NULL, *bcast = NULL;
	size_t alen = 0;
	int len = (int)IFA_PAYLOAD(h);
	for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFA_FLAGS && RTA_PAYLOAD(a) >= 4)
			memcpy(&flags, RTA_DATA(a), 4);
		else if (a->rta_type == IFA_LOCAL)
			local = RTA_DATA(a);
		else if (a->rta_type == IFA_ADDRESS) {
			address = RTA_DATA(a);
			alen = RTA_PAYLOAD(a);
		} else if (a->rta_type == IFA_BROADCAST)
			bcast = RTA_DATA(a);
	}
	/* RFC 3549 2.3.3.2, as the spec asks: permanent, global scope */
	if (!(flags & IFA_F_PERMANENT) || ifa->ifa_scope != RT_SCOPE_UNIVERSE)
		return 0;
	if (!address || (alen != 4 && alen != 16))
		return 0;
	as->v = realloc(as->v, (as->n + 1) * sizeof(*as->v));
	struct addr *ad = &as->v[as->n++];
	memset(ad, 0, sizeof(*ad));
	ad->family = ifa->ifa_family;
	ad->prefixlen = ifa->ifa_prefixlen;
	ad->len = alen;
	ad->flags = flags & (IFA_F_NODAD | IFA_F_NOPREFIXROUTE | IFA_F_HOMEADDRESS |
			     IFA_F_MANAGETEMPADDR | IFA_F_MCAUTOJOIN);
	memcpy(ad->local, local ? local : address, alen);
	if (bcast && alen == 4) {
		memcpy(ad->bcast, bcast, 4);
		ad->has_bcast = true;
	}
	return 0;
}

static int add_addr(int fd, int ifindex, const struct addr *ad)
{
	struct ifaddrmsg ifa = {.ifa_family = ad->family,
				.ifa_prefixlen = ad->prefixlen,
				.ifa_scope = RT_SCOPE_UNIVERSE,
				.ifa_index = (unsigned)ifindex};
	struct nlreq r;
	nl_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
	nl_put(&r, IFA_LOCAL, ad->local, ad->len);
	nl_put(&r, IFA_ADDRESS, ad->local, ad->len);
	if (ad->has_bcast)
		nl_put(&r, IFA_BROADCAST, ad->bcast, 4);
	if (ad->flags)
		nl_put(&r, IFA_FLAGS, &ad->flags, sizeof(ad->flags));
	int e = nl_talk(fd, &r);
	return e == -EEXIST ? 0 : e;
}

/* the links of a namespace, by index, to find the one that came in */
struct links {
	int *idx;
	char (*name)[IFNAMSIZ];
	size_t n;
};

static int collect_link(struct nlmsghdr *h, void *ud)
{
	struct links *ls = ud;
	if (h->nlmsg_type != RTM_NEWLINK)
		return 0;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	ls->idx = realloc(ls->idx, (ls->n + 1) * sizeof(*ls->idx));
	ls->name = realloc(ls->name, (ls->n + 1) * sizeof(*ls->name));
	ls->idx[ls->n] = ifi->ifi_index;
	ls->name[ls->n][0] = '\0';
	int len = (int)IFLA_PAYLOAD(h);
	for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_IFNAME)
			snprintf(ls->name[ls->n], IFNAMSIZ, "%s", (char *)RTA_DATA(a));
	ls->n++;
	return 0;
}

static int list_links(int fd, struct links *ls)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nlreq r;
	nl_init(&r, RTM_GETLINK, 0, &ifi, sizeof(ifi));
	return nl_dump(fd, &r, collect_link, ls);
}

static void links_free(struct links *ls)
{
	free(ls->idx);
	free(ls->name);
	memset(ls, 0, sizeof(*ls));
}

/* A netlink socket of the namespace nsfd: sockets keep the namespace they
 * were made in, so enter it, make one, and come back. */
static int socket_in_netns(int nsfd, husk_error **err)
{
	cleanup_close int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return husk_fail(err, errno, "open /proc/self/ns/net");
	if (setns(nsfd, CLONE_NEWNET) < 0)
		return husk_fail(err, errno, "enter the container's network namespace");
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int e = errno;
	if (setns(self, CLONE_NEWNET) < 0) {
		/* cannot happen short of a kernel bug; never go on in the
		 * wrong namespace */
		abort();
	}
	if (fd < 0)
		return husk_fail(err, e, "netlink socket in the container's network namespace");
	return fd;
}

static int move_one(int host, int ctr, int nsfd, const struct husk_netdev *d, husk_error **err)
{
	int ifindex = (int)if_nametoindex(d->host_name);
	if (!ifindex)
		return husk_fail(err, errno == ENXIO ? ENODEV : errno,
				 "linux.netDevices: interface \"%s\" on the host", d->host_name);
	unsigned flags = 0;
	{
		cleanup_close int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct ifreq ifr = {0};
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->host_name);
		if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0)
			flags = (unsigned short)ifr.ifr_flags;
	}
	/* the addresses before it goes down: IPv6 ones go with the carrier */
	struct addrs as = {.ifindex = ifindex};
	struct links before = {0}, after = {0};
	struct ifaddrmsg ifa = {.ifa_family = AF_UNSPEC};
	struct nlreq r;
	nl_init(&r, RTM_GETADDR, 0, &ifa, sizeof(ifa));
	int e = nl_dump(host, &r, collect_addr, &as);
	if (e == 0)
		e = list_links(ctr, &before);
	if (e < 0) {
		husk_fail(err, -e, "linux.netDevices: read the addresses of \"%s\"", d->host_name);
		goto out;
	}
	/* the spec's check before the move: the kernel moves first and fails
	 * the rename after, and the device would die with the container */
	for (size_t i = 0; !strstr(d->name, "%d") && i < before.n; i++)
		if (strcmp(before.name[i], d->name) == 0) {
			husk_fail_as(err, EEXIST,
				     "linux.netDevices: cannot move \"%s\" into the container: an "
				     "interface named \"%s\" exists there (end the name in %%d for "
				     "the kernel to number it)",
				     d->host_name, d->name);
			goto out;
		}
	/* then down, as runc does: nothing on the host keeps using it while
	 * it moves */
	e = set_up(host, ifindex, false);
	if (e < 0) {
		husk_fail(err, -e, "linux.netDevices: set \"%s\" down", d->host_name);
		goto out;
	}
	/* move and rename at once: a rename first could clash on the host, a
	 * rename after in the container */
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	nl_init(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	nl_put(&r, IFLA_IFNAME, d->name, strlen(d->name) + 1);
	uint32_t fd32 = (uint32_t)nsfd;
	nl_put(&r, IFLA_NET_NS_FD, &fd32, sizeof(fd32));
	e = nl_talk(host, &r);
	if (e < 0) {
		if (e == -EEXIST)
			husk_fail_as(err, EEXIST,
				     "linux.netDevices: move \"%s\" into the container: an "
				     "interface named \"%s\" exists there (end the name in %%d "
				     "for the kernel to number it)",
				     d->host_name, d->name);
		else
			husk_fail(err, -e,
				  "linux.netDevices: move \"%s\" into the container as "
				  "\"%s\"",
				  d->host_name, d->name);
		goto fail;
	}
	/* its index there: the one that was not there before */
	e = list_links(ctr, &after);
	int nidx = 0;
	const char *nname = d->name;
	for (size_t i = 0; e == 0 && i < after.n && !nidx; i++) {
		bool old = false;
		for (size_t k = 0; k < before.n; k++)
			old |= before.idx[k] == after.idx[i];
		if (!old) {
			nidx = after.idx[i];
			nname = after.name[i];
		}
	}
	if (!nidx) {
		husk_fail(err, e < 0 ? -e : ENODEV,
			  "linux.netDevices: find \"%s\" in the container after the move", d->name);
		goto out;
	}
	for (size_t i = 0; i < as.n; i++) {
		e = add_addr(ctr, nidx, &as.v[i]);
		if (e < 0) {
			char txt[64];
			inet_ntop(as.v[i].family, as.v[i].local, txt, sizeof(txt));
			husk_fail(err, -e, "linux.netDevices: add %s/%u to \"%s\" in the container",
				  txt, as.v[i].prefixlen, nname);
			goto out;
		}
	}
	e = set_up(ctr, nidx, true);
	if (e < 0) {
		husk_fail(err, -e, "linux.netDevices: set \"%s\" up in the container", nname);
		goto out;
	}
	free(as.v);
	links_free(&before);
	links_free(&after);
	return 0;
fail:
	/* still on the host: as it was */
	if (flags & IFF_UP)
		set_up(host, ifindex, true);
out:
	free(as.v);
	links_free(&before);
	links_free(&after);
	return -1;
}

int husk_netdevs_move(const struct husk_spec *s, pid_t pid, husk_error **err)
{
	if (!s->n_netdevs)
		return 0;
	cleanup_free char *p = husk_strdup_printf("/proc/%d/ns/net", (int)pid);
	cleanup_close int nsfd = open(p, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return husk_fail(err, errno, "linux.netDevices: open \"%s\"", p);
	cleanup_close int host = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (host < 0)
		return husk_fail(err, errno, "linux.netDevices: netlink socket");
	cleanup_close int ctr = socket_in_netns(nsfd, err);
	if (ctr < 0)
		return husk_error_wrap(err, "linux.netDevices");
	for (size_t i = 0; i < s->n_netdevs; i++)
		if (move_one(host, ctr, nsfd, &s->netdevs[i], err) < 0)
			return -1;
	return 0;
}

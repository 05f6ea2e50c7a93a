/* What the engine asks of husk's nft table at container speed, in raw
 * nfnetlink (no libmnl, no libnftables): is the table there, delete a
 * published port's element from a map, delete the table.
 *
 * Why not libnftables: loading it and its libraries, fetching the ruleset
 * cache and parsing costs some 15-20 ms a call here, which a `run --rm`
 * paid twice (create, delete); and the static monitor, which tears down
 * --rm containers, cannot link it.  Making the table with its rules stays
 * with libnftables (nft.c), once, when the first container needs it.
 *
 * The messages are the kernel's own (linux/netfilter/nf_tables.h); a
 * change is sent as a batch (NFNL_MSG_BATCH_BEGIN ... END), as the
 * nf_tables API requires. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net-private.h"
#include "util.h"

struct nlbuf {
	char b[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
	size_t len;
	uint32_t seq;
};

static struct nlmsghdr *msg_start(struct nlbuf *m, uint16_t type, uint16_t flags, uint8_t family,
				  uint16_t res_id)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(m->b + m->len);
	memset(h, 0, NLMSG_HDRLEN + sizeof(struct nfgenmsg));
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++m->seq;
	h->nlmsg_len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
	struct nfgenmsg *g = NLMSG_DATA(h);
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	return h;
}

static void msg_end(struct nlbuf *m, struct nlmsghdr *h)
{
	m->len += NLMSG_ALIGN(h->nlmsg_len);
}

static struct nlattr *attr_put(struct nlmsghdr *h, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + NLA_ALIGN(a->nla_len);
	return a;
}

static struct nlattr *nest_start(struct nlmsghdr *h, uint16_t type)
{
	return attr_put(h, type | NLA_F_NESTED, NULL, 0);
}

static void nest_end(struct nlmsghdr *h, struct nlattr *a)
{
	a->nla_len = (uint16_t)((char *)h + h->nlmsg_len - (char *)a);
}

static uint16_t nft_type(int msg)
{
	return (uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | msg);
}

/* Send m; 0 when every acknowledged message succeeded, else -errno of the
 * first that failed. */
static int talk(struct nlbuf *m)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	int r = 0;
	if (sendto(fd, m->b, m->len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto out;
	}
	/* the acks come back in order; the last asked is the last seq */
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				if (e->error && !r)
					r = e->error;
			}
			if (h->nlmsg_seq >= m->seq)
				goto out;
		}
	}
out:
	close(fd);
	return r;
}

static void batch_begin(struct nlbuf *m)
{
	msg_end(m, msg_start(m, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES));
}

/* the end message is not acknowledged: the last ack is the one before */
static int batch_send(struct nlbuf *m)
{
	uint32_t last = m->seq;
	msg_end(m, msg_start(m, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES));
	m->seq = last;
	return talk(m);
}

static int table_exists(uint8_t family)
{
	struct nlbuf m = {.len = 0};
	struct nlmsghdr *h = msg_start(&m, nft_type(NFT_MSG_GETTABLE), NLM_F_ACK, family, 0);
	attr_put(h, NFTA_TABLE_NAME, HUSK_NFT_TABLE, sizeof(HUSK_NFT_TABLE));
	msg_end(&m, h);
	int r = talk(&m);
	return r == 0 ? 1 : r == -ENOENT ? 0 : r;
}

int net_nfnl_table_exists(void)
{
	return table_exists(NFPROTO_IPV4);
}

int net_nfnl_table6_exists(void)
{
	return table_exists(NFPROTO_IPV6);
}

static int table_delete(uint8_t family)
{
	struct nlbuf m = {.len = 0};
	batch_begin(&m);
	struct nlmsghdr *h = msg_start(&m, nft_type(NFT_MSG_DELTABLE), NLM_F_ACK, family, 0);
	attr_put(h, NFTA_TABLE_NAME, HUSK_NFT_TABLE, sizeof(HUSK_NFT_TABLE));
	msg_end(&m, h);
	int r = batch_send(&m);
	return r == -ENOENT ? 0 : r;
}

int net_nfnl_table_delete(void)
{
	return table_delete(NFPROTO_IPV4);
}

int net_nfnl_table6_delete(void)
{
	return table_delete(NFPROTO_IPV6);
}

int net_nfnl_set_exists(const char *name)
{
	struct nlbuf m = {.len = 0};
	struct nlmsghdr *h = msg_start(&m, nft_type(NFT_MSG_GETSET), NLM_F_ACK, NFPROTO_IPV4, 0);
	attr_put(h, NFTA_SET_TABLE, HUSK_NFT_TABLE, sizeof(HUSK_NFT_TABLE));
	attr_put(h, NFTA_SET_NAME, name, strlen(name) + 1);
	msg_end(&m, h);
	int r = talk(&m);
	return r == 0 ? 1 : r == -ENOENT ? 0 : r;
}

static int chain_exists(uint8_t family, const char *name)
{
	struct nlbuf m = {.len = 0};
	struct nlmsghdr *h = msg_start(&m, nft_type(NFT_MSG_GETCHAIN), NLM_F_ACK, family, 0);
	attr_put(h, NFTA_CHAIN_TABLE, HUSK_NFT_TABLE, sizeof(HUSK_NFT_TABLE));
	attr_put(h, NFTA_CHAIN_NAME, name, strlen(name) + 1);
	msg_end(&m, h);
	int r = talk(&m);
	return r == 0 ? 1 : r == -ENOENT ? 0 : r;
}

int net_nfnl_chain_exists(const char *name)
{
	return chain_exists(NFPROTO_IPV4, name);
}

int net_nfnl_chain6_exists(const char *name)
{
	return chain_exists(NFPROTO_IPV6, name);
}

int net_nfnl_port_claimed(const char *set, unsigned short port)
{
	struct nlbuf m = {.len = 0};
	struct nlmsghdr *h =
		msg_start(&m, nft_type(NFT_MSG_GETSETELEM), NLM_F_ACK, NFPROTO_IPV4, 0);
	attr_put(h, NFTA_SET_ELEM_LIST_TABLE, HUSK_NFT_TABLE, sizeof(HUSK_NFT_TABLE));
	attr_put(h, NFTA_SET_ELEM_LIST_SET, set, strlen(set) + 1);
	struct nlattr *elems = nest_start(h, NFTA_SET_ELEM_LIST_ELEMENTS);
	struct nlattr *el = nest_start(h, NFTA_LIST_ELEM);
	struct nlattr *k = nest_start(h, NFTA_SET_ELEM_KEY);
	uint16_t be = htons(port);
	attr_put(h, NFTA_DATA_VALUE, &be, sizeof(be));
	nest_end(h, k);
	nest_end(h, el);
	nest_end(h, elems);
	msg_end(&m, h);
	int r = talk(&m);
	return r == 0 ? 1 : r == -ENOENT ? 0 : r;
}

static int elem_delete(uint8_t family, const char *map, const void *key, size_t len)
{
	struct nlbuf m = {.len = 0};
	batch_begin(&m);
	struct nlmsghdr *h = msg_start(&m, nft_type(NFT_MSG_DELSETELEM), NLM_F_ACK, family, 0);
	attr_put(h, NFTA_SET_ELEM_LIST_TABLE, HUSK_NFT_TABLE, sizeof(HUSK_NFT_TABLE));
	attr_put(h, NFTA_SET_ELEM_LIST_SET, map, strlen(map) + 1);
	struct nlattr *elems = nest_start(h, NFTA_SET_ELEM_LIST_ELEMENTS);
	struct nlattr *el = nest_start(h, NFTA_LIST_ELEM);
	struct nlattr *k = nest_start(h, NFTA_SET_ELEM_KEY);
	attr_put(h, NFTA_DATA_VALUE, key, len);
	nest_end(h, k);
	nest_end(h, el);
	nest_end(h, elems);
	msg_end(&m, h);
	int r = batch_send(&m);
	return r == -ENOENT ? 0 : r;
}

int net_nfnl_port_delete(const char *map, unsigned short port)
{
	/* an inet_service key: 2 bytes, network order */
	uint16_t be = htons(port);
	return elem_delete(NFPROTO_IPV4, map, &be, sizeof(be));
}

int net_nfnl_port6_delete(const char *map, unsigned short port)
{
	uint16_t be = htons(port);
	return elem_delete(NFPROTO_IPV6, map, &be, sizeof(be));
}

int net_nfnl_bind_delete(const char *map, struct in_addr addr, unsigned short port)
{
	/* ipv4_addr . inet_service: each in a 4-byte register, the port's
	 * 2 bytes first */
	unsigned char key[8] = {0};
	uint16_t be = htons(port);
	memcpy(key, &addr.s_addr, 4);
	memcpy(key + 4, &be, 2);
	return elem_delete(NFPROTO_IPV4, map, key, sizeof(key));
}

int net_nfnl_self_delete(struct in_addr addr)
{
	/* ipv4_addr . ipv4_addr: two 4-byte registers */
	unsigned char key[8];
	memcpy(key, &addr.s_addr, 4);
	memcpy(key + 4, &addr.s_addr, 4);
	return elem_delete(NFPROTO_IPV4, "selfs", key, sizeof(key));
}

int net_nfnl_self6_delete(const struct in6_addr *addr)
{
	unsigned char key[32];
	memcpy(key, addr, 16);
	memcpy(key + 16, addr, 16);
	return elem_delete(NFPROTO_IPV6, "selfs", key, sizeof(key));
}

int net_nfnl_bind6_delete(const char *map, const struct in6_addr *addr, unsigned short port)
{
	/* ipv6_addr . inet_service: 16 bytes, then the port's 2 in a 4-byte
	 * register */
	unsigned char key[20] = {0};
	uint16_t be = htons(port);
	memcpy(key, addr, 16);
	memcpy(key + 16, &be, 2);
	return elem_delete(NFPROTO_IPV6, map, key, sizeof(key));
}

/* IP address management: one lease per container and network, host-wide
 * (the bridges are the host's, whichever --runroot an engine uses), in
 * <state>/leases.json ({"10.89.0.2": "<id>"}), changed under an flock of
 * leases.lock and replaced atomically (a temp file exchanged with it), so
 * concurrent `husk run`s never hand out one address twice.  Subnets never
 * overlap (network.c refuses it), so an address names its network. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "net-private.h"
#include "util.h"

const char *husk_net_state_dir(void)
{
	const char *s = getenv("HUSK_NET_STATE");
	return s && *s ? s : "/run/husk-net";
}

int net_ipam_lock(const char *dir, husk_error **err)
{
	if (husk_mkdir_p(dir, 0700, err) < 0)
		return -1;
	cleanup_free char *lock = husk_strdup_printf("%s/leases.lock", dir);
	int fd = open(lock, O_RDWR | O_CLOEXEC | O_CREAT, 0600);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", lock);
	if (flock(fd, LOCK_EX) < 0) {
		int e = errno;
		close(fd);
		return husk_fail(err, e, "lock \"%s\"", lock);
	}
	return fd;
}

/* the lock held, the leases read (an empty object when none) */
static int leases_open(const char *dir, int *ret_lock, json_t **ret, husk_error **err)
{
	int fd = net_ipam_lock(dir, err);
	if (fd < 0)
		return -1;
	cleanup_free char *path = husk_strdup_printf("%s/leases.json", dir);
	json_error_t je;
	json_t *l = json_load_file(path, 0, &je);
	if (!l && access(path, F_OK) == 0) {
		close(fd);
		return husk_fail(err, EINVAL, "read \"%s\": %s", path, je.text);
	}
	*ret = l ? l : json_object();
	*ret_lock = fd;
	return 0;
}

static int leases_write(const char *dir, json_t *l, husk_error **err)
{
	cleanup_free char *path = husk_strdup_printf("%s/leases.json", dir);
	cleanup_free char *text = json_dumps(l, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return husk_fail(err, ENOMEM, "write \"%s\"", path);
	return husk_write_file_swap(path, text, strlen(text), 0600, err);
}

static void ntoa(uint32_t h, char s[INET_ADDRSTRLEN])
{
	struct in_addr a = {htonl(h)};
	inet_ntop(AF_INET, &a, s, INET_ADDRSTRLEN);
}

int net_ipam_alloc(const char *dir, const struct net_pool *p, uint32_t want, const char *id,
		   struct in_addr *ret, husk_error **err)
{
	uint32_t mask = p->prefix ? 0xffffffffu << (32 - p->prefix) : 0;
	uint32_t bcast = p->net | ~mask;
	char s[INET_ADDRSTRLEN];
	if (want && ((want & mask) != p->net || want == p->net || want == bcast || want == p->gw)) {
		char n[INET_ADDRSTRLEN];
		ntoa(want, s);
		ntoa(p->net, n);
		return husk_fail_as(err, EINVAL,
				    "address \"%s\" is not one for a container in %s/%d", s, n,
				    p->prefix);
	}
	int lock;
	json_t *l;
	if (leases_open(dir, &lock, &l, err) < 0)
		return husk_error_wrap(err, "allocate an address");
	int r = -1;
	/* an address id holds already in this subnet is id's again (a start
	 * after a reboot that left the host's state, a setup repeated) */
	const char *k;
	json_t *v;
	json_object_foreach (l, k, v) {
		struct in_addr held;
		if (strcmp(json_string_value(v) ?: "", id) == 0 &&
		    inet_pton(AF_INET, k, &held) == 1 && (ntohl(held.s_addr) & mask) == p->net &&
		    (!want || ntohl(held.s_addr) == want)) {
			*ret = held;
			r = 0;
			goto out;
		}
	}
	if (want) {
		ntoa(want, s);
		if (json_object_get(l, s)) {
			husk_fail_as(err, EADDRINUSE, "address \"%s\" is already in use", s);
			goto out;
		}
		json_object_set_new(l, s, json_string(id));
		if ((r = leases_write(dir, l, err)) == 0)
			ret->s_addr = htonl(want);
		goto out;
	}
	/* the lowest free one of the range, never the network, the gateway
	 * or the broadcast address */
	for (uint32_t h = p->lo; h <= p->hi && h != 0; h++) {
		if (h == p->net || h == bcast || h == p->gw)
			continue;
		ntoa(h, s);
		if (json_object_get(l, s))
			continue;
		json_object_set_new(l, s, json_string(id));
		if ((r = leases_write(dir, l, err)) == 0)
			ret->s_addr = htonl(h);
		goto out;
	}
	ntoa(p->net, s);
	husk_fail_as(err, ENOSPC, "allocate an address: %s/%d is full", s, p->prefix);
out:
	json_decref(l);
	close(lock);
	return r;
}

int net_ipam_alloc6(const char *dir, const struct in6_addr *net, int prefix,
		    const struct in6_addr *gw, const struct in6_addr *want, const char *id,
		    struct in6_addr *ret, husk_error **err)
{
	char s[INET6_ADDRSTRLEN];
	/* the prefix's bits equal */
	struct in6_addr mask = {0};
	for (int b = 0; b < prefix; b++)
		mask.s6_addr[b / 8] |= (unsigned char)(0x80 >> (b % 8));
	if (want) {
		/* in the subnet, and neither its first address (the subnet
		 * router anycast, RFC 4291) nor the gateway */
		bool in = true, zero_host = true;
		for (int b = 0; b < 16; b++) {
			in &= (want->s6_addr[b] & mask.s6_addr[b]) ==
			      (net->s6_addr[b] & mask.s6_addr[b]);
			zero_host &= (want->s6_addr[b] & ~mask.s6_addr[b]) == 0;
		}
		if (!in || zero_host || memcmp(want, gw, sizeof(*want)) == 0) {
			char n[INET6_ADDRSTRLEN];
			inet_ntop(AF_INET6, want, s, sizeof(s));
			inet_ntop(AF_INET6, net, n, sizeof(n));
			return husk_fail_as(err, EINVAL,
					    "address \"%s\" is not one for a container in %s/%d", s,
					    n, prefix);
		}
	}
	int lock;
	json_t *l;
	if (leases_open(dir, &lock, &l, err) < 0)
		return husk_error_wrap(err, "allocate an IPv6 address");
	int r = -1;
	const char *k;
	json_t *v;
	json_object_foreach (l, k, v) {
		struct in6_addr held;
		bool in = inet_pton(AF_INET6, k, &held) == 1;
		for (int b = 0; in && b < 16; b++)
			in = (held.s6_addr[b] & mask.s6_addr[b]) ==
			     (net->s6_addr[b] & mask.s6_addr[b]);
		if (in && strcmp(json_string_value(v) ?: "", id) == 0 &&
		    (!want || memcmp(&held, want, sizeof(held)) == 0)) {
			*ret = held;
			r = 0;
			goto out;
		}
	}
	if (want) {
		/* the text inet_ntop gives, as every lease is keyed */
		inet_ntop(AF_INET6, want, s, sizeof(s));
		if (json_object_get(l, s)) {
			husk_fail_as(err, EADDRINUSE, "address \"%s\" is already in use", s);
			goto out;
		}
		json_object_set_new(l, s, json_string(id));
		if ((r = leases_write(dir, l, err)) == 0)
			*ret = *want;
		goto out;
	}
	/* the host part counts from 2 in the last 32 bits: enough for
	 * any bridge */
	uint32_t room = prefix >= 128 ? 1 : prefix > 96 ? (1u << (128 - prefix)) - 1 : 0xfffffffeu;
	for (uint32_t h = 2; h < room; h++) {
		struct in6_addr a = *net;
		uint32_t be = htonl(h);
		for (int b = 0; b < 4; b++)
			a.s6_addr[12 + b] |= ((unsigned char *)&be)[b];
		if (memcmp(&a, gw, sizeof(a)) == 0)
			continue;
		inet_ntop(AF_INET6, &a, s, sizeof(s));
		if (json_object_get(l, s))
			continue;
		json_object_set_new(l, s, json_string(id));
		if ((r = leases_write(dir, l, err)) == 0)
			*ret = a;
		goto out;
	}
	husk_fail_as(err, ENOSPC, "allocate an IPv6 address: the subnet is full");
out:
	json_decref(l);
	close(lock);
	return r;
}

int net_ipam_release(const char *dir, const char *id, const char *ip, void (*when_none)(void),
		     husk_error **err)
{
	cleanup_free char *path = husk_strdup_printf("%s/leases.json", dir);
	if (access(path, F_OK) < 0)
		return 0;
	int lock;
	json_t *l;
	if (leases_open(dir, &lock, &l, err) < 0)
		return husk_error_wrap(err, "release the address of \"%.12s\"", id);
	const char *k;
	json_t *v;
	void *tmp;
	bool changed = false;
	json_object_foreach_safe(l, tmp, k, v)
	{
		if (strcmp(json_string_value(v) ?: "", id) == 0 && (!ip || strcmp(ip, k) == 0)) {
			json_object_del(l, k);
			changed = true;
		}
	}
	int r = changed ? leases_write(dir, l, err) : 0;
	if (r == 0 && changed && when_none && json_object_size(l) == 0)
		when_none();
	json_decref(l);
	close(lock);
	return r;
}

int net_ipam_count(const char *dir)
{
	cleanup_free char *path = husk_strdup_printf("%s/leases.json", dir);
	json_t *l = json_load_file(path, 0, NULL);
	int n = (int)json_object_size(l);
	json_decref(l);
	return n;
}

char **net_ipam_in(const char *dir, uint32_t net, int prefix)
{
	cleanup_free char *path = husk_strdup_printf("%s/leases.json", dir);
	json_t *l = json_load_file(path, 0, NULL);
	uint32_t mask = prefix ? 0xffffffffu << (32 - prefix) : 0;
	char **v = NULL;
	size_t n = 0;
	const char *k;
	json_t *id;
	json_object_foreach (l, k, id) {
		struct in_addr a;
		if (inet_pton(AF_INET, k, &a) == 1 && (ntohl(a.s_addr) & mask) == net)
			husk_strv_push(&v, &n,
				       husk_strdup_printf("%s %s", k, json_string_value(id) ?: ""));
	}
	json_decref(l);
	if (!v && !(v = calloc(1, sizeof(*v))))
		abort();
	return v;
}

/* Networks: the default bridge (husk0, 10.89.0.0/16, built in) and the
 * user-defined ones, each a bridge of its own, stored per engine in
 * <root>/networks/<name>.json and changed under <root>/networks/lock.
 *
 * A subnet must overlap neither another network of this engine nor any
 * route of the host (which covers other engines' networks, their bridges
 * being up with their addresses): the kernel would route one of the two
 * wrong.  Without --subnet, husk takes the first free /24 of 10.90.0.0/15
 * (10.90.0.0 - 10.91.255.0), as Docker takes from its pools.
 *
 * The record is written before the bridge is made and removed after it
 * is deleted, so a crash in between leaves a network that `husk network
 * rm` removes. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "net-private.h"
#include "util.h"

int husk_net_parse_cidr(const char *s, uint32_t *ret_net, int *ret_prefix)
{
	char ip[INET_ADDRSTRLEN];
	unsigned int prefix;
	int n = 0;
	struct in_addr a;
	if (sscanf(s, "%15[0-9.]/%2u%n", ip, &prefix, &n) != 2 || s[n] || prefix > 32 ||
	    inet_pton(AF_INET, ip, &a) != 1)
		return -EINVAL;
	*ret_net = ntohl(a.s_addr);
	*ret_prefix = (int)prefix;
	return 0;
}

static uint32_t mask_of(int prefix)
{
	return prefix ? 0xffffffffu << (32 - prefix) : 0;
}

static bool overlap(uint32_t a, int pa, uint32_t b, int pb)
{
	int p = pa < pb ? pa : pb;
	return (a & mask_of(p)) == (b & mask_of(p));
}

static char *ntoa(uint32_t h)
{
	struct in_addr a = {htonl(h)};
	char s[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &a, s, sizeof(s));
	return strdup(s);
}

static int check_subnet6(const char *what, const char *s, struct in6_addr *net, int *prefix,
			 husk_error **err);

/* The default bridge: IPv4 only, unless <root>/engine.json says, with
 * the keys of Docker's daemon.json, {"ipv6": true, "fixed-cidr-v6":
 * "fd00:89::/64"}: then IPv6 too, on that subnet, the gateway its ::1.
 * EINVAL for a file that is not JSON or a bad subnet. */
static int default_network(const char *root, struct husk_network *n, husk_error **err)
{
	*n = (struct husk_network){.name = strdup(HUSK_NET_DEFAULT),
				   .id = strdup(""),
				   .bridge = strdup(HUSK_NET_BRIDGE),
				   .subnet = strdup(HUSK_NET_SUBNET),
				   .gateway = strdup(HUSK_NET_GATEWAY)};
	n->labels = calloc(1, sizeof(char *));
	cleanup_free char *path = husk_strdup_printf("%s/engine.json", root);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	if (!j) {
		if (access(path, F_OK) < 0)
			return 0;
		return husk_fail_as(err, EINVAL, "\"%s\": %s", path, je.text);
	}
	int r = 0;
	json_t *on = json_object_get(j, "ipv6");
	const char *cidr = json_string_value(json_object_get(j, "fixed-cidr-v6"));
	struct in6_addr net;
	int prefix;
	if (on && !json_is_boolean(on)) {
		r = husk_fail_as(err, EINVAL, "\"%s\": \"ipv6\" is true or false", path);
	} else if (json_is_true(on) && !cidr) {
		r = husk_fail_as(err, EINVAL,
				 "\"%s\": \"ipv6\" needs \"fixed-cidr-v6\" (fd00:89::/64)", path);
	} else if (json_is_true(on)) {
		if (check_subnet6("\"fixed-cidr-v6\"", cidr, &net, &prefix, err) < 0) {
			r = husk_error_wrap(err, "\"%s\"", path);
		} else {
			char a[INET6_ADDRSTRLEN];
			inet_ntop(AF_INET6, &net, a, sizeof(a));
			n->subnet6 = husk_strdup_printf("%s/%d", a, prefix);
			net.s6_addr[15] |= 1;
			inet_ntop(AF_INET6, &net, a, sizeof(a));
			n->gateway6 = strdup(a);
		}
	}
	json_decref(j);
	return r;
}

void husk_network_release(struct husk_network *n)
{
	free(n->name);
	free(n->id);
	free(n->bridge);
	free(n->subnet);
	free(n->gateway);
	free(n->ip_range);
	free(n->subnet6);
	free(n->gateway6);
	for (char **l = n->labels; l && *l; l++)
		free(*l);
	free(n->labels);
	*n = (struct husk_network){0};
}

void husk_network_list_free(struct husk_network *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		husk_network_release(&v[i]);
	free(v);
}

static int from_json(json_t *j, struct husk_network *n)
{
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *subnet = json_string_value(json_object_get(j, "subnet"));
	const char *bridge = json_string_value(json_object_get(j, "bridge"));
	const char *gw = json_string_value(json_object_get(j, "gateway"));
	if (!name || !subnet || !bridge || !gw)
		return -1;
	const char *range = json_string_value(json_object_get(j, "ip_range"));
	const char *s6 = json_string_value(json_object_get(j, "subnet6"));
	const char *g6 = json_string_value(json_object_get(j, "gateway6"));
	*n = (struct husk_network){
		.name = strdup(name),
		.id = strdup(json_string_value(json_object_get(j, "id")) ?: ""),
		.bridge = strdup(bridge),
		.subnet = strdup(subnet),
		.gateway = strdup(gw),
		.ip_range = range ? strdup(range) : NULL,
		.subnet6 = s6 && g6 ? strdup(s6) : NULL,
		.gateway6 = s6 && g6 ? strdup(g6) : NULL,
		.internal = json_is_true(json_object_get(j, "internal")),
		.mtu = (int)json_integer_value(json_object_get(j, "mtu")),
		.created_ns = json_integer_value(json_object_get(j, "created")),
	};
	size_t nl = 0;
	n->labels = calloc(1, sizeof(char *));
	const char *k;
	json_t *v;
	json_object_foreach (json_object_get(j, "labels"), k, v)
		husk_strv_push(&n->labels, &nl,
			       husk_strdup_printf("%s=%s", k, json_string_value(v) ?: ""));
	return 0;
}

static json_t *to_json(const struct husk_network *n)
{
	json_t *labels = json_object();
	for (char **l = n->labels; l && *l; l++) {
		char *eq = strchr(*l, '=');
		cleanup_free char *k = eq ? strndup(*l, (size_t)(eq - *l)) : strdup(*l);
		json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
	}
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:i, s:I, s:o}", "name", n->name,
			      "id", n->id, "bridge", n->bridge, "subnet", n->subnet, "gateway",
			      n->gateway, "internal", n->internal, "mtu", n->mtu, "created",
			      (json_int_t)n->created_ns, "labels", labels);
	if (n->ip_range)
		json_object_set_new(j, "ip_range", json_string(n->ip_range));
	if (n->subnet6) {
		json_object_set_new(j, "subnet6", json_string(n->subnet6));
		json_object_set_new(j, "gateway6", json_string(n->gateway6));
	}
	return j;
}

static int lock_networks(const char *root, husk_error **err)
{
	cleanup_free char *dir = husk_strdup_printf("%s/networks", root);
	if (husk_mkdir_p(dir, 0700, err) < 0)
		return -1;
	cleanup_free char *p = husk_strdup_printf("%s/lock", dir);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return husk_fail(err, e, "lock \"%s\"", p);
	}
	return fd;
}

static int load_file(const char *path, struct husk_network *ret)
{
	json_t *j = json_load_file(path, 0, NULL);
	int r = j ? from_json(j, ret) : -1;
	json_decref(j);
	return r;
}

int husk_network_list(const char *root, struct husk_network **ret, size_t *ret_n, husk_error **err)
{
	size_t n = 1;
	struct husk_network *v = calloc(1, sizeof(*v));
	if (!v)
		abort();
	if (default_network(root, &v[0], err) < 0) {
		husk_network_list_free(v, n);
		return -1;
	}
	cleanup_free char *dir = husk_strdup_printf("%s/networks", root);
	struct dirent **ents = NULL;
	int k = scandir(dir, &ents, NULL, alphasort);
	for (int i = 0; i < k; i++) {
		size_t len = strlen(ents[i]->d_name);
		if (len > 5 && strcmp(ents[i]->d_name + len - 5, ".json") == 0) {
			cleanup_free char *p = husk_strdup_printf("%s/%s", dir, ents[i]->d_name);
			struct husk_network one;
			if (load_file(p, &one) == 0) {
				v = realloc(v, (n + 1) * sizeof(*v));
				if (!v)
					abort();
				v[n++] = one;
			}
		}
		free(ents[i]);
	}
	free(ents);
	*ret = v;
	*ret_n = n;
	return 0;
}

int husk_network_get(const char *root, const char *name, struct husk_network *ret, husk_error **err)
{
	struct husk_network *v;
	size_t n;
	if (husk_network_list(root, &v, &n, err) < 0)
		return -1;
	int found = -1;
	/* the name, else an id prefix of 3 or more that is unique */
	for (size_t i = 0; i < n && found < 0; i++)
		if (strcmp(v[i].name, name) == 0)
			found = (int)i;
	for (size_t i = 0; i < n && found < 0 && strlen(name) >= 3; i++)
		if (*v[i].id && strncmp(v[i].id, name, strlen(name)) == 0)
			found = (int)i;
	if (found < 0) {
		husk_network_list_free(v, n);
		return husk_fail_as(err, ENOENT, "network \"%s\" not found", name);
	}
	*ret = v[found];
	v[found] = (struct husk_network){0};
	husk_network_list_free(v, n);
	return 0;
}

struct route_check {
	uint32_t net;
	int prefix;
	char *hit;
};

static int route_overlaps(uint32_t dst, int prefix, const char *dev, void *arg)
{
	struct route_check *c = arg;
	if (!overlap(dst, prefix, c->net, c->prefix))
		return 0;
	if (!c->hit) {
		cleanup_free char *d = ntoa(dst);
		c->hit = husk_strdup_printf("the host's route %s/%d%s%s", d, prefix,
					    *dev ? " on " : "", dev);
	}
	return 1;
}

/* NULL when free, else what it overlaps */
static char *overlaps(const struct husk_network *v, size_t n, uint32_t net, int prefix)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t o;
		int op;
		if (husk_net_parse_cidr(v[i].subnet, &o, &op) == 0 && overlap(o, op, net, prefix))
			return husk_strdup_printf("network \"%s\" (%s)", v[i].name, v[i].subnet);
	}
	struct route_check c = {.net = net, .prefix = prefix};
	net_routes_each(route_overlaps, &c, NULL);
	return c.hit;
}

static int make_bridge(const struct husk_network *n, husk_error **err);

int husk_net_parse_cidr6(const char *s, struct in6_addr *ret_net, int *ret_prefix)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned int prefix;
	int n = 0;
	if (sscanf(s, "%45[0-9a-fA-F:.]/%3u%n", ip, &prefix, &n) != 2 || s[n] || prefix > 128 ||
	    inet_pton(AF_INET6, ip, ret_net) != 1)
		return -EINVAL;
	*ret_prefix = (int)prefix;
	return 0;
}

static bool in6_prefix(const struct in6_addr *a, const struct in6_addr *net, int prefix)
{
	for (int b = 0; b < prefix; b++) {
		unsigned char m = (unsigned char)(0x80 >> (b % 8));
		if ((a->s6_addr[b / 8] & m) != (net->s6_addr[b / 8] & m))
			return false;
	}
	return true;
}

/* An IPv6 subnet: a /48 to a /120 without host bits; what names the
 * setting in the message */
static int check_subnet6(const char *what, const char *s, struct in6_addr *net, int *prefix,
			 husk_error **err)
{
	if (husk_net_parse_cidr6(s, net, prefix) < 0 || *prefix < 48 || *prefix > 120)
		return husk_fail_as(err, EINVAL,
				    "%s \"%s\": expected an IPv6 CIDR such as fd00:1::/64 "
				    "(prefix 48 to 120)",
				    what, s);
	struct in6_addr masked = {0};
	for (int b = 0; b < *prefix; b++)
		masked.s6_addr[b / 8] |= net->s6_addr[b / 8] & (unsigned char)(0x80 >> (b % 8));
	if (memcmp(&masked, net, sizeof(*net)) != 0)
		return husk_fail_as(err, EINVAL, "%s \"%s\": host bits set", what, s);
	return 0;
}

/* --ipv6: the subnet (a /48 to a /120 without host bits, overlapping no
 * other network's) and its gateway (given, or the subnet's ::1) */
static int parse_subnet6(const struct husk_network_opts *o, const struct husk_network *v, size_t nv,
			 char sub6[INET6_ADDRSTRLEN + 8], char gw6s[INET6_ADDRSTRLEN],
			 husk_error **err)
{
	struct in6_addr net, gw;
	int prefix;
	if (!o->subnet6)
		return husk_fail_as(err, EINVAL, "--ipv6 needs an IPv6 --subnet (fd00:1::/64)");
	if (check_subnet6("--subnet", o->subnet6, &net, &prefix, err) < 0)
		return -1;
	for (size_t i = 0; i < nv; i++) {
		struct in6_addr on;
		int op;
		if (v[i].subnet6 && husk_net_parse_cidr6(v[i].subnet6, &on, &op) == 0 &&
		    (in6_prefix(&on, &net, prefix) || in6_prefix(&net, &on, op)))
			return husk_fail_as(err, EINVAL,
					    "--subnet \"%s\" overlaps network \"%s\" (%s)",
					    o->subnet6, v[i].name, v[i].subnet6);
	}
	gw = net;
	gw.s6_addr[15] |= 1;
	if (o->gateway6 && (inet_pton(AF_INET6, o->gateway6, &gw) != 1 ||
			    !in6_prefix(&gw, &net, prefix) || memcmp(&gw, &net, sizeof(gw)) == 0))
		return husk_fail_as(err, EINVAL,
				    "--gateway \"%s\": not a host address of the subnet",
				    o->gateway6);
	char a[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &net, a, sizeof(a));
	snprintf(sub6, INET6_ADDRSTRLEN + 8, "%s/%d", a, prefix);
	inet_ntop(AF_INET6, &gw, gw6s, INET6_ADDRSTRLEN);
	return 0;
}

int husk_network_create(const char *root, const struct husk_network_opts *o,
			struct husk_network *ret, husk_error **err)
{
	size_t len = strlen(o->name);
	bool ok = len > 0 && len <= 64;
	for (size_t i = 0; ok && i < len; i++) {
		char ch = o->name[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		     (ch >= '0' && ch <= '9') || (i > 0 && (ch == '_' || ch == '.' || ch == '-'));
	}
	if (!ok)
		return husk_fail_as(
			err, EINVAL,
			"invalid network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
			"allowed",
			o->name);
	static const char *reserved[] = {HUSK_NET_DEFAULT, "host", "none", "default"};
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (strcmp(o->name, reserved[i]) == 0)
			return husk_fail_as(err, EEXIST, "network name \"%s\" is reserved",
					    o->name);
	if (o->mtu && (o->mtu < 68 || o->mtu > 65535))
		return husk_fail_as(err, EINVAL, "mtu %d: expected 68 to 65535", o->mtu);
	int lock = lock_networks(root, err);
	if (lock < 0)
		return -1;
	cleanup_free char *nets = NULL, *path = NULL, *text = NULL;
	struct husk_network *v = NULL, n = {0};
	size_t nv = 0;
	int r = -1;
	husk_network_list(root, &v, &nv, NULL);
	for (size_t i = 0; i < nv; i++)
		if (strcmp(v[i].name, o->name) == 0) {
			husk_fail_as(err, EEXIST, "network with name \"%s\" already exists",
				     o->name);
			goto out;
		}
	uint32_t net = 0, gw = 0;
	int prefix = 24;
	if (o->subnet) {
		if (husk_net_parse_cidr(o->subnet, &net, &prefix) < 0 || prefix < 8 ||
		    prefix > 30) {
			husk_fail_as(err, EINVAL,
				     "--subnet \"%s\": expected an IPv4 CIDR such as "
				     "10.90.1.0/24 (prefix 8 to 30)",
				     o->subnet);
			goto out;
		}
		if (net & ~mask_of(prefix)) {
			cleanup_free char *a = ntoa(net & mask_of(prefix));
			husk_fail_as(err, EINVAL,
				     "--subnet \"%s\": host bits set (did you mean %s/%d?)",
				     o->subnet, a, prefix);
			goto out;
		}
		cleanup_free char *hit = overlaps(v, nv, net, prefix);
		if (hit) {
			husk_fail_as(err, EINVAL, "--subnet \"%s\" overlaps %s", o->subnet, hit);
			goto out;
		}
	} else {
		/* the first free /24 of 10.90.0.0/15 */
		bool found = false;
		for (uint32_t c = 0x0a5a0000u; c < 0x0a5c0000u && !found; c += 0x100) {
			cleanup_free char *hit = overlaps(v, nv, c, 24);
			if (!hit) {
				net = c;
				found = true;
			}
		}
		if (!found) {
			husk_fail_as(err, ENOSPC,
				     "no free subnet left in 10.90.0.0/15: give --subnet");
			goto out;
		}
	}
	uint32_t bcast = net | ~mask_of(prefix);
	gw = net + 1;
	if (o->gateway) {
		struct in_addr a;
		if (inet_pton(AF_INET, o->gateway, &a) != 1 ||
		    (ntohl(a.s_addr) & mask_of(prefix)) != net || ntohl(a.s_addr) == net ||
		    ntohl(a.s_addr) == bcast) {
			husk_fail_as(err, EINVAL,
				     "--gateway \"%s\": not a host address of the subnet",
				     o->gateway);
			goto out;
		}
		gw = ntohl(a.s_addr);
	}
	if (o->ip_range) {
		uint32_t rn;
		int rp;
		if (husk_net_parse_cidr(o->ip_range, &rn, &rp) < 0 || rp < prefix ||
		    (rn & mask_of(prefix)) != net || (rn & ~mask_of(rp))) {
			husk_fail_as(err, EINVAL, "--ip-range \"%s\": not a CIDR inside the subnet",
				     o->ip_range);
			goto out;
		}
	}
	char sub6[INET6_ADDRSTRLEN + 8] = "", gw6s[INET6_ADDRSTRLEN] = "";
	if (o->ipv6 && parse_subnet6(o, v, nv, sub6, gw6s, err) < 0)
		goto out;
	unsigned char b[32];
	if (getrandom(b, sizeof(b), 0) != sizeof(b)) {
		husk_fail(err, errno, "getrandom");
		goto out;
	}
	char id[65];
	for (int i = 0; i < 32; i++)
		snprintf(id + i * 2, 3, "%02x", b[i]);
	nets = ntoa(net);
	n = (struct husk_network){
		.name = strdup(o->name),
		.id = strdup(id),
		.bridge = husk_strdup_printf("%s-%.10s", o->internal ? "hbi" : "hbr", id),
		.subnet = husk_strdup_printf("%s/%d", nets, prefix),
		.gateway = ntoa(gw),
		.ip_range = o->ip_range ? strdup(o->ip_range) : NULL,
		.subnet6 = o->ipv6 ? strdup(sub6) : NULL,
		.gateway6 = o->ipv6 ? strdup(gw6s) : NULL,
		.internal = o->internal,
		.mtu = o->mtu,
		.created_ns = (int64_t)time(NULL) * 1000000000LL,
	};
	size_t nl = 0;
	n.labels = calloc(1, sizeof(char *));
	for (char **l = o->labels; l && *l; l++)
		husk_strv_push(&n.labels, &nl, strdup(*l));
	path = husk_strdup_printf("%s/networks/%s.json", root, o->name);
	json_t *j = to_json(&n);
	text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	if (husk_write_file_atomic(path, text, strlen(text), 0600, err) < 0)
		goto out;
	if (make_bridge(&n, err) < 0) {
		net_link_del(n.bridge, NULL);
		unlink(path);
		goto out;
	}
	*ret = n;
	n = (struct husk_network){0};
	r = 0;
out:
	husk_network_release(&n);
	husk_network_list_free(v, nv);
	close(lock);
	return r < 0 ? husk_error_wrap(err, "create network \"%s\"", o->name) : 0;
}

/* Is the sysctl at path "1"? */
static bool sysctl_on(const char *path)
{
	char cur[2] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!read(fd, cur, 1);
		close(fd);
	}
	return cur[0] == '1';
}

/* The bridge up with the gateway's address; loopback sources may be
 * routed into it (published ports from the host's loopback, nft.c);
 * forwarding on for a network with a way out, as Docker does.  Up last:
 * a bridge found up has the rest, and costs a container one RTM_GETLINK
 * (and the look at forwarding, which someone may have turned off). */
static int make_bridge(const struct husk_network *n, husk_error **err)
{
	uint32_t net;
	int prefix;
	struct in_addr gw;
	if (husk_net_parse_cidr(n->subnet, &net, &prefix) < 0 ||
	    inet_pton(AF_INET, n->gateway, &gw) != 1)
		return husk_fail_as(err, EINVAL, "network \"%s\": bad subnet", n->name);
	int up = net_bridge_ensure(n->bridge, gw, prefix, n->mtu, err);
	if (up < 0)
		return -1;
	/* its IPv6 address even on a bridge found up: the default bridge gets
	 * one only from an engine whose engine.json asks for IPv6, and
	 * another engine may have made it */
	if (n->subnet6) {
		struct in6_addr net6, gw6;
		int p6;
		if (husk_net_parse_cidr6(n->subnet6, &net6, &p6) < 0 ||
		    inet_pton(AF_INET6, n->gateway6, &gw6) != 1)
			return husk_fail_as(err, EINVAL, "network \"%s\": bad IPv6 subnet",
					    n->name);
		if (net_bridge_addr6(n->bridge, &gw6, p6, err) < 0)
			return -1;
	}
	/* IPv6 forwarding, as Docker turns it on for an IPv6 network */
	static const char fwd6[] = "/proc/sys/net/ipv6/conf/all/forwarding";
	if (n->subnet6 && !n->internal && !sysctl_on(fwd6) &&
	    husk_write_file(fwd6, "1", 1, 0, err) < 0)
		return husk_error_wrap(err, "enable IPv6 forwarding");
	if (!up) {
		cleanup_free char *rl =
			husk_strdup_printf("/proc/sys/net/ipv4/conf/%s/route_localnet", n->bridge);
		if (husk_write_file(rl, "1", 1, 0, err) < 0)
			return -1;
	}
	static const char fwd[] = "/proc/sys/net/ipv4/ip_forward";
	if (!n->internal && !sysctl_on(fwd) && husk_write_file(fwd, "1", 1, 0, err) < 0)
		return husk_error_wrap(err, "enable IPv4 forwarding");
	return up ? 0 : net_bridge_up(n->bridge, err);
}

int net_network_bridge(const struct husk_network *n, husk_error **err)
{
	return make_bridge(n, err);
}

char **husk_network_endpoints(const struct husk_network *n)
{
	uint32_t net;
	int prefix;
	if (husk_net_parse_cidr(n->subnet, &net, &prefix) < 0)
		return calloc(1, sizeof(char *));
	return net_ipam_in(husk_net_state_dir(), net, prefix);
}

int husk_network_rm(const char *root, const char *name, husk_error **err)
{
	struct husk_network n;
	/* Docker's predefined networks, which are modes here, not networks */
	if (strcmp(name, "host") == 0 || strcmp(name, "none") == 0)
		return husk_fail_as(err, EPERM, "network \"%s\" is built in and cannot be removed",
				    name);
	if (husk_network_get(root, name, &n, err) < 0)
		return -1;
	int r = -1;
	int lock = -1;
	cleanup_free char *names = NULL, *path = NULL;
	if (!*n.id) {
		/* one line, as for host and none: nothing to wrap */
		husk_fail_as(err, EPERM, "network \"%s\" is built in and cannot be removed",
			     n.name);
		husk_network_release(&n);
		return -1;
	}
	lock = lock_networks(root, err);
	if (lock < 0)
		goto out;
	char **eps = husk_network_endpoints(&n);
	bool busy = eps[0] != NULL;
	for (char **e = eps; *e; e++)
		free(*e);
	free(eps);
	if (busy) {
		husk_fail_as(err, EBUSY, "network \"%s\" has active endpoints", n.name);
		goto out;
	}
	if (net_link_del(n.bridge, err) < 0)
		goto out;
	names = husk_strdup_printf("%s/names/%s", husk_net_state_dir(), n.bridge);
	unlink(names);
	path = husk_strdup_printf("%s/networks/%s.json", root, n.name);
	if (unlink(path) < 0 && errno != ENOENT) {
		husk_fail(err, errno, "remove \"%s\"", path);
		goto out;
	}
	r = 0;
out:
	if (lock >= 0)
		close(lock);
	if (r < 0)
		husk_error_wrap(err, "remove network \"%s\"", n.name ? n.name : name);
	husk_network_release(&n);
	return r;
}

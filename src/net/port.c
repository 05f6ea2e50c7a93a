/* -p, --expose and --mac-address as Docker takes them: pure, so that the
 * fuzzer and the unit tests take them alone. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "util.h"

/* "80" or "80-82": 1 to 65535, lo <= hi; "" is empty_ok's */
static int port_range(const char *s, size_t len, unsigned *lo, unsigned *hi)
{
	char buf[16];
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	int n = 0;
	if (sscanf(buf, "%5u%n", lo, &n) != 1 || buf[0] < '0' || buf[0] > '9')
		return -1;
	*hi = *lo;
	if (buf[n] == '-') {
		int m = 0;
		if (buf[n + 1] < '0' || buf[n + 1] > '9' ||
		    sscanf(buf + n + 1, "%5u%n", hi, &m) != 1)
			return -1;
		n += 1 + m;
	}
	return buf[n] || !*lo || *hi > 65535 || *lo > *hi ? -1 : 0;
}

/* the "/tcp" or "/udp" at the end of s, cut off; -1 for another */
static int proto_of(char *s)
{
	char *slash = strchr(s, '/');
	if (!slash)
		return IPPROTO_TCP;
	*slash = '\0';
	if (strcmp(slash + 1, "tcp") == 0)
		return IPPROTO_TCP;
	if (strcmp(slash + 1, "udp") == 0)
		return IPPROTO_UDP;
	return -1;
}

int husk_net_parse_publish(const char *s, struct husk_net_port **v, size_t *n, husk_error **err)
{
	static const char usage[] =
		"-p \"%s\": expected [IP:][HOSTPORT[-END]:]CONTAINERPORT[-END][/tcp|/udp]";
	cleanup_free char *b = strdup(s);
	if (!b)
		abort();
	int proto = proto_of(b);
	if (proto < 0)
		return husk_fail_as(err, EINVAL, usage, s);
	/* IP:HOST:CTR, HOST:CTR or CTR; IP an IPv6 address in brackets
	 * ([::1]:8080:80) or, as Docker's splitParts, without (::1:8080:80:
	 * the last two fields are the ports) */
	char *parts[3] = {NULL};
	int k = 0;
	char *ports = b;
	if (b[0] == '[') {
		char *close = strchr(b, ']');
		if (!close || close == b + 1 || close[1] != ':')
			return husk_fail_as(err, EINVAL, usage, s);
		*close = '\0';
		parts[k++] = b + 1;
		ports = close + 2;
	} else {
		size_t colons = 0;
		for (char *c = b; *c; c++)
			colons += *c == ':';
		if (colons > 2) {
			char *c = strrchr(b, ':');
			*c = '\0';
			char *h = strrchr(b, ':');
			*c = ':';
			*h = '\0';
			parts[k++] = b;
			ports = h + 1;
		}
	}
	for (char *p = ports; k < 3; k++) {
		parts[k] = p;
		char *c = strchr(p, ':');
		if (!c) {
			k++;
			break;
		}
		*c = '\0';
		p = c + 1;
		if (k == 2)
			return husk_fail_as(err, EINVAL, usage, s);
	}
	const char *ip = k == 3 ? parts[0] : "";
	const char *host = k >= 2 ? parts[k - 2] : "";
	const char *ctr = parts[k - 1];
	unsigned char a[sizeof(struct in6_addr)];
	if (*ip && inet_pton(AF_INET, ip, a) != 1 && inet_pton(AF_INET6, ip, a) != 1)
		return husk_fail_as(err, EINVAL, "-p \"%s\": \"%s\" is not an IP address", s, ip);
	/* as written by inet_ntop: one spelling of an address (its key in
	 * the table, its undo line) */
	char canon[INET6_ADDRSTRLEN] = "";
	if (*ip)
		inet_ntop(strchr(ip, ':') ? AF_INET6 : AF_INET, a, canon, sizeof(canon));
	ip = canon;
	unsigned clo, chi, hlo = 0, hhi = 0;
	if (port_range(ctr, strlen(ctr), &clo, &chi) < 0 ||
	    (*host && port_range(host, strlen(host), &hlo, &hhi) < 0) || (k == 2 && !*host))
		return husk_fail_as(err, EINVAL, usage, s);
	/* as Docker's ParsePortSpec: two ranges of one size, or a host
	 * range for one container port (one free port of it) */
	if (*host && hhi - hlo != chi - clo && chi != clo)
		return husk_fail_as(err, EINVAL,
				    "-p \"%s\": the host and container port ranges differ in size",
				    s);
	*v = realloc(*v, (*n + (chi - clo) + 1) * sizeof(**v));
	if (!*v)
		abort();
	for (unsigned c = clo; c <= chi; c++) {
		struct husk_net_port p = {.ctr = (unsigned short)c, .proto = proto};
		snprintf(p.host_ip, sizeof(p.host_ip), "%s", ip);
		if (*host && chi == clo && hhi != hlo) {
			p.host = (unsigned short)hlo;
			p.host_end = (unsigned short)hhi;
		} else if (*host) {
			p.host = (unsigned short)(hlo + (c - clo));
		}
		(*v)[(*n)++] = p;
	}
	return 0;
}

int husk_net_parse_port(const char *s, struct husk_net_port *ret, husk_error **err)
{
	struct husk_net_port *v = NULL;
	size_t n = 0;
	if (husk_net_parse_publish(s, &v, &n, NULL) < 0 || n != 1 || !v[0].host || v[0].host_end) {
		free(v);
		return husk_fail_as(err, EINVAL,
				    "-p \"%s\": expected [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]",
				    s);
	}
	*ret = v[0];
	free(v);
	return 0;
}

int husk_net_parse_expose(const char *s, char ***v, size_t *n, husk_error **err)
{
	cleanup_free char *b = strdup(s);
	if (!b)
		abort();
	int proto = proto_of(b);
	unsigned lo, hi;
	if (proto < 0 || port_range(b, strlen(b), &lo, &hi) < 0)
		return husk_fail_as(err, EINVAL, "--expose \"%s\": expected PORT[-END][/tcp|/udp]",
				    s);
	for (unsigned p = lo; p <= hi; p++)
		husk_strv_push(
			v, n, husk_strdup_printf("%u/%s", p, proto == IPPROTO_UDP ? "udp" : "tcp"));
	return 0;
}

int husk_net_parse_mac(const char *s, unsigned char ret[6])
{
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return -EINVAL;
	for (int i = 0; i < 6; i++)
		ret[i] = (unsigned char)strtoul((char[3]){s[i * 3], s[i * 3 + 1], 0}, NULL, 16);
	if ((ret[0] & 1) || !(ret[0] | ret[1] | ret[2] | ret[3] | ret[4] | ret[5]))
		return -EINVAL;
	return 0;
}

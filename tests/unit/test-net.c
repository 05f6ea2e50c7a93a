/* The engine's network bookkeeping: -p parsing and the address leases. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "net-private.h"
#include "net.h"

static void test_parse_port(void **state)
{
	(void)state;
	struct husk_net_port p;
	husk_error *err = NULL;
	assert_int_equal(husk_net_parse_port("8080:80", &p, &err), 0);
	assert_int_equal(p.host, 8080);
	assert_int_equal(p.ctr, 80);
	assert_int_equal(p.proto, IPPROTO_TCP);
	assert_int_equal(husk_net_parse_port("53:5353/udp", &p, &err), 0);
	assert_int_equal(p.proto, IPPROTO_UDP);
	assert_int_equal(p.host, 53);
	assert_int_equal(husk_net_parse_port("65535:1/tcp", &p, &err), 0);
	static const char *bad[] = {"80",	"8080:",    ":80",	    "0:80",	"80:0",
				    "65536:80", "80:65536", "8080:80/sctp", "8080:80/", "a:b",
				    "8080:80x", "-1:80",    "8080:80/tcpx", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_true(husk_net_parse_port(bad[i], &p, &err) < 0);
		assert_non_null(err);
		/* the error names what was given */
		char want[64];
		snprintf(want, sizeof(want), "\"%s\"", bad[i]);
		assert_non_null(strstr(err->msg, want));
		husk_error_free(err);
	}
}

static void test_parse_publish(void **state)
{
	(void)state;
	struct husk_net_port *v = NULL;
	size_t n = 0;
	husk_error *err = NULL;
	/* a range of both sides: one port each */
	assert_int_equal(husk_net_parse_publish("8000-8002:80-82/udp", &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[2].host, 8002);
	assert_int_equal(v[2].ctr, 82);
	assert_int_equal(v[2].proto, IPPROTO_UDP);
	assert_string_equal(v[0].host_ip, "");
	/* a host range for one container port: one port, picked in it */
	assert_int_equal(husk_net_parse_publish("9000-9010:80", &v, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(v[3].host, 9000);
	assert_int_equal(v[3].host_end, 9010);
	/* an address; an address and no host port; the port alone */
	assert_int_equal(husk_net_parse_publish("127.0.0.1:8080:80", &v, &n, &err), 0);
	assert_string_equal(v[4].host_ip, "127.0.0.1");
	assert_int_equal(v[4].host, 8080);
	assert_int_equal(husk_net_parse_publish("127.0.0.1::80", &v, &n, &err), 0);
	assert_int_equal(v[5].host, 0);
	assert_int_equal(husk_net_parse_publish("53/udp", &v, &n, &err), 0);
	assert_int_equal(v[6].host, 0);
	assert_int_equal(v[6].ctr, 53);
	/* 0.0.0.0: every IPv4 address only, as Docker's (not IPv6 too) */
	assert_int_equal(husk_net_parse_publish("0.0.0.0:1:2", &v, &n, &err), 0);
	assert_string_equal(v[7].host_ip, "0.0.0.0");
	/* IPv6 addresses in brackets, or bare as Docker's splitParts takes
	 * them (the last two fields the ports), written as inet_ntop does */
	assert_int_equal(husk_net_parse_publish("[::1]:8080:80", &v, &n, &err), 0);
	assert_string_equal(v[8].host_ip, "::1");
	assert_int_equal(v[8].host, 8080);
	assert_int_equal(v[8].ctr, 80);
	assert_int_equal(husk_net_parse_publish("[::]::53/udp", &v, &n, &err), 0);
	assert_string_equal(v[9].host_ip, "::");
	assert_int_equal(v[9].host, 0);
	assert_int_equal(v[9].proto, IPPROTO_UDP);
	assert_int_equal(husk_net_parse_publish("fd00:0:0::1:8080:80", &v, &n, &err), 0);
	assert_string_equal(v[10].host_ip, "fd00::1");
	assert_int_equal(v[10].host, 8080);
	assert_int_equal(n, 11);
	static const char *bad[] = {"8000-8002:80-81",
				    "8002-8000:80",
				    "80-",
				    "-80",
				    "1.2.3:80:80",
				    ":80",
				    "0:80",
				    "80:0",
				    "8080:80/sctp",
				    "1.2.3.4:80",
				    "65536:1",
				    "a:b:c:d",
				    "[::1:80:80",
				    "[::1]80:80",
				    "[fd00::zz]:80:80",
				    "[::1]:80",
				    ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_true(husk_net_parse_publish(bad[i], &v, &n, &err) < 0);
		assert_int_equal(err->errnum, EINVAL);
		husk_error_free(err);
	}
	assert_int_equal(n, 11); /* nothing added by a refused one */
	free(v);
	/* the record's form: an address is kept */
	struct husk_net_port p;
	assert_int_equal(husk_net_parse_port("127.0.0.2:53:53/udp", &p, &err), 0);
	assert_string_equal(p.host_ip, "127.0.0.2");
	assert_int_equal(p.proto, IPPROTO_UDP);
	/* and an IPv6 one, in brackets (the two halves of -p 80:80 on an
	 * IPv6 network) */
	assert_int_equal(husk_net_parse_port("[::]:8080:80/tcp", &p, &err), 0);
	assert_string_equal(p.host_ip, "::");
	assert_int_equal(p.host, 8080);
	assert_int_equal(husk_net_parse_port("0.0.0.0:8080:80/tcp", &p, &err), 0);
	assert_string_equal(p.host_ip, "0.0.0.0");
}

static void test_parse_expose_mac(void **state)
{
	(void)state;
	char **v = NULL;
	size_t n = 0;
	husk_error *err = NULL;
	assert_int_equal(husk_net_parse_expose("80", &v, &n, &err), 0);
	assert_int_equal(husk_net_parse_expose("7000-7001/udp", &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "80/tcp");
	assert_string_equal(v[2], "7001/udp");
	assert_null(v[3]);
	static const char *bad[] = {"0", "90-80", "80/sctp", "x", "", "65536"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_true(husk_net_parse_expose(bad[i], &v, &n, &err) < 0);
		husk_error_free(err);
	}
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	unsigned char mac[6];
	assert_int_equal(husk_net_parse_mac("02:42:AC:11:00:02", mac), 0);
	assert_int_equal(mac[2], 0xac);
	static const char *badmac[] = {"01:00:5e:00:00:01", "00:00:00:00:00:00",
				       "02:42:ac:11:00",    "02:42:ac:11:00:0g",
				       "02-42-ac-11-00-02", "02:42:ac:11:00:02:"};
	for (size_t i = 0; i < sizeof(badmac) / sizeof(badmac[0]); i++)
		assert_true(husk_net_parse_mac(badmac[i], mac) < 0);
}

static void test_ipam(void **state)
{
	(void)state;
	char dir[] = "/tmp/husk-ipam.XXXXXX";
	assert_non_null(mkdtemp(dir));
	husk_error *err = NULL;
	struct in_addr a, b, c, d, e;
	char s[INET_ADDRSTRLEN];
	/* 10.89.0.0/16, gateway .1 */
	struct net_pool p = {.net = 0x0a590000,
			     .prefix = 16,
			     .gw = 0x0a590001,
			     .lo = 0x0a590000,
			     .hi = 0x0a59ffff};
	assert_int_equal(net_ipam_alloc(dir, &p, 0, "aaa", &a, &err), 0);
	assert_int_equal(net_ipam_alloc(dir, &p, 0, "bbb", &b, &err), 0);
	assert_int_equal(net_ipam_alloc(dir, &p, 0, "ccc", &c, &err), 0);
	/* the gateway is .1: the first lease is .2, then the next ones */
	assert_string_equal(inet_ntop(AF_INET, &a, s, sizeof(s)), "10.89.0.2");
	assert_string_equal(inet_ntop(AF_INET, &b, s, sizeof(s)), "10.89.0.3");
	assert_string_equal(inet_ntop(AF_INET, &c, s, sizeof(s)), "10.89.0.4");
	assert_int_equal(net_ipam_count(dir), 3);
	/* a released address is the lowest free one again */
	assert_int_equal(net_ipam_release(dir, "bbb", NULL, NULL, &err), 0);
	assert_int_equal(net_ipam_count(dir), 2);
	assert_int_equal(net_ipam_alloc(dir, &p, 0, "ddd", &d, &err), 0);
	assert_int_equal(d.s_addr, b.s_addr);
	/* a chosen address: taken, outside, the gateway, the broadcast */
	assert_int_equal(net_ipam_alloc(dir, &p, 0x0a590a0a, "eee", &e, &err), 0);
	assert_string_equal(inet_ntop(AF_INET, &e, s, sizeof(s)), "10.89.10.10");
	uint32_t bad[] = {0x0a590a0a, 0x0a5a0002, 0x0a590001, 0x0a59ffff, 0x0a590000};
	int want[] = {EADDRINUSE, EINVAL, EINVAL, EINVAL, EINVAL};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_true(net_ipam_alloc(dir, &p, bad[i], "fff", &e, &err) < 0);
		assert_int_equal(err->errnum, want[i]);
		husk_error_free(err);
	}
	err = NULL;
	/* a range: .128/25 of a /24 starts at .128 */
	struct net_pool r = {.net = 0x0a5a0100,
			     .prefix = 24,
			     .gw = 0x0a5a0101,
			     .lo = 0x0a5a0180,
			     .hi = 0x0a5a01ff};
	assert_int_equal(net_ipam_alloc(dir, &r, 0, "ggg", &e, &err), 0);
	assert_string_equal(inet_ntop(AF_INET, &e, s, sizeof(s)), "10.90.1.128");
	/* the leases of one subnet */
	char **in = net_ipam_in(dir, 0x0a5a0100, 24);
	assert_non_null(in[0]);
	assert_string_equal(in[0], "10.90.1.128 ggg");
	assert_null(in[1]);
	free(in[0]);
	free(in);
	/* one address of a container, then all of them */
	assert_int_equal(net_ipam_alloc(dir, &r, 0, "aaa", &e, &err), 0);
	assert_int_equal(net_ipam_release(dir, "aaa", "10.90.1.129", NULL, &err), 0);
	assert_int_equal(net_ipam_count(dir), 5);
	assert_int_equal(net_ipam_release(dir, "aaa", NULL, NULL, &err), 0);
	assert_int_equal(net_ipam_release(dir, "ccc", NULL, NULL, &err), 0);
	assert_int_equal(net_ipam_release(dir, "ddd", NULL, NULL, &err), 0);
	assert_int_equal(net_ipam_release(dir, "eee", NULL, NULL, &err), 0);
	assert_int_equal(net_ipam_release(dir, "ggg", NULL, NULL, &err), 0);
	assert_int_equal(net_ipam_count(dir), 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* The resolver's tables: removing a container rewrites only the tables
 * it was in (the resolver rereads each table that changes), and a table
 * left with no container goes */
static void test_names(void **state)
{
	(void)state;
	char dir[] = "/tmp/husk-names.XXXXXX";
	assert_non_null(mkdtemp(dir));
	setenv("HUSK_NET_STATE", dir, 1);
	husk_error *err = NULL;
	const char *web[] = {"web", NULL}, *db[] = {"db", NULL}, *other[] = {"other", NULL};
	assert_int_equal(husk_names_add("hbr-a", "10.90.0.1", "aaa", "10.90.0.2", "", web, &err),
			 0);
	assert_int_equal(husk_names_add("hbr-a", "10.90.0.1", "bbb", "10.90.0.3", "", db, &err), 0);
	assert_int_equal(husk_names_add("hbr-b", "10.90.1.1", "ccc", "10.90.1.2", "", other, &err),
			 0);
	char a[256], b[256];
	snprintf(a, sizeof(a), "%s/names/hbr-a", dir);
	snprintf(b, sizeof(b), "%s/names/hbr-b", dir);
	struct stat sa, sb, now;
	assert_int_equal(stat(a, &sa), 0);
	assert_int_equal(stat(b, &sb), 0);
	/* aaa is on hbr-a only: hbr-b stays the same file */
	assert_int_equal(husk_names_remove(NULL, "aaa", &err), 0);
	assert_int_equal(stat(b, &now), 0);
	assert_int_equal(now.st_ino, sb.st_ino);
	assert_int_equal(stat(a, &now), 0);
	assert_int_not_equal(now.st_ino, sa.st_ino);
	/* a container on none of them: nothing written */
	sa = now;
	assert_int_equal(husk_names_remove(NULL, "zzz", &err), 0);
	assert_int_equal(stat(a, &now), 0);
	assert_int_equal(now.st_ino, sa.st_ino);
	assert_int_equal(stat(b, &now), 0);
	assert_int_equal(now.st_ino, sb.st_ino);
	/* the last of a table: the table goes */
	assert_int_equal(husk_names_remove("hbr-b", "ccc", &err), 0);
	assert_int_equal(stat(b, &now), -1);
	assert_int_equal(husk_names_remove(NULL, "bbb", &err), 0);
	assert_int_equal(stat(a, &now), -1);
	unsetenv("HUSK_NET_STATE");
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_cidr(void **state)
{
	(void)state;
	uint32_t n;
	int p;
	assert_int_equal(husk_net_parse_cidr("10.90.1.0/24", &n, &p), 0);
	assert_int_equal(n, 0x0a5a0100);
	assert_int_equal(p, 24);
	static const char *bad[] = {
		"10.90.1.0", "10.90.1.0/33", "10.90.1/24", "a/24", "10.90.1.0/24x", "/24", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(husk_net_parse_cidr(bad[i], &n, &p) < 0);
}

/* --network-egress-rate / --network-ingress-rate: tc's units */
static void test_parse_rate(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t bits;
	} good[] = {{"10mbit", 10000000},	   {"512kbit", 512000}, {"1gbit", 1000000000},
		    {"1.5Mbit", 1500000},	   {"8bit", 8},		{"2mbps", 16000000},
		    {"1mibit", 1048576},	   {"100KBIT", 100000}, {"0.5gbit", 500000000},
		    {"1000tbit", 1000000000000000}};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t b = 0;
		husk_error *err = NULL;
		assert_int_equal(husk_net_parse_rate("--r", good[i].s, &b, &err), 0);
		assert_true(b == good[i].bits);
	}
	static const struct {
		const char *s;
		int errnum;
	} bad[] = {{"10", EINVAL},	{"mbit", EINVAL},     {"", EINVAL},
		   {"-1mbit", EINVAL},	{"0x10mbit", EINVAL}, {"1e3mbit", EINVAL},
		   {"10 mbit", EINVAL}, {"10mbits", EINVAL},  {"inf", EINVAL},
		   {"0mbit", ERANGE},	{"7bit", ERANGE},     {"9000tbit", ERANGE}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t b = 0;
		husk_error *err = NULL;
		assert_true(husk_net_parse_rate("--r", bad[i].s, &b, &err) < 0);
		assert_non_null(err);
		assert_int_equal(err->errnum, bad[i].errnum);
		husk_error_free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_port),
		cmocka_unit_test(test_parse_publish),
		cmocka_unit_test(test_parse_expose_mac),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_parse_rate),
		cmocka_unit_test(test_ipam),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

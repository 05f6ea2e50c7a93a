/* The engine's network bookkeeping: -p parsing and the address leases. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void test_ipam(void **state)
{
	(void)state;
	char dir[] = "/tmp/husk-ipam.XXXXXX";
	assert_non_null(mkdtemp(dir));
	husk_error *err = NULL;
	struct in_addr a, b, c, d;
	char s[INET_ADDRSTRLEN];
	assert_int_equal(net_ipam_alloc(dir, "aaa", &a, &err), 0);
	assert_int_equal(net_ipam_alloc(dir, "bbb", &b, &err), 0);
	assert_int_equal(net_ipam_alloc(dir, "ccc", &c, &err), 0);
	/* the gateway is .1: the first lease is .2, then the next ones */
	assert_string_equal(inet_ntop(AF_INET, &a, s, sizeof(s)), "10.89.0.2");
	assert_string_equal(inet_ntop(AF_INET, &b, s, sizeof(s)), "10.89.0.3");
	assert_string_equal(inet_ntop(AF_INET, &c, s, sizeof(s)), "10.89.0.4");
	assert_int_equal(net_ipam_count(dir), 3);
	/* a released address is the lowest free one again */
	assert_int_equal(net_ipam_release(dir, "bbb", &err), 0);
	assert_int_equal(net_ipam_count(dir), 2);
	assert_int_equal(net_ipam_alloc(dir, "ddd", &d, &err), 0);
	assert_int_equal(d.s_addr, b.s_addr);
	assert_int_equal(net_ipam_release(dir, "aaa", &err), 0);
	assert_int_equal(net_ipam_release(dir, "ccc", &err), 0);
	assert_int_equal(net_ipam_release(dir, "ddd", &err), 0);
	assert_int_equal(net_ipam_count(dir), 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_port),
		cmocka_unit_test(test_ipam),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

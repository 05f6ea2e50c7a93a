/* The resolver's DNS wire subset (src/net/dnswire.h). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dnswire.h"

/* "web" A IN, id 0x1234, RD, as nslookup sends it, with an EDNS OPT
 * record after the question */
static const uint8_t query[] = {0x12, 0x34, 0x01, 0x00, 0,   1, 0, 0, 0, 0, 0,
				1,    3,    'W',  'e',	'b', 0, 0, 1, 0, 1, /* question */
				0,    0,    41,	  0x10, 0,   0, 0, 0, 0, 0, 0};

static void test_parse(void **state)
{
	(void)state;
	struct dns_question q;
	assert_int_equal(dns_parse_query(query, sizeof(query), &q), 0);
	assert_string_equal(q.name, "web"); /* lower case */
	assert_int_equal(q.qtype, DNS_TYPE_A);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_int_equal(q.end, 21);
	/* two labels */
	static const uint8_t two[] = {0,   1,	0, 0,	0,   1,	  0,   0, 0, 0,	 0, 0, 2,
				      'd', 'b', 4, 'c', 'o', 'r', 'p', 0, 0, 28, 0, 1};
	assert_int_equal(dns_parse_query(two, sizeof(two), &q), 0);
	assert_string_equal(q.name, "db.corp");
	assert_int_equal(q.qtype, DNS_TYPE_AAAA);
}

static void test_refused(void **state)
{
	(void)state;
	struct dns_question q;
	uint8_t m[sizeof(query)];
	/* short */
	assert_int_equal(dns_parse_query(query, 11, &q), -1);
	/* truncated in the name, in the type */
	assert_int_equal(dns_parse_query(query, 14, &q), -1);
	assert_int_equal(dns_parse_query(query, 19, &q), -1);
	/* an answer (QR set) */
	memcpy(m, query, sizeof(m));
	m[2] |= 0x80;
	assert_int_equal(dns_parse_query(m, sizeof(m), &q), -1);
	/* two questions */
	memcpy(m, query, sizeof(m));
	m[5] = 2;
	assert_int_equal(dns_parse_query(m, sizeof(m), &q), -1);
	/* a compression pointer in the question */
	memcpy(m, query, sizeof(m));
	m[12] = 0xc0;
	assert_int_equal(dns_parse_query(m, sizeof(m), &q), -1);
	/* a label running past the end */
	memcpy(m, query, sizeof(m));
	m[12] = 60;
	assert_int_equal(dns_parse_query(m, 30, &q), -1);
}

static void test_answer(void **state)
{
	(void)state;
	struct dns_question q;
	assert_int_equal(dns_parse_query(query, sizeof(query), &q), 0);
	uint32_t addrs[2];
	inet_pton(AF_INET, "10.90.0.2", &addrs[0]);
	inet_pton(AF_INET, "10.90.0.3", &addrs[1]);
	uint8_t out[512];
	size_t n = dns_build_answer(query, &q, DNS_RCODE_OK, addrs, 2, out, sizeof(out));
	assert_int_equal(n, 21 + 2 * 16);
	assert_int_equal(out[0], 0x12); /* the id */
	assert_int_equal(out[1], 0x34);
	assert_int_equal(out[2], 0x85); /* QR AA RD */
	assert_int_equal(out[3], 0x80); /* RA, NOERROR */
	assert_int_equal(out[5], 1);	/* one question */
	assert_int_equal(out[7], 2);	/* two answers */
	assert_int_equal(out[9] | out[11], 0);
	assert_memory_equal(out + 12, query + 12, 9); /* the question */
	/* a pointer to the name, A, IN, TTL 0, 4 bytes, the address */
	static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 90, 0, 2};
	assert_memory_equal(out + 21, rr, sizeof(rr));
	assert_int_equal(out[21 + 16 + 15], 3);
	/* no room: 0 */
	assert_int_equal(dns_build_answer(query, &q, 0, addrs, 2, out, 30), 0);
	/* SERVFAIL, no record */
	n = dns_build_answer(query, &q, DNS_RCODE_SERVFAIL, NULL, 0, out, sizeof(out));
	assert_int_equal(n, 21);
	assert_int_equal(out[3] & 0x0f, DNS_RCODE_SERVFAIL);
	assert_int_equal(out[7], 0);
}

static void test_answer6(void **state)
{
	(void)state;
	struct dns_question q;
	assert_int_equal(dns_parse_query(query, sizeof(query), &q), 0);
	uint8_t addrs[1][16];
	inet_pton(AF_INET6, "fd00:93:70::2", addrs[0]);
	uint8_t out[512];
	size_t n = dns_build_answer6(query, &q, DNS_RCODE_OK, (const uint8_t(*)[16])addrs, 1, out,
				     sizeof(out));
	assert_int_equal(n, 21 + 12 + 16);
	assert_int_equal(out[7], 1);
	/* a pointer to the name, AAAA, IN, TTL 0, 16 bytes, the address */
	static const uint8_t rr[] = {0xc0, 0x0c, 0, 28, 0, 1, 0, 0, 0, 0, 0, 16};
	assert_memory_equal(out + 21, rr, sizeof(rr));
	assert_memory_equal(out + 33, addrs[0], 16);
	assert_int_equal(dns_build_answer6(query, &q, 0, (const uint8_t(*)[16])addrs, 1, out, 40),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_answer6),
		cmocka_unit_test(test_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

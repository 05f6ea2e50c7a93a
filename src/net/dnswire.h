/* The DNS wire format, the subset the resolver of user-defined networks
 * needs (RFC 1035 4.1), by hand: no Debian library fits a static binary
 * of this size (ldns and c-ares are resolvers with their own event loops,
 * and neither parses a query to answer it).
 *
 * What is handled:
 *   - a query: a 12-byte header with QR 0, QDCOUNT 1, and one question
 *     of uncompressed labels (1-63 bytes each, 253 in all), QTYPE and
 *     QCLASS; what follows the question (an EDNS OPT record) is ignored
 *   - an answer to it: the header (ID and RD copied, QR AA RA set, the
 *     rcode given), the question copied, and A records (class IN, TTL 0,
 *     so that no client caches a name past its container) whose owner is
 *     a pointer to the question's name, or AAAA records the same way
 * What is not: compression in a query's question, several questions,
 * answers other than A and AAAA (the rest: NOERROR with no record, or the
 * query forwarded), EDNS in answers, DNSSEC.  Everything else goes to
 * the host's resolvers untouched. */
#ifndef HUSK_DNSWIRE_H
#define HUSK_DNSWIRE_H

#include <stddef.h>
#include <stdint.h>

#define DNS_TYPE_A	   1
#define DNS_TYPE_AAAA	   28
#define DNS_TYPE_ANY	   255
#define DNS_CLASS_IN	   1
#define DNS_RCODE_OK	   0
#define DNS_RCODE_FORMERR  1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3

struct dns_question {
	char name[256]; /* lower case, dotted, no final dot ("" for the root) */
	uint16_t qtype, qclass;
	size_t end; /* the offset just past the question */
};

/* 0, or -1 when msg is not a query of the subset above */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_question *ret);
/* The answer to query (its question q) with n A records of addrs
 * (network order) in out; its length, or 0 when cap is too small. */
size_t dns_build_answer(const uint8_t *query, const struct dns_question *q, int rcode,
			const uint32_t *addrs, size_t n, uint8_t *out, size_t cap);

/* The same with n AAAA records */
size_t dns_build_answer6(const uint8_t *query, const struct dns_question *q, int rcode,
			 const uint8_t (*addrs)[16], size_t n, uint8_t *out, size_t cap);

#endif

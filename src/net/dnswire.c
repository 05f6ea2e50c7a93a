/* The DNS wire subset of dnswire.h. */
#include <string.h>

#include "dnswire.h"

int dns_parse_query(const uint8_t *msg, size_t len, struct dns_question *ret)
{
	if (len < 12)
		return -1;
	/* QR must be 0 (a query), one question */
	if ((msg[2] & 0x80) || msg[4] != 0 || msg[5] != 1)
		return -1;
	size_t p = 12, n = 0;
	for (;;) {
		if (p >= len)
			return -1;
		uint8_t l = msg[p++];
		if (l == 0)
			break;
		if (l > 63 || p + l > len || n + l + 1 > 254)
			return -1; /* a pointer (0xc0) or too long */
		if (n)
			ret->name[n++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			char c = (char)msg[p + i];
			ret->name[n++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
		}
		p += l;
	}
	ret->name[n] = '\0';
	if (p + 4 > len)
		return -1;
	ret->qtype = (uint16_t)(msg[p] << 8 | msg[p + 1]);
	ret->qclass = (uint16_t)(msg[p + 2] << 8 | msg[p + 3]);
	ret->end = p + 4;
	return 0;
}

/* the answer's header and question, then n records of type with
 * len-byte addresses */
static size_t build(const uint8_t *query, const struct dns_question *q, int rcode, uint8_t type,
		    const uint8_t *addrs, size_t len, size_t n, uint8_t *out, size_t cap)
{
	size_t need = q->end + n * (12 + len);
	if (cap < need || n > 0xffff)
		return 0;
	memcpy(out, query, q->end);
	out[2] = (uint8_t)(0x80 | (query[2] & 0x79) | 0x04); /* QR, opcode, AA, RD */
	out[3] = (uint8_t)(0x80 | (rcode & 0x0f));	     /* RA, rcode */
	out[6] = (uint8_t)(n >> 8);
	out[7] = (uint8_t)n;
	memset(out + 8, 0, 4); /* no authority, no additional */
	size_t p = q->end;
	for (size_t i = 0; i < n; i++) {
		const uint8_t rr[] = {0xc0, 0x0c, 0, type, 0, DNS_CLASS_IN,
				      0,    0,	  0, 0,	   0, (uint8_t)len};
		memcpy(out + p, rr, sizeof(rr));
		memcpy(out + p + sizeof(rr), addrs + i * len, len);
		p += sizeof(rr) + len;
	}
	return p;
}

size_t dns_build_answer(const uint8_t *query, const struct dns_question *q, int rcode,
			const uint32_t *addrs, size_t n, uint8_t *out, size_t cap)
{
	return build(query, q, rcode, DNS_TYPE_A, (const uint8_t *)addrs, 4, n, out, cap);
}

size_t dns_build_answer6(const uint8_t *query, const struct dns_question *q, int rcode,
			 const uint8_t (*addrs)[16], size_t n, uint8_t *out, size_t cap)
{
	return build(query, q, rcode, DNS_TYPE_AAAA, (const uint8_t *)addrs, 16, n, out, cap);
}

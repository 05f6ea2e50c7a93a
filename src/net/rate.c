/* Bandwidth rates as tc(8) writes them: --network-egress-rate 10mbit. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net.h"

/* tc's units (tc(8), "PARAMETERS", RATES): bits with SI or IEC
 * prefixes, or bytes a second (bps) with SI prefixes */
static const struct {
	const char *unit;
	double bits;
} units[] = {
	{"bit", 1},	      {"kbit", 1e3},	       {"mbit", 1e6},
	{"gbit", 1e9},	      {"tbit", 1e12},	       {"kibit", 1024.0},
	{"mibit", 1048576.0}, {"gibit", 1073741824.0}, {"tibit", 1099511627776.0},
	{"bps", 8},	      {"kbps", 8e3},	       {"mbps", 8e6},
	{"gbps", 8e9},	      {"tbps", 8e12},
};

int husk_net_parse_rate(const char *flag, const char *s, uint64_t *ret_bits, husk_error **err)
{
	/* digits and a point, then the unit: strtod alone would take "0x1",
	 * "1e3" and "inf" */
	size_t n = s ? strspn(s, "0123456789.") : 0;
	char num[32];
	char *end = NULL;
	double v = 0, mult = 0;
	if (n && n < sizeof(num)) {
		memcpy(num, s, n);
		num[n] = '\0';
		v = strtod(num, &end);
	}
	if (end && !*end)
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strcasecmp(s + n, units[i].unit) == 0)
				mult = units[i].bits;
	if (!mult)
		return husk_fail_as(err, EINVAL,
				    "%s \"%s\": expected a rate and its unit, such as 512kbit, "
				    "10mbit, 1gbit (or kbps, mbps, gbps: bytes a second)",
				    flag, s ? s : "");
	double bits = v * mult;
	/* the kernel counts bytes a second in 64 bits; a byte a second is
	 * as slow as a token bucket goes */
	if (bits < 8 || bits > 8e15)
		return husk_fail_as(err, ERANGE, "%s \"%s\": out of range (8bit to 8000tbit)", flag,
				    s);
	*ret_bits = (uint64_t)(bits + 0.5);
	return 0;
}

/* Durations as docker's CLI words them ("5 seconds", "About an hour"),
 * for "Up ...", "... ago" and "Exited (0) ... ago"; sizes as it prints
 * them ("2.13MB"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

void cli_human_duration(long long s, char *out, size_t n)
{
	long long m = s / 60, h = (s + 1800) / 3600;
	if (s < 1)
		snprintf(out, n, "Less than a second");
	else if (s == 1)
		snprintf(out, n, "1 second");
	else if (s < 60)
		snprintf(out, n, "%lld seconds", s);
	else if (m == 1)
		snprintf(out, n, "About a minute");
	else if (m < 60)
		snprintf(out, n, "%lld minutes", m);
	else if (h == 1)
		snprintf(out, n, "About an hour");
	else if (h < 48)
		snprintf(out, n, "%lld hours", h);
	else if (h < 24 * 7 * 2)
		snprintf(out, n, "%lld days", h / 24);
	else if (h < 24 * 30 * 2)
		snprintf(out, n, "%lld weeks", h / 24 / 7);
	else if (h < 24 * 365 * 2)
		snprintf(out, n, "%lld months", h / 24 / 30);
	else
		snprintf(out, n, "%lld years", h / 24 / 365);
}

/* Go's durations, as Docker's flags take them: "30s", "1m30s", "500ms",
 * "2h", "1.5s"; a bare number is seconds */
int cli_parse_duration(const char *s, int64_t *ret_ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
	double total = 0;
	const char *p = s;
	if (!*p)
		return -1;
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		if (end == p || v < 0)
			return -1;
		if (!*end && p == s) {
			total = v * 1e9;
			break;
		}
		size_t best = 0, len = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);
			if (strncmp(end, units[i].unit, l) == 0 && l > len &&
			    !(l == 1 && units[i].unit[0] == 'm' && end[1] == 's')) {
				best = i;
				len = l;
			}
		}
		if (!len)
			return -1;
		total += v * units[best].ns;
		p = end + len;
	}
	if (total > 9.2e18)
		return -1;
	*ret_ns = (int64_t)total;
	return 0;
}

void cli_human_size(long long bytes, int prec, char *out, size_t n)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	double v = (double)bytes;
	size_t i = 0;
	while (v >= 1000 && i + 1 < ARRAY_SIZE(units)) {
		v /= 1000;
		i++;
	}
	snprintf(out, n, "%.*g%s", prec, v, units[i]);
}

/* Durations as docker's CLI words them ("5 seconds", "About an hour"),
 * for "Up ...", "... ago" and "Exited (0) ... ago". */
#include <stdio.h>

#include "cli.h"

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

/* -p HOSTPORT:CONTAINERPORT[/tcp|/udp]: pure, so that the fuzzer and the
 * unit test take it alone */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "net.h"

int husk_net_parse_port(const char *s, struct husk_net_port *ret, husk_error **err)
{
	char proto[8] = "tcp";
	unsigned int h = 0, c = 0;
	int n = 0, m = 0;
	if ((sscanf(s, "%5u:%5u%n", &h, &c, &n) != 2) ||
	    (s[n] && (sscanf(s + n, "/%7[a-z]%n", proto, &m) != 1 || s[n + m])) || !h || !c ||
	    h > 65535 || c > 65535 || (strcmp(proto, "tcp") && strcmp(proto, "udp")))
		return husk_fail(err, EINVAL,
				 "-p \"%s\": expected HOSTPORT:CONTAINERPORT[/tcp|/udp]", s);
	*ret = (struct husk_net_port){.host = (unsigned short)h,
				      .ctr = (unsigned short)c,
				      .proto = strcmp(proto, "udp") ? IPPROTO_TCP : IPPROTO_UDP};
	return 0;
}

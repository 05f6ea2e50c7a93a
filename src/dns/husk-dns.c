/* husk-dns: the resolver of user-defined networks, one per host, started
 * on demand (src/net/dns.c) when a container joins a user-defined
 * network and gone with the last one.
 *
 * It answers on each network's gateway address, port 53, UDP and TCP:
 * a name of the network's table (a container's name, its aliases, its
 * short id) with its address there, and only there (names are scoped to
 * the network the query came in on); anything else goes to the host's
 * resolvers (the nameservers of the host's /etc/resolv.conf, reachable
 * from here even on the host's loopback; $HUSK_DNS_UPSTREAM names another
 * file) and their answer comes back.
 *
 * The tables are files under <state>/names/, one per network's bridge
 * (src/net/names.c), replaced by rename: an inotify watch on the
 * directory reloads them as they change, so a container that goes stops
 * resolving at once.  When no table is left the resolver exits.
 *
 * One process, one poll loop, no threads: UDP queries forwarded
 * upstream wait in a small table of their own sockets; a TCP client is
 * served whole (read, answer or forward, write) with short timeouts.
 * Static, no libraries: a few hundred KiB of RSS (bench/README.md). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dnswire.h"

#define MAX_NETS    64
#define MAX_NAMES   4096
#define MAX_PENDING 128
#define MAX_UP	    3

struct name {
	int net; /* index into nets */
	char name[256];
	uint32_t addr; /* network order */
	bool v6;       /* addr6, of an "aaaa" line, instead */
	uint8_t addr6[16];
};

struct net {
	char bridge[64];
	uint32_t gw; /* network order */
	int udp, tcp;
	bool seen;
};

struct pending {
	int fd; /* to the upstream */
	int net;
	struct sockaddr_in client;
	uint16_t id;
	time_t deadline;
};

static struct net nets[MAX_NETS];
static size_t n_nets;
static struct name names[MAX_NAMES];
static size_t n_names;
static struct pending pend[MAX_PENDING];
static size_t n_pend;
static struct sockaddr_in upstream[MAX_UP];
static size_t n_up;
static char names_dir[4096];

static int listen_on(uint32_t gw, int type)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53), .sin_addr = {gw}};
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 16) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void read_upstreams(void)
{
	n_up = 0;
	/* HUSK_DNS_UPSTREAM: another resolv.conf (the tests' own upstream) */
	const char *conf = getenv("HUSK_DNS_UPSTREAM");
	FILE *f = fopen(conf && *conf ? conf : "/etc/resolv.conf", "re");
	char line[512], addr[64];
	while (f && fgets(line, sizeof(line), f) && n_up < MAX_UP) {
		struct in_addr a;
		if (sscanf(line, " nameserver %63s", addr) == 1 &&
		    inet_pton(AF_INET, addr, &a) == 1)
			upstream[n_up++] = (struct sockaddr_in){
				.sin_family = AF_INET, .sin_port = htons(53), .sin_addr = a};
	}
	if (f)
		fclose(f);
}

/* every table again: networks gone lose their sockets, new ones get them */
static void reload(void)
{
	for (size_t i = 0; i < n_nets; i++)
		nets[i].seen = false;
	n_names = 0;
	DIR *d = opendir(names_dir);
	for (struct dirent *de; d && (de = readdir(d));) {
		if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp.") || strlen(de->d_name) >= 64)
			continue;
		char path[4096 + 64];
		snprintf(path, sizeof(path), "%s/%s", names_dir, de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		char line[4096];
		int net = -1;
		while (fgets(line, sizeof(line), f)) {
			char *save = NULL, *w = strtok_r(line, " \n", &save);
			if (!w)
				continue;
			if (strcmp(w, "gateway") == 0) {
				struct in_addr gw;
				char *g = strtok_r(NULL, " \n", &save);
				if (!g || inet_pton(AF_INET, g, &gw) != 1)
					break;
				for (size_t i = 0; i < n_nets && net < 0; i++)
					if (strcmp(nets[i].bridge, de->d_name) == 0 &&
					    nets[i].gw == gw.s_addr)
						net = (int)i;
				if (net < 0 && n_nets < MAX_NETS) {
					struct net *n = &nets[n_nets];
					*n = (struct net){.gw = gw.s_addr};
					snprintf(n->bridge, sizeof(n->bridge), "%s", de->d_name);
					n->udp = listen_on(gw.s_addr, SOCK_DGRAM);
					n->tcp = listen_on(gw.s_addr, SOCK_STREAM);
					net = (int)n_nets++;
				}
				if (net >= 0)
					nets[net].seen = true;
				continue;
			}
			/* <id> <ip> <name>..., or aaaa <id> <ipv6> <name>... */
			struct in_addr a = {0};
			struct in6_addr a6;
			bool v6 = strcmp(w, "aaaa") == 0;
			if (v6)
				strtok_r(NULL, " \n", &save);
			char *ip = strtok_r(NULL, " \n", &save);
			if (net < 0 || !ip ||
			    (v6 ? inet_pton(AF_INET6, ip, &a6) : inet_pton(AF_INET, ip, &a)) != 1)
				continue;
			for (char *nm;
			     (nm = strtok_r(NULL, " \n", &save)) && n_names < MAX_NAMES;) {
				struct name *x = &names[n_names++];
				x->net = net;
				x->addr = a.s_addr;
				x->v6 = v6;
				if (v6)
					memcpy(x->addr6, &a6, 16);
				size_t k = 0;
				for (; nm[k] && k < sizeof(x->name) - 1; k++)
					x->name[k] = (char)(nm[k] >= 'A' && nm[k] <= 'Z'
								    ? nm[k] - 'A' + 'a'
								    : nm[k]);
				x->name[k] = '\0';
			}
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	/* the networks gone: their sockets closed, the slot reused */
	for (size_t i = 0; i < n_nets;) {
		if (nets[i].seen) {
			i++;
			continue;
		}
		if (nets[i].udp >= 0)
			close(nets[i].udp);
		if (nets[i].tcp >= 0)
			close(nets[i].tcp);
		nets[i] = nets[--n_nets];
		for (size_t k = 0; k < n_names; k++)
			if (names[k].net == (int)n_nets)
				names[k].net = (int)i;
	}
	read_upstreams();
}

/* The answer from the table, or 0 when the name is not the network's */
static size_t answer_local(int net, const uint8_t *q, const struct dns_question *dq, uint8_t *out,
			   size_t cap)
{
	uint32_t addrs[16];
	uint8_t addrs6[16][16];
	size_t n = 0, n6 = 0;
	bool known = false;
	for (size_t i = 0; i < n_names; i++) {
		if (names[i].net != net || strcmp(names[i].name, dq->name) != 0)
			continue;
		known = true;
		bool dup = false;
		if (names[i].v6) {
			for (size_t k = 0; k < n6; k++)
				dup |= memcmp(addrs6[k], names[i].addr6, 16) == 0;
			if (!dup && n6 < 16)
				memcpy(addrs6[n6++], names[i].addr6, 16);
			continue;
		}
		for (size_t k = 0; k < n; k++)
			dup |= addrs[k] == names[i].addr;
		if (!dup && n < 16)
			addrs[n++] = names[i].addr;
	}
	if (!known)
		return 0;
	/* AAAA: the IPv6 addresses (none off an IPv6 network); other types
	 * than A get no record */
	if (dq->qtype == DNS_TYPE_AAAA)
		return dns_build_answer6(q, dq, DNS_RCODE_OK, (const uint8_t(*)[16])addrs6, n6, out,
					 cap);
	if (dq->qtype != DNS_TYPE_A && dq->qtype != DNS_TYPE_ANY)
		n = 0;
	return dns_build_answer(q, dq, DNS_RCODE_OK, addrs, n, out, cap);
}

static int forward(const uint8_t *q, size_t len)
{
	for (size_t i = 0; i < n_up; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, (struct sockaddr *)&upstream[i], sizeof(upstream[i])) == 0 &&
		    send(fd, q, len, 0) == (ssize_t)len)
			return fd;
		close(fd);
	}
	return -1;
}

static void on_udp(int net)
{
	uint8_t q[4096], out[4096];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(nets[net].udp, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
	struct dns_question dq;
	if (n <= 0 || dns_parse_query(q, (size_t)n, &dq) < 0)
		return;
	size_t m = answer_local(net, q, &dq, out, sizeof(out));
	if (!m && n_pend < MAX_PENDING) {
		int fd = forward(q, (size_t)n);
		if (fd >= 0) {
			pend[n_pend++] = (struct pending){.fd = fd,
							  .net = net,
							  .client = from,
							  .id = (uint16_t)(q[0] << 8 | q[1]),
							  .deadline = time(NULL) + 3};
			return;
		}
	}
	if (!m)
		m = dns_build_answer(q, &dq, DNS_RCODE_SERVFAIL, NULL, 0, out, sizeof(out));
	sendto(nets[net].udp, out, m, 0, (struct sockaddr *)&from, fl);
}

static void on_upstream(size_t i)
{
	uint8_t r[4096];
	ssize_t n = recv(pend[i].fd, r, sizeof(r), 0);
	if (n >= 12 && (uint16_t)(r[0] << 8 | r[1]) == pend[i].id)
		sendto(nets[pend[i].net].udp, r, (size_t)n, 0, (struct sockaddr *)&pend[i].client,
		       sizeof(pend[i].client));
	close(pend[i].fd);
	pend[i] = pend[--n_pend];
}

/* A TCP client, whole: a 2-byte length, the query, the answer back */
static void on_tcp(int net)
{
	int c = accept4(nets[net].tcp, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	struct timeval tv = {.tv_sec = 2};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	uint8_t buf[2 + 4096], out[2 + 4096];
	size_t have = 0, want = 2;
	while (have < want) {
		ssize_t n = recv(c, buf + have, want - have, 0);
		if (n <= 0)
			goto done;
		have += (size_t)n;
		if (have == 2) {
			want = 2 + (size_t)(buf[0] << 8 | buf[1]);
			if (want > sizeof(buf))
				goto done;
		}
	}
	struct dns_question dq;
	if (dns_parse_query(buf + 2, want - 2, &dq) < 0)
		goto done;
	size_t m = answer_local(net, buf + 2, &dq, out + 2, sizeof(out) - 2);
	if (!m) {
		int fd = forward(buf + 2, want - 2);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r = fd >= 0 && poll(&p, 1, 2000) == 1
				    ? recv(fd, out + 2, sizeof(out) - 2, 0)
				    : -1;
		if (fd >= 0)
			close(fd);
		m = r > 0 ? (size_t)r
			  : dns_build_answer(buf + 2, &dq, DNS_RCODE_SERVFAIL, NULL, 0, out + 2,
					     sizeof(out) - 2);
	}
	out[0] = (uint8_t)(m >> 8);
	out[1] = (uint8_t)m;
	(void)!send(c, out, m + 2, MSG_NOSIGNAL);
done:
	close(c);
}

int main(int argc, char **argv)
{
	/* husk-dns [--ready-fd N] STATE_DIR */
	int ready = -1, a = 1;
	if (argc > 2 && strcmp(argv[1], "--ready-fd") == 0) {
		ready = (int)strtol(argv[2], NULL, 10);
		a = 3;
	}
	if (a >= argc) {
		fprintf(stderr, "usage: husk-dns [--ready-fd N] STATE_DIR\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	char lock[4096 + 16];
	snprintf(lock, sizeof(lock), "%s/dns.lock", argv[a]);
	snprintf(names_dir, sizeof(names_dir), "%s/names", argv[a]);
	int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	/* one resolver a host: another has the lock and the ports */
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0)
		return 0;
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (in < 0 || inotify_add_watch(in, names_dir,
					IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM |
						IN_CREATE) < 0)
		return 1;
	reload();
	char pid[32];
	int pl = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(lfd, 0) == 0)
		(void)!pwrite(lfd, pid, (size_t)pl, 0);
	if (ready >= 0)
		close(ready); /* listening: the one who started us may go on */
	char nlock[4096 + 16];
	snprintf(nlock, sizeof(nlock), "%s/names.lock", argv[a]);
	for (;;) {
		if (n_nets == 0) {
			/* the last table went: decide under the tables' lock,
			 * which husk_dns_ensure holds while it looks for us, so
			 * that a container joining now finds us running or
			 * starts another */
			int nl = open(nlock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
			if (nl >= 0)
				flock(nl, LOCK_EX);
			reload();
			if (n_nets == 0) {
				close(lfd);
				return 0;
			}
			if (nl >= 0)
				close(nl);
		}
		struct pollfd p[1 + 2 * MAX_NETS + MAX_PENDING];
		size_t np = 0;
		p[np++] = (struct pollfd){.fd = in, .events = POLLIN};
		for (size_t i = 0; i < n_nets; i++) {
			p[np++] = (struct pollfd){.fd = nets[i].udp, .events = POLLIN};
			p[np++] = (struct pollfd){.fd = nets[i].tcp, .events = POLLIN};
		}
		for (size_t i = 0; i < n_pend; i++)
			p[np++] = (struct pollfd){.fd = pend[i].fd, .events = POLLIN};
		if (poll(p, np, n_pend ? 500 : -1) < 0 && errno != EINTR)
			return 1;
		if (p[0].revents) {
			char buf[4096];
			while (read(in, buf, sizeof(buf)) > 0)
				;
			reload();
			continue; /* the indexes below changed */
		}
		size_t nn = n_nets;
		for (size_t i = 0; i < nn; i++) {
			if (p[1 + 2 * i].revents)
				on_udp((int)i);
			if (p[2 + 2 * i].revents)
				on_tcp((int)i);
		}
		/* answers from upstream, then the ones that waited too long */
		time_t now = time(NULL);
		for (size_t k = 1 + 2 * nn, i = 0; k < np; k++) {
			(void)i;
			int fd = p[k].fd;
			for (size_t j = 0; j < n_pend; j++)
				if (pend[j].fd == fd && (p[k].revents || pend[j].deadline < now)) {
					if (p[k].revents)
						on_upstream(j);
					else {
						close(pend[j].fd);
						pend[j] = pend[--n_pend];
					}
					break;
				}
		}
	}
}

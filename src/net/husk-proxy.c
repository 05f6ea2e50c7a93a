/* husk-proxy: a container's ports published on the host's [::1].
 *
 *   husk-proxy --ready-fd N PIDFILE ADDR HOSTPORT:CTRPORT[/udp]...
 *
 * IPv6 has no route_localnet: NAT cannot take a connection from [::1] to
 * a container, because the answers, de-NATed to ::1 as they come in by
 * the bridge, are dropped (ip6_rcv_core drops ::1 on any link but lo, and
 * with br_netfilter the de-NAT happens before it).  So, as Docker's
 * docker-proxy does, a process listens on [::1]:HOSTPORT and copies each
 * connection to and from [ADDR]:CTRPORT.  One a container that publishes
 * ports on IPv6 and has an IPv6 address; every other address is reached
 * by DNAT in husk's ip6 table (nft.c).
 *
 * UDP has no connection: a "flow" is one client address on one port, with
 * its own socket connected to the container, so that the answers find
 * their way back; it is dropped after 90 s without a datagram either way
 * (docker-proxy's timeout, and conntrack's for a UDP stream), or, when
 * all MAX_FLOW are taken, the one idle longest makes room.
 *
 * It writes its pid to PIDFILE (the teardown kills it by it, teardown.c),
 * listens, then writes "0" (or the errno of a failed bind) to the ready
 * fd and closes it.  Static, no library: a poll loop, two buffers a
 * connection. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTEN   256
#define MAX_CONN     128
#define MAX_FLOW     128
#define BUF	     16384
#define FLOW_IDLE_MS 90000

struct half {
	char buf[BUF];
	size_t len, off;
	bool eof; /* the reader said EOF: shut the writer once drained */
};

struct conn {
	int fd[2]; /* client, container; -1 when free */
	bool connecting;
	struct half h[2]; /* h[0]: client -> container, h[1]: back */
};

struct flow {
	int fd;	  /* connected to the container; -1 when free */
	size_t l; /* its listener */
	struct sockaddr_in6 client;
	long long last; /* ms, the last datagram either way */
};

/* allocated on accept: a container's proxy with no connection is a few
 * pages */
static struct conn *conns[MAX_CONN];
static struct flow flows[MAX_FLOW];
static int lfd[MAX_LISTEN];
static bool l_udp[MAX_LISTEN];
static unsigned short ctr_port[MAX_LISTEN];
static size_t n_listen;
static struct in6_addr target;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_close(size_t i)
{
	close(conns[i]->fd[0]);
	close(conns[i]->fd[1]);
	free(conns[i]);
	conns[i] = NULL;
}

static void on_accept(size_t l)
{
	int cfd = accept4(lfd[l], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	size_t k = 0;
	while (k < MAX_CONN && conns[k])
		k++;
	struct conn *c = k < MAX_CONN ? calloc(1, sizeof(*c)) : NULL;
	int s = c ? socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
	if (s < 0) {
		free(c);
		close(cfd);
		return;
	}
	struct sockaddr_in6 sa = {
		.sin6_family = AF_INET6, .sin6_port = htons(ctr_port[l]), .sin6_addr = target};
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		free(c);
		close(s);
		close(cfd);
		return;
	}
	conns[k] = c;
	c->fd[0] = cfd;
	c->fd[1] = s;
	c->connecting = true;
}

/* move what one side sent to the other; false when the pair is done */
static bool pump(struct conn *c, int from, short rev_from, short rev_to)
{
	struct half *h = &c->h[from];
	int to = 1 - from;
	if ((rev_from & (POLLIN | POLLHUP | POLLERR)) && !h->eof && h->len == 0) {
		ssize_t n = read(c->fd[from], h->buf, BUF);
		if (n > 0) {
			h->len = (size_t)n;
			h->off = 0;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			if (n < 0)
				return false;
			h->eof = true;
		}
	}
	if (h->len && (rev_to & POLLOUT)) {
		ssize_t n = write(c->fd[to], h->buf + h->off, h->len);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (n > 0) {
			h->off += (size_t)n;
			h->len -= (size_t)n;
		}
	}
	if (h->eof && h->len == 0)
		shutdown(c->fd[to], SHUT_WR);
	return !(c->h[0].eof && c->h[1].eof && !c->h[0].len && !c->h[1].len);
}

static void flow_close(struct flow *f)
{
	close(f->fd);
	f->fd = -1;
}

/* the flow of this client on listener l: found, or made (the one idle
 * longest closed when all are taken); NULL when no socket can be had */
static struct flow *flow_of(size_t l, const struct sockaddr_in6 *client)
{
	struct flow *free_f = NULL, *oldest = NULL;
	for (size_t i = 0; i < MAX_FLOW; i++) {
		struct flow *f = &flows[i];
		if (f->fd < 0) {
			free_f = free_f ? free_f : f;
			continue;
		}
		if (f->l == l && f->client.sin6_port == client->sin6_port &&
		    memcmp(&f->client.sin6_addr, &client->sin6_addr, sizeof(struct in6_addr)) == 0)
			return f;
		if (!oldest || f->last < oldest->last)
			oldest = f;
	}
	if (!free_f) {
		flow_close(oldest);
		free_f = oldest;
	}
	int s = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 sa = {
		.sin6_family = AF_INET6, .sin6_port = htons(ctr_port[l]), .sin6_addr = target};
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (s >= 0)
			close(s);
		return NULL;
	}
	free_f->fd = s;
	free_f->l = l;
	free_f->client = *client;
	return free_f;
}

static char dgram[65536];

/* what clients sent to listener l, each to the container by its flow */
static void on_datagrams(size_t l)
{
	for (int k = 0; k < 64; k++) {
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		ssize_t n =
			recvfrom(lfd[l], dgram, sizeof(dgram), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		struct flow *f = fl == sizeof(from) ? flow_of(l, &from) : NULL;
		if (!f)
			continue;
		f->last = now_ms();
		(void)!send(f->fd, dgram, (size_t)n, 0);
	}
}

/* what the container answered on flow f, to its client */
static void on_answers(struct flow *f)
{
	for (int k = 0; k < 64; k++) {
		ssize_t n = recv(f->fd, dgram, sizeof(dgram), 0);
		if (n < 0) {
			/* ECONNREFUSED: nothing listens there (yet); the flow
			 * stays for the client's next try */
			return;
		}
		f->last = now_ms();
		(void)!sendto(lfd[f->l], dgram, (size_t)n, 0, (struct sockaddr *)&f->client,
			      sizeof(f->client));
	}
}

/* close the flows idle FLOW_IDLE_MS; the poll timeout until the next */
static int flows_expire(void)
{
	long long now = now_ms(), next = -1;
	for (size_t i = 0; i < MAX_FLOW; i++) {
		if (flows[i].fd < 0)
			continue;
		long long left = flows[i].last + FLOW_IDLE_MS - now;
		if (left <= 0)
			flow_close(&flows[i]);
		else if (next < 0 || left < next)
			next = left;
	}
	return (int)next;
}

static void loop(void)
{
	static struct pollfd p[MAX_LISTEN + 2 * MAX_CONN + MAX_FLOW];
	for (;;) {
		size_t n = 0;
		for (size_t i = 0; i < n_listen; i++)
			p[n++] = (struct pollfd){.fd = lfd[i], .events = POLLIN};
		for (size_t i = 0; i < MAX_CONN; i++) {
			struct conn *c = conns[i];
			for (int k = 0; k < 2; k++) {
				short ev = 0;
				if (c && c->connecting)
					ev = k == 1 ? POLLOUT : 0;
				else if (c)
					ev = (short)((!c->h[k].eof && !c->h[k].len ? POLLIN : 0) |
						     (c->h[1 - k].len ? POLLOUT : 0));
				/* nothing asked: not polled (a shut socket's POLLHUP
				 * would wake us for nothing) */
				p[n++] = (struct pollfd){.fd = c && ev ? c->fd[k] : -1,
							 .events = ev};
			}
		}
		size_t f0 = n;
		for (size_t i = 0; i < MAX_FLOW; i++)
			p[n++] = (struct pollfd){.fd = flows[i].fd, .events = POLLIN};
		if (poll(p, n, flows_expire()) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (size_t i = 0; i < MAX_FLOW; i++)
			if (flows[i].fd >= 0 && (p[f0 + i].revents & (POLLIN | POLLERR)))
				on_answers(&flows[i]);
		for (size_t i = 0; i < n_listen; i++)
			if (p[i].revents & POLLIN) {
				if (l_udp[i])
					on_datagrams(i);
				else
					on_accept(i);
			}
		for (size_t i = 0; i < MAX_CONN; i++) {
			struct conn *c = conns[i];
			short r0 = p[n_listen + 2 * i].revents,
			      r1 = p[n_listen + 2 * i + 1].revents;
			if (!c || !(r0 | r1))
				continue;
			if (c->connecting) {
				int e = 0;
				socklen_t el = sizeof(e);
				getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &e, &el);
				if (e) {
					conn_close(i);
					continue;
				}
				if (r1 & POLLOUT)
					c->connecting = false;
				continue;
			}
			if (!pump(c, 0, r0, r1) || !pump(c, 1, r1, r0))
				conn_close(i);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 6 || strcmp(argv[1], "--ready-fd") != 0) {
		fprintf(stderr,
			"usage: husk-proxy --ready-fd N PIDFILE ADDR HOSTPORT:CTRPORT[/udp]...\n");
		return 2;
	}
	int ready = (int)strtol(argv[2], NULL, 10);
	const char *pidfile = argv[3];
	signal(SIGPIPE, SIG_IGN);
	int err = 0;
	if (inet_pton(AF_INET6, argv[4], &target) != 1)
		err = EINVAL;
	char pid[32];
	int pl = snprintf(pid, sizeof(pid), "%d\n", getpid());
	int pf = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!err && (pf < 0 || write(pf, pid, (size_t)pl) != pl))
		err = errno ? errno : EIO;
	if (pf >= 0)
		close(pf);
	for (size_t i = 0; i < MAX_FLOW; i++)
		flows[i].fd = -1;
	for (int i = 5; i < argc && !err && n_listen < MAX_LISTEN; i++) {
		unsigned h, c;
		int end = 0;
		if (sscanf(argv[i], "%u:%u%n", &h, &c, &end) != 2 || !h || h > 65535 || !c ||
		    c > 65535 || (argv[i][end] && strcmp(argv[i] + end, "/udp") != 0)) {
			err = EINVAL;
			break;
		}
		bool udp = argv[i][end] != 0;
		int s = socket(AF_INET6,
			       (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int one = 1;
		struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
					  .sin6_port = htons((unsigned short)h),
					  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
		/* SO_REUSEADDR only for TCP (a port in TIME_WAIT); on UDP it
		 * would let the bind share a port another socket holds */
		if (s < 0 || setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
		    (!udp && setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
		    bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    (!udp && listen(s, 128) < 0)) {
			err = errno;
			break;
		}
		lfd[n_listen] = s;
		l_udp[n_listen] = udp;
		ctr_port[n_listen++] = (unsigned short)c;
	}
	char msg[16];
	int ml = snprintf(msg, sizeof(msg), "%d\n", err);
	(void)!write(ready, msg, (size_t)ml);
	close(ready);
	if (err) {
		unlink(pidfile);
		return 1;
	}
	prctl(PR_SET_NAME, "husk-proxy");
	loop();
	return 0;
}

/* husk-proxy: a container's TCP ports published on the host's [::1].
 *
 *   husk-proxy --ready-fd N PIDFILE ADDR HOSTPORT:CTRPORT...
 *
 * IPv6 has no route_localnet: NAT cannot take a connection from [::1] to
 * a container, because the answers, de-NATed to ::1 as they come in by
 * the bridge, are dropped (ip6_rcv_core drops ::1 on any link but lo, and
 * with br_netfilter the de-NAT happens before it).  So, as Docker's
 * docker-proxy does, a process listens on [::1]:HOSTPORT and copies each
 * connection to and from [ADDR]:CTRPORT.  One a container that publishes
 * TCP ports on IPv6 and has an IPv6 address; every other address is
 * reached by DNAT in husk's ip6 table (nft.c).
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
#include <unistd.h>

#define MAX_LISTEN 256
#define MAX_CONN   128
#define BUF	   16384

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

/* allocated on accept: a container's proxy with no connection is a few
 * pages */
static struct conn *conns[MAX_CONN];
static int lfd[MAX_LISTEN];
static unsigned short ctr_port[MAX_LISTEN];
static size_t n_listen;
static struct in6_addr target;

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

static void loop(void)
{
	static struct pollfd p[MAX_LISTEN + 2 * MAX_CONN];
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
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (size_t i = 0; i < n_listen; i++)
			if (p[i].revents & POLLIN)
				on_accept(i);
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
			"usage: husk-proxy --ready-fd N PIDFILE ADDR HOSTPORT:CTRPORT...\n");
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
	for (int i = 5; i < argc && !err && n_listen < MAX_LISTEN; i++) {
		unsigned h, c;
		if (sscanf(argv[i], "%u:%u", &h, &c) != 2 || !h || h > 65535 || !c || c > 65535) {
			err = EINVAL;
			break;
		}
		int s = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int one = 1;
		struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
					  .sin6_port = htons((unsigned short)h),
					  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
		if (s < 0 || setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
		    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 128) < 0) {
			err = errno;
			break;
		}
		lfd[n_listen] = s;
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

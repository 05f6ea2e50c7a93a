/* The undo of a container's network, fast and without libraries, so that
 * the static monitor does it for --rm containers itself (no exec of husk,
 * no libnftables) and `run --rm` waits for little:
 *
 * - the netns is unmounted, never its veths deleted: RTM_DELLINK waits
 *   for an RCU grace period (26 ms measured here), while the kernel
 *   removes the veth pairs of a freed netns asynchronously (cleanup_net);
 * - the names go from the resolver's tables;
 * - published ports are deleted from the table's maps by nfnetlink;
 * - the lease is released, and when it was the host's last, the tables
 *   and the default bridge go too, a grace period later and off the
 *   critical path (reap_later), under the leases' lock, so that a
 *   container being set up at the same time, which takes its lease before
 *   it makes them, either finds them or makes them again. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net-private.h"
#include "util.h"

static void keep_first(husk_error **err, husk_error **e)
{
	if (err && !*err)
		*err = *e;
	else
		husk_error_free(*e);
	*e = NULL;
}

/* RTM_DELLINK of the default bridge, in raw rtnetlink (the static monitor
 * links no libmnl); gone already is fine */
static void bridge_delete(void)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
		char attrs[64];
	} req = {0};
	req.h.nlmsg_type = RTM_DELLINK;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.i));
	req.i.ifi_family = AF_UNSPEC;
	struct rtattr *a = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.h.nlmsg_len));
	a->rta_type = IFLA_IFNAME;
	a->rta_len = RTA_LENGTH(sizeof(HUSK_NET_BRIDGE));
	memcpy(RTA_DATA(a), HUSK_NET_BRIDGE, sizeof(HUSK_NET_BRIDGE));
	req.h.nlmsg_len = NLMSG_ALIGN(req.h.nlmsg_len) + RTA_ALIGN(a->rta_len);
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return;
	if (send(fd, &req, req.h.nlmsg_len, 0) == (ssize_t)req.h.nlmsg_len) {
		char ack[512];
		(void)recv(fd, ack, sizeof(ack), 0); /* the ack: after the delete is done */
	}
	close(fd);
}

static void last_lease_gone(void)
{
	net_nfnl_table_delete();
	net_nfnl_table6_delete();
	bridge_delete();
}

/* The reaper's own name in ps: its argv area (from /proc/self/stat's
 * arg_start and arg_end, fields 48 and 49) overwritten, so that it shows
 * nothing of the command it was forked from (a test's paths) */
static void rename_self(const char *name)
{
	char buf[2048];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	unsigned long start = 0, end = 0;
	int field = 2;
	for (char *save = NULL, *t = p ? strtok_r(p + 1, " ", &save) : NULL; t;
	     t = strtok_r(NULL, " ", &save)) {
		if (++field == 48)
			start = strtoul(t, NULL, 10);
		else if (field == 49)
			end = strtoul(t, NULL, 10);
	}
	if (!start || end <= start + strlen(name))
		return;
	memset((void *)start, 0, end - start);
	memcpy((void *)start, name, strlen(name));
	prctl(PR_SET_NAME, name);
}

/* The host's last lease is gone: husk's tables and the default bridge go
 * too, but not at once.  Deleting the bridge waits for an RCU grace period
 * (26 ms measured here) and the next container makes bridge and tables
 * again, so back-to-back runs, and a build's RUN steps, paid both each
 * time.  A reaper (a grandchild in its own session, with no fd, cwd or
 * name of its caller's) deletes them under the leases' lock when no lease
 * is held and none has changed for NET_GC_GRACE_MS: it sleeps until the
 * leases last changed (leases.json's mtime) that long ago, and looks
 * again; not longer than NET_GC_MAX_MS in all, so that containers coming
 * and going on a busy host (tests of several suites at once) cannot keep
 * an unused bridge for ever.
 *
 * One at a time, holding <state>/gc.lock from its start: a release that
 * finds it held (looking under the leases' lock) leaves the work to the
 * reaper there, whose look comes after, so that back-to-back containers
 * fork no reaper each; the reaper lets gc.lock go while it still holds
 * the leases' lock, so that a release after its look starts another. */
#define NET_GC_GRACE_MS 1500
#define NET_GC_MAX_MS	(2 * NET_GC_GRACE_MS)

static int64_t ms_since_leases_changed(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/leases.json", dir);
	struct stat st;
	struct timespec now;
	if (stat(path, &st) < 0 || clock_gettime(CLOCK_REALTIME, &now) < 0)
		return INT64_MAX;
	return ((int64_t)now.tv_sec - st.st_mtim.tv_sec) * 1000 +
	       (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
}

/* g: gc.lock, held */
static void reaper(const char *dir, int g)
{
	int64_t start = (int64_t)(husk_now_ns() / 1000000);
	int64_t wait_ms = NET_GC_GRACE_MS;
	for (;;) {
		struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		int l = net_ipam_lock(dir, NULL);
		if (l < 0)
			_exit(1);
		int64_t ago = ms_since_leases_changed(dir);
		int64_t left = start + NET_GC_MAX_MS - (int64_t)(husk_now_ns() / 1000000);
		bool held = net_ipam_count(dir) > 0;
		/* a clock set back: as if they changed now */
		if (ago < 0)
			ago = 0;
		if (held || ago >= NET_GC_GRACE_MS || left <= 0) {
			if (!held)
				last_lease_gone();
			close(g); /* gc.lock first, the leases' lock still held */
			close(l);
			_exit(0);
		}
		/* a container came and went meanwhile: the grace from then */
		wait_ms = NET_GC_GRACE_MS - ago < left ? NET_GC_GRACE_MS - ago : left;
		close(l);
	}
}

void net_reap_later(void)
{
	const char *dir = husk_net_state_dir();
	char gc[PATH_MAX];
	snprintf(gc, sizeof(gc), "%s/gc.lock", dir);
	int g = open(gc, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (g >= 0 && flock(g, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(g);
		if (e == EWOULDBLOCK)
			return; /* a reaper waits, and looks after this release */
		g = -1;
	}
	if (g < 0) {
		last_lease_gone(); /* no reaper: now, as before */
		return;
	}
	pid_t p = fork();
	if (p < 0) {
		close(g);
		last_lease_gone();
		return;
	}
	if (p > 0) {
		/* the lock stays held by the reaper's copy of g */
		close(g);
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		return;
	}
	setsid();
	if (fork() != 0)
		_exit(0);
	/* gc.lock kept as fd 3; every other fd closed, the leases' lock
	 * among them */
	if (dup2(g, 3) < 0)
		_exit(1);
	syscall(SYS_close_range, 4, ~0U, 0);
	close(0);
	close(1);
	close(2);
	int nul = open("/dev/null", O_RDWR);
	if (nul != 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0 || chdir("/") < 0)
		_exit(1);
	rename_self("husk-net-gc");
	reaper(dir, 3);
}

void net_proxy_stop(const char *runroot, const char *id)
{
	cleanup_free char *pidfile = husk_strdup_printf("%s/net/proxy/%s", runroot, id);
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (husk_read_file(pidfile, &text, &len, NULL) < 0)
		return;
	int pid = (int)strtol(text, NULL, 10);
	/* ours: a recycled pid is another's; its argv names the pid file */
	char path[64], cmd[4096];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	int fd = pid > 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	ssize_t n = fd < 0 ? -1 : read(fd, cmd, sizeof(cmd) - 1);
	if (fd >= 0)
		close(fd);
	bool ours = false;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmd + i) + 1) {
		cmd[n] = '\0';
		ours |= strcmp(cmd + i, pidfile) == 0;
	}
	if (ours) {
		/* gone before we return: its ports are free for the next */
		int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
		kill(pid, SIGKILL);
		if (pfd >= 0) {
			struct pollfd p = {.fd = pfd, .events = POLLIN};
			poll(&p, 1, 2000);
			close(pfd);
		}
	}
	unlink(pidfile);
}

int husk_net_teardown(const char *runroot, const char *id, husk_error **err)
{
	int r = 0;
	husk_error *e = NULL;
	net_trace_begin();
	net_proxy_stop(runroot, id);
	cleanup_free char *ns = husk_strdup_printf("%s/net/ns/%s", runroot, id);
	net_ns_remove(ns);
	NET_TRACE("teardown: proxy, netns");
	if (husk_names_remove(NULL, id, &e) < 0) {
		r = -1;
		keep_first(err, &e);
	}
	NET_TRACE("teardown: names");
	cleanup_free char *undo = husk_strdup_printf("%s/net/nft/%s", runroot, id);
	cleanup_free char *ports = NULL;
	size_t len = 0;
	if (husk_read_file(undo, &ports, &len, &e) == 0) {
		/* a line a map's element: "tcp 8080" (every IPv4 address),
		 * "tcp 8080 127.0.0.1", "tcp 8080 ::" (every IPv6 address),
		 * "tcp 8080 ::1".  Each alone, one already gone must not keep
		 * the rest; every element before any claim, so that a port
		 * of two lines is not claimed by another container between
		 * them */
		for (int claims = 0; claims < 2; claims++) {
			cleanup_free char *text = strdup(ports);
			if (!text)
				abort();
			for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
			     l = strtok_r(NULL, "\n", &save)) {
				char proto[5], ip[INET6_ADDRSTRLEN] = "";
				unsigned int port;
				struct in_addr a;
				struct in6_addr a6;
				/* "self ADDR": the hairpin set's element (nft.c) */
				if (!claims && sscanf(l, "self %45s", ip) == 1) {
					int nr = inet_pton(AF_INET, ip, &a) == 1
							 ? net_nfnl_self_delete(a)
						 : inet_pton(AF_INET6, ip, &a6) == 1
							 ? net_nfnl_self6_delete(&a6)
							 : 0;
					if (nr < 0 && r == 0) {
						husk_fail(err, -nr, "the hairpin of %s", ip);
						r = -1;
					}
					continue;
				}
				int k = sscanf(l, "%3s %u %45s", proto, &port, ip);
				if (k < 2 || port > 65535)
					continue;
				bool udp = strcmp(proto, "udp") == 0;
				unsigned short pt = (unsigned short)port;
				int nr;
				if (claims)
					nr = net_nfnl_port_delete(udp ? "udp_claims" : "tcp_claims",
								  pt);
				else if (k == 3 && inet_pton(AF_INET, ip, &a) == 1)
					nr = net_nfnl_bind_delete(udp ? "udp_binds" : "tcp_binds",
								  a, pt);
				else if (k == 3 && inet_pton(AF_INET6, ip, &a6) == 1 &&
					 IN6_IS_ADDR_UNSPECIFIED(&a6))
					nr = net_nfnl_port6_delete(udp ? "udp_ports" : "tcp_ports",
								   pt);
				else if (k == 3 && inet_pton(AF_INET6, ip, &a6) == 1)
					nr = net_nfnl_bind6_delete(udp ? "udp_binds" : "tcp_binds",
								   &a6, pt);
				else
					nr = net_nfnl_port_delete(udp ? "udp_ports" : "tcp_ports",
								  pt);
				if (nr < 0 && r == 0) {
					husk_fail(err, -nr, "unpublish port %u/%s", port, proto);
					r = -1;
				}
			}
		}
		unlink(undo);
	}
	husk_error_freep(&e);
	NET_TRACE("teardown: ports");
	if (net_ipam_release(husk_net_state_dir(), id, NULL, net_reap_later, &e) < 0) {
		r = -1;
		keep_first(err, &e);
	}
	NET_TRACE("teardown: lease");
	return r;
}

/* Persistent network namespaces, as `ip netns add` makes them: a new
 * netns bind-mounted on a file, so that it outlives every process in it
 * and the OCI config can name it by path.
 *
 * The calling thread goes into the netns and comes back at once (unshare
 * or setns, then setns to its own): no process and no thread.  A child
 * forked for it cost 3-10 ms a time here, mostly waiting to be scheduled
 * on a busy host, against tens of microseconds for the two setns.  What
 * the thread needs inside is done while it is there, in the open: pin the
 * netns, and open an rtnetlink socket, which stays bound to the netns it
 * was made in, so that the netns is configured from outside afterwards. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net-private.h"
#include "util.h"

static int own_netns(husk_error **err)
{
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "open \"/proc/thread-self/ns/net\"");
	return fd;
}

/* Back to the thread's own netns.  Failing that, husk would go on to make
 * the host's links and tables in the container's netns: there is no safe
 * way on, and setns to a netns whose fd we hold fails only for want of
 * memory (the out-of-memory policy: abort). */
static void come_back(int self)
{
	if (setns(self, CLONE_NEWNET) < 0)
		abort();
	close(self);
}

static int rtnl_socket(husk_error **err)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return husk_fail(err, errno, "open an rtnetlink socket");
	return fd;
}

int net_ns_create(const char *path, int *ret_ns, int *ret_rtnl, husk_error **err)
{
	int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_fail(err, errno, "create \"%s\"", path);
	close(fd);
	int self = own_netns(err);
	if (self < 0)
		goto fail;
	if (unshare(CLONE_NEWNET) < 0) {
		husk_fail(err, errno, "unshare the network namespace");
		close(self);
		goto fail;
	}
	int ns = -1, nl = -1;
	/* same mount namespace as the engine: the bind outlives us */
	if (mount("/proc/thread-self/ns/net", path, NULL, MS_BIND, NULL) < 0)
		husk_fail(err, errno, "bind the network namespace on \"%s\"", path);
	else if ((ns = own_netns(err)) >= 0 && (nl = rtnl_socket(err)) < 0) {
		close(ns);
		ns = -1;
	}
	come_back(self);
	if (nl < 0) {
		net_ns_remove(path);
		return -1;
	}
	*ret_ns = ns;
	*ret_rtnl = nl;
	return 0;
fail:
	unlink(path);
	return -1;
}

int net_ns_rtnl(int ns_fd, husk_error **err)
{
	int self = own_netns(err);
	if (self < 0)
		return -1;
	if (setns(ns_fd, CLONE_NEWNET) < 0) {
		close(self);
		return husk_fail(err, errno, "enter the container's netns");
	}
	int nl = rtnl_socket(err);
	come_back(self);
	return nl;
}

void net_ns_remove(const char *path)
{
	umount2(path, MNT_DETACH);
	unlink(path);
}

/* The container's ports on the host's [::1], TCP and UDP: husk-proxy (its
 * comment says why NAT cannot), started when the network is set up,
 * killed by the teardown (teardown.c) through <runroot>/net/proxy/<id>. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net-private.h"
#include "util.h"

/* a port published on every IPv6 address or on ::1 */
static bool on_lo6(const struct husk_net_port *p)
{
	return strcmp(p->host_ip, "::") == 0 || strcmp(p->host_ip, "::1") == 0;
}

int net_proxy_start(const char *runroot, const char *id, const char *dns_path,
		    const struct in6_addr *addr6, const struct husk_net_port *ports, size_t n,
		    husk_error **err)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += on_lo6(&ports[i]);
	if (!k || !addr6 || !dns_path)
		return 0;
	const char *slash = strrchr(dns_path, '/');
	cleanup_free char *exe =
		slash ? husk_strdup_printf("%.*s/husk-proxy", (int)(slash - dns_path), dns_path)
		      : strdup("husk-proxy");
	if (access(exe, X_OK) < 0)
		return husk_fail(err, errno, "the proxy of [::1] \"%s\"", exe);
	cleanup_free char *dir = husk_strdup_printf("%s/net/proxy", runroot);
	if (husk_mkdir_p(dir, 0700, err) < 0)
		return -1;
	cleanup_free char *pidfile = husk_strdup_printf("%s/%s", dir, id);
	char target[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, addr6, target, sizeof(target));
	char **argv = calloc(k + 6, sizeof(char *));
	if (!argv)
		abort();
	size_t a = 0;
	argv[a++] = exe;
	argv[a++] = "--ready-fd";
	argv[a++] = "3";
	argv[a++] = pidfile;
	argv[a++] = target;
	for (size_t i = 0; i < n; i++)
		if (on_lo6(&ports[i]))
			argv[a++] = husk_strdup_printf("%u:%u%s", ports[i].host, ports[i].ctr,
						       ports[i].proto == IPPROTO_UDP ? "/udp" : "");
	int p[2];
	int r = -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		husk_fail(err, errno, "pipe");
		goto out;
	}
	/* a grandchild in its own session, with no fd or cwd of ours */
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		int nul = open("/dev/null", O_RDWR);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0 ||
		    dup2(p[1], 3) < 0 || chdir("/") < 0)
			_exit(1);
		syscall(SYS_close_range, 4, ~0U, 0);
		execv(exe, argv);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		husk_fail(err, errno, "start the proxy of [::1]");
		goto out;
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	/* "0" once it listens, else the errno of what failed */
	char buf[16] = "";
	struct pollfd pf = {.fd = p[0], .events = POLLIN};
	if (poll(&pf, 1, 5000) == 1)
		(void)!read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	int e = *buf ? (int)strtol(buf, NULL, 10) : EIO;
	if (e) {
		net_proxy_stop(runroot, id);
		husk_fail_as(err, e, "publish ports on [::1]");
		goto out;
	}
	r = 0;
out:
	for (size_t i = 5; i < a; i++)
		free(argv[i]);
	free(argv);
	return r;
}

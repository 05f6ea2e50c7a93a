/* husk run and husk create: Docker's flags into the engine's options;
 * run then starts the container under its monitor and, in the
 * foreground, attaches to it. */
#define _GNU_SOURCE
#include <ctype.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "engine.h"
#include "tty.h"
#include "util.h"

/* what run's options allocated: the -e list (of argv's strings), the
 * mounts (their strings owned), the ports */
static void run_opts_clear(struct husk_run_opts *o)
{
	for (size_t i = 0; i < o->n_volumes; i++)
		husk_volume_release(&o->volumes[i]);
	free(o->volumes);
	free(o->env);
	free(o->ports);
	free(o->expose);
	free(o->labels);
	free(o->cap_add);
	free(o->cap_drop);
	free(o->mask_paths);
	free(o->unmask_paths);
	free(o->security_opts);
	for (size_t i = 0; i < o->n_devices; i++) {
		free(o->devices[i].host);
		free(o->devices[i].ctr);
	}
	free(o->devices);
	free(o->ulimits);
	free(o->sysctls);
	free(o->log_opts);
	free(o->volumes_from);
	free(o->device_cgroup_rules);
	free(o->annotations);
	free(o->links);
	free(o->group_add);
	for (size_t i = 0; i < o->n_throttles; i++)
		free(o->throttles[i].path);
	free(o->throttles);
	for (size_t i = 0; i < o->n_nets; i++)
		free(o->nets[i].aliases);
	free(o->nets);
	free(o->dns);
	free(o->dns_search);
	free(o->dns_options);
	free(o->add_hosts);
}

struct run_cli {
	struct husk_run_opts o;
	enum cli_pull pull;
	bool detach;
	bool sig_proxy;
	const char *detach_keys;
	size_t nenv;
	char **owned; /* the strings -e NAME, the files and --security-opt made */
	size_t n_owned;
	char **env_files, **label_files;
	const char *cidfile;
	bool quiet;
	bool attach_set, attach_in, attach_out, attach_err;
	const char *ip;	 /* --ip, for the first network */
	const char *ip6; /* --ip6, for the first network */
	char **aliases;	 /* --network-alias, for the first network */
	size_t n_aliases, n_dns, n_search, n_dopt, n_hosts;
	bool net_given;
};

/* Append s (not copied) to the NULL-terminated *v */
static void strv_add(char ***v, char *s)
{
	size_t n = 0;
	while (*v && (*v)[n])
		n++;
	husk_strv_push(v, &n, s);
}

static char *own(struct run_cli *r, char *s)
{
	husk_strv_push(&r->owned, &r->n_owned, s);
	return s;
}

static int read_kv_file(struct run_cli *r, const char *flag, const char *path, bool env,
			char ***into)
{
	return cli_read_kv_file(flag, path, env, into, &r->owned, &r->n_owned);
}

static struct husk_volume *new_mount(struct husk_run_opts *o)
{
	o->volumes = realloc(o->volumes, (o->n_volumes + 1) * sizeof(*o->volumes));
	if (!o->volumes)
		abort();
	struct husk_volume *v = &o->volumes[o->n_volumes++];
	*v = (struct husk_volume){0};
	return v;
}

/* -v, --mount and --tmpfs: parsed by the engine (mountspec.c) into one
 * more mount of the options */
static int add_mount(struct husk_run_opts *o, const char *arg,
		     int (*parse)(const char *, struct husk_volume *, husk_error **))
{
	husk_error *err = NULL;
	struct husk_volume v = {0};
	if (parse(arg, &v, &err) < 0)
		return fail(err);
	*new_mount(o) = v;
	return 0;
}

/* Docker's json-file options; what is not max-size or max-file makes the
 * records' attrs (the engine's logattrs.c, which checks regexes and tags) */
static int parse_log_opt(struct husk_run_opts *o, char *arg)
{
	static const char *const known[] = {"max-size", "max-file",  "labels", "labels-regex",
					    "env",	"env-regex", "tag"};
	const char *eq = strchr(arg, '=');
	if (!eq)
		return failf("--log-opt \"%s\": expected KEY=VALUE", arg);
	size_t i, klen = (size_t)(eq - arg);
	for (i = 0; i < ARRAY_SIZE(known); i++)
		if (strlen(known[i]) == klen && strncmp(arg, known[i], klen) == 0)
			break;
	if (i == ARRAY_SIZE(known))
		return failf("--log-opt \"%s\": husk knows max-size, max-file, labels, "
			     "labels-regex, env, env-regex and tag",
			     arg);
	if (strncmp(arg, "max-size=", 9) == 0 &&
	    (husk_parse_size(eq + 1, &o->log_max_size) < 0 || o->log_max_size <= 0))
		return failf("--log-opt \"%s\": expected a size such as 10m", arg);
	if (strncmp(arg, "max-file=", 9) == 0) {
		long n;
		if (husk_parse_long(eq + 1, &n) < 0 || n < 1 || n > 1000)
			return failf("--log-opt \"%s\": expected a count from 1", arg);
		o->log_max_file = (int)n;
	}
	strv_add(&o->log_opts, arg);
	return 0;
}

enum {
	OPT_RM = 1000,
	OPT_NAME,
	OPT_MEMORY,
	OPT_PIDS,
	OPT_CPUS,
	OPT_NETWORK,
	OPT_PULL,
	OPT_RESTART,
	OPT_LOG_DRIVER,
	OPT_LOG_OPT,
	OPT_STOP_SIGNAL,
	OPT_STOP_TIMEOUT,
	OPT_SIG_PROXY,
	OPT_DETACH_KEYS,
	OPT_HOSTNAME,
	OPT_HEALTH_CMD,
	OPT_HEALTH_INTERVAL,
	OPT_HEALTH_TIMEOUT,
	OPT_HEALTH_RETRIES,
	OPT_HEALTH_START,
	OPT_HEALTH_ON_FAILURE,
	OPT_NO_HEALTHCHECK,
	OPT_ENTRYPOINT,
	OPT_ENV_FILE,
	OPT_LABEL_FILE,
	OPT_VOLUMES_FROM,
	OPT_CAP_ADD,
	OPT_CAP_DROP,
	OPT_PRIVILEGED,
	OPT_SECURITY_OPT,
	OPT_DEVICE,
	OPT_ULIMIT,
	OPT_SYSCTL,
	OPT_GROUP_ADD,
	OPT_SHM_SIZE,
	OPT_OOM_SCORE_ADJ,
	OPT_INIT,
	OPT_PID,
	OPT_IPC,
	OPT_UTS,
	OPT_CGROUPNS,
	OPT_USERNS,
	OPT_MEMORY_SWAP,
	OPT_MEMORY_RESERVATION,
	OPT_MEMORY_SWAPPINESS,
	OPT_DEVICE_CGROUP_RULE,
	OPT_CGROUP_PARENT,
	OPT_ANNOTATION,
	OPT_LINK,
	OPT_ISOLATION,
	OPT_VOLUME_DRIVER,
	OPT_CONTENT_TRUST,
	OPT_DOMAINNAME,
	OPT_CPU_SHARES,
	OPT_CPUSET_CPUS,
	OPT_CPUSET_MEMS,
	OPT_CPU_PERIOD,
	OPT_CPU_QUOTA,
	OPT_BLKIO_WEIGHT,
	OPT_READ_BPS,
	OPT_WRITE_BPS,
	OPT_READ_IOPS,
	OPT_WRITE_IOPS,
	OPT_OOM_KILL_DISABLE,
	OPT_CIDFILE,
	OPT_PLATFORM,
	OPT_MOUNT,
	OPT_TMPFS,
	OPT_READ_ONLY,
	OPT_IP,
	OPT_IP6,
	OPT_NETWORK_ALIAS,
	OPT_DNS,
	OPT_DNS_SEARCH,
	OPT_DNS_OPTION,
	OPT_ADD_HOST,
	OPT_EGRESS_RATE,
	OPT_INGRESS_RATE,
	OPT_EXPOSE,
	OPT_MAC_ADDRESS,
};

const struct cli_flag run_flags[] = {
	{"detach", 'd', NULL, "run in the background and print the id"},
	{"interactive", 'i', NULL, "keep stdin open (without it, stdin is /dev/null)"},
	{"tty", 't', NULL, "give the container a terminal"},
	{"rm", 0, NULL, "remove the container when it exits", OPT_RM},
	{"name", 0, "NAME", "name the container ([a-zA-Z0-9][a-zA-Z0-9_.-]*)", OPT_NAME},
	{"env", 'e', "NAME[=VALUE]", "set a variable (NAME alone: the value from here)"},
	{"workdir", 'w', "DIR", "the working directory in the container"},
	{"user", 'u', "USER[:GROUP]", "run as this user, a name or a number"},
	{"volume", 'v', "[SRC:]DST[:OPTS]",
	 "mount a volume (SRC a name, made when missing; none: anonymous) or a host path "
	 "(absolute); OPTS ro, rw, z, Z, nocopy, a propagation"},
	{"mount", 0, "type=TYPE,...",
	 "bind, volume or tmpfs: source=, target=, readonly, bind-propagation=, "
	 "volume-nocopy, tmpfs-size=, tmpfs-mode=",
	 OPT_MOUNT},
	{"volumes-from", 0, "CONTAINER[:ro|:rw]",
	 "the volumes and binds of another container, at the same paths", OPT_VOLUMES_FROM},
	{"tmpfs", 0, "PATH[:OPTS]", "mount a tmpfs (OPTS such as size=64m,mode=1777)", OPT_TMPFS},
	{"read-only", 0, NULL, "mount the root filesystem read-only", OPT_READ_ONLY},
	{"memory", 'm', "SIZE", "memory limit (64m, 1g)"},
	{"pids-limit", 0, "N", "at most N processes", OPT_PIDS},
	{"cpus", 0, "N", "CPU limit, in CPUs (0.5)", OPT_CPUS},
	{"hostname", 'h', "NAME", "the container's host name", OPT_HOSTNAME},
	{"domainname", 0, "NAME", "the container's NIS domain name", OPT_DOMAINNAME},
	{"network", 0, "NETWORK",
	 "bridge (default), none, host, container:NAME or a network's name; again for more",
	 OPT_NETWORK},
	{"net", 0, "NETWORK", NULL, OPT_NETWORK},
	{"network-alias", 0, "NAME", "another name on the (first) user-defined network",
	 OPT_NETWORK_ALIAS},
	{"ip", 0, "ADDRESS", "the IPv4 address on the (first) user-defined network", OPT_IP},
	{"ip6", 0, "ADDRESS", "the IPv6 address on the (first) user-defined IPv6 network", OPT_IP6},
	{"dns", 0, "ADDRESS", "a nameserver for the container's resolv.conf", OPT_DNS},
	{"dns-search", 0, "DOMAIN", "a search domain for resolv.conf", OPT_DNS_SEARCH},
	{"dns-option", 0, "OPTION", "an options entry for resolv.conf (ndots:2)", OPT_DNS_OPTION},
	{"add-host", 0, "NAME:IP", "a line in /etc/hosts (IP host-gateway: the gateway)",
	 OPT_ADD_HOST},
	{"network-egress-rate", 0, "RATE",
	 "limit what the container sends, on each network (tc units: 512kbit, 10mbit, 1gbit)",
	 OPT_EGRESS_RATE},
	{"network-ingress-rate", 0, "RATE",
	 "limit what the container receives, on each network (10mbit, 2mbps for bytes)",
	 OPT_INGRESS_RATE},
	{"publish", 'p', "[IP:][HOST[-END]:]CTR[-END][/PROTO]",
	 "publish a port or a range (HOST empty: a free one; IP: that address only)"},
	{"publish-all", 'P', NULL, "publish every exposed port on a free host port"},
	{"expose", 0, "PORT[-END][/PROTO]", "expose a port or a range (published by -P)",
	 OPT_EXPOSE},
	{"mac-address", 0, "MAC", "the container's MAC address on its (first) network",
	 OPT_MAC_ADDRESS},
	{"pull", 0, "POLICY", "missing (default), never or always", OPT_PULL},
	{"restart", 0, "POLICY", "no, on-failure[:N], always or unless-stopped", OPT_RESTART},
	{"log-driver", 0, "DRIVER", "json-file (default), k8s-file or none", OPT_LOG_DRIVER},
	{"log-opt", 0, "KEY=VALUE",
	 "max-size=SIZE, max-file=N; labels=K,.., env=K,.., labels-regex=, env-regex=, tag=T "
	 "(each record's attrs)",
	 OPT_LOG_OPT},
	{"stop-signal", 0, "SIGNAL", "the signal stop sends (default the image's, TERM)",
	 OPT_STOP_SIGNAL},
	{"stop-timeout", 0, "SECONDS", "seconds stop waits before SIGKILL (10)", OPT_STOP_TIMEOUT},
	{"sig-proxy", 0, "BOOL", "forward signals to the container (default true)", OPT_SIG_PROXY},
	{"detach-keys", 0, "KEYS", "the keys that detach (default ctrl-p,ctrl-q)", OPT_DETACH_KEYS},
	{"health-cmd", 0, "COMMAND", "the healthcheck, run by /bin/sh -c", OPT_HEALTH_CMD},
	{"health-interval", 0, "DURATION", "time between checks (30s)", OPT_HEALTH_INTERVAL},
	{"health-timeout", 0, "DURATION", "a check's time limit (30s)", OPT_HEALTH_TIMEOUT},
	{"health-retries", 0, "N", "failures in a row that make it unhealthy (3)",
	 OPT_HEALTH_RETRIES},
	{"health-start-period", 0, "DURATION", "failures in this time after start do not count",
	 OPT_HEALTH_START},
	{"health-on-failure", 0, "ACTION", "none, kill, restart or stop when unhealthy",
	 OPT_HEALTH_ON_FAILURE},
	{"no-healthcheck", 0, NULL, "no healthcheck, not even the image's", OPT_NO_HEALTHCHECK},
	{"entrypoint", 0, "COMMAND", "run this over the image's entrypoint (\"\": none)",
	 OPT_ENTRYPOINT},
	{"env-file", 0, "FILE", "variables from a file of NAME=VALUE lines", OPT_ENV_FILE},
	{"label", 'l', "KEY=VALUE", "set a label on the container"},
	{"label-file", 0, "FILE", "labels from a file of KEY=VALUE lines", OPT_LABEL_FILE},
	{"cap-add", 0, "CAP", "add a capability (chown, CAP_NET_ADMIN, ALL)", OPT_CAP_ADD},
	{"cap-drop", 0, "CAP", "drop a capability (ALL: every one)", OPT_CAP_DROP},
	{"privileged", 0, NULL, "every capability and host device, no masked paths, /sys writable",
	 OPT_PRIVILEGED},
	{"security-opt", 0, "OPT",
	 "no-new-privileges, seccomp=unconfined|FILE, mask=P:P, unmask=ALL|P:P (apparmor=, label= "
	 "taken but not applied: no AppArmor or SELinux here)",
	 OPT_SECURITY_OPT},
	{"device", 0, "HOST[:CTR[:rwm]]", "give the container a host device", OPT_DEVICE},
	{"ulimit", 0, "NAME=SOFT[:HARD]", "a resource limit (nofile=1024:2048, core=0...)",
	 OPT_ULIMIT},
	{"sysctl", 0, "KEY=VALUE", "set a namespaced sysctl (net.*, kernel.shm*, fs.mqueue.*...)",
	 OPT_SYSCTL},
	{"group-add", 0, "GROUP", "an extra group, a name of the image's /etc/group or a gid",
	 OPT_GROUP_ADD},
	{"shm-size", 0, "SIZE", "the size of /dev/shm (64m)", OPT_SHM_SIZE},
	{"oom-score-adj", 0, "N", "the process's OOM score adjustment (-1000 to 1000)",
	 OPT_OOM_SCORE_ADJ},
	{"init", 0, NULL, "run tini as pid 1: it reaps zombies and forwards signals", OPT_INIT},
	{"pid", 0, "MODE", "the pid namespace: host or container:NAME", OPT_PID},
	{"ipc", 0, "MODE", "the ipc namespace: private, shareable, host or container:NAME",
	 OPT_IPC},
	{"uts", 0, "MODE", "the uts namespace: host", OPT_UTS},
	{"cgroupns", 0, "MODE", "the cgroup namespace: private (default) or host", OPT_CGROUPNS},
	{"userns", 0, "MODE",
	 "the user namespace: host, as with none given (husk does not remap ids)", OPT_USERNS},
	{"memory-swap", 0, "SIZE", "memory and swap together (-1: unlimited swap)",
	 OPT_MEMORY_SWAP},
	{"memory-reservation", 0, "SIZE", "a soft memory limit", OPT_MEMORY_RESERVATION},
	{"memory-swappiness", 0, "0-100", "how readily its memory is swapped (cgroup v1)",
	 OPT_MEMORY_SWAPPINESS},
	{"device-cgroup-rule", 0, "RULE",
	 "let the cgroup allow devices: \"c 1:3 rwm\", \"b 8:* r\"", OPT_DEVICE_CGROUP_RULE},
	{"cgroup-parent", 0, "PATH",
	 "the cgroup to make the container's below (relative: below husk's own)",
	 OPT_CGROUP_PARENT},
	{"isolation", 0, "default", "Linux has the one technology (others are refused)",
	 OPT_ISOLATION},
	{"volume-driver", 0, "local", "volumes' driver: local, the one husk has",
	 OPT_VOLUME_DRIVER},
	{"disable-content-trust", 0, "[=BOOL]",
	 "true, Docker's default: husk verifies no signatures", OPT_CONTENT_TRUST},
	{"link", 0, "NAME[:ALIAS]",
	 "Docker's legacy link: ALIAS in /etc/hosts, and on the default bridge its variables",
	 OPT_LINK},
	{"annotation", 0, "KEY=VALUE",
	 "an annotation in the OCI config (the runtime's hooks see it)", OPT_ANNOTATION},
	{"cpu-shares", 'c', "N", "CPU weight against other containers (1024)", OPT_CPU_SHARES},
	{"cpuset-cpus", 0, "CPUS", "the CPUs it may use (0-1, 0,2)", OPT_CPUSET_CPUS},
	{"cpuset-mems", 0, "NODES", "the memory nodes it may use (0)", OPT_CPUSET_MEMS},
	{"cpu-period", 0, "US", "the CFS period, microseconds", OPT_CPU_PERIOD},
	{"cpu-quota", 0, "US", "the CFS quota in each period, microseconds", OPT_CPU_QUOTA},
	{"blkio-weight", 0, "N", "block I/O weight (10 to 1000)", OPT_BLKIO_WEIGHT},
	{"device-read-bps", 0, "DEV:RATE", "limit reads from a device (/dev/sda:1mb)",
	 OPT_READ_BPS},
	{"device-write-bps", 0, "DEV:RATE", "limit writes to a device", OPT_WRITE_BPS},
	{"device-read-iops", 0, "DEV:N", "limit read operations a second", OPT_READ_IOPS},
	{"device-write-iops", 0, "DEV:N", "limit write operations a second", OPT_WRITE_IOPS},
	{"oom-kill-disable", 0, NULL, "do not OOM-kill it at its memory limit",
	 OPT_OOM_KILL_DISABLE},
	{"cidfile", 0, "FILE", "write the id to FILE (which must not exist)", OPT_CIDFILE},
	{"quiet", 'q', NULL, "no pull progress"},
	{"attach", 'a', "STREAM", "attach only to stdin, stdout or stderr (repeatable)"},
	{"platform", 0, "PLATFORM", "linux/amd64 (the host's; others are refused)", OPT_PLATFORM},
	{0},
};

/* --security-opt, Docker's forms (KEY=VALUE, or KEY:VALUE as older
 * Dockers wrote them) */
static int parse_security_opt(struct run_cli *r, const char *arg)
{
	struct husk_run_opts *o = &r->o;
	const char *sep = strpbrk(arg, "=:");
	size_t klen = sep ? (size_t)(sep - arg) : strlen(arg);
	const char *val = sep ? sep + 1 : NULL;
	strv_add(&o->security_opts, (char *)arg);
	if (klen == 17 && strncmp(arg, "no-new-privileges", klen) == 0) {
		if (!val || strcmp(val, "true") == 0)
			o->no_new_privileges = true;
		else if (strcmp(val, "false") == 0)
			o->no_new_privileges = false;
		else
			return failf("--security-opt \"%s\": no-new-privileges is true or false",
				     arg);
		return 0;
	}
	if (!val || !*val)
		return failf("--security-opt \"%s\": expected KEY=VALUE", arg);
	if (klen == 7 && strncmp(arg, "seccomp", klen) == 0) {
		if (strcmp(val, "unconfined") == 0) {
			o->seccomp_unconfined = true;
			o->seccomp_profile = NULL;
			return 0;
		}
		husk_error *err = NULL;
		char *text = NULL;
		size_t len = 0;
		if (husk_read_file(val, &text, &len, &err) < 0) {
			husk_error_wrap(&err, "--security-opt \"%s\"", arg);
			return fail(err);
		}
		o->seccomp_profile = own(r, text);
		o->seccomp_unconfined = false;
		return 0;
	}
	if ((klen == 4 && strncmp(arg, "mask", 4) == 0) ||
	    (klen == 6 && strncmp(arg, "unmask", 6) == 0)) {
		char ***into = klen == 4 ? &o->mask_paths : &o->unmask_paths;
		char *copy = own(r, strdup(val));
		char *save = NULL;
		for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
			if (p[0] != '/' && !(klen == 6 && strcmp(p, "ALL") == 0))
				return failf("--security-opt \"%s\": \"%s\" is not an absolute "
					     "path",
					     arg, p);
			strv_add(into, p);
		}
		return 0;
	}
	if ((klen == 8 && strncmp(arg, "apparmor", 8) == 0) ||
	    (klen == 5 && strncmp(arg, "label", 5) == 0))
		return 0; /* no AppArmor or SELinux on these hosts: nothing to apply */
	return failf("--security-opt \"%s\": husk knows no-new-privileges, seccomp, mask, unmask, "
		     "apparmor and label",
		     arg);
}

/* "0-3,5": CPU or node lists as the kernel's cpuset files take them */
static bool cpu_list_ok(const char *s)
{
	return *s && strspn(s, "0123456789,-") == strlen(s) && isdigit((unsigned char)s[0]) &&
	       isdigit((unsigned char)s[strlen(s) - 1]);
}

static int parse_ns_mode(const char *flag, const char *arg, const char *const *modes,
			 bool container_ok, const char **ret)
{
	for (const char *const *m = modes; *m; m++)
		if (strcmp(arg, *m) == 0) {
			*ret = arg;
			return 0;
		}
	if (container_ok && strncmp(arg, "container:", 10) == 0 && arg[10]) {
		*ret = arg;
		return 0;
	}
	char words[128] = "";
	for (const char *const *m = modes; *m; m++)
		snprintf(words + strlen(words), sizeof(words) - strlen(words), "%s%s",
			 m == modes ? "" : ", ", *m);
	return failf("%s \"%s\": expected %s%s", flag, arg, words,
		     container_ok ? " or container:NAME" : "");
}

static int parse_more(struct run_cli *r, int c)
{
	struct husk_run_opts *o = &r->o;
	husk_error *err = NULL;
	long n;
	long long size;
	switch (c) {
	case OPT_ENTRYPOINT:
		o->entrypoint = optarg;
		return 0;
	case OPT_ENV_FILE:
		strv_add(&r->env_files, optarg);
		return 0;
	case 'l':
		if (!*optarg || *optarg == '=')
			return failf("--label \"%s\": expected KEY=VALUE", optarg);
		strv_add(&o->labels, optarg);
		return 0;
	case OPT_LABEL_FILE:
		strv_add(&r->label_files, optarg);
		return 0;
	case OPT_VOLUMES_FROM:
		strv_add(&o->volumes_from, optarg);
		return 0;
	case OPT_CAP_ADD:
	case OPT_CAP_DROP:
		if (husk_cap_check(optarg, &err) < 0) {
			husk_error_wrap(&err, c == OPT_CAP_ADD ? "--cap-add" : "--cap-drop");
			return fail(err);
		}
		strv_add(c == OPT_CAP_ADD ? &o->cap_add : &o->cap_drop, optarg);
		return 0;
	case OPT_PRIVILEGED:
		o->privileged = true;
		return 0;
	case OPT_SECURITY_OPT:
		return parse_security_opt(r, optarg);
	case OPT_DEVICE: {
		struct husk_device_map d;
		if (husk_device_map_parse(optarg, &d, &err) < 0)
			return fail(err);
		o->devices = realloc(o->devices, (o->n_devices + 1) * sizeof(*o->devices));
		if (!o->devices)
			abort();
		o->devices[o->n_devices++] = d;
		return 0;
	}
	case OPT_ULIMIT: {
		struct husk_ulimit u;
		if (husk_ulimit_parse(optarg, &u, &err) < 0)
			return fail(err);
		o->ulimits = realloc(o->ulimits, (o->n_ulimits + 1) * sizeof(*o->ulimits));
		if (!o->ulimits)
			abort();
		o->ulimits[o->n_ulimits++] = u;
		return 0;
	}
	case OPT_SYSCTL:
		if (husk_sysctl_check(optarg, &err) < 0)
			return fail(err);
		strv_add(&o->sysctls, optarg);
		return 0;
	case OPT_GROUP_ADD:
		if (!*optarg)
			return failf("--group-add \"\": expected a group name or gid");
		strv_add(&o->group_add, optarg);
		return 0;
	case OPT_SHM_SIZE:
		if (husk_parse_size(optarg, &o->shm_size) < 0 || o->shm_size <= 0)
			return failf("--shm-size \"%s\": expected a size such as 64m", optarg);
		return 0;
	case OPT_OOM_SCORE_ADJ:
		if (husk_parse_long(optarg, &n) < 0 || n < -1000 || n > 1000)
			return failf("--oom-score-adj \"%s\": expected a number from -1000 to 1000",
				     optarg);
		o->oom_score_adj = (int)n;
		o->oom_score_adj_set = true;
		return 0;
	case OPT_INIT:
		o->init = true;
		return 0;
	case OPT_PID:
		return parse_ns_mode("--pid", optarg, (const char *const[]){"host", NULL}, true,
				     &o->pid_mode);
	case OPT_IPC:
		return parse_ns_mode("--ipc", optarg,
				     (const char *const[]){"private", "shareable", "host", NULL},
				     true, &o->ipc_mode);
	case OPT_UTS:
		return parse_ns_mode("--uts", optarg, (const char *const[]){"host", NULL}, false,
				     &o->uts_mode);
	case OPT_CGROUPNS:
		return parse_ns_mode("--cgroupns", optarg,
				     (const char *const[]){"private", "host", NULL}, false,
				     &o->cgroupns_mode);
	case OPT_USERNS:
		/* Docker's values: "host" turns off the daemon's userns-remap
		 * for one container, "" keeps the default.  husk has no
		 * remapping: both are the host's user namespace, and Podman's
		 * keep-id, auto, nomap or a private one are refused */
		if (*optarg && strcmp(optarg, "host") != 0)
			return failf(
				"--userns \"%s\": expected host or \"\": husk runs containers in "
				"the host's user namespace and cannot remap ids",
				optarg);
		o->userns_mode = *optarg ? optarg : NULL;
		return 0;
	case OPT_MEMORY_SWAP:
		if (husk_parse_size(optarg, &size) < 0 || size == 0 || size < -1)
			return failf("--memory-swap \"%s\": expected a size such as 1g, or -1",
				     optarg);
		o->memory_swap = size;
		return 0;
	case OPT_MEMORY_SWAPPINESS: {
		long v;
		if (husk_parse_long(optarg, &v) < 0 || v < -1 || v > 100)
			return failf("--memory-swappiness \"%s\": expected 0 to 100", optarg);
		/* -1: the kernel's, as Docker's default */
		o->memory_swappiness = (int)v;
		o->memory_swappiness_set = v >= 0;
		return 0;
	}
	case OPT_DOMAINNAME:
		o->domainname = optarg;
		return 0;
	case OPT_DEVICE_CGROUP_RULE:
		strv_add(&o->device_cgroup_rules, optarg);
		return 0;
	case OPT_CGROUP_PARENT:
		if (strstr(optarg, "..") || strchr(optarg, '\n'))
			return failf("--cgroup-parent \"%s\": no .. in a cgroup path", optarg);
		o->cgroup_parent = optarg;
		return 0;
	case OPT_ISOLATION:
		if (strcmp(optarg, "default") != 0)
			return failf("--isolation \"%s\": Linux has default only", optarg);
		return 0;
	case OPT_VOLUME_DRIVER:
		if (strcmp(optarg, "local") != 0)
			return failf("--volume-driver \"%s\": husk has the local driver only",
				     optarg);
		return 0;
	case OPT_CONTENT_TRUST:
		if (optarg && husk_parse_bool(optarg) != 1)
			return failf(
				"--disable-content-trust=%s: husk verifies no image signatures "
				"(Docker Content Trust)",
				optarg);
		return 0;
	case OPT_LINK:
		strv_add(&o->links, optarg);
		return 0;
	case OPT_ANNOTATION:
		if (!*optarg || *optarg == '=' || !strchr(optarg, '='))
			return failf("--annotation \"%s\": expected KEY=VALUE", optarg);
		strv_add(&o->annotations, optarg);
		return 0;
	case OPT_MEMORY_RESERVATION:
		if (husk_parse_size(optarg, &size) < 0 || size <= 0)
			return failf("--memory-reservation \"%s\": expected a size such as 64m",
				     optarg);
		o->memory_reservation = size;
		return 0;
	case OPT_CPU_SHARES:
		if (husk_parse_long(optarg, &n) < 0 || n < 2 || n > 262144)
			return failf("--cpu-shares \"%s\": expected a number from 2 to 262144",
				     optarg);
		o->cpu_shares = n;
		return 0;
	case OPT_CPUSET_CPUS:
	case OPT_CPUSET_MEMS:
		if (!cpu_list_ok(optarg))
			return failf("%s \"%s\": expected a list such as 0-2,4",
				     c == OPT_CPUSET_CPUS ? "--cpuset-cpus" : "--cpuset-mems",
				     optarg);
		*(c == OPT_CPUSET_CPUS ? &o->cpuset_cpus : &o->cpuset_mems) = optarg;
		return 0;
	case OPT_CPU_PERIOD:
		if (husk_parse_long(optarg, &n) < 0 || n < 1000 || n > 1000000)
			return failf("--cpu-period \"%s\": expected microseconds from 1000 to "
				     "1000000",
				     optarg);
		o->cpu_period = n;
		return 0;
	case OPT_CPU_QUOTA:
		if (husk_parse_long(optarg, &n) < 0 || (n < 1000 && n != -1))
			return failf("--cpu-quota \"%s\": expected microseconds from 1000, or -1",
				     optarg);
		o->cpu_quota = n;
		return 0;
	case OPT_BLKIO_WEIGHT:
		if (husk_parse_long(optarg, &n) < 0 || n < 10 || n > 1000)
			return failf("--blkio-weight \"%s\": expected a number from 10 to 1000",
				     optarg);
		o->blkio_weight = (int)n;
		return 0;
	case OPT_READ_BPS:
	case OPT_WRITE_BPS:
	case OPT_READ_IOPS:
	case OPT_WRITE_IOPS: {
		struct husk_throttle t;
		if (husk_throttle_parse((enum husk_throttle_kind)(c - OPT_READ_BPS), optarg, &t,
					&err) < 0)
			return fail(err);
		o->throttles = realloc(o->throttles, (o->n_throttles + 1) * sizeof(*o->throttles));
		if (!o->throttles)
			abort();
		o->throttles[o->n_throttles++] = t;
		return 0;
	}
	case OPT_OOM_KILL_DISABLE:
		o->oom_kill_disable = true;
		return 0;
	case OPT_CIDFILE:
		r->cidfile = optarg;
		return 0;
	case 'q':
		r->quiet = true;
		return 0;
	case 'a':
		r->attach_set = true;
		if (strcasecmp(optarg, "stdin") == 0)
			r->attach_in = true;
		else if (strcasecmp(optarg, "stdout") == 0)
			r->attach_out = true;
		else if (strcasecmp(optarg, "stderr") == 0)
			r->attach_err = true;
		else
			return failf("--attach \"%s\": expected stdin, stdout or stderr", optarg);
		return 0;
	case OPT_PLATFORM:
		return cli_check_platform(optarg);
	default:
		return 125;
	}
}

/* --network, as Docker: none, host, bridge (the default), container:NAME,
 * or a network's name; several networks (bridge or named) may be given */
static int parse_network(struct run_cli *r, const char *arg)
{
	struct husk_run_opts *o = &r->o;
	bool solo = strcmp(arg, "none") == 0 || strcmp(arg, "host") == 0 ||
		    strncmp(arg, "container:", 10) == 0;
	if (r->net_given && (solo || o->network != HUSK_NETMODE_BRIDGE))
		return failf("--network \"%s\": none, host and container: cannot go with another "
			     "network",
			     arg);
	r->net_given = true;
	if (strcmp(arg, "none") == 0) {
		o->network = HUSK_NETMODE_NONE;
	} else if (strcmp(arg, "host") == 0) {
		o->network = HUSK_NETMODE_HOST;
	} else if (strncmp(arg, "container:", 10) == 0) {
		if (!arg[10])
			return failf("--network \"%s\": expected container:NAME", arg);
		o->network = HUSK_NETMODE_CONTAINER;
		o->net_container = arg + 10;
	} else {
		o->network = HUSK_NETMODE_BRIDGE;
		for (size_t i = 0; i < o->n_nets; i++)
			if (strcmp(o->nets[i].network, arg) == 0)
				return failf("--network \"%s\": given twice", arg);
		o->nets = realloc(o->nets, (o->n_nets + 1) * sizeof(*o->nets));
		if (!o->nets)
			abort();
		o->nets[o->n_nets++] = (struct husk_net_attach){.network = arg};
	}
	return 0;
}

static int parse_one(struct run_cli *r, int c)
{
	struct husk_run_opts *o = &r->o;
	husk_error *err = NULL;
	switch (c) {
	case OPT_RM:
		o->rm = true;
		return 0;
	case 'd':
		r->detach = true;
		return 0;
	case 'i':
		o->interactive = true;
		return 0;
	case 't':
		o->tty = true;
		return 0;
	case OPT_NAME:
		o->name = optarg;
		return 0;
	case 'e':
		if (!strchr(optarg, '=')) {
			/* -e NAME: the value from our environment, or nothing */
			if (!getenv(optarg))
				return 0;
			char *kv = husk_strdup_printf("%s=%s", optarg, getenv(optarg));
			husk_strv_push(&r->owned, &r->n_owned, kv);
			husk_strv_push(&o->env, &r->nenv, kv);
			return 0;
		}
		husk_strv_push(&o->env, &r->nenv, optarg);
		return 0;
	case 'w':
		o->workdir = optarg;
		return 0;
	case 'u':
		o->user = optarg;
		return 0;
	case 'v':
		return add_mount(o, optarg, husk_mount_parse_v);
	case OPT_MOUNT:
		return add_mount(o, optarg, husk_mount_parse);
	case OPT_TMPFS:
		return add_mount(o, optarg, husk_mount_parse_tmpfs);
	case OPT_READ_ONLY:
		o->read_only = true;
		return 0;
	case 'm':
		if (husk_parse_size(optarg, &o->memory) < 0 || o->memory <= 0)
			return failf("--memory \"%s\": expected a size such as 64m", optarg);
		return 0;
	case OPT_PIDS: {
		long n;
		if (husk_parse_long(optarg, &n) < 0 || n < 0)
			return failf("--pids-limit \"%s\": expected a number", optarg);
		o->pids_limit = n;
		return 0;
	}
	case OPT_CPUS: {
		char *end = NULL;
		o->cpus = strtod(optarg, &end);
		if (!end || *end || o->cpus <= 0)
			return failf("--cpus \"%s\": expected a number such as 0.5", optarg);
		return 0;
	}
	case OPT_HOSTNAME:
		o->hostname = optarg;
		return 0;
	case OPT_PULL:
		if (strcmp(optarg, "missing") == 0)
			r->pull = CLI_PULL_MISSING;
		else if (strcmp(optarg, "never") == 0)
			r->pull = CLI_PULL_NEVER;
		else if (strcmp(optarg, "always") == 0)
			r->pull = CLI_PULL_ALWAYS;
		else
			return failf("--pull \"%s\": expected missing, never or always", optarg);
		return 0;
	case OPT_NETWORK:
		return parse_network(r, optarg);
	case OPT_NETWORK_ALIAS:
		husk_strv_push(&r->aliases, &r->n_aliases, optarg);
		return 0;
	case OPT_IP: {
		struct in_addr a;
		if (inet_pton(AF_INET, optarg, &a) != 1)
			return failf("--ip \"%s\": not an IPv4 address", optarg);
		r->ip = optarg;
		return 0;
	}
	case OPT_IP6: {
		struct in6_addr a;
		if (inet_pton(AF_INET6, optarg, &a) != 1)
			return failf("--ip6 \"%s\": not an IPv6 address", optarg);
		r->ip6 = optarg;
		return 0;
	}
	case OPT_DNS: {
		unsigned char a[16];
		if (inet_pton(AF_INET, optarg, a) != 1 && inet_pton(AF_INET6, optarg, a) != 1)
			return failf("--dns \"%s\": not an IP address", optarg);
		husk_strv_push(&o->dns, &r->n_dns, optarg);
		return 0;
	}
	case OPT_DNS_SEARCH:
		husk_strv_push(&o->dns_search, &r->n_search, optarg);
		return 0;
	case OPT_DNS_OPTION:
		husk_strv_push(&o->dns_options, &r->n_dopt, optarg);
		return 0;
	case OPT_ADD_HOST: {
		size_t k = strcspn(optarg, ":=");
		const char *ip = optarg + k + (optarg[k] ? 1 : 0);
		unsigned char a[16];
		if (!k || !optarg[k] ||
		    (strcmp(ip, "host-gateway") != 0 && inet_pton(AF_INET, ip, a) != 1 &&
		     inet_pton(AF_INET6, ip, a) != 1))
			return failf("--add-host \"%s\": expected NAME:IP", optarg);
		husk_strv_push(&o->add_hosts, &r->n_hosts, optarg);
		return 0;
	}
	case 'p':
		if (husk_net_parse_publish(optarg, &o->ports, &o->n_ports, &err) < 0)
			return fail(err);
		return 0;
	case OPT_EGRESS_RATE:
		if (husk_net_parse_rate("--network-egress-rate", optarg, &o->net_egress_rate,
					&err) < 0)
			return fail(err);
		return 0;
	case OPT_INGRESS_RATE:
		if (husk_net_parse_rate("--network-ingress-rate", optarg, &o->net_ingress_rate,
					&err) < 0)
			return fail(err);
		return 0;
	case 'P':
		o->publish_all = true;
		return 0;
	case OPT_EXPOSE: {
		char **v = NULL;
		size_t nv = 0;
		if (husk_net_parse_expose(optarg, &v, &nv, &err) < 0)
			return fail(err);
		/* run's lists hold strings it owns in r->owned */
		for (size_t i = 0; i < nv; i++)
			strv_add(&o->expose, own(r, v[i]));
		free(v);
		return 0;
	}
	case OPT_MAC_ADDRESS: {
		unsigned char mac[6];
		if (husk_net_parse_mac(optarg, mac) < 0)
			return failf("--mac-address \"%s\": not a unicast MAC address", optarg);
		o->mac_address = optarg;
		return 0;
	}
	case OPT_RESTART:
		if (husk_restart_parse(optarg, &o->restart, &o->restart_max, &err) < 0)
			return fail(err);
		return 0;
	case OPT_LOG_DRIVER:
		if (husk_log_driver_parse(optarg) < 0)
			return failf("--log-driver \"%s\": expected json-file, k8s-file or none",
				     optarg);
		o->log_driver = optarg;
		return 0;
	case OPT_LOG_OPT:
		return parse_log_opt(o, optarg);
	case OPT_STOP_SIGNAL:
		if (parse_signal(optarg, &o->stop_signal) < 0)
			return failf("--stop-signal \"%s\": not a signal", optarg);
		return 0;
	case OPT_STOP_TIMEOUT: {
		long n;
		if (husk_parse_long(optarg, &n) < 0 || n < -1 || n > 100000)
			return failf("--stop-timeout \"%s\": expected seconds", optarg);
		o->stop_timeout = (int)n;
		return 0;
	}
	case OPT_SIG_PROXY:
		r->sig_proxy = strcmp(optarg, "false") != 0;
		return 0;
	case OPT_DETACH_KEYS:
		r->detach_keys = optarg;
		return 0;
	case OPT_HEALTH_CMD:
		o->health_cmd = optarg;
		return 0;
	case OPT_NO_HEALTHCHECK:
		o->no_healthcheck = true;
		return 0;
	case OPT_HEALTH_INTERVAL:
	case OPT_HEALTH_TIMEOUT:
	case OPT_HEALTH_START: {
		int64_t ns;
		const char *flag = c == OPT_HEALTH_INTERVAL  ? "--health-interval"
				   : c == OPT_HEALTH_TIMEOUT ? "--health-timeout"
							     : "--health-start-period";
		if (cli_parse_duration(optarg, &ns) < 0 || (c != OPT_HEALTH_START && ns < 1000000))
			return failf("%s \"%s\": expected a duration such as 30s or 500ms", flag,
				     optarg);
		*(c == OPT_HEALTH_INTERVAL  ? &o->health_interval_ns
		  : c == OPT_HEALTH_TIMEOUT ? &o->health_timeout_ns
					    : &o->health_start_period_ns) = ns;
		return 0;
	}
	case OPT_HEALTH_RETRIES: {
		long n;
		if (husk_parse_long(optarg, &n) < 0 || n < 1 || n > 1000000)
			return failf("--health-retries \"%s\": expected a number from 1", optarg);
		o->health_retries = (int)n;
		return 0;
	}
	case OPT_HEALTH_ON_FAILURE:
		if (husk_health_action_parse(optarg, &o->health_on_failure, &err) < 0)
			return fail(err);
		return 0;
	default:
		return parse_more(r, c);
	}
}

static int parse(struct run_cli *r, int argc, char **argv, const char *verb, char **ret_image)
{
	r->pull = CLI_PULL_MISSING;
	r->sig_proxy = true;
	r->o.stop_timeout = -1;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		int rc = parse_one(r, c);
		if (rc)
			return rc;
	}
	if (cli_operands(argc, argv, 1, -1))
		return 125;
	/* files first, then -e and -l over them, as Docker reads them */
	if (r->env_files || r->label_files) {
		char **env = NULL, **labels = NULL;
		int rc = 0;
		for (char **f = r->env_files; f && *f && !rc; f++)
			rc = read_kv_file(r, "--env-file", *f, true, &env);
		for (char **f = r->label_files; f && *f && !rc; f++)
			rc = read_kv_file(r, "--label-file", *f, false, &labels);
		for (char **e = r->o.env; e && *e; e++)
			strv_add(&env, *e);
		for (char **l = r->o.labels; l && *l; l++)
			strv_add(&labels, *l);
		free(r->o.env);
		free(r->o.labels);
		r->o.env = env;
		r->o.labels = labels;
		r->nenv = 0;
		while (env && env[r->nenv])
			r->nenv++;
		if (rc)
			return rc;
	}
	if (r->detach && r->attach_set)
		return failf("%s: -a and -d cannot go together", verb);

	if (!r->net_given)
		r->o.network = HUSK_NETMODE_BRIDGE; /* the default bridge, as Docker */
	if ((r->o.n_ports || r->o.publish_all) && r->o.network != HUSK_NETMODE_BRIDGE)
		return failf("%s: %s needs a bridge network, not --network %s", verb,
			     r->o.n_ports ? "-p" : "-P",
			     r->o.network == HUSK_NETMODE_HOST	 ? "host"
			     : r->o.network == HUSK_NETMODE_NONE ? "none"
								 : "container:");
	if ((r->o.net_egress_rate || r->o.net_ingress_rate) && r->o.network != HUSK_NETMODE_BRIDGE)
		return failf("%s: --network-egress-rate and --network-ingress-rate need a bridge "
			     "network, not --network %s",
			     verb,
			     r->o.network == HUSK_NETMODE_HOST	 ? "host"
			     : r->o.network == HUSK_NETMODE_NONE ? "none"
								 : "container:");
	if (r->o.mac_address && r->o.network != HUSK_NETMODE_BRIDGE)
		return failf("%s: --mac-address needs a bridge network", verb);
	if ((r->ip || r->ip6 || r->aliases) && r->o.network != HUSK_NETMODE_BRIDGE)
		return failf("%s: --ip, --ip6 and --network-alias need a network", verb);
	if (r->ip || r->ip6 || r->aliases) {
		if (!r->o.n_nets)
			return failf(
				"%s: --ip, --ip6 and --network-alias need a user-defined network",
				verb);
		r->o.nets[0].ip = r->ip;
		r->o.nets[0].ip6 = r->ip6;
		r->o.nets[0].aliases = steal_ptr(r->aliases);
	}
	if (r->detach && r->o.rm && r->o.restart != HUSK_RESTART_NO)
		return failf("%s: --restart and --rm cannot go together", verb);
	if (r->o.rm && r->o.restart != HUSK_RESTART_NO)
		return failf("%s: --restart and --rm cannot go together", verb);
	if (r->o.no_healthcheck && r->o.health_cmd)
		return failf("%s: --no-healthcheck and --health-cmd cannot go together", verb);
	if (cli_image_for_run(argv[optind], r->pull, r->quiet, ret_image) != 0)
		return 125; /* not in the store, and the pull failed */
	r->o.image = *ret_image;
	/* the pty starts at our terminal's size: the process may ask for it
	 * before the first resize could reach it */
	struct winsize ws;
	if (r->o.tty && isatty(0) && ioctl(0, TIOCGWINSZ, &ws) == 0) {
		r->o.tty_rows = ws.ws_row;
		r->o.tty_cols = ws.ws_col;
	}
	r->o.cmd = optind + 1 < argc ? argv + optind + 1 : NULL;
	return 0;
}

static void run_cli_clear(struct run_cli *r)
{
	run_opts_clear(&r->o);
	free(r->aliases);
	for (size_t i = 0; i < r->n_owned; i++)
		free(r->owned[i]);
	free(r->owned);
	free(r->env_files);
	free(r->label_files);
}

/* --cidfile: made before the container, refused when it is there (as
 * Docker: it may name a running container); -1 when there is none */
static int cidfile_open(const char *path)
{
	if (!path)
		return -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST)
		return failf("--cidfile \"%s\": the file is there: is its container still "
			     "running? remove the file",
			     path),
		       -2;
	if (fd < 0)
		return failf("--cidfile \"%s\": %s", path, strerror(errno)), -2;
	return fd;
}

static int cidfile_close(int fd, const char *path, const char *id)
{
	if (fd < 0)
		return 0;
	if (!id) {
		close(fd);
		unlink(path);
		return 0;
	}
	int rc = husk_write_all(fd, id, strlen(id));
	close(fd);
	if (rc < 0)
		return failf("--cidfile \"%s\": %s", path, strerror(errno));
	return 0;
}

/* --- update: run's limits and --restart, changed later --- */

const struct cli_flag update_flags[] = {
	{"memory", 'm', "SIZE", "memory limit (64m, 1g)"},
	{"memory-swap", 0, "SIZE", "memory and swap together (-1: no limit on swap)",
	 OPT_MEMORY_SWAP},
	{"memory-reservation", 0, "SIZE", "a soft memory limit", OPT_MEMORY_RESERVATION},
	{"cpus", 0, "N", "CPU limit, in CPUs (0.5)", OPT_CPUS},
	{"cpu-shares", 'c', "N", "CPU weight against other containers (1024)", OPT_CPU_SHARES},
	{"cpu-period", 0, "US", "the CFS period, microseconds", OPT_CPU_PERIOD},
	{"cpu-quota", 0, "US", "the CFS quota in each period, microseconds", OPT_CPU_QUOTA},
	{"pids-limit", 0, "N", "at most N processes", OPT_PIDS},
	{"blkio-weight", 0, "N", "block I/O weight (10 to 1000)", OPT_BLKIO_WEIGHT},
	{"restart", 0, "POLICY", "no, on-failure[:N], always or unless-stopped", OPT_RESTART},
	{0},
};

int cmd_update(int argc, char **argv)
{
	struct run_cli r = {0};
	r.o.restart_max = -1; /* --restart sets it */
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv)) != -1 && rc == 0)
		rc = parse_one(&r, c);
	if (rc == 0 && cli_operands(argc, argv, 1, -1))
		rc = 125;
	struct husk_update_opts u = {.memory = r.o.memory,
				     .memory_swap = r.o.memory_swap,
				     .memory_reservation = r.o.memory_reservation,
				     .cpus = r.o.cpus,
				     .cpu_shares = r.o.cpu_shares,
				     .cpu_period = r.o.cpu_period,
				     .cpu_quota = r.o.cpu_quota,
				     .pids_limit = r.o.pids_limit,
				     .blkio_weight = r.o.blkio_weight,
				     .restart_set = r.o.restart_max >= 0,
				     .restart = r.o.restart,
				     .restart_max = r.o.restart_max};
	if (rc == 0 && !u.memory && !u.memory_swap && !u.memory_reservation && u.cpus <= 0 &&
	    !u.cpu_shares && !u.cpu_period && !u.cpu_quota && !u.pids_limit && !u.blkio_weight &&
	    !u.restart_set)
		rc = cli_usage_error("nothing to change: give a limit or --restart");
	bool usage_ok = rc == 0;
	/* as Docker's: every container tried, each named once it is done */
	for (int i = optind; usage_ok && i < argc; i++) {
		husk_error *err = NULL;
		if (husk_engine_update(&eng, argv[i], &u, &err) < 0)
			rc = fail(err);
		else
			printf("%s\n", argv[i]);
	}
	run_cli_clear(&r);
	return rc;
}

int cmd_create(int argc, char **argv)
{
	struct run_cli r = {0};
	cleanup_free char *image = NULL;
	int rc = parse(&r, argc, argv, "create", &image);
	if (rc) {
		run_cli_clear(&r);
		return rc;
	}
	husk_error *err = NULL;
	cleanup_free char *id = NULL;
	int cid = cidfile_open(r.cidfile);
	if (cid == -2) {
		run_cli_clear(&r);
		return 125;
	}
	rc = husk_engine_create(&eng, &r.o, &id, &err) < 0 ? fail(err) : 0;
	if (cidfile_close(cid, r.cidfile, rc ? NULL : id) && rc == 0)
		rc = 125;
	run_cli_clear(&r);
	if (rc == 0)
		printf("%s\n", id);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	struct run_cli r = {0};
	cleanup_free char *image = NULL;
	int rc = parse(&r, argc, argv, "run", &image);
	if (rc) {
		run_cli_clear(&r);
		return rc;
	}
	husk_error *err = NULL;
	cleanup_free char *id = NULL;
	int cid = cidfile_open(r.cidfile);
	if (cid == -2) {
		run_cli_clear(&r);
		return 125;
	}
	if (husk_engine_create(&eng, &r.o, &id, &err) < 0) {
		cidfile_close(cid, r.cidfile, NULL);
		run_cli_clear(&r);
		return fail(err);
	}
	if (cidfile_close(cid, r.cidfile, id)) {
		run_cli_clear(&r);
		husk_engine_rm(&eng, id, true, true, NULL);
		return 125;
	}
	/* -a: only the streams named (Docker's default: all three) */
	struct husk_attach_opts ao = {.tty = r.o.tty,
				      .stdin_open =
					      r.o.interactive && (!r.attach_set || r.attach_in),
				      .sig_proxy = r.sig_proxy,
				      .detach_keys = r.detach_keys,
				      .drop_stdout = r.attach_set && !r.attach_out,
				      .drop_stderr = r.attach_set && !r.attach_err};
	bool detach = r.detach;
	run_cli_clear(&r);
	int client = -1, code = 125;
	if (husk_engine_start(&eng, id, detach ? NULL : &client, &code, &err) < 0) {
		fail(err);
		return code;
	}
	if (detach) {
		printf("%s\n", id);
		return 0;
	}
	rc = husk_attach_proxy(client, &ao, &err);
	close(client);
	if (rc == -2) {
		husk_error_free(err);
		husk_engine_detached(&eng, id);
		return 0; /* detached: it runs on */
	}
	if (rc < 0)
		return fail(err);
	return rc;
}

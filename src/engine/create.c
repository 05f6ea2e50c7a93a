/* husk_engine_create: a container made from an image, step by step, each
 * undone in reverse when a later one fails, so that a refused create
 * leaves nothing (no name, dir, mount, network). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "config.h"
#include "fault.h"
#include "engine-private.h"
#include "engine.h"
#include "image.h"
#include "overlay.h"
#include "user.h"
#include "util.h"
#include "volume.h"

/* 64 random hex digits, or NULL with errno set */
static char *new_id(void)
{
	unsigned char b[32];
	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return NULL;
	char *s = malloc(65);
	if (!s)
		return NULL;
	for (int i = 0; i < 32; i++)
		snprintf(s + i * 2, 3, "%02x", b[i]);
	return s;
}

static int find_image(struct husk_store *store, const char *name, struct husk_image **img,
		      husk_error **err)
{
	if (husk_store_find(store, name, img, err) == 0)
		return 0;
	if (strcmp(name, "busybox") != 0 && strcmp(name, "busybox:latest") != 0)
		return -1;
	husk_error_freep(err);
	if (husk_store_ensure_busybox(store, err) < 0)
		return -1;
	return husk_store_find(store, name, img, err);
}

/* /etc/hosts, /etc/hostname and /etc/resolv.conf for the modes without a
 * bridge: every container has all three, as Docker's do.  The host's
 * files are copied, never bound: a container must not write the host's. */
static int write_etc_files(const char *dir, const struct husk_run_opts *o, const char *hostname,
			   bool hosts_too, husk_error **err)
{
	cleanup_free char *hn = husk_strdup_printf("%s/hostname", dir);
	cleanup_free char *line = husk_strdup_printf("%s\n", hostname);
	if (husk_write_file(hn, line, strlen(line), 0644, err) < 0)
		return -1;
	if (!hosts_too)
		return 0;
	cleanup_free char *hosts = husk_strdup_printf("%s/hosts", dir);
	cleanup_free char *resolv = husk_strdup_printf("%s/resolv.conf", dir);
	cleanup_free char *text = NULL;
	size_t len = 0;
	husk_error *rerr = NULL;
	if (o->network == HUSK_NETMODE_HOST) {
		if (husk_read_file("/etc/hosts", &text, &len, &rerr) < 0) {
			husk_error_free(rerr);
			text = husk_strdup_printf("127.0.0.1\tlocalhost\n::1\tlocalhost\n");
		}
	} else {
		text = husk_strdup_printf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
					  "ip6-loopback\n127.0.0.1\t%s\n",
					  hostname);
	}
	if (husk_write_file(hosts, text, strlen(text), 0644, err) < 0)
		return -1;
	free(text);
	text = NULL;
	if (husk_read_file("/etc/resolv.conf", &text, &len, &rerr) < 0) {
		husk_error_free(rerr);
		text = strdup("");
	}
	return husk_write_file(resolv, text, strlen(text), 0644, err);
}

struct create_ctx {
	struct husk_engine *e;
	const struct husk_run_opts *o;
	struct husk_store *store;
	struct husk_image *img;
	char *id, *dir, *rootfs, *name, *hostname;
	/* flock of the container's dir while create runs: a dir with no
	 * record and no lock is what a crashed create left (container prune) */
	int dirlock;
	bool named, mounted, networked;
	char *netns, *network;
	struct husk_net_info net;
	struct husk_links links;
	char **add_hosts; /* --add-host's and the links', NULL-terminated */
	struct husk_user user;
	json_t *config;
	json_t *docker; /* inspect's view of the options */
	/* what the options need from the host */
	struct husk_host_dev *devs;
	size_t n_devs;
	char *init_path, *pid_ns, *ipc_ns;
	int seccomp_fd; /* the default profile, open, when it applies; else -1 */
	/* the mounts: the run options' and the image's VOLUMEs, volumes
	 * resolved to their directories (mounts), and as the record keeps
	 * them (rec_mounts: a volume there holds a ref until undone) */
	struct husk_volume *mounts;
	struct husk_ctr_mount *rec_mounts;
	size_t n_mounts;
};

/* The node at path, if it is a character or block device */
static int stat_dev(const char *path, struct husk_host_dev *ret)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
		errno = ENODEV;
		return -1;
	}
	*ret = (struct husk_host_dev){.path = strdup(path),
				      .type = S_ISCHR(st.st_mode) ? 'c' : 'b',
				      .major = major(st.st_rdev),
				      .minor = minor(st.st_rdev),
				      .mode = st.st_mode & 07777,
				      .uid = st.st_uid,
				      .gid = st.st_gid};
	if (!ret->path)
		abort();
	return 0;
}

static void push_dev(struct create_ctx *c, const struct husk_host_dev *d)
{
	c->devs = realloc(c->devs, (c->n_devs + 1) * sizeof(*c->devs));
	if (!c->devs)
		abort();
	c->devs[c->n_devs++] = *d;
}

/* --privileged: every device node under the host's /dev, as Docker's
 * GetDevices walks it (not the pty, shm, mqueue or fd trees) */
static void walk_dev(struct create_ctx *c, const char *dir, int depth)
{
	static const char *const skip[] = {"pts", "shm", "fd", "mqueue", ".lxc", ".udev"};
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		cleanup_free char *p = husk_strdup_printf("%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR) {
			bool skipped = false;
			for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
				skipped |= depth == 0 && strcmp(de->d_name, skip[i]) == 0;
			if (!skipped && depth < 4)
				walk_dev(c, p, depth + 1);
			continue;
		}
		if (strcmp(p, "/dev/console") == 0 || strcmp(p, "/dev/ptmx") == 0)
			continue;
		struct husk_host_dev hd;
		if ((de->d_type == DT_CHR || de->d_type == DT_BLK) && stat_dev(p, &hd) == 0)
			push_dev(c, &hd);
	}
	closedir(d);
}

static char *find_init(void)
{
	const char *env = getenv("HUSK_INIT_PATH");
	static const char *const paths[] = {"/usr/bin/tini-static", "/usr/bin/catatonit",
					    "/usr/libexec/podman/catatonit"};
	if (env && *env)
		return access(env, X_OK) == 0 ? strdup(env) : NULL;
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
		if (access(paths[i], X_OK) == 0)
			return strdup(paths[i]);
	return NULL;
}

/* container:NAME: the namespace file of that running container's init */
static int ns_of(struct create_ctx *c, const char *flag, const char *mode, const char *ns,
		 char **ret, husk_error **err)
{
	if (!mode || strncmp(mode, "container:", 10) != 0)
		return 0;
	struct husk_ctr other;
	if (husk_engine_get(c->e, mode + 10, &other, err) < 0)
		return husk_error_wrap(err, "%s \"%s\"", flag, mode);
	bool running = other.state == HUSK_CTR_RUNNING || other.state == HUSK_CTR_PAUSED;
	pid_t pid = other.pid;
	husk_ctr_release(&other);
	if (!running)
		return husk_fail_as(err, ENOTCONN, "%s \"%s\": that container is not running", flag,
				    mode);
	*ret = husk_strdup_printf("/proc/%d/ns/%s", (int)pid, ns);
	return 0;
}

/* What the options need from the host, found before anything is made:
 * device nodes, tini, the namespaces of other containers */
static int host_facts(struct create_ctx *c, husk_error **err)
{
	const struct husk_run_opts *o = c->o;
	struct husk_host_dev hd;
	for (size_t i = 0; i < o->n_devices; i++) {
		if (stat_dev(o->devices[i].host, &hd) < 0)
			return husk_fail(err, errno, "--device \"%s\"", o->devices[i].host);
		push_dev(c, &hd);
	}
	for (size_t i = 0; i < o->n_throttles; i++) {
		if (stat_dev(o->throttles[i].path, &hd) < 0)
			return husk_fail(err, errno, "\"%s\": a block device",
					 o->throttles[i].path);
		push_dev(c, &hd);
	}
	if (o->privileged)
		walk_dev(c, "/dev", 0);
	if (o->init && !(c->init_path = find_init()))
		return husk_fail_as(err, ENOENT,
				    "--init: no tini-static or catatonit on this host (Debian's "
				    "tini package has it; or set HUSK_INIT_PATH)");
	/* confined by default, as Docker and Podman: their default seccomp
	 * profile (Debian's containers-common ships it), unless the options
	 * say otherwise; no profile is an error, never an unconfined start */
	if (!o->seccomp_profile && !o->seccomp_unconfined && !o->privileged) {
		const char *env = getenv("HUSK_SECCOMP_PROFILE");
		const char *path = env && *env ? env : HUSK_DEFAULT_SECCOMP;
		c->seccomp_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (c->seccomp_fd < 0)
			return husk_fail(
				err, errno,
				"the default seccomp profile (Debian's "
				"golang-github-containers-common has it; or --security-opt "
				"seccomp=unconfined): open \"%s\"",
				path);
	}
	if (ns_of(c, "--pid", o->pid_mode, "pid", &c->pid_ns, err) < 0 ||
	    ns_of(c, "--ipc", o->ipc_mode, "ipc", &c->ipc_ns, err) < 0)
		return -1;
	return 0;
}

static uint64_t held_caps(void)
{
	uint64_t m = 0;
	for (int i = 0; i < 64; i++)
		if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1)
			m |= 1ull << i;
	return m;
}

static int make_dirs(struct create_ctx *c, husk_error **err)
{
	cleanup_free char *cdir = husk_strdup_printf("%s/containers", c->e->root);
	if (husk_mkdir_top(cdir, 0700, err) < 0)
		return -1;
	static const char *subs[] = {"", "/rootfs", "/upper", "/work"};
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		cleanup_free char *p = husk_strdup_printf("%s%s", c->dir, subs[i]);
		if (mkdir(p, 0700) < 0)
			return husk_fail(err, errno, "mkdir \"%s\"", p);
	}
	return 0;
}

static int resolve_user(struct create_ctx *c, husk_error **err)
{
	json_t *ic = json_object_get(c->img->config, "config");
	const char *spec = c->o->user ? c->o->user : json_string_value(json_object_get(ic, "User"));
	cleanup_close int fd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", c->rootfs);
	if (husk_user_resolve(fd, spec, &c->user, err) < 0)
		return -1;
	return husk_user_add_groups(fd, c->o->group_add, &c->user, err);
}

/* --network container:NAME: the stack of a running container, entered
 * through its init's /proc entry, and its hosts and resolv.conf copied */
static int join_container(struct create_ctx *c, husk_error **err)
{
	cleanup_free char *tid = NULL;
	struct husk_ctr t;
	if (husk_record_resolve(c->e->root, c->o->net_container, &tid, err) < 0 ||
	    husk_record_load(c->e->root, tid, &t, err) < 0)
		return husk_error_wrap(err, "--network container:%s", c->o->net_container);
	husk_record_observe(&t);
	int r = 0;
	if (t.state != HUSK_CTR_RUNNING && t.state != HUSK_CTR_PAUSED) {
		r = husk_fail_as(err, ENOTCONN,
				 "--network container:%s: the container is not running",
				 c->o->net_container);
	} else {
		c->netns = husk_strdup_printf("/proc/%d/ns/net", (int)t.pid);
		c->network = husk_strdup_printf("container:%s", tid);
		cleanup_free char *tdir = husk_engine_dir(c->e, tid);
		static const char *files[] = {"hosts", "resolv.conf"};
		for (size_t i = 0; i < ARRAY_SIZE(files) && r == 0; i++) {
			cleanup_free char *from = husk_strdup_printf("%s/%s", tdir, files[i]);
			cleanup_free char *to = husk_strdup_printf("%s/%s", c->dir, files[i]);
			cleanup_free char *text = NULL;
			size_t len = 0;
			if (husk_read_file(from, &text, &len, err) < 0 ||
			    husk_write_file(to, text, len, 0644, err) < 0)
				r = -1;
		}
	}
	husk_ctr_release(&t);
	return r;
}

/* The ports to publish: -p's, and with -P every exposed port (the
 * image's ExposedPorts and --expose) that -p does not publish, on a free
 * host port, as Docker's */
static struct husk_net_port *ports_to_publish(struct create_ctx *c, size_t *ret_n)
{
	const struct husk_run_opts *o = c->o;
	size_t n = o->n_ports;
	struct husk_net_port *v = calloc(n + 1, sizeof(*v));
	if (!v)
		abort();
	if (n)
		memcpy(v, o->ports, n * sizeof(*v));
	char **exposed = NULL;
	size_t ne = 0;
	if (o->publish_all) {
		const char *k;
		json_t *x;
		json_object_foreach (
			json_object_get(json_object_get(c->img->config, "config"), "ExposedPorts"),
			k, x)
			husk_strv_push(&exposed, &ne, strdup(k));
		for (char **e = o->expose; e && *e; e++)
			husk_strv_push(&exposed, &ne, strdup(*e));
	}
	for (size_t i = 0; i < ne; i++) {
		unsigned port = 0;
		char proto[8] = "tcp";
		if (sscanf(exposed[i], "%u/%7s", &port, proto) < 1 || !port || port > 65535 ||
		    (strcmp(proto, "tcp") && strcmp(proto, "udp")))
			continue;
		int pr = strcmp(proto, "udp") ? IPPROTO_TCP : IPPROTO_UDP;
		bool have = false;
		for (size_t k = 0; k < n && !have; k++)
			have = v[k].ctr == port && v[k].proto == pr;
		if (have)
			continue;
		v = realloc(v, (n + 2) * sizeof(*v));
		if (!v)
			abort();
		v[n++] = (struct husk_net_port){.ctr = (unsigned short)port, .proto = pr};
	}
	husk_strv_free(exposed, ne);
	*ret_n = n;
	return v;
}

/* --link: the linked containers found (running, on a network of ours),
 * their hosts entries after --add-host's */
static int resolve_links(struct create_ctx *c, husk_error **err)
{
	if (husk_links_resolve(c->e, c->o, c->name, &c->links, err) < 0)
		return -1;
	size_t n = 0;
	for (char **h = c->o->add_hosts; h && *h; h++)
		husk_strv_push(&c->add_hosts, &n, *h);
	for (size_t i = 0; i < c->links.n_hosts; i++)
		husk_strv_push(&c->add_hosts, &n, c->links.hosts[i]);
	return 0;
}

static int setup_network(struct create_ctx *c, husk_error **err)
{
	if (c->o->network == HUSK_NETMODE_CONTAINER) {
		if (join_container(c, err) < 0)
			return -1;
		return write_etc_files(c->dir, c->o, c->hostname, false, err);
	}
	if (c->o->network != HUSK_NETMODE_BRIDGE) {
		c->network = strdup(c->o->network == HUSK_NETMODE_HOST ? "host" : "none");
		return write_etc_files(c->dir, c->o, c->hostname, true, err);
	}
	size_t np = 0;
	cleanup_free struct husk_net_port *ports = ports_to_publish(c, &np);
	struct husk_net_opts no = {.root = c->e->root,
				   .runroot = c->e->runroot,
				   .id = c->id,
				   .dir = c->dir,
				   .name = c->name,
				   .hostname = c->hostname,
				   .nets = c->o->nets,
				   .n_nets = c->o->n_nets,
				   .ports = ports,
				   .n_ports = np,
				   .mac = c->o->mac_address,
				   .dns = c->o->dns,
				   .dns_search = c->o->dns_search,
				   .dns_options = c->o->dns_options,
				   .add_hosts = c->add_hosts,
				   .dns_path = c->e->dns_path,
				   .egress_rate = c->o->net_egress_rate,
				   .ingress_rate = c->o->net_ingress_rate};
	if (husk_net_setup(&no, &c->net, err) < 0)
		return -1;
	c->networked = true;
	c->netns = strdup(c->net.netns_path);
	c->network = strdup(c->net.eps[0].network);
	if (husk_net_endpoints_save(c->dir, c->net.eps, c->net.n_eps, err) < 0)
		return -1;
	return write_etc_files(c->dir, c->o, c->hostname, false, err);
}

/* Before anything is made: what Docker refuses at create (two mounts on
 * one path, a --mount bind whose source is missing) */
static int check_mounts(const struct husk_run_opts *o, husk_error **err)
{
	for (size_t i = 0; i < o->n_volumes; i++) {
		const struct husk_volume *v = &o->volumes[i];
		for (size_t k = 0; k < i; k++)
			if (strcmp(o->volumes[k].dst, v->dst) == 0)
				return husk_fail_as(err, EINVAL, "duplicate mount point: %s",
						    v->dst);
		if (v->type == HUSK_MOUNT_BIND && !v->bind_make && access(v->src, F_OK) < 0)
			return husk_fail_as(err, errno == ENOENT ? ENOENT : errno,
					    "invalid mount config for type \"bind\": bind source "
					    "path does not exist: %s",
					    v->src);
	}
	return 0;
}

static char *opt_value(char **options, const char *key)
{
	size_t n = strlen(key);
	for (char **p = options; p && *p; p++)
		if (strncmp(*p, key, n) == 0 && (*p)[n] == '=')
			return *p + n + 1;
	return NULL;
}

static bool has_word(const char *list, const char *word)
{
	cleanup_free char *copy = strdup(list ? list : "");
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (strcmp(t, word) == 0)
			return true;
	return false;
}

/* A volume into what config.json mounts: its data dir, or what its
 * options say (Docker's local driver: type, device, o), mounted for each
 * container that uses it */
static void resolve_volume(struct husk_volume *m, const struct husk_vol *vol)
{
	const char *type = opt_value(vol->options, "type");
	const char *device = opt_value(vol->options, "device");
	const char *o = opt_value(vol->options, "o");
	free(m->src);
	if (!type) {
		m->type = HUSK_MOUNT_BIND;
		m->src = strdup(vol->mountpoint);
	} else if (has_word(o, "bind") || has_word(o, "rbind")) {
		m->type = HUSK_MOUNT_BIND;
		m->src = strdup(device);
	} else {
		m->type = HUSK_MOUNT_FS;
		m->fstype = strdup(type);
		m->src = strdup(device);
		m->opts = o ? strdup(o) : NULL;
	}
}

static void add_mount(struct create_ctx *c, const struct husk_volume *v)
{
	size_t n = c->n_mounts;
	c->mounts = realloc(c->mounts, (n + 1) * sizeof(*c->mounts));
	c->rec_mounts = realloc(c->rec_mounts, (n + 1) * sizeof(*c->rec_mounts));
	if (!c->mounts || !c->rec_mounts)
		abort();
	struct husk_volume *m = &c->mounts[n];
	*m = (struct husk_volume){
		.type = v->type,
		.src = v->src ? strdup(v->src) : NULL,
		.dst = strdup(v->dst),
		.ro = v->ro,
		.propagation = v->propagation ? strdup(v->propagation) : NULL,
		.opts = v->opts ? strdup(v->opts) : NULL,
		.fstype = v->fstype ? strdup(v->fstype) : NULL,
	};
	const char *type = v->type == HUSK_MOUNT_VOLUME	 ? "volume"
			   : v->type == HUSK_MOUNT_TMPFS ? "tmpfs"
			   : v->type == HUSK_MOUNT_BIND	 ? "bind"
							 : "fs";
	const char *mode = v->mode ? v->mode : "";
	if (v->type == HUSK_MOUNT_VOLUME && v->mode && !*v->mode)
		mode = "z"; /* what Docker shows for -v NAME:/path */
	/* --tmpfs shows in HostConfig.Tmpfs, not in Mounts: no type, not saved */
	c->rec_mounts[n] = (struct husk_ctr_mount){
		.type = v->tmpfs_flag ? NULL : strdup(type),
		.source = strdup(v->type == HUSK_MOUNT_TMPFS ? ""
				 : v->src		     ? v->src
							     : ""),
		.destination = strdup(v->dst),
		.mode = strdup(mode),
		.propagation = strdup(v->type == HUSK_MOUNT_BIND
					      ? (v->propagation ? v->propagation : "rprivate")
					      : ""),
		.rw = !v->ro,
	};
	c->n_mounts++;
}

static void mounts_release(struct create_ctx *c)
{
	for (size_t i = 0; i < c->n_mounts; i++)
		husk_volume_release(&c->mounts[i]);
	free(c->mounts);
	struct husk_ctr tmp = {.mounts = c->rec_mounts, .n_mounts = c->n_mounts};
	husk_ctr_release(&tmp);
	c->mounts = NULL;
	c->rec_mounts = NULL;
	c->n_mounts = 0;
}

/* A volume for mount i: its ref taken (undone by undo), its content
 * copied up from the image when it is empty */
static int use_volume(struct create_ctx *c, size_t i, bool nocopy, husk_error **err)
{
	struct husk_volume *m = &c->mounts[i];
	struct husk_ctr_mount *rm = &c->rec_mounts[i];
	struct husk_vol vol;
	if (husk_volume_use(c->e->root, m->src, c->id, &vol, NULL, err) < 0)
		return -1;
	rm->name = strdup(vol.name);
	rm->anonymous = vol.anonymous && !m->src;
	free(rm->source);
	rm->source = strdup(vol.mountpoint);
	int r = 0;
	if (!nocopy && !opt_value(vol.options, "type"))
		r = husk_volume_copy_up(c->rootfs, m->dst, vol.mountpoint, err);
	resolve_volume(m, &vol);
	husk_vol_release(&vol);
	return r < 0 ? husk_error_wrap(err, "volume \"%s\"", rm->name) : 0;
}

/* A mount of this container is at dst already */
static bool mounted_at(const struct create_ctx *c, const char *dst)
{
	for (size_t i = 0; i < c->n_mounts; i++)
		if (strcmp(c->mounts[i].dst, dst) == 0)
			return true;
	return false;
}

/* --volumes-from CONTAINER[:ro|:rw]: its volumes and binds at the same
 * paths (not its tmpfs), as Docker's: read-only when it had them so or
 * :ro says, the options' own mounts first; no copy of the image's
 * content into them (they hold the other's already); the volumes used by
 * this container too, so neither can remove them while the other runs */
static int volumes_from(struct create_ctx *c, const char *spec, husk_error **err)
{
	cleanup_free char *name = strdup(spec);
	if (!name)
		return husk_fail(err, ENOMEM, "--volumes-from");
	bool force_ro = false;
	char *colon = strrchr(name, ':');
	if (colon && (strcmp(colon, ":ro") == 0 || strcmp(colon, ":rw") == 0)) {
		force_ro = colon[2] == 'o';
		*colon = '\0';
	} else if (colon) {
		return husk_fail_as(err, EINVAL, "--volumes-from \"%s\": the mode is ro or rw",
				    spec);
	}
	struct husk_ctr from;
	if (husk_engine_get(c->e, name, &from, err) < 0)
		return husk_error_wrap(err, "--volumes-from");
	int r = 0;
	for (size_t i = 0; i < from.n_mounts && r == 0; i++) {
		const struct husk_ctr_mount *m = &from.mounts[i];
		bool vol = m->type && strcmp(m->type, "volume") == 0;
		bool bind = m->type && strcmp(m->type, "bind") == 0;
		if ((!vol && !bind) || mounted_at(c, m->destination))
			continue;
		struct husk_volume v = {
			.type = vol ? HUSK_MOUNT_VOLUME : HUSK_MOUNT_BIND,
			.src = vol ? m->name : m->source,
			.dst = m->destination,
			.ro = force_ro || !m->rw,
			.nocopy = true,
			.propagation =
				bind && m->propagation && *m->propagation ? m->propagation : NULL,
			.mode = m->mode,
		};
		add_mount(c, &v);
		if (vol)
			r = use_volume(c, c->n_mounts - 1, true, err);
	}
	husk_ctr_release(&from);
	return r;
}

/* The run options' mounts and the image's VOLUMEs (each an anonymous
 * volume unless a mount of the options is there): volumes made or
 * found, with a ref for this container; -v's missing bind sources made,
 * as Docker makes them */
static int setup_mounts(struct create_ctx *c, husk_error **err)
{
	const struct husk_run_opts *o = c->o;
	for (size_t i = 0; i < o->n_volumes; i++) {
		const struct husk_volume *v = &o->volumes[i];
		add_mount(c, v);
		if (v->type == HUSK_MOUNT_VOLUME &&
		    use_volume(c, c->n_mounts - 1, v->nocopy, err) < 0)
			return -1;
		if (v->type == HUSK_MOUNT_BIND && v->bind_make && access(v->src, F_OK) < 0 &&
		    husk_mkdir_p(v->src, 0755, err) < 0)
			return husk_error_wrap(err, "create the bind source \"%s\"", v->src);
	}
	for (char **f = o->volumes_from; f && *f; f++)
		if (volumes_from(c, *f, err) < 0)
			return -1;
	const char *path;
	json_t *val;
	json_t *vols = json_object_get(json_object_get(c->img->config, "config"), "Volumes");
	json_object_foreach (vols, path, val) {
		cleanup_free char *dst = strdup(path);
		size_t n = strlen(dst);
		while (n > 1 && dst[n - 1] == '/')
			dst[--n] = '\0';
		if (dst[0] != '/' || mounted_at(c, dst))
			continue;
		struct husk_volume anon = {.type = HUSK_MOUNT_VOLUME, .dst = dst};
		add_mount(c, &anon);
		if (use_volume(c, c->n_mounts - 1, false, err) < 0)
			return -1;
	}
	return 0;
}

/* json-file's attrs (--log-opt labels=, env=, tag=...) beside the log,
 * where its writer reads them (logfile.h) */
static int write_log_attrs(struct create_ctx *c, husk_error **err)
{
	const struct husk_run_opts *o = c->o;
	if (!o->log_opts || (o->log_driver && strcmp(o->log_driver, "json-file") != 0))
		return 0;
	struct husk_log_tag t = {
		.id = c->id, .name = c->name, .image_id = c->img->id, .image_name = c->img->name};
	cleanup_free char *attrs = NULL;
	if (husk_log_attrs(o->log_opts, json_object_get(c->docker, "Config"), &t, &attrs, err) < 0)
		return -1;
	if (!attrs)
		return 0;
	cleanup_free char *log = husk_engine_log_path(c->e, c->id);
	cleanup_free char *path = husk_strdup_printf("%s-attrs", log);
	return husk_write_file(path, attrs, strlen(attrs), 0600, err);
}

/* config compact, with linux.seccomp the given JSON text: {...,"linux":
 * {...,"seccomp":TEXT}} */
static char *dump_with_seccomp(json_t *config, const char *seccomp)
{
	json_t *lx = json_incref(json_object_get(config, "linux"));
	if (!lx)
		lx = json_object();
	json_object_del(config, "linux");
	cleanup_free char *a = json_dumps(config, JSON_COMPACT);
	cleanup_free char *b = json_dumps(lx, JSON_COMPACT);
	json_object_set_new(config, "linux", lx);
	if (!a || !b)
		abort();
	size_t la = strlen(a), lb = strlen(b), ls = strlen(seccomp);
	/* both end in '}'; "{}" has nothing to follow with a comma.  Copied
	 * by hand: vasprintf grows its buffer for a 10 kB result */
	char *out = malloc(la + lb + ls + 32), *p = out;
	if (!out)
		abort();
#define PUT(s, n) (memcpy(p, (s), (n)), p += (n))
	PUT(a, la - 1);
	if (la > 2)
		PUT(",", 1);
	PUT("\"linux\":", 8);
	PUT(b, lb - 1);
	if (lb > 2)
		PUT(",", 1);
	PUT("\"seccomp\":", 10);
	PUT(seccomp, ls);
	PUT("}}", 3); /* with the NUL */
#undef PUT
	return out;
}

static int write_config(struct create_ctx *c, husk_error **err)
{
	cleanup_free char *hosts = husk_strdup_printf("%s/hosts", c->dir);
	cleanup_free char *hostname = husk_strdup_printf("%s/hostname", c->dir);
	cleanup_free char *resolv = husk_strdup_printf("%s/resolv.conf", c->dir);
	struct husk_config_in in = {
		.o = c->o,
		.image_config = json_object_get(c->img->config, "config"),
		.image_name = c->img->name,
		.id = c->id,
		.user = &c->user,
		.hostname = c->hostname,
		.hosts_path = hosts,
		.hostname_path = hostname,
		.resolv_path = resolv,
		.netns_path = c->netns,
		.held_caps = held_caps(),
		.init_path = c->init_path,
		.pid_ns_path = c->pid_ns,
		.ipc_ns_path = c->ipc_ns,
		.host_devs = c->devs,
		.n_host_devs = c->n_devs,
		.mounts = c->mounts,
		.n_mounts = c->n_mounts,
		.link_env = c->links.env,
		.link_specs = c->links.specs,
	};
	/* the default profile converted for this capability set, from the
	 * memo when it has it: config leaves linux.seccomp out and the text
	 * is spliced into config.json as it is, unparsed */
	cleanup_free char *seccomp = NULL;
	if (c->seccomp_fd >= 0) {
		json_t *caps = husk_engine_config_caps(&in, err);
		if (!caps)
			return -1;
		seccomp = husk_engine_seccomp_default(c->seccomp_fd, caps, err);
		json_decref(caps);
		if (!seccomp)
			return -1;
	}
	c->config = husk_engine_config(&in, err);
	if (!c->config)
		return -1;
	c->docker = husk_engine_config_docker(&in);
	if (write_log_attrs(c, err) < 0)
		return -1;
	cleanup_free char *cfg = husk_strdup_printf("%s/config.json", c->dir);
	/* compact: the runtime parses it on every start, and the profile's
	 * names indented took half its bytes */
	char *text = seccomp ? dump_with_seccomp(c->config, seccomp)
			     : json_dumps(c->config, JSON_COMPACT);
	if (!text)
		abort();
	int r = husk_write_file(cfg, text, strlen(text), 0600, err);
	free(text);
	return r;
}

/* The healthcheck: --health-cmd over the image's HEALTHCHECK, Docker's
 * defaults for what neither says (30 s, 30 s, 3 retries) */
static char **health_test(const struct husk_run_opts *o, json_t *hc)
{
	if (o->no_healthcheck)
		return NULL;
	char **t = NULL;
	size_t n = 0;
	if (o->health_cmd) {
		husk_strv_push(&t, &n, strdup("CMD-SHELL"));
		husk_strv_push(&t, &n, strdup(o->health_cmd));
		return t;
	}
	json_t *test = json_object_get(hc, "Test");
	const char *kind = json_string_value(json_array_get(test, 0));
	if (!kind || (strcmp(kind, "CMD") != 0 && strcmp(kind, "CMD-SHELL") != 0) ||
	    json_array_size(test) < 2)
		return NULL; /* none, "NONE", or inherited */
	size_t i;
	json_t *v;
	json_array_foreach (test, i, v)
		husk_strv_push(&t, &n, strdup(json_string_value(v) ?: ""));
	return t;
}

static int64_t pick(int64_t given, json_t *hc, const char *key, int64_t dflt)
{
	if (given > 0)
		return given;
	json_int_t v = json_integer_value(json_object_get(hc, key));
	return v > 0 ? (int64_t)v : dflt;
}

static int write_record(struct create_ctx *c, husk_error **err)
{
	const struct husk_run_opts *o = c->o;
	struct husk_ctr r = {
		.id = c->id,
		.name = c->name,
		.image = c->img->name,
		.image_id = c->img->id,
		.command = husk_engine_config_command(c->config),
		.created_ns = husk_time_ns(),
		.state = HUSK_CTR_CREATED,
		.rm = o->rm,
		.throwaway = o->throwaway_root,
		.tty = o->tty,
		.interactive = o->interactive,
		.network = c->network,
		.ip = c->networked ? c->net.ip : NULL,
		.hostname = c->hostname,
		.restart = o->restart,
		.restart_max = o->restart_max,
		.log_driver = (char *)(o->log_driver ? o->log_driver : "json-file"),
		.log_max_size = o->log_max_size,
		.log_max_file = o->log_max_file,
		.stop_signal = o->stop_signal,
		.stop_timeout = o->stop_timeout,
		.net_egress_rate = o->net_egress_rate,
		.net_ingress_rate = o->net_ingress_rate,
	};
	/* the ports as published, their host ports picked */
	char **ports = NULL;
	size_t np = c->networked ? c->net.n_ports : 0;
	if (np) {
		ports = calloc(np + 1, sizeof(char *));
		if (!ports)
			abort();
		for (size_t i = 0; i < np; i++) {
			const struct husk_net_port *p = &c->net.ports[i];
			/* an IPv6 address in brackets: [::1]:8080:80/tcp */
			bool v6 = strchr(p->host_ip, ':') != NULL;
			ports[i] =
				husk_strdup_printf("%s%s%s%s%u:%u/%s", v6 ? "[" : "", p->host_ip,
						   v6 ? "]" : "", *p->host_ip ? ":" : "", p->host,
						   p->ctr, p->proto == IPPROTO_UDP ? "udp" : "tcp");
		}
	}
	r.ports = ports;
	r.mounts = c->rec_mounts;
	r.n_mounts = c->n_mounts;
	r.read_only = o->read_only;
	char **tmpfs = NULL;
	size_t n_tmpfs = 0;
	for (size_t i = 0; i < o->n_volumes; i++)
		if (o->volumes[i].tmpfs_flag)
			husk_strv_push(&tmpfs, &n_tmpfs,
				       husk_strdup_printf("%s%s%s", o->volumes[i].dst,
							  o->volumes[i].opts ? ":" : "",
							  o->volumes[i].opts ?: ""));
	r.tmpfs = tmpfs;
	json_t *hc = json_object_get(json_object_get(c->img->config, "config"), "Healthcheck");
	r.test = health_test(o, hc);
	if (r.test) {
		r.health_interval_ns = pick(o->health_interval_ns, hc, "Interval", 30000000000LL);
		r.health_timeout_ns = pick(o->health_timeout_ns, hc, "Timeout", 30000000000LL);
		r.health_start_period_ns = pick(o->health_start_period_ns, hc, "StartPeriod", 0);
		r.health_retries = (int)pick(o->health_retries, hc, "Retries", 3);
		r.health_on_failure = o->health_on_failure;
	}
	/* inspect's view beside the record, before it: not in meta.json,
	 * which ps reads for every container */
	int ret = husk_record_save_docker(c->e->root, c->id, c->docker,
					  !o->rm && !o->throwaway_root, err);
	if (ret == 0)
		ret = husk_record_save(c->e->root, &r, err);
	for (char **t = r.test; t && *t; t++)
		free(*t);
	free(r.test);
	free(r.command);
	for (size_t i = 0; ports && ports[i]; i++)
		free(ports[i]);
	free(ports);
	husk_strv_free(tmpfs, n_tmpfs);
	return ret;
}

static void undo(struct create_ctx *c)
{
	if (c->networked)
		husk_net_teardown(c->e->runroot, c->id, NULL);
	for (size_t i = 0; i < c->n_mounts; i++)
		husk_volume_unuse(c->e->root, c->rec_mounts[i].name, c->id,
				  c->rec_mounts[i].anonymous);
	if (c->mounted)
		husk_overlay_unmount(c->rootfs, NULL);
	if (c->dir)
		husk_engine_rm_rf(c->dir);
	if (c->named)
		husk_name_release(c->e->root, c->name, c->id);
}

static char *default_hostname(const struct husk_run_opts *o, const char *id)
{
	if (o->hostname)
		return strdup(o->hostname);
	struct utsname u;
	if (o->network == HUSK_NETMODE_HOST && uname(&u) == 0)
		return strdup(u.nodename);
	return husk_strdup_printf("%.12s", id);
}

int husk_engine_create(struct husk_engine *e, const struct husk_run_opts *o, char **ret_id,
		       husk_error **err)
{
	struct create_ctx c = {.e = e, .o = o, .dirlock = -1, .seccomp_fd = -1};
	int r = -1;
	if (o->name && husk_name_check(o->name, err) < 0)
		return -1;
	if (check_mounts(o, err) < 0)
		return -1;
	if (husk_store_open(e->root, &c.store, err) < 0)
		return -1;
	if (o->image_obj)
		c.img = (struct husk_image *)o->image_obj;
	else if (find_image(c.store, o->image, &c.img, err) < 0)
		goto out;
	/* before making anything, so that a refused image leaves nothing */
	if (c.img->n_layers > OVERLAY_MAX_LAYERS) {
		husk_fail_as(err, E2BIG, "image \"%s\" has %zu layers; overlay stacks %d at most",
			     c.img->name, c.img->n_layers, OVERLAY_MAX_LAYERS);
		goto out;
	}
	if (c.img->n_layers == 0) {
		husk_fail_as(err, EINVAL, "image \"%s\" has no layers", c.img->name);
		goto out;
	}
	if (host_facts(&c, err) < 0)
		goto out;
	c.id = new_id();
	if (!c.id) {
		husk_fail(err, errno, "a container id: getrandom");
		goto out;
	}
	c.name = o->name ? strdup(o->name) : husk_strdup_printf("husk_%.8s", c.id);
	c.hostname = default_hostname(o, c.id);
	c.dir = husk_engine_dir(e, c.id);
	c.rootfs = husk_strdup_printf("%s/rootfs", c.dir);
	if (make_dirs(&c, err) < 0)
		goto out;
	c.dirlock = open(c.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.dirlock < 0 || flock(c.dirlock, LOCK_EX) < 0) {
		husk_fail(err, errno, "lock \"%s\"", c.dir);
		goto out;
	}
	HUSK_FAULT(engine_create_dirs);
	if (husk_name_claim(e->root, c.name, c.id, err) < 0)
		goto out;
	c.named = true;
	HUSK_FAULT(engine_create_name);
	if (husk_overlay_mount(e->root, c.img, c.id, c.rootfs, o->rm || o->throwaway_root, err) < 0)
		goto out;
	c.mounted = true;
	HUSK_FAULT(engine_create_rootfs);
	if (setup_mounts(&c, err) < 0 || resolve_user(&c, err) < 0 || resolve_links(&c, err) < 0 ||
	    setup_network(&c, err) < 0)
		goto out;
	HUSK_FAULT(engine_create_network);
	if (write_config(&c, err) < 0)
		goto out;
	HUSK_FAULT(engine_create_config);
	if (write_record(&c, err) < 0)
		goto out;
	HUSK_FAULT(engine_create_record);
	husk_engine_event(e, "create", c.id, c.name, c.img->name, NULL);
	*ret_id = steal_ptr(c.id);
	r = 0;
out:
	if (r < 0)
		undo(&c);
	if (c.dirlock >= 0)
		close(c.dirlock);
	husk_net_info_release(&c.net);
	husk_links_release(&c.links);
	free(c.add_hosts);
	husk_user_release(&c.user);
	mounts_release(&c);
	json_decref(c.config);
	json_decref(c.docker);
	for (size_t i = 0; i < c.n_devs; i++)
		free((char *)c.devs[i].path);
	free(c.devs);
	free(c.init_path);
	if (c.seccomp_fd >= 0)
		close(c.seccomp_fd);
	free(c.pid_ns);
	free(c.ipc_ns);
	if (!o->image_obj)
		husk_image_free(c.img);
	husk_store_close(c.store);
	free(c.id);
	free(c.dir);
	free(c.rootfs);
	free(c.name);
	free(c.hostname);
	free(c.netns);
	free(c.network);
	return r;
}

/* Looking at containers and images: top, stats, diff, history, info, the
 * disk they use (system df) and what pruning takes back.  Nothing here
 * changes a container but prune, which goes through husk_engine_rm. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "engine-private.h"
#include "engine.h"
#include "image.h"
#include "util.h"

static bool live(const struct husk_ctr *c)
{
	return c->state == HUSK_CTR_RUNNING || c->state == HUSK_CTR_PAUSED;
}

/* --- sizes --- */

static long long du_total;

static int du_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p;
	(void)f;
	if (flag == FTW_F || flag == FTW_SL)
		du_total += st->st_size;
	return 0;
}

/* The bytes of the files below dir, as Docker counts a layer's size (the
 * engine is single-threaded: nftw takes no user data) */
static long long du(const char *dir)
{
	du_total = 0;
	nftw(dir, du_entry, 32, FTW_PHYS);
	return du_total;
}

static long long upper_size(struct husk_engine *e, const char *id)
{
	cleanup_free char *up = husk_strdup_printf("%s/containers/%s/upper", e->root, id);
	return du(up);
}

int husk_engine_ctr_sizes(struct husk_engine *e, const struct husk_ctr *v, size_t n,
			  long long *ret_rw, long long *ret_rootfs, husk_error **err)
{
	struct husk_store *s = NULL;
	struct husk_image **imgs = NULL;
	size_t ni = 0;
	if (husk_store_open(e->root, &s, err) < 0 || husk_store_list(s, &imgs, &ni, err) < 0) {
		husk_store_close(s);
		return -1;
	}
	husk_store_close(s);
	/* an image's size by its id and by its name (older records have no id) */
	json_t *size_of = json_object();
	for (size_t i = 0; i < ni; i++) {
		json_object_set_new(size_of, imgs[i]->id, json_integer(imgs[i]->size));
		json_object_set_new(size_of, imgs[i]->name, json_integer(imgs[i]->size));
		husk_image_free(imgs[i]);
	}
	free(imgs);
	for (size_t i = 0; i < n; i++) {
		json_t *img = v[i].image_id ? json_object_get(size_of, v[i].image_id) : NULL;
		if (!img && v[i].image) {
			cleanup_free char *k = husk_image_ref_normalize(v[i].image);
			img = json_object_get(size_of, k);
		}
		ret_rw[i] = upper_size(e, v[i].id);
		ret_rootfs[i] = ret_rw[i] + json_integer_value(img);
	}
	json_decref(size_of);
	return 0;
}

/* --- top --- */

void husk_top_release(struct husk_top *t)
{
	for (size_t i = 0; i < t->n_titles; i++)
		free(t->titles[i]);
	free(t->titles);
	for (size_t r = 0; r < t->n_rows; r++) {
		for (size_t i = 0; i < t->n_titles; i++)
			free(t->rows[r][i]);
		free(t->rows[r]);
	}
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

/* ps's whole output, run with args; its exit status in *ret_status */
static int run_ps(char *const *args, char **ret, int *ret_status, husk_error **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_fail(err, errno, "pipe");
	size_t n = 0;
	while (args && args[n])
		n++;
	char **argv = calloc(n + 2, sizeof(char *));
	if (!argv)
		abort();
	argv[0] = "ps";
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = args[i];
	pid_t pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(p[1], 1) < 0)
			_exit(127);
		execvp("ps", argv);
		_exit(127);
	}
	int en = errno;
	free(argv);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return husk_fail(err, en, "fork ps");
	}
	size_t len = 0;
	int r = husk_read_fd_all(p[0], ret, &len, err);
	close(p[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*ret_status = st;
	return r;
}

/* The words of a line: up to max columns, the last taking the rest */
static char **split_cols(const char *line, size_t max)
{
	char **v = calloc(max + 1, sizeof(char *));
	if (!v)
		abort();
	const char *p = line;
	for (size_t i = 0; i < max; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (i + 1 == max) {
			v[i] = strdup(p);
			break;
		}
		const char *s = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		v[i] = strndup(s, (size_t)(p - s));
	}
	return v;
}

int husk_engine_top(struct husk_engine *e, const char *name_or_id, char *const *ps_args,
		    struct husk_top *ret, husk_error **err)
{
	memset(ret, 0, sizeof(*ret));
	struct husk_ctr c;
	if (husk_engine_get(e, name_or_id, &c, err) < 0)
		return -1;
	cleanup_free char *id = strdup(c.id);
	bool running = live(&c);
	husk_ctr_release(&c);
	if (!running)
		return husk_fail_as(err, ENOTCONN, "container \"%s\" is not running", name_or_id);
	cleanup_free pid_t *pids = NULL;
	size_t np = 0;
	if (husk_pids(e->runroot, id, &pids, &np, err) < 0)
		return husk_error_wrap(err, "top of container \"%s\"", name_or_id);
	static char *const dflt[] = {"-ef", NULL};
	cleanup_free char *out = NULL;
	int st = 0;
	if (run_ps(ps_args && ps_args[0] ? ps_args : dflt, &out, &st, err) < 0)
		return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char *nl = strchr(out, '\n');
		if (nl && nl[1] == '\0')
			*nl = '\0';
		return husk_fail_as(err, EINVAL, "ps failed (status %d): %s",
				    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out);
	}
	char *save = NULL;
	char *header = strtok_r(out, "\n", &save);
	if (!header)
		return husk_fail_as(err, EINVAL, "ps printed nothing");
	/* the titles: one word each */
	size_t nt = 0;
	char **tv = NULL;
	char *hs = NULL;
	cleanup_free char *hcopy = strdup(header);
	for (char *w = strtok_r(hcopy, " \t", &hs); w; w = strtok_r(NULL, " \t", &hs))
		husk_strv_push(&tv, &nt, strdup(w));
	ssize_t pidcol = -1;
	for (size_t i = 0; i < nt; i++)
		if (strcmp(tv[i], "PID") == 0)
			pidcol = (ssize_t)i;
	ret->titles = tv;
	ret->n_titles = nt;
	if (pidcol < 0) {
		husk_top_release(ret);
		return husk_fail_as(err, EINVAL, "no PID column in the output of ps");
	}
	for (char *l = strtok_r(NULL, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char **cols = split_cols(l, nt);
		long pid;
		bool ours = false;
		if (cols[pidcol] && husk_parse_long(cols[pidcol], &pid) == 0)
			for (size_t i = 0; i < np && !ours; i++)
				ours = pids[i] == (pid_t)pid;
		if (!ours) {
			for (size_t i = 0; i < nt; i++)
				free(cols[i]);
			free(cols);
			continue;
		}
		ret->rows = realloc(ret->rows, (ret->n_rows + 1) * sizeof(char **));
		if (!ret->rows)
			abort();
		for (size_t i = 0; i < nt; i++)
			if (!cols[i])
				cols[i] = strdup("");
		ret->rows[ret->n_rows++] = cols;
	}
	return 0;
}

/* --- stats --- */

void husk_stats_release(struct husk_stats *s)
{
	free(s->id);
	free(s->name);
	memset(s, 0, sizeof(*s));
}

static long long mem_total(void)
{
	cleanup_free char *t = NULL;
	if (husk_read_file("/proc/meminfo", &t, NULL, NULL) < 0)
		return 0;
	const char *p = strstr(t, "MemTotal:");
	unsigned long long kb = 0;
	if (p)
		sscanf(p + 9, "%llu", &kb);
	return (long long)kb * 1024;
}

/* The bytes in and out of every interface but lo, in the network
 * namespace of pid */
static void net_io(pid_t pid, uint64_t *rx, uint64_t *tx)
{
	cleanup_free char *path = husk_strdup_printf("/proc/%d/net/dev", (int)pid);
	cleanup_free char *t = NULL;
	*rx = *tx = 0;
	if (husk_read_file(path, &t, NULL, NULL) < 0)
		return;
	char *save = NULL;
	for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(l, ':');
		if (!colon)
			continue;
		*colon = '\0';
		while (*l == ' ')
			l++;
		if (strcmp(l, "lo") == 0)
			continue;
		unsigned long long v[9];
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) == 9) {
			*rx += v[0];
			*tx += v[8];
		}
	}
}

int husk_engine_stats(struct husk_engine *e, const char *name_or_id, struct husk_stats *ret,
		      husk_error **err)
{
	memset(ret, 0, sizeof(*ret));
	struct husk_ctr c;
	if (husk_engine_get(e, name_or_id, &c, err) < 0)
		return -1;
	ret->id = strdup(c.id);
	ret->name = strdup(c.name);
	bool running = live(&c);
	pid_t pid = c.pid;
	bool host_net = c.network && strcmp(c.network, "host") == 0;
	husk_ctr_release(&c);
	if (!running)
		return husk_fail_as(err, ENOTCONN, "container \"%s\" is not running", name_or_id);
	cleanup_free char *js = NULL;
	if (husk_stats(e->runroot, ret->id, &js, NULL, NULL, err) < 0)
		return husk_error_wrap(err, "stats of container \"%s\"", name_or_id);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ret->read_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	json_t *j = json_loads(js, 0, NULL);
	json_t *d = json_object_get(j, "data");
	json_t *mem = json_object_get(d, "memory");
	json_t *raw = json_object_get(mem, "raw");
	ret->cpu_ns = (uint64_t)json_integer_value(
		json_object_get(json_object_get(json_object_get(d, "cpu"), "usage"), "total"));
	long long usage =
		json_integer_value(json_object_get(json_object_get(mem, "usage"), "usage"));
	/* Docker's: the page cache that could go is not counted */
	json_t *inactive = json_object_get(raw, "total_inactive_file");
	if (!inactive)
		inactive = json_object_get(raw, "inactive_file");
	long long cache = json_integer_value(inactive);
	ret->mem_usage = usage > cache ? usage - cache : usage;
	long long limit =
		json_integer_value(json_object_get(json_object_get(mem, "usage"), "limit"));
	long long host = mem_total();
	ret->mem_limit = limit <= 0 || (host > 0 && limit > host) ? host : limit;
	ret->pids = json_integer_value(json_object_get(json_object_get(d, "pids"), "current"));
	size_t i;
	json_t *b;
	json_array_foreach (json_object_get(json_object_get(d, "blkio"), "ioServiceBytesRecursive"),
			    i, b) {
		const char *op = json_string_value(json_object_get(b, "op"));
		uint64_t v = (uint64_t)json_integer_value(json_object_get(b, "value"));
		if (op && strcasecmp(op, "read") == 0)
			ret->blk_read += v;
		else if (op && strcasecmp(op, "write") == 0)
			ret->blk_write += v;
	}
	json_decref(j);
	if (!host_net)
		net_io(pid, &ret->net_rx, &ret->net_tx);
	ret->running = true;
	return 0;
}

/* --- diff --- */

void husk_changes_free(struct husk_change *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

struct diff_ctx {
	struct husk_image *img;
	struct husk_change *v;
	size_t n, cap;
};

static void add_change(struct diff_ctx *d, char kind, const char *path)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 32;
		d->v = realloc(d->v, d->cap * sizeof(*d->v));
		if (!d->v)
			abort();
	}
	d->v[d->n++] = (struct husk_change){.kind = kind, .path = strdup(path)};
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* Is path (absolute in the container) in the image, as the layers stack:
 * the highest layer that has it or a whiteout of it says */
static bool in_image(const struct diff_ctx *d, const char *path)
{
	for (size_t i = d->img->n_layers; i-- > 0;) {
		cleanup_free char *p = husk_strdup_printf("%s%s", d->img->layers[i], path);
		struct stat st;
		if (lstat(p, &st) < 0)
			continue;
		return !is_whiteout(&st);
	}
	return false;
}

/* Paths the engine itself puts in every container (mount points for the
 * files it binds), which Docker keeps out of a diff as well */
static bool engine_made(const char *path)
{
	static const char *const own[] = {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf",
					  "/.husk", NULL};
	for (size_t i = 0; own[i]; i++)
		if (strcmp(path, own[i]) == 0)
			return true;
	return false;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(struct diff_ctx *d, const char *upper, const char *rel, bool parent_new)
{
	cleanup_free char *dir = husk_strdup_printf("%s%s", upper, rel);
	DIR *dp = opendir(dir);
	if (!dp)
		return;
	char **names = NULL;
	size_t nn = 0;
	struct dirent *de;
	while ((de = readdir(dp)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			husk_strv_push(&names, &nn, strdup(de->d_name));
	closedir(dp);
	if (nn)
		qsort(names, nn, sizeof(char *), by_name);
	for (size_t i = 0; i < nn; i++) {
		cleanup_free char *path = husk_strdup_printf("%s/%s", rel, names[i]);
		cleanup_free char *full = husk_strdup_printf("%s%s", upper, path);
		struct stat st;
		if (lstat(full, &st) < 0 || engine_made(path))
			continue;
		if (is_whiteout(&st)) {
			add_change(d, 'D', path);
			continue;
		}
		bool existed = !parent_new && in_image(d, path);
		add_change(d, existed ? 'C' : 'A', path);
		if (!S_ISDIR(st.st_mode))
			continue;
		char o = 0;
		bool opaque = lgetxattr(full, "trusted.overlay.opaque", &o, 1) == 1 && o == 'y';
		if (opaque && existed) {
			/* what the lower layers had here is hidden: deleted,
			 * unless the upper dir has it again */
			for (size_t l = 0; l < d->img->n_layers; l++) {
				cleanup_free char *ld =
					husk_strdup_printf("%s%s", d->img->layers[l], path);
				DIR *lp = opendir(ld);
				struct dirent *le;
				while (lp && (le = readdir(lp))) {
					if (strcmp(le->d_name, ".") == 0 ||
					    strcmp(le->d_name, "..") == 0)
						continue;
					cleanup_free char *sub =
						husk_strdup_printf("%s/%s", path, le->d_name);
					cleanup_free char *up =
						husk_strdup_printf("%s%s", upper, sub);
					struct stat us;
					bool dup = false;
					for (size_t k = 0; k < d->n && !dup; k++)
						dup = d->v[k].kind == 'D' &&
						      strcmp(d->v[k].path, sub) == 0;
					if (!dup && lstat(up, &us) < 0 && in_image(d, sub))
						add_change(d, 'D', sub);
				}
				if (lp)
					closedir(lp);
			}
		}
		walk(d, upper, path, !existed || opaque);
	}
	husk_strv_free(names, nn);
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct husk_change *)a)->path, ((const struct husk_change *)b)->path);
}

int husk_engine_diff(struct husk_engine *e, const char *name_or_id, struct husk_change **ret,
		     size_t *ret_n, husk_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	struct husk_ctr c;
	if (husk_engine_get(e, name_or_id, &c, err) < 0)
		return -1;
	struct husk_store *store = NULL;
	struct diff_ctx d = {0};
	cleanup_free char *upper = husk_strdup_printf("%s/containers/%s/upper", e->root, c.id);
	int r = -1;
	if (husk_store_open(e->root, &store, err) < 0 ||
	    husk_store_find(store, c.image, &d.img, err) < 0) {
		husk_error_wrap(err, "diff of container \"%s\"", name_or_id);
		goto out;
	}
	walk(&d, upper, "", false);
	if (d.n)
		qsort(d.v, d.n, sizeof(*d.v), by_path);
	*ret = d.v;
	*ret_n = d.n;
	r = 0;
out:
	husk_image_free(d.img);
	husk_store_close(store);
	husk_ctr_release(&c);
	return r;
}

/* --- history --- */

void husk_history_free(struct husk_history *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].created_by);
		free(v[i].comment);
	}
	free(v);
}

static long long parse_time(const char *s)
{
	struct tm tm = {0};
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return (long long)timegm(&tm);
}

int husk_engine_history(struct husk_engine *e, const char *image, struct husk_history **ret,
			size_t *ret_n, husk_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	struct husk_store *store = NULL;
	struct husk_image *img = NULL;
	if (husk_store_open(e->root, &store, err) < 0)
		return -1;
	if (husk_store_find(store, image, &img, err) < 0) {
		husk_error *ferr = err ? *err : NULL;
		bool bb = ferr && ferr->errnum == ENOENT &&
			  (strcmp(image, "busybox") == 0 || strcmp(image, "busybox:latest") == 0);
		if (!bb || (husk_error_freep(err), husk_store_ensure_busybox(store, err) < 0) ||
		    husk_store_find(store, image, &img, err) < 0) {
			husk_store_close(store);
			return -1;
		}
	}
	json_t *hist = json_object_get(img->config, "history");
	size_t nh = json_array_size(hist);
	size_t n = nh ? nh : img->n_layers;
	struct husk_history *v = calloc(n + 1, sizeof(*v));
	if (!v)
		abort();
	/* oldest first in the config, each non-empty step the next layer */
	size_t layer = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *h = json_array_get(hist, i);
		struct husk_history *o = &v[n - 1 - i];
		o->created = h ? parse_time(json_string_value(json_object_get(h, "created")))
			       : img->created;
		o->created_by = strdup(json_string_value(json_object_get(h, "created_by")) ?: "");
		o->comment = strdup(json_string_value(json_object_get(h, "comment")) ?: "");
		o->empty_layer = json_is_true(json_object_get(h, "empty_layer"));
		if (!o->empty_layer && layer < img->n_layers)
			o->size = du(img->layers[layer++]);
	}
	v[0].id = strdup(img->id);
	*ret = v;
	*ret_n = n;
	husk_image_free(img);
	husk_store_close(store);
	return 0;
}

/* --- info --- */

void husk_info_release(struct husk_info *i)
{
	free(i->kernel);
	free(i->os);
	free(i->arch);
	free(i->hostname);
	free(i->root);
	free(i->runroot);
	memset(i, 0, sizeof(*i));
}

/* PRETTY_NAME of os-release */
static char *os_name(void)
{
	cleanup_free char *t = NULL;
	if (husk_read_file("/etc/os-release", &t, NULL, NULL) < 0)
		return strdup("Linux");
	char *save = NULL;
	for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "PRETTY_NAME=", 12) != 0)
			continue;
		char *v = l + 12;
		size_t len = strlen(v);
		if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
			v[len - 1] = '\0';
			v++;
		}
		return strdup(v);
	}
	return strdup("Linux");
}

static bool file_says(const char *path, const char *want)
{
	cleanup_free char *t = NULL;
	return husk_read_file(path, &t, NULL, NULL) == 0 && strncmp(t, want, strlen(want)) == 0;
}

int husk_engine_info(struct husk_engine *e, struct husk_info *ret, husk_error **err)
{
	memset(ret, 0, sizeof(*ret));
	struct utsname u;
	uname(&u);
	ret->kernel = strdup(u.release);
	ret->hostname = strdup(u.nodename);
	ret->arch = strdup(u.machine);
	ret->os = os_name();
	enum husk_cgroup_mode m = husk_cgroup_mode();
	ret->cgroup_mode = m == HUSK_CGROUP_V2 ? "v2" : m == HUSK_CGROUP_HYBRID ? "hybrid" : "v1";
	ret->cgroup_version = m == HUSK_CGROUP_V2 ? 2 : 1;
	ret->root = strdup(e->root);
	ret->runroot = strdup(e->runroot);
	struct statvfs sv;
	if (statvfs(e->root, &sv) == 0) {
		ret->root_fs_size = (unsigned long long)sv.f_blocks * sv.f_frsize;
		ret->root_fs_free = (unsigned long long)sv.f_bavail * sv.f_frsize;
	}
	/* the kernel has seccomp when /proc says a mode for us */
	cleanup_free char *status = NULL;
	ret->seccomp = husk_read_file("/proc/self/status", &status, NULL, NULL) == 0 &&
		       strstr(status, "\nSeccomp:") != NULL;
	ret->apparmor = file_says("/sys/module/apparmor/parameters/enabled", "Y");
	ret->selinux = access("/sys/fs/selinux/enforce", F_OK) == 0;
	ret->rootless = geteuid() != 0;
	ret->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	ret->mem_total = mem_total();
	struct husk_ctr *v = NULL;
	size_t n = 0;
	if (husk_engine_list(e, &v, &n, err) < 0)
		return -1;
	ret->containers = n;
	for (size_t i = 0; i < n; i++) {
		if (v[i].state == HUSK_CTR_RUNNING)
			ret->running++;
		else if (v[i].state == HUSK_CTR_PAUSED)
			ret->paused++;
		else
			ret->stopped++;
	}
	husk_engine_list_free(v, n);
	struct husk_store *s = NULL;
	struct husk_image **imgs = NULL;
	size_t ni = 0;
	if (husk_store_open(e->root, &s, err) < 0)
		return -1;
	int r = husk_store_list(s, &imgs, &ni, err);
	for (size_t i = 0; i < ni; i++)
		husk_image_free(imgs[i]);
	free(imgs);
	husk_store_close(s);
	ret->images = ni;
	return r;
}

/* --- prune and df --- */

/* the labels a container was made with (docker.json), borrowed */
static json_t *ctr_labels(struct husk_engine *e, struct husk_ctr *c)
{
	if (!c->docker)
		husk_record_load_docker(e->root, c, NULL);
	return json_object_get(json_object_get(c->docker, "Config"), "Labels");
}

int husk_engine_ctr_extras(struct husk_engine *e, struct husk_ctr *c, json_t **ret_labels,
			   char **ret_networks, husk_error **err)
{
	if (ret_labels) {
		json_t *l = ctr_labels(e, c);
		*ret_labels = json_is_object(l) ? json_copy(l) : json_object();
	}
	if (ret_networks) {
		struct husk_net_endpoint *eps = NULL;
		size_t n = 0;
		if (husk_engine_net_endpoints(e, c->id, &eps, &n, err) < 0)
			return -1;
		char **v = NULL;
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			husk_strv_push(&v, &k, strdup(eps[i].network));
			husk_net_endpoint_release(&eps[i]);
		}
		free(eps);
		if (!k && c->network)
			husk_strv_push(&v, &k, strdup(c->network));
		*ret_networks = husk_strv_join_sorted(v, k, ",");
		husk_strv_free(v, k);
	}
	return 0;
}

int husk_engine_container_prune(struct husk_engine *e, const struct husk_prune_filter *f,
				char ***ret_ids, size_t *ret_n, long long *ret_reclaimed,
				husk_error **err)
{
	*ret_ids = NULL;
	*ret_n = 0;
	*ret_reclaimed = 0;
	struct husk_ctr *v = NULL;
	size_t n = 0, k = 0;
	husk_engine_trash_sweep(e);
	if (husk_engine_list(e, &v, &n, err) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].state != HUSK_CTR_EXITED && v[i].state != HUSK_CTR_CREATED)
			continue;
		if (!husk_prune_filter_empty(f) &&
		    !husk_prune_filter_match(f, ctr_labels(e, &v[i]), v[i].created_ns))
			continue;
		long long size = upper_size(e, v[i].id);
		husk_error *rerr = NULL;
		if (husk_engine_rm(e, v[i].id, false, false, &rerr) < 0) {
			/* started since it was listed (EBUSY), or gone: not ours */
			if (rerr && rerr->errnum != EBUSY && rerr->errnum != ENOENT && r == 0) {
				if (err)
					*err = rerr;
				else
					husk_error_free(rerr);
				rerr = NULL;
				r = -1;
			}
			husk_error_free(rerr);
			continue;
		}
		husk_strv_push(ret_ids, &k, strdup(v[i].id));
		*ret_reclaimed += size;
	}
	husk_engine_list_free(v, n);
	/* what a create killed before its record left: a dir with no
	 * meta.json whose creator's lock (create.c) is free */
	cleanup_free char *cdir = husk_strdup_printf("%s/containers", e->root);
	DIR *d = husk_prune_filter_empty(f) ? opendir(cdir) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || faccessat(dirfd(d), de->d_name, F_OK, 0) < 0)
			continue;
		cleanup_free char *meta = husk_strdup_printf("%s/meta.json", de->d_name);
		if (faccessat(dirfd(d), meta, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		cleanup_close int fd =
			openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; /* being created */
		if (husk_engine_cleanup_volumes(e, de->d_name, true, 1, NULL) == 0)
			husk_strv_push(ret_ids, &k, strdup(de->d_name));
	}
	if (d)
		closedir(d);
	*ret_n = k;
	return r;
}

/* The image names containers use, normalized (busybox -> busybox:latest),
 * and their image ids (a name can have moved to another image since) */
static json_t *images_in_use(struct husk_ctr *v, size_t n)
{
	json_t *set = json_object();
	for (size_t i = 0; i < n; i++) {
		if (v[i].image_id)
			json_object_set_new(set, v[i].image_id, json_true());
		if (!v[i].image || !*v[i].image)
			continue;
		char *k = husk_image_ref_normalize(v[i].image);
		json_t *c = json_object_get(set, k);
		json_object_set_new(set, k, json_integer(json_integer_value(c) + 1));
		free(k);
	}
	return set;
}

void husk_image_pruned_free(struct husk_image_pruned *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].untagged);
		free(v[i].deleted);
	}
	free(v);
}

/* a name a commit, import or build without a name left: its digest */
static bool dangling(const char *name)
{
	return strncmp(name, "sha256:", 7) == 0;
}

int husk_engine_image_prune(struct husk_engine *e, bool all, const struct husk_prune_filter *f,
			    struct husk_image_pruned **ret, size_t *ret_n, long long *ret_reclaimed,
			    husk_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	*ret_reclaimed = 0;
	struct husk_store *s = NULL;
	if (husk_store_open(e->root, &s, err) < 0)
		return -1;
	struct husk_ctr *v = NULL;
	size_t n = 0;
	struct husk_image **imgs = NULL;
	size_t ni = 0;
	if (husk_engine_list(e, &v, &n, err) < 0 || husk_store_list(s, &imgs, &ni, err) < 0) {
		husk_engine_list_free(v, n);
		husk_store_close(s);
		return -1;
	}
	json_t *used = images_in_use(v, n);
	husk_engine_list_free(v, n);
	/* how many names each id has, to know when its last one goes */
	json_t *names_of = json_object();
	for (size_t i = 0; i < ni; i++) {
		json_t *c = json_object_get(names_of, imgs[i]->id);
		json_object_set_new(names_of, imgs[i]->id, json_integer(json_integer_value(c) + 1));
	}
	struct husk_image_pruned *out = calloc(ni + 1, sizeof(*out));
	if (!out)
		abort();
	size_t k = 0;
	int r = 0;
	for (size_t i = 0; i < ni && r == 0; i++) {
		const char *name = imgs[i]->name;
		if ((!all && !dangling(name)) || json_object_get(used, name) ||
		    json_object_get(used, imgs[i]->id))
			continue;
		json_t *labels =
			json_object_get(json_object_get(imgs[i]->config, "config"), "Labels");
		if (!husk_prune_filter_match(f, labels, (int64_t)imgs[i]->created * 1000000000))
			continue;
		if (husk_store_remove(s, name, err) < 0) {
			r = -1;
			break;
		}
		json_t *c = json_object_get(names_of, imgs[i]->id);
		json_int_t left = json_integer_value(c) - 1;
		json_object_set_new(names_of, imgs[i]->id, json_integer(left));
		out[k].untagged = dangling(name) ? NULL : strdup(name);
		out[k].deleted = left == 0 ? strdup(imgs[i]->id) : NULL;
		/* Docker's events: untag, then delete with the last name */
		husk_engine_image_event(e, "untag", imgs[i]->id, imgs[i]->id);
		if (left == 0)
			husk_engine_image_event(e, "delete", imgs[i]->id, imgs[i]->id);
		k++;
	}
	for (size_t i = 0; i < ni; i++)
		husk_image_free(imgs[i]);
	free(imgs);
	json_decref(used);
	json_decref(names_of);
	if (r == 0 && husk_store_prune(s, ret_reclaimed, err) < 0)
		r = -1;
	husk_store_close(s);
	*ret = out;
	*ret_n = k;
	return r;
}

void husk_df_release(struct husk_df *d)
{
	for (size_t i = 0; i < d->n_image_rows; i++) {
		free(d->images[i].name);
		free(d->images[i].id);
	}
	for (size_t i = 0; i < d->n_container_rows; i++) {
		free(d->containers[i].name);
		free(d->containers[i].id);
	}
	free(d->images);
	free(d->containers);
	memset(d, 0, sizeof(*d));
}

int husk_engine_df(struct husk_engine *e, bool verbose, struct husk_df *ret, husk_error **err)
{
	memset(ret, 0, sizeof(*ret));
	struct husk_ctr *v = NULL;
	size_t n = 0;
	if (husk_engine_list(e, &v, &n, err) < 0)
		return -1;
	struct husk_store *s = NULL;
	struct husk_image **imgs = NULL;
	size_t ni = 0;
	if (husk_store_open(e->root, &s, err) < 0 || husk_store_list(s, &imgs, &ni, err) < 0) {
		husk_store_close(s);
		husk_engine_list_free(v, n);
		return -1;
	}
	husk_store_close(s);
	json_t *used = images_in_use(v, n);
	/* each layer counted once, whatever shares it; reclaimable: the
	 * layers only unused images have */
	json_t *layer_size = json_object(), *layer_used = json_object();
	if (verbose)
		ret->images = calloc(ni + 1, sizeof(*ret->images));
	for (size_t i = 0; i < ni; i++) {
		bool active = json_object_get(used, imgs[i]->name) != NULL;
		long long own = 0;
		for (size_t l = 0; l < imgs[i]->n_layers; l++) {
			const char *p = imgs[i]->layers[l];
			json_t *sz = json_object_get(layer_size, p);
			if (!sz) {
				sz = json_integer(du(p));
				json_object_set_new(layer_size, p, sz);
			}
			own += json_integer_value(sz);
			if (active)
				json_object_set_new(layer_used, p, json_true());
		}
		ret->n_images++;
		if (active)
			ret->active_images++;
		if (verbose) {
			struct husk_df_row *row = &ret->images[ret->n_image_rows++];
			row->name = strdup(imgs[i]->name);
			row->id = strdup(imgs[i]->id);
			row->size = own;
			row->active = active;
			row->users =
				(size_t)json_integer_value(json_object_get(used, imgs[i]->name));
		}
		husk_image_free(imgs[i]);
	}
	free(imgs);
	const char *k;
	json_t *sz;
	json_object_foreach (layer_size, k, sz) {
		ret->images_size += json_integer_value(sz);
		if (!json_object_get(layer_used, k))
			ret->images_reclaimable += json_integer_value(sz);
	}
	json_decref(layer_size);
	json_decref(layer_used);
	json_decref(used);
	if (verbose)
		ret->containers = calloc(n + 1, sizeof(*ret->containers));
	for (size_t i = 0; i < n; i++) {
		long long size = upper_size(e, v[i].id);
		bool active = live(&v[i]);
		ret->n_containers++;
		ret->containers_size += size;
		if (active)
			ret->active_containers++;
		else
			ret->containers_reclaimable += size;
		if (verbose) {
			struct husk_df_row *row = &ret->containers[ret->n_container_rows++];
			row->name = strdup(v[i].name);
			row->id = strdup(v[i].id);
			row->size = size;
			row->active = active;
		}
	}
	husk_engine_list_free(v, n);
	/* volumes: what another part of the engine keeps in <root>/volumes */
	cleanup_free char *vdir = husk_strdup_printf("%s/volumes", e->root);
	DIR *dp = opendir(vdir);
	if (dp) {
		ret->have_volumes = true;
		struct dirent *de;
		while ((de = readdir(dp))) {
			if (de->d_name[0] == '.' || de->d_type != DT_DIR)
				continue;
			cleanup_free char *p = husk_strdup_printf("%s/%s", vdir, de->d_name);
			ret->n_volumes++;
			ret->volumes_size += du(p);
		}
		closedir(dp);
	}
	return 0;
}

/* one sample of each; a named container that is not there fails */
static int sample_all(struct husk_engine *e, char *const *names, size_t n, bool named,
		      struct husk_stats *out, husk_error **err)
{
	for (size_t i = 0; i < n; i++) {
		husk_error *one = NULL;
		husk_stats_release(&out[i]);
		out[i].ok = husk_engine_stats(e, names[i], &out[i], &one) == 0;
		if (!out[i].ok && one && one->errnum != ENOTCONN && named) {
			*err = one;
			return -1;
		}
		husk_error_free(one);
		if (!out[i].name)
			out[i].name = strdup(names[i]);
	}
	return 0;
}

int husk_engine_stats_rate(struct husk_engine *e, char *const *names, size_t n, bool named,
			   int interval_ms, struct husk_stats *ret, husk_error **err)
{
	memset(ret, 0, n * sizeof(*ret));
	struct husk_stats *first = calloc(n + 1, sizeof(*first));
	if (!first)
		return husk_fail(err, ENOMEM, "stats");
	int r = sample_all(e, names, n, named, first, err);
	if (r == 0) {
		struct timespec d = {interval_ms / 1000, (long)(interval_ms % 1000) * 1000000};
		while (nanosleep(&d, &d) < 0 && errno == EINTR)
			;
		r = sample_all(e, names, n, named, ret, err);
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		ret[i].ok = ret[i].ok && first[i].ok;
		double wall = (double)(ret[i].read_ns - first[i].read_ns);
		double used = ret[i].cpu_ns > first[i].cpu_ns
				      ? (double)(ret[i].cpu_ns - first[i].cpu_ns)
				      : 0;
		ret[i].cpu_percent = ret[i].ok && wall > 0 ? used / wall * 100.0 : 0.0;
	}
	for (size_t i = 0; i < n; i++)
		husk_stats_release(&first[i]);
	free(first);
	if (r < 0)
		for (size_t i = 0; i < n; i++)
			husk_stats_release(&ret[i]);
	return r;
}

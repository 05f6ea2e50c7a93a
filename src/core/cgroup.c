#define _GNU_SOURCE
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/vfs.h>
#include <time.h>
#include <linux/magic.h>

#include "util.h"

enum husk_cgroup_mode husk_cgroup_mode(void)
{
	struct statfs sf;
	if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		return HUSK_CGROUP_V2;
	if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		return HUSK_CGROUP_HYBRID;
	return HUSK_CGROUP_V1;
}

/* One line of /proc/self/mountinfo that is a cgroup mount. */
struct cg_mount {
	char *root, *point, *opts;
	bool v2;
};

static bool opt_has(const char *opts, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = opts; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == wl && strncmp(p, word, wl) == 0)
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

/* Is word one of the space-separated words of list? */
static bool opt_has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; *p;) {
		while (*p == ' ' || *p == '\n')
			p++;
		const char *e = p;
		while (*e && *e != ' ' && *e != '\n')
			e++;
		if ((size_t)(e - p) == wl && strncmp(p, word, wl) == 0)
			return true;
		p = e;
	}
	return false;
}

static int read_cg_mounts(struct cg_mount **ret, size_t *ret_n, husk_error **err)
{
	cleanup_free char *text = NULL;
	if (husk_read_file("/proc/self/mountinfo", &text, NULL, err) < 0)
		return -1;
	struct cg_mount *v = NULL;
	size_t n = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* id parent maj:min root point opts [optional...] - fstype source superopts */
		char *f[6] = {0};
		char *s2 = NULL, *p = line;
		for (int i = 0; i < 5; i++)
			f[i] = strtok_r(i == 0 ? p : NULL, " ", &s2);
		if (!f[4])
			continue;
		char *dash = strstr(f[4] + strlen(f[4]) + 1, " - ");
		if (!dash)
			continue;
		char *fstype = strtok_r(dash + 3, " ", &s2);
		strtok_r(NULL, " ", &s2); /* source */
		char *super = strtok_r(NULL, " ", &s2);
		if (!fstype || (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0))
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		v[n].root = strdup(f[3]);
		v[n].point = strdup(f[4]);
		v[n].opts = strdup(super ? super : "");
		v[n].v2 = strcmp(fstype, "cgroup2") == 0;
		n++;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static void free_cg_mounts(struct cg_mount *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].root);
		free(v[i].point);
		free(v[i].opts);
	}
	free(v);
}

static const struct cg_mount *find_mount(const struct cg_mount *v, size_t n, const char *ctrls)
{
	for (size_t i = 0; i < n; i++) {
		if (!*ctrls) {
			if (v[i].v2)
				return &v[i];
			continue;
		}
		if (v[i].v2)
			continue;
		bool all = true;
		cleanup_free char *c = strdup(ctrls);
		char *s = NULL;
		for (char *w = strtok_r(c, ",", &s); w; w = strtok_r(NULL, ",", &s))
			if (!opt_has(v[i].opts, w))
				all = false;
		if (all)
			return &v[i];
	}
	return NULL;
}

int husk_cgroup_resolve(const char *cgroups_path, const char *id, struct husk_cgroup *cg,
			husk_error **err)
{
	memset(cg, 0, sizeof(*cg));
	const char *want = cgroups_path && *cgroups_path ? cgroups_path : id;
	if (want[0] != '/' && strchr(want, ':'))
		return husk_fail(err, 0,
				 "linux.cgroupsPath \"%s\": systemd cgroup paths are not supported "
				 "(husk manages cgroupfs directly)",
				 want);
	for (const char *p = want; *p;) {
		const char *c = strchr(p, '/');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if ((l == 2 && strncmp(p, "..", 2) == 0))
			return husk_fail(err, 0, "linux.cgroupsPath \"%s\": \"..\" is not allowed",
					 want);
		p = c ? c + 1 : p + l;
	}
	cleanup_free char *self = NULL;
	if (husk_read_file("/proc/self/cgroup", &self, NULL, err) < 0)
		return -1;
	struct cg_mount *mounts = NULL;
	size_t nm = 0;
	if (read_cg_mounts(&mounts, &nm, err) < 0)
		return -1;
	char *save = NULL;
	for (char *line = strtok_r(self, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1;
		const char *own = c2 + 1;
		const struct cg_mount *m = find_mount(mounts, nm, ctrls);
		if (!m)
			continue;
		/* hybrid: a unified hierarchy with no controllers is still joined,
		 * as runc does, so that the container is whole there too */
		const char *inside = own;
		size_t rl = strlen(m->root);
		if (strcmp(m->root, "/") != 0 && strncmp(own, m->root, rl) == 0)
			inside = own + rl;
		char *rel;
		if (want[0] == '/')
			rel = strdup(want);
		else
			rel = husk_strdup_printf("%s/%s", strcmp(inside, "/") == 0 ? "" : inside,
						 want);
		cg->dirs = realloc(cg->dirs, (cg->n + 1) * sizeof(*cg->dirs));
		struct husk_cgroup_dir *d = &cg->dirs[cg->n++];
		d->controllers = strdup(ctrls);
		d->mount = strdup(m->point);
		d->rel = rel;
		d->path = husk_strdup_printf("%s%s", m->point, rel);
		d->v2 = m->v2;
	}
	free_cg_mounts(mounts, nm);
	if (cg->n == 0)
		return husk_fail(err, 0, "no cgroup hierarchy is mounted");
	return 0;
}

static int copy_cpuset(const char *dir, husk_error **err)
{
	/* a new v1 cpuset cgroup starts with no cpus and no mems, and no task
	 * can join it until both are filled in: take the parent's */
	static const char *files[] = {"cpuset.cpus", "cpuset.mems"};
	cleanup_free char *parent = strdup(dir);
	char *slash = strrchr(parent, '/');
	if (slash)
		*slash = '\0';
	for (size_t i = 0; i < 2; i++) {
		cleanup_free char *mine = husk_strdup_printf("%s/%s", dir, files[i]);
		cleanup_free char *cur = NULL;
		if (husk_read_file(mine, &cur, NULL, NULL) == 0 && cur[0] != '\n' && cur[0])
			continue;
		cleanup_free char *theirs = husk_strdup_printf("%s/%s", parent, files[i]);
		cleanup_free char *val = NULL;
		if (husk_read_file(theirs, &val, NULL, err) < 0)
			return -1;
		if (husk_write_file(mine, val, strlen(val), 0, err) < 0)
			return -1;
	}
	return 0;
}

/* v2: a new cgroup gets a controller's files only when its parent lists
 * the controller in cgroup.subtree_control.  Enable there what the parent
 * itself has, one by one (a controller the parent can not pass on, e.g.
 * because it holds processes itself, is left out, and a resource that
 * needs it then fails naming its file). */
static void enable_v2_controllers(const char *parent, bool cpuset)
{
	cleanup_free char *cfile = husk_strdup_printf("%s/cgroup.controllers", parent);
	cleanup_free char *have = NULL;
	if (husk_read_file(cfile, &have, NULL, NULL) < 0)
		return;
	/* a non-root cgroup that holds processes (e.g. the caller's own leaf)
	 * must be left alone: the kernel still accepts the threaded
	 * controllers there, which turns it into a thread root and makes
	 * every domain cgroup below it invalid (clone3 EOPNOTSUPP) */
	cleanup_free char *tfile = husk_strdup_printf("%s/cgroup.type", parent);
	cleanup_free char *pfile = husk_strdup_printf("%s/cgroup.procs", parent);
	cleanup_free char *procs = NULL;
	if (access(tfile, F_OK) == 0 && husk_read_file(pfile, &procs, NULL, NULL) == 0 &&
	    procs[0] != '\0')
		return;
	cleanup_free char *sfile = husk_strdup_printf("%s/cgroup.subtree_control", parent);
	cleanup_free char *on = NULL;
	husk_read_file(sfile, &on, NULL, NULL);
	char *save = NULL;
	for (char *c = strtok_r(have, " \n", &save); c; c = strtok_r(NULL, " \n", &save)) {
		if ((on && opt_has_word(on, c)) || (!cpuset && strcmp(c, "cpuset") == 0))
			continue;
		char buf[64];
		int n = snprintf(buf, sizeof(buf), "+%s", c);
		if (n > 0 && (size_t)n < sizeof(buf))
			husk_write_file(sfile, buf, (size_t)n, 0, NULL);
	}
}

static int mkdir_tracked(struct husk_cgroup *cg, const struct husk_cgroup_dir *d, bool want_cpuset,
			 husk_error **err)
{
	/* make each missing level below the hierarchy's mount, remembering what
	 * we made so that delete (and a failed create) removes exactly that */
	cleanup_free char *p = strdup(d->path);
	size_t base = strlen(d->mount);
	bool cpuset = d->controllers && opt_has(d->controllers, "cpuset");
	for (char *s = p + base + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char saved = *s;
		*s = '\0';
		if (d->v2) {
			char *slash = strrchr(p, '/');
			*slash = '\0';
			if (access(p, F_OK) == 0 && strlen(p) >= base)
				enable_v2_controllers(p, want_cpuset);
			*slash = '/';
		}
		if (mkdir(p, 0755) == 0) {
			cg->created = realloc(cg->created, (cg->n_created + 1) * sizeof(char *));
			cg->created[cg->n_created++] = strdup(p);
			if (cpuset && copy_cpuset(p, err) < 0)
				return husk_error_wrap(err, "cgroup \"%s\"", p);
		} else if (errno != EEXIST) {
			return husk_fail(err, errno, "create cgroup \"%s\"", p);
		}
		if (saved == '\0')
			break;
		*s = saved;
	}
	return 0;
}

int husk_cgroup_create(const char *cgroups_path, const char *id, bool cpuset,
		       struct husk_cgroup *cg, husk_error **err)
{
	if (husk_cgroup_resolve(cgroups_path, id, cg, err) < 0)
		return -1;
	/* v1: the cpuset hierarchy left out (when it is one of its own; one
	 * mounted with other controllers is needed for them) */
	for (size_t i = 0; !cpuset && i < cg->n;) {
		struct husk_cgroup_dir *d = &cg->dirs[i];
		if (d->v2 || strcmp(d->controllers, "cpuset") != 0) {
			i++;
			continue;
		}
		free(d->controllers);
		free(d->path);
		free(d->mount);
		free(d->rel);
		memmove(d, d + 1, (cg->n - i - 1) * sizeof(*d));
		cg->n--;
	}
	for (size_t i = 0; i < cg->n; i++) {
		if (mkdir_tracked(cg, &cg->dirs[i], cpuset, err) < 0) {
			husk_cgroup_destroy(cg, NULL);
			return -1;
		}
	}
	return 0;
}

int husk_cgroup_join_prepare(const struct husk_cgroup *cg, struct husk_cgroup_join *j,
			     husk_error **err)
{
	j->v2_dirfd = -1;
	j->v1_fds = calloc(cg->n + 1, sizeof(int));
	j->n_v1 = 0;
	for (size_t i = 0; i < cg->n; i++) {
		const struct husk_cgroup_dir *d = &cg->dirs[i];
		if (d->v2) {
			j->v2_dirfd = open(d->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (j->v2_dirfd < 0) {
				int e = errno;
				husk_cgroup_join_release(j);
				return husk_fail(err, e, "open cgroup \"%s\"", d->path);
			}
			continue;
		}
		cleanup_free char *p = husk_strdup_printf("%s/tasks", d->path);
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			husk_cgroup_join_release(j);
			return husk_fail(err, e, "open \"%s\"", p);
		}
		j->v1_fds[j->n_v1++] = fd;
	}
	return 0;
}

int husk_cgroup_join_self(struct husk_cgroup_join *j, husk_error **err)
{
	for (size_t i = 0; i < j->n_v1; i++) {
		if (write(j->v1_fds[i], "0", 1) < 0)
			return husk_fail(err, errno, "join cgroup (v1 hierarchy %zu)", i);
		close(j->v1_fds[i]);
		j->v1_fds[i] = -1;
	}
	return 0;
}

void husk_cgroup_join_release(struct husk_cgroup_join *j)
{
	for (size_t i = 0; i < j->n_v1; i++)
		if (j->v1_fds[i] >= 0)
			close(j->v1_fds[i]);
	free(j->v1_fds);
	j->v1_fds = NULL;
	j->n_v1 = 0;
	if (j->v2_dirfd >= 0)
		close(j->v2_dirfd);
	j->v2_dirfd = -1;
}

static int read_pids(const char *dir, pid_t **ret, size_t *ret_n, husk_error **err)
{
	cleanup_free char *p = husk_strdup_printf("%s/cgroup.procs", dir);
	cleanup_free char *text = NULL;
	if (husk_read_file(p, &text, NULL, err) < 0)
		return -1;
	pid_t *v = NULL;
	size_t n = 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		long x;
		if (husk_parse_long(l, &x) < 0)
			continue;
		v = realloc(v, (n + 1) * sizeof(pid_t));
		v[n++] = (pid_t)x;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* The hierarchy to read membership from: pids or freezer when there,
 * else the first one. */
static const struct husk_cgroup_dir *member_dir(const struct husk_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->dirs[i].v2 && husk_cgroup_mode() == HUSK_CGROUP_V2)
			return &cg->dirs[i];
	for (size_t i = 0; i < cg->n; i++)
		if (opt_has(cg->dirs[i].controllers, "pids"))
			return &cg->dirs[i];
	return cg->n ? &cg->dirs[0] : NULL;
}

int husk_cgroup_pids(const struct husk_cgroup *cg, pid_t **ret, size_t *ret_n, husk_error **err)
{
	const struct husk_cgroup_dir *d = member_dir(cg);
	if (!d)
		return husk_fail(err, 0, "container has no cgroup");
	return read_pids(d->path, ret, ret_n, err);
}

static const struct husk_cgroup_dir *freezer_dir(const struct husk_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		if (opt_has(cg->dirs[i].controllers, "freezer"))
			return &cg->dirs[i];
		if (cg->dirs[i].v2 && husk_cgroup_mode() == HUSK_CGROUP_V2)
			return &cg->dirs[i];
	}
	return NULL;
}

int husk_cgroup_freeze(const struct husk_cgroup *cg, bool freeze, husk_error **err)
{
	const struct husk_cgroup_dir *d = freezer_dir(cg);
	if (!d)
		return husk_fail(err, ENOTSUP, "freeze: no freezer cgroup");
	cleanup_free char *p = NULL;
	const char *val;
	if (d->v2) {
		p = husk_strdup_printf("%s/cgroup.freeze", d->path);
		val = freeze ? "1" : "0";
	} else {
		p = husk_strdup_printf("%s/freezer.state", d->path);
		val = freeze ? "FROZEN" : "THAWED";
	}
	if (husk_write_file(p, val, strlen(val), 0, err) < 0)
		return -1;
	if (!freeze)
		return 0;
	/* v1 reports FREEZING until every task has stopped: wait for FROZEN */
	for (int i = 0; i < 1000 && !d->v2; i++) {
		cleanup_free char *st = NULL;
		if (husk_read_file(p, &st, NULL, err) < 0)
			return -1;
		if (strncmp(st, "FROZEN", 6) == 0)
			return 0;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

int husk_cgroup_thaw_out(const struct husk_cgroup *cg)
{
	const struct husk_cgroup_dir *d = freezer_dir(cg);
	if (!d || !d->mount)
		return 0;
	cleanup_free char *procs = husk_strdup_printf("%s/cgroup.procs", d->path);
	cleanup_free char *root = husk_strdup_printf("%s/cgroup.procs", d->mount);
	cleanup_free char *text = NULL;
	if (husk_read_file(procs, &text, NULL, NULL) < 0)
		return 0;
	int moved = 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (husk_write_file(root, l, strlen(l), 0, NULL) == 0)
			moved++;
	return moved;
}

bool husk_cgroup_is_frozen(const struct husk_cgroup *cg)
{
	const struct husk_cgroup_dir *d = freezer_dir(cg);
	if (!d)
		return false;
	cleanup_free char *p = NULL;
	cleanup_free char *st = NULL;
	if (d->v2) {
		p = husk_strdup_printf("%s/cgroup.freeze", d->path);
		return husk_read_file(p, &st, NULL, NULL) == 0 && st[0] == '1';
	}
	p = husk_strdup_printf("%s/freezer.state", d->path);
	return husk_read_file(p, &st, NULL, NULL) == 0 && strncmp(st, "FROZEN", 6) == 0;
}

int husk_cgroup_kill_all(const struct husk_cgroup *cg, int sig, husk_error **err)
{
	/* freeze first so that nothing forks past the signal, then thaw so the
	 * signal is delivered */
	bool frozen = husk_cgroup_freeze(cg, true, NULL) == 0;
	pid_t *pids = NULL;
	size_t n = 0;
	int r = husk_cgroup_pids(cg, &pids, &n, err);
	if (r == 0)
		for (size_t i = 0; i < n; i++)
			if (kill(pids[i], sig) < 0 && errno != ESRCH) {
				r = husk_fail(err, errno, "kill %d", (int)pids[i]);
				break;
			}
	free(pids);
	if (frozen)
		husk_cgroup_freeze(cg, false, NULL);
	return r;
}

/* the cgroups made below dir (exec --cgroup's sub-cgroups, or the
 * container's own), innermost first: a cgroup with children cannot go */
static void rmdir_children(const char *dir, int depth)
{
	DIR *d = depth < 32 ? opendir(dir) : NULL;
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		char *child = husk_strdup_printf("%s/%s", dir, de->d_name);
		rmdir_children(child, depth + 1);
		rmdir(child);
		free(child);
	}
	closedir(d);
}

int husk_cgroup_destroy(struct husk_cgroup *cg, husk_error **err)
{
	/* innermost first; a cgroup whose last task is still exiting answers
	 * EBUSY for a moment: retry for up to about 5 s */
	int r = 0;
	for (size_t k = cg->n_created; k-- > 0;) {
		const char *p = cg->created[k];
		bool leaf = false;
		for (size_t i = 0; i < cg->n; i++)
			if (strcmp(cg->dirs[i].path, p) == 0)
				leaf = true;
		int tries = 0;
		if (leaf)
			rmdir_children(p, 0);
		while (rmdir(p) < 0) {
			if (errno == ENOENT)
				break;
			/* a parent we made may be shared by now: leave it if busy */
			if (!leaf)
				break;
			if (errno != EBUSY || ++tries > 500) {
				r = husk_fail(err, errno, "remove cgroup \"%s\"", p);
				break;
			}
			struct timespec ts = {0, 10000000};
			nanosleep(&ts, NULL);
		}
	}
	return r;
}

void husk_cgroup_release(struct husk_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		free(cg->dirs[i].controllers);
		free(cg->dirs[i].path);
		free(cg->dirs[i].mount);
		free(cg->dirs[i].rel);
	}
	free(cg->dirs);
	for (size_t i = 0; i < cg->n_created; i++)
		free(cg->created[i]);
	free(cg->created);
	memset(cg, 0, sizeof(*cg));
}

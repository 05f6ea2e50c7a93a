/* The user a container's process runs as, from the image's own
 * /etc/passwd and /etc/group (see user.h for the rules).
 *
 * The semantics are Docker's (moby/sys/user's GetExecUser, formerly runc's
 * libcontainer/user): the spec is split at its first ':'; a part made of
 * digits is always an id, never a name, even when a user is called "1000";
 * the first matching line wins; supplementary groups come only with the
 * implicit form, "alice", never with "alice:staff".
 *
 * Where husk is stricter than Docker:
 *  - ids go up to 2^32-2, the kernel's limit ((uid_t)-1 means "no change"
 *    to setresuid), and a line whose uid or gid is not such a number is
 *    skipped: Docker reads it as 0, so "bad:x::0:..." would match root;
 *  - a passwd or group that is not a regular file (a FIFO, a device node
 *    an image or a container root with CAP_MKNOD put there) is never
 *    opened for reading: the engine runs on the host, where opening
 *    /dev/watchdog or reading a disk has effects the container could not
 *    have had.  It counts as absent, like /dev/null would read. */
#define _GNU_SOURCE
#include "user.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "util.h"

#define ID_MAX 4294967294ULL /* 2^32-2 */

/* One half of the spec: absent, a number, or a name. */
struct id_arg {
	const char *text; /* NULL: not given */
	bool numeric;
	uint32_t id;
};

static void fclosep_(FILE **f)
{
	if (*f)
		fclose(*f);
	*f = NULL;
}
#define cleanup_fclose __attribute__((cleanup(fclosep_)))

/* A whole string of decimal digits, as an id in 0..2^32-2. */
static int parse_id(const char *s, uint32_t *ret)
{
	if (!*s)
		return -EINVAL;
	unsigned long long v = 0;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		v = v * 10 + (unsigned long long)(*s - '0');
		if (v > ID_MAX)
			return -ERANGE;
	}
	*ret = (uint32_t)v;
	return 0;
}

/* What Go's strconv.Atoi takes for a number (an optional sign, then
 * digits) is an id; anything else is a name.  A number out of range is
 * an error, not a name. */
static int parse_arg(const char *text, const char *spec, const char *what, struct id_arg *ret,
		     husk_error **err)
{
	*ret = (struct id_arg){.text = text && *text ? text : NULL};
	if (!ret->text)
		return 0;
	const char *d = text + (*text == '+' || *text == '-');
	if (!*d || strspn(d, "0123456789") != strlen(d))
		return 0;
	ret->numeric = true;
	if (*text == '-' || parse_id(d, &ret->id) < 0)
		return husk_fail(err, EINVAL, "user \"%s\": %s %s out of range 0-%llu", spec, what,
				 text, ID_MAX);
	return 0;
}

/* Docker's words, without the errno text husk_fail would append: the
 * file is there, it only lacks the entry. */
static int no_entry(husk_error **err, const char *what, const char *name, const char *file)
{
	husk_fail(err, 0, "unable to find %s %s: no matching entries in %s file", what, name, file);
	if (err && *err)
		(*err)->errnum = ENOENT;
	return -ENOENT;
}

/* Open rel (etc/passwd, etc/group) below rootfs_fd as the container would
 * see it: absolute symlinks and ".." stay inside the rootfs.  *ret is NULL
 * when there is no such regular file.  The file is looked up once, as an
 * O_PATH fd whose type is checked, and reopened through /proc/self/fd, so
 * that nothing swapped in between can make us open a device. */
static int open_etc(int rootfs_fd, const char *rel, FILE **ret, husk_error **err)
{
	*ret = NULL;
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	cleanup_close int pfd = (int)syscall(SYS_openat2, rootfs_fd, rel, &how, sizeof(how));
	if (pfd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return husk_fail(err, errno, "open \"/%s\" in the container", rel);
	}
	struct stat st;
	if (fstat(pfd, &st) < 0)
		return husk_fail(err, errno, "stat \"/%s\" in the container", rel);
	if (!S_ISREG(st.st_mode))
		return 0;
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	cleanup_close int fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return husk_fail(err, errno, "open \"/%s\" in the container", rel);
	*ret = fdopen(fd, "re");
	if (!*ret)
		return husk_fail(err, errno, "open \"/%s\" in the container", rel);
	fd = -1;
	return 0;
}

/* Next entry of a passwd or group file: surrounding blanks trimmed, blank
 * lines and comments skipped, split at ':' in place into at most max
 * fields (what follows the last one is dropped).  Returns the number of
 * fields, 0 at the end, -1 on a read error (errno set). */
static int next_entry(FILE *f, char **line, size_t *cap, char **fields, int max)
{
	for (;;) {
		errno = 0;
		ssize_t n = getline(line, cap, f);
		if (n < 0)
			return ferror(f) ? -1 : 0;
		char *s = *line;
		while (n > 0 && isspace((unsigned char)s[n - 1]))
			s[--n] = '\0';
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			continue;
		int k = 0;
		fields[k++] = s;
		for (char *c = strchr(s, ':'); c && k < max; c = strchr(c + 1, ':')) {
			*c = '\0';
			fields[k++] = c + 1;
		}
		if (k == max) {
			char *c = strchr(fields[k - 1], ':');
			if (c)
				*c = '\0';
		}
		return k;
	}
}

struct pw_entry {
	char *name, *home;
	uint32_t uid, gid;
};

/* The first passwd line for user (uid 0 when not given): name, password,
 * uid and gid must be there; the home may be missing. */
static int find_passwd(FILE *f, const struct id_arg *user, struct pw_entry *ret, bool *found,
		       husk_error **err)
{
	*found = false;
	if (!f)
		return 0;
	cleanup_free char *line = NULL;
	size_t cap = 0;
	char *fld[7];
	int k;
	while ((k = next_entry(f, &line, &cap, fld, 7)) > 0) {
		uint32_t uid, gid;
		if (k < 4 || !*fld[0] || parse_id(fld[2], &uid) < 0 || parse_id(fld[3], &gid) < 0)
			continue;
		bool match = !user->text     ? uid == 0
			     : user->numeric ? uid == user->id
					     : strcmp(fld[0], user->text) == 0;
		if (!match)
			continue;
		ret->name = strdup(fld[0]);
		ret->home = strdup(k > 5 ? fld[5] : "");
		if (!ret->name || !ret->home)
			return husk_fail(err, ENOMEM, "read \"/etc/passwd\" in the container");
		ret->uid = uid;
		ret->gid = gid;
		*found = true;
		return 0;
	}
	if (k < 0)
		return husk_fail(err, errno ? errno : EIO, "read \"/etc/passwd\" in the container");
	return 0;
}

static bool has_member(char *list, const char *name)
{
	char *save = NULL;
	for (char *m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save))
		if (strcmp(m, name) == 0)
			return true;
	return false;
}

static int add_gid(struct husk_user *u, uint32_t gid)
{
	if (gid == u->gid)
		return 0;
	for (size_t i = 0; i < u->n_gids; i++)
		if (u->gids[i] == gid)
			return 0;
	uint32_t *g = realloc(u->gids, (u->n_gids + 1) * sizeof(*g));
	if (!g)
		return -ENOMEM;
	g[u->n_gids++] = gid;
	u->gids = g;
	return 0;
}

/* One pass over the group file: with group given, the first line that
 * matches it sets *gid_found; without, every group listing member (not
 * the primary one, each once) goes to u's supplementary groups. */
static int scan_group(FILE *f, const struct id_arg *group, const char *member, struct husk_user *u,
		      bool *gid_found, husk_error **err)
{
	*gid_found = false;
	if (!f)
		return 0;
	cleanup_free char *line = NULL;
	size_t cap = 0;
	char *fld[4];
	int k;
	while ((k = next_entry(f, &line, &cap, fld, 4)) > 0) {
		uint32_t gid;
		if (k < 3 || !*fld[0] || parse_id(fld[2], &gid) < 0)
			continue;
		if (group->text) {
			if (group->numeric ? gid == group->id : strcmp(fld[0], group->text) == 0) {
				u->gid = gid;
				*gid_found = true;
				return 0;
			}
		} else if (k > 3 && has_member(fld[3], member) && add_gid(u, gid) < 0) {
			return husk_fail(err, ENOMEM, "read \"/etc/group\" in the container");
		}
	}
	if (k < 0)
		return husk_fail(err, errno ? errno : EIO, "read \"/etc/group\" in the container");
	return 0;
}

int husk_user_resolve(int rootfs_fd, const char *spec, struct husk_user *ret, husk_error **err)
{
	*ret = (struct husk_user){0};
	if (!spec)
		spec = "";
	cleanup_free char *copy = strdup(spec);
	if (!copy)
		return husk_fail(err, ENOMEM, "user \"%s\"", spec);
	char *colon = strchr(copy, ':');
	if (colon)
		*colon = '\0';
	struct id_arg user, group;
	if (parse_arg(copy, spec, "uid", &user, err) < 0 ||
	    parse_arg(colon ? colon + 1 : NULL, spec, "gid", &group, err) < 0)
		return -EINVAL;

	cleanup_fclose FILE *passwd = NULL;
	if (open_etc(rootfs_fd, "etc/passwd", &passwd, err) < 0)
		return husk_error_wrap(err, "user \"%s\"", spec);
	struct pw_entry pw = {0};
	bool found = false;
	int r = find_passwd(passwd, &user, &pw, &found, err);
	cleanup_free char *pw_name = pw.name;
	cleanup_free char *pw_home = pw.home;
	if (r < 0)
		return husk_error_wrap(err, "user \"%s\"", spec);
	if (!found && user.text && !user.numeric)
		return no_entry(err, "user", user.text, "passwd");

	struct husk_user u = {0};
	if (found) {
		u.uid = pw.uid;
		u.gid = pw.gid;
	} else {
		u.uid = user.numeric ? user.id : 0;
	}

	/* the group file matters for an explicit group, or for the
	 * supplementary groups of a user that has a name */
	if (group.text || found) {
		cleanup_fclose FILE *gr = NULL;
		bool gid_found = false;
		if (open_etc(rootfs_fd, "etc/group", &gr, err) < 0 ||
		    scan_group(gr, &group, pw_name, &u, &gid_found, err) < 0) {
			husk_user_release(&u);
			return husk_error_wrap(err, "user \"%s\"", spec);
		}
		if (group.text && !gid_found) {
			if (!group.numeric) {
				husk_user_release(&u);
				return no_entry(err, "group", group.text, "group");
			}
			u.gid = group.id;
		}
	}

	u.home = strdup(pw_home && *pw_home ? pw_home : "/");
	if (!u.home) {
		husk_user_release(&u);
		return husk_fail(err, ENOMEM, "user \"%s\"", spec);
	}
	*ret = u;
	return 0;
}

int husk_user_add_groups(int rootfs_fd, char **groups, struct husk_user *u, husk_error **err)
{
	for (char **g = groups; g && *g; g++) {
		struct id_arg group;
		if (parse_arg(*g, *g, "gid", &group, err) < 0)
			return husk_error_wrap(err, "--group-add");
		if (!group.text)
			return husk_fail(err, EINVAL, "--group-add \"\": expected a group");
		uint32_t gid = group.id;
		if (!group.numeric) {
			/* scan_group sets the primary gid of a copy: only the
			 * group's id is wanted here */
			struct husk_user tmp = {0};
			cleanup_fclose FILE *gr = NULL;
			bool found = false;
			if (open_etc(rootfs_fd, "etc/group", &gr, err) < 0 ||
			    scan_group(gr, &group, NULL, &tmp, &found, err) < 0)
				return husk_error_wrap(err, "--group-add \"%s\"", *g);
			if (!found) {
				no_entry(err, "group", *g, "group");
				return husk_error_wrap(err, "--group-add \"%s\"", *g);
			}
			gid = tmp.gid;
		}
		/* Docker keeps a group added by hand even when it is the
		 * primary one: id -G shows it once either way */
		if (add_gid(u, gid) < 0)
			return husk_fail(err, ENOMEM, "--group-add \"%s\"", *g);
	}
	return 0;
}

void husk_user_release(struct husk_user *u)
{
	if (!u)
		return;
	free(u->gids);
	free(u->home);
	u->gids = NULL;
	u->n_gids = 0;
	u->home = NULL;
}

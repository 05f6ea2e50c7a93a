/* The name tables of user-defined networks, one file per network's
 * bridge under <state>/names/, that the resolver (dns.c) answers from:
 *
 *   gateway 10.90.0.1
 *   <id> <ip> <name> [<alias>...]
 *   aaaa <id> <ipv6> <name> [<alias>...]    (on an IPv6 network)
 *
 * the first line the address the resolver listens on for that network,
 * then a line per container.  Changed under the flock of names.lock and
 * replaced by rename, so the resolver (watching the directory with
 * inotify) always reads a whole table; a table left with no container is
 * removed, and the resolver exits when none is left.  No libraries: the
 * static monitor links this. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "net-private.h"
#include "util.h"

char *net_names_dir(void)
{
	return husk_strdup_printf("%s/names", husk_net_state_dir());
}

static int names_lock(husk_error **err)
{
	cleanup_free char *dir = net_names_dir();
	if (husk_mkdir_p(dir, 0755, err) < 0)
		return -1;
	cleanup_free char *p = husk_strdup_printf("%s/names.lock", husk_net_state_dir());
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return husk_fail(err, e, "lock \"%s\"", p);
	}
	return fd;
}

/* the table without id's line; *ret_left: how many containers remain,
 * *ret_had (if not NULL): whether id had a line */
static char *table_without(const char *path, const char *id, int *ret_left, bool *ret_had)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	husk_error *e = NULL;
	*ret_left = 0;
	if (husk_read_file(path, &text, &len, &e) < 0) {
		husk_error_free(e);
		return NULL;
	}
	char *out = calloc(1, len + 1);
	if (!out)
		abort();
	size_t n = 0, idlen = strlen(id);
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		/* a resolver of an older husk skips "aaaa" lines: no id */
		bool aaaa = strncmp(l, "aaaa ", 5) == 0;
		if ((strncmp(l, id, idlen) == 0 && l[idlen] == ' ') ||
		    (aaaa && strncmp(l + 5, id, idlen) == 0 && l[5 + idlen] == ' ')) {
			if (ret_had)
				*ret_had = true;
			continue;
		}
		if (strncmp(l, "gateway ", 8) != 0 && !aaaa)
			(*ret_left)++;
		n += (size_t)snprintf(out + n, len + 1 - n, "%s\n", l);
	}
	return out;
}

int husk_names_add(const char *bridge, const char *gateway, const char *id, const char *ip,
		   const char *ip6, const char *const *names, husk_error **err)
{
	int lock = names_lock(err);
	if (lock < 0)
		return -1;
	cleanup_free char *path = husk_strdup_printf("%s/names/%s", husk_net_state_dir(), bridge);
	int left;
	cleanup_free char *old = table_without(path, id, &left, NULL);
	size_t cap = (old ? strlen(old) : 0) + 512;
	for (size_t i = 0; names && names[i]; i++)
		cap += 2 * (strlen(names[i]) + 1);
	cleanup_free char *text = calloc(1, cap);
	if (!text)
		abort();
	size_t n = old ? (size_t)snprintf(text, cap, "%s", old)
		       : (size_t)snprintf(text, cap, "gateway %s\n", gateway);
	n += (size_t)snprintf(text + n, cap - n, "%s %s", id, ip);
	for (size_t i = 0; names && names[i]; i++)
		n += (size_t)snprintf(text + n, cap - n, " %s", names[i]);
	n += (size_t)snprintf(text + n, cap - n, "\n");
	if (ip6 && *ip6) {
		n += (size_t)snprintf(text + n, cap - n, "aaaa %s %s", id, ip6);
		for (size_t i = 0; names && names[i]; i++)
			n += (size_t)snprintf(text + n, cap - n, " %s", names[i]);
		snprintf(text + n, cap - n, "\n");
	}
	int r = husk_write_file_atomic(path, text, strlen(text), 0644, err);
	close(lock);
	return r;
}

/* a table without id's lines (not written again when it had none: the
 * resolver reads every table that changes), or none when no container is
 * left in it */
static void remove_from(const char *path, const char *id)
{
	int left;
	bool had = false;
	cleanup_free char *rest = table_without(path, id, &left, &had);
	if (!rest)
		return;
	if (left == 0)
		unlink(path);
	else if (had)
		husk_write_file_atomic(path, rest, strlen(rest), 0644, NULL);
}

int husk_names_remove(const char *bridge, const char *id, husk_error **err)
{
	cleanup_free char *dir = net_names_dir();
	if (access(dir, F_OK) < 0)
		return 0;
	int lock = names_lock(err);
	if (lock < 0)
		return -1;
	if (bridge) {
		cleanup_free char *path = husk_strdup_printf("%s/%s", dir, bridge);
		remove_from(path, id);
	} else {
		DIR *d = opendir(dir);
		for (struct dirent *de; d && (de = readdir(d));) {
			if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp"))
				continue;
			cleanup_free char *path = husk_strdup_printf("%s/%s", dir, de->d_name);
			remove_from(path, id);
		}
		if (d)
			closedir(d);
	}
	close(lock);
	return 0;
}

/* IP address management: one lease per container in 10.89.0.0/16, in
 * <runroot>/net/leases.json ({"10.89.0.2": "<id>"}), changed under an
 * flock of leases.lock and replaced atomically (a temp file, then rename),
 * so concurrent `husk run`s never hand out one address twice. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "net-private.h"
#include "util.h"

/* the lock held, the leases read (an empty object when none) */
static int leases_open(const char *runroot, bool create, int *ret_lock, json_t **ret,
		       husk_error **err)
{
	cleanup_free char *dir = husk_strdup_printf("%s/net", runroot);
	if (create && husk_mkdir_p(dir, 0700, err) < 0)
		return -1;
	cleanup_free char *lock = husk_strdup_printf("%s/leases.lock", dir);
	int fd = open(lock, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
	if (fd < 0)
		return husk_fail(err, errno, "open \"%s\"", lock);
	if (flock(fd, LOCK_EX) < 0) {
		int e = errno;
		close(fd);
		return husk_fail(err, e, "lock \"%s\"", lock);
	}
	cleanup_free char *path = husk_strdup_printf("%s/leases.json", dir);
	json_error_t je;
	json_t *l = json_load_file(path, 0, &je);
	if (!l && access(path, F_OK) == 0) {
		close(fd);
		return husk_fail(err, EINVAL, "read \"%s\": %s", path, je.text);
	}
	*ret = l ? l : json_object();
	*ret_lock = fd;
	return 0;
}

static int leases_write(const char *runroot, json_t *l, husk_error **err)
{
	cleanup_free char *path = husk_strdup_printf("%s/net/leases.json", runroot);
	cleanup_free char *text = json_dumps(l, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return husk_fail(err, ENOMEM, "write \"%s\"", path);
	return husk_write_file_atomic(path, text, strlen(text), 0600, err);
}

int net_ipam_alloc(const char *runroot, const char *id, struct in_addr *ret, husk_error **err)
{
	int lock;
	json_t *l;
	if (leases_open(runroot, true, &lock, &l, err) < 0)
		return husk_error_wrap(err, "allocate an address");
	struct in_addr net, gw;
	inet_pton(AF_INET, "10.89.0.0", &net);
	inet_pton(AF_INET, HUSK_NET_GATEWAY, &gw);
	int r = husk_fail(err, ENOSPC, "allocate an address: %s is full", HUSK_NET_SUBNET);
	/* the lowest free one, past the gateway, short of the broadcast */
	for (uint32_t h = ntohl(gw.s_addr) + 1; h < ntohl(net.s_addr) + 0xffff; h++) {
		struct in_addr a = {htonl(h)};
		char s[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &a, s, sizeof(s));
		if (json_object_get(l, s))
			continue;
		husk_error_freep(err);
		json_object_set_new(l, s, json_string(id));
		r = leases_write(runroot, l, err);
		if (r == 0)
			*ret = a;
		break;
	}
	json_decref(l);
	close(lock);
	return r;
}

int net_ipam_release(const char *runroot, const char *id, husk_error **err)
{
	cleanup_free char *path = husk_strdup_printf("%s/net/leases.json", runroot);
	if (access(path, F_OK) < 0)
		return 0;
	int lock;
	json_t *l;
	if (leases_open(runroot, false, &lock, &l, err) < 0)
		return husk_error_wrap(err, "release the address of \"%.12s\"", id);
	const char *k;
	json_t *v;
	void *tmp;
	bool changed = false;
	json_object_foreach_safe(l, tmp, k, v)
	{
		if (strcmp(json_string_value(v) ?: "", id) == 0) {
			json_object_del(l, k);
			changed = true;
		}
	}
	int r = changed ? leases_write(runroot, l, err) : 0;
	json_decref(l);
	close(lock);
	return r;
}

int net_ipam_count(const char *runroot)
{
	cleanup_free char *path = husk_strdup_printf("%s/net/leases.json", runroot);
	json_t *l = json_load_file(path, 0, NULL);
	int n = (int)json_object_size(l);
	json_decref(l);
	return n;
}

/* linux.memoryPolicy: parsed and checked when the config is read, applied
 * by the init and by each exec'd process before it drops privileges (the
 * policy is the task's and survives execve, as runc applies it too). */
#define _GNU_SOURCE
#include "mempolicy.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* linux/mempolicy.h's values, spelled out: glibc has no wrapper and the
 * kernel header of Debian 12 predates MPOL_WEIGHTED_INTERLEAVE (6.9) */
enum {
	HUSK_MPOL_DEFAULT = 0,
	HUSK_MPOL_PREFERRED = 1,
	HUSK_MPOL_BIND = 2,
	HUSK_MPOL_INTERLEAVE = 3,
	HUSK_MPOL_LOCAL = 4,
	HUSK_MPOL_PREFERRED_MANY = 5,
	HUSK_MPOL_WEIGHTED_INTERLEAVE = 6,
};
#define HUSK_MPOL_F_NUMA_BALANCING (1u << 13)
#define HUSK_MPOL_F_RELATIVE_NODES (1u << 14)
#define HUSK_MPOL_F_STATIC_NODES   (1u << 15)

static const struct {
	const char *name;
	int mode;
	int nodes; /* 0: none allowed, 1: at least one, -1: either */
} modes[] = {
	{"MPOL_DEFAULT", HUSK_MPOL_DEFAULT, 0},
	{"MPOL_BIND", HUSK_MPOL_BIND, 1},
	{"MPOL_INTERLEAVE", HUSK_MPOL_INTERLEAVE, 1},
	{"MPOL_WEIGHTED_INTERLEAVE", HUSK_MPOL_WEIGHTED_INTERLEAVE, 1},
	{"MPOL_PREFERRED", HUSK_MPOL_PREFERRED, -1},
	{"MPOL_PREFERRED_MANY", HUSK_MPOL_PREFERRED_MANY, 1},
	{"MPOL_LOCAL", HUSK_MPOL_LOCAL, 0},
};

static const struct {
	const char *name;
	unsigned flag;
} flags[] = {
	{"MPOL_F_NUMA_BALANCING", HUSK_MPOL_F_NUMA_BALANCING},
	{"MPOL_F_RELATIVE_NODES", HUSK_MPOL_F_RELATIVE_NODES},
	{"MPOL_F_STATIC_NODES", HUSK_MPOL_F_STATIC_NODES},
};

static const char *mode_name(int mode)
{
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (modes[i].mode == mode)
			return modes[i].name;
	return "?";
}

int husk_mempolicy_parse(json_t *obj, struct husk_mempolicy *m, husk_error **err)
{
	memset(m, 0, sizeof(*m));
	if (!obj || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return husk_fail(err, 0, "linux.memoryPolicy: must be an object");
	json_t *jm = json_object_get(obj, "mode");
	if (!json_is_string(jm))
		return husk_fail(err, 0,
				 "linux.memoryPolicy.mode: missing (one of MPOL_DEFAULT, "
				 "MPOL_BIND, MPOL_INTERLEAVE, MPOL_WEIGHTED_INTERLEAVE, "
				 "MPOL_PREFERRED, MPOL_PREFERRED_MANY, MPOL_LOCAL)");
	const char *mode = json_string_value(jm);
	int want_nodes = 0;
	size_t i;
	for (i = 0; i < ARRAY_SIZE(modes); i++)
		if (strcmp(modes[i].name, mode) == 0)
			break;
	if (i == ARRAY_SIZE(modes))
		return husk_fail(err, 0, "linux.memoryPolicy.mode: unknown mode \"%s\"", mode);
	m->mode = modes[i].mode;
	want_nodes = modes[i].nodes;

	json_t *jn = json_object_get(obj, "nodes");
	if (jn && !json_is_null(jn)) {
		if (!json_is_string(jn))
			return husk_fail(err, 0, "linux.memoryPolicy.nodes: must be a string");
		const char *nodes = json_string_value(jn);
		int r = husk_parse_id_list(nodes, m->nodes, HUSK_MAX_NUMA_NODES, &m->n_nodes);
		if (r == -ERANGE)
			return husk_fail(err, 0,
					 "linux.memoryPolicy.nodes \"%s\": a node number is above "
					 "%d",
					 nodes, HUSK_MAX_NUMA_NODES - 1);
		if (r < 0)
			return husk_fail(err, 0,
					 "linux.memoryPolicy.nodes \"%s\": expected a list of node "
					 "numbers such as \"0-3,7\"",
					 nodes);
	}
	if (want_nodes == 0 && m->n_nodes)
		return husk_fail(err, 0, "linux.memoryPolicy: mode %s takes no nodes (%zu given)",
				 mode, m->n_nodes);
	if (want_nodes == 1 && !m->n_nodes)
		return husk_fail(err, 0, "linux.memoryPolicy: mode %s needs at least one node",
				 mode);

	json_t *jf = json_object_get(obj, "flags");
	if (jf && !json_is_null(jf) && !json_is_array(jf))
		return husk_fail(err, 0, "linux.memoryPolicy.flags: must be an array of strings");
	json_t *f;
	json_array_foreach (jf, i, f) {
		const char *n = json_string_value(f);
		size_t k;
		for (k = 0; n && k < ARRAY_SIZE(flags); k++)
			if (strcmp(flags[k].name, n) == 0)
				break;
		if (!n || k == ARRAY_SIZE(flags))
			return husk_fail(err, 0, "linux.memoryPolicy.flags: unknown flag \"%s\"",
					 n ? n : "(not a string)");
		m->flags |= flags[k].flag;
	}
	if ((m->flags & HUSK_MPOL_F_STATIC_NODES) && (m->flags & HUSK_MPOL_F_RELATIVE_NODES))
		return husk_fail(err, 0,
				 "linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and "
				 "MPOL_F_RELATIVE_NODES exclude each other");
	if ((m->flags & (HUSK_MPOL_F_STATIC_NODES | HUSK_MPOL_F_RELATIVE_NODES)) && !m->n_nodes)
		return husk_fail(err, 0, "linux.memoryPolicy.flags: %s needs nodes",
				 (m->flags & HUSK_MPOL_F_STATIC_NODES) ? "MPOL_F_STATIC_NODES"
								       : "MPOL_F_RELATIVE_NODES");
	m->set = true;
	return 0;
}

int husk_mempolicy_apply(const struct husk_mempolicy *m, husk_error **err)
{
	if (!m->set)
		return 0;
	/* maxnode counts bits, and the kernel reads one fewer than given */
	if (syscall(SYS_set_mempolicy, m->mode | (int)m->flags, m->n_nodes ? m->nodes : NULL,
		    m->n_nodes ? (unsigned long)HUSK_MAX_NUMA_NODES + 1 : 0) < 0) {
		int e = errno;
		return husk_fail(err, e, "linux.memoryPolicy: set_mempolicy(%s%s)%s",
				 mode_name(m->mode), m->flags ? " with flags" : "",
				 e == EINVAL ? " (a node that is not online, or a mode or flag "
					       "this kernel does not know)"
					     : "");
	}
	return 0;
}

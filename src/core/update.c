/* update and events: a created or running container's resources changed
 * live, and its counters read. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "cgroup.h"
#include "husk.h"
#include "state.h"
#include "util.h"

void husk_json_merge(json_t *dst, json_t *src)
{
	const char *k;
	json_t *v;
	json_object_foreach (src, k, v) {
		json_t *cur = json_object_get(dst, k);
		if (json_is_object(cur) && json_is_object(v))
			husk_json_merge(cur, v);
		else
			json_object_set(dst, k, v);
	}
}

int husk_update(const char *root, const char *id, const char *resources_json, husk_error **err)
{
	json_error_t je;
	json_t *res = json_loads(resources_json, 0, &je);
	if (!res)
		return husk_fail(err, 0, "resources: line %d column %d: %s", je.line, je.column,
				 je.text);
	cleanup_close int lockfd = -1;
	int r = -1;
	struct husk_state st = {0};
	if (!json_is_object(res)) {
		husk_fail(err, 0, "resources: must be a JSON object");
		goto done;
	}
	if (husk_state_lock(root, id, &lockfd, err) < 0 ||
	    husk_state_load_existing(root, id, &st, err) < 0)
		goto done;
	if (husk_state_status(&st) == HUSK_STOPPED) {
		husk_fail(err, 0, "container \"%s\" is stopped: nothing to update", id);
		goto done;
	}
	if (!st.has_cgroup) {
		husk_fail(err, 0, "container \"%s\" has no cgroup of its own", id);
		goto done;
	}
	if (husk_cgroup_apply(&st.cgroup, res, NULL, false, err) < 0)
		goto done;
	/* remember the new values, so that state and stats agree with them */
	json_t *lx = json_object_get(st.config, "linux");
	if (json_is_object(lx)) {
		json_t *cur = json_object_get(lx, "resources");
		if (!json_is_object(cur)) {
			cur = json_object();
			json_object_set_new(lx, "resources", cur);
		}
		husk_json_merge(cur, res);
		if (husk_state_save(&st, err) < 0)
			goto done;
	}
	r = 0;
done:
	json_decref(res);
	husk_state_release(&st);
	return r;
}

int husk_stats(const char *root, const char *id, char **ret_json, long long *ret_ooms,
	       bool *ret_running, husk_error **err)
{
	struct husk_state st;
	if (husk_state_load_existing(root, id, &st, err) < 0)
		return -1;
	int r = 0;
	if (!st.has_cgroup) {
		r = husk_fail(err, 0, "container \"%s\" has no cgroup of its own", id);
	} else {
		if (ret_json)
			*ret_json = husk_cgroup_stats_json(&st.cgroup, id);
		if (ret_ooms)
			*ret_ooms = husk_cgroup_oom_kills(&st.cgroup);
		if (ret_running)
			*ret_running = husk_state_status(&st) != HUSK_STOPPED;
	}
	husk_state_release(&st);
	return r;
}

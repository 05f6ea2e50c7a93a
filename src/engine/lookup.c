/* Containers by name or id, one or all, as the kernel sees them now
 * (husk_record_observe).  Linked into the monitor too. */
#define _GNU_SOURCE
#include <stdlib.h>

#include "engine.h"
#include "util.h"

int husk_engine_resolve(struct husk_engine *e, const char *name_or_id, char **ret_id,
			husk_error **err)
{
	return husk_record_resolve(e->root, name_or_id, ret_id, err);
}

int husk_engine_get(struct husk_engine *e, const char *name_or_id, struct husk_ctr *ret,
		    husk_error **err)
{
	cleanup_free char *id = NULL;
	if (husk_record_resolve(e->root, name_or_id, &id, err) < 0)
		return -1;
	if (husk_record_load(e->root, id, ret, err) < 0)
		return -1;
	husk_record_observe(ret);
	return 0;
}

static int by_created_desc(const void *a, const void *b)
{
	const struct husk_ctr *x = a, *y = b;
	return x->created_ns < y->created_ns ? 1 : x->created_ns > y->created_ns ? -1 : 0;
}

int husk_engine_list(struct husk_engine *e, struct husk_ctr **ret, size_t *ret_n, husk_error **err)
{
	char **ids = NULL;
	size_t n = 0;
	*ret = NULL;
	*ret_n = 0;
	if (husk_record_ids(e->root, &ids, &n, err) < 0)
		return -1;
	struct husk_ctr *v = calloc(n + 1, sizeof(*v));
	if (!v)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		/* a dir without a record is a create under way, or a crashed one */
		if (husk_record_load(e->root, ids[i], &v[k], NULL) < 0)
			continue;
		husk_record_observe(&v[k]);
		k++;
	}
	husk_strv_free(ids, n);
	qsort(v, k, sizeof(*v), by_created_desc);
	*ret = v;
	*ret_n = k;
	return 0;
}

void husk_engine_list_free(struct husk_ctr *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		husk_ctr_release(&v[i]);
	free(v);
}

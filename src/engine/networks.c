/* husk network connect / disconnect: a container's endpoints (kept in
 * its dir as net.json) changed under its record's lock. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine-private.h"
#include "engine.h"
#include "util.h"

static void eps_free(struct husk_net_endpoint *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		husk_net_endpoint_release(&v[i]);
	free(v);
}

struct conn {
	struct husk_engine *e;
	char *id, *dir, *netns;
	struct husk_ctr rec;
	struct husk_net_endpoint *eps;
	size_t n;
	int lock;
};

static void conn_release(struct conn *c)
{
	eps_free(c->eps, c->n);
	husk_ctr_release(&c->rec);
	free(c->id);
	free(c->dir);
	free(c->netns);
	if (c->lock >= 0)
		close(c->lock);
}

static int conn_open(struct husk_engine *e, const char *name_or_id, struct conn *c,
		     husk_error **err)
{
	*c = (struct conn){.e = e, .lock = -1};
	if (husk_record_resolve(e->root, name_or_id, &c->id, err) < 0)
		return -1;
	c->lock = husk_record_lock(e->root, c->id, err);
	if (c->lock < 0 || husk_record_load(e->root, c->id, &c->rec, err) < 0)
		return -1;
	c->dir = husk_engine_dir(e, c->id);
	c->netns = husk_strdup_printf("%s/net/ns/%s", e->runroot, c->id);
	if (access(c->netns, F_OK) < 0)
		return husk_fail_as(err, EINVAL,
				    "container \"%s\" is on network \"%s\": it has no network "
				    "of its own to join or leave",
				    c->rec.name, c->rec.network ? c->rec.network : "none");
	husk_net_endpoints_load(c->dir, &c->eps, &c->n);
	return 0;
}

int husk_engine_net_connect(struct husk_engine *e, const char *name_or_id,
			    const struct husk_net_attach *a, husk_error **err)
{
	struct conn c;
	struct husk_network nw = {0};
	int r = -1;
	if (conn_open(e, name_or_id, &c, err) < 0 ||
	    husk_network_get(e->root, a->network, &nw, err) < 0)
		goto out;
	int index = 0;
	for (size_t i = 0; i < c.n; i++) {
		int k = -1;
		if (strcmp(c.eps[i].network, nw.name) == 0) {
			husk_fail_as(err, EEXIST, "container \"%s\" is already on network \"%s\"",
				     c.rec.name, nw.name);
			goto out;
		}
		if (sscanf(c.eps[i].ifname, "eth%d", &k) == 1 && k >= index)
			index = k + 1;
	}
	struct husk_net_attach at = *a;
	at.network = nw.name;
	struct husk_net_opts no = {.root = e->root,
				   .runroot = e->runroot,
				   .id = c.id,
				   .dir = c.dir,
				   .name = c.rec.name,
				   .hostname = c.rec.hostname,
				   .dns_path = e->dns_path,
				   .egress_rate = c.rec.net_egress_rate,
				   .ingress_rate = c.rec.net_ingress_rate};
	struct husk_net_endpoint ep;
	if (husk_net_connect(&no, &at, index, &ep, err) < 0)
		goto out;
	c.eps = realloc(c.eps, (c.n + 1) * sizeof(*c.eps));
	if (!c.eps)
		abort();
	c.eps[c.n++] = ep;
	r = husk_net_endpoints_save(c.dir, c.eps, c.n, err);
out:
	husk_network_release(&nw);
	conn_release(&c);
	return r < 0 ? husk_error_wrap(err, "connect \"%s\" to \"%s\"", name_or_id, a->network) : 0;
}

int husk_engine_net_disconnect(struct husk_engine *e, const char *name_or_id, const char *network,
			       husk_error **err)
{
	struct conn c;
	struct husk_network nw = {0};
	int r = -1;
	if (conn_open(e, name_or_id, &c, err) < 0 ||
	    husk_network_get(e->root, network, &nw, err) < 0)
		goto out;
	size_t i = 0;
	while (i < c.n && strcmp(c.eps[i].network, nw.name) != 0)
		i++;
	if (i == c.n) {
		husk_fail_as(err, ENOENT, "container \"%s\" is not on network \"%s\"", c.rec.name,
			     nw.name);
		goto out;
	}
	if (husk_net_disconnect(e->root, e->runroot, c.id, &c.eps[i], err) < 0)
		goto out;
	husk_net_endpoint_release(&c.eps[i]);
	memmove(&c.eps[i], &c.eps[i + 1], (c.n - i - 1) * sizeof(*c.eps));
	c.n--;
	r = husk_net_endpoints_save(c.dir, c.eps, c.n, err);
out:
	husk_network_release(&nw);
	conn_release(&c);
	return r < 0 ? husk_error_wrap(err, "disconnect \"%s\" from \"%s\"", name_or_id, network)
		     : 0;
}

int husk_engine_net_containers(struct husk_engine *e, const char *network, char ***ret,
			       husk_error **err)
{
	struct husk_ctr *v;
	size_t n, k = 0;
	if (husk_engine_list(e, &v, &n, err) < 0)
		return -1;
	char **out = calloc(1, sizeof(char *));
	if (!out)
		abort();
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *dir = husk_engine_dir(e, v[i].id);
		struct husk_net_endpoint *eps;
		size_t ne;
		husk_net_endpoints_load(dir, &eps, &ne);
		for (size_t j = 0; j < ne; j++)
			if (strcmp(eps[j].network, network) == 0)
				husk_strv_push(&out, &k,
					       husk_strdup_printf("%s %s %s", v[i].id, v[i].name,
								  eps[j].ip));
		eps_free(eps, ne);
	}
	husk_engine_list_free(v, n);
	*ret = out;
	return 0;
}

int husk_engine_net_endpoints(struct husk_engine *e, const char *id, struct husk_net_endpoint **ret,
			      size_t *ret_n, husk_error **err)
{
	(void)err;
	cleanup_free char *dir = husk_engine_dir(e, id);
	husk_net_endpoints_load(dir, ret, ret_n);
	return 0;
}

int husk_engine_network_prune(struct husk_engine *e, const struct husk_prune_filter *f,
			      char ***ret_names, size_t *ret_n, husk_error **err)
{
	*ret_names = NULL;
	*ret_n = 0;
	struct husk_network *v;
	size_t n;
	if (husk_network_list(e->root, &v, &n, err) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		if (!*v[i].id) /* the default bridge */
			continue;
		json_t *labels =
			husk_prune_filter_empty(f) ? NULL : husk_labels_object(v[i].labels);
		bool match = husk_prune_filter_match(f, labels, v[i].created_ns);
		json_decref(labels);
		if (!match)
			continue;
		husk_error *rerr = NULL;
		if (husk_network_rm(e->root, v[i].name, &rerr) < 0) {
			/* in use: kept, as Docker's prune does; another failure
			 * is told after the others are tried */
			if (rerr && rerr->errnum == EBUSY) {
				husk_error_free(rerr);
				continue;
			}
			if (r == 0 && err)
				*err = rerr;
			else
				husk_error_free(rerr);
			r = -1;
			continue;
		}
		husk_strv_push(ret_names, ret_n, strdup(v[i].name));
	}
	husk_network_list_free(v, n);
	return r;
}

/* --link NAME[:ALIAS]: Docker's legacy links, what a container made with
 * them finds of another (docker/daemon/links and its container's
 * network settings):
 *  - /etc/hosts: "IP  ALIAS HOSTNAME NAME" (NAME left out when it is the
 *    alias), the linked container's address on a network both are on;
 *  - on the default bridge only, environment variables, before the
 *    image's and -e's (which win): for each port the linked container
 *    exposes, ALIAS_PORT_80_TCP=tcp://IP:80 and its _ADDR, _PORT and
 *    _PROTO; ALIAS_PORT for the lowest port (tcp first); ALIAS_NAME
 *    =/SELF/ALIAS; ALIAS_ENV_K=V for each of its Config.Env but HOME and
 *    PATH.  ALIAS is the alias upper-cased, '-' made '_'.  Docker's
 *    _START/_END variables for runs of consecutive ports are not made.
 * As Docker: the linked container must be running, and links need a
 * bridge network (not host, none or another container's).  The address
 * is the one it has now; a container keeps its address until it is
 * removed, so a restart of either does not change it. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-private.h"
#include "record.h"
#include "util.h"

void husk_links_release(struct husk_links *l)
{
	husk_strv_free(l->hosts, l->n_hosts);
	husk_strv_free(l->env, l->n_env);
	husk_strv_free(l->specs, l->n_specs);
	*l = (struct husk_links){0};
}

struct port {
	unsigned num;
	char proto[4];
};

static int cmp_port(const void *a, const void *b)
{
	const struct port *x = a, *y = b;
	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	return strcmp(x->proto, y->proto); /* tcp before udp */
}

static void push(char ***v, size_t *n, char *s)
{
	if (!s)
		abort();
	husk_strv_push(v, n, s);
}

/* Docker's variables for one link on the default bridge */
static void link_env(struct husk_links *l, const char *self, const char *alias, const char *ip,
		     json_t *config)
{
	cleanup_free char *up = strdup(alias);
	if (!up)
		abort();
	for (char *p = up; *p; p++)
		*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	json_t *exposed = json_object_get(config, "ExposedPorts");
	size_t np = 0;
	cleanup_free struct port *ports = calloc(json_object_size(exposed) + 1, sizeof(*ports));
	if (!ports)
		abort();
	const char *k;
	json_t *v;
	json_object_foreach (exposed, k, v) {
		struct port p = {0};
		if (sscanf(k, "%u/%3s", &p.num, p.proto) == 2 && p.num > 0 && p.num < 65536)
			ports[np++] = p;
	}
	qsort(ports, np, sizeof(*ports), cmp_port);
	if (np)
		push(&l->env, &l->n_env,
		     husk_strdup_printf("%s_PORT=%s://%s:%u", up, ports[0].proto, ip,
					ports[0].num));
	for (size_t i = 0; i < np; i++) {
		char pr[4];
		for (size_t j = 0; j < sizeof(pr); j++)
			pr[j] = (char)toupper((unsigned char)ports[i].proto[j]);
		unsigned n = ports[i].num;
		push(&l->env, &l->n_env,
		     husk_strdup_printf("%s_PORT_%u_%s=%s://%s:%u", up, n, pr, ports[i].proto, ip,
					n));
		push(&l->env, &l->n_env,
		     husk_strdup_printf("%s_PORT_%u_%s_ADDR=%s", up, n, pr, ip));
		push(&l->env, &l->n_env, husk_strdup_printf("%s_PORT_%u_%s_PORT=%u", up, n, pr, n));
		push(&l->env, &l->n_env,
		     husk_strdup_printf("%s_PORT_%u_%s_PROTO=%s", up, n, pr, ports[i].proto));
	}
	push(&l->env, &l->n_env, husk_strdup_printf("%s_NAME=/%s/%s", up, self, alias));
	size_t i;
	json_array_foreach (json_object_get(config, "Env"), i, v) {
		const char *e = json_string_value(v);
		const char *eq = e ? strchr(e, '=') : NULL;
		if (!eq || strncmp(e, "HOME=", 5) == 0 || strncmp(e, "PATH=", 5) == 0)
			continue;
		push(&l->env, &l->n_env, husk_strdup_printf("%s_ENV_%s", up, e));
	}
}

/* The linked container's address on one of our networks, and that
 * network's name; NULL when they share none */
static char *shared_ip(struct husk_engine *e, const struct husk_run_opts *o, const char *id,
		       bool *ret_default)
{
	struct husk_net_endpoint *eps = NULL;
	size_t ne = 0;
	char *ip = NULL;
	if (husk_engine_net_endpoints(e, id, &eps, &ne, NULL) < 0)
		return NULL;
	size_t nn = o->n_nets ? o->n_nets : 1;
	for (size_t i = 0; i < nn && !ip; i++) {
		const char *want =
			o->n_nets && o->nets[i].network ? o->nets[i].network : HUSK_NET_DEFAULT;
		for (size_t j = 0; j < ne && !ip; j++)
			if (strcmp(eps[j].network, want) == 0 && eps[j].ip && *eps[j].ip) {
				ip = strdup(eps[j].ip);
				*ret_default = strcmp(want, HUSK_NET_DEFAULT) == 0;
			}
	}
	for (size_t j = 0; j < ne; j++)
		husk_net_endpoint_release(&eps[j]);
	free(eps);
	return ip;
}

static int one_link(struct husk_engine *e, const struct husk_run_opts *o, const char *self,
		    const char *spec, struct husk_links *l, husk_error **err)
{
	cleanup_free char *name = strdup(spec);
	if (!name)
		return husk_fail(err, ENOMEM, "--link");
	char *colon = strchr(name, ':');
	const char *alias = NULL;
	if (colon) {
		*colon = '\0';
		alias = colon + 1;
	}
	const char *bare = name[0] == '/' ? name + 1 : name;
	if (!*bare || (alias && !*alias))
		return husk_fail_as(err, EINVAL, "--link \"%s\": expected NAME[:ALIAS]", spec);
	if (!alias)
		alias = bare;
	if (o->network != HUSK_NETMODE_BRIDGE)
		return husk_fail_as(err, EINVAL,
				    "--link \"%s\": links need a bridge network, not the %s mode",
				    spec,
				    o->network == HUSK_NETMODE_HOST   ? "host"
				    : o->network == HUSK_NETMODE_NONE ? "none"
								      : "container");
	struct husk_ctr c;
	if (husk_engine_inspect(e, bare, &c, err) < 0)
		return husk_error_wrap(err, "--link \"%s\"", spec);
	int r = 0;
	bool on_default = false;
	cleanup_free char *ip = NULL;
	if (c.state != HUSK_CTR_RUNNING && c.state != HUSK_CTR_PAUSED)
		r = husk_fail_as(err, EINVAL, "--link \"%s\": container \"%s\" is not running",
				 spec, c.name);
	else if (!(ip = shared_ip(e, o, c.id, &on_default)))
		r = husk_fail_as(err, EINVAL,
				 "--link \"%s\": container \"%s\" is on none of this container's "
				 "networks",
				 spec, c.name);
	if (r == 0) {
		bool other = strcmp(alias, c.name) != 0;
		push(&l->hosts, &l->n_hosts,
		     husk_strdup_printf("%s %s%s%s:%s", alias, c.hostname ? c.hostname : "",
					other ? " " : "", other ? c.name : "", ip));
		push(&l->specs, &l->n_specs, husk_strdup_printf("/%s:/%s/%s", c.name, self, alias));
		if (on_default)
			link_env(l, self, alias, ip, json_object_get(c.docker, "Config"));
	}
	husk_ctr_release(&c);
	return r;
}

int husk_links_resolve(struct husk_engine *e, const struct husk_run_opts *o, const char *self,
		       struct husk_links *ret, husk_error **err)
{
	*ret = (struct husk_links){0};
	for (char **s = o->links; s && *s; s++)
		if (one_link(e, o, self, *s, ret, err) < 0) {
			husk_links_release(ret);
			return -1;
		}
	return 0;
}

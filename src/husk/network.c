/* husk network: create, ls, inspect, rm, prune, connect, disconnect, as
 * Docker's.  Each verb parses, makes one engine or net call, prints. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "engine.h"
#include "template.h"
#include "util.h"

const struct cli_flag network_create_flags[] = {
	{"subnet", 0, "CIDR",
	 "the IPv4 subnet (default: a free /24 of 10.90.0.0/15); again for the IPv6 one", 'S'},
	{"gateway", 0, "ADDRESS", "the bridge's address (default: the subnet's first)", 'G'},
	{"ipv6", 0, NULL, "IPv6 too, on the IPv6 --subnet", '6'},
	{"ip-range", 0, "CIDR", "give containers addresses from this part of the subnet", 'R'},
	{"internal", 0, NULL, "no way out: no default route, no masquerade", 'I'},
	{"label", 0, "KEY=VALUE", "a label on the network", 'L'},
	{"opt", 'o', "mtu=N", "a driver option: mtu=N"},
	{"driver", 'd', "DRIVER", "bridge, the only one", 'D'},
	{0},
};

int cmd_network_create(int argc, char **argv)
{
	struct husk_network_opts o = {0};
	char **labels = NULL;
	size_t nl = 0;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv)) != -1 && !rc) {
		switch (c) {
		case 'S':
			if (strchr(optarg, ':'))
				o.subnet6 = optarg;
			else
				o.subnet = optarg;
			break;
		case 'G':
			if (strchr(optarg, ':'))
				o.gateway6 = optarg;
			else
				o.gateway = optarg;
			break;
		case '6':
			o.ipv6 = true;
			break;
		case 'R':
			o.ip_range = optarg;
			break;
		case 'I':
			o.internal = true;
			break;
		case 'L':
			husk_strv_push(&labels, &nl, optarg);
			break;
		case 'o': {
			long mtu;
			if (strncmp(optarg, "mtu=", 4) == 0 ||
			    strncmp(optarg, "com.docker.network.driver.mtu=", 30) == 0) {
				if (husk_parse_long(strchr(optarg, '=') + 1, &mtu) < 0 ||
				    mtu < 68 || mtu > 65535)
					rc = cli_usage_error("-o \"%s\": expected mtu=68..65535",
							     optarg);
				o.mtu = (int)mtu;
			} else {
				rc = cli_usage_error("-o \"%s\": husk knows mtu=N", optarg);
			}
			break;
		}
		case 'D':
			if (strcmp(optarg, "bridge") != 0)
				rc = cli_usage_error("--driver \"%s\": husk has bridge only",
						     optarg);
			break;
		default:
			rc = 125;
		}
	}
	if (!rc && cli_operands(argc, argv, 1, 1))
		rc = 125;
	if (!rc && o.gateway && !o.subnet)
		rc = cli_usage_error("--gateway needs --subnet");
	if (!rc && o.ip_range && !o.subnet)
		rc = cli_usage_error("--ip-range needs --subnet");
	if (!rc && (o.subnet6 || o.gateway6) && !o.ipv6)
		rc = cli_usage_error("an IPv6 --subnet or --gateway needs --ipv6");
	if (!rc && o.ipv6 && !o.subnet6)
		rc = cli_usage_error("--ipv6 needs an IPv6 --subnet (fd00:1::/64)");
	if (!rc && o.gateway6 && !o.subnet6)
		rc = cli_usage_error("--gateway needs --subnet");
	if (rc) {
		free(labels);
		return rc;
	}
	o.name = argv[optind];
	o.labels = labels;
	husk_error *err = NULL;
	struct husk_network n;
	rc = husk_network_create(eng.root, &o, &n, &err) < 0 ? fail(err) : 0;
	free(labels);
	if (rc == 0) {
		printf("%s\n", n.id);
		husk_network_release(&n);
	}
	return rc;
}

static const char *short_id(const struct husk_network *n)
{
	return *n->id ? n->id : n->bridge;
}

static json_t *network_json(const struct husk_network *n)
{
	json_t *labels = json_object();
	for (char **l = n->labels; l && *l; l++) {
		char *eq = strchr(*l, '=');
		cleanup_free char *k = eq ? strndup(*l, (size_t)(eq - *l)) : strdup(*l);
		json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
	}
	json_t *cfg = json_pack("{s:s,s:s}", "Subnet", n->subnet, "Gateway", n->gateway);
	if (n->ip_range)
		json_object_set_new(cfg, "IPRange", json_string(n->ip_range));
	json_t *cfgs = json_pack("[o]", cfg);
	if (n->subnet6)
		json_array_append_new(
			cfgs, json_pack("{s:s,s:s}", "Subnet", n->subnet6, "Gateway", n->gateway6));
	json_t *opts = json_pack("{s:s}", "com.docker.network.bridge.name", n->bridge);
	if (n->mtu) {
		char mtu[16];
		snprintf(mtu, sizeof(mtu), "%d", n->mtu);
		json_object_set_new(opts, "com.docker.network.driver.mtu", json_string(mtu));
	}
	json_t *ctrs = json_object();
	char **on = NULL;
	if (husk_engine_net_containers(&eng, n->name, &on, NULL) == 0) {
		long prefix = 0;
		const char *slash = strchr(n->subnet, '/');
		if (slash && husk_parse_long(slash + 1, &prefix) < 0)
			prefix = 0;
		for (char **x = on; *x; x++) {
			char id[65], name[256], ip[16];
			if (sscanf(*x, "%64s %255s %15s", id, name, ip) == 3) {
				cleanup_free char *cidr = husk_strdup_printf("%s/%ld", ip, prefix);
				json_object_set_new(
					ctrs, id,
					json_pack("{s:s,s:s}", "Name", name, "IPv4Address", cidr));
			}
			free(*x);
		}
		free(on);
	}
	char created[64] = "";
	time_t t = (time_t)(n->created_ns / 1000000000LL);
	struct tm tm;
	if (t && gmtime_r(&t, &tm))
		strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:{s:s,s:o},s:b,s:o,s:o,s:o}", "Name", n->name,
			 "Id", short_id(n), "Created", created, "Scope", "local", "Driver",
			 "bridge", "EnableIPv6", n->subnet6 != NULL, "IPAM", "Driver", "default",
			 "Config", cfgs, "Internal", n->internal, "Containers", ctrs, "Options",
			 opts, "Labels", labels);
}

const struct cli_flag network_ls_flags[] = {
	{"quiet", 'q', NULL, "only the ids"},
	{"no-trunc", 0, NULL, "whole ids", 'T'},
	{"format", 0, "TEMPLATE", "each network through a Go template ({{.Name}})", 'F'},
	{"filter", 'f', "KEY=VALUE",
	 "only networks that match: name (a part), id (a prefix), label, driver, type "
	 "(custom, builtin), dangling"},
	{0},
};

/* Docker's network ls filters: one of a key's values must match (OR),
 * every key must (AND) */
struct net_filter {
	char **v[6];
	size_t n[6];
};
static const char *const net_filter_keys[] = {"name", "id", "label", "driver", "type", "dangling"};

static int net_filter_add(struct net_filter *f, const char *arg)
{
	const char *eq = strchr(arg, '=');
	for (size_t k = 0; eq && k < ARRAY_SIZE(net_filter_keys); k++) {
		if (strlen(net_filter_keys[k]) != (size_t)(eq - arg) ||
		    strncmp(arg, net_filter_keys[k], (size_t)(eq - arg)) != 0)
			continue;
		const char *val = eq + 1;
		if ((k == 4 && strcmp(val, "custom") != 0 && strcmp(val, "builtin") != 0) ||
		    (k == 5 && strcmp(val, "true") != 0 && strcmp(val, "false") != 0 &&
		     strcmp(val, "1") != 0 && strcmp(val, "0") != 0))
			return cli_usage_error("--filter \"%s\": %s", arg,
					       k == 4 ? "type is custom or builtin"
						      : "dangling is true or false");
		husk_strv_push(&f->v[k], &f->n[k], (char *)val);
		return 0;
	}
	return cli_usage_error("--filter \"%s\": husk filters networks by name, id, label, driver, "
			       "type and dangling",
			       arg);
}

/* A row of network ls: a network of the store, or Docker's host and none,
 * which are not networks husk makes (a container on them gets the host's
 * stack or none) but which Docker lists and inspects */
struct net_view {
	const char *name, *id, *driver, *subnet;
	bool builtin, internal;
	char **labels;
};

static const char *const builtin_nets[][2] = {{"host", "host"}, {"none", "null"}};

static bool net_filter_one(size_t k, const char *val, const struct net_view *nw, json_t *labels)
{
	switch (k) {
	case 0:
		return strstr(nw->name, val) != NULL;
	case 1:
		return strncmp(nw->id, val, strlen(val)) == 0;
	case 2:
		return husk_labels_match(labels, val);
	case 3:
		return strcmp(val, nw->driver) == 0;
	case 4:
		return (strcmp(val, "builtin") == 0) == nw->builtin;
	default: {
		/* as Docker's: the predefined networks are never dangling */
		bool unused = false;
		if (!nw->builtin) {
			char **on = NULL;
			size_t n = 0;
			if (husk_engine_net_containers(&eng, nw->name, &on, NULL) == 0)
				while (on[n])
					n++;
			husk_strv_free(on, n);
			unused = n == 0;
		}
		bool want = strcmp(val, "true") == 0 || strcmp(val, "1") == 0;
		return unused == want;
	}
	}
}

static bool net_filter_keep(const struct net_filter *f, const struct net_view *nw)
{
	json_t *labels = husk_labels_object(nw->labels);
	bool keep = true;
	for (size_t k = 0; k < ARRAY_SIZE(net_filter_keys) && keep; k++) {
		bool any = f->n[k] == 0;
		for (size_t i = 0; i < f->n[k] && !any; i++)
			any = net_filter_one(k, f->v[k][i], nw, labels);
		keep = any;
	}
	json_decref(labels);
	return keep;
}

static int cmp_view(const void *a, const void *b)
{
	return strcmp(((const struct net_view *)a)->name, ((const struct net_view *)b)->name);
}

static const char *const ls_fields[] = {"ID",	    "Name",   "Driver", "Scope", "Subnet",
					"Internal", "Labels", "Label",	NULL};

int cmd_network_ls(int argc, char **argv)
{
	bool quiet = false, trunc = true;
	const char *format = NULL;
	struct net_filter f = {0};
	int c, rf = 0;
	while ((c = cli_getopt(argc, argv)) != -1 && rf == 0) {
		if (c == 'q')
			quiet = true;
		else if (c == 'T')
			trunc = false;
		else if (c == 'F')
			format = optarg;
		else if (c == 'f')
			rf = net_filter_add(&f, optarg);
		else
			rf = 125;
	}
	if (rf) {
		for (size_t k = 0; k < ARRAY_SIZE(f.v); k++)
			free(f.v[k]);
		return rf;
	}
	if (cli_operands(argc, argv, 0, 0))
		return 125;
	husk_error *err = NULL;
	struct husk_tmpl *tmpl = NULL;
	if (format && cli_tmpl_parse(format, ls_fields, &tmpl, &err) < 0)
		return fail(err);
	struct husk_network *v;
	size_t n;
	if (husk_network_list(eng.root, &v, &n, &err) < 0) {
		husk_tmpl_free(tmpl);
		return fail(err);
	}
	/* by name, as Docker's CLI sorts them */
	size_t nv = n + ARRAY_SIZE(builtin_nets);
	struct net_view *views = calloc(nv, sizeof(*views));
	if (!views)
		abort();
	for (size_t i = 0; i < n; i++)
		views[i] = (struct net_view){.name = v[i].name,
					     .id = short_id(&v[i]),
					     .driver = "bridge",
					     .subnet = v[i].subnet,
					     .builtin = *v[i].id == '\0',
					     .internal = v[i].internal,
					     .labels = v[i].labels};
	for (size_t i = 0; i < ARRAY_SIZE(builtin_nets); i++)
		views[n + i] = (struct net_view){.name = builtin_nets[i][0],
						 .id = builtin_nets[i][0],
						 .driver = builtin_nets[i][1],
						 .subnet = "",
						 .builtin = true};
	qsort(views, nv, sizeof(*views), cmp_view);
	json_t *rows = json_array();
	int rc = 0;
	for (size_t i = 0; i < nv; i++) {
		if (!net_filter_keep(&f, &views[i]))
			continue;
		cleanup_free char *id = husk_strdup_printf("%.*s", trunc ? 12 : 64, views[i].id);
		json_t *row = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "ID", id, "Name",
					views[i].name, "Driver", views[i].driver, "Scope", "local",
					"Subnet", views[i].subnet, "Internal",
					views[i].internal ? "true" : "false");
		cli_row_labels(row, husk_labels_object(views[i].labels));
		if (quiet)
			printf("%s\n", id);
		else if (tmpl && cli_print_tmpl(tmpl, row))
			rc = 125;
		json_array_append_new(rows, row);
	}
	if (!quiet && !tmpl) {
		static const char *const cols[] = {"NETWORK ID", "NAME", "DRIVER", "SCOPE"};
		static const char *const keys[] = {"ID", "Name", "Driver", "Scope"};
		cli_print_table(cols, keys, ARRAY_SIZE(cols), rows);
	}
	json_decref(rows);
	free(views);
	husk_network_list_free(v, n);
	husk_tmpl_free(tmpl);
	for (size_t k = 0; k < ARRAY_SIZE(f.v); k++)
		free(f.v[k]);
	return rc;
}

const struct cli_flag network_inspect_flags[] = {
	{"format", 'f', "TEMPLATE", "print through a Go template ({{.IPAM.Config}}...)"},
	{0},
};

static const char *const inspect_fields[] = {"Name",	   "Id",	 "Created", "Scope",
					     "Driver",	   "EnableIPv6", "IPAM",    "Internal",
					     "Containers", "Options",	 "Labels",  NULL};

/* Docker's inspect of host or none: no IPAM config, no options; on host,
 * the containers run with --network host (none: Docker lists none) */
static json_t *builtin_json(const char *name, const char *driver)
{
	json_t *ctrs = json_object();
	struct husk_ctr *v;
	size_t n;
	if (strcmp(name, "host") == 0 && husk_engine_list(&eng, &v, &n, NULL) == 0) {
		for (size_t i = 0; i < n; i++)
			if (v[i].network && strcmp(v[i].network, "host") == 0 &&
			    v[i].state == HUSK_CTR_RUNNING)
				json_object_set_new(ctrs, v[i].id,
						    json_pack("{s:s,s:s}", "Name", v[i].name,
							      "IPv4Address", ""));
		husk_engine_list_free(v, n);
	}
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:{s:s,s:[]},s:b,s:o,s:{},s:{}}", "Name", name,
			 "Id", name, "Created", "", "Scope", "local", "Driver", driver,
			 "EnableIPv6", 0, "IPAM", "Driver", "default", "Config", "Internal", 0,
			 "Containers", ctrs, "Options", "Labels");
}

json_t *cli_network_json(const char *name, husk_error **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtin_nets); i++)
		if (strcmp(name, builtin_nets[i][0]) == 0)
			return builtin_json(builtin_nets[i][0], builtin_nets[i][1]);
	struct husk_network n;
	if (husk_network_get(eng.root, name, &n, err) < 0)
		return NULL;
	json_t *j = network_json(&n);
	husk_network_release(&n);
	return j;
}

int cmd_network_inspect(int argc, char **argv)
{
	const char *format = NULL;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'f')
			format = optarg;
		else
			return 125;
	}
	if (cli_operands(argc, argv, 1, -1))
		return 125;
	return cli_inspect(argv + optind, (size_t)(argc - optind), format, inspect_fields,
			   cli_network_json);
}

const struct cli_flag network_rm_flags[] = {
	{"force", 'f', NULL, "no error for a network that is not there (Docker 24's)"},
	{0},
};

int cmd_network_rm(int argc, char **argv)
{
	bool force = false;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c != 'f')
			return 125;
		force = true;
	}
	if (cli_operands(argc, argv, 1, -1))
		return 125;
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		husk_error *err = NULL;
		if (husk_network_rm(eng.root, argv[i], &err) < 0) {
			/* -f: a network that is not there is no error, and
			 * says nothing, as Docker's */
			if (force && err && err->errnum == ENOENT)
				husk_error_free(err);
			else
				rc = fail(err);
		} else {
			printf("%s\n", argv[i]);
		}
	}
	return rc;
}

const struct cli_flag network_prune_flags[] = {
	{"force", 'f', NULL, "do not ask (husk never asks)"},
	{"filter", 0, "KEY=VALUE",
	 "prune only what matches: until=TIME, label=KEY[=VALUE], label!=...", 'L'},
	{0},
};

int cmd_network_prune(int argc, char **argv)
{
	struct cli_prune p = {0};
	struct husk_prune_filter *f = &p.filter;
	int rc = cli_prune_args(argc, argv, &p);
	if (rc == 0)
		rc = cli_network_prune(f);
	husk_prune_filter_release(f);
	return rc;
}

int cli_network_prune(const struct husk_prune_filter *f)
{
	husk_error *err = NULL;
	char **names = NULL;
	size_t n = 0;
	int rc = husk_engine_network_prune(&eng, f, &names, &n, &err) < 0 ? fail(err) : 0;
	if (n)
		printf("Deleted Networks:\n");
	for (size_t i = 0; i < n; i++)
		printf("%s\n", names[i]);
	husk_strv_free(names, n);
	return rc;
}

const struct cli_flag network_connect_flags[] = {
	{"alias", 0, "NAME", "another name for the container on this network", 'A'},
	{"ip", 0, "ADDRESS", "the container's IPv4 address on this network", 'P'},
	{"ip6", 0, "ADDRESS", "the container's IPv6 address on this network (one with --ipv6)",
	 '6'},
	{"mac-address", 0, "MAC", "the container's MAC address on this network", 'M'},
	{0},
};

int cmd_network_connect(int argc, char **argv)
{
	struct husk_net_attach a = {0};
	size_t na = 0;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv)) != -1 && !rc) {
		if (c == 'A')
			husk_strv_push(&a.aliases, &na, optarg);
		else if (c == 'P')
			a.ip = optarg;
		else if (c == '6')
			a.ip6 = optarg;
		else if (c == 'M')
			a.mac = optarg;
		else
			rc = 125;
	}
	if (!rc && cli_operands(argc, argv, 2, 2))
		rc = 125;
	if (rc) {
		free(a.aliases);
		return rc;
	}
	a.network = argv[optind];
	husk_error *err = NULL;
	rc = husk_engine_net_connect(&eng, argv[optind + 1], &a, &err) < 0 ? fail(err) : 0;
	free(a.aliases);
	return rc;
}

const struct cli_flag network_disconnect_flags[] = {
	{"force", 'f', NULL, "accepted, as Docker's"},
	{0},
};

int cmd_network_disconnect(int argc, char **argv)
{
	int c;
	while ((c = cli_getopt(argc, argv)) != -1)
		if (c != 'f')
			return 125;
	if (cli_operands(argc, argv, 2, 2))
		return 125;
	husk_error *err = NULL;
	return husk_engine_net_disconnect(&eng, argv[optind + 1], argv[optind], &err) < 0
		       ? fail(err)
		       : 0;
}

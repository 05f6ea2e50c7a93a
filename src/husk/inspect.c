/* husk inspect and husk healthcheck run: a container's record as
 * Docker's inspect shows it (the fields scripts read: State with Health,
 * RestartCount, Config, HostConfig, NetworkSettings), --format over it. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "engine.h"
#include "template.h"
#include "util.h"

/* RFC 3339 with nanoseconds; Docker's zero time when never */
static json_t *rfc3339(int64_t ns)
{
	if (ns <= 0)
		return json_string("0001-01-01T00:00:00Z");
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	char buf[40], out[64];
	gmtime_r(&s, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, sizeof(out), "%s.%09lldZ", buf, (long long)(ns % 1000000000));
	return json_string(out);
}

static json_t *health_json(const struct husk_ctr *c)
{
	json_t *log = json_array();
	for (size_t i = 0; i < c->n_health_log; i++) {
		const struct husk_health_result *r = &c->health_log[i];
		json_array_append_new(log,
				      json_pack("{s:o,s:o,s:i,s:s}", "Start", rfc3339(r->start_ns),
						"End", rfc3339(r->end_ns), "ExitCode", r->exit_code,
						"Output", r->output ? r->output : ""));
	}
	return json_pack("{s:s,s:i,s:o}", "Status",
			 c->health_status ? c->health_status : "starting", "FailingStreak",
			 c->health_streak, "Log", log);
}

/* Docker's Mounts: volumes with their Name and Driver, binds without */
static json_t *mounts_json(const struct husk_ctr *c)
{
	json_t *a = json_array();
	for (size_t i = 0; i < c->n_mounts; i++) {
		const struct husk_ctr_mount *m = &c->mounts[i];
		json_t *j = json_pack("{s:s}", "Type", m->type ? m->type : "");
		if (m->name)
			json_object_set_new(j, "Name", json_string(m->name));
		json_object_set_new(j, "Source", json_string(m->source ? m->source : ""));
		json_object_set_new(j, "Destination",
				    json_string(m->destination ? m->destination : ""));
		if (m->name)
			json_object_set_new(j, "Driver", json_string("local"));
		json_object_set_new(j, "Mode", json_string(m->mode ? m->mode : ""));
		json_object_set_new(j, "RW", json_boolean(m->rw));
		json_object_set_new(j, "Propagation",
				    json_string(m->propagation ? m->propagation : ""));
		json_array_append_new(a, j);
	}
	return a;
}

/* HostConfig.Tmpfs: {"/path": "options"} */
static json_t *tmpfs_json(const struct husk_ctr *c)
{
	json_t *o = json_object();
	for (char **t = c->tmpfs; t && *t; t++) {
		const char *colon = strchr(*t, ':');
		cleanup_free char *k = colon ? strndup(*t, (size_t)(colon - *t)) : strdup(*t);
		json_object_set_new(o, k, json_string(colon ? colon + 1 : ""));
	}
	return o;
}

/* NetworkSettings as Docker's: the first network's address, gateway and
 * MAC, Networks with one entry per network, Ports {"80/tcp":
 * [{"HostIp": "0.0.0.0", "HostPort": "8080"}]} with null for a port
 * exposed and not published */
static json_t *network_settings(const struct husk_ctr *c)
{
	struct husk_net_endpoint *eps = NULL;
	size_t n = 0;
	husk_engine_net_endpoints(&eng, c->id, &eps, &n, NULL);
	json_t *nets = json_object();
	for (size_t i = 0; i < n; i++) {
		const struct husk_net_endpoint *ep = &eps[i];
		json_t *al = json_null();
		if (ep->network_id && *ep->network_id) {
			al = json_array();
			for (char **a = ep->aliases; a && *a; a++)
				json_array_append_new(al, json_string(*a));
			char shortid[13];
			snprintf(shortid, sizeof(shortid), "%.12s", c->id);
			json_array_append_new(al, json_string(shortid));
		}
		json_object_set_new(
			nets, ep->network,
			json_pack("{s:n,s:n,s:o,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:i,s:s,s:n}",
				  "IPAMConfig", "Links", "Aliases", al, "NetworkID",
				  ep->network_id ?: "", "EndpointID", "", "Gateway", ep->gateway,
				  "IPAddress", ep->ip, "IPPrefixLen", ep->prefix, "IPv6Gateway",
				  ep->gateway6 ?: "", "GlobalIPv6Address", ep->ip6 ?: "",
				  "GlobalIPv6PrefixLen", ep->prefix6, "MacAddress", ep->mac ?: "",
				  "DriverOpts"));
	}
	json_t *ports = json_object();
	const char *k;
	json_t *v;
	json_object_foreach (json_object_get(json_object_get(c->docker, "Config"), "ExposedPorts"),
			     k, v)
		json_object_set_new(ports, k, json_null());
	for (char **p = c->ports; p && *p; p++) {
		char ip[46] = "0.0.0.0", proto[4] = "tcp", key[16], hp[8];
		unsigned h = 0, ct = 0;
		if (sscanf(*p, "%u:%u/%3s", &h, &ct, proto) < 2 &&
		    sscanf(*p, "%15[0-9.]:%u:%u/%3s", ip, &h, &ct, proto) < 3 &&
		    sscanf(*p, "[%45[0-9a-fA-F:.]]:%u:%u/%3s", ip, &h, &ct, proto) < 3)
			continue;
		snprintf(key, sizeof(key), "%u/%s", ct, proto);
		snprintf(hp, sizeof(hp), "%u", h);
		json_t *l = json_object_get(ports, key);
		if (!json_is_array(l))
			json_object_set_new(ports, key, l = json_array());
		json_array_append_new(l, json_pack("{s:s,s:s}", "HostIp", ip, "HostPort", hp));
	}
	json_t *net = json_pack(
		"{s:s,s:s,s:i,s:s,s:o,s:o}", "IPAddress", c->ip ? c->ip : "", "Gateway",
		n ? eps[0].gateway : "", "IPPrefixLen", n ? eps[0].prefix : 0, "MacAddress",
		n && eps[0].mac ? eps[0].mac : "", "Ports", ports, "Networks", nets);
	for (size_t i = 0; i < n; i++)
		husk_net_endpoint_release(&eps[i]);
	free(eps);
	return net;
}

static json_t *inspect_json(const struct husk_ctr *c)
{
	bool running = c->state == HUSK_CTR_RUNNING || c->state == HUSK_CTR_PAUSED;
	json_t *state =
		json_pack("{s:s,s:b,s:b,s:b,s:b,s:b,s:i,s:i,s:s,s:o,s:o}", "Status",
			  husk_ctr_state_name(c->state), "Running", running, "Paused",
			  c->state == HUSK_CTR_PAUSED, "Restarting", false, "OOMKilled",
			  c->oom_killed, "Dead", false, "Pid", running ? (int)c->pid : 0,
			  "ExitCode", c->has_exit ? c->exit_code : 0, "Error", "", "StartedAt",
			  rfc3339(c->started_ns), "FinishedAt", rfc3339(c->finished_ns));
	if (c->test)
		json_object_set_new(state, "Health", health_json(c));
	if (c->log_cut) {
		/* husk's own: the log stopped at a write that failed (the
		 * filesystem full), and holds what came before */
		char why[128] = "a write failed";
		if (c->log_cut_errno) {
			snprintf(why, sizeof(why), "%s", strerror(c->log_cut_errno));
			why[0] = (char)tolower((unsigned char)why[0]);
		}
		json_object_set_new(
			state, "LogTruncated",
			json_pack("{s:s,s:o}", "Error", why, "At", rfc3339(c->log_cut_ns)));
	}
	json_t *test = json_array();
	for (char **t = c->test; t && *t; t++)
		json_array_append_new(test, json_string(*t));
	json_t *config = json_pack("{s:s,s:s,s:b,s:b,s:s}", "Hostname",
				   c->hostname ? c->hostname : "", "Image", c->image, "Tty", c->tty,
				   "OpenStdin", c->interactive, "Cmd", c->command);
	if (c->test)
		json_object_set_new(config, "Healthcheck",
				    json_pack("{s:o,s:I,s:I,s:I,s:i}", "Test", test, "Interval",
					      (json_int_t)c->health_interval_ns, "Timeout",
					      (json_int_t)c->health_timeout_ns, "StartPeriod",
					      (json_int_t)c->health_start_period_ns, "Retries",
					      c->health_retries));
	else
		json_decref(test);
	json_t *host = json_pack("{s:{s:s,s:i},s:b,s:s,s:{s:s,s:{}}}", "RestartPolicy", "Name",
				 husk_restart_name(c->restart), "MaximumRetryCount", c->restart_max,
				 "AutoRemove", c->rm, "NetworkMode",
				 c->network ? c->network : "none", "LogConfig", "Type",
				 c->log_driver ? c->log_driver : "json-file", "Config");
	/* run's other options, kept under Docker's names at create */
	json_object_update(config, json_object_get(c->docker, "Config"));
	json_object_update(host, json_object_get(c->docker, "HostConfig"));
	json_object_set_new(host, "ReadonlyRootfs", json_boolean(c->read_only));
	if (c->tmpfs)
		json_object_set_new(host, "Tmpfs", tmpfs_json(c));
	json_t *net = network_settings(c);
	cleanup_free char *name = husk_strdup_printf("/%s", c->name);
	return json_pack("{s:s,s:s,s:o,s:s,s:o,s:i,s:o,s:o,s:o,s:o}", "Id", c->id, "Name", name,
			 "Created", rfc3339(c->created_ns), "Image", c->image, "State", state,
			 "RestartCount", c->restart_count, "Config", config, "HostConfig", host,
			 "Mounts", mounts_json(c), "NetworkSettings", net);
}

static const char *const inspect_fields[] = {
	"Id",	      "Name",	      "Created",	 "Image",  "State",  "Config",
	"HostConfig", "RestartCount", "NetworkSettings", "Mounts", "SizeRw", "SizeRootFs",
	NULL};

const struct cli_flag inspect_flags[] = {
	{"format", 'f', "TEMPLATE", "print through a Go template ({{.State.Status}}...)"},
	{"type", 0, "TYPE",
	 "what to inspect: container, image, network or volume (default: the first kind that "
	 "has the name, in that order)",
	 'T'},
	{"size", 's', NULL, "a container's SizeRw (what it wrote) and SizeRootFs (with its image)"},
	{0},
};

/* -s: Docker's SizeRw and SizeRootFs in a container's */
static bool with_size;

static json_t *one_container(const char *name, husk_error **err)
{
	struct husk_ctr ctr;
	if (husk_engine_inspect(&eng, name, &ctr, err) < 0)
		return NULL;
	json_t *j = inspect_json(&ctr);
	long long rw = 0, rootfs = 0;
	if (with_size && husk_engine_ctr_sizes(&eng, &ctr, 1, &rw, &rootfs, err) < 0) {
		json_decref(j);
		j = NULL;
	} else if (with_size) {
		json_object_set_new(j, "SizeRw", json_integer(rw));
		json_object_set_new(j, "SizeRootFs", json_integer(rootfs));
	}
	husk_ctr_release(&ctr);
	return j;
}

/* what a template may name when the kind is not given: every kind's */
static const char *const any_fields[] = {"Id",	       "Name",	       "Created",
					 "Image",      "State",	       "Config",
					 "HostConfig", "RestartCount", "NetworkSettings",
					 "Mounts",     "ID",	       "Digest",
					 "RepoTags",   "RepoDigests",  "Architecture",
					 "Os",	       "Author",       "RootFS",
					 "History",    "Size",	       "Labels",
					 "Scope",      "Driver",       "EnableIPv6",
					 "IPAM",       "Internal",     "Containers",
					 "Options",    "Mountpoint",   "CreatedAt",
					 "SizeRw",     "SizeRootFs",   NULL};
static const char *const image_fields[] = {
	"Id",	   "ID",	   "Digest", "RepoTags", "RepoDigests",
	"Created", "Architecture", "Os",     "Author",	 "Config",
	"RootFS",  "History",	   "Size",   "Labels",	 NULL};

static json_t *one_image(const char *name, husk_error **err)
{
	json_t *o = NULL;
	if (husk_engine_image_inspect(&eng, name, &o, err) < 0)
		return NULL;
	/* podman's Go field is ID, docker's JSON key Id: both work */
	json_object_set(o, "ID", json_object_get(o, "Id"));
	return o;
}

/* Docker's order: a container, an image, a network, a volume of that
 * name; not found as any: Docker's words.  Another error (not ENOENT)
 * ends the search with it. */
static json_t *one_any(const char *name, husk_error **err)
{
	json_t *(*kinds[])(const char *, husk_error **) = {one_container, one_image,
							   cli_network_json, cli_volume_json};
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		husk_error *e = NULL;
		json_t *j = kinds[i](name, &e);
		if (j)
			return j;
		if (!e || e->errnum != ENOENT) {
			if (err)
				*err = e;
			else
				husk_error_free(e);
			return NULL;
		}
		husk_error_free(e);
	}
	husk_fail_as(err, ENOENT, "no such object: \"%s\"", name);
	return NULL;
}

int cmd_inspect(int argc, char **argv)
{
	const char *format = NULL, *type = NULL;
	int c;
	while ((c = cli_getopt(argc, argv)) != -1) {
		if (c == 'f')
			format = optarg;
		else if (c == 'T')
			type = optarg;
		else if (c == 's')
			with_size = true;
		else
			return 125;
	}
	if (cli_operands(argc, argv, 1, -1))
		return 125;
	json_t *(*one)(const char *, husk_error **) = one_any;
	const char *const *fields = any_fields;
	if (!type)
		; /* every kind, in Docker's order */
	else if (strcmp(type, "container") == 0) {
		one = one_container;
		fields = inspect_fields;
	} else if (strcmp(type, "image") == 0) {
		one = one_image;
		fields = image_fields;
	} else if (strcmp(type, "network") == 0) {
		one = cli_network_json;
		fields = NULL;
	} else if (strcmp(type, "volume") == 0) {
		one = cli_volume_json;
		fields = NULL;
	} else {
		return cli_usage_error("--type \"%s\": expected container, image, network or "
				       "volume",
				       type);
	}
	return cli_inspect(argv + optind, (size_t)(argc - optind), format, fields, one);
}

/* husk healthcheck run CONTAINER: Podman's; prints the health, exit 1
 * when unhealthy */
int cmd_healthcheck_run(int argc, char **argv)
{
	if (cli_getopt(argc, argv) != -1 || cli_operands(argc, argv, 1, 1))
		return 125;
	husk_error *err = NULL;
	const char *status = NULL;
	if (husk_engine_health_check(&eng, argv[optind], &status, NULL, &err) < 0)
		return fail(err);
	printf("%s\n", status);
	return strcmp(status, "unhealthy") == 0 ? 1 : 0;
}

/* ps --filter, as Docker's: KEY=VALUE conditions on a container.  The same
 * key given twice matches either value; different keys must all match.
 * Keys: id (a prefix), name (a part of the name), label (KEY or
 * KEY=VALUE), exited (the exit code), status (created, running, paused,
 * exited, removing), ancestor (the image, with or without its tag),
 * volume (a volume's name or a mount's destination), network, health
 * (starting, healthy, unhealthy, none), before and since (another
 * container, by the time it was created), publish and expose (PORT or
 * START-END, /tcp unless /udp: a host port it publishes, a port of its
 * own that it exposes or publishes). */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "util.h"

static const char *const keys[] = {"id",       "name",	  "label",   "exited", "status",
				   "ancestor", "volume",  "network", "health", "before",
				   "since",    "publish", "expose"};

struct cond {
	const char *key; /* one of keys */
	char *value;
	int64_t created_ns; /* before, since: the other container's */
	unsigned lo, hi;    /* publish, expose: the ports */
	char proto[4];	    /* tcp or udp */
};

/* "80", "80/udp", "8000-8080/tcp" */
static bool parse_ports(const char *v, struct cond *c)
{
	int end = 0;
	snprintf(c->proto, sizeof(c->proto), "tcp");
	if (sscanf(v, "%u-%u%n", &c->lo, &c->hi, &end) != 2) {
		end = 0;
		if (sscanf(v, "%u%n", &c->lo, &end) != 1)
			return false;
		c->hi = c->lo;
	}
	if (v[end] == '/') {
		if (strcmp(v + end + 1, "tcp") != 0 && strcmp(v + end + 1, "udp") != 0)
			return false;
		snprintf(c->proto, sizeof(c->proto), "%s", v + end + 1);
	} else if (v[end]) {
		return false;
	}
	return c->lo >= 1 && c->lo <= c->hi && c->hi <= 65535;
}

static bool port_in(const struct cond *f, unsigned port, const char *proto)
{
	return port >= f->lo && port <= f->hi && strcmp(proto, f->proto) == 0;
}

/* publish: the host ports of the record's "[IP:]HOST:CTR/PROTO" entries */
static bool publishes(const struct husk_ctr *c, const struct cond *f)
{
	for (char **p = c->ports; p && *p; p++) {
		const char *slash = strrchr(*p, '/');
		const char *ctr = slash ? memrchr(*p, ':', (size_t)(slash - *p)) : NULL;
		const char *host = ctr ? memrchr(*p, ':', (size_t)(ctr - *p)) : NULL;
		host = host ? host + 1 : *p;
		if (slash && ctr && port_in(f, (unsigned)strtoul(host, NULL, 10), slash + 1))
			return true;
	}
	return false;
}

/* expose: Config.ExposedPorts ("80/tcp"), which -p's ports are in too */
static bool exposes(const char *root, struct husk_ctr *c, const struct cond *f)
{
	if (!c->docker)
		husk_record_load_docker(root, c, NULL);
	const char *k;
	json_t *v;
	json_object_foreach (json_object_get(json_object_get(c->docker, "Config"), "ExposedPorts"),
			     k, v) {
		unsigned port = 0;
		char proto[8] = "tcp";
		if (sscanf(k, "%u/%7s", &port, proto) >= 1 && port_in(f, port, proto))
			return true;
	}
	return false;
}

/* does the image name match ancestor's value: "busybox" matches
 * "busybox:latest" and "docker.io/library/busybox:1" */
static bool image_is(const char *image, const char *want)
{
	if (!image)
		return false;
	if (strcmp(image, want) == 0)
		return true;
	size_t n = strlen(want);
	const char *colon = strrchr(image, ':');
	const char *slash = strrchr(image, '/');
	if (colon && (!slash || colon > slash)) {
		/* want without a tag: the name part alone */
		size_t name_len = (size_t)(colon - image);
		if (!strchr(want, ':') && name_len >= n &&
		    strncmp(image + name_len - n, want, n) == 0 &&
		    (name_len == n || image[name_len - n - 1] == '/'))
			return true;
	}
	/* want with a tag, image fully qualified */
	size_t len = strlen(image);
	return len > n && strcmp(image + len - n, want) == 0 && image[len - n - 1] == '/';
}

/* the labels are in inspect's view of the options, which ps does not read
 * (docker.json): read here, only for a label filter */
static bool has_label(const char *root, struct husk_ctr *c, const char *spec)
{
	if (!c->docker)
		husk_record_load_docker(root, c, NULL);
	return husk_labels_match(json_object_get(json_object_get(c->docker, "Config"), "Labels"),
				 spec);
}

static bool one(const char *root, const struct cond *f, struct husk_ctr *c)
{
	const char *k = f->key, *v = f->value;
	if (strcmp(k, "id") == 0)
		return strncmp(c->id, v, strlen(v)) == 0;
	if (strcmp(k, "name") == 0)
		return c->name && strstr(c->name, v);
	if (strcmp(k, "label") == 0)
		return has_label(root, c, v);
	if (strcmp(k, "exited") == 0) {
		long code = -1;
		husk_parse_long(v, &code); /* checked when parsed */
		return c->state == HUSK_CTR_EXITED && c->has_exit && code == c->exit_code;
	}
	if (strcmp(k, "status") == 0)
		return strcmp(husk_ctr_state_name(c->state), v) == 0;
	if (strcmp(k, "ancestor") == 0)
		return image_is(c->image, v);
	if (strcmp(k, "volume") == 0) {
		for (size_t i = 0; i < c->n_mounts; i++)
			if ((c->mounts[i].name && strcmp(c->mounts[i].name, v) == 0) ||
			    (c->mounts[i].destination && strcmp(c->mounts[i].destination, v) == 0))
				return true;
		return false;
	}
	if (strcmp(k, "network") == 0)
		return c->network && strcmp(c->network, v) == 0;
	if (strcmp(k, "health") == 0)
		return strcmp(c->health_status ? c->health_status : "none", v) == 0;
	if (strcmp(k, "before") == 0)
		return c->created_ns < f->created_ns;
	if (strcmp(k, "publish") == 0)
		return publishes(c, f);
	if (strcmp(k, "expose") == 0)
		return exposes(root, c, f);
	return c->created_ns > f->created_ns; /* since */
}

static int parse(struct husk_engine *e, const char *spec, struct cond *ret, husk_error **err)
{
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec)
		return husk_fail_as(err, EINVAL, "--filter \"%s\": expected KEY=VALUE", spec);
	*ret = (struct cond){0};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strlen(keys[i]) == (size_t)(eq - spec) &&
		    strncmp(spec, keys[i], eq - spec) == 0)
			ret->key = keys[i];
	if (!ret->key)
		return husk_fail_as(
			err, EINVAL,
			"--filter \"%s\": invalid filter '%.*s' (husk knows id, name, "
			"label, exited, status, ancestor, volume, network, health, before, "
			"since, publish and expose)",
			spec, (int)(eq - spec), spec);
	const char *v = eq + 1;
	if (strcmp(ret->key, "status") == 0) {
		static const char *const states[] = {"created", "running", "paused", "exited",
						     "removing"};
		bool ok = false;
		for (size_t i = 0; i < ARRAY_SIZE(states); i++)
			ok |= strcmp(v, states[i]) == 0;
		if (!ok)
			return husk_fail_as(err, EINVAL,
					    "--filter \"%s\": invalid filter 'status=%s' (created, "
					    "running, paused, exited or removing)",
					    spec, v);
	}
	if (strcmp(ret->key, "exited") == 0) {
		long n;
		if (husk_parse_long(v, &n) < 0 || n < 0 || n > 255)
			return husk_fail_as(err, EINVAL,
					    "--filter \"%s\": an exit code is 0 to 255", spec);
	}
	if (strcmp(ret->key, "health") == 0 && strcmp(v, "starting") && strcmp(v, "healthy") &&
	    strcmp(v, "unhealthy") && strcmp(v, "none"))
		return husk_fail_as(
			err, EINVAL,
			"--filter \"%s\": health is starting, healthy, unhealthy or none", spec);
	if ((strcmp(ret->key, "publish") == 0 || strcmp(ret->key, "expose") == 0) &&
	    !parse_ports(v, ret))
		return husk_fail_as(
			err, EINVAL,
			"--filter \"%s\": expected a port or a range, with /tcp or /udp", spec);
	if (strcmp(ret->key, "before") == 0 || strcmp(ret->key, "since") == 0) {
		struct husk_ctr other;
		if (husk_engine_get(e, v, &other, err) < 0)
			return husk_error_wrap(err, "--filter \"%s\"", spec);
		ret->created_ns = other.created_ns;
		husk_ctr_release(&other);
	}
	ret->value = strdup(v);
	return 0;
}

int husk_engine_list_filtered(struct husk_engine *e, const char *const *filters, size_t n_filters,
			      struct husk_ctr **ret, size_t *ret_n, husk_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	struct cond *f = calloc(n_filters + 1, sizeof(*f));
	if (!f)
		return husk_fail(err, ENOMEM, "filters");
	int r = 0;
	size_t nf = 0;
	for (; nf < n_filters && r == 0; nf++)
		r = parse(e, filters[nf], &f[nf], err);
	struct husk_ctr *v = NULL;
	size_t n = 0;
	if (r == 0)
		r = husk_engine_list(e, &v, &n, err);
	size_t k = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		/* each key that is given: one of its values matches */
		bool keep = true;
		for (size_t a = 0; keep && a < nf; a++) {
			bool seen_before = false;
			for (size_t b = 0; b < a; b++)
				seen_before |= f[b].key == f[a].key;
			if (seen_before)
				continue;
			bool any = false;
			for (size_t b = a; b < nf && !any; b++)
				any = f[b].key == f[a].key && one(e->root, &f[b], &v[i]);
			keep = any;
		}
		if (keep) {
			if (k != i) {
				struct husk_ctr tmp = v[k];
				v[k] = v[i];
				v[i] = tmp;
			}
			k++;
		}
	}
	if (r == 0) {
		/* the ones filtered out go now, the kept ones to the caller */
		for (size_t i = k; i < n; i++)
			husk_ctr_release(&v[i]);
		*ret = v;
		*ret_n = k;
	} else {
		husk_engine_list_free(v, n);
	}
	for (size_t i = 0; i < nf; i++)
		free(f[i].value);
	free(f);
	return r;
}

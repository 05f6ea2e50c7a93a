/* The OCI config of an engine container: the image's config and the
 * run options, made into config.json.  A pure function (no file is read,
 * nothing is made), so that every rule is unit-tested
 * (tests/unit/test-config.c). */
#ifndef HUSK_ENGINE_CONFIG_H
#define HUSK_ENGINE_CONFIG_H

#include <jansson.h>

#include "engine.h"
#include "user.h"

struct husk_config_in {
	const struct husk_run_opts *o;
	json_t *image_config; /* the image's "config" object, or NULL */
	const char *image_name;
	const char *id;
	const struct husk_user *user; /* resolved from the image's files */
	const char *hostname;
	/* files bound on /etc/hosts, /etc/hostname, /etc/resolv.conf */
	const char *hosts_path, *hostname_path, *resolv_path;
	const char *netns_path; /* join it (bridge); NULL: a new one, or the host's */
};

/* EINVAL when the image has no command and none was given. */
json_t *husk_engine_config(const struct husk_config_in *in, husk_error **err);

/* ps's COMMAND: the process args joined by spaces, at most 255 bytes. */
char *husk_engine_config_command(json_t *config);

#endif

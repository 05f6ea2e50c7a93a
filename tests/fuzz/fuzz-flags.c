/* libFuzzer: husk run's flag values that the engine parses: -p, -v,
 * --mount, --tmpfs, --ulimit, --device, --restart, --sysctl,
 * --health-on-failure, --network-egress-rate, --log-opt's attributes
 * (tag=, labels-regex=, env=...).  The first byte picks the parser, the
 * rest is the value. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine-private.h"
#include "engine.h"
#include "net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *arg = strndup((const char *)data + 1, size - 1);
	if (!arg)
		return 0;
	husk_error *err = NULL;
	struct husk_volume v = {0};
	switch (data[0] % 11) {
	case 0: {
		struct husk_net_port p, *ps = NULL;
		size_t n = 0;
		(void)husk_net_parse_port(arg, &p, &err);
		husk_error_freep(&err);
		/* -p: a range may expand to many ports, never past 65535 */
		if (husk_net_parse_publish(arg, &ps, &n, &err) == 0 && n > 65535)
			abort();
		free(ps);
		break;
	}
	case 1:
		if (husk_mount_parse_v(arg, &v, &err) == 0)
			husk_volume_release(&v);
		break;
	case 2:
		if (husk_mount_parse(arg, &v, &err) == 0)
			husk_volume_release(&v);
		break;
	case 3:
		if (husk_mount_parse_tmpfs(arg, &v, &err) == 0)
			husk_volume_release(&v);
		break;
	case 4: {
		struct husk_ulimit u;
		(void)husk_ulimit_parse(arg, &u, &err);
		break;
	}
	case 5: {
		struct husk_device_map d = {0};
		if (husk_device_map_parse(arg, &d, &err) == 0) {
			free(d.host);
			free(d.ctr);
		}
		break;
	}
	case 6: {
		enum husk_restart r;
		int max;
		(void)husk_restart_parse(arg, &r, &max, &err);
		break;
	}
	case 7:
		(void)husk_sysctl_check(arg, &err);
		break;
	case 9: {
		uint64_t bits;
		(void)husk_net_parse_rate("--network-egress-rate", arg, &bits, &err);
		break;
	}
	case 10: {
		/* one --log-opt against a container with a label and a variable;
		 * what comes back is one JSON object */
		char *opts[] = {arg, NULL};
		json_t *config = json_pack("{s:{s:s},s:[s]}", "Labels", "a.b", "c", "Env", "K=v");
		struct husk_log_tag t = {.id = "0123456789abcdef",
					 .name = "n",
					 .image_id = "sha256:abc",
					 .image_name = "img:1"};
		char *attrs = NULL;
		if (husk_log_attrs(opts, config, &t, &attrs, &err) == 0 && attrs) {
			json_t *j = json_loads(attrs, 0, NULL);
			if (!json_is_object(j))
				abort();
			json_decref(j);
		}
		free(attrs);
		json_decref(config);
		break;
	}
	default: {
		enum husk_health_action a;
		(void)husk_health_action_parse(arg, &a, &err);
		break;
	}
	}
	husk_error_free(err);
	free(arg);
	return 0;
}

/* The config.json that `husk-oci spec` writes: the same shape as runc's
 * default, so bundles made for runc work unchanged. */
#define _GNU_SOURCE
#include <jansson.h>
#include <string.h>

#include "spec.h"
#include "util.h"

static const char default_caps[] = "[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]";

static const char template_json[] =
	"{"
	"\"ociVersion\":\"1.3.0\","
	"\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},"
	"\"args\":[\"sh\"],"
	"\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
	"\"TERM=xterm\"],"
	"\"cwd\":\"/\","
	"\"capabilities\":{\"bounding\":CAPS,\"effective\":CAPS,\"permitted\":CAPS},"
	"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
	"\"noNewPrivileges\":true},"
	"\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
	"\"hostname\":\"husk\","
	"\"mounts\":["
	"{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	"{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
	"\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
	"\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\","
	"\"gid=5\"]},"
	"{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
	"{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
	"{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}"
	"],"
	"\"linux\":{"
	"\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
	"\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},"
	"{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"}],"
	"\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\","
	"\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\","
	"\"/proc/sched_debug\",\"/sys/firmware\",\"/sys/devices/virtual/powercap\","
	"\"/proc/scsi\"],"
	"\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\","
	"\"/proc/sysrq-trigger\"]"
	"}"
	"}";

char *husk_spec_default_json(bool rootless, uint32_t uid, uint32_t gid)
{
	/* expand CAPS, then load so that rootless edits are structural */
	size_t n = 0;
	for (const char *p = template_json; (p = strstr(p, "CAPS")); p += 4)
		n++;
	size_t len = strlen(template_json) + n * strlen(default_caps) + 1;
	cleanup_free char *text = malloc(len);
	char *o = text;
	for (const char *p = template_json; *p;) {
		if (strncmp(p, "CAPS", 4) == 0) {
			o = stpcpy(o, default_caps);
			p += 4;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	json_t *root = json_loads(text, 0, NULL);
	if (!root)
		return NULL;
	if (rootless) {
		json_t *lx = json_object_get(root, "linux");
		json_t *nss = json_object_get(lx, "namespaces");
		/* rootless: a user namespace, no network namespace of its own
		 * would still be fine, but keep runc's choice: drop network */
		json_t *keep = json_array();
		size_t i;
		json_t *ns;
		json_array_foreach (nss, i, ns) {
			const char *t = json_string_value(json_object_get(ns, "type"));
			if (t && strcmp(t, "network") != 0)
				json_array_append(keep, ns);
		}
		json_array_append_new(keep, json_pack("{s:s}", "type", "user"));
		json_object_set_new(lx, "namespaces", keep);
		json_object_set_new(lx, "uidMappings",
				    json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID",
					      (json_int_t)uid, "size", 1));
		json_object_set_new(lx, "gidMappings",
				    json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID",
					      (json_int_t)gid, "size", 1));
		json_object_del(lx, "resources");
		/* without privilege over the host: bind /sys, no cgroup mount, no gid=5 */
		json_t *mounts = json_object_get(root, "mounts");
		json_t *nm = json_array();
		json_t *m;
		json_array_foreach (mounts, i, m) {
			const char *d = json_string_value(json_object_get(m, "destination"));
			if (strcmp(d, "/sys") == 0) {
				json_array_append_new(nm, json_pack("{s:s,s:s,s:s,s:[s,s,s,s,s]}",
								    "destination", "/sys", "type",
								    "none", "source", "/sys",
								    "options", "rbind", "nosuid",
								    "noexec", "nodev", "ro"));
				continue;
			}
			if (strcmp(d, "/sys/fs/cgroup") == 0)
				continue;
			if (strcmp(d, "/dev/pts") == 0) {
				json_t *opts =
					json_pack("[s,s,s,s,s]", "nosuid", "noexec", "newinstance",
						  "ptmxmode=0666", "mode=0620");
				json_object_set_new(m, "options", opts);
			}
			json_array_append(nm, m);
		}
		json_object_set_new(root, "mounts", nm);
	}
	char *out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return out;
}

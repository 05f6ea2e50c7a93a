/* `husk-oci features`: what this runtime supports, in the runtime-spec
 * features.md format that Podman and containerd read. */
#define _GNU_SOURCE
#include <jansson.h>
#include <seccomp.h>
#include <ctype.h>
#include <string.h>
#include <sys/capability.h>

#include "husk.h"

char *husk_features_json(void)
{
	static const char *mount_opts[] = {
		"async",       "atime",	       "bind",	      "defaults",
		"dev",	       "diratime",     "dirsync",     "exec",
		"idmap",       "iversion",     "lazytime",    "loud",
		"mand",	       "ridmap",       "tmpcopyup",   "noatime",
		"nodev",       "nodiratime",   "noexec",      "noiversion",
		"nolazytime",  "nomand",       "norelatime",  "nostrictatime",
		"nosuid",      "private",      "rbind",	      "rdev",
		"rdiratime",   "relatime",     "remount",     "rexec",
		"rnoatime",    "rnodev",       "rnodiratime", "rnoexec",
		"rnosuid",     "rnosymfollow", "ro",	      "rprivate",
		"rrelatime",   "rro",	       "rrw",	      "rshared",
		"rslave",      "rstrictatime", "rsuid",	      "rsymfollow",
		"runbindable", "rw",	       "shared",      "silent",
		"slave",       "strictatime",  "suid",	      "sync",
		"unbindable"};
	static const char *ns[] = {"cgroup", "ipc",  "mount", "network",
				   "pid",    "time", "user",  "uts"};
	static const char *actions[] = {
		"SCMP_ACT_ALLOW",	 "SCMP_ACT_ERRNO",	 "SCMP_ACT_KILL",
		"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
		"SCMP_ACT_NOTIFY",	 "SCMP_ACT_TRACE",	 "SCMP_ACT_TRAP"};
	static const char *ops[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
				    "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
				    "SCMP_CMP_NE"};
	static const char *archs[] = {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
				      "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
	static const char *flags[] = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
				      "SECCOMP_FILTER_FLAG_TSYNC",
				      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
	json_t *mo = json_array(), *na = json_array(), *ac = json_array(), *op = json_array(),
	       *ar = json_array(), *fl = json_array();
	for (size_t i = 0; i < sizeof(mount_opts) / sizeof(*mount_opts); i++)
		json_array_append_new(mo, json_string(mount_opts[i]));
	for (size_t i = 0; i < sizeof(ns) / sizeof(*ns); i++)
		json_array_append_new(na, json_string(ns[i]));
	for (size_t i = 0; i < sizeof(actions) / sizeof(*actions); i++)
		json_array_append_new(ac, json_string(actions[i]));
	for (size_t i = 0; i < sizeof(ops) / sizeof(*ops); i++)
		json_array_append_new(op, json_string(ops[i]));
	for (size_t i = 0; i < sizeof(archs) / sizeof(*archs); i++)
		json_array_append_new(ar, json_string(archs[i]));
	for (size_t i = 0; i < sizeof(flags) / sizeof(*flags); i++)
		json_array_append_new(fl, json_string(flags[i]));
	const struct scmp_version *v = seccomp_version();
	char ver[32];
	snprintf(ver, sizeof(ver), "%u.%u.%u", v->major, v->minor, v->micro);
	json_t *seccomp = json_object();
	json_object_set_new(seccomp, "enabled", json_true());
	json_object_set_new(seccomp, "actions", ac);
	json_object_set_new(seccomp, "operators", op);
	json_object_set_new(seccomp, "archs", ar);
	json_object_set_new(seccomp, "knownFlags", fl);
	json_object_set_new(seccomp, "supportedFlags", json_deep_copy(fl));
	json_t *lx = json_object();
	json_object_set_new(lx, "namespaces", na);
	json_t *caps = json_array();
	for (int c = 0; c < (int)cap_max_bits(); c++) {
		char *n = cap_to_name(c);
		if (!n)
			continue;
		char up[64];
		size_t k = 0;
		for (; n[k] && k < sizeof(up) - 1; k++)
			up[k] = (char)toupper((unsigned char)n[k]);
		up[k] = '\0';
		cap_free(n);
		json_array_append_new(caps, json_string(up));
	}
	json_object_set_new(lx, "capabilities", caps);
	json_object_set_new(lx, "cgroup",
			    json_pack("{s:b,s:b,s:b}", "v1", 1, "v2", 1, "systemd", 0));
	json_object_set_new(lx, "seccomp", seccomp);
	json_object_set_new(lx, "apparmor", json_pack("{s:b}", "enabled", 1));
	json_object_set_new(lx, "selinux", json_pack("{s:b}", "enabled", 1));
	/* runtime-spec 1.3 */
	json_object_set_new(
		lx, "intelRdt",
		json_pack("{s:b,s:b,s:b}", "enabled", 1, "schemata", 1, "monitoring", 1));
	json_object_set_new(lx, "memoryPolicy",
			    json_pack("{s:[s,s,s,s,s,s,s],s:[s,s,s]}", "modes", "MPOL_DEFAULT",
				      "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
				      "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL",
				      "flags", "MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES",
				      "MPOL_F_STATIC_NODES"));
	json_object_set_new(lx, "netDevices", json_pack("{s:b}", "enabled", 1));
	json_object_set_new(lx, "mountExtensions", json_pack("{s:{s:b}}", "idmap", "enabled", 1));
	json_t *j = json_object();
	json_object_set_new(j, "ociVersionMin", json_string("1.0.0"));
	json_object_set_new(j, "ociVersionMax", json_string("1.3.0"));
	json_object_set_new(j, "hooks",
			    json_pack("[s,s,s,s,s,s]", "prestart", "createRuntime",
				      "createContainer", "startContainer", "poststart",
				      "poststop"));
	json_object_set_new(j, "mountOptions", mo);
	json_object_set_new(j, "linux", lx);
	json_object_set_new(j, "annotations",
			    json_pack("{s:s,s:s,s:s,s:s}", "io.github.husk.version", "0.1.0",
				      "io.github.seccomp.libseccomp.version", ver,
				      /* as runc's org.opencontainers.runc.checkpoint.enabled */
				      "io.github.husk.checkpoint.enabled", "true",
				      /* features.md has no field for it */
				      "io.github.husk.process.execCPUAffinity.enabled", "true"));
	char *out = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	json_decref(j);
	return out;
}

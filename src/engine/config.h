/* The OCI config of an engine container: the image's config and the
 * run options, made into config.json.  A pure function (no file is read,
 * nothing is made), so that every rule is unit-tested
 * (tests/unit/test-config.c). */
#ifndef HUSK_ENGINE_CONFIG_H
#define HUSK_ENGINE_CONFIG_H

#include <jansson.h>
#include <stdint.h>

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
	/* what create found on the host for the options */
	uint64_t held_caps;	 /* our bounding set: ALL and --privileged give these */
	const char *init_path;	 /* --init: tini, bound read-only on INIT_DEST */
	const char *pid_ns_path; /* --pid container:NAME: its /proc/PID/ns/pid */
	const char *ipc_ns_path; /* --ipc container:NAME */
	const struct husk_host_dev *host_devs; /* --device, the throttled ones, and
						  every /dev node for --privileged */
	size_t n_host_devs;
	/* what is mounted, volumes resolved to their directories (a volume's
	 * src is then its path); NULL: o->volumes as they are */
	const struct husk_volume *mounts;
	size_t n_mounts;
	char **link_env;   /* --link's variables, before the image's and -e's */
	char **link_specs; /* inspect's HostConfig.Links */
};

/* A device node of the host, as stat(2) gave it */
struct husk_host_dev {
	const char *path;
	char type; /* 'c' or 'b' */
	unsigned major, minor;
	uint32_t mode; /* permission bits */
	uint32_t uid, gid;
};

/* Where --init's binary is bound in the container, as Docker binds its
 * docker-init */
#define HUSK_INIT_DEST "/sbin/docker-init"

/* Docker's default seccomp profile, as Debian's containers-common ships
 * it (Podman's copy); HUSK_SECCOMP_PROFILE names another */
#define HUSK_DEFAULT_SECCOMP "/usr/share/containers/seccomp.json"

/* EINVAL when the image has no command and none was given. */
json_t *husk_engine_config(const struct husk_config_in *in, husk_error **err);

/* What inspect shows of the options under Docker's names:
 * {"Config": {Labels, Entrypoint...}, "HostConfig": {CapAdd, Privileged...}} */
json_t *husk_engine_config_docker(const struct husk_config_in *in);

/* Podman's default seccomp profile (the one Debian ships) made Docker's:
 * the keyring calls denied, namespaces and the mount API only with
 * CAP_SYS_ADMIN, EPERM for what is denied (config.c says which calls). */
void husk_seccomp_docker_default(json_t *profile);

/* A profile's text into linux.seccomp: Docker's includes/excludes
 * resolved for caps (the capability names) and this architecture;
 * as_docker: husk_seccomp_docker_default first. */
json_t *husk_engine_seccomp_convert(const char *text, bool as_docker, json_t *caps,
				    husk_error **err);
/* The container's capability set, as config puts it in process.capabilities */
json_t *husk_engine_config_caps(const struct husk_config_in *in, husk_error **err);

/* The default profile (open at profile_fd, a regular file) converted for
 * caps, as compact JSON text, from a root-only memo (the BPF cache's
 * directory) when it holds this file for these capabilities; a miss
 * reads, converts and stores (seccomp-memo.c). */
char *husk_engine_seccomp_default(int profile_fd, json_t *caps, husk_error **err);

/* ps's COMMAND: the process args joined by spaces, at most 255 bytes. */
char *husk_engine_config_command(json_t *config);

#endif

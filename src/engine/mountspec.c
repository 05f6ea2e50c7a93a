/* What -v, --mount and --tmpfs say, as Docker reads them, into one mount
 * of the run options (struct husk_volume).  Each fails with EINVAL and a
 * message in Docker's words naming the flag and what is wrong; nothing is
 * allocated then.  Pure: no file is looked at (a missing -v source is made
 * at create). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "util.h"

void husk_volume_release(struct husk_volume *v)
{
	free(v->src);
	free(v->dst);
	free(v->propagation);
	free(v->opts);
	free(v->mode);
	free(v->fstype);
	*v = (struct husk_volume){0};
}

bool husk_volume_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n < 2 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');
		if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-')))
			return false;
	}
	return true;
}

static bool is_propagation(const char *s)
{
	static const char *const props[] = {"private", "rprivate", "shared",
					    "rshared", "slave",	   "rslave"};
	for (size_t i = 0; i < ARRAY_SIZE(props); i++)
		if (strcmp(s, props[i]) == 0)
			return true;
	return false;
}

/* A container path as Docker takes it: absolute, not /, no trailing
 * slash; NULL (the error printed) otherwise */
static char *clean_target(const char *flag, const char *arg, const char *path, husk_error **err)
{
	if (path[0] != '/') {
		husk_fail_as(err, EINVAL,
			     "%s \"%s\": invalid mount path: '%s' mount path must be absolute",
			     flag, arg, path);
		return NULL;
	}
	char *p = strdup(path);
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	if (strcmp(p, "/") == 0) {
		free(p);
		husk_fail_as(err, EINVAL,
			     "%s \"%s\": invalid specification: destination can't be '/'", flag,
			     arg);
		return NULL;
	}
	return p;
}

static bool looks_like_mode(const char *mode)
{
	static const char *const words[] = {"ro", "rw", "z", "Z", "nocopy"};
	cleanup_free char *copy = strdup(mode);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		bool known = is_propagation(t);
		for (size_t i = 0; i < ARRAY_SIZE(words); i++)
			known |= strcmp(t, words[i]) == 0;
		if (!known)
			return false;
	}
	return true;
}

/* -v's options: ro, rw, z, Z (relabelling, nothing without SELinux), a
 * propagation for binds, nocopy for volumes */
static int parse_vmode(struct husk_volume *v, const char *arg, const char *mode, husk_error **err)
{
	cleanup_free char *copy = strdup(mode);
	char *save = NULL;
	bool rw_seen = false;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "ro") == 0 || strcmp(t, "rw") == 0) {
			if (rw_seen)
				return husk_fail_as(
					err, EINVAL,
					"-v \"%s\": invalid mode: %s (ro and rw once at most)", arg,
					mode);
			rw_seen = true;
			v->ro = t[1] == 'o';
		} else if (strcmp(t, "z") == 0 || strcmp(t, "Z") == 0) {
			/* SELinux relabelling: nothing to do without it */
		} else if (is_propagation(t) && v->type == HUSK_MOUNT_BIND && !v->propagation) {
			v->propagation = strdup(t);
		} else if (strcmp(t, "nocopy") == 0 && v->type == HUSK_MOUNT_VOLUME) {
			v->nocopy = true;
		} else {
			return husk_fail_as(
				err, EINVAL,
				"-v \"%s\": invalid mode: %s (ro, rw, z, Z; for a host path "
				"one of private, rprivate, shared, rshared, slave, rslave; "
				"for a volume nocopy)",
				arg, t);
		}
	}
	v->mode = strdup(mode);
	return 0;
}

/* -v, as Docker's: /host:/ctr[:opts] binds a host path (made when
 * missing), NAME:/ctr[:opts] mounts the volume NAME (made when missing),
 * /ctr[:opts] an anonymous volume.  A relative host path is refused: it
 * would read as a volume's name. */
int husk_mount_parse_v(const char *arg, struct husk_volume *v, husk_error **err)
{
	cleanup_free char *copy = strdup(arg);
	char *part[4] = {0};
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
		if (n == 3)
			return husk_fail_as(err, EINVAL, "-v \"%s\": invalid spec: too many colons",
					    arg);
		part[n++] = t;
	}
	if (n == 0 || strstr(arg, "::") || arg[0] == ':' || arg[strlen(arg) - 1] == ':')
		return husk_fail_as(err, EINVAL, "-v \"%s\": invalid spec: an empty section", arg);
	/* /ctr:ro is an anonymous volume with options (when the second part
	 * reads as options; else a relative destination, refused below) */
	if (n == 2 && looks_like_mode(part[1])) {
		part[2] = part[1];
		part[1] = part[0];
		part[0] = NULL;
		n = 3;
	} else if (n == 1) {
		part[1] = part[0];
		part[0] = NULL;
	}
	const char *src = part[0], *dst = part[1], *mode = part[2];
	enum husk_mount_type type = HUSK_MOUNT_VOLUME;
	if (src && src[0] == '/')
		type = HUSK_MOUNT_BIND;
	else if (src && strlen(src) == 1 && src[0] != '.' && src[0] != '~')
		return husk_fail_as(
			err, EINVAL,
			"-v \"%s\": volume name is too short, names should be at least two "
			"alphanumeric characters",
			arg);
	else if (src && !husk_volume_name_ok(src))
		return husk_fail_as(
			err, EINVAL,
			"-v \"%s\": create %s: \"%s\" includes invalid characters for a local "
			"volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you "
			"intended to pass a host directory, use absolute path",
			arg, src, src);
	char *target = clean_target("-v", arg, dst, err);
	if (!target)
		return -1;
	*v = (struct husk_volume){0};
	v->type = type;
	v->dst = target;
	v->src = src ? strdup(src) : NULL;
	v->bind_make = true;
	if (parse_vmode(v, arg, mode ? mode : "", err) < 0) {
		husk_volume_release(v);
		return -1;
	}
	return 0;
}

static int parse_bool_value(const char *arg, const char *key, const char *val, bool *ret,
			    husk_error **err)
{
	int b = val ? husk_parse_bool(val) : 1; /* Docker's: strconv.ParseBool */
	if (b < 0)
		return husk_fail_as(err, EINVAL, "--mount \"%s\": invalid value for %s: %s", arg,
				    key, val);
	*ret = b;
	return 0;
}

/* --mount type=bind|volume|tmpfs,source=,target=,... with Docker's keys
 * and their aliases; each key for the type it belongs to */
int husk_mount_parse(const char *arg, struct husk_volume *v, husk_error **err)
{
	cleanup_free char *copy = strdup(arg);
	const char *type = "volume", *src = NULL, *dst = NULL, *prop = NULL;
	const char *tsize = NULL, *tmode = NULL, *wrong = NULL;
	bool ro = false, nocopy = false;
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *val = strchr(t, '=');
		if (val)
			*val++ = '\0';
		const char *k = t;
		if ((strcmp(k, "readonly") == 0 || strcmp(k, "ro") == 0)) {
			if (parse_bool_value(arg, k, val, &ro, err))
				return -1;
		} else if (strcmp(k, "volume-nocopy") == 0) {
			if (parse_bool_value(arg, k, val, &nocopy, err))
				return -1;
			wrong = strcmp(type, "volume") ? k : wrong;
		} else if (!val) {
			return husk_fail_as(
				err, EINVAL,
				"--mount \"%s\": invalid field '%s' must be a key=value pair", arg,
				k);
		} else if (strcmp(k, "type") == 0) {
			type = val;
		} else if (strcmp(k, "source") == 0 || strcmp(k, "src") == 0) {
			src = val;
		} else if (strcmp(k, "target") == 0 || strcmp(k, "destination") == 0 ||
			   strcmp(k, "dst") == 0) {
			dst = val;
		} else if (strcmp(k, "bind-propagation") == 0) {
			if (!is_propagation(val))
				return husk_fail_as(
					err, EINVAL,
					"--mount \"%s\": invalid propagation mode: %s (private, "
					"rprivate, shared, rshared, slave or rslave)",
					arg, val);
			prop = val;
		} else if (strcmp(k, "tmpfs-size") == 0) {
			tsize = val;
		} else if (strcmp(k, "tmpfs-mode") == 0) {
			tmode = val;
		} else if (strcmp(k, "consistency") == 0) {
			/* Docker for Mac's; nothing on Linux */
		} else if (strcmp(k, "volume-driver") == 0 && strcmp(val, "local") == 0) {
			/* the only driver */
		} else {
			return husk_fail_as(
				err, EINVAL,
				"--mount \"%s\": unexpected key '%s' (husk knows type, "
				"source, target, readonly, bind-propagation, volume-nocopy, "
				"tmpfs-size, tmpfs-mode)",
				arg, k);
		}
	}
	bool bind = strcmp(type, "bind") == 0, vol = strcmp(type, "volume") == 0,
	     tmpfs = strcmp(type, "tmpfs") == 0;
	if (!bind && !vol && !tmpfs)
		return husk_fail_as(
			err, EINVAL,
			"--mount \"%s\": invalid mount type: '%s' (bind, volume or tmpfs)", arg,
			type);
	if (prop && !bind)
		wrong = "bind-propagation";
	if (nocopy && !vol)
		wrong = "volume-nocopy";
	if ((tsize || tmode) && !tmpfs)
		wrong = tsize ? "tmpfs-size" : "tmpfs-mode";
	if (wrong)
		return husk_fail_as(err, EINVAL, "--mount \"%s\": %s does not go with type=%s", arg,
				    wrong, type);
	if (!dst)
		return husk_fail_as(err, EINVAL, "--mount \"%s\": target is required", arg);
	if (bind && (!src || !*src))
		return husk_fail_as(
			err, EINVAL,
			"--mount \"%s\": invalid mount config for type \"bind\": field Source "
			"must not be empty",
			arg);
	if (bind && src[0] != '/')
		return husk_fail_as(
			err, EINVAL,
			"--mount \"%s\": invalid mount config for type \"bind\": invalid "
			"mount path: '%s' mount path must be absolute",
			arg, src);
	if (tmpfs && src)
		return husk_fail_as(
			err, EINVAL,
			"--mount \"%s\": invalid mount config for type \"tmpfs\": field "
			"Source must not be specified",
			arg);
	if (vol && src && *src && !husk_volume_name_ok(src))
		return husk_fail_as(
			err, EINVAL,
			"--mount \"%s\": create %s: \"%s\" includes invalid characters for "
			"a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed",
			arg, src, src);
	long long size = 0;
	long mode = 0;
	if (tsize && (husk_parse_size(tsize, &size) < 0 || size <= 0))
		return husk_fail_as(
			err, EINVAL,
			"--mount \"%s\": tmpfs-size \"%s\": expected a size such as 64m", arg,
			tsize);
	char *end = NULL;
	if (tmode) {
		errno = 0;
		mode = strtol(tmode, &end, 8);
		if (errno || !*tmode || *end || mode < 0 || mode > 07777)
			return husk_fail_as(
				err, EINVAL,
				"--mount \"%s\": tmpfs-mode \"%s\": expected an octal mode "
				"such as 1777",
				arg, tmode);
	}
	char *target = clean_target("--mount", arg, dst, err);
	if (!target)
		return -1;
	*v = (struct husk_volume){0};
	v->type = bind ? HUSK_MOUNT_BIND : vol ? HUSK_MOUNT_VOLUME : HUSK_MOUNT_TMPFS;
	v->dst = target;
	v->src = src && *src ? strdup(src) : NULL;
	v->ro = ro;
	v->nocopy = nocopy;
	v->propagation = prop ? strdup(prop) : NULL;
	if (tsize && tmode)
		v->opts = husk_strdup_printf("size=%lld,mode=%lo", size, mode);
	else if (tsize || tmode)
		v->opts = tsize ? husk_strdup_printf("size=%lld", size)
				: husk_strdup_printf("mode=%lo", mode);
	return 0;
}

/* --tmpfs /path[:options]: the options go to the kernel as they are */
int husk_mount_parse_tmpfs(const char *arg, struct husk_volume *v, husk_error **err)
{
	cleanup_free char *copy = strdup(arg);
	char *opts = strchr(copy, ':');
	if (opts)
		*opts++ = '\0';
	char *target = clean_target("--tmpfs", arg, copy, err);
	if (!target)
		return -1;
	*v = (struct husk_volume){0};
	v->type = HUSK_MOUNT_TMPFS;
	v->dst = target;
	v->tmpfs_flag = true;
	v->opts = opts && *opts ? strdup(opts) : NULL;
	return 0;
}

/* A container's root: an overlay of its image's layers under its own
 * upper and work dirs. */
#define _GNU_SOURCE
#include "overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine-private.h"
#include "util.h"

/* mount(2) takes one page of options */
#define MOUNT_OPTS_MAX	4096
#define OVERLAYFS_MAGIC 0x794c7630

/* Why overlay refused the store, in the kernel's words: the mount again
 * through fsopen(2), with the top layer only, whose log says what
 * mount(2) could only call EINVAL ("overlay: filesystem on ... not
 * supported as upperdir").  Runs with the same cwd as the mount.  Empty
 * when the kernel has no fsopen or says nothing. */
static void overlay_reason(const char *lower, const char *upper, const char *work, char *buf,
			   size_t size)
{
	buf[0] = '\0';
	cleanup_close int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return;
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		/* the log: one message per read, "e ..." for errors; keep the last */
		char msg[256];
		ssize_t n;
		while ((n = read(fs, msg, sizeof(msg) - 1)) > 0) {
			while (n > 0 && msg[n - 1] == '\n')
				n--;
			msg[n] = '\0';
			if (n > 2 && msg[0] == 'e' && msg[1] == ' ')
				snprintf(buf, size, "%s", msg + 2);
		}
	}
}

/* The container's root: an overlay of the image's layers (top first) under
 * the container's own upper and work dirs.
 *
 * The lower dirs are named by the layers' short links, l/<hex prefix> (see
 * layer_link in store.c), and upper and work relative to l/ too, with
 * <root>/l as the cwd of the mount call: mount(2) takes one page of
 * options, which full paths of about 90 bytes fill at 45 layers, and short
 * names fit overlay's own maximum of 500.  fsconfig's "lowerdir+" (one
 * call per layer) would lift the page limit without links, but only from
 * Linux 6.8, and its older "lowerdir" takes 256 bytes at most; links work
 * on every kernel overlay runs on, so there is one path to test.  The
 * engine is single-threaded, so the chdir there and back is safe; the
 * target is named through an fd opened before. */
/* Unmounting an overlay syncs its upper filesystem whole (overlay's
 * sync_fs calls sync_filesystem on it): every dirty page of every other
 * user of /var/lib's filesystem, on a shared host milliseconds to
 * seconds, on the exit path of each `run --rm`.  A container whose upper
 * dir is thrown away at its exit has nothing to keep: it is mounted
 * "volatile" (Linux 5.10), as Podman mounts --rm containers, and nothing
 * is synced.  Overlay then refuses to mount that work dir again (its
 * incompat/volatile marker says a crash may have torn the upper dir):
 * the one remount, after a reboot, drops the marker, as the container's
 * upper dir is its own to lose. */
static int mount_opts(const char *tpath, const char *opts, bool throwaway, const char *workdir)
{
	if (!throwaway)
		return mount("overlay", tpath, "overlay", 0, opts);
	cleanup_free char *v = husk_strdup_printf("%s,volatile", opts);
	if (mount("overlay", tpath, "overlay", 0, v) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	cleanup_free char *marker = husk_strdup_printf("%s/work/incompat", workdir);
	if (access(marker, F_OK) == 0) {
		husk_engine_rm_rf(marker);
		if (mount("overlay", tpath, "overlay", 0, v) == 0)
			return 0;
	}
	/* a kernel before 5.10: the sync it is */
	return mount("overlay", tpath, "overlay", 0, opts);
}

bool husk_overlay_layer_again(const struct husk_image *img, size_t i)
{
	for (size_t j = i + 1; j < img->n_layers; j++)
		if (strcmp(img->links[j], img->links[i]) == 0)
			return true;
	return false;
}

int husk_overlay_mount(const char *root, const struct husk_image *img, const char *id,
		       const char *rootfs, bool throwaway, husk_error **err)
{
	/* the merged root takes its mode and owner from the upper dir, made
	 * 0700 for root: give it the image's, or no other user can enter / */
	cleanup_free char *top = husk_strdup_printf("%s/l/%s", root, img->links[img->n_layers - 1]);
	cleanup_free char *updir = husk_strdup_printf("%s/containers/%s/upper", root, id);
	struct stat st;
	if (stat(top, &st) < 0)
		return husk_fail(err, errno, "stat the image's root \"%s\"", top);
	if (chown(updir, st.st_uid, st.st_gid) < 0 || chmod(updir, st.st_mode & 07777) < 0)
		return husk_fail(err, errno, "give \"%s\" the image's root mode", updir);
	size_t cap = 1;
	for (size_t i = 0; i < img->n_layers; i++)
		cap += strlen(img->links[i]) + 1;
	cleanup_free char *lower = calloc(1, cap);
	if (!lower)
		return husk_fail(err, ENOMEM, "overlay");
	size_t len = 0;
	for (size_t i = img->n_layers; i-- > 0;)
		if (!husk_overlay_layer_again(img, i))
			len += (size_t)snprintf(lower + len, cap - len, "%s%s", len ? ":" : "",
						img->links[i]);
	cleanup_free char *upper = husk_strdup_printf("../containers/%s/upper", id);
	cleanup_free char *work = husk_strdup_printf("../containers/%s/work", id);
	cleanup_free char *opts =
		husk_strdup_printf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	if (strlen(opts) >= MOUNT_OPTS_MAX)
		return husk_fail(err, E2BIG,
				 "image \"%s\": the overlay options for its %zu layers take %zu "
				 "bytes, more than the %d a mount takes",
				 img->name, img->n_layers, strlen(opts), MOUNT_OPTS_MAX);
	cleanup_free char *ldir = husk_strdup_printf("%s/l", root);
	cleanup_close int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int target = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || target < 0)
		return husk_fail(err, errno, "open \"%s\"", cwd < 0 ? "." : rootfs);
	char tpath[64];
	snprintf(tpath, sizeof(tpath), "/proc/self/fd/%d", target);
	if (chdir(ldir) < 0)
		return husk_fail(err, errno, "chdir \"%s\"", ldir);
	int r = mount_opts(tpath, opts, throwaway, work);
	int e = errno;
	char reason[256] = "";
	if (r < 0 && (e == EINVAL || e == EOPNOTSUPP))
		overlay_reason(img->links[img->n_layers - 1], upper, work, reason, sizeof(reason));
	if (fchdir(cwd) < 0) {
		e = errno;
		if (r == 0)
			umount2(tpath, MNT_DETACH);
		return husk_fail(err, e, "back to the cwd after mounting \"%s\"", rootfs);
	}
	if (r == 0)
		return 0;
	if (e == ENODEV)
		return husk_fail(err, e,
				 "mount the overlay root \"%s\": this kernel has no "
				 "overlay filesystem (modprobe overlay)",
				 rootfs);
	if (e != EINVAL && e != EOPNOTSUPP)
		return husk_fail(err, e, "mount the overlay root \"%s\"", rootfs);
	struct statfs sf;
	bool on_overlay = statfs(root, &sf) == 0 && sf.f_type == OVERLAYFS_MAGIC;
	return husk_fail(err, e,
			 "mount the overlay root \"%s\": overlay refuses the store \"%s\"%s%s%s; "
			 "give husk a --root on another filesystem (ext4, xfs, btrfs, tmpfs)",
			 rootfs, root,
			 on_overlay ? ", which is itself on overlayfs (husk in a container?)" : "",
			 *reason ? ": " : "", reason);
}

bool husk_overlay_mounted(const char *rootfs)
{
	struct statfs sf;
	return statfs(rootfs, &sf) == 0 && sf.f_type == OVERLAYFS_MAGIC;
}

int husk_overlay_unmount(const char *rootfs, husk_error **err)
{
	if (umount2(rootfs, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return husk_fail(err, errno, "unmount \"%s\"", rootfs);
	return 0;
}

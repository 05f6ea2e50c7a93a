/* The built-in image: "busybox:latest" made from the host's busybox-static
 * (Debian's /bin/busybox), so that `husk run busybox echo hello` works
 * with no registry.  One uncompressed layer (its digest is its diff id),
 * laid out like scripts/make-busybox-bundle.sh's rootfs, written straight
 * into a blob while hashed.  Every entry gets busybox's own mtime, so the
 * same busybox gives the same image id. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image-private.h"
#include "image.h"
#include "lazy.h"
#include "util.h"

#define BUSYBOX	     "/bin/busybox"
#define BUSYBOX_NAME "busybox:latest"
#define BUSYBOX_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

/* The applets, from `busybox --list`, as one malloc'd buffer of lines. */
static int applets(char **ret, husk_error **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_fail(err, errno, "pipe");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	char *argv[] = {(char *)BUSYBOX, (char *)"--list", NULL};
	pid_t pid;
	int r = posix_spawn(&pid, BUSYBOX, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		return husk_fail(err, r, "run \"%s --list\"", BUSYBOX);
	}
	r = husk_read_fd_all(p[0], ret, NULL, err);
	close(p[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(*ret);
		return husk_fail(err, 0, "\"%s --list\" failed", BUSYBOX);
	}
	return 0;
}

struct tar_out {
	struct husk_blob_writer *w;
	husk_error *err;
};

static la_ssize_t tar_write(struct archive *a, void *data, const void *buf, size_t len)
{
	(void)a;
	struct tar_out *t = data;
	if (husk_blob_writer_write(t->w, buf, len, &t->err) < 0)
		return -1;
	return (la_ssize_t)len;
}

static int add(struct archive *a, const char *path, mode_t type, mode_t perm, time_t mtime,
	       const char *symlink, const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return -1;
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, mtime, 0);
	if (symlink)
		archive_entry_set_symlink(e, symlink);
	archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)len : 0);
	int r = archive_write_header(a, e);
	if (r == ARCHIVE_OK && len && archive_write_data(a, data, len) != (la_ssize_t)len)
		r = ARCHIVE_FATAL;
	archive_entry_free(e);
	return r == ARCHIVE_OK ? 0 : -1;
}

/* The layer blob; its digest (= diff id) and size to *ret_digest/size. */
static int write_layer(struct husk_store *s, time_t mtime, char **ret_digest, long long *ret_size,
		       husk_error **err)
{
	cleanup_free char *bb = NULL, *list = NULL;
	size_t bb_len = 0;
	if (husk_read_file(BUSYBOX, &bb, &bb_len, err) < 0 || applets(&list, err) < 0)
		return -1;
	struct tar_out t = {0};
	if (husk_blob_writer_new(s, &t.w, err) < 0)
		return -1;
	struct archive *a = archive_write_new();
	int bad = !a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
		  archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
		  archive_write_open(a, &t, NULL, tar_write, NULL) != ARCHIVE_OK;
	static const struct {
		const char *path;
		mode_t perm;
	} dirs[] = {{"bin", 0755}, {"dev", 0755}, {"etc", 0755},  {"proc", 0555}, {"root", 0700},
		    {"run", 0755}, {"sys", 0555}, {"tmp", 01777}, {"var", 0755}};
	for (size_t i = 0; !bad && i < ARRAY_SIZE(dirs); i++)
		bad = add(a, dirs[i].path, AE_IFDIR, dirs[i].perm, mtime, NULL, NULL, 0);
	if (!bad)
		bad = add(a, "bin/busybox", AE_IFREG, 0755, mtime, NULL, bb, bb_len);
	char *save = NULL;
	for (char *app = strtok_r(list, "\n", &save); !bad && app;
	     app = strtok_r(NULL, "\n", &save)) {
		if (strcmp(app, "busybox") == 0 || strchr(app, '/') || !*app)
			continue;
		cleanup_free char *p = husk_strdup_printf("bin/%s", app);
		bad = add(a, p, AE_IFLNK, 0777, mtime, "busybox", NULL, 0);
	}
	/* the users and groups of Docker Hub's busybox that images and
	 * scripts name most: root, daemon, www-data, nobody */
	static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
				     "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
				     "www-data:x:33:33:www-data:/var/www:/bin/false\n"
				     "nobody:x:65534:65534:nobody:/home:/bin/false\n";
	static const char group[] = "root:x:0:\ndaemon:x:1:\nwheel:x:10:root\n"
				    "www-data:x:33:\nnobody:x:65534:\nnogroup:x:65533:\n";
	if (!bad)
		bad = add(a, "etc/passwd", AE_IFREG, 0644, mtime, NULL, passwd, strlen(passwd));
	if (!bad)
		bad = add(a, "etc/group", AE_IFREG, 0644, mtime, NULL, group, strlen(group));
	if (!bad)
		bad = archive_write_close(a) != ARCHIVE_OK;
	if (bad) {
		if (t.err) {
			if (err)
				*err = steal_ptr(t.err);
		} else {
			husk_fail(err, 0, "write busybox layer: %s",
				  a ? archive_error_string(a) : "out of memory");
		}
		husk_error_free(t.err);
		archive_write_free(a);
		husk_blob_writer_abort(t.w);
		return -1;
	}
	archive_write_free(a);
	return husk_blob_writer_commit(t.w, NULL, "busybox layer", ret_digest, ret_size, err);
}

static int put_json(struct husk_store *s, json_t *j, char **ret_digest, long long *ret_size,
		    husk_error **err)
{
	cleanup_free char *buf = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (!buf)
		return husk_fail(err, ENOMEM, "json");
	*ret_size = (long long)strlen(buf);
	return husk_store_put_blob(s, buf, strlen(buf), NULL, ret_digest, err);
}

static int build(struct husk_store *s, husk_error **err)
{
	struct stat st;
	if (stat(BUSYBOX, &st) < 0)
		return husk_fail(err, errno, "\"%s\" (install busybox-static)", BUSYBOX);
	if (husk_lazy_archive(err) < 0)
		return -1;
	cleanup_free char *layer = NULL, *config_d = NULL, *manifest_d = NULL;
	long long layer_size = 0, config_size = 0, manifest_size = 0;
	if (write_layer(s, st.st_mtime, &layer, &layer_size, err) < 0)
		return -1;
	char created[64];
	struct tm tm;
	time_t mt = st.st_mtime;
	gmtime_r(&mt, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *config = json_pack("{s:s,s:s,s:s,s:{s:[s],s:[s]},s:{s:s,s:[s]},s:[{s:s,s:s}]}",
				   "architecture", "amd64", "os", "linux", "created", created,
				   "config", "Cmd", "sh", "Env", BUSYBOX_PATH, "rootfs", "type",
				   "layers", "diff_ids", layer, "history", "created", created,
				   "created_by", "husk: the host's busybox-static");
	int r = put_json(s, config, &config_d, &config_size, err);
	json_decref(config);
	if (r < 0)
		return -1;
	json_t *manifest =
		json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:[{s:s,s:s,s:I}]}", "schemaVersion", 2,
			  "mediaType", "application/vnd.oci.image.manifest.v1+json", "config",
			  "mediaType", "application/vnd.oci.image.config.v1+json", "digest",
			  config_d, "size", (json_int_t)config_size, "layers", "mediaType",
			  "application/vnd.oci.image.layer.v1.tar", "digest", layer, "size",
			  (json_int_t)layer_size);
	r = put_json(s, manifest, &manifest_d, &manifest_size, err);
	json_decref(manifest);
	if (r < 0)
		return -1;
	return husk_store_register(s, BUSYBOX_NAME, manifest_d, err);
}

int husk_store_ensure_busybox(struct husk_store *s, husk_error **err)
{
	struct husk_image *img = NULL;
	if (husk_store_find(s, BUSYBOX_NAME, &img, NULL) == 0) {
		husk_image_free(img);
		return 0;
	}
	/* one builder at a time; the second finds the first's image */
	cleanup_free char *lock = husk_strdup_printf("%s/locks/busybox", s->root);
	cleanup_close int fd = husk_lock_file(lock, LOCK_EX, err);
	if (fd < 0)
		return -1;
	if (husk_store_find(s, BUSYBOX_NAME, &img, NULL) == 0) {
		husk_image_free(img);
		return 0;
	}
	cleanup_close int hold = husk_store_hold(s, false, true, err);
	if (hold < 0 || build(s, err) < 0)
		return husk_error_wrap(err, "make image \"busybox\"");
	return 0;
}

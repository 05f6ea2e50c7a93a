/* The image side: safe layer unpacking, whiteouts, the blob store, the
 * built-in busybox image, loading a hand-made OCI layout.  Tars are built
 * here with libarchive's write API.  Needs root (chown, mknod, trusted.*
 * xattrs). */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "image.h"
#include "util.h"

struct ent {
	const char *name;
	mode_t type;
	mode_t perm;
	const char *data;     /* file contents, or symlink target */
	const char *hardlink; /* a hardlink to this path */
	unsigned uid, gid;
	dev_t rdev;
	const char *xattr; /* "name=value" */
};

static void write_tar(const char *path, const struct ent *e, size_t n, bool gzip)
{
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
	if (gzip)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_uid(ae, e[i].uid);
		archive_entry_set_gid(ae, e[i].gid);
		archive_entry_set_mtime(ae, 1000000 + (time_t)i, 0);
		size_t len = 0;
		if (e[i].hardlink) {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].hardlink);
			archive_entry_set_size(ae, 0);
		} else {
			archive_entry_set_filetype(ae, e[i].type);
			archive_entry_set_perm(ae, e[i].perm);
			if (e[i].type == AE_IFLNK)
				archive_entry_set_symlink(ae, e[i].data);
			if (e[i].type == AE_IFREG && e[i].data)
				len = strlen(e[i].data);
			archive_entry_set_size(ae, (la_int64_t)len);
			archive_entry_set_rdev(ae, e[i].rdev);
		}
		if (e[i].xattr) {
			char *copy = strdup(e[i].xattr);
			char *eq = strchr(copy, '=');
			*eq = '\0';
			archive_entry_xattr_add_entry(ae, copy, eq + 1, strlen(eq + 1));
			free(copy);
		}
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (len)
			assert_int_equal(archive_write_data(a, e[i].data, len), (la_ssize_t)len);
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/husk-img.XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void rm_rf(const char *d)
{
	char *cmd = husk_strdup_printf("rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_normal_tree(void **state)
{
	(void)state;
	char *t = tmpdir();
	char *tar = husk_strdup_printf("%s/l.tar.gz", t), *root = husk_strdup_printf("%s/root", t);
	assert_int_equal(mkdir(root, 0755), 0);
	const struct ent ents[] = {
		{"./", AE_IFDIR, 0755},
		{"a/", AE_IFDIR, 0750, .uid = 1000, .gid = 1001},
		{"a/f", AE_IFREG, 04755, "hello", .uid = 5, .gid = 6, .xattr = "user.test=v1"},
		{"a/l", AE_IFLNK, 0777, "f", .uid = 7, .gid = 8},
		{"a/h", 0, 0, NULL, "a/f"},
		{"a/abs", AE_IFLNK, 0777, "/etc/passwd"},
		{"p", AE_IFIFO, 0620},
		{"null", AE_IFCHR, 0666, .rdev = makedev(1, 3)},
		{"deep/er/file", AE_IFREG, 0600, "x"},
	};
	write_tar(tar, ents, ARRAY_SIZE(ents), true);
	husk_error *err = NULL;
	char *diff = NULL;
	int r = husk_layer_unpack_digest(tar, root, &diff, &err);
	if (r < 0)
		fail_msg("%s", err->msg);
	assert_non_null(diff);
	assert_int_equal(strncmp(diff, "sha256:", 7), 0);
	free(diff);
	struct stat st;
	char *p = husk_strdup_printf("%s/a", root);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1001);
	assert_int_equal(st.st_mtime, 1000001); /* after its contents */
	free(p);
	p = husk_strdup_printf("%s/a/f", root);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(st.st_uid, 5);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(st.st_nlink, 2);
	ino_t ino = st.st_ino;
	char val[16] = "";
	assert_int_equal(lgetxattr(p, "user.test", val, sizeof(val)), 2);
	assert_memory_equal(val, "v1", 2);
	free(p);
	p = husk_strdup_printf("%s/a/h", root);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_ino, ino);
	free(p);
	p = husk_strdup_printf("%s/a/l", root);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_uid, 7);
	char target[64] = "";
	assert_int_equal(readlink(p, target, sizeof(target)), 1);
	assert_int_equal(target[0], 'f');
	free(p);
	p = husk_strdup_printf("%s/p", root);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0620);
	free(p);
	p = husk_strdup_printf("%s/null", root);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(1, 3));
	free(p);
	p = husk_strdup_printf("%s/deep/er/file", root);
	assert_int_equal(lstat(p, &st), 0);
	free(p);
	rm_rf(t);
	free(tar);
	free(root);
	free(t);
}

static void test_whiteouts(void **state)
{
	(void)state;
	char *t = tmpdir();
	char *tar = husk_strdup_printf("%s/l.tar", t), *root = husk_strdup_printf("%s/root", t);
	assert_int_equal(mkdir(root, 0755), 0);
	const struct ent ents[] = {
		{"dir/", AE_IFDIR, 0755},    {"dir/.wh.gone", AE_IFREG, 0644},
		{"opq/", AE_IFDIR, 0755},    {"opq/.wh..wh..opq", AE_IFREG, 0644},
		{".wh.top", AE_IFREG, 0644},
	};
	write_tar(tar, ents, ARRAY_SIZE(ents), false);
	husk_error *err = NULL;
	int r = husk_layer_unpack(tar, root, &err);
	if (r < 0)
		fail_msg("%s", err->msg);
	struct stat st;
	const char *wh[] = {"dir/gone", "top"};
	for (size_t i = 0; i < ARRAY_SIZE(wh); i++) {
		char *p = husk_strdup_printf("%s/%s", root, wh[i]);
		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISCHR(st.st_mode));
		assert_int_equal(st.st_rdev, makedev(0, 0));
		free(p);
	}
	char *p = husk_strdup_printf("%s/dir/.wh.gone", root);
	assert_int_equal(lstat(p, &st), -1);
	free(p);
	p = husk_strdup_printf("%s/opq", root);
	char v[4] = "";
	assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
	assert_int_equal(v[0], 'y');
	assert_int_equal(count_entries(p), 0);
	free(p);
	rm_rf(t);
	free(tar);
	free(root);
	free(t);
}

/* Each tar tries to write outside root; it must fail naming the entry,
 * and nothing may appear in t/outside or at the guessed targets. */
static void test_escapes(void **state)
{
	(void)state;
	char *t = tmpdir();
	char *outside = husk_strdup_printf("%s/outside", t);
	assert_int_equal(mkdir(outside, 0755), 0);
	char *abs_name = husk_strdup_printf("%s/outside/abs", t);
	char *secret = husk_strdup_printf("%s/outside/secret", t);
	assert_int_equal(husk_write_file(secret, "s", 1, 0600, NULL), 0);
	char *passwd_before = NULL;
	assert_int_equal(husk_read_file("/etc/passwd", &passwd_before, NULL, NULL), 0);
	struct {
		struct ent e[2];
		size_t n;
		const char *entry; /* named in the error */
	} cases[] = {
		{{{abs_name, AE_IFREG, 0644, "x"}}, 1, abs_name},
		{{{"../x", AE_IFREG, 0644, "x"}}, 1, "../x"},
		{{{"a/../../x", AE_IFREG, 0644, "x"}}, 1, "a/../../x"},
		{{{"a", AE_IFLNK, 0777, outside}, {"a/pwned", AE_IFREG, 0644, "x"}}, 2, "a/pwned"},
		{{{"b", AE_IFLNK, 0777, "../../.."}, {"b/pwned2", AE_IFREG, 0644, "x"}},
		 2,
		 "b/pwned2"},
		{{{"h", 0, 0, NULL, "/etc/passwd"}}, 1, "h"},
		{{{"h2", 0, 0, NULL, "../../outside/secret"}}, 1, "h2"},
		{{{"s", AE_IFLNK, 0777, outside}, {"h3", 0, 0, NULL, "s/secret"}}, 2, "h3"},
		{{{"d/", AE_IFDIR, 0755}, {"d/.wh...", AE_IFREG, 0644}}, 2, "d/.wh..."},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *tar = husk_strdup_printf("%s/%zu.tar", t, i);
		char *root = husk_strdup_printf("%s/root%zu", t, i);
		assert_int_equal(mkdir(root, 0755), 0);
		write_tar(tar, cases[i].e, cases[i].n, false);
		husk_error *err = NULL;
		int r = husk_layer_unpack(tar, root, &err);
		if (r == 0)
			fail_msg("case %zu (%s) was not refused", i, cases[i].entry);
		assert_non_null(err);
		char *quoted = husk_strdup_printf("entry \"%s\"", cases[i].entry);
		if (!strstr(err->msg, quoted))
			fail_msg("case %zu: \"%s\" does not name %s", i, err->msg, quoted);
		free(quoted);
		husk_error_free(err);
		/* outside holds only the secret, untouched */
		assert_int_equal(count_entries(outside), 1);
		struct stat st;
		assert_int_equal(stat(secret, &st), 0);
		assert_int_equal(st.st_nlink, 1);
		assert_int_equal(st.st_size, 1);
		assert_int_equal(lstat("/pwned2", &st), -1);
		char *p = husk_strdup_printf("%s/x", t);
		assert_int_equal(lstat(p, &st), -1);
		free(p);
		free(tar);
		free(root);
	}
	char *passwd_after = NULL;
	assert_int_equal(husk_read_file("/etc/passwd", &passwd_after, NULL, NULL), 0);
	assert_string_equal(passwd_before, passwd_after);
	struct stat st;
	assert_int_equal(stat("/etc/passwd", &st), 0);
	assert_int_equal(st.st_nlink, 1);
	free(passwd_before);
	free(passwd_after);
	rm_rf(t);
	free(abs_name);
	free(secret);
	free(outside);
	free(t);
}

static void test_blob_mismatch(void **state)
{
	(void)state;
	char *t = tmpdir();
	struct husk_store *s = NULL;
	assert_int_equal(husk_store_open(t, &s, NULL), 0);
	const char *wrong =
		"sha256:0000000000000000000000000000000000000000000000000000000000000000";
	husk_error *err = NULL;
	assert_true(husk_store_put_blob(s, "abc", 3, wrong, NULL, &err) < 0);
	assert_non_null(strstr(err->msg, wrong));
	/* sha256("abc") */
	const char *right =
		"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	assert_non_null(strstr(err->msg, right));
	husk_error_free(err);
	char *blobs = husk_strdup_printf("%s/blobs/sha256", t);
	assert_int_equal(count_entries(blobs), 0);
	/* a malformed digest is refused before it becomes a path */
	err = NULL;
	assert_true(husk_store_put_blob(s, "abc", 3, "sha256:../../x", NULL, &err) < 0);
	husk_error_free(err);
	assert_int_equal(count_entries(blobs), 0);
	char *d = NULL;
	assert_int_equal(husk_store_put_blob(s, "abc", 3, right, &d, NULL), 0);
	assert_string_equal(d, right);
	assert_int_equal(count_entries(blobs), 1);
	/* the same blob again is fine */
	assert_int_equal(husk_store_put_blob(s, "abc", 3, NULL, NULL, NULL), 0);
	free(d);
	free(blobs);
	husk_store_close(s);
	rm_rf(t);
	free(t);
}

static void test_busybox(void **state)
{
	(void)state;
	if (access("/bin/busybox", X_OK) < 0)
		skip();
	char *t = tmpdir();
	struct husk_store *s = NULL;
	husk_error *err = NULL;
	assert_int_equal(husk_store_open(t, &s, NULL), 0);
	for (int i = 0; i < 2; i++) {
		if (husk_store_ensure_busybox(s, &err) < 0)
			fail_msg("%s", err->msg);
	}
	struct husk_image **v = NULL;
	size_t n = 0;
	assert_int_equal(husk_store_list(s, &v, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->name, "busybox:latest");
	husk_image_free(v[0]);
	free(v);
	struct husk_image *img = NULL;
	if (husk_store_find(s, "busybox", &img, &err) < 0)
		fail_msg("%s", err->msg);
	assert_int_equal(img->n_layers, 1);
	assert_true(img->size > 100000);
	assert_true(img->created > 0);
	json_t *cmd = json_object_get(json_object_get(img->config, "config"), "Cmd");
	assert_string_equal(json_string_value(json_array_get(cmd, 0)), "sh");
	char *p = husk_strdup_printf("%s/bin/sh", img->layers[0]);
	char target[32] = "";
	assert_int_equal(readlink(p, target, sizeof(target)), 7);
	assert_memory_equal(target, "busybox", 7);
	free(p);
	p = husk_strdup_printf("%s/tmp", img->layers[0]);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 01777);
	free(p);
	/* by id prefix */
	struct husk_image *img2 = NULL;
	char *prefix = strndup(img->id + 7, 12);
	assert_int_equal(husk_store_find(s, prefix, &img2, NULL), 0);
	assert_string_equal(img2->id, img->id);
	free(prefix);
	husk_image_free(img2);
	husk_image_free(img);
	/* a second store gives the same id: the image is reproducible */
	assert_int_equal(husk_store_find(s, "nothere", &img, NULL) < 0, 1);
	husk_store_close(s);
	rm_rf(t);
	free(t);
}

static char *sha256_hex(const void *buf, size_t len)
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL);
	char hex[65];
	for (unsigned i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return strdup(hex);
}

static char *put_file(const char *layout, const void *buf, size_t len)
{
	char *hex = sha256_hex(buf, len);
	char *p = husk_strdup_printf("%s/blobs/sha256/%s", layout, hex);
	assert_int_equal(husk_write_file(p, buf, len, 0644, NULL), 0);
	free(p);
	return hex;
}

static void test_load_oci_layout(void **state)
{
	(void)state;
	char *t = tmpdir();
	char *layout = husk_strdup_printf("%s/layout", t);
	char *blobs = husk_strdup_printf("%s/blobs/sha256", layout);
	assert_int_equal(husk_mkdir_p(blobs, 0755, NULL), 0);
	/* the layer, gzip'd; the diff id is the digest of the plain tar */
	const struct ent ents[] = {{"etc/", AE_IFDIR, 0755},
				   {"etc/hello", AE_IFREG, 0644, "world"}};
	char *plain = husk_strdup_printf("%s/plain.tar", t),
	     *gz = husk_strdup_printf("%s/l.tgz", t);
	write_tar(plain, ents, 2, false);
	write_tar(gz, ents, 2, true);
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(husk_read_file(plain, &buf, &len, NULL), 0);
	char *diff = sha256_hex(buf, len);
	free(buf);
	assert_int_equal(husk_read_file(gz, &buf, &len, NULL), 0);
	char *layer = put_file(layout, buf, len);
	size_t layer_len = len;
	free(buf);
	char *config = husk_strdup_printf(
		"{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05Z\","
		"\"config\":{\"Cmd\":[\"cat\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":"
		"[\"sha256:%s\"]}}",
		diff);
	char *config_hex = put_file(layout, config, strlen(config));
	char *manifest = husk_strdup_printf(
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
		"\"sha256:%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
		"\"application/"
		"vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:%s\",\"size\":%zu}]}",
		config_hex, strlen(config), layer, layer_len);
	char *manifest_hex = put_file(layout, manifest, strlen(manifest));
	char *index = husk_strdup_printf(
		"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
		"\"application/"
		"vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:%s\",\"size\":%zu,"
		"\"annotations\":{\"org.opencontainers.image.ref.name\":\"example.com/test:1\"}}]}",
		manifest_hex, strlen(manifest));
	char *p = husk_strdup_printf("%s/index.json", layout);
	assert_int_equal(husk_write_file(p, index, strlen(index), 0644, NULL), 0);
	free(p);
	p = husk_strdup_printf("%s/oci-layout", layout);
	assert_int_equal(husk_write_file(p, "{\"imageLayoutVersion\":\"1.0.0\"}", 30, 0644, NULL),
			 0);
	free(p);

	char *store = husk_strdup_printf("%s/store", t);
	struct husk_store *s = NULL;
	husk_error *err = NULL;
	assert_int_equal(husk_store_open(store, &s, NULL), 0);
	char **names = NULL;
	if (husk_store_load(s, layout, &names, &err) < 0)
		fail_msg("%s", err->msg);
	assert_string_equal(names[0], "example.com/test:1");
	assert_null(names[1]);
	free(names[0]);
	free(names);
	struct husk_image *img = NULL;
	if (husk_store_find(s, "example.com/test:1", &img, &err) < 0)
		fail_msg("%s", err->msg);
	char *want_id = husk_strdup_printf("sha256:%s", config_hex);
	assert_string_equal(img->id, want_id);
	assert_int_equal(img->created, 1704164645);
	p = husk_strdup_printf("%s/etc/hello", img->layers[0]);
	char *hello = NULL;
	assert_int_equal(husk_read_file(p, &hello, NULL, NULL), 0);
	assert_string_equal(hello, "world");
	free(hello);
	free(p);
	husk_image_free(img);

	/* a corrupt blob in the layout: refused, the name not registered */
	char *bad_manifest = husk_strdup_printf("%s/blobs/sha256/%s", layout, manifest_hex);
	assert_int_equal(husk_write_file(bad_manifest, "{}", 2, 0644, NULL), 0);
	char *store2 = husk_strdup_printf("%s/store2", t);
	struct husk_store *s2 = NULL;
	assert_int_equal(husk_store_open(store2, &s2, NULL), 0);
	names = NULL;
	assert_true(husk_store_load(s2, layout, &names, &err) < 0);
	assert_non_null(strstr(err->msg, "digest mismatch"));
	husk_error_free(err);
	err = NULL;
	assert_true(husk_store_find(s2, "example.com/test:1", &img, NULL) < 0);
	husk_store_close(s2);

	husk_store_close(s);
	rm_rf(t);
	free(bad_manifest);
	free(store2);
	free(store);
	free(want_id);
	free(index);
	free(manifest);
	free(manifest_hex);
	free(config);
	free(config_hex);
	free(layer);
	free(diff);
	free(plain);
	free(gz);
	free(blobs);
	free(layout);
	free(t);
}

/* An overlay upper dir (as the kernel leaves one) made a layer and
 * unpacked again gives the same upper dir: whiteouts, the opaque dir, a
 * hard link, and the engine's mount points left out. */
static void test_layer_from_upper(void **state)
{
	(void)state;
	char *t = tmpdir();
	char *up = husk_strdup_printf("%s/upper", t), *out = husk_strdup_printf("%s/out", t);
	struct husk_store *s = NULL;
	assert_int_equal(husk_store_open(t, &s, NULL), 0);
	assert_int_equal(mkdir(up, 0755), 0);
	assert_int_equal(mkdir(out, 0755), 0);
	char *p = husk_strdup_printf("%s/etc", up);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	const char *files[] = {"etc/hosts", "etc/keep", "new"};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		p = husk_strdup_printf("%s/%s", up, files[i]);
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
		assert_true(fd >= 0);
		if (i > 0)
			assert_int_equal(write(fd, "x\n", 2), 2);
		close(fd);
		free(p);
	}
	char *a = husk_strdup_printf("%s/new", up), *b = husk_strdup_printf("%s/link", up);
	assert_int_equal(link(a, b), 0);
	free(a);
	free(b);
	p = husk_strdup_printf("%s/gone", up);
	assert_int_equal(mknod(p, S_IFCHR | 0, makedev(0, 0)), 0);
	free(p);
	p = husk_strdup_printf("%s/opq", up);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
	free(p);

	const char *const mps[] = {"etc/hosts", NULL};
	struct husk_layer_info l = {0};
	husk_error *err = NULL;
	if (husk_store_layer_from_upper(s, up, mps, &l, &err) < 0)
		fail_msg("%s", err->msg);
	assert_string_equal(l.digest, l.diff_id);
	assert_string_equal(l.media_type, "application/vnd.oci.image.layer.v1.tar");
	char *blob = husk_store_blob_path(s, l.digest);
	struct stat st;
	assert_int_equal(stat(blob, &st), 0);
	assert_int_equal(st.st_size, l.size);
	char *diff = NULL;
	if (husk_layer_unpack_digest(blob, out, &diff, &err) < 0)
		fail_msg("%s", err->msg);
	assert_string_equal(diff, l.diff_id);

	p = husk_strdup_printf("%s/gone", out);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
	free(p);
	p = husk_strdup_printf("%s/opq", out);
	char v[4] = "";
	assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
	assert_int_equal(v[0], 'y');
	free(p);
	p = husk_strdup_printf("%s/etc/hosts", out);
	assert_int_equal(lstat(p, &st), -1);
	free(p);
	p = husk_strdup_printf("%s/etc/keep", out);
	assert_int_equal(lstat(p, &st), 0);
	free(p);
	p = husk_strdup_printf("%s/link", out);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_nlink, 2);
	free(p);

	/* the same tree again: the same bytes, the same digest */
	struct husk_layer_info l2 = {0};
	assert_int_equal(husk_store_layer_from_upper(s, up, mps, &l2, NULL), 0);
	assert_string_equal(l2.digest, l.digest);
	husk_layer_info_release(&l);
	husk_layer_info_release(&l2);
	free(diff);
	free(blob);
	husk_store_close(s);
	rm_rf(t);
	free(up);
	free(out);
	free(t);
}

static json_t *changed(const char *base, const char *const *ch, size_t n, const char **ret_err)
{
	json_t *c = json_loads(base, 0, NULL);
	husk_error *err = NULL;
	assert_non_null(c);
	if (husk_image_config_changes(c, ch, n, &err) < 0) {
		static char msg[512];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		*ret_err = msg;
		/* a refused change leaves the config as it was */
		json_t *orig = json_loads(base, 0, NULL);
		assert_true(json_equal(orig, c));
		json_decref(orig);
		husk_error_free(err);
		json_decref(c);
		return NULL;
	}
	*ret_err = NULL;
	return c;
}

static void expect_json(json_t *c, const char *key, const char *want)
{
	json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
	assert_non_null(w);
	if (!json_equal(json_object_get(c, key), w)) {
		char *got = json_dumps(json_object_get(c, key), JSON_ENCODE_ANY);
		fail_msg("%s: got %s, want %s", key, got ? got : "(none)", want);
	}
	json_decref(w);
}

/* the function the builder shares with --change: arguments already
 * parsed; a refused one leaves the config as it was */
static void test_config_apply(void **state)
{
	(void)state;
	json_t *c = json_loads("{\"Cmd\":[\"sh\"],\"WorkingDir\":\"/a\"}", 0, NULL);
	husk_error *err = NULL;
	bool cmd_set = false;
	json_t *arg = json_pack("[s,s]", "8080/TCP", "9-10/udp");
	assert_int_equal(husk_image_config_apply(c, HUSK_CI_EXPOSE, arg, &cmd_set, &err), 0);
	json_decref(arg);
	expect_json(c, "ExposedPorts", "{\"8080/tcp\":{},\"9/udp\":{},\"10/udp\":{}}");
	arg = json_string("b/../../c/./d");
	assert_int_equal(husk_image_config_apply(c, HUSK_CI_WORKDIR, arg, &cmd_set, &err), 0);
	json_decref(arg);
	expect_json(c, "WorkingDir", "\"/c/d\"");
	arg = json_pack("[s]", "/e");
	assert_int_equal(husk_image_config_apply(c, HUSK_CI_ENTRYPOINT, arg, &cmd_set, &err), 0);
	json_decref(arg);
	expect_json(c, "Cmd", "null");
	json_t *before = json_deep_copy(c);
	arg = json_pack("[s,i]", "/x", 1);
	assert_true(husk_image_config_apply(c, HUSK_CI_CMD, arg, &cmd_set, &err) < 0);
	json_decref(arg);
	assert_int_equal(err->errnum, EINVAL);
	husk_error_freep(&err);
	arg = json_pack("{s:s}", "A=B", "1");
	assert_true(husk_image_config_apply(c, HUSK_CI_ENV, arg, &cmd_set, &err) < 0);
	json_decref(arg);
	husk_error_freep(&err);
	assert_true(json_equal(before, c));
	json_decref(before);
	assert_int_equal(husk_config_insn_lookup("stopsignal"), HUSK_CI_STOPSIGNAL);
	assert_int_equal(husk_config_insn_lookup("RUN"), -1);
	char *w = husk_image_workdir(NULL, "..");
	assert_string_equal(w, "/");
	free(w);
	json_decref(c);
}

static void test_config_changes(void **state)
{
	(void)state;
	const char *base = "{\"Env\":[\"PATH=/bin\",\"A=0\"],\"Cmd\":[\"sh\"],"
			   "\"WorkingDir\":\"/srv\"}";
	const char *e = NULL;
	const char *all[] = {
		"CMD [\"echo\",\"hi\"]",     "env A=1 B=\"two words\" C=a\\ b",
		"ENV OLD legacy form value", "EXPOSE 80 53/udp 8000-8001",
		"LABEL k=v \"x y\"=z",	     "ONBUILD RUN make",
		"USER daemon:daemon",	     "VOLUME /a /b",
		"VOLUME [\"/c\"]",	     "WORKDIR rel",
		"STOPSIGNAL SIGINT",
	};
	json_t *c = changed(base, all, ARRAY_SIZE(all), &e);
	if (!c)
		fail_msg("%s", e);
	expect_json(c, "Cmd", "[\"echo\",\"hi\"]");
	expect_json(c, "Env",
		    "[\"PATH=/bin\",\"A=1\",\"B=two words\",\"C=a b\","
		    "\"OLD=legacy form value\"]");
	expect_json(c, "ExposedPorts",
		    "{\"80/tcp\":{},\"53/udp\":{},\"8000/tcp\":{},\"8001/tcp\":{}}");
	expect_json(c, "Labels", "{\"k\":\"v\",\"x y\":\"z\"}");
	expect_json(c, "OnBuild", "[\"RUN make\"]");
	expect_json(c, "User", "\"daemon:daemon\"");
	expect_json(c, "Volumes", "{\"/a\":{},\"/b\":{},\"/c\":{}}");
	expect_json(c, "WorkingDir", "\"/srv/rel\"");
	expect_json(c, "StopSignal", "\"SIGINT\"");
	json_decref(c);

	/* shell forms; ENTRYPOINT clears an inherited CMD, not one given */
	const char *ep[] = {"ENTRYPOINT echo $HOME"};
	c = changed(base, ep, 1, &e);
	expect_json(c, "Entrypoint", "[\"/bin/sh\",\"-c\",\"echo $HOME\"]");
	expect_json(c, "Cmd", "null");
	json_decref(c);
	const char *cmd_ep[] = {"CMD x", "ENTRYPOINT [\"e\"]"};
	c = changed(base, cmd_ep, 2, &e);
	expect_json(c, "Cmd", "[\"/bin/sh\",\"-c\",\"x\"]");
	expect_json(c, "Entrypoint", "[\"e\"]");
	json_decref(c);
	/* not a JSON array of strings: the shell form, as Docker's */
	const char *notjson[] = {"CMD [1, 2]"};
	c = changed(base, notjson, 1, &e);
	expect_json(c, "Cmd", "[\"/bin/sh\",\"-c\",\"[1, 2]\"]");
	json_decref(c);

	/* refused, config untouched (checked in changed()) */
	const char *bad[] = {"RUN true",       "FROM x",	"CMD",	      "  ",
			     "ENV A",	       "ENV =1",	"ENV \"A=1",  "EXPOSE 0",
			     "EXPOSE 70000",   "EXPOSE 80/foo", "EXPOSE 9-8", "ONBUILD ONBUILD x",
			     "STOPSIGNAL a;b", "VOLUME [\"\"]"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *one[] = {"ENV Z=1", bad[i]};
		c = changed(base, one, 2, &e);
		if (c)
			fail_msg("\"%s\" was taken", bad[i]);
		assert_non_null(strstr(e, bad[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normal_tree),	 cmocka_unit_test(test_whiteouts),
		cmocka_unit_test(test_escapes),		 cmocka_unit_test(test_blob_mismatch),
		cmocka_unit_test(test_busybox),		 cmocka_unit_test(test_load_oci_layout),
		cmocka_unit_test(test_layer_from_upper), cmocka_unit_test(test_config_changes),
		cmocka_unit_test(test_config_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

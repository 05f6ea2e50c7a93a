/* The user of a container's process (src/engine/user.c): every form of
 * -u, read from small rootfs trees made here, never from the host's
 * /etc. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "user.h"
#include "util.h"

static char tmpdir[PATH_MAX];
static int n_roots;

static const char *const passwd = "root:x:0:0:root:/root:/bin/sh\n"
				  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
				  "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
				  "bob:x:1001:100::/home/bob:/bin/sh\n"
				  "nohome:x:1002:1002:::/bin/sh\n";

/* alice is in wheel, users, docker and staff; her own group lists her
 * too, and wheel2 has wheel's gid: neither may show up twice */
static const char *const group = "root:x:0:root\n"
				 "wheel:x:10:root,alice\n"
				 "users:x:100:bob,alice\n"
				 "alice:x:1000:alice\n"
				 "docker:x:999:carol,alice\n"
				 "wheel2:x:10:alice\n"
				 "staff:x:50:alice\n"
				 "empty:x:60:\n";

static char *at(const char *root, const char *rel)
{
	return husk_strdup_printf("%s/%s", root, rel);
}

static void mkdir_at(const char *root, const char *rel)
{
	cleanup_free char *path = at(root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void write_at(const char *root, const char *rel, const char *content)
{
	cleanup_free char *path = at(root, rel);
	cleanup_free char *dir = strdup(path);
	*strrchr(dir, '/') = '\0';
	husk_error *err = NULL;
	if (husk_mkdir_p(dir, 0755, &err) < 0)
		fail_msg("mkdir \"%s\": %s", dir, err->msg);
	if (husk_write_file(path, content, strlen(content), 0644, &err) < 0)
		fail_msg("write \"%s\": %s", path, err->msg);
}

/* A fresh rootfs; passwd and group (NULL: absent) in its etc. */
static char *make_root(const char *pw, const char *gr)
{
	char *root = husk_strdup_printf("%s/root%d", tmpdir, n_roots++);
	assert_int_equal(mkdir(root, 0755), 0);
	if (pw)
		write_at(root, "etc/passwd", pw);
	if (gr)
		write_at(root, "etc/group", gr);
	return root;
}

static int resolve(const char *root, const char *spec, struct husk_user *u, husk_error **err)
{
	cleanup_close int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return husk_user_resolve(fd, spec, u, err);
}

static void check(const char *root, const char *spec, uint32_t uid, uint32_t gid, const char *home,
		  const uint32_t *gids, size_t n_gids)
{
	struct husk_user u;
	husk_error *err = NULL;
	if (resolve(root, spec, &u, &err) < 0)
		fail_msg("resolve \"%s\": %s", spec ? spec : "(null)", err->msg);
	assert_null(err);
	assert_int_equal(u.uid, uid);
	assert_int_equal(u.gid, gid);
	assert_string_equal(u.home, home);
	assert_int_equal(u.n_gids, n_gids);
	for (size_t i = 0; i < n_gids; i++)
		assert_int_equal(u.gids[i], gids[i]);
	husk_user_release(&u);
}

/* The errno of a spec that must fail; *ret_msg gets the message. */
static int fails(const char *root, const char *spec, char **ret_msg)
{
	struct husk_user u;
	husk_error *err = NULL;
	int r = resolve(root, spec, &u, &err);
	assert_true(r < 0);
	assert_non_null(err);
	assert_int_equal(r, -err->errnum);
	/* nothing to free, and freeing is harmless */
	assert_null(u.home);
	assert_null(u.gids);
	husk_user_release(&u);
	int e = err->errnum;
	if (ret_msg)
		*ret_msg = strdup(err->msg);
	husk_error_free(err);
	return e;
}

static const uint32_t alice_gids[] = {10, 100, 999, 50};
static const uint32_t root_gids[] = {10};

static void test_forms(void **state)
{
	(void)state;
	cleanup_free char *root = make_root(passwd, group);
	/* no spec: root, from its passwd entry, with its groups */
	check(root, NULL, 0, 0, "/root", root_gids, 1);
	check(root, "", 0, 0, "/root", root_gids, 1);
	check(root, "root", 0, 0, "/root", root_gids, 1);
	/* name and uid: the passwd entry and the groups listing the name,
	 * her primary group and wheel2's repeated gid once */
	check(root, "alice", 1000, 1000, "/home/alice", alice_gids, ARRAY_SIZE(alice_gids));
	check(root, "1000", 1000, 1000, "/home/alice", alice_gids, ARRAY_SIZE(alice_gids));
	check(root, "alice:", 1000, 1000, "/home/alice", alice_gids, ARRAY_SIZE(alice_gids));
	check(root, "bob", 1001, 100, "/home/bob", NULL, 0);
	/* an explicit group: that gid, and no supplementary groups (runc) */
	check(root, "alice:users", 1000, 100, "/home/alice", NULL, 0);
	check(root, "1000:100", 1000, 100, "/home/alice", NULL, 0);
	check(root, "alice:50", 1000, 50, "/home/alice", NULL, 0);
	check(root, "1000:wheel", 1000, 10, "/home/alice", NULL, 0);
	check(root, "alice:4242", 1000, 4242, "/home/alice", NULL, 0);
	check(root, ":wheel", 0, 10, "/root", NULL, 0);
	/* leading zeros and a sign are still numbers, as Go's Atoi reads them */
	check(root, "01000:+0100", 1000, 100, "/home/alice", NULL, 0);
	/* an empty home is "/" */
	check(root, "nohome", 1002, 1002, "/", NULL, 0);
}

static void test_uid_without_entry(void **state)
{
	(void)state;
	cleanup_free char *root = make_root(passwd, group);
	check(root, "4242", 4242, 0, "/", NULL, 0);
	check(root, "4242:wheel", 4242, 10, "/", NULL, 0);
	check(root, "4242:4343", 4242, 4343, "/", NULL, 0);
	check(root, "4294967294", 4294967294u, 0, "/", NULL, 0);
}

static void test_unknown_names(void **state)
{
	(void)state;
	cleanup_free char *root = make_root(passwd, group);
	char *msg = NULL;
	/* Docker's words: scripts and users look for them */
	assert_int_equal(fails(root, "carol", &msg), ENOENT);
	assert_string_equal(msg, "unable to find user carol: no matching entries in passwd file");
	free(msg);
	assert_int_equal(fails(root, "alice:nogroup", &msg), ENOENT);
	assert_string_equal(msg, "unable to find group nogroup: no matching entries in group file");
	free(msg);
	assert_int_equal(fails(root, "4242:nogroup", NULL), ENOENT);
	/* a name matches whole, not as a prefix */
	assert_int_equal(fails(root, "ali", NULL), ENOENT);
	assert_int_equal(fails(root, "alice2", NULL), ENOENT);
	assert_int_equal(fails(root, "alice:wheel2x", NULL), ENOENT);
	/* the first ':' splits: the group is "users:extra" */
	assert_int_equal(fails(root, "alice:users:extra", NULL), ENOENT);
}

static void test_out_of_range(void **state)
{
	(void)state;
	cleanup_free char *root = make_root(passwd, group);
	char *msg = NULL;
	assert_int_equal(fails(root, "4294967295", &msg), EINVAL);
	assert_non_null(strstr(msg, "\"4294967295\""));
	free(msg);
	assert_int_equal(fails(root, "99999999999999999999999999", NULL), EINVAL);
	assert_int_equal(fails(root, "-1", NULL), EINVAL);
	assert_int_equal(fails(root, "alice:-5", NULL), EINVAL);
	assert_int_equal(fails(root, "1000:4294967295", NULL), EINVAL);
}

static void test_missing_files(void **state)
{
	(void)state;
	cleanup_free char *root = make_root(NULL, NULL);
	check(root, NULL, 0, 0, "/", NULL, 0);
	check(root, "1000", 1000, 0, "/", NULL, 0);
	check(root, "1000:1000", 1000, 1000, "/", NULL, 0);
	assert_int_equal(fails(root, "root", NULL), ENOENT);
	assert_int_equal(fails(root, "1000:staff", NULL), ENOENT);

	/* passwd without group: the user, no supplementary groups */
	cleanup_free char *pw_only = make_root(passwd, NULL);
	check(pw_only, "alice", 1000, 1000, "/home/alice", NULL, 0);
	check(pw_only, "alice:77", 1000, 77, "/home/alice", NULL, 0);
	assert_int_equal(fails(pw_only, "alice:staff", NULL), ENOENT);
}

/* A symlink in the image resolves inside the rootfs, as it would in the
 * container, never to the host's file of that name. */
static void test_symlink_stays_inside(void **state)
{
	(void)state;
	if (access("/real-passwd", F_OK) == 0 || access("/real-group", F_OK) == 0)
		skip();
	cleanup_free char *root = make_root(NULL, NULL);
	mkdir_at(root, "etc");
	write_at(root, "real-passwd", "eve:x:4000:4001::/home/eve:/bin/sh\n");
	write_at(root, "real-group", "eves:x:4100:eve\n");
	cleanup_free char *link = at(root, "etc/passwd");
	assert_int_equal(symlink("/real-passwd", link), 0);
	cleanup_free char *glink = at(root, "etc/group");
	assert_int_equal(symlink("../../../../../../../../real-group", glink), 0);
	static const uint32_t eve_gids[] = {4100};
	check(root, "eve", 4000, 4001, "/home/eve", eve_gids, 1);

	/* a link to /etc/passwd is itself inside the rootfs: a loop, not
	 * the host's root entry */
	cleanup_free char *loop = make_root(NULL, NULL);
	mkdir_at(loop, "etc");
	cleanup_free char *ll = at(loop, "etc/passwd");
	assert_int_equal(symlink("/etc/passwd", ll), 0);
	assert_int_equal(fails(loop, "root", NULL), ELOOP);

	/* a link to a file the rootfs lacks: as if passwd were absent */
	cleanup_free char *dangling = make_root(NULL, NULL);
	mkdir_at(dangling, "etc");
	cleanup_free char *dl = at(dangling, "etc/passwd");
	assert_int_equal(symlink("/etc/shadow", dl), 0);
	assert_int_equal(fails(dangling, "root", NULL), ENOENT);
	check(dangling, "0", 0, 0, "/", NULL, 0);
}

/* A FIFO (or a device) where passwd should be is not opened for reading:
 * the engine would block, or read the host's device.  It counts as
 * absent. */
static void test_not_a_regular_file(void **state)
{
	(void)state;
	cleanup_free char *root = make_root(NULL, NULL);
	mkdir_at(root, "etc");
	cleanup_free char *fifo = at(root, "etc/passwd");
	assert_int_equal(mkfifo(fifo, 0644), 0);
	mkdir_at(root, "etc/group");
	check(root, "1000:50", 1000, 50, "/", NULL, 0);
	assert_int_equal(fails(root, "alice", NULL), ENOENT);
	assert_int_equal(fails(root, "0:staff", NULL), ENOENT);
}

static void test_malformed_lines(void **state)
{
	(void)state;
	cleanup_free char *root =
		make_root("# a comment\n"
			  "\n"
			  "   \t \n"
			  "short:x:2000\n"
			  "bad:x::0:uid missing, not root:/bad:/bin/sh\n"
			  "worse:x:abc:0::/worse:/bin/sh\n"
			  "neg:x:-1:0::/neg:/bin/sh\n"
			  ":x:0:0:no name:/noname:/bin/sh\n"
			  "#hidden:x:3:3::/hidden:/bin/sh\n"
			  "  extra:x:3000:3000:g:/home/extra:/bin/sh:more:fields  \n"
			  "crlf:x:3001:3001::/home/crlf:/bin/sh\r\n"
			  "nohomefield:x:3002:3002\n"
			  "last:x:3003:3003::/home/last:/bin/sh",
			  "garbage\n"
			  "# extra:x:7:extra\n"
			  "bad:x:zz:extra\n"
			  "g1:x:7000:extra,crlf\n"
			  "g2:x:7001:extra:more:fields\n"
			  "g3:x:7002:,,extra,,\n"
			  "g4:x:7003:extras,xextra, extra\n"
			  "g5:x:7004\n"
			  "g6:x:7005:last");
	/* none of the broken lines stands for uid 0, as Docker's reading
	 * of "" or "abc" as 0 would */
	check(root, NULL, 0, 0, "/", NULL, 0);
	static const uint32_t extra_gids[] = {7000, 7001, 7002};
	check(root, "extra", 3000, 3000, "/home/extra", extra_gids, 3);
	static const uint32_t crlf_gids[] = {7000};
	check(root, "crlf", 3001, 3001, "/home/crlf", crlf_gids, 1);
	check(root, "nohomefield", 3002, 3002, "/", NULL, 0);
	static const uint32_t last_gids[] = {7005};
	check(root, "last", 3003, 3003, "/home/last", last_gids, 1);
	assert_int_equal(fails(root, "short", NULL), ENOENT);
	assert_int_equal(fails(root, "bad", NULL), ENOENT);
	assert_int_equal(fails(root, "worse", NULL), ENOENT);
	assert_int_equal(fails(root, "neg", NULL), ENOENT);
	assert_int_equal(fails(root, "#hidden", NULL), ENOENT);
	assert_int_equal(fails(root, "extra:bad", NULL), ENOENT);
	assert_int_equal(fails(root, "extra:garbage", NULL), ENOENT);
	check(root, "extra:g5", 3000, 7004, "/home/extra", NULL, 0);
}

/* A member list longer than any fixed buffer. */
static void test_long_group_line(void **state)
{
	(void)state;
	size_t n = 20000;
	char *list = malloc(n * 8 + 64);
	assert_non_null(list);
	size_t len = (size_t)snprintf(list, 64, "big:x:8000:");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(list + len, 8, "u%zu,", i);
	snprintf(list + len, 64, "alice\nsmall:x:8001:alice\n");
	cleanup_free char *root = make_root(passwd, list);
	free(list);
	static const uint32_t gids[] = {8000, 8001};
	check(root, "alice", 1000, 1000, "/home/alice", gids, 2);
}

static void test_release(void **state)
{
	(void)state;
	struct husk_user zero = {0};
	husk_user_release(&zero);
	husk_user_release(&zero);
	husk_user_release(NULL);

	cleanup_free char *root = make_root(passwd, group);
	struct husk_user u;
	husk_error *err = NULL;
	assert_int_equal(resolve(root, "alice", &u, &err), 0);
	husk_user_release(&u);
	assert_null(u.home);
	assert_null(u.gids);
	assert_int_equal(u.n_gids, 0);
	husk_user_release(&u);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static int setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/husk-test-user-XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_uid_without_entry),
		cmocka_unit_test(test_unknown_names),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_missing_files),
		cmocka_unit_test(test_symlink_stays_inside),
		cmocka_unit_test(test_not_a_regular_file),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_long_group_line),
		cmocka_unit_test(test_release),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* util.c and error.c: number parsing, files, the error chain. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup.h"
#include "util.h"

static void test_parse_long(void **state)
{
	(void)state;
	long v;
	assert_int_equal(husk_parse_long("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(husk_parse_long("-7", &v), 0);
	assert_int_equal(v, -7);
	assert_true(husk_parse_long("", &v) < 0);
	assert_true(husk_parse_long("12x", &v) < 0);
	assert_true(husk_parse_long("99999999999999999999", &v) < 0);
	uint64_t u;
	assert_true(husk_parse_u64("-1", &u) < 0);
	assert_int_equal(husk_parse_u64("18446744073709551615", &u), 0);
	assert_true(u == UINT64_MAX);
}

static void test_parse_size(void **state)
{
	(void)state;
	long long v;
	assert_int_equal(husk_parse_size("512", &v), 0);
	assert_true(v == 512);
	assert_int_equal(husk_parse_size("64m", &v), 0);
	assert_true(v == 64LL * 1024 * 1024);
	assert_int_equal(husk_parse_size("1GB", &v), 0);
	assert_true(v == 1024LL * 1024 * 1024);
	assert_int_equal(husk_parse_size("1.5k", &v), 0);
	assert_true(v == 1536);
	assert_int_equal(husk_parse_size("-1", &v), 0);
	assert_true(v == -1);
	assert_true(husk_parse_size("lots", &v) < 0);
	assert_true(husk_parse_size("64q", &v) < 0);
	assert_true(husk_parse_size("64mx", &v) < 0);
	assert_true(husk_parse_size("-5", &v) < 0);
	/* past a long long: refused, not converted (the fuzzer's find) */
	assert_int_equal(husk_parse_size("99999999999999999999999t", &v), -ERANGE);
	assert_int_equal(husk_parse_size("1e300", &v), -ERANGE);
	assert_int_equal(husk_parse_size("nan", &v), -ERANGE);
	assert_int_equal(husk_parse_size("8e18", &v), 0);
}

static void test_error_chain(void **state)
{
	(void)state;
	husk_error *err = NULL;
	int r = husk_fail(&err, EPERM, "mount \"%s\"", "/proc");
	assert_int_equal(r, -EPERM);
	husk_error_wrap(&err, "create container \"%s\"", "web");
	assert_string_equal(err->msg,
			    "create container \"web\": mount \"/proc\": Operation not permitted");
	assert_int_equal(err->errnum, EPERM);
	husk_error_free(err);
	/* no errno: no strerror text */
	err = NULL;
	assert_int_equal(husk_fail(&err, 0, "bad %s", "thing"), -1);
	assert_string_equal(err->msg, "bad thing");
	husk_error_free(err);
	/* a NULL error pointer is allowed */
	assert_int_equal(husk_fail(NULL, ENOENT, "x"), -ENOENT);
}

static void test_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/husk-unit.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *deep = husk_strdup_printf("%s/a/b/c", dir);
	assert_int_equal(husk_mkdir_p(deep, 0755, NULL), 0);
	struct stat st;
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	char *f = husk_strdup_printf("%s/f", deep);
	assert_int_equal(husk_write_file_atomic(f, "one", 3, 0600, NULL), 0);
	assert_int_equal(husk_write_file_atomic(f, "two!", 4, 0600, NULL), 0);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(husk_read_file(f, &text, &len, NULL), 0);
	assert_int_equal(len, 4);
	assert_string_equal(text, "two!");
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(text);
	husk_error *err = NULL;
	char *missing = husk_strdup_printf("%s/nope", dir);
	assert_true(husk_read_file(missing, &text, NULL, &err) < 0);
	assert_int_equal(err->errnum, ENOENT);
	assert_non_null(strstr(err->msg, missing));
	husk_error_free(err);
	unlink(f);
	char *cmd = husk_strdup_printf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(missing);
	free(f);
	free(deep);
}

/* husk_write_file_swap: made when missing, replaced when there (an fd
 * open on the old one still reads the old text: a new inode, not a write
 * in place), no temp file left beside it; a dir that is not there is an
 * error naming the temp file */
static void test_write_swap(void **state)
{
	(void)state;
	char dir[] = "/tmp/husk-unit.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *f = husk_strdup_printf("%s/leases.json", dir);
	assert_int_equal(husk_write_file_swap(f, "{}", 2, 0600, NULL), 0);
	int old = open(f, O_RDONLY);
	assert_true(old >= 0);
	assert_int_equal(husk_write_file_swap(f, "{\"a\":1}", 7, 0600, NULL), 0);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(husk_read_file(f, &text, &len, NULL), 0);
	assert_string_equal(text, "{\"a\":1}");
	free(text);
	char buf[8] = "";
	assert_int_equal(read(old, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "{}", 2);
	close(old);
	struct stat st;
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *de; (de = readdir(d));)
		n += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 1);
	husk_error *err = NULL;
	char *gone = husk_strdup_printf("%s/no/such", dir);
	assert_true(husk_write_file_swap(gone, "x", 1, 0600, &err) < 0);
	assert_int_equal(err->errnum, ENOENT);
	husk_error_free(err);
	free(gone);
	unlink(f);
	rmdir(dir);
	free(f);
}

static void test_starttime(void **state)
{
	(void)state;
	assert_true(husk_pid_starttime(getpid()) > 0);
	assert_int_equal(husk_pid_starttime(999999999), 0);
}

static void test_cgroup_paths(void **state)
{
	(void)state;
	struct husk_cgroup cg;
	husk_error *err = NULL;
	/* relative: below our own cgroup in each hierarchy */
	if (husk_cgroup_resolve("sub/ctr", "id", &cg, &err) < 0) {
		/* no cgroup fs here: nothing to check */
		husk_error_free(err);
		skip();
	}
	for (size_t i = 0; i < cg.n; i++) {
		size_t n = strlen(cg.dirs[i].path);
		assert_true(n > 8);
		assert_string_equal(cg.dirs[i].path + n - 8, "/sub/ctr");
		assert_true(strncmp(cg.dirs[i].path, cg.dirs[i].mount, strlen(cg.dirs[i].mount)) ==
			    0);
	}
	husk_cgroup_release(&cg);
	/* absolute: where it says */
	assert_int_equal(husk_cgroup_resolve("/abs/x", "id", &cg, &err), 0);
	for (size_t i = 0; i < cg.n; i++)
		assert_string_equal(cg.dirs[i].rel, "/abs/x");
	husk_cgroup_release(&cg);
	/* refused: systemd slices and .. */
	assert_true(husk_cgroup_resolve("system.slice:husk:x", "id", &cg, &err) < 0);
	assert_non_null(strstr(err->msg, "systemd"));
	husk_error_free(err);
	err = NULL;
	assert_true(husk_cgroup_resolve("../../escape", "id", &cg, &err) < 0);
	husk_error_free(err);
}

static void test_id_list(void **state)
{
	(void)state;
	unsigned long m[2];
	size_t n = 0;
	assert_int_equal(husk_parse_id_list("0-3,7", m, 128, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(m[0], 0x8f);
	assert_int_equal(husk_parse_id_list(" 1 , 65 ", m, 128, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(m[0], 2);
	assert_int_equal(m[1], 2);
	assert_int_equal(husk_parse_id_list("", m, 128, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(husk_parse_id_list("2-2,2", m, 128, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(husk_parse_id_list("128", m, 128, &n), -ERANGE);
	assert_int_equal(husk_parse_id_list("3-1", m, 128, &n), -EINVAL);
	assert_int_equal(husk_parse_id_list("1,", m, 128, &n), -EINVAL);
	assert_int_equal(husk_parse_id_list("1-", m, 128, &n), -EINVAL);
	assert_int_equal(husk_parse_id_list("-1", m, 128, &n), -EINVAL);
	assert_int_equal(husk_parse_id_list("1;2", m, 128, &n), -EINVAL);
	assert_int_equal(husk_parse_id_list("99999999999999999999999", m, 128, &n), -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_long),   cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_error_chain),  cmocka_unit_test(test_files),
		cmocka_unit_test(test_write_swap),   cmocka_unit_test(test_starttime),
		cmocka_unit_test(test_cgroup_paths), cmocka_unit_test(test_id_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

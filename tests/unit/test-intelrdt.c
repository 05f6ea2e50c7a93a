/* linux.intelRdt's group rules (runtime-spec 1.3), against a directory
 * standing in for the resctrl mount: this host has no resctrl, and the
 * rules are the runtime's, not the kernel's. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "intelrdt.h"
#include "util.h"

static char root[64];

static int make_root(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/husk-rdt.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int remove_root(void **state)
{
	(void)state;
	cleanup_free char *cmd = husk_strdup_printf("rm -rf %s", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void parse(const char *text, struct husk_intelrdt *r)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	husk_error *err = NULL;
	assert_int_equal(husk_intelrdt_parse(j, r, &err), 0);
	json_decref(j);
}

static char *read_all(const char *path)
{
	char *s = NULL;
	assert_int_equal(husk_read_file(path, &s, NULL, NULL), 0);
	return s;
}

static bool exists(const char *fmt, const char *a)
{
	cleanup_free char *p = husk_strdup_printf(fmt, root, a);
	return access(p, F_OK) == 0;
}

/* no closID: <root>/<id>, schemata in the spec's order, removed at delete */
static void test_own_group(void **state)
{
	(void)state;
	struct husk_intelrdt r;
	parse("{\"l3CacheSchema\": \"L3:0=7f0\", \"memBwSchema\": \"MB:0=20\", \"schemata\": "
	      "[\"L2:0=f\"]}",
	      &r);
	char *tasks = NULL;
	husk_error *err = NULL;
	assert_int_equal(husk_intelrdt_setup(root, &r, "c1", &tasks, &err), 0);
	cleanup_free char *want = husk_strdup_printf("%s/c1/tasks", root);
	assert_string_equal(tasks, want);
	cleanup_free char *sp = husk_strdup_printf("%s/c1/schemata", root);
	cleanup_free char *s = read_all(sp);
	assert_string_equal(s, "L3:0=7f0\nMB:0=20\nL2:0=f\n");
	/* a second container of that id: the group is there, an error */
	assert_true(husk_intelrdt_setup(root, &r, "c1", &tasks, &err) < 0);
	assert_int_equal(err->errnum, EEXIST);
	husk_error_free(err);
	/* resctrl's rmdir takes a group with its files; a plain dir needs
	 * them gone */
	unlink(sp);
	husk_intelrdt_remove(root, &r, "c1");
	assert_false(exists("%s/%s", "c1"));
	free(tasks);
	husk_intelrdt_release(&r);
}

/* closID that exists: schemata compared, not written; never removed */
static void test_existing_clos(void **state)
{
	(void)state;
	cleanup_free char *dir = husk_strdup_printf("%s/gold", root);
	cleanup_free char *mon = husk_strdup_printf("%s/gold/mon_groups", root);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(mkdir(mon, 0755), 0);
	cleanup_free char *sp = husk_strdup_printf("%s/gold/schemata", root);
	const char *have = "    L3:0=07f0;1=001f\n    MB:0=100;1=70\n";
	assert_int_equal(husk_write_file(sp, have, strlen(have), 0644, NULL), 0);
	struct husk_intelrdt r;
	parse("{\"closID\": \"gold\", \"l3CacheSchema\": \"L3:0=7f0;1=1f\", \"memBwSchema\": "
	      "\"MB:1=70\", \"enableMonitoring\": true}",
	      &r);
	char *tasks = NULL;
	husk_error *err = NULL;
	assert_int_equal(husk_intelrdt_setup(root, &r, "c2", &tasks, &err), 0);
	cleanup_free char *want = husk_strdup_printf("%s/gold/mon_groups/c2/tasks", root);
	assert_string_equal(tasks, want);
	free(tasks);
	cleanup_free char *s = read_all(sp);
	assert_string_equal(s, have);
	husk_intelrdt_remove(root, &r, "c2");
	assert_false(exists("%s/gold/mon_groups/%s", "c2"));
	assert_true(exists("%s/%s", "gold"));
	husk_intelrdt_release(&r);
	/* other schemata than the group's: an error */
	parse("{\"closID\": \"gold\", \"l3CacheSchema\": \"L3:0=7ff\"}", &r);
	assert_true(husk_intelrdt_setup(root, &r, "c3", &tasks, &err) < 0);
	assert_int_equal(err->errnum, EINVAL);
	assert_non_null(strstr(err->msg, "other schemata"));
	husk_error_free(err);
	husk_intelrdt_release(&r);
}

/* closID missing: made when schemata come with it (and kept at delete),
 * an error without; "/" is the root */
static void test_clos_rules(void **state)
{
	(void)state;
	struct husk_intelrdt r;
	char *tasks = NULL;
	husk_error *err = NULL;
	parse("{\"closID\": \"silver\"}", &r);
	assert_true(husk_intelrdt_setup(root, &r, "c4", &tasks, &err) < 0);
	assert_int_equal(err->errnum, ENOENT);
	husk_error_free(err);
	err = NULL;
	husk_intelrdt_release(&r);
	parse("{\"closID\": \"silver\", \"schemata\": [\"L3:0=f\"]}", &r);
	assert_int_equal(husk_intelrdt_setup(root, &r, "c4", &tasks, &err), 0);
	free(tasks);
	husk_intelrdt_remove(root, &r, "c4");
	assert_true(exists("%s/%s", "silver"));
	husk_intelrdt_release(&r);
	parse("{\"closID\": \"/\"}", &r);
	assert_int_equal(husk_intelrdt_setup(root, &r, "c5", &tasks, &err), 0);
	cleanup_free char *want = husk_strdup_printf("%s/tasks", root);
	assert_string_equal(tasks, want);
	free(tasks);
	husk_intelrdt_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_group),
		cmocka_unit_test(test_existing_clos),
		cmocka_unit_test(test_clos_rules),
	};
	return cmocka_run_group_tests(tests, make_root, remove_root);
}

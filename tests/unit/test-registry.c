/* The registry client's pure parts: image references as users write them
 * and WWW-Authenticate challenges. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image.h"
#include "util.h"

static void check_ref(const char *in, const char *domain, const char *path, const char *tag,
		      const char *digest, const char *full)
{
	struct husk_ref *r = NULL;
	husk_error *err = NULL;
	if (husk_ref_parse(in, &r, &err) < 0)
		fail_msg("%s: %s", in, err->msg);
	assert_string_equal(r->domain, domain);
	assert_string_equal(r->path, path);
	if (tag)
		assert_string_equal(r->tag, tag);
	else
		assert_null(r->tag);
	if (digest)
		assert_string_equal(r->digest, digest);
	else
		assert_null(r->digest);
	char *s = husk_ref_string(r);
	assert_string_equal(s, full);
	free(s);
	husk_ref_free(r);
}

#define D "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_ref_docker_hub(void **state)
{
	(void)state;
	check_ref("busybox", "docker.io", "library/busybox", "latest", NULL,
		  "docker.io/library/busybox:latest");
	check_ref("busybox:1.36", "docker.io", "library/busybox", "1.36", NULL,
		  "docker.io/library/busybox:1.36");
	check_ref("user/app:v2", "docker.io", "user/app", "v2", NULL, "docker.io/user/app:v2");
	check_ref("docker.io/busybox", "docker.io", "library/busybox", "latest", NULL,
		  "docker.io/library/busybox:latest");
	check_ref("index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", NULL,
		  "docker.io/library/busybox:latest");
	check_ref("docker://alpine:3", "docker.io", "library/alpine", "3", NULL,
		  "docker.io/library/alpine:3");
}

static void test_ref_registries(void **state)
{
	(void)state;
	check_ref("127.0.0.1:5000/ns/img:tag", "127.0.0.1:5000", "ns/img", "tag", NULL,
		  "127.0.0.1:5000/ns/img:tag");
	check_ref("127.0.0.1:5000/busybox", "127.0.0.1:5000", "busybox", "latest", NULL,
		  "127.0.0.1:5000/busybox:latest");
	check_ref("localhost/img", "localhost", "img", "latest", NULL, "localhost/img:latest");
	check_ref("quay.io/a/b/c:1.0-rc_1", "quay.io", "a/b/c", "1.0-rc_1", NULL,
		  "quay.io/a/b/c:1.0-rc_1");
	check_ref("localhost:5000/my-app__x.y", "localhost:5000", "my-app__x.y", "latest", NULL,
		  "localhost:5000/my-app__x.y:latest");
}

static void test_ref_digest(void **state)
{
	(void)state;
	check_ref("img@" D, "docker.io", "library/img", NULL, D, "docker.io/library/img@" D);
	check_ref("127.0.0.1:5000/img:v1@" D, "127.0.0.1:5000", "img", "v1", D,
		  "127.0.0.1:5000/img@" D);
}

static void check_bad(const char *in, const char *why)
{
	struct husk_ref *r = NULL;
	husk_error *err = NULL;
	assert_int_not_equal(husk_ref_parse(in, &r, &err), 0);
	assert_null(r);
	assert_non_null(err);
	if (!strstr(err->msg, why))
		fail_msg("%s: \"%s\" lacks \"%s\"", in, err->msg, why);
	husk_error_free(err);
}

static void test_ref_bad(void **state)
{
	(void)state;
	check_bad("", "not a valid image name");
	check_bad("Busybox", "lower case");
	check_bad("img@sha256:abc", "bad digest");
	check_bad("img@md5:0123", "bad digest");
	check_bad("img:", "bad tag");
	check_bad("img:-x", "bad tag");
	check_bad("img:a/b", "not a valid image name");
	check_bad("127.0.0.1:5000/", "not a valid image name");
	check_bad("a//b", "not a valid image name");
	check_bad("a/b-", "not a valid image name");
	check_bad("host:5000/../x", "not a valid image name");
	check_bad("a..b", "not a valid image name");
	check_bad("a b", "not a valid image name");
}

static void test_challenge_bearer(void **state)
{
	(void)state;
	struct husk_auth_challenge c;
	assert_int_equal(husk_auth_challenge_parse(
				 "Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
				 "docker.io\",scope=\"repository:library/busybox:pull\"",
				 &c),
			 0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	assert_string_equal(c.scope, "repository:library/busybox:pull");
	husk_auth_challenge_clear(&c);

	/* spaces after commas, unquoted values, escapes, unknown keys,
	 * a scope with a comma inside its quotes */
	assert_int_equal(
		husk_auth_challenge_parse(
			"  bearer  realm=http://127.0.0.1:1/t, error=\"insufficient_scope\","
			" scope=\"repository:a:pull,push\", service = \"s\\\"x\"",
			&c),
		0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "http://127.0.0.1:1/t");
	assert_string_equal(c.scope, "repository:a:pull,push");
	assert_string_equal(c.service, "s\"x");
	husk_auth_challenge_clear(&c);
}

static void test_challenge_basic_and_bad(void **state)
{
	(void)state;
	struct husk_auth_challenge c;
	assert_int_equal(husk_auth_challenge_parse("Basic realm=\"Registry Realm\"", &c), 0);
	assert_string_equal(c.scheme, "basic");
	assert_string_equal(c.realm, "Registry Realm");
	assert_null(c.service);
	assert_null(c.scope);
	husk_auth_challenge_clear(&c);
	assert_int_not_equal(husk_auth_challenge_parse("", &c), 0);
	assert_int_not_equal(husk_auth_challenge_parse("Bearer realm=\"unterminated", &c), 0);
	assert_int_not_equal(husk_auth_challenge_parse("Bearer realm", &c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ref_docker_hub),
		cmocka_unit_test(test_ref_registries),
		cmocka_unit_test(test_ref_digest),
		cmocka_unit_test(test_ref_bad),
		cmocka_unit_test(test_challenge_bearer),
		cmocka_unit_test(test_challenge_basic_and_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

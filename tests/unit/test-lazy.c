/* lazy.c and the lazy-*.c wrappers: libraries loaded on first use, a
 * missing one failing with an errno, the variadic functions passing their
 * argument on whole. */
#define _GNU_SOURCE
#include <archive.h>
#include <openssl/evp.h>
#include <curl/curl.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lazy.h"

static void test_missing_library(void **state)
{
	(void)state;
	static const char *const names[] = {"getpid"};
	void *syms[1] = {NULL};
	struct husk_lazy_lib lib = {"libhusk-no-such-library.so.0", names, syms, 1, false};
	husk_error *err = NULL;
	assert_true(husk_lazy_load(&lib, &err) < 0);
	assert_non_null(err);
	assert_int_equal(err->errnum, ELIBACC);
	assert_false(lib.loaded);
	husk_error_free(err);
}

static void test_missing_function(void **state)
{
	(void)state;
	static const char *const names[] = {"getpid", "husk_no_such_function"};
	void *syms[2] = {NULL};
	struct husk_lazy_lib lib = {"libc.so.6", names, syms, 2, false};
	husk_error *err = NULL;
	assert_true(husk_lazy_load(&lib, &err) < 0);
	assert_non_null(err);
	assert_int_equal(err->errnum, ENOSYS);
	assert_false(lib.loaded);
	husk_error_free(err);
}

static void test_load(void **state)
{
	(void)state;
	static const char *const names[] = {"getpid"};
	void *syms[1] = {NULL};
	struct husk_lazy_lib lib = {"libc.so.6", names, syms, 1, false};
	assert_int_equal(husk_lazy_load(&lib, NULL), 0);
	assert_true(lib.loaded);
	assert_int_equal(husk_lazy_load(&lib, NULL), 0);
	pid_t (*real_getpid)(void) = (pid_t(*)(void))husk_lazy_sym(&lib, 0);
	assert_int_equal(real_getpid(), getpid());
}

static size_t discard(char *buf, size_t size, size_t n, void *ud)
{
	(void)buf;
	(void)ud;
	return size * n;
}

/* each type of curl_easy_setopt's argument, and getinfo's pointers */
static void test_curl(void **state)
{
	(void)state;
	assert_int_equal(husk_lazy_curl(NULL), 0);
	CURL *h = curl_easy_init();
	assert_non_null(h);
	static char mine[] = "mine";
	assert_int_equal(curl_easy_setopt(h, CURLOPT_PRIVATE, mine), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:1/"), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)1 << 40),
			 CURLE_OK);
	/* a long out of range is refused: it arrived as a long */
	assert_int_equal(curl_easy_setopt(h, CURLOPT_MAXREDIRS, -2L), CURLE_BAD_FUNCTION_ARGUMENT);
	char *got = NULL;
	assert_int_equal(curl_easy_getinfo(h, CURLINFO_PRIVATE, &got), CURLE_OK);
	assert_ptr_equal(got, mine);
	long status = -1;
	assert_int_equal(curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status), CURLE_OK);
	assert_int_equal(status, 0);
	curl_off_t size = -1;
	assert_int_equal(curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &size), CURLE_OK);
	assert_true(size == 0);
	char *esc = curl_easy_escape(h, "a b", 0);
	assert_string_equal(esc, "a%20b");
	curl_free(esc);
	curl_easy_cleanup(h);
}

/* archive_set_error's format is done by the wrapper */
static void test_archive(void **state)
{
	(void)state;
	assert_int_equal(husk_lazy_archive(NULL), 0);
	struct archive *a = archive_read_new();
	assert_non_null(a);
	archive_set_error(a, EINVAL, "entry %d of \"%s\"", 42, "x.tar");
	assert_int_equal(archive_errno(a), EINVAL);
	assert_string_equal(archive_error_string(a), "entry 42 of \"x.tar\"");
	assert_int_equal(archive_read_free(a), ARCHIVE_OK);
}

static void test_nftables(void **state)
{
	(void)state;
	assert_int_equal(husk_lazy_nftables(NULL), 0);
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	assert_non_null(ctx);
	assert_int_equal(nft_ctx_buffer_error(ctx), 0);
	nft_ctx_free(ctx);
}

/* SHA-256 through the wrappers, one shot and streamed, as the store and
 * the build use it; base64 as registry logins do */
static void test_crypto(void **state)
{
	(void)state;
	assert_int_equal(husk_lazy_crypto(NULL), 0);
	static const char abc_sha256[] =
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[65] = "";
	assert_int_equal(EVP_Digest("abc", 3, d, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, 32);
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	assert_string_equal(hex, abc_sha256);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_non_null(md);
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(md, "a", 1), 1);
	assert_int_equal(EVP_DigestUpdate(md, "bc", 2), 1);
	unsigned char d2[EVP_MAX_MD_SIZE];
	assert_int_equal(EVP_DigestFinal_ex(md, d2, &n), 1);
	EVP_MD_CTX_free(md);
	assert_memory_equal(d, d2, 32);
	unsigned char b64[8];
	assert_int_equal(EVP_EncodeBlock(b64, (const unsigned char *)"a:b", 3), 4);
	assert_string_equal((char *)b64, "YTpi");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_library),
		cmocka_unit_test(test_missing_function),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_curl),
		cmocka_unit_test(test_archive),
		cmocka_unit_test(test_nftables),
		cmocka_unit_test(test_crypto),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* libcrypto (OpenSSL 3), loaded on first use (see lazy.h): the SHA-256 and
 * base64 functions husk calls, each forwarding to the real one.  Linked,
 * libcrypto cost every husk command about 2.5 ms before main() on these
 * VMs: 400 kB of its data relocated, each page written the first time
 * (10-20 us a page here), though `run`, `ps` or `logs` compute no digest.
 * What writes or checks a blob, unpacks or saves a layer, builds, or
 * talks to a registry calls husk_lazy_crypto() first. */
#include <openssl/evp.h>
#include <stdio.h>

#include "lazy.h"

#define CRYPTO_FUNCTIONS(X)   \
	X(EVP_Digest)         \
	X(EVP_DigestFinal_ex) \
	X(EVP_DigestInit_ex)  \
	X(EVP_DigestUpdate)   \
	X(EVP_EncodeBlock)    \
	X(EVP_MD_CTX_free)    \
	X(EVP_MD_CTX_new)     \
	X(EVP_sha256)

HUSK_LAZY_LIBRARY(crypto_lib, "libcrypto.so.3", CRYPTO_FUNCTIONS);
#define REAL(f) HUSK_LAZY_REAL(crypto_lib, f)

int husk_lazy_crypto(husk_error **err)
{
	return husk_lazy_load(&crypto_lib, err);
}

void husk_sha256_hex(const void *buf, size_t len, char out[65])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	out[0] = '\0';
	if (EVP_Digest(buf, len, d, &n, EVP_sha256(), NULL) != 1)
		return;
	for (unsigned int i = 0; i < n && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

int EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
	       const EVP_MD *type, ENGINE *impl)
{
	return REAL(EVP_Digest)(data, count, md, size, type, impl);
}

int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s)
{
	return REAL(EVP_DigestFinal_ex)(ctx, md, s);
}

int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl)
{
	return REAL(EVP_DigestInit_ex)(ctx, type, impl);
}

int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt)
{
	return REAL(EVP_DigestUpdate)(ctx, d, cnt);
}

int EVP_EncodeBlock(unsigned char *t, const unsigned char *f, int n)
{
	return REAL(EVP_EncodeBlock)(t, f, n);
}

void EVP_MD_CTX_free(EVP_MD_CTX *ctx)
{
	REAL(EVP_MD_CTX_free)(ctx);
}

EVP_MD_CTX *EVP_MD_CTX_new(void)
{
	return REAL(EVP_MD_CTX_new)();
}

const EVP_MD *EVP_sha256(void)
{
	return REAL(EVP_sha256)();
}

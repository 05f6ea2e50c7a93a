/* libnftables, loaded on first use (see lazy.h): the functions husk
 * calls, each forwarding to the real one.  nft.c's nft_run() calls
 * husk_lazy_nftables() before its first nft_*(). */
#include <nftables/libnftables.h>

#include "lazy.h"

#define NFTABLES_FUNCTIONS(X)       \
	X(nft_ctx_buffer_error)     \
	X(nft_ctx_buffer_output)    \
	X(nft_ctx_free)             \
	X(nft_ctx_get_error_buffer) \
	X(nft_ctx_new)              \
	X(nft_run_cmd_from_buffer)

HUSK_LAZY_LIBRARY(nft_lib, "libnftables.so.1", NFTABLES_FUNCTIONS);
#define REAL(f) HUSK_LAZY_REAL(nft_lib, f)

int husk_lazy_nftables(husk_error **err)
{
	return husk_lazy_load(&nft_lib, err);
}

int nft_ctx_buffer_error(struct nft_ctx *ctx)
{
	return REAL(nft_ctx_buffer_error)(ctx);
}

int nft_ctx_buffer_output(struct nft_ctx *ctx)
{
	return REAL(nft_ctx_buffer_output)(ctx);
}

void nft_ctx_free(struct nft_ctx *ctx)
{
	REAL(nft_ctx_free)(ctx);
}

const char *nft_ctx_get_error_buffer(struct nft_ctx *ctx)
{
	return REAL(nft_ctx_get_error_buffer)(ctx);
}

struct nft_ctx *nft_ctx_new(uint32_t flags)
{
	return REAL(nft_ctx_new)(flags);
}

int nft_run_cmd_from_buffer(struct nft_ctx *nft, const char *buf)
{
	return REAL(nft_run_cmd_from_buffer)(nft, buf);
}

/* Libraries loaded on first use: libcurl, libarchive, libnftables and
 * libcrypto (lazy-crypto.c says what that one cost).
 *
 * Between them they pull in about 45 shared libraries (GnuTLS, Kerberos,
 * LDAP, libxml2, ICU, libstdc++...), and loading those costs every husk
 * command some 20 ms before main() runs, while only a few verbs need
 * them: pull, push and login (libcurl), layer unpack, save and the
 * busybox image (libarchive), bridge networking (libnftables).  So the
 * husk binary does not link them: lazy-curl.c, lazy-archive.c and
 * lazy-nftables.c define the functions husk calls, with the library's own
 * names and signatures (the real headers are included, so the compiler
 * checks them), each forwarding to the real function found with dlsym in
 * a handle dlopen()ed once.
 *
 * A missing library is the user's problem, not a crash: the place that
 * starts using a library calls husk_lazy_<lib>() first, which fails with
 * an error naming the library and saying why it could not be loaded.  A
 * wrapper called before that loads the library itself; if that fails it
 * cannot report it through the library's own API, so it prints why and
 * aborts -- a call site without its husk_lazy_<lib>() check is a bug. */
#ifndef HUSK_LAZY_H
#define HUSK_LAZY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Load the library and all the functions husk uses from it, if not done
 * yet.  Thread-safe.  Fails with ELIBACC when the library cannot be
 * opened, ENOSYS when it lacks one of the functions (too old); the
 * message is dlerror()'s, which names the library:
 *   libcurl.so.4: cannot open shared object file: No such file or directory */
int husk_lazy_curl(husk_error **err);
int husk_lazy_archive(husk_error **err);
int husk_lazy_nftables(husk_error **err);
int husk_lazy_crypto(husk_error **err);
/* SHA-256 of buf as 64 hex digits and a NUL (after husk_lazy_crypto) */
void husk_sha256_hex(const void *buf, size_t len, char out[65]);

/* --- for the lazy-<lib>.c files (and the unit test) --- */

struct husk_lazy_lib {
	const char *soname;	  /* as the library's ELF SONAME says */
	const char *const *names; /* the functions, n of them */
	void **syms;		  /* their addresses, filled in the same order */
	size_t n;
	bool loaded; /* read and written atomically */
};

/* Open lib->soname and look up every name; 0 when done (now or before). */
int husk_lazy_load(struct husk_lazy_lib *lib, husk_error **err);
/* husk_lazy_load() or, when it fails, print the error and abort(). */
void husk_lazy_load_or_abort(struct husk_lazy_lib *lib);

/* The address of lib's i-th function, loading lib on first use. */
static inline void *husk_lazy_sym(struct husk_lazy_lib *lib, size_t i)
{
	if (__builtin_expect(!__atomic_load_n(&lib->loaded, __ATOMIC_ACQUIRE), 0))
		husk_lazy_load_or_abort(lib);
	return lib->syms[i];
}

/* One library's tables from an X-macro list of its functions F(X):
 * LAZY_SYM_<name> indexes, the names, the addresses, and the library. */
#define HUSK_LAZY_ENUM_(f) LAZY_SYM_##f,
#define HUSK_LAZY_NAME_(f) #f,
#define HUSK_LAZY_LIBRARY(var, so, F)                                   \
	enum { F(HUSK_LAZY_ENUM_) LAZY_N_SYMS_ };                       \
	static const char *const var##_names_[] = {F(HUSK_LAZY_NAME_)}; \
	static void *var##_syms_[LAZY_N_SYMS_];                         \
	static struct husk_lazy_lib var = {                             \
		.soname = (so), .names = var##_names_, .syms = var##_syms_, .n = LAZY_N_SYMS_}

/* The real function f of library var, with the type its header declares */
#define HUSK_LAZY_REAL(var, f) ((__typeof__(f) *)husk_lazy_sym(&(var), LAZY_SYM_##f))

#endif

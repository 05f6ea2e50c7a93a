/* The loader behind lazy-curl.c, lazy-archive.c and lazy-nftables.c (see
 * lazy.h): dlopen once, every function looked up at once, so that a
 * library too old to have one of them fails at the start of the work and
 * not in its middle. */
#define _GNU_SOURCE
#include "lazy.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* layers are unpacked by several threads at once */
static pthread_mutex_t lazy_mu = PTHREAD_MUTEX_INITIALIZER;

/* dlerror()'s text, with the library's name in front when it lacks it */
static int lazy_fail(husk_error **err, int errnum, const char *soname)
{
	const char *why = dlerror();
	if (!why)
		why = "unknown error";
	if (strstr(why, soname))
		return husk_fail_as(err, errnum, "%s", why);
	return husk_fail_as(err, errnum, "%s: %s", soname, why);
}

static int load_locked(struct husk_lazy_lib *lib, husk_error **err)
{
	/* RTLD_LOCAL: the library's symbols stay out of the global scope,
	 * where they could meet husk's wrappers of the same names */
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return lazy_fail(err, ELIBACC, lib->soname);
	for (size_t i = 0; i < lib->n; i++) {
		dlerror();
		lib->syms[i] = dlsym(h, lib->names[i]);
		if (!lib->syms[i]) {
			int r = lazy_fail(err, ENOSYS, lib->soname);
			dlclose(h);
			return r;
		}
	}
	/* the handle stays open for the life of the process */
	__atomic_store_n(&lib->loaded, true, __ATOMIC_RELEASE);
	return 0;
}

int husk_lazy_load(struct husk_lazy_lib *lib, husk_error **err)
{
	if (__atomic_load_n(&lib->loaded, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&lazy_mu);
	int r = lib->loaded ? 0 : load_locked(lib, err);
	pthread_mutex_unlock(&lazy_mu);
	return r;
}

void husk_lazy_load_or_abort(struct husk_lazy_lib *lib)
{
	husk_error *e = NULL;
	if (husk_lazy_load(lib, &e) == 0)
		return;
	fprintf(stderr, "husk: %s (a call without husk_lazy_*() first: a bug)\n",
		e && e->msg ? e->msg : lib->soname);
	abort();
}

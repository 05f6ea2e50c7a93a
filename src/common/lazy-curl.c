/* libcurl, loaded on first use (see lazy.h): the functions husk calls,
 * each forwarding to the real one.  The registry client calls
 * husk_lazy_curl() when it is made, before its first curl_*(). */
#define CURL_DISABLE_TYPECHECK /* its macros would rename the definitions */
#include <curl/curl.h>
#include <stdarg.h>

#include "lazy.h"

#define CURL_FUNCTIONS(X)     \
	X(curl_easy_cleanup)  \
	X(curl_easy_escape)   \
	X(curl_easy_getinfo)  \
	X(curl_easy_init)     \
	X(curl_easy_perform)  \
	X(curl_easy_reset)    \
	X(curl_easy_setopt)   \
	X(curl_easy_strerror) \
	X(curl_free)          \
	X(curl_global_init)   \
	X(curl_slist_append)  \
	X(curl_slist_free_all)

HUSK_LAZY_LIBRARY(curl_lib, "libcurl.so.4", CURL_FUNCTIONS);
#define REAL(f) HUSK_LAZY_REAL(curl_lib, f)

int husk_lazy_curl(husk_error **err)
{
	return husk_lazy_load(&curl_lib, err);
}

/* Any function pointer type holds any other's value (C11 6.3.2.3p8) */
typedef void (*any_function)(void);

/* curl_easy_setopt() takes one argument after the option, of the type the
 * option's number says: CURLOPTTYPE_* is the option rounded down to a
 * multiple of 10000.  Read as that type, passed on as that type. */
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	va_list ap;
	va_start(ap, option);
	CURLcode r;
	switch ((int)option / 10000 * 10000) {
	case CURLOPTTYPE_LONG: /* and _VALUES */
		r = REAL(curl_easy_setopt)(curl, option, va_arg(ap, long));
		break;
	case CURLOPTTYPE_OBJECTPOINT: /* and _STRINGPOINT, _SLISTPOINT, _CBPOINT */
	case CURLOPTTYPE_BLOB:	      /* a struct curl_blob * */
		r = REAL(curl_easy_setopt)(curl, option, va_arg(ap, void *));
		break;
	case CURLOPTTYPE_FUNCTIONPOINT:
		r = REAL(curl_easy_setopt)(curl, option, va_arg(ap, any_function));
		break;
	case CURLOPTTYPE_OFF_T:
		r = REAL(curl_easy_setopt)(curl, option, va_arg(ap, curl_off_t));
		break;
	default:
		r = CURLE_UNKNOWN_OPTION;
		break;
	}
	va_end(ap);
	return r;
}

/* curl_easy_getinfo() takes one pointer, to the type CURLINFO_TYPEMASK's
 * bits of the info say. */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	va_list ap;
	va_start(ap, info);
	CURLcode r;
	switch ((int)info & CURLINFO_TYPEMASK) {
	case CURLINFO_STRING:
		r = REAL(curl_easy_getinfo)(curl, info, va_arg(ap, char **));
		break;
	case CURLINFO_LONG:
		r = REAL(curl_easy_getinfo)(curl, info, va_arg(ap, long *));
		break;
	case CURLINFO_DOUBLE:
		r = REAL(curl_easy_getinfo)(curl, info, va_arg(ap, double *));
		break;
	case CURLINFO_SLIST: /* and _PTR: a struct curl_slist ** or a void ** */
		r = REAL(curl_easy_getinfo)(curl, info, va_arg(ap, void *));
		break;
	case CURLINFO_SOCKET:
		r = REAL(curl_easy_getinfo)(curl, info, va_arg(ap, curl_socket_t *));
		break;
	case CURLINFO_OFF_T:
		r = REAL(curl_easy_getinfo)(curl, info, va_arg(ap, curl_off_t *));
		break;
	default:
		r = CURLE_UNKNOWN_OPTION;
		break;
	}
	va_end(ap);
	return r;
}

void curl_easy_cleanup(CURL *curl)
{
	REAL(curl_easy_cleanup)(curl);
}

char *curl_easy_escape(CURL *handle, const char *string, int length)
{
	return REAL(curl_easy_escape)(handle, string, length);
}

CURL *curl_easy_init(void)
{
	return REAL(curl_easy_init)();
}

CURLcode curl_easy_perform(CURL *curl)
{
	return REAL(curl_easy_perform)(curl);
}

void curl_easy_reset(CURL *curl)
{
	REAL(curl_easy_reset)(curl);
}

const char *curl_easy_strerror(CURLcode code)
{
	return REAL(curl_easy_strerror)(code);
}

void curl_free(void *p)
{
	REAL(curl_free)(p);
}

CURLcode curl_global_init(long flags)
{
	return REAL(curl_global_init)(flags);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *data)
{
	return REAL(curl_slist_append)(list, data);
}

void curl_slist_free_all(struct curl_slist *list)
{
	REAL(curl_slist_free_all)(list);
}

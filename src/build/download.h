/* ADD's http:// and https:// sources, as Docker's builder fetches them:
 * one file, never unpacked, mode 0600, its mtime the Last-Modified
 * header's (the epoch when there is none), named after the URL's last
 * path segment unless the destination names it. */
#ifndef HUSK_BUILD_DOWNLOAD_H
#define HUSK_BUILD_DOWNLOAD_H

#include <stdbool.h>
#include <time.h>

#include "error.h"

/* Is this ADD source a URL that husk_download fetches? */
bool husk_download_is_url(const char *src);

/* The file name Docker gives a download: the last segment of the URL's
 * path, as Go's path.Base ("http://h/d/f?q" and "http://h/d/f/": "f");
 * NULL when it has none ("http://h/"). */
char *husk_download_name(const char *url);

/* Fetch url into dir/name (made 0600, its mtime Last-Modified's); the
 * sha256 of its content (hex) and that mtime to ret_*.  EIO for an HTTP
 * status >= 400 or a transfer that failed (curl's words in the message),
 * ELIBACC when libcurl cannot be loaded. */
int husk_download(const char *url, const char *dir, const char *name, char ret_sha256[65],
		  time_t *ret_mtime, husk_error **err);

#endif

/* ADD's URLs: one file fetched with libcurl (loaded on first use, as the
 * registry client loads it), hashed while written. */
#define _GNU_SOURCE
#include "download.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lazy.h"
#include "util.h"

bool husk_download_is_url(const char *src)
{
	return strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0;
}

char *husk_download_name(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	p += strcspn(p, "/?#"); /* past the host */
	size_t end = strcspn(p, "?#");
	while (end > 0 && p[end - 1] == '/') /* as Go's path.Base */
		end--;
	size_t start = end;
	while (start > 0 && p[start - 1] != '/')
		start--;
	size_t len = end - start;
	if (len == 0 || (len == 1 && p[start] == '.') ||
	    (len == 2 && strncmp(p + start, "..", 2) == 0))
		return NULL;
	return strndup(p + start, len);
}

struct sink {
	int fd;
	EVP_MD_CTX *md;
	int errnum;
};

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;
	size_t len = size * n, off = 0;
	while (off < len) {
		ssize_t w = write(s->fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			s->errnum = errno;
			return 0; /* curl stops: CURLE_WRITE_ERROR */
		}
		off += (size_t)w;
	}
	EVP_DigestUpdate(s->md, buf, len);
	return len;
}

int husk_download(const char *url, const char *dir, const char *name, char ret_sha256[65],
		  time_t *ret_mtime, husk_error **err)
{
	if (husk_lazy_curl(err) < 0 || husk_lazy_crypto(err) < 0)
		return husk_error_wrap(err, "ADD \"%s\"", url);
	static bool inited;
	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			return husk_fail(err, 0, "libcurl: init failed");
		inited = true;
	}
	cleanup_free char *path = husk_strdup_printf("%s/%s", dir, name);
	struct sink s = {.md = EVP_MD_CTX_new()};
	if (!s.md)
		abort();
	EVP_DigestInit_ex(s.md, EVP_sha256(), NULL);
	s.fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (s.fd < 0) {
		EVP_MD_CTX_free(s.md);
		return husk_fail(err, errno, "create \"%s\"", path);
	}
	CURL *h = curl_easy_init();
	if (!h)
		abort();
	char ebuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "husk/0.1.0");
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L); /* a status >= 400 fails */
	curl_easy_setopt(h, CURLOPT_FILETIME, 1L);    /* Last-Modified, parsed */
	CURLcode rc = curl_easy_perform(h);
	long filetime = -1;
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_FILETIME, &filetime);
	int r = 0;
	if (rc != CURLE_OK)
		r = husk_fail(err, s.errnum ? s.errnum : EIO, "ADD \"%s\": %s", url,
			      *ebuf ? ebuf : curl_easy_strerror(rc));
	curl_easy_cleanup(h);
	/* as Docker's builder: Last-Modified, else the epoch */
	struct timespec ts[2] = {{filetime > 0 ? filetime : 0, 0},
				 {filetime > 0 ? filetime : 0, 0}};
	if (r == 0 && futimens(s.fd, ts) < 0)
		r = husk_fail(err, errno, "set the mtime of \"%s\"", path);
	if (close(s.fd) < 0 && r == 0)
		r = husk_fail(err, errno, "write \"%s\"", path);
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dn = 0;
	EVP_DigestFinal_ex(s.md, d, &dn);
	EVP_MD_CTX_free(s.md);
	if (r < 0) {
		unlink(path);
		return -1;
	}
	for (unsigned int i = 0; i < dn && i < 32; i++)
		snprintf(ret_sha256 + 2 * i, 3, "%02x", d[i]);
	*ret_mtime = ts[0].tv_sec;
	return 0;
}

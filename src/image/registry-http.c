/* The HTTP side of the registry client: one libcurl handle per registry,
 * the scheme decided once by a ping of /v2/, a 401 answered with a token
 * or basic credentials, and transient failures retried with a short
 * backoff.
 *
 * TLS: HTTPS with the system CAs, plus the CAs of a cert dir (podman's
 * --cert-dir, or /etc/containers/certs.d/HOST/) when there is one.  Plain
 * HTTP only when the user allowed it (--tls-verify=false), or for
 * localhost and 127.0.0.0/8 when the registry does not speak TLS at all,
 * as Podman and Docker do; a certificate that fails verification is never
 * a reason to fall back. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "image-private.h"
#include "lazy.h"
#include "registry-private.h"
#include "util.h"

#define MAX_TRIES     4 /* the first try and three retries */
#define MAX_ERROR_LEN (64 * 1024)

void reg_debug(struct reg_client *c, const char *fmt, ...)
{
	if (!c->o || !c->o->debug)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) >= 0) {
		c->o->debug(c->o->ud, m);
		free(m);
	}
	va_end(ap);
}

/* localhost, 127.0.0.0/8 and ::1, with or without a port */
static bool is_local(const char *domain)
{
	if (strncmp(domain, "localhost", 9) == 0 && (domain[9] == '\0' || domain[9] == ':'))
		return true;
	if (strncmp(domain, "127.", 4) == 0)
		return true;
	return strncmp(domain, "[::1]", 5) == 0;
}

/* Every NAME.crt of dir, concatenated (PEM files can be). */
static int read_cert_dir(const char *dir, bool must, char **ret, size_t *ret_len, husk_error **err)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (!must && errno == ENOENT)
			return 0;
		return husk_fail(err, errno, "cert dir \"%s\"", dir);
	}
	char *all = NULL;
	size_t len = 0;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".crt") != 0)
			continue;
		cleanup_free char *p = husk_strdup_printf("%s/%s", dir, de->d_name);
		cleanup_free char *buf = NULL;
		size_t blen = 0;
		if (husk_read_file(p, &buf, &blen, err) < 0) {
			r = -1;
			break;
		}
		char *m = realloc(all, len + blen + 2);
		if (!m) {
			r = husk_fail(err, ENOMEM, "cert dir");
			break;
		}
		all = m;
		memcpy(all + len, buf, blen);
		len += blen;
		all[len++] = '\n';
		all[len] = '\0';
	}
	closedir(d);
	if (r < 0) {
		free(all);
		return -1;
	}
	*ret = all;
	*ret_len = len;
	return 0;
}

int reg_client_new(const char *domain, const struct husk_registry_opts *o, struct reg_client **ret,
		   husk_error **err)
{
	static bool inited;
	if (husk_lazy_curl(err) < 0 || husk_lazy_crypto(err) < 0)
		return -1;
	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			return husk_fail(err, 0, "libcurl: init failed");
		inited = true;
	}
	struct reg_client *c = calloc(1, sizeof(*c));
	if (!c)
		return husk_fail(err, ENOMEM, "registry client");
	c->o = o;
	c->domain = strdup(domain);
	/* Docker Hub's API is not at its name */
	c->endpoint = strdup(strcmp(domain, "docker.io") == 0 ? "registry-1.docker.io" : domain);
	c->scheme = "https";
	c->verify = o->tls != HUSK_TLS_INSECURE;
	c->may_http = o->tls == HUSK_TLS_INSECURE || (o->tls == HUSK_TLS_AUTO && is_local(domain));
	c->curl = curl_easy_init();
	if (!c->domain || !c->endpoint || !c->curl) {
		reg_client_free(c);
		return husk_fail(err, ENOMEM, "registry client");
	}
	int r;
	if (o->cert_dir) {
		r = read_cert_dir(o->cert_dir, true, &c->ca_blob, &c->ca_len, err);
	} else {
		cleanup_free char *d1 = husk_strdup_printf("/etc/containers/certs.d/%s", domain);
		cleanup_free char *d2 = husk_strdup_printf("/etc/docker/certs.d/%s", domain);
		r = read_cert_dir(d1, false, &c->ca_blob, &c->ca_len, err);
		if (r == 0 && !c->ca_blob)
			r = read_cert_dir(d2, false, &c->ca_blob, &c->ca_len, err);
	}
	if (r < 0) {
		reg_client_free(c);
		return -1;
	}
	if (o->username) {
		cleanup_free char *up =
			husk_strdup_printf("%s:%s", o->username, o->password ? o->password : "");
		c->basic = reg_base64(up, strlen(up));
	} else if (o->auth_file && reg_auth_lookup(o->auth_file, domain, &c->basic, err) < 0) {
		reg_client_free(c);
		return -1;
	}
	*ret = c;
	return 0;
}

void reg_client_free(struct reg_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->domain);
	free(c->endpoint);
	free(c->ca_blob);
	free(c->basic);
	free(c->token);
	free(c->scope);
	husk_auth_challenge_clear(&c->challenge);
	free(c);
}

void reg_resp_clear(struct reg_resp *r)
{
	free(r->content_type);
	free(r->location);
	free(r->digest);
	free(r->www_auth);
	free(r->range);
	free(r->link);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* --- one transfer --- */

struct xfer {
	struct reg_client *c;
	const struct reg_req *q;
	struct reg_resp *resp;
	long long offset; /* where the body goes in out_fd */
	bool started;	  /* first body byte seen: status decided */
	bool to_fd;
	int write_errno;
	size_t max;
	long long sent; /* upload position */
};

static char *dup_value(const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	return strndup(v, n);
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;
	struct reg_resp *r = x->resp;
	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* a new response (after a redirect or a 100): forget the last */
		char *body = r->body;
		size_t blen = r->len;
		r->body = NULL;
		reg_resp_clear(r);
		r->body = body;
		r->len = blen;
		return len;
	}
	static const struct {
		const char *name;
		size_t off;
	} keep[] = {
		{"content-type:", offsetof(struct reg_resp, content_type)},
		{"location:", offsetof(struct reg_resp, location)},
		{"docker-content-digest:", offsetof(struct reg_resp, digest)},
		{"www-authenticate:", offsetof(struct reg_resp, www_auth)},
		{"content-range:", offsetof(struct reg_resp, range)},
		{"link:", offsetof(struct reg_resp, link)},
	};
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		size_t kl = strlen(keep[i].name);
		if (len > kl && strncasecmp(buf, keep[i].name, kl) == 0) {
			char **slot = (char **)((char *)r + keep[i].off);
			free(*slot);
			*slot = dup_value(buf + kl, len - kl);
		}
	}
	return len;
}

/* The body of a 206 must start where we are: "bytes OFF-END/TOTAL". */
static bool range_matches(const char *range, long long off)
{
	if (!range || strncmp(range, "bytes ", 6) != 0)
		return false;
	char *end = NULL;
	long long start = strtoll(range + 6, &end, 10);
	return end && *end == '-' && start == off;
}

static void report(struct xfer *x)
{
	const struct husk_registry_opts *o = x->c->o;
	if (!o->progress || !x->q->digest)
		return;
	struct husk_progress p = {.digest = x->q->digest, .done = x->offset, .total = x->q->total};
	o->progress(o->ud, &p);
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;
	if (!x->started) {
		x->started = true;
		long status = 0;
		curl_easy_getinfo(x->c->curl, CURLINFO_RESPONSE_CODE, &status);
		if (x->q->out_fd >= 0 && (status == 200 || status == 206)) {
			x->to_fd = true;
			if (status == 200 || !range_matches(x->resp->range, x->offset)) {
				/* the whole blob again: start over */
				if (x->offset > 0)
					reg_debug(x->c, "blob %s: no range answer, from byte 0",
						  x->q->digest ? x->q->digest : "");
				if (ftruncate(x->q->out_fd, 0) < 0) {
					x->write_errno = errno;
					return 0;
				}
				x->offset = 0;
			}
		}
	}
	if (x->to_fd) {
		if (pwrite(x->q->out_fd, buf, len, x->offset) != (ssize_t)len) {
			x->write_errno = errno ? errno : EIO;
			return 0;
		}
		x->offset += (long long)len;
		report(x);
		return len;
	}
	struct reg_resp *r = x->resp;
	if (r->len + len > x->max) {
		x->write_errno = EFBIG;
		return 0;
	}
	char *m = realloc(r->body, r->len + len + 1);
	if (!m) {
		x->write_errno = ENOMEM;
		return 0;
	}
	r->body = m;
	memcpy(r->body + r->len, buf, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t want = size * n;
	long long left = (long long)x->q->body_len - x->sent;
	if (left <= 0)
		return 0;
	if ((long long)want > left)
		want = (size_t)left;
	if (x->q->body_fd >= 0) {
		ssize_t got = pread(x->q->body_fd, buf, want, x->sent);
		if (got < 0)
			return CURL_READFUNC_ABORT;
		want = (size_t)got;
	} else {
		memcpy(buf, x->q->body + x->sent, want);
	}
	x->sent += (long long)want;
	return want;
}

static bool is_transient(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* The reason a transfer failed, as one clause. */
static int transfer_error(struct reg_client *c, CURLcode cc, const char *ebuf, long os_errno,
			  husk_error **err)
{
	const char *what = *ebuf ? ebuf : curl_easy_strerror(cc);
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		if (os_errno > 0)
			return husk_fail(err, (int)os_errno, "connecting to %s", c->endpoint);
		return husk_fail(err, 0, "connecting to %s: %s", c->endpoint, what);
	case CURLE_PEER_FAILED_VERIFICATION:
		return husk_fail(err, 0,
				 "connecting to %s: TLS certificate not trusted: %s (give its CA "
				 "with --cert-dir, or use --tls-verify=false)",
				 c->endpoint, what);
	case CURLE_SSL_CONNECT_ERROR:
		return husk_fail(err, 0,
				 "connecting to %s: TLS handshake: %s (a registry that speaks "
				 "plain HTTP needs --tls-verify=false)",
				 c->endpoint, what);
	default:
		if (os_errno > 0 && (cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR))
			return husk_fail(err, (int)os_errno, "talking to %s", c->endpoint);
		return husk_fail(err, 0, "talking to %s: %s", c->endpoint, what);
	}
}

/* One try, no retries and no 401 handling.  *ret_cc: libcurl's result. */
static int perform(struct reg_client *c, const struct reg_req *q, struct reg_resp *resp,
		   const char *auth, CURLcode *ret_cc, husk_error **err)
{
	CURL *h = c->curl;
	curl_easy_reset(h);
	reg_resp_clear(resp);
	struct xfer x = {.c = c, .q = q, .resp = resp, .max = q->max_body ? q->max_body : 4 << 20};
	cleanup_free char *url =
		q->url[0] == '/' ? husk_strdup_printf("%s://%s%s", c->scheme, c->endpoint, q->url)
				 : strdup(q->url);
	char ebuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	cleanup_free char *accept = q->accept ? husk_strdup_printf("Accept: %s", q->accept) : NULL;
	cleanup_free char *ctype =
		q->content_type ? husk_strdup_printf("Content-Type: %s", q->content_type) : NULL;
	cleanup_free char *authz = auth ? husk_strdup_printf("Authorization: %s", auth) : NULL;
	cleanup_free char *range = NULL;
	if (accept)
		hdrs = curl_slist_append(hdrs, accept);
	if (ctype)
		hdrs = curl_slist_append(hdrs, ctype);
	if (authz)
		hdrs = curl_slist_append(hdrs, authz);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (q->out_fd >= 0) {
		off_t end = lseek(q->out_fd, 0, SEEK_END);
		x.offset = end > 0 ? end : 0;
		if (x.offset > 0) {
			range = husk_strdup_printf("%lld-", x.offset);
			reg_debug(c, "blob %s: resuming at byte %lld", q->digest ? q->digest : "",
				  x.offset);
		}
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "husk/0.1.0");
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	/* blobs may live behind a redirect (object storage); libcurl does not
	 * send our Authorization header to another host */
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	/* a stalled transfer ends after a minute under 1 byte/s */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->verify ? 2L : 0L);
	if (c->ca_blob) {
		struct curl_blob blob = {
			.data = c->ca_blob, .len = c->ca_len, .flags = CURL_BLOB_COPY};
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (range)
		curl_easy_setopt(h, CURLOPT_RANGE, range);
	if (q->out_fd >= 0 && c->o->rate_limit > 0)
		curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)c->o->rate_limit);
	if (strcmp(q->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, &x);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_len);
	} else if (strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body ? q->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	} else if (strcmp(q->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
	}
	CURLcode cc = curl_easy_perform(h);
	long os_errno = 0;
	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_slist_free_all(hdrs);
	*ret_cc = cc;
	if (x.write_errno && cc == CURLE_WRITE_ERROR)
		return husk_fail(err, x.write_errno, "receiving %s", q->url);
	if (cc != CURLE_OK)
		return transfer_error(c, cc, ebuf, os_errno, err);
	reg_debug(c, "%s %s: %ld", q->method, url, resp->status);
	return 0;
}

static void backoff(int attempt)
{
	/* 0.25 s, 0.5 s, 1 s */
	struct timespec ts = {0, 250000000L << (attempt > 2 ? 2 : attempt)};
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec = ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
	}
	nanosleep(&ts, NULL);
}

static int pass_error(husk_error **err, husk_error *e)
{
	if (err) {
		husk_error_free(*err);
		*err = e;
	} else {
		husk_error_free(e);
	}
	return -1;
}

static char *auth_header(struct reg_client *c)
{
	if (c->token)
		return husk_strdup_printf("Bearer %s", c->token);
	if (c->basic && c->challenge.scheme && strcmp(c->challenge.scheme, "basic") == 0)
		return husk_strdup_printf("Basic %s", c->basic);
	return NULL;
}

int reg_do(struct reg_client *c, const struct reg_req *q, struct reg_resp *resp, husk_error **err)
{
	bool answered_401 = false;
	for (int attempt = 0;; attempt++) {
		cleanup_free char *auth = auth_header(c);
		CURLcode cc = CURLE_OK;
		husk_error *e = NULL;
		if (perform(c, q, resp, auth, &cc, &e) < 0) {
			if (is_transient(cc) && attempt + 1 < MAX_TRIES) {
				reg_debug(c, "%s %s: %s; retrying", q->method, q->url, e->msg);
				husk_error_free(e);
				backoff(attempt);
				continue;
			}
			/* a failure leaves the caller nothing to free */
			reg_resp_clear(resp);
			return pass_error(err, e);
		}
		if (resp->status == 401 && !answered_401 && resp->www_auth) {
			answered_401 = true;
			husk_auth_challenge_clear(&c->challenge);
			if (husk_auth_challenge_parse(resp->www_auth, &c->challenge) < 0)
				return 0;
			if (strcmp(c->challenge.scheme, "bearer") == 0) {
				if (reg_fetch_token(c, err) < 0) {
					reg_resp_clear(resp);
					return -1;
				}
				attempt--;
				continue;
			}
			if (strcmp(c->challenge.scheme, "basic") == 0 && c->basic && !auth) {
				attempt--;
				continue;
			}
			return 0;
		}
		if ((resp->status == 429 || resp->status >= 500) && attempt + 1 < MAX_TRIES) {
			reg_debug(c, "%s %s: HTTP %ld; retrying", q->method, q->url, resp->status);
			backoff(attempt);
			continue;
		}
		return 0;
	}
}

int reg_ping(struct reg_client *c, husk_error **err)
{
	if (c->pinged)
		return 0;
	struct reg_req q = {.method = "GET", .url = "/v2/", .body_fd = -1, .out_fd = -1};
	struct reg_resp resp = {0};
	CURLcode cc = CURLE_OK;
	husk_error *e = NULL;
	int r = -1;
	for (int attempt = 0; attempt < MAX_TRIES; attempt++) {
		husk_error_freep(&e);
		r = perform(c, &q, &resp, NULL, &cc, &e);
		if (r < 0 && cc == CURLE_SSL_CONNECT_ERROR && c->may_http &&
		    strcmp(c->scheme, "https") == 0) {
			/* the registry speaks plain HTTP, and that is allowed */
			reg_debug(c, "%s: no TLS (%s); using HTTP", c->endpoint, e->msg);
			c->scheme = "http";
			attempt--;
			continue;
		}
		if (r < 0 && is_transient(cc) && attempt + 1 < MAX_TRIES) {
			reg_debug(c, "GET /v2/: %s; retrying", e->msg);
			backoff(attempt);
			continue;
		}
		if (r == 0 && (resp.status == 429 || resp.status >= 500) &&
		    attempt + 1 < MAX_TRIES) {
			backoff(attempt);
			continue;
		}
		break;
	}
	if (r < 0) {
		reg_resp_clear(&resp);
		return pass_error(err, e);
	}
	husk_error_free(e);
	if (resp.status == 401 && resp.www_auth)
		husk_auth_challenge_parse(resp.www_auth, &c->challenge);
	reg_resp_clear(&resp);
	c->pinged = true;
	return 0;
}

char *reg_resp_error(const struct reg_resp *r)
{
	/* {"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]} */
	json_t *j = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
	const char *code = json_string_value(json_object_get(e0, "code"));
	const char *msg = json_string_value(json_object_get(e0, "message"));
	char *out;
	if (code && msg)
		out = husk_strdup_printf("HTTP %ld: %s: %s", r->status, code, msg);
	else if (code || msg)
		out = husk_strdup_printf("HTTP %ld: %s", r->status, code ? code : msg);
	else
		out = husk_strdup_printf("HTTP %ld", r->status);
	json_decref(j);
	return out;
}

/* The token endpoint of a Bearer challenge: GET realm?service=&scope=,
 * with basic credentials when the user logged in (anonymous otherwise). */
int reg_fetch_token(struct reg_client *c, husk_error **err)
{
	const struct husk_auth_challenge *ch = &c->challenge;
	if (!ch->realm || strncmp(ch->realm, "http", 4) != 0)
		return husk_fail(err, 0, "%s: bearer challenge without a usable realm",
				 c->endpoint);
	const char *scope = ch->scope ? ch->scope : c->scope;
	char *svc = ch->service ? curl_easy_escape(c->curl, ch->service, 0) : NULL;
	char *sc = scope ? curl_easy_escape(c->curl, scope, 0) : NULL;
	cleanup_free char *url =
		husk_strdup_printf("%s%s%s%s%s%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?",
				   svc ? "service=" : "", svc ? svc : "",
				   sc ? (svc ? "&scope=" : "scope=") : "", sc ? sc : "");
	curl_free(svc);
	curl_free(sc);
	struct reg_req q = {
		.method = "GET", .url = url, .body_fd = -1, .out_fd = -1, .max_body = 1 << 20};
	struct reg_resp resp = {0};
	cleanup_free char *basic = c->basic ? husk_strdup_printf("Basic %s", c->basic) : NULL;
	CURLcode cc = CURLE_OK;
	int r = -1;
	for (int attempt = 0; attempt < MAX_TRIES; attempt++) {
		husk_error *e = NULL;
		r = perform(c, &q, &resp, basic, &cc, &e);
		if (r < 0 && is_transient(cc) && attempt + 1 < MAX_TRIES) {
			husk_error_free(e);
			backoff(attempt);
			continue;
		}
		if (r < 0)
			pass_error(err, e);
		break;
	}
	if (r < 0)
		return husk_error_wrap(err, "getting a token from \"%s\"", ch->realm);
	if (resp.status != 200) {
		cleanup_free char *why = reg_resp_error(&resp);
		long st = resp.status;
		reg_resp_clear(&resp);
		return husk_fail(err, 0, "getting a token from \"%s\": %s%s", ch->realm, why,
				 st == 401 && c->basic ? " (bad username or password?)" : "");
	}
	json_t *j = json_loadb(resp.body ? resp.body : "", resp.len, 0, NULL);
	reg_resp_clear(&resp);
	const char *tok = json_string_value(json_object_get(j, "token"));
	if (!tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	if (!tok) {
		json_decref(j);
		return husk_fail(err, 0, "getting a token from \"%s\": no token in the answer",
				 ch->realm);
	}
	free(c->token);
	c->token = strdup(tok);
	json_decref(j);
	return c->token ? 0 : husk_fail(err, ENOMEM, "token");
}

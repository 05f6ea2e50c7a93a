/* Shared by the registry files, not exported: one HTTP client per
 * registry (libcurl), with its scheme, TLS settings and credentials. */
#ifndef HUSK_REGISTRY_PRIVATE_H
#define HUSK_REGISTRY_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "image.h"

#define MT_OCI_INDEX	   "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST	   "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST	   "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

struct reg_client {
	char *domain;	/* as the reference names it: "127.0.0.1:5000" */
	char *endpoint; /* host[:port] to connect to */
	const char *scheme;
	bool verify;   /* verify the TLS peer */
	bool may_http; /* plain HTTP allowed when TLS is not spoken */
	bool pinged;
	char *ca_blob; /* PEM of the extra CAs, or NULL */
	size_t ca_len;
	char *basic; /* base64(user:pass), or NULL */
	char *token; /* bearer token, or NULL */
	char *scope; /* "repository:NAME:pull" */
	struct husk_auth_challenge challenge;
	void *curl; /* CURL *, reused: one connection */
	const struct husk_registry_opts *o;
};

/* One request.  The body goes to memory (resp.body) unless out_fd >= 0:
 * then a 200 or 206 body is appended to out_fd, resuming with a Range
 * request from the file's size, and a 200 after a Range restarts it. */
struct reg_req {
	const char *method; /* "GET", "HEAD", "POST", "PUT" */
	const char *url;    /* "/v2/..." or an absolute URL (a Location) */
	const char *accept;
	const char *content_type;
	const char *body; /* PUT body in memory ... */
	size_t body_len;
	int body_fd;	    /* ... or from this fd (body_len bytes), -1: none */
	int out_fd;	    /* -1: memory */
	const char *digest; /* for progress */
	long long total;    /* expected size, for progress */
	size_t max_body;    /* refuse a longer memory body; 0: 4 MiB */
};

struct reg_resp {
	long status;
	char *content_type, *location, *digest, *www_auth, *range, *link;
	char *body;
	size_t len;
};

int reg_client_new(const char *domain, const struct husk_registry_opts *o, struct reg_client **ret,
		   husk_error **err);
void reg_client_free(struct reg_client *c);
/* GET /v2/: decides the scheme (HTTPS, or HTTP where allowed) and learns
 * the registry's auth challenge. */
int reg_ping(struct reg_client *c, husk_error **err);
/* Send q, answering a 401 once with credentials or a token, retrying
 * transient failures (connection refused or reset, 429, 5xx) a few
 * times with a short backoff.  0 with resp->status set for any HTTP
 * answer; -1 when none came. */
int reg_do(struct reg_client *c, const struct reg_req *q, struct reg_resp *resp, husk_error **err);
void reg_resp_clear(struct reg_resp *r);
/* "HTTP 404: MANIFEST_UNKNOWN: manifest unknown" from an error body. */
char *reg_resp_error(const struct reg_resp *r);
void reg_debug(struct reg_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* registry-auth.c */
/* base64(user:pass) for host from the auth file; *ret NULL when the file
 * or the host is not there. */
int reg_auth_lookup(const char *auth_file, const char *host, char **ret, husk_error **err);
char *reg_base64(const char *s, size_t len);

/* registry-http.c: a token for c->challenge (bearer), with c->basic
 * when set. */
int reg_fetch_token(struct reg_client *c, husk_error **err);

#endif

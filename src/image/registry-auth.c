/* Registry credentials: WWW-Authenticate challenges, the auth file (the
 * auth.json format of Docker and Podman: {"auths":{"HOST":{"auth":
 * "base64(user:pass)"}}}, kept 0600), login and logout. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-private.h"
#include "registry-private.h"
#include "util.h"
#include "lazy.h"

char *reg_base64(const char *s, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (!out || husk_lazy_crypto(NULL) < 0) {
		free(out);
		return NULL;
	}
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
	return out;
}

/* --- challenges --- */

void husk_auth_challenge_clear(struct husk_auth_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

/* RFC 7235: scheme, then key=value pairs, values tokens or quoted strings
 * with backslash escapes, separated by commas. */
int husk_auth_challenge_parse(const char *h, struct husk_auth_challenge *ret)
{
	struct husk_auth_challenge c = {0};
	while (*h == ' ' || *h == '\t')
		h++;
	size_t n = strcspn(h, " \t");
	if (n == 0)
		return -1;
	c.scheme = strndup(h, n);
	if (!c.scheme)
		return -1;
	for (char *p = c.scheme; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	h += n;
	for (;;) {
		while (*h == ' ' || *h == '\t' || *h == ',')
			h++;
		if (!*h)
			break;
		size_t kl = strcspn(h, "= \t,");
		const char *key = h;
		h += kl;
		while (*h == ' ' || *h == '\t')
			h++;
		if (*h != '=') {
			husk_auth_challenge_clear(&c);
			return -1;
		}
		h++;
		while (*h == ' ' || *h == '\t')
			h++;
		char *val;
		if (*h == '"') {
			h++;
			val = malloc(strlen(h) + 1);
			if (!val) {
				husk_auth_challenge_clear(&c);
				return -1;
			}
			size_t i = 0;
			while (*h && *h != '"') {
				if (*h == '\\' && h[1])
					h++;
				val[i++] = *h++;
			}
			val[i] = '\0';
			if (*h != '"') {
				free(val);
				husk_auth_challenge_clear(&c);
				return -1;
			}
			h++;
		} else {
			size_t vl = strcspn(h, " \t,");
			val = strndup(h, vl);
			h += vl;
		}
		char **slot = NULL;
		if (kl == 5 && strncasecmp(key, "realm", 5) == 0)
			slot = &c.realm;
		else if (kl == 7 && strncasecmp(key, "service", 7) == 0)
			slot = &c.service;
		else if (kl == 5 && strncasecmp(key, "scope", 5) == 0)
			slot = &c.scope;
		if (slot) {
			free(*slot);
			*slot = val;
		} else {
			free(val);
		}
	}
	*ret = c;
	return 0;
}

/* --- the auth file --- */

static int read_auth_file(const char *path, json_t **ret, husk_error **err)
{
	cleanup_free char *buf = NULL;
	size_t len = 0;
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		*ret = NULL;
		return 0;
	}
	if (husk_read_file(path, &buf, &len, err) < 0)
		return husk_error_wrap(err, "auth file");
	json_error_t je;
	json_t *j = json_loadb(buf, len, 0, &je);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return husk_fail(err, 0, "auth file \"%s\": bad JSON: %s", path, je.text);
	}
	*ret = j;
	return 0;
}

/* The keys a host may have in auth.json: as is, as a URL, and Docker
 * Hub's historic names. */
static json_t *find_host(json_t *auths, const char *host, const char **ret_key)
{
	const char *hub[] = {"docker.io", "https://index.docker.io/v1/", "index.docker.io",
			     "registry-1.docker.io"};
	const char *k;
	json_t *v;
	json_object_foreach (auths, k, v) {
		const char *h = k;
		if (strncmp(h, "https://", 8) == 0)
			h += 8;
		else if (strncmp(h, "http://", 7) == 0)
			h += 7;
		size_t n = strcspn(h, "/");
		bool same = strlen(host) == n && strncmp(h, host, n) == 0;
		if (!same && strcmp(host, "docker.io") == 0)
			for (size_t i = 0; i < ARRAY_SIZE(hub); i++)
				same = same || strcmp(k, hub[i]) == 0;
		if (same) {
			if (ret_key)
				*ret_key = k;
			return v;
		}
	}
	return NULL;
}

int reg_auth_lookup(const char *auth_file, const char *host, char **ret, husk_error **err)
{
	json_t *j = NULL;
	*ret = NULL;
	if (read_auth_file(auth_file, &j, err) < 0)
		return -1;
	json_t *e = find_host(json_object_get(j, "auths"), host, NULL);
	const char *a = json_string_value(json_object_get(e, "auth"));
	if (a && *a && !(*ret = strdup(a))) {
		json_decref(j);
		return husk_fail(err, ENOMEM, "auth file");
	}
	json_decref(j);
	return 0;
}

/* Change the auth file under a lock next to it; written 0600 and
 * replaced atomically. */
static int update_auth_file(const char *path, const char *host, const char *b64, husk_error **err)
{
	cleanup_free char *copy = strdup(path);
	if (!copy)
		return husk_fail(err, ENOMEM, "auth file");
	const char *dir = dirname(copy);
	if (husk_mkdir_p(dir, 0700, err) < 0)
		return husk_error_wrap(err, "auth file \"%s\"", path);
	cleanup_free char *lock = husk_strdup_printf("%s.lock", path);
	cleanup_close int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0)
		return husk_fail(err, errno, "lock \"%s\"", lock);
	while (flock(lfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return husk_fail(err, errno, "lock \"%s\"", lock);
	json_t *j = NULL;
	if (read_auth_file(path, &j, err) < 0)
		return -1;
	if (!j)
		j = json_object();
	json_t *auths = json_object_get(j, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(j, "auths", auths);
	}
	const char *key = NULL;
	bool had = find_host(auths, host, &key) != NULL;
	if (b64) {
		if (had)
			json_object_del(auths, key);
		json_object_set_new(auths, host, json_pack("{s:s}", "auth", b64));
	} else if (!had) {
		json_decref(j);
		return husk_fail(err, 0, "not logged in to \"%s\"", host);
	} else {
		json_object_del(auths, key);
	}
	cleanup_free char *text = json_dumps(j, JSON_INDENT(1));
	json_decref(j);
	if (!text)
		return husk_fail(err, ENOMEM, "auth file");
	/* a file of passwords: 0600 whatever the umask and the old file */
	cleanup_free char *tmp = husk_strdup_printf("%s.tmp.%d", path, (int)getpid());
	cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_fail(err, errno, "write \"%s\"", tmp);
	int r = fchmod(fd, 0600) < 0 ? -errno : husk_write_all(fd, text, strlen(text));
	if (r == 0)
		r = husk_write_all(fd, "\n", 1);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return husk_fail(err, -r, "write \"%s\"", path);
	}
	return 0;
}

/* --- login / logout --- */

/* "https://host/..." or "host/..." -> "host" */
static char *host_of(const char *s)
{
	if (strncmp(s, "https://", 8) == 0)
		s += 8;
	else if (strncmp(s, "http://", 7) == 0)
		s += 7;
	return strndup(s, strcspn(s, "/"));
}

int husk_registry_login(const char *server, const struct husk_registry_opts *o, husk_error **err)
{
	cleanup_free char *host = host_of(server);
	if (!host || !*host)
		return husk_fail(err, EINVAL, "login: bad registry \"%s\"", server);
	if (!o->username || !*o->username || !o->password)
		return husk_fail(err, 0, "login to \"%s\": a username and a password are needed",
				 host);
	if (!o->auth_file)
		return husk_fail(err, 0, "login to \"%s\": no auth file", host);
	struct reg_client *c = NULL;
	if (reg_client_new(host, o, &c, err) < 0)
		return husk_error_wrap(err, "login to \"%s\"", host);
	struct reg_req q = {.method = "GET", .url = "/v2/", .body_fd = -1, .out_fd = -1};
	struct reg_resp resp = {0};
	int r = reg_ping(c, err);
	if (r == 0)
		r = reg_do(c, &q, &resp, err);
	if (r == 0 && resp.status == 401)
		r = husk_fail(err, 0, "HTTP 401: unauthorized (bad username or password?)");
	else if (r == 0 && resp.status != 200) {
		cleanup_free char *why = reg_resp_error(&resp);
		r = husk_fail(err, 0, "GET /v2/: %s", why);
	}
	reg_resp_clear(&resp);
	if (r == 0) {
		cleanup_free char *up = husk_strdup_printf("%s:%s", o->username, o->password);
		cleanup_free char *b64 = reg_base64(up, strlen(up));
		r = b64 ? update_auth_file(o->auth_file, host, b64, err)
			: husk_fail(err, ENOMEM, "login");
	}
	reg_client_free(c);
	if (r < 0)
		return husk_error_wrap(err, "login to \"%s\"", host);
	return 0;
}

int husk_registry_logout(const char *server, const char *auth_file, husk_error **err)
{
	cleanup_free char *host = host_of(server);
	if (!host || !*host)
		return husk_fail(err, EINVAL, "logout: bad registry \"%s\"", server);
	if (update_auth_file(auth_file, host, NULL, err) < 0)
		return husk_error_wrap(err, "logout from \"%s\"", host);
	return 0;
}

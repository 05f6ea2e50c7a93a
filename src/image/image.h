/* The image side of husk: a content-addressed store of blobs, images
 * (name:tag -> manifest) and layers unpacked once, each a directory that
 * an overlay mount stacks.
 *
 * Layout under the store root (default /var/lib/husk, the engine's
 * --root):
 *   blobs/sha256/<hex>        verified while written; never partial
 *   layers/<hex>/             one unpacked layer (diff id), whiteouts as
 *                             overlay whiteouts
 *   l/<short hex>             -> ../layers/<hex>: a short name per layer,
 *                             so that an overlay of hundreds of layers
 *                             fits the mount option page
 *   images.json               name:tag -> {manifest, config, layers[]},
 *                             changed under flock, replaced atomically
 * Like the core, this never prints or exits. */
#ifndef HUSK_IMAGE_H
#define HUSK_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

typedef struct json_t json_t;
struct husk_store;

struct husk_image {
	char *name;    /* "busybox:latest" */
	char *id;      /* sha256:<hex> of the image config */
	char **layers; /* absolute dirs of the unpacked layers, lowest first */
	char **links;  /* their short names under <root>/l, lowest first
			* (husk_store_find only; NULL from husk_store_list) */
	size_t n_layers;
	json_t *config;	      /* the OCI image config (owned) */
	long long created;    /* unix seconds, 0 if unknown */
	long long created_ns; /* the same in ns, with its fraction */
	long long size;	      /* bytes of the layers' blobs */
};

int husk_store_open(const char *root, struct husk_store **ret, husk_error **err);
void husk_store_close(struct husk_store *s);
const char *husk_store_root(const struct husk_store *s);

/* "busybox" made from the host's busybox-static (one layer) when not yet
 * in the store; returns 0 when it is there afterwards. */
int husk_store_ensure_busybox(struct husk_store *s, husk_error **err);

/* Load an OCI image layout (directory or tar) or a docker-archive; the
 * names of the images loaded go to *ret_names (NULL-terminated). */
int husk_store_load(struct husk_store *s, const char *path, char ***ret_names, husk_error **err);

/* Find by name[:tag] (tag defaults to latest) or by id prefix. */
int husk_store_find(struct husk_store *s, const char *ref, struct husk_image **ret,
		    husk_error **err);
int husk_store_list(struct husk_store *s, struct husk_image ***ret, size_t *ret_n,
		    husk_error **err);
void husk_image_free(struct husk_image *img);

/* Unpack one layer tar (gzip, zstd or plain) into dir, refusing entries
 * that would write outside it (absolute names, "..", through a symlink,
 * hardlinks to outside); whiteouts become overlay whiteouts. */
int husk_layer_unpack(const char *tar_path, const char *dir, husk_error **err);
/* The same, also giving the sha256 of the uncompressed tar (its diff id,
 * "sha256:<hex>", malloc'd) when ret_diff_id is not NULL. */
int husk_layer_unpack_digest(const char *tar_path, const char *dir, char **ret_diff_id,
			     husk_error **err);

/* Blobs.  want: the expected "sha256:<hex>" or NULL; a mismatch is an
 * error naming the blob and both digests, and nothing is stored.  The
 * digest stored goes to *ret_digest (malloc'd) when not NULL. */
int husk_store_put_blob(struct husk_store *s, const void *buf, size_t len, const char *want,
			char **ret_digest, husk_error **err);
int husk_store_put_blob_file(struct husk_store *s, const char *path, const char *want,
			     char **ret_digest, husk_error **err);
int husk_store_put_blob_fd(struct husk_store *s, int fd, const char *want, const char *what,
			   char **ret_digest, husk_error **err);
/* <root>/blobs/sha256/<hex> (malloc'd), NULL for a malformed digest. */
char *husk_store_blob_path(const struct husk_store *s, const char *digest);

/* What import and commit take besides their input, as Docker's flags do:
 * the name (NULL: none, a dangling image known by its id), -m, -a, and -c
 * changes in Dockerfile syntax (see husk_image_config_change). */
struct husk_commit_opts {
	const char *name;
	const char *message; /* the history entry's comment */
	const char *author;
	const char *const *changes;
	size_t n_changes;
	const char *created_by; /* the history entry's; NULL: none */
	/* commit: the container's config under Docker's names (Cmd, Env,
	 * WorkingDir...): each of these keys it has replaces the parent's
	 * before the changes apply; NULL: the parent's as it is */
	json_t *config;
};

/* A rootfs tar (plain, gzip or zstd; a pipe such as /dev/stdin is spooled
 * to a temp file of the store first) as a one-layer image.  Its id
 * ("sha256:<hex>" of the config) to *ret_id (malloc'd) when not NULL. */
int husk_store_import(struct husk_store *s, const char *tar_path, const struct husk_commit_opts *o,
		      char **ret_id, husk_error **err);

/* --- layers made from directories (commit.c, tartree.c) --- */

/* A tree as tar entries into a (a libarchive writer the caller opened),
 * from fd (an fd of a directory or of one file, O_PATH will do), by one
 * walker that never follows a symlink nor leaves the tree (tartree.c). */
struct archive;
struct husk_tar_tree_opts {
	const char *top; /* fd's own name in the stream; NULL: not written, only
			  * what is below, named from there ("etc/passwd") */
	/* fd is an overlay upper dir, written as an OCI layer: whiteouts (0:0
	 * character devices) as .wh.NAME, opaque directories with a
	 * .wh..wh..opq entry, hard links kept, security.capability kept */
	bool overlay_upper;
	/* relative names ("etc/hosts") left out when they are empty regular
	 * files: mount points for the files the engine binds over them */
	const char *const *mount_points;
};
int husk_tar_tree(struct archive *a, int fd, const struct husk_tar_tree_opts *o, husk_error **err);
/* The same as a whole tar stream written to out_fd (a pipe, a file). */
int husk_tar_tree_fd(int out_fd, int fd, const struct husk_tar_tree_opts *o, husk_error **err);

/* One change of the store made of several steps (a commit: its layer,
 * then the image; a build): the blobs and layers added until
 * husk_store_end are held from prune, and husk_store_end(s, true) takes
 * back those no image name refers to. */
int husk_store_begin(struct husk_store *s, husk_error **err);
void husk_store_end(struct husk_store *s, bool undo);

/* A layer blob made from a directory (the builder's and commit's step). */
struct husk_layer_info {
	char *digest;		/* the blob's "sha256:<hex>" */
	char *diff_id;		/* of the uncompressed tar */
	long long size;		/* the blob's bytes */
	const char *media_type; /* static */
};
void husk_layer_info_release(struct husk_layer_info *l);

/* An overlay upper dir as a new layer blob, written once through the
 * store's hashing writer, uncompressed (so its digest is its diff id, see
 * commit.c for why).  mount_points as in husk_tar_tree_opts.  A failure
 * leaves no blob. */
int husk_store_layer_from_upper(struct husk_store *s, const char *upper_dir,
				const char *const *mount_points, struct husk_layer_info *ret,
				husk_error **err);

/* A new image: parent (a name or id in the store) with layer on top, its
 * config changed by o (history, author, -c changes), a manifest, and o's
 * name (none: registered as dangling).  The id to *ret_id (malloc'd). */
int husk_store_commit(struct husk_store *s, const char *parent, const struct husk_layer_info *layer,
		      const struct husk_commit_opts *o, char **ret_id, husk_error **err);

/* --- the builder's images (src/build) --- */

/* An image that is not (yet) in images.json, for a container of a build
 * step: config (the whole image config; put as a blob, its id) and layers
 * (manifest descriptors, one per rootfs.diff_ids entry), each unpacked if
 * it is not yet.  name: what messages and records call it. */
int husk_store_image_of(struct husk_store *s, const char *name, json_t *config, json_t *layers,
			struct husk_image **ret, husk_error **err);
/* dir (an overlay upper dir in the store's filesystem, unmounted) becomes
 * layers/<diff id> by rename, instead of unpacking the blob just made of
 * it: the tar of an upper dir unpacks to the same tree (overlay whiteouts
 * and opaque dirs as they are).  Only overlay's own trusted.overlay.*
 * xattrs other than the opaque mark go.  When the layer is there already
 * dir is left to the caller. */
int husk_store_adopt_layer(struct husk_store *s, const char *diff_id, const char *dir,
			   husk_error **err);
/* config and a manifest of layers (descriptors) into the store, the image
 * registered under each of names, or under the manifest's digest when
 * there are none.  The id to *ret_id (malloc'd). */
int husk_store_put_image(struct husk_store *s, json_t *config, json_t *layers,
			 const char *const *names, size_t n_names, char **ret_id, husk_error **err);

/* The Dockerfile instructions that change only an image's config: those
 * Docker's --change takes (commit, import), which the builder applies
 * with the same function */
enum husk_config_insn {
	HUSK_CI_CMD,
	HUSK_CI_ENTRYPOINT,
	HUSK_CI_ENV,
	HUSK_CI_EXPOSE,
	HUSK_CI_LABEL,
	HUSK_CI_ONBUILD,
	HUSK_CI_STOPSIGNAL,
	HUSK_CI_USER,
	HUSK_CI_VOLUME,
	HUSK_CI_WORKDIR,
};
/* "CMD"...; and back, any case (-1: none of them) */
const char *husk_config_insn_name(enum husk_config_insn insn);
int husk_config_insn_lookup(const char *word);
/* One instruction, its arguments parsed (and in a build expanded), into
 * cfg, an image config's "config" object:
 *   CMD, ENTRYPOINT   the command: an array of strings (the exec form,
 *                     or the shell's words and the line)
 *   ENV, LABEL        {"KEY": "VALUE", ...}, applied in order
 *   EXPOSE, VOLUME    an array of words: PORT[-PORT][/tcp|udp|sctp];
 *                     absolute paths
 *   ONBUILD, STOPSIGNAL, USER, WORKDIR   a string (ONBUILD's trigger line;
 *                     WORKDIR's relative to the one before)
 * ENTRYPOINT clears an inherited CMD unless *cmd_set (a CMD came earlier
 * in the same build stage or list of changes); CMD sets it.  EINVAL
 * naming the instruction for a bad argument, and cfg is as it was. */
int husk_image_config_apply(json_t *cfg, enum husk_config_insn insn, json_t *arg, bool *cmd_set,
			    husk_error **err);
/* WORKDIR's rule: arg against the current dir cur (NULL: /), cleaned as
 * Go's filepath.Clean ("/a/../b" -> "/b"); malloc'd */
char *husk_image_workdir(const char *cur, const char *arg);

/* Docker's --change instructions applied in order to an image config's
 * "config" object: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER,
 * VOLUME, WORKDIR, STOPSIGNAL, in Dockerfile syntax (JSON or shell form).
 * EINVAL, naming the change, for anything else; config is then as it was.
 * Pure: unit-tested (changes.c). */
int husk_image_config_changes(json_t *config, const char *const *changes, size_t n,
			      husk_error **err);
/* Forget a name; its blobs and layers stay until husk_store_prune. */
int husk_store_remove(struct husk_store *s, const char *name, husk_error **err);
/* Remove every blob and unpacked layer that no image name refers to. */
int husk_store_prune(struct husk_store *s, long long *ret_freed, husk_error **err);

/* --- registries (OCI distribution spec; registry.c, registry-http.c,
 * registry-auth.c) --- */

/* A reference as users write it: "busybox", "busybox:1.36",
 * "127.0.0.1:5000/ns/img:tag", "img@sha256:<hex>".  The first component
 * is a registry when it has a '.' or a ':' or is "localhost"; otherwise
 * the registry is docker.io, where a single name gets "library/". */
struct husk_ref {
	char *domain; /* "docker.io", "127.0.0.1:5000" */
	char *path;   /* "library/busybox", "ns/img" */
	char *tag;    /* "latest" when neither tag nor digest was given */
	char *digest; /* "sha256:<hex>" or NULL */
};
int husk_ref_parse(const char *s, struct husk_ref **ret, husk_error **err);
void husk_ref_free(struct husk_ref *r);
/* "domain/path:tag" or "domain/path@digest" (malloc'd), the name a pulled
 * image gets in the store. */
char *husk_ref_string(const struct husk_ref *r);

enum husk_tls { HUSK_TLS_AUTO, HUSK_TLS_VERIFY, HUSK_TLS_INSECURE };

/* What the library tells a front end while blobs move. */
struct husk_progress {
	const char *digest; /* the blob */
	long long done;	    /* bytes so far (from the start of the blob) */
	long long total;    /* its size, from the manifest */
	bool finished;	    /* last call for this blob */
	bool skipped;	    /* already in the store / in the registry */
};

struct husk_registry_opts {
	/* AUTO: HTTPS with the system CAs; for localhost and 127.0.0.0/8
	 * plain HTTP when the registry does not speak TLS.  INSECURE: TLS
	 * unverified, or plain HTTP. */
	enum husk_tls tls;
	const char *cert_dir;  /* extra CAs: every DIR/NAME.crt (podman --cert-dir) */
	const char *auth_file; /* Docker's auth.json format; NULL: none */
	const char *username;  /* given: used instead of the auth file */
	const char *password;
	long long rate_limit; /* bytes/s for downloads, 0: none */
	void (*progress)(void *ud, const struct husk_progress *p);
	void (*debug)(void *ud, const char *msg);
	void *ud;
};

/* The tags of repository repo (a name without tag or digest) on its
 * registry, sorted (GET /v2/NAME/tags/list, each page the Link header
 * names); an empty list when it has none. */
int husk_registry_tags(const char *repo, const struct husk_registry_opts *o, char ***ret,
		       size_t *ret_n, husk_error **err);
/* Pull ref into the store: manifest (linux/amd64 from an index), config
 * and layers verified as written, then registered under the normalized
 * name (*ret_name, malloc'd) with the config digest as id (*ret_id).  On
 * failure the store is as it was: no name, no new blob.  Partial layer
 * downloads stay in <root>/tmp/ and resume with a Range request. */
int husk_registry_pull(struct husk_store *s, const char *ref, const struct husk_registry_opts *o,
		       char **ret_name, char **ret_id, husk_error **err);
/* Push image (a name or id in the store) to dest (a reference; NULL:
 * image's own name): blobs the registry lacks, then the manifest, whose
 * digest goes to *ret_digest. */
int husk_registry_push(struct husk_store *s, const char *image, const char *dest,
		       const struct husk_registry_opts *o, char **ret_digest, husk_error **err);
/* Check o->username/password against host (GET /v2/ with them), then
 * save them in o->auth_file (created 0600). */
int husk_registry_login(const char *host, const struct husk_registry_opts *o, husk_error **err);
/* Forget host in auth_file; an error if it was not there. */
int husk_registry_logout(const char *host, const char *auth_file, husk_error **err);

/* A WWW-Authenticate challenge: Bearer realm="...",service="...",scope="..."
 * or Basic realm="...".  Exposed for the unit tests. */
struct husk_auth_challenge {
	char *scheme; /* "bearer", "basic" (lower case) */
	char *realm, *service, *scope;
};
int husk_auth_challenge_parse(const char *header, struct husk_auth_challenge *ret);
void husk_auth_challenge_clear(struct husk_auth_challenge *c);

/* --- out, names, inspection (save.c, manage.c) --- */

/* "busybox" -> "busybox:latest" (malloc'd): the key a name has in the
 * store.  A name with a digest ("@sha256:...") is kept as it is. */
char *husk_image_ref_normalize(const char *ref);
/* Is name[:tag] a name an image can be given (docker's grammar: lower-case
 * path components, an optional registry host[:port], a tag of at most 128
 * of [A-Za-z0-9_.-])?  Says why not in err. */
int husk_image_name_check(const char *name, husk_error **err);
/* Give the image that source names (a name or an id prefix) the name
 * target as well; both share the manifest, and removing one name keeps
 * what the other needs.  An existing target moves to the new image. */
int husk_store_tag(struct husk_store *s, const char *source, const char *target, husk_error **err);
/* The host's architecture as Go names it: "amd64" or "arm64"
 * (platform.c). */
const char *husk_platform_arch(void);
/* Is p ("linux/amd64", "linux", "amd64", "x86_64") the host's platform,
 * the only one husk runs?  EINVAL naming the host's when not. */
int husk_platform_check(const char *p, husk_error **err);
/* The digest of the manifest a name points to (malloc'd). */
int husk_store_manifest_digest(struct husk_store *s, const char *name, char **ret,
			       husk_error **err);

enum husk_save_format {
	HUSK_SAVE_OCI_ARCHIVE,	  /* an OCI image layout as a tar */
	HUSK_SAVE_DOCKER_ARCHIVE, /* `docker save`: manifest.json, plain layer tars */
};
/* Write the images refs name (names or id prefixes) to one tar at path,
 * through a temp file next to it renamed at the end: a failure leaves no
 * file.  Blobs go out as stored; a docker-archive gets each layer as the
 * plain tar its diff id names, decompressed (and checked) when stored
 * compressed. */
int husk_store_save(struct husk_store *s, const char *const *refs, size_t n_refs,
		    enum husk_save_format format, const char *path, husk_error **err);
/* The same, written to an open fd (a pipe, stdout). */
int husk_store_save_fd(struct husk_store *s, const char *const *refs, size_t n_refs,
		       enum husk_save_format format, int fd, husk_error **err);

#endif

/* The OCI linux.seccomp profile: compiled to a BPF program with libseccomp
 * (cached on disk, since compiling a large profile costs milliseconds on
 * every container start), loaded with seccomp(2), and the notify listener
 * handed to the agent at listenerPath.
 *
 * This header shares its name with libseccomp's <seccomp.h>, and with
 * -Isrc/core on the command line (meson's core_inc) `#include <seccomp.h>`
 * finds this file first.  So it always pulls in libseccomp's header too,
 * with #include_next (which searches the include path after the directory
 * this file was found in): <seccomp.h> then means libseccomp in every file,
 * whatever the order, and "seccomp.h" gives both.  The #else branch is for
 * the re-entry when this file was found through the current directory,
 * where #include_next starts over at the head of the path and finds us. */
#ifndef HUSK_SECCOMP_H
#define HUSK_SECCOMP_H

#include_next <seccomp.h> /* libseccomp */

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

typedef struct json_t json_t;
struct husk_seccomp; /* opaque: a compiled filter */

/* Compile linux.seccomp into BPF.  Every field is validated (an unknown
 * action, op, architecture or flag is an error naming the field); unknown
 * syscall names are skipped, as runc and crun do, because a profile lists
 * syscalls that this kernel or libseccomp may not know.
 *
 * If cache_dir is not NULL the BPF is looked up there, keyed by the
 * profile's canonical JSON (or its raw bytes: husk_seccomp_compile_raw),
 * the libseccomp version and the running kernel's build (which fixes the
 * API level libseccomp finds); the cache file holds the full key, and a
 * hit requires it to match byte for byte, so a hash collision never loads
 * a wrong filter.  A miss compiles, shortens the program (bpf-shrink.c)
 * and writes the cache file (temp + rename, mode 0600); failing to write
 * it is not an error. */
/* Where compiled filters are cached: $HUSK_SECCOMP_CACHE (empty: no cache),
 * else /var/cache/husk/seccomp for root, $XDG_CACHE_HOME/husk/seccomp or
 * ~/.cache/husk/seccomp for others; NULL for none.  Not under a --root:
 * the cache outlives containers and is shared by every root (entries are
 * keyed by the profile, the kernel and libseccomp), and holds at most 64
 * filters.  malloc'd. */
char *husk_seccomp_cache_dir(void);
int husk_seccomp_compile(json_t *seccomp, const char *cache_dir, struct husk_seccomp **ret,
			 husk_error **err);
/* The same, keyed by raw: the profile's bytes as config.json has them (its
 * text then, not a JSON dump of it), as husk_seccomp_take_cached finds
 * them on a miss.  NULL: as husk_seccomp_compile. */
int husk_seccomp_compile_raw(json_t *seccomp, const char *raw, const char *cache_dir,
			     struct husk_seccomp **ret, husk_error **err);

/* Create's fast path: find linux.seccomp's bytes in config.json's text
 * (json-span.c, no parse) and look them up in the cache.  A hit (1): *ret
 * is the filter, with the flags and listener need stored beside it, and
 * the value in config is overwritten in place with null and blanks, so
 * that the parse that follows skips the ~2,000 nodes of a profile it
 * would only free; the caller must then find linux.seccomp null in what
 * it parsed (else the scan and the parser disagreed: an error).  A profile
 * whose filter is cached was validated when it was compiled, from the
 * same bytes by the same libseccomp and kernel (all in the key).  0: no
 * profile, no cache, a miss, a profile with a listener or a text the scan
 * cannot be sure of; *ret_raw is then the profile's bytes when they were
 * found (malloc'd, for husk_seccomp_compile_raw), else NULL.  -ENOMEM. */
int husk_seccomp_take_cached(char *config, const char *cache_dir, struct husk_seccomp **ret,
			     char **ret_raw);

/* Load the filter into the calling thread (all threads with
 * SECCOMP_FILTER_FLAG_TSYNC) with seccomp(SECCOMP_SET_MODE_FILTER) and the
 * profile's flags, plus SECCOMP_FILTER_FLAG_NEW_LISTENER when the profile
 * uses SCMP_ACT_NOTIFY.  *ret_listener_fd (may be NULL) gets the notify fd
 * (O_CLOEXEC) or -1.  The caller must hold CAP_SYS_ADMIN or have set
 * no_new_privs.  Allocates nothing on success: safe after fork. */
int husk_seccomp_load(struct husk_seccomp *f, int *ret_listener_fd, husk_error **err);

bool husk_seccomp_needs_listener(const struct husk_seccomp *f);
/* Does the filter let the native architecture's syscalls nrs (n of them)
 * through, whatever their arguments?  false when it may not (it looks at
 * an argument first, or returns anything but allow or log). */
bool husk_seccomp_allows(const struct husk_seccomp *f, const int *nrs, size_t n);
const char *husk_seccomp_listener_path(const struct husk_seccomp *f);	  /* NULL if unset */
const char *husk_seccomp_listener_metadata(const struct husk_seccomp *f); /* NULL if unset */

/* The compiled program (an array of struct sock_filter, *ret_len bytes) and
 * whether it came from the cache: for traces, `husk features` and tests. */
const void *husk_seccomp_bpf(const struct husk_seccomp *f, size_t *ret_len);
/* The profile as compact JSON, made for the cache key (NULL without a
 * cache); the caller owns it. */
char *husk_seccomp_take_text(struct husk_seccomp *f);
/* The same, borrowed (NULL when taken, or for f NULL) */
const char *husk_seccomp_text(const struct husk_seccomp *f);
bool husk_seccomp_from_cache(const struct husk_seccomp *f);

/* Send the listener fd to the agent as the OCI spec says, over sock, a
 * SOCK_STREAM unix socket connected to listenerPath (before pivot_root,
 * since it is a host path): state_json (the container state with
 * "fds":["seccompFd"] and "metadata", built by the caller) with the fd in
 * SCM_RIGHTS on the first byte; a state larger than the socket buffer
 * follows in further writes. */
int husk_seccomp_send_listener(int sock, int listener_fd, const char *state_json, husk_error **err);

void husk_seccomp_free(struct husk_seccomp *f);

#else /* entered again: hand over to the next seccomp.h, libseccomp's */
#include_next <seccomp.h>
#endif

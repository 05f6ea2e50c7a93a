/* The default seccomp profile, converted once per capability set.
 *
 * Converting Podman's 30 kB profile into the OCI one (parse, Docker's
 * changes, includes/excludes) took about 1 ms of every `husk run`.  The
 * result depends only on the profile's bytes, the capability set, the
 * architecture and the husk binary that converts, so it is kept as
 * compact JSON text next to the runtime's BPF cache (root's, 0700), and
 * create splices that text into config.json without parsing it.
 *
 * What a memo file holds goes into every container as its filter, so it
 * is trusted as the BPF cache is: a regular file of ours that nobody else
 * can write, whose stored key equals the whole key (the profile's text
 * included, not a hash of it) and whose text matches its hash; anything
 * else is a miss, converted anew.  Nothing a container or its creator's
 * options control (annotations, labels, the image) picks a memo: the key
 * is made here from the profile file and the capability set. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "seccomp.h"
#include "util.h"

struct memo_header {
	char magic[8];
	uint64_t key_len;
	uint64_t text_len;
	uint64_t text_hash; /* FNV-1a of the text: a torn or changed file is a miss */
};
static const char memo_magic[8] = {'H', 'U', 'S', 'K', 'S', 'C', 'M', '1'};
#define MEMO_SUFFIX ".profile"
#define MEMO_MAX    32

/* Everything the conversion depends on: a prefix, then the profile's
 * text, kept where it is (a 30 kB vasprintf of the two, and its fresh
 * pages, cost every run ~0.2 ms).  The binary's identity stands for the
 * conversion code: a rebuilt husk converts anew. */
struct memo_key {
	char prefix[1024];
	size_t prefix_len;
	const char *profile;
	size_t profile_len;
	uint64_t hash; /* FNV-1a of both: the file's name */
};

static bool memo_key_init(struct memo_key *k, const char *profile, json_t *caps)
{
	struct stat st;
	if (stat("/proc/self/exe", &st) < 0)
		return false;
	cleanup_free char *c = json_dumps(caps, JSON_COMPACT);
	if (!c)
		return false;
	int n = snprintf(k->prefix, sizeof(k->prefix),
			 "husk seccomp memo 2\nexe %ju %ju %jd.%09ld %jd\narch %s\ncaps %s\n",
			 (uintmax_t)st.st_dev, (uintmax_t)st.st_ino, (intmax_t)st.st_mtim.tv_sec,
			 st.st_mtim.tv_nsec, (intmax_t)st.st_size,
#if defined(__x86_64__)
			 "x86_64",
#elif defined(__aarch64__)
			 "aarch64",
#else
			 "other",
#endif
			 c);
	if (n < 0 || (size_t)n >= sizeof(k->prefix))
		return false;
	k->prefix_len = (size_t)n;
	k->profile = profile;
	k->profile_len = strlen(profile);
	k->hash = husk_fnv1a64(profile, k->profile_len,
			       husk_fnv1a64(k->prefix, k->prefix_len, HUSK_FNV1A_INIT));
	return true;
}

static char *memo_load(const char *path, const struct memo_key *k)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022))
		return NULL;
	struct memo_header h;
	size_t key_len = k->prefix_len + k->profile_len;
	if (husk_pread_all(fd, &h, sizeof(h), 0) < 0 || memcmp(h.magic, memo_magic, 8) != 0 ||
	    h.key_len != key_len || h.text_len == 0 || h.text_len > (64u << 20) ||
	    (uint64_t)st.st_size != sizeof(h) + h.key_len + h.text_len)
		return NULL;
	if (!husk_pread_matches(fd, sizeof(h), k->prefix, k->prefix_len) ||
	    !husk_pread_matches(fd, (off_t)(sizeof(h) + k->prefix_len), k->profile, k->profile_len))
		return NULL;
	char *text = malloc(h.text_len + 1);
	if (!text || husk_pread_all(fd, text, h.text_len, (off_t)(sizeof(h) + key_len)) < 0 ||
	    husk_fnv1a64(text, h.text_len, HUSK_FNV1A_INIT) != h.text_hash ||
	    memchr(text, '\0', h.text_len)) {
		free(text);
		return NULL;
	}
	text[h.text_len] = '\0';
	return text;
}

/* at most MEMO_MAX memos stay (one per capability set in use): the oldest
 * by mtime go after a store */
static void memo_trim(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	char names[MEMO_MAX + 1][64];
	struct timespec mt[MEMO_MAX + 1];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name), sl = strlen(MEMO_SUFFIX);
		struct stat st;
		if (l <= sl || l >= sizeof(names[0]) || strcmp(e->d_name + l - sl, MEMO_SUFFIX) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		memcpy(names[n], e->d_name, l + 1);
		mt[n++] = st.st_mtim;
		if (n <= MEMO_MAX)
			continue;
		size_t old = 0;
		for (size_t i = 1; i < n; i++)
			if (mt[i].tv_sec < mt[old].tv_sec ||
			    (mt[i].tv_sec == mt[old].tv_sec && mt[i].tv_nsec < mt[old].tv_nsec))
				old = i;
		unlinkat(dirfd(d), names[old], 0);
		n--;
		memcpy(names[old], names[n], sizeof(names[0]));
		mt[old] = mt[n];
	}
	closedir(d);
}

/* best effort, as the BPF cache: create works without it */
static void memo_store(const char *dir, const char *path, const struct memo_key *k,
		       const char *text)
{
	if (husk_mkdir_p(dir, 0700, NULL) < 0)
		return;
	size_t key_len = k->prefix_len + k->profile_len, text_len = strlen(text);
	struct memo_header h = {.key_len = key_len,
				.text_len = text_len,
				.text_hash = husk_fnv1a64(text, text_len, HUSK_FNV1A_INIT)};
	memcpy(h.magic, memo_magic, sizeof(h.magic));
	cleanup_free char *tmp = husk_strdup_printf("%s/.tmp-XXXXXX", dir);
	cleanup_close int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0)
		return;
	struct iovec iov[] = {{&h, sizeof(h)},
			      {(void *)k->prefix, k->prefix_len},
			      {(void *)k->profile, k->profile_len},
			      {(void *)text, text_len}};
	ssize_t want = (ssize_t)(sizeof(h) + key_len + text_len), w;
	do
		w = writev(fd, iov, ARRAY_SIZE(iov));
	while (w < 0 && errno == EINTR);
	if (w != want || rename(tmp, path) < 0) {
		unlink(tmp);
		return;
	}
	memo_trim(dir);
}

char *husk_engine_seccomp_default(const char *profile, json_t *caps, husk_error **err)
{
	cleanup_free char *dir = husk_seccomp_cache_dir();
	struct memo_key k;
	cleanup_free char *path = NULL;
	if (dir && memo_key_init(&k, profile, caps)) {
		path = husk_strdup_printf("%s/%016" PRIx64 MEMO_SUFFIX, dir, k.hash);
		char *text = memo_load(path, &k);
		if (text)
			return text;
	}
	json_t *sc = husk_engine_seccomp_convert(profile, true, caps, err);
	if (!sc)
		return NULL;
	char *text = json_dumps(sc, JSON_COMPACT);
	json_decref(sc);
	if (!text)
		abort();
	if (path)
		memo_store(dir, path, &k, text);
	return text;
}

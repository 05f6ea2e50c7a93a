/* The default seccomp profile, converted once per capability set.
 *
 * Converting Podman's 30 kB profile into the OCI one (parse, Docker's
 * changes, includes/excludes) took about 1 ms of every `husk run`.  The
 * result depends only on the profile file, the capability set, the
 * architecture and the husk binary that converts, so it is kept as
 * compact JSON text next to the runtime's BPF cache (root's, 0700), and
 * create splices that text into config.json without parsing it.
 *
 * The profile stands in the key by its identity, as the binary does:
 * device, inode, size, and modification and change times to the
 * nanosecond, from an fstat of the descriptor the conversion reads.
 * Reading, hashing and comparing its 30 kB on every run cost ~0.05 ms.
 * Any write moves the change time, which only the clock moves; a file
 * whose change time is less than a second old may still be being
 * written (racily new, as git says of its index), so a miss on it
 * converts and stores nothing.
 *
 * What a memo file holds goes into every container as its filter, so it
 * is trusted as the BPF cache is: a regular file of ours that nobody else
 * can write, whose stored key equals the whole key and whose text matches
 * its hash; anything else is a miss, converted anew.  Nothing a container
 * or its creator's options control (annotations, labels, the image) picks
 * a memo: the key is made here from the profile file and the capability
 * set. */
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
static const char memo_magic[8] = {'H', 'U', 'S', 'K', 'S', 'C', 'M', '2'};
#define MEMO_SUFFIX ".profile"
#define MEMO_MAX    32

/* Everything the conversion depends on, as text: the binary's identity
 * stands for the conversion code (a rebuilt husk converts anew), the
 * profile's for its text. */
struct memo_key {
	char text[1024];
	size_t len;
	uint64_t hash; /* FNV-1a of text: the file's name */
	bool racy;     /* the profile changed less than a second ago: do not store */
};

static bool memo_key_init(struct memo_key *k, int profile_fd, json_t *caps)
{
	struct stat exe, p;
	if (stat("/proc/self/exe", &exe) < 0 || fstat(profile_fd, &p) < 0 || !S_ISREG(p.st_mode))
		return false;
	cleanup_free char *c = json_dumps(caps, JSON_COMPACT);
	if (!c)
		return false;
	int n = snprintf(k->text, sizeof(k->text),
			 "husk seccomp memo 3\nexe %ju %ju %jd.%09ld %jd\n"
			 "profile %ju %ju %jd %jd.%09ld %jd.%09ld\narch %s\ncaps %s\n",
			 (uintmax_t)exe.st_dev, (uintmax_t)exe.st_ino, (intmax_t)exe.st_mtim.tv_sec,
			 exe.st_mtim.tv_nsec, (intmax_t)exe.st_size, (uintmax_t)p.st_dev,
			 (uintmax_t)p.st_ino, (intmax_t)p.st_size, (intmax_t)p.st_mtim.tv_sec,
			 p.st_mtim.tv_nsec, (intmax_t)p.st_ctim.tv_sec, p.st_ctim.tv_nsec,
#if defined(__x86_64__)
			 "x86_64",
#elif defined(__aarch64__)
			 "aarch64",
#else
			 "other",
#endif
			 c);
	if (n < 0 || (size_t)n >= sizeof(k->text))
		return false;
	k->len = (size_t)n;
	k->hash = husk_fnv1a64(k->text, k->len, HUSK_FNV1A_INIT);
	struct timespec now;
	k->racy = clock_gettime(CLOCK_REALTIME, &now) < 0 ||
		  (intmax_t)(now.tv_sec - p.st_ctim.tv_sec) * 1000000000 + now.tv_nsec -
				  p.st_ctim.tv_nsec <
			  1000000000;
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
	size_t key_len = k->len;
	if (husk_pread_all(fd, &h, sizeof(h), 0) < 0 || memcmp(h.magic, memo_magic, 8) != 0 ||
	    h.key_len != key_len || h.text_len == 0 || h.text_len > (64u << 20) ||
	    (uint64_t)st.st_size != sizeof(h) + h.key_len + h.text_len)
		return NULL;
	if (!husk_pread_matches(fd, sizeof(h), k->text, k->len))
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
	size_t key_len = k->len, text_len = strlen(text);
	struct memo_header h = {.key_len = key_len,
				.text_len = text_len,
				.text_hash = husk_fnv1a64(text, text_len, HUSK_FNV1A_INIT)};
	memcpy(h.magic, memo_magic, sizeof(h.magic));
	cleanup_free char *tmp = husk_strdup_printf("%s/.tmp-XXXXXX", dir);
	cleanup_close int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0)
		return;
	struct iovec iov[] = {{&h, sizeof(h)}, {(void *)k->text, k->len}, {(void *)text, text_len}};
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

char *husk_engine_seccomp_default(int profile_fd, json_t *caps, husk_error **err)
{
	cleanup_free char *dir = husk_seccomp_cache_dir();
	struct memo_key k;
	cleanup_free char *path = NULL;
	if (dir && memo_key_init(&k, profile_fd, caps)) {
		path = husk_strdup_printf("%s/%016" PRIx64 MEMO_SUFFIX, dir, k.hash);
		char *text = memo_load(path, &k);
		if (text)
			return text;
	}
	/* read from the descriptor that was keyed, from its start */
	cleanup_free char *profile = NULL;
	if (husk_read_fd_all(profile_fd, &profile, NULL, err) < 0) {
		husk_error_wrap(err, "the default seccomp profile");
		return NULL;
	}
	json_t *sc = husk_engine_seccomp_convert(profile, true, caps, err);
	if (!sc)
		return NULL;
	char *text = json_dumps(sc, JSON_COMPACT);
	json_decref(sc);
	if (!text)
		abort();
	if (path && !k.racy)
		memo_store(dir, path, &k, text);
	return text;
}

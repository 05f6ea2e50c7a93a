/* Small helpers shared by the core: scoped cleanup, files, numbers. */
#ifndef HUSK_UTIL_H
#define HUSK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "error.h"

static inline void freep_(void *p)
{
	free(*(void **)p);
}
static inline void closep_(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
#define cleanup_free  __attribute__((cleanup(freep_)))
#define cleanup_close __attribute__((cleanup(closep_)))
#define cleanup_err   __attribute__((cleanup(husk_error_freep)))

/* Take ownership out of a cleanup variable. */
#define steal_ptr(p)                    \
	({                              \
		__typeof__(p) t_ = (p); \
		(p) = NULL;             \
		t_;                     \
	})
#define steal_fd(fd)           \
	({                     \
		int t_ = (fd); \
		(fd) = -1;     \
		t_;            \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

char *husk_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read a whole file (at most max bytes); NUL-terminated. */
int husk_read_file(const char *path, char **ret, size_t *ret_len, husk_error **err);
int husk_read_fd_all(int fd, char **ret, size_t *ret_len, husk_error **err);
/* Write buf to path (O_WRONLY|O_TRUNC, create with mode when mode != 0). */
int husk_write_file(const char *path, const char *buf, size_t len, mode_t mode, husk_error **err);
/* Replace atomically for readers: a temp file in the same dir, then
 * rename (no fsync: for runtime state that dies with the machine). */
int husk_write_file_atomic(const char *path, const char *buf, size_t len, mode_t mode,
			   husk_error **err);
/* The same for a file that does not outlive the boot (leases, runtime
 * state), where it is there already: the temp file exchanged with it
 * (renameat2 RENAME_EXCHANGE) and the old one unlinked.  ext4 flushes a
 * file renamed over another (auto_da_alloc, so that it is not found empty
 * after a power loss): 87 us a rename on this VM's ext4 /run, 20 us the
 * exchange and unlink.  Falls back to rename where exchange is not had. */
int husk_write_file_swap(const char *path, const char *buf, size_t len, mode_t mode,
			 husk_error **err);
int husk_write_all(int fd, const void *buf, size_t len);
/* len bytes at off: 0, or -errno (-EIO when the file ends first) */
int husk_pread_all(int fd, void *buf, size_t len, off_t off);
/* The len bytes at off equal want: read in 4 kB pieces onto the stack,
 * so that a long key in a cache file is checked without a copy of it */
bool husk_pread_matches(int fd, off_t off, const void *want, size_t len);
int husk_mkdir_p(const char *path, mode_t mode, husk_error **err);
/* husk_mkdir_p, and when it made path, path marked a top of directory
 * hierarchies for ext4's inode allocator (chattr +T), best effort: for the
 * store's dirs that hold a tree each (layers, containers, build dirs,
 * volumes).  See util.c. */
int husk_mkdir_top(const char *path, mode_t mode, husk_error **err);

/* Strict number parsing: the whole string must be a number in range. */
int husk_parse_long(const char *s, long *ret);
int husk_parse_u64(const char *s, uint64_t *ret);
/* Go's strconv.ParseBool, which Docker's and BuildKit's values follow (1,
 * t, T, true, True, TRUE and the same for false): 1, 0, or -1 for neither */
int husk_parse_bool(const char *s);
/* A list of numbers as cpuset and set_mempolicy users write it: "0-3,7"
 * (ranges with dashes, commas between; spaces around items allowed).  Sets
 * the bits in mask, of nbits bits (cleared first); *ret_count gets how many
 * are set.  -EINVAL for a malformed list, -ERANGE for a number >= nbits. */
int husk_parse_id_list(const char *s, unsigned long *mask, size_t nbits, size_t *ret_count);

/* A size as users write it: "512", "64k", "64m", "1g", "2t" (binary
 * units, an optional trailing b), or "-1" for no limit. */
int husk_parse_size(const char *s, long long *ret);
/* Append s to the NULL-terminated *v of *n strings (not copied). */
void husk_strv_push(char ***v, size_t *n, char *s);
/* the first n strings of v, and v */
void husk_strv_free(char **v, size_t n);
/* the n strings of v, sorted in place, joined by sep (malloc'd; "" for
 * none): Docker's lists of labels and networks */
char *husk_strv_join_sorted(char **v, size_t n, const char *sep);

uint64_t husk_now_ns(void);

/* FNV-1a over len bytes of buf, continuing from h (HUSK_FNV1A_INIT to
 * start): a check of a file husk wrote itself, or a hash table's, never a
 * defence against an adversary. */
#define HUSK_FNV1A_INIT 0xcbf29ce484222325ull
static inline uint64_t husk_fnv1a64(const void *buf, size_t len, uint64_t h)
{
	const unsigned char *p = buf;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* the value of a lower-case hex digit, or -1 */
static inline int husk_unhex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Start time of pid (field 22 of /proc/pid/stat), 0 if gone. */
unsigned long long husk_pid_starttime(pid_t pid);
/* Is pid still the process that started at start (0: any)? */
bool husk_pid_alive(pid_t pid, unsigned long long start);

#include "banned.h"

#endif

/* libarchive, loaded on first use (see lazy.h): the functions husk calls,
 * each forwarding to the real one.  Layer unpack, save and the busybox
 * image call husk_lazy_archive() before their first archive_*(). */
#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>

#include "lazy.h"

#define ARCHIVE_FUNCTIONS(X)                     \
	X(archive_entry_atime)                   \
	X(archive_entry_atime_is_set)            \
	X(archive_entry_atime_nsec)              \
	X(archive_entry_copy_stat)               \
	X(archive_entry_filetype)                \
	X(archive_entry_free)                    \
	X(archive_entry_gid)                     \
	X(archive_entry_hardlink)                \
	X(archive_entry_mtime)                   \
	X(archive_entry_mtime_nsec)              \
	X(archive_entry_new)                     \
	X(archive_entry_pathname)                \
	X(archive_entry_perm)                    \
	X(archive_entry_rdev)                    \
	X(archive_entry_set_filetype)            \
	X(archive_entry_set_gid)                 \
	X(archive_entry_set_hardlink)            \
	X(archive_entry_set_mtime)               \
	X(archive_entry_set_nlink)               \
	X(archive_entry_set_pathname)            \
	X(archive_entry_set_perm)                \
	X(archive_entry_set_rdev)                \
	X(archive_entry_set_size)                \
	X(archive_entry_set_symlink)             \
	X(archive_entry_set_uid)                 \
	X(archive_entry_size)                    \
	X(archive_entry_symlink)                 \
	X(archive_entry_uid)                     \
	X(archive_entry_xattr_add_entry)         \
	X(archive_entry_xattr_next)              \
	X(archive_entry_xattr_reset)             \
	X(archive_errno)                         \
	X(archive_error_string)                  \
	X(archive_read_data)                     \
	X(archive_read_data_block)               \
	X(archive_read_free)                     \
	X(archive_read_new)                      \
	X(archive_read_next_header)              \
	X(archive_read_open)                     \
	X(archive_read_open_fd)                  \
	X(archive_read_open_filename)            \
	X(archive_read_support_filter_all)       \
	X(archive_read_support_format_raw)       \
	X(archive_read_support_format_gnutar)    \
	X(archive_read_support_format_tar)       \
	X(archive_set_error)                     \
	X(archive_write_add_filter_gzip)         \
	X(archive_write_close)                   \
	X(archive_write_data)                    \
	X(archive_write_free)                    \
	X(archive_write_header)                  \
	X(archive_write_new)                     \
	X(archive_write_open)                    \
	X(archive_write_open_fd)                 \
	X(archive_write_open_filename)           \
	X(archive_write_set_bytes_in_last_block) \
	X(archive_write_set_bytes_per_block)     \
	X(archive_write_set_format_pax)          \
	X(archive_write_set_format_pax_restricted)

HUSK_LAZY_LIBRARY(archive_lib, "libarchive.so.13", ARCHIVE_FUNCTIONS);
#define REAL(f) HUSK_LAZY_REAL(archive_lib, f)

int husk_lazy_archive(husk_error **err)
{
	return husk_lazy_load(&archive_lib, err);
}

/* --- struct archive_entry --- */

time_t archive_entry_atime(struct archive_entry *e)
{
	return REAL(archive_entry_atime)(e);
}

int archive_entry_atime_is_set(struct archive_entry *e)
{
	return REAL(archive_entry_atime_is_set)(e);
}

long archive_entry_atime_nsec(struct archive_entry *e)
{
	return REAL(archive_entry_atime_nsec)(e);
}

__LA_MODE_T archive_entry_filetype(struct archive_entry *e)
{
	return REAL(archive_entry_filetype)(e);
}

void archive_entry_free(struct archive_entry *e)
{
	REAL(archive_entry_free)(e);
}

la_int64_t archive_entry_gid(struct archive_entry *e)
{
	return REAL(archive_entry_gid)(e);
}

const char *archive_entry_hardlink(struct archive_entry *e)
{
	return REAL(archive_entry_hardlink)(e);
}

time_t archive_entry_mtime(struct archive_entry *e)
{
	return REAL(archive_entry_mtime)(e);
}

long archive_entry_mtime_nsec(struct archive_entry *e)
{
	return REAL(archive_entry_mtime_nsec)(e);
}

struct archive_entry *archive_entry_new(void)
{
	return REAL(archive_entry_new)();
}

const char *archive_entry_pathname(struct archive_entry *e)
{
	return REAL(archive_entry_pathname)(e);
}

__LA_MODE_T archive_entry_perm(struct archive_entry *e)
{
	return REAL(archive_entry_perm)(e);
}

dev_t archive_entry_rdev(struct archive_entry *e)
{
	return REAL(archive_entry_rdev)(e);
}

void archive_entry_set_filetype(struct archive_entry *e, unsigned int type)
{
	REAL(archive_entry_set_filetype)(e, type);
}

void archive_entry_set_gid(struct archive_entry *e, la_int64_t gid)
{
	REAL(archive_entry_set_gid)(e, gid);
}

void archive_entry_set_hardlink(struct archive_entry *e, const char *target)
{
	REAL(archive_entry_set_hardlink)(e, target);
}

void archive_entry_set_mtime(struct archive_entry *e, time_t sec, long nsec)
{
	REAL(archive_entry_set_mtime)(e, sec, nsec);
}

void archive_entry_set_pathname(struct archive_entry *e, const char *path)
{
	REAL(archive_entry_set_pathname)(e, path);
}

void archive_entry_set_perm(struct archive_entry *e, __LA_MODE_T perm)
{
	REAL(archive_entry_set_perm)(e, perm);
}

void archive_entry_set_rdev(struct archive_entry *e, dev_t rdev)
{
	REAL(archive_entry_set_rdev)(e, rdev);
}

void archive_entry_set_size(struct archive_entry *e, la_int64_t size)
{
	REAL(archive_entry_set_size)(e, size);
}

void archive_entry_set_symlink(struct archive_entry *e, const char *target)
{
	REAL(archive_entry_set_symlink)(e, target);
}

void archive_entry_set_uid(struct archive_entry *e, la_int64_t uid)
{
	REAL(archive_entry_set_uid)(e, uid);
}

la_int64_t archive_entry_size(struct archive_entry *e)
{
	return REAL(archive_entry_size)(e);
}

const char *archive_entry_symlink(struct archive_entry *e)
{
	return REAL(archive_entry_symlink)(e);
}

la_int64_t archive_entry_uid(struct archive_entry *e)
{
	return REAL(archive_entry_uid)(e);
}

void archive_entry_xattr_add_entry(struct archive_entry *e, const char *name, const void *value,
				   size_t size)
{
	REAL(archive_entry_xattr_add_entry)(e, name, value, size);
}

int archive_entry_xattr_next(struct archive_entry *e, const char **name, const void **value,
			     size_t *size)
{
	return REAL(archive_entry_xattr_next)(e, name, value, size);
}

int archive_entry_xattr_reset(struct archive_entry *e)
{
	return REAL(archive_entry_xattr_reset)(e);
}

/* --- struct archive: errors --- */

int archive_errno(struct archive *a)
{
	return REAL(archive_errno)(a);
}

const char *archive_error_string(struct archive *a)
{
	return REAL(archive_error_string)(a);
}

/* A va_list cannot be passed on to a variadic function: formatted here,
 * handed over as "%s".  libarchive keeps messages short; a longer one is
 * cut. */
void archive_set_error(struct archive *a, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	REAL(archive_set_error)(a, err, "%s", msg);
}

/* --- reading --- */

int archive_read_data_block(struct archive *a, const void **buff, size_t *size, la_int64_t *offset)
{
	return REAL(archive_read_data_block)(a, buff, size, offset);
}

int archive_read_free(struct archive *a)
{
	return REAL(archive_read_free)(a);
}

struct archive *archive_read_new(void)
{
	return REAL(archive_read_new)();
}

int archive_read_next_header(struct archive *a, struct archive_entry **e)
{
	return REAL(archive_read_next_header)(a, e);
}

int archive_read_open(struct archive *a, void *data, archive_open_callback *open_cb,
		      archive_read_callback *read_cb, archive_close_callback *close_cb)
{
	return REAL(archive_read_open)(a, data, open_cb, read_cb, close_cb);
}

int archive_read_open_filename(struct archive *a, const char *filename, size_t block_size)
{
	return REAL(archive_read_open_filename)(a, filename, block_size);
}

int archive_read_support_filter_all(struct archive *a)
{
	return REAL(archive_read_support_filter_all)(a);
}

int archive_read_support_format_raw(struct archive *a)
{
	return REAL(archive_read_support_format_raw)(a);
}

int archive_read_support_format_tar(struct archive *a)
{
	return REAL(archive_read_support_format_tar)(a);
}

/* --- writing --- */

int archive_write_add_filter_gzip(struct archive *a)
{
	return REAL(archive_write_add_filter_gzip)(a);
}

int archive_write_close(struct archive *a)
{
	return REAL(archive_write_close)(a);
}

la_ssize_t archive_write_data(struct archive *a, const void *buf, size_t len)
{
	return REAL(archive_write_data)(a, buf, len);
}

int archive_write_free(struct archive *a)
{
	return REAL(archive_write_free)(a);
}

int archive_write_header(struct archive *a, struct archive_entry *e)
{
	return REAL(archive_write_header)(a, e);
}

struct archive *archive_write_new(void)
{
	return REAL(archive_write_new)();
}

int archive_write_open(struct archive *a, void *data, archive_open_callback *open_cb,
		       archive_write_callback *write_cb, archive_close_callback *close_cb)
{
	return REAL(archive_write_open)(a, data, open_cb, write_cb, close_cb);
}

int archive_write_open_fd(struct archive *a, int fd)
{
	return REAL(archive_write_open_fd)(a, fd);
}

int archive_write_open_filename(struct archive *a, const char *file)
{
	return REAL(archive_write_open_filename)(a, file);
}

int archive_write_set_bytes_in_last_block(struct archive *a, int bytes)
{
	return REAL(archive_write_set_bytes_in_last_block)(a, bytes);
}

int archive_write_set_bytes_per_block(struct archive *a, int bytes)
{
	return REAL(archive_write_set_bytes_per_block)(a, bytes);
}

int archive_write_set_format_pax(struct archive *a)
{
	return REAL(archive_write_set_format_pax)(a);
}

int archive_write_set_format_pax_restricted(struct archive *a)
{
	return REAL(archive_write_set_format_pax_restricted)(a);
}

void archive_entry_copy_stat(struct archive_entry *e, const struct stat *st)
{
	REAL(archive_entry_copy_stat)(e, st);
}

void archive_entry_set_nlink(struct archive_entry *e, unsigned int n)
{
	REAL(archive_entry_set_nlink)(e, n);
}

la_ssize_t archive_read_data(struct archive *a, void *buf, size_t n)
{
	return REAL(archive_read_data)(a, buf, n);
}

int archive_read_open_fd(struct archive *a, int fd, size_t block_size)
{
	return REAL(archive_read_open_fd)(a, fd, block_size);
}

int archive_read_support_format_gnutar(struct archive *a)
{
	return REAL(archive_read_support_format_gnutar)(a);
}

#ifndef XCH_PRIV_UTIL_H
#define XCH_PRIV_UTIL_H

#include "common.h"

#include <sys/types.h>
#include <time.h>

/* Flags for xch_file_read. */
#define XCH_READ_NOFOLLOW 1 /* refuse a symbolic link as the last component */

/*
 * Read a whole regular file into out, refusing anything larger than max
 * bytes (XCH_ETOOBIG) and anything that is not a regular file.
 */
int xch_file_read(xch_buf *out, const char *path, size_t max, int flags);

/*
 * Durably replace path with data: a temporary file beside it (O_EXCL, mode),
 * written, fsync'd, renamed over path, and the directory fsync'd.
 */
int xch_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/*
 * Open a new temporary file "<dir>/.<base>.tmp-XXXXXX" beside final_path,
 * O_EXCL and mode 0600; its name goes to tmp_path. Used by streaming
 * writers that finish with xch_file_commit().
 */
int xch_file_open_temp(int *fd_out, xch_buf *tmp_path, const char *final_path);
/* fsync and close fd, rename tmp_path to final_path, fsync the directory. */
int xch_file_commit(int fd, const char *tmp_path, const char *final_path);

/* fsync a directory. */
int xch_fsync_dir(const char *dir);

/* Create a directory with mode 0700 (chmod'ed, whatever the umask); exists is fine if ok_exists. */
int xch_mkdir_private(const char *path, bool ok_exists);

/* Write all of len bytes to fd, retrying on EINTR and short writes. */
int xch_write_all(int fd, const void *data, size_t len);

/* Join two path components with one '/'. */
int xch_path_join(xch_buf *out, const char *a, const char *b);

/* Format t as RFC 3339 UTC, "2026-11-25T14:47:30Z". */
void xch_time_format(char out[32], time_t t);
/* Parse an RFC 3339 date-time (Z or +hh:mm offset; fractions ignored). */
int xch_time_parse(time_t *out, const char *s);
/* Parse a duration "90d", "12h", "30m", "45s", "2w" into seconds. */
int xch_duration_parse(int64_t *out, const char *s);
/* The current time; XCH_NOW (RFC 3339) overrides it, for tests of expiry. */
time_t xch_time_now(void);

/* Fill buf with cryptographically random bytes. */
int xch_random(void *buf, size_t len);

/* Is s a safe single path component for a name we create ([A-Za-z0-9._-], no leading dot)? */
bool xch_name_valid(const char *s, size_t max);


/* Is s an OpenPGP v4 fingerprint: exactly 40 hex digits? */
bool xch_fpr_valid(const char *s);
/* Upper-case a fingerprint in place. */
void xch_fpr_normalize(char *s);

/* Remove a directory tree we created (does not follow symbolic links). */
int xch_rmtree(const char *path);
#endif

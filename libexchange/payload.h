#ifndef XCH_PRIV_PAYLOAD_H
#define XCH_PRIV_PAYLOAD_H

#include "common.h"
#include "deflate.h"

#include <sys/types.h>

/*
 * The payload archive: a gzip-compressed (multi-member, see deflate.h)
 * pax-restricted tar of regular files with deterministic metadata
 * (mode 0644, uid and gid 0, no user or group names, one mtime). It is
 * what `gpg --decrypt` of payload.gpg gives, and `tar -xzf -` reads it.
 */

#define XCH_PAYLOAD_NAME_MAX 255         /* bytes in an entry name */
#define XCH_PAYLOAD_MAX_ENTRIES 1000000  /* default cap on entries a reader accepts */
#define XCH_PAYLOAD_PADDING_MAX (1024u * 1024) /* zeros accepted after the end of the archive */

/*
 * Is path acceptable as an entry name: 1 to XCH_PAYLOAD_NAME_MAX bytes
 * of valid UTF-8 without control characters (C0, DEL, C1) or
 * backslashes, relative, no empty, "." or ".." components, no trailing
 * slash. Returns 0, or XCH_EMALFORMED with the reason.
 */
int xch_payload_path_check(const char *path);

/* Writer */

typedef struct xch_payload_writer xch_payload_writer;

/*
 * Compressed bytes go to sink (on the caller's thread; see deflate.h),
 * compressed at level (-1 default) on threads workers (<= 0: one per core).
 * mtime (>= 0) is every entry's modification time.
 */
int xch_payload_writer_new(xch_payload_writer **out, xch_deflate_sink sink, void *payload,
	int level, int threads, int64_t mtime);

/* A whole entry at once. store_only: its bytes are stored, not deflated. */
int xch_payload_add(xch_payload_writer *w, const char *path, const void *data, size_t len,
	bool store_only);

/* A streamed entry of known size: begin, write its bytes in pieces, end. */
int xch_payload_begin(xch_payload_writer *w, const char *path, uint64_t size, bool store_only);
int xch_payload_write(xch_payload_writer *w, const void *data, size_t len);
/* Checks that exactly the declared size was written. */
int xch_payload_end(xch_payload_writer *w);

/* Write the end of the archive, flush the compressor and stop its threads. */
int xch_payload_finish(xch_payload_writer *w);

/*
 * Entry bytes stored rather than deflated: store_only entries, and those
 * of 64 KiB or more whose first chunk does not deflate.
 */
uint64_t xch_payload_writer_bytes_stored(const xch_payload_writer *w);

/* Uncompressed tar bytes and compressed bytes produced so far. */
uint64_t xch_payload_writer_bytes_in(const xch_payload_writer *w);
uint64_t xch_payload_writer_bytes_out(const xch_payload_writer *w);

void xch_payload_writer_free(xch_payload_writer *w);

/* Reader */

typedef struct xch_payload_reader xch_payload_reader;

/*
 * Supplies the compressed stream: points *buf at the next bytes and
 * returns their number, 0 at the end, or a negative XCH_E* code (after
 * xch_error_set). The bytes must stay valid until the next call.
 */
typedef ssize_t (*xch_payload_read_cb)(void *payload, const void **buf);

/*
 * A strict reader. max_total_bytes caps the decompressed stream (tar
 * headers, data, padding, everything inflate produces): beyond it, reads
 * fail with XCH_ETOOBIG, so a decompression bomb stops there. No I/O
 * happens until the first xch_payload_next().
 */
int xch_payload_reader_new(xch_payload_reader **out, xch_payload_read_cb read, void *payload,
	uint64_t max_total_bytes);

/* Change the cap on entries (default XCH_PAYLOAD_MAX_ENTRIES); before the first next(). */
void xch_payload_reader_set_max_entries(xch_payload_reader *r, uint64_t max_entries);

/*
 * The next entry: its path (borrowed, valid until the next call) and
 * declared size. Returns 0, 1 at the end of the archive, or a negative
 * code. Refused (XCH_EMALFORMED unless noted): names failing
 * xch_payload_path_check; anything but a regular file (links, devices,
 * fifos, directories, sparse files); duplicate names, and names equal
 * after case folding (ASCII, and Unicode simple lowercase); more entries
 * than the cap (XCH_ETOOBIG); a declared size beyond what is left of
 * max_total_bytes (XCH_ETOOBIG); corrupt or truncated gzip or tar data.
 *
 * At the end, the rest of the stream is read and checked: after the tar
 * end-of-archive blocks only zero bytes (record padding) may follow, and
 * the gzip stream must end cleanly (every member's CRC and length
 * checked). Anything else is refused: 1 means the whole input was read
 * and found sound.
 */
int xch_payload_next(xch_payload_reader *r, const char **path, uint64_t *size);

/*
 * Read the current entry's data: bytes read, 0 at the end of the entry,
 * or a negative code (XCH_EMALFORMED "truncated" if the data ends early).
 * Unread data is skipped (and counted) by the next xch_payload_next().
 */
ssize_t xch_payload_read_data(xch_payload_reader *r, void *buf, size_t len);

/* Decompressed bytes produced so far. */
uint64_t xch_payload_reader_bytes(const xch_payload_reader *r);

void xch_payload_reader_free(xch_payload_reader *r);

#endif

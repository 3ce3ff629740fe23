#ifndef XCH_PRIV_CONTAINER_H
#define XCH_PRIV_CONTAINER_H

#include "common.h"

#include <sys/types.h>

/*
 * The outer container of a bundle file: a plain ustar tar of exactly
 * three regular files, in this order:
 *
 *   payload.gpg    the signed and encrypted payload (opaque here)
 *   envelope.json  cleartext metadata, at most XCH_CONTAINER_ENVELOPE_MAX bytes
 *   envelope.sig   detached signature of envelope.json, at most XCH_CONTAINER_SIG_MAX
 *
 * then the two zero blocks that end a tar archive, padded with zeros to
 * a 10240-byte record. Headers are deterministic: mode 0644, uid and gid
 * 0, empty user and group names, the mtime the writer was given, typeflag
 * '0', magic "ustar\0" version "00". A payload of 8 GiB or more has its
 * size in GNU base-256 form (GNU tar, bsdtar and libarchive read it).
 *
 * `tar -xOf bundle.xch payload.gpg | gpg --decrypt | tar -xzf -` opens it.
 */

#define XCH_CONTAINER_PAYLOAD "payload.gpg"
#define XCH_CONTAINER_ENVELOPE "envelope.json"
#define XCH_CONTAINER_SIGNATURE "envelope.sig"
#define XCH_CONTAINER_ENVELOPE_MAX (64 * 1024)
#define XCH_CONTAINER_SIG_MAX (64 * 1024)
/* Zero bytes allowed after the end-of-archive blocks (re-blocked copies). */
#define XCH_CONTAINER_PADDING_MAX (1024 * 1024)

/* Writer */

typedef struct xch_container_writer xch_container_writer;

/*
 * Start a container at the current offset of fd, which must be seekable
 * (pwrite is used to patch the payload header later). Writes a
 * placeholder header for payload.gpg. mtime is put in every header
 * (0 for none).
 */
int xch_container_writer_new(xch_container_writer **out, int fd, int64_t mtime);

/* Append payload bytes: counted, hashed and written (buffered). */
int xch_container_write_payload(xch_container_writer *w, const void *data, size_t len);

/*
 * End the payload: pad it to 512 bytes and patch its header with the
 * final size and checksum. Gives the payload's size and SHA-256 (either
 * pointer may be NULL). An empty payload is refused.
 */
int xch_container_payload_done(xch_container_writer *w, uint64_t *size, char sha256_hex[65]);

/* Add a small member after the payload: envelope.json, then envelope.sig. */
int xch_container_add(xch_container_writer *w, const char *name, const void *data, size_t len);

/* Write the end-of-archive blocks and pad to a 10240-byte record. Does not fsync or close fd. */
int xch_container_finish(xch_container_writer *w);

/* Bytes written so far (the container's size once finished). */
uint64_t xch_container_writer_bytes(const xch_container_writer *w);

void xch_container_writer_free(xch_container_writer *w);

/* Reader */

typedef struct xch_container xch_container;

/*
 * Parse a container from offset 0 of fd (seekable; read with pread, the
 * file offset is not used). Every header is checked: checksum, magic,
 * names, order, typeflag, octal fields, sizes, zero padding, the end
 * marker and nothing but zeros after it. The envelope and signature are
 * read into memory; the payload is skipped over. Refusals are
 * XCH_EMALFORMED ("truncated" for a short file) or XCH_ETOOBIG.
 * fd stays owned by the caller and must stay open until xch_container_free.
 */
int xch_container_open(xch_container **out, int fd);

/* envelope.json and envelope.sig, borrowed. */
const xch_buf *xch_container_envelope(const xch_container *c);
const xch_buf *xch_container_signature(const xch_container *c);

uint64_t xch_container_payload_size(const xch_container *c);
/* Offset of the payload's first byte in the file. */
uint64_t xch_container_payload_offset(const xch_container *c);

/* Go back to the payload's first byte and restart its SHA-256. */
int xch_container_payload_rewind(xch_container *c);

/*
 * Read up to len payload bytes; 0 at the end of the payload region (never
 * past it). On error returns -1 with errno set (EIO for a short file) and
 * the message in xch_error_last(), so it can serve as a GPGME read
 * callback through a one-line wrapper.
 */
ssize_t xch_container_payload_read(xch_container *c, void *buf, size_t len);

/* SHA-256 of the payload, once read to the end (XCH_EINVALID before). */
int xch_container_payload_sha256(xch_container *c, char hex[65]);

void xch_container_free(xch_container *c);

/*
 * Does fd look like a container: a first header named payload.gpg with a
 * valid checksum and ustar magic? A short or different file is a plain
 * "no" (0 with *is_container false); only a read error fails.
 */
int xch_container_probe(int fd, bool *is_container);

#endif

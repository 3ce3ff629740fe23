#ifndef XCH_PRIV_LOOSEOBJ_H
#define XCH_PRIV_LOOSEOBJ_H

#include "common.h"

#include <sys/types.h>
#include <git2.h>

/*
 * A streaming reader of one loose blob of a git object store: the file
 * <gitdir>/objects/<2 hex>/<38 hex>, read in 64 KiB chunks and inflated
 * as it is consumed. Memory is a fixed few hundred KiB (the input
 * chunk and zlib's state), whatever the size of the object.
 *
 * The header must be exactly "blob <size>\0" (decimal, no leading
 * zeros). At the end of the content the reader checks that the content
 * is as long as the header says, that the zlib stream ends there, that
 * nothing follows it in the file, and that the SHA-1 of header and
 * content is the object id. A damaged or forged file is XCH_EMALFORMED
 * ("corrupt object '<id>': ..."), a failed read() XCH_EOS; either way
 * the bytes returned before the error must be discarded.
 */
typedef struct xch_loose_reader xch_loose_reader;

/*
 * Open the loose object oid under gitdir (the repository's git
 * directory, which holds objects/) and read its header; *size gets the
 * content length it declares (may be NULL).
 * XCH_ENOTFOUND if there is no such loose file (the object may be in a
 * pack: read it another way), XCH_EOS if it cannot be opened or read,
 * XCH_EMALFORMED if the header is not that of a blob.
 */
int xch_loose_open(xch_loose_reader **out, const char *gitdir, const git_oid *oid, uint64_t *size);

/*
 * Read up to len (> 0) bytes of content into buf: the number of bytes
 * read, 0 at the end (everything checked), or a negative XCH_E* code.
 * An error is sticky: every later call returns it again.
 */
ssize_t xch_loose_read(xch_loose_reader *r, void *buf, size_t len);

/* Close the file and free the reader; NULL is fine. */
void xch_loose_free(xch_loose_reader *r);

#endif

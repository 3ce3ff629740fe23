/*
 * A pack written as blobs arrive. Import stores a bundle's records and
 * attachments as one pack and its index instead of one loose object each:
 * one file to write and sync instead of tens of thousands. The pack is
 * version 2 with whole objects (no deltas) and a version 2 index, as in
 * gitformat-pack(5); git and libgit2 read it as any other.
 *
 * Streamed blobs of 1 MiB or more (attachments) are written as loose
 * objects instead, so that seal can stream them back (libgit2 reads a
 * packed object whole).
 *
 * Nothing is visible until xch_packw_commit(): the pack and the loose
 * objects grow under temporary names, and xch_packw_free() without a
 * commit removes them. Memory is a chunk buffer and 32 bytes an object,
 * whatever the objects' sizes.
 */
#ifndef XCH_PACKW_H
#define XCH_PACKW_H

#include "common.h"
#include <git2.h>
#include <jansson.h>

typedef struct xch_packw xch_packw;

/* Streamed blobs from this size on are written loose. */
#define XCH_PACKW_LOOSE_MIN (1024 * 1024)

/*
 * A writer for a pack in gitdir/objects/pack, of about expected objects
 * (the right number saves reading the pack back to hash it). An object
 * odb already holds is not written again (odb may be NULL).
 */
int xch_packw_new(xch_packw **out, const char *gitdir, git_odb *odb, uint32_t expected);

/*
 * Add a blob held in memory; *oid is its id. Adds may come from another
 * thread while a blob of XCH_PACKW_LOOSE_MIN or more streams, not while a
 * smaller one does.
 */
int xch_packw_add(xch_packw *pw, git_oid *oid, const void *data, size_t len);

/*
 * Add a JSON document (the writer takes this reference) to be stored in
 * canonical form (xch_json_canonical): the text is made, hashed and
 * written on the writer's thread; with check, not when the store has it
 * already (a lookup each: for documents likely to be there). weight is
 * about the memory it holds (the queue holds 2 MiB). *ticket names it for
 * xch_packw_ticket_oid(), which waits for it and gives its id.
 */
int xch_packw_add_json(xch_packw *pw, json_t *doc, size_t weight, bool check, size_t *ticket);

/* As xch_packw_add_json, for a text in canonical form already (the writer takes text, a malloc'd block). */
int xch_packw_add_text(xch_packw *pw, char *text, size_t len, bool check, size_t *ticket);
int xch_packw_ticket_oid(xch_packw *pw, size_t ticket, git_oid *oid);

/*
 * Stream a blob of exactly size bytes: begin, write as it comes, end. A
 * blob of 64 KiB or more that looks incompressible from its first chunk is
 * stored, not deflated.
 * abort drops the blob begun.
 */
int xch_packw_begin(xch_packw *pw, uint64_t size);
int xch_packw_write(xch_packw *pw, const void *data, size_t len);
int xch_packw_end(xch_packw *pw, git_oid *oid);
void xch_packw_abort(xch_packw *pw);

/* Objects written so far, packed or loose. */
size_t xch_packw_count(const xch_packw *pw);

/*
 * Move the loose objects into place, then finish the pack and its index,
 * sync both and move them to their final names (pack-<sha1>.pack, then
 * .idx: the index makes the pack visible), then sync the directory. A
 * pack without objects is not written at all.
 */
int xch_packw_commit(xch_packw *pw);

/* Free the writer; an uncommitted pack is removed. */
void xch_packw_free(xch_packw *pw);

#endif

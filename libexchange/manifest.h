#ifndef XCH_PRIV_MANIFEST_H
#define XCH_PRIV_MANIFEST_H

#include "common.h"
#include "json.h"
#include "sha256.h"

/*
 * A bundle's manifest with its entries apart. A manifest lists every
 * record and attachment; as a jansson tree an entry costs about 1 KiB, so
 * seal writes the entries' text one by one and verify reads them one by
 * one into these, and the tree holds the rest (its "entries" empty).
 */
typedef struct {
	char *path;     /* "records/ID.json" or "attachments/SHA256" */
	uint64_t size;
	unsigned char sha256[32];
	unsigned char base[32]; /* when has_base */
	bool has_base, unchanged;
} xch_manifest_entry;

typedef struct {
	xch_manifest_entry *v;
	size_t n, alloc;
} xch_manifest_entries;

/* An entry of a manifest read, checked against its schema already. */
int xch_manifest_entries_add_json(xch_manifest_entries *l, const json_t *entry);
void xch_manifest_entries_dispose(xch_manifest_entries *l);

/*
 * The canonical text of a manifest m whose "entries" is an empty array
 * and whose entries are apart: head, then each entry's text in order,
 * then tail. Equal, byte for byte, to xch_json_canonical() of the
 * manifest with its entries in.
 */
typedef struct {
	xch_buf head, tail;
} xch_manifest_text;

int xch_manifest_text_split(xch_manifest_text *t, const json_t *m);
void xch_manifest_text_dispose(xch_manifest_text *t);

/*
 * Append the text of entry e, the i-th of n, separators included.
 * Refuses (XCH_EINVALID) a path or hash a manifest may not hold.
 */
int xch_manifest_entry_text(xch_buf *out, const xch_manifest_entry *e, size_t i, size_t n);

/* The whole canonical text of m (entries empty) with entries e[0..n), into out. */
int xch_manifest_text_full(xch_buf *out, const json_t *m, const xch_manifest_entry *e, size_t n);

#endif

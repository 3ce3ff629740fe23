#ifndef XCH_PRIV_BUNDLE_H
#define XCH_PRIV_BUNDLE_H

#include "common.h"
#include "json.h"
#include "manifest.h"

/*
 * Where verified payload entries go as they are read. Nothing a sink
 * receives is trusted until the verification that feeds it returns 0.
 */
typedef struct {
	/*
	 * the parsed, schema-checked manifest, before any entry (may be NULL);
	 * its "entries" is empty, they are in entries (valid until the
	 * verification returns)
	 */
	int (*manifest)(void *payload, const json_t *manifest, const xch_manifest_entries *entries);
	int (*begin)(void *payload, const char *path, uint64_t size);
	int (*write)(void *payload, const void *data, size_t len);
	/* ok: the entry was read whole and matched its size and hash */
	int (*end)(void *payload, bool ok);
	void *payload;
} xch_entry_sink;

/*
 * Verify a bundle completely, feeding its entries to sink. When the sink
 * takes the manifest, the info does not keep it as text.
 */
int xch_bundle_verify_into(xch_bundle_info **out, xch_store *s, const char *path, const xch_entry_sink *sink);

#endif

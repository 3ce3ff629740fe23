/*
 * Field-level three-way merge of JSON records (private).
 *
 * Pure functions on jansson values: no I/O, inputs never modified.
 */
#ifndef XCH_PRIV_MERGE_H
#define XCH_PRIV_MERGE_H

#include "common.h"

#include <jansson.h>

/* Paths (JSON pointers, RFC 6901) where both sides changed the same thing differently. */
typedef struct {
	char **pointers; /* owned */
	size_t n;
} xch_merge_conflicts;

#define XCH_MERGE_CONFLICTS_INIT { NULL, 0 }

/* Free every pointer and empty the list (NULL-safe). */
void xch_merge_conflicts_clear(xch_merge_conflicts *c);

/*
 * Three-way merge of base, ours and theirs (all borrowed); any may be NULL,
 * meaning absent (for a whole record: it does not exist or was deleted).
 * *out receives a NEW reference to the merged value (sharing nothing with
 * the inputs), or NULL when the merged result is "absent".
 *
 * Rules, applied at every location (equality is json_equal, and "absent"
 * is a value equal only to itself):
 *  1. ours == theirs: ours. ours == base: theirs. theirs == base: ours.
 *  2. ours and theirs both objects, base an object or absent (= {}): merge
 *     key by key over the union of keys (ours' key order, then keys new in
 *     theirs); a key missing on one side is "absent" there.
 *  3. ours and theirs both arrays, base an array or absent, and every
 *     element of each is an object with a string "id" unique within its
 *     array: merge element by element by id. Result order: ours' order,
 *     then elements only in theirs in theirs' order. The pointer of an
 *     element is /path/<index>, the index being the element's index in
 *     OURS when ours has it, else its index in THEIRS; so a conflict
 *     pointer resolves against ours, or against theirs for an element
 *     ours removed.
 *  4. Otherwise: a conflict at this location.
 * Every conflicting location is appended to conflicts ("" for the root);
 * there the result keeps OURS (possibly absent), so the caller can keep
 * base/ours/theirs aside. Returns 0, XCH_EINVALID for a NULL out or
 * conflicts, XCH_ETOOBIG for nesting beyond XCH_MERGE_MAX_DEPTH, or
 * XCH_ERROR when out of memory; on error *out is NULL and conflicts is as
 * it was before the call.
 */
int xch_merge_json(json_t **out, const json_t *base, const json_t *ours, const json_t *theirs,
		xch_merge_conflicts *conflicts);

/* Nesting the merge descends at most (inputs from xch_json_parse nest <= 64). */
#define XCH_MERGE_MAX_DEPTH 256

/* NULL-safe json_equal: both NULL -> true, one NULL -> false. */
bool xch_json_same(const json_t *a, const json_t *b);

#endif

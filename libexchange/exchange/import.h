/*
 * libexchange: importing bundles, conflicts and their resolution.
 */
#ifndef XCH_IMPORT_H
#define XCH_IMPORT_H

#include "common.h"
#include "store.h"

XCH_BEGIN_DECL

typedef struct {
	unsigned int version;
	int allow_gap;   /* accept a bundle whose sequence skips some */
} xch_import_options;

#define XCH_IMPORT_OPTIONS_VERSION 1
#define XCH_IMPORT_OPTIONS_INIT { XCH_IMPORT_OPTIONS_VERSION, 0 }

typedef struct {
	char bundle_id[33];
	char partner[65];
	uint64_t sequence;
	int already;       /* imported before: nothing was done */
	int receipt;       /* the file was a receipt */
	size_t added, changed, deleted, unchanged, conflicts;
	size_t acknowledged; /* receipts: bundles newly acknowledged */
} xch_import_result;

/*
 * Verify the bundle at path completely (as xch_bundle_verify), check its
 * sequence against what this partner's channel has delivered (an old one is
 * XCH_EREPLAY, a skipped one XCH_EGAP unless allow_gap), then in one commit:
 * record it on the partner's own line (refs/xch/partners/NAME) and merge
 * it into our records field by field. Importing a bundle again is a no-op
 * (out->already). A receipt is recorded as our partner's acknowledgement.
 */
XCH_EXTERN(int) xch_import(xch_import_result *out, xch_store *s, const char *path, const xch_import_options *opts);

/* A record in conflict: both versions are kept until it is resolved. */
typedef struct {
	const char *id;
	const char *type;
	const char *partner;
	const char *bundle;
	const char *const *pointers; /* where the versions disagree */
	size_t npointers;
	const char *base;   /* canonical JSON of each version, or NULL if absent */
	const char *ours;
	const char *theirs;
} xch_conflict;

typedef int (*xch_conflict_cb)(const xch_conflict *c, void *payload);
XCH_EXTERN(int) xch_conflicts_foreach(xch_store *s, xch_conflict_cb cb, void *payload);

typedef enum {
	XCH_RESOLVE_OURS = 1,
	XCH_RESOLVE_THEIRS = 2,
	XCH_RESOLVE_FILE = 3
} xch_resolve_how;

/* Resolve a conflict with our version, theirs, or the record in file. */
XCH_EXTERN(int) xch_conflict_resolve(xch_store *s, const char *id, xch_resolve_how how, const char *file);

/* Where the exchange with a partner stands. */
typedef struct {
	uint64_t sent;          /* the last sequence we sealed to it alone */
	uint64_t acknowledged;  /* the last of those it acknowledged */
	uint64_t received;      /* the last sequence it delivered to us */
	int receipt_pending;    /* we owe it a receipt */
	size_t pending;         /* records and deletions not yet acknowledged */
} xch_partner_status;

XCH_EXTERN(int) xch_partner_status_get(xch_partner_status *out, xch_store *s, const char *name);

XCH_END_DECL

#endif

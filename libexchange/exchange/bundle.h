/*
 * libexchange: sealed bundles (see xch-bundle(5)).
 */
#ifndef XCH_BUNDLE_H
#define XCH_BUNDLE_H

#include "common.h"
#include "buf.h"
#include "store.h"

XCH_BEGIN_DECL

/* Called for each record considered by a seal: included or left out, and why. */
typedef void (*xch_seal_notify_cb)(const char *id, const char *type, int included,
                                   const char *reason, void *payload);

typedef struct {
	unsigned int version;
	const char *const *to;     /* partner names */
	size_t nto;
	const char *output;        /* the bundle file; NULL: bundle-<id>.xch here */
	const char *type;          /* only records of this type, or NULL */
	const char *const *ids;    /* only these records (then a refusal is an error), or NULL */
	size_t nids;
	const char *expires;       /* how long it is valid: "30d", "12h", "2w"...; NULL: 30 days */
	int armor;                 /* ASCII-armor the payload */
	int dry_run;               /* decide and report, write nothing */
	xch_seal_notify_cb notify;
	void *notify_payload;
	int full;                  /* everything, even what the partner acknowledged */
	int receipt;               /* a receipt for to[0] instead of records */
	int only_new;              /* leave out what an earlier bundle to them carried, acknowledged
	                              or not (sync and export: that bundle is on its way) */
} xch_seal_options;

#define XCH_SEAL_OPTIONS_VERSION 1
#define XCH_SEAL_OPTIONS_INIT { XCH_SEAL_OPTIONS_VERSION, NULL, 0, NULL, NULL, NULL, 0, NULL, 0, 0, NULL, NULL, 0, 0, 0 }

typedef struct {
	char bundle_id[33];
	uint64_t sequence;
	size_t records, attachments, tombstones, left_out;
	int incremental;           /* a delta since the acknowledged state */
	int nothing;               /* incremental, and nothing changed: no file was written */
	uint64_t size;             /* bytes of the bundle file */
	xch_buf path;              /* where it was written */
} xch_seal_result;

#define XCH_SEAL_RESULT_INIT { "", 0, 0, 0, 0, 0, 0, 0, 0, XCH_BUF_INIT }

/*
 * Seal the selected records for the partners of opts->to. Without full,
 * ids or a type, only what changed since the state the partners last
 * acknowledged goes (an incremental bundle); with no receipt from them yet,
 * everything. With receipt, seal a receipt for to[0]: the bundles received
 * from it on each channel.
 */
XCH_EXTERN(int) xch_bundle_seal(xch_seal_result *out, xch_store *s, const xch_seal_options *opts);
XCH_EXTERN(void) xch_seal_result_dispose(xch_seal_result *r);

typedef struct {
	unsigned int version;
	int envelope_only;         /* check the signed envelope only: no secret key needed */
	const char *extract_to;    /* open: a new directory to extract into, or NULL */
} xch_verify_options;

#define XCH_VERIFY_OPTIONS_VERSION 1
#define XCH_VERIFY_OPTIONS_INIT { XCH_VERIFY_OPTIONS_VERSION, 0, NULL }

/* What a verification learnt. */
typedef struct xch_bundle_info xch_bundle_info;

/*
 * Verify the bundle at path against the store's pinned partners and identity.
 * 0 only if everything holds; otherwise one error code per class of refusal
 * (XCH_EBADSIG, XCH_EUNTRUSTED, XCH_EKEYEXPIRED, XCH_EKEYREVOKED, XCH_ENOTFORUS,
 * XCH_ETAMPERED, XCH_EEXPIRED, XCH_EREPLAY, XCH_EMALFORMED, XCH_ETOOBIG) and a
 * one-line message. With extract_to, records and attachments are written
 * under that new directory, which exists only if everything held.
 * *out (if not NULL) receives what was learnt, even on failure when the
 * envelope could be read.
 */
XCH_EXTERN(int) xch_bundle_verify(xch_bundle_info **out, xch_store *s, const char *path,
                                  const xch_verify_options *opts);

/*
 * Read the envelope (and the manifest, if we can decrypt) without judging:
 * for xch inspect. Signature problems are noted, not fatal.
 */
XCH_EXTERN(int) xch_bundle_inspect(xch_bundle_info **out, xch_store *s, const char *path);

/* The envelope and manifest as canonical JSON (borrowed; manifest NULL if not read). */
XCH_EXTERN(const char *) xch_bundle_info_envelope(const xch_bundle_info *i);
XCH_EXTERN(const char *) xch_bundle_info_manifest(const xch_bundle_info *i);
/* The partner whose pinned key signed the envelope, or NULL. */
XCH_EXTERN(const char *) xch_bundle_info_sender(const xch_bundle_info *i);
/* A note on the signature for inspect ("good signature by partner 'agency'", ...). */
XCH_EXTERN(const char *) xch_bundle_info_signature(const xch_bundle_info *i);
/* inspect: why the payload could not be read (not addressed to us, tampered...), or NULL. */
XCH_EXTERN(const char *) xch_bundle_info_problem(const xch_bundle_info *i);
XCH_EXTERN(void) xch_bundle_info_free(xch_bundle_info *i);

XCH_END_DECL

#endif

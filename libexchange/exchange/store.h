/*
 * libexchange: the record store, a git repository.
 */
#ifndef XCH_STORE_H
#define XCH_STORE_H

#include "common.h"
#include "buf.h"
#include "record.h"

XCH_BEGIN_DECL

typedef struct xch_store xch_store;

/* The name of the store's directory inside its top directory. */
#define XCH_STORE_DIRNAME ".xch"

typedef struct {
	unsigned int version;
	const char *identity; /* our signing key's fingerprint, or NULL */
} xch_store_init_options;

#define XCH_STORE_INIT_OPTIONS_VERSION 1
#define XCH_STORE_INIT_OPTIONS_INIT { XCH_STORE_INIT_OPTIONS_VERSION, NULL }

/* Create a store in path (created if missing): path/.xch, private to its owner. */
XCH_EXTERN(int) xch_store_init(xch_store **out, const char *path, const xch_store_init_options *opts);

/* Open the store whose top directory is path. */
XCH_EXTERN(int) xch_store_open(xch_store **out, const char *path);

/* Find the top directory of the store containing start, looking upward like git. */
XCH_EXTERN(int) xch_store_discover(xch_buf *out, const char *start);

XCH_EXTERN(const char *) xch_store_path(const xch_store *s);

/* Our signing key's fingerprint (XCH_ENOTFOUND if none is set). */
XCH_EXTERN(int) xch_store_identity(xch_buf *out, xch_store *s);
XCH_EXTERN(int) xch_store_set_identity(xch_store *s, const char *fpr);

/* Get a record by id; XCH_ENOTFOUND if there is none (or it was deleted). */
XCH_EXTERN(int) xch_store_get(xch_record **out, xch_store *s, const char *id);

/* Call cb for every record (of type, if not NULL), in path order. A non-zero return stops and is returned. */
typedef int (*xch_record_cb)(const xch_record *r, void *payload);
XCH_EXTERN(int) xch_store_foreach(xch_store *s, const char *type, xch_record_cb cb, void *payload);

/* Counts of live records by type and of tombstones. */
typedef struct {
	size_t assessments;
	size_t advisories;
	size_t tombstones;
	size_t attachments;
	size_t commits_hint; /* 0: not counted */
} xch_store_counts;
XCH_EXTERN(int) xch_store_counts_get(xch_store_counts *out, xch_store *s);

/* One entry of history. */
typedef struct {
	const char *commit;   /* hex id */
	const char *author;   /* "Name <email>" */
	int64_t time;         /* seconds since the epoch */
	const char *message;  /* full message */
	const char *action;   /* with an id filter: "added", "changed", "deleted" */
} xch_log_entry;
typedef int (*xch_log_cb)(const xch_log_entry *e, void *payload);

/* Walk history from the newest commit; with id, only the commits that changed that record. */
XCH_EXTERN(int) xch_store_log(xch_store *s, const char *id, xch_log_cb cb, void *payload);

/*
 * A change: records put, records removed (as tombstones) and attachments
 * added, committed all together or not at all. Creating a change takes the
 * store's write lock (waiting up to XCH_LOCK_TIMEOUT seconds, default 3);
 * freeing it releases the lock.
 */
typedef struct xch_change xch_change;

XCH_EXTERN(int) xch_change_new(xch_change **out, xch_store *s);
/* Validate and stage a record (XCH_ESCHEMA if invalid, XCH_EEXISTS if its id differs only by case from another). */
XCH_EXTERN(int) xch_change_put(xch_change *c, const xch_record *r);
/* Store a file as an attachment, streaming; its SHA-256 goes to sha_out if not NULL. */
XCH_EXTERN(int) xch_change_attach_file(xch_change *c, const char *path, xch_buf *sha_out);
/* Stage the deletion of a record: removes it and records a tombstone. */
XCH_EXTERN(int) xch_change_remove(xch_change *c, const char *id);
/*
 * Commit: checks every staged record's attachments are present with the
 * declared size and hash, writes one commit and moves the branch. Returns 0
 * and the commit id in commit_out (if not NULL), or 1 if nothing changed.
 */
XCH_EXTERN(int) xch_change_commit(xch_change *c, const char *message, xch_buf *commit_out);
XCH_EXTERN(void) xch_change_free(xch_change *c);

XCH_EXTERN(void) xch_store_free(xch_store *s);

XCH_END_DECL

#endif

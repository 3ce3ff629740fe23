#ifndef XCH_PRIV_STORE_H
#define XCH_PRIV_STORE_H

#include "common.h"
#include "json.h"

#include <git2.h>

struct xch_store {
	git_repository *repo;
	char *top;               /* the store's top directory */
	char *gitdir;            /* top/.xch */
	xch_schema_set *schemas; /* built-in schemas, loaded on first use */
};

/* The built-in schema set of the store, loaded on first use (borrowed). */
int xch_store_schemas(xch_schema_set **out, xch_store *s);

/* Tree paths of a record, a tombstone and an attachment. */
int xch_store_record_path(xch_buf *out, const char *type, const char *id);
int xch_store_tombstone_path(xch_buf *out, const char *id);
int xch_store_attachment_path(xch_buf *out, const char *sha256);

/* The tree of the main branch (new reference; NULL tree for an empty store is an error). */
int xch_store_head_tree(git_tree **out, git_commit **commit_out, xch_store *s);

/*
 * Bulk writes: between begin and end, git objects are written without an
 * fsync each; end makes them all durable with one syncfs() and turns
 * per-file fsync back on, so commits and refs written after it are synced
 * as usual. (libgit2's fsync switch is process-wide: a change is one
 * writer at a time in a process, under the store lock.)
 */
void xch_store_fsync_batch_begin(void);
int xch_store_fsync_batch_end(xch_store *s);

/*
 * Call cb with the parsed JSON (borrowed) of every file dir/<shard>/<name>
 * of tree (the main branch's when NULL): tombstones, conflicts. A missing
 * dir is empty; an unreadable or malformed file is an error. A non-zero
 * return of cb stops the walk and is returned.
 */
typedef int (*xch_store_json_cb)(json_t *doc, const char *name, void *payload);
int xch_store_walk_json(xch_store *s, git_tree *tree, const char *dir, xch_store_json_cb cb, void *payload);

/* Take and release the store's write lock (flock on .xch/lock). */
int xch_store_lock(int *fd_out, xch_store *s);
void xch_store_unlock(int fd);

/* The commit signature for changes made here. */
int xch_store_signature(git_signature **out, xch_store *s);

/* Stage path = data (a blob), or the removal of path when data is NULL. */
int xch_change_put_file(xch_change *c, const char *path, const void *data, size_t len);

/* Stage path = an existing blob. */
int xch_change_put_oid(xch_change *c, const char *path, const git_oid *oid);
/* The blob at path as the change stands (staged, else the base); false if none. */
bool xch_change_lookup(xch_change *c, const char *path, git_oid *out);
/* Another parent for the commit (a merge); the branch tip stays the first. */
int xch_change_add_parent(xch_change *c, const git_oid *oid);
/* The commit and tree the change started from (borrowed). */
const git_oid *xch_change_base_id(xch_change *c);
git_tree *xch_change_base_tree(xch_change *c);

#define XCH_STORE_BRANCH "refs/heads/main"

#endif

/*
 * libexchange: carrying bundles and receipts, by directory (a USB stick)
 * or over a git remote.
 */
#ifndef XCH_TRANSPORT_H
#define XCH_TRANSPORT_H

#include "common.h"
#include "store.h"

XCH_BEGIN_DECL

/*
 * Told of each file a transport handles: error is 0 when it went well,
 * else the refusal's code (the message is in xch_error_last()); what says
 * what happened ("imported", "sealed", "not for us", ...).
 */
typedef void (*xch_transport_cb)(const char *file, int error, const char *what, void *payload);

typedef struct {
	unsigned int version;
	const char *const *partners; /* only these partners, or all when NULL */
	size_t npartners;
	int allow_gap;               /* importing: accept skipped sequences */
	xch_transport_cb notify;
	void *notify_payload;
} xch_transport_options;

#define XCH_TRANSPORT_OPTIONS_VERSION 1
#define XCH_TRANSPORT_OPTIONS_INIT { XCH_TRANSPORT_OPTIONS_VERSION, NULL, 0, 0, NULL, NULL }

typedef struct {
	size_t sealed, receipts;     /* written */
	size_t imported, already, skipped, refused;
} xch_transport_result;

/*
 * Write into dir every pending outgoing bundle (what each partner has not
 * acknowledged and we have not already sent since) and every receipt we
 * owe, each through a temporary name, fsync and rename; then index.json.
 */
XCH_EXTERN(int) xch_export(xch_transport_result *out, xch_store *s, const char *dir, const xch_transport_options *opts);

/*
 * Import every bundle and receipt in dir addressed to us, in sequence order
 * per sender and channel; files for others are skipped, a refused file does
 * not stop the rest. Returns the first refusal's code, or 0.
 */
XCH_EXTERN(int) xch_import_dir(xch_transport_result *out, xch_store *s, const char *dir, const xch_transport_options *opts);

XCH_END_DECL


XCH_BEGIN_DECL

/*
 * Git channels. A remote is any URL libgit2 reaches (a path, file://,
 * git://, ssh://, https://) of a plain git repository that only ever holds
 * bundles and receipts: branch main, files to/<RECIPIENT-FPR>/<name>.xch.
 * Authentication follows git: ssh-agent for ssh, 'git credential fill'
 * (credential helpers) for http; no secret is stored.
 */
XCH_EXTERN(int) xch_remote_add(xch_store *s, const char *name, const char *url);
/*
 * Tie partners to a remote: xch sync seals only for them (a partner reached
 * by USB must not have its bundles pushed to a git host). Without any, a
 * remote serves every partner.
 */
XCH_EXTERN(int) xch_remote_set_partners(xch_store *s, const char *name, const char *const *partners, size_t n);
XCH_EXTERN(int) xch_remote_remove(xch_store *s, const char *name);
/* partners: comma-separated names tied to the remote, or NULL for all. */
typedef int (*xch_remote_cb)(const char *name, const char *url, const char *partners, void *payload);
XCH_EXTERN(int) xch_remote_foreach(xch_store *s, xch_remote_cb cb, void *payload);

/* What a sync does: fetch and import (pull), seal and push (push), or both. */
#define XCH_SYNC_PULL 1
#define XCH_SYNC_PUSH 2
#define XCH_SYNC_BOTH 3

/*
 * Fetch the remote, import every new bundle and receipt addressed to us in
 * sequence order, seal what partners are owed and our receipts, and push
 * them. A push that loses a race is fetched, rebuilt and retried; an
 * interrupted sync is simply run again. name NULL: the only remote.
 */
XCH_EXTERN(int) xch_sync(xch_transport_result *out, xch_store *s, const char *name, int what,
                         const xch_transport_options *opts);

XCH_END_DECL

#endif

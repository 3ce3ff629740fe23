/*
 * libexchange: partners, pinned by OpenPGP fingerprint, and our identity.
 */
#ifndef XCH_PARTNER_H
#define XCH_PARTNER_H

#include "common.h"
#include "buf.h"
#include "store.h"

XCH_BEGIN_DECL

typedef struct xch_partner xch_partner;

/*
 * Pin a key for partner name, creating the partner if new. key is a
 * fingerprint of a key in the keyring (GNUPGHOME) or a file to import.
 * An expired or revoked key, or one that cannot both sign and encrypt, is
 * refused. A second key for the same partner becomes its current key (key
 * rotation); earlier keys stay pinned for verifying what they signed.
 * The pinned fingerprint goes to fpr_out (if not NULL), to be confirmed out of band.
 */
XCH_EXTERN(int) xch_partner_add(xch_store *s, const char *name, const char *key, xch_buf *fpr_out);
XCH_EXTERN(int) xch_partner_remove(xch_store *s, const char *name);
XCH_EXTERN(int) xch_partner_lookup(xch_partner **out, xch_store *s, const char *name);
/* The partner that pinned fpr (any of its keys); XCH_EUNTRUSTED if none. */
XCH_EXTERN(int) xch_partner_by_key(xch_partner **out, xch_store *s, const char *fpr);

typedef int (*xch_partner_cb)(const xch_partner *p, void *payload);
XCH_EXTERN(int) xch_partner_foreach(xch_store *s, xch_partner_cb cb, void *payload);

XCH_EXTERN(const char *) xch_partner_name(const xch_partner *p);
/* Pinned keys, newest first: key 0 is the current one. */
XCH_EXTERN(size_t) xch_partner_key_count(const xch_partner *p);
XCH_EXTERN(const char *) xch_partner_key(const xch_partner *p, size_t i);
/* When key i was pinned (RFC 3339). */
XCH_EXTERN(const char *) xch_partner_key_added(const xch_partner *p, size_t i);
XCH_EXTERN(void) xch_partner_free(xch_partner *p);

/*
 * Set our identity: the fingerprint of a key in the keyring whose secret
 * part is here and that can sign and decrypt now.
 */
XCH_EXTERN(int) xch_identity_set(xch_store *s, const char *fpr);

/* Is partner name valid ([A-Za-z0-9][A-Za-z0-9._-]{0,63})? */
XCH_EXTERN(int) xch_partner_name_valid(const char *name);

XCH_END_DECL

#endif

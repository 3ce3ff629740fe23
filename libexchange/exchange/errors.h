/*
 * libexchange: error codes and the last error of the calling thread.
 *
 * Every function that can fail returns 0 or one of the negative codes
 * below, and leaves a one-line message for xch_error_last().
 */
#ifndef XCH_ERRORS_H
#define XCH_ERRORS_H

#include "common.h"

XCH_BEGIN_DECL

typedef enum {
	XCH_OK = 0,
	XCH_ERROR = -1,        /* generic failure: see the message */
	XCH_ENOTFOUND = -2,    /* no such store, record, partner, key, file */
	XCH_EEXISTS = -3,      /* already exists */
	XCH_EINVALID = -4,     /* invalid argument or usage */
	XCH_EOS = -5,          /* an operating system call failed */
	XCH_ELOCKED = -6,      /* the store is locked by another writer */
	XCH_EMALFORMED = -7,   /* input does not parse (JSON, archive, packet) */
	XCH_ESCHEMA = -8,      /* a document violates its schema */
	XCH_ETOOBIG = -9,      /* a declared or built-in size limit was exceeded */
	XCH_EBADSIG = -10,     /* a signature does not verify */
	XCH_EUNTRUSTED = -11,  /* the signer is not a pinned key of that partner */
	XCH_EKEYEXPIRED = -12, /* the key is expired */
	XCH_EKEYREVOKED = -13, /* the key is revoked */
	XCH_ENOTFORUS = -14,   /* the bundle is not addressed to us */
	XCH_ETAMPERED = -15,   /* contents do not match what was signed */
	XCH_EEXPIRED = -16,    /* the bundle is past its expiry time */
	XCH_EREPLAY = -17,     /* replay of an old bundle, or a rollback */
	XCH_EGAP = -18,        /* a sequence number is missing before this one */
	XCH_EMARKING = -19,    /* a marking forbids sending to a recipient */
	XCH_ECONFLICT = -20,   /* a record is in conflict */
	XCH_ECRYPTO = -21,     /* the OpenPGP engine failed */
	XCH_EUNSUPPORTED = -22 /* a format version or feature we do not know */
} xch_error_code;

typedef struct {
	int code;            /* one of xch_error_code */
	const char *message; /* one line, no trailing newline */
} xch_error;

/*
 * The last error set on the calling thread. Never NULL: when no error is
 * set, code is 0 and message is "no error". Valid until the next call
 * into libexchange from this thread.
 */
XCH_EXTERN(const xch_error *) xch_error_last(void);

/* Forget the last error of the calling thread. */
XCH_EXTERN(void) xch_error_clear(void);

/* A short constant name of an error code, e.g. "bad signature". */
XCH_EXTERN(const char *) xch_error_name(int code);

XCH_END_DECL

#endif

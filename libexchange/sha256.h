#ifndef XCH_PRIV_SHA256_H
#define XCH_PRIV_SHA256_H

#include "common.h"

/* Incremental SHA-256 (OpenSSL's libcrypto underneath: SHA-NI where present). */
typedef struct xch_sha256 xch_sha256;

int xch_sha256_new(xch_sha256 **out);
int xch_sha256_update(xch_sha256 *ctx, const void *data, size_t len);
/* Write the 32-byte digest; the context may be reused after xch_sha256_reset. */
int xch_sha256_final(xch_sha256 *ctx, unsigned char digest[32]);
int xch_sha256_final_hex(xch_sha256 *ctx, char hex[XCH_SHA256_HEXSIZE + 1]);
int xch_sha256_reset(xch_sha256 *ctx);
void xch_sha256_free(xch_sha256 *ctx);

/* One-shot digest of a buffer, as 64 lowercase hex digits. */
int xch_sha256_hex(char hex[XCH_SHA256_HEXSIZE + 1], const void *data, size_t len);

/* Is s exactly 64 lowercase hex digits? */
bool xch_sha256_hex_valid(const char *s);

/* A digest as 64 lowercase hex digits, and back (false unless hex is exactly that). */
void xch_sha256_to_hex(char hex[XCH_SHA256_HEXSIZE + 1], const unsigned char digest[32]);
bool xch_sha256_from_hex(unsigned char digest[32], const char *hex);

#endif

/*
 * SHA-256 through OpenSSL's EVP interface.
 */
#include "common.h"
#include "sha256.h"

#include <openssl/evp.h>

struct xch_sha256 {
	EVP_MD_CTX *md;
};

int xch_sha256_new(xch_sha256 **out)
{
	xch_sha256 *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return xch_error_oom();
	if (!(ctx->md = EVP_MD_CTX_new()) || xch_sha256_reset(ctx) < 0) {
		xch_sha256_free(ctx);
		return xch_error_set(XCH_ERROR, "cannot start SHA-256");
	}
	*out = ctx;
	return 0;
}

int xch_sha256_reset(xch_sha256 *ctx)
{
	if (EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1)
		return xch_error_set(XCH_ERROR, "cannot start SHA-256");
	return 0;
}

int xch_sha256_update(xch_sha256 *ctx, const void *data, size_t len)
{
	if (len && EVP_DigestUpdate(ctx->md, data, len) != 1)
		return xch_error_set(XCH_ERROR, "SHA-256 update failed");
	return 0;
}

int xch_sha256_final(xch_sha256 *ctx, unsigned char digest[32])
{
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(ctx->md, digest, &n) != 1 || n != 32)
		return xch_error_set(XCH_ERROR, "SHA-256 final failed");
	return 0;
}

void xch_sha256_to_hex(char hex[XCH_SHA256_HEXSIZE + 1], const unsigned char digest[32])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 15];
	}
	hex[XCH_SHA256_HEXSIZE] = '\0';
}

bool xch_sha256_from_hex(unsigned char digest[32], const char *hex)
{
	if (!hex || !xch_sha256_hex_valid(hex))
		return false;
	for (int i = 0; i < 32; i++) {
		int hi = hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10;
		int lo = hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10;
		digest[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

int xch_sha256_final_hex(xch_sha256 *ctx, char hex[XCH_SHA256_HEXSIZE + 1])
{
	unsigned char d[32];
	if (xch_sha256_final(ctx, d) < 0)
		return XCH_ERROR;
	xch_sha256_to_hex(hex, d);
	return 0;
}

void xch_sha256_free(xch_sha256 *ctx)
{
	if (!ctx)
		return;
	EVP_MD_CTX_free(ctx->md);
	free(ctx);
}

int xch_sha256_hex(char hex[XCH_SHA256_HEXSIZE + 1], const void *data, size_t len)
{
	xch_sha256 *ctx;
	int error;
	if (xch_sha256_new(&ctx) < 0)
		return XCH_ERROR;
	error = xch_sha256_update(ctx, data, len);
	if (!error)
		error = xch_sha256_final_hex(ctx, hex);
	xch_sha256_free(ctx);
	return error;
}

bool xch_sha256_hex_valid(const char *s)
{
	size_t i;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == XCH_SHA256_HEXSIZE;
}

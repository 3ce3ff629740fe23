/*
 * The OpenPGP layer, over GPGME and gpg 2.2.
 *
 * Partners are pinned by primary-key fingerprint: nothing here consults the
 * web of trust. Encryption always trusts the recipients it is given, and
 * every signature that is reported has been checked by us for status,
 * summary, validity and signing key, and mapped to its primary key.
 *
 * Data streams through gpg (a process of its own) by callbacks: memory does
 * not grow with the size of the data.
 *
 * A handle is not thread-safe; use one per thread.
 */
#ifndef XCH_PRIV_CRYPTO_H
#define XCH_PRIV_CRYPTO_H

#include "common.h"

#include <sys/types.h>

/* Hex digits of a (v4) fingerprint and of a key id, without the NUL. */
#define XCH_FPR_HEXSIZE 40
#define XCH_KEYID_HEXSIZE 16

typedef struct xch_crypto xch_crypto;

/*
 * Open the OpenPGP engine. homedir NULL uses GNUPGHOME or gpg's default;
 * otherwise that directory, which must exist (XCH_ENOTFOUND).
 */
int xch_crypto_new(xch_crypto **out, const char *homedir);
void xch_crypto_free(xch_crypto *c);
/* The home directory given to xch_crypto_new, or NULL. Borrowed. */
const char *xch_crypto_homedir(const xch_crypto *c);

/* Check s is a 40-digit hex fingerprint (any case, no spaces); write it uppercase to out. */
int xch_crypto_fpr_normalize(char out[XCH_FPR_HEXSIZE + 1], const char *s);

typedef struct {
	char fpr[XCH_FPR_HEXSIZE + 1]; /* primary key fingerprint, uppercase hex */
	char uid[256];           /* first user id, truncated */
	int64_t created, expires;/* expires 0 = never (primary key) */
	bool revoked, expired, disabled, invalid;
	bool can_sign, can_encrypt; /* some valid (non-expired, non-revoked) subkey can */
	bool has_secret;         /* a secret key (or part) is present */
} xch_key_info;

/*
 * Look up a key by fingerprint (40 hex, any case; a subkey's finds its
 * primary key) or any other gpg key spec. secret: only keys with a secret
 * part. XCH_ENOTFOUND if absent, XCH_EINVALID if the spec names more than
 * one key. A key counts as expired when gpg says so or when its expiry is
 * past xch_time_now() (XCH_NOW).
 */
int xch_crypto_key_info(xch_crypto *c, const char *spec, bool secret, xch_key_info *out);

/*
 * Import keys from a file (at most 16 MiB) or a buffer, armored or binary,
 * public or secret. The primary fingerprints imported or already present
 * are appended to fprs (may be NULL) as "FPR\n" lines, each once.
 * XCH_EMALFORMED if the data holds no key; an error if gpg refused any key.
 */
int xch_crypto_import_file(xch_crypto *c, const char *path, xch_buf *fprs);
int xch_crypto_import_buffer(xch_crypto *c, const void *data, size_t len, xch_buf *fprs);

/* Export the public key fpr, armored, appended to out. */
int xch_crypto_export(xch_crypto *c, const char *fpr, xch_buf *out);

/*
 * Check a key is usable now: present (XCH_ENOTFOUND), not revoked
 * (XCH_EKEYREVOKED), not expired (XCH_EKEYEXPIRED), not disabled
 * (XCH_EUNTRUSTED), with a valid signing (for_signing) or encryption subkey
 * (else XCH_EKEYEXPIRED/XCH_EKEYREVOKED if those subkeys are only expired or
 * revoked, XCH_EINVALID if there are none), and with that subkey's secret
 * part if need_secret (XCH_ENOTFOUND).
 */
int xch_crypto_check_key(xch_crypto *c, const char *fpr, bool for_signing, bool need_secret);

/* Does keyid (16 hex, any case) name the primary key or a subkey of the key fpr? */
int xch_crypto_key_has_keyid(xch_crypto *c, const char *fpr, const char *keyid, bool *out);

/*
 * Append the key ids of the encryption subkeys of fpr to keyids, as
 * "KEYID\n" lines (16 uppercase hex). usable_only: only the valid ones,
 * newest first, so the first line is the subkey gpg encrypts to; otherwise
 * every subkey that can encrypt, expired and revoked ones included (a
 * message encrypted to them before is still ours).
 */
int xch_crypto_encryption_keyids(xch_crypto *c, const char *fpr, bool usable_only, xch_buf *keyids);

/* Streaming callbacks. read: bytes read, 0 = EOF, <0 = error (an xch error set). */
typedef ssize_t (*xch_crypto_read_cb)(void *payload, void *buf, size_t len);
/* write: all of len, 0 ok, <0 error (an xch error set). */
typedef int (*xch_crypto_write_cb)(void *payload, const void *buf, size_t len);

/*
 * Sign with signer_fpr (its secret key must be here) and encrypt to every
 * recipient (fingerprints), streaming from in to out. No compression (the
 * payload is already deflated), no encrypt-to from gpg.conf, recipients
 * trusted as given (we pin them). armor: ASCII armor. An error of a
 * callback is returned as it was set.
 */
int xch_crypto_sign_encrypt(xch_crypto *c, const char *signer_fpr,
	const char *const *recipients, size_t nrecipients, bool armor,
	xch_crypto_read_cb in, void *in_payload, xch_crypto_write_cb out, void *out_payload);

typedef struct {
	char signer_fpr[XCH_FPR_HEXSIZE + 1]; /* primary fingerprint of the good signature's key, "" if none */
	char **recipient_keyids;  /* key ids (16 uppercase hex) the message was encrypted to, NULL-terminated */
	size_t nrecipients;
	int64_t sig_time;         /* creation time of the signature */
} xch_crypto_result;

#define XCH_CRYPTO_RESULT_INIT { "", NULL, 0, 0 }

void xch_crypto_result_clear(xch_crypto_result *r);

/*
 * Decrypt and verify, streaming from in to out. Exactly one signature must
 * be present and good. result (may be NULL) is filled as far as known, also
 * on failure (the recipients of a message not for us, for example).
 *
 * The plaintext reaches out before the signature is known: treat it as
 * untrusted until this returns 0.
 *
 * The input is checked on its way to gpg: its top level must be
 * public-key encrypted session keys and one integrity-protected encrypted
 * packet (armored or not), nothing after it. A passphrase-encrypted session
 * key (XCH_ENOTFORUS), encrypted data without MDC (XCH_ETAMPERED), a message
 * that is not encrypted or is followed by more (XCH_EMALFORMED) are refused
 * before gpg sees them: no pinentry, no plaintext out.
 *
 * Errors:
 *   XCH_ENOTFORUS     no secret key for any recipient, or encrypted with a
 *                     passphrase
 *   XCH_EBADSIG       bad signature, no signature, more than one signature
 *                     (also an alteration of the signed text inside the
 *                     encrypted data: gpg stops at the bad signature
 *                     before it checks the MDC)
 *   XCH_EUNTRUSTED    the signer's public key is unknown (or disabled)
 *   XCH_EKEYEXPIRED   the signer's key (or signing subkey) has expired
 *   XCH_EKEYREVOKED   the signer's key (or signing subkey) is revoked
 *   XCH_ETAMPERED     the message was altered after it was encrypted: the
 *                     session key was recovered but the encrypted data
 *                     fails its integrity check or no longer parses
 *                     (including truncation inside it), or the session
 *                     key addressed to us does not decrypt (gpg: checksum
 *                     error), or the message has no integrity protection
 *                     (no MDC) at all
 *   XCH_EMALFORMED    not an encrypted OpenPGP message, its outer packets
 *                     (before any decryption) do not parse, or more
 *                     follows it
 *   XCH_EUNSUPPORTED  an algorithm gpg does not support
 *   XCH_ECRYPTO       anything else gpg reports
 */
int xch_crypto_decrypt_verify(xch_crypto *c, xch_crypto_read_cb in, void *in_payload,
	xch_crypto_write_cb out, void *out_payload, xch_crypto_result *result);

/*
 * A detached signature by signer_fpr over data (binary, or armored if
 * armor), appended to sig; and its verification, with the error classes of
 * xch_crypto_decrypt_verify (XCH_EMALFORMED for a signature that does not
 * parse). signer_fpr_out receives the primary fingerprint, sig_time (may be
 * NULL) the signature's creation time; both are empty (0) on any error.
 *
 * A good signature must also be in the one form gpg 2.2 makes, so that no
 * byte of it can be changed (see crypto.c): one old-format v4 signature
 * packet of type 0x00, nothing after it, exactly one unhashed subpacket
 * (the signing key's issuer key id), the right 16-bit digest check, minimal
 * MPIs; EdDSA (Ed25519), RSA or ECDSA with SHA-224/256/384/512. Otherwise
 * XCH_EBADSIG, "signature is not in canonical form: ...". (An ECDSA
 * signature's s can still be replaced by n - s.) An armored signature's
 * packets are checked, not its armor.
 */
int xch_crypto_sign_detached(xch_crypto *c, const char *signer_fpr, const void *data, size_t len,
	bool armor, xch_buf *sig);
int xch_crypto_verify_detached(xch_crypto *c, const void *data, size_t len, const void *sig,
	size_t siglen, char signer_fpr_out[XCH_FPR_HEXSIZE + 1], int64_t *sig_time);

#endif

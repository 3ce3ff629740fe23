/*
 * The OpenPGP layer over GPGME.
 *
 * GPGME's results are checked, not trusted: an operation returning 0 only
 * means gpg ran. Every signature is examined (status, summary, validity,
 * key usage, signing key) and reported by its primary key's fingerprint;
 * decryption results are examined for integrity protection.
 *
 * How gpg 2.2.40 under GPGME 1.18 reports each failure of
 * gpgme_op_decrypt_verify, and what we make of it (tests/unit/test_crypto.c
 * makes each one):
 *
 *   not for us       op GPG_ERR_NO_SECKEY, each recipient's status
 *                    NO_SECKEY, no DECRYPTION_INFO          -> XCH_ENOTFORUS
 *   session-key      op GPG_ERR_CHECKSUM (gpg ERROR pkdecrypt_failed: the
 *   packet altered   key unwrap fails), no DECRYPTION_INFO  -> XCH_ETAMPERED
 *                    (an altered key id reads as not for us)
 *   encrypted data   after DECRYPTION_INFO (symkey_algo "AES256.CFB"):
 *   altered or       op GPG_ERR_DECRYPT_FAILED (bad MDC, or truncated:
 *   truncated        gpg "encrypted message has been manipulated"), or
 *                    GPG_ERR_NO_DATA (gpg broke off on a broken inner
 *                    packet, no DECRYPTION_OKAY)            -> XCH_ETAMPERED
 *                    but: an alteration of the signed text makes a bad
 *                    signature, on which gpg --batch exits at once, before
 *                    it reaches the MDC: op GPG_ERR_NO_DATA with a
 *                    BAD_SIGNATURE in the verify result     -> XCH_EBADSIG
 *   truncated in     op GPG_ERR_NO_DATA, no DECRYPTION_INFO: gpg
 *   the first chunk  cannot read the first partial-length chunk of the
 *   of encrypted     encrypted packet, so it never gets that far; the
 *   data             sniffer saw the input end inside that packet
 *                    (gpg has not tried its keys either: also for a
 *                    message that is not for us)            -> XCH_ETAMPERED
 *   no MDC           op GPG_ERR_DECRYPT_FAILED (gpg "decryption forced to
 *                    fail"), DECRYPTION_INFO 0 ...: symkey_algo
 *                    "<algo>.PGPCFB" (legacy_cipher_nomdc is not set for
 *                    AES), after gpg wrote the plaintext    -> XCH_ETAMPERED
 *                    (refused before gpg sees it, see below)
 *   not OpenPGP, or  op GPG_ERR_NO_DATA, no DECRYPTION_INFO -> XCH_EMALFORMED
 *   cut before the encrypted data
 *   signed, not      op GPG_ERR_NO_DATA, no DECRYPTION_INFO; gpg verified
 *   encrypted        the signature and wrote the plaintext  -> XCH_EMALFORMED
 *                    (refused before gpg sees it, see below)
 *   passphrase       gpg asks for the passphrase through pinentry, even
 *   (SKESK)          in --batch, NEED_PASSPHRASE_SYM        -> XCH_ENOTFORUS
 *                    (refused before gpg sees it, see below)
 *   not signed       op 0, no signature                     -> XCH_EBADSIG
 *   two signatures   op 0, two signatures                   -> XCH_EBADSIG
 *   bad signature    signature status GPG_ERR_BAD_SIGNATURE, fpr = the
 *                    issuer's key id; summary RED from gpgme_op_verify but
 *                    0 (!) inside decrypt_verify, where gpg exits at the
 *                    bad signature                          -> XCH_EBADSIG
 *   unknown signer   op 0, status GPG_ERR_NO_PUBKEY, summary KEY_MISSING,
 *                    fpr = the signing subkey's fingerprint (issuer
 *                    fingerprint subpacket)                 -> XCH_EUNTRUSTED
 *   expired signer   op 0, status GPG_ERR_KEY_EXPIRED (gpg EXPKEYSIG,
 *                    "Good signature" with a note), summary KEY_EXPIRED
 *                                                           -> XCH_EKEYEXPIRED
 *   revoked signer   op 0, status GPG_ERR_CERT_REVOKED (gpg REVKEYSIG),
 *                    summary KEY_REVOKED                    -> XCH_EKEYREVOKED
 *
 * A good signature has status 0, summary 0 and validity UNKNOWN here: the
 * summary bits VALID|GREEN and the validity come from the web of trust,
 * which we do not use. We ignore those, but refuse any RED, KEY_*,
 * SIG_EXPIRED, BAD_POLICY or SYS_ERROR bit, wrong_key_usage, validity NEVER,
 * and then look the signing subkey up ourselves (gpgme_get_key), check it
 * and its primary key, and report the primary fingerprint.
 *
 * gpgme_op_verify (detached) gives the same signature statuses; a
 * signature that does not parse gives op GPG_ERR_NO_DATA (XCH_EMALFORMED).
 *
 * Before any of that, the input to decrypt is checked on its way to gpg
 * (see "sniffer"): only public-key session keys and one integrity-protected
 * encrypted packet, nothing after it, so that gpg never prompts for a
 * passphrase nor writes the plaintext of a message we refuse anyway.
 */
#include "common.h"
#include "crypto.h"
#include "util.h"

#include <gpgme.h>
#include <limits.h>
#include <openssl/evp.h>
#include <sys/stat.h>

/* Largest key file we import. */
#define XCH_KEYFILE_MAX (16 * 1024 * 1024)
/* Size of GPGME's buffers between our callbacks and gpg: a pipe's worth (measured best). */
#define XCH_GPGME_IO_BUFFER "65536"

struct xch_crypto {
	char *homedir;
};

/* --- contexts ---------------------------------------------------------- */

int xch_crypto_new(xch_crypto **out, const char *homedir)
{
	xch_crypto *c;
	gpgme_error_t err;
	struct stat st;

	XCH_ARG(out);
	*out = NULL;
	if (!gpgme_check_version("1.13.0"))
		return xch_error_set(XCH_ECRYPTO, "cannot initialise GPGME: version 1.13 or later needed");
	if ((err = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP)) != 0)
		return xch_error_from_gpgme(err, "cannot use gpg");
	if (homedir) {
		if (!*homedir)
			return xch_error_set(XCH_EINVALID, "empty gnupg home directory");
		if (stat(homedir, &st) < 0)
			return xch_error_set_os(errno == ENOENT ? XCH_ENOTFOUND : XCH_EOS,
				"cannot use gnupg home '%s'", homedir);
		if (!S_ISDIR(st.st_mode))
			return xch_error_set(XCH_EINVALID, "cannot use gnupg home '%s': not a directory", homedir);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return xch_error_oom();
	if (homedir && (c->homedir = strdup(homedir)) == NULL) {
		free(c);
		return xch_error_oom();
	}
	*out = c;
	return 0;
}

void xch_crypto_free(xch_crypto *c)
{
	if (!c)
		return;
	free(c->homedir);
	free(c);
}

const char *xch_crypto_homedir(const xch_crypto *c)
{
	return c ? c->homedir : NULL;
}

/* A fresh GPGME context for one operation: OpenPGP, our home, no network. */
static int ctx_new(xch_crypto *c, gpgme_ctx_t *out)
{
	gpgme_ctx_t ctx;
	gpgme_error_t err;

	*out = NULL;
	if ((err = gpgme_new(&ctx)) != 0)
		return xch_error_from_gpgme(err, "cannot start gpgme");
	if ((err = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP)) != 0 ||
	    (c->homedir && (err = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP,
			NULL, c->homedir)) != 0) ||
	    (err = gpgme_set_keylist_mode(ctx, GPGME_KEYLIST_MODE_LOCAL |
			GPGME_KEYLIST_MODE_WITH_SECRET)) != 0) {
		gpgme_release(ctx);
		return xch_error_from_gpgme(err, "cannot set up gpg");
	}
	gpgme_set_offline(ctx, 1);
	*out = ctx;
	return 0;
}

/* Keep the last error's message, with another code. */
static int recode(int code)
{
	xch_error_state st;
	xch_error_save(&st);
	st.code = code;
	return xch_error_restore(&st);
}

/* --- fingerprints and key ids --------------------------------------------- */

static bool is_hex(const char *s, size_t len)
{
	size_t i;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return s[len] == '\0';
}

static void upper_copy(char *out, const char *s, size_t len)
{
	size_t i;
	for (i = 0; i < len; i++)
		out[i] = (s[i] >= 'a' && s[i] <= 'f') ? (char)(s[i] - 'a' + 'A') : s[i];
	out[len] = '\0';
}

int xch_crypto_fpr_normalize(char out[XCH_FPR_HEXSIZE + 1], const char *s)
{
	XCH_ARG(out && s);
	if (strlen(s) != XCH_FPR_HEXSIZE || !is_hex(s, XCH_FPR_HEXSIZE))
		return xch_error_set(XCH_EINVALID, "invalid fingerprint '%.64s': 40 hex digits expected", s);
	upper_copy(out, s, XCH_FPR_HEXSIZE);
	return 0;
}

static bool str_ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = (*a >= 'a' && *a <= 'z') ? (char)(*a - 'a' + 'A') : *a;
		char y = (*b >= 'a' && *b <= 'z') ? (char)(*b - 'a' + 'A') : *b;
		if (x != y)
			return false;
	}
	return *a == *b;
}

/* --- key lookup ------------------------------------------------------------ */

/*
 * The one key spec names. A 40-hex spec must be the fingerprint of the key
 * or of one of its subkeys (gpg matches those exactly, but we check).
 */
static int find_key(gpgme_ctx_t ctx, const char *spec, bool secret, gpgme_key_t *out)
{
	gpgme_key_t key = NULL, other = NULL;
	gpgme_error_t err;
	char pattern[XCH_FPR_HEXSIZE + 1];
	const char *p = spec;
	int error = 0;

	*out = NULL;
	if (!spec || !*spec)
		return xch_error_set(XCH_EINVALID, "empty key specification");
	if (strlen(spec) == XCH_FPR_HEXSIZE && is_hex(spec, XCH_FPR_HEXSIZE)) {
		upper_copy(pattern, spec, XCH_FPR_HEXSIZE);
		p = pattern;
	}
	if ((err = gpgme_op_keylist_start(ctx, p, secret)) != 0)
		return xch_error_from_gpgme(err, "cannot list key '%s'", spec);
	while ((err = gpgme_op_keylist_next(ctx, key ? &other : &key)) == 0) {
		if (other) {
			gpgme_key_unref(other);
			other = NULL;
			error = xch_error_set(XCH_EINVALID, "key specification '%s' is ambiguous", spec);
		}
	}
	if (gpgme_err_code(err) != GPG_ERR_EOF && !error)
		error = xch_error_from_gpgme(err, "cannot list key '%s'", spec);
	gpgme_op_keylist_end(ctx);
	if (!error && !key)
		error = xch_error_set(XCH_ENOTFOUND, "no %skey '%s' in the keyring",
			secret ? "secret " : "", spec);
	if (!error && p == pattern) {
		gpgme_subkey_t sk;
		for (sk = key->subkeys; sk; sk = sk->next)
			if (sk->fpr && str_ieq(sk->fpr, pattern))
				break;
		if (!sk)
			error = xch_error_set(XCH_ENOTFOUND, "no key '%s' in the keyring", spec);
	}
	if (!error && (!key->subkeys || !key->subkeys->fpr ||
	    strlen(key->subkeys->fpr) != XCH_FPR_HEXSIZE))
		error = xch_error_set(XCH_EUNSUPPORTED, "key '%s' is not an OpenPGP v4 key", spec);
	if (error) {
		gpgme_key_unref(key);
		return error;
	}
	*out = key;
	return 0;
}

static bool past(long expires, int64_t now)
{
	return expires > 0 && (int64_t)expires <= now;
}

static bool key_expired(gpgme_key_t key, int64_t now)
{
	return key->expired || past(key->subkeys->expires, now);
}

static bool key_unusable(gpgme_key_t key, int64_t now)
{
	return key->revoked || key->disabled || key->invalid || key_expired(key, now);
}

static bool subkey_usable(gpgme_key_t key, gpgme_subkey_t sk, int64_t now)
{
	return !key_unusable(key, now) && !sk->revoked && !sk->expired && !sk->disabled &&
		!sk->invalid && !past(sk->expires, now);
}

static void fill_info(xch_key_info *info, gpgme_key_t key)
{
	gpgme_subkey_t sk;
	int64_t now = (int64_t)xch_time_now();

	memset(info, 0, sizeof(*info));
	upper_copy(info->fpr, key->subkeys->fpr, XCH_FPR_HEXSIZE);
	if (key->uids && key->uids->uid)
		snprintf(info->uid, sizeof(info->uid), "%s", key->uids->uid); /* truncation wanted */
	info->created = key->subkeys->timestamp;
	info->expires = key->subkeys->expires;
	info->revoked = key->revoked;
	info->expired = key_expired(key, now);
	info->disabled = key->disabled;
	info->invalid = key->invalid;
	info->has_secret = key->secret;
	for (sk = key->subkeys; sk; sk = sk->next) {
		if (!subkey_usable(key, sk, now))
			continue;
		info->can_sign |= sk->can_sign;
		info->can_encrypt |= sk->can_encrypt;
	}
}

int xch_crypto_key_info(xch_crypto *c, const char *spec, bool secret, xch_key_info *out)
{
	gpgme_ctx_t ctx;
	gpgme_key_t key;
	int error;

	XCH_ARG(c && spec && out);
	if ((error = ctx_new(c, &ctx)) < 0)
		return error;
	if ((error = find_key(ctx, spec, secret, &key)) == 0) {
		fill_info(out, key);
		gpgme_key_unref(key);
	}
	gpgme_release(ctx);
	return error;
}

/* Check key is usable now for signing or encryption, see xch_crypto_check_key. */
static int check_usable(gpgme_key_t key, bool for_signing, bool need_secret)
{
	int64_t now = (int64_t)xch_time_now();
	const char *fpr = key->subkeys->fpr, *what = for_signing ? "signing" : "encryption";
	bool any = false, any_expired = false, any_revoked = false, any_secret = false;
	gpgme_subkey_t sk;

	if (key->revoked)
		return xch_error_set(XCH_EKEYREVOKED, "key '%s' is revoked", fpr);
	if (key_expired(key, now))
		return xch_error_set(XCH_EKEYEXPIRED, "key '%s' has expired", fpr);
	if (key->disabled)
		return xch_error_set(XCH_EUNTRUSTED, "key '%s' is disabled", fpr);
	if (key->invalid)
		return xch_error_set(XCH_ECRYPTO, "key '%s' is invalid", fpr);
	for (sk = key->subkeys; sk; sk = sk->next) {
		if (!(for_signing ? sk->can_sign : sk->can_encrypt))
			continue;
		if (!subkey_usable(key, sk, now)) {
			any_revoked |= sk->revoked;
			any_expired |= sk->expired || past(sk->expires, now);
			continue;
		}
		any = true;
		if (sk->secret)
			any_secret = true;
	}
	if (!any) {
		if (any_revoked)
			return xch_error_set(XCH_EKEYREVOKED, "key '%s' has no valid %s subkey: revoked", fpr, what);
		if (any_expired)
			return xch_error_set(XCH_EKEYEXPIRED, "key '%s' has no valid %s subkey: expired", fpr, what);
		return xch_error_set(XCH_EINVALID, "key '%s' has no %s subkey", fpr, what);
	}
	if (need_secret && !any_secret)
		return xch_error_set(XCH_ENOTFOUND, "no secret %s key for '%s' in the keyring", what, fpr);
	return 0;
}

int xch_crypto_check_key(xch_crypto *c, const char *fpr, bool for_signing, bool need_secret)
{
	gpgme_ctx_t ctx;
	gpgme_key_t key;
	int error;

	XCH_ARG(c && fpr);
	if ((error = ctx_new(c, &ctx)) < 0)
		return error;
	if ((error = find_key(ctx, fpr, false, &key)) == 0) {
		error = check_usable(key, for_signing, need_secret);
		gpgme_key_unref(key);
	}
	gpgme_release(ctx);
	return error;
}

int xch_crypto_key_has_keyid(xch_crypto *c, const char *fpr, const char *keyid, bool *out)
{
	gpgme_ctx_t ctx;
	gpgme_key_t key;
	gpgme_subkey_t sk;
	int error;

	XCH_ARG(c && fpr && keyid && out);
	*out = false;
	if (strlen(keyid) != XCH_KEYID_HEXSIZE || !is_hex(keyid, XCH_KEYID_HEXSIZE))
		return xch_error_set(XCH_EINVALID, "invalid key id '%.40s': 16 hex digits expected", keyid);
	if ((error = ctx_new(c, &ctx)) < 0)
		return error;
	if ((error = find_key(ctx, fpr, false, &key)) == 0) {
		for (sk = key->subkeys; sk; sk = sk->next)
			if (sk->keyid && str_ieq(sk->keyid, keyid))
				*out = true;
		gpgme_key_unref(key);
	}
	gpgme_release(ctx);
	return error;
}

int xch_crypto_encryption_keyids(xch_crypto *c, const char *fpr, bool usable_only, xch_buf *keyids)
{
	gpgme_ctx_t ctx;
	gpgme_key_t key;
	gpgme_subkey_t sk, *list = NULL;
	size_t n = 0, i, j;
	int64_t now = (int64_t)xch_time_now();
	int error;

	XCH_ARG(c && fpr && keyids);
	if ((error = ctx_new(c, &ctx)) < 0)
		return error;
	if ((error = find_key(ctx, fpr, false, &key)) < 0)
		goto done_ctx;
	for (sk = key->subkeys; sk; sk = sk->next)
		n++;
	if ((list = calloc(n, sizeof(*list))) == NULL) {
		error = xch_error_oom();
		goto done;
	}
	n = 0;
	for (sk = key->subkeys; sk; sk = sk->next) {
		if (!sk->can_encrypt || !sk->keyid || strlen(sk->keyid) != XCH_KEYID_HEXSIZE)
			continue;
		if (usable_only && !subkey_usable(key, sk, now))
			continue;
		/* newest first (insertion sort; keys have few subkeys) */
		for (i = 0; i < n && (!usable_only || list[i]->timestamp >= sk->timestamp); i++)
			;
		for (j = n; j > i; j--)
			list[j] = list[j - 1];
		list[i] = sk;
		n++;
	}
	for (i = 0; i < n && !error; i++) {
		char id[XCH_KEYID_HEXSIZE + 1];
		upper_copy(id, list[i]->keyid, XCH_KEYID_HEXSIZE);
		error = xch_buf_printf(keyids, "%s\n", id);
	}
done:
	free(list);
	gpgme_key_unref(key);
done_ctx:
	gpgme_release(ctx);
	return error;
}

/* --- import and export ----------------------------------------------------- */

/* Append "fpr\n" to fprs unless a line from offset start on already has it. */
static int add_fpr_line(xch_buf *fprs, size_t start, const char *fpr)
{
	char up[XCH_FPR_HEXSIZE + 1];
	const char *p;

	if (!fprs)
		return 0;
	if (!fpr || strlen(fpr) != XCH_FPR_HEXSIZE || !is_hex(fpr, XCH_FPR_HEXSIZE))
		return xch_error_set(XCH_ECRYPTO, "gpg reported an import without a fingerprint");
	upper_copy(up, fpr, XCH_FPR_HEXSIZE);
	for (p = fprs->ptr ? fprs->ptr + start : NULL; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, up, XCH_FPR_HEXSIZE) && p[XCH_FPR_HEXSIZE] == '\n')
			return 0;
	return xch_buf_printf(fprs, "%s\n", up);
}

static int import_data(xch_crypto *c, const void *data, size_t len, const char *what, xch_buf *fprs)
{
	gpgme_ctx_t ctx;
	gpgme_data_t d = NULL;
	gpgme_import_result_t res;
	gpgme_import_status_t st;
	gpgme_error_t err;
	size_t start = fprs ? fprs->size : 0;
	int error;

	if ((error = ctx_new(c, &ctx)) < 0)
		return error;
	if ((err = gpgme_data_new_from_mem(&d, data, len, 0)) != 0) {
		error = xch_error_from_gpgme(err, "cannot import keys from %s", what);
		goto done;
	}
	if ((err = gpgme_op_import(ctx, d)) != 0) {
		error = xch_error_from_gpgme(err, "cannot import keys from %s", what);
		goto done;
	}
	res = gpgme_op_import_result(ctx);
	if (!res || res->considered == 0 || !res->imports) {
		error = xch_error_set(XCH_EMALFORMED, "cannot import keys from %s: no OpenPGP key found", what);
		goto done;
	}
	for (st = res->imports; st && !error; st = st->next) {
		if (st->result)
			error = xch_error_from_gpgme(st->result, "cannot import key '%s' from %s",
				st->fpr ? st->fpr : "?", what);
		else
			error = add_fpr_line(fprs, start, st->fpr);
	}
	if (!error && res->not_imported > 0)
		error = xch_error_set(XCH_EINVALID, "cannot import keys from %s: gpg refused %d of them",
			what, res->not_imported);
done:
	if (error && fprs && fprs->ptr) {
		fprs->size = start; /* nothing half-reported */
		fprs->ptr[start] = '\0';
	}
	gpgme_data_release(d);
	gpgme_release(ctx);
	return error;
}

int xch_crypto_import_buffer(xch_crypto *c, const void *data, size_t len, xch_buf *fprs)
{
	XCH_ARG(c && (data || !len));
	if (len == 0)
		return xch_error_set(XCH_EMALFORMED, "cannot import keys from a buffer: it is empty");
	return import_data(c, data, len, "a buffer", fprs);
}

int xch_crypto_import_file(xch_crypto *c, const char *path, xch_buf *fprs)
{
	xch_buf what = XCH_BUF_INIT, data = XCH_BUF_INIT;
	int error;

	XCH_ARG(c && path);
	if ((error = xch_file_read(&data, path, XCH_KEYFILE_MAX, 0)) < 0)
		return error;
	if (data.size == 0)
		error = xch_error_set(XCH_EMALFORMED, "cannot import keys from '%s': it is empty", path);
	else if ((error = xch_buf_printf(&what, "'%s'", path)) == 0)
		error = import_data(c, data.ptr, data.size, what.ptr, fprs);
	xch_buf_dispose(&what);
	xch_buf_dispose(&data);
	return error;
}

/* Append what gpgme collected in d to out. */
static int take_data(gpgme_data_t d, xch_buf *out)
{
	size_t len = 0;
	char *mem = gpgme_data_release_and_get_mem(d, &len);
	int error = 0;

	if (!mem && len)
		return xch_error_oom();
	if (mem)
		error = xch_buf_put(out, mem, len);
	gpgme_free(mem);
	return error;
}

int xch_crypto_export(xch_crypto *c, const char *fpr, xch_buf *out)
{
	gpgme_ctx_t ctx;
	gpgme_key_t key = NULL;
	gpgme_data_t d = NULL;
	gpgme_error_t err;
	size_t before;
	int error;

	XCH_ARG(c && fpr && out);
	if ((error = ctx_new(c, &ctx)) < 0)
		return error;
	if ((error = find_key(ctx, fpr, false, &key)) < 0)
		goto done;
	gpgme_set_armor(ctx, 1);
	if ((err = gpgme_data_new(&d)) != 0 ||
	    (err = gpgme_op_export(ctx, key->subkeys->fpr, 0, d)) != 0) {
		error = xch_error_from_gpgme(err, "cannot export key '%s'", fpr);
		goto done;
	}
	before = out->size;
	error = take_data(d, out);
	d = NULL;
	if (!error && out->size == before)
		error = xch_error_set(XCH_ENOTFOUND, "cannot export key '%s': gpg wrote nothing", fpr);
done:
	gpgme_data_release(d);
	gpgme_key_unref(key);
	gpgme_release(ctx);
	return error;
}

/* --- a look at the packets on their way to gpg ------------------------------ */

/*
 * The top level of a message to decrypt must be (PKESK | marker)* and one
 * integrity-protected encrypted packet (SEIPD or AEAD), nothing after it.
 * Every byte is checked before gpg gets it, so gpg never sees a packet we
 * refuse: a passphrase-encrypted session key (gpg would ask for the
 * passphrase through pinentry), encrypted data without MDC (gpg would write
 * its plaintext before failing), a message that is not encrypted (gpg
 * would write its plaintext), a second message after the first. Armored
 * input is decoded on the way; text before the armor is skipped as gpg
 * does, a cleartext signature refused.
 */
enum {
	PK_HEADER,    /* a packet's first octet */
	PK_OLDLEN,    /* old-format length octets */
	PK_NEWLEN,    /* new-format (or partial) length octets */
	PK_BODY,      /* skipping a body */
	PK_REST       /* indeterminate length: to the end */
};

enum {
	AR_UNDECIDED, /* first byte not yet seen */
	AR_BINARY,
	AR_SEEK,      /* text: looking for a BEGIN line */
	AR_HEADERS,   /* armor headers, up to the blank line */
	AR_BODY,      /* radix-64 */
	AR_TAIL,      /* checksum and END line */
	AR_AFTER      /* after the END line: no second BEGIN */
};

#define SNIFF_PREFIX 32

typedef struct {
	bool detached;      /* a detached signature: signature packets only */
	xch_buf *packets;   /* if set, the (decoded) packet octets are appended here */
	int armor, pk;
	/* current text line: its start, and what it has */
	char line[SNIFF_PREFIX + 1];
	size_t line_len;
	bool line_colon, line_text;
	/* radix-64 */
	uint32_t acc;
	int nbits;
	/* packets */
	int tag, encrypted; /* encrypted: 0 before, 1 in, 2 after the encrypted packet */
	bool partial;
	unsigned char len[5];
	size_t nlen, needlen;
	uint64_t left;
} sniffer;

static int sniff_refuse(int code, const char *what)
{
	return xch_error_set(code, "%s", what);
}

/* A packet of type tag starts; may it? */
static int sniff_tag(sniffer *sn, int tag)
{
	sn->tag = tag;
	if (sn->detached)
		return tag == 2 ? 0 : xch_error_set(XCH_EMALFORMED,
			"not a detached signature (packet type %d at its top level)", tag);
	if (sn->encrypted == 2)
		return sniff_refuse(XCH_EMALFORMED, "message has data after its encrypted packet");
	switch (tag) {
	case 1:  /* public-key encrypted session key */
	case 10: /* marker */
		if (sn->encrypted)
			return sniff_refuse(XCH_EMALFORMED, "message has a session key after its encrypted packet");
		return 0;
	case 3:
		return sniff_refuse(XCH_ENOTFORUS, "message is encrypted with a passphrase, not to a key");
	case 9:
		return sniff_refuse(XCH_ETAMPERED, "message has no integrity protection (no MDC)");
	case 18: /* symmetrically encrypted and integrity protected */
	case 20: /* AEAD */
		sn->encrypted = 1;
		return 0;
	default:
		return xch_error_set(XCH_EMALFORMED, "message is not encrypted (packet type %d at its top level)", tag);
	}
}

static void sniff_packet_end(sniffer *sn)
{
	if (sn->encrypted == 1)
		sn->encrypted = 2;
	sn->pk = PK_HEADER;
}

/*
 * At the end of the input: did it stop inside the encrypted packet (after
 * its first octet, before its last)? Not known for an indeterminate length.
 */
static bool sniff_truncated(const sniffer *sn)
{
	return sn->encrypted == 1 && sn->pk != PK_REST;
}

/* Feed binary message octets. */
static int sniff_packets(sniffer *sn, const unsigned char *p, size_t len)
{
	int error;

	if (sn->packets && (error = xch_buf_put(sn->packets, p, len)) < 0)
		return error;
	while (len > 0) {
		unsigned char b;
		if (sn->pk == PK_REST)
			return 0;
		if (sn->pk == PK_BODY) {
			size_t take = sn->left < len ? (size_t)sn->left : len;
			sn->left -= take;
			p += take;
			len -= take;
			if (sn->left == 0) {
				if (sn->partial) {
					sn->pk = PK_NEWLEN;
					sn->nlen = 0;
				} else
					sniff_packet_end(sn);
			}
			continue;
		}
		b = *p++;
		len--;
		switch (sn->pk) {
		case PK_HEADER:
			if (!(b & 0x80))
				return sniff_refuse(XCH_EMALFORMED, "not an OpenPGP message: invalid packet header");
			sn->nlen = 0;
			sn->partial = false;
			if (b & 0x40) {
				if ((error = sniff_tag(sn, b & 0x3f)) < 0)
					return error;
				sn->pk = PK_NEWLEN;
			} else {
				if ((error = sniff_tag(sn, (b >> 2) & 0x0f)) < 0)
					return error;
				if ((b & 3) == 3) {
					if (sn->encrypted != 1)
						return sniff_refuse(XCH_EMALFORMED, "message has a packet of indeterminate length");
					sn->pk = PK_REST;
				} else {
					sn->needlen = (size_t)1 << (b & 3);
					sn->pk = PK_OLDLEN;
				}
			}
			break;
		case PK_OLDLEN:
			sn->len[sn->nlen++] = b;
			if (sn->nlen == sn->needlen) {
				sn->left = 0;
				for (size_t i = 0; i < sn->nlen; i++)
					sn->left = (sn->left << 8) | sn->len[i];
				sn->pk = PK_BODY;
				if (sn->left == 0)
					sniff_packet_end(sn);
			}
			break;
		case PK_NEWLEN:
			sn->len[sn->nlen++] = b;
			if (sn->nlen == 1 && b < 192) {
				sn->left = b;
				sn->partial = false;
			} else if (sn->nlen == 1 && b >= 224 && b < 255) {
				if (sn->encrypted != 1)
					return sniff_refuse(XCH_EMALFORMED, "message has a packet of partial length");
				sn->left = (uint64_t)1 << (b & 0x1f);
				sn->partial = true;
			} else if (sn->nlen == 2 && sn->len[0] >= 192 && sn->len[0] < 224) {
				sn->left = ((uint64_t)(sn->len[0] - 192) << 8) + b + 192;
				sn->partial = false;
			} else if (sn->nlen == 5) {
				sn->left = ((uint64_t)sn->len[1] << 24) | ((uint64_t)sn->len[2] << 16) |
					((uint64_t)sn->len[3] << 8) | sn->len[4];
				sn->partial = false;
			} else
				break;
			sn->pk = PK_BODY;
			if (sn->left == 0) {
				if (sn->partial)
					sn->pk = PK_NEWLEN, sn->nlen = 0;
				else
					sniff_packet_end(sn);
			}
			break;
		}
	}
	return 0;
}

/* The value of a radix-64 digit, -1 for whitespace, -2 for anything else. */
static int radix64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	if (c == '\n' || c == '\r' || c == ' ' || c == '\t')
		return -1;
	return -2;
}

/* Decode armored body octets, in bulk; stops at the end of the body. Returns octets used or an error. */
static ssize_t sniff_radix64(sniffer *sn, const unsigned char *p, size_t len)
{
	unsigned char out[4096];
	size_t used, n = 0;
	int error;

	for (used = 0; used < len; used++) {
		int v = radix64_value(p[used]);
		if (v >= 0) {
			sn->acc = (sn->acc << 6) | (uint32_t)v;
			sn->nbits += 6;
			if (sn->nbits >= 8) {
				sn->nbits -= 8;
				out[n++] = (unsigned char)(sn->acc >> sn->nbits);
				if (n == sizeof(out)) {
					if ((error = sniff_packets(sn, out, n)) < 0)
						return error;
					n = 0;
				}
			}
		} else if (p[used] == '=' || p[used] == '-') {
			/* padding, the checksum line or the END line: the data is over */
			sn->armor = AR_TAIL;
			sn->line_len = 0;
			break;
		} else if (v == -2)
			return sniff_refuse(XCH_EMALFORMED, "message has an invalid character in its armor");
	}
	if (n > 0 && (error = sniff_packets(sn, out, n)) < 0)
		return error;
	return (ssize_t)used;
}

/* A text line ended (armor states other than the body). */
static int sniff_line(sniffer *sn)
{
	static const char begin[] = "-----BEGIN PGP ", end[] = "-----END PGP ";
	static const char signed_msg[] = "-----BEGIN PGP SIGNED MESSAGE";

	switch (sn->armor) {
	case AR_SEEK:
	case AR_AFTER:
		if (sn->line_len >= sizeof(begin) - 1 && !memcmp(sn->line, begin, sizeof(begin) - 1)) {
			if (sn->armor == AR_AFTER)
				return sniff_refuse(XCH_EMALFORMED, "message is followed by another armored block");
			if (sn->line_len >= sizeof(signed_msg) - 1 && !memcmp(sn->line, signed_msg, sizeof(signed_msg) - 1))
				return sniff_refuse(XCH_EMALFORMED, "message is not encrypted (a cleartext signature)");
			sn->armor = AR_HEADERS;
		}
		break;
	case AR_HEADERS:
		if (!sn->line_text)
			sn->armor = AR_BODY;
		else if (!sn->line_colon)
			return sniff_refuse(XCH_EMALFORMED, "message has an invalid armor header");
		break;
	case AR_TAIL:
		if (sn->line_len >= sizeof(end) - 1 && !memcmp(sn->line, end, sizeof(end) - 1))
			sn->armor = AR_AFTER;
		break;
	}
	sn->line_len = 0;
	sn->line_colon = sn->line_text = false;
	return 0;
}

/* Feed the octets that go to gpg, as they are. */
static int sniff(sniffer *sn, const unsigned char *p, size_t len)
{
	int error;

	if (sn->armor == AR_UNDECIDED && len > 0)
		sn->armor = (p[0] & 0x80) ? AR_BINARY : AR_SEEK;
	if (sn->armor == AR_BINARY)
		return sniff_packets(sn, p, len);
	while (len > 0) {
		unsigned char c;
		if (sn->armor == AR_BODY) {
			ssize_t used = sniff_radix64(sn, p, len);
			if (used < 0)
				return (int)used;
			p += used;
			len -= (size_t)used;
			continue;
		}
		c = *p++;
		len--;
		if (c == '\n') {
			if ((error = sniff_line(sn)) < 0)
				return error;
			continue;
		}
		if (sn->line_len < SNIFF_PREFIX)
			sn->line[sn->line_len++] = (char)c;
		if (c == ':')
			sn->line_colon = true;
		if (c != '\r' && c != ' ' && c != '\t')
			sn->line_text = true;
	}
	return 0;
}

/* --- streams ------------------------------------------------------------- */

typedef struct {
	xch_crypto_read_cb read;
	xch_crypto_write_cb write;
	void *payload;
	int error; /* the callback's error, its message kept as it set it */
	sniffer *sniff; /* input to decrypt: checked on its way */
	bool eof;       /* the read callback reported the end of its input */
} stream;

static ssize_t stream_read(void *handle, void *buf, size_t size)
{
	stream *s = handle;
	ssize_t n;

	if (s->error) {
		errno = EIO;
		return -1;
	}
	n = s->read(s->payload, buf, size);
	if (n < 0 || (size_t)n > size) {
		if (n >= 0)
			s->error = xch_error_set(XCH_ERROR, "read callback returned more than asked");
		else
			s->error = xch_error_last()->code < 0 ? xch_error_last()->code :
				xch_error_set(XCH_ERROR, "read callback failed");
		errno = EIO;
		return -1;
	}
	if (n == 0)
		s->eof = true;
	if (s->sniff && n > 0 && (s->error = sniff(s->sniff, buf, (size_t)n)) < 0) {
		errno = EIO;
		return -1;
	}
	return n;
}

static ssize_t stream_write(void *handle, const void *buf, size_t size)
{
	stream *s = handle;

	if (s->error) {
		errno = EIO;
		return -1;
	}
	if (size && s->write(s->payload, buf, size) < 0) {
		s->error = xch_error_last()->code < 0 ? xch_error_last()->code :
			xch_error_set(XCH_ERROR, "write callback failed");
		errno = EIO;
		return -1;
	}
	return (ssize_t)size;
}

static struct gpgme_data_cbs read_cbs = { stream_read, NULL, NULL, NULL };
static struct gpgme_data_cbs write_cbs = { NULL, stream_write, NULL, NULL };

static int stream_data(gpgme_data_t *out, stream *s, bool reading)
{
	gpgme_error_t err;

	err = gpgme_data_new_from_cbs(out, reading ? &read_cbs : &write_cbs, s);
	if (err)
		return xch_error_from_gpgme(err, "cannot set up a gpgme stream");
	gpgme_data_set_flag(*out, "io-buffer-size", XCH_GPGME_IO_BUFFER); /* a hint: ignore failure */
	return 0;
}

/* --- signatures ------------------------------------------------------------ */

/* Does key have a subkey (or primary key) whose fingerprint is fpr? */
static gpgme_subkey_t subkey_by_fpr(gpgme_key_t key, const char *fpr)
{
	gpgme_subkey_t sk;
	for (sk = key ? key->subkeys : NULL; fpr && sk; sk = sk->next)
		if (sk->fpr && str_ieq(sk->fpr, fpr))
			return sk;
	return NULL;
}

/*
 * Examine a verify result: exactly one signature, good, by a known, valid,
 * signing-capable key; report its primary fingerprint and time.
 */
static int check_signature(gpgme_ctx_t ctx, gpgme_verify_result_t vr, char fpr_out[XCH_FPR_HEXSIZE + 1],
	int64_t *time_out)
{
	gpgme_signature_t sig;
	gpgme_key_t key = NULL;
	gpgme_subkey_t sk;
	gpgme_error_t err;
	const char *who;
	size_t n = 0;
	int64_t now = (int64_t)xch_time_now();
	int error = 0;

	fpr_out[0] = '\0';
	for (sig = vr ? vr->signatures : NULL; sig; sig = sig->next)
		n++;
	if (n == 0)
		return xch_error_set(XCH_EBADSIG, "no signature");
	if (n > 1)
		return xch_error_set(XCH_EBADSIG, "%zu signatures where exactly one is expected", n);
	sig = vr->signatures;
	who = sig->fpr ? sig->fpr : "unknown key";

	switch (gpgme_err_code(sig->status)) {
	case GPG_ERR_NO_ERROR:
		break;
	case GPG_ERR_BAD_SIGNATURE:
		return xch_error_set(XCH_EBADSIG, "bad signature by '%s'", who);
	case GPG_ERR_NO_PUBKEY:
		return xch_error_set(XCH_EUNTRUSTED, "signature by unknown key '%s'", who);
	case GPG_ERR_KEY_EXPIRED:
		return xch_error_set(XCH_EKEYEXPIRED, "signature by expired key '%s'", who);
	case GPG_ERR_CERT_REVOKED:
		return xch_error_set(XCH_EKEYREVOKED, "signature by revoked key '%s'", who);
	case GPG_ERR_SIG_EXPIRED:
		return xch_error_set(XCH_EBADSIG, "signature by '%s' has expired", who);
	default:
		xch_error_from_gpgme(sig->status, "bad signature by '%s'", who);
		return recode(XCH_EBADSIG);
	}
	/* status says good: the summary and the rest must agree */
	if (sig->summary & GPGME_SIGSUM_KEY_REVOKED)
		return xch_error_set(XCH_EKEYREVOKED, "signature by revoked key '%s'", who);
	if (sig->summary & GPGME_SIGSUM_KEY_EXPIRED)
		return xch_error_set(XCH_EKEYEXPIRED, "signature by expired key '%s'", who);
	if (sig->summary & GPGME_SIGSUM_KEY_MISSING)
		return xch_error_set(XCH_EUNTRUSTED, "signature by unknown key '%s'", who);
	if (sig->summary & (GPGME_SIGSUM_RED | GPGME_SIGSUM_SIG_EXPIRED | GPGME_SIGSUM_BAD_POLICY |
			GPGME_SIGSUM_SYS_ERROR))
		return xch_error_set(XCH_EBADSIG, "signature by '%s' is not good (summary 0x%x)", who,
			(unsigned)sig->summary);
	if (sig->wrong_key_usage)
		return xch_error_set(XCH_EBADSIG, "signature by '%s' made with a key not meant for signing", who);
	if (sig->validity == GPGME_VALIDITY_NEVER)
		return xch_error_set(XCH_EUNTRUSTED, "signature by '%s', a key marked as never valid", who);
	if (!sig->fpr || strlen(sig->fpr) != XCH_FPR_HEXSIZE || !is_hex(sig->fpr, XCH_FPR_HEXSIZE))
		return xch_error_set(XCH_EBADSIG, "good signature without a signing key fingerprint");
	if (sig->timestamp == 0)
		return xch_error_set(XCH_EBADSIG, "signature by '%s' has no creation time", who);

	/* map the signing (sub)key to its primary key, and look at it ourselves */
	if ((err = gpgme_get_key(ctx, sig->fpr, &key, 0)) != 0) {
		if (gpgme_err_code(err) == GPG_ERR_EOF)
			return xch_error_set(XCH_EUNTRUSTED, "signature by unknown key '%s'", who);
		return xch_error_from_gpgme(err, "cannot look up signing key '%s'", who);
	}
	sk = subkey_by_fpr(key, sig->fpr);
	if (!sk || !key->subkeys || !key->subkeys->fpr || strlen(key->subkeys->fpr) != XCH_FPR_HEXSIZE)
		error = xch_error_set(XCH_EUNTRUSTED, "signing key '%s' not found in the keyring", who);
	else if (key->revoked || sk->revoked)
		error = xch_error_set(XCH_EKEYREVOKED, "signature by revoked key '%s'", who);
	else if (key_expired(key, now) || sk->expired || past(sk->expires, now))
		error = xch_error_set(XCH_EKEYEXPIRED, "signature by expired key '%s'", who);
	else if (key->disabled || key->invalid || sk->disabled || sk->invalid)
		error = xch_error_set(XCH_EUNTRUSTED, "signature by disabled or invalid key '%s'", who);
	else if (!sk->can_sign)
		error = xch_error_set(XCH_EBADSIG, "signature by '%s' made with a key not meant for signing", who);
	if (!error) {
		upper_copy(fpr_out, key->subkeys->fpr, XCH_FPR_HEXSIZE);
		if (time_out)
			*time_out = (int64_t)sig->timestamp;
	}
	gpgme_key_unref(key);
	return error;
}

/* Set ctx's signer to the key fpr, after checking it can sign now. */
static int set_signer(gpgme_ctx_t ctx, const char *fpr, gpgme_key_t *out)
{
	gpgme_key_t key;
	gpgme_error_t err;
	int error;

	*out = NULL;
	if ((error = find_key(ctx, fpr, false, &key)) < 0)
		return error;
	if ((error = check_usable(key, true, true)) < 0) {
		gpgme_key_unref(key);
		return error;
	}
	gpgme_signers_clear(ctx);
	if ((err = gpgme_signers_add(ctx, key)) != 0) {
		gpgme_key_unref(key);
		return xch_error_from_gpgme(err, "cannot sign with '%s'", fpr);
	}
	*out = key;
	return 0;
}

/* Examine a sign result: exactly one signature, of mode, by a subkey of signer. */
static int check_sign_result(gpgme_ctx_t ctx, gpgme_key_t signer, gpgme_sig_mode_t mode)
{
	gpgme_sign_result_t sr = gpgme_op_sign_result(ctx);
	const char *fpr = signer->subkeys->fpr;

	if (!sr)
		return xch_error_set(XCH_ECRYPTO, "cannot sign with '%s': gpg gave no result", fpr);
	if (sr->invalid_signers)
		return xch_error_from_gpgme(sr->invalid_signers->reason, "cannot sign with '%s'", fpr);
	if (!sr->signatures || sr->signatures->next)
		return xch_error_set(XCH_ECRYPTO, "cannot sign with '%s': gpg made %s signature", fpr,
			sr->signatures ? "more than one" : "no");
	if (sr->signatures->type != mode)
		return xch_error_set(XCH_ECRYPTO, "cannot sign with '%s': gpg made the wrong kind of signature", fpr);
	if (!subkey_by_fpr(signer, sr->signatures->fpr))
		return xch_error_set(XCH_ECRYPTO, "cannot sign with '%s': gpg signed with another key '%s'", fpr,
			sr->signatures->fpr ? sr->signatures->fpr : "?");
	return 0;
}

/* --- sign and encrypt, decrypt and verify ------------------------------------ */

int xch_crypto_sign_encrypt(xch_crypto *c, const char *signer_fpr,
	const char *const *recipients, size_t nrecipients, bool armor,
	xch_crypto_read_cb in, void *in_payload, xch_crypto_write_cb out, void *out_payload)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t signer = NULL, *keys = NULL;
	gpgme_data_t plain = NULL, cipher = NULL;
	gpgme_encrypt_result_t er;
	gpgme_error_t err;
	stream sin = { in, NULL, in_payload, 0, NULL, false }, sout = { NULL, out, out_payload, 0, NULL, false };
	size_t i;
	int error;

	XCH_ARG(c && signer_fpr && recipients && nrecipients > 0 && in && out);
	if ((error = ctx_new(c, &ctx)) < 0)
		return error;
	if ((keys = calloc(nrecipients + 1, sizeof(*keys))) == NULL) {
		error = xch_error_oom();
		goto done;
	}
	for (i = 0; i < nrecipients; i++) {
		XCH_ARG(recipients[i]);
		if ((error = find_key(ctx, recipients[i], false, &keys[i])) < 0 ||
		    (error = check_usable(keys[i], false, false)) < 0) {
			xch_error_prefix("cannot encrypt to '%s'", recipients[i]);
			goto done;
		}
	}
	if ((error = set_signer(ctx, signer_fpr, &signer)) < 0) {
		xch_error_prefix("cannot sign with '%s'", signer_fpr);
		goto done;
	}
	gpgme_set_armor(ctx, armor);
	gpgme_set_textmode(ctx, 0);
	if ((error = stream_data(&plain, &sin, true)) < 0 ||
	    (error = stream_data(&cipher, &sout, false)) < 0)
		goto done;
	err = gpgme_op_encrypt_sign(ctx, keys, GPGME_ENCRYPT_ALWAYS_TRUST | GPGME_ENCRYPT_NO_COMPRESS |
		GPGME_ENCRYPT_NO_ENCRYPT_TO, plain, cipher);
	if (sin.error || sout.error) {
		error = sin.error ? sin.error : sout.error;
		goto done;
	}
	er = gpgme_op_encrypt_result(ctx);
	if (er && er->invalid_recipients) {
		error = xch_error_from_gpgme(er->invalid_recipients->reason, "cannot encrypt to '%s'",
			er->invalid_recipients->fpr ? er->invalid_recipients->fpr : "?");
		goto done;
	}
	if (err) {
		error = xch_error_from_gpgme(err, "cannot sign and encrypt");
		goto done;
	}
	error = check_sign_result(ctx, signer, GPGME_SIG_MODE_NORMAL);
done:
	gpgme_data_release(plain);
	gpgme_data_release(cipher);
	if (keys)
		for (i = 0; i < nrecipients; i++)
			gpgme_key_unref(keys[i]);
	free(keys);
	gpgme_key_unref(signer);
	gpgme_release(ctx);
	return error;
}

void xch_crypto_result_clear(xch_crypto_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; r->recipient_keyids && i < r->nrecipients; i++)
		free(r->recipient_keyids[i]);
	free(r->recipient_keyids);
	memset(r, 0, sizeof(*r));
}

static int fill_recipients(xch_crypto_result *r, gpgme_decrypt_result_t dr)
{
	gpgme_recipient_t rc;
	size_t n = 0;

	for (rc = dr ? dr->recipients : NULL; rc; rc = rc->next)
		n++;
	if ((r->recipient_keyids = calloc(n + 1, sizeof(char *))) == NULL)
		return xch_error_oom();
	for (rc = dr ? dr->recipients : NULL; rc; rc = rc->next) {
		size_t len = rc->keyid ? strlen(rc->keyid) : 0;
		char *id;
		if (len != XCH_KEYID_HEXSIZE || !is_hex(rc->keyid, len))
			return xch_error_set(XCH_EMALFORMED, "message names a recipient with an invalid key id");
		if ((id = malloc(len + 1)) == NULL)
			return xch_error_oom();
		upper_copy(id, rc->keyid, len);
		r->recipient_keyids[r->nrecipients++] = id;
	}
	return 0;
}

/* Did gpg get as far as the session key (DECRYPTION_INFO seen)? */
static bool decryption_started(gpgme_decrypt_result_t dr)
{
	return dr && dr->symkey_algo && strcmp(dr->symkey_algo, "?.?") != 0;
}

/*
 * Was the message encrypted without integrity protection? GPGME sets
 * legacy_cipher_nomdc only in some cases; DECRYPTION_INFO with no MDC and
 * no AEAD mode shows as a symkey_algo of "<algo>.PGPCFB".
 */
static bool no_mdc(gpgme_decrypt_result_t dr)
{
	size_t len;
	if (!dr)
		return false;
	if (dr->legacy_cipher_nomdc)
		return true;
	len = dr->symkey_algo ? strlen(dr->symkey_algo) : 0;
	return len >= 7 && !strcmp(dr->symkey_algo + len - 7, ".PGPCFB");
}

static bool all_recipients_unknown(gpgme_decrypt_result_t dr)
{
	gpgme_recipient_t rc;
	if (!dr || !dr->recipients)
		return false;
	for (rc = dr->recipients; rc; rc = rc->next)
		if (gpgme_err_code(rc->status) != GPG_ERR_NO_SECKEY)
			return false;
	return true;
}

/*
 * Classify a failed decryption, see the list at the top. truncated: the
 * input ended inside its encrypted packet.
 */
static int decrypt_error(gpgme_error_t err, gpgme_decrypt_result_t dr, bool truncated)
{
	gpgme_err_code_t code = gpgme_err_code(err);

	if (no_mdc(dr))
		return xch_error_set(XCH_ETAMPERED, "message has no integrity protection (no MDC)");
	if (code == GPG_ERR_NO_SECKEY || (!decryption_started(dr) && all_recipients_unknown(dr)))
		return xch_error_set(XCH_ENOTFORUS, "message is not for us: no secret key for any of its recipients");
	if (dr && dr->unsupported_algorithm)
		return xch_error_set(XCH_EUNSUPPORTED, "message uses an unsupported algorithm '%s'",
			dr->unsupported_algorithm);
	if (code == GPG_ERR_CHECKSUM) {
		/* gpg's pkdecrypt_failed: our session-key packet does not decrypt */
		xch_error_from_gpgme(err, "message was altered: its session key does not decrypt");
		return recode(XCH_ETAMPERED);
	}
	if (truncated)
		return xch_error_set(XCH_ETAMPERED,
			"message was altered after it was encrypted: its encrypted data is cut short");
	if (decryption_started(dr)) {
		xch_error_from_gpgme(err, "message was altered after it was encrypted");
		return recode(XCH_ETAMPERED);
	}
	switch (code) {
	case GPG_ERR_NO_DATA:
	case GPG_ERR_BAD_DATA:
	case GPG_ERR_INV_PACKET:
	case GPG_ERR_INV_DATA:
	case GPG_ERR_EOF:
	case GPG_ERR_DECRYPT_FAILED:
	case GPG_ERR_INV_KEYLEN:
	case GPG_ERR_UNKNOWN_PACKET:
		xch_error_from_gpgme(err, "not a valid OpenPGP message");
		return recode(XCH_EMALFORMED);
	default:
		return xch_error_from_gpgme(err, "cannot decrypt");
	}
}

/*
 * Watch gpg's status lines during decryption: a message encrypted with a
 * passphrase (SKESK) would have gpg ask for it through pinentry. No bundle
 * is, so we stop gpg there.
 */
static gpgme_error_t decrypt_status(void *opaque, const char *keyword, const char *args)
{
	bool *symmetric = opaque;
	(void)args;
	if (keyword && !strcmp(keyword, "NEED_PASSPHRASE_SYM")) {
		*symmetric = true;
		return gpgme_error(GPG_ERR_CANCELED);
	}
	return 0;
}

int xch_crypto_decrypt_verify(xch_crypto *c, xch_crypto_read_cb in, void *in_payload,
	xch_crypto_write_cb out, void *out_payload, xch_crypto_result *result)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t cipher = NULL, plain = NULL;
	gpgme_decrypt_result_t dr;
	gpgme_error_t err;
	sniffer sn;
	stream sin = { in, NULL, in_payload, 0, &sn, false }, sout = { NULL, out, out_payload, 0, NULL, false };
	xch_crypto_result local = XCH_CRYPTO_RESULT_INIT, *r = result ? result : &local;
	bool symmetric = false;
	int error;

	XCH_ARG(c && in && out);
	memset(r, 0, sizeof(*r));
	memset(&sn, 0, sizeof(sn));
	if ((error = ctx_new(c, &ctx)) < 0)
		return error;
	if ((error = stream_data(&cipher, &sin, true)) < 0 ||
	    (error = stream_data(&plain, &sout, false)) < 0)
		goto done;
	if ((err = gpgme_set_ctx_flag(ctx, "full-status", "1")) != 0) {
		error = xch_error_from_gpgme(err, "cannot set up gpg");
		goto done;
	}
	gpgme_set_status_cb(ctx, decrypt_status, &symmetric);
	err = gpgme_op_decrypt_verify(ctx, cipher, plain);
	if (sin.error || sout.error) {
		error = sin.error ? sin.error : sout.error;
		goto done;
	}
	if (symmetric) {
		error = xch_error_set(XCH_ENOTFORUS, "message is encrypted with a passphrase, not to a key");
		goto done;
	}
	dr = gpgme_op_decrypt_result(ctx);
	if ((error = fill_recipients(r, dr)) < 0)
		goto done;
	if (err) {
		/*
		 * gpg fails the decryption itself with DECRYPT_FAILED (bad
		 * or no MDC), NO_SECKEY or CHECKSUM (no session key). NO_DATA
		 * means gpg broke off without a verdict on the decryption: on
		 * a broken packet inside, on a truncation, or -- in batch mode
		 * gpg exits at once on a bad signature, before it reaches the
		 * MDC -- on a bad signature. A signature that already failed
		 * is reported as such; anything else is tampering.
		 */
		gpgme_err_code_t code = gpgme_err_code(err);
		gpgme_verify_result_t vr = gpgme_op_verify_result(ctx);
		if (decryption_started(dr) && !no_mdc(dr) && code != GPG_ERR_DECRYPT_FAILED &&
		    code != GPG_ERR_NO_SECKEY && code != GPG_ERR_CHECKSUM && vr && vr->signatures &&
		    (error = check_signature(ctx, vr, r->signer_fpr, &r->sig_time)) < 0)
			goto done;
		error = decrypt_error(err, dr, sin.eof && sniff_truncated(&sn));
		goto done;
	}
	if (!dr)
		error = xch_error_set(XCH_ECRYPTO, "cannot decrypt: gpg gave no result");
	else if (no_mdc(dr))
		error = xch_error_set(XCH_ETAMPERED, "message has no integrity protection (no MDC)");
	else if (dr->unsupported_algorithm)
		error = xch_error_set(XCH_EUNSUPPORTED, "message uses an unsupported algorithm '%s'",
			dr->unsupported_algorithm);
	else if (dr->wrong_key_usage)
		error = xch_error_set(XCH_ECRYPTO, "message was encrypted to a key not meant for encryption");
	else if (!decryption_started(dr))
		error = xch_error_set(XCH_EMALFORMED, "message is not encrypted");
	else
		error = check_signature(ctx, gpgme_op_verify_result(ctx), r->signer_fpr, &r->sig_time);
done:
	if (error) {
		r->signer_fpr[0] = '\0';
		r->sig_time = 0;
	}
	xch_crypto_result_clear(&local);
	gpgme_data_release(cipher);
	gpgme_data_release(plain);
	gpgme_release(ctx);
	return error;
}

/* --- detached signatures --------------------------------------------------- */

/*
 * A detached signature must be in the one form our own signer makes
 * (gpg 2.2 --detach-sign), so that no byte of it can change and still
 * verify: gpg accepts other headers, ignores the unhashed subpackets and
 * the 16-bit quick check, is lenient about MPI bit counts, and libgcrypt
 * takes an EdDSA S or an RSA signature plus the group order or modulus;
 * the signature covers none of that. The form (gpg --list-packets -vv):
 *
 *   old-format header, tag 2, its length in the fewest octets, exactly
 *       the rest of the input (one packet, nothing after it)
 *   version 4, signature type 0x00 (binary document), public-key
 *       algorithm EdDSA (22, two MPIs: Ed25519, S below the group order),
 *       RSA (1, one MPI below the modulus) or ECDSA (19, two MPIs), hash
 *       algorithm SHA-224, SHA-256, SHA-384 or SHA-512
 *   hashed subpackets: whatever they are (the signature covers them)
 *   unhashed subpackets: exactly one, an issuer key id (type 16, one-octet
 *       length 9, not critical) naming the subkey that made the signature
 *   the left 16 bits of the digest, as computed here
 *   the MPIs, each in its exact bit count (no leading zero bits or bytes)
 *
 * An ECDSA signature (r, s) stays malleable: (r, n - s) verifies too, and
 * gpg makes either. Checked after gpg has found the signature good (so
 * that what gpg says of a broken or bad signature keeps its class); for an
 * armored signature, the packets inside the armor.
 */
#define NOT_CANONICAL "signature is not in canonical form: "

typedef struct {
	int pkalgo;
	char keyid[XCH_KEYID_HEXSIZE + 1]; /* the issuer subpacket's, uppercase hex */
	const unsigned char *mpi[2];        /* each MPI's value octets, into the packet */
	size_t mpilen[2];
} sig_form;

/* The order of the Ed25519 group, little-endian. */
static const unsigned char ed25519_order[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10
};

static uint32_t be16(const unsigned char *p)
{
	return ((uint32_t)p[0] << 8) | p[1];
}

static const EVP_MD *sig_hash(int algo)
{
	switch (algo) {
	case 8: return EVP_sha256();
	case 9: return EVP_sha384();
	case 10: return EVP_sha512();
	case 11: return EVP_sha224();
	default: return NULL;
	}
}

/* Do the left 16 bits of the v4 digest of data and the hashed part q[0..hashed_end) equal left16? */
static int sig_digest_check(const EVP_MD *md, const void *data, size_t len, const unsigned char *q,
	size_t hashed_end, const unsigned char *left16)
{
	unsigned char trailer[6] = { 4, 0xff, (unsigned char)(hashed_end >> 24),
		(unsigned char)(hashed_end >> 16), (unsigned char)(hashed_end >> 8), (unsigned char)hashed_end };
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return xch_error_oom();
	ok = EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
		(len == 0 || EVP_DigestUpdate(ctx, data, len) == 1) &&
		EVP_DigestUpdate(ctx, q, hashed_end) == 1 &&
		EVP_DigestUpdate(ctx, trailer, sizeof(trailer)) == 1 &&
		EVP_DigestFinal_ex(ctx, digest, &dlen) == 1 && dlen >= 2;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return xch_error_set(XCH_ECRYPTO, "cannot compute the digest of a signature");
	if (digest[0] != left16[0] || digest[1] != left16[1])
		return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "its 16-bit digest check is %02x%02x, not %02x%02x",
			left16[0], left16[1], digest[0], digest[1]);
	return 0;
}

/*
 * Is the EdDSA S, an MPI of the little-endian octets (its leading, that is
 * least significant, zero octets dropped), below the Ed25519 group order?
 */
static bool ed25519_s_reduced(const unsigned char *mpi, size_t len)
{
	unsigned char le[32] = { 0 };
	size_t i;

	memcpy(le + 32 - len, mpi, len);
	for (i = 32; i-- > 0;)
		if (le[i] != ed25519_order[i])
			return le[i] < ed25519_order[i];
	return false;
}

/*
 * Check the packets p[0..n) of a detached signature over data are in the
 * form above, as far as the packet tells (not the issuer key id, nor an
 * RSA signature against its modulus); describe it in form.
 */
static int sig_check_canonical(const unsigned char *p, size_t n, const void *data, size_t len, sig_form *form)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *q;
	const EVP_MD *md;
	size_t hlen, body, shortest, hashed_end, off, i, nmpis;

	memset(form, 0, sizeof(*form));
	if (n < 2 || (p[0] & 0xc0) != 0x80 || ((p[0] >> 2) & 0x0f) != 2 || (p[0] & 3) == 3)
		return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "not one old-format signature packet");
	hlen = 2 + (p[0] & 3) + ((p[0] & 3) == 2 ? 1 : 0); /* 1, 2 or 4 length octets */
	if (n < hlen)
		return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "its packet header is cut short");
	for (body = 0, i = 1; i < hlen; i++)
		body = (body << 8) | p[i];
	shortest = (p[0] & 3) == 0 ? 0 : (p[0] & 3) == 1 ? 0x100 : 0x10000;
	if (body < shortest)
		return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "its packet length is not in its fewest octets");
	if (body != n - hlen)
		return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "its packet is %zu bytes long, %zu bytes follow its header",
			body, n - hlen);
	q = p + hlen;
	if (body < 6 || q[0] != 4)
		return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "not a version 4 signature");
	if (q[1] != 0x00)
		return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "signature type 0x%02x, not 0x00 (binary document)", q[1]);
	form->pkalgo = q[2];
	switch (q[2]) {
	case 1:
		nmpis = 1;
		break;
	case 19:
	case 22:
		nmpis = 2;
		break;
	default:
		return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "public-key algorithm %d is not accepted", q[2]);
	}
	if ((md = sig_hash(q[3])) == NULL)
		return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "hash algorithm %d is not accepted", q[3]);
	hashed_end = 6 + be16(q + 4);
	/* the unhashed area: its length, one issuer subpacket (length 9, type 16, key id) */
	if (hashed_end + 2 > body)
		return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "its hashed subpackets overrun the packet");
	off = hashed_end;
	if (be16(q + off) != 10 || off + 2 + 10 > body || q[off + 2] != 9 || q[off + 3] != 16)
		return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "its unhashed subpackets are not one issuer key id");
	for (i = 0; i < 8; i++) {
		form->keyid[2 * i] = hex[q[off + 4 + i] >> 4];
		form->keyid[2 * i + 1] = hex[q[off + 4 + i] & 0x0f];
	}
	form->keyid[XCH_KEYID_HEXSIZE] = '\0';
	off += 2 + 10;
	if (off + 2 > body)
		return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "it ends before its digest check");
	off += 2;
	for (i = 0; i < nmpis; i++) {
		size_t bits, bytes;
		if (off + 2 > body)
			return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "it has fewer MPIs than its algorithm needs");
		bits = be16(q + off);
		bytes = (bits + 7) / 8;
		off += 2;
		if (bits == 0 || off + bytes > body)
			return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "MPI %zu is empty or overruns the packet", i + 1);
		if ((q[off] >> ((bits - 1) % 8)) != 1)
			return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "MPI %zu does not have exactly %zu bits", i + 1, bits);
		form->mpi[i] = q + off;
		form->mpilen[i] = bytes;
		off += bytes;
	}
	if (off != body)
		return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "%zu bytes after its MPIs", body - off);
	if (form->pkalgo == 22) {
		if (form->mpilen[0] > 32 || form->mpilen[1] > 32)
			return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "an EdDSA signature of more than 256 bits");
		if (!ed25519_s_reduced(form->mpi[1], form->mpilen[1]))
			return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "its EdDSA S is not below the group order");
	}
	return sig_digest_check(md, data, len, q, hashed_end, q + hashed_end + 12);
}

/* Is the big-endian integer a[0..alen) below b[0..blen) (both without leading zero octets)? */
static bool be_below(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	if (alen != blen)
		return alen < blen;
	return memcmp(a, b, alen) < 0;
}

/*
 * Is the RSA signature s[0..slen) below the modulus of the (sub)key fpr?
 * The modulus comes from gpg's export of the key: the v4 public key or
 * subkey packet whose fingerprint is fpr.
 */
static int rsa_check_modulus(gpgme_ctx_t ctx, const char *fpr, const unsigned char *s, size_t slen)
{
	gpgme_data_t d = NULL;
	gpgme_error_t err;
	const unsigned char *p;
	size_t n = 0, off = 0;
	char *mem;
	int error = 0;
	bool found = false;

	gpgme_set_armor(ctx, 0);
	if ((err = gpgme_data_new(&d)) != 0 || (err = gpgme_op_export(ctx, fpr, GPGME_EXPORT_MODE_MINIMAL, d)) != 0) {
		gpgme_data_release(d);
		return xch_error_from_gpgme(err, "cannot export signing key '%s'", fpr);
	}
	if ((mem = gpgme_data_release_and_get_mem(d, &n)) == NULL)
		return xch_error_set(XCH_ECRYPTO, "cannot export signing key '%s': gpg wrote nothing", fpr);
	p = (const unsigned char *)mem;
	while (!found && off + 2 <= n) {
		size_t hlen, body, i, nbits, nlen;
		int tag;
		if (!(p[off] & 0x80))
			break;
		if (p[off] & 0x40) { /* new format, no partial lengths in a key */
			tag = p[off] & 0x3f;
			if (p[off + 1] < 192)
				hlen = 2, body = p[off + 1];
			else if (p[off + 1] < 224 && off + 3 <= n)
				hlen = 3, body = ((size_t)(p[off + 1] - 192) << 8) + p[off + 2] + 192;
			else if (p[off + 1] == 255 && off + 6 <= n)
				hlen = 6, body = ((size_t)p[off + 2] << 24) | ((size_t)p[off + 3] << 16) |
					((size_t)p[off + 4] << 8) | p[off + 5];
			else
				break;
		} else {
			tag = (p[off] >> 2) & 0x0f;
			if ((p[off] & 3) == 3)
				break;
			hlen = 2 + (p[off] & 3) + ((p[off] & 3) == 2 ? 1 : 0);
			if (off + hlen > n)
				break;
			for (body = 0, i = 1; i < hlen; i++)
				body = (body << 8) | p[off + i];
		}
		if (body > n - off - hlen)
			break;
		off += hlen;
		/* v4 public key or subkey: version, time (4), algorithm, n, e */
		if ((tag == 6 || tag == 14) && body >= 8 && body <= 0xffff && p[off] == 4 && p[off + 5] == 1) {
			unsigned char head[3] = { 0x99, (unsigned char)(body >> 8), (unsigned char)body };
			unsigned char sha1[20];
			char hexfpr[XCH_FPR_HEXSIZE + 1];
			EVP_MD_CTX *md = EVP_MD_CTX_new();
			unsigned int dlen = 0;
			int ok = md && EVP_DigestInit_ex(md, EVP_sha1(), NULL) == 1 &&
				EVP_DigestUpdate(md, head, 3) == 1 && EVP_DigestUpdate(md, p + off, body) == 1 &&
				EVP_DigestFinal_ex(md, sha1, &dlen) == 1 && dlen == 20;
			EVP_MD_CTX_free(md);
			if (!ok) {
				error = xch_error_set(XCH_ECRYPTO, "cannot compute a key fingerprint");
				break;
			}
			for (i = 0; i < 20; i++)
				snprintf(hexfpr + 2 * i, 3, "%02X", sha1[i]);
			if (str_ieq(hexfpr, fpr)) {
				found = true;
				nbits = be16(p + off + 6);
				nlen = (nbits + 7) / 8;
				if (nbits == 0 || 8 + nlen > body || p[off + 8] == 0)
					error = xch_error_set(XCH_ECRYPTO, "signing key '%s' has a malformed modulus", fpr);
				else if (!be_below(s, slen, p + off + 8, nlen))
					error = xch_error_set(XCH_EBADSIG,
						NOT_CANONICAL "its RSA signature is not below the modulus");
			}
		}
		off += body;
	}
	if (!error && !found)
		error = xch_error_set(XCH_ECRYPTO, "cannot find the RSA key '%s' in gpg's export of it", fpr);
	gpgme_free(mem);
	return error;
}

/*
 * After gpg found a detached signature good (vr has its one signature):
 * is it in canonical form, its issuer key id the signing key's?
 */
static int sig_check_form(gpgme_ctx_t ctx, gpgme_verify_result_t vr, const xch_buf *packets,
	const void *data, size_t len)
{
	char fpr[XCH_FPR_HEXSIZE + 1]; /* a copy: the next operation on ctx frees vr */
	sig_form form;
	int error;

	upper_copy(fpr, vr->signatures->fpr, XCH_FPR_HEXSIZE); /* 40 hex: check_signature saw to it */

	if ((error = sig_check_canonical((const unsigned char *)packets->ptr, packets->size, data, len, &form)) < 0)
		return error;
	if (!str_ieq(form.keyid, fpr + XCH_FPR_HEXSIZE - XCH_KEYID_HEXSIZE))
		return xch_error_set(XCH_EBADSIG, NOT_CANONICAL "its issuer key id %s is not the signing key %s",
			form.keyid, fpr);
	if (form.pkalgo == 1)
		return rsa_check_modulus(ctx, fpr, form.mpi[0], form.mpilen[0]);
	return 0;
}

int xch_crypto_sign_detached(xch_crypto *c, const char *signer_fpr, const void *data, size_t len,
	bool armor, xch_buf *sig)
{
	gpgme_ctx_t ctx;
	gpgme_key_t signer = NULL;
	gpgme_data_t din = NULL, dsig = NULL;
	gpgme_error_t err;
	int error;

	XCH_ARG(c && signer_fpr && (data || !len) && sig);
	if ((error = ctx_new(c, &ctx)) < 0)
		return error;
	if ((error = set_signer(ctx, signer_fpr, &signer)) < 0) {
		xch_error_prefix("cannot sign with '%s'", signer_fpr);
		goto done;
	}
	gpgme_set_armor(ctx, armor);
	gpgme_set_textmode(ctx, 0);
	if ((err = gpgme_data_new_from_mem(&din, data ? data : "", len, 0)) != 0 ||
	    (err = gpgme_data_new(&dsig)) != 0 ||
	    (err = gpgme_op_sign(ctx, din, dsig, GPGME_SIG_MODE_DETACH)) != 0) {
		error = xch_error_from_gpgme(err, "cannot sign with '%s'", signer_fpr);
		goto done;
	}
	if ((error = check_sign_result(ctx, signer, GPGME_SIG_MODE_DETACH)) < 0)
		goto done;
	error = take_data(dsig, sig);
	dsig = NULL;
done:
	gpgme_data_release(din);
	gpgme_data_release(dsig);
	gpgme_key_unref(signer);
	gpgme_release(ctx);
	return error;
}

int xch_crypto_verify_detached(xch_crypto *c, const void *data, size_t len, const void *sig,
	size_t siglen, char signer_fpr_out[XCH_FPR_HEXSIZE + 1], int64_t *sig_time)
{
	sniffer sn;
	gpgme_ctx_t ctx;
	gpgme_data_t din = NULL, dsig = NULL;
	gpgme_verify_result_t vr;
	gpgme_error_t err;
	xch_buf packets = XCH_BUF_INIT;
	int error;

	XCH_ARG(c && (data || !len) && sig && signer_fpr_out);
	signer_fpr_out[0] = '\0';
	if (sig_time)
		*sig_time = 0;
	if (siglen == 0)
		return xch_error_set(XCH_EBADSIG, "no signature: the signature is empty");
	memset(&sn, 0, sizeof(sn));
	sn.detached = true;
	sn.packets = &packets;
	if ((error = sniff(&sn, sig, siglen)) < 0 || (error = ctx_new(c, &ctx)) < 0) {
		xch_buf_dispose(&packets);
		return error;
	}
	if ((err = gpgme_data_new_from_mem(&din, data ? data : "", len, 0)) != 0 ||
	    (err = gpgme_data_new_from_mem(&dsig, sig, siglen, 0)) != 0) {
		error = xch_error_from_gpgme(err, "cannot verify");
		goto done;
	}
	err = gpgme_op_verify(ctx, dsig, din, NULL);
	if (err) {
		switch (gpgme_err_code(err)) {
		case GPG_ERR_NO_DATA:
		case GPG_ERR_BAD_DATA:
		case GPG_ERR_INV_PACKET:
		case GPG_ERR_UNKNOWN_PACKET:
		case GPG_ERR_EOF:
			xch_error_from_gpgme(err, "invalid signature");
			error = recode(XCH_EMALFORMED);
			break;
		default:
			error = xch_error_from_gpgme(err, "cannot verify");
			break;
		}
		goto done;
	}
	vr = gpgme_op_verify_result(ctx);
	if ((error = check_signature(ctx, vr, signer_fpr_out, sig_time)) < 0)
		goto done;
	/* good, by a key we know: now its form */
	error = sig_check_form(ctx, vr, &packets, data, len);
done:
	if (error) {
		signer_fpr_out[0] = '\0';
		if (sig_time)
			*sig_time = 0;
	}
	xch_buf_dispose(&packets);
	gpgme_data_release(din);
	gpgme_data_release(dsig);
	gpgme_release(ctx);
	return error;
}

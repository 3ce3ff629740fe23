/*
 * The last error, kept per thread.
 */
#include "common.h"

#include <git2.h>
#include <gpgme.h>

#define XCH_ERRMSG_MAX 1024

static _Thread_local int last_code;
static _Thread_local char last_message[XCH_ERRMSG_MAX];
static _Thread_local xch_error last_error;

static void set_message(const char *fmt, va_list ap)
{
	int n = vsnprintf(last_message, sizeof(last_message), fmt, ap);
	if (n < 0)
		strcpy(last_message, "unknown error");
	else if ((size_t)n >= sizeof(last_message))
		memcpy(last_message + sizeof(last_message) - 4, "...", 4);
	/* one line: fold any newline an underlying library left in */
	for (char *p = last_message; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

int xch_error_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	last_code = code;
	return code;
}

static void append(const char *s)
{
	size_t len = strlen(last_message);
	snprintf(last_message + len, sizeof(last_message) - len, ": %s", s);
}

int xch_error_set_os(int code, const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	append(err == ENOENT ? "no such file or directory" : strerror(err));
	last_code = code;
	return code;
}

int xch_error_prefix(const char *fmt, ...)
{
	char old[XCH_ERRMSG_MAX];
	size_t len;
	va_list ap;

	memcpy(old, last_message, sizeof(old));
	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	len = strlen(last_message);
	if (len < sizeof(last_message) - 3) {
		memcpy(last_message + len, ": ", 3);
		len += 2;
		memcpy(last_message + len, old, sizeof(last_message) - len - 1);
		last_message[sizeof(last_message) - 1] = '\0';
	}
	return last_code;
}

int xch_error_from_git(int gerr, const char *fmt, ...)
{
	const git_error *ge = git_error_last();
	int code;
	va_list ap;

	switch (gerr) {
	case GIT_ENOTFOUND: code = XCH_ENOTFOUND; break;
	case GIT_EEXISTS: code = XCH_EEXISTS; break;
	case GIT_ELOCKED: code = XCH_ELOCKED; break;
	default: code = (ge && ge->klass == GIT_ERROR_OS) ? XCH_EOS : XCH_ERROR; break;
	}
	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	append(ge && ge->message ? ge->message : "unknown libgit2 error");
	last_code = code;
	return code;
}

int xch_error_from_gpgme(unsigned int gpgme_err, const char *fmt, ...)
{
	gpgme_error_t e = (gpgme_error_t)gpgme_err;
	int code;
	va_list ap;

	switch (gpgme_err_code(e)) {
	case GPG_ERR_BAD_SIGNATURE: code = XCH_EBADSIG; break;
	case GPG_ERR_NO_PUBKEY: code = XCH_EUNTRUSTED; break;
	case GPG_ERR_KEY_EXPIRED: case GPG_ERR_SIG_EXPIRED: code = XCH_EKEYEXPIRED; break;
	case GPG_ERR_CERT_REVOKED: code = XCH_EKEYREVOKED; break;
	case GPG_ERR_NO_SECKEY: code = XCH_ENOTFORUS; break;
	case GPG_ERR_EOF: case GPG_ERR_NO_DATA: case GPG_ERR_BAD_DATA:
	case GPG_ERR_INV_PACKET: case GPG_ERR_INV_DATA: code = XCH_EMALFORMED; break;
	default: code = XCH_ECRYPTO; break;
	}
	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	append(gpgme_strerror(e));
	last_code = code;
	return code;
}

int xch_error_oom(void)
{
	last_code = XCH_ERROR;
	strcpy(last_message, "out of memory");
	return XCH_ERROR;
}

void xch_error_save(xch_error_state *st)
{
	st->code = last_code;
	st->message = strdup(last_message);
}

int xch_error_restore(xch_error_state *st)
{
	if (st->message) {
		snprintf(last_message, sizeof(last_message), "%s", st->message);
		free(st->message);
		st->message = NULL;
	}
	last_code = st->code;
	return st->code;
}

const xch_error *xch_error_last(void)
{
	last_error.code = last_code;
	last_error.message = last_code ? last_message : "no error";
	return &last_error;
}

void xch_error_clear(void)
{
	last_code = 0;
	last_message[0] = '\0';
}

const char *xch_error_name(int code)
{
	switch (code) {
	case XCH_OK: return "success";
	case XCH_ENOTFOUND: return "not found";
	case XCH_EEXISTS: return "already exists";
	case XCH_EINVALID: return "invalid argument";
	case XCH_EOS: return "system error";
	case XCH_ELOCKED: return "locked";
	case XCH_EMALFORMED: return "malformed";
	case XCH_ESCHEMA: return "schema violation";
	case XCH_ETOOBIG: return "too big";
	case XCH_EBADSIG: return "bad signature";
	case XCH_EUNTRUSTED: return "unknown signer";
	case XCH_EKEYEXPIRED: return "key expired";
	case XCH_EKEYREVOKED: return "key revoked";
	case XCH_ENOTFORUS: return "not addressed to us";
	case XCH_ETAMPERED: return "tampered";
	case XCH_EEXPIRED: return "expired";
	case XCH_EREPLAY: return "replay or rollback";
	case XCH_EGAP: return "sequence gap";
	case XCH_EMARKING: return "marking forbids";
	case XCH_ECONFLICT: return "conflict";
	case XCH_ECRYPTO: return "crypto engine failure";
	case XCH_EUNSUPPORTED: return "unsupported";
	default: return "error";
	}
}

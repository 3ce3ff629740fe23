#ifndef XCH_PRIV_ERROR_H
#define XCH_PRIV_ERROR_H

#include "common.h"

/* Set the thread's last error; returns code so callers can `return xch_error_set(...)`. */
int xch_error_set(int code, const char *fmt, ...) XCH_PRINTF(2, 3);

/* As xch_error_set, with ": strerror(errno)" appended (errno read first). */
int xch_error_set_os(int code, const char *fmt, ...) XCH_PRINTF(2, 3);

/* Put "what: " in front of the current message, keeping its code. Returns the code. */
int xch_error_prefix(const char *fmt, ...) XCH_PRINTF(1, 2);

/* Translate the last libgit2 error; returns our code for it (ENOTFOUND, EEXISTS, EOS...). */
int xch_error_from_git(int gerr, const char *fmt, ...) XCH_PRINTF(2, 3);

/* Translate a GPGME error; returns XCH_ECRYPTO or a more precise code. */
int xch_error_from_gpgme(unsigned int gpgme_err, const char *fmt, ...) XCH_PRINTF(2, 3);

/* Allocation failure; returns XCH_ERROR. */
int xch_error_oom(void);

/* Save and restore the error across cleanup code that may overwrite it. */
typedef struct { int code; char *message; } xch_error_state;
void xch_error_save(xch_error_state *st);
int xch_error_restore(xch_error_state *st);

#endif

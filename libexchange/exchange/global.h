/*
 * libexchange: library initialisation.
 */
#ifndef XCH_GLOBAL_H
#define XCH_GLOBAL_H

#include "common.h"

XCH_BEGIN_DECL

/*
 * Initialise libexchange and the libraries under it (libgit2, GPGME).
 * Call before anything else; calls nest and each needs a matching
 * xch_libexchange_shutdown(). Returns the number of initialisations
 * outstanding, or a negative error code.
 */
XCH_EXTERN(int) xch_libexchange_init(void);
XCH_EXTERN(int) xch_libexchange_shutdown(void);

/* The library's version string, e.g. "0.1.0". */
XCH_EXTERN(const char *) xch_libexchange_version(void);

XCH_END_DECL

#endif

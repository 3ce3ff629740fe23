/*
 * Unit-test helper: throwaway GNUPGHOMEs holding the fixture keys of
 * tests/resources/keys (see its README). Add testkeys.c and testkeys.h to
 * the _SOURCES of any unit test that needs keys.
 *
 *	char *home = xch_testkeys_home("agency", "company.pub", NULL);
 *	assert_non_null(home);
 *	... xch_crypto_new(&c, home) or setenv("GNUPGHOME", home, 1) ...
 *	xch_testkeys_home_remove(home);
 */
#ifndef XCH_TESTKEYS_H
#define XCH_TESTKEYS_H

#include <stddef.h>

/* Primary fingerprints (uppercase) of the fixture keys. */
#define XCH_TESTKEY_AGENCY     "BF2350B93044B7D3F0B71AB5DC21E401DE46831E"
#define XCH_TESTKEY_COMPANY    "A8D5E1EB4E97555C0C836FCE7DC063BAF26F22B1"
#define XCH_TESTKEY_SITE       "4DBF1CAA94696D7083FDC96DEC167BF29DC1C858"
#define XCH_TESTKEY_MALLORY    "612BACEFFA028AAECECEDDF4B9BAD511CFDCA760"
#define XCH_TESTKEY_AGENCY_NEW "36598F572F1AE2161879D62756DA728EE92B11B7"
#define XCH_TESTKEY_EXPIRED    "4C642BF088FA0357B33BD1E4B0126D717BC4501E"
#define XCH_TESTKEY_REVOKED    "859F13BE9A01F1BF833BDC82A1A8172407E03788"

/* The fingerprint of fixture key name ("agency", "agency-new"...), or NULL. */
const char *xch_testkeys_fpr(const char *name);

/*
 * The path of a file in tests/resources/keys ($XCH_TOP_SRCDIR, else ".")
 * into out. Returns 0, or -1 if it does not fit.
 */
int xch_testkeys_path(char *out, size_t outlen, const char *file);

/*
 * Make a new GNUPGHOME /tmp/xchXXXXXX (mode 0700; short, for gpg-agent's
 * socket) and import the named fixture keys with gpg: "NAME" imports the
 * secret key with its public key, "NAME.pub" only the public key
 * ("revoked-unrevoked" is the revoked key before its revocation). The list
 * ends with NULL. Returns the directory (free with xch_testkeys_home_remove),
 * or NULL after printing why to stderr.
 */
char *xch_testkeys_home(const char *name, ...);

/* Import more fixture keys into home, as above; 0 or -1. */
int xch_testkeys_import(const char *home, const char *const *names);

/* Stop home's gpg-agent (gpgconf --kill all), remove the directory, free home. NULL is fine. */
void xch_testkeys_home_remove(char *home);

/*
 * Run argv[0] (searched in PATH) with argv, stdin from /dev/null, stdout
 * to stdout_path if not NULL (else inherited); wait for it. Returns its
 * exit status, or -1 if it could not run or was killed.
 */
int xch_testkeys_run(const char *const argv[], const char *stdout_path);

#endif

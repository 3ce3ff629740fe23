/*
 * The xch command line: shared declarations.
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <exchange.h>
#include <exchange/record.h>
#include <exchange/store.h>
#include <exchange/schema.h>

#include "opt.h"
#include "commands.h"

/* Exit codes: the contract documented in xch(1). */
#define EXIT_OK 0
#define EXIT_CHECK 1        /* a check failed: invalid record, conflict */
#define EXIT_USAGE 2        /* usage or operational error */
#define EXIT_BADSIG 3       /* a signature does not verify */
#define EXIT_UNTRUSTED 4    /* unknown, unpinned, expired or revoked signer */
#define EXIT_NOTFORUS 5     /* not addressed to us */
#define EXIT_TAMPERED 6     /* contents differ from what was signed */
#define EXIT_EXPIRED 7      /* past its expiry time */
#define EXIT_REPLAY 8       /* replay of an old bundle, or rollback */
#define EXIT_MALFORMED 9    /* input that does not parse or breaks a limit */
#define EXIT_GAP 10         /* a sequence number is missing */
#define EXIT_MARKING 11     /* a marking forbids the recipient */

typedef struct {
	const char *dir; /* -C DIR */
} cli_global_opts;

extern cli_global_opts cli_global;

/* The exit code for a libexchange error code. */
int cli_exit_code(int error);

/* Print "xch: <last error message>" and return the exit code for error. */
int cli_fail(int error);

/* Print "xch: <formatted message>" and return code. */
int cli_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print a JSON string literal (with quotes) to f. */
void cli_json_string(FILE *f, const char *s);

#define CLI_COMMAND(name) int cmd_##name(int argc, char **argv)



#include <jansson.h>

/* Open the store: XCH_DIR if set, else the one containing the current directory. */
int cli_open_store(xch_store **out);

/* Print a JSON value (compact if !pretty) and a newline on stdout; steals the reference. */
void cli_print_json(json_t *v, bool pretty);

/* Parse canonical record JSON for display (new reference or NULL). */
json_t *cli_record_json(const xch_record *r);

/* Format seconds since the epoch as RFC 3339 UTC into out[32]. */
void cli_time(char out[32], int64_t t);
#endif

#ifndef XCH_PRIV_SCHEMA_H
#define XCH_PRIV_SCHEMA_H

#include "common.h"
#include "exchange/schema.h"

#include <jansson.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/*
 * Add a parsed schema document. schema is borrowed; the set takes its own
 * reference (do not change the document afterwards). base_uri is the URI
 * the document was retrieved from (NULL: a made-up "urn:xch:anonymous:N");
 * the document is registered under it and under its own $id, resolved
 * against it.
 */
int xch_schema_set_add_json(xch_schema_set *set, json_t *schema, const char *base_uri, xch_buf *id_out);

/* Validate a parsed instance (borrowed); as xch_schema_validate_buffer. */
int xch_schema_validate_json(xch_violations **out, xch_schema_set *set, const char *uri,
                             const json_t *instance);

/* The draft for documents without "$schema": 7 or 2020 (the default). */
int xch_schema_set_default_draft(xch_schema_set *set, int draft);

/*
 * Whether "format" asserts (the default, true) or is only an annotation
 * (as the JSON Schema Test Suite expects outside its optional/format cases).
 */
void xch_schema_set_format_assertion(xch_schema_set *set, bool on);

/*
 * A loader is asked for an absolute URI (no fragment) that no document in
 * the set has; it may add the document (xch_schema_set_add_json) and return
 * 0, or return XCH_ENOTFOUND. Nothing is ever fetched otherwise. (The test
 * suite runner uses it to serve its "remotes" from disk.)
 */
typedef int (*xch_schema_loader_fn)(xch_schema_set *set, const char *uri, void *payload);
void xch_schema_set_loader(xch_schema_set *set, xch_schema_loader_fn fn, void *payload);

/* Internals shared by schema*.c. */

/* Bound on backtracking in one regular expression match. */
#define XCH_SCHEMA_MATCH_LIMIT 1000000

/* Translate an ECMA-262 pattern into PCRE2 syntax (see schema_regex.c). */
int xch_schema_regex_translate(xch_buf *out, const char *src, size_t len);
/* Translate and compile (UTF mode, JIT when available); *out is new. */
int xch_schema_regex_compile(pcre2_code **out, const char *src, size_t len);

/* Check s against a format: 1 valid, 0 invalid, -1 format not known. */
int xch_schema_format_check(const char *format, const char *s, size_t len);

#endif

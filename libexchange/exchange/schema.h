/*
 * libexchange: JSON Schema validation (draft 2020-12 and draft 7).
 *
 * A schema set holds schema documents, each registered under its "$id"
 * (or the URI it was loaded from) together with every embedded "$id",
 * "$anchor" and "$dynamicAnchor". "$ref" resolves only within the set:
 * nothing is ever fetched from the network, and a reference to a document
 * that was not loaded is an error (XCH_ENOTFOUND).
 *
 * The dialect of each document comes from its "$schema":
 * "http://json-schema.org/draft-07/schema#" selects draft 7 (draft 6 and
 * draft 4 documents are read with draft 7 rules, draft 4's "id" and
 * boolean exclusiveMinimum/exclusiveMaximum included);
 * "https://json-schema.org/draft/2020-12/schema", or no "$schema", selects
 * draft 2020-12. "format" is an assertion: date-time, date, time,
 * duration, email, idn-email, hostname, ipv4, ipv6, uri, uri-reference,
 * iri, iri-reference, uri-template, uuid, json-pointer,
 * relative-json-pointer and regex are checked; other formats are ignored.
 * "pattern" uses ECMA-262 regular expressions (Unicode mode).
 *
 * A set is not safe for concurrent use: validation caches the resolution
 * of references in it. Use one set per thread, or serialise the calls.
 */
#ifndef XCH_SCHEMA_H
#define XCH_SCHEMA_H

#include "common.h"
#include "buf.h"

XCH_BEGIN_DECL

typedef struct xch_schema_set xch_schema_set;
typedef struct xch_violations xch_violations;

/* Most violations listed for one document; a final entry says how many more there were. */
#define XCH_SCHEMA_MAX_VIOLATIONS 1000

XCH_EXTERN(int) xch_schema_set_new(xch_schema_set **out);
XCH_EXTERN(void) xch_schema_set_free(xch_schema_set *set);

/*
 * Load a schema document; registers its $id (or, if it has none,
 * file://<realpath>) and every embedded $id/$anchor. If id_out is not
 * NULL it receives the document's base URI. XCH_EMALFORMED if the file is
 * not JSON, XCH_EINVALID if it is not a valid schema (a keyword with a
 * value of the wrong kind, a bad regular expression), XCH_EEXISTS if a URI
 * it declares is already in the set, XCH_EUNSUPPORTED for an unknown
 * "$schema".
 */
XCH_EXTERN(int) xch_schema_set_add_file(xch_schema_set *set, const char *path, xch_buf *id_out);

/*
 * As xch_schema_set_add_file, from memory. origin names the document in
 * messages and, when the document has no $id, gives its URI: origin itself
 * if it is an absolute URI, else file://<absolute path of origin>; with no
 * origin, a "urn:xch:anonymous:N" name is made up.
 */
/*
 * Load a schema document as if it had been retrieved from uri: it answers
 * to uri as well as to its own $id (e.g. FIRST's CVSS schemas declare
 * "...cvss-v3.1.json?20211103" while CSAF refers to "...cvss-v3.1.json").
 */
XCH_EXTERN(int) xch_schema_set_add_file_as(xch_schema_set *set, const char *path, const char *uri, xch_buf *id_out);
XCH_EXTERN(int) xch_schema_set_add_buffer(xch_schema_set *set, const char *data, size_t len,
                                          const char *origin, xch_buf *id_out);

/*
 * Validate a JSON document (parsed strictly with xch_json_parse) against
 * the schema at uri (may carry a #fragment: a JSON pointer or an anchor).
 * 0 if valid; XCH_ESCHEMA if it violates (then *out holds the list, else
 * *out is NULL); XCH_EMALFORMED if the document does not parse;
 * XCH_ENOTFOUND for an unknown schema or unresolvable $ref; XCH_EINVALID
 * for a schema whose $ref loops without consuming the instance;
 * XCH_ETOOBIG if evaluation exceeds the built-in work limits.
 */
XCH_EXTERN(int) xch_schema_validate_buffer(xch_violations **out, xch_schema_set *set, const char *uri,
                                           const char *data, size_t len, const char *origin);

/* Violations, in document order of evaluation. Strings are owned by v. */
XCH_EXTERN(size_t) xch_violations_count(const xch_violations *v);
/* The instance location as a JSON pointer, "" for the root. */
XCH_EXTERN(const char *) xch_violations_instance(const xch_violations *v, size_t i);
/*
 * The keyword that failed: "#/pointer/to/keyword" within the schema the
 * validation started from, "<uri>#/pointer" in another document.
 */
XCH_EXTERN(const char *) xch_violations_schema(const xch_violations *v, size_t i);
/* A plain message, e.g. "missing required property 'title'". */
XCH_EXTERN(const char *) xch_violations_message(const xch_violations *v, size_t i);
XCH_EXTERN(void) xch_violations_free(xch_violations *v);

XCH_END_DECL

#endif

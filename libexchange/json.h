#ifndef XCH_PRIV_JSON_H
#define XCH_PRIV_JSON_H

#include "common.h"

#include <jansson.h>

/* Limits on untrusted JSON, documented in xch(1) and xch-records(5). */
#define XCH_JSON_MAX_SIZE (16u * 1024 * 1024) /* bytes in one document */
#define XCH_JSON_MAX_DEPTH 64                 /* nested arrays and objects */
#define XCH_JSON_MAX_INT 9007199254740991LL   /* 2^53 - 1: exact in every JSON reader */

/*
 * Parse untrusted JSON strictly: valid UTF-8, no duplicate keys, no NUL
 * in strings, nesting at most XCH_JSON_MAX_DEPTH, integers within
 * +-XCH_JSON_MAX_INT, finite reals, at most XCH_JSON_MAX_SIZE bytes, a
 * single value with nothing after it. Messages name origin and give line and column.
 * *out is a new reference.
 */
int xch_json_parse(json_t **out, const char *data, size_t len, const char *origin);

/*
 * As xch_json_parse; *canonical (if not NULL) tells whether data is
 * byte for byte what xch_json_canonical() prints of *out. It may say
 * no of a canonical text with an escaped object key.
 */
int xch_json_parse_canon(json_t **out, bool *canonical, const char *data, size_t len, const char *origin);

/*
 * As xch_json_parse, for a large document: when it is an object whose
 * member key is an array, each element of that array goes to cb as it is
 * read (a reference cb borrows) and is left out of *out, where the array
 * stays empty. An error from cb ends the parse with it.
 */
typedef int (*xch_json_element_cb)(json_t *element, size_t index, void *payload);
int xch_json_parse_split(json_t **out, const char *data, size_t len, const char *origin, const char *key,
                         xch_json_element_cb cb, void *payload);

/* Read and parse a file strictly (as xch_json_parse). *out is a new reference. */
int xch_json_load_file(json_t **out, const char *path);

/*
 * The canonical form of a value: object keys sorted by byte order, two-space
 * indent, reals in shortest round-trip form, UTF-8 unescaped, one trailing newline.
 * Equal documents give equal bytes.
 */
int xch_json_canonical(xch_buf *out, const json_t *value);

/* The fewest significant digits that print v ("%.*g") so it reads back exactly. */
int xch_json_real_digits(double v);

/* Compact one-line form with sorted keys (for messages and --json output). */
int xch_json_compact(xch_buf *out, const json_t *value);

/* Borrowed string member, or NULL if missing or not a string. */
const char *xch_json_str(const json_t *obj, const char *key);

/* Escape a string as a JSON pointer reference token ("~" -> "~0", "/" -> "~1"). */
int xch_json_pointer_append(xch_buf *ptr, const char *token);

#endif

#ifndef XCH_PRIV_RECORD_H
#define XCH_PRIV_RECORD_H

#include "common.h"
#include "json.h"

struct xch_record {
	json_t *json;       /* owned */
	char *canonical;    /* canonical bytes, owned */
	size_t canonical_len;
	const char *id;     /* borrowed from json */
	const char *type;   /* borrowed from json */
};

/* Take ownership of a parsed object (one reference) and make a record of it. */
int xch_record_from_json(xch_record **out, json_t *json, const char *origin);

/*
 * Parse a record without making its canonical text (xch_record_canonical
 * gives NULL, 0): for who serialises it elsewhere. *canonical tells
 * whether data is that text already (xch_json_parse_canon).
 */
int xch_record_parse_untexted(xch_record **out, bool *canonical, const char *data, size_t len,
                              const char *origin);

/* The record's JSON (borrowed). */
const json_t *xch_record_json(const xch_record *r);

/* The schema URI for a record type, e.g. "urn:xch:schema:assessment". */
int xch_record_schema_uri(xch_buf *out, const char *type);

/* Is type one of the record types? */
bool xch_record_type_known(const char *type);

#endif

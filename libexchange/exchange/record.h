/*
 * libexchange: records (assessments, advisories) and their validation.
 */
#ifndef XCH_RECORD_H
#define XCH_RECORD_H

#include "common.h"
#include "buf.h"
#include "schema.h"

XCH_BEGIN_DECL

/* A parsed record: a JSON object with at least "type" and "id". */
typedef struct xch_record xch_record;

/* The record types this library knows, NULL-terminated: "assessment", "advisory". */
XCH_EXTERN(const char *const *) xch_record_types(void);

/*
 * Parse a record strictly (see xch-records(5) for the limits). Checks that it is an
 * object with a known "type" and a valid "id"; the schema is checked by
 * xch_record_validate(). origin names the input in messages.
 */
XCH_EXTERN(int) xch_record_parse(xch_record **out, const char *data, size_t len, const char *origin);
XCH_EXTERN(int) xch_record_load(xch_record **out, const char *path);

XCH_EXTERN(const char *) xch_record_id(const xch_record *r);
XCH_EXTERN(const char *) xch_record_type(const xch_record *r);
/* The "title", or "" if the record has none. */
XCH_EXTERN(const char *) xch_record_title(const xch_record *r);
/* The record's TLP level ("CLEAR" ... "RED"), or NULL. */
XCH_EXTERN(const char *) xch_record_tlp(const xch_record *r);

/* The canonical bytes of the record (borrowed; valid while r lives). */
XCH_EXTERN(int) xch_record_canonical(const xch_record *r, const char **data, size_t *len);

/* Attachment references: name, media type, size and SHA-256 of each (borrowed). */
XCH_EXTERN(size_t) xch_record_attachment_count(const xch_record *r);
XCH_EXTERN(int) xch_record_attachment(const xch_record *r, size_t i, const char **name,
                                      const char **media_type, uint64_t *size, const char **sha256);

/* Is id a valid record id ([A-Za-z0-9][A-Za-z0-9._-]{0,127}, no "..")? */
XCH_EXTERN(int) xch_record_id_valid(const char *id);

/*
 * A schema set holding the built-in record schemas (common, assessment,
 * advisory, manifest, receipt...). Free with xch_schema_set_free().
 */
XCH_EXTERN(int) xch_schema_set_builtin(xch_schema_set **out);

/*
 * Validate a record against the schema for its type. 0 if valid; XCH_ESCHEMA
 * with *out listing every violation otherwise.
 */
XCH_EXTERN(int) xch_record_validate(xch_violations **out, xch_schema_set *set, const xch_record *r);

XCH_EXTERN(void) xch_record_free(xch_record *r);

XCH_END_DECL

#endif

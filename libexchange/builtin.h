#ifndef XCH_PRIV_BUILTIN_H
#define XCH_PRIV_BUILTIN_H

#include <stddef.h>

/* A file compiled into the library (see build-aux/embed.sh). */
typedef struct {
	const char *name;
	const char *data;
	size_t len;
} xch_builtin;

/* The JSON Schemas of schemas/, terminated by an entry with a NULL name. */
extern const xch_builtin xch_builtin_schemas[];

#endif

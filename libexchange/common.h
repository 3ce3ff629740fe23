/*
 * Private definitions included first by every libexchange source file.
 */
#ifndef XCH_PRIV_COMMON_H
#define XCH_PRIV_COMMON_H

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exchange.h"

#define XCH_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
# define XCH_PRINTF(a, b) __attribute__((format(printf, a, b)))
# define XCH_UNUSED __attribute__((unused))
#else
# define XCH_PRINTF(a, b)
# define XCH_UNUSED
#endif

/* Check an argument the caller must supply; set XCH_EINVALID if absent. */
#define XCH_ARG(expr) do { \
	if (!(expr)) \
		return xch_error_set(XCH_EINVALID, "invalid argument: %s", #expr); \
} while (0)

#include "error.h"
#include "buf.h"

#endif

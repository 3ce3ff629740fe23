/*
 * libexchange: common definitions shared by every public header.
 */
#ifndef XCH_COMMON_H
#define XCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
# define XCH_BEGIN_DECL extern "C" {
# define XCH_END_DECL }
#else
# define XCH_BEGIN_DECL
# define XCH_END_DECL
#endif

/* Marks a function exported from libexchange. */
#if defined(XCH_BUILDING_LIBRARY) && defined(__GNUC__)
# define XCH_EXTERN(type) extern __attribute__((visibility("default"))) type
#else
# define XCH_EXTERN(type) extern type
#endif

/* Length in hex digits of a SHA-256 digest, without the NUL. */
#define XCH_SHA256_HEXSIZE 64

#endif

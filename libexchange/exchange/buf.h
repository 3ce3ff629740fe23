/*
 * libexchange: growable byte buffers for strings the library returns.
 */
#ifndef XCH_BUF_H
#define XCH_BUF_H

#include "common.h"

XCH_BEGIN_DECL

/*
 * A buffer the library fills. ptr is NUL-terminated whenever it is not
 * NULL; size does not count the NUL. Start from XCH_BUF_INIT and release
 * with xch_buf_dispose().
 */
typedef struct {
	char *ptr;
	size_t size;
	size_t asize;
} xch_buf;

#define XCH_BUF_INIT { NULL, 0, 0 }

XCH_EXTERN(void) xch_buf_dispose(xch_buf *buf);

XCH_END_DECL

#endif

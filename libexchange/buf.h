#ifndef XCH_PRIV_BUF_H
#define XCH_PRIV_BUF_H

#include "common.h"

/* Make room for at least `need` more bytes (plus NUL). */
int xch_buf_grow(xch_buf *buf, size_t need);
int xch_buf_put(xch_buf *buf, const void *data, size_t len);
int xch_buf_puts(xch_buf *buf, const char *s);
int xch_buf_putc(xch_buf *buf, char c);
int xch_buf_printf(xch_buf *buf, const char *fmt, ...) XCH_PRINTF(2, 3);
int xch_buf_sets(xch_buf *buf, const char *s);
void xch_buf_clear(xch_buf *buf);
/* Take the string out of buf (caller frees); buf is left empty. */
char *xch_buf_detach(xch_buf *buf);
/* Append the lowercase hex of len bytes. */
int xch_buf_put_hex(xch_buf *buf, const unsigned char *data, size_t len);

#endif

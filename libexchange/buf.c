/*
 * Growable byte buffers.
 */
#include "common.h"

int xch_buf_grow(xch_buf *buf, size_t need)
{
	size_t want, asize;
	char *p;

	if (need > SIZE_MAX - buf->size - 1)
		return xch_error_oom();
	want = buf->size + need + 1;
	if (want <= buf->asize)
		return 0;
	asize = buf->asize ? buf->asize : 64;
	while (asize < want)
		asize = asize > SIZE_MAX / 2 ? want : asize * 2;
	if (!(p = realloc(buf->ptr, asize)))
		return xch_error_oom();
	buf->ptr = p;
	buf->asize = asize;
	return 0;
}

int xch_buf_put(xch_buf *buf, const void *data, size_t len)
{
	if (xch_buf_grow(buf, len) < 0)
		return XCH_ERROR;
	if (len)
		memcpy(buf->ptr + buf->size, data, len);
	buf->size += len;
	buf->ptr[buf->size] = '\0';
	return 0;
}

int xch_buf_puts(xch_buf *buf, const char *s)
{
	return xch_buf_put(buf, s, strlen(s));
}

int xch_buf_putc(xch_buf *buf, char c)
{
	return xch_buf_put(buf, &c, 1);
}

int xch_buf_printf(xch_buf *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return xch_error_set(XCH_ERROR, "cannot format string");
	if (xch_buf_grow(buf, (size_t)n) < 0)
		return XCH_ERROR;
	va_start(ap, fmt);
	vsnprintf(buf->ptr + buf->size, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf->size += (size_t)n;
	return 0;
}

int xch_buf_sets(xch_buf *buf, const char *s)
{
	xch_buf_clear(buf);
	return xch_buf_puts(buf, s);
}

void xch_buf_clear(xch_buf *buf)
{
	buf->size = 0;
	if (buf->ptr)
		buf->ptr[0] = '\0';
}

char *xch_buf_detach(xch_buf *buf)
{
	char *p = buf->ptr;
	if (!p)
		p = strdup("");
	buf->ptr = NULL;
	buf->size = buf->asize = 0;
	return p;
}

int xch_buf_put_hex(xch_buf *buf, const unsigned char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	if (xch_buf_grow(buf, len * 2) < 0)
		return XCH_ERROR;
	for (size_t i = 0; i < len; i++) {
		buf->ptr[buf->size++] = hex[data[i] >> 4];
		buf->ptr[buf->size++] = hex[data[i] & 15];
	}
	buf->ptr[buf->size] = '\0';
	return 0;
}

void xch_buf_dispose(xch_buf *buf)
{
	if (!buf)
		return;
	free(buf->ptr);
	buf->ptr = NULL;
	buf->size = buf->asize = 0;
}

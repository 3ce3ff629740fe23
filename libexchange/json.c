/*
 * Canonical JSON output, on jansson (the reader is jsonread.c).
 */
#include "common.h"
#include "json.h"
#include "util.h"

int xch_json_load_file(json_t **out, const char *path)
{
	xch_buf buf = XCH_BUF_INIT;
	int error = xch_file_read(&buf, path, XCH_JSON_MAX_SIZE, 0);
	if (error == XCH_ETOOBIG)
		error = xch_error_set(XCH_ETOOBIG, "'%s': larger than the %u-byte limit for a JSON document",
		                      path, XCH_JSON_MAX_SIZE);
	if (!error)
		error = xch_json_parse(out, buf.ptr, buf.size, path);
	xch_buf_dispose(&buf);
	return error;
}

static int dump_cb(const char *data, size_t size, void *payload)
{
	return xch_buf_put(payload, data, size) < 0 ? -1 : 0;
}

int xch_json_real_digits(double v)
{
	char tmp[64];
	for (int p = 1; p < 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*g", p, v);
		if (strtod(tmp, NULL) == v)
			return p;
	}
	return 17;
}

/*
 * jansson prints every real of a document with one precision: take the
 * smallest that reads every real back exactly, so 9.8 stays "9.8" and the
 * output depends on the values alone.
 */
static int max_real_digits(const json_t *v)
{
	const char *key;
	json_t *child;
	size_t i;
	int p = 1, q;

	switch (json_typeof(v)) {
	case JSON_REAL:
		return xch_json_real_digits(json_real_value(v));
	case JSON_OBJECT:
		json_object_foreach((json_t *)v, key, child)
			if ((q = max_real_digits(child)) > p)
				p = q;
		return p;
	case JSON_ARRAY:
		json_array_foreach(v, i, child)
			if ((q = max_real_digits(child)) > p)
				p = q;
		return p;
	default:
		return p;
	}
}

int xch_json_canonical(xch_buf *out, const json_t *value)
{
	xch_buf_clear(out);
	if (json_dump_callback(value, dump_cb, out, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_ENCODE_ANY |
	                       JSON_REAL_PRECISION(max_real_digits(value))) < 0)
		return xch_error_set(XCH_ERROR, "cannot serialise JSON");
	return xch_buf_putc(out, '\n');
}

int xch_json_compact(xch_buf *out, const json_t *value)
{
	xch_buf_clear(out);
	if (json_dump_callback(value, dump_cb, out, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY |
	                       JSON_REAL_PRECISION(max_real_digits(value))) < 0)
		return xch_error_set(XCH_ERROR, "cannot serialise JSON");
	if (!out->ptr)
		return xch_buf_puts(out, "");
	return 0;
}

const char *xch_json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

int xch_json_pointer_append(xch_buf *ptr, const char *token)
{
	if (xch_buf_putc(ptr, '/') < 0)
		return XCH_ERROR;
	for (const char *p = token; *p; p++) {
		int error;
		if (*p == '~')
			error = xch_buf_puts(ptr, "~0");
		else if (*p == '/')
			error = xch_buf_puts(ptr, "~1");
		else
			error = xch_buf_putc(ptr, *p);
		if (error < 0)
			return error;
	}
	return 0;
}

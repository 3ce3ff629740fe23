/*
 * Strict JSON input and canonical JSON output, on jansson.
 */
#include "common.h"
#include "json.h"
#include "util.h"

/*
 * Measure nesting depth before handing the text to jansson, so a hostile
 * document is refused with a clear message instead of exhausting the parser.
 */
static int check_depth(const char *data, size_t len, const char *origin)
{
	int depth = 0;
	size_t line = 1, col = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		col++;
		if (c == '\n') {
			line++;
			col = 0;
		}
		if (in_string) {
			if (c == '\\')
				i++, col++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			if (++depth > XCH_JSON_MAX_DEPTH)
				return xch_error_set(XCH_EMALFORMED,
					"'%s': line %zu, column %zu: nesting deeper than %d levels",
					origin, line, col, XCH_JSON_MAX_DEPTH);
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return 0;
}

static int check_numbers(const json_t *v, const char *origin)
{
	const char *key;
	json_t *child;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_INTEGER:
		if (json_integer_value(v) > XCH_JSON_MAX_INT || json_integer_value(v) < -XCH_JSON_MAX_INT)
			return xch_error_set(XCH_EMALFORMED, "'%s': number %" JSON_INTEGER_FORMAT
				" out of range (limit is 2^53-1)", origin, json_integer_value(v));
		return 0;
	case JSON_OBJECT:
		json_object_foreach((json_t *)v, key, child)
			if (check_numbers(child, origin) < 0)
				return XCH_EMALFORMED;
		return 0;
	case JSON_ARRAY:
		json_array_foreach(v, i, child)
			if (check_numbers(child, origin) < 0)
				return XCH_EMALFORMED;
		return 0;
	default:
		return 0;
	}
}

int xch_json_parse(json_t **out, const char *data, size_t len, const char *origin)
{
	json_error_t jerr;
	json_t *v;

	if (!origin)
		origin = "<input>";
	if (len > XCH_JSON_MAX_SIZE)
		return xch_error_set(XCH_ETOOBIG, "'%s': larger than the %u-byte limit for a JSON document",
		                     origin, XCH_JSON_MAX_SIZE);
	if (check_depth(data, len, origin) < 0)
		return XCH_EMALFORMED;
	v = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!v) {
		const char *text = jerr.text;
		if (strstr(text, "too big integer") || strstr(text, "real number overflow"))
			text = "number out of range";
		else if (strstr(text, "NUL"))
			text = "NUL character (\\u0000) in a string";
		else if (jerr.position <= 3 && len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
			text = "byte order mark before the document";
		return xch_error_set(XCH_EMALFORMED, "'%s': line %d, column %d: %s",
		                     origin, jerr.line, jerr.column, text);
	}
	if (check_numbers(v, origin) < 0) {
		json_decref(v);
		return XCH_EMALFORMED;
	}
	*out = v;
	return 0;
}

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

/* The fewest significant digits that print v so it reads back exactly. */
static int real_digits(double v)
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
		return real_digits(json_real_value(v));
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

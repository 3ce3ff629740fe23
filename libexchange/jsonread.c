/*
 * Strict JSON input: one pass over the text builds jansson values and tells
 * whether the text is already in canonical form (xch_json_canonical), so
 * a record that arrives canonical is stored without being printed again.
 *
 * What is accepted is RFC 8259 with the limits of json.h: valid UTF-8, no
 * duplicate keys, no NUL in strings, nesting at most XCH_JSON_MAX_DEPTH,
 * integers within +-XCH_JSON_MAX_INT, finite reals, one value. The unit
 * tests hold it to jansson's own reader on the same texts.
 */
#include "common.h"
#include "json.h"
#include "util.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>

typedef struct {
	size_t off, len;        /* the token in the text */
	double v;
} real_tok;

typedef struct {
	const unsigned char *start, *p, *end;
	const char *origin;
	bool canon;             /* the text so far is what xch_json_canonical prints */
	xch_buf str;            /* a string with escapes, decoded */
	real_tok *reals;        /* while canon: every real, checked at the end */
	size_t nreals, areals;
	/* the elements of this top-level member, an array, go to split_cb one by one */
	const char *split_key;
	xch_json_element_cb split_cb;
	void *split_payload;
} reader;

/* Bytes that stand for themselves in a string: printable ASCII but '"' and '\'. */
static const unsigned char plain[256] = {
	['\x20'] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static int fail(reader *rd, const unsigned char *at, const char *what)
{
	size_t line = 1, col = 1;
	for (const unsigned char *q = rd->start; q < at && q < rd->end; q++) {
		if (*q == '\n')
			line++, col = 1;
		else
			col++;
	}
	return xch_error_set(XCH_EMALFORMED, "'%s': line %zu, column %zu: %s", rd->origin, line, col, what);
}

static int fail_here(reader *rd)
{
	return fail(rd, rd->p, rd->p < rd->end ? "unexpected character" : "unexpected end of input");
}

/* Skip white space; the span skipped is [*from, rd->p). */
static void skip_ws(reader *rd, const unsigned char **from)
{
	*from = rd->p;
	while (rd->p < rd->end && (*rd->p == ' ' || *rd->p == '\n' || *rd->p == '\t' || *rd->p == '\r'))
		rd->p++;
}

/* Keep canon only if [from, rd->p) is a newline and indent spaces (or, with no newline, indent spaces). */
static void want_ws(reader *rd, const unsigned char *from, bool newline, size_t indent)
{
	size_t n = (size_t)(rd->p - from);
	if (!rd->canon)
		return;
	if (newline) {
		if (n != indent + 1 || *from != '\n') {
			rd->canon = false;
			return;
		}
		from++;
	} else if (n != indent) {
		rd->canon = false;
		return;
	}
	for (size_t i = 0; i < indent; i++)
		if (from[i] != ' ') {
			rd->canon = false;
			return;
		}
}

/* The length of the UTF-8 sequence at p (strict: no overlong forms, surrogates or values past U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t n;
	uint32_t cp;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static int hex4(const unsigned char *p, uint32_t *out, bool *upper_or_digit)
{
	uint32_t v = 0;
	*upper_or_digit = true;
	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10), *upper_or_digit = false;
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void put_utf8(xch_buf *b, uint32_t cp, int *error)
{
	unsigned char u[4];
	size_t n;
	if (cp < 0x80)
		u[0] = (unsigned char)cp, n = 1;
	else if (cp < 0x800)
		u[0] = (unsigned char)(0xc0 | cp >> 6), u[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
	else if (cp < 0x10000)
		u[0] = (unsigned char)(0xe0 | cp >> 12), u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)),
		u[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
	else
		u[0] = (unsigned char)(0xf0 | cp >> 18), u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f)),
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)), u[3] = (unsigned char)(0x80 | (cp & 0x3f)), n = 4;
	if (*error == 0 && xch_buf_put(b, u, n) < 0)
		*error = XCH_ERROR;
}

/*
 * The string at rd->p (its opening quote): *s and *len are its value,
 * either in the text itself or, when it has escapes, in rd->str.
 * *escaped says which. Canonical strings escape only '"', '\' and
 * control characters, these as jansson prints them.
 */
static int read_string(reader *rd, const char **s, size_t *len, bool *escaped)
{
	const unsigned char *q = rd->p + 1, *seg = q, *end = rd->end;
	int error = 0;

	*escaped = false;
	for (;;) {
		unsigned char c;
		while (q < end && plain[*q])
			q++;
		if (q >= end)
			return fail(rd, q, "unexpected end of input in a string");
		c = *q;
		if (c == '"')
			break;
		if (c >= 0x80) {
			size_t n = utf8_len(q, end);
			if (!n)
				return fail(rd, q, "invalid UTF-8 in a string");
			q += n;
			continue;
		}
		if (c < 0x20)
			return fail(rd, q, "control character in a string");
		/* an escape */
		if (!*escaped) {
			xch_buf_clear(&rd->str);
			*escaped = true;
		}
		if (error == 0 && xch_buf_put(&rd->str, seg, (size_t)(q - seg)) < 0)
			error = XCH_ERROR;
		if (end - q < 2)
			return fail(rd, q, "unexpected end of input in a string");
		switch (q[1]) {
		case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't': case '/': {
			static const char from[] = "\"\\bfnrt/", to[] = "\"\\\b\f\n\r\t/";
			char d = to[strchr(from, q[1]) - from];
			if (q[1] == '/')
				rd->canon = false;
			if (error == 0 && xch_buf_putc(&rd->str, d) < 0)
				error = XCH_ERROR;
			q += 2;
			break;
		}
		case 'u': {
			uint32_t cp, lo;
			bool up;
			if (end - q < 6 || hex4(q + 2, &cp, &up) < 0)
				return fail(rd, q, "invalid \\u escape");
			/* jansson prints a control character it has no short escape for as \u00XX */
			if (cp >= 0x20 || cp == '\b' || cp == '\f' || cp == '\n' || cp == '\r' || cp == '\t' || !up)
				rd->canon = false;
			if (cp == 0)
				return fail(rd, q, "NUL character (\\u0000) in a string");
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return fail(rd, q, "invalid Unicode: a low surrogate alone");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - q < 12 || q[6] != '\\' || q[7] != 'u' || hex4(q + 8, &lo, &up) < 0 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return fail(rd, q, "invalid Unicode: a high surrogate without its low one");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				q += 6;
			}
			put_utf8(&rd->str, cp, &error);
			q += 6;
			break;
		}
		default:
			return fail(rd, q, "invalid escape in a string");
		}
		seg = q;
	}
	if (*escaped) {
		if (error == 0 && xch_buf_put(&rd->str, seg, (size_t)(q - seg)) < 0)
			error = XCH_ERROR;
		if (error < 0)
			return xch_error_oom();
		*s = rd->str.ptr;
		*len = rd->str.size;
	} else {
		*s = (const char *)rd->p + 1;
		*len = (size_t)(q - rd->p - 1);
	}
	rd->p = q + 1;
	return 0;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* strtod in the C locale, whatever the program's is. */
static double c_strtod(const char *s, char **endp)
{
	pthread_once(&c_locale_once, make_c_locale);
	if (c_locale)
		return strtod_l(s, endp, c_locale);
	return strtod(s, endp);
}

static int read_number(reader *rd, json_t **out)
{
	const unsigned char *t = rd->p, *q = t, *end = rd->end, *digits;
	bool neg = false, real = false;

	if (*q == '-')
		q++, neg = true;
	digits = q;
	if (q < end && *q == '0') {
		q++;
	} else if (q < end && *q >= '1' && *q <= '9') {
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	} else {
		return fail(rd, q, "invalid number");
	}
	if (q < end && *q == '.') {
		real = true;
		if (++q >= end || *q < '0' || *q > '9')
			return fail(rd, q, "invalid number");
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		real = true;
		if (++q < end && (*q == '+' || *q == '-'))
			q++;
		if (q >= end || *q < '0' || *q > '9')
			return fail(rd, q, "invalid number");
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	}
	if (!real) {
		long long v = 0;
		if (q - digits > 16)
			return fail(rd, t, "number out of range (limit is 2^53-1)");
		for (const unsigned char *d = digits; d < q; d++)
			v = v * 10 + (*d - '0');
		if (v > XCH_JSON_MAX_INT)
			return fail(rd, t, "number out of range (limit is 2^53-1)");
		if (neg && v == 0)
			rd->canon = false; /* printed "0" */
		*out = json_integer(neg ? -v : v);
	} else {
		char small[64], *s = small, *e;
		size_t n = (size_t)(q - t);
		double v;
		if (n >= sizeof(small) && !(s = malloc(n + 1)))
			return xch_error_oom();
		memcpy(s, t, n);
		s[n] = '\0';
		errno = 0;
		v = c_strtod(s, &e);
		if (s != small)
			free(s);
		if (errno == ERANGE && isinf(v))
			return fail(rd, t, "number out of range");
		if (rd->canon) {
			if (rd->nreals == rd->areals) {
				size_t a = rd->areals ? 2 * rd->areals : 16;
				real_tok *r = realloc(rd->reals, a * sizeof(*r));
				if (!r)
					return xch_error_oom();
				rd->reals = r;
				rd->areals = a;
			}
			rd->reals[rd->nreals++] = (real_tok){ (size_t)(t - rd->start), n, v };
		}
		*out = json_real(v);
	}
	if (!*out)
		return xch_error_oom();
	rd->p = q;
	return 0;
}

static int read_value(reader *rd, json_t **out, size_t depth);

/* Past an opening bracket: 1 if the container closes at once (empty), else 0. */
static int open_container(reader *rd, size_t depth, char close)
{
	const unsigned char *ws;

	rd->p++;
	skip_ws(rd, &ws);
	if (rd->p < rd->end && *rd->p == close) {
		want_ws(rd, ws, false, 0);
		rd->p++;
		return 1;
	}
	want_ws(rd, ws, true, 2 * (depth + 1));
	return 0;
}

/* After an element or member: 0 if a ',' says another comes, 1 if close ends the container. */
static int next_or_close(reader *rd, size_t depth, char close)
{
	const unsigned char *ws;

	skip_ws(rd, &ws);
	if (rd->p < rd->end && *rd->p == ',') {
		want_ws(rd, ws, false, 0);
		rd->p++;
		skip_ws(rd, &ws);
		want_ws(rd, ws, true, 2 * (depth + 1));
		return 0;
	}
	if (rd->p < rd->end && *rd->p == close) {
		want_ws(rd, ws, true, 2 * depth);
		rd->p++;
		return 1;
	}
	return fail(rd, rd->p, rd->p >= rd->end ? "unexpected end of input" :
	            close == ']' ? "',' or ']' expected" : "',' or '}' expected");
}

/* An array; split: its elements go to rd->split_cb, not into it. */
static int read_array(reader *rd, json_t **out, size_t depth, bool split)
{
	json_t *a = json_array();
	size_t index = 0;
	int error;

	if (!a)
		return xch_error_oom();
	if (open_container(rd, depth, ']')) {
		*out = a;
		return 0;
	}
	for (;;) {
		json_t *v;
		if ((error = read_value(rd, &v, depth + 1)) < 0)
			goto fail;
		if (split) {
			error = rd->split_cb(v, index++, rd->split_payload);
			json_decref(v);
			if (error < 0)
				goto fail;
		} else if (json_array_append_new(a, v) < 0) {
			error = xch_error_oom();
			goto fail;
		}
		if ((error = next_or_close(rd, depth, ']')) < 0)
			goto fail;
		if (error == 1) {
			*out = a;
			return 0;
		}
	}
fail:
	json_decref(a);
	return error;
}

static int read_object(reader *rd, json_t **out, size_t depth)
{
	const unsigned char *ws;
	const char *prev = NULL;
	size_t prevlen = 0;
	bool sorted = true;     /* keys so far in increasing order: none can repeat */
	json_t *o = json_object();
	int error;

	if (!o)
		return xch_error_oom();
	if (open_container(rd, depth, '}')) {
		*out = o;
		return 0;
	}
	for (;;) {
		const unsigned char *at = rd->p;
		const char *key;
		char *copy = NULL;
		size_t keylen;
		bool escaped;
		json_t *v;

		if (at >= rd->end || *at != '"') {
			error = fail(rd, at, at < rd->end ? "string or '}' expected" : "unexpected end of input");
			goto fail;
		}
		if ((error = read_string(rd, &key, &keylen, &escaped)) < 0)
			goto fail;
		if (escaped) {
			/* rd->str is needed again for the value: keep the key apart */
			if (!(copy = malloc(keylen + 1))) {
				error = xch_error_oom();
				goto fail;
			}
			memcpy(copy, key, keylen);
			key = copy;
			/* rare: a canonical key may hold escapes, but is not told apart */
			sorted = false;
		} else if (sorted && prev) {
			int c = memcmp(prev, key, prevlen < keylen ? prevlen : keylen);
			if (c > 0 || (c == 0 && prevlen >= keylen))
				sorted = false;
		}
		if (!sorted) {
			rd->canon = false;
			if (json_object_getn(o, key, keylen)) {
				free(copy);
				error = fail(rd, at, "duplicate object key");
				goto fail;
			}
		}
		if (sorted) {
			prev = key;     /* in the text itself: it stays */
			prevlen = keylen;
		}
		skip_ws(rd, &ws);
		want_ws(rd, ws, false, 0);
		if (rd->p >= rd->end || *rd->p != ':') {
			free(copy);
			error = fail(rd, rd->p, rd->p < rd->end ? "':' expected" : "unexpected end of input");
			goto fail;
		}
		rd->p++;
		skip_ws(rd, &ws);
		want_ws(rd, ws, false, 1);
		if (depth == 0 && rd->split_cb && rd->p < rd->end && *rd->p == '[' &&
		    keylen == strlen(rd->split_key) && !memcmp(key, rd->split_key, keylen))
			error = read_array(rd, &v, depth + 1, true);
		else
			error = read_value(rd, &v, depth + 1);
		if (error < 0) {
			free(copy);
			goto fail;
		}
		error = json_object_setn_new_nocheck(o, key, keylen, v);
		free(copy);
		if (error < 0) {
			error = xch_error_oom();
			goto fail;
		}
		if ((error = next_or_close(rd, depth, '}')) < 0)
			goto fail;
		if (error == 1) {
			*out = o;
			return 0;
		}
	}
fail:
	json_decref(o);
	return error;
}

static int read_literal(reader *rd, const char *word, json_t *v, json_t **out)
{
	size_t n = strlen(word);
	if ((size_t)(rd->end - rd->p) < n || memcmp(rd->p, word, n))
		return fail(rd, rd->p, "invalid literal");
	rd->p += n;
	*out = v;
	return 0;
}

/* The value at rd->p, at depth (of its indent) depth. */
static int read_value(reader *rd, json_t **out, size_t depth)
{
	if (rd->p >= rd->end)
		return fail_here(rd);
	switch (*rd->p) {
	case '{':
	case '[':
		if (depth + 1 > XCH_JSON_MAX_DEPTH) {
			char what[64];
			snprintf(what, sizeof(what), "nesting deeper than %d levels", XCH_JSON_MAX_DEPTH);
			return fail(rd, rd->p, what);
		}
		return *rd->p == '{' ? read_object(rd, out, depth) : read_array(rd, out, depth, false);
	case '"': {
		const char *s;
		size_t len;
		bool escaped;
		int error = read_string(rd, &s, &len, &escaped);
		if (error < 0)
			return error;
		if (!(*out = json_stringn_nocheck(s, len)))
			return xch_error_oom();
		return 0;
	}
	case 't':
		return read_literal(rd, "true", json_true(), out);
	case 'f':
		return read_literal(rd, "false", json_false(), out);
	case 'n':
		return read_literal(rd, "null", json_null(), out);
	default:
		if (*rd->p == '-' || (*rd->p >= '0' && *rd->p <= '9'))
			return read_number(rd, out);
		return fail_here(rd);
	}
}

/* As jansson prints a real with precision digits (its jsonp_dtostr). */
static void print_real(char *buf, size_t size, double v, int precision)
{
	char *e, *from, *to;
	snprintf(buf, size, "%.*g", precision, v);
	if (!strchr(buf, '.') && !strchr(buf, 'e'))
		snprintf(buf + strlen(buf), size - strlen(buf), ".0");
	if ((e = strchr(buf, 'e'))) {
		to = e + 1;
		if (*to == '-')
			to++;
		from = to;
		if (*from == '+')
			from++;
		while (*from == '0' && from[1])
			from++;
		memmove(to, from, strlen(from) + 1);
	}
}

/* Are the reals printed as xch_json_canonical prints them? */
static bool reals_canonical(reader *rd)
{
	int p = 1;
	char buf[64];

	for (size_t i = 0; i < rd->nreals; i++) {
		int q = xch_json_real_digits(rd->reals[i].v);
		if (q > p)
			p = q;
	}
	for (size_t i = 0; i < rd->nreals; i++) {
		print_real(buf, sizeof(buf), rd->reals[i].v, p);
		if (strlen(buf) != rd->reals[i].len || memcmp(buf, rd->start + rd->reals[i].off, rd->reals[i].len))
			return false;
	}
	return true;
}

static int parse(json_t **out, bool *canonical, const char *data, size_t len, const char *origin,
                 const char *split_key, xch_json_element_cb split_cb, void *split_payload)
{
	reader rd = { (const unsigned char *)data, (const unsigned char *)data,
	              (const unsigned char *)data + len, origin ? origin : "<input>", true,
	              XCH_BUF_INIT, NULL, 0, 0, split_key, split_cb, split_payload };
	const unsigned char *ws;
	json_t *v = NULL;
	int error;

	XCH_ARG(out && (data || !len));
	if (len > XCH_JSON_MAX_SIZE)
		return xch_error_set(XCH_ETOOBIG, "'%s': larger than the %u-byte limit for a JSON document",
		                     rd.origin, XCH_JSON_MAX_SIZE);
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		return fail(&rd, rd.p, "byte order mark before the document");
	skip_ws(&rd, &ws);
	want_ws(&rd, ws, false, 0);
	if ((error = read_value(&rd, &v, 0)) == 0) {
		skip_ws(&rd, &ws);
		if (rd.p < rd.end) {
			error = fail(&rd, rd.p, "end of input expected");
		} else {
			want_ws(&rd, ws, true, 0);
			if (canonical)
				*canonical = rd.canon && reals_canonical(&rd);
		}
	}
	xch_buf_dispose(&rd.str);
	free(rd.reals);
	if (error < 0) {
		json_decref(v);
		return error;
	}
	*out = v;
	return 0;
}

int xch_json_parse_canon(json_t **out, bool *canonical, const char *data, size_t len, const char *origin)
{
	return parse(out, canonical, data, len, origin, NULL, NULL, NULL);
}

int xch_json_parse(json_t **out, const char *data, size_t len, const char *origin)
{
	return parse(out, NULL, data, len, origin, NULL, NULL, NULL);
}

int xch_json_parse_split(json_t **out, const char *data, size_t len, const char *origin, const char *key,
                         xch_json_element_cb cb, void *payload)
{
	XCH_ARG(key && cb);
	return parse(out, NULL, data, len, origin, key, cb, payload);
}

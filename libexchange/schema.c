/*
 * JSON Schema validation (draft 2020-12 and draft 7) on jansson.
 *
 * Schema documents are compiled once, when they are added to a set: every
 * subschema becomes an `snode` with its keywords parsed (numbers, counts,
 * compiled regular expressions, property maps), and every "$id", "$anchor"
 * and "$dynamicAnchor" is registered. References are resolved through hash
 * tables, on the first validation that needs them ("linking"), and cached.
 *
 * Validation walks the compiled nodes. It either collects every violation
 * (instance pointer, keyword location, message) or, inside "not", "if",
 * "contains" and the trial runs of "anyOf"/"oneOf", only answers yes or
 * no and stops at the first failure. Annotations for
 * unevaluatedProperties/unevaluatedItems are bit sets over the members of
 * the instance object or array, passed down through the in-place
 * applicators and dropped when a subschema fails.
 *
 * Hostile input: instance nesting is bounded by the strict parser; schema
 * evaluation depth, total work, regular expression backtracking and the
 * number of violations listed are bounded here; a "$ref" cycle that does
 * not consume the instance is detected and refused.
 */
#include "common.h"
#include "schema.h"
#include "json.h"
#include "util.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <unistd.h>

#define MAX_EVAL_DEPTH 400        /* nested schema evaluations */
#define MAX_STEPS 10000000UL      /* schema evaluations in one validation */
#define MAX_SCHEMA_DEPTH 200      /* nesting of subschemas in a document */

enum { DRAFT4 = 4, DRAFT7 = 7, DRAFT2020 = 2020 };

enum {
	TY_NULL = 1, TY_BOOLEAN = 2, TY_OBJECT = 4, TY_ARRAY = 8,
	TY_NUMBER = 16, TY_STRING = 32, TY_INTEGER = 64
};

enum {
	NF_BOOL = 1,        /* a boolean schema */
	NF_TRUE = 2,        /* ...that is true */
	NF_LINKED = 4,      /* references below resolved */
	NF_REF_ONLY = 8,    /* draft 7 "$ref": siblings ignored */
	NF_XMIN_BOOL = 16,  /* draft 4 exclusiveMinimum: true */
	NF_XMAX_BOOL = 32,  /* draft 4 exclusiveMaximum: true */
	NF_UNIQUE = 64      /* uniqueItems: true */
};

/* ---- hash maps ---- */

typedef struct {
	const char *key;
	size_t len;
	uint64_t hash;
	void *val;
} sment;

typedef struct {
	sment *e;
	size_t cap, n;
} smap;

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static sment *smap_find(const smap *m, const char *key, size_t len, uint64_t h)
{
	size_t i;
	if (!m->cap)
		return NULL;
	for (i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		sment *e = &m->e[i];
		if (!e->key)
			return e;
		if (e->hash == h && e->len == len && !memcmp(e->key, key, len))
			return e;
	}
}

static void *smap_get(const smap *m, const char *key, size_t len)
{
	sment *e = smap_find(m, key, len, hash_bytes(key, len));
	return e && e->key ? e->val : NULL;
}

/* Insert; 1 if the key was there (left unchanged), 0 if added. key is borrowed. */
static int smap_put(smap *m, const char *key, size_t len, void *val)
{
	uint64_t h = hash_bytes(key, len);
	sment *e;

	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		sment *old = m->e, *ne = calloc(cap, sizeof(*ne));
		size_t oldcap = m->cap;
		if (!ne)
			return xch_error_oom();
		m->e = ne;
		m->cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].key)
				*smap_find(m, old[i].key, old[i].len, old[i].hash) = old[i];
		free(old);
	}
	e = smap_find(m, key, len, h);
	if (e->key)
		return 1;
	e->key = key;
	e->len = len;
	e->hash = h;
	e->val = val;
	m->n++;
	return 0;
}

static void smap_dispose(smap *m)
{
	free(m->e);
	m->e = NULL;
	m->cap = m->n = 0;
}

typedef struct {
	const void *k;
	void *v;
} pment;

typedef struct {
	pment *e;
	size_t cap, n;
} pmap;

static size_t ptr_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static pment *pmap_find(const pmap *m, const void *k)
{
	if (!m->cap)
		return NULL;
	for (size_t i = ptr_hash(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1))
		if (!m->e[i].k || m->e[i].k == k)
			return &m->e[i];
}

static void *pmap_get(const pmap *m, const void *k)
{
	pment *e = pmap_find(m, k);
	return e && e->k ? e->v : NULL;
}

static int pmap_put(pmap *m, const void *k, void *v)
{
	pment *e;
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16, oldcap = m->cap;
		pment *old = m->e, *ne = calloc(cap, sizeof(*ne));
		if (!ne)
			return xch_error_oom();
		m->e = ne;
		m->cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].k)
				*pmap_find(m, old[i].k) = old[i];
		free(old);
	}
	e = pmap_find(m, k);
	if (!e->k)
		m->n++;
	e->k = k;
	e->v = v;
	return 0;
}

/* ---- the set ---- */

typedef struct snode snode;
typedef struct sdoc sdoc;

typedef struct sres {
	char *uri;          /* absolute, without fragment */
	sdoc *doc;
	snode *root;
	smap anchors;       /* "$anchor", "$dynamicAnchor", draft 7 "$id": "#name" -> snode */
	smap dyn;           /* "$dynamicAnchor" -> snode */
	bool dyn_linked;
	bool registered;
} sres;

struct sdoc {
	char *uri;          /* the base URI of the document: its $id, or where it came from */
	char *alias;        /* the retrieval URI, when it differs from uri */
	json_t *json;       /* our reference */
	pmap nodes;         /* json_t * -> snode * */
	sres **res;
	size_t nres, ares;
	sdoc *next;
};

typedef struct {
	char *src;
	size_t len;
	pcre2_code *code;
} sregex;

struct xch_schema_set {
	smap uris;          /* absolute URI -> sres */
	smap regexes;       /* ECMA-262 source -> sregex */
	sdoc *docs;
	int default_draft;
	bool format_assert;
	unsigned anon;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	xch_schema_loader_fn loader;
	void *loader_payload;
	int loading;
};

/* ---- compiled schemas ---- */

typedef struct {
	sregex *re;
	snode *node;
} spat;

typedef struct {
	const char *key;
	size_t len;
	void *val;          /* snode * (dependentSchemas) or json_t * array (dependentRequired) */
	const char *kw;     /* the keyword it came from */
} skeyed;

struct snode {
	json_t *json;       /* borrowed from the document */
	sdoc *doc;
	sres *res;
	char *ptr;          /* JSON pointer from the document root */
	int draft;
	unsigned flags;
	unsigned types;     /* 0: no "type" */

	json_t *enum_v, *const_v;
	json_t *minimum, *maximum, *xmin, *xmax, *multiple;
	int64_t min_len, max_len, min_items, max_items, min_props, max_props;
	int64_t min_contains, max_contains;
	sregex *pattern;
	const char *format;

	snode **prefix;
	size_t nprefix;
	snode *items, *contains, *unevaluated_items;

	smap props;
	spat *pprops;
	size_t npprops;
	snode *additional, *property_names, *unevaluated_props;
	json_t *required;
	skeyed *depreq, *depsch;
	size_t ndepreq, ndepsch;

	snode **all_of, **any_of, **one_of;
	size_t nall, nany, none;
	snode *not_, *if_, *then_, *else_;

	char *ref_uri;
	snode *ref;
	char *dynref_uri;
	snode *dynref;
	char *dynref_anchor;

	snode **kids;       /* every subschema that validation reaches */
	size_t nkids, akids;
};

/* ---- small helpers ---- */

static int vec_push(void **vec, size_t *n, size_t *alloc, size_t size, const void *item)
{
	if (*n == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 8;
		void *p = realloc(*vec, na * size);
		if (!p)
			return xch_error_oom();
		*vec = p;
		*alloc = na;
	}
	memcpy((char *)*vec + *n * size, item, size);
	(*n)++;
	return 0;
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p) {
		xch_error_oom();
		return NULL;
	}
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Append a reference token to a JSON pointer ("~" -> "~0", "/" -> "~1"). */
static int ptr_append(xch_buf *buf, const char *tok, size_t len)
{
	if (xch_buf_putc(buf, '/') < 0)
		return XCH_ERROR;
	for (size_t i = 0; i < len; i++) {
		int error = tok[i] == '~' ? xch_buf_puts(buf, "~0") :
		            tok[i] == '/' ? xch_buf_puts(buf, "~1") : xch_buf_putc(buf, tok[i]);
		if (error < 0)
			return error;
	}
	return 0;
}

/* A string for a message: at most 80 bytes, control characters shown as '?'. */
static int put_shown(xch_buf *out, const char *s, size_t len)
{
	size_t n = len > 80 ? 80 : len;
	while (n < len && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (xch_buf_putc(out, c < 0x20 || c == 0x7f ? '?' : (char)c) < 0)
			return XCH_ERROR;
	}
	return n < len ? xch_buf_puts(out, "...") : 0;
}

/* Shortest decimal form of a double that reads back the same. */
static void fmt_real(char out[40], double d)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, 40, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

/* A value for a message: compact JSON, at most ~60 bytes. */
static int put_value(xch_buf *out, const json_t *v)
{
	char num[40];
	char *s;
	size_t len, n;

	if (json_is_integer(v))
		return xch_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_real(v)) {
		fmt_real(num, json_real_value(v));
		return xch_buf_puts(out, num);
	}
	if (!(s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS)))
		return xch_buf_puts(out, "(value)");
	len = strlen(s);
	n = len > 60 ? 60 : len;
	while (n < len && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	if (xch_buf_put(out, s, n) < 0 || (n < len && xch_buf_puts(out, "...") < 0)) {
		free(s);
		return XCH_ERROR;
	}
	free(s);
	return 0;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE: case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

static bool real_is_integral(double d)
{
	return isfinite(d) && floor(d) == d;
}

static unsigned type_bits(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return TY_OBJECT;
	case JSON_ARRAY: return TY_ARRAY;
	case JSON_STRING: return TY_STRING;
	case JSON_INTEGER: return TY_INTEGER | TY_NUMBER;
	case JSON_REAL: return TY_NUMBER | (real_is_integral(json_real_value(v)) ? TY_INTEGER : 0);
	case JSON_TRUE: case JSON_FALSE: return TY_BOOLEAN;
	default: return TY_NULL;
	}
}

static long double num_value(const json_t *v)
{
	return json_is_integer(v) ? (long double)json_integer_value(v) : (long double)json_real_value(v);
}

static int num_cmp(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b);
		return x < y ? -1 : x > y;
	} else {
		long double x = num_value(a), y = num_value(b);
		return x < y ? -1 : x > y;
	}
}

/* Equality as JSON Schema defines it: 1 and 1.0 are equal, key order does not matter. */
static bool values_equal(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return num_cmp(a, b) == 0;
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!values_equal(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return false;
		for (void *it = json_object_iter((json_t *)a); it; it = json_object_iter_next((json_t *)a, it)) {
			json_t *o = json_object_getn(b, json_object_iter_key(it), json_object_iter_key_len(it));
			if (!o || !values_equal(json_object_iter_value(it), o))
				return false;
		}
		return true;
	default:
		return true;
	}
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 31;
	h *= 0x7fb5d329728ea185ULL;
	h ^= h >> 27;
	return h;
}

/* A hash consistent with values_equal. */
static uint64_t value_hash(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		return mix((uint64_t)json_integer_value(v) ^ 0x1234);
	case JSON_REAL: {
		double d = json_real_value(v);
		uint64_t bits;
		if (real_is_integral(d) && fabs(d) < 9.2e18)
			return mix((uint64_t)(int64_t)d ^ 0x1234);
		if (d == 0)
			d = 0; /* -0.0 */
		memcpy(&bits, &d, sizeof(bits));
		return mix(bits ^ 0x5678);
	}
	case JSON_STRING:
		return hash_bytes(json_string_value(v), json_string_length(v));
	case JSON_ARRAY: {
		uint64_t h = 0xa11a7;
		for (size_t i = 0; i < json_array_size(v); i++)
			h = mix(h * 31 + value_hash(json_array_get(v, i)));
		return h;
	}
	case JSON_OBJECT: {
		uint64_t h = 0x0b1ec7;
		for (void *it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it))
			h += mix(hash_bytes(json_object_iter_key(it), json_object_iter_key_len(it)) ^
			         value_hash(json_object_iter_value(it)));
		return h;
	}
	case JSON_TRUE: return 1;
	case JSON_FALSE: return 2;
	default: return 3;
	}
}

/*
 * |v| as digits * 10^exp, digits without trailing zeros (digits 0 for zero).
 * False for a non-finite value.
 */
static bool decimal_of(const json_t *v, uint64_t *digits, int *exp)
{
	uint64_t d = 0;
	int e = 0;

	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		d = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
	} else {
		double x = fabs(json_real_value(v));
		char buf[48], *p;
		int prec, nd = 0;
		if (!isfinite(x))
			return false;
		for (prec = 0; prec <= 16; prec++) {
			snprintf(buf, sizeof(buf), "%.*e", prec, x);
			if (strtod(buf, NULL) == x)
				break;
		}
		for (p = buf; *p && *p != 'e'; p++) {
			if (*p >= '0' && *p <= '9') {
				d = d * 10 + (uint64_t)(*p - '0');
				nd++;
			}
		}
		e = (*p == 'e' ? atoi(p + 1) : 0) - (nd - 1);
	}
	if (d == 0) {
		*digits = 0;
		*exp = 0;
		return true;
	}
	while (d % 10 == 0) {
		d /= 10;
		e++;
	}
	*digits = d;
	*exp = e;
	return true;
}

/* Is x a multiple of m (> 0), exactly, in decimal? */
static bool is_multiple(const json_t *x, const json_t *m)
{
	uint64_t xd, md;
	int xe, me, e;
	unsigned __int128 mp, r;

	if (json_is_integer(x) && json_is_integer(m))
		return json_integer_value(x) % json_integer_value(m) == 0;
	if (!decimal_of(x, &xd, &xe) || !decimal_of(m, &md, &me) || md == 0)
		return false;
	if (xd == 0)
		return true;
	e = xe < me ? xe : me;
	mp = md;
	for (int k = e; k < me; k++) {
		mp *= 10;
		if (mp > UINT64_MAX)
			return false; /* then x < m, and x is not zero */
	}
	r = xd % mp;
	for (int k = e; k < xe && r; k++)
		r = (r * 10) % mp;
	return r == 0;
}

/* Code points in a UTF-8 string. */
static size_t utf8_length(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/* ---- URIs (RFC 3986 section 5) ---- */

typedef struct {
	const char *s;
	size_t n;
	bool has;
} upart;

typedef struct {
	upart scheme, auth, path, query, frag;
} uparts;

static void uri_split(const char *s, uparts *u)
{
	const char *p = s, *q;
	memset(u, 0, sizeof(*u));
	for (q = p; *q && *q != ':' && *q != '/' && *q != '?' && *q != '#'; q++)
		;
	if (*q == ':' && q > p) {
		u->scheme = (upart){ p, (size_t)(q - p), true };
		p = q + 1;
	}
	if (p[0] == '/' && p[1] == '/') {
		p += 2;
		for (q = p; *q && *q != '/' && *q != '?' && *q != '#'; q++)
			;
		u->auth = (upart){ p, (size_t)(q - p), true };
		p = q;
	}
	for (q = p; *q && *q != '?' && *q != '#'; q++)
		;
	u->path = (upart){ p, (size_t)(q - p), true };
	p = q;
	if (*p == '?') {
		for (q = ++p; *q && *q != '#'; q++)
			;
		u->query = (upart){ p, (size_t)(q - p), true };
		p = q;
	}
	if (*p == '#')
		u->frag = (upart){ p + 1, strlen(p + 1), true };
}

/* RFC 3986 5.2.4, appending to out. */
static int remove_dots(xch_buf *out, const char *path, size_t len)
{
	size_t base = out->size;
	char *in = xstrndup(path, len), *p, *end;

	if (!in)
		return XCH_ERROR;
	p = in;
	end = in + len;
	while (p < end) {
		size_t rest = (size_t)(end - p);
		if (rest >= 3 && !memcmp(p, "../", 3)) {
			p += 3;
		} else if (rest >= 2 && !memcmp(p, "./", 2)) {
			p += 2;
		} else if (rest >= 3 && !memcmp(p, "/./", 3)) {
			p += 2;
		} else if (rest == 2 && !memcmp(p, "/.", 2)) {
			p += 1;
			*p = '/';
		} else if ((rest >= 4 && !memcmp(p, "/../", 4)) || (rest == 3 && !memcmp(p, "/..", 3))) {
			p += 2;
			*p = '/';
			while (out->size > base && out->ptr[out->size - 1] != '/')
				out->size--;
			if (out->size > base)
				out->size--;
			out->ptr[out->size] = '\0';
		} else if ((rest == 1 && *p == '.') || (rest == 2 && !memcmp(p, "..", 2))) {
			p = end;
		} else {
			char *q = p + (*p == '/' ? 1 : 0);
			while (q < end && *q != '/')
				q++;
			if (xch_buf_put(out, p, (size_t)(q - p)) < 0) {
				free(in);
				return XCH_ERROR;
			}
			p = q;
		}
	}
	free(in);
	return xch_buf_put(out, "", 0);
}

static int put_part(xch_buf *out, const char *pre, const upart *p)
{
	if (!p->has)
		return 0;
	if (xch_buf_puts(out, pre) < 0)
		return XCH_ERROR;
	return xch_buf_put(out, p->s, p->n);
}

/* Resolve ref against an absolute base; the result keeps ref's fragment. */
static int uri_resolve(xch_buf *out, const char *base, const char *ref)
{
	uparts b, r;
	int error = 0;

	uri_split(base, &b);
	uri_split(ref, &r);
	xch_buf_clear(out);
	if (xch_buf_puts(out, "") < 0)
		return XCH_ERROR;
	if (r.scheme.has) {
		for (size_t i = 0; i < r.scheme.n; i++)
			if (xch_buf_putc(out, (char)((r.scheme.s[i] >= 'A' && r.scheme.s[i] <= 'Z') ?
			                             r.scheme.s[i] + 32 : r.scheme.s[i])) < 0)
				return XCH_ERROR;
		if (xch_buf_putc(out, ':') < 0 || put_part(out, "//", &r.auth) < 0 ||
		    remove_dots(out, r.path.s, r.path.n) < 0 || put_part(out, "?", &r.query) < 0)
			return XCH_ERROR;
	} else {
		if (xch_buf_put(out, b.scheme.s, b.scheme.n) < 0 || xch_buf_putc(out, ':') < 0)
			return XCH_ERROR;
		if (r.auth.has) {
			error = put_part(out, "//", &r.auth);
			if (!error)
				error = remove_dots(out, r.path.s, r.path.n);
			if (!error)
				error = put_part(out, "?", &r.query);
		} else {
			error = put_part(out, "//", &b.auth);
			if (!error && r.path.n == 0) {
				error = xch_buf_put(out, b.path.s, b.path.n);
				if (!error)
					error = put_part(out, "?", r.query.has ? &r.query : &b.query);
			} else if (!error) {
				xch_buf merged = XCH_BUF_INIT;
				if (r.path.s[0] == '/') {
					error = xch_buf_put(&merged, r.path.s, r.path.n);
				} else if (b.auth.has && b.path.n == 0) {
					error = xch_buf_putc(&merged, '/');
					if (!error)
						error = xch_buf_put(&merged, r.path.s, r.path.n);
				} else {
					size_t keep = b.path.n;
					while (keep > 0 && b.path.s[keep - 1] != '/')
						keep--;
					error = xch_buf_put(&merged, b.path.s, keep);
					if (!error)
						error = xch_buf_put(&merged, r.path.s, r.path.n);
				}
				if (!error)
					error = remove_dots(out, merged.ptr, merged.size);
				xch_buf_dispose(&merged);
				if (!error)
					error = put_part(out, "?", &r.query);
			}
		}
		if (error < 0)
			return error;
	}
	return put_part(out, "#", &r.frag);
}

static bool uri_is_absolute(const char *s)
{
	uparts u;
	uri_split(s, &u);
	return u.scheme.has;
}

static int hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 32) >= 'a' && (c | 32) <= 'f')
		return (c | 32) - 'a' + 10;
	return -1;
}

/* Percent-decode (a URI fragment). */
static int pct_decode(xch_buf *out, const char *s, size_t len)
{
	xch_buf_clear(out);
	if (xch_buf_puts(out, "") < 0)
		return XCH_ERROR;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < len && (hi = hexdigit((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexdigit((unsigned char)s[i + 2])) >= 0) {
			if (xch_buf_putc(out, (char)(hi * 16 + lo)) < 0)
				return XCH_ERROR;
			i += 2;
		} else if (xch_buf_putc(out, s[i]) < 0) {
			return XCH_ERROR;
		}
	}
	return 0;
}

/* ---- compiling schema documents ---- */

typedef struct {
	xch_schema_set *set;
	sdoc *doc;
	xch_buf ptr;        /* JSON pointer of the node being compiled */
	xch_buf tmp;
	int depth;
	bool lazy;          /* compiling on demand: register resources at once */
} cctx;

static int draft_of(const char *uri, int *draft)
{
	static const struct { const char *uri; int draft; } known[] = {
		{ "https://json-schema.org/draft/2020-12/schema", DRAFT2020 },
		{ "http://json-schema.org/draft-07/schema", DRAFT7 },
		{ "https://json-schema.org/draft-07/schema", DRAFT7 },
		{ "http://json-schema.org/draft-06/schema", DRAFT7 },
		{ "https://json-schema.org/draft-06/schema", DRAFT7 },
		{ "http://json-schema.org/draft-04/schema", DRAFT4 },
		{ "https://json-schema.org/draft-04/schema", DRAFT4 },
	};
	size_t len = strlen(uri);
	if (len && uri[len - 1] == '#')
		len--;
	for (size_t i = 0; i < XCH_ARRAY_SIZE(known); i++) {
		if (strlen(known[i].uri) == len && !memcmp(known[i].uri, uri, len)) {
			*draft = known[i].draft;
			return 0;
		}
	}
	return -1;
}

static int cfail(cctx *c, int code, const char *fmt, ...) XCH_PRINTF(3, 4);

static int cfail(cctx *c, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return xch_error_set(code, "schema '%s': '#%s': %s", c->doc->uri ? c->doc->uri : "?",
	                     c->ptr.ptr ? c->ptr.ptr : "", msg);
}

static int kw_fail(cctx *c, const char *kw, const char *what)
{
	return cfail(c, XCH_EINVALID, "\"%s\" %s", kw, what);
}

static void node_free(snode *n)
{
	if (!n)
		return;
	free(n->ptr);
	free(n->prefix);
	smap_dispose(&n->props);
	free(n->pprops);
	free(n->depreq);
	free(n->depsch);
	free(n->all_of);
	free(n->any_of);
	free(n->one_of);
	free(n->ref_uri);
	free(n->dynref_uri);
	free(n->dynref_anchor);
	free(n->kids);
	free(n);
}

static void res_free(sres *r)
{
	if (!r)
		return;
	free(r->uri);
	smap_dispose(&r->anchors);
	smap_dispose(&r->dyn);
	free(r);
}

static void doc_free(sdoc *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nodes.cap; i++)
		if (d->nodes.e[i].k)
			node_free(d->nodes.e[i].v);
	free(d->nodes.e);
	for (size_t i = 0; i < d->nres; i++)
		res_free(d->res[i]);
	free(d->res);
	free(d->uri);
	free(d->alias);
	json_decref(d->json);
	free(d);
}

static int add_kid(snode *n, snode *kid)
{
	return vec_push((void **)&n->kids, &n->nkids, &n->akids, sizeof(kid), &kid);
}

static int compile(snode **out, cctx *c, json_t *json, sres *res, int draft);

/* Compile the subschema at json under pointer token(s) tok1[/tok2]. */
static int compile_at(snode **out, cctx *c, snode *parent, json_t *json, const char *tok1, size_t len1,
                      const char *tok2, size_t len2, bool kid)
{
	size_t save = c->ptr.size;
	int error;

	if (ptr_append(&c->ptr, tok1, len1) < 0 || (tok2 && ptr_append(&c->ptr, tok2, len2) < 0))
		return XCH_ERROR;
	c->depth++;
	error = compile(out, c, json, parent->res, parent->draft);
	c->depth--;
	c->ptr.size = save;
	c->ptr.ptr[save] = '\0';
	if (!error && kid)
		error = add_kid(parent, *out);
	return error;
}

static int kw_schema(cctx *c, snode *n, const char *kw, snode **out)
{
	json_t *v = json_object_get(n->json, kw);
	if (!v)
		return 0;
	if (!json_is_object(v) && !json_is_boolean(v))
		return kw_fail(c, kw, "must be a schema");
	return compile_at(out, c, n, v, kw, strlen(kw), NULL, 0, true);
}

static int kw_schema_array(cctx *c, snode *n, const char *kw, snode ***out, size_t *nout)
{
	json_t *v = json_object_get(n->json, kw);
	char idx[32];
	if (!v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return kw_fail(c, kw, "must be a non-empty array of schemas");
	if (!(*out = calloc(json_array_size(v), sizeof(**out))))
		return xch_error_oom();
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *s = json_array_get(v, i);
		int error;
		if (!json_is_object(s) && !json_is_boolean(s))
			return kw_fail(c, kw, "must be an array of schemas");
		snprintf(idx, sizeof(idx), "%zu", i);
		if ((error = compile_at(&(*out)[i], c, n, s, kw, strlen(kw), idx, strlen(idx), true)) < 0)
			return error;
		(*nout)++;
	}
	return 0;
}

/* Compile every member of an object of schemas; each goes to cb. */
static int kw_schema_object(cctx *c, snode *n, const char *kw, bool kid,
                            int (*cb)(cctx *, snode *, const char *, size_t, snode *))
{
	json_t *v = json_object_get(n->json, kw);
	if (!v)
		return 0;
	if (!json_is_object(v))
		return kw_fail(c, kw, "must be an object of schemas");
	for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
		const char *key = json_object_iter_key(it);
		size_t len = json_object_iter_key_len(it);
		json_t *s = json_object_iter_value(it);
		snode *child;
		int error;
		if (!json_is_object(s) && !json_is_boolean(s))
			return kw_fail(c, kw, "must be an object of schemas");
		if ((error = compile_at(&child, c, n, s, kw, strlen(kw), key, len, kid)) < 0)
			return error;
		if (cb && (error = cb(c, n, key, len, child)) < 0)
			return error;
	}
	return 0;
}

static int kw_count(cctx *c, snode *n, const char *kw, int64_t *out)
{
	json_t *v = json_object_get(n->json, kw);
	*out = -1;
	if (!v)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		*out = json_integer_value(v);
	else if (json_is_real(v) && json_real_value(v) >= 0 && real_is_integral(json_real_value(v)) &&
	         json_real_value(v) < 9e18)
		*out = (int64_t)json_real_value(v);
	else
		return kw_fail(c, kw, "must be a non-negative integer");
	return 0;
}

static int kw_number(cctx *c, snode *n, const char *kw, json_t **out)
{
	json_t *v = json_object_get(n->json, kw);
	if (!v)
		return 0;
	if (!json_is_number(v))
		return kw_fail(c, kw, "must be a number");
	*out = v;
	return 0;
}

static int kw_string(cctx *c, snode *n, const char *kw, const char **out)
{
	json_t *v = json_object_get(n->json, kw);
	if (!v)
		return 0;
	if (!json_is_string(v))
		return kw_fail(c, kw, "must be a string");
	*out = json_string_value(v);
	return 0;
}

static int get_regex(sregex **out, xch_schema_set *set, const char *src, size_t len)
{
	sregex *re = smap_get(&set->regexes, src, len);
	int error;

	if (!re) {
		if (!(re = calloc(1, sizeof(*re))) || !(re->src = xstrndup(src, len))) {
			free(re);
			return xch_error_oom();
		}
		re->len = len;
		if ((error = xch_schema_regex_compile(&re->code, src, len)) < 0 ||
		    (error = smap_put(&set->regexes, re->src, len, re)) < 0) {
			pcre2_code_free(re->code);
			free(re->src);
			free(re);
			return error;
		}
	}
	*out = re;
	return 0;
}

static int string_array(cctx *c, const char *kw, json_t *v)
{
	if (!json_is_array(v))
		return kw_fail(c, kw, "must be an array of strings");
	for (size_t i = 0; i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i)))
			return kw_fail(c, kw, "must be an array of strings");
	return 0;
}

static int add_prop(cctx *c, snode *n, const char *key, size_t len, snode *child)
{
	return smap_put(&n->props, key, len, child) < 0 ? XCH_ERROR : 0;
}

static int add_pprop(cctx *c, snode *n, const char *key, size_t len, snode *child)
{
	spat p = { NULL, child };
	size_t alloc = n->npprops;
	int error = get_regex(&p.re, c->set, key, len);
	if (error < 0)
		return cfail(c, XCH_EINVALID, "\"patternProperties\": %s", xch_error_last()->message);
	return vec_push((void **)&n->pprops, &n->npprops, &alloc, sizeof(p), &p);
}

static int add_depsch(cctx *c, snode *n, const char *key, size_t len, snode *child)
{
	skeyed k = { key, len, child, "dependentSchemas" };
	size_t alloc = n->ndepsch;
	return vec_push((void **)&n->depsch, &n->ndepsch, &alloc, sizeof(k), &k);
}

static int add_depreq(snode *n, const char *key, size_t len, json_t *names, const char *kw)
{
	skeyed k = { key, len, names, kw };
	size_t alloc = n->ndepreq;
	return vec_push((void **)&n->depreq, &n->ndepreq, &alloc, sizeof(k), &k);
}

static int parse_type(cctx *c, snode *n, json_t *v)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{ "null", TY_NULL }, { "boolean", TY_BOOLEAN }, { "object", TY_OBJECT },
		{ "array", TY_ARRAY }, { "number", TY_NUMBER }, { "string", TY_STRING },
		{ "integer", TY_INTEGER },
	};
	size_t count = json_is_array(v) ? json_array_size(v) : 1;

	if (!json_is_string(v) && !json_is_array(v))
		return kw_fail(c, "type", "must be a type name or an array of them");
	for (size_t i = 0; i < count; i++) {
		const char *s = json_string_value(json_is_array(v) ? json_array_get(v, i) : v);
		size_t k;
		if (!s)
			return kw_fail(c, "type", "must be a type name or an array of them");
		for (k = 0; k < XCH_ARRAY_SIZE(names); k++)
			if (!strcmp(s, names[k].name))
				break;
		if (k == XCH_ARRAY_SIZE(names))
			return cfail(c, XCH_EINVALID, "\"type\": unknown type '%s'", s);
		n->types |= names[k].bit;
	}
	if (json_is_array(v) && count == 0)
		n->types = 0x80; /* an empty list: no instance type matches */
	return 0;
}

static int new_resource(sres **out, cctx *c, const char *uri, snode *root, int draft)
{
	sres *r = calloc(1, sizeof(*r));
	int error;

	if (!r || !(r->uri = strdup(uri))) {
		free(r);
		return xch_error_oom();
	}
	r->doc = c->doc;
	r->root = root;
	(void)draft;
	if ((error = vec_push((void **)&c->doc->res, &c->doc->nres, &c->doc->ares, sizeof(r), &r)) < 0) {
		res_free(r);
		return error;
	}
	if (c->lazy) {
		int put = smap_put(&c->set->uris, r->uri, strlen(r->uri), r);
		if (put < 0)
			return put;
		if (put == 1)
			return cfail(c, XCH_EEXISTS, "schema '%s' is already loaded", r->uri);
		r->registered = true;
	}
	*out = r;
	return 0;
}

static int add_anchor(cctx *c, sres *r, const char *name, snode *n, bool dynamic)
{
	int put;
	char *key;

	if (!*name)
		return 0;
	/* keys are borrowed: keep them in the schema document's strings */
	key = (char *)name;
	put = smap_put(&r->anchors, key, strlen(key), n);
	if (put < 0)
		return put;
	if (put == 1 && smap_get(&r->anchors, key, strlen(key)) != n)
		return cfail(c, XCH_EINVALID, "duplicate anchor '%s' in '%s'", name, r->uri);
	if (dynamic && (put = smap_put(&r->dyn, key, strlen(key), n)) < 0)
		return put;
	return 0;
}

/*
 * The identifier keywords of a schema object: "$schema" (at a resource
 * root), "$id" (draft 4: "id"), "$anchor", "$dynamicAnchor". Sets n->res
 * and n->draft.
 */
static int compile_ids(cctx *c, snode *n, sres *parent, int draft, const char *root_uri)
{
	json_t *j = n->json;
	const char *schema = json_string_value(json_object_get(j, "$schema"));
	const char *id, *frag = NULL;
	const char *base = parent ? parent->uri : root_uri;
	bool has_ref = json_object_get(j, "$ref") != NULL;
	sres *res = parent;
	int error;

	id = json_string_value(json_object_get(j, draft == DRAFT4 ? "id" : "$id"));
	if (schema && (!parent || id)) {
		if (draft_of(schema, &draft) < 0)
			return cfail(c, XCH_EUNSUPPORTED, "unsupported $schema '%s' (draft 2020-12 and draft 7 are)",
			             schema);
		id = json_string_value(json_object_get(j, draft == DRAFT4 ? "id" : "$id"));
	}
	if (id && draft <= DRAFT7 && has_ref)
		id = NULL; /* draft 7: siblings of "$ref" are ignored, "$id" too */
	n->draft = draft;

	if (id) {
		char *hash;
		if ((error = uri_resolve(&c->tmp, base, id)) < 0)
			return error;
		if ((hash = strchr(c->tmp.ptr, '#')) != NULL) {
			*hash = '\0';
			frag = id + (strchr(id, '#') - id) + 1;
		}
		if (!parent || strcmp(c->tmp.ptr, parent->uri) != 0) {
			if ((error = new_resource(&res, c, c->tmp.ptr, n, draft)) < 0)
				return error;
		}
	} else if (!parent) {
		if ((error = new_resource(&res, c, root_uri, n, draft)) < 0)
			return error;
	}
	n->res = res;
	if (!parent) {
		free(c->doc->uri);
		if (!(c->doc->uri = strdup(res->uri)))
			return xch_error_oom();
	}

	if (frag && *frag && draft <= DRAFT7 && (error = add_anchor(c, res, frag, n, false)) < 0)
		return error;
	if (draft >= DRAFT2020) {
		const char *a = json_string_value(json_object_get(j, "$anchor"));
		const char *d = json_string_value(json_object_get(j, "$dynamicAnchor"));
		if (a && (error = add_anchor(c, res, a, n, false)) < 0)
			return error;
		if (d && (error = add_anchor(c, res, d, n, true)) < 0)
			return error;
	}
	return 0;
}

static int compile_keywords(cctx *c, snode *n)
{
	json_t *j = n->json, *v;
	int error = 0;
	bool d2020 = n->draft >= DRAFT2020;

	/* definitions are compiled for their identifiers; only references reach them */
	if ((error = kw_schema_object(c, n, "$defs", false, NULL)) < 0 ||
	    (error = kw_schema_object(c, n, "definitions", false, NULL)) < 0)
		return error;

	if ((v = json_object_get(j, "$ref"))) {
		if (!json_is_string(v))
			return kw_fail(c, "$ref", "must be a string");
		if ((error = uri_resolve(&c->tmp, n->res->uri, json_string_value(v))) < 0)
			return error;
		if (!(n->ref_uri = strdup(c->tmp.ptr)))
			return xch_error_oom();
		if (n->draft <= DRAFT7) {
			n->flags |= NF_REF_ONLY;
			return 0;
		}
	}
	if (d2020 && (v = json_object_get(j, "$dynamicRef"))) {
		if (!json_is_string(v))
			return kw_fail(c, "$dynamicRef", "must be a string");
		if ((error = uri_resolve(&c->tmp, n->res->uri, json_string_value(v))) < 0)
			return error;
		if (!(n->dynref_uri = strdup(c->tmp.ptr)))
			return xch_error_oom();
	}

	if ((v = json_object_get(j, "type")) && (error = parse_type(c, n, v)) < 0)
		return error;
	if ((v = json_object_get(j, "enum"))) {
		if (!json_is_array(v))
			return kw_fail(c, "enum", "must be an array");
		n->enum_v = v;
	}
	n->const_v = json_object_get(j, "const");

	if ((error = kw_number(c, n, "minimum", &n->minimum)) < 0 ||
	    (error = kw_number(c, n, "maximum", &n->maximum)) < 0 ||
	    (error = kw_number(c, n, "multipleOf", &n->multiple)) < 0)
		return error;
	if (n->multiple && num_value(n->multiple) <= 0)
		return kw_fail(c, "multipleOf", "must be greater than 0");
	if (n->draft == DRAFT4) {
		if (json_is_true(json_object_get(j, "exclusiveMinimum")))
			n->flags |= NF_XMIN_BOOL;
		if (json_is_true(json_object_get(j, "exclusiveMaximum")))
			n->flags |= NF_XMAX_BOOL;
	} else if ((error = kw_number(c, n, "exclusiveMinimum", &n->xmin)) < 0 ||
	           (error = kw_number(c, n, "exclusiveMaximum", &n->xmax)) < 0) {
		return error;
	}

	if ((error = kw_count(c, n, "minLength", &n->min_len)) < 0 ||
	    (error = kw_count(c, n, "maxLength", &n->max_len)) < 0 ||
	    (error = kw_count(c, n, "minItems", &n->min_items)) < 0 ||
	    (error = kw_count(c, n, "maxItems", &n->max_items)) < 0 ||
	    (error = kw_count(c, n, "minProperties", &n->min_props)) < 0 ||
	    (error = kw_count(c, n, "maxProperties", &n->max_props)) < 0)
		return error;
	n->min_contains = n->max_contains = -1;
	if (d2020 && ((error = kw_count(c, n, "minContains", &n->min_contains)) < 0 ||
	              (error = kw_count(c, n, "maxContains", &n->max_contains)) < 0))
		return error;

	if ((v = json_object_get(j, "pattern"))) {
		if (!json_is_string(v))
			return kw_fail(c, "pattern", "must be a string");
		if (get_regex(&n->pattern, c->set, json_string_value(v), json_string_length(v)) < 0)
			return cfail(c, XCH_EINVALID, "\"pattern\": %s", xch_error_last()->message);
	}
	if ((error = kw_string(c, n, "format", &n->format)) < 0)
		return error;

	/* arrays */
	v = json_object_get(j, "items");
	if (v && json_is_array(v)) {
		if ((error = kw_schema_array(c, n, "items", &n->prefix, &n->nprefix)) < 0)
			return error;
		if ((error = kw_schema(c, n, "additionalItems", &n->items)) < 0)
			return error;
	} else {
		if ((error = kw_schema(c, n, "items", &n->items)) < 0)
			return error;
		if (d2020 && (error = kw_schema_array(c, n, "prefixItems", &n->prefix, &n->nprefix)) < 0)
			return error;
	}
	if ((error = kw_schema(c, n, "contains", &n->contains)) < 0)
		return error;
	if ((v = json_object_get(j, "uniqueItems"))) {
		if (!json_is_boolean(v))
			return kw_fail(c, "uniqueItems", "must be a boolean");
		if (json_is_true(v))
			n->flags |= NF_UNIQUE;
	}

	/* objects */
	if ((error = kw_schema_object(c, n, "properties", true, add_prop)) < 0 ||
	    (error = kw_schema_object(c, n, "patternProperties", true, add_pprop)) < 0 ||
	    (error = kw_schema(c, n, "additionalProperties", &n->additional)) < 0 ||
	    (error = kw_schema(c, n, "propertyNames", &n->property_names)) < 0)
		return error;
	if ((v = json_object_get(j, "required"))) {
		if ((error = string_array(c, "required", v)) < 0)
			return error;
		n->required = v;
	}
	if (d2020) {
		if ((v = json_object_get(j, "dependentRequired"))) {
			if (!json_is_object(v))
				return kw_fail(c, "dependentRequired", "must be an object of string arrays");
			for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
				json_t *names = json_object_iter_value(it);
				if ((error = string_array(c, "dependentRequired", names)) < 0 ||
				    (error = add_depreq(n, json_object_iter_key(it), json_object_iter_key_len(it), names,
				                                "dependentRequired")) < 0)
					return error;
			}
		}
		if ((error = kw_schema_object(c, n, "dependentSchemas", true, add_depsch)) < 0)
			return error;
	}
	/* draft 7's "dependencies", still honoured in 2020-12 documents for compatibility */
	if ((v = json_object_get(j, "dependencies"))) {
		if (!json_is_object(v))
			return kw_fail(c, "dependencies", "must be an object");
		for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
			const char *key = json_object_iter_key(it);
			size_t len = json_object_iter_key_len(it);
			json_t *d = json_object_iter_value(it);
			snode *child;
			if (json_is_array(d)) {
				if ((error = string_array(c, "dependencies", d)) < 0 ||
				    (error = add_depreq(n, key, len, d, "dependencies")) < 0)
					return error;
			} else if (json_is_object(d) || json_is_boolean(d)) {
				skeyed k = { key, len, NULL, "dependencies" };
				size_t alloc = n->ndepsch;
				if ((error = compile_at(&child, c, n, d, "dependencies", 12, key, len, true)) < 0)
					return error;
				k.val = child;
				if ((error = vec_push((void **)&n->depsch, &n->ndepsch, &alloc, sizeof(k), &k)) < 0)
					return error;
			} else {
				return kw_fail(c, "dependencies", "must map names to arrays or schemas");
			}
		}
	}

	/* applicators */
	if ((error = kw_schema_array(c, n, "allOf", &n->all_of, &n->nall)) < 0 ||
	    (error = kw_schema_array(c, n, "anyOf", &n->any_of, &n->nany)) < 0 ||
	    (error = kw_schema_array(c, n, "oneOf", &n->one_of, &n->none)) < 0 ||
	    (error = kw_schema(c, n, "not", &n->not_)) < 0 ||
	    (error = kw_schema(c, n, "if", &n->if_)) < 0 ||
	    (error = kw_schema(c, n, "then", &n->then_)) < 0 ||
	    (error = kw_schema(c, n, "else", &n->else_)) < 0)
		return error;
	if (d2020 && ((error = kw_schema(c, n, "unevaluatedItems", &n->unevaluated_items)) < 0 ||
	              (error = kw_schema(c, n, "unevaluatedProperties", &n->unevaluated_props)) < 0))
		return error;
	return 0;
}

static int compile_node(snode **out, cctx *c, json_t *json, sres *res, int draft, const char *root_uri)
{
	snode *n = pmap_get(&c->doc->nodes, json);
	int error;

	if (n) {
		*out = n;
		return 0;
	}
	if (c->depth > MAX_SCHEMA_DEPTH)
		return cfail(c, XCH_ETOOBIG, "subschemas nested deeper than %d levels", MAX_SCHEMA_DEPTH);
	if (!json_is_object(json) && !json_is_boolean(json))
		return cfail(c, XCH_EINVALID, "not a schema (an object or a boolean)");
	if (!(n = calloc(1, sizeof(*n))))
		return xch_error_oom();
	n->json = json;
	n->doc = c->doc;
	n->res = res;
	n->draft = draft;
	n->min_len = n->max_len = n->min_items = n->max_items = n->min_props = n->max_props = -1;
	n->min_contains = n->max_contains = -1;
	if (!(n->ptr = strdup(c->ptr.ptr ? c->ptr.ptr : ""))) {
		free(n);
		return xch_error_oom();
	}
	if ((error = pmap_put(&c->doc->nodes, json, n)) < 0) {
		node_free(n);
		return error;
	}
	*out = n;
	if (json_is_boolean(json)) {
		n->flags |= NF_BOOL | (json_is_true(json) ? NF_TRUE : 0);
		if (!res) {
			/* a whole document that is true or false */
			if ((error = new_resource(&n->res, c, root_uri, n, draft)) < 0)
				return error;
		}
		return 0;
	}
	if ((error = compile_ids(c, n, res, draft, root_uri)) < 0)
		return error;
	return compile_keywords(c, n);
}

static int compile(snode **out, cctx *c, json_t *json, sres *res, int draft)
{
	return compile_node(out, c, json, res, draft, NULL);
}

/* ---- resolving references ---- */

static int find_resource(sres **out, xch_schema_set *set, const char *uri, size_t len)
{
	sres *r = smap_get(&set->uris, uri, len);

	if (!r && set->loader && !set->loading) {
		char *u = xstrndup(uri, len);
		int error;
		if (!u)
			return XCH_ERROR;
		set->loading++;
		error = set->loader(set, u, set->loader_payload);
		set->loading--;
		free(u);
		if (error < 0 && error != XCH_ENOTFOUND)
			return error;
		r = smap_get(&set->uris, uri, len);
	}
	if (!r)
		return xch_error_set(XCH_ENOTFOUND, "no schema '%.*s' is loaded (nothing is fetched from the network)",
		                     (int)len, uri);
	*out = r;
	return 0;
}

/* Follow a JSON pointer (percent-decoded, "/..." ) from a resource root. */
static int resolve_pointer(snode **out, xch_schema_set *set, sres *r, const char *ptr, size_t len)
{
	json_t *cur = r->root->json;
	snode *near = r->root, *n = NULL;
	xch_buf tok = XCH_BUF_INIT, rest = XCH_BUF_INIT;
	const char *p = ptr, *end = ptr + len;
	int error = 0;

	while (p < end && *p == '/') {
		const char *q = ++p;
		while (q < end && *q != '/')
			q++;
		xch_buf_clear(&tok);
		if ((error = xch_buf_puts(&tok, "")) < 0)
			goto out;
		for (const char *t = p; t < q; t++) {
			char ch = *t;
			if (ch == '~') {
				if (t + 1 == q || (t[1] != '0' && t[1] != '1')) {
					error = xch_error_set(XCH_ENOTFOUND, "bad JSON pointer '#%.*s'", (int)len, ptr);
					goto out;
				}
				ch = *++t == '0' ? '~' : '/';
			}
			if ((error = xch_buf_putc(&tok, ch)) < 0)
				goto out;
		}
		if (json_is_object(cur)) {
			cur = json_object_getn(cur, tok.ptr, tok.size);
		} else if (json_is_array(cur) && tok.size > 0 && tok.size < 10 &&
		           strspn(tok.ptr, "0123456789") == tok.size && (tok.ptr[0] != '0' || tok.size == 1)) {
			cur = json_array_get(cur, (size_t)strtoul(tok.ptr, NULL, 10));
		} else {
			cur = NULL;
		}
		if (!cur) {
			error = xch_error_set(XCH_ENOTFOUND, "'#%.*s' does not exist in schema '%s'", (int)len, ptr, r->uri);
			goto out;
		}
		if ((error = ptr_append(&rest, tok.ptr, tok.size)) < 0)
			goto out;
		if ((n = pmap_get(&r->doc->nodes, cur)) != NULL) {
			near = n;
			xch_buf_clear(&rest);
		}
		p = q;
	}
	if (p != end) {
		error = xch_error_set(XCH_ENOTFOUND, "bad JSON pointer '#%.*s'", (int)len, ptr);
		goto out;
	}
	if (!n && cur != r->root->json) {
		/* not a place the document's keywords lead to: compile it now */
		cctx c = { set, r->doc, XCH_BUF_INIT, XCH_BUF_INIT, 0, true };
		if ((error = xch_buf_puts(&c.ptr, near->ptr)) == 0 && (error = xch_buf_puts(&c.ptr, rest.ptr ? rest.ptr : "")) == 0)
			error = compile(&n, &c, cur, near->res, near->draft);
		xch_buf_dispose(&c.ptr);
		xch_buf_dispose(&c.tmp);
		if (error < 0)
			goto out;
	} else if (!n) {
		n = r->root;
	}
	*out = n;
out:
	xch_buf_dispose(&tok);
	xch_buf_dispose(&rest);
	return error;
}

/* The schema node an absolute URI (with an optional fragment) names. */
static int resolve(snode **out, xch_schema_set *set, const char *uri)
{
	const char *hash = strchr(uri, '#');
	size_t blen = hash ? (size_t)(hash - uri) : strlen(uri);
	xch_buf frag = XCH_BUF_INIT;
	sres *r = NULL;
	int error;

	if ((error = find_resource(&r, set, uri, blen)) < 0)
		return error;
	if (!hash || !hash[1]) {
		*out = r->root;
		return 0;
	}
	if ((error = pct_decode(&frag, hash + 1, strlen(hash + 1))) < 0)
		goto out;
	if (frag.ptr[0] == '/') {
		error = resolve_pointer(out, set, r, frag.ptr, frag.size);
	} else if (!(*out = smap_get(&r->anchors, frag.ptr, frag.size))) {
		error = xch_error_set(XCH_ENOTFOUND, "no anchor '#%s' in schema '%s'", frag.ptr, r->uri);
	}
out:
	xch_buf_dispose(&frag);
	return error;
}

/* Resolve every reference reachable from start, once. */
static int link_nodes(xch_schema_set *set, snode *start)
{
	snode **work = NULL, **done = NULL;
	sres **dres = NULL;
	size_t nwork = 0, awork = 0, ndone = 0, adone = 0, ndres = 0, adres = 0;
	int error = 0;

	if (start->flags & NF_LINKED)
		return 0;
	if ((error = vec_push((void **)&work, &nwork, &awork, sizeof(start), &start)) < 0)
		return error;
	while (nwork && !error) {
		snode *n = work[--nwork];
		if (n->flags & NF_LINKED)
			continue;
		n->flags |= NF_LINKED;
		if ((error = vec_push((void **)&done, &ndone, &adone, sizeof(n), &n)) < 0)
			break;
		if (n->ref_uri && !n->ref && (error = resolve(&n->ref, set, n->ref_uri)) < 0) {
			xch_error_prefix("schema '%s': '#%s': cannot resolve \"$ref\" '%s'", n->doc->uri, n->ptr, n->ref_uri);
			break;
		}
		if (n->dynref_uri && !n->dynref) {
			const char *hash = strchr(n->dynref_uri, '#');
			if ((error = resolve(&n->dynref, set, n->dynref_uri)) < 0) {
				xch_error_prefix("schema '%s': '#%s': cannot resolve \"$dynamicRef\" '%s'", n->doc->uri,
				                 n->ptr, n->dynref_uri);
				break;
			}
			if (hash && hash[1] && hash[1] != '/' &&
			    smap_get(&n->dynref->res->dyn, hash + 1, strlen(hash + 1)) == n->dynref &&
			    !(n->dynref_anchor = strdup(hash + 1))) {
				error = xch_error_oom();
				break;
			}
		}
		if (n->ref && (error = vec_push((void **)&work, &nwork, &awork, sizeof(n), &n->ref)) < 0)
			break;
		if (n->dynref && (error = vec_push((void **)&work, &nwork, &awork, sizeof(n), &n->dynref)) < 0)
			break;
		if (n->res && !n->res->dyn_linked) {
			sres *r = n->res;
			r->dyn_linked = true;
			if ((error = vec_push((void **)&dres, &ndres, &adres, sizeof(r), &r)) < 0)
				break;
			for (size_t i = 0; i < r->dyn.cap && !error; i++)
				if (r->dyn.e[i].key)
					error = vec_push((void **)&work, &nwork, &awork, sizeof(n), &r->dyn.e[i].val);
		}
		for (size_t i = 0; i < n->nkids && !error; i++)
			error = vec_push((void **)&work, &nwork, &awork, sizeof(n), &n->kids[i]);
	}
	if (error < 0) {
		for (size_t i = 0; i < ndone; i++)
			done[i]->flags &= ~(unsigned)NF_LINKED;
		for (size_t i = 0; i < ndres; i++)
			dres[i]->dyn_linked = false;
	}
	free(work);
	free(done);
	free(dres);
	return error;
}

/* ---- violations ---- */

typedef struct {
	char *inst, *schema, *msg;
} viol;

struct xch_violations {
	viol *v;
	size_t n, a;
	size_t more;
};

static void vlist_clear(xch_violations *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].inst);
		free(l->v[i].schema);
		free(l->v[i].msg);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Append (taking the strings), or count it when the list is full. */
static int vlist_add(xch_violations *l, char *inst, char *schema, char *msg)
{
	viol v = { inst, schema, msg };
	if (l->n >= XCH_SCHEMA_MAX_VIOLATIONS) {
		l->more++;
		free(inst);
		free(schema);
		free(msg);
		return 0;
	}
	if (!inst || !schema || !msg || vec_push((void **)&l->v, &l->n, &l->a, sizeof(v), &v) < 0) {
		free(inst);
		free(schema);
		free(msg);
		return xch_error_oom();
	}
	return 0;
}

static int vlist_move(xch_violations *dst, xch_violations *src, const char *prefix)
{
	int error = 0;
	for (size_t i = 0; i < src->n; i++) {
		viol *v = &src->v[i];
		char *msg = v->msg;
		if (prefix && !error) {
			size_t pl = strlen(prefix), ml = strlen(v->msg);
			if ((msg = malloc(pl + ml + 1))) {
				memcpy(msg, prefix, pl);
				memcpy(msg + pl, v->msg, ml + 1);
			}
			free(v->msg);
		}
		if (!error)
			error = vlist_add(dst, v->inst, v->schema, msg);
		else {
			free(v->inst);
			free(v->schema);
			free(msg);
		}
	}
	dst->more += src->more;
	free(src->v);
	memset(src, 0, sizeof(*src));
	return error;
}

size_t xch_violations_count(const xch_violations *v)
{
	return v ? v->n : 0;
}

const char *xch_violations_instance(const xch_violations *v, size_t i)
{
	return v && i < v->n ? v->v[i].inst : NULL;
}

const char *xch_violations_schema(const xch_violations *v, size_t i)
{
	return v && i < v->n ? v->v[i].schema : NULL;
}

const char *xch_violations_message(const xch_violations *v, size_t i)
{
	return v && i < v->n ? v->v[i].msg : NULL;
}

void xch_violations_free(xch_violations *v)
{
	if (!v)
		return;
	vlist_clear(v);
	free(v);
}

/* ---- validation ---- */

typedef struct {
	size_t n;
	uint64_t *w;
	uint64_t inl[4];
} bits;

static int bits_init(bits *b, size_t n)
{
	b->n = n;
	memset(b->inl, 0, sizeof(b->inl));
	if (n <= 64 * XCH_ARRAY_SIZE(b->inl)) {
		b->w = b->inl;
		return 0;
	}
	if (!(b->w = calloc((n + 63) / 64, sizeof(uint64_t))))
		return xch_error_oom();
	return 0;
}

static void bits_free(bits *b)
{
	if (b->w != b->inl)
		free(b->w);
}

static void bits_clear(bits *b)
{
	memset(b->w, 0, (b->n + 63) / 64 * sizeof(uint64_t));
}

static void bits_set(bits *b, size_t i)
{
	if (b && i < b->n)
		b->w[i / 64] |= 1ULL << (i % 64);
}

static bool bits_get(const bits *b, size_t i)
{
	return i < b->n && (b->w[i / 64] >> (i % 64)) & 1;
}

static void bits_or(bits *dst, const bits *src)
{
	for (size_t i = 0; i < (dst->n + 63) / 64; i++)
		dst->w[i] |= src->w[i];
}

typedef struct {
	const char *key;    /* NULL: an array index */
	size_t len;         /* key length, or the index */
} pseg;

typedef struct {
	const snode *n;
	const json_t *i;
} frame;

typedef struct {
	xch_schema_set *set;
	sdoc *start;
	const char *uri;
	xch_violations *out;    /* NULL: only the verdict is wanted */
	pseg path[MAX_EVAL_DEPTH + 2];
	size_t npath;
	frame stack[MAX_EVAL_DEPTH + 1];
	size_t nstack;
	sres *dyn[MAX_EVAL_DEPTH + 1];
	size_t ndyn;
	unsigned long steps;
	int error;
} vctx;

static int validate(vctx *c, snode *n, const json_t *inst, bits *ann);

static int vfail(vctx *c, int code, const char *fmt, ...) XCH_PRINTF(3, 4);

static int vfail(vctx *c, int code, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->error = code;
	return xch_error_set(code, "%s", msg);
}

static void path_key(vctx *c, const char *key, size_t len)
{
	c->path[c->npath++] = (pseg){ key, len };
}

static void path_index(vctx *c, size_t i)
{
	c->path[c->npath++] = (pseg){ NULL, i };
}

static int instance_ptr(xch_buf *out, const vctx *c)
{
	if (xch_buf_puts(out, "") < 0)
		return XCH_ERROR;
	for (size_t i = 0; i < c->npath; i++) {
		int error = c->path[i].key ? ptr_append(out, c->path[i].key, c->path[i].len) :
		                             xch_buf_printf(out, "/%zu", c->path[i].len);
		if (error < 0)
			return error;
	}
	return 0;
}

static int schema_loc(xch_buf *out, const vctx *c, const snode *n, const char *kw)
{
	if (n->doc != c->start && xch_buf_puts(out, n->doc->uri) < 0)
		return XCH_ERROR;
	if (xch_buf_putc(out, '#') < 0 || xch_buf_puts(out, n->ptr) < 0)
		return XCH_ERROR;
	if (kw && xch_buf_printf(out, "/%s", kw) < 0)
		return XCH_ERROR;
	return 0;
}

/* Record a violation of keyword kw of n (NULL: n itself) at the current instance location. */
static int report(vctx *c, const snode *n, const char *kw, const char *fmt, ...) XCH_PRINTF(4, 5);

static int report(vctx *c, const snode *n, const char *kw, const char *fmt, ...)
{
	xch_buf ib = XCH_BUF_INIT, sb = XCH_BUF_INIT, mb = XCH_BUF_INIT;
	va_list ap;
	char msg[1024];
	int error;

	if (!c->out)
		return 0;
	if (c->out->n >= XCH_SCHEMA_MAX_VIOLATIONS) {
		c->out->more++;
		return 0;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (instance_ptr(&ib, c) < 0 || schema_loc(&sb, c, n, kw) < 0 || xch_buf_puts(&mb, msg) < 0) {
		xch_buf_dispose(&ib);
		xch_buf_dispose(&sb);
		xch_buf_dispose(&mb);
		return c->error = XCH_ERROR;
	}
	error = vlist_add(c->out, xch_buf_detach(&ib), xch_buf_detach(&sb), xch_buf_detach(&mb));
	if (error < 0)
		c->error = error;
	return error;
}

/* Failure bookkeeping inside a check: stop early when only the verdict matters. */
#define FAIL(expr) do { \
	int fail_ = (expr); \
	if (fail_ < 0) \
		return fail_; \
	ok = 0; \
	if (!c->out) \
		return 0; \
} while (0)

static int child(vctx *c, snode *n, const json_t *inst, const char *key, size_t len)
{
	int r;
	if (key)
		path_key(c, key, len);
	else
		path_index(c, len);
	r = validate(c, n, inst, NULL);
	c->npath--;
	return r;
}

static int regex_match(xch_schema_set *set, const sregex *re, const char *s, size_t len)
{
	int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, set->md, set->mctx);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return -1; /* a match limit, or bad UTF-8 */
}

static int num_str(char out[48], const json_t *v)
{
	if (json_is_integer(v))
		snprintf(out, 48, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		fmt_real(out, json_real_value(v));
	return 0;
}

static int check_type(vctx *c, const snode *n, const json_t *inst)
{
	static const char *names[] = { "null", "boolean", "object", "array", "number", "string", "integer" };
	char want[128] = "";
	size_t len = 0;
	int count = 0;

	if (n->types & type_bits(inst))
		return 1;
	for (unsigned i = 0; i < XCH_ARRAY_SIZE(names); i++) {
		if (!(n->types & (1u << i)))
			continue;
		len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%s", count ? ", " : "", names[i]);
		count++;
	}
	if (count == 0)
		return report(c, n, "type", "no type is allowed, got %s", type_name(inst));
	return report(c, n, "type", "expected %s%s, got %s", count > 1 ? "one of " : "", want, type_name(inst));
}

static int check_enum(vctx *c, const snode *n, const json_t *inst)
{
	xch_buf msg = XCH_BUF_INIT;
	size_t count = json_array_size(n->enum_v);
	int error;

	for (size_t i = 0; i < count; i++)
		if (values_equal(json_array_get(n->enum_v, i), inst))
			return 1;
	if (!c->out)
		return 0;
	error = xch_buf_puts(&msg, "value ");
	if (!error)
		error = put_value(&msg, inst);
	if (!error)
		error = xch_buf_puts(&msg, count ? " is not one of the allowed values: " : " is not allowed (empty enum)");
	for (size_t i = 0; i < count && i < 10 && !error; i++) {
		if (i)
			error = xch_buf_puts(&msg, ", ");
		if (!error)
			error = put_value(&msg, json_array_get(n->enum_v, i));
	}
	if (!error && count > 10)
		error = xch_buf_printf(&msg, ", ... (%zu in all)", count);
	if (!error)
		error = report(c, n, "enum", "%s", msg.ptr);
	xch_buf_dispose(&msg);
	return error < 0 ? error : 0;
}

static int check_const(vctx *c, const snode *n, const json_t *inst)
{
	xch_buf msg = XCH_BUF_INIT;
	int error;

	if (values_equal(n->const_v, inst))
		return 1;
	if (!c->out)
		return 0;
	error = xch_buf_puts(&msg, "value must be ");
	if (!error)
		error = put_value(&msg, n->const_v);
	if (!error)
		error = xch_buf_puts(&msg, ", got ");
	if (!error)
		error = put_value(&msg, inst);
	if (!error)
		error = report(c, n, "const", "%s", msg.ptr);
	xch_buf_dispose(&msg);
	return error < 0 ? error : 0;
}

static int check_number(vctx *c, const snode *n, const json_t *inst)
{
	char v[48], l[48];
	int ok = 1, cmp;

	num_str(v, inst);
	if (n->minimum && ((cmp = num_cmp(inst, n->minimum)) < 0 || (cmp == 0 && (n->flags & NF_XMIN_BOOL)))) {
		num_str(l, n->minimum);
		FAIL(report(c, n, "minimum", "value %s is less than %s %s", v,
		            (n->flags & NF_XMIN_BOOL) ? "or equal to the exclusive minimum" : "the minimum", l));
	}
	if (n->maximum && ((cmp = num_cmp(inst, n->maximum)) > 0 || (cmp == 0 && (n->flags & NF_XMAX_BOOL)))) {
		num_str(l, n->maximum);
		FAIL(report(c, n, "maximum", "value %s is greater than %s %s", v,
		            (n->flags & NF_XMAX_BOOL) ? "or equal to the exclusive maximum" : "the maximum", l));
	}
	if (n->xmin && num_cmp(inst, n->xmin) <= 0) {
		num_str(l, n->xmin);
		FAIL(report(c, n, "exclusiveMinimum", "value %s is less than or equal to the exclusive minimum %s", v, l));
	}
	if (n->xmax && num_cmp(inst, n->xmax) >= 0) {
		num_str(l, n->xmax);
		FAIL(report(c, n, "exclusiveMaximum", "value %s is greater than or equal to the exclusive maximum %s", v, l));
	}
	if (n->multiple && !is_multiple(inst, n->multiple)) {
		num_str(l, n->multiple);
		FAIL(report(c, n, "multipleOf", "value %s is not a multiple of %s", v, l));
	}
	return ok;
}

static int check_string(vctx *c, const snode *n, const json_t *inst)
{
	const char *s = json_string_value(inst);
	size_t len = json_string_length(inst), cps = 0;
	int ok = 1;

	if (n->min_len >= 0 || n->max_len >= 0)
		cps = utf8_length(s, len);
	if (n->min_len >= 0 && cps < (uint64_t)n->min_len)
		FAIL(report(c, n, "minLength", "string is shorter than the minimum length %" PRId64 " (it has %zu character%s)",
		            n->min_len, cps, cps == 1 ? "" : "s"));
	if (n->max_len >= 0 && cps > (uint64_t)n->max_len)
		FAIL(report(c, n, "maxLength", "string is longer than the maximum length %" PRId64 " (it has %zu characters)",
		            n->max_len, cps));
	if (n->pattern) {
		int m = regex_match(c->set, n->pattern, s, len);
		if (m <= 0 && c->out) {
			xch_buf shown = XCH_BUF_INIT;
			int r = put_shown(&shown, n->pattern->src, n->pattern->len);
			if (r == 0)
				r = report(c, n, "pattern", m < 0 ? "string could not be matched against pattern '%s' "
				           "(match limit reached)" : "string does not match pattern '%s'", shown.ptr);
			xch_buf_dispose(&shown);
			FAIL(r);
		} else if (m <= 0) {
			return 0;
		}
	}
	if (n->format && c->set->format_assert && xch_schema_format_check(n->format, s, len) == 0)
		FAIL(report(c, n, "format", "string is not a valid %s", n->format));
	return ok;
}

static int check_unique(vctx *c, const snode *n, const json_t *inst)
{
	size_t size = json_array_size(inst), cap, *slot = NULL;
	uint64_t *hash = NULL;
	size_t dup_i = 0, dup_j = 0;
	bool dup = false;

	if (size < 2)
		return 1;
	if (size <= 16) {
		for (size_t j = 1; j < size && !dup; j++)
			for (size_t i = 0; i < j && !dup; i++)
				if (values_equal(json_array_get(inst, i), json_array_get(inst, j)))
					dup = true, dup_i = i, dup_j = j;
	} else {
		for (cap = 32; cap < size * 2; cap *= 2)
			;
		if (!(slot = calloc(cap, sizeof(*slot))) || !(hash = malloc(size * sizeof(*hash)))) {
			free(slot);
			return c->error = xch_error_oom();
		}
		for (size_t j = 0; j < size && !dup; j++) {
			const json_t *v = json_array_get(inst, j);
			size_t k;
			hash[j] = value_hash(v);
			for (k = hash[j] & (cap - 1); slot[k]; k = (k + 1) & (cap - 1)) {
				size_t i = slot[k] - 1;
				if (hash[i] == hash[j] && values_equal(json_array_get(inst, i), v)) {
					dup = true, dup_i = i, dup_j = j;
					break;
				}
			}
			slot[k] = j + 1;
		}
		free(slot);
		free(hash);
	}
	if (!dup)
		return 1;
	return report(c, n, "uniqueItems", "items %zu and %zu are equal, but the items must be unique", dup_i, dup_j);
}

static int check_array(vctx *c, const snode *n, const json_t *inst, bits *a)
{
	size_t size = json_array_size(inst), i;
	int ok = 1, r;

	if (n->min_items >= 0 && size < (uint64_t)n->min_items)
		FAIL(report(c, n, "minItems", "array has %zu item%s, fewer than the minimum %" PRId64, size,
		            size == 1 ? "" : "s", n->min_items));
	if (n->max_items >= 0 && size > (uint64_t)n->max_items)
		FAIL(report(c, n, "maxItems", "array has %zu items, more than the maximum %" PRId64, size, n->max_items));
	if ((n->flags & NF_UNIQUE) && (r = check_unique(c, n, inst)) <= 0)
		FAIL(r);
	for (i = 0; i < n->nprefix && i < size; i++) {
		if ((r = child(c, n->prefix[i], json_array_get(inst, i), NULL, i)) <= 0)
			FAIL(r);
		bits_set(a, i);
	}
	if (n->items && size > n->nprefix) {
		if ((n->items->flags & (NF_BOOL | NF_TRUE)) == NF_BOOL) {
			FAIL(report(c, n->items, NULL, "array has %zu items, at most %zu %s allowed", size, n->nprefix,
			            n->nprefix == 1 ? "is" : "are"));
		} else {
			for (i = n->nprefix; i < size; i++) {
				if ((r = child(c, n->items, json_array_get(inst, i), NULL, i)) <= 0)
					FAIL(r);
				bits_set(a, i);
			}
		}
	}
	if (n->contains) {
		int64_t minc = n->min_contains >= 0 ? n->min_contains : 1, maxc = n->max_contains;
		xch_violations *saved = c->out;
		size_t count = 0;
		c->out = NULL;
		for (i = 0; i < size; i++) {
			if ((r = child(c, n->contains, json_array_get(inst, i), NULL, i)) < 0) {
				c->out = saved;
				return r;
			}
			if (r) {
				count++;
				bits_set(a, i);
				if (!a && maxc < 0 && count >= (uint64_t)minc)
					break;
			}
		}
		c->out = saved;
		if (count < (uint64_t)minc) {
			if (n->min_contains < 0)
				FAIL(report(c, n, "contains", "array has no item that matches \"contains\""));
			else
				FAIL(report(c, n, "minContains", "array has %zu item%s matching \"contains\", fewer than minContains %" PRId64,
				            count, count == 1 ? "" : "s", minc));
		}
		if (maxc >= 0 && count > (uint64_t)maxc)
			FAIL(report(c, n, "maxContains", "array has %zu items matching \"contains\", more than maxContains %" PRId64,
			            count, maxc));
	}
	return ok;
}

static int check_name(vctx *c, const snode *n, const char *key, size_t len)
{
	xch_violations tmp = { 0 }, *saved = c->out;
	json_t *name;
	xch_buf prefix = XCH_BUF_INIT;
	int r;

	if ((n->property_names->flags & (NF_BOOL | NF_TRUE)) == NF_BOOL) {
		if (!c->out)
			return 0;
		if (put_shown(&prefix, key, len) < 0)
			return c->error = XCH_ERROR;
		r = report(c, n->property_names, NULL, "property '%s' is not allowed (\"propertyNames\" is false)", prefix.ptr);
		xch_buf_dispose(&prefix);
		return r;
	}
	if (!(name = json_stringn_nocheck(key, len)))
		return c->error = xch_error_oom();
	if (saved)
		c->out = &tmp;
	r = validate(c, n->property_names, name, NULL);
	c->out = saved;
	json_decref(name);
	if (r == 0 && saved) {
		int error = xch_buf_puts(&prefix, "property name '");
		if (!error)
			error = put_shown(&prefix, key, len);
		if (!error)
			error = xch_buf_puts(&prefix, "': ");
		if (!error)
			error = vlist_move(saved, &tmp, prefix.ptr);
		if (error < 0)
			r = c->error = error;
	}
	vlist_clear(&tmp);
	xch_buf_dispose(&prefix);
	return r;
}

/* A violation whose message names a key: before 'key' after. */
static int report_key(vctx *c, const snode *n, const char *kw, const char *before, const char *key, size_t len,
                      const char *after)
{
	xch_buf shown = XCH_BUF_INIT;
	int r;
	if (!c->out)
		return 0;
	if (put_shown(&shown, key, len) < 0)
		return c->error = XCH_ERROR;
	r = report(c, n, kw, "%s'%s'%s", before, shown.ptr, after);
	xch_buf_dispose(&shown);
	return r;
}

static int check_object(vctx *c, const snode *n, const json_t *inst, bits *a)
{
	json_t *obj = (json_t *)inst;
	size_t size = json_object_size(inst);
	int ok = 1, r;

	if (n->min_props >= 0 && size < (uint64_t)n->min_props)
		FAIL(report(c, n, "minProperties", "object has %zu propert%s, fewer than the minimum %" PRId64, size,
		            size == 1 ? "y" : "ies", n->min_props));
	if (n->max_props >= 0 && size > (uint64_t)n->max_props)
		FAIL(report(c, n, "maxProperties", "object has %zu properties, more than the maximum %" PRId64, size,
		            n->max_props));
	for (size_t i = 0; n->required && i < json_array_size(n->required); i++) {
		json_t *name = json_array_get(n->required, i);
		if (!json_object_getn(obj, json_string_value(name), json_string_length(name)))
			FAIL(report_key(c, n, "required", "missing required property ", json_string_value(name),
			                json_string_length(name), ""));
	}
	for (size_t d = 0; d < n->ndepreq; d++) {
		const skeyed *k = &n->depreq[d];
		json_t *names = k->val;
		if (!json_object_getn(obj, k->key, k->len))
			continue;
		for (size_t i = 0; i < json_array_size(names); i++) {
			json_t *name = json_array_get(names, i);
			if (!json_object_getn(obj, json_string_value(name), json_string_length(name))) {
				xch_buf msg = XCH_BUF_INIT;
				int error = xch_buf_puts(&msg, "property '");
				if (!error)
					error = put_shown(&msg, json_string_value(name), json_string_length(name));
				if (!error)
					error = xch_buf_puts(&msg, "' is required when '");
				if (!error)
					error = put_shown(&msg, k->key, k->len);
				if (!error)
					error = xch_buf_puts(&msg, "' is present");
				if (!error)
					error = report(c, n, k->kw, "%s", msg.ptr);
				xch_buf_dispose(&msg);
				FAIL(error < 0 ? error : 0);
			}
		}
	}
	if (n->props.n || n->npprops || n->additional || n->property_names) {
		size_t i = 0;
		for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it), i++) {
			const char *key = json_object_iter_key(it);
			size_t len = json_object_iter_key_len(it);
			json_t *val = json_object_iter_value(it);
			snode *p = n->props.n ? smap_get(&n->props, key, len) : NULL;
			bool matched = false;

			if (p) {
				matched = true;
				if ((r = child(c, p, val, key, len)) <= 0)
					FAIL(r);
			}
			for (size_t k = 0; k < n->npprops; k++) {
				int m = regex_match(c->set, n->pprops[k].re, key, len);
				if (m < 0) {
					path_key(c, key, len);
					r = report(c, n, "patternProperties", "property name could not be matched against pattern "
					           "'%.200s' (match limit reached)", n->pprops[k].re->src);
					c->npath--;
					FAIL(r);
				} else if (m) {
					matched = true;
					if ((r = child(c, n->pprops[k].node, val, key, len)) <= 0)
						FAIL(r);
				}
			}
			if (!matched && n->additional) {
				if ((n->additional->flags & (NF_BOOL | NF_TRUE)) == NF_BOOL) {
					path_key(c, key, len);
					r = report_key(c, n->additional, NULL, "property ", key, len, " is not allowed");
					c->npath--;
					FAIL(r);
				} else if ((r = child(c, n->additional, val, key, len)) <= 0) {
					FAIL(r);
				}
			}
			if (matched || n->additional)
				bits_set(a, i);
			if (n->property_names) {
				path_key(c, key, len);
				r = check_name(c, n, key, len);
				c->npath--;
				if (r <= 0)
					FAIL(r);
			}
		}
	}
	for (size_t d = 0; d < n->ndepsch; d++) {
		const skeyed *k = &n->depsch[d];
		if (json_object_getn(obj, k->key, k->len) && (r = validate(c, k->val, inst, a)) <= 0)
			FAIL(r);
	}
	return ok;
}

static int check_unevaluated(vctx *c, const snode *n, const json_t *inst, bits *a)
{
	int ok = 1, r;

	if (json_is_array(inst)) {
		snode *u = n->unevaluated_items;
		for (size_t i = 0; i < json_array_size(inst); i++) {
			if (bits_get(a, i))
				continue;
			if ((u->flags & (NF_BOOL | NF_TRUE)) == NF_BOOL) {
				path_index(c, i);
				r = report(c, u, NULL, "item %zu is not allowed (no keyword accepts it)", i);
				c->npath--;
				FAIL(r);
			} else if ((r = child(c, u, json_array_get(inst, i), NULL, i)) <= 0) {
				FAIL(r);
			}
			bits_set(a, i);
		}
	} else {
		json_t *obj = (json_t *)inst;
		snode *u = n->unevaluated_props;
		size_t i = 0;
		for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it), i++) {
			const char *key = json_object_iter_key(it);
			size_t len = json_object_iter_key_len(it);
			if (bits_get(a, i))
				continue;
			if ((u->flags & (NF_BOOL | NF_TRUE)) == NF_BOOL) {
				path_key(c, key, len);
				r = report_key(c, u, NULL, "property ", key, len, " is not allowed (no keyword accepts it)");
				c->npath--;
				FAIL(r);
			} else if ((r = child(c, u, json_object_iter_value(it), key, len)) <= 0) {
				FAIL(r);
			}
			bits_set(a, i);
		}
	}
	return ok;
}

/*
 * All alternatives of anyOf/oneOf failed: say so, and when one alternative
 * clearly came closest (it failed only below this location, with the fewest
 * violations), list its violations too.
 */
static int explain_alternatives(vctx *c, const snode *n, const char *kw, snode **alts, size_t count,
                                const json_t *inst)
{
	xch_violations *lists, *saved = c->out;
	xch_buf here = XCH_BUF_INIT;
	size_t best = SIZE_MAX, bestn = SIZE_MAX;
	bool unique = false;
	int r = 0, error;

	if (!c->out)
		return 0;
	if (!(lists = calloc(count, sizeof(*lists))))
		return c->error = xch_error_oom();
	for (size_t i = 0; i < count && r >= 0; i++) {
		c->out = &lists[i];
		r = validate(c, alts[i], inst, NULL);
	}
	c->out = saved;
	if (r >= 0 && (r = instance_ptr(&here, c)) >= 0) {
		for (size_t i = 0; i < count; i++) {
			size_t total = lists[i].n + lists[i].more;
			bool deeper = lists[i].n > 0;
			for (size_t k = 0; k < lists[i].n && deeper; k++)
				if (strlen(lists[i].v[k].inst) <= here.size)
					deeper = false;
			if (!deeper)
				continue;
			if (total < bestn) {
				best = i;
				bestn = total;
				unique = true;
			} else if (total == bestn) {
				unique = false;
			}
		}
		if (unique)
			r = report(c, n, kw, "value matches none of the %zu alternatives of %s; the closest, #%s, fails as follows",
			           count, kw, alts[best]->ptr);
		else
			r = report(c, n, kw, "value matches none of the %zu alternatives of %s", count, kw);
		if (r >= 0 && unique && (error = vlist_move(saved, &lists[best], NULL)) < 0)
			r = c->error = error;
	}
	for (size_t i = 0; i < count; i++)
		vlist_clear(&lists[i]);
	free(lists);
	xch_buf_dispose(&here);
	return r < 0 ? r : 0;
}

static int check_any(vctx *c, const snode *n, const json_t *inst, bits *a)
{
	xch_violations *saved = c->out;
	bits tmp;
	bool any = false;
	int r = 0;

	if (a && (r = bits_init(&tmp, a->n)) < 0)
		return c->error = r;
	c->out = NULL;
	for (size_t i = 0; i < n->nany; i++) {
		if (a)
			bits_clear(&tmp);
		if ((r = validate(c, n->any_of[i], inst, a ? &tmp : NULL)) < 0)
			break;
		if (r) {
			any = true;
			if (!a)
				break;
			bits_or(a, &tmp);
		}
	}
	c->out = saved;
	if (a)
		bits_free(&tmp);
	if (r < 0)
		return r;
	if (any)
		return 1;
	return explain_alternatives(c, n, "anyOf", n->any_of, n->nany, inst);
}

static int check_one(vctx *c, const snode *n, const json_t *inst, bits *a)
{
	xch_violations *saved = c->out;
	bits tmp, keep;
	size_t count = 0, first = 0, second = 0;
	int r = 0;

	if (a) {
		if ((r = bits_init(&tmp, a->n)) < 0)
			return c->error = r;
		if ((r = bits_init(&keep, a->n)) < 0) {
			bits_free(&tmp);
			return c->error = r;
		}
	}
	c->out = NULL;
	for (size_t i = 0; i < n->none && count < 2; i++) {
		if (a)
			bits_clear(&tmp);
		if ((r = validate(c, n->one_of[i], inst, a ? &tmp : NULL)) < 0)
			break;
		if (r) {
			if (count++ == 0) {
				first = i;
				if (a)
					bits_or(&keep, &tmp);
			} else {
				second = i;
			}
		}
	}
	c->out = saved;
	if (r >= 0 && count == 1 && a)
		bits_or(a, &keep);
	if (a) {
		bits_free(&tmp);
		bits_free(&keep);
	}
	if (r < 0)
		return r;
	if (count == 1)
		return 1;
	if (count > 1)
		return report(c, n, "oneOf", "value matches more than one alternative of oneOf (#%s and #%s)",
		              n->one_of[first]->ptr, n->one_of[second]->ptr);
	return explain_alternatives(c, n, "oneOf", n->one_of, n->none, inst);
}

static int check_not(vctx *c, const snode *n, const json_t *inst)
{
	xch_violations *saved = c->out;
	int r;

	c->out = NULL;
	r = validate(c, n->not_, inst, NULL);
	c->out = saved;
	if (r < 0)
		return r;
	if (r == 0)
		return 1;
	return report(c, n, "not", "value must not match the schema in \"not\"");
}

static int check_if(vctx *c, const snode *n, const json_t *inst, bits *a)
{
	xch_violations *saved = c->out;
	bits tmp;
	int r;

	if (a && (r = bits_init(&tmp, a->n)) < 0)
		return c->error = r;
	c->out = NULL;
	r = validate(c, n->if_, inst, a ? &tmp : NULL);
	c->out = saved;
	if (r > 0 && a)
		bits_or(a, &tmp);
	if (a)
		bits_free(&tmp);
	if (r < 0)
		return r;
	if (r)
		return n->then_ ? validate(c, n->then_, inst, a) : 1;
	return n->else_ ? validate(c, n->else_, inst, a) : 1;
}

static int apply_ref(vctx *c, const snode *from, snode *target, const json_t *inst, bits *a)
{
	for (size_t k = c->nstack; k-- > 0 && c->stack[k].i == inst;)
		if (c->stack[k].n == target)
			return vfail(c, XCH_EINVALID, "schema '%s': reference at '#%s' leads back to '#%s' without "
			             "consuming the instance (an endless loop)", from->doc->uri, from->ptr, target->ptr);
	return validate(c, target, inst, a);
}

static int apply_dynref(vctx *c, const snode *n, const json_t *inst, bits *a)
{
	snode *target = n->dynref;

	if (n->dynref_anchor) {
		size_t len = strlen(n->dynref_anchor);
		for (size_t k = 0; k < c->ndyn; k++) {
			snode *t = smap_get(&c->dyn[k]->dyn, n->dynref_anchor, len);
			if (t) {
				target = t;
				break;
			}
		}
	}
	return apply_ref(c, n, target, inst, a);
}

#define CHECK(expr) do { \
	r = (expr); \
	if (r < 0) \
		goto done; \
	if (r == 0) { \
		ok = 0; \
		if (!c->out) \
			goto done; \
	} \
} while (0)

static int eval(vctx *c, snode *n, const json_t *inst, bits *ann)
{
	bits local, *a = ann;
	bool has_local = false;
	int ok = 1, r = 0;

	if ((n->unevaluated_items && json_is_array(inst)) || (n->unevaluated_props && json_is_object(inst))) {
		size_t size = json_is_array(inst) ? json_array_size(inst) : json_object_size(inst);
		if ((r = bits_init(&local, size)) < 0)
			return c->error = r;
		has_local = true;
		a = &local;
	} else if (a && !json_is_array(inst) && !json_is_object(inst)) {
		a = NULL;
	}

	if (n->ref_uri)
		CHECK(apply_ref(c, n, n->ref, inst, a));
	if (n->flags & NF_REF_ONLY)
		goto done;
	if (n->dynref_uri)
		CHECK(apply_dynref(c, n, inst, a));
	if (n->types)
		CHECK(check_type(c, n, inst));
	if (n->enum_v)
		CHECK(check_enum(c, n, inst));
	if (n->const_v)
		CHECK(check_const(c, n, inst));
	switch (json_typeof(inst)) {
	case JSON_INTEGER:
	case JSON_REAL:
		CHECK(check_number(c, n, inst));
		break;
	case JSON_STRING:
		CHECK(check_string(c, n, inst));
		break;
	case JSON_ARRAY:
		CHECK(check_array(c, n, inst, a));
		break;
	case JSON_OBJECT:
		CHECK(check_object(c, n, inst, a));
		break;
	default:
		break;
	}
	for (size_t i = 0; i < n->nall; i++)
		CHECK(validate(c, n->all_of[i], inst, a));
	if (n->nany)
		CHECK(check_any(c, n, inst, a));
	if (n->none)
		CHECK(check_one(c, n, inst, a));
	if (n->not_)
		CHECK(check_not(c, n, inst));
	if (n->if_)
		CHECK(check_if(c, n, inst, a));
	if (has_local)
		CHECK(check_unevaluated(c, n, inst, a));
	r = 0;
done:
	if (r >= 0) {
		r = ok;
		if (ok && ann && has_local)
			bits_or(ann, &local);
	}
	if (has_local)
		bits_free(&local);
	return r;
}

static int validate(vctx *c, snode *n, const json_t *inst, bits *ann)
{
	bool pushed = false;
	int r;

	if (n->flags & NF_BOOL) {
		if (n->flags & NF_TRUE)
			return 1;
		return report(c, n, NULL, "no value is allowed here (the schema is false)");
	}
	if (++c->steps > MAX_STEPS)
		return vfail(c, XCH_ETOOBIG, "validation against '%s' needs more than %lu steps", c->uri, MAX_STEPS);
	if (c->nstack >= MAX_EVAL_DEPTH)
		return vfail(c, XCH_ETOOBIG, "schema '%s': evaluation nested deeper than %d levels at '#%s'",
		             n->doc->uri, MAX_EVAL_DEPTH, n->ptr);
	c->stack[c->nstack++] = (frame){ n, inst };
	if (!c->ndyn || c->dyn[c->ndyn - 1] != n->res) {
		c->dyn[c->ndyn++] = n->res;
		pushed = true;
	}
	r = eval(c, n, inst, ann);
	if (pushed)
		c->ndyn--;
	c->nstack--;
	return r;
}

int xch_schema_validate_json(xch_violations **out, xch_schema_set *set, const char *uri, const json_t *instance)
{
	xch_violations *list = NULL;
	vctx *c = NULL;
	snode *root;
	int error, r;

	XCH_ARG(out);
	*out = NULL;
	XCH_ARG(set);
	XCH_ARG(uri);
	XCH_ARG(instance);

	if ((error = resolve(&root, set, uri)) < 0)
		return error;
	if ((error = link_nodes(set, root)) < 0)
		return error;
	if (!(c = calloc(1, sizeof(*c))) || !(list = calloc(1, sizeof(*list)))) {
		free(c);
		return xch_error_oom();
	}
	c->set = set;
	c->start = root->doc;
	c->uri = uri;
	c->out = list;
	r = validate(c, root, instance, NULL);
	if (r < 0) {
		error = c->error ? c->error : r;
		goto fail;
	}
	if (r == 0 && list->n == 0) {
		/* cannot happen: every failure is reported; say something anyway */
		r = report(c, root, NULL, "document does not match the schema");
		if (r < 0) {
			error = r;
			goto fail;
		}
	}
	if (list->more) {
		/* the last entry makes way for a note of how many more there are */
		size_t hidden = list->more;
		char *msg = malloc(96);
		if (list->n >= XCH_SCHEMA_MAX_VIOLATIONS) {
			hidden++;
			list->n--;
			free(list->v[list->n].inst);
			free(list->v[list->n].schema);
			free(list->v[list->n].msg);
		}
		if (msg)
			snprintf(msg, 96, "%zu more violations not listed", hidden);
		if ((error = vlist_add(list, strdup(""), strdup(""), msg)) < 0)
			goto fail;
		list->more = hidden;
	}
	free(c);
	if (list->n == 0) {
		xch_violations_free(list);
		return 0;
	}
	*out = list;
	return xch_error_set(XCH_ESCHEMA, "document does not match schema '%s': %zu violation%s; at '%s': %s", uri,
	                     list->n + (list->more ? list->more - 1 : 0), list->n == 1 ? "" : "s",
	                     list->v[0].inst, list->v[0].msg);
fail:
	free(c);
	xch_violations_free(list);
	return error;
}

/* ---- the set ---- */

int xch_schema_set_new(xch_schema_set **out)
{
	xch_schema_set *set;

	XCH_ARG(out);
	*out = NULL;
	if (!(set = calloc(1, sizeof(*set))))
		return xch_error_oom();
	set->default_draft = DRAFT2020;
	set->format_assert = true;
	set->md = pcre2_match_data_create(1, NULL);
	set->mctx = pcre2_match_context_create(NULL);
	if (!set->md || !set->mctx) {
		xch_schema_set_free(set);
		return xch_error_oom();
	}
	pcre2_set_match_limit(set->mctx, XCH_SCHEMA_MATCH_LIMIT);
	pcre2_set_depth_limit(set->mctx, XCH_SCHEMA_MATCH_LIMIT / 100);
	*out = set;
	return 0;
}

void xch_schema_set_free(xch_schema_set *set)
{
	if (!set)
		return;
	while (set->docs) {
		sdoc *d = set->docs;
		set->docs = d->next;
		doc_free(d);
	}
	for (size_t i = 0; i < set->regexes.cap; i++) {
		sregex *re = set->regexes.e[i].val;
		if (!set->regexes.e[i].key)
			continue;
		pcre2_code_free(re->code);
		free(re->src);
		free(re);
	}
	smap_dispose(&set->regexes);
	smap_dispose(&set->uris);
	pcre2_match_data_free(set->md);
	pcre2_match_context_free(set->mctx);
	free(set);
}

int xch_schema_set_default_draft(xch_schema_set *set, int draft)
{
	XCH_ARG(set);
	if (draft == 7 || draft == 6)
		set->default_draft = DRAFT7;
	else if (draft == 4)
		set->default_draft = DRAFT4;
	else if (draft == 2020)
		set->default_draft = DRAFT2020;
	else
		return xch_error_set(XCH_EUNSUPPORTED, "unsupported JSON Schema draft %d", draft);
	return 0;
}

void xch_schema_set_format_assertion(xch_schema_set *set, bool on)
{
	if (set)
		set->format_assert = on;
}

void xch_schema_set_loader(xch_schema_set *set, xch_schema_loader_fn fn, void *payload)
{
	if (!set)
		return;
	set->loader = fn;
	set->loader_payload = payload;
}

int xch_schema_set_add_json(xch_schema_set *set, json_t *schema, const char *base_uri, xch_buf *id_out)
{
	cctx c = { set, NULL, XCH_BUF_INIT, XCH_BUF_INIT, 0, false };
	char *retrieval = NULL;
	smap local = { 0 };
	snode *root;
	sdoc *doc;
	int error;

	XCH_ARG(set);
	XCH_ARG(schema);
	if (base_uri) {
		if (!uri_is_absolute(base_uri))
			return xch_error_set(XCH_EINVALID, "schema URI '%s' is not absolute", base_uri);
		retrieval = xstrndup(base_uri, strcspn(base_uri, "#"));
	} else {
		char anon[64];
		snprintf(anon, sizeof(anon), "urn:xch:anonymous:%u", ++set->anon);
		retrieval = strdup(anon);
	}
	if (!retrieval)
		return xch_error_oom();
	if (!(doc = calloc(1, sizeof(*doc)))) {
		free(retrieval);
		return xch_error_oom();
	}
	doc->json = json_incref(schema);
	c.doc = doc;
	if (!(doc->uri = strdup(retrieval))) {
		error = xch_error_oom();
		goto fail;
	}
	error = compile_node(&root, &c, schema, NULL, set->default_draft, retrieval);
	xch_buf_dispose(&c.ptr);
	xch_buf_dispose(&c.tmp);
	if (error < 0)
		goto fail;
	if (strcmp(doc->uri, retrieval) != 0) {
		doc->alias = retrieval;
		retrieval = NULL;
	}

	/* every URI must be new, to the set and within the document */
	for (size_t i = 0; i <= doc->nres; i++) {
		const char *u = i < doc->nres ? doc->res[i]->uri : doc->alias;
		int put;
		if (!u)
			continue;
		if (smap_get(&set->uris, u, strlen(u))) {
			error = xch_error_set(XCH_EEXISTS, "schema '%s' is already loaded", u);
			goto fail;
		}
		if ((put = smap_put(&local, u, strlen(u), NULL)) != 0) {
			error = put < 0 ? put : xch_error_set(XCH_EINVALID, "schema '%s': '%s' is declared twice", doc->uri, u);
			goto fail;
		}
	}
	for (size_t i = 0; i < doc->nres; i++) {
		if ((error = smap_put(&set->uris, doc->res[i]->uri, strlen(doc->res[i]->uri), doc->res[i])) < 0)
			goto fail_registered;
		doc->res[i]->registered = true;
	}
	if (doc->alias && (error = smap_put(&set->uris, doc->alias, strlen(doc->alias), doc->res[0])) < 0)
		goto fail_registered;
	if (id_out && (error = xch_buf_sets(id_out, doc->uri)) < 0)
		goto fail_registered;
	doc->next = set->docs;
	set->docs = doc;
	smap_dispose(&local);
	free(retrieval);
	return 0;

fail_registered:
	/* out of memory half way: the set cannot be repaired without this document */
	doc->next = set->docs;
	set->docs = doc;
	smap_dispose(&local);
	free(retrieval);
	return error;
fail:
	smap_dispose(&local);
	free(retrieval);
	doc_free(doc);
	return error;
}

/* file://<absolute path>, percent-encoding what a URI path cannot hold. */
static int file_uri(xch_buf *out, const char *path)
{
	char *real = realpath(path, NULL);
	const char *p = real ? real : path;
	int error = xch_buf_sets(out, "file://");

	if (!error && p[0] != '/') {
		char cwd[4096];
		if (!getcwd(cwd, sizeof(cwd)))
			error = xch_error_set_os(XCH_EOS, "cannot get the current directory");
		else
			error = xch_buf_printf(out, "%s/", cwd);
	}
	for (; !error && *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("-._~/!$&'()*+,;=:@", ch))
			error = xch_buf_putc(out, (char)ch);
		else
			error = xch_buf_printf(out, "%%%02X", ch);
	}
	free(real);
	return error;
}

int xch_schema_set_add_buffer(xch_schema_set *set, const char *data, size_t len, const char *origin, xch_buf *id_out)
{
	xch_buf uri = XCH_BUF_INIT;
	json_t *json;
	int error;

	XCH_ARG(set);
	XCH_ARG(data || !len);
	if ((error = xch_json_parse(&json, data ? data : "", len, origin)) < 0)
		return error;
	if (origin && !uri_is_absolute(origin))
		error = file_uri(&uri, origin);
	else if (origin)
		error = xch_buf_sets(&uri, origin);
	if (!error)
		error = xch_schema_set_add_json(set, json, origin ? uri.ptr : NULL, id_out);
	json_decref(json);
	xch_buf_dispose(&uri);
	return error;
}

int xch_schema_set_add_file(xch_schema_set *set, const char *path, xch_buf *id_out)
{
	xch_buf uri = XCH_BUF_INIT;
	json_t *json;
	int error;

	XCH_ARG(set);
	XCH_ARG(path);
	if ((error = xch_json_load_file(&json, path)) < 0)
		return error;
	if (!(error = file_uri(&uri, path)))
		error = xch_schema_set_add_json(set, json, uri.ptr, id_out);
	json_decref(json);
	xch_buf_dispose(&uri);
	return error;
}

int xch_schema_set_add_file_as(xch_schema_set *set, const char *path, const char *uri, xch_buf *id_out)
{
	json_t *json;
	int error;

	XCH_ARG(set && path && uri);
	if ((error = xch_json_load_file(&json, path)) < 0)
		return error;
	error = xch_schema_set_add_json(set, json, uri, id_out);
	json_decref(json);
	return error;
}

int xch_schema_validate_buffer(xch_violations **out, xch_schema_set *set, const char *uri, const char *data,
                               size_t len, const char *origin)
{
	json_t *json;
	int error;

	XCH_ARG(out);
	*out = NULL;
	XCH_ARG(set);
	XCH_ARG(uri);
	XCH_ARG(data || !len);
	if ((error = xch_json_parse(&json, data ? data : "", len, origin)) < 0)
		return error;
	error = xch_schema_validate_json(out, set, uri, json);
	json_decref(json);
	return error;
}

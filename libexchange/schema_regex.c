/*
 * ECMA-262 regular expressions, as JSON Schema "pattern" and
 * "patternProperties" use them, translated to PCRE2.
 *
 * The dialect we accept is ECMA-262 with the "u" flag (Unicode mode),
 * matched by PCRE2 in UTF mode without PCRE2_UCP. What the translation
 * does, so that PCRE2 agrees with ECMA-262:
 *
 *   \d \D \w \W \b \B   ASCII only, as in ECMA-262 (PCRE2 without UCP
 *                       gives the same classes)
 *   \s \S               the ECMA-262 white space and line terminators:
 *                       TAB LF VT FF CR SPACE U+00A0 U+1680 U+2000-U+200A
 *                       U+2028 U+2029 U+202F U+205F U+3000 U+FEFF
 *   .                   any code point but LF, CR, U+2028, U+2029
 *   $                   the very end of the string (PCRE2_DOLLAR_ENDONLY)
 *   \uXXXX \u{X...}     a code point; a \uD8xx\uDCxx pair is one code point
 *   \xHH \cX \0 \v      the ECMA-262 meanings (\v is U+000B, not a class)
 *   [] [^]              match nothing / any code point
 *   \p{..} \P{..}       passed to PCRE2, which knows the general
 *                       categories and scripts by short and long name
 *   (?<name>..) \k<name>, (?:..), (?=..), (?!..), (?<=..), (?<!..),
 *   backreferences \1..\99, greedy and lazy quantifiers: as in ECMA-262.
 *
 * Refused, as ECMA-262 in Unicode mode refuses them: escapes of letters
 * ECMA-262 gives no meaning (\a, \e, \z, \A, \Q, ...), PCRE2-only groups
 * ((?i), (?>..), (?#..), (?|..), recursion), possessive quantifiers, a
 * quantifier with nothing to repeat, and lone surrogates. Lookbehind is
 * limited to what PCRE2 can match (bounded length), and matching is bounded
 * (see XCH_SCHEMA_MATCH_LIMIT), so a pathological pattern fails closed.
 */
#include "common.h"
#include "schema.h"

#define WS_ITEMS "\\t\\n\\x{0b}\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}" \
	"\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}"
#define NOT_LT "[^\\n\\r\\x{2028}\\x{2029}]"

typedef struct {
	const char *p, *end, *src;
	size_t srclen;
	xch_buf *out;
	unsigned groups;
	bool in_class;
} rx;

static int rx_fail(rx *r, const char *what)
{
	return xch_error_set(XCH_EINVALID, "invalid regular expression '%.*s': %s",
	                     (int)(r->srclen > 200 ? 200 : r->srclen), r->src, what);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hex_n(rx *r, int n, uint32_t *cp)
{
	uint32_t v = 0;
	if (r->end - r->p < n)
		return -1;
	for (int i = 0; i < n; i++) {
		int h = hexval((unsigned char)r->p[i]);
		if (h < 0)
			return -1;
		v = v * 16 + (uint32_t)h;
	}
	r->p += n;
	*cp = v;
	return 0;
}

/* After "\u": XXXX, a surrogate pair \uXXXX\uXXXX, or {X...}. */
static int parse_u(rx *r, uint32_t *cp)
{
	if (r->p < r->end && *r->p == '{') {
		uint32_t v = 0;
		int digits = 0;
		r->p++;
		while (r->p < r->end && *r->p != '}') {
			int h = hexval((unsigned char)*r->p);
			if (h < 0 || ++digits > 8)
				return rx_fail(r, "bad \\u{...} escape");
			v = v * 16 + (uint32_t)h;
			r->p++;
		}
		if (r->p == r->end || digits == 0 || v > 0x10FFFF)
			return rx_fail(r, "bad \\u{...} escape");
		r->p++;
		*cp = v;
	} else if (hex_n(r, 4, cp) < 0) {
		return rx_fail(r, "\\u needs four hex digits");
	}
	if (*cp >= 0xD800 && *cp <= 0xDBFF) {
		uint32_t lo;
		const char *save = r->p;
		if (r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u') {
			r->p += 2;
			if (hex_n(r, 4, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
				*cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
				return 0;
			}
		}
		r->p = save;
		return rx_fail(r, "lone surrogate");
	}
	if (*cp >= 0xDC00 && *cp <= 0xDFFF)
		return rx_fail(r, "lone surrogate");
	return 0;
}

static int put_cp(xch_buf *out, uint32_t cp)
{
	return xch_buf_printf(out, "\\x{%x}", (unsigned)cp);
}

/* Copy one UTF-8 encoded code point (the source is valid UTF-8). */
static int copy_char(rx *r, xch_buf *out)
{
	unsigned char c = (unsigned char)*r->p;
	size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
	if (c == 0) {
		r->p++;
		return xch_buf_puts(out, "\\x{0}");
	}
	if ((size_t)(r->end - r->p) < n)
		return rx_fail(r, "truncated UTF-8");
	if (xch_buf_put(out, r->p, n) < 0)
		return XCH_ERROR;
	r->p += n;
	return 0;
}

static bool is_syntax_char(int c)
{
	return c && strchr("^$\\.*+?()[]{}|/", c) != NULL;
}

/* ECMA-262 long names of general categories, and their PCRE2 short names. */
static const struct { const char *ecma, *pcre; } gc_names[] = {
	{ "Letter", "L" }, { "Cased_Letter", "L&" }, { "LC", "L&" }, { "Uppercase_Letter", "Lu" },
	{ "Lowercase_Letter", "Ll" }, { "Titlecase_Letter", "Lt" }, { "Modifier_Letter", "Lm" },
	{ "Other_Letter", "Lo" }, { "Mark", "M" }, { "Combining_Mark", "M" }, { "Nonspacing_Mark", "Mn" },
	{ "Spacing_Mark", "Mc" }, { "Enclosing_Mark", "Me" }, { "Number", "N" }, { "Decimal_Number", "Nd" },
	{ "digit", "Nd" }, { "Letter_Number", "Nl" }, { "Other_Number", "No" }, { "Punctuation", "P" },
	{ "punct", "P" }, { "Connector_Punctuation", "Pc" }, { "Dash_Punctuation", "Pd" },
	{ "Open_Punctuation", "Ps" }, { "Close_Punctuation", "Pe" }, { "Initial_Punctuation", "Pi" },
	{ "Final_Punctuation", "Pf" }, { "Other_Punctuation", "Po" }, { "Symbol", "S" },
	{ "Math_Symbol", "Sm" }, { "Currency_Symbol", "Sc" }, { "Modifier_Symbol", "Sk" },
	{ "Other_Symbol", "So" }, { "Separator", "Z" }, { "Space_Separator", "Zs" },
	{ "Line_Separator", "Zl" }, { "Paragraph_Separator", "Zp" }, { "Other", "C" }, { "Control", "Cc" },
	{ "cntrl", "Cc" }, { "Format", "Cf" }, { "Surrogate", "Cs" }, { "Private_Use", "Co" },
	{ "Unassigned", "Cn" },
};

/*
 * After "\p" or "\P": {Name}, {General_Category=Name}, {gc=Name},
 * {Script=Name}, {sc=Name}, {Script_Extensions=Name}, {scx=Name}. General
 * categories may use their long ECMA-262 names; scripts and binary
 * properties go to PCRE2 as they are.
 */
static int property_escape(rx *r, xch_buf *out, int e)
{
	const char *start, *eq, *name;
	size_t len, nlen;

	if (r->p >= r->end || *r->p != '{')
		return rx_fail(r, "\\p needs {property}");
	start = ++r->p;
	while (r->p < r->end && *r->p != '}') {
		unsigned char ch = (unsigned char)*r->p;
		if (!(ch == '_' || ch == '=' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= 'A' && ch <= 'Z')))
			return rx_fail(r, "bad property name");
		r->p++;
	}
	if (r->p == r->end || r->p == start)
		return rx_fail(r, "bad \\p{...}");
	len = (size_t)(r->p - start);
	r->p++;
	name = start;
	nlen = len;
	if ((eq = memchr(start, '=', len)) != NULL) {
		size_t klen = (size_t)(eq - start);
		name = eq + 1;
		nlen = len - klen - 1;
		if ((klen == 2 && !memcmp(start, "sc", 2)) || (klen == 6 && !memcmp(start, "Script", 6)))
			return xch_buf_printf(out, "\\%c{%.*s}", e, (int)nlen, name) < 0 ? XCH_ERROR : 1;
		if ((klen == 3 && !memcmp(start, "scx", 3)) || (klen == 17 && !memcmp(start, "Script_Extensions", 17)))
			return xch_buf_printf(out, "\\%c{scx:%.*s}", e, (int)nlen, name) < 0 ? XCH_ERROR : 1;
		if (!((klen == 2 && !memcmp(start, "gc", 2)) || (klen == 16 && !memcmp(start, "General_Category", 16))))
			return rx_fail(r, "unknown property");
	}
	for (size_t i = 0; i < XCH_ARRAY_SIZE(gc_names); i++) {
		if (strlen(gc_names[i].ecma) == nlen && !memcmp(gc_names[i].ecma, name, nlen))
			return xch_buf_printf(out, "\\%c{%s}", e, gc_names[i].pcre) < 0 ? XCH_ERROR : 1;
	}
	if (nlen == 5 && !memcmp(name, "ASCII", 5))
		return xch_buf_printf(out, "%s[:%sascii:]%s", r->in_class ? "" : "[", e == 'p' ? "" : "^",
		                      r->in_class ? "" : "]") < 0 ? XCH_ERROR : 1;
	return xch_buf_printf(out, "\\%c{%.*s}", e, (int)nlen, name) < 0 ? XCH_ERROR : 1;
}

/*
 * An escape common to classes and the outside: control and code point
 * escapes, and escaped syntax characters. Returns 1 if handled.
 */
static int common_escape(rx *r, xch_buf *out, int e)
{
	uint32_t cp = 0;

	switch (e) {
	case 'f': case 'n': case 'r': case 't':
		return xch_buf_printf(out, "\\%c", e) < 0 ? XCH_ERROR : 1;
	case 'v':
		return xch_buf_puts(out, "\\x{0b}") < 0 ? XCH_ERROR : 1;
	case 'c':
		if (r->p < r->end && ((*r->p >= 'a' && *r->p <= 'z') || (*r->p >= 'A' && *r->p <= 'Z'))) {
			cp = (uint32_t)(*r->p++ % 32);
			return put_cp(out, cp) < 0 ? XCH_ERROR : 1;
		}
		return rx_fail(r, "\\c needs a letter");
	case 'x':
		if (hex_n(r, 2, &cp) < 0)
			return rx_fail(r, "\\x needs two hex digits");
		return put_cp(out, cp) < 0 ? XCH_ERROR : 1;
	case 'u':
		if (parse_u(r, &cp) < 0)
			return XCH_EINVALID;
		return put_cp(out, cp) < 0 ? XCH_ERROR : 1;
	case '0':
		if (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			return rx_fail(r, "octal escapes are not allowed");
		return xch_buf_puts(out, "\\x{0}") < 0 ? XCH_ERROR : 1;
	case 'p': case 'P':
		return property_escape(r, out, e);
	default:
		if (is_syntax_char(e))
			return xch_buf_printf(out, "\\%c", e) < 0 ? XCH_ERROR : 1;
		return 0;
	}
}

static int translate_class(rx *r)
{
	xch_buf items = XCH_BUF_INIT;
	bool neg = false, has_S = false, any = false;
	int error = 0;

	r->p++; /* '[' */
	r->in_class = true;
	if (r->p < r->end && *r->p == '^') {
		neg = true;
		r->p++;
	}
	while (!error && r->p < r->end && *r->p != ']') {
		char c = *r->p;
		any = true;
		if (c == '\\') {
			int e, h;
			if (++r->p == r->end) {
				error = rx_fail(r, "trailing backslash");
				break;
			}
			e = (unsigned char)*r->p++;
			switch (e) {
			case 'd': case 'D': case 'w': case 'W':
				error = xch_buf_printf(&items, "\\%c", e);
				break;
			case 's':
				error = xch_buf_puts(&items, WS_ITEMS);
				break;
			case 'S':
				has_S = true;
				break;
			case 'b':
				error = xch_buf_puts(&items, "\\x{08}");
				break;
			case '-':
				error = xch_buf_puts(&items, "\\-");
				break;
			default:
				h = common_escape(r, &items, e);
				if (h == 0)
					error = rx_fail(r, "invalid escape in character class");
				else if (h < 0)
					error = h;
			}
		} else if (c == '[' || c == '^') {
			error = xch_buf_printf(&items, "\\%c", c);
			r->p++;
		} else {
			error = copy_char(r, &items);
		}
	}
	r->in_class = false;
	if (!error && r->p == r->end)
		error = rx_fail(r, "unterminated character class");
	if (error) {
		xch_buf_dispose(&items);
		return error < 0 ? error : XCH_ERROR;
	}
	r->p++; /* ']' */

	if (!any)
		error = xch_buf_puts(r->out, neg ? "[\\x{0}-\\x{10ffff}]" : "(?!)");
	else if (!has_S)
		error = xch_buf_printf(r->out, "[%s%s]", neg ? "^" : "", items.ptr);
	else if (!items.size)
		error = xch_buf_puts(r->out, neg ? "[" WS_ITEMS "]" : "[^" WS_ITEMS "]");
	else if (!neg)
		error = xch_buf_printf(r->out, "(?:[%s]|[^" WS_ITEMS "])", items.ptr);
	else
		error = xch_buf_printf(r->out, "(?:(?![%s])[" WS_ITEMS "])", items.ptr);
	xch_buf_dispose(&items);
	return error;
}

/* {n}, {n,}, {n,m} at r->p; returns its length or 0. */
static size_t quantifier_len(const rx *r)
{
	const char *q = r->p + 1;
	bool digits = false;
	while (q < r->end && *q >= '0' && *q <= '9')
		q++, digits = true;
	if (!digits)
		return 0;
	if (q < r->end && *q == ',') {
		q++;
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < r->end && *q == '}')
		return (size_t)(q + 1 - r->p);
	return 0;
}

static int translate(rx *r)
{
	bool can_repeat = false;

	while (r->p < r->end) {
		char c = *r->p;
		int error = 0, e, h;
		size_t qlen;

		switch (c) {
		case '\\':
			if (++r->p == r->end)
				return rx_fail(r, "trailing backslash");
			e = (unsigned char)*r->p++;
			can_repeat = true;
			switch (e) {
			case 'd': case 'D': case 'w': case 'W':
				error = xch_buf_printf(r->out, "\\%c", e);
				break;
			case 'b': case 'B':
				error = xch_buf_printf(r->out, "\\%c", e);
				can_repeat = false;
				break;
			case 's':
				error = xch_buf_puts(r->out, "[" WS_ITEMS "]");
				break;
			case 'S':
				error = xch_buf_puts(r->out, "[^" WS_ITEMS "]");
				break;
			case 'k': {
				const char *start = r->p;
				if (r->p >= r->end || *r->p != '<')
					return rx_fail(r, "\\k needs <name>");
				while (r->p < r->end && *r->p != '>')
					r->p++;
				if (r->p == r->end)
					return rx_fail(r, "unterminated \\k<name>");
				r->p++;
				error = xch_buf_printf(r->out, "\\k%.*s", (int)(r->p - start), start);
				break;
			}
			case '-':
				error = xch_buf_puts(r->out, "\\-");
				break;
			default:
				if (e >= '1' && e <= '9') {
					unsigned n = (unsigned)(e - '0');
					while (r->p < r->end && *r->p >= '0' && *r->p <= '9' && n < 1000)
						n = n * 10 + (unsigned)(*r->p++ - '0');
					error = xch_buf_printf(r->out, "\\g{%u}", n);
					break;
				}
				h = common_escape(r, r->out, e);
				if (h == 0)
					return rx_fail(r, "invalid escape");
				if (h < 0)
					return h;
			}
			break;
		case '.':
			r->p++;
			error = xch_buf_puts(r->out, NOT_LT);
			can_repeat = true;
			break;
		case '[':
			error = translate_class(r);
			can_repeat = true;
			break;
		case '(':
			r->p++;
			can_repeat = false;
			if (r->p < r->end && *r->p == '?') {
				const char *q = r->p + 1;
				if (q < r->end && (*q == ':' || *q == '=' || *q == '!')) {
					error = xch_buf_put(r->out, "(?", 2);
					if (!error)
						error = xch_buf_putc(r->out, *q);
					r->p = q + 1;
				} else if (q < r->end && *q == '<' && q + 1 < r->end && (q[1] == '=' || q[1] == '!')) {
					error = xch_buf_put(r->out, r->p - 1, 4);
					r->p = q + 2;
				} else if (q < r->end && *q == '<') {
					const char *name = q + 1, *n = name;
					while (n < r->end && (*n == '_' || *n == '$' || (*n >= '0' && *n <= '9') ||
					       (*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z')))
						n++;
					if (n == name || n == r->end || *n != '>' || (*name >= '0' && *name <= '9'))
						return rx_fail(r, "bad group name");
					if (memchr(name, '$', (size_t)(n - name)))
						return rx_fail(r, "unsupported group name");
					error = xch_buf_printf(r->out, "(?<%.*s>", (int)(n - name), name);
					r->groups++;
					r->p = n + 1;
				} else {
					return rx_fail(r, "unsupported group syntax");
				}
			} else {
				error = xch_buf_putc(r->out, '(');
				r->groups++;
			}
			break;
		case ')':
			r->p++;
			error = xch_buf_putc(r->out, ')');
			can_repeat = true;
			break;
		case '|': case '^': case '$':
			r->p++;
			error = xch_buf_putc(r->out, c);
			can_repeat = false;
			break;
		case '*': case '+': case '?': case '{':
			qlen = c == '{' ? quantifier_len(r) : 1;
			if (c == '{' && qlen == 0) {
				/* a literal brace, as ECMA-262 Annex B reads it */
				r->p++;
				error = xch_buf_puts(r->out, "\\{");
				can_repeat = true;
				break;
			}
			if (!can_repeat)
				return rx_fail(r, "quantifier with nothing to repeat");
			error = xch_buf_put(r->out, r->p, qlen);
			r->p += qlen;
			if (!error && r->p < r->end && *r->p == '?') {
				error = xch_buf_putc(r->out, '?');
				r->p++;
			}
			can_repeat = false;
			break;
		case '}': case ']':
			r->p++;
			error = xch_buf_printf(r->out, "\\%c", c);
			can_repeat = true;
			break;
		default:
			error = copy_char(r, r->out);
			can_repeat = true;
		}
		if (error < 0)
			return error;
	}
	return 0;
}

int xch_schema_regex_translate(xch_buf *out, const char *src, size_t len)
{
	rx r = { src, src + len, src, len, out, 0, false };
	xch_buf_clear(out);
	if (xch_buf_puts(out, "") < 0)
		return XCH_ERROR;
	return translate(&r);
}

int xch_schema_regex_compile(pcre2_code **out, const char *src, size_t len)
{
	xch_buf pat = XCH_BUF_INIT;
	pcre2_code *code;
	int errcode, error;
	PCRE2_SIZE erroff;

	*out = NULL;
	if ((error = xch_schema_regex_translate(&pat, src, len)) < 0) {
		xch_buf_dispose(&pat);
		return error;
	}
	code = pcre2_compile((PCRE2_SPTR)pat.ptr, pat.size,
	                     PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C,
	                     &errcode, &erroff, NULL);
	xch_buf_dispose(&pat);
	if (!code) {
		PCRE2_UCHAR msg[256];
		if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", errcode);
		return xch_error_set(XCH_EINVALID, "invalid regular expression '%.*s': %s",
		                     (int)(len > 200 ? 200 : len), src, (const char *)msg);
	}
	/*
	 * JIT is an optimisation: if it is unavailable the interpreter runs.
	 * (Build with -DXCH_SCHEMA_NO_JIT for valgrind, which cannot follow JIT code.)
	 */
#ifndef XCH_SCHEMA_NO_JIT
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
#endif
	*out = code;
	return 0;
}

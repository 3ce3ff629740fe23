/*
 * JSON Schema "format" checks. Each takes the string with its length (it
 * may hold NUL) and answers 1 (valid) or 0. Only ASCII digits count as
 * digits; no leading or trailing white space is tolerated anywhere.
 */
#include "common.h"
#include "schema.h"

typedef struct {
	const char *p, *end;
} cur;

static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_hex(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Exactly n ASCII digits as a number, or -1. */
static int digits(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Decode one UTF-8 code point (input is valid UTF-8); advances *p. */
static uint32_t utf8_next(const char **p, const char *end)
{
	const unsigned char *s = (const unsigned char *)*p;
	uint32_t c = s[0];
	size_t n = 1;
	if (c >= 0xF0 && end - *p >= 4)
		c = ((c & 7u) << 18) | ((s[1] & 63u) << 12) | ((s[2] & 63u) << 6) | (s[3] & 63u), n = 4;
	else if (c >= 0xE0 && end - *p >= 3)
		c = ((c & 15u) << 12) | ((s[1] & 63u) << 6) | (s[2] & 63u), n = 3;
	else if (c >= 0xC0 && end - *p >= 2)
		c = ((c & 31u) << 6) | (s[1] & 63u), n = 2;
	*p += n;
	return c;
}

/* ---- dates and times (RFC 3339 section 5.6) ---- */

static int days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

static bool full_date(const char *s, size_t len)
{
	int y, m, d;
	if (len != 10 || s[4] != '-' || s[7] != '-')
		return false;
	if ((y = digits(s, 4)) < 0 || (m = digits(s + 5, 2)) < 0 || (d = digits(s + 8, 2)) < 0)
		return false;
	return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

static bool full_time(const char *s, size_t len)
{
	int h, mi, se, oh = 0, om = 0, sign = 0;
	size_t i = 8;
	if (len < 9 || s[2] != ':' || s[5] != ':')
		return false;
	if ((h = digits(s, 2)) < 0 || (mi = digits(s + 3, 2)) < 0 || (se = digits(s + 6, 2)) < 0)
		return false;
	if (h > 23 || mi > 59 || se > 60)
		return false;
	if (s[i] == '.') {
		size_t start = ++i;
		while (i < len && is_digit((unsigned char)s[i]))
			i++;
		if (i == start)
			return false;
	}
	if (i == len)
		return false;
	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
		sign = 0;
	} else if ((s[i] == '+' || s[i] == '-') && len - i == 6 && s[i + 3] == ':') {
		sign = s[i] == '+' ? 1 : -1;
		if ((oh = digits(s + i + 1, 2)) < 0 || (om = digits(s + i + 4, 2)) < 0 || oh > 23 || om > 59)
			return false;
	} else {
		return false;
	}
	if (se == 60) {
		/* a leap second happens at 23:59:60 UTC only */
		int utc = (h * 60 + mi) - sign * (oh * 60 + om);
		utc = ((utc % 1440) + 1440) % 1440;
		if (utc != 23 * 60 + 59)
			return false;
	}
	return true;
}

static bool date_time(const char *s, size_t len)
{
	if (len < 20 || (s[10] != 'T' && s[10] != 't'))
		return false;
	return full_date(s, 10) && full_time(s + 11, len - 11);
}

/* RFC 3339 appendix A. */
static bool duration(const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	static const char date_units[] = "YMD", time_units[] = "HMS";
	int last;
	bool any = false;

	if (p == end || *p++ != 'P' || p == end)
		return false;
	/* weeks stand alone */
	{
		const char *q = p;
		while (q < end && is_digit((unsigned char)*q))
			q++;
		if (q > p && q < end && *q == 'W')
			return q + 1 == end;
	}
	last = -1;
	while (p < end && *p != 'T') {
		const char *q = p, *u;
		while (q < end && is_digit((unsigned char)*q))
			q++;
		if (q == p || q == end || !(u = memchr(date_units, *q, 3)))
			return false;
		/* units in order, without gaps (Y then M then D) */
		if ((last >= 0 && (int)(u - date_units) != last + 1) || (int)(u - date_units) <= last)
			return false;
		last = (int)(u - date_units);
		any = true;
		p = q + 1;
	}
	if (p < end) { /* 'T' */
		bool any_time = false;
		p++;
		last = -1;
		while (p < end) {
			const char *q = p, *u;
			while (q < end && is_digit((unsigned char)*q))
				q++;
			if (q == p || q == end || !(u = memchr(time_units, *q, 3)))
				return false;
			if ((last >= 0 && (int)(u - time_units) != last + 1) || (int)(u - time_units) <= last)
				return false;
			last = (int)(u - time_units);
			any_time = true;
			p = q + 1;
		}
		if (!any_time)
			return false;
		any = true;
	}
	return any;
}

/* ---- network addresses ---- */

static bool ipv4(const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	for (int part = 0; part < 4; part++) {
		const char *start = p;
		int v = 0;
		if (part > 0) {
			if (p == end || *p != '.')
				return false;
			start = ++p;
		}
		while (p < end && is_digit((unsigned char)*p) && p - start < 3)
			v = v * 10 + (*p++ - '0');
		if (p == start || v > 255 || (p - start > 1 && *start == '0'))
			return false;
	}
	return p == end;
}

static bool ipv6(const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	int groups = 0;
	bool gap = false;

	if (len < 2)
		return false;
	if (p[0] == ':') {
		if (p[1] != ':')
			return false;
		gap = true;
		p += 2;
		if (p == end)
			return true;
	}
	while (p < end) {
		const char *start = p;
		while (p < end && is_hex((unsigned char)*p) && p - start < 5)
			p++;
		if (p < end && *p == '.') {
			/* the last 32 bits as an IPv4 address */
			if (!ipv4(start, (size_t)(end - start)))
				return false;
			groups += 2;
			p = end;
			break;
		}
		if (p == start || p - start > 4)
			return false;
		groups++;
		if (p == end)
			break;
		if (*p != ':')
			return false;
		p++;
		if (p < end && *p == ':') {
			if (gap)
				return false;
			gap = true;
			p++;
			if (p == end)
				break;
		} else if (p == end) {
			return false; /* a trailing single colon */
		}
	}
	return gap ? groups <= 7 : groups == 8;
}

static bool ldh_label(const char *s, size_t n)
{
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alpha((unsigned char)s[i]) && !is_digit((unsigned char)s[i]) && s[i] != '-')
			return false;
	/* "--" in the third and fourth positions is reserved for IDNA "xn--" */
	if (n >= 4 && s[2] == '-' && s[3] == '-' && !((s[0] == 'x' || s[0] == 'X') && (s[1] == 'n' || s[1] == 'N')))
		return false;
	return true;
}

/* RFC 1123 host name; idn allows non-ASCII labels (not checked against IDNA tables). */
static bool hostname(const char *s, size_t len, bool idn)
{
	size_t start = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (idn) {
			bool ascii = true;
			size_t n = i - start;
			for (size_t k = start; k < i; k++)
				if ((unsigned char)s[k] >= 0x80)
					ascii = false;
			if (ascii ? !ldh_label(s + start, n) : (n == 0 || n > 252 || s[start] == '-' || s[i - 1] == '-'))
				return false;
			if (!ascii) {
				/* no ASCII other than letters, digits and hyphens */
				for (size_t k = start; k < i; k++) {
					unsigned char c = (unsigned char)s[k];
					if (c < 0x80 && !is_alpha(c) && !is_digit(c) && c != '-')
						return false;
				}
			}
		} else if (!ldh_label(s + start, i - start)) {
			return false;
		}
		start = i + 1;
	}
	return true;
}

/* ---- e-mail (RFC 5321 Mailbox; idn: RFC 6531) ---- */

static bool atext(unsigned char c, bool idn)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c)) || (idn && c >= 0x80);
}

static bool email(const char *s, size_t len, bool idn)
{
	const char *p = s, *end = s + len, *at;

	if (len == 0)
		return false;
	if (*p == '"') {
		p++;
		while (p < end && *p != '"') {
			unsigned char c = (unsigned char)*p;
			if (c == '\\') {
				if (++p == end || (unsigned char)*p < 32 || (unsigned char)*p == 127)
					return false;
			} else if ((c < 32 || c == 127) && !(idn && c >= 0x80)) {
				return false;
			}
			p++;
		}
		if (p == end)
			return false;
		p++;
	} else {
		bool dot_ok = false;
		while (p < end && *p != '@') {
			if (*p == '.') {
				if (!dot_ok)
					return false;
				dot_ok = false;
			} else if (atext((unsigned char)*p, idn)) {
				dot_ok = true;
			} else {
				return false;
			}
			p++;
		}
		if (!dot_ok)
			return false;
	}
	if (p - s > 64 || p == end || *p != '@')
		return false;
	at = p++;
	(void)at;
	if (p == end)
		return false;
	if (*p == '[') {
		if (end[-1] != ']')
			return false;
		if (end - p > 6 && !strncmp(p + 1, "IPv6:", 5))
			return ipv6(p + 6, (size_t)(end - p - 7));
		return ipv4(p + 1, (size_t)(end - p - 2));
	}
	return hostname(p, (size_t)(end - p), idn);
}

/* ---- URIs (RFC 3986) and IRIs (RFC 3987) ---- */

enum { U_PCHAR = 1, U_SLASH = 2, U_QUESTION = 4, U_IPRIVATE = 8, U_COLON = 16, U_AT = 32 };

static bool ucschar(uint32_t c)
{
	return (c >= 0xA0 && c <= 0xD7FF) || (c >= 0xF900 && c <= 0xFDCF) || (c >= 0xFDF0 && c <= 0xFFEF) ||
	       (c >= 0x10000 && c <= 0xEFFFD && (c & 0xFFFF) <= 0xFFFD);
}

static bool iprivate(uint32_t c)
{
	return (c >= 0xE000 && c <= 0xF8FF) || (c >= 0xF0000 && c <= 0xFFFFD) || (c >= 0x100000 && c <= 0x10FFFD);
}

/* unreserved / pct-encoded / sub-delims, plus what `extra` allows. */
static bool uri_chars(const char *p, const char *end, unsigned extra, bool iri)
{
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x80) {
			uint32_t cp;
			if (!iri)
				return false;
			cp = utf8_next(&p, end);
			if (!ucschar(cp) && !((extra & U_IPRIVATE) && iprivate(cp)))
				return false;
			continue;
		}
		if (c == '%') {
			if (end - p < 3 || !is_hex((unsigned char)p[1]) || !is_hex((unsigned char)p[2]))
				return false;
			p += 3;
			continue;
		}
		if (!(is_alpha(c) || is_digit(c) || strchr("-._~!$&'()*+,;=", c) ||
		      (c == ':' && (extra & (U_PCHAR | U_COLON))) || (c == '@' && (extra & (U_PCHAR | U_AT))) ||
		      (c == '/' && (extra & U_SLASH)) || (c == '?' && (extra & U_QUESTION))) || c == 0)
			return false;
		p++;
	}
	return true;
}

static bool authority(const char *p, const char *end, bool iri)
{
	const char *at = memchr(p, '@', (size_t)(end - p)), *host, *colon;
	if (at) {
		if (!uri_chars(p, at, U_COLON, iri))
			return false;
		p = at + 1;
	}
	host = p;
	if (p < end && *p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));
		if (!close)
			return false;
		if (close - p > 1 && (p[1] == 'v' || p[1] == 'V')) {
			const char *q = p + 2, *dot;
			while (q < close && is_hex((unsigned char)*q))
				q++;
			dot = q;
			if (dot == p + 2 || dot == close || *dot != '.' || dot + 1 == close ||
			    !uri_chars(dot + 1, close, U_COLON, false))
				return false;
		} else if (!ipv6(p + 1, (size_t)(close - p - 1))) {
			return false;
		}
		colon = close + 1;
		if (colon < end && *colon != ':')
			return false;
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
		if (!colon)
			colon = end;
		if (!uri_chars(host, colon, 0, iri))
			return false;
	}
	if (colon < end) {
		for (const char *q = colon + 1; q < end; q++)
			if (!is_digit((unsigned char)*q))
				return false;
	}
	return true;
}

static bool uri(const char *s, size_t len, bool reference, bool iri)
{
	const char *p = s, *end = s + len, *q, *path_end;
	bool scheme = false;

	/* scheme */
	if (p < end && is_alpha((unsigned char)*p)) {
		q = p + 1;
		while (q < end && (is_alpha((unsigned char)*q) || is_digit((unsigned char)*q) || *q == '+' ||
		                   *q == '-' || *q == '.'))
			q++;
		if (q < end && *q == ':') {
			scheme = true;
			p = q + 1;
		}
	}
	if (!scheme) {
		if (!reference)
			return false;
		/* path-noscheme: no colon in the first segment */
		for (q = p; q < end && *q != '/' && *q != '?' && *q != '#'; q++)
			if (*q == ':')
				return false;
	}
	/* hier-part / relative-part */
	if (end - p >= 2 && p[0] == '/' && p[1] == '/') {
		p += 2;
		for (q = p; q < end && *q != '/' && *q != '?' && *q != '#'; q++)
			;
		if (!authority(p, q, iri))
			return false;
		p = q;
	}
	for (path_end = p; path_end < end && *path_end != '?' && *path_end != '#'; path_end++)
		;
	if (!uri_chars(p, path_end, U_PCHAR | U_SLASH, iri))
		return false;
	p = path_end;
	if (p < end && *p == '?') {
		for (q = ++p; q < end && *q != '#'; q++)
			;
		if (!uri_chars(p, q, U_PCHAR | U_SLASH | U_QUESTION | U_IPRIVATE, iri))
			return false;
		p = q;
	}
	if (p < end && *p == '#') {
		p++;
		if (!uri_chars(p, end, U_PCHAR | U_SLASH | U_QUESTION, iri))
			return false;
	}
	return true;
}

/* RFC 6570, level 4. */
static bool uri_template(const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '{') {
			const char *close = memchr(p, '}', (size_t)(end - p));
			const char *q = p + 1;
			if (!close)
				return false;
			if (q < close && strchr("+#./;?&", *q))
				q++;
			for (;;) {
				/* varname: varchar *( ["."] varchar ) */
				bool need = true;
				while (q < close) {
					if (*q == '%') {
						if (close - q < 3 || !is_hex((unsigned char)q[1]) || !is_hex((unsigned char)q[2]))
							return false;
						q += 3;
					} else if (is_alpha((unsigned char)*q) || is_digit((unsigned char)*q) || *q == '_') {
						q++;
					} else if (*q == '.' && !need) {
						q++;
						need = true;
						continue;
					} else {
						break;
					}
					need = false;
				}
				if (need)
					return false;
				if (q < close && *q == ':') {
					const char *d = ++q;
					while (q < close && is_digit((unsigned char)*q))
						q++;
					if (q == d || q - d > 4 || *d == '0')
						return false;
				} else if (q < close && *q == '*') {
					q++;
				}
				if (q == close)
					break;
				if (*q != ',')
					return false;
				q++;
			}
			p = close + 1;
			continue;
		}
		if (c == '}' || c <= 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>' ||
		    c == '\\' || c == '^' || c == '`' || c == '|')
			return false;
		if (c == '%') {
			if (end - p < 3 || !is_hex((unsigned char)p[1]) || !is_hex((unsigned char)p[2]))
				return false;
			p += 3;
			continue;
		}
		if (c >= 0x80) {
			uint32_t cp = utf8_next(&p, end);
			if (!ucschar(cp) && !iprivate(cp))
				return false;
			continue;
		}
		p++;
	}
	return true;
}

/* ---- the rest ---- */

static bool uuid(const char *s, size_t len)
{
	if (len != 36)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!is_hex((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

static bool json_pointer(const char *s, size_t len)
{
	if (len && s[0] != '/')
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '~' && (i + 1 == len || (s[i + 1] != '0' && s[i + 1] != '1')))
			return false;
	return true;
}

static bool relative_json_pointer(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && is_digit((unsigned char)s[i]))
		i++;
	if (i == 0 || (i > 1 && s[0] == '0'))
		return false;
	if (i == len)
		return true;
	if (s[i] == '#')
		return i + 1 == len;
	return json_pointer(s + i, len - i);
}

static bool regex(const char *s, size_t len)
{
	pcre2_code *code;
	xch_error_state st;
	bool ok;

	xch_error_save(&st);
	ok = xch_schema_regex_compile(&code, s, len) == 0;
	xch_error_restore(&st);
	if (ok)
		pcre2_code_free(code);
	return ok;
}

int xch_schema_format_check(const char *format, const char *s, size_t len)
{
	bool ok;

	if (!strcmp(format, "date-time"))
		ok = date_time(s, len);
	else if (!strcmp(format, "date"))
		ok = full_date(s, len);
	else if (!strcmp(format, "time"))
		ok = full_time(s, len);
	else if (!strcmp(format, "duration"))
		ok = duration(s, len);
	else if (!strcmp(format, "email"))
		ok = email(s, len, false);
	else if (!strcmp(format, "idn-email"))
		ok = email(s, len, true);
	else if (!strcmp(format, "hostname"))
		ok = hostname(s, len, false);
	else if (!strcmp(format, "ipv4"))
		ok = ipv4(s, len);
	else if (!strcmp(format, "ipv6"))
		ok = ipv6(s, len);
	else if (!strcmp(format, "uri"))
		ok = uri(s, len, false, false);
	else if (!strcmp(format, "uri-reference"))
		ok = uri(s, len, true, false);
	else if (!strcmp(format, "iri"))
		ok = uri(s, len, false, true);
	else if (!strcmp(format, "iri-reference"))
		ok = uri(s, len, true, true);
	else if (!strcmp(format, "uri-template"))
		ok = uri_template(s, len);
	else if (!strcmp(format, "uuid"))
		ok = uuid(s, len);
	else if (!strcmp(format, "json-pointer"))
		ok = json_pointer(s, len);
	else if (!strcmp(format, "relative-json-pointer"))
		ok = relative_json_pointer(s, len);
	else if (!strcmp(format, "regex"))
		ok = regex(s, len);
	else
		return -1;
	return ok ? 1 : 0;
}

/*
 * The payload archive: a pax tar through libarchive, gzip through
 * xch_deflate on the way out and zlib's inflate on the way in.
 *
 * libarchive converts names between UTF-8 and the locale's charset, and
 * in the C locale it cannot represent non-ASCII names at all. Every call
 * into libarchive therefore runs under a thread-local C.UTF-8 locale
 * (uselocale), so names pass through as the UTF-8 bytes they are,
 * whatever the application's locale is.
 */
#include "common.h"
#include "payload.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <pthread.h>
#include <wctype.h>
#include <zlib.h>

#define INFLATE_OUT (64 * 1024) /* a multiple of 512: see check_end */
#define COMPRESSED_SLACK (1024 * 1024) /* see inflate_fill */

/* The UTF-8 locale, made once; (locale_t)0 if the system has none. */

static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static locale_t utf8_locale;

static void utf8_init(void)
{
	static const char *const names[] = { "C.UTF-8", "C.utf8", "en_US.UTF-8" };
	for (size_t i = 0; i < XCH_ARRAY_SIZE(names) && !utf8_locale; i++)
		utf8_locale = newlocale(LC_CTYPE_MASK, names[i], (locale_t)0);
}

static locale_t get_utf8_locale(void)
{
	pthread_once(&utf8_once, utf8_init);
	return utf8_locale;
}

/* Enter the UTF-8 locale on this thread; gives back what to restore. */
static locale_t enter_utf8(void)
{
	locale_t loc = get_utf8_locale();
	return loc ? uselocale(loc) : (locale_t)0;
}

static void leave_utf8(locale_t old)
{
	if (old)
		uselocale(old);
}

/* Names */

/* Decode one UTF-8 sequence (strict: no overlongs, surrogates or > U+10FFFF). */
static int utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c;
	int n;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		c = s[0] & 0x1f;
		n = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		c = s[0] & 0x0f;
		n = 3;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		c = s[0] & 0x07;
		n = 4;
	} else {
		return -1;
	}
	if ((size_t)n > len)
		return -1;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	return n;
}

/* An untrusted name, quoted for a message: printable ASCII, the rest as \xNN. */
static const char *show(char out[96], const char *name)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)name;
	size_t o = 0;
	for (; *p && o < 88; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\' && *p != '\'') {
			out[o++] = (char)*p;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (*p) {
		o = o > 88 ? 88 : o;
		out[o++] = '.', out[o++] = '.', out[o++] = '.';
	}
	out[o] = '\0';
	return out;
}

static int bad_name(const char *path, const char *why)
{
	char shown[96];
	return xch_error_set(XCH_EMALFORMED, "invalid entry name '%s': %s", show(shown, path), why);
}

int xch_payload_path_check(const char *path)
{
	const unsigned char *p = (const unsigned char *)path;
	size_t len, comp = 0;

	XCH_ARG(path);
	len = strlen(path);
	if (len == 0)
		return bad_name(path, "empty");
	if (len > XCH_PAYLOAD_NAME_MAX)
		return bad_name(path, "longer than 255 bytes");
	if (p[0] == '/')
		return bad_name(path, "absolute path");
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		int n = utf8_decode(p + i, len - i, &cp);
		if (n < 0)
			return bad_name(path, "not valid UTF-8");
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			return bad_name(path, "control character");
		if (cp == '\\')
			return bad_name(path, "backslash");
		if (cp == '/') {
			if (comp == 0)
				return bad_name(path, "empty path component");
			if ((comp == 1 && p[i - 1] == '.') || (comp == 2 && p[i - 1] == '.' && p[i - 2] == '.'))
				return bad_name(path, "'.' or '..' component");
			comp = 0;
		} else {
			comp += (size_t)n;
		}
		i += (size_t)n;
	}
	if (comp == 0)
		return bad_name(path, "trailing slash");
	if ((comp == 1 && p[len - 1] == '.') || (comp == 2 && p[len - 1] == '.' && p[len - 2] == '.'))
		return bad_name(path, "'.' or '..' component");
	return 0;
}

/*
 * The names seen so far, as keyed 64-bit hashes (SipHash-2-4 under a
 * random key): one of the exact name, one of its case fold. A few bytes
 * per entry instead of the names themselves; an attacker cannot aim for
 * a collision without the key, and a chance one (under 2^-25 at a
 * million entries) only refuses a bundle.
 */

struct name_slot {
	uint64_t fold; /* 0: empty */
	uint64_t exact;
};

struct nameset {
	struct name_slot *slots;
	size_t cap, count;
	uint64_t key[2];
	bool keyed;
};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
} while (0)

static uint64_t siphash24(const uint64_t k[2], const unsigned char *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ k[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ k[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ k[0];
	uint64_t v3 = 0x7465646279746573ULL ^ k[1];
	uint64_t b = (uint64_t)len << 56, m;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		m = 0;
		for (int j = 7; j >= 0; j--)
			m = (m << 8) | in[i + (size_t)j];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (int j = 0; i + (size_t)j < len; j++)
		b |= (uint64_t)in[i + (size_t)j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* Hash of the case fold: ASCII, then Unicode simple lowercase where the locale knows it. */
static uint64_t fold_hash(const uint64_t key[2], const char *name)
{
	unsigned char buf[4 * XCH_PAYLOAD_NAME_MAX];
	const unsigned char *p = (const unsigned char *)name;
	size_t len = strlen(name), o = 0;
	locale_t loc = get_utf8_locale();

	for (size_t i = 0; i < len && o + 4 <= sizeof(buf);) {
		uint32_t cp;
		int n = utf8_decode(p + i, len - i, &cp);
		if (n < 0) {
			cp = 0xfffd;
			n = 1;
		}
		if (cp >= 'A' && cp <= 'Z')
			cp += 'a' - 'A';
		else if (cp >= 0x80 && loc)
			cp = (uint32_t)towlower_l((wint_t)cp, loc);
		buf[o++] = (unsigned char)cp;
		buf[o++] = (unsigned char)(cp >> 8);
		buf[o++] = (unsigned char)(cp >> 16);
		buf[o++] = (unsigned char)(cp >> 24);
		i += (size_t)n;
	}
	return siphash24(key, buf, o);
}

static void nameset_dispose(struct nameset *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

/*
 * Add name; XCH_EMALFORMED if it is already there or differs only in
 * case from a name that is.
 */
static int nameset_add(struct nameset *s, const char *name)
{
	uint64_t fold, exact;
	size_t mask, i;
	char shown[96];
	int error;

	if (!s->keyed) {
		if ((error = xch_random(s->key, sizeof(s->key))) < 0)
			return error;
		s->keyed = true;
	}
	if ((s->count + 1) * 4 > s->cap * 3) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		struct name_slot *ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return xch_error_oom();
		for (size_t j = 0; j < s->cap; j++) {
			if (!s->slots[j].fold)
				continue;
			for (i = s->slots[j].fold & (ncap - 1); ns[i].fold; i = (i + 1) & (ncap - 1))
				;
			ns[i] = s->slots[j];
		}
		free(s->slots);
		s->slots = ns;
		s->cap = ncap;
	}
	fold = fold_hash(s->key, name) | 1; /* never 0 */
	exact = siphash24(s->key, (const unsigned char *)name, strlen(name));
	mask = s->cap - 1;
	for (i = fold & mask; s->slots[i].fold; i = (i + 1) & mask) {
		if (s->slots[i].fold != fold)
			continue;
		if (s->slots[i].exact == exact)
			return xch_error_set(XCH_EMALFORMED, "duplicate entry '%s'", show(shown, name));
		return xch_error_set(XCH_EMALFORMED,
			"entry '%s' differs only in case from an earlier entry", show(shown, name));
	}
	s->slots[i].fold = fold;
	s->slots[i].exact = exact;
	s->count++;
	return 0;
}

/* Writer */

/* entries from this size on are tried for compressibility on their first chunk */
#define STORE_TRIAL_MIN (64 * 1024)

struct xch_payload_writer {
	struct archive *a;
	xch_deflate *d;
	int64_t mtime;
	bool store;       /* the bytes now passing through are entry data to store */
	bool in_entry;
	bool entry_store;
	uint64_t entry_size, entry_written;
	uint64_t stored;  /* entry bytes stored, not deflated */
	char *entry_path;
	struct nameset names;
	int cb_error;     /* failure inside the write callback */
	int error;        /* sticky */
	bool finished;
	bool discard;     /* being freed: drop output */
};

static la_ssize_t write_cb(struct archive *a, void *client, const void *buf, size_t len)
{
	xch_payload_writer *w = client;
	int error;

	(void)a;
	if (w->discard)
		return (la_ssize_t)len;
	if ((error = xch_deflate_write(w->d, buf, len, w->store)) < 0) {
		w->cb_error = error;
		return -1;
	}
	return (la_ssize_t)len;
}

/* A libarchive failure: the callback's own error if there was one. */
static int writer_fail(xch_payload_writer *w, const char *what)
{
	if (w->cb_error)
		return w->error = w->cb_error;
	return w->error = xch_error_set(XCH_ERROR, "cannot write payload archive: %s: %s", what,
		archive_error_string(w->a) ? archive_error_string(w->a) : "unknown error");
}

int xch_payload_writer_new(xch_payload_writer **out, xch_deflate_sink sink, void *payload,
	int level, int threads, int64_t mtime)
{
	xch_payload_writer *w;
	locale_t old;
	int error;

	XCH_ARG(out);
	XCH_ARG(sink);
	if (mtime < 0)
		return xch_error_set(XCH_EINVALID, "invalid payload time %lld", (long long)mtime);
	if (!(w = calloc(1, sizeof(*w))))
		return xch_error_oom();
	w->mtime = mtime;
	if ((error = xch_deflate_new(&w->d, level, threads, sink, payload)) < 0) {
		free(w);
		return error;
	}
	old = enter_utf8();
	if (!(w->a = archive_write_new())) {
		error = xch_error_oom();
	} else if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
	           archive_write_set_bytes_per_block(w->a, 0) != ARCHIVE_OK ||
	           archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
	           archive_write_open(w->a, w, NULL, write_cb, NULL) != ARCHIVE_OK) {
		error = writer_fail(w, "setup");
	}
	leave_utf8(old);
	if (error < 0) {
		xch_payload_writer_free(w);
		return error;
	}
	*out = w;
	return 0;
}

int xch_payload_begin(xch_payload_writer *w, const char *path, uint64_t size, bool store_only)
{
	struct archive_entry *e;
	locale_t old;
	int error, r;

	XCH_ARG(w);
	XCH_ARG(path);
	if (w->error)
		return w->error;
	if (w->in_entry || w->finished)
		return xch_error_set(XCH_EINVALID, "cannot add '%s' to payload: %s", path,
			w->finished ? "archive finished" : "previous entry not ended");
	if ((error = xch_payload_path_check(path)) < 0 || (error = nameset_add(&w->names, path)) < 0) {
		/* the caller's mistake here, not a malformed input */
		char msg[512];
		if (error != XCH_EMALFORMED)
			return error;
		snprintf(msg, sizeof(msg), "%s", xch_error_last()->message);
		return xch_error_set(XCH_EINVALID, "cannot add to payload: %s", msg);
	}
	if (!get_utf8_locale()) {
		for (const char *p = path; *p; p++)
			if (*p & 0x80)
				return xch_error_set(XCH_EUNSUPPORTED,
					"cannot add '%s' to payload: no UTF-8 locale for non-ASCII names", path);
	}
	if (size > INT64_MAX)
		return xch_error_set(XCH_ETOOBIG, "cannot add '%s' to payload: too large", path);
	if (!(w->entry_path = strdup(path)))
		return xch_error_oom();
	if (!(e = archive_entry_new())) {
		free(w->entry_path);
		w->entry_path = NULL;
		return xch_error_oom();
	}
	old = enter_utf8();
	archive_entry_set_pathname_utf8(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, (time_t)w->mtime, 0);
	archive_entry_set_size(e, (la_int64_t)size);
	w->store = false;
	r = archive_write_header(w->a, e);
	leave_utf8(old);
	archive_entry_free(e);
	if (r != ARCHIVE_OK) {
		free(w->entry_path);
		w->entry_path = NULL;
		return writer_fail(w, "header");
	}
	w->in_entry = true;
	w->entry_store = store_only;
	w->entry_size = size;
	w->entry_written = 0;
	return 0;
}

int xch_payload_write(xch_payload_writer *w, const void *data, size_t len)
{
	const unsigned char *p = data;
	locale_t old;
	int error = 0;

	XCH_ARG(w);
	XCH_ARG(data || !len);
	if (w->error)
		return w->error;
	if (!w->in_entry)
		return xch_error_set(XCH_EINVALID, "cannot write payload data: no entry begun");
	if (len > w->entry_size - w->entry_written)
		return w->error = xch_error_set(XCH_EINVALID,
			"cannot write payload entry '%s': more than the %llu bytes declared",
			w->entry_path, (unsigned long long)w->entry_size);
	/* a large entry whose first chunk does not deflate is stored: never compress twice */
	if (!w->entry_store && w->entry_written == 0 && w->entry_size >= STORE_TRIAL_MIN && len >= 512 &&
	    xch_deflate_looks_incompressible(data, len < STORE_TRIAL_MIN ? len : STORE_TRIAL_MIN))
		w->entry_store = true;
	if (w->entry_store)
		w->stored += len;
	old = enter_utf8();
	w->store = w->entry_store;
	while (len > 0) {
		la_ssize_t n = archive_write_data(w->a, p, len);
		if (n <= 0) {
			error = writer_fail(w, "data");
			break;
		}
		p += n;
		len -= (size_t)n;
		w->entry_written += (uint64_t)n;
	}
	w->store = false;
	leave_utf8(old);
	return error;
}

int xch_payload_end(xch_payload_writer *w)
{
	locale_t old;
	int r;

	XCH_ARG(w);
	if (w->error)
		return w->error;
	if (!w->in_entry)
		return xch_error_set(XCH_EINVALID, "cannot end payload entry: no entry begun");
	if (w->entry_written != w->entry_size)
		return w->error = xch_error_set(XCH_EINVALID,
			"payload entry '%s' is short: %llu of %llu bytes written", w->entry_path,
			(unsigned long long)w->entry_written, (unsigned long long)w->entry_size);
	old = enter_utf8();
	r = archive_write_finish_entry(w->a);
	leave_utf8(old);
	w->in_entry = false;
	free(w->entry_path);
	w->entry_path = NULL;
	if (r != ARCHIVE_OK)
		return writer_fail(w, "entry");
	return 0;
}

int xch_payload_add(xch_payload_writer *w, const char *path, const void *data, size_t len,
	bool store_only)
{
	int error;
	if ((error = xch_payload_begin(w, path, len, store_only)) < 0 ||
	    (error = xch_payload_write(w, data, len)) < 0 ||
	    (error = xch_payload_end(w)) < 0)
		return error;
	return 0;
}

int xch_payload_finish(xch_payload_writer *w)
{
	locale_t old;
	int r, error;

	XCH_ARG(w);
	if (w->error)
		return w->error;
	if (w->finished)
		return 0;
	if (w->in_entry)
		return xch_error_set(XCH_EINVALID, "cannot finish payload: entry '%s' not ended",
			w->entry_path);
	old = enter_utf8();
	r = archive_write_close(w->a);
	leave_utf8(old);
	if (r != ARCHIVE_OK)
		return writer_fail(w, "close");
	if ((error = xch_deflate_finish(w->d)) < 0)
		return w->error = error;
	w->finished = true;
	return 0;
}

uint64_t xch_payload_writer_bytes_stored(const xch_payload_writer *w)
{
	return w ? w->stored : 0;
}

uint64_t xch_payload_writer_bytes_in(const xch_payload_writer *w)
{
	return w ? xch_deflate_bytes_in(w->d) : 0;
}

uint64_t xch_payload_writer_bytes_out(const xch_payload_writer *w)
{
	return w ? xch_deflate_bytes_out(w->d) : 0;
}

void xch_payload_writer_free(xch_payload_writer *w)
{
	if (!w)
		return;
	if (w->a) {
		locale_t old = enter_utf8();
		/* archive_write_free closes an open archive: let nothing reach the sink */
		w->discard = true;
		archive_write_free(w->a);
		leave_utf8(old);
	}
	xch_deflate_free(w->d);
	nameset_dispose(&w->names);
	free(w->entry_path);
	free(w);
}

/* Reader */

struct xch_payload_reader {
	struct archive *a;
	bool opened;
	xch_payload_read_cb read;
	void *payload;

	/* inflate */
	z_stream zs;
	bool zinit;
	bool member_open;
	uint64_t members;
	const unsigned char *in;
	size_t in_len;
	bool in_eof;

	/* the last two blocks handed to libarchive stay intact for check_end */
	unsigned char *out[2];
	size_t out_len[2];
	int last;
	uint64_t delivered; /* bytes handed to libarchive */
	uint64_t total;     /* bytes inflate produced */
	uint64_t consumed;  /* compressed bytes inflate took */

	uint64_t max_total, max_entries, entries;
	struct nameset names;
	xch_buf path;
	int error; /* sticky */
	bool done;
};

static int payload_read_error(int code)
{
	if (xch_error_last()->code != code)
		xch_error_set(code, "cannot read payload");
	return code;
}

/*
 * Inflate up to cap bytes into out, reading input as needed; *got is
 * less than cap only at the clean end of the gzip stream.
 */
static int inflate_fill(xch_payload_reader *r, unsigned char *out, size_t cap, size_t *got)
{
	size_t n = 0;
	int ret;

	*got = 0;
	while (n < cap) {
		size_t room, avail_in, produced, consumed;

		if (r->in_len == 0 && !r->in_eof) {
			const void *p = NULL;
			ssize_t k = r->read(r->payload, &p);
			if (k < 0)
				return payload_read_error((int)k);
			if (k == 0)
				r->in_eof = true;
			else if (!p)
				return xch_error_set(XCH_EINVALID, "payload read callback gave no buffer");
			r->in = p;
			r->in_len = (size_t)k;
			continue;
		}
		if (r->in_len == 0) {
			if (r->member_open)
				return xch_error_set(XCH_EMALFORMED,
					"truncated payload: compressed stream ends early");
			if (r->members == 0)
				return xch_error_set(XCH_EMALFORMED, "malformed payload: empty");
			break;
		}
		if (!r->member_open) {
			if (!r->zinit) {
				memset(&r->zs, 0, sizeof(r->zs));
				if ((ret = inflateInit2(&r->zs, 15 + 16)) != Z_OK)
					return xch_error_set(XCH_ERROR, "cannot start inflate (zlib %d)", ret);
				r->zinit = true;
			} else if ((ret = inflateReset(&r->zs)) != Z_OK) {
				return xch_error_set(XCH_ERROR, "cannot reset inflate (zlib %d)", ret);
			}
			r->member_open = true;
		}
		/* never produce more than one byte past the cap */
		room = cap - n;
		if (r->max_total - r->total < room)
			room = (size_t)(r->max_total - r->total) + 1;
		avail_in = r->in_len > UINT_MAX ? UINT_MAX : r->in_len;
		r->zs.next_in = (unsigned char *)(uintptr_t)r->in;
		r->zs.avail_in = (uInt)avail_in;
		r->zs.next_out = out + n;
		r->zs.avail_out = (uInt)room;
		ret = inflate(&r->zs, Z_NO_FLUSH);
		consumed = avail_in - r->zs.avail_in;
		produced = room - r->zs.avail_out;
		r->in += consumed;
		r->in_len -= consumed;
		r->consumed += consumed;
		n += produced;
		r->total += produced;
		if (r->total > r->max_total)
			return xch_error_set(XCH_ETOOBIG,
				"payload expands beyond %llu bytes", (unsigned long long)r->max_total);
		/*
		 * The other way round: deflate never needs much more input than
		 * it gives output (stored blocks cost 5 bytes in 64 KiB), so
		 * endless input that inflates to nothing (empty blocks or
		 * members) is cut off too.
		 */
		if (r->consumed > r->total + (r->total >> 3) + COMPRESSED_SLACK)
			return xch_error_set(XCH_ETOOBIG,
				"payload compressed stream is far larger than its content");
		if (ret == Z_STREAM_END) {
			r->member_open = false;
			r->members++;
		} else if (ret == Z_BUF_ERROR && !consumed && !produced && r->in_len) {
			return xch_error_set(XCH_EMALFORMED, "malformed payload: inflate makes no progress");
		} else if (ret != Z_OK && ret != Z_BUF_ERROR) {
			return xch_error_set(XCH_EMALFORMED, "malformed payload: corrupt compressed data (%s)",
				r->zs.msg ? r->zs.msg : "unknown error");
		}
	}
	*got = n;
	return 0;
}

static la_ssize_t read_cb(struct archive *a, void *client, const void **buf)
{
	xch_payload_reader *r = client;
	int cur = r->last ^ 1;
	size_t got;
	int error;

	if (r->error)
		return -1;
	if ((error = inflate_fill(r, r->out[cur], INFLATE_OUT, &got)) < 0) {
		r->error = error;
		archive_set_error(a, EIO, "%s", xch_error_last()->message);
		return -1;
	}
	r->out_len[cur] = got;
	r->last = cur;
	r->delivered += got;
	*buf = r->out[cur];
	return (la_ssize_t)got;
}

int xch_payload_reader_new(xch_payload_reader **out, xch_payload_read_cb read, void *payload,
	uint64_t max_total_bytes)
{
	xch_payload_reader *r;

	XCH_ARG(out);
	XCH_ARG(read);
	XCH_ARG(max_total_bytes > 0);
	if (!(r = calloc(1, sizeof(*r))) ||
	    !(r->out[0] = malloc(INFLATE_OUT)) || !(r->out[1] = malloc(INFLATE_OUT))) {
		xch_payload_reader_free(r);
		return xch_error_oom();
	}
	r->read = read;
	r->payload = payload;
	r->max_total = max_total_bytes;
	r->max_entries = XCH_PAYLOAD_MAX_ENTRIES;
	r->last = 1;
	*out = r;
	return 0;
}

void xch_payload_reader_set_max_entries(xch_payload_reader *r, uint64_t max_entries)
{
	if (r)
		r->max_entries = max_entries;
}

/* A libarchive failure: our callback's error, or libarchive's message. */
static int reader_fail(xch_payload_reader *r)
{
	const char *msg;

	if (r->error)
		return r->error;
	msg = archive_error_string(r->a);
	if (!msg)
		msg = "unknown error";
	if (r->in_eof && !r->member_open && r->in_len == 0 && strstr(msg, "runcated"))
		return r->error = xch_error_set(XCH_EMALFORMED, "truncated payload archive%s%s%s",
			r->path.size ? ": entry '" : "", r->path.size ? r->path.ptr : "",
			r->path.size ? "' ends early" : "");
	return r->error = xch_error_set(XCH_EMALFORMED, "malformed payload archive: %s", msg);
}

/* The byte at stream position pos, from the last two blocks (caller checked the range). */
static unsigned char byte_at(const xch_payload_reader *r, uint64_t pos)
{
	uint64_t last_start = r->delivered - r->out_len[r->last];
	if (pos >= last_start)
		return r->out[r->last][pos - last_start];
	return r->out[r->last ^ 1][pos - (last_start - r->out_len[r->last ^ 1])];
}

/*
 * libarchive reported the end. It consumed `used` bytes (the end marker
 * included); the rest of what it was given, and of the stream, must be
 * zeros, and the gzip stream must end cleanly.
 */
static int check_end(xch_payload_reader *r)
{
	la_int64_t used = archive_filter_bytes(r->a, 0);
	uint64_t lo = r->delivered - r->out_len[0] - r->out_len[1];
	size_t got;
	int error;

	if (used < 1024 || (uint64_t)used > r->delivered)
		return xch_error_set(XCH_EMALFORMED, "truncated payload archive: no end-of-archive marker");
	/* blocks are 512-aligned and 64 KiB, so the end is within the last two */
	if ((uint64_t)used - 1024 < lo)
		return xch_error_set(XCH_EMALFORMED, "malformed payload archive: cannot locate its end");
	for (uint64_t pos = (uint64_t)used - 1024; pos < (uint64_t)used; pos++)
		if (byte_at(r, pos))
			return xch_error_set(XCH_EMALFORMED,
				"truncated payload archive: no end-of-archive marker");
	for (uint64_t pos = (uint64_t)used; pos < r->delivered; pos++)
		if (byte_at(r, pos))
			return xch_error_set(XCH_EMALFORMED,
				"malformed payload archive: data after the end of the archive");
	/* drain the rest of the stream: a tar's record padding, nothing like an endless tail */
	for (uint64_t tail = r->delivered - (uint64_t)used;;) {
		if ((error = inflate_fill(r, r->out[0], INFLATE_OUT, &got)) < 0)
			return error;
		for (size_t i = 0; i < got; i++)
			if (r->out[0][i])
				return xch_error_set(XCH_EMALFORMED,
					"malformed payload archive: data after the end of the archive");
		if ((tail += got) > XCH_PAYLOAD_PADDING_MAX)
			return xch_error_set(XCH_ETOOBIG, "malformed payload archive: more than %u bytes of "
			                     "padding after the end of the archive", XCH_PAYLOAD_PADDING_MAX);
		if (got < INFLATE_OUT)
			return 0;
	}
}

static int open_archive(xch_payload_reader *r)
{
	if (!(r->a = archive_read_new()))
		return xch_error_oom();
	/* tar (ustar, pax, GNU) only: no other format, no filter, gzip is ours */
	if (archive_read_support_format_tar(r->a) != ARCHIVE_OK)
		return xch_error_set(XCH_ERROR, "cannot set up payload reader: %s",
			archive_error_string(r->a));
	if (archive_read_open(r->a, r, NULL, read_cb, NULL) != ARCHIVE_OK)
		return reader_fail(r);
	r->opened = true;
	return 0;
}

static int check_entry(xch_payload_reader *r, struct archive_entry *e, const char **path,
	uint64_t *size)
{
	const char *name = archive_entry_pathname(e);
	char shown[96];
	la_int64_t sz;
	int error;

	if (!name)
		return xch_error_set(XCH_EMALFORMED, "malformed payload archive: entry without a name");
	show(shown, name);
	if ((error = xch_payload_path_check(name)) < 0)
		return error;
	if (archive_entry_hardlink(e))
		return xch_error_set(XCH_EMALFORMED, "entry '%s' is a hard link", shown);
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		break;
	case AE_IFLNK:
		return xch_error_set(XCH_EMALFORMED, "entry '%s' is a symbolic link", shown);
	case AE_IFDIR:
		return xch_error_set(XCH_EMALFORMED, "entry '%s' is a directory", shown);
	case AE_IFCHR:
	case AE_IFBLK:
		return xch_error_set(XCH_EMALFORMED, "entry '%s' is a device", shown);
	case AE_IFIFO:
		return xch_error_set(XCH_EMALFORMED, "entry '%s' is a fifo", shown);
	default:
		return xch_error_set(XCH_EMALFORMED, "entry '%s' is not a regular file", shown);
	}
	if (archive_entry_symlink(e))
		return xch_error_set(XCH_EMALFORMED, "entry '%s' is a symbolic link", shown);
	if (archive_entry_sparse_count(e) > 0)
		return xch_error_set(XCH_EMALFORMED, "entry '%s' is a sparse file", shown);
	if (!archive_entry_size_is_set(e) || (sz = archive_entry_size(e)) < 0)
		return xch_error_set(XCH_EMALFORMED, "entry '%s' has no valid size", shown);
	if ((uint64_t)sz > r->max_total - r->total)
		return xch_error_set(XCH_ETOOBIG, "entry '%s' declares %lld bytes, beyond the %llu-byte limit",
			shown, (long long)sz, (unsigned long long)r->max_total);
	if ((error = nameset_add(&r->names, name)) < 0)
		return error;
	if ((error = xch_buf_sets(&r->path, name)) < 0)
		return error;
	*path = r->path.ptr;
	*size = (uint64_t)sz;
	return 0;
}

int xch_payload_next(xch_payload_reader *r, const char **path, uint64_t *size)
{
	struct archive_entry *e;
	locale_t old;
	int error = 0, ret;

	XCH_ARG(r);
	XCH_ARG(path);
	XCH_ARG(size);
	*path = NULL;
	*size = 0;
	if (r->error)
		return r->error;
	if (r->done)
		return 1;
	old = enter_utf8();
	if (!r->opened && (error = open_archive(r)) < 0)
		goto out;
	xch_buf_clear(&r->path);
	ret = archive_read_next_header(r->a, &e);
	if (ret == ARCHIVE_EOF) {
		if ((error = check_end(r)) == 0) {
			r->done = true;
			error = 1;
		}
		goto out;
	}
	if (ret != ARCHIVE_OK) {
		error = reader_fail(r);
		goto out;
	}
	if (++r->entries > r->max_entries) {
		error = xch_error_set(XCH_ETOOBIG, "payload archive has more than %llu entries",
			(unsigned long long)r->max_entries);
		goto out;
	}
	error = check_entry(r, e, path, size);
out:
	leave_utf8(old);
	if (error < 0) {
		r->error = error;
		*path = NULL;
		*size = 0;
	}
	return error;
}

ssize_t xch_payload_read_data(xch_payload_reader *r, void *buf, size_t len)
{
	locale_t old;
	la_ssize_t n;

	XCH_ARG(r);
	XCH_ARG(buf || !len);
	if (r->error)
		return r->error;
	if (!r->opened || r->done || !r->path.size)
		return xch_error_set(XCH_EINVALID, "no payload entry to read");
	old = enter_utf8();
	n = archive_read_data(r->a, buf, len);
	leave_utf8(old);
	if (n < 0)
		return reader_fail(r);
	return (ssize_t)n;
}

uint64_t xch_payload_reader_bytes(const xch_payload_reader *r)
{
	return r ? r->total : 0;
}

void xch_payload_reader_free(xch_payload_reader *r)
{
	if (!r)
		return;
	if (r->a) {
		locale_t old = enter_utf8();
		archive_read_free(r->a);
		leave_utf8(old);
	}
	if (r->zinit)
		inflateEnd(&r->zs);
	free(r->out[0]);
	free(r->out[1]);
	nameset_dispose(&r->names);
	xch_buf_dispose(&r->path);
	free(r);
}

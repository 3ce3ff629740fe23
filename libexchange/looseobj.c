/*
 * Loose git objects read as a stream: libgit2 1.5 reads (or maps) a loose
 * object's file whole and inflates it into one buffer, so a large
 * attachment would sit in memory twice over. Here the file is read in
 * chunks and inflated into the caller's buffer, and the object is checked
 * (length, end of the zlib stream, SHA-1) when its end is reached.
 */
#include "common.h"
#include "looseobj.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <zlib.h>

#define LOOSE_CHUNK (64 * 1024)
#define LOOSE_HEADER_MAX 64 /* "blob " and 20 digits need 26 */

struct xch_loose_reader {
	int fd;
	z_stream z;
	bool z_ready;      /* inflateInit succeeded */
	bool z_end;        /* inflate returned Z_STREAM_END */
	bool file_end;     /* read() returned 0 */
	bool checked;      /* the end was reached and everything checked */
	int error;         /* sticky, with its message */
	char message[320];
	EVP_MD_CTX *md;    /* SHA-1 of header and content so far */
	git_oid oid;
	char hex[GIT_OID_HEXSZ + 1];
	uint64_t size;     /* what the header says */
	uint64_t seen;     /* content inflated so far */
	unsigned char pending[LOOSE_HEADER_MAX]; /* content inflated with the header */
	size_t npending, pos;
	unsigned char in[LOOSE_CHUNK];
};

/* Record a sticky error: every later read returns it, with this message. */
static int fail(xch_loose_reader *r, int code, const char *fmt, ...) XCH_PRINTF(3, 4);
static int fail(xch_loose_reader *r, int code, const char *fmt, ...)
{
	va_list ap;
	char what[200];

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(r->message, sizeof(r->message), "corrupt object '%s': %s", r->hex, what);
	r->error = code;
	return xch_error_set(code, "%s", r->message);
}

/* As fail(), for an error already set (an OS error): keep its message. */
static int fail_last(xch_loose_reader *r, int code)
{
	snprintf(r->message, sizeof(r->message), "%s", xch_error_last()->message);
	r->error = code;
	return code;
}

/* More input for zlib when it has none left; sets file_end at the end of the file. */
static int fill(xch_loose_reader *r)
{
	ssize_t n;

	if (r->z.avail_in > 0 || r->file_end)
		return 0;
	do
		n = read(r->fd, r->in, sizeof(r->in));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		xch_error_set_os(XCH_EOS, "cannot read object '%s'", r->hex);
		return fail_last(r, XCH_EOS);
	}
	if (n == 0)
		r->file_end = true;
	r->z.next_in = r->in;
	r->z.avail_in = (uInt)n;
	return 0;
}

/*
 * Inflate into out until it is full or the stream ends; *got gets the
 * number of bytes written (0 only at the end of the stream).
 */
static int inflate_into(xch_loose_reader *r, unsigned char *out, size_t len, size_t *got)
{
	int error, zerr;

	*got = 0;
	if (len > UINT_MAX)
		len = UINT_MAX;
	r->z.next_out = out;
	r->z.avail_out = (uInt)len;
	while (r->z.avail_out > 0 && !r->z_end) {
		if ((error = fill(r)) < 0)
			return error;
		if (r->z.avail_in == 0 && r->file_end)
			return fail(r, XCH_EMALFORMED, "the file is truncated");
		zerr = inflate(&r->z, Z_NO_FLUSH);
		if (zerr == Z_STREAM_END)
			r->z_end = true;
		else if (zerr == Z_MEM_ERROR)
			return fail_last(r, xch_error_oom());
		else if (zerr != Z_OK)
			return fail(r, XCH_EMALFORMED, "bad zlib data (%s)",
			            r->z.msg ? r->z.msg : zerr == Z_NEED_DICT ? "needs a dictionary" : "no progress");
	}
	*got = len - r->z.avail_out;
	return 0;
}

static int hash(xch_loose_reader *r, const void *data, size_t len)
{
	if (len && EVP_DigestUpdate(r->md, data, len) != 1) {
		xch_error_set(XCH_ERROR, "SHA-1 update failed");
		return fail_last(r, XCH_ERROR);
	}
	return 0;
}

/* Count and hash len more bytes of content. */
static int account(xch_loose_reader *r, const void *data, size_t len)
{
	if (len > r->size - r->seen)
		return fail(r, XCH_EMALFORMED, "the content is longer than the %" PRIu64 " bytes its header says",
		            r->size);
	r->seen += len;
	return hash(r, data, len);
}

/* At the end of the zlib stream: the length, nothing after it, the id. */
static int check_end(xch_loose_reader *r)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[GIT_OID_HEXSZ + 1];
	git_oid got;
	int error;

	if (r->seen != r->size)
		return fail(r, XCH_EMALFORMED, "the content is %" PRIu64 " bytes, its header says %" PRIu64,
		            r->seen, r->size);
	if ((error = fill(r)) < 0)
		return error;
	if (r->z.avail_in > 0)
		return fail(r, XCH_EMALFORMED, "garbage after the zlib stream");
	if (EVP_DigestFinal_ex(r->md, digest, &n) != 1 || n != GIT_OID_RAWSZ) {
		xch_error_set(XCH_ERROR, "SHA-1 final failed");
		return fail_last(r, XCH_ERROR);
	}
	git_oid_fromraw(&got, digest);
	if (!git_oid_equal(&got, &r->oid))
		return fail(r, XCH_EMALFORMED, "the content hashes to %s",
		            git_oid_tostr(hex, sizeof(hex), &got));
	r->checked = true;
	return 0;
}

static const char *type_name(const char *h, size_t len)
{
	static const char *const types[] = { "commit", "tree", "tag" };
	for (size_t i = 0; i < XCH_ARRAY_SIZE(types); i++)
		if (len > strlen(types[i]) && !memcmp(h, types[i], strlen(types[i])) && h[strlen(types[i])] == ' ')
			return types[i];
	return NULL;
}

/* Inflate and parse "blob <size>\0"; what follows it in the buffer becomes pending content. */
static int read_header(xch_loose_reader *r)
{
	unsigned char h[LOOSE_HEADER_MAX];
	const unsigned char *nul, *p;
	size_t got, hlen;
	uint64_t size = 0;
	int error;

	if ((error = inflate_into(r, h, sizeof(h), &got)) < 0)
		return error;
	if (!(nul = memchr(h, '\0', got))) {
		if (got == sizeof(h))
			return fail(r, XCH_EMALFORMED, "no header in the first %zu bytes", sizeof(h));
		return fail(r, XCH_EMALFORMED, "the header is cut short");
	}
	hlen = (size_t)(nul - h);
	if (hlen < 5 || memcmp(h, "blob ", 5)) {
		const char *t = type_name((const char *)h, hlen);
		if (t)
			return fail(r, XCH_EMALFORMED, "a %s, not a blob", t);
		return fail(r, XCH_EMALFORMED, "bad header");
	}
	p = h + 5;
	if (p == nul || (*p == '0' && p + 1 != nul))
		return fail(r, XCH_EMALFORMED, "bad size in the header");
	for (; p < nul; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (*p < '0' || *p > '9')
			return fail(r, XCH_EMALFORMED, "bad size in the header");
		if (size > (UINT64_MAX - d) / 10)
			return fail(r, XCH_EMALFORMED, "the size in the header overflows");
		size = size * 10 + d;
	}
	r->size = size;
	if ((error = hash(r, h, hlen + 1)) < 0)
		return error;
	r->npending = got - hlen - 1;
	memcpy(r->pending, nul + 1, r->npending);
	if ((error = account(r, r->pending, r->npending)) < 0)
		return error;
	if (r->z_end)
		return check_end(r);
	return 0;
}

int xch_loose_open(xch_loose_reader **out, const char *gitdir, const git_oid *oid, uint64_t *size)
{
	xch_loose_reader *r;
	xch_buf path = XCH_BUF_INIT;
	size_t dirlen;
	int error;

	XCH_ARG(out && gitdir && oid);
	*out = NULL;
	if (!(r = calloc(1, sizeof(*r))))
		return xch_error_oom();
	r->fd = -1;
	git_oid_cpy(&r->oid, oid);
	git_oid_tostr(r->hex, sizeof(r->hex), oid);
	for (dirlen = strlen(gitdir); dirlen > 1 && gitdir[dirlen - 1] == '/'; dirlen--)
		;
	if ((error = xch_buf_printf(&path, "%.*s/objects/%.2s/%s", (int)dirlen, gitdir, r->hex, r->hex + 2)) < 0)
		goto done;
	if ((r->fd = open(path.ptr, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			error = xch_error_set(XCH_ENOTFOUND, "object '%s' is not a loose object", r->hex);
		else
			error = xch_error_set_os(XCH_EOS, "cannot open '%s'", path.ptr);
		goto done;
	}
	if (!(r->md = EVP_MD_CTX_new()) || EVP_DigestInit_ex(r->md, EVP_sha1(), NULL) != 1) {
		error = xch_error_set(XCH_ERROR, "cannot start SHA-1");
		goto done;
	}
	if (inflateInit(&r->z) != Z_OK) {
		error = xch_error_set(XCH_ERROR, "cannot start zlib: %s", r->z.msg ? r->z.msg : "out of memory");
		goto done;
	}
	r->z_ready = true;
	if ((error = read_header(r)) < 0)
		goto done;
	if (size)
		*size = r->size;
	*out = r;
	r = NULL;
done:
	xch_buf_dispose(&path);
	xch_loose_free(r);
	return error;
}

ssize_t xch_loose_read(xch_loose_reader *r, void *buf, size_t len)
{
	size_t got;
	int error;

	XCH_ARG(r && buf && len > 0);
	if (r->error)
		return xch_error_set(r->error, "%s", r->message);
	if (len > (size_t)SSIZE_MAX)
		len = (size_t)SSIZE_MAX;
	if (r->pos < r->npending) {
		got = r->npending - r->pos < len ? r->npending - r->pos : len;
		memcpy(buf, r->pending + r->pos, got);
		r->pos += got;
		return (ssize_t)got;
	}
	if (r->checked)
		return 0;
	if ((error = inflate_into(r, buf, len, &got)) < 0 ||
	    (error = account(r, buf, got)) < 0 ||
	    (r->z_end && (error = check_end(r)) < 0))
		return error;
	return (ssize_t)got;
}

void xch_loose_free(xch_loose_reader *r)
{
	if (!r)
		return;
	if (r->z_ready)
		inflateEnd(&r->z);
	EVP_MD_CTX_free(r->md);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

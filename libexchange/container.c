/*
 * The outer container: a plain ustar tar of payload.gpg, envelope.json
 * and envelope.sig. The writer streams the payload and patches its
 * header afterwards; the reader trusts nothing in the file.
 */
#include "common.h"
#include "container.h"
#include "sha256.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK 512
#define RECORD 10240
#define OCTAL_SIZE_MAX 077777777777ULL /* 11 octal digits: 8 GiB - 1 */
#define WBUF_SIZE (64 * 1024)

/* ustar header field offsets and lengths */
#define H_NAME 0
#define H_NAME_LEN 100
#define H_MODE 100
#define H_UID 108
#define H_GID 116
#define H_SIZE 124
#define H_MTIME 136
#define H_CHKSUM 148
#define H_TYPEFLAG 156
#define H_LINKNAME 157
#define H_LINKNAME_LEN 100
#define H_MAGIC 257
#define H_UNAME 265
#define H_GNAME 297
#define H_DEVMAJOR 329
#define H_DEVMINOR 337
#define H_PREFIX 345
#define H_PREFIX_LEN 155

static const char ustar_magic[8] = { 'u', 's', 't', 'a', 'r', '\0', '0', '0' };

static const char *const entry_names[3] = {
	XCH_CONTAINER_PAYLOAD, XCH_CONTAINER_ENVELOPE, XCH_CONTAINER_SIGNATURE
};

static uint64_t round_block(uint64_t n)
{
	return (n + BLOCK - 1) & ~(uint64_t)(BLOCK - 1);
}

static unsigned int header_sum(const unsigned char *h)
{
	unsigned int sum = 0;
	for (int i = 0; i < BLOCK; i++)
		sum += (i >= H_CHKSUM && i < H_CHKSUM + 8) ? ' ' : h[i];
	return sum;
}

static bool block_is_zero(const unsigned char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* Writer */

enum wstate { W_PAYLOAD, W_ENVELOPE, W_SIGNATURE, W_END, W_FINISHED };

struct xch_container_writer {
	int fd;
	off_t base;         /* file offset of the payload header */
	uint64_t written;   /* container bytes written (or buffered) */
	uint64_t payload_size;
	int64_t mtime;
	xch_sha256 *sha;
	unsigned char *buf;
	size_t buf_len;
	enum wstate state;
	int error;          /* sticky */
};

static void put_octal(unsigned char *field, size_t width, uint64_t v)
{
	/* width - 1 digits and a NUL */
	field[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0;) {
		field[i] = (unsigned char)('0' + (v & 7));
		v >>= 3;
	}
}

static void build_header(unsigned char h[BLOCK], const char *name, uint64_t size, int64_t mtime)
{
	memset(h, 0, BLOCK);
	memcpy(h + H_NAME, name, strlen(name));
	put_octal(h + H_MODE, 8, 0644);
	put_octal(h + H_UID, 8, 0);
	put_octal(h + H_GID, 8, 0);
	if (size <= OCTAL_SIZE_MAX) {
		put_octal(h + H_SIZE, 12, size);
	} else {
		/* GNU base-256: 0x80, then the value big-endian in 11 bytes */
		h[H_SIZE] = 0x80;
		for (int i = 11; i >= 1; i--) {
			h[H_SIZE + i] = (unsigned char)(size & 0xff);
			size >>= 8;
		}
	}
	put_octal(h + H_MTIME, 12, (uint64_t)mtime);
	h[H_TYPEFLAG] = '0';
	memcpy(h + H_MAGIC, ustar_magic, sizeof(ustar_magic));
	put_octal(h + H_DEVMAJOR, 8, 0);
	put_octal(h + H_DEVMINOR, 8, 0);
	/* checksum: six octal digits, NUL, space (as POSIX tar writes it) */
	put_octal(h + H_CHKSUM, 7, header_sum(h));
	h[H_CHKSUM + 7] = ' ';
}

static int write_all(xch_container_writer *w, const void *data, size_t len)
{
	const unsigned char *p = data;
	while (len > 0) {
		ssize_t n = write(w->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return w->error = xch_error_set_os(XCH_EOS, "cannot write container");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int wflush(xch_container_writer *w)
{
	int error;
	if (!w->buf_len)
		return 0;
	if ((error = write_all(w, w->buf, w->buf_len)) < 0)
		return error;
	w->buf_len = 0;
	return 0;
}

static int wput(xch_container_writer *w, const void *data, size_t len)
{
	const unsigned char *p = data;
	int error;

	while (len > 0) {
		size_t n = WBUF_SIZE - w->buf_len;
		if (n > len)
			n = len;
		if (n == WBUF_SIZE) {
			/* a large write with an empty buffer: skip the copy */
			if ((error = write_all(w, p, len)) < 0)
				return error;
			w->written += len;
			return 0;
		}
		memcpy(w->buf + w->buf_len, p, n);
		w->buf_len += n;
		w->written += n;
		p += n;
		len -= n;
		if (w->buf_len == WBUF_SIZE && (error = wflush(w)) < 0)
			return error;
	}
	return 0;
}

static int wzeros(xch_container_writer *w, size_t len)
{
	static const unsigned char zeros[BLOCK];
	int error;
	while (len > 0) {
		size_t n = len < BLOCK ? len : BLOCK;
		if ((error = wput(w, zeros, n)) < 0)
			return error;
		len -= n;
	}
	return 0;
}

int xch_container_writer_new(xch_container_writer **out, int fd, int64_t mtime)
{
	xch_container_writer *w;
	unsigned char h[BLOCK];
	off_t base;
	int error;

	XCH_ARG(out);
	XCH_ARG(fd >= 0);
	if (mtime < 0 || (uint64_t)mtime > OCTAL_SIZE_MAX)
		return xch_error_set(XCH_EINVALID, "invalid container time %lld", (long long)mtime);
	if ((base = lseek(fd, 0, SEEK_CUR)) < 0)
		return xch_error_set_os(XCH_EINVALID, "cannot write container: output is not seekable");
	if (!(w = calloc(1, sizeof(*w))) || !(w->buf = malloc(WBUF_SIZE))) {
		free(w);
		return xch_error_oom();
	}
	w->fd = fd;
	w->base = base;
	w->mtime = mtime;
	if ((error = xch_sha256_new(&w->sha)) < 0) {
		xch_container_writer_free(w);
		return error;
	}
	/* placeholder, patched by xch_container_payload_done */
	build_header(h, XCH_CONTAINER_PAYLOAD, 0, mtime);
	if ((error = wput(w, h, BLOCK)) < 0) {
		xch_container_writer_free(w);
		return error;
	}
	*out = w;
	return 0;
}

int xch_container_write_payload(xch_container_writer *w, const void *data, size_t len)
{
	int error;

	XCH_ARG(w);
	XCH_ARG(data || !len);
	if (w->error)
		return w->error;
	if (w->state != W_PAYLOAD)
		return xch_error_set(XCH_EINVALID, "cannot write payload: payload already done");
	if ((error = xch_sha256_update(w->sha, data, len)) < 0 ||
	    (error = wput(w, data, len)) < 0)
		return w->error = error;
	w->payload_size += len;
	return 0;
}

static int pwrite_all(int fd, const void *data, size_t len, off_t off)
{
	const unsigned char *p = data;
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return xch_error_set_os(XCH_EOS, "cannot write container header");
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int xch_container_payload_done(xch_container_writer *w, uint64_t *size, char sha256_hex[65])
{
	unsigned char h[BLOCK];
	char hex[XCH_SHA256_HEXSIZE + 1];
	int error;

	XCH_ARG(w);
	if (w->error)
		return w->error;
	if (w->state != W_PAYLOAD)
		return xch_error_set(XCH_EINVALID, "container payload already done");
	if (w->payload_size == 0)
		return xch_error_set(XCH_EINVALID, "cannot write container: empty payload");
	if ((error = wzeros(w, round_block(w->payload_size) - w->payload_size)) < 0 ||
	    (error = wflush(w)) < 0)
		return error;
	build_header(h, XCH_CONTAINER_PAYLOAD, w->payload_size, w->mtime);
	if ((error = pwrite_all(w->fd, h, BLOCK, w->base)) < 0)
		return w->error = error;
	if ((error = xch_sha256_final_hex(w->sha, hex)) < 0)
		return w->error = error;
	if (size)
		*size = w->payload_size;
	if (sha256_hex)
		memcpy(sha256_hex, hex, sizeof(hex));
	w->state = W_ENVELOPE;
	return 0;
}

int xch_container_add(xch_container_writer *w, const char *name, const void *data, size_t len)
{
	unsigned char h[BLOCK];
	const char *want;
	size_t max;
	int error;

	XCH_ARG(w);
	XCH_ARG(name);
	XCH_ARG(data || !len);
	if (w->error)
		return w->error;
	switch (w->state) {
	case W_ENVELOPE: want = XCH_CONTAINER_ENVELOPE; max = XCH_CONTAINER_ENVELOPE_MAX; break;
	case W_SIGNATURE: want = XCH_CONTAINER_SIGNATURE; max = XCH_CONTAINER_SIG_MAX; break;
	case W_PAYLOAD:
		return xch_error_set(XCH_EINVALID, "cannot add '%s' to container: payload not done", name);
	default:
		return xch_error_set(XCH_EINVALID, "cannot add '%s' to container: already complete", name);
	}
	if (strcmp(name, want) != 0)
		return xch_error_set(XCH_EINVALID, "cannot add '%s' to container: expected '%s'", name, want);
	if (len == 0)
		return xch_error_set(XCH_EINVALID, "cannot add '%s' to container: empty", name);
	if (len > max)
		return xch_error_set(XCH_ETOOBIG, "cannot add '%s' to container: larger than %zu bytes",
			name, max);
	build_header(h, name, len, w->mtime);
	if ((error = wput(w, h, BLOCK)) < 0 ||
	    (error = wput(w, data, len)) < 0 ||
	    (error = wzeros(w, round_block(len) - len)) < 0)
		return error;
	w->state++;
	return 0;
}

int xch_container_finish(xch_container_writer *w)
{
	uint64_t end;
	int error;

	XCH_ARG(w);
	if (w->error)
		return w->error;
	if (w->state == W_FINISHED)
		return 0;
	if (w->state != W_END)
		return xch_error_set(XCH_EINVALID, "cannot finish container: missing '%s'",
			entry_names[w->state]);
	end = w->written + 2 * BLOCK;
	end = (end + RECORD - 1) / RECORD * RECORD;
	if ((error = wzeros(w, end - w->written)) < 0 || (error = wflush(w)) < 0)
		return error;
	w->state = W_FINISHED;
	return 0;
}

uint64_t xch_container_writer_bytes(const xch_container_writer *w)
{
	return w ? w->written : 0;
}

void xch_container_writer_free(xch_container_writer *w)
{
	if (!w)
		return;
	xch_sha256_free(w->sha);
	free(w->buf);
	free(w);
}

/* Reader */

struct xch_container {
	int fd;
	uint64_t file_size;
	uint64_t payload_off, payload_size;
	xch_buf envelope, signature;
	/* payload streaming */
	uint64_t pos;
	xch_sha256 *sha;
	bool hashed;
	char hex[XCH_SHA256_HEXSIZE + 1];
};

/* Read exactly len bytes at off; a short read is "truncated". */
static int read_at(int fd, void *buf, size_t len, uint64_t off, const char *what)
{
	unsigned char *p = buf;
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return xch_error_set_os(XCH_EOS, "cannot read container");
		}
		if (n == 0)
			return xch_error_set(XCH_EMALFORMED, "truncated container: file ends in %s", what);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Quote an untrusted name field for a message: printable ASCII only. */
static void show_name(char out[64], const unsigned char *field, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len && field[i] && o < 60; i++) {
		unsigned char ch = field[i];
		out[o++] = (ch >= 0x20 && ch < 0x7f && ch != '\'') ? (char)ch : '?';
	}
	if (o == 60)
		out[o++] = '.', out[o++] = '.', out[o++] = '.';
	out[o] = '\0';
}

/*
 * A numeric field: optional leading spaces, one or more octal digits,
 * then only NULs and spaces. Anything else is refused.
 */
static bool parse_octal(uint64_t *out, const unsigned char *f, size_t len)
{
	size_t i = 0;
	uint64_t v = 0;
	bool digits = false;

	while (i < len && f[i] == ' ')
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v > (UINT64_MAX >> 3))
			return false;
		v = (v << 3) | (uint64_t)(f[i] - '0');
		digits = true;
	}
	if (!digits)
		return false;
	for (; i < len; i++)
		if (f[i] != '\0' && f[i] != ' ')
			return false;
	*out = v;
	return true;
}

/* GNU base-256 (positive only); fits 64 bits. */
static bool parse_base256(uint64_t *out, const unsigned char *f, size_t len)
{
	uint64_t v = 0;
	if (f[0] != 0x80)
		return false;
	for (size_t i = 1; i < len; i++) {
		if (v >> 56)
			return false;
		v = (v << 8) | f[i];
	}
	*out = v;
	return true;
}

/*
 * Check the header at off, which must be entry number `index`; give its
 * data size. Returns 1 if the block is all zeros (end marker).
 */
static int check_header(const unsigned char *h, uint64_t off, int index, uint64_t *size)
{
	char shown[64];
	uint64_t sum, v;
	const char *want = entry_names[index];

	if (block_is_zero(h, BLOCK))
		return 1;
	if (!parse_octal(&sum, h + H_CHKSUM, 8) || sum != header_sum(h))
		return xch_error_set(XCH_EMALFORMED,
			"malformed container: bad header checksum at offset %llu", (unsigned long long)off);
	if (memcmp(h + H_MAGIC, ustar_magic, sizeof(ustar_magic)) != 0)
		return xch_error_set(XCH_EMALFORMED,
			"malformed container: header at offset %llu is not ustar", (unsigned long long)off);
	show_name(shown, h + H_NAME, H_NAME_LEN);
	switch (h[H_TYPEFLAG]) {
	case '0':
		break;
	case 'x': case 'g':
		return xch_error_set(XCH_EMALFORMED,
			"malformed container: pax extension header at offset %llu", (unsigned long long)off);
	case 'L': case 'K':
		return xch_error_set(XCH_EMALFORMED,
			"malformed container: GNU extension header at offset %llu", (unsigned long long)off);
	default:
		return xch_error_set(XCH_EMALFORMED,
			"malformed container: entry '%s' is not a regular file (type '%c')", shown,
			h[H_TYPEFLAG] >= 0x20 && h[H_TYPEFLAG] < 0x7f ? h[H_TYPEFLAG] : '?');
	}
	/* the name field holds exactly the expected name; no prefix */
	if (!block_is_zero(h + H_PREFIX, H_PREFIX_LEN) ||
	    strnlen((const char *)h + H_NAME, H_NAME_LEN) != strlen(want) ||
	    memcmp(h + H_NAME, want, strlen(want)) != 0 ||
	    !block_is_zero(h + H_NAME + strlen(want), H_NAME_LEN - strlen(want))) {
		for (int i = 0; i < 3; i++) {
			size_t n = strlen(entry_names[i]);
			if (i != index && block_is_zero(h + H_PREFIX, H_PREFIX_LEN) &&
			    memcmp(h + H_NAME, entry_names[i], n + 1) == 0)
				return xch_error_set(XCH_EMALFORMED,
					"malformed container: %s entry '%s' (expected '%s')",
					i < index ? "duplicate" : "out-of-order", entry_names[i], want);
		}
		if (h[H_PREFIX])
			return xch_error_set(XCH_EMALFORMED,
				"malformed container: unexpected entry with a path prefix (expected '%s')", want);
		return xch_error_set(XCH_EMALFORMED,
			"malformed container: unexpected entry '%s' (expected '%s')", shown, want);
	}
	if (!block_is_zero(h + H_LINKNAME, H_LINKNAME_LEN))
		return xch_error_set(XCH_EMALFORMED,
			"malformed container: entry '%s' has a link name", want);
	if (!parse_octal(&v, h + H_MODE, 8) || !parse_octal(&v, h + H_UID, 8) ||
	    !parse_octal(&v, h + H_GID, 8) || !parse_octal(&v, h + H_MTIME, 12))
		return xch_error_set(XCH_EMALFORMED,
			"malformed container: non-octal number in header of '%s'", want);
	if (!parse_octal(size, h + H_SIZE, 12) &&
	    !(index == 0 && parse_base256(size, h + H_SIZE, 12)))
		return xch_error_set(XCH_EMALFORMED,
			"malformed container: invalid size field in header of '%s'", want);
	return 0;
}

/* Bytes from off to the next block boundary must be zero. */
static int check_padding(int fd, uint64_t off, const char *name)
{
	unsigned char pad[BLOCK];
	size_t n = (size_t)(round_block(off) - off);
	int error;

	if (!n)
		return 0;
	if ((error = read_at(fd, pad, n, off, "padding")) < 0)
		return error;
	if (!block_is_zero(pad, n))
		return xch_error_set(XCH_EMALFORMED,
			"malformed container: non-zero padding after '%s'", name);
	return 0;
}

static int read_member(xch_container *c, uint64_t *off, int index, size_t max, xch_buf *out)
{
	unsigned char h[BLOCK];
	const char *name = entry_names[index];
	uint64_t size;
	int error;

	if (*off + BLOCK > c->file_size)
		return xch_error_set(XCH_EMALFORMED,
			"truncated container: file ends before '%s'", name);
	if ((error = read_at(c->fd, h, BLOCK, *off, "a header")) < 0)
		return error;
	if ((error = check_header(h, *off, index, &size)) < 0)
		return error;
	if (error == 1)
		return xch_error_set(XCH_EMALFORMED, "malformed container: missing '%s'", name);
	*off += BLOCK;
	if (size == 0)
		return xch_error_set(XCH_EMALFORMED, "malformed container: '%s' is empty", name);
	if (max && size > max)
		return xch_error_set(XCH_ETOOBIG,
			"container member '%s' is too large: %llu bytes, at most %zu", name,
			(unsigned long long)size, max);
	if (size > c->file_size - *off)
		return xch_error_set(XCH_EMALFORMED,
			"truncated container: '%s' needs %llu bytes, the file has %llu left", name,
			(unsigned long long)size, (unsigned long long)(c->file_size - *off));
	if (out) {
		xch_buf_clear(out);
		if ((error = xch_buf_grow(out, (size_t)size)) < 0 ||
		    (error = read_at(c->fd, out->ptr, (size_t)size, *off, name)) < 0)
			return error;
		out->size = (size_t)size;
		out->ptr[size] = '\0';
	} else {
		c->payload_off = *off;
		c->payload_size = size;
	}
	*off += size;
	if ((error = check_padding(c->fd, *off, name)) < 0)
		return error;
	*off = round_block(*off);
	return 0;
}

static int check_end(xch_container *c, uint64_t off)
{
	unsigned char b[BLOCK];
	uint64_t left;
	int error;

	for (int i = 0; i < 2; i++) {
		if (off + BLOCK > c->file_size)
			return xch_error_set(XCH_EMALFORMED,
				"truncated container: no end-of-archive marker");
		if ((error = read_at(c->fd, b, BLOCK, off, "the end marker")) < 0)
			return error;
		if (!block_is_zero(b, BLOCK)) {
			char shown[64];
			show_name(shown, b + H_NAME, H_NAME_LEN);
			return xch_error_set(XCH_EMALFORMED,
				"malformed container: unexpected data after '%s'%s%s%s",
				XCH_CONTAINER_SIGNATURE, i == 0 && shown[0] ? " (entry '" : "",
				i == 0 && shown[0] ? shown : "", i == 0 && shown[0] ? "')" : "");
		}
		off += BLOCK;
	}
	left = c->file_size - off;
	if (left > XCH_CONTAINER_PADDING_MAX)
		return xch_error_set(XCH_EMALFORMED,
			"malformed container: %llu bytes after the end-of-archive marker",
			(unsigned long long)left);
	while (left > 0) {
		size_t n = left < BLOCK ? (size_t)left : BLOCK;
		if ((error = read_at(c->fd, b, n, off, "padding")) < 0)
			return error;
		if (!block_is_zero(b, n))
			return xch_error_set(XCH_EMALFORMED,
				"malformed container: data after the end-of-archive marker at offset %llu",
				(unsigned long long)off);
		off += n;
		left -= n;
	}
	return 0;
}

int xch_container_open(xch_container **out, int fd)
{
	xch_container *c;
	struct stat st;
	uint64_t off = 0;
	int error;

	XCH_ARG(out);
	XCH_ARG(fd >= 0);
	*out = NULL;
	if (fstat(fd, &st) < 0)
		return xch_error_set_os(XCH_EOS, "cannot read container");
	if (!S_ISREG(st.st_mode))
		return xch_error_set(XCH_EINVALID, "cannot read container: not a regular file");
	if (!(c = calloc(1, sizeof(*c))))
		return xch_error_oom();
	c->fd = fd;
	c->file_size = (uint64_t)st.st_size;
	if (c->file_size == 0) {
		error = xch_error_set(XCH_EMALFORMED, "truncated container: empty file");
		goto fail;
	}
	if ((error = read_member(c, &off, 0, 0, NULL)) < 0 ||
	    (error = read_member(c, &off, 1, XCH_CONTAINER_ENVELOPE_MAX, &c->envelope)) < 0 ||
	    (error = read_member(c, &off, 2, XCH_CONTAINER_SIG_MAX, &c->signature)) < 0 ||
	    (error = check_end(c, off)) < 0 ||
	    (error = xch_sha256_new(&c->sha)) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	xch_container_free(c);
	return error;
}

const xch_buf *xch_container_envelope(const xch_container *c)
{
	return c ? &c->envelope : NULL;
}

const xch_buf *xch_container_signature(const xch_container *c)
{
	return c ? &c->signature : NULL;
}

uint64_t xch_container_payload_size(const xch_container *c)
{
	return c ? c->payload_size : 0;
}

uint64_t xch_container_payload_offset(const xch_container *c)
{
	return c ? c->payload_off : 0;
}

int xch_container_payload_rewind(xch_container *c)
{
	XCH_ARG(c);
	c->pos = 0;
	c->hashed = false;
	return xch_sha256_reset(c->sha);
}

ssize_t xch_container_payload_read(xch_container *c, void *buf, size_t len)
{
	uint64_t left;
	ssize_t n;

	if (!c || (!buf && len)) {
		xch_error_set(XCH_EINVALID, "invalid argument to xch_container_payload_read");
		errno = EINVAL;
		return -1;
	}
	left = c->payload_size - c->pos;
	if (len > left)
		len = (size_t)left;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (len == 0)
		return 0;
	do
		n = pread(c->fd, buf, len, (off_t)(c->payload_off + c->pos));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = errno;
		xch_error_set_os(XCH_EOS, "cannot read container payload");
		errno = err;
		return -1;
	}
	if (n == 0) {
		/* the file shrank since it was opened */
		xch_error_set(XCH_EMALFORMED, "truncated container: file ends in '%s'",
			XCH_CONTAINER_PAYLOAD);
		errno = EIO;
		return -1;
	}
	if (xch_sha256_update(c->sha, buf, (size_t)n) < 0) {
		errno = EIO;
		return -1;
	}
	c->pos += (uint64_t)n;
	return n;
}

int xch_container_payload_sha256(xch_container *c, char hex[65])
{
	int error;

	XCH_ARG(c);
	XCH_ARG(hex);
	if (!c->hashed) {
		if (c->pos != c->payload_size)
			return xch_error_set(XCH_EINVALID,
				"container payload not read to the end (%llu of %llu bytes)",
				(unsigned long long)c->pos, (unsigned long long)c->payload_size);
		if ((error = xch_sha256_final_hex(c->sha, c->hex)) < 0)
			return error;
		c->hashed = true;
	}
	memcpy(hex, c->hex, sizeof(c->hex));
	return 0;
}

void xch_container_free(xch_container *c)
{
	if (!c)
		return;
	xch_buf_dispose(&c->envelope);
	xch_buf_dispose(&c->signature);
	xch_sha256_free(c->sha);
	free(c);
}

int xch_container_probe(int fd, bool *is_container)
{
	unsigned char h[BLOCK];
	size_t got = 0;
	uint64_t sum;

	XCH_ARG(fd >= 0);
	XCH_ARG(is_container);
	*is_container = false;
	while (got < BLOCK) {
		ssize_t n = pread(fd, h + got, BLOCK - got, (off_t)got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return xch_error_set_os(XCH_EOS, "cannot read file");
		}
		if (n == 0)
			return 0;
		got += (size_t)n;
	}
	*is_container = parse_octal(&sum, h + H_CHKSUM, 8) && sum == header_sum(h) &&
		memcmp(h + H_MAGIC, ustar_magic, sizeof(ustar_magic)) == 0 &&
		memcmp(h + H_NAME, XCH_CONTAINER_PAYLOAD, sizeof(XCH_CONTAINER_PAYLOAD)) == 0 &&
		h[H_TYPEFLAG] == '0';
	return 0;
}

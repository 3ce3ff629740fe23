/*
 * The outer container: round trips, stock tar, and hostile files built
 * byte by byte.
 */
#include "common.h"
#include "container.h"
#include "sha256.h"
#include "util.h"

#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/xchXXXXXX";
static char path[128];

static const char envelope[] = "{\"format\": 1, \"payload\": {}}\n";
static const char signature[] = "-----BEGIN PGP SIGNATURE-----\nnot really\n-----END PGP SIGNATURE-----\n";

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/b.xch", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return rmdir(tmpdir);
}

static void fill(unsigned char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

/* Write a container with the given payload to `path`, in pieces of `piece`. */
static void write_container(const unsigned char *payload, size_t len, size_t piece,
	char sha_out[65])
{
	xch_container_writer *w;
	uint64_t size;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(xch_container_writer_new(&w, fd, 1700000000), 0);
	for (size_t off = 0; off < len; off += piece)
		assert_int_equal(xch_container_write_payload(w, payload + off,
			len - off < piece ? len - off : piece), 0);
	assert_int_equal(xch_container_payload_done(w, &size, sha_out), 0);
	assert_int_equal(size, len);
	assert_int_equal(xch_container_add(w, XCH_CONTAINER_ENVELOPE, envelope, strlen(envelope)), 0);
	assert_int_equal(xch_container_add(w, XCH_CONTAINER_SIGNATURE, signature, strlen(signature)), 0);
	assert_int_equal(xch_container_finish(w), 0);
	assert_int_equal(xch_container_writer_bytes(w) % 10240, 0);
	assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)xch_container_writer_bytes(w));
	xch_container_writer_free(w);
	assert_int_equal(close(fd), 0);
}

static void file_to_buf(xch_buf *out)
{
	xch_buf_clear(out);
	assert_int_equal(xch_file_read(out, path, 64 * 1024 * 1024, 0), 0);
}

static void buf_to_file(const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(xch_write_all(fd, data, len), 0);
	assert_int_equal(close(fd), 0);
}

/* Open bytes as a container; returns the error (0 and freed on success). */
static int try_open(const void *data, size_t len)
{
	xch_container *c = NULL;
	int fd, error;

	buf_to_file(data, len);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	error = xch_container_open(&c, fd);
	if (error == 0)
		assert_non_null(c);
	else
		assert_null(c);
	xch_container_free(c);
	close(fd);
	return error;
}

static void expect_refusal(const void *data, size_t len, int code, const char *words)
{
	int error = try_open(data, len);
	if (error != code || !strstr(xch_error_last()->message, words))
		fail_msg("expected %d '%s', got %d '%s'", code, words, error, xch_error_last()->message);
	assert_null(strchr(xch_error_last()->message, '\n'));
}

/* A valid container in memory (payload of len bytes), with its layout. */
struct layout {
	xch_buf bytes;
	size_t payload_len;
	size_t env_hdr, sig_hdr, end; /* offsets of the envelope and sig headers, end marker */
};

static void make_valid(struct layout *l, size_t payload_len)
{
	unsigned char *payload = malloc(payload_len);
	char sha[65];

	assert_non_null(payload);
	fill(payload, payload_len, 1);
	write_container(payload, payload_len, 4096, sha);
	free(payload);
	memset(l, 0, sizeof(*l));
	file_to_buf(&l->bytes);
	l->payload_len = payload_len;
	l->env_hdr = 512 + (payload_len + 511) / 512 * 512;
	l->sig_hdr = l->env_hdr + 512 + (strlen(envelope) + 511) / 512 * 512;
	l->end = l->sig_hdr + 512 + (strlen(signature) + 511) / 512 * 512;
}

/* Recompute a header's checksum after a test changed it. */
static void fix_checksum(unsigned char *h)
{
	unsigned int sum = 0;
	for (int i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static void set_name(unsigned char *h, const char *name)
{
	memset(h, 0, 100);
	memcpy(h, name, strlen(name));
	fix_checksum(h);
}

static void set_size(unsigned char *h, uint64_t size)
{
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	fix_checksum(h);
}

static void test_roundtrip(void **state)
{
	size_t len = 100000 + 7;
	unsigned char *payload = malloc(len), buf[3000];
	char sha_w[65], sha_r[65], sha_direct[65];
	xch_container *c;
	ssize_t n;
	size_t got;
	int fd;

	assert_non_null(payload);
	fill(payload, len, 2);
	write_container(payload, len, 777, sha_w);
	assert_int_equal(xch_sha256_hex(sha_direct, payload, len), 0);
	assert_string_equal(sha_w, sha_direct);

	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(xch_container_open(&c, fd), 0);
	assert_int_equal(xch_container_payload_size(c), len);
	assert_int_equal(xch_container_payload_offset(c), 512);
	assert_int_equal(xch_container_envelope(c)->size, strlen(envelope));
	assert_string_equal(xch_container_envelope(c)->ptr, envelope);
	assert_string_equal(xch_container_signature(c)->ptr, signature);

	assert_int_equal(xch_container_payload_sha256(c, sha_r), XCH_EINVALID); /* not read yet */
	for (int pass = 0; pass < 2; pass++) {
		assert_int_equal(xch_container_payload_rewind(c), 0);
		got = 0;
		while ((n = xch_container_payload_read(c, buf, sizeof(buf))) > 0) {
			assert_memory_equal(buf, payload + got, (size_t)n);
			got += (size_t)n;
		}
		assert_int_equal(n, 0);
		assert_int_equal(got, len);
		assert_int_equal(xch_container_payload_read(c, buf, sizeof(buf)), 0); /* stays at end */
		assert_int_equal(xch_container_payload_sha256(c, sha_r), 0);
		assert_string_equal(sha_r, sha_w);
	}
	xch_container_free(c);
	xch_container_free(NULL);
	close(fd);
	free(payload);
}

static void test_stock_tar_reads_it(void **state)
{
	size_t len = 5000;
	unsigned char *payload = malloc(len);
	char sha[65], cmd[1024];

	assert_non_null(payload);
	fill(payload, len, 3);
	write_container(payload, len, len, sha);
	snprintf(cmd, sizeof(cmd),
		"test \"$(tar -tf '%s' | tr '\\n' ' ')\" = 'payload.gpg envelope.json envelope.sig ' && "
		"test \"$(tar -xOf '%s' payload.gpg | sha256sum | cut -c1-64)\" = %s && "
		"tar -tvf '%s' | grep -q '^-rw-r--r-- 0/0 *5000 2023-11-14 22:13 payload.gpg$' && "
		"{ ! command -v bsdtar >/dev/null || bsdtar -tf '%s' >/dev/null; }",
		path, path, sha, path, path);
	assert_int_equal(system(cmd), 0);
	free(payload);
}

static void test_deterministic(void **state)
{
	xch_buf a = XCH_BUF_INIT, b = XCH_BUF_INIT;
	unsigned char payload[1000];
	char sha[65];

	fill(payload, sizeof(payload), 4);
	write_container(payload, sizeof(payload), 100, sha);
	file_to_buf(&a);
	write_container(payload, sizeof(payload), 999, sha);
	file_to_buf(&b);
	assert_int_equal(a.size, b.size);
	assert_memory_equal(a.ptr, b.ptr, a.size);
	/* exactly what the format says: header fields */
	assert_memory_equal(a.ptr, "payload.gpg\0", 12);
	assert_memory_equal(a.ptr + 100, "0000644\0" "0000000\0" "0000000\0" "00000001750\0", 36);
	assert_memory_equal(a.ptr + 156, "0", 1);
	assert_memory_equal(a.ptr + 257, "ustar\0" "00", 8);
	xch_buf_dispose(&a);
	xch_buf_dispose(&b);
}

static void test_probe(void **state)
{
	struct layout l;
	bool yes = true;
	int fd;

	make_valid(&l, 600);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(xch_container_probe(fd, &yes), 0);
	assert_true(yes);
	close(fd);

	l.bytes.ptr[0] = 'P'; /* another name, checksum fixed */
	fix_checksum((unsigned char *)l.bytes.ptr);
	buf_to_file(l.bytes.ptr, l.bytes.size);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(xch_container_probe(fd, &yes), 0);
	assert_false(yes);
	close(fd);

	l.bytes.ptr[0] = 'p'; /* right name, wrong checksum */
	buf_to_file(l.bytes.ptr, l.bytes.size);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(xch_container_probe(fd, &yes), 0);
	assert_false(yes);
	close(fd);

	buf_to_file("short", 5);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(xch_container_probe(fd, &yes), 0);
	assert_false(yes);
	close(fd);
	xch_buf_dispose(&l.bytes);
}

static void test_writer_misuse(void **state)
{
	xch_container_writer *w;
	char big[XCH_CONTAINER_ENVELOPE_MAX + 1];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), p[2];

	assert_true(fd >= 0);
	assert_int_equal(xch_container_writer_new(&w, fd, -1), XCH_EINVALID);
	assert_int_equal(xch_container_writer_new(&w, fd, 0), 0);
	assert_int_equal(xch_container_add(w, XCH_CONTAINER_ENVELOPE, "{}", 2), XCH_EINVALID);
	assert_int_equal(xch_container_payload_done(w, NULL, NULL), XCH_EINVALID); /* empty */
	assert_non_null(strstr(xch_error_last()->message, "empty payload"));
	assert_int_equal(xch_container_write_payload(w, "x", 1), 0);
	assert_int_equal(xch_container_payload_done(w, NULL, NULL), 0);
	assert_int_equal(xch_container_write_payload(w, "x", 1), XCH_EINVALID);
	assert_int_equal(xch_container_add(w, XCH_CONTAINER_SIGNATURE, "s", 1), XCH_EINVALID);
	memset(big, ' ', sizeof(big));
	assert_int_equal(xch_container_add(w, XCH_CONTAINER_ENVELOPE, big, sizeof(big)), XCH_ETOOBIG);
	assert_int_equal(xch_container_add(w, XCH_CONTAINER_ENVELOPE, big, sizeof(big) - 1), 0);
	assert_int_equal(xch_container_finish(w), XCH_EINVALID); /* no signature yet */
	assert_non_null(strstr(xch_error_last()->message, "envelope.sig"));
	xch_container_writer_free(w);
	close(fd);

	assert_int_equal(pipe(p), 0);
	assert_int_equal(xch_container_writer_new(&w, p[1], 0), XCH_EINVALID);
	close(p[0]);
	close(p[1]);
}

static void test_refuses_bad_checksums(void **state)
{
	struct layout l;
	size_t headers[3];

	make_valid(&l, 1234);
	headers[0] = 0;
	headers[1] = l.env_hdr;
	headers[2] = l.sig_hdr;
	assert_int_equal(try_open(l.bytes.ptr, l.bytes.size), 0);
	for (int i = 0; i < 3; i++) {
		/* a flipped bit in the name, the size, the checksum field itself, the magic */
		size_t spots[] = { 1, 130, 150, 260 };
		for (size_t s = 0; s < XCH_ARRAY_SIZE(spots); s++) {
			unsigned char *b = (unsigned char *)l.bytes.ptr + headers[i] + spots[s];
			*b ^= 0x04;
			expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "bad header checksum");
			*b ^= 0x04;
		}
	}
	assert_int_equal(try_open(l.bytes.ptr, l.bytes.size), 0);
	xch_buf_dispose(&l.bytes);
}

static void test_refuses_wrong_magic_and_types(void **state)
{
	struct layout l;
	unsigned char *h;
	const struct { char type; const char *words; } types[] = {
		{ '2', "not a regular file" }, { '1', "not a regular file" }, { '5', "not a regular file" },
		{ '3', "not a regular file" }, { '\0', "not a regular file" }, { '7', "not a regular file" },
		{ 'x', "pax extension header" }, { 'g', "pax extension header" },
		{ 'L', "GNU extension header" }, { 'K', "GNU extension header" },
	};

	make_valid(&l, 512);
	h = (unsigned char *)l.bytes.ptr + l.env_hdr;
	memcpy(h + 257, "ustar  \0", 8); /* old GNU magic */
	fix_checksum(h);
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "not ustar");
	memcpy(h + 257, "ustar\0" "00", 8);
	fix_checksum(h);

	for (size_t i = 0; i < XCH_ARRAY_SIZE(types); i++) {
		h = (unsigned char *)l.bytes.ptr + (i % 2 ? l.sig_hdr : 0);
		h[156] = (unsigned char)types[i].type;
		fix_checksum(h);
		expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, types[i].words);
		h[156] = '0';
		fix_checksum(h);
	}
	/* a link name or a prefix on a regular file */
	h = (unsigned char *)l.bytes.ptr;
	memcpy(h + 157, "/etc/passwd", 11);
	fix_checksum(h);
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "link name");
	memset(h + 157, 0, 11);
	memcpy(h + 345, "x", 1);
	fix_checksum(h);
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "prefix");
	memset(h + 345, 0, 1);
	fix_checksum(h);
	assert_int_equal(try_open(l.bytes.ptr, l.bytes.size), 0);
	xch_buf_dispose(&l.bytes);
}

static void test_refuses_wrong_names_and_order(void **state)
{
	struct layout l;
	unsigned char *env, *sig;

	make_valid(&l, 100);
	env = (unsigned char *)l.bytes.ptr + l.env_hdr;
	sig = (unsigned char *)l.bytes.ptr + l.sig_hdr;

	set_name((unsigned char *)l.bytes.ptr, "payload.pgp");
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "unexpected entry 'payload.pgp'");
	set_name((unsigned char *)l.bytes.ptr, "../payload.gpg");
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "unexpected entry");
	set_name((unsigned char *)l.bytes.ptr, "payload.gpg/");
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "unexpected entry");
	set_name((unsigned char *)l.bytes.ptr, "envelope.json");
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "out-of-order entry 'envelope.json'");
	set_name((unsigned char *)l.bytes.ptr, "payload.gpg");

	set_name(env, "payload.gpg");
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "duplicate entry 'payload.gpg'");
	set_name(env, "envelope.sig");
	set_name(sig, "envelope.json");
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "out-of-order entry 'envelope.sig'");
	set_name(env, "envelope.json");
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "duplicate entry 'envelope.json'");
	set_name(sig, "envelope.sig");
	assert_int_equal(try_open(l.bytes.ptr, l.bytes.size), 0);

	/* name bytes past the NUL must be zero too */
	env[20] = 'x';
	fix_checksum(env);
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "unexpected entry");
	env[20] = 0;
	fix_checksum(env);

	/* a fourth entry after the signature */
	{
		xch_buf more = XCH_BUF_INIT;
		assert_int_equal(xch_buf_put(&more, l.bytes.ptr, l.end), 0);
		assert_int_equal(xch_buf_put(&more, sig, 512 * 2), 0); /* header + data of sig again */
		set_name((unsigned char *)more.ptr + l.end, "extra.txt");
		assert_int_equal(xch_buf_grow(&more, 1024), 0);
		memset(more.ptr + more.size, 0, 1024);
		more.size += 1024;
		expect_refusal(more.ptr, more.size, XCH_EMALFORMED, "unexpected data after 'envelope.sig' (entry 'extra.txt')");
		xch_buf_dispose(&more);
	}
	xch_buf_dispose(&l.bytes);
}

static void test_refuses_missing_entries(void **state)
{
	struct layout l;
	xch_buf b = XCH_BUF_INIT;

	make_valid(&l, 100);
	/* payload then the end marker */
	assert_int_equal(xch_buf_put(&b, l.bytes.ptr, l.env_hdr), 0);
	assert_int_equal(xch_buf_grow(&b, 10240), 0);
	memset(b.ptr + b.size, 0, 10240);
	b.size += 10240;
	expect_refusal(b.ptr, b.size, XCH_EMALFORMED, "missing 'envelope.json'");
	/* payload and envelope only */
	xch_buf_clear(&b);
	assert_int_equal(xch_buf_put(&b, l.bytes.ptr, l.sig_hdr), 0);
	assert_int_equal(xch_buf_grow(&b, 10240), 0);
	memset(b.ptr + b.size, 0, 10240);
	b.size += 10240;
	expect_refusal(b.ptr, b.size, XCH_EMALFORMED, "missing 'envelope.sig'");
	/* only zeros */
	memset(b.ptr, 0, b.size);
	expect_refusal(b.ptr, b.size, XCH_EMALFORMED, "missing 'payload.gpg'");
	expect_refusal(b.ptr, 0, XCH_EMALFORMED, "truncated");
	xch_buf_dispose(&b);
	xch_buf_dispose(&l.bytes);
}

static void test_refuses_bad_sizes(void **state)
{
	struct layout l;
	xch_buf b = XCH_BUF_INIT;
	unsigned char *env;

	make_valid(&l, 1000);
	env = (unsigned char *)l.bytes.ptr + l.env_hdr;

	/* non-octal size fields */
	memcpy(env + 124, "0000000003x\0", 12);
	fix_checksum(env);
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "invalid size field in header of 'envelope.json'");
	memcpy(env + 124, "           \0", 12);
	fix_checksum(env);
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "invalid size field");
	memcpy(env + 124, "00000000009\0", 12);
	fix_checksum(env);
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "invalid size field");
	/* base-256 only for the payload */
	memset(env + 124, 0, 12);
	env[124] = 0x80;
	env[135] = (unsigned char)strlen(envelope);
	fix_checksum(env);
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "invalid size field");
	set_size(env, strlen(envelope));
	assert_int_equal(try_open(l.bytes.ptr, l.bytes.size), 0);

	/* a non-octal mode */
	memcpy(env + 100, "0000-44\0", 8);
	fix_checksum(env);
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "non-octal number");
	memcpy(env + 100, "0000644\0", 8);
	fix_checksum(env);

	/* empty payload, empty envelope */
	set_size((unsigned char *)l.bytes.ptr, 0);
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "'payload.gpg' is empty");
	set_size((unsigned char *)l.bytes.ptr, l.payload_len);
	set_size(env, 0);
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "'envelope.json' is empty");
	set_size(env, strlen(envelope));

	/* a payload size running past the end of the file */
	set_size((unsigned char *)l.bytes.ptr, 1ULL << 32);
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "truncated");
	/* a payload size that lands elsewhere inside the file */
	set_size((unsigned char *)l.bytes.ptr, l.payload_len + 512);
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "bad header checksum");
	set_size((unsigned char *)l.bytes.ptr, l.payload_len);

	/* an envelope over the cap, with the bytes present */
	assert_int_equal(xch_buf_put(&b, l.bytes.ptr, l.env_hdr + 512), 0);
	assert_int_equal(xch_buf_grow(&b, 70000 + 20480), 0);
	memset(b.ptr + b.size, ' ', 70000);
	memset(b.ptr + b.size + 70000, 0, 20480);
	b.size += 70000 + 20480;
	set_size((unsigned char *)b.ptr + l.env_hdr, 70000);
	expect_refusal(b.ptr, b.size, XCH_ETOOBIG, "'envelope.json' is too large");
	xch_buf_dispose(&b);
	xch_buf_dispose(&l.bytes);
}

static void test_refuses_bad_padding_and_trailing_data(void **state)
{
	struct layout l;
	xch_buf b = XCH_BUF_INIT;

	make_valid(&l, 1000);
	/* non-zero padding after the payload and after the envelope */
	l.bytes.ptr[512 + 1000 + 3] = 1;
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "non-zero padding after 'payload.gpg'");
	l.bytes.ptr[512 + 1000 + 3] = 0;
	l.bytes.ptr[l.env_hdr + 512 + strlen(envelope)] = '\n';
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "non-zero padding after 'envelope.json'");
	l.bytes.ptr[l.env_hdr + 512 + strlen(envelope)] = 0;

	/* something in the end marker or in the record padding */
	l.bytes.ptr[l.end + 700] = 1;
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "unexpected data after 'envelope.sig'");
	l.bytes.ptr[l.end + 700] = 0;
	l.bytes.ptr[l.bytes.size - 1] = 'X';
	expect_refusal(l.bytes.ptr, l.bytes.size, XCH_EMALFORMED, "data after the end-of-archive marker");
	l.bytes.ptr[l.bytes.size - 1] = 0;

	/* more zeros are fine (re-blocked), up to a limit; anything else is not */
	assert_int_equal(xch_buf_put(&b, l.bytes.ptr, l.bytes.size), 0);
	assert_int_equal(xch_buf_grow(&b, XCH_CONTAINER_PADDING_MAX + 1), 0);
	memset(b.ptr + b.size, 0, XCH_CONTAINER_PADDING_MAX + 1);
	b.size += 20480;
	assert_int_equal(try_open(b.ptr, b.size), 0);
	b.size = l.end + 1024 + XCH_CONTAINER_PADDING_MAX;
	assert_int_equal(try_open(b.ptr, b.size), 0);
	b.size++;
	expect_refusal(b.ptr, b.size, XCH_EMALFORMED, "after the end-of-archive marker");
	b.size = l.bytes.size + 3;
	b.ptr[b.size - 1] = 'z';
	expect_refusal(b.ptr, b.size, XCH_EMALFORMED, "data after the end-of-archive marker");
	/* the record padding may also be absent */
	assert_int_equal(try_open(l.bytes.ptr, l.end + 1024), 0);
	xch_buf_dispose(&b);
	xch_buf_dispose(&l.bytes);
}

static void test_refuses_truncation_everywhere(void **state)
{
	struct layout l;

	make_valid(&l, 3000);
	for (size_t cut = 0; cut < l.end + 1024; cut += (cut % 512 == 0) ? 1 : (cut % 512 == 1 ? 510 : 1)) {
		int error = try_open(l.bytes.ptr, cut);
		if (error != XCH_EMALFORMED || !strstr(xch_error_last()->message, "truncated"))
			fail_msg("cut at %zu: %d '%s'", cut, error, xch_error_last()->message);
	}
	xch_buf_dispose(&l.bytes);
}

static void test_payload_read_stops_at_region_and_notices_shrinking(void **state)
{
	struct layout l;
	xch_container *c;
	unsigned char buf[8192];
	int fd;

	make_valid(&l, 5000);
	buf_to_file(l.bytes.ptr, l.bytes.size);
	assert_true((fd = open(path, O_RDWR)) >= 0);
	assert_int_equal(xch_container_open(&c, fd), 0);
	/* one big read gets exactly the payload, not the envelope after it */
	assert_int_equal(xch_container_payload_read(c, buf, sizeof(buf)), 5000);
	assert_int_equal(xch_container_payload_read(c, buf, sizeof(buf)), 0);
	/* the file shrinks under us */
	assert_int_equal(xch_container_payload_rewind(c), 0);
	assert_int_equal(ftruncate(fd, 2000), 0);
	assert_int_equal(xch_container_payload_read(c, buf, sizeof(buf)), 1488);
	errno = 0;
	assert_int_equal(xch_container_payload_read(c, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(xch_error_last()->code, XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, "truncated"));
	xch_container_free(c);
	close(fd);
	xch_buf_dispose(&l.bytes);
}

static void test_large_payload_base256(void **state)
{
	/* a sparse file with an 8 GiB + 1 payload, its size in GNU base-256 */
	uint64_t size = (8ULL << 30) + 1, off;
	unsigned char h[512];
	struct layout l;
	xch_container *c;
	int fd;

	make_valid(&l, 10);
	memcpy(h, l.bytes.ptr, 512);
	memset(h + 124, 0, 12);
	h[124] = 0x80;
	for (int i = 11; i >= 1; i--)
		h[124 + i] = 11 - i < 8 ? (unsigned char)(size >> (8 * (11 - i))) : 0;
	fix_checksum(h);
	assert_true((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_int_equal(pwrite(fd, h, 512, 0), 512);
	off = 512 + (size + 511) / 512 * 512;
	assert_int_equal(pwrite(fd, l.bytes.ptr + l.env_hdr, l.bytes.size - l.env_hdr, (off_t)off),
		(ssize_t)(l.bytes.size - l.env_hdr));
	assert_int_equal(xch_container_open(&c, fd), 0);
	assert_int_equal(xch_container_payload_size(c), size);
	assert_string_equal(xch_container_envelope(c)->ptr, envelope);
	xch_container_free(c);

	/* a negative base-256 size */
	h[124] = 0xff;
	fix_checksum(h);
	assert_int_equal(pwrite(fd, h, 512, 0), 512);
	assert_int_equal(xch_container_open(&c, fd), XCH_EMALFORMED);
	close(fd);
	unlink(path);
	xch_buf_dispose(&l.bytes);
}

static void test_not_a_regular_file(void **state)
{
	xch_container *c;
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(xch_container_open(&c, p[0]), XCH_EINVALID);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_stock_tar_reads_it),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_writer_misuse),
		cmocka_unit_test(test_refuses_bad_checksums),
		cmocka_unit_test(test_refuses_wrong_magic_and_types),
		cmocka_unit_test(test_refuses_wrong_names_and_order),
		cmocka_unit_test(test_refuses_missing_entries),
		cmocka_unit_test(test_refuses_bad_sizes),
		cmocka_unit_test(test_refuses_bad_padding_and_trailing_data),
		cmocka_unit_test(test_refuses_truncation_everywhere),
		cmocka_unit_test(test_payload_read_stops_at_region_and_notices_shrinking),
		cmocka_unit_test(test_large_payload_base256),
		cmocka_unit_test(test_not_a_regular_file),
	};
	return cmocka_run_group_tests_name("container", tests, setup, teardown);
}

/*
 * The payload archive: writer/reader round trips, stock tar, and hostile
 * archives written byte by byte (names, types, duplicates, bombs,
 * truncation, trailing data).
 */
#include "common.h"
#include "payload.h"
#include "util.h"

#include <setjmp.h>
#include <cmocka.h>
#include <unistd.h>
#include <zlib.h>

/* Output sink */

static int buf_sink(void *payload, const void *data, size_t len)
{
	return xch_buf_put(payload, data, len);
}

/* Input: a memory buffer served in pieces, optionally failing at some offset. */
struct src {
	const unsigned char *data;
	size_t len, pos, piece;
	size_t fail_at; /* 0: never */
};

static ssize_t src_read(void *payload, const void **buf)
{
	struct src *s = payload;
	size_t n = s->len - s->pos;
	if (s->fail_at && s->pos >= s->fail_at)
		return xch_error_set(XCH_ECRYPTO, "decryption failed (test)");
	if (n > s->piece)
		n = s->piece;
	*buf = s->data + s->pos;
	s->pos += n;
	return (ssize_t)n;
}

/* Raw tar building, for what libarchive would refuse to write */

static void tar_header(xch_buf *b, const char *name, char type, const char *link, uint64_t size)
{
	unsigned char h[512];
	unsigned int sum = 0;

	memset(h, 0, sizeof(h));
	assert_true(strlen(name) <= 100);
	memcpy(h, name, strlen(name));
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	memcpy(h + 136, "14524770400", 11);
	h[156] = (unsigned char)type;
	if (link)
		memcpy(h + 157, link, strlen(link));
	memcpy(h + 257, "ustar\0" "00", 8);
	for (int i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	assert_int_equal(xch_buf_put(b, h, 512), 0);
}

static void tar_data(xch_buf *b, const void *data, size_t len)
{
	size_t pad = (512 - len % 512) % 512;
	assert_int_equal(xch_buf_put(b, data, len), 0);
	assert_int_equal(xch_buf_grow(b, pad), 0);
	memset(b->ptr + b->size, 0, pad);
	b->size += pad;
}

static void tar_file(xch_buf *b, const char *name, const char *content)
{
	tar_header(b, name, '0', NULL, strlen(content));
	tar_data(b, content, strlen(content));
}

/* Append one pax record "LEN key=value\n" (LEN counts itself). */
static void pax_record(xch_buf *recs, const char *key, const char *value)
{
	size_t n = strlen(key) + strlen(value) + 3, total;
	total = n + (size_t)snprintf(NULL, 0, "%zu", n);
	if ((size_t)snprintf(NULL, 0, "%zu", total) + n != total)
		total++;
	assert_int_equal(xch_buf_printf(recs, "%zu %s=%s\n", total, key, value), 0);
}

/* A pax extended header carrying one "key=value" record. */
static void tar_pax(xch_buf *b, const char *key, const char *value)
{
	xch_buf rec = XCH_BUF_INIT;
	pax_record(&rec, key, value);
	tar_header(b, "PaxHeader/x", 'x', NULL, rec.size);
	tar_data(b, rec.ptr, rec.size);
	xch_buf_dispose(&rec);
}

static void tar_end(xch_buf *b)
{
	assert_int_equal(xch_buf_grow(b, 1024), 0);
	memset(b->ptr + b->size, 0, 1024);
	b->size += 1024;
}

/* One gzip member of data, appended to out. */
static void gzip_append(xch_buf *out, const void *data, size_t len)
{
	z_stream zs;
	uLong bound;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	bound = deflateBound(&zs, len);
	assert_int_equal(xch_buf_grow(out, bound), 0);
	zs.next_in = (unsigned char *)(uintptr_t)data;
	zs.avail_in = (uInt)len;
	zs.next_out = (unsigned char *)out->ptr + out->size;
	zs.avail_out = (uInt)bound;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	out->size += zs.total_out;
	deflateEnd(&zs);
}

/* Read an archive to the end; returns the first error, or 0. Counts entries. */
static int read_all(const xch_buf *gz, uint64_t cap, size_t piece, int *entries)
{
	struct src s = { (const unsigned char *)gz->ptr, gz->size, 0, piece, 0 };
	xch_payload_reader *r;
	const char *path;
	uint64_t size;
	unsigned char buf[10000];
	int error, n = 0;

	assert_int_equal(xch_payload_reader_new(&r, src_read, &s, cap), 0);
	while ((error = xch_payload_next(r, &path, &size)) == 0) {
		ssize_t k;
		uint64_t got = 0;
		n++;
		while ((k = xch_payload_read_data(r, buf, sizeof(buf))) > 0)
			got += (uint64_t)k;
		if (k < 0) {
			error = (int)k;
			break;
		}
		assert_int_equal(got, size);
	}
	if (error == 1) {
		error = 0;
		assert_int_equal(s.pos, s.len); /* the whole input was consumed */
		assert_int_equal(xch_payload_next(r, &path, &size), 1);
	}
	assert_true(xch_payload_reader_bytes(r) <= cap + 1);
	xch_payload_reader_free(r);
	if (entries)
		*entries = n;
	return error;
}

static void expect_raw(const xch_buf *tar, int code, const char *words)
{
	xch_buf gz = XCH_BUF_INIT;
	int error;

	gzip_append(&gz, tar->ptr, tar->size);
	error = read_all(&gz, 1 << 30, 333, NULL);
	if (error != code || !strstr(xch_error_last()->message, words))
		fail_msg("expected %d '%s', got %d '%s'", code, words, error, xch_error_last()->message);
	assert_null(strchr(xch_error_last()->message, '\n'));
	xch_buf_dispose(&gz);
}

static void fill_random(unsigned char *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		p[i] = (unsigned char)(seed >> 24);
	}
}

/* Round trips */

struct sample {
	const char *path;
	size_t len;
	bool store;
	bool streamed;
	unsigned char *data;
};

static void write_samples(xch_buf *gz, struct sample *s, size_t n, int threads)
{
	xch_payload_writer *w;

	assert_int_equal(xch_payload_writer_new(&w, buf_sink, gz, -1, threads, 1700000000), 0);
	for (size_t i = 0; i < n; i++) {
		if (!s[i].streamed) {
			assert_int_equal(xch_payload_add(w, s[i].path, s[i].data, s[i].len, s[i].store), 0);
			continue;
		}
		assert_int_equal(xch_payload_begin(w, s[i].path, s[i].len, s[i].store), 0);
		for (size_t off = 0; off < s[i].len; off += 7777)
			assert_int_equal(xch_payload_write(w, s[i].data + off,
				s[i].len - off < 7777 ? s[i].len - off : 7777), 0);
		assert_int_equal(xch_payload_end(w), 0);
	}
	assert_int_equal(xch_payload_finish(w), 0);
	assert_int_equal(xch_payload_writer_bytes_out(w), gz->size);
	assert_true(xch_payload_writer_bytes_in(w) > 0);
	xch_payload_writer_free(w);
}

static struct sample *make_samples(size_t *n)
{
	static struct sample s[] = {
		{ "manifest.json", 200, false, false, NULL },
		{ "records/assessment/5d0c6f1e-8a7b-4c2d-9e3f-0a1b2c3d4e5f.json", 3000, false, false, NULL },
		{ "records/advisory/caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac.json", 10, false, false, NULL },
		{ "attachments/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 1500000, true, true, NULL },
		{ "attachments/empty", 0, false, false, NULL },
		{ "records/a/very/deep/path/that/is/long/enough/to/need/a/pax/or/prefix/header/because/it/exceeds/one/hundred/bytes.json", 700, false, true, NULL },
		{ "attachments/big-text", 2500000, false, true, NULL },
	};
	for (size_t i = 0; i < XCH_ARRAY_SIZE(s); i++) {
		s[i].data = malloc(s[i].len + 1);
		assert_non_null(s[i].data);
		if (s[i].store)
			fill_random(s[i].data, s[i].len, i + 1);
		else
			for (size_t j = 0; j < s[i].len; j++)
				s[i].data[j] = (unsigned char)("{\"finding\": \"pump\"}\n"[(j * 7 + i) % 20]);
	}
	*n = XCH_ARRAY_SIZE(s);
	return s;
}

static void free_samples(struct sample *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].data);
		s[i].data = NULL;
	}
}

static void test_roundtrip(void **state)
{
	xch_buf gz = XCH_BUF_INIT;
	size_t n;
	struct sample *s = make_samples(&n);

	for (int threads = 1; threads <= 2; threads++) {
		struct src in;
		xch_payload_reader *r;
		const char *path;
		uint64_t size;
		size_t stored = 0;

		xch_buf_clear(&gz);
		write_samples(&gz, s, n, threads);
		for (size_t i = 0; i < n; i++)
			stored += s[i].store ? s[i].len : 0;
		/* stored attachment kept as is, the rest compressed well */
		assert_true(gz.size > stored && gz.size < stored + 200000);

		in = (struct src){ (const unsigned char *)gz.ptr, gz.size, 0, 4099, 0 };
		assert_int_equal(xch_payload_reader_new(&r, src_read, &in, 64 * 1024 * 1024), 0);
		for (size_t i = 0; i < n; i++) {
			unsigned char *back = malloc(s[i].len + 1);
			size_t got = 0;
			ssize_t k;
			assert_non_null(back);
			assert_int_equal(xch_payload_next(r, &path, &size), 0);
			assert_string_equal(path, s[i].path);
			assert_int_equal(size, s[i].len);
			while ((k = xch_payload_read_data(r, back + got, s[i].len + 1 - got)) > 0)
				got += (size_t)k;
			assert_int_equal(k, 0);
			assert_int_equal(got, s[i].len);
			assert_memory_equal(back, s[i].data, s[i].len);
			free(back);
		}
		assert_int_equal(xch_payload_next(r, &path, &size), 1);
		assert_null(path);
		assert_int_equal(in.pos, in.len);
		xch_payload_reader_free(r);
	}
	free_samples(s, n);
	xch_buf_dispose(&gz);
}

/* Random data is stored, not deflated, unless small; text is deflated. */
static void test_stores_incompressible_entries(void **state)
{
	xch_payload_writer *w;
	xch_buf gz = XCH_BUF_INIT;
	size_t big = 1 << 20;
	unsigned char *rnd = malloc(big), *text = malloc(big);

	(void)state;
	assert_non_null(rnd);
	assert_non_null(text);
	fill_random(rnd, big, 42);
	for (size_t j = 0; j < big; j++)
		text[j] = (unsigned char)("{\"finding\": \"pump\"}\n"[j % 20]);
	assert_int_equal(xch_payload_writer_new(&w, buf_sink, &gz, -1, 2, 1700000000), 0);
	assert_int_equal(xch_payload_add(w, "attachments/text", text, big, false), 0);
	assert_int_equal(xch_payload_writer_bytes_stored(w), 0);
	assert_int_equal(xch_payload_add(w, "attachments/small-random", rnd, 60000, false), 0);
	assert_int_equal(xch_payload_writer_bytes_stored(w), 0);
	assert_int_equal(xch_payload_begin(w, "attachments/random", big, false), 0);
	for (size_t off = 0; off < big; off += 65536)
		assert_int_equal(xch_payload_write(w, rnd + off, 65536), 0);
	assert_int_equal(xch_payload_end(w), 0);
	assert_int_equal(xch_payload_writer_bytes_stored(w), big);
	assert_int_equal(xch_payload_add(w, "attachments/marked", text, 1000, true), 0);
	assert_int_equal(xch_payload_writer_bytes_stored(w), big + 1000);
	assert_int_equal(xch_payload_finish(w), 0);
	/* the text deflated, the random bytes as they were: about 1 MiB and 60 kB in all */
	assert_true(gz.size > big + 60000 && gz.size < big + 60000 + big / 50);
	xch_payload_writer_free(w);
	xch_buf_dispose(&gz);
	free(rnd);
	free(text);
}

static void test_skipping_unread_data(void **state)
{
	xch_buf gz = XCH_BUF_INIT;
	size_t n;
	struct sample *s = make_samples(&n);
	int entries;

	write_samples(&gz, s, n, 2);
	assert_int_equal(read_all(&gz, 64 * 1024 * 1024, 65536, &entries), 0);
	assert_int_equal(entries, (int)n);
	{
		/* next() without reading any data */
		struct src in = { (const unsigned char *)gz.ptr, gz.size, 0, 1000, 0 };
		xch_payload_reader *r;
		const char *path;
		uint64_t size;
		int k = 0, error;
		assert_int_equal(xch_payload_reader_new(&r, src_read, &in, 64 * 1024 * 1024), 0);
		while ((error = xch_payload_next(r, &path, &size)) == 0)
			k++;
		assert_int_equal(error, 1);
		assert_int_equal(k, (int)n);
		assert_int_equal(in.pos, in.len);
		xch_payload_reader_free(r);
	}
	free_samples(s, n);
	xch_buf_dispose(&gz);
}

static void test_deterministic_and_stock_tar(void **state)
{
	xch_buf a = XCH_BUF_INIT, b = XCH_BUF_INIT;
	char dir[] = "/tmp/xchXXXXXX", file[64], cmd[1024];
	size_t n;
	struct sample *s = make_samples(&n);
	FILE *f;

	write_samples(&a, s, n, 1);
	write_samples(&b, s, n, 2);
	assert_int_equal(a.size, b.size);
	assert_memory_equal(a.ptr, b.ptr, a.size);

	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/p.tgz", dir);
	assert_non_null(f = fopen(file, "wb"));
	assert_int_equal(fwrite(a.ptr, 1, a.size, f), a.size);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd),
		"gzip -t '%s' && test \"$(tar -tzf '%s' | wc -l)\" = %zu && "
		"test \"$(tar -tzf '%s' | head -1)\" = manifest.json && "
		"tar -tvzf '%s' | grep -q '^-rw-r--r-- 0/0 *200 2023-11-14 22:13 manifest.json$' && "
		"cd '%s' && tar -xzf p.tgz && cmp -s attachments/big-text p.tgz; test $? = 1 && "
		"test \"$(wc -c < attachments/big-text)\" = 2500000",
		file, file, n, file, file, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free_samples(s, n);
	xch_buf_dispose(&a);
	xch_buf_dispose(&b);
}

static void test_reads_stock_tar_czf(void **state)
{
	char dir[] = "/tmp/xchXXXXXX", cmd[512];
	xch_buf gz = XCH_BUF_INIT;
	int entries;

	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		"cd '%s' && mkdir -p in/records && echo '{}' > in/manifest.json && "
		"head -c 100000 /dev/zero > in/records/z.json && "
		"tar -C in --owner=0 --group=0 -czf out.tgz manifest.json records/z.json", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/out.tgz", dir);
	assert_int_equal(xch_file_read(&gz, cmd, 1 << 20, 0), 0);
	/* GNU tar pads to 10240 bytes with zeros: fine */
	assert_int_equal(read_all(&gz, 1 << 20, 100, &entries), 0);
	assert_int_equal(entries, 2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	xch_buf_dispose(&gz);
}

/* Writer misuse */

static void test_writer_refuses_misuse(void **state)
{
	xch_buf gz = XCH_BUF_INIT;
	xch_payload_writer *w;

	assert_int_equal(xch_payload_writer_new(&w, buf_sink, &gz, -1, 1, -5), XCH_EINVALID);
	assert_int_equal(xch_payload_writer_new(&w, buf_sink, &gz, 11, 1, 0), XCH_EINVALID);
	assert_int_equal(xch_payload_writer_new(&w, buf_sink, &gz, 6, 1, 0), 0);
	assert_int_equal(xch_payload_add(w, "../x", "a", 1, false), XCH_EINVALID);
	assert_int_equal(xch_payload_add(w, "/x", "a", 1, false), XCH_EINVALID);
	assert_int_equal(xch_payload_add(w, "a", "a", 1, false), 0);
	assert_int_equal(xch_payload_add(w, "a", "a", 1, false), XCH_EINVALID);
	assert_non_null(strstr(xch_error_last()->message, "duplicate"));
	assert_int_equal(xch_payload_add(w, "A", "a", 1, false), XCH_EINVALID);
	assert_non_null(strstr(xch_error_last()->message, "case"));
	assert_int_equal(xch_payload_write(w, "x", 1), XCH_EINVALID); /* no entry */
	assert_int_equal(xch_payload_begin(w, "b", 3, false), 0);
	assert_int_equal(xch_payload_begin(w, "c", 3, false), XCH_EINVALID);
	assert_int_equal(xch_payload_finish(w), XCH_EINVALID);
	assert_int_equal(xch_payload_write(w, "xy", 2), 0);
	assert_int_equal(xch_payload_write(w, "zz", 2), XCH_EINVALID); /* over the size */
	assert_non_null(strstr(xch_error_last()->message, "more than the 3 bytes"));
	/* the archive is now broken: the error sticks */
	assert_int_equal(xch_payload_end(w), XCH_EINVALID);
	xch_payload_writer_free(w);

	xch_buf_clear(&gz);
	assert_int_equal(xch_payload_writer_new(&w, buf_sink, &gz, 6, 1, 0), 0);
	assert_int_equal(xch_payload_begin(w, "b", 3, false), 0);
	assert_int_equal(xch_payload_write(w, "xy", 2), 0);
	assert_int_equal(xch_payload_end(w), XCH_EINVALID);
	assert_non_null(strstr(xch_error_last()->message, "short: 2 of 3"));
	xch_payload_writer_free(w);
	assert_int_equal(gz.size, 0); /* nothing reached the sink on abandon */
	xch_payload_writer_free(NULL);
	xch_buf_dispose(&gz);
}

/* Names */

static void test_path_check(void **state)
{
	char longname[300];
	const char *good[] = { "manifest.json", "records/a/b.json", "a..b", ".hidden", "a/.b",
		"caf\xc3\xa9", "\xf0\x9f\x94\x92/x", "a b" };
	const struct { const char *name; const char *why; } bad[] = {
		{ "", "empty" }, { "/etc/passwd", "absolute" }, { "..", "'..'" }, { "../x", "'..'" },
		{ "a/../b", "'..'" }, { "a/..", "'..'" }, { ".", "'.'" }, { "./a", "'.'" },
		{ "a/./b", "'.'" }, { "a//b", "empty path component" }, { "a/", "trailing slash" },
		{ "a\\b", "backslash" }, { "..\\x", "backslash" }, { "a\x01" "b", "control" },
		{ "a\nb", "control" }, { "a\x7f", "control" }, { "a\xc2\x85", "control" },
		{ "a\xff", "UTF-8" }, { "\xc0\xaf", "UTF-8" }, { "\xed\xa0\x80", "UTF-8" },
		{ "\xe2\x82", "UTF-8" }, { "\xf4\x90\x80\x80", "UTF-8" },
	};
	for (size_t i = 0; i < XCH_ARRAY_SIZE(good); i++)
		assert_int_equal(xch_payload_path_check(good[i]), 0);
	for (size_t i = 0; i < XCH_ARRAY_SIZE(bad); i++) {
		int error = xch_payload_path_check(bad[i].name);
		if (error != XCH_EMALFORMED || !strstr(xch_error_last()->message, bad[i].why))
			fail_msg("'%s': %d '%s'", bad[i].name, error, xch_error_last()->message);
		assert_null(strchr(xch_error_last()->message, '\n'));
	}
	memset(longname, 'a', sizeof(longname));
	longname[255] = '\0';
	assert_int_equal(xch_payload_path_check(longname), 0);
	longname[255] = 'a';
	longname[256] = '\0';
	assert_int_equal(xch_payload_path_check(longname), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, "longer than 255"));
}

/* Hostile archives */

static void test_refuses_bad_names(void **state)
{
	const struct { const char *name; const char *words; } cases[] = {
		{ "../evil", "'..'" }, { "/etc/cron.d/x", "absolute" }, { "a//b", "empty path" },
		{ "./manifest.json", "'.'" }, { "records\\..\\x", "backslash" },
		{ "a\x1b[31m", "control" }, { "lat\xe9", "not valid UTF-8" },
	};
	for (size_t i = 0; i < XCH_ARRAY_SIZE(cases); i++) {
		xch_buf t = XCH_BUF_INIT;
		tar_file(&t, "manifest.json", "{}");
		tar_file(&t, cases[i].name, "x");
		tar_end(&t);
		expect_raw(&t, XCH_EMALFORMED, cases[i].words);
		xch_buf_dispose(&t);
	}
	{
		/* through pax: a '..' path and an over-long one */
		char longname[300];
		xch_buf t = XCH_BUF_INIT;
		tar_pax(&t, "path", "records/../../etc/passwd");
		tar_file(&t, "records/harmless", "x");
		tar_end(&t);
		expect_raw(&t, XCH_EMALFORMED, "invalid entry name 'records/../../etc/passwd'");
		xch_buf_clear(&t);
		memset(longname, 'a', 256);
		longname[256] = '\0';
		tar_pax(&t, "path", longname);
		tar_file(&t, "records/harmless", "x");
		tar_end(&t);
		expect_raw(&t, XCH_EMALFORMED, "longer than 255 bytes");
		xch_buf_dispose(&t);
	}
}

static void test_refuses_non_regular_entries(void **state)
{
	const struct { char type; const char *link; const char *words; } cases[] = {
		{ '2', "/etc/passwd", "is a symbolic link" },
		{ '1', "manifest.json", "is a hard link" },
		{ '3', NULL, "is a device" },
		{ '4', NULL, "is a device" },
		{ '5', NULL, "is a directory" },
		{ '6', NULL, "is a fifo" },
	};
	for (size_t i = 0; i < XCH_ARRAY_SIZE(cases); i++) {
		xch_buf t = XCH_BUF_INIT;
		tar_file(&t, "manifest.json", "{}");
		tar_header(&t, "records/x", cases[i].type, cases[i].link, 0);
		tar_end(&t);
		expect_raw(&t, XCH_EMALFORMED, cases[i].words);
		xch_buf_dispose(&t);
	}
	{
		/* a directory spelled with a trailing slash on a regular type */
		xch_buf t = XCH_BUF_INIT;
		tar_header(&t, "records/", '0', NULL, 0);
		tar_end(&t);
		expect_raw(&t, XCH_EMALFORMED, "trailing slash");
		xch_buf_dispose(&t);
	}
	{
		/* GNU old-style sparse ('S') and pax sparse (GNU.sparse 1.0) */
		xch_buf t = XCH_BUF_INIT;
		unsigned char *h;
		unsigned int sum = 0;
		tar_header(&t, "records/sparse", 'S', NULL, 512);
		/* old GNU header: magic, one map entry {0, 512}, real size 4096 */
		h = (unsigned char *)t.ptr;
		memcpy(h + 257, "ustar  \0", 8);
		memcpy(h + 386, "00000000000", 11);
		memcpy(h + 398, "00000001000", 11);
		memcpy(h + 483, "00000010000", 11);
		for (int i = 0; i < 512; i++)
			sum += (i >= 148 && i < 156) ? ' ' : h[i];
		snprintf((char *)h + 148, 8, "%06o", sum);
		h[155] = ' ';
		tar_data(&t, "data", 4);
		tar_end(&t);
		expect_raw(&t, XCH_EMALFORMED, "sparse");
		xch_buf_clear(&t);
		{
			xch_buf rec = XCH_BUF_INIT;
			char sparse_data[512];
			pax_record(&rec, "GNU.sparse.major", "1");
			pax_record(&rec, "GNU.sparse.minor", "0");
			pax_record(&rec, "GNU.sparse.name", "records/s");
			pax_record(&rec, "GNU.sparse.realsize", "8");
			tar_header(&t, "PaxHeader/x", 'x', NULL, rec.size);
			tar_data(&t, rec.ptr, rec.size);
			xch_buf_dispose(&rec);
			memset(sparse_data, 0, sizeof(sparse_data));
			memcpy(sparse_data, "1\n0\n4\n", 6);
			tar_header(&t, "GNUSparseFile.0/s", '0', NULL, 512 + 4);
			tar_data(&t, sparse_data, 512);
			tar_data(&t, "abcd", 4);
			tar_end(&t);
			expect_raw(&t, XCH_EMALFORMED, "sparse");
		}
		xch_buf_dispose(&t);
	}
}

static void test_refuses_duplicates_and_case_collisions(void **state)
{
	const struct { const char *a, *b, *words; } cases[] = {
		{ "records/x.json", "records/x.json", "duplicate entry 'records/x.json'" },
		{ "manifest.json", "Manifest.JSON", "differs only in case" },
		{ "records/\xc3\x89t\xc3\xa9.json", "records/\xc3\xa9t\xc3\xa9.json", "differs only in case" },
		{ "records/\xce\xa3.json", "records/\xcf\x83.json", "differs only in case" },
	};
	for (size_t i = 0; i < XCH_ARRAY_SIZE(cases); i++) {
		xch_buf t = XCH_BUF_INIT;
		tar_file(&t, cases[i].a, "1");
		tar_file(&t, "records/other", "2");
		tar_file(&t, cases[i].b, "3");
		tar_end(&t);
		expect_raw(&t, XCH_EMALFORMED, cases[i].words);
		xch_buf_dispose(&t);
	}
}

static void test_refuses_too_many_entries(void **state)
{
	xch_buf t = XCH_BUF_INIT, gz = XCH_BUF_INIT;
	struct src in;
	xch_payload_reader *r;
	const char *path;
	uint64_t size;
	char name[32];

	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "records/%d", i);
		tar_file(&t, name, "x");
	}
	tar_end(&t);
	gzip_append(&gz, t.ptr, t.size);
	in = (struct src){ (const unsigned char *)gz.ptr, gz.size, 0, 100, 0 };
	assert_int_equal(xch_payload_reader_new(&r, src_read, &in, 1 << 20), 0);
	xch_payload_reader_set_max_entries(r, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(xch_payload_next(r, &path, &size), 0);
	assert_int_equal(xch_payload_next(r, &path, &size), XCH_ETOOBIG);
	assert_non_null(strstr(xch_error_last()->message, "more than 3 entries"));
	assert_int_equal(xch_payload_next(r, &path, &size), XCH_ETOOBIG); /* sticky */
	xch_payload_reader_free(r);
	xch_buf_dispose(&t);
	xch_buf_dispose(&gz);
}

/* Gzip `total` zero bytes after `head` as one member, without holding them in memory. */
static void gzip_zeros(xch_buf *out, const xch_buf *head, uint64_t total)
{
	static unsigned char zeros[1 << 16];
	unsigned char obuf[1 << 16];
	z_stream zs;
	int ret;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (unsigned char *)head->ptr;
	zs.avail_in = (uInt)head->size;
	for (;;) {
		int flush = Z_NO_FLUSH;
		if (zs.avail_in == 0) {
			if (total == 0) {
				flush = Z_FINISH;
			} else {
				size_t n = total < sizeof(zeros) ? (size_t)total : sizeof(zeros);
				zs.next_in = zeros;
				zs.avail_in = (uInt)n;
				total -= n;
			}
		}
		zs.next_out = obuf;
		zs.avail_out = sizeof(obuf);
		ret = deflate(&zs, flush);
		assert_int_equal(xch_buf_put(out, obuf, sizeof(obuf) - zs.avail_out), 0);
		if (ret == Z_STREAM_END)
			break;
		assert_true(ret == Z_OK || ret == Z_BUF_ERROR);
	}
	deflateEnd(&zs);
}

static void test_refuses_decompression_bombs(void **state)
{
	xch_buf t = XCH_BUF_INIT, gz = XCH_BUF_INIT;
	const uint64_t cap = 10 * 1024 * 1024, bomb = 100 * 1024 * 1024;
	int error;

	/* an entry declaring 100 MB of zeros: refused from its header */
	tar_file(&t, "manifest.json", "{}");
	tar_header(&t, "attachments/zeros", '0', NULL, bomb);
	gzip_zeros(&gz, &t, bomb + 1024);
	assert_true(gz.size < 200 * 1024);
	error = read_all(&gz, cap, 65536, NULL);
	assert_int_equal(error, XCH_ETOOBIG);
	assert_non_null(strstr(xch_error_last()->message, "attachments/zeros"));

	/* a small entry, then endless zeros after the end marker: the padding limit stops it */
	xch_buf_clear(&t);
	xch_buf_clear(&gz);
	tar_file(&t, "manifest.json", "{}");
	gzip_zeros(&gz, &t, bomb);
	error = read_all(&gz, cap, 65536, NULL);
	assert_int_equal(error, XCH_ETOOBIG);
	assert_non_null(strstr(xch_error_last()->message, "bytes of padding after the end of the archive"));

	/* many entries, each under the cap, together over it */
	xch_buf_clear(&t);
	xch_buf_clear(&gz);
	{
		xch_buf one = XCH_BUF_INIT;
		for (int i = 0; i < 12; i++) {
			char name[32];
			xch_buf_clear(&one);
			snprintf(name, sizeof(name), "attachments/%d", i);
			tar_header(&one, name, '0', NULL, 1024 * 1024);
			gzip_zeros(&gz, &one, 1024 * 1024);
		}
		xch_buf_clear(&one);
		tar_end(&one);
		gzip_append(&gz, one.ptr, one.size);
		xch_buf_dispose(&one);
	}
	error = read_all(&gz, cap, 65536, NULL);
	assert_int_equal(error, XCH_ETOOBIG);
	/* and the same archive passes under a larger cap */
	assert_int_equal(read_all(&gz, 20 * 1024 * 1024, 65536, NULL), 0);
	xch_buf_dispose(&t);
	xch_buf_dispose(&gz);
}

static void test_refuses_endless_empty_input(void **state)
{
	/* one gzip member of 300000 empty stored blocks: 1.5 MB in, nothing out */
	static const unsigned char head[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
	static const unsigned char empty[5] = { 0x00, 0x00, 0x00, 0xff, 0xff };
	static const unsigned char last[13] = { 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0 };
	xch_buf gz = XCH_BUF_INIT;

	assert_int_equal(xch_buf_put(&gz, head, sizeof(head)), 0);
	for (int i = 0; i < 300000; i++)
		assert_int_equal(xch_buf_put(&gz, empty, sizeof(empty)), 0);
	assert_int_equal(xch_buf_put(&gz, last, sizeof(last)), 0);
	assert_int_equal(read_all(&gz, 1 << 30, 65536, NULL), XCH_ETOOBIG);
	assert_non_null(strstr(xch_error_last()->message, "far larger than its content"));

	/* endless empty members */
	xch_buf_clear(&gz);
	for (int i = 0; i < 100000; i++)
		gzip_append(&gz, "", 0);
	assert_int_equal(read_all(&gz, 1 << 30, 65536, NULL), XCH_ETOOBIG);
	xch_buf_dispose(&gz);
}

static void test_refuses_truncation(void **state)
{
	xch_buf gz = XCH_BUF_INIT, t = XCH_BUF_INIT, cut = XCH_BUF_INIT;
	size_t n;
	struct sample *s = make_samples(&n);
	size_t points[8];

	write_samples(&gz, s, n, 1);
	points[0] = 1;
	points[1] = 10;
	points[2] = 100;
	points[3] = gz.size / 3;
	points[4] = gz.size / 2;
	points[5] = gz.size - 100;
	points[6] = gz.size - 8; /* inside the gzip trailer */
	points[7] = gz.size - 1;
	for (size_t i = 0; i < XCH_ARRAY_SIZE(points); i++) {
		xch_buf_clear(&cut);
		assert_int_equal(xch_buf_put(&cut, gz.ptr, points[i]), 0);
		int error = read_all(&cut, 1 << 30, 5000, NULL);
		if (error != XCH_EMALFORMED || !strstr(xch_error_last()->message, "truncated"))
			fail_msg("cut at %zu: %d '%s'", points[i], error, xch_error_last()->message);
	}
	assert_int_equal(read_all(&gz, 1 << 30, 5000, NULL), 0);

	/* gzip members complete, tar cut inside an entry: the entry is short */
	tar_file(&t, "manifest.json", "{}");
	tar_header(&t, "records/r.json", '0', NULL, 2000);
	tar_data(&t, "{\"partial\": true}", 17);
	xch_buf_clear(&cut);
	gzip_append(&cut, t.ptr, t.size);
	{
		int error = read_all(&cut, 1 << 30, 5000, NULL);
		if (error != XCH_EMALFORMED || !strstr(xch_error_last()->message, "truncated"))
			fail_msg("short entry: %d '%s'", error, xch_error_last()->message);
	}
	/* gzip complete, tar without its end-of-archive marker */
	xch_buf_clear(&t);
	tar_file(&t, "manifest.json", "{}");
	tar_file(&t, "records/r.json", "{\"complete\": true}");
	xch_buf_clear(&cut);
	gzip_append(&cut, t.ptr, t.size);
	{
		int error = read_all(&cut, 1 << 30, 5000, NULL);
		if (error != XCH_EMALFORMED || !strstr(xch_error_last()->message, "no end-of-archive marker"))
			fail_msg("no end marker: %d '%s'", error, xch_error_last()->message);
	}
	free_samples(s, n);
	xch_buf_dispose(&gz);
	xch_buf_dispose(&t);
	xch_buf_dispose(&cut);
}

static void test_trailing_data(void **state)
{
	xch_buf t = XCH_BUF_INIT, gz = XCH_BUF_INIT;

	/* zeros after the end marker (record padding) are fine, in the same or another member */
	tar_file(&t, "manifest.json", "{}");
	tar_end(&t);
	assert_int_equal(xch_buf_grow(&t, 8192), 0);
	memset(t.ptr + t.size, 0, 8192);
	t.size += 8192;
	gzip_append(&gz, t.ptr, t.size);
	gzip_append(&gz, t.ptr + t.size - 4096, 4096);
	assert_int_equal(read_all(&gz, 1 << 20, 777, NULL), 0);

	/* anything else is refused: a block of data, a hidden entry, a non-zero member */
	t.ptr[t.size - 100] = 'x';
	expect_raw(&t, XCH_EMALFORMED, "data after the end of the archive");
	t.size -= 8192;
	tar_file(&t, "records/hidden.json", "{}");
	expect_raw(&t, XCH_EMALFORMED, "data after the end of the archive");

	xch_buf_clear(&t);
	xch_buf_clear(&gz);
	tar_file(&t, "manifest.json", "{}");
	tar_end(&t);
	gzip_append(&gz, t.ptr, t.size);
	gzip_append(&gz, "hello", 5);
	assert_int_equal(read_all(&gz, 1 << 20, 777, NULL), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, "data after the end of the archive"));

	/* bytes after the last gzip member that are not gzip */
	xch_buf_clear(&gz);
	gzip_append(&gz, t.ptr, t.size);
	assert_int_equal(xch_buf_put(&gz, "\0\0\0\0", 4), 0);
	assert_int_equal(read_all(&gz, 1 << 20, 777, NULL), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, "corrupt compressed data"));
	xch_buf_dispose(&t);
	xch_buf_dispose(&gz);
}

static void test_refuses_corrupt_and_foreign_input(void **state)
{
	xch_buf t = XCH_BUF_INIT, gz = XCH_BUF_INIT;
	char text[4000];

	tar_file(&t, "manifest.json", "{\"a\": \"some text to compress, some text to compress\"}");
	tar_end(&t);
	gzip_append(&gz, t.ptr, t.size);
	/* a flipped bit in the deflate data or in the CRC */
	for (size_t at = 12; at < gz.size; at += gz.size / 7) {
		gz.ptr[at] ^= 0x10;
		assert_int_equal(read_all(&gz, 1 << 20, 777, NULL), XCH_EMALFORMED);
		gz.ptr[at] ^= 0x10;
	}
	gz.ptr[gz.size - 6] ^= 1;
	assert_int_equal(read_all(&gz, 1 << 20, 777, NULL), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, "corrupt compressed data"));
	gz.ptr[gz.size - 6] ^= 1;
	assert_int_equal(read_all(&gz, 1 << 20, 777, NULL), 0);

	/* not gzip; gzip of something that is not tar; nothing at all */
	assert_int_equal(read_all(&t, 1 << 20, 777, NULL), XCH_EMALFORMED);
	xch_buf_clear(&gz);
	memset(text, 'a', sizeof(text));
	gzip_append(&gz, text, sizeof(text));
	assert_int_equal(read_all(&gz, 1 << 20, 777, NULL), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, "malformed payload archive"));
	xch_buf_clear(&gz);
	assert_int_equal(read_all(&gz, 1 << 20, 777, NULL), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, "empty"));
	xch_buf_dispose(&t);
	xch_buf_dispose(&gz);
}

static void test_read_callback_errors_pass_through(void **state)
{
	xch_buf gz = XCH_BUF_INIT;
	size_t n;
	struct sample *s = make_samples(&n);
	struct src in;
	xch_payload_reader *r;
	const char *path;
	uint64_t size;
	unsigned char buf[4096];
	int error = 0;

	write_samples(&gz, s, n, 2);
	in = (struct src){ (const unsigned char *)gz.ptr, gz.size, 0, 1000, gz.size / 2 };
	assert_int_equal(xch_payload_reader_new(&r, src_read, &in, 1 << 30), 0);
	while (error == 0) {
		ssize_t k;
		error = xch_payload_next(r, &path, &size);
		while (error == 0 && (k = xch_payload_read_data(r, buf, sizeof(buf))) != 0)
			if (k < 0)
				error = (int)k;
	}
	assert_int_equal(error, XCH_ECRYPTO);
	assert_non_null(strstr(xch_error_last()->message, "decryption failed (test)"));
	xch_payload_reader_free(r);
	free_samples(s, n);
	xch_buf_dispose(&gz);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_stores_incompressible_entries),
		cmocka_unit_test(test_skipping_unread_data),
		cmocka_unit_test(test_deterministic_and_stock_tar),
		cmocka_unit_test(test_reads_stock_tar_czf),
		cmocka_unit_test(test_writer_refuses_misuse),
		cmocka_unit_test(test_path_check),
		cmocka_unit_test(test_refuses_bad_names),
		cmocka_unit_test(test_refuses_non_regular_entries),
		cmocka_unit_test(test_refuses_duplicates_and_case_collisions),
		cmocka_unit_test(test_refuses_too_many_entries),
		cmocka_unit_test(test_refuses_decompression_bombs),
		cmocka_unit_test(test_refuses_endless_empty_input),
		cmocka_unit_test(test_refuses_truncation),
		cmocka_unit_test(test_trailing_data),
		cmocka_unit_test(test_refuses_corrupt_and_foreign_input),
		cmocka_unit_test(test_read_callback_errors_pass_through),
	};
	return cmocka_run_group_tests_name("payload", tests, NULL, NULL);
}

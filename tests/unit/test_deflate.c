/*
 * Parallel gzip: round trips, stored stretches, member layout, errors,
 * and gzip(1) accepting the output.
 */
#include "common.h"
#include "deflate.h"

#include <setjmp.h>
#include <cmocka.h>
#include <unistd.h>
#include <zlib.h>

/* A sink collecting everything in an xch_buf; fails after fail_after calls if set. */
struct collect {
	xch_buf out;
	int calls;
	int fail_after;
};

static int collect_sink(void *payload, const void *data, size_t len)
{
	struct collect *c = payload;
	if (c->fail_after && c->calls >= c->fail_after)
		return xch_error_set(XCH_EOS, "disk full (test)");
	c->calls++;
	return xch_buf_put(&c->out, data, len);
}

/* Inflate a multi-member gzip stream; counts members. Fails the test on any error. */
static void gunzip(const void *gz, size_t len, xch_buf *out, int *members)
{
	z_stream zs;
	unsigned char buf[65536];
	int ret = Z_OK;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (unsigned char *)(uintptr_t)gz;
	zs.avail_in = (uInt)len;
	*members = 0;
	while (zs.avail_in > 0) {
		zs.next_out = buf;
		zs.avail_out = sizeof(buf);
		ret = inflate(&zs, Z_NO_FLUSH);
		assert_true(ret == Z_OK || ret == Z_STREAM_END);
		assert_int_equal(xch_buf_put(out, buf, sizeof(buf) - zs.avail_out), 0);
		if (ret == Z_STREAM_END) {
			(*members)++;
			if (zs.avail_in)
				assert_int_equal(inflateReset(&zs), Z_OK);
		}
	}
	assert_int_equal(ret, Z_STREAM_END);
	inflateEnd(&zs);
}

/* Text-like, compressible, deterministic. */
static void fill_text(unsigned char *p, size_t len, unsigned seed)
{
	static const char *words[] = { "finding", "\"severity\": ", "mitigated", "site",
		"assessment", "{\"id\": ", "water", "energy", "\n", "TLP:AMBER", ", " };
	size_t o = 0;
	while (o < len) {
		const char *w;
		seed = seed * 1103515245u + 12345u;
		w = words[(seed >> 16) % XCH_ARRAY_SIZE(words)];
		for (size_t i = 0; w[i] && o < len; i++)
			p[o++] = (unsigned char)w[i];
	}
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

static void roundtrip(const unsigned char *data, size_t len, int level, int threads,
	size_t piece, bool store_only, int *members_out, size_t *out_len)
{
	struct collect c = { XCH_BUF_INIT, 0, 0 };
	xch_buf plain = XCH_BUF_INIT;
	xch_deflate *d;
	int members;

	assert_int_equal(xch_deflate_new(&d, level, threads, collect_sink, &c), 0);
	for (size_t off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;
		assert_int_equal(xch_deflate_write(d, data + off, n, store_only), 0);
	}
	assert_int_equal(xch_deflate_finish(d), 0);
	assert_int_equal(xch_deflate_bytes_in(d), len);
	assert_int_equal(xch_deflate_bytes_out(d), c.out.size);
	xch_deflate_free(d);

	gunzip(c.out.ptr, c.out.size, &plain, &members);
	assert_int_equal(plain.size, len);
	if (len)
		assert_memory_equal(plain.ptr, data, len);
	if (members_out)
		*members_out = members;
	if (out_len)
		*out_len = c.out.size;
	xch_buf_dispose(&plain);
	xch_buf_dispose(&c.out);
}

static void test_roundtrip_sizes_and_threads(void **state)
{
	size_t sizes[] = { 1, 511, 4096, XCH_DEFLATE_CHUNK - 1, XCH_DEFLATE_CHUNK,
		XCH_DEFLATE_CHUNK + 1, 3 * XCH_DEFLATE_CHUNK + 12345 };
	size_t max = sizes[XCH_ARRAY_SIZE(sizes) - 1];
	unsigned char *data = malloc(max);
	assert_non_null(data);
	fill_text(data, max, 7);

	for (size_t i = 0; i < XCH_ARRAY_SIZE(sizes); i++) {
		for (int threads = 1; threads <= 3; threads++) {
			int members;
			size_t out_len;
			roundtrip(data, sizes[i], -1, threads, 65536 + 17, false, &members, &out_len);
			assert_int_equal(members,
				(int)((sizes[i] + XCH_DEFLATE_CHUNK - 1) / XCH_DEFLATE_CHUNK));
			assert_true(out_len < sizes[i] / 2 + 64); /* it did compress */
		}
	}
	free(data);
}

static void test_tiny_writes(void **state)
{
	size_t len = 300000;
	unsigned char *data = malloc(len);
	assert_non_null(data);
	fill_text(data, len, 3);
	roundtrip(data, len, 9, 2, 7, false, NULL, NULL);
	roundtrip(data, len, 1, 2, 1, false, NULL, NULL);
	free(data);
}

static void test_empty_input_is_valid_gzip(void **state)
{
	int members;
	size_t out_len;
	roundtrip((const unsigned char *)"", 0, -1, 2, 1, false, &members, &out_len);
	assert_int_equal(members, 1);
	assert_int_equal(out_len, 20);
}

static void test_store_only_is_stored(void **state)
{
	size_t len = 2 * XCH_DEFLATE_CHUNK + 1000;
	unsigned char *data = malloc(len);
	size_t out_len;
	assert_non_null(data);
	fill_text(data, len, 11); /* compressible, but stored on request */
	roundtrip(data, len, 6, 2, 100000, true, NULL, &out_len);
	/* stored blocks: 5 bytes per 64 KiB and 18 per member, nothing saved */
	assert_true(out_len >= len);
	assert_true(out_len < len + len / 1000 + 3 * 64);
	roundtrip(data, len, 0, 1, 100000, false, NULL, &out_len);
	assert_true(out_len >= len && out_len < len + len / 1000 + 3 * 64);
	free(data);
}

static void test_mixed_store_and_deflate(void **state)
{
	/* short alternating stretches: many stored/deflated switches in one chunk */
	size_t len = 3 * XCH_DEFLATE_CHUNK;
	unsigned char *data = malloc(len);
	struct collect c = { XCH_BUF_INIT, 0, 0 };
	xch_buf plain = XCH_BUF_INIT;
	xch_deflate *d;
	size_t off = 0, piece = 1000;
	int members, i = 0;

	assert_non_null(data);
	fill_text(data, len, 5);
	assert_int_equal(xch_deflate_new(&d, 6, 2, collect_sink, &c), 0);
	while (off < len) {
		size_t n = len - off < piece ? len - off : piece;
		if (i % 2)
			fill_random(data + off, n, (uint64_t)off + 1);
		assert_int_equal(xch_deflate_write(d, data + off, n, i % 2 == 1), 0);
		off += n;
		i++;
		piece = piece == 1000 ? 3000 : 1000;
	}
	assert_int_equal(xch_deflate_finish(d), 0);
	xch_deflate_free(d);
	gunzip(c.out.ptr, c.out.size, &plain, &members);
	assert_int_equal(plain.size, len);
	assert_memory_equal(plain.ptr, data, len);
	assert_true(members >= 3);
	xch_buf_dispose(&plain);
	xch_buf_dispose(&c.out);
	free(data);
}

static void test_output_is_deterministic(void **state)
{
	size_t len = 2 * XCH_DEFLATE_CHUNK + 5;
	unsigned char *data = malloc(len);
	struct collect a = { XCH_BUF_INIT, 0, 0 }, b = { XCH_BUF_INIT, 0, 0 };
	xch_deflate *d;

	assert_non_null(data);
	fill_text(data, len, 9);
	assert_int_equal(xch_deflate_new(&d, 6, 1, collect_sink, &a), 0);
	assert_int_equal(xch_deflate_write(d, data, len, false), 0);
	assert_int_equal(xch_deflate_finish(d), 0);
	xch_deflate_free(d);
	assert_int_equal(xch_deflate_new(&d, 6, 3, collect_sink, &b), 0);
	for (size_t off = 0; off < len; off += 4093)
		assert_int_equal(xch_deflate_write(d, data + off, len - off < 4093 ? len - off : 4093, false), 0);
	assert_int_equal(xch_deflate_finish(d), 0);
	xch_deflate_free(d);
	assert_int_equal(a.out.size, b.out.size);
	assert_memory_equal(a.out.ptr, b.out.ptr, a.out.size);
	xch_buf_dispose(&a.out);
	xch_buf_dispose(&b.out);
	free(data);
}

static void test_sink_error_is_sticky(void **state)
{
	size_t len = 6 * XCH_DEFLATE_CHUNK;
	unsigned char *data = malloc(len);
	struct collect c = { XCH_BUF_INIT, 0, 2 };
	xch_deflate *d;
	int error = 0;

	assert_non_null(data);
	fill_text(data, len, 1);
	assert_int_equal(xch_deflate_new(&d, 1, 2, collect_sink, &c), 0);
	for (size_t off = 0; off < len && !error; off += 65536)
		error = xch_deflate_write(d, data + off, 65536, false);
	if (!error)
		error = xch_deflate_finish(d);
	assert_int_equal(error, XCH_EOS);
	assert_non_null(strstr(xch_error_last()->message, "disk full"));
	assert_int_equal(xch_deflate_write(d, data, 10, false), XCH_EOS);
	assert_int_equal(xch_deflate_finish(d), XCH_EOS);
	xch_deflate_free(d);
	xch_buf_dispose(&c.out);
	free(data);
}

static void test_free_without_finish(void **state)
{
	size_t len = 5 * XCH_DEFLATE_CHUNK / 2;
	unsigned char *data = malloc(len);
	struct collect c = { XCH_BUF_INIT, 0, 0 };
	xch_deflate *d;

	assert_non_null(data);
	fill_text(data, len, 2);
	assert_int_equal(xch_deflate_new(&d, 6, 2, collect_sink, &c), 0);
	assert_int_equal(xch_deflate_write(d, data, len, false), 0);
	xch_deflate_free(d); /* joins the workers, frees everything */
	xch_deflate_free(NULL);
	xch_buf_dispose(&c.out);
	free(data);
}

static void test_arguments(void **state)
{
	struct collect c = { XCH_BUF_INIT, 0, 0 };
	xch_deflate *d;
	assert_int_equal(xch_deflate_new(&d, 10, 1, collect_sink, &c), XCH_EINVALID);
	assert_int_equal(xch_deflate_new(&d, 6, 1, NULL, &c), XCH_EINVALID);
	assert_int_equal(xch_deflate_new(&d, -1, 0, collect_sink, &c), 0);
	assert_true(xch_deflate_threads(d) >= 1);
	assert_true(xch_deflate_threads(d) <= XCH_DEFLATE_MAX_THREADS);
	assert_int_equal(xch_deflate_finish(d), 0);
	assert_int_equal(xch_deflate_write(d, "x", 1, false), XCH_EINVALID);
	xch_deflate_free(d);
	xch_buf_dispose(&c.out);
}

static void test_incompressible_heuristic(void **state)
{
	size_t len = 200000;
	unsigned char *data = malloc(len);
	z_stream zs;
	unsigned char *gz;
	uLongf gzlen;

	assert_non_null(data);
	fill_random(data, len, 42);
	assert_true(xch_deflate_looks_incompressible(data, len));
	fill_text(data, len, 42);
	assert_false(xch_deflate_looks_incompressible(data, len));
	memset(data, 0, len);
	assert_false(xch_deflate_looks_incompressible(data, len));
	assert_false(xch_deflate_looks_incompressible(data, 100)); /* too small to say */
	assert_false(xch_deflate_looks_incompressible(NULL, 0));

	/* already-deflated data looks incompressible */
	fill_text(data, len, 4);
	gzlen = compressBound(len);
	gz = malloc(gzlen);
	assert_non_null(gz);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(compress2(gz, &gzlen, data, len, 9), Z_OK);
	assert_true(gzlen > 1024);
	assert_true(xch_deflate_looks_incompressible(gz, gzlen));
	free(gz);
	free(data);
}

static void test_stock_gzip_reads_it(void **state)
{
	char dir[] = "/tmp/xchXXXXXX", path[64], cmd[256];
	size_t len = 2 * XCH_DEFLATE_CHUNK + 333;
	unsigned char *data = malloc(len);
	struct collect c = { XCH_BUF_INIT, 0, 0 };
	xch_deflate *d;
	FILE *f;

	assert_non_null(data);
	fill_text(data, len, 8);
	fill_random(data + 100000, 300000, 9);
	assert_int_equal(xch_deflate_new(&d, 6, 2, collect_sink, &c), 0);
	assert_int_equal(xch_deflate_write(d, data, 100000, false), 0);
	assert_int_equal(xch_deflate_write(d, data + 100000, 300000, true), 0);
	assert_int_equal(xch_deflate_write(d, data + 400000, len - 400000, false), 0);
	assert_int_equal(xch_deflate_finish(d), 0);
	xch_deflate_free(d);

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.gz", dir);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(c.out.ptr, 1, c.out.size, f), c.out.size);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "gzip -t '%s' && test \"$(gzip -dc '%s' | wc -c)\" = %zu",
		path, path, len);
	assert_int_equal(system(cmd), 0);
	unlink(path);
	rmdir(dir);
	xch_buf_dispose(&c.out);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_sizes_and_threads),
		cmocka_unit_test(test_tiny_writes),
		cmocka_unit_test(test_empty_input_is_valid_gzip),
		cmocka_unit_test(test_store_only_is_stored),
		cmocka_unit_test(test_mixed_store_and_deflate),
		cmocka_unit_test(test_output_is_deterministic),
		cmocka_unit_test(test_sink_error_is_sticky),
		cmocka_unit_test(test_free_without_finish),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_incompressible_heuristic),
		cmocka_unit_test(test_stock_gzip_reads_it),
	};
	return cmocka_run_group_tests_name("deflate", tests, NULL, NULL);
}

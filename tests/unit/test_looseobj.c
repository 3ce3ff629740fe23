/*
 * Streaming reads of loose objects: blobs written by libgit2 come back
 * byte for byte, whatever the read sizes; damaged or forged object files
 * fail with an error, never a crash and never a quiet short read.
 */
#include "common.h"
#include "looseobj.h"
#include "util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <git2.h>

#include <setjmp.h>
#include <cmocka.h>

typedef struct {
	char dir[32];      /* the scratch directory */
	char bad[64];      /* a gitdir for hand-made object files */
	git_repository *repo;
	const char *gitdir;
} fixture;

static const size_t sizes[] = { 0, 1, 65535, 65536, 3 * 1024 * 1024 + 7 };
#define BIG (3 * 1024 * 1024 + 7)

/* A fixed object id, for hand-made files. */
static const char *const forged_hex = "0123456789abcdef0123456789abcdef01234567";

/* Deterministic bytes: half random-looking, half text, so zlib has work of both kinds. */
static unsigned char *content(size_t len, unsigned seed)
{
	unsigned char *p = malloc(len ? len : 1);
	uint32_t x = 2463534242u ^ seed;
	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (i / 4096) % 2 ? (unsigned char)x : (unsigned char)("lorem ipsum "[i % 12]);
	}
	return p;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	git_repository_init_options opts;
	char repo[64];

	assert_non_null(f);
	assert_int_equal(git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/xchloXXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_true(git_libgit2_init() > 0);
	/* hermetic: no global, XDG or system configuration */
	assert_int_equal(git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, ""), 0);
	assert_int_equal(git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, ""), 0);
	assert_int_equal(git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, ""), 0);
	assert_int_equal(git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_PROGRAMDATA, ""), 0);
	snprintf(repo, sizeof(repo), "%s/repo", f->dir);
	opts.flags = GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_BARE;
	assert_int_equal(git_repository_init_ext(&f->repo, repo, &opts), 0);
	f->gitdir = git_repository_path(f->repo);
	snprintf(f->bad, sizeof(f->bad), "%s/bad", f->dir);
	assert_int_equal(mkdir(f->bad, 0700), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	git_repository_free(f->repo);
	git_libgit2_shutdown();
	xch_rmtree(f->dir);
	free(f);
	return 0;
}

static void object_path(char *out, size_t outlen, const char *gitdir, const char *hex)
{
	int n = snprintf(out, outlen, "%s/objects/%.2s/%s", gitdir, hex, hex + 2);
	assert_true(n > 0 && (size_t)n < outlen);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	xch_buf b = XCH_BUF_INIT;
	assert_int_equal(xch_file_read(&b, path, 64 * 1024 * 1024, 0), 0);
	*len = b.size;
	return (unsigned char *)xch_buf_detach(&b);
}

/* Put data in the bad gitdir as the file of object hex. */
static void plant(fixture *f, const char *hex, const void *data, size_t len)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/objects", f->bad);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/objects/%.2s", f->bad, hex);
	mkdir(path, 0700);
	object_path(path, sizeof(path), f->bad, hex);
	unlink(path);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	assert_int_equal(xch_write_all(fd, data, len), 0);
	assert_int_equal(close(fd), 0);
}

/* zlib-compress (with the zlib wrapper, as git does) raw object bytes and plant them. */
static void plant_deflated(fixture *f, const char *hex, const void *raw, size_t rawlen)
{
	uLongf n = compressBound(rawlen);
	unsigned char *z = malloc(n);
	assert_non_null(z);
	assert_int_equal(compress2(z, &n, raw, rawlen, 6), Z_OK);
	plant(f, hex, z, n);
	free(z);
}

/*
 * Read object oid under gitdir to the end in odd-sized reads; the content
 * into *out (if out). 0, or the first error: from open, or from a read.
 * After a read error, a second read must give the same error.
 */
static int read_all(const char *gitdir, const git_oid *oid, unsigned char **out, size_t *outlen, uint64_t *size)
{
	static const size_t steps[] = { 1, 7, 4093, 65537, 100003, 3 };
	xch_loose_reader *r = NULL;
	unsigned char *buf = NULL, tmp[100003];
	size_t len = 0, cap = 0, i = 0;
	ssize_t n;
	int error;

	if ((error = xch_loose_open(&r, gitdir, oid, size)) < 0) {
		assert_null(r);
		assert_string_not_equal(xch_error_last()->message, "no error");
		return error;
	}
	while ((n = xch_loose_read(r, tmp, steps[i++ % XCH_ARRAY_SIZE(steps)])) > 0) {
		if (len + (size_t)n > cap) {
			cap = (len + (size_t)n) * 2;
			assert_non_null(buf = realloc(buf, cap));
		}
		memcpy(buf + len, tmp, (size_t)n);
		len += (size_t)n;
	}
	if (n < 0) {
		int again = (int)xch_loose_read(r, tmp, sizeof(tmp));
		assert_int_equal(again, (int)n);
		assert_non_null(strstr(xch_error_last()->message, "corrupt object"));
		free(buf);
		xch_loose_free(r);
		return (int)n;
	}
	assert_int_equal(xch_loose_read(r, tmp, 5), 0); /* the end stays the end */
	xch_loose_free(r);
	if (out) {
		*out = buf;
		*outlen = len;
	} else {
		free(buf);
	}
	return 0;
}

static void test_reads_blobs_back(void **state)
{
	fixture *f = *state;

	for (size_t i = 0; i < XCH_ARRAY_SIZE(sizes); i++) {
		unsigned char *want = content(sizes[i], (unsigned)i), *got = NULL;
		size_t gotlen = 0;
		uint64_t size = 12345;
		char hex[GIT_OID_HEXSZ + 1], path[256];
		struct stat st;
		git_oid oid;

		assert_int_equal(git_blob_create_from_buffer(&oid, f->repo, want, sizes[i]), 0);
		git_oid_tostr(hex, sizeof(hex), &oid);
		object_path(path, sizeof(path), f->gitdir, hex);
		assert_int_equal(stat(path, &st), 0); /* it is loose */
		assert_int_equal(read_all(f->gitdir, &oid, &got, &gotlen, &size), 0);
		assert_int_equal(size, sizes[i]);
		assert_int_equal(gotlen, sizes[i]);
		if (sizes[i])
			assert_memory_equal(got, want, sizes[i]);
		free(got);
		free(want);
	}
}

static void test_reads_in_one_big_read(void **state)
{
	fixture *f = *state;
	unsigned char *want = content(BIG, 99), *buf = malloc(BIG + 10);
	xch_loose_reader *r;
	size_t len = 0;
	ssize_t n;
	git_oid oid;

	assert_non_null(buf);
	assert_int_equal(git_blob_create_from_buffer(&oid, f->repo, want, BIG), 0);
	assert_int_equal(xch_loose_open(&r, f->gitdir, &oid, NULL), 0);
	while ((n = xch_loose_read(r, buf + len, BIG + 10 - len)) > 0)
		len += (size_t)n;
	assert_int_equal(n, 0);
	assert_int_equal(len, BIG);
	assert_memory_equal(buf, want, BIG);
	xch_loose_free(r);
	free(buf);
	free(want);
}

static void test_missing_is_notfound(void **state)
{
	fixture *f = *state;
	char nowhere[64];
	git_oid oid;

	assert_int_equal(git_oid_fromstr(&oid, "ffffffffffffffffffffffffffffffffffffffff"), 0);
	assert_int_equal(read_all(f->gitdir, &oid, NULL, NULL, NULL), XCH_ENOTFOUND);
	snprintf(nowhere, sizeof(nowhere), "%s/nowhere", f->dir);
	assert_int_equal(read_all(nowhere, &oid, NULL, NULL, NULL), XCH_ENOTFOUND);
	xch_loose_free(NULL);
}

/* The file of a blob of size sizes[which] written to the repository, and its id. */
static unsigned char *blob_file(fixture *f, size_t which, size_t *len, char hex[GIT_OID_HEXSZ + 1])
{
	unsigned char *data = content(sizes[which], (unsigned)which);
	char path[256];
	git_oid oid;

	assert_int_equal(git_blob_create_from_buffer(&oid, f->repo, data, sizes[which]), 0);
	free(data);
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, &oid);
	object_path(path, sizeof(path), f->gitdir, hex);
	return slurp(path, len);
}

static int read_planted(fixture *f, const char *hex)
{
	git_oid oid;
	assert_int_equal(git_oid_fromstr(&oid, hex), 0);
	return read_all(f->bad, &oid, NULL, NULL, NULL);
}

static void test_flipped_byte_fails(void **state)
{
	fixture *f = *state;
	char hex[GIT_OID_HEXSZ + 1];
	size_t len;

	for (size_t which = 2; which < XCH_ARRAY_SIZE(sizes); which++) {
		unsigned char *file = blob_file(f, which, &len, hex);
		/* the zlib header, the object header, the content's middle, the adler32 */
		size_t at[] = { 0, 1, 3, 5, len / 2, len / 3, len - 4, len - 1 };

		plant(f, hex, file, len);
		assert_int_equal(read_planted(f, hex), 0); /* the copy is good */
		for (size_t i = 0; i < XCH_ARRAY_SIZE(at); i++) {
			file[at[i]] ^= 0x20;
			plant(f, hex, file, len);
			assert_int_equal(read_planted(f, hex), XCH_EMALFORMED);
			file[at[i]] ^= 0x20;
		}
		free(file);
	}
}

static void test_truncated_file_fails(void **state)
{
	fixture *f = *state;
	char hex[GIT_OID_HEXSZ + 1];
	size_t len;

	for (size_t which = 1; which < XCH_ARRAY_SIZE(sizes); which++) {
		unsigned char *file = blob_file(f, which, &len, hex);
		size_t cut[] = { 0, 1, 2, 10, len / 2, len - 65536 < len ? len - 65536 : 3, len - 5, len - 1 };

		for (size_t i = 0; i < XCH_ARRAY_SIZE(cut); i++) {
			if (cut[i] >= len)
				continue;
			plant(f, hex, file, cut[i]);
			assert_int_equal(read_planted(f, hex), XCH_EMALFORMED);
		}
		free(file);
	}
}

static void test_garbage_after_stream_fails(void **state)
{
	fixture *f = *state;
	char hex[GIT_OID_HEXSZ + 1];
	size_t len;
	unsigned char *file = blob_file(f, 3, &len, hex), *more = malloc(len + 1);

	assert_non_null(more);
	memcpy(more, file, len);
	more[len] = 0;
	plant(f, hex, more, len + 1);
	assert_int_equal(read_planted(f, hex), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, "garbage"));
	free(more);
	free(file);
}

static void test_wrong_size_in_header_fails(void **state)
{
	fixture *f = *state;
	static const char longer[] = "blob 5\0abcd", shorter[] = "blob 3\0abcd";
	unsigned char *big = calloc(1, 1024 * 1024 + 7);

	plant_deflated(f, forged_hex, longer, sizeof(longer) - 1);
	assert_int_equal(read_planted(f, forged_hex), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, forged_hex));
	plant_deflated(f, forged_hex, shorter, sizeof(shorter) - 1);
	assert_int_equal(read_planted(f, forged_hex), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, "longer"));
	/* a small header on a large stream: stopped as soon as it runs over */
	assert_non_null(big);
	memcpy(big, "blob 1", 7);
	plant_deflated(f, forged_hex, big, 1024 * 1024 + 7);
	assert_int_equal(read_planted(f, forged_hex), XCH_EMALFORMED);
	free(big);
}

static void test_bad_headers_fail(void **state)
{
	fixture *f = *state;
	static const struct { const char *raw; size_t len; } bad[] = {
#define H(s) { s, sizeof(s) - 1 }
		H("tree 4\0abcd"),
		H("commit 4\0abcd"),
		H("tag 4\0abcd"),
		H("blob4\0abcd"),
		H("blob \0"),
		H("blob 04\0abcd"),
		H("blob 00\0"),
		H("blob +4\0abcd"),
		H("blob -4\0abcd"),
		H("blob 4 \0abcd"),
		H(" blob 4\0abcd"),
		H("Blob 4\0abcd"),
		H("blob 0x4\0abcd"),
		H("blob 18446744073709551616\0abcd"),     /* 2^64 */
		H("blob 99999999999999999999999\0abcd"),
		H("blob 4"),                               /* no NUL */
		H(""),
		H("blob 0000000000000000000000000000000000000000000000000000000000000000000004\0abcd"),
#undef H
	};
	for (size_t i = 0; i < XCH_ARRAY_SIZE(bad); i++) {
		plant_deflated(f, forged_hex, bad[i].raw, bad[i].len);
		assert_int_equal(read_planted(f, forged_hex), XCH_EMALFORMED);
	}
	plant_deflated(f, forged_hex, "tree 4\0abcd", 11);
	read_planted(f, forged_hex);
	assert_non_null(strstr(xch_error_last()->message, "a tree, not a blob"));
	/* the largest size parses; then the content is short */
	plant_deflated(f, forged_hex, "blob 18446744073709551615\0abcd", 30);
	assert_int_equal(read_planted(f, forged_hex), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, "header says 18446744073709551615"));
}

static void test_other_content_fails(void **state)
{
	fixture *f = *state;
	char hex_a[GIT_OID_HEXSZ + 1], hex_b[GIT_OID_HEXSZ + 1], path[256];
	unsigned char *file;
	size_t len;
	git_oid a, b;

	/* two blobs of one size: a's file, valid in every way, stands as b */
	assert_int_equal(git_blob_create_from_buffer(&a, f->repo, "a", 1), 0);
	assert_int_equal(git_blob_create_from_buffer(&b, f->repo, "b", 1), 0);
	git_oid_tostr(hex_a, sizeof(hex_a), &a);
	git_oid_tostr(hex_b, sizeof(hex_b), &b);
	object_path(path, sizeof(path), f->gitdir, hex_a);
	file = slurp(path, &len);
	plant(f, hex_b, file, len);
	assert_int_equal(read_planted(f, hex_b), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, hex_b));
	assert_non_null(strstr(xch_error_last()->message, hex_a)); /* "hashes to a" */
	free(file);

	/* the same for a large one, found only at the very end */
	file = blob_file(f, 4, &len, hex_a);
	plant(f, forged_hex, file, len);
	assert_int_equal(read_planted(f, forged_hex), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, "hashes to"));
	free(file);
}

static void test_raw_deflate_fails(void **state)
{
	fixture *f = *state;
	static const char raw[] = "blob 4\0abcd";
	unsigned char out[128];
	z_stream z;

	/* a raw deflate stream, no zlib wrapper: git never writes one */
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)raw;
	z.avail_in = sizeof(raw) - 1;
	z.next_out = out;
	z.avail_out = sizeof(out);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	plant(f, forged_hex, out, sizeof(out) - z.avail_out);
	deflateEnd(&z);
	assert_int_equal(read_planted(f, forged_hex), XCH_EMALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_blobs_back),
		cmocka_unit_test(test_reads_in_one_big_read),
		cmocka_unit_test(test_missing_is_notfound),
		cmocka_unit_test(test_flipped_byte_fails),
		cmocka_unit_test(test_truncated_file_fails),
		cmocka_unit_test(test_garbage_after_stream_fails),
		cmocka_unit_test(test_wrong_size_in_header_fails),
		cmocka_unit_test(test_bad_headers_fail),
		cmocka_unit_test(test_other_content_fails),
		cmocka_unit_test(test_raw_deflate_fails),
	};
	return cmocka_run_group_tests_name("looseobj", tests, setup, teardown);
}

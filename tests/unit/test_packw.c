/*
 * The pack writer: packs that libgit2 reads back object by object and
 * that git verify-pack and git fsck accept; nothing left when not
 * committed.
 */
#include "common.h"
#include "packw.h"

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

typedef struct {
	char dir[64];
	char gitdir[128];
	git_repository *repo;
	git_odb *odb;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/xchpwXXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->gitdir, sizeof(f->gitdir), "%s/.git", f->dir);
	assert_int_equal(git_repository_init(&f->repo, f->dir, 0), 0);
	assert_int_equal(git_repository_odb(&f->odb, f->repo), 0);
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	fixture *f = *state;
	git_odb_free(f->odb);
	git_repository_free(f->repo);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Files in objects/pack, by suffix (NULL: all). */
static int count_pack_files(const fixture *f, const char *suffix)
{
	char path[256];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/objects/pack", f->gitdir);
	if (!(d = opendir(path)))
		return 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name), k = suffix ? strlen(suffix) : 0;
		if (e->d_name[0] == '.')
			continue;
		if (!suffix || (l > k && !strcmp(e->d_name + l - k, suffix)))
			n++;
	}
	closedir(d);
	return n;
}

static void loose_path(char *out, size_t len, const fixture *f, const git_oid *oid)
{
	char hex[GIT_OID_HEXSZ + 1];
	git_oid_tostr(hex, sizeof(hex), oid);
	snprintf(out, len, "%s/objects/%.2s/%s", f->gitdir, hex, hex + 2);
}

static bool is_loose(const fixture *f, const git_oid *oid)
{
	char path[256];
	loose_path(path, sizeof(path), f, oid);
	return access(path, F_OK) == 0;
}

static size_t loose_size(const fixture *f, const git_oid *oid)
{
	char path[256];
	struct stat st;
	loose_path(path, sizeof(path), f, oid);
	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* Temporary objects left in objects/ */
static int count_tmp_objects(const fixture *f)
{
	char path[256];
	struct dirent *e;
	DIR *d;
	int n = 0;
	snprintf(path, sizeof(path), "%s/objects", f->gitdir);
	assert_non_null(d = opendir(path));
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, "tmp_", 4);
	closedir(d);
	return n;
}

static int git_ok(const fixture *f, const char *cmd)
{
	char line[512];
	snprintf(line, sizeof(line), "git --git-dir='%s' %s >/dev/null 2>&1", f->gitdir, cmd);
	return system(line);
}

/* The blob oid holds exactly data. */
static void expect_blob(const fixture *f, const git_oid *oid, const void *data, size_t len)
{
	git_odb_object *obj = NULL;
	git_odb *odb = NULL;
	/* a fresh odb: it sees the packs there are now */
	assert_int_equal(git_repository_odb(&odb, f->repo), 0);
	assert_int_equal(git_odb_read(&obj, odb, oid), 0);
	assert_int_equal(git_odb_object_type(obj), GIT_OBJECT_BLOB);
	assert_int_equal(git_odb_object_size(obj), len);
	assert_memory_equal(git_odb_object_data(obj), data, len);
	git_odb_object_free(obj);
	git_odb_free(odb);
}

static unsigned char *random_bytes(size_t len, unsigned seed)
{
	unsigned char *p = malloc(len ? len : 1);
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)x;
	}
	return p;
}

static void test_small_and_streamed(void **state)
{
	fixture *f = *state;
	xch_packw *pw = NULL;
	git_oid oids[6], again, want;
	char text[200];
	size_t big = 3 * 1024 * 1024 + 7, compressible = 2 * 1024 * 1024;
	unsigned char *rnd = random_bytes(big, 1), *txt = malloc(compressible);

	assert_non_null(txt);
	for (size_t i = 0; i < compressible; i++)
		txt[i] = (unsigned char)"{\"id\": \"ADV-2026-0001\", \"title\": \"text\"}\n"[i % 41];
	assert_int_equal(xch_packw_new(&pw, f->gitdir, f->odb, 6), 0);
	assert_int_equal(xch_packw_add(pw, &oids[0], "", 0), 0);
	snprintf(text, sizeof(text), "{\"id\":\"ADV-1\"}\n");
	assert_int_equal(xch_packw_add(pw, &oids[1], text, strlen(text)), 0);
	assert_int_equal(git_odb_hash(&want, text, strlen(text), GIT_OBJECT_BLOB), 0);
	assert_true(git_oid_equal(&oids[1], &want));
	/* the same blob again is not written twice */
	assert_int_equal(xch_packw_add(pw, &again, text, strlen(text)), 0);
	assert_true(git_oid_equal(&again, &oids[1]));
	assert_int_equal(xch_packw_count(pw), 2);

	/* streamed in odd pieces: random (stored) and compressible (deflated) */
	assert_int_equal(xch_packw_begin(pw, big), 0);
	for (size_t at = 0, k = 1; at < big; at += k, k = k * 3 + 1) {
		if (k > big - at)
			k = big - at;
		assert_int_equal(xch_packw_write(pw, rnd + at, k), 0);
	}
	assert_int_equal(xch_packw_end(pw, &oids[2]), 0);
	assert_int_equal(git_odb_hash(&want, rnd, big, GIT_OBJECT_BLOB), 0);
	assert_true(git_oid_equal(&oids[2], &want));
	assert_int_equal(xch_packw_begin(pw, compressible), 0);
	assert_int_equal(xch_packw_write(pw, txt, compressible), 0);
	assert_int_equal(xch_packw_end(pw, &oids[3]), 0);
	/* a streamed blob that is there already is dropped */
	assert_int_equal(xch_packw_begin(pw, strlen(text)), 0);
	assert_int_equal(xch_packw_write(pw, text, strlen(text)), 0);
	assert_int_equal(xch_packw_end(pw, &again), 0);
	assert_true(git_oid_equal(&again, &oids[1]));
	/* an aborted blob leaves nothing */
	assert_int_equal(xch_packw_begin(pw, 100), 0);
	assert_int_equal(xch_packw_write(pw, rnd, 50), 0);
	xch_packw_abort(pw);
	/* too much or too little data is an error */
	assert_int_equal(xch_packw_begin(pw, 10), 0);
	assert_int_equal(xch_packw_write(pw, rnd, 11), XCH_EINVALID);
	xch_packw_abort(pw);
	assert_int_equal(xch_packw_begin(pw, 10), 0);
	assert_int_equal(xch_packw_write(pw, rnd, 9), 0);
	assert_int_equal(xch_packw_end(pw, &again), XCH_EINVALID);
	assert_int_equal(xch_packw_add(pw, &oids[4], "tail", 4), 0);
	assert_int_equal(xch_packw_count(pw), 5);

	/* nothing is visible before the commit; the large blobs go loose */
	assert_int_equal(count_pack_files(f, ".idx"), 0);
	assert_false(is_loose(f, &oids[2]));
	assert_int_equal(xch_packw_commit(pw), 0);
	xch_packw_free(pw);
	assert_int_equal(count_pack_files(f, ".pack"), 1);
	assert_int_equal(count_pack_files(f, ".idx"), 1);
	assert_int_equal(count_pack_files(f, NULL), 2);
	assert_true(is_loose(f, &oids[2]));
	assert_true(is_loose(f, &oids[3]));
	assert_false(is_loose(f, &oids[1]));
	assert_int_equal(count_tmp_objects(f), 0);

	expect_blob(f, &oids[0], "", 0);
	expect_blob(f, &oids[1], text, strlen(text));
	expect_blob(f, &oids[2], rnd, big);
	expect_blob(f, &oids[3], txt, compressible);
	expect_blob(f, &oids[4], "tail", 4);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "verify-pack %s/objects/pack/*.idx", f->gitdir);
		assert_int_equal(git_ok(f, cmd), 0);
	}
	assert_int_equal(git_ok(f, "fsck --strict"), 0);
	/* the random blob was stored (a little larger), the compressible one deflated */
	assert_true(loose_size(f, &oids[2]) > big);
	assert_true(loose_size(f, &oids[2]) < big + big / 100);
	assert_true(loose_size(f, &oids[3]) < compressible / 10);
	free(rnd);
	free(txt);
}

static void test_uncommitted_leaves_nothing(void **state)
{
	fixture *f = *state;
	xch_packw *pw = NULL;
	git_oid oid;

	unsigned char *big = random_bytes(2 << 20, 7);

	assert_int_equal(xch_packw_new(&pw, f->gitdir, f->odb, 1), 0);
	assert_int_equal(xch_packw_add(pw, &oid, "x", 1), 0);
	assert_int_equal(count_pack_files(f, NULL), 1); /* the temporary pack */
	/* a large blob finished, another one begun */
	assert_int_equal(xch_packw_begin(pw, 2 << 20), 0);
	assert_int_equal(xch_packw_write(pw, big, 2 << 20), 0);
	assert_int_equal(xch_packw_end(pw, &oid), 0);
	assert_int_equal(xch_packw_begin(pw, 2 << 20), 0);
	assert_int_equal(xch_packw_write(pw, big, 1 << 20), 0);
	assert_int_equal(count_tmp_objects(f), 2);
	xch_packw_free(pw);
	assert_int_equal(count_pack_files(f, NULL), 0);
	assert_int_equal(count_tmp_objects(f), 0);
	assert_false(is_loose(f, &oid));

	/* an aborted large blob leaves nothing either */
	assert_int_equal(xch_packw_new(&pw, f->gitdir, f->odb, 1), 0);
	assert_int_equal(xch_packw_begin(pw, 2 << 20), 0);
	assert_int_equal(xch_packw_write(pw, big, 1 << 20), 0);
	xch_packw_abort(pw);
	assert_int_equal(count_tmp_objects(f), 0);
	assert_int_equal(xch_packw_commit(pw), 0);
	xch_packw_free(pw);
	assert_int_equal(count_pack_files(f, NULL), 0);
	free(big);

	/* a pack of no objects is not written */
	assert_int_equal(xch_packw_new(&pw, f->gitdir, f->odb, 3), 0);
	assert_int_equal(xch_packw_commit(pw), 0);
	xch_packw_free(pw);
	assert_int_equal(count_pack_files(f, NULL), 0);
}

static void test_skips_what_the_store_has(void **state)
{
	fixture *f = *state;
	xch_packw *pw = NULL;
	git_oid loose, oid, other;

	assert_int_equal(git_blob_create_from_buffer(&loose, f->repo, "have", 4), 0);
	assert_int_equal(xch_packw_new(&pw, f->gitdir, f->odb, 2), 0);
	assert_int_equal(xch_packw_add(pw, &oid, "have", 4), 0);
	assert_true(git_oid_equal(&oid, &loose));
	assert_int_equal(xch_packw_count(pw), 0);
	assert_int_equal(xch_packw_add(pw, &other, "new", 3), 0);
	assert_int_equal(xch_packw_count(pw), 1);
	/* the count was wrong: the header is rewritten, the pack hashed again */
	assert_int_equal(xch_packw_commit(pw), 0);
	xch_packw_free(pw);
	expect_blob(f, &other, "new", 3);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "verify-pack %s/objects/pack/*.idx", f->gitdir);
		assert_int_equal(git_ok(f, cmd), 0);
	}
	assert_int_equal(git_ok(f, "fsck --strict"), 0);
}

static void test_many_objects(void **state)
{
	fixture *f = *state;
	xch_packw *pw = NULL;
	enum { N = 5000 };
	git_oid *oids = calloc(N, sizeof(*oids));
	char text[64];

	assert_non_null(oids);
	assert_int_equal(xch_packw_new(&pw, f->gitdir, f->odb, N), 0);
	for (int i = 0; i < N; i++) {
		int k = snprintf(text, sizeof(text), "{\"n\": %d}\n", i);
		assert_int_equal(xch_packw_add(pw, &oids[i], text, (size_t)k), 0);
	}
	assert_int_equal(xch_packw_count(pw), N);
	assert_int_equal(xch_packw_commit(pw), 0);
	xch_packw_free(pw);
	for (int i = 0; i < N; i += 97) {
		int k = snprintf(text, sizeof(text), "{\"n\": %d}\n", i);
		expect_blob(f, &oids[i], text, (size_t)k);
	}
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "verify-pack %s/objects/pack/*.idx", f->gitdir);
		assert_int_equal(git_ok(f, cmd), 0);
	}
	free(oids);
}

/* Documents printed on the worker, texts taken as they are: their ids come by ticket. */
static void test_documents_and_texts(void **state)
{
	fixture *f = *state;
	xch_packw *pw = NULL;
	const char *canon = "{\n  \"a\": [\n    1.5\n  ],\n  \"b\": 1\n}\n", *text = "{\n  \"c\": true\n}\n";
	size_t t1, t2, t3;
	git_oid have, o1, o2, o3, want;
	char *copy;

	assert_int_equal(git_blob_create_from_buffer(&have, f->repo, "have\n", 5), 0);
	assert_int_equal(xch_packw_new(&pw, f->gitdir, f->odb, 3), 0);
	assert_int_equal(xch_packw_add_json(pw, json_pack("{s:i,s:[f]}", "b", 1, "a", 1.5), 100, true, &t1), 0);
	assert_non_null(copy = strdup(text));
	assert_int_equal(xch_packw_add_text(pw, copy, strlen(text), false, &t2), 0);
	/* one the store has, looked for: not written again */
	assert_non_null(copy = strdup("have\n"));
	assert_int_equal(xch_packw_add_text(pw, copy, 5, true, &t3), 0);
	assert_int_equal(xch_packw_ticket_oid(pw, t1, &o1), 0);
	assert_int_equal(xch_packw_ticket_oid(pw, t2, &o2), 0);
	assert_int_equal(xch_packw_ticket_oid(pw, t3, &o3), 0);
	assert_true(git_oid_equal(&o3, &have));
	assert_int_equal(xch_packw_commit(pw), 0);
	xch_packw_free(pw);
	assert_int_equal(git_ok(f, "count-objects -v | grep -qx 'in-pack: 2'"), 0);
	assert_int_equal(git_odb_hash(&want, canon, strlen(canon), GIT_OBJECT_BLOB), 0);
	assert_true(git_oid_equal(&o1, &want));
	expect_blob(f, &o1, canon, strlen(canon));
	expect_blob(f, &o2, text, strlen(text));
	assert_int_equal(git_ok(f, "fsck --strict"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_small_and_streamed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uncommitted_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skips_what_the_store_has, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_documents_and_texts, setup, teardown),
	};
	int rc;
	git_libgit2_init();
	rc = cmocka_run_group_tests_name("packw", tests, NULL, NULL);
	git_libgit2_shutdown();
	return rc;
}

/*
 * Manifests with their entries apart: the text made an entry at a time is
 * byte for byte xch_json_canonical() of the whole manifest, and the split
 * reader gives back every entry and leaves "entries" empty.
 */
#include "common.h"
#include "manifest.h"

#include <setjmp.h>
#include <cmocka.h>

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void hex(char *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = "0123456789abcdef"[next_rand() % 16];
	out[n] = '\0';
}

/* A manifest as seal makes it, n entries of every kind, and the same with "entries" empty. */
static void make(json_t **whole, json_t **apart, xch_manifest_entries *l, size_t n)
{
	json_t *entries = json_array();
	*apart = json_pack("{s:s, s:s, s:{s:s}, s:[{s:s, s:s}], s:s, s:I, s:n, s:s, s:s, s:s, s:[], "
	                   "s:[{s:s, s:s}], s:{s:I, s:I, s:I}, s:{s:{s:I}}}",
	                   "format", "xch-bundle/1", "bundle_id", "0123456789abcdef0123456789abcdef",
	                   "sender", "fpr", "BF2350B93044B7D3F0B71AB5DC21E401DE46831E",
	                   "recipients", "fpr", "A8D5E1EB4E97555C0C836FCE7DC063BAF26F22B1", "name", "company",
	                   "channel", "24ec2b0688f1b6e731899ac41ee534ea", "sequence", (json_int_t)7, "base",
	                   "kind", "full", "created", "2026-11-25T17:11:21Z", "expires", "2026-12-25T17:11:21Z",
	                   "entries", "tombstones", "id", "ADV-1", "deleted", "2026-11-25T17:11:21Z",
	                   "counts", "records", (json_int_t)n, "attachments", (json_int_t)0, "tombstones", (json_int_t)1,
	                   "received", "entries", "nested", (json_int_t)1);
	assert_non_null(*apart);
	for (size_t i = 0; i < n; i++) {
		char path[96], sha[65], base[65];
		json_t *e;
		if (i % 5 == 4) {
			hex(sha, 64);
			snprintf(path, sizeof(path), "attachments/%s", sha);
		} else {
			snprintf(path, sizeof(path), "records/ASMT-%zu.%s_x-y.json", i, i % 2 ? "B" : "a");
		}
		hex(sha, 64);
		hex(base, 64);
		e = json_pack("{s:s, s:I, s:s}", "path", path, "size", (json_int_t)(next_rand() % 100000000), "sha256", sha);
		if (i % 3 == 0)
			json_object_set_new(e, "base", json_string(base));
		if (i % 4 == 1)
			json_object_set_new(e, "unchanged", json_true());
		assert_int_equal(xch_manifest_entries_add_json(l, e), 0);
		json_array_append_new(entries, e);
	}
	*whole = json_deep_copy(*apart);
	json_object_set_new(*whole, "entries", entries);
}

static void test_text_is_canonical(void **state)
{
	static const size_t counts[] = { 0, 1, 2, 3, 17, 500 };
	for (size_t k = 0; k < sizeof(counts) / sizeof(*counts); k++) {
		xch_manifest_entries l = { 0 };
		xch_buf want = XCH_BUF_INIT, got = XCH_BUF_INIT;
		json_t *whole, *apart;
		make(&whole, &apart, &l, counts[k]);
		assert_int_equal(xch_json_canonical(&want, whole), 0);
		assert_int_equal(xch_manifest_text_full(&got, apart, l.v, l.n), 0);
		assert_int_equal(got.size, want.size);
		assert_memory_equal(got.ptr, want.ptr, want.size);
		json_decref(whole);
		json_decref(apart);
		xch_manifest_entries_dispose(&l);
		xch_buf_dispose(&want);
		xch_buf_dispose(&got);
	}
}

static void test_text_refuses_what_a_manifest_cannot_hold(void **state)
{
	xch_manifest_entry e = { (char *)"records/a\"b.json", 1, { 0 }, { 0 }, false, false };
	xch_manifest_entries l = { 0 };
	xch_buf out = XCH_BUF_INIT;
	json_t *bad;
	assert_int_equal(xch_manifest_entry_text(&out, &e, 0, 1), XCH_EINVALID);
	e.path = (char *)"records/ab.json";
	assert_int_equal(xch_manifest_entry_text(&out, &e, 0, 1), 0);
	/* a hash that is not 64 lower-case hex digits is refused as it is read */
	bad = json_pack("{s:s, s:i, s:s}", "path", "records/ab.json", "size", 1, "sha256",
	                "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789");
	assert_int_equal(xch_manifest_entries_add_json(&l, bad), XCH_EMALFORMED);
	assert_int_equal(l.n, 0);
	json_decref(bad);
	xch_manifest_entries_dispose(&l);
	xch_buf_dispose(&out);
}

static int collect(json_t *e, size_t index, void *payload)
{
	xch_manifest_entries *l = payload;
	assert_int_equal(index, l->n);
	return xch_manifest_entries_add_json(l, e);
}

static int refuse_third(json_t *e, size_t index, void *payload)
{
	(void)e;
	(void)payload;
	return index == 2 ? xch_error_set(XCH_EMALFORMED, "the third entry") : 0;
}

static void test_split_reads_entries_apart(void **state)
{
	xch_manifest_entries l = { 0 }, back = { 0 };
	xch_buf text = XCH_BUF_INIT;
	json_t *whole, *apart, *got = NULL;
	make(&whole, &apart, &l, 40);
	assert_int_equal(xch_json_canonical(&text, whole), 0);
	assert_int_equal(xch_json_parse_split(&got, text.ptr, text.size, "manifest.json", "entries", collect, &back), 0);
	/* the rest is as it was, "entries" empty; a nested "entries" is not split */
	assert_true(json_equal(got, apart));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(got, "received"),
	                                                                    "entries"), "nested")), 1);
	assert_int_equal(back.n, l.n);
	for (size_t i = 0; i < l.n; i++) {
		assert_string_equal(back.v[i].path, l.v[i].path);
		assert_memory_equal(back.v[i].sha256, l.v[i].sha256, 32);
		assert_int_equal(back.v[i].has_base, l.v[i].has_base);
		if (l.v[i].has_base)
			assert_memory_equal(back.v[i].base, l.v[i].base, 32);
		assert_true(back.v[i].size == l.v[i].size);
		assert_int_equal(back.v[i].unchanged, l.v[i].unchanged);
	}
	json_decref(got);
	got = NULL;
	/* an error from the callback ends the parse with it */
	assert_int_equal(xch_json_parse_split(&got, text.ptr, text.size, "manifest.json", "entries", refuse_third,
	                                      NULL), XCH_EMALFORMED);
	assert_null(got);
	assert_string_equal(xch_error_last()->message, "the third entry");
	/* a duplicate "entries" is refused as any duplicate key */
	assert_int_equal(xch_json_parse_split(&got, "{\"entries\": [], \"entries\": [1]}", 31, "m", "entries",
	                                      refuse_third, NULL), XCH_EMALFORMED);
	/* not an array: left in the tree, for the schema to refuse */
	assert_int_equal(xch_json_parse_split(&got, "{\"entries\": {\"a\": 1}}", 21, "m", "entries",
	                                      refuse_third, NULL), 0);
	assert_true(json_is_object(json_object_get(got, "entries")));
	json_decref(got);
	json_decref(whole);
	json_decref(apart);
	xch_manifest_entries_dispose(&l);
	xch_manifest_entries_dispose(&back);
	xch_buf_dispose(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_is_canonical),
		cmocka_unit_test(test_text_refuses_what_a_manifest_cannot_hold),
		cmocka_unit_test(test_split_reads_entries_apart),
	};
	return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}

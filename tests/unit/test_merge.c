/*
 * Three-way JSON merge.
 */
#include "common.h"
#include "json.h"
#include "merge.h"

#include <setjmp.h>
#include <cmocka.h>

/* Parse a literal (NULL: absent). */
static json_t *J(const char *text)
{
	json_t *v = NULL;
	if (!text)
		return NULL;
	assert_int_equal(xch_json_parse(&v, text, strlen(text), "t.json"), 0);
	return v;
}

static char *canon(const json_t *v)
{
	xch_buf b = XCH_BUF_INIT;
	if (!v)
		return strdup("(absent)");
	assert_int_equal(xch_json_compact(&b, v), 0);
	return xch_buf_detach(&b);
}

/*
 * Merge base/ours/theirs, expect `expect` (NULL: absent) and exactly the
 * conflict pointers that follow (NULL-terminated). Also checks the inputs
 * are untouched, and that the result shares nothing with them.
 */
static void check(const char *base, const char *ours, const char *theirs, const char *expect, ...)
{
	json_t *in[3] = { J(base), J(ours), J(theirs) }, *want = J(expect), *got = (json_t *)1;
	char *before[3], *after;
	xch_merge_conflicts c = XCH_MERGE_CONFLICTS_INIT;
	const char *ptr;
	size_t n = 0;
	va_list ap;

	for (int i = 0; i < 3; i++)
		before[i] = canon(in[i]);
	assert_int_equal(xch_merge_json(&got, in[0], in[1], in[2], &c), 0);
	if (!xch_json_same(got, want)) {
		char *g = canon(got);
		fail_msg("merged %s, expected %s", g, expect ? expect : "(absent)");
		free(g);
	}
	va_start(ap, expect);
	while ((ptr = va_arg(ap, const char *)) != NULL) {
		assert_true(n < c.n);
		assert_string_equal(c.pointers[n], ptr);
		n++;
	}
	va_end(ap);
	assert_int_equal(c.n, n);

	/* scribbling on the result leaves the inputs as they were */
	if (json_is_object(got)) {
		const char *key;
		json_t *v;
		json_object_foreach(got, key, v) {
			if (json_is_object(v))
				assert_int_equal(json_object_set_new(v, "scribble", json_true()), 0);
		}
		assert_int_equal(json_object_set_new(got, "scribble", json_true()), 0);
	}
	for (int i = 0; i < 3; i++) {
		after = canon(in[i]);
		assert_string_equal(after, before[i]);
		if (in[i])
			assert_int_equal(in[i]->refcount, 1);
		free(after);
		free(before[i]);
		json_decref(in[i]);
	}
	if (got)
		assert_int_equal(got->refcount, 1);
	json_decref(got);
	json_decref(want);
	xch_merge_conflicts_clear(&c);
}

#define NONE (const char *)NULL

static void test_identical_changes(void **state)
{
	check("{\"a\":1,\"b\":1}", "{\"a\":2,\"b\":1}", "{\"a\":2,\"b\":1}", "{\"a\":2,\"b\":1}", NONE);
	check("{\"a\":1}", "{\"a\":1}", "{\"a\":1}", "{\"a\":1}", NONE);
}

static void test_one_side_changed(void **state)
{
	check("{\"a\":1,\"b\":1}", "{\"a\":2,\"b\":1}", "{\"a\":1,\"b\":1}", "{\"a\":2,\"b\":1}", NONE);
	check("{\"a\":1,\"b\":1}", "{\"a\":1,\"b\":1}", "{\"a\":1,\"b\":3}", "{\"a\":1,\"b\":3}", NONE);
	/* a whole change of type on one side only is fine */
	check("{\"a\":{\"x\":1}}", "{\"a\":\"gone\"}", "{\"a\":{\"x\":1}}", "{\"a\":\"gone\"}", NONE);
}

static void test_disjoint_nested_changes(void **state)
{
	check("{\"site\":{\"name\":\"x\",\"sector\":\"energy\",\"geo\":{\"lat\":1,\"lon\":2}},\"status\":\"open\"}",
	      "{\"site\":{\"name\":\"y\",\"sector\":\"energy\",\"geo\":{\"lat\":5,\"lon\":2}},\"status\":\"open\"}",
	      "{\"site\":{\"name\":\"x\",\"sector\":\"dams\",\"geo\":{\"lat\":1,\"lon\":7}},\"status\":\"closed\"}",
	      "{\"site\":{\"name\":\"y\",\"sector\":\"dams\",\"geo\":{\"lat\":5,\"lon\":7}},\"status\":\"closed\"}",
	      NONE);
}

static void test_same_field_changed_differently(void **state)
{
	check("{\"site\":{\"name\":\"x\",\"n\":1},\"t\":1}",
	      "{\"site\":{\"name\":\"ours\",\"n\":1},\"t\":1}",
	      "{\"site\":{\"name\":\"theirs\",\"n\":2},\"t\":2}",
	      "{\"site\":{\"name\":\"ours\",\"n\":2},\"t\":2}",
	      "/site/name", NONE);
	/* several conflicts, in ours' key order */
	check("{\"b\":0,\"a\":0}", "{\"b\":1,\"a\":1}", "{\"b\":2,\"a\":2}", "{\"b\":1,\"a\":1}", "/b", "/a", NONE);
	/* JSON null is a value, distinct from absent */
	check("{\"a\":1}", "{\"a\":null}", "{}", "{\"a\":null}", "/a", NONE);
	/* 1 and 1.0 differ */
	check("{\"a\":0}", "{\"a\":1}", "{\"a\":1.0}", "{\"a\":1}", "/a", NONE);
}

static void test_pointer_escapes(void **state)
{
	check("{\"a/b\":{\"~c\":1}}", "{\"a/b\":{\"~c\":2}}", "{\"a/b\":{\"~c\":3}}", "{\"a/b\":{\"~c\":2}}",
	      "/a~1b/~0c", NONE);
	check("{\"\":0}", "{\"\":1}", "{\"\":2}", "{\"\":1}", "/", NONE);
}

static void test_key_added_both_sides(void **state)
{
	check("{\"a\":1}", "{\"a\":1,\"k\":\"v\"}", "{\"a\":1,\"k\":\"v\"}", "{\"a\":1,\"k\":\"v\"}", NONE);
	check("{\"a\":1}", "{\"a\":1,\"k\":\"o\"}", "{\"a\":1,\"k\":\"t\"}", "{\"a\":1,\"k\":\"o\"}", "/k", NONE);
	/* added objects merge as with an empty base */
	check("{}", "{\"k\":{\"x\":1,\"s\":1}}", "{\"k\":{\"y\":2,\"s\":2}}", "{\"k\":{\"x\":1,\"y\":2,\"s\":1}}",
	      "/k/s", NONE);
	/* keys new on either side */
	check("{}", "{\"o\":1}", "{\"t\":2}", "{\"o\":1,\"t\":2}", NONE);
}

static void test_key_deleted(void **state)
{
	/* deleted on one side, unchanged on the other: deleted */
	check("{\"a\":1,\"b\":1}", "{\"b\":1}", "{\"a\":1,\"b\":1}", "{\"b\":1}", NONE);
	check("{\"a\":1,\"b\":1}", "{\"a\":1,\"b\":1}", "{\"b\":1}", "{\"b\":1}", NONE);
	/* deleted on both */
	check("{\"a\":1,\"b\":1}", "{\"b\":2}", "{\"b\":2}", "{\"b\":2}", NONE);
	check("{\"a\":1,\"b\":1}", "{\"b\":2}", "{\"b\":1}", "{\"b\":2}", NONE);
	/* deleted against changed: conflict, ours kept (deleted or changed) */
	check("{\"a\":1,\"b\":1}", "{\"b\":1}", "{\"a\":2,\"b\":1}", "{\"b\":1}", "/a", NONE);
	check("{\"a\":1,\"b\":1}", "{\"a\":2,\"b\":1}", "{\"b\":1}", "{\"a\":2,\"b\":1}", "/a", NONE);
	check("{\"a\":{\"x\":1}}", "{}", "{\"a\":{\"x\":1,\"y\":2}}", "{}", "/a", NONE);
}

#define F(id, status) "{\"id\":\"" id "\",\"status\":\"" status "\",\"sev\":1}"
#define G(id, status, sev) "{\"id\":\"" id "\",\"status\":\"" status "\",\"sev\":" #sev "}"

static void test_array_by_id_edits(void **state)
{
	const char *base = "{\"findings\":[" F("a", "open") "," F("b", "open") "," F("c", "open") "]}";

	/* different elements */
	check(base,
	      "{\"findings\":[" F("a", "fixed") "," F("b", "open") "," F("c", "open") "]}",
	      "{\"findings\":[" F("a", "open") "," F("b", "open") "," F("c", "disputed") "]}",
	      "{\"findings\":[" F("a", "fixed") "," F("b", "open") "," F("c", "disputed") "]}", NONE);
	/* same element, different fields */
	check(base,
	      "{\"findings\":[" F("a", "open") "," F("b", "fixed") "," F("c", "open") "]}",
	      "{\"findings\":[" F("a", "open") "," G("b", "open", 3) "," F("c", "open") "]}",
	      "{\"findings\":[" F("a", "open") "," G("b", "fixed", 3) "," F("c", "open") "]}", NONE);
	/* same element, same field */
	check(base,
	      "{\"findings\":[" F("a", "open") "," F("b", "fixed") "," F("c", "open") "]}",
	      "{\"findings\":[" F("a", "open") "," G("b", "disputed", 3) "," F("c", "open") "]}",
	      "{\"findings\":[" F("a", "open") "," G("b", "fixed", 3) "," F("c", "open") "]}",
	      "/findings/1/status", NONE);
	/* reordered by one side: ours' order wins, edits still meet by id */
	check(base,
	      "{\"findings\":[" F("c", "open") "," F("a", "open") "," F("b", "open") "]}",
	      "{\"findings\":[" F("a", "open") "," F("b", "open") "," F("c", "fixed") "]}",
	      "{\"findings\":[" F("c", "fixed") "," F("a", "open") "," F("b", "open") "]}", NONE);
}

static void test_array_by_id_add_delete(void **state)
{
	const char *base = "{\"findings\":[" F("a", "open") "," F("b", "open") "," F("c", "open") "]}";

	/* added on both sides: ours' order, then theirs' new ones in their order */
	check(base,
	      "{\"findings\":[" F("x", "new") "," F("a", "open") "," F("b", "open") "," F("c", "open") "]}",
	      "{\"findings\":[" F("a", "open") "," F("y", "new") "," F("b", "open") "," F("c", "open") "," F("z", "new") "]}",
	      "{\"findings\":[" F("x", "new") "," F("a", "open") "," F("b", "open") "," F("c", "open") "," F("y", "new") "," F("z", "new") "]}",
	      NONE);
	/* the same element added on both sides, differently */
	check(base,
	      "{\"findings\":[" F("a", "open") "," F("b", "open") "," F("c", "open") "," F("n", "o") "]}",
	      "{\"findings\":[" F("a", "open") "," F("b", "open") "," F("c", "open") "," F("n", "t") "]}",
	      "{\"findings\":[" F("a", "open") "," F("b", "open") "," F("c", "open") "," F("n", "o") "]}",
	      "/findings/3/status", NONE);
	/* deleted on one side, unchanged on the other (each side) */
	check(base,
	      "{\"findings\":[" F("a", "open") "," F("c", "open") "]}",
	      "{\"findings\":[" F("a", "open") "," F("b", "open") "," F("c", "fixed") "]}",
	      "{\"findings\":[" F("a", "open") "," F("c", "fixed") "]}", NONE);
	check(base,
	      "{\"findings\":[" F("a", "open") "," F("b", "fixed") "," F("c", "open") "]}",
	      "{\"findings\":[" F("b", "open") "," F("c", "open") "]}",
	      "{\"findings\":[" F("b", "fixed") "," F("c", "open") "]}", NONE);
	/* deleted by theirs, changed by ours: kept, pointer is the index in ours */
	check(base,
	      "{\"findings\":[" F("a", "open") "," F("b", "open") "," F("c", "fixed") "]}",
	      "{\"findings\":[" F("a", "open") "," F("b", "open") "]}",
	      "{\"findings\":[" F("a", "open") "," F("b", "open") "," F("c", "fixed") "]}",
	      "/findings/2", NONE);
	/* deleted by ours, changed by theirs: stays deleted, pointer is the index in theirs */
	check(base,
	      "{\"findings\":[" F("a", "open") "," F("c", "open") "]}",
	      "{\"findings\":[" F("a", "open") "," F("b", "fixed") "," F("c", "open") "]}",
	      "{\"findings\":[" F("a", "open") "," F("c", "open") "]}",
	      "/findings/1", NONE);
	/* the pointer is ours' index even when theirs removed an earlier element */
	check(base,
	      "{\"findings\":[" F("a", "open") "," F("b", "open") "," F("c", "fixed") "]}",
	      "{\"findings\":[" F("b", "open") "," F("c", "disputed") "]}",
	      "{\"findings\":[" F("b", "open") "," F("c", "fixed") "]}",
	      "/findings/2/status", NONE);
}

static void test_arrays_without_ids(void **state)
{
	check("{\"tags\":[\"a\"]}", "{\"tags\":[\"a\",\"b\"]}", "{\"tags\":[\"a\",\"c\"]}", "{\"tags\":[\"a\",\"b\"]}",
	      "/tags", NONE);
	check("{\"tags\":[\"a\"]}", "{\"tags\":[\"a\",\"b\"]}", "{\"tags\":[\"a\"]}", "{\"tags\":[\"a\",\"b\"]}", NONE);
	/* objects without id, numeric id, a repeated id, a mix: values */
	check("{\"l\":[{\"x\":1}]}", "{\"l\":[{\"x\":2}]}", "{\"l\":[{\"x\":3}]}", "{\"l\":[{\"x\":2}]}", "/l", NONE);
	check("{\"l\":[{\"id\":1,\"x\":1}]}", "{\"l\":[{\"id\":1,\"x\":2}]}", "{\"l\":[{\"id\":1,\"y\":3}]}",
	      "{\"l\":[{\"id\":1,\"x\":2}]}", "/l", NONE);
	check("{\"l\":[{\"id\":\"a\"}]}", "{\"l\":[{\"id\":\"a\",\"x\":1},{\"id\":\"a\"}]}",
	      "{\"l\":[{\"id\":\"a\",\"y\":1}]}", "{\"l\":[{\"id\":\"a\",\"x\":1},{\"id\":\"a\"}]}", "/l", NONE);
	check("{\"l\":[{\"id\":\"a\"}]}", "{\"l\":[{\"id\":\"a\",\"x\":1}]}", "{\"l\":[{\"id\":\"a\"},1]}",
	      "{\"l\":[{\"id\":\"a\",\"x\":1}]}", "/l", NONE);
	/* base not an array: a value */
	check("{\"l\":\"s\"}", "{\"l\":[{\"id\":\"a\"}]}", "{\"l\":[{\"id\":\"b\"}]}", "{\"l\":[{\"id\":\"a\"}]}", "/l", NONE);
}

static void test_type_change_against_edit(void **state)
{
	check("{\"site\":{\"name\":\"x\"}}", "{\"site\":\"withdrawn\"}", "{\"site\":{\"name\":\"y\"}}",
	      "{\"site\":\"withdrawn\"}", "/site", NONE);
	check("{\"site\":{\"name\":\"x\"}}", "{\"site\":{\"name\":\"y\"}}", "{\"site\":\"withdrawn\"}",
	      "{\"site\":{\"name\":\"y\"}}", "/site", NONE);
	/* base a string, both sides objects: a value conflict */
	check("{\"site\":\"s\"}", "{\"site\":{\"a\":1}}", "{\"site\":{\"b\":1}}", "{\"site\":{\"a\":1}}", "/site", NONE);
}

static void test_whole_records(void **state)
{
	/* both added, the same */
	check(NULL, "{\"id\":\"r\",\"t\":1}", "{\"id\":\"r\",\"t\":1}", "{\"id\":\"r\",\"t\":1}", NONE);
	/* both added, differently: merged as objects with an empty base */
	check(NULL, "{\"id\":\"r\",\"title\":\"A\",\"x\":1}", "{\"id\":\"r\",\"title\":\"B\",\"y\":2}",
	      "{\"id\":\"r\",\"title\":\"A\",\"x\":1,\"y\":2}", "/title", NONE);
	/* added on one side only */
	check(NULL, NULL, "{\"id\":\"r\"}", "{\"id\":\"r\"}", NONE);
	check(NULL, "{\"id\":\"r\"}", NULL, "{\"id\":\"r\"}", NONE);
	/* deleted by ours, changed by theirs: conflict at the root, stays deleted */
	check("{\"id\":\"r\",\"t\":1}", NULL, "{\"id\":\"r\",\"t\":2}", NULL, "", NONE);
	/* deleted by theirs, changed by ours */
	check("{\"id\":\"r\",\"t\":1}", "{\"id\":\"r\",\"t\":2}", NULL, "{\"id\":\"r\",\"t\":2}", "", NONE);
	/* deleted by one side, unchanged by the other */
	check("{\"id\":\"r\",\"t\":1}", "{\"id\":\"r\",\"t\":1}", NULL, NULL, NONE);
	check("{\"id\":\"r\",\"t\":1}", NULL, "{\"id\":\"r\",\"t\":1}", NULL, NONE);
	check("{\"id\":\"r\"}", NULL, NULL, NULL, NONE);
	check(NULL, NULL, NULL, NULL, NONE);
	/* scalars at the root */
	check("1", "2", "3", "2", "", NONE);
	check("[1]", "[2]", "[1]", "[2]", NONE);
}

static void test_conflicts_accumulate(void **state)
{
	json_t *b = J("{\"a\":1}"), *o = J("{\"a\":2}"), *t = J("{\"a\":3}"), *out;
	xch_merge_conflicts c = XCH_MERGE_CONFLICTS_INIT;

	assert_int_equal(xch_merge_json(&out, b, o, t, &c), 0);
	json_decref(out);
	assert_int_equal(xch_merge_json(&out, b, o, t, &c), 0);
	assert_true(json_equal(out, o));
	json_decref(out);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.pointers[1], "/a");
	xch_merge_conflicts_clear(&c);
	assert_int_equal(c.n, 0);
	assert_null(c.pointers);
	xch_merge_conflicts_clear(&c);
	xch_merge_conflicts_clear(NULL);
	json_decref(b);
	json_decref(o);
	json_decref(t);
}

static void test_invalid_arguments(void **state)
{
	xch_merge_conflicts c = XCH_MERGE_CONFLICTS_INIT;
	json_t *out = (json_t *)1;

	assert_int_equal(xch_merge_json(NULL, NULL, NULL, NULL, &c), XCH_EINVALID);
	assert_int_equal(xch_merge_json(&out, NULL, NULL, NULL, NULL), XCH_EINVALID);
	assert_null(out);
	assert_int_equal(c.n, 0);
}

/* {"k":{"k":...{"k":leaf}}} nested depth times */
static json_t *nest(int depth, json_int_t leaf)
{
	json_t *v = json_integer(leaf);
	for (int i = 0; i < depth; i++) {
		json_t *o = json_object();
		assert_non_null(o);
		assert_int_equal(json_object_set_new(o, "k", v), 0);
		v = o;
	}
	return v;
}

static void test_too_deep(void **state)
{
	xch_merge_conflicts c = XCH_MERGE_CONFLICTS_INIT;
	json_t *b = nest(XCH_MERGE_MAX_DEPTH + 10, 0), *o = nest(XCH_MERGE_MAX_DEPTH + 10, 1);
	json_t *t = nest(XCH_MERGE_MAX_DEPTH + 10, 2), *out = (json_t *)1;

	/* one conflict from an earlier merge */
	{
		json_t *x = J("1"), *y = J("2"), *z = J("3"), *r;
		assert_int_equal(xch_merge_json(&r, x, y, z, &c), 0);
		json_decref(r);
		json_decref(x);
		json_decref(y);
		json_decref(z);
	}
	assert_int_equal(xch_merge_json(&out, b, o, t, &c), XCH_ETOOBIG);
	assert_null(out);
	assert_int_equal(c.n, 1); /* as before the call */
	xch_merge_conflicts_clear(&c);
	json_decref(b);
	json_decref(o);
	json_decref(t);

	/* at the limit of our parser, fine */
	b = nest(XCH_JSON_MAX_DEPTH, 0);
	o = nest(XCH_JSON_MAX_DEPTH, 1);
	t = nest(XCH_JSON_MAX_DEPTH, 2);
	assert_int_equal(xch_merge_json(&out, b, o, t, &c), 0);
	assert_true(json_equal(out, o));
	assert_int_equal(c.n, 1);
	assert_int_equal(strlen(c.pointers[0]), 2 * XCH_JSON_MAX_DEPTH);
	xch_merge_conflicts_clear(&c);
	json_decref(out);
	json_decref(b);
	json_decref(o);
	json_decref(t);
}

/* jansson allocations fail after `budget` successes */
static long budget;

static void *failing_malloc(size_t n)
{
	if (budget-- <= 0)
		return NULL;
	return malloc(n);
}

static void test_out_of_memory(void **state)
{
	json_t *b = J("{\"t\":1,\"s\":{\"a\":1},\"findings\":[" F("a", "open") "," F("b", "open") "]}");
	json_t *o = J("{\"t\":2,\"s\":{\"a\":2},\"findings\":[" F("a", "fixed") "," F("b", "x") "," F("n", "o") "]}");
	json_t *t = J("{\"t\":3,\"s\":{\"b\":2},\"findings\":[" F("b", "y") "," F("m", "t") "]}");
	xch_merge_conflicts c = XCH_MERGE_CONFLICTS_INIT;
	json_t *out = NULL, *want;
	int error = -1;

	for (long n = 0; error != 0; n++) {
		assert_true(n < 10000);
		budget = n;
		json_set_alloc_funcs(failing_malloc, free);
		error = xch_merge_json(&out, b, o, t, &c);
		json_set_alloc_funcs(malloc, free);
		if (error) {
			assert_int_equal(error, XCH_ERROR);
			assert_null(out);
			assert_int_equal(c.n, 0);
		}
	}
	assert_int_equal(c.n, 4);
	assert_string_equal(c.pointers[0], "/t");
	assert_string_equal(c.pointers[1], "/s/a");
	assert_string_equal(c.pointers[2], "/findings/0");
	assert_string_equal(c.pointers[3], "/findings/1/status");
	assert_true(json_equal(json_object_get(out, "findings"), json_object_get(want = J(
		"{\"f\":[" F("a", "fixed") "," F("b", "x") "," F("n", "o") "," F("m", "t") "]}"), "f")));
	json_decref(want);
	xch_merge_conflicts_clear(&c);
	json_decref(out);
	json_decref(b);
	json_decref(o);
	json_decref(t);
}

static void test_json_same(void **state)
{
	json_t *a = J("{\"x\":[1,2]}"), *b = J("{ \"x\" : [1, 2] }"), *n = J("null");

	assert_true(xch_json_same(NULL, NULL));
	assert_false(xch_json_same(a, NULL));
	assert_false(xch_json_same(NULL, a));
	assert_false(xch_json_same(n, NULL));
	assert_true(xch_json_same(a, b));
	assert_false(xch_json_same(a, n));
	json_decref(a);
	json_decref(b);
	json_decref(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical_changes),
		cmocka_unit_test(test_one_side_changed),
		cmocka_unit_test(test_disjoint_nested_changes),
		cmocka_unit_test(test_same_field_changed_differently),
		cmocka_unit_test(test_pointer_escapes),
		cmocka_unit_test(test_key_added_both_sides),
		cmocka_unit_test(test_key_deleted),
		cmocka_unit_test(test_array_by_id_edits),
		cmocka_unit_test(test_array_by_id_add_delete),
		cmocka_unit_test(test_arrays_without_ids),
		cmocka_unit_test(test_type_change_against_edit),
		cmocka_unit_test(test_whole_records),
		cmocka_unit_test(test_conflicts_accumulate),
		cmocka_unit_test(test_invalid_arguments),
		cmocka_unit_test(test_too_deep),
		cmocka_unit_test(test_out_of_memory),
		cmocka_unit_test(test_json_same),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

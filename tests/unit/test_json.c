/*
 * Strict JSON input and canonical output.
 */
#include "common.h"
#include "json.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

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

/*
 * The reader against jansson's own, on the same texts: jansson's
 * json_loadb with the limits of json.h decides what is accepted, and
 * xch_json_canonical() what is canonical.
 */
static int oracle_depth_ok(const char *t, size_t len)
{
	int depth = 0;
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		if (in_string) {
			if (t[i] == '\\')
				i++;
			else if (t[i] == '"')
				in_string = false;
		} else if (t[i] == '"') {
			in_string = true;
		} else if (t[i] == '[' || t[i] == '{') {
			if (++depth > XCH_JSON_MAX_DEPTH)
				return 0;
		} else if (t[i] == ']' || t[i] == '}') {
			depth--;
		}
	}
	return 1;
}

static int oracle_numbers_ok(const json_t *v)
{
	const char *key;
	json_t *child;
	size_t i;
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		return json_integer_value(v) <= XCH_JSON_MAX_INT && json_integer_value(v) >= -XCH_JSON_MAX_INT;
	case JSON_OBJECT:
		json_object_foreach((json_t *)v, key, child)
			if (!oracle_numbers_ok(child))
				return 0;
		return 1;
	case JSON_ARRAY:
		json_array_foreach(v, i, child)
			if (!oracle_numbers_ok(child))
				return 0;
		return 1;
	default:
		return 1;
	}
}

static json_t *oracle(const char *t, size_t len)
{
	json_t *v;
	if (!oracle_depth_ok(t, len) || !(v = json_loadb(t, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL)))
		return NULL;
	if (!oracle_numbers_ok(v)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* Has v an object key that canonical form escapes ('"', '\' or a control character)? */
static int escaped_key(const json_t *v)
{
	const char *key;
	json_t *child;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, child) {
			for (const char *k = key; *k; k++)
				if (*k == '"' || *k == '\\' || (unsigned char)*k < 0x20)
					return 1;
			if (escaped_key(child))
				return 1;
		}
	}
	if (json_is_array(v))
		json_array_foreach(v, i, child)
			if (escaped_key(child))
				return 1;
	return 0;
}

static size_t ncompared, naccepted, ncanonical;

static void compare(const char *t, size_t len)
{
	json_t *want = oracle(t, len), *got = NULL;
	xch_buf c = XCH_BUF_INIT;
	bool canon = false, truly;
	int error = xch_json_parse_canon(&got, &canon, t, len, "t.json");

	ncompared++;
	if (!want) {
		if (error == 0)
			fail_msg("accepted what jansson refuses: '%.*s'", (int)(len > 200 ? 200 : len), t);
		assert_int_equal(error, XCH_EMALFORMED);
		assert_null(got);
		return;
	}
	if (error < 0)
		fail_msg("refused what jansson accepts (%s): '%.*s'", xch_error_last()->message,
		         (int)(len > 200 ? 200 : len), t);
	naccepted++;
	assert_true(json_equal(got, want));
	assert_int_equal(xch_json_canonical(&c, want), 0);
	truly = c.size == len && !memcmp(c.ptr, t, len);
	if (canon && !truly)
		fail_msg("said canonical, is not: '%.*s'", (int)(len > 200 ? 200 : len), t);
	if (truly && !canon && !escaped_key(want))
		fail_msg("said not canonical, is: '%.*s'", (int)(len > 200 ? 200 : len), t);
	ncanonical += canon;
	json_decref(got);
	json_decref(want);
	xch_buf_dispose(&c);
}

/* t, t and a newline, t's canonical form, then mutants of t. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void compare_all(const char *t, size_t len, int mutants)
{
	static const char bytes[] = "{}[]\",:\\ 0123456789eE.-+untfal/bx\n\t\r\x7f\x01\x80\xc3\xa9\xed\xf4\xff";
	json_t *v = oracle(t, len);
	char *m = malloc(len + 16);

	compare(t, len);
	assert_non_null(m);
	memcpy(m, t, len);
	m[len] = '\n';
	compare(m, len + 1);
	if (v) {
		xch_buf c = XCH_BUF_INIT;
		assert_int_equal(xch_json_canonical(&c, v), 0);
		compare(c.ptr, c.size);
		json_decref(v);
		xch_buf_dispose(&c);
	}
	for (int i = 0; i < mutants && len; i++) {
		size_t at = next_rand() % len, n = len;
		char b = bytes[next_rand() % (sizeof(bytes) - 1)];
		memcpy(m, t, len);
		switch (next_rand() % 3) {
		case 0:
			m[at] = b;
			break;
		case 1:
			memmove(m + at, m + at + 1, len - at - 1);
			n--;
			break;
		default:
			memmove(m + at + 1, m + at, len - at);
			m[at] = b;
			n++;
		}
		compare(m, n);
	}
	free(m);
}

static const char *const tricky[] = {
	"", " ", "0", "-0", "-0.0", "0.0", "1.0", "1.5", "1.50", "1e5", "1E5", "1e+5", "1e05", "1e-5", "1e-05",
	"100000.0", "1e400", "-1e400", "1e-400", "0.1", "9.8", "9.80", "3.141592653589793", "1e22", "1e21",
	"123456789012345678", "9007199254740991", "-9007199254740991", "9007199254740992", "01", "1.", ".5",
	"-", "--1", "+1", "1e", "1e+", "0x1", "NaN", "Infinity", "true", "tru", "null", "nul", "false", "falsey",
	"\"\"", "\"a\"", "\"\\/\"", "\"/\"", "\"\\u0041\"", "\"\\u001f\"", "\"\\u001F\"", "\"\\u0008\"", "\"\\b\"",
	"\"\\u007f\"", "\"\x7f\"", "\"\\u00e9\"", "\"\xc3\xa9\"", "\"\xe2\x80\xa8\"", "\"\\ud83d\\ude00\"",
	"\"\xf0\x9f\x98\x80\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83dx\"", "\"\\u0000\"", "\"\\x\"", "\"\t\"",
	"\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"",
	"\"abc", "\"\\", "\"\\u12", "[]", "[]\n", "[\n]\n", "{}\n", "[\n  1\n]\n", "[\n  1,\n  2\n]\n",
	"[1,2]", "[1 ,2]", "[\n  1\n  ]\n", "[\n  []\n]\n", "{\n  \"a\": 1\n}\n", "{\n  \"a\":1\n}\n",
	"{\n  \"a\" : 1\n}\n", "{\n  \"b\": 1,\n  \"a\": 2\n}\n", "{\n  \"a\": 1,\n  \"ab\": 2\n}\n",
	"{\n  \"ab\": 1,\n  \"a\": 2\n}\n", "{\n  \"a\": 1,\n  \"a\": 2\n}\n", "{\"a\":1,\"b\":2,\"a\":3}",
	"{\"a\\\"\": 1}", "{\n  \"a\\\"\": 1\n}\n", "{\"\\u0061\": 1, \"a\": 2}", "{\"a\" 1}", "{\"a\": }", "{,}",
	"[1,]", "[,1]", "{\"a\": 1,}", "\xef\xbb\xbf{}", "{} x", "{}\n\n", " {}\n", "{}\r\n", "[\n\t1\n]\n",
	"{\n  \"lat\": 32.9,\n  \"lon\": -74.8943\n}\n", "{\n  \"lat\": 32.9000,\n  \"lon\": -74.8943\n}\n",
	"[\n  0.5,\n  1e-7\n]\n", "[\n  1.0,\n  2.5\n]\n", "[\n  1e+22\n]\n", "[\n  1e22\n]\n",
	"[\n  1.7976931348623157e308\n]\n", "[\n  5e-324\n]\n", "[\n  -0.0\n]\n",
};

static void test_reader_agrees_with_jansson(void **state)
{
	for (size_t i = 0; i < sizeof(tricky) / sizeof(*tricky); i++) {
		compare_all(tricky[i], strlen(tricky[i]), 40);
		for (size_t n = 0; n < strlen(tricky[i]); n++)
			compare(tricky[i], n); /* every truncation */
	}
	/* reals printed every way jansson prints them, at every precision */
	for (int i = 0; i < 2000; i++) {
		double d;
		uint64_t bits;
		json_t *doc;
		xch_buf c = XCH_BUF_INIT;
		do {
			bits = next_rand();
			memcpy(&d, &bits, sizeof(d));
		} while (!isfinite(d));
		if (i % 2)
			d = (double)(int64_t)(next_rand() % 2000000) / (double)(1 + next_rand() % 10000);
		doc = json_pack("{s:f,s:[f,i]}", "a", d, "b", d / 3, (json_int_t)(i - 1000));
		assert_int_equal(xch_json_canonical(&c, doc), 0);
		compare(c.ptr, c.size);
		json_decref(doc);
		xch_buf_dispose(&c);
	}
}

static void read_file(const char *path, xch_buf *b)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;
	assert_non_null(f);
	xch_buf_clear(b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(xch_buf_put(b, chunk, n), 0);
	fclose(f);
}

/* Every *.json under dir, with mutants each; how many files. */
static size_t compare_tree(const char *dir, int mutants)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t files = 0;
	xch_buf b = XCH_BUF_INIT;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[4096];
		struct stat st;
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.' ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path) || lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			files += compare_tree(path, mutants);
		} else if (S_ISREG(st.st_mode) && n > 5 && !strcmp(e->d_name + n - 5, ".json") &&
		           st.st_size < 4 * 1024 * 1024) {
			read_file(path, &b);
			compare_all(b.ptr ? b.ptr : "", b.size, mutants);
			for (size_t k = 0; k < b.size; k += 1 + b.size / 16)
				compare(b.ptr, k); /* truncations */
			files++;
		}
	}
	closedir(d);
	xch_buf_dispose(&b);
	return files;
}

static void test_reader_agrees_on_files(void **state)
{
	const char *top = getenv("XCH_TOP_SRCDIR");
	char path[4096];
	size_t ours = 0, shared = 0;

	if (!top)
		top = ".";
	ncompared = naccepted = ncanonical = 0;
	snprintf(path, sizeof(path), "%s/tests/resources", top);
	ours += compare_tree(path, 100);
	snprintf(path, sizeof(path), "%s/schemas", top);
	ours += compare_tree(path, 100);
	snprintf(path, sizeof(path), "%s/../shared/testdata", top);
	shared = compare_tree(path, 20);
	assert_true(ours > 10);
	if (!shared)
		fprintf(stderr, "# SKIP: %s is absent: the reader was compared on the project's own files only\n", path);
	fprintf(stderr, "# reader: %zu texts from %zu files, %zu accepted, %zu canonical\n",
	        ncompared, ours + shared, naccepted, ncanonical);
	assert_true(ncanonical > 0);
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
		cmocka_unit_test(test_reader_agrees_with_jansson),
		cmocka_unit_test(test_reader_agrees_on_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The JSON Schema validator: violations (pointer, keyword location,
 * message), references across documents, refusals, hostile schemas and
 * instances.
 */
#include "common.h"
#include "schema.h"
#include "json.h"

#include <setjmp.h>
#include <cmocka.h>
#include <unistd.h>

/* A set with the given documents added as buffers under their origins. */
static xch_schema_set *set_of(const char *origin, const char *schema)
{
	xch_schema_set *set;
	assert_int_equal(xch_schema_set_new(&set), 0);
	if (schema)
		assert_int_equal(xch_schema_set_add_buffer(set, schema, strlen(schema), origin, NULL), 0);
	return set;
}

static int check(xch_violations **v, xch_schema_set *set, const char *uri, const char *doc)
{
	*v = NULL;
	return xch_schema_validate_buffer(v, set, uri, doc, strlen(doc), "doc.json");
}

/* Index of the violation at inst with keyword location loc, or -1. */
static int find(const xch_violations *v, const char *inst, const char *loc)
{
	for (size_t i = 0; i < xch_violations_count(v); i++)
		if (!strcmp(xch_violations_instance(v, i), inst) && !strcmp(xch_violations_schema(v, i), loc))
			return (int)i;
	return -1;
}

static void dump(const xch_violations *v)
{
	for (size_t i = 0; i < xch_violations_count(v); i++)
		print_message("  [%s] %s (%s)\n", xch_violations_instance(v, i), xch_violations_message(v, i),
		              xch_violations_schema(v, i));
}

#define ASSERT_VIOLATION(v, inst, loc, msg) do { \
	int i_ = find((v), (inst), (loc)); \
	if (i_ < 0) \
		dump(v); \
	assert_true(i_ >= 0); \
	assert_string_equal(xch_violations_message((v), (size_t)i_), (msg)); \
} while (0)

static const char findings_schema[] =
	"{\"$id\": \"https://example.org/report.json\","
	" \"type\": \"object\","
	" \"required\": [\"title\", \"findings\"],"
	" \"additionalProperties\": false,"
	" \"properties\": {"
	"   \"title\": {\"type\": \"string\", \"minLength\": 3},"
	"   \"score\": {\"type\": \"integer\", \"maximum\": 5},"
	"   \"a/b~c\": {\"type\": \"string\"},"
	"   \"findings\": {\"type\": \"array\", \"items\": {"
	"       \"type\": \"object\", \"required\": [\"title\"],"
	"       \"properties\": {\"title\": {\"type\": \"string\"}, \"severity\": {\"enum\": [\"low\", \"high\"]}}}}"
	" }}";

static void test_valid_document(void **state)
{
	xch_schema_set *set = set_of("report.json", findings_schema);
	xch_violations *v;
	assert_int_equal(check(&v, set, "https://example.org/report.json",
	                       "{\"title\": \"abc\", \"findings\": [{\"title\": \"x\", \"severity\": \"low\"}]}"), 0);
	assert_null(v);
	xch_schema_set_free(set);
}

static void test_every_violation_reported(void **state)
{
	xch_schema_set *set = set_of("report.json", findings_schema);
	xch_violations *v;
	int r = check(&v, set, "https://example.org/report.json",
	              "{\"score\": 7, \"extra\": 1, \"a/b~c\": 2,"
	              " \"findings\": [{\"title\": \"ok\"}, {\"severity\": \"medium\"}, {\"title\": 3}]}");
	assert_int_equal(r, XCH_ESCHEMA);
	assert_non_null(v);
	assert_int_equal(xch_error_last()->code, XCH_ESCHEMA);
	assert_non_null(strstr(xch_error_last()->message, "https://example.org/report.json"));
	ASSERT_VIOLATION(v, "", "#/required", "missing required property 'title'");
	ASSERT_VIOLATION(v, "/score", "#/properties/score/maximum", "value 7 is greater than the maximum 5");
	ASSERT_VIOLATION(v, "/extra", "#/additionalProperties", "property 'extra' is not allowed");
	ASSERT_VIOLATION(v, "/a~1b~0c", "#/properties/a~1b~0c/type", "expected string, got integer");
	ASSERT_VIOLATION(v, "/findings/1", "#/properties/findings/items/required", "missing required property 'title'");
	ASSERT_VIOLATION(v, "/findings/1/severity", "#/properties/findings/items/properties/severity/enum",
	                 "value \"medium\" is not one of the allowed values: \"low\", \"high\"");
	ASSERT_VIOLATION(v, "/findings/2/title", "#/properties/findings/items/properties/title/type",
	                 "expected string, got integer");
	assert_int_equal(xch_violations_count(v), 7);
	assert_null(xch_violations_message(v, 7));
	xch_violations_free(v);
	xch_schema_set_free(set);
}

static void test_messages(void **state)
{
	xch_schema_set *set = set_of(NULL,
		"{\"$id\": \"urn:t\", \"properties\": {"
		" \"n\": {\"exclusiveMinimum\": 0, \"multipleOf\": 0.1},"
		" \"s\": {\"minLength\": 2, \"pattern\": \"^[a-z]+$\", \"format\": \"date\"},"
		" \"a\": {\"minItems\": 2, \"uniqueItems\": true, \"contains\": {\"const\": 9}},"
		" \"t\": {\"type\": [\"string\", \"null\"]},"
		" \"c\": {\"const\": {\"k\": [1]}},"
		" \"d\": {\"dependentRequired\": {\"x\": [\"y\"]}},"
		" \"no\": {\"not\": {\"type\": \"string\"}},"
		" \"f\": false"
		"}}");
	xch_violations *v;

	/* decimal multipleOf: 0.3 is a multiple of 0.1, 0.35 is not */
	assert_int_equal(check(&v, set, "urn:t", "{\"n\": 0.3}"), 0);
	assert_int_equal(check(&v, set, "urn:t", "{\"n\": 7.2, \"s\": \"\xc3\xa9\xc3\xa9\"}"), XCH_ESCHEMA);
	/* two code points are enough for minLength 2, but not for the pattern or date format */
	assert_int_equal(find(v, "/s", "#/properties/s/minLength"), -1);
	ASSERT_VIOLATION(v, "/s", "#/properties/s/pattern", "string does not match pattern '^[a-z]+$'");
	ASSERT_VIOLATION(v, "/s", "#/properties/s/format", "string is not a valid date");
	assert_int_equal(xch_violations_count(v), 2);
	xch_violations_free(v);

	assert_int_equal(check(&v, set, "urn:t",
	                       "{\"n\": 0.35, \"s\": \"x\", \"a\": [1, 1], \"t\": 5, \"c\": {\"k\": [2]},"
	                       " \"d\": {\"x\": 1}, \"no\": \"str\", \"f\": null}"), XCH_ESCHEMA);
	ASSERT_VIOLATION(v, "/n", "#/properties/n/multipleOf", "value 0.35 is not a multiple of 0.1");
	ASSERT_VIOLATION(v, "/s", "#/properties/s/minLength", "string is shorter than the minimum length 2 (it has 1 character)");
	ASSERT_VIOLATION(v, "/a", "#/properties/a/uniqueItems", "items 0 and 1 are equal, but the items must be unique");
	ASSERT_VIOLATION(v, "/a", "#/properties/a/contains", "array has no item that matches \"contains\"");
	ASSERT_VIOLATION(v, "/t", "#/properties/t/type", "expected one of null, string, got integer");
	ASSERT_VIOLATION(v, "/c", "#/properties/c/const", "value must be {\"k\":[1]}, got {\"k\":[2]}");
	ASSERT_VIOLATION(v, "/d", "#/properties/d/dependentRequired", "property 'y' is required when 'x' is present");
	ASSERT_VIOLATION(v, "/no", "#/properties/no/not", "value must not match the schema in \"not\"");
	ASSERT_VIOLATION(v, "/f", "#/properties/f", "no value is allowed here (the schema is false)");
	xch_violations_free(v);
	assert_int_equal(check(&v, set, "urn:t", "{\"n\": 0}"), XCH_ESCHEMA);
	ASSERT_VIOLATION(v, "/n", "#/properties/n/exclusiveMinimum",
	                 "value 0 is less than or equal to the exclusive minimum 0");
	xch_violations_free(v);
	xch_schema_set_free(set);
}

static void test_any_of_summary(void **state)
{
	xch_schema_set *set = set_of(NULL,
		"{\"$id\": \"urn:any\", \"anyOf\": ["
		" {\"type\": \"object\", \"required\": [\"kind\", \"a\"], \"properties\": {\"kind\": {\"const\": \"A\"}}},"
		" {\"type\": \"object\", \"required\": [\"kind\"], \"properties\": {\"kind\": {\"const\": \"B\"}, \"b\": {\"type\": \"integer\"}}},"
		" {\"type\": \"string\"}]}");
	xch_violations *v;

	assert_int_equal(check(&v, set, "urn:any", "{\"kind\": \"B\", \"b\": 1}"), 0);
	/* the second alternative comes closest: its one violation is listed */
	assert_int_equal(check(&v, set, "urn:any", "{\"kind\": \"B\", \"b\": \"x\"}"), XCH_ESCHEMA);
	ASSERT_VIOLATION(v, "", "#/anyOf",
	                 "value matches none of the 3 alternatives of anyOf; the closest, #/anyOf/1, fails as follows");
	ASSERT_VIOLATION(v, "/b", "#/anyOf/1/properties/b/type", "expected integer, got string");
	assert_int_equal(xch_violations_count(v), 2);
	xch_violations_free(v);
	/* no alternative comes closest: the summary alone */
	assert_int_equal(check(&v, set, "urn:any", "42"), XCH_ESCHEMA);
	assert_int_equal(xch_violations_count(v), 1);
	ASSERT_VIOLATION(v, "", "#/anyOf", "value matches none of the 3 alternatives of anyOf");
	xch_violations_free(v);
	xch_schema_set_free(set);
}

static void test_one_of_twice(void **state)
{
	xch_schema_set *set = set_of(NULL, "{\"$id\": \"urn:one\", \"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 2}]}");
	xch_violations *v;
	assert_int_equal(check(&v, set, "urn:one", "1"), 0);
	assert_int_equal(check(&v, set, "urn:one", "3"), XCH_ESCHEMA);
	ASSERT_VIOLATION(v, "", "#/oneOf", "value matches more than one alternative of oneOf (#/oneOf/0 and #/oneOf/1)");
	xch_violations_free(v);
	xch_schema_set_free(set);
}

static void test_refs_across_documents(void **state)
{
	static const char a[] =
		"{\"$id\": \"https://example.org/schemas/a.json\", \"type\": \"object\","
		" \"properties\": {\"b\": {\"$ref\": \"sub/b.json#/$defs/pos\"}, \"c\": {\"$ref\": \"sub/b.json#named\"},"
		"                 \"p\": {\"$ref\": \"#/$defs/percent%25field\"}, \"q\": {\"$ref\": \"#/$defs/sl~1ash\"}},"
		" \"$defs\": {\"percent%field\": {\"type\": \"integer\"}, \"sl/ash\": {\"type\": \"boolean\"}}}";
	static const char b[] =
		"{\"$id\": \"https://example.org/schemas/sub/b.json\","
		" \"$defs\": {\"pos\": {\"type\": \"number\", \"minimum\": 0},"
		"            \"n\": {\"$anchor\": \"named\", \"type\": \"string\"},"
		"            \"in\": {\"$id\": \"inner.json\", \"$anchor\": \"named\", \"type\": \"string\"}}}";
	xch_schema_set *set;
	xch_violations *v;
	xch_buf id = XCH_BUF_INIT;

	assert_int_equal(xch_schema_set_new(&set), 0);
	/* a first: references resolve when validation needs them */
	assert_int_equal(xch_schema_set_add_buffer(set, a, strlen(a), "a.json", &id), 0);
	assert_string_equal(id.ptr, "https://example.org/schemas/a.json");
	assert_int_equal(check(&v, set, id.ptr, "{\"b\": 1}"), XCH_ENOTFOUND);
	assert_null(v);
	assert_non_null(strstr(xch_error_last()->message, "https://example.org/schemas/sub/b.json"));
	assert_int_equal(xch_schema_set_add_buffer(set, b, strlen(b), NULL, NULL), 0);

	assert_int_equal(check(&v, set, id.ptr, "{\"b\": 1, \"c\": \"x\", \"p\": 1, \"q\": true}"), 0);
	assert_int_equal(check(&v, set, id.ptr, "{\"b\": -1, \"c\": 2, \"p\": 1.5, \"q\": 0}"), XCH_ESCHEMA);
	ASSERT_VIOLATION(v, "/b", "https://example.org/schemas/sub/b.json#/$defs/pos/minimum",
	                 "value -1 is less than the minimum 0");
	ASSERT_VIOLATION(v, "/c", "https://example.org/schemas/sub/b.json#/$defs/n/type", "expected string, got integer");
	ASSERT_VIOLATION(v, "/p", "#/$defs/percent%field/type", "expected integer, got number");
	ASSERT_VIOLATION(v, "/q", "#/$defs/sl~1ash/type", "expected boolean, got integer");
	xch_violations_free(v);

	/* the embedded $id is a resource of its own, and fragments name subschemas */
	if (check(&v, set, "https://example.org/schemas/sub/inner.json", "\"s\"") != 0)
		fail_msg("%s", xch_error_last()->message);
	assert_int_equal(check(&v, set, "https://example.org/schemas/sub/b.json#/$defs/pos", "-2"), XCH_ESCHEMA);
	ASSERT_VIOLATION(v, "", "#/$defs/pos/minimum", "value -2 is less than the minimum 0");
	xch_violations_free(v);
	assert_int_equal(check(&v, set, "https://example.org/schemas/sub/b.json#named", "3"), XCH_ESCHEMA);
	xch_violations_free(v);
	assert_int_equal(check(&v, set, "https://example.org/schemas/sub/inner.json#named", "3"), XCH_ESCHEMA);
	ASSERT_VIOLATION(v, "", "#/$defs/in/type", "expected string, got integer");
	xch_violations_free(v);
	assert_int_equal(check(&v, set, "https://example.org/schemas/sub/b.json#nope", "3"), XCH_ENOTFOUND);
	assert_int_equal(check(&v, set, "https://example.org/unknown.json", "3"), XCH_ENOTFOUND);

	/* a URI is declared once */
	assert_int_equal(xch_schema_set_add_buffer(set, b, strlen(b), NULL, NULL), XCH_EEXISTS);
	assert_non_null(strstr(xch_error_last()->message, "already loaded"));
	xch_buf_dispose(&id);
	xch_schema_set_free(set);
}

static void test_file_without_id(void **state)
{
	char dir[] = "/tmp/xchXXXXXX", path[64], expect[4200], real[4096];
	xch_schema_set *set;
	xch_buf id = XCH_BUF_INIT;
	xch_violations *v;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("{\"$defs\": {\"x\": {\"type\": \"integer\"}}, \"$ref\": \"#/$defs/x\"}", f);
	fclose(f);
	assert_int_equal(xch_schema_set_new(&set), 0);
	assert_int_equal(xch_schema_set_add_file(set, path, &id), 0);
	assert_non_null(realpath(path, real));
	snprintf(expect, sizeof(expect), "file://%s", real);
	assert_string_equal(id.ptr, expect);
	assert_int_equal(check(&v, set, id.ptr, "1"), 0);
	assert_int_equal(check(&v, set, id.ptr, "\"1\""), XCH_ESCHEMA);
	ASSERT_VIOLATION(v, "", "#/$defs/x/type", "expected integer, got string");
	xch_violations_free(v);
	/* a document that does not parse */
	assert_int_equal(check(&v, set, id.ptr, "{\"a\": "), XCH_EMALFORMED);
	assert_null(v);
	xch_buf_dispose(&id);
	xch_schema_set_free(set);
	unlink(path);
	rmdir(dir);
}

static void test_unknown_remote_ref_refused(void **state)
{
	xch_schema_set *set = set_of(NULL,
		"{\"$id\": \"urn:r\", \"properties\": {\"x\": {\"$ref\": \"https://schemas.example.net/other.json#/a\"}}}");
	xch_violations *v;

	/* refused even when the instance never reaches the reference */
	assert_int_equal(check(&v, set, "urn:r", "{}"), XCH_ENOTFOUND);
	assert_null(v);
	assert_non_null(strstr(xch_error_last()->message, "'https://schemas.example.net/other.json'"));
	assert_non_null(strstr(xch_error_last()->message, "network"));
	assert_non_null(strstr(xch_error_last()->message, "#/properties/x"));
	/* and again: a failed resolution is not cached as a success */
	assert_int_equal(check(&v, set, "urn:r", "{}"), XCH_ENOTFOUND);
	xch_schema_set_free(set);
}

static void test_bad_schemas_refused(void **state)
{
	static const struct { const char *schema; int code; const char *text; } bad[] = {
		{ "{\"minLength\": -1}", XCH_EINVALID, "minLength" },
		{ "{\"type\": \"strnig\"}", XCH_EINVALID, "unknown type 'strnig'" },
		{ "{\"properties\": {\"a\": {\"pattern\": \"(\"}}}", XCH_EINVALID, "#/properties/a" },
		{ "{\"pattern\": \"\\\\a\"}", XCH_EINVALID, "invalid escape" },
		{ "{\"pattern\": \"(?i)x\"}", XCH_EINVALID, "unsupported group" },
		{ "{\"$schema\": \"https://example.com/my-meta\"}", XCH_EUNSUPPORTED, "unsupported $schema" },
		{ "{\"allOf\": []}", XCH_EINVALID, "allOf" },
		{ "[1]", XCH_EINVALID, "not a schema" },
		{ "{\"a\": ", XCH_EMALFORMED, "line 1" },
	};
	for (size_t i = 0; i < XCH_ARRAY_SIZE(bad); i++) {
		xch_schema_set *set;
		assert_int_equal(xch_schema_set_new(&set), 0);
		assert_int_equal(xch_schema_set_add_buffer(set, bad[i].schema, strlen(bad[i].schema), NULL, NULL), bad[i].code);
		if (!strstr(xch_error_last()->message, bad[i].text))
			fail_msg("%s: %s", bad[i].schema, xch_error_last()->message);
		xch_schema_set_free(set);
	}
}

static void test_draft7_ignores_ref_siblings(void **state)
{
	static const char d7[] =
		"{\"$schema\": \"http://json-schema.org/draft-07/schema#\", \"$id\": \"urn:d7\","
		" \"definitions\": {\"i\": {\"type\": \"integer\"}},"
		" \"properties\": {\"x\": {\"$ref\": \"#/definitions/i\", \"maximum\": 1},"
		"                \"y\": {\"items\": [{\"type\": \"string\"}], \"additionalItems\": false},"
		"                \"z\": {\"dependencies\": {\"a\": [\"b\"], \"c\": {\"required\": [\"d\"]}}}}}";
	static const char d2020[] =
		"{\"$id\": \"urn:d2020\", \"$defs\": {\"i\": {\"type\": \"integer\"}},"
		" \"properties\": {\"x\": {\"$ref\": \"#/$defs/i\", \"maximum\": 1}}}";
	xch_schema_set *set = set_of(NULL, d7);
	xch_violations *v;

	assert_int_equal(xch_schema_set_add_buffer(set, d2020, strlen(d2020), NULL, NULL), 0);
	assert_int_equal(check(&v, set, "urn:d7", "{\"x\": 5, \"y\": [\"s\"], \"z\": {\"a\": 1, \"b\": 2}}"), 0);
	assert_int_equal(check(&v, set, "urn:d7", "{\"x\": 1.5, \"y\": [\"s\", 1], \"z\": {\"a\": 1, \"c\": 2}}"),
	                 XCH_ESCHEMA);
	ASSERT_VIOLATION(v, "/x", "#/definitions/i/type", "expected integer, got number");
	ASSERT_VIOLATION(v, "/y", "#/properties/y/additionalItems", "array has 2 items, at most 1 is allowed");
	ASSERT_VIOLATION(v, "/z", "#/properties/z/dependencies", "property 'b' is required when 'a' is present");
	ASSERT_VIOLATION(v, "/z", "#/properties/z/dependencies/c/required", "missing required property 'd'");
	xch_violations_free(v);
	assert_int_equal(check(&v, set, "urn:d2020", "{\"x\": 5}"), XCH_ESCHEMA);
	ASSERT_VIOLATION(v, "/x", "#/properties/x/maximum", "value 5 is greater than the maximum 1");
	xch_violations_free(v);
	xch_schema_set_free(set);
}

static void test_unevaluated(void **state)
{
	xch_schema_set *set = set_of(NULL,
		"{\"$id\": \"urn:u\", \"allOf\": [{\"$ref\": \"#/$defs/base\"}],"
		" \"properties\": {\"kind\": {\"const\": \"x\"}},"
		" \"if\": {\"properties\": {\"kind\": {\"const\": \"x\"}}}, \"then\": {\"properties\": {\"extra\": true}},"
		" \"unevaluatedProperties\": false,"
		" \"$defs\": {\"base\": {\"properties\": {\"id\": {\"type\": \"string\"}}}}}");
	xch_violations *v;

	assert_int_equal(check(&v, set, "urn:u", "{\"id\": \"a\", \"kind\": \"x\", \"extra\": 1}"), 0);
	assert_int_equal(check(&v, set, "urn:u", "{\"id\": \"a\", \"stray\": 1}"), XCH_ESCHEMA);
	ASSERT_VIOLATION(v, "/stray", "#/unevaluatedProperties", "property 'stray' is not allowed (no keyword accepts it)");
	assert_int_equal(xch_violations_count(v), 1);
	xch_violations_free(v);
	xch_schema_set_free(set);
}

static void test_dynamic_ref(void **state)
{
	static const char list[] =
		"{\"$id\": \"https://example.org/list\", \"$dynamicAnchor\": \"item\","
		" \"type\": \"array\", \"items\": {\"$dynamicRef\": \"#item\"}}";
	static const char ints[] =
		"{\"$id\": \"https://example.org/ints\", \"$ref\": \"list\","
		" \"$defs\": {\"i\": {\"$dynamicAnchor\": \"item\", \"type\": \"integer\"}}}";
	xch_schema_set *set = set_of(NULL, list);
	xch_violations *v;

	assert_int_equal(xch_schema_set_add_buffer(set, ints, strlen(ints), NULL, NULL), 0);
	assert_int_equal(check(&v, set, "https://example.org/ints", "[1, 2]"), 0);
	assert_int_equal(check(&v, set, "https://example.org/ints", "[1, \"x\"]"), XCH_ESCHEMA);
	ASSERT_VIOLATION(v, "/1", "#/$defs/i/type", "expected integer, got string");
	xch_violations_free(v);
	xch_schema_set_free(set);
}

static void test_ref_loops_refused(void **state)
{
	static const char *loops[] = {
		"{\"$id\": \"urn:l\", \"$ref\": \"#\"}",
		"{\"$id\": \"urn:l\", \"$ref\": \"#/$defs/a\", \"$defs\": {\"a\": {\"$ref\": \"#/$defs/b\"}, \"b\": {\"allOf\": [{\"$ref\": \"#/$defs/a\"}]}}}",
		"{\"$id\": \"urn:l\", \"anyOf\": [{\"type\": \"string\"}, {\"$ref\": \"#\"}]}",
		"{\"$schema\": \"http://json-schema.org/draft-07/schema#\", \"$id\": \"urn:l\", \"definitions\": {\"a\": {\"$ref\": \"#\"}}, \"allOf\": [{\"$ref\": \"#/definitions/a\"}]}",
	};
	for (size_t i = 0; i < XCH_ARRAY_SIZE(loops); i++) {
		xch_schema_set *set = set_of(NULL, loops[i]);
		xch_violations *v;
		assert_int_equal(check(&v, set, "urn:l", "{\"a\": [1]}"), XCH_EINVALID);
		assert_null(v);
		assert_non_null(strstr(xch_error_last()->message, "endless loop"));
		xch_schema_set_free(set);
	}
}

static void test_recursion_that_consumes_is_fine(void **state)
{
	xch_schema_set *set = set_of(NULL,
		"{\"$id\": \"urn:tree\", \"type\": \"object\", \"properties\": {\"v\": {\"type\": \"integer\"},"
		" \"kids\": {\"type\": \"array\", \"items\": {\"$ref\": \"#\"}}}}");
	xch_buf doc = XCH_BUF_INIT;
	xch_violations *v;
	int depth = 30;

	for (int i = 0; i < depth; i++)
		assert_int_equal(xch_buf_puts(&doc, "{\"v\": 1, \"kids\": ["), 0);
	assert_int_equal(xch_buf_puts(&doc, "{\"v\": \"deep\"}"), 0);
	for (int i = 0; i < depth; i++)
		assert_int_equal(xch_buf_puts(&doc, "]}"), 0);
	assert_int_equal(check(&v, set, "urn:tree", doc.ptr), XCH_ESCHEMA);
	assert_int_equal(xch_violations_count(v), 1);
	assert_non_null(strstr(xch_violations_instance(v, 0), "/kids/0/kids/0/kids/0"));
	assert_string_equal(xch_violations_schema(v, 0), "#/properties/v/type");
	xch_violations_free(v);
	xch_buf_dispose(&doc);
	xch_schema_set_free(set);
}

static void test_exponential_schema_bounded(void **state)
{
	/* each level applies the next one twice: 2^40 evaluations unless bounded */
	xch_buf s = XCH_BUF_INIT;
	xch_schema_set *set;
	xch_violations *v;
	int levels = 40;

	assert_int_equal(xch_buf_puts(&s, "{\"$id\": \"urn:x\", \"$ref\": \"#/$defs/l0\", \"$defs\": {"), 0);
	for (int i = 0; i < levels; i++)
		assert_int_equal(xch_buf_printf(&s, "\"l%d\": {\"allOf\": [{\"$ref\": \"#/$defs/l%d\"}, {\"$ref\": \"#/$defs/l%d\"}]},",
		                                i, i + 1, i + 1), 0);
	assert_int_equal(xch_buf_printf(&s, "\"l%d\": {\"type\": \"integer\"}}}", levels), 0);
	set = set_of(NULL, s.ptr);
	assert_int_equal(check(&v, set, "urn:x", "1"), XCH_ETOOBIG);
	assert_null(v);
	assert_non_null(strstr(xch_error_last()->message, "steps"));
	xch_buf_dispose(&s);
	xch_schema_set_free(set);
}

static void test_deep_schema_refused(void **state)
{
	/* nesting beyond what a strict document allows, built in memory */
	json_t *root = json_object(), *cur = root;
	xch_schema_set *set;
	for (int i = 0; i < 300; i++) {
		json_t *next = json_object();
		json_object_set_new(cur, "items", next);
		cur = next;
	}
	assert_int_equal(xch_schema_set_new(&set), 0);
	assert_int_equal(xch_schema_set_add_json(set, root, "urn:deep", NULL), XCH_ETOOBIG);
	json_decref(root);
	xch_schema_set_free(set);
}

static void test_catastrophic_pattern_bounded(void **state)
{
	xch_schema_set *set = set_of(NULL, "{\"$id\": \"urn:p\", \"pattern\": \"^(a|a?)+$\"}");
	xch_buf doc = XCH_BUF_INIT;
	xch_violations *v;

	assert_int_equal(xch_buf_putc(&doc, '"'), 0);
	for (int i = 0; i < 40; i++)
		assert_int_equal(xch_buf_putc(&doc, 'a'), 0);
	assert_int_equal(xch_buf_puts(&doc, "b\""), 0);
	assert_int_equal(check(&v, set, "urn:p", doc.ptr), XCH_ESCHEMA);
	assert_int_equal(xch_violations_count(v), 1);
	xch_violations_free(v);
	xch_buf_dispose(&doc);
	xch_schema_set_free(set);
}

static void test_many_violations_capped(void **state)
{
	xch_schema_set *set = set_of(NULL, "{\"$id\": \"urn:m\", \"items\": {\"type\": \"string\"}}");
	xch_buf doc = XCH_BUF_INIT;
	xch_violations *v;
	size_t n = 5000;

	assert_int_equal(xch_buf_putc(&doc, '['), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(xch_buf_puts(&doc, i ? ",1" : "1"), 0);
	assert_int_equal(xch_buf_putc(&doc, ']'), 0);
	assert_int_equal(check(&v, set, "urn:m", doc.ptr), XCH_ESCHEMA);
	assert_int_equal(xch_violations_count(v), XCH_SCHEMA_MAX_VIOLATIONS);
	assert_string_equal(xch_violations_instance(v, 0), "/0");
	assert_string_equal(xch_violations_message(v, XCH_SCHEMA_MAX_VIOLATIONS - 1), "4001 more violations not listed");
	assert_non_null(strstr(xch_error_last()->message, "5000 violations"));
	xch_violations_free(v);
	xch_buf_dispose(&doc);
	xch_schema_set_free(set);
}

static void test_large_unique_array(void **state)
{
	xch_schema_set *set = set_of(NULL, "{\"$id\": \"urn:u\", \"uniqueItems\": true}");
	xch_buf doc = XCH_BUF_INIT;
	xch_violations *v;
	size_t n = 100000;

	assert_int_equal(xch_buf_putc(&doc, '['), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(xch_buf_printf(&doc, "%s{\"k\": %zu}", i ? "," : "", i), 0);
	assert_int_equal(xch_buf_puts(&doc, ",{\"k\": 77.0}]"), 0);
	assert_int_equal(check(&v, set, "urn:u", doc.ptr), XCH_ESCHEMA);
	ASSERT_VIOLATION(v, "", "#/uniqueItems", "items 77 and 100000 are equal, but the items must be unique");
	xch_violations_free(v);
	xch_buf_dispose(&doc);
	xch_schema_set_free(set);
}

static void test_ecma_regex_dialect(void **state)
{
	static const struct { const char *ecma, *pcre; } cases[] = {
		{ "^\\d+$", "^\\d+$" },
		{ "a.b", "a[^\\n\\r\\x{2028}\\x{2029}]b" },
		{ "\\u00e9\\uD83D\\uDC32", "\\x{e9}\\x{1f432}" },
		{ "[^]", "[\\x{0}-\\x{10ffff}]" },
		{ "[]", "(?!)" },
		{ "[[:x]", "[\\[:x]" },
		{ "\\cJ\\v\\0", "\\x{a}\\x{0b}\\x{0}" },
		{ "(?<y>\\d{4})\\k<y>\\1", "(?<y>\\d{4})\\k<y>\\g{1}" },
		{ "\\p{Letter}\\P{Lu}", "\\p{L}\\P{Lu}" },
	};
	xch_buf out = XCH_BUF_INIT;
	for (size_t i = 0; i < XCH_ARRAY_SIZE(cases); i++) {
		assert_int_equal(xch_schema_regex_translate(&out, cases[i].ecma, strlen(cases[i].ecma)), 0);
		assert_string_equal(out.ptr, cases[i].pcre);
	}
	assert_int_equal(xch_schema_regex_translate(&out, "a**", 3), XCH_EINVALID);
	assert_int_equal(xch_schema_regex_translate(&out, "\\z", 2), XCH_EINVALID);
	assert_int_equal(xch_schema_regex_translate(&out, "\\uD800", 6), XCH_EINVALID);
	xch_buf_dispose(&out);
}

static void test_formats(void **state)
{
	static const struct { const char *format, *value; int valid; } cases[] = {
		{ "date-time", "2024-02-29T23:59:60Z", 1 }, { "date-time", "2023-02-29T00:00:00Z", 0 },
		{ "date-time", "2024-01-01T00:00:00", 0 }, { "date", "2024-12-31", 1 }, { "time", "10:00:00+01:00", 1 },
		{ "email", "a.b@example.org", 1 }, { "email", "a..b@example.org", 0 },
		{ "uri", "https://example.org/a?b#c", 1 }, { "uri", "/relative", 0 }, { "uri-reference", "/relative", 1 },
		{ "uuid", "123e4567-e89b-12d3-a456-426614174000", 1 }, { "uuid", "123e4567e89b12d3a456426614174000", 0 },
		{ "ipv4", "10.0.0.1", 1 }, { "ipv4", "10.0.0.01", 0 }, { "ipv6", "fe80::1", 1 }, { "ipv6", "fe80:::1", 0 },
		{ "hostname", "host.example", 1 }, { "hostname", "-bad.example", 0 }, { "duration", "P1DT2H", 1 },
		{ "no-such-format", "x", -1 },
	};
	for (size_t i = 0; i < XCH_ARRAY_SIZE(cases); i++)
		if (xch_schema_format_check(cases[i].format, cases[i].value, strlen(cases[i].value)) != cases[i].valid)
			fail_msg("%s '%s'", cases[i].format, cases[i].value);
}

/* Random patterns and strings: refused or accepted, never a crash (run under valgrind). */
static void test_random_inputs(void **state)
{
	static const char alphabet[] = "\\[](){}|^$.*+?-,:=!<>/~%@#0123456789abcdefpPuxcdswDSWkbB \xc3\xa9\xe2\x80\xa8";
	static const char *formats[] = { "date-time", "date", "time", "duration", "email", "idn-email", "hostname",
	                                 "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference",
	                                 "uri-template", "uuid", "json-pointer", "relative-json-pointer", "regex" };
	unsigned seed = 12345;
	xch_buf out = XCH_BUF_INIT;
	char s[40];

	for (int round = 0; round < 3000; round++) {
		size_t len = 0, want;
		pcre2_code *code;
		seed = seed * 1103515245 + 12345;
		want = (seed >> 16) % (sizeof(s) - 4);
		while (len < want) {
			seed = seed * 1103515245 + 12345;
			char ch = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
			if ((unsigned char)ch >= 0x80)
				break; /* keep the string valid UTF-8: multibyte runs come whole below */
			s[len++] = ch;
		}
		if (len + 3 < sizeof(s) && (seed & 0x100)) {
			memcpy(s + len, "\xe2\x80\xa8", 3);
			len += 3;
		}
		s[len] = '\0';
		(void)xch_schema_regex_translate(&out, s, len);
		if (xch_schema_regex_compile(&code, s, len) == 0)
			pcre2_code_free(code);
		for (size_t f = 0; f < XCH_ARRAY_SIZE(formats); f++)
			(void)xch_schema_format_check(formats[f], s, len);
	}
	xch_buf_dispose(&out);
}

static void test_arguments(void **state)
{
	xch_schema_set *set;
	xch_violations *v = (xch_violations *)&v;
	assert_int_equal(xch_schema_set_new(NULL), XCH_EINVALID);
	assert_int_equal(xch_schema_set_new(&set), 0);
	assert_int_equal(xch_schema_validate_buffer(&v, set, NULL, "1", 1, NULL), XCH_EINVALID);
	assert_null(v);
	assert_int_equal(xch_schema_set_add_json(set, json_true(), "relative/uri", NULL), XCH_EINVALID);
	assert_int_equal(xch_violations_count(NULL), 0);
	assert_null(xch_violations_message(NULL, 0));
	xch_violations_free(NULL);
	xch_schema_set_free(set);
	xch_schema_set_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_document),
		cmocka_unit_test(test_every_violation_reported),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_any_of_summary),
		cmocka_unit_test(test_one_of_twice),
		cmocka_unit_test(test_refs_across_documents),
		cmocka_unit_test(test_file_without_id),
		cmocka_unit_test(test_unknown_remote_ref_refused),
		cmocka_unit_test(test_bad_schemas_refused),
		cmocka_unit_test(test_draft7_ignores_ref_siblings),
		cmocka_unit_test(test_unevaluated),
		cmocka_unit_test(test_dynamic_ref),
		cmocka_unit_test(test_ref_loops_refused),
		cmocka_unit_test(test_recursion_that_consumes_is_fine),
		cmocka_unit_test(test_exponential_schema_bounded),
		cmocka_unit_test(test_deep_schema_refused),
		cmocka_unit_test(test_catastrophic_pattern_bounded),
		cmocka_unit_test(test_many_violations_capped),
		cmocka_unit_test(test_large_unique_array),
		cmocka_unit_test(test_ecma_regex_dialect),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_random_inputs),
		cmocka_unit_test(test_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

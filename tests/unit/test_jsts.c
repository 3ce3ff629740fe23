/*
 * Runs the official JSON Schema Test Suite against the validator, and
 * prints TAP (one line per test file) for automake's TAP driver.
 *
 *   draft 7:       /usr/share/json-schema-test-suite/tests/draft7 (Debian's
 *                  json-schema-test-suite), remotes in .../remotes
 *   draft 2020-12: $XCH_TOP_SRCDIR/../shared/testdata/JSON-Schema-Test-Suite/
 *                  tests/draft2020-12, remotes in .../remotes
 *
 * Every top-level file of a draft runs, plus the optional files for the
 * formats we check and for ECMA-262 regular expressions. Cases we do not
 * claim are listed, with the reason, in tests/resources/jsts-skip.txt (one
 * per line, tab-separated: file, test case description or "*", test
 * description or "*", reason); every other case must pass. A missing suite
 * folder is reported as a skipped test, loudly. Remote references are
 * served from the remotes/ folder under http://localhost:1234/ through the
 * set's loader: nothing touches the network.
 *
 * XCH_JSTS_VERBOSE=1 prints every failing case, skipped ones included.
 */
#include "common.h"
#include "schema.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	char *file, *group, *test, *reason;
	int used;
} skip_entry;

static skip_entry *skips;
static size_t nskips;
static int tap_n;
static bool verbose;

typedef struct {
	char *path;
	json_t *json;
} cached;

typedef struct {
	const char *remotes;
	cached *cache;
	size_t ncache, acache;
} remotes_ctx;

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
	return p;
}

static void load_skips(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	size_t alloc = 0;

	if (!f) {
		printf("# cannot open the skip list '%s'\n", path);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *fields[4], *p = line;
		size_t len = strlen(line);
		int n = 0;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		while (n < 4) {
			fields[n++] = p;
			if (!(p = strchr(p, '\t')))
				break;
			*p++ = '\0';
		}
		if (n != 4) {
			printf("# bad skip list line (want 4 tab-separated fields): %s\n", line);
			continue;
		}
		if (nskips == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			skips = realloc(skips, alloc * sizeof(*skips));
			if (!skips)
				exit(99);
		}
		skips[nskips++] = (skip_entry){ xstrdup(fields[0]), xstrdup(fields[1]), xstrdup(fields[2]),
		                                xstrdup(fields[3]), 0 };
	}
	fclose(f);
}

static const skip_entry *find_skip(const char *file, const char *group, const char *test)
{
	for (size_t i = 0; i < nskips; i++) {
		skip_entry *s = &skips[i];
		if (strcmp(s->file, file))
			continue;
		if (strcmp(s->group, "*") && strcmp(s->group, group))
			continue;
		if (strcmp(s->test, "*") && strcmp(s->test, test))
			continue;
		s->used++;
		return s;
	}
	return NULL;
}

/* Serve http://localhost:1234/<path> from the remotes folder. */
static int serve_remote(xch_schema_set *set, const char *uri, void *payload)
{
	remotes_ctx *rc = payload;
	static const char prefix[] = "http://localhost:1234/";
	char path[4096];
	json_t *json = NULL;
	json_error_t jerr;

	if (strncmp(uri, prefix, sizeof(prefix) - 1) || strstr(uri, "..") || strchr(uri, '?'))
		return XCH_ENOTFOUND;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", rc->remotes, uri + sizeof(prefix) - 1) >= sizeof(path))
		return XCH_ENOTFOUND;
	for (size_t i = 0; i < rc->ncache; i++)
		if (!strcmp(rc->cache[i].path, path))
			json = rc->cache[i].json;
	if (!json) {
		if (!(json = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)))
			return XCH_ENOTFOUND;
		if (rc->ncache == rc->acache) {
			rc->acache = rc->acache ? rc->acache * 2 : 16;
			if (!(rc->cache = realloc(rc->cache, rc->acache * sizeof(*rc->cache))))
				exit(99);
		}
		rc->cache[rc->ncache++] = (cached){ xstrdup(path), json };
	}
	return xch_schema_set_add_json(set, json, uri, NULL);
}

typedef struct {
	const char *name;       /* "draft7" */
	const char *dir;        /* its tests */
	const char *remotes;
	int draft;
	size_t passed, skipped, failed, stale;
} suite;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .json files of a directory, sorted. */
static char **list_json(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t alloc = 0;

	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		if (*n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			if (!(names = realloc(names, alloc * sizeof(*names))))
				exit(99);
		}
		names[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n)
		qsort(names, *n, sizeof(*names), cmp_str);
	return names;
}

static void describe_failure(char *buf, size_t size, int r, const xch_violations *v)
{
	if (r == XCH_ESCHEMA && v && xch_violations_count(v))
		snprintf(buf, size, "invalid: %s: %s (%s)", xch_violations_instance(v, 0),
		         xch_violations_message(v, 0), xch_violations_schema(v, 0));
	else if (r == 0)
		snprintf(buf, size, "valid");
	else
		snprintf(buf, size, "error %d: %s", r, xch_error_last()->message);
}

/* Run one test file; prints its TAP line. */
static void run_file(suite *s, remotes_ctx *rc, const char *rel, bool format_assert)
{
	char path[4096], key[512], fails[8192] = "";
	size_t flen = 0, passed = 0, skipped = 0, failed = 0;
	json_error_t jerr;
	json_t *cases, *tc;
	size_t gi;
	const skip_entry *whole;

	snprintf(path, sizeof(path), "%s/%s", s->dir, rel);
	snprintf(key, sizeof(key), "%s/%s", s->name, rel);
	whole = find_skip(key, "*", "*");
	if (whole && !strcmp(whole->group, "*") && !strcmp(whole->test, "*")) {
		printf("ok %d - %s # SKIP %s\n", ++tap_n, key, whole->reason);
		if ((cases = json_load_file(path, JSON_ALLOW_NUL, &jerr))) {
			json_array_foreach(cases, gi, tc)
				s->skipped += json_array_size(json_object_get(tc, "tests"));
			json_decref(cases);
		}
		return;
	}
	if (!(cases = json_load_file(path, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr)) || !json_is_array(cases)) {
		printf("not ok %d - %s: cannot read: %s\n", ++tap_n, key, cases ? "not an array" : jerr.text);
		s->failed++;
		json_decref(cases);
		return;
	}
	json_array_foreach(cases, gi, tc) {
		const char *gdesc = json_string_value(json_object_get(tc, "description"));
		json_t *schema = json_object_get(tc, "schema"), *tests = json_object_get(tc, "tests"), *t;
		xch_schema_set *set = NULL;
		xch_buf id = XCH_BUF_INIT;
		int add_error;
		char add_msg[512] = "";
		size_t ti;

		if (!gdesc)
			gdesc = "";
		if (xch_schema_set_new(&set) < 0)
			exit(99);
		xch_schema_set_default_draft(set, s->draft);
		xch_schema_set_format_assertion(set, format_assert);
		xch_schema_set_loader(set, serve_remote, rc);
		add_error = xch_schema_set_add_json(set, schema, NULL, &id);
		if (add_error < 0)
			snprintf(add_msg, sizeof(add_msg), "%s", xch_error_last()->message);

		json_array_foreach(tests, ti, t) {
			const char *tdesc = json_string_value(json_object_get(t, "description"));
			bool want = json_is_true(json_object_get(t, "valid"));
			const skip_entry *sk = find_skip(key, gdesc, tdesc ? tdesc : "");
			xch_violations *v = NULL;
			char got[1024];
			bool pass;
			int r;

			if (add_error < 0) {
				snprintf(got, sizeof(got), "schema refused: %s", add_msg);
				pass = false;
				r = add_error;
			} else {
				r = xch_schema_validate_json(&v, set, id.ptr, json_object_get(t, "data"));
				pass = (r == 0 && want) || (r == XCH_ESCHEMA && !want);
				if (r == XCH_ESCHEMA && (!v || !xch_violations_count(v))) {
					pass = false;
					snprintf(got, sizeof(got), "invalid, but no violation listed");
				} else {
					describe_failure(got, sizeof(got), r, v);
				}
				/* every violation has its three strings */
				for (size_t k = 0; k < xch_violations_count(v); k++)
					if (!xch_violations_instance(v, k) || !xch_violations_schema(v, k) ||
					    !xch_violations_message(v, k) || !*xch_violations_message(v, k))
						pass = false;
			}
			if (sk) {
				skipped++;
				if (pass) {
					s->stale++;
					if (verbose)
						printf("# skipped case passes: %s | %s | %s\n", key, gdesc, tdesc);
				}
			} else if (pass) {
				passed++;
			} else {
				failed++;
				if (flen < sizeof(fails) - 1)
					flen += (size_t)snprintf(fails + flen, sizeof(fails) - flen,
					                         "#   FAIL %s | %s: want %s, got %s\n", gdesc, tdesc,
					                         want ? "valid" : "invalid", got);
			}
			if (verbose && !pass && sk)
				printf("#   (skipped) %s | %s: want %s, got %s\n", gdesc, tdesc, want ? "valid" : "invalid", got);
			xch_violations_free(v);
		}
		xch_buf_dispose(&id);
		xch_schema_set_free(set);
	}
	json_decref(cases);
	printf("%s %d - %s: %zu passed, %zu skipped%s\n", failed ? "not ok" : "ok", ++tap_n, key, passed, skipped,
	       failed ? "" : "");
	if (failed)
		printf("#   %zu failed:\n%s", failed, fails);
	s->passed += passed;
	s->skipped += skipped;
	s->failed += failed;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The optional files we claim: formats we check, ECMA-262 regular
 * expressions, and references and identifiers. (Not claimed: bignum,
 * big integers jansson cannot hold; content, contentEncoding and
 * contentMediaType are annotations only; cross-draft, the 2019-09 dialect;
 * format-assertion, custom meta-schemas; idn-hostname, IDNA2008 tables.)
 */
static const char *optional_files[] = {
	"optional/ecmascript-regex.json",
	"optional/non-bmp-regex.json",
	"optional/zeroTerminatedFloats.json",
	"optional/float-overflow.json",
	"optional/anchor.json",
	"optional/dynamicRef.json",
	"optional/id.json",
	"optional/no-schema.json",
	"optional/refOfUnknownKeyword.json",
	"optional/unknownKeyword.json",
	"optional/dependencies-compatibility.json",
	"optional/format/date-time.json",
	"optional/format/date.json",
	"optional/format/time.json",
	"optional/format/duration.json",
	"optional/format/email.json",
	"optional/format/idn-email.json",
	"optional/format/hostname.json",
	"optional/format/ipv4.json",
	"optional/format/ipv6.json",
	"optional/format/uri.json",
	"optional/format/uri-reference.json",
	"optional/format/iri.json",
	"optional/format/iri-reference.json",
	"optional/format/uri-template.json",
	"optional/format/uuid.json",
	"optional/format/json-pointer.json",
	"optional/format/relative-json-pointer.json",
	"optional/format/regex.json",
	"optional/format/unknown.json",
};

static void run_suite(suite *s)
{
	remotes_ctx rc = { s->remotes, NULL, 0, 0 };
	char **names;
	size_t n;

	if (!is_dir(s->dir)) {
		printf("# SKIP: ******************************************************\n");
		printf("# SKIP: the %s JSON Schema Test Suite is not at %s\n", s->name, s->dir);
		printf("# SKIP: %s is NOT checked against the suite\n", s->name);
		printf("# SKIP: ******************************************************\n");
		printf("ok %d # SKIP %s suite absent (%s)\n", ++tap_n, s->name, s->dir);
		return;
	}
	if (!is_dir(s->remotes))
		printf("# warning: no remotes folder at %s: remote references will fail\n", s->remotes);
	names = list_json(s->dir, &n);
	for (size_t i = 0; i < n; i++) {
		run_file(s, &rc, names[i], strcmp(names[i], "format.json") != 0);
		free(names[i]);
	}
	free(names);
	for (size_t i = 0; i < XCH_ARRAY_SIZE(optional_files); i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", s->dir, optional_files[i]);
		if (access(path, R_OK) == 0)
			run_file(s, &rc, optional_files[i], true);
	}
	for (size_t i = 0; i < rc.ncache; i++) {
		free(rc.cache[i].path);
		json_decref(rc.cache[i].json);
	}
	free(rc.cache);
	printf("# %s: %zu passed, %zu skipped, %zu failed (%zu skipped cases pass anyway)\n", s->name, s->passed,
	       s->skipped, s->failed, s->stale);
}

int main(void)
{
	const char *top = getenv("XCH_TOP_SRCDIR");
	char skip_path[4096], d2020[4096], r2020[4096];
	suite suites[2];
	int unused = 0;

	verbose = getenv("XCH_JSTS_VERBOSE") && *getenv("XCH_JSTS_VERBOSE") == '1';
	if (!top)
		top = ".";
	snprintf(skip_path, sizeof(skip_path), "%s/tests/resources/jsts-skip.txt", top);
	snprintf(d2020, sizeof(d2020), "%s/../shared/testdata/JSON-Schema-Test-Suite/tests/draft2020-12", top);
	snprintf(r2020, sizeof(r2020), "%s/../shared/testdata/JSON-Schema-Test-Suite/remotes", top);
	load_skips(skip_path);

	suites[0] = (suite){ "draft7", "/usr/share/json-schema-test-suite/tests/draft7",
	                     "/usr/share/json-schema-test-suite/remotes", 7, 0, 0, 0, 0 };
	suites[1] = (suite){ "draft2020-12", d2020, r2020, 2020, 0, 0, 0, 0 };
	for (size_t i = 0; i < 2; i++)
		run_suite(&suites[i]);

	/* a skip entry that matched nothing is out of date */
	for (size_t i = 0; i < nskips; i++) {
		bool dir_present = !strncmp(skips[i].file, "draft7/", 7) ? is_dir(suites[0].dir) : is_dir(suites[1].dir);
		if (!skips[i].used && dir_present) {
			printf("# unused skip entry: %s | %s | %s\n", skips[i].file, skips[i].group, skips[i].test);
			unused++;
		}
	}
	printf("%s %d - the skip list names only existing cases (%d unused)\n", unused ? "not ok" : "ok", ++tap_n, unused);
	for (size_t i = 0; i < 2; i++)
		printf("# total %s: %zu passed, %zu skipped\n", suites[i].name, suites[i].passed, suites[i].skipped);
	printf("1..%d\n", tap_n);
	for (size_t i = 0; i < nskips; i++) {
		free(skips[i].file);
		free(skips[i].group);
		free(skips[i].test);
		free(skips[i].reason);
	}
	free(skips);
	return 0;
}

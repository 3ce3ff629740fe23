/*
 * xch validate: check documents against their schema; needs no store.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char summary[] =
	"Check each FILE: a record against the schema of its type, or with --schema\n"
	"any JSON document against SCHEMA (draft 2020-12 or 7). References to other\n"
	"schemas resolve by $id among the *.json files of each --schema-path DIR;\n"
	"nothing is ever fetched. Every violation is listed with its JSON pointer.";

/*
 * Add a schema from a --schema-path directory. An $id with a query
 * ("...cvss-v3.1.json?20211103") also answers without it, as references
 * to versioned schemas are usually written.
 */
static int add_schema(xch_schema_set *set, const char *path)
{
	json_t *doc = json_load_file(path, JSON_DECODE_ANY, NULL);
	const char *id = json_string_value(json_object_get(doc, "$id"));
	char *bare = NULL;
	int error;

	if (!id)
		id = json_string_value(json_object_get(doc, "id")); /* draft 4 */
	if (id && strchr(id, '?') && (bare = strdup(id)))
		*strchr(bare, '?') = '\0';
	error = bare ? xch_schema_set_add_file_as(set, path, bare, NULL) : xch_schema_set_add_file(set, path, NULL);
	free(bare);
	json_decref(doc);
	return error;
}

static int load_dir(xch_schema_set *set, const char *dir)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort), error = 0;

	if (n < 0)
		return cli_die(EXIT_USAGE, "cannot read directory '%s'", dir);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);
		char path[4096];
		struct stat st;
		if (!error && len > 5 && !strcmp(names[i]->d_name + len - 5, ".json") &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) < sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			/* the first of several documents with one $id wins (CVSS's *_strict variants) */
			int e = add_schema(set, path);
			if (e < 0 && e != XCH_EEXISTS)
				error = cli_fail(e);
		}
		free(names[i]);
	}
	free(names);
	return error;
}

/* Read up to one byte past the JSON size limit; the parser refuses anything larger. */
static int read_file(char **out, size_t *len_out, const char *path)
{
	const size_t cap = (16u << 20) + 1;
	FILE *fp = fopen(path, "rb");
	char *p;
	size_t len = 0, n;

	if (!fp)
		return cli_die(XCH_ENOTFOUND, "cannot open '%s': %s", path, strerror(errno));
	if (!(p = malloc(cap))) {
		fclose(fp);
		return XCH_ERROR;
	}
	while (len < cap && (n = fread(p + len, 1, cap - len, fp)) > 0)
		len += n;
	fclose(fp);
	*out = p;
	*len_out = len;
	return 0;
}

static json_t *violations_json(const xch_violations *v)
{
	json_t *arr = json_array();
	for (size_t i = 0; v && i < xch_violations_count(v); i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "instance", xch_violations_instance(v, i),
			"schema", xch_violations_schema(v, i), "message", xch_violations_message(v, i)));
	return arr;
}

CLI_COMMAND(validate)
{
	cli_strv files = { 0 }, paths = { 0 };
	const char *schema = NULL;
	int json = 0, error, rc = EXIT_OK;
	xch_schema_set *set = NULL;
	xch_buf uri = XCH_BUF_INIT;
	json_t *out = NULL;
	size_t invalid = 0;
	const cli_opt options[] = {
		{ CLI_OPT_VALUE, 's', "schema", "SCHEMA", &schema, 0, "validate against this schema file" },
		{ CLI_OPT_LIST, 0, "schema-path", "DIR", &paths, 0, "schemas that references may name by $id" },
		{ CLI_OPT_FLAG, 0, "json", NULL, &json, 0, "print the results as JSON" },
		{ CLI_OPT_ARGS, 0, "FILE", NULL, &files, CLI_OPT_REQUIRED, "documents to check" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("validate", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if ((error = schema ? xch_schema_set_new(&set) : xch_schema_set_builtin(&set)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	for (size_t i = 0; i < paths.n; i++)
		if ((rc = load_dir(set, paths.v[i])) != 0)
			goto done;
	if (schema && (error = xch_schema_set_add_file(set, schema, &uri)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if (json)
		out = json_array();
	for (size_t i = 0; i < files.n; i++) {
		xch_violations *v = NULL;
		xch_record *r = NULL;
		const char *f = files.v[i];

		if (schema) {
			char *data = NULL;
			size_t len = 0;
			if ((error = read_file(&data, &len, f)) == 0 &&
			    (error = xch_schema_validate_buffer(&v, set, uri.ptr, data, len, f)) < 0 &&
			    error != XCH_ESCHEMA)
				fprintf(stderr, "xch: %s\n", xch_error_last()->message);
			free(data);
		} else {
			if ((error = xch_record_load(&r, f)) < 0)
				fprintf(stderr, "xch: %s\n", xch_error_last()->message);
			else if ((error = xch_record_validate(&v, set, r)) < 0 && error != XCH_ESCHEMA)
				fprintf(stderr, "xch: '%s': %s\n", f, xch_error_last()->message);
		}
		if (error < 0)
			invalid++;
		if (out) {
			json_array_append_new(out, json_pack("{s:s, s:b, s:o, s:s?}", "file", f, "valid", error == 0,
				"errors", violations_json(v),
				"error", error < 0 && error != XCH_ESCHEMA ? xch_error_last()->message : NULL));
		} else if (error == 0) {
			printf("%s: ok\n", f);
		} else if (v) {
			for (size_t k = 0; k < xch_violations_count(v); k++) {
				const char *ptr = xch_violations_instance(v, k);
				fprintf(stderr, "xch: '%s': %s: %s\n", f, *ptr ? ptr : "/", xch_violations_message(v, k));
			}
		}
		xch_violations_free(v);
		xch_record_free(r);
	}
	if (out)
		cli_print_json(out, true), out = NULL;
	if (invalid)
		rc = EXIT_CHECK;
done:
	json_decref(out);
	xch_schema_set_free(set);
	xch_buf_dispose(&uri);
	cli_strv_free(&files);
	cli_strv_free(&paths);
	return rc;
}

/*
 * xch conflicts: records whose versions disagree.
 */
#include "config.h"

#include "cli.h"

static const char summary[] =
	"List the records in conflict: where our version and a partner's disagree.\n"
	"Both are kept, and the record stays out of bundles, until xch resolve.";

static int one(const xch_conflict *c, void *payload)
{
	json_t *arr = payload;
	if (arr) {
		json_t *ptrs = json_array();
		for (size_t i = 0; i < c->npointers; i++)
			json_array_append_new(ptrs, json_string(c->pointers[i]));
		return json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o?, s:o?, s:o?}",
			"id", c->id, "type", c->type, "partner", c->partner, "bundle", c->bundle, "pointers", ptrs,
			"base", c->base ? json_loads(c->base, 0, NULL) : NULL,
			"ours", c->ours ? json_loads(c->ours, 0, NULL) : NULL,
			"theirs", c->theirs ? json_loads(c->theirs, 0, NULL) : NULL)) < 0 ? -1 : 0;
	}
	printf("%s %s: with %s (bundle %.12s)\n", c->type, c->id, c->partner, c->bundle);
	for (size_t i = 0; i < c->npointers; i++)
		printf("    %s\n", *c->pointers[i] ? c->pointers[i] : "(the whole record)");
	return 0;
}

CLI_COMMAND(conflicts)
{
	int json = 0, error, rc = EXIT_OK;
	xch_store *s = NULL;
	json_t *arr = NULL;
	const cli_opt options[] = {
		{ CLI_OPT_FLAG, 0, "json", NULL, &json, 0, "print base, ours and theirs as JSON" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("conflicts", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if (json)
		arr = json_array();
	if ((error = cli_open_store(&s)) < 0 || (error = xch_conflicts_foreach(s, one, arr)) < 0)
		rc = cli_fail(error);
	else if (arr)
		cli_print_json(arr, true), arr = NULL;
	json_decref(arr);
	xch_store_free(s);
	return rc;
}

/*
 * xch list: the records in the store.
 */
#include "config.h"

#include "cli.h"

static const char summary[] = "List the records in the store: id, type, TLP and title.";

static int print_line(const xch_record *r, void *payload)
{
	json_t *arr = payload;
	const char *tlp = xch_record_tlp(r);
	if (arr)
		return json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s?}", "id", xch_record_id(r),
			"type", xch_record_type(r), "title", xch_record_title(r), "tlp", tlp)) < 0 ? -1 : 0;
	printf("%-24s %-10s %-12s %s\n", xch_record_id(r), xch_record_type(r), tlp ? tlp : "-",
	       xch_record_title(r));
	return 0;
}

CLI_COMMAND(list)
{
	const char *type = NULL;
	int json = 0, error, rc = EXIT_OK;
	xch_store *s = NULL;
	json_t *arr = NULL;
	const cli_opt options[] = {
		{ CLI_OPT_VALUE, 't', "type", "TYPE", &type, 0, "only records of TYPE (assessment, advisory)" },
		{ CLI_OPT_FLAG, 0, "json", NULL, &json, 0, "print a JSON array" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("list", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if (json)
		arr = json_array();
	if ((error = cli_open_store(&s)) < 0 || (error = xch_store_foreach(s, type, print_line, arr)) < 0)
		rc = cli_fail(error);
	else if (arr)
		cli_print_json(arr, true), arr = NULL;
	json_decref(arr);
	xch_store_free(s);
	return rc;
}

/*
 * xch status: a summary of the store.
 */
#include "config.h"

#include "cli.h"

static const char summary[] = "Summarise the store: where it is, our identity, and what it holds.";

CLI_COMMAND(status)
{
	int json = 0, error, rc = EXIT_OK;
	xch_store *s = NULL;
	xch_store_counts counts;
	xch_buf id = XCH_BUF_INIT;
	const cli_opt options[] = {
		{ CLI_OPT_FLAG, 0, "json", NULL, &json, 0, "print a JSON object" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("status", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if ((error = cli_open_store(&s)) < 0 || (error = xch_store_counts_get(&counts, s)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if (xch_store_identity(&id, s) < 0)
		xch_error_clear();
	if (json) {
		cli_print_json(json_pack("{s:s, s:s?, s:{s:I, s:I}, s:I, s:I}", "store", xch_store_path(s),
			"identity", id.ptr, "records", "assessment", (json_int_t)counts.assessments,
			"advisory", (json_int_t)counts.advisories, "tombstones", (json_int_t)counts.tombstones,
			"attachments", (json_int_t)counts.attachments), true);
		goto done;
	}
	printf("store:       %s\n", xch_store_path(s));
	printf("identity:    %s\n", id.ptr ? id.ptr : "(none; see 'xch identity')");
	printf("records:     %zu (%zu assessments, %zu advisories)\n", counts.assessments + counts.advisories,
	       counts.assessments, counts.advisories);
	printf("deleted:     %zu\n", counts.tombstones);
	printf("attachments: %zu\n", counts.attachments);
done:
	xch_buf_dispose(&id);
	xch_store_free(s);
	return rc;
}

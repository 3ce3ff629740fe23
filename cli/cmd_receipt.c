/*
 * xch receipt: acknowledge what a partner's bundles delivered.
 */
#include "config.h"

#include "cli.h"

static const char summary[] =
	"Seal a signed receipt for PARTNER, encrypted to it: for each of its\n"
	"channels to us, the last bundle imported. It travels like a bundle; the\n"
	"partner imports it with xch import, and from then on seals us only what\n"
	"changed since.";

CLI_COMMAND(receipt)
{
	const char *partner = NULL, *output = NULL;
	int json = 0, error, rc = EXIT_OK;
	xch_seal_options opts = XCH_SEAL_OPTIONS_INIT;
	xch_seal_result res = XCH_SEAL_RESULT_INIT;
	xch_store *s = NULL;
	const char *to[1];
	const cli_opt options[] = {
		{ CLI_OPT_VALUE, 0, "for", "PARTNER", &partner, CLI_OPT_REQUIRED, "the partner to acknowledge" },
		{ CLI_OPT_VALUE, 'o', "output", "FILE", &output, 0, "where to write the receipt" },
		{ CLI_OPT_FLAG, 0, "json", NULL, &json, 0, "print the result as JSON" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("receipt", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	to[0] = partner;
	opts.to = to;
	opts.nto = 1;
	opts.receipt = 1;
	opts.output = output;
	if ((error = cli_open_store(&s)) < 0 || (error = xch_bundle_seal(&res, s, &opts)) < 0)
		rc = cli_fail(error);
	else if (json)
		cli_print_json(json_pack("{s:s, s:s, s:I, s:s}", "receipt", res.bundle_id, "for", partner,
			"sequence", (json_int_t)res.sequence, "file", res.path.ptr), true);
	else
		printf("receipt for %s written to %s (sequence %llu)\n", partner, res.path.ptr,
		       (unsigned long long)res.sequence);
	xch_seal_result_dispose(&res);
	xch_store_free(s);
	return rc;
}

/*
 * xch open: verify a bundle, then extract it into a new directory.
 */
#include "config.h"

#include "cli.h"

static const char summary[] =
	"Verify a bundle completely (as xch verify), then extract its manifest,\n"
	"records and attachments into DIR, which must not exist. Nothing is left\n"
	"behind if any check fails.";

CLI_COMMAND(open)
{
	const char *file = NULL, *dir = NULL;
	xch_verify_options opts = XCH_VERIFY_OPTIONS_INIT;
	xch_bundle_info *info = NULL;
	xch_store *s = NULL;
	int error, rc = EXIT_OK;
	const cli_opt options[] = {
		{ CLI_OPT_VALUE, 'o', "output", "DIR", &dir, CLI_OPT_REQUIRED, "a new directory to extract into" },
		{ CLI_OPT_ARG, 0, "FILE", NULL, &file, CLI_OPT_REQUIRED, "the bundle" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("open", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	opts.extract_to = dir;
	if ((error = cli_open_store(&s)) < 0 || (error = xch_bundle_verify(&info, s, file, &opts)) < 0)
		rc = cli_fail(error);
	else
		printf("%s: verified, from partner '%s'; extracted into %s\n", file, xch_bundle_info_sender(info), dir);
	xch_bundle_info_free(info);
	xch_store_free(s);
	return rc;
}

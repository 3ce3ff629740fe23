/*
 * xch export: what partners are owed, onto a directory (a USB stick).
 */
#include "config.h"

#include "cli.h"

static const char summary[] =
	"Write every pending outgoing bundle (what each partner has not acknowledged\n"
	"and we have not sent since) and every receipt we owe into DIR, e.g. a mounted\n"
	"USB stick, with an index. Each file is written under a temporary name,\n"
	"fsync'd and renamed: a stick pulled out mid-write holds no partial file\n"
	"under a final name. The partner runs 'xch import DIR'.";

static void report(const char *file, int error, const char *what, void *payload)
{
	(void)payload;
	if (error)
		fprintf(stderr, "xch: '%s': %s\n", file, xch_error_last()->message);
	else
		printf("%s: %s\n", file, what);
}

CLI_COMMAND(export)
{
	const char *dir = NULL;
	cli_strv partners = { 0 };
	xch_transport_options opts = XCH_TRANSPORT_OPTIONS_INIT;
	xch_transport_result res;
	xch_store *s = NULL;
	int error, rc = EXIT_OK;
	const cli_opt options[] = {
		{ CLI_OPT_VALUE, 0, "to", "DIR", &dir, CLI_OPT_REQUIRED, "the directory to write into" },
		{ CLI_OPT_LIST, 0, "for", "PARTNER", &partners, 0, "only for this partner (repeatable)" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("export", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	opts.partners = partners.n ? partners.v : NULL;
	opts.npartners = partners.n;
	opts.notify = report;
	if ((error = cli_open_store(&s)) < 0 || (error = xch_export(&res, s, dir, &opts)) < 0)
		rc = cli_fail(error);
	else
		printf("exported %zu bundle%s and %zu receipt%s to %s\n", res.sealed, res.sealed == 1 ? "" : "s",
		       res.receipts, res.receipts == 1 ? "" : "s", dir);
	xch_store_free(s);
	cli_strv_free(&partners);
	return rc;
}

/*
 * xch resolve: settle a conflict.
 */
#include "config.h"

#include "cli.h"

static const char summary[] =
	"Resolve the conflict on record ID with our version, the partner's, or the\n"
	"record in FILE (validated; its id must be ID). History keeps all of them.";

CLI_COMMAND(resolve)
{
	const char *id = NULL, *file = NULL;
	int ours = 0, theirs = 0, error, rc = EXIT_OK;
	xch_store *s = NULL;
	const cli_opt options[] = {
		{ CLI_OPT_FLAG, 0, "ours", NULL, &ours, 0, "keep our version" },
		{ CLI_OPT_FLAG, 0, "theirs", NULL, &theirs, CLI_OPT_ALT, "take the partner's version" },
		{ CLI_OPT_VALUE, 0, "file", "FILE", &file, CLI_OPT_ALT, "take the record in FILE" },
		{ CLI_OPT_ARG, 0, "ID", NULL, &id, CLI_OPT_REQUIRED, "the record in conflict" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("resolve", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if (ours + theirs + (file != NULL) != 1)
		return cli_die(EXIT_USAGE, "resolve needs exactly one of --ours, --theirs, --file FILE");
	if ((error = cli_open_store(&s)) < 0 ||
	    (error = xch_conflict_resolve(s, id, ours ? XCH_RESOLVE_OURS : theirs ? XCH_RESOLVE_THEIRS :
	                                  XCH_RESOLVE_FILE, file)) < 0)
		rc = cli_fail(error);
	else
		printf("resolved %s with %s\n", id, ours ? "ours" : theirs ? "theirs" : file);
	xch_store_free(s);
	return rc;
}

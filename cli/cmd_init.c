/*
 * xch init: create a record store.
 */
#include "config.h"

#include "cli.h"

static const char summary[] =
	"Create a record store in DIR (default: the current directory): a git\n"
	"repository in DIR/.xch, private to its owner.";

CLI_COMMAND(init)
{
	const char *dir = NULL, *identity = NULL;
	xch_store_init_options opts = XCH_STORE_INIT_OPTIONS_INIT;
	xch_store *s = NULL;
	int error;
	const cli_opt options[] = {
		{ CLI_OPT_VALUE, 0, "identity", "FPR", &identity, 0, "our signing key's fingerprint" },
		{ CLI_OPT_ARG, 0, "DIR", NULL, &dir, 0, "where to create the store" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("init", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	opts.identity = identity;
	if ((error = xch_store_init(&s, dir ? dir : ".", &opts)) < 0)
		return cli_fail(error);
	printf("Initialized empty xch store in %s/.xch\n", xch_store_path(s));
	xch_store_free(s);
	return EXIT_OK;
}

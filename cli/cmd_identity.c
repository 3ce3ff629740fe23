/*
 * xch identity: show or set our signing key.
 */
#include "config.h"

#include "cli.h"

static const char summary[] =
	"Show our identity, or set it to the key FPR of the GnuPG keyring\n"
	"(GNUPGHOME): its secret key must be here, able to sign and decrypt.";

CLI_COMMAND(identity)
{
	const char *fpr = NULL;
	xch_store *s = NULL;
	xch_buf id = XCH_BUF_INIT;
	int error, rc = EXIT_OK;
	const cli_opt options[] = {
		{ CLI_OPT_ARG, 0, "FPR", NULL, &fpr, 0, "the fingerprint of our key" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("identity", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if ((error = cli_open_store(&s)) < 0)
		rc = cli_fail(error);
	else if (fpr && (error = xch_identity_set(s, fpr)) < 0)
		rc = cli_fail(error);
	else if ((error = xch_store_identity(&id, s)) < 0)
		rc = cli_fail(error);
	else
		printf("%s\n", id.ptr);
	xch_buf_dispose(&id);
	xch_store_free(s);
	return rc;
}

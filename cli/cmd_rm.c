/*
 * xch rm: delete records, leaving tombstones.
 */
#include "config.h"

#include <stdlib.h>

#include "cli.h"

static const char summary[] =
	"Delete records. Each leaves a tombstone, so the deletion travels to\n"
	"partners in the next bundle; history keeps every earlier version.";

CLI_COMMAND(rm)
{
	cli_strv ids = { 0 };
	const char *message = NULL;
	xch_store *s = NULL;
	xch_change *c = NULL;
	xch_buf commit = XCH_BUF_INIT;
	char *msgtext = NULL;
	size_t msglen = 0;
	FILE *msgf = NULL;
	int error, rc = EXIT_OK;
	const cli_opt options[] = {
		{ CLI_OPT_VALUE, 'm', "message", "MSG", &message, 0, "the commit message" },
		{ CLI_OPT_ARGS, 0, "ID", NULL, &ids, CLI_OPT_REQUIRED, "records to delete" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("rm", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if ((error = cli_open_store(&s)) < 0 || (error = xch_change_new(&c, s)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	for (size_t i = 0; i < ids.n; i++)
		if ((error = xch_change_remove(c, ids.v[i])) < 0) {
			rc = cli_fail(error);
			goto done;
		}
	if (!(msgf = open_memstream(&msgtext, &msglen))) {
		rc = cli_die(EXIT_USAGE, "out of memory");
		goto done;
	}
	if (message)
		fprintf(msgf, "%s\n", message);
	else {
		fprintf(msgf, "delete %s\n", ids.n == 1 ? ids.v[0] : "records");
		for (size_t i = 0; ids.n > 1 && i < ids.n; i++)
			fprintf(msgf, "%s%s\n", i ? "" : "\n", ids.v[i]);
	}
	fclose(msgf);
	msgf = NULL;
	if ((error = xch_change_commit(c, msgtext, &commit)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	for (size_t i = 0; i < ids.n; i++)
		printf("deleted %s\n", ids.v[i]);
	if (error == 0)
		printf("committed %.12s\n", commit.ptr);
done:
	xch_change_free(c);
	xch_store_free(s);
	if (msgf)
		fclose(msgf);
	free(msgtext);
	xch_buf_dispose(&commit);
	cli_strv_free(&ids);
	return rc;
}

/*
 * xch log: history of the store, or of one record.
 */
#include "config.h"

#include <string.h>

#include "cli.h"

static const char summary[] =
	"Show the store's history, newest first: who changed what, when and why.\n"
	"With ID, only the commits that added, changed or deleted that record.";

typedef struct {
	json_t *arr;
} log_ctx;

static int print_entry(const xch_log_entry *e, void *payload)
{
	log_ctx *ctx = payload;
	char when[32];
	const char *msg = e->message, *nl;

	cli_time(when, e->time);
	if (ctx->arr)
		return json_array_append_new(ctx->arr, json_pack("{s:s, s:s, s:s, s:s, s:s?}",
			"commit", e->commit, "author", e->author, "date", when, "message", e->message,
			"action", e->action)) < 0 ? -1 : 0;
	printf("commit %s\nAuthor: %s\nDate:   %s\n", e->commit, e->author, when);
	if (e->action)
		printf("Action: %s\n", e->action);
	printf("\n");
	while (*msg) {
		nl = strchr(msg, '\n');
		printf("    %.*s\n", nl ? (int)(nl - msg) : (int)strlen(msg), msg);
		if (!nl)
			break;
		msg = nl + 1;
	}
	printf("\n");
	return 0;
}

CLI_COMMAND(log)
{
	const char *id = NULL;
	int json = 0, error, rc = EXIT_OK;
	xch_store *s = NULL;
	log_ctx ctx = { NULL };
	const cli_opt options[] = {
		{ CLI_OPT_FLAG, 0, "json", NULL, &json, 0, "print a JSON array" },
		{ CLI_OPT_ARG, 0, "ID", NULL, &id, 0, "only the history of this record" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("log", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if (json)
		ctx.arr = json_array();
	if ((error = cli_open_store(&s)) < 0 || (error = xch_store_log(s, id, print_entry, &ctx)) < 0)
		rc = cli_fail(error);
	else if (ctx.arr)
		cli_print_json(ctx.arr, true), ctx.arr = NULL;
	json_decref(ctx.arr);
	xch_store_free(s);
	return rc;
}

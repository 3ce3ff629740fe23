/*
 * xch sync, xch pull, xch push: exchange over a git channel.
 */
#include "config.h"

#include <string.h>

#include "cli.h"

typedef struct {
	size_t bundles, receipts; /* files the remote took */
} pushed_count;

static void report(const char *file, int error, const char *what, void *payload)
{
	pushed_count *pc = payload;
	size_t len = strlen(file);

	if (error) {
		fprintf(stderr, "xch: '%s': %s\n", file, xch_error_last()->message);
		return;
	}
	printf("%s: %s\n", file, what);
	if (!strcmp(what, "pushed")) {
		if (len > 12 && !strcmp(file + len - 12, "-receipt.xch"))
			pc->receipts++;
		else
			pc->bundles++;
	}
}

static int run(const char *command, const char *summary, int what, int argc, char **argv)
{
	const char *name = NULL;
	int allow_gap = 0, error, rc = EXIT_OK;
	xch_transport_options opts = XCH_TRANSPORT_OPTIONS_INIT;
	xch_transport_result res;
	pushed_count pushed = { 0, 0 };
	xch_store *s = NULL;
	const cli_opt options[] = {
		{ CLI_OPT_FLAG, 0, "allow-gap", NULL, &allow_gap, what & XCH_SYNC_PULL ? 0 : CLI_OPT_HIDDEN,
		  "accept bundles whose sequence skips some" },
		{ CLI_OPT_ARG, 0, "NAME", NULL, &name, 0, "the remote (needed when there are several)" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse(command, summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	opts.allow_gap = allow_gap;
	opts.notify = report;
	opts.notify_payload = &pushed;
	if ((error = cli_open_store(&s)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	error = xch_sync(&res, s, name, what, &opts);
	if (what & XCH_SYNC_PULL)
		printf("pulled: %zu imported, %zu imported before, %zu refused\n", res.imported, res.already, res.refused);
	/* what reached the remote: sealed now, or left in the outbox by an interrupted sync */
	if (what & XCH_SYNC_PUSH)
		printf("pushed: %zu bundle%s, %zu receipt%s\n", pushed.bundles, pushed.bundles == 1 ? "" : "s",
		       pushed.receipts, pushed.receipts == 1 ? "" : "s");
	if (error < 0)
		rc = cli_fail(error);
done:
	xch_store_free(s);
	return rc;
}

CLI_COMMAND(sync)
{
	return run("sync",
		"Exchange with partners over a git remote: fetch; import every new bundle\n"
		"and receipt addressed to us, in sequence order; seal what partners are owed\n"
		"and our receipts, and push them. A push that loses a race is fetched, merged\n"
		"and retried; an interrupted sync is simply run again.",
		XCH_SYNC_BOTH, argc, argv);
}

CLI_COMMAND(pull)
{
	return run("pull", "Fetch from a git remote and import what is addressed to us (half of xch sync).",
	           XCH_SYNC_PULL, argc, argv);
}

CLI_COMMAND(push)
{
	return run("push", "Seal what partners are owed and our receipts, and push them (half of xch sync).",
	           XCH_SYNC_PUSH, argc, argv);
}

/*
 * xch remote: git channels.
 */
#include "config.h"

#include <string.h>

#include "cli.h"

static const char summary[] =
	"Manage git channels. A remote is any URL libgit2 reaches: a path, file://,\n"
	"git://, ssh:// or https://, of a plain git repository (git init --bare)\n"
	"that only ever holds bundles and receipts.\n"
	"  add NAME URL   add a remote; --for ties partners to it (sync seals only\n"
	"                 for them; without it, for every partner)\n"
	"  list           list remotes\n"
	"  rm NAME        remove a remote (the repository itself is untouched)";

static int print_remote(const char *name, const char *url, const char *partners, void *payload)
{
	(void)payload;
	printf("%-16s %s%s%s%s\n", name, url, partners ? " (for " : "", partners ? partners : "", partners ? ")" : "");
	return 0;
}

static int remote_add(int argc, char **argv)
{
	const char *name = NULL, *url = NULL;
	cli_strv partners = { 0 };
	xch_store *s = NULL;
	int error, rc = EXIT_OK;
	const cli_opt options[] = {
		{ CLI_OPT_LIST, 0, "for", "PARTNER", &partners, 0, "seal only for this partner here (repeatable)" },
		{ CLI_OPT_ARG, 0, "NAME", NULL, &name, CLI_OPT_REQUIRED, "the remote's name" },
		{ CLI_OPT_ARG, 0, "URL", NULL, &url, CLI_OPT_REQUIRED, "where it is" },
		CLI_OPT_END
	};
	if ((error = cli_opt_parse("remote add", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if ((error = cli_open_store(&s)) < 0 || (error = xch_remote_add(s, name, url)) < 0 ||
	    (partners.n && (error = xch_remote_set_partners(s, name, partners.v, partners.n)) < 0)) {
		rc = cli_fail(error);
		if (partners.n && error != XCH_EEXISTS)
			xch_remote_remove(s, name); /* all or nothing */
	}
	cli_strv_free(&partners);
	xch_store_free(s);
	return rc;
}

static int remote_list(int argc, char **argv)
{
	xch_store *s = NULL;
	int error, rc = EXIT_OK;
	const cli_opt options[] = { CLI_OPT_END };
	if ((error = cli_opt_parse("remote list", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if ((error = cli_open_store(&s)) < 0 || (error = xch_remote_foreach(s, print_remote, NULL)) < 0)
		rc = cli_fail(error);
	xch_store_free(s);
	return rc;
}

static int remote_rm(int argc, char **argv)
{
	const char *name = NULL;
	xch_store *s = NULL;
	int error, rc = EXIT_OK;
	const cli_opt options[] = {
		{ CLI_OPT_ARG, 0, "NAME", NULL, &name, CLI_OPT_REQUIRED, "the remote's name" },
		CLI_OPT_END
	};
	if ((error = cli_opt_parse("remote rm", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if ((error = cli_open_store(&s)) < 0 || (error = xch_remote_remove(s, name)) < 0)
		rc = cli_fail(error);
	xch_store_free(s);
	return rc;
}

CLI_COMMAND(remote)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		FILE *f = argc < 2 ? stderr : stdout;
		fputs("usage: xch remote add [--for PARTNER]... NAME URL\n"
		      "   or: xch remote list\n"
		      "   or: xch remote rm NAME\n\n", f);
		fputs(summary, f);
		fputc('\n', f);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "add"))
		return remote_add(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return remote_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "rm"))
		return remote_rm(argc - 1, argv + 1);
	return cli_die(EXIT_USAGE, "'%s' is not a remote command; see 'xch remote --help'", argv[1]);
}

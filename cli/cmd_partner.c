/*
 * xch partner: partners and their pinned keys.
 */
#include "config.h"

#include <string.h>

#include "cli.h"

static const char summary[] =
	"Manage partners. A partner is pinned by the fingerprints of its OpenPGP\n"
	"keys: only a pinned key's signature is accepted for that partner.\n"
	"  add NAME --key FILE|FPR   pin a key (a second key rotates: it becomes current)\n"
	"  list [--json]             list partners\n"
	"  show NAME [--json]        show a partner's keys\n"
	"  rm NAME                   forget a partner";

static json_t *partner_json(const xch_partner *p)
{
	json_t *keys = json_array();
	for (size_t i = 0; i < xch_partner_key_count(p); i++)
		json_array_append_new(keys, json_pack("{s:s, s:s, s:b}", "fpr", xch_partner_key(p, i),
			"added", xch_partner_key_added(p, i), "current", i == 0));
	return json_pack("{s:s, s:o}", "name", xch_partner_name(p), "keys", keys);
}

static int list_one(const xch_partner *p, void *payload)
{
	if (payload)
		return json_array_append_new(payload, partner_json(p));
	printf("%-20s %s%s\n", xch_partner_name(p), xch_partner_key(p, 0),
	       xch_partner_key_count(p) > 1 ? " (+ earlier keys)" : "");
	return 0;
}

static int partner_add(int argc, char **argv)
{
	const char *name = NULL, *key = NULL;
	xch_store *s = NULL;
	xch_buf fpr = XCH_BUF_INIT;
	int error, rc = EXIT_OK;
	const cli_opt options[] = {
		{ CLI_OPT_VALUE, 'k', "key", "KEY", &key, CLI_OPT_REQUIRED, "a key file to import, or a fingerprint" },
		{ CLI_OPT_ARG, 0, "NAME", NULL, &name, CLI_OPT_REQUIRED, "the partner's name" },
		CLI_OPT_END
	};
	if ((error = cli_opt_parse("partner add", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if ((error = cli_open_store(&s)) < 0 || (error = xch_partner_add(s, name, key, &fpr)) < 0)
		rc = cli_fail(error);
	else
		printf("partner %s: pinned key %s\nconfirm this fingerprint with %s out of band\n", name, fpr.ptr, name);
	xch_buf_dispose(&fpr);
	xch_store_free(s);
	return rc;
}

static int partner_list(int argc, char **argv)
{
	int json = 0, error, rc = EXIT_OK;
	xch_store *s = NULL;
	json_t *arr = NULL;
	const cli_opt options[] = {
		{ CLI_OPT_FLAG, 0, "json", NULL, &json, 0, "print a JSON array" },
		CLI_OPT_END
	};
	if ((error = cli_opt_parse("partner list", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if (json)
		arr = json_array();
	if ((error = cli_open_store(&s)) < 0 || (error = xch_partner_foreach(s, list_one, arr)) < 0)
		rc = cli_fail(error);
	else if (arr)
		cli_print_json(arr, true), arr = NULL;
	json_decref(arr);
	xch_store_free(s);
	return rc;
}

static int partner_show(int argc, char **argv)
{
	const char *name = NULL;
	int json = 0, error, rc = EXIT_OK;
	xch_store *s = NULL;
	xch_partner *p = NULL;
	xch_partner_status st;
	const cli_opt options[] = {
		{ CLI_OPT_FLAG, 0, "json", NULL, &json, 0, "print a JSON object" },
		{ CLI_OPT_ARG, 0, "NAME", NULL, &name, CLI_OPT_REQUIRED, "the partner's name" },
		CLI_OPT_END
	};
	if ((error = cli_opt_parse("partner show", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if ((error = cli_open_store(&s)) < 0 || (error = xch_partner_lookup(&p, s, name)) < 0) {
		rc = cli_fail(error);
	} else if ((error = xch_partner_status_get(&st, s, name)) < 0) {
		rc = cli_fail(error);
	} else if (json) {
		json_t *o = partner_json(p);
		json_object_set_new(o, "status", json_pack("{s:I, s:I, s:I, s:b, s:I}", "sent", (json_int_t)st.sent,
			"acknowledged", (json_int_t)st.acknowledged, "received", (json_int_t)st.received,
			"receipt_pending", st.receipt_pending, "pending", (json_int_t)st.pending));
		cli_print_json(o, true);
	} else {
		printf("partner %s\n", xch_partner_name(p));
		for (size_t i = 0; i < xch_partner_key_count(p); i++)
			printf("key:          %s %s (pinned %s)\n", xch_partner_key(p, i), i ? "earlier" : "current",
			       xch_partner_key_added(p, i));
		printf("sent:         sequence %llu, acknowledged %llu\n", (unsigned long long)st.sent,
		       (unsigned long long)st.acknowledged);
		printf("pending:      %zu record%s and deletions not acknowledged\n", st.pending,
		       st.pending == 1 ? "" : "s");
		printf("received:     sequence %llu%s\n", (unsigned long long)st.received,
		       st.receipt_pending ? " (receipt pending: xch receipt --for NAME)" : "");
	}
	xch_partner_free(p);
	xch_store_free(s);
	return rc;
}

static int partner_rm(int argc, char **argv)
{
	const char *name = NULL;
	int error, rc = EXIT_OK;
	xch_store *s = NULL;
	const cli_opt options[] = {
		{ CLI_OPT_ARG, 0, "NAME", NULL, &name, CLI_OPT_REQUIRED, "the partner's name" },
		CLI_OPT_END
	};
	if ((error = cli_opt_parse("partner rm", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if ((error = cli_open_store(&s)) < 0 || (error = xch_partner_remove(s, name)) < 0)
		rc = cli_fail(error);
	else
		printf("partner %s removed\n", name);
	xch_store_free(s);
	return rc;
}

CLI_COMMAND(partner)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} subs[] = {
		{ "add", partner_add }, { "list", partner_list }, { "show", partner_show }, { "rm", partner_rm },
	};
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		FILE *f = argc < 2 ? stderr : stdout;
		fputs("usage: xch partner add --key KEY NAME\n"
		      "   or: xch partner list [--json]\n"
		      "   or: xch partner show [--json] NAME\n"
		      "   or: xch partner rm NAME\n\n", f);
		fputs(summary, f);
		fputc('\n', f);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(argc - 1, argv + 1);
	return cli_die(EXIT_USAGE, "'%s' is not a partner command; see 'xch partner --help'", argv[1]);
}

/*
 * xch seal: write a signed, encrypted bundle for partners.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char summary[] =
	"Seal records into a bundle for the partners named by --to: checked against\n"
	"their schemas and markings, packed in a pax tar, deflated, signed by our\n"
	"identity and encrypted to each partner's current key, with a signed\n"
	"envelope a transfer station can check (see xch-bundle(5)). Once the\n"
	"partners sent a receipt, only what changed since goes (incremental).\n"
	"--expires takes a duration: 30d (default), 12h, 2w, 90m, 45s.";

typedef struct {
	int dry;
	bool explicit; /* records named by --id: one that cannot go is refused, not left out */
} report_ctx;

static void report(const char *id, const char *type, int included, const char *reason, void *payload)
{
	const report_ctx *rc = payload;
	if (included && rc->dry)
		printf("include %s %s\n", type, id);
	else if (!included && !rc->explicit)
		fprintf(rc->dry ? stdout : stderr, "%s %s %s: %s\n", rc->dry ? "leave out" : "xch: leaving out",
		        type, id, reason);
}

CLI_COMMAND(seal)
{
	cli_strv to = { 0 }, ids = { 0 };
	const char *output = NULL, *type = NULL, *expires = NULL;
	int armor = 0, dry = 0, json = 0, full = 0, error, rc = EXIT_OK;
	xch_seal_options opts = XCH_SEAL_OPTIONS_INIT;
	report_ctx rctx;
	xch_seal_result res = XCH_SEAL_RESULT_INIT;
	xch_store *s = NULL;
	const char **names = NULL;
	size_t nnames = 0;
	char **copies = NULL;
	size_t ncopies = 0;
	const cli_opt options[] = {
		{ CLI_OPT_LIST, 0, "to", "PARTNER", &to, CLI_OPT_REQUIRED, "a recipient (repeat, or separate with commas)" },
		{ CLI_OPT_VALUE, 'o', "output", "FILE", &output, 0, "where to write the bundle" },
		{ CLI_OPT_FLAG, 0, "full", NULL, &full, 0, "everything, not only what changed since the last receipt" },
		{ CLI_OPT_VALUE, 't', "type", "TYPE", &type, 0, "only records of TYPE" },
		{ CLI_OPT_LIST, 0, "id", "ID", &ids, 0, "only this record (repeatable)" },
		{ CLI_OPT_VALUE, 0, "expires", "DURATION", &expires, 0, "how long the bundle is valid" },
		{ CLI_OPT_FLAG, 0, "armor", NULL, &armor, 0, "ASCII-armor the payload" },
		{ CLI_OPT_FLAG, 'n', "dry-run", NULL, &dry, 0, "list what would go and why anything is left out" },
		{ CLI_OPT_FLAG, 0, "json", NULL, &json, 0, "print the result as JSON" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("seal", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	/* --to a,b and --to a --to b */
	for (size_t i = 0; i < to.n; i++) {
		char *p = strdup(to.v[i]), *tok, *save = NULL, **c;
		if (!p || !(c = realloc(copies, (ncopies + 1) * sizeof(*c)))) {
			free(p);
			rc = cli_die(EXIT_USAGE, "out of memory");
			goto done;
		}
		copies = c;
		copies[ncopies++] = p;
		for (tok = strtok_r(p, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			const char **n = realloc(names, (nnames + 1) * sizeof(*n));
			if (!n) {
				rc = cli_die(EXIT_USAGE, "out of memory");
				goto done;
			}
			names = n;
			names[nnames++] = tok;
		}
	}
	opts.to = names;
	opts.nto = nnames;
	opts.output = output;
	opts.type = type;
	opts.ids = ids.v;
	opts.nids = ids.n;
	opts.armor = armor;
	opts.full = full;
	opts.dry_run = dry;
	opts.notify = report;
	rctx.dry = dry;
	rctx.explicit = ids.n > 0;
	opts.notify_payload = &rctx;
	opts.expires = expires;
	if ((error = cli_open_store(&s)) < 0 || (error = xch_bundle_seal(&res, s, &opts)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if (json) {
		cli_print_json(json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:s?, s:I, s:b}", "bundle_id", res.bundle_id,
			"incremental", res.incremental,
			"sequence", (json_int_t)res.sequence, "records", (json_int_t)res.records,
			"attachments", (json_int_t)res.attachments, "tombstones", (json_int_t)res.tombstones,
			"left_out", (json_int_t)res.left_out, "file", res.path.ptr, "size", (json_int_t)res.size,
			"dry_run", dry), true);
	} else if (res.nothing) {
		printf("nothing to seal: the partners acknowledged everything (--full sends it all again)\n");
	} else if (dry) {
		printf("would seal %zu records, %zu attachments, %zu deletions as sequence %llu\n", res.records,
		       res.attachments, res.tombstones, (unsigned long long)res.sequence);
	} else {
		printf("sealed %s: %s, %zu records, %zu attachments, %zu deletions, sequence %llu, %llu bytes\n",
		       res.path.ptr, res.incremental ? "incremental" : "full", res.records, res.attachments, res.tombstones,
		       (unsigned long long)res.sequence, (unsigned long long)res.size);
	}
done:
	xch_seal_result_dispose(&res);
	xch_store_free(s);
	free(names);
	for (size_t i = 0; i < ncopies; i++)
		free(copies[i]);
	free(copies);
	cli_strv_free(&to);
	cli_strv_free(&ids);
	return rc;
}

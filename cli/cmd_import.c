/*
 * xch import: verify bundles and merge them into the store.
 */
#include "config.h"

#include <sys/stat.h>

#include "cli.h"

static const char summary[] =
	"Verify each bundle completely (as xch verify), check its sequence against\n"
	"what its sender's channel delivered before, then record it on the partner's\n"
	"own line of history and merge it into our records field by field, all in\n"
	"one commit. Importing a bundle again changes nothing. A conflict keeps both\n"
	"versions; see xch conflicts and xch resolve. A directory (a USB stick)\n"
	"imports everything in it addressed to us, in sequence order, skipping\n"
	"what is for others; a refused file does not stop the rest.";

static void dir_report(const char *file, int error, const char *what, void *payload)
{
	(void)payload;
	if (error)
		fprintf(stderr, "xch: '%s': %s\n", file, xch_error_last()->message);
	else
		printf("%s: %s\n", file, what);
}

CLI_COMMAND(import)
{
	cli_strv files = { 0 };
	int allow_gap = 0, json = 0, error, rc = EXIT_OK;
	xch_import_options opts = XCH_IMPORT_OPTIONS_INIT;
	xch_store *s = NULL;
	json_t *arr = NULL;
	const cli_opt options[] = {
		{ CLI_OPT_FLAG, 0, "allow-gap", NULL, &allow_gap, 0, "accept a bundle whose sequence skips some" },
		{ CLI_OPT_FLAG, 0, "json", NULL, &json, 0, "print each outcome as JSON" },
		{ CLI_OPT_ARGS, 0, "FILE", NULL, &files, CLI_OPT_REQUIRED, "bundles, receipts, or directories of them" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("import", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	opts.allow_gap = allow_gap;
	if ((error = cli_open_store(&s)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if (json)
		arr = json_array();
	for (size_t i = 0; i < files.n; i++) {
		xch_import_result r;
		struct stat st;
		if (stat(files.v[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			/* a directory (a USB stick): everything in it addressed to us, in order */
			xch_transport_options to = XCH_TRANSPORT_OPTIONS_INIT;
			xch_transport_result tr;
			to.allow_gap = allow_gap;
			to.notify = json ? NULL : dir_report;
			error = xch_import_dir(&tr, s, files.v[i], &to);
			if (arr)
				json_array_append_new(arr, json_pack("{s:s, s:b, s:I, s:I, s:I, s:I}", "dir", files.v[i],
					"ok", error == 0, "imported", (json_int_t)tr.imported, "already", (json_int_t)tr.already,
					"skipped", (json_int_t)tr.skipped, "refused", (json_int_t)tr.refused));
			else
				printf("%s: %zu imported, %zu imported before, %zu not for us, %zu refused\n", files.v[i],
				       tr.imported, tr.already, tr.skipped, tr.refused);
			if (error < 0 && rc == EXIT_OK)
				rc = cli_exit_code(error);
			continue;
		}
		error = xch_import(&r, s, files.v[i], &opts);
		if (arr) {
			json_t *o = json_pack("{s:s, s:b}", "file", files.v[i], "ok", error == 0);
			if (error < 0) {
				json_object_set_new(o, "error", json_string(xch_error_last()->message));
				json_object_set_new(o, "exit", json_integer(cli_exit_code(error)));
			} else {
				json_object_update_new(o, json_pack("{s:s, s:b, s:I, s:s, s:I, s:b, s:I, s:I, s:I, s:I, s:I}",
					"bundle", r.bundle_id, "receipt", r.receipt, "acknowledged", (json_int_t)r.acknowledged,
					"partner", r.partner, "sequence", (json_int_t)r.sequence,
					"already", r.already, "added", (json_int_t)r.added, "changed", (json_int_t)r.changed,
					"deleted", (json_int_t)r.deleted, "unchanged", (json_int_t)r.unchanged,
					"conflicts", (json_int_t)r.conflicts));
			}
			json_array_append_new(arr, o);
		} else if (error < 0) {
			fprintf(stderr, "xch: '%s': %s\n", files.v[i], xch_error_last()->message);
		} else if (r.receipt && !r.already) {
			printf("%s: receipt %.12s from %s: %zu bundle%s acknowledged\n", files.v[i], r.bundle_id,
			       r.partner, r.acknowledged, r.acknowledged == 1 ? "" : "s");
		} else if (r.already) {
			printf("%s: bundle %.12s from %s (sequence %llu) was imported before; nothing to do\n",
			       files.v[i], r.bundle_id, r.partner, (unsigned long long)r.sequence);
		} else {
			printf("%s: imported bundle %.12s from %s, sequence %llu: %zu added, %zu changed, "
			       "%zu deleted, %zu unchanged, %zu in conflict\n", files.v[i], r.bundle_id, r.partner,
			       (unsigned long long)r.sequence, r.added, r.changed, r.deleted, r.unchanged, r.conflicts);
		}
		if (error < 0 && rc == EXIT_OK)
			rc = cli_exit_code(error);
	}
	if (arr)
		cli_print_json(arr, true), arr = NULL;
done:
	json_decref(arr);
	xch_store_free(s);
	cli_strv_free(&files);
	return rc;
}

/*
 * xch verify: check a bundle completely, or only its signed envelope.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char summary[] =
	"Verify a bundle: the envelope's signature by a pinned partner key, its\n"
	"expiry, the payload's hash, then (unless --envelope) decrypt and check the\n"
	"payload's signature, that we are a recipient, and every entry against the\n"
	"signed manifest. Exit 0 only if everything holds; otherwise the exit code\n"
	"names the class of refusal (see xch(1), EXIT STATUS). --envelope needs no\n"
	"secret key: it is what a transfer station runs. For a directory (a USB\n"
	"stick), a verdict on every *.xch file in it.";

/* Print the outcome of a verification as JSON, or as one line. */
int cli_verify_report(const char *file, int error, xch_bundle_info *info, bool json);
int cli_verify_report(const char *file, int error, xch_bundle_info *info, bool json)
{
	if (json) {
		json_t *o = json_pack("{s:s, s:b}", "file", file, "valid", error == 0);
		if (error < 0) {
			json_object_set_new(o, "error", json_string(xch_error_last()->message));
			json_object_set_new(o, "class", json_string(xch_error_name(error)));
			json_object_set_new(o, "exit", json_integer(cli_exit_code(error)));
		}
		if (info && xch_bundle_info_sender(info))
			json_object_set_new(o, "sender", json_string(xch_bundle_info_sender(info)));
		if (info && xch_bundle_info_envelope(info))
			json_object_set_new(o, "envelope", json_loads(xch_bundle_info_envelope(info), 0, NULL));
		if (info && xch_bundle_info_manifest(info))
			json_object_set_new(o, "manifest", json_loads(xch_bundle_info_manifest(info), 0, NULL));
		cli_print_json(o, true);
		return cli_exit_code(error);
	}
	if (error < 0)
		return cli_fail(error);
	printf("%s: ok, from partner '%s'\n", file, info && xch_bundle_info_sender(info) ?
	       xch_bundle_info_sender(info) : "?");
	return EXIT_OK;
}

/* A verdict for every bundle and receipt in dir (a USB stick at a transfer station). */
static int verify_dir(xch_store *s, const char *dir, const xch_verify_options *opts, bool json)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort), rc = EXIT_OK;
	size_t good = 0, bad = 0;

	if (n < 0)
		return cli_die(EXIT_USAGE, "cannot read directory '%s': %s", dir, strerror(errno));
	if (json)
		fputs("[\n", stdout);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);
		char path[4096];
		xch_bundle_info *info = NULL;
		int error, code;
		if (names[i]->d_name[0] != '.' && len > 4 && !strcmp(names[i]->d_name + len - 4, ".xch") &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) < sizeof(path)) {
			error = xch_bundle_verify(&info, s, path, opts);
			if (json && good + bad)
				fputs(",\n", stdout);
			if (error < 0 && !json) {
				/* several files: each refusal names its file */
				fprintf(stderr, "xch: '%s': %s\n", path, xch_error_last()->code ?
				        xch_error_last()->message : xch_error_name(error));
				code = cli_exit_code(error);
			} else {
				code = cli_verify_report(path, error, info, json);
			}
			if (code != EXIT_OK && rc == EXIT_OK)
				rc = code;
			if (code == EXIT_OK)
				good++;
			else
				bad++;
			xch_bundle_info_free(info);
		}
		free(names[i]);
	}
	free(names);
	if (json)
		fputs("]\n", stdout);
	else
		printf("%s: %zu good, %zu refused\n", dir, good, bad);
	return rc;
}

CLI_COMMAND(verify)
{
	const char *file = NULL;
	int envelope = 0, json = 0, error;
	xch_verify_options opts = XCH_VERIFY_OPTIONS_INIT;
	xch_bundle_info *info = NULL;
	xch_store *s = NULL;
	struct stat st;
	int rc;
	const cli_opt options[] = {
		{ CLI_OPT_FLAG, 0, "envelope", NULL, &envelope, 0, "check only the signed envelope and the payload's hash" },
		{ CLI_OPT_FLAG, 0, "json", NULL, &json, 0, "print the verdict as JSON" },
		{ CLI_OPT_ARG, 0, "FILE", NULL, &file, CLI_OPT_REQUIRED, "the bundle, or a directory of them" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("verify", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	opts.envelope_only = envelope;
	if ((error = cli_open_store(&s)) < 0)
		return cli_fail(error);
	if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = verify_dir(s, file, &opts, json);
	} else {
		error = xch_bundle_verify(&info, s, file, &opts);
		rc = cli_verify_report(file, error, info, json);
	}
	xch_bundle_info_free(info);
	xch_store_free(s);
	return rc;
}

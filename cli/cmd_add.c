/*
 * xch add: validate records and commit them all, or none.
 */
#include "config.h"

#include <string.h>

#include <stdlib.h>

#include "cli.h"

static const char summary[] =
	"Validate each FILE against the schema of its record type and commit them\n"
	"all in one commit. If any is invalid, nothing is committed and every error\n"
	"of every file is listed. --attach stores files the records reference.";

/* Print every violation of one record; returns the number printed. */
static size_t report(const char *file, const xch_violations *v)
{
	size_t n = xch_violations_count(v);
	for (size_t i = 0; i < n; i++) {
		const char *ptr = xch_violations_instance(v, i);
		fprintf(stderr, "xch: '%s': %s: %s\n", file, *ptr ? ptr : "/", xch_violations_message(v, i));
	}
	return n;
}

CLI_COMMAND(add)
{
	cli_strv files = { 0 }, attach = { 0 };
	const char *message = NULL;
	xch_record **recs = NULL;
	xch_schema_set *set = NULL;
	xch_store *s = NULL;
	xch_change *c = NULL;
	xch_buf commit = XCH_BUF_INIT;
	char *msgtext = NULL;
	size_t msglen = 0;
	FILE *msgf = NULL;
	size_t bad = 0;
	int error, rc = EXIT_OK;
	const cli_opt options[] = {
		{ CLI_OPT_LIST, 'a', "attach", "FILE", &attach, 0, "store FILE as an attachment" },
		{ CLI_OPT_VALUE, 'm', "message", "MSG", &message, 0, "the commit message" },
		{ CLI_OPT_ARGS, 0, "FILE", NULL, &files, CLI_OPT_REQUIRED, "record files (JSON)" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("add", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if ((error = cli_open_store(&s)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if ((error = xch_schema_set_builtin(&set)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	recs = calloc(files.n, sizeof(*recs));
	for (size_t i = 0; recs && i < files.n; i++) {
		xch_violations *v = NULL;
		if ((error = xch_record_load(&recs[i], files.v[i])) < 0) {
			fprintf(stderr, "xch: %s\n", xch_error_last()->message);
			bad++;
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (recs[j] && !strcmp(xch_record_id(recs[j]), xch_record_id(recs[i]))) {
				fprintf(stderr, "xch: '%s': record '%s' is also in '%s'\n", files.v[i],
				        xch_record_id(recs[i]), files.v[j]);
				bad++;
			}
		if ((error = xch_record_validate(&v, set, recs[i])) == XCH_ESCHEMA)
			bad += report(files.v[i], v);
		else if (error < 0)
			bad++, fprintf(stderr, "xch: '%s': %s\n", files.v[i], xch_error_last()->message);
		xch_violations_free(v);
	}
	if (!recs) {
		rc = cli_die(EXIT_USAGE, "out of memory");
		goto done;
	}
	if (bad) {
		rc = cli_die(EXIT_CHECK, "nothing committed: %zu error%s", bad, bad == 1 ? "" : "s");
		goto done;
	}
	if ((error = xch_change_new(&c, s)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	for (size_t i = 0; i < attach.n; i++)
		if ((error = xch_change_attach_file(c, attach.v[i], NULL)) < 0) {
			rc = cli_fail(error);
			goto done;
		}
	for (size_t i = 0; i < files.n; i++)
		if ((error = xch_change_put(c, recs[i])) < 0) {
			fprintf(stderr, "xch: '%s': %s\n", files.v[i], xch_error_last()->message);
			rc = cli_die(cli_exit_code(error) == EXIT_USAGE ? EXIT_USAGE : EXIT_CHECK, "nothing committed");
			goto done;
		}
	if (!(msgf = open_memstream(&msgtext, &msglen))) {
		rc = cli_die(EXIT_USAGE, "out of memory");
		goto done;
	}
	if (message)
		fprintf(msgf, "%s\n", message);
	else if (files.n == 1)
		fprintf(msgf, "add %s\n", xch_record_id(recs[0]));
	else {
		fprintf(msgf, "add %zu records\n\n", files.n);
		for (size_t i = 0; i < files.n; i++)
			fprintf(msgf, "%s\n", xch_record_id(recs[i]));
	}
	fclose(msgf);
	msgf = NULL;
	if ((error = xch_change_commit(c, msgtext, &commit)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if (error == 1) {
		printf("nothing changed\n");
	} else {
		for (size_t i = 0; i < files.n; i++)
			printf("%s %s\n", xch_record_type(recs[i]), xch_record_id(recs[i]));
		printf("committed %.12s\n", commit.ptr);
	}
done:
	for (size_t i = 0; recs && i < files.n; i++)
		xch_record_free(recs[i]);
	free(recs);
	xch_change_free(c);
	xch_schema_set_free(set);
	xch_store_free(s);
	xch_buf_dispose(&commit);
	if (msgf)
		fclose(msgf);
	free(msgtext);
	cli_strv_free(&files);
	cli_strv_free(&attach);
	return rc;
}

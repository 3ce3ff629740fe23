/*
 * xch show: one record, as a summary or as its canonical JSON.
 */
#include "config.h"

#include <string.h>

#include "cli.h"

static const char summary[] =
	"Show the record ID: a summary, or with --json its canonical JSON. With\n"
	"--provenance, where its last change came from: this store or a partner's\n"
	"bundle (xch log ID gives the whole story).";

static const char *s_or(json_t *v, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(v, key));
	return s ? s : dflt;
}

static void show_marking(json_t *m)
{
	json_t *v;
	size_t i;
	printf("marking:  TLP:%s", s_or(m, "tlp", "?"));
	json_array_foreach(json_object_get(m, "caveats"), i, v)
		printf(" %s", json_string_value(v));
	if (json_array_size(json_object_get(m, "share_with"))) {
		printf(" (share with:");
		json_array_foreach(json_object_get(m, "share_with"), i, v)
			printf(" %s", json_string_value(v));
		printf(")");
	}
	printf("\n");
}

static void show_assessment(json_t *r)
{
	json_t *f = json_object_get(r, "facility"), *a = json_object_get(r, "assessment"), *v;
	size_t i;
	printf("facility: %s (%s)\n", s_or(f, "name", "?"), s_or(f, "sector", "?"));
	printf("assessed: %s, %s\n", s_or(a, "type", "?"), s_or(a, "date", "?"));
	printf("findings: %zu\n", json_array_size(json_object_get(r, "findings")));
	json_array_foreach(json_object_get(r, "findings"), i, v)
		printf("  %-10s %-13s %-12s %s\n", s_or(v, "id", "?"), s_or(v, "severity", "?"),
		       s_or(v, "status", "?"), s_or(v, "title", ""));
}

static void show_advisory(json_t *r)
{
	json_t *cvss = json_object_get(json_object_get(r, "severity"), "cvss_v3"), *v;
	size_t i;
	printf("severity: %s %.1f %s\n", s_or(cvss, "baseSeverity", "?"),
	       json_number_value(json_object_get(cvss, "baseScore")), s_or(cvss, "vectorString", ""));
	if (json_array_size(json_object_get(r, "cve"))) {
		printf("cve:     ");
		json_array_foreach(json_object_get(r, "cve"), i, v)
			printf(" %s", json_string_value(v));
		printf("\n");
	}
	json_array_foreach(json_object_get(json_object_get(r, "affected"), "products"), i, v)
		printf("affects:  %s %s\n", s_or(v, "vendor", ""), s_or(v, "name", ""));
	printf("summary:  %s\n", s_or(r, "summary", ""));
}

/* The newest commit that changed the record: who, when, and from which bundle. */
static int first_change(const xch_log_entry *e, void *payload)
{
	json_t **out = payload;
	const char *partner = strstr(e->message, "\nPartner: "), *bundle = strstr(e->message, "\nBundle: ");
	char when[32], pbuf[80] = "", bbuf[40] = "";

	cli_time(when, e->time);
	if (partner)
		sscanf(partner, "\nPartner: %79s", pbuf);
	if (bundle)
		sscanf(bundle, "\nBundle: %39s", bbuf);
	*out = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?}", "commit", e->commit, "author", e->author,
		"date", when, "action", e->action, "partner", *pbuf ? pbuf : NULL, "bundle", *bbuf ? bbuf : NULL);
	return 1; /* the newest is enough */
}

static void show_provenance(json_t *p)
{
	const char *partner = json_string_value(json_object_get(p, "partner"));
	printf("last change: %s %s by %s\n", json_string_value(json_object_get(p, "action")),
	       json_string_value(json_object_get(p, "date")), json_string_value(json_object_get(p, "author")));
	if (partner)
		printf("from:        partner %s, bundle %s\n", partner, json_string_value(json_object_get(p, "bundle")));
	else
		printf("from:        this store (a local change)\n");
	printf("commit:      %s\n", json_string_value(json_object_get(p, "commit")));
}

CLI_COMMAND(show)
{
	const char *id = NULL;
	int json = 0, provenance = 0, rc = EXIT_OK, error;
	json_t *prov = NULL;
	xch_store *s = NULL;
	xch_record *r = NULL;
	json_t *j = NULL;
	const cli_opt options[] = {
		{ CLI_OPT_FLAG, 0, "json", NULL, &json, 0, "print the record's canonical JSON" },
		{ CLI_OPT_FLAG, 0, "provenance", NULL, &provenance, 0, "say which partner and bundle its last change came from" },
		{ CLI_OPT_ARG, 0, "ID", NULL, &id, CLI_OPT_REQUIRED, "the record's id" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("show", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if ((error = cli_open_store(&s)) < 0 || (error = xch_store_get(&r, s, id)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if (provenance) {
		if ((error = xch_store_log(s, id, first_change, &prov)) < 0) {
			rc = cli_fail(error);
			goto done;
		}
		if (json)
			cli_print_json(json_incref(prov), true);
		else
			show_provenance(prov);
		goto done;
	}
	if (json) {
		const char *data;
		size_t len;
		xch_record_canonical(r, &data, &len);
		fwrite(data, 1, len, stdout);
		goto done;
	}
	j = cli_record_json(r);
	printf("%s %s\n", xch_record_type(r), xch_record_id(r));
	printf("title:    %s\n", xch_record_title(r));
	show_marking(json_object_get(j, "marking"));
	printf("created:  %s\nmodified: %s\n", s_or(j, "created", s_or(j, "published", "?")),
	       s_or(j, "modified", s_or(j, "updated", "?")));
	if (!strcmp(xch_record_type(r), "assessment"))
		show_assessment(j);
	else
		show_advisory(j);
	if (xch_record_attachment_count(r)) {
		for (size_t i = 0; i < xch_record_attachment_count(r); i++) {
			const char *name, *mt, *sha;
			uint64_t size;
			if (xch_record_attachment(r, i, &name, &mt, &size, &sha) == 0)
				printf("attached: %s (%s, %llu bytes, sha256 %.16s...)\n", name, mt ? mt : "?",
				       (unsigned long long)size, sha);
		}
	}
done:
	json_decref(prov);
	json_decref(j);
	xch_record_free(r);
	xch_store_free(s);
	return rc;
}

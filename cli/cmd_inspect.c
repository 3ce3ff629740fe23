/*
 * xch inspect: show a bundle's envelope, and its manifest if we can decrypt it.
 */
#include "config.h"

#include "cli.h"

static const char summary[] =
	"Show what a bundle says about itself: the envelope (visible to anyone),\n"
	"the state of its signature, and the manifest if we can decrypt it.\n"
	"Inspect judges nothing; use xch verify for a verdict.";

static const char *s_of(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "?";
}

CLI_COMMAND(inspect)
{
	const char *file = NULL;
	int json = 0, error, rc = EXIT_OK;
	xch_bundle_info *info = NULL;
	xch_store *s = NULL;
	json_t *env = NULL, *man = NULL, *v;
	size_t i;
	const cli_opt options[] = {
		{ CLI_OPT_FLAG, 0, "json", NULL, &json, 0, "print envelope and manifest as JSON" },
		{ CLI_OPT_ARG, 0, "FILE", NULL, &file, CLI_OPT_REQUIRED, "the bundle" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("inspect", summary, options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if ((error = cli_open_store(&s)) < 0 || (error = xch_bundle_inspect(&info, s, file)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	env = json_loads(xch_bundle_info_envelope(info), 0, NULL);
	if (xch_bundle_info_manifest(info))
		man = json_loads(xch_bundle_info_manifest(info), 0, NULL);
	if (json) {
		cli_print_json(json_pack("{s:O, s:O?, s:s?, s:s?, s:s?}", "envelope", env, "manifest", man,
			"signature", xch_bundle_info_signature(info), "sender", xch_bundle_info_sender(info),
			"problem", xch_bundle_info_problem(info)), true);
		goto done;
	}
	printf("bundle:     %s\n", s_of(env, "bundle_id"));
	printf("format:     %s\n", s_of(env, "format"));
	printf("sender:     %s\n", s_of(env, "sender_fpr"));
	printf("signature:  %s\n", xch_bundle_info_signature(info) ? xch_bundle_info_signature(info) : "?");
	printf("recipients:");
	json_array_foreach(json_object_get(env, "recipients"), i, v)
		printf(" %s", json_string_value(v));
	printf("\nchannel:    %s\nsequence:   %lld\ncreated:    %s\nexpires:    %s\n", s_of(env, "channel"),
	       (long long)json_integer_value(json_object_get(env, "sequence")), s_of(env, "created"),
	       s_of(env, "expires"));
	printf("payload:    %lld bytes, sha256 %s\n",
	       (long long)json_integer_value(json_object_get(json_object_get(env, "payload"), "size")),
	       s_of(json_object_get(env, "payload"), "sha256"));
	if (!man) {
		printf("manifest:   not readable here: %s\n", xch_bundle_info_problem(info) ?
		       xch_bundle_info_problem(info) : "not addressed to us, or no secret key");
		goto done;
	}
	if (xch_bundle_info_problem(info))
		printf("problem:    %s\n", xch_bundle_info_problem(info));
	printf("kind:       %s\n", s_of(man, "kind"));
	json_array_foreach(json_object_get(man, "recipients"), i, v)
		printf("to:         %s %s\n", s_of(v, "name"), s_of(v, "fpr"));
	json_array_foreach(json_object_get(man, "entries"), i, v)
		printf("entry:      %-60s %8lld\n", s_of(v, "path"), (long long)json_integer_value(json_object_get(v, "size")));
	json_array_foreach(json_object_get(man, "tombstones"), i, v)
		printf("deleted:    %s %s\n", s_of(v, "type"), s_of(v, "id"));
done:
	json_decref(env);
	json_decref(man);
	xch_bundle_info_free(info);
	xch_store_free(s);
	return rc;
}

#!/bin/sh
# xch validate: records by type, any document against a schema file, CSAF 2.0.
. "$XCH_TOP_SRCDIR/tests/cli/lib.sh"

EX=$SRC/examples
CSAF=$SHARED/testdata/csaf-2.0

test_expect 'validate works without a store' '
	run 0 xch validate "$EX"/*.json && [ "$(grep -c ": ok$" "$T/out")" -eq 6 ]
'

test_expect 'validate lists every violation with its pointer' '
	run 1 xch validate "$RES/records/missing-required-title.json" "$RES/records/bad-enum-sector.json" &&
	grep_err "missing-required-title.json.: /: .*title" &&
	grep_err "bad-enum-sector.json.: /facility/sector: "
'

test_expect 'validate --json reports structured results' '
	run 1 xch validate --json "$EX/ADV-2026-0001.json" "$RES/records/bad-enum-sector.json" &&
	grep_out "\"valid\": true" && grep_out "\"valid\": false" && grep_out "\"instance\": \"/facility/sector\""
'

test_expect 'validate --schema checks any document against a schema file' '
	cat > s.json <<-\EOS &&
	{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
	 "properties": {"n": {"type": "integer", "maximum": 5}}, "required": ["n"]}
	EOS
	echo "{\"n\": 3}" > good.json && echo "{\"n\": 7}" > bad.json &&
	run 0 xch validate --schema s.json good.json &&
	run 1 xch validate --schema s.json bad.json good.json && grep_err "bad.json.: /n: " && grep_out "good.json: ok"
'

test_expect 'a reference that cannot be resolved locally is an error, never fetched' '
	echo "{\"\$ref\": \"https://example.invalid/x.json\"}" > remote.json && echo 1 > one.json &&
	run 1 xch validate --schema remote.json one.json && grep_err "example.invalid"
'

if [ -d "$CSAF" ]; then
	test_expect 'CSAF 2.0 examples validate against the CSAF schema' '
		run 0 xch validate --schema "$CSAF/json_schema/csaf_json_schema.json" \
			--schema-path "$CSAF/referenced_schema/first" $(find "$CSAF/examples" -name "*.json") &&
		[ "$(grep -c ": ok$" "$T/out")" -eq "$(find "$CSAF/examples" -name "*.json" | wc -l)" ]
	'
	test_expect 'a broken CSAF advisory is refused' '
		f=$(find "$CSAF/examples" -name "*.json" | head -n 1) &&
		sed "s/\"category\": \"csaf_[a-z_]*\"/\"category\": 42/" "$f" > broken.json &&
		run 1 xch validate --schema "$CSAF/json_schema/csaf_json_schema.json" \
			--schema-path "$CSAF/referenced_schema/first" broken.json &&
		grep_err "/document/category"
	'
else
	test_skip 'CSAF 2.0 examples validate' "no $CSAF (shared test data absent)"
	test_skip 'a broken CSAF advisory is refused' "no $CSAF (shared test data absent)"
fi

test_done

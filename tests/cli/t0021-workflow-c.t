#!/bin/sh
# Workflow C: the agency and the company both change the same records.
# Disjoint fields and different findings merge on both sides; the same field
# changed two ways is a conflict that keeps both versions, stays out of
# bundles and is resolved with ours, theirs or a file; tombstones delete what
# we did not change and conflict with what we did; nothing is lost.
. "$XCH_TOP_SRCDIR/tests/cli/lib.sh"

EX=$SRC/examples
KEYS=$RES/keys
CSV=$EX/attachments/riverside-scada-open-ports.csv
B=$T/bundles
mkdir "$B"

SQ="'"

# json_get FILE EXPR: a Python expression over the JSON document d (f(ID):
# its finding ID).
json_get() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
def f(i): return [x for x in d["findings"] if x["id"] == i][0]
print(eval(sys.argv[2]))' "$@"
}

# edit PARTY ID CODE: as PARTY, change record ID with Python CODE over the
# record d (f(ID) is its finding ID) and add it back.
edit() {
	p=$1 id=$2
	by "$p" xch show --json "$id" | python3 -c '
import json, sys
d = json.load(sys.stdin)
def f(i): return [x for x in d["findings"] if x["id"] == i][0]
exec(sys.argv[1])
print(json.dumps(d))' "$3" > "$T/$p-$id.json" && by "$p" xch add "$T/$p-$id.json" >/dev/null
}

# field PARTY ID EXPR: a Python expression over PARTY's record ID (as d).
field() {
	by "$1" xch show --json "$2" > "$T/field.json" && json_get "$T/field.json" "$3"
}

# blob PARTY ID: the blob id of PARTY's record ID on its main branch.
blob() { g "$1" ls-tree -r refs/heads/main records | awk -v id="/$2.json" 'index($4, id) { print $3 }'; }

# seal_to FROM TO FILE: a full-store bundle; its id in $T/ID.
seal_to() {
	by "$1" xch seal --to "$2" --json -o "$3" >"$T/seal.json" 2>/dev/null &&
	json_get "$T/seal.json" 'd["bundle_id"]' > "$T/ID"
}

party agency agency company.pub &&
party company company agency.pub || exit 99

test_expect 'set-up: the company holds what the agency sent' '
	run 0 by agency xch partner add company --key "$KEYS/company.pub.asc" &&
	run 0 by company xch partner add agency --key "$KEYS/agency.pub.asc" &&
	run 0 by agency xch add --attach "$CSV" "$EX"/*.json &&
	seal_to agency company "$B/a1.xch" &&
	run 0 by company xch import "$B/a1.xch" && grep_out ": 5 added, "
'

test_expect 'disjoint fields and different findings merge on the agency side' '
	edit company ASMT-2026-0001 "f(\"F-001\")[\"status\"] = \"mitigated\"; d[\"scores\"][\"resilience\"] = 61
n = dict(f(\"F-004\")); n[\"id\"] = \"F-005\"; n[\"title\"] = \"Found by the company\"; d[\"findings\"].append(n)" &&
	edit agency ASMT-2026-0001 "d[\"title\"] = \"Retitled by the agency\"; f(\"F-004\")[\"status\"] = \"closed\"
n = dict(f(\"F-004\")); n[\"id\"] = \"F-006\"; n[\"title\"] = \"Found by the agency\"; d[\"findings\"].append(n)" &&
	seal_to company agency "$B/c1.xch" &&
	run 0 by agency xch import "$B/c1.xch" &&
	grep_out ": 0 added, 1 changed, 0 deleted, 0 unchanged, 0 in conflict$" &&
	field agency ASMT-2026-0001 "d[\"title\"], d[\"scores\"][\"resilience\"], [(x[\"id\"], x[\"status\"]) for x in d[\"findings\"]]" > got &&
	echo "(${SQ}Retitled by the agency${SQ}, 61, [(${SQ}F-001${SQ}, ${SQ}mitigated${SQ}), (${SQ}F-002${SQ}, ${SQ}mitigated${SQ}), (${SQ}F-003${SQ}, ${SQ}open${SQ}), (${SQ}F-004${SQ}, ${SQ}closed${SQ}), (${SQ}F-006${SQ}, ${SQ}closed${SQ}), (${SQ}F-005${SQ}, ${SQ}open${SQ})])" > want &&
	{ cmp want got || { cat want got; false; }; } &&
	by agency xch show --json ASMT-2026-0001 > "$T/merged.json" &&
	run 0 by agency xch validate "$T/merged.json" && run 0 by agency xch conflicts && no_out
'

# (The merged findings keep each side's own order, then the other's new ones:
# the two stores agree on content, and on order after the next round trip.)
test_expect 'and on the company side, which changed more meanwhile' '
	edit company ASMT-2026-0001 "f(\"F-002\")[\"status\"] = \"closed\"" &&
	seal_to agency company "$B/a2.xch" &&
	run 0 by company xch import "$B/a2.xch" &&
	grep_out ": 0 added, 1 changed, 0 deleted, [0-9]+ unchanged, 0 in conflict$" &&
	field company ASMT-2026-0001 "d[\"title\"], sorted((x[\"id\"], x[\"status\"]) for x in d[\"findings\"])" > got &&
	echo "(${SQ}Retitled by the agency${SQ}, [(${SQ}F-001${SQ}, ${SQ}mitigated${SQ}), (${SQ}F-002${SQ}, ${SQ}closed${SQ}), (${SQ}F-003${SQ}, ${SQ}open${SQ}), (${SQ}F-004${SQ}, ${SQ}closed${SQ}), (${SQ}F-005${SQ}, ${SQ}open${SQ}), (${SQ}F-006${SQ}, ${SQ}closed${SQ})])" > want &&
	{ cmp want got || { cat want got; false; }; } &&
	seal_to company agency "$B/c2.xch" &&
	run 0 by agency xch import "$B/c2.xch" && grep_out ": 0 added, 1 changed, .* 0 in conflict$" &&
	for id in ASMT-2026-0001 ASMT-2026-0003 ADV-2026-0001 ADV-2026-0002; do
		[ -n "$(blob agency $id)" ] && [ "$(blob agency $id)" = "$(blob company $id)" ] || exit 1
	done &&
	g agency fsck --strict --no-dangling && g company fsck --strict --no-dangling
'

test_expect 'the same field changed two ways: a conflict; ours stays; a deletion of an unchanged record applies' '
	edit company ADV-2026-0001 "d[\"summary\"] = \"company says\"" &&
	edit company ASMT-2026-0003 "d[\"title\"] = \"Company title\"" &&
	edit company ASMT-2026-0001 "f(\"F-003\")[\"severity\"] = \"high\"" &&
	run 0 by company xch rm ADV-2026-0002 &&
	edit agency ADV-2026-0001 "d[\"summary\"] = \"agency says\"" &&
	edit agency ASMT-2026-0003 "d[\"title\"] = \"Agency title\"" &&
	edit agency ASMT-2026-0001 "f(\"F-003\")[\"severity\"] = \"low\"" &&
	seal_to company agency "$B/c3.xch" && cp "$T/ID" "$T/c3id" &&
	run 0 by agency xch import "$B/c3.xch" &&
	grep_out ": 0 added, 0 changed, 1 deleted, 0 unchanged, 3 in conflict$" &&
	[ "$(field agency ADV-2026-0001 "d[\"summary\"]")" = "agency says" ] &&
	[ "$(field agency ASMT-2026-0003 "d[\"title\"]")" = "Agency title" ] &&
	[ "$(field agency ASMT-2026-0001 "f(\"F-003\")[\"severity\"]")" = low ] &&
	run 2 by agency xch show ADV-2026-0002 && grep_err "was deleted" &&
	g agency fsck --strict --no-dangling
'

test_expect 'xch conflicts lists them: where they disagree, with whom, from which bundle' '
	c3=$(cat "$T/c3id") && short=$(echo "$c3" | cut -c1-12) &&
	run 0 by agency xch conflicts && no_err &&
	grep_out "^advisory ADV-2026-0001: with company \(bundle $short\)$" &&
	grep_out "^assessment ASMT-2026-0003: with company \(bundle $short\)$" &&
	grep_out "^assessment ASMT-2026-0001: with company \(bundle $short\)$" &&
	grep_out "^    /summary$" && grep_out "^    /title$" && grep_out "^    /findings/2/severity$" &&
	[ "$(grep -c "^[a-z]" "$T/out")" -eq 3 ] &&
	run 0 by agency xch conflicts --json &&
	json_get "$T/out" "sorted((c[\"id\"], c[\"partner\"], c[\"bundle\"], c[\"pointers\"]) for c in d)" > got &&
	echo "[(${SQ}ADV-2026-0001${SQ}, ${SQ}company${SQ}, ${SQ}$c3${SQ}, [${SQ}/summary${SQ}]), (${SQ}ASMT-2026-0001${SQ}, ${SQ}company${SQ}, ${SQ}$c3${SQ}, [${SQ}/findings/2/severity${SQ}]), (${SQ}ASMT-2026-0003${SQ}, ${SQ}company${SQ}, ${SQ}$c3${SQ}, [${SQ}/title${SQ}])]" > want &&
	{ cmp want got || { cat want got; false; }; } &&
	json_get "$T/out" "[(c[\"base\"][\"summary\"], c[\"ours\"][\"summary\"], c[\"theirs\"][\"summary\"]) for c in d if c[\"id\"] == \"ADV-2026-0001\"]" > got &&
	echo "[(${SQ}$(python3 -c "import json; print(json.load(open(\"$EX/ADV-2026-0001.json\"))[\"summary\"])")${SQ}, ${SQ}agency says${SQ}, ${SQ}company says${SQ})]" > want &&
	{ cmp want got || { cat want got; false; }; } &&
	run 0 by company xch conflicts --json && [ "$(cat "$T/out")" = "[]" ]
'

test_expect 'a record in conflict stays out of bundles: dry-run says why, --id refuses' '
	h=$(tip agency) &&
	run 0 by agency xch seal --to company --dry-run &&
	grep_out "^leave out advisory ADV-2026-0001: in conflict; see .xch conflicts.$" &&
	grep_out "^leave out assessment ASMT-2026-0001: in conflict; " &&
	grep_out "^leave out assessment ASMT-2026-0003: in conflict; " &&
	! grep -q "^include .*ADV-2026-0001" "$T/out" &&
	run 1 by agency xch seal --to company --id ADV-2026-0001 -o "$B/refused.xch" &&
	grep_err "^xch: record .ADV-2026-0001. is in conflict; resolve it first$" && one_line_err &&
	[ ! -e "$B/refused.xch" ] && [ "$(tip agency)" = "$h" ]
'

test_expect 'a newer bundle while in conflict keeps the conflict, with their newest version' '
	edit company ADV-2026-0001 "d[\"summary\"] = \"company says again\"" &&
	seal_to company agency "$B/c4.xch" &&
	run 0 by agency xch import "$B/c4.xch" && grep_out ": 0 added, 0 changed, 0 deleted, [0-9]+ unchanged, 1 in conflict$" &&
	run 0 by agency xch conflicts --json && [ "$(json_get "$T/out" "len(d)")" -eq 3 ] &&
	json_get "$T/out" "[(c[\"ours\"][\"summary\"], c[\"theirs\"][\"summary\"]) for c in d if c[\"id\"] == \"ADV-2026-0001\"]" > got &&
	echo "[(${SQ}agency says${SQ}, ${SQ}company says again${SQ})]" | cmp - got &&
	[ "$(field agency ADV-2026-0001 "d[\"summary\"]")" = "agency says" ]
'

test_expect 'resolve refuses what it cannot do' '
	h=$(tip agency) &&
	run 2 by agency xch resolve ADV-2026-0001 && grep_err "exactly one of" &&
	run 2 by agency xch resolve --ours --theirs ADV-2026-0001 && grep_err "exactly one of" &&
	run 2 by agency xch resolve --ours ADV-2026-0003 && grep_err "^xch: record .ADV-2026-0003. is not in conflict$" &&
	run 2 by agency xch resolve --file "$EX/ADV-2026-0003.json" ASMT-2026-0001 &&
	grep_err "^xch: .*holds advisory .ADV-2026-0003., not assessment .ASMT-2026-0001.$" && one_line_err &&
	sed "s/\"severity\": \"low\"/\"severity\": \"dreadful\"/" "$T/agency-ASMT-2026-0001.json" > "$T/invalid.json" &&
	run 1 by agency xch resolve --file "$T/invalid.json" ASMT-2026-0001 && grep_err "severity" &&
	run 2 by agency xch resolve --file "$T/nonexistent.json" ASMT-2026-0001 &&
	[ "$(tip agency)" = "$h" ]
'

test_expect 'resolve with --theirs, --ours and --file' '
	run 0 by agency xch resolve --theirs ADV-2026-0001 && grep_out "^resolved ADV-2026-0001 with theirs$" &&
	[ "$(field agency ADV-2026-0001 "d[\"summary\"]")" = "company says again" ] &&
	edit agency ASMT-2026-0003 "d[\"scores\"][\"resilience\"] = 70" &&
	run 0 by agency xch resolve --ours ASMT-2026-0003 && grep_out "^resolved ASMT-2026-0003 with ours$" &&
	field agency ASMT-2026-0003 "d[\"title\"], d[\"scores\"][\"resilience\"]" && [ "$(field agency ASMT-2026-0003 "d[\"title\"], d[\"scores\"][\"resilience\"]")" = "(${SQ}Agency title${SQ}, 70)" ] &&
	by agency xch show --json ASMT-2026-0001 | python3 -c "import json, sys
d = json.load(sys.stdin)
[x for x in d[\"findings\"] if x[\"id\"] == \"F-003\"][0][\"severity\"] = \"medium\"
print(json.dumps(d))" > "$T/settled.json" &&
	run 0 by agency xch resolve --file "$T/settled.json" ASMT-2026-0001 &&
	grep_out "^resolved ASMT-2026-0001 with $T/settled.json$" &&
	[ "$(field agency ASMT-2026-0001 "f(\"F-003\")[\"severity\"]")" = medium ] &&
	run 0 by agency xch conflicts && no_out &&
	run 0 by agency xch conflicts --json && [ "$(cat "$T/out")" = "[]" ] &&
	run 0 by agency xch seal --to company --dry-run && ! grep -q "in conflict" "$T/out" &&
	grep_out "^include assessment ASMT-2026-0001$" && grep_out "^include assessment ASMT-2026-0003$" &&
	! grep -q "ADV-2026-0001" "$T/out" &&
	g agency fsck --strict --no-dangling
'

test_expect 'the resolution travels back; both sides hold the same records' '
	seal_to agency company "$B/a3.xch" &&
	run 0 by company xch import "$B/a3.xch" && grep_out " 0 in conflict$" &&
	for id in ASMT-2026-0001 ASMT-2026-0003 ADV-2026-0001; do
		[ -n "$(blob agency $id)" ] && [ "$(blob agency $id)" = "$(blob company $id)" ] || exit 1
	done &&
	[ "$(field company ASMT-2026-0003 "d[\"title\"]")" = "Agency title" ] &&
	run 2 by company xch show ADV-2026-0002 && grep_err "was deleted"
'

test_expect 'identical changes on both sides: no conflict' '
	edit agency ASMT-2026-0001 "d[\"scores\"][\"protective_measures\"] = 77; f(\"F-001\")[\"status\"] = \"closed\"" &&
	edit company ASMT-2026-0001 "d[\"scores\"][\"protective_measures\"] = 77; f(\"F-001\")[\"status\"] = \"closed\"" &&
	[ "$(blob agency ASMT-2026-0001)" = "$(blob company ASMT-2026-0001)" ] &&
	seal_to company agency "$B/c5.xch" &&
	run 0 by agency xch import "$B/c5.xch" && grep_out ": 0 added, 0 changed, 0 deleted, [0-9]+ unchanged, 0 in conflict$" &&
	[ "$(blob agency ASMT-2026-0001)" = "$(blob company ASMT-2026-0001)" ]
'

test_expect 'a deletion against our change is a conflict; --theirs deletes' '
	edit agency ASMT-2026-0003 "d[\"title\"] = \"Agency title, second edition\"" &&
	run 0 by company xch rm ASMT-2026-0003 &&
	seal_to company agency "$B/c6.xch" &&
	run 0 by agency xch import "$B/c6.xch" && grep_out ": 0 added, 0 changed, 0 deleted, [0-9]+ unchanged, 1 in conflict$" &&
	[ "$(field agency ASMT-2026-0003 "d[\"title\"]")" = "Agency title, second edition" ] &&
	run 0 by agency xch conflicts --json &&
	json_get "$T/out" "[(c[\"id\"], c[\"pointers\"], c[\"theirs\"], c[\"ours\"][\"title\"], c[\"base\"][\"title\"]) for c in d]" > got &&
	echo "[(${SQ}ASMT-2026-0003${SQ}, [${SQ}${SQ}], None, ${SQ}Agency title, second edition${SQ}, ${SQ}Agency title${SQ})]" | cmp - got &&
	run 0 by agency xch conflicts && grep_out "^    \(the whole record\)$" &&
	run 0 by agency xch resolve --theirs ASMT-2026-0003 &&
	run 2 by agency xch show ASMT-2026-0003 && grep_err "was deleted" &&
	run 0 by agency xch conflicts && no_out
'

test_expect 'nothing is lost: xch log shows both versions; the partner line keeps theirs' '
	run 0 by agency xch log ADV-2026-0001 &&
	grep_out "^    resolve ADV-2026-0001: theirs$" && grep_out "^    add ADV-2026-0001$" &&
	grep_out "^Action: conflict$" &&
	[ "$(grep -c "^commit " "$T/out")" -eq "$((3 + $(grep -c "^Action: conflict$" "$T/out")))" ] &&
	run 0 by agency xch log ASMT-2026-0003 &&
	grep_out "^Action: deleted$" && grep_out "^    resolve ASMT-2026-0003: theirs$" &&
	c3=$(cat "$T/c3id") &&
	line=$(g agency log --format="%H %s" refs/xch/partners/company | awk -v b="$c3" "\$3 == b { print \$1 }") &&
	[ -n "$line" ] &&
	g agency show "$line:$(g agency ls-tree -r --name-only "$line" | grep /ASMT-2026-0003.json)" |
		grep -q "\"title\": *\"Company title\"" &&
	merge=$(g agency log --first-parent --format=%H --grep="^Bundle: $c3$" main) && [ -n "$merge" ] &&
	[ "$(g agency rev-parse "$merge^2")" = "$line" ] &&
	g agency log --format=%s main | grep -q "^resolve ASMT-2026-0003: ours$"
'

# xch log ID walks the main branch and lists commits that change the
# record; an import that put their version aside in conflicts/ changes
# only the conflict, so the commit that brought the other version is not
# listed, and after resolve --ours nothing in xch log ID shows it.
test_expect 'xch log ID lists the import that brought a conflicting version' '
	run 0 by agency xch log ASMT-2026-0003 &&
	grep_out "^    import bundle $(cut -c1-12 "$T/c3id") from company"
'

# Both sides edit the same assessment at once and their bundles cross. Each
# merge base is what that side last sent, which the other never had, so
# each side reads the other's copy as undoing its own edit: the agency
# loses its title, the company its finding, silently, and the stores
# diverge. The base must be what both had: the sender has to say which of
# our bundles it had imported when it sealed (as a receipt does).
test_expect 'crossing bundles: concurrent edits of one record merge on both sides' '
	edit agency ASMT-2026-0001 "d[\"title\"] = \"Crossing: agency title\"" &&
	edit company ASMT-2026-0001 "f(\"F-004\")[\"status\"] = \"accepted_risk\"" &&
	seal_to agency company "$B/x-a.xch" && seal_to company agency "$B/x-c.xch" &&
	run 0 by agency xch import "$B/x-c.xch" && run 0 by company xch import "$B/x-a.xch" &&
	for p in agency company; do
		got=$(field $p ASMT-2026-0001 "d[\"title\"], f(\"F-004\")[\"status\"]") &&
		echo "$p: $got" &&
		[ "$got" = "(${SQ}Crossing: agency title${SQ}, ${SQ}accepted_risk${SQ})" ] || exit 1
	done
'

test_done

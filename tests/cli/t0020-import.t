#!/bin/sh
# xch import: agency -> company; records arrive byte for byte; re-import is a
# no-op; replay, rollback, gaps and unpinned signers are refused with nothing
# written; history and provenance name the partner and the bundle; the two
# directions of an exchange are independent channels.
. "$XCH_TOP_SRCDIR/tests/cli/lib.sh"

EX=$SRC/examples
KEYS=$RES/keys
CSV=$EX/attachments/riverside-scada-open-ports.csv
FORGE=$SRC/tests/cli/forge.py
B=$T/bundles
mkdir "$B"

# state NAME: every ref, the main tree, and every file of the store, its
# objects too: a refused import writes nothing at all.
state() {
	g "$1" for-each-ref --format='%(refname) %(objectname)' &&
	g "$1" ls-tree -r refs/heads/main &&
	(cd "$T/$1/store" && find . -print | LC_ALL=C sort |
		while read -r f; do
			printf '%s %s ' "$f" "$(stat -c %a "$f")"
			if [ -f "$f" ]; then sha256sum < "$f"; else echo; fi
		done)
}

# json_get FILE EXPR: evaluate a Python expression over the JSON document d.
json_get() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

# seal_to NAME PARTNER FILE [ARGS]: seal as NAME and print the bundle id.
seal_to() {
	p=$1 to=$2 f=$3
	shift 3
	by "$p" xch seal --to "$to" --json -o "$f" "$@" >"$T/seal.json" 2>"$T/seal.err" &&
	json_get "$T/seal.json" 'd["bundle_id"]'
}

party agency agency company.pub site.pub &&
party company company agency.pub &&
party mallory mallory company.pub || exit 99

test_expect 'set-up: partners pinned both ways, the agency holds the examples' '
	run 0 by agency xch partner add company --key "$KEYS/company.pub.asc" &&
	run 0 by company xch partner add agency --key "$KEYS/agency.pub.asc" &&
	run 0 by mallory xch partner add company --key "$KEYS/company.pub.asc" &&
	run 0 by agency xch add --attach "$CSV" "$EX"/*.json &&
	run 0 by mallory xch add "$EX/ADV-2026-0001.json"
'

test_expect 'import: records and attachment arrive byte for byte, in one merge commit' '
	id1=$(seal_to agency company "$B/b1.xch") && echo "$id1" > "$T/id1" &&
	h=$(tip company) &&
	run 0 by company xch import "$B/b1.xch" &&
	grep_out "^$B/b1.xch: imported bundle ${id1%????????????????????} from agency, sequence 1: 5 added, 0 changed, 0 deleted, 0 unchanged, 0 in conflict$" &&
	no_err &&
	g agency ls-tree -r refs/heads/main records attachments | grep -v /ASMT-2026-0002.json > want &&
	g company ls-tree -r refs/heads/main records attachments > got &&
	[ "$(wc -l < got)" -eq 6 ] && cmp want got &&
	sha=$(sha256sum < "$CSV" | cut -c1-64) &&
	g company cat-file -p "main:attachments/$(echo $sha | cut -c1-2)/$sha" | cmp - "$CSV" &&
	[ "$(tip company)" != "$h" ] && [ "$(g company rev-parse main~1)" = "$h" ] &&
	[ "$(g company rev-parse main^2)" = "$(g company rev-parse refs/xch/partners/agency)" ] &&
	run 0 by company xch list && [ "$(wc -l < "$T/out")" -eq 5 ] &&
	run 2 by company xch show ASMT-2026-0002
'

test_expect 'the store passes git fsck --strict' '
	g company fsck --strict --no-dangling &&
	g agency fsck --strict --no-dangling
'

test_expect 'the partner line holds the bundle as its own commit' '
	id1=$(cat "$T/id1") &&
	g company cat-file commit refs/xch/partners/agency > line &&
	grep -q "^bundle $id1 from agency, sequence 1$" line &&
	grep -q "^Bundle: $id1$" line && grep -q "^Sequence: 1$" line &&
	! grep -q "^parent " line &&
	g agency ls-tree -r refs/heads/main records attachments | grep -v /ASMT-2026-0002.json > want &&
	g company ls-tree -r refs/xch/partners/agency > got && cmp want got
'

test_expect 're-importing is a no-op: exit 0, nothing written' '
	id1=$(cat "$T/id1") &&
	state company > before &&
	run 0 by company xch import "$B/b1.xch" &&
	grep_out "^$B/b1.xch: bundle ${id1%????????????????????} from agency \(sequence 1\) was imported before; nothing to do$" &&
	no_err && state company > after && cmp before after &&
	cp "$B/b1.xch" "$B/b1-copy.xch" &&
	run 0 by company xch import --json "$B/b1-copy.xch" &&
	json_get "$T/out" "d[0][\"already\"], d[0][\"ok\"], d[0][\"bundle\"]" > got &&
	echo "(True, True, '"'"'$id1'"'"')" | cmp - got &&
	state company > after && cmp before after
'

test_expect 'a gap is refused (exit 10, nothing written); --allow-gap takes it' '
	seal_to agency company "$B/b2.xch" --full >/dev/null &&
	id3=$(seal_to agency company "$B/b3.xch" --full) &&
	state company > before &&
	run 10 by company xch import "$B/b3.xch" &&
	grep_err "^xch: .*sequence 3 of agency.s channel, but 2 is the next expected; .*--allow-gap$" &&
	one_line_err && no_out &&
	state company > after && cmp before after &&
	run 0 by company xch import --allow-gap "$B/b3.xch" &&
	grep_out "imported bundle ${id3%????????????????????} from agency, sequence 3: 0 added, 0 changed, 0 deleted, 5 unchanged, 0 in conflict$" &&
	g company fsck --strict --no-dangling
'

test_expect 'an older bundle after a newer one is refused: exit 8, nothing written' '
	state company > before &&
	run 8 by company xch import "$B/b2.xch" &&
	grep_err "^xch: .*sequence 2 of agency.s channel, which is at 3 already: a replay or a rollback$" &&
	one_line_err && no_out &&
	state company > after && cmp before after &&
	run 0 by company xch import "$B/b1.xch" && grep_out "imported before; nothing to do$" &&
	state company > after && cmp before after
'

test_expect 'several files: each is reported; the first refusal sets the exit code' '
	id4=$(seal_to agency company "$B/b4.xch") &&
	run 8 by company xch import "$B/b3.xch" "$B/b2.xch" "$B/b4.xch" &&
	grep_out "b3.xch: bundle .* was imported before" &&
	grep_err "b2.xch.: .*a replay or a rollback$" &&
	grep_out "b4.xch: imported bundle ${id4%????????????????????} from agency, sequence 4"
'

test_expect 'a bundle from an unpinned signer is refused: exit 4, nothing written' '
	run 0 by mallory xch seal --to company -o "$B/mallory.xch" &&
	state company > before &&
	run 4 by company xch import "$B/mallory.xch" &&
	grep_err "^xch: .*signature by unknown key" && one_line_err && no_out &&
	state company > after && cmp before after &&
	gpg --homedir "$T/company/gnupg" --batch --quiet --import "$KEYS/mallory.pub.asc" 2>/dev/null &&
	run 4 by company xch import "$B/mallory.xch" &&
	grep_err "^xch: .*$(key_fpr mallory), which is not a pinned partner key" && one_line_err && no_out &&
	state company > after && cmp before after &&
	run 4 by agency xch import "$B/b1.xch" && grep_err "not a pinned partner key"
'

test_expect 'a bundle that is not a bundle is refused, nothing written' '
	state company > before &&
	head -c 3000 "$B/b4.xch" > "$B/short.xch" &&
	by company xch import "$B/short.xch" >out 2>err; rc=$? &&
	[ $rc -ne 0 ] && [ $rc -ne 2 ] && grep -q "^xch: " err &&
	run 2 by company xch import "$B/nonexistent.xch" && grep_err "nonexistent.xch" &&
	state company > after && cmp before after
'

test_expect 'xch log ID shows the import commit with Partner and Bundle trailers' '
	id1=$(cat "$T/id1") &&
	run 0 by company xch log ASMT-2026-0001 &&
	grep_out "^    import bundle ${id1%????????????????????} from agency, sequence 1$" &&
	grep_out "^    Partner: agency$" && grep_out "^    Bundle: $id1$" &&
	grep_out "^Action: added$" &&
	[ "$(grep -c ^commit "$T/out")" -eq 1 ]
'

test_expect 'show --provenance names the partner and the bundle' '
	id1=$(cat "$T/id1") &&
	run 0 by company xch show --provenance ASMT-2026-0001 &&
	grep_out "^from: +partner agency, bundle $id1$" &&
	run 0 by company xch show --provenance --json ADV-2026-0003 &&
	json_get "$T/out" "d[\"partner\"], d[\"bundle\"], d[\"action\"]" > got &&
	echo "('"'"'agency'"'"', '"'"'$id1'"'"', '"'"'added'"'"')" | cmp - got &&
	run 0 by agency xch show --provenance ASMT-2026-0001 &&
	grep_out "^from: +this store"
'

test_expect 'both directions at once: two independent channels' '
	by company xch show --json ADV-2026-0001 |
		python3 -c "import json, sys; d = json.load(sys.stdin); d[\"summary\"] = \"from the company\"; print(json.dumps(d))" > "$T/c1.json" &&
	by agency xch show --json ADV-2026-0002 |
		python3 -c "import json, sys; d = json.load(sys.stdin); d[\"summary\"] = \"from the agency\"; print(json.dumps(d))" > "$T/a1.json" &&
	run 0 by company xch add "$T/c1.json" && run 0 by agency xch add "$T/a1.json" &&
	seal_to company agency "$B/c-1.xch" --id ADV-2026-0001 > cid && grep -q "\"sequence\": 1," "$T/seal.json" &&
	seal_to agency company "$B/a-5.xch" --id ADV-2026-0002 > aid && grep -q "\"sequence\": 5," "$T/seal.json" &&
	run 0 by agency xch import "$B/c-1.xch" &&
	grep_out "from company, sequence 1: 0 added, 1 changed, 0 deleted, 0 unchanged, 0 in conflict$" &&
	run 0 by company xch import "$B/a-5.xch" &&
	grep_out "from agency, sequence 5: 0 added, 1 changed, 0 deleted, 0 unchanged, 0 in conflict$" &&
	for p in agency company; do
		run 0 by $p xch show --json ADV-2026-0001 && grep_out "\"summary\": \"from the company\"" &&
		run 0 by $p xch show --json ADV-2026-0002 && grep_out "\"summary\": \"from the agency\"" || exit 1
	done &&
	[ "$(g agency ls-tree --name-only main state/in/company/ | wc -l)" -eq 1 ] &&
	[ "$(g company ls-tree --name-only main state/in/agency/ | wc -l)" -eq 1 ] &&
	g agency rev-parse -q --verify refs/xch/partners/company >/dev/null &&
	run 0 by agency xch import "$B/c-1.xch" && grep_out "imported before" &&
	run 0 by company xch import "$B/a-5.xch" && grep_out "imported before" &&
	seal_to company agency "$B/c-2.xch" --id ADV-2026-0001 >/dev/null && grep -q "\"sequence\": 2," "$T/seal.json" &&
	g agency fsck --strict --no-dangling && g company fsck --strict --no-dangling
'

# retitle PARTY ID TITLE: change a record's title as PARTY.
retitle() {
	by "$1" xch show --json "$2" |
		python3 -c "import json, sys; d = json.load(sys.stdin); d[\"title\"] = sys.argv[1]; print(json.dumps(d))" "$3" > "$T/retitled.json" &&
	by "$1" xch add "$T/retitled.json" >/dev/null
}

# Crossing bundles: the agency changes a record and seals it; before that
# bundle arrives, the company seals its own, sealed before it had the edit.
test_expect 'crossing bundles: a stale copy does not travel back over a newer edit' '
	retitle agency ASMT-2026-0003 "Retitled by the agency" &&
	retitle company ADV-2026-0001 "Retitled by the company" &&
	seal_to agency company "$B/a-6.xch" >/dev/null &&
	seal_to company agency "$B/c-3.xch" >/dev/null &&
	run 0 by company xch import "$B/a-6.xch" &&
	run 0 by agency xch import "$B/c-2.xch" "$B/c-3.xch" &&
	for p in agency company; do
		run 0 by $p xch show --json ASMT-2026-0003 && grep_out "\"title\": \"Retitled by the agency\"" &&
		run 0 by $p xch show --json ADV-2026-0001 && grep_out "\"title\": \"Retitled by the company\"" || exit 1
	done
'

# The same with --full: the company's bundle carries its copy of every
# record, the agency's merge base is what it last sent (its edit), so the
# company's older copy reads as a change back and the edit is reverted on
# the agency's side while the company keeps it: the stores diverge silently.
# The base must be what both had: the sender has to say which of our
# bundles it had imported when it sealed (as a receipt does).
test_expect 'crossing bundles with --full: a stale copy does not revert a newer edit' '
	retitle agency ASMT-2026-0003 "Retitled again by the agency" &&
	seal_to agency company "$B/a-7.xch" >/dev/null &&
	seal_to company agency "$B/c-4.xch" --full >/dev/null &&
	run 0 by company xch import "$B/a-7.xch" &&
	run 0 by agency xch import "$B/c-4.xch" &&
	for p in agency company; do
		echo "$p:" && run 0 by $p xch show --json ASMT-2026-0003 &&
		grep_out "\"title\": \"Retitled again by the agency\"" || exit 1
	done
'

# A partner's key vouches for what it sends, not for its being complete.
test_expect 'a record naming an attachment neither in the bundle nor in the store: exit 6, nothing written' '
	head -c 70000 /dev/urandom > "$T/capture.bin" &&
	sha=$(sha256sum < "$T/capture.bin" | cut -c1-64) &&
	by agency xch show --json ASMT-2026-0001 | python3 -c "
import json, sys
d = json.load(sys.stdin)
d[\"id\"] = \"ASMT-2026-0042\"
d[\"attachments\"] = [{\"name\": \"capture.bin\", \"media_type\": \"application/octet-stream\",
                     \"sha256\": sys.argv[1], \"size\": 70000}]
print(json.dumps(d))" "$sha" > "$T/ASMT-2026-0042.json" &&
	run 0 by agency xch add --attach "$T/capture.bin" "$T/ASMT-2026-0042.json" &&
	seal_to agency company "$B/a-att.xch" >/dev/null &&
	run 0 by company xch open -o "$T/a-att" "$B/a-att.xch" &&
	python3 "$FORGE" bundle --base "$B/a-att.xch" --from "$T/a-att" --case no-attachments \
		--gnupghome "$T/agency/gnupg" --signer "$(key_fpr agency)" --recipient "$(key_fpr company)" \
		"$B/a-att-forged.xch" &&
	state company > before &&
	run 6 by company xch import "$B/a-att-forged.xch" &&
	grep_err "^xch: .*record .ASMT-2026-0042. names attachment .capture\.bin., which is neither in the bundle nor in our store$" &&
	one_line_err && state company > after && cmp before after &&
	run 0 by company xch import "$B/a-att.xch" &&
	g company cat-file -p "main:attachments/$(echo $sha | cut -c1-2)/$sha" | cmp - "$T/capture.bin" &&
	g company fsck --strict --no-dangling
'

test_expect 'a record printed another way is stored in canonical form' '
	by agency xch show --json ASMT-2026-0001 | python3 -c "
import json, sys
d = json.load(sys.stdin)
d[\"id\"] = \"ASMT-2026-0043\"
d[\"title\"] = \"Relay/PLC \u00e9t\u00e9 \\\"quoted\\\" \u2603\"
d.pop(\"attachments\", None)
print(json.dumps(d))" > "$T/ASMT-2026-0043.json" &&
	run 0 by agency xch add "$T/ASMT-2026-0043.json" &&
	seal_to agency company "$B/a-nc.xch" >/dev/null &&
	run 0 by company xch open -o "$T/a-nc" "$B/a-nc.xch" &&
	python3 "$FORGE" bundle --base "$B/a-nc.xch" --from "$T/a-nc" --case noncanonical \
		--gnupghome "$T/agency/gnupg" --signer "$(key_fpr agency)" --recipient "$(key_fpr company)" \
		"$B/a-nc-forged.xch" &&
	run 0 by company xch open -o "$T/a-nc-forged" "$B/a-nc-forged.xch" &&
	! cmp -s "$T/a-nc/records/ASMT-2026-0043.json" "$T/a-nc-forged/records/ASMT-2026-0043.json" &&
	grep -qF "\"title\":\"Relay\\/PLC \\u00e9t\\u00e9" "$T/a-nc-forged/records/ASMT-2026-0043.json" &&
	run 0 by company xch import "$B/a-nc-forged.xch" &&
	g agency ls-tree -r refs/heads/main records | grep "/ASMT-2026-0043.json$" > want &&
	g company ls-tree -r refs/heads/main records | grep "/ASMT-2026-0043.json$" > got &&
	test -s want && cmp want got &&
	g company cat-file -p "$(cut -f1 got | cut -d" " -f3)" | cmp - "$T/a-nc/records/ASMT-2026-0043.json" &&
	g company fsck --strict --no-dangling
'

test_done

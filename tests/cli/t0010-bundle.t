#!/bin/sh
# Bundles end to end: partners, identity, seal, verify, open, inspect; the
# bundle opened with stock tar and gpg; a transfer station; key rotation.
. "$XCH_TOP_SRCDIR/tests/cli/lib.sh"

EX=$SRC/examples
KEYS=$RES/keys
CSV=$EX/attachments/riverside-scada-open-ports.csv
AGENCY=$(key_fpr agency)
AGENCY_NEW=$(key_fpr agency-new)
COMPANY=$(key_fpr company)
SITE=$(key_fpr site)
B=$T/bundles
mkdir "$B"

# party NAME KEY...: $T/NAME/gnupg with those fixture keys, $T/NAME/store.
party() {
	p=$1
	shift
	mkdir -p -m 700 "$T/$p/gnupg" && { [ $# -eq 0 ] || keys_import "$T/$p/gnupg" "$@"; } &&
	xch init "$T/$p/store" >/dev/null
}

# stray DIR: what DIR holds besides the store itself (.xch).
stray() { ls -A "$1" | grep -v "^\.xch$"; }

# json_get FILE PATH...: print the value at each dotted PATH (a.0.b) of a JSON file.
json_get() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for path in sys.argv[2:]:
    v = d
    for k in path.split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
    print(v)' "$@"
}

party agency agency company.pub site.pub &&
party company company &&
party station || exit 99

test_expect 'partner add pins a key file and prints its fingerprint' '
	run 0 by agency xch partner add company --key "$KEYS/company.pub.asc" &&
	grep_out "^partner company: pinned key $COMPANY$" && grep_out "confirm this fingerprint" &&
	run 0 by agency xch partner add site --key "$KEYS/site.pub.asc" &&
	grep_out "pinned key $SITE$" &&
	run 0 by agency xch partner list &&
	grep_out "^company +$COMPANY$" && grep_out "^site +$SITE$" &&
	[ "$(wc -l < "$T/out")" -eq 2 ] &&
	run 0 by company xch partner add agency --key "$KEYS/agency.pub.asc" &&
	grep_out "pinned key $AGENCY$"
'

test_expect 'seal without an identity fails clearly' '
	h=$(tip agency) &&
	run 2 by agency xch seal --to company &&
	grep_err "^xch: no identity set; see .xch identity FPR.$" && one_line_err &&
	run 2 by agency xch identity && grep_err "no identity set" &&
	[ "$(tip agency)" = "$h" ] && [ -z "$(stray "$T/agency/store")" ]
'

test_expect 'identity: a key without its secret part is refused' '
	run 2 by agency xch identity "$COMPANY" &&
	grep_err "^xch: cannot use key $COMPANY: no secret signing key" && one_line_err &&
	run 2 by agency xch identity "$T/nonexistent" && grep_err "neither a fingerprint" &&
	run 0 by agency xch identity "$AGENCY" && grep_out "^$AGENCY$" &&
	run 0 by agency xch identity && grep_out "^$AGENCY$" &&
	run 0 by company xch identity "$COMPANY"
'

test_expect 'the agency adds the example records and their attachment' '
	run 0 by agency xch add --attach "$CSV" "$EX"/*.json &&
	grep_out "^assessment ASMT-2026-0001$" && grep_out "^advisory ADV-2026-0003$"
'

test_expect 'seal --dry-run lists what goes and what is left out, and writes nothing' '
	h=$(tip agency) &&
	run 0 by agency xch seal --to company --dry-run &&
	grep_out "^include assessment ASMT-2026-0001$" &&
	grep_out "^include advisory ADV-2026-0003$" &&
	grep_out "^leave out assessment ASMT-2026-0002: TLP:AMBER\+STRICT and not shared with .company.$" &&
	[ "$(grep -c "^include " "$T/out")" -eq 5 ] &&
	grep_out "^would seal 5 records, 1 attachments, 0 deletions as sequence 1$" && no_err &&
	run 0 by agency xch seal --to site -n &&
	grep_out "^leave out assessment ASMT-2026-0001: TLP:RED and not shared with .site.$" &&
	grep_out "^include assessment ASMT-2026-0002$" &&
	[ "$(tip agency)" = "$h" ] && [ -z "$(stray "$T/agency/store")" ]
'

test_expect 'a record its marking forbids is refused by name: exit 11, no file' '
	h=$(tip agency) &&
	run 11 by agency xch seal --id ASMT-2026-0002 --to company -o "$B/forbidden.xch" &&
	grep_err "^xch: record .ASMT-2026-0002. cannot go to .company.: TLP:AMBER\+STRICT and not shared with .company.$" &&
	one_line_err &&
	run 11 by agency xch seal --id ADV-2026-0001 --id ASMT-2026-0002 --to site,company &&
	one_line_err &&
	run 2 by agency xch seal --to nobody && grep_err "no partner .nobody." && one_line_err &&
	[ -z "$(ls -A "$B")" ] && [ -z "$(stray "$T/agency/store")" ] && [ "$(tip agency)" = "$h" ]
'

test_expect 'seal writes the bundle; sequence numbers count per recipient set' '
	run 0 by agency xch seal --to company -o "$B/b1.xch" &&
	grep_out "^sealed $B/b1.xch: full, 5 records, 1 attachments, 0 deletions, sequence 1, [0-9]+ bytes$" &&
	grep_err "^xch: leaving out assessment ASMT-2026-0002: " &&
	run 0 by agency xch seal --to company -o "$B/b2.xch" && grep_out "sequence 2," &&
	run 0 by agency xch seal --to company,site --json -o "$B/both1.xch" &&
	json_get "$T/out" sequence records attachments left_out > got &&
	printf "1\n4\n0\n2\n" | cmp - got &&
	run 0 by agency xch seal --to site --to company -o "$B/both2.xch" && grep_out "sequence 2," &&
	run 0 by agency xch seal --to site -o "$B/site1.xch" && grep_out "sequence 1," &&
	[ -z "$(stray "$T/agency/store")" ] && [ "$(ls -A "$B" | grep -c "^\.")" -eq 0 ]
'

test_expect '--expires sets the expiry, shown by inspect' '
	run 0 by agency xch seal --to company --expires 2h -o "$B/b2h.xch" &&
	run 0 by company xch inspect "$B/b2h.xch" &&
	created=$(sed -n "s/^created: *//p" "$T/out") && expires=$(sed -n "s/^expires: *//p" "$T/out") &&
	[ $(( $(date -d "$expires" +%s) - $(date -d "$created" +%s) )) -eq 7200 ] &&
	run 0 by company xch inspect "$B/b1.xch" &&
	created=$(sed -n "s/^created: *//p" "$T/out") && expires=$(sed -n "s/^expires: *//p" "$T/out") &&
	[ $(( $(date -d "$expires" +%s) - $(date -d "$created" +%s) )) -eq $((30 * 86400)) ] &&
	run 2 by agency xch seal --to company --expires soon && grep_err "invalid duration" && one_line_err
'

test_expect 'the partner verifies the bundle, whole or only its envelope' '
	h=$(tip company) &&
	run 0 by company xch verify "$B/b1.xch" && grep_out "^$B/b1.xch: ok, from partner .agency.$" && no_err &&
	run 0 by company xch verify --envelope "$B/b1.xch" && grep_out "ok, from partner .agency." &&
	run 0 by company xch verify --json "$B/b2.xch" &&
	json_get "$T/out" valid sender manifest.sequence > got &&
	printf "True\nagency\n2\n" | cmp - got &&
	[ "$(tip company)" = "$h" ]
'

test_expect 'open extracts records identical to the sender'"'"'s, the attachment and the manifest' '
	run 0 by company xch open -o "$T/opened" "$B/b1.xch" &&
	grep_out "^$B/b1.xch: verified, from partner .agency.; extracted into $T/opened$" &&
	sha=$(sha256sum < "$CSV" | cut -c1-64) &&
	(cd "$T/opened" && find . -type f | LC_ALL=C sort) > files &&
	printf "%s\n" ./attachments/$sha ./manifest.json ./records/ADV-2026-0001.json \
		./records/ADV-2026-0002.json ./records/ADV-2026-0003.json ./records/ASMT-2026-0001.json \
		./records/ASMT-2026-0003.json | cmp - files &&
	for id in ADV-2026-0001 ADV-2026-0002 ADV-2026-0003 ASMT-2026-0001 ASMT-2026-0003; do
		by agency xch show --json $id > want.json && cmp want.json "$T/opened/records/$id.json" || exit 1
	done &&
	cmp "$CSV" "$T/opened/attachments/$sha" &&
	[ "$(json_get "$T/opened/manifest.json" counts.records counts.attachments)" = "$(printf "5\n1")" ] &&
	[ -z "$(ls -d "$T"/opened.tmp-* 2>/dev/null)" ] &&
	run 2 by company xch open -o "$T/opened" "$B/b2.xch" && grep_err "cannot open into .*: it exists" &&
	one_line_err
'

test_expect 'stock tools: tar lists the three members; gpg and tar extract the same files' '
	tar -tf "$B/b1.xch" > members && printf "payload.gpg\nenvelope.json\nenvelope.sig\n" | cmp - members &&
	mkdir stock && (cd stock && tar -xOf "$B/b1.xch" payload.gpg |
		GNUPGHOME="$T/company/gnupg" gpg --batch --quiet --decrypt 2>/dev/null | tar -xzf -) &&
	diff -r stock "$T/opened" &&
	tar -xOf "$B/b1.xch" envelope.json > envelope.json && tar -xOf "$B/b1.xch" envelope.sig > envelope.sig &&
	keys_import "$T/verifier/gnupg" agency.pub &&
	GNUPGHOME="$T/verifier/gnupg" gpg --batch --status-fd 1 --verify envelope.sig envelope.json > status 2>/dev/null &&
	grep -q "^\[GNUPG:\] GOODSIG " status && grep -q "^\[GNUPG:\] VALIDSIG .* $AGENCY$" status &&
	[ "$(json_get envelope.json sender_fpr)" = "$AGENCY" ]
'

test_expect 'inspect shows the envelope; --json gives envelope and manifest' '
	id=$(tar -xOf "$B/b1.xch" envelope.json | json_get /dev/stdin bundle_id) &&
	run 0 by company xch inspect "$B/b1.xch" &&
	grep_out "^bundle: +$id$" && grep_out "^sender: +$AGENCY$" &&
	grep_out "^signature: +good signature by partner .agency. \($AGENCY\)$" &&
	grep_out "^sequence: +1$" && grep_out "^kind: +full$" && grep_out "^to: +company $COMPANY$" &&
	grep_out "^entry: +records/ASMT-2026-0001.json " &&
	run 0 by company xch inspect --json "$B/b1.xch" &&
	json_get "$T/out" envelope.bundle_id manifest.bundle_id manifest.counts.records sender > got &&
	printf "%s\n%s\n5\nagency\n" "$id" "$id" | cmp - got
'

test_expect 'a transfer station checks the envelope without a secret key, but cannot open' '
	keys_import "$T/station/gnupg" agency.pub company.pub &&
	run 0 by station xch partner add agency --key "$KEYS/agency.pub.asc" &&
	run 0 by station xch partner add company --key "$KEYS/company.pub.asc" &&
	h=$(tree_digest "$T/station/store") &&
	run 0 by station xch verify --envelope "$B/b1.xch" && grep_out "ok, from partner .agency." &&
	run 0 by station xch inspect "$B/b1.xch" && grep_out "^bundle: " &&
	grep_out "^manifest: +not readable here" &&
	run 2 by station xch open -o "$T/station-open" "$B/b1.xch" &&
	grep_err "^xch: no identity set" && one_line_err &&
	run 2 by station xch verify "$B/b1.xch" && one_line_err &&
	[ ! -e "$T/station-open" ] && [ -z "$(ls -d "$T"/station-open.tmp-* 2>/dev/null)" ] &&
	[ "$(tree_digest "$T/station/store")" = "$h" ]
'

test_expect 'partner add refuses expired and revoked keys, and one key for two partners' '
	h=$(tip company) &&
	run 4 by company xch partner add old --key "$KEYS/expired.pub.asc" &&
	grep_err "^xch: cannot use key [0-9A-F]{40}: key .[0-9A-F]{40}. has expired$" && one_line_err &&
	run 4 by company xch partner add gone --key "$KEYS/revoked.pub.asc" &&
	grep_err "key .[0-9A-F]{40}. is revoked$" && one_line_err &&
	run 2 by company xch partner add agency2 --key "$KEYS/agency.pub.asc" &&
	grep_err "^xch: key $AGENCY is pinned for partner .agency. already$" && one_line_err &&
	run 2 by company xch partner add agency --key "$AGENCY" &&
	grep_err "pinned for .agency. already" &&
	[ "$(tip company)" = "$h" ]
'

test_expect 'key rotation: the new key becomes current, the old one stays listed and accepted' '
	run 0 by company xch partner add agency --key "$KEYS/agency-new.pub.asc" &&
	grep_out "^partner agency: pinned key $AGENCY_NEW$" &&
	run 0 by company xch partner show agency &&
	grep_out "^key: +$AGENCY_NEW current " && grep_out "^key: +$AGENCY earlier " &&
	[ "$(grep -c "^key:" "$T/out")" -eq 2 ] &&
	run 0 by company xch partner show --json agency &&
	json_get "$T/out" keys.0.fpr keys.0.current keys.1.fpr keys.1.current > got &&
	printf "%s\nTrue\n%s\nFalse\n" "$AGENCY_NEW" "$AGENCY" | cmp - got &&
	run 0 by company xch verify "$B/b1.xch" &&
	keys_import "$T/agency/gnupg" agency-new &&
	run 0 by agency xch identity "$AGENCY_NEW" &&
	run 0 by agency xch seal --to company -o "$B/rotated.xch" &&
	run 0 by company xch inspect "$B/rotated.xch" && grep_out "^sender: +$AGENCY_NEW$" &&
	run 0 by company xch verify "$B/rotated.xch" && grep_out "ok, from partner .agency.$"
'

test_done

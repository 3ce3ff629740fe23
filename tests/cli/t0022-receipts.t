#!/bin/sh
# Receipts: the company acknowledges what it imported, the agency imports the
# receipt, and from then on seals only what changed since (deletions as
# tombstones), or nothing at all; partner show tells where each side stands;
# a forged or repeated receipt changes nothing; a channel with several
# recipients goes incremental only once all of them acknowledged.
. "$XCH_TOP_SRCDIR/tests/cli/lib.sh"

EX=$SRC/examples
KEYS=$RES/keys
CSV=$EX/attachments/riverside-scada-open-ports.csv
B=$T/bundles
mkdir "$B"
SQ="'"

json_get() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

# state NAME: every ref, the main tree, every file of the store but objects.
state() {
	g "$1" for-each-ref --format='%(refname) %(objectname)' &&
	g "$1" ls-tree -r refs/heads/main &&
	(cd "$T/$1/store" && find . -path ./.xch/objects -prune -o -print | LC_ALL=C sort |
		while read -r f; do
			printf '%s %s ' "$f" "$(stat -c %a "$f")"
			if [ -f "$f" ]; then sha256sum < "$f"; else echo; fi
		done)
}

# status PARTY PARTNER: partner show --json's status as "sent acked pending received receipt_pending".
status() {
	by "$1" xch partner show --json "$2" > "$T/status.json" &&
	json_get "$T/status.json" '" ".join(str(d["status"][k]) for k in ("sent", "acknowledged", "pending", "received", "receipt_pending"))'
}

# manifest FILE EXPR: an expression over the manifest m of bundle FILE, as the company reads it.
manifest() {
	by company xch inspect --json "$1" > "$T/inspect.json" &&
	python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))["manifest"]; print(eval(sys.argv[2]))' "$T/inspect.json" "$2"
}

retitle() {
	by "$1" xch show --json "$2" |
		python3 -c "import json, sys; d = json.load(sys.stdin); d[\"title\"] = sys.argv[1]; print(json.dumps(d))" "$3" > "$T/retitled.json" &&
	by "$1" xch add "$T/retitled.json" >/dev/null
}

party agency agency company.pub site.pub &&
party company company agency.pub &&
party site site agency.pub || exit 99

test_expect 'set-up: the agency seals the examples to the company, which imports them' '
	run 0 by agency xch partner add company --key "$KEYS/company.pub.asc" &&
	run 0 by agency xch partner add site --key "$KEYS/site.pub.asc" &&
	run 0 by company xch partner add agency --key "$KEYS/agency.pub.asc" &&
	run 0 by site xch partner add agency --key "$KEYS/agency.pub.asc" &&
	run 0 by agency xch add --attach "$CSV" "$EX"/*.json &&
	run 0 by agency xch seal --to company -o "$B/b1.xch" && grep_out ": full, 5 records, 1 attachments, 0 deletions, sequence 1," &&
	[ "$(manifest "$B/b1.xch" "m[\"kind\"], m.get(\"base\")")" = "(${SQ}full${SQ}, None)" ] &&
	run 0 by company xch import "$B/b1.xch"
'

test_expect 'before a receipt: sent but not acknowledged; the company owes a receipt' '
	[ "$(status agency company | cut -d" " -f1,2,4,5)" = "1 0 0 False" ] &&
	[ "$(status company agency | cut -d" " -f1,2,4,5)" = "0 0 1 True" ] &&
	run 0 by company xch partner show agency &&
	grep_out "^received: +sequence 1 \(receipt pending: xch receipt --for NAME\)$" &&
	run 0 by agency xch partner show company && grep_out "^sent: +sequence 1, acknowledged 0$"
'

test_expect 'without a receipt the next seal is full again' '
	run 0 by agency xch seal --to company --dry-run &&
	grep_out "^would seal [0-9]+ records, [0-9]+ attachments, 0 deletions as sequence 2$" &&
	run 0 by agency xch seal --to company --full --dry-run &&
	grep_out "^would seal 5 records, 1 attachments, 0 deletions as sequence 2$"
'

test_expect 'the company writes a receipt; the agency imports it' '
	h=$(tip agency) &&
	run 0 by company xch receipt --for agency -o "$B/r1.xch" &&
	grep_out "^receipt for agency written to $B/r1.xch \(sequence 1\)$" &&
	[ "$(status company agency | cut -d" " -f4,5)" = "1 False" ] &&
	run 0 by agency xch import "$B/r1.xch" &&
	grep_out "^$B/r1.xch: receipt [0-9a-f]{12} from company: 1 bundle acknowledged$" && no_err &&
	[ "$(g agency rev-parse main~1)" = "$h" ] &&
	[ "$(status agency company)" = "1 1 0 0 False" ] &&
	run 0 by agency xch partner show company &&
	grep_out "^sent: +sequence 1, acknowledged 1$" && grep_out "^pending: +0 records and deletions not acknowledged$" &&
	g agency fsck --strict --no-dangling
'

test_expect 'a receipt imported again is a no-op' '
	state agency > before &&
	run 0 by agency xch import "$B/r1.xch" && grep_out "was imported before; nothing to do$" &&
	state agency > after && cmp before after
'

test_expect 'a receipt with nothing to acknowledge is refused' '
	run 2 by agency xch receipt --for site -o "$B/nothing.xch" &&
	grep_err "^xch: nothing received from .site. to acknowledge$" && one_line_err &&
	[ ! -e "$B/nothing.xch" ]
'

test_expect 'nothing changed: nothing to seal, no file, no sequence spent' '
	h=$(tip agency) &&
	run 0 by agency xch seal --to company -o "$B/empty.xch" &&
	grep_out "^nothing to seal: " && [ ! -e "$B/empty.xch" ] && [ "$(tip agency)" = "$h" ] &&
	run 0 by agency xch seal --to company --dry-run && grep_out "^nothing to seal: "
'

test_expect 'one record changed: the next seal is incremental with exactly that record' '
	retitle agency ADV-2026-0001 "Changed by the agency" &&
	run 0 by agency xch seal --to company -o "$B/b2.xch" &&
	grep_out ": incremental, 1 records, 0 attachments, 0 deletions, sequence 2," &&
	seal1=$(g agency log --first-parent --format=%H --grep="^seal .*: sequence 1 to company$" main) &&
	[ "$(manifest "$B/b2.xch" "m[\"kind\"], m[\"base\"], [e[\"path\"] for e in m[\"entries\"]], m[\"tombstones\"]")" = \
	  "(${SQ}incremental${SQ}, ${SQ}$(g agency rev-parse "$seal1~1")${SQ}, [${SQ}records/ADV-2026-0001.json${SQ}], [])" ] &&
	run 0 by company xch import "$B/b2.xch" &&
	grep_out ": 0 added, 1 changed, 0 deleted, 0 unchanged, 0 in conflict$" &&
	run 0 by company xch show --json ADV-2026-0001 && grep_out "\"title\": \"Changed by the agency\""
'

test_expect 'a deletion travels as a tombstone' '
	run 0 by agency xch rm ADV-2026-0002 &&
	run 0 by agency xch seal --to company -o "$B/b3.xch" &&
	grep_out ": incremental, [0-9]+ records, 0 attachments, 1 deletions, sequence 3," &&
	[ "$(manifest "$B/b3.xch" "[(t[\"type\"], t[\"id\"]) for t in m[\"tombstones\"]]")" = "[(${SQ}advisory${SQ}, ${SQ}ADV-2026-0002${SQ})]" ] &&
	run 0 by company xch import "$B/b3.xch" && grep_out " 1 deleted, " &&
	run 2 by company xch show ADV-2026-0002 && grep_err "was deleted"
'

test_expect 'the receipt for both: one receipt names the newest bundle of the channel' '
	run 0 by company xch receipt --for agency -o "$B/r2.xch" &&
	run 0 by agency xch import "$B/r2.xch" && grep_out ": receipt [0-9a-f]{12} from company: 1 bundle acknowledged$" &&
	[ "$(status agency company)" = "3 3 0 0 False" ] &&
	run 0 by agency xch seal --to company -o "$B/none.xch" && grep_out "^nothing to seal: " && [ ! -e "$B/none.xch" ]
'

test_expect '--full sends everything again' '
	run 0 by agency xch seal --to company --full -o "$B/b4.xch" &&
	grep_out ": full, 4 records, 1 attachments, [01] deletions, sequence 4," &&
	[ "$(manifest "$B/b4.xch" "m[\"kind\"], m.get(\"base\"), len(m[\"entries\"])")" = "(${SQ}full${SQ}, None, 5)" ] &&
	run 0 by company xch import "$B/b4.xch" && grep_out ": 0 added, 0 changed, 0 deleted, [45] unchanged, 0 in conflict$"
'

# Each receipt names everything it acknowledges, so one lost on the way is
# no gap; an older one after a newer one is still a replay.
test_expect 'a lost receipt is no gap; an older receipt after a newer one is refused: exit 8, nothing written' '
	run 0 by company xch receipt --for agency -o "$B/r5.xch" && grep_out "\(sequence 3\)$" &&
	run 0 by company xch receipt --for agency -o "$B/r6.xch" && grep_out "\(sequence 4\)$" &&
	run 0 by agency xch import "$B/r6.xch" && grep_out ": 1 bundle acknowledged$" &&
	state agency > before &&
	run 8 by agency xch import "$B/r5.xch" && grep_err "sequence 3 of company.s channel, which is at 4 already" &&
	one_line_err && no_out &&
	state agency > after && cmp before after &&
	[ "$(status agency company)" = "4 4 0 0 False" ]
'

# A receipt naming, at a sequence we sealed, a bundle we never sent: the
# company's copy of its store is made to believe it imported another bundle
# there, and signs a receipt saying so.
test_expect 'a receipt naming a bundle we never sent at that sequence is refused, nothing written' '
	cp -a "$T/company" "$T/forger" &&
	f=$(g forger ls-tree -r --name-only main state/in/agency | head -1) &&
	g forger show "main:$f" | python3 -c "import json, sys
d = json.load(sys.stdin)
d[\"bundles\"][-1] = \"0123456789abcdef0123456789abcdef\"
print(json.dumps(d, sort_keys=True, separators=(\",\", \":\")), end=\"\")" > forged.json &&
	GIT_INDEX_FILE="$T/forger.index" g forger read-tree main &&
	GIT_INDEX_FILE="$T/forger.index" g forger update-index --cacheinfo "100644,$(g forger hash-object -w forged.json),$f" &&
	tree=$(GIT_INDEX_FILE="$T/forger.index" g forger write-tree) &&
	g forger update-ref refs/heads/main "$(echo forge | g forger commit-tree "$tree" -p main)" &&
	run 0 by forger xch receipt --for agency -o "$B/forged.xch" &&
	state agency > before &&
	run 6 by agency xch import "$B/forged.xch" &&
	grep_err "^xch: .*receipt from company names bundle 0123456789ab\.\.\. at sequence 4, but we sent [0-9a-f]{12}\.\.\. there$" &&
	one_line_err && no_out &&
	state agency > after && cmp before after
'

test_expect 'several recipients on one channel: incremental only once all acknowledged' '
	run 0 by agency xch seal --to company,site -o "$B/both1.xch" &&
	grep_out ": full, [0-9]+ records, [0-9]+ attachments, [0-9]+ deletions, sequence 1," &&
	run 0 by company xch import "$B/both1.xch" && run 0 by site xch import "$B/both1.xch" &&
	run 0 by company xch receipt --for agency -o "$B/r7.xch" &&
	run 0 by agency xch import "$B/r7.xch" && grep_out ": 1 bundle acknowledged$" &&
	retitle agency ASMT-2026-0003 "Changed for both" &&
	run 0 by agency xch seal --to company,site -o "$B/both2.xch" &&
	grep_out ": full, [0-9]+ records, .* sequence 2," &&
	[ "$(manifest "$B/both2.xch" "m[\"kind\"], m.get(\"base\")")" = "(${SQ}full${SQ}, None)" ] &&
	run 0 by company xch import "$B/both2.xch" && run 0 by site xch import "$B/both2.xch" &&
	run 0 by site xch receipt --for agency -o "$B/rs1.xch" &&
	run 0 by agency xch import "$B/rs1.xch" && grep_out ": 1 bundle acknowledged$" &&
	[ "$(status agency site | cut -d" " -f4,5)" = "0 False" ] &&
	retitle agency ASMT-2026-0003 "Changed for both, again" &&
	run 0 by agency xch seal --to company,site -o "$B/both3.xch" &&
	grep_out ": incremental, 1 records, 0 attachments, 0 deletions, sequence 3," &&
	id1=$(manifest "$B/both1.xch" "m[\"bundle_id\"]") &&
	seal1=$(g agency log --first-parent --format=%H --grep="^Bundle: $id1$" main) && [ -n "$seal1" ] &&
	[ "$(manifest "$B/both3.xch" "m[\"base\"], [e[\"path\"] for e in m[\"entries\"]]")" = \
	  "(${SQ}$(g agency rev-parse "$seal1~1")${SQ}, [${SQ}records/ASMT-2026-0003.json${SQ}])" ] &&
	run 0 by site xch import "$B/both3.xch" && grep_out ": 0 added, 1 changed, " &&
	run 0 by company xch import "$B/both3.xch" && grep_out ": 0 added, 1 changed, " &&
	run 0 by site xch show --json ASMT-2026-0003 && grep_out "\"title\": \"Changed for both, again\""
'

# Workflow B: "the next bundle contains only what the site has not
# acknowledged". A seal records what it sent as shared/<partner>/... at
# once, and later seals leave out what is shared, so a bundle lost on the
# way (never acknowledged) is never made up for: the next incremental
# carries only what changed since the last seal, not since the receipt.
test_expect 'what a lost bundle carried goes again in the next incremental' '
	retitle agency ADV-2026-0003 "Sent in a bundle that is lost" &&
	run 0 by agency xch seal --to company -o "$B/lost.xch" && grep_out ": incremental, [0-9]+ records, " &&
	manifest "$B/lost.xch" "[e[\"path\"] for e in m[\"entries\"]]" | grep -q "records/ADV-2026-0003.json" &&
	retitle agency ASMT-2026-0001 "Sent in the next bundle" &&
	run 0 by agency xch seal --to company -o "$B/next.xch" &&
	manifest "$B/next.xch" "[e[\"path\"] for e in m[\"entries\"]]" > got &&
	grep -q "records/ADV-2026-0003.json" got && grep -q "records/ASMT-2026-0001.json" got
'

test_done

#!/bin/sh
# Workflow B by USB: the agency exports to a directory, a transfer station
# that holds only public keys checks every envelope, the air-gapped site
# imports, its receipts come back on the stick, and the agency's next bundle
# holds only what the site has not acknowledged. Writes are atomic; a
# truncated or corrupted file is refused and the rest imported; files for
# others are skipped; importing again changes nothing.
. "$XCH_TOP_SRCDIR/tests/cli/lib.sh"

EX=$SRC/examples
KEYS=$RES/keys
CSV=$EX/attachments/riverside-scada-open-ports.csv
USB=$T/usb
CANARY=canary-5b0e2a91-plaintext
mkdir "$USB"

# party NAME KEY...: $T/NAME/gnupg with those fixture keys, $T/NAME/store,
# whose identity is the first key if it is a secret one.
party() {
	p=$1
	shift
	keys_import "$T/$p/gnupg" "$@" || return 1
	case $1 in
	*.pub) xch init "$T/$p/store" >/dev/null ;;
	*) xch init --identity "$(key_fpr "$1")" "$T/$p/store" >/dev/null ;;
	esac
}

refs() { git --git-dir="$T/$1/store/.xch" for-each-ref --format='%(refname) %(objectname)'; }

# edit NAME ID FIELD VALUE: as party NAME, set a field of a record and commit it.
edit() {
	by "$1" xch show --json "$2" |
	python3 -c 'import json, sys; d = json.load(sys.stdin); d[sys.argv[1]] = sys.argv[2]; print(json.dumps(d))' \
		"$3" "$4" >"$T/edit.json" &&
	by "$1" xch add "$T/edit.json" >/dev/null
}
field() { by "$1" xch show --json "$2" | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$3"; }

# newest PATTERN: the newest file on the stick matching PATTERN.
newest() { ls -t "$USB"/$1 | head -n 1; }

# stick_clean: on the stick only final names: *.xch files and index.json, no temporary files.
stick_clean() {
	ls -A "$USB" > "$T/names" &&
	! grep -v -E '^([a-z]+-[a-z]+-[0-9a-f]{12}\.xch|index\.json)$' "$T/names"
}

# index_ok: every file index.json lists is on the stick with that size and SHA-256.
index_ok() {
	python3 - "$USB" <<-'EOF'
	import hashlib, json, os, sys
	d = sys.argv[1]
	idx = json.load(open(os.path.join(d, "index.json")))
	assert idx["format"] == "xch-index/1", idx
	for f in idx["files"]:
	    data = open(os.path.join(d, f["file"]), "rb").read()
	    assert f["size"] == len(data), f
	    assert f["sha256"] == hashlib.sha256(data).hexdigest(), f
	    assert f["kind"] in ("bundle", "receipt"), f
	    assert isinstance(f["sequence"], int) and f["sequence"] > 0, f
	print(" ".join(sorted(f["file"] for f in idx["files"])))
	EOF
}

party agency agency company.pub site.pub &&
party site site agency.pub &&
party company company agency.pub &&
party station agency.pub site.pub || exit 99
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d["title"] = sys.argv[2]; print(json.dumps(d))' \
	"$EX/ADV-2026-0001.json" "Advisory $CANARY" >"$T/canary.json" || exit 99

test_expect 'set-up: partners pinned; the station holds no secret key' '
	run 0 by agency xch partner add site --key "$KEYS/site.pub.asc" &&
	run 0 by agency xch partner add company --key "$KEYS/company.pub.asc" &&
	run 0 by agency xch add --attach "$CSV" "$EX"/*.json &&
	run 0 by agency xch add "$T/canary.json" &&
	run 0 by site xch partner add agency --key "$KEYS/agency.pub.asc" &&
	run 0 by company xch partner add agency --key "$KEYS/agency.pub.asc" &&
	run 0 by station xch partner add agency --key "$KEYS/agency.pub.asc" &&
	run 0 by station xch partner add site --key "$KEYS/site.pub.asc" &&
	[ -z "$(GNUPGHOME="$T/station/gnupg" gpg --batch --list-secret-keys 2>/dev/null)" ]
'

test_expect 'export: an unknown partner or a missing directory is refused' '
	run 2 by agency xch export --to "$T/nowhere" && grep_err "not a directory" &&
	run 2 by agency xch export --to "$USB" --for nobody && grep_err "no partner .nobody." &&
	run 2 by agency xch export && grep_err "to" &&
	[ -z "$(ls -A "$USB")" ]
'

test_expect 'export --for site: one bundle and an index, only final names' '
	run 0 by agency xch export --to "$USB" --for site &&
	grep_out "^$USB/bundle-site-[0-9a-f]{12}\.xch: bundle$" &&
	grep_out "^exported 1 bundle and 0 receipts to $USB$" &&
	[ "$(ls "$USB" | wc -l)" -eq 2 ] && stick_clean &&
	[ "$(index_ok)" = "$(cd "$USB" && ls bundle-site-*.xch)" ] &&
	! grep -a -q -F -e "$CANARY" -e Northwind -e 10.20.1.11 "$USB"/*
'

test_expect 'the transfer station verifies every envelope with public keys only' '
	run 0 by station xch verify --envelope "$USB" &&
	grep_out "^$USB/bundle-site-[0-9a-f]{12}\.xch: ok, from partner .agency.$" &&
	grep_out "^$USB: 1 good, 0 refused$" && no_err
'

test_expect 'the site imports the directory' '
	run 0 by site xch import "$USB" &&
	grep_out "^$USB/bundle-site-[0-9a-f]{12}\.xch: imported$" &&
	grep_out "^$USB: 1 imported, 0 imported before, 0 not for us, 0 refused$" &&
	[ "$(field site ADV-2026-0001 title)" = "Advisory $CANARY" ] &&
	by site xch list | cut -d" " -f1 > "$T/ids" && [ -s "$T/ids" ] &&
	while read -r id; do
		by agency xch show --json "$id" > "$T/a.json" && by site xch show --json "$id" > "$T/s.json" &&
		cmp "$T/a.json" "$T/s.json" || exit 1
	done < "$T/ids"
'

test_expect 'importing the directory again changes nothing' '
	refs site > "$T/refs.before" &&
	run 0 by site xch import "$USB" &&
	grep_out "^$USB/bundle-site-[0-9a-f]{12}\.xch: imported before$" &&
	grep_out "^$USB: 0 imported, 1 imported before, 0 not for us, 0 refused$" &&
	refs site | cmp - "$T/refs.before"
'

test_expect 'the site exports its receipt; the index keeps what is still on the stick' '
	run 0 by site xch export --to "$USB" &&
	grep_out "^$USB/receipt-agency-[0-9a-f]{12}\.xch: receipt$" &&
	grep_out "^exported 0 bundles and 1 receipt to $USB$" &&
	stick_clean &&
	[ "$(index_ok)" = "$(cd "$USB" && ls *.xch | LC_ALL=C sort | tr "\n" " " | sed "s/ $//")" ] &&
	run 0 by station xch verify --envelope "$USB" && grep_out "^$USB: 2 good, 0 refused$" &&
	grep_out "receipt-agency-[0-9a-f]{12}\.xch: ok, from partner .site.$"
'

test_expect 'the agency imports the receipt, skipping the bundle that is not for it' '
	run 0 by agency xch import "$USB" &&
	grep_out "^$USB/receipt-agency-[0-9a-f]{12}\.xch: receipt imported$" &&
	grep_out "^$USB/bundle-site-[0-9a-f]{12}\.xch: not for us$" &&
	grep_out "^$USB: 1 imported, 0 imported before, 1 not for us, 0 refused$" &&
	run 0 by agency xch partner show site &&
	grep_out "^sent: +sequence 1, acknowledged 1$" && grep_out "^pending: +0 records"
'

test_expect 'the next export holds only what the site has not acknowledged' '
	run 0 by agency xch export --to "$USB" --for site && grep_out "^exported 0 bundles and 0 receipts" &&
	edit agency ADV-2026-0003 title "Changed after the receipt" &&
	run 0 by agency xch export --to "$USB" --for site && grep_out "^exported 1 bundle and 0 receipts" &&
	b=$(newest "bundle-site-*.xch") &&
	run 0 by site xch inspect --json "$b" &&
	python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
m = d[\"manifest\"]
assert m[\"kind\"] == \"incremental\", m[\"kind\"]
assert m[\"sequence\"] == 2, m[\"sequence\"]
assert m[\"base\"], m
assert [e[\"path\"] for e in m[\"entries\"]] == [\"records/ADV-2026-0003.json\"], m[\"entries\"]
assert m[\"tombstones\"] == [], m[\"tombstones\"]
" "$T/out" &&
	run 0 by site xch import "$USB" &&
	grep_out "^$USB: 1 imported, 1 imported before, 1 not for us, 0 refused$" &&
	[ "$(field site ADV-2026-0003 title)" = "Changed after the receipt" ]
'

if command -v strace >/dev/null 2>&1; then
test_expect 'an export killed at its rename leaves no partial file under a final name' '
	edit agency ADV-2026-0002 title "Sealed, then killed" &&
	ls -A "$USB" > "$T/names.before" && cp "$USB/index.json" "$T/index.before" &&
	(cd "$T/agency/store" && GNUPGHOME="$T/agency/gnupg" \
		strace -o /dev/null -e trace=rename -e inject=rename:signal=KILL:when=2 \
		"$XCH" export --to "$USB" --for site) >"$T/out" 2>&1
	[ $? -ne 0 ] &&
	ls -A "$USB" | grep -v -x -F -f "$T/names.before" > "$T/names.new" &&
	cat "$T/names.new" &&
	[ "$(wc -l < "$T/names.new")" -eq 1 ] &&
	grep -E -q "^\.bundle-site-[0-9a-f]{12}\.xch\.tmp-[0-9a-f]{12}$" "$T/names.new" &&
	cmp "$USB/index.json" "$T/index.before" &&
	run 0 by station xch verify --envelope "$USB" && grep_out "^$USB: 3 good, 0 refused$" &&
	refs site > "$T/refs.before" &&
	run 0 by site xch import "$USB" && ! grep -F ".tmp-" "$T/out" "$T/err" &&
	refs site | cmp - "$T/refs.before"
'

test_expect 'exporting again finishes the killed export: the bundle arrives, no gap' '
	f=$(sed "s/^\.\(.*\.xch\)\.tmp-.*/\1/" "$T/names.new") &&
	run 0 by agency xch export --to "$USB" --for site &&
	grep_out "^$USB/$f: bundle$" && grep_out "^exported 1 bundle and 0 receipts" &&
	stick_clean && index_ok | grep -q -F "$f" &&
	run 0 by site xch import "$USB" && grep_out "^$USB/$f: imported$" &&
	[ "$(field site ADV-2026-0002 title)" = "Sealed, then killed" ] &&
	run 0 by agency xch export --to "$USB" --for site && grep_out "^exported 0 bundles and 0 receipts"
'
else
test_skip 'an export killed at its rename leaves no partial file under a final name' 'no strace'
test_skip 'exporting again finishes the killed export: the bundle arrives, no gap' 'no strace'
fi

test_expect 'a leftover temporary file is ignored by import and by the station' '
	head -c 2000 "$(newest "bundle-site-*.xch")" > "$USB/.bundle-site-0123456789ab.xch.tmp-0123456789ab" &&
	run 0 by station xch verify --envelope "$USB" && ! grep -F ".tmp-" "$T/out" "$T/err" &&
	run 0 by site xch import "$USB" && ! grep -F ".tmp-" "$T/out" "$T/err" &&
	rm "$USB/.bundle-site-0123456789ab.xch.tmp-0123456789ab"
'

test_expect 'a truncated and a corrupted file among good ones: refused with the first refusal'"'"'s code, the rest imported' '
	edit agency ADV-2026-0002 title "Among damaged files" &&
	run 0 by agency xch export --to "$USB" --for site && grep_out "^exported 1 bundle" &&
	good=$(newest "bundle-site-*.xch") &&
	size=$(stat -c %s "$good") &&
	head -c $((size / 2)) "$good" > "$USB/bundle-site-000000000001.xch" &&
	python3 -c "
import sys
b = bytearray(open(sys.argv[1], \"rb\").read())
b[1000] ^= 0x20  # inside payload.gpg, the first entry of the container
open(sys.argv[2], \"wb\").write(b)
" "$good" "$USB/bundle-site-000000000002.xch" &&
	refs site > "$T/refs.before" &&
	by site xch import "$USB" > "$T/out" 2> "$T/err"; rc=$? &&
	cat "$T/out" "$T/err" &&
	grep_err "^xch: .$USB/bundle-site-000000000001\.xch.: truncated container" &&
	grep_err "^xch: .$USB/bundle-site-000000000002\.xch.: payload does not match its envelope" &&
	[ "$(wc -l < "$T/err")" -eq 2 ] &&
	grep_out "^$(echo "$good" | sed "s/\./\\\\./g"): imported$" &&
	grep_out "^$USB: 1 imported, 3 imported before, 1 not for us, 2 refused$" &&
	[ "$(field site ADV-2026-0002 title)" = "Among damaged files" ] &&
	first=$(sed -n "1s/^xch: .\([^:]*\).: .*/\1/p" "$T/err") && [ -n "$first" ] &&
	by site xch import "$first" >/dev/null 2>&1; want=$? &&
	echo "first refusal $first: $want, directory: $rc" &&
	[ $want -eq 9 ] && [ $rc -eq $want ] &&
	by site xch import "$USB/bundle-site-000000000002.xch" >/dev/null 2>&1; [ $? -eq 6 ] &&
	refs site > "$T/refs.after" &&
	by site xch import "$USB" > "$T/out" 2> "$T/err"; [ $? -eq $rc ] &&
	grep_out "^$USB: 0 imported, 4 imported before, 1 not for us, 2 refused$" &&
	refs site | cmp - "$T/refs.after"
'

test_expect 'the station gives a verdict per file: the damaged ones refused, exit nonzero' '
	by station xch verify --envelope "$USB" > "$T/out" 2> "$T/err"; rc=$? &&
	cat "$T/out" "$T/err" &&
	[ $rc -eq 9 ] &&
	grep_out "^$USB: 5 good, 2 refused$" &&
	[ "$(grep -c ": ok, from partner " "$T/out")" -eq 5 ] &&
	[ "$(wc -l < "$T/err")" -eq 2 ] &&
	grep_err "^xch: .$USB/bundle-site-000000000001\.xch.: truncated container" &&
	grep_err "^xch: .$USB/bundle-site-000000000002\.xch.: payload does not match its envelope" &&
	rm "$USB/bundle-site-000000000001.xch" "$USB/bundle-site-000000000002.xch" &&
	run 0 by station xch verify --envelope "$USB"
'

test_expect 'files for others are skipped and reported' '
	run 0 by agency xch export --to "$USB" --for company &&
	c=$(newest "bundle-company-*.xch") &&
	refs site > "$T/refs.before" &&
	run 0 by site xch import "$USB" &&
	grep_out "^$c: not for us$" &&
	grep_out "^$USB: 0 imported, 4 imported before, 2 not for us, 0 refused$" &&
	refs site | cmp - "$T/refs.before" &&
	run 0 by company xch import "$USB" &&
	grep_out "^$c: imported$" && grep_out "^$USB: 1 imported, 0 imported before, 5 not for us, 0 refused$"
'

test_expect 'index.json lists every exported file with its size and SHA-256' '
	stick_clean &&
	[ "$(index_ok)" = "$(cd "$USB" && ls *.xch | LC_ALL=C sort | tr "\n" " " | sed "s/ $//")" ] &&
	run 0 by site xch export --to "$USB" && grep_out "^exported 0 bundles and 1 receipt" &&
	run 0 by agency xch import "$USB" && grep_out "receipt imported$" &&
	run 0 by agency xch partner show site && grep_out "^sent: +sequence [0-9]+, acknowledged [0-9]+$" &&
	[ "$(sed -n "s/^sent: *sequence \([0-9]*\), acknowledged \([0-9]*\)$/\1 \2/p" "$T/out" | awk "{ print (\$1 == \$2) }")" = 1 ]
'

test_expect 'a deletion alone travels, once per export, until acknowledged' '
	run 0 by agency xch rm ADV-2026-0003 &&
	run 0 by agency xch partner show site && grep_out "^pending: +1 " &&
	run 0 by agency xch export --to "$USB" --for site && grep_out "^exported 1 bundle and 0 receipts" &&
	d=$(newest "bundle-site-*.xch") &&
	run 0 by agency xch export --to "$USB" --for site && grep_out "^exported 0 bundles and 0 receipts" &&
	run 0 by site xch import "$d" && grep_out ", 1 deleted, " &&
	run 2 by site xch show ADV-2026-0003 && grep_err "was deleted" &&
	run 0 by site xch export --to "$USB" && grep_out "^exported 0 bundles and 1 receipt" &&
	run 0 by agency xch import "$USB" && run 0 by agency xch partner show site && grep_out "^pending: +0 "
'

test_done

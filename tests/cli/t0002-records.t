#!/bin/sh
# xch add, show, list, log, rm: validation, canonical storage, attachments, tombstones.
. "$XCH_TOP_SRCDIR/tests/cli/lib.sh"

EX=$SRC/examples
xch init store >/dev/null && cd store || exit 99
tip() { git --git-dir=.xch rev-parse refs/heads/main; }

test_expect 'add commits valid records in one commit' '
	before=$(tip) &&
	run 0 xch add "$EX/ADV-2026-0001.json" "$EX/ADV-2026-0002.json" &&
	grep_out "^advisory ADV-2026-0001$" && grep_out "^advisory ADV-2026-0002$" &&
	[ "$(git --git-dir=.xch rev-parse HEAD~1)" = "$before" ] &&
	git --git-dir=.xch fsck --strict
'

test_expect 'records are stored canonically; re-adding changes nothing' '
	h=$(tip) &&
	tr -d "\n" < "$EX/ADV-2026-0001.json" > squashed.json &&
	run 0 xch add squashed.json && grep_out "^nothing changed$" &&
	[ "$(tip)" = "$h" ] &&
	run 0 xch show --json ADV-2026-0001 &&
	git --git-dir=.xch cat-file -p "main:$(git --git-dir=.xch ls-tree -r --name-only main | grep /ADV-2026-0001.json)" > stored &&
	cmp stored "$T/out"
'

test_expect 'show and list summarise; --json gives JSON' '
	run 0 xch show ADV-2026-0002 && grep_out "^advisory ADV-2026-0002$" && grep_out "^title: " &&
	grep_out "^marking: +TLP:" &&
	run 0 xch list && [ "$(wc -l < "$T/out")" -eq 2 ] &&
	run 0 xch list --type assessment && no_out &&
	run 0 xch list --json && grep_out "\"id\": \"ADV-2026-0001\"" &&
	run 2 xch list --type bogus && grep_err "unknown record type" &&
	run 2 xch show NOPE-1 && grep_err "^xch: no record .NOPE-1.$"
'

test_expect 'invalid records: every error listed, nothing committed' '
	h=$(tip) &&
	run 1 xch add "$RES/records/missing-required-title.json" "$EX/ASMT-2026-0002.json" \
		"$RES/records/bad-enum-sector.json" "$RES/records/bad-date-time-modified.json" &&
	grep_err "missing-required-title.json.*title" &&
	grep_err "bad-enum-sector.json.*/facility/sector" &&
	grep_err "bad-date-time-modified.json.*/modified" &&
	grep_err "nothing committed" &&
	[ "$(tip)" = "$h" ] && run 2 xch show ASMT-2026-0002
'

test_expect 'hostile JSON is refused with a reason, nothing committed' '
	h=$(tip) && fail=0 &&
	for f in "$RES"/records/*.json; do
		case $(basename "$f") in valid-*) continue;; esac
		xch add "$f" >out 2>err; rc=$?
		if [ $rc -ne 1 ] || ! grep -q "^xch: " err; then
			echo "$(basename "$f"): exit $rc"; cat err; fail=1
		fi
	done &&
	[ $fail = 0 ] && [ "$(tip)" = "$h" ]
'

test_expect 'parse errors give line and column' '
	run 1 xch add "$RES/records/duplicate-keys.json" && grep_err "line [0-9]+, column [0-9]+: duplicate" &&
	run 1 xch add "$RES/records/invalid-utf8.json" && grep_err "line [0-9]+, column [0-9]+" &&
	run 1 xch add "$RES/records/nesting-1000-deep.json" && grep_err "nesting deeper than 64" &&
	run 1 xch add "$RES/records/huge-number-1e999.json" && grep_err "out of range"
'

test_expect 'a file over the size limit is refused' '
	sh "$RES/records/make-huge.sh" huge.json &&
	run 1 xch add huge.json && grep_err "larger than"
'

test_expect 'attachments: missing or wrong hash refused; right file stored by hash' '
	h=$(tip) &&
	run 2 xch add "$EX/ASMT-2026-0001.json" && grep_err "attachment .riverside-scada-open-ports.csv.*not in the store" &&
	mkdir wrong && echo tampered > wrong/riverside-scada-open-ports.csv &&
	run 6 xch add --attach wrong/riverside-scada-open-ports.csv "$EX/ASMT-2026-0001.json" &&
	grep_err "wrong hash" && [ "$(tip)" = "$h" ] &&
	run 0 xch add --attach "$EX/attachments/riverside-scada-open-ports.csv" "$EX/ASMT-2026-0001.json" &&
	sha=$(sha256sum < "$EX/attachments/riverside-scada-open-ports.csv" | cut -c1-64) &&
	git --git-dir=.xch cat-file -p "main:attachments/$(echo $sha | cut -c1-2)/$sha" | cmp - "$EX/attachments/riverside-scada-open-ports.csv" &&
	run 0 xch show ASMT-2026-0001 && grep_out "attached: riverside-scada-open-ports.csv"
'

test_expect 'ids differing only in case are refused' '
	sed "s/\"ADV-2026-0003\"/\"adv-2026-0001\"/" "$EX/ADV-2026-0003.json" > lower.json &&
	run 2 xch add lower.json && grep_err "differs only in case"
'

test_expect 'rm leaves a tombstone; log tells the story' '
	run 0 xch rm ADV-2026-0002 && grep_out "^deleted ADV-2026-0002$" &&
	run 2 xch show ADV-2026-0002 && grep_err "was deleted" &&
	git --git-dir=.xch ls-tree -r --name-only main | grep -q "^tombstones/.*/ADV-2026-0002.json$" &&
	run 0 xch log ADV-2026-0002 && grep_out "^Action: deleted$" && grep_out "^Action: added$" &&
	grep_out "^Author: Test User <test@xch.test>$" &&
	[ "$(grep -c ^commit "$T/out")" = 2 ] &&
	run 0 xch log && grep_out "xch: new store" &&
	run 0 xch status && grep_out "deleted: +1" &&
	run 2 xch rm ADV-2026-0002 && grep_err "no record"
'

test_expect 're-adding a deleted record restores it' '
	run 0 xch add "$EX/ADV-2026-0002.json" && run 0 xch show ADV-2026-0002 &&
	! git --git-dir=.xch ls-tree -r --name-only main | grep -q "tombstones/.*/ADV-2026-0002.json"
'

test_expect 'a held lock makes a writer fail clearly' '
	h=$(tip) &&
	{ (flock 9; sleep 3) 9>.xch/lock & } &&
	sleep 0.3 &&
	XCH_LOCK_TIMEOUT=0.5 run 2 xch add "$EX/ASMT-2026-0003.json" &&
	grep_err "another xch is writing" && one_line_err && [ "$(tip)" = "$h" ] &&
	wait
'

test_expect 'concurrent writers do not corrupt the store' '
	for i in 1 2 3 4 5 6; do
		sed "s/\"ADV-2026-0003\"/\"PAR-$i\"/" "$EX/ADV-2026-0003.json" > par$i.json
	done &&
	for i in 1 2 3 4 5 6; do XCH_LOCK_TIMEOUT=30 xch add par$i.json >/dev/null & done; wait &&
	for i in 1 2 3 4 5 6; do xch show PAR-$i >/dev/null || exit 1; done &&
	git --git-dir=.xch fsck --strict
'

test_done

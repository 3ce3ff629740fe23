#!/bin/sh
# Git channels: xch remote, sync, push, pull. Workflow A (agency -> company
# and a receipt back) over a real git daemon on loopback and over a path
# remote; the remote only ever holds ciphertext, laid out as
# to/<FPR>/<file>.xch; concurrent pushes all land; an interrupted sync is run
# again; files a third party slips into our inbox are refused and reported.
. "$XCH_TOP_SRCDIR/tests/cli/lib.sh"

EX=$SRC/examples
KEYS=$RES/keys
CSV=$EX/attachments/riverside-scada-open-ports.csv
AGENCY=$(key_fpr agency)
COMPANY=$(key_fpr company)
MALLORY=$(key_fpr mallory)
SRV=$T/srv
CANARY=canary-3e9d1f07-plaintext
NAME_RE='[0-9A-F]{40}-[0-9a-f]{32}-[0-9]{10}-(bundle|receipt)\.xch'
mkdir "$SRV"

# rgit REPO ARGS: git in a repository of the server.
rgit() { r=$1; shift; git --git-dir="$SRV/$r" "$@"; }
outbox() { ls -A "$T/$1/store/.xch/channels/$2.outbox"; }

# edit NAME ID FIELD VALUE: as party NAME, set a field of a record and commit it.
edit() {
	by "$1" xch show --json "$2" |
	python3 -c 'import json, sys; d = json.load(sys.stdin); d[sys.argv[1]] = sys.argv[2]; print(json.dumps(d))' \
		"$3" "$4" >"$T/edit.json" &&
	by "$1" xch add "$T/edit.json" >/dev/null
}
field() { by "$1" xch show --json "$2" | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$3"; }

# A git daemon on loopback serving $SRV, pushes allowed; on a random free port
# (another is tried if it is taken). While $T/no-push exists its access hook
# refuses every push: the network is gone for pushes, fetches still work.
DAEMON_PID=
start_daemon() {
	printf '#!/bin/sh\n[ "$1" = receive-pack ] && [ -e "%s/no-push" ] && { echo "pushes are off"; exit 1; }\nexit 0\n' \
		"$T" >"$T/access-hook" && chmod +x "$T/access-hook" || return 1
	for attempt in 1 2 3 4 5 6 7 8 9 10; do
		PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
		"$(git --exec-path)/git-daemon" --export-all --enable=receive-pack --base-path="$SRV" \
			--listen=127.0.0.1 --port="$PORT" --reuseaddr --informative-errors \
			--access-hook="$T/access-hook" >"$T/daemon.log" 2>&1 &
		DAEMON_PID=$!
		for i in $(seq 50); do
			kill -0 "$DAEMON_PID" 2>/dev/null || break
			if git ls-remote "git://127.0.0.1:$PORT/chan.git" >/dev/null 2>&1 && kill -0 "$DAEMON_PID" 2>/dev/null; then
				return 0
			fi
			sleep 0.1
		done
		stop_daemon
	done
	return 1
}
stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
}
trap 'stop_daemon; cleanup' EXIT

party agency agency company.pub &&
party company company agency.pub &&
party mallory mallory agency.pub &&
party pagency agency company.pub &&
party pcompany company agency.pub || exit 99
git init -q --bare "$SRV/chan.git" && git init -q --bare "$SRV/path.git" || exit 99
start_daemon || { echo "Bail out! cannot start git daemon: $(cat "$T/daemon.log")"; exit 99; }
URL=git://127.0.0.1:$PORT/chan.git

# the agency's records, one with a string that must never reach the remote in clear
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d["title"] = sys.argv[2]; print(json.dumps(d))' \
	"$EX/ADV-2026-0001.json" "Advisory $CANARY" >"$T/canary.json" || exit 99

test_expect 'set-up: partners pinned both ways, the agency holds the examples' '
	for a in agency pagency; do
		run 0 by $a xch partner add company --key "$KEYS/company.pub.asc" &&
		run 0 by $a xch add --attach "$CSV" "$EX"/*.json &&
		run 0 by $a xch add "$T/canary.json" || exit 1
	done &&
	for c in company pcompany mallory; do
		run 0 by $c xch partner add agency --key "$KEYS/agency.pub.asc" || exit 1
	done &&
	run 0 by mallory xch add "$EX/ADV-2026-0002.json"
'

test_expect 'remote add, list; a second add or a bad name is refused' '
	run 0 by agency xch remote add origin "$URL" && no_out &&
	run 0 by agency xch remote list && grep_out "^origin +git://127\.0\.0\.1:$PORT/chan\.git$" &&
	[ "$(wc -l < "$T/out")" -eq 1 ] &&
	run 2 by agency xch remote add origin "$SRV/path.git" && grep_err "remote .origin. exists already" &&
	run 2 by agency xch remote add ../x "$SRV/path.git" && grep_err "invalid remote name" &&
	run 2 by agency xch remote add && grep_err "NAME" &&
	run 0 by agency xch remote list && [ "$(wc -l < "$T/out")" -eq 1 ] &&
	run 0 by company xch remote add origin "$URL"
'

test_expect 'workflow A over git://: the agency syncs, sealing and pushing a bundle' '
	run 0 by agency xch sync &&
	grep_out "^to/$COMPANY/$AGENCY-[0-9a-f]{32}-0000000001-bundle\.xch: pushed$" &&
	grep_out "^pulled: 0 imported, 0 imported before, 0 refused$" &&
	grep_out "^pushed: 1 bundle, 0 receipts$" &&
	[ -z "$(outbox agency origin)" ] &&
	[ "$(rgit chan.git ls-tree -r --name-only main | wc -l)" -eq 1 ]
'

test_expect 'the company syncs: imports the bundle, returns a receipt' '
	run 0 by company xch sync &&
	grep_out "^$AGENCY-[0-9a-f]{32}-0000000001-bundle\.xch: imported$" &&
	grep_out "^pulled: 1 imported, 0 imported before, 0 refused$" &&
	grep_out "^to/$AGENCY/$COMPANY-[0-9a-f]{32}-0000000001-receipt\.xch: pushed$" &&
	grep_out "^pushed: 0 bundles, 1 receipt$" &&
	[ "$(field company ADV-2026-0001 title)" = "Advisory $CANARY" ] &&
	by company xch list | cut -d" " -f1 > "$T/clist" && [ -s "$T/clist" ] &&
	while read -r id; do
		by agency xch show --json "$id" > "$T/a.json" && by company xch show --json "$id" > "$T/c.json" &&
		cmp "$T/a.json" "$T/c.json" || exit 1
	done < "$T/clist"
'

test_expect 'the agency syncs: the receipt acknowledges the bundle' '
	run 0 by agency xch sync &&
	grep_out "^$COMPANY-[0-9a-f]{32}-0000000001-receipt\.xch: receipt imported$" &&
	grep_out "^pulled: 1 imported, 0 imported before, 0 refused$" &&
	grep_out "^pushed: 0 bundles, 0 receipts$" &&
	run 0 by agency xch partner show company &&
	grep_out "^sent: +sequence 1, acknowledged 1$" && grep_out "^pending: +0 records"
'

test_expect 'syncing again changes nothing, in the stores or on the remote' '
	r=$(rgit chan.git rev-parse main) a=$(tip agency) c=$(tip company) &&
	for p in agency company; do
		run 0 by $p xch sync &&
		grep_out "^pulled: 0 imported, 0 imported before, 0 refused$" &&
		grep_out "^pushed: 0 bundles, 0 receipts$" || exit 1
	done &&
	[ "$(rgit chan.git rev-parse main)" = "$r" ] && [ "$(tip agency)" = "$a" ] && [ "$(tip company)" = "$c" ]
'

test_expect 'the remote holds only ciphertext' '
	rgit chan.git cat-file --batch-all-objects --batch > "$T/objects" && [ -s "$T/objects" ] &&
	for s in "$CANARY" ADV-2026-0001 ASMT-2026-0001 Northwind 10.20.1.11 hmi-01 \
	         company agency Company Agency "Test User" test@xch.test; do
		if grep -a -q -F -- "$s" "$T/objects"; then echo "the remote holds \"$s\""; exit 1; fi
	done
'

test_expect 'the remote: branch main only, to/<FPR>/<sender>-<channel>-<sequence>-<kind>.xch files' '
	[ "$(rgit chan.git for-each-ref --format="%(refname)")" = refs/heads/main ] &&
	rgit chan.git ls-tree -r main > "$T/tree" && cat "$T/tree" &&
	[ "$(wc -l < "$T/tree")" -eq 2 ] &&
	! grep -E -v "^100644 blob [0-9a-f]{40}	to/[0-9A-F]{40}/$NAME_RE$" "$T/tree" &&
	grep -E -q "	to/$COMPANY/$AGENCY-[0-9a-f]{32}-0000000001-bundle\.xch$" "$T/tree" &&
	grep -E -q "	to/$AGENCY/$COMPANY-[0-9a-f]{32}-0000000001-receipt\.xch$" "$T/tree" &&
	[ "$(rgit chan.git log --format="%an <%ae> %cn <%ce>" main | sort -u)" = "xch <xch@invalid> xch <xch@invalid>" ] &&
	rgit chan.git fsck --strict --no-progress
'

test_expect 'with several remotes, sync wants a name; --for ties partners to a remote' '
	run 2 by agency xch remote add --for nobody other "$SRV/path.git" && grep_err "no partner .nobody." &&
	run 0 by agency xch remote list && [ "$(wc -l < "$T/out")" -eq 1 ] &&
	run 0 by agency xch remote add --for company other "$SRV/path.git" &&
	run 0 by agency xch remote list && grep_out "^other +$SRV/path\.git \(for company\)$" &&
	run 2 by agency xch sync && grep_err "several remotes" &&
	run 0 by agency xch sync origin && grep_out "^pulled: 0 imported" &&
	run 0 by agency xch remote rm other &&
	[ -z "$(rgit path.git for-each-ref)" ]
'

test_expect 'workflow A over a path remote (and file://)' '
	run 0 by pagency xch remote add here "$SRV/path.git" &&
	run 0 by pcompany xch remote add there "file://$SRV/path.git" &&
	run 0 by pagency xch sync && grep_out "^pushed: 1 bundle, 0 receipts$" &&
	run 0 by pcompany xch sync && grep_out "bundle\.xch: imported$" && grep_out "^pushed: 0 bundles, 1 receipt$" &&
	[ "$(field pcompany ADV-2026-0001 title)" = "Advisory $CANARY" ] &&
	run 0 by pagency xch sync && grep_out "receipt\.xch: receipt imported$" &&
	run 0 by pagency xch partner show company && grep_out "^sent: +sequence 1, acknowledged 1$" &&
	rgit path.git ls-tree -r --name-only main > "$T/tree" &&
	[ "$(wc -l < "$T/tree")" -eq 2 ] && ! grep -E -v "^to/[0-9A-F]{40}/$NAME_RE$" "$T/tree" &&
	rgit path.git fsck --strict --no-progress &&
	rgit path.git cat-file --batch-all-objects --batch > "$T/objects" &&
	! grep -a -q -F -e "$CANARY" -e Northwind -e ADV-2026 "$T/objects"
'

# push_both A C ROUND: as A and C at once, each with a fresh change; both must succeed.
push_both() {
	edit $1 ADV-2026-0001 title "$1 round $3" &&
	edit $2 ADV-2026-0002 title "$2 round $3" || return 1
	by $1 xch push >"$T/push-a.$3" 2>&1 & pa=$!
	by $2 xch push >"$T/push-c.$3" 2>&1 & pc=$!
	wait $pa; ra=$?
	wait $pc; rc=$?
	[ $ra = 0 ] && [ $rc = 0 ] || { echo "round $3: $1 $ra, $2 $rc"; cat "$T/push-a.$3" "$T/push-c.$3"; return 1; }
}

# landed REPO FIRST-AGENCY-SEQUENCE: the remote holds five bundles each way,
# the agency's from FIRST on and the company's 1 to 5.
landed() {
	rgit $1 ls-tree -r --name-only main > "$T/tree" &&
	for s in $2 $(($2 + 1)) $(($2 + 2)) $(($2 + 3)) $(($2 + 4)); do
		grep -E -q "^to/$COMPANY/$AGENCY-[0-9a-f]{32}-$(printf %010d $s)-bundle\.xch$" "$T/tree" ||
			{ echo "agency bundle $s lost"; return 1; }
	done &&
	for s in 1 2 3 4 5; do
		grep -E -q "^to/$AGENCY/$COMPANY-[0-9a-f]{32}-000000000$s-bundle\.xch$" "$T/tree" ||
			{ echo "company bundle $s lost"; return 1; }
	done &&
	rgit $1 fsck --strict --no-progress
}

test_expect 'concurrent pushes over git://, five rounds: both succeed, every bundle lands' '
	before=$(rgit chan.git rev-parse main) &&
	for i in 1 2 3 4 5; do push_both agency company $i || exit 1; done &&
	[ "$(rgit chan.git rev-list --count "$before..main")" -eq 10 ] &&
	landed chan.git 2
'

test_expect 'concurrent pushes to a path remote, five rounds: both succeed, every bundle lands' '
	before=$(rgit path.git rev-parse main) &&
	for i in 1 2 3 4 5; do push_both pagency pcompany $i || exit 1; done &&
	[ "$(rgit path.git rev-list --count "$before..main")" -eq 10 ] &&
	landed path.git 2
'

# settle A C: A and C sync in turn until a round moves nothing: the exchange converges.
settle() {
	for round in 1 2 3 4; do
		quiet=yes
		for p in $1 $2; do
			by $p xch sync >"$T/settle.out" 2>"$T/settle.err" || { cat "$T/settle.out" "$T/settle.err"; return 1; }
			grep -q "^pulled: 0 imported, 0 imported before, 0 refused$" "$T/settle.out" &&
			grep -q "^pushed: 0 bundles, 0 receipts$" "$T/settle.out" || quiet=no
		done
		[ $quiet = yes ] && return 0
	done
	echo "still exchanging after 4 rounds:"; cat "$T/settle.out"
	return 1
}

# acked A P: everything A sent P is acknowledged.
acked() {
	by $1 xch partner show $2 >"$T/acked" &&
	grep -E -q "^sent: +sequence ([0-9]+), acknowledged \1$" "$T/acked" ||
	{ echo "$1 -> $2:"; cat "$T/acked"; return 1; }
}

test_expect 'after the race each side imports all five, in order, and the exchange settles' '
	run 0 by company xch sync &&
	grep_out "^pulled: 5 imported, 0 imported before, 0 refused$" &&
	for s in 2 3 4 5 6; do grep_out "^$AGENCY-[0-9a-f]{32}-000000000$s-bundle\.xch: imported$" || exit 1; done &&
	[ "$(grep -n "bundle\.xch: imported$" "$T/out" | cut -d: -f1 | sort -n | tr "\n" " ")" = \
	  "$(grep -n "bundle\.xch: imported$" "$T/out" | cut -d: -f1 | tr "\n" " ")" ] &&
	grep_out "^to/$AGENCY/$COMPANY-[0-9a-f]{32}-[0-9]{10}-receipt\.xch: pushed$" &&
	run 0 by agency xch sync &&
	grep_out "^pulled: [0-9]+ imported, 0 imported before, 0 refused$" &&
	for s in 1 2 3 4 5; do grep_out "^$COMPANY-[0-9a-f]{32}-000000000$s-bundle\.xch: imported$" || exit 1; done &&
	grep_out "^$COMPANY-[0-9a-f]{32}-[0-9]{10}-receipt\.xch: receipt imported$" &&
	settle agency company &&
	acked agency company && acked company agency
'

# Each side edited one record five times, a bundle each time, none
# acknowledged in between: the recipient takes them in turn, no conflict.
test_expect 'successive bundles from one sender are no conflict: each side ends with the last version' '
	run 0 by agency xch conflicts && no_out &&
	run 0 by company xch conflicts && no_out &&
	[ "$(field company ADV-2026-0001 title)" = "agency round 5" ] &&
	[ "$(field agency ADV-2026-0002 title)" = "company round 5" ]
'

# pushed_one P: the one bundle P's sync pushed, as the remote names it.
pushed_one() { grep -E "^to/$COMPANY/$AGENCY-[0-9a-f]{32}-[0-9]{10}-bundle\.xch: pushed$" "$T/out" | sed "s/: pushed$//"; }

test_expect 'a sync that cannot push keeps its bundle in the outbox; the next sync delivers it' '
	edit agency ADV-2026-0003 title "sealed while pushes are off" &&
	r=$(rgit chan.git rev-parse main) &&
	touch "$T/no-push" &&
	run 2 by agency xch sync; rm -f "$T/no-push" &&
	grep_out "bundle-company-[0-9a-f]{12}\.xch: bundle$" && grep_out "^pushed: 0 bundles, 0 receipts$" &&
	grep_err "cannot push to remote .origin." &&
	[ "$(rgit chan.git rev-parse main)" = "$r" ] &&
	[ "$(outbox agency origin | grep -c "\.xch$")" -eq 1 ] &&
	run 0 by agency xch sync && grep_out "^pushed: 1 bundle, 0 receipts$" &&
	f=$(pushed_one) && [ -n "$f" ] && rgit chan.git cat-file -e "main:$f" &&
	[ -z "$(outbox agency origin)" ] &&
	run 0 by company xch sync && grep_out "^${f#to/*/}: imported$" &&
	[ "$(field company ADV-2026-0003 title)" = "sealed while pushes are off" ]
'

# killed_sync NAME: run xch sync as NAME under strace, killed (SIGKILL) at
# its Nth connect for N = 1, 2, ... until a run dies with a bundle sealed in
# the outbox: that connect was the push. How many connects come before it
# (the fetch, name-service sockets on some machines) is not assumed. Every
# run must die, and leave the remote as it was.
killed_sync() {
	r=$(rgit chan.git rev-parse main) || return 1
	for n in 1 2 3 4 5 6 7 8; do
		(cd "$T/$1/store" && GNUPGHOME="$T/$1/gnupg" \
			strace -o /dev/null -e trace=connect -e inject=connect:signal=KILL:when=$n "$XCH" sync) >"$T/out" 2>&1
		st=$?
		[ $st -ne 0 ] || { echo "# a sync traced to its connect $n was not killed"; cat "$T/out"; return 1; }
		[ "$(rgit chan.git rev-parse main)" = "$r" ] || { echo "# killed at connect $n, the remote moved"; return 1; }
		if [ -n "$(outbox "$1" origin)" ]; then
			echo "# killed at connect $n (status $st), the bundle in the outbox"
			return 0
		fi
	done
	echo "# no connect before the push?"; return 1
}

if command -v strace >/dev/null 2>&1; then
test_expect 'a sync killed (SIGKILL) as it connects to push is simply run again' '
	settle agency company &&
	edit agency ADV-2026-0003 title "sealed, then killed" &&
	killed_sync agency &&
	[ "$(outbox agency origin | grep -c "\.xch$")" -eq 1 ] &&
	run 0 by agency xch sync && grep_out "^pushed: 1 bundle, 0 receipts$" &&
	f=$(pushed_one) && [ -n "$f" ] && rgit chan.git cat-file -e "main:$f" &&
	[ -z "$(outbox agency origin)" ] &&
	run 0 by company xch sync && grep_out "^${f#to/*/}: imported$" &&
	[ "$(field company ADV-2026-0003 title)" = "sealed, then killed" ]
'
else
test_skip 'a sync killed (SIGKILL) as it connects to push is simply run again' 'no strace'
fi

test_expect 'files a third party puts in our inbox are refused and reported, the rest imported' '
	settle agency company &&
	by mallory xch seal --to agency -o "$T/mallory.xch" >/dev/null &&
	head -c 3000 /dev/urandom > "$T/garbage" &&
	git clone -q -b main "$SRV/chan.git" "$T/thirdparty" &&
	(cd "$T/thirdparty" &&
	 cp "$T/mallory.xch" "to/$AGENCY/$MALLORY-00000000000000000000000000000000-0000000001-bundle.xch" &&
	 cp "$T/garbage" "to/$AGENCY/0000-garbage.xch" &&
	 cp "$T/garbage" "to/$AGENCY/evil name$(printf "\033")[1m.xch" &&
	 git add to && git commit -q -m "a gift" && git push -q origin main) &&
	edit company ASMT-2026-0003 title "company after the gift" &&
	run 0 by company xch push && grep_out "^pushed: 1 bundle, 0 receipts$" &&
	run 9 by agency xch sync &&
	grep_err "^xch: .0000-garbage\.xch.: malformed container" &&
	grep_err "^xch: .$MALLORY-0{32}-0000000001-bundle\.xch.: .*unknown key" &&
	grep_err "^xch: .evil name\?\[1m\.xch.: invalid file name$" &&
	grep_err "^xch: 3 files from remote .origin. refused$" &&
	[ "$(wc -l < "$T/err")" -eq 4 ] && cp "$T/err" "$T/err.first" &&
	grep_out "^$COMPANY-[0-9a-f]{32}-[0-9]{10}-bundle\.xch: imported$" &&
	grep_out "^pulled: 1 imported, 0 imported before, 3 refused$" &&
	grep_out "^pushed: 0 bundles, 1 receipt$" &&
	[ "$(field agency ASMT-2026-0003 title)" = "company after the gift" ] &&
	run 0 by agency xch partner list && ! grep_out mallory
'

test_expect 'refused files are not recorded as seen: each sync reports them again, and nothing else changes' '
	a=$(tip agency) r=$(rgit chan.git rev-parse main) &&
	run 9 by agency xch sync &&
	cmp "$T/err" "$T/err.first" &&
	grep_out "^pulled: 0 imported, 0 imported before, 3 refused$" &&
	grep_out "^pushed: 0 bundles, 0 receipts$" &&
	[ "$(tip agency)" = "$a" ] && [ "$(rgit chan.git rev-parse main)" = "$r" ]
'

test_expect 'remote rm forgets the remote and its mirror; the repository is untouched' '
	run 0 by company xch sync && grep_out "^pulled: 1 imported" &&
	r=$(rgit chan.git rev-parse main) &&
	run 0 by company xch remote rm origin && no_out &&
	run 0 by company xch remote list && no_out &&
	[ ! -e "$T/company/store/.xch/channels/origin.git" ] &&
	[ ! -e "$T/company/store/.xch/channels/origin.seen" ] &&
	run 2 by company xch remote rm origin && grep_err "no remote .origin." &&
	run 2 by company xch sync && grep_err "no remote; see .xch remote add" &&
	run 2 by company xch pull origin && grep_err "no remote .origin." &&
	[ "$(rgit chan.git rev-parse main)" = "$r" ] &&
	run 0 by company xch remote add origin "$URL"
'

test_expect 'a remote added again: every file is seen anew, imported before, nothing changes' '
	c=$(tip company) &&
	run 0 by company xch pull &&
	grep_out "^pulled: 0 imported, [1-9][0-9]* imported before, 0 refused$" &&
	[ "$(grep -c "bundle\.xch: imported before$" "$T/out")" -eq "$(rgit chan.git ls-tree --name-only "main:to/$COMPANY/" | grep -c bundle)" ] &&
	[ "$(tip company)" = "$c" ]
'

test_expect 'remote rm refuses while sealed files wait in the outbox' '
	edit agency ADV-2026-0003 title "waiting in the outbox" &&
	touch "$T/no-push" &&
	run 2 by agency xch sync; rm -f "$T/no-push" &&
	[ "$(outbox agency origin | grep -c "\.xch$")" -eq 1 ] &&
	run 2 by agency xch remote rm origin &&
	grep_err "^xch: remote .origin. has 1 sealed file not pushed yet; run .xch sync origin. first$" && one_line_err &&
	run 0 by agency xch remote list && grep_out "^origin " &&
	run 9 by agency xch sync && grep_out "^pushed: 1 bundle, 0 receipts$" && [ -z "$(outbox agency origin)" ]
'

test_done

#!/bin/sh
# Kill xch import at every point where it makes something durable (strace's
# fault injection: SIGKILL as it enters its Nth fsync, syncfs or rename,
# N = 1, 2, ... until the import completes). libgit2 writes an object as a
# temporary file, (fsync,) link, unlink, and a ref as REF.lock, fsync,
# rename; xch syncs a batch of objects with one syncfs: a kill at each
# fsync, syncfs and rename meets the store in every state it passes through
# (a kill at a link or unlink leaves what one at the next sync leaves;
# XCH_CRASH_SYSCALLS="fsync syncfs rename link unlink write" tries those
# too, slowly). After each kill the
# store must be as before or fully after: git fsck clean, main the old
# commit or a commit with the reference tree, the partner's line absent,
# old or new; the store lock free; and importing again must finish with the
# reference run's records.
. "$XCH_TOP_SRCDIR/tests/cli/lib.sh"

EX=$SRC/examples
KEYS=$RES/keys
CSV=$EX/attachments/riverside-scada-open-ports.csv
B=$T/bundles
mkdir "$B"
# at most this many killed runs per scenario (each takes a fraction of a second)
MAX_RUNS=${XCH_CRASH_MAX_RUNS:-80}
# where to kill
SYSCALLS=${XCH_CRASH_SYSCALLS:-fsync syncfs rename}

rev() { git --git-dir="$1/.xch" rev-parse -q --verify "$2" 2>/dev/null; }

if ! command -v strace >/dev/null 2>&1; then
	echo "# strace is missing: install it (apt-get install strace) to run the crash tests" >&2
	test_skip 'kill import at every durable step' 'strace is not installed'
	test_done
	exit
fi
if ! strace -f -o /dev/null -e trace=getpid -e inject=getpid:retval=1:when=1 true >/dev/null 2>&1; then
	test_skip 'kill import at every durable step' 'strace cannot trace here (ptrace not permitted?)'
	test_done
	exit
fi

party agency agency company.pub &&
party company company agency.pub || exit 99

# A store with its gpg-agent running before any strace starts.
test_expect 'set-up: two bundles, and a reference import of each' '
	run 0 by agency xch partner add company --key "$KEYS/company.pub.asc" &&
	run 0 by company xch partner add agency --key "$KEYS/agency.pub.asc" &&
	run 0 by agency xch add --attach "$CSV" "$EX"/*.json &&
	run 0 by agency xch seal --to company -o "$B/b1.xch" &&
	by agency xch show --json ASMT-2026-0001 |
		python3 -c "import json, sys; d = json.load(sys.stdin); d[\"title\"] = \"Changed\"; print(json.dumps(d))" > "$T/changed.json" &&
	run 0 by agency xch add "$T/changed.json" && run 0 by agency xch rm ADV-2026-0002 &&
	run 0 by agency xch seal --to company --full -o "$B/b2.xch" &&
	GNUPGHOME="$T/company/gnupg" gpg-connect-agent /bye >/dev/null 2>&1 &&
	cp -a "$T/company/store" "$T/base1" &&
	run 0 by company xch import "$B/b1.xch" && grep_out ": 5 added, " &&
	cp -a "$T/company/store" "$T/ref1" && cp -a "$T/company/store" "$T/base2" &&
	run 0 by company xch import "$B/b2.xch" && grep_out ": 0 added, 1 changed, 1 deleted, " &&
	cp -a "$T/company/store" "$T/ref2"
'

# strace follows only the xch process, not gpg (which writes nothing into the
# store, and whose death is a refusal like any other): -f would trace gpg's
# every system call and make each run three times slower. That is sound only
# while xch itself makes every durable write into the store from its main
# thread: checked here.
test_expect 'the import writes into the store from its main thread only' '
	rm -rf "$T/w" && cp -a "$T/base1" "$T/w" &&
	(cd "$T/w" && GNUPGHOME="$T/company/gnupg" strace -f -o "$T/trace" \
		-e trace=execve,fsync,link,rename,renameat,renameat2,unlink "$XCH" import "$B/b1.xch") >/dev/null 2>&1 &&
	xpid=$(grep -E "execve\(\"[^\"]*/\.libs/(lt-)?xch\"|execve\(\"$XCH\"" "$T/trace" | tail -1 | cut -d" " -f1) &&
	[ -n "$xpid" ] &&
	grep -F "$T/w/.xch" "$T/trace" > store-calls && [ "$(grep -c "link(\|rename(" store-calls)" -gt 10 ] &&
	awk -v x="$xpid" "\$1 != x" store-calls > others &&
	{ ! [ -s others ] || { echo "store writes from another thread or process:"; cat others; false; }; }
'

# check_point BASE REF BUNDLE W: the store W after a killed import of BUNDLE
# into a copy of BASE; REF is the reference run's store. Prints what is
# wrong; the exit status says whether the store was consistent. Appends
# "stale-lock" to $T/stale when the next import is blocked by a lock file
# a killed libgit2 left behind (then removes it, as a fix would).
check_point() {
	base=$1 ref=$2 bundle=$3 w=$4 bad=0
	before=$(rev "$base" refs/heads/main)
	pbefore=$(rev "$base" refs/xch/partners/agency)
	main=$(rev "$w" refs/heads/main)
	line=$(rev "$w" refs/xch/partners/agency)
	if ! git --git-dir="$w/.xch" fsck --strict --no-dangling >"$T/fsck" 2>&1; then
		echo "fsck:"; cat "$T/fsck"; bad=1
	fi
	# the partner's line: absent or old, or new (its tree the reference's, on the old one)
	if [ "$line" != "$pbefore" ]; then
		if [ "$(rev "$w" "$line^{tree}")" != "$(rev "$ref" "refs/xch/partners/agency^{tree}")" ] ||
		   [ "$(rev "$w" "$line~1")" != "$pbefore" ]; then
			echo "partner line is neither old nor new: $line"; bad=1
		fi
	fi
	# main: the old commit, or a merge of it and the new line with the reference tree
	if [ "$main" != "$before" ]; then
		if [ "$(rev "$w" "$main^{tree}")" != "$(rev "$ref" "refs/heads/main^{tree}")" ] ||
		   [ "$(rev "$w" "$main^1")" != "$before" ] || [ "$(rev "$w" "$main^2")" != "$line" ]; then
			echo "main is neither before nor after: $main"; bad=1
		fi
	fi
	# the store lock is free and importing again completes
	if ! (cd "$w" && XCH_LOCK_TIMEOUT=2 GNUPGHOME="$T/company/gnupg" xch import "$bundle") >"$T/rerun" 2>&1; then
		if grep -q "failed to lock file" "$T/rerun"; then
			echo "stale-lock $(find "$w/.xch" -name "*.lock" | sed "s|$w/||")" >> "$T/stale"
			find "$w/.xch" -name "*.lock" -delete
			(cd "$w" && XCH_LOCK_TIMEOUT=2 GNUPGHOME="$T/company/gnupg" xch import "$bundle") >"$T/rerun" 2>&1 ||
				{ echo "import again, without the stale lock:"; cat "$T/rerun"; bad=1; }
		else
			echo "import again:"; cat "$T/rerun"; bad=1
		fi
	fi
	if [ "$(rev "$w" "refs/heads/main^{tree}")" != "$(rev "$ref" "refs/heads/main^{tree}")" ] ||
	   [ "$(rev "$w" "refs/xch/partners/agency^{tree}")" != "$(rev "$ref" "refs/xch/partners/agency^{tree}")" ]; then
		echo "after importing again, the store differs from the reference"; bad=1
	fi
	git --git-dir="$w/.xch" fsck --strict --no-dangling >/dev/null 2>&1 || { echo "fsck after import again"; bad=1; }
	return $bad
}

# crash_loop BASE REF BUNDLE: kill at every fsync, link, rename, unlink.
crash_loop() {
	base=$1 ref=$2 bundle=$3 runs=0 fail=0 killed=0
	for sc in $SYSCALLS; do
		n=1
		while :; do
			if [ $runs -ge "$MAX_RUNS" ]; then
				echo "# stopped after $runs runs (XCH_CRASH_MAX_RUNS)"
				break 2
			fi
			runs=$((runs + 1))
			rm -rf "$T/w" && cp -a "$base" "$T/w" || return 1
			(cd "$T/w" && GNUPGHOME="$T/company/gnupg" strace -o /dev/null -e trace=$sc \
				-e inject=$sc:signal=SIGKILL:when=$n "$XCH" import "$bundle") >"$T/run.out" 2>&1
			rc=$?
			if [ $rc -eq 0 ]; then
				# no process reached its ${n}th $sc: the import ran to the end
				grep -q "imported bundle" "$T/run.out" || { echo "$sc $n: completed without importing"; fail=1; }
				break
			fi
			[ $rc -eq 137 ] && killed=$((killed + 1))
			if ! check_point "$base" "$ref" "$bundle" "$T/w" > "$T/point" 2>&1; then
				echo "kill at $sc #$n (exit $rc):"; sed 's/^/  /' "$T/point"; fail=1
			fi
			n=$((n + 1))
		done
	done
	echo "$runs runs, $killed killed by SIGKILL" > "$T/stats"
	[ $killed -ge 10 ] && [ $fail -eq 0 ]
}

test_expect 'kill the first import from a partner at every durable step' '
	: > "$T/stale" &&
	crash_loop "$T/base1" "$T/ref1" "$B/b1.xch" && cp "$T/stale" "$T/stale1"
'
echo "# $(cat "$T/stats" 2>/dev/null)"

test_expect 'kill a later import (the partner line moves) at every durable step' '
	: > "$T/stale" &&
	crash_loop "$T/base2" "$T/ref2" "$B/b2.xch" && cp "$T/stale" "$T/stale2"
'
echo "# $(cat "$T/stats" 2>/dev/null)"

# libgit2 updates a ref through REF.lock; killed between creating it and the
# rename, it leaves the lock behind and every later commit fails ("failed
# to lock file"). Under the store lock no other xch can own such a file, so
# taking the store lock should remove stale ref locks.
test_expect 'no kill leaves a lock file that blocks the next import' '
	cat "$T/stale1" "$T/stale2" 2>/dev/null | sort | uniq -c &&
	! [ -s "$T/stale1" ] && ! [ -s "$T/stale2" ]
'

test_done

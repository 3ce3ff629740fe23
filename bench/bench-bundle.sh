#!/bin/bash
# bench-bundle.sh: xch seal / open / verify / import against the stock tools
#   tar -cf - DIR | gzip -6 | gpg --sign --encrypt -r company -u agency
#   tar -cf - DIR | pigz -6 | gpg --sign --encrypt -r company -u agency
#   gpg --decrypt | tar -xzf -        (and gpg --decrypt | pigz -d | tar -xf -)
# on the same records and attachments, interleaved in one run, with medians,
# ratios and peak memory. See bench/README.md.
#
#   XCH=_build/xch bench/bench-bundle.sh [options]
#
#   --rounds N          timed rounds (default 5; 2 with --big)
#   --records N         records in the dataset (default 20000, about 5 KB each)
#   --attachments K     binary attachments (default 4; 30 with --big)
#   --attachment-mib M  MiB each (default 32)
#   --big               a bundle of about 1 GiB (30 x 32 MiB + the records);
#                       without the import commands unless --import is given
#   --import, --no-import
#                       time (or not) xch import into a fresh store against
#                       git add -A && git commit of the same files (default:
#                       yes, but not with --big)
#   --no-tree-rss       skip the untimed warm-up round that samples the memory
#                       of whole process trees (it also warms the caches)
#   --keep              keep the run directory (bundles and extracted trees)
#
# Each round runs the seal commands, then the open commands, then the import
# commands, each group in rotating order (A B C, B C A, C A B, ...: over as
# many rounds as commands, each comes first once). Nothing is
# deleted between rounds but the previous round's bundles (one large file
# each).

. "$(dirname "$0")/common.sh"

rounds='' records=20000 attachments='' mib=32 big=0 tree=1 import=''
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) rounds=$2; shift ;;
	--records) records=$2; shift ;;
	--attachments) attachments=$2; shift ;;
	--attachment-mib) mib=$2; shift ;;
	--big) big=1 ;;
	--no-tree-rss) tree=0 ;;
	--import) import=1 ;;
	--no-import) import=0 ;;
	--keep) KEEP_RUN=1 ;;
	-h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
	shift
done
if [ "$big" = 1 ]; then
	: "${rounds:=2}" "${attachments:=30}" "${import:=0}"
else
	: "${rounds:=5}" "${attachments:=4}" "${import:=1}"
fi

bench_find_xch
bench_need gpg gpgconf tar gzip pigz git python3
bench_env

name=data-r$records-a${attachments}x$mib
bench_dataset "$name" --records "$records" --attachments "$attachments" --attachment-mib "$mib"
bench_store_agency "store-agency-r$records-a${attachments}x$mib" "$DATA"
[ -n "$ADD_SECONDS" ] && say "(xch add of the dataset: $ADD_SECONDS s)"
bench_store_company "$RUN/cstore"

size=$(du -sb "$DATA/records" "$DATA/attachments" | awk '{ s += $1 } END { print s }')
# bundles (3) + two extracted trees and two imported stores per round,
# warm-up included, and slack
bench_disk_check $((size * (3 + (2 + 2 * import) * (rounds + tree)) + 512 * MIB))

RESULTS=$RUN/results
TREE_RESULTS=$RUN/tree-results
: >"$RESULTS"
: >"$TREE_RESULTS"

# The commands. Each writes to a name of its round ($1); run_group removes
# the previous round's bundle of the same kind first (untimed).
seal_xch() {
	env GNUPGHOME="$GA" XCH_DIR="$STORE" "$XCH" seal --full --to company -o "$RUN/xch.xch"
}
seal_stock() {
	# $1: gzip or pigz
	bash -c 'set -o pipefail; tar -cf - -C "$1" records attachments | '"$1"' -6 |
		gpg --homedir "$2" --batch --no-tty --quiet --trust-model always \
			--sign --encrypt -r "$3" -u "$4" >"$5"' \
		sh "$DATA" "$GA" "$COMPANY_FPR" "$AGENCY_FPR" "$RUN/stock-$1.tar.gz.gpg"
}
open_xch() {
	env GNUPGHOME="$GC" XCH_DIR="$RUN/cstore" "$XCH" open -o "$RUN/open-xch-$1" "$RUN/xch.xch"
}
verify_xch() {
	env GNUPGHOME="$GC" XCH_DIR="$RUN/cstore" "$XCH" verify "$RUN/xch.xch"
}
open_stock() {
	# $1: round, $2: gzip or pigz (gzip: tar -xzf, as a user would type it)
	# shellcheck disable=SC2016 # expanded by the inner bash
	local filter='tar -xzf - -C "$3"'
	# shellcheck disable=SC2016
	[ "$2" = pigz ] && filter='pigz -d | tar -xf - -C "$3"'
	bash -c 'set -o pipefail; mkdir "$3" &&
		gpg --homedir "$1" --batch --no-tty --quiet --trust-model always \
			--decrypt "$2" | '"$filter" \
		sh "$GC" "$RUN/stock-gzip.tar.gz.gpg" "$RUN/open-$2-$1"
}
import_xch() {
	# $1: round; the store is made beforehand (untimed)
	env GNUPGHOME="$GC" XCH_DIR="$RUN/import-xch-$1" "$XCH" import --allow-gap "$RUN/xch.xch"
}
import_git() {
	# $1: round; the same files, as gpg | tar extracted them this round
	git init -q --bare "$RUN/import-git-$1" &&
		git --git-dir="$RUN/import-git-$1" --work-tree="$RUN/open-gzip-$1" add -A &&
		git --git-dir="$RUN/import-git-$1" --work-tree="$RUN/open-gzip-$1" commit -q -m import
}

SEAL=("seal/xch seal_xch" "seal/gzip seal_stock gzip" "seal/pigz seal_stock pigz")
OPEN=("open/xch-open open_xch" "open/xch-verify verify_xch" "open/gzip open_stock" "open/pigz open_stock")
IMPORT=("import/xch import_xch" "import/git import_git")

# run_group ROUND SHIFT SPEC...: time each "LABEL FUNCTION [ARG]", in
# order from the SHIFT-th (modulo their number), round the circle.
run_group() {
	local round=$1 shift=$2 i label fn arg
	shift 2
	local specs=("$@")
	local n=${#specs[@]}
	for ((i = 0; i < n; i++)); do
		local s=${specs[$(((i + shift) % n))]}
		read -r label fn arg <<<"$s"
		local args=()
		case $fn in
		seal_xch) rm -f "$RUN/xch.xch" ;;
		seal_stock) args=("$arg"); rm -f "$RUN/stock-$arg.tar.gz.gpg" ;;
		open_stock) args=("$round" "${label#open/}") ;;
		open_xch | import_git) args=("$round") ;;
		import_xch)
			args=("$round")
			GNUPGHOME=$GC bench_store_company "$RUN/import-xch-$round" ;;
		esac
		# untimed: what the previous command left dirty is written out now,
		# not during this one (the first of a round paid up to 2 s for it)
		sync
		if [ "$round" = 0 ]; then
			bench_tree_rss "$label" "$fn" "${args[@]}"
		else
			printf '  %-16s' "$label" >&2
			bench_time "$label" "$round" bash -c '"$@"' sh "$fn" "${args[@]}"
			printf '%8s s\n' "$(tail -n 1 "$RESULTS" | cut -d' ' -f3)" >&2
		fi
	done
}
# The functions run under /usr/bin/time and rss-tree: export them.
export -f seal_xch seal_stock open_xch verify_xch open_stock import_xch import_git
export RUN GA GC STORE DATA XCH COMPANY_FPR AGENCY_FPR

say "$(bench_machine)"
say "xch: $XCH"
say "dataset: $DATA ($records records, $attachments x $mib MiB attachments, $((size / MIB)) MiB)"
say "run: $RUN, $rounds rounds"
start=$(date +%s)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "$tree" = 1 ]; then
	say "round 0 (warm-up, process-tree memory)"
	# rss-tree runs a program: give it bash running the function
	bench_tree_rss() {
		local label=$1
		shift
		python3 "$BENCH/rss-tree" -o "$RUN/tree.out" -- bash -c '"$@"' sh "$@" >>"$RUN/log" 2>&1 ||
			die "$label failed (warm-up): $*"
		printf '%s %s\n' "$label" "$(cat "$RUN/tree.out")" >>"$TREE_RESULTS"
	}
	run_group 0 0 "${SEAL[@]}"
	run_group 0 0 "${OPEN[@]}"
	[ "$import" = 1 ] && run_group 0 0 "${IMPORT[@]}"
fi
for ((r = 1; r <= rounds; r++)); do
	say "round $r of $rounds"
	run_group "$r" $((r - 1)) "${SEAL[@]}"
	run_group "$r" "$r" "${OPEN[@]}"
	[ "$import" = 1 ] && run_group "$r" $((r - 1)) "${IMPORT[@]}"
done
elapsed=$(($(date +%s) - start))
load1=$(cut -d' ' -f1-3 /proc/loadavg)

out=$WORK/bench-bundle-$(date -u +%Y%m%dT%H%M%SZ).txt
{
	echo "bench-bundle: $(bench_machine)"
	echo "dataset: $records records, $attachments x $mib MiB attachments ($((size / MIB)) MiB on disk); $rounds rounds, ${elapsed}s; load average $load0 at start, $load1 at the end"
	echo "bundle sizes: xch $(stat -c %s "$RUN/xch.xch"), gzip pipeline $(stat -c %s "$RUN/stock-gzip.tar.gz.gpg"), pigz pipeline $(stat -c %s "$RUN/stock-pigz.tar.gz.gpg") bytes"
	echo
	python3 "$BENCH/report" --tree "$TREE_RESULTS" "$RESULTS"
} | tee "$out"
cp "$RESULTS" "$out.raw"
say "report: $out (raw timings: $out.raw)"

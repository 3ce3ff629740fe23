# Set-up shared by the benchmarks (sourced by bench/bench-*.sh; bash).
#
#   XCH=path/to/build/xch bench/bench-bundle.sh
#
# Environment:
#   XCH             the xch to measure (default: xch on PATH). A libtool
#                   wrapper (build-dir/xch) is replaced by the real binary in
#                   build-dir/.libs, so that no shell start-up is measured.
#   XCH_BENCH_DIR   where datasets, stores and runs live (default
#                   /tmp/xch-bench). Datasets and the sender's store are kept
#                   there between runs and reused; each run's outputs go in a
#                   run directory under it, removed at the end.
#
# Hermetic: HOME, GNUPGHOME and git's configuration point into a fresh
# directory under /tmp (short, for gpg-agent's socket); its agents are killed
# on exit. The keys are the test suite's fixtures (tests/resources/keys):
#   $GA  agency's GNUPGHOME: agency's secret key, company's public key
#   $GC  company's GNUPGHOME: company's secret key, agency's public key

set -eu
set -o pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH/.." && pwd)
KEYS=$TOP/tests/resources/keys
AGENCY_FPR=BF2350B93044B7D3F0B71AB5DC21E401DE46831E
COMPANY_FPR=A8D5E1EB4E97555C0C836FCE7DC063BAF26F22B1
WORK=${XCH_BENCH_DIR:-/tmp/xch-bench}
MIB=$((1024 * 1024))

say() { printf '%s\n' "$*" >&2; }
die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 2; }

# bench_find_xch: set XCH to the binary to run (see above).
bench_find_xch() {
	XCH=${XCH:-$(command -v xch || true)}
	[ -n "$XCH" ] || die "no xch: set XCH=path/to/build/xch"
	case $XCH in /*) ;; *) XCH=$(cd "$(dirname "$XCH")" && pwd)/${XCH##*/} ;; esac
	local dir
	dir=$(dirname "$XCH")
	if [ -x "$dir/.libs/${XCH##*/}" ] && head -c 2 "$XCH" | grep -q '#!'; then
		XCH=$dir/.libs/${XCH##*/}
		export LD_LIBRARY_PATH=$dir/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	fi
	[ -x "$XCH" ] || die "cannot run '$XCH'"
	"$XCH" --version >/dev/null 2>&1 || die "'$XCH --version' fails"
	# which build: a cached store is remade when it changes
	local lib
	lib=$(ldd "$XCH" | awk '/libexchange/ { print $3 }')
	XCH_BUILD=$(cat "$XCH" ${lib:+"$lib"} | cksum | cut -d' ' -f1)
}

# bench_need CMD...: each CMD is installed.
bench_need() {
	local c
	for c; do
		command -v "$c" >/dev/null 2>&1 || die "'$c' is not installed"
	done
	[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is not installed"
}

# bench_env: the hermetic environment and the two keyrings.
bench_env() {
	export TZ=UTC LC_ALL=C LANG=C
	unset XCH_DIR XCH_NOW XCH_LOCK_TIMEOUT GPG_AGENT_INFO
	ENVDIR=$(mktemp -d /tmp/xchbXXXXXX)
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	export HOME=$ENVDIR/home XDG_CONFIG_HOME=$ENVDIR/home/.config
	export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$HOME/.gitconfig
	mkdir -m 700 "$HOME"
	printf '[user]\n\tname = Bench\n\temail = bench@xch.test\n' >"$GIT_CONFIG_GLOBAL"
	GA=$ENVDIR/ga
	GC=$ENVDIR/gc
	"$KEYS/import.sh" "$GA" agency company.pub 2>/dev/null
	"$KEYS/import.sh" "$GC" company agency.pub 2>/dev/null
	export GNUPGHOME=$GA
	mkdir -p "$WORK"
	RUN=$(mktemp -d "$WORK/run.XXXXXX")
}

# Functions set in BENCH_CLEANUP_HOOKS run first at exit.
BENCH_CLEANUP_HOOKS=
KEEP_RUN=0
bench_cleanup() {
	local h
	for h in $BENCH_CLEANUP_HOOKS; do "$h" || true; done
	if [ -n "${ENVDIR:-}" ]; then
		gpgconf --homedir "$ENVDIR/ga" --kill all >/dev/null 2>&1 || true
		gpgconf --homedir "$ENVDIR/gc" --kill all >/dev/null 2>&1 || true
		rm -rf "$ENVDIR"
	fi
	if [ -n "${RUN:-}" ] && [ -d "$RUN" ]; then
		if [ "$KEEP_RUN" = 1 ]; then
			say "kept $RUN"
		else
			rm -rf "$RUN"
		fi
	fi
}

# gpg as the agency (sender) and as the company (recipient).
gpg_agency() { gpg --homedir "$GA" --batch --no-tty --quiet --trust-model always "$@"; }
gpg_company() { gpg --homedir "$GC" --batch --no-tty --quiet --trust-model always "$@"; }

# bench_dataset NAME GEN-DATASET-OPTIONS...: DATA=$WORK/NAME, generated unless
# a previous run made it with the same options (bench/gen-dataset is
# deterministic).
bench_dataset() {
	local name=$1
	shift
	DATA=$WORK/$name
	local want sum
	sum=$(cksum <"$BENCH/gen-dataset" | cut -d' ' -f1)
	want="gen-dataset $* (generator $sum)"
	if [ -f "$DATA/.made" ] && [ "$(cat "$DATA/.made")" = "$want" ]; then
		return 0
	fi
	rm -f "$DATA/.made"
	say "generating $DATA: $*"
	"$BENCH/gen-dataset" "$@" "$DATA" >&2
	printf '%s\n' "$want" >"$DATA/.made"
}

# bench_add_dataset STORE DATA BATCH: xch add every record of DATA (attachments
# with the first batch), BATCH records per commit. Sets ADD_SECONDS.
bench_add_dataset() {
	local store=$1 data=$2 batch=$3 list att=() f n=0 start end
	list=$(mktemp "$WORK/list.XXXXXX")
	(cd "$data" && find records -name '*.json' | LC_ALL=C sort) >"$list"
	rm -f "$list".part.*
	split -l "$batch" -d -a 4 "$list" "$list.part."
	for f in "$data"/attachments/*; do
		[ -f "$f" ] && att+=(--attach "$f")
	done
	start=$(date +%s%N)
	for f in "$list".part.*; do
		n=$((n + 1))
		# shellcheck disable=SC2046 # file names are ids: no blanks
		(cd "$data" && XCH_DIR=$store "$XCH" add -m "bench: batch $n" "${att[@]}" $(cat "$f")) >/dev/null ||
			die "xch add failed (batch $n of $data)"
		att=()
	done
	end=$(date +%s%N)
	rm -f "$list" "$list".part.*
	ADD_SECONDS=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
}

# bench_store_agency NAME DATA [BATCH]: STORE=$WORK/NAME, the agency's store
# (identity agency, partner company) holding DATA; made unless a previous run
# made it from the same dataset with the same build of xch.
bench_store_agency() {
	STORE=$WORK/$1
	local data=$2 batch=${3:-5000}
	local want
	want="$(cat "$data/.made") batch $batch xch $XCH_BUILD"
	if [ -f "$STORE/.bench-made" ] && [ "$(cat "$STORE/.bench-made")" = "$want" ]; then
		ADD_SECONDS=
		return 0
	fi
	rm -rf "$STORE"
	mkdir -p "$STORE"
	XCH_DIR=$STORE "$XCH" init --identity "$AGENCY_FPR" "$STORE" >/dev/null
	XCH_DIR=$STORE "$XCH" partner add --key "$KEYS/company.pub.asc" company >/dev/null
	say "adding $data to $STORE ($batch records a commit)"
	bench_add_dataset "$STORE" "$data" "$batch"
	say "added in $ADD_SECONDS s"
	printf '%s\n' "$want" >"$STORE/.bench-made"
}

# bench_store_company DIR: the company's store (identity company, partner
# agency), fresh.
bench_store_company() {
	CSTORE=$1
	mkdir -p "$CSTORE"
	GNUPGHOME=$GC XCH_DIR=$CSTORE "$XCH" init --identity "$COMPANY_FPR" "$CSTORE" >/dev/null
	GNUPGHOME=$GC XCH_DIR=$CSTORE "$XCH" partner add --key "$KEYS/agency.pub.asc" agency >/dev/null
}

# bench_time LABEL ROUND CMD...: run CMD under /usr/bin/time; append
# "LABEL ROUND SECONDS MAXRSS-KiB USER SYS" to $RESULTS. Output goes to $RUN/log.
# CMD must succeed.
bench_time() {
	local label=$1 round=$2 tf=$RUN/time.out
	shift 2
	if ! /usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >>"$RUN/log" 2>&1; then
		tail -n 20 "$RUN/log" >&2
		die "$label failed (round $round): $*"
	fi
	printf '%s %s %s\n' "$label" "$round" "$(tail -n 1 "$tf")" >>"$RESULTS"
}

# bench_tree_rss LABEL CMD...: run CMD once, sampling the summed memory (Pss)
# of its whole process tree (xch and the gpg it starts, or every stage of a
# pipeline); append "LABEL PEAK-KiB" to $TREE_RESULTS.
bench_tree_rss() {
	local label=$1
	shift
	python3 "$BENCH/rss-tree" -o "$RUN/tree.out" -- "$@" >>"$RUN/log" 2>&1 ||
		die "$label failed (tree RSS run): $*"
	printf '%s %s\n' "$label" "$(cat "$RUN/tree.out")" >>"$TREE_RESULTS"
}

# bench_disk_check BYTES: WORK's file system has that much room.
bench_disk_check() {
	local avail
	avail=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
	[ "$((avail * 1024))" -ge "$1" ] ||
		die "$WORK has $((avail / 1024)) MiB free; this run needs about $(($1 / MIB)) MiB"
}

bench_machine() {
	printf '%s, %s cores, %s, %s\n' "$(date -u +%Y-%m-%d)" "$(nproc)" \
		"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
		"$(awk '/^MemTotal/ { printf "%d MiB RAM", $2 / 1024 }' /proc/meminfo)"
}

#!/bin/bash
# bench-store.sh: a store of many records. Adds the dataset in batches
# (timing each batch, so growth with the store's size shows), compares the
# bulk add with `git add -A && git commit` of the same files, then times,
# in the full store, `xch add` of one new record, `xch add` of one changed
# record and `xch show ID` (median of 20 runs each, in ms).
#
#   XCH=_build/xch bench/bench-store.sh [options]
#
#   --records N   records in the store (default 100000, about 5 KB each)
#   --batch N     records per `xch add` commit (default 5000)
#   --runs N      runs of each one-record command (default 20)
#   --no-git      skip the `git add -A && git commit` comparison
#   --keep        keep the run directory (the store)
#
# The store is made afresh in each run (under XCH_BENCH_DIR); the dataset is
# kept and reused.

. "$(dirname "$0")/common.sh"

records=100000 batch=5000 runs=20 git=1
while [ $# -gt 0 ]; do
	case $1 in
	--records) records=$2; shift ;;
	--batch) batch=$2; shift ;;
	--runs) runs=$2; shift ;;
	--no-git) git=0 ;;
	--keep) KEEP_RUN=1 ;;
	-h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
	shift
done

bench_find_xch
bench_need gpg gpgconf git python3
bench_env

bench_dataset "data-r$records-a0" --records "$records" --attachments 0
size=$(du -sb "$DATA/records" | cut -f1)
bench_disk_check $((size * 4 + 512 * MIB))

say "$(bench_machine)"
say "xch: $XCH"
say "dataset: $DATA ($records records, $((size / MIB)) MiB)"
say "run: $RUN"
start=$(date +%s)
load0=$(cut -d' ' -f1-3 /proc/loadavg)

now_ns() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }

STORE=$RUN/store
mkdir "$STORE"
export XCH_DIR=$STORE
"$XCH" init --identity "$AGENCY_FPR" "$STORE" >/dev/null

# The bulk add, batch by batch.
list=$RUN/list
(cd "$DATA" && find records -name '*.json' | LC_ALL=C sort) >"$list"
split -l "$batch" -d -a 4 "$list" "$list.part."
BATCHES=$RUN/batches
: >"$BATCHES"
n=0
t0=$(now_ns)
for f in "$list".part.*; do
	n=$((n + 1))
	a=$(now_ns)
	# shellcheck disable=SC2046 # file names are ids: no blanks
	(cd "$DATA" && "$XCH" add -m "bench: batch $n" $(cat "$f")) >/dev/null ||
		die "xch add failed (batch $n)"
	b=$(now_ns)
	printf '%d %d %s\n' "$n" "$(wc -l <"$f")" "$(ms "$a" "$b")" >>"$BATCHES"
	say "  batch $n: $(wc -l <"$f") records, $(ms "$a" "$b") ms"
done
t1=$(now_ns)
bulk_ms=$(ms "$t0" "$t1")

# The same files into a plain git repository, for comparison.
git_ms=
if [ "$git" = 1 ]; then
	say "git add -A && git commit of the same records"
	g=$RUN/git
	git init -q --bare "$g"
	a=$(now_ns)
	git --git-dir="$g" --work-tree="$DATA" add -A records
	git --git-dir="$g" --work-tree="$DATA" commit -q -m bench
	b=$(now_ns)
	git_ms=$(ms "$a" "$b")
fi

# One-record commands in the full store.
T=$RUN/one
mkdir "$T"
# new records: copies of spread-out records under new ids; changed records:
# existing ones with a finding's status and the modified time changed.
python3 - "$DATA/records" "$T" "$runs" "$records" <<'EOF'
import json, os, sys
src, out, runs, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for k in range(runs):
    i = 1 + (k * 7919) % n      # spread over the store; every 4th is an advisory
    if i % 4 == 0:
        i -= 1
    name = "ASMT-B-%06d" % i
    with open(os.path.join(src, name + ".json")) as f:
        rec = json.load(f)
    new = dict(rec, id="ASMT-NEW-%06d" % (k + 1))
    with open(os.path.join(out, "new-%d.json" % (k + 1)), "w") as f:
        json.dump(new, f, indent=2, sort_keys=True)
        f.write("\n")
    rec["findings"][0]["status"] = "closed" if rec["findings"][0]["status"] != "closed" else "open"
    rec["modified"] = "2026-06-%02dT12:00:00Z" % (k % 28 + 1)
    rec["revision_history"].append({"id": "bench-%d" % (k + 1), "date": rec["modified"],
                                    "summary": "Closed F-001."})
    with open(os.path.join(out, "changed-%d.json" % (k + 1)), "w") as f:
        json.dump(rec, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(out, "ids"), "a") as f:
        f.write(name + "\n")
EOF

TIMES=$RUN/times
: >"$TIMES"
# one LABEL CMD...: time CMD once (it must succeed), append "LABEL MS".
one() {
	local label=$1 a b
	shift
	a=$(now_ns)
	"$@" >/dev/null 2>"$RUN/err" || { cat "$RUN/err" >&2; die "$label failed: $*"; }
	b=$(now_ns)
	printf '%s %s\n' "$label" "$(ms "$a" "$b")" >>"$TIMES"
}
say "one-record commands, $runs runs each, interleaved"
mapfile -t ids <"$T/ids"
for ((k = 1; k <= runs; k++)); do
	id=${ids[$((k - 1))]}
	one "xch add (new record)" "$XCH" add "$T/new-$k.json"
	one "xch show ID" "$XCH" show "$id"
	one "xch add (changed record)" "$XCH" add "$T/changed-$k.json"
	one "xch show --json ID" "$XCH" show --json "$id"
	one "xch --version (process start)" "$XCH" --version
done
# O(store) commands, once each: informative
one "xch status" "$XCH" status
one "xch list" "$XCH" list
elapsed=$(($(date +%s) - start))
load1=$(cut -d' ' -f1-3 /proc/loadavg)

out=$WORK/bench-store-$(date -u +%Y%m%dT%H%M%SZ).txt
{
	echo "bench-store: $(bench_machine)"
	echo "store: $records records ($((size / MIB)) MiB of JSON), $n commits of $batch; run ${elapsed}s; load average $load0 at start, $load1 at the end"
	echo "store on disk: $(du -sh "$STORE/.xch" | cut -f1), $(find "$STORE/.xch/objects" -type f | wc -l) object files"
	echo
	python3 - "$BATCHES" "$TIMES" "$bulk_ms" "${git_ms:-}" "$records" <<'EOF'
import statistics, sys
batches, times, bulk, git, n = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
b = [line.split() for line in open(batches)]
per = [float(ms) / int(cnt) for _, cnt, ms in b]
print("bulk add: %.1f s for %d records (%.2f ms a record; first batch %.2f, last batch %.2f ms a record)"
      % (bulk / 1000, n, bulk / n, per[0], per[-1]))
if git:
    print("git add -A && git commit of the same files: %.1f s (xch add is %.2fx)"
          % (float(git) / 1000, bulk / float(git)))
print()
rows = {}
for line in open(times):
    label, ms = line.rsplit(None, 1)
    rows.setdefault(label, []).append(float(ms))
print("%-32s %6s %10s %10s %10s" % ("command (in the full store)", "runs", "median ms", "min ms", "max ms"))
for label, v in rows.items():
    print("%-32s %6d %10.1f %10.1f %10.1f" % (label, len(v), statistics.median(v), min(v), max(v)))
print()
for label in ("xch add (new record)", "xch show ID"):
    if label in rows:
        m = statistics.median(rows[label])
        print("%-4s %s well under 100 ms (here: median < 50 ms): %.1f ms"
              % ("PASS" if m < 50 else "MISS", label, m))
EOF
} | tee "$out"
say "report: $out"

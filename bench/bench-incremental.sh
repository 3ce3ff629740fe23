#!/bin/bash
# bench-incremental.sh: incremental exchange in a store of many records.
# The agency's store holds the dataset; `xch seal --to company` makes the
# first, full bundle and the company imports it into a fresh store (the
# set-up, timed once: it is what the incremental steps are compared with).
# Then, round after round, the agency changes 1% of the records (others
# each round), adds and deletes a few, commits them with `xch add` and
# `xch rm`, seals an incremental bundle, the company imports it and sends
# back its receipt, which the agency imports, so that the next bundle
# starts from the state the company acknowledged. Reported: the incremental
# bundle's size against the full one's, the incremental seal and import
# times against the full ones, peak memory, medians over the rounds.
#
#   XCH=_build/xch bench/bench-incremental.sh [options]
#
#   --records N         records in the agency's store (default 100000)
#   --rounds N          timed incremental rounds (default 3), after an untimed
#                       warm-up round (round 0)
#   --change-percent P  records changed in each round (default 1)
#   --add N             new records added in each round (default 10)
#   --delete N          records deleted in each round (default 10)
#   --no-stock          skip the reference line: tar | gzip -6 | gpg --sign
#                       --encrypt of just the changed and new record files
#   --no-tree-rss       do not sample the memory of whole process trees in
#                       round 0 (still a warm-up, left out of the medians)
#   --keep              keep the run directory (stores, bundles)
#
# Honest about: the full seal and the full import run once each (a second
# full import would need a second fresh store of N records), so their figure
# is one sample; the incremental steps are the median of --rounds rounds,
# each on a different P% of the records (gen-dataset --change-percent P, 2P,
# 3P, ... over a copy of the dataset: each run rewrites the records it
# picked before the same way, plus P% more), never the same bundle sealed
# twice. Round 0 does the same, under bench/rss-tree (every 10 ms), and is
# not timed; the full seal and import run under /usr/bin/time and rss-tree
# (every 50 ms, about 3% of one core). In each round the tar | gzip | gpg
# reference and xch seal alternate in order.
#
# The dataset (generated once, shared with bench-store.sh) and the agency's
# store after the bulk add (remade when the xch build changes) are kept
# under XCH_BENCH_DIR; each run copies the store and links the dataset into
# its run directory, which it removes at the end, and leaves its report as
# bench-incremental-DATE.txt there.

. "$(dirname "$0")/common.sh"

records=100000 rounds=3 pct=1 nadd=10 ndel=10 stock=1 tree=1
while [ $# -gt 0 ]; do
	case $1 in
	--records) records=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--change-percent) pct=$2; shift ;;
	--add) nadd=$2; shift ;;
	--delete) ndel=$2; shift ;;
	--no-stock) stock=0 ;;
	--no-tree-rss) tree=0 ;;
	--keep) KEEP_RUN=1 ;;
	-h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
	shift
done
case $records$rounds$nadd$ndel in *[!0-9]*) die "--records, --rounds, --add and --delete take numbers" ;; esac
[ "$records" -ge 100 ] || die "--records: at least 100"
[ "$rounds" -ge 1 ] || die "--rounds: at least 1"
awk -v p="$pct" -v r="$rounds" 'BEGIN { exit !(p + 0 > 0 && p * (r + 1) <= 100) }' ||
	die "--change-percent: more than 0, and at most 100 over all rounds (round 0 included)"

bench_find_xch
bench_need gpg gpgconf git python3 tar gzip
bench_env

bench_dataset "data-r$records-a0" --records "$records" --attachments 0
size=$(du -sb "$DATA/records" | cut -f1)
# the store's cache and its copy, the company's store, bundles, slack
bench_disk_check $((size * 5 + 512 * MIB))
bench_store_agency "store-incr-agency-r$records" "$DATA"
[ -n "$ADD_SECONDS" ] && say "(xch add of the dataset: $ADD_SECONDS s)"

say "$(bench_machine)"
say "xch: $XCH"
say "dataset: $DATA ($records records, $((size / MIB)) MiB)"
say "run: $RUN, $rounds rounds of $pct% changed, $nadd added, $ndel deleted"

# This run's copies: the agency's store (changed by every round) and the
# dataset, hard-linked: gen-dataset replaces the files it changes (a new
# file renamed over the old name), so the shared dataset is left as it is.
say "copying the agency's store"
cp -a "$STORE" "$RUN/agency"
STORE=$RUN/agency
cp -al "$DATA" "$RUN/data"
rm -f "$RUN/data/.made"
bench_store_company "$RUN/company"
sync -f "$RUN"

RESULTS=$RUN/results
TREE_RESULTS=$RUN/tree-results
ROUNDS=$RUN/rounds
: >"$RESULTS"
: >"$TREE_RESULTS"
: >"$ROUNDS"

# step LABEL ROUND OUT CMD...: run CMD, which must succeed, with its
# standard output in OUT (standard error goes to $RUN/log).
#   ROUND 0      the warm-up: under rss-tree every 10 ms, untimed;
#                appends "LABEL PEAK-KiB" to $TREE_RESULTS (with
#                --no-tree-rss, timed like any round, but left out of
#                the report)
#   ROUND full   under /usr/bin/time and rss-tree every 50 ms: both
#   other        under /usr/bin/time
# Timings go to $RESULTS as "LABEL ROUND SECONDS MAXRSS-KiB USER SYS".
step() {
	local label=$1 round=$2 out=$3 tf=$RUN/time.out rf=$RUN/tree.out
	shift 3
	local timed=(/usr/bin/time -f '%e %M %U %S' -o "$tf" "$@")
	local rc=0 a b
	rm -f "$tf" "$rf"
	if [ "$round" = 0 ] && [ "$tree" = 1 ]; then
		python3 "$BENCH/rss-tree" -o "$rf" -- "$@" >"$out" 2>>"$RUN/log" || rc=$?
	elif [ "$round" = full ]; then
		python3 "$BENCH/rss-tree" --interval 0.05 -o "$rf" -- "${timed[@]}" >"$out" 2>>"$RUN/log" || rc=$?
	else
		a=$(date +%s%N)
		"${timed[@]}" >"$out" 2>>"$RUN/log" || rc=$?
		b=$(date +%s%N)
	fi
	if [ "$rc" != 0 ]; then
		tail -n 20 "$RUN/log" >&2
		die "$label failed (round $round, exit $rc): $*"
	fi
	[ -f "$rf" ] && printf '%s %s\n' "$label" "$(cat "$rf")" >>"$TREE_RESULTS"
	if [ -f "$tf" ]; then
		# wall time: to the ms around /usr/bin/time, except under rss-tree
		# (whose start-up would count): there /usr/bin/time's, to 10 ms
		local w
		w=$(tail -n 1 "$tf")
		[ "$round" != full ] && w="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", (b - a) / 1e9 }') ${w#* }"
		printf '%s %s %s\n' "$label" "${round/full/1}" "$w" >>"$RESULTS"
		printf '  %-24s %8s s\n' "$label" "${w%% *}" >&2
	else
		printf '  %-24s %8s\n' "$label" "(memory)" >&2
	fi
}

# xch as the agency, in its store; as the company, in its store (arrays,
# not functions: /usr/bin/time and rss-tree run them without a shell).
XA=(env GNUPGHOME="$GA" XCH_DIR="$STORE" "$XCH")
XC=(env GNUPGHOME="$GC" XCH_DIR="$RUN/company" "$XCH")

# The reference: the changed and new record files of a round, as a user
# would send them by hand: STOCK DIR GNUPGHOME RECIPIENT SIGNER OUT.
# shellcheck disable=SC2016 # expanded by the inner bash
STOCK=(bash -c 'set -o pipefail; tar -cf - -C "$1" . | gzip -6 |
	gpg --homedir "$2" --batch --no-tty --quiet --trust-model always \
		--sign --encrypt -r "$3" -u "$4" >"$5"' sh)

# payload BUNDLE: the size of its payload.gpg (the bundle's size is rounded
# up to a multiple of 10240 bytes, xch-bundle(5)).
payload() { tar -tvf "$1" payload.gpg | awk '{ print $3 }'; }

# json FILE EXPR: evaluate EXPR (Python) over the JSON document in FILE (j).
json() {
	python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

start=$(date +%s)
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# The set-up: the full bundle and its import into the company's empty store,
# then the company's receipt, which makes the next bundle incremental.
say "full bundle"
step "full/seal" full "$RUN/full-seal.json" "${XA[@]}" seal --to company -o "$RUN/full.xch" --json
[ "$(json "$RUN/full-seal.json" 'j["incremental"]')" = False ] ||
	die "the first bundle is not full: $(cat "$RUN/full-seal.json")"
step "full/import" full "$RUN/full-import.json" "${XC[@]}" import --json "$RUN/full.xch"
step "full/receipt" full "$RUN/full-receipt.json" "${XC[@]}" receipt --for agency -o "$RUN/full-receipt.xch" --json
step "full/receipt-import" full "$RUN/full-receipt-import.json" "${XA[@]}" import --json "$RUN/full-receipt.xch"
full_size=$(stat -c %s "$RUN/full.xch")
full_payload=$(payload "$RUN/full.xch")
full_recs=$(json "$RUN/full-seal.json" 'j["records"]')
full_added=$(json "$RUN/full-import.json" 'j[0]["added"]')
if [ "$full_recs" != "$records" ] || [ "$full_added" != "$records" ]; then
	say "warning: the full bundle carries $full_recs records and its import added $full_added, of $records"
fi
rm -f "$RUN/full.xch" "$RUN/full-receipt.xch"

# The rounds. Round k changes the records gen-dataset --change-percent
# (k+1)*P picks: those of the rounds before unchanged again, P% more.
ids=$RUN/ids
(cd "$RUN/data/records" && find . -name '*.json' -printf '%i %f\n' | LC_ALL=C sort) >"$ids"
deleted=$RUN/deleted
: >"$deleted"
for ((k = 0; k <= rounds; k++)); do
	if [ "$k" = 0 ]; then
		say "round 0 of $rounds (warm-up$([ "$tree" = 1 ] && echo ', process-tree memory, untimed'))"
	else
		say "round $k of $rounds"
	fi
	d=$RUN/round-$k
	mkdir -p "$d/files"
	p=$(awk -v p="$pct" -v k="$k" 'BEGIN { print p * (k + 1) }')
	"$BENCH/gen-dataset" -q --records "$records" --attachments 0 --change-percent "$p" "$RUN/data"
	(cd "$RUN/data/records" && find . -name '*.json' -printf '%i %f\n' | LC_ALL=C sort) >"$ids.new"
	# a file gen-dataset rewrote has a new inode; leave out deleted records
	comm -13 "$ids" "$ids.new" | cut -d' ' -f2 | LC_ALL=C sort |
		comm -23 - "$deleted" >"$d/changed"
	mv "$ids.new" "$ids"
	# new records (copies of spread-out assessments under new ids) and the
	# ids to delete (spread out, none of those just changed)
	python3 - "$RUN/data/records" "$d" "$k" "$nadd" "$ndel" "$deleted" <<'EOF'
import json, os, random, sys
src, d, k, nadd, ndel, deleted = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
names = sorted(os.listdir(src))
gone = set(open(deleted).read().split())
changed = set(open(os.path.join(d, "changed")).read().split())
asmt = [n for n in names if n.startswith("ASMT-")]
rng = random.Random("bench-incremental:%d" % k)
with open(os.path.join(d, "added"), "w") as out:
    for a in range(nadd):
        name = asmt[(a * 7919 + k * 104729) % len(asmt)]
        with open(os.path.join(src, name)) as f:
            rec = json.load(f)
        rec["id"] = "ASMT-INC-%02d-%05d" % (k, a + 1)
        rec["title"] += " (follow-up %d)" % (k + 1)
        rec.pop("attachments", None)
        with open(os.path.join(d, "files", rec["id"] + ".json"), "w") as f:
            json.dump(rec, f, indent=2, sort_keys=True)
            f.write("\n")
        out.write(rec["id"] + ".json\n")
pool = [n for n in names if n not in gone and n not in changed]
with open(os.path.join(d, "deleted"), "w") as out:
    for n in sorted(rng.sample(pool, min(ndel, len(pool)))):
        out.write(n + "\n")
EOF
	nchanged=$(wc -l <"$d/changed")
	nadded=$(wc -l <"$d/added")
	ndeleted=$(wc -l <"$d/deleted")
	# the files of the round, in one directory, for the reference pipeline
	while read -r f; do ln "$RUN/data/records/$f" "$d/files/$f"; done <"$d/changed"
	say "  $nchanged changed, $nadded new, $ndeleted deleted records"

	# Commit them at the agency.
	# shellcheck disable=SC2046 # file names are ids: no blanks
	step "inc/add" "$k" "$d/add.out" \
		env -C "$d/files" GNUPGHOME="$GA" XCH_DIR="$STORE" "$XCH" add -m "bench: round $k" \
		$(cat "$d/changed" "$d/added")
	if [ "$ndeleted" -gt 0 ]; then
		# shellcheck disable=SC2046
		step "inc/rm" "$k" "$d/rm.out" "${XA[@]}" rm -m "bench: round $k, deletions" $(sed 's/\.json$//' "$d/deleted")
		LC_ALL=C sort -o "$deleted" "$deleted" "$d/deleted"
	fi

	# Seal, xch and the reference, alternating.
	if [ "$stock" = 1 ] && [ $((k % 2)) = 1 ]; then
		step "inc/stock" "$k" /dev/null "${STOCK[@]}" "$d/files" "$GA" "$COMPANY_FPR" "$AGENCY_FPR" "$d/stock.tar.gz.gpg"
	fi
	step "inc/seal" "$k" "$d/seal.json" "${XA[@]}" seal --to company -o "$d/inc.xch" --json
	if [ "$stock" = 1 ] && [ $((k % 2)) = 0 ]; then
		step "inc/stock" "$k" /dev/null "${STOCK[@]}" "$d/files" "$GA" "$COMPANY_FPR" "$AGENCY_FPR" "$d/stock.tar.gz.gpg"
	fi
	# The company imports it and acknowledges it; the agency imports the receipt.
	step "inc/import" "$k" "$d/import.json" "${XC[@]}" import --json "$d/inc.xch"
	step "inc/receipt" "$k" "$d/receipt.json" "${XC[@]}" receipt --for agency -o "$d/receipt.xch" --json
	step "inc/receipt-import" "$k" "$d/receipt-import.json" "${XA[@]}" import --json "$d/receipt.xch"

	# "ROUND CHANGED ADDED DELETED BUNDLE-BYTES PAYLOAD-BYTES STOCK-BYTES",
	# then what xch seal and import said
	printf '%s %s %s %s %s %s %s %s %s\n' "$k" "$nchanged" "$nadded" "$ndeleted" \
		"$(stat -c %s "$d/inc.xch")" "$(payload "$d/inc.xch")" \
		"$( [ -f "$d/stock.tar.gz.gpg" ] && stat -c %s "$d/stock.tar.gz.gpg" || echo -)" \
		"$(python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print("%s/%d/%d" % (s["incremental"], s["records"], s["tombstones"]))' "$d/seal.json")" \
		"$(python3 -c 'import json, sys; i = json.load(open(sys.argv[1]))[0]; print("%d/%d/%d/%d/%d" % (i["added"], i["changed"], i["deleted"], i["unchanged"], i["conflicts"]))' "$d/import.json")" \
		>>"$ROUNDS"
	say "  bundle $(stat -c %s "$d/inc.xch") bytes (full: $full_size)"
	[ "$KEEP_RUN" = 1 ] || rm -f "$d/inc.xch" "$d/stock.tar.gz.gpg" "$d/receipt.xch"
done
elapsed=$(($(date +%s) - start))
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# Both stores hold the same records now (canonical JSON: same tree), and the
# company has acknowledged everything.
ta=$(git --git-dir="$STORE/.xch" rev-parse main:records)
tc=$(git --git-dir="$RUN/company/.xch" rev-parse main:records)
"${XA[@]}" partner show --json company >"$RUN/partner.json"
status=$(json "$RUN/partner.json" 'j["status"]')

out=$WORK/bench-incremental-$(date -u +%Y%m%dT%H%M%SZ).txt
{
	echo "bench-incremental: $(bench_machine)"
	echo "store: $records records ($((size / MIB)) MiB of JSON); $rounds rounds (and a warm-up) of $pct% changed, $nadd added, $ndel deleted; run ${elapsed}s; load average $load0 at start, $load1 at the end"
	echo "agency's store at the end: $(du -sh "$STORE/.xch" | cut -f1); company's: $(du -sh "$RUN/company/.xch" | cut -f1)"
	echo
	python3 - "$RESULTS" "$TREE_RESULTS" "$ROUNDS" "$full_size" "$full_payload" "$records" <<'EOF'
import statistics, sys
results, trees, rounds_file = sys.argv[1:4]
full_size, full_payload, n = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
LABELS = [
    ("full/seal", "xch seal (full)"),
    ("inc/seal", "xch seal (incremental)"),
    ("inc/stock", "tar|gzip|gpg changed files"),
    ("full/import", "xch import (full)"),
    ("inc/import", "xch import (incremental)"),
    ("inc/add", "xch add (changed + new)"),
    ("inc/rm", "xch rm (deleted)"),
    ("full/receipt", "xch receipt (full)"),
    ("inc/receipt", "xch receipt (incremental)"),
    ("full/receipt-import", "xch import receipt (full)"),
    ("inc/receipt-import", "xch import receipt (incr.)"),
]
FULL = {"inc/seal": "full/seal", "inc/stock": "full/seal", "inc/import": "full/import",
        "inc/receipt": "full/receipt", "inc/receipt-import": "full/receipt-import"}
runs = {}
for line in open(results):
    w = line.split()
    if len(w) >= 6 and w[1] != "0":
        runs.setdefault(w[0], []).append((int(w[1]), float(w[2]), int(w[3]), float(w[4]) + float(w[5])))
tmem = {}
for line in open(trees):
    w = line.split()
    if len(w) == 2:
        tmem[w[0]] = max(tmem.get(w[0], 0), int(w[1]))
rounds = []
for line in open(rounds_file):
    w = line.split()
    rounds.append({"k": int(w[0]), "changed": int(w[1]), "added": int(w[2]), "deleted": int(w[3]),
                   "size": int(w[4]), "payload": int(w[5]), "stock": None if w[6] == "-" else int(w[6]),
                   "seal": w[7].split("/"), "import": [int(x) for x in w[8].split("/")]})
timed = [r for r in rounds if r["k"] > 0]
med = {k: statistics.median(s for _, s, _, _ in v) for k, v in runs.items()}

def pct(x):
    return "%.2f%%" % (100 * x)

sizes = [r["size"] / full_size for r in timed]
payloads = [r["payload"] / full_payload for r in timed]
print("full bundle: %d bytes (payload %d) for %d records" % (full_size, full_payload, n))
print("incremental bundles: median %d bytes, %s of the full one (round by round %s-%s);"
      % (statistics.median(r["size"] for r in timed), pct(statistics.median(sizes)),
         pct(min(sizes)), pct(max(sizes))))
print("  payloads: median %d bytes, %s of the full one's (round by round %s-%s)"
      % (statistics.median(r["payload"] for r in timed), pct(statistics.median(payloads)),
         pct(min(payloads)), pct(max(payloads))))
st = [r["stock"] for r in timed if r["stock"] is not None]
if st:
    print("tar | gzip -6 | gpg -se of the same changed and new files: median %d bytes (%s of the full xch bundle)"
          % (statistics.median(st), pct(statistics.median(st) / full_size)))
print()
print("%5s %8s %6s %8s %10s %8s %10s   %s" % ("round", "changed", "new", "deleted", "bundle B", "x full", "payload B", "xch seal: kind/records/deletions; import: added/changed/deleted/unchanged/conflicts"))
for r in rounds:
    print("%5s %8d %6d %8d %10d %8s %10d   seal %s; import %s" % (
        "%d%s" % (r["k"], "*" if r["k"] == 0 else ""), r["changed"], r["added"], r["deleted"], r["size"],
        pct(r["size"] / full_size), r["payload"],
        "/".join(("incremental" if r["seal"][0] == "True" else "FULL",) + tuple(r["seal"][1:])),
        "/".join(str(x) for x in r["import"])))
print("(* round 0, the warm-up: not in the medians)")
print()
head = "%-28s %5s %9s %15s %8s %7s %8s %9s" % (
    "command", "runs", "median s", "(min-max)", "x full", "cpu s", "RSS MiB", "tree MiB")
print(head)
print("-" * len(head))
for label, name in LABELS:
    if label not in runs:
        continue
    v = runs[label]
    s = [x for _, x, _, _ in v]
    ref = FULL.get(label)
    print("%-28s %5d %9.3f %15s %8s %7.2f %8.1f %9s" % (
        name, len(v), med[label], "(%.3f-%.3f)" % (min(s), max(s)),
        pct(med[label] / med[ref]) if ref in med and med[ref] > 0 else "-",
        statistics.median(c for _, _, _, c in v), max(m for _, _, m, _ in v) / 1024,
        "%.1f" % (tmem[label] / 1024) if label in tmem else "-"))
print("\nmedian s: wall clock, to the ms (the full steps, one sample each: to 10 ms, /usr/bin/time's);\n"
      "x full: the median's share of the full step's time. RSS: the largest single process in any\n"
      "round (/usr/bin/time); tree: the summed memory (Pss) of xch and the gpg it starts, or of the\n"
      "pipeline (bench/rss-tree: the full steps as timed, the incremental ones in round 0).")

def target(name, ok, detail):
    print("%-4s %s: %s" % ("PASS" if ok else "MISS", name, detail))

print()
change = statistics.median((r["changed"] + r["added"] + r["deleted"]) / n for r in timed)
target("incremental bundle < 3% of the full one", statistics.median(sizes) < 0.03,
       "%s for %s of the records changed, added or deleted" % (pct(statistics.median(sizes)), pct(change)))
# "Proportional to the change, not to the store": read, as for the size,
# as under 3x the share of the records that changed.
for step in ("seal", "import"):
    i, f = "inc/" + step, "full/" + step
    if i in med and f in med:
        r = med[i] / med[f]
        rr = [x / med[f] for _, x, _, _ in runs[i]]
        target("incremental %s proportional to the change (< 3x its share: %s)" % (step, pct(3 * change)),
               r < 3 * change, "%s of the full %s's time (round by round %s-%s), %.1fx the share changed"
               % (pct(r), step, pct(min(rr)), pct(max(rr)), r / change))
for label, name in LABELS:
    if label in runs and name.startswith("xch") and label.split("/")[1] in ("seal", "import"):
        rss = max(m for _, _, m, _ in runs[label]) / 1024
        ok, detail = rss < 64, "largest process %.1f MiB" % rss
        if label in tmem:
            ok = ok and tmem[label] / 1024 < 64
            detail += ", process tree %.1f MiB" % (tmem[label] / 1024)
        target("%s peak memory < 64 MiB" % name, ok, detail)
for r in rounds:
    want = r["changed"] + r["added"]
    if r["seal"][0] != "True" or int(r["seal"][1]) != want or int(r["seal"][2]) != r["deleted"]:
        print("ODD  round %d: sealed %s, expected an incremental bundle of %d records and %d deletions"
              % (r["k"], "/".join(r["seal"]), want, r["deleted"]))
    a, c, d, u, x = r["import"]
    if (a, c, d, x) != (r["added"], r["changed"], r["deleted"], 0):
        print("ODD  round %d: the import added %d, changed %d, deleted %d with %d conflicts; expected %d, %d, %d, 0"
              % (r["k"], a, c, d, x, r["added"], r["changed"], r["deleted"]))
EOF
	if [ "$ta" = "$tc" ]; then
		echo "both stores hold the same records at the end (records tree $ta)"
	else
		echo "ODD  the stores differ at the end: records tree $ta (agency), $tc (company)"
	fi
	echo "partner company at the agency: $status"
	[ "$(json "$RUN/partner.json" 'j["status"]["pending"] == 0 and j["status"]["acknowledged"] == j["status"]["sent"]')" = True ] ||
		echo "ODD  the company has not acknowledged everything at the end"
} | tee "$out"
cp "$RESULTS" "$out.raw"
say "report: $out (raw timings: $out.raw)"

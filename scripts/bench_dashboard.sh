#!/usr/bin/env bash
# The dashboard on years of ratings: generates an export of N rated
# experiments (default 100,000) with `examples/gen_history`, imports it into
# a fresh database through `latina import`, then times whole processes of
# `status`, `status --json`, `history --json | head`, `history`,
# `history --unrated` and `report`, printing the median of RUNS (default 7)
# wall times each, with the load average before and after.
#
#   scripts/bench_dashboard.sh [N] [RUNS]
#
# On PostgreSQL: DB names an empty database the login may write (its
# password from PGPASSWORD or ~/.pgpass, as latina reads it); the import
# goes there, in pieces (below), instead of a temp SQLite file.
# SKIP_IMPORT=1 times a database that already holds the same history (the
# import of 100,000 takes minutes on a server).
#
#   DB=postgres://latina@127.0.0.1:5432/bench scripts/bench_dashboard.sh
#
# LATINA names the binary to time (then nothing is built).
set -euo pipefail
N=${1:-100000}
RUNS=${2:-7}
DB=${DB:-}
cd "$(dirname "$0")/.."
[[ -n ${LATINA:-} ]] || cargo build --release --locked --quiet --bin latina --example gen_history
TARGET=${CARGO_TARGET_DIR:-target}
LATINA=${LATINA:-$TARGET/release/latina}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

L="$LATINA --data-dir $WORK/data"
[[ -n $DB ]] && L="$L --db $DB"
echo "database: ${DB:-SQLite in a temp dir}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ ${SKIP_IMPORT:-0} != 1 ]]; then
    "$TARGET/release/examples/gen_history" --experiments "$N" --out "$WORK/h.jsonl" --seed 7 >/dev/null
    start=$(date +%s%N)
    if [[ -z $DB ]]; then
        $L --quiet import "$WORK/h.jsonl" >/dev/null
        echo "import: $(( ($(date +%s%N) - start) / 1000000 )) ms, database $(du -m "$WORK/data/latina.db" | cut -f1) MB"
    else
        # One transaction of 100,000 ratings took over an hour on
        # PostgreSQL before the import deferred its tallies (server schema
        # 2): every rating updated the same few tally rows, and each update
        # walked the versions the transaction left before it. The file still
        # goes in as pieces of at most 1,500 records of a kind, each a
        # complete export of its own, so figures stay comparable with those
        # in README; one `latina import` of the whole file works too now.
        python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
lines = open(f"{work}/h.jsonl").read().splitlines()
plural = {"image": "images", "prompt_version": "prompt_versions", "batch": "batches",
          "experiment": "experiments", "rating": "ratings", "preference": "preferences",
          "embedding": "embeddings", "evolution": "evolutions",
          "prompt_decision": "prompt_decisions"}
pieces, kind = [], None
for line in lines[1:-1]:
    k = json.loads(line)["type"]
    if k != kind or len(pieces[-1]) >= 1500:
        pieces.append([])
        kind = k
    pieces[-1].append(line)
for i, piece in enumerate(pieces):
    counts = dict.fromkeys(plural.values(), 0)
    for line in piece:
        counts[plural[json.loads(line)["type"]]] += 1
    end = json.dumps({"type": "end", "counts": counts}, separators=(",", ":"))
    with open(f"{work}/piece{i:04d}.jsonl", "w") as f:
        f.write("\n".join([lines[0], *piece, end]) + "\n")
PY
        for piece in "$WORK"/piece*.jsonl; do
            $L --quiet import "$piece" >/dev/null
        done
        echo "import: $(( ($(date +%s%N) - start) / 1000000 )) ms in $(ls "$WORK"/piece*.jsonl | wc -l) pieces"
    fi
fi

median_ms() {
    local times=()
    for _ in $(seq "$RUNS"); do
        local t0 t1
        t0=$(date +%s%N)
        bash -c "$1" >/dev/null 2>&1
        t1=$(date +%s%N)
        times+=($(( (t1 - t0) / 1000000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%s ms (min %s, max %s)", m, a[1], a[NR]}'
}

# `status` opens the database read-only and cannot cache the model's
# hyperparameters; `suggest` fits and saves them, so the figures are warm.
$L suggest --count 1 >/dev/null 2>&1 || true
for cmd in "status" "--json status" "--json history | head" "history" "history --unrated" "report --out $WORK/r.html"; do
    printf '%-28s %s\n' "latina $cmd" "$(median_ms "$L $cmd")"
done
echo "report size: $(du -k "$WORK/r.html" | cut -f1) KB; load average $(cut -d' ' -f1-3 /proc/loadavg)"

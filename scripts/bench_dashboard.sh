#!/usr/bin/env bash
# The dashboard on years of ratings: generates an export of N rated
# experiments (default 100,000) with `examples/gen_history`, imports it into
# a fresh database through `latina import`, then times whole processes of
# `status`, `status --json`, `history --json | head`, `history` and
# `report`, printing the median of RUNS (default 7) wall times each.
#
#   scripts/bench_dashboard.sh [N] [RUNS]
set -euo pipefail
N=${1:-100000}
RUNS=${2:-7}
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin latina --example gen_history
TARGET=${CARGO_TARGET_DIR:-target}
LATINA=${LATINA:-$TARGET/release/latina}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$TARGET/release/examples/gen_history" --experiments "$N" --out "$WORK/h.jsonl" --seed 7 >/dev/null
start=$(date +%s%N)
"$LATINA" --data-dir "$WORK/data" --quiet import "$WORK/h.jsonl"
echo "import: $(( ($(date +%s%N) - start) / 1000000 )) ms, database $(du -m "$WORK/data/latina.db" | cut -f1) MB"

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

L="$LATINA --data-dir $WORK/data"
# The first status after the import fits and caches the model's hyperparameters.
$L status >/dev/null
for cmd in "status" "--json status" "--json history | head" "history" "history --unrated" "report --out $WORK/r.html"; do
    printf '%-28s %s\n' "latina $cmd" "$(median_ms "$L $cmd")"
done
echo "report size: $(du -k "$WORK/r.html" | cut -f1) KB"

#!/usr/bin/env bash
# Ingest throughput (issue: the register store): generates the input files of a scale twice, with
# the registers as CSV and as Parquet, and times `attendance ingest` of each into a fresh store,
# printing marks per second and peak memory.
#
#   benches/ingest.sh [PUPILS]          # default 10000 (scale S); 100000 is scale M
#
# Uses target/release/attendance (cargo build --release), or $ATTENDANCE.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${ATTENDANCE:-${CARGO_TARGET_DIR:-target}/release/attendance}
pupils=${1:-10000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" generate --pupils "$pupils" --seed 1 --csv "$work/csv"
"$bin" generate --pupils "$pupils" --seed 1 --csv "$work/parquet" --parquet
for format in csv parquet; do
    dir="$work/$format"
    /usr/bin/time -f "%e s, peak RSS %M KB" -o "$work/time" \
        "$bin" ingest --data "$work/store-$format" --no-summarise --json \
        --schools "$dir/schools.csv" --pupils "$dir/pupils.csv" --registers "$dir/registers" \
        > "$work/summary.json"
    marks=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['registers']['rows_read'])" "$work/summary.json")
    seconds=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['seconds'])" "$work/summary.json")
    python3 -c "import sys; m,s=int(sys.argv[1]),float(sys.argv[2]); print(f'{sys.argv[3]:8} {m} marks in {s:.2f} s: {m/s/1e6:.2f} M marks/s')" "$marks" "$seconds" "$format"
    echo "         $(cat "$work/time")"
done

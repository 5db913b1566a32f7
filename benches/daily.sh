#!/usr/bin/env bash
# The daily feed (issue #12): generates a year's day files for PUPILS pupils (scale M is
# 100000), loads the days up to THROUGH one by one as the daily job does (`attendance ingest
# --registers DAY.csv`, the enrolment summary updated after each), then a correction of marks
# across every LA (`--update`), and prints for each the seconds and the peak memory, beside a
# full rebuild of the summary (`summarise --force`). At the end the replayed store's summary is
# compared with the one of a single load of the same files.
#
#   benches/daily.sh [PUPILS] [THROUGH]     # defaults: 10000, 2024-10-18
#
# Uses target/release/attendance (cargo build --release), or $ATTENDANCE.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${ATTENDANCE:-${CARGO_TARGET_DIR:-target}/release/attendance}
pupils=${1:-10000}
through=${2:-2024-10-18}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
timed() { /usr/bin/time -f "%e %M" -o "$work/time" "$@" 2>"$work/err" >/dev/null || { cat "$work/err"; exit 1; }; }

"$bin" generate --data "$work/gen" --pupils "$pupils" --seed 1 --through "$through" \
    --daily-csv "$work/feed" >/dev/null 2>&1
days=("$work"/feed/registers-*.csv)
echo "${#days[@]} day files through $through, $pupils pupils"

timed "$bin" ingest --data "$work/store" --schools "$work/feed/schools.csv" \
    --pupils "$work/feed/pupils.csv" --registers "${days[0]}"
echo "day 1 (schools, pupils, full summary build): $(awk '{printf "%s s, %.0f MB", $1, $2/1024}' "$work/time")"
worst=0
for ((k = 1; k < ${#days[@]}; k++)); do
    timed "$bin" ingest --data "$work/store" --registers "${days[$k]}"
    read -r seconds rss < "$work/time"
    grep -q "updated from" "$work/err" || { echo "day $((k + 1)): the summary was not updated incrementally"; cat "$work/err"; exit 1; }
    printf '%s %s %s\n' "$k" "$seconds" "$rss" >> "$work/days"
done
sort -k2 -n "$work/days" | awk -v n="${#days[@]}" '
    { s[NR] = $2; m = ($3 > m ? $3 : m) }
    END { printf "days 2-%d: median %.2f s, slowest %.2f s, peak RSS %.0f MB\n", n, s[int((NR + 1) / 2)], s[NR], m / 1024 }'

# A correction: every 400th mark of the last five days, its code changed.
python3 - "$work/fix.csv" "${days[@]: -5}" <<'EOF'
import csv, sys
out = open(sys.argv[1], "w", newline="")
w = csv.writer(out)
w.writerow(["pupil_id", "urn", "date", "session", "code"])
n = 0
for day in sys.argv[2:]:
    for i, row in enumerate(csv.DictReader(open(day))):
        if i % 400 == 0:
            code = "I" if row["code"] in ("/", "\\") else ("/" if row["session"] == "AM" else "\\")
            w.writerow([row["pupil_id"], row["urn"], row["date"], row["session"], code])
            n += 1
print(f"correction: {n} marks", file=sys.stderr)
EOF
timed "$bin" ingest --data "$work/store" --update --registers "$work/fix.csv"
grep -q "updated from" "$work/err" || { echo "the correction was not applied incrementally"; cat "$work/err"; exit 1; }
echo "correction (--update, summary updated): $(awk '{printf "%s s, %.0f MB", $1, $2/1024}' "$work/time")"
timed "$bin" summarise --data "$work/store" --force
echo "for comparison, summarise --force: $(awk '{printf "%s s, %.0f MB", $1, $2/1024}' "$work/time")"

# The replayed store against one load of the same files.
all=()
for day in "${days[@]}"; do all+=(--registers "$day"); done
timed "$bin" ingest --data "$work/single" --schools "$work/feed/schools.csv" \
    --pupils "$work/feed/pupils.csv" "${all[@]}"
timed "$bin" ingest --data "$work/single" --update --registers "$work/fix.csv"
digest='SELECT count(*) AS n, sum(possible) AS possible, sum(overall) AS overall, sum(sess_auth_illness) AS illness, sha256(string_agg(concat_ws(chr(124), term, CAST(urn AS VARCHAR), pupil_id, CAST(possible AS VARCHAR), CAST(overall AS VARCHAR), CAST(unauthorised AS VARCHAR)), chr(44) ORDER BY urn, pupil_id, term)) AS digest FROM enrolment_summary'
a=$("$bin" sql --data "$work/store" "$digest" 2>/dev/null)
b=$("$bin" sql --data "$work/single" "$digest" 2>/dev/null)
if [ "$a" = "$b" ]; then echo "replayed summary equals one load's:"; echo "$a"; else echo "DIFFERENT:"; echo "$a"; echo "$b"; exit 1; fi

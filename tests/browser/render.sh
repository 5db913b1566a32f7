#!/usr/bin/env bash
# The browser check of `attendance monitor`'s report.html (issue #15): renders the report in
# headless Chromium (Debian's `chromium` package) to a PNG, and fails when the page's script
# did not run to its end (a script error) or a chart has no marks (an empty chart).
#
# The page's inline script marks <body data-check="...">: `ok` when it ran to the end and every
# chart has marks, `empty-chart` or `script-error` otherwise (src/monitor/report.js).
#
# Usage: tests/browser/render.sh [--report FILE] [--png FILE] [--if-available]
#   --report FILE   the report to check (default: the report of the sample data's largest
#                   school, made with the `attendance` binary: $ATTENDANCE_BIN, else
#                   ${CARGO_TARGET_DIR:-target}/debug/attendance)
#   --png FILE      where to write the screenshot (default: a temporary file)
#   --if-available  exit 0 with a note when Chromium is not installed (for CI)
# Run from the repository's root.
set -euo pipefail

report=""
png=""
if_available=false
while [ $# -gt 0 ]; do
    case "$1" in
        --report) report="$2"; shift 2 ;;
        --png) png="$2"; shift 2 ;;
        --if-available) if_available=true; shift ;;
        *) echo "render.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

chromium=""
for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then chromium="$candidate"; break; fi
done
if [ -z "$chromium" ]; then
    if $if_available; then echo "render.sh: Chromium is not installed; browser check skipped"; exit 0; fi
    echo "render.sh: Chromium is not installed (apt-get install chromium)" >&2
    exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ -z "$report" ]; then
    bin="${ATTENDANCE_BIN:-${CARGO_TARGET_DIR:-target}/debug/attendance}"
    if [ ! -x "$bin" ]; then echo "render.sh: no attendance binary at $bin (cargo build)" >&2; exit 2; fi
    # The sample data's largest school: the most in-scope enrolments with a possible session.
    urn="$("$bin" sql --data sample-data/store --format csv \
        -c "SELECT urn FROM monitor_pupils GROUP BY urn ORDER BY count(*) DESC, urn LIMIT 1" | tail -n 1)"
    "$bin" monitor --data sample-data/store --school "$urn" --out "$work/monitor" \
        >"$work/monitor.log" 2>&1 || { cat "$work/monitor.log" >&2; exit 1; }
    report="$work/monitor/report.html"
fi
[ -n "$png" ] || png="$work/report.png"
url="file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=5000)

"$chromium" "${flags[@]}" --dump-dom "$url" >"$work/dom.html" 2>"$work/chromium.log" || {
    echo "render.sh: Chromium failed to load $report" >&2; cat "$work/chromium.log" >&2; exit 1; }
check="$(grep -o 'data-check="[a-z-]*"' "$work/dom.html" | head -n 1 || true)"
if [ "$check" != 'data-check="ok"' ]; then
    echo "render.sh: $report: the page reports ${check:-no check mark} (pending: the script did not run to its end; empty-chart; script-error)" >&2
    exit 1
fi
"$chromium" "${flags[@]}" --window-size=1280,2400 --screenshot="$png" "$url" \
    >>"$work/chromium.log" 2>&1 || {
    echo "render.sh: Chromium failed to take a screenshot" >&2; cat "$work/chromium.log" >&2; exit 1; }
size="$(stat -c %s "$png" 2>/dev/null || echo 0)"
# A blank 1280x2400 page compresses to a few kilobytes; charts, tables and text take far more.
if [ "$size" -lt 30000 ]; then
    echo "render.sh: $png is only $size bytes: the page looks blank" >&2
    exit 1
fi
echo "render.sh: $report renders ($check, $png $size bytes)"

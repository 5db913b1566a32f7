#!/usr/bin/env python3
"""Each LA's generated overall absence rate against its real 2024/25 figure.

    attendance generate --data DIR --pupils 1000000 --seed 1
    attendance indicators --data DIR --out OUT --period "Academic year" --no-suppress
    python3 benches/la_calibration.py OUT/absence_rates_by_geographic_level.csv \
        ../shared/reference/dfe_pupil_attendance_ytd_2024-25_la_phase.csv

Prints a Markdown table (LA, real %, generated %, difference) and the largest difference. LAs
whose real figure is suppressed in the reference are listed without one.
"""
import csv
import sys


def main(generated_path, reference_path):
    # The reference has no LA Total rows: an LA's rate is its phases' absence over their
    # possible sessions (phases with suppressed counts are left out).
    sums = {}
    for r in csv.DictReader(open(reference_path)):
        if r["geographic_level"] == "Local authority" and r["education_phase"] != "Total":
            try:
                absent, possible = float(r["overall_absence"]), float(r["possible_sessions"])
            except ValueError:
                continue
            a, p = sums.get(r["old_la_code"], (0.0, 0.0))
            sums[r["old_la_code"]] = (a + absent, p + possible)
    real = {code: 100.0 * a / p for code, (a, p) in sums.items() if p > 0}
    rows = []
    for r in csv.DictReader(open(generated_path)):
        if (r["geographic_level"] == "Local authority" and r["education_phase"] == "Total"
                and r["time_identifier"] == "Academic year"):
            rows.append((r["old_la_code"], r["la_name"], float(r["sess_overall_percent"])))
    print("| LA | name | real % | generated % | difference |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for code, name, generated in sorted(rows):
        if code in real:
            diff = generated - real[code]
            worst = max(worst, abs(diff))
            print(f"| {code} | {name} | {real[code]:.2f} | {generated:.2f} | {diff:+.2f} |")
        else:
            print(f"| {code} | {name} | (suppressed) | {generated:.2f} | |")
    print(f"\n{len(rows)} LAs; largest difference {worst:.2f} percentage points")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

#!/usr/bin/env python3
"""The real-time year-to-date file of generated data against the DfE's (issue #12): LA by LA
and phase by phase, overall absence and persistent absence, with the goals of 0.5 and 1.5
points.

    attendance generate --data DIR --pupils 1000000 --seed 1
    attendance realtime --data DIR --out OUT --no-suppress
    python3 benches/realtime_calibration.py OUT/attendance_ytd.csv \
        ../shared/reference/dfe_pupil_attendance_ytd_2024-25_la_phase.csv

Prints how many LA x phase rows are within each goal, and the rows furthest from the reference
for each measure (as a Markdown table). Rows whose reference value is suppressed or missing
are left out, as are phases the generated file lacks.
"""
import csv
import sys

MEASURES = (("overall_absence_perc", 0.5), ("pa_perc", 1.5))


def rows(path, year_to_date_only):
    out = {}
    for r in csv.DictReader(open(path, newline="")):
        if r["geographic_level"] != "Local authority":
            continue
        if r["education_phase"] not in ("Primary", "Secondary", "Special"):
            continue
        if year_to_date_only and r.get("time_identifier", "Academic year") != "Academic year":
            continue
        out[(r["old_la_code"], r["education_phase"])] = r
    return out


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def main(generated_path, reference_path):
    generated = rows(generated_path, False)
    reference = rows(reference_path, True)
    for measure, goal in MEASURES:
        diffs = []
        for key, ref in reference.items():
            gen = generated.get(key)
            real, ours = number(ref.get(measure)), number(gen.get(measure)) if gen else None
            if real is None or ours is None:
                continue
            diffs.append((abs(ours - real), key, ref["la_name"], real, ours))
        diffs.sort(reverse=True)
        within = sum(1 for d in diffs if d[0] <= goal)
        print(f"\n{measure}: {within} of {len(diffs)} LA x phase rows within {goal} points; "
              f"largest difference {diffs[0][0]:.2f}" if diffs else f"\n{measure}: no rows")
        for phase in ("Primary", "Secondary", "Special"):
            mine = [d for d in diffs if d[1][1] == phase]
            if mine:
                print(f"  {phase}: {sum(1 for d in mine if d[0] <= goal)} of {len(mine)} within "
                      f"{goal}, largest {max(d[0] for d in mine):.2f}")
        print("\n| LA | name | phase | real | generated | difference |")
        print("|---|---|---|---|---|---|")
        for d, (la, phase), name, real, ours in diffs[:10]:
            print(f"| {la} | {name} | {phase} | {real:.2f} | {ours:.2f} | {ours - real:+.2f} |")


if __name__ == "__main__":
    main(*sys.argv[1:3])

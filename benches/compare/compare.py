#!/usr/bin/env python3
"""Side-by-side workload: this engine (`attendance bench`), DuckDB and Polars on the same store
files, interleaved query by query in one run so that ratios hold on a noisy machine.

    pip install -r benches/compare/requirements.txt
    python3 benches/compare/compare.py --data DIR [--bin target/release/attendance] [--runs 3]

DuckDB and Polars read the Parquet files of a freshly generated store directly (hive partitions);
a store that has had corrections also holds files Delta has removed, so use `attendance generate`.
Each engine runs its own best form of the query: code lists for the others, the attendance
functions for this engine. Prints median seconds per query and the ratios attendance / DuckDB and
attendance / Polars (below 1: this engine is faster).
"""
import argparse
import json
import statistics
import subprocess
import tempfile
import time

import duckdb
import polars as pl

POSSIBLE = "('/', '\\', 'L', 'B', 'K', 'P', 'V', 'W', 'J', 'C', 'C1', 'C2', 'E', 'I', 'J1', 'M', 'R', 'S', 'T', 'H', 'F', 'G', 'N', 'O', 'U')"
AUTH = "('C', 'C1', 'C2', 'E', 'I', 'J1', 'M', 'R', 'S', 'T', 'H', 'F')"
UNAUTH = "('G', 'N', 'O', 'U')"
ATTEND = "('/', '\\', 'L', 'B', 'K', 'P', 'V', 'W', 'J')"

PER_ENROLMENT = f"""
    sum(CASE WHEN code IN {POSSIBLE} THEN 1 ELSE 0 END) AS possible,
    sum(CASE WHEN code IN {AUTH} THEN 1 ELSE 0 END) AS auth,
    sum(CASE WHEN code IN {UNAUTH} THEN 1 ELSE 0 END) AS unauth"""
HEADLINE = """
    sum(possible), 100.0 * sum(auth + unauth) / sum(possible), 100.0 * sum(auth) / sum(possible),
    100.0 * sum(unauth) / sum(possible),
    100.0 * count(*) FILTER (WHERE (auth + unauth) * 10 >= possible) / count(*),
    100.0 * count(*) FILTER (WHERE (auth + unauth) * 2 >= possible) / count(*)"""


def duckdb_queries(urn, pupil):
    return {
        "W1": f"WITH e AS (SELECT urn, pupil_id, {PER_ENROLMENT} FROM registers GROUP BY ALL) "
              f"SELECT {HEADLINE} FROM e WHERE possible > 0",
        "W2": f"WITH e AS (SELECT region_code, urn, pupil_id, {PER_ENROLMENT} FROM registers GROUP BY ALL) "
              f"SELECT e.region_code, s.phase, {HEADLINE} FROM e JOIN schools s USING (urn) "
              f"WHERE possible > 0 GROUP BY ALL",
        "W3": f"WITH e AS (SELECT la_code, urn, pupil_id, {PER_ENROLMENT} FROM registers GROUP BY ALL) "
              f"SELECT e.la_code, s.phase, {HEADLINE} FROM e JOIN schools s USING (urn) "
              f"WHERE possible > 0 GROUP BY ALL",
        "W6": f"SELECT date_trunc('week', date) AS w, 100.0 * count(*) FILTER (WHERE code IN {ATTEND}) "
              f"/ count(*) FILTER (WHERE code IN {POSSIBLE}) FROM registers "
              f"WHERE region_code = 'E12000003' GROUP BY ALL ORDER BY 1",
        "W7": f"SELECT date, 100.0 * count(*) FILTER (WHERE code IN {ATTEND}) "
              f"/ count(*) FILTER (WHERE code IN {POSSIBLE}) FROM registers WHERE urn = {urn} "
              f"AND date BETWEEN DATE '2024-09-01' AND DATE '2024-10-25' GROUP BY ALL ORDER BY 1",
        "W8": f"SELECT date, session, code FROM registers WHERE urn = {urn} AND pupil_id = '{pupil}' "
              f"AND date BETWEEN DATE '2024-09-01' AND DATE '2024-12-31' ORDER BY date, session",
    }


def polars_queries(data, urn, pupil):
    regs = lambda: pl.scan_parquet(f"{data}/registers/**/*.parquet", hive_partitioning=True)
    possible = ["/", "\\", "L", "B", "K", "P", "V", "W", "J", "C", "C1", "C2", "E", "I", "J1", "M",
                "R", "S", "T", "H", "F", "G", "N", "O", "U"]
    auth = ["C", "C1", "C2", "E", "I", "J1", "M", "R", "S", "T", "H", "F"]
    unauth = ["G", "N", "O", "U"]

    def w1():
        e = (regs().group_by("urn", "pupil_id").agg(
            pl.col("code").is_in(possible).sum().alias("possible"),
            pl.col("code").is_in(auth).sum().alias("auth"),
            pl.col("code").is_in(unauth).sum().alias("unauth")).filter(pl.col("possible") > 0))
        overall = pl.col("auth") + pl.col("unauth")
        return e.select(pl.col("possible").sum().alias("possible_sessions"),
                        (overall.sum() * 100.0 / pl.col("possible").sum()).alias("overall_pct"),
                        ((overall * 10 >= pl.col("possible")).mean() * 100).alias("pa_pct")).collect()

    def w8():
        return (regs().filter((pl.col("urn") == urn) & (pl.col("pupil_id") == pupil))
                .sort("date", "session").collect())

    return {"W1": w1, "W8": w8}


def timed(f, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--bin", default="target/release/attendance")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    con = duckdb.connect()
    con.execute(f"CREATE VIEW registers AS SELECT * FROM read_parquet('{args.data}/registers/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)")
    con.execute(f"CREATE VIEW schools AS SELECT * FROM read_parquet('{args.data}/schools/*.parquet')")
    urn, pupil = con.execute(f"SELECT urn, pupil_id FROM read_parquet('{args.data}/pupils/**/*.parquet') ORDER BY urn, pupil_id LIMIT 1").fetchone()
    dq = duckdb_queries(urn, pupil)
    pq = polars_queries(args.data, urn, pupil)
    rows = []
    for qid in ["W1", "W2", "W3", "W6", "W7", "W8"]:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            subprocess.run([args.bin, "bench", "--data", args.data, "--runs", str(args.runs),
                            "--query", qid, "--json", out.name], check=True, capture_output=True)
            ours = json.load(open(out.name))["queries"][0]["median_s"]
        duck = timed(lambda: con.execute(dq[qid]).fetchall(), args.runs + 1)
        polars = timed(pq[qid], args.runs + 1) if qid in pq else None
        rows.append((qid, ours, duck, polars))
    print(f"{'query':6} {'attendance s':>13} {'DuckDB s':>9} {'Polars s':>9} {'vs DuckDB':>10} {'vs Polars':>10}")
    for qid, ours, duck, polars in rows:
        p = f"{polars:9.3f}" if polars else f"{'-':>9}"
        rp = f"{ours / polars:10.2f}" if polars else f"{'-':>10}"
        print(f"{qid:6} {ours:13.3f} {duck:9.3f} {p} {ours / duck:10.2f} {rp}")


if __name__ == "__main__":
    main()

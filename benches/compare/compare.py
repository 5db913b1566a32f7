#!/usr/bin/env python3
"""Side-by-side workload: this engine (`attendance bench`), DuckDB and Polars on the same store
files, interleaved query by query in one run so that ratios hold on a noisy machine.

    pip install -r benches/compare/requirements.txt
    python3 benches/compare/compare.py --data DIR [--bin target/release/attendance] [--runs 3]

DuckDB and Polars read the Parquet files of a freshly generated store directly (hive partitions,
academic year 2024-25); a store that has had corrections also holds files Delta has removed, which
they would count, so use a store made by `attendance generate` into an empty directory.
Polars runs on its streaming engine (the in-memory one runs out of this machine's 24 GB at
scale L). Each engine runs its own best form of the query: code lists for the others, the attendance
functions for this engine. Prints median seconds per query and the ratios attendance / DuckDB and
attendance / Polars (below 1: this engine is faster).
"""
import argparse
import datetime as dt
import json
import statistics
import subprocess
import tempfile
import time

import duckdb
import polars as pl

YEAR = "2024-25"
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
KEY_STAGE = """CASE WHEN nc_year IN ('N1', 'N2', 'R') THEN 'EYFS' WHEN nc_year IN ('1', '2') THEN 'KS1'
    WHEN nc_year IN ('3', '4', '5', '6') THEN 'KS2' WHEN nc_year IN ('7', '8', '9') THEN 'KS3'
    WHEN nc_year IN ('10', '11') THEN 'KS4' WHEN nc_year IN ('12', '13', '14') THEN 'KS5' END"""
BAND = """CASE WHEN (auth + unauth) * 10 < possible THEN 'not persistently absent'
    WHEN (auth + unauth) * 5 <= possible THEN '80% to 90% attendance'
    WHEN (auth + unauth) * 10 <= 3 * possible THEN '70% to 80% attendance'
    WHEN (auth + unauth) * 10 <= 4 * possible THEN '60% to 70% attendance'
    WHEN (auth + unauth) * 2 < possible THEN '50% to 60% attendance'
    ELSE 'severe: 50% or less attendance' END"""


def duckdb_queries(urn, pupil):
    return {
        "W1": f"WITH e AS (SELECT urn, pupil_id, {PER_ENROLMENT} FROM registers GROUP BY ALL) "
              f"SELECT {HEADLINE} FROM e WHERE possible > 0",
        "W2": f"WITH e AS (SELECT urn, pupil_id, {PER_ENROLMENT} FROM registers GROUP BY ALL) "
              f"SELECT s.region_code, s.phase, {HEADLINE} FROM e JOIN schools s USING (urn) "
              f"WHERE possible > 0 GROUP BY ALL",
        "W3": f"WITH e AS (SELECT urn, pupil_id, {PER_ENROLMENT} FROM registers GROUP BY ALL) "
              f"SELECT s.old_la_code, s.phase, {HEADLINE} FROM e JOIN schools s USING (urn) "
              f"WHERE possible > 0 GROUP BY ALL",
        "W4": f"WITH e AS (SELECT urn, pupil_id, {PER_ENROLMENT} FROM registers GROUP BY ALL), "
              f"y AS (SELECT p.nc_year, sum(possible) AS possible, sum(auth) AS auth, sum(unauth) AS unauth, "
              f"count(*) FILTER (WHERE (auth + unauth) * 10 >= possible) AS pa, "
              f"count(*) FILTER (WHERE (auth + unauth) * 2 >= possible) AS sa, count(*) AS n "
              f"FROM e JOIN pupils p USING (urn, pupil_id) WHERE possible > 0 GROUP BY ALL), "
              f"c AS (SELECT b.breakdown, CASE WHEN b.breakdown = 'Key stage' THEN {KEY_STAGE} ELSE nc_year END AS cohort, y.* "
              f"FROM y CROSS JOIN (VALUES ('Key stage'), ('NC year')) AS b(breakdown)) "
              f"SELECT breakdown, cohort, sum(possible), 100.0 * sum(auth + unauth) / sum(possible), "
              f"100.0 * sum(auth) / sum(possible), 100.0 * sum(unauth) / sum(possible), "
              f"100.0 * sum(pa) / sum(n), 100.0 * sum(sa) / sum(n) FROM c GROUP BY ALL ORDER BY ALL",
        "W5": f"WITH e AS (SELECT urn, pupil_id, {PER_ENROLMENT} FROM registers GROUP BY ALL), "
              f"b AS (SELECT {BAND} AS band, count(*) AS all_pupils, count(*) FILTER (WHERE sen = 'E') AS ehc, "
              f"count(*) FILTER (WHERE sen = 'K') AS sen_k, count(*) FILTER (WHERE cla) AS cla, "
              f"count(*) FILTER (WHERE cin OR cpp) AS cin_cpp, count(*) FILTER (WHERE fsm) AS fsm, "
              f"count(*) FILTER (WHERE sex = 'M') AS boys, count(*) FILTER (WHERE sex = 'F') AS girls "
              f"FROM e JOIN schools sc USING (urn) JOIN pupils p USING (urn, pupil_id) "
              f"WHERE sc.phase = 'secondary' AND possible > 0 GROUP BY ALL), "
              f"c AS (SELECT c.cohort, b.band, CASE c.cohort WHEN 'All pupils' THEN all_pupils "
              f"WHEN 'EHC plan' THEN ehc WHEN 'SEN support' THEN sen_k WHEN 'Children in care' THEN cla "
              f"WHEN 'CIN or CPP' THEN cin_cpp WHEN 'FSM' THEN fsm WHEN 'Boys' THEN boys ELSE girls END AS n "
              f"FROM b CROSS JOIN (VALUES ('All pupils'), ('EHC plan'), ('SEN support'), ('Children in care'), "
              f"('CIN or CPP'), ('FSM'), ('Boys'), ('Girls')) AS c(cohort)) "
              f"SELECT cohort, band, n, 100.0 * n / sum(n) OVER (PARTITION BY cohort) FROM c WHERE n > 0 ORDER BY ALL",
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
    regs = lambda: pl.scan_parquet(f"{data}/registers/**/*.parquet", hive_partitioning=True).filter(
        pl.col("academic_year") == YEAR)
    schools = lambda: pl.scan_parquet(f"{data}/schools/*.parquet")
    pupils = lambda: pl.scan_parquet(f"{data}/pupils/**/*.parquet", hive_partitioning=True).filter(
        pl.col("academic_year") == YEAR)
    possible = ["/", "\\", "L", "B", "K", "P", "V", "W", "J", "C", "C1", "C2", "E", "I", "J1", "M",
                "R", "S", "T", "H", "F", "G", "N", "O", "U"]
    attend = ["/", "\\", "L", "B", "K", "P", "V", "W", "J"]
    auth = ["C", "C1", "C2", "E", "I", "J1", "M", "R", "S", "T", "H", "F"]
    unauth = ["G", "N", "O", "U"]
    code = pl.col("code")
    overall = pl.col("auth") + pl.col("unauth")

    def enrolments():
        return (regs().group_by("urn", "pupil_id").agg(
            code.is_in(possible).cast(pl.Int64).sum().alias("possible"),
            code.is_in(auth).cast(pl.Int64).sum().alias("auth"),
            code.is_in(unauth).cast(pl.Int64).sum().alias("unauth")).filter(pl.col("possible") > 0))

    headline = [
        pl.col("possible").sum().alias("possible_sessions"),
        (overall.sum() * 100.0 / pl.col("possible").sum()).alias("overall_pct"),
        (pl.col("auth").sum() * 100.0 / pl.col("possible").sum()).alias("authorised_pct"),
        (pl.col("unauth").sum() * 100.0 / pl.col("possible").sum()).alias("unauthorised_pct"),
        ((overall * 10 >= pl.col("possible")).mean() * 100).alias("pa_pct"),
        ((overall * 2 >= pl.col("possible")).mean() * 100).alias("sa_pct"),
    ]

    def by_school(*keys):
        return (enrolments().join(schools(), on="urn").group_by(*keys).agg(headline)
                .sort(*keys).collect(engine="streaming"))

    def w4():
        y = enrolments().join(pupils().select("urn", "pupil_id", "nc_year"), on=["urn", "pupil_id"])
        ks = (pl.when(pl.col("nc_year").is_in(["N1", "N2", "R"])).then(pl.lit("EYFS"))
              .when(pl.col("nc_year").is_in(["1", "2"])).then(pl.lit("KS1"))
              .when(pl.col("nc_year").is_in(["3", "4", "5", "6"])).then(pl.lit("KS2"))
              .when(pl.col("nc_year").is_in(["7", "8", "9"])).then(pl.lit("KS3"))
              .when(pl.col("nc_year").is_in(["10", "11"])).then(pl.lit("KS4"))
              .when(pl.col("nc_year").is_in(["12", "13", "14"])).then(pl.lit("KS5")))
        stages = y.with_columns(ks.alias("cohort")).group_by("cohort").agg(headline)
        years = y.group_by(pl.col("nc_year").alias("cohort")).agg(headline)
        return pl.concat([stages.with_columns(pl.lit("Key stage").alias("breakdown")),
                          years.with_columns(pl.lit("NC year").alias("breakdown"))]).collect(engine="streaming")

    def w5():
        a, p = overall, pl.col("possible")
        band = (pl.when(a * 10 < p).then(pl.lit("not persistently absent"))
                .when(a * 5 <= p).then(pl.lit("80% to 90% attendance"))
                .when(a * 10 <= 3 * p).then(pl.lit("70% to 80% attendance"))
                .when(a * 10 <= 4 * p).then(pl.lit("60% to 70% attendance"))
                .when(a * 2 < p).then(pl.lit("50% to 60% attendance"))
                .otherwise(pl.lit("severe: 50% or less attendance")))
        s = (enrolments().join(schools().filter(pl.col("phase") == "secondary").select("urn"), on="urn")
             .join(pupils(), on=["urn", "pupil_id"]).with_columns(band.alias("band")))
        cohorts = {"EHC plan": pl.col("sen") == "E",
                   "SEN support": pl.col("sen") == "K", "Children in care": pl.col("cla"),
                   "CIN or CPP": pl.col("cin") | pl.col("cpp"), "FSM": pl.col("fsm"),
                   "Boys": pl.col("sex") == "M", "Girls": pl.col("sex") == "F"}
        counts = s.group_by("band").agg(
            [pl.len().cast(pl.Int64).alias("All pupils")]
            + [keep.cast(pl.Int64).sum().alias(name) for name, keep in cohorts.items()])
        return (counts.unpivot(index="band", variable_name="cohort", value_name="enrolments")
                .filter(pl.col("enrolments") > 0)
                .with_columns((pl.col("enrolments") * 100.0
                               / pl.col("enrolments").sum().over("cohort")).alias("pct"))
                .sort("cohort", "band").collect(engine="streaming"))

    def daily_attendance(frame, key):
        return (frame.group_by(key).agg(
            (code.is_in(attend).cast(pl.Int64).sum() * 100.0
             / code.is_in(possible).cast(pl.Int64).sum()).alias("attendance_pct"))
            .sort(key).collect(engine="streaming"))

    def w6():
        frame = (regs().filter(pl.col("region_code") == "E12000003")
                 .with_columns(pl.col("date").dt.truncate("1w").alias("week")))
        return daily_attendance(frame, "week")

    def w7():
        frame = regs().filter((pl.col("urn") == urn)
                              & pl.col("date").is_between(dt.date(2024, 9, 1), dt.date(2024, 10, 25)))
        return daily_attendance(frame, "date")

    def w8():
        return (regs().filter((pl.col("urn") == urn) & (pl.col("pupil_id") == pupil)
                              & pl.col("date").is_between(dt.date(2024, 9, 1), dt.date(2024, 12, 31)))
                .sort("date", "session").collect(engine="streaming"))

    return {"W1": lambda: enrolments().select(headline).collect(engine="streaming"),
            "W2": lambda: by_school("region_code", "phase"),
            "W3": lambda: by_school("old_la_code", "phase"),
            "W4": w4, "W5": w5, "W6": w6, "W7": w7, "W8": w8}


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
    ap.add_argument("--no-polars", action="store_true", help="DuckDB only")
    ap.add_argument("--queries", default="W1,W2,W3,W4,W5,W6,W7,W8",
                    help="comma-separated workload ids (W9, the indicators job, has no counterpart)")
    args = ap.parse_args()

    con = duckdb.connect()
    con.execute(f"CREATE VIEW registers AS SELECT * FROM read_parquet('{args.data}/registers/**/*.parquet', hive_partitioning = true, hive_types_autocast = false) WHERE academic_year = '{YEAR}'")
    con.execute(f"CREATE VIEW pupils AS SELECT * FROM read_parquet('{args.data}/pupils/**/*.parquet', hive_partitioning = true, hive_types_autocast = false) WHERE academic_year = '{YEAR}'")
    con.execute(f"CREATE VIEW schools AS SELECT * FROM read_parquet('{args.data}/schools/*.parquet')")
    urn, pupil = con.execute(f"SELECT urn, pupil_id FROM read_parquet('{args.data}/pupils/**/*.parquet') ORDER BY urn, pupil_id LIMIT 1").fetchone()
    dq = duckdb_queries(urn, pupil)
    pq = polars_queries(args.data, urn, pupil)
    rows = []
    for qid in args.queries.split(","):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            subprocess.run([args.bin, "bench", "--data", args.data, "--runs", str(args.runs),
                            "--query", qid, "--json", out.name], check=True, capture_output=True)
            ours = json.load(open(out.name))["queries"][0]["median_s"]
        duck = timed(lambda: con.execute(dq[qid]).fetchall(), args.runs + 1)
        polars = timed(pq[qid], args.runs + 1) if qid in pq and not args.no_polars else None
        rows.append((qid, ours, duck, polars))
    print(f"{'query':6} {'attendance s':>13} {'DuckDB s':>9} {'Polars s':>9} {'vs DuckDB':>10} {'vs Polars':>10}")
    for qid, ours, duck, polars in rows:
        p = f"{polars:9.3f}" if polars else f"{'-':>9}"
        rp = f"{ours / polars:10.2f}" if polars else f"{'-':>10}"
        print(f"{qid:6} {ours:13.3f} {duck:9.3f} {p} {ours / duck:10.2f} {rp}")


if __name__ == "__main__":
    main()

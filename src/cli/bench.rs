//! `attendance bench`: runs the workload of WORKLOAD.md against a store, with a warm-up run, and
//! reports per query the median, min and max wall time and marks per second: W1 ... W8 from
//! `registers` (`queries/workload/W1.sql` ...), W1s ... W5s from `enrolment_summary`, and W9, the
//! whole indicators job, from `registers` (W9) and from the materialised summary (W9s).

use super::DataArg;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{DataType, Int32Type, Int64Type};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::indicators::{IndicatorError, IndicatorOptions};
use crate::session::{SessionOptions, session};
use crate::store::Store;
use crate::summary::SummaryState;

/// The workload queries, by id: `W1` ... `W8` straight from `registers`, `W1s` ... `W5s` the same
/// questions from `enrolment_summary` (W6 to W8 need dates, which the summary does not keep).
pub const WORKLOAD: [(&str, &str); 13] = [
    ("W1", include_str!("../../queries/workload/W1.sql")),
    ("W2", include_str!("../../queries/workload/W2.sql")),
    ("W3", include_str!("../../queries/workload/W3.sql")),
    ("W4", include_str!("../../queries/workload/W4.sql")),
    ("W5", include_str!("../../queries/workload/W5.sql")),
    ("W6", include_str!("../../queries/workload/W6.sql")),
    ("W7", include_str!("../../queries/workload/W7.sql")),
    ("W8", include_str!("../../queries/workload/W8.sql")),
    ("W1s", include_str!("../../queries/workload/W1s.sql")),
    ("W2s", include_str!("../../queries/workload/W2s.sql")),
    ("W3s", include_str!("../../queries/workload/W3s.sql")),
    ("W4s", include_str!("../../queries/workload/W4s.sql")),
    ("W5s", include_str!("../../queries/workload/W5s.sql")),
];

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub runs: usize,
    /// Run each query once, untimed, before the timed runs.
    pub warmup: bool,
    /// Query ids to run (`W1` ... `W9`); all when empty.
    pub queries: Vec<String>,
    pub session: SessionOptions,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueryTiming {
    pub id: String,
    pub runs: usize,
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    /// Register marks in the store, divided by the median time.
    pub marks_per_s: f64,
    pub result_rows: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub store: String,
    pub marks: u64,
    pub engine: String,
    pub queries: Vec<QueryTiming>,
}

/// The SQL of a workload query with its parameters (`${urn}`, `${pupil_id}`) filled in.
pub fn with_parameters(sql: &str, urn: i32, pupil_id: &str) -> String {
    sql.replace("${urn}", &urn.to_string())
        .replace("${pupil_id}", &pupil_id.replace('\'', "''"))
}

/// One query's figures, on stderr.
fn print_timing(id: &str, timing: &QueryTiming) {
    eprintln!(
        "{id}: median {:.3} s (min {:.3}, max {:.3}), {:.1} M marks/s, {} rows",
        timing.median_s,
        timing.min_s,
        timing.max_s,
        timing.marks_per_s / 1e6,
        timing.result_rows
    );
}

fn summarise(id: &str, times: &mut [f64], marks: u64, result_rows: usize) -> QueryTiming {
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    QueryTiming {
        id: id.to_string(),
        runs: times.len(),
        median_s: median,
        min_s: times[0],
        max_s: times[times.len() - 1],
        marks_per_s: marks as f64 / median.max(1e-9),
        result_rows,
    }
}

/// The store a workload runs against: its marks, and the school and pupil of the queries'
/// parameters (the first pupil by URN and id; none in an empty store).
struct Sample {
    marks: u64,
    urn: i32,
    pupil_id: String,
}

async fn sample_store(ctx: &SessionContext) -> Result<Sample, IndicatorError> {
    let count = ctx
        .sql("SELECT count(*) FROM registers")
        .await?
        .collect()
        .await?;
    let marks = count[0].column(0).as_primitive::<Int64Type>().value(0) as u64;
    let sample = ctx
        .sql("SELECT urn, pupil_id FROM pupils ORDER BY urn, pupil_id LIMIT 1")
        .await?
        .collect()
        .await?;
    let (urn, pupil_id) = match sample.iter().find(|b| b.num_rows() > 0) {
        Some(b) => {
            let pupil = datafusion::arrow::compute::cast(b.column(1), &DataType::Utf8)?;
            (
                b.column(0).as_primitive::<Int32Type>().value(0),
                pupil.as_string::<i32>().value(0).to_string(),
            )
        }
        None => (0, String::new()),
    };
    Ok(Sample {
        marks,
        urn,
        pupil_id,
    })
}

/// Runs `run` (which returns the rows it produced) `runs` times, after a warm-up run unless
/// `warmup` is false; the timed runs' seconds and the rows of the last run.
async fn time_runs(
    runs: usize,
    warmup: bool,
    mut run: impl AsyncFnMut() -> Result<usize, IndicatorError>,
) -> Result<(Vec<f64>, usize), IndicatorError> {
    let mut times = Vec::with_capacity(runs);
    let mut rows = 0;
    if warmup {
        rows = run().await?;
    }
    for _ in 0..runs {
        let started = Instant::now();
        rows = run().await?;
        times.push(started.elapsed().as_secs_f64());
    }
    Ok((times, rows))
}

/// The indicators job once, into `out`: from `registers` when `live`, else from the
/// materialised summary; the rows it wrote.
async fn indicators_once(
    store: &Store,
    session: &SessionOptions,
    out: &std::path::Path,
    live: bool,
) -> Result<usize, IndicatorError> {
    let manifest = crate::indicators::run(
        store,
        &IndicatorOptions {
            out: out.to_path_buf(),
            years: vec![],
            periods: vec![],
            suppress: true,
            parquet: false,
            session: SessionOptions {
                live_summary: live,
                ..session.clone()
            },
            force: true,
        },
    )
    .await?;
    Ok(manifest.outputs.iter().map(|o| o.rows).sum())
}

pub async fn run_workload(
    store: &Store,
    options: &BenchOptions,
) -> Result<BenchReport, IndicatorError> {
    let wanted = |id: &str| options.queries.is_empty() || options.queries.iter().any(|q| q == id);
    let runs = options.runs.max(1);
    let (ctx, snapshot) = session(store, &options.session).await?;
    let sample = sample_store(&ctx).await?;
    // A query of the summary (`W1s` ...) runs only when the materialised summary is fresh.
    let summary_fresh = |id: &str| {
        let fresh = snapshot.summary == SummaryState::Fresh;
        if !fresh {
            eprintln!(
                "{id}: skipped, enrolment_summary is not up to date (run `attendance summarise`)"
            );
        }
        fresh
    };
    let mut queries = Vec::new();
    for (id, sql) in WORKLOAD {
        if !wanted(id) || (id.ends_with('s') && !summary_fresh(id)) {
            continue;
        }
        let sql = with_parameters(sql, sample.urn, &sample.pupil_id);
        let (mut times, rows) = time_runs(runs, options.warmup, async || {
            let batches = ctx.sql(&sql).await?.collect().await?;
            Ok(batches.iter().map(|b| b.num_rows()).sum())
        })
        .await?;
        let timing = summarise(id, &mut times, sample.marks, rows);
        print_timing(id, &timing);
        queries.push(timing);
    }
    // W9, the indicators job: from `registers` (the summary computed for the run) and, as W9s,
    // from the materialised `enrolment_summary` (when it is up to date).
    for (id, live) in [("W9", true), ("W9s", false)] {
        if !wanted(id) || (!live && !summary_fresh(id)) {
            continue;
        }
        let out: PathBuf =
            std::env::temp_dir().join(format!("attendance-bench-{}", std::process::id()));
        let (mut times, rows) = time_runs(runs, options.warmup, async || {
            indicators_once(store, &options.session, &out, live).await
        })
        .await?;
        let _ = std::fs::remove_dir_all(&out);
        let timing = summarise(id, &mut times, sample.marks, rows);
        print_timing(id, &timing);
        queries.push(timing);
    }
    Ok(BenchReport {
        store: store.root().display().to_string(),
        marks: sample.marks,
        engine: format!(
            "attendance {} (DataFusion {})",
            env!("CARGO_PKG_VERSION"),
            datafusion::DATAFUSION_VERSION
        ),
        queries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_filled_in_and_quoted() {
        let sql = "WHERE urn = ${urn} AND pupil_id = '${pupil_id}'";
        assert_eq!(
            with_parameters(sql, 100001, "O'Brien"),
            "WHERE urn = 100001 AND pupil_id = 'O''Brien'"
        );
    }

    #[test]
    fn median_min_max() {
        let mut times = vec![3.0, 1.0, 2.0];
        let t = summarise("W1", &mut times, 6, 1);
        assert_eq!(
            (t.median_s, t.min_s, t.max_s, t.marks_per_s),
            (2.0, 1.0, 3.0, 3.0)
        );
    }
}

/// The options of `attendance bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Timed runs per query, after one warm-up run
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Skip the warm-up run (for very large stores, where one run is all there is time for)
    /// [default: off]
    #[arg(long)]
    pub no_warmup: bool,
    /// Only these queries (W1 ... W9, W1s ... W5s, W9s) [default: all]
    #[arg(long)]
    pub query: Vec<String>,
    /// Also write the figures as JSON to this file [default: none: JSON on stdout]
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let BenchArgs {
        data,
        runs,
        no_warmup,
        query,
        json,
    } = args;
    let store = Store::open_existing(&data.data)?;
    let report = run_workload(
        &store,
        &BenchOptions {
            runs,
            warmup: !no_warmup,
            queries: query,
            session: data.session_options(),
        },
    )
    .await?;
    let text = serde_json::to_string_pretty(&report)?;
    match json {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => println!("{text}"),
    }
    Ok(())
}

//! `attendance indicators`: the national absence statistics in the shape of the DfE's open data
//! (DOMAIN.md section 6), computed by the SQL in `queries/indicators/`.
//!
//! The Rust here only runs that SQL and writes files. The order is:
//! 1. `indicator_input`: the enrolment summary for the academic years asked for;
//! 2. the views `enrolment_periods`, `enrolment_cohorts`, `school_cohorts`, `cohort_measures`,
//!    `band_counts` (those read more than once are computed once into scratch Parquet files);
//! 3. one query per output file.
//!
//! Suppression (GSS symbols) is applied when writing: with it on (the default), the counts and
//! rates of Local authority and School rows whose enrolments are 1 or 2, and of every
//! School-level row, are written as `c`. National and Regional rows are never suppressed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Int64Type, UInt64Type};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use serde::Serialize;

pub use crate::publish::OutputReport;
use crate::publish::{Provenance, batch_to_text, write_output};
use crate::session::summary_table::register_summary;
use crate::session::{Profile, SessionOptions, session};
use crate::store::{Store, StoreError, academic_years};
use crate::summary::{CHUNK_ENROLMENTS, SUMMARY_TABLE, SummaryState, chunk_queries};

/// The views every output is computed from, in the order they are created.
pub const VIEWS: [(&str, &str); 5] = [
    (
        "enrolment_periods",
        include_str!("../../queries/indicators/enrolment_periods.sql"),
    ),
    (
        "enrolment_cohorts",
        include_str!("../../queries/indicators/enrolment_cohorts.sql"),
    ),
    (
        "school_cohorts",
        include_str!("../../queries/indicators/school_cohorts.sql"),
    ),
    (
        "cohort_measures",
        include_str!("../../queries/indicators/cohort_measures.sql"),
    ),
    (
        "band_counts",
        include_str!("../../queries/indicators/band_counts.sql"),
    ),
];

/// The output files and the query of each.
pub const OUTPUTS: [(&str, &str); 4] = [
    (
        "absence_rates_by_geographic_level",
        include_str!("../../queries/indicators/absence_rates_by_geographic_level.sql"),
    ),
    (
        "absence_rates_by_school",
        include_str!("../../queries/indicators/absence_rates_by_school.sql"),
    ),
    (
        "absence_by_characteristic",
        include_str!("../../queries/indicators/absence_by_characteristic.sql"),
    ),
    (
        "attendance_bands",
        include_str!("../../queries/indicators/attendance_bands.sql"),
    ),
];

/// The EES time identifiers, in publication order.
pub const TIME_IDENTIFIERS: [&str; 5] = [
    "Autumn term",
    "Spring term",
    "Summer term",
    "Autumn and spring term",
    "Academic year",
];

#[derive(Debug, thiserror::Error)]
pub enum IndicatorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("query engine: {0}")]
    DataFusion(#[from] DataFusionError),
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("`{0}` is not a time identifier (expected one of: {1})")]
    Period(String, String),
    #[error("`{0}` is not an academic year like 2024-25")]
    Year(String),
    #[error("the store holds no pupils for {0} (it holds: {1}); nothing was written")]
    NoSuchYear(String, String),
    #[error(transparent)]
    Publish(#[from] crate::publish::PublishError),
}

#[derive(Debug, Clone)]
pub struct IndicatorOptions {
    pub out: PathBuf,
    /// Academic years (`2024-25`); all years in the store when empty.
    pub years: Vec<String>,
    /// Time identifiers to write; every one the data covers when empty.
    pub periods: Vec<String>,
    pub suppress: bool,
    pub parquet: bool,
    pub session: SessionOptions,
    /// Replace a non-empty `out` that holds files other than an earlier run's outputs.
    pub force: bool,
}

#[derive(Debug, Serialize)]
pub struct Manifest {
    #[serde(flatten)]
    pub provenance: Provenance,
    pub enrolment_summary: &'static str,
    pub academic_years: Vec<String>,
    pub periods: Vec<String>,
    pub suppress: bool,
    pub outputs: Vec<OutputReport>,
}

/// Every SQL statement the job runs, in order (`attendance indicators --explain`).
pub fn explain() -> String {
    let mut text = String::from(
        "-- indicator_input: the enrolment summary for the academic years asked for\n\
         CREATE OR REPLACE VIEW indicator_input AS SELECT * FROM enrolment_summary;\n\n",
    );
    text.push_str("-- enrolment_summary (materialised by `attendance summarise`):\n");
    text.push_str(crate::summary::SUMMARY_SQL.trim_end());
    text.push_str(";\n\n");
    for (_, sql) in VIEWS {
        text.push_str(sql.trim_end());
        text.push_str(";\n\n");
    }
    for (name, sql) in OUTPUTS {
        text.push_str(&format!("-- {name}.csv\n"));
        text.push_str(sql.trim_end());
        text.push_str(";\n\n");
    }
    text
}

fn validate(options: &IndicatorOptions) -> Result<(), IndicatorError> {
    for p in &options.periods {
        if !TIME_IDENTIFIERS.contains(&p.as_str()) {
            return Err(IndicatorError::Period(
                p.clone(),
                TIME_IDENTIFIERS.join(", "),
            ));
        }
    }
    for y in &options.years {
        if attendance_udfs::calendar::parse_academic_year(y).is_none() {
            return Err(IndicatorError::Year(y.clone()));
        }
    }
    Ok(())
}

/// Prepares `ctx` (a session over the store) with `indicator_input` and the views.
pub async fn prepare(
    ctx: &SessionContext,
    store: &Store,
    contents: &crate::store::TableContents,
    years: &[String],
    scratch: &Path,
    live: bool,
) -> Result<SummaryState, IndicatorError> {
    let mut state = register_summary(ctx, store, contents, live).await?;
    let mut input = SUMMARY_TABLE;
    if state == SummaryState::Live && compute_summary(ctx, scratch, years).await? {
        input = "computed_summary";
        state = SummaryState::Computed;
    }
    let mut rows = ctx.table(input).await?;
    if !years.is_empty() {
        rows = rows.filter(academic_years(years))?;
    }
    ctx.deregister_table("indicator_input")?;
    ctx.register_table("indicator_input", rows.into_view())?;
    for (name, sql) in VIEWS {
        ctx.sql(sql).await?.collect().await?;
        if MATERIALISED.contains(&name) {
            materialise(ctx, name, scratch).await?;
        }
    }
    Ok(state)
}

/// Computes the enrolment summary from the registers into the scratch directory, chunk by chunk
/// of schools (as `summarise` does, so memory stays bounded), and registers it as
/// `computed_summary`. False when there is nothing to compute (an empty store).
async fn compute_summary(
    ctx: &SessionContext,
    scratch: &Path,
    years: &[String],
) -> Result<bool, IndicatorError> {
    let dir = scratch.join("computed_summary");
    std::fs::create_dir_all(&dir).map_err(|e| IndicatorError::Io(dir.display().to_string(), e))?;
    let mut written = false;
    for (i, chunk) in chunk_queries(ctx, CHUNK_ENROLMENTS, years)
        .await?
        .into_iter()
        .enumerate()
    {
        let path = dir.join(format!("chunk-{i:05}.parquet"));
        let batches = chunk
            .write_parquet(
                path.to_str().expect("utf-8 path"),
                DataFrameWriteOptions::new(),
                None,
            )
            .await?;
        let rows = batches
            .first()
            .map(|b| b.column(0).as_primitive::<UInt64Type>().value(0))
            .unwrap_or(0);
        written |= rows > 0;
    }
    if written {
        ctx.deregister_table("computed_summary")?;
        ctx.register_parquet(
            "computed_summary",
            dir.to_str().expect("utf-8 path"),
            datafusion::prelude::ParquetReadOptions::default(),
        )
        .await?;
    }
    Ok(written)
}

/// Views read by several later queries: computed once into Parquet in the scratch directory and
/// read from there, instead of being recomputed by every query that reads them.
/// The aggregates are materialised too: read back from Parquet, their rows come in compact
/// batches (an aggregate's own output batches are slices whose memory is over-counted by sorts).
const MATERIALISED: [&str; 4] = [
    "enrolment_periods",
    "school_cohorts",
    "cohort_measures",
    "band_counts",
];

pub(crate) async fn materialise(
    ctx: &SessionContext,
    view: &str,
    scratch: &Path,
) -> Result<(), IndicatorError> {
    let dir = scratch.join(view);
    std::fs::create_dir_all(&dir).map_err(|e| IndicatorError::Io(dir.display().to_string(), e))?;
    let location = dir.join("data.parquet");
    let path = location.to_str().expect("utf-8 path");
    ctx.table(view)
        .await?
        .write_parquet(path, DataFrameWriteOptions::new(), None)
        .await?;
    ctx.deregister_table(view)?;
    ctx.register_parquet(
        view,
        path,
        datafusion::prelude::ParquetReadOptions::default(),
    )
    .await?;
    Ok(())
}

/// A scratch directory for the job's intermediate tables, removed when dropped.
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    pub fn new() -> Result<Self, IndicatorError> {
        tempfile::Builder::new()
            .prefix("attendance-indicators-")
            .tempdir()
            .map(Self)
            .map_err(|e| IndicatorError::Io(std::env::temp_dir().display().to_string(), e))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// Runs each output's query and writes its file (CSV, and Parquet with `options.parquet`)
/// into `out`.
async fn write_outputs(
    ctx: &SessionContext,
    options: &IndicatorOptions,
    out: &Path,
) -> Result<Vec<OutputReport>, IndicatorError> {
    let mut outputs = Vec::new();
    for (name, sql) in OUTPUTS {
        let batches = ctx.sql(sql).await?.collect().await?;
        let batches = keep_periods(batches, &options.periods)?;
        let batches = to_text(&batches, options.suppress)?;
        outputs.extend(write_output(out, name, &batches, options.parquet)?);
    }
    Ok(outputs)
}

/// Runs the job and writes the files into `options.out`.
pub async fn run(store: &Store, options: &IndicatorOptions) -> Result<Manifest, IndicatorError> {
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339();
    validate(options)?;
    let session_options = SessionOptions {
        profile: Profile::Indicators,
        ..options.session.clone()
    };
    let (ctx, snapshot) = session(store, &session_options).await?;
    let versions = snapshot.versions.clone();
    if !options.years.is_empty() {
        let have =
            distinct_strings(&ctx, "SELECT DISTINCT academic_year FROM pupils ORDER BY 1").await?;
        if let Some(missing) = options.years.iter().find(|y| !have.contains(y)) {
            let have = if have.is_empty() {
                "no year".to_string()
            } else {
                have.join(", ")
            };
            return Err(IndicatorError::NoSuchYear(missing.clone(), have));
        }
    }
    // Every file is written here, then moved into `out` at once (see `publish`).
    let publication = crate::publish::Publication::begin(&options.out, options.force)?;
    let out = publication.dir().to_path_buf();
    let scratch = Scratch::new()?;
    let state = prepare(
        &ctx,
        store,
        &snapshot.contents,
        &options.years,
        scratch.path(),
        options.session.live_summary,
    )
    .await?;
    let outputs = write_outputs(&ctx, options, &out).await?;
    let years = if options.years.is_empty() {
        distinct_strings(
            &ctx,
            "SELECT DISTINCT academic_year FROM indicator_input ORDER BY 1",
        )
        .await?
    } else {
        options.years.clone()
    };
    let periods = distinct_strings(
        &ctx,
        "SELECT time_identifier FROM enrolment_periods GROUP BY time_identifier ORDER BY min(period_order)",
    )
    .await?
    .into_iter()
    .filter(|p| options.periods.is_empty() || options.periods.contains(p))
    .collect();
    let manifest = Manifest {
        provenance: Provenance::new(store, versions, started, started_at).await?,
        enrolment_summary: match state {
            SummaryState::Fresh => "materialised, up to date",
            SummaryState::Live | SummaryState::Computed => {
                "computed from registers (the materialised table was missing or stale)"
            }
        },
        academic_years: years,
        periods,
        suppress: options.suppress,
        outputs,
    };
    publication.write_manifest(&manifest)?;
    publication.publish()?;
    Ok(manifest)
}

async fn distinct_strings(ctx: &SessionContext, sql: &str) -> Result<Vec<String>, IndicatorError> {
    let mut out = Vec::new();
    for batch in ctx.sql(sql).await?.collect().await? {
        let column = cast(batch.column(0), &DataType::Utf8)?;
        let column = column.as_string::<i32>();
        out.extend((0..column.len()).map(|i| column.value(i).to_string()));
    }
    Ok(out)
}

fn keep_periods(
    batches: Vec<RecordBatch>,
    periods: &[String],
) -> Result<Vec<RecordBatch>, IndicatorError> {
    if periods.is_empty() {
        return Ok(batches);
    }
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let column = cast(
            batch
                .column_by_name("time_identifier")
                .expect("time_identifier"),
            &DataType::Utf8,
        )?;
        let column = column.as_string::<i32>();
        let mask: datafusion::arrow::array::BooleanArray = (0..column.len())
            .map(|i| Some(periods.iter().any(|p| p == column.value(i))))
            .collect();
        out.push(filter_record_batch(&batch, &mask)?);
    }
    Ok(out)
}

/// Whether a row's counts and rates are suppressed (written `c`).
pub fn suppressed(level: &str, enrolments: i64) -> bool {
    match level {
        "School" => true,
        "Local authority" => enrolments == 1 || enrolments == 2,
        _ => false,
    }
}

/// The outputs as text (see [`batch_to_text`]), with the measures of the rows [`suppressed`]
/// says as `c` when `suppress` is on. The measures are the columns from `num_schools` (or
/// `enrolments`) on.
fn to_text(batches: &[RecordBatch], suppress: bool) -> Result<Vec<RecordBatch>, IndicatorError> {
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let first_measure = batch
            .schema()
            .fields()
            .iter()
            .position(|f| f.name() == "num_schools" || f.name() == "enrolments")
            .expect("outputs have measures");
        let level = cast(
            batch.column_by_name("geographic_level").expect("level"),
            &DataType::Utf8,
        )?;
        let level = level.as_string::<i32>();
        let enrolments = cast(
            batch.column_by_name("enrolments").expect("enrolments"),
            &DataType::Int64,
        )?;
        let enrolments = enrolments.as_primitive::<Int64Type>();
        let hidden: Vec<bool> = (0..batch.num_rows())
            .map(|i| suppress && suppressed(level.value(i), enrolments.value(i)))
            .collect();
        out.push(batch_to_text(batch, first_measure, &hidden)?);
    }
    Ok(out)
}

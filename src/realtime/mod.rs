//! `attendance realtime`: the DfE's real-time attendance files ("Pupil attendance in schools",
//! DOMAIN.md section 7) from the daily registers, computed by the SQL in `queries/realtime/`.
//!
//! The SQL is in two layers, so that the base can later be maintained incrementally and read
//! instead of `registers` without touching the roll-ups:
//! 1. the base ([`BASE`]): the in-scope marks of the academic year up to the `--through` date,
//!    and from them the counts of every school on every day (`school_day_counts`) and of every
//!    enrolment in every ISO week (`enrolment_week_counts`);
//! 2. the roll-ups ([`ROLL_UPS`]), which read only the base (and `schools` and `pupils`): the
//!    time frames, the rows of every geography and phase, persistent absence year to date as of
//!    every week, and the weighted `Total` rows; then one query per file ([`OUTPUTS`]).
//!
//! Suppression is applied when writing ([`files`]): with it on (the default), every measure of a
//! Local authority row to which one school contributes, and of every School row, is `c`.

use std::path::PathBuf;
use std::time::Instant;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::indicators::{IndicatorError, Scratch, materialise};
use crate::publish::{OutputReport, Provenance, Publication, PublishError, write_output};
use crate::queries::with_includes;
use crate::session::{SessionOptions, session};
use crate::store::{Store, StoreError};

mod files;

/// The base layer, in the order the views are created.
pub const BASE: [(&str, &str); 3] = [
    (
        "in_scope_marks",
        include_str!("../../queries/realtime/in_scope_marks.sql"),
    ),
    (
        "school_day_counts",
        include_str!("../../queries/realtime/school_day_counts.sql"),
    ),
    (
        "enrolment_week_counts",
        include_str!("../../queries/realtime/enrolment_week_counts.sql"),
    ),
];

/// The roll-ups, in the order the views are created.
pub const ROLL_UPS: [(&str, &str); 10] = [
    (
        "school_geographies",
        include_str!("../../queries/realtime/school_geographies.sql"),
    ),
    (
        "school_roll",
        include_str!("../../queries/realtime/school_roll.sql"),
    ),
    (
        "reported_weeks",
        include_str!("../../queries/realtime/reported_weeks.sql"),
    ),
    (
        "time_frames",
        include_str!("../../queries/realtime/time_frames.sql"),
    ),
    (
        "day_rows",
        include_str!("../../queries/realtime/day_rows.sql"),
    ),
    (
        "phase_rows",
        include_str!("../../queries/realtime/phase_rows.sql"),
    ),
    (
        "enrolment_pa_changes",
        include_str!("../../queries/realtime/enrolment_pa_changes.sql"),
    ),
    (
        "pa_rows",
        include_str!("../../queries/realtime/pa_rows.sql"),
    ),
    (
        "attendance_rows",
        include_str!("../../queries/realtime/attendance_rows.sql"),
    ),
    (
        "pa_weekly_rows",
        include_str!("../../queries/realtime/pa_weekly_rows.sql"),
    ),
];

/// The output files and the query of each.
pub const OUTPUTS: [(&str, &str); 4] = [
    (
        "attendance_daily",
        include_str!("../../queries/realtime/attendance_daily.sql"),
    ),
    (
        "attendance_weekly",
        include_str!("../../queries/realtime/attendance_weekly.sql"),
    ),
    (
        "attendance_ytd",
        include_str!("../../queries/realtime/attendance_ytd.sql"),
    ),
    (
        "persistent_absence_ytd_weekly",
        include_str!("../../queries/realtime/persistent_absence_ytd_weekly.sql"),
    ),
];

/// Views read by several later queries, computed once into scratch Parquet files: the base
/// layer, the weeks, and the rows the outputs read more than once.
const MATERIALISED: [&str; 6] = [
    "school_day_counts",
    "enrolment_week_counts",
    "reported_weeks",
    "phase_rows",
    "pa_rows",
    "attendance_rows",
];

#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("query engine: {0}")]
    DataFusion(#[from] DataFusionError),
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Scratch(#[from] IndicatorError),
    #[error("`{0}` is not an academic year like 2024-25")]
    Year(String),
    #[error("the store holds no pupils for {0} (it holds: {1}); nothing was written")]
    NoSuchYear(String, String),
    #[error("{0}; nothing was written")]
    NoMarks(String),
}

#[derive(Debug, Clone)]
pub struct RealtimeOptions {
    pub out: PathBuf,
    /// The academic year (`2024-25`); the latest year with marks in the store when `None`.
    pub year: Option<String>,
    /// The last day whose marks count; the year's latest mark in the store when `None`.
    pub through: Option<NaiveDate>,
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
    pub academic_year: String,
    /// The last day whose marks were read.
    pub through: String,
    /// The Monday of the last week reported (the year to date ends with it).
    pub last_week: String,
    pub suppress: bool,
    pub outputs: Vec<OutputReport>,
}

/// Every SQL statement the job runs after its two input views, in order.
pub fn explain() -> String {
    let mut text = String::from(
        "-- realtime_registers: the academic year's registers up to the --through date\n\
         -- realtime_pupils: the academic year's pupils\n\n",
    );
    for (_, sql) in BASE.iter().chain(&ROLL_UPS).chain(&OUTPUTS) {
        text.push_str(with_includes(sql).trim_end());
        text.push_str(";\n\n");
    }
    text
}

/// Runs the job and writes the files into `options.out`.
pub async fn run(store: &Store, options: &RealtimeOptions) -> Result<Manifest, RealtimeError> {
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339();
    let (ctx, snapshot) = session(store, &options.session).await?;
    let year = academic_year(&ctx, options.year.as_deref()).await?;
    let through = match options.through {
        Some(date) => date.format("%Y-%m-%d").to_string(),
        None => first_string(
            &ctx,
            &format!("SELECT max(date) FROM registers WHERE academic_year = '{year}'"),
        )
        .await?
        .ok_or_else(|| RealtimeError::NoMarks(format!("the store holds no marks for {year}")))?,
    };
    let publication = Publication::begin(&options.out, options.force)?;
    let scratch = Scratch::new()?;
    prepare(&ctx, &year, &through, scratch.path()).await?;
    let last_week = first_string(&ctx, "SELECT max(week_start) FROM reported_weeks")
        .await?
        .ok_or_else(|| {
            RealtimeError::NoMarks(format!(
                "no in-scope possible session in {year} on or before {through}"
            ))
        })?;
    let mut outputs = Vec::new();
    for (name, sql) in OUTPUTS {
        let batches = ctx.sql(sql).await?.collect().await?;
        let batches = files::to_text(&batches, options.suppress)?;
        outputs.extend(write_output(
            publication.dir(),
            name,
            &batches,
            options.parquet,
        )?);
    }
    let manifest = Manifest {
        provenance: Provenance::new(store, snapshot.versions, started, started_at).await?,
        academic_year: year,
        through,
        last_week,
        suppress: options.suppress,
        outputs,
    };
    publication.write_manifest(&manifest)?;
    publication.publish()?;
    Ok(manifest)
}

/// The academic year asked for (checked against the store), or the latest with marks.
async fn academic_year(ctx: &SessionContext, asked: Option<&str>) -> Result<String, RealtimeError> {
    let Some(year) = asked else {
        return first_string(ctx, "SELECT max(academic_year) FROM registers")
            .await?
            .ok_or_else(|| RealtimeError::NoMarks("the store holds no register marks".into()));
    };
    if attendance_udfs::calendar::parse_academic_year(year).is_none() {
        return Err(RealtimeError::Year(year.to_string()));
    }
    let have = first_string(
        ctx,
        "SELECT string_agg(academic_year, ', ' ORDER BY academic_year) \
         FROM (SELECT DISTINCT academic_year FROM pupils)",
    )
    .await?
    .unwrap_or_default();
    if !have.split(", ").any(|y| y == year) {
        let have = if have.is_empty() {
            "no year".into()
        } else {
            have
        };
        return Err(RealtimeError::NoSuchYear(year.to_string(), have));
    }
    Ok(year.to_string())
}

/// Creates the input views of `year` up to `through` (both checked: an academic year label and
/// a `YYYY-MM-DD` date), then the base layer and the roll-ups.
async fn prepare(
    ctx: &SessionContext,
    year: &str,
    through: &str,
    scratch: &std::path::Path,
) -> Result<(), RealtimeError> {
    // Plain strings in the scratch tables (see `indicators::prepare`).
    ctx.sql("SET datafusion.execution.parquet.schema_force_view_types = false")
        .await?
        .collect()
        .await?;
    let inputs = [
        format!(
            "CREATE OR REPLACE VIEW realtime_registers AS SELECT * FROM registers \
             WHERE academic_year = '{year}' AND date <= DATE '{through}'"
        ),
        format!(
            "CREATE OR REPLACE VIEW realtime_pupils AS SELECT * FROM pupils \
             WHERE academic_year = '{year}'"
        ),
    ];
    for sql in &inputs {
        ctx.sql(sql).await?.collect().await?;
    }
    for (name, sql) in BASE.iter().chain(&ROLL_UPS) {
        ctx.sql(&with_includes(sql)).await?.collect().await?;
        if MATERIALISED.contains(name) {
            materialise(ctx, name, scratch).await?;
        }
    }
    Ok(())
}

/// The first value of the first column of `sql`'s result as text, if any and not NULL.
async fn first_string(ctx: &SessionContext, sql: &str) -> Result<Option<String>, RealtimeError> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    let column = cast(batch.column(0), &DataType::Utf8)?;
    let column = column.as_string::<i32>();
    Ok((!column.is_null(0)).then(|| column.value(0).to_string()))
}

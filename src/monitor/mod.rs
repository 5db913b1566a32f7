//! `attendance monitor`: who needs support this week (DOMAIN.md section 8), for one school, a
//! trust or a local authority, as CSV lists and one self-contained `report.html`.
//!
//! Every figure comes from the views of `queries/monitor/` ([`views`]), which every session
//! registers (with defaults) so that `sql`, `shell` and the server see them too; the job
//! registers them again for its `--through` date, `--weeks` and schools, then:
//! 1. [`scope`] resolves `--school`, `--trust` or `--la` to the report's schools;
//! 2. [`report`] reads the report's rows from the views: cohorts, weekly series, the school
//!    table (trust and LA reports) and the pupil lists (a school's report, or `--pupils`);
//! 3. the rows are written as CSV and drawn as HTML with SVG charts ([`html`], [`svg`]), into
//!    `--out` all at once (`crate::publish`).
//!
//! Scope of what is shown: a school's report shows its own pupils and figures, and its LA and
//! England for comparison; trust and LA reports show England for comparison, a table of their
//! schools, and pupils only with `--pupils`. No report shows pupils of a school outside it.
//! Outside a school's own figures, a row of 1 or 2 enrolments shows `c` for its measures
//! (DOMAIN.md section 6's small-number suppression).

use std::path::PathBuf;
use std::time::Instant;

use attendance_udfs::calendar::{CivilDate, academic_year_label, academic_year_start};
use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::DataFusionError;
use datafusion::functions_aggregate::expr_fn::max;
use datafusion::prelude::{DataFrame, SessionContext, col, lit};
use serde::Serialize;

use crate::indicators::{IndicatorError, Scratch};
use crate::publish::{OutputReport, Provenance, Publication, PublishError};
use crate::session::{SessionOptions, session};
use crate::store::{Store, StoreError};

mod html;
pub mod report;
pub mod scope;
mod svg;
pub mod views;

pub use scope::{Kind, Scope, Selection};
pub use views::{Parameters, VIEWS, register_views};

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
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
    #[error("{0}")]
    Scope(String),
    #[error("--weeks must be at least 1")]
    Weeks,
    #[error("{0}; nothing was written")]
    NoMarks(String),
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
}

#[derive(Debug, Clone)]
pub struct MonitorOptions {
    pub scope: Scope,
    /// The last day whose marks count (a day inside a week counts that week up to it); the
    /// latest mark of the latest academic year in the store when `None`.
    pub through: Option<NaiveDate>,
    /// The recent span, in reported weeks.
    pub weeks: u32,
    /// Pupil lists in trust and LA reports (a school's report always has its own).
    pub pupils: bool,
    pub out: PathBuf,
    pub session: SessionOptions,
    /// Replace a non-empty `out` that holds files other than an earlier run's outputs.
    pub force: bool,
}

#[derive(Debug, Serialize)]
pub struct Manifest {
    #[serde(flatten)]
    pub provenance: Provenance,
    pub report: Kind,
    pub title: String,
    pub schools: Vec<i32>,
    pub academic_year: String,
    /// The last day whose marks were read.
    pub through: String,
    /// The Monday of the last week reported (the year to date ends with it).
    pub last_week: String,
    pub weeks: u32,
    /// The Monday of the week the recent span starts after (none with too few weeks reported).
    pub baseline_week: Option<String>,
    pub pupils: bool,
    pub outputs: Vec<OutputReport>,
}

/// Runs the report and writes its files into `options.out`.
pub async fn run(store: &Store, options: &MonitorOptions) -> Result<Manifest, MonitorError> {
    if options.weeks == 0 {
        return Err(MonitorError::Weeks);
    }
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339();
    let (ctx, snapshot) = session(store, &options.session).await?;
    let selection = scope::resolve(&ctx, &options.scope).await?;
    let (year, through) = period(&ctx, options.through).await?;
    let publication = Publication::begin(&options.out, options.force)?;
    let scratch = Scratch::new()?;
    // Plain strings in the scratch tables (see `indicators::prepare`).
    ctx.sql("SET datafusion.execution.parquet.schema_force_view_types = false")
        .await?
        .collect()
        .await?;
    let parameters = Parameters {
        year: Some(year.clone()),
        through: Some(through),
        weeks: options.weeks,
        selection: selection.urns(),
    };
    register_views(&ctx, &parameters, Some(scratch.path())).await?;
    let weeks = report::weeks(&ctx).await?.ok_or_else(|| {
        MonitorError::NoMarks(format!(
            "no in-scope possible session in {year} on or before {through}"
        ))
    })?;
    let show_pupils = options.pupils || selection.kind == Kind::School;
    let data = report::gather(&ctx, &selection, show_pupils).await?;
    let outputs = data.write_csv(publication.dir())?;
    let page = html::render(&html::Page {
        selection: &selection,
        academic_year: &year,
        through: &through.to_string(),
        weeks: &weeks,
        recent_weeks: options.weeks,
        data: &data,
    });
    let outputs = outputs
        .into_iter()
        .chain([write_page(publication.dir(), &page)?])
        .collect();
    let manifest = Manifest {
        provenance: Provenance::new(store, snapshot.versions, started, started_at).await?,
        report: selection.kind,
        title: selection.title.clone(),
        schools: selection.urns(),
        academic_year: year,
        through: through.to_string(),
        last_week: weeks.last.clone(),
        weeks: options.weeks,
        baseline_week: weeks.baseline.clone(),
        pupils: show_pupils,
        outputs,
    };
    publication.write_manifest(&manifest)?;
    publication.publish()?;
    Ok(manifest)
}

/// Writes `report.html` into `dir` and reports it as the manifest lists it.
fn write_page(dir: &std::path::Path, page: &str) -> Result<OutputReport, MonitorError> {
    use sha2::{Digest, Sha256};
    let path = dir.join("report.html");
    std::fs::write(&path, page).map_err(|e| MonitorError::Io(path.display().to_string(), e))?;
    Ok(OutputReport {
        file: "report.html".into(),
        rows: 1,
        sha256: hex::encode(Sha256::digest(page.as_bytes())),
    })
}

/// The academic year and the last day of the report: those of `through` when given (checked
/// to have marks on or before it), else the latest academic year with marks and its latest
/// mark.
async fn period(
    ctx: &SessionContext,
    through: Option<NaiveDate>,
) -> Result<(String, NaiveDate), MonitorError> {
    let registers = ctx.table("registers").await?;
    let year = match through {
        Some(date) => {
            let civil = CivilDate::new(date.year(), date.month(), date.day())
                .expect("a valid date is a civil date");
            academic_year_label(academic_year_start(civil))
        }
        None => first_text(
            registers
                .clone()
                .aggregate(vec![], vec![max(col("academic_year"))])?,
        )
        .await?
        .ok_or_else(|| MonitorError::NoMarks("the store holds no register marks".into()))?,
    };
    let mut marks = registers.filter(col("academic_year").eq(lit(year.as_str())))?;
    if let Some(date) = through {
        marks = marks.filter(col("date").lt_eq(lit(views::date_value(date))))?;
    }
    let last = first_text(marks.aggregate(vec![], vec![max(col("date"))])?)
        .await?
        .ok_or_else(|| match through {
            Some(date) => MonitorError::NoMarks(format!(
                "the store holds no marks of {year} on or before {date}"
            )),
            None => MonitorError::NoMarks(format!("the store holds no marks for {year}")),
        })?;
    let last = crate::ingest::parse_date(&last)
        .map_err(|e| MonitorError::NoMarks(format!("latest mark `{last}`: {e}")))?;
    Ok((year, through.unwrap_or(last)))
}

/// The first value of the first column of `frame`'s result as text, if any and not NULL.
pub(crate) async fn first_text(frame: DataFrame) -> Result<Option<String>, MonitorError> {
    let batches = frame.collect().await?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    let column = cast(batch.column(0), &DataType::Utf8)?;
    let column = column.as_string::<i32>();
    Ok((!column.is_null(0)).then(|| column.value(0).to_string()))
}

//! The monitoring views (`queries/monitor/*.sql`) and what they read: every session registers
//! them with the defaults ([`Parameters::default`]: the latest academic year with marks, every
//! mark of it, `weeks` 4, no report selection), and `attendance monitor` registers them again
//! with its own.
//!
//! They stand on the base of the real-time files (`queries/realtime/`, DOMAIN.md section 7):
//! `realtime_registers` and `realtime_pupils` (the academic year's registers up to the
//! `through` date, and its pupils), `in_scope_marks`, `enrolment_week_counts` and
//! `school_geographies`. Two small tables hold the parameters: `monitor_parameters` (`weeks`,
//! the recent span in reported weeks) and `monitor_selection` (`urn`, the schools of a report,
//! empty by default).
//!
//! A view is bound to the tables it reads when it is created, so registering again replaces
//! every view, inputs first. The filters on the store's tables are DataFusion expressions
//! (literal values, never SQL text made from input).

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Int32Array, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::{SessionContext, col, lit};
use datafusion::scalar::ScalarValue;

use crate::queries::with_includes;
use crate::realtime::{BASE, ROLL_UPS};

/// The monitoring views, in the order they are created.
pub const VIEWS: [(&str, &str); 15] = [
    (
        "monitor_weeks",
        include_str!("../../queries/monitor/monitor_weeks.sql"),
    ),
    (
        "monitor_enrolments",
        include_str!("../../queries/monitor/monitor_enrolments.sql"),
    ),
    (
        "monitor_pupils",
        include_str!("../../queries/monitor/monitor_pupils.sql"),
    ),
    (
        "monitor_severely_absent",
        include_str!("../../queries/monitor/monitor_severely_absent.sql"),
    ),
    (
        "monitor_persistently_absent",
        include_str!("../../queries/monitor/monitor_persistently_absent.sql"),
    ),
    (
        "monitor_newly_persistent",
        include_str!("../../queries/monitor/monitor_newly_persistent.sql"),
    ),
    (
        "monitor_at_risk",
        include_str!("../../queries/monitor/monitor_at_risk.sql"),
    ),
    (
        "monitor_falling",
        include_str!("../../queries/monitor/monitor_falling.sql"),
    ),
    (
        "monitor_geographies",
        include_str!("../../queries/monitor/monitor_geographies.sql"),
    ),
    (
        "monitor_cohorts",
        include_str!("../../queries/monitor/monitor_cohorts.sql"),
    ),
    (
        "monitor_weekly",
        include_str!("../../queries/monitor/monitor_weekly.sql"),
    ),
    (
        "monitor_schools",
        include_str!("../../queries/monitor/monitor_schools.sql"),
    ),
    (
        "monitor_report_schools",
        include_str!("../../queries/monitor/monitor_report_schools.sql"),
    ),
    (
        "monitor_enrolment_reasons",
        include_str!("../../queries/monitor/monitor_enrolment_reasons.sql"),
    ),
    (
        "monitor_lists",
        include_str!("../../queries/monitor/monitor_lists.sql"),
    ),
];

/// The views of the real-time base the monitoring views read, in the order they are created.
/// Everything is computed from the enrolment-week counts, so a report reads the marks once
/// (and once more, for its own schools only, for the reasons of its pupil lists).
const REALTIME_VIEWS: [&str; 3] = [
    "in_scope_marks",
    "enrolment_week_counts",
    "school_geographies",
];

/// Views a report reads many times: computed once into Parquet in a scratch directory.
const MATERIALISED: [&str; 3] = [
    "enrolment_week_counts",
    "monitor_weeks",
    "monitor_enrolments",
];

/// What the views are computed for.
#[derive(Debug, Clone)]
pub struct Parameters {
    /// The academic year (`2024-25`); the latest with marks in the store when `None`.
    pub year: Option<String>,
    /// The last day whose marks count; every mark of the year when `None`.
    pub through: Option<NaiveDate>,
    /// The recent span, in reported weeks (at least 1).
    pub weeks: u32,
    /// The schools of the report (the `Report` geography).
    pub selection: Vec<i32>,
}

impl Default for Parameters {
    fn default() -> Self {
        Self {
            year: None,
            through: None,
            weeks: 4,
            selection: Vec::new(),
        }
    }
}

/// The newest academic year with marks, as SQL over the store's own tables (no input in it).
const LATEST_YEAR: &str =
    "SELECT * FROM {table} WHERE academic_year = (SELECT max(academic_year) FROM registers)";

/// Registers (or replaces) the inputs, the real-time base and every monitoring view in `ctx`,
/// for `parameters`. With `scratch`, the views of [`MATERIALISED`] are computed into Parquet
/// files there and read from them (a report reads them many times).
pub async fn register_views(
    ctx: &SessionContext,
    parameters: &Parameters,
    scratch: Option<&Path>,
) -> Result<()> {
    register_inputs(ctx, parameters).await?;
    let realtime = BASE
        .iter()
        .chain(&ROLL_UPS)
        .filter(|(name, _)| REALTIME_VIEWS.contains(name));
    for (name, sql) in realtime.chain(&VIEWS) {
        ctx.sql(&with_includes(sql)).await?.collect().await?;
        if let Some(scratch) = scratch
            && MATERIALISED.contains(name)
        {
            crate::indicators::materialise(ctx, name, scratch)
                .await
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
        }
    }
    Ok(())
}

/// `realtime_registers`, `realtime_pupils`, `monitor_parameters` and `monitor_selection`.
async fn register_inputs(ctx: &SessionContext, parameters: &Parameters) -> Result<()> {
    for table in ["registers", "pupils"] {
        let mut frame = match &parameters.year {
            Some(year) => ctx
                .table(table)
                .await?
                .filter(col("academic_year").eq(lit(year.as_str())))?,
            None => ctx.sql(&LATEST_YEAR.replace("{table}", table)).await?,
        };
        if let (Some(through), "registers") = (parameters.through, table) {
            frame = frame.filter(col("date").lt_eq(lit(date_value(through))))?;
        }
        replace_table(ctx, &format!("realtime_{table}"), frame.into_view())?;
    }
    let weeks = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(
            "weeks",
            DataType::Int64,
            false,
        )])),
        vec![Arc::new(Int64Array::from(vec![i64::from(
            parameters.weeks,
        )]))],
    )?;
    let selection = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("urn", DataType::Int32, false)])),
        vec![Arc::new(Int32Array::from(parameters.selection.clone()))],
    )?;
    for (name, batch) in [
        ("monitor_parameters", weeks),
        ("monitor_selection", selection),
    ] {
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        replace_table(ctx, name, Arc::new(table))?;
    }
    Ok(())
}

fn replace_table(ctx: &SessionContext, name: &str, table: Arc<dyn TableProvider>) -> Result<()> {
    ctx.deregister_table(name)?;
    ctx.register_table(name, table)?;
    Ok(())
}

/// `date` as an Arrow `Date32` literal (days since 1970-01-01).
pub(crate) fn date_value(date: NaiveDate) -> ScalarValue {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
    ScalarValue::Date32(Some((date - epoch).num_days() as i32))
}

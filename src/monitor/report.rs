//! The rows of a report, read from the monitoring views for its schools and comparisons, as
//! text (with suppressed measures written `c`): what the CSV files hold and the HTML shows.
//!
//! The report's schools reach the views two ways: the `Report` geography of the cohorts and
//! the weekly series is `monitor_selection`; the pupil rows are filtered by an expression on
//! `urn` (a list of literals, which the scans can prune by).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::prelude::{DataFrame, Expr, SessionContext, col, lit};

use super::scope::{Kind, Selection};
use super::{MonitorError, first_text};
use crate::publish::{OutputReport, batch_to_text, write_output};

/// The reported weeks of a report.
#[derive(Debug, Clone)]
pub struct Weeks {
    /// The Monday of the last reported week.
    pub last: String,
    /// The Monday of the last week before the recent span, if there is one.
    pub baseline: Option<String>,
}

/// The last and the baseline week, from `monitor_weeks`; `None` when no week is reported.
pub async fn weeks(ctx: &SessionContext) -> Result<Option<Weeks>, MonitorError> {
    let last = first_text(ctx.sql("SELECT max(week_start) FROM monitor_weeks").await?).await?;
    let baseline = first_text(
        ctx.sql("SELECT max(week_start) FROM monitor_weeks WHERE NOT recent")
            .await?,
    )
    .await?;
    Ok(last.map(|last| Weeks { last, baseline }))
}

/// A result as text: column names and rows of cells.
#[derive(Debug, Clone, Default)]
pub struct Text {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Text {
    fn from_batches(batches: &[RecordBatch]) -> Self {
        let columns = batches
            .first()
            .map(|b| {
                b.schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect()
            })
            .unwrap_or_default();
        let mut rows = Vec::new();
        for batch in batches {
            let cells: Vec<_> = batch
                .columns()
                .iter()
                .map(|c| c.as_string::<i32>())
                .collect();
            for row in 0..batch.num_rows() {
                rows.push(cells.iter().map(|c| c.value(row).to_string()).collect());
            }
        }
        Self { columns, rows }
    }

    /// The cell of `row` in column `name` (empty when there is no such column).
    pub fn cell<'a>(&self, row: &'a [String], name: &str) -> &'a str {
        self.columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| row.get(i))
            .map_or("", String::as_str)
    }
}

/// One output file: its name (without `.csv`), its rows as text batches, and as [`Text`].
#[derive(Debug, Clone)]
pub struct Output {
    pub name: &'static str,
    pub batches: Vec<RecordBatch>,
    pub text: Text,
}

/// A pupil list of the report: its file, its heading and its rows.
#[derive(Debug, Clone)]
pub struct List {
    pub heading: &'static str,
    pub output: Output,
}

/// The pupil lists, in the report's order: (view, file, heading).
pub const LISTS: [(&str, &str, &str); 5] = [
    (
        "monitor_severely_absent",
        "severely_absent",
        "Severely absent",
    ),
    (
        "monitor_persistently_absent",
        "persistently_absent",
        "Persistently absent",
    ),
    (
        "monitor_newly_persistent",
        "newly_persistent",
        "Newly persistently absent",
    ),
    ("monitor_at_risk", "at_risk", "At risk"),
    ("monitor_falling", "falling", "Falling"),
];

/// Everything a report shows.
#[derive(Debug, Clone)]
pub struct ReportData {
    pub kind: Kind,
    /// Attendance, PA and SA by cohort of the report, its comparison LA and England.
    pub cohorts: Output,
    /// Weekly attendance of the same geographies.
    pub weekly: Output,
    /// The school table (trust and LA reports).
    pub schools: Option<Output>,
    /// `pupils.csv` and the lists (a school's report, or asked for).
    pub pupils: Option<Output>,
    pub lists: Vec<List>,
    /// Sessions missed by reason per enrolment (`urn`, `pupil_id`), reasons with a session.
    pub reasons: HashMap<(String, String), Vec<(String, i64)>>,
}

/// Whether a row's measures are suppressed in a report of `kind` (DOMAIN.md section 6, applied
/// outside a school's own figures): 1 or 2 enrolments, below National level.
pub fn suppressed(kind: Kind, level: &str, enrolments: i64) -> bool {
    let own = kind == Kind::School && level == "Report";
    !own && level != "National" && (1..=2).contains(&enrolments)
}

/// Reads every part of the report from the registered views.
pub async fn gather(
    ctx: &SessionContext,
    selection: &Selection,
    pupils: bool,
) -> Result<ReportData, MonitorError> {
    let kind = selection.kind;
    let mut keep = col("geographic_level").in_list(vec![lit("Report"), lit("National")], false);
    if let Some((la, _)) = selection.comparison_la() {
        keep = keep.or(col("geographic_level")
            .eq(lit("Local authority"))
            .and(col("geo_key").eq(lit(la))));
    }
    let cohorts = ctx
        .table("monitor_cohorts")
        .await?
        .filter(keep.clone())?
        .sort_by(vec![
            col("level_order"),
            col("geo_key"),
            col("topic_order"),
            col("breakdown_order"),
        ])?
        .drop_columns(&["level_order", "topic_order", "breakdown_order"])?;
    let cohorts = output(
        "cohorts",
        cohorts,
        Some(&|level, n| suppressed(kind, level, n)),
    )
    .await?;
    let weekly = ctx
        .table("monitor_weekly")
        .await?
        .filter(keep)?
        .sort_by(vec![col("level_order"), col("geo_key"), col("week_start")])?
        .drop_columns(&["level_order"])?;
    let weekly = output("weekly", weekly, None).await?;
    let schools = match kind {
        Kind::School => None,
        Kind::Trust | Kind::LocalAuthority => {
            let frame = ctx.table("monitor_report_schools").await?.sort(vec![
                col("pa_rank").sort(true, false),
                col("urn").sort(true, false),
            ])?;
            Some(output("schools", frame, Some(&|_, n| (1..=2).contains(&n))).await?)
        }
    };
    let mut data = ReportData {
        kind,
        cohorts,
        weekly,
        schools,
        pupils: None,
        lists: Vec::new(),
        reasons: HashMap::new(),
    };
    if pupils {
        read_pupils(ctx, selection, &mut data).await?;
    }
    Ok(data)
}

/// The pupil rows of the report's schools: `pupils.csv`, the lists and the reasons.
async fn read_pupils(
    ctx: &SessionContext,
    selection: &Selection,
    data: &mut ReportData,
) -> Result<(), MonitorError> {
    let in_report =
        || -> Expr { col("urn").in_list(selection.urns().into_iter().map(lit).collect(), false) };
    let order = || {
        vec![
            col("attendance_percent").sort(true, false),
            col("urn").sort(true, false),
            col("pupil_id").sort(true, false),
        ]
    };
    let pupils = ctx
        .table("monitor_pupils")
        .await?
        .filter(in_report())?
        .sort(vec![
            col("urn").sort(true, false),
            col("pupil_id").sort(true, false),
        ])?;
    data.pupils = Some(output("pupils", pupils, None).await?);
    for (view, name, heading) in LISTS {
        let frame = ctx.table(view).await?.filter(in_report())?.sort(order())?;
        data.lists.push(List {
            heading,
            output: output(name, frame, None).await?,
        });
    }
    let batches = ctx
        .table("monitor_enrolment_reasons")
        .await?
        .filter(in_report())?
        .collect()
        .await?;
    for batch in &batches {
        let urns = cast(batch.column(0), &DataType::Utf8)?;
        let urns = urns.as_string::<i32>();
        let pupils = cast(batch.column(1), &DataType::Utf8)?;
        let pupils = pupils.as_string::<i32>();
        let reasons = batch.column(2).as_struct();
        for row in 0..batch.num_rows() {
            let missed = reasons
                .column_names()
                .into_iter()
                .zip(reasons.columns())
                .filter_map(|(name, counts)| {
                    let counts = counts.as_primitive::<Int64Type>();
                    let n = if counts.is_null(row) {
                        0
                    } else {
                        counts.value(row)
                    };
                    (n > 0).then(|| (name.to_string(), n))
                })
                .collect();
            let key = (urns.value(row).to_string(), pupils.value(row).to_string());
            data.reasons.insert(key, missed);
        }
    }
    Ok(())
}

/// A row filter for suppression: given a row's `geographic_level` (empty when the result has
/// none) and its `enrolments`, whether its measures are written `c`.
type Hide<'a> = &'a dyn Fn(&str, i64) -> bool;

/// Runs `frame` and turns its result into text; with `hide`, the measures (the columns from
/// `enrolments` on) of the rows it picks are `c`. An empty result keeps its columns.
async fn output(
    name: &'static str,
    frame: DataFrame,
    hide: Option<Hide<'_>>,
) -> Result<Output, MonitorError> {
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let mut batches = frame.collect().await?;
    batches.retain(|b| b.num_rows() > 0);
    if batches.is_empty() {
        batches.push(RecordBatch::new_empty(schema));
    }
    let mut text = Vec::with_capacity(batches.len());
    for batch in &batches {
        let (first_measure, hidden) = match hide {
            Some(hide) => hidden_rows(batch, hide)?,
            None => (batch.num_columns(), vec![false; batch.num_rows()]),
        };
        text.push(batch_to_text(batch, first_measure, &hidden)?);
    }
    Ok(Output {
        name,
        text: Text::from_batches(&text),
        batches: text,
    })
}

/// The first measure column (`enrolments`) of `batch` and the rows `hide` picks.
fn hidden_rows(batch: &RecordBatch, hide: Hide<'_>) -> Result<(usize, Vec<bool>), MonitorError> {
    let schema = batch.schema();
    let first_measure = schema.index_of("enrolments")?;
    let enrolments = cast(batch.column(first_measure), &DataType::Int64)?;
    let enrolments = enrolments.as_primitive::<Int64Type>();
    let levels = match schema.index_of("geographic_level") {
        Ok(i) => Some(cast(batch.column(i), &DataType::Utf8)?),
        Err(_) => None,
    };
    let hidden = (0..batch.num_rows())
        .map(|row| {
            let level = levels
                .as_ref()
                .map_or("", |l| l.as_string::<i32>().value(row));
            hide(level, enrolments.value(row))
        })
        .collect();
    Ok((first_measure, hidden))
}

impl ReportData {
    /// Every output of the report, in the order the manifest lists them.
    pub fn outputs(&self) -> impl Iterator<Item = &Output> {
        [&self.cohorts, &self.weekly]
            .into_iter()
            .chain(&self.schools)
            .chain(&self.pupils)
            .chain(self.lists.iter().map(|l| &l.output))
    }

    /// Writes every output as CSV into `dir`.
    pub fn write_csv(&self, dir: &Path) -> Result<Vec<OutputReport>, MonitorError> {
        let mut reports = Vec::new();
        for output in self.outputs() {
            reports.extend(write_output(dir, output.name, &output.batches, false)?);
        }
        Ok(reports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Section 6's small numbers, outside a school's own figures: 1 or 2 enrolments are `c`
    /// below National level; 0 (no row) and 3 are shown; a school's own rows never hidden.
    #[test]
    fn suppression_outside_a_schools_own_figures() {
        assert!(!suppressed(Kind::School, "Report", 1));
        assert!(suppressed(Kind::School, "Local authority", 2));
        assert!(!suppressed(Kind::School, "Local authority", 3));
        assert!(suppressed(Kind::LocalAuthority, "Report", 2));
        assert!(suppressed(Kind::Trust, "Report", 1));
        assert!(!suppressed(Kind::Trust, "Report", 3));
        assert!(!suppressed(Kind::Trust, "National", 1));
    }
}

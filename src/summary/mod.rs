//! The enrolment summary: one row per enrolment per term, in the headline scope
//! (`queries/indicators/enrolment_summary.sql`), materialised as the Delta table
//! `DATA/enrolment_summary/` (partitioned by `academic_year`).
//!
//! It must never be stale. Each build records, in its commit, what `schools`, `pupils` and
//! `registers` held when it was computed: their versions, and a digest of each snapshot's live
//! files ([`crate::store::files_digest`]). Freshness compares the digests, not the versions:
//! a commit that changes no data (a vacuum) keeps the summary fresh, and a commit that lost its
//! data (a damaged log) cannot pass for the one the summary was built from. When a session
//! registers `enrolment_summary` and what it was built from differs from what the store holds
//! now (or it was never built), the table is
//! registered as a view computing the same SQL live from `registers` instead, and a warning says
//! so; `attendance summarise` (also run at the end of every ingest) brings it up to date.
//!
//! Bringing it up to date costs what changed, not the year: when only `registers` changed since
//! the last build, the summary is updated from the registers files added and removed since then
//! ([`update`]); a day's load reads the day's marks, not the year's (it still rewrites the
//! summary rows of the academic year).

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Int32Type, Int64Type};
use datafusion::logical_expr::utils::conjunction;
use datafusion::prelude::{DataFrame, Expr, SessionContext, col, lit};
use deltalake::protocol::SaveMode;
use futures::TryStreamExt;

use crate::session::summary_table::{
    SOURCE_CONTENTS_KEY, SOURCE_VERSIONS_KEY, contents_json, delta, last_build, versions_json,
};
pub use crate::session::summary_table::{SUMMARY_SQL, SummaryError, SummaryState};
pub use crate::store::SUMMARY_TABLE;
use crate::store::query_chain::chained_rows;
use crate::store::{Registered, Store, TableVersions, academic_years};

mod update;

/// How `summarise` brought the summary up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SummaryMode {
    /// It was up to date already: nothing was written.
    Fresh,
    /// Updated from the registers files added and removed since it was last brought up to date
    /// (a day's load, a correction): only those files were read, and only the academic years
    /// they touch rewritten.
    Incremental,
    /// Rebuilt from every mark: with `--force`, never built, or when no update can be made
    /// (schools or pupils changed, a replaced file vacuumed, ...: see `update`).
    Full,
}

/// Summary of a build.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SummariseReport {
    /// Rows written (for an incremental update, the rows of the academic years it rewrote).
    pub rows: u64,
    /// Chunks of schools the build ran in (0 when nothing was written).
    pub chunks: usize,
    pub seconds: f64,
    pub source_versions: TableVersions,
    /// False when the summary was already up to date.
    pub rebuilt: bool,
    pub mode: SummaryMode,
    /// For an incremental update, the registers files it read: added, and removed since the
    /// last update.
    pub registers_files_read: usize,
}

/// Brings the materialised summary up to date with the store's current tables: nothing when
/// it is fresh, an incremental update when only `registers` changed since it was last brought
/// up to date, a full build otherwise (or always, with `force`).
pub async fn summarise(
    store: &Store,
    options: &crate::session::SessionOptions,
    force: bool,
) -> Result<SummariseReport, SummaryError> {
    summarise_in_chunks(store, options, force, CHUNK_ENROLMENTS).await
}

/// [`summarise`], with at most `chunk_enrolments` enrolments a chunk (a school is never split).
pub async fn summarise_in_chunks(
    store: &Store,
    options: &crate::session::SessionOptions,
    force: bool,
    chunk_enrolments: u64,
) -> Result<SummariseReport, SummaryError> {
    let started = std::time::Instant::now();
    let _lock = store.lock("summarise", false)?;
    let ctx = crate::session::base_session(options)?;
    let registered = store.register_tables_with_contents(&ctx).await?;
    let report = |mode, rows, chunks, registers_files_read| SummariseReport {
        rows,
        chunks,
        seconds: started.elapsed().as_secs_f64(),
        source_versions: registered.versions.clone(),
        rebuilt: mode != SummaryMode::Fresh,
        mode,
        registers_files_read,
    };
    let last = last_build(store).await?;
    if !force
        && let Some((_, record)) = &last
        && record.contents == contents_json(&registered.contents)
    {
        return Ok(report(SummaryMode::Fresh, 0, 0, 0));
    }
    if !force
        && let Some((table, record)) = last
        && let Some(plan) = update::plan(store, &registered, table, &record).await?
    {
        let files = plan.files_read();
        if let Some((rows, chunks)) =
            update::apply(store, options, &registered, plan, chunk_enrolments).await?
        {
            return Ok(report(SummaryMode::Incremental, rows, chunks, files));
        }
    }
    // The build runs in chunks of schools (URN ranges), one at a time (each one itself runs on
    // every core), streamed into one write: memory is bounded by one chunk, whatever the size of
    // the store and the number of cores. Two chunks at a time were no faster at scale L (18 s),
    // and their sorts, competing for the budget, sometimes ran out of it.
    let chunks = chunk_queries(&ctx, chunk_enrolments, &[]).await?;
    let chunk_count = chunks.len();
    let plan = chained_rows(&ctx, "summary_chunks", vec![chunks]).await?;

    let table = match store.open_named(SUMMARY_TABLE).await? {
        Some(table) => table,
        None => store.table_handle(SUMMARY_TABLE)?,
    };
    let written = summary_write(&registered, None, true)
        .run(table, &ctx, plan)
        .await
        .map_err(delta(store))?;
    let rows = rows_written(store, &written).await?;
    Ok(report(SummaryMode::Full, rows, chunk_count, 0))
}

/// The write of a build (`replace_where` `None`, the whole table) or of an update (the
/// academic years it rewrites), its commit recording what the store's tables held.
fn summary_write(
    registered: &Registered,
    replace_where: Option<String>,
    replace_schema: bool,
) -> crate::store::write::PlannedWrite {
    let commit = deltalake::kernel::transaction::CommitProperties::default()
        .with_metadata([
            (
                SOURCE_VERSIONS_KEY.to_string(),
                versions_json(&registered.versions),
            ),
            (
                SOURCE_CONTENTS_KEY.to_string(),
                contents_json(&registered.contents),
            ),
        ])
        .with_max_retries(0);
    crate::store::write::PlannedWrite {
        mode: SaveMode::Overwrite,
        partition_columns: vec!["academic_year".to_string()],
        writer_properties: crate::store::writer_properties(None),
        commit,
        replace_where,
        replace_schema,
    }
}

/// The rows the latest commit of `written` added.
async fn rows_written(store: &Store, written: &deltalake::DeltaTable) -> Result<u64, SummaryError> {
    let last: Vec<_> = written
        .history(Some(1))
        .try_collect()
        .await
        .map_err(delta(store))?;
    Ok(last
        .first()
        .and_then(|c| c.info.get("operationMetrics"))
        .and_then(|m| m.get("num_added_rows"))
        .and_then(|n| n.as_u64())
        .unwrap_or(0))
}

/// Enrolments in one chunk of the summary build (at most; a school is never split).
pub const CHUNK_ENROLMENTS: u64 = 200_000;

/// The summary of each chunk of schools: contiguous URN ranges that together cover every URN,
/// each with at most `limit` enrolments (or a single school). Each chunk is the summary's SQL
/// filtered on its URN range; the filter reaches every table the summary reads (the summary
/// groups and joins by URN), and as files are sorted by URN it prunes files and row groups.
/// The summary groups by enrolment (URN and pupil), so the chunks' rows are disjoint and their
/// union is the summary.
///
/// With `years`, only those academic years are read (the summary joins on `academic_year`, so
/// this is exact).
pub async fn chunk_queries(
    ctx: &SessionContext,
    limit: u64,
    years: &[String],
) -> Result<Vec<DataFrame>, SummaryError> {
    let summary = ctx.sql(&SUMMARY_SQL).await?;
    let mut chunks = Vec::new();
    for filter in chunk_filters(ctx, limit, years).await? {
        chunks.push(match filter {
            Some(filter) => summary.clone().filter(filter)?,
            None => summary.clone(),
        });
    }
    Ok(chunks)
}

/// The filters of [`chunk_queries`]' chunks, on `urn` (and `academic_year` with `years`): any
/// table with those columns can be cut into the same chunks. `None` is no filter (one chunk of
/// every school, all years).
pub(crate) async fn chunk_filters(
    ctx: &SessionContext,
    limit: u64,
    years: &[String],
) -> Result<Vec<Option<Expr>>, SummaryError> {
    let counts = ctx
        .sql("SELECT urn, count(*) AS n FROM pupils GROUP BY urn ORDER BY urn")
        .await?
        .collect()
        .await?;
    let year_filter = (!years.is_empty()).then(|| academic_years(years));
    let mut lower: Option<i32> = None;
    let mut filters = Vec::new();
    for upper in chunk_bounds(&counts, limit)
        .into_iter()
        .map(Some)
        .chain([None])
    {
        let range = [
            lower.map(|lo| col("urn").gt(lit(lo))),
            upper.map(|hi| col("urn").lt_eq(lit(hi))),
        ];
        filters.push(conjunction(
            range.into_iter().flatten().chain(year_filter.clone()),
        ));
        lower = upper;
    }
    Ok(filters)
}

/// The upper URN bounds (inclusive) of every chunk but the last, which is open, from the
/// enrolments of each school (`urn, n` in URN order).
fn chunk_bounds(counts: &[RecordBatch], limit: u64) -> Vec<i32> {
    let mut bounds = Vec::new();
    let mut in_chunk = 0u64;
    for batch in counts {
        let urns = batch.column(0).as_primitive::<Int32Type>();
        let n = batch.column(1).as_primitive::<Int64Type>();
        for (urn, n) in urns.values().iter().zip(n.values()) {
            if in_chunk > 0 && in_chunk + *n as u64 > limit {
                bounds.push(urn - 1);
                in_chunk = 0;
            }
            in_chunk += *n as u64;
        }
    }
    bounds
}

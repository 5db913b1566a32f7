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

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Int32Type, Int64Type};
use datafusion::logical_expr::utils::conjunction;
use datafusion::prelude::{DataFrame, SessionContext, col, lit};
use deltalake::protocol::SaveMode;
use futures::TryStreamExt;

use crate::session::summary_table::{
    SOURCE_CONTENTS_KEY, SOURCE_VERSIONS_KEY, contents_json, delta, fresh_summary, versions_json,
};
pub use crate::session::summary_table::{SUMMARY_SQL, SummaryError, SummaryState};
pub use crate::store::SUMMARY_TABLE;
use crate::store::query_chain::chained_rows;
use crate::store::{Store, TableVersions, academic_years};

/// Summary of a build.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SummariseReport {
    pub rows: u64,
    /// Chunks of schools the build ran in (0 when not rebuilt).
    pub chunks: usize,
    pub seconds: f64,
    pub source_versions: TableVersions,
    /// False when the summary was already up to date.
    pub rebuilt: bool,
}

/// Builds (or rebuilds) the materialised summary from the store's current tables.
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
    let versions = registered.versions;
    if !force && fresh_summary(store, &registered.contents).await?.is_some() {
        return Ok(SummariseReport {
            rows: 0,
            chunks: 0,
            seconds: started.elapsed().as_secs_f64(),
            source_versions: versions,
            rebuilt: false,
        });
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
    let commit = deltalake::kernel::transaction::CommitProperties::default()
        .with_metadata([
            (SOURCE_VERSIONS_KEY.to_string(), versions_json(&versions)),
            (
                SOURCE_CONTENTS_KEY.to_string(),
                contents_json(&registered.contents),
            ),
        ])
        .with_max_retries(0);
    let written = crate::store::write::PlannedWrite {
        mode: SaveMode::Overwrite,
        partition_columns: vec!["academic_year".to_string()],
        writer_properties: crate::store::writer_properties(None),
        commit,
        replace_where: None,
        replace_schema: true,
    }
    .run(table, &ctx, plan)
    .await
    .map_err(delta(store))?;
    let last: Vec<_> = written
        .history(Some(1))
        .try_collect()
        .await
        .map_err(delta(store))?;
    let rows = last
        .first()
        .and_then(|c| c.info.get("operationMetrics"))
        .and_then(|m| m.get("num_added_rows"))
        .and_then(|n| n.as_u64())
        .unwrap_or(0);
    Ok(SummariseReport {
        rows,
        chunks: chunk_count,
        seconds: started.elapsed().as_secs_f64(),
        source_versions: versions,
        rebuilt: true,
    })
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
    let counts = ctx
        .sql("SELECT urn, count(*) AS n FROM pupils GROUP BY urn ORDER BY urn")
        .await?
        .collect()
        .await?;
    let year_filter = (!years.is_empty()).then(|| academic_years(years));
    let summary = ctx.sql(&SUMMARY_SQL).await?;
    let mut lower: Option<i32> = None;
    let mut chunks = Vec::new();
    for upper in chunk_bounds(&counts, limit)
        .into_iter()
        .map(Some)
        .chain([None])
    {
        let range = [
            lower.map(|lo| col("urn").gt(lit(lo))),
            upper.map(|hi| col("urn").lt_eq(lit(hi))),
        ];
        let filter = conjunction(range.into_iter().flatten().chain(year_filter.clone()));
        chunks.push(match filter {
            Some(filter) => summary.clone().filter(filter)?,
            None => summary.clone(),
        });
        lower = upper;
    }
    Ok(chunks)
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

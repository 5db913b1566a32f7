//! The enrolment summary: one row per enrolment per term, in the headline scope
//! (`queries/indicators/enrolment_summary.sql`), materialised as the Delta table
//! `DATA/enrolment_summary/` (partitioned by `academic_year`).
//!
//! It must never be stale. Each build records, in its commit, the versions of `schools`,
//! `pupils` and `registers` it was computed from. When a session registers `enrolment_summary`
//! and those versions differ from the current ones (or it was never built), the table is
//! registered as a view computing the same SQL live from `registers` instead, and a warning says
//! so; `attendance summarise` (also run at the end of every ingest) brings it up to date.

use std::sync::Arc;

use datafusion::prelude::SessionContext;
use deltalake::protocol::SaveMode;
use futures::TryStreamExt;

use crate::store::{Store, StoreError, TableVersions};

/// The SQL of the summary.
pub const SUMMARY_SQL: &str = include_str!("../queries/indicators/enrolment_summary.sql");
/// Directory of the summary table inside the store.
pub const SUMMARY_TABLE: &str = "enrolment_summary";
const SOURCE_VERSIONS_KEY: &str = "attendance.sourceVersions";

/// Errors of the summary are the store's.
pub type SummaryError = StoreError;

fn delta(store: &Store) -> impl Fn(deltalake::DeltaTableError) -> StoreError + '_ {
    move |source| StoreError::Delta {
        table: SUMMARY_TABLE,
        path: summary_path(store).display().to_string(),
        source,
    }
}

/// How `enrolment_summary` was registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryState {
    /// The materialised table matches the current store.
    Fresh,
    /// The table is missing or older than the store: a live view is registered instead.
    Live,
}

fn summary_path(store: &Store) -> std::path::PathBuf {
    store.root().join(SUMMARY_TABLE)
}

fn versions_json(versions: &TableVersions) -> serde_json::Value {
    serde_json::to_value(versions).expect("versions serialise")
}

async fn load_summary(store: &Store) -> Result<Option<deltalake::DeltaTable>, SummaryError> {
    let path = summary_path(store);
    if !path.join("_delta_log").is_dir() {
        return Ok(None);
    }
    let url = url::Url::from_directory_path(
        path.canonicalize()
            .map_err(|e| StoreError::Io(path.display().to_string(), e))?,
    )
    .expect("absolute path");
    Ok(Some(
        deltalake::open_table(url).await.map_err(delta(store))?,
    ))
}

/// The source versions the materialised summary was built from, if it exists.
async fn built_from(
    store: &Store,
) -> Result<Option<(deltalake::DeltaTable, serde_json::Value)>, SummaryError> {
    let Some(table) = load_summary(store).await? else {
        return Ok(None);
    };
    let history: Vec<_> = table
        .history(Some(1))
        .try_collect()
        .await
        .map_err(delta(store))?;
    let recorded = history
        .first()
        .and_then(|c| c.info.get(SOURCE_VERSIONS_KEY).cloned())
        .unwrap_or(serde_json::Value::Null);
    Ok(Some((table, recorded)))
}

/// Registers `enrolment_summary` in `ctx` (whose store tables are at `versions`).
pub async fn register_summary(
    ctx: &SessionContext,
    store: &Store,
    versions: &TableVersions,
) -> Result<SummaryState, SummaryError> {
    ctx.deregister_table(SUMMARY_TABLE)?;
    if let Some((table, recorded)) = built_from(store).await?
        && recorded == versions_json(versions)
    {
        table
            .update_datafusion_session(&ctx.state())
            .map_err(delta(store))?;
        let provider = table
            .table_provider()
            .await
            .map_err(|e| delta(store)(e.into()))?;
        ctx.register_table(SUMMARY_TABLE, provider)?;
        return Ok(SummaryState::Fresh);
    }
    let view = ctx.sql(SUMMARY_SQL).await?.into_view();
    ctx.register_table(SUMMARY_TABLE, view)?;
    Ok(SummaryState::Live)
}

/// Summary of a build.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SummariseReport {
    pub rows: u64,
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
    let started = std::time::Instant::now();
    let ctx = crate::session::base_session(options)?;
    let versions = store.register_tables(&ctx).await?;
    if !force
        && let Some((_, recorded)) = built_from(store).await?
        && recorded == versions_json(&versions)
    {
        return Ok(SummariseReport {
            rows: 0,
            seconds: started.elapsed().as_secs_f64(),
            source_versions: versions,
            rebuilt: false,
        });
    }
    let path = summary_path(store);
    std::fs::create_dir_all(&path).map_err(|e| StoreError::Io(path.display().to_string(), e))?;
    let url = url::Url::from_directory_path(
        path.canonicalize()
            .map_err(|e| StoreError::Io(path.display().to_string(), e))?,
    )
    .expect("absolute path");
    let table = deltalake::DeltaTable::try_from_url(url)
        .await
        .map_err(delta(store))?;
    let plan = ctx.sql(SUMMARY_SQL).await?.into_unoptimized_plan();
    let commit = deltalake::kernel::transaction::CommitProperties::default()
        .with_metadata([(SOURCE_VERSIONS_KEY.to_string(), versions_json(&versions))]);
    let written = table
        .write(vec![])
        .with_input_plan(plan)
        .with_session_state(Arc::new(ctx.state()))
        .with_save_mode(SaveMode::Overwrite)
        .with_schema_mode(deltalake::operations::write::SchemaMode::Overwrite)
        .with_partition_columns(["academic_year"])
        .with_writer_properties(crate::store::writer_properties(None))
        .with_commit_properties(commit)
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
        seconds: started.elapsed().as_secs_f64(),
        source_versions: versions,
        rebuilt: true,
    })
}

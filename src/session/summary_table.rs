//! How the session registers `enrolment_summary`: the materialised table when it is fresh
//! (built from what the store's tables hold now), else a live view computing the same SQL from
//! the registers. The build itself is in [`crate::summary`].

use datafusion::prelude::SessionContext;
use futures::TryStreamExt;

use crate::store::{SUMMARY_TABLE, Store, StoreError, TableContents, TableVersions};

/// The SQL of the summary, with the headline scope (`in_scope_enrolments.sql`, shared with the
/// real-time files) in place of its `-- @include` line.
pub static SUMMARY_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    crate::queries::with_includes(include_str!(
        "../../queries/indicators/enrolment_summary.sql"
    ))
});
/// Keys of the build's commit: the versions and the contents of the tables it was built from.
pub(crate) const SOURCE_VERSIONS_KEY: &str = "attendance.sourceVersions";
pub(crate) const SOURCE_CONTENTS_KEY: &str = "attendance.sourceContents";

/// Errors of the summary are the store's.
pub type SummaryError = StoreError;

pub(crate) fn delta(store: &Store) -> impl Fn(deltalake::DeltaTableError) -> StoreError + use<> {
    StoreError::delta(SUMMARY_TABLE, summary_path(store).display().to_string())
}

/// How `enrolment_summary` was registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryState {
    /// The materialised table matches the current store.
    Fresh,
    /// The table is missing or older than the store: a live view is registered instead.
    Live,
    /// Not up to date either: the indicators job computed it from the registers for its run.
    Computed,
}

pub(crate) fn summary_path(store: &Store) -> std::path::PathBuf {
    store.root().join(SUMMARY_TABLE)
}

pub(crate) fn versions_json(versions: &TableVersions) -> serde_json::Value {
    serde_json::to_value(versions).expect("versions serialise")
}

pub(crate) fn contents_json(contents: &TableContents) -> serde_json::Value {
    serde_json::to_value(contents).expect("contents serialise")
}

/// What the latest build or update of the summary recorded in its commit: the versions of the
/// tables it was computed from, and what they held ([`crate::store::files_digest`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct BuildRecord {
    pub versions: std::collections::BTreeMap<String, Option<u64>>,
    pub contents: serde_json::Value,
}

/// The materialised summary at its latest version and what its latest build recorded, or `None`
/// when it was never built.
pub(crate) async fn last_build(
    store: &Store,
) -> Result<Option<(deltalake::DeltaTable, BuildRecord)>, SummaryError> {
    let Some(table) = store.open_named(SUMMARY_TABLE).await? else {
        return Ok(None);
    };
    // The build's record is in the commit that wrote it; later commits (a vacuum) carry none.
    let history: Vec<_> = table
        .history(None)
        .try_collect()
        .await
        .map_err(delta(store))?;
    let record = history
        .iter()
        .find(|c| c.info.contains_key(SOURCE_CONTENTS_KEY))
        .map(|c| BuildRecord {
            versions: c
                .info
                .get(SOURCE_VERSIONS_KEY)
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default(),
            contents: c.info[SOURCE_CONTENTS_KEY].clone(),
        })
        .unwrap_or_default();
    Ok(Some((table, record)))
}

/// The materialised summary, if its last build was made from tables holding `contents`.
pub(crate) async fn fresh_summary(
    store: &Store,
    contents: &TableContents,
) -> Result<Option<deltalake::DeltaTable>, SummaryError> {
    Ok(last_build(store)
        .await?
        .and_then(|(table, record)| (record.contents == contents_json(contents)).then_some(table)))
}

/// Registers `enrolment_summary` in `ctx` (whose store tables are at `versions`); with `live`,
/// always as the live view.
pub async fn register_summary(
    ctx: &SessionContext,
    store: &Store,
    contents: &TableContents,
    live: bool,
) -> Result<SummaryState, SummaryError> {
    ctx.deregister_table(SUMMARY_TABLE)?;
    if !live && let Some(table) = fresh_summary(store, contents).await? {
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
    let view = ctx.sql(&SUMMARY_SQL).await?.into_view();
    ctx.register_table(SUMMARY_TABLE, view)?;
    Ok(SummaryState::Live)
}

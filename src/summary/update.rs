//! Incremental upkeep of the enrolment summary: a day's load or a correction costs the marks it
//! changed, not the year's.
//!
//! Every count of a summary row (possible, attendance, each reason, ...) is a sum over the
//! enrolment-term's marks, and which marks count (the headline scope, the 15-year-olds' marks
//! from the spring bank holiday on) depends only on `pupils` and `schools`. So while those two
//! are as they were at the last build, the summary of the registers now is the summary stored,
//! plus the summary of the registers files added since, minus the summary of the files removed
//! since (Delta never rewrites a file: a correction removes the files of the partitions it
//! rewrites and adds their new files). Which files changed is the difference between the live
//! files of the registers snapshot the summary recorded and those of the current one.
//!
//! A row whose `possible` falls to 0 is dropped (the build drops enrolment-terms with no
//! possible session, and every count is part of `possible`, so such a row was all zeros); a
//! row the change gives that the summary lacked is added. The academic years the change
//! touches are rewritten in one commit (`replace_where` on the year partitions), which records
//! the new source versions and contents like a build: a crash leaves the summary as it was, and
//! still recorded against the older registers, so it is stale, never read, and the next
//! `summarise` updates it from there.
//!
//! A full build is made instead when the plan cannot be trusted or would not pay: schools or
//! pupils changed, the recorded registers version can no longer be read or holds other files
//! than recorded, a removed file is gone (vacuumed), every file was replaced, or the
//! summary's columns are not the build's.

use std::collections::BTreeSet;

use datafusion::common::Column;
use datafusion::error::{DataFusionError, Result};
use datafusion::functions_aggregate::expr_fn::sum;
use datafusion::prelude::{
    DataFrame, Expr, JoinType, SessionContext, cast, coalesce, ident, lit, when,
};
use deltalake::DeltaTable;

use super::{SUMMARY_SQL, SummaryError, chunk_filters, rows_written, summary_write};
use crate::session::summary_table::{BuildRecord, contents_json, delta};
use crate::store::query_chain::chained_rows;
use crate::store::{Registered, Store, Table, academic_years, files_digest};

/// The key of a summary row: one enrolment in one term.
const KEY: [&str; 4] = ["academic_year", "term", "urn", "pupil_id"];

/// The first of the summary's counts: it and every column after it are sums over marks
/// (`queries/indicators/enrolment_summary.sql`); the columns before describe the enrolment.
const FIRST_COUNT: &str = "possible";

/// What an update reads and rewrites.
pub(super) struct UpdatePlan {
    /// The summary at its latest version.
    summary: DeltaTable,
    /// `registers` now, and at the version the summary was last brought up to date with.
    current: DeltaTable,
    built_from: DeltaTable,
    /// Files (URIs) live now and not then, and live then and not now.
    added: Vec<String>,
    removed: Vec<String>,
    /// The academic years of those files.
    years: Vec<String>,
}

impl UpdatePlan {
    /// The registers files the update reads.
    pub(super) fn files_read(&self) -> usize {
        self.added.len() + self.removed.len()
    }
}

/// The update from the summary's `record` to the store's tables as `registered`, or `None` when
/// a full build must be made (see the module's documentation).
pub(super) async fn plan(
    store: &Store,
    registered: &Registered,
    summary: DeltaTable,
    record: &BuildRecord,
) -> Result<Option<UpdatePlan>, SummaryError> {
    let now = contents_json(&registered.contents);
    for table in [Table::Schools, Table::Pupils] {
        if record.contents.get(table.name()).is_none()
            || record.contents.get(table.name()) != now.get(table.name())
        {
            return Ok(None);
        }
    }
    let registers = Table::Registers.name();
    let (Some(Some(version)), Some(recorded)) = (
        record.versions.get(registers),
        record.contents.get(registers).and_then(|d| d.as_str()),
    ) else {
        return Ok(None);
    };
    let Some(current) = store.load(Table::Registers).await? else {
        return Ok(None);
    };
    // The lock is held, so this is the snapshot the session registered; checked all the same.
    if now.get(registers).and_then(|d| d.as_str()) != Some(files_digest(&current)?.as_str()) {
        return Ok(None);
    }
    let mut built_from = store.table_handle(registers)?;
    if built_from.load_version(*version).await.is_err() || files_digest(&built_from)? != recorded {
        return Ok(None);
    }
    let before = file_uris(&built_from)?;
    let after = file_uris(&current)?;
    let added: Vec<String> = after.difference(&before).cloned().collect();
    let removed: Vec<String> = before.difference(&after).cloned().collect();
    // Every file replaced (a reload of everything, a correction in every partition): a build
    // reads the marks once, an update both versions of them.
    if !before.is_empty() && removed.len() == before.len() {
        return Ok(None);
    }
    // A removed file must still be readable (a vacuum deletes them).
    if !removed.iter().all(|uri| is_local_file(uri)) {
        return Ok(None);
    }
    // Every registers file is in one academic year's partition.
    let Some(years) = added
        .iter()
        .chain(&removed)
        .map(|uri| partition_value(uri, "academic_year"))
        .collect::<Option<BTreeSet<String>>>()
    else {
        return Ok(None);
    };
    Ok(Some(UpdatePlan {
        summary,
        current,
        built_from,
        added,
        removed,
        years: years.into_iter().collect(),
    }))
}

/// Applies `plan` in chunks of schools (as the build does, so memory is bounded by a chunk) and
/// commits the rewritten academic years. Returns the rows written and the chunks, or `None`
/// when the stored summary's columns are not the build's (a full build must be made).
pub(super) async fn apply(
    store: &Store,
    options: &crate::session::SessionOptions,
    registered: &Registered,
    plan: UpdatePlan,
    chunk_enrolments: u64,
) -> Result<Option<(u64, usize)>, SummaryError> {
    let ctx = crate::session::base_session(options)?;
    store.register_tables(&ctx).await?;
    plan.summary
        .update_datafusion_session(&ctx.state())
        .map_err(delta(store))?;
    let stored = ctx.read_table(plan.summary.table_provider().await?)?;

    // The summary of the added files, then of the removed ones: `registers` is each set of
    // files in turn (a query keeps the table it was planned with).
    register_files(&ctx, &plan.current, &plan.added).await?;
    let added = ctx.sql(&SUMMARY_SQL).await?;
    register_files(&ctx, &plan.built_from, &plan.removed).await?;
    let removed = ctx.sql(&SUMMARY_SQL).await?;
    store.register_tables(&ctx).await?;

    let names: Vec<String> = added
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let stored_names: BTreeSet<&String> =
        stored.schema().fields().iter().map(|f| f.name()).collect();
    if stored_names != names.iter().collect() {
        return Ok(None);
    }

    let filters = chunk_filters(&ctx, chunk_enrolments, &plan.years).await?;
    let chunk_count = filters.len();
    let mut chunks = Vec::new();
    for filter in filters {
        let only = |frame: &DataFrame| match &filter {
            Some(filter) => frame.clone().filter(filter.clone()),
            None => Ok(frame.clone()),
        };
        chunks.push(updated_rows(
            &names,
            only(&stored)?,
            only(&added)?,
            only(&removed)?,
        )?);
    }
    let rows = chained_rows(&ctx, "summary_update", vec![chunks]).await?;
    let years = crate::store::partitions::predicate_sql(&academic_years(&plan.years))?;
    let written = summary_write(registered, Some(years), false)
        .run(plan.summary, &ctx, rows)
        .await
        .map_err(delta(store))?;
    Ok(Some((rows_written(store, &written).await?, chunk_count)))
}

/// Registers `registers` in `ctx` as the rows of `files` of `table`'s snapshot.
async fn register_files(
    ctx: &SessionContext,
    table: &DeltaTable,
    files: &[String],
) -> Result<(), SummaryError> {
    let name = Table::Registers.name();
    table
        .update_datafusion_session(&ctx.state())
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    let rows = if files.is_empty() {
        // No file: the table's columns, no row (a selection of no file would read them all).
        ctx.read_table(table.table_provider().await?)?
            .filter(lit(false))?
    } else {
        let provider = table
            .table_provider()
            .with_file_paths(files.iter().cloned())
            .await?;
        ctx.read_table(provider)?
    };
    ctx.deregister_table(name)?;
    ctx.register_table(name, rows.into_view())?;
    Ok(())
}

/// One chunk of the summary after the change: `stored` plus `added` minus `removed` (each
/// with the columns `names`, the summary's), rows of no possible session dropped, in the
/// build's order.
fn updated_rows(
    names: &[String],
    stored: DataFrame,
    added: DataFrame,
    removed: DataFrame,
) -> Result<DataFrame> {
    let first_count = names
        .iter()
        .position(|n| n == FIRST_COUNT)
        .ok_or_else(|| DataFusionError::Internal("the summary has no `possible`".into()))?;
    let (describing, counts) = names.split_at(first_count);
    let types = stored.schema().clone();
    let type_of = |name: &str| -> Result<_> {
        Ok(types.field_with_unqualified_name(name)?.data_type().clone())
    };
    // Both sides in the stored types; the removed files' counts negated.
    let typed = |frame: DataFrame, negate: bool| -> Result<DataFrame> {
        let columns = names
            .iter()
            .map(|n| {
                let value = if negate && counts.contains(n) {
                    Expr::Negative(Box::new(ident(n)))
                } else {
                    ident(n)
                };
                Ok(cast(value, type_of(n)?).alias(n))
            })
            .collect::<Result<Vec<_>>>()?;
        frame.select(columns)
    };
    let change = typed(added, false)?
        .union(typed(removed, true)?)?
        .aggregate(
            describing.iter().map(ident).collect(),
            counts.iter().map(|c| sum(ident(c)).alias(c)).collect(),
        )?;

    let before = |name: &str| Expr::Column(Column::new(Some("stored"), name));
    let after = |name: &str| Expr::Column(Column::new(Some("change"), name));
    let on: Vec<Expr> = KEY.iter().map(|k| before(k).eq(after(k))).collect();
    let joined = stored
        .alias("stored")?
        .join_on(change.alias("change")?, JoinType::Full, on)?;
    let columns = names
        .iter()
        .map(|n| {
            let value = if counts.contains(n) {
                cast(
                    coalesce(vec![before(n), lit(0)]) + coalesce(vec![after(n), lit(0)]),
                    type_of(n)?,
                )
            } else {
                // A stored row describes its enrolment (from the same pupils and schools).
                when(before("urn").is_not_null(), before(n)).otherwise(after(n))?
            };
            Ok(value.alias(n))
        })
        .collect::<Result<Vec<_>>>()?;
    joined
        .select(columns)?
        .filter(ident(FIRST_COUNT).gt(lit(0)))?
        .sort(
            ["academic_year", "urn", "pupil_id", "term"]
                .iter()
                .map(|c| ident(*c).sort(true, false))
                .collect(),
        )
}

/// The URIs of the live files of `table`'s snapshot.
fn file_uris(table: &DeltaTable) -> Result<BTreeSet<String>, SummaryError> {
    Ok(table
        .get_file_uris()
        .map_err(|e| DataFusionError::External(Box::new(e)))?
        .collect())
}

/// Whether the data file `uri` (a local path, or a `file://` URL) exists.
fn is_local_file(uri: &str) -> bool {
    let path = match url::Url::parse(uri) {
        Ok(url) if url.scheme() == "file" => url.to_file_path().ok(),
        Ok(_) => None,
        Err(_) => Some(std::path::PathBuf::from(uri)),
    };
    path.is_some_and(|p| p.is_file())
}

/// The value of the hive partition `column` in a file's URI (`.../academic_year=2024-25/...`).
fn partition_value(uri: &str, column: &str) -> Option<String> {
    let prefix = format!("{column}=");
    uri.split('/')
        .find_map(|part| part.strip_prefix(&prefix))
        .map(|v| v.replace("%2D", "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_year_of_a_file() {
        let uri = "file:///d/registers/academic_year=2024-25/region_code=E12000004/la_code=855/part-1.parquet";
        assert_eq!(
            partition_value(uri, "academic_year").as_deref(),
            Some("2024-25")
        );
        assert_eq!(partition_value(uri, "la_code").as_deref(), Some("855"));
        assert_eq!(partition_value(uri, "term"), None);
    }
}

//! Writing: one Delta commit per table, with the queries that put the rows in storage order.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::datasource::MemTable;
use datafusion::prelude::{DataFrame, Expr, SessionContext};
use deltalake::protocol::SaveMode;

use crate::session::{Profile, switch_profile};
use crate::store::partitions::{
    academic_years, predicate_sql, register_filtered, register_partitions,
};
use crate::store::query_chain::chained_rows;
use crate::store::write::{Commit, write_sources};
use crate::store::{Store, Table, commit_properties};

use super::*;

/// Casts string columns of any encoding (Utf8View, dictionaries) to plain Utf8.
pub(super) fn cast_to_plain(batch: &RecordBatch) -> Result<RecordBatch, IngestError> {
    use datafusion::arrow::datatypes::DataType;
    let columns = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Utf8View | DataType::LargeUtf8 | DataType::Dictionary(_, _) => {
                datafusion::arrow::compute::cast(c, &DataType::Utf8)
            }
            _ => Ok(c.clone()),
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| IngestError::DataFusion(e.into()))?;
    let fields: Vec<_> = batch
        .schema()
        .fields()
        .iter()
        .zip(&columns)
        .map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone()))
        .collect();
    RecordBatch::try_new(
        Arc::new(datafusion::arrow::datatypes::Schema::new(fields)),
        columns,
    )
    .map_err(|e| IngestError::DataFusion(e.into()))
}

/// What the staged marks hold against the store, once checked.
pub(super) struct RegisterPlan {
    /// Staged rows refused (duplicates, conflicts), as `(_src, _line)`.
    pub(super) rejected: Vec<(i32, i64)>,
    /// Staged marks identical to a stored mark.
    pub(super) unchanged: u64,
    /// Stored marks that staged marks replace with a new code (`--update`).
    pub(super) replaced: u64,
    /// Staged marks that collide with a stored mark (identical or replaced).
    pub(super) overlapping: u64,
    /// How many writers (or sorting streams, for an input that is not large) run at once.
    pub(super) workers: usize,
    /// More staged marks than `large_rows`: planned for memory ([`Profile::MemoryBound`]).
    pub(super) large_input: bool,
    pub(super) large_rows: usize,
    /// The query engine's budget.
    pub(super) memory_limit: usize,
}

/// The columns `names` for a select list, each prefixed by `table` (`r.` or nothing); with
/// `plain`, strings as plain `Utf8`: sorts that spill keep memory outside their budget for
/// `Utf8View` columns (the store's scans give views), about 2.5 times as much at scale M.
pub(super) fn select_list(names: &[&str], table: &str, plain: bool) -> String {
    names
        .iter()
        .map(|n| {
            let string = crate::schema::REGISTERS
                .field_with_name(n)
                .is_ok_and(|f| f.data_type() == &datafusion::arrow::datatypes::DataType::Utf8);
            if plain && string {
                format!("arrow_cast({table}\"{n}\", 'Utf8') AS \"{n}\"")
            } else {
                format!("{table}\"{n}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn delta_error(table: Table) -> impl Fn(deltalake::DeltaTableError) -> IngestError {
    move |source| {
        if crate::store::is_commit_conflict(&source) {
            IngestError::Store(crate::store::StoreError::Conflict(table.name()))
        } else {
            IngestError::Delta {
                table: table.name(),
                source,
            }
        }
    }
}

/// Writes the rows of `chains` to `table` in one commit. Each chain is a list of queries run
/// one after another ([`chained_rows`]); no partition of the table may be in two chains, so
/// each partition's rows reach the writer in the order its queries give them.
pub(super) async fn commit(
    store: &Store,
    ctx: &SessionContext,
    table: Table,
    chains: Vec<Vec<DataFrame>>,
    mode: SaveMode,
    replace_where: Option<Expr>,
    hashes: &[String],
) -> Result<(), IngestError> {
    let delta = store.load_for_write(table).await?;
    let plan = chained_rows(ctx, &format!("ingest_rows_{}", table.name()), chains).await?;
    let write = crate::store::write::PlannedWrite {
        replace_where: replace_where.as_ref().map(predicate_sql).transpose()?,
        ..crate::store::write::PlannedWrite::to_table(table, mode, commit_properties(hashes))
    };
    write
        .run(delta, ctx, plan)
        .await
        .map_err(delta_error(table))?;
    Ok(())
}

/// Registers the stored marks of the partitions `touched` as the view
/// `ingest_touched_registers` and, with `kept`, the marks to load in them (of `ingest_kept`) as
/// `ingest_touched_kept`. A query planned before keeps the views it was planned with.
pub(super) async fn register_touched<'a>(
    ctx: &SessionContext,
    touched: impl IntoIterator<Item = &'a (String, String, String)>,
    kept: bool,
) -> Result<(), IngestError> {
    let filter = register_partitions(touched);
    if kept {
        register_filtered(ctx, "ingest_touched_kept", "ingest_kept", filter.clone()).await?;
    }
    register_filtered(ctx, "ingest_touched_registers", "registers", filter).await?;
    Ok(())
}

pub(super) async fn count(ctx: &SessionContext, sql: &str) -> Result<u64, IngestError> {
    let batches = ctx.sql(sql).await?.collect().await?;
    Ok(batches
        .first()
        .filter(|b| b.num_rows() > 0)
        .map(|b| b.column(0).as_primitive::<Int64Type>().value(0) as u64)
        .unwrap_or(0))
}

pub(super) fn register_batches(
    ctx: &SessionContext,
    name: &str,
    batches: Vec<RecordBatch>,
) -> Result<(), IngestError> {
    let schema = batches[0].schema();
    ctx.deregister_table(name)?;
    ctx.register_table(name, Arc::new(MemTable::try_new(schema, vec![batches])?))?;
    Ok(())
}

/// Writes the loaded rows of `schools` or `pupils` (`batches`), which replace the stored rows
/// with their key (the table's partition and sort columns: `urn`; `academic_year, urn,
/// pupil_id`). A partitioned table (`pupils`) has only the partitions loaded rewritten.
pub(super) async fn write_keyed_rows(
    store: &Store,
    ctx: &SessionContext,
    table: Table,
    batches: Vec<RecordBatch>,
    hashes: &[String],
    summary: &mut TableSummary,
) -> Result<(), IngestError> {
    let stored = table.name();
    let loaded = format!("ingest_{stored}");
    register_batches(ctx, &loaded, batches)?;
    let schema = table.schema();
    let key: Vec<&str> = table
        .partition_columns()
        .iter()
        .chain(table.sort_columns())
        .copied()
        .collect();
    let same = |columns: &mut dyn Iterator<Item = &str>| {
        columns
            .map(
                |c| match schema.field_with_name(c).map(|f| f.is_nullable()) {
                    // In parentheses: the parser reads what follows `FROM` as far as it can.
                    Ok(true) => format!("(n.\"{c}\" IS NOT DISTINCT FROM s.\"{c}\")"),
                    _ => format!("n.\"{c}\" = s.\"{c}\""),
                },
            )
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    let same_key = same(&mut key.iter().copied());
    let same_row = same(&mut schema.fields().iter().map(|f| f.name().as_str()));
    let replaced = count(
        ctx,
        &format!("SELECT count(*) FROM {loaded} n JOIN {stored} s ON {same_key}"),
    )
    .await?;
    let unchanged = count(
        ctx,
        &format!("SELECT count(*) FROM {loaded} n JOIN {stored} s ON {same_row}"),
    )
    .await?;
    let total = count(ctx, &format!("SELECT count(*) FROM {loaded}")).await?;
    summary.rows_unchanged = unchanged;
    summary.rows_replaced = replaced - unchanged;
    summary.rows_added = total - replaced;
    // The stored rows the write replaces: the whole table, or the partitions loaded.
    let (kept_from, mode, replace_where) = if table.partition_columns().is_empty() {
        summary.partitions = 1;
        (stored.to_string(), SaveMode::Overwrite, None)
    } else {
        let years = distinct_years(ctx, &loaded).await?;
        summary.partitions = years.len();
        if years.is_empty() {
            return Ok(());
        }
        let filter = academic_years(&years);
        let view = format!("ingest_replaced_{stored}");
        register_filtered(ctx, &view, stored, filter.clone()).await?;
        if store.load(table).await?.is_some() {
            (view, SaveMode::Overwrite, Some(filter))
        } else {
            (view, SaveMode::Append, None)
        }
    };
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let columns = select_list(&names, "", false);
    let order = key.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>();
    let rows = ctx
        .sql(&format!(
            "SELECT {columns} FROM {kept_from} s
               WHERE NOT EXISTS (SELECT 1 FROM {loaded} n WHERE {same_key})
             UNION ALL SELECT {columns} FROM {loaded}
             ORDER BY {}",
            order.join(", ")
        ))
        .await?;
    commit(
        store,
        ctx,
        table,
        vec![vec![rows]],
        mode,
        replace_where,
        hashes,
    )
    .await
}

/// The academic years of the rows of `table`, in order.
async fn distinct_years(ctx: &SessionContext, table: &str) -> Result<Vec<String>, IngestError> {
    let batches = ctx
        .sql(&format!(
            "SELECT DISTINCT academic_year FROM {table} ORDER BY 1"
        ))
        .await?
        .collect()
        .await?;
    let mut years = Vec::new();
    for batch in &batches {
        let batch = cast_to_plain(batch)?;
        let column = batch.column(0).as_string::<i32>();
        years.extend((0..column.len()).map(|i| column.value(i).to_string()));
    }
    Ok(years)
}

pub(super) async fn write_registers(
    store: &Store,
    ctx: &SessionContext,
    plan: Option<RegisterPlan>,
    staged: &[StagedFile],
    touched: &BTreeSet<(String, String, String)>,
    hashes: &[String],
    report: &mut IngestSummary,
) -> Result<(), IngestError> {
    let summary = &mut report.registers;
    let Some(plan) = plan else {
        // Nothing valid to load.
        return Ok(());
    };
    // The marks to load: staged minus rejected.
    let kept = if plan.rejected.is_empty() {
        "SELECT * FROM ingest_staged".to_string()
    } else {
        let (src, line): (Vec<i32>, Vec<i64>) = plan.rejected.iter().copied().unzip();
        let batch = RecordBatch::try_from_iter(vec![
            (
                "_src",
                Arc::new(datafusion::arrow::array::Int32Array::from(src)) as _,
            ),
            (
                "_line",
                Arc::new(datafusion::arrow::array::Int64Array::from(line)) as _,
            ),
        ])
        .map_err(|e| IngestError::DataFusion(e.into()))?;
        register_batches(ctx, "ingest_rejected", vec![batch])?;
        // The join holds the refused rows (the left side) in memory, not the staged ones.
        "SELECT s.* FROM ingest_rejected r RIGHT ANTI JOIN ingest_staged s
           ON s._src = r._src AND s._line = r._line"
            .to_string()
    };
    ctx.sql(&format!("CREATE OR REPLACE VIEW ingest_kept AS {kept}"))
        .await?
        .collect()
        .await?;
    let kept_rows = count(ctx, "SELECT count(*) FROM ingest_kept").await?;
    summary.rows_unchanged = plan.unchanged;
    summary.rows_replaced = plan.replaced;
    summary.rows_added = kept_rows - plan.overlapping;
    summary.partitions = touched.len();
    if kept_rows == plan.unchanged {
        // Every valid mark is stored already: nothing to write.
        return Ok(());
    }
    let names: Vec<&str> = crate::schema::REGISTERS
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    // The storage order. The partition columns need no sorting: a school has one LA and region
    // and a date one academic year, and the writer splits the sorted rows by partition keeping
    // their order, so each partition's file is sorted by school, pupil, date and session.
    let order = "ORDER BY urn, pupil_id, \"date\", \"session\"";
    let workers = plan.workers;
    if plan.overlapping == 0
        && plan.rejected.is_empty()
        && let Some(sequence) = sorted_sequence(staged)
    {
        // Already in storage order: the staged files are written as they are, no sort.
        report.presorted = true;
        let sources = sorted_sources(&sequence, workers);
        write_sources(
            store,
            Table::Registers,
            sources,
            workers,
            Commit::Append,
            hashes,
        )
        .await?;
        Ok(())
    } else if plan.overlapping == 0 {
        append_partitions(store, ctx, &plan, touched, &names, order, hashes).await
    } else {
        rewrite_partitions(store, ctx, &plan, touched, &names, order, hashes).await
    }
}

/// Appends the marks of partitions that hold none of them yet, sorted into storage order.
async fn append_partitions(
    store: &Store,
    ctx: &SessionContext,
    plan: &RegisterPlan,
    touched: &BTreeSet<(String, String, String)>,
    names: &[&str],
    order: &str,
    hashes: &[String],
) -> Result<(), IngestError> {
    let workers = plan.workers;
    // The partitions in two halves, each sorted and written by its own stream, so both
    // cores sort and encode (a partition is in one half only, so its file stays sorted).
    let touched: Vec<_> = touched.iter().cloned().collect();
    let streams = if plan.large_input { 1 } else { workers };
    let chunk = touched.len().div_ceil(streams).max(1);
    let columns = select_list(names, "", plan.large_input);
    let mut chains = Vec::new();
    for half in touched.chunks(chunk) {
        register_touched(ctx, half, true).await?;
        let sql = format!("SELECT {columns} FROM ingest_touched_kept {order}");
        chains.push(vec![ctx.sql(&sql).await?]);
    }
    commit(
        store,
        ctx,
        Table::Registers,
        chains,
        SaveMode::Append,
        None,
        hashes,
    )
    .await
}

/// Rewrites the touched partitions: the stored marks not superseded, plus the new marks.
async fn rewrite_partitions(
    store: &Store,
    ctx: &SessionContext,
    plan: &RegisterPlan,
    touched: &BTreeSet<(String, String, String)>,
    names: &[&str],
    order: &str,
    hashes: &[String],
) -> Result<(), IngestError> {
    let chains: Vec<Vec<DataFrame>> = if plan.large_input {
        // Many new marks: one query, one sort (which spills), the staged marks read once.
        vec![vec![
            rewrite_query(ctx, names, touched, true, true, order).await?,
        ]]
    } else {
        // A correction: one query per partition, each sorting one partition's marks (in
        // memory, unless a partition is large), the partitions in `workers` streams. (Groups
        // of partitions of up to 4 M marks, to read the staged marks fewer times, ran out of
        // the budget at scale M.)
        register_touched(ctx, touched, false).await?;
        let largest = count(
            ctx,
            "SELECT count(*) AS n FROM ingest_touched_registers
             GROUP BY academic_year, la_code ORDER BY n DESC LIMIT 1",
        )
        .await?;
        // Two sorts of a quarter of `large_rows` each fit the budget in memory; larger
        // partitions are sorted one at a time, with room to spill.
        let large = largest as usize > plan.large_rows / 4;
        let streams = if large {
            switch_profile(ctx, Profile::MemoryBound, plan.memory_limit);
            1
        } else {
            plan.workers
        };
        let mut queries = Vec::new();
        for partition in touched {
            queries.push(rewrite_query(ctx, names, [partition], large, false, order).await?);
        }
        let chunk = queries.len().div_ceil(streams).max(1);
        queries.chunks(chunk).map(|c| c.to_vec()).collect()
    };
    commit(
        store,
        ctx,
        Table::Registers,
        chains,
        SaveMode::Overwrite,
        Some(register_partitions(touched)),
        hashes,
    )
    .await
}

/// The query that rewrites the partitions `touched`. A new mark replaces the stored one with
/// its key. For a correction, the stored marks without a new one are found by a join holding
/// the new marks (few) in memory; for many new marks (`large_input`), both go through one sort
/// by key (which spills), the stored just before the new, and a mark is dropped when the next
/// has its key. With `large`, sorts that may spill take strings as plain `Utf8`.
async fn rewrite_query<'a>(
    ctx: &SessionContext,
    names: &[&str],
    touched: impl IntoIterator<Item = &'a (String, String, String)>,
    large: bool,
    large_input: bool,
    order: &str,
) -> Result<DataFrame, IngestError> {
    register_touched(ctx, touched, true).await?;
    // Sorts that may spill take strings as plain `Utf8` (see `select_list`).
    let columns = select_list(names, "", large);
    let sql = if large_input {
        let plain = select_list(names, "", true);
        let next = |c: &str| format!("lead({c}) OVER w");
        format!(
            r#"SELECT {columns} FROM (
                 SELECT *, {} AS next_urn, {} AS next_pupil, {} AS next_date,
                        {} AS next_session
                 FROM (SELECT {plain}, 0 AS _new FROM ingest_touched_registers
                       UNION ALL
                       SELECT {plain}, 1 AS _new FROM ingest_touched_kept)
                 WINDOW w AS (ORDER BY urn, pupil_id, "date", "session", _new))
               WHERE NOT (next_urn IS NOT NULL AND next_urn = urn
                          AND next_pupil = pupil_id AND next_date = "date"
                          AND next_session = "session") {order}"#,
            next("urn"),
            next("pupil_id"),
            next("\"date\""),
            next("\"session\""),
        )
    } else {
        let kept_columns = select_list(names, "r.", large);
        format!(
            r#"SELECT {kept_columns} FROM ingest_touched_kept k
                 RIGHT ANTI JOIN ingest_touched_registers r
                 ON k.urn = r.urn AND k.pupil_id = r.pupil_id AND k."date" = r."date"
                    AND k."session" = r."session"
               UNION ALL SELECT {columns} FROM ingest_touched_kept {order}"#
        )
    };
    // Planned now: the plan holds the views as registered above.
    Ok(ctx.sql(&sql).await?)
}

//! Writing: one Delta commit per table, with the queries that put the rows in storage order.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::MemTable;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::SessionContext;
use deltalake::protocol::SaveMode;
use futures::{StreamExt, TryStreamExt};

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
    /// More staged marks than `large_rows`: planned for memory ([`plan_for_memory`]).
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

/// Plans the session's queries for memory rather than speed: sorts one at a time (one sort in
/// each query, and one query writing), each with a large part of the budget for its merges (a
/// sort that spills first merges what it holds, which needs memory of its own: reserved up
/// front, or the merge can find the budget taken by the sorts), and joins that sort both sides
/// and merge (the sorts spill) rather than hash joins (which hold a side in memory).
pub(super) async fn plan_for_memory(
    ctx: &SessionContext,
    memory_limit: usize,
) -> Result<(), IngestError> {
    // Two fifths of the budget, at most 512 MB (as with the default budget), for a spilling
    // sort's merge.
    let reservation = format!(
        "SET datafusion.execution.sort_spill_reservation_bytes = {}",
        (memory_limit / 5 * 2).min(512 << 20)
    );
    for setting in [
        "SET datafusion.optimizer.prefer_hash_join = false",
        reservation.as_str(),
        "SET datafusion.execution.target_partitions = 1",
        "SET datafusion.optimizer.repartition_sorts = false",
        "SET datafusion.execution.parquet.schema_force_view_types = false",
    ] {
        ctx.sql(setting).await?.collect().await?;
    }
    Ok(())
}

pub(super) fn partition_filter(
    alias: &str,
    touched: &BTreeSet<(String, String, String)>,
) -> String {
    let mut by_year: HashMap<&str, Vec<&str>> = HashMap::new();
    for (year, _, la) in touched {
        by_year.entry(year).or_default().push(la);
    }
    let mut years: Vec<_> = by_year.into_iter().collect();
    years.sort();
    let terms: Vec<String> = years
        .iter()
        .map(|(year, las)| {
            let list: Vec<String> = las.iter().map(|l| format!("'{l}'")).collect();
            format!(
                "({alias}academic_year = '{year}' AND {alias}la_code IN ({}))",
                list.join(", ")
            )
        })
        .collect();
    format!("({})", terms.join(" OR "))
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

/// Writes the rows of `streams` to `table` in one commit. Each stream is a list of queries run
/// one after another (each sorted when it says so); no partition of the table may be in two
/// streams, so each partition's rows reach the writer in the order its queries give them.
pub(super) async fn commit(
    store: &Store,
    ctx: &SessionContext,
    table: Table,
    streams: &[Vec<String>],
    mode: SaveMode,
    replace_where: Option<String>,
    hashes: &[String],
) -> Result<(), IngestError> {
    let delta = store.load_for_write(table).await?;
    // The rows are computed here and handed to the writer as a table of one partition per
    // stream. Handed the queries themselves, the writer's planner drops their ORDER BY
    // (nothing above the sort asks for the order), and the files would not be sorted.
    let first = streams.iter().flatten().next().expect("at least one query");
    let schema = ctx.sql(first).await?.create_physical_plan().await?.schema();
    let sources: Vec<Arc<dyn PartitionStream>> = streams
        .iter()
        .map(|sqls| {
            Arc::new(QueryChain {
                schema: schema.clone(),
                ctx: ctx.clone(),
                sqls: std::sync::Mutex::new(Some(sqls.clone())),
            }) as _
        })
        .collect();
    let schema = sources[0].schema().clone();
    let name = format!("ingest_rows_{}", table.name());
    ctx.deregister_table(&name)?;
    ctx.register_table(&name, Arc::new(StreamingTable::try_new(schema, sources)?))?;
    let plan = ctx
        .sql(&format!("SELECT * FROM {name}"))
        .await?
        .into_unoptimized_plan();
    let write = crate::store::write::PlannedWrite {
        replace_where,
        ..crate::store::write::PlannedWrite::to_table(table, mode, commit_properties(hashes))
    };
    write
        .run(delta, ctx, plan)
        .await
        .map_err(delta_error(table))?;
    Ok(())
}

/// Queries run one after another as one stream, offered as a table's partition; it can be
/// read once. A query starts when the one before has given all its rows, so only one of the
/// stream's sorts holds memory at a time.
pub(super) struct QueryChain {
    pub(super) schema: SchemaRef,
    pub(super) ctx: SessionContext,
    pub(super) sqls: std::sync::Mutex<Option<Vec<String>>>,
}

impl std::fmt::Debug for QueryChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QueryChain")
    }
}

impl PartitionStream for QueryChain {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        match self.sqls.lock().expect("not poisoned").take() {
            Some(sqls) => {
                let ctx = self.ctx.clone();
                let batches = futures::stream::iter(sqls)
                    .then(move |sql| {
                        let ctx = ctx.clone();
                        async move { ctx.sql(&sql).await?.execute_stream().await }
                    })
                    .try_flatten();
                Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), batches))
            }
            // Never an empty stream: a second read would silently write nothing.
            None => Box::pin(RecordBatchStreamAdapter::new(
                self.schema.clone(),
                futures::stream::once(async {
                    Err(datafusion::error::DataFusionError::Internal(
                        "ingest rows read twice".into(),
                    ))
                }),
            )),
        }
    }
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

pub(super) async fn write_schools(
    store: &Store,
    ctx: &SessionContext,
    batches: Vec<RecordBatch>,
    hashes: &[String],
    summary: &mut TableSummary,
) -> Result<(), IngestError> {
    register_batches(ctx, "ingest_schools", batches)?;
    let replaced = count(
        ctx,
        "SELECT count(*) FROM ingest_schools n JOIN schools s ON n.urn = s.urn",
    )
    .await?;
    let unchanged = count(
        ctx,
        "SELECT count(*) FROM ingest_schools n JOIN schools s ON n.urn = s.urn
          AND n.school_name = s.school_name AND n.old_la_code = s.old_la_code
          AND n.new_la_code = s.new_la_code AND n.la_name = s.la_name
          AND n.region_code = s.region_code AND n.region_name = s.region_name
          AND n.phase = s.phase",
    )
    .await?;
    let total = count(ctx, "SELECT count(*) FROM ingest_schools").await?;
    summary.rows_unchanged = unchanged;
    summary.rows_replaced = replaced - unchanged;
    summary.rows_added = total - replaced;
    let columns = crate::schema::SCHOOLS
        .fields()
        .iter()
        .map(|f| format!("\"{}\"", f.name()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM schools WHERE urn NOT IN (SELECT urn FROM ingest_schools)
         UNION ALL SELECT {columns} FROM ingest_schools ORDER BY urn"
    );
    commit(
        store,
        ctx,
        Table::Schools,
        &[vec![sql]],
        SaveMode::Overwrite,
        None,
        hashes,
    )
    .await?;
    summary.partitions = 1;
    Ok(())
}

pub(super) async fn write_pupils(
    store: &Store,
    ctx: &SessionContext,
    batches: Vec<RecordBatch>,
    hashes: &[String],
    summary: &mut TableSummary,
) -> Result<(), IngestError> {
    register_batches(ctx, "ingest_pupils", batches)?;
    let same_key =
        "n.academic_year = p.academic_year AND n.pupil_id = p.pupil_id AND n.urn = p.urn";
    let replaced = count(
        ctx,
        &format!("SELECT count(*) FROM ingest_pupils n JOIN pupils p ON {same_key}"),
    )
    .await?;
    let unchanged = count(
        ctx,
        &format!(
            "SELECT count(*) FROM ingest_pupils n JOIN pupils p ON {same_key}
              AND n.nc_year = p.nc_year AND n.sex = p.sex
              AND (n.date_of_birth IS NOT DISTINCT FROM p.date_of_birth)
              AND n.fsm = p.fsm AND n.sen = p.sen AND n.cla = p.cla AND n.cin = p.cin AND n.cpp = p.cpp"
        ),
    )
    .await?;
    let total = count(ctx, "SELECT count(*) FROM ingest_pupils").await?;
    summary.rows_unchanged = unchanged;
    summary.rows_replaced = replaced - unchanged;
    summary.rows_added = total - replaced;
    let years: Vec<String> = ctx
        .sql("SELECT DISTINCT academic_year FROM ingest_pupils ORDER BY 1")
        .await?
        .collect()
        .await?
        .iter()
        .flat_map(|b| {
            let b = cast_to_plain(b).expect("strings");
            let col = b.column(0).as_string::<i32>().clone();
            (0..col.len()).map(move |i| col.value(i).to_string())
        })
        .collect();
    summary.partitions = years.len();
    if years.is_empty() {
        return Ok(());
    }
    let year_list = years
        .iter()
        .map(|y| format!("'{y}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let columns = crate::schema::PUPILS
        .fields()
        .iter()
        .map(|f| format!("\"{}\"", f.name()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM pupils p WHERE p.academic_year IN ({year_list})
           AND NOT EXISTS (SELECT 1 FROM ingest_pupils n WHERE {same_key})
         UNION ALL SELECT {columns} FROM ingest_pupils
         ORDER BY academic_year, urn, pupil_id"
    );
    let exists = store.load(Table::Pupils).await?.is_some();
    let (mode, predicate) = if exists {
        (
            SaveMode::Overwrite,
            Some(format!("academic_year IN ({year_list})")),
        )
    } else {
        (SaveMode::Append, None)
    };
    commit(
        store,
        ctx,
        Table::Pupils,
        &[vec![sql]],
        mode,
        predicate,
        hashes,
    )
    .await
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
        // The partitions in two halves, each sorted and written by its own stream, so both
        // cores sort and encode (a partition is in one half only, so its file stays sorted).
        let touched: Vec<_> = touched.iter().cloned().collect();
        let streams = if plan.large_input { 1 } else { workers };
        let chunk = touched.len().div_ceil(streams).max(1);
        let sqls: Vec<Vec<String>> = touched
            .chunks(chunk)
            .map(|half| {
                let half: BTreeSet<_> = half.iter().cloned().collect();
                let filter = partition_filter("", &half);
                let columns = select_list(&names, "", plan.large_input);
                vec![format!(
                    "SELECT {columns} FROM ingest_kept WHERE {filter} {order}"
                )]
            })
            .collect();
        commit(
            store,
            ctx,
            Table::Registers,
            &sqls,
            SaveMode::Append,
            None,
            hashes,
        )
        .await
    } else {
        rewrite_partitions(store, ctx, &plan, touched, &names, order, hashes).await
    }
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
    let workers = plan.workers;
    let predicate = partition_filter("", touched);
    let streams: Vec<Vec<String>> = if plan.large_input {
        // Many new marks: one query, one sort (which spills), the staged marks read once.
        vec![vec![rewrite_query(
            names,
            touched,
            true,
            plan.large_input,
            order,
        )]]
    } else {
        // A correction: one query per partition, each sorting one partition's marks (in
        // memory, unless a partition is large), the partitions in `workers` streams. (Groups
        // of partitions of up to 4 M marks, to read the staged marks fewer times, ran out of
        // the budget at scale M.)
        let largest = count(
            ctx,
            &format!(
                "SELECT count(*) AS n FROM registers r WHERE {}
                 GROUP BY academic_year, la_code ORDER BY n DESC LIMIT 1",
                partition_filter("r.", touched)
            ),
        )
        .await?;
        // Two sorts of a quarter of `large_rows` each fit the budget in memory; larger
        // partitions are sorted one at a time, with room to spill.
        let large = largest as usize > plan.large_rows / 4;
        let streams = if large {
            plan_for_memory(ctx, plan.memory_limit).await?;
            1
        } else {
            workers
        };
        let queries: Vec<String> = touched
            .iter()
            .map(|p| {
                rewrite_query(
                    names,
                    &BTreeSet::from([p.clone()]),
                    large,
                    plan.large_input,
                    order,
                )
            })
            .collect();
        let chunk = queries.len().div_ceil(streams).max(1);
        queries.chunks(chunk).map(|c| c.to_vec()).collect()
    };
    commit(
        store,
        ctx,
        Table::Registers,
        &streams,
        SaveMode::Overwrite,
        Some(predicate),
        hashes,
    )
    .await
}

/// The query that rewrites the partitions `touched`. A new mark replaces the stored one with
/// its key. For a correction, the stored marks without a new one are found by a join holding
/// the new marks (few) in memory; for many new marks (`large_input`), both go through one sort
/// by key (which spills), the stored just before the new, and a mark is dropped when the next
/// has its key. With `large`, sorts that may spill take strings as plain `Utf8`.
fn rewrite_query(
    names: &[&str],
    touched: &BTreeSet<(String, String, String)>,
    large: bool,
    large_input: bool,
    order: &str,
) -> String {
    let filter = partition_filter("r.", touched);
    let kept_filter = partition_filter("", touched);
    // Sorts that may spill take strings as plain `Utf8` (see `select_list`).
    let columns = select_list(names, "", large);
    if large_input {
        let plain = select_list(names, "", true);
        let next = |c: &str| format!("lead({c}) OVER w");
        format!(
            r#"SELECT {columns} FROM (
                 SELECT *, {} AS next_urn, {} AS next_pupil, {} AS next_date,
                        {} AS next_session
                 FROM (SELECT {plain}, 0 AS _new FROM registers r WHERE {filter}
                       UNION ALL
                       SELECT {plain}, 1 AS _new FROM ingest_kept
                       WHERE {kept_filter})
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
            r#"SELECT {kept_columns} FROM (SELECT * FROM ingest_kept WHERE {kept_filter}) k
                 RIGHT ANTI JOIN (SELECT * FROM registers r WHERE {filter}) r
                 ON k.urn = r.urn AND k.pupil_id = r.pupil_id AND k."date" = r."date"
                    AND k."session" = r."session"
               UNION ALL SELECT {columns} FROM ingest_kept WHERE {kept_filter} {order}"#
        )
    }
}

//! Parallel writes of already-ordered batches to one table, committed at once.
//!
//! The `write` operation of delta-rs plans a query and writes what it yields; when the rows are
//! already at hand in the right order (generated, or staged by an ingest in storage order),
//! nothing needs planning. Here each [`BatchSource`] runs on its own thread and its batches go
//! through their own [`DeltaWriter`], closed when the source ends: a source's rows keep their
//! order inside every file written, and memory is bounded by the open files of the sources in
//! flight (`workers` at a time). Then one commit adds every file (and, to replace the table,
//! removes every file it had): readers see the table before or after, never in between. If any
//! source or writer fails, the files already written are deleted (no commit refers to them)
//! and the table is left as it was.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::partition;
use deltalake::DeltaTable;
use deltalake::datafile::writer::{DeltaWriter, WriterConfig};
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake::kernel::scalars::ScalarExt;
use deltalake::kernel::transaction::{CommitBuilder, TableReference};
use deltalake::kernel::{Action, Add, StructType};
use deltalake::operations::write::WriterStatsConfig;
use deltalake::protocol::{DeltaOperation, SaveMode};
use futures::{StreamExt, TryStreamExt};
use indexmap::IndexMap;

use crate::store::{Store, StoreError, Table, commit_properties, replace_all_properties};

/// Where a source sends its batches.
pub type BatchSender = tokio::sync::mpsc::Sender<RecordBatch>;

/// One run of batches: run on a thread of its own, it sends its batches in order and returns.
/// An `Err` (a message naming what failed) fails the whole write. When sending fails the write
/// has failed elsewhere: the source should return at once.
pub type BatchSource = Box<dyn FnOnce(&BatchSender) -> Result<(), String> + Send>;

/// What the commit does to the files the table already had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Keep them: the new files are added.
    Append,
    /// Remove them all: the new files are the whole table.
    ReplaceAll,
}

/// Writes `sources` to `table`, `workers` at a time, and commits the files in one commit
/// recording `hashes` (the input files loaded). Creates the table when the store has none.
pub async fn write_sources(
    store: &Store,
    table: Table,
    sources: Vec<BatchSource>,
    workers: usize,
    commit: Commit,
    hashes: &[String],
) -> Result<(), StoreError> {
    let delta_error =
        StoreError::delta(table.name(), store.table_path(table).display().to_string());
    let delta = store.load_for_write(table).await?;
    let exists = delta.version().is_some();
    let stats = if exists {
        let snapshot = delta.snapshot().map_err(&delta_error)?;
        WriterStatsConfig::from_config(snapshot.snapshot().table_configuration())
    } else {
        // A new table has Delta's default statistics settings.
        WriterStatsConfig::new(Default::default(), None)
    };
    let partition_columns: Vec<String> = table
        .partition_columns()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let config = WriterConfig::new(
        table.schema(),
        partition_columns.clone(),
        Some(table.writer_properties()),
        None,
        None,
        stats.num_indexed_cols,
        stats.stats_columns,
    );
    let partition_indices: Arc<[usize]> = partition_columns
        .iter()
        .map(|c| table.schema().index_of(c).expect("partition column"))
        .collect();
    let adds = match write_files(&delta, config, partition_indices, sources, workers).await {
        Ok(adds) => adds,
        Err(message) => {
            return Err(StoreError::Invalid(format!(
                "writing the {} table failed, the table is unchanged: {message}",
                table.name()
            )));
        }
    };
    let written: Vec<String> = adds.iter().map(|a| a.path.clone()).collect();
    let result = commit_files(&delta, table, adds, commit, partition_columns, hashes).await;
    if result.is_err() {
        delete_files(&delta, &written).await;
    }
    result.map_err(|e| {
        if crate::store::is_commit_conflict(&e) {
            StoreError::Conflict(table.name())
        } else {
            delta_error(e)
        }
    })
}

/// Runs the sources through their writers and returns the files written; on failure, deletes
/// them and returns the first error.
async fn write_files(
    delta: &DeltaTable,
    config: WriterConfig,
    partition_columns: Arc<[usize]>,
    sources: Vec<BatchSource>,
    workers: usize,
) -> Result<Vec<Add>, String> {
    let object_store = delta.object_store();
    let queue = Arc::new(Mutex::new(VecDeque::from(sources)));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        let (queue, config, object_store) = (queue.clone(), config.clone(), object_store.clone());
        let partition_columns = partition_columns.clone();
        tasks.spawn(async move {
            let mut adds = Vec::new();
            loop {
                let Some(source) = queue.lock().expect("not poisoned").pop_front() else {
                    return (adds, None);
                };
                let mut writer = DeltaWriter::new(object_store.clone(), config.clone());
                let (tx, mut rx) = tokio::sync::mpsc::channel(2);
                let producer = std::thread::spawn(move || source(&tx));
                let mut failed = None;
                while let Some(batch) = rx.recv().await {
                    if let Err(e) = write_batch(&mut writer, &batch, &partition_columns).await {
                        failed = Some(e.to_string());
                        break;
                    }
                }
                drop(rx);
                match producer.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        failed.get_or_insert(e);
                    }
                    Err(_) => {
                        failed.get_or_insert_with(|| "a batch source panicked".to_string());
                    }
                }
                if let Some(e) = failed {
                    let _ = writer.abort().await;
                    return (adds, Some(e));
                }
                match writer.close().await {
                    Ok(added) => adds.extend(added),
                    Err(e) => return (adds, Some(e.to_string())),
                }
            }
        });
    }
    let mut adds = Vec::new();
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((written, error)) => {
                adds.extend(written);
                if let Some(e) = error {
                    // Stop the other workers at their next source.
                    queue.lock().expect("not poisoned").clear();
                    failure.get_or_insert(e);
                }
            }
            Err(e) => {
                queue.lock().expect("not poisoned").clear();
                failure.get_or_insert(format!("writer task failed: {e}"));
            }
        }
    }
    match failure {
        None => Ok(adds),
        Some(e) => {
            let written: Vec<String> = adds.iter().map(|a| a.path.clone()).collect();
            delete_files(delta, &written).await;
            Err(e)
        }
    }
}

/// Most partition runs in a batch worth writing run by run; beyond, the writer's own split.
const MAX_RUNS: usize = 16;

/// Writes a batch, whose rows of one partition usually come in one run (sources are in key
/// order, and a school is in one LA): each run is a slice of the batch, written straight to its
/// partition's file. The writer's general split (a hash of every row's partition values and a
/// copy of every column) is for batches with many runs.
async fn write_batch(
    writer: &mut DeltaWriter,
    batch: &RecordBatch,
    partition_columns: &[usize],
) -> deltalake::DeltaResult<()> {
    if partition_columns.is_empty() || batch.num_rows() == 0 {
        return writer.write(batch).await;
    }
    let keys: Vec<_> = partition_columns
        .iter()
        .map(|i| batch.column(*i).clone())
        .collect();
    let runs = partition(&keys)?.ranges();
    if runs.len() > MAX_RUNS {
        return writer.write(batch).await;
    }
    let schema = batch.schema();
    for run in runs {
        let mut values = IndexMap::new();
        for (i, key) in partition_columns.iter().zip(&keys) {
            let value = ScalarExt::from_array(key.as_ref(), run.start).ok_or_else(|| {
                deltalake::DeltaTableError::Generic(format!(
                    "partition column `{}` has an unsupported value",
                    schema.field(*i).name()
                ))
            })?;
            values.insert(schema.field(*i).name().clone(), value);
        }
        writer
            .write_partition(batch.slice(run.start, run.len()), &values)
            .await?;
    }
    Ok(())
}

/// Best-effort removal of files no commit refers to.
async fn delete_files(delta: &DeltaTable, paths: &[String]) {
    let paths: Vec<Result<deltalake::Path, deltalake::ObjectStoreError>> = paths
        .iter()
        .filter_map(|p| deltalake::Path::parse(p).ok())
        .map(Ok)
        .collect();
    let _ = delta
        .object_store()
        .delete_stream(futures::stream::iter(paths).boxed())
        .collect::<Vec<_>>()
        .await;
}

async fn commit_files(
    delta: &DeltaTable,
    table: Table,
    adds: Vec<Add>,
    commit: Commit,
    partition_columns: Vec<String>,
    hashes: &[String],
) -> Result<(), deltalake::DeltaTableError> {
    let mut actions: Vec<Action> = adds.into_iter().map(Action::Add).collect();
    let properties = match commit {
        Commit::Append => commit_properties(hashes),
        Commit::ReplaceAll => replace_all_properties(hashes),
    };
    if delta.version().is_none() {
        // A new table: created by the same commit that adds its files.
        let schema: StructType = table.schema().try_into_kernel()?;
        delta
            .create()
            .with_columns(schema.fields().cloned())
            .with_partition_columns(partition_columns)
            .with_actions(actions)
            .with_commit_properties(properties)
            .await?;
        return Ok(());
    }
    let snapshot = delta.snapshot()?;
    let log_store = delta.log_store();
    let mode = match commit {
        Commit::Append => SaveMode::Append,
        Commit::ReplaceAll => {
            let removes: Vec<Action> = snapshot
                .snapshot()
                .file_views(log_store.as_ref(), None)
                .map_ok(|file| Action::Remove(file.remove_action(true)))
                .try_collect()
                .await?;
            actions.extend(removes);
            SaveMode::Overwrite
        }
    };
    let operation = DeltaOperation::Write {
        mode,
        partition_by: Some(partition_columns),
        predicate: None,
    };
    CommitBuilder::from(properties)
        .with_actions(actions)
        .build(Some(snapshot as &dyn TableReference), log_store, operation)
        .await?;
    Ok(())
}

/// A write of a planned query's rows through delta-rs's write builder (the rows are sorted
/// and split by partition as the plan gives them), in one commit.
pub struct PlannedWrite {
    pub mode: SaveMode,
    pub partition_columns: Vec<String>,
    pub writer_properties: datafusion::parquet::file::properties::WriterProperties,
    pub commit: deltalake::kernel::transaction::CommitProperties,
    /// With [`SaveMode::Overwrite`]: replace only the rows matching this predicate.
    pub replace_where: Option<String>,
    /// The plan's schema replaces the table's (a derived table whose columns may change).
    pub replace_schema: bool,
}

impl PlannedWrite {
    /// A write to one of the store's tables, with its partitioning and Parquet settings.
    pub fn to_table(
        table: Table,
        mode: SaveMode,
        commit: deltalake::kernel::transaction::CommitProperties,
    ) -> Self {
        Self {
            mode,
            partition_columns: table
                .partition_columns()
                .iter()
                .map(|c| c.to_string())
                .collect(),
            writer_properties: table.writer_properties(),
            commit,
            replace_where: None,
            replace_schema: false,
        }
    }

    /// Runs `plan` in `ctx` and commits its rows to `delta`; returns the table after the commit.
    pub async fn run(
        self,
        delta: DeltaTable,
        ctx: &datafusion::prelude::SessionContext,
        plan: datafusion::logical_expr::LogicalPlan,
    ) -> deltalake::DeltaResult<DeltaTable> {
        let mut write = delta
            .write(vec![])
            .with_input_plan(plan)
            .with_session_state(Arc::new(ctx.state()))
            .with_save_mode(self.mode)
            .with_writer_properties(self.writer_properties)
            .with_commit_properties(self.commit);
        if !self.partition_columns.is_empty() {
            write = write.with_partition_columns(self.partition_columns);
        }
        if let Some(predicate) = self.replace_where {
            write = write.with_replace_where(predicate);
        }
        if self.replace_schema {
            write = write.with_schema_mode(deltalake::operations::write::SchemaMode::Overwrite);
        }
        write.await
    }
}

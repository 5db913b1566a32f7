//! `attendance generate`: writes a generated data set ([`crate::generate`]) straight into a store,
//! in the store's layout, without the validation an ingest does (the generator only produces
//! valid rows). Register marks stream from the generator into Delta Lake's writer: each of the
//! session's partitions generates its share of the LAs on a blocking thread, so both cores are
//! busy and memory stays bounded by one batch per partition plus the open Parquet writers.

use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::SessionContext;
use deltalake::protocol::SaveMode;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::generate::{Dataset, GenerateConfig, plan};
use crate::session::{SessionOptions, base_session};
use crate::store::{Store, StoreError, Table};

/// What a generation wrote.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateReport {
    pub schools: usize,
    pub enrolments: usize,
    pub marks: u64,
    pub partitions: usize,
    pub bytes: u64,
    pub seconds: f64,
}

/// The register marks of a set of LAs (partition `k` of `n` takes LAs `k, k + n, ...`).
struct RegisterPartition {
    dataset: Arc<Dataset>,
    part: usize,
    parts: usize,
    schema: SchemaRef,
    progress: ProgressBar,
}

impl std::fmt::Debug for RegisterPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "generated registers, part {} of {}", self.part + 1, self.parts)
    }
}

impl PartitionStream for RegisterPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let dataset = self.dataset.clone();
        let (part, parts) = (self.part, self.parts);
        let progress = self.progress.clone();
        std::thread::spawn(move || {
            for la in (part..dataset.partitions()).step_by(parts) {
                for batch in dataset.registers(la) {
                    progress.inc(batch.num_rows() as u64);
                    if tx.blocking_send(Ok(batch)).is_err() {
                        return;
                    }
                }
            }
        });
        let stream = tokio_stream_from(rx);
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<datafusion::error::Result<datafusion::arrow::array::RecordBatch>>,
) -> impl futures::Stream<Item = datafusion::error::Result<datafusion::arrow::array::RecordBatch>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn delta_error(store: &Store, table: Table) -> impl Fn(deltalake::DeltaTableError) -> StoreError + '_ {
    move |source| StoreError::Delta {
        table: table.name(),
        path: store.table_path(table).display().to_string(),
        source,
    }
}

async fn write_table(
    store: &Store,
    ctx: &SessionContext,
    table: Table,
    plan: datafusion::logical_expr::LogicalPlan,
) -> Result<(), StoreError> {
    let delta = store.load_for_write(table).await?;
    let mut write = delta
        .write(vec![])
        .with_input_plan(plan)
        .with_session_state(Arc::new(ctx.state()))
        .with_save_mode(SaveMode::Overwrite)
        .with_writer_properties(table.writer_properties())
        .with_commit_properties(crate::store::commit_properties(&[]));
    if !table.partition_columns().is_empty() {
        write = write.with_partition_columns(table.partition_columns().iter().copied());
    }
    write.await.map_err(delta_error(store, table))?;
    Ok(())
}

/// Generates a data set into `store` (replacing whatever it held).
pub async fn generate_store(
    store: &Store,
    config: &GenerateConfig,
    options: &SessionOptions,
    progress: bool,
) -> Result<GenerateReport, StoreError> {
    let started = Instant::now();
    let dataset = Arc::new(plan(config));
    let ctx = base_session(options)?;
    let parts = ctx.state().config().target_partitions().max(1);

    ctx.register_batch("generated_schools", dataset.schools.clone())?;
    let schools = ctx
        .sql("SELECT * FROM generated_schools ORDER BY urn")
        .await?
        .into_unoptimized_plan();
    write_table(store, &ctx, Table::Schools, schools).await?;

    let pupils_table = datafusion::datasource::MemTable::try_new(
        crate::schema::PUPILS.clone(),
        vec![dataset.pupils.clone()],
    )?;
    ctx.register_table("generated_pupils", Arc::new(pupils_table))?;
    let pupils = ctx
        .sql("SELECT * FROM generated_pupils")
        .await?
        .into_unoptimized_plan();
    write_table(store, &ctx, Table::Pupils, pupils).await?;

    let marks = dataset.marks();
    let bar = if progress {
        let bar = ProgressBar::with_draw_target(Some(marks), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("marks [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}")
                .expect("template")
                .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let partitions: Vec<Arc<dyn PartitionStream>> = (0..parts)
        .map(|part| {
            Arc::new(RegisterPartition {
                dataset: dataset.clone(),
                part,
                parts,
                schema: crate::schema::REGISTERS.clone(),
                progress: bar.clone(),
            }) as Arc<dyn PartitionStream>
        })
        .collect();
    let source = StreamingTable::try_new(crate::schema::REGISTERS.clone(), partitions)?;
    ctx.register_table("generated_registers", Arc::new(source))?;
    let registers = ctx
        .sql("SELECT * FROM generated_registers")
        .await?
        .into_unoptimized_plan();
    write_table(store, &ctx, Table::Registers, registers).await?;
    bar.finish_and_clear();

    let mut bytes = 0;
    for table in Table::ALL {
        bytes += dir_size(&store.table_path(table));
    }
    Ok(GenerateReport {
        schools: dataset.schools.num_rows(),
        enrolments: dataset.enrolments(),
        marks,
        partitions: dataset.partitions(),
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn dir_size(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                dir_size(&p)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}

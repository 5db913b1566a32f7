//! `attendance generate`: writes a generated data set ([`crate::generate`]) straight into a store,
//! in the store's layout, without the validation an ingest does (the generator only produces
//! valid rows). Register marks stream from the generator into Delta Lake's writer: each of the
//! session's partitions generates its share of the LAs on a blocking thread, so both cores are
//! busy and memory stays bounded by one batch per partition plus the open Parquet writers.

use std::sync::Arc;
use std::time::Instant;

use std::path::Path;

use crate::progress::ProgressRef;
use datafusion::arrow::array::{AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::Int32Type;
use datafusion::prelude::SessionContext;
use deltalake::protocol::SaveMode;
use serde::Serialize;

use crate::generate::{Dataset, GenerateConfig, plan};
use crate::session::{SessionOptions, base_session};
use crate::store::write::{BatchSender, BatchSource, Commit, write_sources};
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

fn delta_error(
    store: &Store,
    table: Table,
) -> impl Fn(deltalake::DeltaTableError) -> StoreError + use<> {
    StoreError::delta(table.name(), store.table_path(table).display().to_string())
}

async fn write_table(
    store: &Store,
    ctx: &SessionContext,
    table: Table,
    plan: datafusion::logical_expr::LogicalPlan,
) -> Result<(), StoreError> {
    let delta = store.load_for_write(table).await?;
    crate::store::write::PlannedWrite::to_table(
        table,
        SaveMode::Overwrite,
        crate::store::replace_all_properties(&[]),
    )
    .run(delta, ctx, plan)
    .await
    .map_err(delta_error(store, table))?;
    Ok(())
}

/// A generated data set, optionally restricted to some LAs (old 3-digit codes): the schools of
/// those LAs, the enrolments at those schools, and the register partitions of those LAs.
pub struct Selection {
    pub dataset: Arc<Dataset>,
    pub schools: RecordBatch,
    pub pupils: Vec<RecordBatch>,
    /// Register partitions (LAs) included.
    pub partitions: Vec<usize>,
}

impl Selection {
    /// The data set of `config` (calibrated to the embedded table), restricted to `las`.
    pub fn new(config: &GenerateConfig, las: &[String]) -> Result<Self, StoreError> {
        Self::of(plan(config), las)
    }

    /// A planned data set restricted to `las` (every LA when empty).
    pub fn of(dataset: Dataset, las: &[String]) -> Result<Self, StoreError> {
        let dataset = Arc::new(dataset);
        if las.is_empty() {
            return Ok(Self {
                schools: dataset.schools.clone(),
                pupils: dataset.pupils.clone(),
                partitions: (0..dataset.partitions()).collect(),
                dataset,
            });
        }
        let schools = filter_strings(&dataset.schools, "old_la_code", |la| {
            las.iter().any(|l| l == la)
        })?;
        let urns: std::collections::HashSet<i32> = schools
            .column_by_name("urn")
            .expect("urn")
            .as_primitive::<Int32Type>()
            .values()
            .iter()
            .copied()
            .collect();
        let mut pupils = Vec::new();
        for batch in &dataset.pupils {
            let urn = batch
                .column_by_name("urn")
                .expect("urn")
                .as_primitive::<Int32Type>();
            let keep: BooleanArray = urn
                .iter()
                .map(|u| Some(u.is_some_and(|u| urns.contains(&u))))
                .collect();
            let kept = filter_record_batch(batch, &keep)
                .map_err(datafusion::error::DataFusionError::from)?;
            if kept.num_rows() > 0 {
                pupils.push(kept);
            }
        }
        let partitions = (0..dataset.partitions())
            .filter(|i| las.iter().any(|l| l == dataset.partition_info(*i).la_code))
            .collect::<Vec<_>>();
        for la in las {
            if !(0..dataset.partitions()).any(|i| dataset.partition_info(i).la_code == la) {
                return Err(StoreError::Invalid(format!(
                    "--la {la}: no such LA code, or no pupils there at this scale"
                )));
            }
        }
        Ok(Self {
            dataset,
            schools,
            pupils,
            partitions,
        })
    }

    pub fn marks(&self) -> u64 {
        self.partitions
            .iter()
            .map(|i| self.dataset.partition_info(*i).marks)
            .sum()
    }

    pub fn enrolments(&self) -> usize {
        self.pupils.iter().map(RecordBatch::num_rows).sum()
    }

    /// Writes the input files of DOMAIN.md section 5: `schools.csv`, `pupils.csv` and one
    /// register file per LA under `registers/` (CSV, or Parquet with `parquet`).
    pub fn write_inputs(&self, dir: &Path, parquet: bool) -> Result<u64, StoreError> {
        let io = |p: &Path| {
            let p = p.display().to_string();
            move |e: std::io::Error| StoreError::Io(p.clone(), e)
        };
        std::fs::create_dir_all(dir.join("registers")).map_err(io(dir))?;
        write_csv(
            &dir.join("schools.csv"),
            std::slice::from_ref(&self.schools),
        )?;
        write_csv(&dir.join("pupils.csv"), &self.pupils)?;
        let columns = ["pupil_id", "urn", "date", "session", "code"];
        let mut marks = 0;
        for i in &self.partitions {
            let la = self.dataset.partition_info(*i).la_code;
            let batches: Vec<RecordBatch> = self
                .dataset
                .registers(*i)
                .map(|b| {
                    let indices: Vec<usize> = columns
                        .iter()
                        .map(|c| b.schema().index_of(c).expect("register column"))
                        .collect();
                    b.project(&indices).expect("projection")
                })
                .collect();
            marks += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
            if parquet {
                let path = dir.join("registers").join(format!("{la}.parquet"));
                let file = std::fs::File::create(&path).map_err(io(&path))?;
                let props = crate::store::writer_properties(None);
                let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(
                    file,
                    batches[0].schema(),
                    Some(props),
                )
                .map_err(datafusion::error::DataFusionError::from)?;
                for batch in &batches {
                    writer
                        .write(batch)
                        .map_err(datafusion::error::DataFusionError::from)?;
                }
                writer
                    .close()
                    .map_err(datafusion::error::DataFusionError::from)?;
            } else {
                write_csv(&dir.join("registers").join(format!("{la}.csv")), &batches)?;
            }
        }
        Ok(marks)
    }
}

/// Writes `batches` as one CSV file with a header (dates as `YYYY-MM-DD`).
pub(super) fn write_csv(path: &Path, batches: &[RecordBatch]) -> Result<(), StoreError> {
    let file =
        std::fs::File::create(path).map_err(|e| StoreError::Io(path.display().to_string(), e))?;
    let mut writer = datafusion::arrow::csv::WriterBuilder::new()
        .with_header(true)
        .with_date_format("%Y-%m-%d".into())
        .build(std::io::BufWriter::new(file));
    for batch in batches {
        writer
            .write(batch)
            .map_err(datafusion::error::DataFusionError::from)?;
    }
    Ok(())
}

fn filter_strings(
    batch: &RecordBatch,
    column: &str,
    keep: impl Fn(&str) -> bool,
) -> Result<RecordBatch, StoreError> {
    let values = batch
        .column_by_name(column)
        .expect("column")
        .as_string::<i32>();
    let mask: BooleanArray = values.iter().map(|v| Some(v.is_some_and(&keep))).collect();
    Ok(filter_record_batch(batch, &mask).map_err(datafusion::error::DataFusionError::from)?)
}

/// Generates a data set into `store`. A store that holds data is refused unless `replace`
/// is set; then whatever it held is replaced (and the input files loaded into it before no
/// longer count as loaded).
pub async fn generate_store(
    store: &Store,
    selection: &Selection,
    options: &SessionOptions,
    progress: &ProgressRef,
    replace: bool,
) -> Result<GenerateReport, StoreError> {
    let started = Instant::now();
    let _lock = store.lock("generate", false)?;
    if !replace && store.has_data().await? {
        return Err(StoreError::Invalid(format!(
            "the store at {} holds data, which `generate` would replace: give --force to replace it, or another --data directory",
            store.root().display()
        )));
    }
    let dataset = selection.dataset.clone();
    let ctx = base_session(options)?;
    let parts = ctx.state().config().target_partitions().max(1);

    ctx.register_batch("generated_schools", selection.schools.clone())?;
    let schools = ctx
        .sql("SELECT * FROM generated_schools ORDER BY urn")
        .await?
        .into_unoptimized_plan();
    write_table(store, &ctx, Table::Schools, schools).await?;

    let pupils_table = datafusion::datasource::MemTable::try_new(
        crate::schema::PUPILS.clone(),
        vec![selection.pupils.clone()],
    )?;
    ctx.register_table("generated_pupils", Arc::new(pupils_table))?;
    let pupils = ctx
        .sql("SELECT * FROM generated_pupils")
        .await?
        .into_unoptimized_plan();
    write_table(store, &ctx, Table::Pupils, pupils).await?;

    let marks = selection.marks();
    let bar = progress.clone();
    bar.step("marks", Some(marks));
    write_registers(store, &dataset, &selection.partitions, parts, &bar).await?;
    bar.finish();

    let mut bytes = 0;
    for table in Table::ALL {
        bytes += dir_size(&store.table_path(table));
    }
    Ok(GenerateReport {
        schools: selection.schools.num_rows(),
        enrolments: selection.enrolments(),
        marks,
        partitions: selection.partitions.len(),
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Writes the marks of `las` (register partitions of `dataset`) as the whole `registers` table.
///
/// Each LA is generated by its own thread and written by its own Delta writer, closed (its file
/// finished) when the LA is done; `parts` LAs are in flight at a time, so memory is bounded by
/// `parts` LAs' open files whatever the number of LAs. One commit then replaces every file the
/// table had ([`crate::store::write`]).
async fn write_registers(
    store: &Store,
    dataset: &Arc<Dataset>,
    las: &[usize],
    parts: usize,
    bar: &ProgressRef,
) -> Result<(), StoreError> {
    let sources: Vec<BatchSource> = las
        .iter()
        .map(|&la| {
            let (dataset, bar) = (dataset.clone(), bar.clone());
            Box::new(move |tx: &BatchSender| {
                for batch in dataset.registers(la) {
                    bar.advance(batch.num_rows() as u64);
                    if tx.blocking_send(batch).is_err() {
                        break;
                    }
                }
                Ok(())
            }) as BatchSource
        })
        .collect();
    write_sources(
        store,
        Table::Registers,
        sources,
        parts,
        Commit::ReplaceAll,
        &[],
    )
    .await
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

//! Runs the sqllogictest files in `tests/slt/` against a `SessionContext` with every function of
//! this crate registered. Values are rendered as text, NULL as `NULL`, an empty string as
//! `(empty)`.
//!
//! `cargo test -p attendance-udfs --test slt` runs them all; `-- NAME` runs the files whose name
//! contains NAME.

use std::path::PathBuf;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner};

/// A session with the attendance functions, as sqllogictest's database.
struct AttendanceDb {
    ctx: SessionContext,
}

impl AttendanceDb {
    fn new() -> Self {
        let config = SessionConfig::new()
            .with_information_schema(true)
            // More partitions than cores, so aggregates go through partial states and merges.
            .with_target_partitions(4);
        let ctx = SessionContext::new_with_config(config);
        attendance_udfs::register_all(&ctx);
        Self { ctx }
    }
}

fn column_type(data_type: &DataType) -> DefaultColumnType {
    if data_type.is_integer() {
        DefaultColumnType::Integer
    } else if data_type.is_floating() {
        DefaultColumnType::FloatingPoint
    } else {
        DefaultColumnType::Text
    }
}

fn render(batches: &[RecordBatch]) -> Result<Vec<Vec<String>>, DataFusionError> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .zip(batch.columns())
                    .map(|(formatter, column)| {
                        let text = formatter.value(row).to_string();
                        if text.is_empty() && column.is_valid(row) {
                            "(empty)".to_string()
                        } else {
                            text
                        }
                    })
                    .collect(),
            );
        }
    }
    Ok(rows)
}

#[async_trait]
impl AsyncDB for AttendanceDb {
    type Error = DataFusionError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let df = self.ctx.sql(sql).await?;
        let is_statement = matches!(
            df.logical_plan(),
            LogicalPlan::Ddl(_) | LogicalPlan::Dml(_) | LogicalPlan::Statement(_)
        );
        let types = df
            .schema()
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        let batches = df.collect().await?;
        if is_statement {
            return Ok(DBOutput::StatementComplete(0));
        }
        Ok(DBOutput::Rows {
            types,
            rows: render(&batches)?,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "attendance-datafusion"
    }
}

fn main() {
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    // The directory cargo runs the test from, not the one it was compiled in: a shared target
    // directory can hold a binary built from another clone of the repository.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let dir = manifest_dir.join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt exists")
        .map(|entry| entry.expect("readable directory").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "slt"))
        .filter(|path| {
            filter
                .as_ref()
                .is_none_or(|f| path.to_string_lossy().contains(f.as_str()))
        })
        .collect();
    files.sort();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut failures = 0;
    for file in &files {
        let mut runner = Runner::new(|| async { Ok(AttendanceDb::new()) });
        match runtime.block_on(runner.run_file_async(file)) {
            Ok(()) => println!("ok     {}", file.display()),
            Err(error) => {
                failures += 1;
                println!("FAILED {}\n{}", file.display(), error.display(true));
            }
        }
    }
    println!("{} slt files, {failures} failed", files.len());
    if failures > 0 {
        std::process::exit(1);
    }
}

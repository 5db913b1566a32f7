//! The files of a published output: result batches as text with suppressed measures written `c`
//! (GSS symbols), written as CSV and Parquet, with their content hashes for the manifest.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::PublishError;

/// One file of an output directory, as its manifest lists it.
#[derive(Debug, Serialize)]
pub struct OutputReport {
    pub file: String,
    pub rows: usize,
    pub sha256: String,
}

/// Turns every column of `batch` into text as written in the CSV (unrounded numbers, blank for
/// NULL: a geography column of a coarser level, a measure that does not apply); the measures
/// (the columns from `first_measure` on) of the rows `hidden` marks are written `c`, except
/// those that are blank anyway.
pub fn batch_to_text(
    batch: &RecordBatch,
    first_measure: usize,
    hidden: &[bool],
) -> Result<RecordBatch, PublishError> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (index, column) in batch.columns().iter().enumerate() {
        let text = cast(column, &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let values: StringArray = (0..text.len())
            .map(|i| {
                if text.is_null(i) {
                    Some("")
                } else if index >= first_measure && hidden[i] {
                    Some("c")
                } else {
                    Some(text.value(i))
                }
            })
            .collect();
        columns.push(Arc::new(values));
    }
    let fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| Field::new(f.name(), DataType::Utf8, false))
        .collect();
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// Writes one output, `name.csv` (and `name.parquet` with `parquet`), into `dir`, and reports
/// the files written.
pub fn write_output(
    dir: &Path,
    name: &str,
    batches: &[RecordBatch],
    parquet: bool,
) -> Result<Vec<OutputReport>, PublishError> {
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    let mut reports = Vec::new();
    let csv_path = dir.join(format!("{name}.csv"));
    write_csv(&csv_path, batches)?;
    reports.push(OutputReport {
        file: format!("{name}.csv"),
        rows,
        sha256: sha256_file(&csv_path)?,
    });
    if parquet {
        let path = dir.join(format!("{name}.parquet"));
        if write_parquet(&path, batches)? {
            reports.push(OutputReport {
                file: format!("{name}.parquet"),
                rows,
                sha256: sha256_file(&path)?,
            });
        }
    }
    Ok(reports)
}

fn write_csv(path: &Path, batches: &[RecordBatch]) -> Result<(), PublishError> {
    let io = |e: std::io::Error| PublishError::Io(path.display().to_string(), e);
    let file = File::create(path).map_err(io)?;
    let mut writer = datafusion::arrow::csv::WriterBuilder::new()
        .with_header(true)
        .build(std::io::BufWriter::new(file));
    for batch in batches {
        writer.write(batch)?;
    }
    Ok(())
}

/// Writes `batches` as a Parquet file; with no batch (an output with no rows, whose text
/// columns have no schema to write) writes nothing and returns false.
fn write_parquet(path: &Path, batches: &[RecordBatch]) -> Result<bool, PublishError> {
    let io = |e: std::io::Error| PublishError::Io(path.display().to_string(), e);
    let Some(first) = batches.first() else {
        return Ok(false);
    };
    let file = File::create(path).map_err(io)?;
    let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(file, first.schema(), None)?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(true)
}

fn sha256_file(path: &Path) -> Result<String, PublishError> {
    let io = |e: std::io::Error| PublishError::Io(path.display().to_string(), e);
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

//! The output files of the job: measures as text with suppression (DOMAIN.md section 6),
//! written as CSV and Parquet, and their content hashes for the manifest.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::error::DataFusionError;
use sha2::{Digest, Sha256};

use super::IndicatorError;

/// The first measure column of an output: everything from it on is a count or a rate.
pub(super) fn first_measure(schema: &Schema) -> usize {
    schema
        .fields()
        .iter()
        .position(|f| f.name() == "num_schools" || f.name() == "enrolments")
        .expect("outputs have measures")
}

/// Whether a row's counts and rates are suppressed (written `c`).
pub fn suppressed(level: &str, enrolments: i64) -> bool {
    match level {
        "School" => true,
        "Local authority" => enrolments == 1 || enrolments == 2,
        _ => false,
    }
}

/// Turns every column into text as written in the CSV (unrounded numbers, blank for a
/// geography column of a coarser level), with suppressed measures as `c`.
pub(super) fn to_text(
    batches: &[RecordBatch],
    suppress: bool,
) -> Result<Vec<RecordBatch>, IndicatorError> {
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let schema = batch.schema();
        let measures = first_measure(&schema);
        let level = cast(
            batch.column_by_name("geographic_level").expect("level"),
            &DataType::Utf8,
        )?;
        let level = level.as_string::<i32>();
        let enrolments = cast(
            batch.column_by_name("enrolments").expect("enrolments"),
            &DataType::Int64,
        )?;
        let enrolments = enrolments.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let hidden: Vec<bool> = (0..batch.num_rows())
            .map(|i| suppress && suppressed(level.value(i), enrolments.value(i)))
            .collect();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
        for (index, column) in batch.columns().iter().enumerate() {
            let text = cast(column, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            let values: StringArray = (0..text.len())
                .map(|i| {
                    if index >= measures && hidden[i] {
                        Some("c")
                    } else if text.is_null(i) {
                        Some("")
                    } else {
                        Some(text.value(i))
                    }
                })
                .collect();
            columns.push(Arc::new(values));
        }
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Utf8, false))
            .collect();
        out.push(RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns,
        )?);
    }
    Ok(out)
}

pub(super) fn write_csv(path: &Path, batches: &[RecordBatch]) -> Result<(), IndicatorError> {
    let io = |e: std::io::Error| IndicatorError::Io(path.display().to_string(), e);
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
pub(super) fn write_parquet(path: &Path, batches: &[RecordBatch]) -> Result<bool, IndicatorError> {
    let io = |e: std::io::Error| IndicatorError::Io(path.display().to_string(), e);
    let Some(first) = batches.first() else {
        return Ok(false);
    };
    let file = File::create(path).map_err(io)?;
    let parquet = |e: datafusion::parquet::errors::ParquetError| DataFusionError::from(e);
    let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(file, first.schema(), None)
        .map_err(parquet)?;
    for batch in batches {
        writer.write(batch).map_err(parquet)?;
    }
    writer.close().map_err(parquet)?;
    Ok(true)
}

pub(super) fn sha256_file(path: &Path) -> Result<String, IndicatorError> {
    let io = |e: std::io::Error| IndicatorError::Io(path.display().to_string(), e);
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

//! Writing query results: `table` (Arrow's pretty printer), `csv`, `tsv`, `json` (one array),
//! `ndjson` (one object a line) and `parquet`.

use std::io::Write;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::csv::WriterBuilder as CsvWriterBuilder;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::json::{ArrayWriter, LineDelimitedWriter};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::error::{DataFusionError, Result};
use datafusion::parquet::arrow::ArrowWriter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Csv,
    Tsv,
    Json,
    Ndjson,
    Parquet,
}

/// Keeps the first `max_rows` rows of `batches` (all when `None`).
pub fn limit_rows(batches: Vec<RecordBatch>, max_rows: Option<usize>) -> Vec<RecordBatch> {
    let Some(mut left) = max_rows else {
        return batches;
    };
    let mut out = Vec::new();
    for batch in batches {
        if left == 0 {
            break;
        }
        let take = batch.num_rows().min(left);
        left -= take;
        out.push(batch.slice(0, take));
    }
    out
}

/// Writes `batches` in `format`. `schema` is used when there are no batches, so an empty result
/// still has its header.
pub fn write_batches(
    out: &mut dyn Write,
    format: Format,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<()> {
    let empty;
    let batches = if batches.is_empty() {
        empty = [RecordBatch::new_empty(schema.clone())];
        &empty[..]
    } else {
        batches
    };
    match format {
        Format::Table => {
            writeln!(out, "{}", pretty_format_batches(batches)?)?;
        }
        Format::Csv | Format::Tsv => {
            let delimiter = if format == Format::Csv { b',' } else { b'\t' };
            let mut writer = CsvWriterBuilder::new()
                .with_header(true)
                .with_delimiter(delimiter)
                .with_date_format("%Y-%m-%d".into())
                .build(&mut *out);
            for batch in batches {
                writer.write(batch)?;
            }
        }
        Format::Json => {
            let mut writer = ArrayWriter::new(&mut *out);
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
            writeln!(out)?;
        }
        Format::Ndjson => {
            let mut writer = LineDelimitedWriter::new(&mut *out);
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
        Format::Parquet => {
            let mut buffer = Vec::new();
            let mut writer = ArrowWriter::try_new(&mut buffer, batches[0].schema(), None)
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
            for batch in batches {
                writer
                    .write(batch)
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
            }
            writer
                .close()
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
            out.write_all(&buffer)?;
        }
    }
    out.flush()?;
    Ok(())
}

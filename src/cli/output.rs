//! Writing query results: `table` (Arrow's pretty printer), `csv`, `tsv`, `json` (one array),
//! `ndjson` (one object a line) and `parquet`.
//!
//! Results are written batch by batch as they arrive ([`ResultWriter`]); only the `table` format
//! holds rows back (the rows it shows: their widths decide the layout). The `table` format has two
//! styles: [`TableStyle::Plain`], Arrow's pretty printer as it is (what scripts that pipe the
//! output see, stable), and [`TableStyle::Terminal`], for a person at a terminal: at most
//! [`TERMINAL_MAX_ROWS`] rows with a "(N rows, 40 shown)" line, numbers right-aligned, floats
//! rounded to [`TERMINAL_FLOAT_DIGITS`] decimals for display only, and `NULL` shown.

use std::io::Write;
use std::path::Path;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::csv::WriterBuilder as CsvWriterBuilder;
use datafusion::arrow::datatypes::{DataType, Float16Type, Float32Type, Float64Type, SchemaRef};
use datafusion::arrow::json::LineDelimitedWriter;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
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

impl Format {
    /// The format a file name asks for by its extension (`.parquet`, `.csv`, `.tsv`, `.json`,
    /// `.ndjson`/`.jsonl`), if any.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match extension.as_str() {
            "parquet" => Format::Parquet,
            "csv" => Format::Csv,
            "tsv" => Format::Tsv,
            "json" => Format::Json,
            "ndjson" | "jsonl" => Format::Ndjson,
            "txt" => Format::Table,
            _ => return None,
        })
    }

    /// The format's name, as `--format` and `\pset format` take it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
        }
    }

    /// Parses a format name (`table`, `csv`, ...; `box`, `line` and `markdown`, DuckDB's `.mode`
    /// names for its tables, are `table`, `jsonlines` is `ndjson`).
    pub fn parse(name: &str) -> Option<Format> {
        Some(match name.to_ascii_lowercase().as_str() {
            "table" | "box" | "duckbox" | "markdown" | "aligned" => Format::Table,
            "csv" => Format::Csv,
            "tsv" | "tabs" => Format::Tsv,
            "json" => Format::Json,
            "ndjson" | "jsonlines" | "jsonl" => Format::Ndjson,
            "parquet" => Format::Parquet,
            _ => return None,
        })
    }
}

/// How the `table` format lays a result out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableStyle {
    /// Arrow's pretty printer, every row (for scripts: stable).
    #[default]
    Plain,
    /// For a terminal: capped, numbers right-aligned, floats rounded, `NULL` shown.
    Terminal,
}

/// Rows the terminal table shows of a result unless a row limit is given.
pub const TERMINAL_MAX_ROWS: usize = 40;

/// Decimals the terminal table shows of a floating-point number.
pub const TERMINAL_FLOAT_DIGITS: usize = 2;

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

/// Writes `batches` in `format` (plain tables). `schema` is used when there are no batches, so
/// an empty result still has its header.
pub fn write_batches(
    out: &mut dyn Write,
    format: Format,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<()> {
    let mut writer = ResultWriter::new(format, TableStyle::Plain, None, schema.clone());
    for batch in batches {
        writer.write(out, batch)?;
    }
    writer.finish(out)?;
    Ok(())
}

/// Writes one statement's result in a format as its batches arrive.
pub struct ResultWriter {
    format: Format,
    style: TableStyle,
    /// Rows a table shows at most (`None`: all).
    show_rows: Option<usize>,
    schema: SchemaRef,
    rows: usize,
    /// The rows a table will show.
    table: Vec<RecordBatch>,
    shown: usize,
    /// Whether a batch was written (CSV: the header is out).
    started: bool,
    /// JSON objects written.
    objects: usize,
    parquet: Option<ArrowWriter<Vec<u8>>>,
}

impl ResultWriter {
    /// `show_rows` caps the rows a `table` shows (the other formats write every row).
    pub fn new(
        format: Format,
        style: TableStyle,
        show_rows: Option<usize>,
        schema: SchemaRef,
    ) -> Self {
        Self {
            format,
            style,
            show_rows,
            schema,
            rows: 0,
            table: Vec::new(),
            shown: 0,
            started: false,
            objects: 0,
            parquet: None,
        }
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Writes (or, for a table, keeps) one batch.
    pub fn write(&mut self, out: &mut dyn Write, batch: &RecordBatch) -> Result<()> {
        let first = !self.started;
        self.started = true;
        self.rows += batch.num_rows();
        match self.format {
            Format::Table => {
                let take = match self.show_rows {
                    Some(cap) => batch.num_rows().min(cap.saturating_sub(self.shown)),
                    None => batch.num_rows(),
                };
                if take > 0 {
                    self.table.push(batch.slice(0, take));
                    self.shown += take;
                }
            }
            Format::Csv | Format::Tsv => self.write_csv(out, batch, first)?,
            Format::Json => {
                // One array over every batch: the objects of each batch, comma-separated.
                let mut lines = Vec::new();
                let mut writer = LineDelimitedWriter::new(&mut lines);
                writer.write(batch)?;
                writer.finish()?;
                for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    out.write_all(if self.objects == 0 { b"[" } else { b"," })?;
                    out.write_all(line)?;
                    self.objects += 1;
                }
            }
            Format::Ndjson => {
                let mut writer = LineDelimitedWriter::new(&mut *out);
                writer.write(batch)?;
                writer.finish()?;
            }
            Format::Parquet => {
                if self.parquet.is_none() {
                    self.parquet = Some(
                        ArrowWriter::try_new(Vec::new(), self.schema.clone(), None)
                            .map_err(|e| DataFusionError::External(Box::new(e)))?,
                    );
                }
                let writer = self.parquet.as_mut().expect("created above");
                writer
                    .write(batch)
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                // Pass on what the writer has encoded (whole row groups), keeping memory flat.
                let encoded = std::mem::take(writer.inner_mut());
                out.write_all(&encoded)?;
            }
        }
        Ok(())
    }

    fn write_csv(&self, out: &mut dyn Write, batch: &RecordBatch, header: bool) -> Result<()> {
        let delimiter = if self.format == Format::Csv {
            b','
        } else {
            b'\t'
        };
        CsvWriterBuilder::new()
            .with_header(header)
            .with_delimiter(delimiter)
            .with_date_format("%Y-%m-%d".into())
            .build(&mut *out)
            .write(batch)?;
        Ok(())
    }

    /// Finishes the result (a table is printed now); returns the rows shown.
    pub fn finish(mut self, out: &mut dyn Write) -> Result<usize> {
        match self.format {
            Format::Table => {
                if self.table.is_empty() {
                    self.table.push(RecordBatch::new_empty(self.schema.clone()));
                }
                match self.style {
                    TableStyle::Plain => {
                        writeln!(out, "{}", pretty_format_batches(&self.table)?)?;
                    }
                    TableStyle::Terminal => {
                        write_terminal_table(out, &self.schema, &self.table)?;
                        if self.shown < self.rows {
                            writeln!(
                                out,
                                "({} rows, {} shown)",
                                thousands(self.rows),
                                thousands(self.shown)
                            )?;
                        }
                    }
                }
            }
            Format::Csv | Format::Tsv if !self.started => {
                self.write_csv(out, &RecordBatch::new_empty(self.schema.clone()), true)?;
            }
            Format::Json => {
                if self.objects == 0 {
                    out.write_all(b"[")?;
                }
                out.write_all(b"]\n")?;
            }
            Format::Parquet => {
                let mut writer = match self.parquet.take() {
                    Some(writer) => writer,
                    None => ArrowWriter::try_new(Vec::new(), self.schema.clone(), None)
                        .map_err(|e| DataFusionError::External(Box::new(e)))?,
                };
                let encoded = std::mem::take(writer.inner_mut());
                out.write_all(&encoded)?;
                let rest = writer
                    .into_inner()
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                out.write_all(&rest)?;
            }
            Format::Csv | Format::Tsv | Format::Ndjson => {}
        }
        out.flush()?;
        Ok(if self.format == Format::Table {
            self.shown
        } else {
            self.rows
        })
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn is_numeric(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, value) => is_numeric(value),
        t => t.is_numeric(),
    }
}

/// The terminal table: Arrow's layout (`+---+` borders), values formatted by Arrow's
/// [`FormatOptions`] with `NULL` for nulls, numbers right-aligned, floats with a fixed number of
/// decimals.
fn write_terminal_table(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<()> {
    let options = FormatOptions::default()
        .with_null("NULL")
        .with_display_error(true);
    let columns = schema.fields().len();
    let mut cells: Vec<Vec<String>> = Vec::new();
    for batch in batches {
        let arrays = batch.columns();
        let formatters = arrays
            .iter()
            .map(|a| ArrayFormatter::try_new(a.as_ref(), &options))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            cells.push(
                formatters
                    .iter()
                    .zip(arrays.iter())
                    .map(|(f, a)| match float_value(a, row) {
                        // Rounded for display only.
                        Some(v) if v.is_finite() => format!("{v:.*}", TERMINAL_FLOAT_DIGITS),
                        _ => f.value(row).to_string(),
                    })
                    .collect(),
            );
        }
    }
    let numeric: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| is_numeric(f.data_type()))
        .collect();
    let mut widths: Vec<usize> = schema
        .fields()
        .iter()
        .map(|f| f.name().chars().count())
        .collect();
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let rule = {
        let mut rule = String::from("+");
        for w in &widths {
            rule.push_str(&"-".repeat(w + 2));
            rule.push('+');
        }
        rule
    };
    let line = |values: &[String]| {
        let mut text = String::from("|");
        for i in 0..columns {
            let value = &values[i];
            let pad = widths[i] - value.chars().count();
            if numeric[i] {
                text.push_str(&format!(" {}{value} |", " ".repeat(pad)));
            } else {
                text.push_str(&format!(" {value}{} |", " ".repeat(pad)));
            }
        }
        text
    };
    let header: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    writeln!(out, "{rule}")?;
    writeln!(out, "{}", line(&header))?;
    writeln!(out, "{rule}")?;
    for row in &cells {
        writeln!(out, "{}", line(row))?;
    }
    if !cells.is_empty() {
        writeln!(out, "{rule}")?;
    }
    Ok(())
}

/// The value of a floating-point column's row (`None` for other columns and NULL).
fn float_value(array: &ArrayRef, row: usize) -> Option<f64> {
    if array.is_null(row) {
        return None;
    }
    match array.data_type() {
        DataType::Float16 => Some(array.as_primitive::<Float16Type>().value(row).to_f64()),
        DataType::Float32 => Some(f64::from(array.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => Some(array.as_primitive::<Float64Type>().value(row)),
        _ => None,
    }
}

/// The files a job wrote (`indicators`, `realtime`, `monitor`), a line each: rows and path.
pub fn print_outputs(outputs: &[crate::publish::OutputReport], out: &std::path::Path) {
    for output in outputs {
        eprintln!(
            "{:>8} rows  {}",
            output.rows,
            out.join(&output.file).display()
        );
    }
}

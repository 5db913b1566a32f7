//! Reading input files record by record, with line numbers, whatever their format.
//!
//! CSV (DOMAIN.md section 5): UTF-8 with an optional BOM, a header row, RFC 4180 quoting, `\n` or
//! `\r\n`. Parquet files with the same column names are read too; their "line" is the 1-based row
//! number. Either way the validator sees each record as strings, so one set of rules serves both;
//! Parquet integer and date columns are also handed over as numbers, which the validator checks
//! without a round trip through text.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Int64Type};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

use super::error::{IngestError, Problems, RowError};
use super::fields::date32_text;

/// The longest CSV record read (bytes, line breaks inside quotes included): reading is bounded
/// whatever the file holds, and a longer record fails the file with its line number.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// The longest field of a record: longer ones are refused like any invalid value.
pub const MAX_FIELD_BYTES: usize = 64 << 10;

/// A reader that fails once a CSV record grows past [`MAX_RECORD_BYTES`], before the CSV
/// parser buffers it. Records are told apart by line breaks outside quotes (RFC 4180: a quote
/// inside a quoted field is doubled, so the count of quotes keeps its parity).
struct BoundedRecords<R> {
    inner: R,
    in_quotes: bool,
    record_bytes: usize,
    line: u64,
    record_line: u64,
}

impl<R: Read> BoundedRecords<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            in_quotes: false,
            record_bytes: 0,
            line: 1,
            record_line: 1,
        }
    }
}

/// The error [`BoundedRecords`] stops with.
#[derive(Debug)]
struct RecordTooLong {
    line: u64,
}

impl std::fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the record starting on line {} is longer than {} bytes",
            self.line, MAX_RECORD_BYTES
        )
    }
}

impl std::error::Error for RecordTooLong {}

impl<R: Read> Read for BoundedRecords<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            self.record_bytes += 1;
            match b {
                b'"' => self.in_quotes = !self.in_quotes,
                b'\n' => {
                    self.line += 1;
                    if !self.in_quotes {
                        self.record_bytes = 0;
                        self.record_line = self.line;
                    }
                }
                _ => {}
            }
            if self.record_bytes > MAX_RECORD_BYTES {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    RecordTooLong {
                        line: self.record_line,
                    },
                ));
            }
        }
        Ok(n)
    }
}

/// An input file: its path, how it is named in messages, and its content hash.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub display: String,
    pub sha256: String,
    pub bytes: u64,
}

impl InputFile {
    pub fn open(path: &Path) -> Result<Self, IngestError> {
        let display = path.display().to_string();
        let file = File::open(path).map_err(|e| IngestError::io(&display, e))?;
        let bytes = file
            .metadata()
            .map_err(|e| IngestError::io(&display, e))?
            .len();
        let mut hasher = Sha256::new();
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| IngestError::io(&display, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(Self {
            path: path.to_path_buf(),
            display,
            sha256: hex::encode(hasher.finalize()),
            bytes,
        })
    }

    pub fn is_parquet(&self) -> bool {
        self.path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
    }
}

/// The fields of one record, addressed by the position of a required column.
pub struct Fields<'a> {
    values: &'a [&'a str],
    positions: &'a [usize],
    /// The `i`-th required column's value as a number, when the input column is typed (Parquet
    /// integers and dates: days since 1970-01-01); empty for CSV.
    typed: &'a [Option<i64>],
    raw: &'a dyn Fn() -> String,
}

impl Fields<'_> {
    /// The value of the `i`-th required column.
    pub fn get(&self, i: usize) -> &str {
        self.values[self.positions[i]]
    }

    /// The `i`-th required column as a number, when the input column has an integer or date
    /// type and the value is not null (then [`Self::get`] is empty).
    pub fn typed(&self, i: usize) -> Option<i64> {
        self.typed.get(i).copied().flatten()
    }

    /// The whole record as one CSV line, for the reject file.
    pub fn raw(&self) -> String {
        (self.raw)()
    }
}

/// Reads every record of `file`, calling `on_record(line, fields, problems)` for each
/// well-formed one; malformed ones (wrong number of fields, bytes that are not UTF-8) go to
/// `problems`. Header problems (no header, a missing column) fail the whole file. With
/// `numbers`, Parquet integer and date columns come as [`Fields::typed`] values instead of text.
pub fn read_records(
    file: &InputFile,
    columns: &[&str],
    numbers: bool,
    problems: &mut Problems,
    mut on_record: impl FnMut(u64, &Fields<'_>, &mut Problems),
) -> Result<(), IngestError> {
    if file.is_parquet() {
        return read_parquet(file, columns, numbers, problems, on_record);
    }
    let handle = File::open(&file.path).map_err(|e| IngestError::io(&file.display, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(BoundedRecords::new(handle));
    let mut record = csv::ByteRecord::new();
    let mut positions = Vec::new();
    let mut header_len = 0usize;
    let mut first = true;
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            if let csv::ErrorKind::Io(io) = e.kind()
                && let Some(long) = io.get_ref().and_then(|r| r.downcast_ref::<RecordTooLong>())
            {
                return IngestError::Header(RowError::new(
                    &file.display,
                    long.line,
                    "-",
                    long.to_string(),
                ));
            }
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            IngestError::Header(RowError::new(
                &file.display,
                line,
                "-",
                format!("unreadable CSV: {e}"),
            ))
        })?;
        if !more {
            break;
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if first {
            first = false;
            let mut header: Vec<String> = Vec::with_capacity(record.len());
            for (i, field) in record.iter().enumerate() {
                let mut field = field;
                if i == 0 {
                    field = field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field);
                }
                let name = std::str::from_utf8(field).map_err(|_| {
                    IngestError::Header(RowError::new(
                        &file.display,
                        line,
                        "header",
                        "bytes that are not UTF-8",
                    ))
                })?;
                header.push(name.trim().to_string());
            }
            positions = header_positions(&file.display, line, &header, columns)?;
            header_len = header.len();
            continue;
        }
        if record.len() != header_len {
            // A blank line at the end of a file is not a record.
            if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
                continue;
            }
            problems.push(
                RowError::new(
                    &file.display,
                    line,
                    "-",
                    format!("expected {header_len} fields, found {}", record.len()),
                ),
                || raw_bytes(&record),
            );
            continue;
        }
        let mut values: Vec<&str> = Vec::with_capacity(record.len());
        let mut bad_field = None;
        for (i, field) in record.iter().enumerate() {
            if field.len() > MAX_FIELD_BYTES {
                bad_field = Some((i, format!("a value longer than {MAX_FIELD_BYTES} bytes")));
                break;
            }
            match std::str::from_utf8(field) {
                Ok(s) => values.push(s),
                Err(_) => {
                    bad_field = Some((i, "bytes that are not UTF-8".to_string()));
                    break;
                }
            }
        }
        if let Some((i, reason)) = bad_field {
            let name = columns
                .iter()
                .zip(&positions)
                .find(|(_, p)| **p == i)
                .map(|(c, _)| *c)
                .unwrap_or("-");
            problems.push(RowError::new(&file.display, line, name, reason), || {
                raw_bytes(&record)
            });
            continue;
        }
        let raw = || csv_line(&values);
        on_record(
            line,
            &Fields {
                values: &values,
                positions: &positions,
                typed: &[],
                raw: &raw,
            },
            problems,
        );
    }
    if first {
        return Err(IngestError::Header(RowError::new(
            &file.display,
            1,
            "header",
            "the file is empty: a header row is required",
        )));
    }
    Ok(())
}

fn raw_bytes(record: &csv::ByteRecord) -> String {
    let fields: Vec<String> = record
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
    csv_line(&refs)
}

/// One CSV line (RFC 4180 quoting), without the line end.
pub fn csv_line(values: &[&str]) -> String {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if v.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&v.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(v);
        }
    }
    out
}

fn header_positions(
    display: &str,
    line: u64,
    header: &[String],
    columns: &[&str],
) -> Result<Vec<usize>, IngestError> {
    let mut positions = Vec::with_capacity(columns.len());
    for column in columns {
        if header.iter().filter(|h| h == column).count() > 1 {
            return Err(IngestError::Header(RowError::new(
                display,
                line,
                column,
                format!("column `{column}` appears more than once in the header"),
            )));
        }
        match header.iter().position(|h| h == column) {
            Some(p) => positions.push(p),
            None => {
                return Err(IngestError::Header(RowError::new(
                    display,
                    line,
                    column,
                    format!(
                        "missing column `{column}` (the first line must be the header: {})",
                        columns.join(",")
                    ),
                )));
            }
        }
    }
    Ok(positions)
}

/// What a Parquet column of this name must be, when its type is not one of the documented
/// ones (DOMAIN.md section 5: the CSV columns' values, as text or as their natural type). An
/// integer is no date (days since 1970 would be guessed), and a list no id.
fn refused_type(column: &str, t: &DataType) -> Option<&'static str> {
    let text = |t: &DataType| match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => {
            matches!(
                **v,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        }
        _ => false,
    };
    let (ok, expected) = match column {
        "date" | "date_of_birth" => (
            text(t) || matches!(t, DataType::Date32 | DataType::Date64),
            "a date, or text YYYY-MM-DD",
        ),
        "urn" => (t.is_integer() || text(t), "an integer, or text"),
        "fsm" | "cla" | "cin" | "cpp" => (
            text(t) || matches!(t, DataType::Boolean),
            "a boolean, or text",
        ),
        "nc_year" => (t.is_integer() || text(t), "text, or an integer year"),
        _ => (text(t), "text"),
    };
    (!ok).then_some(expected)
}

fn read_parquet(
    file: &InputFile,
    columns: &[&str],
    numbers: bool,
    problems: &mut Problems,
    mut on_record: impl FnMut(u64, &Fields<'_>, &mut Problems),
) -> Result<(), IngestError> {
    let handle = File::open(&file.path).map_err(|e| IngestError::io(&file.display, e))?;
    let parquet_error = |e: &dyn std::fmt::Display| {
        IngestError::Header(RowError::new(
            &file.display,
            0,
            "-",
            format!("unreadable Parquet: {e}"),
        ))
    };
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(handle).map_err(|e| parquet_error(&e))?;
    let header: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    header_positions(&file.display, 0, &header, columns)?;
    for column in columns {
        let field = builder
            .schema()
            .field_with_name(column)
            .expect("checked above");
        if let Some(expected) = refused_type(column, field.data_type()) {
            return Err(IngestError::Header(RowError::new(
                &file.display,
                0,
                column,
                format!(
                    "column `{column}` has type {}; expected {expected}",
                    field.data_type()
                ),
            )));
        }
    }
    let reader = builder
        .with_batch_size(8192)
        .build()
        .map_err(|e| parquet_error(&e))?;
    let positions: Vec<usize> = (0..columns.len()).collect();
    let mut row = 0u64;
    for batch in reader {
        let batch: RecordBatch = batch.map_err(|e| parquet_error(&e))?;
        // Integer and date columns are read as numbers (no round trip through text); every
        // other column as text.
        let mut arrays = Vec::with_capacity(columns.len());
        for column in columns {
            let array = batch.column_by_name(column).expect("checked above");
            let as_type = match array.data_type() {
                DataType::Date32 if numbers => DataType::Date32,
                t if numbers && t.is_integer() => DataType::Int64,
                _ => DataType::Utf8,
            };
            let converted = cast(array, &as_type).map_err(|e| {
                IngestError::Header(RowError::new(
                    &file.display,
                    0,
                    column,
                    format!("incompatible type: {e}"),
                ))
            })?;
            arrays.push(converted);
        }
        // Each column's array, downcast once per batch rather than for every value.
        enum Column<'a> {
            Date(&'a datafusion::arrow::array::Date32Array),
            Int(&'a datafusion::arrow::array::Int64Array),
            Text(&'a datafusion::arrow::array::StringArray),
        }
        let typed_columns: Vec<Column<'_>> = arrays
            .iter()
            .map(|array| match array.data_type() {
                DataType::Date32 => Column::Date(array.as_primitive::<Date32Type>()),
                DataType::Int64 => Column::Int(array.as_primitive::<Int64Type>()),
                _ => Column::Text(array.as_string::<i32>()),
            })
            .collect();
        let nulls: Vec<_> = arrays.iter().map(|a| a.logical_nulls()).collect();
        let mut values: Vec<&str> = vec![""; columns.len()];
        let mut typed: Vec<Option<i64>> = vec![None; columns.len()];
        for i in 0..batch.num_rows() {
            row += 1;
            for (((value, number), column), nulls) in values
                .iter_mut()
                .zip(typed.iter_mut())
                .zip(&typed_columns)
                .zip(&nulls)
            {
                *value = "";
                *number = None;
                if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                    continue;
                }
                match column {
                    Column::Date(a) => *number = Some(i64::from(a.value(i))),
                    Column::Int(a) => *number = Some(a.value(i)),
                    Column::Text(a) => *value = a.value(i),
                }
            }
            let raw = || {
                let texts: Vec<String> = arrays
                    .iter()
                    .zip(&values)
                    .map(|(array, value)| {
                        if array.is_null(i) {
                            String::new()
                        } else {
                            match array.data_type() {
                                DataType::Date32 => {
                                    let days = array.as_primitive::<Date32Type>().value(i);
                                    date32_text(days)
                                }
                                DataType::Int64 => {
                                    array.as_primitive::<Int64Type>().value(i).to_string()
                                }
                                _ => value.to_string(),
                            }
                        }
                    })
                    .collect();
                let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
                csv_line(&texts)
            };
            on_record(
                row,
                &Fields {
                    values: &values,
                    positions: &positions,
                    typed: &typed,
                    raw: &raw,
                },
                problems,
            );
        }
    }
    Ok(())
}

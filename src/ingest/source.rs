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

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Int64Array, RecordBatch, StringArray,
};
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
    on_record: impl FnMut(u64, &Fields<'_>, &mut Problems),
) -> Result<(), IngestError> {
    if file.is_parquet() {
        read_parquet(file, columns, numbers, problems, on_record)
    } else {
        read_csv(file, columns, problems, on_record)
    }
}

/// [`read_records`] for a CSV file: the header, then each record checked for its number of
/// fields and their bytes before `on_record` sees it.
fn read_csv(
    file: &InputFile,
    columns: &[&str],
    problems: &mut Problems,
    mut on_record: impl FnMut(u64, &Fields<'_>, &mut Problems),
) -> Result<(), IngestError> {
    let handle = File::open(&file.path).map_err(|e| IngestError::io(&file.display, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(BoundedRecords::new(handle));
    let mut record = csv::ByteRecord::new();
    if !next_csv_record(file, &mut reader, &mut record)? {
        return Err(IngestError::Header(RowError::new(
            &file.display,
            1,
            "header",
            "the file is empty: a header row is required",
        )));
    }
    let header = csv_header(file, &record)?;
    let positions = header_positions(&file.display, record_line(&record), &header, columns)?;
    while next_csv_record(file, &mut reader, &mut record)? {
        let line = record_line(&record);
        if record.len() != header.len() {
            // A blank line at the end of a file is not a record.
            if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
                continue;
            }
            problems.push(
                RowError::new(
                    &file.display,
                    line,
                    "-",
                    format!("expected {} fields, found {}", header.len(), record.len()),
                ),
                || raw_bytes(&record),
            );
            continue;
        }
        let values = match record_values(&record) {
            Ok(values) => values,
            Err((i, reason)) => {
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
        };
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
    Ok(())
}

/// The line a CSV record starts on.
fn record_line(record: &csv::ByteRecord) -> u64 {
    record.position().map(|p| p.line()).unwrap_or(0)
}

/// Reads the next CSV record into `record`; false at the end of the file. An unreadable or
/// too long record fails the file.
fn next_csv_record(
    file: &InputFile,
    reader: &mut csv::Reader<BoundedRecords<File>>,
    record: &mut csv::ByteRecord,
) -> Result<bool, IngestError> {
    reader.read_byte_record(record).map_err(|e| {
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
    })
}

/// The column names of a CSV header record (a UTF-8 byte-order mark before the first one is
/// dropped).
fn csv_header(file: &InputFile, record: &csv::ByteRecord) -> Result<Vec<String>, IngestError> {
    let mut header: Vec<String> = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let mut field = field;
        if i == 0 {
            field = field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field);
        }
        let name = std::str::from_utf8(field).map_err(|_| {
            IngestError::Header(RowError::new(
                &file.display,
                record_line(record),
                "header",
                "bytes that are not UTF-8",
            ))
        })?;
        header.push(name.trim().to_string());
    }
    Ok(header)
}

/// The fields of a record as text, or the position of the first one that is too long or not
/// UTF-8, with why.
fn record_values(record: &csv::ByteRecord) -> Result<Vec<&str>, (usize, String)> {
    let mut values: Vec<&str> = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        if field.len() > MAX_FIELD_BYTES {
            return Err((i, format!("a value longer than {MAX_FIELD_BYTES} bytes")));
        }
        match std::str::from_utf8(field) {
            Ok(s) => values.push(s),
            Err(_) => return Err((i, "bytes that are not UTF-8".to_string())),
        }
    }
    Ok(values)
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

/// [`read_records`] for a Parquet file: its schema checked against the required columns, then
/// batch by batch, each row handed over as text (and numbers, with `numbers`).
fn read_parquet(
    file: &InputFile,
    columns: &[&str],
    numbers: bool,
    problems: &mut Problems,
    mut on_record: impl FnMut(u64, &Fields<'_>, &mut Problems),
) -> Result<(), IngestError> {
    let reader = open_parquet(file, columns)?;
    let positions: Vec<usize> = (0..columns.len()).collect();
    let mut row = 0u64;
    for batch in reader {
        let batch: RecordBatch = batch.map_err(|e| parquet_error(file, &e))?;
        let arrays = batch_columns(file, &batch, columns, numbers)?;
        let typed_columns: Vec<Column<'_>> = arrays.iter().map(Column::of).collect();
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
                (*value, *number) = ("", None);
                if !nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                    column.read(i, value, number);
                }
            }
            let raw = || parquet_row_text(&arrays, &values, i);
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

fn parquet_error(file: &InputFile, e: &dyn std::fmt::Display) -> IngestError {
    IngestError::Header(RowError::new(
        &file.display,
        0,
        "-",
        format!("unreadable Parquet: {e}"),
    ))
}

/// A reader of `file`'s batches, once its schema has every column of `columns` with a type
/// [`refused_type`] accepts.
fn open_parquet(
    file: &InputFile,
    columns: &[&str],
) -> Result<datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReader, IngestError> {
    let handle = File::open(&file.path).map_err(|e| IngestError::io(&file.display, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(handle).map_err(|e| parquet_error(file, &e))?;
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
    builder
        .with_batch_size(8192)
        .build()
        .map_err(|e| parquet_error(file, &e))
}

/// The required columns of a batch, in the order of `columns`. Integer and date columns are
/// read as numbers with `numbers` (no round trip through text); every other column as text.
fn batch_columns(
    file: &InputFile,
    batch: &RecordBatch,
    columns: &[&str],
    numbers: bool,
) -> Result<Vec<ArrayRef>, IngestError> {
    columns
        .iter()
        .map(|column| {
            let array = batch.column_by_name(column).expect("checked above");
            let as_type = match array.data_type() {
                DataType::Date32 if numbers => DataType::Date32,
                t if numbers && t.is_integer() => DataType::Int64,
                _ => DataType::Utf8,
            };
            cast(array, &as_type).map_err(|e| {
                IngestError::Header(RowError::new(
                    &file.display,
                    0,
                    column,
                    format!("incompatible type: {e}"),
                ))
            })
        })
        .collect()
}

/// A column's array, downcast once per batch rather than for every value.
enum Column<'a> {
    Date(&'a Date32Array),
    Int(&'a Int64Array),
    Text(&'a StringArray),
}

impl<'a> Column<'a> {
    /// An array [`batch_columns`] gave.
    fn of(array: &'a ArrayRef) -> Self {
        match array.data_type() {
            DataType::Date32 => Column::Date(array.as_primitive::<Date32Type>()),
            DataType::Int64 => Column::Int(array.as_primitive::<Int64Type>()),
            _ => Column::Text(array.as_string::<i32>()),
        }
    }

    /// Row `i` (not null) as text or as a number (dates: days since 1970-01-01).
    fn read(&self, i: usize, value: &mut &'a str, number: &mut Option<i64>) {
        match self {
            Column::Date(a) => *number = Some(i64::from(a.value(i))),
            Column::Int(a) => *number = Some(a.value(i)),
            Column::Text(a) => *value = a.value(i),
        }
    }
}

/// Row `i` of a batch as one CSV line (dates as YYYY-MM-DD), for the reject file.
fn parquet_row_text(arrays: &[ArrayRef], values: &[&str], i: usize) -> String {
    let texts: Vec<String> = arrays
        .iter()
        .zip(values)
        .map(|(array, value)| {
            if array.is_null(i) {
                String::new()
            } else {
                match array.data_type() {
                    DataType::Date32 => date32_text(array.as_primitive::<Date32Type>().value(i)),
                    DataType::Int64 => array.as_primitive::<Int64Type>().value(i).to_string(),
                    _ => value.to_string(),
                }
            }
        })
        .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    csv_line(&texts)
}

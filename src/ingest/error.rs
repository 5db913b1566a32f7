//! Ingest errors. A row error names the file, the line and the field, and why the value was
//! refused. Values from pupil records are never echoed (they are personal data); only the values
//! of code-like fields (codes, sessions, phases, ...) appear, since they identify nobody.

use std::fmt;

use crate::store::StoreError;

/// How many row errors an ingest reports in full before giving only a count.
pub const MAX_REPORTED_ERRORS: usize = 20;

/// One refused record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub file: String,
    /// 1-based line of a CSV file (the header is line 1), or row number of a Parquet file.
    pub line: u64,
    pub field: String,
    pub reason: String,
}

impl RowError {
    pub fn new(file: &str, line: u64, field: &str, reason: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            line,
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: field `{}`: {}",
            self.file, self.line, self.field, self.reason
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Some rows were invalid; nothing was written.
    #[error("{}", invalid_message(.errors, *.total))]
    Invalid { errors: Vec<RowError>, total: usize },
    /// A file could not be read as a table at all (no header, a missing column, not CSV/Parquet).
    #[error("{0}; nothing was written")]
    Header(RowError),
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("nothing to ingest: give --schools, --pupils or --registers")]
    NoInput,
    /// The input given cannot be read as input files (not a regular file, nothing to load).
    #[error("{0}; nothing was written")]
    Input(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("query engine: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("writing the {table} table: {source}")]
    Delta {
        table: &'static str,
        #[source]
        source: deltalake::DeltaTableError,
    },
}

impl IngestError {
    pub fn io(path: &str, e: std::io::Error) -> Self {
        IngestError::Io(path.to_string(), e)
    }
}

fn invalid_message(errors: &[RowError], total: usize) -> String {
    let mut msg = format!("{total} invalid row(s); nothing was written");
    for e in errors {
        msg.push_str("\n  ");
        msg.push_str(&e.to_string());
    }
    if total > errors.len() {
        msg.push_str(&format!("\n  ... and {} more", total - errors.len()));
    }
    msg.push_str(
        "\n(use --reject-file FILE to load the valid rows and write the invalid ones to FILE)",
    );
    msg
}

/// Collects the row errors of an ingest: the first [`MAX_REPORTED_ERRORS`] in full, then a count;
/// or, with a reject file, every refused row with its reason.
#[derive(Debug, Default)]
pub struct Problems {
    pub errors: Vec<RowError>,
    pub total: usize,
    /// `(error, the record as a CSV line)`, kept only when rejects are written to a file.
    pub rejects: Vec<(RowError, String)>,
    pub keep_rejects: bool,
}

impl Problems {
    pub fn new(keep_rejects: bool) -> Self {
        Self {
            keep_rejects,
            ..Default::default()
        }
    }

    pub fn push(&mut self, error: RowError, raw: impl FnOnce() -> String) {
        self.total += 1;
        if self.keep_rejects {
            self.rejects.push((error, raw()));
        } else if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(error);
        }
    }

    pub fn merge(&mut self, other: Problems) {
        self.total += other.total;
        self.rejects.extend(other.rejects);
        for e in other.errors {
            if self.errors.len() < MAX_REPORTED_ERRORS {
                self.errors.push(e);
            }
        }
    }

    /// Fails unless rows may be rejected to a file.
    pub fn check(&mut self) -> Result<(), IngestError> {
        if self.total > 0 && !self.keep_rejects {
            return Err(IngestError::Invalid {
                errors: std::mem::take(&mut self.errors),
                total: self.total,
            });
        }
        Ok(())
    }
}

//! What an ingest reports: per table, and its phases.

use serde::Serialize;

/// What one table received.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct TableSummary {
    pub files_loaded: usize,
    /// Files whose content was already loaded (no-ops).
    pub files_skipped: usize,
    pub rows_read: u64,
    pub rows_rejected: u64,
    /// Rows stored that were not stored before.
    pub rows_added: u64,
    /// Stored rows replaced by a row with the same key and new content.
    pub rows_replaced: u64,
    /// Rows identical to a stored row (no-ops).
    pub rows_unchanged: u64,
    pub partitions: usize,
    /// Table version after the ingest (None: never written).
    pub version: Option<u64>,
}

/// The report of an ingest.
#[derive(Debug, Default, Clone, Serialize)]
pub struct IngestSummary {
    pub schools: TableSummary,
    pub pupils: TableSummary,
    pub registers: TableSummary,
    /// Marks entered as `-` (no mark): stored, counted in no measure.
    pub missing_marks: u64,
    /// The marks arrived in storage order (every register file sorted, no two overlapping) and
    /// were written as they came, without a sort or a search for duplicates.
    pub presorted: bool,
    pub seconds: f64,
    /// Where the time went: reading and validating the input (and staging the marks), checking
    /// the marks against each other and the store, and writing and committing the tables.
    pub phases: Phases,
    /// What was passed over in the input, and why (entries of a directory that are not
    /// regular files, files with no rows).
    pub notes: Vec<String>,
}

/// Seconds spent in each phase of an ingest.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Phases {
    pub validate: f64,
    pub check: f64,
    pub write: f64,
}

impl std::fmt::Display for IngestSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, t) in [
            ("schools", &self.schools),
            ("pupils", &self.pupils),
            ("registers", &self.registers),
        ] {
            if t.files_loaded + t.files_skipped == 0 {
                continue;
            }
            write!(
                f,
                "{name:<9}: {} file(s) loaded, {} already loaded; {} rows read, {} added, {} replaced, {} unchanged, {} rejected",
                t.files_loaded,
                t.files_skipped,
                t.rows_read,
                t.rows_added,
                t.rows_replaced,
                t.rows_unchanged,
                t.rows_rejected
            )?;
            if name == "registers" {
                write!(f, "; {} partition(s)", t.partitions)?;
            }
            if let Some(v) = t.version {
                write!(f, "; version {v}")?;
            }
            writeln!(f)?;
        }
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        if self.missing_marks > 0 {
            writeln!(
                f,
                "data quality: {} mark(s) entered as `-` (no mark)",
                self.missing_marks
            )?;
        }
        let rows = self.schools.rows_read + self.pupils.rows_read + self.registers.rows_read;
        write!(
            f,
            "{rows} rows in {:.2} s ({:.0} rows/s)",
            self.seconds,
            rows as f64 / self.seconds.max(1e-9)
        )
    }
}

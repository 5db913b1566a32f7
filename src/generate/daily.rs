//! `attendance generate --daily-csv DIR`: the year as a daily feed. `schools.csv` and
//! `pupils.csv` as `--csv` writes them, and one register file per school day,
//! `registers-YYYY-MM-DD.csv` (DOMAIN.md section 5 register columns), holding every mark of that
//! day of every school of the selection, sorted by urn, pupil_id and session, so that the year
//! can be replayed day by day with `attendance ingest --registers DAY.csv`.
//!
//! Streaming: LAs are generated in urn order on a thread of their own (a national year is 3
//! billion marks) and each row goes to the open file of its day (the `--csv` row writer,
//! `csv_files.rs`), so memory is a few batches plus one buffered writer per school day. A batch is sorted by urn, pupil_id, date,
//! session and the LAs come in urn order, so each day's rows arrive sorted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use datafusion::arrow::array::RecordBatch;

use super::csv_files::{CsvWriter, REGISTER_HEADER, RegisterRows, RegisterSink, csv_writer};
use super::store::{Selection, write_csv};
use crate::progress::ProgressRef;

/// What `write_daily` wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DailySummary {
    pub schools: usize,
    pub enrolments: usize,
    pub marks: u64,
    /// register files written (one per school day)
    pub days: usize,
    /// the first and last school day
    pub first: Option<String>,
    pub last: Option<String>,
}

/// The name of the register file of day `date` (`registers-2024-09-04.csv`).
pub fn day_file_name(date: &str) -> String {
    format!("registers-{date}.csv")
}

/// The open register files, by Date32 day, each created with its header at its first row.
struct DayFiles {
    dir: PathBuf,
    files: BTreeMap<i32, (PathBuf, CsvWriter)>,
}

impl RegisterSink for DayFiles {
    fn writer(&mut self, day: i32) -> anyhow::Result<&mut CsvWriter> {
        use std::collections::btree_map::Entry;
        Ok(match self.files.entry(day) {
            Entry::Occupied(o) => &mut o.into_mut().1,
            Entry::Vacant(v) => {
                let path = self.dir.join(day_file_name(&super::fmt_date(day)));
                let mut w = csv_writer(&path, 64 << 10)?;
                w.write_record(REGISTER_HEADER)?;
                &mut v.insert((path, w)).1
            }
        })
    }
}

impl DayFiles {
    /// Flushes every file; returns the days written, in order.
    fn close(self) -> anyhow::Result<Vec<i32>> {
        let mut days = Vec::with_capacity(self.files.len());
        for (day, (path, mut writer)) in self.files {
            writer
                .flush()
                .with_context(|| format!("writing {}", path.display()))?;
            days.push(day);
        }
        Ok(days)
    }
}

impl Selection {
    /// Writes `schools.csv`, `pupils.csv` and one `registers-YYYY-MM-DD.csv` per school day into
    /// `dir`. A directory that already holds day files is refused (a replay would mix years).
    pub fn write_daily(&self, dir: &Path, progress: &ProgressRef) -> anyhow::Result<DailySummary> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("registers-") && name.ends_with(".csv") {
                anyhow::bail!(
                    "{}: already holds daily register files ({name}); give an empty directory",
                    dir.display()
                );
            }
        }
        write_csv(
            &dir.join("schools.csv"),
            std::slice::from_ref(&self.schools),
        )?;
        write_csv(&dir.join("pupils.csv"), &self.pupils)?;
        progress.step("marks", Some(self.marks()));
        let mut files = DayFiles {
            dir: dir.to_path_buf(),
            files: BTreeMap::new(),
        };
        let mut marks = 0u64;
        let (tx, rx) = std::sync::mpsc::sync_channel::<RecordBatch>(4);
        let written = std::thread::scope(|scope| {
            scope.spawn(move || {
                for &i in &self.partitions {
                    for batch in self.dataset.registers(i) {
                        if tx.send(batch).is_err() {
                            return; // the writer failed
                        }
                    }
                }
            });
            let mut rows = RegisterRows::new();
            for batch in rx {
                rows.write(&batch, &mut files)?;
                marks += batch.num_rows() as u64;
                progress.advance(batch.num_rows() as u64);
            }
            anyhow::Ok(())
        });
        progress.finish();
        written?;
        let days = files.close()?;
        Ok(DailySummary {
            schools: self.schools.num_rows(),
            enrolments: self.enrolments(),
            marks,
            days: days.len(),
            first: days.first().map(|&d| super::fmt_date(d)),
            last: days.last().map(|&d| super::fmt_date(d)),
        })
    }
}

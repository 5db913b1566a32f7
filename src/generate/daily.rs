//! `attendance generate --daily-csv DIR`: the year as a daily feed. `schools.csv` and
//! `pupils.csv` as `--csv` writes them, and one register file per school day,
//! `registers-YYYY-MM-DD.csv` (DOMAIN.md section 5 register columns), holding every mark of that
//! day of every school of the selection, sorted by urn, pupil_id and session, so that the year
//! can be replayed day by day with `attendance ingest --registers DAY.csv`.
//!
//! Streaming: LAs are generated in urn order on a thread of their own (a national year is 3
//! billion marks) and each batch is split by date into the open day files, so memory is a few
//! batches plus one buffered writer per school day. A batch is sorted by urn, pupil_id, date,
//! session and the LAs come in urn order, so each day's rows arrive sorted.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{AsArray, RecordBatch, UInt32Array};
use datafusion::arrow::compute::take_record_batch;
use datafusion::arrow::csv::Writer;
use datafusion::arrow::datatypes::Date32Type;

use super::store::{Selection, write_csv};
use crate::progress::ProgressRef;
use crate::store::StoreError;

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

/// The register columns of a day file (DOMAIN.md section 5).
const COLUMNS: [&str; 5] = ["pupil_id", "urn", "date", "session", "code"];

/// The name of the register file of day `date` (`registers-2024-09-04.csv`).
pub fn day_file_name(date: &str) -> String {
    format!("registers-{date}.csv")
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + use<> {
    let p = path.display().to_string();
    move |e| StoreError::Io(p.clone(), e)
}

fn arrow(e: datafusion::arrow::error::ArrowError) -> StoreError {
    datafusion::error::DataFusionError::from(e).into()
}

/// The open register files, by Date32 day.
struct DayFiles {
    dir: PathBuf,
    files: BTreeMap<i32, (PathBuf, Writer<BufWriter<File>>)>,
}

impl DayFiles {
    /// Appends each day's rows of `batch` (REGISTERS columns projected to `COLUMNS`) to its file.
    fn write(&mut self, batch: &RecordBatch) -> Result<(), StoreError> {
        let dates = batch
            .column_by_name("date")
            .expect("date column")
            .as_primitive::<Date32Type>();
        let mut rows: BTreeMap<i32, Vec<u32>> = BTreeMap::new();
        for (i, d) in dates.values().iter().enumerate() {
            rows.entry(*d).or_default().push(i as u32);
        }
        for (day, indices) in rows {
            let part = take_record_batch(batch, &UInt32Array::from(indices)).map_err(arrow)?;
            let writer = match self.files.entry(day) {
                std::collections::btree_map::Entry::Occupied(o) => &mut o.into_mut().1,
                std::collections::btree_map::Entry::Vacant(v) => {
                    let path = self.dir.join(day_file_name(&super::fmt_date(day)));
                    let file = File::create(&path).map_err(io(&path))?;
                    let writer = datafusion::arrow::csv::WriterBuilder::new()
                        .with_header(true)
                        .with_date_format("%Y-%m-%d".into())
                        .build(BufWriter::with_capacity(64 << 10, file));
                    &mut v.insert((path, writer)).1
                }
            };
            writer.write(&part).map_err(arrow)?;
        }
        Ok(())
    }

    /// Flushes every file; returns the days written, in order.
    fn close(self) -> Result<Vec<i32>, StoreError> {
        let mut days = Vec::with_capacity(self.files.len());
        for (day, (path, writer)) in self.files {
            writer.into_inner().flush().map_err(io(&path))?;
            days.push(day);
        }
        Ok(days)
    }
}

impl Selection {
    /// Writes `schools.csv`, `pupils.csv` and one `registers-YYYY-MM-DD.csv` per school day into
    /// `dir`. A directory that already holds day files is refused (a replay would mix years).
    pub fn write_daily(
        &self,
        dir: &Path,
        progress: &ProgressRef,
    ) -> Result<DailySummary, StoreError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let name = entry.map_err(io(dir))?.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("registers-") && name.ends_with(".csv") {
                return Err(StoreError::Invalid(format!(
                    "{}: already holds daily register files ({name}); give an empty directory",
                    dir.display()
                )));
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
                        let indices: Vec<usize> = COLUMNS
                            .iter()
                            .map(|c| batch.schema().index_of(c).expect("register column"))
                            .collect();
                        let projected = batch.project(&indices).expect("projection");
                        if tx.send(projected).is_err() {
                            return; // the writer failed
                        }
                    }
                }
            });
            for batch in rx {
                files.write(&batch)?;
                marks += batch.num_rows() as u64;
                progress.advance(batch.num_rows() as u64);
            }
            Ok::<_, StoreError>(())
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

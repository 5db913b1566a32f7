//! The input files of a data set (DOMAIN.md section 5) as CSV: `schools.csv`, `pupils.csv` and
//! the register rows, written row by row with the text of urns and dates cached. The register
//! rows go to a [`RegisterSink`]: one file per LA (`--csv`, here) or one file per day
//! (`--daily-csv`, `daily.rs`).

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use anyhow::Context;
use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{Date32Type, Int32Type};
use rayon::prelude::*;

use super::{CsvSummary, Dataset, fmt_date};

/// A buffered CSV file.
pub(super) type CsvWriter = csv::Writer<BufWriter<File>>;

/// The register columns (DOMAIN.md section 5).
pub(super) const REGISTER_HEADER: [&str; 5] = ["pupil_id", "urn", "date", "session", "code"];

/// A CSV file at `path` with a buffer of `capacity` bytes.
pub(super) fn csv_writer(path: &Path, capacity: usize) -> anyhow::Result<CsvWriter> {
    let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(BufWriter::with_capacity(capacity, f)))
}

/// Where each register row goes, by its Date32 day.
pub(super) trait RegisterSink {
    fn writer(&mut self, day: i32) -> anyhow::Result<&mut CsvWriter>;
}

/// Every row to one file.
struct OneFile(CsvWriter);

impl RegisterSink for OneFile {
    fn writer(&mut self, _day: i32) -> anyhow::Result<&mut CsvWriter> {
        Ok(&mut self.0)
    }
}

/// Writes register batches (REGISTERS schema) as `REGISTER_HEADER` rows.
pub(super) struct RegisterRows {
    dates: HashMap<i32, String>,
    last_urn: (i32, String),
}

impl RegisterRows {
    pub(super) fn new() -> Self {
        RegisterRows {
            dates: HashMap::new(),
            last_urn: (i32::MIN, String::new()),
        }
    }

    pub(super) fn write(
        &mut self,
        b: &RecordBatch,
        sink: &mut impl RegisterSink,
    ) -> anyhow::Result<()> {
        let pid = b.column(0).as_string::<i32>();
        let urn = b.column(1).as_primitive::<Int32Type>();
        let date = b.column(2).as_primitive::<Date32Type>();
        let ses = b.column(3).as_string::<i32>();
        let code = b.column(4).as_string::<i32>();
        for r in 0..b.num_rows() {
            let u = urn.value(r);
            if u != self.last_urn.0 {
                self.last_urn = (u, u.to_string());
            }
            let day = date.value(r);
            let d = self.dates.entry(day).or_insert_with_key(|&d| fmt_date(d));
            sink.writer(day)?.write_record([
                pid.value(r),
                self.last_urn.1.as_str(),
                d.as_str(),
                ses.value(r),
                code.value(r),
            ])?;
        }
        Ok(())
    }
}

impl Dataset {
    /// Write the DOMAIN.md section 5 CSV files into `dir`: `schools.csv`, `pupils.csv` and
    /// `registers/<old_la_code>.csv` (one file per LA, written in parallel).
    pub fn write_csv(&self, dir: &Path) -> anyhow::Result<CsvSummary> {
        std::fs::create_dir_all(dir.join("registers"))
            .with_context(|| format!("creating {}", dir.join("registers").display()))?;
        self.write_schools_csv(&dir.join("schools.csv"))?;
        let enrolments = self.write_pupils_csv(&dir.join("pupils.csv"))?;
        let marks: Vec<u64> = (0..self.partitions())
            .into_par_iter()
            .map(|i| {
                let la = self.partition_info(i).la_code;
                self.write_registers_csv(i, &dir.join("registers").join(format!("{la}.csv")))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(CsvSummary {
            schools: self.schools.num_rows(),
            enrolments,
            marks: marks.iter().sum(),
            register_files: marks.len(),
        })
    }

    /// `schools.csv`: the SCHOOLS columns.
    pub(super) fn write_schools_csv(&self, path: &Path) -> anyhow::Result<()> {
        let mut w = csv_writer(path, 1 << 20)?;
        w.write_record(
            self.schools
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().as_str()),
        )?;
        let cols: Vec<&StringArray> = (1..8)
            .map(|c| self.schools.column(c).as_string::<i32>())
            .collect();
        let urns = self.schools.column(0).as_primitive::<Int32Type>();
        for r in 0..self.schools.num_rows() {
            let urn = urns.value(r).to_string();
            let mut rec = vec![urn.as_str()];
            rec.extend(cols.iter().map(|c| c.value(r)));
            w.write_record(&rec)?;
        }
        w.flush()?;
        Ok(())
    }

    /// `pupils.csv` (academic_year first, as DOMAIN.md lists the columns); returns its rows.
    pub(super) fn write_pupils_csv(&self, path: &Path) -> anyhow::Result<usize> {
        let mut w = csv_writer(path, 1 << 20)?;
        w.write_record(crate::schema::PUPIL_COLUMNS)?;
        let mut enrolments = 0;
        for b in &self.pupils {
            let pid = b.column(0).as_string::<i32>();
            let nc = b.column(2).as_string::<i32>();
            let sex = b.column(3).as_string::<i32>();
            let sen = b.column(6).as_string::<i32>();
            let ay = b.column(10).as_string::<i32>();
            let bool_col = |c: usize| b.column(c).as_boolean().clone();
            let urn = b.column(1).as_primitive::<Int32Type>();
            let dob = b.column(4).as_primitive::<Date32Type>();
            let (fsm, cla, cin, cpp) = (bool_col(5), bool_col(7), bool_col(8), bool_col(9));
            let tf = |v: bool| if v { "true" } else { "false" };
            for r in 0..b.num_rows() {
                let urn = urn.value(r).to_string();
                let dob = if dob.is_null(r) {
                    String::new()
                } else {
                    fmt_date(dob.value(r))
                };
                w.write_record([
                    ay.value(r),
                    pid.value(r),
                    urn.as_str(),
                    nc.value(r),
                    sex.value(r),
                    dob.as_str(),
                    tf(fsm.value(r)),
                    sen.value(r),
                    tf(cla.value(r)),
                    tf(cin.value(r)),
                    tf(cpp.value(r)),
                ])?;
            }
            enrolments += b.num_rows();
        }
        w.flush()?;
        Ok(enrolments)
    }

    /// The marks of partition `i` as one register file; returns its rows.
    fn write_registers_csv(&self, i: usize, path: &Path) -> anyhow::Result<u64> {
        let mut w = csv_writer(path, 1 << 20)?;
        w.write_record(REGISTER_HEADER)?;
        let mut sink = OneFile(w);
        let mut rows = RegisterRows::new();
        let mut n = 0u64;
        for b in self.registers(i) {
            rows.write(&b, &mut sink)?;
            n += b.num_rows() as u64;
        }
        sink.0.flush()?;
        Ok(n)
    }
}

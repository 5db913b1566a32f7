//! Synthetic data generator: schools, pupils and register marks for one academic year in England,
//! calibrated LA by LA and phase by phase to the DfE's real 2024/25 attendance figures.
//!
//! ```ignore
//! let ds = generate::plan(&GenerateConfig { pupils: 10_000, seed: 1, academic_year: 2024 });
//! write(ds.schools.clone());                    // SCHOOLS schema, sorted by urn
//! for b in &ds.pupils { write(b.clone()); }      // PUPILS schema, one batch per partition
//! (0..ds.partitions()).into_par_iter().for_each(|i| {
//!     let info = ds.partition_info(i);           // la_code, region_code, ...
//!     for batch in ds.registers(i) { write_to(info.la_code, batch); }  // REGISTERS schema
//! });
//! ds.write_csv(dir)?;                            // DOMAIN.md section 5 CSV files
//! ```
//!
//! * `plan` is cheap (no marks): it shares the pupils among the 153 LAs in proportion to their real
//!   headcount, phase by phase, sizes schools from the real school counts, draws pupils with their
//!   characteristics and computes every enrolment's absence propensities (see `plan` module docs
//!   for the calibration). Work is parallel over LAs (rayon) and deterministic.
//! * A partition is one LA (those with pupils, in the order of the LA table: Hartlepool first).
//!   `registers(i)` generates its marks lazily, in batches of at most `BATCH_ROWS` (65,536) rows,
//!   each ending at an enrolment boundary, sorted by urn, pupil_id, date, session (AM < PM).
//!   Each enrolment's marks come from its own random stream (seed, pupil, urn), so the output is
//!   identical whatever thread calls it and whatever the batch split. Memory is bounded by the plan
//!   (about 100 bytes per enrolment) plus one batch per running iterator.
//! * `write_csv` writes `schools.csv`, `pupils.csv` and `registers/<old_la_code>.csv`
//!   (`csv_files.rs`); `store::Selection::write_daily` the same year as one register file per
//!   school day (`daily.rs`).
//! * `plan_calibrated` calibrates to a [`Calibration`] read from a DfE file of the reference
//!   layout (`reference.rs`) instead of the embedded 2024/25 table; `Dataset::cut_at` stops the
//!   year at a date (the marks up to it are the whole year's).
//!
//! Data: pupil ids are `P` + 12 hex digits of a keyed bijection of the pupil number (unique, not
//! UPNs). URNs are 100000 + n. Marks exist only on term weekdays of the school's LA calendar:
//! INSET days and bank holidays in term are `#`; holidays and weekends have no marks. A pupil who
//! moves school (2%) has two enrolments (same pupil_id) at two schools of the same phase, in the
//! same LA or another LA of the region, with marks at the first school up to the move and at the
//! second from then on (no marks at the other school on the other days).

mod calendar;
mod calibration;
mod csv_files;
mod daily;
mod marks;
mod model;
mod plan;
mod reference;
pub mod store;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Int32Array, RecordBatch, StringArray,
};
use rayon::prelude::*;

pub use calendar::{easter, spring_bank_holiday};
pub use daily::{DailySummary, day_file_name};
pub use marks::BATCH_ROWS;
pub use model::code::STR as CODES;
pub use reference::Calibration;

pub use model::year_label;
use model::{NC_YEARS, PHASES};
use plan::{LaPlan, flag};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateConfig {
    /// number of pupils (movers add about 2% more enrolments)
    pub pupils: u64,
    pub seed: u64,
    /// start year of the academic year: 2024 for 2024-25
    pub academic_year: i32,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig {
            pupils: 10_000,
            seed: 42,
            academic_year: 2024,
        }
    }
}

/// The LA of one register partition.
#[derive(Debug, Clone, Copy)]
pub struct PartitionInfo {
    /// old 3-digit DfE code (the `la_code` partition value)
    pub la_code: &'static str,
    pub new_la_code: &'static str,
    pub la_name: &'static str,
    pub region_code: &'static str,
    pub region_name: &'static str,
    pub schools: usize,
    pub enrolments: usize,
    /// exact number of register marks `registers(i)` yields
    pub marks: u64,
}

/// What `write_csv` wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvSummary {
    pub schools: usize,
    pub enrolments: usize,
    pub marks: u64,
    /// register files written (one per LA)
    pub register_files: usize,
}

/// A planned data set: schools and pupils materialised, register marks on demand.
pub struct Dataset {
    pub config: GenerateConfig,
    /// e.g. `2024-25`
    pub year: String,
    /// SCHOOLS schema, sorted by urn
    pub schools: RecordBatch,
    /// PUPILS schema, one batch per partition (same order), sorted by urn, pupil_id
    pub pupils: Vec<RecordBatch>,
    plans: Vec<LaPlan>,
}

/// Plan a data set calibrated to the embedded 2024/25 table: schools, pupils and every
/// enrolment's propensities (no marks yet).
pub fn plan(cfg: &GenerateConfig) -> Dataset {
    plan_calibrated(cfg, &Calibration::embedded())
}

/// Plan a data set calibrated to `calibration` (for the academic year of `cfg`, which callers
/// take from the calibration's file).
pub fn plan_calibrated(cfg: &GenerateConfig, calibration: &Calibration) -> Dataset {
    let cells = &calibration.cells[..];
    let ap = plan::ap_rates(&calibration.secondary);
    let sizes = plan::sizes(cfg.pupils, cells, calibration::LAS.len());
    let mut plans: Vec<LaPlan> = sizes
        .par_iter()
        .map(|s| plan::plan_la(s, cells, &ap, cfg.seed, cfg.academic_year))
        .collect();
    plan::place_movers(&mut plans);
    let year = year_label(cfg.academic_year);
    let pupils = plans.par_iter().map(|lp| pupils_batch(lp, &year)).collect();
    let schools = schools_batch(&plans);
    Dataset {
        config: *cfg,
        year,
        schools,
        pupils,
        plans,
    }
}

impl Dataset {
    /// Number of register partitions (one per LA with pupils).
    pub fn partitions(&self) -> usize {
        self.plans.len()
    }

    /// The LA of partition `i` and its sizes.
    pub fn partition_info(&self, i: usize) -> PartitionInfo {
        let lp = &self.plans[i];
        let la = &calibration::LAS[lp.la];
        PartitionInfo {
            la_code: la.old_code,
            new_la_code: la.new_code,
            la_name: la.name,
            region_code: la.region_code,
            region_name: la.region_name,
            schools: lp.schools.len(),
            enrolments: lp.kept().count(),
            marks: lp
                .kept()
                .map(|e| {
                    let (from, to) = lp.marked_days(e);
                    2 * (to - from) as u64
                })
                .sum(),
        }
    }

    /// Total register marks of the data set.
    pub fn marks(&self) -> u64 {
        (0..self.partitions())
            .map(|i| self.partition_info(i).marks)
            .sum()
    }

    /// Total enrolments (pupil rows).
    pub fn enrolments(&self) -> usize {
        self.plans.iter().map(|p| p.kept().count()).sum()
    }

    /// Stop the year at `through`: no marks after it, and no enrolment that starts after it.
    /// The marks up to it are those of the whole year.
    pub fn cut_at(&mut self, through: chrono::NaiveDate) -> anyhow::Result<()> {
        let y0 = self.config.academic_year;
        let first = chrono::NaiveDate::from_ymd_opt(y0, 8, 1).expect("1 August");
        let last = chrono::NaiveDate::from_ymd_opt(y0 + 1, 7, 31).expect("31 July");
        if through < first || through > last {
            anyhow::bail!(
                "--through {through}: not in the academic year {} ({first} to {last})",
                self.year
            );
        }
        let t = calendar::date32(through);
        let cuts: Vec<u16> = self
            .plans
            .iter()
            .map(|lp| lp.calendar.days.partition_point(|&d| d <= t) as u16)
            .collect();
        if cuts.iter().all(|&c| c == 0) {
            anyhow::bail!(
                "--through {through}: no school day of {} on or before it",
                self.year
            );
        }
        for (lp, cut) in self.plans.iter_mut().zip(cuts) {
            lp.cut = cut;
        }
        self.pupils = self
            .plans
            .par_iter()
            .map(|lp| pupils_batch(lp, &self.year))
            .collect();
        Ok(())
    }

    /// The register marks of partition `i` (one LA), REGISTERS schema, sorted by urn, pupil_id,
    /// date, session; batches of at most `BATCH_ROWS` rows; deterministic for (seed, i).
    pub fn registers(&self, i: usize) -> impl Iterator<Item = RecordBatch> + Send + '_ {
        marks::RegisterIter::new(&self.plans[i], self.config.seed, &self.year)
    }
}

/// `YYYY-MM-DD` of a Date32 value.
pub fn fmt_date(d: i32) -> String {
    calendar::from_date32(d).format("%Y-%m-%d").to_string()
}

fn schools_batch(plans: &[LaPlan]) -> RecordBatch {
    let mut urn = Vec::new();
    let mut cols: [Vec<&str>; 7] = Default::default();
    for lp in plans {
        let la = &calibration::LAS[lp.la];
        for s in &lp.schools {
            urn.push(s.urn);
            cols[0].push(&s.name);
            cols[1].push(la.old_code);
            cols[2].push(la.new_code);
            cols[3].push(la.name);
            cols[4].push(la.region_code);
            cols[5].push(la.region_name);
            cols[6].push(PHASES[s.phase as usize]);
        }
    }
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(Int32Array::from(urn))];
    for c in cols {
        arrays.push(Arc::new(StringArray::from(c)));
    }
    RecordBatch::try_new(crate::schema::SCHOOLS.clone(), arrays).expect("SCHOOLS schema")
}

fn pupils_batch(lp: &LaPlan, year: &str) -> RecordBatch {
    let n = lp.kept().count();
    let mut pid = Vec::with_capacity(n);
    let mut urn = Vec::with_capacity(n);
    let mut nc = Vec::with_capacity(n);
    let mut sex = Vec::with_capacity(n);
    let mut dob = Vec::with_capacity(n);
    let mut sen = Vec::with_capacity(n);
    let mut flags: [Vec<bool>; 4] = Default::default();
    for e in lp.kept() {
        let id = model::pupil_id_bytes(e.id);
        pid.push(String::from_utf8(id.to_vec()).expect("ascii"));
        urn.push(lp.schools[e.school as usize].urn);
        nc.push(NC_YEARS[e.nc as usize]);
        sex.push(if e.flags & flag::FEMALE != 0 {
            "F"
        } else {
            "M"
        });
        dob.push(if e.dob == i32::MIN { None } else { Some(e.dob) });
        sen.push(if e.flags & flag::SEN_E != 0 {
            "E"
        } else if e.flags & flag::SEN_K != 0 {
            "K"
        } else {
            "N"
        });
        for (k, f) in [flag::FSM, flag::CLA, flag::CIN, flag::CPP]
            .iter()
            .enumerate()
        {
            flags[k].push(e.flags & f != 0);
        }
    }
    let [fsm, cla, cin, cpp] = flags;
    RecordBatch::try_new(
        crate::schema::PUPILS.clone(),
        vec![
            Arc::new(StringArray::from(pid)),
            Arc::new(Int32Array::from(urn)),
            Arc::new(StringArray::from(nc)),
            Arc::new(StringArray::from(sex)),
            Arc::new(Date32Array::from(dob)),
            Arc::new(BooleanArray::from(fsm)),
            Arc::new(StringArray::from(sen)),
            Arc::new(BooleanArray::from(cla)),
            Arc::new(BooleanArray::from(cin)),
            Arc::new(BooleanArray::from(cpp)),
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(year, n))),
        ],
    )
    .expect("PUPILS schema")
}

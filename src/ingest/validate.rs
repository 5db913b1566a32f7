//! Row validation for the three input files (DOMAIN.md section 5) and the Arrow batches valid
//! rows become.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Int32Builder, Int64Builder, RecordBatch,
    StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::error::{Problems, RowError};
use super::fields::*;
use super::pseudonym::Pseudonymiser;
use super::source::Fields;
use crate::schema;
use crate::schema::{NC_YEARS, PHASES, SEN, SEXES};
pub use crate::schema::{PUPIL_COLUMNS, REGISTER_COLUMNS, SCHOOL_COLUMNS};

/// What a register row needs to know of its school.
#[derive(Debug, Clone)]
pub struct SchoolInfo {
    pub region_code: Arc<str>,
    pub la_code: Arc<str>,
}

/// Schools by URN: the stored ones overlaid with those of this ingest (a fast hash: it is
/// looked up for every mark).
pub type SchoolMap = datafusion::common::HashMap<i32, SchoolInfo>;

/// A 128-bit fingerprint of an enrolment key `(academic_year, pupil_id, urn)`, so that millions
/// of enrolments fit in a small set (two independent 64-bit SipHashes: a false match is
/// astronomically unlikely).
pub fn enrolment_key(academic_year: &str, pupil_id: &str, urn: i32) -> u128 {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        academic_year.hash(&mut h);
        pupil_id.hash(&mut h);
        urn.hash(&mut h);
        h.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

pub type EnrolmentSet = HashSet<u128>;

/// A check of one field's text: the reason it is refused.
type FieldCheck = fn(&str) -> Result<(), String>;

// ---------------------------------------------------------------------------------------------
// schools.csv

/// Builds the `schools` batch of one file and checks each row.
#[derive(Default)]
pub struct SchoolRows {
    pub urns: Vec<i32>,
    pub text: [Vec<String>; 7],
    first_line: HashMap<i32, u64>,
}

impl SchoolRows {
    pub fn push(&mut self, file: &str, line: u64, f: &Fields<'_>, problems: &mut Problems) {
        let fail = |problems: &mut Problems, field: &str, reason: String| {
            problems.push(RowError::new(file, line, field, reason), || f.raw());
        };
        let urn = match parse_urn(f.get(0)) {
            Ok(u) => u,
            Err(r) => return fail(problems, "urn", r),
        };
        let checks: [(usize, FieldCheck); 7] = [
            (1, non_empty),
            (2, parse_old_la_code),
            (3, parse_new_la_code),
            (4, non_empty),
            (5, parse_region_code),
            (6, non_empty),
            (7, |s| {
                one_of(s, &PHASES, "phase").map_err(|e| format!("`{}` is {e}", short(s)))
            }),
        ];
        for (i, check) in checks {
            if let Err(r) = check(f.get(i)) {
                return fail(problems, SCHOOL_COLUMNS[i], r);
            }
        }
        match self.first_line.entry(urn) {
            Entry::Occupied(e) => {
                return fail(
                    problems,
                    "urn",
                    format!("a second row for this school (first at line {})", e.get()),
                );
            }
            Entry::Vacant(v) => {
                v.insert(line);
            }
        }
        self.urns.push(urn);
        for (i, column) in self.text.iter_mut().enumerate() {
            column.push(f.get(i + 1).to_string());
        }
    }

    pub fn to_batch(&self) -> RecordBatch {
        let mut columns: Vec<ArrayRef> = vec![Arc::new(
            datafusion::arrow::array::Int32Array::from(self.urns.clone()),
        )];
        for column in &self.text {
            columns.push(Arc::new(
                datafusion::arrow::array::StringArray::from_iter_values(column.iter()),
            ));
        }
        RecordBatch::try_new(schema::SCHOOLS.clone(), columns).expect("schools schema")
    }

    pub fn add_to(&self, map: &mut SchoolMap) {
        for (i, urn) in self.urns.iter().enumerate() {
            map.insert(
                *urn,
                SchoolInfo {
                    region_code: self.text[4][i].as_str().into(),
                    la_code: self.text[1][i].as_str().into(),
                },
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// pupils.csv

/// Builds the `pupils` batch of one file and checks each row.
pub struct PupilRows {
    pupil_id: StringBuilder,
    urn: Int32Builder,
    nc_year: StringBuilder,
    sex: StringBuilder,
    dob: Date32Builder,
    flags: [BooleanBuilder; 4],
    sen: StringBuilder,
    academic_year: StringBuilder,
    first_line: HashMap<u128, u64>,
    pseudonymiser: Option<Arc<Pseudonymiser>>,
}

impl PupilRows {
    pub fn new(pseudonymiser: Option<Arc<Pseudonymiser>>) -> Self {
        Self {
            pupil_id: StringBuilder::new(),
            urn: Int32Builder::new(),
            nc_year: StringBuilder::new(),
            sex: StringBuilder::new(),
            dob: Date32Builder::new(),
            flags: std::array::from_fn(|_| BooleanBuilder::new()),
            sen: StringBuilder::new(),
            academic_year: StringBuilder::new(),
            first_line: HashMap::new(),
            pseudonymiser,
        }
    }

    pub fn push(
        &mut self,
        file: &str,
        line: u64,
        f: &Fields<'_>,
        schools: &SchoolMap,
        problems: &mut Problems,
    ) -> Option<u128> {
        let fail = |problems: &mut Problems, field: &str, reason: String| {
            problems.push(RowError::new(file, line, field, reason), || f.raw());
            None
        };
        let year = f.get(0);
        if let Err(r) = parse_academic_year(year) {
            return fail(problems, "academic_year", r);
        }
        let pupil_id = f.get(1);
        if let Err(r) = parse_pupil_id(pupil_id) {
            return fail(problems, "pupil_id", r);
        }
        let pseudonym;
        let pupil_id = match &self.pseudonymiser {
            Some(p) => {
                pseudonym = p.pseudonym(pupil_id);
                pseudonym.as_str()
            }
            None => pupil_id,
        };
        let urn = match parse_urn(f.get(2)) {
            Ok(u) => u,
            Err(r) => return fail(problems, "urn", r),
        };
        if !schools.contains_key(&urn) {
            return fail(problems, "urn", "school not in schools".into());
        }
        if let Err(r) = one_of(f.get(3), &NC_YEARS, "NC year") {
            return fail(problems, "nc_year", r);
        }
        if let Err(r) = one_of(f.get(4), &SEXES, "sex") {
            return fail(problems, "sex", r);
        }
        let dob = match f.get(5) {
            "" => None,
            s => match parse_date(s) {
                Ok(d) => Some(date32(d)),
                Err(r) => return fail(problems, "date_of_birth", r),
            },
        };
        let mut flags = [false; 4];
        for (slot, i) in flags.iter_mut().zip([6usize, 8, 9, 10]) {
            match parse_bool(f.get(i)) {
                Ok(b) => *slot = b,
                Err(r) => return fail(problems, PUPIL_COLUMNS[i], r),
            }
        }
        if let Err(r) = one_of(f.get(7), &SEN, "SEN provision") {
            return fail(problems, "sen", r);
        }
        let key = enrolment_key(year, pupil_id, urn);
        match self.first_line.entry(key) {
            Entry::Occupied(e) => {
                return fail(
                    problems,
                    "pupil_id",
                    format!(
                        "a second row for this enrolment (academic year, pupil, school; first at line {})",
                        e.get()
                    ),
                );
            }
            Entry::Vacant(v) => {
                v.insert(line);
            }
        }
        self.pupil_id.append_value(pupil_id);
        self.urn.append_value(urn);
        self.nc_year.append_value(f.get(3));
        self.sex.append_value(f.get(4));
        self.dob.append_option(dob);
        let [fsm, cla, cin, cpp] = flags;
        self.flags[0].append_value(fsm);
        self.flags[1].append_value(cla);
        self.flags[2].append_value(cin);
        self.flags[3].append_value(cpp);
        self.sen.append_value(f.get(7));
        self.academic_year.append_value(year);
        Some(key)
    }

    pub fn finish(mut self) -> RecordBatch {
        let [fsm, cla, cin, cpp] = &mut self.flags;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.pupil_id.finish()),
            Arc::new(self.urn.finish()),
            Arc::new(self.nc_year.finish()),
            Arc::new(self.sex.finish()),
            Arc::new(self.dob.finish()),
            Arc::new(fsm.finish()),
            Arc::new(self.sen.finish()),
            Arc::new(cla.finish()),
            Arc::new(cin.finish()),
            Arc::new(cpp.finish()),
            Arc::new(self.academic_year.finish()),
        ];
        RecordBatch::try_new(schema::PUPILS.clone(), columns).expect("pupils schema")
    }
}

// ---------------------------------------------------------------------------------------------
// registers

/// The staging schema: the `registers` schema plus where each row came from.
pub fn staging_schema() -> SchemaRef {
    let mut fields: Vec<Field> = schema::REGISTERS
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("_src", DataType::Int32, false));
    fields.push(Field::new("_line", DataType::Int64, false));
    Arc::new(Schema::new(fields))
}

/// Builds staging batches of register marks and checks each row.
pub struct RegisterRows {
    src: i32,
    pupil_id: StringBuilder,
    urn: Int32Builder,
    date: Date32Builder,
    session: StringBuilder,
    code: StringBuilder,
    academic_year: StringBuilder,
    region_code: StringBuilder,
    la_code: StringBuilder,
    line: Int64Builder,
    pub rows: usize,
    pub missing_marks: u64,
    /// Partitions `(academic_year, region_code, la_code)` this file touches.
    pub partitions: HashSet<(String, Arc<str>, Arc<str>)>,
    /// The school and academic year of the previous valid row.
    last_partition: Option<(i32, i32)>,
    year_cache: datafusion::common::HashMap<i32, Option<(String, bool)>>,
    /// The enrolment (academic year, URN, pupil) of the previous valid row.
    last_enrolment: Option<(String, i32, String)>,
    pseudonymiser: Option<Arc<Pseudonymiser>>,
    /// Whether each staged mark's key came strictly after the previous one's, in the order
    /// [`MarkOrder`]: then the file has no two marks with one key.
    strictly_increasing: bool,
    /// The first and last staged keys (the file's key range when `strictly_increasing`).
    first_key: Option<MarkOrder>,
    last_key: Option<MarkOrder>,
}

/// A mark's key in the order inputs usually come in: school, pupil, date, session (AM < PM).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MarkOrder {
    pub urn: i32,
    pub pupil_id: String,
    pub date: i32,
    pub pm: bool,
}

impl MarkOrder {
    /// Compares with a key given by parts, without building it.
    fn cmp_parts(&self, urn: i32, pupil_id: &str, date: i32, pm: bool) -> std::cmp::Ordering {
        (self.urn, self.pupil_id.as_str(), self.date, self.pm).cmp(&(urn, pupil_id, date, pm))
    }

    /// Sets to the key given by parts, reusing the pupil id's buffer.
    fn set(&mut self, urn: i32, pupil_id: &str, date: i32, pm: bool) {
        self.urn = urn;
        if self.pupil_id != pupil_id {
            self.pupil_id.clear();
            self.pupil_id.push_str(pupil_id);
        }
        self.date = date;
        self.pm = pm;
    }
}

impl RegisterRows {
    /// The file's key range, when its keys are strictly increasing (else `None`).
    pub fn sorted_range(&self) -> Option<(MarkOrder, MarkOrder)> {
        if !self.strictly_increasing {
            return None;
        }
        Some((self.first_key.clone()?, self.last_key.clone()?))
    }

    fn track_order(&mut self, urn: i32, pupil_id: &str, date: i32, pm: bool) {
        match &mut self.last_key {
            None => {
                let key = MarkOrder {
                    urn,
                    pupil_id: pupil_id.to_string(),
                    date,
                    pm,
                };
                self.first_key = Some(key.clone());
                self.last_key = Some(key);
            }
            Some(last) => {
                if self.strictly_increasing
                    && last.cmp_parts(urn, pupil_id, date, pm) != std::cmp::Ordering::Less
                {
                    self.strictly_increasing = false;
                }
                last.set(urn, pupil_id, date, pm);
            }
        }
    }
}

impl RegisterRows {
    pub fn new(src: i32, pseudonymiser: Option<Arc<Pseudonymiser>>) -> Self {
        Self {
            src,
            pseudonymiser,
            pupil_id: StringBuilder::new(),
            urn: Int32Builder::new(),
            date: Date32Builder::new(),
            session: StringBuilder::new(),
            code: StringBuilder::new(),
            academic_year: StringBuilder::new(),
            region_code: StringBuilder::new(),
            la_code: StringBuilder::new(),
            line: Int64Builder::new(),
            rows: 0,
            missing_marks: 0,
            partitions: HashSet::new(),
            last_partition: None,
            year_cache: Default::default(),
            last_enrolment: None,
            strictly_increasing: true,
            first_key: None,
            last_key: None,
        }
    }

    pub fn push(
        &mut self,
        file: &str,
        line: u64,
        f: &Fields<'_>,
        schools: &SchoolMap,
        enrolments: &EnrolmentSet,
        problems: &mut Problems,
    ) {
        let fail = |problems: &mut Problems, field: &str, reason: String| {
            problems.push(RowError::new(file, line, field, reason), || f.raw());
        };
        let pupil_id = f.get(0);
        if let Err(r) = parse_pupil_id(pupil_id) {
            return fail(problems, "pupil_id", r);
        }
        let pseudonym;
        let pupil_id = match &self.pseudonymiser {
            Some(p) => {
                pseudonym = p.pseudonym(pupil_id);
                pseudonym.as_str()
            }
            None => pupil_id,
        };
        let urn = match f.typed(1) {
            Some(n) => match i32::try_from(n) {
                Ok(u) if u > 0 => u,
                _ => return fail(problems, "urn", "URN out of range (1 to 2147483647)".into()),
            },
            None => match parse_urn(f.get(1)) {
                Ok(u) => u,
                Err(r) => return fail(problems, "urn", r),
            },
        };
        // A date seen before in this file is valid; a new one is checked once (the cache holds
        // its academic year and whether it is a weekend, or None for no calendar date).
        let days = match f.typed(2) {
            Some(n) => match i32::try_from(n) {
                Ok(d) => d,
                Err(_) => return fail(problems, "date", "not a valid calendar date".into()),
            },
            None => match parse_date(f.get(2)) {
                Ok(d) => date32(d),
                Err(r) => return fail(problems, "date", r),
            },
        };
        let session = f.get(3);
        if session != "AM" && session != "PM" {
            return fail(
                problems,
                "session",
                format!("`{}` is not AM or PM", short(session)),
            );
        }
        let code = f.get(4);
        if code == attendance_udfs::codes::NO_MARK {
            self.missing_marks += 1;
        } else if attendance_udfs::codes::classify(code).is_none() {
            return fail(
                problems,
                "code",
                format!(
                    "`{}` is not a DfE attendance code (codes are case-sensitive)",
                    short(code)
                ),
            );
        }
        let Some((year, weekend)) = self.year_cache.entry(days).or_insert_with(|| {
            checked_date32(days).map(|date| (academic_year_of(date), is_weekend(date)))
        }) else {
            return fail(problems, "date", "not a valid calendar date".into());
        };
        if *weekend {
            return fail(problems, "date", "a mark on a Saturday or Sunday".into());
        }
        let Some(school) = schools.get(&urn) else {
            return fail(problems, "urn", "school not in schools".into());
        };
        // Marks come in runs of one enrolment: look the enrolment up when the run changes.
        let same_enrolment = self.last_enrolment.as_ref().is_some_and(|(y, u, p)| {
            *u == urn && y.as_str() == year.as_str() && p.as_str() == pupil_id
        });
        if !same_enrolment && !enrolments.contains(&enrolment_key(year, pupil_id, urn)) {
            return fail(
                problems,
                "pupil_id",
                format!("pupil not enrolled at this school in {year} (not in pupils)"),
            );
        }
        if !same_enrolment {
            self.last_enrolment = Some((year.clone(), urn, pupil_id.to_string()));
        }
        // Marks come in runs of one school and year: record the partition when the run changes,
        // not for every row.
        if self.last_partition.as_ref() != Some(&(urn, academic_year_start(year))) {
            self.last_partition = Some((urn, academic_year_start(year)));
            self.partitions.insert((
                year.clone(),
                school.region_code.clone(),
                school.la_code.clone(),
            ));
        }
        self.pupil_id.append_value(pupil_id);
        self.urn.append_value(urn);
        self.date.append_value(days);
        self.session.append_value(session);
        self.code.append_value(code);
        self.academic_year.append_value(year.as_str());
        self.region_code.append_value(&*school.region_code);
        self.la_code.append_value(&*school.la_code);
        self.line.append_value(line as i64);
        self.rows += 1;
        self.track_order(urn, pupil_id, days, session == "PM");
    }

    /// Rows waiting in the builders.
    pub fn pending(&self) -> usize {
        self.line.len()
    }

    pub fn flush(&mut self) -> RecordBatch {
        let n = self.line.len();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.pupil_id.finish()),
            Arc::new(self.urn.finish()),
            Arc::new(self.date.finish()),
            Arc::new(self.session.finish()),
            Arc::new(self.code.finish()),
            Arc::new(self.academic_year.finish()),
            Arc::new(self.region_code.finish()),
            Arc::new(self.la_code.finish()),
            Arc::new(datafusion::arrow::array::Int32Array::from(vec![
                self.src;
                n
            ])),
            Arc::new(self.line.finish()),
        ];
        RecordBatch::try_new(staging_schema(), columns).expect("staging schema")
    }
}

/// `2024-25` → 2024 (the year string is one this module formatted).
fn academic_year_start(academic_year: &str) -> i32 {
    attendance_udfs::calendar::parse_academic_year(academic_year).unwrap_or_default()
}

//! The calibration targets of a generation: the embedded 2024/25 table (`calibration.rs`), or any
//! DfE file of the reference layout (`dfe_pupil_attendance_ytd_2024-25_la_phase.csv`: one row per
//! LA x phase with session counts, for any academic year) read at run time with `--calibrate`.
//!
//! A file's rows are turned into [`Cell`]s exactly as the embedded table was derived (see
//! `calibration.rs`): `headcount` = `total_enrolments`, `schools` = `total_num_schools`, rates =
//! session counts / `possible_sessions`, reason shares = each reason's sessions / its category
//! total (legacy `J` folded into `B`), `pa` = `pa_perc` / 100. A suppressed LA row (`c`, `x`, `z`,
//! `low`, `u` or `:` in a count) gets its region's rates of the phase (else England's), an assumed
//! headcount of `SUPPRESSED_HEADCOUNT` and one school. Regional and national rows only stand in
//! for suppressed cells (and England's secondary row is the base of alternative provision);
//! `Total` phase rows are ignored. LAs are matched to the 153 of `la_region_lookup_153.csv` by old
//! code, else by new code; an LA the data set does not know is an error, not silently dropped.

use std::collections::HashMap;
use std::path::Path;

use super::calibration::{CELLS, ENGLAND, LAS};
use super::model::{Cell, Rates};

/// Headcount assumed for a suppressed LA x phase row (as in the embedded table).
const SUPPRESSED_HEADCOUNT: u32 = 250;

/// What a generation is calibrated to.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// start year of the academic year (2024 for 2024-25)
    pub academic_year: i32,
    /// the LA x phase rows, in LA order then phase order
    pub cells: Vec<Cell>,
    /// England's secondary rates: the base of alternative provision (not in the reference)
    pub secondary: Rates,
}

impl Calibration {
    /// The embedded 2024/25 table.
    pub fn embedded() -> Calibration {
        Calibration {
            academic_year: 2024,
            cells: CELLS.to_vec(),
            secondary: ENGLAND[1],
        }
    }

    /// Reads a DfE file of the reference layout; errors name the file, line and field.
    pub fn from_file(path: &Path) -> anyhow::Result<Calibration> {
        let name = path.display().to_string();
        let mut reader = csv::ReaderBuilder::new()
            .from_path(path)
            .map_err(|e| anyhow::anyhow!("{name}: cannot read: {e}"))?;
        let header = reader
            .headers()
            .map_err(|e| anyhow::anyhow!("{name}: line 1: {e}"))?
            .clone();
        let columns = Columns::new(&header).map_err(|e| anyhow::anyhow!("{name}: line 1: {e}"))?;
        let mut file = FileRows::default();
        for (k, record) in reader.records().enumerate() {
            let line = k + 2;
            let record = record.map_err(|e| anyhow::anyhow!("{name}: line {line}: {e}"))?;
            file.add(&columns, &record)
                .map_err(|e| anyhow::anyhow!("{name}: line {line}: {e}"))?;
        }
        file.finish().map_err(|e| anyhow::anyhow!("{name}: {e}"))
    }
}

/// Authorised reasons in `Rates::auth_shares` order (I, M, R, S, T, H, E, C, C1, J1, C2).
const AUTH: [&str; 11] = [
    "reason_i_authorised_illness",
    "reason_m_authorised_medical_dental",
    "reason_r_authorised_religious_observance",
    "reason_s_authorised_study_leave",
    "reason_t_authorised_mobile_child",
    "reason_h_authorised_holiday",
    "reason_e_authorised_excluded",
    "reason_c_authorised_other",
    "reason_c1_authorised_regulated_performance",
    "reason_j1_authorised_interview",
    "reason_c2_authorised_temp_reduced_timetable",
];
/// Unauthorised reasons in `Rates::unauth_shares` order (G, U, O, N).
const UNAUTH: [&str; 4] = [
    "reason_g_unauthorised_holiday",
    "reason_u_unauthorised_late_after_registers_closed",
    "reason_o_other_unauthorised",
    "reason_n_no_reason_yet",
];
/// Approved activities in `Rates::aea_shares` order (B, K, P, V, W); legacy `J` joins `B`.
const AEA: [&str; 5] = [
    "reason_b_aea_education_off_site",
    "reason_k_aea_education_arranged_by_la",
    "reason_p_aea_approved_sporting_activity",
    "reason_v_aea_educational_visit_trip",
    "reason_w_aea_work_experience",
];
const AEA_J: &str = "reason_j_aea_interview";
/// The counts a row's rates are computed from.
const COUNTS: [&str; 6] = [
    "possible_sessions",
    "overall_absence",
    "authorised_absence",
    "unauthorised_absence",
    "approved_educational_activity",
    "reason_l_present_late_before_registers_closed",
];
const LABELS: [&str; 7] = [
    "time_period",
    "geographic_level",
    "region_code",
    "old_la_code",
    "new_la_code",
    "education_phase",
    "pa_perc",
];
const SIZES: [&str; 2] = ["total_enrolments", "total_num_schools"];

/// Column positions of the fields read, by name.
struct Columns(HashMap<&'static str, usize>);

impl Columns {
    fn new(header: &csv::StringRecord) -> Result<Columns, String> {
        let mut map = HashMap::new();
        let wanted = LABELS.iter().chain(&SIZES).chain(&COUNTS);
        for &name in wanted
            .chain(&AUTH)
            .chain(&UNAUTH)
            .chain(&AEA)
            .chain([&AEA_J])
        {
            let i = header
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| {
                    format!("field `{name}`: no such column (not a DfE LA x phase attendance file)")
                })?;
            map.insert(name, i);
        }
        Ok(Columns(map))
    }

    fn get<'r>(&self, record: &'r csv::StringRecord, name: &str) -> &'r str {
        record.get(self.0[name]).unwrap_or("").trim()
    }

    /// A count; `None` when the DfE suppressed it.
    fn count(&self, record: &csv::StringRecord, name: &str) -> Result<Option<f64>, String> {
        let v = self.get(record, name);
        if matches!(v, "c" | "x" | "z" | "low" | "u" | ":" | "") {
            return Ok(None);
        }
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
            _ => Err(format!(
                "field `{name}`: `{}` is not a count (a number, or a DfE suppression symbol)",
                v.chars().take(20).collect::<String>()
            )),
        }
    }
}

/// Rates of one row, or `None` when the row is suppressed.
fn row_rates(columns: &Columns, record: &csv::StringRecord) -> Result<Option<Rates>, String> {
    let count = |name: &str| columns.count(record, name);
    let mut c = [0.0; COUNTS.len()];
    for (k, name) in COUNTS.iter().enumerate() {
        match count(name)? {
            Some(x) => c[k] = x,
            None => return Ok(None),
        }
    }
    let Some(pa) = count("pa_perc")? else {
        return Ok(None);
    };
    let [possible, overall, authorised, unauthorised, aea, late] = c;
    if possible <= 0.0 {
        return Err("field `possible_sessions`: no possible sessions".into());
    }
    if pa > 100.0 {
        return Err("field `pa_perc`: more than 100".into());
    }
    let shares = |names: &[&str], total: f64| -> Result<Vec<f64>, String> {
        names
            .iter()
            .map(|n| Ok(count(n)?.unwrap_or(0.0) / if total > 0.0 { total } else { 1.0 }))
            .collect()
    };
    let mut aea_shares: [f64; 5] = shares(&AEA, aea)?.try_into().expect("5 shares");
    aea_shares[0] += shares(&[AEA_J], aea)?[0];
    Ok(Some(Rates {
        overall: overall / possible,
        authorised: authorised / possible,
        unauthorised: unauthorised / possible,
        pa: pa / 100.0,
        auth_shares: shares(&AUTH, authorised)?.try_into().expect("11 shares"),
        unauth_shares: shares(&UNAUTH, unauthorised)?.try_into().expect("4 shares"),
        aea: aea / possible,
        aea_shares,
        late: late / possible,
    }))
}

/// An LA row read: `rates` `None` when suppressed.
struct LaRow {
    line: usize,
    la: u8,
    phase: u8,
    region: String,
    headcount: Option<f64>,
    schools: Option<f64>,
    rates: Option<Rates>,
}

/// The rows of a file, as read.
#[derive(Default)]
struct FileRows {
    line: usize,
    year: Option<(String, i32)>,
    las: Vec<LaRow>,
    /// (region code, phase) -> rates; region "" is England
    areas: HashMap<(String, u8), Rates>,
}

impl FileRows {
    fn add(&mut self, columns: &Columns, record: &csv::StringRecord) -> Result<(), String> {
        self.line += 1;
        let period = columns.get(record, "time_period");
        let year = academic_year(period)?;
        match &self.year {
            None => self.year = Some((period.to_string(), year)),
            Some((p, _)) if p != period => {
                return Err(format!(
                    "field `time_period`: `{period}` while the file began with `{p}` (one academic year a file)"
                ));
            }
            Some(_) => {}
        }
        let phase = match columns.get(record, "education_phase") {
            "Primary" => 0,
            "Secondary" => 1,
            "Special" => 2,
            "Total" => return Ok(()),
            other => {
                return Err(format!(
                    "field `education_phase`: `{other}` is not Primary, Secondary, Special or Total"
                ));
            }
        };
        let rates = row_rates(columns, record)?;
        let region = columns.get(record, "region_code").to_string();
        match columns.get(record, "geographic_level") {
            "National" => {
                rates.map(|r| self.areas.insert((String::new(), phase), r));
            }
            "Regional" => {
                rates.map(|r| self.areas.insert((region, phase), r));
            }
            "Local authority" => {
                let la = la_index(columns, record)?;
                if self.las.iter().any(|r| r.la == la && r.phase == phase) {
                    return Err(format!(
                        "field `old_la_code`: a second row for LA {} and this phase",
                        LAS[la as usize].old_code
                    ));
                }
                self.las.push(LaRow {
                    line: self.line + 1,
                    la,
                    phase,
                    region,
                    headcount: columns.count(record, "total_enrolments")?,
                    schools: columns.count(record, "total_num_schools")?,
                    rates,
                });
            }
            other => {
                return Err(format!(
                    "field `geographic_level`: `{other}` is not National, Regional or Local authority"
                ));
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Calibration, String> {
        let Some((_, academic_year)) = self.year else {
            return Err("no rows".into());
        };
        let mut cells = Vec::with_capacity(self.las.len());
        for row in &self.las {
            let (rates, suppressed) = match row.rates {
                Some(r) => (r, false),
                None => {
                    let stand_in = self
                        .areas
                        .get(&(row.region.clone(), row.phase))
                        .or_else(|| self.areas.get(&(String::new(), row.phase)))
                        .ok_or_else(|| {
                            format!(
                                "line {}: the row is suppressed and the file has no regional or national row of its phase to stand in",
                                row.line
                            )
                        })?;
                    (*stand_in, true)
                }
            };
            let headcount = match (suppressed, row.headcount) {
                (false, Some(h)) if h >= 1.0 => h.round() as u32,
                _ => SUPPRESSED_HEADCOUNT,
            };
            let schools = match (suppressed, row.schools) {
                (false, Some(s)) if s >= 1.0 => s.round() as u32,
                _ => 1,
            };
            cells.push(Cell {
                la: row.la,
                phase: row.phase,
                headcount,
                schools,
                suppressed,
                rates,
            });
        }
        if cells.is_empty() {
            return Err("no Local authority rows of phase Primary, Secondary or Special".into());
        }
        cells.sort_by_key(|c| (c.la, c.phase));
        let secondary = self
            .areas
            .get(&(String::new(), 1))
            .copied()
            .unwrap_or(ENGLAND[1]);
        Ok(Calibration {
            academic_year,
            cells,
            secondary,
        })
    }
}

/// `202425` -> 2024.
fn academic_year(period: &str) -> Result<i32, String> {
    let bad = || {
        format!(
            "field `time_period`: `{}` is not a DfE academic year like 202425",
            period.chars().take(20).collect::<String>()
        )
    };
    if period.len() != 6 || !period.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let start: i32 = period[..4].parse().map_err(|_| bad())?;
    let end: i32 = period[4..].parse().map_err(|_| bad())?;
    if (start + 1) % 100 != end || !(1990..=2100).contains(&start) {
        return Err(bad());
    }
    Ok(start)
}

/// The index into `LAS` of an LA row (by old code, else new code).
fn la_index(columns: &Columns, record: &csv::StringRecord) -> Result<u8, String> {
    let old = columns.get(record, "old_la_code");
    let new = columns.get(record, "new_la_code");
    LAS.iter()
        .position(|la| la.old_code == old)
        .or_else(|| LAS.iter().position(|la| la.new_code == new))
        .map(|i| i as u8)
        .ok_or_else(|| {
            format!(
                "field `old_la_code`: `{}` ({}) is not one of the 153 LAs the generator knows",
                old.chars().take(10).collect::<String>(),
                new.chars().take(12).collect::<String>()
            )
        })
}

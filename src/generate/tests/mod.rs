//! Tests of the generator: schemas, determinism, calendar and ordering invariants, and the
//! calibration against the DfE reference computed DfE-style from the generated batches.

#![allow(clippy::collapsible_if)]

use std::collections::HashMap;

use chrono::{Datelike, Weekday};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Date32Type, Int32Type};
use rayon::prelude::*;

use super::calibration::{CELLS, ENGLAND, LAS};
use super::*;

mod scale;

/// The 2024 code set (DOMAIN section 1) and each code's category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cat {
    Present,
    Approved,
    Authorised,
    Unauthorised,
    NotPossible,
}

fn category(code: &str) -> Option<Cat> {
    Some(match code {
        "/" | "\\" | "L" => Cat::Present,
        "B" | "K" | "P" | "V" | "W" => Cat::Approved,
        "C" | "C1" | "C2" | "E" | "I" | "J1" | "M" | "R" | "S" | "T" => Cat::Authorised,
        "G" | "N" | "O" | "U" => Cat::Unauthorised,
        "D" | "Q" | "X" | "Y1" | "Y2" | "Y3" | "Y4" | "Y5" | "Y6" | "Y7" | "Z" | "#" => {
            Cat::NotPossible
        }
        _ => return None,
    })
}

#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    enrolments: u64,
    possible: u64,
    authorised: u64,
    unauthorised: u64,
    pa: u64,
    sa: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.enrolments += o.enrolments;
        self.possible += o.possible;
        self.authorised += o.authorised;
        self.unauthorised += o.unauthorised;
        self.pa += o.pa;
        self.sa += o.sa;
    }
    fn overall_pct(&self) -> f64 {
        100.0 * (self.authorised + self.unauthorised) as f64 / self.possible as f64
    }
    fn auth_pct(&self) -> f64 {
        100.0 * self.authorised as f64 / self.possible as f64
    }
    fn unauth_pct(&self) -> f64 {
        100.0 * self.unauthorised as f64 / self.possible as f64
    }
    fn pa_pct(&self) -> f64 {
        100.0 * self.pa as f64 / self.enrolments as f64
    }
    fn sa_pct(&self) -> f64 {
        100.0 * self.sa as f64 / self.enrolments as f64
    }
}

/// Headline figures DfE-style (DOMAIN section 2): in-scope enrolments (age 5-15 from date of birth,
/// else NC year; age 15 loses marks from the spring bank holiday), no alternative provision,
/// schools with fewer than 6 in-scope enrolments removed. Returns stats per (LA index, phase).
fn measure(ds: &Dataset) -> HashMap<(usize, String), Stats> {
    let y0 = ds.config.academic_year;
    let sbh = calendar::date32(spring_bank_holiday(y0 + 1));
    let schools = &ds.schools;
    let s_urn = schools.column(0).as_primitive::<Int32Type>();
    let s_phase = schools.column(7).as_string::<i32>();
    let s_la = schools.column(3).as_string::<i32>();
    let la_idx: HashMap<&str, usize> = LAS
        .iter()
        .enumerate()
        .map(|(i, l)| (l.new_code, i))
        .collect();
    let school: HashMap<i32, (String, usize)> = (0..schools.num_rows())
        .map(|r| {
            (
                s_urn.value(r),
                (s_phase.value(r).to_string(), la_idx[s_la.value(r)]),
            )
        })
        .collect();
    // per partition: enrolment stats keyed by urn
    let per_part: Vec<Vec<(i32, Stats)>> = (0..ds.partitions())
        .into_par_iter()
        .map(|i| {
            let pb = &ds.pupils[i];
            let pid = pb.column(0).as_string::<i32>();
            let purn = pb.column(1).as_primitive::<Int32Type>();
            let nc = pb.column(2).as_string::<i32>();
            let dob = pb.column(4).as_primitive::<Date32Type>();
            let mut age: HashMap<(i32, &str), Option<i32>> = HashMap::new();
            for r in 0..pb.num_rows() {
                let a = if dob.is_null(r) {
                    match nc.value(r) {
                        "X" => None,
                        "R" => Some(4),
                        "N2" => Some(3),
                        "N1" => Some(2),
                        y => Some(y.parse::<i32>().unwrap() + 4),
                    }
                } else {
                    let d = calendar::from_date32(dob.value(r));
                    Some(y0 - d.year() - if (d.month(), d.day()) > (8, 31) { 1 } else { 0 })
                };
                age.insert((purn.value(r), pid.value(r)), a);
            }
            let mut out = Vec::new();
            let mut cur: Option<(i32, String, i32, Stats)> = None;
            let flush = |cur: &mut Option<(i32, String, i32, Stats)>,
                         out: &mut Vec<(i32, Stats)>| {
                if let Some((urn, _, _, mut s)) = cur.take() {
                    if s.possible > 0 {
                        s.enrolments = 1;
                        let overall = s.authorised + s.unauthorised;
                        s.pa = (overall * 10 >= s.possible) as u64;
                        s.sa = (overall * 2 >= s.possible) as u64;
                        out.push((urn, s));
                    }
                }
            };
            for b in ds.registers(i) {
                let p = b.column(0).as_string::<i32>();
                let u = b.column(1).as_primitive::<Int32Type>();
                let d = b.column(2).as_primitive::<Date32Type>();
                let c = b.column(4).as_string::<i32>();
                for r in 0..b.num_rows() {
                    let (urn, id) = (u.value(r), p.value(r));
                    if cur.as_ref().is_none_or(|x| x.0 != urn || x.1 != id) {
                        flush(&mut cur, &mut out);
                        let a = age[&(urn, id)];
                        let in_scope =
                            matches!(a, Some(5..=15)) && school[&urn].0 != "alternative_provision";
                        cur = Some((
                            urn,
                            id.to_string(),
                            if in_scope { a.unwrap() } else { -1 },
                            Stats::default(),
                        ));
                    }
                    let x = cur.as_mut().unwrap();
                    if x.2 < 0 || (x.2 == 15 && d.value(r) >= sbh) {
                        continue;
                    }
                    match category(c.value(r))
                        .unwrap_or_else(|| panic!("invalid code {:?}", c.value(r)))
                    {
                        Cat::Present | Cat::Approved => x.3.possible += 1,
                        Cat::Authorised => {
                            x.3.possible += 1;
                            x.3.authorised += 1
                        }
                        Cat::Unauthorised => {
                            x.3.possible += 1;
                            x.3.unauthorised += 1
                        }
                        Cat::NotPossible => {}
                    }
                }
            }
            flush(&mut cur, &mut out);
            out
        })
        .collect();
    let mut per_school: HashMap<i32, u64> = HashMap::new();
    for part in &per_part {
        for (urn, _) in part {
            *per_school.entry(*urn).or_default() += 1;
        }
    }
    let mut out: HashMap<(usize, String), Stats> = HashMap::new();
    for part in &per_part {
        for (urn, s) in part {
            if per_school[urn] < 6 {
                continue;
            }
            let (phase, la) = &school[urn];
            out.entry((*la, phase.clone())).or_default().add(s);
        }
    }
    out
}

fn national(m: &HashMap<(usize, String), Stats>) -> Stats {
    let mut t = Stats::default();
    for s in m.values() {
        t.add(s);
    }
    t
}

fn small(seed: u64) -> Dataset {
    plan(&GenerateConfig {
        pupils: 3_000,
        seed,
        academic_year: 2024,
    })
}

#[test]
fn schemas_match_the_store() {
    let ds = small(7);
    assert_eq!(ds.schools.schema(), *crate::schema::SCHOOLS);
    for b in &ds.pupils {
        assert_eq!(b.schema(), *crate::schema::PUPILS);
    }
    let b = ds.registers(0).next().unwrap();
    assert_eq!(b.schema(), *crate::schema::REGISTERS);
    assert_eq!(ds.partitions(), ds.pupils.len());
    assert!(ds.partitions() >= 100, "most LAs get pupils at 3,000");
    let ds = plan(&GenerateConfig {
        pupils: 10_000,
        seed: 7,
        academic_year: 2024,
    });
    assert_eq!(ds.partitions(), 153, "every LA gets pupils from 10,000");
    let regions: std::collections::HashSet<&str> =
        (0..153).map(|i| ds.partition_info(i).region_code).collect();
    assert_eq!(regions.len(), 9);
}

fn collect(ds: &Dataset, i: usize) -> Vec<RecordBatch> {
    ds.registers(i).collect()
}

#[test]
fn deterministic_for_a_seed() {
    let a = small(11);
    let b = small(11);
    let c = small(12);
    assert_eq!(a.schools, b.schools);
    assert_eq!(a.pupils, b.pupils);
    for i in [0, 40, a.partitions() - 1] {
        assert_eq!(collect(&a, i), collect(&b, i), "partition {i}");
        assert_ne!(
            collect(&a, i),
            collect(&c, i),
            "partition {i} with another seed"
        );
    }
    assert_ne!(a.pupils, c.pupils);
    // whatever thread produces it
    let par: Vec<Vec<RecordBatch>> = (0..4).into_par_iter().map(|i| collect(&a, i)).collect();
    for (i, p) in par.iter().enumerate() {
        assert_eq!(*p, collect(&b, i));
    }
}

#[test]
fn marks_are_valid_sorted_and_on_weekdays() {
    let ds = small(3);
    let mut total = 0u64;
    for i in 0..ds.partitions() {
        let info = ds.partition_info(i);
        let mut last: Option<(i32, String, i32, String)> = None;
        let mut n = 0u64;
        for b in ds.registers(i) {
            assert!(b.num_rows() <= BATCH_ROWS);
            let p = b.column(0).as_string::<i32>();
            let u = b.column(1).as_primitive::<Int32Type>();
            let d = b.column(2).as_primitive::<Date32Type>();
            let s = b.column(3).as_string::<i32>();
            let c = b.column(4).as_string::<i32>();
            let ay = b.column(5).as_string::<i32>();
            let rc = b.column(6).as_string::<i32>();
            let lc = b.column(7).as_string::<i32>();
            for r in 0..b.num_rows() {
                let code = c.value(r);
                assert!(category(code).is_some(), "invalid code {code:?}");
                let wd = calendar::from_date32(d.value(r)).weekday();
                assert!(!matches!(wd, Weekday::Sat | Weekday::Sun), "weekend mark");
                assert!(s.value(r) == "AM" || s.value(r) == "PM");
                assert_eq!(ay.value(r), "2024-25");
                assert_eq!(rc.value(r), info.region_code);
                assert_eq!(lc.value(r), info.la_code);
                let key = (
                    u.value(r),
                    p.value(r).to_string(),
                    d.value(r),
                    s.value(r).to_string(),
                );
                if let Some(l) = &last {
                    assert!(*l < key, "not sorted: {l:?} then {key:?}");
                }
                if key.3 == "AM" {
                    assert!(code != "\\", "PM present code in AM");
                } else {
                    assert!(code != "/", "AM present code in PM");
                }
                last = Some(key);
                n += 1;
            }
        }
        assert_eq!(n, info.marks);
        total += n;
    }
    assert_eq!(total, ds.marks());
    // about 392 marks (196 term weekdays) an enrolment
    let per = total as f64 / ds.enrolments() as f64;
    assert!((370.0..400.0).contains(&per), "{per} marks per enrolment");
}

#[test]
fn pupils_are_consistent() {
    let ds = small(5);
    let y0 = ds.config.academic_year;
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut missing = 0;
    let mut rows = 0;
    for b in &ds.pupils {
        let pid = b.column(0).as_string::<i32>();
        let urn = b.column(1).as_primitive::<Int32Type>();
        let nc = b.column(2).as_string::<i32>();
        let dob = b.column(4).as_primitive::<Date32Type>();
        let mut last: Option<(i32, String)> = None;
        for r in 0..b.num_rows() {
            rows += 1;
            let id = pid.value(r);
            assert!(id.len() <= 32 && !id.is_empty());
            *ids.entry(id.to_string()).or_default() += 1;
            let key = (urn.value(r), id.to_string());
            if let Some(l) = &last {
                assert!(*l < key, "pupils not sorted");
            }
            last = Some(key);
            if dob.is_null(r) {
                missing += 1;
                continue;
            }
            let d = calendar::from_date32(dob.value(r));
            let age = y0 - d.year() - if (d.month(), d.day()) > (8, 31) { 1 } else { 0 };
            let want = match nc.value(r) {
                "X" => continue,
                "R" => 4,
                "N2" => 3,
                "N1" => 2,
                y => y.parse::<i32>().unwrap() + 4,
            };
            assert_eq!(age, want, "dob {d} for NC year {}", nc.value(r));
        }
    }
    assert!(
        ids.values().all(|&n| n <= 2),
        "a pupil has at most two enrolments"
    );
    let movers = ids.values().filter(|&&n| n == 2).count();
    assert!(movers > 0, "some pupils move school");
    assert!(
        missing > 0 && (missing as f64) < 0.03 * rows as f64,
        "{missing} of {rows}"
    );
    let urns = ds.schools.column(0).as_primitive::<Int32Type>();
    assert!(urns.values().windows(2).all(|w| w[0] < w[1]));
    assert!(
        urns.values()
            .iter()
            .all(|&u| (100_000..=999_999).contains(&u))
    );
}

#[test]
fn characteristics_at_national_rates() {
    let ds = plan(&GenerateConfig {
        pupils: 20_000,
        seed: 9,
        academic_year: 2024,
    });
    let (mut n, mut fsm, mut k, mut e, mut cla, mut cincpp, mut f) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for b in &ds.pupils {
        let sex = b.column(3).as_string::<i32>();
        let sen = b.column(6).as_string::<i32>();
        let bl = |c: usize, r: usize| b.column(c).as_boolean().value(r) as u8 as f64;
        for r in 0..b.num_rows() {
            n += 1.0;
            fsm += bl(5, r);
            cla += bl(7, r);
            cincpp += (bl(8, r) + bl(9, r)).min(1.0);
            k += (sen.value(r) == "K") as u8 as f64;
            e += (sen.value(r) == "E") as u8 as f64;
            f += (sex.value(r) == "F") as u8 as f64;
        }
    }
    let pct = |x: f64| 100.0 * x / n;
    assert!((pct(fsm) - 25.0).abs() < 1.5, "fsm {}", pct(fsm));
    assert!((pct(k) - 14.0).abs() < 1.5, "sen K {}", pct(k));
    assert!((pct(e) - 5.0).abs() < 1.0, "EHC {}", pct(e));
    assert!((pct(cla) - 0.7).abs() < 0.3, "cla {}", pct(cla));
    assert!((pct(cincpp) - 3.0).abs() < 0.8, "cin/cpp {}", pct(cincpp));
    assert!((pct(f) - 49.0).abs() < 1.5, "girls {}", pct(f));
}

/// Scale S: national rates within 0.3 points, persistent absence within 1 point of England.
#[test]
fn calibration_at_scale_s() {
    let ds = plan(&GenerateConfig {
        pupils: 10_000,
        seed: 2024,
        academic_year: 2024,
    });
    let m = measure(&ds);
    let t = national(&m);
    let want = &ENGLAND[3];
    eprintln!(
        "S: overall {:.3} (want {:.3}) auth {:.3} ({:.3}) unauth {:.3} ({:.3}) PA {:.2} ({:.2}) SA {:.2}; {} enrolments, {} possible",
        t.overall_pct(),
        100.0 * want.overall,
        t.auth_pct(),
        100.0 * want.authorised,
        t.unauth_pct(),
        100.0 * want.unauthorised,
        t.pa_pct(),
        100.0 * want.pa,
        t.sa_pct(),
        t.enrolments,
        t.possible
    );
    assert!((t.overall_pct() - 100.0 * want.overall).abs() < 0.3);
    assert!((t.auth_pct() - 100.0 * want.authorised).abs() < 0.3);
    assert!((t.unauth_pct() - 100.0 * want.unauthorised).abs() < 0.3);
    assert!((t.pa_pct() - 100.0 * want.pa).abs() < 1.0);
    // phases
    for (k, phase) in ["primary", "secondary", "special"].iter().enumerate() {
        let mut s = Stats::default();
        for ((_, p), v) in &m {
            if p == phase {
                s.add(v);
            }
        }
        eprintln!(
            "  {phase}: overall {:.2} (want {:.2}) PA {:.1} (want {:.1})",
            s.overall_pct(),
            100.0 * ENGLAND[k].overall,
            s.pa_pct(),
            100.0 * ENGLAND[k].pa
        );
    }
}

#[test]
fn csv_files() {
    let ds = plan(&GenerateConfig {
        pupils: 1_000,
        seed: 1,
        academic_year: 2024,
    });
    let dir = tempfile::tempdir().unwrap();
    let sum = ds.write_csv(dir.path()).unwrap();
    assert_eq!(sum.schools, ds.schools.num_rows());
    assert_eq!(sum.enrolments, ds.enrolments());
    assert_eq!(sum.marks, ds.marks());
    assert_eq!(sum.register_files, ds.partitions());
    let s = std::fs::read_to_string(dir.path().join("schools.csv")).unwrap();
    assert!(s.starts_with(
        "urn,school_name,old_la_code,new_la_code,la_name,region_code,region_name,phase\n100000,"
    ));
    let p = std::fs::read_to_string(dir.path().join("pupils.csv")).unwrap();
    assert!(p.starts_with(
        "academic_year,pupil_id,urn,nc_year,sex,date_of_birth,fsm,sen,cla,cin,cpp\n2024-25,P"
    ));
    assert_eq!(p.lines().count(), ds.enrolments() + 1);
    assert!(p.contains(",,"), "some empty date_of_birth");
    let info = ds.partition_info(0);
    let r = std::fs::read_to_string(
        dir.path()
            .join("registers")
            .join(format!("{}.csv", info.la_code)),
    )
    .unwrap();
    let mut lines = r.lines();
    assert_eq!(lines.next(), Some("pupil_id,urn,date,session,code"));
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(first.len(), 5);
    assert_eq!(first[2].len(), 10);
    assert_eq!(r.lines().count() as u64, info.marks + 1);
    assert!(
        r.contains(",\"\\\"\n") || r.contains(",\\\n"),
        "PM present mark written"
    );
}

/// Reason shares, weekday pattern and cohort contrasts at scale S (all marks of state-funded
/// schools, not only the headline scope: a sanity check of the model's shape).
#[test]
fn shape_of_absence_at_scale_s() {
    let ds = plan(&GenerateConfig {
        pupils: 10_000,
        seed: 2024,
        academic_year: 2024,
    });
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut by_wd = [[0u64; 2]; 5];
    // cohort PA: (enrolments, PA) for FSM, not FSM, CIN/CPP, SEN (K or E)
    let mut cohort = [[0u64; 2]; 4];
    for i in 0..ds.partitions() {
        let pb = &ds.pupils[i];
        let pid = pb.column(0).as_string::<i32>();
        let purn = pb.column(1).as_primitive::<Int32Type>();
        let sen = pb.column(6).as_string::<i32>();
        let fsm = pb.column(5).as_boolean();
        let cin = pb.column(8).as_boolean();
        let cpp = pb.column(9).as_boolean();
        let mut who: HashMap<(i32, &str), [bool; 4]> = HashMap::new();
        for r in 0..pb.num_rows() {
            let f = fsm.value(r);
            who.insert(
                (purn.value(r), pid.value(r)),
                [f, !f, cin.value(r) || cpp.value(r), sen.value(r) != "N"],
            );
        }
        let mut cur: Option<((i32, String), u64, u64)> = None;
        let mut close = |cur: &mut Option<((i32, String), u64, u64)>| {
            if let Some(((u, p), pos, abs)) = cur.take() {
                if pos > 0 {
                    let w = who[&(u, p.as_str())];
                    for k in 0..4 {
                        if w[k] {
                            cohort[k][0] += 1;
                            cohort[k][1] += (abs * 10 >= pos) as u64;
                        }
                    }
                }
            }
        };
        for b in ds.registers(i) {
            let p = b.column(0).as_string::<i32>();
            let u = b.column(1).as_primitive::<Int32Type>();
            let d = b.column(2).as_primitive::<Date32Type>();
            let c = b.column(4).as_string::<i32>();
            for r in 0..b.num_rows() {
                if cur
                    .as_ref()
                    .is_none_or(|x| x.0.0 != u.value(r) || x.0.1 != p.value(r))
                {
                    close(&mut cur);
                    cur = Some(((u.value(r), p.value(r).to_string()), 0, 0));
                }
                let code = c.value(r);
                *counts.entry(code.to_string()).or_default() += 1;
                let cat = category(code).unwrap();
                let wd = calendar::from_date32(d.value(r))
                    .weekday()
                    .num_days_from_monday() as usize;
                let x = cur.as_mut().unwrap();
                if cat != Cat::NotPossible {
                    by_wd[wd][0] += 1;
                    x.1 += 1;
                }
                if matches!(cat, Cat::Authorised | Cat::Unauthorised) {
                    by_wd[wd][1] += 1;
                    x.2 += 1;
                }
            }
        }
        close(&mut cur);
    }
    let possible: u64 = counts
        .iter()
        .filter(|(c, _)| category(c) != Some(Cat::NotPossible))
        .map(|(_, n)| n)
        .sum();
    let want = &ENGLAND[3];
    let mut line = String::new();
    for (k, c) in ["I", "M", "R", "S", "T", "H", "E", "C", "C1", "J1", "C2"]
        .iter()
        .enumerate()
    {
        let got = 100.0 * *counts.get(*c).unwrap_or(&0) as f64 / possible as f64;
        line += &format!(
            " {c} {got:.3}/{:.3}",
            100.0 * want.authorised * want.auth_shares[k]
        );
    }
    for (k, c) in ["G", "U", "O", "N"].iter().enumerate() {
        let got = 100.0 * *counts.get(*c).unwrap_or(&0) as f64 / possible as f64;
        line += &format!(
            " {c} {got:.3}/{:.3}",
            100.0 * want.unauthorised * want.unauth_shares[k]
        );
    }
    for (k, c) in ["B", "K", "P", "V", "W"].iter().enumerate() {
        let got = 100.0 * *counts.get(*c).unwrap_or(&0) as f64 / possible as f64;
        line += &format!(" {c} {got:.3}/{:.3}", 100.0 * want.aea * want.aea_shares[k]);
    }
    let l = 100.0 * *counts.get("L").unwrap_or(&0) as f64 / possible as f64;
    line += &format!(" L {l:.3}/{:.3}", 100.0 * want.late);
    eprintln!("reason % of possible (generated/reference, all ages):{line}");
    let wd: Vec<f64> = by_wd
        .iter()
        .map(|x| 100.0 * x[1] as f64 / x[0] as f64)
        .collect();
    eprintln!("absence % by weekday Mon..Fri: {wd:.2?}");
    let pa: Vec<f64> = cohort
        .iter()
        .map(|x| 100.0 * x[1] as f64 / x[0] as f64)
        .collect();
    eprintln!(
        "PA % (all ages): FSM {:.1}, not FSM {:.1}, CIN/CPP {:.1}, SEN {:.1}",
        pa[0], pa[1], pa[2], pa[3]
    );
    let mut codes: Vec<_> = counts.keys().cloned().collect();
    codes.sort();
    eprintln!("codes: {codes:?}");
    assert!(
        wd[0] > wd[2] && wd[4] > wd[2],
        "Monday and Friday absence above Wednesday"
    );
    assert!(
        pa[0] > 1.5 * pa[1],
        "FSM pupils more often persistently absent"
    );
    assert!(pa[2] > pa[0], "CIN/CPP above FSM");
    assert!(
        !counts.contains_key("H") && !counts.contains_key("F") && !counts.contains_key("J"),
        "no legacy codes"
    );
    for c in ["#", "/", "\\", "L", "I", "M", "G", "U", "O", "V", "B", "D"] {
        assert!(counts.contains_key(c), "code {c} generated");
    }
}

//! The generator as a daily feed (issue #12 item 3): `--daily-csv` day files, `--through`, and
//! `--calibrate` with a DfE file of the reference layout (hand-made here, in that layout).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use attendance::generate::store::{Selection, generate_store};
use attendance::generate::{Calibration, Dataset, GenerateConfig, plan, plan_calibrated};
use attendance::ingest::IngestOptions;
use attendance::session::SessionOptions;
use attendance::store::Store;
use chrono::NaiveDate;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Date32Type, Int32Type};

use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_attendance");

fn config(pupils: u64, seed: u64) -> GenerateConfig {
    GenerateConfig {
        pupils,
        seed,
        academic_year: 2024,
    }
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The data rows of a CSV file (header checked to be the register header).
fn register_rows(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        ["pupil_id", "urn", "date", "session", "code"],
        "{}",
        path.display()
    );
    reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

/// The day files of `dir`, by date, in date order.
fn day_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let day = name.strip_prefix("registers-")?.strip_suffix(".csv")?;
            Some((day.to_string(), p.clone()))
        })
        .collect();
    files.sort();
    files
}

/// Each file holds only its day's marks, sorted by urn, pupil_id, session (AM < PM); the days
/// are exactly the dates of the `--csv` files and the union of the rows equals theirs.
#[test]
fn daily_files_are_the_year_day_by_day() {
    let f = Fixture::new();
    let selection = Selection::of(plan(&config(3_000, 5)), &[]).unwrap();
    let summary = selection
        .dataset
        .write_csv(&f.dir.path().join("csv"))
        .unwrap();
    let daily = f.dir.path().join("daily");
    let written = selection
        .write_daily(&daily, &attendance::progress::silent())
        .unwrap();

    let mut whole: Vec<Vec<String>> = Vec::new();
    for entry in std::fs::read_dir(f.dir.path().join("csv/registers")).unwrap() {
        whole.extend(register_rows(&entry.unwrap().path()));
    }
    whole.sort();
    let dates: BTreeSet<&str> = whole.iter().map(|r| r[2].as_str()).collect();

    let files = day_files(&daily);
    assert_eq!(files.len(), dates.len());
    assert_eq!(written.days, files.len());
    assert_eq!(written.marks, summary.marks);
    assert!(std::fs::metadata(daily.join("schools.csv")).unwrap().len() > 0);
    assert!(std::fs::metadata(daily.join("pupils.csv")).unwrap().len() > 0);
    let mut union: Vec<Vec<String>> = Vec::new();
    for ((day, path), want) in files.iter().zip(&dates) {
        assert_eq!(day, want);
        let rows = register_rows(path);
        assert!(!rows.is_empty());
        let key = |r: &Vec<String>| (r[1].parse::<i32>().unwrap(), r[0].clone(), r[3].clone());
        for pair in rows.windows(2) {
            assert!(key(&pair[0]) < key(&pair[1]), "{day}: {:?}", &pair);
        }
        assert!(
            rows.iter().all(|r| &r[2] == day),
            "{day}: a mark of another day"
        );
        union.extend(rows);
    }
    assert_eq!(union.len() as u64, summary.marks);
    union.sort();
    assert!(union == whole, "the day files' rows differ from --csv's");
}

/// A digest of a table's rows in a canonical order, and the code counts.
async fn fingerprint(store: &Store) -> (String, String, String) {
    let marks = query_store(
        store,
        "SELECT count(*) AS n, sha256(string_agg(concat_ws('|', pupil_id, CAST(urn AS VARCHAR), \
         CAST(date AS VARCHAR), session, code, academic_year, region_code, la_code), ',' \
         ORDER BY urn, pupil_id, date, session)) AS digest FROM registers",
    )
    .await;
    let codes = query_store(
        store,
        "SELECT code, count(*) AS n FROM registers GROUP BY code ORDER BY code",
    )
    .await;
    let pupils = query_store(
        store,
        "SELECT count(*) AS n, sha256(string_agg(concat_ws('|', pupil_id, CAST(urn AS VARCHAR), \
         nc_year, sex, CAST(date_of_birth AS VARCHAR), CAST(fsm AS VARCHAR), sen, \
         CAST(cla AS VARCHAR), CAST(cin AS VARCHAR), CAST(cpp AS VARCHAR), academic_year), ',' \
         ORDER BY urn, pupil_id)) AS digest FROM pupils",
    )
    .await;
    (marks, codes, pupils)
}

/// Ingesting the day files one by one into a fresh store (schools and pupils with the first)
/// gives the registers, pupils and code counts of generating the store directly.
#[tokio::test]
async fn replaying_the_days_equals_generating_the_store() {
    let f = Fixture::new();
    let mut dataset = plan(&config(2_000, 8));
    dataset.cut_at(date("2024-09-13")).unwrap();
    let selection = Selection::of(dataset, &[]).unwrap();
    let daily = f.dir.path().join("daily");
    let written = selection
        .write_daily(&daily, &attendance::progress::silent())
        .unwrap();

    let generated = Store::new(f.dir.path().join("generated"));
    let progress = attendance::progress::silent();
    let options = SessionOptions::default();
    generate_store(&generated, &selection, &options, &progress, false)
        .await
        .unwrap();

    let replayed = Store::new(f.dir.path().join("replayed"));
    let files = day_files(&daily);
    // 2 to 13 September 2024: ten weekdays, every one a term day of some LA
    assert_eq!(files.len(), 10, "{files:?}");
    for (k, (_, path)) in files.iter().enumerate() {
        let mut day = IngestOptions {
            registers: vec![path.clone()],
            ..Default::default()
        };
        if k == 0 {
            day.schools = vec![daily.join("schools.csv")];
            day.pupils = vec![daily.join("pupils.csv")];
        }
        attendance::ingest::ingest(&replayed, &day)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let (g, r) = (fingerprint(&generated).await, fingerprint(&replayed).await);
    assert!(g.0.contains(&format!("| {} ", written.marks)), "{}", g.0);
    assert_eq!(g, r);
}

/// `--through` stops the year at the date: the files of a cut year are the files of the whole
/// year up to that date, byte for byte, and none after it.
#[test]
fn through_cuts_at_the_date() {
    let f = Fixture::new();
    let (whole, cut) = (f.dir.path().join("whole"), f.dir.path().join("cut"));
    let silent = attendance::progress::silent();
    Selection::of(plan(&config(1_500, 3)), &[])
        .unwrap()
        .write_daily(&whole, &silent)
        .unwrap();
    let mut dataset = plan(&config(1_500, 3));
    dataset.cut_at(date("2024-10-16")).unwrap();
    let written = Selection::of(dataset, &[])
        .unwrap()
        .write_daily(&cut, &silent)
        .unwrap();
    let whole_files = day_files(&whole);
    let cut_files = day_files(&cut);
    let before: Vec<&(String, PathBuf)> = whole_files
        .iter()
        .filter(|(d, _)| d.as_str() <= "2024-10-16")
        .collect();
    assert!(before.len() < whole_files.len());
    assert_eq!(cut_files.len(), before.len());
    assert_eq!(written.last.as_deref(), Some("2024-10-16"));
    for ((d1, p1), (d2, p2)) in cut_files.iter().zip(before) {
        assert_eq!(d1, d2);
        assert!(
            std::fs::read(p1).unwrap() == std::fs::read(p2).unwrap(),
            "{d1}"
        );
    }

    let mut dataset = plan(&config(1_500, 3));
    let err = dataset.cut_at(date("2025-08-01")).unwrap_err().to_string();
    assert!(err.contains("not in the academic year 2024-25"), "{err}");
    // a Sunday before any autumn term starts
    let err = dataset.cut_at(date("2024-09-01")).unwrap_err().to_string();
    assert!(err.contains("no school day"), "{err}");
}

/// The columns of the DfE file `dfe_pupil_attendance_ytd_2024-25_la_phase.csv` (its layout).
const HEADER: &str = "time_period,geographic_level,country_code,country_name,region_code,region_name,new_la_code,la_name,old_la_code,education_phase,num_schools,enrolments,present_sessions,overall_attendance,approved_educational_activity,overall_absence,authorised_absence,unauthorised_absence,late_sessions,possible_sessions,reason_present_am,reason_present_pm,reason_present,reason_l_present_late_before_registers_closed,reason_i_authorised_illness,reason_m_authorised_medical_dental,reason_r_authorised_religious_observance,reason_s_authorised_study_leave,reason_t_authorised_mobile_child,reason_h_authorised_holiday,reason_e_authorised_excluded,reason_c_authorised_other,reason_c1_authorised_regulated_performance,reason_j1_authorised_interview,reason_c2_authorised_temp_reduced_timetable,reason_b_aea_education_off_site,reason_j_aea_interview,reason_p_aea_approved_sporting_activity,reason_v_aea_educational_visit_trip,reason_w_aea_work_experience,reason_k_aea_education_arranged_by_la,reason_g_unauthorised_holiday,reason_u_unauthorised_late_after_registers_closed,reason_o_other_unauthorised,reason_n_no_reason_yet,total_num_schools,total_enrolments,attendance_perc,overall_absence_perc,authorised_absence_perc,unauthorised_absence_perc,illness_perc,appointments_perc,unauth_hol_perc,unauth_oth_perc,unauth_late_registers_closed_perc,unauth_not_yet_perc,auth_religious_perc,auth_study_perc,auth_mob_perc,auth_excluded_perc,auth_performance_perc,auth_interview_perc,auth_part_time_perc,auth_other_perc,pa_perc,time_identifier";

/// One LA row of 1,000,000 possible sessions: `overall` per cent absence, two thirds of it
/// authorised (all illness `I`), a third unauthorised (all `O`), 1% approved activity (all `V`),
/// 1% late `L`, and `pa` per cent persistent absentees.
fn la_row(
    period: &str,
    la: (&str, &str, &str),
    phase: &str,
    size: (u32, u32),
    overall: f64,
    pa: f64,
) -> String {
    let (old, new, name) = la;
    let (schools, enrolments) = size;
    let absent = (overall * 10_000.0).round() as u64;
    let auth = absent * 2 / 3;
    let unauth = absent - auth;
    let possible = 1_000_000u64;
    let present = possible - absent;
    let mut v: HashMap<&str, String> = HashMap::new();
    for (k, x) in [
        ("time_period", period.to_string()),
        ("geographic_level", "Local authority".into()),
        ("country_code", "E92000001".into()),
        ("country_name", "England".into()),
        ("region_code", "E12000001".into()),
        ("region_name", "North East".into()),
        ("new_la_code", new.into()),
        ("la_name", name.into()),
        ("old_la_code", old.into()),
        ("education_phase", phase.into()),
        ("num_schools", schools.to_string()),
        ("enrolments", enrolments.to_string()),
        ("present_sessions", (present - 10_000).to_string()),
        ("overall_attendance", present.to_string()),
        ("approved_educational_activity", "10000".into()),
        ("overall_absence", absent.to_string()),
        ("authorised_absence", auth.to_string()),
        ("unauthorised_absence", unauth.to_string()),
        ("late_sessions", "10000".into()),
        ("possible_sessions", possible.to_string()),
        (
            "reason_l_present_late_before_registers_closed",
            "10000".into(),
        ),
        ("reason_i_authorised_illness", auth.to_string()),
        ("reason_v_aea_educational_visit_trip", "10000".into()),
        ("reason_o_other_unauthorised", unauth.to_string()),
        ("total_num_schools", schools.to_string()),
        ("total_enrolments", enrolments.to_string()),
        ("overall_absence_perc", overall.to_string()),
        ("pa_perc", pa.to_string()),
        ("time_identifier", "Academic year".into()),
    ] {
        v.insert(k, x);
    }
    HEADER
        .split(',')
        .map(|c| v.get(c).cloned().unwrap_or_else(|| "0".into()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Hartlepool (805) with low absence and Middlesbrough (806) with high absence, primary and
/// secondary, 10,000 pupils each.
fn two_la_file(f: &Fixture, name: &str, period: &str) -> PathBuf {
    let hartlepool = ("805", "E06000001", "Hartlepool");
    let middlesbrough = ("806", "E06000002", "Middlesbrough");
    let rows = [
        la_row(period, hartlepool, "Primary", (10, 6000), 3.0, 6.0),
        la_row(period, hartlepool, "Secondary", (2, 4000), 5.0, 12.0),
        la_row(period, middlesbrough, "Primary", (10, 6000), 9.0, 30.0),
        la_row(period, middlesbrough, "Secondary", (2, 4000), 15.0, 45.0),
    ];
    f.file(name, &format!("{HEADER}\n{}\n", rows.join("\n")))
}

const AUTHORISED: [&str; 12] = [
    "C", "C1", "C2", "E", "I", "J1", "M", "R", "S", "T", "H", "F",
];
const UNAUTHORISED: [&str; 4] = ["G", "N", "O", "U"];
/// Present and approved educational activity (DOMAIN.md section 1): possible, not absent.
const ATTENDING: [&str; 9] = ["/", "\\", "L", "B", "K", "P", "V", "W", "J"];

/// Overall absence per cent of the in-scope pupils (NC years 1 to 11) by (LA code, phase):
/// absence sessions / possible sessions, from the generated batches.
fn la_phase_absence(ds: &Dataset, las: &[&str]) -> HashMap<(String, String), f64> {
    let schools = &ds.schools;
    let urns = schools
        .column_by_name("urn")
        .unwrap()
        .as_primitive::<Int32Type>();
    let phases = schools.column_by_name("phase").unwrap().as_string::<i32>();
    let phase: HashMap<i32, String> = (0..schools.num_rows())
        .map(|r| (urns.value(r), phases.value(r).to_string()))
        .collect();
    let mut sums: HashMap<(String, String), (u64, u64)> = HashMap::new();
    for i in 0..ds.partitions() {
        let la = ds.partition_info(i).la_code.to_string();
        if !las.contains(&la.as_str()) {
            continue;
        }
        let b: &RecordBatch = &ds.pupils[i];
        let pid = b.column_by_name("pupil_id").unwrap().as_string::<i32>();
        let urn = b.column_by_name("urn").unwrap().as_primitive::<Int32Type>();
        let nc = b.column_by_name("nc_year").unwrap().as_string::<i32>();
        let scope: HashSet<(String, i32)> = (0..b.num_rows())
            .filter(|&r| {
                nc.value(r)
                    .parse::<u8>()
                    .is_ok_and(|y| (1..=11).contains(&y))
            })
            .map(|r| (pid.value(r).to_string(), urn.value(r)))
            .collect();
        for batch in ds.registers(i) {
            let pid = batch.column_by_name("pupil_id").unwrap().as_string::<i32>();
            let urn = batch
                .column_by_name("urn")
                .unwrap()
                .as_primitive::<Int32Type>();
            let code = batch.column_by_name("code").unwrap().as_string::<i32>();
            for r in 0..batch.num_rows() {
                if !scope.contains(&(pid.value(r).to_string(), urn.value(r))) {
                    continue;
                }
                let c = code.value(r);
                let s = sums
                    .entry((la.clone(), phase[&urn.value(r)].clone()))
                    .or_default();
                if AUTHORISED.contains(&c) || UNAUTHORISED.contains(&c) {
                    s.0 += 1;
                    s.1 += 1;
                } else if ATTENDING.contains(&c) {
                    s.1 += 1;
                }
            }
        }
    }
    sums.into_iter()
        .map(|(k, (absent, possible))| (k, 100.0 * absent as f64 / possible as f64))
        .collect()
}

/// With a two-LA file the data set holds those two LAs only, and each LA x phase's overall
/// absence moves from the embedded 2024/25 rate to the file's. The calibration hits a group's
/// mean absence share by construction (stratified ranks), so what is left is the rounding of
/// each pupil's sessions and movers' shorter enrolments: within 0.5 points of the file at about
/// 600-1,000 in-scope pupils a group, while the embedded rates are 2 to 5 points away.
#[test]
fn calibrate_moves_la_rates_to_the_file() {
    let f = Fixture::new();
    let file = two_la_file(&f, "two_las.csv", "202425");
    let calibration = Calibration::from_file(&file).unwrap();
    assert_eq!(calibration.academic_year, 2024);
    assert_eq!(calibration.cells.len(), 4);
    // the embedded calibration, at a scale where both LAs have a few hundred pupils
    let embedded = la_phase_absence(&plan(&config(200_000, 21)), &["805", "806"]);
    let calibrated_ds = plan_calibrated(&config(4_000, 21), &calibration);
    let las: BTreeSet<&str> = (0..calibrated_ds.partitions())
        .map(|i| calibrated_ds.partition_info(i).la_code)
        .collect();
    assert_eq!(las, BTreeSet::from(["805", "806"]));
    let calibrated = la_phase_absence(&calibrated_ds, &["805", "806"]);
    for (la, phase, want) in [
        ("805", "primary", 3.0),
        ("805", "secondary", 5.0),
        ("806", "primary", 9.0),
        ("806", "secondary", 15.0),
    ] {
        let key = (la.to_string(), phase.to_string());
        let (before, after) = (embedded[&key], calibrated[&key]);
        eprintln!("{la} {phase}: embedded {before:.2}, calibrated {after:.2}, file {want}");
        assert!(
            (after - want).abs() < 0.5,
            "{la} {phase}: {after:.2} for {want}"
        );
        assert!(
            (before - want).abs() > 1.5,
            "{la} {phase}: embedded {before:.2}"
        );
        // the move is towards the file, by most of the distance
        assert!((after - before).signum() == (want - before).signum());
        assert!((after - before).abs() > 0.7 * (want - before).abs());
    }
}

/// A file of another year gives that academic year: the label, the pupils' academic_year and
/// every mark in 1 September 2022 .. 31 July 2023.
#[test]
fn calibrate_file_of_another_year_gives_that_year() {
    let f = Fixture::new();
    let calibration = Calibration::from_file(&two_la_file(&f, "2022.csv", "202223")).unwrap();
    assert_eq!(calibration.academic_year, 2022);
    let mut cfg = config(1_000, 4);
    cfg.academic_year = calibration.academic_year;
    let ds = plan_calibrated(&cfg, &calibration);
    assert_eq!(ds.year, "2022-23");
    let years: HashSet<&str> = ds
        .pupils
        .iter()
        .flat_map(|b| {
            let a = b
                .column_by_name("academic_year")
                .unwrap()
                .as_string::<i32>();
            (0..b.num_rows()).map(move |r| a.value(r))
        })
        .collect();
    assert_eq!(years, HashSet::from(["2022-23"]));
    let date32 = |s: &str| (date(s) - date("1970-01-01")).num_days() as i32;
    let (lo, hi) = (date32("2022-09-01"), date32("2023-07-31"));
    let (mut first, mut last) = (i32::MAX, i32::MIN);
    for i in 0..ds.partitions() {
        for b in ds.registers(i) {
            let d = b
                .column_by_name("date")
                .unwrap()
                .as_primitive::<Date32Type>();
            first = first.min(*d.values().iter().min().unwrap());
            last = last.max(*d.values().iter().max().unwrap());
        }
    }
    assert!(lo <= first && first < lo + 10, "{first}");
    assert!(last <= hi && last > hi - 20, "{last}");
}

/// A malformed file is refused with its name, line and field.
#[test]
fn malformed_calibrate_file_is_refused_with_line_and_field() {
    let f = Fixture::new();
    let good = std::fs::read_to_string(two_la_file(&f, "good.csv", "202425")).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let overall = HEADER
        .split(',')
        .position(|c| c == "overall_absence")
        .unwrap();
    let mut bad_row: Vec<&str> = lines[2].split(',').collect();
    bad_row[overall] = "lots";
    let cases = [
        (
            "not_a_number.csv",
            format!("{}\n{}\n{}\n", lines[0], lines[1], bad_row.join(",")),
            "line 3: field `overall_absence`",
        ),
        (
            "no_pa.csv",
            good.replace(",pa_perc,", ",pa,"),
            "line 1: field `pa_perc`: no such column",
        ),
        (
            "bad_year.csv",
            good.replacen("202425", "2024", 1),
            "line 2: field `time_period`",
        ),
        (
            "unknown_la.csv",
            good.replacen(",805,", ",999,", 1)
                .replacen("E06000001", "E0", 1),
            "line 2: field `old_la_code`",
        ),
        ("empty.csv", format!("{HEADER}\n"), "no rows"),
    ];
    for (name, content, want) in cases {
        let path = f.file(name, &content);
        let err = Calibration::from_file(&path).unwrap_err().to_string();
        assert!(err.contains(name) && err.contains(want), "{name}: {err}");
    }
}

/// The command line: `generate --calibrate FILE --through DATE --daily-csv DIR` writes the
/// file's year up to the date; `--year` disagreeing with the file is refused.
#[test]
fn command_line_daily_feed_of_a_calibrated_year() {
    let f = Fixture::new();
    let file = two_la_file(&f, "2022.csv", "202223");
    let dir = f.dir.path().join("feed");
    let run = |extra: &[&str]| {
        let mut args = vec!["generate", "--pupils", "800", "--calibrate"];
        args.push(file.to_str().unwrap());
        args.extend(extra);
        std::process::Command::new(BIN)
            .args(&args)
            .env("ATTENDANCE_DATA", f.dir.path().join("unused"))
            .output()
            .unwrap()
    };
    let out = run(&[
        "--through",
        "2022-09-16",
        "--daily-csv",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let days: Vec<String> = day_files(&dir).into_iter().map(|(d, _)| d).collect();
    assert!(!days.is_empty());
    assert!(
        days.iter()
            .all(|d| d.as_str() >= "2022-09-01" && d.as_str() <= "2022-09-16"),
        "{days:?}"
    );
    assert_eq!(days.last().map(String::as_str), Some("2022-09-16"));
    let out = run(&[
        "--year",
        "2024-25",
        "--csv",
        f.dir.path().join("x").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--year 2024-25 is not the year of the --calibrate file (2022-23)"),
        "{err}"
    );
}

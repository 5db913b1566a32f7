//! `attendance monitor` (DOMAIN.md section 8) on a hand-worked fixture: every expected figure
//! below is worked by hand from sections 2, 7 and 8, not read from the engine's output.
//!
//! # The fixture (2024-25; six reported weeks, Mondays 2024-09-02 (week 0) .. 2024-10-07
//! (week 5))
//! Schools: A 100001 primary and C 100003 primary in LA 801; B 100002 secondary in LA 802.
//! Pupils have no date of birth: NC year 3 is age 7, NC 9 age 13 (in scope); AREC is in
//! reception (age 4: out of scope, never in any output).
//!
//! Marks: per pupil and week, `n` sessions marked from Monday AM on, the first `k` of them
//! absent (`I`), the others present. With `--weeks 4` the recent span is weeks 2..5 and
//! "before" is weeks 0..1 (baseline: the week of 2024-09-09).
//!
//! | pupil | school | marks (week: marked/absent) | possible / overall | status | before (poss/overall) | recent (poss/att) | newly PA | falling |
//! |---|---|---|---|---|---|---|---|---|
//! | ARISK5 | A | 0..5: 10, week 0 absent 3 | 60 / 3 (5% exactly) | at risk | 20/3 (PA then) | 40/40 | no | no (85% then 100%) |
//! | ARISK8 | A | 0..5: 10, week 0 absent 5 | 60 / 5 | at risk | 20/5 | 40/40 | no | no |
//! | APA10 | A | 0..5: 10, week 2 absent 6 | 60 / 6 (10% exactly) | persistently absent | 20/0 | 40/34 | yes | yes (100% then 85%) |
//! | APA48 | A | 0..5: 10, weeks 0,1 absent 10, week 2 absent 9 | 60 / 29 | persistently absent | 20/20 | 40/31 | no (PA then) | no |
//! | ASA50 | A | 0..5: 10, weeks 0,1,2 absent 10 | 60 / 30 (50% exactly) | severely absent | 20/20 | 40/30 | no | no |
//! | AFALL5 | A | 0..5: 10, week 5 absent 2 | 60 / 2 | (none) | 20/0 | 40/38 | no | yes: 100*38*20 = 76000 <= (2000-100)*40 = 76000 |
//! | AFALL2 | A | 0..5: 10, week 5 absent 1 | 60 / 1 | (none) | 20/0 | 40/39 | no | no: 78000 > 76000 |
//! | AFEW9 | A | 0,1: 10; 5: 9 marked, 5 absent | 29 / 5 | persistently absent | 20/0 | 9/4 | yes | no: 9 recent sessions |
//! | ATEN10 | A | 0,1: 10; 5: 10 marked, 5 absent | 30 / 5 | persistently absent | 20/0 | 10/5 | yes | yes: 100*5*20 = 10000 <= 1900*10 |
//! | AJOIN9 | A | 1: 9; 2..5: 10, absent 5 each | 49 / 20 | persistently absent (20*2 = 40 < 49) | 9/0 | 40/20 | yes | no: 9 sessions before |
//! | ANEW | A | 4,5: 10, week 4 absent 2 | 20 / 2 (10%) | persistently absent | none | 20/18 | yes | no: no baseline |
//! | AOLD | A | 0,1: 10 | 20 / 0 | (none) | 20/0 | 0 (recent % empty) | no | no |
//! | MOVER | A | 0..2: 10 | 30 / 0 | (none) | 20/0 | 10/10 | no | no |
//! | MOVER | C | 3..5: 10, absent 5 each | 30 / 15 | severely absent | none at C | 30/15 | yes | no |
//! | BPA | B | 0..5: 10, week 5 absent 10 | 60 / 10 | persistently absent | 20/0 | 40/30 | yes | yes |
//! | BOK | B | 0..5: 10 | 60 / 0 | (none) | 20/0 | 40/40 | no | no |
//! | AREC | A | 0: 10 absent 10 | out of scope | | | | | |
//!
//! School A year to date: 13 enrolments; possible 7*60 + 29 + 30 + 49 + 20 + 20 + 30 = 598,
//! attendance 57+55+54+31+30+58+59 + 24+25+29+18+20+30 = 490 (81.939799...%); PA (severe
//! included): APA10 APA48 ASA50 AFEW9 ATEN10 AJOIN9 ANEW = 7 (53.846...%); SA: ASA50 = 1.
//! FSM eligible: ASA50 and APA10 (2 enrolments, both PA: 100%); not FSM: 11, 5 PA.

use std::path::{Path, PathBuf};

use attendance::ingest::IngestOptions;
use attendance::monitor::{MonitorOptions, Scope, run};
use attendance::session::SessionOptions;

use crate::common::*;

const SCHOOLS: &str = "\
urn,school_name,old_la_code,new_la_code,la_name,region_code,region_name,phase
100001,School A,801,E06000023,\"Bristol, City of\",E12000009,South West,primary
100002,School B,802,E06000024,North Somerset,E12000009,South West,secondary
100003,School C,801,E06000023,\"Bristol, City of\",E12000009,South West,primary
";

/// `(pupil, urn, nc_year, fsm)`.
const PUPILS: [(&str, i32, &str, bool); 17] = [
    ("ARISK5", 100001, "3", false),
    ("ARISK8", 100001, "3", false),
    ("APA10", 100001, "3", true),
    ("APA48", 100001, "3", false),
    ("ASA50", 100001, "3", true),
    ("AFALL5", 100001, "3", false),
    ("AFALL2", 100001, "3", false),
    ("AFEW9", 100001, "3", false),
    ("ATEN10", 100001, "3", false),
    ("AJOIN9", 100001, "4", false),
    ("ANEW", 100001, "3", false),
    ("AOLD", 100001, "3", false),
    ("MOVER", 100001, "3", false),
    ("MOVER", 100003, "3", false),
    ("AREC", 100001, "R", false),
    ("BPA", 100002, "9", false),
    ("BOK", 100002, "9", false),
];

/// `(pupil, urn, week, sessions marked, of which absent)`.
const WEEKS: &[(&str, i32, u32, u32, u32)] = &[
    ("ARISK5", 100001, 0, 10, 3),
    ("ARISK8", 100001, 0, 10, 5),
    ("APA10", 100001, 2, 10, 6),
    ("APA48", 100001, 0, 10, 10),
    ("APA48", 100001, 1, 10, 10),
    ("APA48", 100001, 2, 10, 9),
    ("ASA50", 100001, 0, 10, 10),
    ("ASA50", 100001, 1, 10, 10),
    ("ASA50", 100001, 2, 10, 10),
    ("AFALL5", 100001, 5, 10, 2),
    ("AFALL2", 100001, 5, 10, 1),
    ("AFEW9", 100001, 5, 9, 5),
    ("ATEN10", 100001, 5, 10, 5),
    ("AJOIN9", 100001, 1, 9, 0),
    ("AJOIN9", 100001, 2, 10, 5),
    ("AJOIN9", 100001, 3, 10, 5),
    ("AJOIN9", 100001, 4, 10, 5),
    ("AJOIN9", 100001, 5, 10, 5),
    ("ANEW", 100001, 4, 10, 2),
    ("ANEW", 100001, 5, 10, 0),
    ("MOVER", 100003, 3, 10, 5),
    ("MOVER", 100003, 4, 10, 5),
    ("MOVER", 100003, 5, 10, 5),
    ("AREC", 100001, 0, 10, 10),
    ("BPA", 100002, 5, 10, 10),
];

/// Full weeks of presence (10 sessions, none absent) not listed in [`WEEKS`]:
/// `(pupil, urn, weeks)`.
const PRESENT: &[(&str, i32, &[u32])] = &[
    ("ARISK5", 100001, &[1, 2, 3, 4, 5]),
    ("ARISK8", 100001, &[1, 2, 3, 4, 5]),
    ("APA10", 100001, &[0, 1, 3, 4, 5]),
    ("APA48", 100001, &[3, 4, 5]),
    ("ASA50", 100001, &[3, 4, 5]),
    ("AFALL5", 100001, &[0, 1, 2, 3, 4]),
    ("AFALL2", 100001, &[0, 1, 2, 3, 4]),
    ("AFEW9", 100001, &[0, 1]),
    ("ATEN10", 100001, &[0, 1]),
    ("AOLD", 100001, &[0, 1]),
    ("MOVER", 100001, &[0, 1, 2]),
    ("BPA", 100002, &[0, 1, 2, 3, 4]),
    ("BOK", 100002, &[0, 1, 2, 3, 4, 5]),
];

fn pupils_csv() -> String {
    let mut out =
        String::from("academic_year,pupil_id,urn,nc_year,sex,date_of_birth,fsm,sen,cla,cin,cpp\n");
    for (pupil, urn, nc, fsm) in PUPILS {
        out.push_str(&format!(
            "2024-25,{pupil},{urn},{nc},F,,{fsm},N,false,false,false\n"
        ));
    }
    out
}

/// The marks of one pupil-week: `marked` sessions from Monday AM, the first `absent` of them
/// `I`, the others present (`/` AM, `\` PM).
fn week_marks(out: &mut String, pupil: &str, urn: i32, week: u32, marked: u32, absent: u32) {
    let monday = chrono::NaiveDate::from_ymd_opt(2024, 9, 2).unwrap()
        + chrono::Duration::days(7 * i64::from(week));
    for session in 0..marked {
        let date = monday + chrono::Duration::days(i64::from(session / 2));
        let (name, present) = if session % 2 == 0 {
            ("AM", "/")
        } else {
            ("PM", "\\")
        };
        let code = if session < absent { "I" } else { present };
        out.push_str(&format!("{pupil},{urn},{date},{name},{code}\n"));
    }
}

fn registers_csv() -> String {
    let mut out = String::from("pupil_id,urn,date,session,code\n");
    for (pupil, urn, week, marked, absent) in WEEKS {
        week_marks(&mut out, pupil, *urn, *week, *marked, *absent);
    }
    for (pupil, urn, weeks) in PRESENT {
        for week in *weeks {
            week_marks(&mut out, pupil, *urn, *week, 10, 0);
        }
    }
    out
}

async fn loaded() -> Fixture {
    let f = Fixture::new();
    let options = IngestOptions {
        schools: vec![f.file("schools.csv", SCHOOLS)],
        pupils: vec![f.file("pupils.csv", &pupils_csv())],
        registers: vec![f.file("registers.csv", &registers_csv())],
        ..Default::default()
    };
    f.ingest(&options).await.expect("fixture loads");
    f
}

fn options(f: &Fixture, scope: Scope, name: &str) -> MonitorOptions {
    MonitorOptions {
        scope,
        through: None,
        weeks: 4,
        pupils: false,
        out: f.dir.path().join(name),
        session: SessionOptions::default(),
        force: false,
    }
}

async fn monitor(f: &Fixture, options: &MonitorOptions) -> PathBuf {
    run(&f.store(), options).await.expect("monitor runs");
    options.out.clone()
}

async fn school_a(f: &Fixture) -> PathBuf {
    monitor(f, &options(f, Scope::School(100001), "a")).await
}

/// The ids in a list file, sorted.
fn ids(path: &Path) -> Vec<String> {
    let out = Output::read(path);
    let mut ids: Vec<String> = out
        .find(&[])
        .into_iter()
        .map(|r| r["pupil_id"].clone())
        .collect();
    ids.sort();
    ids
}

const PUPILS_HEADER: [&str; 12] = [
    "urn",
    "pupil_id",
    "nc_year",
    "possible",
    "attendance",
    "overall",
    "attendance_percent",
    "possible_recent",
    "attendance_recent_percent",
    "status",
    "newly_persistent",
    "falling",
];

#[tokio::test]
async fn statuses_at_the_exact_edges() {
    let f = loaded().await;
    let out = school_a(&f).await;
    let pupils = Output::read(&out.join("pupils.csv"));
    assert_eq!(pupils.header, PUPILS_HEADER);
    // 13 in-scope enrolments at A (AREC, in reception, is out of scope; MOVER's row at C is
    // another school's).
    assert_eq!(pupils.rows.len(), 13);
    assert!(pupils.find(&[("pupil_id", "AREC")]).is_empty());
    // (pupil, possible, attendance, overall, possible_recent, status, newly, falling)
    let expected = [
        ("ARISK5", "60", "57", "3", "40", "at risk", "false", "false"),
        ("ARISK8", "60", "55", "5", "40", "at risk", "false", "false"),
        (
            "APA10",
            "60",
            "54",
            "6",
            "40",
            "persistently absent",
            "true",
            "true",
        ),
        (
            "APA48",
            "60",
            "31",
            "29",
            "40",
            "persistently absent",
            "false",
            "false",
        ),
        (
            "ASA50",
            "60",
            "30",
            "30",
            "40",
            "severely absent",
            "false",
            "false",
        ),
        ("AFALL5", "60", "58", "2", "40", "", "false", "true"),
        ("AFALL2", "60", "59", "1", "40", "", "false", "false"),
        (
            "AFEW9",
            "29",
            "24",
            "5",
            "9",
            "persistently absent",
            "true",
            "false",
        ),
        (
            "ATEN10",
            "30",
            "25",
            "5",
            "10",
            "persistently absent",
            "true",
            "true",
        ),
        (
            "AJOIN9",
            "49",
            "29",
            "20",
            "40",
            "persistently absent",
            "true",
            "false",
        ),
        (
            "ANEW",
            "20",
            "18",
            "2",
            "20",
            "persistently absent",
            "true",
            "false",
        ),
        ("AOLD", "20", "20", "0", "0", "", "false", "false"),
        ("MOVER", "30", "30", "0", "10", "", "false", "false"),
    ];
    for (pupil, possible, attendance, overall, recent, status, newly, falling) in expected {
        let row = pupils.one(&[("pupil_id", pupil)]);
        assert_eq!(row["urn"], "100001", "{pupil}");
        assert_eq!(
            [
                row["possible"].as_str(),
                &row["attendance"],
                &row["overall"],
                &row["possible_recent"],
                &row["status"],
                &row["newly_persistent"],
                &row["falling"],
            ],
            [
                possible, attendance, overall, recent, status, newly, falling
            ],
            "{pupil}: {row:?}"
        );
    }
    // Percentages: 57/60, 30/40 (ASA50's recent span: 10 absent of 40), AFEW9's 4 of 9.
    check(
        &pupils.one(&[("pupil_id", "ARISK5")]),
        &[("attendance_percent", 95.0)],
    );
    check(
        &pupils.one(&[("pupil_id", "ASA50")]),
        &[
            ("attendance_percent", 50.0),
            ("attendance_recent_percent", 75.0),
        ],
    );
    check(
        &pupils.one(&[("pupil_id", "AFEW9")]),
        &[("attendance_recent_percent", 400.0 / 9.0)],
    );
    // No possible session in the recent span: the row stays, its recent percentage is empty.
    assert_eq!(
        pupils.one(&[("pupil_id", "AOLD")])["attendance_recent_percent"],
        ""
    );
}

#[tokio::test]
async fn a_pupil_who_moved_has_a_row_per_school_on_its_marks() {
    let f = loaded().await;
    let out = monitor(&f, &options(&f, Scope::School(100003), "c")).await;
    let pupils = Output::read(&out.join("pupils.csv"));
    // At C: weeks 3..5, 5 of 10 absent each: 30 possible, 15 overall, severe (15 * 2 >= 30);
    // no possible session at C before the recent span: newly persistent, not falling.
    assert_eq!(pupils.rows.len(), 1);
    let row = pupils.one(&[("pupil_id", "MOVER")]);
    assert_eq!(
        [
            row["urn"].as_str(),
            &row["possible"],
            &row["overall"],
            &row["possible_recent"],
            &row["status"],
            &row["newly_persistent"],
            &row["falling"]
        ],
        [
            "100003",
            "30",
            "15",
            "30",
            "severely absent",
            "true",
            "false"
        ]
    );
    // At A, the same pupil counts on A's marks only (see statuses_at_the_exact_edges).
    let a = Output::read(&school_a(&f).await.join("pupils.csv"));
    let row = a.one(&[("pupil_id", "MOVER")]);
    assert_eq!([row["possible"].as_str(), &row["overall"]], ["30", "0"]);
}

#[tokio::test]
async fn list_membership() {
    let f = loaded().await;
    let out = school_a(&f).await;
    let lists = [
        ("severely_absent.csv", vec!["ASA50"]),
        (
            "persistently_absent.csv",
            vec!["AFEW9", "AJOIN9", "ANEW", "APA10", "APA48", "ATEN10"],
        ),
        (
            "newly_persistent.csv",
            vec!["AFEW9", "AJOIN9", "ANEW", "APA10", "ATEN10"],
        ),
        ("at_risk.csv", vec!["ARISK5", "ARISK8"]),
        ("falling.csv", vec!["AFALL5", "APA10", "ATEN10"]),
    ];
    for (file, expected) in lists {
        assert_eq!(ids(&out.join(file)), expected, "{file}");
        assert_eq!(
            Output::read(&out.join(file)).header,
            PUPILS_HEADER,
            "{file}"
        );
    }
}

#[tokio::test]
async fn without_a_baseline_nobody_is_falling_and_persistence_is_new() {
    let f = loaded().await;
    // --weeks 6: all six reported weeks are recent, there is no "before": every persistent
    // absentee is newly so (APA48 and ASA50 too: 5 + 2 = 7) and no one is falling.
    let mut six = options(&f, Scope::School(100001), "six");
    six.weeks = 6;
    let out = monitor(&f, &six).await;
    assert_eq!(
        ids(&out.join("newly_persistent.csv")),
        [
            "AFEW9", "AJOIN9", "ANEW", "APA10", "APA48", "ASA50", "ATEN10"
        ]
    );
    assert!(ids(&out.join("falling.csv")).is_empty());
    // The CSV of an empty list still has its header.
    assert_eq!(Output::read(&out.join("falling.csv")).header, PUPILS_HEADER);
}

#[tokio::test]
async fn through_a_wednesday_counts_that_week_up_to_it() {
    let f = loaded().await;
    // Through Wednesday 2024-10-09: week 5 keeps its first 6 sessions (Monday to Wednesday).
    // ATEN10: week 5's first 5 sessions absent, the 6th present: possible 20 + 6 = 26,
    // overall 5 (5 * 10 >= 26: PA); 6 recent sessions: not falling.
    // AFALL2: 50 + 6 = 56 possible, its one absence (week 5, Monday AM) kept.
    let mut wednesday = options(&f, Scope::School(100001), "wed");
    wednesday.through = Some(attendance::ingest::parse_date("2024-10-09").unwrap());
    let out = monitor(&f, &wednesday).await;
    let pupils = Output::read(&out.join("pupils.csv"));
    let ten = pupils.one(&[("pupil_id", "ATEN10")]);
    assert_eq!(
        [
            ten["possible"].as_str(),
            &ten["overall"],
            &ten["possible_recent"],
            &ten["status"],
            &ten["falling"]
        ],
        ["26", "5", "6", "persistently absent", "false"]
    );
    let two = pupils.one(&[("pupil_id", "AFALL2")]);
    assert_eq!([two["possible"].as_str(), &two["overall"]], ["56", "1"]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["through"], "2024-10-09");
    assert_eq!(manifest["last_week"], "2024-10-07");
    assert_eq!(manifest["baseline_week"], "2024-09-09");
}

/// The filter of a geography's `Total` cohort row.
fn total(level: &str) -> [(&str, &str); 3] {
    [
        ("geographic_level", level),
        ("breakdown_topic", "Total"),
        ("breakdown", "Total"),
    ]
}

#[tokio::test]
async fn cohorts_and_weekly_series_against_la_and_england() {
    let f = loaded().await;
    let out = school_a(&f).await;
    let cohorts = Output::read(&out.join("cohorts.csv"));
    let report = cohorts.one(&total("Report"));
    check(
        &report,
        &[
            ("enrolments", 13.0),
            ("possible", 598.0),
            ("attendance", 490.0),
            ("attendance_percent", 100.0 * 490.0 / 598.0),
            ("pa_enrolments", 7.0),
            ("pa_percent", 100.0 * 7.0 / 13.0),
            ("sa_enrolments", 1.0),
        ],
    );
    // The school's own FSM cohort of 2 is not suppressed in its own report.
    let fsm = cohorts.one(&[
        ("geographic_level", "Report"),
        ("breakdown_topic", "FSM"),
        ("breakdown", "FSM eligible"),
    ]);
    check(&fsm, &[("enrolments", 2.0), ("pa_percent", 100.0)]);
    // LA 801 = A + C: 14 enrolments, PA 7 + MOVER at C = 8. Its FSM cohort (the same 2
    // pupils) is outside the school's own figures: suppressed.
    let la = cohorts.one(&total("Local authority"));
    assert_eq!(la["geo_key"], "801");
    check(&la, &[("enrolments", 14.0), ("pa_enrolments", 8.0)]);
    let la_fsm = cohorts.one(&[
        ("geographic_level", "Local authority"),
        ("breakdown_topic", "FSM"),
        ("breakdown", "FSM eligible"),
    ]);
    assert_eq!(
        [la_fsm["enrolments"].as_str(), &la_fsm["pa_percent"]],
        ["c", "c"]
    );
    // England = A + B + C: 16 enrolments, PA 8 + BPA = 9.
    let england = cohorts.one(&total("National"));
    check(&england, &[("enrolments", 16.0), ("pa_enrolments", 9.0)]);
    // No other LA (802) in a school's report.
    assert!(cohorts.find(&[("geo_key", "802")]).is_empty());
    // Week 0 at A: 11 pupils marked 10 sessions each, absent 3 + 5 + 10 + 10 = 28:
    // attendance 82 of 110.
    let weekly = Output::read(&out.join("weekly.csv"));
    let week0 = weekly.one(&[("geographic_level", "Report"), ("week_start", "2024-09-02")]);
    check(&week0, &[("possible", 110.0), ("attendance", 82.0)]);
    assert_eq!(weekly.find(&[("geographic_level", "Report")]).len(), 6);
}

#[tokio::test]
async fn la_report_ranks_schools_and_suppresses_small_numbers() {
    let f = loaded().await;
    let out = monitor(&f, &options(&f, Scope::La("E06000023".into()), "la")).await;
    let schools = Output::read(&out.join("schools.csv"));
    assert_eq!(schools.rows.len(), 2);
    // A: 13 enrolments, PA 7/13; before (the 12 enrolments with a possible session in weeks
    // 0..1, ANEW not): ARISK5 3/20, ARISK8 5/20, APA48 20/20, ASA50 20/20 were PA: 4/12.
    let a = schools.one(&[("urn", "100001")]);
    check(
        &a,
        &[
            ("pa_rank", 1.0),
            ("enrolments", 13.0),
            ("pa_percent", 100.0 * 7.0 / 13.0),
            ("pa_percent_before", 100.0 * 4.0 / 12.0),
            ("pa_change_points", 100.0 * 7.0 / 13.0 - 100.0 * 4.0 / 12.0),
            ("newly_persistent", 5.0),
            ("falling", 3.0),
        ],
    );
    // C has one enrolment: suppressed, and not ranked.
    let c = schools.one(&[("urn", "100003")]);
    assert_eq!(
        [c["pa_rank"].as_str(), &c["enrolments"], &c["pa_percent"]],
        ["", "c", "c"]
    );
    // Without --pupils: no pupil file, and no pupil id anywhere.
    assert!(!out.join("pupils.csv").exists());
    let text = all_text(&out);
    for (pupil, ..) in PUPILS {
        assert!(
            !text.contains(pupil),
            "{pupil} in an LA report without --pupils"
        );
    }
    // With --pupils: the LA's pupils (A's 13 and MOVER at C), none of B's.
    let mut with = options(&f, Scope::La("801".into()), "la-pupils");
    with.pupils = true;
    let out = monitor(&f, &with).await;
    assert_eq!(Output::read(&out.join("pupils.csv")).rows.len(), 14);
    let text = all_text(&out);
    assert!(text.contains("APA10"));
    assert!(!text.contains("BPA") && !text.contains("BOK"));
}

#[tokio::test]
async fn trust_report_reads_a_urn_file() {
    let f = loaded().await;
    let trust = f.file("trust.csv", "name,urn\nB,100002\nC,100003\n");
    let out = monitor(&f, &options(&f, Scope::Trust(trust), "trust")).await;
    let schools = Output::read(&out.join("schools.csv"));
    let mut urns: Vec<_> = schools
        .find(&[])
        .into_iter()
        .map(|r| r["urn"].clone())
        .collect();
    urns.sort();
    assert_eq!(urns, ["100002", "100003"]);
    // The trust's own figures: BPA, BOK and MOVER at C: 3 enrolments, PA 2 (BPA, MOVER).
    let cohorts = Output::read(&out.join("cohorts.csv"));
    let own = cohorts.one(&total("Report"));
    check(&own, &[("enrolments", 3.0), ("pa_enrolments", 2.0)]);
    let bad = f.file("bad.csv", "urn\n100002\n999999\n");
    let error = run(&f.store(), &options(&f, Scope::Trust(bad), "bad"))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("no school 999999"), "{error}");
}

/// Every file of an output directory, as one text.
fn all_text(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    text
}

#[tokio::test]
async fn a_school_report_holds_no_other_schools_pupils() {
    let f = loaded().await;
    let out = school_a(&f).await;
    let text = all_text(&out);
    assert!(text.contains("APA10") && text.contains("MOVER"));
    for outside in ["BPA", "BOK", "AREC"] {
        assert!(!text.contains(outside), "{outside} in school A's report");
    }
    // Nor another school's URN (the pupil who moved is A's pupil here, on A's marks).
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("100003"), "C's URN in A's report");
}

#[tokio::test]
async fn report_html_is_well_formed_and_self_contained() {
    let f = loaded().await;
    let out = school_a(&f).await;
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    check_well_formed(&html);
    // Self-contained: no address to fetch anything from.
    for reference in ["http://", "https://", "src=", "href=", "@import", "url("] {
        let outside = html.replace("http://www.w3.org/2000/svg", "");
        assert!(!outside.contains(reference), "{reference} in report.html");
    }
    // Two charts, each with a text alternative and marks; the lists' pupils are there.
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 2);
    assert_eq!(html.matches("role=\"img\"").count(), 2);
    assert!(html.contains("<desc id=\"weekly-chart-desc\">"));
    assert!(html.contains("class=\"series s0\""));
    assert!(html.contains("class=\"bar s0\""));
    assert!(html.contains("@media print"));
    // ASA50's sessions missed by reason: 30 of illness.
    assert!(html.contains("illness 30"), "reasons in the list");
    assert!(!html.contains("<script src"));
}

#[tokio::test]
async fn names_are_escaped_in_the_html() {
    let f = Fixture::new();
    let schools = SCHOOLS.replace("School A", "A <b>& Co</b>");
    let options_in = IngestOptions {
        schools: vec![f.file("schools.csv", &schools)],
        pupils: vec![f.file("pupils.csv", &pupils_csv())],
        registers: vec![f.file("registers.csv", &registers_csv())],
        ..Default::default()
    };
    f.ingest(&options_in).await.expect("loads");
    let out = school_a(&f).await;
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("<b>"));
    assert!(html.contains("A &lt;b&gt;&amp; Co&lt;/b&gt;"));
    check_well_formed(&html);
}

fn check_attributes(element: &quick_xml::events::BytesStart) {
    for attribute in element.attributes().with_checks(true) {
        attribute.expect("a quoted, unique attribute");
    }
}

/// Parses `html` as XML (the report is written to be both): every element closed and nested
/// properly, every attribute quoted, no stray `<` or `&`.
fn check_well_formed(html: &str) {
    use quick_xml::events::Event;
    let body = html.trim_start_matches("<!DOCTYPE html>");
    let mut reader = quick_xml::Reader::from_str(body);
    reader.config_mut().check_end_names = true;
    let mut open = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                check_attributes(&e);
                open.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
            }
            Ok(Event::Empty(e)) => check_attributes(&e),
            Ok(Event::End(_)) => {
                open.pop();
            }
            Ok(Event::GeneralRef(r)) => {
                if r.is_char_ref() {
                    r.resolve_char_ref().expect("a character reference");
                } else {
                    let name = r.decode().unwrap().into_owned();
                    assert!(
                        ["amp", "lt", "gt", "quot"].contains(&name.as_str()),
                        "entity &{name}; is not one of XML's"
                    );
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!(
                "report.html is not well-formed at byte {}: {e}",
                reader.buffer_position()
            ),
        }
    }
    assert!(open.is_empty(), "unclosed elements: {open:?}");
}

#[tokio::test]
async fn views_are_in_every_session() {
    let f = loaded().await;
    // The default views: the latest year, every mark, --weeks 4: the same statuses as the
    // report (APA10 at A: persistently absent, newly, falling).
    let text = f
        .query(
            "SELECT concat(status, '/', CAST(newly_persistent AS VARCHAR), '/', \
             CAST(falling AS VARCHAR)) AS s FROM monitor_pupils \
             WHERE urn = 100001 AND pupil_id = 'APA10'",
        )
        .await;
    assert!(text.contains("persistently absent/true/true"), "{text}");
    let text = f.query("SELECT count(*) AS n FROM monitor_falling").await;
    // AFALL5, APA10, ATEN10 at A, BPA at B.
    assert!(text.contains("| 4 |"), "{text}");
}

#[tokio::test]
async fn unknown_scopes_and_bad_options_are_refused_before_writing() {
    let f = loaded().await;
    let refused = |options: MonitorOptions| {
        let f = &f;
        async move {
            let error = run(&f.store(), &options).await.unwrap_err().to_string();
            assert!(
                !options.out.exists(),
                "{} written after: {error}",
                options.out.display()
            );
            error
        }
    };
    let error = refused(options(&f, Scope::School(999999), "x1")).await;
    assert!(error.contains("no school 999999"), "{error}");
    let error = refused(options(&f, Scope::La("999".into()), "x2")).await;
    assert!(error.contains("local authority code `999`"), "{error}");
    let no_urn = f.file("no-urn.csv", "school\n100001\n");
    let error = refused(options(&f, Scope::Trust(no_urn), "x3")).await;
    assert!(error.contains("no `urn` column"), "{error}");
    let bad_urn = f.file("bad-urn.csv", "urn\n100001\nabc\n");
    let error = refused(options(&f, Scope::Trust(bad_urn), "x4")).await;
    assert!(error.contains("line 3"), "{error}");
    let mut zero = options(&f, Scope::School(100001), "x5");
    zero.weeks = 0;
    assert!(refused(zero).await.contains("--weeks"));
    // A date before any mark of its academic year.
    let mut early = options(&f, Scope::School(100001), "x6");
    early.through = Some(attendance::ingest::parse_date("2024-08-30").unwrap());
    let error = refused(early).await;
    assert!(
        error.contains("no marks of 2024-25 on or before 2024-08-30"),
        "{error}"
    );
}

//! The real-time files (DOMAIN.md section 7) on a hand-worked fixture: every expected figure
//! below is derived by hand from DOMAIN.md sections 2, 3 and 7, not from the engine's output.
//!
//! # The fixture (academic year 2024-25, all in region E12000009 South West)
//! Schools: A 100001 primary and C 100003 primary in LA 801; B 100002 secondary in LA 802 (the
//! LA's only school: its LA rows are suppressed); D 100004 alternative provision in LA 801 (out).
//!
//! Ages on 31 August 2024: A1 7 (2016-10-01), A2 8 (no dob, NC 4), A9 4 (reception: out of
//! scope, but on the roll), B1 12, B2 15 (2009-06-01: marks from the spring bank holiday,
//! Monday 26 May 2025, removed), C1 9, D1 13 (alternative provision: out).
//! The roll (total_enrolments, every age): A 3, B 2, C 1; total_num_schools primary 2,
//! secondary 1. Weights of a Total: primary 4, secondary 2.
//!
//! Marks (AM PM; `/` `\` present):
//! | day | ISO week | A1 | A2 | A9 | B1 | B2 | C1 | D1 |
//! |---|---|---|---|---|---|---|---|---|
//! | Fri 2024-12-20 | 2024 W51 | / \ | I I | I I | / N | / \ | / \ | U U |
//! | Mon 2024-12-30 | 2025 W1 | / \ | / \ | | L U | # # | | |
//! | Fri 2025-01-03 | 2025 W1 | M \ | / \ | | / \ | / \ | / \ | |
//! | Mon 2025-01-06 | 2025 W2 | / \ | / \ | | / \ | / \ | / \ | |
//! | Tue 2025-05-27 | 2025 W22 | / \ | | | - - | N N | | |
//!
//! School-day counts (possible / overall absence / in-scope enrolments with a possible session):
//! | day | A | B | C |
//! |---|---|---|---|
//! | 12-20 | 4 / 2 (I 2) / 2 | 4 / 1 (N) / 2 | 2 / 0 / 1 |
//! | 12-30 | 4 / 0 / 2 | 2 / 1 (U; L and U late) / 1 (B2 `#` not possible) | none |
//! | 01-03 | 4 / 1 (M) / 2 | 4 / 0 / 2 | 2 / 0 / 1 |
//! | 01-06 | 4 / 0 / 2 | 4 / 0 / 2 | 2 / 0 / 1 |
//! | 05-27 | 2 / 0 / 1 | none (`-`, and B2's N removed) | none |
//!
//! Year to date per enrolment (possible / overall): A1 10/1 (PA: exactly 10%), A2 8/2 (PA),
//! C1 6/0, B1 8/2 (PA), B2 6/0 (not PA: its N N after the spring bank holiday are removed).

use std::path::PathBuf;

use attendance::ingest::IngestOptions;
use attendance::realtime::{RealtimeOptions, run};
use attendance::session::SessionOptions;

use crate::common::*;

const SCHOOLS: &str = "\
urn,school_name,old_la_code,new_la_code,la_name,region_code,region_name,phase
100001,School A,801,E06000023,\"Bristol, City of\",E12000009,South West,primary
100002,School B,802,E06000024,North Somerset,E12000009,South West,secondary
100003,School C,801,E06000023,\"Bristol, City of\",E12000009,South West,primary
100004,School D,801,E06000023,\"Bristol, City of\",E12000009,South West,alternative_provision
";

const PUPILS: &str = "\
academic_year,pupil_id,urn,nc_year,sex,date_of_birth,fsm,sen,cla,cin,cpp
2024-25,A1,100001,3,F,2016-10-01,false,N,false,false,false
2024-25,A2,100001,4,M,,false,N,false,false,false
2024-25,A9,100001,R,F,2020-05-01,false,N,false,false,false
2024-25,B1,100002,8,M,2012-02-02,false,N,false,false,false
2024-25,B2,100002,11,F,2009-06-01,false,N,false,false,false
2024-25,C1,100003,5,M,2015-01-01,false,N,false,false,false
2024-25,D1,100004,9,M,2011-01-01,false,N,false,false,false
";

/// `(pupil, urn, date, AM code, PM code)`.
const MARKS: [(&str, i32, &str, &str, &str); 22] = [
    ("A1", 100001, "2024-12-20", "/", "\\"),
    ("A2", 100001, "2024-12-20", "I", "I"),
    ("A9", 100001, "2024-12-20", "I", "I"),
    ("B1", 100002, "2024-12-20", "/", "N"),
    ("B2", 100002, "2024-12-20", "/", "\\"),
    ("C1", 100003, "2024-12-20", "/", "\\"),
    ("D1", 100004, "2024-12-20", "U", "U"),
    ("A1", 100001, "2024-12-30", "/", "\\"),
    ("A2", 100001, "2024-12-30", "/", "\\"),
    ("B1", 100002, "2024-12-30", "L", "U"),
    ("B2", 100002, "2024-12-30", "#", "#"),
    ("A1", 100001, "2025-01-03", "M", "\\"),
    ("A2", 100001, "2025-01-03", "/", "\\"),
    ("B1", 100002, "2025-01-03", "/", "\\"),
    ("B2", 100002, "2025-01-03", "/", "\\"),
    ("C1", 100003, "2025-01-03", "/", "\\"),
    ("A1", 100001, "2025-01-06", "/", "\\"),
    ("A2", 100001, "2025-01-06", "/", "\\"),
    ("B1", 100002, "2025-01-06", "/", "\\"),
    ("B2", 100002, "2025-01-06", "/", "\\"),
    ("C1", 100003, "2025-01-06", "/", "\\"),
    ("A1", 100001, "2025-05-27", "/", "\\"),
];

/// Marks after the spring bank holiday that count in nothing: B1's missing marks and the
/// 15-year-old B2's `N N`.
const LATE_MARKS: [(&str, i32, &str, &str, &str); 2] = [
    ("B1", 100002, "2025-05-27", "-", "-"),
    ("B2", 100002, "2025-05-27", "N", "N"),
];

fn registers_csv() -> String {
    let mut out = String::from("pupil_id,urn,date,session,code\n");
    for (pupil, urn, date, am, pm) in MARKS.iter().chain(&LATE_MARKS) {
        out.push_str(&format!("{pupil},{urn},{date},AM,{am}\n"));
        out.push_str(&format!("{pupil},{urn},{date},PM,{pm}\n"));
    }
    out
}

async fn loaded() -> Fixture {
    let f = Fixture::new();
    let options = IngestOptions {
        schools: vec![f.file("schools.csv", SCHOOLS)],
        pupils: vec![f.file("pupils.csv", PUPILS)],
        registers: vec![f.file("registers.csv", &registers_csv())],
        ..Default::default()
    };
    f.ingest(&options).await.expect("fixture loads");
    f
}

async fn realtime(f: &Fixture, through: Option<&str>, suppress: bool) -> PathBuf {
    realtime_into(f, through, suppress, "out").await
}

async fn realtime_into(f: &Fixture, through: Option<&str>, suppress: bool, name: &str) -> PathBuf {
    let out = f.dir.path().join(format!("{name}-{through:?}-{suppress}"));
    run(
        &f.store(),
        &RealtimeOptions {
            out: out.clone(),
            year: Some("2024-25".into()),
            through: through.map(|d| attendance::ingest::parse_date(d).unwrap()),
            suppress,
            parquet: false,
            session: SessionOptions::default(),
            force: false,
        },
    )
    .await
    .expect("realtime runs");
    out
}

const NATIONAL: (&str, &str) = ("geographic_level", "National");
const LA: (&str, &str) = ("geographic_level", "Local authority");
const PRIMARY: (&str, &str) = ("education_phase", "Primary");
const SECONDARY: (&str, &str) = ("education_phase", "Secondary");
const TOTAL: (&str, &str) = ("education_phase", "Total");

/// The header of the reference file (its columns in its order), with time_identifier,
/// time_frame and reference_date after time_period and school_urn, school_name after
/// old_la_code (DOMAIN.md section 7).
const HEADER: &str = "time_period,time_identifier,time_frame,reference_date,geographic_level,country_code,country_name,region_code,region_name,new_la_code,la_name,old_la_code,school_urn,school_name,education_phase,num_schools,enrolments,present_sessions,overall_attendance,approved_educational_activity,overall_absence,authorised_absence,unauthorised_absence,late_sessions,possible_sessions,reason_present_am,reason_present_pm,reason_present,reason_l_present_late_before_registers_closed,reason_i_authorised_illness,reason_m_authorised_medical_dental,reason_r_authorised_religious_observance,reason_s_authorised_study_leave,reason_t_authorised_mobile_child,reason_h_authorised_holiday,reason_e_authorised_excluded,reason_c_authorised_other,reason_c1_authorised_regulated_performance,reason_j1_authorised_interview,reason_c2_authorised_temp_reduced_timetable,reason_b_aea_education_off_site,reason_j_aea_interview,reason_p_aea_approved_sporting_activity,reason_v_aea_educational_visit_trip,reason_w_aea_work_experience,reason_k_aea_education_arranged_by_la,reason_g_unauthorised_holiday,reason_u_unauthorised_late_after_registers_closed,reason_o_other_unauthorised,reason_n_no_reason_yet,total_num_schools,total_enrolments,attendance_perc,overall_absence_perc,authorised_absence_perc,unauthorised_absence_perc,illness_perc,appointments_perc,unauth_hol_perc,unauth_oth_perc,unauth_late_registers_closed_perc,unauth_not_yet_perc,auth_religious_perc,auth_study_perc,auth_mob_perc,auth_excluded_perc,auth_performance_perc,auth_interview_perc,auth_part_time_perc,auth_other_perc,pa_perc";

#[tokio::test]
async fn daily_rows_and_a_weighted_total() {
    let f = loaded().await;
    let out = realtime(&f, None, true).await;
    let daily = Output::read(&out.join("attendance_daily.csv"));
    assert_eq!(daily.header.join(","), HEADER);
    // Fri 2024-12-20 is ISO 2024 week 51. Primary: A (A1 / \, A2 I I) and C (C1 / \); A9 (age
    // 4) and D1 (alternative provision) count nowhere: possible 6, present 4, illness 2.
    let day = [("reference_date", "2024-12-20"), ("time_frame", "Friday")];
    let primary = daily.one(&[day[0], day[1], NATIONAL, PRIMARY]);
    assert_eq!(primary["time_period"], "2024");
    assert_eq!(primary["time_identifier"], "Week 51");
    assert_eq!(primary["pa_perc"], "", "no pa_perc in a day row");
    assert_eq!(primary["school_urn"], "");
    check(
        &primary,
        &[
            ("num_schools", 2.0),
            ("enrolments", 3.0),
            ("possible_sessions", 6.0),
            ("present_sessions", 4.0),
            ("reason_present_am", 2.0),
            ("reason_present_pm", 2.0),
            ("reason_i_authorised_illness", 2.0),
            ("overall_absence", 2.0),
            ("unauthorised_absence", 0.0),
            ("overall_absence_perc", 100.0 * 2.0 / 6.0),
            ("illness_perc", 100.0 * 2.0 / 6.0),
            ("attendance_perc", 100.0 * 4.0 / 6.0),
            ("total_num_schools", 2.0),
            ("total_enrolments", 4.0),
        ],
    );
    // Secondary: B1 / N, B2 / \: possible 4, one N: 25%.
    let secondary = daily.one(&[day[0], day[1], NATIONAL, SECONDARY]);
    check(
        &secondary,
        &[
            ("num_schools", 1.0),
            ("enrolments", 2.0),
            ("possible_sessions", 4.0),
            ("reason_n_no_reason_yet", 1.0),
            ("overall_absence_perc", 25.0),
            ("unauth_not_yet_perc", 25.0),
            ("total_enrolments", 2.0),
        ],
    );
    // Total: counts summed, rates weighted by total_enrolments (4 and 2):
    // (100/3 * 4 + 25 * 2) / 6 = 550/18, not the ratio of sums 3/10 = 30%.
    let total = daily.one(&[day[0], day[1], NATIONAL, TOTAL]);
    check(
        &total,
        &[
            ("num_schools", 3.0),
            ("enrolments", 5.0),
            ("possible_sessions", 10.0),
            ("overall_absence", 3.0),
            ("total_num_schools", 3.0),
            ("total_enrolments", 6.0),
            ("overall_absence_perc", 550.0 / 18.0),
            ("unauth_not_yet_perc", (0.0 * 4.0 + 25.0 * 2.0) / 6.0),
        ],
    );
    assert_eq!(total["pa_perc"], "");
}

#[tokio::test]
async fn daily_rows_across_the_new_year() {
    let f = loaded().await;
    let out = realtime(&f, None, true).await;
    let daily = Output::read(&out.join("attendance_daily.csv"));
    // Mon 2024-12-30 is in ISO 2025 week 1. Secondary: B1 L U (late 2, one present, one
    // unauthorised), B2 # # (not possible): possible 2, 1 enrolment.
    let monday = daily.one(&[
        ("reference_date", "2024-12-30"),
        ("time_frame", "Monday"),
        NATIONAL,
        SECONDARY,
    ]);
    assert_eq!(monday["time_period"], "2025");
    assert_eq!(monday["time_identifier"], "Week 1");
    check(
        &monday,
        &[
            ("enrolments", 1.0),
            ("possible_sessions", 2.0),
            ("present_sessions", 1.0),
            ("late_sessions", 2.0),
            ("reason_l_present_late_before_registers_closed", 1.0),
            ("reason_u_unauthorised_late_after_registers_closed", 1.0),
            ("overall_absence_perc", 50.0),
            ("unauth_late_registers_closed_perc", 50.0),
        ],
    );
    // Mon 2025-01-06: ISO 2025 week 2.
    let jan6 = daily.one(&[("reference_date", "2025-01-06"), NATIONAL, PRIMARY]);
    assert_eq!(
        (
            jan6["time_period"].as_str(),
            jan6["time_identifier"].as_str()
        ),
        ("2025", "Week 2")
    );
    // Tue 2025-05-27: no secondary row (B1 `-`, B2's N N removed: no possible session).
    assert!(
        daily
            .find(&[("reference_date", "2025-05-27"), SECONDARY])
            .is_empty()
    );
    // Alternative provision is in no row.
    assert!(daily.find(&[("school_urn", "100004")]).is_empty());
    // Totals only at National and Regional level.
    assert!(daily.find(&[LA, TOTAL]).is_empty());
    assert_eq!(
        daily.find(&[("geographic_level", "Regional"), TOTAL]).len(),
        5,
        "one Regional Total per day"
    );
}

#[tokio::test]
async fn weekly_rows_have_daily_means() {
    let f = loaded().await;
    let out = realtime(&f, None, true).await;
    let weekly = Output::read(&out.join("attendance_weekly.csv"));
    assert_eq!(weekly.header.join(","), HEADER);
    // ISO 2025 week 1 runs Mon 30 Dec 2024 to Fri 3 Jan 2025. Primary: Monday A only
    // (2 enrolments), Friday A and C (3): num_schools (1 + 2) / 2, enrolments (2 + 3) / 2;
    // possible 4 + 4 + 2, A1's M the only absence: 10%.
    let week1 = [("reference_date", "2024-12-30"), ("time_frame", "Week")];
    let primary = weekly.one(&[week1[0], week1[1], NATIONAL, PRIMARY]);
    assert_eq!(primary["time_period"], "2025");
    assert_eq!(primary["time_identifier"], "Week 1");
    assert_eq!(primary["pa_perc"], "");
    check(
        &primary,
        &[
            ("num_schools", 1.5),
            ("enrolments", 2.5),
            ("possible_sessions", 10.0),
            ("reason_m_authorised_medical_dental", 1.0),
            ("overall_absence_perc", 10.0),
            ("appointments_perc", 10.0),
        ],
    );
    // Secondary: Monday B (1 enrolment, possible 2), Friday B (2, possible 4): 1 school,
    // 1.5 enrolments, U the only absence: 1/6.
    let secondary = weekly.one(&[week1[0], week1[1], NATIONAL, SECONDARY]);
    check(
        &secondary,
        &[
            ("num_schools", 1.0),
            ("enrolments", 1.5),
            ("possible_sessions", 6.0),
            ("overall_absence_perc", 100.0 / 6.0),
        ],
    );
    // Total: means summed (2.5 schools, 4 enrolments), rate (10 * 4 + 100/6 * 2) / 6.
    let total = weekly.one(&[week1[0], week1[1], NATIONAL, TOTAL]);
    check(
        &total,
        &[
            ("num_schools", 2.5),
            ("enrolments", 4.0),
            ("possible_sessions", 16.0),
            (
                "overall_absence_perc",
                (10.0 * 4.0 + 100.0 / 6.0 * 2.0) / 6.0,
            ),
        ],
    );
    // Fri 2024-12-20 alone: ISO 2024 week 51, reference date its Monday.
    let week51 = weekly.one(&[("reference_date", "2024-12-16"), NATIONAL, PRIMARY]);
    assert_eq!(
        (
            week51["time_period"].as_str(),
            week51["time_identifier"].as_str()
        ),
        ("2024", "Week 51")
    );
    check(&week51, &[("num_schools", 2.0), ("possible_sessions", 6.0)]);
    // Four weeks reported: 2024 W51, 2025 W1, W2, W22.
    let mut weeks: Vec<String> = weekly
        .find(&[NATIONAL, TOTAL])
        .iter()
        .map(|r| r["time_identifier"].clone())
        .collect();
    weeks.sort();
    assert_eq!(weeks, ["Week 1", "Week 2", "Week 22", "Week 51"]);
    // Week 22 has primary only (B has no possible session): its Total is the primary's rates.
    let w22 = weekly.one(&[("time_identifier", "Week 22"), NATIONAL, TOTAL]);
    check(
        &w22,
        &[
            ("num_schools", 1.0),
            ("total_enrolments", 4.0),
            ("attendance_perc", 100.0),
        ],
    );
}

#[tokio::test]
async fn year_to_date_rows() {
    let f = loaded().await;
    let out = realtime(&f, None, false).await;
    let ytd = Output::read(&out.join("attendance_ytd.csv"));
    assert_eq!(ytd.header.join(","), HEADER);
    // To the end of the last week reported, 2025 week 22 (w/c 26 May).
    // Primary: days 12-20 (A, C), 12-30 (A), 01-03 (A, C), 01-06 (A, C), 05-27 (A):
    // num_schools 8/5, enrolments (3 + 2 + 3 + 3 + 1) / 5; possible 18 + 6, overall I 2 + M 1.
    // pa: A1 1 of 10 (exactly 10%: PA), A2 2 of 8 (PA), C1 0 of 6: 2 of 3.
    let primary = ytd.one(&[NATIONAL, PRIMARY]);
    assert_eq!(primary["time_frame"], "Year to date");
    assert_eq!(primary["reference_date"], "2025-05-26");
    assert_eq!(
        (
            primary["time_period"].as_str(),
            primary["time_identifier"].as_str()
        ),
        ("2025", "Week 22")
    );
    check(
        &primary,
        &[
            ("num_schools", 1.6),
            ("enrolments", 2.4),
            ("possible_sessions", 24.0),
            ("overall_absence", 3.0),
            ("authorised_absence", 3.0),
            ("overall_absence_perc", 12.5),
            ("pa_perc", 200.0 / 3.0),
        ],
    );
    // Secondary: 4 days of B, enrolments (2 + 1 + 2 + 2) / 4, possible 14, N and U: 2/14;
    // pa: B1 2 of 8 (PA), B2 0 of 6 (its N N after the spring bank holiday removed): 50%.
    let secondary = ytd.one(&[NATIONAL, SECONDARY]);
    check(
        &secondary,
        &[
            ("num_schools", 1.0),
            ("enrolments", 1.75),
            ("possible_sessions", 14.0),
            ("reason_n_no_reason_yet", 1.0),
            ("overall_absence_perc", 100.0 * 2.0 / 14.0),
            ("pa_perc", 50.0),
        ],
    );
    // Total: weighted 4 : 2; pa_perc too.
    let total = ytd.one(&[NATIONAL, TOTAL]);
    check(
        &total,
        &[
            ("num_schools", 2.6),
            ("enrolments", 4.15),
            ("possible_sessions", 38.0),
            (
                "overall_absence_perc",
                (12.5 * 4.0 + 100.0 * 2.0 / 14.0 * 2.0) / 6.0,
            ),
            ("pa_perc", (200.0 / 3.0 * 4.0 + 50.0 * 2.0) / 6.0),
        ],
    );
    // School A year to date (unsuppressed): A1 and A2 both persistent absentees.
    let a = ytd.one(&[("school_urn", "100001")]);
    assert_eq!(a["geographic_level"], "School");
    assert_eq!(a["school_name"], "School A");
    check(
        &a,
        &[
            ("possible_sessions", 18.0),
            ("pa_perc", 100.0),
            ("total_num_schools", 1.0),
            ("total_enrolments", 3.0),
        ],
    );
}

#[tokio::test]
async fn persistent_absence_year_to_date_by_week() {
    let f = loaded().await;
    let out = realtime(&f, None, false).await;
    // Persistent absence year to date at the end of each week (exactly the section 7 columns):
    // W51: A2 (2 of 2) of A1, A2, C1; B1 (1 of 2) of B1, B2. W1: A1 1 of 6 and A2 2 of 6 PA,
    // C1 not; B1 2 of 6. W2 and W22 likewise (A1 1 of 8, then 1 of 10: still PA).
    let pa = Output::read(&out.join("persistent_absence_ytd_weekly.csv"));
    assert_eq!(
        pa.header.join(","),
        "time_period,time_identifier,time_frame,geographic_level,country_code,country_name,region_code,region_name,new_la_code,la_name,old_la_code,education_phase,persistent_absence_percent"
    );
    let primary_pa = |week: &str| {
        pa.one(&[("time_identifier", week), NATIONAL, PRIMARY])["persistent_absence_percent"]
            .parse::<f64>()
            .unwrap()
    };
    assert!((primary_pa("Week 51") - 100.0 / 3.0).abs() < 1e-9);
    for week in ["Week 1", "Week 2", "Week 22"] {
        assert!((primary_pa(week) - 200.0 / 3.0).abs() < 1e-9, "{week}");
    }
    let all = pa.one(&[
        ("time_identifier", "Week 51"),
        NATIONAL,
        ("education_phase", "All schools"),
    ]);
    assert_eq!(all["time_period"], "2024");
    assert_eq!(all["time_frame"], "Year to date");
    check(
        &all,
        &[(
            "persistent_absence_percent",
            (100.0 / 3.0 * 4.0 + 50.0 * 2.0) / 6.0,
        )],
    );
    let w1 = pa.one(&[("time_identifier", "Week 1"), LA, SECONDARY]);
    assert_eq!(w1["time_period"], "2025");
    assert_eq!(w1["old_la_code"], "802");
    check(&w1, &[("persistent_absence_percent", 50.0)]);
    // No School rows, no Total at LA level; four weeks.
    assert!(pa.find(&[("geographic_level", "School")]).is_empty());
    assert!(
        pa.find(&[LA, ("education_phase", "All schools")])
            .is_empty()
    );
    assert_eq!(
        pa.find(&[NATIONAL, ("education_phase", "All schools")])
            .len(),
        4
    );
}

#[tokio::test]
async fn suppression_of_one_school_las_and_schools() {
    let f = loaded().await;
    let out = realtime(&f, None, true).await;
    let weekly = Output::read(&out.join("attendance_weekly.csv"));
    let week1 = ("reference_date", "2024-12-30");
    // LA 802 has one school (B): every measure `c`.
    let b = weekly.one(&[week1, LA, SECONDARY]);
    for column in [
        "num_schools",
        "possible_sessions",
        "overall_absence_perc",
        "total_enrolments",
    ] {
        assert_eq!(b[column], "c", "{column}");
    }
    assert_eq!(
        b["pa_perc"], "",
        "pa_perc stays empty in a week row, suppressed or not"
    );
    // LA 801 primary in week 1: A and C contribute (C on the Friday): shown.
    let la801 = weekly.one(&[week1, LA, PRIMARY]);
    check(&la801, &[("num_schools", 1.5), ("possible_sessions", 10.0)]);
    // ... but on Monday 30 December only A does: suppressed that day.
    let daily = Output::read(&out.join("attendance_daily.csv"));
    let monday = daily.one(&[("reference_date", "2024-12-30"), LA, PRIMARY]);
    assert_eq!(monday["possible_sessions"], "c");
    // Every School row.
    let ytd = Output::read(&out.join("attendance_ytd.csv"));
    let schools = ytd.find(&[("geographic_level", "School")]);
    assert_eq!(schools.len(), 3, "A, B and C");
    for row in &schools {
        assert_eq!(row["pa_perc"], "c");
        assert_eq!(row["enrolments"], "c");
    }
    let pa = Output::read(&out.join("persistent_absence_ytd_weekly.csv"));
    assert_eq!(
        pa.one(&[("time_identifier", "Week 1"), LA, SECONDARY])["persistent_absence_percent"],
        "c"
    );
    // National rows are never suppressed.
    check(&ytd.one(&[NATIONAL, SECONDARY]), &[("pa_perc", 50.0)]);

    // --no-suppress lifts it: LA 802 in week 1 is B's week (1 school, 1.5 enrolments).
    let open = realtime(&f, None, false).await;
    let weekly = Output::read(&open.join("attendance_weekly.csv"));
    let b = weekly.one(&[week1, LA, SECONDARY]);
    check(
        &b,
        &[
            ("num_schools", 1.0),
            ("enrolments", 1.5),
            ("total_enrolments", 2.0),
        ],
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(open.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["suppress"], false);
    assert_eq!(manifest["through"], "2025-05-27");
    assert!(manifest["table_versions"].is_object(), "{manifest}");
    assert_eq!(manifest["outputs"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn through_cuts_inside_a_week() {
    let f = loaded().await;
    // Through Thursday 2 January 2025: week 1 has only its Monday; the year to date ends with
    // week 1 (reference date Monday 30 December).
    let out = realtime(&f, Some("2025-01-02"), false).await;
    let daily = Output::read(&out.join("attendance_daily.csv"));
    assert!(daily.find(&[("reference_date", "2025-01-03")]).is_empty());
    let weekly = Output::read(&out.join("attendance_weekly.csv"));
    let week1 = weekly.one(&[("time_identifier", "Week 1"), NATIONAL, PRIMARY]);
    check(
        &week1,
        &[
            ("num_schools", 1.0),
            ("enrolments", 2.0),
            ("possible_sessions", 4.0),
        ],
    );
    // Year to date primary: 12-20 (A, C; 3 enrolments, possible 6, I 2) and 12-30 (A; 2, 4):
    // num_schools 3/2, enrolments 5/2, 2 of 10 absent; pa: A2 only (2 of 4) of 3.
    let ytd = Output::read(&out.join("attendance_ytd.csv"));
    let primary = ytd.one(&[NATIONAL, PRIMARY]);
    assert_eq!(primary["reference_date"], "2024-12-30");
    assert_eq!(primary["time_identifier"], "Week 1");
    check(
        &primary,
        &[
            ("num_schools", 1.5),
            ("enrolments", 2.5),
            ("possible_sessions", 10.0),
            ("overall_absence_perc", 20.0),
            ("pa_perc", 100.0 / 3.0),
        ],
    );
    let pa = Output::read(&out.join("persistent_absence_ytd_weekly.csv"));
    assert_eq!(
        pa.find(&[NATIONAL, ("education_phase", "All schools")])
            .len(),
        2
    );
}

/// On (a copy of) the sample store, the national rows agree with plain SQL over `registers`
/// that applies the scope independently (ages from dates of birth by date comparison, the
/// 2025 spring bank holiday as a literal, codes by category).
#[tokio::test]
async fn sample_store_national_rows_match_plain_sql() {
    let f = Fixture::new();
    copy_dir(&sample_store(), &f.data_dir());
    let out = realtime(&f, None, true).await;
    let ytd = Output::read(&out.join("attendance_ytd.csv"));
    let plain = f
        .query(
            "WITH e AS (
                SELECT p.pupil_id, p.urn, s.phase,
                       CASE WHEN p.date_of_birth IS NOT NULL
                            THEN p.date_of_birth BETWEEN DATE '2008-09-01' AND DATE '2019-08-31'
                            ELSE p.nc_year IN ('1','2','3','4','5','6','7','8','9','10','11') END AS in_age,
                       COALESCE(p.date_of_birth BETWEEN DATE '2008-09-01' AND DATE '2009-08-31',
                                p.nc_year = '11') AS aged_15
                FROM pupils p JOIN schools s ON s.urn = p.urn
                WHERE p.academic_year = '2024-25' AND s.phase <> 'alternative_provision')
             SELECT e.phase,
                    sum(CASE WHEN r.code IN ('C','C1','C2','E','I','J1','M','R','S','T','H','F',
                                             'G','N','O','U') THEN 1 ELSE 0 END) AS overall,
                    sum(CASE WHEN r.code IN ('/','\\','L','B','K','P','V','W','J','C','C1','C2','E',
                                             'I','J1','M','R','S','T','H','F','G','N','O','U')
                             THEN 1 ELSE 0 END) AS possible
             FROM registers r JOIN e ON e.pupil_id = r.pupil_id AND e.urn = r.urn
             WHERE r.academic_year = '2024-25' AND e.in_age
               AND NOT (e.aged_15 AND r.date >= DATE '2025-05-26')
             GROUP BY e.phase ORDER BY e.phase",
        )
        .await;
    let mut total = (0.0, 0.0);
    for (phase, label) in [
        ("primary", "Primary"),
        ("secondary", "Secondary"),
        ("special", "Special"),
    ] {
        let line = plain
            .lines()
            .find(|l| l.split('|').nth(1).map(str::trim) == Some(phase))
            .unwrap_or_else(|| panic!("{phase} in {plain}"));
        let cells: Vec<f64> = line
            .split('|')
            .skip(2)
            .filter_map(|c| c.trim().parse().ok())
            .collect();
        let row = ytd.one(&[NATIONAL, ("education_phase", label)]);
        check(
            &row,
            &[
                ("overall_absence", cells[0]),
                ("possible_sessions", cells[1]),
                ("overall_absence_perc", 100.0 * cells[0] / cells[1]),
            ],
        );
        total = (total.0 + cells[0], total.1 + cells[1]);
    }
    let row = ytd.one(&[NATIONAL, TOTAL]);
    check(
        &row,
        &[("overall_absence", total.0), ("possible_sessions", total.1)],
    );
}

/// The same registers give the same files, to the last digit (a Total's weighted rates do not
/// depend on the order its phases' rows arrive in).
#[tokio::test]
async fn two_runs_write_the_same_files() {
    let f = Fixture::new();
    copy_dir(&sample_store(), &f.data_dir());
    let first = realtime_into(&f, None, false, "first").await;
    let second = realtime_into(&f, None, false, "second").await;
    for file in [
        "attendance_daily.csv",
        "attendance_weekly.csv",
        "attendance_ytd.csv",
        "persistent_absence_ytd_weekly.csv",
    ] {
        assert!(
            std::fs::read(first.join(file)).unwrap() == std::fs::read(second.join(file)).unwrap(),
            "{file} differs between two runs"
        );
    }
}

fn sample_store() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("sample-data/store")
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

//! The indicators job on a hand-worked fixture: every expected figure below is derived by hand
//! from DOMAIN.md sections 2, 3 and 6, not from the engine's output.
//!
//! # The fixture (academic year 2024-25)
//! Schools: A 100001 primary, LA 801 (Bristol); B 100002 secondary, LA 802 (North Somerset);
//! C 100003 primary, LA 801, only 2 in-scope pupils (removed from every figure);
//! D 100004 alternative provision, LA 801 (out of scope). All in region E12000009 (South West).
//!
//! Four weeks of marks, ten sessions each (Monday AM to Friday PM):
//! W1 2024-09-02 (autumn), W2 2025-01-06 (spring: before Easter Sunday 20 April 2025),
//! W3 2025-05-19 and W4 2025-06-02 (summer; the spring bank holiday is Monday 26 May 2025, so
//! W4 is removed for pupils aged 15).
//!
//! Ages on 31 August 2024 (from date of birth, or NC year + 4 where it is missing):
//! | enrolment | school | NC | sex | age | flags | W1 | W2 | W3 | W4 |
//! |---|---|---|---|---|---|---|---|---|---|
//! | A1 | A | 3 | F | 7 (2016-10-01) | FSM | present | present | present | present |
//! | A2 | A | 4 | M | 8 (no dob: 4+4) | SEN K | I×4 | present | present | present |
//! | A3 | A | 5 | F | 10 | SEN E, CLA | G×10 | present | present | present |
//! | A4 | A | 6 | M | 10 (2013-09-15) | CIN | N O U L | M R S T C | E J1 C1 C2 H | B K P V W |
//! | A5 | A | 3 | F | 7 | CPP | # # D D X X Y1 Y1 Z Z | present | - - | present |
//! | A7 | A | R | F | 4 | | I×10 (out of scope: age 4) | | | |
//! | M@A | A | 7 | M | 11 | | I×2 | (moved to B) | | |
//! | M@B | B | 7 | M | 11 | | | present | O×4 | present |
//! | B1 | B | 7 | M | 11 | FSM | present | I×10 | present | present |
//! | B2 | B | 8 | F | 12 | | I×1 | present | present | present |
//! | B3 | B | 9 | M | 12 (2011-11-11) | FSM, SEN K | G×5 | G×5 | present | present |
//! | B4 | B | 10 | F | 14 (2009-09-01) | | present | present | present | U×2 |
//! | B5 | B | 11 | M | 15 (2009-06-01) | | present | present | I×6 | N×10 (removed) |
//! | B6 | B | X | F | none (X) | | O×10 (out of scope) | | | |
//! | C1, C2 | C | 4, 5 | | 8, 9 | | O×10 (school too small) | | | |
//! | D1 | D | 9 | | 13 | | U×10 (alternative provision) | | | |
//!
//! Per enrolment (possible / authorised / unauthorised), by term:
//! A1 10/0/0, 10/0/0, 20/0/0; A2 10/4/0, 10, 20; A3 10/0/10, 10, 20; A4 10/0/3, 10/5/0, 20/5/0;
//! A5 0 (all not possible), 10, 18 (two `-`); M@A 10/2/0; M@B -, 10, 20/0/4;
//! B1 10, 10/10/0, 20; B2 10/1/0, 10, 20; B3 10/0/5, 10/0/5, 20; B4 10, 10, 20/0/2;
//! B5 10, 10, 10/6/0.
//! Schools A and B each have 6 in-scope enrolments (A1-A5 and M@A; B1-B5 and M@B).

use attendance::indicators::{IndicatorOptions, run};
use attendance::ingest::IngestOptions;
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
2024-25,A1,100001,3,F,2016-10-01,true,N,false,false,false
2024-25,A2,100001,4,M,,false,K,false,false,false
2024-25,A3,100001,5,F,2014-03-01,false,E,true,false,false
2024-25,A4,100001,6,M,2013-09-15,false,N,false,true,false
2024-25,A5,100001,3,F,2017-01-01,false,N,false,false,true
2024-25,A7,100001,R,F,2020-05-01,false,N,false,false,false
2024-25,M,100001,7,M,2013-01-10,false,N,false,false,false
2024-25,M,100002,7,M,2013-01-10,false,N,false,false,false
2024-25,B1,100002,7,M,2013-05-05,true,N,false,false,false
2024-25,B2,100002,8,F,2012-02-02,false,N,false,false,false
2024-25,B3,100002,9,M,2011-11-11,true,K,false,false,false
2024-25,B4,100002,10,F,2009-09-01,false,N,false,false,false
2024-25,B5,100002,11,M,2009-06-01,false,N,false,false,false
2024-25,B6,100002,X,F,,false,N,false,false,false
2024-25,C1,100003,4,M,2016-01-01,false,N,false,false,false
2024-25,C2,100003,5,F,2015-01-01,false,N,false,false,false
2024-25,D1,100004,9,M,2011-01-01,false,N,false,false,false
";

const WEEKS: [&str; 4] = ["2024-09-02", "2025-01-06", "2025-05-19", "2025-06-02"];

/// `(pupil, urn, week, codes)`: codes for the week's ten sessions, Monday AM first; `P` is
/// present (`/` in the morning, `\` in the afternoon); fewer than ten codes are padded with `P`.
const MARKS: [(&str, i32, usize, &str); 27] = [
    ("A1", 100001, 0, ""),
    ("A1", 100001, 1, ""),
    ("A1", 100001, 2, ""),
    ("A1", 100001, 3, ""),
    ("A2", 100001, 0, "I I I I"),
    ("A2", 100001, 1, ""),
    ("A2", 100001, 2, ""),
    ("A2", 100001, 3, ""),
    ("A3", 100001, 0, "G G G G G G G G G G"),
    ("A3", 100001, 1, ""),
    ("A3", 100001, 2, ""),
    ("A3", 100001, 3, ""),
    ("A4", 100001, 0, "N O U L"),
    ("A4", 100001, 1, "M R S T C"),
    ("A4", 100001, 2, "E J1 C1 C2 H"),
    ("A4", 100001, 3, "B K P V W"),
    ("A5", 100001, 0, "# # D D X X Y1 Y1 Z Z"),
    ("A5", 100001, 1, ""),
    ("A5", 100001, 2, "- -"),
    ("A5", 100001, 3, ""),
    ("A7", 100001, 0, "I I I I I I I I I I"),
    ("M", 100001, 0, "I I"),
    ("M", 100002, 1, ""),
    ("M", 100002, 2, "O O O O"),
    ("M", 100002, 3, ""),
    ("B6", 100002, 0, "O O O O O O O O O O"),
    ("D1", 100004, 0, "U U U U U U U U U U"),
];

const MORE_MARKS: [(&str, i32, usize, &str); 18] = [
    ("B1", 100002, 0, ""),
    ("B1", 100002, 1, "I I I I I I I I I I"),
    ("B1", 100002, 2, ""),
    ("B1", 100002, 3, ""),
    ("B2", 100002, 0, "I"),
    ("B2", 100002, 1, ""),
    ("B2", 100002, 2, ""),
    ("B2", 100002, 3, ""),
    ("B3", 100002, 0, "G G G G G"),
    ("B3", 100002, 1, "G G G G G"),
    ("B4", 100002, 0, ""),
    ("B4", 100002, 1, ""),
    ("B4", 100002, 2, ""),
    ("B4", 100002, 3, "U U"),
    ("B5", 100002, 0, ""),
    ("B5", 100002, 1, ""),
    ("B5", 100002, 2, "I I I I I I"),
    ("B5", 100002, 3, "N N N N N N N N N N"),
];

/// B3's summer weeks and C's pupils, present / absent as in the table above.
const LAST_MARKS: [(&str, i32, usize, &str); 4] = [
    ("B3", 100002, 2, ""),
    ("B3", 100002, 3, ""),
    ("C1", 100003, 0, "O O O O O O O O O O"),
    ("C2", 100003, 0, "O O O O O O O O O O"),
];

fn registers_csv() -> String {
    let mut out = String::from("pupil_id,urn,date,session,code\n");
    for (pupil, urn, week, codes) in MARKS.iter().chain(&MORE_MARKS).chain(&LAST_MARKS) {
        let start = attendance::ingest::parse_date(WEEKS[*week]).unwrap();
        let mut codes: Vec<&str> = codes.split_whitespace().collect();
        codes.resize(10, "P");
        for (i, code) in codes.iter().enumerate() {
            let date = start + chrono::Days::new((i / 2) as u64);
            let session = if i % 2 == 0 { "AM" } else { "PM" };
            let code = match (*code, session) {
                ("P", "AM") => "/",
                ("P", _) => "\\",
                (c, _) => c,
            };
            out.push_str(&format!("{pupil},{urn},{date},{session},{code}\n"));
        }
    }
    out
}

async fn run_fixture(suppress: bool) -> (Fixture, std::path::PathBuf) {
    let f = Fixture::new();
    let options = IngestOptions {
        schools: vec![f.file("schools.csv", SCHOOLS)],
        pupils: vec![f.file("pupils.csv", PUPILS)],
        registers: vec![f.file("registers.csv", &registers_csv())],
        ..Default::default()
    };
    f.ingest(&options).await.expect("fixture loads");
    let out = f.dir.path().join("out");
    run(
        &f.store(),
        &IndicatorOptions {
            out: out.clone(),
            years: vec![],
            periods: vec![],
            suppress,
            parquet: false,
            session: SessionOptions::default(),
            force: false,
        },
    )
    .await
    .expect("indicators run");
    (f, out)
}

const COLUMNS: &str = "num_schools,enrolments,sess_possible,sess_overall,sess_authorised,sess_unauthorised,sess_overall_percent,sess_authorised_percent,sess_unauthorised_percent,enrolments_pa_10_exact,enrolments_pa_10_exact_percent,enrolments_pa_50_exact,enrolments_pa_50_exact_percent,sess_auth_illness,sess_auth_appointments,sess_auth_religious,sess_auth_study,sess_auth_traveller,sess_auth_holiday,sess_auth_excluded,sess_auth_other,sess_auth_interview,sess_auth_reg_performance,sess_auth_temp_reduced_timetable,sess_unauth_holiday,sess_unauth_late,sess_unauth_other,sess_unauth_noyet";

#[tokio::test]
async fn hand_worked_fixture() {
    let (_f, out) = run_fixture(false).await;
    let geo = Output::read(&out.join("absence_rates_by_geographic_level.csv"));
    assert_eq!(
        geo.header.join(","),
        format!(
            "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,old_la_code,new_la_code,la_name,education_phase,{COLUMNS}"
        )
    );
    // 5 periods x (National + Regional + 2 LAs... each LA has one phase) :
    // National and Regional: primary, secondary, Total (3 rows each); LA 801: primary + Total;
    // LA 802: secondary + Total. 10 rows a period.
    assert_eq!(geo.rows.len(), 50);

    // Academic year, England, Total: 12 enrolments in 2 schools; possible 418 (A1 40, A2 40,
    // A3 40, A4 40, A5 28, M@A 10, B1 40, B2 40, B3 40, B4 40, B5 30, M@B 30); authorised 33
    // (A2 4, A4 10, M@A 2, B1 10, B2 1, B5 6); unauthorised 29 (A3 10, A4 3, B3 10, B4 2, M@B 4).
    // PA: A2 (4/40 = 10% exactly), A3, A4, M@A, B1, B3, B5 (6/30 = 20%), M@B = 8; no SA.
    let national = geo.one(&[
        ("time_identifier", "Academic year"),
        ("geographic_level", "National"),
        ("education_phase", "Total"),
    ]);
    assert_eq!(national["time_period"], "202425");
    assert_eq!(national["country_code"], "E92000001");
    assert_eq!(national["country_name"], "England");
    assert_eq!(national["region_code"], "");
    assert_eq!(national["la_name"], "");
    check(
        &national,
        &[
            ("num_schools", 2.0),
            ("enrolments", 12.0),
            ("sess_possible", 418.0),
            ("sess_overall", 62.0),
            ("sess_authorised", 33.0),
            ("sess_unauthorised", 29.0),
            ("sess_overall_percent", 6200.0 / 418.0),
            ("sess_authorised_percent", 3300.0 / 418.0),
            ("sess_unauthorised_percent", 2900.0 / 418.0),
            ("enrolments_pa_10_exact", 8.0),
            ("enrolments_pa_10_exact_percent", 800.0 / 12.0),
            ("enrolments_pa_50_exact", 0.0),
            ("enrolments_pa_50_exact_percent", 0.0),
            // illness: A2 4 + M@A 2 + B1 10 + B2 1 + B5 6
            ("sess_auth_illness", 23.0),
            ("sess_auth_appointments", 1.0),
            ("sess_auth_religious", 1.0),
            ("sess_auth_study", 1.0),
            ("sess_auth_traveller", 1.0),
            ("sess_auth_holiday", 1.0),
            ("sess_auth_excluded", 1.0),
            ("sess_auth_other", 1.0),
            ("sess_auth_interview", 1.0),
            ("sess_auth_reg_performance", 1.0),
            ("sess_auth_temp_reduced_timetable", 1.0),
            ("sess_unauth_holiday", 20.0),
            ("sess_unauth_late", 3.0),
            ("sess_unauth_other", 5.0),
            ("sess_unauth_noyet", 1.0),
        ],
    );
    // The region holds everything: the same figures.
    let regional = geo.one(&[
        ("time_identifier", "Academic year"),
        ("geographic_level", "Regional"),
        ("education_phase", "Total"),
    ]);
    assert_eq!(regional["region_code"], "E12000009");
    assert_eq!(regional["region_name"], "South West");
    assert_eq!(regional["old_la_code"], "");
    check(
        &regional,
        &[
            ("enrolments", 12.0),
            ("sess_possible", 418.0),
            ("sess_overall", 62.0),
        ],
    );

    // LA 801, primary = school A only (C too small, D alternative provision): 6 enrolments,
    // possible 198 (A1-A4 40 each, A5 28, M@A 10), authorised 16 (A2 4, A4 10, M@A 2), unauthorised 13 (A3 10, A4 3);
    // PA A2, A3, A4, M@A.
    let la801 = geo.one(&[
        ("time_identifier", "Academic year"),
        ("old_la_code", "801"),
        ("education_phase", "State-funded primary"),
    ]);
    assert_eq!(la801["geographic_level"], "Local authority");
    assert_eq!(la801["new_la_code"], "E06000023");
    assert_eq!(la801["la_name"], "Bristol, City of");
    check(
        &la801,
        &[
            ("num_schools", 1.0),
            ("enrolments", 6.0),
            ("sess_possible", 198.0),
            ("sess_authorised", 16.0),
            ("sess_unauthorised", 13.0),
            ("sess_overall_percent", 2900.0 / 198.0),
            ("enrolments_pa_10_exact", 4.0),
            ("enrolments_pa_10_exact_percent", 400.0 / 6.0),
        ],
    );
    // LA 802, secondary = school B: possible 220 (B1-B4 40 each, B5 30, M@B 30), authorised 17
    // (B1 10, B2 1, B5 6), unauthorised 16 (B3 10, B4 2, M@B 4); PA B1, B3, B5, M@B.
    let la802 = geo.one(&[
        ("time_identifier", "Academic year"),
        ("old_la_code", "802"),
        ("education_phase", "State-funded secondary"),
    ]);
    check(
        &la802,
        &[
            ("enrolments", 6.0),
            ("sess_possible", 220.0),
            ("sess_authorised", 17.0),
            ("sess_unauthorised", 16.0),
            ("enrolments_pa_10_exact", 4.0),
        ],
    );
    // No Special row, no alternative provision anywhere.
    assert!(geo.find(&[("education_phase", "Special")]).is_empty());

    // Autumn term: A5 has no possible session, M@B no marks: 10 enrolments; possible 100;
    // authorised 7 (A2 4, M@A 2, B2 1); unauthorised 18 (A3 10, A4 3, B3 5).
    // PA: A2 40%, A3 100%, A4 30%, M@A 20%, B2 10%, B3 50% = 6; SA: A3, B3 = 2.
    let autumn = geo.one(&[
        ("time_identifier", "Autumn term"),
        ("geographic_level", "National"),
        ("education_phase", "Total"),
    ]);
    check(
        &autumn,
        &[
            ("enrolments", 10.0),
            ("sess_possible", 100.0),
            ("sess_authorised", 7.0),
            ("sess_unauthorised", 18.0),
            ("sess_overall_percent", 25.0),
            ("enrolments_pa_10_exact", 6.0),
            ("enrolments_pa_50_exact", 2.0),
            ("enrolments_pa_50_exact_percent", 20.0),
            ("sess_auth_illness", 7.0),
            ("sess_unauth_holiday", 15.0),
            ("sess_unauth_late", 1.0),
            ("sess_unauth_other", 1.0),
            ("sess_unauth_noyet", 1.0),
        ],
    );
    // Spring: 11 enrolments (M@B in, M@A out), possible 110, authorised 15 (A4 5, B1 10),
    // unauthorised 5 (B3); PA and SA: A4 5/10, B1 10/10, B3 5/10 = 3.
    let spring = geo.one(&[
        ("time_identifier", "Spring term"),
        ("geographic_level", "National"),
        ("education_phase", "Total"),
    ]);
    check(
        &spring,
        &[
            ("enrolments", 11.0),
            ("sess_possible", 110.0),
            ("sess_authorised", 15.0),
            ("sess_unauthorised", 5.0),
            ("enrolments_pa_10_exact", 3.0),
            ("enrolments_pa_50_exact", 3.0),
        ],
    );
    // Summer: B5 (15) keeps W3 only; A5 has 18 possible (two `-`). 11 enrolments,
    // possible 208 (A1-A4 20, A5 18, B1-B4 20, B5 10, M@B 20); authorised 11 (A4 5, B5 6);
    // unauthorised 6 (B4 2, M@B 4); PA: A4 25%, B4 10%, B5 60%, M@B 20% = 4; SA: B5.
    let summer = geo.one(&[
        ("time_identifier", "Summer term"),
        ("geographic_level", "National"),
        ("education_phase", "Total"),
    ]);
    check(
        &summer,
        &[
            ("enrolments", 11.0),
            ("sess_possible", 208.0),
            ("sess_authorised", 11.0),
            ("sess_unauthorised", 6.0),
            ("enrolments_pa_10_exact", 4.0),
            ("enrolments_pa_50_exact", 1.0),
            ("sess_unauth_noyet", 0.0),
        ],
    );
    // Autumn and spring: 12 enrolments, possible 210, authorised 22, unauthorised 23;
    // PA: A2 4/20, A3 10/20, A4 8/20, M@A 2/10, B1 10/20, B3 10/20 = 6; SA: A3, B1, B3 = 3.
    let autumn_spring = geo.one(&[
        ("time_identifier", "Autumn and spring term"),
        ("geographic_level", "National"),
        ("education_phase", "Total"),
    ]);
    check(
        &autumn_spring,
        &[
            ("enrolments", 12.0),
            ("sess_possible", 210.0),
            ("sess_authorised", 22.0),
            ("sess_unauthorised", 23.0),
            ("enrolments_pa_10_exact", 6.0),
            ("enrolments_pa_50_exact", 3.0),
        ],
    );

    // Schools: A and B only, one row per period with their own phase.
    let schools = Output::read(&out.join("absence_rates_by_school.csv"));
    assert_eq!(schools.rows.len(), 10);
    let a = schools.one(&[
        ("time_identifier", "Academic year"),
        ("school_urn", "100001"),
    ]);
    assert_eq!(a["geographic_level"], "School");
    assert_eq!(a["school_name"], "School A");
    assert_eq!(a["education_phase"], "State-funded primary");
    check(
        &a,
        &[
            ("num_schools", 1.0),
            ("enrolments", 6.0),
            ("sess_possible", 198.0),
        ],
    );
    assert!(
        schools.find(&[("school_urn", "100003")]).is_empty(),
        "school C is too small"
    );
    assert!(
        schools.find(&[("school_urn", "100004")]).is_empty(),
        "school D is AP"
    );

    // Characteristics, Academic year, England, Total phase.
    let chars = Output::read(&out.join("absence_by_characteristic.csv"));
    let cohort = |topic: &str, breakdown: &str| {
        chars.one(&[
            ("time_identifier", "Academic year"),
            ("geographic_level", "National"),
            ("education_phase", "Total"),
            ("breakdown_topic", topic),
            ("breakdown", breakdown),
        ])
    };
    check(
        &cohort("Total", "Total"),
        &[("enrolments", 12.0), ("sess_possible", 418.0)],
    );
    // Male: A2, A4, M@A, M@B, B1, B3, B5: possible 40+40+10+30+40+40+30 = 230, overall
    // 4+13+2+4+10+10+6 = 49, all 7 persistent.
    check(
        &cohort("Sex", "Male"),
        &[
            ("enrolments", 7.0),
            ("sess_possible", 230.0),
            ("sess_overall", 49.0),
            ("enrolments_pa_10_exact", 7.0),
        ],
    );
    check(
        &cohort("Sex", "Female"),
        // A1 40, A3 40, A5 28, B2 40, B4 40
        &[
            ("enrolments", 5.0),
            ("sess_possible", 188.0),
            ("sess_overall", 13.0),
            ("enrolments_pa_10_exact", 1.0),
        ],
    );
    // FSM: A1, B1, B3.
    check(
        &cohort("FSM", "FSM eligible"),
        &[
            ("enrolments", 3.0),
            ("sess_possible", 120.0),
            ("sess_overall", 20.0),
            ("enrolments_pa_10_exact", 2.0),
        ],
    );
    check(
        &cohort("FSM", "Not FSM eligible"),
        &[("enrolments", 9.0), ("sess_overall", 42.0)],
    );
    // SEN: A3 EHC plan; A2 and B3 SEN support.
    check(
        &cohort("SEN provision", "EHC plan"),
        &[("enrolments", 1.0), ("sess_overall", 10.0)],
    );
    check(
        &cohort("SEN provision", "SEN support"),
        &[
            ("enrolments", 2.0),
            ("sess_possible", 80.0),
            ("sess_overall", 14.0),
            ("enrolments_pa_10_exact", 2.0),
        ],
    );
    check(
        &cohort("SEN provision", "No SEN"),
        &[("enrolments", 9.0), ("enrolments_pa_10_exact", 5.0)],
    );
    check(
        &cohort("Looked after", "Looked after"),
        &[("enrolments", 1.0), ("enrolments_pa_10_exact", 1.0)],
    );
    // CIN or CPP: A4 (CIN), A5 (CPP): possible 40 + 28, overall 13.
    check(
        &cohort("CIN or CPP", "CIN or CPP"),
        &[
            ("enrolments", 2.0),
            ("sess_possible", 68.0),
            ("sess_overall", 13.0),
            ("enrolments_pa_10_exact", 1.0),
        ],
    );
    // Key stages: KS2 = A1-A5; KS3 = M@A, M@B, B1, B2, B3 (2 schools); KS4 = B4, B5.
    check(
        &cohort("Key stage", "KS2"),
        &[
            ("num_schools", 1.0),
            ("enrolments", 5.0),
            ("sess_possible", 188.0),
            ("sess_overall", 27.0),
            ("enrolments_pa_10_exact", 3.0),
        ],
    );
    check(
        &cohort("Key stage", "KS3"),
        &[
            ("num_schools", 2.0),
            ("enrolments", 5.0),
            ("sess_possible", 160.0),
            ("sess_overall", 27.0),
            ("enrolments_pa_10_exact", 4.0),
        ],
    );
    check(
        &cohort("Key stage", "KS4"),
        &[
            ("enrolments", 2.0),
            ("sess_possible", 70.0),
            ("sess_overall", 8.0),
            ("enrolments_pa_10_exact", 1.0),
        ],
    );
    assert!(
        chars.find(&[("breakdown", "KS1")]).is_empty(),
        "no KS1 pupils"
    );
    check(
        &cohort("NC year", "Year 3"),
        &[("enrolments", 2.0), ("sess_possible", 68.0)],
    );
    check(
        &cohort("NC year", "Year 7"),
        &[("enrolments", 3.0), ("num_schools", 2.0)],
    );
    assert!(chars.find(&[("breakdown", "Year R")]).is_empty());
    assert!(
        chars
            .find(&[("geographic_level", "Local authority")])
            .is_empty()
    );

    // Bands, Academic year, England, Total: not PA A1, A5, B2, B4 (4); 80-90% A2 (10%),
    // M@A (20%), B5 (20%), M@B (13.3%) (4); 70-80% A3, B1, B3 (25% each) (3); 60-70% A4 (32.5%).
    let bands = Output::read(&out.join("attendance_bands.csv"));
    assert_eq!(
        bands.header.join(","),
        "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,old_la_code,new_la_code,la_name,education_phase,breakdown_topic,breakdown,band,enrolments,enrolments_percent"
    );
    let band = |b: &str| {
        bands.find(&[
            ("time_identifier", "Academic year"),
            ("geographic_level", "National"),
            ("education_phase", "Total"),
            ("breakdown_topic", "Total"),
            ("band", b),
        ])
    };
    check(
        &band("not persistently absent")[0],
        &[("enrolments", 4.0), ("enrolments_percent", 400.0 / 12.0)],
    );
    check(
        &band("80% to 90% attendance")[0],
        &[("enrolments", 4.0), ("enrolments_percent", 400.0 / 12.0)],
    );
    check(
        &band("70% to 80% attendance")[0],
        &[("enrolments", 3.0), ("enrolments_percent", 25.0)],
    );
    check(
        &band("60% to 70% attendance")[0],
        &[("enrolments", 1.0), ("enrolments_percent", 100.0 / 12.0)],
    );
    assert!(
        band("50% to 60% attendance").is_empty(),
        "no rows for empty bands"
    );
    assert!(band("severe: 50% or less attendance").is_empty());
    // Autumn has severe absentees: A3 (100%) and B3 (50% exactly).
    let autumn_severe = bands.one(&[
        ("time_identifier", "Autumn term"),
        ("geographic_level", "National"),
        ("education_phase", "Total"),
        ("breakdown_topic", "Total"),
        ("band", "severe: 50% or less attendance"),
    ]);
    check(
        &autumn_severe,
        &[("enrolments", 2.0), ("enrolments_percent", 20.0)],
    );
    // LA 801 primary, year: A1 and A5 not persistently absent.
    let la_band = bands.one(&[
        ("time_identifier", "Academic year"),
        ("old_la_code", "801"),
        ("education_phase", "State-funded primary"),
        ("breakdown_topic", "Total"),
        ("band", "not persistently absent"),
    ]);
    assert_eq!(la_band["geographic_level"], "Local authority");
    check(
        &la_band,
        &[("enrolments", 2.0), ("enrolments_percent", 200.0 / 6.0)],
    );
}

#[tokio::test]
async fn suppression_hides_small_and_school_rows() {
    let (_f, out) = run_fixture(true).await;
    let schools = Output::read(&out.join("absence_rates_by_school.csv"));
    let a = schools.one(&[
        ("time_identifier", "Academic year"),
        ("school_urn", "100001"),
    ]);
    assert_eq!(a["school_name"], "School A");
    for column in COLUMNS.split(',') {
        assert_eq!(a[column], "c", "{column} of a school row is suppressed");
    }
    let bands = Output::read(&out.join("attendance_bands.csv"));
    // LA 801 primary, year, not persistently absent: 2 enrolments -> suppressed.
    let small = bands.one(&[
        ("time_identifier", "Academic year"),
        ("old_la_code", "801"),
        ("education_phase", "State-funded primary"),
        ("breakdown_topic", "Total"),
        ("band", "not persistently absent"),
    ]);
    assert_eq!(
        (
            small["enrolments"].as_str(),
            small["enrolments_percent"].as_str()
        ),
        ("c", "c")
    );
    // National rows are never suppressed, even with 1 enrolment (60-70% band).
    let national = bands.one(&[
        ("time_identifier", "Academic year"),
        ("geographic_level", "National"),
        ("education_phase", "Total"),
        ("breakdown_topic", "Total"),
        ("band", "60% to 70% attendance"),
    ]);
    assert_eq!(national["enrolments"], "1");
    // LA rows of the geographic file have 6 enrolments: shown.
    let geo = Output::read(&out.join("absence_rates_by_geographic_level.csv"));
    let la = geo.one(&[
        ("time_identifier", "Academic year"),
        ("old_la_code", "801"),
        ("education_phase", "Total"),
    ]);
    assert_eq!(la["enrolments"], "6");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["outputs"].as_array().unwrap().len(), 4);
    assert!(manifest["table_versions"]["registers"].is_number());
    assert_eq!(manifest["academic_years"][0], "2024-25");
}

//! The workload queries (`queries/workload/`) on the shared fixture, whose answers are worked by
//! hand (see `common.rs`): P1 (Alpha Primary, LA 801, NC 3, age 7) `/` and `\`; P2 (Alpha, NC 3,
//! no date of birth so age 7) `N` and `I`; P3 (Beta Academy, LA 802, secondary, NC 9, age 13,
//! EHC plan, CIN, girl) `L` and `-`. All on Monday 2 September 2024, all in the headline scope,
//! so the `enrolment_summary` forms (W1s ... W5s) give the same answers as the `registers` ones.
//!
//! Per enrolment: P1 possible 2, absent 0; P2 possible 2, authorised 1, unauthorised 1 (100%
//! absent: persistent and severe); P3 possible 1 (`-` counts in nothing), absent 0.

use attendance::cli::bench::{WORKLOAD, with_parameters};
use datafusion::arrow::util::display::array_value_to_string;

use crate::common::*;

async fn rows(f: &Fixture, id: &str) -> Vec<Vec<String>> {
    let (_, sql) = WORKLOAD.iter().find(|(i, _)| *i == id).expect(id);
    let sql = with_parameters(sql, 100001, "P1");
    let (ctx, _) = attendance::session::session(&f.store(), &Default::default())
        .await
        .unwrap();
    let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    let mut out = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            out.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| array_value_to_string(c, row).unwrap())
                    .collect(),
            );
        }
    }
    out
}

/// Compares a result row with the expected cells; numbers to 1e-9.
fn assert_row(got: &[String], want: &[&str], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?}");
    for (g, w) in got.iter().zip(want) {
        match (g.parse::<f64>(), w.parse::<f64>()) {
            (Ok(g), Ok(w)) => assert!((g - w).abs() < 1e-9, "{what}: {got:?} vs {want:?}"),
            _ => assert_eq!(g, w, "{what}: {got:?} vs {want:?}"),
        }
    }
}

const THIRD: &str = "33.333333333333336";

#[tokio::test]
async fn headline_by_geography() {
    let f = Fixture::loaded().await;
    for id in ["W1", "W1s"] {
        let r = rows(&f, id).await;
        assert_eq!(r.len(), 1, "{id}");
        assert_row(&r[0], &["5", "40", "20", "20", THIRD, THIRD], id);
    }
    for id in ["W2", "W2s"] {
        let r = rows(&f, id).await;
        assert_eq!(r.len(), 2, "{id}: {r:?}");
        assert_row(
            &r[0],
            &["E12000009", "primary", "4", "50", "25", "25", "50", "50"],
            id,
        );
        assert_row(
            &r[1],
            &["E12000009", "secondary", "1", "0", "0", "0", "0", "0"],
            id,
        );
    }
    for id in ["W3", "W3s"] {
        let r = rows(&f, id).await;
        assert_eq!(r.len(), 2, "{id}: {r:?}");
        assert_row(
            &r[0],
            &[
                "801",
                "Bristol, City of",
                "primary",
                "4",
                "50",
                "25",
                "25",
                "50",
                "50",
            ],
            id,
        );
        assert_row(
            &r[1],
            &[
                "802",
                "North Somerset",
                "secondary",
                "1",
                "0",
                "0",
                "0",
                "0",
                "0",
            ],
            id,
        );
    }
}

#[tokio::test]
async fn headline_by_year_group_and_bands() {
    let f = Fixture::loaded().await;
    for id in ["W4", "W4s"] {
        let r = rows(&f, id).await;
        assert_eq!(r.len(), 4, "{id}: {r:?}");
        let half = ["4", "50", "25", "25", "50", "50"];
        let none = ["1", "0", "0", "0", "0", "0"];
        for (row, (breakdown, cohort, values)) in r.iter().zip([
            ("Key stage", "KS2", half),
            ("Key stage", "KS3", none),
            ("NC year", "3", half),
            ("NC year", "9", none),
        ]) {
            let want: Vec<&str> = [breakdown, cohort].into_iter().chain(values).collect();
            assert_row(row, &want, id);
        }
    }
    for id in ["W5", "W5s"] {
        let r = rows(&f, id).await;
        let band = "not persistently absent";
        let want = [
            ["All pupils", band, "1", "100"],
            ["CIN or CPP", band, "1", "100"],
            ["EHC plan", band, "1", "100"],
            ["Girls", band, "1", "100"],
        ];
        assert_eq!(r.len(), want.len(), "{id}: {r:?}");
        for (row, want) in r.iter().zip(want) {
            assert_row(row, &want, id);
        }
    }
}

#[tokio::test]
async fn daily_weekly_and_one_pupil() {
    let f = Fixture::loaded().await;
    // W6 is for Yorkshire and The Humber: the fixture has no school there.
    assert!(rows(&f, "W6").await.is_empty());
    // W7, Alpha Primary: 2 of 4 possible sessions attended on 2 September.
    let r = rows(&f, "W7").await;
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0][0], "2024-09-02");
    assert_eq!(r[0].last().unwrap().parse::<f64>().unwrap(), 50.0);
    // W8, P1's marks: AM then PM.
    let r = rows(&f, "W8").await;
    let codes: Vec<&str> = r.iter().map(|row| row[2].as_str()).collect();
    assert_eq!(codes, ["/", "\\"], "{r:?}");
}

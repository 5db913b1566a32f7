//! The enrolment summary is never stale: it is computed live until `summarise` materialises it,
//! and again as soon as the registers change.

use attendance::generate::GenerateConfig;
use attendance::generate::store::{Selection, generate_store};
use attendance::ingest::IngestOptions;
use attendance::session::{SessionOptions, session};
use attendance::store::Store;
use attendance::summary::{SummaryState, summarise, summarise_in_chunks};

use crate::common::*;

const SUMMARY: &str = "SELECT term, urn, pupil_id, possible, present, authorised, unauthorised, \
                       overall, sess_auth_illness, sess_unauth_noyet FROM enrolment_summary \
                       ORDER BY urn, pupil_id, term";

async fn state(f: &Fixture) -> SummaryState {
    session(&f.store(), &SessionOptions::default())
        .await
        .unwrap()
        .1
        .summary
}

#[tokio::test]
async fn summary_is_rebuilt_or_computed_live() {
    let f = Fixture::loaded().await;
    assert_eq!(state(&f).await, SummaryState::Live, "never built");
    let live = f.query(SUMMARY).await;
    // P1 (age 7): two present marks; P2 (no date of birth, NC year 3: age 7): N and I;
    // P3 (age 13): L and `-` (counts in nothing): possible 1.
    assert!(live.contains("| autumn | 100001 | P1       | 2        | 2       | 0          | 0            | 0       | 0                 | 0                 |"), "{live}");
    assert!(live.contains("| autumn | 100001 | P2       | 2        | 0       | 1          | 1            | 2       | 1                 | 1                 |"), "{live}");
    assert!(live.contains("| autumn | 100002 | P3       | 1        | 1       | 0          | 0            | 0       | 0                 | 0                 |"), "{live}");

    let report = summarise(&f.store(), &SessionOptions::default(), false)
        .await
        .unwrap();
    assert!(report.rebuilt);
    assert_eq!(report.rows, 3);
    assert_eq!(state(&f).await, SummaryState::Fresh);
    assert_eq!(
        f.query(SUMMARY).await,
        live,
        "the table holds what the live view computed"
    );
    assert!(
        !summarise(&f.store(), &SessionOptions::default(), false)
            .await
            .unwrap()
            .rebuilt
    );

    // New marks: the materialised table is out of date and is not used.
    let more = f.file(
        "more.csv",
        "pupil_id,urn,date,session,code\nP1,100001,2024-09-03,AM,I\n",
    );
    f.ingest(&IngestOptions {
        registers: vec![more],
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(state(&f).await, SummaryState::Live);
    let after = f.query(SUMMARY).await;
    assert!(after.contains("| autumn | 100001 | P1       | 3        | 2       | 1          | 0            | 1       | 1                 | 0                 |"), "{after}");
}

/// Built in many chunks of schools, the table holds exactly the rows the single live query
/// computes: every enrolment once, none lost at a chunk boundary.
#[tokio::test]
async fn chunked_build_equals_the_live_summary() {
    let f = Fixture::new();
    let store = Store::new(f.data_dir());
    let config = GenerateConfig {
        pupils: 3_000,
        seed: 5,
        academic_year: 2024,
    };
    let selection = Selection::new(&config, &[]).unwrap();
    generate_store(
        &store,
        &selection,
        &SessionOptions::default(),
        &attendance::progress::silent(),
        false,
    )
    .await
    .unwrap();
    let all = "SELECT * FROM enrolment_summary ORDER BY academic_year, urn, pupil_id, term";
    let totals = "SELECT count(*), count(DISTINCT urn), sum(possible), sum(overall), \
                  sum(sess_unauth_noyet) FROM enrolment_summary";
    assert_eq!(state_of(&store).await, SummaryState::Live);
    let (live, live_totals) = (
        query_store(&store, all).await,
        query_store(&store, totals).await,
    );

    let report = summarise_in_chunks(&store, &SessionOptions::default(), true, 150)
        .await
        .unwrap();
    assert!(report.chunks >= 10, "{} chunks", report.chunks);
    assert_eq!(state_of(&store).await, SummaryState::Fresh);
    assert_eq!(query_store(&store, totals).await, live_totals);
    assert!(
        query_store(&store, all).await == live,
        "chunked build differs from the live view"
    );
}

/// Generating into a store that has data replaces it, in one commit per table: the registers
/// then hold exactly the new marks.
#[tokio::test]
async fn generating_again_replaces_the_registers() {
    let f = Fixture::new();
    let store = Store::new(f.data_dir());
    let mut marks = Vec::new();
    for (seed, pupils) in [(1, 1_500), (2, 1_000)] {
        let config = GenerateConfig {
            pupils,
            seed,
            academic_year: 2024,
        };
        let selection = Selection::new(&config, &[]).unwrap();
        // The second run replaces the first's data (`--force`).
        let report = generate_store(
            &store,
            &selection,
            &SessionOptions::default(),
            &attendance::progress::silent(),
            true,
        )
        .await
        .unwrap();
        marks.push(report.marks);
    }
    assert_ne!(marks[0], marks[1]);
    let count = query_store(&store, "SELECT count(*) AS n FROM registers").await;
    assert!(
        count.contains(&format!("| {} ", marks[1])),
        "{count} vs {marks:?}"
    );
}

async fn state_of(store: &Store) -> SummaryState {
    session(store, &SessionOptions::default())
        .await
        .unwrap()
        .1
        .summary
}

/// A store moved to another directory (or copied, or cloned with the repository) keeps its
/// summary fresh: what the summary records of its sources does not depend on where they are.
#[tokio::test]
async fn a_moved_store_keeps_its_summary_fresh() {
    let f = Fixture::loaded().await;
    summarise(&f.store(), &SessionOptions::default(), false)
        .await
        .unwrap();
    assert_eq!(state(&f).await, SummaryState::Fresh);
    let moved = f.dir.path().join("elsewhere");
    std::fs::rename(f.data_dir(), &moved).unwrap();
    assert_eq!(state_of(&Store::new(moved)).await, SummaryState::Fresh);
}

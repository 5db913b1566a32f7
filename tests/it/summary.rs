//! The enrolment summary is never stale: it is computed live until `summarise` materialises it,
//! and again as soon as the registers change.

use attendance::ingest::IngestOptions;
use attendance::session::{SessionOptions, session};
use attendance::summary::{SummaryState, summarise};

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

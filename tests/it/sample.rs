//! The bundled sample: its input files load into exactly the rows of the committed store, and
//! the main job runs on it.

use std::path::PathBuf;

use attendance::ingest::IngestOptions;
use attendance::store::Store;

use crate::common::*;

fn sample() -> PathBuf {
    // Where cargo runs the tests from, not where they were compiled: a shared target directory
    // can hold a binary built from another clone of the repository.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("sample-data")
}

const TABLES: [&str; 3] = [
    "SELECT * FROM schools ORDER BY urn",
    "SELECT * FROM pupils ORDER BY academic_year, urn, pupil_id",
    "SELECT * FROM registers ORDER BY urn, pupil_id, date, session",
];

#[tokio::test]
async fn inputs_reload_into_the_committed_store() {
    let f = Fixture::new();
    let options = IngestOptions {
        schools: vec![sample().join("schools.csv")],
        pupils: vec![sample().join("pupils.csv")],
        registers: vec![sample().join("registers")],
        ..Default::default()
    };
    let summary = f.ingest(&options).await.expect("sample loads");
    assert_eq!(summary.registers.files_loaded, 2);
    let committed = Store::open_existing(sample().join("store")).expect("committed store");
    for sql in TABLES {
        assert_eq!(
            query_store(&f.store(), sql).await,
            query_store(&committed, sql).await,
            "{sql}"
        );
    }
    // The description in the README holds: 2 LAs in 2 regions, schools of every phase,
    // 1,000 to 2,000 pupils.
    let shape = query_store(
        &committed,
        "SELECT count(DISTINCT old_la_code) AS las, count(DISTINCT region_code) AS regions, \
         count(DISTINCT phase) AS phases FROM schools",
    )
    .await;
    assert!(shape.contains("| 2   | 2       | 4      |"), "{shape}");
    let pupils = query_store(
        &committed,
        "SELECT count(DISTINCT pupil_id) AS n FROM pupils",
    )
    .await;
    let n: usize = pupils
        .lines()
        .nth(3)
        .unwrap()
        .trim_matches(|c| c == '|' || c == ' ')
        .parse()
        .unwrap();
    assert!((1000..=2000).contains(&n), "{n} pupils");
}

//! The daily feed keeps the enrolment summary fresh incrementally (issue #12 item 2): a day's
//! load or a correction updates it from the registers files that changed, and the result is
//! always what the summary's SQL computes from every mark.

use std::path::PathBuf;

use attendance::generate::store::Selection;
use attendance::generate::{GenerateConfig, plan};
use attendance::ingest::IngestOptions;
use attendance::session::{SessionOptions, session};
use attendance::store::Store;
use attendance::summary::{SUMMARY_SQL, SummariseReport, SummaryMode, SummaryState, summarise};
use datafusion::arrow::util::pretty::pretty_format_batches;

use crate::common::*;

const COLUMNS: &str = "term, urn, pupil_id, possible, present, authorised, unauthorised, \
                       overall, sess_auth_illness, sess_unauth_noyet";

async fn update(store: &Store) -> SummariseReport {
    summarise(store, &SessionOptions::default(), false)
        .await
        .unwrap()
}

/// `columns` of the session's `enrolment_summary` (the table when fresh, else the live view)
/// and of the summary's SQL computed live from every mark, with how the session registered it.
pub async fn read_and_live(store: &Store, columns: &str) -> (SummaryState, String, String) {
    let (ctx, info) = session(store, &SessionOptions::default()).await.unwrap();
    ctx.register_table(
        "summary_live",
        ctx.sql(&SUMMARY_SQL).await.unwrap().into_view(),
    )
    .unwrap();
    let mut out = Vec::new();
    for table in ["enrolment_summary", "summary_live"] {
        let sql =
            format!("SELECT {columns} FROM {table} ORDER BY academic_year, urn, pupil_id, term");
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        out.push(pretty_format_batches(&batches).unwrap().to_string());
    }
    (info.summary, out.remove(0), out.remove(0))
}

/// [`read_and_live`] of a summary that must be up to date.
async fn stored_and_live(store: &Store, columns: &str) -> (String, String) {
    let (state, stored, live) = read_and_live(store, columns).await;
    assert_eq!(state, SummaryState::Fresh, "the summary is up to date");
    (stored, live)
}

/// The summary's rows (the hand-worked columns), checked to equal the live computation.
async fn summary_rows(store: &Store) -> String {
    let (stored, live) = stored_and_live(store, COLUMNS).await;
    assert_eq!(
        stored, live,
        "the updated summary differs from the live one"
    );
    stored
}

fn registers_only(path: PathBuf, update: bool) -> IngestOptions {
    IngestOptions {
        registers: vec![path],
        update,
        ..Default::default()
    }
}

/// A new day, then two corrections, each applied incrementally. Fixture: P1 (age 7) and P2
/// (age 7) at 100001 in LA 801, P3 (age 13) at 100002 in LA 802; day 1 (2 September 2024):
/// P1 `/` `\`, P2 `N` `I`, P3 `L` `-`.
#[tokio::test]
async fn days_and_corrections_update_the_summary() {
    let f = Fixture::loaded().await;
    let store = f.store();
    assert_eq!(update(&store).await.mode, SummaryMode::Full, "never built");

    // Day 2: P1 I (authorised, illness) and `/`; P3 N (unauthorised, no reason yet).
    // P1: possible 2+2 = 4, present 2+1 = 3, authorised 1, overall 1, illness 1.
    // P3: possible 1+1 = 2 (`-` counts in nothing), present 1, unauthorised 1, overall 1, noyet 1.
    let day2 = f.file(
        "day2.csv",
        "pupil_id,urn,date,session,code\n\
         P1,100001,2024-09-03,AM,I\nP1,100001,2024-09-03,PM,/\nP3,100002,2024-09-03,AM,N\n",
    );
    f.ingest(&registers_only(day2, false)).await.unwrap();
    let report = update(&store).await;
    assert_eq!(report.mode, SummaryMode::Incremental);
    // One new file in each of the two LAs' partitions; nothing removed.
    assert_eq!(report.registers_files_read, 2);
    let rows = summary_rows(&store).await;
    for row in [
        "| autumn | 100001 | P1       | 4        | 3       | 1          | 0            | 1       | 1                 | 0                 |",
        "| autumn | 100001 | P2       | 2        | 0       | 1          | 1            | 2       | 1                 | 1                 |",
        "| autumn | 100002 | P3       | 2        | 1       | 0          | 1            | 1       | 0                 | 1                 |",
    ] {
        assert!(rows.contains(row), "{row}\n{rows}");
    }

    // A correction: P2's N of day 1 becomes I. LA 801's partition is rewritten (its two files
    // removed, one added), so P1's marks leave and come back: P1 is unchanged and P2 has
    // authorised 2, unauthorised 0, illness 2, noyet 0.
    let fix = f.file(
        "fix.csv",
        "pupil_id,urn,date,session,code\nP2,100001,2024-09-02,AM,I\n",
    );
    f.ingest(&registers_only(fix, true)).await.unwrap();
    let report = update(&store).await;
    assert_eq!(report.mode, SummaryMode::Incremental);
    assert_eq!(report.registers_files_read, 3);
    let rows = summary_rows(&store).await;
    for row in [
        "| autumn | 100001 | P1       | 4        | 3       | 1          | 0            | 1       | 1                 | 0                 |",
        "| autumn | 100001 | P2       | 2        | 0       | 2          | 0            | 2       | 2                 | 0                 |",
    ] {
        assert!(rows.contains(row), "{row}\n{rows}");
    }

    // P3's only possible marks (L, N) corrected to `#` (planned closure, not possible): the
    // enrolment-term has no possible session and leaves the summary.
    let closed = f.file(
        "closed.csv",
        "pupil_id,urn,date,session,code\n\
         P3,100002,2024-09-02,AM,#\nP3,100002,2024-09-03,AM,#\n",
    );
    f.ingest(&registers_only(closed, true)).await.unwrap();
    assert_eq!(update(&store).await.mode, SummaryMode::Incremental);
    let rows = summary_rows(&store).await;
    assert!(!rows.contains("P3"), "{rows}");
    assert!(rows.contains("P1") && rows.contains("P2"), "{rows}");

    // Nothing changed since: nothing to do.
    assert_eq!(update(&store).await.mode, SummaryMode::Fresh);
}

/// A pupil aged 15 (born 15 January 2009: 15 on 31 August 2024) has no marks counted from the
/// spring bank holiday (26 May 2025, the last Monday of May) on, whichever day's load brings
/// them. P1 (age 7) is counted on both days.
#[tokio::test]
async fn a_15_year_old_is_not_counted_after_the_spring_bank_holiday() {
    let f = Fixture::new();
    let pupils = format!("{PUPILS}2024-25,P4,100002,11,M,2009-01-15,false,N,false,false,false\n");
    let friday = f.file(
        "friday.csv",
        "pupil_id,urn,date,session,code\n\
         P1,100001,2025-05-23,AM,/\nP4,100002,2025-05-23,AM,/\nP4,100002,2025-05-23,PM,O\n",
    );
    f.ingest(&IngestOptions {
        schools: vec![f.file("schools.csv", SCHOOLS)],
        pupils: vec![f.file("pupils.csv", &pupils)],
        registers: vec![friday],
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(update(&f.store()).await.mode, SummaryMode::Full);
    // 2 June 2025, after the holiday: P4's O and O are out; P1's `/` is in.
    let monday = f.file(
        "monday.csv",
        "pupil_id,urn,date,session,code\n\
         P1,100001,2025-06-02,AM,/\nP4,100002,2025-06-02,AM,O\nP4,100002,2025-06-02,PM,O\n",
    );
    f.ingest(&registers_only(monday, false)).await.unwrap();
    assert_eq!(update(&f.store()).await.mode, SummaryMode::Incremental);
    let rows = summary_rows(&f.store()).await;
    // P1: possible 2, present 2. P4: the Friday only: possible 2, present 1, unauthorised 1.
    for row in [
        "| summer | 100001 | P1       | 2        | 2       | 0          | 0            | 0       | 0                 | 0                 |",
        "| summer | 100002 | P4       | 2        | 1       | 0          | 1            | 1       | 0                 | 0                 |",
    ] {
        assert!(rows.contains(row), "{row}\n{rows}");
    }
}

/// When the update cannot be trusted, the summary is built in full: pupils changed (their
/// scope and descriptions come from `pupils`), or a file removed since the last update was
/// deleted by a vacuum.
#[tokio::test]
async fn changed_pupils_or_vacuumed_files_mean_a_full_build() {
    let f = Fixture::loaded().await;
    let store = f.store();
    update(&store).await;
    // P2 gets a date of birth making them 4 (out of scope).
    let pupils = PUPILS.replace("P2,100001,3,M,,", "P2,100001,3,M,2020-01-01,");
    f.ingest(&IngestOptions {
        pupils: vec![f.file("pupils2.csv", &pupils)],
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(update(&store).await.mode, SummaryMode::Full);
    assert!(!summary_rows(&store).await.contains("P2"));

    // A correction not summarised, then a vacuum deleting the files it replaced.
    let fix = f.file(
        "fix.csv",
        "pupil_id,urn,date,session,code\nP1,100001,2024-09-02,AM,N\n",
    );
    f.ingest(&registers_only(fix, true)).await.unwrap();
    store.vacuum(chrono::Duration::zero(), false).await.unwrap();
    let report = update(&store).await;
    assert_eq!(report.mode, SummaryMode::Full);
    assert!(
        summary_rows(&store)
            .await
            .contains("| autumn | 100001 | P1       | 2        | 1       | 0          | 1            | 1       | 0                 | 1                 |")
    );
}

/// A fortnight of a generated year's day files, loaded day by day with the summary updated
/// after each (every update incremental), then a correction of marks at one LA's schools:
/// the summary equals, row for row and column for column, the one built by a single load of
/// the same files.
#[tokio::test]
async fn replaying_days_with_a_correction_equals_one_load() {
    let f = Fixture::new();
    let mut dataset = plan(&GenerateConfig {
        pupils: 1_500,
        seed: 11,
        academic_year: 2024,
    });
    dataset
        .cut_at(chrono::NaiveDate::from_ymd_opt(2024, 9, 13).unwrap())
        .unwrap();
    let selection = Selection::of(dataset, &[]).unwrap();
    let daily = f.dir.path().join("daily");
    selection
        .write_daily(&daily, &attendance::progress::silent())
        .unwrap();
    let mut days: Vec<PathBuf> = std::fs::read_dir(&daily)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("registers-")
        })
        .collect();
    days.sort();
    assert!(days.len() >= 8, "{days:?}");
    let correction = correction_of(&f, &daily, &days);

    let replayed = Store::new(f.dir.path().join("replayed"));
    for (k, day) in days.iter().enumerate() {
        let mut options = registers_only(day.clone(), false);
        if k == 0 {
            options.schools = vec![daily.join("schools.csv")];
            options.pupils = vec![daily.join("pupils.csv")];
        }
        attendance::ingest::ingest(&replayed, &options)
            .await
            .unwrap();
        let mode = update(&replayed).await.mode;
        let expected = if k == 0 {
            SummaryMode::Full
        } else {
            SummaryMode::Incremental
        };
        assert_eq!(mode, expected, "day {k}");
    }
    attendance::ingest::ingest(&replayed, &registers_only(correction.clone(), true))
        .await
        .unwrap();
    assert_eq!(update(&replayed).await.mode, SummaryMode::Incremental);

    let single = Store::new(f.dir.path().join("single"));
    attendance::ingest::ingest(
        &single,
        &IngestOptions {
            schools: vec![daily.join("schools.csv")],
            pupils: vec![daily.join("pupils.csv")],
            registers: days.clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    attendance::ingest::ingest(&single, &registers_only(correction, true))
        .await
        .unwrap();
    assert_eq!(update(&single).await.mode, SummaryMode::Full);

    let (replayed_rows, replayed_live) = stored_and_live(&replayed, "*").await;
    let (single_rows, _) = stored_and_live(&single, "*").await;
    assert!(
        replayed_rows == replayed_live,
        "replayed summary differs from its live view"
    );
    assert!(
        replayed_rows == single_rows,
        "replayed summary differs from one load"
    );
    assert!(
        replayed_rows.lines().count() > 1_000,
        "{}",
        replayed_rows.lines().count()
    );
}

/// Every third mark of the first three days at the schools of one LA (the first school's), its
/// code changed (`/` or `\\` to `I`, anything else to present): a correction file over many
/// schools and pupils. (A correction in every LA replaces every registers file, and the
/// summary is then rebuilt rather than updated.)
fn correction_of(f: &Fixture, daily: &std::path::Path, days: &[PathBuf]) -> PathBuf {
    let mut schools = csv::Reader::from_path(daily.join("schools.csv")).unwrap();
    let header = schools.headers().unwrap().clone();
    let (urn, la) = (
        header.iter().position(|h| h == "urn").unwrap(),
        header.iter().position(|h| h == "old_la_code").unwrap(),
    );
    let rows: Vec<csv::StringRecord> = schools.records().map(|r| r.unwrap()).collect();
    let first_la = rows[0][la].to_string();
    let urns: std::collections::HashSet<String> = rows
        .iter()
        .filter(|r| r[la] == first_la)
        .map(|r| r[urn].to_string())
        .collect();
    let mut out = String::from("pupil_id,urn,date,session,code\n");
    let mut n = 0;
    for day in &days[..3] {
        let mut reader = csv::Reader::from_path(day).unwrap();
        for (i, record) in reader.records().enumerate() {
            let r = record.unwrap();
            if i % 3 == 0 && urns.contains(&r[1]) {
                let code = match (&r[4], &r[3]) {
                    ("/" | "\\", _) => "I",
                    (_, "AM") => "/",
                    _ => "\\",
                };
                out.push_str(&format!("{},{},{},{},{code}\n", &r[0], &r[1], &r[2], &r[3]));
                n += 1;
            }
        }
    }
    assert!(n > 10, "{n} corrections");
    f.file("correction.csv", &out)
}

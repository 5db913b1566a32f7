//! An ingest killed with SIGKILL at any moment leaves every table at its old or its new version,
//! and running the same ingest again completes it.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_attendance");

/// Marks for `pupils` pupils over `days` weekdays from Monday 2 September 2024, all present
/// except one session in seven (`I`); a pupil's marks on a day do not depend on `days`, so a
/// longer file repeats a shorter one's marks exactly.
fn registers(pupils: usize, days: usize) -> (String, usize) {
    let mut csv = String::from("pupil_id,urn,date,session,code\n");
    let start = attendance::ingest::parse_date("2024-09-02").unwrap();
    let mut n = 0;
    for p in 0..pupils {
        let urn = if p % 2 == 0 { 100001 } else { 100002 };
        let mut date = start;
        let mut weekdays = 0;
        while weekdays < days {
            if !matches!(
                chrono::Datelike::weekday(&date),
                chrono::Weekday::Sat | chrono::Weekday::Sun
            ) {
                for (s, session) in ["AM", "PM"].into_iter().enumerate() {
                    let code = if (p + 2 * weekdays + s) % 7 == 0 {
                        "I"
                    } else if session == "AM" {
                        "/"
                    } else {
                        "\\"
                    };
                    csv.push_str(&format!("K{p},{urn},{date},{session},{code}\n"));
                    n += 1;
                }
                weekdays += 1;
            }
            date = date.succ_opt().unwrap();
        }
    }
    (csv, n)
}

fn pupils(pupils: usize) -> String {
    let mut csv =
        String::from("academic_year,pupil_id,urn,nc_year,sex,date_of_birth,fsm,sen,cla,cin,cpp\n");
    for p in 0..pupils {
        let urn = if p % 2 == 0 { 100001 } else { 100002 };
        csv.push_str(&format!(
            "2024-25,K{p},{urn},5,M,,false,N,false,false,false\n"
        ));
    }
    csv
}

/// The marks of [`registers`] split by school, each file in storage order (school, pupil, date,
/// session): an input ingest writes as it comes, without a sort.
fn sorted_registers_by_school(pupils: usize, days: usize) -> [String; 2] {
    let (csv, _) = registers(pupils, days);
    let mut lines: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    lines.sort_by(|a, b| (a[1], a[0], a[2], a[3]).cmp(&(b[1], b[0], b[2], b[3])));
    ["100001", "100002"].map(|urn| {
        let mut out = String::from("pupil_id,urn,date,session,code\n");
        for line in lines.iter().filter(|l| l[1] == urn) {
            out.push_str(&line.join(","));
            out.push('\n');
        }
        out
    })
}

async fn state(f: &Fixture) -> (String, String) {
    (
        f.query("SELECT count(*) AS n, count(DISTINCT pupil_id) AS p FROM registers")
            .await,
        f.query("SELECT count(*) AS n FROM pupils").await,
    )
}

/// `attendance ingest` of the fixture's schools and `pupils_file`, and `files` of marks, as a
/// child process with no output.
fn ingest_command(
    f: &Fixture,
    schools: &std::path::Path,
    pupils_file: &std::path::Path,
) -> impl Fn(&[&std::path::Path]) -> Command {
    let (data, schools, pupils_file) = (
        f.data_dir(),
        schools.to_path_buf(),
        pupils_file.to_path_buf(),
    );
    move |files: &[&std::path::Path]| {
        let mut cmd = Command::new(BIN);
        cmd.arg("ingest")
            .arg("--data")
            .arg(&data)
            .arg("--no-summarise");
        cmd.arg("--schools")
            .arg(&schools)
            .arg("--pupils")
            .arg(&pupils_file);
        for file in files {
            cmd.arg("--registers").arg(file);
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        cmd
    }
}

/// Runs `command` again and again, killed after longer and longer delays, until a kill lands
/// after its commit: after each kill the store is as `before` or holds `after_n` marks. Fails
/// if no kill landed before the commit (the load was too quick to be caught in the middle).
async fn kill_at_moments(
    f: &Fixture,
    before: &(String, String),
    after_n: usize,
    command: impl Fn() -> Command,
) {
    let mut saw_before = false;
    for delay_ms in [20u64, 60, 120, 200, 300, 450, 700, 1000, 1500] {
        let mut child = command().spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let now = state(f).await;
        if now == *before {
            saw_before = true;
            continue;
        }
        assert!(
            now.0.contains(&format!("| {after_n} ")),
            "after a kill at {delay_ms} ms the store is neither before nor after:\n{}",
            now.0
        );
        break;
    }
    assert!(
        saw_before,
        "no kill landed before the commit; make the load larger"
    );
}

#[tokio::test]
async fn killed_ingest_leaves_before_or_after() {
    let f = Fixture::new();
    let schools = f.file("schools.csv", SCHOOLS);
    let pupils_file = f.file("pupils.csv", &pupils(300));
    let (first, first_n) = registers(300, 40);
    let first = f.file("first.csv", &first);
    let run = ingest_command(&f, &schools, &pupils_file);
    assert!(run(&[&first]).status().unwrap().success());
    let before = state(&f).await;
    assert!(before.0.contains(&format!("| {first_n} ")), "{}", before.0);

    // A second, larger load: killed at several moments, each leaves the first state or the final.
    let (second, second_n) = registers(300, 120);
    let second = f.file("second.csv", &second);
    // Marks of the second file repeat the first file's 40 days (identical: no-ops) and add 80.
    let after_n = second_n;
    kill_at_moments(&f, &before, after_n, || run(&[&first, &second])).await;
    // Running the same ingest again completes it.
    assert!(run(&[&first, &second]).status().unwrap().success());
    let done = state(&f).await;
    assert!(done.0.contains(&format!("| {after_n} ")), "{}", done.0);
    assert!(done.0.contains("| 300 "), "{}", done.0);
    assert!(
        !f.data_dir().join("_staging").exists(),
        "staging left behind"
    );
}

/// The same for marks already in storage order, which an ingest writes without a sort into a
/// store that has no `registers` table yet: killed at any moment, the store has no marks or all.
#[tokio::test]
async fn killed_presorted_ingest_leaves_before_or_after() {
    let f = Fixture::new();
    let schools = f.file("schools.csv", SCHOOLS);
    let pupils_file = f.file("pupils.csv", &pupils(300));
    let run = ingest_command(&f, &schools, &pupils_file);
    assert!(run(&[]).status().unwrap().success());
    let before = state(&f).await;
    assert!(before.0.contains("| 0 "), "{}", before.0);
    let [alpha, beta] = sorted_registers_by_school(300, 120);
    let (_, n) = registers(300, 120);
    let alpha = f.file("alpha.csv", &alpha);
    let beta = f.file("beta.csv", &beta);
    // These files do take the path without a sort.
    let check = Fixture::new();
    let summary = check
        .ingest(&attendance::ingest::IngestOptions {
            schools: vec![schools.clone()],
            pupils: vec![pupils_file.clone()],
            registers: vec![beta.clone(), alpha.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(summary.presorted);
    assert_eq!(summary.registers.rows_added as usize, n);
    kill_at_moments(&f, &before, n, || run(&[&beta, &alpha])).await;
    assert!(run(&[&beta, &alpha]).status().unwrap().success());
    let done = state(&f).await;
    assert!(done.0.contains(&format!("| {n} ")), "{}", done.0);
    assert!(done.0.contains("| 300 "), "{}", done.0);
}

/// A day's load with the summary update after it (`ingest` as the daily job runs it), killed
/// at several moments: the registers hold the marks before or after, and the summary a session
/// reads (the table when it is fresh, else the live view) is always what the marks give, never
/// a half-applied update. Run again, the load completes and the summary is fresh.
#[tokio::test]
async fn killed_daily_load_leaves_the_summary_before_or_after() {
    let f = Fixture::new();
    let schools = f.file("schools.csv", SCHOOLS);
    let pupils_file = f.file("pupils.csv", &pupils(300));
    let (first, first_n) = registers(300, 40);
    // The days after the first 40 weekdays, alone.
    let (all, all_n) = registers(300, 120);
    let known: std::collections::HashSet<&str> = first.lines().collect();
    let mut later = String::from("pupil_id,urn,date,session,code\n");
    for line in all.lines().skip(1).filter(|l| !known.contains(l)) {
        later.push_str(line);
        later.push('\n');
    }
    let first = f.file("first.csv", &first);
    let later = f.file("later.csv", &later);
    let data = f.data_dir();
    let run = |files: &[&std::path::Path]| {
        let mut cmd = Command::new(BIN);
        cmd.arg("ingest").arg("--data").arg(&data);
        for file in files {
            cmd.arg("--registers").arg(file);
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        cmd
    };
    let mut load = run(&[]);
    load.arg("--schools")
        .arg(&schools)
        .arg("--pupils")
        .arg(&pupils_file);
    load.arg("--registers").arg(&first);
    assert!(load.status().unwrap().success());
    let store = f.store();
    let (state0, _, _) = crate::daily::read_and_live(&store, "*").await;
    assert_eq!(state0, attendance::summary::SummaryState::Fresh);

    let mut kills = Vec::new();
    for delay_ms in [20u64, 60, 120, 200, 300, 450, 700, 1000, 1500, 2200] {
        let mut child = run(&[&later]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let marks = state(&f).await.0;
        let after = marks.contains(&format!("| {all_n} "));
        assert!(
            after || marks.contains(&format!("| {first_n} ")),
            "after a kill at {delay_ms} ms the registers are neither before nor after:\n{marks}"
        );
        let (read_as, read, live) = crate::daily::read_and_live(&store, "*").await;
        assert!(
            read == live,
            "after a kill at {delay_ms} ms the summary read ({read_as:?}) is not the marks' summary"
        );
        kills.push((after, read_as));
    }
    assert!(
        kills.iter().any(|(after, _)| !after),
        "no kill landed before the registers commit: {kills:?}"
    );
    assert!(run(&[&later]).status().unwrap().success());
    let (state1, read, live) = crate::daily::read_and_live(&store, "*").await;
    assert_eq!(
        state1,
        attendance::summary::SummaryState::Fresh,
        "{kills:?}"
    );
    assert!(read == live);
    assert!(state(&f).await.0.contains(&format!("| {all_n} ")));
}

/// When one of the parallel writers fails, the files the others wrote are deleted and nothing
/// is committed: the table, and the files under it, are as they were.
#[tokio::test]
async fn a_failed_parallel_write_leaves_the_table_and_no_files() {
    use attendance::store::Table;
    use attendance::store::write::{BatchSender, BatchSource, Commit, write_sources};
    use datafusion::arrow::array::{Date32Array, Int32Array, RecordBatch, StringArray};
    use std::sync::Arc;

    let f = Fixture::loaded().await;
    let store = f.store();
    let marks = all_marks(&store).await;
    let version = store
        .load(Table::Registers)
        .await
        .unwrap()
        .unwrap()
        .version();
    let files = parquet_files_on_disk(&f.data_dir().join("registers"));
    let batch = |la: &str| {
        RecordBatch::try_new(
            attendance::schema::REGISTERS.clone(),
            vec![
                Arc::new(StringArray::from(vec!["P1"])),
                Arc::new(Int32Array::from(vec![100001])),
                Arc::new(Date32Array::from(vec![19970])),
                Arc::new(StringArray::from(vec!["AM"])),
                Arc::new(StringArray::from(vec!["/"])),
                Arc::new(StringArray::from(vec!["2024-25"])),
                Arc::new(StringArray::from(vec!["E12000009"])),
                Arc::new(StringArray::from(vec![la])),
            ],
        )
        .unwrap()
    };
    for failing_first in [false, true] {
        let (good, bad) = (batch("801"), batch("802"));
        let good: BatchSource = Box::new(move |tx: &BatchSender| {
            let _ = tx.blocking_send(good);
            Ok(())
        });
        let bad: BatchSource = Box::new(move |tx: &BatchSender| {
            let _ = tx.blocking_send(bad);
            Err("the disk is on fire".to_string())
        });
        let sources = if failing_first {
            vec![bad, good]
        } else {
            vec![good, bad]
        };
        let error = write_sources(&store, Table::Registers, sources, 2, Commit::Append, &[])
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("the disk is on fire"), "{error}");
        assert!(error.contains("unchanged"), "{error}");
        let now = store
            .load(Table::Registers)
            .await
            .unwrap()
            .unwrap()
            .version();
        assert_eq!(now, version);
        assert_eq!(all_marks(&store).await, marks);
        assert_eq!(
            parquet_files_on_disk(&f.data_dir().join("registers")),
            files
        );
    }
}

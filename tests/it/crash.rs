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

async fn state(f: &Fixture) -> (String, String) {
    (
        f.query("SELECT count(*) AS n, count(DISTINCT pupil_id) AS p FROM registers")
            .await,
        f.query("SELECT count(*) AS n FROM pupils").await,
    )
}

#[tokio::test]
async fn killed_ingest_leaves_before_or_after() {
    let f = Fixture::new();
    let schools = f.file("schools.csv", SCHOOLS);
    let pupils_file = f.file("pupils.csv", &pupils(300));
    let (first, first_n) = registers(300, 40);
    let first = f.file("first.csv", &first);
    let run = |files: &[&std::path::Path]| {
        let mut cmd = Command::new(BIN);
        cmd.arg("ingest")
            .arg("--data")
            .arg(f.data_dir())
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
    };
    assert!(run(&[&first]).status().unwrap().success());
    let before = state(&f).await;
    assert!(before.0.contains(&format!("| {first_n} ")), "{}", before.0);

    // A second, larger load: killed at several moments, each leaves the first state or the final.
    let (second, second_n) = registers(300, 120);
    let second = f.file("second.csv", &second);
    // Marks of the second file repeat the first file's 40 days (identical: no-ops) and add 80.
    let after_n = second_n;
    let mut saw_before = false;
    for delay_ms in [20u64, 60, 120, 200, 300, 450, 700, 1000, 1500] {
        let mut child = run(&[&first, &second]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let now = state(&f).await;
        if now == before {
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

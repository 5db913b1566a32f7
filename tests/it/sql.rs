//! `attendance sql` output formats, the shell's commands, and pruning shown by EXPLAIN ANALYZE.

use std::process::Command;

use attendance::ingest::IngestOptions;
use attendance::session::{SessionOptions, session};
use attendance::shell::{Shell, Step};

use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_attendance");

fn sql(data: &std::path::Path, args: &[&str]) -> (String, String, bool) {
    let output = Command::new(BIN)
        .arg("sql")
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("run attendance");
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        output.status.success(),
    )
}

const QUERY: &str = "SELECT pupil_id, session, code, attendance_category(code) AS category \
                     FROM registers WHERE urn = 100001 ORDER BY pupil_id, session";

#[tokio::test]
async fn every_output_format() {
    let f = Fixture::loaded().await;
    let data = f.data_dir();

    let (table, _, ok) = sql(&data, &["-c", QUERY]);
    assert!(ok);
    assert_eq!(
        table,
        "\
+----------+---------+------+--------------+
| pupil_id | session | code | category     |
+----------+---------+------+--------------+
| P1       | AM      | /    | present      |
| P1       | PM      | \\    | present      |
| P2       | AM      | N    | unauthorised |
| P2       | PM      | I    | authorised   |
+----------+---------+------+--------------+
"
    );

    let (csv, _, ok) = sql(&data, &["-c", QUERY, "--format", "csv"]);
    assert!(ok);
    assert_eq!(
        csv,
        "pupil_id,session,code,category\nP1,AM,/,present\nP1,PM,\\,present\nP2,AM,N,unauthorised\nP2,PM,I,authorised\n"
    );
    let (tsv, _, _) = sql(&data, &["-c", QUERY, "--format", "tsv", "--maxrows", "1"]);
    assert_eq!(
        tsv,
        "pupil_id\tsession\tcode\tcategory\nP1\tAM\t/\tpresent\n"
    );
    let (json, _, _) = sql(&data, &["-c", QUERY, "--format", "json", "--maxrows", "2"]);
    assert_eq!(
        json,
        "[{\"pupil_id\":\"P1\",\"session\":\"AM\",\"code\":\"/\",\"category\":\"present\"},{\"pupil_id\":\"P1\",\"session\":\"PM\",\"code\":\"\\\\\",\"category\":\"present\"}]\n"
    );
    let (ndjson, _, _) = sql(
        &data,
        &["-c", QUERY, "--format", "ndjson", "--maxrows", "2"],
    );
    assert_eq!(
        ndjson,
        "{\"pupil_id\":\"P1\",\"session\":\"AM\",\"code\":\"/\",\"category\":\"present\"}\n{\"pupil_id\":\"P1\",\"session\":\"PM\",\"code\":\"\\\\\",\"category\":\"present\"}\n"
    );

    let parquet = f.dir.path().join("result.parquet");
    let (_, err, ok) = sql(
        &data,
        &[
            "-c",
            QUERY,
            "--format",
            "parquet",
            "-o",
            parquet.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    let file = std::fs::File::open(&parquet).unwrap();
    let reader =
        datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 4);

    // -f FILE with two statements prints both results.
    let script = f.file("two.sql", "SELECT 1 AS a;\nSELECT 'x;y' AS b;\n");
    let (two, _, ok) = sql(&data, &["-f", script.to_str().unwrap(), "--format", "csv"]);
    assert!(ok);
    assert_eq!(two, "a\n1\nb\nx;y\n");

    // Errors are one clear line and a failure status.
    let (_, err, ok) = sql(&data, &["-c", "SELECT nope FROM registers"]);
    assert!(!ok);
    assert!(
        err.lines()
            .any(|l| l.starts_with("error:") && l.contains("nope")),
        "{err}"
    );
    assert_eq!(
        err.matches("No field named nope").count(),
        1,
        "the cause is said once: {err}"
    );
    let (_, err, ok) = sql(&f.dir.path().join("missing"), &["-c", "SELECT 1"]);
    assert!(!ok);
    assert!(err.contains("no attendance store"), "{err}");
}

#[tokio::test]
async fn shell_commands() {
    let f = Fixture::loaded().await;
    let (ctx, _) = session(&f.store(), &SessionOptions::default())
        .await
        .unwrap();
    let mut shell = Shell::new(ctx);
    let mut out = Vec::new();
    let never = || std::future::pending::<()>();
    assert_eq!(shell.feed("\\d", &mut out, never()).await, Step::Done);
    let text = String::from_utf8(std::mem::take(&mut out)).unwrap();
    for table in ["registers", "pupils", "schools", "enrolment_summary"] {
        assert!(text.contains(table), "\\d lists {table}: {text}");
    }
    shell.feed("\\d registers", &mut out, never()).await;
    let text = String::from_utf8(std::mem::take(&mut out)).unwrap();
    assert!(text.contains("la_code") && text.contains("code"), "{text}");
    shell.feed("\\functions", &mut out, never()).await;
    let text = String::from_utf8(std::mem::take(&mut out)).unwrap();
    for function in [
        "attendance_category",
        "session_counts",
        "attendance_band",
        "term",
    ] {
        assert!(text.contains(function), "\\functions lists {function}");
    }
    // A statement over several lines runs when it ends with `;`.
    assert_eq!(
        shell.feed("SELECT count(*) AS n", &mut out, never()).await,
        Step::Continue
    );
    assert_eq!(
        shell.feed("FROM registers;", &mut out, never()).await,
        Step::Done
    );
    let text = String::from_utf8(std::mem::take(&mut out)).unwrap();
    assert!(text.contains("| 6 |"), "{text}");
    shell.feed("\\timing", &mut out, never()).await;
    shell.feed("SELECT 1;", &mut out, never()).await;
    let text = String::from_utf8(std::mem::take(&mut out)).unwrap();
    assert!(text.contains("Time:"), "{text}");
    // A cancelled query leaves the shell usable.
    let cancelled = shell
        .feed(
            "SELECT count(*) FROM registers a, registers b, registers c, registers d;",
            &mut out,
            async {},
        )
        .await;
    assert_eq!(cancelled, Step::Done);
    let text = String::from_utf8(std::mem::take(&mut out)).unwrap();
    assert!(text.contains("cancelled"), "{text}");
    shell.feed("SELECT 2 AS two;", &mut out, never()).await;
    let text = String::from_utf8(std::mem::take(&mut out)).unwrap();
    assert!(text.contains("| 2   |"), "{text}");
    assert_eq!(shell.feed("\\q", &mut out, never()).await, Step::Quit);
}

/// A store of several LAs: a query for one school must skip the other files.
#[tokio::test]
async fn one_school_query_prunes_files() {
    let f = Fixture::new();
    let mut schools = String::from(
        "urn,school_name,old_la_code,new_la_code,la_name,region_code,region_name,phase\n",
    );
    let mut pupils =
        String::from("academic_year,pupil_id,urn,nc_year,sex,date_of_birth,fsm,sen,cla,cin,cpp\n");
    let mut registers = String::from("pupil_id,urn,date,session,code\n");
    for s in 0..6 {
        let urn = 200000 + s;
        let la = 801 + s % 3;
        schools.push_str(&format!(
            "{urn},S{s},{la},E0600002{},LA {la},E12000009,South West,primary\n",
            s % 3
        ));
        for p in 0..20 {
            pupils.push_str(&format!(
                "2024-25,S{s}P{p},{urn},3,F,,false,N,false,false,false\n"
            ));
            for day in 2..=6 {
                for session in ["AM", "PM"] {
                    registers.push_str(&format!("S{s}P{p},{urn},2024-09-0{day},{session},/\n"));
                }
            }
        }
    }
    let options = IngestOptions {
        schools: vec![f.file("schools.csv", &schools)],
        pupils: vec![f.file("pupils.csv", &pupils)],
        registers: vec![f.file("registers.csv", &registers)],
        ..Default::default()
    };
    f.ingest(&options).await.unwrap();
    let (plan, _, ok) = sql(
        &f.data_dir(),
        &[
            "-c",
            "EXPLAIN ANALYZE SELECT count(*) FROM registers WHERE urn = 200004",
            "--format",
            "csv",
        ],
    );
    assert!(ok, "{plan}");
    let (count, _, _) = sql(
        &f.data_dir(),
        &[
            "-c",
            "SELECT count(*) AS n FROM registers WHERE urn = 200004",
            "--format",
            "csv",
        ],
    );
    assert_eq!(count, "n\n200\n");
    // 3 partitions (LA 801: urns 200000 and 200003; LA 802: 200001 and 200004; LA 803: 200002
    // and 200005), one file each. The Delta log's statistics rule out LA 801's file (urn range
    // 200000..200003); the two files left hold 800 rows, of which the 200 of urn 200004 pass
    // the filter pushed into the Parquet scan.
    assert!(
        plan.contains("count_files_scanned=2"),
        "no file pruning in:\n{plan}"
    );
    assert!(
        plan.contains("pushdown_rows_pruned=600"),
        "no row pruning in:\n{plan}"
    );
}

//! `attendance sql` output formats, the shell's commands, and pruning shown by EXPLAIN ANALYZE.

use std::process::Command;

use attendance::cli::output::Format;
use attendance::cli::query::{PrintOptions, run_and_print};
use attendance::cli::shell::{Shell, Step};
use attendance::ingest::IngestOptions;
use attendance::session::{SessionOptions, session};

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
    assert!(text.contains("|   2 |"), "{text}");
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

// ---- Issue 13: the SQL front door ----

fn sample_store() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("sample-data/store")
}

/// Runs `attendance ARGS` with `stdin` on standard input.
fn attendance_with_stdin(args: &[&str], stdin: &str) -> (String, String, bool) {
    use std::io::Write as _;
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run attendance");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        output.status.success(),
    )
}

#[tokio::test]
async fn statements_stream_and_stop_at_the_first_error() {
    let f = Fixture::loaded().await;
    let script = f.file(
        "three.sql",
        "SELECT 1 AS a;\nSELECT nope FROM registers;\nSELECT 3 AS c;\n",
    );
    let (out, err, ok) = sql(
        &f.data_dir(),
        &["-f", script.to_str().unwrap(), "--format", "csv"],
    );
    assert!(!ok, "the second statement fails");
    assert_eq!(out, "a\n1\n", "the first result is kept, the third not run");
    assert!(err.contains("nope"), "{err}");
    // The same to a file: nothing is written, an existing file is left as it was.
    let target = f.file("result.csv", "old content\n");
    let (_, _, ok) = sql(
        &f.data_dir(),
        &[
            "-f",
            script.to_str().unwrap(),
            "-o",
            target.to_str().unwrap(),
        ],
    );
    assert!(!ok);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "old content\n");
    let missing = f.dir.path().join("never.csv");
    let (_, _, ok) = sql(
        &f.data_dir(),
        &[
            "-f",
            script.to_str().unwrap(),
            "-o",
            missing.to_str().unwrap(),
        ],
    );
    assert!(!ok);
    assert!(!missing.exists(), "a failed query leaves no file");
    let leftovers: Vec<_> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[tokio::test]
async fn maxrows_is_a_limit_in_the_plan() {
    let store = attendance::store::Store::open_existing(sample_store()).unwrap();
    let (ctx, _) = session(&store, &SessionOptions::default()).await.unwrap();
    let total = ctx
        .sql("SELECT count(*) FROM registers")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()[0]
        .column(0)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::Int64Array>()
        .unwrap()
        .value(0) as usize;
    assert!(total > 100_000, "the sample has {total} marks");
    let run = |max_rows| {
        let ctx = ctx.clone();
        async move {
            let mut out = Vec::new();
            let options = PrintOptions::new(Format::Csv, max_rows, false);
            let reports =
                run_and_print(&ctx, "SELECT * FROM registers", &mut out, &options, |_| {})
                    .await
                    .unwrap();
            (reports[0].clone(), out)
        }
    };
    let (limited, out) = run(Some(1)).await;
    assert_eq!(limited.rows, 1);
    assert_eq!(
        String::from_utf8(out).unwrap().lines().count(),
        2,
        "header and one row"
    );
    assert_eq!(limited.batches, 1, "one batch read");
    assert!(
        limited.scanned_rows <= 8192,
        "the scan stops after one batch: {} rows scanned",
        limited.scanned_rows
    );
    let (all, _) = run(None).await;
    assert_eq!(all.rows, total);
    assert!(all.batches > 1);
    assert_eq!(all.scanned_rows, total);
}

#[tokio::test]
async fn maxrows_zero_is_unlimited_and_output_formats_follow_the_extension() {
    let f = Fixture::loaded().await;
    let data = f.data_dir();
    let (csv, _, ok) = sql(&data, &["-c", QUERY, "--format", "csv", "--maxrows", "0"]);
    assert!(ok);
    assert_eq!(csv.lines().count(), 5, "{csv}");

    let parquet = f.dir.path().join("x.parquet");
    let (_, err, ok) = sql(&data, &["-c", QUERY, "-o", parquet.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(&std::fs::read(&parquet).unwrap()[..4], b"PAR1");
    for (name, want) in [
        ("x.csv", "pupil_id,session,code,category\nP1,AM,/,present\n"),
        (
            "x.tsv",
            "pupil_id\tsession\tcode\tcategory\nP1\tAM\t/\tpresent\n",
        ),
        (
            "x.json",
            "[{\"pupil_id\":\"P1\",\"session\":\"AM\",\"code\":\"/\",\"category\":\"present\"}]\n",
        ),
        (
            "x.ndjson",
            "{\"pupil_id\":\"P1\",\"session\":\"AM\",\"code\":\"/\",\"category\":\"present\"}\n",
        ),
    ] {
        let path = f.dir.path().join(name);
        let (_, err, ok) = sql(
            &data,
            &["-c", QUERY, "--maxrows", "1", "-o", path.to_str().unwrap()],
        );
        assert!(ok, "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), want, "{name}");
    }
    // An explicit --format wins over the extension.
    let path = f.dir.path().join("y.json");
    sql(
        &data,
        &[
            "-c",
            "SELECT 1 AS a",
            "--format",
            "csv",
            "-o",
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\n1\n");
    // An empty result still has its header (CSV) or is an empty array (JSON).
    let (csv, _, _) = sql(
        &data,
        &["-c", "SELECT 1 AS a WHERE false", "--format", "csv"],
    );
    assert_eq!(csv, "a\n");
    let (json, _, _) = sql(
        &data,
        &["-c", "SELECT 1 AS a WHERE false", "--format", "json"],
    );
    assert_eq!(json, "[]\n");
}

#[tokio::test]
async fn sql_from_standard_input() {
    let f = Fixture::loaded().await;
    let data = f.data_dir();
    let data = data.to_str().unwrap();
    let (out, err, ok) = attendance_with_stdin(
        &["sql", "--data", data, "--format", "csv"],
        "SELECT 1 AS a;\nSELECT count(*) AS n FROM registers;\n",
    );
    assert!(ok, "{err}");
    assert_eq!(out, "a\n1\nn\n6\n");
    let (out, err, ok) = attendance_with_stdin(
        &["sql", "--data", data, "--format", "csv", "-f", "-"],
        "select 2 as b",
    );
    assert!(ok, "{err}");
    assert_eq!(out, "b\n2\n");
}

#[tokio::test]
async fn terminal_tables_cap_align_round_and_show_null() {
    let ctx = attendance::session::base_session(&SessionOptions::default()).unwrap();
    let mut out = Vec::new();
    let options = PrintOptions::new(Format::Table, None, true);
    let reports = run_and_print(
        &ctx,
        "SELECT n, CAST(n AS DOUBLE) / 3 AS third, CASE WHEN n = 1 THEN NULL ELSE 'x' END AS s \
         FROM generate_series(1, 45) AS t(n) ORDER BY n",
        &mut out,
        &options,
        |_| {},
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(reports[0].rows, 45);
    assert_eq!(reports[0].shown, 40);
    assert!(text.ends_with("(45 rows, 40 shown)\n"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "|  n | third | s    |", "{text}");
    assert_eq!(lines[3], "|  1 |  0.33 | NULL |", "{text}");
    assert_eq!(lines[12], "| 10 |  3.33 | x    |", "{text}");
    // Not on a terminal: Arrow's table, every row, as scripts have always seen it.
    let mut out = Vec::new();
    let options = PrintOptions::new(Format::Table, None, false);
    run_and_print(
        &ctx,
        "SELECT CAST(1 AS DOUBLE) / 3 AS third",
        &mut out,
        &options,
        |_| {},
    )
    .await
    .unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("| 0.3333333333333333 |"),
        "plain tables are unchanged"
    );
}

#[tokio::test]
async fn files_are_tables() {
    let f = Fixture::loaded().await;
    let data = f.data_dir();
    let parquet = f.dir.path().join("marks.parquet");
    let (_, err, ok) = sql(
        &data,
        &[
            "-c",
            "SELECT * FROM registers",
            "-o",
            parquet.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    let schools = f.file("some_schools.csv", SCHOOLS);
    for query in [
        format!(
            "SELECT count(*) AS n FROM '{}' WHERE is_absence(code)",
            parquet.display()
        ),
        format!(
            "SELECT count(*) AS n FROM read_parquet('{}') WHERE is_absence(code)",
            parquet.display()
        ),
    ] {
        let (out, err, ok) = sql(&data, &["-c", &query, "--format", "csv"]);
        assert!(ok, "{query}: {err}");
        assert_eq!(out, "n\n2\n", "{query}");
    }
    let query = format!(
        "SELECT s.school_name, count(*) AS marks FROM read_csv('{}') s JOIN registers r USING (urn) \
         GROUP BY s.school_name ORDER BY s.school_name",
        schools.display()
    );
    let (out, err, ok) = sql(&data, &["-c", &query, "--format", "csv"]);
    assert!(ok, "{err}");
    assert_eq!(out, "school_name,marks\nAlpha Primary,4\nBeta Academy,2\n");
    let (out, _, ok) = sql(
        &data,
        &[
            "-c",
            &format!("SELECT count(*) AS n FROM '{}'", schools.display()),
            "--format",
            "csv",
        ],
    );
    assert!(ok);
    assert_eq!(out, "n\n2\n");
    let (_, err, ok) = sql(&data, &["-c", "SELECT * FROM read_csv(1)"]);
    assert!(!ok);
    assert!(err.contains("read_csv(path)"), "{err}");
}

#[tokio::test]
async fn clear_errors_and_summarise_text() {
    let f = Fixture::loaded().await;
    let data = f.data_dir();
    let (_, err, ok) = sql(&data, &["-c", "SELEC 1"]);
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("SQL syntax error: Expected"), "{err}");
    assert!(!err.contains("ParserError("), "no debug text: {err}");
    assert_eq!(err.matches("SELEC").count(), 1, "said once: {err}");

    let (_, err, ok) = sql(&data, &["-c", "SELECT attendance_category(1)"]);
    assert!(!ok);
    assert!(err.contains("attendance_category(code: String)"), "{err}");
    assert!(!err.contains("UserDefined"), "{err}");
    let (_, err, _) = sql(&data, &["-c", "SELECT attendance_band('a', 1)"]);
    assert!(
        err.contains("attendance_band(overall: Int64, possible: Int64)"),
        "{err}"
    );

    let output = Command::new(BIN)
        .args(["summarise", "--force", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let err = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{err}");
    assert!(!err.contains("Some("), "no debug text: {err}");
    assert!(err.contains("registers version"), "{err}");
}

#[test]
fn every_subcommand_help_has_an_example_and_defaults() {
    let help = |args: &[&str]| {
        let output = Command::new(BIN).args(args).arg("--help").output().unwrap();
        String::from_utf8(output.stdout).unwrap()
    };
    for command in [
        "ingest",
        "sql",
        "shell",
        "generate",
        "bench",
        "vacuum",
        "summarise",
        "indicators",
        "check",
    ] {
        let text = help(&[command]);
        assert!(
            text.contains("Example"),
            "{command} --help has no example:\n{text}"
        );
        // Each option's entry (its line and the indented lines after it) names its default.
        let mut entries: Vec<String> = Vec::new();
        for line in text.lines() {
            let trimmed = line.trim_start();
            if trimmed.starts_with('-') && line.starts_with("  ") {
                entries.push(line.to_string());
            } else if let Some(last) = entries.last_mut()
                && line.starts_with("          ")
            {
                last.push_str(line);
            }
        }
        for entry in entries {
            if entry.contains("--help") || entry.contains("--version") {
                continue;
            }
            assert!(
                entry.to_lowercase().contains("default"),
                "{command}: no default in `{entry}`"
            );
        }
    }
}

#[tokio::test]
async fn shell_dot_commands_pset_and_files() {
    let f = Fixture::loaded().await;
    let (ctx, _) = session(&f.store(), &SessionOptions::default())
        .await
        .unwrap();
    let mut shell = Shell::new(ctx);
    for help in [".help", "help", "\\?"] {
        let (step, t) = feed(&mut shell, help).await;
        assert_eq!(step, Step::Done);
        assert!(
            t.contains("\\pset format") && t.contains(".read"),
            "{help}: {t}"
        );
    }
    // Formats: \pset and .mode.
    let (_, t) = feed(&mut shell, "\\pset format csv").await;
    assert!(t.contains("csv"), "{t}");
    let (_, t) = feed(&mut shell, "SELECT 1 AS a;").await;
    assert_eq!(t, "a\n1\n1 row\n");
    let (_, t) = feed(&mut shell, ".mode json").await;
    assert!(t.contains("json"), "{t}");
    let (_, t) = feed(&mut shell, "SELECT 1 AS a;").await;
    assert_eq!(t, "[{\"a\":1}]\n1 row\n");
    let (_, t) = feed(&mut shell, ".mode nosuch").await;
    assert!(t.contains("Unknown format"), "{t}");
    feed(&mut shell, ".mode table").await;
    let (_, t) = feed(&mut shell, "SELECT 2 AS two;").await;
    assert!(t.contains("|   2 |"), "numbers right-aligned: {t}");
    assert_eq!(
        shell.take_completed().len(),
        3,
        "one history entry a statement"
    );
    // A backslash command on a continuation line runs, and the statement goes on.
    assert_eq!(feed(&mut shell, "SELECT 3 AS c").await.0, Step::Continue);
    let (step, t) = feed(&mut shell, "\\pset format csv").await;
    assert_eq!(step, Step::Done);
    assert!(t.contains("csv"));
    assert!(shell.in_statement());
    let (_, t) = feed(&mut shell, ";").await;
    assert_eq!(t, "c\n3\n1 row\n");
    assert_eq!(shell.take_completed(), vec!["SELECT 3 AS c\n;".to_string()]);
    // \d of a table that does not exist.
    let (_, t) = feed(&mut shell, "\\d nosuch").await;
    assert!(t.contains("Did not find any table named \"nosuch\""), "{t}");
    let (_, t) = feed(&mut shell, "\\d registers").await;
    assert!(t.contains("pupil_id"), "{t}");
    // \o FILE sends results to the file; \o alone back.
    let file = f.dir.path().join("shell-out.csv");
    feed(&mut shell, &format!("\\o {}", file.display())).await;
    let (_, t) = feed(&mut shell, "SELECT 4 AS d;").await;
    assert_eq!(t, "1 row\n");
    feed(&mut shell, "\\o").await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "d\n4\n");
    // \i FILE and .read FILE run a file; an rc file the same way.
    let script = f.file(
        "script.sql",
        "\\pset format csv\nSELECT 5\n  AS e;\nSELECT 6 AS g\n",
    );
    let (_, t) = feed(&mut shell, &format!("\\i {}", script.display())).await;
    assert!(t.contains("e\n5\n") && t.contains("g\n6\n"), "{t}");
    let (_, t) = feed(&mut shell, &format!(".read {}", script.display())).await;
    assert!(t.contains("e\n5\n"), "{t}");
    let rc = f.file(
        "rc.sql",
        ".mode json\nCREATE VIEW absent AS SELECT * FROM registers WHERE is_absence(code);\n",
    );
    assert_eq!(
        attendance::cli::shell::rc_file(Some(rc.clone())),
        Some(rc.clone())
    );
    shell.include(&rc, &mut Vec::new()).await;
    let (_, t) = feed(&mut shell, "SELECT count(*) AS n FROM absent;").await;
    assert_eq!(t, "[{\"n\":2}]\n1 row\n");
    // Tab completion: keywords, tables (the view too), columns, functions.
    let completer = shell.completer();
    let complete = |line: &str| completer.candidates(line, line.len()).1;
    assert!(complete("sel").contains(&"select".to_string()));
    assert!(complete("SEL").contains(&"SELECT".to_string()));
    assert!(complete("SELECT * FROM regi").contains(&"registers".to_string()));
    assert!(complete("SELECT * FROM abs").contains(&"absent".to_string()));
    assert!(complete("SELECT pupil_i").contains(&"pupil_id".to_string()));
    assert!(complete("SELECT attendance_cat").contains(&"attendance_category".to_string()));
    assert!(complete("SELECT * FROM read_p").contains(&"read_parquet".to_string()));
    for quit in [".quit", "quit", "exit", "\\q"] {
        assert_eq!(feed(&mut shell, quit).await.0, Step::Quit, "{quit}");
    }
}

/// Feeds one line to the shell; what it printed.
async fn feed(shell: &mut Shell, line: &str) -> (Step, String) {
    let mut out = Vec::new();
    let step = shell.feed(line, &mut out, std::future::pending()).await;
    (step, String::from_utf8(out).unwrap())
}

//! Data safety (issue 16): one writer at a time, damage detected and reported, bounded and
//! strict input reading, outputs published whole; and SQL that cannot change the store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_attendance");

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run attendance")
}

fn run_str(args: &[&str]) -> Output {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    run(&args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every file under `dir` with its bytes: two stores are byte-identical when these are equal.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// `n` pupils at school 100001 (the fixture's schools), marks for the first `days` weekdays of
/// September 2024 with `code`; the pupils are P1... of the fixture plus K0.. of their own.
fn class(f: &Fixture, n: usize) -> PathBuf {
    let mut csv =
        String::from("academic_year,pupil_id,urn,nc_year,sex,date_of_birth,fsm,sen,cla,cin,cpp\n");
    for p in 0..n {
        csv.push_str(&format!(
            "2024-25,K{p},100001,5,M,,false,N,false,false,false\n"
        ));
    }
    f.file("class.csv", &csv)
}

fn class_marks(f: &Fixture, name: &str, pupils: std::ops::Range<usize>, code: &str) -> PathBuf {
    let mut csv = String::from("pupil_id,urn,date,session,code\n");
    for p in pupils {
        for day in 2..=6 {
            for session in ["AM", "PM"] {
                csv.push_str(&format!("K{p},100001,2024-09-0{day},{session},{code}\n"));
            }
        }
    }
    f.file(name, &csv)
}

fn ingest_args(f: &Fixture, pupils: &Path, registers: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("ingest")
        .arg("--data")
        .arg(f.data_dir())
        .arg("--no-summarise")
        .arg("--schools")
        .arg(f.file("schools.csv", SCHOOLS))
        .arg("--pupils")
        .arg(pupils)
        .arg("--registers")
        .arg(registers)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Marks stored twice under one key (pupil, school, date, session).
async fn duplicate_keys(f: &Fixture) -> String {
    f.query(
        "SELECT count(*) AS duplicates FROM (SELECT pupil_id, urn, date, session FROM registers \
         GROUP BY pupil_id, urn, date, session HAVING count(*) > 1)",
    )
    .await
}

/// Two ingests started together into one store: the one that does not get the lock is told
/// the store is busy (and by whom) and writes nothing; no key is ever stored twice and no mark
/// of a successful ingest is lost. Overlapping inputs (the same keys, `N` in one and `I` in the
/// other) and disjoint ones, several trials each.
#[tokio::test]
async fn two_writers_at_once_never_store_a_key_twice() {
    for trial in 0..4 {
        let f = Fixture::new();
        let pupils = class(&f, 300);
        let (a, b) = if trial % 2 == 0 {
            // Overlapping: the same 300 pupils' marks, with different codes.
            (
                class_marks(&f, "a.csv", 0..300, "N"),
                class_marks(&f, "b.csv", 0..300, "I"),
            )
        } else {
            (
                class_marks(&f, "a.csv", 0..150, "N"),
                class_marks(&f, "b.csv", 150..300, "I"),
            )
        };
        let first = ingest_args(&f, &pupils, &a).spawn().unwrap();
        let second = ingest_args(&f, &pupils, &b).spawn().unwrap();
        let results = [
            first.wait_with_output().unwrap(),
            second.wait_with_output().unwrap(),
        ];
        let ok: Vec<bool> = results.iter().map(|o| o.status.success()).collect();
        assert!(
            ok.iter().any(|x| *x),
            "trial {trial}: neither ingest succeeded"
        );
        for o in results.iter().filter(|o| !o.status.success()) {
            let e = stderr(o);
            assert!(
                e.contains("is busy: ") || e.contains("changed while this command ran"),
                "trial {trial}: the refused ingest says why: {e}"
            );
            assert_eq!(e.trim().lines().count(), 1, "one line: {e}");
        }
        assert!(
            duplicate_keys(&f).await.contains("| 0 "),
            "trial {trial}: {}",
            duplicate_keys(&f).await
        );
        // Each successful ingest's marks are all there: 10 a pupil.
        let per_file = if trial % 2 == 0 { 3000 } else { 1500 };
        let winners = ok.iter().filter(|x| **x).count();
        let expected = if trial % 2 == 0 {
            3000
        } else {
            per_file * winners
        };
        let n = f.query("SELECT count(*) AS n FROM registers").await;
        assert!(n.contains(&format!("| {expected} ")), "trial {trial}: {n}");
        // Nothing of a staging directory is left, and the loser can run again.
        let staging = f.data_dir().join("_staging");
        assert!(
            !staging.exists() || std::fs::read_dir(&staging).unwrap().next().is_none(),
            "staging left behind"
        );
    }
}

/// With `--wait`, the second writer waits for the first and then runs: disjoint loads both
/// land.
#[tokio::test]
async fn a_waiting_writer_runs_after_the_first() {
    let f = Fixture::new();
    let pupils = class(&f, 300);
    let a = class_marks(&f, "a.csv", 0..150, "N");
    let b = class_marks(&f, "b.csv", 150..300, "I");
    let first = ingest_args(&f, &pupils, &a).arg("--wait").spawn().unwrap();
    let second = ingest_args(&f, &pupils, &b).arg("--wait").spawn().unwrap();
    let first = first.wait_with_output().unwrap();
    let second = second.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(second.status.success(), "{}", stderr(&second));
    let n = f.query("SELECT count(*) AS n FROM registers").await;
    assert!(n.contains("| 3000 "), "{n}");
}

/// While a command holds the lock, another writer is refused with the holder named, and a
/// reader is not blocked.
#[tokio::test]
async fn a_held_lock_refuses_writers_and_names_the_holder() {
    let f = Fixture::loaded().await;
    let store = f.store();
    let lock = store.lock("ingest", false).unwrap();
    let o = run_str(&[
        "summarise",
        "--data",
        f.data_dir().to_str().unwrap(),
        "--force",
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains(&format!("is busy: ingest by pid {}", std::process::id())),
        "{e}"
    );
    let o = run_str(&[
        "sql",
        "--data",
        f.data_dir().to_str().unwrap(),
        "-c",
        "SELECT count(*) FROM registers",
    ]);
    assert!(
        o.status.success(),
        "a reader is not blocked: {}",
        stderr(&o)
    );
    drop(lock);
    let o = run_str(&[
        "summarise",
        "--data",
        f.data_dir().to_str().unwrap(),
        "--force",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `generate` into a store with data refuses without `--force`; with it, the store's earlier
/// input files no longer count as loaded, so they can be loaded again.
#[tokio::test]
async fn generate_refuses_a_store_with_data_and_forgets_what_it_replaced() {
    let f = Fixture::loaded().await;
    let data = f.data_dir();
    let data = data.to_str().unwrap();
    let before = snapshot(&f.data_dir());
    let o = run_str(&["generate", "--data", data, "--pupils", "300"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("give --force"), "{}", stderr(&o));
    assert_eq!(
        before,
        snapshot(&f.data_dir()),
        "the refused generate changed the store"
    );

    let o = run_str(&["generate", "--data", data, "--pupils", "300", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The fixture's files load again (into the generated store, whose schools they replace).
    let registers = f.file("registers.csv", REGISTERS);
    let summary = f.ingest(&f.options(&[&registers])).await.unwrap();
    assert_eq!(summary.registers.files_loaded, 1, "{summary:?}");
    assert_eq!(summary.registers.files_skipped, 0);
}

/// The data files of `registers`' latest version.
async fn register_files(f: &Fixture) -> Vec<PathBuf> {
    active_register_files(&f.store()).await
}

fn flip_bit(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = at % bytes.len();
    bytes[i] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

/// A flipped bit anywhere in a data file is reported by `check` (table and path, exit 1) and
/// fails the query that reads the file; `check --repair` removes the file from the table.
#[tokio::test]
async fn a_flipped_bit_is_found_by_check_and_by_the_query() {
    for at in [4usize, 200, 377, 1000] {
        let f = Fixture::loaded().await;
        let data = f.data_dir();
        let data = data.to_str().unwrap();
        let o = run_str(&["check", "--data", data]);
        assert!(
            o.status.success(),
            "a fresh store is intact: {}{}",
            stdout(&o),
            stderr(&o)
        );

        let files = register_files(&f).await;
        let victim = &files[0];
        flip_bit(victim, at);
        let o = run_str(&["check", "--data", data]);
        assert!(
            !o.status.success(),
            "check must fail on a flipped bit at {at}"
        );
        let name = victim.file_name().unwrap().to_str().unwrap();
        let report = stdout(&o);
        assert!(
            report.contains("DAMAGED: registers/") && report.contains(name),
            "{report}"
        );

        let o = run_str(&[
            "sql",
            "--data",
            data,
            "-c",
            "SELECT code, count(*) FROM registers GROUP BY code",
        ]);
        assert!(!o.status.success(), "the query read a damaged file at {at}");
        assert!(stderr(&o).contains("is damaged"), "{}", stderr(&o));

        let o = run_str(&["check", "--data", data, "--repair"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = run_str(&["check", "--data", data]);
        assert!(o.status.success(), "after repair: {}", stdout(&o));
    }
}

/// A zero-byte latest commit is not read as an empty commit: every command says the table is
/// damaged; `check --repair` removes it, and the table is at the version before it. The
/// summary built from the removed version is then stale (computed live), not counted fresh.
#[tokio::test]
async fn a_damaged_latest_commit_is_refused_and_repaired() {
    let f = Fixture::loaded().await;
    let data = f.data_dir();
    let data_s = data.to_str().unwrap();
    // A correction: P2's N becomes O (version 1 of registers), and the summary is rebuilt.
    let correction = f.file(
        "fix.csv",
        "pupil_id,urn,date,session,code\nP2,100001,2024-09-02,AM,O\n",
    );
    let o = run(&[
        "ingest".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--update".as_ref(),
        "--registers".as_ref(),
        correction.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let log = data.join("registers/_delta_log");
    let latest = log.join(format!("{:020}.json", 1));
    assert!(latest.exists());
    std::fs::write(&latest, b"").unwrap();

    let o = run_str(&[
        "sql",
        "--data",
        data_s,
        "-c",
        "SELECT count(*) FROM registers",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("registers table: its latest commit registers/_delta_log/00000000000000000001.json is damaged"),
        "{}",
        stderr(&o)
    );
    let o = run_str(&["check", "--data", data_s]);
    assert!(!o.status.success());
    assert!(
        stdout(&o).contains("commit 1 is damaged: the file is empty"),
        "{}",
        stdout(&o)
    );

    let o = run_str(&["check", "--data", data_s, "--repair"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!latest.exists());
    // Back at version 0: P2's AM mark is N again, and the summary (built at version 1) is not
    // taken as fresh.
    let code = f
        .query("SELECT code FROM registers WHERE pupil_id = 'P2' AND session = 'AM'")
        .await;
    assert!(code.contains("| N "), "{code}");
    let (_, snapshot) = attendance::session::session(&f.store(), &Default::default())
        .await
        .unwrap();
    assert_eq!(snapshot.summary, attendance::summary::SummaryState::Live);
    // The correction is no longer recorded as loaded: it applies again.
    let summary = f
        .ingest(&attendance::ingest::IngestOptions {
            registers: vec![correction],
            update: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(summary.registers.rows_replaced, 1);
}

/// A store whose first commit was interrupted (only the temporary file in `_delta_log`) is a
/// store with no table yet: the ingest that would have made it runs.
#[tokio::test]
async fn an_interrupted_first_commit_does_not_lock_the_store() {
    let f = Fixture::new();
    let log = f.data_dir().join("registers/_delta_log");
    std::fs::create_dir_all(&log).unwrap();
    std::fs::write(log.join("_commit_0a1b2c.json.tmp"), b"{\"add\":").unwrap();
    let registers = f.file("registers.csv", REGISTERS);
    let summary = f.ingest(&f.options(&[&registers])).await.unwrap();
    assert_eq!(summary.registers.rows_added, 6);
}

/// Re-sending an earlier file with `--update` applies it again: it undoes a correction.
#[tokio::test]
async fn an_earlier_file_sent_again_with_update_undoes_a_correction() {
    let f = Fixture::loaded().await;
    let registers = f.file("registers.csv", REGISTERS);
    let correction = f.file(
        "fix.csv",
        "pupil_id,urn,date,session,code\nP2,100001,2024-09-02,AM,O\n",
    );
    let update = |files: Vec<PathBuf>| attendance::ingest::IngestOptions {
        registers: files,
        update: true,
        ..Default::default()
    };
    f.ingest(&update(vec![correction])).await.unwrap();
    let summary = f.ingest(&update(vec![registers])).await.unwrap();
    assert_eq!(summary.registers.files_skipped, 0);
    assert_eq!(summary.registers.rows_replaced, 1);
    let code = f
        .query("SELECT code FROM registers WHERE pupil_id = 'P2' AND session = 'AM'")
        .await;
    assert!(code.contains("| N "), "{code}");
}

/// Reading is bounded: a record longer than 1 MiB fails its file with the line it starts on,
/// a field longer than 64 KiB is an invalid row; nothing is written.
#[tokio::test]
async fn long_records_and_fields_are_refused_with_their_line() {
    let f = Fixture::new();
    let commas = ",".repeat(2 << 20);
    let registers = f.file(
        "long.csv",
        &format!("pupil_id,urn,date,session,code\nP1,100001,2024-09-02,AM,/\nP1{commas}\n"),
    );
    let e = f.ingest(&f.options(&[&registers])).await.unwrap_err();
    assert!(
        e.contains(
            "long.csv:3: field `-`: the record starting on line 3 is longer than 1048576 bytes"
        ),
        "{e}"
    );
    let long_id = "P".repeat(70 << 10);
    let registers = f.file(
        "field.csv",
        &format!("pupil_id,urn,date,session,code\n{long_id},100001,2024-09-02,AM,/\n"),
    );
    let e = f.ingest(&f.options(&[&registers])).await.unwrap_err();
    assert!(
        e.contains("field.csv:2: field `pupil_id`: a value longer than 65536 bytes"),
        "{e}"
    );
    assert!(!e.contains(&long_id[..100]), "the value is not echoed");
    assert!(
        f.store()
            .load(attendance::store::Table::Registers)
            .await
            .unwrap()
            .is_none()
    );
}

/// Only regular files are read: a device is refused, a FIFO or link in a directory is passed
/// over with a note, a dangling link is an error, and an ingest given nothing to load fails.
#[tokio::test]
async fn only_regular_files_are_read() {
    let f = Fixture::new();
    let o = run_str(&[
        "ingest",
        "--data",
        f.data_dir().to_str().unwrap(),
        "--registers",
        "/dev/zero",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("/dev/zero is not a regular file or a directory"),
        "{}",
        stderr(&o)
    );

    let dir = f.dir.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    let e = f
        .ingest(&attendance::ingest::IngestOptions {
            registers: vec![dir.clone()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(e.contains("nothing to load"), "{e}");

    let status = Command::new("mkfifo")
        .arg(dir.join("pipe.csv"))
        .status()
        .unwrap();
    assert!(status.success());
    std::os::unix::fs::symlink("/nonexistent/x.csv", dir.join("dangling.csv")).unwrap();
    let good = f.file("in/registers.csv", REGISTERS);
    assert!(good.exists());
    let summary = f
        .ingest(&attendance::ingest::IngestOptions {
            registers: vec![dir.clone()],
            ..f.options(&[])
        })
        .await
        .unwrap();
    assert_eq!(summary.registers.rows_added, 6);
    let notes = summary.notes.join("\n");
    assert!(notes.contains("pipe.csv: not a regular file"), "{notes}");
    assert!(notes.contains("dangling.csv: a link"), "{notes}");

    let e = f
        .ingest(&attendance::ingest::IngestOptions {
            registers: vec![dir.join("dangling.csv")],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(e.contains("a link to nothing"), "{e}");

    let header_only = f.file("empty.csv", "pupil_id,urn,date,session,code\n");
    let e = f
        .ingest(&attendance::ingest::IngestOptions {
            registers: vec![header_only],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(e.contains("a header and no rows"), "{e}");
}

/// A header naming a column twice, a Parquet date column of integers and a list `pupil_id`
/// are refused, not guessed at.
#[tokio::test]
async fn ambiguous_headers_and_undocumented_types_are_refused() {
    use datafusion::arrow::array::{Int32Array, ListArray, StringArray};
    use datafusion::arrow::datatypes::Int32Type;
    use std::sync::Arc;
    let f = Fixture::new();
    let twice = f.file(
        "twice.csv",
        "pupil_id,urn,date,session,code,code\nP1,100001,2024-09-02,AM,/,N\n",
    );
    let e = f.ingest(&f.options(&[&twice])).await.unwrap_err();
    assert!(e.contains("column `code` appears more than once"), "{e}");

    let write = |name: &str, batch: datafusion::arrow::array::RecordBatch| {
        let path = f.dir.path().join(name);
        let file = std::fs::File::create(&path).unwrap();
        let mut w =
            datafusion::parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        path
    };
    let int_date = write(
        "int_date.parquet",
        datafusion::arrow::array::RecordBatch::try_from_iter(vec![
            ("pupil_id", Arc::new(StringArray::from(vec!["P1"])) as _),
            ("urn", Arc::new(Int32Array::from(vec![100001])) as _),
            ("date", Arc::new(Int32Array::from(vec![19968])) as _),
            ("session", Arc::new(StringArray::from(vec!["AM"])) as _),
            ("code", Arc::new(StringArray::from(vec!["/"])) as _),
        ])
        .unwrap(),
    );
    let e = f.ingest(&f.options(&[&int_date])).await.unwrap_err();
    assert!(
        e.contains("column `date` has type Int32; expected a date, or text YYYY-MM-DD"),
        "{e}"
    );
    let list_id = write(
        "list_id.parquet",
        datafusion::arrow::array::RecordBatch::try_from_iter(vec![
            (
                "pupil_id",
                Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
                    Some(vec![Some(1)]),
                ])) as _,
            ),
            ("urn", Arc::new(Int32Array::from(vec![100001])) as _),
            ("date", Arc::new(StringArray::from(vec!["2024-09-02"])) as _),
            ("session", Arc::new(StringArray::from(vec!["AM"])) as _),
            ("code", Arc::new(StringArray::from(vec!["/"])) as _),
        ])
        .unwrap(),
    );
    let e = f.ingest(&f.options(&[&list_id])).await.unwrap_err();
    assert!(e.contains("column `pupil_id` has type List"), "{e}");
}

/// Control characters in a file name are escaped in messages, never printed raw.
#[tokio::test]
async fn control_characters_are_escaped_in_messages() {
    let f = Fixture::new();
    let name = "bad\u{1b}[31mname.csv";
    let path = f.file(
        name,
        "pupil_id,urn,date,session,code\nP1,100001,2024-09-07,AM,/\n",
    );
    let o = run(&[
        "ingest".as_ref(),
        "--data".as_ref(),
        f.data_dir().as_os_str(),
        "--schools".as_ref(),
        f.file("schools.csv", SCHOOLS).as_os_str(),
        "--pupils".as_ref(),
        f.file("pupils.csv", PUPILS).as_os_str(),
        "--registers".as_ref(),
        path.as_os_str(),
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(!e.contains('\u{1b}'), "raw escape in {e:?}");
    assert!(e.contains("bad\\u{1b}[31mname.csv:2"), "{e:?}");
}

/// `vacuum` changes no data: the summary stays fresh; it removes what a killed ingest left in
/// `_staging/`.
#[tokio::test]
async fn vacuum_keeps_the_summary_fresh_and_removes_leftovers() {
    let f = Fixture::loaded().await;
    attendance::summary::summarise(&f.store(), &Default::default(), false)
        .await
        .unwrap();
    let leftover = f.data_dir().join("_staging/ingest-1-2");
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(leftover.join("000000.parquet"), b"x").unwrap();
    f.store()
        .vacuum(chrono::Duration::hours(168), false)
        .await
        .unwrap();
    assert!(!f.data_dir().join("_staging").exists());
    let (_, snapshot) = attendance::session::session(&f.store(), &Default::default())
        .await
        .unwrap();
    assert_eq!(snapshot.summary, attendance::summary::SummaryState::Fresh);
}

/// `indicators` writes its files all at once: a run that fails leaves `--out` as it was, a
/// directory of other files is refused without `--force`, and a new run replaces an earlier
/// one's files whole (no file of the earlier run stays).
#[tokio::test]
async fn indicator_outputs_are_published_whole() {
    // The sample store: its schools are large enough for rows in every file.
    let f = Fixture::new();
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/store");
    let copied = Command::new("cp")
        .arg("-r")
        .arg(&sample)
        .arg(f.data_dir())
        .status()
        .unwrap();
    assert!(copied.success());
    let data = f.data_dir();
    let data = data.to_str().unwrap();
    let out = f.dir.path().join("out");
    let out_s = out.to_str().unwrap();

    let o = run_str(&[
        "indicators",
        "--data",
        data,
        "--out",
        out_s,
        "--year",
        "2023-24",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("the store holds no pupils for 2023-24 (it holds: 2024-25)"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "a failed run created --out");

    let o = run_str(&["indicators", "--data", data, "--out", out_s, "--parquet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("attendance_bands.parquet").exists());
    let o = run_str(&["indicators", "--data", data, "--out", out_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !out.join("attendance_bands.parquet").exists(),
        "a file of the earlier run stayed"
    );
    assert!(out.join("attendance_bands.csv").exists());

    std::fs::write(out.join("notes.txt"), b"mine").unwrap();
    let o = run_str(&["indicators", "--data", data, "--out", out_s]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("holds files this command did not write (notes.txt)"));
    assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), b"mine");
    let o = run_str(&["indicators", "--data", data, "--out", out_s, "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // No staging directory is left beside --out.
    let leftovers: Vec<_> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".attendance-"))
        .collect();
    assert!(leftovers.is_empty());
}

/// SQL cannot change the store: every statement kind that writes is refused with a clear
/// message and the store stays byte-identical; scratch work (views, in-memory tables, COPY to
/// a file outside the store) still works.
#[tokio::test]
async fn sql_cannot_change_the_store() {
    let f = Fixture::loaded().await;
    let data = f.data_dir();
    let data_s = data.to_str().unwrap();
    let before = snapshot(&data);
    let inside = data.join("registers/evil.parquet");
    let inside_rel = "store/../store/schools/x.csv";
    let refused = [
        "INSERT INTO registers VALUES ('NOPUPIL', 100000, DATE '2024-09-07', 'XX', 'ZZ', '2024-25', 'E12000001', '805')".to_string(),
        "INSERT INTO schools SELECT * FROM schools".to_string(),
        "DELETE FROM registers WHERE code = 'N'".to_string(),
        "UPDATE registers SET code = 'I' WHERE code = 'N'".to_string(),
        "TRUNCATE TABLE registers".to_string(),
        "DROP TABLE registers".to_string(),
        "DROP VIEW enrolment_summary".to_string(),
        "ALTER TABLE registers ADD COLUMN x INT".to_string(),
        "MERGE INTO registers r USING schools s ON r.urn = s.urn WHEN MATCHED THEN DELETE".to_string(),
        "CREATE OR REPLACE VIEW registers AS SELECT 1".to_string(),
        "CREATE OR REPLACE TABLE pupils AS SELECT 1".to_string(),
        format!("COPY (SELECT 1) TO '{}'", inside.display()),
        format!("COPY (SELECT 1) TO '{inside_rel}' STORED AS CSV"),
        format!("CREATE EXTERNAL TABLE ext STORED AS PARQUET LOCATION '{}/registers/'", data.display()),
        "EXPLAIN ANALYZE INSERT INTO schools SELECT * FROM schools".to_string(),
    ];
    for statement in &refused {
        let o = Command::new(BIN)
            .current_dir(f.dir.path())
            .args(["sql", "--data", data_s, "-c", statement])
            .output()
            .unwrap();
        assert!(!o.status.success(), "not refused: {statement}");
        let e = stderr(&o);
        assert!(
            e.contains("is refused: SQL reads the store and never changes it"),
            "{statement}: {e}"
        );
        let errors: Vec<&str> = e.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(errors.len(), 1, "{statement}: one error line: {e}");
        assert!(!e.contains("Error during planning: Error"), "{e}");
        assert!(before == snapshot(&data), "{statement} changed the store");
    }
    // Scratch work.
    let outside = f.dir.path().join("result.csv");
    let script = format!(
        "CREATE VIEW absent AS SELECT * FROM registers WHERE is_absence(code);\n\
         CREATE TABLE scratch AS SELECT pupil_id, count(*) AS n FROM absent GROUP BY pupil_id;\n\
         INSERT INTO scratch VALUES ('X', 1);\n\
         COPY (SELECT * FROM scratch ORDER BY pupil_id) TO '{}' STORED AS CSV;\n\
         SELECT count(*) AS n FROM scratch;",
        outside.display()
    );
    let o = run_str(&["sql", "--data", data_s, "--format", "csv", "-c", &script]);
    assert!(o.status.success(), "{}", stderr(&o));
    // P2 has N and I (2 absences); the inserted row makes 2 rows.
    assert!(stdout(&o).trim_end().ends_with("n\n2"), "{}", stdout(&o));
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        "pupil_id,n\nP2,2\nX,1\n"
    );
    assert!(before == snapshot(&data), "scratch work changed the store");
}

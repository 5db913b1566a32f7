//! Bounded resources (issue 16): commands finish within a small memory budget or refuse it up
//! front; a full disk and a read-only store give one clear line and leave the store as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_attendance");

fn attendance(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run attendance")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Generated input files (`generate --csv`) of `pupils` pupils, in `dir`.
fn generated_inputs(dir: &Path, pupils: usize) -> PathBuf {
    let csv = dir.join("csv");
    let o = attendance(&[
        "generate",
        "--data",
        s(&dir.join("unused")),
        "--pupils",
        &pupils.to_string(),
        "--seed",
        "3",
        "--csv",
        s(&csv),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    csv
}

/// Every register row of the generated files, in one file, in an order far from the storage
/// order (rows sorted by a hash of the line), and the number of marks of each code, counted
/// here from the text.
fn shuffled_registers(csv: &Path, out: &Path) -> BTreeMap<String, u64> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut rows = vec![];
    let mut files: Vec<_> = std::fs::read_dir(csv.join("registers"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut header = String::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut lines = text.lines();
        header = lines.next().unwrap().to_string();
        rows.extend(lines.map(str::to_string));
    }
    assert_eq!(header, "pupil_id,urn,date,session,code");
    let hash = |line: &String| {
        let mut h = DefaultHasher::new();
        line.hash(&mut h);
        h.finish()
    };
    rows.sort_by_cached_key(hash);
    let mut codes = BTreeMap::new();
    for row in &rows {
        *codes
            .entry(row.rsplit(',').next().unwrap().to_string())
            .or_insert(0) += 1;
    }
    std::fs::write(out, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    codes
}

/// `SELECT code, count(*)` over the store's registers, as a map.
fn stored_codes(data: &Path) -> BTreeMap<String, u64> {
    let o = attendance(&[
        "sql",
        "--data",
        s(data),
        "--format",
        "csv",
        "-c",
        "SELECT code, count(*) AS n FROM registers GROUP BY code ORDER BY code",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let (code, n) = l.rsplit_once(',').unwrap();
            (code.trim_matches('"').to_string(), n.parse().unwrap())
        })
        .collect()
}

/// An unsorted register file of about two million marks (the size that ran out of memory at
/// every budget up to 512 MB) loads at `-m 128M`, spilling, with every mark stored; the
/// indicators job runs at 128 MB too; a budget below 128 MB is refused before anything runs.
#[tokio::test]
async fn an_unsorted_load_and_the_indicators_fit_in_128_mb() {
    let f = Fixture::new();
    let csv = generated_inputs(f.dir.path(), 5_000);
    let unsorted = f.dir.path().join("unsorted.csv");
    let expected = shuffled_registers(&csv, &unsorted);
    let marks: u64 = expected.values().sum();
    assert!(marks > 1_800_000, "{marks} marks");

    let data = f.data_dir();
    let o = attendance(&["ingest", "-m", "96M", "--data", s(&data)]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("below 128 MB, the smallest budget every command works in"),
        "{}",
        stderr(&o)
    );
    assert!(!data.exists(), "a refused budget created the store");

    let o = attendance(&[
        "ingest",
        "-m",
        "128M",
        "--data",
        s(&data),
        "--schools",
        s(&csv.join("schools.csv")),
        "--pupils",
        s(&csv.join("pupils.csv")),
        "--registers",
        s(&unsorted),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stored_codes(&data), expected);

    // The same file at the default budget (2 GB), where two in-memory sorts ran out of it in
    // about one run in four.
    let default = f.dir.path().join("default");
    let (schools, pupils) = (csv.join("schools.csv"), csv.join("pupils.csv"));
    let o = attendance(&[
        "ingest",
        "--data",
        s(&default),
        "--schools",
        s(&schools),
        "--pupils",
        s(&pupils),
        "--registers",
        s(&unsorted),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stored_codes(&default), expected);

    let out = f.dir.path().join("out");
    let o = attendance(&[
        "indicators",
        "-m",
        "128M",
        "--data",
        s(&data),
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("manifest.json").is_file());
}

/// A filesystem of `size` bytes mounted on `at` (tmpfs), unmounted when dropped; `None` when
/// this process may not mount (not root, or no mount namespace).
struct SmallDisk {
    at: PathBuf,
}

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", s(at)])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|st| st.success());
        ok.then(|| SmallDisk {
            at: at.to_path_buf(),
        })
    }

    fn remount(&self, options: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,{options}"), s(&self.at)])
            .status()
            .unwrap();
        assert!(st.success(), "remount {options}");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

fn not_run(test: &str, why: &str) {
    eprintln!(
        "\n!!! {test} DID NOT RUN: {why}. It needs root (to mount a small tmpfs); \
         run the tests as root (as .ci/run does in its container) to check this.\n"
    );
}

/// A load into a disk that fills at some point (before staging, while staging, while writing
/// the tables, while rebuilding the summary): either it succeeds, or it fails with one line
/// saying the disk is full, and no table is ever left half-written: `check` finds nothing wrong,
/// and the same load run again on a larger disk stores every mark.
#[tokio::test]
async fn a_full_disk_fails_in_one_line_and_leaves_every_table_whole() {
    let f = Fixture::new();
    let csv = generated_inputs(f.dir.path(), 600);
    let registers = csv.join("registers");
    let expected = {
        let all = f.dir.path().join("all.csv");
        shuffled_registers(&csv, &all)
    };
    let (schools, pupils) = (csv.join("schools.csv"), csv.join("pupils.csv"));
    let mut failures = 0;
    // Sizes from too small for the first commit to enough for the whole load (the store takes
    // about 1 MB, its staging and the summary rebuild more).
    for size in [
        "64k", "256k", "512k", "768k", "1m", "1536k", "2m", "3m", "4m", "6m", "12m",
    ] {
        let at = f.dir.path().join(format!("disk-{size}"));
        let Some(disk) = SmallDisk::mount(&at, size) else {
            return not_run(
                "a_full_disk_fails_in_one_line_and_leaves_every_table_whole",
                "mount failed",
            );
        };
        let data = at.join("store");
        let args = [
            "ingest",
            "--data",
            s(&data),
            "--schools",
            s(&schools),
            "--pupils",
            s(&pupils),
            "--registers",
            s(&registers),
        ];
        let o = attendance(&args);
        let e = stderr(&o);
        if !o.status.success() {
            failures += 1;
            assert!(!e.contains("panicked"), "{size}: {e}");
            let lines: Vec<&str> = e.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(lines.len(), 1, "{size}: one line: {e}");
            assert!(lines[0].starts_with("error: "), "{size}: {e}");
            assert!(e.contains("No space left on device"), "{size}: {e}");
        }
        // Whatever happened, every table is whole: room again, `check` passes and the same load
        // completes it.
        disk.remount("size=64m");
        if data.join("registers/_delta_log").exists() {
            let o = attendance(&["check", "--data", s(&data)]);
            assert!(
                o.status.success(),
                "{size}: check: {}{}",
                stderr(&o),
                String::from_utf8_lossy(&o.stdout)
            );
        }
        let o = attendance(&args);
        assert!(o.status.success(), "{size}: the load again: {}", stderr(&o));
        assert_eq!(stored_codes(&data), expected, "{size}");
    }
    assert!(
        failures >= 3,
        "only {failures} sizes ran out of space: the sizes no longer probe the load"
    );
}

/// A store on a read-only filesystem: every command that writes says so in one line and
/// changes nothing; queries and `indicators` (writing elsewhere) work.
#[tokio::test]
async fn a_read_only_store_is_read_and_never_written() {
    let f = Fixture::loaded().await;
    let at = f.dir.path().join("ro");
    let Some(disk) = SmallDisk::mount(&at, "16m") else {
        return not_run(
            "a_read_only_store_is_read_and_never_written",
            "mount failed",
        );
    };
    let data = at.join("store");
    let o = Command::new("cp")
        .args(["-r", s(&f.data_dir()), s(&data)])
        .status()
        .unwrap();
    assert!(o.success());
    disk.remount("ro");
    let registers = f.file(
        "more.csv",
        "pupil_id,urn,date,session,code\nP1,100001,2024-09-03,AM,/\n",
    );
    let writers: [&[&str]; 6] = [
        &["summarise", "--force"],
        &["vacuum"],
        &["check", "--repair"],
        &["generate", "--pupils", "10", "--force"],
        &["ingest", "--registers", s(&registers)],
        &["ingest", "--registers", s(&registers), "--update"],
    ];
    for command in writers {
        let mut args = command.to_vec();
        args.extend(["--data", s(&data)]);
        let o = attendance(&args);
        let e = stderr(&o);
        assert!(!o.status.success(), "{command:?}");
        assert!(!e.contains("panicked"), "{command:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{command:?}: {e}");
        assert!(
            e.contains("is read-only here: this command writes to it"),
            "{command:?}: {e}"
        );
    }
    let o = attendance(&[
        "sql",
        "--data",
        s(&data),
        "--format",
        "csv",
        "-c",
        "SELECT count(*) AS n FROM registers",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The fixture's six marks.
    assert_eq!(String::from_utf8_lossy(&o.stdout), "n\n6\n");
    let out = f.dir.path().join("out");
    let o = attendance(&[
        "indicators",
        "--data",
        s(&data),
        "--out",
        s(&out),
        "--no-suppress",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = attendance(&["check", "--data", s(&data)]);
    assert!(o.status.success(), "{}", stderr(&o));
}

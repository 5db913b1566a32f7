//! `attendance check`: verifies every table's transaction log and every live data file, and
//! reports each damage by table and path; `--repair` mends what can be mended without data
//! from outside (see the README, "Checking a store and recovering").
//!
//! What is checked, table by table:
//! - the log: every commit file `_delta_log/NNN.json` is non-empty and each of its lines is a
//!   JSON action; the versions have no gap; the temporary file of an interrupted commit is
//!   reported (harmless: no reader sees it);
//! - the snapshot: the latest version loads;
//! - every file of the latest version: it exists, has the size its commit recorded, and its
//!   bytes match the checksum written with it ([`super::checksum`]); a file with no recorded
//!   checksum is decoded in full instead.

use std::collections::BTreeSet;
use std::path::Path;

use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;

use super::checksum::{CHECKSUM_DIR, ChecksumStore, Verdict};
use super::{Store, StoreError};

/// The state of a table's latest commit file.
#[derive(Debug, PartialEq, Eq)]
pub enum LatestCommit {
    /// No commit at all (at most the temporary file of an interrupted first commit).
    None,
    Ok,
    /// The latest commit file is empty or not JSON lines.
    Damaged {
        file: String,
        why: String,
    },
}

/// Commit versions in a `_delta_log` directory, and whether it has a checkpoint.
fn commit_versions(log: &Path) -> std::io::Result<(BTreeSet<u64>, bool)> {
    let mut versions = BTreeSet::new();
    let mut checkpoint = false;
    for entry in std::fs::read_dir(log)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(stem) = name.strip_suffix(".json")
            && stem.len() == 20
            && let Ok(v) = stem.parse::<u64>()
        {
            versions.insert(v);
        } else if name.contains(".checkpoint") && name.ends_with(".parquet") {
            checkpoint = true;
        }
    }
    Ok((versions, checkpoint))
}

fn commit_file(version: u64) -> String {
    format!("{version:020}.json")
}

/// Why a commit file is not a valid commit, if it is not.
fn commit_problem(path: &Path) -> std::io::Result<Option<String>> {
    let bytes = std::fs::read(path)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some("the file is empty".to_string()));
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(Some("bytes that are not UTF-8".to_string()));
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if serde_json::from_str::<serde_json::Value>(line)
            .map(|v| !v.is_object())
            .unwrap_or(true)
        {
            return Ok(Some(format!("line {} is not a JSON action", i + 1)));
        }
    }
    Ok(None)
}

/// The state of the latest commit in `log` (a `_delta_log` directory).
pub fn latest_commit(log: &Path) -> std::io::Result<LatestCommit> {
    let (versions, checkpoint) = commit_versions(log)?;
    let Some(&latest) = versions.last() else {
        return Ok(if checkpoint {
            LatestCommit::Ok
        } else {
            LatestCommit::None
        });
    };
    let file = commit_file(latest);
    Ok(match commit_problem(&log.join(&file))? {
        Some(why) => LatestCommit::Damaged { file, why },
        None => LatestCommit::Ok,
    })
}

/// One damage (or notice) found by [`check`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    pub table: String,
    /// The path inside the store (`registers/_delta_log/...json`, `registers/academic_year=...`).
    pub path: String,
    pub problem: String,
    /// Damage (the store cannot be read as written) rather than a notice.
    pub damage: bool,
    /// What `check --repair` does, or did, about it (empty: it cannot).
    pub repair: String,
}

/// The report of [`check`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    pub tables: usize,
    pub commits: usize,
    pub files: usize,
    pub bytes: u64,
    pub findings: Vec<Finding>,
}

impl Finding {
    fn new(table: &str, path: String, problem: String, damage: bool, repair: &str) -> Self {
        Self {
            table: table.to_string(),
            path,
            problem,
            damage,
            repair: repair.to_string(),
        }
    }
}

impl CheckReport {
    pub fn damaged(&self) -> bool {
        self.findings.iter().any(|f| f.damage)
    }
}

/// Checks every table of `store`; with `repair`, also mends (under the write lock):
/// - a damaged *latest* commit is removed, so the table is at the version before it (the
///   ingest that made it can then be run again: its files are no longer recorded as loaded);
/// - the temporary files of interrupted commits are removed;
/// - damaged data files are removed from the table by a commit (the marks they held must be
///   loaded again, with `ingest --update`, from the input files of their partitions).
pub async fn check(store: &Store, repair: bool) -> Result<CheckReport, StoreError> {
    let _lock = if repair {
        Some(store.lock("check --repair", false)?)
    } else {
        None
    };
    let mut report = CheckReport::default();
    for name in store.table_names() {
        let dir = store.root().join(name);
        let log = dir.join("_delta_log");
        if !log.is_dir() {
            continue;
        }
        report.tables += 1;
        let io = |e| StoreError::Io(log.display().to_string(), e);
        let (versions, _) = commit_versions(&log).map_err(io)?;
        report.commits += versions.len();
        let finding = |path: String, problem: String, damage: bool, repair: &str| {
            Finding::new(name, path, problem, damage, repair)
        };
        for entry in std::fs::read_dir(&log).map_err(io)? {
            let entry = entry.map_err(io)?;
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.starts_with("_commit_") && file.ends_with(".tmp") {
                report.findings.push(finding(
                    format!("{name}/_delta_log/{file}"),
                    "the temporary file of an interrupted commit (no reader sees it)".into(),
                    false,
                    "removed",
                ));
                if repair {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        let latest = versions.last().copied();
        let mut removed_latest = false;
        for (i, &version) in versions.iter().enumerate() {
            if i > 0 && version != versions.iter().nth(i - 1).expect("i > 0") + 1 {
                report.findings.push(finding(
                    format!("{name}/_delta_log/"),
                    format!("commits before version {version} are missing"),
                    true,
                    "",
                ));
            }
            let file = commit_file(version);
            let Some(problem) = commit_problem(&log.join(&file)).map_err(io)? else {
                continue;
            };
            let is_latest = Some(version) == latest;
            report.findings.push(finding(
                format!("{name}/_delta_log/{file}"),
                format!("commit {version} is damaged: {problem}"),
                true,
                if is_latest {
                    "removed: the table is back at the version before it"
                } else {
                    ""
                },
            ));
            if repair && is_latest {
                std::fs::remove_file(log.join(&file)).map_err(io)?;
                removed_latest = true;
            }
        }
        let table = match store.open_named(name).await {
            Ok(Some(table)) => table,
            Ok(None) => continue,
            Err(e) => {
                if !removed_latest {
                    report.findings.push(finding(
                        format!("{name}/"),
                        format!("the table cannot be read: {e}"),
                        true,
                        "",
                    ));
                }
                continue;
            }
        };
        let damaged_files = check_files(store, name, &dir, &table, &mut report).await?;
        if repair && !damaged_files.is_empty() {
            remove_files(&table, name, &damaged_files).await?;
        }
    }
    Ok(report)
}

/// Checks every live file of `table` (directory `dir`) into `report`; returns the paths of
/// the damaged ones.
async fn check_files(
    store: &Store,
    name: &'static str,
    dir: &Path,
    table: &deltalake::DeltaTable,
    report: &mut CheckReport,
) -> Result<Vec<String>, StoreError> {
    let mut damaged_files = Vec::new();
    for file in live_files(table)? {
        report.files += 1;
        let (problem, damage) = match file_state(store, name, dir, &file, report).await? {
            FileState::Intact => continue,
            FileState::Damaged(problem) => (problem, true),
            FileState::Notice(problem) => (problem, false),
        };
        let repair = if damage { "removed from the table" } else { "" };
        report.findings.push(Finding::new(
            name,
            format!("{name}/{}", file.path),
            problem,
            damage,
            repair,
        ));
        if damage {
            damaged_files.push(file.path);
        }
    }
    Ok(damaged_files)
}

/// What [`file_state`] found of one live file.
enum FileState {
    Intact,
    /// It cannot be read as written (a repair removes it from the table): why.
    Damaged(String),
    /// It reads, but something is worth saying.
    Notice(String),
}

/// The state of one live file: there, of the size its commit recorded, of the checksum
/// recorded when it was written (or, with none recorded, decoding). Its bytes are counted
/// into `report`.
async fn file_state(
    store: &Store,
    name: &'static str,
    dir: &Path,
    file: &LiveFile,
    report: &mut CheckReport,
) -> Result<FileState, StoreError> {
    let path = dir.join(&file.path);
    let Ok(meta) = std::fs::metadata(&path) else {
        return Ok(FileState::Damaged("the file is missing".into()));
    };
    report.bytes += meta.len();
    if meta.len() != file.size {
        return Ok(FileState::Damaged(format!(
            "it has {} bytes, its commit recorded {}",
            meta.len(),
            file.size
        )));
    }
    Ok(match verify_file(store, name, &file.path).await? {
        Verdict::Intact => FileState::Intact,
        Verdict::Damaged(why) => FileState::Damaged(format!("the file is damaged: {why}")),
        Verdict::Unrecorded => match decode(&path) {
            Err(e) => FileState::Damaged(format!("the file cannot be decoded: {e}")),
            Ok(()) => FileState::Notice(
                "no checksum was recorded for it (written before checksums, or by another program); it decodes".into(),
            ),
        },
    })
}

/// A live file of a snapshot: its path relative to the table and the size its commit recorded.
struct LiveFile {
    path: String,
    size: u64,
}

fn live_files(table: &deltalake::DeltaTable) -> Result<Vec<LiveFile>, StoreError> {
    let snapshot = table
        .snapshot()
        .map_err(StoreError::delta("?", table.table_url().to_string()))?;
    let files = snapshot.log_data();
    Ok(files
        .iter()
        .map(|f| LiveFile {
            path: f.path().to_string(),
            size: f.size() as u64,
        })
        .collect())
}

async fn verify_file(store: &Store, table: &str, rel: &str) -> Result<Verdict, StoreError> {
    let abs = store
        .root()
        .canonicalize()
        .map_err(|e| StoreError::Io(store.root().display().to_string(), e))?;
    let root = object_store::path::Path::from_filesystem_path(&abs)
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let checker = ChecksumStore::new(
        std::sync::Arc::new(object_store::local::LocalFileSystem::new()),
        root.clone(),
    );
    let location = object_store::path::Path::from(format!("{}/{table}/{rel}", root.as_ref()));
    let rel = format!("{table}/{rel}");
    checker
        .verify(&location, &rel)
        .await
        .map_err(|e| StoreError::Invalid(format!("{rel}: {e}")))
}

/// Reads every row of a Parquet file.
fn decode(path: &Path) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| e.to_string())?
        .build()
        .map_err(|e| e.to_string())?;
    for batch in reader {
        batch.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Commits the removal of `paths` from `table`.
async fn remove_files(
    table: &deltalake::DeltaTable,
    name: &'static str,
    paths: &[String],
) -> Result<(), StoreError> {
    use deltalake::kernel::Action;
    use deltalake::kernel::transaction::{CommitBuilder, TableReference};
    use futures::TryStreamExt;
    let error = StoreError::delta(name, table.table_url().to_string());
    let snapshot = table.snapshot().map_err(&error)?;
    let log_store = table.log_store();
    let wanted: BTreeSet<&str> = paths.iter().map(String::as_str).collect();
    let removes: Vec<Action> = snapshot
        .snapshot()
        .file_views(log_store.as_ref(), None)
        .try_filter(|file| futures::future::ready(wanted.contains(file.path().as_ref())))
        .map_ok(|file| Action::Remove(file.remove_action(true)))
        .try_collect()
        .await
        .map_err(&error)?;
    CommitBuilder::from(
        deltalake::kernel::transaction::CommitProperties::default()
            .with_metadata([(
                "attendance.repair".to_string(),
                serde_json::json!({"removedDamagedFiles": paths}),
            )])
            .with_max_retries(0),
    )
    .with_actions(removes)
    .build(
        Some(snapshot as &dyn TableReference),
        log_store,
        deltalake::protocol::DeltaOperation::Delete { predicate: None },
    )
    .await
    .map_err(&error)?;
    Ok(())
}

/// Checksums whose data file is gone (deleted by vacuum); with `delete`, removes them.
/// Returns their paths inside the store.
pub fn orphan_checksums(store: &Store, delete: bool) -> Result<Vec<String>, StoreError> {
    let base = store.root().join(CHECKSUM_DIR);
    let mut orphans = Vec::new();
    if !base.is_dir() {
        return Ok(orphans);
    }
    let mut dirs = vec![base.clone()];
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| StoreError::Io(dir.display().to_string(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::Io(dir.display().to_string(), e))?;
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let rel = path.strip_prefix(&base).expect("below base");
            let Some(data) = rel.to_str().and_then(|r| r.strip_suffix(".crc32")) else {
                continue;
            };
            if !store.root().join(data).exists() {
                orphans.push(format!("{CHECKSUM_DIR}/{}", rel.display()));
                if delete {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    }
    orphans.sort();
    Ok(orphans)
}

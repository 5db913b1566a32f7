//! `attendance ingest`: load schools, pupils and register marks into the store.
//!
//! # Semantics (DOMAIN.md section 5)
//! - Every row is validated; on any invalid row the whole ingest fails and nothing is written,
//!   with the first 20 errors (file, line, field, reason) and a count. With a reject file, the
//!   invalid rows go there with their reason and the rest is loaded.
//! - A file whose content (SHA-256) was loaded before into a table is skipped: loading the same
//!   file twice is a no-op. Commits record the hashes in their `commitInfo`.
//! - School and enrolment rows replace stored rows with the same key (`urn`;
//!   `academic_year, pupil_id, urn`).
//! - A mark already stored with the same code is a no-op; with another code it is a conflict,
//!   unless `update` is set, when the new code replaces the stored one.
//!
//! # Failure modes
//! Validation runs to the end before anything is written. Then each table gets exactly one Delta
//! commit, in the order schools, pupils, registers: a crash leaves each table at its old or its
//! new version, never in between; the next run skips what was committed (by hash) and completes
//! the rest. Parquet files written by an interrupted commit are never referenced by the log, so
//! readers never see them.
//!
//! # Cost
//! Register rows are validated in parallel (one file per task) and staged as Parquet under
//! `DATA/_staging/`, so memory stays bounded whatever the input size. New marks for partitions
//! with nothing in common with the store are appended as new sorted files; when any mark is
//! already stored, only the partitions (academic year × LA) the ingest touches are rewritten.

mod error;
mod fields;
mod source;
mod validate;

pub use error::{IngestError, MAX_REPORTED_ERRORS, Problems, RowError};
pub use fields::{academic_year_of, date32, format_academic_year, from_date32, parse_date};
pub use source::csv_line;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::datatypes::{Date32Type, Int32Type, Int64Type};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::MemTable;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use deltalake::protocol::SaveMode;
use futures::{StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

use self::source::{InputFile, read_records};
use self::validate::*;
use crate::session::{DEFAULT_MEMORY_LIMIT, SessionOptions, base_session};
use crate::store::write::{BatchSender, BatchSource, Commit, write_sources};
use crate::store::{Store, Table, commit_properties};

/// What to load, and how.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    pub schools: Vec<PathBuf>,
    pub pupils: Vec<PathBuf>,
    /// Register files, or directories whose `.csv` and `.parquet` files are all loaded.
    pub registers: Vec<PathBuf>,
    /// Let a mark with a new code replace a stored mark (corrections such as `N` to a reason).
    pub update: bool,
    /// Write invalid rows with their reason to this file and load the rest.
    pub reject_file: Option<PathBuf>,
    /// Show a progress bar on stderr (only drawn when stderr is a terminal).
    pub progress: bool,
    /// From how many staged marks on the checks and the sort plan for memory rather than speed
    /// (one sort at a time, sort-merge joins); `None`: 4 million.
    pub large_input_rows: Option<usize>,
    pub session: SessionOptions,
    /// Wait for another command writing the store to finish, instead of failing at once.
    pub wait: bool,
}

/// What one table received.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct TableSummary {
    pub files_loaded: usize,
    /// Files whose content was already loaded (no-ops).
    pub files_skipped: usize,
    pub rows_read: u64,
    pub rows_rejected: u64,
    /// Rows stored that were not stored before.
    pub rows_added: u64,
    /// Stored rows replaced by a row with the same key and new content.
    pub rows_replaced: u64,
    /// Rows identical to a stored row (no-ops).
    pub rows_unchanged: u64,
    pub partitions: usize,
    /// Table version after the ingest (None: never written).
    pub version: Option<u64>,
}

/// The report of an ingest.
#[derive(Debug, Default, Clone, Serialize)]
pub struct IngestSummary {
    pub schools: TableSummary,
    pub pupils: TableSummary,
    pub registers: TableSummary,
    /// Marks entered as `-` (no mark): stored, counted in no measure.
    pub missing_marks: u64,
    /// The marks arrived in storage order (every register file sorted, no two overlapping) and
    /// were written as they came, without a sort or a search for duplicates.
    pub presorted: bool,
    pub seconds: f64,
    /// Where the time went: reading and validating the input (and staging the marks), checking
    /// the marks against each other and the store, and writing and committing the tables.
    pub phases: Phases,
    /// What was passed over in the input, and why (entries of a directory that are not
    /// regular files, files with no rows).
    pub notes: Vec<String>,
}

/// Seconds spent in each phase of an ingest.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Phases {
    pub validate: f64,
    pub check: f64,
    pub write: f64,
}

impl std::fmt::Display for IngestSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, t) in [
            ("schools", &self.schools),
            ("pupils", &self.pupils),
            ("registers", &self.registers),
        ] {
            if t.files_loaded + t.files_skipped == 0 {
                continue;
            }
            write!(
                f,
                "{name:<9}: {} file(s) loaded, {} already loaded; {} rows read, {} added, {} replaced, {} unchanged, {} rejected",
                t.files_loaded,
                t.files_skipped,
                t.rows_read,
                t.rows_added,
                t.rows_replaced,
                t.rows_unchanged,
                t.rows_rejected
            )?;
            if name == "registers" {
                write!(f, "; {} partition(s)", t.partitions)?;
            }
            if let Some(v) = t.version {
                write!(f, "; version {v}")?;
            }
            writeln!(f)?;
        }
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        if self.missing_marks > 0 {
            writeln!(
                f,
                "data quality: {} mark(s) entered as `-` (no mark)",
                self.missing_marks
            )?;
        }
        let rows = self.schools.rows_read + self.pupils.rows_read + self.registers.rows_read;
        write!(
            f,
            "{rows} rows in {:.2} s ({:.0} rows/s)",
            self.seconds,
            rows as f64 / self.seconds.max(1e-9)
        )
    }
}

/// Expands directories into their `.csv`/`.parquet` files (sorted by name). Only regular
/// files are read: a path given by name may be a link to one; in a directory, links and
/// anything that is not a regular file are passed over with a note. A path that does not
/// exist, a dangling link, or a given path that is not a regular file or directory (a FIFO, a
/// device such as /dev/zero) is an error.
fn expand(paths: &[PathBuf], notes: &mut Vec<String>) -> Result<Vec<PathBuf>, IngestError> {
    let mut out = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| {
            if std::fs::symlink_metadata(path).is_ok() {
                IngestError::Input(format!("{shown}: a link to nothing ({e})"))
            } else {
                IngestError::io(&shown, e)
            }
        })?;
        if meta.is_dir() {
            let mut files = Vec::new();
            let entries = std::fs::read_dir(path).map_err(|e| IngestError::io(&shown, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| IngestError::io(&shown, e))?;
                let p = entry.path();
                let is_input = p.extension().is_some_and(|e| {
                    e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("parquet")
                });
                let kind = entry.file_type().map_err(|e| IngestError::io(&shown, e))?;
                if kind.is_file() && is_input {
                    files.push(p);
                } else if is_input || kind.is_symlink() {
                    let what = if kind.is_symlink() {
                        "a link"
                    } else if kind.is_dir() {
                        "a directory"
                    } else {
                        "not a regular file"
                    };
                    notes.push(format!("skipped {}: {what}", p.display()));
                }
            }
            if files.is_empty() {
                notes.push(format!("{shown} holds no .csv or .parquet file"));
            }
            files.sort();
            out.extend(files);
        } else if meta.is_file() {
            out.push(path.clone());
        } else {
            return Err(IngestError::Input(format!(
                "{shown} is not a regular file or a directory: only files are read"
            )));
        }
    }
    Ok(out)
}

/// Input files of one table, split into those to load and those already loaded.
struct Inputs {
    load: Vec<InputFile>,
    skipped: usize,
}

/// With `reapply` (an ingest with `--update`), a file already loaded is loaded again: its
/// marks then replace whatever the store holds now (re-sending an earlier file undoes a
/// correction made since).
async fn inputs(
    store: &Store,
    table: Table,
    paths: &[PathBuf],
    reapply: bool,
    notes: &mut Vec<String>,
) -> Result<Inputs, IngestError> {
    let files = expand(paths, notes)?;
    if files.is_empty() {
        return Ok(Inputs {
            load: vec![],
            skipped: 0,
        });
    }
    let loaded = if reapply {
        HashSet::new()
    } else {
        store.loaded_files(table).await?
    };
    let mut seen = HashSet::new();
    let mut load = Vec::new();
    let mut skipped = 0;
    for path in files {
        let file = InputFile::open(&path)?;
        if loaded.contains(&file.sha256) || !seen.insert(file.sha256.clone()) {
            skipped += 1;
        } else {
            load.push(file);
        }
    }
    Ok(Inputs { load, skipped })
}

fn progress_bar(show: bool, total_bytes: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("template")
        .progress_chars("=> "),
    );
    bar
}

/// A spinner with a message and the time spent, on stderr (drawn only when it is a terminal).
fn spinner(show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    // Cleared when dropped too (an error), so the error message stands alone.
    let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        .with_finish(indicatif::ProgressFinish::AndClear);
    spinner
        .set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("template"));
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    spinner
}

/// Runs an ingest. See the module documentation for the semantics.
pub async fn ingest(store: &Store, options: &IngestOptions) -> Result<IngestSummary, IngestError> {
    let started = Instant::now();
    if options.schools.is_empty() && options.pupils.is_empty() && options.registers.is_empty() {
        return Err(IngestError::NoInput);
    }
    let _lock = store.lock("ingest", options.wait)?;
    let mut summary = IngestSummary::default();
    let keep_rejects = options.reject_file.is_some();
    let mut problems = Problems::new(keep_rejects);

    let notes = &mut summary.notes;
    let school_inputs = inputs(store, Table::Schools, &options.schools, false, notes).await?;
    let pupil_inputs = inputs(store, Table::Pupils, &options.pupils, false, notes).await?;
    let register_inputs = inputs(
        store,
        Table::Registers,
        &options.registers,
        options.update,
        notes,
    )
    .await?;
    let given = school_inputs.load.len() + pupil_inputs.load.len() + register_inputs.load.len();
    let skipped = school_inputs.skipped + pupil_inputs.skipped + register_inputs.skipped;
    if given + skipped == 0 {
        return Err(IngestError::Input(
            "nothing to load: the paths given hold no .csv or .parquet file".to_string(),
        ));
    }
    summary.schools.files_skipped = school_inputs.skipped;
    summary.pupils.files_skipped = pupil_inputs.skipped;
    summary.registers.files_skipped = register_inputs.skipped;

    let total_bytes: u64 = [&school_inputs, &pupil_inputs, &register_inputs]
        .iter()
        .flat_map(|i| i.load.iter().map(|f| f.bytes))
        .sum();
    let bar = progress_bar(options.progress, total_bytes);

    let mut session = options.session.clone();
    if session.memory_limit == DEFAULT_MEMORY_LIMIT {
        // Of the default 2 GB, what ingest's own buffers (staging, writers) and what the
        // queries hold outside their budget leave for the queries.
        session.memory_limit = INGEST_QUERY_MEMORY;
    }
    let ctx = base_session(&session)?;
    // Every write below checks that its table is still at the version planned on here.
    let planned = store.register_tables(&ctx).await?;
    let store = &store.expecting(planned);

    // Schools: the stored ones, overlaid with this ingest's.
    let mut schools = stored_schools(&ctx).await?;
    let mut new_schools = Vec::new();
    bar.set_message("schools");
    for file in &school_inputs.load {
        let mut rows = SchoolRows::default();
        read_records(
            file,
            &SCHOOL_COLUMNS,
            false,
            &mut problems,
            |line, f, problems| {
                summary.schools.rows_read += 1;
                rows.push(&file.display, line, f, problems);
            },
        )?;
        rows.add_to(&mut schools);
        new_schools.push(rows.to_batch());
        bar.inc(file.bytes);
    }

    // Pupils: validated against the schools; their enrolments join the stored ones.
    let mut enrolments = if register_inputs.load.is_empty() {
        EnrolmentSet::new()
    } else {
        stored_enrolments(&ctx).await?
    };
    let mut new_pupils = Vec::new();
    bar.set_message("pupils");
    for file in &pupil_inputs.load {
        let mut rows = PupilRows::default();
        read_records(
            file,
            &PUPIL_COLUMNS,
            false,
            &mut problems,
            |line, f, problems| {
                summary.pupils.rows_read += 1;
                if let Some(key) = rows.push(&file.display, line, f, &schools, problems) {
                    enrolments.insert(key);
                }
            },
        )?;
        new_pupils.push(rows.finish());
        bar.inc(file.bytes);
    }

    // Registers: validated in parallel, one file per task, staged as Parquet.
    bar.set_message("registers");
    let staging = StagingDir::create(store)?;
    let staged: Vec<Result<StagedFile, IngestError>> = register_inputs
        .load
        .par_iter()
        .enumerate()
        .map(|(i, file)| {
            stage_register_file(
                i as i32,
                file,
                &staging.path,
                &schools,
                &enrolments,
                keep_rejects,
                &bar,
            )
        })
        .collect();
    let mut staged_files = Vec::new();
    let mut touched: BTreeSet<(String, String, String)> = BTreeSet::new();
    for result in staged {
        let mut file = result?;
        summary.registers.rows_read += file.rows_read;
        summary.missing_marks += file.missing_marks;
        touched.extend(file.partitions.iter().cloned());
        problems.merge(std::mem::take(&mut file.problems));
        staged_files.push(file);
    }
    bar.finish_and_clear();
    summary.phases.validate = started.elapsed().as_secs_f64();
    problems.check()?;
    let rows_read =
        summary.schools.rows_read + summary.pupils.rows_read + summary.registers.rows_read;
    if rows_read == 0 && skipped == 0 {
        return Err(IngestError::Input(
            "nothing to load: the files given have a header and no rows".to_string(),
        ));
    }
    // The checks and the writes report no progress of their own: a spinner says which runs.
    let spinner = spinner(options.progress);
    spinner.set_message(format!("checking {} marks", summary.registers.rows_read));

    // Duplicates inside the input and conflicts with stored marks need the whole input at once.
    let mut register_plan = None;
    let staged_rows: usize = staged_files.iter().map(|f| f.rows_staged).sum();
    // Writers (of marks already in order) and sorting streams run in parallel on up to two
    // cores; a large input's sorts run one at a time.
    let workers = ctx.state().config().target_partitions().clamp(1, 2);
    let large_rows = options.large_input_rows.unwrap_or(LARGE_INPUT_ROWS);
    let large_input = staged_rows > large_rows;
    if large_input {
        plan_for_memory(&ctx, session.memory_limit).await?;
    }
    if staged_rows > 0 {
        let plan = check_staged_marks(
            &ctx,
            &staging.path,
            &register_inputs.load,
            &touched,
            Checks {
                update: options.update,
                find_duplicates: sorted_sequence(&staged_files).is_none(),
                large_input,
            },
            &mut problems,
        )
        .await?;
        problems.check()?;
        register_plan = Some(RegisterPlan {
            workers,
            large_input,
            large_rows,
            memory_limit: session.memory_limit,
            ..plan
        });
    }

    summary.phases.check = started.elapsed().as_secs_f64() - summary.phases.validate;
    spinner.set_message("writing");
    if let Some(path) = &options.reject_file {
        write_rejects(path, &problems)?;
    }
    // Rejected rows per table, by the file they came from.
    let rejected_in = |files: &[InputFile]| -> u64 {
        let names: HashSet<&str> = files.iter().map(|f| f.display.as_str()).collect();
        problems
            .rejects
            .iter()
            .filter(|(e, _)| names.contains(e.file.as_str()))
            .count() as u64
    };
    summary.schools.rows_rejected = rejected_in(&school_inputs.load);
    summary.pupils.rows_rejected = rejected_in(&pupil_inputs.load);
    summary.registers.rows_rejected = rejected_in(&register_inputs.load);

    // Commit: schools, then pupils, then registers; one commit each.
    if !school_inputs.load.is_empty() {
        let hashes = hashes(&school_inputs.load);
        write_schools(store, &ctx, new_schools, &hashes, &mut summary.schools).await?;
        summary.schools.files_loaded = school_inputs.load.len();
    }
    if !pupil_inputs.load.is_empty() {
        let hashes = hashes(&pupil_inputs.load);
        write_pupils(store, &ctx, new_pupils, &hashes, &mut summary.pupils).await?;
        summary.pupils.files_loaded = pupil_inputs.load.len();
    }
    if !register_inputs.load.is_empty() {
        let hashes = hashes(&register_inputs.load);
        write_registers(
            store,
            &ctx,
            register_plan,
            &staged_files,
            &touched,
            &hashes,
            &mut summary,
        )
        .await?;
        summary.registers.files_loaded = register_inputs.load.len();
    }
    drop(staging);
    spinner.finish_and_clear();
    for (table, t) in [
        (Table::Schools, &mut summary.schools),
        (Table::Pupils, &mut summary.pupils),
        (Table::Registers, &mut summary.registers),
    ] {
        t.version = store.load(table).await?.and_then(|d| d.version());
    }
    summary.seconds = started.elapsed().as_secs_f64();
    summary.phases.write = summary.seconds - summary.phases.validate - summary.phases.check;
    Ok(summary)
}

fn hashes(files: &[InputFile]) -> Vec<String> {
    files.iter().map(|f| f.sha256.clone()).collect()
}

/// A scratch directory for staged rows, removed when dropped (also on error). Stale ones left by
/// a killed ingest are removed by the next.
struct StagingDir {
    path: PathBuf,
}

impl StagingDir {
    /// Called with the store's write lock held: no other ingest runs, so the directories of
    /// earlier ones are left over from a crash and are removed.
    fn create(store: &Store) -> Result<Self, IngestError> {
        let root = store.staging_dir();
        if let Ok(entries) = std::fs::read_dir(&root) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = root.join(format!("ingest-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| IngestError::io(&path.display().to_string(), e))?;
        Ok(Self { path })
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        if let Some(parent) = self.path.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// The result of validating one register file.
struct StagedFile {
    path: PathBuf,
    rows_read: u64,
    rows_staged: usize,
    /// The staged keys' range, when they are strictly increasing.
    sorted_range: Option<(MarkOrder, MarkOrder)>,
    missing_marks: u64,
    partitions: Vec<(String, String, String)>,
    problems: Problems,
}

const STAGING_BATCH_ROWS: usize = 64 * 1024;

/// The query engine's budget in an ingest given the default memory limit (2 GB): sorts and
/// aggregations spill beyond it.
const INGEST_QUERY_MEMORY: usize = 1280 * 1024 * 1024;

/// Above this many staged marks, the checks and writes that do not fit in memory run one sort
/// at a time, and joins are sort-merge joins (whose sorts spill) rather than hash joins (which
/// hold a side in memory).
const LARGE_INPUT_ROWS: usize = 4_000_000;

fn stage_register_file(
    src: i32,
    file: &InputFile,
    staging: &Path,
    schools: &SchoolMap,
    enrolments: &EnrolmentSet,
    keep_rejects: bool,
    bar: &ProgressBar,
) -> Result<StagedFile, IngestError> {
    let mut problems = Problems::new(keep_rejects);
    let mut rows = RegisterRows::new(src);
    let out_path = staging.join(format!("{src:06}.parquet"));
    let out =
        File::create(&out_path).map_err(|e| IngestError::io(&out_path.display().to_string(), e))?;
    // Staging files are read back whole: fast compression, no dictionaries, no statistics.
    let props = WriterProperties::builder()
        .set_compression(Compression::LZ4_RAW)
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None)
        .build();
    let mut writer = ArrowWriter::try_new(out, staging_schema(), Some(props))
        .map_err(|e| IngestError::DataFusion(e.into()))?;
    let mut rows_read = 0u64;
    let mut write_error = None;
    read_records(
        file,
        &REGISTER_COLUMNS,
        true,
        &mut problems,
        |line, f, problems| {
            rows_read += 1;
            rows.push(&file.display, line, f, schools, enrolments, problems);
            if rows.pending() >= STAGING_BATCH_ROWS
                && write_error.is_none()
                && let Err(e) = writer.write(&rows.flush())
            {
                write_error = Some(e);
            }
        },
    )?;
    if let Some(e) = write_error {
        return Err(IngestError::DataFusion(e.into()));
    }
    if rows.pending() > 0 {
        writer
            .write(&rows.flush())
            .map_err(|e| IngestError::DataFusion(e.into()))?;
    }
    writer
        .close()
        .map_err(|e| IngestError::DataFusion(e.into()))?;
    bar.inc(file.bytes);
    Ok(StagedFile {
        path: out_path,
        rows_read,
        rows_staged: rows.rows,
        sorted_range: rows.sorted_range(),
        missing_marks: rows.missing_marks,
        partitions: rows
            .partitions
            .iter()
            .map(|(y, r, l)| (y.clone(), r.to_string(), l.to_string()))
            .collect(),
        problems,
    })
}

/// Schools already stored, by URN.
async fn stored_schools(ctx: &SessionContext) -> Result<SchoolMap, IngestError> {
    let batches = ctx
        .sql("SELECT urn, region_code, old_la_code FROM schools")
        .await?
        .collect()
        .await?;
    let mut map = SchoolMap::new();
    for batch in batches {
        let batch = cast_to_plain(&batch)?;
        let urn = batch.column(0).as_primitive::<Int32Type>();
        let region = batch.column(1).as_string::<i32>();
        let la = batch.column(2).as_string::<i32>();
        for i in 0..batch.num_rows() {
            map.insert(
                urn.value(i),
                SchoolInfo {
                    region_code: region.value(i).into(),
                    la_code: la.value(i).into(),
                },
            );
        }
    }
    Ok(map)
}

/// Enrolment keys already stored.
async fn stored_enrolments(ctx: &SessionContext) -> Result<EnrolmentSet, IngestError> {
    let mut stream = ctx
        .sql("SELECT academic_year, pupil_id, urn FROM pupils")
        .await?
        .execute_stream()
        .await?;
    let mut set = EnrolmentSet::new();
    while let Some(batch) = stream.try_next().await? {
        let batch = cast_to_plain(&batch)?;
        let year = batch.column(0).as_string::<i32>();
        let pupil = batch.column(1).as_string::<i32>();
        let urn = batch.column(2).as_primitive::<Int32Type>();
        for i in 0..batch.num_rows() {
            set.insert(enrolment_key(year.value(i), pupil.value(i), urn.value(i)));
        }
    }
    Ok(set)
}

/// Casts string columns of any encoding (Utf8View, dictionaries) to plain Utf8.
fn cast_to_plain(batch: &RecordBatch) -> Result<RecordBatch, IngestError> {
    use datafusion::arrow::datatypes::DataType;
    let columns = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Utf8View | DataType::LargeUtf8 | DataType::Dictionary(_, _) => {
                datafusion::arrow::compute::cast(c, &DataType::Utf8)
            }
            _ => Ok(c.clone()),
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| IngestError::DataFusion(e.into()))?;
    let fields: Vec<_> = batch
        .schema()
        .fields()
        .iter()
        .zip(&columns)
        .map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone()))
        .collect();
    RecordBatch::try_new(
        Arc::new(datafusion::arrow::datatypes::Schema::new(fields)),
        columns,
    )
    .map_err(|e| IngestError::DataFusion(e.into()))
}

/// What the staged marks hold against the store, once checked.
struct RegisterPlan {
    /// Staged rows refused (duplicates, conflicts), as `(_src, _line)`.
    rejected: Vec<(i32, i64)>,
    /// Staged marks identical to a stored mark.
    unchanged: u64,
    /// Stored marks that staged marks replace with a new code (`--update`).
    replaced: u64,
    /// Staged marks that collide with a stored mark (identical or replaced).
    overlapping: u64,
    /// How many writers (or sorting streams, for an input that is not large) run at once.
    workers: usize,
    /// More staged marks than `large_rows`: planned for memory ([`plan_for_memory`]).
    large_input: bool,
    large_rows: usize,
    /// The query engine's budget.
    memory_limit: usize,
}

/// The columns `names` for a select list, each prefixed by `table` (`r.` or nothing); with
/// `plain`, strings as plain `Utf8`: sorts that spill keep memory outside their budget for
/// `Utf8View` columns (the store's scans give views), about 2.5 times as much at scale M.
fn select_list(names: &[&str], table: &str, plain: bool) -> String {
    names
        .iter()
        .map(|n| {
            let string = crate::schema::REGISTERS
                .field_with_name(n)
                .is_ok_and(|f| f.data_type() == &datafusion::arrow::datatypes::DataType::Utf8);
            if plain && string {
                format!("arrow_cast({table}\"{n}\", 'Utf8') AS \"{n}\"")
            } else {
                format!("{table}\"{n}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Plans the session's queries for memory rather than speed: sorts one at a time (one sort in
/// each query, and one query writing), each with a large part of the budget for its merges (a
/// sort that spills first merges what it holds, which needs memory of its own: reserved up
/// front, or the merge can find the budget taken by the sorts), and joins that sort both sides
/// and merge (the sorts spill) rather than hash joins (which hold a side in memory).
async fn plan_for_memory(ctx: &SessionContext, memory_limit: usize) -> Result<(), IngestError> {
    // Two fifths of the budget, at most 512 MB (as with the default budget), for a spilling
    // sort's merge.
    let reservation = format!(
        "SET datafusion.execution.sort_spill_reservation_bytes = {}",
        (memory_limit / 5 * 2).min(512 << 20)
    );
    for setting in [
        "SET datafusion.optimizer.prefer_hash_join = false",
        reservation.as_str(),
        "SET datafusion.execution.target_partitions = 1",
        "SET datafusion.optimizer.repartition_sorts = false",
        "SET datafusion.execution.parquet.schema_force_view_types = false",
    ] {
        ctx.sql(setting).await?.collect().await?;
    }
    Ok(())
}

fn partition_filter(alias: &str, touched: &BTreeSet<(String, String, String)>) -> String {
    let mut by_year: HashMap<&str, Vec<&str>> = HashMap::new();
    for (year, _, la) in touched {
        by_year.entry(year).or_default().push(la);
    }
    let mut years: Vec<_> = by_year.into_iter().collect();
    years.sort();
    let terms: Vec<String> = years
        .iter()
        .map(|(year, las)| {
            let list: Vec<String> = las.iter().map(|l| format!("'{l}'")).collect();
            format!(
                "({alias}academic_year = '{year}' AND {alias}la_code IN ({}))",
                list.join(", ")
            )
        })
        .collect();
    format!("({})", terms.join(" OR "))
}

/// The staged files in key order, when reading them one after another gives the marks in
/// storage order with no key twice: every file's keys were strictly increasing (so a file has no
/// duplicate, and is sorted) and the files' key ranges do not overlap (so no two files share a
/// key). Inputs sorted by school and pupil, one file per LA or per school, are like that; for
/// others (`None`) the duplicate query runs and the marks are sorted before they are written.
fn sorted_sequence(files: &[StagedFile]) -> Option<Vec<&StagedFile>> {
    let mut sequence = Vec::with_capacity(files.len());
    for file in files.iter().filter(|f| f.rows_staged > 0) {
        file.sorted_range.as_ref()?;
        sequence.push(file);
    }
    sequence.sort_by(|a, b| a.sorted_range.cmp(&b.sorted_range));
    let disjoint = sequence.windows(2).all(|pair| {
        let (Some(a), Some(b)) = (&pair[0].sorted_range, &pair[1].sorted_range) else {
            return false;
        };
        a.1 < b.0
    });
    disjoint.then_some(sequence)
}

/// Marks per writer when staged files are written as they are: enough for few, large files;
/// few enough that both cores get work and a writer's open files stay small.
const SOURCE_ROWS: (usize, usize) = (1 << 20, 32 << 20);

/// Writers for staged files already in storage order ([`sorted_sequence`]), each reading a run
/// of files. A file's marks go to the run of its first partition, so that a partition's files
/// are mostly in one run (one stored file per partition, not one per run); inside a run the
/// files are in key order, so each partition's marks reach its writer sorted.
fn sorted_sources(sequence: &[&StagedFile], workers: usize) -> Vec<BatchSource> {
    let total: usize = sequence.iter().map(|f| f.rows_staged).sum();
    let per_run = (total / (2 * workers.max(1))).clamp(SOURCE_ROWS.0, SOURCE_ROWS.1);
    plan_runs(sequence, per_run)
        .into_iter()
        .map(|run| {
            let paths: Vec<PathBuf> = run.iter().map(|f| f.path.clone()).collect();
            Box::new(move |tx: &BatchSender| {
                for path in &paths {
                    if !send_staged(path, tx)? {
                        break;
                    }
                }
                Ok(())
            }) as BatchSource
        })
        .collect()
}

/// Splits staged files in storage order into runs of about `per_run` marks: files grouped by
/// their first partition, and each run's files in key order.
fn plan_runs<'a>(sequence: &[&'a StagedFile], per_run: usize) -> Vec<Vec<&'a StagedFile>> {
    let mut files: Vec<&StagedFile> = sequence.to_vec();
    files.sort_by(|a, b| {
        (a.partitions.iter().min(), &a.sorted_range)
            .cmp(&(b.partitions.iter().min(), &b.sorted_range))
    });
    let mut runs: Vec<Vec<&StagedFile>> = vec![];
    let mut rows = 0;
    for file in files {
        if runs.is_empty() || rows >= per_run {
            runs.push(vec![]);
            rows = 0;
        }
        rows += file.rows_staged;
        runs.last_mut().expect("a run").push(file);
    }
    for run in &mut runs {
        run.sort_by(|a, b| a.sorted_range.cmp(&b.sorted_range));
    }
    runs
}

/// Sends the marks of a staged file (without `_src` and `_line`) in order; false when the
/// receiver has gone (the write failed elsewhere).
fn send_staged(path: &Path, tx: &BatchSender) -> Result<bool, String> {
    use datafusion::parquet::arrow::ProjectionMask;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let fail = |e: &dyn std::fmt::Display| format!("reading staged marks {}: {e}", path.display());
    let file = File::open(path).map_err(|e| fail(&e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| fail(&e))?;
    let columns = crate::schema::REGISTERS.fields().len();
    let mask = ProjectionMask::roots(builder.parquet_schema(), 0..columns);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(STAGING_BATCH_ROWS)
        .build()
        .map_err(|e| fail(&e))?;
    for batch in reader {
        let batch = batch.map_err(|e| fail(&e))?;
        let batch =
            RecordBatch::try_new(crate::schema::REGISTERS.clone(), batch.columns().to_vec())
                .map_err(|e| fail(&e))?;
        if tx.blocking_send(batch).is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// What [`check_staged_marks`] looks for, and how.
struct Checks {
    /// A new code replaces a stored mark's (else it is a conflict).
    update: bool,
    /// The input can hold a mark twice.
    find_duplicates: bool,
    /// Too many marks for a join holding one side in memory.
    large_input: bool,
}

/// Finds duplicate marks inside the input (unless `find_duplicates` is false because there can be
/// none) and marks already stored (identical: a no-op; another code: a conflict, or a
/// replacement with `update`).
async fn check_staged_marks(
    ctx: &SessionContext,
    staging: &Path,
    files: &[InputFile],
    touched: &BTreeSet<(String, String, String)>,
    checks: Checks,
    problems: &mut Problems,
) -> Result<RegisterPlan, IngestError> {
    let Checks {
        update,
        find_duplicates,
        large_input,
    } = checks;
    ctx.register_parquet(
        "ingest_staged",
        staging.to_str().expect("utf-8 path"),
        ParquetReadOptions::default(),
    )
    .await?;
    let mut rejected = Vec::new();
    let location = |src: i32| files[src as usize].display.as_str();

    // Two marks for one pupil, school, date and session inside the input: the first one stands.
    // First the keys marked twice (an aggregation, which spills beyond the memory budget):
    // usually none, and then nothing else is read. Otherwise the rows with those keys, the
    // (small) list of keys being the side of the join held in memory.
    // Streamed: a load that gives every mark twice has as many duplicates as marks.
    let mut duplicates = None;
    if find_duplicates {
        let keys = ctx
            .sql(
                r#"SELECT pupil_id, urn, "date", "session" FROM ingest_staged
                   GROUP BY pupil_id, urn, "date", "session" HAVING count(*) > 1"#,
            )
            .await?
            .collect()
            .await?;
        if keys.iter().any(|b| b.num_rows() > 0) {
            register_batches(ctx, "ingest_duplicate_keys", keys)?;
            let stream = ctx
                .sql(
                    r#"SELECT s._src, s._line, s.pupil_id, s.urn, s."date", s."session", s.code
                 FROM ingest_duplicate_keys dup
                 JOIN ingest_staged s ON s.pupil_id = dup.pupil_id AND s.urn = dup.urn
                     AND s."date" = dup."date" AND s."session" = dup."session"
                 ORDER BY s.pupil_id, s.urn, s."date", s."session", s._src, s._line"#,
                )
                .await?
                .execute_stream()
                .await?;
            duplicates = Some(stream);
        }
    }
    let mut previous: Option<StagedMark> = None;
    while let Some(batch) = match duplicates.as_mut() {
        Some(stream) => stream.try_next().await?,
        None => None,
    } {
        let batch = cast_to_plain(&batch)?;
        for mark in staged_marks(&batch) {
            match &previous {
                Some(first) if first.key == mark.key => {
                    rejected.push((mark.src, mark.line));
                    problems.push(
                        RowError::new(
                            location(mark.src),
                            mark.line as u64,
                            "session",
                            format!(
                                "a second mark for this pupil, school, date and session (first at {}:{})",
                                location(first.src),
                                first.line
                            ),
                        ),
                        || register_record(&mark.key, &mark.code),
                    );
                }
                _ => previous = Some(mark),
            }
        }
    }

    let mut plan = RegisterPlan {
        rejected: vec![],
        unchanged: 0,
        replaced: 0,
        overlapping: 0,
        workers: 1,
        large_input: false,
        large_rows: LARGE_INPUT_ROWS,
        memory_limit: DEFAULT_MEMORY_LIMIT,
    };
    // Marks already stored: none when the store has nothing in the partitions touched (a new
    // year, a new LA), found without a join.
    let filter = partition_filter("r.", touched);
    let any_stored = ctx
        .sql(&format!("SELECT 1 FROM registers r WHERE {filter} LIMIT 1"))
        .await?
        .collect()
        .await?
        .iter()
        .any(|b| b.num_rows() > 0);
    // Streamed: a load that repeats stored marks can overlap millions of them.
    let mut overlaps = if !any_stored {
        None
    } else {
        // Many marks: no join, which would hold one side in memory, but one sort of both
        // (which spills) in key order, a stored mark just before a new one with its key: a new
        // mark right after a stored mark with its key overlaps it.
        let sql = if large_input {
            let key = select_list(&["pupil_id", "urn", "date", "session", "code"], "", true);
            format!(
                r#"SELECT _src, _line, pupil_id, urn, "date", "session", code AS new_code,
                        prev_code AS stored_code
                 FROM (SELECT *,
                         lag(urn) OVER w AS prev_urn, lag(pupil_id) OVER w AS prev_pupil,
                         lag("date") OVER w AS prev_date, lag("session") OVER w AS prev_session,
                         lag(_new) OVER w AS prev_new, lag(code) OVER w AS prev_code
                       FROM (SELECT {key}, _src, _line, 1 AS _new FROM ingest_staged
                             UNION ALL
                             SELECT {key}, CAST(NULL AS INT), CAST(NULL AS BIGINT), 0 AS _new
                             FROM registers r WHERE {filter})
                       WINDOW w AS (ORDER BY urn, pupil_id, "date", "session", _new))
                 WHERE _new = 1 AND prev_new = 0 AND prev_urn = urn AND prev_pupil = pupil_id
                       AND prev_date = "date" AND prev_session = "session""#
            )
        } else {
            format!(
                r#"SELECT s._src, s._line, s.pupil_id, s.urn, s."date", s."session",
                        s.code AS new_code, r.code AS stored_code
                 FROM ingest_staged s
                 JOIN registers r ON s.academic_year = r.academic_year
                      AND s.la_code = r.la_code AND s.urn = r.urn AND s.pupil_id = r.pupil_id
                      AND s."date" = r."date" AND s."session" = r."session"
                 WHERE {filter}
                 ORDER BY s._src, s._line"#
            )
        };
        let stream = ctx.sql(&sql).await?.execute_stream().await?;
        Some(stream)
    };
    let rejected_set: HashSet<(i32, i64)> = rejected.iter().copied().collect();
    while let Some(batch) = match overlaps.as_mut() {
        Some(stream) => stream.try_next().await?,
        None => None,
    } {
        let batch = cast_to_plain(&batch)?;
        // Most overlaps are identical marks: only a conflict builds the mark's key.
        let src = batch.column(0).as_primitive::<Int32Type>();
        let line = batch.column(1).as_primitive::<Int64Type>();
        let new_code = batch.column(6).as_string::<i32>();
        let stored_code = batch.column(7).as_string::<i32>();
        for i in 0..batch.num_rows() {
            if !rejected_set.is_empty() && rejected_set.contains(&(src.value(i), line.value(i))) {
                continue;
            }
            let stored = stored_code.value(i);
            if new_code.value(i) == stored {
                plan.overlapping += 1;
                plan.unchanged += 1;
            } else if update {
                plan.overlapping += 1;
                plan.replaced += 1;
            } else {
                let mark = staged_mark(&batch, i);
                rejected.push((mark.src, mark.line));
                problems.push(
                    RowError::new(
                        location(mark.src),
                        mark.line as u64,
                        "code",
                        format!(
                            "conflicts with the stored mark `{stored}` for this pupil, school, date and session (use --update to replace it)"
                        ),
                    ),
                    || register_record(&mark.key, &mark.code),
                );
            }
        }
    }
    plan.rejected = rejected;
    Ok(plan)
}

/// A register mark's key: pupil, school, date (days since 1970-01-01), session.
type MarkKey = (String, i32, i32, String);

/// A staged mark, with where it came from.
struct StagedMark {
    src: i32,
    line: i64,
    key: MarkKey,
    code: String,
}

/// The staged marks of a batch whose first columns are `_src, _line, pupil_id, urn, date,
/// session, code`.
fn staged_marks(batch: &RecordBatch) -> Vec<StagedMark> {
    (0..batch.num_rows())
        .map(|i| staged_mark(batch, i))
        .collect()
}

/// Row `i` of such a batch.
fn staged_mark(batch: &RecordBatch, i: usize) -> StagedMark {
    let src = batch.column(0).as_primitive::<Int32Type>();
    let line = batch.column(1).as_primitive::<Int64Type>();
    let pupil = batch.column(2).as_string::<i32>();
    let urn = batch.column(3).as_primitive::<Int32Type>();
    let date = batch.column(4).as_primitive::<Date32Type>();
    let session = batch.column(5).as_string::<i32>();
    let code = batch.column(6).as_string::<i32>();
    StagedMark {
        src: src.value(i),
        line: line.value(i),
        key: (
            pupil.value(i).to_string(),
            urn.value(i),
            date.value(i),
            session.value(i).to_string(),
        ),
        code: code.value(i).to_string(),
    }
}

fn register_record(key: &MarkKey, code: &str) -> String {
    let date = from_date32(key.2).format("%Y-%m-%d").to_string();
    let urn = key.1.to_string();
    csv_line(&[&key.0, &urn, &date, &key.3, code])
}

fn write_rejects(path: &Path, problems: &Problems) -> Result<(), IngestError> {
    let display = path.display().to_string();
    let mut out =
        std::io::BufWriter::new(File::create(path).map_err(|e| IngestError::io(&display, e))?);
    let mut write = || -> std::io::Result<()> {
        writeln!(out, "file,line,field,reason,record")?;
        for (e, raw) in &problems.rejects {
            let line = e.line.to_string();
            writeln!(
                out,
                "{}",
                csv_line(&[&e.file, &line, &e.field, &e.reason, raw])
            )?;
        }
        out.flush()
    };
    write().map_err(|e| IngestError::io(&display, e))
}

fn delta_error(table: Table) -> impl Fn(deltalake::DeltaTableError) -> IngestError {
    move |source| {
        if crate::store::is_commit_conflict(&source) {
            IngestError::Store(crate::store::StoreError::Conflict(table.name()))
        } else {
            IngestError::Delta {
                table: table.name(),
                source,
            }
        }
    }
}

/// Writes the rows of `streams` to `table` in one commit. Each stream is a list of queries run
/// one after another (each sorted when it says so); no partition of the table may be in two
/// streams, so each partition's rows reach the writer in the order its queries give them.
async fn commit(
    store: &Store,
    ctx: &SessionContext,
    table: Table,
    streams: &[Vec<String>],
    mode: SaveMode,
    replace_where: Option<String>,
    hashes: &[String],
) -> Result<(), IngestError> {
    let delta = store.load_for_write(table).await?;
    // The rows are computed here and handed to the writer as a table of one partition per
    // stream. Handed the queries themselves, the writer's planner drops their ORDER BY
    // (nothing above the sort asks for the order), and the files would not be sorted.
    let first = streams.iter().flatten().next().expect("at least one query");
    let schema = ctx.sql(first).await?.create_physical_plan().await?.schema();
    let sources: Vec<Arc<dyn PartitionStream>> = streams
        .iter()
        .map(|sqls| {
            Arc::new(QueryChain {
                schema: schema.clone(),
                ctx: ctx.clone(),
                sqls: std::sync::Mutex::new(Some(sqls.clone())),
            }) as _
        })
        .collect();
    let schema = sources[0].schema().clone();
    let name = format!("ingest_rows_{}", table.name());
    ctx.deregister_table(&name)?;
    ctx.register_table(&name, Arc::new(StreamingTable::try_new(schema, sources)?))?;
    let plan = ctx
        .sql(&format!("SELECT * FROM {name}"))
        .await?
        .into_unoptimized_plan();
    let mut write = delta
        .write(vec![])
        .with_input_plan(plan)
        .with_session_state(Arc::new(ctx.state()))
        .with_save_mode(mode)
        .with_writer_properties(table.writer_properties())
        .with_commit_properties(commit_properties(hashes));
    if !table.partition_columns().is_empty() {
        write = write.with_partition_columns(table.partition_columns().iter().copied());
    }
    if let Some(predicate) = replace_where {
        write = write.with_replace_where(predicate);
    }
    write.await.map_err(delta_error(table))?;
    Ok(())
}

/// Queries run one after another as one stream, offered as a table's partition; it can be
/// read once. A query starts when the one before has given all its rows, so only one of the
/// stream's sorts holds memory at a time.
struct QueryChain {
    schema: SchemaRef,
    ctx: SessionContext,
    sqls: std::sync::Mutex<Option<Vec<String>>>,
}

impl std::fmt::Debug for QueryChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QueryChain")
    }
}

impl PartitionStream for QueryChain {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        match self.sqls.lock().expect("not poisoned").take() {
            Some(sqls) => {
                let ctx = self.ctx.clone();
                let batches = futures::stream::iter(sqls)
                    .then(move |sql| {
                        let ctx = ctx.clone();
                        async move { ctx.sql(&sql).await?.execute_stream().await }
                    })
                    .try_flatten();
                Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), batches))
            }
            // Never an empty stream: a second read would silently write nothing.
            None => Box::pin(RecordBatchStreamAdapter::new(
                self.schema.clone(),
                futures::stream::once(async {
                    Err(datafusion::error::DataFusionError::Internal(
                        "ingest rows read twice".into(),
                    ))
                }),
            )),
        }
    }
}

async fn count(ctx: &SessionContext, sql: &str) -> Result<u64, IngestError> {
    let batches = ctx.sql(sql).await?.collect().await?;
    Ok(batches
        .first()
        .filter(|b| b.num_rows() > 0)
        .map(|b| b.column(0).as_primitive::<Int64Type>().value(0) as u64)
        .unwrap_or(0))
}

fn register_batches(
    ctx: &SessionContext,
    name: &str,
    batches: Vec<RecordBatch>,
) -> Result<(), IngestError> {
    let schema = batches[0].schema();
    ctx.deregister_table(name)?;
    ctx.register_table(name, Arc::new(MemTable::try_new(schema, vec![batches])?))?;
    Ok(())
}

async fn write_schools(
    store: &Store,
    ctx: &SessionContext,
    batches: Vec<RecordBatch>,
    hashes: &[String],
    summary: &mut TableSummary,
) -> Result<(), IngestError> {
    register_batches(ctx, "ingest_schools", batches)?;
    let replaced = count(
        ctx,
        "SELECT count(*) FROM ingest_schools n JOIN schools s ON n.urn = s.urn",
    )
    .await?;
    let unchanged = count(
        ctx,
        "SELECT count(*) FROM ingest_schools n JOIN schools s ON n.urn = s.urn
          AND n.school_name = s.school_name AND n.old_la_code = s.old_la_code
          AND n.new_la_code = s.new_la_code AND n.la_name = s.la_name
          AND n.region_code = s.region_code AND n.region_name = s.region_name
          AND n.phase = s.phase",
    )
    .await?;
    let total = count(ctx, "SELECT count(*) FROM ingest_schools").await?;
    summary.rows_unchanged = unchanged;
    summary.rows_replaced = replaced - unchanged;
    summary.rows_added = total - replaced;
    let columns = crate::schema::SCHOOLS
        .fields()
        .iter()
        .map(|f| format!("\"{}\"", f.name()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM schools WHERE urn NOT IN (SELECT urn FROM ingest_schools)
         UNION ALL SELECT {columns} FROM ingest_schools ORDER BY urn"
    );
    commit(
        store,
        ctx,
        Table::Schools,
        &[vec![sql]],
        SaveMode::Overwrite,
        None,
        hashes,
    )
    .await?;
    summary.partitions = 1;
    Ok(())
}

async fn write_pupils(
    store: &Store,
    ctx: &SessionContext,
    batches: Vec<RecordBatch>,
    hashes: &[String],
    summary: &mut TableSummary,
) -> Result<(), IngestError> {
    register_batches(ctx, "ingest_pupils", batches)?;
    let same_key =
        "n.academic_year = p.academic_year AND n.pupil_id = p.pupil_id AND n.urn = p.urn";
    let replaced = count(
        ctx,
        &format!("SELECT count(*) FROM ingest_pupils n JOIN pupils p ON {same_key}"),
    )
    .await?;
    let unchanged = count(
        ctx,
        &format!(
            "SELECT count(*) FROM ingest_pupils n JOIN pupils p ON {same_key}
              AND n.nc_year = p.nc_year AND n.sex = p.sex
              AND (n.date_of_birth IS NOT DISTINCT FROM p.date_of_birth)
              AND n.fsm = p.fsm AND n.sen = p.sen AND n.cla = p.cla AND n.cin = p.cin AND n.cpp = p.cpp"
        ),
    )
    .await?;
    let total = count(ctx, "SELECT count(*) FROM ingest_pupils").await?;
    summary.rows_unchanged = unchanged;
    summary.rows_replaced = replaced - unchanged;
    summary.rows_added = total - replaced;
    let years: Vec<String> = ctx
        .sql("SELECT DISTINCT academic_year FROM ingest_pupils ORDER BY 1")
        .await?
        .collect()
        .await?
        .iter()
        .flat_map(|b| {
            let b = cast_to_plain(b).expect("strings");
            let col = b.column(0).as_string::<i32>().clone();
            (0..col.len()).map(move |i| col.value(i).to_string())
        })
        .collect();
    summary.partitions = years.len();
    if years.is_empty() {
        return Ok(());
    }
    let year_list = years
        .iter()
        .map(|y| format!("'{y}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let columns = crate::schema::PUPILS
        .fields()
        .iter()
        .map(|f| format!("\"{}\"", f.name()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM pupils p WHERE p.academic_year IN ({year_list})
           AND NOT EXISTS (SELECT 1 FROM ingest_pupils n WHERE {same_key})
         UNION ALL SELECT {columns} FROM ingest_pupils
         ORDER BY academic_year, urn, pupil_id"
    );
    let exists = store.load(Table::Pupils).await?.is_some();
    let (mode, predicate) = if exists {
        (
            SaveMode::Overwrite,
            Some(format!("academic_year IN ({year_list})")),
        )
    } else {
        (SaveMode::Append, None)
    };
    commit(
        store,
        ctx,
        Table::Pupils,
        &[vec![sql]],
        mode,
        predicate,
        hashes,
    )
    .await
}

async fn write_registers(
    store: &Store,
    ctx: &SessionContext,
    plan: Option<RegisterPlan>,
    staged: &[StagedFile],
    touched: &BTreeSet<(String, String, String)>,
    hashes: &[String],
    report: &mut IngestSummary,
) -> Result<(), IngestError> {
    let summary = &mut report.registers;
    let Some(plan) = plan else {
        // Nothing valid to load.
        return Ok(());
    };
    // The marks to load: staged minus rejected.
    let kept = if plan.rejected.is_empty() {
        "SELECT * FROM ingest_staged".to_string()
    } else {
        let (src, line): (Vec<i32>, Vec<i64>) = plan.rejected.iter().copied().unzip();
        let batch = RecordBatch::try_from_iter(vec![
            (
                "_src",
                Arc::new(datafusion::arrow::array::Int32Array::from(src)) as _,
            ),
            (
                "_line",
                Arc::new(datafusion::arrow::array::Int64Array::from(line)) as _,
            ),
        ])
        .map_err(|e| IngestError::DataFusion(e.into()))?;
        register_batches(ctx, "ingest_rejected", vec![batch])?;
        // The join holds the refused rows (the left side) in memory, not the staged ones.
        "SELECT s.* FROM ingest_rejected r RIGHT ANTI JOIN ingest_staged s
           ON s._src = r._src AND s._line = r._line"
            .to_string()
    };
    ctx.sql(&format!("CREATE OR REPLACE VIEW ingest_kept AS {kept}"))
        .await?
        .collect()
        .await?;
    let kept_rows = count(ctx, "SELECT count(*) FROM ingest_kept").await?;
    summary.rows_unchanged = plan.unchanged;
    summary.rows_replaced = plan.replaced;
    summary.rows_added = kept_rows - plan.overlapping;
    summary.partitions = touched.len();
    if kept_rows == plan.unchanged {
        // Every valid mark is stored already: nothing to write.
        return Ok(());
    }
    let names: Vec<&str> = crate::schema::REGISTERS
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    // The storage order. The partition columns need no sorting: a school has one LA and region
    // and a date one academic year, and the writer splits the sorted rows by partition keeping
    // their order, so each partition's file is sorted by school, pupil, date and session.
    let order = "ORDER BY urn, pupil_id, \"date\", \"session\"";
    let workers = plan.workers;
    if plan.overlapping == 0
        && plan.rejected.is_empty()
        && let Some(sequence) = sorted_sequence(staged)
    {
        // Already in storage order: the staged files are written as they are, no sort.
        report.presorted = true;
        let sources = sorted_sources(&sequence, workers);
        write_sources(
            store,
            Table::Registers,
            sources,
            workers,
            Commit::Append,
            hashes,
        )
        .await?;
        Ok(())
    } else if plan.overlapping == 0 {
        // The partitions in two halves, each sorted and written by its own stream, so both
        // cores sort and encode (a partition is in one half only, so its file stays sorted).
        let touched: Vec<_> = touched.iter().cloned().collect();
        let streams = if plan.large_input { 1 } else { workers };
        let chunk = touched.len().div_ceil(streams).max(1);
        let sqls: Vec<Vec<String>> = touched
            .chunks(chunk)
            .map(|half| {
                let half: BTreeSet<_> = half.iter().cloned().collect();
                let filter = partition_filter("", &half);
                let columns = select_list(&names, "", plan.large_input);
                vec![format!(
                    "SELECT {columns} FROM ingest_kept WHERE {filter} {order}"
                )]
            })
            .collect();
        commit(
            store,
            ctx,
            Table::Registers,
            &sqls,
            SaveMode::Append,
            None,
            hashes,
        )
        .await
    } else {
        // Rewrite the touched partitions: stored marks not superseded, plus the new marks.
        let predicate = partition_filter("", touched);
        // A new mark replaces the stored one with its key. For a correction, the stored marks
        // without a new one are found by a join holding the new marks (few) in memory; for
        // many new marks, both go through one sort by key (which spills), the stored just
        // before the new, and a mark is dropped when the next has its key.
        let rewrite = |touched: &BTreeSet<(String, String, String)>, large: bool| {
            let filter = partition_filter("r.", touched);
            let kept_filter = partition_filter("", touched);
            // Sorts that may spill take strings as plain `Utf8` (see `select_list`).
            let columns = select_list(&names, "", large);
            if plan.large_input {
                let plain = select_list(&names, "", true);
                let next = |c: &str| format!("lead({c}) OVER w");
                format!(
                    r#"SELECT {columns} FROM (
                         SELECT *, {} AS next_urn, {} AS next_pupil, {} AS next_date,
                                {} AS next_session
                         FROM (SELECT {plain}, 0 AS _new FROM registers r WHERE {filter}
                               UNION ALL
                               SELECT {plain}, 1 AS _new FROM ingest_kept
                               WHERE {kept_filter})
                         WINDOW w AS (ORDER BY urn, pupil_id, "date", "session", _new))
                       WHERE NOT (next_urn IS NOT NULL AND next_urn = urn
                                  AND next_pupil = pupil_id AND next_date = "date"
                                  AND next_session = "session") {order}"#,
                    next("urn"),
                    next("pupil_id"),
                    next("\"date\""),
                    next("\"session\""),
                )
            } else {
                let kept_columns = select_list(&names, "r.", large);
                format!(
                    r#"SELECT {kept_columns} FROM (SELECT * FROM ingest_kept WHERE {kept_filter}) k
                         RIGHT ANTI JOIN (SELECT * FROM registers r WHERE {filter}) r
                         ON k.urn = r.urn AND k.pupil_id = r.pupil_id AND k."date" = r."date"
                            AND k."session" = r."session"
                       UNION ALL SELECT {columns} FROM ingest_kept WHERE {kept_filter} {order}"#
                )
            }
        };
        let streams: Vec<Vec<String>> = if plan.large_input {
            // Many new marks: one query, one sort (which spills), the staged marks read once.
            vec![vec![rewrite(touched, true)]]
        } else {
            // A correction: one query per partition, each sorting one partition's marks (in
            // memory, unless a partition is large), the partitions in `workers` streams. (Groups
            // of partitions of up to 4 M marks, to read the staged marks fewer times, ran out of
            // the budget at scale M.)
            let largest = count(
                ctx,
                &format!(
                    "SELECT count(*) AS n FROM registers r WHERE {}
                     GROUP BY academic_year, la_code ORDER BY n DESC LIMIT 1",
                    partition_filter("r.", touched)
                ),
            )
            .await?;
            // Two sorts of a quarter of `large_rows` each fit the budget in memory; larger
            // partitions are sorted one at a time, with room to spill.
            let large = largest as usize > plan.large_rows / 4;
            let streams = if large {
                plan_for_memory(ctx, plan.memory_limit).await?;
                1
            } else {
                workers
            };
            let queries: Vec<String> = touched
                .iter()
                .map(|p| rewrite(&BTreeSet::from([p.clone()]), large))
                .collect();
            let chunk = queries.len().div_ceil(streams).max(1);
            queries.chunks(chunk).map(|c| c.to_vec()).collect()
        };
        commit(
            store,
            ctx,
            Table::Registers,
            &streams,
            SaveMode::Overwrite,
            Some(predicate),
            hashes,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A school and a pupil.
    type Enrolment<'a> = (i32, &'a str);

    /// A staged file of `rows` marks in LA `la`: sorted from `from` to `to` (school, pupil;
    /// the first key on 10 January 1970 AM, the last on the 11th PM), or unsorted (`None`).
    fn staged(
        name: &str,
        rows: usize,
        range: Option<(Enrolment<'_>, Enrolment<'_>)>,
        la: &str,
    ) -> StagedFile {
        let key = |(urn, pupil): Enrolment<'_>, date, pm| MarkOrder {
            urn,
            pupil_id: pupil.into(),
            date,
            pm,
        };
        StagedFile {
            path: PathBuf::from(name),
            rows_read: rows as u64,
            rows_staged: rows,
            sorted_range: range.map(|(from, to)| (key(from, 10, false), key(to, 11, true))),
            missing_marks: 0,
            partitions: vec![("2024-25".into(), "E12000009".into(), la.into())],
            problems: Problems::new(false),
        }
    }

    fn names(files: &[&StagedFile]) -> Vec<String> {
        files.iter().map(|f| f.path.display().to_string()).collect()
    }

    #[test]
    fn a_sequence_needs_sorted_files_with_disjoint_ranges() {
        // Given out of key order: the sequence is in key order.
        let files = [
            staged("b", 4, Some(((2, "P1"), (2, "P9"))), "801"),
            staged("a", 4, Some(((1, "P1"), (1, "P2"))), "801"),
        ];
        assert_eq!(names(&sorted_sequence(&files).unwrap()), ["a", "b"]);

        // An unsorted file: no sequence.
        let files = [
            staged("a", 4, Some(((1, "P1"), (1, "P2"))), "801"),
            staged("u", 4, None, "801"),
        ];
        assert!(sorted_sequence(&files).is_none());

        // Ranges that meet at one key (a mark in both files): no sequence. `a` ends with P2 on
        // the 11th PM; `c` starts with P2 on the 10th AM, before that.
        let files = [
            staged("a", 4, Some(((1, "P1"), (1, "P2"))), "801"),
            staged("c", 4, Some(((1, "P2"), (1, "P3"))), "801"),
        ];
        assert!(sorted_sequence(&files).is_none());

        // Ranges that interleave: no sequence, although each file is sorted.
        let files = [
            staged("a", 4, Some(((1, "P1"), (1, "P3"))), "801"),
            staged("c", 4, Some(((1, "P2"), (1, "P4"))), "801"),
        ];
        assert!(sorted_sequence(&files).is_none());

        // Files with nothing staged do not count.
        let files = [
            staged("a", 4, Some(((1, "P1"), (1, "P3"))), "801"),
            staged("empty", 0, None, "801"),
        ];
        assert_eq!(names(&sorted_sequence(&files).unwrap()), ["a"]);
    }

    #[test]
    fn runs_keep_a_partitions_files_together_and_in_key_order() {
        // Schools 1 and 3 are in LA 801, school 2 in LA 802: key order interleaves the LAs.
        let files = [
            staged("s1", 10, Some(((1, "P1"), (1, "P9"))), "801"),
            staged("s2", 10, Some(((2, "P1"), (2, "P9"))), "802"),
            staged("s3", 10, Some(((3, "P1"), (3, "P9"))), "801"),
        ];
        let sequence = sorted_sequence(&files).unwrap();
        assert_eq!(names(&sequence), ["s1", "s2", "s3"]);
        let runs = |per_run| -> Vec<Vec<String>> {
            plan_runs(&sequence, per_run)
                .iter()
                .map(|r| names(r))
                .collect()
        };
        // Runs of at least 20 marks: LA 801's two schools make one run, in key order.
        assert_eq!(runs(20), [vec!["s1", "s3"], vec!["s2"]]);
        // One run for everything: still in key order.
        assert_eq!(runs(1000), [vec!["s1", "s2", "s3"]]);
        // A run per file.
        assert_eq!(runs(1).len(), 3);
    }
}

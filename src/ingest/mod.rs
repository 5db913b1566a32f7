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

mod check;
mod error;
mod fields;
mod inputs;
mod plan;
pub mod pseudonym;
mod report;
mod source;
mod stage;
mod validate;
mod write;

use check::*;
use inputs::*;
use plan::*;
pub use report::{IngestSummary, Phases, TableSummary};
use stage::*;
use write::*;

pub use error::{IngestError, MAX_REPORTED_ERRORS, Problems, RowError};
pub use fields::{academic_year_of, date32, format_academic_year, from_date32, parse_date};
pub use source::csv_line;

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::progress::{Progress, ProgressRef};
use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::SessionContext;
use rayon::prelude::*;

use self::source::{InputFile, read_records};
use self::validate::*;
use crate::session::{SessionOptions, base_session};
use crate::store::{Store, Table};

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
    /// Where the ingest reports its progress (nowhere when `None`).
    pub progress: Option<ProgressRef>,
    /// From how many staged marks on the checks and the sort plan for memory rather than speed
    /// (one sort at a time, sort-merge joins); `None`: in proportion to the memory budget.
    pub large_input_rows: Option<usize>,
    pub session: SessionOptions,
    /// Wait for another command writing the store to finish, instead of failing at once.
    pub wait: bool,
    /// Replace every pupil id by its keyed pseudonym ([`pseudonym`]), with the 32-byte key in
    /// this file.
    pub pseudonymise_key: Option<PathBuf>,
}

/// Runs an ingest. See the module documentation for the semantics.
pub async fn ingest(store: &Store, options: &IngestOptions) -> Result<IngestSummary, IngestError> {
    let started = Instant::now();
    if options.schools.is_empty() && options.pupils.is_empty() && options.registers.is_empty() {
        return Err(IngestError::NoInput);
    }
    let _lock = store.lock("ingest", options.wait)?;
    let mut summary = IngestSummary::default();
    let mut problems = Problems::new(options.reject_file.is_some());
    let pseudonymiser = pseudonym::for_store(store, options.pseudonymise_key.as_deref())
        .await?
        .map(Arc::new);

    // Find: the files to load, and those already loaded.
    let inputs = find_inputs(store, options, &mut summary).await?;
    let progress = options
        .progress
        .clone()
        .unwrap_or_else(crate::progress::silent);
    let bar = progress.as_ref();
    bar.step("reading", Some(inputs.bytes()));
    let mut session = options.session.clone();
    session.memory_limit = ingest_query_memory(session.memory_limit);
    let ctx = base_session(&session)?;
    // Every write below checks that its table is still at the version planned on here.
    let planned = store.register_tables(&ctx).await?;
    let store = &store.expecting(planned);

    // Read and validate schools and pupils; validate and stage the marks.
    let rows = read_schools_and_pupils(
        &ctx,
        &inputs,
        pseudonymiser,
        &mut problems,
        &mut summary,
        bar,
    )
    .await?;
    let staged = stage_registers(store, &inputs, &rows, &mut problems, &mut summary, bar)?;
    summary.phases.validate = started.elapsed().as_secs_f64();
    problems.check()?;
    let rows_read =
        summary.schools.rows_read + summary.pupils.rows_read + summary.registers.rows_read;
    if rows_read == 0 && inputs.skipped() == 0 {
        return Err(IngestError::Input(
            "nothing to load: the files given have a header and no rows".to_string(),
        ));
    }

    // Check the marks against each other and the store. The checks and the writes report no
    // progress of their own: a spinner says which runs.
    bar.step(
        &format!("checking {} marks", summary.registers.rows_read),
        None,
    );
    let register_plan =
        check_registers(&ctx, options, &session, &inputs, &staged, &mut problems).await?;
    summary.phases.check = started.elapsed().as_secs_f64() - summary.phases.validate;

    // Write: the reject file, then one commit for each table.
    bar.step("writing", None);
    if let Some(path) = &options.reject_file {
        write_rejects(path, &problems)?;
    }
    count_rejects(&inputs, &problems, &mut summary);
    write_tables(
        store,
        &ctx,
        &inputs,
        rows,
        register_plan,
        &staged,
        &mut summary,
    )
    .await?;
    drop(staged);
    bar.finish();
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

/// The input files of an ingest, table by table.
struct AllInputs {
    schools: Inputs,
    pupils: Inputs,
    registers: Inputs,
}

impl AllInputs {
    fn bytes(&self) -> u64 {
        [&self.schools, &self.pupils, &self.registers]
            .iter()
            .flat_map(|i| i.load.iter().map(|f| f.bytes))
            .sum()
    }

    fn skipped(&self) -> usize {
        self.schools.skipped + self.pupils.skipped + self.registers.skipped
    }
}

/// Phase 1: the files to load (directories expanded, files already loaded skipped); an ingest
/// given nothing to load fails.
async fn find_inputs(
    store: &Store,
    options: &IngestOptions,
    summary: &mut IngestSummary,
) -> Result<AllInputs, IngestError> {
    let notes = &mut summary.notes;
    let inputs = AllInputs {
        schools: inputs(store, Table::Schools, &options.schools, false, notes).await?,
        pupils: inputs(store, Table::Pupils, &options.pupils, false, notes).await?,
        registers: inputs(
            store,
            Table::Registers,
            &options.registers,
            options.update,
            notes,
        )
        .await?,
    };
    let given = inputs.schools.load.len() + inputs.pupils.load.len() + inputs.registers.load.len();
    if given + inputs.skipped() == 0 {
        return Err(IngestError::Input(
            "nothing to load: the paths given hold no .csv or .parquet file".to_string(),
        ));
    }
    summary.schools.files_skipped = inputs.schools.skipped;
    summary.pupils.files_skipped = inputs.pupils.skipped;
    summary.registers.files_skipped = inputs.registers.skipped;
    Ok(inputs)
}

/// The validated school and pupil rows of an ingest, and what the marks are checked against.
struct ValidRows {
    new_schools: Vec<RecordBatch>,
    new_pupils: Vec<RecordBatch>,
    /// The stored schools, overlaid with this ingest's.
    schools: SchoolMap,
    /// The stored enrolments and this ingest's (only when marks are loaded).
    enrolments: EnrolmentSet,
    /// Applied to the pupil ids of every file (`--pseudonymise-key`).
    pseudonymiser: Option<Arc<pseudonym::Pseudonymiser>>,
}

/// Phase 2: schools and pupils read and validated (pupils against the schools).
async fn read_schools_and_pupils(
    ctx: &SessionContext,
    inputs: &AllInputs,
    pseudonymiser: Option<Arc<pseudonym::Pseudonymiser>>,
    problems: &mut Problems,
    summary: &mut IngestSummary,
    bar: &dyn Progress,
) -> Result<ValidRows, IngestError> {
    let mut schools = stored_schools(ctx).await?;
    let mut new_schools = Vec::new();

    for file in &inputs.schools.load {
        let mut rows = SchoolRows::default();
        read_records(
            file,
            &SCHOOL_COLUMNS,
            false,
            problems,
            |line, f, problems| {
                summary.schools.rows_read += 1;
                rows.push(&file.display, line, f, problems);
            },
        )?;
        rows.add_to(&mut schools);
        new_schools.push(rows.to_batch());
        bar.advance(file.bytes);
    }
    let mut enrolments = if inputs.registers.load.is_empty() {
        EnrolmentSet::new()
    } else {
        stored_enrolments(ctx).await?
    };
    let mut new_pupils = Vec::new();

    for file in &inputs.pupils.load {
        let mut rows = PupilRows::new(pseudonymiser.clone());
        read_records(
            file,
            &PUPIL_COLUMNS,
            false,
            problems,
            |line, f, problems| {
                summary.pupils.rows_read += 1;
                if let Some(key) = rows.push(&file.display, line, f, &schools, problems) {
                    enrolments.insert(key);
                }
            },
        )?;
        new_pupils.push(rows.finish());
        bar.advance(file.bytes);
    }
    Ok(ValidRows {
        new_schools,
        new_pupils,
        schools,
        enrolments,
        pseudonymiser,
    })
}

/// The marks of an ingest, validated and staged.
struct StagedMarks {
    /// Removed (with its files) when dropped.
    staging: StagingDir,
    files: Vec<StagedFile>,
    /// The register partitions (academic year, region, LA) the marks fall in.
    touched: BTreeSet<(String, String, String)>,
}

/// Phase 3: register files validated in parallel, one file per task, and staged as Parquet.
fn stage_registers(
    store: &Store,
    inputs: &AllInputs,
    rows: &ValidRows,
    problems: &mut Problems,
    summary: &mut IngestSummary,
    bar: &dyn Progress,
) -> Result<StagedMarks, IngestError> {
    let staging = StagingDir::create(store)?;
    let keep_rejects = problems.keep_rejects;
    let staged: Vec<Result<StagedFile, IngestError>> = inputs
        .registers
        .load
        .par_iter()
        .enumerate()
        .map(|(i, file)| {
            stage_register_file(i as i32, file, &staging.path, rows, keep_rejects, bar)
        })
        .collect();
    let mut files = Vec::new();
    let mut touched = BTreeSet::new();
    for result in staged {
        let mut file = result?;
        summary.registers.rows_read += file.rows_read;
        summary.missing_marks += file.missing_marks;
        touched.extend(file.partitions.iter().cloned());
        problems.merge(std::mem::take(&mut file.problems));
        files.push(file);
    }
    Ok(StagedMarks {
        staging,
        files,
        touched,
    })
}

/// Phase 4: duplicates inside the input and conflicts with stored marks (they need the whole
/// input at once); the plan for writing the marks, or `None` when there are none.
async fn check_registers(
    ctx: &SessionContext,
    options: &IngestOptions,
    session: &SessionOptions,
    inputs: &AllInputs,
    staged: &StagedMarks,
    problems: &mut Problems,
) -> Result<Option<RegisterPlan>, IngestError> {
    let staged_rows: usize = staged.files.iter().map(|f| f.rows_staged).sum();
    if staged_rows == 0 {
        return Ok(None);
    }
    // Writers (of marks already in order) and sorting streams run in parallel on up to two
    // cores; a large input's sorts run one at a time.
    let workers = ctx.state().config().target_partitions().clamp(1, 2);
    let large_rows = options
        .large_input_rows
        .unwrap_or_else(|| large_input_rows(session.memory_limit));
    let large_input = staged_rows > large_rows;
    if large_input {
        crate::session::switch_profile(
            ctx,
            crate::session::Profile::MemoryBound,
            session.memory_limit,
        );
    }
    let plan = check_staged_marks(
        ctx,
        &staged.staging.path,
        &inputs.registers.load,
        &staged.touched,
        Checks {
            update: options.update,
            find_duplicates: sorted_sequence(&staged.files).is_none(),
            large_input,
        },
        problems,
    )
    .await?;
    problems.check()?;
    Ok(Some(RegisterPlan {
        workers,
        large_input,
        large_rows,
        memory_limit: session.memory_limit,
        ..plan
    }))
}

/// Rejected rows per table, by the file they came from.
fn count_rejects(inputs: &AllInputs, problems: &Problems, summary: &mut IngestSummary) {
    let rejected_in = |files: &[InputFile]| -> u64 {
        let names: HashSet<&str> = files.iter().map(|f| f.display.as_str()).collect();
        problems
            .rejects
            .iter()
            .filter(|(e, _)| names.contains(e.file.as_str()))
            .count() as u64
    };
    summary.schools.rows_rejected = rejected_in(&inputs.schools.load);
    summary.pupils.rows_rejected = rejected_in(&inputs.pupils.load);
    summary.registers.rows_rejected = rejected_in(&inputs.registers.load);
}

/// Phase 5: one commit per table, in the order schools, pupils, registers.
async fn write_tables(
    store: &Store,
    ctx: &SessionContext,
    inputs: &AllInputs,
    rows: ValidRows,
    register_plan: Option<RegisterPlan>,
    staged: &StagedMarks,
    summary: &mut IngestSummary,
) -> Result<(), IngestError> {
    // Schools and pupils: the rows loaded replace the stored rows with their key.
    for (table, input, new_rows, table_summary) in [
        (
            Table::Schools,
            &inputs.schools,
            rows.new_schools,
            &mut summary.schools,
        ),
        (
            Table::Pupils,
            &inputs.pupils,
            rows.new_pupils,
            &mut summary.pupils,
        ),
    ] {
        if !input.load.is_empty() {
            let hashes = hashes(&input.load);
            write_keyed_rows(store, ctx, table, new_rows, &hashes, table_summary).await?;
            table_summary.files_loaded = input.load.len();
        }
    }
    if !inputs.registers.load.is_empty() {
        let hashes = hashes(&inputs.registers.load);
        write_registers(
            store,
            ctx,
            register_plan,
            &staged.files,
            &staged.touched,
            &hashes,
            summary,
        )
        .await?;
        summary.registers.files_loaded = inputs.registers.load.len();
    }
    Ok(())
}

fn hashes(files: &[InputFile]) -> Vec<String> {
    files.iter().map(|f| f.sha256.clone()).collect()
}

//! Checking the staged marks against each other and against the store: duplicates, conflicts, identical re-loads.

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::Path;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Date32Type, Int32Type, Int64Type};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use futures::TryStreamExt;

use self::source::InputFile;
use crate::session::DEFAULT_MEMORY_LIMIT;

use super::*;

/// Schools already stored, by URN.
pub(super) async fn stored_schools(ctx: &SessionContext) -> Result<SchoolMap, IngestError> {
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
pub(super) async fn stored_enrolments(ctx: &SessionContext) -> Result<EnrolmentSet, IngestError> {
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

/// What [`check_staged_marks`] looks for, and how.
pub(super) struct Checks {
    /// A new code replaces a stored mark's (else it is a conflict).
    pub(super) update: bool,
    /// The input can hold a mark twice.
    pub(super) find_duplicates: bool,
    /// Too many marks for a join holding one side in memory.
    pub(super) large_input: bool,
}

/// Finds duplicate marks inside the input (unless `find_duplicates` is false because there can be
/// none) and marks already stored (identical: a no-op; another code: a conflict, or a
/// replacement with `update`).
pub(super) async fn check_staged_marks(
    ctx: &SessionContext,
    staging: &Path,
    files: &[InputFile],
    touched: &BTreeSet<(String, String, String)>,
    checks: Checks,
    problems: &mut Problems,
) -> Result<RegisterPlan, IngestError> {
    ctx.register_parquet(
        "ingest_staged",
        staging.to_str().expect("utf-8 path"),
        ParquetReadOptions::default(),
    )
    .await?;
    let mut rejected = Vec::new();
    if checks.find_duplicates {
        reject_duplicates(ctx, files, &mut rejected, problems).await?;
    }
    let mut plan = RegisterPlan {
        rejected: vec![],
        unchanged: 0,
        replaced: 0,
        overlapping: 0,
        workers: 1,
        large_input: false,
        large_rows: large_input_rows(DEFAULT_MEMORY_LIMIT),
        memory_limit: DEFAULT_MEMORY_LIMIT,
    };
    if let Some(overlaps) = stored_overlaps(ctx, touched, checks.large_input).await? {
        sort_out_overlaps(
            overlaps,
            files,
            checks.update,
            &mut rejected,
            &mut plan,
            problems,
        )
        .await?;
    }
    plan.rejected = rejected;
    Ok(plan)
}

/// Two marks for one pupil, school, date and session inside the input: the first one stands,
/// each later one is rejected (into `rejected`, as `(_src, _line)`).
async fn reject_duplicates(
    ctx: &SessionContext,
    files: &[InputFile],
    rejected: &mut Vec<(i32, i64)>,
    problems: &mut Problems,
) -> Result<(), IngestError> {
    let location = |src: i32| files[src as usize].display.as_str();
    // First the keys marked twice (an aggregation, which spills beyond the memory budget):
    // usually none, and then nothing else is read. Otherwise the rows with those keys, the
    // (small) list of keys being the side of the join held in memory.
    let keys = ctx
        .sql(
            r#"SELECT pupil_id, urn, "date", "session" FROM ingest_staged
               GROUP BY pupil_id, urn, "date", "session" HAVING count(*) > 1"#,
        )
        .await?
        .collect()
        .await?;
    if !keys.iter().any(|b| b.num_rows() > 0) {
        return Ok(());
    }
    register_batches(ctx, "ingest_duplicate_keys", keys)?;
    // Streamed: a load that gives every mark twice has as many duplicates as marks.
    let mut duplicates = ctx
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
    let mut previous: Option<StagedMark> = None;
    while let Some(batch) = duplicates.try_next().await? {
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
    Ok(())
}

/// The staged marks whose key is stored already, with both codes (`_src, _line, pupil_id, urn,
/// date, session, new_code, stored_code`), streamed: a load that repeats stored marks can
/// overlap millions of them. `None` when the store has nothing in the partitions touched (a
/// new year, a new LA), found without a join.
async fn stored_overlaps(
    ctx: &SessionContext,
    touched: &BTreeSet<(String, String, String)>,
    large_input: bool,
) -> Result<Option<datafusion::execution::SendableRecordBatchStream>, IngestError> {
    register_touched(ctx, touched, false).await?;
    let any_stored = ctx
        .sql("SELECT 1 FROM ingest_touched_registers LIMIT 1")
        .await?
        .collect()
        .await?
        .iter()
        .any(|b| b.num_rows() > 0);
    if !any_stored {
        return Ok(None);
    }
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
                         FROM ingest_touched_registers)
                   WINDOW w AS (ORDER BY urn, pupil_id, "date", "session", _new))
             WHERE _new = 1 AND prev_new = 0 AND prev_urn = urn AND prev_pupil = pupil_id
                   AND prev_date = "date" AND prev_session = "session""#
        )
    } else {
        r#"SELECT s._src, s._line, s.pupil_id, s.urn, s."date", s."session",
                  s.code AS new_code, r.code AS stored_code
           FROM ingest_staged s
           JOIN ingest_touched_registers r ON s.academic_year = r.academic_year
                AND s.la_code = r.la_code AND s.urn = r.urn AND s.pupil_id = r.pupil_id
                AND s."date" = r."date" AND s."session" = r."session"
           ORDER BY s._src, s._line"#
            .to_string()
    };
    Ok(Some(ctx.sql(&sql).await?.execute_stream().await?))
}

/// Counts the overlapping marks that are identical (unchanged) or replace a stored code
/// (with `update`) into `plan`; any other is a conflict, rejected. Marks rejected already
/// (duplicates) are passed over.
async fn sort_out_overlaps(
    mut overlaps: datafusion::execution::SendableRecordBatchStream,
    files: &[InputFile],
    update: bool,
    rejected: &mut Vec<(i32, i64)>,
    plan: &mut RegisterPlan,
    problems: &mut Problems,
) -> Result<(), IngestError> {
    let location = |src: i32| files[src as usize].display.as_str();
    let rejected_set: HashSet<(i32, i64)> = rejected.iter().copied().collect();
    while let Some(batch) = overlaps.try_next().await? {
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
    Ok(())
}

/// A register mark's key: pupil, school, date (days since 1970-01-01), session.
pub(super) type MarkKey = (String, i32, i32, String);

/// A staged mark, with where it came from.
pub(super) struct StagedMark {
    pub(super) src: i32,
    pub(super) line: i64,
    pub(super) key: MarkKey,
    pub(super) code: String,
}

/// The staged marks of a batch whose first columns are `_src, _line, pupil_id, urn, date,
/// session, code`.
pub(super) fn staged_marks(batch: &RecordBatch) -> Vec<StagedMark> {
    (0..batch.num_rows())
        .map(|i| staged_mark(batch, i))
        .collect()
}

/// Row `i` of such a batch.
pub(super) fn staged_mark(batch: &RecordBatch, i: usize) -> StagedMark {
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

pub(super) fn register_record(key: &MarkKey, code: &str) -> String {
    let date = from_date32(key.2).format("%Y-%m-%d").to_string();
    let urn = key.1.to_string();
    csv_line(&[&key.0, &urn, &date, &key.3, code])
}

pub(super) fn write_rejects(path: &Path, problems: &Problems) -> Result<(), IngestError> {
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

//! Planning the sorted path: staged files already in storage order, grouped into runs for the writers.

use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;

use crate::store::write::{BatchSender, BatchSource};

use super::*;

/// The staged files in key order, when reading them one after another gives the marks in
/// storage order with no key twice: every file's keys were strictly increasing (so a file has no
/// duplicate, and is sorted) and the files' key ranges do not overlap (so no two files share a
/// key). Inputs sorted by school and pupil, one file per LA or per school, are like that; for
/// others (`None`) the duplicate query runs and the marks are sorted before they are written.
pub(super) fn sorted_sequence(files: &[StagedFile]) -> Option<Vec<&StagedFile>> {
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
pub(super) const SOURCE_ROWS: (usize, usize) = (1 << 20, 32 << 20);

/// Writers for staged files already in storage order ([`sorted_sequence`]), each reading a run
/// of files. A file's marks go to the run of its first partition, so that a partition's files
/// are mostly in one run (one stored file per partition, not one per run); inside a run the
/// files are in key order, so each partition's marks reach its writer sorted.
pub(super) fn sorted_sources(sequence: &[&StagedFile], workers: usize) -> Vec<BatchSource> {
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
pub(super) fn plan_runs<'a>(
    sequence: &[&'a StagedFile],
    per_run: usize,
) -> Vec<Vec<&'a StagedFile>> {
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
pub(super) fn send_staged(path: &Path, tx: &BatchSender) -> Result<bool, String> {
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

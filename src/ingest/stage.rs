//! Staging: each register file validated and written as Parquet under `DATA/_staging/`.

use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};

use self::source::{InputFile, read_records};
use crate::store::Store;

use super::*;

/// A scratch directory for staged rows, removed when dropped (also on error). Stale ones left by
/// a killed ingest are removed by the next.
pub(super) struct StagingDir {
    pub(super) path: PathBuf,
}

impl StagingDir {
    /// Called with the store's write lock held: no other ingest runs, so the directories of
    /// earlier ones are left over from a crash and are removed.
    pub(super) fn create(store: &Store) -> Result<Self, IngestError> {
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
pub(super) struct StagedFile {
    pub(super) path: PathBuf,
    pub(super) rows_read: u64,
    pub(super) rows_staged: usize,
    /// The staged keys' range, when they are strictly increasing.
    pub(super) sorted_range: Option<(MarkOrder, MarkOrder)>,
    pub(super) missing_marks: u64,
    pub(super) partitions: Vec<(String, String, String)>,
    pub(super) problems: Problems,
}

pub(super) const STAGING_BATCH_ROWS: usize = 64 * 1024;

/// The query engine's share of an ingest's memory budget (`-m`): what ingest's own buffers
/// (staging, writers) and what the queries hold outside their budget leave for the queries;
/// sorts and aggregations spill beyond it. Of the default 2 GB, 1.25 GB.
pub(super) fn ingest_query_memory(memory_limit: usize) -> usize {
    memory_limit / 8 * 5
}

/// Memory budget a staged mark needs in an in-memory sort or check: two sorts of a million
/// marks each held 603 and 665 MB (about 640 bytes a mark: its string views, the sort's row
/// encoding and the batches around it), and a sort that reaches the budget must still find
/// room to merge what it spills; with 1 KB a mark, 1.25 M marks for the default budget.
const SORTED_MARK_BYTES: usize = 1024;

/// Above this many staged marks, the checks and writes that do not fit in memory run one sort
/// at a time, and joins are sort-merge joins (whose sorts spill) rather than hash joins (which
/// hold a side in memory): proportional to the budget.
pub(super) fn large_input_rows(query_memory: usize) -> usize {
    query_memory / SORTED_MARK_BYTES
}

pub(super) fn stage_register_file(
    src: i32,
    file: &InputFile,
    staging: &Path,
    valid: &ValidRows,
    keep_rejects: bool,
    bar: &dyn crate::progress::Progress,
) -> Result<StagedFile, IngestError> {
    let mut problems = Problems::new(keep_rejects);
    let (schools, enrolments) = (&valid.schools, &valid.enrolments);
    let mut rows = RegisterRows::new(src, valid.pseudonymiser.clone());
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
    bar.advance(file.bytes);
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

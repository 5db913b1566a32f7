//! Finding the input files: directories expanded, only regular files, already-loaded files skipped.

use std::collections::HashSet;
use std::path::PathBuf;

use self::source::InputFile;
use crate::store::{Store, Table};

use super::*;

/// Expands directories into their `.csv`/`.parquet` files (sorted by name). Only regular
/// files are read: a path given by name may be a link to one; in a directory, links and
/// anything that is not a regular file are passed over with a note. A path that does not
/// exist, a dangling link, or a given path that is not a regular file or directory (a FIFO, a
/// device such as /dev/zero) is an error.
pub(super) fn expand(
    paths: &[PathBuf],
    notes: &mut Vec<String>,
) -> Result<Vec<PathBuf>, IngestError> {
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
pub(super) struct Inputs {
    pub(super) load: Vec<InputFile>,
    pub(super) skipped: usize,
}

/// With `reapply` (an ingest with `--update`), a file already loaded is loaded again: its
/// marks then replace whatever the store holds now (re-sending an earlier file undoes a
/// correction made since).
pub(super) async fn inputs(
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

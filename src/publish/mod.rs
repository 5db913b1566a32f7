//! Writing a command's output files into its `--out` directory all at once.
//!
//! The files are written into a new hidden directory beside `--out` and moved into place only
//! when every one of them is complete, so a failed run leaves `--out` as it was, and a reader
//! never finds new files mixed with old ones under an old manifest. A non-empty `--out` is
//! replaced only when it holds nothing but an earlier output of the same kind (the files its
//! `manifest.json` lists), or with `force`.
//!
//! [`files`] writes the output files themselves (text with suppression, CSV, Parquet, hashes);
//! [`Provenance`] is the part of every manifest that says what was read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::store::{Store, StoreError, Table, TableVersions};

mod files;
pub use files::{OutputReport, batch_to_text, write_output};

/// Where a run's files are written before they are published.
#[derive(Debug)]
pub struct Publication {
    out: PathBuf,
    staging: tempfile::TempDir,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error(
        "--out {0} is not empty and holds files this command did not write ({1}); give an empty or new directory, or --force to replace it"
    )]
    Foreign(String, String),
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error("parquet: {0}")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
}

/// What a run read and when: the head of every output's `manifest.json`.
#[derive(Debug, Serialize)]
pub struct Provenance {
    pub engine: String,
    pub datafusion: String,
    pub started_at: String,
    pub wall_seconds: f64,
    pub store: String,
    pub table_versions: TableVersions,
    /// Content hashes of the input files loaded into each table, from the commit history.
    pub loaded_input_files: BTreeMap<&'static str, Vec<String>>,
}

impl Provenance {
    /// The provenance of a run over `store` at `versions` that started at `started`
    /// (`started_at` in RFC 3339).
    pub async fn new(
        store: &Store,
        versions: TableVersions,
        started: Instant,
        started_at: String,
    ) -> Result<Self, StoreError> {
        let mut loaded = BTreeMap::new();
        for table in Table::ALL {
            let mut hashes: Vec<String> = store.loaded_files(table).await?.into_iter().collect();
            hashes.sort();
            loaded.insert(table.name(), hashes);
        }
        Ok(Self {
            engine: format!("attendance {}", env!("CARGO_PKG_VERSION")),
            datafusion: datafusion::DATAFUSION_VERSION.to_string(),
            started_at,
            wall_seconds: started.elapsed().as_secs_f64(),
            store: store.root().display().to_string(),
            table_versions: versions,
            loaded_input_files: loaded,
        })
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> PublishError + '_ {
    move |e| PublishError::Io(path.display().to_string(), e)
}

/// The files of `dir` that are not those listed in its `manifest.json` (`outputs[].file`).
fn foreign_files(dir: &Path) -> Result<Vec<String>, PublishError> {
    let listed: Vec<String> = std::fs::read(dir.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|m| {
            m.get("outputs")?.as_array().map(|outputs| {
                outputs
                    .iter()
                    .filter_map(|o| o.get("file")?.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default();
    let mut foreign = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let name = entry
            .map_err(io(dir))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name != "manifest.json" && !listed.contains(&name) {
            foreign.push(name);
        }
    }
    foreign.sort();
    Ok(foreign)
}

impl Publication {
    /// Starts a run that will publish into `out`.
    pub fn begin(out: &Path, force: bool) -> Result<Self, PublishError> {
        if out.is_dir() && !force {
            let foreign = foreign_files(out)?;
            if !foreign.is_empty() {
                let mut shown = foreign[..foreign.len().min(3)].join(", ");
                if foreign.len() > 3 {
                    shown.push_str(&format!(" and {} more", foreign.len() - 3));
                }
                return Err(PublishError::Foreign(out.display().to_string(), shown));
            }
        }
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(io(&parent))?;
        let staging = tempfile::Builder::new()
            .prefix(".attendance-out-")
            .tempdir_in(&parent)
            .map_err(io(&parent))?;
        Ok(Self {
            out: out.to_path_buf(),
            staging,
        })
    }

    /// The directory to write the files into.
    pub fn dir(&self) -> &Path {
        self.staging.path()
    }

    /// Writes `manifest` as `manifest.json` beside the files.
    pub fn write_manifest(&self, manifest: &impl Serialize) -> Result<(), PublishError> {
        let path = self.dir().join("manifest.json");
        std::fs::write(
            &path,
            serde_json::to_string_pretty(manifest).expect("manifest serialises"),
        )
        .map_err(io(&path))
    }

    /// Moves the files into `out`, replacing what it held. Dropped without this, the files are
    /// deleted and `out` is untouched.
    pub fn publish(self) -> Result<(), PublishError> {
        let staged = self.staging.keep();
        if !self.out.exists() {
            return std::fs::rename(&staged, &self.out).map_err(io(&self.out));
        }
        // Both renames are within one directory: the old output is moved aside whole, the new
        // one takes its name, and the old one is deleted.
        let parent = staged
            .parent()
            .expect("staged in a directory")
            .to_path_buf();
        let aside = tempfile::Builder::new()
            .prefix(".attendance-old-")
            .tempdir_in(&parent)
            .map_err(io(&parent))?
            .keep();
        let old = aside.join("out");
        std::fs::rename(&self.out, &old).map_err(io(&self.out))?;
        if let Err(e) = std::fs::rename(&staged, &self.out) {
            let _ = std::fs::rename(&old, &self.out);
            let _ = std::fs::remove_dir_all(&staged);
            let _ = std::fs::remove_dir_all(&aside);
            return Err(PublishError::Io(self.out.display().to_string(), e));
        }
        let _ = std::fs::remove_dir_all(&aside);
        Ok(())
    }
}

//! Writing a command's output files into its `--out` directory all at once.
//!
//! The files are written into a new hidden directory beside `--out` and moved into place only
//! when every one of them is complete, so a failed run leaves `--out` as it was, and a reader
//! never finds new files mixed with old ones under an old manifest. A non-empty `--out` is
//! replaced only when it holds nothing but an earlier output of the same kind (the files its
//! `manifest.json` lists), or with `force`.

use std::path::{Path, PathBuf};

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

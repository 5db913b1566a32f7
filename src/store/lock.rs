//! One writer at a time: an OS file lock on `DATA/.lock`, held for the whole of a command that
//! writes (ingest, summarise, vacuum, generate).
//!
//! The lock is an advisory `flock`-style lock ([`std::fs::File::try_lock`]): the kernel releases
//! it when the process ends, however it ends, so a killed writer never leaves the store locked.
//! While it is held the file names the holder ("ingest by pid 123 since 2026-12-03T10:00:00Z"),
//! and a second writer is told who has the store. Readers (`sql`, `shell`, `indicators`) take no
//! lock: they read one committed snapshot of each table, which a writer never changes.
//!
//! Delta's own commit protocol is the second line of defence: every commit of this crate is made
//! with no retries (see [`super::commit_properties`]), so a commit planned on a snapshot that
//! another writer has since moved on fails instead of being re-applied on top of it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::StoreError;

/// The file the lock is taken on, in the store's root.
pub const LOCK_FILE: &str = ".lock";

/// Holding this, the process is the store's only writer. Dropping it releases the lock.
#[derive(Debug)]
pub struct WriteLock {
    file: File,
    path: PathBuf,
}

impl WriteLock {
    /// Takes the lock of the store at `root` for `command`; with `wait`, waits for the writer
    /// that holds it to finish, else fails at once saying who holds it.
    pub fn acquire(root: &Path, command: &str, wait: bool) -> Result<Self, StoreError> {
        std::fs::create_dir_all(root).map_err(|e| writable_error(root, e))?;
        let path = root.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| writable_error(root, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) if wait => {
                file.lock()
                    .map_err(|e| StoreError::Io(path.display().to_string(), e))?;
            }
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(StoreError::Busy {
                    root: root.display().to_string(),
                    holder: if holder.is_empty() {
                        "another command is writing it".to_string()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(TryLockError::Error(e)) => {
                return Err(StoreError::Io(path.display().to_string(), e));
            }
        }
        let since = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        let note = format!("{command} by pid {} since {since}\n", std::process::id());
        let written = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(note.as_bytes()))
            .and_then(|()| file.flush());
        written.map_err(|e| StoreError::Io(path.display().to_string(), e))?;
        Ok(Self { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        // Clear the holder's note before the kernel releases the lock with the file.
        let _ = self.file.set_len(0);
    }
}

fn writable_error(root: &Path, e: std::io::Error) -> StoreError {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            StoreError::ReadOnly(root.display().to_string())
        }
        _ => StoreError::Io(root.display().to_string(), e),
    }
}

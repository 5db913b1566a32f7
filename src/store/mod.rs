//! The register store: three Delta Lake tables under one data directory.
//!
//! ```text
//! DATA/
//!   schools/                      Delta table, not partitioned, sorted by urn
//!   pupils/academic_year=2024-25/ Delta table partitioned by academic_year, sorted by urn, pupil_id
//!   registers/academic_year=2024-25/region_code=E12000004/la_code=855/
//!                                 Delta table, sorted by urn, pupil_id, date, session
//!   enrolment_summary/            the derived summary (see `summary`)
//!   _staging/ingest-PID-N/        scratch space of a running ingest (removed when it ends)
//!   _checksums/TABLE/FILE.crc32   the checksum of every data file ([`checksum`])
//!   .lock                         held by the one command writing the store ([`lock`])
//! ```
//!
//! Every table is hive-partitioned Parquet plus a `_delta_log/` transaction log written by
//! delta-rs, so a commit is atomic, readers see one consistent snapshot, and old versions stay
//! readable. Files are zstd-compressed, dictionary-encoded, with page-level statistics and the page
//! index, and declare their sort order in the Parquet `sorting_columns` metadata.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::metadata::SortingColumn;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::prelude::SessionContext;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::{DeltaTable, DeltaTableError};
use futures::TryStreamExt;
use url::Url;

use crate::schema;

pub mod check;
pub mod checksum;
pub mod lock;
pub mod partitions;
pub mod query_chain;
pub mod write;

pub use lock::WriteLock;
pub use partitions::academic_years;

/// Key under which an ingest records, in each Delta commit's `commitInfo`, the SHA-256 of every
/// input file it loaded into that table. A file whose hash is recorded is not loaded again.
pub const LOADED_FILES_KEY: &str = "attendance.loadedFiles";

/// Rows per Parquet row group: small enough that a one-school query skips most of a file.
const ROW_GROUP_ROWS: usize = 128 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "no attendance store at {0} (run `attendance ingest --data {0}` or `attendance generate --data {0}` first)"
    )]
    Missing(String),
    #[error("{table} table at {path}: {source}")]
    Delta {
        table: &'static str,
        path: String,
        #[source]
        source: DeltaTableError,
    },
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "the store at {root} is busy: {holder} (run again when it has finished, or give --wait to wait for it)"
    )]
    Busy { root: String, holder: String },
    #[error("the store at {0} is read-only here: this command writes to it")]
    ReadOnly(String),
    #[error(
        "{table} table: {what} is damaged: {why} (run `attendance check --data DIR`; the README says how to recover)"
    )]
    Damaged {
        table: String,
        what: String,
        why: String,
    },
    #[error(
        "the {0} table changed while this command ran (another writer committed first); nothing was committed: run it again"
    )]
    Conflict(&'static str),
}

impl StoreError {
    /// The error for a delta-rs failure on the table `table` at `path`: the one constructor of
    /// [`StoreError::Delta`], as a closure for `map_err`.
    pub fn delta(
        table: &'static str,
        path: String,
    ) -> impl Fn(DeltaTableError) -> StoreError + Clone {
        move |source| StoreError::Delta {
            table,
            path: path.clone(),
            source,
        }
    }
}

/// One of the store's three tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Schools,
    Pupils,
    Registers,
}

impl Table {
    pub const ALL: [Table; 3] = [Table::Schools, Table::Pupils, Table::Registers];

    pub fn name(self) -> &'static str {
        match self {
            Table::Schools => "schools",
            Table::Pupils => "pupils",
            Table::Registers => "registers",
        }
    }

    pub fn schema(self) -> SchemaRef {
        match self {
            Table::Schools => schema::SCHOOLS.clone(),
            Table::Pupils => schema::PUPILS.clone(),
            Table::Registers => schema::REGISTERS.clone(),
        }
    }

    pub fn partition_columns(self) -> &'static [&'static str] {
        match self {
            Table::Schools => &[],
            Table::Pupils => &schema::PUPIL_PARTITIONS,
            Table::Registers => &schema::REGISTER_PARTITIONS,
        }
    }

    /// The order of rows inside every file of this table (after the partition columns).
    pub fn sort_columns(self) -> &'static [&'static str] {
        match self {
            Table::Schools => &["urn"],
            Table::Pupils => &["urn", "pupil_id"],
            Table::Registers => &["urn", "pupil_id", "date", "session"],
        }
    }

    /// Parquet writer settings: zstd, dictionary encoding, page statistics and page index,
    /// and the declared sort order.
    pub fn writer_properties(self) -> WriterProperties {
        let file_schema = self.schema();
        let partitions = self.partition_columns();
        let file_columns: Vec<&str> = file_schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .filter(|n| !partitions.contains(n))
            .collect();
        let sorting = self
            .sort_columns()
            .iter()
            .map(|c| SortingColumn {
                column_idx: file_columns
                    .iter()
                    .position(|f| f == c)
                    .expect("sort column") as i32,
                descending: false,
                nulls_first: false,
            })
            .collect();
        writer_properties(Some(sorting))
    }
}

/// The store's Parquet settings, with the sort order files declare (if any).
pub fn writer_properties(sorting: Option<Vec<SortingColumn>>) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("zstd level"),
        ))
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_sorting_columns(sorting)
        .build()
}

/// The data directory holding the three tables.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    /// The versions a writer planned on ([`Store::expecting`]): a write to a table that has
    /// moved on since fails with [`StoreError::Conflict`].
    expected: Option<Arc<TableVersions>>,
    /// Whether taking the write lock waits for the writer holding it ([`Store::waiting`]).
    wait: bool,
}

/// The table versions a reader saw: recorded by the indicators job so figures can be reproduced.
pub type TableVersions = BTreeMap<&'static str, Option<u64>>;

impl Store {
    /// A store rooted at `root`; the directory is created by the first ingest.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            expected: None,
            wait: false,
        }
    }

    /// This store, with commands that write it waiting for the lock rather than failing when
    /// another command holds it.
    pub fn waiting(mut self, wait: bool) -> Self {
        self.wait = wait;
        self
    }

    /// This store, for a writer that planned its changes on the tables at `versions`: opening
    /// a table for writing fails if its latest version is another one. With the write lock
    /// held this only happens when something outside this engine wrote to the store.
    pub fn expecting(&self, versions: TableVersions) -> Self {
        Self {
            root: self.root.clone(),
            expected: Some(Arc::new(versions)),
            wait: self.wait,
        }
    }

    /// A store that must already hold at least one table.
    pub fn open_existing(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let store = Self::new(root);
        if !store
            .table_names()
            .any(|t| store.root.join(t).join("_delta_log").is_dir())
        {
            return Err(StoreError::Missing(store.root.display().to_string()));
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn table_path(&self, table: Table) -> PathBuf {
        self.root.join(table.name())
    }

    pub fn staging_dir(&self) -> PathBuf {
        self.root.join("_staging")
    }

    /// Takes the store's write lock for `command` (see [`lock`]). Every command that writes
    /// holds it from start to end; `wait` (or a [`Store::waiting`] store) waits for the current
    /// writer instead of failing.
    pub fn lock(&self, command: &str, wait: bool) -> Result<WriteLock, StoreError> {
        WriteLock::acquire(&self.root, command, wait || self.wait)
    }

    /// The object store every table is read and written through: the local file system, with
    /// a checksum of every data file recorded on write and verified on read ([`checksum`]).
    fn object_store(&self) -> Result<Arc<dyn deltalake::ObjectStore>, StoreError> {
        let abs = self
            .root
            .canonicalize()
            .map_err(|e| StoreError::Io(self.root.display().to_string(), e))?;
        let root = object_store::path::Path::from_filesystem_path(&abs)
            .map_err(|e| StoreError::Invalid(format!("{}: {e}", abs.display())))?;
        Ok(Arc::new(checksum::ChecksumStore::new(
            Arc::new(object_store::local::LocalFileSystem::new()),
            root,
        )))
    }

    /// An uninitialised handle on the Delta table in directory `name` of the store (created if
    /// missing), reading and writing through [`Self::object_store`].
    pub(crate) fn table_handle(&self, name: &'static str) -> Result<DeltaTable, StoreError> {
        let path = self.root.join(name);
        std::fs::create_dir_all(&path)
            .map_err(|e| StoreError::Io(path.display().to_string(), e))?;
        let abs = path
            .canonicalize()
            .map_err(|e| StoreError::Io(path.display().to_string(), e))?;
        let url = Url::from_directory_path(&abs)
            .map_err(|_| StoreError::Missing(abs.display().to_string()))?;
        let error = StoreError::delta(name, path.display().to_string());
        deltalake::DeltaTableBuilder::from_url(url.clone())
            .map_err(&error)?
            .with_storage_backend(self.object_store()?, url)
            .build()
            .map_err(error)
    }

    /// The Delta table in directory `name` at its latest version, or `None` when nothing was
    /// ever committed to it (no directory, or only the temporary file of an interrupted first
    /// commit). A damaged latest commit (empty, or not JSON) is an error rather than being read
    /// as an empty commit.
    pub(crate) async fn open_named(
        &self,
        name: &'static str,
    ) -> Result<Option<DeltaTable>, StoreError> {
        let log = self.root.join(name).join("_delta_log");
        if !log.is_dir() {
            return Ok(None);
        }
        match check::latest_commit(&log)
            .map_err(|e| StoreError::Io(log.display().to_string(), e))?
        {
            check::LatestCommit::None => return Ok(None),
            check::LatestCommit::Damaged { file, why } => {
                return Err(StoreError::Damaged {
                    table: name.to_string(),
                    what: format!("its latest commit {name}/_delta_log/{file}"),
                    why,
                });
            }
            check::LatestCommit::Ok => {}
        }
        let mut table = self.table_handle(name)?;
        table.load().await.map_err(StoreError::delta(
            name,
            self.root.join(name).display().to_string(),
        ))?;
        Ok(Some(table))
    }

    fn delta_error(&self, table: Table, source: DeltaTableError) -> StoreError {
        StoreError::delta(table.name(), self.table_path(table).display().to_string())(source)
    }

    /// The table at its latest version, or `None` if nothing was ever committed to it.
    pub async fn load(&self, table: Table) -> Result<Option<DeltaTable>, StoreError> {
        self.open_named(table.name()).await
    }

    /// Deletes data files no table version newer than `retention` refers to, in every table of
    /// the store (the enrolment summary included): files removed by corrections and rebuilds,
    /// and files an interrupted write left behind that no commit refers to (delta-rs's full
    /// mode). Untracked files younger than `retention` are kept, so that a write in progress is
    /// never touched; with a zero retention, run it only when nothing writes to the store.
    /// Versions older than `retention` can no longer be read afterwards. With `dry_run`,
    /// nothing is deleted.
    ///
    /// Untracked files are found by listing the table directory. object_store's local listing
    /// skips hidden directories, so a store below one (a path with a component starting with
    /// `.`) only has its replaced files deleted.
    /// Returns, per table, the files deleted (or that would be).
    pub async fn vacuum(
        &self,
        retention: chrono::Duration,
        dry_run: bool,
    ) -> Result<Vec<(&'static str, Vec<String>)>, StoreError> {
        let _lock = self.lock("vacuum", false)?;
        let mut report = Vec::new();
        for name in self.table_names() {
            let Some(table) = self.open_named(name).await? else {
                continue;
            };
            let path = self.root().join(name);
            let (_, metrics) = table
                .vacuum()
                .with_mode(deltalake::operations::vacuum::VacuumMode::Full)
                .with_retention_period(retention)
                .with_enforce_retention_duration(false)
                .with_dry_run(dry_run)
                .with_commit_properties(CommitProperties::default().with_max_retries(0))
                .await
                .map_err(StoreError::delta(name, path.display().to_string()))?;
            report.push((name, metrics.files_deleted));
        }
        // What interrupted writes left: staging directories (no ingest runs while the lock is
        // held) and the checksums of data files that are gone.
        let mut leftovers = Vec::new();
        if self.staging_dir().is_dir() {
            leftovers.push("_staging/".to_string());
            if !dry_run {
                std::fs::remove_dir_all(self.staging_dir())
                    .map_err(|e| StoreError::Io(self.staging_dir().display().to_string(), e))?;
            }
        }
        leftovers.extend(check::orphan_checksums(self, !dry_run)?);
        if !leftovers.is_empty() {
            report.push(("(store)", leftovers));
        }
        Ok(report)
    }

    /// The Delta tables of the store: the three input tables and the derived ones.
    pub fn table_names(&self) -> impl Iterator<Item = &'static str> {
        Table::ALL.iter().map(|t| t.name()).chain([SUMMARY_TABLE])
    }

    /// A handle for writing: the loaded table, or an uninitialised one the first write creates.
    pub async fn load_for_write(&self, table: Table) -> Result<DeltaTable, StoreError> {
        let loaded = self.load(table).await?;
        if let Some(expected) = self.expected.as_ref().and_then(|e| e.get(table.name()))
            && loaded.as_ref().and_then(DeltaTable::version) != *expected
        {
            return Err(StoreError::Conflict(table.name()));
        }
        match loaded {
            Some(t) => Ok(t),
            None => self.table_handle(table.name()),
        }
    }

    /// Registers `schools`, `pupils` and `registers` in `ctx` at their latest versions (an empty
    /// table with the right schema for one never written) and returns the versions registered.
    pub async fn register_tables(&self, ctx: &SessionContext) -> Result<TableVersions, StoreError> {
        Ok(self.register_tables_with_contents(ctx).await?.versions)
    }

    /// [`Self::register_tables`], also returning what each table registered holds.
    pub async fn register_tables_with_contents(
        &self,
        ctx: &SessionContext,
    ) -> Result<Registered, StoreError> {
        let mut versions = TableVersions::new();
        let mut contents = TableContents::new();
        // Every local file the session reads goes through the checksum store: data files of
        // this store are verified before their bytes are used; other files pass through.
        // (DataFusion's default `file://` store would otherwise serve the Delta scans.)
        let file_url = Url::parse("file:///").expect("a URL");
        ctx.runtime_env()
            .register_object_store(&file_url, self.object_store()?);
        for table in Table::ALL {
            let provider: Arc<dyn TableProvider> = match self.load(table).await? {
                Some(delta) => {
                    versions.insert(table.name(), delta.version());
                    contents.insert(table.name(), Some(files_digest(&delta)?));
                    delta
                        .update_datafusion_session(&ctx.state())
                        .map_err(|e| self.delta_error(table, e))?;
                    delta
                        .table_provider()
                        .await
                        .map_err(|e| self.delta_error(table, e.into()))?
                }
                None => {
                    versions.insert(table.name(), None);
                    contents.insert(table.name(), None);
                    Arc::new(MemTable::try_new(table.schema(), vec![vec![]])?)
                }
            };
            ctx.deregister_table(table.name())?;
            ctx.register_table(table.name(), provider)?;
        }
        Ok(Registered { versions, contents })
    }

    /// SHA-256 hashes of every input file already loaded into `table` (from the commit history).
    pub async fn loaded_files(&self, table: Table) -> Result<HashSet<String>, StoreError> {
        let mut hashes = HashSet::new();
        let Some(delta) = self.load(table).await? else {
            return Ok(hashes);
        };
        let history: Vec<_> = delta
            .history(None)
            .try_collect()
            .await
            .map_err(|e| self.delta_error(table, e))?;
        // Newest first: a commit that replaced the whole table (a generated store) ends the
        // history of what was loaded into it.
        for commit in history {
            if let Some(serde_json::Value::Array(items)) = commit.info.get(LOADED_FILES_KEY) {
                hashes.extend(items.iter().filter_map(|v| v.as_str().map(str::to_owned)));
            }
            if commit.info.contains_key(REPLACED_ALL_KEY) {
                break;
            }
        }
        Ok(hashes)
    }

    /// Whether any table of the store holds committed data.
    pub async fn has_data(&self) -> Result<bool, StoreError> {
        for name in self.table_names() {
            if let Some(table) = self.open_named(name).await?
                && table
                    .get_file_uris()
                    .map_err(StoreError::delta(
                        name,
                        self.root.join(name).display().to_string(),
                    ))?
                    .next()
                    .is_some()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Directory of the derived enrolment summary (built by `crate::summary`).
pub const SUMMARY_TABLE: &str = "enrolment_summary";

/// Key of the commits that replace every row of a table (a generated store): what was loaded
/// before them is gone, so the files recorded before them may be loaded again.
pub const REPLACED_ALL_KEY: &str = "attendance.replacedAll";

/// What each store table holds: a digest of its live files (the files a snapshot reads), or
/// `None` for a table never written. Commits that change no data (a vacuum) keep it.
pub type TableContents = BTreeMap<&'static str, Option<String>>;

/// The tables a session registered: their versions, and what they hold.
#[derive(Debug, Clone)]
pub struct Registered {
    pub versions: TableVersions,
    pub contents: TableContents,
}

/// A digest of the live files of `delta`'s snapshot (their paths relative to the table: files
/// are never rewritten in place, so the same paths are the same rows).
pub fn files_digest(delta: &DeltaTable) -> Result<String, StoreError> {
    let root = delta.table_url().to_string();
    // delta-rs gives a local table's files as plain paths, other tables' as URLs: either way
    // relative to the table, so that a store moved to another directory keeps its digests.
    let root_path = delta
        .table_url()
        .to_file_path()
        .ok()
        .map(|p| format!("{}/", p.display().to_string().trim_end_matches('/')));
    let relative = |uri: String| {
        uri.strip_prefix(&root)
            .or_else(|| root_path.as_deref().and_then(|p| uri.strip_prefix(p)))
            .map(str::to_owned)
            .unwrap_or(uri)
    };
    let mut paths: Vec<String> = delta
        .get_file_uris()
        .map_err(StoreError::delta("?", root.clone()))?
        .map(relative)
        .collect();
    paths.sort();
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for path in &paths {
        hasher.update(path.as_bytes());
        hasher.update(b"\n");
    }
    Ok(format!(
        "{}:{}",
        paths.len(),
        hex::encode(hasher.finalize())
    ))
}

/// Commit properties recording the content hashes of the files a write loads. No retries: a
/// commit whose snapshot another writer has moved on fails (Delta's version check) rather than
/// being applied on top of rows it did not see.
pub fn commit_properties(loaded: &[String]) -> CommitProperties {
    let hashes = loaded
        .iter()
        .map(|h| serde_json::Value::String(h.clone()))
        .collect();
    CommitProperties::default()
        .with_metadata([(
            LOADED_FILES_KEY.to_string(),
            serde_json::Value::Array(hashes),
        )])
        .with_max_retries(0)
}

/// Commit properties of a write that replaces every row of a table (a generated store): like
/// [`commit_properties`], and marked so that the files loaded before it no longer count as
/// loaded ([`Store::loaded_files`]).
pub fn replace_all_properties(loaded: &[String]) -> CommitProperties {
    let hashes = loaded
        .iter()
        .map(|h| serde_json::Value::String(h.clone()))
        .collect();
    CommitProperties::default()
        .with_metadata([
            (
                LOADED_FILES_KEY.to_string(),
                serde_json::Value::Array(hashes),
            ),
            (REPLACED_ALL_KEY.to_string(), serde_json::Value::Bool(true)),
        ])
        .with_max_retries(0)
}

/// Whether `error` is Delta's refusal of a commit whose snapshot is no longer the latest.
pub fn is_commit_conflict(error: &DeltaTableError) -> bool {
    matches!(
        error,
        DeltaTableError::Transaction {
            source: deltalake::kernel::transaction::TransactionError::MaxCommitAttempts(_)
                | deltalake::kernel::transaction::TransactionError::VersionAlreadyExists(_)
        } | DeltaTableError::VersionAlreadyExists(_)
    )
}

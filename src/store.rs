//! The register store: three Delta Lake tables under one data directory.
//!
//! ```text
//! DATA/
//!   schools/                      Delta table, not partitioned, sorted by urn
//!   pupils/academic_year=2024-25/ Delta table partitioned by academic_year, sorted by urn, pupil_id
//!   registers/academic_year=2024-25/region_code=E12000004/la_code=855/
//!                                 Delta table, sorted by urn, pupil_id, date, session
//!   _staging/                     scratch space of a running ingest (removed when it ends)
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
}

/// The table versions a reader saw: recorded by the indicators job so figures can be reproduced.
pub type TableVersions = BTreeMap<&'static str, Option<u64>>;

impl Store {
    /// A store rooted at `root`; the directory is created by the first ingest.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// A store that must already hold at least one table.
    pub fn open_existing(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let store = Self::new(root);
        if !Table::ALL
            .iter()
            .any(|t| store.table_path(*t).join("_delta_log").is_dir())
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

    fn table_url(&self, table: Table) -> Result<Url, StoreError> {
        let path = self.table_path(table);
        std::fs::create_dir_all(&path)
            .map_err(|e| StoreError::Io(path.display().to_string(), e))?;
        let abs = path
            .canonicalize()
            .map_err(|e| StoreError::Io(path.display().to_string(), e))?;
        Url::from_directory_path(&abs).map_err(|_| StoreError::Missing(abs.display().to_string()))
    }

    fn delta_error(&self, table: Table, source: DeltaTableError) -> StoreError {
        StoreError::Delta {
            table: table.name(),
            path: self.table_path(table).display().to_string(),
            source,
        }
    }

    /// The table at its latest version, or `None` if nothing was ever committed to it.
    pub async fn load(&self, table: Table) -> Result<Option<DeltaTable>, StoreError> {
        if !self.table_path(table).join("_delta_log").is_dir() {
            return Ok(None);
        }
        let url = self.table_url(table)?;
        let loaded = deltalake::open_table(url)
            .await
            .map_err(|e| self.delta_error(table, e))?;
        Ok(Some(loaded))
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
        let mut report = Vec::new();
        let names = Table::ALL
            .iter()
            .map(|t| t.name())
            .chain([crate::summary::SUMMARY_TABLE]);
        for name in names {
            let path = self.root().join(name);
            if !path.join("_delta_log").is_dir() {
                continue;
            }
            let error = |source| StoreError::Delta {
                table: name,
                path: path.display().to_string(),
                source,
            };
            let url = url::Url::from_directory_path(
                path.canonicalize()
                    .map_err(|e| StoreError::Io(path.display().to_string(), e))?,
            )
            .expect("absolute path");
            let table = deltalake::open_table(url).await.map_err(error)?;
            let (_, metrics) = table
                .vacuum()
                .with_mode(deltalake::operations::vacuum::VacuumMode::Full)
                .with_retention_period(retention)
                .with_enforce_retention_duration(false)
                .with_dry_run(dry_run)
                .await
                .map_err(error)?;
            report.push((name, metrics.files_deleted));
        }
        Ok(report)
    }

    /// A handle for writing: the loaded table, or an uninitialised one the first write creates.
    pub async fn load_for_write(&self, table: Table) -> Result<DeltaTable, StoreError> {
        match self.load(table).await? {
            Some(t) => Ok(t),
            None => {
                let url = self.table_url(table)?;
                DeltaTable::try_from_url(url)
                    .await
                    .map_err(|e| self.delta_error(table, e))
            }
        }
    }

    /// Registers `schools`, `pupils` and `registers` in `ctx` at their latest versions (an empty
    /// table with the right schema for one never written) and returns the versions registered.
    pub async fn register_tables(&self, ctx: &SessionContext) -> Result<TableVersions, StoreError> {
        let mut versions = TableVersions::new();
        for table in Table::ALL {
            let provider: Arc<dyn TableProvider> = match self.load(table).await? {
                Some(delta) => {
                    versions.insert(table.name(), delta.version());
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
                    Arc::new(MemTable::try_new(table.schema(), vec![vec![]])?)
                }
            };
            ctx.deregister_table(table.name())?;
            ctx.register_table(table.name(), provider)?;
        }
        Ok(versions)
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
        for commit in history {
            if let Some(serde_json::Value::Array(items)) = commit.info.get(LOADED_FILES_KEY) {
                hashes.extend(items.iter().filter_map(|v| v.as_str().map(str::to_owned)));
            }
        }
        Ok(hashes)
    }
}

/// Commit properties recording the content hashes of the files a write loads.
pub fn commit_properties(loaded: &[String]) -> CommitProperties {
    let hashes = loaded
        .iter()
        .map(|h| serde_json::Value::String(h.clone()))
        .collect();
    CommitProperties::default().with_metadata([(
        LOADED_FILES_KEY.to_string(),
        serde_json::Value::Array(hashes),
    )])
}

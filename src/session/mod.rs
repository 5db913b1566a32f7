//! The one place a `SessionContext` is built. The CLI, the shell, ingest, the indicators job and
//! the benchmarks all call [`session`], so they see the same configuration, the same attendance
//! functions and the same tables.

use std::sync::Arc;

use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

mod file_tables;
pub mod memory;
pub mod policy;
pub mod summary_table;

pub use policy::{StorePolicy, plan_statement};

use crate::store::{Store, StoreError, TableContents, TableVersions};
use memory::RepartitionNeverSpills;
use summary_table::{SummaryState, register_summary};

/// Default memory budget for query execution; operators that can spill (sorts, aggregations,
/// joins) do so beyond it. Keeps every command well inside the 4 GB goal.
pub const DEFAULT_MEMORY_LIMIT: usize = 2 * 1024 * 1024 * 1024;

/// The smallest memory budget every command finishes in, spilling (tested at 128 MB on an
/// unsorted register file of two million marks and on the indicators job).
pub const MIN_MEMORY_LIMIT: usize = 128 * 1024 * 1024;

/// Settings of a session; `Default` is what the CLI uses.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Bytes of memory that execution may use before spilling to disk.
    pub memory_limit: usize,
    /// Partitions a query runs in (default: the number of cores).
    pub target_partitions: Option<usize>,
    /// Rows per batch.
    pub batch_size: usize,
    /// Compute `enrolment_summary` live from the registers even when the materialised table is
    /// up to date (to measure the indicators job straight from `registers`).
    pub live_summary: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            memory_limit: DEFAULT_MEMORY_LIMIT,
            target_partitions: None,
            batch_size: 8192,
            live_summary: false,
        }
    }
}

/// A session with every attendance function registered and no tables.
pub fn base_session(options: &SessionOptions) -> datafusion::error::Result<SessionContext> {
    let mut config = SessionConfig::new()
        .with_information_schema(true)
        .with_batch_size(options.batch_size)
        .with_parquet_pruning(true)
        .with_collect_statistics(true);
    if let Some(n) = options.target_partitions {
        config = config.with_target_partitions(n);
    }
    {
        let opts = config.options_mut();
        // Filters on `urn`, `pupil_id` and `date` are evaluated while decoding Parquet pages, so
        // a one-school or one-pupil query reads only the rows it needs.
        opts.execution.parquet.pushdown_filters = true;
        opts.execution.parquet.reorder_filters = true;
        opts.execution.parquet.enable_page_index = true;
    }
    // A greedy pool: the indicator queries hold many aggregates at once, and a fair pool's equal
    // shares starve the ones that cannot spill. Repartition buffers are always granted (a
    // DataFusion 55 hang, see `memory`).
    let pool = RepartitionNeverSpills::new(TrackConsumersPool::new(
        GreedyMemoryPool::new(options.memory_limit),
        std::num::NonZeroUsize::new(5).expect("non-zero"),
    ));
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool))
        .with_disk_manager_builder(
            DiskManagerBuilder::default().with_mode(DiskManagerMode::OsTmpDirectory),
        )
        .build_arc()?;
    // Delta's planner: Delta writes (ingest, summarise) plan extension nodes of their own.
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_query_planner(deltalake::delta_datafusion::planner::DeltaPlanner::new())
        .build();
    // Files as tables: `FROM 'x.parquet'`, `read_parquet('...')`, `read_csv('...')`.
    let ctx = SessionContext::new_with_state(state).enable_url_table();
    attendance_udfs::register_all(&ctx);
    file_tables::register_file_functions(&ctx);
    Ok(ctx)
}

/// What a session saw of the store.
#[derive(Debug, Clone)]
pub struct StoreSnapshot {
    /// The versions of `schools`, `pupils` and `registers` registered.
    pub versions: TableVersions,
    /// What each of them holds (see [`TableContents`]).
    pub contents: TableContents,
    /// Whether `enrolment_summary` is the materialised table or computed live.
    pub summary: SummaryState,
}

/// The session every entry point uses: attendance functions plus the store's tables
/// (`schools`, `pupils`, `registers`, `enrolment_summary`).
pub async fn session(
    store: &Store,
    options: &SessionOptions,
) -> Result<(SessionContext, StoreSnapshot), StoreError> {
    let ctx = base_session(options)?;
    // SQL planned in this session may read the store and never change it (see `policy`).
    let tables = store.table_names().map(str::to_owned);
    ctx.state_ref()
        .write()
        .config_mut()
        .set_extension(Arc::new(StorePolicy::new(store.root(), tables)));
    let registered = store.register_tables_with_contents(&ctx).await?;
    let summary = register_summary(&ctx, store, &registered.contents, options.live_summary).await?;
    Ok((
        ctx,
        StoreSnapshot {
            versions: registered.versions,
            contents: registered.contents,
            summary,
        },
    ))
}

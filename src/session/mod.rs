//! The one place a `SessionContext` is built. The CLI, the shell, ingest, the indicators job and
//! the benchmarks all call [`session`], so they see the same configuration, the same attendance
//! functions and the same tables.

use std::sync::Arc;

use datafusion::config::ConfigOptions;
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
    /// What the session's queries are planned for.
    pub profile: Profile,
    /// Files as tables (`FROM 'x.parquet'`): on for the command line, off for the server,
    /// which never reads files (and whose sessions outlive the one this would be bound to).
    pub files_as_tables: bool,
}

/// What a session's queries are planned for. Each profile owns its settings ([`configure`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// Answering queries: every core, hash joins, string views (DataFusion's defaults).
    #[default]
    Query,
    /// The indicators job: plain strings rather than string views for the scratch tables it
    /// reads back, so the aggregations over them emit compact batches, where views would keep
    /// (and account for) whole input buffers.
    Indicators,
    /// Memory rather than speed (an ingest of many marks): sorts one at a time (one sort in
    /// each query, and one query writing), each with a large part of the budget for its merges
    /// (a sort that spills first merges what it holds, which needs memory of its own: reserved
    /// up front, or the merge can find the budget taken by the sorts), and joins that sort both
    /// sides and merge (the sorts spill) rather than hash joins (which hold a side in memory);
    /// plain strings, as sorts that spill keep memory outside their budget for string views.
    MemoryBound,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            memory_limit: DEFAULT_MEMORY_LIMIT,
            target_partitions: None,
            batch_size: 8192,
            live_summary: false,
            profile: Profile::Query,
            files_as_tables: true,
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
        configure(opts, options.profile, options.memory_limit);
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
    let ctx = SessionContext::new_with_state(state);
    let ctx = if options.files_as_tables {
        ctx.enable_url_table()
    } else {
        ctx
    };
    attendance_udfs::register_all(&ctx);
    file_tables::register_file_functions(&ctx);
    Ok(ctx)
}

/// The settings of `profile` (with a memory budget of `memory_limit` bytes).
fn configure(opts: &mut ConfigOptions, profile: Profile, memory_limit: usize) {
    match profile {
        Profile::Query => {}
        Profile::Indicators => opts.execution.parquet.schema_force_view_types = false,
        Profile::MemoryBound => {
            opts.optimizer.prefer_hash_join = false;
            // Two fifths of the budget, at most 512 MB (as with the default budget), for a
            // spilling sort's merge.
            opts.execution.sort_spill_reservation_bytes = (memory_limit / 5 * 2).min(512 << 20);
            opts.execution.target_partitions = 1;
            opts.optimizer.repartition_sorts = false;
            opts.execution.parquet.schema_force_view_types = false;
        }
    }
}

/// Plans the rest of `ctx`'s queries for `profile`: for a session that learns what it is for
/// once it has run some (an ingest finds its input large once it is staged).
pub fn switch_profile(ctx: &SessionContext, profile: Profile, memory_limit: usize) {
    configure(
        ctx.state_ref().write().config_mut().options_mut(),
        profile,
        memory_limit,
    );
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
/// (`schools`, `pupils`, `registers`, `enrolment_summary`) and the monitoring views
/// (`crate::monitor::views`).
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
    // The monitoring views (and the real-time base they read), with their defaults.
    crate::monitor::register_views(&ctx, &crate::monitor::Parameters::default(), None).await?;
    Ok((
        ctx,
        StoreSnapshot {
            versions: registered.versions,
            contents: registered.contents,
            summary,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memory-bound profile, given to the builder or switched to later: one partition,
    /// sort-merge joins, no repartitioned sorts, plain strings, and two fifths of a 1 GiB budget
    /// (1073741824 / 5 * 2 = 429496728 bytes, under the 512 MiB cap) reserved for a spilling
    /// sort's merge; with the default 2 GiB budget the cap (536870912) applies.
    #[test]
    fn memory_bound_profile() {
        let options = SessionOptions {
            memory_limit: 1 << 30,
            profile: Profile::MemoryBound,
            ..Default::default()
        };
        let built = base_session(&options).unwrap();
        let query = base_session(&SessionOptions::default()).unwrap();
        switch_profile(&query, Profile::MemoryBound, DEFAULT_MEMORY_LIMIT);
        for (ctx, reservation) in [(built, 429_496_728), (query, 536_870_912)] {
            let opts = ctx.state().config().options().clone();
            assert_eq!(opts.execution.target_partitions, 1);
            assert!(!opts.optimizer.prefer_hash_join);
            assert!(!opts.optimizer.repartition_sorts);
            assert!(!opts.execution.parquet.schema_force_view_types);
            assert_eq!(opts.execution.sort_spill_reservation_bytes, reservation);
        }
    }

    /// The query profile keeps DataFusion's string views and hash joins; the indicators
    /// profile only drops the views.
    #[test]
    fn query_and_indicators_profiles() {
        let query = base_session(&SessionOptions::default()).unwrap();
        let indicators = base_session(&SessionOptions {
            profile: Profile::Indicators,
            ..Default::default()
        })
        .unwrap();
        let q = query.state().config().options().clone();
        let i = indicators.state().config().options().clone();
        assert!(q.execution.parquet.schema_force_view_types);
        assert!(!i.execution.parquet.schema_force_view_types);
        assert!(q.optimizer.prefer_hash_join && i.optimizer.prefer_hash_join);
    }
}

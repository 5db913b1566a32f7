//! attendance: an embedded analytics engine for school attendance registers in England.
//!
//! The modules, in the order data flows through them:
//! - [`schema`]: the tables' schemas, the input files' columns and the coded values.
//! - [`store`]: the Delta Lake tables under `--data DIR` and every write to them: table layout
//!   and Parquet settings, commit metadata, ordered parallel writes ([`store::write`]), queries
//!   chained into one ordered stream for a write ([`store::query_chain`]), partition filters as
//!   expressions ([`store::partitions`]), the write lock ([`store::lock`]), file checksums
//!   ([`store::checksum`]), `check` and `vacuum`.
//! - [`ingest`]: validated, atomic loading of CSV/Parquet input, by phase (find, read, stage,
//!   check, write); what a code means lives in the `attendance-udfs` crate (`codes.rs`).
//! - [`session`]: the one `SessionContext` builder every entry point uses: configuration and
//!   the profiles that own every setting ([`session::Profile`]), attendance functions, the store's tables and how `enrolment_summary` is registered
//!   ([`session::summary_table`]), the memory pool ([`session::memory`]) and the rule that SQL
//!   reads and never writes ([`session::policy`]).
//! - [`summary`]: the build of the derived enrolment summary.
//! - [`indicators`]: the EES indicator files from `queries/indicators/*.sql`; [`realtime`]: the
//!   DfE real-time attendance files from `queries/realtime/*.sql`; [`monitor`]: the pupils who
//!   need support, as lists and a report, from `queries/monitor/*.sql`.
//! - [`generate`]: the synthetic data model, its calibration and its store writer.
//! - [`publish`]: output directories written whole; [`progress`]: how long work reports progress.
//! - [`server`]: `attendance serve`, the same sessions over the PostgreSQL wire protocol (users,
//!   SCRAM-SHA-256, TLS, read-only statements, audit log); its log lines go to a sink the CLI
//!   gives it.
//! - [`text`]: text made safe for messages.
//! - [`cli`]: the command line, one file per subcommand; the only module that prints.
// DataFusion's and Delta's errors are large; the errors here carry them unboxed, as DataFusion does.
#![allow(clippy::result_large_err)]

pub mod cli;
pub mod generate;
pub mod indicators;
pub mod ingest;
pub mod monitor;
pub mod progress;
pub mod publish;
pub mod queries;
pub mod realtime;
pub mod schema;
pub mod server;
pub mod session;
pub mod store;
pub mod summary;
pub mod text;

//! attendance: an embedded analytics engine for school attendance registers in England.
//!
//! - [`store`]: the three Delta Lake tables under `--data DIR`.
//! - [`ingest`]: validated, atomic loading of CSV/Parquet input.
//! - [`session`]: the one `SessionContext` builder every entry point uses ([`session::memory`]: its pool; [`session::policy`]: SQL reads and never writes).
//! - [`query`], [`output`], [`shell`], [`cli`]: running SQL and showing results.
// DataFusion's and Delta's errors are large; the errors here carry them unboxed, as DataFusion does.
#![allow(clippy::result_large_err)]

pub mod cli;
pub mod generate;
pub mod indicators;
pub mod ingest;
pub mod publish;
pub mod schema;
pub mod session;
pub mod store;
pub mod summary;

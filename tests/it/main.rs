//! The one integration-test binary (every module links DataFusion once).
mod common;
mod crash;
mod crosscheck;
mod daily;
mod feed;
mod indicators;
mod ingest;
mod monitor;
mod pseudonym;
mod realtime;
mod resources;
mod safety;
mod sample;
mod server;
mod sql;
mod summary;
mod workload;

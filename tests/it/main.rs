//! The one integration-test binary (every module links DataFusion once).
mod common;
mod crash;
mod crosscheck;
mod indicators;
mod ingest;
mod realtime;
mod safety;
mod sample;
mod sql;
mod summary;
mod workload;

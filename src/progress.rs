//! Progress of long work: reported by the library, drawn by the command line.
//!
//! Library code never prints; a long command (ingest, generate, summarise, indicators) is
//! handed a [`Progress`] and tells it which step runs and how far it has got. The CLI draws it
//! on stderr when that is a terminal (`cli::progress`); everything else passes [`silent`].

use std::sync::Arc;

/// Where long work reports how far it has got.
pub trait Progress: Send + Sync + std::fmt::Debug {
    /// A new step begins: its name, and its size (bytes, marks, files) when known.
    fn step(&self, name: &str, total: Option<u64>);
    /// `n` more units of the current step are done.
    fn advance(&self, n: u64);
    /// The work is over, whether it succeeded or not.
    fn finish(&self);
}

/// A shared progress report.
pub type ProgressRef = Arc<dyn Progress>;

/// Progress that nobody watches.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn step(&self, _name: &str, _total: Option<u64>) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}

/// A [`Silent`] progress report.
pub fn silent() -> ProgressRef {
    Arc::new(Silent)
}

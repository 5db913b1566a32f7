//! `attendance summarise`: Build the enrolment summary table from the registers (also run by every ingest)

use clap::Args;

use super::DataArg;
use crate::store::Store;
use crate::summary::{SummariseReport, SummaryMode};

/// The options of `attendance summarise`.
#[derive(Debug, Args)]
pub struct SummariseArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Rebuild even if it is up to date [default: off]
    #[arg(long)]
    pub force: bool,
}

pub async fn run(args: SummariseArgs) -> anyhow::Result<()> {
    let SummariseArgs { data, force } = args;
    let store = Store::open_existing(&data.data)?.waiting(data.wait);
    let progress = super::progress::for_terminal();
    progress.step("building enrolment_summary", None);
    let report = crate::summary::summarise(&store, &data.session_options(), force).await;
    progress.finish();
    let report = report?;
    let versions = report
        .source_versions
        .iter()
        .map(|(table, version)| match version {
            Some(v) => format!("{table} version {v}"),
            None => format!("no {table}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    match report.mode {
        SummaryMode::Fresh => eprintln!("enrolment_summary is up to date with {versions}"),
        _ => eprintln!("{}, from {versions}", describe(&report)),
    }
    Ok(())
}

/// What a build or an update of the summary did, in a line (ingest prints it too).
pub(super) fn describe(report: &SummariseReport) -> String {
    let rows = crate::cli::output::thousands(report.rows as usize);
    match report.mode {
        SummaryMode::Fresh => "enrolment_summary is up to date".to_string(),
        SummaryMode::Incremental => format!(
            "enrolment_summary updated from {} changed registers files: {rows} rows rewritten in {:.2} s",
            report.registers_files_read, report.seconds
        ),
        SummaryMode::Full => format!(
            "enrolment_summary rebuilt: {rows} rows in {:.2} s",
            report.seconds
        ),
    }
}

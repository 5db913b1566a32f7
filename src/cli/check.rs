//! `attendance check`: Verify every table's log and every data file of the store (checksums); exit 1 if any

use clap::Args;

use super::{DataArg, PartialFailure};
use crate::store::Store;
use crate::text::printable;

/// The options of `attendance check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Mend what can be mended: remove a damaged latest commit and the temporary files of
    /// interrupted commits, and remove damaged data files from their table (their marks
    /// must then be loaded again with `ingest --update`) [default: off: report only]
    #[arg(long)]
    pub repair: bool,
    /// Print the report as JSON [default: off]
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: CheckArgs) -> anyhow::Result<()> {
    let CheckArgs { data, repair, json } = args;
    let store = Store::open_existing(&data.data)?.waiting(data.wait);
    let report = crate::store::check::check(&store, repair).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for f in &report.findings {
            let kind = if f.damage { "DAMAGED" } else { "note" };
            let mended = if repair && !f.repair.is_empty() {
                format!(" [repair: {}]", f.repair)
            } else {
                String::new()
            };
            println!(
                "{kind}: {}: {}{mended}",
                printable(&f.path),
                printable(&f.problem)
            );
        }
        eprintln!(
            "{} table(s), {} commit(s), {} data file(s) ({} bytes) checked: {}",
            report.tables,
            report.commits,
            report.files,
            report.bytes,
            if report.damaged() {
                "DAMAGE FOUND"
            } else {
                "no damage"
            }
        );
    }
    if report.damaged() && !repair {
        return Err(PartialFailure {
            message:
                "the store is damaged (see above); `attendance check --repair` mends what it can"
                    .into(),
            status: 1,
        }
        .into());
    }
    Ok(())
}

//! `attendance vacuum`: Delete data files no recent table version refers to (replaced by corrections and

use clap::Args;

use super::DataArg;
use crate::store::Store;

/// The options of `attendance vacuum`.
#[derive(Debug, Args)]
pub struct VacuumArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Keep files younger than this, and every version this recent (0: delete all
    /// unreferenced files now; only when nothing writes to the store)
    #[arg(long, default_value_t = 168)]
    pub retention_hours: i64,
    /// List the files that would be deleted, and delete nothing [default: off]
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(args: VacuumArgs) -> anyhow::Result<()> {
    let VacuumArgs {
        data,
        retention_hours,
        dry_run,
    } = args;
    let store = Store::open_existing(&data.data)?.waiting(data.wait);
    let report = store
        .vacuum(chrono::Duration::hours(retention_hours.max(0)), dry_run)
        .await?;
    let verb = if dry_run { "would delete" } else { "deleted" };
    for (table, files) in report {
        eprintln!("{table}: {verb} {} file(s)", files.len());
        for file in files {
            println!("{table}/{file}");
        }
    }
    Ok(())
}

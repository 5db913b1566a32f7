//! `attendance realtime`: Compute the DfE real-time attendance files (daily, weekly, year to
//! date, and persistent absence year to date by week)

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Args;

use super::DataArg;
use crate::store::Store;

/// The options of `attendance realtime`.
#[derive(Debug, Args)]
pub struct RealtimeArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Output directory
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Academic year, e.g. 2024-25 (default: the latest year with marks in the store)
    #[arg(long)]
    pub year: Option<String>,
    /// The last day whose marks count, YYYY-MM-DD (default: the year's latest mark)
    #[arg(long, value_parser = crate::ingest::parse_date)]
    pub through: Option<NaiveDate>,
    /// Do not suppress (see DOMAIN.md section 7) [default: off: suppressed]
    #[arg(long)]
    pub no_suppress: bool,
    /// Also write each file as Parquet [default: off]
    #[arg(long)]
    pub parquet: bool,
    /// Print the SQL the job runs, and do nothing else [default: off]
    #[arg(long)]
    pub explain: bool,
    /// Replace a non-empty --out directory that holds files other than an earlier run's
    /// [default: off: such a directory is refused]
    #[arg(long)]
    pub force: bool,
}

pub async fn run(args: RealtimeArgs) -> anyhow::Result<()> {
    if args.explain {
        print!("{}", crate::realtime::explain());
        return Ok(());
    }
    let store = Store::open_existing(&args.data.data)?;
    let options = crate::realtime::RealtimeOptions {
        out: args.out.clone(),
        year: args.year,
        through: args.through,
        suppress: !args.no_suppress,
        parquet: args.parquet,
        session: args.data.session_options(),
        force: args.force,
    };
    let progress = super::progress::for_terminal();
    progress.step("computing the real-time files", None);
    let manifest = crate::realtime::run(&store, &options).await;
    progress.finish();
    let manifest = manifest?;
    super::output::print_outputs(&manifest.outputs, &args.out);
    eprintln!(
        "real-time files for {} through {} (last week w/c {}) in {:.2} s",
        manifest.academic_year,
        manifest.through,
        manifest.last_week,
        manifest.provenance.wall_seconds
    );
    Ok(())
}

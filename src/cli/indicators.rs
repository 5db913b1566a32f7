//! `attendance indicators`: Compute the national absence indicators as EES open-data CSV files

use std::path::PathBuf;

use clap::Args;

use super::DataArg;
use crate::store::Store;

/// The options of `attendance indicators`.
#[derive(Debug, Args)]
pub struct IndicatorsArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Output directory
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Academic year(s), e.g. 2024-25 (default: every year in the store)
    #[arg(long)]
    pub year: Vec<String>,
    /// Time identifier(s): "Autumn term", "Spring term", "Summer term",
    /// "Autumn and spring term", "Academic year" (default: every one the data covers)
    #[arg(long)]
    pub period: Vec<String>,
    /// Do not suppress small counts (see DOMAIN.md section 6) [default: off: suppressed]
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

pub async fn run(args: IndicatorsArgs) -> anyhow::Result<()> {
    let IndicatorsArgs {
        data,
        out,
        year,
        period,
        no_suppress,
        parquet,
        explain,
        force,
    } = args;
    if explain {
        print!("{}", crate::indicators::explain());
        return Ok(());
    }
    let store = Store::open_existing(&data.data)?;
    let options = crate::indicators::IndicatorOptions {
        out: out.clone(),
        years: year,
        periods: period,
        suppress: !no_suppress,
        parquet,
        session: data.session_options(),
        force,
    };
    let progress = super::progress::for_terminal();
    progress.step("computing the indicators", None);
    let manifest = crate::indicators::run(&store, &options).await;
    progress.finish();
    let manifest = manifest?;
    super::output::print_outputs(&manifest.outputs, &out);
    eprintln!(
        "indicators for {} ({}) in {:.2} s",
        manifest.academic_years.join(", "),
        manifest.periods.join(", "),
        manifest.provenance.wall_seconds
    );
    Ok(())
}

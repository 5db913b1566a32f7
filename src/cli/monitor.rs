//! `attendance monitor`: the pupils who need support this week and the attendance of a school,
//! trust or local authority against its LA and England (DOMAIN.md section 8), as CSV lists and
//! one self-contained `report.html`.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Args;

use super::DataArg;
use crate::monitor::{MonitorOptions, Scope};
use crate::store::Store;

/// The options of `attendance monitor`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("scope").required(true).args(["school", "trust", "la"])))]
pub struct MonitorArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Report on one school, by URN
    #[arg(long)]
    pub school: Option<i32>,
    /// Report on a trust's schools: a CSV file with a `urn` column
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// Report on a local authority's schools: its old 3-digit or new 9-character code
    #[arg(long)]
    pub la: Option<String>,
    /// The last day whose marks count, YYYY-MM-DD; a day inside a week counts that week up to
    /// it (default: the latest mark of the latest academic year)
    #[arg(long, value_parser = crate::ingest::parse_date)]
    pub through: Option<NaiveDate>,
    /// The recent span, in reported weeks
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=52))]
    pub weeks: u32,
    /// Include pupil lists in a trust or LA report (a school's report always has its own)
    /// [default: off]
    #[arg(long)]
    pub pupils: bool,
    /// Output directory
    #[arg(long, default_value = "monitor")]
    pub out: PathBuf,
    /// Replace a non-empty --out directory that holds files other than an earlier run's
    /// [default: off: such a directory is refused]
    #[arg(long)]
    pub force: bool,
}

impl MonitorArgs {
    fn scope(&self) -> Scope {
        match (&self.school, &self.trust, &self.la) {
            (Some(urn), _, _) => Scope::School(*urn),
            (_, Some(file), _) => Scope::Trust(file.clone()),
            (_, _, Some(code)) => Scope::La(code.clone()),
            // clap requires one of the group
            (None, None, None) => unreachable!("one of --school, --trust, --la is required"),
        }
    }
}

pub async fn run(args: MonitorArgs) -> anyhow::Result<()> {
    let store = Store::open_existing(&args.data.data)?;
    let options = MonitorOptions {
        scope: args.scope(),
        through: args.through,
        weeks: args.weeks,
        pupils: args.pupils,
        out: args.out.clone(),
        session: args.data.session_options(),
        force: args.force,
    };
    let progress = super::progress::for_terminal();
    progress.step("computing the monitoring report", None);
    let manifest = crate::monitor::run(&store, &options).await;
    progress.finish();
    let manifest = manifest?;
    super::output::print_outputs(&manifest.outputs, &args.out);
    eprintln!(
        "monitoring report for {} ({} schools), {} through {} (last week w/c {}) in {:.2} s",
        crate::text::printable(&manifest.title),
        manifest.schools.len(),
        manifest.academic_year,
        manifest.through,
        manifest.last_week,
        manifest.provenance.wall_seconds
    );
    Ok(())
}

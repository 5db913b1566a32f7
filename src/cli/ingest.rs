//! `attendance ingest`: Load schools, pupils and register marks (CSV or Parquet) into the store

use std::path::PathBuf;

use clap::Args;

use super::{DataArg, EXIT_DERIVED_NOT_REBUILT, PartialFailure};
use crate::ingest::{IngestOptions, ingest};

/// The options of `attendance ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// schools.csv (or .parquet) [default: none]
    #[arg(long)]
    pub schools: Vec<PathBuf>,
    /// pupils.csv (or .parquet) [default: none]
    #[arg(long)]
    pub pupils: Vec<PathBuf>,
    /// Register files or directories of them [default: none]
    #[arg(long, num_args = 1..)]
    pub registers: Vec<PathBuf>,
    /// Let marks with a new code replace stored marks (corrections) [default: off]
    #[arg(long)]
    pub update: bool,
    /// Write invalid rows with their reason to this CSV file and load the rest [default:
    /// none: any invalid row fails the load]
    #[arg(long)]
    pub reject_file: Option<PathBuf>,
    /// Print the summary as JSON [default: off]
    #[arg(long)]
    pub json: bool,
    /// Do not rebuild the enrolment summary after loading [default: off]
    #[arg(long)]
    pub no_summarise: bool,
    /// Replace every pupil_id by its keyed pseudonym (HMAC-SHA-256, 32 hex characters) before
    /// anything is stored; FILE holds the 32-byte secret key, raw or as 64 hex digits. A store
    /// loaded so needs the same key for every later load [default: none: ids stored as given]
    #[arg(long, value_name = "FILE")]
    pub pseudonymise_key: Option<PathBuf>,
}

pub async fn run(args: IngestArgs) -> anyhow::Result<()> {
    let IngestArgs {
        data,
        schools,
        pupils,
        registers,
        update,
        reject_file,
        json,
        no_summarise,
        pseudonymise_key,
    } = args;
    let store = data.store();
    let options = IngestOptions {
        schools,
        pupils,
        registers,
        update,
        reject_file: reject_file.clone(),
        progress: Some(super::progress::for_terminal()),
        session: data.session_options(),
        large_input_rows: None,
        wait: data.wait,
        pseudonymise_key,
    };
    let summary = ingest(&store, &options).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        eprintln!("{summary}");
    }
    if !no_summarise && store.load(crate::store::Table::Registers).await?.is_some() {
        let progress = super::progress::for_terminal();
        progress.step("building enrolment_summary", None);
        let rebuilt = crate::summary::summarise(&store, &data.session_options(), false).await;
        progress.finish();
        match rebuilt {
            Ok(report) if report.rebuilt => eprintln!("{}", super::summarise::describe(&report)),
            Ok(_) => {}
            Err(e) => {
                return Err(PartialFailure {
                        message: format!(
                            "the ingest was committed, but enrolment_summary was not rebuilt: {e}. \
                             Queries compute it from the registers until `attendance summarise` succeeds"
                        ),
                        status: EXIT_DERIVED_NOT_REBUILT,
                    }
                    .into());
            }
        }
    }
    if let Some(path) = reject_file {
        let rejected = summary.schools.rows_rejected
            + summary.pupils.rows_rejected
            + summary.registers.rows_rejected;
        if rejected > 0 {
            eprintln!("{rejected} invalid row(s) written to {}", path.display());
        }
    }
    Ok(())
}

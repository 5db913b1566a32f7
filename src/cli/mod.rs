//! The `attendance` command line: one binary with subcommands, one file per subcommand
//! (its options as a clap `Args` struct and its `run`). This is the only part of the crate that
//! prints: the library returns values and errors, and [`output`] formats results, [`query`]
//! streams statements to an output and [`shell`] is the interactive shell.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub mod bench;
pub mod check;
pub mod generate;
pub mod indicators;
pub mod ingest;
pub mod monitor;
pub mod output;
pub mod panic;
pub mod progress;
pub mod query;
pub mod realtime;
pub mod serve;
pub mod shell;
pub mod sql;
pub mod summarise;
pub mod users;
pub mod vacuum;

use crate::session::{MIN_MEMORY_LIMIT, SessionOptions};
use crate::store::Store;
use crate::text::printable;

#[derive(Debug, Parser)]
#[command(
    name = "attendance",
    version,
    about = "Analytics for school attendance registers in England"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct DataArg {
    /// The store directory
    #[arg(long, env = "ATTENDANCE_DATA", default_value = "./data", global = true)]
    pub data: PathBuf,
    /// Memory for query execution before spilling to disk, e.g. 2G or 512M [default: 2G]
    /// (at least 128M)
    #[arg(long, short = 'm', value_parser = parse_memory_limit, global = true)]
    pub memory_limit: Option<usize>,
    /// When another command is writing the store, wait for it to finish instead of failing
    /// [default: off]
    #[arg(long, global = true)]
    pub wait: bool,
}

impl DataArg {
    /// The store, for a command that may write it.
    pub fn store(&self) -> Store {
        Store::new(&self.data).waiting(self.wait)
    }

    pub fn session_options(&self) -> SessionOptions {
        let mut options = SessionOptions::default();
        if let Some(limit) = self.memory_limit {
            options.memory_limit = limit;
        }
        options
    }
}

/// A memory budget: a size of at least [`MIN_MEMORY_LIMIT`], the smallest every command
/// finishes in (spilling), refused up front below it rather than failing part-way.
fn parse_memory_limit(s: &str) -> Result<usize, String> {
    let bytes = parse_bytes(s)?;
    if bytes < MIN_MEMORY_LIMIT {
        return Err(format!(
            "`{s}` is below {} MB, the smallest budget every command works in",
            MIN_MEMORY_LIMIT >> 20
        ));
    }
    Ok(bytes)
}

fn parse_bytes(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: usize = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size like 2G or 512M"))?;
    let scale = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" => 1 << 10,
        "M" | "MB" => 1 << 20,
        "G" | "GB" => 1 << 30,
        _ => return Err(format!("`{s}` is not a size like 2G or 512M")),
    };
    Ok(n * scale)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load schools, pupils and register marks (CSV or Parquet) into the store
    #[command(after_help = "\
Examples:
  attendance ingest --data D --schools schools.csv --pupils pupils.csv --registers registers/
  attendance ingest --data D --registers corrections.csv --update --reject-file rejected.csv")]
    Ingest(ingest::IngestArgs),
    /// Run SQL against the store
    #[command(after_help = "\
Examples:
  attendance sql --data sample-data/store -c \"SELECT la_code, absence_rate(code) AS pct FROM registers GROUP BY la_code\"
  attendance sql --data D -f queries.sql -o result.parquet
  echo 'SELECT count(*) FROM registers' | attendance sql --data D --format csv
  attendance sql --data D -c \"SELECT * FROM read_csv('pupils.csv') LIMIT 5\"")]
    Sql(sql::SqlArgs),
    /// Interactive SQL shell over the store
    #[command(after_help = "\
Examples:
  attendance shell --data sample-data/store
  attendance shell --data D --rc setup.sql

In the shell: .help (or \\?) lists the commands; statements end with `;`.")]
    Shell(shell::ShellArgs),
    /// Generate a synthetic store (or the CSV input files) of national-scale register data
    #[command(after_help = "\
Examples:
  attendance generate --data D --pupils 100000
  attendance generate --pupils 20000 --la 805 --la 857 --csv inputs/")]
    Generate(generate::GenerateArgs),
    /// Verify every table's log and every data file of the store (checksums); exit 1 if any
    /// is damaged
    #[command(
        after_help = "Example:\n  attendance check --data ./data\n  attendance check --data ./data --repair"
    )]
    Check(check::CheckArgs),
    /// Run the benchmark workload (W1-W9 of WORKLOAD.md; W1s-W5s and W9s from enrolment_summary)
    #[command(after_help = "\
Examples:
  attendance bench --data D
  attendance bench --data D --runs 3 --query W1 --query W7 --json bench.json")]
    Bench(bench::BenchArgs),
    /// Delete data files no recent table version refers to (replaced by corrections and
    /// rebuilds, or left by interrupted writes)
    #[command(after_help = "\
Examples:
  attendance vacuum --data D --dry-run
  attendance vacuum --data D --retention-hours 0")]
    Vacuum(vacuum::VacuumArgs),
    /// Build the enrolment summary table from the registers (also run by every ingest)
    #[command(after_help = "\
Examples:
  attendance summarise --data sample-data/store
  attendance summarise --data D --force")]
    Summarise(summarise::SummariseArgs),
    /// Compute the national absence indicators as EES open-data CSV files
    #[command(after_help = "\
Examples:
  attendance indicators --data sample-data/store --out out
  attendance indicators --data D --out out --year 2024-25 --period \"Autumn term\" --parquet")]
    Indicators(indicators::IndicatorsArgs),
    /// Compute the DfE real-time attendance files (daily, weekly, year to date, persistent
    /// absence by week) from the registers
    #[command(after_help = "\
Examples:
  attendance realtime --data sample-data/store --out realtime
  attendance realtime --data D --out realtime --year 2024-25 --through 2025-01-17 --parquet")]
    Realtime(realtime::RealtimeArgs),
    /// Monitoring: the pupils who need support and attendance against the LA and England, for
    /// a school, a trust or a local authority, as CSV lists and one report.html
    #[command(after_help = "\
Examples:
  attendance monitor --data sample-data/store --school 100001 --out monitor
  attendance monitor --data D --la 805 --through 2025-03-14 --weeks 6 --pupils --out la805
  attendance monitor --data D --trust trust.csv --out trust   (trust.csv has a `urn` column)")]
    Monitor(monitor::MonitorArgs),
    /// Serve the store over the PostgreSQL wire protocol (psql, DBeaver, Power BI, Python),
    /// read-only
    #[command(after_help = "\
Examples:
  attendance users add --users users.txt analyst      (the password is read from standard input)
  attendance serve --data D --users users.txt
  attendance serve --data D --users users.txt --listen 0.0.0.0:5432 --tls-cert server.crt --tls-key server.key
  psql \"host=127.0.0.1 port=5432 user=analyst dbname=attendance\"")]
    Serve(serve::ServeArgs),
    /// Manage the users file of `attendance serve` (SCRAM-SHA-256 verifiers, never passwords)
    #[command(after_help = "\
Examples:
  attendance users add --users users.txt analyst      (the password is read from standard input)
  echo \"$PASSWORD\" | attendance users add --users users.txt analyst
  attendance users list --users users.txt
  attendance users remove --users users.txt analyst")]
    Users(users::UsersArgs),
}

/// An error and its causes on one line, each cause said once (DataFusion's messages often
/// repeat their source's text).
pub fn error_chain(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    printable(&text)
}

/// The exit status of an ingest whose load was committed but whose derived tables could not
/// be rebuilt (queries still see the new marks: they compute the summary from the registers).
pub const EXIT_DERIVED_NOT_REBUILT: u8 = 3;

/// An error after part of a command succeeded: the process exits with `status`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PartialFailure {
    pub message: String,
    pub status: u8,
}

fn warn_if_live(snapshot: &crate::session::StoreSnapshot, sql: &str) {
    if snapshot.summary == crate::summary::SummaryState::Live
        && sql.to_ascii_lowercase().contains("enrolment_summary")
    {
        eprintln!(
            "note: enrolment_summary is not up to date with the registers; queries on it compute it \
             from the registers (slower). Run `attendance summarise` to rebuild it."
        );
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Ingest(args) => ingest::run(args).await,
        Command::Sql(args) => sql::run(args).await,
        Command::Shell(args) => shell::run(args).await,
        Command::Generate(args) => generate::run(args).await,
        Command::Check(args) => check::run(args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::Vacuum(args) => vacuum::run(args).await,
        Command::Summarise(args) => summarise::run(args).await,
        Command::Indicators(args) => indicators::run(args).await,
        Command::Realtime(args) => realtime::run(args).await,
        Command::Monitor(args) => monitor::run(args).await,
        Command::Serve(args) => serve::run(args).await,
        Command::Users(args) => users::run(args),
    }
}

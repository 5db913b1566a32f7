//! The `attendance` command line: one binary with subcommands.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::ingest::{IngestOptions, ingest};
use crate::output::Format;
use crate::session::{SessionOptions, session};
use crate::store::Store;

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
    #[arg(long, short = 'm', value_parser = parse_bytes, global = true)]
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
    Ingest {
        #[command(flatten)]
        data: DataArg,
        /// schools.csv (or .parquet) [default: none]
        #[arg(long)]
        schools: Vec<PathBuf>,
        /// pupils.csv (or .parquet) [default: none]
        #[arg(long)]
        pupils: Vec<PathBuf>,
        /// Register files or directories of them [default: none]
        #[arg(long, num_args = 1..)]
        registers: Vec<PathBuf>,
        /// Let marks with a new code replace stored marks (corrections) [default: off]
        #[arg(long)]
        update: bool,
        /// Write invalid rows with their reason to this CSV file and load the rest [default:
        /// none: any invalid row fails the load]
        #[arg(long)]
        reject_file: Option<PathBuf>,
        /// Print the summary as JSON [default: off]
        #[arg(long)]
        json: bool,
        /// Do not rebuild the enrolment summary after loading [default: off]
        #[arg(long)]
        no_summarise: bool,
    },
    /// Run SQL against the store
    #[command(after_help = "\
Examples:
  attendance sql --data sample-data/store -c \"SELECT la_code, absence_rate(code) AS pct FROM registers GROUP BY la_code\"
  attendance sql --data D -f queries.sql -o result.parquet
  echo 'SELECT count(*) FROM registers' | attendance sql --data D --format csv
  attendance sql --data D -c \"SELECT * FROM read_csv('pupils.csv') LIMIT 5\"")]
    Sql {
        #[command(flatten)]
        data: DataArg,
        /// The SQL to run (or use -c / -f) [default: standard input, when it is not a terminal]
        sql: Option<String>,
        /// The SQL to run [default: none]
        #[arg(short = 'c', long = "command", conflicts_with = "sql")]
        command: Option<String>,
        /// A file of SQL statements (`-` for standard input) [default: none]
        #[arg(short = 'f', long = "file", conflicts_with_all = ["sql", "command"])]
        file: Option<PathBuf>,
        /// Output format [default: table, or the -o file's extension: .parquet .csv .tsv .json
        /// .ndjson]
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Write the results to this file (created when every statement succeeded) [default:
        /// stdout]
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// Fetch at most this many rows of each query (a LIMIT on the query; 0: unlimited)
        /// [default: unlimited; a table on a terminal shows 40 rows]
        #[arg(long)]
        maxrows: Option<usize>,
    },
    /// Interactive SQL shell over the store
    #[command(after_help = "\
Examples:
  attendance shell --data sample-data/store
  attendance shell --data D --rc setup.sql

In the shell: .help (or \\?) lists the commands; statements end with `;`.")]
    Shell {
        #[command(flatten)]
        data: DataArg,
        /// Run the statements and commands of this file at start [default: ~/.attendancerc, if
        /// it exists]
        #[arg(long)]
        rc: Option<PathBuf>,
    },
    /// Generate a synthetic store (or the CSV input files) of national-scale register data
    #[command(after_help = "\
Examples:
  attendance generate --data D --pupils 100000
  attendance generate --pupils 20000 --la 805 --la 857 --csv inputs/")]
    Generate {
        #[command(flatten)]
        data: DataArg,
        /// Number of pupils (England is about 8,300,000) [default: none, required]
        #[arg(long)]
        pupils: u64,
        /// Seed of the random generator
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Academic year, e.g. 2024-25
        #[arg(long, default_value = "2024-25")]
        year: String,
        /// Write the DOMAIN.md input files (CSV) into this directory instead of a store
        /// [default: none: write a store]
        #[arg(long)]
        csv: Option<PathBuf>,
        /// With --csv: write the register files as Parquet (same columns) instead of CSV
        /// [default: off]
        #[arg(long, requires = "csv")]
        parquet: bool,
        /// Keep only these LAs (old 3-digit codes) of the national data set [default: every LA]
        #[arg(long)]
        la: Vec<String>,
        /// Replace the data of a store that already holds some [default: off: such a store is
        /// refused]
        #[arg(long)]
        force: bool,
    },
    /// Verify every table's log and every data file of the store (checksums); exit 1 if any
    /// is damaged
    #[command(
        after_help = "Example:\n  attendance check --data ./data\n  attendance check --data ./data --repair"
    )]
    Check {
        #[command(flatten)]
        data: DataArg,
        /// Mend what can be mended: remove a damaged latest commit and the temporary files of
        /// interrupted commits, and remove damaged data files from their table (their marks
        /// must then be loaded again with `ingest --update`) [default: off: report only]
        #[arg(long)]
        repair: bool,
        /// Print the report as JSON [default: off]
        #[arg(long)]
        json: bool,
    },
    /// Run the benchmark workload (W1-W9 of WORKLOAD.md; W1s-W5s and W9s from enrolment_summary)
    #[command(after_help = "\
Examples:
  attendance bench --data D
  attendance bench --data D --runs 3 --query W1 --query W7 --json bench.json")]
    Bench {
        #[command(flatten)]
        data: DataArg,
        /// Timed runs per query, after one warm-up run
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Skip the warm-up run (for very large stores, where one run is all there is time for)
        /// [default: off]
        #[arg(long)]
        no_warmup: bool,
        /// Only these queries (W1 ... W9, W1s ... W5s, W9s) [default: all]
        #[arg(long)]
        query: Vec<String>,
        /// Also write the figures as JSON to this file [default: none: JSON on stdout]
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Delete data files no recent table version refers to (replaced by corrections and
    /// rebuilds, or left by interrupted writes)
    #[command(after_help = "\
Examples:
  attendance vacuum --data D --dry-run
  attendance vacuum --data D --retention-hours 0")]
    Vacuum {
        #[command(flatten)]
        data: DataArg,
        /// Keep files younger than this, and every version this recent (0: delete all
        /// unreferenced files now; only when nothing writes to the store)
        #[arg(long, default_value_t = 168)]
        retention_hours: i64,
        /// List the files that would be deleted, and delete nothing [default: off]
        #[arg(long)]
        dry_run: bool,
    },
    /// Build the enrolment summary table from the registers (also run by every ingest)
    #[command(after_help = "\
Examples:
  attendance summarise --data sample-data/store
  attendance summarise --data D --force")]
    Summarise {
        #[command(flatten)]
        data: DataArg,
        /// Rebuild even if it is up to date [default: off]
        #[arg(long)]
        force: bool,
    },
    /// Compute the national absence indicators as EES open-data CSV files
    #[command(after_help = "\
Examples:
  attendance indicators --data sample-data/store --out out
  attendance indicators --data D --out out --year 2024-25 --period \"Autumn term\" --parquet")]
    Indicators {
        #[command(flatten)]
        data: DataArg,
        /// Output directory
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Academic year(s), e.g. 2024-25 (default: every year in the store)
        #[arg(long)]
        year: Vec<String>,
        /// Time identifier(s): "Autumn term", "Spring term", "Summer term",
        /// "Autumn and spring term", "Academic year" (default: every one the data covers)
        #[arg(long)]
        period: Vec<String>,
        /// Do not suppress small counts (see DOMAIN.md section 6) [default: off: suppressed]
        #[arg(long)]
        no_suppress: bool,
        /// Also write each file as Parquet [default: off]
        #[arg(long)]
        parquet: bool,
        /// Print the SQL the job runs, and do nothing else [default: off]
        #[arg(long)]
        explain: bool,
        /// Replace a non-empty --out directory that holds files other than an earlier run's
        /// [default: off: such a directory is refused]
        #[arg(long)]
        force: bool,
    },
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

/// `text` with control characters (from file names or input values) escaped, so that a
/// message can neither redraw the terminal nor forge lines; line breaks between the lines of a
/// list of errors are kept.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
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
        Command::Ingest {
            data,
            schools,
            pupils,
            registers,
            update,
            reject_file,
            json,
            no_summarise,
        } => {
            let store = data.store();
            let options = IngestOptions {
                schools,
                pupils,
                registers,
                update,
                reject_file: reject_file.clone(),
                progress: std::io::stderr().is_terminal(),
                session: data.session_options(),
                large_input_rows: None,
                wait: data.wait,
            };
            let summary = ingest(&store, &options).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                eprintln!("{summary}");
            }
            if !no_summarise && store.load(crate::store::Table::Registers).await?.is_some() {
                match crate::summary::summarise(&store, &data.session_options(), false).await {
                    Ok(report) if report.rebuilt => eprintln!(
                        "enrolment_summary rebuilt: {} rows in {:.2} s",
                        report.rows, report.seconds
                    ),
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
        }
        Command::Sql {
            data,
            sql,
            command,
            file,
            format,
            output,
            maxrows,
        } => {
            let stdin = std::io::stdin();
            let text = match (sql.or(command), file) {
                (Some(sql), _) => sql,
                (None, Some(path)) if path.as_os_str() == "-" => {
                    std::io::read_to_string(stdin.lock()).context("reading standard input")?
                }
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?,
                (None, None) if !stdin.is_terminal() => {
                    std::io::read_to_string(stdin.lock()).context("reading standard input")?
                }
                (None, None) => {
                    bail!("give the SQL to run, with -c \"SQL\", -f FILE or on standard input")
                }
            };
            let format = format
                .or_else(|| output.as_deref().and_then(Format::from_extension))
                .unwrap_or_default();
            if format == Format::Parquet && output.is_none() && std::io::stdout().is_terminal() {
                bail!("--format parquet writes binary data: give -o FILE or redirect stdout");
            }
            let store = Store::open_existing(&data.data)?;
            let (ctx, snapshot) = session(&store, &data.session_options()).await?;
            warn_if_live(&snapshot, &text);
            let terminal = output.is_none() && std::io::stdout().is_terminal();
            let options =
                crate::query::PrintOptions::new(format, maxrows.filter(|n| *n > 0), terminal);
            let report = |r: &crate::query::StatementReport| {
                if terminal {
                    eprintln!(
                        "{} row{} in {:.3} s",
                        crate::output::thousands(r.rows),
                        if r.rows == 1 { "" } else { "s" },
                        r.seconds
                    );
                }
            };
            match &output {
                Some(path) => {
                    // Written under a temporary name in the same directory and renamed when every
                    // statement succeeded: a failed query leaves no partial file, and an existing
                    // file stays as it was.
                    let name = path
                        .file_name()
                        .with_context(|| format!("{} is not a file name", path.display()))?;
                    let temporary = path.with_file_name(format!(
                        ".{}.{}.tmp",
                        name.to_string_lossy(),
                        std::process::id()
                    ));
                    let result = async {
                        let mut out = BufWriter::new(
                            File::create(&temporary)
                                .with_context(|| format!("creating {}", temporary.display()))?,
                        );
                        crate::query::run_and_print(&ctx, &text, &mut out, &options, report)
                            .await?;
                        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                        std::fs::rename(&temporary, path)
                            .with_context(|| format!("writing {}", path.display()))?;
                        anyhow::Ok(())
                    }
                    .await;
                    if result.is_err() {
                        let _ = std::fs::remove_file(&temporary);
                    }
                    result?;
                }
                None => {
                    let mut out = BufWriter::new(std::io::stdout());
                    let result =
                        crate::query::run_and_print(&ctx, &text, &mut out, &options, report).await;
                    out.flush()?;
                    result?;
                }
            }
        }
        Command::Generate {
            data,
            pupils,
            seed,
            year,
            csv,
            parquet,
            la,
            force,
        } => {
            let start: i32 = year
                .get(..4)
                .and_then(|y| y.parse().ok())
                .filter(|y| crate::ingest::format_academic_year(*y) == year)
                .with_context(|| format!("`{year}` is not an academic year like 2024-25"))?;
            let config = crate::generate::GenerateConfig {
                pupils,
                seed,
                academic_year: start,
            };
            if let Some(dir) = csv.as_ref().filter(|_| !la.is_empty() || parquet) {
                let started = std::time::Instant::now();
                let selection = crate::generated_store::Selection::new(&config, &la)?;
                let marks = selection.write_inputs(dir, parquet)?;
                eprintln!(
                    "{} schools, {} enrolments, {marks} marks written to {} in {:.1} s",
                    selection.schools.num_rows(),
                    selection.enrolments(),
                    dir.display(),
                    started.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            if let Some(dir) = csv {
                let started = std::time::Instant::now();
                let dataset = crate::generate::plan(&config);
                let summary = dataset.write_csv(&dir)?;
                eprintln!(
                    "{} schools, {} enrolments, {} marks in {} register files written to {} in {:.1} s",
                    summary.schools,
                    summary.enrolments,
                    summary.marks,
                    summary.register_files,
                    dir.display(),
                    started.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            let store = data.store();
            let selection = crate::generated_store::Selection::new(&config, &la)?;
            let report = crate::generated_store::generate_store(
                &store,
                &selection,
                &data.session_options(),
                std::io::stderr().is_terminal(),
                force,
            )
            .await?;
            eprintln!(
                "{} schools, {} enrolments, {} marks ({} LAs) in {:.1} s: {:.0} marks/s, {} bytes ({:.3} bytes a mark)",
                report.schools,
                report.enrolments,
                report.marks,
                report.partitions,
                report.seconds,
                report.marks as f64 / report.seconds.max(1e-9),
                report.bytes,
                report.bytes as f64 / report.marks.max(1) as f64
            );
            let summary = crate::summary::summarise(&store, &data.session_options(), true).await?;
            eprintln!(
                "enrolment_summary: {} rows in {:.1} s",
                summary.rows, summary.seconds
            );
        }
        Command::Bench {
            data,
            runs,
            no_warmup,
            query,
            json,
        } => {
            let store = Store::open_existing(&data.data)?;
            let report = crate::bench::run(
                &store,
                &crate::bench::BenchOptions {
                    runs,
                    warmup: !no_warmup,
                    queries: query,
                    session: data.session_options(),
                },
            )
            .await?;
            let text = serde_json::to_string_pretty(&report)?;
            match json {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => println!("{text}"),
            }
        }
        Command::Vacuum {
            data,
            retention_hours,
            dry_run,
        } => {
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
        }
        Command::Check { data, repair, json } => {
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
                    message: "the store is damaged (see above); `attendance check --repair` mends what it can".into(),
                    status: 1,
                }
                .into());
            }
        }
        Command::Summarise { data, force } => {
            let store = Store::open_existing(&data.data)?.waiting(data.wait);
            let report = crate::summary::summarise(&store, &data.session_options(), force).await?;
            let versions = report
                .source_versions
                .iter()
                .map(|(table, version)| match version {
                    Some(v) => format!("{table} version {v}"),
                    None => format!("no {table}"),
                })
                .collect::<Vec<_>>()
                .join(", ");
            if report.rebuilt {
                eprintln!(
                    "enrolment_summary rebuilt: {} rows in {:.2} s, from {versions}",
                    crate::output::thousands(report.rows as usize),
                    report.seconds
                );
            } else {
                eprintln!("enrolment_summary is up to date with {versions}");
            }
        }
        Command::Indicators {
            data,
            out,
            year,
            period,
            no_suppress,
            parquet,
            explain,
            force,
        } => {
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
            let manifest = crate::indicators::run(&store, &options).await?;
            for output in &manifest.outputs {
                eprintln!(
                    "{:>8} rows  {}",
                    output.rows,
                    out.join(&output.file).display()
                );
            }
            eprintln!(
                "indicators for {} ({}) in {:.2} s",
                manifest.academic_years.join(", "),
                manifest.periods.join(", "),
                manifest.wall_seconds
            );
        }
        Command::Shell { data, rc } => {
            let store = Store::open_existing(&data.data)?;
            let (ctx, snapshot) = session(&store, &data.session_options()).await?;
            warn_if_live(&snapshot, "enrolment_summary");
            crate::shell::run(ctx, rc).await?;
        }
    }
    Ok(())
}

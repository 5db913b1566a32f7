//! `attendance sql`: Run SQL against the store

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use super::output::Format;
use super::{DataArg, warn_if_live};
use crate::session::session;
use crate::store::Store;

/// The options of `attendance sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// The SQL to run (or use -c / -f) [default: standard input, when it is not a terminal]
    pub sql: Option<String>,
    /// The SQL to run [default: none]
    #[arg(short = 'c', long = "command", conflicts_with = "sql")]
    pub command: Option<String>,
    /// A file of SQL statements (`-` for standard input) [default: none]
    #[arg(short = 'f', long = "file", conflicts_with_all = ["sql", "command"])]
    pub file: Option<PathBuf>,
    /// Output format [default: table, or the -o file's extension: .parquet .csv .tsv .json
    /// .ndjson]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the results to this file (created when every statement succeeded) [default:
    /// stdout]
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Fetch at most this many rows of each query (a LIMIT on the query; 0: unlimited)
    /// [default: unlimited; a table on a terminal shows 40 rows]
    #[arg(long)]
    pub maxrows: Option<usize>,
}

pub async fn run(args: SqlArgs) -> anyhow::Result<()> {
    let SqlArgs {
        data,
        sql,
        command,
        file,
        format,
        output,
        maxrows,
    } = args;
    let stdin = std::io::stdin();
    let text = match (sql.or(command), file) {
        (Some(sql), _) => sql,
        (None, Some(path)) if path.as_os_str() == "-" => {
            std::io::read_to_string(stdin.lock()).context("reading standard input")?
        }
        (None, Some(path)) => {
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?
        }
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
        crate::cli::query::PrintOptions::new(format, maxrows.filter(|n| *n > 0), terminal);
    let report = |r: &crate::cli::query::StatementReport| {
        if terminal {
            eprintln!(
                "{} row{} in {:.3} s",
                crate::cli::output::thousands(r.rows),
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
                crate::cli::query::run_and_print(&ctx, &text, &mut out, &options, report).await?;
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
                crate::cli::query::run_and_print(&ctx, &text, &mut out, &options, report).await;
            out.flush()?;
            result?;
        }
    }
    Ok(())
}

//! `attendance shell`: an interactive SQL shell over the store.
//!
//! Statements may span lines and end with `;`. Backslash commands: `\d` (tables), `\d TABLE`
//! (columns), `\functions` (the attendance functions and their documentation), `\timing`
//! (toggle timings), `\?` (help), `\q` (quit). Ctrl-C cancels the running query, not the shell;
//! at the prompt it clears the statement being typed. History is kept under the user's data
//! directory (`attendance/history`).

use std::io::Write;
use std::time::Instant;

use datafusion::prelude::SessionContext;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::output::{Format, limit_rows, write_batches};
use crate::query::run_sql;

const HELP: &str = "\
Statements end with `;` and may span lines.
  \\d            list tables
  \\d TABLE      describe a table
  \\functions    the attendance functions with their documentation
  \\timing       toggle query timing
  \\?            this help
  \\q            quit
Ctrl-C cancels a running query; Ctrl-D quits.";

/// What the shell does with a line of input.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// More lines are needed to complete the statement.
    Continue,
    /// Quit the shell.
    Quit,
    /// Output was written.
    Done,
}

/// The shell's state, independent of the terminal so that it can be driven by tests.
pub struct Shell {
    ctx: SessionContext,
    buffer: String,
    pub timing: bool,
    pub format: Format,
    pub max_rows: Option<usize>,
}

impl Shell {
    pub fn new(ctx: SessionContext) -> Self {
        Self {
            ctx,
            buffer: String::new(),
            timing: false,
            format: Format::Table,
            max_rows: Some(40),
        }
    }

    /// Whether a statement is being continued over several lines.
    pub fn in_statement(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// Forgets a half-typed statement (Ctrl-C at the prompt).
    pub fn clear(&mut self) {
        self.buffer.clear();
    }

    /// Feeds one line of input. Complete statements are run (with `cancel` able to stop them).
    pub async fn feed<C>(&mut self, line: &str, out: &mut dyn Write, cancel: C) -> Step
    where
        C: std::future::Future<Output = ()>,
    {
        let trimmed = line.trim();
        if self.buffer.is_empty() && trimmed.starts_with('\\') {
            return self.command(trimmed, out).await;
        }
        if trimmed.is_empty() && self.buffer.is_empty() {
            return Step::Done;
        }
        if !self.buffer.is_empty() {
            self.buffer.push('\n');
        }
        self.buffer.push_str(line);
        if !self.buffer.trim_end().ends_with(';') {
            return Step::Continue;
        }
        let sql = std::mem::take(&mut self.buffer);
        self.run(&sql, out, cancel).await;
        Step::Done
    }

    async fn run<C>(&mut self, sql: &str, out: &mut dyn Write, cancel: C)
    where
        C: std::future::Future<Output = ()>,
    {
        let started = Instant::now();
        // Ctrl-C wins over a result arriving at the same moment.
        let result = tokio::select! {
            biased;
            _ = cancel => None,
            r = run_sql(&self.ctx, sql) => Some(r),
        };
        match result {
            None => {
                let _ = writeln!(out, "Query cancelled.");
            }
            Some(Err(e)) => {
                let _ = writeln!(out, "Error: {e}");
            }
            Some(Ok(results)) => {
                for result in results {
                    let rows = result.num_rows();
                    let batches = limit_rows(result.batches, self.max_rows);
                    if let Err(e) = write_batches(out, self.format, &result.schema, &batches) {
                        let _ = writeln!(out, "Error: {e}");
                    }
                    let shown = batches.iter().map(|b| b.num_rows()).sum::<usize>();
                    let _ = if shown < rows {
                        writeln!(out, "{rows} row(s) ({shown} shown)")
                    } else {
                        writeln!(out, "{rows} row(s)")
                    };
                }
                if self.timing {
                    let _ = writeln!(out, "Time: {:.3} s", started.elapsed().as_secs_f64());
                }
            }
        }
    }

    async fn command(&mut self, command: &str, out: &mut dyn Write) -> Step {
        let mut words = command.split_whitespace();
        let name = words.next().unwrap_or_default();
        let arg = words.next();
        let sql = match (name, arg) {
            ("\\q", _) => return Step::Quit,
            ("\\?", _) | ("\\h", _) | ("\\help", _) => {
                let _ = writeln!(out, "{HELP}");
                return Step::Done;
            }
            ("\\timing", _) => {
                self.timing = !self.timing;
                let _ = writeln!(out, "Timing is {}.", if self.timing { "on" } else { "off" });
                return Step::Done;
            }
            ("\\functions", _) => {
                let _ = write!(out, "{}", function_docs());
                return Step::Done;
            }
            ("\\d", None) => "SELECT table_name, table_type FROM information_schema.tables \
                 WHERE table_schema = 'public' ORDER BY table_name;"
                .to_string(),
            ("\\d", Some(table)) => {
                let table = table.trim_end_matches(';').replace('\'', "''");
                format!(
                    "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
                     WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position;"
                )
            }
            _ => {
                let _ = writeln!(out, "Unknown command {name}. \\? lists the commands.");
                return Step::Done;
            }
        };
        let max_rows = self.max_rows.take();
        self.run(&sql, out, std::future::pending()).await;
        self.max_rows = max_rows;
        Step::Done
    }
}

/// The attendance functions with their descriptions and syntax, for `\functions`.
pub fn function_docs() -> String {
    let mut entries: Vec<(String, String, String)> = Vec::new();
    for udf in attendance_udfs::all_scalar_udfs() {
        if let Some(doc) = udf.documentation() {
            entries.push((
                udf.name().to_string(),
                doc.description.clone(),
                doc.syntax_example.clone(),
            ));
        }
    }
    for udaf in attendance_udfs::all_aggregate_udfs() {
        if let Some(doc) = udaf.documentation() {
            entries.push((
                udaf.name().to_string(),
                doc.description.clone(),
                doc.syntax_example.clone(),
            ));
        }
    }
    entries.sort();
    let mut text = String::new();
    for (name, description, syntax) in entries {
        text.push_str(&format!("{name}\n    {description}\n    {syntax}\n"));
    }
    text
}

fn history_path() -> Option<std::path::PathBuf> {
    let dir = dirs::data_dir()?.join("attendance");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
}

/// Runs the interactive shell on the terminal until `\q` or end of input.
pub async fn run(ctx: SessionContext) -> anyhow::Result<()> {
    let mut editor = DefaultEditor::new()?;
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let mut shell = Shell::new(ctx);
    eprintln!("attendance shell: statements end with `;`; \\? for help, \\q to quit.");
    let mut stdout = std::io::stdout();
    loop {
        let prompt = if shell.in_statement() {
            "      -> "
        } else {
            "attendance> "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                let step = shell
                    .feed(&line, &mut stdout, async {
                        let _ = tokio::signal::ctrl_c().await;
                    })
                    .await;
                if step == Step::Continue || !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                if step == Step::Quit {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => shell.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}

//! `attendance shell`: an interactive SQL shell over the store.
//!
//! Statements may span lines and end with `;`. Commands, in psql's backslash form or DuckDB's
//! dot form, also on a continuation line: `\d` / `.tables` (tables), `\d TABLE` / `.schema TABLE`
//! (columns), `\functions`, `\timing`, `\pset format F` / `.mode F` (table, csv, tsv, json,
//! ndjson), `\o FILE` / `.output FILE` (results to a file; without FILE back to the terminal),
//! `\i FILE` / `.read FILE` (run a file), `\?` / `.help` / `help`, `\q` / `.quit` / `quit` /
//! `exit`. Ctrl-C cancels the running query, not the shell; at the prompt it clears the
//! statement being typed. Tab completes keywords, tables, columns and functions. History (whole
//! statements) is kept under the user's data directory (`attendance/history`); `~/.attendancerc`
//! (or `--rc FILE`) is run at start.
//!
//! [`Shell`] is the line handler, independent of the terminal: [`Shell::feed`] takes a line and
//! writes what it prints, so tests drive it without one.

use super::DataArg;
use super::warn_if_live;
use crate::session::session;
use crate::store::Store;
use clap::Args;
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::keywords::ALL_KEYWORDS;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use crate::cli::output::{Format, TableStyle, thousands};
use crate::cli::query::{PrintOptions, parse_statements, run_statement};

const HELP: &str = "\
Statements end with `;` and may span lines. Commands (also on a continuation line):
  \\d  .tables               list tables
  \\d TABLE  .schema TABLE   describe a table
  \\functions                the attendance functions with their documentation
  \\pset format F  .mode F   output format: table, csv, tsv, json, ndjson
  \\o FILE  .output FILE     write results to FILE (\\o alone: back to the terminal)
  \\i FILE  .read FILE       run the statements and commands of FILE
  \\timing  .timer           toggle query timing
  \\?  .help  help           this help
  \\q  .quit  quit  exit     quit
Files are tables too: SELECT * FROM 'x.parquet', read_parquet('dir/'), read_csv('x.csv').
Tab completes keywords, tables, columns and functions. Ctrl-C cancels a running query; Ctrl-D quits.";

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
    /// Rows a table shows (the others are counted).
    pub max_rows: Option<usize>,
    pub style: TableStyle,
    /// Where results go after `\o FILE` (messages stay on the terminal).
    output: Option<(PathBuf, BufWriter<File>)>,
    /// Statements completed and run, for the history.
    completed: Vec<String>,
    /// Depth of `\i` files being run (a file that includes itself stops).
    include_depth: usize,
    words: Arc<RwLock<Vec<String>>>,
}

impl Shell {
    pub fn new(ctx: SessionContext) -> Self {
        Self {
            ctx,
            buffer: String::new(),
            timing: false,
            format: Format::Table,
            max_rows: Some(crate::cli::output::TERMINAL_MAX_ROWS),
            style: TableStyle::Terminal,
            output: None,
            completed: Vec::new(),
            include_depth: 0,
            words: Arc::new(RwLock::new(Vec::new())),
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

    /// The statements completed since the last call (for the history: one entry each, however
    /// many lines it spanned).
    pub fn take_completed(&mut self) -> Vec<String> {
        std::mem::take(&mut self.completed)
    }

    /// Feeds one line of input. Complete statements are run (with `cancel` able to stop them).
    pub async fn feed<C>(&mut self, line: &str, out: &mut dyn Write, cancel: C) -> Step
    where
        C: std::future::Future<Output = ()>,
    {
        let trimmed = line.trim();
        if is_command(trimmed, self.buffer.is_empty()) {
            return Box::pin(self.command(trimmed, out)).await;
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
        self.completed.push(sql.trim().to_string());
        self.run(&sql, out, cancel).await;
        Step::Done
    }

    async fn run<C>(&mut self, sql: &str, out: &mut dyn Write, cancel: C)
    where
        C: std::future::Future<Output = ()>,
    {
        // Ctrl-C wins over a result arriving at the same moment.
        let result = tokio::select! {
            biased;
            _ = cancel => None,
            r = self.run_statements(sql, out) => Some(r),
        };
        match result {
            None => {
                let _ = writeln!(out, "Query cancelled.");
            }
            Some(Err(e)) => {
                let _ = writeln!(out, "Error: {e}");
            }
            Some(Ok(())) => {}
        }
        self.refresh_completions().await;
    }

    async fn run_statements(
        &mut self,
        sql: &str,
        out: &mut dyn Write,
    ) -> datafusion::error::Result<()> {
        let options = PrintOptions {
            format: self.format,
            max_rows: None,
            style: self.style,
            show_rows: self.max_rows,
        };
        for statement in parse_statements(sql)? {
            let report = match &mut self.output {
                Some((_, file)) => {
                    let report = run_statement(&self.ctx, statement, file, &options).await;
                    file.flush()?;
                    report?
                }
                None => run_statement(&self.ctx, statement, out, &options).await?,
            };
            let rows = thousands(report.rows);
            let _ = if report.shown < report.rows && self.format == Format::Table {
                // The table printed "(N rows, M shown)".
                Ok(())
            } else if report.rows == 1 {
                writeln!(out, "1 row")
            } else {
                writeln!(out, "{rows} rows")
            };
            if self.timing {
                let _ = writeln!(out, "Time: {:.3} s", report.seconds);
            }
        }
        Ok(())
    }

    async fn command(&mut self, command: &str, out: &mut dyn Write) -> Step {
        let (name, arg) = match command.split_once(char::is_whitespace) {
            Some((name, arg)) => (name, Some(arg.trim().trim_end_matches(';').trim())),
            None => (command.trim_end_matches(';'), None),
        };
        let arg = arg.filter(|a| !a.is_empty());
        let sql = match (name, arg) {
            ("\\q" | ".quit" | ".exit" | "quit" | "exit", _) => return Step::Quit,
            ("\\?" | "\\h" | "\\help" | ".help" | "help", _) => {
                let _ = writeln!(out, "{HELP}");
                return Step::Done;
            }
            ("\\timing" | ".timer", _) => {
                self.timing = match arg {
                    Some("on") => true,
                    Some("off") => false,
                    _ => !self.timing,
                };
                let _ = writeln!(out, "Timing is {}.", if self.timing { "on" } else { "off" });
                return Step::Done;
            }
            ("\\functions" | ".functions", _) => {
                let _ = write!(out, "{}", function_docs());
                return Step::Done;
            }
            ("\\pset", arg) => {
                let mut words = arg.unwrap_or_default().split_whitespace();
                match (words.next(), words.next()) {
                    (Some("format"), Some(format)) => self.set_format(format, out),
                    (Some("format"), None) | (None, _) => {
                        let _ = writeln!(out, "Output format is {}.", self.format.name());
                    }
                    (Some(other), _) => {
                        let _ =
                            writeln!(out, "\\pset: unknown option {other}; try \\pset format csv");
                    }
                }
                return Step::Done;
            }
            (".mode", Some(format)) => {
                self.set_format(format, out);
                return Step::Done;
            }
            (".mode", None) => {
                let _ = writeln!(out, "Output format is {}.", self.format.name());
                return Step::Done;
            }
            ("\\o" | ".output" | ".once", arg) => {
                self.set_output(arg, out);
                return Step::Done;
            }
            ("\\i" | "\\include" | ".read", Some(path)) => {
                self.include(Path::new(path), out).await;
                return Step::Done;
            }
            ("\\i" | "\\include" | ".read", None) => {
                let _ = writeln!(out, "{name} needs a file name.");
                return Step::Done;
            }
            ("\\d" | ".tables", None) => {
                "SELECT table_name, table_type FROM information_schema.tables \
                 WHERE table_schema = 'public' ORDER BY table_name;"
                    .to_string()
            }
            ("\\d" | ".schema" | ".describe", Some(table)) => {
                if !self.table_exists(table).await {
                    let _ = writeln!(out, "Did not find any table named \"{table}\".");
                    return Step::Done;
                }
                let table = table.replace('\'', "''");
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
        // Catalog listings are shown whole, in a table, on the terminal.
        let saved = (self.max_rows.take(), self.format, self.output.take());
        self.format = Format::Table;
        self.run(&sql, out, std::future::pending()).await;
        (self.max_rows, self.format, self.output) = saved;
        Step::Done
    }

    fn set_format(&mut self, name: &str, out: &mut dyn Write) {
        match Format::parse(name) {
            Some(Format::Parquet) => {
                let _ = writeln!(
                    out,
                    "parquet is a binary format: use COPY (query) TO 'file.parquet'."
                );
            }
            Some(format) => {
                self.format = format;
                let _ = writeln!(out, "Output format is {}.", format.name());
            }
            None => {
                let _ = writeln!(
                    out,
                    "Unknown format {name}: use table, csv, tsv, json or ndjson."
                );
            }
        }
    }

    fn set_output(&mut self, path: Option<&str>, out: &mut dyn Write) {
        if let Some((_, mut file)) = self.output.take() {
            let _ = file.flush();
        }
        let Some(path) = path else {
            let _ = writeln!(out, "Results go to the terminal.");
            return;
        };
        match File::create(path) {
            Ok(file) => {
                let _ = writeln!(out, "Results go to {path}.");
                self.output = Some((PathBuf::from(path), BufWriter::new(file)));
            }
            Err(e) => {
                let _ = writeln!(out, "Error: cannot write {path}: {e}");
            }
        }
    }

    /// The file results go to after `\o FILE`.
    pub fn output_file(&self) -> Option<&Path> {
        self.output.as_ref().map(|(path, _)| path.as_path())
    }

    /// Runs the lines of a file (`\i`, `.read`, the rc file) as if typed; a statement left
    /// unfinished at its end is run too.
    pub async fn include(&mut self, path: &Path, out: &mut dyn Write) -> Step {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                let _ = writeln!(out, "Error: cannot read {}: {e}", path.display());
                return Step::Done;
            }
        };
        if self.include_depth >= 16 {
            let _ = writeln!(out, "Error: files include each other too deeply.");
            return Step::Done;
        }
        self.include_depth += 1;
        let pending = std::mem::take(&mut self.buffer);
        let mut step = Step::Done;
        for line in text.lines() {
            step = self.feed(line, out, std::future::pending()).await;
            if step == Step::Quit {
                break;
            }
        }
        if step != Step::Quit && !self.buffer.trim().is_empty() {
            let sql = std::mem::take(&mut self.buffer);
            self.run(&sql, out, std::future::pending()).await;
        }
        self.buffer = pending;
        self.include_depth -= 1;
        // The file's statements are not the user's history.
        self.completed.clear();
        if step == Step::Quit {
            Step::Quit
        } else {
            Step::Done
        }
    }

    async fn table_exists(&self, table: &str) -> bool {
        let table = table.trim_matches('"');
        self.ctx.table_exist(table).unwrap_or(false)
    }

    /// The words tab completion offers: keywords, tables, columns and functions.
    pub fn completion_words(&self) -> Vec<String> {
        self.words.read().map(|w| w.clone()).unwrap_or_default()
    }

    /// Reads the tables, columns and functions of the session again (after each statement: a
    /// `CREATE VIEW` adds a table).
    pub async fn refresh_completions(&self) {
        let mut words: Vec<String> = ALL_KEYWORDS.iter().map(|k| k.to_string()).collect();
        let state = self.ctx.state();
        words.extend(state.scalar_functions().keys().cloned());
        words.extend(state.aggregate_functions().keys().cloned());
        words.extend(state.window_functions().keys().cloned());
        words.extend(state.table_functions().keys().cloned());
        if let Ok(frame) = self
            .ctx
            .sql(
                "SELECT DISTINCT table_name AS w FROM information_schema.columns \
                 UNION SELECT DISTINCT column_name AS w FROM information_schema.columns",
            )
            .await
            && let Ok(batches) = frame.collect().await
        {
            for batch in batches {
                let column = datafusion::arrow::compute::cast(
                    batch.column(0),
                    &datafusion::arrow::datatypes::DataType::Utf8,
                );
                if let Ok(column) = column {
                    use datafusion::arrow::array::AsArray;
                    words.extend(
                        column
                            .as_string::<i32>()
                            .iter()
                            .flatten()
                            .map(str::to_string),
                    );
                }
            }
        }
        words.sort();
        words.dedup();
        if let Ok(mut shared) = self.words.write() {
            *shared = words;
        }
    }

    /// A tab completer over [`Self::completion_words`], kept up to date by the shell.
    pub fn completer(&self) -> ShellHelper {
        ShellHelper {
            words: self.words.clone(),
        }
    }
}

/// Whether a line is a shell command rather than SQL: a backslash command anywhere (also on a
/// continuation line), a dot command, or `help` / `quit` / `exit` alone, at the start of a
/// statement.
fn is_command(line: &str, at_start: bool) -> bool {
    if line.starts_with('\\') {
        return true;
    }
    if line.starts_with('.') && line[1..].starts_with(|c: char| c.is_ascii_alphabetic()) {
        return true;
    }
    at_start
        && matches!(
            line.trim_end_matches(';').to_ascii_lowercase().as_str(),
            "help" | "quit" | "exit"
        )
}

/// Completes the word before the cursor with a keyword, table, column or function name (in
/// the case the word is typed in: `sel` gives `select`, `SEL` gives `SELECT`).
pub struct ShellHelper {
    words: Arc<RwLock<Vec<String>>>,
}

impl ShellHelper {
    /// The candidates for the word ending at `pos` in `line`, and where that word starts.
    pub fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = &line[..pos];
        let start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| {
                i + before[i..].chars().next().map_or(1, char::len_utf8)
            });
        let prefix = &before[start..];
        if prefix.is_empty() {
            return (start, Vec::new());
        }
        let lower = prefix.to_lowercase();
        let upper = prefix.chars().all(|c| !c.is_lowercase());
        let words = self.words.read().map(|w| w.clone()).unwrap_or_default();
        let mut found: Vec<String> = words
            .iter()
            .filter(|w| w.to_lowercase().starts_with(&lower))
            .map(|w| {
                let keyword = w.chars().all(|c| !c.is_lowercase());
                match (keyword, upper) {
                    (true, false) => w.to_lowercase(),
                    _ => w.clone(),
                }
            })
            .collect();
        found.sort();
        found.dedup();
        (start, found)
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, words) = self.candidates(line, pos);
        Ok((
            start,
            words
                .into_iter()
                .map(|w| Pair {
                    display: w.clone(),
                    replacement: w,
                })
                .collect(),
        ))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        Cow::Borrowed(line)
    }
}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

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

fn history_path() -> Option<PathBuf> {
    let dir = dirs::data_dir()?.join("attendance");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
}

/// The rc file run at start: `--rc FILE`, else `~/.attendancerc` if it exists.
pub fn rc_file(rc: Option<PathBuf>) -> Option<PathBuf> {
    rc.or_else(|| {
        dirs::home_dir()
            .map(|home| home.join(".attendancerc"))
            .filter(|path| path.is_file())
    })
}

/// Runs the interactive shell on the terminal until `\q` or end of input, after the rc file.
pub async fn run_repl(ctx: SessionContext, rc: Option<PathBuf>) -> anyhow::Result<()> {
    let mut shell = Shell::new(ctx);
    shell.refresh_completions().await;
    let mut editor: Editor<ShellHelper, DefaultHistory> = Editor::new()?;
    editor.set_helper(Some(shell.completer()));
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let mut stdout = std::io::stdout();
    if let Some(path) = rc_file(rc)
        && shell.include(&path, &mut stdout).await == Step::Quit
    {
        return Ok(());
    }
    eprintln!("attendance shell: statements end with `;`; .help for help, .quit to quit.");
    loop {
        let prompt = if shell.in_statement() {
            "      -> "
        } else {
            "attendance> "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                let command = is_command(line.trim(), !shell.in_statement());
                let step = shell
                    .feed(&line, &mut stdout, async {
                        let _ = tokio::signal::ctrl_c().await;
                    })
                    .await;
                // Whole statements go into the history, however many lines they spanned.
                for statement in shell.take_completed() {
                    let _ = editor.add_history_entry(statement);
                }
                if command {
                    let _ = editor.add_history_entry(line.trim());
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

/// The options of `attendance shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Run the statements and commands of this file at start [default: ~/.attendancerc, if
    /// it exists]
    #[arg(long)]
    pub rc: Option<PathBuf>,
}

pub async fn run(args: ShellArgs) -> anyhow::Result<()> {
    let ShellArgs { data, rc } = args;
    let store = Store::open_existing(&data.data)?;
    let (ctx, snapshot) = session(&store, &data.session_options()).await?;
    warn_if_live(&snapshot, "enrolment_summary");
    run_repl(ctx, rc).await?;
    Ok(())
}

//! Running SQL text (one or more `;`-separated statements) against a session, streaming each
//! statement's result to the output as it is computed. Every statement is planned through the
//! session's store policy ([`crate::session::plan_statement`]).

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::parser::ParserError;
use futures::StreamExt;

use crate::cli::output::{Format, ResultWriter, TableStyle};

/// The result of one statement, collected.
pub struct StatementResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl StatementResult {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// A SQL syntax error as one clear line (DataFusion's own shows the parser's error in debug form
/// and again as its source).
fn syntax_error(error: DataFusionError) -> DataFusionError {
    match error {
        DataFusionError::SQL(error, _) => {
            let message = match *error {
                ParserError::ParserError(m) | ParserError::TokenizerError(m) => m,
                ParserError::RecursionLimitExceeded => "statement nested too deeply".to_string(),
            };
            DataFusionError::Plan(format!("SQL syntax error: {message}"))
        }
        other => other,
    }
}

/// Parses `sql` into statements with DataFusion's own parser (so `;` inside strings and
/// comments is handled).
pub fn parse_statements(sql: &str) -> Result<Vec<Statement>> {
    Ok(DFParser::parse_sql(sql)
        .map_err(syntax_error)?
        .into_iter()
        .collect())
}

/// Splits `sql` into statements, returning each statement's text.
pub fn split_statements(sql: &str) -> Result<Vec<String>> {
    Ok(parse_statements(sql)?
        .iter()
        .map(|s| s.to_string())
        .collect())
}

/// Runs every statement of `sql` in order and returns their results, collected.
pub async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<Vec<StatementResult>> {
    let statements = DFParser::parse_sql(sql)?;
    let mut results = Vec::with_capacity(statements.len());
    for statement in statements {
        let plan = crate::session::plan_statement(ctx, statement).await?;
        let frame = ctx.execute_logical_plan(plan).await?;
        let schema = frame.schema().inner().clone();
        let batches = frame.collect().await?;
        results.push(StatementResult { schema, batches });
    }
    Ok(results)
}

/// How results are printed.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrintOptions {
    pub format: Format,
    /// At most this many rows of each query, pushed into the plan as a `LIMIT` (`None`: all).
    pub max_rows: Option<usize>,
    pub style: TableStyle,
    /// Rows a table shows at most (the others are counted, not kept).
    pub show_rows: Option<usize>,
}

impl PrintOptions {
    /// The options of a format, with the terminal style and its row cap when `terminal`, unless
    /// `max_rows` is given (then every row fetched is shown).
    pub fn new(format: Format, max_rows: Option<usize>, terminal: bool) -> Self {
        let style = if terminal && format == Format::Table {
            TableStyle::Terminal
        } else {
            TableStyle::Plain
        };
        let show_rows = match (style, max_rows) {
            (TableStyle::Terminal, None) => Some(crate::cli::output::TERMINAL_MAX_ROWS),
            _ => None,
        };
        Self {
            format,
            max_rows,
            style,
            show_rows,
        }
    }
}

/// What running one statement did.
#[derive(Debug, Clone, Default)]
pub struct StatementReport {
    /// Rows of the result.
    pub rows: usize,
    /// Rows written (a table shows at most its cap).
    pub shown: usize,
    /// Record batches the result stream delivered.
    pub batches: usize,
    /// Rows the plan's leaves (the scans) produced.
    pub scanned_rows: usize,
    pub seconds: f64,
}

/// Whether a `LIMIT` may be put over `plan`: queries, not statements whose output is a report
/// (`EXPLAIN`) or a count of rows written (DML, `COPY`, DDL).
fn is_query(plan: &LogicalPlan) -> bool {
    !matches!(
        plan,
        LogicalPlan::Explain(_)
            | LogicalPlan::Analyze(_)
            | LogicalPlan::Dml(_)
            | LogicalPlan::Copy(_)
            | LogicalPlan::Ddl(_)
            | LogicalPlan::Statement(_)
            | LogicalPlan::DescribeTable(_)
    )
}

/// Output rows of the leaves of `plan` (the scans), from its metrics once it has run.
fn scanned_rows(plan: &Arc<dyn ExecutionPlan>) -> usize {
    let children = plan.children();
    if children.is_empty() {
        return plan
            .metrics()
            .and_then(|m| m.output_rows())
            .unwrap_or_default();
    }
    children.into_iter().map(scanned_rows).sum()
}

/// Runs one statement and streams its result to `out`.
pub async fn run_statement(
    ctx: &SessionContext,
    statement: Statement,
    out: &mut dyn Write,
    options: &PrintOptions,
) -> Result<StatementReport> {
    let started = Instant::now();
    let plan = crate::session::plan_statement(ctx, statement).await?;
    let limit = options.max_rows.filter(|_| is_query(&plan));
    let mut frame = ctx.execute_logical_plan(plan).await?;
    if let Some(n) = limit {
        frame = frame.limit(0, Some(n))?;
    }
    let schema = frame.schema().inner().clone();
    let task = Arc::new(frame.task_ctx());
    let physical = frame.create_physical_plan().await?;
    let mut stream = execute_stream(physical.clone(), task)?;
    let mut writer = ResultWriter::new(options.format, options.style, options.show_rows, schema);
    let mut batches = 0;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        batches += 1;
        writer.write(out, &batch)?;
    }
    drop(stream);
    let rows = writer.rows();
    let shown = writer.finish(out)?;
    Ok(StatementReport {
        rows,
        shown,
        batches,
        scanned_rows: scanned_rows(&physical),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Runs the statements of `sql` in order, writing each result to `out` as it is computed (and
/// flushed when it is complete), and calling `done` after each. Stops at the first error, with
/// the output of the statements before it written.
pub async fn run_and_print(
    ctx: &SessionContext,
    sql: &str,
    out: &mut dyn Write,
    options: &PrintOptions,
    mut done: impl FnMut(&StatementReport),
) -> Result<Vec<StatementReport>> {
    let mut reports = Vec::new();
    for statement in parse_statements(sql)? {
        let result = run_statement(ctx, statement, out, options).await;
        out.flush()?;
        let report = result?;
        done(&report);
        reports.push(report);
    }
    Ok(reports)
}

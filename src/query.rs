//! Running SQL text (one or more `;`-separated statements) against a session.

use std::io::Write;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::DFParser;

use crate::output::{Format, limit_rows, write_batches};

/// The result of one statement.
pub struct StatementResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl StatementResult {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// Splits `sql` into statements with DataFusion's own parser (so `;` inside strings and
/// comments is handled), returning each statement's text.
pub fn split_statements(sql: &str) -> Result<Vec<String>> {
    let statements = DFParser::parse_sql(sql)?;
    Ok(statements.iter().map(|s| s.to_string()).collect())
}

/// Runs every statement of `sql` in order and returns their results.
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

/// Runs `sql` and writes each statement's result to `out`.
pub async fn run_and_print(
    ctx: &SessionContext,
    sql: &str,
    out: &mut dyn Write,
    format: Format,
    max_rows: Option<usize>,
) -> Result<Vec<usize>> {
    let mut counts = Vec::new();
    for result in run_sql(ctx, sql).await? {
        counts.push(result.num_rows());
        let batches = limit_rows(result.batches, max_rows);
        write_batches(out, format, &result.schema, &batches)?;
    }
    Ok(counts)
}

//! What may run, checked three times before a statement runs:
//! 1. its syntax: only queries (`SELECT`, `WITH`, `VALUES`, `EXPLAIN` of one), `SHOW`, `SET`,
//!    `BEGIN`/`COMMIT`/`ROLLBACK` and `DISCARD ALL`; a relation that names a file (`FROM
//!    'x.parquet'`) or a file-reading table function (`read_parquet`, `read_csv`, ...) is refused
//!    before anything is planned, so not even a file's existence leaks;
//! 2. the store policy ([`crate::session::plan_statement`]), as in `attendance sql`;
//! 3. its plan: no DML, DDL, `COPY`, and every table scanned is a store table, a catalog table
//!    (`pg_catalog`, `information_schema`) or a generator (`generate_series`, `range`).
//!
//! Refusals are SQLSTATE 25006 (read-only) or 42501 (files). The errors of statements (their
//! SQLSTATEs) are made here too.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::sqlparser::ast::{self, Statement};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};

use crate::text::printable;

pub fn error(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        code.to_owned(),
        message.into(),
    )))
}

fn read_only(what: &str) -> PgWireError {
    error(
        "25006",
        format!(
            "cannot execute {what}: this server is read-only (data enters the store only through `attendance ingest`)"
        ),
    )
}

fn no_files(what: &str) -> PgWireError {
    error(
        "42501",
        format!("permission denied: {what}: the server reads only the store's tables"),
    )
}

/// The SQLSTATE of a DataFusion error.
pub fn df_error(e: DataFusionError) -> PgWireError {
    let root = e.find_root();
    let code = match root {
        DataFusionError::Plan(m) if m.contains("is refused") => "25006",
        DataFusionError::ResourcesExhausted(_) => "53200",
        DataFusionError::SQL(..) => "42601",
        DataFusionError::Plan(_) | DataFusionError::SchemaError(..) => "42P10",
        DataFusionError::NotImplemented(_) => "0A000",
        _ => "XX000",
    };
    let code = if matches!(root, DataFusionError::Plan(m) if m.contains("not found")) {
        "42P01"
    } else {
        code
    };
    error(code, printable(&root.to_string()))
}

/// The first words of a statement, for messages ("INSERT", "CREATE TABLE", ...).
fn kind(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(3).collect();
    let n = match words.first().map(|w| w.to_ascii_uppercase()) {
        Some(w) if matches!(w.as_str(), "CREATE" | "DROP" | "ALTER") => {
            if words.get(1).is_some_and(|w| {
                matches!(
                    w.to_ascii_uppercase().as_str(),
                    "EXTERNAL" | "OR" | "TEMPORARY" | "TEMP" | "UNIQUE"
                )
            }) {
                3
            } else {
                2
            }
        }
        _ => 1,
    };
    words[..n.min(words.len())].join(" ").to_ascii_uppercase()
}

/// File-reading table functions (DataFusion's, this project's and other engines' names).
fn is_file_function(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("read_")
        || name.contains("parquet")
        || name.contains("csv")
        || matches!(name.as_str(), "delta_scan" | "iceberg_scan" | "url")
}

/// Step 1: what kind of statement may run, and no relation naming a file.
pub fn check_syntax(statement: &Statement) -> PgWireResult<()> {
    match statement {
        Statement::Query(_) => {}
        Statement::Explain { statement, .. } => return check_syntax(statement),
        Statement::ExplainTable { .. }
        | Statement::ShowVariable { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowFunctions { .. }
        | Statement::ShowCatalogs { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowVariables { .. }
        | Statement::Set(_)
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Discard { .. } => return Ok(()),
        other => return Err(read_only(&kind(other))),
    }
    let mut refusal = None;
    let _ = ast::visit_relations(statement, |name: &ast::ObjectName| {
        let text = name.to_string();
        let last = name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(|i| (i.value.clone(), i.quote_style.is_some()));
        let refused = match &last {
            Some((value, quoted)) => {
                is_file_function(value)
                    || (*quoted
                        && (value.contains('/') || value.contains('.') || value.contains(':')))
            }
            None => true,
        };
        if refused {
            refusal = Some(no_files(&format!("reading {text}")));
            return std::ops::ControlFlow::Break(());
        }
        std::ops::ControlFlow::Continue(())
    });
    match refusal {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Step 3: the plan reads and never writes, and reads only tables of the session's catalogs.
pub fn check_plan(plan: &LogicalPlan, store_tables: &[String]) -> PgWireResult<()> {
    let mut refusal = None;
    let _ = plan.apply(|node| {
        let problem = match node {
            LogicalPlan::Dml(d) => Some(read_only(&format!("{} on {}", d.op, d.table_name))),
            LogicalPlan::Ddl(d) => Some(read_only(d.name())),
            LogicalPlan::Copy(_) => Some(read_only("COPY")),
            LogicalPlan::TableScan(scan) => {
                let name = &scan.table_name;
                let schema = name.schema().map(str::to_ascii_lowercase);
                // A table function's scan is named after it with `()`: `range()`.
                let table = name.table().to_ascii_lowercase();
                let table = table.trim_end_matches("()");
                let allowed =
                    matches!(schema.as_deref(), Some("pg_catalog" | "information_schema"))
                        || store_tables.iter().any(|t| t.eq_ignore_ascii_case(table))
                        || table.starts_with("pg_")
                        || matches!(table, "generate_series" | "range" | "unnest");
                (!allowed).then(|| no_files(&format!("reading {name}")))
            }
            _ => None,
        };
        if let Some(p) = problem {
            refusal = Some(p);
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    match refusal {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

pub fn cancelled() -> PgWireError {
    error("57014", "canceling statement due to user request")
}

pub fn timed_out() -> PgWireError {
    error("57014", "canceling statement due to statement timeout")
}

/// The SQLSTATE of an error, for the audit log.
pub fn sqlstate(e: &PgWireError) -> String {
    match e {
        PgWireError::UserError(info) => info.code.clone(),
        PgWireError::ApiError(_) => "XX000".to_owned(),
        _ => "08006".to_owned(),
    }
}

//! What SQL may do: read the store, never change it.
//!
//! Every write to the store goes through `attendance ingest`, which validates each row (DOMAIN.md
//! section 5), sorts it into place and records what it loaded. SQL typed into `sql`, `shell` or
//! the server is planned through [`plan_statement`], which refuses, with one clear line and
//! before anything runs:
//! - `INSERT`, `UPDATE`, `DELETE`, `TRUNCATE`, `MERGE` into any table but one this session
//!   created in memory (`CREATE TABLE t AS ...`);
//! - `DROP`, `ALTER`, or `CREATE OR REPLACE` of a store table or view;
//! - `COPY ... TO` and `CREATE EXTERNAL TABLE` whose location is inside the store directory.
//!
//! Scratch work stays possible: views, in-memory tables, and `COPY (query) TO 'file'` outside
//! the store. The check walks the whole plan, so `EXPLAIN ANALYZE INSERT ...` is refused too.
//!
//! The policy lives in the session's configuration (an extension set by
//! [`super::session`]), so every entry point that plans SQL through [`plan_statement`] applies
//! the same one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::{MemTable, source_as_provider};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{DdlStatement, LogicalPlan, WriteOp};
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast;

/// The store a session reads, which its SQL may not change.
#[derive(Debug, Clone)]
pub struct StorePolicy {
    /// The store directory, made absolute.
    root: PathBuf,
    /// The names of the store's tables and views in the session.
    tables: Vec<String>,
}

impl StorePolicy {
    pub fn new(root: &Path, tables: impl IntoIterator<Item = String>) -> Self {
        let root = root
            .canonicalize()
            .unwrap_or_else(|_| std::path::absolute(root).unwrap_or_else(|_| root.into()));
        Self {
            root,
            tables: tables.into_iter().collect(),
        }
    }

    fn is_store_table(&self, name: &str) -> bool {
        self.tables.iter().any(|t| t.eq_ignore_ascii_case(name))
    }

    /// Whether `location` (a path or a `file://` URL, relative to the working directory) is the
    /// store directory or inside it. A location that does not exist yet is judged by the
    /// nearest directory above it that does (symbolic links resolved).
    pub fn is_inside_store(&self, location: &str) -> bool {
        let path = match url::Url::parse(location) {
            Ok(url) if url.scheme() == "file" => match url.to_file_path() {
                Ok(p) => p,
                Err(()) => return false,
            },
            // Another scheme (s3://...) is not the local store.
            Ok(url) if url.scheme().len() > 1 => return false,
            _ => PathBuf::from(location),
        };
        let Ok(mut path) = std::path::absolute(&path) else {
            return false;
        };
        let mut rest = Vec::new();
        loop {
            if let Ok(real) = path.canonicalize() {
                let mut full = real;
                for part in rest.iter().rev() {
                    full.push(part);
                }
                return full.starts_with(&self.root);
            }
            match (path.file_name().map(|n| n.to_owned()), path.parent()) {
                (Some(name), Some(parent)) => {
                    rest.push(name);
                    path = parent.to_path_buf();
                }
                _ => return false,
            }
        }
    }

    fn refuse(what: &str) -> DataFusionError {
        DataFusionError::Plan(format!(
            "{what} is refused: SQL reads the store and never changes it (load or correct data with `attendance ingest`; scratch work can use views, in-memory tables and COPY TO a file outside the store)"
        ))
    }

    /// Refuses statements that would change the store, from their syntax (for the ones
    /// DataFusion cannot plan, so the user reads why rather than "not supported").
    pub fn check_statement(&self, statement: &Statement) -> Result<()> {
        let Statement::Statement(s) = statement else {
            return Ok(());
        };
        match s.as_ref() {
            ast::Statement::Merge { .. } => Err(Self::refuse("MERGE")),
            ast::Statement::AlterTable { .. } => Err(Self::refuse("ALTER TABLE")),
            ast::Statement::AlterView { .. } => Err(Self::refuse("ALTER VIEW")),
            ast::Statement::Truncate { .. } => Err(Self::refuse("TRUNCATE")),
            _ => Ok(()),
        }
    }

    /// Refuses plans that would change the store (anywhere in the plan).
    pub fn check_plan(&self, plan: &LogicalPlan) -> Result<()> {
        let mut refusal = None;
        plan.apply(|node| {
            if let Err(e) = self.check_node(node) {
                refusal = Some(e);
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        match refusal {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn check_node(&self, node: &LogicalPlan) -> Result<()> {
        match node {
            LogicalPlan::Dml(dml) => {
                let verb = match &dml.op {
                    WriteOp::Insert(_) | WriteOp::Ctas => "INSERT",
                    WriteOp::Delete => "DELETE",
                    WriteOp::Update => "UPDATE",
                    WriteOp::Truncate => "TRUNCATE",
                    WriteOp::MergeInto(_) => "MERGE",
                    _ => "a write",
                };
                let in_memory = source_as_provider(&dml.target)
                    .ok()
                    .is_some_and(|p| p.downcast_ref::<MemTable>().is_some());
                let name = dml.table_name.table();
                if self.is_store_table(name) || !in_memory {
                    return Err(Self::refuse(&format!("{verb} on table `{name}`")));
                }
                Ok(())
            }
            LogicalPlan::Copy(copy) => {
                if self.is_inside_store(&copy.output_url) {
                    return Err(Self::refuse(&format!(
                        "COPY TO '{}' (inside the store directory)",
                        copy.output_url
                    )));
                }
                Ok(())
            }
            LogicalPlan::Ddl(ddl) => match ddl {
                DdlStatement::CreateExternalTable(t)
                    if t.locations.iter().any(|l| self.is_inside_store(l)) =>
                {
                    Err(Self::refuse(&format!(
                        "CREATE EXTERNAL TABLE over '{}' (inside the store directory)",
                        t.locations.join(", ")
                    )))
                }
                DdlStatement::CreateExternalTable(t) if self.is_store_table(t.name.table()) => {
                    Err(Self::refuse(&format!("replacing store table `{}`", t.name)))
                }
                DdlStatement::CreateMemoryTable(t) if self.is_store_table(t.name.table()) => {
                    Err(Self::refuse(&format!("replacing store table `{}`", t.name)))
                }
                DdlStatement::CreateView(v) if self.is_store_table(v.name.table()) => {
                    Err(Self::refuse(&format!("replacing store table `{}`", v.name)))
                }
                DdlStatement::DropTable(t) if self.is_store_table(t.name.table()) => {
                    Err(Self::refuse(&format!("DROP TABLE `{}`", t.name)))
                }
                DdlStatement::DropView(v) if self.is_store_table(v.name.table()) => {
                    Err(Self::refuse(&format!("DROP VIEW `{}`", v.name)))
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

/// Plans one parsed statement in `ctx`, refusing it if it would change the store (the
/// session's [`StorePolicy`], when it has one).
pub async fn plan_statement(ctx: &SessionContext, statement: Statement) -> Result<LogicalPlan> {
    let state = ctx.state();
    let policy: Option<Arc<StorePolicy>> = state.config().get_extension();
    if let Some(policy) = &policy {
        policy.check_statement(&statement)?;
    }
    let plan = state.statement_to_plan(statement).await?;
    if let Some(policy) = &policy {
        policy.check_plan(&plan)?;
    }
    Ok(plan)
}

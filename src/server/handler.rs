//! Statements over the wire: read-only ([`super::checks`]), on the latest committed store,
//! cancellable and timed out ([`super::running`]), audited.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::QueryHook;
use datafusion_postgres::arrow_pg::datatypes::df::deserialize_parameters_with_server_types;
use datafusion_postgres::arrow_pg::datatypes::{arrow_schema_to_pg_fields, into_pg_type};
use datafusion_postgres::datafusion_pg_catalog::sql::PostgresCompatibilityParser;
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use futures::Sink;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;

use super::Shared;
use super::audit::StatementRecord;
use super::checks::{check_plan, check_syntax, df_error, error, sqlstate};
use super::running::{GuardedRows, Running, who};
use crate::text::printable;

/// What a prepared statement keeps: its text, and its syntax with the plan made at Parse (for
/// parameter and result types; it is planned again on the latest store at each Execute).
pub type PreparedStatement = (String, Option<(Statement, LogicalPlan)>);

/// The query handler of one connection.
pub struct Service {
    pub(super) shared: Arc<Shared>,
    parser: Arc<Parser>,
    hooks: Vec<Arc<dyn QueryHook>>,
}

impl Service {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        let hooks: Vec<Arc<dyn QueryHook>> =
            vec![Arc::new(SetShowHook), Arc::new(TransactionStatementHook)];
        Self {
            parser: Arc::new(Parser {
                shared: shared.clone(),
                sql_parser: PostgresCompatibilityParser::new(),
                hooks: hooks.clone(),
            }),
            shared,
            hooks,
        }
    }
}

impl Service {
    /// Plans (step 2 and 3) and starts `statement` on the latest store; the response streams.
    async fn run_query<C: ClientInfo + ?Sized>(
        &self,
        client: &C,
        statement: &Statement,
        params: Option<&datafusion::common::ParamValues>,
        format: &Format,
    ) -> PgWireResult<Response> {
        let mut running = Running::start(client, &self.shared, statement.to_string()).await;
        let shared = self.shared.clone();
        let plan = running
            .guard(async {
                let (ctx, plan) = checked_plan(&shared, statement).await?;
                let plan = match params {
                    Some(p) => plan.replace_params_with_values(p).map_err(df_error)?,
                    None => plan,
                };
                let df = ctx.execute_logical_plan(plan).await.map_err(df_error)?;
                let fields = Arc::new(arrow_schema_to_pg_fields(
                    df.schema().as_arrow(),
                    format,
                    None,
                )?);
                // Executed on the plan threads: operators that start their tasks when executed
                // (CoalescePartitionsExec, ...) start them there, never on the connections'.
                let batches = shared
                    .executor
                    .handle()
                    .spawn(df.execute_stream())
                    .await
                    .map_err(|e| error("XX000", format!("the plan stopped: {e}")))?
                    .map_err(df_error)?;
                PgWireResult::Ok((fields, batches))
            })
            .await;
        let (fields, batches) = match plan {
            Ok(p) => p,
            Err(e) => return Err(e),
        };
        let rows = GuardedRows::new(
            running,
            fields.clone(),
            batches,
            self.shared.executor.handle(),
        );
        Ok(Response::Query(QueryResponse::new(fields, rows)))
    }

    /// Statements the server answers itself, and the hooks (`SET`, `SHOW`, transactions).
    async fn answer_locally<C>(
        &self,
        client: &mut C,
        statement: &Statement,
    ) -> Option<PgWireResult<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Statement::Discard { .. } = statement {
            return Some(Ok(Response::Execution(Tag::new("DISCARD ALL"))));
        }
        let scratch = self.shared.scratch_context();
        for hook in &self.hooks {
            if let Some(result) = hook.handle_simple_query(statement, &scratch, client).await {
                return Some(result);
            }
        }
        None
    }
}

fn audit_refusal<C: ClientInfo + ?Sized>(shared: &Shared, client: &C, text: &str, e: &PgWireError) {
    let (user, addr) = who(client);
    shared.audit.statement(
        &StatementRecord {
            user,
            client: addr,
            statement: text.to_owned(),
            started: Instant::now(),
        },
        0,
        &sqlstate(e),
    );
}

#[async_trait]
impl SimpleQueryHandler for Service {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statements = match self.parser.sql_parser.parse(query) {
            Ok(s) => s,
            Err(e) => {
                let e = error("42601", printable(&e.to_string()));
                audit_refusal(&self.shared, client, query, &e);
                return Err(e);
            }
        };
        if statements.is_empty() {
            return Ok(vec![Response::EmptyQuery]);
        }
        let mut responses = Vec::with_capacity(statements.len());
        for statement in statements {
            if let Err(e) = check_syntax(&statement) {
                audit_refusal(&self.shared, client, &statement.to_string(), &e);
                return Err(e);
            }
            if let Some(result) = self.answer_locally(client, &statement).await {
                responses.push(result?);
                continue;
            }
            let response = self
                .run_query(&*client, &statement, None, &Format::UnifiedText)
                .await?;
            responses.push(response);
        }
        Ok(responses)
    }
}

/// `statement` planned on a session of the latest commit (through the store's read-only
/// policy) and checked to read only what the server serves (step 3 of [`super::checks`]).
async fn checked_plan(
    shared: &Shared,
    statement: &Statement,
) -> PgWireResult<(datafusion::prelude::SessionContext, LogicalPlan)> {
    let ctx = shared
        .fresh_context()
        .await
        .map_err(|e| error("58030", printable(&format!("{e:#}"))))?;
    let plan =
        crate::session::plan_statement(&ctx, DfStatement::Statement(Box::new(statement.clone())))
            .await
            .map_err(df_error)?;
    check_plan(&plan, &shared.store_tables)?;
    Ok((ctx, plan))
}

/// The extended protocol's parser: checks and plans at Parse, for the types it describes.
pub struct Parser {
    shared: Arc<Shared>,
    sql_parser: PostgresCompatibilityParser,
    hooks: Vec<Arc<dyn QueryHook>>,
}

/// `$1`, `$2`, ... in order, with their inferred types.
fn ordered_parameters(plan: &LogicalPlan) -> PgWireResult<Vec<Option<DataType>>> {
    let types: HashMap<String, Option<DataType>> = plan.get_parameter_types().map_err(df_error)?;
    let mut entries: Vec<(usize, Option<DataType>)> = types
        .into_iter()
        .filter_map(|(k, v)| {
            k.trim_start_matches('$')
                .parse::<usize>()
                .ok()
                .map(|n| (n, v))
        })
        .collect();
    entries.sort_by_key(|(n, _)| *n);
    let count = entries.last().map(|(n, _)| *n).unwrap_or(0);
    let mut out = vec![None; count];
    for (n, t) in entries {
        if n >= 1 {
            out[n - 1] = t;
        }
    }
    Ok(out)
}

fn parameter_wire_types(plan: &LogicalPlan) -> PgWireResult<Vec<Type>> {
    ordered_parameters(plan)?
        .iter()
        .map(|t| match t {
            Some(t) => into_pg_type(t),
            None => Ok(Type::UNKNOWN),
        })
        .collect()
}

#[async_trait]
impl QueryParser for Parser {
    type Statement = PreparedStatement;

    async fn parse_sql<C>(
        &self,
        client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let mut statements = self
            .sql_parser
            .parse(sql)
            .map_err(|e| error("42601", printable(&e.to_string())))?;
        if statements.is_empty() {
            return Ok(None);
        }
        let statement = statements.remove(0);
        let text = statement.to_string();
        if let Err(e) = check_syntax(&statement) {
            audit_refusal(&self.shared, client, &text, &e);
            return Err(e);
        }
        if let Statement::Discard { .. } = statement {
            let plan = LogicalPlanBuilder::empty(false).build().map_err(df_error)?;
            return Ok(Some((text, Some((statement, plan)))));
        }
        let scratch = self.shared.scratch_context();
        for hook in &self.hooks {
            if let Some(plan) = hook
                .handle_extended_parse_query(&statement, &scratch, client)
                .await
            {
                return Ok(Some((text, Some((statement, plan?)))));
            }
        }
        let (_, plan) = match checked_plan(&self.shared, &statement).await {
            Ok(planned) => planned,
            Err(e) => {
                audit_refusal(&self.shared, client, &text, &e);
                return Err(e);
            }
        };
        Ok(Some((text, Some((statement, plan)))))
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        match stmt {
            (_, Some((_, plan))) => parameter_wire_types(plan),
            _ => Ok(vec![]),
        }
    }

    fn get_result_schema(
        &self,
        stmt: &Self::Statement,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        match stmt {
            (_, Some((_, plan))) if !matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Dml(_)) => {
                arrow_schema_to_pg_fields(
                    plan.schema().as_arrow(),
                    column_format.unwrap_or(&Format::UnifiedText),
                    None,
                )
            }
            _ => Ok(vec![]),
        }
    }
}

#[async_trait]
impl ExtendedQueryHandler for Service {
    type Statement = PreparedStatement;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.parser.clone()
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let (_, Some((statement, plan))) = &portal.statement.statement else {
            return Ok(Response::EmptyQuery);
        };
        let inferred = ordered_parameters(plan)?;
        let inferred_refs: Vec<Option<&DataType>> = inferred.iter().map(|t| t.as_ref()).collect();
        let wire = parameter_wire_types(plan)?;
        let wire_refs: Vec<Option<&Type>> = wire.iter().map(Some).collect();
        let params = deserialize_parameters_with_server_types(portal, &inferred_refs, &wire_refs)?;
        if let Statement::Discard { .. } = statement {
            return Ok(Response::Execution(Tag::new("DISCARD ALL")));
        }
        let scratch = self.shared.scratch_context();
        for hook in &self.hooks {
            if let Some(result) = hook
                .handle_extended_query(statement, plan, &params, &scratch, client)
                .await
            {
                return result;
            }
        }
        // Planned again on the latest store: a prepared statement reused after an ingest sees it.
        self.run_query(
            &*client,
            statement,
            Some(&params),
            &portal.result_column_format,
        )
        .await
    }
}

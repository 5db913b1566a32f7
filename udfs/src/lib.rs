//! DataFusion functions for school attendance registers in England.
//!
//! - [`codes`]: what each register code means (the single source of truth, also for ingest).
//! - [`calendar`]: academic years, terms, Easter and the spring bank holiday.
//! - Scalar functions, one per file: [`marks`] (a code's category, reason and predicates),
//!   [`dates`] (academic year, `time_period`, term), [`pupils`] (key stage), [`measures`]
//!   (persistent and severe absence, attendance and absence bands).
//! - Aggregate functions: [`aggregates`] (`session_counts`, `absence_rate`).
//! - [`filter_rewrite`]: an analyzer rule that turns code predicates in `WHERE` into `IN` lists.
//!
//! Register them all with [`register_all`], or hand [`all_scalar_udfs`] and
//! [`all_aggregate_udfs`] to a `SessionStateBuilder`.

pub mod aggregates;
pub mod calendar;
pub mod codes;
pub mod dates;
pub mod filter_rewrite;
mod kernel;
pub mod marks;
pub mod measures;
pub mod pupils;

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::SessionContext;

/// Every scalar function of this crate.
pub fn all_scalar_udfs() -> Vec<Arc<ScalarUDF>> {
    [
        marks::scalar_udfs(),
        dates::scalar_udfs(),
        pupils::scalar_udfs(),
        measures::scalar_udfs(),
    ]
    .concat()
}

/// Every aggregate function of this crate.
pub fn all_aggregate_udfs() -> Vec<Arc<AggregateUDF>> {
    aggregates::aggregate_udfs()
}

/// Registers every function of this crate in `ctx`, and the analyzer rule that turns code
/// predicates in `WHERE` clauses into `IN` lists ([`filter_rewrite`]).
pub fn register_all(ctx: &SessionContext) {
    for rule in filter_rewrite::analyzer_rules() {
        ctx.add_analyzer_rule(rule);
    }
    for udf in all_scalar_udfs() {
        ctx.register_udf(udf.as_ref().clone());
    }
    for udaf in all_aggregate_udfs() {
        ctx.register_udaf(udaf.as_ref().clone());
    }
}

/// Registers every function of this crate in `registry` (a `SessionState`, for example). Add
/// [`filter_rewrite::analyzer_rules`] to the state as well, as [`register_all`] does.
pub fn register_all_in(registry: &mut dyn FunctionRegistry) -> Result<()> {
    for udf in all_scalar_udfs() {
        registry.register_udf(udf)?;
    }
    for udaf in all_aggregate_udfs() {
        registry.register_udaf(udaf)?;
    }
    Ok(())
}

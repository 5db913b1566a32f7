//! An analyzer rule that turns code functions inside a `WHERE` clause into `IN` lists over the
//! code column, which are cheaper to evaluate and which Parquet statistics, bloom filters and
//! dictionary pages can prune with.
//!
//! In a filter, a row is kept only when its predicate is `true`: `NULL` and `false` both drop it.
//! That makes the rewrite exact where it is applied, although the functions and the `IN` lists
//! differ on `-`, unknown codes and NULL in a projection (`is_absence('-')` is NULL,
//! `'-' IN ('N', ...)` is false). The rule therefore only rewrites terms in *positive* position
//! of a filter's predicate: the predicate itself and, recursively, the operands of its `AND`
//! and `OR`. Under `NOT`, in `CASE`, in comparisons other than the ones below, or anywhere
//! outside a filter, the functions are left alone.
//!
//! Rewritten terms (with `code` any expression of a string or dictionary type):
//! - `is_absence(code)` and every other boolean code predicate → `code IN (<codes for which it
//!   is true>)`;
//! - `attendance_category(code) = 'label'` and `absence_reason(code) = 'label'` (either side)
//!   → `code IN (<codes with that label>)`, or `false` for a label no code has.
//!
//! [`crate::register_all`] adds the rule to a context; [`analyzer_rules`] hands it to a
//! `SessionStateBuilder`.

use std::any::Any;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, LogicalPlan, Operator, lit};
use datafusion::optimizer::AnalyzerRule;

use crate::codes::CODES;
use crate::kernel::SlotOutput;
use crate::marks::{
    AbsenceReason, AttendanceCategory, CodeFunction, CodeFunctionSpec, IsAbsence, IsAttendance,
    IsAuthorisedAbsence, IsPossibleSession, IsUnauthorisedAbsence,
};

/// The analyzer rule; see the [module documentation](self).
#[derive(Debug, Default)]
pub struct CodeFilterRewrite;

impl CodeFilterRewrite {
    pub fn new() -> Self {
        Self
    }
}

/// The analyzer rules of this crate.
pub fn analyzer_rules() -> Vec<Arc<dyn AnalyzerRule + Send + Sync>> {
    vec![Arc::new(CodeFilterRewrite)]
}

impl AnalyzerRule for CodeFilterRewrite {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| match plan {
            LogicalPlan::Filter(mut filter) => {
                let schema = Arc::clone(filter.input.schema());
                let predicate = rewrite_positive(filter.predicate, &schema)?;
                filter.predicate = predicate.data;
                Ok(Transformed::new_transformed(
                    LogicalPlan::Filter(filter),
                    predicate.transformed,
                ))
            }
            plan => Ok(Transformed::no(plan)),
        })
        .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "attendance_code_filter_rewrite"
    }
}

/// Rewrites `expr`, a term in positive position of a filter predicate over `schema`.
fn rewrite_positive(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right })
            if matches!(op, Operator::And | Operator::Or) =>
        {
            let left = rewrite_positive(*left, schema)?;
            let right = rewrite_positive(*right, schema)?;
            let transformed = left.transformed || right.transformed;
            let expr = Expr::BinaryExpr(BinaryExpr::new(
                Box::new(left.data),
                op,
                Box::new(right.data),
            ));
            Ok(Transformed::new_transformed(expr, transformed))
        }
        Expr::ScalarFunction(call) => match code_function(&call) {
            Some((function, code)) if matches!(function.output(), SlotOutput::Boolean) => {
                let in_list = in_list(code, function.codes_in_slot(1), schema)?;
                Ok(Transformed::yes(in_list))
            }
            _ => Ok(Transformed::no(Expr::ScalarFunction(call))),
        },
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) => {
            let labelled = match (left.as_ref(), right.as_ref()) {
                (Expr::ScalarFunction(call), other) | (other, Expr::ScalarFunction(call)) => {
                    code_function(call).zip(string_literal(other))
                }
                _ => None,
            };
            let rewritten = match labelled {
                Some(((function, code), label)) => match function.output() {
                    SlotOutput::Labels(labels) => {
                        // A label may name several slots (`holiday` is an authorised and an
                        // unauthorised reason).
                        let codes = (0..u8::MAX)
                            .filter(|&slot| labels.label(slot) == Some(&label))
                            .flat_map(|slot| function.codes_in_slot(slot))
                            .collect();
                        Some(in_list(code, codes, schema)?)
                    }
                    SlotOutput::Boolean => None,
                },
                None => None,
            };
            Ok(match rewritten {
                Some(in_list) => Transformed::yes(in_list),
                None => {
                    Transformed::no(Expr::BinaryExpr(BinaryExpr::new(left, Operator::Eq, right)))
                }
            })
        }
        other => Ok(Transformed::no(other)),
    }
}

/// `code IN (codes)`, the literals of `code`'s own type; `false` when `codes` is empty.
fn in_list(code: &Expr, codes: Vec<&'static str>, schema: &DFSchema) -> Result<Expr> {
    if codes.is_empty() {
        return Ok(lit(false));
    }
    let code_type = code.get_type(schema)?;
    let literals = codes
        .into_iter()
        .map(|code| Ok(lit(ScalarValue::from(code).cast_to(&code_type)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(code.clone().in_list(literals, false))
}

/// The string value of a literal, possibly wrapped in the casts type coercion adds.
fn string_literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Literal(value, _) => match value {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)) => Some(s.clone()),
            ScalarValue::Dictionary(_, inner) => string_literal(&lit(inner.as_ref().clone())),
            _ => None,
        },
        Expr::Cast(cast) if is_string(cast.field.data_type()) => string_literal(&cast.expr),
        Expr::TryCast(cast) if is_string(cast.field.data_type()) => string_literal(&cast.expr),
        _ => None,
    }
}

fn is_string(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Dictionary(_, _)
    )
}

/// What the rule needs of a code function, whatever its spec.
trait CodeSlots {
    fn output(&self) -> &'static SlotOutput;
    fn codes_in_slot(&self, slot: u8) -> Vec<&'static str>;
}

impl<S: CodeFunctionSpec> CodeSlots for CodeFunction<S> {
    fn output(&self) -> &'static SlotOutput {
        S::output()
    }

    fn codes_in_slot(&self, slot: u8) -> Vec<&'static str> {
        CODES
            .iter()
            .zip(self.slots())
            .filter(|(_, s)| *s == slot)
            .map(|(info, _)| info.code)
            .collect()
    }
}

/// The code function called by `call` (one of this crate's, not merely one of the same name)
/// and its argument.
fn code_function(call: &ScalarFunction) -> Option<(&dyn CodeSlots, &Expr)> {
    fn as_code_function<S: CodeFunctionSpec>(udf: &dyn Any) -> Option<&dyn CodeSlots> {
        udf.downcast_ref::<CodeFunction<S>>()
            .map(|f| f as &dyn CodeSlots)
    }
    let [code] = call.args.as_slice() else {
        return None;
    };
    let udf = call.func.inner().as_ref() as &dyn Any;
    let function = as_code_function::<IsAbsence>(udf)
        .or_else(|| as_code_function::<IsAttendance>(udf))
        .or_else(|| as_code_function::<IsPossibleSession>(udf))
        .or_else(|| as_code_function::<IsAuthorisedAbsence>(udf))
        .or_else(|| as_code_function::<IsUnauthorisedAbsence>(udf))
        .or_else(|| as_code_function::<AttendanceCategory>(udf))
        .or_else(|| as_code_function::<AbsenceReason>(udf))?;
    Some((function, code))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::SessionContext;

    async fn session(with_rule: bool) -> SessionContext {
        let ctx = SessionContext::new();
        if with_rule {
            crate::register_all(&ctx);
        } else {
            crate::all_scalar_udfs()
                .into_iter()
                .for_each(|udf| ctx.register_udf(udf.as_ref().clone()));
        }
        crate::marks::test_util::create_code_tables(&ctx).await;
        ctx
    }

    async fn results(ctx: &SessionContext, sql: &str) -> String {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        pretty_format_batches(&batches).unwrap().to_string()
    }

    async fn plan(ctx: &SessionContext, sql: &str) -> String {
        let plan = ctx.sql(sql).await.unwrap().into_optimized_plan().unwrap();
        plan.display_indent().to_string()
    }

    const FILTERS: [&str; 12] = [
        "is_absence(code)",
        "NOT is_absence(code)",
        "is_attendance(code) OR is_unauthorised_absence(code)",
        "is_possible_session(code) AND NOT is_authorised_absence(code)",
        "attendance_category(code) = 'unauthorised'",
        "'not_possible' = attendance_category(code)",
        "attendance_category(code) = 'no such label'",
        "attendance_category(code) <> 'present'",
        "absence_reason(code) = 'holiday' AND is_unauthorised_absence(code)",
        "CASE WHEN is_absence(code) THEN true ELSE false END",
        "is_absence(code) IS NOT TRUE",
        "coalesce(is_absence(code), true)",
    ];

    /// Every filter keeps the same rows with the rule as without it, for every code, `-`, an
    /// unknown code and NULL, as strings and as a dictionary.
    #[tokio::test]
    async fn filters_keep_the_same_rows() {
        let (plain, rewritten) = (session(false).await, session(true).await);
        for table in ["marks", "dict_marks"] {
            for filter in FILTERS {
                let sql = format!("SELECT code FROM {table} WHERE {filter} ORDER BY code");
                assert_eq!(
                    results(&plain, &sql).await,
                    results(&rewritten, &sql).await,
                    "{sql}"
                );
            }
        }
    }

    /// DOMAIN.md section 1: the unauthorised codes are G, N, O and U.
    #[tokio::test]
    async fn unauthorised_filter_is_an_in_list() {
        let ctx = session(true).await;
        let sql = "SELECT code FROM dict_marks WHERE attendance_category(code) = 'unauthorised' ORDER BY code";
        let got = results(&ctx, sql).await;
        let codes: Vec<&str> = got
            .lines()
            .skip(3)
            .filter(|l| l.starts_with('|'))
            .map(|l| l.trim_matches(|c| c == '|' || c == ' '))
            .collect();
        assert_eq!(codes, ["G", "N", "O", "U"]);
        let plan = plan(&ctx, sql).await;
        assert!(!plan.contains("attendance_category"), "{plan}");
        assert!(plan.contains("IN ("), "{plan}");
    }

    #[tokio::test]
    async fn only_positive_filter_terms_are_rewritten() {
        let ctx = session(true).await;
        let rewritten = plan(
            &ctx,
            "SELECT code FROM marks WHERE is_absence(code) OR code = 'x'",
        )
        .await;
        assert!(!rewritten.contains("is_absence"), "{rewritten}");
        for sql in [
            "SELECT code FROM marks WHERE NOT is_absence(code)",
            "SELECT code FROM marks WHERE attendance_category(code) <> 'present'",
            "SELECT is_absence(code) FROM marks",
        ] {
            let kept = plan(&ctx, sql).await;
            assert!(
                kept.contains("is_absence") || kept.contains("attendance_category"),
                "{sql}: {kept}"
            );
        }
    }
}

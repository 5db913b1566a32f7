//! Filters on the partition columns of the store's tables, built as DataFusion expressions
//! (never as SQL text): in a query they prune partitions, files and row groups; as a Delta
//! write's `replace_where` they say which partitions the write replaces.

use std::collections::BTreeMap;

use datafusion::error::Result;
use datafusion::logical_expr::utils::disjunction;
use datafusion::prelude::{Expr, SessionContext, col, lit};

/// Rows of the academic years `years` (`2024-25`).
pub fn academic_years(years: &[String]) -> Expr {
    col("academic_year").in_list(years.iter().map(lit).collect(), false)
}

/// Rows of the `registers` partitions `touched` (academic year, region, LA): for each year,
/// `academic_year = year AND la_code IN (its LAs)` (an LA is in one region). No partition:
/// no row.
pub fn register_partitions<'a>(
    touched: impl IntoIterator<Item = &'a (String, String, String)>,
) -> Expr {
    let mut by_year: BTreeMap<&str, Vec<Expr>> = BTreeMap::new();
    for (year, _, la) in touched {
        by_year.entry(year).or_default().push(lit(la.as_str()));
    }
    disjunction(by_year.into_iter().map(|(year, las)| {
        col("academic_year")
            .eq(lit(year))
            .and(col("la_code").in_list(las, false))
    }))
    .unwrap_or(lit(false))
}

/// `filter` as the SQL predicate a Delta write takes (`replace_where`), written by
/// DataFusion's unparser.
pub fn predicate_sql(filter: &Expr) -> Result<String> {
    Ok(datafusion::sql::unparser::expr_to_sql(filter)?.to_string())
}

/// Registers `view` in `ctx` as the rows of `table` that pass `filter` (replacing any table of
/// that name). A query planned before still reads the rows it was planned with.
pub async fn register_filtered(
    ctx: &SessionContext,
    view: &str,
    table: &str,
    filter: Expr,
) -> Result<()> {
    let rows = ctx.table(table).await?.filter(filter)?;
    ctx.deregister_table(view)?;
    ctx.register_table(view, rows.into_view())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two LAs in 2024-25 and one in 2023-24: one term per year, the years in order, and the
    /// predicate as SQL that delta-rs can parse back.
    #[test]
    fn partitions_by_year() {
        let touched = [
            (
                "2024-25".to_string(),
                "E12000007".to_string(),
                "202".to_string(),
            ),
            (
                "2024-25".to_string(),
                "E12000007".to_string(),
                "203".to_string(),
            ),
            (
                "2023-24".to_string(),
                "E12000001".to_string(),
                "805".to_string(),
            ),
        ];
        let sql = predicate_sql(&register_partitions(&touched)).unwrap();
        assert_eq!(
            sql,
            "(((academic_year = '2023-24') AND la_code IN ('805')) OR \
             ((academic_year = '2024-25') AND la_code IN ('202', '203')))"
        );
    }

    #[test]
    fn a_quote_in_a_year_is_no_sql() {
        let sql = predicate_sql(&academic_years(&["20'24".to_string()])).unwrap();
        assert_eq!(sql, "academic_year IN ('20''24')");
    }
}

//! `absence_rate(code)`: the overall absence rate of a group of marks.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::Documentation;

use super::{AGGREGATE_DOC_SECTION, TallySpec};
use crate::codes::CodeInfo;

#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct AbsenceRate;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        AGGREGATE_DOC_SECTION,
        "The overall absence rate of a group's register marks: overall absence (authorised + \
         unauthorised) / possible sessions × 100, as Float64 (computed as 100 × overall / \
         possible, one rounding). NULL when the group has no possible session. Marks of the \
         `not_possible` category, `-`, unknown codes and NULLs count in nothing.",
        "absence_rate(code)",
    )
    .with_sql_example(
        "```sql\n> SELECT absence_rate(code) FROM (VALUES ('/'), ('/'), ('/'), ('I'), ('Z')) AS marks(code);\n\
         +--------------------------+\n\
         | absence_rate(marks.code) |\n\
         +--------------------------+\n\
         | 25.0                     |\n\
         +--------------------------+\n```",
    )
    .with_argument("code", "The register code: a string (Utf8, LargeUtf8, Utf8View or a dictionary of them).")
    .with_related_udf("session_counts")
    .build()
});

impl TallySpec for AbsenceRate {
    const NAME: &'static str = "absence_rate";
    const COUNTERS: &'static [&'static str] = &["attendance", "overall"];

    fn counter(info: &CodeInfo) -> Option<u8> {
        if info.category.is_attendance() {
            Some(0)
        } else if info.category.is_absence() {
            Some(1)
        } else {
            None
        }
    }

    fn return_type() -> DataType {
        DataType::Float64
    }

    fn evaluate(counts: &[i64]) -> Result<ArrayRef> {
        let rates: Float64Array = counts
            .chunks_exact(Self::COUNTERS.len())
            .map(|g| {
                let (overall, possible) = (g[1], g[0] + g[1]);
                (possible > 0).then(|| 100.0 * overall as f64 / possible as f64)
            })
            .collect();
        Ok(Arc::new(rates))
    }

    fn documentation() -> &'static Documentation {
        &DOCUMENTATION
    }
}

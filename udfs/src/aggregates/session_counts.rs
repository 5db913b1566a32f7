//! `session_counts(code)`: every session count of the DfE measures of a group of marks.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Int64Array, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::Documentation;

use super::{AGGREGATE_DOC_SECTION, TallySpec};
use crate::codes::{Category, CodeInfo};

#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct SessionCounts;

/// The fields of the result, in order (DOMAIN.md section 2): possible = attendance + overall,
/// attendance = present + approved_activity, overall = authorised + unauthorised.
pub const SESSION_COUNT_FIELDS: [&str; 7] = [
    "possible",
    "attendance",
    "present",
    "approved_activity",
    "authorised",
    "unauthorised",
    "overall",
];

fn fields() -> Fields {
    SESSION_COUNT_FIELDS
        .iter()
        .map(|name| Field::new(*name, DataType::Int64, false))
        .collect()
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        AGGREGATE_DOC_SECTION,
        "Counts a group's register marks for the DfE measures, as a struct of Int64 fields: \
         `possible` (present + approved_activity + authorised + unauthorised), `attendance` \
         (present + approved_activity), `present`, `approved_activity`, `authorised`, \
         `unauthorised`, `overall` (authorised + unauthorised). Marks of the `not_possible` \
         category, `-`, unknown codes and NULLs count in nothing; a group without countable marks \
         gets zeros.",
        "session_counts(code)",
    )
    .with_sql_example(
        "```sql\n> SELECT session_counts(code)['overall'] AS overall, session_counts(code)['possible'] AS possible\n  \
         FROM (VALUES ('/'), ('I'), ('N'), ('D'), ('-')) AS marks(code);\n\
         +---------+----------+\n\
         | overall | possible |\n\
         +---------+----------+\n\
         | 2       | 3        |\n\
         +---------+----------+\n```",
    )
    .with_argument("code", "The register code: a string (Utf8, LargeUtf8, Utf8View or a dictionary of them).")
    .with_related_udf("absence_rate")
    .with_related_udf("is_persistent_absence")
    .build()
});

impl TallySpec for SessionCounts {
    const NAME: &'static str = "session_counts";
    const COUNTERS: &'static [&'static str] =
        &["present", "approved_activity", "authorised", "unauthorised"];

    fn counter(info: &CodeInfo) -> Option<u8> {
        match info.category {
            Category::Present => Some(0),
            Category::ApprovedActivity => Some(1),
            Category::Authorised => Some(2),
            Category::Unauthorised => Some(3),
            Category::NotPossible => None,
        }
    }

    fn return_type() -> DataType {
        DataType::Struct(fields())
    }

    fn evaluate(counts: &[i64]) -> Result<ArrayRef> {
        let groups: Vec<&[i64]> = counts.chunks_exact(Self::COUNTERS.len()).collect();
        let column = |f: fn(&[i64]) -> i64| -> ArrayRef {
            Arc::new(groups.iter().map(|g| f(g)).collect::<Int64Array>())
        };
        let columns = vec![
            column(|g| g.iter().sum()),
            column(|g| g[0] + g[1]),
            column(|g| g[0]),
            column(|g| g[1]),
            column(|g| g[2]),
            column(|g| g[3]),
            column(|g| g[2] + g[3]),
        ];
        Ok(Arc::new(StructArray::try_new(fields(), columns, None)?))
    }

    fn documentation() -> &'static Documentation {
        &DOCUMENTATION
    }
}

//! `reason_counts(code)`: the sessions of each absence reason in a group of marks.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Int64Array, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::Documentation;

use super::{AGGREGATE_DOC_SECTION, TallySpec};
use crate::codes::{CodeInfo, Reason};

#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct ReasonCounts;

fn fields() -> Fields {
    ReasonCounts::COUNTERS
        .iter()
        .map(|name| Field::new(*name, DataType::Int64, false))
        .collect()
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        AGGREGATE_DOC_SECTION,
        "Counts a group's absence marks by reason, as a struct of Int64 fields named after the EES \
         measures: `sess_auth_illness`, `sess_auth_appointments`, `sess_auth_religious`, \
         `sess_auth_study`, `sess_auth_traveller`, `sess_auth_holiday`, `sess_auth_excluded`, \
         `sess_auth_other`, `sess_auth_interview`, `sess_auth_reg_performance`, \
         `sess_auth_temp_reduced_timetable`, `sess_unauth_holiday`, `sess_unauth_late`, \
         `sess_unauth_other`, `sess_unauth_noyet`. Marks that are not absences, `-`, unknown \
         codes and NULLs count in nothing.",
        "reason_counts(code)",
    )
    .with_sql_example(
        "```sql\n> SELECT reason_counts(code)['sess_auth_illness'] AS illness\n  \
         FROM (VALUES ('I'), ('I'), ('M'), ('/')) AS marks(code);\n\
         +---------+\n\
         | illness |\n\
         +---------+\n\
         | 2       |\n\
         +---------+\n```",
    )
    .with_argument(
        "code",
        "The register code: a string (Utf8, LargeUtf8, Utf8View or a dictionary of them).",
    )
    .with_related_udf("absence_reason")
    .with_related_udf("session_counts")
    .build()
});

impl TallySpec for ReasonCounts {
    const NAME: &'static str = "reason_counts";
    const COUNTERS: &'static [&'static str] = &[
        "sess_auth_illness",
        "sess_auth_appointments",
        "sess_auth_religious",
        "sess_auth_study",
        "sess_auth_traveller",
        "sess_auth_holiday",
        "sess_auth_excluded",
        "sess_auth_other",
        "sess_auth_interview",
        "sess_auth_reg_performance",
        "sess_auth_temp_reduced_timetable",
        "sess_unauth_holiday",
        "sess_unauth_late",
        "sess_unauth_other",
        "sess_unauth_noyet",
    ];

    fn counter(info: &CodeInfo) -> Option<u8> {
        let reason = info.reason?;
        Reason::ALL
            .iter()
            .position(|r| *r == reason)
            .map(|i| i as u8)
    }

    fn return_type() -> DataType {
        DataType::Struct(fields())
    }

    fn evaluate(counts: &[i64]) -> Result<ArrayRef> {
        let n = Self::COUNTERS.len();
        let columns: Vec<ArrayRef> = (0..n)
            .map(|c| {
                Arc::new(counts.chunks_exact(n).map(|g| g[c]).collect::<Int64Array>()) as ArrayRef
            })
            .collect();
        Ok(Arc::new(StructArray::try_new(fields(), columns, None)?))
    }

    fn documentation() -> &'static Documentation {
        &DOCUMENTATION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_follow_the_reasons() {
        let names: Vec<&str> = Reason::ALL.iter().map(|r| r.measure()).collect();
        assert_eq!(names, ReasonCounts::COUNTERS);
    }
}

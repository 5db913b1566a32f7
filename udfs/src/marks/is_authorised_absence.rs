//! `is_authorised_absence(code)`: a predicate of a register code (DOMAIN.md sections 1 and 2).

use std::sync::LazyLock;

use datafusion::logical_expr::Documentation;

use super::{CodeFunctionSpec, DOC_SECTION, predicate_slot};
use crate::codes::{Category, CodeInfo};
use crate::kernel::{BOOLEAN, SlotOutput};

#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct IsAuthorisedAbsence;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "True when a code is an authorised absence (C, C1, C2, E, I, J1, M, R, S, T and the legacy H, F); false for every other code. \
         NULL for NULL, `-` (no mark) and unknown codes.",
        "is_authorised_absence(code)",
    )
    .with_sql_example(
        "```sql\n> SELECT is_authorised_absence('M'), is_authorised_absence('G');\n\
         +----------------------------------+----------------------------------+\n\
         | is_authorised_absence(Utf8(\"M\")) | is_authorised_absence(Utf8(\"G\")) |\n\
         +----------------------------------+----------------------------------+\n\
         | true                             | false                            |\n\
         +----------------------------------+----------------------------------+\n```",
    )
    .with_argument("code", "The register code: a string (Utf8, LargeUtf8, Utf8View or a dictionary of them).")
    .with_related_udf("attendance_category")
    .build()
});

impl CodeFunctionSpec for IsAuthorisedAbsence {
    const NAME: &'static str = "is_authorised_absence";

    fn output() -> &'static SlotOutput {
        &BOOLEAN
    }

    fn slot(info: &CodeInfo) -> Option<u8> {
        predicate_slot(info.category == Category::Authorised)
    }

    fn documentation() -> &'static Documentation {
        &DOCUMENTATION
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::AsArray;

    use super::*;
    use crate::marks::CodeFunction;
    use crate::marks::test_util::eval_codes;

    #[test]
    fn values_of_codes() {
        let udf = CodeFunction::<IsAuthorisedAbsence>::new();
        let result = eval_codes(
            &udf,
            &[Some("M"), Some("F"), Some("G"), Some("B"), Some("-"), None],
        );
        let got: Vec<Option<bool>> = result.as_boolean().iter().collect();
        assert_eq!(
            got,
            vec![Some(true), Some(true), Some(false), Some(false), None, None]
        );
    }
}

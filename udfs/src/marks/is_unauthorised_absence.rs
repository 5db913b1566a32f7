//! `is_unauthorised_absence(code)`: a predicate of a register code (DOMAIN.md sections 1 and 2).

use std::sync::LazyLock;

use datafusion::logical_expr::Documentation;

use super::{CodeFunctionSpec, DOC_SECTION, predicate_slot};
use crate::codes::{Category, CodeInfo};
use crate::kernel::{BOOLEAN, SlotOutput};

#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct IsUnauthorisedAbsence;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "True when a code is an unauthorised absence (G, N, O, U); false for every other code. \
         NULL for NULL, `-` (no mark) and unknown codes.",
        "is_unauthorised_absence(code)",
    )
    .with_sql_example(
        "```sql\n> SELECT is_unauthorised_absence('O'), is_unauthorised_absence('E');\n\
         +------------------------------------+------------------------------------+\n\
         | is_unauthorised_absence(Utf8(\"O\")) | is_unauthorised_absence(Utf8(\"E\")) |\n\
         +------------------------------------+------------------------------------+\n\
         | true                               | false                              |\n\
         +------------------------------------+------------------------------------+\n```",
    )
    .with_argument(
        "code",
        "The register code: a string (Utf8, LargeUtf8, Utf8View or a dictionary of them).",
    )
    .with_related_udf("attendance_category")
    .build()
});

impl CodeFunctionSpec for IsUnauthorisedAbsence {
    const NAME: &'static str = "is_unauthorised_absence";

    fn output() -> &'static SlotOutput {
        &BOOLEAN
    }

    fn slot(info: &CodeInfo) -> Option<u8> {
        predicate_slot(info.category == Category::Unauthorised)
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
        let udf = CodeFunction::<IsUnauthorisedAbsence>::new();
        let result = eval_codes(
            &udf,
            &[Some("U"), Some("E"), Some("#"), Some("-"), Some("o"), None],
        );
        let got: Vec<Option<bool>> = result.as_boolean().iter().collect();
        assert_eq!(
            got,
            vec![Some(true), Some(false), Some(false), None, None, None]
        );
    }
}

//! `is_absence(code)`: a predicate of a register code (DOMAIN.md sections 1 and 2).

use std::sync::LazyLock;

use datafusion::logical_expr::Documentation;

use super::{CodeFunctionSpec, DOC_SECTION, predicate_slot};
use crate::codes::CodeInfo;
use crate::kernel::{BOOLEAN, SlotOutput};

#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct IsAbsence;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "True when a code counts as absence (authorised or unauthorised; the DfE's overall absence); false for every other code, including those where attendance is not possible. \
         NULL for NULL, `-` (no mark) and unknown codes.",
        "is_absence(code)",
    )
    .with_sql_example(
        "```sql\n> SELECT is_absence('N'), is_absence('/');\n\
         +-----------------------+-----------------------+\n\
         | is_absence(Utf8(\"N\")) | is_absence(Utf8(\"/\")) |\n\
         +-----------------------+-----------------------+\n\
         | true                  | false                 |\n\
         +-----------------------+-----------------------+\n```",
    )
    .with_argument("code", "The register code: a string (Utf8, LargeUtf8, Utf8View or a dictionary of them).")
    .with_related_udf("attendance_category")
    .build()
});

impl CodeFunctionSpec for IsAbsence {
    const NAME: &'static str = "is_absence";

    fn output() -> &'static SlotOutput {
        &BOOLEAN
    }

    fn slot(info: &CodeInfo) -> Option<u8> {
        predicate_slot(info.category.is_absence())
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
        let udf = CodeFunction::<IsAbsence>::new();
        let result = eval_codes(
            &udf,
            &[
                Some("N"),
                Some("H"),
                Some("/"),
                Some("Y1"),
                Some("-"),
                Some("Y8"),
                None,
            ],
        );
        let got: Vec<Option<bool>> = result.as_boolean().iter().collect();
        assert_eq!(
            got,
            vec![
                Some(true),
                Some(true),
                Some(false),
                Some(false),
                None,
                None,
                None
            ]
        );
    }
}

//! `is_attendance(code)`: a predicate of a register code (DOMAIN.md sections 1 and 2).

use std::sync::LazyLock;

use datafusion::logical_expr::Documentation;

use super::{CodeFunctionSpec, DOC_SECTION, predicate_slot};
use crate::codes::CodeInfo;
use crate::kernel::{BOOLEAN, SlotOutput};

#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct IsAttendance;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "True when a code counts as attendance (present, or approved educational activity off site); false for every other code. \
         NULL for NULL, `-` (no mark) and unknown codes.",
        "is_attendance(code)",
    )
    .with_sql_example(
        "```sql\n> SELECT is_attendance('V'), is_attendance('I');\n\
         +--------------------------+--------------------------+\n\
         | is_attendance(Utf8(\"V\")) | is_attendance(Utf8(\"I\")) |\n\
         +--------------------------+--------------------------+\n\
         | true                     | false                    |\n\
         +--------------------------+--------------------------+\n```",
    )
    .with_argument("code", "The register code: a string (Utf8, LargeUtf8, Utf8View or a dictionary of them).")
    .with_related_udf("attendance_category")
    .build()
});

impl CodeFunctionSpec for IsAttendance {
    const NAME: &'static str = "is_attendance";

    fn output() -> &'static SlotOutput {
        &BOOLEAN
    }

    fn slot(info: &CodeInfo) -> Option<u8> {
        predicate_slot(info.category.is_attendance())
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
        let udf = CodeFunction::<IsAttendance>::new();
        let result = eval_codes(
            &udf,
            &[Some("L"), Some("J"), Some("J1"), Some("Z"), Some("-"), None],
        );
        let got: Vec<Option<bool>> = result.as_boolean().iter().collect();
        assert_eq!(
            got,
            vec![Some(true), Some(true), Some(false), Some(false), None, None]
        );
    }
}

//! `is_possible_session(code)`: a predicate of a register code (DOMAIN.md sections 1 and 2).

use std::sync::LazyLock;

use datafusion::logical_expr::Documentation;

use super::{CodeFunctionSpec, DOC_SECTION, predicate_slot};
use crate::codes::CodeInfo;
use crate::kernel::{BOOLEAN, SlotOutput};

#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct IsPossibleSession;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "True when a code counts in possible sessions (present, approved activity, authorised or unauthorised absence); false for the `not_possible` codes (D, Q, X, Y, Y1-Y7, Z, #). \
         NULL for NULL, `-` (no mark) and unknown codes.",
        "is_possible_session(code)",
    )
    .with_sql_example(
        "```sql\n> SELECT is_possible_session('I'), is_possible_session('D');\n\
         +--------------------------------+--------------------------------+\n\
         | is_possible_session(Utf8(\"I\")) | is_possible_session(Utf8(\"D\")) |\n\
         +--------------------------------+--------------------------------+\n\
         | true                           | false                          |\n\
         +--------------------------------+--------------------------------+\n```",
    )
    .with_argument("code", "The register code: a string (Utf8, LargeUtf8, Utf8View or a dictionary of them).")
    .with_related_udf("attendance_category")
    .build()
});

impl CodeFunctionSpec for IsPossibleSession {
    const NAME: &'static str = "is_possible_session";

    fn output() -> &'static SlotOutput {
        &BOOLEAN
    }

    fn slot(info: &CodeInfo) -> Option<u8> {
        predicate_slot(info.category.is_possible())
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
        let udf = CodeFunction::<IsPossibleSession>::new();
        let result = eval_codes(&udf, &[Some("/"), Some("D"), Some("-"), Some("x"), None]);
        let got: Vec<Option<bool>> = result.as_boolean().iter().collect();
        assert_eq!(got, vec![Some(true), Some(false), None, None, None]);
    }
}

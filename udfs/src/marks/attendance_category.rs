//! `attendance_category(code)`: the category of a register code (DOMAIN.md section 1).

use std::sync::LazyLock;

use datafusion::logical_expr::Documentation;

use super::{CodeFunctionSpec, DOC_SECTION};
use crate::codes::{Category, CodeInfo};
use crate::kernel::{LabelSet, SlotOutput};

#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct AttendanceCategory;

static OUTPUT: LazyLock<SlotOutput> =
    LazyLock::new(|| SlotOutput::Labels(LabelSet::new(&Category::ALL.map(Category::as_str))));

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The category of a register code, which decides how the session counts: `present`, \
         `approved_activity`, `authorised`, `unauthorised` or `not_possible`. Current (2024) and \
         legacy codes are recognised; codes are case-sensitive. NULL for NULL, `-` (no mark) and \
         unknown codes.",
        "attendance_category(code)",
    )
    .with_sql_example(
        "```sql\n> SELECT attendance_category('I'), attendance_category('/'), attendance_category('-');\n\
         +---------------------------------+---------------------------------+---------------------------------+\n\
         | attendance_category(Utf8(\"I\")) | attendance_category(Utf8(\"/\")) | attendance_category(Utf8(\"-\")) |\n\
         +---------------------------------+---------------------------------+---------------------------------+\n\
         | authorised                      | present                         |                                 |\n\
         +---------------------------------+---------------------------------+---------------------------------+\n```",
    )
    .with_argument("code", "The register code: a string (Utf8, LargeUtf8, Utf8View or a dictionary of them).")
    .with_related_udf("absence_reason")
    .with_related_udf("is_absence")
    .build()
});

impl CodeFunctionSpec for AttendanceCategory {
    const NAME: &'static str = "attendance_category";

    fn output() -> &'static SlotOutput {
        &OUTPUT
    }

    fn slot(info: &CodeInfo) -> Option<u8> {
        Category::ALL
            .iter()
            .position(|c| *c == info.category)
            .map(|i| i as u8)
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
    fn categories_of_codes() {
        let udf = CodeFunction::<AttendanceCategory>::new();
        let codes = [
            Some("/"),
            Some("J"),
            Some("C1"),
            Some("G"),
            Some("Y"),
            Some("-"),
            Some("i"),
            None,
        ];
        let result = eval_codes(&udf, &codes);
        let got: Vec<Option<&str>> = result.as_string_view().iter().collect();
        assert_eq!(
            got,
            vec![
                Some("present"),
                Some("approved_activity"),
                Some("authorised"),
                Some("unauthorised"),
                Some("not_possible"),
                None,
                None,
                None
            ]
        );
    }
}

//! `absence_reason(code)`: the EES reason of an absence code (DOMAIN.md sections 1 and 6).

use std::sync::LazyLock;

use datafusion::logical_expr::Documentation;

use super::{CodeFunctionSpec, DOC_SECTION};
use crate::codes::{CodeInfo, Reason};
use crate::kernel::{LabelSet, SlotOutput};

#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct AbsenceReason;

static OUTPUT: LazyLock<SlotOutput> =
    LazyLock::new(|| SlotOutput::Labels(LabelSet::new(&Reason::ALL.map(Reason::as_str))));

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The reason of an absence code (DOMAIN.md section 1; the EES column suffixes): authorised \
         `illness` (I), `appointments` (M), `religious` (R), `study` (S), `traveller` (T), \
         `holiday` (H, F), `excluded` (E), `other` (C), `interview` (J1), `reg_performance` (C1), \
         `temp_reduced_timetable` (C2); unauthorised `holiday` (G), `late` (U), `other` (O), \
         `noyet` (N). `holiday` and `other` exist in both categories: pair with \
         `is_authorised_absence(code)` to tell them apart. NULL for marks that are not absences, \
         for `-`, unknown codes and NULL.",
        "absence_reason(code)",
    )
    .with_sql_example(
        "```sql\n> SELECT absence_reason('G'), absence_reason('F'), absence_reason('/');\n\
         +----------------------------+----------------------------+----------------------------+\n\
         | absence_reason(Utf8(\"G\")) | absence_reason(Utf8(\"F\")) | absence_reason(Utf8(\"/\")) |\n\
         +----------------------------+----------------------------+----------------------------+\n\
         | holiday                    | holiday                    |                            |\n\
         +----------------------------+----------------------------+----------------------------+\n```",
    )
    .with_argument("code", "The register code: a string (Utf8, LargeUtf8, Utf8View or a dictionary of them).")
    .with_related_udf("attendance_category")
    .build()
});

impl CodeFunctionSpec for AbsenceReason {
    const NAME: &'static str = "absence_reason";

    fn output() -> &'static SlotOutput {
        &OUTPUT
    }

    fn slot(info: &CodeInfo) -> Option<u8> {
        let reason = info.reason?;
        Reason::ALL
            .iter()
            .position(|r| *r == reason)
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
    fn reasons_of_codes() {
        let udf = CodeFunction::<AbsenceReason>::new();
        let codes = [
            Some("I"),
            Some("F"),
            Some("G"),
            Some("C2"),
            Some("L"),
            Some("D"),
            Some("-"),
            None,
        ];
        let result = eval_codes(&udf, &codes);
        let got: Vec<Option<&str>> = result.as_string_view().iter().collect();
        assert_eq!(
            got,
            vec![
                Some("illness"),
                Some("holiday"),
                Some("holiday"),
                Some("temp_reduced_timetable"),
                None,
                None,
                None,
                None
            ]
        );
    }
}

//! `attendance_band(overall, possible)`: the attendance band of an enrolment (DOMAIN.md
//! section 2, "Attendance bands").

use std::sync::LazyLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
};

use super::{Sessions, invoke_on_sessions};
use crate::kernel::{LabelSet, SlotOutput};
use crate::kernel::{int64_arg, typed_signature};
use crate::marks::DOC_SECTION;

/// The band labels, from the lowest absence share to the highest.
pub const ATTENDANCE_BANDS: [&str; 6] = [
    "not persistently absent",
    "80% to 90% attendance",
    "70% to 80% attendance",
    "60% to 70% attendance",
    "50% to 60% attendance",
    "severe: 50% or less attendance",
];

/// The index in [`ATTENDANCE_BANDS`] of an absence share `a = overall / possible`:
/// a < 10%; 10% <= a <= 20%; 20% < a <= 30%; 30% < a <= 40%; 40% < a < 50%; a >= 50%.
fn band_index(s: Sessions) -> u8 {
    let at_most = |tenths: i128| s.overall * 10 <= s.possible * tenths;
    if !s.share_at_least(1, 10) {
        0
    } else if at_most(2) {
        1
    } else if at_most(3) {
        2
    } else if at_most(4) {
        3
    } else if !s.share_at_least(1, 2) {
        4
    } else {
        5
    }
}

/// The attendance band of an enrolment, or `None` when the sessions are not valid (see
/// [`Sessions::new`]).
pub fn attendance_band(overall: i64, possible: i64) -> Option<&'static str> {
    Sessions::new(overall, possible).map(|s| ATTENDANCE_BANDS[band_index(s) as usize])
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AttendanceBand {
    signature: Signature,
}

impl Default for AttendanceBand {
    fn default() -> Self {
        Self::new()
    }
}

impl AttendanceBand {
    pub fn new() -> Self {
        Self {
            signature: typed_signature(vec![int64_arg(); 2], &["overall", "possible"]),
        }
    }
}

static OUTPUT: LazyLock<SlotOutput> =
    LazyLock::new(|| SlotOutput::Labels(LabelSet::new(&ATTENDANCE_BANDS)));

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The attendance band of an enrolment, from its absence share a = overall / possible \
         (exact integer comparisons): `not persistently absent` (a < 10%), `80% to 90% \
         attendance` (10% <= a <= 20%), `70% to 80% attendance` (20% < a <= 30%), `60% to 70% \
         attendance` (30% < a <= 40%), `50% to 60% attendance` (40% < a < 50%), `severe: 50% or \
         less attendance` (a >= 50%). NULL when possible is 0 or NULL, overall is NULL, or \
         either is negative.",
        "attendance_band(overall, possible)",
    )
    .with_sql_example(
        "```sql\n> SELECT attendance_band(76, 380) AS a, attendance_band(77, 380) AS b;\n\
         +-----------------------+-----------------------+\n\
         | a                     | b                     |\n\
         +-----------------------+-----------------------+\n\
         | 80% to 90% attendance | 70% to 80% attendance |\n\
         +-----------------------+-----------------------+\n```",
    )
    .with_argument(
        "overall",
        "Overall absence: authorised + unauthorised sessions (an integer).",
    )
    .with_argument("possible", "Possible sessions (an integer).")
    .with_related_udf("absence_band")
    .with_related_udf("is_persistent_absence")
    .build()
});

impl ScalarUDFImpl for AttendanceBand {
    fn name(&self) -> &str {
        "attendance_band"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(OUTPUT.data_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke_on_sessions(
            self.name(),
            &args.args,
            args.number_rows,
            &OUTPUT,
            band_index,
        )
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_edges_are_exact() {
        let cases = [
            (37, 380, 0),
            (38, 380, 1),
            (76, 380, 1),
            (77, 380, 2),
            (114, 380, 2),
            (115, 380, 3),
            (152, 380, 3),
            (153, 380, 4),
            (189, 380, 4),
            (190, 380, 5),
            (380, 380, 5),
            (0, 1, 0),
            (1, 3, 3),
        ];
        for (overall, possible, band) in cases {
            assert_eq!(
                attendance_band(overall, possible),
                Some(ATTENDANCE_BANDS[band]),
                "{overall}/{possible}"
            );
        }
        assert_eq!(attendance_band(1, 0), None);
    }
}

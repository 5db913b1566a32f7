//! `absence_band(overall, possible, width)`: the absence share floored to a band of `width`
//! percentage points.
//!
//! Labels, for width `w`: `0-w%`, `w-2w%`, ... up to 50%, the last band below 50% ending at `50`
//! when `w` does not divide 50, and `50%+` for every share of 50% or more. A band includes its
//! lower edge and excludes its upper one. With `w = 5`: `0-5%`, `5-10%`, ..., `45-50%`, `50%+`;
//! with `w = 15`: `0-15%`, `15-30%`, `30-45%`, `45-50%`, `50%+`.

use std::sync::LazyLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
};

use super::{Sessions, invoke_on_sessions};
use crate::kernel::{LabelSet, SlotOutput};
use crate::kernel::{int64_arg, typed_signature};
use crate::marks::DOC_SECTION;

/// The label of the top band.
pub const TOP_ABSENCE_BAND: &str = "50%+";

/// The labels of the bands of `width` percentage points (`width` >= 1), lowest first.
pub fn absence_band_labels(width: i64) -> Vec<String> {
    let mut labels: Vec<String> = (0..50)
        .step_by(width as usize)
        .map(|lower| format!("{lower}-{}%", (lower + width).min(50)))
        .collect();
    labels.push(TOP_ABSENCE_BAND.to_string());
    labels
}

/// The index of the band of `s` among [`absence_band_labels`]`(width)`:
/// floor(100 * overall / (possible * width)), capped at the top band.
fn band_index(s: Sessions, width: i64) -> u8 {
    let bands_below_50 = (50 + width - 1) / width;
    let index = (100 * s.overall / (s.possible * i128::from(width))) as i64;
    if s.share_at_least(1, 2) {
        bands_below_50 as u8
    } else {
        index.min(bands_below_50 - 1) as u8
    }
}

/// The absence band of an enrolment, or `None` when the sessions are not valid (see
/// [`Sessions::new`]) or `width` is not between 1 and 50.
pub fn absence_band(overall: i64, possible: i64, width: i64) -> Option<String> {
    let s = Sessions::new(overall, possible)?;
    (1..=50)
        .contains(&width)
        .then(|| absence_band_labels(width).swap_remove(band_index(s, width) as usize))
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AbsenceBand {
    signature: Signature,
}

impl Default for AbsenceBand {
    fn default() -> Self {
        Self::new()
    }
}

impl AbsenceBand {
    pub fn new() -> Self {
        Self {
            signature: typed_signature(vec![int64_arg(); 3], &["overall", "possible", "width"]),
        }
    }
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The absence share overall / possible floored to a band of `width` percentage points \
         (exact integer arithmetic). Labels `0-5%`, `5-10%`, ..., `45-50%` for width 5: a band \
         includes its lower edge and excludes its upper one, and the last band below 50% ends \
         at 50 when the width does not divide 50 (`45-50%` for width 15). Every share of 50% or \
         more is `50%+`. NULL when possible is 0 or NULL, overall or width is NULL, or a count \
         is negative. The width must be a constant between 1 and 50.",
        "absence_band(overall, possible, width)",
    )
    .with_sql_example(
        "```sql\n> SELECT absence_band(19, 380, 5) AS a, absence_band(190, 380, 5) AS b;\n\
         +-------+------+\n\
         | a     | b    |\n\
         +-------+------+\n\
         | 5-10% | 50%+ |\n\
         +-------+------+\n```",
    )
    .with_argument(
        "overall",
        "Overall absence: authorised + unauthorised sessions (an integer).",
    )
    .with_argument("possible", "Possible sessions (an integer).")
    .with_argument(
        "width",
        "The width of a band in percentage points: a constant from 1 to 50.",
    )
    .with_related_udf("attendance_band")
    .build()
});

impl ScalarUDFImpl for AbsenceBand {
    fn name(&self) -> &str {
        "absence_band"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8View)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let width = match args.args.get(2) {
            Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(width)))) => *width,
            Some(ColumnarValue::Scalar(ScalarValue::Int64(None) | ScalarValue::Null)) => {
                return Ok(ColumnarValue::Scalar(ScalarValue::Utf8View(None)));
            }
            _ => return exec_err!("absence_band: the width must be a constant integer"),
        };
        if !(1..=50).contains(&width) {
            return exec_err!("absence_band: the width must be between 1 and 50, got {width}");
        }
        let output = SlotOutput::Labels(LabelSet::new(&absence_band_labels(width)));
        invoke_on_sessions(self.name(), &args.args, args.number_rows, &output, |s| {
            band_index(s, width)
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(
            absence_band_labels(10),
            ["0-10%", "10-20%", "20-30%", "30-40%", "40-50%", "50%+"]
        );
        assert_eq!(
            absence_band_labels(15),
            ["0-15%", "15-30%", "30-45%", "45-50%", "50%+"]
        );
        assert_eq!(absence_band_labels(50), ["0-50%", "50%+"]);
        assert_eq!(absence_band_labels(5).len(), 11);
    }

    #[test]
    fn edges() {
        assert_eq!(absence_band(0, 380, 5).as_deref(), Some("0-5%"));
        assert_eq!(absence_band(18, 380, 5).as_deref(), Some("0-5%"));
        assert_eq!(absence_band(19, 380, 5).as_deref(), Some("5-10%"));
        assert_eq!(absence_band(38, 380, 5).as_deref(), Some("10-15%"));
        assert_eq!(absence_band(189, 380, 5).as_deref(), Some("45-50%"));
        assert_eq!(absence_band(190, 380, 5).as_deref(), Some("50%+"));
        assert_eq!(absence_band(500, 380, 5).as_deref(), Some("50%+"));
        assert_eq!(absence_band(49, 100, 15).as_deref(), Some("45-50%"));
        assert_eq!(absence_band(45, 100, 15).as_deref(), Some("45-50%"));
        assert_eq!(absence_band(44, 100, 15).as_deref(), Some("30-45%"));
        assert_eq!(absence_band(1, 0, 5), None);
        assert_eq!(absence_band(1, 10, 0), None);
    }
}

//! `is_severe_absence(overall, possible)`: the DfE severe absence flag.

use std::sync::LazyLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
};

use super::{Sessions, invoke_on_sessions};
use crate::kernel::BOOLEAN;
use crate::kernel::{int64_arg, typed_signature};
use crate::marks::DOC_SECTION;

/// Severe absence: overall absence is 50% or more of possible sessions
/// (`overall * 2 >= possible`); `None` when the sessions are not valid (see [`Sessions::new`]).
pub fn is_severe_absence(overall: i64, possible: i64) -> Option<bool> {
    Sessions::new(overall, possible).map(|s| s.share_at_least(1, 2))
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsSevereAbsence {
    signature: Signature,
}

impl Default for IsSevereAbsence {
    fn default() -> Self {
        Self::new()
    }
}

impl IsSevereAbsence {
    pub fn new() -> Self {
        Self {
            signature: typed_signature(vec![int64_arg(); 2], &["overall", "possible"]),
        }
    }
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "True when an enrolment is severely absent: its overall absence is 50% or more of its \
         possible sessions (`overall * 2 >= possible`, exact integer arithmetic). Severe \
         absentees are also persistent absentees. NULL when \
         possible is 0 or NULL, overall is NULL, or either is negative.",
        "is_severe_absence(overall, possible)",
    )
    .with_sql_example(
        "```sql\n> SELECT is_severe_absence(190, 380) AS a, is_severe_absence(189, 380) AS b;\n\
         +------+-------+\n\
         | a    | b     |\n\
         +------+-------+\n\
         | true | false |\n\
         +------+-------+\n```",
    )
    .with_argument(
        "overall",
        "Overall absence: authorised + unauthorised sessions (an integer).",
    )
    .with_argument("possible", "Possible sessions (an integer).")
    .with_related_udf("is_persistent_absence")
    .with_related_udf("session_counts")
    .build()
});

impl ScalarUDFImpl for IsSevereAbsence {
    fn name(&self) -> &str {
        "is_severe_absence"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke_on_sessions(self.name(), &args.args, args.number_rows, &BOOLEAN, |s| {
            u8::from(s.share_at_least(1, 2))
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
    fn fifty_percent_exactly_is_severe() {
        assert_eq!(is_severe_absence(190, 380), Some(true));
        assert_eq!(is_severe_absence(189, 380), Some(false));
        assert_eq!(is_severe_absence(1, 2), Some(true));
        assert_eq!(is_severe_absence(1, 3), Some(false));
        assert_eq!(is_severe_absence(0, 1), Some(false));
        assert_eq!(is_severe_absence(0, 0), None);
        assert_eq!(is_severe_absence(-1, 10), None);
        assert_eq!(is_severe_absence(i64::MAX, i64::MAX), Some(true));
    }
}

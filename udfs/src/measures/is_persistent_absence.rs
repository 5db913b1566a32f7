//! `is_persistent_absence(overall, possible)`: the DfE persistent absence flag.

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

/// Persistent absence: overall absence is 10% or more of possible sessions
/// (`overall * 10 >= possible`); `None` when the sessions are not valid (see [`Sessions::new`]).
pub fn is_persistent_absence(overall: i64, possible: i64) -> Option<bool> {
    Sessions::new(overall, possible).map(|s| s.share_at_least(1, 10))
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsPersistentAbsence {
    signature: Signature,
}

impl Default for IsPersistentAbsence {
    fn default() -> Self {
        Self::new()
    }
}

impl IsPersistentAbsence {
    pub fn new() -> Self {
        Self {
            signature: typed_signature(vec![int64_arg(); 2], &["overall", "possible"]),
        }
    }
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "True when an enrolment is persistently absent: its overall absence is 10% or more of \
         its possible sessions (`overall * 10 >= possible`, exact integer arithmetic). NULL when \
         possible is 0 or NULL, overall is NULL, or either is negative.",
        "is_persistent_absence(overall, possible)",
    )
    .with_sql_example(
        "```sql\n> SELECT is_persistent_absence(38, 380) AS a, is_persistent_absence(37, 380) AS b;\n\
         +------+-------+\n\
         | a    | b     |\n\
         +------+-------+\n\
         | true | false |\n\
         +------+-------+\n```",
    )
    .with_argument("overall", "Overall absence: authorised + unauthorised sessions (an integer).")
    .with_argument("possible", "Possible sessions (an integer).")
    .with_related_udf("is_severe_absence")
    .with_related_udf("session_counts")
    .build()
});

impl ScalarUDFImpl for IsPersistentAbsence {
    fn name(&self) -> &str {
        "is_persistent_absence"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke_on_sessions(self.name(), &args.args, args.number_rows, &BOOLEAN, |s| {
            u8::from(s.share_at_least(1, 10))
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
    fn ten_percent_exactly_is_persistent() {
        assert_eq!(is_persistent_absence(38, 380), Some(true));
        assert_eq!(is_persistent_absence(37, 380), Some(false));
        assert_eq!(is_persistent_absence(1, 10), Some(true));
        assert_eq!(is_persistent_absence(0, 1), Some(false));
        assert_eq!(is_persistent_absence(0, 0), None);
        assert_eq!(is_persistent_absence(-1, 10), None);
        assert_eq!(is_persistent_absence(i64::MAX, i64::MAX), Some(true));
    }
}

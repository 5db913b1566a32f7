//! `time_period(date)`: the EES `time_period` of the academic year of a date (`202425`).

use std::sync::LazyLock;

use datafusion::arrow::array::Int32Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
};

use super::{DateArg, date_signature};
use crate::calendar::{CivilDate, academic_year_start, time_period};
use crate::marks::DOC_SECTION;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TimePeriod {
    signature: Signature,
}

impl Default for TimePeriod {
    fn default() -> Self {
        Self::new()
    }
}

impl TimePeriod {
    pub fn new() -> Self {
        Self {
            signature: date_signature(),
        }
    }
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The EES `time_period` of the academic year (1 August to 31 July) a date falls in, as an \
         integer: `202425` for 2024-25.",
        "time_period(date)",
    )
    .with_sql_example(
        "```sql\n> SELECT time_period(DATE '2025-07-31'), time_period(DATE '2025-08-01');\n\
         +----------------------------------+----------------------------------+\n\
         | time_period(Utf8(\"2025-07-31\")) | time_period(Utf8(\"2025-08-01\")) |\n\
         +----------------------------------+----------------------------------+\n\
         | 202425                           | 202526                           |\n\
         +----------------------------------+----------------------------------+\n```",
    )
    .with_argument("date", "A date, timestamp or `YYYY-MM-DD` string.")
    .with_related_udf("academic_year")
    .build()
});

fn time_period_of(days: i32) -> i32 {
    time_period(academic_year_start(CivilDate::from_days(days)))
}

impl ScalarUDFImpl for TimePeriod {
    fn name(&self) -> &str {
        "time_period"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(match DateArg::new(self.name(), &args.args)? {
            DateArg::Scalar(days) => {
                ColumnarValue::Scalar(ScalarValue::Int32(days.map(time_period_of)))
            }
            DateArg::Array(dates) => {
                let periods: Int32Array = dates.unary(time_period_of);
                ColumnarValue::Array(std::sync::Arc::new(periods))
            }
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

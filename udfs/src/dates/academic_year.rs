//! `academic_year(date)`: the academic year of a date, written `2024-25`.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, StringViewArray, make_view};
use datafusion::arrow::buffer::{Buffer, ScalarBuffer};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
};

use super::{DateArg, PerYear, date_signature};
use crate::calendar::{CivilDate, academic_year_label, academic_year_start};
use crate::marks::DOC_SECTION;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AcademicYear {
    signature: Signature,
}

impl Default for AcademicYear {
    fn default() -> Self {
        Self::new()
    }
}

impl AcademicYear {
    pub fn new() -> Self {
        Self {
            signature: date_signature(),
        }
    }
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The academic year (1 August to 31 July) a date falls in, written `2024-25`.",
        "academic_year(date)",
    )
    .with_sql_example(
        "```sql\n> SELECT academic_year(DATE '2025-07-31'), academic_year(DATE '2025-08-01');\n\
         +------------------------------------+------------------------------------+\n\
         | academic_year(Utf8(\"2025-07-31\")) | academic_year(Utf8(\"2025-08-01\")) |\n\
         +------------------------------------+------------------------------------+\n\
         | 2024-25                            | 2025-26                            |\n\
         +------------------------------------+------------------------------------+\n```",
    )
    .with_argument("date", "A date, timestamp or `YYYY-MM-DD` string.")
    .with_related_udf("time_period")
    .with_related_udf("term")
    .build()
});

fn start_year(days: i32) -> i32 {
    academic_year_start(CivilDate::from_days(days))
}

impl ScalarUDFImpl for AcademicYear {
    fn name(&self) -> &str {
        "academic_year"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8View)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(match DateArg::new(self.name(), &args.args)? {
            DateArg::Scalar(days) => ColumnarValue::Scalar(ScalarValue::Utf8View(
                days.map(|days| academic_year_label(start_year(days))),
            )),
            DateArg::Array(dates) => {
                // Labels of 7 to 12 bytes are stored inline in their views: no data buffer.
                let mut view_of_year = PerYear::new(|year| {
                    let label = academic_year_label(year);
                    assert!(label.len() <= 12, "an academic year label is stored inline");
                    make_view(label.as_bytes(), 0, 0)
                });
                let views: Vec<u128> = dates
                    .values()
                    .iter()
                    .map(|&days| view_of_year.get(start_year(days)))
                    .collect();
                // SAFETY: every view holds an inline ASCII label made by `make_view`.
                let labels = unsafe {
                    StringViewArray::new_unchecked(
                        ScalarBuffer::from(views),
                        Vec::<Buffer>::new(),
                        dates.nulls().cloned(),
                    )
                };
                ColumnarValue::Array(Arc::new(labels))
            }
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

//! `spring_bank_holiday(academic_year)`: the spring bank holiday (last Monday of May) of an
//! academic year's summer. DOMAIN.md section 2: for pupils aged 15, marks dated on or after it
//! are removed from the headline measures.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{AsArray, Date32Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
};

use crate::calendar::spring_bank_holiday;
use crate::kernel::{scalar_str, string_arg, typed_signature};
use crate::marks::DOC_SECTION;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SpringBankHoliday {
    signature: Signature,
}

impl Default for SpringBankHoliday {
    fn default() -> Self {
        Self::new()
    }
}

impl SpringBankHoliday {
    pub fn new() -> Self {
        Self {
            signature: typed_signature(vec![string_arg()], &["academic_year"]),
        }
    }
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The spring bank holiday (the last Monday of May) in the summer term of an academic \
         year given as `2024-25`. NULL for NULL or a string that is not an academic year.",
        "spring_bank_holiday(academic_year)",
    )
    .with_sql_example(
        "```sql\n> SELECT spring_bank_holiday('2024-25');\n\
         +-------------------------------------+\n\
         | spring_bank_holiday(Utf8(\"2024-25\")) |\n\
         +-------------------------------------+\n\
         | 2025-05-26                          |\n\
         +-------------------------------------+\n```",
    )
    .with_argument("academic_year", "An academic year written `2024-25`.")
    .with_related_udf("term")
    .build()
});

/// `2024-25` → the days since 1970-01-01 of the last Monday of May 2025.
fn holiday_of(academic_year: &str) -> Option<i32> {
    let b = academic_year.as_bytes();
    if b.len() != 7 || b[4] != b'-' {
        return None;
    }
    let start: i32 = academic_year[..4].parse().ok()?;
    let end: i32 = academic_year[5..].parse().ok()?;
    if (start + 1).rem_euclid(100) != end {
        return None;
    }
    Some(spring_bank_holiday(start + 1).to_days())
}

impl ScalarUDFImpl for SpringBankHoliday {
    fn name(&self) -> &str {
        "spring_bank_holiday"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        match &args.args[..] {
            [ColumnarValue::Scalar(year)] => Ok(ColumnarValue::Scalar(ScalarValue::Date32(
                scalar_str(year)?.and_then(holiday_of),
            ))),
            [ColumnarValue::Array(years)] => {
                // Any string type (or dictionary of one) the signature let through, as Utf8.
                let years = cast(years, &DataType::Utf8)?;
                let years = years.as_string::<i32>();
                // Academic years repeat: remember the last one.
                let mut last: Option<(&str, Option<i32>)> = None;
                let out: Date32Array = years
                    .iter()
                    .map(|year| {
                        let year = year?;
                        match last {
                            Some((y, d)) if y == year => d,
                            _ => {
                                let d = holiday_of(year);
                                last = Some((year, d));
                                d
                            }
                        }
                    })
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out)))
            }
            _ => exec_err!("spring_bank_holiday expects one Utf8 argument"),
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_monday_of_may() {
        // 26 May 2025, 27 May 2024 and 25 May 2026 are the last Mondays of May.
        let days = |y: i32, m: u32, d: u32| {
            crate::calendar::CivilDate {
                year: y,
                month: m,
                day: d,
            }
            .to_days()
        };
        assert_eq!(holiday_of("2024-25"), Some(days(2025, 5, 26)));
        assert_eq!(holiday_of("2023-24"), Some(days(2024, 5, 27)));
        assert_eq!(holiday_of("2025-26"), Some(days(2026, 5, 25)));
        assert_eq!(holiday_of("2024-26"), None);
        assert_eq!(holiday_of("2024"), None);
    }
}

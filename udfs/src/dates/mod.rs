//! Functions of a date: the academic year, its EES `time_period` and the term
//! ([`crate::calendar`] holds the rules).
//!
//! They take a `Date32`; `Date64`, timestamps and strings (`YYYY-MM-DD`) are cast to `Date32` by
//! the planner (a timestamp with a time zone becomes its local date).

mod academic_year;
mod spring_bank_holiday;
mod term;
mod time_period;

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Date32Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::types::{NativeType, logical_date, logical_string};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{Coercion, ColumnarValue, ScalarUDF, Signature, TypeSignatureClass};

use crate::kernel::typed_signature;

pub use academic_year::AcademicYear;
pub use spring_bank_holiday::SpringBankHoliday;
pub use term::TermFunction;
pub use time_period::TimePeriod;

/// The scalar functions of this family.
pub fn scalar_udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(AcademicYear::new())),
        Arc::new(ScalarUDF::from(TimePeriod::new())),
        Arc::new(ScalarUDF::from(TermFunction::new())),
        Arc::new(ScalarUDF::from(SpringBankHoliday::new())),
    ]
}

/// The signature of a function of one date: `Date32` and `Date64` pass, timestamps and strings
/// (`YYYY-MM-DD`) are cast to `Date32` by the planner (a timestamp with a time zone becomes its
/// local date).
pub(crate) fn date_signature() -> Signature {
    typed_signature(
        vec![Coercion::new_implicit(
            TypeSignatureClass::Native(logical_date()),
            vec![
                TypeSignatureClass::Timestamp,
                TypeSignatureClass::Native(logical_string()),
            ],
            NativeType::Date,
        )],
        &["date"],
    )
}

/// The single date argument of a function, as days since 1970-01-01.
pub(crate) enum DateArg {
    Scalar(Option<i32>),
    Array(Date32Array),
}

impl DateArg {
    pub(crate) fn new(name: &str, args: &[ColumnarValue]) -> Result<Self> {
        match args {
            [ColumnarValue::Scalar(ScalarValue::Date32(days))] => Ok(DateArg::Scalar(*days)),
            [ColumnarValue::Scalar(ScalarValue::Date64(ms))] => Ok(DateArg::Scalar(
                ms.map(|ms| ms.div_euclid(MILLISECONDS_IN_DAY) as i32),
            )),
            [ColumnarValue::Scalar(ScalarValue::Null)] => Ok(DateArg::Scalar(None)),
            [ColumnarValue::Array(array)] if array.data_type() == &DataType::Date32 => {
                Ok(DateArg::Array(array.as_primitive().clone()))
            }
            [ColumnarValue::Array(array)] if array.data_type() == &DataType::Date64 => Ok(
                DateArg::Array(cast(array, &DataType::Date32)?.as_primitive().clone()),
            ),
            _ => exec_err!("{name} expects one Date32 or Date64 argument"),
        }
    }
}

const MILLISECONDS_IN_DAY: i64 = 86_400_000;

/// Memoises a function of the year, which is the same for almost every row of a batch.
pub(crate) struct PerYear<T, F> {
    last: Option<(i32, T)>,
    compute: F,
}

impl<T: Copy, F: Fn(i32) -> T> PerYear<T, F> {
    pub(crate) fn new(compute: F) -> Self {
        Self {
            last: None,
            compute,
        }
    }

    #[inline]
    pub(crate) fn get(&mut self, year: i32) -> T {
        match self.last {
            Some((last_year, value)) if last_year == year => value,
            _ => {
                let value = (self.compute)(year);
                self.last = Some((year, value));
                value
            }
        }
    }
}

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
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF};

use crate::kernel::is_string_type;

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

/// Coercion of a single date argument: every date, timestamp or string type is cast to `Date32`.
pub(crate) fn coerce_one_date(name: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    match arg_types {
        [DataType::Null | DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)] => {
            Ok(vec![DataType::Date32])
        }
        [t] if is_string_type(t) => Ok(vec![DataType::Date32]),
        [t] => {
            plan_err!("{name}(date) expects a date, a timestamp or a 'YYYY-MM-DD' string, got {t}")
        }
        _ => plan_err!("{name} expects 1 argument, got {}", arg_types.len()),
    }
}

/// The single date argument of a function, as days since 1970-01-01.
pub(crate) enum DateArg<'a> {
    Scalar(Option<i32>),
    Array(&'a Date32Array),
}

impl<'a> DateArg<'a> {
    pub(crate) fn new(name: &str, args: &'a [ColumnarValue]) -> Result<Self> {
        match args {
            [ColumnarValue::Scalar(ScalarValue::Date32(days))] => Ok(DateArg::Scalar(*days)),
            [ColumnarValue::Scalar(ScalarValue::Null)] => Ok(DateArg::Scalar(None)),
            [ColumnarValue::Array(array)] if array.data_type() == &DataType::Date32 => {
                Ok(DateArg::Array(array.as_primitive()))
            }
            _ => exec_err!("{name} expects one Date32 argument"),
        }
    }
}

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

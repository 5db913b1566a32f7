//! Functions of an enrolment's session counts: persistent and severe absence and the attendance
//! and absence bands (DOMAIN.md section 2).
//!
//! All compare the absence share `overall / possible` with exact integer arithmetic (in `i128`,
//! so no product can overflow), never floating point: 38 of 380 sessions is exactly 10%. They
//! return NULL when `possible` is 0 or NULL, `overall` is NULL, or either is negative (not a
//! count).

mod absence_band;
mod attendance_band;
mod is_persistent_absence;
mod is_severe_absence;

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF};

use crate::kernel::{NULL_SLOT, SlotOutput};

pub use absence_band::{AbsenceBand, TOP_ABSENCE_BAND, absence_band, absence_band_labels};
pub use attendance_band::{ATTENDANCE_BANDS, AttendanceBand, attendance_band};
pub use is_persistent_absence::{IsPersistentAbsence, is_persistent_absence};
pub use is_severe_absence::{IsSevereAbsence, is_severe_absence};

/// The scalar functions of this family.
pub fn scalar_udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(IsPersistentAbsence::new())),
        Arc::new(ScalarUDF::from(IsSevereAbsence::new())),
        Arc::new(ScalarUDF::from(AttendanceBand::new())),
        Arc::new(ScalarUDF::from(AbsenceBand::new())),
    ]
}

/// Overall absence and possible sessions of one enrolment, validated: `possible > 0` and
/// `overall >= 0`. Widened to `i128` so that `overall * k` and `possible * k` never overflow.
#[derive(Debug, Clone, Copy)]
pub struct Sessions {
    pub overall: i128,
    pub possible: i128,
}

impl Sessions {
    /// `None` when the share is undefined (no possible session) or the counts are negative.
    pub fn new(overall: i64, possible: i64) -> Option<Self> {
        (possible > 0 && overall >= 0).then_some(Self {
            overall: i128::from(overall),
            possible: i128::from(possible),
        })
    }

    /// `overall / possible >= numerator / denominator`, exactly.
    pub fn share_at_least(self, numerator: i128, denominator: i128) -> bool {
        self.overall * denominator >= self.possible * numerator
    }
}

/// Coercion of `n` integer arguments: every integer type (and an untyped NULL) is cast to
/// `Int64`; anything else, floating point included, is a plan error.
/// One `Int64` argument, scalar or array.
pub(crate) enum IntArg<'a> {
    Scalar(Option<i64>),
    Array(&'a Int64Array),
}

impl<'a> IntArg<'a> {
    pub(crate) fn new(name: &str, arg: &'a ColumnarValue) -> Result<Self> {
        match arg {
            ColumnarValue::Scalar(ScalarValue::Int64(v)) => Ok(IntArg::Scalar(*v)),
            ColumnarValue::Scalar(ScalarValue::Null) => Ok(IntArg::Scalar(None)),
            ColumnarValue::Array(a) if a.data_type() == &DataType::Int64 => {
                Ok(IntArg::Array(a.as_primitive::<Int64Type>()))
            }
            other => exec_err!("{name} expects Int64 arguments, got {}", other.data_type()),
        }
    }

    #[inline]
    fn get(&self, row: usize) -> Option<i64> {
        match self {
            IntArg::Scalar(v) => *v,
            IntArg::Array(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

/// Evaluates a function of (overall, possible) given as the slot of its output, for any mix of
/// scalar and array arguments; invalid sessions (see [`Sessions::new`]) give NULL.
pub(crate) fn invoke_on_sessions(
    name: &str,
    args: &[ColumnarValue],
    number_rows: usize,
    output: &SlotOutput,
    slot: impl Fn(Sessions) -> u8,
) -> Result<ColumnarValue> {
    let [overall, possible, ..] = args else {
        return exec_err!("{name} expects (overall, possible)");
    };
    let (overall, possible) = (IntArg::new(name, overall)?, IntArg::new(name, possible)?);
    let slot_of_row = |row: usize| match (overall.get(row), possible.get(row)) {
        (Some(o), Some(p)) => Sessions::new(o, p).map_or(NULL_SLOT, &slot),
        _ => NULL_SLOT,
    };
    Ok(match (&overall, &possible) {
        (IntArg::Scalar(_), IntArg::Scalar(_)) => {
            ColumnarValue::Scalar(output.scalar(slot_of_row(0)))
        }
        _ => {
            let slots: Vec<u8> = (0..number_rows).map(slot_of_row).collect();
            ColumnarValue::Array(output.array(&slots))
        }
    })
}

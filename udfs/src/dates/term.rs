//! `term(date)`: the school term of a date (DfE census definition).

use std::sync::LazyLock;

use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
};

use super::{DateArg, PerYear, date_signature};
use crate::calendar::{CivilDate, Term, easter_sunday, term_given_easter};
use crate::kernel::{LabelSet, NULL_SLOT, SlotOutput, mask_nulls};
use crate::marks::DOC_SECTION;

/// The `term` function (named so as not to clash with [`Term`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TermFunction {
    signature: Signature,
}

impl Default for TermFunction {
    fn default() -> Self {
        Self::new()
    }
}

impl TermFunction {
    pub fn new() -> Self {
        Self {
            signature: date_signature(),
        }
    }
}

static OUTPUT: LazyLock<SlotOutput> =
    LazyLock::new(|| SlotOutput::Labels(LabelSet::new(&Term::ALL.map(Term::as_str))));

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The school term of a date (DfE census definition): `autumn` from 1 August to 31 \
         December, `spring` from 1 January to Easter Sunday, `summer` from Easter Monday to 31 \
         July. Easter by the Gregorian computus.",
        "term(date)",
    )
    .with_sql_example(
        "```sql\n> SELECT term(DATE '2025-04-20'), term(DATE '2025-04-21');\n\
         +---------------------------+---------------------------+\n\
         | term(Utf8(\"2025-04-20\")) | term(Utf8(\"2025-04-21\")) |\n\
         +---------------------------+---------------------------+\n\
         | spring                    | summer                    |\n\
         +---------------------------+---------------------------+\n```",
    )
    .with_argument("date", "A date, timestamp or `YYYY-MM-DD` string.")
    .with_related_udf("academic_year")
    .build()
});

/// The slot (index in [`Term::ALL`]) of a date, given its year's Easter Sunday.
fn term_slot(date: CivilDate, easter: CivilDate) -> u8 {
    term_given_easter(date, easter) as u8
}

impl ScalarUDFImpl for TermFunction {
    fn name(&self) -> &str {
        "term"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(OUTPUT.data_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(match DateArg::new(self.name(), &args.args)? {
            DateArg::Scalar(days) => {
                ColumnarValue::Scalar(OUTPUT.scalar(days.map_or(NULL_SLOT, |days| {
                    let date = CivilDate::from_days(days);
                    term_slot(date, easter_sunday(date.year))
                })))
            }
            DateArg::Array(dates) => {
                let mut easter = PerYear::new(easter_sunday);
                let mut slots: Vec<u8> = dates
                    .values()
                    .iter()
                    .map(|&days| {
                        let date = CivilDate::from_days(days);
                        term_slot(date, easter.get(date.year))
                    })
                    .collect();
                mask_nulls(&mut slots, dates.nulls());
                ColumnarValue::Array(OUTPUT.array(&slots))
            }
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

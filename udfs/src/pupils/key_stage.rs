//! `key_stage(nc_year)`: the key stage of a national curriculum year group (DOMAIN.md section 4).

use std::sync::LazyLock;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::types::{NativeType, logical_string};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    Coercion, ColumnarValue, Documentation, EncodingPreservation, ScalarFunctionArgs,
    ScalarUDFImpl, Signature, TypeSignatureClass,
};

use crate::kernel::{LabelSet, NULL_SLOT, ShortStrings, SlotOutput, mask_nulls, typed_signature};
use crate::marks::DOC_SECTION;

/// The key stages, in order: N1, N2 and R are `EYFS`; years 1-2 `KS1`, 3-6 `KS2`, 7-9 `KS3`,
/// 10-11 `KS4`, 12-14 `KS5`.
pub const KEY_STAGES: [&str; 6] = ["EYFS", "KS1", "KS2", "KS3", "KS4", "KS5"];

/// The index in [`KEY_STAGES`] of NC year `year` (1 to 14); `None` otherwise.
fn stage_index_of_year(year: i64) -> Option<u8> {
    match year {
        1..=2 => Some(1),
        3..=6 => Some(2),
        7..=9 => Some(3),
        10..=11 => Some(4),
        12..=14 => Some(5),
        _ => None,
    }
}

/// The index in [`KEY_STAGES`] of a census `nc_year` value (`N1`, `N2`, `R`, `1` to `14`);
/// `None` for `X` and anything else (`01`, `0`, `r`).
fn stage_index_of_nc_year(nc_year: &[u8]) -> Option<u8> {
    match nc_year {
        b"N1" | b"N2" | b"R" => Some(0),
        [d @ b'1'..=b'9'] => stage_index_of_year(i64::from(d - b'0')),
        [d1 @ b'1'..=b'9', d0 @ b'0'..=b'9'] => {
            stage_index_of_year(i64::from(d1 - b'0') * 10 + i64::from(d0 - b'0'))
        }
        _ => None,
    }
}

/// The key stage of a census `nc_year` value, or `None` (for `X` and any value not in the
/// census list).
pub fn key_stage_of_nc_year(nc_year: &str) -> Option<&'static str> {
    stage_index_of_nc_year(nc_year.as_bytes()).map(|i| KEY_STAGES[i as usize])
}

/// The key stage of NC year `year` given as a number (1 to 14), or `None`.
pub fn key_stage_of_year_number(year: i64) -> Option<&'static str> {
    stage_index_of_year(year).map(|i| KEY_STAGES[i as usize])
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct KeyStage {
    signature: Signature,
}

impl Default for KeyStage {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyStage {
    pub fn new() -> Self {
        Self {
            // A string (dictionaries kept), or an integer cast to `Int64`.
            signature: typed_signature(
                vec![
                    Coercion::new_implicit(
                        TypeSignatureClass::Native(logical_string()),
                        vec![TypeSignatureClass::Integer],
                        NativeType::Int64,
                    )
                    .with_encoding_preservation(EncodingPreservation::dictionary()),
                ],
                &["nc_year"],
            ),
        }
    }
}

static OUTPUT: LazyLock<SlotOutput> =
    LazyLock::new(|| SlotOutput::Labels(LabelSet::new(&KEY_STAGES)));

const NC_YEAR_STRINGS: ShortStrings<fn(&[u8]) -> u8> = ShortStrings {
    max_len: 2,
    slot: |nc_year| stage_index_of_nc_year(nc_year).unwrap_or(NULL_SLOT),
};

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The key stage of a national curriculum year group: `EYFS` for N1, N2 and R (reception); \
         `KS1` for years 1-2, `KS2` 3-6, `KS3` 7-9, `KS4` 10-11, `KS5` 12-14. NULL for `X` (not \
         following the national curriculum), NULL and any other value. Takes the census string or \
         the year as an integer.",
        "key_stage(nc_year)",
    )
    .with_sql_example(
        "```sql\n> SELECT key_stage('R') AS a, key_stage('7') AS b, key_stage(11) AS c, key_stage('X') AS d;\n\
         +------+-----+-----+---+\n\
         | a    | b   | c   | d |\n\
         +------+-----+-----+---+\n\
         | EYFS | KS3 | KS4 |   |\n\
         +------+-----+-----+---+\n```",
    )
    .with_argument(
        "nc_year",
        "The NC year group: a census string (`N1`, `N2`, `R`, `1`..`14`, `X`) or an integer.",
    )
    .build()
});

impl ScalarUDFImpl for KeyStage {
    fn name(&self) -> &str {
        "key_stage"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(OUTPUT.data_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [nc_year] = args.args.as_slice() else {
            return exec_err!("key_stage expects 1 argument");
        };
        match nc_year {
            ColumnarValue::Scalar(ScalarValue::Int64(year)) => Ok(ColumnarValue::Scalar(
                OUTPUT.scalar(year.and_then(stage_index_of_year).unwrap_or(NULL_SLOT)),
            )),
            ColumnarValue::Array(years) if years.data_type() == &DataType::Int64 => {
                let years = years.as_primitive::<Int64Type>();
                let mut slots: Vec<u8> = years
                    .values()
                    .iter()
                    .map(|&year| stage_index_of_year(year).unwrap_or(NULL_SLOT))
                    .collect();
                mask_nulls(&mut slots, years.nulls());
                Ok(ColumnarValue::Array(OUTPUT.array(&slots)))
            }
            strings => OUTPUT.invoke(strings, &NC_YEAR_STRINGS),
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
    fn key_stages_of_census_values() {
        let cases = [
            ("N1", Some("EYFS")),
            ("N2", Some("EYFS")),
            ("R", Some("EYFS")),
            ("1", Some("KS1")),
            ("2", Some("KS1")),
            ("3", Some("KS2")),
            ("6", Some("KS2")),
            ("7", Some("KS3")),
            ("9", Some("KS3")),
            ("10", Some("KS4")),
            ("11", Some("KS4")),
            ("12", Some("KS5")),
            ("14", Some("KS5")),
            ("15", None),
            ("0", None),
            ("01", None),
            ("X", None),
            ("r", None),
            ("", None),
        ];
        for (nc_year, stage) in cases {
            assert_eq!(key_stage_of_nc_year(nc_year), stage, "{nc_year:?}");
        }
        assert_eq!(key_stage_of_year_number(14), Some("KS5"));
        assert_eq!(key_stage_of_year_number(-1), None);
    }
}

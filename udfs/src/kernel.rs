//! Array machinery shared by the functions: classify short strings (codes, NC years) into small
//! integer "slots" without comparing strings, and build output arrays from slots.
//!
//! A slot is a `u8` a function gives each distinct input (a category's index, `0`/`1` for a
//! predicate), with [`NULL_SLOT`] for a NULL output. Classifying is a table lookup on the string's
//! bytes; a dictionary's values are classified once and its keys mapped through the result, so a
//! dictionary-encoded column is never expanded into strings.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, BooleanArray, GenericStringArray,
    MAX_INLINE_VIEW_LEN, OffsetSizeTrait, PrimitiveArray, StringViewArray,
    downcast_dictionary_array, make_view,
};
use datafusion::arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{ArrowNativeType, DataType};
use datafusion::common::types::{NativeType, logical_int64, logical_string};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    Coercion, ColumnarValue, EncodingPreservation, Signature, TypeSignatureClass, Volatility,
};

/// The slot of a NULL output (a NULL input, `-`, an unknown value).
pub(crate) const NULL_SLOT: u8 = u8::MAX;

/// A string argument: `Utf8`, `LargeUtf8` and `Utf8View` pass unchanged, and so do dictionaries
/// of them (no dictionary is materialised); an untyped NULL becomes a string. Anything else is a
/// plan error that names the expected type (`String`).
pub(crate) fn string_arg() -> Coercion {
    Coercion::new_exact(TypeSignatureClass::Native(logical_string()))
        .with_encoding_preservation(EncodingPreservation::dictionary())
}

/// An integer argument: every integer type (and an untyped NULL) is cast to `Int64`.
pub(crate) fn int64_arg() -> Coercion {
    Coercion::new_implicit(
        TypeSignatureClass::Native(logical_int64()),
        vec![TypeSignatureClass::Integer],
        NativeType::Int64,
    )
}

/// A signature of typed arguments with names, so that a call with wrong types or the wrong number
/// of arguments fails with the function's real signature (`attendance_category(code: String)`).
pub(crate) fn typed_signature(args: Vec<Coercion>, names: &[&str]) -> Signature {
    Signature::coercible(args, Volatility::Immutable)
        .with_parameter_names(names.to_vec())
        .expect("one name per argument")
}

/// The signature of a function of one string code.
pub(crate) fn code_signature() -> Signature {
    typed_signature(vec![string_arg()], &["code"])
}

/// The string inside a string scalar (or a dictionary scalar of one); `None` for NULL.
pub(crate) fn scalar_str(value: &ScalarValue) -> Result<Option<&str>> {
    match value {
        ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v) => {
            Ok(v.as_deref())
        }
        ScalarValue::Dictionary(_, inner) => scalar_str(inner),
        ScalarValue::Null => Ok(None),
        other => exec_err!("expected a string, got {}", other.data_type()),
    }
}

/// Classifies strings of at most `max_len` bytes (`max_len` <= 12, the inline length of a
/// `Utf8View`) with `slot`; longer strings and NULLs get [`NULL_SLOT`].
#[derive(Clone, Copy)]
pub(crate) struct ShortStrings<F> {
    pub max_len: usize,
    pub slot: F,
}

impl<F: Fn(&[u8]) -> u8> ShortStrings<F> {
    #[inline]
    fn classify(&self, bytes: &[u8]) -> u8 {
        if bytes.len() > self.max_len {
            NULL_SLOT
        } else {
            (self.slot)(bytes)
        }
    }

    /// The slot of a string scalar.
    pub(crate) fn scalar(&self, value: &ScalarValue) -> Result<u8> {
        Ok(scalar_str(value)?.map_or(NULL_SLOT, |s| self.classify(s.as_bytes())))
    }

    /// The slot of every row of a string (or string dictionary) array.
    pub(crate) fn array(&self, array: &dyn Array) -> Result<Vec<u8>> {
        debug_assert!(self.max_len <= MAX_INLINE_VIEW_LEN as usize);
        let mut slots = downcast_dictionary_array!(
            array => {
                // Classify the (few) dictionary values once, then map the keys.
                let value_slots = self.array(array.values().as_ref())?;
                slots_of_keys(array.keys(), &value_slots)
            },
            DataType::Utf8 => self.offsets(array.as_string::<i32>()),
            DataType::LargeUtf8 => self.offsets(array.as_string::<i64>()),
            DataType::Utf8View => self.views(array.as_string_view()),
            DataType::Null => vec![NULL_SLOT; array.len()],
            other => return exec_err!("expected a string array, got {other}"),
        );
        mask_nulls(&mut slots, array.nulls());
        Ok(slots)
    }

    fn offsets<O: OffsetSizeTrait>(&self, array: &GenericStringArray<O>) -> Vec<u8> {
        let data = array.value_data();
        array
            .value_offsets()
            .windows(2)
            .map(|w| self.classify(&data[w[0].as_usize()..w[1].as_usize()]))
            .collect()
    }

    /// Reads short strings straight from the views: a string of up to 12 bytes is stored inline,
    /// after its 4-byte length.
    fn views(&self, array: &StringViewArray) -> Vec<u8> {
        array
            .views()
            .iter()
            .map(|view| {
                let len = *view as u32 as usize;
                if len > self.max_len {
                    NULL_SLOT
                } else {
                    let bytes = view.to_le_bytes();
                    (self.slot)(&bytes[4..4 + len])
                }
            })
            .collect()
    }
}

fn slots_of_keys<K: ArrowPrimitiveType>(keys: &PrimitiveArray<K>, value_slots: &[u8]) -> Vec<u8> {
    keys.values()
        .iter()
        .map(|key| {
            value_slots
                .get(key.as_usize())
                .copied()
                .unwrap_or(NULL_SLOT)
        })
        .collect()
}

/// Sets the slot of every NULL row to [`NULL_SLOT`].
pub(crate) fn mask_nulls(slots: &mut [u8], nulls: Option<&NullBuffer>) {
    if let Some(nulls) = nulls.filter(|n| n.null_count() > 0) {
        for (slot, valid) in slots.iter_mut().zip(nulls.iter()) {
            if !valid {
                *slot = NULL_SLOT;
            }
        }
    }
}

/// The validity of an output built from slots: `None` when no slot is NULL.
pub(crate) fn validity(slots: &[u8]) -> Option<NullBuffer> {
    if slots.contains(&NULL_SLOT) {
        Some(NullBuffer::new(BooleanBuffer::collect_bool(
            slots.len(),
            |row| slots[row] != NULL_SLOT,
        )))
    } else {
        None
    }
}

/// The output of a predicate.
pub(crate) static BOOLEAN: SlotOutput = SlotOutput::Boolean;

/// What a slot means in a function's output.
#[derive(Debug)]
pub enum SlotOutput {
    /// Slot `0` is false, `1` is true.
    Boolean,
    /// Slot `i` is the `i`-th label.
    Labels(LabelSet),
}

impl SlotOutput {
    pub(crate) fn data_type(&self) -> DataType {
        match self {
            SlotOutput::Boolean => DataType::Boolean,
            SlotOutput::Labels(_) => DataType::Utf8View,
        }
    }

    pub(crate) fn array(&self, slots: &[u8]) -> ArrayRef {
        match self {
            SlotOutput::Boolean => Arc::new(BooleanArray::new(
                BooleanBuffer::collect_bool(slots.len(), |row| slots[row] == 1),
                validity(slots),
            )),
            SlotOutput::Labels(labels) => Arc::new(labels.array(slots)),
        }
    }

    pub(crate) fn scalar(&self, slot: u8) -> ScalarValue {
        match self {
            SlotOutput::Boolean => ScalarValue::Boolean((slot != NULL_SLOT).then_some(slot == 1)),
            SlotOutput::Labels(labels) => labels.scalar(slot),
        }
    }

    /// Evaluates a one-argument string function.
    pub(crate) fn invoke<F: Fn(&[u8]) -> u8>(
        &self,
        arg: &ColumnarValue,
        strings: &ShortStrings<F>,
    ) -> Result<ColumnarValue> {
        Ok(match arg {
            ColumnarValue::Scalar(value) => {
                ColumnarValue::Scalar(self.scalar(strings.scalar(value)?))
            }
            ColumnarValue::Array(array) => ColumnarValue::Array(self.array(&strings.array(array)?)),
        })
    }
}

/// A fixed set of output strings, built once, from which a `Utf8View` array is made by copying
/// one precomputed 16-byte view per row: no string is copied or validated per row.
#[derive(Debug)]
pub struct LabelSet {
    labels: Vec<String>,
    /// All labels longer than 12 bytes, concatenated (the views point into it).
    buffer: Buffer,
    views: Vec<u128>,
}

impl LabelSet {
    pub(crate) fn new<S: AsRef<str>>(labels: &[S]) -> Self {
        assert!(labels.len() < NULL_SLOT as usize, "too many labels");
        let mut data = Vec::new();
        let views = labels
            .iter()
            .map(|label| {
                let label = label.as_ref();
                let offset = u32::try_from(data.len()).expect("labels are short");
                if label.len() > MAX_INLINE_VIEW_LEN as usize {
                    data.extend_from_slice(label.as_bytes());
                }
                make_view(label.as_bytes(), 0, offset)
            })
            .collect();
        Self {
            labels: labels.iter().map(|l| l.as_ref().to_string()).collect(),
            buffer: Buffer::from_vec(data),
            views,
        }
    }

    pub(crate) fn label(&self, slot: u8) -> Option<&str> {
        self.labels.get(slot as usize).map(String::as_str)
    }

    pub(crate) fn scalar(&self, slot: u8) -> ScalarValue {
        ScalarValue::Utf8View(self.label(slot).map(str::to_string))
    }

    pub(crate) fn array(&self, slots: &[u8]) -> StringViewArray {
        let views: Vec<u128> = slots
            .iter()
            .map(|&slot| self.views.get(slot as usize).copied().unwrap_or(0))
            .collect();
        // SAFETY: every view is either 0 (an empty string, under a NULL) or one made by
        // `make_view` from a valid UTF-8 label stored inline or in `self.buffer` at its offset.
        unsafe {
            StringViewArray::new_unchecked(
                ScalarBuffer::from(views),
                vec![self.buffer.clone()],
                validity(slots),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{DictionaryArray, LargeStringArray, StringArray};
    use datafusion::arrow::datatypes::{Int8Type, UInt16Type};

    fn length_slot() -> ShortStrings<impl Fn(&[u8]) -> u8> {
        ShortStrings {
            max_len: 2,
            slot: |bytes: &[u8]| bytes.len() as u8,
        }
    }

    #[test]
    fn every_string_layout_gives_the_same_slots() {
        let values = [Some("a"), None, Some("bc"), Some("def"), Some("")];
        let expected = vec![1, NULL_SLOT, 2, NULL_SLOT, 0];
        let strings = length_slot();
        let utf8 = StringArray::from(values.to_vec());
        let large = LargeStringArray::from(values.to_vec());
        let view = StringViewArray::from(values.to_vec());
        let dict: DictionaryArray<Int8Type> = values.iter().copied().collect();
        let dict16: DictionaryArray<UInt16Type> = values.iter().copied().collect();
        assert_eq!(strings.array(&utf8).unwrap(), expected);
        assert_eq!(strings.array(&large).unwrap(), expected);
        assert_eq!(strings.array(&view).unwrap(), expected);
        assert_eq!(strings.array(&dict).unwrap(), expected);
        assert_eq!(strings.array(&dict16).unwrap(), expected);
    }

    #[test]
    fn label_arrays_hold_short_and_long_labels() {
        let labels = LabelSet::new(&["short", "a label longer than twelve bytes"]);
        let array = labels.array(&[1, 0, NULL_SLOT, 1]);
        let got: Vec<Option<&str>> = array.iter().collect();
        assert_eq!(
            got,
            vec![
                Some("a label longer than twelve bytes"),
                Some("short"),
                None,
                Some("a label longer than twelve bytes")
            ]
        );
    }
}

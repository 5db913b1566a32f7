//! Aggregate functions over register marks: they count each group's marks by category.
//!
//! They run over billions of marks, so both share [`CodeTally`]: the code of each row is
//! classified by table lookup into one of a few counters (a dictionary's values once per batch),
//! and a [`GroupsAccumulator`] adds it to its group's counter, all in `i64`. There is no per-row
//! allocation and no string comparison. The row [`Accumulator`] (used without `GROUP BY` and in
//! window functions) histograms the counters of a batch.

mod absence_rate;
mod reason_counts;
mod session_counts;

use std::fmt::Debug;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err, not_impl_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, DocSection, Documentation, EmitTo,
    GroupsAccumulator, Signature,
};

use crate::codes::{CODES, CodeInfo, MAX_CODE_LEN, code_id, slot_table};
use crate::kernel::{NULL_SLOT, ShortStrings, code_signature};

pub use absence_rate::AbsenceRate;
pub use reason_counts::ReasonCounts;
pub use session_counts::SessionCounts;

/// The documentation section of the aggregate functions of this crate.
pub(crate) const AGGREGATE_DOC_SECTION: DocSection = DocSection {
    include: true,
    label: "Attendance Aggregate Functions",
    description: Some("Aggregates of school attendance register marks (DfE measures)."),
};

/// The aggregate functions of this family.
pub fn aggregate_udfs() -> Vec<Arc<AggregateUDF>> {
    vec![
        Arc::new(AggregateUDF::from(CodeTally::<SessionCounts>::new())),
        Arc::new(AggregateUDF::from(CodeTally::<AbsenceRate>::new())),
        Arc::new(AggregateUDF::from(CodeTally::<ReasonCounts>::new())),
    ]
}

/// What distinguishes one code-counting aggregate from another.
pub trait TallySpec: Debug + Default + PartialEq + Eq + Hash + Send + Sync + 'static {
    /// The SQL name.
    const NAME: &'static str;
    /// The names of the counters, which are also the aggregate's state.
    const COUNTERS: &'static [&'static str];
    /// The counter a code adds to (an index in [`Self::COUNTERS`]); `None` to count it nowhere.
    fn counter(info: &CodeInfo) -> Option<u8>;
    fn return_type() -> DataType;
    /// The result of each group from its counters (`counts.len() / COUNTERS.len()` groups, each
    /// `COUNTERS.len()` consecutive values).
    fn evaluate(counts: &[i64]) -> Result<ArrayRef>;
    fn documentation() -> &'static Documentation;
}

/// An aggregate that counts marks per counter.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CodeTally<S> {
    signature: Signature,
    spec: PhantomData<S>,
}

impl<S: TallySpec> Default for CodeTally<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: TallySpec> CodeTally<S> {
    pub fn new() -> Self {
        Self {
            signature: code_signature(),
            spec: PhantomData,
        }
    }
}

impl<S: TallySpec> AggregateUDFImpl for CodeTally<S> {
    fn name(&self) -> &str {
        S::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(S::return_type())
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if args.is_distinct {
            return not_impl_err!("{}(DISTINCT ...) is not supported", S::NAME);
        }
        Ok(Box::new(TallyAccumulator::<S>::new(1)))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(S::COUNTERS
            .iter()
            .map(|counter| {
                Arc::new(Field::new(
                    format!("{}[{counter}]", args.name),
                    DataType::Int64,
                    false,
                ))
            })
            .collect())
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        !args.is_distinct
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(TallyAccumulator::<S>::new(0)))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }

    fn default_value(&self, _data_type: &DataType) -> Result<ScalarValue> {
        ScalarValue::try_from_array(&S::evaluate(&vec![0; S::COUNTERS.len()])?, 0)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(S::documentation())
    }
}

/// The counters of every group, `S::COUNTERS.len()` consecutive `i64` per group. Serves both as
/// the [`GroupsAccumulator`] and, with one group, as the row [`Accumulator`].
#[derive(Debug)]
pub struct TallyAccumulator<S> {
    /// CodeId -> counter, [`NULL_SLOT`] for codes counted nowhere.
    counter_of_code: [u8; CODES.len()],
    counts: Vec<i64>,
    spec: PhantomData<S>,
}

impl<S: TallySpec> TallyAccumulator<S> {
    fn new(groups: usize) -> Self {
        Self {
            counter_of_code: slot_table(S::counter),
            counts: vec![0; groups * S::COUNTERS.len()],
            spec: PhantomData,
        }
    }

    /// The counter of each row's code ([`NULL_SLOT`] for NULL, `-`, unknown and uncounted
    /// codes and for rows the filter rejects).
    fn counters_of_rows(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<u8>> {
        let [codes] = values else {
            return exec_err!("{} expects 1 argument", S::NAME);
        };
        let strings = ShortStrings {
            max_len: MAX_CODE_LEN,
            slot: |bytes: &[u8]| {
                code_id(bytes).map_or(NULL_SLOT, |id| self.counter_of_code[id as usize])
            },
        };
        let mut counters = strings.array(codes.as_ref())?;
        if let Some(filter) = opt_filter {
            for (row, counter) in counters.iter_mut().enumerate() {
                if !(filter.is_valid(row) && filter.value(row)) {
                    *counter = NULL_SLOT;
                }
            }
        }
        Ok(counters)
    }

    fn resize(&mut self, total_num_groups: usize) {
        self.counts.resize(total_num_groups * S::COUNTERS.len(), 0);
    }

    /// Removes and returns the counters of the groups `emit_to` names.
    fn take(&mut self, emit_to: EmitTo) -> Vec<i64> {
        match emit_to {
            EmitTo::All => std::mem::take(&mut self.counts),
            EmitTo::First(groups) => {
                let rest = self.counts.split_off(groups * S::COUNTERS.len());
                std::mem::replace(&mut self.counts, rest)
            }
        }
    }

    /// The state arrays (one `Int64Array` per counter) of flat counters.
    fn state_arrays(counts: &[i64]) -> Vec<ArrayRef> {
        let n = S::COUNTERS.len();
        (0..n)
            .map(|c| {
                Arc::new(
                    counts
                        .iter()
                        .skip(c)
                        .step_by(n)
                        .copied()
                        .collect::<Int64Array>(),
                ) as ArrayRef
            })
            .collect()
    }

    fn merge_states(
        &mut self,
        states: &[ArrayRef],
        group_of_row: impl Fn(usize) -> usize,
    ) -> Result<()> {
        let n = S::COUNTERS.len();
        if states.len() != n {
            return exec_err!(
                "{}: expected {n} state columns, got {}",
                S::NAME,
                states.len()
            );
        }
        for (c, state) in states.iter().enumerate() {
            let state = state.as_primitive::<Int64Type>();
            for (row, count) in state.iter().enumerate() {
                self.counts[group_of_row(row) * n + c] += count.unwrap_or(0);
            }
        }
        Ok(())
    }
}

impl<S: TallySpec> GroupsAccumulator for TallyAccumulator<S> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        let counters = self.counters_of_rows(values, opt_filter)?;
        let n = S::COUNTERS.len();
        for (&group, &counter) in group_indices.iter().zip(&counters) {
            if counter != NULL_SLOT {
                self.counts[group * n + counter as usize] += 1;
            }
        }
        Ok(())
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        self.merge_states(values, |row| group_indices[row])
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        S::evaluate(&self.take(emit_to))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(Self::state_arrays(&self.take(emit_to)))
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        // Each row becomes its own group: a 1 in the counter of its code.
        let counters = self.counters_of_rows(values, opt_filter)?;
        Ok((0..S::COUNTERS.len() as u8)
            .map(|c| {
                Arc::new(
                    counters
                        .iter()
                        .map(|&counter| i64::from(counter == c))
                        .collect::<Int64Array>(),
                ) as ArrayRef
            })
            .collect())
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.counts.capacity() * size_of::<i64>()
    }
}

impl<S: TallySpec> Accumulator for TallyAccumulator<S> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let mut histogram = [0_i64; 256];
        for counter in self.counters_of_rows(values, None)? {
            histogram[counter as usize] += 1;
        }
        for (count, added) in self.counts.iter_mut().zip(histogram) {
            *count += added;
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.merge_states(states, |_| 0)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(self
            .counts
            .iter()
            .map(|&count| ScalarValue::Int64(Some(count)))
            .collect())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        ScalarValue::try_from_array(&S::evaluate(&self.counts)?, 0)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.counts.capacity() * size_of::<i64>()
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{DictionaryArray, StringArray};
    use datafusion::arrow::datatypes::Int8Type;

    use super::*;

    fn codes(values: &[Option<&str>]) -> Vec<ArrayRef> {
        vec![Arc::new(StringArray::from(values.to_vec()))]
    }

    fn counters(array: &[ArrayRef]) -> Vec<Vec<i64>> {
        array
            .iter()
            .map(|a| a.as_primitive::<Int64Type>().values().to_vec())
            .collect()
    }

    #[test]
    fn groups_update_filter_emit_and_merge() {
        let mut groups = TallyAccumulator::<AbsenceRate>::new(0);
        let values = codes(&[
            Some("/"),
            Some("I"),
            Some("N"),
            Some("D"),
            Some("-"),
            None,
            Some("I"),
        ]);
        let filter = BooleanArray::from(vec![
            Some(true),
            Some(true),
            Some(true),
            Some(true),
            Some(true),
            Some(true),
            None,
        ]);
        GroupsAccumulator::update_batch(
            &mut groups,
            &values,
            &[0, 0, 1, 1, 1, 2, 2],
            Some(&filter),
            3,
        )
        .unwrap();
        // Group 0: one attendance, one absence; group 1: one absence; group 2: nothing (filtered).
        let first = GroupsAccumulator::state(&mut groups, EmitTo::First(1)).unwrap();
        assert_eq!(counters(&first), vec![vec![1], vec![1]]);
        let rest = GroupsAccumulator::state(&mut groups, EmitTo::All).unwrap();
        assert_eq!(counters(&rest), vec![vec![0, 0], vec![1, 0]]);

        let mut merged = TallyAccumulator::<AbsenceRate>::new(0);
        GroupsAccumulator::merge_batch(&mut merged, &first, &[1], 2).unwrap();
        GroupsAccumulator::merge_batch(&mut merged, &rest, &[0, 1], 2).unwrap();
        let rates = GroupsAccumulator::evaluate(&mut merged, EmitTo::All).unwrap();
        let rates: Vec<Option<f64>> = rates
            .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
            .iter()
            .collect();
        assert_eq!(rates, vec![Some(100.0), Some(50.0)]);
    }

    #[test]
    fn convert_to_state_gives_one_group_per_row() {
        let groups = TallyAccumulator::<SessionCounts>::new(0);
        let values: Vec<ArrayRef> = vec![Arc::new(
            [Some("B"), Some("G"), Some("Z"), Some("C1")]
                .into_iter()
                .collect::<DictionaryArray<Int8Type>>(),
        )];
        let state = GroupsAccumulator::convert_to_state(&groups, &values, None).unwrap();
        // Counters: present, approved_activity, authorised, unauthorised.
        assert_eq!(
            counters(&state),
            vec![
                vec![0, 0, 0, 0],
                vec![1, 0, 0, 0],
                vec![0, 0, 0, 1],
                vec![0, 1, 0, 0]
            ]
        );
    }

    #[test]
    fn row_accumulator_counts_and_merges() {
        let mut row = TallyAccumulator::<SessionCounts>::new(1);
        Accumulator::update_batch(
            &mut row,
            &codes(&[Some("/"), Some("\\"), Some("I"), Some("x")]),
        )
        .unwrap();
        let state: Vec<ArrayRef> = Accumulator::state(&mut row)
            .unwrap()
            .into_iter()
            .map(|s| s.to_array().unwrap())
            .collect();
        Accumulator::merge_batch(&mut row, &state).unwrap();
        let ScalarValue::Struct(result) = Accumulator::evaluate(&mut row).unwrap() else {
            panic!("a struct")
        };
        let possible = result.column(0).as_primitive::<Int64Type>().value(0);
        let overall = result.column(6).as_primitive::<Int64Type>().value(0);
        assert_eq!((possible, overall), (6, 2));
    }
}

//! The real-time files as text: every output query ends with a boolean `suppressible` column
//! (a Local authority row to which one school contributes, or a School row; DOMAIN.md
//! section 7), which decides which rows' measures are written `c` and is not written itself.
//! The measures are the columns after `education_phase`.

use datafusion::arrow::array::{AsArray, RecordBatch};

use super::RealtimeError;
use crate::publish::batch_to_text;

const SUPPRESSIBLE: &str = "suppressible";

/// The outputs as text, with the measures of suppressible rows as `c` when `suppress` is on
/// (a blank measure, `pa_perc` outside the year to date, stays blank).
pub(super) fn to_text(
    batches: &[RecordBatch],
    suppress: bool,
) -> Result<Vec<RecordBatch>, RealtimeError> {
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let schema = batch.schema();
        let flag = schema.index_of(SUPPRESSIBLE)?;
        let first_measure = schema.index_of("education_phase")? + 1;
        let flags = batch.column(flag).as_boolean();
        let hidden: Vec<bool> = (0..batch.num_rows())
            .map(|i| suppress && flags.value(i))
            .collect();
        let kept: Vec<usize> = (0..batch.num_columns()).filter(|i| *i != flag).collect();
        out.push(batch_to_text(
            &batch.project(&kept)?,
            first_measure,
            &hidden,
        )?);
    }
    Ok(out)
}

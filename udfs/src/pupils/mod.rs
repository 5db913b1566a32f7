//! Functions of a pupil's characteristics (DOMAIN.md section 4).

mod key_stage;

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

pub use key_stage::{KEY_STAGES, KeyStage, key_stage_of_nc_year, key_stage_of_year_number};

/// The scalar functions of this family.
pub fn scalar_udfs() -> Vec<Arc<ScalarUDF>> {
    vec![Arc::new(ScalarUDF::from(KeyStage::new()))]
}

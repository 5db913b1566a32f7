//! attendance: an embedded analytics engine for school attendance registers in England.
pub mod schema;

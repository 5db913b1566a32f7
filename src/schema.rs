//! The Arrow schemas of the three store tables. These column names are the public interface
//! (DOMAIN.md section 5); the store, ingest, the generator and every query rely on them.
//!
//! Storage order inside every `registers` file: `urn`, `pupil_id`, `date`, `session` (`AM` before
//! `PM`), all ascending. `pupils` files are sorted by `urn`, `pupil_id`; `schools` by `urn`.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

/// The columns of the input files (DOMAIN.md section 5), in their documented order.
pub const SCHOOL_COLUMNS: [&str; 8] = [
    "urn",
    "school_name",
    "old_la_code",
    "new_la_code",
    "la_name",
    "region_code",
    "region_name",
    "phase",
];
pub const PUPIL_COLUMNS: [&str; 11] = [
    "academic_year",
    "pupil_id",
    "urn",
    "nc_year",
    "sex",
    "date_of_birth",
    "fsm",
    "sen",
    "cla",
    "cin",
    "cpp",
];
pub const REGISTER_COLUMNS: [&str; 5] = ["pupil_id", "urn", "date", "session", "code"];

/// The values of the coded columns (DOMAIN.md section 4): `nc_year` (in school order),
/// `sex`, `sen` (none, SEN support, EHC plan) and a school's `phase`.
pub const NC_YEARS: [&str; 18] = [
    "N1", "N2", "R", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "X",
];
pub const SEXES: [&str; 2] = ["M", "F"];
pub const SEN: [&str; 3] = ["N", "K", "E"];
pub const PHASES: [&str; 4] = ["primary", "secondary", "special", "alternative_provision"];

/// Partition columns of `registers`, in directory order.
pub const REGISTER_PARTITIONS: [&str; 3] = ["academic_year", "region_code", "la_code"];
/// Partition column of `pupils`.
pub const PUPIL_PARTITIONS: [&str; 1] = ["academic_year"];

/// `schools`: one row per school (key `urn`).
pub static SCHOOLS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("urn", DataType::Int32, false),
        Field::new("school_name", DataType::Utf8, false),
        Field::new("old_la_code", DataType::Utf8, false),
        Field::new("new_la_code", DataType::Utf8, false),
        Field::new("la_name", DataType::Utf8, false),
        Field::new("region_code", DataType::Utf8, false),
        Field::new("region_name", DataType::Utf8, false),
        Field::new("phase", DataType::Utf8, false),
    ]))
});

/// `pupils`: one row per enrolment per academic year (key `academic_year, pupil_id, urn`).
/// `academic_year` is the partition column and comes last, as Delta Lake reads it back.
pub static PUPILS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("pupil_id", DataType::Utf8, false),
        Field::new("urn", DataType::Int32, false),
        Field::new("nc_year", DataType::Utf8, false),
        Field::new("sex", DataType::Utf8, false),
        Field::new("date_of_birth", DataType::Date32, true),
        Field::new("fsm", DataType::Boolean, false),
        Field::new("sen", DataType::Utf8, false),
        Field::new("cla", DataType::Boolean, false),
        Field::new("cin", DataType::Boolean, false),
        Field::new("cpp", DataType::Boolean, false),
        Field::new("academic_year", DataType::Utf8, false),
    ]))
});

/// `registers`: one row per session mark (key `pupil_id, urn, date, session`).
/// `la_code` is the old 3-digit DfE code of the school's local authority.
/// The three partition columns come last, as Delta Lake reads them back.
pub static REGISTERS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("pupil_id", DataType::Utf8, false),
        Field::new("urn", DataType::Int32, false),
        Field::new("date", DataType::Date32, false),
        Field::new("session", DataType::Utf8, false),
        Field::new("code", DataType::Utf8, false),
        Field::new("academic_year", DataType::Utf8, false),
        Field::new("region_code", DataType::Utf8, false),
        Field::new("la_code", DataType::Utf8, false),
    ]))
});

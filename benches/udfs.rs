//! The attendance UDFs against the built-in SQL that computes the same thing, on 10 million
//! dictionary-encoded register marks in a `MemTable` (as DataFusion reads a Parquet string column
//! with few distinct values).
//!
//! `cargo bench -p attendance --bench udfs`. Sample sizes are small so the whole run takes a few
//! minutes; the figures are for comparing each pair, not for absolute throughput.

use std::sync::Arc;
use std::time::Duration;

use attendance_udfs::codes::{CODES, Category, NO_MARK};
use criterion::{Criterion, criterion_group, criterion_main};
use datafusion::arrow::array::{
    ArrayRef, DictionaryArray, Int32Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};

const ROWS: usize = 10_000_000;
const BATCH_ROWS: usize = 8192;
const PUPILS: u64 = 26_000;
const PARTITIONS: usize = 2;

/// A small deterministic generator (xorshift64*), so every run sees the same data.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A realistic mix: 88% `/` or `\`, the rest spread over the other codes and `-`.
fn code_index(rng: &mut Xorshift, dictionary_len: u64) -> i32 {
    let roll = rng.below(1000);
    if roll < 880 {
        (roll % 2) as i32 // `/` and `\` are the first two entries of the dictionary
    } else {
        (2 + rng.below(dictionary_len - 2)) as i32
    }
}

fn marks_table() -> MemTable {
    let dictionary: Vec<&str> = CODES
        .iter()
        .map(|info| info.code)
        .chain([NO_MARK])
        .collect();
    assert_eq!(&dictionary[..2], ["/", "\\"]);
    let values: ArrayRef = Arc::new(StringArray::from(dictionary.clone()));
    let schema = Arc::new(Schema::new(vec![
        Field::new("pupil", DataType::Int32, false),
        Field::new(
            "code",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            true,
        ),
    ]));
    let mut rng = Xorshift(0x5EED);
    let batches: Vec<RecordBatch> = (0..ROWS.div_ceil(BATCH_ROWS))
        .map(|_| {
            let pupils: Int32Array = (0..BATCH_ROWS).map(|_| rng.below(PUPILS) as i32).collect();
            let keys: Int32Array = (0..BATCH_ROWS)
                .map(|_| code_index(&mut rng, dictionary.len() as u64))
                .collect();
            let codes = DictionaryArray::<Int32Type>::try_new(keys, values.clone()).unwrap();
            RecordBatch::try_new(schema.clone(), vec![Arc::new(pupils), Arc::new(codes)]).unwrap()
        })
        .collect();
    MemTable::try_new(schema, partitions(batches)).unwrap()
}

fn enrolments_table() -> MemTable {
    let schema = Arc::new(Schema::new(vec![
        Field::new("overall", DataType::Int64, false),
        Field::new("possible", DataType::Int64, false),
    ]));
    let mut rng = Xorshift(0xBA4D);
    let batches: Vec<RecordBatch> = (0..ROWS.div_ceil(BATCH_ROWS))
        .map(|_| {
            let possible: Vec<i64> = (0..BATCH_ROWS)
                .map(|_| 300 + rng.below(81) as i64)
                .collect();
            let overall: Int64Array = possible
                .iter()
                .map(|&p| {
                    if rng.below(5) == 0 {
                        rng.below(p as u64 + 1) as i64
                    } else {
                        rng.below(p as u64 / 10) as i64
                    }
                })
                .collect();
            RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(overall), Arc::new(Int64Array::from(possible))],
            )
            .unwrap()
        })
        .collect();
    MemTable::try_new(schema, partitions(batches)).unwrap()
}

fn partitions(batches: Vec<RecordBatch>) -> Vec<Vec<RecordBatch>> {
    let mut partitions = vec![Vec::new(); PARTITIONS];
    for (i, batch) in batches.into_iter().enumerate() {
        partitions[i % PARTITIONS].push(batch);
    }
    partitions
}

/// `'a', 'b', ...`: the codes for which `keep` holds, as an SQL list.
fn sql_codes(keep: impl Fn(Category) -> bool) -> String {
    CODES
        .iter()
        .filter(|info| keep(info.category))
        .map(|info| format!("'{}'", info.code))
        .collect::<Vec<_>>()
        .join(", ")
}

fn in_category(category: Category) -> String {
    format!("code IN ({})", sql_codes(|c| c == category))
}

/// The built-in equivalent of `attendance_category(code)`.
fn category_case() -> String {
    let branches: String = Category::ALL
        .iter()
        .map(|c| format!(" WHEN {} THEN '{}'", in_category(*c), c.as_str()))
        .collect();
    format!("CASE{branches} END")
}

/// The built-in equivalent of `is_absence(code)` with the same NULLs.
fn is_absence_case() -> String {
    format!(
        "CASE WHEN code IN ({}) THEN code IN ({}) END",
        sql_codes(|_| true),
        sql_codes(Category::is_absence)
    )
}

fn session_counts_sum_case() -> String {
    let sum = |condition: String, name: &str| {
        format!("SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS {name}")
    };
    let codes_in = |keep: fn(Category) -> bool| format!("code IN ({})", sql_codes(keep));
    [
        sum(codes_in(Category::is_possible), "possible"),
        sum(codes_in(Category::is_attendance), "attendance"),
        sum(in_category(Category::Present), "present"),
        sum(in_category(Category::ApprovedActivity), "approved_activity"),
        sum(in_category(Category::Authorised), "authorised"),
        sum(in_category(Category::Unauthorised), "unauthorised"),
        sum(codes_in(Category::is_absence), "overall"),
    ]
    .join(", ")
}

const ATTENDANCE_BAND_CASE: &str = "CASE WHEN possible <= 0 OR overall < 0 THEN NULL \
    WHEN overall * 10 < possible THEN 'not persistently absent' \
    WHEN overall * 5 <= possible THEN '80% to 90% attendance' \
    WHEN overall * 10 <= possible * 3 THEN '70% to 80% attendance' \
    WHEN overall * 5 <= possible * 2 THEN '60% to 70% attendance' \
    WHEN overall * 2 < possible THEN '50% to 60% attendance' \
    ELSE 'severe: 50% or less attendance' END";

/// Pairs of (name, SQL): each UDF query next to its built-in equivalent.
fn queries() -> Vec<(&'static str, String)> {
    vec![
        (
            "attendance_category/udf",
            "SELECT count(attendance_category(code)) FROM marks".into(),
        ),
        (
            "attendance_category/case",
            format!("SELECT count({}) FROM marks", category_case()),
        ),
        (
            "attendance_category_eq/udf",
            "SELECT count(*) FROM marks WHERE attendance_category(code) = 'unauthorised'".into(),
        ),
        (
            "attendance_category_eq/case",
            format!(
                "SELECT count(*) FROM marks WHERE ({}) = 'unauthorised'",
                category_case()
            ),
        ),
        (
            "is_absence_projection/udf",
            "SELECT count(is_absence(code)) FROM marks".into(),
        ),
        (
            "is_absence_projection/case",
            format!("SELECT count({}) FROM marks", is_absence_case()),
        ),
        (
            "is_absence_filter/udf",
            "SELECT count(*) FROM marks WHERE is_absence(code)".into(),
        ),
        (
            "is_absence_filter/in_list",
            format!(
                "SELECT count(*) FROM marks WHERE code IN ({})",
                sql_codes(Category::is_absence)
            ),
        ),
        (
            "session_counts_by_pupil/udaf",
            "SELECT pupil, session_counts(code) FROM marks GROUP BY pupil".into(),
        ),
        (
            "session_counts_by_pupil/sum_case",
            format!(
                "SELECT pupil, {} FROM marks GROUP BY pupil",
                session_counts_sum_case()
            ),
        ),
        (
            "session_counts_total/udaf",
            "SELECT session_counts(code) FROM marks".into(),
        ),
        (
            "session_counts_total/sum_case",
            format!("SELECT {} FROM marks", session_counts_sum_case()),
        ),
        (
            "attendance_band/udf",
            "SELECT count(attendance_band(overall, possible)) FROM enrolments".into(),
        ),
        (
            "attendance_band/case",
            format!("SELECT count({ATTENDANCE_BAND_CASE}) FROM enrolments"),
        ),
    ]
}

fn session() -> SessionContext {
    let config = SessionConfig::new().with_target_partitions(PARTITIONS);
    let ctx = SessionContext::new_with_config(config);
    attendance_udfs::register_all(&ctx);
    ctx.register_table("marks", Arc::new(marks_table()))
        .unwrap();
    ctx.register_table("enrolments", Arc::new(enrolments_table()))
        .unwrap();
    ctx
}

fn bench_udfs(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let ctx = session();
    let mut group = c.benchmark_group("udfs_10m_marks");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (name, sql) in queries() {
        // Plan once outside the loop and check that the query runs.
        let rows: usize = runtime
            .block_on(async { ctx.sql(&sql).await?.collect().await })
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .iter()
            .map(RecordBatch::num_rows)
            .sum();
        assert!(rows > 0, "{name}");
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async { ctx.sql(&sql).await.unwrap().collect().await.unwrap() })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_udfs);
criterion_main!(benches);

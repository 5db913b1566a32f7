//! Cross-check: on generated data, the national Academic year row of the indicators equals an
//! independent SQL over `registers` that uses neither `enrolment_summary` nor any attendance
//! function (the code lists and the headline scope are written out again here from DOMAIN.md).

use attendance::generate::GenerateConfig;
use attendance::generate::store::{Selection, generate_store};
use attendance::indicators::{IndicatorOptions, run};
use attendance::session::{SessionOptions, base_session};
use attendance::store::Store;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;

use crate::common::*;

/// DOMAIN.md sections 1 and 2, restated: categories by code list; pupils aged 5 to 15 on
/// 31 August 2024 (from date of birth, else NC year + 4); for those aged 15, marks on or after the
/// spring bank holiday (26 May 2025) removed; no alternative provision; schools with fewer than
/// 6 in-scope enrolments removed; enrolments with no possible session left out.
const INDEPENDENT: &str = r#"
WITH scope AS (
    SELECT p.pupil_id, p.urn,
           CASE WHEN p.date_of_birth IS NOT NULL
                THEN 2024 - CAST(date_part('year', p.date_of_birth) AS INT)
                     - CASE WHEN date_part('month', p.date_of_birth) >= 9 THEN 1 ELSE 0 END
                WHEN p.nc_year = 'R' THEN 4 WHEN p.nc_year = 'N2' THEN 3 WHEN p.nc_year = 'N1' THEN 2
                WHEN p.nc_year = 'X' THEN NULL
                ELSE CAST(p.nc_year AS INT) + 4 END AS age
    FROM pupils p JOIN schools s ON s.urn = p.urn
    WHERE p.academic_year = '2024-25' AND s.phase <> 'alternative_provision'
),
per_enrolment AS (
    SELECT r.pupil_id, r.urn,
        sum(CASE WHEN r.code IN ('/', '\', 'L', 'B', 'K', 'P', 'V', 'W', 'J',
                                 'C', 'C1', 'C2', 'E', 'I', 'J1', 'M', 'R', 'S', 'T', 'H', 'F',
                                 'G', 'N', 'O', 'U') THEN 1 ELSE 0 END) AS possible,
        sum(CASE WHEN r.code IN ('C', 'C1', 'C2', 'E', 'I', 'J1', 'M', 'R', 'S', 'T', 'H', 'F')
                 THEN 1 ELSE 0 END) AS authorised,
        sum(CASE WHEN r.code IN ('G', 'N', 'O', 'U') THEN 1 ELSE 0 END) AS unauthorised
    FROM registers r JOIN scope e ON e.pupil_id = r.pupil_id AND e.urn = r.urn
    WHERE e.age BETWEEN 5 AND 15 AND (e.age < 15 OR r.date < DATE '2025-05-26')
    GROUP BY r.pupil_id, r.urn
),
counted AS (
    SELECT * FROM per_enrolment WHERE possible > 0
),
kept AS (
    SELECT c.* FROM counted c
    JOIN (SELECT urn FROM counted GROUP BY urn HAVING count(*) >= 6) s ON s.urn = c.urn
)
SELECT count(*) AS enrolments,
       sum(possible) AS possible,
       sum(authorised) AS authorised,
       sum(unauthorised) AS unauthorised,
       sum(CASE WHEN (authorised + unauthorised) * 10 >= possible THEN 1 ELSE 0 END) AS pa,
       sum(CASE WHEN (authorised + unauthorised) * 2 >= possible THEN 1 ELSE 0 END) AS sa,
       count(DISTINCT urn) AS schools
FROM kept
"#;

#[tokio::test]
async fn national_row_equals_independent_sql() {
    let f = Fixture::new();
    let store = Store::new(f.data_dir());
    let config = GenerateConfig {
        pupils: 10_000,
        seed: 11,
        academic_year: 2024,
    };
    let selection = Selection::new(&config, &[]).unwrap();
    generate_store(
        &store,
        &selection,
        &SessionOptions::default(),
        &attendance::progress::silent(),
        false,
    )
    .await
    .unwrap();

    let ctx = base_session(&SessionOptions::default()).unwrap();
    store.register_tables(&ctx).await.unwrap();
    let batches = ctx.sql(INDEPENDENT).await.unwrap().collect().await.unwrap();
    let value = |name: &str| {
        let column = batches[0].column_by_name(name).unwrap();
        let column = datafusion::arrow::compute::cast(
            column,
            &datafusion::arrow::datatypes::DataType::Int64,
        )
        .unwrap();
        let column = column.as_primitive::<Int64Type>();
        assert!(!column.is_null(0));
        column.value(0) as f64
    };

    let out = f.dir.path().join("out");
    run(
        &store,
        &IndicatorOptions {
            out: out.clone(),
            years: vec!["2024-25".into()],
            periods: vec!["Academic year".into()],
            suppress: true,
            parquet: false,
            session: SessionOptions::default(),
            force: false,
        },
    )
    .await
    .unwrap();
    let mut reader =
        csv::Reader::from_path(out.join("absence_rates_by_geographic_level.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let national = reader
        .records()
        .map(|r| r.unwrap())
        .find(|r| r.get(2) == Some("National") && r.get(10) == Some("Total"))
        .expect("national Total row");
    let cell = |name: &str| -> f64 {
        let i = header.iter().position(|h| h == name).unwrap();
        national.get(i).unwrap().parse().unwrap()
    };
    assert!(value("enrolments") > 5000.0, "a real data set");
    assert_eq!(cell("enrolments"), value("enrolments"));
    assert_eq!(cell("num_schools"), value("schools"));
    assert_eq!(cell("sess_possible"), value("possible"));
    assert_eq!(cell("sess_authorised"), value("authorised"));
    assert_eq!(cell("sess_unauthorised"), value("unauthorised"));
    assert_eq!(cell("enrolments_pa_10_exact"), value("pa"));
    assert_eq!(cell("enrolments_pa_50_exact"), value("sa"));
    let overall = (value("authorised") + value("unauthorised")) * 100.0 / value("possible");
    assert!((cell("sess_overall_percent") - overall).abs() < 1e-9);
    let pa = value("pa") * 100.0 / value("enrolments");
    assert!((cell("enrolments_pa_10_exact_percent") - pa).abs() < 1e-9);
}

//! Ingest: validation rules of DOMAIN.md section 5, atomicity, re-loading, conflicts, --update,
//! --reject-file.

use attendance::ingest::IngestOptions;

use crate::common::*;

/// A snapshot of all three tables, to check that a failed ingest changed nothing.
async fn snapshot(f: &Fixture) -> String {
    let mut s = all_marks(&f.store()).await;
    s.push_str(
        &f.query("SELECT * FROM pupils ORDER BY academic_year, urn, pupil_id")
            .await,
    );
    s.push_str(&f.query("SELECT * FROM schools ORDER BY urn").await);
    s
}

enum Kind {
    Schools,
    Pupils,
    Registers,
}

/// Each invalid-input rule: the bad file, and the `line: field` its error must name.
fn cases() -> Vec<(&'static str, Kind, String, &'static str)> {
    let reg =
        |rows: &str| format!("pupil_id,urn,date,session,code\nP1,100001,2024-09-03,AM,/\n{rows}\n");
    let pup = |rows: &str| {
        format!(
            "academic_year,pupil_id,urn,nc_year,sex,date_of_birth,fsm,sen,cla,cin,cpp\n2024-25,P9,100001,4,F,,false,N,false,false,false\n{rows}\n"
        )
    };
    let sch = |rows: &str| {
        format!(
            "urn,school_name,old_la_code,new_la_code,la_name,region_code,region_name,phase\n100009,Gamma,801,E06000023,Bristol,E12000009,South West,special\n{rows}\n"
        )
    };
    vec![
        (
            "unknown code",
            Kind::Registers,
            reg("P1,100001,2024-09-03,PM,Q9"),
            "3: field `code`",
        ),
        (
            "empty code",
            Kind::Registers,
            reg("P1,100001,2024-09-03,PM,"),
            "3: field `code`",
        ),
        (
            "lower-case code",
            Kind::Registers,
            reg("P1,100001,2024-09-03,PM,i"),
            "3: field `code`",
        ),
        (
            "unparsable date",
            Kind::Registers,
            reg("P1,100001,2024-13-03,PM,/"),
            "3: field `date`",
        ),
        (
            "date in another form",
            Kind::Registers,
            reg("P1,100001,03/09/2024,PM,/"),
            "3: field `date`",
        ),
        (
            "unparsable integer",
            Kind::Registers,
            reg("P1,10000x,2024-09-03,PM,/"),
            "3: field `urn`",
        ),
        (
            "bad session",
            Kind::Registers,
            reg("P1,100001,2024-09-03,EV,/"),
            "3: field `session`",
        ),
        (
            "pupil not enrolled there",
            Kind::Registers,
            reg("P3,100001,2024-09-03,PM,/"),
            "3: field `pupil_id`",
        ),
        (
            "pupil not enrolled that year",
            Kind::Registers,
            reg("P1,100001,2025-09-03,PM,/"),
            "3: field `pupil_id`",
        ),
        (
            "school not in schools",
            Kind::Registers,
            reg("P1,999999,2024-09-03,PM,/"),
            "3: field `urn`",
        ),
        (
            "two marks in one file",
            Kind::Registers,
            reg("P1,100001,2024-09-03,AM,I"),
            "3: field `session`",
        ),
        (
            // Not adjacent: the file is not in key order, so the duplicate query runs.
            "two marks in one file, apart",
            Kind::Registers,
            reg("P2,100001,2024-09-03,AM,/\nP1,100001,2024-09-03,AM,I"),
            "4: field `session`",
        ),
        (
            "conflict with stored mark",
            Kind::Registers,
            reg("P1,100001,2024-09-02,AM,N"),
            "3: field `code`",
        ),
        (
            "Saturday",
            Kind::Registers,
            reg("P1,100001,2024-09-07,AM,/"),
            "3: field `date`",
        ),
        (
            "Sunday",
            Kind::Registers,
            reg("P1,100001,2024-09-08,PM,/"),
            "3: field `date`",
        ),
        (
            "too few fields",
            Kind::Registers,
            reg("P1,100001,2024-09-03,PM"),
            "3: field `-`",
        ),
        (
            "too many fields",
            Kind::Registers,
            reg("P1,100001,2024-09-03,PM,/,x"),
            "3: field `-`",
        ),
        (
            "pupil_id too long",
            Kind::Registers,
            reg(&format!("{},100001,2024-09-03,PM,/", "P".repeat(33))),
            "3: field `pupil_id`",
        ),
        (
            "no header",
            Kind::Registers,
            "P1,100001,2024-09-03,PM,/\n".to_string(),
            "1: field `pupil_id`",
        ),
        (
            "missing column",
            Kind::Registers,
            "pupil_id,urn,date,session\nP1,100001,2024-09-03,PM\n".to_string(),
            "1: field `code`",
        ),
        (
            "school not in schools (pupil)",
            Kind::Pupils,
            pup("2024-25,P8,999999,4,F,,false,N,false,false,false"),
            "3: field `urn`",
        ),
        (
            "bad nc_year",
            Kind::Pupils,
            pup("2024-25,P8,100001,Y4,F,,false,N,false,false,false"),
            "3: field `nc_year`",
        ),
        (
            "bad sex",
            Kind::Pupils,
            pup("2024-25,P8,100001,4,X,,false,N,false,false,false"),
            "3: field `sex`",
        ),
        (
            "bad sen",
            Kind::Pupils,
            pup("2024-25,P8,100001,4,F,,false,S,false,false,false"),
            "3: field `sen`",
        ),
        (
            "bad boolean",
            Kind::Pupils,
            pup("2024-25,P8,100001,4,F,,yes,N,false,false,false"),
            "3: field `fsm`",
        ),
        (
            "bad boolean cpp",
            Kind::Pupils,
            pup("2024-25,P8,100001,4,F,,false,N,false,false,2"),
            "3: field `cpp`",
        ),
        (
            "bad date of birth",
            Kind::Pupils,
            pup("2024-25,P8,100001,4,F,2016-02-30,false,N,false,false,false"),
            "3: field `date_of_birth`",
        ),
        (
            "bad academic year",
            Kind::Pupils,
            pup("2024-26,P8,100001,4,F,,false,N,false,false,false"),
            "3: field `academic_year`",
        ),
        (
            "pupil_id too long (pupil)",
            Kind::Pupils,
            pup(&format!(
                "2024-25,{},100001,4,F,,false,N,false,false,false",
                "x".repeat(33)
            )),
            "3: field `pupil_id`",
        ),
        (
            "two rows for one enrolment",
            Kind::Pupils,
            pup("2024-25,P9,100001,5,M,,false,N,false,false,false"),
            "3: field `pupil_id`",
        ),
        (
            "bad phase",
            Kind::Schools,
            sch("100010,Delta,801,E06000023,Bristol,E12000009,South West,nursery"),
            "3: field `phase`",
        ),
        (
            "bad region",
            Kind::Schools,
            sch("100010,Delta,801,E06000023,Bristol,E12000010,South West,primary"),
            "3: field `region_code`",
        ),
        (
            "bad old LA code",
            Kind::Schools,
            sch("100010,Delta,80,E06000023,Bristol,E12000009,South West,primary"),
            "3: field `old_la_code`",
        ),
        (
            "bad urn",
            Kind::Schools,
            sch("-5,Delta,801,E06000023,Bristol,E12000009,South West,primary"),
            "3: field `urn`",
        ),
        (
            "two rows for one school",
            Kind::Schools,
            sch("100009,Gamma again,801,E06000023,Bristol,E12000009,South West,special"),
            "3: field `urn`",
        ),
    ]
}

#[tokio::test]
async fn every_invalid_input_rule_names_file_line_and_field_and_changes_nothing() {
    let f = Fixture::loaded().await;
    let before = snapshot(&f).await;
    for (i, (what, kind, content, expected)) in cases().into_iter().enumerate() {
        let path = f.file(&format!("bad{i}.csv"), &content);
        let mut options = IngestOptions::default();
        match kind {
            Kind::Schools => options.schools = vec![path.clone()],
            Kind::Pupils => options.pupils = vec![path.clone()],
            Kind::Registers => options.registers = vec![path.clone()],
        }
        let err = f
            .ingest(&options)
            .await
            .expect_err(&format!("{what}: must be refused"));
        let location = format!("{}:{expected}", path.display());
        assert!(
            err.contains(&location),
            "{what}: expected `{location}` in:\n{err}"
        );
        assert!(err.contains("nothing was written"), "{what}: {err}");
        assert_eq!(snapshot(&f).await, before, "{what}: the store changed");
    }
    assert!(
        !f.data_dir().join("_staging").exists(),
        "staging left behind"
    );
}

#[tokio::test]
async fn non_utf8_bytes_and_a_bom() {
    let f = Fixture::loaded().await;
    let before = snapshot(&f).await;
    let mut bad = b"pupil_id,urn,date,session,code\nP1,100001,2024-09-03,AM,/\n".to_vec();
    bad.extend_from_slice(b"P1,100001,2024-09-03,PM,\xff\n");
    let path = f.bytes("latin1.csv", &bad);
    let err = f
        .ingest(&IngestOptions {
            registers: vec![path.clone()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        err.contains(&format!(
            "{}:3: field `code`: bytes that are not UTF-8",
            path.display()
        )),
        "{err}"
    );
    assert_eq!(snapshot(&f).await, before);

    // A UTF-8 byte order mark and CRLF line ends are fine.
    let ok = f.bytes(
        "bom.csv",
        b"\xEF\xBB\xBFpupil_id,urn,date,session,code\r\nP1,100001,2024-09-03,AM,/\r\n",
    );
    let summary = f
        .ingest(&IngestOptions {
            registers: vec![ok],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(summary.registers.rows_added, 1);
}

#[tokio::test]
async fn errors_stop_at_twenty_then_count() {
    let f = Fixture::loaded().await;
    let mut content = String::from("pupil_id,urn,date,session,code\n");
    for _ in 0..25 {
        content.push_str("P1,100001,2024-09-03,AM,??\n");
    }
    let path = f.file("many.csv", &content);
    let err = f
        .ingest(&IngestOptions {
            registers: vec![path],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.starts_with("25 invalid row(s)"), "{err}");
    assert_eq!(err.matches("field `code`").count(), 20, "{err}");
    assert!(err.contains("... and 5 more"), "{err}");
}

#[tokio::test]
async fn loads_the_fixture_exactly() {
    let f = Fixture::loaded().await;
    let marks = all_marks(&f.store()).await;
    let expected = "\
+----------+--------+------------+---------+------+---------------+-------------+---------+
| pupil_id | urn    | date       | session | code | academic_year | region_code | la_code |
+----------+--------+------------+---------+------+---------------+-------------+---------+
| P1       | 100001 | 2024-09-02 | AM      | /    | 2024-25       | E12000009   | 801     |
| P1       | 100001 | 2024-09-02 | PM      | \\    | 2024-25       | E12000009   | 801     |
| P2       | 100001 | 2024-09-02 | AM      | N    | 2024-25       | E12000009   | 801     |
| P2       | 100001 | 2024-09-02 | PM      | I    | 2024-25       | E12000009   | 801     |
| P3       | 100002 | 2024-09-02 | AM      | L    | 2024-25       | E12000009   | 802     |
| P3       | 100002 | 2024-09-02 | PM      | -    | 2024-25       | E12000009   | 802     |
+----------+--------+------------+---------+------+---------------+-------------+---------+";
    assert_eq!(marks, expected);
    let pupils = f
        .query("SELECT pupil_id, CAST(date_of_birth AS VARCHAR) AS dob, fsm, sen, cin FROM pupils ORDER BY pupil_id")
        .await;
    assert!(
        pupils.contains("| P1       | 2016-10-01 | true  | N   | false |"),
        "{pupils}"
    );
    assert!(
        pupils.contains("| P2       |            | false | K   | false |"),
        "{pupils}"
    );
    assert!(
        pupils.contains("| P3       | 2011-03-04 | false | E   | true  |"),
        "{pupils}"
    );
    // Partition directories follow the documented layout.
    let partition = f
        .data_dir()
        .join("registers/academic_year=2024-25/region_code=E12000009/la_code=801");
    assert!(partition.is_dir(), "missing {}", partition.display());
}

#[tokio::test]
async fn loading_the_same_files_again_is_a_no_op() {
    let f = Fixture::new();
    let registers = f.file("registers.csv", REGISTERS);
    let options = f.options(&[&registers]);
    let first = f.ingest(&options).await.unwrap();
    assert_eq!(first.registers.rows_added, 6);
    assert_eq!(first.missing_marks, 1);
    let versions = (
        first.schools.version,
        first.pupils.version,
        first.registers.version,
    );
    let second = f.ingest(&options).await.unwrap();
    assert_eq!(second.registers.files_skipped, 1);
    assert_eq!(second.pupils.files_skipped, 1);
    assert_eq!(second.schools.files_skipped, 1);
    assert_eq!(second.registers.rows_read, 0);
    assert_eq!(
        (
            second.schools.version,
            second.pupils.version,
            second.registers.version
        ),
        versions,
        "no new commit"
    );

    // A different file holding marks that are all stored already is a no-op too.
    let copy = f.file("copy.csv", REGISTERS);
    std::fs::write(&copy, REGISTERS.replace("P3,100002,2024-09-02,PM,-\n", "")).unwrap();
    let third = f
        .ingest(&IngestOptions {
            registers: vec![copy],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(third.registers.rows_unchanged, 5);
    assert_eq!(third.registers.rows_added, 0);
    assert_eq!(third.registers.version, versions.2);
    assert_eq!(
        f.query("SELECT count(*) AS n FROM registers")
            .await
            .matches("| 6 ")
            .count(),
        1
    );
}

/// Each file in key order, but their key ranges overlap: a mark of the second file repeats one
/// of the first. Two sorted files with disjoint ranges load without the duplicate query.
#[tokio::test]
async fn duplicates_across_sorted_files() {
    let f = Fixture::loaded().await;
    let before = snapshot(&f).await;
    let header = "pupil_id,urn,date,session,code\n";
    let first = f.file(
        "first.csv",
        &format!("{header}P1,100001,2024-09-03,AM,/\nP2,100001,2024-09-03,AM,/\n"),
    );
    let second = f.file(
        "second.csv",
        &format!("{header}P1,100001,2024-09-03,AM,N\nP1,100001,2024-09-03,PM,/\n"),
    );
    let err = f
        .ingest(&f.options(&[&first, &second]))
        .await
        .expect_err("a mark given twice");
    assert!(
        err.contains(&format!("{}:2: field `session`", second.display())),
        "{err}"
    );
    assert_eq!(snapshot(&f).await, before);

    let third = f.file(
        "third.csv",
        &format!("{header}P3,100002,2024-09-03,AM,/\nP3,100002,2024-09-03,PM,/\n"),
    );
    let summary = f.ingest(&f.options(&[&first, &third])).await.unwrap();
    assert_eq!(summary.registers.rows_added, 4);
    assert_eq!(
        f.query("SELECT count(*) AS n FROM registers")
            .await
            .matches("| 10 ")
            .count(),
        1
    );
}

#[tokio::test]
async fn conflicting_marks_fail_and_update_replaces_them() {
    let f = Fixture::loaded().await;
    let before = snapshot(&f).await;
    // P2's AM mark was N (no reason yet); the school corrects it to M (appointment).
    let correction = f.file(
        "correction.csv",
        "pupil_id,urn,date,session,code\nP2,100001,2024-09-02,AM,M\nP2,100001,2024-09-02,PM,I\nP1,100001,2024-09-03,AM,/\n",
    );
    let options = IngestOptions {
        registers: vec![correction.clone()],
        ..Default::default()
    };
    let err = f.ingest(&options).await.unwrap_err();
    assert!(
        err.contains(&format!("{}:2: field `code`", correction.display())),
        "{err}"
    );
    assert!(err.contains("--update"), "{err}");
    assert_eq!(snapshot(&f).await, before);

    let summary = f
        .ingest(&IngestOptions {
            update: true,
            ..options
        })
        .await
        .unwrap();
    assert_eq!(summary.registers.rows_replaced, 1);
    assert_eq!(summary.registers.rows_unchanged, 1);
    assert_eq!(summary.registers.rows_added, 1);
    let p2 = f
        .query("SELECT session, code FROM registers WHERE pupil_id = 'P2' ORDER BY session")
        .await;
    assert!(
        p2.contains("| AM      | M    |") && p2.contains("| PM      | I    |"),
        "{p2}"
    );
    assert_eq!(
        f.query("SELECT count(*) AS n FROM registers")
            .await
            .matches("| 7 ")
            .count(),
        1
    );
    // Every other partition is untouched and the files stay sorted.
    let marks = all_marks(&f.store()).await;
    assert!(
        marks.contains("| P3       | 100002 | 2024-09-02 | PM      | -    |"),
        "{marks}"
    );
}

#[tokio::test]
async fn reject_file_loads_the_valid_rows() {
    let f = Fixture::loaded().await;
    let path = f.file(
        "mixed.csv",
        "pupil_id,urn,date,session,code\n\
         P1,100001,2024-09-03,AM,/\n\
         P1,100001,2024-09-03,PM,ZZ\n\
         P2,100001,2024-09-07,AM,/\n\
         P2,100001,2024-09-03,AM,I\n\
         P2,100001,2024-09-03,AM,M\n\
         P1,100001,2024-09-02,AM,O\n",
    );
    let rejects = f.dir.path().join("rejects.csv");
    let summary = f
        .ingest(&IngestOptions {
            registers: vec![path.clone()],
            reject_file: Some(rejects.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(summary.registers.rows_read, 6);
    assert_eq!(summary.registers.rows_rejected, 4);
    assert_eq!(summary.registers.rows_added, 2);
    let text = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "file,line,field,reason,record");
    assert_eq!(lines.len(), 5, "{text}");
    for (line, field) in [(3, "code"), (4, "date"), (6, "session"), (7, "code")] {
        let prefix = format!("{},{line},{field},", path.display());
        assert!(
            lines.iter().any(|l| l.starts_with(&prefix)),
            "no `{prefix}` in\n{text}"
        );
    }
    let p2 = f
        .query("SELECT CAST(date AS VARCHAR) AS d, session, code FROM registers WHERE pupil_id = 'P2' ORDER BY d, session")
        .await;
    assert!(p2.contains("| 2024-09-03 | AM      | I    |"), "{p2}");
    let p1 = f
        .query("SELECT code FROM registers WHERE pupil_id = 'P1' AND date = DATE '2024-09-02' AND session = 'AM'")
        .await;
    assert!(p1.contains("| /    |"), "stored mark kept: {p1}");
}

#[tokio::test]
async fn school_and_enrolment_rows_replace_stored_rows() {
    let f = Fixture::loaded().await;
    let pupils = f.file(
        "pupils2.csv",
        "academic_year,pupil_id,urn,nc_year,sex,date_of_birth,fsm,sen,cla,cin,cpp\n\
         2024-25,P1,100001,3,F,2016-10-01,true,K,false,true,false\n\
         2024-25,P4,100002,10,M,2009-01-01,false,N,false,false,false\n",
    );
    let schools = f.file(
        "schools2.csv",
        "urn,school_name,old_la_code,new_la_code,la_name,region_code,region_name,phase\n\
         100002,Beta Academy Trust,802,E06000024,North Somerset,E12000009,South West,secondary\n",
    );
    let summary = f
        .ingest(&IngestOptions {
            schools: vec![schools],
            pupils: vec![pupils],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (summary.pupils.rows_added, summary.pupils.rows_replaced),
        (1, 1)
    );
    assert_eq!(
        (summary.schools.rows_added, summary.schools.rows_replaced),
        (0, 1)
    );
    let p = f
        .query("SELECT pupil_id, sen, cin FROM pupils ORDER BY pupil_id")
        .await;
    assert!(p.contains("| P1       | K   | true  |"), "{p}");
    assert!(
        p.contains("| P2       | K   | false |") && p.contains("| P4 "),
        "{p}"
    );
    let s = f
        .query("SELECT school_name FROM schools ORDER BY urn")
        .await;
    assert!(
        s.contains("Alpha Primary") && s.contains("Beta Academy Trust"),
        "{s}"
    );
}

/// Parquet registers with typed columns (`urn` Int32, `date` Date32) are checked as numbers: the
/// same rules, the same messages, and the reject file shows the record as text.
#[tokio::test]
async fn typed_parquet_registers() {
    use std::sync::Arc;

    use datafusion::arrow::array::{Date32Array, Int32Array, RecordBatch, StringArray};
    use datafusion::parquet::arrow::ArrowWriter;

    let f = Fixture::loaded().await;
    // 2024-09-03 is day 19969 since 1970-01-01; 2024-09-07 (19973) a Saturday.
    let batch = RecordBatch::try_from_iter(vec![
        (
            "pupil_id",
            Arc::new(StringArray::from(vec!["P1", "P1", "P2", "P2"])) as _,
        ),
        (
            "urn",
            Arc::new(Int32Array::from(vec![100001, -5, 100001, 100001])) as _,
        ),
        (
            "date",
            Arc::new(Date32Array::from(vec![19969, 19969, 19973, 19969])) as _,
        ),
        (
            "session",
            Arc::new(StringArray::from(vec!["AM", "PM", "AM", "AM"])) as _,
        ),
        (
            "code",
            Arc::new(StringArray::from(vec!["/", "/", "/", "I"])) as _,
        ),
    ])
    .unwrap();
    let path = f.dir.path().join("typed.parquet");
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let before = snapshot(&f).await;
    let err = f
        .ingest(&IngestOptions {
            registers: vec![path.clone()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    for (line, field) in [(2, "urn"), (3, "date")] {
        let location = format!("{}:{line}: field `{field}`", path.display());
        assert!(err.contains(&location), "no `{location}` in {err}");
    }
    assert_eq!(snapshot(&f).await, before);

    let rejects = f.dir.path().join("typed-rejects.csv");
    let summary = f
        .ingest(&IngestOptions {
            registers: vec![path.clone()],
            reject_file: Some(rejects.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(summary.registers.rows_added, 2);
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert!(text.contains("P1,-5,2024-09-03,PM,/"), "{text}");
    assert!(text.contains("P2,100001,2024-09-07,AM,/"), "{text}");
    let stored = f
        .query("SELECT pupil_id, CAST(date AS VARCHAR) AS d, session, code FROM registers WHERE date = DATE '2024-09-03' ORDER BY pupil_id")
        .await;
    assert!(
        stored.contains("| P1       | 2024-09-03 | AM      | /    |"),
        "{stored}"
    );
    assert!(
        stored.contains("| P2       | 2024-09-03 | AM      | I    |"),
        "{stored}"
    );
}

/// Whatever the input order, every stored file is sorted by school, pupil, date and session
/// (AM before PM): the order one-school and one-pupil queries rely on.
#[tokio::test]
async fn stored_files_are_sorted() {
    let f = Fixture::loaded().await;
    let unsorted = f.file(
        "unsorted.csv",
        "pupil_id,urn,date,session,code\n\
         P3,100002,2024-09-04,PM,/\n\
         P2,100001,2024-09-04,AM,/\n\
         P3,100002,2024-09-03,AM,/\n\
         P1,100001,2024-09-04,PM,/\n\
         P2,100001,2024-09-03,PM,N\n\
         P1,100001,2024-09-03,AM,/\n\
         P1,100001,2024-09-04,AM,I\n",
    );
    let summary = f
        .ingest(&IngestOptions {
            registers: vec![unsorted],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        !summary.presorted,
        "an unsorted file is sorted before it is written"
    );
    assert_eq!(
        stored_keys_in_order(&f).await,
        13,
        "6 fixture marks and 7 new ones"
    );
}

/// Reads every register file of the table's latest version and checks its rows are in storage
/// order (`urn, pupil_id, date, session`); returns how many rows it checked.
async fn stored_keys_in_order(f: &Fixture) -> usize {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::{Date32Type, Int32Type};
    use datafusion::prelude::{ParquetReadOptions, SessionContext};

    let files = active_register_files(&f.store()).await;
    assert!(!files.is_empty());
    let ctx = SessionContext::new();
    let mut checked = 0;
    for file in files {
        let batches = ctx
            .read_parquet(file.to_str().unwrap(), ParquetReadOptions::default())
            .await
            .unwrap()
            .select_columns(&["urn", "pupil_id", "date", "session"])
            .unwrap()
            .collect()
            .await
            .unwrap();
        let mut keys = Vec::new();
        for b in &batches {
            let pupil = datafusion::arrow::compute::cast(
                b.column(1),
                &datafusion::arrow::datatypes::DataType::Utf8,
            )
            .unwrap();
            let session = datafusion::arrow::compute::cast(
                b.column(3),
                &datafusion::arrow::datatypes::DataType::Utf8,
            )
            .unwrap();
            for i in 0..b.num_rows() {
                keys.push((
                    b.column(0).as_primitive::<Int32Type>().value(i),
                    pupil.as_string::<i32>().value(i).to_string(),
                    b.column(2).as_primitive::<Date32Type>().value(i),
                    session.as_string::<i32>().value(i).to_string(),
                ));
            }
        }
        checked += keys.len();
        assert!(
            keys.is_sorted(),
            "{} is not sorted: {keys:?}",
            file.display()
        );
    }
    checked
}

/// Register files each sorted, with key ranges that do not overlap (one per school here, given
/// out of order, two schools in one LA), are written as they come, with no sort: into a new
/// store (the table created by the commit that adds the files), then appended to it.
#[tokio::test]
async fn sorted_files_are_written_without_a_sort() {
    let f = Fixture::new();
    let header = "pupil_id,urn,date,session,code\n";
    let beta = f.file(
        "beta.csv",
        &format!("{header}P3,100002,2024-09-02,AM,L\nP3,100002,2024-09-02,PM,-\nP3,100002,2024-09-03,AM,/\n"),
    );
    let alpha_p2 = f.file(
        "alpha-p2.csv",
        &format!("{header}P2,100001,2024-09-02,AM,N\nP2,100001,2024-09-02,PM,I\n"),
    );
    let alpha_p1 = f.file(
        "alpha-p1.csv",
        &format!("{header}P1,100001,2024-09-02,AM,/\nP1,100001,2024-09-02,PM,\\\nP1,100001,2024-09-03,AM,B\n"),
    );
    let summary = f
        .ingest(&f.options(&[&beta, &alpha_p2, &alpha_p1]))
        .await
        .unwrap();
    assert!(summary.presorted);
    assert_eq!(summary.registers.rows_added, 8);
    assert_eq!(
        summary.registers.version,
        Some(0),
        "created and filled in one commit"
    );
    assert_eq!(stored_keys_in_order(&f).await, 8);
    let expected = "\
+----------+--------+------------+---------+------+---------------+-------------+---------+
| pupil_id | urn    | date       | session | code | academic_year | region_code | la_code |
+----------+--------+------------+---------+------+---------------+-------------+---------+
| P1       | 100001 | 2024-09-02 | AM      | /    | 2024-25       | E12000009   | 801     |
| P1       | 100001 | 2024-09-02 | PM      | \\    | 2024-25       | E12000009   | 801     |
| P1       | 100001 | 2024-09-03 | AM      | B    | 2024-25       | E12000009   | 801     |
| P2       | 100001 | 2024-09-02 | AM      | N    | 2024-25       | E12000009   | 801     |
| P2       | 100001 | 2024-09-02 | PM      | I    | 2024-25       | E12000009   | 801     |
| P3       | 100002 | 2024-09-02 | AM      | L    | 2024-25       | E12000009   | 802     |
| P3       | 100002 | 2024-09-02 | PM      | -    | 2024-25       | E12000009   | 802     |
| P3       | 100002 | 2024-09-03 | AM      | /    | 2024-25       | E12000009   | 802     |
+----------+--------+------------+---------+------+---------------+-------------+---------+";
    assert_eq!(all_marks(&f.store()).await, expected);

    // Loading the same files again is a no-op: the creating commit recorded them.
    let again = f
        .ingest(&f.options(&[&beta, &alpha_p2, &alpha_p1]))
        .await
        .unwrap();
    assert_eq!(again.registers.files_skipped, 3);
    assert_eq!(again.registers.version, Some(0));

    // New marks, sorted: appended in one more commit, the stored marks untouched.
    let wednesday = f.file(
        "wednesday.csv",
        &format!("{header}P1,100001,2024-09-04,AM,/\nP2,100001,2024-09-04,AM,/\n"),
    );
    let summary = f
        .ingest(&IngestOptions {
            registers: vec![wednesday],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(summary.presorted);
    assert_eq!(summary.registers.version, Some(1));
    assert_eq!(summary.registers.rows_added, 2);
    assert_eq!(stored_keys_in_order(&f).await, 10);
    assert_eq!(
        f.query("SELECT count(*) AS n, count(DISTINCT pupil_id) AS pupils FROM registers WHERE date = DATE '2024-09-04'")
            .await,
        "+---+--------+\n| n | pupils |\n+---+--------+\n| 2 | 2      |\n+---+--------+"
    );
    assert_eq!(
        f.query("SELECT count(*) AS n FROM registers").await,
        "+----+\n| n  |\n+----+\n| 10 |\n+----+"
    );
}

/// `vacuum` deletes what no recent table version refers to: the file a correction replaced and
/// a file an interrupted write left behind. The tables read the same afterwards; a dry run
/// deletes nothing.
#[tokio::test]
async fn vacuum_deletes_unreferenced_files_only() {
    let f = Fixture::loaded().await;
    let partition = f
        .data_dir()
        .join("registers/academic_year=2024-25/region_code=E12000009/la_code=801");
    let files = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect()
    };
    let old = files(&partition);
    assert_eq!(old.len(), 1);
    let correction = f.file(
        "correction.csv",
        "pupil_id,urn,date,session,code\nP2,100001,2024-09-02,AM,M\n",
    );
    f.ingest(&IngestOptions {
        registers: vec![correction],
        update: true,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(
        files(&partition).len(),
        2,
        "the replaced file stays until vacuumed"
    );
    // A file written by a commit that never happened (a crash), two hours ago.
    let orphan = partition.join("part-orphan-c000.zstd.parquet");
    std::fs::copy(&old[0], &orphan).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&orphan)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200))
        .unwrap();
    let before = snapshot(&f).await;

    let store = f.store();
    let listed = store.vacuum(chrono::Duration::zero(), true).await.unwrap();
    let mut deleted: Vec<&str> = listed
        .iter()
        .flat_map(|(_, files)| files)
        .map(|p| p.rsplit('/').next().unwrap())
        .collect();
    deleted.sort();
    let mut expected = vec![
        old[0].file_name().unwrap().to_str().unwrap(),
        "part-orphan-c000.zstd.parquet",
    ];
    expected.sort();
    assert_eq!(deleted, expected, "{listed:?}");
    assert!(
        old[0].exists() && orphan.exists(),
        "a dry run deletes nothing"
    );

    store.vacuum(chrono::Duration::zero(), false).await.unwrap();
    assert!(!old[0].exists() && !orphan.exists());
    assert_eq!(files(&partition).len(), 1);
    assert_eq!(snapshot(&f).await, before, "the tables read the same");
    // Again: harmless (the log still names the deleted file until the log is cleaned up).
    store.vacuum(chrono::Duration::zero(), false).await.unwrap();
    assert_eq!(snapshot(&f).await, before);
}

/// Above a number of marks, the ingest plans for memory (one sort at a time, no join holding
/// many marks, strings sorted as plain `Utf8`). That plan gives the same answers: duplicates
/// inside the input, a reject file, an unsorted file, conflicts and `--update`.
#[tokio::test]
async fn the_plan_for_large_inputs_gives_the_same_answers() {
    let mut results = Vec::new();
    // The default; every input large; the first load large (4 marks) and the correction (2)
    // not, but its partitions large.
    for large_input_rows in [None, Some(0), Some(2)] {
        let f = Fixture::loaded().await;
        let header = "pupil_id,urn,date,session,code\n";
        // Unsorted, with P1's 3 September AM mark twice (the second is refused).
        let unsorted = f.file(
            "unsorted.csv",
            &format!(
                "{header}P3,100002,2024-09-03,PM,/\nP1,100001,2024-09-03,AM,/\n\
                 P2,100001,2024-09-03,AM,L\nP1,100001,2024-09-03,AM,N\n"
            ),
        );
        let rejects = f.dir.path().join("rejects.csv");
        let loaded = f
            .ingest(&IngestOptions {
                registers: vec![unsorted],
                reject_file: Some(rejects.clone()),
                large_input_rows,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(!loaded.presorted);
        let rejected = std::fs::read_to_string(&rejects)
            .unwrap()
            .replace(&f.dir.path().display().to_string(), "DIR");
        // P2's 2 September AM mark was N: corrected to M (a conflict without --update).
        let correction = f.file(
            "correction.csv",
            &format!("{header}P2,100001,2024-09-02,AM,M\nP3,100002,2024-09-03,PM,/\n"),
        );
        let conflict = f
            .ingest(&IngestOptions {
                registers: vec![correction.clone()],
                large_input_rows,
                ..Default::default()
            })
            .await
            .unwrap_err()
            .replace(&f.dir.path().display().to_string(), "DIR");
        let updated = f
            .ingest(&IngestOptions {
                registers: vec![correction],
                update: true,
                large_input_rows,
                ..Default::default()
            })
            .await
            .unwrap();
        results.push((
            loaded.registers.clone(),
            rejected,
            conflict,
            updated.registers.clone(),
            all_marks(&f.store()).await,
            stored_keys_in_order(&f).await,
        ));
    }
    let (loaded, rejected, conflict, updated, marks, keys) = &results[0];
    assert_eq!((loaded.rows_added, loaded.rows_rejected), (3, 1));
    assert!(
        rejected.contains("DIR/unsorted.csv,5,session"),
        "{rejected}"
    );
    assert!(
        conflict.contains("DIR/correction.csv:2: field `code`"),
        "{conflict}"
    );
    assert_eq!(
        (
            updated.rows_replaced,
            updated.rows_unchanged,
            updated.rows_added
        ),
        (1, 1, 0)
    );
    assert!(
        marks.contains("| P2       | 100001 | 2024-09-02 | AM      | M    |"),
        "{marks}"
    );
    // The fixture's 6 marks, 3 added, 1 replaced.
    assert_eq!(*keys, 9);
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0], results[2]);
}

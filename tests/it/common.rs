//! Shared fixtures: a tiny store's input files, written to a temporary directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use attendance::ingest::{IngestOptions, IngestSummary, ingest};
use attendance::session::{SessionOptions, session};
use attendance::store::Store;
use datafusion::arrow::util::pretty::pretty_format_batches;

pub const SCHOOLS: &str = "\
urn,school_name,old_la_code,new_la_code,la_name,region_code,region_name,phase
100001,Alpha Primary,801,E06000023,\"Bristol, City of\",E12000009,South West,primary
100002,Beta Academy,802,E06000024,North Somerset,E12000009,South West,secondary
";

pub const PUPILS: &str = "\
academic_year,pupil_id,urn,nc_year,sex,date_of_birth,fsm,sen,cla,cin,cpp
2024-25,P1,100001,3,F,2016-10-01,true,N,false,false,false
2024-25,P2,100001,3,M,,0,K,0,0,0
2024-25,P3,100002,9,F,2011-03-04,N,E,N,Y,N
";

/// 2024-09-02 is a Monday; 2024-09-07 a Saturday.
pub const REGISTERS: &str = "\
pupil_id,urn,date,session,code
P1,100001,2024-09-02,AM,/
P1,100001,2024-09-02,PM,\\
P2,100001,2024-09-02,AM,N
P2,100001,2024-09-02,PM,I
P3,100002,2024-09-02,AM,L
P3,100002,2024-09-02,PM,-
";

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        Self {
            // Not a hidden directory (`.tmp...`): object_store's local listing skips those, and
            // `vacuum` would not see the files below.
            dir: tempfile::Builder::new()
                .prefix("attendance-test-")
                .tempdir()
                .expect("tempdir"),
        }
    }

    pub fn store(&self) -> Store {
        Store::new(self.dir.path().join("store"))
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// Writes `content` to a file named `name` in the fixture directory.
    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, content).unwrap();
        path
    }

    pub fn bytes(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Options loading the standard schools and pupils, plus `registers`.
    pub fn options(&self, registers: &[&Path]) -> IngestOptions {
        IngestOptions {
            schools: vec![self.file("schools.csv", SCHOOLS)],
            pupils: vec![self.file("pupils.csv", PUPILS)],
            registers: registers.iter().map(|p| p.to_path_buf()).collect(),
            ..Default::default()
        }
    }

    pub async fn ingest(&self, options: &IngestOptions) -> Result<IngestSummary, String> {
        ingest(&self.store(), options)
            .await
            .map_err(|e| e.to_string())
    }

    /// The standard fixture, loaded.
    pub async fn loaded() -> Self {
        let f = Self::new();
        let registers = f.file("registers.csv", REGISTERS);
        f.ingest(&f.options(&[&registers]))
            .await
            .expect("fixture loads");
        f
    }

    /// Runs `sql` against the store and returns the pretty-printed result.
    pub async fn query(&self, sql: &str) -> String {
        query_store(&self.store(), sql).await
    }
}

pub async fn query_store(store: &Store, sql: &str) -> String {
    let (ctx, _) = session(store, &SessionOptions::default())
        .await
        .expect("session");
    let batches = ctx
        .sql(sql)
        .await
        .expect("plan")
        .collect()
        .await
        .expect("run");
    pretty_format_batches(&batches).unwrap().to_string()
}

/// Every stored mark, in a canonical order, as text.
pub async fn all_marks(store: &Store) -> String {
    query_store(
        store,
        "SELECT pupil_id, urn, CAST(date AS VARCHAR) AS date, session, code, academic_year, region_code, la_code \
         FROM registers ORDER BY urn, pupil_id, date, session",
    )
    .await
}

/// Every Parquet file under `dir`, referenced by the table or not (sorted).
pub fn parquet_files_on_disk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The data files of the latest version of `registers` (not those it replaced).
pub async fn active_register_files(store: &Store) -> Vec<PathBuf> {
    let table = store
        .load(attendance::store::Table::Registers)
        .await
        .unwrap()
        .expect("a registers table");
    let mut files: Vec<PathBuf> = table
        .get_file_uris()
        .unwrap()
        .map(|uri| match url::Url::parse(&uri) {
            Ok(url) if url.scheme() == "file" => url.to_file_path().unwrap(),
            _ => PathBuf::from(uri),
        })
        .collect();
    files.sort();
    files
}

/// An output CSV file, read back.
pub struct Output {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Output {
    pub fn read(path: &Path) -> Self {
        let mut reader = csv::Reader::from_path(path).unwrap();
        let header = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        let rows = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        Self { header, rows }
    }

    /// The rows whose columns have the given values.
    pub fn find(&self, filter: &[(&str, &str)]) -> Vec<HashMap<String, String>> {
        self.rows
            .iter()
            .map(|r| {
                self.header
                    .iter()
                    .cloned()
                    .zip(r.iter().cloned())
                    .collect::<HashMap<_, _>>()
            })
            .filter(|r| {
                filter
                    .iter()
                    .all(|(k, v)| r.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    pub fn one(&self, filter: &[(&str, &str)]) -> HashMap<String, String> {
        let found = self.find(filter);
        assert_eq!(
            found.len(),
            1,
            "expected one row for {filter:?}, found {}",
            found.len()
        );
        found.into_iter().next().unwrap()
    }
}

/// Checks integer cells exactly and percentages to 1e-9.
pub fn check(row: &HashMap<String, String>, expected: &[(&str, f64)]) {
    for (column, value) in expected {
        let cell = row
            .get(*column)
            .unwrap_or_else(|| panic!("no column {column}"));
        let got: f64 = cell
            .parse()
            .unwrap_or_else(|_| panic!("{column} = `{cell}`"));
        assert!(
            (got - value).abs() < 1e-9,
            "{column}: expected {value}, got {cell} in {row:?}"
        );
    }
}

//! What a report covers (DOMAIN.md section 8): one school (`--school URN`), a trust's schools
//! (`--trust FILE`, a CSV with a `urn` column) or a local authority's (`--la CODE`, its old
//! 3-digit or new 9-character code), resolved against the store's `schools` table.

use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type};
use datafusion::prelude::{SessionContext, col};

use super::MonitorError;

/// The scope a report is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    School(i32),
    Trust(PathBuf),
    La(String),
}

/// The kind of a report: a school's own report shows its pupils and its own figures
/// unsuppressed; trust and LA reports show school tables, and pupils only when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    School,
    Trust,
    LocalAuthority,
}

/// A school of a report.
#[derive(Debug, Clone)]
pub struct School {
    pub urn: i32,
    pub name: String,
    pub old_la_code: String,
    pub new_la_code: String,
    pub la_name: String,
    pub phase: String,
}

/// A scope resolved: its kind, a title and its schools (by URN).
#[derive(Debug, Clone)]
pub struct Selection {
    pub kind: Kind,
    pub title: String,
    pub schools: Vec<School>,
}

impl Selection {
    pub fn urns(&self) -> Vec<i32> {
        self.schools.iter().map(|s| s.urn).collect()
    }

    /// The local authority a school report compares with (none for trust and LA reports).
    pub fn comparison_la(&self) -> Option<(&str, &str)> {
        match (self.kind, self.schools.first()) {
            (Kind::School, Some(s)) => Some((s.old_la_code.as_str(), s.la_name.as_str())),
            _ => None,
        }
    }
}

/// Resolves `scope` against the `schools` table of `ctx`.
pub async fn resolve(ctx: &SessionContext, scope: &Scope) -> Result<Selection, MonitorError> {
    let all = schools(ctx).await?;
    match scope {
        Scope::School(urn) => {
            let school = all
                .into_iter()
                .find(|s| s.urn == *urn)
                .ok_or_else(|| MonitorError::Scope(format!("no school {urn} in the store")))?;
            if school.phase == "alternative_provision" {
                return Err(MonitorError::Scope(format!(
                    "school {urn} is alternative provision, outside the scope of monitoring \
                     (DOMAIN.md sections 2 and 7)"
                )));
            }
            Ok(Selection {
                kind: Kind::School,
                title: format!("{} ({})", school.name, school.urn),
                schools: vec![school],
            })
        }
        Scope::La(code) => {
            let schools: Vec<School> = all
                .into_iter()
                .filter(|s| s.phase != "alternative_provision")
                .filter(|s| &s.old_la_code == code || &s.new_la_code == code)
                .collect();
            let first = schools.first().ok_or_else(|| {
                MonitorError::Scope(format!(
                    "no school in the store has local authority code `{}` (give the old \
                     3-digit or the new 9-character code)",
                    crate::text::printable(code)
                ))
            })?;
            Ok(Selection {
                kind: Kind::LocalAuthority,
                title: format!("{} ({})", first.la_name, first.old_la_code),
                schools,
            })
        }
        Scope::Trust(file) => {
            let urns = read_trust_file(file)?;
            let unknown: Vec<String> = urns
                .iter()
                .filter(|u| !all.iter().any(|s| s.urn == **u))
                .map(i32::to_string)
                .collect();
            if !unknown.is_empty() {
                return Err(MonitorError::Scope(format!(
                    "{}: no school {} in the store",
                    file.display(),
                    unknown.join(", ")
                )));
            }
            let schools = all
                .into_iter()
                .filter(|s| urns.contains(&s.urn) && s.phase != "alternative_provision")
                .collect();
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "trust".into());
            Ok(Selection {
                kind: Kind::Trust,
                title: format!("Trust: {name}"),
                schools,
            })
        }
    }
}

/// Every school in the store, by URN.
async fn schools(ctx: &SessionContext) -> Result<Vec<School>, MonitorError> {
    let batches = ctx
        .table("schools")
        .await?
        .select(vec![
            col("urn"),
            col("school_name"),
            col("old_la_code"),
            col("new_la_code"),
            col("la_name"),
            col("phase"),
        ])?
        .sort(vec![col("urn").sort(true, false)])?
        .collect()
        .await?;
    let mut out = Vec::new();
    for batch in &batches {
        let urns = batch.column(0).as_primitive::<Int32Type>();
        let text: Vec<_> = (1..6)
            .map(|i| cast(batch.column(i), &DataType::Utf8))
            .collect::<Result<_, _>>()?;
        let text: Vec<_> = text.iter().map(|c| c.as_string::<i32>()).collect();
        for row in 0..batch.num_rows() {
            let value = |i: usize| {
                if text[i].is_null(row) {
                    String::new()
                } else {
                    text[i].value(row).to_string()
                }
            };
            out.push(School {
                urn: urns.value(row),
                name: value(0),
                old_la_code: value(1),
                new_la_code: value(2),
                la_name: value(3),
                phase: value(4),
            });
        }
    }
    Ok(out)
}

/// The URNs of a trust file: a CSV with a `urn` column (other columns ignored), one school a
/// row; a URN given twice counts once.
pub fn read_trust_file(path: &Path) -> Result<Vec<i32>, MonitorError> {
    let bad = |what: String| MonitorError::Scope(format!("{}: {what}", path.display()));
    let mut reader = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
    let headers = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
    let column = headers
        .iter()
        .position(|h| h.trim_start_matches('\u{feff}').trim() == "urn")
        .ok_or_else(|| bad("no `urn` column".into()))?;
    let mut urns = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = record.map_err(|e| bad(format!("line {line}: {e}")))?;
        let urn = record
            .get(column)
            .and_then(|v| v.trim().parse::<i32>().ok())
            .filter(|u| *u > 0)
            .ok_or_else(|| {
                bad(format!(
                    "line {line}: `urn` is not a URN (a positive integer)"
                ))
            })?;
        if !urns.contains(&urn) {
            urns.push(urn);
        }
    }
    if urns.is_empty() {
        return Err(bad("no school listed".into()));
    }
    Ok(urns)
}

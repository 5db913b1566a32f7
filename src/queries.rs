//! SQL shared by several queries of `queries/`: a query includes one with a line
//! `-- @include NAME.sql`, which [`with_includes`] replaces by the file's text (a subquery, so
//! the including file wraps it in parentheses).

/// The shared files, by the name an `@include` line gives.
const SHARED: [(&str, &str); 1] = [(
    "in_scope_enrolments.sql",
    include_str!("../queries/indicators/in_scope_enrolments.sql"),
)];

const MARK: &str = "-- @include ";

/// `sql` with every `-- @include NAME.sql` line replaced by the shared file `NAME.sql`.
///
/// # Panics
/// On an include of a file that is not shared (a mistake in a query of the repository).
pub fn with_includes(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    for line in sql.lines() {
        match line.trim_start().strip_prefix(MARK) {
            Some(rest) => {
                let name = rest.split_whitespace().next().unwrap_or_default();
                let (_, text) = SHARED
                    .iter()
                    .find(|(shared, _)| *shared == name)
                    .unwrap_or_else(|| panic!("`{name}` is not a shared query"));
                out.push_str(text.trim_end());
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

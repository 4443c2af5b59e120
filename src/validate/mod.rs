//! Validation of a desired user per Genesys's rules and RFC 7643: returns the user or
//! every problem with it as `RowError`s naming row, column, path, value, problem and fix.
//!
//! [`rules`] judges one mapped user ([`check_record`] maps and judges one record);
//! [`email`] and [`phone`] hold the syntax checks; [`pipeline`] streams a whole input
//! through map + validate on all cores ([`prepare`]), with in-file duplicate
//! detection ([`dups`]: two rows with the same externalId or userName are both
//! flagged, each naming the other's row).

pub mod dups;
pub mod email;
pub mod judge;
pub mod phone;
pub mod pipeline;
pub mod rules;

pub use pipeline::{ConfigError, PrepareOptions, Prepared, Preparer, prepare};
pub use rules::check_record;

/// One problem with one input row. A row can have several; none stops the run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// 1-based data row.
    pub row: u64,
    /// Source column, when the problem comes from one.
    pub column: Option<String>,
    /// SCIM path, when the problem concerns one.
    pub path: Option<String>,
    /// The offending value, shortened.
    pub value: Option<String>,
    /// Stable snake_case kind (`invalid_email`, `missing_required`, `bad_utf8`, ...).
    pub kind: &'static str,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

impl std::fmt::Display for RowError {
    /// `column email (userName): `x@` has no domain after the @; fix: ...` — without
    /// the row number (callers add it where it helps).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.column, &self.path) {
            (Some(c), Some(p)) => write!(f, "column {c} ({p}): ")?,
            (Some(c), None) => write!(f, "column {c}: ")?,
            (None, Some(p)) => write!(f, "{p}: ")?,
            (None, None) => {}
        }
        write!(f, "{}; fix: {}", self.problem, self.fix)
    }
}

/// Joins a row's errors for one CSV cell: kinds with `;`, messages with ` | `.
pub fn summarize(errors: &[RowError]) -> (String, String) {
    let mut kinds: Vec<&str> = Vec::new();
    for e in errors {
        if !kinds.contains(&e.kind) {
            kinds.push(e.kind);
        }
    }
    let messages: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    (kinds.join(";"), messages.join(" | "))
}

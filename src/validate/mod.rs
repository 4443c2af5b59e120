//! Validation of a desired user per Genesys's rules and RFC 7643: returns the user or
//! every problem with it as `RowError`s naming row, column, path, value, problem and fix.

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

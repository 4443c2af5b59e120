//! Streaming readers for HR exports (CSV, NDJSON): each data row becomes a
//! [`Record`] or a row-level error; memory stays flat whatever the file size.

/// One data row of the input: `row` is the 1-based data row (a quoted field spanning
/// lines is still one row), `fields` are the values in header order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based data row number.
    pub row: u64,
    /// Field values, in the order of the header.
    pub fields: Vec<String>,
}

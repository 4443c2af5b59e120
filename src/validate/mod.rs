//! Validation of a desired user per Genesys's rules and RFC 7643: returns the user or
//! every problem with it as `RowError`s naming row, column, path, value, problem and fix.
//!
//! [`rules`] judges one mapped user ([`check_record`] maps and judges one record);
//! [`email`] holds the email syntax check (phone numbers are judged by
//! `mapping::phone`, which also normalises them); [`pipeline`] streams a whole input
//! through map + validate on all cores ([`prepare`]), with in-file duplicate
//! detection ([`dups`]: two rows with the same externalId or userName are both
//! flagged, each naming the other's row); [`managers`] predicts the users created
//! without their manager (a warning).

pub mod dups;
pub mod email;
pub mod judge;
pub mod managers;
pub mod pipeline;
pub mod rules;

pub use pipeline::{ConfigError, Keys, PrepareOptions, Prepared, Preparer, prepare};
pub use rules::check_record;

pub use crate::model::RowError;

/// Joins a row's errors for one CSV cell: kinds with `;`, messages with ` | `.
pub fn summarize(errors: &[RowError]) -> (String, String) {
    let mut kinds: Vec<&str> = Vec::new();
    for e in errors {
        if !kinds.contains(&e.kind.as_str()) {
            kinds.push(e.kind.as_str());
        }
    }
    let messages: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    (kinds.join(";"), messages.join(" | "))
}

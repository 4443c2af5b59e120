//! The plan's content hash: SHA-256 over every row in a canonical form, fed as
//! rows are written and again as they are read, so that any change to a value,
//! a dropped or added row, or another file is seen.

use sha2::{Digest, Sha256};

/// A running SHA-256 over plan rows in canonical form.
#[derive(Debug, Clone, Default)]
pub struct ContentHash {
    hasher: Sha256,
    rows: u64,
}

/// One plan row's values, in the file's column order.
#[derive(Debug, Clone, Copy)]
pub struct RowValues<'a> {
    pub run_id: &'a str,
    pub row: Option<u64>,
    pub external_id: Option<&'a str>,
    pub user_name: Option<&'a str>,
    pub action: &'a str,
    pub path: Option<&'a str>,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
    pub scim_id: Option<&'a str>,
    pub version: Option<&'a str>,
    pub op: Option<&'a str>,
}

impl ContentHash {
    /// An empty hash.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one row: every value length-prefixed, a null marked apart from an
    /// empty string, so that no two different rows feed the same bytes.
    pub fn row(&mut self, v: &RowValues<'_>) {
        let h = &mut self.hasher;
        let mut text = |s: Option<&str>| match s {
            None => h.update([0u8]),
            Some(s) => {
                h.update([1u8]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
        };
        text(Some(v.run_id));
        text(v.row.map(|r| r.to_string()).as_deref());
        text(v.external_id);
        text(v.user_name);
        text(Some(v.action));
        text(v.path);
        text(v.before);
        text(v.after);
        text(v.scim_id);
        text(v.version);
        text(v.op);
        self.rows += 1;
    }

    /// Rows fed so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The lowercase hex digest (over the row count too).
    pub fn finish(self) -> String {
        let mut h = self.hasher;
        h.update(self.rows.to_le_bytes());
        hex::encode(h.finalize())
    }
}

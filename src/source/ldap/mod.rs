//! Reading a whole LDAP directory or Active Directory into records: one
//! [`Record`](crate::source::Record) per entry, whose columns are `dn`, the
//! attribute names and `accountEnabled` (see [`entry`] for the conversions).
//!
//! Owns the URL and options ([`spec`]), the connection with verified TLS and the
//! bind ([`connect`]), the paged search ([`read`]) and its errors ([`error`]). A read
//! returns every entry or an [`LdapError`], never part of the directory, so a sync
//! can refuse to act on a short read. Mapping the records and deciding what to do
//! with them live in `mapping` and `sync`.

pub mod connect;
pub mod entry;
pub mod error;
pub mod read;
pub mod spec;

pub use entry::{ACCOUNT_ENABLED_COLUMN, DN_COLUMN, VALUE_SEPARATOR, account_enabled, guid_string};
pub use error::LdapError;
pub use spec::{DEFAULT_FILTER, DEFAULT_PAGE_SIZE, DEFAULT_TIMEOUT, LdapBind, LdapSpec};

use crate::source::Record;

/// The whole directory read.
///
/// `header` is `dn` first, then the requested attributes in their spelling, then
/// every other attribute name in the order the server first returned it, plus
/// `accountEnabled` once an entry had `userAccountControl`. `records[i].row` is
/// `i + 1`; `fields` are aligned to `header` (`""` where an entry lacks one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    /// Column names.
    pub header: Vec<String>,
    /// One record per entry, in the server's order.
    pub records: Vec<Record>,
    /// Pages the server sent.
    pub pages: u64,
    /// Continuation references (referrals) skipped, never followed.
    pub referrals_skipped: u64,
}

/// Reads every entry of `spec.filter` under `spec.base_dn`, page by page, calling
/// `on_entries` with the running entry count after each page.
pub async fn read_directory(
    spec: &LdapSpec,
    on_entries: &(dyn Fn(u64) + Sync),
) -> Result<Directory, LdapError> {
    let endpoint = spec::check(spec)?;
    let mut ldap = connect::open(spec, &endpoint).await?;
    let result = read::search(&mut ldap, spec, &endpoint.url, on_entries).await;
    // Best effort: the read's outcome is already decided.
    let _ = tokio::time::timeout(spec.timeout, ldap.unbind()).await;
    let out = result?;
    let (header, records) = out.table.finish();
    Ok(Directory {
        header,
        records,
        pages: out.pages,
        referrals_skipped: out.referrals_skipped,
    })
}

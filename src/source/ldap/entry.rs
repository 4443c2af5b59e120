//! Turning one LDAP search result entry into text fields, and collecting entries
//! into a table whose header is `dn`, the attribute names and `accountEnabled`.
//!
//! The entry is decoded from its BER structure here (not with ldap3's
//! `SearchEntry::construct`, which panics on a malformed entry, loses the server's
//! attribute order and splits an attribute's values between text and binary).
//! Conversions: values of a multi-valued attribute are joined with `;` in server
//! order; `objectGUID` (16 bytes) becomes the canonical GUID string in Active
//! Directory's byte order; other binary values are base64; `userAccountControl`
//! also gives `accountEnabled`. No I/O.

use std::collections::HashMap;

use base64::Engine as _;
use ldap3::asn1::{PL, StructureTag};

use crate::source::Record;

/// The column every record starts with: the entry's distinguished name.
pub const DN_COLUMN: &str = "dn";
/// The column derived from `userAccountControl`.
pub const ACCOUNT_ENABLED_COLUMN: &str = "accountEnabled";
/// What joins the values of a multi-valued attribute.
pub const VALUE_SEPARATOR: &str = ";";
/// The ACCOUNTDISABLE bit of `userAccountControl`.
pub const ACCOUNTDISABLE: i64 = 0x2;

/// Attributes whose values are binary in Active Directory, base64 even when the
/// bytes happen to be valid UTF-8 (so a column never mixes two forms).
const BINARY_ATTRIBUTES: &[&str] = &[
    "objectsid",
    "sidhistory",
    "thumbnailphoto",
    "jpegphoto",
    "usercertificate",
    "mssds-consistencyguid",
    "msexchmailboxguid",
    "logonhours",
    "ntsecuritydescriptor",
];

/// One decoded entry: its DN and its attributes in server order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    /// The distinguished name.
    pub dn: String,
    /// `(attribute name as returned, values)`.
    pub attributes: Vec<(String, Vec<Vec<u8>>)>,
}

/// Decodes a SearchResultEntry (`[APPLICATION 4] SEQUENCE { objectName,
/// attributes }`); `None` when it is not one or is malformed.
pub fn decode(tag: StructureTag) -> Option<RawEntry> {
    if tag.id != 4 {
        return None;
    }
    let PL::C(parts) = tag.payload else {
        return None;
    };
    let mut parts = parts.into_iter();
    let dn = String::from_utf8(primitive(parts.next()?)?).ok()?;
    let PL::C(list) = parts.next()?.payload else {
        return None;
    };
    let mut attributes = Vec::with_capacity(list.len());
    for item in list {
        let PL::C(pair) = item.payload else {
            return None;
        };
        let mut pair = pair.into_iter();
        let name = String::from_utf8(primitive(pair.next()?)?).ok()?;
        let PL::C(vals) = pair.next()?.payload else {
            return None;
        };
        let values = vals
            .into_iter()
            .map(primitive)
            .collect::<Option<Vec<_>>>()?;
        attributes.push((name, values));
    }
    Some(RawEntry { dn, attributes })
}

fn primitive(tag: StructureTag) -> Option<Vec<u8>> {
    match tag.payload {
        PL::P(bytes) => Some(bytes),
        PL::C(_) => None,
    }
}

/// The canonical lower-case GUID string of 16 bytes in Active Directory's order
/// (the first three groups little-endian), as `ldbsearch` and `samba-tool` print it.
pub fn guid_string(bytes: &[u8; 16]) -> String {
    uuid::Uuid::from_bytes_le(*bytes).hyphenated().to_string()
}

/// `accountEnabled` from a `userAccountControl` value: `false` when ACCOUNTDISABLE
/// (0x2) is set, `true` otherwise, `""` when the value is not an integer.
pub fn account_enabled(uac: &str) -> &'static str {
    match uac.trim().parse::<i64>() {
        Ok(v) if v & ACCOUNTDISABLE != 0 => "false",
        Ok(_) => "true",
        Err(_) => "",
    }
}

/// One value as text: a GUID for a 16-byte `objectGUID`; base64 for a known binary
/// attribute and for bytes that are not UTF-8 text (invalid UTF-8, or control
/// characters other than tab, CR and LF); else the text itself.
pub fn value_text(attribute: &str, bytes: &[u8]) -> String {
    let lower = attribute.to_ascii_lowercase();
    if lower == "objectguid" {
        if let Ok(arr) = <[u8; 16]>::try_from(bytes) {
            return guid_string(&arr);
        }
        return base64(bytes);
    }
    if BINARY_ATTRIBUTES.contains(&lower.as_str()) || lower.ends_with(";binary") {
        return base64(bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(s)
            if !s
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n')) =>
        {
            s.to_string()
        }
        _ => base64(bytes),
    }
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Entries collected into records aligned to one header.
#[derive(Debug, Default)]
pub struct Table {
    /// Column names: `dn`, then attributes (requested ones first, in their
    /// spelling), then `accountEnabled` once an entry had `userAccountControl`.
    header: Vec<String>,
    /// Lower-cased name → column.
    index: HashMap<String, usize>,
    /// The `accountEnabled` column, once known.
    enabled: Option<usize>,
    /// Records so far (shorter ones are padded in [`Table::finish`]).
    records: Vec<Record>,
}

impl Table {
    /// A table whose header starts with `dn` and the `requested` names (in their
    /// spelling, first of case-insensitive duplicates; `*` and `+` are not names).
    pub fn new(requested: &[String]) -> Self {
        let mut t = Table::default();
        t.column(DN_COLUMN);
        for name in requested {
            if name != "*" && name != "+" && !name.is_empty() {
                let at = t.column(name);
                if name.eq_ignore_ascii_case(ACCOUNT_ENABLED_COLUMN) {
                    t.enabled = Some(at);
                }
            }
        }
        t
    }

    /// The column of `name` (case-insensitive), added at the end when new.
    fn column(&mut self, name: &str) -> usize {
        let key = name.to_ascii_lowercase();
        if let Some(&at) = self.index.get(&key) {
            return at;
        }
        let at = self.header.len();
        self.header.push(name.to_string());
        self.index.insert(key, at);
        at
    }

    /// Adds one entry as the next record (`row` = its 1-based position).
    pub fn push(&mut self, entry: RawEntry) {
        let mut fields = vec![String::new(); self.header.len()];
        let set = |fields: &mut Vec<String>, at: usize, value: String| {
            if fields.len() <= at {
                fields.resize(at + 1, String::new());
            }
            fields[at] = value;
        };
        set(&mut fields, 0, entry.dn);
        for (name, values) in entry.attributes {
            if name.eq_ignore_ascii_case(DN_COLUMN)
                || name.eq_ignore_ascii_case(ACCOUNT_ENABLED_COLUMN)
            {
                continue;
            }
            let text: Vec<String> = values.iter().map(|v| value_text(&name, v)).collect();
            let joined = text.join(VALUE_SEPARATOR);
            let at = self.column(&name);
            if name.eq_ignore_ascii_case("userAccountControl") {
                let enabled = account_enabled(text.first().map_or("", String::as_str));
                let col = match self.enabled {
                    Some(c) => c,
                    None => {
                        let c = self.column(ACCOUNT_ENABLED_COLUMN);
                        self.enabled = Some(c);
                        c
                    }
                };
                set(&mut fields, col, enabled.to_string());
            }
            set(&mut fields, at, joined);
        }
        let row = self.records.len() as u64 + 1;
        self.records.push(Record { row, fields });
    }

    /// Entries so far.
    pub fn len(&self) -> u64 {
        self.records.len() as u64
    }

    /// Whether no entry was added.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The header and the records, every record padded to the header's width.
    pub fn finish(self) -> (Vec<String>, Vec<Record>) {
        let width = self.header.len();
        let mut records = self.records;
        for r in &mut records {
            r.fields.resize(width, String::new());
        }
        (self.header, records)
    }
}

#[cfg(test)]
mod tests;

//! Extension schemas (RFC 7643 §7) a user defines in an `EXT.toml` file: parsing
//! (serde, unknown keys refused), validation against RFC 7643 (every problem, not
//! the first), and the Schema resource JSON a target's `POST /Schemas` takes.
//!
//! Pure: no I/O. Judging an extension against what a target already offers is
//! `check`; deploying it is `cli::schema`'s; the emulator's `--schema-extensions`
//! uses the same validation for what it is sent.

mod check;
#[cfg(test)]
mod tests;

pub use check::{EXTENSION_CAP, GENESYS_ALTERNATIVES, check_against, custom_extension_count};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::AttrType;
use crate::scim::model::SCHEMA_SCHEMA;

/// An extension file as written (`EXT.toml`), or a Schema resource as posted.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionFile {
    /// The schema's URN, e.g. `urn:acme:params:scim:schemas:extension:hr:2.0:User`.
    pub id: String,
    /// A short human name.
    pub name: String,
    /// What the extension holds.
    #[serde(default)]
    pub description: Option<String>,
    /// The attributes (`[[attribute]]` tables).
    #[serde(default, rename = "attribute", alias = "attributes")]
    pub attributes: Vec<AttributeDef>,
}

/// One attribute (or sub-attribute) as written; RFC 7643 §7 names.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AttributeDef {
    /// The name (RFC 7643 ATTRNAME: a letter, then letters, digits, `-` or `_`).
    pub name: String,
    /// string, boolean, integer, decimal, dateTime, reference, binary or complex.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether it holds a list (default false).
    #[serde(default, rename = "multiValued")]
    pub multi_valued: bool,
    /// Whether a user must carry it (default false).
    #[serde(default)]
    pub required: bool,
    /// Whether string comparison is case-sensitive (default false).
    #[serde(default, rename = "caseExact")]
    pub case_exact: bool,
    /// readOnly, readWrite (default), immutable or writeOnly.
    #[serde(default)]
    pub mutability: Option<String>,
    /// always, never, default (default) or request.
    #[serde(default)]
    pub returned: Option<String>,
    /// none (default), server or global.
    #[serde(default)]
    pub uniqueness: Option<String>,
    /// The values a string attribute may take (strings only).
    #[serde(default, rename = "canonicalValues")]
    pub canonical_values: Vec<String>,
    /// What a reference points to (`User`, `Group`, `external`, `uri`; references only).
    #[serde(default, rename = "referenceTypes")]
    pub reference_types: Vec<String>,
    /// What it holds.
    #[serde(default)]
    pub description: Option<String>,
    /// Sub-attributes of a complex attribute (`[[attribute.sub_attribute]]`).
    #[serde(default, rename = "sub_attribute", alias = "subAttributes")]
    pub sub_attributes: Vec<AttributeDef>,
}

impl AttributeDef {
    /// The parsed type, when it is an RFC 7643 one.
    pub fn attr_type(&self) -> Option<AttrType> {
        AttrType::parse(&self.kind)
    }

    /// Whether clients may write it (not `readOnly`).
    pub fn is_read_only(&self) -> bool {
        self.mutability
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("readOnly"))
    }
}

/// One thing wrong with an extension, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `id`, `name`, or the attribute path (`attribute badge`, `attribute address.street`).
    pub at: String,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.problem)
    }
}

/// Why an extension file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ExtensionError {
    /// Not TOML, or a key or value serde refuses (unknown key, wrong type).
    #[error("the extension file is not valid: {detail}")]
    Syntax {
        /// The parser's message (line and column included).
        detail: String,
    },
}

const MUTABILITY: [&str; 4] = ["readOnly", "readWrite", "immutable", "writeOnly"];
const RETURNED: [&str; 4] = ["always", "never", "default", "request"];
const UNIQUENESS: [&str; 3] = ["none", "server", "global"];

impl ExtensionFile {
    /// Parses an `EXT.toml` text (syntax only; see [`ExtensionFile::validate`]).
    pub fn from_toml(text: &str) -> Result<ExtensionFile, ExtensionError> {
        toml::from_str(text).map_err(|e| ExtensionError::Syntax {
            detail: e.to_string(),
        })
    }

    /// Reads a Schema resource as a client posts it (`schemas` and `meta` ignored).
    pub fn from_json(doc: &Value) -> Result<ExtensionFile, ExtensionError> {
        let mut doc = doc.clone();
        if let Some(o) = doc.as_object_mut() {
            o.remove("schemas");
            o.remove("meta");
        }
        serde_json::from_value(doc).map_err(|e| ExtensionError::Syntax {
            detail: e.to_string(),
        })
    }

    /// Every way the extension breaks RFC 7643 §7 (empty when valid).
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut at = |at: &str, problem: String| {
            out.push(Problem {
                at: at.to_string(),
                problem,
            })
        };
        if let Err(why) = check_urn(&self.id) {
            at("id", format!("`{}` is not a URN: {why}", self.id));
        }
        if self.name.trim().is_empty() {
            at("name", "is empty".into());
        }
        if self.attributes.is_empty() {
            at(
                "attribute",
                "an extension needs at least one attribute".into(),
            );
        }
        validate_list(&self.attributes, "", 0, &mut out);
        out
    }

    /// The Schema resource (RFC 7643 §7) to POST, with every default spelled out.
    pub fn to_json(&self) -> Value {
        let mut doc = json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "attributes": self.attributes.iter().map(attribute_json).collect::<Vec<_>>(),
        });
        if let Some(d) = &self.description {
            doc["description"] = json!(d);
        }
        doc
    }

    /// The top-level attribute named `name` (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

fn attribute_json(a: &AttributeDef) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(a.name));
    let kind = a
        .attr_type()
        .map_or_else(|| a.kind.clone(), |k| k.as_str().to_string());
    o.insert("type".into(), json!(kind));
    o.insert("multiValued".into(), json!(a.multi_valued));
    o.insert(
        "description".into(),
        json!(a.description.clone().unwrap_or_default()),
    );
    o.insert("required".into(), json!(a.required));
    o.insert("caseExact".into(), json!(a.case_exact));
    o.insert(
        "mutability".into(),
        json!(a.mutability.as_deref().unwrap_or("readWrite")),
    );
    o.insert(
        "returned".into(),
        json!(a.returned.as_deref().unwrap_or("default")),
    );
    o.insert(
        "uniqueness".into(),
        json!(a.uniqueness.as_deref().unwrap_or("none")),
    );
    if !a.canonical_values.is_empty() {
        o.insert("canonicalValues".into(), json!(a.canonical_values));
    }
    if !a.reference_types.is_empty() {
        o.insert("referenceTypes".into(), json!(a.reference_types));
    }
    if !a.sub_attributes.is_empty() {
        let subs: Vec<Value> = a.sub_attributes.iter().map(attribute_json).collect();
        o.insert("subAttributes".into(), Value::Array(subs));
    }
    Value::Object(o)
}

/// RFC 8141 URN syntax: `urn:` NID `:` NSS; the NID 2–32 letters, digits or `-`
/// (not first or last), the NSS non-empty and free of spaces and `#?"<>\^{}|`.
fn check_urn(s: &str) -> Result<(), &'static str> {
    let rest = match s.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("urn:") => &s[4..],
        _ => return Err("it must start with `urn:`"),
    };
    let (nid, nss) = rest
        .split_once(':')
        .ok_or("it needs a namespace and a specific string (`urn:NID:NSS`)")?;
    let nid_ok = (2..=32).contains(&nid.len())
        && nid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !nid.starts_with('-')
        && !nid.ends_with('-');
    if !nid_ok {
        return Err("the namespace (after `urn:`) must be 2-32 letters, digits or `-`");
    }
    if nss.is_empty() {
        return Err("nothing follows the namespace");
    }
    if nss
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "#?\"<>\\^`{}|".contains(c))
    {
        return Err("it holds a space or one of # ? \" < > \\ ^ ` { } |");
    }
    if nss.ends_with(':') {
        return Err("it ends with `:`");
    }
    Ok(())
}

/// RFC 7643 §2.1 ATTRNAME: ALPHA *(ALPHA / DIGIT / "-" / "_").
fn is_attr_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn one_of(value: Option<&str>, allowed: &[&str]) -> Option<String> {
    let v = value?;
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(v)) {
        None
    } else {
        Some(format!("`{v}` is not one of {}", allowed.join(", ")))
    }
}

fn validate_list(list: &[AttributeDef], parent: &str, depth: u8, out: &mut Vec<Problem>) {
    let mut seen: Vec<String> = Vec::new();
    for a in list {
        let path = if parent.is_empty() {
            a.name.clone()
        } else {
            format!("{parent}.{}", a.name)
        };
        let at = format!("attribute `{path}`");
        let mut push = |problem: String| {
            out.push(Problem {
                at: at.clone(),
                problem,
            })
        };
        if !is_attr_name(&a.name) {
            push("the name must start with a letter and hold only letters, digits, `-` and `_` (RFC 7643 §2.1)".into());
        }
        let lower = a.name.to_ascii_lowercase();
        if seen.contains(&lower) {
            push("the name is used twice (names compare case-insensitively)".into());
        } else {
            seen.push(lower);
        }
        let kind = a.attr_type();
        if kind.is_none() {
            push(format!(
                "type `{}` is not one of string, boolean, integer, decimal, dateTime, reference, binary, complex",
                a.kind
            ));
        }
        for (what, value, allowed) in [
            ("mutability", a.mutability.as_deref(), &MUTABILITY[..]),
            ("returned", a.returned.as_deref(), &RETURNED[..]),
            ("uniqueness", a.uniqueness.as_deref(), &UNIQUENESS[..]),
        ] {
            if let Some(why) = one_of(value, allowed) {
                push(format!("{what}: {why}"));
            }
        }
        if !a.canonical_values.is_empty() && kind.is_some_and(|k| k != AttrType::String) {
            push("canonicalValues are allowed on string attributes only".into());
        }
        match kind {
            Some(AttrType::Reference) if a.reference_types.is_empty() => {
                push("a reference needs referenceTypes (e.g. [\"external\"])".into())
            }
            Some(k) if k != AttrType::Reference && !a.reference_types.is_empty() => {
                push("referenceTypes are allowed on reference attributes only".into())
            }
            _ => {}
        }
        match kind {
            Some(AttrType::Complex) if depth > 0 => push(
                "a complex attribute cannot hold another complex attribute (RFC 7643 §2.3.8)"
                    .into(),
            ),
            Some(AttrType::Complex) if a.sub_attributes.is_empty() => {
                push("a complex attribute needs sub-attributes".into())
            }
            Some(k) if k != AttrType::Complex && !a.sub_attributes.is_empty() => push(format!(
                "a {} attribute cannot have sub-attributes",
                k.as_str()
            )),
            _ => {}
        }
        if depth == 0 {
            validate_list(&a.sub_attributes, &path, depth + 1, out);
        }
    }
}

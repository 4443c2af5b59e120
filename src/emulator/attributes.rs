//! Which attributes a Genesys user has, and what a user body naming any other gets.
//!
//! Owns the `--unknown-attributes` check of a user document (a POST or PUT body, and
//! the document a PATCH produces). The table of known attributes is read from the
//! emulator's own `/Schemas` documents (`schemas.rs`), so what the emulator accepts
//! and what it publishes cannot drift apart. Core `name` is not there: Genesys has
//! no such attribute (reference §2). Does not validate values (see `rules`) and does
//! not resolve PATCH paths (see `patch`).

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::config::UnknownAttributes;
use super::errors::ApiError;
use super::schemas::all_schemas;
use crate::scim::model::{SCHEMA_ENTERPRISE, SCHEMA_GENESYS, SCHEMA_USER};

/// One published attribute: its sub-attributes (lower-case) and whether a client may
/// write it (read-only ones are ignored in a body, so their insides are not checked).
#[derive(Debug, Default)]
struct Attr {
    subs: Vec<String>,
    read_only: bool,
}

/// Known attributes per user schema URN, keyed by lower-case name.
type Table = HashMap<&'static str, HashMap<String, Attr>>;

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut table = Table::new();
    for schema in all_schemas("") {
        let Some(urn) = [SCHEMA_USER, SCHEMA_ENTERPRISE, SCHEMA_GENESYS]
            .into_iter()
            .find(|u| schema["id"] == *u)
        else {
            continue;
        };
        let attrs = schema["attributes"].as_array().cloned().unwrap_or_default();
        let known = attrs
            .iter()
            .filter_map(|a| {
                let name = a["name"].as_str()?.to_ascii_lowercase();
                let subs = a["subAttributes"]
                    .as_array()
                    .map(|s| {
                        s.iter()
                            .filter_map(|x| x["name"].as_str().map(str::to_ascii_lowercase))
                            .collect()
                    })
                    .unwrap_or_default();
                let read_only = a["mutability"] == "readOnly";
                Some((name, Attr { subs, read_only }))
            })
            .collect();
        table.insert(urn, known);
    }
    table
});

/// The user schema URN `s` names (case-insensitively), if any.
pub(crate) fn user_schema(s: &str) -> Option<&'static str> {
    [SCHEMA_USER, SCHEMA_ENTERPRISE, SCHEMA_GENESYS]
        .into_iter()
        .find(|u| u.eq_ignore_ascii_case(s))
}

fn unknown(what: String) -> ApiError {
    ApiError::scim400(
        "invalidSyntax",
        format!(
            "unknown attribute {what:?}: a Genesys user has no such attribute or schema \
             (see /Schemas)"
        ),
    )
}

/// Checks a user document against the published user schemas. With `Reject` the
/// first unknown attribute or schema URN is a 400 `invalidSyntax` naming it; with
/// `Ignore` every unknown one is removed, so it is never stored or returned.
pub(crate) fn check_user_doc(doc: &mut Value, mode: UnknownAttributes) -> Result<(), ApiError> {
    let Value::Object(root) = doc else {
        return Err(ApiError::invalid_value("a user must be a JSON object"));
    };
    if let Some(Value::Array(schemas)) = root.get_mut("schemas") {
        let mut bad = None;
        schemas.retain(|s| {
            let known = s.as_str().is_some_and(|s| user_schema(s).is_some());
            if !known && bad.is_none() {
                bad = Some(s.as_str().unwrap_or_default().to_string());
            }
            known
        });
        if let (UnknownAttributes::Reject, Some(urn)) = (mode, bad) {
            return Err(unknown(urn));
        }
    }
    check_object(root, SCHEMA_USER, "", mode)?;
    for urn in [SCHEMA_ENTERPRISE, SCHEMA_GENESYS] {
        let key = root.keys().find(|k| k.eq_ignore_ascii_case(urn)).cloned();
        if let Some(Value::Object(ext)) = key.and_then(|k| root.get_mut(&k)) {
            check_object(ext, urn, &format!("{urn}:"), mode)?;
        }
    }
    Ok(())
}

/// Checks the attributes of one schema's object (`prefix` names it in errors).
fn check_object(
    obj: &mut Map<String, Value>,
    urn: &'static str,
    prefix: &str,
    mode: UnknownAttributes,
) -> Result<(), ApiError> {
    let table = TABLE.get(urn);
    let mut drop = Vec::new();
    for (key, value) in obj.iter_mut() {
        if urn == SCHEMA_USER && (key == "schemas" || user_schema(key).is_some()) {
            continue;
        }
        let Some(attr) = table.and_then(|t| t.get(&key.to_ascii_lowercase())) else {
            match mode {
                UnknownAttributes::Reject => return Err(unknown(format!("{prefix}{key}"))),
                UnknownAttributes::Ignore => {
                    drop.push(key.clone());
                    continue;
                }
            }
        };
        if attr.read_only || attr.subs.is_empty() {
            continue;
        }
        let items: Vec<&mut Map<String, Value>> = match value {
            Value::Object(m) => vec![m],
            Value::Array(xs) => xs.iter_mut().filter_map(Value::as_object_mut).collect(),
            _ => Vec::new(),
        };
        for item in items {
            let mut bad = Vec::new();
            for sub in item.keys() {
                if !attr.subs.contains(&sub.to_ascii_lowercase()) {
                    if mode == UnknownAttributes::Reject {
                        return Err(unknown(format!("{prefix}{key}.{sub}")));
                    }
                    bad.push(sub.clone());
                }
            }
            for b in bad {
                item.remove(&b);
            }
        }
    }
    for k in drop {
        obj.remove(&k);
    }
    // An object keyed by an unknown schema URN (a `customAttributes` extension).
    if urn == SCHEMA_USER {
        let foreign: Vec<String> = obj
            .keys()
            .filter(|k| k.starts_with("urn:") && user_schema(k).is_none())
            .cloned()
            .collect();
        if let (UnknownAttributes::Reject, Some(k)) = (mode, foreign.first()) {
            return Err(unknown(k.clone()));
        }
        for k in foreign {
            obj.remove(&k);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:genesyscloud:2.0:User";

    fn run(mut v: Value, mode: UnknownAttributes) -> Result<Value, String> {
        check_user_doc(&mut v, mode)
            .map(|()| v)
            .map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn known_attributes_pass_untouched() {
        let v = json!({"schemas": [SCHEMA_USER, SCHEMA_ENTERPRISE], "userName": "a@b.co",
            "displayName": "A", "emails": [{"value": "a@b.co", "type": "work", "primary": true}],
            "groups": [{"value": "g", "display": "G"}], "meta": {"version": "1"},
            SCHEMA_ENTERPRISE: {"manager": {"value": "m", "displayName": "M"}},
            SCHEMA_GENESYS: {"routingSkills": [{"name": "S", "proficiency": 1}]}});
        assert_eq!(run(v.clone(), UnknownAttributes::Reject), Ok(v));
    }

    #[test]
    fn unknown_ones_are_rejected_by_name_or_dropped() {
        let cases = [
            (json!({"name": {"givenName": "A"}}), "\\\"name\\\""),
            (json!({"addresses": []}), "addresses"),
            (
                json!({"emails": [{"value": "a@b.co", "display": "x"}]}),
                "emails.display",
            ),
            (
                json!({SCHEMA_ENTERPRISE: {"costCenter": "1"}}),
                "costCenter",
            ),
            (json!({CUSTOM: {"x": 1}}), "genesyscloud"),
            (json!({"schemas": [SCHEMA_USER, CUSTOM]}), "genesyscloud"),
        ];
        for (v, named) in cases {
            let err = run(v.clone(), UnknownAttributes::Reject).unwrap_err();
            assert!(
                err.contains("invalidSyntax") && err.contains(named),
                "{err}"
            );
            let kept = run(v, UnknownAttributes::Ignore).unwrap();
            let text = kept.to_string();
            for gone in [
                "givenName",
                "addresses",
                "display",
                "costCenter",
                "genesyscloud",
            ] {
                assert!(!text.contains(gone), "{text}");
            }
        }
    }
}

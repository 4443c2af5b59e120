//! The PATCH for custom extension attributes (`scimport schema extend`): one
//! `replace` per mapped attribute whose value differs (numbers compare as numbers),
//! a `remove` for a cleared one the tenant has, nothing when equal.
//!
//! Called by `diff::diff_user` after the built-in attributes; owns nothing else.

use std::collections::BTreeSet;

use serde_json::Value;

use super::diff::Diff;
use crate::scim::model::{PatchOperation, SCHEMA_ENTERPRISE, SCHEMA_GENESYS, SCHEMA_USER, User};

/// Whether `path` names a custom extension attribute (`urn:...:attr`, not the
/// core, enterprise or Genesys schemas).
pub fn is_extension_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.starts_with("urn:")
        && [SCHEMA_USER, SCHEMA_ENTERPRISE, SCHEMA_GENESYS]
            .iter()
            .all(|u| !lower.starts_with(&u.to_ascii_lowercase()))
        && path.rsplit_once(':').is_some_and(|(_, a)| !a.is_empty())
}

/// Whether two extension values are equal (numbers by value, 3 == 3.0).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() < 1e-9,
            _ => x == y,
        },
        _ => a == b,
    }
}

fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Adds to `diff` the operations that make `actual`'s extension values match
/// `want`'s, and removes the `clear` paths the tenant has a value at.
pub(super) fn diff_extensions(want: &User, actual: &User, clear: &BTreeSet<&str>, diff: &mut Diff) {
    for (urn, attrs) in &want.extensions.0 {
        for (attr, w) in attrs {
            let have = actual.extensions.value(urn, attr);
            if !have.is_some_and(|h| same(w, h)) {
                diff.push(
                    PatchOperation::replace(format!("{urn}:{attr}"), w.clone()),
                    have.map(render),
                    Some(render(w)),
                );
            }
        }
    }
    for path in clear.iter().filter(|p| is_extension_path(p)) {
        let Some((urn, attr)) = path.rsplit_once(':') else {
            continue;
        };
        if want.extensions.value(urn, attr).is_some() {
            continue;
        }
        if let Some(h) = actual.extensions.value(urn, attr).filter(|h| !h.is_null()) {
            diff.push(PatchOperation::remove(*path), Some(render(h)), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const URN: &str = "urn:acme:ext:2.0:User";

    fn user(values: &[(&str, Value)]) -> User {
        let mut u = User::default();
        for (a, v) in values {
            u.extensions.set(URN, a, v.clone());
        }
        u
    }

    /// (op, path, value) of an expected operation.
    type Expected = (String, String, Option<Value>);

    #[test]
    fn one_replace_per_changed_attribute_none_when_equal() {
        // (desired, tenant, clear, expected ops as (op, path, value))
        let cases: Vec<(User, User, Vec<&str>, Vec<Expected>)> = vec![
            (
                user(&[("badge", json!("B1"))]),
                user(&[("badge", json!("B1"))]),
                vec![],
                vec![],
            ),
            (
                user(&[("grade", json!(3))]),
                user(&[("grade", json!(3.0))]),
                vec![],
                vec![],
            ),
            (
                user(&[("badge", json!("B2")), ("remote", json!(true))]),
                user(&[("badge", json!("B1")), ("remote", json!(true))]),
                vec![],
                vec![(
                    "replace".to_string(),
                    format!("{URN}:badge"),
                    Some(json!("B2")),
                )],
            ),
            (
                user(&[("remote", json!(false))]),
                User::default(),
                vec![],
                vec![(
                    "replace".to_string(),
                    format!("{URN}:remote"),
                    Some(json!(false)),
                )],
            ),
            (
                User::default(),
                user(&[("badge", json!("B1"))]),
                vec!["urn:acme:ext:2.0:User:badge"],
                vec![("remove".to_string(), format!("{URN}:badge"), None)],
            ),
            (
                User::default(),
                User::default(),
                vec!["urn:acme:ext:2.0:User:badge"],
                vec![],
            ),
        ];
        for (i, (want, have, clear, expected)) in cases.into_iter().enumerate() {
            let mut diff = Diff::default();
            diff_extensions(&want, &have, &clear.into_iter().collect(), &mut diff);
            let got: Vec<Expected> = diff
                .ops
                .iter()
                .map(|o| {
                    (
                        o.op.clone(),
                        o.path.clone().unwrap_or_default(),
                        o.value.clone(),
                    )
                })
                .collect();
            assert_eq!(got, expected, "case {i}");
        }
    }

    #[test]
    fn extension_paths_are_told_apart_from_built_in_ones() {
        assert!(is_extension_path("urn:acme:ext:2.0:User:badge"));
        assert!(!is_extension_path(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
        ));
        assert!(!is_extension_path("title"));
    }
}

//! Drift between the emulator's own documents and edited copies of them.

use serde_json::{Value, json};

use super::*;
use crate::emulator::schemas;
use crate::scim::model::{SCHEMA_ENTERPRISE, SCHEMA_USER};
use crate::scim::schema::{parse_resource_types, parse_schemas};

fn read(schemas: Vec<Value>, rts: Vec<Value>) -> Discovery {
    Discovery {
        schemas: parse_schemas(&Value::Array(schemas)).expect("schemas"),
        resource_types: Some(parse_resource_types(&Value::Array(rts)).expect("rts")),
        patch_supported: None,
    }
}

fn base() -> Discovery {
    read(
        schemas::all_schemas("http://x"),
        schemas::resource_types("http://x"),
    )
}

/// The emulator's documents with `edit` applied to the core User schema's attributes.
fn edited(edit: impl FnOnce(&mut Vec<Value>)) -> Discovery {
    let mut all = schemas::all_schemas("http://x");
    let user = all
        .iter_mut()
        .find(|s| s["id"] == SCHEMA_USER)
        .expect("user schema");
    let attrs = user["attributes"].as_array_mut().expect("attributes");
    edit(attrs);
    read(all, schemas::resource_types("http://x"))
}

fn attr<'a>(attrs: &'a mut [Value], name: &str) -> &'a mut Value {
    attrs
        .iter_mut()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no attribute {name}"))
}

fn path(p: &str) -> String {
    format!("{SCHEMA_USER}:{p}")
}

#[test]
fn identical_documents_have_no_drift() {
    let d = diff(&base(), &base());
    assert!(d.is_empty(), "{d:?}");
    assert!(!d.is_breaking());
}

#[test]
fn removed_and_read_only_are_breaking_and_named() {
    let now = edited(|attrs| {
        attrs.retain(|a| a["name"] != "title");
        attr(attrs, "displayName")["mutability"] = json!("readOnly");
    });
    let d = diff(&base(), &now);
    assert!(d.is_breaking());
    let broken: Vec<_> = d.breaking().map(|c| (c.path.as_str(), c.kind)).collect();
    assert_eq!(
        broken,
        vec![
            (path("displayName").as_str(), ChangeKind::MutabilityChanged),
            (path("title").as_str(), ChangeKind::Removed),
        ]
    );
    let ro = d.breaking().next().expect("one");
    assert_eq!(ro.before.as_deref(), Some("readWrite"));
    assert_eq!(ro.after.as_deref(), Some("readOnly"));
}

#[test]
fn sub_attributes_types_required_and_canonical_values() {
    let now = edited(|attrs| {
        let emails = attr(attrs, "emails");
        let subs = emails["subAttributes"].as_array_mut().expect("subs");
        attr(subs, "type")["canonicalValues"] = json!(["work"]);
        attr(subs, "value")["type"] = json!("reference");
        attr(attrs, "userName")["required"] = json!(false);
        attr(attrs, "title")["required"] = json!(true);
        attrs.push(json!({"name": "nickName", "type": "string"}));
    });
    let d = diff(&base(), &now);
    let find = |p: &str, k: ChangeKind| {
        d.changes
            .iter()
            .find(|c| c.path == path(p) && c.kind == k)
            .unwrap_or_else(|| panic!("no {k:?} at {p} in {d:#?}"))
    };
    assert!(find("emails.value", ChangeKind::TypeChanged).breaking);
    assert!(!find("emails.type", ChangeKind::CanonicalValuesChanged).breaking);
    assert!(find("title", ChangeKind::RequiredChanged).breaking);
    assert!(!find("userName", ChangeKind::RequiredChanged).breaking);
    assert!(!find("nickName", ChangeKind::Added).breaking);
}

#[test]
fn relaxed_mutability_is_not_breaking_and_a_lost_extension_is() {
    let now = edited(|attrs| {
        attr(attrs, "id")["mutability"] = json!("readWrite");
    });
    let d = diff(&base(), &now);
    assert!(!d.is_breaking(), "{d:#?}");
    // The User type stops offering the enterprise extension, whose schema goes too.
    let mut rts = schemas::resource_types("http://x");
    for rt in &mut rts {
        if let Some(exts) = rt["schemaExtensions"].as_array_mut() {
            exts.retain(|e| e["schema"] != SCHEMA_ENTERPRISE);
        }
    }
    let mut all = schemas::all_schemas("http://x");
    all.retain(|s| s["id"] != SCHEMA_ENTERPRISE);
    let d = diff(&base(), &read(all, rts));
    let removed: Vec<_> = d.breaking().map(|c| c.path.clone()).collect();
    assert!(
        removed.contains(&SCHEMA_ENTERPRISE.to_string()),
        "{removed:?}"
    );
    assert!(
        removed.contains(&format!("User -> {SCHEMA_ENTERPRISE}")),
        "{removed:?}"
    );
}

//! Deploying extension schemas and checking users' values of them.

use serde_json::{Value, json};

use super::*;
use crate::emulator::schemas;
use crate::scim::schema::{parse_resource_types, parse_schemas};

const URN: &str = "urn:acme:ext:2.0:User";

fn published(exts: &Extensions) -> Discovery {
    let mut list = schemas::all_schemas("http://x");
    list.extend(exts.schemas());
    let mut types = schemas::resource_types("http://x");
    for t in types.iter_mut().filter(|t| t["id"] == "User") {
        if let Some(Value::Array(e)) = t.get_mut("schemaExtensions") {
            e.extend(exts.urns().iter().map(|u| json!({"schema": u})));
        }
    }
    Discovery {
        schemas: parse_schemas(&json!({ "Resources": list })).unwrap(),
        resource_types: Some(parse_resource_types(&json!({ "Resources": types })).unwrap()),
        patch_supported: Some(true),
    }
}

fn schema(urn: &str) -> Value {
    json!({"schemas": [crate::scim::model::SCHEMA_SCHEMA], "id": urn, "name": "Acme",
        "attributes": [
            {"name": "badge", "type": "string"},
            {"name": "shift", "type": "string", "canonicalValues": ["early", "late"]},
            {"name": "grade", "type": "integer"},
            {"name": "remote", "type": "boolean"},
            {"name": "since", "type": "dateTime"},
            {"name": "score", "type": "string", "mutability": "readOnly"}]})
}

fn deploy(exts: &Extensions, doc: &Value) -> Result<Value, ApiError> {
    let d = published(exts);
    exts.deploy(doc, &d, "http://x")
}

#[test]
fn deploys_once_refuses_a_clash_a_bad_schema_and_the_eleventh() {
    let exts = Extensions::default();
    let served = deploy(&exts, &schema(URN)).expect("deployed");
    assert_eq!(served["meta"]["resourceType"], "Schema");
    assert_eq!(exts.urns(), [URN]);
    assert_eq!(deploy(&exts, &schema(URN)).unwrap_err().status(), 409);
    // A built-in URN exists too.
    let err = deploy(&exts, &schema(crate::scim::model::SCHEMA_ENTERPRISE)).unwrap_err();
    assert_eq!(err.status(), 409);
    // Invalid: a core name and an unknown type, both named.
    let bad = json!({"id": "urn:acme:bad:User", "name": "B", "attributes": [
        {"name": "userName", "type": "string"}, {"name": "x", "type": "float"}]});
    let err = deploy(&exts, &bad).unwrap_err();
    let text = format!("{err:?}");
    assert_eq!(err.status(), 400);
    assert!(
        text.contains("invalidValue") && text.contains("userName") && text.contains("float"),
        "{text}"
    );
    let single = |i: usize| {
        json!({"id": format!("urn:acme:ext{i}:User"), "name": "N",
               "attributes": [{"name": format!("a{i}"), "type": "string"}]})
    };
    for i in 1..EXTENSION_CAP {
        deploy(&exts, &single(i)).expect("within the cap");
    }
    let err = deploy(&exts, &single(EXTENSION_CAP)).unwrap_err();
    assert_eq!(err.status(), 403);
    assert_eq!(exts.urns().len(), EXTENSION_CAP);
}

fn deployed() -> Extensions {
    let exts = Extensions::default();
    deploy(&exts, &schema(URN)).expect("deployed");
    exts
}

#[test]
fn user_values_are_checked_by_type_mutability_and_canonical_values() {
    let exts = deployed();
    let ok = json!({"userName": "a@x.com", "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", URN],
        URN: {"badge": "B1", "shift": "late", "grade": 3, "remote": true, "since": "2026-01-02T00:00:00Z"}});
    let mut doc = ok.clone();
    let taken = exts.take(&mut doc).expect("valid");
    assert_eq!(doc.get(URN), None);
    assert_eq!(
        doc["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
    Extensions::put_back(&mut doc, taken);
    assert_eq!(doc[URN], ok[URN]);
    // (attribute, value, expected scimType)
    let cases = [
        ("grade", json!("3"), "invalidValue"),
        ("grade", json!(3.5), "invalidValue"),
        ("remote", json!("yes"), "invalidValue"),
        ("since", json!("yesterday"), "invalidValue"),
        ("shift", json!("night"), "invalidValue"),
        ("score", json!("9"), "mutability"),
        ("nope", json!("x"), "invalidSyntax"),
    ];
    for (attr, value, kind) in cases {
        let mut doc = json!({ URN: { attr: value } });
        let err = exts.take(&mut doc).expect_err(attr);
        assert!(format!("{err:?}").contains(kind), "{attr}: {err:?}");
    }
}

#[test]
fn patch_ops_on_extension_paths_are_applied_and_the_rest_passed_on() {
    let exts = deployed();
    let mut doc = json!({"userName": "a@x.com", URN: {"badge": "B1", "grade": 1}});
    let ops = vec![
        PatchOperation::replace(format!("{URN}:badge"), json!("B2")),
        PatchOperation::replace("title", json!("Agent")),
        PatchOperation::remove(format!("{URN}:grade")),
        PatchOperation {
            op: "add".into(),
            path: None,
            value: Some(json!({ URN: {"remote": true}, "displayName": "A" })),
        },
    ];
    let rest = exts.apply_patch(&mut doc, &ops).expect("applied");
    assert_eq!(doc[URN], json!({"badge": "B2", "remote": true}));
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[0].path.as_deref(), Some("title"));
    assert_eq!(rest[1].value, Some(json!({"displayName": "A"})));
    let bad = [PatchOperation::replace(
        format!("{URN}:badge.x"),
        json!("B"),
    )];
    assert!(exts.apply_patch(&mut doc, &bad).is_err());
}

#[test]
fn nothing_changes_without_deployed_extensions() {
    let exts = Extensions::default();
    let mut doc = json!({"userName": "a@x.com", URN: {"badge": "B1"}});
    let before = doc.clone();
    assert!(exts.take(&mut doc).expect("no-op").is_empty());
    assert_eq!(doc, before);
    let ops = vec![PatchOperation::replace(format!("{URN}:badge"), json!("B2"))];
    assert_eq!(exts.apply_patch(&mut doc, &ops).expect("passed on"), ops);
}

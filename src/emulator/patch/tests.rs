//! PATCH unit tests: paths, filters, read-only rules.

use super::*;
use crate::scim::model::{SCHEMA_ENTERPRISE, SCHEMA_GENESYS};
use serde_json::json;

fn user_res() -> Resource {
    Resource::User {
        user_name: Some("a@x.com".into()),
        external_id: Some("E1".into()),
        unknown: UnknownAttributes::Reject,
    }
}

fn run(doc: Value, ops: Value) -> Result<Value, ApiError> {
    let ops: Vec<PatchOperation> = serde_json::from_value(ops).unwrap();
    let mut doc = doc;
    apply(&mut doc, &ops, &user_res())?;
    Ok(doc)
}

#[test]
fn value_filter_paths_create_and_update() {
    let d = run(
        json!({"userName": "a@x.com"}),
        json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "w@x.com"},
               {"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+15550100"},
               {"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+15550199"}]),
    )
    .unwrap();
    assert_eq!(d["emails"], json!([{"type": "work", "value": "w@x.com"}]));
    assert_eq!(
        d["phoneNumbers"],
        json!([{"type": "mobile", "value": "+15550199"}])
    );
    let d = run(
        d,
        json!([{"op": "remove", "path": "phoneNumbers[type eq \"mobile\"]"}]),
    )
    .unwrap();
    assert_eq!(d["phoneNumbers"], json!([]));
}

#[test]
fn extension_urn_paths() {
    let d = run(
        json!({}),
        json!([
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m-1"},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingSkills", "value": [{"name": "Billing", "proficiency": 3}]},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:externalIds[authority eq \"microsoftteams\"].value", "value": "29:x"},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingSkills[name eq \"Billing\"].proficiency", "value": 5}
        ]),
    )
    .unwrap();
    let ent = &d[SCHEMA_ENTERPRISE];
    assert_eq!(ent["department"], "Sales");
    assert_eq!(ent["manager"], json!({"value": "m-1"}));
    let g = &d[SCHEMA_GENESYS];
    assert_eq!(
        g["routingSkills"],
        json!([{"name": "Billing", "proficiency": 5}])
    );
    assert_eq!(
        g["externalIds"],
        json!([{"authority": "microsoftteams", "value": "29:x"}])
    );
}

#[test]
fn pathless_object_and_case_insensitive_names() {
    let d = run(
        json!({"active": true, "title": "A"}),
        json!([{"op": "REPLACE", "value": {"active": false, "TITLE": "B",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"division": "EMEA"}}}]),
    )
    .unwrap();
    assert_eq!(d["active"], false);
    assert_eq!(d["title"], "B");
    assert_eq!(d[SCHEMA_ENTERPRISE]["division"], "EMEA");
}

#[test]
fn read_only_and_bad_ops() {
    let bad = |ops: Value, kind: &str| {
        let e = run(json!({}), ops).unwrap_err();
        assert!(
            matches!(e, ApiError::Scim { scim_type: Some(k), .. } if k == kind),
            "{e:?}"
        );
    };
    bad(
        json!([{"op": "replace", "path": "id", "value": "x"}]),
        "mutability",
    );
    bad(
        json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
        "mutability",
    );
    bad(
        json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "z@x.com"}]),
        "mutability",
    );
    bad(
        json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:externalIds[authority eq \"x-pc:scimv2:v1\"].value", "value": "E2"}]),
        "mutability",
    );
    bad(json!([{"op": "remove"}]), "noTarget");
    bad(json!([{"op": "move", "path": "title"}]), "invalidSyntax");
    bad(
        json!([{"op": "replace", "path": "nosuch", "value": 1}]),
        "invalidSyntax",
    );
    bad(
        json!([{"op": "replace", "path": "name.givenName", "value": "A"}]),
        "invalidSyntax",
    );
    bad(
        json!([{"op": "replace", "path": "emails[type eq", "value": 1}]),
        "invalidPath",
    );
}

#[test]
fn unknown_attributes_under_ignore_are_dropped_or_invalid_path() {
    let res = Resource::User {
        user_name: Some("a@x.com".into()),
        external_id: None,
        unknown: UnknownAttributes::Ignore,
    };
    let ops = |path: &str| -> Vec<PatchOperation> {
        serde_json::from_value(json!([{"op": "replace", "path": path, "value": "A"}])).unwrap()
    };
    let mut doc = json!({"userName": "a@x.com"});
    apply(&mut doc, &ops("name.givenName"), &res).unwrap();
    assert_eq!(doc, json!({"userName": "a@x.com"}));
    let e = apply(&mut doc, &ops("nosuch"), &res).unwrap_err();
    assert!(
        matches!(
            e,
            ApiError::Scim {
                scim_type: Some("invalidPath"),
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn remove_of_a_sub_attribute_keeps_the_entry() {
    let doc = json!({"phoneNumbers": [{"type": "mobile", "value": "+15550100"},
                                      {"type": "work", "value": "+15550101"}]});
    let d = run(
        doc.clone(),
        json!([{"op": "remove", "path": "phoneNumbers[type eq \"mobile\"].value"}]),
    )
    .unwrap();
    assert_eq!(
        d["phoneNumbers"],
        json!([{"type": "mobile"}, {"type": "work", "value": "+15550101"}])
    );
    let d = run(
        doc,
        json!([{"op": "remove", "path": "phoneNumbers[type eq \"mobile\"]"}]),
    )
    .unwrap();
    assert_eq!(
        d["phoneNumbers"],
        json!([{"type": "work", "value": "+15550101"}])
    );
}

#[test]
fn group_members_add_and_remove() {
    let mut doc = json!({"displayName": "G", "members": [{"value": "u1"}]});
    let ops: Vec<PatchOperation> = serde_json::from_value(json!([
        {"op": "add", "path": "members", "value": [{"value": "u2"}, {"value": "u1"}]},
        {"op": "remove", "path": "members[value eq \"u1\"]"}
    ]))
    .unwrap();
    apply(&mut doc, &ops, &Resource::Group).unwrap();
    assert_eq!(doc["members"], json!([{"value": "u2"}]));
}

proptest::proptest! {
    #[test]
    fn apply_never_panics(path in "\\PC{0,60}", prefix in proptest::sample::select(vec![
        "", "urn:ietf:params:scim:schemas:core:2.0:User:", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:",
        "emails[type eq \"work\"]", "urn:ietf:params:scim:schemas:core:2.0:Useré",
    ]), op in proptest::sample::select(vec!["add", "replace", "remove", "Add"])) {
        let ops = vec![PatchOperation {
            op: op.to_string(),
            path: Some(format!("{prefix}{path}")),
            value: Some(json!("v")),
        }];
        let mut doc = json!({"userName": "a@x.com", "emails": [{"type": "work", "value": "w@x.com"}]});
        let _ = apply(&mut doc, &ops, &user_res());
        let _ = apply(&mut doc, &ops, &Resource::Group);
    }
}

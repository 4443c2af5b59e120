//! Parsing discovery documents: the emulator's own, hand-written RFC ones, and
//! malformed ones (an error, never a panic).

use serde_json::json;

use super::*;
use crate::emulator::schemas;
use crate::scim::model::{SCHEMA_ENTERPRISE, SCHEMA_GENESYS, SCHEMA_USER};

fn list(items: Vec<Value>) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
           "totalResults": items.len(), "Resources": items})
}

#[test]
fn reads_the_emulators_documents() {
    let s = parse_schemas(&list(schemas::all_schemas("http://x"))).expect("schemas");
    let rts = parse_resource_types(&list(schemas::resource_types("http://x"))).expect("rts");
    let d = Discovery {
        schemas: s,
        resource_types: Some(rts),
        patch_supported: parse_patch_supported(&schemas::service_provider_config("http://x", 1))
            .expect("spc"),
    };
    assert_eq!(d.patch_supported, Some(true));
    assert!(d.offers("User", SCHEMA_USER));
    assert!(d.offers("user", SCHEMA_ENTERPRISE));
    assert!(d.offers("User", SCHEMA_GENESYS));
    assert!(!d.offers("Group", SCHEMA_GENESYS));
    let user = d.schema(SCHEMA_USER).expect("user");
    let emails = user.attribute("EMAILS").expect("emails");
    assert!(emails.multi_valued);
    assert_eq!(emails.kind, AttrType::Complex);
    assert_eq!(
        emails.sub("type").expect("type").canonical_values,
        ["work", "other"]
    );
    assert_eq!(
        user.attribute("id").expect("id").mutability,
        Mutability::ReadOnly
    );
    let manager = d
        .schema(SCHEMA_ENTERPRISE)
        .and_then(|s| s.attribute("manager"));
    assert_eq!(
        manager.and_then(|m| m.sub("$ref")).map(|r| r.kind),
        Some(AttrType::Reference)
    );
}

#[test]
fn defaults_follow_rfc_7643_and_bare_arrays_are_read() {
    // No multiValued, no mutability: single-valued and readWrite.
    let s =
        parse_schemas(&json!([{"id": "urn:x", "attributes": [{"name": "a", "type": "String"}]}]))
            .expect("schemas");
    let a = &s[0].attributes[0];
    assert_eq!(
        (a.multi_valued, a.mutability, a.kind),
        (false, Mutability::ReadWrite, AttrType::String)
    );
    // Without /ResourceTypes, a listed schema counts as offered.
    let d = Discovery {
        schemas: s,
        ..Discovery::default()
    };
    assert!(d.offers("User", "URN:X"));
    assert!(!d.offers("User", "urn:y"));
}

#[test]
fn malformed_documents_are_errors() {
    let bad_schemas = [
        json!({"Resources": "no"}),
        json!("text"),
        json!({"Resources": [{"attributes": []}]}),
        json!({"Resources": [{"id": "urn:x", "attributes": [{"type": "string"}]}]}),
        json!({"Resources": [{"id": "urn:x", "attributes": [{"name": "a", "type": "blob"}]}]}),
        json!({"Resources": [{"id": "urn:x", "attributes": [{"name": "a", "type": "string", "mutability": "sometimes"}]}]}),
        json!({"Resources": [{"id": "urn:x", "attributes": [{"name": "a", "type": "string", "multiValued": "yes"}]}]}),
        json!({"Resources": [{"id": "urn:x", "attributes": {"name": "a"}}]}),
        json!({"Resources": [{"id": "urn:x", "attributes": [{"name": "a", "type": "complex",
            "subAttributes": [{"name": "b", "type": "complex",
                "subAttributes": [{"name": "c", "type": "string"}]}]}]}]}),
    ];
    for doc in bad_schemas {
        let e = parse_schemas(&doc).expect_err(&doc.to_string());
        assert_eq!(e.document, "/Schemas");
    }
    assert!(parse_resource_types(&json!({"Resources": [{"name": "User"}]})).is_err());
    assert!(
        parse_resource_types(&json!({"Resources": [{"name": "User", "schema": "urn:x",
            "schemaExtensions": [{"required": true}]}]}))
        .is_err()
    );
    assert!(parse_patch_supported(&json!([1])).is_err());
}

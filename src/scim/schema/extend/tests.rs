use serde_json::json;

use super::*;
use crate::scim::schema::{Discovery, parse_resource_types, parse_schemas};

const GOOD: &str = r#"
id = "urn:acme:params:scim:schemas:extension:hr:2.0:User"
name = "AcmeHR"
description = "HR data"

[[attribute]]
name = "badgeNumber"
type = "string"
caseExact = true
uniqueness = "server"

[[attribute]]
name = "shift"
type = "string"
canonicalValues = ["early", "late"]

[[attribute]]
name = "remote"
type = "boolean"

[[attribute]]
name = "address"
type = "complex"
[[attribute.sub_attribute]]
name = "city"
type = "string"
"#;

fn ext_with(attr: &str) -> String {
    format!("id = \"urn:acme:ext:2.0:User\"\nname = \"X\"\n{attr}")
}

#[test]
fn a_valid_file_has_no_problem() {
    let ext = ExtensionFile::from_toml(GOOD).unwrap();
    assert_eq!(ext.validate(), vec![]);
    assert_eq!(ext.attributes[3].sub_attributes[0].name, "city");
}

#[test]
fn the_fixture_is_valid() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/extension.toml"),
    )
    .unwrap();
    assert_eq!(ExtensionFile::from_toml(&text).unwrap().validate(), vec![]);
}

#[test]
fn unknown_keys_are_refused() {
    let text = ext_with("[[attribute]]\nname = \"a\"\ntype = \"string\"\nmultivalued = true\n");
    assert!(ExtensionFile::from_toml(&text).is_err());
    assert!(ExtensionFile::from_toml("id = \"urn:a:b\"\nname = \"x\"\ncolour = 1\n").is_err());
}

#[test]
fn each_rfc_rule_is_checked() {
    // (attribute tables, a fragment of the expected problem)
    let cases = [
        (
            "[[attribute]]\nname = \"1st\"\ntype = \"string\"\n",
            "must start with a letter",
        ),
        (
            "[[attribute]]\nname = \"a b\"\ntype = \"string\"\n",
            "must start with a letter",
        ),
        (
            "[[attribute]]\nname = \"a\"\ntype = \"text\"\n",
            "type `text` is not one of",
        ),
        (
            "[[attribute]]\nname = \"a\"\ntype = \"string\"\n[[attribute.sub_attribute]]\nname = \"b\"\ntype = \"string\"\n",
            "a string attribute cannot have sub-attributes",
        ),
        (
            "[[attribute]]\nname = \"a\"\ntype = \"complex\"\n[[attribute.sub_attribute]]\nname = \"b\"\ntype = \"complex\"\n",
            "cannot hold another complex",
        ),
        (
            "[[attribute]]\nname = \"a\"\ntype = \"complex\"\n",
            "needs sub-attributes",
        ),
        (
            "[[attribute]]\nname = \"a\"\ntype = \"string\"\nmutability = \"sometimes\"\n",
            "mutability: `sometimes`",
        ),
        (
            "[[attribute]]\nname = \"a\"\ntype = \"string\"\nreturned = \"often\"\n",
            "returned: `often`",
        ),
        (
            "[[attribute]]\nname = \"a\"\ntype = \"string\"\nuniqueness = \"galactic\"\n",
            "uniqueness: `galactic`",
        ),
        (
            "[[attribute]]\nname = \"a\"\ntype = \"integer\"\ncanonicalValues = [\"1\"]\n",
            "canonicalValues are allowed on string attributes only",
        ),
        (
            "[[attribute]]\nname = \"a\"\ntype = \"reference\"\n",
            "needs referenceTypes",
        ),
        (
            "[[attribute]]\nname = \"a\"\ntype = \"string\"\nreferenceTypes = [\"User\"]\n",
            "referenceTypes are allowed on reference attributes only",
        ),
        (
            "[[attribute]]\nname = \"Badge\"\ntype = \"string\"\n[[attribute]]\nname = \"badge\"\ntype = \"string\"\n",
            "used twice",
        ),
        ("", "at least one attribute"),
    ];
    for (attrs, want) in cases {
        let ext = ExtensionFile::from_toml(&ext_with(attrs)).unwrap();
        let problems = ext.validate();
        assert!(
            problems.iter().any(|p| p.problem.contains(want)),
            "{attrs:?}: want {want:?}, got {problems:?}"
        );
    }
}

#[test]
fn urn_syntax() {
    let cases = [
        ("urn:acme:ext:2.0:User", true),
        ("URN:ietf:params:scim:schemas:extension:x:2.0:User", true),
        ("acme:ext:User", false),
        ("urn:a:b", false),
        ("urn:-acme:x", false),
        ("urn:acme:", false),
        ("urn:acme:has space", false),
        ("urn:acme:x:", false),
        ("urn:acme", false),
    ];
    for (urn, ok) in cases {
        assert_eq!(check_urn(urn).is_ok(), ok, "{urn}");
    }
}

#[test]
fn every_problem_is_listed() {
    let text = "id = \"acme\"\nname = \" \"\n[[attribute]]\nname = \"9\"\ntype = \"float\"\n";
    let problems = ExtensionFile::from_toml(text).unwrap().validate();
    let at: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
    assert_eq!(
        at,
        ["id", "name", "attribute `9`", "attribute `9`"],
        "{problems:?}"
    );
}

#[test]
fn json_round_trips_with_defaults_spelled_out() {
    let ext = ExtensionFile::from_toml(GOOD).unwrap();
    let doc = ext.to_json();
    assert_eq!(doc["schemas"], json!([SCHEMA_SCHEMA]));
    assert_eq!(doc["attributes"][0]["mutability"], "readWrite");
    assert_eq!(doc["attributes"][3]["subAttributes"][0]["name"], "city");
    let back = ExtensionFile::from_json(&doc).unwrap();
    assert_eq!(back.validate(), vec![]);
    assert_eq!(back.id, ext.id);
    // What a server publishes parses as a schema.
    let list = json!({"Resources": [doc]});
    assert_eq!(parse_schemas(&list).unwrap()[0].attributes.len(), 4);
}

fn discovery(extra: &[&str]) -> Discovery {
    let schemas = json!([
        {"id": crate::scim::model::SCHEMA_USER, "attributes": [
            {"name": "userName", "type": "string"},
            {"name": "active", "type": "boolean"},
            {"name": "title", "type": "string"}]},
        {"id": crate::scim::model::SCHEMA_ENTERPRISE, "attributes": [
            {"name": "employeeNumber", "type": "string"},
            {"name": "manager", "type": "complex", "subAttributes": [{"name": "value", "type": "string"}]}]},
    ]);
    let mut schemas = schemas.as_array().unwrap().clone();
    for urn in extra {
        schemas.push(json!({"id": urn, "attributes": [{"name": "badgeNumber", "type": "string"}]}));
    }
    let mut exts =
        vec![json!({"schema": crate::scim::model::SCHEMA_ENTERPRISE, "required": false})];
    exts.extend(
        extra
            .iter()
            .map(|u| json!({"schema": u, "required": false})),
    );
    let rts = json!([{"name": "User", "schema": crate::scim::model::SCHEMA_USER, "schemaExtensions": exts}]);
    Discovery {
        schemas: parse_schemas(&json!(schemas)).unwrap(),
        resource_types: Some(parse_resource_types(&rts).unwrap()),
        patch_supported: Some(true),
    }
}

#[test]
fn target_checks_list_every_clash() {
    let text = r#"
id = "urn:acme:params:scim:schemas:extension:hr:2.0:User"
name = "AcmeHR"
[[attribute]]
name = "Title"
type = "string"
[[attribute]]
name = "employeeNumber"
type = "string"
[[attribute]]
name = "badgeNumber"
type = "string"
[[attribute]]
name = "score"
type = "decimal"
"#;
    let ext = ExtensionFile::from_toml(text).unwrap();
    let d = discovery(&["urn:other:ext:2.0:User"]);
    let problems = check_against(&ext, &d);
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 4, "{text:#?}");
    assert!(text[0].contains("core User attribute `title`"), "{text:#?}");
    assert!(text[1].contains("employeeNumber"), "{text:#?}");
    assert!(text[2].contains("urn:other:ext:2.0:User"), "{text:#?}");
    assert!(
        text[3].contains("type decimal is used by no schema"),
        "{text:#?}"
    );
}

#[test]
fn an_existing_urn_and_the_cap_are_reported() {
    let ext = ExtensionFile::from_toml(&ext_with(
        "[[attribute]]\nname = \"x\"\ntype = \"string\"\n",
    ))
    .unwrap();
    let mut urns: Vec<String> = (0..EXTENSION_CAP)
        .map(|i| format!("urn:e{i}:x:User"))
        .collect();
    urns.push("urn:acme:ext:2.0:User".into());
    let refs: Vec<&str> = urns.iter().map(String::as_str).collect();
    let problems = check_against(&ext, &discovery(&refs));
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter().any(|p| p.contains("already has a schema")),
        "{text:#?}"
    );
    assert!(
        text.iter().any(|p| p.contains("the cap is 10")),
        "{text:#?}"
    );
    // Nine custom extensions leave room for one more.
    let problems = check_against(&ext, &discovery(&refs[..EXTENSION_CAP - 1]));
    assert_eq!(problems, vec![]);
}

//! The pre-flight check against the emulator's /Schemas and hand-written ones.

use serde_json::{Value, json};

use super::*;
use crate::emulator::schemas;
use crate::scim::schema::{parse_patch_supported, parse_resource_types, parse_schemas};

fn list(items: Vec<Value>) -> Value {
    json!({"Resources": items})
}

fn emulator() -> Discovery {
    Discovery {
        schemas: parse_schemas(&list(schemas::all_schemas("http://x"))).expect("schemas"),
        resource_types: Some(
            parse_resource_types(&list(schemas::resource_types("http://x"))).expect("rts"),
        ),
        patch_supported: parse_patch_supported(&schemas::service_provider_config("http://x", 1))
            .expect("spc"),
    }
}

fn mapping(fields: &[(&str, &str)]) -> Mapping {
    let mut text = String::from("keys = [\"userName\"]\n");
    for (path, col) in fields {
        text.push_str(&format!("[[field]]\npath = '{path}'\ncolumn = \"{col}\"\n"));
    }
    Mapping::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn fixture() -> Mapping {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mapping.toml");
    Mapping::load(&path).expect("fixture mapping")
}

#[test]
fn the_fixture_mapping_fits_the_emulator() {
    let fit = check(&fixture(), &emulator());
    assert_eq!(fit.problems, [], "{fit:?}");
    assert_eq!(fit.warnings, Vec::<String>::new());
}

#[test]
fn every_path_the_emulator_lacks_is_listed_with_its_field_and_fix() {
    let m = mapping(&[
        ("userName", "email"),
        ("name.givenName", "first"),
        ("displayName", "full"),
        ("name.familyName", "last"),
    ]);
    let fit = check(&m, &emulator());
    assert_eq!(fit.problems.len(), 2, "{fit:?}");
    let p = &fit.problems[0];
    assert_eq!(p.field, "[[field]] #2 (first)");
    assert_eq!(p.path, "name.givenName");
    assert!(p.problem.contains("has no `name`"), "{p}");
    assert!(p.fix.contains("displayName"), "{p}");
    assert_eq!(fit.problems[1].field, "[[field]] #4 (last)");
}

/// A hand-written RFC 7643 server: core User only, `title` read-only, `active` a
/// string, `roles` single-valued, `nickName` immutable, no extensions, a Group
/// resource whose members are read-only.
fn generic() -> Discovery {
    let attr = |name: &str, ty: &str, multi: bool, m: &str| json!({"name": name, "type": ty, "multiValued": multi, "mutability": m});
    let emails = json!({"name": "emails", "type": "complex", "multiValued": true,
        "subAttributes": [attr("value", "string", false, "readWrite"),
                          {"name": "type", "type": "string", "canonicalValues": ["work", "home"]}]});
    let name = json!({"name": "name", "type": "complex", "multiValued": false,
        "subAttributes": [attr("givenName", "string", false, "readWrite")]});
    let user = json!({"id": SCHEMA_USER, "attributes": [
        attr("userName", "string", false, "readWrite"),
        attr("displayName", "string", false, "immutable"),
        attr("title", "string", false, "readOnly"),
        attr("active", "string", false, "readWrite"),
        attr("roles", "string", false, "readWrite"),
        emails, name]});
    let group = json!({"id": SCHEMA_GROUP, "attributes": [
        attr("members", "complex", true, "readOnly")]});
    let ent = json!({"id": SCHEMA_ENTERPRISE, "attributes": [attr("department", "string", false, "readWrite")]});
    let rts = json!([
        {"name": "User", "endpoint": "/Users", "schema": SCHEMA_USER},
        {"name": "Group", "endpoint": "/Groups", "schema": SCHEMA_GROUP},
    ]);
    Discovery {
        schemas: parse_schemas(&json!([user, group, ent])).expect("schemas"),
        resource_types: Some(parse_resource_types(&rts).expect("rts")),
        patch_supported: Some(false),
    }
}

#[test]
fn mutability_type_and_extensions_are_checked_against_a_generic_server() {
    let m = mapping(&[
        ("userName", "email"),
        ("name.givenName", "first"),
        ("displayName", "full"),
        ("title", "title"),
        ("active", "status"),
        ("roles", "roles"),
        ("emails.work", "email"),
        ("enterprise.department", "dept"),
        ("genesys.routingSkills", "skills"),
        ("groups", "groups"),
        ("phoneNumbers.mobile", "mobile"),
    ]);
    let fit = check(&m, &generic());
    let found: Vec<(&str, &str)> = fit
        .problems
        .iter()
        .map(|p| (p.path.as_str(), p.problem.as_str()))
        .collect();
    let expect = [
        ("title", "`title` is read-only on the target"),
        (
            "active",
            "the mapping writes a boolean, the target's `active` is single-valued string",
        ),
        (
            "roles",
            "the mapping writes a list of names, the target's `roles` is single-valued string",
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "the target's User resource does not offer the schema urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ),
        (
            "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingSkills",
            "the target's User resource does not offer the schema urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User",
        ),
        ("groups", "`members` is read-only on the target"),
        (
            "phoneNumbers[type eq \"mobile\"].value",
            "the target's core User schema has no `phoneNumbers`",
        ),
    ];
    assert_eq!(found, expect, "{fit:#?}");
    // Immutable displayName, PATCH not offered: warnings, not problems.
    assert_eq!(fit.warnings.len(), 2, "{:?}", fit.warnings);
    assert!(fit.warnings[0].contains("PATCH"));
    assert!(fit.warnings[1].contains("immutable"));
}

#[test]
fn complex_versus_simple_and_canonical_types() {
    let d = Discovery {
        schemas: parse_schemas(&json!([{"id": SCHEMA_USER, "attributes": [
            {"name": "userName", "type": "string"},
            {"name": "displayName", "type": "complex", "subAttributes": [{"name": "value", "type": "string"}]},
            {"name": "emails", "type": "string", "multiValued": true},
            {"name": "phoneNumbers", "type": "complex", "multiValued": true,
             "subAttributes": [{"name": "value", "type": "integer"},
                               {"name": "type", "type": "string", "canonicalValues": ["work"]}]},
        ]}]))
        .expect("schemas"),
        resource_types: None,
        patch_supported: None,
    };
    let m = mapping(&[
        ("userName", "email"),
        ("displayName", "full"),
        ("emails.work", "email"),
        ("phoneNumbers.mobile", "mobile"),
    ]);
    let fit = check(&m, &d);
    let paths: Vec<&str> = fit.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "displayName",
            "emails[type eq \"work\"].value",
            "phoneNumbers[type eq \"mobile\"].value"
        ],
        "{fit:#?}"
    );
    assert!(
        fit.problems[0].problem.contains("single-valued complex"),
        "{fit:#?}"
    );
    // `mobile` is not among the canonical phone types: a warning only.
    assert_eq!(fit.warnings.len(), 1, "{:?}", fit.warnings);
    assert!(fit.warnings[0].contains("`mobile` is not among"));
}

/// Issue 15 (interop with scim2-server): `externalId` is a common attribute (RFC 7643
/// §3.1) that a server's User schema need not list; writing it is no problem. A
/// missing ordinary attribute still is.
#[test]
fn issue_15_external_id_is_common_even_when_the_schema_omits_it() {
    let user = json!({
        "id": "urn:ietf:params:scim:schemas:core:2.0:User",
        "attributes": [
            {"name": "userName", "type": "string", "mutability": "readWrite"},
            {"name": "title", "type": "string", "mutability": "readWrite"}
        ]
    });
    let d = Discovery {
        schemas: parse_schemas(&list(vec![user])).expect("schemas"),
        resource_types: None,
        patch_supported: None,
    };
    let m = mapping(&[
        ("userName", "email"),
        ("externalId", "id"),
        ("displayName", "full"),
    ]);
    let fit = check(&m, &d);
    assert_eq!(fit.problems.len(), 1, "{fit:?}");
    assert_eq!(fit.problems[0].path, "displayName");
}

/// The emulator's discovery with the fixture extension deployed on the User.
fn with_extension() -> Discovery {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/extension.toml"),
    )
    .expect("fixture");
    let ext = crate::scim::schema::extend::ExtensionFile::from_toml(&text).expect("extension");
    let mut d = emulator();
    d.schemas
        .extend(parse_schemas(&list(vec![ext.to_json()])).expect("schema"));
    if let Some(rts) = d.resource_types.as_mut() {
        for rt in rts.iter_mut().filter(|r| r.name == "User") {
            rt.extensions.push(ext.id.clone());
        }
    }
    d
}

#[test]
fn issue_17_extension_paths_fit_only_where_the_extension_is_deployed() {
    const URN: &str = "urn:acme:params:scim:schemas:extension:hr:2.0:User";
    let text = format!(
        "keys = [\"userName\"]\n[[field]]\npath = \"userName\"\ncolumn = \"email\"\n\
         [[field]]\npath = \"displayName\"\ncolumn = \"name\"\n\
         [[field]]\npath = \"{URN}:badgeNumber\"\ncolumn = \"badge\"\n\
         [[field]]\npath = \"{URN}:grade\"\ncolumn = \"grade\"\ntype = \"integer\"\n"
    );
    let m = Mapping::from_toml_str(&text).expect("mapping");
    let fit = check(&m, &with_extension());
    assert_eq!(fit.problems, [], "{fit:?}");
    // On the default emulator (Genesys's schemas) both are refused, with the way out.
    let fit = check(&m, &emulator());
    assert_eq!(fit.problems.len(), 2, "{fit:?}");
    assert!(
        fit.problems[0]
            .problem
            .contains("does not offer the schema"),
        "{fit:?}"
    );
    assert!(
        fit.problems[0]
            .fix
            .contains("scimport schema extend --file"),
        "{fit:?}"
    );
    // A type the mapping declares that differs from the target's.
    let text = format!(
        "keys = [\"userName\"]\n[[field]]\npath = \"userName\"\ncolumn = \"email\"\n\
         [[field]]\npath = \"displayName\"\ncolumn = \"name\"\n\
         [[field]]\npath = \"{URN}:remote\"\ncolumn = \"r\"\n"
    );
    let m = Mapping::from_toml_str(&text).expect("mapping");
    let fit = check(&m, &with_extension());
    assert_eq!(fit.problems.len(), 1, "{fit:?}");
    assert!(
        fit.problems[0].problem.contains("a single string"),
        "{fit:?}"
    );
}

#[test]
fn issue_17_type_is_only_for_extension_paths() {
    let text = "[[field]]\npath = \"title\"\ncolumn = \"t\"\ntype = \"integer\"\n";
    let err = Mapping::from_toml_str(text)
        .expect_err("refused")
        .to_string();
    assert!(err.contains("`type` applies only"), "{err}");
}

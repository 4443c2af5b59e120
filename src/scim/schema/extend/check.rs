//! An extension judged against what a target already publishes (its `/Schemas`,
//! `/ResourceTypes`): its URN already there, attribute names that clash with the
//! core User or another User extension, types no published schema uses, and the
//! cap on extensions. Every problem, not the first.
//!
//! Also holds what to tell a Genesys user instead: the built-in attributes that
//! can hold such data (Genesys's schemas are read-only).

use super::{ExtensionFile, Problem};
use crate::scim::model::{
    SCHEMA_ENTERPRISE, SCHEMA_GENESYS, SCHEMA_GROUP, SCHEMA_RESOURCE_TYPE, SCHEMA_SCHEMA,
    SCHEMA_SPC, SCHEMA_USER,
};
use crate::scim::schema::{AttrType, Attribute, Discovery};

/// At most this many custom extensions per tenant on the User resource type
/// (enterprise and Genesys ones not counted): the tutorials' figure, and the
/// emulator's cap in `--schema-extensions` mode. SCIM has no standard way to
/// publish a cap, so this is the one checked.
pub const EXTENSION_CAP: usize = 10;

/// Built-in, writable Genesys user attributes that can hold data a custom
/// extension would (reference §2): `(path, what it holds)`.
pub const GENESYS_ALTERNATIVES: [(&str, &str); 9] = [
    ("title", "core: free text (job title)"),
    (
        "enterprise.employeeNumber",
        "enterprise extension: free text (an HR or badge number)",
    ),
    ("enterprise.department", "enterprise extension: free text"),
    (
        "enterprise.division",
        "enterprise extension: the name of an existing division",
    ),
    (
        "enterprise.dateHire",
        "enterprise extension: a date (YYYY-MM-DD)",
    ),
    (
        "enterprise.manager",
        "enterprise extension: another user (mapped by the manager's externalId)",
    ),
    (
        "genesys.externalIds[authority eq \"<authority>\"].value",
        "Genesys extension: one identifier per authority you name, unique per authority",
    ),
    (
        "genesys.routingSkills / genesys.routingLanguages",
        "Genesys extension: existing skills or languages with a proficiency 0-5",
    ),
    (
        "phoneNumbers[type eq \"work2|work3|work4|other\"].value",
        "core: extra phone numbers by type",
    ),
];

/// URNs whose attributes are not user attributes.
const NOT_USER: [&str; 4] = [
    SCHEMA_GROUP,
    SCHEMA_SPC,
    SCHEMA_RESOURCE_TYPE,
    SCHEMA_SCHEMA,
];

/// The URNs of the schemas a User carries on this target: the User resource
/// type's core schema and extensions, or (without `/ResourceTypes`) every schema
/// that is not Group, ServiceProviderConfig, ResourceType or Schema.
fn user_schemas(d: &Discovery) -> Vec<String> {
    match d.resource_type("User") {
        Some(rt) => std::iter::once(rt.schema.clone())
            .chain(rt.extensions.iter().cloned())
            .collect(),
        None => d
            .schemas
            .iter()
            .map(|s| s.id.clone())
            .filter(|id| !NOT_USER.iter().any(|n| n.eq_ignore_ascii_case(id)))
            .collect(),
    }
}

/// The number of custom extensions the User resource type has (enterprise and
/// Genesys not counted).
pub fn custom_extension_count(d: &Discovery) -> usize {
    user_schemas(d)
        .iter()
        .filter(|u| {
            ![SCHEMA_USER, SCHEMA_ENTERPRISE, SCHEMA_GENESYS]
                .iter()
                .any(|b| b.eq_ignore_ascii_case(u))
        })
        .count()
}

fn collect_types(list: &[Attribute], out: &mut Vec<AttrType>) {
    for a in list {
        if !out.contains(&a.kind) {
            out.push(a.kind);
        }
        collect_types(&a.sub_attributes, out);
    }
}

/// Every problem with deploying `ext` on the target `d` describes. Types: a type
/// counts as offered when any schema the target publishes uses it (RFC 7643 has no
/// list of supported types; a target that uses none of `decimal` will not be
/// trusted with one).
pub fn check_against(ext: &ExtensionFile, d: &Discovery) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut push = |at: String, problem: String| out.push(Problem { at, problem });
    if d.schema(&ext.id).is_some()
        || user_schemas(d)
            .iter()
            .any(|u| u.eq_ignore_ascii_case(&ext.id))
    {
        push(
            "id".into(),
            format!("the target already has a schema `{}`", ext.id),
        );
    }
    for urn in user_schemas(d) {
        if urn.eq_ignore_ascii_case(&ext.id) {
            continue;
        }
        let Some(schema) = d.schema(&urn) else {
            continue;
        };
        let whose = if urn.eq_ignore_ascii_case(SCHEMA_USER) {
            "the core User attribute".to_string()
        } else {
            format!("an attribute of the extension {urn}")
        };
        for a in &ext.attributes {
            if let Some(other) = schema.attribute(&a.name) {
                push(
                    format!("attribute `{}`", a.name),
                    format!("clashes with {whose} `{}`", other.name),
                );
            }
        }
    }
    let mut offered = Vec::new();
    for s in &d.schemas {
        collect_types(&s.attributes, &mut offered);
    }
    let mut check_types = |list: &[super::AttributeDef], parent: &str| {
        for a in list {
            if let Some(k) = a.attr_type()
                && !offered.contains(&k)
            {
                push(
                    format!("attribute `{parent}{}`", a.name),
                    format!(
                        "type {} is used by no schema the target publishes",
                        k.as_str()
                    ),
                );
            }
        }
    };
    check_types(&ext.attributes, "");
    for a in &ext.attributes {
        check_types(&a.sub_attributes, &format!("{}.", a.name));
    }
    let count = custom_extension_count(d);
    if count >= EXTENSION_CAP {
        push(
            "id".into(),
            format!(
                "the target's User already has {count} custom extensions (the cap is {EXTENSION_CAP})"
            ),
        );
    }
    out
}

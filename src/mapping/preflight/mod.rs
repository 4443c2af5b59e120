//! The pre-flight's judgement: does the target offer every SCIM path a mapping
//! writes? Each field's path must exist in a schema the User resource type offers
//! (core or extension, sub-attribute and value-filter paths included), be writable,
//! and have a type the field's value fits; a mapping that manages groups needs a
//! Group resource whose `members` are writable.
//!
//! Pure: a [`Mapping`] and a [`Discovery`] in, every [`Problem`] (and softer
//! warnings) out, never the first one only. Reading the documents is
//! `engine::preflight`'s.
//!
//! Mutability: `readOnly` is a problem. `immutable` is a warning, not a problem:
//! the server takes the value when the user is created, and only a later change
//! of it fails (that row alone). `writeOnly` is writable.

mod drift;
#[cfg(test)]
mod tests;

pub use drift::{Touch, touching};

use std::fmt;

use super::{Mapping, Shape, Target};
use crate::scim::model::{SCHEMA_ENTERPRISE, SCHEMA_GENESYS, SCHEMA_GROUP, SCHEMA_USER};
use crate::scim::schema::{AttrType, Attribute, Discovery, Mutability};

/// One reason the mapping cannot be applied to the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The mapping field: `[[field]] #N (column or template)`.
    pub field: String,
    /// The SCIM path it writes.
    pub path: String,
    /// What is wrong.
    pub problem: String,
    /// What to do about it.
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} writes `{}`: {}; fix: {}",
            self.field, self.path, self.problem, self.fix
        )
    }
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fit {
    /// Problems: the run must not start.
    pub problems: Vec<Problem>,
    /// Remarks that do not stop the run (an immutable attribute, a type outside
    /// the target's canonical values, PATCH not advertised).
    pub warnings: Vec<String>,
}

/// Where a target's value goes in the schemas.
struct Need<'t> {
    urn: &'t str,
    attr: &'t str,
    /// The sub-attribute written (`value` of `emails[type eq "work"].value`).
    sub: Option<&'static str>,
    /// A value filter: the sub-attribute it selects on, and the value.
    filter: Option<(&'static str, String)>,
}

fn need(t: &Target) -> Need<'_> {
    let n = |urn, attr| Need {
        urn,
        attr,
        sub: None,
        filter: None,
    };
    match t {
        Target::ExternalId => n(SCHEMA_USER, "externalId"),
        Target::UserName => n(SCHEMA_USER, "userName"),
        Target::DisplayName => n(SCHEMA_USER, "displayName"),
        Target::GivenName => Need {
            sub: Some("givenName"),
            ..n(SCHEMA_USER, "name")
        },
        Target::FamilyName => Need {
            sub: Some("familyName"),
            ..n(SCHEMA_USER, "name")
        },
        Target::Formatted => Need {
            sub: Some("formatted"),
            ..n(SCHEMA_USER, "name")
        },
        Target::Title => n(SCHEMA_USER, "title"),
        Target::Active => n(SCHEMA_USER, "active"),
        Target::Email(ty) => Need {
            sub: Some("value"),
            filter: Some(("type", ty.clone())),
            ..n(SCHEMA_USER, "emails")
        },
        Target::Phone(ty) => Need {
            sub: Some("value"),
            filter: Some(("type", ty.clone())),
            ..n(SCHEMA_USER, "phoneNumbers")
        },
        Target::Roles => n(SCHEMA_USER, "roles"),
        Target::Groups => n(SCHEMA_GROUP, "members"),
        Target::Department => n(SCHEMA_ENTERPRISE, "department"),
        Target::Division => n(SCHEMA_ENTERPRISE, "division"),
        Target::Manager => Need {
            sub: Some("value"),
            ..n(SCHEMA_ENTERPRISE, "manager")
        },
        Target::EmployeeNumber => n(SCHEMA_ENTERPRISE, "employeeNumber"),
        Target::DateHire => n(SCHEMA_ENTERPRISE, "dateHire"),
        Target::RoutingSkills => n(SCHEMA_GENESYS, "routingSkills"),
        Target::RoutingLanguages => n(SCHEMA_GENESYS, "routingLanguages"),
        Target::GenesysExternalId(a) => Need {
            sub: Some("value"),
            filter: Some(("authority", a.clone())),
            ..n(SCHEMA_GENESYS, "externalIds")
        },
        Target::Extension { urn, attr, .. } => n(urn, attr),
    }
}

/// How to fix a path the target lacks.
fn fix_missing(t: &Target) -> String {
    match t {
        Target::GivenName | Target::FamilyName | Target::Formatted => {
            "map the name to displayName (e.g. template = \"{first_name} {last_name}\"), or \
             remove the field"
                .into()
        }
        Target::Groups => "remove the field (memberships cannot be managed on this target)".into(),
        Target::Extension { urn, .. } => format!(
            "deploy the extension {urn} with `scimport schema extend --file EXT.toml` (where \
             the target accepts schema creation; Genesys Cloud does not), or remove the field"
        ),
        _ => "remove the field, or map the column to an attribute the target offers".into(),
    }
}

/// Checks every field of `mapping` against what the target offers.
pub fn check(mapping: &Mapping, d: &Discovery) -> Fit {
    let mut fit = Fit::default();
    if d.patch_supported == Some(false) {
        fit.warnings.push(
            "the target's ServiceProviderConfig says PATCH is not supported; updates are sent \
             as PATCH and will fail"
                .into(),
        );
    }
    for (i, f) in mapping.fields().iter().enumerate() {
        judge(&f.target, &f.path, &field_name(i, f), d, &mut fit);
    }
    fit
}

/// How a problem names the mapping's field `i`: `[[field]] #N (column or template)`.
fn field_name(i: usize, f: &super::Field) -> String {
    if f.label.is_empty() {
        format!("[[field]] #{}", i + 1)
    } else {
        format!("[[field]] #{} ({})", i + 1, f.label)
    }
}

/// Whether the target offers `target` (no problem; warnings allowed): what
/// `scimport init` asks before proposing a path.
pub fn offers(target: &Target, d: &Discovery) -> bool {
    let mut fit = Fit::default();
    judge(target, &target.path(), "", d, &mut fit);
    fit.problems.is_empty()
}

/// Adds to `fit` what is wrong with writing `target` (spelled `path` by mapping
/// field `field`) to the target `d` describes.
fn judge(target: &Target, path: &str, field: &str, d: &Discovery, fit: &mut Fit) {
    let mut report = |problem: String, fix: String| {
        fit.problems.push(Problem {
            field: field.to_string(),
            path: path.to_string(),
            problem,
            fix,
        })
    };
    let n = need(target);
    let resource = if n.urn == SCHEMA_GROUP {
        "Group"
    } else {
        "User"
    };
    if !d.offers(resource, n.urn) {
        let what = if d.resource_types.is_some() && d.resource_type(resource).is_none() {
            format!("the target has no {resource} resource type")
        } else {
            format!(
                "the target's {resource} resource does not offer the schema {}",
                n.urn
            )
        };
        report(what, fix_missing(target));
        return;
    }
    let Some(schema) = d.schema(n.urn) else {
        report(
            format!("the target's /Schemas does not describe {}", n.urn),
            fix_missing(target),
        );
        return;
    };
    // RFC 7643 §3.1: `externalId` is a common attribute of every resource, which a
    // server need not list in its schema (scim2-server does not; Genesys does).
    if n.attr == "externalId" && n.sub.is_none() && schema.attribute(n.attr).is_none() {
        return;
    }
    let Some(attr) = schema.attribute(n.attr) else {
        report(
            format!("the target's {} schema has no `{}`", short(n.urn), n.attr),
            fix_missing(target),
        );
        return;
    };
    let written = match n.sub {
        None => attr,
        Some(s) => match attr.sub(s) {
            Some(sub) => sub,
            None => {
                report(
                    format!("the target's `{}` has no sub-attribute `{s}`", attr.name),
                    fix_missing(target),
                );
                return;
            }
        },
    };
    for a in [Some(attr), n.sub.map(|_| written)].into_iter().flatten() {
        match a.mutability {
            Mutability::ReadOnly => {
                report(
                    format!("`{}` is read-only on the target", a.name),
                    "remove the field (the server sets it)".into(),
                );
            }
            Mutability::Immutable => fit.warnings.push(format!(
                "{field} writes `{}`, which the target calls immutable: it is set when a \
                 user is created, and a later change fails that row",
                path
            )),
            Mutability::ReadWrite | Mutability::WriteOnly => {}
        }
    }
    if let Some(why) = type_mismatch(target, attr, written, &n) {
        report(
            why,
            "remove the field, or map it to an attribute of that type".into(),
        );
    }
    if let Some((key, value)) = &n.filter {
        match attr.sub(key) {
            None => report(
                format!(
                    "the target's `{}` has no `{key}` to select `{value}` by",
                    attr.name
                ),
                fix_missing(target),
            ),
            Some(k)
                if !k.canonical_values.is_empty()
                    && !k
                        .canonical_values
                        .iter()
                        .any(|c| c.eq_ignore_ascii_case(value)) =>
            {
                fit.warnings.push(format!(
                    "{field} writes `{}`, but `{value}` is not among the target's {} {key}s ({})",
                    path,
                    attr.name,
                    k.canonical_values.join(", ")
                ))
            }
            Some(_) => {}
        }
    }
}

fn short(urn: &str) -> &str {
    match urn {
        SCHEMA_USER => "core User",
        SCHEMA_ENTERPRISE => "enterprise User",
        SCHEMA_GENESYS => "Genesys User",
        SCHEMA_GROUP => "Group",
        other => other,
    }
}

/// Why the value a target produces does not fit the attribute, if it does not.
fn type_mismatch(t: &Target, attr: &Attribute, written: &Attribute, n: &Need) -> Option<String> {
    let plural = |a: &Attribute| {
        if a.multi_valued {
            "multi-valued"
        } else {
            "single-valued"
        }
    };
    let describe = |a: &Attribute| format!("{} {}", plural(a), a.kind.as_str());
    let is_text =
        |k: AttrType| matches!(k, AttrType::String | AttrType::Reference | AttrType::Binary);
    let bad = |expected: &str, a: &Attribute| {
        Some(format!(
            "the mapping writes {expected}, the target's `{}` is {}",
            a.name,
            describe(a)
        ))
    };
    if n.filter.is_some() {
        // emails[type eq "work"].value: a list of complex entries with a text value.
        if !(attr.multi_valued && attr.kind == AttrType::Complex) {
            return bad("an entry of a multi-valued complex attribute", attr);
        }
        if written.multi_valued || !is_text(written.kind) {
            return bad("a single text value", written);
        }
        return None;
    }
    if let Target::Extension { kind, .. } = t {
        let want = kind.attr_type();
        return if !attr.multi_valued && attr.kind == want {
            None
        } else {
            bad(&format!("a single {}", want.as_str()), attr)
        };
    }
    if matches!(t, Target::Groups) {
        if attr.multi_valued {
            return None;
        }
        return Some(format!(
            "group members are a list, the target's Group `{}` is {}",
            attr.name,
            describe(attr)
        ));
    }
    if n.sub.is_some() {
        // name.givenName, manager.value: a single-valued complex with a text sub-attribute.
        if attr.multi_valued || attr.kind != AttrType::Complex {
            return bad("a sub-attribute of a single-valued complex attribute", attr);
        }
        if written.multi_valued || !is_text(written.kind) {
            return bad("a single text value", written);
        }
        return None;
    }
    let (fits, expected) = match t.shape() {
        Shape::Text | Shape::Phone => (
            !attr.multi_valued && is_text(attr.kind),
            "a single text value",
        ),
        Shape::Bool => (
            !attr.multi_valued && attr.kind == AttrType::Boolean,
            "a boolean",
        ),
        Shape::Date => (
            !attr.multi_valued && matches!(attr.kind, AttrType::DateTime | AttrType::String),
            "a date",
        ),
        Shape::List => (
            attr.multi_valued
                && (is_text(attr.kind)
                    || (attr.kind == AttrType::Complex && attr.sub("value").is_some())),
            "a list of names",
        ),
        Shape::Proficiencies => (
            attr.multi_valued && attr.kind == AttrType::Complex && attr.sub("name").is_some(),
            "a list of {name, proficiency} entries",
        ),
    };
    if fits { None } else { bad(expected, attr) }
}

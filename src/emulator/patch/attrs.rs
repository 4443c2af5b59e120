//! The attribute tables a PATCH path resolves against (user core, enterprise and
//! Genesys extensions, group), and the resolution of one path segment to its
//! canonical attribute name and scope.
//!
//! Owns what a path naming an unknown attribute or schema gets (400 `invalidSyntax`
//! under `--unknown-attributes reject`, dropped or `invalidPath` under `ignore`) and
//! the read-only attributes (400 `mutability`). Applying operations is `mod.rs`.

use scim_v2::filter::AttrPath;

use super::Resource;
use crate::emulator::config::UnknownAttributes;
use crate::emulator::errors::ApiError;
use crate::scim::model::{SCHEMA_ENTERPRISE, SCHEMA_GENESYS, SCHEMA_GROUP, SCHEMA_USER};

const USER_CORE: &[&str] = &[
    "userName",
    "displayName",
    "externalId",
    "title",
    "active",
    "password",
    "emails",
    "phoneNumbers",
    "roles",
];
const ENTERPRISE: &[&str] = &[
    "employeeNumber",
    "department",
    "division",
    "manager",
    "dateHire",
];
const GENESYS: &[&str] = &["routingSkills", "routingLanguages", "externalIds"];
const GROUP: &[&str] = &["displayName", "externalId", "members"];
/// RFC 7643 user attributes Genesys does not map: dropped under
/// `--unknown-attributes ignore`, 400 `invalidSyntax` under `reject`.
const IGNORED: &[&str] = &[
    "name",
    "nickName",
    "profileUrl",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "addresses",
    "photos",
    "ims",
    "entitlements",
    "x509Certificates",
    "costCenter",
    "organization",
];
const READ_ONLY: &[&str] = &["id", "meta", "groups"];
pub(super) const MULTI: &[&str] = &[
    "emails",
    "phoneNumbers",
    "roles",
    "members",
    "routingSkills",
    "routingLanguages",
    "externalIds",
];

/// Where an attribute lives: the root object or an extension object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Scope {
    Root,
    Ext(&'static str),
}

pub(super) fn ext_urn(s: &str) -> Option<&'static str> {
    [SCHEMA_ENTERPRISE, SCHEMA_GENESYS]
        .into_iter()
        .find(|u| u.eq_ignore_ascii_case(s))
}

pub(super) fn canonical(
    res: &Resource,
    scope: Scope,
    name: &str,
) -> Result<Option<&'static str>, ApiError> {
    if READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(ApiError::mutability(format!("{name} is read-only")));
    }
    let table = match (res, scope) {
        (Resource::Group, Scope::Root) => GROUP,
        (Resource::Group, Scope::Ext(_)) => &[][..],
        (Resource::User { .. }, Scope::Root) => USER_CORE,
        (Resource::User { .. }, Scope::Ext(u)) if u == SCHEMA_ENTERPRISE => ENTERPRISE,
        (Resource::User { .. }, Scope::Ext(_)) => GENESYS,
    };
    if let Some(n) = table.iter().find(|n| n.eq_ignore_ascii_case(name)) {
        return Ok(Some(n));
    }
    match res {
        Resource::User {
            unknown: UnknownAttributes::Reject,
            ..
        } => Err(ApiError::scim400(
            "invalidSyntax",
            format!(
                "unknown attribute {name:?}: a Genesys user has no such attribute (see /Schemas)"
            ),
        )),
        Resource::User { .. } if IGNORED.iter().any(|n| n.eq_ignore_ascii_case(name)) => Ok(None),
        _ => Err(ApiError::invalid_path(format!(
            "unknown attribute {name:?}"
        ))),
    }
}

pub(super) fn scope_of(attr: &AttrPath, res: &Resource) -> Result<Scope, ApiError> {
    match &attr.uri {
        None => Ok(Scope::Root),
        Some(u) if u.eq_ignore_ascii_case(SCHEMA_USER) || u.eq_ignore_ascii_case(SCHEMA_GROUP) => {
            Ok(Scope::Root)
        }
        Some(u) => ext_urn(u).map(Scope::Ext).ok_or_else(|| match res {
            Resource::User {
                unknown: UnknownAttributes::Reject,
                ..
            } => ApiError::scim400(
                "invalidSyntax",
                format!("unknown schema {u:?}: a Genesys user has no such schema (see /Schemas)"),
            ),
            _ => ApiError::invalid_path(format!("unknown schema {u:?}")),
        }),
    }
}

//! The SCIM attributes a mapping can set ([`Target`]), parsed from the path a user
//! writes (full SCIM paths or short aliases) and printed back in the canonical
//! spelling the planner uses for `DesiredUser.clear` and PATCH paths.

use crate::scim::model::{SCHEMA_ENTERPRISE, SCHEMA_GENESYS};

/// Phone number types Genesys maps (one profile field each).
pub const PHONE_TYPES: [&str; 11] = [
    "work",
    "work2",
    "work3",
    "work4",
    "home",
    "mobile",
    "other",
    "microsoftteams",
    "zoomphone",
    "eightbyeight",
    "ringcentral",
];

/// A SCIM attribute the mapping can manage.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// `externalId`.
    ExternalId,
    /// `userName` (always trimmed and lower-cased; must be an email).
    UserName,
    /// `displayName`.
    DisplayName,
    /// `name.givenName`.
    GivenName,
    /// `name.familyName`.
    FamilyName,
    /// `name.formatted`.
    Formatted,
    /// `title`.
    Title,
    /// `active` (a boolean; use a table for HR statuses).
    Active,
    /// `emails[type eq "T"].value` (only `work` is writable).
    Email(String),
    /// `phoneNumbers[type eq "T"].value`.
    Phone(String),
    /// `roles` (a list of role names).
    Roles,
    /// Group memberships by group display name (a list).
    Groups,
    /// Enterprise `department`.
    Department,
    /// Enterprise `division` (a division name).
    Division,
    /// Enterprise `manager`: the value is the manager's **externalId**.
    Manager,
    /// Enterprise `employeeNumber`.
    EmployeeNumber,
    /// Enterprise `dateHire` (`YYYY-MM-DD`).
    DateHire,
    /// Genesys `routingSkills` (a list of `name:proficiency`).
    RoutingSkills,
    /// Genesys `routingLanguages` (a list of `name:proficiency`).
    RoutingLanguages,
    /// Genesys `externalIds[authority eq "A"].value`.
    GenesysExternalId(String),
    /// A simple attribute of a custom extension schema (`scimport schema extend`):
    /// `urn:...:attr`. Whether the target offers it is the pre-flight's judgement.
    Extension {
        /// The extension's URN.
        urn: String,
        /// The attribute's name.
        attr: String,
        /// The value's type (the field's `type`; `string` when not given).
        kind: ExtKind,
    },
}

/// The type of a custom extension attribute a mapping writes (RFC 7643 §2.3
/// simple types; complex, reference and binary ones are not mapped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Deserialize)]
pub enum ExtKind {
    /// `string` (the default).
    #[default]
    #[serde(rename = "string")]
    String,
    /// `boolean`: the true/false spellings `active` accepts.
    #[serde(rename = "boolean")]
    Boolean,
    /// `integer`: a whole number.
    #[serde(rename = "integer")]
    Integer,
    /// `decimal`: a number.
    #[serde(rename = "decimal")]
    Decimal,
    /// `dateTime`: RFC 3339 (`2027-03-31T00:00:00Z`), or a date `YYYY-MM-DD`
    /// (sent as midnight UTC).
    #[serde(rename = "dateTime")]
    DateTime,
}

impl ExtKind {
    /// The RFC 7643 type it writes.
    pub fn attr_type(self) -> crate::scim::schema::AttrType {
        use crate::scim::schema::AttrType;
        match self {
            ExtKind::String => AttrType::String,
            ExtKind::Boolean => AttrType::Boolean,
            ExtKind::Integer => AttrType::Integer,
            ExtKind::Decimal => AttrType::Decimal,
            ExtKind::DateTime => AttrType::DateTime,
        }
    }
}

/// The shape of a target's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A single string.
    Text,
    /// A boolean.
    Bool,
    /// A date.
    Date,
    /// A phone number.
    Phone,
    /// A list of names.
    List,
    /// A list of `name:proficiency`.
    Proficiencies,
}

/// A mapping path Genesys cannot take; the message says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnknownTarget(String);

impl Target {
    /// Parses a path as written in a mapping file; `Err` says why it is not known.
    pub fn parse(path: &str) -> Result<Target, UnknownTarget> {
        Target::parse_or_why(path).map_err(UnknownTarget)
    }

    fn parse_or_why(path: &str) -> Result<Target, String> {
        let p = path.trim();
        let lower = p.to_ascii_lowercase();
        let core_prefix = "urn:ietf:params:scim:schemas:core:2.0:user:";
        let ent_prefix = format!("{}:", SCHEMA_ENTERPRISE.to_ascii_lowercase());
        let gen_prefix = format!("{}:", SCHEMA_GENESYS.to_ascii_lowercase());
        let unknown = || {
            Err(format!(
                "`{p}` is not a SCIM user attribute Genesys supports"
            ))
        };
        if let Some(rest) = strip(&lower, &ent_prefix).or_else(|| strip(&lower, "enterprise.")) {
            return match rest {
                "department" => Ok(Target::Department),
                "division" => Ok(Target::Division),
                "manager" | "manager.value" => Ok(Target::Manager),
                "employeenumber" => Ok(Target::EmployeeNumber),
                "datehire" => Ok(Target::DateHire),
                _ => unknown(),
            };
        }
        if let Some(rest) = strip(&lower, &gen_prefix).or_else(|| strip(&lower, "genesys.")) {
            let orig = &p[p.len() - rest.len()..];
            return match rest {
                "routingskills" => Ok(Target::RoutingSkills),
                "routinglanguages" => Ok(Target::RoutingLanguages),
                _ => match filtered(orig, "externalIds", "authority") {
                    Some(a) if !a.is_empty() => Ok(Target::GenesysExternalId(a)),
                    _ => unknown(),
                },
            };
        }
        if lower.starts_with("urn:") && !lower.starts_with(core_prefix) {
            return extension(p);
        }
        let rest = strip(&lower, core_prefix).unwrap_or(&lower);
        let orig = &p[p.len() - rest.len()..];
        match rest {
            "externalid" => Ok(Target::ExternalId),
            "username" => Ok(Target::UserName),
            "displayname" => Ok(Target::DisplayName),
            "name.givenname" => Ok(Target::GivenName),
            "name.familyname" => Ok(Target::FamilyName),
            "name.formatted" => Ok(Target::Formatted),
            "title" => Ok(Target::Title),
            "active" => Ok(Target::Active),
            "roles" | "roles.value" => Ok(Target::Roles),
            "groups" | "groups.display" => Ok(Target::Groups),
            _ => {
                if let Some(t) = filtered(orig, "emails", "type") {
                    let t = t.to_ascii_lowercase();
                    return if t == "work" {
                        Ok(Target::Email(t))
                    } else {
                        Err(format!(
                            "`{p}`: only the work email is writable (the `other` email mirrors \
                             userName)"
                        ))
                    };
                }
                if let Some(t) = filtered(orig, "phoneNumbers", "type") {
                    let t = t.to_ascii_lowercase();
                    return if PHONE_TYPES.contains(&t.as_str()) {
                        Ok(Target::Phone(t))
                    } else {
                        Err(format!(
                            "`{p}`: phone type `{t}` is not one of {}",
                            PHONE_TYPES.join(", ")
                        ))
                    };
                }
                unknown()
            }
        }
    }

    /// The canonical SCIM path (as used in `DesiredUser.clear` and PATCH).
    pub fn path(&self) -> String {
        match self {
            Target::ExternalId => "externalId".into(),
            Target::UserName => "userName".into(),
            Target::DisplayName => "displayName".into(),
            Target::GivenName => "name.givenName".into(),
            Target::FamilyName => "name.familyName".into(),
            Target::Formatted => "name.formatted".into(),
            Target::Title => "title".into(),
            Target::Active => "active".into(),
            Target::Email(t) => format!("emails[type eq \"{t}\"].value"),
            Target::Phone(t) => format!("phoneNumbers[type eq \"{t}\"].value"),
            Target::Roles => "roles".into(),
            Target::Groups => "groups".into(),
            Target::Department => format!("{SCHEMA_ENTERPRISE}:department"),
            Target::Division => format!("{SCHEMA_ENTERPRISE}:division"),
            Target::Manager => format!("{SCHEMA_ENTERPRISE}:manager"),
            Target::EmployeeNumber => format!("{SCHEMA_ENTERPRISE}:employeeNumber"),
            Target::DateHire => format!("{SCHEMA_ENTERPRISE}:dateHire"),
            Target::RoutingSkills => format!("{SCHEMA_GENESYS}:routingSkills"),
            Target::RoutingLanguages => format!("{SCHEMA_GENESYS}:routingLanguages"),
            Target::GenesysExternalId(a) => {
                format!("{SCHEMA_GENESYS}:externalIds[authority eq \"{a}\"].value")
            }
            Target::Extension { urn, attr, .. } => format!("{urn}:{attr}"),
        }
    }

    /// The shape of the value.
    pub fn shape(&self) -> Shape {
        match self {
            Target::Active => Shape::Bool,
            Target::DateHire => Shape::Date,
            Target::Phone(_) => Shape::Phone,
            Target::Roles | Target::Groups => Shape::List,
            Target::RoutingSkills | Target::RoutingLanguages => Shape::Proficiencies,
            _ => Shape::Text,
        }
    }
}

/// A mapped text turned into the JSON value of a custom extension attribute of
/// type `kind`.
pub fn extension_value(
    kind: ExtKind,
    t: &str,
) -> Result<serde_json::Value, super::transform::TransformError> {
    use crate::model::ErrorKind;
    use serde_json::Value;
    let bad = |kind: ErrorKind, problem: String, fix: &str| super::transform::TransformError {
        kind,
        problem,
        fix: fix.to_string(),
        value: t.to_string(),
    };
    let v = t.trim();
    Ok(match kind {
        ExtKind::String => Value::String(t.to_string()),
        ExtKind::Boolean => Value::Bool(super::transform::parse_bool(v)?),
        ExtKind::Integer => Value::from(v.parse::<i64>().map_err(|_| {
            bad(
                ErrorKind::InvalidNumber,
                format!("`{v}` is not a whole number"),
                "write digits only, e.g. 42",
            )
        })?),
        ExtKind::Decimal => v
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| {
                bad(
                    ErrorKind::InvalidNumber,
                    format!("`{v}` is not a number"),
                    "write a decimal number with a dot, e.g. 0.5",
                )
            })?,
        ExtKind::DateTime => {
            if chrono::DateTime::parse_from_rfc3339(v).is_ok() {
                Value::String(v.to_string())
            } else if chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok() {
                Value::String(format!("{v}T00:00:00Z"))
            } else {
                return Err(bad(
                    ErrorKind::InvalidDate,
                    format!("`{v}` is not an RFC 3339 date-time or a YYYY-MM-DD date"),
                    "write 2027-03-31 or 2027-03-31T17:00:00Z",
                ));
            }
        }
    })
}

/// `urn:<NID>:<...>:<attr>`: a custom extension's simple attribute. Sub-attribute
/// (`a.b`) and value-filter paths are not mapped.
fn extension(p: &str) -> Result<Target, String> {
    let (urn, attr) = p
        .rsplit_once(':')
        .ok_or_else(|| format!("`{p}` is not `urn:...:attribute`"))?;
    let simple = attr.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && attr
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !simple || urn.matches(':').count() < 2 {
        return Err(format!(
            "`{p}`: an extension path is `<schema URN>:<attribute>` with a simple attribute \
             name (sub-attributes and filters are not supported)"
        ));
    }
    Ok(Target::Extension {
        urn: urn.to_string(),
        attr: attr.to_string(),
        kind: ExtKind::String,
    })
}

fn strip<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.strip_prefix(prefix)
}

/// Parses `attr[key eq "V"].value` or `attr.V` (attribute names case-insensitive);
/// returns `V` with its original case.
fn filtered(p: &str, attr: &str, key: &str) -> Option<String> {
    let lower = p.to_ascii_lowercase();
    let attr_l = attr.to_ascii_lowercase();
    let rest_l = lower.strip_prefix(&attr_l)?;
    let rest = &p[p.len() - rest_l.len()..];
    if let Some(short) = rest.strip_prefix('.') {
        if short.contains(['.', '[', ']', '"']) || short.is_empty() {
            return None;
        }
        return Some(short.to_string());
    }
    let inner = rest.strip_prefix('[')?;
    let (cond, tail) = inner.split_once(']')?;
    if !tail.eq_ignore_ascii_case(".value") {
        return None;
    }
    let mut parts = cond.split_whitespace();
    let (k, op) = (parts.next()?, parts.next()?);
    let v: Vec<&str> = parts.collect();
    if !k.eq_ignore_ascii_case(key) || !op.eq_ignore_ascii_case("eq") || v.len() != 1 {
        return None;
    }
    let v = v[0];
    let v = v
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(v);
    Some(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_and_aliases() {
        let cases = [
            ("userName", Target::UserName),
            ("USERNAME", Target::UserName),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:title",
                Target::Title,
            ),
            ("name.givenName", Target::GivenName),
            (
                "emails[type eq \"work\"].value",
                Target::Email("work".into()),
            ),
            ("emails.work", Target::Email("work".into())),
            (
                "phoneNumbers[type eq mobile].value",
                Target::Phone("mobile".into()),
            ),
            ("phoneNumbers.work2", Target::Phone("work2".into())),
            ("enterprise.department", Target::Department),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                Target::Manager,
            ),
            ("genesys.routingSkills", Target::RoutingSkills),
            (
                "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:externalIds[authority eq \"microsoftteams\"].value",
                Target::GenesysExternalId("microsoftteams".into()),
            ),
            (
                "genesys.externalIds.zoomphone",
                Target::GenesysExternalId("zoomphone".into()),
            ),
            ("roles", Target::Roles),
            ("groups", Target::Groups),
            (
                "urn:acme:params:scim:schemas:extension:hr:2.0:User:badgeNumber",
                Target::Extension {
                    urn: "urn:acme:params:scim:schemas:extension:hr:2.0:User".into(),
                    attr: "badgeNumber".into(),
                    kind: ExtKind::String,
                },
            ),
        ];
        for (p, t) in cases {
            assert_eq!(Target::parse(p), Ok(t), "{p}");
        }
    }

    #[test]
    fn rejects_unknown_paths() {
        for p in [
            "nickName",
            "emails.other",
            "phoneNumbers.fax",
            "enterprise.costCenter",
            "genesys.divisions",
            "emails[type eq \"work\"].display",
            "",
            "urn:acme:ext:2.0:User:address.city",
            "urn:acme:ext:2.0:User:codes[type eq \"x\"].value",
            "urn:acme",
            "urn:ietf:params:scim:schemas:core:2.0:User:nickName",
        ] {
            assert!(Target::parse(p).is_err(), "{p}");
        }
    }

    #[test]
    fn canonical_paths_round_trip() {
        for p in [
            "title",
            "displayName",
            "name.givenName",
            "emails[type eq \"work\"].value",
            "phoneNumbers[type eq \"mobile\"].value",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingSkills",
            "urn:acme:ext:2.0:User:badgeNumber",
        ] {
            assert_eq!(Target::parse(p).unwrap().path(), p);
        }
    }
}

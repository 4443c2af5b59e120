//! Genesys's validation of a user or group body, applied before anything is stored.
//!
//! Owns the rules of issue 3 (userName an email, displayName required, skills and
//! languages at most 50 with proficiency 0..5 and existing names, roles by existing
//! name, division by existing name, manager an existing user, phones E.164 or tel-URI,
//! group members existing user ids), the email rules (types `work` and `other`
//! only, one of each, one primary, `other` read-only) and the stripping of read-only
//! attributes.
//! Uniqueness is the store's job.

use std::sync::LazyLock;

use regex::Regex;

use super::errors::ApiError;
use super::store::Store;
use super::tenant::Catalogue;
use crate::scim::model::{AUTHORITY_SCIM, Proficiency, RoleRef, User};

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^[^@\s"(),:;<>\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"#)
        .expect("static regex is valid")
});
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:\+[1-9][0-9]{1,14}|tel:\+[1-9][0-9]{1,14}(?:;[A-Za-z0-9-]+=[A-Za-z0-9.\-]+)*)$",
    )
    .expect("static regex is valid")
});
const PHONE_TYPES: &[&str] = &[
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
const EMAIL_TYPES: &[&str] = &["work", "other"];
const MAX_ROUTING: usize = 50;

/// Whether a string is an email address as Genesys accepts it for userName.
pub fn is_email(s: &str) -> bool {
    !s.contains("..") && EMAIL.is_match(s)
}

/// Whether a phone value is E.164 or a tel-URI.
pub fn is_phone(s: &str) -> bool {
    PHONE.is_match(s)
}

/// Drops what a client may send but never stores: ids, meta, groups, core `name`
/// (not a Genesys attribute), the `other` email mirror, the `x-pc:scimv2:v1` entry
/// and the password.
pub(crate) fn strip_read_only(user: &mut User) {
    user.schemas.clear();
    user.id = None;
    user.meta = None;
    user.groups.clear();
    user.password = None;
    user.name = None;
    user.emails.retain(|e| {
        e.kind
            .as_deref()
            .is_none_or(|k| !k.eq_ignore_ascii_case("other"))
    });
    if let Some(g) = user.genesys.as_mut() {
        g.external_ids
            .retain(|e| !e.authority.starts_with(AUTHORITY_SCIM));
    }
}

/// Genesys's email rules (reference §2): only the types `work` and `other`, at most
/// one of each, at most one primary; `other` mirrors userName and is read-only, so
/// one naming any other address is a 400 `mutability` (echoing the mirror, as a PUT
/// of a GET result does, is fine: it is dropped).
fn check_emails(user: &User) -> Result<(), ApiError> {
    let mut seen: Vec<&str> = Vec::new();
    for e in &user.emails {
        let Some(kind) = e
            .kind
            .as_deref()
            .and_then(|k| EMAIL_TYPES.iter().find(|t| t.eq_ignore_ascii_case(k)))
        else {
            return Err(ApiError::invalid_value(format!(
                "emails: type {:?} is not one of {} (Genesys knows no other email type)",
                e.kind.as_deref().unwrap_or("(none)"),
                EMAIL_TYPES.join(", ")
            )));
        };
        if seen.contains(kind) {
            return Err(ApiError::invalid_value(format!(
                "emails: more than one entry of type {kind:?}"
            )));
        }
        seen.push(kind);
        if *kind == "other" {
            let mirrors = user
                .user_name
                .as_deref()
                .is_some_and(|u| u.trim().eq_ignore_ascii_case(e.value.trim()));
            if !mirrors {
                return Err(ApiError::mutability(format!(
                    "emails: the \"other\" entry mirrors userName and is read-only; {:?} is not the userName",
                    e.value
                )));
            }
        }
    }
    if user.emails.iter().filter(|e| e.primary).count() > 1 {
        return Err(ApiError::invalid_value(
            "emails: at most one entry may be primary",
        ));
    }
    Ok(())
}

fn check_routing(
    kind: &str,
    items: &[Proficiency],
    exists: impl Fn(&str) -> bool,
) -> Result<(), ApiError> {
    if items.len() > MAX_ROUTING {
        return Err(ApiError::invalid_value(format!(
            "{kind}: at most {MAX_ROUTING} entries, got {}",
            items.len()
        )));
    }
    for (i, p) in items.iter().enumerate() {
        if !exists(&p.name) {
            return Err(ApiError::invalid_value(format!(
                "{kind}: {:?} does not exist in this organization (names are case-sensitive)",
                p.name
            )));
        }
        if !(0.0..=5.0).contains(&p.proficiency) {
            return Err(ApiError::invalid_value(format!(
                "{kind}: proficiency of {:?} must be between 0 and 5, got {}",
                p.name, p.proficiency
            )));
        }
        if items[..i].iter().any(|q| q.name == p.name) {
            return Err(ApiError::invalid_value(format!(
                "{kind}: {:?} is listed twice",
                p.name
            )));
        }
    }
    Ok(())
}

/// Validates and normalises a user about to be stored. `me` is the user's own
/// handle on update; `creating` adds the defaults of a new user (the `employee`
/// role, the default division, `active: true`).
pub(crate) fn check_user(
    user: &mut User,
    cat: &Catalogue,
    store: &Store,
    me: Option<u32>,
    creating: bool,
) -> Result<(), ApiError> {
    check_emails(user)?;
    strip_read_only(user);
    let user_name = user
        .user_name
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::invalid_value("userName is required"))?;
    if !is_email(user_name) {
        return Err(ApiError::invalid_value(format!(
            "userName {user_name:?} must be an email address"
        )));
    }
    user.user_name = Some(user_name.to_string());
    if user
        .display_name
        .as_deref()
        .is_none_or(|d| d.trim().is_empty())
    {
        return Err(ApiError::invalid_value("displayName is required"));
    }
    if user.active.is_none() {
        user.active = Some(true);
    }
    for e in &user.emails {
        if !e.value.is_empty() && !is_email(&e.value) {
            return Err(ApiError::invalid_value(format!(
                "emails: {:?} is not an email address",
                e.value
            )));
        }
    }
    for (i, p) in user.phone_numbers.iter().enumerate() {
        let kind = p.kind.as_deref().unwrap_or("work");
        if !PHONE_TYPES.contains(&kind) {
            return Err(ApiError::invalid_value(format!(
                "phoneNumbers: type {kind:?} is not one of {}",
                PHONE_TYPES.join(", ")
            )));
        }
        // An entry left without its value (RFC 7644 §3.5.2.2 `remove ...].value`)
        // is kept as it is.
        if !p.value.is_empty() && !is_phone(&p.value) {
            return Err(ApiError::invalid_value(format!(
                "phoneNumbers: {:?} ({kind}) must be E.164 (+14155550123) or a tel-URI",
                p.value
            )));
        }
        if user.phone_numbers[..i]
            .iter()
            .any(|q| q.kind.as_deref().unwrap_or("work") == kind)
        {
            return Err(ApiError::invalid_value(format!(
                "phoneNumbers: more than one entry of type {kind:?}"
            )));
        }
    }
    for r in &user.roles {
        if !cat.has_role(&r.value) {
            return Err(ApiError::invalid_value(format!(
                "roles: role {:?} does not exist in this organization",
                r.value
            )));
        }
    }
    user.roles.dedup();
    if creating && cat.has_role("employee") && !user.roles.iter().any(|r| r.value == "employee") {
        user.roles.insert(
            0,
            RoleRef {
                value: "employee".into(),
            },
        );
    }
    let default_division = creating.then(|| cat.default_division()).flatten();
    let ent = user.enterprise.get_or_insert_default();
    match ent.division.as_deref() {
        Some(d) if !cat.has_division(d) => {
            return Err(ApiError::invalid_value(format!(
                "division: {d:?} does not exist in this organization"
            )));
        }
        None => ent.division = default_division.map(str::to_string),
        Some(_) => {}
    }
    if let Some(m) = &ent.manager {
        let found = store.find(&m.value);
        if found.is_none() {
            return Err(ApiError::invalid_value(format!(
                "manager: {:?} is not the id of an existing user",
                m.value
            )));
        }
        if found.is_some() && found == me {
            return Err(ApiError::invalid_value(
                "manager: a user cannot manage themself",
            ));
        }
    }
    if let Some(d) = ent.date_hire.as_deref() {
        let day = d.get(..10).unwrap_or(d);
        if chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_err() {
            return Err(ApiError::invalid_value(format!(
                "dateHire: {d:?} is not an ISO-8601 date"
            )));
        }
        ent.date_hire = Some(day.to_string());
    }
    if *ent == Default::default() {
        user.enterprise = None;
    }
    if let Some(g) = &user.genesys {
        check_routing("routingSkills", &g.routing_skills, |n| cat.has_skill(n))?;
        check_routing("routingLanguages", &g.routing_languages, |n| {
            cat.has_language(n)
        })?;
        for (i, e) in g.external_ids.iter().enumerate() {
            if e.authority.trim().is_empty() || e.value.trim().is_empty() {
                return Err(ApiError::invalid_value(
                    "externalIds: authority and value are both required",
                ));
            }
            if g.external_ids[..i]
                .iter()
                .any(|f| f.authority == e.authority)
            {
                return Err(ApiError::invalid_value(format!(
                    "externalIds: authority {:?} is listed twice",
                    e.authority
                )));
            }
        }
    }
    if user
        .genesys
        .as_ref()
        .is_some_and(|g| *g == Default::default())
    {
        user.genesys = None;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_phones() {
        for ok in ["a@b.co", "ana.lima+x@sub.example.com"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "a@b",
            "a b@c.com",
            "\"q\"@c.com",
            "a@[1.2.3.4]",
            "a..b@c.com",
            "@c.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        for ok in ["+14155550123", "tel:+14155550199;ext=2044"] {
            assert!(is_phone(ok), "{ok}");
        }
        for bad in ["4155550123", "+0123", "+1 415 555", "tel:4155"] {
            assert!(!is_phone(bad), "{bad}");
        }
    }
}

//! Permissions per OAuth client, and which ones each SCIM call needs (the reference's
//! §1 table, taken strictly): a call missing one gets 403 with the platform body and
//! code `missing.permissions`, naming every missing permission.
//!
//! Grants come from the tenant file's `clients` (a client not listed there has every
//! permission, as an admin's client would); `--deny` withdraws permissions from the
//! emulator's own client. Owns the decision only; the routes ask before they act.

use std::collections::{BTreeMap, BTreeSet};

use super::errors::ApiError;
use crate::scim::model::User;

/// Create users.
pub const USER_ADD: &str = "directory:user:add";
/// Change users.
pub const USER_EDIT: &str = "directory:user:edit";
/// Delete users.
pub const USER_DELETE: &str = "directory:user:delete";
/// Set a user's password.
pub const USER_SET_PASSWORD: &str = "directory:user:setPassword";
/// Read and change groups (Genesys lists it even for GET).
pub const GROUP_EDIT: &str = "directory:group:edit";
/// Grant roles.
pub const GRANT_ADD: &str = "authorization:grant:add";
/// Revoke roles.
pub const GRANT_DELETE: &str = "authorization:grant:delete";
/// Assign routing skills.
pub const SKILL_ASSIGN: &str = "routing:skill:assign";
/// List routing skills.
pub const SKILL_VIEW: &str = "routing:skill:view";
/// Assign routing languages.
pub const LANGUAGE_ASSIGN: &str = "routing:language:assign";
/// Assign phone extensions.
pub const EXTENSION_ASSIGN: &str = "telephony:extension:assign";

/// Who may do what.
#[derive(Debug, Clone, Default)]
pub(crate) struct Permissions {
    /// Explicit grants per client id (from the tenant file).
    grants: BTreeMap<String, BTreeSet<String>>,
    /// The emulator's own client and what `--deny` withdrew from it.
    own: String,
    deny: BTreeSet<String>,
}

impl Permissions {
    /// Grants from the tenant file; `deny` withdrawn from client `own`.
    pub fn new(grants: &BTreeMap<String, Vec<String>>, own: &str, deny: &[String]) -> Self {
        Self {
            grants: grants
                .iter()
                .map(|(c, ps)| (c.clone(), ps.iter().map(|p| p.trim().to_string()).collect()))
                .collect(),
            own: own.to_string(),
            deny: deny.iter().map(|p| p.trim().to_string()).collect(),
        }
    }

    fn has(&self, client: &str, permission: &str) -> bool {
        if client == self.own && self.deny.contains(permission) {
            return false;
        }
        self.grants
            .get(client)
            .is_none_or(|granted| granted.contains(permission))
    }

    /// Ok when `client` holds every permission in `needed`; else 403
    /// `missing.permissions` naming the missing ones.
    pub fn require(&self, client: &str, needed: &[&str]) -> Result<(), ApiError> {
        let mut missing: Vec<&str> = needed
            .iter()
            .copied()
            .filter(|p| !self.has(client, p))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort_unstable();
        missing.dedup();
        Err(ApiError::platform(
            403,
            "missing.permissions",
            format!(
                "Unable to perform the requested action. You are missing the following \
                 permission(s): [{}]",
                missing.join(", ")
            ),
        ))
    }
}

/// Whether any phone number carries an extension (`tel:...;ext=N`).
fn extensions(user: &User) -> BTreeSet<&str> {
    user.phone_numbers
        .iter()
        .filter(|p| p.value.to_ascii_lowercase().contains(";ext="))
        .map(|p| p.value.as_str())
        .collect()
}

fn skills(user: &User) -> Vec<(&str, u64)> {
    let mut v: Vec<_> = user
        .genesys
        .iter()
        .flat_map(|g| &g.routing_skills)
        .map(|s| (s.name.as_str(), s.proficiency.to_bits()))
        .collect();
    v.sort_unstable();
    v
}

fn languages(user: &User) -> Vec<(&str, u64)> {
    let mut v: Vec<_> = user
        .genesys
        .iter()
        .flat_map(|g| &g.routing_languages)
        .map(|s| (s.name.as_str(), s.proficiency.to_bits()))
        .collect();
    v.sort_unstable();
    v
}

fn roles(user: &User) -> BTreeSet<&str> {
    user.roles.iter().map(|r| r.value.as_str()).collect()
}

/// What `POST /users` with this body needs: `directory:user:add`, plus the grant,
/// skill, language and extension permissions for what the body assigns.
pub(crate) fn for_create(body: &User) -> Vec<&'static str> {
    let mut needed = vec![USER_ADD];
    if !body.roles.is_empty() {
        needed.push(GRANT_ADD);
    }
    if !skills(body).is_empty() {
        needed.push(SKILL_ASSIGN);
    }
    if !languages(body).is_empty() {
        needed.push(LANGUAGE_ASSIGN);
    }
    if !extensions(body).is_empty() {
        needed.push(EXTENSION_ASSIGN);
    }
    needed
}

/// What a PUT or PATCH turning `before` into `after` needs: `directory:user:edit`,
/// plus the permission of every assignment it changes (roles granted or revoked,
/// skills, languages, extensions) and `directory:user:setPassword` for a password.
pub(crate) fn for_update(before: &User, after: &User, sets_password: bool) -> Vec<&'static str> {
    let mut needed = vec![USER_EDIT];
    let (old, new) = (roles(before), roles(after));
    if new.difference(&old).next().is_some() {
        needed.push(GRANT_ADD);
    }
    if old.difference(&new).next().is_some() {
        needed.push(GRANT_DELETE);
    }
    if skills(before) != skills(after) {
        needed.push(SKILL_ASSIGN);
    }
    if languages(before) != languages(after) {
        needed.push(LANGUAGE_ASSIGN);
    }
    if extensions(before) != extensions(after) {
        needed.push(EXTENSION_ASSIGN);
    }
    if sets_password {
        needed.push(USER_SET_PASSWORD);
    }
    needed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::model::{GenesysUser, MultiValue, Proficiency, RoleRef};

    #[test]
    fn deny_and_tenant_grants() {
        let grants = BTreeMap::from([("ro".to_string(), vec![GROUP_EDIT.to_string()])]);
        let p = Permissions::new(&grants, "me", &[SKILL_ASSIGN.to_string()]);
        assert!(p.require("me", &[USER_ADD]).is_ok());
        let e = p.require("me", &[USER_ADD, SKILL_ASSIGN]).unwrap_err();
        assert!(matches!(
            &e,
            ApiError::Platform { status: 403, code: "missing.permissions", message, .. }
                if message.ends_with("[routing:skill:assign]")
        ));
        assert!(p.require("ro", &[GROUP_EDIT]).is_ok());
        assert!(p.require("ro", &[USER_ADD]).is_err());
        assert!(p.require("other", &[SKILL_ASSIGN]).is_ok());
    }

    #[test]
    fn needs_follow_what_the_call_assigns() {
        let plain = User {
            user_name: Some("a@x.com".into()),
            ..User::default()
        };
        assert_eq!(for_create(&plain), vec![USER_ADD]);
        let mut rich = plain.clone();
        rich.roles = vec![RoleRef {
            value: "Agent".into(),
        }];
        rich.genesys = Some(GenesysUser {
            routing_skills: vec![Proficiency {
                name: "Billing".into(),
                proficiency: 3.0,
            }],
            ..GenesysUser::default()
        });
        rich.phone_numbers = vec![MultiValue {
            value: "tel:+14155550199;ext=2044".into(),
            kind: Some("work2".into()),
            primary: false,
        }];
        assert_eq!(
            for_create(&rich),
            vec![USER_ADD, GRANT_ADD, SKILL_ASSIGN, EXTENSION_ASSIGN]
        );
        assert_eq!(for_update(&rich, &rich, false), vec![USER_EDIT]);
        assert_eq!(
            for_update(&rich, &plain, true),
            vec![
                USER_EDIT,
                GRANT_DELETE,
                SKILL_ASSIGN,
                EXTENSION_ASSIGN,
                USER_SET_PASSWORD
            ]
        );
    }
}

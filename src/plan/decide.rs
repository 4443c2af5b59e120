//! Decides one row's action from its desired user and the tenant index: create,
//! minimal PATCH update, reactivate, deactivate, skip or conflict, with the group
//! membership changes and a deferred manager when the manager does not exist yet.
//!
//! Rules:
//! - no tenant user: `Create` (full POST body); but a row that is inactive in the
//!   source is not created: `Skip` with reason "inactive in source, not in tenant".
//! - tenant user inactive, source active: `Reactivate` (one PATCH with `active=true` and
//!   every other change). Source inactive, tenant active: `Deactivate` (`active=false`,
//!   never DELETE). Other differences: `Update`. Nothing differs and no membership
//!   change: `Skip`.
//! - the manager is given by externalId; it is resolved to a user id through the index.
//!   When unresolvable, the manager is left out and reported in `Plan::deferred`: plan
//!   the row again once the creates are done (the second pass yields the manager op).
//! - every managed value is checked against `PlanOptions::max_lengths` and the list
//!   limits; a value too long is a `Conflict` (kind `value_too_long`), never truncated.
//! - an unknown group name or `clear` path is a `Conflict`.

use std::borrow::Cow;

use super::diff::{self, Diff, FieldChange, diff_user};
use super::groups::{MembershipChange, plan_memberships};
use super::index::{Match, TenantIndex};
use super::options::PlanOptions;
use crate::mapping::DesiredUser;
use crate::model;
use crate::model::ErrorKind;
use crate::model::FieldPath;
use crate::scim::model::{
    AUTHORITY_SCIM, PatchOperation, SCHEMA_ENTERPRISE, SCHEMA_GENESYS, SCHEMA_USER, User,
};

/// A PATCH of one existing user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPatch {
    /// The tenant user's id.
    pub id: String,
    /// Its `meta.version`, for If-Match on the first PATCH.
    pub version: Option<String>,
    /// The minimal operations, unchunked (see `chunk_ops`); empty when only group
    /// memberships change (then send no user PATCH).
    pub ops: Vec<PatchOperation>,
    /// Paths changed, for the ledger.
    pub changed: Vec<FieldPath>,
}

/// What to do with one row's user.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// POST this full body.
    Create {
        /// The user to create, with `schemas` (boxed: it dwarfs the other variants).
        user: Box<User>,
    },
    /// PATCH an existing user.
    Update(UserPatch),
    /// PATCH an inactive user to active (the ops carry `active=true`).
    Reactivate(UserPatch),
    /// PATCH an active user to inactive (the ops carry `active=false`); never DELETE.
    Deactivate(UserPatch),
    /// No write.
    Skip {
        /// The tenant user. `None` only for a row inactive in the source with no
        /// user in the tenant ([`Action::is_inactive_absent`]).
        id: Option<String>,
        /// Why (`up to date`, `inactive in source, not in tenant`).
        reason: String,
    },
    /// The row must not be applied.
    Conflict {
        /// Stable snake_case kind for the ledger's `error_kind`: `user_name_taken`,
        /// `external_id_mismatch`, `no_key`, `unknown_group`, `value_too_long`,
        /// `unknown_clear_path`, `missing_required`.
        kind: ErrorKind,
        /// What is wrong, naming the values involved.
        reason: String,
    },
}

impl Action {
    /// The ledger's action column.
    pub fn kind(&self) -> model::Action {
        match self {
            Action::Create { .. } => model::Action::Create,
            Action::Update(_) => model::Action::Update,
            Action::Reactivate(_) => model::Action::Reactivate,
            Action::Deactivate(_) => model::Action::Deactivate,
            Action::Skip { .. } => model::Action::Skip,
            Action::Conflict { .. } => model::Action::None,
        }
    }

    /// The PATCH, for update, reactivate and deactivate.
    pub fn patch(&self) -> Option<&UserPatch> {
        match self {
            Action::Update(p) | Action::Reactivate(p) | Action::Deactivate(p) => Some(p),
            _ => None,
        }
    }

    /// The tenant user's id, when known.
    pub fn id(&self) -> Option<&str> {
        match self {
            Action::Skip { id, .. } => id.as_deref(),
            _ => self.patch().map(|p| p.id.as_str()),
        }
    }

    /// A row inactive in the source with no user in the tenant: nothing to
    /// create, and no user to call unchanged (ledger `error_kind =
    /// inactive_absent`).
    pub fn is_inactive_absent(&self) -> bool {
        matches!(self, Action::Skip { id: None, .. })
    }
}

/// A manager that could not be resolved yet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeferredManager {
    /// The manager's externalId as the source gives it.
    pub manager_external_id: String,
}

/// Everything planned for one row.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// 1-based data row.
    pub row: u64,
    /// The user action.
    pub action: Action,
    /// Group joins/leaves for this user (for a create: joins once the id is known).
    pub memberships: Vec<MembershipChange>,
    /// Set when the manager was left out because it is not in the tenant yet.
    pub deferred: Option<DeferredManager>,
    /// Readable changes, for `--dry-run` (a create lists every attribute it sets;
    /// membership changes appear at path `groups`).
    pub changes: Vec<FieldChange>,
}

impl Plan {
    /// Paths changed (ledger `changed_fields`).
    pub fn changed_fields(&self) -> Vec<FieldPath> {
        self.changes.iter().map(|c| c.path.clone()).collect()
    }

    fn conflict(row: u64, kind: ErrorKind, reason: String) -> Self {
        Plan {
            row,
            action: Action::Conflict { kind, reason },
            memberships: Vec::new(),
            deferred: None,
            changes: Vec::new(),
        }
    }
}

/// Plans one valid row against the tenant. Pure: same inputs, same plan.
pub fn plan_user(desired: &DesiredUser, idx: &TenantIndex, opts: &PlanOptions) -> Plan {
    let row = desired.row;
    if let Err(e) = diff::check_clear_paths(&desired.clear) {
        return Plan::conflict(row, ErrorKind::UnknownClearPath, e.to_string());
    }
    if let Err(e) = check_limits(&desired.user, opts) {
        return Plan::conflict(row, ErrorKind::ValueTooLong, e.to_string());
    }

    // resolve the manager's externalId to a user id, or defer it (clone only then)
    let mut resolved = Cow::Borrowed(desired);
    let mut deferred = None;
    let has_manager = desired
        .user
        .enterprise
        .as_ref()
        .is_some_and(|e| e.manager.is_some());
    if has_manager
        && let Some(ent) = resolved.to_mut().user.enterprise.as_mut()
        && let Some(m) = ent.manager.as_mut()
    {
        if m.value.is_empty() {
            ent.manager = None;
        } else if let Some(id) = idx.id_by_external_id(&m.value).map(str::to_string) {
            m.value = id;
            m.reference = None;
            m.display_name = None;
        } else {
            deferred = Some(DeferredManager {
                manager_external_id: m.value.clone(),
            });
            ent.manager = None;
        }
    }

    let found = idx.find(desired, &opts.match_keys);
    let actual = match found {
        Match::Conflict { kind, reason } => return Plan::conflict(row, kind, reason),
        Match::None => None,
        Match::One(u) => Some(u),
    };
    let user_id = actual.as_ref().and_then(|u| u.id.as_deref());

    let memberships = match &desired.groups {
        None => Vec::new(),
        Some(names) => match plan_memberships(names, user_id, idx, &opts.managed_groups) {
            Ok(m) => m,
            Err(unknown) => {
                return Plan::conflict(
                    row,
                    ErrorKind::UnknownGroup,
                    format!(
                        "group(s) not in the tenant: {} (groups must exist: create them in the tenant first; with --profile generic, --create-groups creates them)",
                        unknown.0.join(", ")
                    ),
                );
            }
        },
    };
    let group_change = memberships_change(&memberships, user_id, idx);

    let Some(actual) = actual else {
        if desired.user.active == Some(false) {
            return Plan {
                row,
                action: Action::Skip {
                    id: None,
                    reason: "inactive in source, not in tenant".into(),
                },
                memberships: Vec::new(),
                deferred: None,
                changes: Vec::new(),
            };
        }
        let missing: Vec<&str> = [
            ("userName", &desired.user.user_name),
            ("displayName", &desired.user.display_name),
        ]
        .into_iter()
        .filter(|(_, v)| v.as_deref().is_none_or(str::is_empty))
        .map(|(k, _)| k)
        .collect();
        if !missing.is_empty() {
            return Plan::conflict(
                row,
                ErrorKind::MissingRequired,
                format!(
                    "not in the tenant, and a new user needs {}",
                    missing.join(" and ")
                ),
            );
        }
        let Diff { changes, .. } = diff_user(&resolved, &User::default(), opts);
        let mut changes = changes;
        changes.extend(group_change);
        return Plan {
            row,
            action: Action::Create {
                user: Box::new(create_body(&resolved.user)),
            },
            memberships,
            deferred,
            changes,
        };
    };

    let id = actual.id.clone().unwrap_or_default();
    let Diff { ops, mut changes } = diff_user(&resolved, &actual, opts);
    changes.extend(group_change);
    let changed = changes.iter().map(|c| c.path.clone()).collect();
    let patch = UserPatch {
        id: id.clone(),
        version: actual.meta.as_ref().and_then(|m| m.version.clone()),
        ops,
        changed,
    };
    let was_active = actual.active.unwrap_or(true);
    let action = if patch.ops.is_empty() && memberships.is_empty() {
        Action::Skip {
            id: Some(id),
            reason: if deferred.is_some() {
                "up to date except the manager, not in the tenant yet".into()
            } else {
                "up to date".into()
            },
        }
    } else {
        match desired.user.active {
            Some(true) if !was_active => Action::Reactivate(patch),
            Some(false) if was_active => Action::Deactivate(patch),
            _ => Action::Update(patch),
        }
    };
    Plan {
        row,
        action,
        memberships,
        deferred,
        changes,
    }
}

/// A readable `groups` change (group names before and after), when memberships change.
fn memberships_change(
    memberships: &[MembershipChange],
    user_id: Option<&str>,
    idx: &TenantIndex,
) -> Option<FieldChange> {
    if memberships.is_empty() {
        return None;
    }
    let name = |gid: &str| {
        idx.group(gid)
            .and_then(|g| g.display_name.clone())
            .unwrap_or_else(|| gid.to_string())
    };
    let before: Vec<String> = user_id
        .map(|u| idx.groups_of(u).map(name).collect())
        .unwrap_or_default();
    let mut after: Vec<String> = before
        .iter()
        .filter(|n| {
            !memberships
                .iter()
                .any(|m| m.op == super::groups::MemberOp::Remove && &&m.group_name == n)
        })
        .cloned()
        .collect();
    after.extend(
        memberships
            .iter()
            .filter(|m| m.op == super::groups::MemberOp::Add)
            .map(|m| m.group_name.clone()),
    );
    let mut before = before;
    before.sort();
    after.sort();
    let render = |v: Vec<String>| (!v.is_empty()).then(|| v.join(", "));
    Some(FieldChange {
        path: "groups".into(),
        before: render(before),
        after: render(after),
    })
}

/// The full POST body for a new user: the desired user with `schemas`, without
/// read-only parts (id, meta, groups, emails of type other, the x-pc externalIds entry).
pub fn create_body(desired: &User) -> User {
    let mut u = desired.clone();
    u.id = None;
    u.meta = None;
    u.groups.clear();
    u.emails.retain(|e| {
        !e.kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("other"))
    });
    for list in [&mut u.emails, &mut u.phone_numbers] {
        for m in list.iter_mut() {
            if m.kind.is_none() {
                m.kind = Some("work".into());
            }
        }
    }
    if let Some(g) = u.genesys.as_mut() {
        g.external_ids
            .retain(|e| !e.authority.starts_with(AUTHORITY_SCIM));
    }
    u.schemas = vec![SCHEMA_USER.to_string()];
    if u.enterprise.is_some() {
        u.schemas.push(SCHEMA_ENTERPRISE.to_string());
    }
    if u.genesys.is_some() {
        u.schemas.push(SCHEMA_GENESYS.to_string());
    }
    u
}

/// A managed value over the tenant's limits (a `value_too_long` conflict).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// A value longer than its attribute's limit.
    #[error(
        "{key} is {len} characters, more than the limit of {max}; shorten it in the source (values are never truncated)"
    )]
    TooLong {
        /// The attribute (`title`, `emails`, ...).
        key: String,
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A list with more entries than allowed.
    #[error("{key} has {len} entries, more than the limit of {max}")]
    TooMany {
        /// `routingSkills` or `routingLanguages`.
        key: &'static str,
        /// Entries the user has.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Checks every managed value against the configured length and list limits.
pub fn check_limits(u: &User, opts: &PlanOptions) -> Result<(), LimitError> {
    let check = |key: &str, value: &str| -> Result<(), LimitError> {
        if let Some(max) = opts.max_lengths.get(key) {
            let n = value.chars().count();
            if n > *max {
                return Err(LimitError::TooLong {
                    key: key.to_string(),
                    len: n,
                    max: *max,
                });
            }
        }
        Ok(())
    };
    let opt = |key: &str, v: &Option<String>| v.as_deref().map_or(Ok(()), |v| check(key, v));
    opt("externalId", &u.external_id)?;
    opt("userName", &u.user_name)?;
    opt("displayName", &u.display_name)?;
    opt("title", &u.title)?;
    opt("password", &u.password)?;
    if let Some(n) = &u.name {
        opt("name.givenName", &n.given_name)?;
        opt("name.familyName", &n.family_name)?;
        opt("name.formatted", &n.formatted)?;
    }
    for e in &u.emails {
        check("emails", &e.value)?;
    }
    for p in &u.phone_numbers {
        check("phoneNumbers", &p.value)?;
    }
    for r in &u.roles {
        check("roles", &r.value)?;
    }
    if let Some(e) = &u.enterprise {
        opt("employeeNumber", &e.employee_number)?;
        opt("department", &e.department)?;
        opt("division", &e.division)?;
        opt("dateHire", &e.date_hire)?;
    }
    if let Some(g) = &u.genesys {
        for (key, list) in [
            ("routingSkills", &g.routing_skills),
            ("routingLanguages", &g.routing_languages),
        ] {
            if list.len() > opts.max_list_entries {
                return Err(LimitError::TooMany {
                    key,
                    len: list.len(),
                    max: opts.max_list_entries,
                });
            }
            for p in list {
                check(key, &p.name)?;
            }
        }
        for x in &g.external_ids {
            check("externalIds", &x.value)?;
        }
    }
    Ok(())
}

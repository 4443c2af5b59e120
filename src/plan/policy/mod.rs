//! The three-way comparison of `sync`: per mapped path, the value scimport last
//! applied (from the sync state), the tenant's value and the source's (desired)
//! value, and the field's `conflict` policy, adjust the desired user before
//! planning and report every edit someone made in the tenant.
//!
//! Pure. Owns only the policies; what counts as equal is `diff`'s rule (via
//! [`super::value_at`], [`super::same_value`] and the skill comparison), so an
//! edit is exactly what the planner would otherwise overwrite. Does not read or
//! write the state (see `sync`), nor plan (call [`super::plan_user`] after).
//!
//! Semantics, per mapped path:
//! - **An edit in the tenant** is a tenant value that differs from the applied one,
//!   compared as the planner compares (userName and emails ignore case, emails and
//!   phones by type, roles and skills as sets, groups by name ignoring case,
//!   `active` missing counts as `true`, an entry without a value counts as absent).
//!   A role the tenant grants by default (`PlanOptions::kept_roles`, `employee`)
//!   that the tenant has and the applied value lacks is not an edit. Without a
//!   state (`applied == None`, a first sync) nothing counts as an edit, so every
//!   policy behaves as source-wins.
//! - **source-wins** (default): the desired user is unchanged; an edit is still
//!   reported (`kept: false`): the planner overwrites it.
//! - **target-wins**: on an edit, the desired value becomes the tenant's value, so
//!   the planner sends nothing for the path; when the tenant removed the value, the
//!   desired user neither sets it again nor clears it (the path leaves
//!   `desired.clear`). Reported with `kept: true`. Without an edit, the source's
//!   change goes through.
//! - **merge** (lists: roles, groups, routing skills and languages): on an edit,
//!   the result is desired ∪ (tenant − applied): items added in the tenant stay,
//!   items scimport applied and the source dropped go, items removed in the tenant
//!   but still in the source come back. Order: the source's items, then the
//!   tenant-only items in the tenant's order. Skills and languages are items by
//!   name; a name the source lists keeps the source's proficiency. Reported with
//!   `kept: true`. (On a single value, which a mapping refuses, merge acts as
//!   target-wins.)
//! - A desired value that is absent (a blank cell with `blank = "ignore"`: the
//!   planner leaves the tenant's value alone) stays absent under every policy; its
//!   edit is reported with `kept: true`, since nothing overwrites it.
//!
//! The `applied` user holds, for each mapped path, the value the tenant held after
//! scimport's last write (absent when it had none), spelled as a desired user is:
//! the manager as the manager's user id, groups as `groups[].display`. The same
//! holds for `tenant` (fill its `groups` from the index's memberships when groups
//! are mapped) and for the desired manager, which must already be resolved to a
//! user id as [`super::diff_user`] expects. Paths the planner does not know are
//! skipped.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::diff::{P_LANGUAGES, P_SKILLS, prof_entries, same_proficiencies, same_value, value_at};
use super::options::PlanOptions;
use crate::mapping::{ConflictPolicy, DesiredUser, Target};
use crate::scim::model::{
    EnterpriseUser, ExternalIdEntry, ManagerRef, MultiValue, Name, Proficiency, User,
};

/// A value someone changed in the tenant since scimport last applied it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetEdit {
    /// The SCIM path, as the planner spells it.
    pub path: String,
    /// The value scimport last applied (`null` when none).
    pub applied: Value,
    /// The tenant's value now (`null` when none).
    pub tenant: Value,
    /// True when the tenant's value was kept (target-wins, merge, or a desired
    /// value that is absent); false when the planner overwrites it.
    pub kept: bool,
}

/// Adjusts `desired` before planning: for each mapped path, compares the value scimport
/// last applied (`applied`, from the sync state: a User holding only the mapped attributes;
/// None on a first sync), the tenant's value (`tenant`) and the desired value.
///
/// [`reconcile_fields_with`] the default [`PlanOptions`] (kept role `employee`).
pub fn reconcile_fields(
    desired: &mut DesiredUser,
    applied: Option<&User>,
    tenant: &User,
    policies: &[(String, ConflictPolicy)],
) -> Vec<TargetEdit> {
    reconcile_fields_with(desired, applied, tenant, policies, &PlanOptions::default())
}

/// [`reconcile_fields`] with the planner's options (its `kept_roles`).
pub fn reconcile_fields_with(
    desired: &mut DesiredUser,
    applied: Option<&User>,
    tenant: &User,
    policies: &[(String, ConflictPolicy)],
    opts: &PlanOptions,
) -> Vec<TargetEdit> {
    let Some(applied) = applied else {
        return Vec::new();
    };
    let sides = Sides {
        applied,
        tenant,
        opts,
    };
    policies
        .iter()
        .filter_map(|(path, policy)| {
            let target = Target::parse(path).ok()?;
            sides.reconcile(desired, &target, *policy)
        })
        .collect()
}

/// The two recorded sides of the comparison.
struct Sides<'a> {
    applied: &'a User,
    tenant: &'a User,
    opts: &'a PlanOptions,
}

/// What a policy does with an edited path whose desired value is present.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Resolve {
    /// Leave the desired value (source-wins).
    Keep,
    /// Take the tenant's value (target-wins).
    Adopt,
    /// desired ∪ (tenant − applied) (merge).
    Merge,
}

impl Sides<'_> {
    fn reconcile(
        &self,
        d: &mut DesiredUser,
        target: &Target,
        policy: ConflictPolicy,
    ) -> Option<TargetEdit> {
        let path = target.path();
        let list = matches!(
            target,
            Target::Roles | Target::Groups | Target::RoutingSkills | Target::RoutingLanguages
        );
        let resolve = match policy {
            ConflictPolicy::SourceWins => Resolve::Keep,
            ConflictPolicy::Merge if list => Resolve::Merge,
            ConflictPolicy::TargetWins | ConflictPolicy::Merge => Resolve::Adopt,
        };
        let (applied, tenant, absent) = match target {
            Target::Active => self.active(d, resolve)?,
            Target::Roles => self.roles(d, resolve)?,
            Target::Groups => self.groups(d, resolve)?,
            Target::RoutingSkills | Target::RoutingLanguages => {
                self.proficiencies(d, target, &path, resolve)?
            }
            _ => self.single(d, target, &path, resolve)?,
        };
        // A merge that ends empty still clears what the source dropped.
        let emptied = resolve == Resolve::Merge && list_is_empty(d, target);
        if !absent && resolve != Resolve::Keep && !emptied {
            d.clear.retain(|p| *p != path);
        }
        Some(TargetEdit {
            path,
            applied,
            tenant,
            kept: absent || resolve != Resolve::Keep,
        })
    }

    /// A single value: `(applied, tenant, desired absent)` when edited.
    fn single(
        &self,
        d: &mut DesiredUser,
        target: &Target,
        path: &str,
        resolve: Resolve,
    ) -> Option<(Value, Value, bool)> {
        let (a, t) = (value_at(self.applied, path), value_at(self.tenant, path));
        let edited = match (a, t) {
            (Some(a), Some(t)) => !same_value(path, a, t),
            (None, None) => false,
            _ => true,
        };
        if !edited {
            return None;
        }
        let absent = value_at(&d.user, path).is_none() && !d.clear.iter().any(|p| p == path);
        if !absent && resolve != Resolve::Keep {
            set_single(&mut d.user, target, t.map(str::to_owned));
        }
        let text = |v: Option<&str>| v.map_or(Value::Null, |s| Value::String(s.to_owned()));
        Some((text(a), text(t), absent))
    }

    fn active(&self, d: &mut DesiredUser, resolve: Resolve) -> Option<(Value, Value, bool)> {
        let a = self.applied.active.unwrap_or(true);
        let t = self.tenant.active.unwrap_or(true);
        if a == t {
            return None;
        }
        let absent = d.user.active.is_none();
        if !absent && resolve != Resolve::Keep {
            d.user.active = Some(t);
        }
        Some((Value::Bool(a), Value::Bool(t), absent))
    }

    fn roles(&self, d: &mut DesiredUser, resolve: Resolve) -> Option<(Value, Value, bool)> {
        let applied: BTreeSet<&str> = self
            .applied
            .roles
            .iter()
            .map(|r| r.value.as_str())
            .collect();
        let granted = |r: &str| {
            self.opts
                .kept_roles
                .iter()
                .any(|k| k.eq_ignore_ascii_case(r))
        };
        // The tenant's roles but a default grant scimport never applied.
        let tenant: Vec<&str> = self
            .tenant
            .roles
            .iter()
            .map(|r| r.value.as_str())
            .filter(|r| applied.contains(r) || !granted(r))
            .collect();
        if tenant.iter().copied().collect::<BTreeSet<_>>() == applied {
            return None;
        }
        let absent = d.user.roles.is_empty() && !d.clear.iter().any(|p| p == "roles");
        if !absent {
            match resolve {
                Resolve::Keep => {}
                Resolve::Adopt => d.user.roles = self.tenant.roles.clone(),
                Resolve::Merge => {
                    for r in tenant.iter().filter(|r| !applied.contains(*r)) {
                        if !d.user.roles.iter().any(|w| w.value == *r) {
                            d.user.roles.push(crate::scim::model::RoleRef {
                                value: (*r).to_owned(),
                            });
                        }
                    }
                }
            }
        }
        let show = |u: &User| json!(u.roles.iter().map(|r| &r.value).collect::<Vec<_>>());
        Some((show(self.applied), show(self.tenant), absent))
    }

    fn groups(&self, d: &mut DesiredUser, resolve: Resolve) -> Option<(Value, Value, bool)> {
        let (a, t) = (group_names(self.applied), group_names(self.tenant));
        let applied = lower_set(&a);
        if applied == lower_set(&t) {
            return None;
        }
        let absent = d.groups.is_none();
        match resolve {
            _ if absent => {}
            Resolve::Keep => {}
            // None when the tenant has none: memberships are then left alone
            // rather than emptied from a list the tenant may not have filled.
            Resolve::Adopt => {
                d.groups = (!t.is_empty()).then(|| t.iter().map(|g| g.to_string()).collect())
            }
            Resolve::Merge => {
                let want = d.groups.get_or_insert_with(Vec::new);
                for g in t.iter().filter(|g| !applied.contains(&g.to_lowercase())) {
                    if !want.iter().any(|w| w.eq_ignore_ascii_case(g)) {
                        want.push(g.to_string());
                    }
                }
            }
        }
        Some((json!(a), json!(t), absent))
    }

    fn proficiencies(
        &self,
        d: &mut DesiredUser,
        target: &Target,
        path: &str,
        resolve: Resolve,
    ) -> Option<(Value, Value, bool)> {
        let skills = *target == Target::RoutingSkills;
        let pp = if skills { P_SKILLS } else { P_LANGUAGES };
        let applied = prof_entries(self.applied, pp);
        if same_proficiencies(&applied, &prof_entries(self.tenant, pp)) {
            return None;
        }
        let tenant_list = prof_list(self.tenant, skills);
        let absent = prof_list(&d.user, skills).is_empty() && !d.clear.iter().any(|p| p == path);
        if !absent && resolve != Resolve::Keep {
            let genesys = d.user.genesys.get_or_insert_with(Default::default);
            let want = if skills {
                &mut genesys.routing_skills
            } else {
                &mut genesys.routing_languages
            };
            if resolve == Resolve::Adopt {
                *want = tenant_list.to_vec();
            } else {
                for p in tenant_list {
                    let new = !applied.contains_key(p.name.as_str());
                    if new && !want.iter().any(|w| w.name == p.name) {
                        want.push(p.clone());
                    }
                }
            }
        }
        let show = |u: &User| {
            json!(
                prof_list(u, skills)
                    .iter()
                    .map(|p| json!({ "name": p.name, "proficiency": p.proficiency }))
                    .collect::<Vec<_>>()
            )
        };
        Some((show(self.applied), show(self.tenant), absent))
    }
}

/// Whether the desired list at `target` holds no item.
fn list_is_empty(d: &DesiredUser, target: &Target) -> bool {
    match target {
        Target::Roles => d.user.roles.is_empty(),
        Target::Groups => d.groups.as_ref().is_none_or(Vec::is_empty),
        Target::RoutingSkills => prof_list(&d.user, true).is_empty(),
        Target::RoutingLanguages => prof_list(&d.user, false).is_empty(),
        _ => false,
    }
}

/// A user's group display names, in its order.
fn group_names(u: &User) -> Vec<&str> {
    u.groups
        .iter()
        .filter_map(|g| g.display.as_deref())
        .collect()
}

fn lower_set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_lowercase()).collect()
}

/// A user's routing skills or languages, in its order.
fn prof_list(u: &User, skills: bool) -> &[Proficiency] {
    match &u.genesys {
        Some(g) if skills => &g.routing_skills,
        Some(g) => &g.routing_languages,
        None => &[],
    }
}

/// Sets (or, for `None`, removes) the single value at `target` on `u`.
fn set_single(u: &mut User, target: &Target, v: Option<String>) {
    match target {
        Target::ExternalId => u.external_id = v,
        Target::UserName => u.user_name = v,
        Target::DisplayName => u.display_name = v,
        Target::Title => u.title = v,
        Target::GivenName => name(u).given_name = v,
        Target::FamilyName => name(u).family_name = v,
        Target::Formatted => name(u).formatted = v,
        Target::Department => ent(u).department = v,
        Target::Division => ent(u).division = v,
        Target::EmployeeNumber => ent(u).employee_number = v,
        Target::DateHire => ent(u).date_hire = v,
        Target::Manager => {
            ent(u).manager = v.map(|value| ManagerRef {
                value,
                ..ManagerRef::default()
            })
        }
        Target::Email(kind) => set_typed(&mut u.emails, kind, v),
        Target::Phone(kind) => set_typed(&mut u.phone_numbers, kind, v),
        Target::GenesysExternalId(authority) => {
            let g = u.genesys.get_or_insert_with(Default::default);
            g.external_ids.retain(|e| e.authority != *authority);
            if let Some(value) = v {
                g.external_ids.push(ExternalIdEntry {
                    authority: authority.clone(),
                    value,
                });
            }
        }
        // Custom extension values are typed JSON: the source always wins there.
        Target::Active
        | Target::Roles
        | Target::Groups
        | Target::RoutingSkills
        | Target::RoutingLanguages
        | Target::Extension { .. } => {}
    }
}

fn ent(u: &mut User) -> &mut EnterpriseUser {
    u.enterprise.get_or_insert_with(Default::default)
}

fn name(u: &mut User) -> &mut Name {
    u.name.get_or_insert_with(Default::default)
}

/// Replaces (or removes) the entry of type `kind`, keeping its `primary` flag.
fn set_typed(list: &mut Vec<MultiValue>, kind: &str, v: Option<String>) {
    let of_kind = |m: &MultiValue| {
        m.kind
            .as_deref()
            .unwrap_or("work")
            .eq_ignore_ascii_case(kind)
    };
    let primary = list.iter().find(|m| of_kind(m)).is_some_and(|m| m.primary);
    list.retain(|m| !of_kind(m));
    if let Some(value) = v {
        list.push(MultiValue {
            value,
            kind: Some(kind.to_owned()),
            primary,
        });
    }
}

#[cfg(test)]
mod tests;

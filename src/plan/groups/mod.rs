//! Group membership planning, the one place that decides membership changes: per
//! row, which groups a user joins or leaves ([`plan_memberships`], for the plan and
//! `--dry-run`); across an input, what each tenant group must gain and lose
//! ([`DesiredMembers`]); and the Groups PATCH bodies that do it ([`chunk_members`]),
//! cut to `--max-patch-ops`, member ids escaped as SCIM filter strings.
//!
//! Pure: fetching groups and sending the PATCHes is `apply::groups`'s business.
//! Membership changes only through the Groups endpoint (`groups` on a user is
//! read-only). Groups must already exist; an unknown name is a row conflict.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::chunk::chunk_ops;
use super::index::TenantIndex;
use crate::scim::filter;
use crate::scim::model::{Group, PatchOperation};

/// Members per `add` operation of a group PATCH: many members count as one operation
/// against `--max-patch-ops`, so a large group costs few calls.
pub const MEMBERS_PER_ADD: usize = 50;

/// Which tenant groups the import manages, i.e. may remove members from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum GroupScope {
    /// Every group: when a row lists its groups, the user leaves every other group
    /// (the source is the truth for memberships).
    #[default]
    All,
    /// Only these groups (display names, compared case-insensitively); memberships of
    /// other groups are left alone.
    Listed(BTreeSet<String>),
}

impl GroupScope {
    /// A scope of these group names.
    pub fn listed<I: IntoIterator<Item = S>, S: AsRef<str>>(names: I) -> Self {
        GroupScope::Listed(
            names
                .into_iter()
                .map(|n| n.as_ref().to_lowercase())
                .collect(),
        )
    }

    /// Whether memberships of the group with this name are managed.
    pub fn manages(&self, name: &str) -> bool {
        match self {
            GroupScope::All => true,
            GroupScope::Listed(set) => set.contains(&name.to_lowercase()),
        }
    }
}

/// Joining or leaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberOp {
    /// The user joins the group.
    Add,
    /// The user leaves the group.
    Remove,
}

/// One membership change for one user (whose id may not exist yet for a create).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MembershipChange {
    /// The group's id.
    pub group_id: String,
    /// The group's display name (for reports).
    pub group_name: String,
    /// Join or leave.
    pub op: MemberOp,
}

/// The member changes to send to one group, as user ids (sorted).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct GroupChange {
    /// The group's id.
    pub group_id: String,
    /// The group's display name.
    pub group_name: String,
    /// User ids to add.
    pub add: Vec<String>,
    /// User ids to remove.
    pub remove: Vec<String>,
}

impl GroupChange {
    /// The part of this change that joins or leaves these members (as
    /// [`patch_members`] lists them).
    pub fn part(&self, members: &[(MemberOp, String)]) -> GroupChange {
        let pick = |op: MemberOp| {
            members
                .iter()
                .filter(|(o, _)| *o == op)
                .map(|(_, u)| u.clone())
                .collect()
        };
        GroupChange {
            group_id: self.group_id.clone(),
            group_name: self.group_name.clone(),
            add: pick(MemberOp::Add),
            remove: pick(MemberOp::Remove),
        }
    }
}

/// A membership conflict (unknown group names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownGroups(pub Vec<String>);

/// The membership changes that make `user_id`'s groups equal `desired` on the managed
/// groups (`user_id` is `None` for a user not created yet: joins only).
///
/// Sorted: joins then leaves, each by group name then id, so plans are stable.
pub fn plan_memberships(
    desired: &[String],
    user_id: Option<&str>,
    idx: &TenantIndex,
    scope: &GroupScope,
) -> Result<Vec<MembershipChange>, UnknownGroups> {
    let mut unknown = Vec::new();
    let mut wanted: BTreeMap<&str, &str> = BTreeMap::new();
    for name in desired {
        match idx.group_by_name(name).and_then(|g| g.id.as_deref()) {
            Some(id) => {
                wanted.insert(id, name.as_str());
            }
            None => unknown.push(name.clone()),
        }
    }
    if !unknown.is_empty() {
        unknown.sort();
        unknown.dedup();
        return Err(UnknownGroups(unknown));
    }
    let current: BTreeSet<&str> = user_id
        .map(|u| idx.groups_of(u).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (id, name) in &wanted {
        if !current.contains(id) {
            let name = idx
                .group(id)
                .and_then(|g| g.display_name.clone())
                .unwrap_or_else(|| name.to_string());
            out.push(MembershipChange {
                group_id: id.to_string(),
                group_name: name,
                op: MemberOp::Add,
            });
        }
    }
    for id in current {
        if wanted.contains_key(id) {
            continue;
        }
        let name = idx
            .group(id)
            .and_then(|g| g.display_name.clone())
            .unwrap_or_default();
        // a group we know nothing about (not prefetched) is never touched
        if idx.group(id).is_none() || !scope.manages(&name) {
            continue;
        }
        out.push(MembershipChange {
            group_id: id.to_string(),
            group_name: name,
            op: MemberOp::Remove,
        });
    }
    out.sort_by(|a, b| {
        (a.op, a.group_name.to_lowercase(), &a.group_id).cmp(&(
            b.op,
            b.group_name.to_lowercase(),
            &b.group_id,
        ))
    });
    Ok(out)
}

/// One input user's wanted groups, as the batched membership pass gathers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberWant {
    /// The user's id in the tenant.
    pub user_id: String,
    /// Display names of the groups the user should belong to (case-insensitive).
    pub groups: Vec<String>,
}

/// What an input wants of the tenant's groups: per group, which of the input's users
/// belong in it. Only the input's users are ever added or removed; other members are
/// left alone, so a partial input never empties a group.
#[derive(Debug, Clone, Default)]
pub struct DesiredMembers {
    /// Group id -> input users that should be members.
    members: BTreeMap<String, BTreeSet<String>>,
    /// Every user of the input.
    input: BTreeSet<String>,
    scope: GroupScope,
    /// Wants (by position) naming groups the tenant lacks, each with the missing names;
    /// their other groups are still planned.
    pub unknown: Vec<(usize, UnknownGroups)>,
}

impl DesiredMembers {
    /// Resolves `wants` by group name (case-insensitively) against the tenant's
    /// `groups`; `scope` limits which groups members are removed from.
    pub fn resolve(wants: &[MemberWant], groups: &[Group], scope: &GroupScope) -> Self {
        // Later groups win a (case-insensitive) name clash, as in the tenant index.
        let by_name: BTreeMap<String, &str> = groups
            .iter()
            .filter_map(|g| Some((g.display_name.as_deref()?.to_lowercase(), g.id.as_deref()?)))
            .collect();
        let mut out = DesiredMembers {
            scope: scope.clone(),
            ..DesiredMembers::default()
        };
        for (i, want) in wants.iter().enumerate() {
            out.input.insert(want.user_id.clone());
            let mut unknown = Vec::new();
            for name in &want.groups {
                match by_name.get(&name.to_lowercase()) {
                    Some(id) => {
                        out.members
                            .entry((*id).to_string())
                            .or_default()
                            .insert(want.user_id.clone());
                    }
                    None => unknown.push(name.clone()),
                }
            }
            if !unknown.is_empty() {
                unknown.sort();
                unknown.dedup();
                out.unknown.push((i, UnknownGroups(unknown)));
            }
        }
        out
    }

    /// The member changes that make `group` (as the tenant holds it) match the input;
    /// `None` when nothing changes or the group has no id.
    pub fn change_for(&self, group: &Group) -> Option<GroupChange> {
        let id = group.id.as_deref()?;
        let name = group.display_name.clone().unwrap_or_default();
        let none = BTreeSet::new();
        let want = self.members.get(id).unwrap_or(&none);
        let current: BTreeSet<&str> = group.members.iter().map(|m| m.value.as_str()).collect();
        let add: Vec<String> = want
            .iter()
            .filter(|u| !current.contains(u.as_str()))
            .cloned()
            .collect();
        let remove: Vec<String> = if self.scope.manages(&name) {
            current
                .iter()
                .filter(|u| self.input.contains(**u) && !want.contains(**u))
                .map(|u| u.to_string())
                .collect()
        } else {
            Vec::new()
        };
        (!add.is_empty() || !remove.is_empty()).then(|| GroupChange {
            group_id: id.to_string(),
            group_name: name,
            add,
            remove,
        })
    }

    /// The changes of every group that needs one, in the order of `groups`.
    pub fn changes(&self, groups: &[Group]) -> Vec<GroupChange> {
        groups.iter().filter_map(|g| self.change_for(g)).collect()
    }
}

/// The `remove` path for one member: `members[value eq "<id>"]`, the id quoted as a
/// JSON string so that a quote or backslash in it cannot end the filter early.
pub fn member_path(user_id: &str) -> String {
    format!("members[{}]", filter::eq("value", user_id))
}

/// The Groups PATCH bodies for one group's change: adds go in `add` operations at
/// `members` of up to [`MEMBERS_PER_ADD`] members each, each removal is a `remove` at
/// [`member_path`]; the operations are cut into PATCHes of at most `max_ops` (0
/// counts as 1). Adds come first; order is kept.
pub fn chunk_members(change: &GroupChange, max_ops: usize) -> Vec<Vec<PatchOperation>> {
    let adds = change.add.chunks(MEMBERS_PER_ADD).map(|chunk| {
        let members = chunk.iter().map(|u| json!({ "value": u })).collect();
        PatchOperation::add("members", Value::Array(members))
    });
    let removes = change
        .remove
        .iter()
        .map(|u| PatchOperation::remove(member_path(u)));
    chunk_ops(adds.chain(removes).collect(), max_ops)
}

/// The members of each PATCH [`chunk_members`] makes of `change`, in order: the
/// `part` of one of these lists (or of any subset of it) is a single PATCH.
pub fn patch_members(change: &GroupChange, max_ops: usize) -> Vec<Vec<(MemberOp, String)>> {
    let adds = change
        .add
        .chunks(MEMBERS_PER_ADD)
        .map(|c| c.iter().map(|u| (MemberOp::Add, u.clone())).collect());
    let removes = change
        .remove
        .iter()
        .map(|u| vec![(MemberOp::Remove, u.clone())]);
    let ops: Vec<Vec<(MemberOp, String)>> = adds.chain(removes).collect();
    ops.chunks(max_ops.max(1)).map(|c| c.concat()).collect()
}

#[cfg(test)]
mod tests;

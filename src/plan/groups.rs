//! Group membership planning: which managed groups a user joins or leaves, the
//! per-group batches of member ids across many rows, and their PATCH bodies chunked to
//! `--max-patch-ops`.
//!
//! Membership changes only through the Groups endpoint (`groups` on a user is
//! read-only). Groups must already exist; an unknown name is a row conflict.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::index::TenantIndex;
use crate::scim::model::PatchOperation;

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

/// The member changes to send to one group, as user ids.
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

/// Per-group batches of member changes gathered over many users, so a group gets one
/// PATCH per chunk of members rather than one per user.
#[derive(Debug, Clone, Default)]
pub struct GroupChanges {
    by_group: BTreeMap<String, GroupChange>,
}

impl GroupChanges {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one user's membership changes.
    pub fn record(&mut self, user_id: &str, changes: &[MembershipChange]) {
        for c in changes {
            let entry = self
                .by_group
                .entry(c.group_id.clone())
                .or_insert_with(|| GroupChange {
                    group_id: c.group_id.clone(),
                    group_name: c.group_name.clone(),
                    ..GroupChange::default()
                });
            let list = match c.op {
                MemberOp::Add => &mut entry.add,
                MemberOp::Remove => &mut entry.remove,
            };
            if !list.iter().any(|u| u == user_id) {
                list.push(user_id.to_string());
            }
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.by_group.is_empty()
    }

    /// The batches, by group id.
    pub fn into_changes(self) -> Vec<GroupChange> {
        self.by_group.into_values().collect()
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The Groups PATCH operations for one group's change, chunked so that no PATCH carries
/// more than `max_ops` member changes (hence never more than `max_ops` operations): adds
/// go in one `add` op at `members`, each removal is a `remove` at
/// `members[value eq "<id>"]`. Adds come first, order is kept; `max_ops` 0 counts as 1.
pub fn chunk_members(change: &GroupChange, max_ops: usize) -> Vec<Vec<PatchOperation>> {
    let max = max_ops.max(1);
    let items: Vec<(MemberOp, &str)> = change
        .add
        .iter()
        .map(|u| (MemberOp::Add, u.as_str()))
        .chain(change.remove.iter().map(|u| (MemberOp::Remove, u.as_str())))
        .collect();
    items
        .chunks(max)
        .map(|chunk| {
            let adds: Vec<Value> = chunk
                .iter()
                .filter(|(op, _)| *op == MemberOp::Add)
                .map(|(_, u)| json!({ "value": u }))
                .collect();
            let mut ops = Vec::new();
            if !adds.is_empty() {
                ops.push(PatchOperation::add("members", Value::Array(adds)));
            }
            for (op, u) in chunk {
                if *op == MemberOp::Remove {
                    ops.push(PatchOperation::remove(format!(
                        "members[value eq \"{}\"]",
                        escape(u)
                    )));
                }
            }
            ops
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::model::{Group, Member, User};

    fn idx() -> TenantIndex {
        let mut idx = TenantIndex::new();
        for (id, name, members) in [
            ("g1", "Sales", vec!["u1"]),
            ("g2", "Support", vec![]),
            ("g3", "Managers", vec!["u1"]),
        ] {
            idx.insert_group(Group {
                id: Some(id.into()),
                display_name: Some(name.into()),
                members: members
                    .into_iter()
                    .map(|m| Member {
                        value: m.into(),
                        reference: None,
                        kind: None,
                        display: None,
                    })
                    .collect(),
                ..Group::default()
            });
        }
        idx.insert_user(User {
            id: Some("u1".into()),
            ..User::default()
        });
        idx
    }

    fn ops(v: &[MembershipChange]) -> Vec<(MemberOp, &str)> {
        v.iter().map(|c| (c.op, c.group_id.as_str())).collect()
    }

    #[test]
    fn memberships_table() {
        let idx = idx();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        use MemberOp::*;
        type Case<'a> = (
            Vec<String>,
            Option<&'a str>,
            GroupScope,
            Vec<(MemberOp, &'a str)>,
        );
        let cases: Vec<Case> = vec![
            // already equal
            (
                s(&["Sales", "Managers"]),
                Some("u1"),
                GroupScope::All,
                vec![],
            ),
            // case-insensitive names
            (
                s(&["sales", "MANAGERS"]),
                Some("u1"),
                GroupScope::All,
                vec![],
            ),
            // join Support, leave Managers
            (
                s(&["Sales", "Support"]),
                Some("u1"),
                GroupScope::All,
                vec![(Add, "g2"), (Remove, "g3")],
            ),
            // Managers unmanaged: not removed
            (
                s(&["Sales"]),
                Some("u1"),
                GroupScope::listed(["Sales", "Support"]),
                vec![],
            ),
            // empty list leaves every managed group, sorted by name
            (
                s(&[]),
                Some("u1"),
                GroupScope::All,
                vec![(Remove, "g3"), (Remove, "g1")],
            ),
            // new user: joins only
            (
                s(&["Support", "Sales"]),
                None,
                GroupScope::All,
                vec![(Add, "g1"), (Add, "g2")],
            ),
        ];
        for (i, (want, user, scope, expect)) in cases.iter().enumerate() {
            let got = plan_memberships(want, *user, &idx, scope).expect("known groups");
            assert_eq!(ops(&got), *expect, "case {i}");
        }
    }

    #[test]
    fn unknown_group_is_an_error() {
        let idx = idx();
        let err = plan_memberships(
            &["Nope".into(), "Sales".into(), "Alpha".into()],
            Some("u1"),
            &idx,
            &GroupScope::All,
        )
        .expect_err("unknown");
        assert_eq!(err.0, vec!["Alpha".to_string(), "Nope".to_string()]);
    }

    #[test]
    fn batches_and_chunks() {
        let mut b = GroupChanges::new();
        let add = |g: &str| MembershipChange {
            group_id: g.into(),
            group_name: g.into(),
            op: MemberOp::Add,
        };
        let rem = |g: &str| MembershipChange {
            op: MemberOp::Remove,
            ..add(g)
        };
        for u in ["a", "b", "c"] {
            b.record(u, &[add("g1")]);
        }
        b.record("d", &[rem("g1"), add("g2")]);
        b.record("d", &[rem("g1")]);
        let changes = b.into_changes();
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].add, vec!["a", "b", "c"]);
        assert_eq!(changes[0].remove, vec!["d"]);
        let chunks = chunk_members(&changes[0], 2);
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].len(), 1);
        assert_eq!(
            chunks[0][0].value,
            Some(json!([{"value": "a"}, {"value": "b"}]))
        );
        assert_eq!(chunks[1].len(), 2);
        assert_eq!(chunks[1][0].value, Some(json!([{"value": "c"}])));
        assert_eq!(
            chunks[1][1].path.as_deref(),
            Some("members[value eq \"d\"]")
        );
        assert_eq!(chunks[1][1].op, "remove");
        // max 0 counts as 1: one member change per PATCH
        assert_eq!(chunk_members(&changes[0], 0).len(), 4);
        assert!(chunk_members(&GroupChange::default(), 50).is_empty());
        let odd = GroupChange {
            remove: vec!["x\"y".into()],
            ..GroupChange::default()
        };
        assert_eq!(
            chunk_members(&odd, 5)[0][0].path.as_deref(),
            Some(r#"members[value eq "x\"y"]"#)
        );
    }
}

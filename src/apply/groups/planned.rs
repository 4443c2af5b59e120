//! A saved plan's membership changes (`import --plan`): per group, the users the
//! plan has join and leave, sent after the main pass in the group pass's PATCHes
//! (`sync_group`: If-Match, a re-read on a version conflict, a refused member
//! isolated). Only the planned joins and leaves are sent: the group's other
//! members, and memberships made in the tenant since planning, are left alone;
//! a planned change already in effect (a member added by hand meanwhile) is not
//! sent again. A group gone from the tenant (by id) fails the rows of the users
//! it would have changed.
//!
//! Which changes to make was decided by the dry run (`plan::groups`); the PATCH
//! bodies come from `plan::chunk_members`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Verdicts, sync_group};
use crate::apply::api::{Api, ApiError};
use crate::apply::execute::Revisions;
use crate::ledger::LedgerRow;
use crate::plan::{GroupChange, MemberOp, MembershipChange, PlanOptions};
use crate::scim::model::Group;

/// The planned membership changes of one run, by group.
#[derive(Debug, Default)]
pub struct PlannedPass {
    /// Group id -> what the plan changes in it.
    groups: BTreeMap<String, Planned>,
    /// The user of each row, by position.
    users: Vec<String>,
    /// The ledger row of each user, by position.
    rows: Vec<LedgerRow>,
}

/// What a plan changes in one group.
#[derive(Debug, Default)]
struct Planned {
    name: String,
    add: BTreeSet<String>,
    remove: BTreeSet<String>,
}

impl Planned {
    /// The planned change still to make in `group` as the tenant holds it: joins
    /// of users not members yet, leaves of users still members. `None` when
    /// nothing is left to do.
    fn change_for(&self, group: &Group) -> Option<GroupChange> {
        let id = group.id.as_deref()?;
        let current: BTreeSet<&str> = group.members.iter().map(|m| m.value.as_str()).collect();
        let add: Vec<String> = self
            .add
            .iter()
            .filter(|u| !current.contains(u.as_str()))
            .cloned()
            .collect();
        let remove: Vec<String> = self
            .remove
            .iter()
            .filter(|u| current.contains(u.as_str()))
            .cloned()
            .collect();
        (!add.is_empty() || !remove.is_empty()).then(|| GroupChange {
            group_id: id.to_string(),
            group_name: group
                .display_name
                .clone()
                .unwrap_or_else(|| self.name.clone()),
            add,
            remove,
        })
    }

    /// Everything planned, for the rows of a group that is gone.
    fn whole(&self, id: &str) -> GroupChange {
        GroupChange {
            group_id: id.to_string(),
            group_name: self.name.clone(),
            add: self.add.iter().cloned().collect(),
            remove: self.remove.iter().cloned().collect(),
        }
    }
}

impl PlannedPass {
    /// Records that the user `user_id` (of ledger row `led`) makes these changes.
    pub fn add(&mut self, user_id: String, changes: &[MembershipChange], led: LedgerRow) {
        for c in changes {
            let g = self.groups.entry(c.group_id.clone()).or_default();
            if g.name.is_empty() {
                g.name = c.group_name.clone();
            }
            match c.op {
                MemberOp::Add => g.add.insert(user_id.clone()),
                MemberOp::Remove => g.remove.insert(user_id.clone()),
            };
        }
        self.users.push(user_id);
        self.rows.push(led);
    }

    /// Whether no change was planned.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Sends the planned changes to `groups` (as just read from the tenant);
    /// returns the number of group PATCH calls. Changed and failed rows go to
    /// `revised`; an error that stops the run is returned.
    pub async fn apply_to(
        self,
        api: &Api,
        groups: &[Group],
        opts: &PlanOptions,
        revised: &mut Revisions,
    ) -> Result<u64, ApiError> {
        let by_id: HashMap<&str, &Group> = groups
            .iter()
            .filter_map(|g| Some((g.id.as_deref()?, g)))
            .collect();
        let mut verdicts = Verdicts::new(self.users.iter().map(String::as_str));
        let mut patches = 0;
        for (id, planned) in &self.groups {
            let Some(group) = by_id.get(id.as_str()) else {
                verdicts.failed(&planned.whole(id), &gone_message(&planned.name, id));
                continue;
            };
            let change_for = |g: &Group| planned.change_for(g);
            let sent = sync_group(
                api,
                &change_for,
                (*group).clone(),
                opts.max_patch_ops,
                &mut patches,
            )
            .await;
            verdicts.settle(sent)?;
        }
        verdicts.revise(&self.rows, revised);
        Ok(patches)
    }
}

fn gone_message(name: &str, id: &str) -> String {
    format!(
        "group {name:?} (id {id}) is no longer in the tenant: the membership change planned in it \
         was not applied; plan again"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::model::Member;

    fn group(id: &str, members: &[&str]) -> Group {
        Group {
            id: Some(id.into()),
            display_name: Some(format!("Group {id}")),
            members: members
                .iter()
                .map(|m| Member {
                    value: m.to_string(),
                    ..Member::default()
                })
                .collect(),
            ..Group::default()
        }
    }

    fn planned(add: &[&str], remove: &[&str]) -> Planned {
        Planned {
            name: "G".into(),
            add: add.iter().map(|s| s.to_string()).collect(),
            remove: remove.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn only_planned_changes_still_to_do_are_sent() {
        // (planned adds, planned removes, current members) -> (add, remove)
        type Case<'a> = (
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
            Option<(Vec<&'a str>, Vec<&'a str>)>,
        );
        let cases: &[Case] = &[
            (&["a"], &[], &[], Some((vec!["a"], vec![]))),
            // x, a member not in the plan, is never removed.
            (&["a"], &["b"], &["b", "x"], Some((vec!["a"], vec!["b"]))),
            // Already in effect: nothing sent.
            (&["a"], &["b"], &["a"], None),
            (&[], &["b"], &["x"], None),
        ];
        for (add, remove, current, want) in cases {
            let got = planned(add, remove)
                .change_for(&group("g", current))
                .map(|c| (c.add, c.remove));
            let want = want.as_ref().map(|(a, r)| {
                (
                    a.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                    r.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                )
            });
            assert_eq!(got, want, "{add:?} {remove:?} {current:?}");
        }
    }

    #[test]
    fn changes_gather_per_group() {
        let mut pass = PlannedPass::default();
        let change = |g: &str, op| MembershipChange {
            group_id: g.into(),
            group_name: format!("Group {g}"),
            op,
        };
        let row = |r| {
            LedgerRow::without_call(
                r,
                None,
                None,
                crate::model::Action::Update,
                crate::model::Outcome::Skipped,
                String::new(),
            )
        };
        pass.add(
            "u1".into(),
            &[change("g1", MemberOp::Add), change("g2", MemberOp::Remove)],
            row(1),
        );
        pass.add("u2".into(), &[change("g1", MemberOp::Add)], row(2));
        assert_eq!(pass.groups.len(), 2);
        let g1 = &pass.groups["g1"];
        assert_eq!(g1.add.iter().collect::<Vec<_>>(), ["u1", "u2"]);
        assert!(pass.groups["g2"].remove.contains("u1"));
        assert_eq!(pass.users, ["u1", "u2"]);
    }
}

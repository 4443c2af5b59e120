//! The `op` of a plan's `groups` row: one user's planned membership changes,
//! unambiguous (group ids and names, JSON `{"add":[{"id":…,"name":…}],"remove":[…]}`),
//! so that `import --plan` sends exactly them. The row's `before`/`after` (group
//! names joined by ", ") stay for people; this is what apply reads.
//!
//! Deciding the changes is `plan::groups`'s; sending them is `apply::groups`'s.

use serde::{Deserialize, Serialize};

use crate::plan::{MemberOp, MembershipChange};

/// One group a user joins or leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedGroup {
    /// The group's id when planned.
    pub id: String,
    /// Its display name when planned (for messages).
    pub name: String,
}

/// One user's planned joins and leaves.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedMemberships {
    /// Groups the user joins.
    pub add: Vec<PlannedGroup>,
    /// Groups the user leaves.
    pub remove: Vec<PlannedGroup>,
}

impl PlannedMemberships {
    /// The plan's record of `changes` (in their order).
    pub fn from_changes(changes: &[MembershipChange]) -> Self {
        let pick = |op: MemberOp| {
            changes
                .iter()
                .filter(|c| c.op == op)
                .map(|c| PlannedGroup {
                    id: c.group_id.clone(),
                    name: c.group_name.clone(),
                })
                .collect()
        };
        PlannedMemberships {
            add: pick(MemberOp::Add),
            remove: pick(MemberOp::Remove),
        }
    }

    /// The `op` column's text.
    pub fn to_json(&self) -> String {
        // Strings in vectors: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the `op` column's text back; an empty or null `op` (a plan written
    /// before memberships were recorded) is an error: plan again.
    pub fn parse(op: Option<&str>) -> Result<Self, serde_json::Error> {
        match op {
            Some(text) if !text.is_empty() => serde_json::from_str(text),
            _ => Err(<serde_json::Error as serde::de::Error>::custom(
                "the plan records no membership changes for it (written by an older scimport)",
            )),
        }
    }

    /// The changes, joins first.
    pub fn changes(&self) -> Vec<MembershipChange> {
        let to = |op: MemberOp| {
            move |g: &PlannedGroup| MembershipChange {
                group_id: g.id.clone(),
                group_name: g.name.clone(),
                op,
            }
        };
        self.add
            .iter()
            .map(to(MemberOp::Add))
            .chain(self.remove.iter().map(to(MemberOp::Remove)))
            .collect()
    }

    /// Whether nothing is planned.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(id: &str, name: &str, op: MemberOp) -> MembershipChange {
        MembershipChange {
            group_id: id.into(),
            group_name: name.into(),
            op,
        }
    }

    #[test]
    fn memberships_round_trip_through_the_op_column() {
        // A name with ", " in it: the readable `after` would be ambiguous, the op is not.
        let changes = vec![
            change("g1", "Sales, EMEA", MemberOp::Add),
            change("g2", "Tier \"2\"", MemberOp::Add),
            change("g3", "Night Shift", MemberOp::Remove),
        ];
        let planned = PlannedMemberships::from_changes(&changes);
        let text = planned.to_json();
        assert_eq!(
            text,
            r#"{"add":[{"id":"g1","name":"Sales, EMEA"},{"id":"g2","name":"Tier \"2\""}],"remove":[{"id":"g3","name":"Night Shift"}]}"#
        );
        let back = PlannedMemberships::parse(Some(&text)).unwrap();
        assert_eq!(back, planned);
        assert_eq!(back.changes(), changes);
    }

    #[test]
    fn a_groups_row_without_its_op_or_with_another_shape_is_refused() {
        for bad in [
            None,
            Some(""),
            Some(r#"{"op":"add","path":"members"}"#),
            Some(r#"{"add":[{"id":"g1"}],"remove":[]}"#),
        ] {
            assert!(PlannedMemberships::parse(bad).is_err(), "{bad:?}");
        }
    }
}

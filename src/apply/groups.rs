//! Group memberships in one batched pass after the users exist: per group, one
//! PATCH adds every missing member (chunked) and removes members that the input
//! says should not be there. Only users of this input are ever added or removed;
//! other members are left alone. Recomputed from the tenant each run, so a resumed
//! or repeated run converges without duplicates.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::json;

use crate::apply::api::{Api, ApiError};
use crate::apply::execute::Revisions;
use crate::apply::lookup::fetch_all_groups;
use crate::ledger::LedgerRow;
use crate::model::ErrorKind;
use crate::model::Outcome;
use crate::scim::model::{Group, PatchOperation};

/// Members per `add` operation.
const MEMBERS_PER_ADD: usize = 50;
/// Version conflicts tolerated per group before it fails.
const MAX_VERSION_RETRIES: u32 = 3;

/// Desired memberships collected during the main pass.
#[derive(Debug, Default)]
pub struct GroupPass {
    wants: Vec<(LedgerRow, String, Vec<String>)>,
}

impl GroupPass {
    /// Records that the user `user_id` (of ledger row `led`) should belong to exactly
    /// the groups `names` among the groups this input manages.
    pub fn want(&mut self, user_id: String, names: Vec<String>, led: LedgerRow) {
        self.wants.push((led, user_id, names));
    }

    /// Sends the membership changes; returns the number of group PATCH calls.
    pub async fn apply(
        self,
        api: &Api,
        max_ops: usize,
        revised: &mut Revisions,
    ) -> Result<u64, ApiError> {
        if self.wants.is_empty() {
            return Ok(0);
        }
        let mut calls = 0;
        let groups = fetch_all_groups(api, &mut calls).await?;
        // Group names match case-insensitively, as in the planner's index.
        let by_name: HashMap<String, Group> = groups
            .into_iter()
            .filter_map(|g| {
                g.display_name
                    .as_deref()
                    .map(str::to_lowercase)
                    .map(|n| (n, g))
            })
            .collect();
        // group name -> (users to be members, users of the input)
        let mut desired: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut rows_of: HashMap<String, usize> = HashMap::new();
        let mut failed_rows: BTreeMap<usize, String> = BTreeMap::new();
        let input_users: BTreeSet<String> = self.wants.iter().map(|w| w.1.clone()).collect();
        for (i, (_, uid, names)) in self.wants.iter().enumerate() {
            rows_of.insert(uid.clone(), i);
            for n in names {
                let key = n.to_lowercase();
                if by_name.contains_key(&key) {
                    desired.entry(key).or_default().insert(uid.clone());
                } else {
                    failed_rows.insert(
                        i,
                        format!("group {n:?} does not exist in the tenant; create it in Genesys or fix the groups column"),
                    );
                }
            }
        }
        let mut changed: BTreeMap<usize, ()> = BTreeMap::new();
        let mut patches = 0u64;
        for (name, group) in &by_name {
            let want = desired.get(name).cloned().unwrap_or_default();
            let mut group = group.clone();
            let mut tries = 0;
            loop {
                let current: BTreeSet<String> =
                    group.members.iter().map(|m| m.value.clone()).collect();
                let add: Vec<&String> = want.difference(&current).collect();
                let remove: Vec<&String> = current
                    .iter()
                    .filter(|m| input_users.contains(*m) && !want.contains(*m))
                    .collect();
                if add.is_empty() && remove.is_empty() {
                    break;
                }
                let ops = membership_ops(&add, &remove);
                let id = group.id.clone().unwrap_or_default();
                let mut version = group.meta.as_ref().and_then(|m| m.version.clone());
                let mut conflict = false;
                let mut error = None;
                for chunk in ops.chunks(max_ops.max(1)) {
                    patches += 1;
                    match api
                        .patch_group(None, &id, chunk.to_vec(), version.as_deref())
                        .await
                    {
                        Ok(v) => version = v.etag.clone(),
                        Err(e) if e.is_version_conflict() && tries < MAX_VERSION_RETRIES => {
                            conflict = true;
                            break;
                        }
                        Err(e) => {
                            error = Some(e);
                            break;
                        }
                    }
                }
                if conflict {
                    tries += 1;
                    let mut c = 0;
                    let fresh = fetch_all_groups(api, &mut c).await?;
                    match fresh.into_iter().find(|g| g.id == group.id) {
                        Some(g) => group = g,
                        None => break,
                    }
                    continue;
                }
                let touched = add
                    .iter()
                    .chain(remove.iter())
                    .filter_map(|u| rows_of.get(*u).copied());
                match error {
                    Some(e) => {
                        if e.stops_run() {
                            return Err(e);
                        }
                        for i in touched {
                            failed_rows.insert(i, format!("group {name:?}: {e}"));
                        }
                    }
                    None => {
                        for i in touched {
                            changed.insert(i, ());
                        }
                    }
                }
                break;
            }
        }
        for (i, (led, _, _)) in self.wants.iter().enumerate() {
            let failed = failed_rows.get(&i);
            if failed.is_none() && !changed.contains_key(&i) {
                continue;
            }
            let mut l = revised.remove(&led.row).unwrap_or_else(|| led.clone());
            if let Some(err) = failed {
                l.outcome = Outcome::Failed;
                l.error_kind = Some(ErrorKind::GroupMembership);
                l.error = Some(err.clone());
            } else {
                if !l.changed_fields.iter().any(|f| f == "groups") {
                    l.changed_fields.push("groups".into());
                }
                if l.outcome == Outcome::Skipped {
                    l.outcome = Outcome::Succeeded;
                    l.action = crate::ledger::Action::Update;
                }
            }
            l.finished_at = chrono::Utc::now();
            revised.insert(l.row, l);
        }
        Ok(patches)
    }
}

/// The PATCH operations for one group: adds in chunks of members, one remove per member.
pub fn membership_ops(add: &[&String], remove: &[&String]) -> Vec<PatchOperation> {
    let mut ops = Vec::new();
    for chunk in add.chunks(MEMBERS_PER_ADD) {
        let members: Vec<_> = chunk.iter().map(|id| json!({ "value": id })).collect();
        ops.push(PatchOperation::add("members", json!(members)));
    }
    for id in remove {
        ops.push(PatchOperation::remove(format!(
            "members[value eq \"{id}\"]"
        )));
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_are_chunked_and_removes_are_one_per_member() {
        let ids: Vec<String> = (0..120).map(|i| format!("u{i}")).collect();
        let add: Vec<&String> = ids.iter().collect();
        let r1 = "x".to_string();
        let ops = membership_ops(&add, &[&r1]);
        assert_eq!(ops.len(), 4);
        assert_eq!(
            ops[0]
                .value
                .as_ref()
                .and_then(|v| v.as_array())
                .map(Vec::len),
            Some(50)
        );
        assert_eq!(
            ops[2]
                .value
                .as_ref()
                .and_then(|v| v.as_array())
                .map(Vec::len),
            Some(20)
        );
        assert_eq!(ops[3].op, "remove");
        assert_eq!(ops[3].path.as_deref(), Some("members[value eq \"x\"]"));
    }
}

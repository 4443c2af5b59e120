//! [`SyncHook`]: a sync's part in each row of the engine's run. Before planning,
//! with the tenant's own copy of the user (a run that read the tenant, or, in an
//! incremental run, a user read first because the change touches a field whose
//! policy keeps edits made in the tenant), it compares each mapped field three ways
//! (the value last applied, the tenant's, the source's) and applies the field's
//! conflict policy; afterwards it records every user the tenant acknowledged, which
//! is all the state ever learns from a run.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::value::RawValue;

use crate::apply::hook::{AckUser, RowHook};
use crate::mapping::{ConflictPolicy, DesiredUser, Mapping, MatchKey, Target};
use crate::model::{Action, FieldPath, input_row};
use crate::plan::{PlanOptions, TargetEdit, reconcile_fields_with};
use crate::scim::model::User;

use super::state::{State, desired_hash, key_of};

/// One user the tenant acknowledged in this run.
#[derive(Debug, Clone)]
pub struct Ack {
    /// The user's key.
    pub key: String,
    /// Its id.
    pub id: String,
    /// Its version after the run's writes.
    pub version: Option<String>,
    /// The source entry's anchor.
    pub anchor: Option<String>,
    /// The hash of what was applied.
    pub hash: String,
    /// What was applied (`None` for a leaver, or a user applied as the state
    /// already holds it: the last applied user stays).
    pub applied: Option<Box<RawValue>>,
    /// Whether the user is active now.
    pub active: bool,
}

/// The sync's hook.
pub struct SyncHook {
    keys: Vec<MatchKey>,
    /// Each mapped path's conflict policy (the manager and groups follow the
    /// source: their values are ids and memberships, not comparable here).
    policies: Vec<(String, ConflictPolicy)>,
    plan: PlanOptions,
    /// The state before the run (for the three-way comparison).
    state: Arc<State>,
    acks: Mutex<HashMap<String, Ack>>,
}

impl SyncHook {
    /// A hook for a run of `mapping`.
    pub fn new(mapping: &Mapping, state: Arc<State>) -> SyncHook {
        let policies = mapping
            .conflict_policies()
            .into_iter()
            .filter(|(p, _)| {
                !matches!(
                    Target::parse(p),
                    Ok(Target::Manager | Target::Groups) | Err(_)
                )
            })
            .collect();
        SyncHook {
            keys: mapping.keys().to_vec(),
            policies,
            plan: PlanOptions::default(),
            state,
            acks: Mutex::new(HashMap::new()),
        }
    }

    /// Everything acknowledged, by key.
    pub fn take(&self) -> HashMap<String, Ack> {
        std::mem::take(&mut self.acks.lock())
    }
}

impl RowHook for SyncHook {
    fn before_plan(
        &self,
        desired: &mut DesiredUser,
        tenant: Option<&User>,
        fresh: bool,
    ) -> Option<String> {
        // Only the tenant's own copy tells an edit made there; the state's is ours.
        if !fresh || input_row(desired.row).is_none() {
            return None;
        }
        let tenant = tenant?;
        let key = key_of(desired, &self.keys)?;
        let entry = self.state.entries.get(&key)?;
        // Only the user this entry was synced to: a re-created account's row is
        // settled before it gets here, and another user is not ours to compare.
        if tenant.id.as_deref() != Some(entry.id.as_str()) {
            return None;
        }
        let applied = super::decide::applied_user(entry);
        let edits =
            reconcile_fields_with(desired, Some(&applied), tenant, &self.policies, &self.plan);
        (!edits.is_empty()).then(|| describe(&edits))
    }

    fn wants_fresh(&self, desired: &DesiredUser, changed: &[FieldPath]) -> bool {
        input_row(desired.row).is_some()
            && changed.iter().any(|c| {
                self.policies
                    .iter()
                    .any(|(p, policy)| p == c && *policy != ConflictPolicy::SourceWins)
            })
    }

    fn acknowledged(&self, desired: &DesiredUser, action: Action, user: &AckUser) {
        let Some(key) = key_of(desired, &self.keys) else {
            return;
        };
        let leaver = input_row(desired.row).is_none();
        let hash = desired_hash(desired);
        // A user the state already holds as applied needs no second copy.
        let known = self
            .state
            .entries
            .get(&key)
            .is_some_and(|e| e.id == user.id && e.hash == hash && e.anchor == desired.anchor);
        let applied = if leaver || known {
            None
        } else {
            serde_json::to_string(&desired.user)
                .ok()
                .and_then(|s| RawValue::from_string(s).ok())
        };
        let active = match action {
            Action::Deactivate => false,
            _ => desired.user.active != Some(false),
        };
        let ack = Ack {
            key: key.clone(),
            id: user.id.clone(),
            version: user.version.clone(),
            anchor: desired.anchor.clone(),
            hash,
            applied,
            active,
        };
        self.acks.lock().insert(key, ack);
    }

    fn finished(&self, index: &crate::plan::TenantIndex) {
        for ack in self.acks.lock().values_mut() {
            if let Some(v) = index
                .user(&ack.id)
                .and_then(|u| u.meta.as_ref().and_then(|m| m.version.clone()))
            {
                ack.version = Some(v);
            }
        }
    }
}

/// The ledger's words for the edits found: each path, its values, and what was done.
fn describe(edits: &[TargetEdit]) -> String {
    let parts: Vec<String> = edits
        .iter()
        .map(|e| {
            format!(
                "{} {} -> {} ({})",
                e.path,
                e.applied,
                e.tenant,
                if e.kept {
                    "kept"
                } else {
                    "overwritten by the source"
                }
            )
        })
        .collect();
    format!(
        "edited in the tenant since the last sync: {}",
        parts.join("; ")
    )
}

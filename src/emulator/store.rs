//! The tenant's users and groups in memory, with the indexes lookups need.
//!
//! Owns storage and uniqueness (userName among non-deleted users, externalId, and
//! externalIds per authority) and rendering a stored user into its full SCIM form
//! (id, meta, groups, the read-only `other` email and `x-pc:scimv2:v1` entry). A user
//! is kept as its writable attributes in compact JSON bytes plus a few fixed fields,
//! so a million users fit in well under 2 GiB. Does not validate values against the
//! catalogue (see `rules`) and does no HTTP.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::errors::ApiError;
use super::rank::Rank;
use crate::scim::model::{
    AUTHORITY_SCIM, ExternalIdEntry, Group, GroupRef, ManagerRef, Member, Meta, MultiValue,
    SCHEMA_ENTERPRISE, SCHEMA_GENESYS, SCHEMA_GROUP, SCHEMA_USER, User,
};

/// A user's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserState {
    /// Active (`active: true`).
    Active,
    /// Inactive (`active: false`), hidden from the default list.
    Inactive,
    /// Soft-deleted: invisible to the API, userName reusable.
    Deleted,
}

/// A user as the emulator holds it: the full SCIM user plus its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredUser {
    /// The full user as GET would return it (for a deleted user, as it was).
    pub user: User,
    /// Active, inactive or deleted.
    pub state: UserState,
}

/// One user slot; its index in `Store::users` is the internal handle.
#[derive(Debug)]
pub(crate) struct Slot {
    pub id: Uuid,
    /// The writable attributes as JSON (no id, meta, groups, schemas, password, and
    /// no read-only `other` email or `x-pc` entry).
    pub doc: Box<[u8]>,
    pub version: u64,
    pub modified_ms: i64,
    pub state: UserState,
}

/// A group; members are internal user handles in insertion-independent order.
#[derive(Debug, Clone)]
pub(crate) struct GroupSlot {
    pub id: Uuid,
    pub display_name: String,
    pub external_id: Option<String>,
    pub members: BTreeSet<u32>,
    pub version: u64,
    pub modified_ms: i64,
}

/// Users and groups with their indexes.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub users: Vec<Slot>,
    by_id: HashMap<Uuid, u32>,
    by_user_name: HashMap<Box<str>, u32>,
    by_external_id: HashMap<Box<str>, u32>,
    by_authority: HashMap<(Box<str>, Box<str>), u32>,
    pub groups: Vec<GroupSlot>,
    pub active: u64,
    pub inactive: u64,
    pub deleted: u64,
    /// Which slots are active users, for O(page) paging of the default list.
    active_rank: Rank,
    /// Which slots are inactive users, for O(page) paging of `active eq false`.
    inactive_rank: Rank,
    /// The SCIM base URL used in `location` and `$ref` values.
    pub base: String,
}

/// The index keys of one user.
struct Keys {
    user_name: Option<Box<str>>,
    external_id: Option<Box<str>>,
    authorities: Vec<(Box<str>, Box<str>)>,
}

fn keys_of(user: &User) -> Keys {
    Keys {
        user_name: user
            .user_name
            .as_deref()
            .map(|u| u.to_lowercase().into_boxed_str()),
        external_id: user.external_id.as_deref().map(Into::into),
        authorities: user
            .genesys
            .as_ref()
            .map(|g| {
                g.external_ids
                    .iter()
                    .map(|e| (e.authority.as_str().into(), e.value.as_str().into()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A user encoded and keyed ahead of insertion (seeding encodes in parallel).
pub(crate) struct Prepared {
    doc: Box<[u8]>,
    keys: Keys,
    state: UserState,
}

impl Prepared {
    /// Encodes a user's writable attributes and computes its index keys.
    pub fn new(user: &User) -> Self {
        Self {
            doc: encode(user),
            keys: keys_of(user),
            state: if user.active == Some(false) {
                UserState::Inactive
            } else {
                UserState::Active
            },
        }
    }
}

/// Now, as Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `yyyy-MM-ddTHH:mm:ss.SSSZ` (written by hand: it is on every GET).
fn iso(ms: i64) -> String {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_millis()
    )
}

impl Store {
    /// An empty store whose resources live under `base`.
    pub fn new(base: String) -> Self {
        Self {
            base,
            ..Self::default()
        }
    }
    /// Makes room for `n` more users.
    pub fn reserve(&mut self, n: usize) {
        self.users.reserve(n);
        self.by_id.reserve(n);
        self.by_user_name.reserve(n);
        self.by_external_id.reserve(n);
        self.active_rank.reserve(n);
        self.inactive_rank.reserve(n);
    }

    /// Up to `count` users in `state` (active or inactive), skipping the first `skip`,
    /// in creation order; O(count · log n) whatever `skip` is.
    pub fn page(&self, state: UserState, skip: usize, count: usize) -> Vec<u32> {
        self.page_examined(state, skip, count).0
    }

    /// [`Store::page`] with the number of slots and tree nodes it examined.
    pub fn page_examined(&self, state: UserState, skip: usize, count: usize) -> (Vec<u32>, u64) {
        match state {
            UserState::Active => self.active_rank.page_examined(skip, count),
            UserState::Inactive => self.inactive_rank.page_examined(skip, count),
            UserState::Deleted => (Vec::new(), 0),
        }
    }

    /// Records slot `idx`'s state in the paging ranks (a new slot is appended).
    fn track(&mut self, idx: u32, state: UserState) {
        let idx = idx as usize;
        for (rank, flag) in [
            (&mut self.active_rank, state == UserState::Active),
            (&mut self.inactive_rank, state == UserState::Inactive),
        ] {
            // Slots are appended one at a time, so a new slot is always the next one.
            if idx >= rank.len() {
                rank.push(flag);
            } else {
                rank.set(idx, flag);
            }
        }
    }

    /// The handle of a non-deleted user by id string.
    pub fn find(&self, id: &str) -> Option<u32> {
        let id = Uuid::parse_str(id).ok()?;
        let idx = *self.by_id.get(&id)?;
        (self.users[idx as usize].state != UserState::Deleted).then_some(idx)
    }
    /// The handle of a non-deleted user by userName (case-insensitive).
    pub fn find_user_name(&self, user_name: &str) -> Option<u32> {
        self.by_user_name
            .get(user_name.to_lowercase().as_str())
            .copied()
    }
    /// The handle of a non-deleted user by externalId (case-exact).
    pub fn find_external_id(&self, external_id: &str) -> Option<u32> {
        self.by_external_id.get(external_id).copied()
    }
    /// The handle of a non-deleted user by an externalIds entry.
    pub fn find_authority(&self, authority: &str, value: &str) -> Option<u32> {
        if authority.starts_with(AUTHORITY_SCIM) {
            return self.find_external_id(value);
        }
        self.by_authority
            .get(&(Box::from(authority), Box::from(value)))
            .copied()
    }

    /// The stored writable attributes of a user.
    pub fn writable(&self, idx: u32) -> User {
        let mut user: User =
            serde_json::from_slice(&self.users[idx as usize].doc).unwrap_or_default();
        // A state file from an older emulator may hold core `name`, which a Genesys
        // user does not have.
        user.name = None;
        user
    }

    fn check_unique(&self, keys: &Keys, me: Option<u32>) -> Result<(), ApiError> {
        let clash = |found: Option<&u32>| found.is_some_and(|f| Some(*f) != me);
        if let Some(u) = &keys.user_name
            && clash(self.by_user_name.get(u))
        {
            return Err(ApiError::uniqueness(format!(
                "userName {u} is already used by another user"
            )));
        }
        if let Some(e) = &keys.external_id
            && clash(self.by_external_id.get(e))
        {
            return Err(ApiError::uniqueness(format!(
                "externalId {e} is already used by another user"
            )));
        }
        for (a, v) in &keys.authorities {
            if clash(self.by_authority.get(&(a.clone(), v.clone()))) {
                return Err(ApiError::uniqueness(format!(
                    "externalIds value {v} is already used under authority {a}"
                )));
            }
        }
        Ok(())
    }

    fn index(&mut self, keys: Keys, idx: u32) {
        if let Some(u) = keys.user_name {
            self.by_user_name.insert(u, idx);
        }
        if let Some(e) = keys.external_id {
            self.by_external_id.insert(e, idx);
        }
        for k in keys.authorities {
            self.by_authority.insert(k, idx);
        }
    }

    fn unindex(&mut self, keys: &Keys, idx: u32) {
        if let Some(u) = &keys.user_name
            && self.by_user_name.get(u) == Some(&idx)
        {
            self.by_user_name.remove(u);
        }
        if let Some(e) = &keys.external_id
            && self.by_external_id.get(e) == Some(&idx)
        {
            self.by_external_id.remove(e);
        }
        for k in &keys.authorities {
            if self.by_authority.get(k) == Some(&idx) {
                self.by_authority.remove(k);
            }
        }
    }

    fn count(&mut self, state: UserState, delta: i64) {
        let c = match state {
            UserState::Active => &mut self.active,
            UserState::Inactive => &mut self.inactive,
            UserState::Deleted => &mut self.deleted,
        };
        *c = c.saturating_add_signed(delta);
    }

    /// Adds a user (already validated and stripped to writable attributes).
    pub fn insert(&mut self, id: Uuid, user: &User, modified_ms: i64) -> Result<u32, ApiError> {
        self.insert_prepared(id, Prepared::new(user), modified_ms)
    }

    /// Adds a prepared user.
    pub fn insert_prepared(
        &mut self,
        id: Uuid,
        prepared: Prepared,
        modified_ms: i64,
    ) -> Result<u32, ApiError> {
        let Prepared { doc, keys, state } = prepared;
        self.check_unique(&keys, None)?;
        let idx = u32::try_from(self.users.len())
            .map_err(|_| ApiError::platform(507, "insufficient.storage", "user store is full"))?;
        self.users.push(Slot {
            id,
            doc,
            version: 1,
            modified_ms,
            state,
        });
        self.by_id.insert(id, idx);
        self.index(keys, idx);
        self.count(state, 1);
        self.track(idx, state);
        Ok(idx)
    }

    /// Inserts a slot as-is (state reload): indexes it when not deleted.
    pub fn restore(&mut self, slot: Slot) -> Result<u32, ApiError> {
        let idx = u32::try_from(self.users.len())
            .map_err(|_| ApiError::platform(507, "insufficient.storage", "user store is full"))?;
        if slot.state != UserState::Deleted {
            let user: User = serde_json::from_slice(&slot.doc).unwrap_or_default();
            let keys = keys_of(&user);
            self.check_unique(&keys, None)?;
            self.index(keys, idx);
        }
        self.by_id.insert(slot.id, idx);
        self.count(slot.state, 1);
        self.track(idx, slot.state);
        self.users.push(slot);
        Ok(idx)
    }

    /// Replaces a non-deleted user's writable attributes; bumps the version.
    pub fn update(&mut self, idx: u32, user: &User, modified_ms: i64) -> Result<(), ApiError> {
        let old = keys_of(&self.writable(idx));
        let new = keys_of(user);
        self.check_unique(&new, Some(idx))?;
        self.unindex(&old, idx);
        self.index(new, idx);
        let state = if user.active == Some(false) {
            UserState::Inactive
        } else {
            UserState::Active
        };
        let before = self.users[idx as usize].state;
        self.count(before, -1);
        self.count(state, 1);
        let slot = &mut self.users[idx as usize];
        slot.doc = encode(user);
        slot.version += 1;
        slot.modified_ms = modified_ms;
        slot.state = state;
        self.track(idx, state);
        Ok(())
    }

    /// Soft-deletes a user: frees its keys and removes it from every group.
    pub fn delete(&mut self, idx: u32, modified_ms: i64) {
        let keys = keys_of(&self.writable(idx));
        self.unindex(&keys, idx);
        let before = self.users[idx as usize].state;
        self.count(before, -1);
        self.count(UserState::Deleted, 1);
        let slot = &mut self.users[idx as usize];
        slot.state = UserState::Deleted;
        slot.version += 1;
        slot.modified_ms = modified_ms;
        self.track(idx, UserState::Deleted);
        for g in &mut self.groups {
            if g.members.remove(&idx) {
                g.version += 1;
                g.modified_ms = modified_ms;
            }
        }
    }

    /// The full SCIM form of a user.
    pub fn render(&self, idx: u32) -> User {
        let slot = &self.users[idx as usize];
        let mut user = self.writable(idx);
        let id = slot.id.to_string();
        user.schemas = vec![
            SCHEMA_USER.to_string(),
            SCHEMA_ENTERPRISE.to_string(),
            SCHEMA_GENESYS.to_string(),
        ];
        user.schemas.extend(user.extensions.0.keys().cloned());
        if let Some(user_name) = &user.user_name {
            // At most one primary email: the mirror is primary unless the work
            // email claims it.
            let primary = !user.emails.iter().any(|e| e.primary);
            user.emails.insert(
                0,
                MultiValue {
                    value: user_name.clone(),
                    kind: Some("other".into()),
                    primary,
                },
            );
        }
        if let Some(external_id) = &user.external_id {
            user.genesys.get_or_insert_default().external_ids.insert(
                0,
                ExternalIdEntry {
                    authority: AUTHORITY_SCIM.into(),
                    value: external_id.clone(),
                },
            );
        }
        if let Some(ManagerRef {
            value, reference, ..
        }) = user.enterprise.as_mut().and_then(|e| e.manager.as_mut())
        {
            *reference = Some(format!("{}/users/{value}", self.base));
        }
        user.groups = self
            .groups
            .iter()
            .filter(|g| g.members.contains(&idx))
            .map(|g| GroupRef {
                value: g.id.to_string(),
                reference: Some(format!("{}/groups/{}", self.base, g.id)),
                display: Some(g.display_name.clone()),
                kind: Some("direct".into()),
            })
            .collect();
        user.meta = Some(Meta {
            resource_type: Some("User".into()),
            last_modified: Some(iso(slot.modified_ms)),
            location: Some(format!("{}/users/{id}", self.base)),
            version: Some(slot.version.to_string()),
        });
        user.id = Some(id);
        user
    }

    /// Every user, deleted ones included, in full form.
    pub fn all_users(&self) -> Vec<StoredUser> {
        (0..self.users.len() as u32)
            .map(|i| StoredUser {
                user: self.render(i),
                state: self.users[i as usize].state,
            })
            .collect()
    }

    /// The group index by id string.
    pub fn find_group(&self, id: &str) -> Option<usize> {
        let id = Uuid::parse_str(id).ok()?;
        self.groups.iter().position(|g| g.id == id)
    }

    /// The full SCIM form of a group.
    pub fn render_group(&self, gi: usize) -> Group {
        let g = &self.groups[gi];
        Group {
            schemas: vec![SCHEMA_GROUP.to_string()],
            id: Some(g.id.to_string()),
            display_name: Some(g.display_name.clone()),
            external_id: g.external_id.clone(),
            members: g
                .members
                .iter()
                .map(|&m| {
                    let id = self.users[m as usize].id;
                    Member {
                        value: id.to_string(),
                        reference: Some(format!("{}/users/{id}", self.base)),
                        kind: Some("User".into()),
                        display: None,
                    }
                })
                .collect(),
            meta: Some(Meta {
                resource_type: Some("Group".into()),
                last_modified: Some(iso(g.modified_ms)),
                location: Some(format!("{}/groups/{}", self.base, g.id)),
                version: Some(g.version.to_string()),
            }),
        }
    }
}

/// Encodes writable attributes compactly.
pub(crate) fn encode(user: &User) -> Box<[u8]> {
    serde_json::to_vec(user)
        .unwrap_or_default()
        .into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, ext: Option<&str>) -> User {
        User {
            user_name: Some(name.into()),
            display_name: Some("X".into()),
            external_id: ext.map(Into::into),
            active: Some(true),
            ..User::default()
        }
    }

    #[test]
    fn user_name_index_is_case_insensitive_and_unique() {
        let mut s = Store::default();
        let a = s
            .insert(Uuid::new_v4(), &user("A@x.com", Some("E1")), 0)
            .unwrap();
        assert_eq!(s.find_user_name("a@X.com"), Some(a));
        let err = s
            .insert(Uuid::new_v4(), &user("a@x.com", None), 0)
            .unwrap_err();
        assert_eq!(err.status(), 409);
        let err = s
            .insert(Uuid::new_v4(), &user("b@x.com", Some("E1")), 0)
            .unwrap_err();
        assert_eq!(err.status(), 409);
        assert_eq!(s.find_external_id("E1"), Some(a));
        assert_eq!(s.find_authority(AUTHORITY_SCIM, "E1"), Some(a));
    }

    #[test]
    fn delete_frees_keys_and_update_moves_them() {
        let mut s = Store::default();
        let a = s
            .insert(Uuid::new_v4(), &user("a@x.com", Some("E1")), 0)
            .unwrap();
        s.update(a, &user("c@x.com", Some("E2")), 1).unwrap();
        assert_eq!(s.find_user_name("a@x.com"), None);
        assert_eq!(s.find_user_name("c@x.com"), Some(a));
        assert_eq!(s.users[a as usize].version, 2);
        s.delete(a, 2);
        assert_eq!(s.find_user_name("c@x.com"), None);
        assert_eq!(s.find(&s.users[a as usize].id.to_string()), None);
        assert_eq!((s.active, s.deleted), (0, 1));
        let b = s
            .insert(Uuid::new_v4(), &user("c@x.com", Some("E2")), 3)
            .unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn render_adds_read_only_parts() {
        let mut s = Store::new("http://h/scim".into());
        let a = s
            .insert(Uuid::new_v4(), &user("a@x.com", Some("E1")), 0)
            .unwrap();
        let u = s.render(a);
        assert_eq!(iso(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(u.emails[0].kind.as_deref(), Some("other"));
        assert_eq!(u.genesys.unwrap().external_ids[0].authority, AUTHORITY_SCIM);
        assert_eq!(u.meta.unwrap().version.as_deref(), Some("1"));
    }
}

//! The tenant as far as planning needs it: users by id, externalId and lower-cased
//! userName; groups by lower-cased displayName and their members.
//!
//! Filled from a prefetch or from per-row lookups (the caller does the I/O and calls
//! `insert_user` / `insert_group`); kept current after writes with the same calls and
//! `add_member` / `remove_member`. Also decides which tenant user a desired row is
//! (`find`), including the conflicts that must never be overwritten.
//!
//! Users are held compact (issue 16: at most 500 bytes per tenant user, so a
//! million-user tenant fits in about 500 MB): each is one encoded record holding only
//! the fields planning reads (`codec`), found through key tables that store a slot
//! number and verify the key on every hit (`keys`). Accessors decode a `User` on
//! demand: a decode per planned row is cheap; the tenant's size in memory is not.

use std::collections::{BTreeSet, HashMap};

mod codec;
mod keys;

use crate::mapping::DesiredUser;
use crate::scim::model::{Group, User};
use codec::Interner;
use keys::{KeyHasher, KeyTable};

/// A key a desired row can be matched on (externalId case-exact, userName
/// case-insensitive), tried in the order the mapping gives.
pub use crate::mapping::MatchKey;
use crate::model::ErrorKind;

/// Which tenant user (if any) a desired row is.
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// No tenant user has the row's keys: the row is a create.
    None,
    /// This tenant user is the row's user (possibly adopted: found by userName with no
    /// externalId, in which case the update sets the externalId). Decoded from the
    /// index's compact form: it holds the planned fields (see `codec`).
    One(Box<User>),
    /// The keys point at a user the row must not touch.
    Conflict {
        /// Stable snake_case kind for the ledger (`user_name_taken`, ...).
        kind: ErrorKind,
        /// What is wrong, naming the values involved.
        reason: String,
    },
}

/// Bytes the allocator spends per allocation beyond what was asked (header and
/// rounding): counted for each user record so that `heap_bytes` does not flatter.
const ALLOC_OVERHEAD: usize = 16;

/// The tenant's users and groups, indexed for planning.
///
/// Users are kept compact (a few hundred bytes each, for million-user tenants): one
/// encoded record per user in a `Vec`, addressed by a `u32` slot, and three key
/// tables (id, externalId, lower-cased userName) that map a key's hash to a slot and
/// verify the key against the record on every hit.
#[derive(Debug, Default, Clone)]
pub struct TenantIndex {
    users: Vec<Box<[u8]>>,
    interner: Interner,
    hasher: KeyHasher,
    by_id: KeyTable,
    by_external_id: KeyTable,
    by_user_name: KeyTable,
    groups: HashMap<String, Group>,
    group_by_name: HashMap<String, String>,
    members: HashMap<String, BTreeSet<String>>,
    groups_of_user: HashMap<String, BTreeSet<String>>,
}

/// Slot of a key in one of the three user tables.
#[derive(Clone, Copy)]
enum Key {
    Id,
    ExternalId,
    UserName,
}

impl TenantIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty index hashing keys with `hasher` (tests force collisions with it).
    #[cfg(test)]
    fn with_hasher(hasher: KeyHasher) -> Self {
        Self {
            hasher,
            ..Self::default()
        }
    }

    /// Number of users held.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Number of groups held.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Heap bytes the users take: their records (with the allocator's overhead), the
    /// slot vector, the three key tables and the interner. Groups and memberships are
    /// not counted (they grow with groups, not with users).
    pub fn heap_bytes(&self) -> usize {
        let records: usize = self.users.iter().map(|r| r.len() + ALLOC_OVERHEAD).sum();
        records
            + self.users.capacity() * std::mem::size_of::<Box<[u8]>>()
            + self.by_id.heap_bytes()
            + self.by_external_id.heap_bytes()
            + self.by_user_name.heap_bytes()
            + self.interner.heap_bytes()
    }

    fn record(&self, slot: u32) -> &[u8] {
        self.users.get(slot as usize).map_or(&[], |r| &r[..])
    }

    fn table(&self, key: Key) -> &KeyTable {
        match key {
            Key::Id => &self.by_id,
            Key::ExternalId => &self.by_external_id,
            Key::UserName => &self.by_user_name,
        }
    }

    /// The slot whose record has `value` as its `key` (`value` lower-cased for a userName).
    fn slot(&self, key: Key, value: &str) -> Option<u32> {
        let users = &self.users;
        let hash = self.hasher.hash(value);
        self.table(key)
            .get(hash, |s| record_has(users, s, key, value))
    }

    /// Points `key` = `value` at `slot` (whose record already has it).
    fn set_key(&mut self, key: Key, value: &str, slot: u32) {
        let hash = self.hasher.hash(value);
        let hasher = self.hasher;
        let users = &self.users;
        let table = match key {
            Key::Id => &mut self.by_id,
            Key::ExternalId => &mut self.by_external_id,
            Key::UserName => &mut self.by_user_name,
        };
        table.set(
            hash,
            slot,
            |s| record_has(users, s, key, value),
            |s| hasher.hash(&key_of(users, s, key).unwrap_or_default()),
        );
    }

    /// Drops `key` = `value` if it points at `slot`.
    fn remove_key(&mut self, key: Key, value: &str, slot: u32) {
        let hash = self.hasher.hash(value);
        let users = &self.users;
        let table = match key {
            Key::Id => &mut self.by_id,
            Key::ExternalId => &mut self.by_external_id,
            Key::UserName => &mut self.by_user_name,
        };
        table.remove_if(hash, slot, |s| record_has(users, s, key, value));
    }

    fn decode(&self, slot: u32) -> User {
        codec::decode(self.record(slot), &self.interner)
    }

    /// Adds or replaces a user (keep `meta.version`: it becomes the PATCH's If-Match).
    /// Memberships listed in the user's read-only `groups` are recorded too. Returns
    /// `false` (and ignores the user) when it has no `id`.
    pub fn insert_user(&mut self, user: User) -> bool {
        let Some(id) = user.id.as_deref() else {
            return false;
        };
        let old = self.slot(Key::Id, id);
        if let Some(slot) = old {
            let (_, ext, name) = codec::keys(self.record(slot));
            let ext = ext.map(str::to_string);
            let name = name.map(str::to_lowercase);
            if let Some(ext) = ext {
                self.remove_key(Key::ExternalId, &ext, slot);
            }
            if let Some(name) = name {
                self.remove_key(Key::UserName, &name, slot);
            }
        }
        let record = codec::encode(&user, &mut self.interner);
        let slot = match old {
            Some(slot) => {
                self.users[slot as usize] = record;
                slot
            }
            None => {
                let slot =
                    u32::try_from(self.users.len()).expect("a tenant has fewer than 2^32 users");
                self.users.push(record);
                self.set_key(Key::Id, id, slot);
                slot
            }
        };
        if let Some(ext) = &user.external_id
            && !ext.is_empty()
        {
            self.set_key(Key::ExternalId, ext, slot);
        }
        if let Some(name) = &user.user_name {
            self.set_key(Key::UserName, &name.to_lowercase(), slot);
        }
        for g in &user.groups {
            self.add_member(&g.value, id);
        }
        true
    }

    /// Adds or replaces a group. The members it lists are added to those already known
    /// (a group listing trimmed of `members` must not erase memberships learned from
    /// users' `groups`); use `set_members` to replace them. Returns `false` (and ignores
    /// the group) when it has no `id`.
    pub fn insert_group(&mut self, group: Group) -> bool {
        let Some(id) = group.id.clone() else {
            return false;
        };
        if let Some(old) = self.groups.get(&id)
            && let Some(name) = &old.display_name
        {
            self.group_by_name.remove(&name.to_lowercase());
        }
        if let Some(name) = &group.display_name {
            self.group_by_name.insert(name.to_lowercase(), id.clone());
        }
        self.members.entry(id.clone()).or_default();
        for m in &group.members {
            self.add_member(&id, &m.value);
        }
        self.groups.insert(id, group);
        true
    }

    /// Replaces the known members of a group (after re-reading it).
    pub fn set_members<I: IntoIterator<Item = S>, S: Into<String>>(
        &mut self,
        group_id: &str,
        members: I,
    ) {
        if let Some(old) = self.members.remove(group_id) {
            for user in old {
                if let Some(set) = self.groups_of_user.get_mut(&user) {
                    set.remove(group_id);
                }
            }
        }
        self.members.entry(group_id.to_string()).or_default();
        for m in members {
            self.add_member(group_id, &m.into());
        }
    }

    /// Records that `user_id` is a member of `group_id` (after a successful PATCH).
    pub fn add_member(&mut self, group_id: &str, user_id: &str) {
        self.members
            .entry(group_id.to_string())
            .or_default()
            .insert(user_id.to_string());
        self.groups_of_user
            .entry(user_id.to_string())
            .or_default()
            .insert(group_id.to_string());
    }

    /// Records that `user_id` left `group_id` (after a successful PATCH).
    pub fn remove_member(&mut self, group_id: &str, user_id: &str) {
        if let Some(set) = self.members.get_mut(group_id) {
            set.remove(user_id);
        }
        if let Some(set) = self.groups_of_user.get_mut(user_id) {
            set.remove(group_id);
        }
    }

    /// The user with this id (decoded: the planned fields).
    pub fn user(&self, id: &str) -> Option<User> {
        self.slot(Key::Id, id).map(|s| self.decode(s))
    }

    /// The user with this externalId (case-exact).
    pub fn user_by_external_id(&self, external_id: &str) -> Option<User> {
        self.slot(Key::ExternalId, external_id)
            .map(|s| self.decode(s))
    }

    /// The id of the user with this externalId (case-exact), without decoding it.
    pub fn id_by_external_id(&self, external_id: &str) -> Option<&str> {
        self.slot(Key::ExternalId, external_id)
            .map(|s| codec::keys(self.record(s)).0)
    }

    /// The user with this userName (case-insensitive).
    pub fn user_by_user_name(&self, user_name: &str) -> Option<User> {
        self.slot(Key::UserName, &user_name.to_lowercase())
            .map(|s| self.decode(s))
    }

    /// The group with this displayName (case-insensitive).
    pub fn group_by_name(&self, name: &str) -> Option<&Group> {
        self.group_by_name
            .get(&name.to_lowercase())
            .and_then(|id| self.groups.get(id))
    }

    /// The group with this id.
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.get(id)
    }

    /// Ids of the known members of a group.
    pub fn members(&self, group_id: &str) -> impl Iterator<Item = &str> {
        self.members
            .get(group_id)
            .into_iter()
            .flat_map(|s| s.iter().map(String::as_str))
    }

    /// Ids of the groups a user is known to belong to, sorted.
    pub fn groups_of(&self, user_id: &str) -> impl Iterator<Item = &str> {
        self.groups_of_user
            .get(user_id)
            .into_iter()
            .flat_map(|s| s.iter().map(String::as_str))
    }

    /// Decides which tenant user the desired row is, trying `keys` in order.
    ///
    /// Rules (never overwrite another person's identity):
    /// - found by externalId: that user, unless the row's userName belongs to a
    ///   *different* tenant user (`user_name_taken`);
    /// - found by userName only: adopted when it has no externalId (the update sets
    ///   it), a conflict when it has another externalId (`external_id_mismatch`);
    /// - the row has none of the keys: `no_key`.
    pub fn find(&self, desired: &DesiredUser, keys: &[MatchKey]) -> Match {
        let ext = desired.external_id().filter(|s| !s.is_empty());
        let name = desired.user_name().filter(|s| !s.is_empty());
        let mut usable = false;
        for key in keys {
            match key {
                MatchKey::ExternalId => {
                    let Some(ext) = ext else { continue };
                    usable = true;
                    if let Some(slot) = self.slot(Key::ExternalId, ext) {
                        return self.check_user_name(slot, name);
                    }
                }
                MatchKey::UserName => {
                    let Some(name) = name else { continue };
                    usable = true;
                    if let Some(slot) = self.slot(Key::UserName, &name.to_lowercase()) {
                        let (id, have, _) = codec::keys(self.record(slot));
                        return match (ext, have) {
                            (Some(want), Some(have)) if !have.is_empty() && want != have => {
                                Match::Conflict {
                                    kind: ErrorKind::ExternalIdMismatch,
                                    reason: format!(
                                        "userName {name} belongs to tenant user {id} whose externalId is {have}, not {want}; not overwritten"
                                    ),
                                }
                            }
                            _ => Match::One(Box::new(self.decode(slot))),
                        };
                    }
                }
            }
        }
        if usable {
            Match::None
        } else {
            Match::Conflict {
                kind: ErrorKind::NoKey,
                reason: "the row has none of the match keys (externalId, userName)".into(),
            }
        }
    }

    fn check_user_name(&self, slot: u32, name: Option<&str>) -> Match {
        if let Some(name) = name
            && let Some(owner) = self.slot(Key::UserName, &name.to_lowercase())
            && owner != slot
        {
            let (owner_id, owner_ext, _) = codec::keys(self.record(owner));
            let (id, _, _) = codec::keys(self.record(slot));
            return Match::Conflict {
                kind: ErrorKind::UserNameTaken,
                reason: format!(
                    "userName {name} belongs to tenant user {owner_id} (externalId {}), not to {id}; not overwritten",
                    owner_ext.unwrap_or("none"),
                ),
            };
        }
        Match::One(Box::new(self.decode(slot)))
    }
}

/// The `key` of the record at `slot` (the userName lower-cased), if it has one.
fn key_of(users: &[Box<[u8]>], slot: u32, key: Key) -> Option<String> {
    let (id, ext, name) = codec::keys(users.get(slot as usize)?);
    match key {
        Key::Id => Some(id.to_string()),
        Key::ExternalId => ext.map(str::to_string),
        Key::UserName => name.map(str::to_lowercase),
    }
}

/// Whether the record at `slot` has `value` as its `key` (the verification on a hit).
fn record_has(users: &[Box<[u8]>], slot: u32, key: Key, value: &str) -> bool {
    let Some(record) = users.get(slot as usize) else {
        return false;
    };
    let (id, ext, name) = codec::keys(record);
    match key {
        Key::Id => id == value,
        Key::ExternalId => ext == Some(value),
        Key::UserName => name.is_some_and(|n| n.to_lowercase() == value),
    }
}

#[cfg(test)]
mod tests;

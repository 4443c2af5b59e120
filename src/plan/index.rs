//! The tenant as far as planning needs it: users by id, externalId and lower-cased
//! userName; groups by lower-cased displayName and their members.
//!
//! Filled from a prefetch or from per-row lookups (the caller does the I/O and calls
//! `insert_user` / `insert_group`); kept current after writes with the same calls and
//! `add_member` / `remove_member`. Also decides which tenant user a desired row is
//! (`find`), including the conflicts that must never be overwritten.

use std::collections::{BTreeSet, HashMap};

use crate::mapping::DesiredUser;
use crate::scim::model::{Group, User};

/// A key a desired row can be matched on (externalId case-exact, userName
/// case-insensitive), tried in the order the mapping gives.
pub use crate::mapping::MatchKey;
use crate::model::ErrorKind;

/// Which tenant user (if any) a desired row is.
#[derive(Debug, Clone, PartialEq)]
pub enum Match<'a> {
    /// No tenant user has the row's keys: the row is a create.
    None,
    /// This tenant user is the row's user (possibly adopted: found by userName with no
    /// externalId, in which case the update sets the externalId).
    One(&'a User),
    /// The keys point at a user the row must not touch.
    Conflict {
        /// Stable snake_case kind for the ledger (`user_name_taken`, ...).
        kind: ErrorKind,
        /// What is wrong, naming the values involved.
        reason: String,
    },
}

/// The tenant's users and groups, indexed for planning.
#[derive(Debug, Default, Clone)]
pub struct TenantIndex {
    users: HashMap<String, User>,
    by_external_id: HashMap<String, String>,
    by_user_name: HashMap<String, String>,
    groups: HashMap<String, Group>,
    group_by_name: HashMap<String, String>,
    members: HashMap<String, BTreeSet<String>>,
    groups_of_user: HashMap<String, BTreeSet<String>>,
}

impl TenantIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of users held.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Number of groups held.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Adds or replaces a user (keep `meta.version`: it becomes the PATCH's If-Match).
    /// Memberships listed in the user's read-only `groups` are recorded too. Returns
    /// `false` (and ignores the user) when it has no `id`.
    pub fn insert_user(&mut self, user: User) -> bool {
        let Some(id) = user.id.clone() else {
            return false;
        };
        if let Some(old) = self.users.remove(&id) {
            if let Some(ext) = &old.external_id
                && self.by_external_id.get(ext) == Some(&id)
            {
                self.by_external_id.remove(ext);
            }
            if let Some(name) = &old.user_name {
                let key = name.to_lowercase();
                if self.by_user_name.get(&key) == Some(&id) {
                    self.by_user_name.remove(&key);
                }
            }
        }
        if let Some(ext) = &user.external_id
            && !ext.is_empty()
        {
            self.by_external_id.insert(ext.clone(), id.clone());
        }
        if let Some(name) = &user.user_name {
            self.by_user_name.insert(name.to_lowercase(), id.clone());
        }
        for g in &user.groups {
            self.add_member(&g.value, &id);
        }
        self.users.insert(id, user);
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

    /// The user with this id.
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.get(id)
    }

    /// The user with this externalId (case-exact).
    pub fn user_by_external_id(&self, external_id: &str) -> Option<&User> {
        self.by_external_id
            .get(external_id)
            .and_then(|id| self.users.get(id))
    }

    /// The user with this userName (case-insensitive).
    pub fn user_by_user_name(&self, user_name: &str) -> Option<&User> {
        self.by_user_name
            .get(&user_name.to_lowercase())
            .and_then(|id| self.users.get(id))
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
    pub fn find(&self, desired: &DesiredUser, keys: &[MatchKey]) -> Match<'_> {
        let ext = desired.external_id().filter(|s| !s.is_empty());
        let name = desired.user_name().filter(|s| !s.is_empty());
        let mut usable = false;
        for key in keys {
            match key {
                MatchKey::ExternalId => {
                    let Some(ext) = ext else { continue };
                    usable = true;
                    if let Some(user) = self.user_by_external_id(ext) {
                        return self.check_user_name(user, name);
                    }
                }
                MatchKey::UserName => {
                    let Some(name) = name else { continue };
                    usable = true;
                    if let Some(user) = self.user_by_user_name(name) {
                        return match (ext, user.external_id.as_deref()) {
                            (Some(want), Some(have)) if !have.is_empty() && want != have => {
                                Match::Conflict {
                                    kind: ErrorKind::ExternalIdMismatch,
                                    reason: format!(
                                        "userName {name} belongs to tenant user {} whose externalId is {have}, not {want}; not overwritten",
                                        user.id.as_deref().unwrap_or("?")
                                    ),
                                }
                            }
                            _ => Match::One(user),
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

    fn check_user_name<'a>(&'a self, user: &'a User, name: Option<&str>) -> Match<'a> {
        if let Some(name) = name
            && let Some(owner) = self.user_by_user_name(name)
            && owner.id != user.id
        {
            return Match::Conflict {
                kind: ErrorKind::UserNameTaken,
                reason: format!(
                    "userName {name} belongs to tenant user {} (externalId {}), not to {}; not overwritten",
                    owner.id.as_deref().unwrap_or("?"),
                    owner.external_id.as_deref().unwrap_or("none"),
                    user.id.as_deref().unwrap_or("?"),
                ),
            };
        }
        Match::One(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::model::{GroupRef, Member};

    fn user(id: &str, ext: Option<&str>, name: &str) -> User {
        User {
            id: Some(id.into()),
            external_id: ext.map(Into::into),
            user_name: Some(name.into()),
            ..User::default()
        }
    }

    fn desired(ext: Option<&str>, name: Option<&str>) -> DesiredUser {
        DesiredUser {
            user: User {
                external_id: ext.map(Into::into),
                user_name: name.map(Into::into),
                ..User::default()
            },
            ..DesiredUser::default()
        }
    }

    const BOTH: &[MatchKey] = &[MatchKey::ExternalId, MatchKey::UserName];

    fn index() -> TenantIndex {
        let mut idx = TenantIndex::new();
        idx.insert_user(user("u1", Some("E1"), "Ana@Example.com"));
        idx.insert_user(user("u2", None, "bo@example.com"));
        idx.insert_user(user("u3", Some("E3"), "cy@example.com"));
        idx
    }

    fn id_of(m: &Match<'_>) -> Option<String> {
        match m {
            Match::One(u) => u.id.clone(),
            _ => None,
        }
    }

    #[test]
    fn find_table() {
        let idx = index();
        // (externalId, userName, keys, expected id, expected conflict kind)
        type Case<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            &'a [MatchKey],
            Option<&'a str>,
            Option<ErrorKind>,
        );
        let cases: &[Case] = &[
            (Some("E1"), Some("ana@example.com"), BOTH, Some("u1"), None),
            (Some("E1"), Some("ANA@EXAMPLE.COM"), BOTH, Some("u1"), None),
            // renamed user: found by externalId, new userName free
            (
                Some("E1"),
                Some("ana.new@example.com"),
                BOTH,
                Some("u1"),
                None,
            ),
            // externalId found, but the new userName is someone else's
            (
                Some("E1"),
                Some("cy@example.com"),
                BOTH,
                None,
                Some(ErrorKind::UserNameTaken),
            ),
            // adopt: by userName, target has no externalId
            (Some("E2"), Some("BO@example.com"), BOTH, Some("u2"), None),
            // userName owned by a user with another externalId
            (
                Some("E9"),
                Some("cy@example.com"),
                BOTH,
                None,
                Some(ErrorKind::ExternalIdMismatch),
            ),
            // nobody
            (Some("E9"), Some("new@example.com"), BOTH, None, None),
            // userName only keys
            (
                None,
                Some("cy@example.com"),
                &[MatchKey::UserName],
                Some("u3"),
                None,
            ),
            // externalId only keys: a userName hit is not consulted
            (
                Some("E9"),
                Some("cy@example.com"),
                &[MatchKey::ExternalId],
                None,
                None,
            ),
            (None, None, BOTH, None, Some(ErrorKind::NoKey)),
            (Some(""), Some(""), BOTH, None, Some(ErrorKind::NoKey)),
        ];
        for (i, (ext, name, keys, want_id, want_kind)) in cases.iter().enumerate() {
            let d = desired(*ext, *name);
            let m = idx.find(&d, keys);
            assert_eq!(id_of(&m).as_deref(), *want_id, "case {i}: {m:?}");
            let kind = match &m {
                Match::Conflict { kind, .. } => Some(*kind),
                _ => None,
            };
            assert_eq!(kind, *want_kind, "case {i}: {m:?}");
            if want_id.is_none() && want_kind.is_none() {
                assert_eq!(m, Match::None, "case {i}");
            }
        }
    }

    #[test]
    fn reinsert_moves_keys() {
        let mut idx = index();
        idx.insert_user(user("u1", Some("E1b"), "ana2@example.com"));
        assert!(idx.user_by_external_id("E1").is_none());
        assert!(idx.user_by_user_name("ana@example.com").is_none());
        assert_eq!(
            idx.user_by_external_id("E1b").and_then(|u| u.id.as_deref()),
            Some("u1")
        );
        assert_eq!(idx.user_count(), 3);
        assert!(!idx.insert_user(User::default()));
    }

    #[test]
    fn memberships_from_groups_and_users() {
        let mut idx = index();
        idx.insert_group(Group {
            id: Some("g1".into()),
            display_name: Some("Sales".into()),
            members: vec![Member {
                value: "u1".into(),
                reference: None,
                kind: None,
                display: None,
            }],
            ..Group::default()
        });
        let mut u = user("u2", None, "bo@example.com");
        u.groups.push(GroupRef {
            value: "g1".into(),
            ..GroupRef::default()
        });
        idx.insert_user(u);
        assert_eq!(idx.members("g1").collect::<Vec<_>>(), vec!["u1", "u2"]);
        assert_eq!(idx.groups_of("u1").collect::<Vec<_>>(), vec!["g1"]);
        assert_eq!(
            idx.group_by_name("SALES").and_then(|g| g.id.as_deref()),
            Some("g1")
        );
        idx.remove_member("g1", "u1");
        assert_eq!(idx.members("g1").collect::<Vec<_>>(), vec!["u2"]);
        assert_eq!(idx.groups_of("u1").count(), 0);
        // re-inserting the group (renamed, listed without members) keeps its membership
        idx.insert_group(Group {
            id: Some("g1".into()),
            display_name: Some("Sales Team".into()),
            ..Group::default()
        });
        assert_eq!(idx.members("g1").collect::<Vec<_>>(), vec!["u2"]);
        idx.set_members("g1", ["u3"]);
        assert_eq!(idx.members("g1").collect::<Vec<_>>(), vec!["u3"]);
        assert_eq!(idx.groups_of("u2").count(), 0);
        assert_eq!(idx.groups_of("u3").collect::<Vec<_>>(), vec!["g1"]);
        assert!(idx.group_by_name("sales").is_none());
        assert!(idx.group_by_name("sales team").is_some());
    }
}

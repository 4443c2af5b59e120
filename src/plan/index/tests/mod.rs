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

fn id_of(m: &Match) -> Option<String> {
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
    assert_eq!(idx.id_by_external_id("E1b"), Some("u1"));
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

mod compact;
mod equivalence;

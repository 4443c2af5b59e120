//! Membership planning tests: per-row joins and leaves, per-group changes over an
//! input, PATCH chunking, and member ids escaped so the emulator reads them back.

use super::*;
use crate::scim::model::{Group, Member, User};
use serde_json::json;

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

fn group(id: &str, name: &str, members: &[&str]) -> Group {
    Group {
        id: Some(id.into()),
        display_name: Some(name.into()),
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

fn want(user: &str, groups: &[&str]) -> MemberWant {
    MemberWant {
        user_id: user.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

fn ids(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// (group id, adds, removes) of each change.
fn summary(changes: &[GroupChange]) -> Vec<(&str, Vec<&str>, Vec<&str>)> {
    changes
        .iter()
        .map(|c| (c.group_id.as_str(), ids(&c.add), ids(&c.remove)))
        .collect()
}

#[test]
fn desired_members_add_missing_and_remove_only_input_users() {
    // "other" is a member the input does not mention: never removed.
    let groups = [
        group("g1", "Sales", &["a", "other"]),
        group("g2", "Support", &["b"]),
        group("g3", "Managers", &["a"]),
    ];
    let wants = [
        want("a", &["sales", "SUPPORT"]),
        want("b", &[]),
        want("c", &["Managers", "Nope", "Alpha", "Nope"]),
    ];
    let desired = DesiredMembers::resolve(&wants, &groups, &GroupScope::All);
    assert_eq!(
        summary(&desired.changes(&groups)),
        vec![("g2", vec!["a"], vec!["b"]), ("g3", vec!["c"], vec!["a"]),]
    );
    // Unknown names fail their row only; its known groups are still planned.
    assert_eq!(
        desired.unknown,
        vec![(2, UnknownGroups(vec!["Alpha".into(), "Nope".into()]))]
    );
    // Equal already: nothing to send.
    let settled = [group("g1", "Sales", &["a"])];
    let desired = DesiredMembers::resolve(&[want("a", &["Sales"])], &settled, &GroupScope::All);
    assert!(desired.changes(&settled).is_empty());
}

#[test]
fn desired_members_leave_unmanaged_groups_alone() {
    let groups = [
        group("g1", "Sales", &["a"]),
        group("g3", "Managers", &["a"]),
    ];
    let scope = GroupScope::listed(["Sales", "Support"]);
    let desired = DesiredMembers::resolve(&[want("a", &["Support"])], &groups, &scope);
    // "Support" is not in the tenant; "Managers" is unmanaged so "a" stays in it.
    assert_eq!(
        summary(&desired.changes(&groups)),
        vec![("g1", vec![], vec!["a"])]
    );
}

#[test]
fn chunks_put_many_members_in_one_add_and_cut_by_max_ops() {
    let change = GroupChange {
        group_id: "g1".into(),
        group_name: "Sales".into(),
        add: (0..120).map(|i| format!("u{i}")).collect(),
        remove: vec!["x".into(), "y".into()],
    };
    let chunks = chunk_members(&change, 50);
    assert_eq!(chunks.len(), 1, "3 adds + 2 removes fit one PATCH");
    let sizes: Vec<Option<usize>> = chunks[0]
        .iter()
        .map(|op| op.value.as_ref().and_then(|v| v.as_array()).map(Vec::len))
        .collect();
    assert_eq!(sizes, vec![Some(50), Some(50), Some(20), None, None]);
    assert_eq!(chunks[0][3].op, "remove");
    assert_eq!(
        chunks[0][3].path.as_deref(),
        Some(r#"members[value eq "x"]"#)
    );
    // max 2: [add, add] [add, remove] [remove]; max 0 counts as 1.
    let lens: Vec<usize> = chunk_members(&change, 2).iter().map(Vec::len).collect();
    assert_eq!(lens, vec![2, 2, 1]);
    assert_eq!(chunk_members(&change, 0).len(), 5);
    assert!(chunk_members(&GroupChange::default(), 50).is_empty());
}

#[test]
fn issue_13_quote_and_backslash_in_member_id_are_escaped() {
    let groups = [group("g1", "Sales", &[r#"a"b"#, r"c\d"])];
    let wants = [want(r#"a"b"#, &[]), want(r"c\d", &[])];
    let changes = DesiredMembers::resolve(&wants, &groups, &GroupScope::All).changes(&groups);
    let chunks = chunk_members(&changes[0], 50);
    let paths: Vec<&str> = chunks[0]
        .iter()
        .filter_map(|op| op.path.as_deref())
        .collect();
    assert_eq!(
        paths,
        vec![r#"members[value eq "a\"b"]"#, r#"members[value eq "c\\d"]"#]
    );
}

/// The members left after the emulator applies `ops` to a group holding `members`.
fn emulator_members(members: &[&str], ops: &[PatchOperation]) -> Vec<String> {
    use crate::emulator::patch::{Resource, apply};
    let mut doc = json!({
        "displayName": "Sales",
        "members": members.iter().map(|m| json!({ "value": m })).collect::<Vec<_>>(),
    });
    apply(&mut doc, ops, &Resource::Group).expect("the emulator accepts the member path");
    doc["members"]
        .as_array()
        .expect("members stay a list")
        .iter()
        .filter_map(|m| m["value"].as_str().map(str::to_string))
        .collect()
}

proptest::proptest! {
    /// Escape, then parse with the emulator's PATCH path parser: the filter selects
    /// exactly the member whose id is `id`, whatever characters it holds.
    #[test]
    fn any_member_id_round_trips_through_the_emulator(id in proptest::prelude::any::<String>()) {
        let other = format!("{id}-other");
        let change = GroupChange {
            remove: vec![id.clone()],
            ..GroupChange::default()
        };
        let ops = chunk_members(&change, 50).concat();
        proptest::prop_assert_eq!(emulator_members(&[&id, &other], &ops), vec![other]);
    }
}

#[test]
fn patch_members_lists_the_members_of_each_patch() {
    let ids = |n: usize, p: &str| (0..n).map(|i| format!("{p}{i}")).collect::<Vec<_>>();
    let change = GroupChange {
        group_id: "g".into(),
        group_name: "Sales".into(),
        add: ids(120, "a"),
        remove: ids(3, "r"),
    };
    for max_ops in [1, 2, 50] {
        let lists = patch_members(&change, max_ops);
        let patches = chunk_members(&change, max_ops);
        assert_eq!(lists.len(), patches.len(), "max_ops {max_ops}");
        for (list, ops) in lists.iter().zip(&patches) {
            let part = change.part(list);
            assert_eq!(chunk_members(&part, max_ops), vec![ops.clone()]);
            // Any half of a PATCH's members is still one PATCH.
            let half = change.part(&list[..list.len().div_ceil(2)]);
            assert_eq!(chunk_members(&half, max_ops).len(), 1);
        }
        let all: Vec<_> = lists.concat();
        assert_eq!(all.len(), 123);
    }
}

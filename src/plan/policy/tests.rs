//! Each policy × (edit / no edit / no state) × (scalar / list / absent values), and
//! properties: no edit leaves the desired user as it is; target-wins leaves the
//! planner nothing to send for an edited path; merge keeps what the tenant added.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::plan::diff_user;
use crate::scim::model::{GenesysUser, GroupRef, RoleRef};

use ConflictPolicy::{Merge, SourceWins, TargetWins};

const DEPT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";
const MANAGER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";
const SKILLS: &str =
    "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingSkills";
const MOBILE: &str = "phoneNumbers[type eq \"mobile\"].value";

fn title(v: Option<&str>) -> User {
    User {
        title: v.map(str::to_owned),
        ..User::default()
    }
}

fn roles(v: &[&str]) -> User {
    User {
        roles: v
            .iter()
            .map(|r| RoleRef {
                value: r.to_string(),
            })
            .collect(),
        ..User::default()
    }
}

fn groups(v: &[&str]) -> User {
    User {
        groups: v
            .iter()
            .map(|g| GroupRef {
                value: format!("id-{g}"),
                display: Some(g.to_string()),
                ..GroupRef::default()
            })
            .collect(),
        ..User::default()
    }
}

fn skills(v: &[(&str, f64)]) -> User {
    User {
        genesys: Some(GenesysUser {
            routing_skills: v
                .iter()
                .map(|(n, p)| Proficiency {
                    name: n.to_string(),
                    proficiency: *p,
                })
                .collect(),
            ..GenesysUser::default()
        }),
        ..User::default()
    }
}

fn want(user: User) -> DesiredUser {
    DesiredUser {
        row: 1,
        user,
        ..DesiredUser::default()
    }
}

fn cleared(user: User, path: &str) -> DesiredUser {
    DesiredUser {
        clear: vec![path.to_owned(), "title-other".into()],
        ..want(user)
    }
}

/// Runs one path under one policy: the desired user after, and each edit as
/// (path, kept).
fn run(
    path: &str,
    policy: ConflictPolicy,
    applied: Option<&User>,
    tenant: &User,
    desired: &DesiredUser,
) -> (DesiredUser, Vec<(String, bool)>) {
    let mut d = desired.clone();
    let edits = reconcile_fields(&mut d, applied, tenant, &[(path.to_owned(), policy)]);
    (d, edits.into_iter().map(|e| (e.path, e.kept)).collect())
}

fn edit(path: &str, kept: bool) -> Vec<(String, bool)> {
    vec![(path.to_owned(), kept)]
}

#[test]
fn scalar_without_an_edit_lets_the_source_change_through_under_every_policy() {
    let d = want(title(Some("Lead")));
    for p in [SourceWins, TargetWins, Merge] {
        let (got, edits) = run(
            "title",
            p,
            Some(&title(Some("Agent"))),
            &title(Some("Agent")),
            &d,
        );
        assert_eq!((got, edits), (d.clone(), vec![]), "{p:?}");
        // No state: nothing is an edit, whatever the tenant holds.
        let (got, edits) = run("title", p, None, &title(Some("Boss")), &d);
        assert_eq!((got, edits), (d.clone(), vec![]), "{p:?} without state");
    }
}

#[test]
fn scalar_edit_is_overwritten_by_source_wins_and_kept_by_target_wins() {
    let (applied, tenant) = (title(Some("Agent")), title(Some("Boss")));
    for source in ["Agent", "Lead"] {
        let d = want(title(Some(source)));
        let (got, edits) = run("title", SourceWins, Some(&applied), &tenant, &d);
        assert_eq!(got, d, "source-wins leaves the desired value");
        assert_eq!(edits, edit("title", false));
        for p in [TargetWins, Merge] {
            let (got, edits) = run("title", p, Some(&applied), &tenant, &d);
            assert_eq!(got.user.title.as_deref(), Some("Boss"), "{p:?}");
            assert_eq!(edits, edit("title", true));
        }
    }
    let mut d = want(title(Some("Lead")));
    let edits = reconcile_fields(
        &mut d,
        Some(&applied),
        &tenant,
        &[("title".into(), TargetWins)],
    );
    assert_eq!(
        edits,
        vec![TargetEdit {
            path: "title".into(),
            applied: json!("Agent"),
            tenant: json!("Boss"),
            kept: true,
        }]
    );
}

#[test]
fn scalar_absent_values() {
    let agent = title(Some("Agent"));
    // The tenant removed the value: target-wins neither sets nor clears it.
    for d in [want(title(Some("Agent"))), cleared(title(None), "title")] {
        let (got, edits) = run("title", TargetWins, Some(&agent), &title(None), &d);
        assert_eq!(got.user.title, None);
        assert!(
            !got.clear.contains(&"title".to_string()),
            "not cleared either"
        );
        assert_eq!(got.clear.len(), d.clear.len().saturating_sub(1));
        assert_eq!(edits, edit("title", true));
        let (got, edits) = run("title", SourceWins, Some(&agent), &title(None), &d);
        assert_eq!((got, edits), (d.clone(), edit("title", false)));
    }
    // The source cleared it (blank = "clear") and the tenant edited it: target-wins
    // keeps the edit and does not clear; source-wins clears.
    let d = cleared(title(None), "title");
    let (got, _) = run("title", TargetWins, Some(&agent), &title(Some("Boss")), &d);
    assert_eq!(got.user.title.as_deref(), Some("Boss"));
    assert_eq!(got.clear, vec!["title-other".to_string()]);
    let (got, _) = run("title", SourceWins, Some(&agent), &title(Some("Boss")), &d);
    assert_eq!(got, d);
    // The tenant added a value scimport never applied.
    let (got, edits) = run(
        "title",
        TargetWins,
        Some(&title(None)),
        &title(Some("Boss")),
        &want(title(Some("Lead"))),
    );
    assert_eq!(got.user.title.as_deref(), Some("Boss"));
    assert_eq!(edits, edit("title", true));
    // A desired value that is absent (blank = "ignore") stays absent: nothing
    // overwrites the edit, so it is reported as kept under every policy.
    for p in [SourceWins, TargetWins] {
        let d = want(title(None));
        let (got, edits) = run("title", p, Some(&agent), &title(Some("Boss")), &d);
        assert_eq!((got, edits), (d.clone(), edit("title", true)), "{p:?}");
    }
}

#[test]
fn edits_are_told_apart_the_way_the_planner_compares() {
    let user = |name: &str, email: &str, hired: &str, mobile: &str| User {
        user_name: Some(name.into()),
        emails: vec![
            MultiValue {
                value: "ignored@x.com".into(),
                kind: Some("other".into()),
                primary: false,
            },
            MultiValue {
                value: email.into(),
                kind: Some("work".into()),
                primary: true,
            },
        ],
        phone_numbers: vec![MultiValue {
            value: mobile.into(),
            kind: Some("Mobile".into()),
            primary: false,
        }],
        enterprise: Some(EnterpriseUser {
            date_hire: Some(hired.into()),
            ..EnterpriseUser::default()
        }),
        ..User::default()
    };
    let applied = user("ana@x.com", "ana@x.com", "2020-01-02", "+15550100");
    let mut tenant = user(
        "Ana@X.com",
        "ANA@x.com",
        "2020-01-02T00:00:00Z",
        "+15550100",
    );
    tenant.emails.swap(0, 1);
    tenant.emails[1].value = "changed@x.com".into(); // the read-only other email
    let paths: Vec<(String, ConflictPolicy)> = [
        "userName",
        "emails[type eq \"work\"].value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:dateHire",
        MOBILE,
    ]
    .iter()
    .map(|p| (p.to_string(), TargetWins))
    .collect();
    let mut d = want(user("new@x.com", "new@x.com", "2021-05-06", "+15550199"));
    let before = d.clone();
    assert_eq!(
        reconcile_fields(&mut d, Some(&applied), &tenant, &paths),
        vec![]
    );
    assert_eq!(d, before);
    // A changed mobile is an edit: target-wins takes it, leaving the work email.
    tenant.phone_numbers[0].value = "+15550142".into();
    let edits = reconcile_fields(&mut d, Some(&applied), &tenant, &paths);
    assert_eq!(edits.len(), 1, "{edits:?}");
    assert_eq!(edits[0].path, MOBILE);
    assert_eq!(value_at(&d.user, MOBILE), Some("+15550142"));
    assert_eq!(
        value_at(&d.user, "emails[type eq \"work\"].value"),
        Some("new@x.com")
    );
}

#[test]
fn other_single_values_follow_target_wins() {
    let manager = |id: &str| User {
        enterprise: Some(EnterpriseUser {
            manager: Some(ManagerRef {
                value: id.into(),
                ..ManagerRef::default()
            }),
            department: Some(format!("dept-{id}")),
            ..EnterpriseUser::default()
        }),
        active: Some(id != "off"),
        ..User::default()
    };
    let mut d = want(manager("m-new"));
    let edits = reconcile_fields(
        &mut d,
        Some(&manager("m-1")),
        &manager("off"),
        &[
            (MANAGER.into(), TargetWins),
            (DEPT.into(), SourceWins),
            ("active".into(), TargetWins),
        ],
    );
    let got: Vec<(&str, bool)> = edits.iter().map(|e| (e.path.as_str(), e.kept)).collect();
    assert_eq!(got, vec![(MANAGER, true), (DEPT, false), ("active", true)]);
    assert_eq!(edits[2].applied, json!(true));
    assert_eq!(edits[2].tenant, json!(false));
    assert_eq!(crate::plan::manager_of(&d.user), Some("off"));
    assert_eq!(value_at(&d.user, DEPT), Some("dept-m-new"));
    assert_eq!(d.user.active, Some(false));
    // A missing `active` counts as true on both sides.
    let mut d = want(User {
        active: Some(false),
        ..User::default()
    });
    let active = User {
        active: Some(true),
        ..User::default()
    };
    let policies = [("active".to_string(), TargetWins)];
    assert!(reconcile_fields(&mut d, Some(&User::default()), &active, &policies).is_empty());
    assert_eq!(d.user.active, Some(false));
}

#[test]
fn roles_under_each_policy() {
    let applied = roles(&["A", "B"]);
    let tenant = roles(&["B", "X", "employee"]); // A removed, X added, employee granted
    let d = want(roles(&["A", "C"])); // B dropped, C added
    let names = |d: &DesiredUser| {
        d.user
            .roles
            .iter()
            .map(|r| r.value.clone())
            .collect::<Vec<_>>()
    };
    let (got, edits) = run("roles", SourceWins, Some(&applied), &tenant, &d);
    assert_eq!((got, edits), (d.clone(), edit("roles", false)));
    let (got, edits) = run("roles", TargetWins, Some(&applied), &tenant, &d);
    assert_eq!(names(&got), ["B", "X", "employee"]);
    assert_eq!(edits, edit("roles", true));
    // desired ∪ (tenant − applied): A comes back, B goes, X stays; the default
    // grant is not an item the tenant added (the planner keeps it anyway).
    let (got, edits) = run("roles", Merge, Some(&applied), &tenant, &d);
    assert_eq!(names(&got), ["A", "C", "X"]);
    assert_eq!(edits, edit("roles", true));
    // Only the default grant differs: no edit.
    for p in [SourceWins, TargetWins, Merge] {
        let (got, edits) = run(
            "roles",
            p,
            Some(&applied),
            &roles(&["employee", "B", "A"]),
            &d,
        );
        assert_eq!((got, edits), (d.clone(), vec![]), "{p:?}");
        let (got, edits) = run("roles", p, None, &tenant, &d);
        assert_eq!((got, edits), (d.clone(), vec![]), "{p:?} without state");
    }
}

#[test]
fn list_absent_values() {
    let names = |d: &DesiredUser| {
        d.user
            .roles
            .iter()
            .map(|r| r.value.clone())
            .collect::<Vec<_>>()
    };
    let (applied, tenant) = (roles(&["A"]), roles(&["A", "X"]));
    // The source cleared the list: merge keeps only what the tenant added, and no
    // longer clears.
    let d = cleared(roles(&[]), "roles");
    let (got, edits) = run("roles", Merge, Some(&applied), &tenant, &d);
    assert_eq!(names(&got), ["X"]);
    assert_eq!(got.clear, vec!["title-other".to_string()]);
    assert_eq!(edits, edit("roles", true));
    // ... and when the tenant removed everything, the clear stays (nothing to keep).
    let (got, _) = run("roles", Merge, Some(&applied), &roles(&[]), &d);
    assert_eq!(got, d);
    // The tenant emptied the list: target-wins neither sets nor clears it.
    let (got, edits) = run(
        "roles",
        TargetWins,
        Some(&applied),
        &roles(&[]),
        &want(roles(&["A", "B"])),
    );
    assert!(got.user.roles.is_empty() && got.clear.is_empty());
    assert_eq!(edits, edit("roles", true));
    // A blank source list with blank = "ignore" stays unmanaged.
    for p in [SourceWins, TargetWins, Merge] {
        let d = want(roles(&[]));
        let (got, edits) = run("roles", p, Some(&applied), &tenant, &d);
        assert_eq!((got, edits), (d.clone(), edit("roles", true)), "{p:?}");
    }
}

#[test]
fn groups_merge_by_name_ignoring_case() {
    let d = DesiredUser {
        groups: Some(vec!["Sales".into(), "Tier 1".into()]),
        ..want(User::default())
    };
    let applied = groups(&["Sales", "Old"]);
    let tenant = groups(&["sales", "old", "Ops"]);
    let (got, edits) = run("groups", Merge, Some(&applied), &tenant, &d);
    assert_eq!(
        got.groups,
        Some(vec!["Sales".into(), "Tier 1".into(), "Ops".into()])
    );
    assert_eq!(edits, edit("groups", true));
    let (got, _) = run("groups", TargetWins, Some(&applied), &tenant, &d);
    assert_eq!(
        got.groups,
        Some(vec!["sales".into(), "old".into(), "Ops".into()])
    );
    let (got, _) = run("groups", TargetWins, Some(&applied), &groups(&[]), &d);
    assert_eq!(got.groups, None, "the tenant left every group: left alone");
    let (got, edits) = run("groups", SourceWins, Some(&applied), &tenant, &d);
    assert_eq!((got, edits), (d.clone(), edit("groups", false)));
    let (got, edits) = run(
        "groups",
        Merge,
        Some(&applied),
        &groups(&["SALES", "old"]),
        &d,
    );
    assert_eq!((got, edits), (d.clone(), vec![]), "case is no edit");
    // Cleared groups (blank = "clear" gives Some([])) keep what the tenant added.
    let d = DesiredUser {
        groups: Some(vec![]),
        ..want(User::default())
    };
    let (got, _) = run("groups", Merge, Some(&applied), &tenant, &d);
    assert_eq!(got.groups, Some(vec!["Ops".into()]));
}

#[test]
fn skills_merge_by_name_with_the_sources_proficiency() {
    let applied = skills(&[("Billing", 3.0), ("Old", 1.0)]);
    let tenant = skills(&[("Chat", 2.0), ("Billing", 4.0), ("Old", 1.0)]);
    let d = want(skills(&[("Billing", 3.0), ("Sales", 1.0)]));
    let list = |d: &DesiredUser| {
        prof_list(&d.user, true)
            .iter()
            .map(|p| (p.name.clone(), p.proficiency))
            .collect::<Vec<_>>()
    };
    let (got, edits) = run(SKILLS, Merge, Some(&applied), &tenant, &d);
    assert_eq!(
        list(&got),
        [
            ("Billing".to_string(), 3.0),
            ("Sales".to_string(), 1.0),
            ("Chat".to_string(), 2.0)
        ]
    );
    assert_eq!(edits, edit(SKILLS, true));
    let (got, _) = run(SKILLS, TargetWins, Some(&applied), &tenant, &d);
    assert_eq!(list(&got), list(&want(tenant.clone())));
    let (got, edits) = run(SKILLS, SourceWins, Some(&applied), &tenant, &d);
    assert_eq!((got, edits), (d.clone(), edit(SKILLS, false)));
    let reordered = skills(&[("Old", 1.0), ("Billing", 3.0)]);
    for p in [SourceWins, TargetWins, Merge] {
        let (got, edits) = run(SKILLS, p, Some(&applied), &reordered, &d);
        assert_eq!((got, edits), (d.clone(), vec![]), "{p:?}: order is no edit");
    }
}

#[test]
fn unknown_paths_are_skipped() {
    let d = want(title(Some("Lead")));
    let (got, edits) = run(
        "nickName",
        TargetWins,
        Some(&title(Some("A"))),
        &title(Some("B")),
        &d,
    );
    assert_eq!((got, edits), (d, vec![]));
}

fn text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(
        prop::sample::select(vec!["a", "A", "b", " ", "2020-01-02"]).prop_map(String::from),
    )
}

fn items() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(
        prop::sample::select(vec!["A", "a", "B", "employee", "C"]),
        0..4,
    )
}

prop_compose! {
    fn any_user()(
        t in text(), n in text(), e in text(), m in text(), dept in text(), mgr in text(),
        active in prop::option::of(any::<bool>()), r in items(), g in items(),
        s in prop::collection::vec((prop::sample::select(vec!["S1", "S2", "S3"]), 0..=5u8), 0..3),
    ) -> User {
        let mut u = roles(&r);
        u.title = t;
        u.user_name = n;
        u.active = active;
        u.groups = groups(&g).groups;
        u.emails = e.into_iter().map(|value| MultiValue { value, kind: Some("work".into()), primary: false }).collect();
        u.phone_numbers = m.into_iter().map(|value| MultiValue { value, kind: Some("mobile".into()), primary: false }).collect();
        u.enterprise = Some(EnterpriseUser {
            department: dept,
            manager: mgr.map(|value| ManagerRef { value, ..ManagerRef::default() }),
            ..EnterpriseUser::default()
        });
        u.genesys = skills(&s.iter().map(|(n, p)| (*n, f64::from(*p))).collect::<Vec<_>>()).genesys;
        u
    }
}

const PATHS: [&str; 10] = [
    "title",
    "userName",
    "active",
    "emails[type eq \"work\"].value",
    MOBILE,
    DEPT,
    MANAGER,
    "roles",
    "groups",
    SKILLS,
];

fn any_desired() -> impl Strategy<Value = DesiredUser> {
    (
        any_user(),
        prop::sample::subsequence(PATHS.to_vec(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(user, clear, with_groups)| DesiredUser {
            groups: with_groups.then(|| group_names(&user).iter().map(|g| g.to_string()).collect()),
            clear: clear.into_iter().map(String::from).collect(),
            ..want(user)
        })
}

fn policies(p: ConflictPolicy) -> Vec<(String, ConflictPolicy)> {
    PATHS.iter().map(|x| (x.to_string(), p)).collect()
}

proptest! {
    /// With `applied == Some(tenant)` (no edit) or no state, every policy leaves
    /// the desired user exactly as it was and reports nothing.
    #[test]
    fn no_edit_changes_nothing(desired in any_desired(), tenant in any_user(), i in 0..3usize) {
        let p = [SourceWins, TargetWins, Merge][i];
        let mut d = desired.clone();
        prop_assert!(reconcile_fields(&mut d, Some(&tenant), &tenant, &policies(p)).is_empty());
        prop_assert_eq!(&d, &desired);
        prop_assert!(reconcile_fields(&mut d, None, &tenant, &policies(p)).is_empty());
        prop_assert_eq!(&d, &desired);
    }

    /// Target-wins: for every edited path the planner has nothing left to send.
    #[test]
    fn target_wins_leaves_nothing_to_send_for_an_edit(
        desired in any_desired(), applied in any_user(), tenant in any_user(),
    ) {
        let mut d = desired.clone();
        let edits = reconcile_fields(&mut d, Some(&applied), &tenant, &policies(TargetWins));
        let diff = diff_user(&d, &tenant, &PlanOptions::default());
        for e in edits.iter().filter(|e| e.path != "groups") {
            prop_assert!(e.kept);
            prop_assert!(
                !diff.changes.iter().any(|c| c.path.as_ref() == e.path.as_str()),
                "{} still changes: {:?}", e.path, diff.changes
            );
        }
        if let (Some(e), Some(g)) = (edits.iter().find(|e| e.path == "groups"), &d.groups) {
            prop_assert!(desired.groups.is_some(), "{e:?}");
            prop_assert_eq!(lower_set(&g.iter().map(String::as_str).collect::<Vec<_>>()), lower_set(&group_names(&tenant)));
        }
    }

    /// Merge: every role the tenant added (and scimport never applied) is in the
    /// result, every role the source lists stays, nothing else is added.
    #[test]
    fn merge_keeps_the_tenants_additions(
        desired in any_desired(), applied in any_user(), tenant in any_user(),
    ) {
        let mut d = desired.clone();
        reconcile_fields(&mut d, Some(&applied), &tenant, &[("roles".into(), Merge)]);
        let set = |u: &User| u.roles.iter().map(|r| r.value.clone()).collect::<BTreeSet<_>>();
        let (got, src, a, t) = (set(&d.user), set(&desired.user), set(&applied), set(&tenant));
        let managed = !src.is_empty() || desired.clear.iter().any(|p| p == "roles");
        // The tenant's roles but the default grant scimport never applied.
        let t2: BTreeSet<String> =
            t.iter().filter(|r| a.contains(*r) || *r != "employee").cloned().collect();
        if managed && t2 != a {
            let added: BTreeSet<String> = t2.difference(&a).cloned().collect();
            prop_assert_eq!(got, src.union(&added).cloned().collect::<BTreeSet<_>>());
        } else {
            prop_assert_eq!(got, src);
        }
    }
}

//! Table tests for `plan_user`: actions, conflicts, groups, deferred managers.

use super::*;

fn index() -> TenantIndex {
    let mut idx = TenantIndex::new();
    idx.insert_user(tenant("u1"));
    let mut inactive = tenant("u2");
    inactive.active = Some(false);
    idx.insert_user(inactive);
    let mut boss = tenant("boss");
    boss.external_id = Some("E-boss".into());
    idx.insert_user(boss);
    let mut orphan = tenant("u4");
    orphan.external_id = None;
    idx.insert_user(orphan);
    for (id, name) in [("g1", "Sales"), ("g2", "Support")] {
        idx.insert_group(Group {
            id: Some(id.into()),
            display_name: Some(name.into()),
            ..Group::default()
        });
    }
    idx.add_member("g1", "u1");
    idx
}

fn kind_of(p: &Plan) -> String {
    match &p.action {
        Action::Conflict { kind, .. } => format!("conflict:{kind}"),
        a => a.kind().as_str().to_string(),
    }
}

type DesiredEdit = fn(&mut DesiredUser);

#[test]
fn plan_table() {
    let idx = index();
    let mut opts = PlanOptions::default();
    opts.max_lengths.insert("title".into(), 10);
    // (name, base id, edit, expected kind, expected "op path" list)
    let cases: Vec<(&str, &str, DesiredEdit, &str, Vec<&str>)> = vec![
        ("up to date", "u1", |_| {}, "skip", vec![]),
        (
            "changed",
            "u1",
            |d| d.user.title = Some("Lead".into()),
            "update",
            vec!["replace title"],
        ),
        ("new user", "n1", |_| {}, "create", vec![]),
        (
            "new but inactive in source",
            "n1",
            |d| d.user.active = Some(false),
            "skip",
            vec![],
        ),
        (
            "reactivate",
            "u2",
            |_| {},
            "reactivate",
            vec!["replace active"],
        ),
        (
            "reactivate with a change: one PATCH, active first",
            "u2",
            |d| d.user.title = Some("Lead".into()),
            "reactivate",
            vec!["replace active", "replace title"],
        ),
        (
            "deactivate",
            "u1",
            |d| d.user.active = Some(false),
            "deactivate",
            vec!["replace active"],
        ),
        (
            "already inactive",
            "u2",
            |d| d.user.active = Some(false),
            "skip",
            vec![],
        ),
        (
            "inactive stays inactive, title changes",
            "u2",
            |d| {
                d.user.active = Some(false);
                d.user.title = Some("Lead".into());
            },
            "update",
            vec!["replace title"],
        ),
        (
            "adopt by userName: sets externalId",
            "u4",
            |_| {},
            "update",
            vec!["replace externalId"],
        ),
        (
            "userName of another user",
            "u1",
            |d| d.user.user_name = Some("boss@example.com".into()),
            "conflict:user_name_taken",
            vec![],
        ),
        (
            "externalId mismatch",
            "u1",
            |d| d.user.external_id = Some("E-other".into()),
            "conflict:external_id_mismatch",
            vec![],
        ),
        (
            "unknown group",
            "u1",
            |d| d.groups = Some(vec!["Nope".into()]),
            "conflict:unknown_group",
            vec![],
        ),
        (
            "groups equal",
            "u1",
            |d| d.groups = Some(vec!["sales".into()]),
            "skip",
            vec![],
        ),
        (
            "group change only",
            "u1",
            |d| d.groups = Some(vec!["Support".into()]),
            "update",
            vec![],
        ),
        (
            "too long",
            "u1",
            |d| d.user.title = Some("Chief Everything Officer".into()),
            "conflict:value_too_long",
            vec![],
        ),
        (
            "unknown clear path",
            "u1",
            |d| d.clear = vec!["nickName".into()],
            "conflict:unknown_clear_path",
            vec![],
        ),
        (
            "too many skills",
            "u1",
            |d| {
                let many: Vec<(&str, f64)> = vec![("S", 1.0); 51];
                d.user.genesys = skills(&many);
            },
            "conflict:value_too_long",
            vec![],
        ),
        (
            "new without displayName",
            "n1",
            |d| d.user.display_name = None,
            "conflict:missing_required",
            vec![],
        ),
        (
            "existing without displayName: fine",
            "u1",
            |d| d.user.display_name = None,
            "skip",
            vec![],
        ),
        (
            "new without userName",
            "n1",
            |d| d.user.user_name = None,
            "conflict:missing_required",
            vec![],
        ),
    ];
    for (name, id, edit, kind, ops) in cases {
        let mut d = want(id);
        edit(&mut d);
        let plan = plan_user(&d, &idx, &opts);
        assert_eq!(kind_of(&plan), kind, "{name}: {:?}", plan.action);
        let got = plan
            .action
            .patch()
            .map(|p| paths(&p.ops))
            .unwrap_or_default();
        assert_eq!(got, ops, "{name}");
        if let Some(p) = plan.action.patch() {
            assert_eq!(p.version.as_deref(), Some("7"), "{name}");
            assert_eq!(p.id, id, "{name}");
        }
        // same inputs, same plan
        assert_eq!(plan, plan_user(&d, &idx, &opts), "{name}");
    }
}

#[test]
fn create_body_and_groups() {
    let idx = index();
    let mut d = want("n1");
    d.groups = Some(vec!["Support".into(), "Sales".into()]);
    d.user.emails = vec![mv("other", "x@example.com"), mv("work", "w@example.com")];
    d.user.enterprise = ent(|e| {
        e.department = Some("Support".into());
        e.manager = Some(ManagerRef {
            value: "E-boss".into(),
            ..ManagerRef::default()
        });
    });
    let plan = plan_user(&d, &idx, &PlanOptions::default());
    let Action::Create { user } = &plan.action else {
        panic!("{:?}", plan.action)
    };
    assert_eq!(user.schemas, vec![SCHEMA_USER, SCHEMA_ENTERPRISE]);
    assert_eq!(user.emails, vec![mv("work", "w@example.com")]);
    assert_eq!(
        user.enterprise
            .as_ref()
            .and_then(|e| e.manager.as_ref())
            .map(|m| m.value.as_str()),
        Some("boss"),
        "manager resolved to the boss's id"
    );
    assert!(plan.deferred.is_none());
    let joins: Vec<&str> = plan
        .memberships
        .iter()
        .map(|m| m.group_name.as_str())
        .collect();
    assert_eq!(joins, vec!["Sales", "Support"]);
    assert!(plan.changed_fields().contains(&"groups".into()));
    assert!(plan.changed_fields().contains(&"title".into()));
    assert!(plan.memberships.iter().all(|m| m.op == MemberOp::Add));

    // group change for an existing user
    let mut d = want("u1");
    d.groups = Some(vec!["Support".into()]);
    let plan = plan_user(&d, &idx, &PlanOptions::default());
    assert_eq!(
        plan.memberships
            .iter()
            .map(|m| (m.group_id.as_str(), m.op))
            .collect::<Vec<_>>(),
        vec![("g2", MemberOp::Add), ("g1", MemberOp::Remove)]
    );
    let groups = plan
        .changes
        .iter()
        .find(|c| c.path == "groups")
        .expect("groups change");
    assert_eq!(groups.before.as_deref(), Some("Sales"));
    assert_eq!(groups.after.as_deref(), Some("Support"));
}

#[test]
fn rows_share_their_changed_paths() {
    // Two creates list the same paths: one interned copy each, not one per row.
    let idx = index();
    let mut a = want("n1");
    a.user.title = Some("Lead".into());
    let mut b = want("n2");
    b.user.title = Some("Agent".into());
    let [a, b] = [a, b].map(|d| plan_user(&d, &idx, &PlanOptions::default()).changed_fields());
    assert!(!a.is_empty());
    assert_eq!(a, b);
    for (x, y) in a.iter().zip(&b) {
        let (std::borrow::Cow::Borrowed(x), std::borrow::Cow::Borrowed(y)) = (x, y) else {
            panic!("{x:?} not interned");
        };
        assert!(std::ptr::eq(x.as_ptr(), y.as_ptr()), "{x}");
    }
}

#[test]
fn deferred_manager_second_pass() {
    let mut idx = index();
    let mut d = want("u1");
    d.user.enterprise = ent(|e| {
        e.manager = Some(ManagerRef {
            value: "E-new-boss".into(),
            ..ManagerRef::default()
        })
    });
    let first = plan_user(&d, &idx, &PlanOptions::default());
    assert_eq!(kind_of(&first), "skip", "{:?}", first.action);
    assert_eq!(
        first.deferred,
        Some(DeferredManager {
            manager_external_id: "E-new-boss".into()
        })
    );
    // the manager gets created; the second pass sets it
    let mut nb = tenant("nb");
    nb.external_id = Some("E-new-boss".into());
    idx.insert_user(nb);
    let second = plan_user(&d, &idx, &PlanOptions::default());
    assert!(second.deferred.is_none());
    let p = second.action.patch().expect("update");
    assert_eq!(paths(&p.ops), vec![format!("replace {P_MANAGER}")]);
    assert_eq!(p.ops[0].value, Some(json!({"value": "nb"})));

    // a user created with its tenant user in GroupRef form is a member already
    let mut member = tenant("u9");
    member.groups = vec![GroupRef {
        value: "g2".into(),
        ..GroupRef::default()
    }];
    idx.insert_user(member);
    let mut d = want("u9");
    d.groups = Some(vec!["Support".into()]);
    assert_eq!(
        kind_of(&plan_user(&d, &idx, &PlanOptions::default())),
        "skip"
    );
}

//! Table tests for `diff_user`: one case per comparison rule.

use super::*;

type Edit = fn(&mut DesiredUser, &mut User);

#[test]
fn diff_table() {
    // (name, edit of desired and tenant, expected "op path" list)
    let cases: Vec<(&str, Edit, Vec<&str>)> = vec![
        ("equal", |_, _| {}, vec![]),
        (
            "userName differs only by case",
            |d, _| d.user.user_name = Some("U1@Example.COM".into()),
            vec![],
        ),
        (
            "title changed",
            |d, _| d.user.title = Some("Lead".into()),
            vec!["replace title"],
        ),
        (
            "unmanaged attribute left alone",
            |d, a| {
                d.user.title = None;
                a.title = Some("Whatever".into());
            },
            vec![],
        ),
        (
            "work email added, other email untouched",
            |d, _| d.user.emails = vec![mv("work", "desk@example.com")],
            vec!["add emails[type eq \"work\"].value"],
        ),
        (
            "email differs only by case",
            |d, a| {
                d.user.emails = vec![mv("work", "Desk@Example.com")];
                a.emails.push(mv("work", "desk@example.com"));
            },
            vec![],
        ),
        (
            "desired email of type other is read-only",
            |d, _| d.user.emails = vec![mv("other", "x@example.com")],
            vec![],
        ),
        (
            "phones compared by type, order-insensitive",
            |d, a| {
                d.user.phone_numbers = vec![mv("work", "+1"), mv("mobile", "+2")];
                a.phone_numbers = vec![mv("mobile", "+2"), mv("work", "+1")];
            },
            vec![],
        ),
        (
            "mobile changed",
            |d, a| {
                d.user.phone_numbers = vec![mv("work", "+1"), mv("mobile", "+3")];
                a.phone_numbers = vec![mv("mobile", "+2"), mv("work", "+1")];
            },
            vec!["replace phoneNumbers[type eq \"mobile\"].value"],
        ),
        (
            "employee kept though the mapping omits it",
            |_, a| a.roles = roles(&["Agent", "employee"]),
            vec![],
        ),
        (
            "extra role removed, employee kept",
            |_, a| a.roles = roles(&["employee", "Agent", "Old"]),
            vec!["replace roles"],
        ),
        (
            "no employee in tenant: not added",
            |_, a| a.roles = roles(&["Agent"]),
            vec![],
        ),
        (
            "skills equal as sets",
            |d, a| {
                d.user.genesys = skills(&[("Billing", 4.0), ("Sales", 2.5)]);
                a.genesys = skills(&[("Sales", 2.5), ("Billing", 4.0)]);
            },
            vec![],
        ),
        (
            "one proficiency changed: the whole list once",
            |d, a| {
                d.user.genesys = skills(&[("Billing", 4.0), ("Sales", 3.0)]);
                a.genesys = skills(&[("Sales", 2.5), ("Billing", 4.0)]);
            },
            vec![
                "replace urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingSkills",
            ],
        ),
        (
            "department changed at its URN path",
            |d, a| {
                d.user.enterprise = ent(|e| e.department = Some("Support".into()));
                a.enterprise = ent(|e| e.department = Some("Sales".into()));
            },
            vec!["replace urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"],
        ),
        (
            "dateHire compared on the date",
            |d, a| {
                d.user.enterprise = ent(|e| e.date_hire = Some("2023-04-17T00:00:00Z".into()));
                a.enterprise = ent(|e| e.date_hire = Some("2023-04-17".into()));
            },
            vec![],
        ),
        (
            "clear title with a value",
            |d, _| {
                d.user.title = None;
                d.clear = vec!["title".into()];
            },
            vec!["remove title"],
        ),
        (
            "clear title without a value: nothing",
            |d, a| {
                d.user.title = None;
                a.title = None;
                d.clear = vec!["title".into()];
            },
            vec![],
        ),
        (
            "clear roles keeps employee",
            |d, _| {
                d.user.roles.clear();
                d.clear = vec!["roles".into()];
            },
            vec!["replace roles"],
        ),
        (
            "clear roles when only employee: nothing",
            |d, a| {
                d.user.roles.clear();
                a.roles = roles(&["employee"]);
                d.clear = vec!["roles".into()];
            },
            vec![],
        ),
        (
            "clear mobile and department",
            |d, a| {
                a.phone_numbers = vec![mv("mobile", "+2"), mv("work", "+1")];
                a.enterprise = ent(|e| e.department = Some("Sales".into()));
                d.clear = vec![MOBILE.into(), DEPT.into(), HIRE.into()];
            },
            vec![
                "remove phoneNumbers[type eq \"mobile\"]",
                "remove urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            ],
        ),
        (
            "issue 15: a valueless mobile entry left by an RFC server counts as absent",
            |d, a| {
                a.phone_numbers = vec![mv("mobile", ""), mv("work", "+1")];
                d.clear = vec![MOBILE.into()];
            },
            vec![],
        ),
        (
            "issue 15: a mobile number added where a valueless entry stands",
            |d, a| {
                a.phone_numbers = vec![mv("mobile", "")];
                d.user.phone_numbers = vec![mv("mobile", "+3")];
            },
            vec!["add phoneNumbers[type eq \"mobile\"].value"],
        ),
        (
            "deactivate",
            |d, _| d.user.active = Some(false),
            vec!["replace active"],
        ),
        (
            "manager changed",
            |d, a| {
                d.user.enterprise = ent(|e| {
                    e.manager = Some(ManagerRef {
                        value: "m2".into(),
                        ..ManagerRef::default()
                    })
                });
                a.enterprise = ent(|e| {
                    e.manager = Some(ManagerRef {
                        value: "m1".into(),
                        ..ManagerRef::default()
                    })
                });
            },
            vec!["replace urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"],
        ),
        (
            "x-pc externalIds entry never touched",
            |d, _| {
                d.user.genesys = Some(GenesysUser {
                    external_ids: vec![ExternalIdEntry {
                        authority: "x-pc:scimv2:v1".into(),
                        value: "zzz".into(),
                    }],
                    ..GenesysUser::default()
                })
            },
            vec![],
        ),
        (
            "teams externalId added",
            |d, _| {
                d.user.genesys = Some(GenesysUser {
                    external_ids: vec![ExternalIdEntry {
                        authority: "microsoftteams".into(),
                        value: "29:1".into(),
                    }],
                    ..GenesysUser::default()
                })
            },
            vec![
                "add urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:externalIds[authority eq \"microsoftteams\"].value",
            ],
        ),
        (
            "several changes in the fixed order",
            |d, _| {
                d.user.enterprise = ent(|e| e.department = Some("Support".into()));
                d.user.title = Some("Lead".into());
                d.user.active = Some(false);
                d.user.display_name = Some("New Name".into());
            },
            vec![
                "replace active",
                "replace displayName",
                "replace title",
                "replace urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            ],
        ),
    ];
    let opts = PlanOptions::default();
    for (name, edit, expect) in cases {
        let (mut d, mut a) = (want("u1"), tenant("u1"));
        edit(&mut d, &mut a);
        let diff = diff_user(&d, &a, &opts);
        assert_eq!(paths(&diff.ops), expect, "{name}");
        assert_eq!(diff.ops.len(), diff.changes.len(), "{name}");
        // applying the ops makes a second diff empty
        let mut after = a.clone();
        apply(&mut after, &diff.ops).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            diff_user(&d, &after, &opts).is_empty(),
            "{name}: not converged"
        );
    }
}

#[test]
fn diff_values() {
    let opts = PlanOptions::default();
    let (d, mut a) = (want("u1"), tenant("u1"));
    a.roles = roles(&["Old", "employee", "Agent"]);
    let diff = diff_user(&d, &a, &opts);
    assert_eq!(
        diff.ops[0].value,
        Some(json!([{"value": "Agent"}, {"value": "employee"}]))
    );
    assert_eq!(
        diff.changes[0].before.as_deref(),
        Some("Agent, Old, employee")
    );
    assert_eq!(diff.changes[0].after.as_deref(), Some("Agent, employee"));
    assert_eq!(
        diff.changes[0].to_string(),
        "roles: Agent, Old, employee -> Agent, employee"
    );
    let mut d = want("u1");
    d.user.title = None;
    d.clear = vec!["title".into()];
    let diff = diff_user(&d, &tenant("u1"), &opts);
    assert_eq!(diff.changes[0].to_string(), "title: Agent -> (none)");

    let mut d = want("u1");
    d.user.genesys = skills(&[("Sales", 3.0), ("Billing", 4.0)]);
    let diff = diff_user(&d, &tenant("u1"), &opts);
    assert_eq!(diff.ops[0].path.as_deref(), Some(P_SKILLS));
    assert_eq!(
        diff.ops[0].value,
        Some(
            json!([{"name": "Billing", "proficiency": 4.0}, {"name": "Sales", "proficiency": 3.0}])
        )
    );

    let mut d = want("u1");
    d.user.enterprise = ent(|e| {
        e.manager = Some(ManagerRef {
            value: "m9".into(),
            ..ManagerRef::default()
        })
    });
    let diff = diff_user(&d, &tenant("u1"), &opts);
    assert_eq!(diff.ops[0].path.as_deref(), Some(P_MANAGER));
    assert_eq!(diff.ops[0].value, Some(json!({"value": "m9"})));
}

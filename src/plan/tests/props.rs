//! Proptests: applying a diff converges to the desired user; plans are stable.

use super::*;
use proptest::prelude::*;
use proptest::sample::subsequence;

fn opt<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    proptest::option::of(s)
}

fn pick(v: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(v).prop_map(str::to_string)
}

prop_compose! {
    fn arb_user()(
        ext in opt(pick(&["E1", "E2"])),
        name in opt(pick(&["a@x.com", "A@X.com", "b@x.com"])),
        display in opt(pick(&["Ana", "Bo", "ana"])),
        title in opt(pick(&["Agent", "Lead", ""])),
        given in opt(pick(&["Ana", "Bo"])),
        active in opt(any::<bool>()),
        work in opt(pick(&["w@x.com", "W@x.com", "v@x.com"])),
        phones in subsequence(vec![("work", "+1"), ("mobile", "+2"), ("home", "+3"), ("mobile", "+4")], 0..4),
        role_list in subsequence(vec!["employee", "Agent", "Lead", "Admin"], 0..4),
        skill_list in subsequence(vec![("Billing", 1.0), ("Sales", 2.5), ("Billing", 4.0), ("Voice", 0.0)], 0..4),
        dept in opt(pick(&["Sales", "Support"])),
        hire in opt(pick(&["2023-04-17", "2023-04-17T00:00:00Z", "2024-01-01"])),
        manager in opt(pick(&["m1", "m2"])),
    ) -> User {
        // one entry per skill name and per phone type, as validation guarantees
        let mut seen = std::collections::BTreeSet::new();
        let skill_list: Vec<_> = skill_list.into_iter().filter(|s| seen.insert(s.0)).collect();
        let mut seen = std::collections::BTreeSet::new();
        let phones: Vec<_> = phones.into_iter().filter(|p| seen.insert(p.0)).collect();
        User {
            external_id: ext,
            user_name: name,
            display_name: display,
            title,
            active,
            name: given.map(|g| crate::scim::model::Name { given_name: Some(g), ..Default::default() }),
            emails: work.map(|w| vec![mv("work", &w)]).unwrap_or_default(),
            phone_numbers: phones.into_iter().map(|(k, v)| mv(k, v)).collect(),
            roles: roles(&role_list),
            enterprise: if dept.is_some() || hire.is_some() || manager.is_some() {
                Some(EnterpriseUser {
                    department: dept,
                    date_hire: hire,
                    manager: manager.map(|m| ManagerRef { value: m, ..Default::default() }),
                    ..Default::default()
                })
            } else { None },
            genesys: if skill_list.is_empty() { None } else { skills(&skill_list) },
            ..User::default()
        }
    }
}

const CLEARABLE: &[&str] = &[
    "title",
    "displayName",
    "name.givenName",
    "roles",
    r#"emails[type eq "work"].value"#,
    r#"phoneNumbers[type eq "mobile"].value"#,
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingSkills",
];

proptest! {
    #[test]
    fn applying_the_diff_converges(
        want in arb_user(),
        mut have in arb_user(),
        clear in subsequence(CLEARABLE.to_vec(), 0..CLEARABLE.len()),
    ) {
        have.id = Some("t1".into());
        let opts = PlanOptions::default();
        let d = DesiredUser {
            user: want.clone(),
            clear: clear.iter().map(|s| s.to_string()).collect(),
            ..DesiredUser::default()
        };
        let diff = diff_user(&d, &have, &opts);
        let mut after = have.clone();
        apply(&mut after, &diff.ops).map_err(TestCaseError::fail)?;
        // converged: nothing left to change
        let again = diff_user(&d, &after, &opts);
        prop_assert!(again.is_empty(), "left: {:?}", again.ops);
        // managed fields equal the desired ones
        if let Some(t) = &want.title { prop_assert_eq!(after.title.as_ref(), Some(t)); }
        if let Some(n) = &want.user_name {
            prop_assert_eq!(after.user_name.as_ref().map(|s| s.to_lowercase()), Some(n.to_lowercase()));
        }
        if let Some(a) = want.active { prop_assert_eq!(after.active.unwrap_or(true), a); }
        if !want.roles.is_empty() {
            for r in &want.roles { prop_assert!(after.roles.contains(r)); }
            for r in &after.roles {
                prop_assert!(want.roles.contains(r) || r.value == "employee");
            }
        }
        if want.genesys.is_some() {
            let mut got: Vec<_> = after.genesys.as_ref().map(|g| g.routing_skills.iter().map(|p| (p.name.clone(), p.proficiency.to_bits())).collect()).unwrap_or_default();
            let mut exp: Vec<_> = want.genesys.as_ref().map(|g| g.routing_skills.iter().map(|p| (p.name.clone(), p.proficiency.to_bits())).collect()).unwrap_or_default();
            got.sort();
            exp.sort();
            prop_assert_eq!(got, exp);
        }
        // cleared (and not desired) attributes are gone
        if clear.contains(&"title") && want.title.is_none() { prop_assert!(after.title.is_none()); }
        if clear.contains(&"roles") && want.roles.is_empty() {
            prop_assert!(after.roles.iter().all(|r| r.value == "employee"));
        }
        // no op for an equal attribute: diffing a user against itself is empty
        let mut same = want.clone();
        same.id = Some("t2".into());
        let self_diff = diff_user(&DesiredUser { user: want.clone(), ..DesiredUser::default() }, &same, &opts);
        prop_assert!(self_diff.is_empty(), "self diff: {:?}", self_diff.ops);
        // deterministic
        prop_assert_eq!(diff_user(&d, &have, &opts), diff.clone());
        // one op per attribute: no path twice
        let mut seen = std::collections::BTreeSet::new();
        prop_assert!(diff.ops.iter().all(|o| seen.insert(o.path.clone())), "dup path: {:?}", diff.ops);
    }

    #[test]
    fn plan_then_apply_then_skip(want in arb_user(), mut have in arb_user()) {
        // the row is the tenant user by externalId
        let mut want = want;
        want.external_id = Some("E1".into());
        want.user_name = Some("a@x.com".into());
        want.enterprise = None; // managers need resolution; covered by the table tests
        have.id = Some("t1".into());
        have.external_id = Some("E1".into());
        have.enterprise = None;
        let mut idx = TenantIndex::new();
        idx.insert_user(have.clone());
        let opts = PlanOptions::default();
        let d = DesiredUser { user: want.clone(), ..DesiredUser::default() };
        let plan = plan_user(&d, &idx, &opts);
        match &plan.action {
            Action::Skip { id, .. } => prop_assert_eq!(id.as_deref(), Some("t1")),
            a => {
                let p = a.patch().ok_or_else(|| TestCaseError::fail(format!("{a:?}")))?;
                prop_assert!(!p.ops.is_empty());
                let was = have.active.unwrap_or(true);
                match (a, want.active) {
                    (Action::Reactivate(_), Some(true)) => prop_assert!(!was),
                    (Action::Deactivate(_), Some(false)) => prop_assert!(was),
                    (Action::Update(_), w) => prop_assert!(w.is_none_or(|w| w == was)),
                    _ => prop_assert!(false, "unexpected {a:?}"),
                }
                let mut after = have.clone();
                for chunk in chunk_ops(p.ops.clone(), 2) {
                    apply(&mut after, &chunk).map_err(TestCaseError::fail)?;
                }
                idx.insert_user(after);
                let again = plan_user(&d, &idx, &opts);
                prop_assert!(matches!(again.action, Action::Skip { .. }), "{:?}", again.action);
            }
        }
    }
}

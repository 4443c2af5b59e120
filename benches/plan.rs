//! Planner throughput: `plan_user` over 10,000 rows against a 10,000-user index
//! (a third unchanged, a third with a title change, a third new), and index building.
//!
//! Run with `cargo bench --bench plan`. Planning is pure CPU; the figure shows it is
//! never the bottleneck next to a 300 requests/minute API budget.

use scimport::mapping::DesiredUser;
use scimport::plan::{PlanOptions, TenantIndex, plan_user};
use scimport::scim::model::{EnterpriseUser, Meta, MultiValue, RoleRef, User};

const N: usize = 10_000;

fn main() {
    divan::main();
}

fn user(i: usize) -> User {
    User {
        external_id: Some(format!("E{i:06}")),
        user_name: Some(format!("user{i}@example.com")),
        display_name: Some(format!("User {i}")),
        title: Some("Agent".into()),
        active: Some(true),
        emails: vec![MultiValue {
            value: format!("desk{i}@example.com"),
            kind: Some("work".into()),
            primary: false,
        }],
        roles: vec![RoleRef {
            value: "Agent".into(),
        }],
        enterprise: Some(EnterpriseUser {
            department: Some(format!("Dept {}", i % 20)),
            ..EnterpriseUser::default()
        }),
        ..User::default()
    }
}

fn tenant() -> Vec<User> {
    (0..N)
        .map(|i| {
            let mut u = user(i);
            u.id = Some(format!("id-{i}"));
            u.roles.push(RoleRef {
                value: "employee".into(),
            });
            u.meta = Some(Meta {
                version: Some("1".into()),
                ..Meta::default()
            });
            u
        })
        .collect()
}

fn rows() -> Vec<DesiredUser> {
    (0..N)
        .map(|i| {
            // i % 3: 0 unchanged, 1 title change, 2 new (beyond the tenant's ids)
            let mut u = user(if i % 3 == 2 { i + N } else { i });
            if i % 3 == 1 {
                u.title = Some("Lead".into());
            }
            DesiredUser {
                row: i as u64 + 1,
                user: u,
                ..DesiredUser::default()
            }
        })
        .collect()
}

#[divan::bench(sample_count = 10)]
fn build_index(b: divan::Bencher) {
    b.with_inputs(tenant).bench_values(|users| {
        let mut idx = TenantIndex::new();
        for u in users {
            idx.insert_user(u);
        }
        idx
    });
}

#[divan::bench(sample_count = 10)]
fn plan_10k_rows(b: divan::Bencher) {
    let mut idx = TenantIndex::new();
    for u in tenant() {
        idx.insert_user(u);
    }
    let rows = rows();
    let opts = PlanOptions::default();
    b.bench(|| {
        rows.iter()
            .map(|d| plan_user(d, &idx, &opts))
            .filter(|p| p.action.patch().is_some())
            .count()
    });
}

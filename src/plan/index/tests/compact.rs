//! The compact form: round trips, key tables, hash collisions, bytes per user.

use super::*;

use crate::scim::model::{
    EnterpriseUser, ExternalIdEntry, GenesysUser, ManagerRef, Meta, MultiValue, Name, Proficiency,
    RoleRef,
};
use keys::KeyHasher;

/// What the index keeps of a user: everything planning reads (see `codec`).
pub(super) fn planned(u: &User) -> User {
    let mut p = u.clone();
    p.schemas.clear();
    p.password = None;
    p.groups.clear();
    if let Some(m) = p.enterprise.as_mut().and_then(|e| e.manager.as_mut()) {
        m.reference = None;
        m.display_name = None;
    }
    p.meta = p.meta.map(|m| Meta {
        version: m.version,
        ..Meta::default()
    });
    p
}

/// A realistic Genesys user as a prefetch page returns it (heavier than the
/// emulator's seeded users: two emails, two phones, a manager, three skills).
fn realistic(i: u64) -> User {
    const TITLES: &[&str] = &[
        "Agent",
        "Senior Agent",
        "Team Lead",
        "Supervisor",
        "Analyst",
    ];
    const DEPTS: &[&str] = &["Sales", "Support", "Billing", "Retention", "Claims"];
    const SKILLS: &[&str] = &["Billing", "Sales", "VIP", "Technical Support", "Claims"];
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        i,
        i % 65_536,
        i % 4096,
        (i * 7) % 4096,
        i * 2_654_435_761
    );
    let name = format!("first{}.last{}.{i}@example.com", i % 97, i % 89);
    let mv = |value: &str, kind: &str, primary: bool| MultiValue {
        value: value.into(),
        kind: Some(kind.into()),
        primary,
    };
    User {
        schemas: vec![
            crate::scim::model::SCHEMA_USER.into(),
            crate::scim::model::SCHEMA_ENTERPRISE.into(),
            crate::scim::model::SCHEMA_GENESYS.into(),
        ],
        id: Some(id.clone()),
        external_id: Some(format!("E{i:07}")),
        user_name: Some(name.clone()),
        display_name: Some(format!("First{} Last{}", i % 97, i % 89)),
        title: Some(TITLES[(i % 5) as usize].into()),
        active: Some(!i.is_multiple_of(10)),
        emails: vec![mv(&name, "work", true), mv(&name, "other", false)],
        phone_numbers: vec![
            mv(&format!("+1415{:07}", i % 10_000_000), "work", true),
            mv(
                &format!("+1312{:07}", (i * 3) % 10_000_000),
                "mobile",
                false,
            ),
        ],
        roles: vec![
            RoleRef {
                value: "employee".into(),
            },
            RoleRef {
                value: "Agent".into(),
            },
        ],
        enterprise: Some(EnterpriseUser {
            employee_number: Some(format!("{i:07}")),
            department: Some(DEPTS[(i % 5) as usize].into()),
            division: Some("Home".into()),
            manager: Some(ManagerRef {
                value: format!("{:08x}-0000-4000-8000-{:012x}", i / 10, i / 10),
                reference: Some(format!(
                    "https://api.example.com/api/v2/scim/v2/Users/{}",
                    i / 10
                )),
                display_name: Some("Boss".into()),
            }),
            date_hire: Some(format!(
                "20{:02}-{:02}-{:02}",
                10 + i % 15,
                1 + i % 12,
                1 + i % 28
            )),
        }),
        genesys: Some(GenesysUser {
            routing_skills: (0..3)
                .map(|k| Proficiency {
                    name: SKILLS[((i + k) % 5) as usize].into(),
                    proficiency: ((i + k) % 6) as f64,
                })
                .collect(),
            routing_languages: vec![Proficiency {
                name: "English".into(),
                proficiency: 4.5,
            }],
            external_ids: vec![ExternalIdEntry {
                authority: crate::scim::model::AUTHORITY_SCIM.into(),
                value: format!("E{i:07}"),
            }],
        }),
        meta: Some(Meta {
            resource_type: Some("User".into()),
            last_modified: Some("2026-01-02T03:04:05.678Z".into()),
            location: Some(format!("https://api.example.com/api/v2/scim/v2/Users/{id}")),
            version: Some(format!("{}", 1 + i % 40)),
        }),
        ..User::default()
    }
}

#[test]
fn round_trip_keeps_the_planned_fields() {
    let mut idx = TenantIndex::new();
    for i in 0..50 {
        let u = realistic(i);
        assert!(idx.insert_user(u.clone()));
        let back = idx.user(u.id.as_deref().unwrap()).expect("inserted");
        assert_eq!(back, planned(&u), "user {i}");
    }
    // odd values: empty strings, a non-integer and a huge proficiency, no extensions
    let odd = User {
        id: Some("odd".into()),
        external_id: Some(String::new()),
        user_name: Some("ÄSTRÖM@example.com".into()),
        name: Some(Name {
            formatted: Some(String::new()),
            given_name: None,
            family_name: Some("Åström".into()),
        }),
        title: Some(String::new()),
        emails: vec![MultiValue::default()],
        genesys: Some(GenesysUser {
            routing_skills: vec![
                Proficiency {
                    name: String::new(),
                    proficiency: 2.25,
                },
                Proficiency {
                    name: "x".into(),
                    proficiency: 1e300,
                },
                Proficiency {
                    name: "y".into(),
                    proficiency: -0.0,
                },
            ],
            ..GenesysUser::default()
        }),
        meta: Some(Meta::default()),
        ..User::default()
    };
    idx.insert_user(odd.clone());
    let back = idx.user("odd").expect("inserted");
    assert_eq!(back, planned(&odd));
    assert!(
        back.genesys.unwrap().routing_skills[2]
            .proficiency
            .is_sign_negative()
    );
    assert_eq!(
        idx.user_by_user_name("äSTRöm@EXAMPLE.com")
            .and_then(|u| u.id)
            .as_deref(),
        Some("odd")
    );
    // an empty externalId is not a key
    assert!(idx.user_by_external_id("").is_none());
}

#[test]
fn issue_17_extension_values_survive_the_index_and_cost_nothing_when_absent() {
    let plain = realistic(7);
    let mut with = plain.clone();
    with.extensions
        .set("urn:acme:ext:2.0:User", "badge", serde_json::json!("B-1"));
    with.extensions
        .set("urn:acme:ext:2.0:User", "grade", serde_json::json!(3));
    let mut i = Interner::default();
    let bare = codec::encode(&plain, &mut i).len();
    let mut i2 = Interner::default();
    assert!(codec::encode(&with, &mut i2).len() > bare);
    let mut idx = TenantIndex::new();
    idx.insert_user(with.clone());
    let back = idx.user(with.id.as_deref().unwrap()).expect("inserted");
    assert_eq!(back, planned(&with));
    assert_eq!(
        back.extensions.value("URN:acme:ext:2.0:User", "GRADE"),
        Some(&serde_json::json!(3))
    );
}

#[test]
fn key_tables_follow_replacements() {
    let mut idx = index();
    assert_eq!(
        (
            idx.by_id.len(),
            idx.by_external_id.len(),
            idx.by_user_name.len()
        ),
        (3, 2, 3)
    );
    // u1 renamed and given another externalId: the old keys go, the new ones point at u1
    idx.insert_user(user("u1", Some("E1b"), "ana2@example.com"));
    assert_eq!(
        (
            idx.by_id.len(),
            idx.by_external_id.len(),
            idx.by_user_name.len()
        ),
        (3, 2, 3)
    );
    assert_eq!(idx.id_by_external_id("E1b"), Some("u1"));
    assert!(idx.user_by_user_name("ANA@example.com").is_none());
    // u2 takes E3 from u3 (last write wins, as before); replacing u3 must not drop it
    idx.insert_user(user("u2", Some("E3"), "bo@example.com"));
    assert_eq!(idx.id_by_external_id("E3"), Some("u2"));
    idx.insert_user(user("u3", None, "cy@example.com"));
    assert_eq!(idx.id_by_external_id("E3"), Some("u2"));
    // u3 takes u2's userName: u2 is no longer found by it, and keeps its externalId
    idx.insert_user(user("u3", None, "BO@example.com"));
    assert_eq!(
        idx.user_by_user_name("bo@example.com")
            .and_then(|u| u.id)
            .as_deref(),
        Some("u3")
    );
    assert!(idx.user_by_user_name("cy@example.com").is_none());
    assert_eq!(idx.user_count(), 3);
}

#[test]
fn a_hash_collision_never_matches_the_wrong_user() {
    // every key hashes alike: only the verification against the record tells them apart
    let mut idx = TenantIndex::with_hasher(KeyHasher::with(|_, _| 42));
    for i in 0..200 {
        idx.insert_user(user(
            &format!("u{i}"),
            Some(&format!("E{i}")),
            &format!("n{i}@x.com"),
        ));
    }
    for i in 0..200 {
        assert_eq!(
            idx.user(&format!("u{i}")).and_then(|u| u.id),
            Some(format!("u{i}"))
        );
        assert_eq!(
            idx.id_by_external_id(&format!("E{i}")),
            Some(format!("u{i}").as_str())
        );
        assert_eq!(
            idx.user_by_user_name(&format!("N{i}@X.com"))
                .and_then(|u| u.id),
            Some(format!("u{i}"))
        );
    }
    assert!(idx.user("u200").is_none());
    assert!(idx.id_by_external_id("E200").is_none());
    assert!(idx.user_by_user_name("n200@x.com").is_none());
    // replacements under collisions
    idx.insert_user(user("u7", Some("E7b"), "n7b@x.com"));
    assert!(idx.id_by_external_id("E7").is_none());
    assert_eq!(idx.id_by_external_id("E8"), Some("u8"));
    assert_eq!(idx.id_by_external_id("E7b"), Some("u7"));
    // the find table holds with colliding hashes too
    let mut colliding = TenantIndex::with_hasher(KeyHasher::with(|_, _| 0));
    colliding.insert_user(user("u1", Some("E1"), "Ana@Example.com"));
    colliding.insert_user(user("u2", None, "bo@example.com"));
    colliding.insert_user(user("u3", Some("E3"), "cy@example.com"));
    let plain = index();
    for (ext, name) in [
        (Some("E1"), Some("cy@example.com")),
        (Some("E9"), Some("cy@example.com")),
        (Some("E2"), Some("BO@example.com")),
        (Some("E9"), Some("nobody@example.com")),
    ] {
        let d = desired(ext, name);
        assert_eq!(
            colliding.find(&d, BOTH),
            plain.find(&d, BOTH),
            "{ext:?} {name:?}"
        );
    }
}

/// 100,000 realistic users take at most 500 bytes each in the index (issue 16).
#[test]
fn issue_16_index_bytes_per_user_within_target() {
    const N: u64 = 100_000;
    let mut idx = TenantIndex::new();
    for i in 0..N {
        idx.insert_user(realistic(i));
    }
    let per_user = idx.heap_bytes() as f64 / N as f64;
    eprintln!("tenant index: {per_user:.0} bytes per tenant user over {N} users");
    assert!(
        per_user <= 500.0,
        "{per_user:.0} bytes per tenant user (target 500)"
    );
}

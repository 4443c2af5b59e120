//! The planner against the real emulator over loopback: every op form it emits
//! (typed paths, URN paths, manager objects, role and skill lists, removes, member
//! PATCHes) is accepted, applying a plan converges, and a re-plan of the re-read
//! tenant is all `Skip` (a re-run sends zero writes).

use reqwest::Method;
use scimport::emulator::{EmulatorConfig, EmulatorHandle, LargePages, spawn};
use scimport::mapping::DesiredUser;
use scimport::plan::{
    Action, DesiredMembers, MemberWant, PlanOptions, TenantIndex, chunk_members, chunk_ops,
    manager_waves, plan_user,
};
use scimport::scim::client::etag_from_version;
use scimport::scim::model::{
    EnterpriseUser, GenesysUser, Group, ListResponse, ManagerRef, MultiValue, PatchRequest,
    Proficiency, RoleRef, User,
};
use serde_json::Value;

struct Tenant {
    handle: EmulatorHandle,
    http: reqwest::Client,
    token: String,
    writes: u32,
}

impl Tenant {
    async fn start() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        // This driver reads whole pages of 100 to check plans, not to model a client.
        let handle = spawn(EmulatorConfig {
            large_pages: LargePages::Allow,
            ..EmulatorConfig::for_tests()
        })
        .await
        .expect("emulator");
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{}/oauth/token", handle.url()))
            .basic_auth(handle.client_id(), Some(handle.client_secret()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token");
        let v: Value = r.json().await.expect("token json");
        let token = v["access_token"]
            .as_str()
            .expect("access_token")
            .to_string();
        Self {
            handle,
            http,
            token,
            writes: 0,
        }
    }

    async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
        etag: Option<String>,
    ) -> Value {
        if method != Method::GET {
            self.writes += 1;
        }
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.handle.scim_url()))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        if let Some(e) = etag {
            req = req.header("if-match", e);
        }
        let r = req.send().await.expect("send");
        let status = r.status();
        let v: Value = r.json().await.expect("json body");
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v
    }

    /// A fresh index of every user (active and inactive) and group.
    async fn index(&mut self) -> TenantIndex {
        let mut idx = TenantIndex::new();
        let groups: ListResponse<Group> = serde_json::from_value(
            self.call(Method::GET, "/groups?count=100", None, None)
                .await,
        )
        .expect("groups");
        for g in groups.resources {
            idx.insert_group(g);
        }
        for q in [
            "/users?count=100",
            "/users?count=100&filter=active%20eq%20false",
        ] {
            let users: ListResponse<User> =
                serde_json::from_value(self.call(Method::GET, q, None, None).await).expect("users");
            for u in users.resources {
                idx.insert_user(u);
            }
        }
        idx
    }

    /// Applies one plan: POST or chunked, version-chained PATCHes; returns the user id.
    async fn apply(&mut self, action: &Action, idx: &mut TenantIndex) -> Option<String> {
        match action {
            Action::Create { user } => {
                let body = serde_json::to_value(user.as_ref()).expect("body");
                let created: User = serde_json::from_value(
                    self.call(Method::POST, "/users", Some(body), None).await,
                )
                .expect("created");
                let id = created.id.clone();
                idx.insert_user(created);
                id
            }
            Action::Update(p) | Action::Reactivate(p) | Action::Deactivate(p) => {
                let mut version = p.version.clone();
                for chunk in chunk_ops(p.ops.clone(), 2) {
                    let body = serde_json::to_value(PatchRequest::new(chunk)).expect("patch");
                    let etag = version.as_deref().map(etag_from_version);
                    let after: User = serde_json::from_value(
                        self.call(Method::PATCH, &format!("/users/{}", p.id), Some(body), etag)
                            .await,
                    )
                    .expect("patched");
                    version = after.meta.as_ref().and_then(|m| m.version.clone());
                    idx.insert_user(after);
                }
                Some(p.id.clone())
            }
            Action::Skip { id, .. } => id.clone(),
            Action::Conflict { reason, .. } => panic!("unexpected conflict: {reason}"),
        }
    }

    /// Plans and applies `rows` in manager waves, then the batched group PATCHes
    /// planned from the groups as the tenant holds them.
    async fn run(&mut self, rows: &[DesiredUser]) -> Vec<Action> {
        let opts = PlanOptions::default();
        let mut idx = self.index().await;
        let waves = manager_waves(rows, &idx);
        let mut actions = vec![None; rows.len()];
        let mut wants = Vec::new();
        for wave in 0..=waves.iter().copied().max().unwrap_or(0) {
            for (i, d) in rows.iter().enumerate().filter(|(i, _)| waves[*i] == wave) {
                let plan = plan_user(d, &idx, &opts);
                assert!(
                    plan.deferred.is_none(),
                    "row {i}: manager not created first"
                );
                let id = self.apply(&plan.action, &mut idx).await.expect("user id");
                if let Some(groups) = &d.groups {
                    wants.push(MemberWant {
                        user_id: id,
                        groups: groups.clone(),
                    });
                }
                actions[i] = Some(plan.action);
            }
        }
        let groups: ListResponse<Group> = serde_json::from_value(
            self.call(Method::GET, "/groups?count=100", None, None)
                .await,
        )
        .expect("groups");
        let desired = DesiredMembers::resolve(&wants, &groups.resources, &opts.managed_groups);
        assert!(desired.unknown.is_empty(), "{:?}", desired.unknown);
        for change in desired.changes(&groups.resources) {
            for ops in chunk_members(&change, 50) {
                let body = serde_json::to_value(PatchRequest::new(ops)).expect("patch");
                self.call(
                    Method::PATCH,
                    &format!("/groups/{}", change.group_id),
                    Some(body),
                    None,
                )
                .await;
            }
        }
        actions.into_iter().map(|a| a.expect("planned")).collect()
    }
}

fn person(ext: &str, manager: Option<&str>) -> DesiredUser {
    DesiredUser {
        row: 1,
        user: User {
            external_id: Some(ext.into()),
            user_name: Some(format!("{}@example.com", ext.to_lowercase())),
            display_name: Some(format!("Person {ext}")),
            title: Some("Agent".into()),
            active: Some(true),
            emails: vec![MultiValue {
                value: format!("{}.desk@example.com", ext.to_lowercase()),
                kind: Some("work".into()),
                primary: false,
            }],
            phone_numbers: vec![MultiValue {
                value: "+14155550123".into(),
                kind: Some("work".into()),
                primary: false,
            }],
            roles: vec![RoleRef {
                value: "Agent".into(),
            }],
            enterprise: Some(EnterpriseUser {
                department: Some("Support".into()),
                division: Some("Home".into()),
                date_hire: Some("2023-04-17".into()),
                manager: manager.map(|m| ManagerRef {
                    value: m.into(),
                    ..ManagerRef::default()
                }),
                ..EnterpriseUser::default()
            }),
            genesys: Some(GenesysUser {
                routing_skills: vec![Proficiency {
                    name: "Billing".into(),
                    proficiency: 4.0,
                }],
                ..GenesysUser::default()
            }),
            ..User::default()
        },
        groups: Some(vec!["Support Team".into(), "Tier 1".into()]),
        ..DesiredUser::default()
    }
}

fn kinds(actions: &[Action]) -> Vec<&'static str> {
    actions.iter().map(|a| a.kind().as_str()).collect()
}

#[tokio::test]
async fn plans_converge_against_the_emulator() {
    let mut t = Tenant::start().await;
    // reports listed before their manager: waves create the manager first
    let mut rows = vec![
        person("R1", Some("M1")),
        person("R2", Some("M1")),
        person("M1", None),
    ];
    assert_eq!(kinds(&t.run(&rows).await), ["create"; 3]);
    // 3 POSTs + 2 group PATCHes (one per group, all members in one op)
    assert_eq!(t.writes, 5);

    // a re-run is all skips and writes nothing
    t.writes = 0;
    assert_eq!(kinds(&t.run(&rows).await), ["skip"; 3]);
    assert_eq!(t.writes, 0);

    // changes of every kind
    let r1 = &mut rows[0];
    r1.user.title = Some("Lead".into());
    r1.user.phone_numbers.push(MultiValue {
        value: "+14155550199".into(),
        kind: Some("mobile".into()),
        primary: false,
    });
    r1.user.roles.push(RoleRef {
        value: "Supervisor".into(),
    });
    r1.user.enterprise.as_mut().expect("ent").department = None;
    r1.clear = vec!["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department".into()];
    r1.user.genesys = Some(GenesysUser {
        routing_skills: vec![
            Proficiency {
                name: "Billing".into(),
                proficiency: 2.5,
            },
            Proficiency {
                name: "VIP".into(),
                proficiency: 1.0,
            },
        ],
        ..GenesysUser::default()
    });
    r1.groups = Some(vec!["Support Team".into(), "Tier 2".into()]);
    rows[1].user.active = Some(false);
    rows[1].user.enterprise.as_mut().expect("ent").manager = None;
    t.writes = 0;
    let actions = t.run(&rows).await;
    assert_eq!(kinds(&actions), ["update", "deactivate", "skip"]);
    let changed = actions[0].patch().expect("patch").changed.clone();
    assert_eq!(
        changed,
        [
            "title",
            "phoneNumbers[type eq \"mobile\"].value",
            "roles",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingSkills",
            "groups",
        ]
    );
    // R1: 5 ops in chunks of 2 = 3 PATCHes; R2: 1; groups: Tier 1 remove, Tier 2 add
    assert_eq!(t.writes, 3 + 1 + 2);

    // converged: nothing left, and the tenant kept `employee`
    t.writes = 0;
    assert_eq!(kinds(&t.run(&rows).await), ["skip"; 3]);
    assert_eq!(t.writes, 0);
    let idx = t.index().await;
    let r1 = idx.user_by_external_id("R1").expect("R1");
    let mut roles: Vec<&str> = r1.roles.iter().map(|r| r.value.as_str()).collect();
    roles.sort();
    assert_eq!(roles, ["Agent", "Supervisor", "employee"]);
    let m1 = idx.user_by_external_id("M1").and_then(|u| u.id.clone());
    assert_eq!(
        r1.enterprise
            .as_ref()
            .and_then(|e| e.manager.as_ref())
            .map(|m| m.value.clone()),
        m1
    );

    // reactivation: one PATCH
    rows[1].user.active = Some(true);
    t.writes = 0;
    assert_eq!(kinds(&t.run(&rows).await), ["skip", "reactivate", "skip"]);
    assert_eq!(t.writes, 1);
    assert_eq!(kinds(&t.run(&rows).await), ["skip"; 3]);
    t.handle.shutdown().await;
}

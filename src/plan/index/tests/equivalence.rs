//! Plans against the compact index equal plans against the old one (a reference
//! copy of the old index, kept here).

use super::compact::planned;
use super::*;
use crate::plan::PlanOptions;
use crate::plan::diff::diff_user;
use crate::scim::model::{
    EnterpriseUser, GenesysUser, ManagerRef, Meta, MultiValue, Proficiency, RoleRef,
};
use proptest::prelude::*;

/// The index as it was before issue 16 (whole users in maps keyed by owned strings),
/// reduced to what `find` and the manager lookup read: the reference the compact
/// index must agree with.
#[derive(Default)]
struct Reference {
    users: HashMap<String, User>,
    by_external_id: HashMap<String, String>,
    by_user_name: HashMap<String, String>,
}

impl Reference {
    fn insert(&mut self, user: User) {
        let Some(id) = user.id.clone() else { return };
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
        self.users.insert(id, user);
    }

    fn by_ext(&self, ext: &str) -> Option<&User> {
        self.by_external_id
            .get(ext)
            .and_then(|id| self.users.get(id))
    }

    fn by_name(&self, name: &str) -> Option<&User> {
        self.by_user_name
            .get(&name.to_lowercase())
            .and_then(|id| self.users.get(id))
    }

    /// The old `find`: the matched user (whole), or the conflict.
    fn find(
        &self,
        d: &DesiredUser,
        keys: &[MatchKey],
    ) -> Result<Option<&User>, (ErrorKind, String)> {
        let ext = d.external_id().filter(|s| !s.is_empty());
        let name = d.user_name().filter(|s| !s.is_empty());
        let mut usable = false;
        for key in keys {
            match key {
                MatchKey::ExternalId => {
                    let Some(ext) = ext else { continue };
                    usable = true;
                    if let Some(user) = self.by_ext(ext) {
                        if let Some(name) = name
                            && let Some(owner) = self.by_name(name)
                            && owner.id != user.id
                        {
                            return Err((
                                ErrorKind::UserNameTaken,
                                format!(
                                    "userName {name} belongs to tenant user {} (externalId {}), not to {}; not overwritten",
                                    owner.id.as_deref().unwrap_or("?"),
                                    owner.external_id.as_deref().unwrap_or("none"),
                                    user.id.as_deref().unwrap_or("?"),
                                ),
                            ));
                        }
                        return Ok(Some(user));
                    }
                }
                MatchKey::UserName => {
                    let Some(name) = name else { continue };
                    usable = true;
                    if let Some(user) = self.by_name(name) {
                        return match (ext, user.external_id.as_deref()) {
                            (Some(want), Some(have)) if !have.is_empty() && want != have => Err((
                                ErrorKind::ExternalIdMismatch,
                                format!(
                                    "userName {name} belongs to tenant user {} whose externalId is {have}, not {want}; not overwritten",
                                    user.id.as_deref().unwrap_or("?")
                                ),
                            )),
                            _ => Ok(Some(user)),
                        };
                    }
                }
            }
        }
        if usable {
            Ok(None)
        } else {
            Err((
                ErrorKind::NoKey,
                "the row has none of the match keys (externalId, userName)".into(),
            ))
        }
    }
}

fn small(v: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    proptest::option::of(proptest::sample::select(v).prop_map(str::to_string))
}

prop_compose! {
    /// A tenant user whose keys clash often (few ids, externalIds and userNames, in
    /// several cases), carrying fields the index drops and fields it keeps.
    fn arb_tenant_user()(
        id in proptest::sample::select(&["u1", "u2", "u3", "u4", "u5"][..]),
        ext in small(&["E1", "E2", "E3", ""]),
        name in small(&["a@x.com", "A@X.com", "b@x.com", "c@x.com", "ǅ@x.com"]),
        display in small(&["Ana", "Bo"]),
        title in small(&["Agent", "Lead", ""]),
        active in proptest::option::of(any::<bool>()),
        work in small(&["w@x.com", "W@x.com"]),
        dept in small(&["Sales", "Support"]),
        manager in small(&["u1", "u2"]),
        skill in proptest::option::of((small(&["Billing", "Sales"]), 0.0..5.0f64)),
        version in small(&["1", "7"]),
        reference in small(&["https://x/Users/u1"]),
    ) -> User {
        realistic_small(id, ext, name, display, title, active, work, dept, manager, skill, version, reference)
    }
}

#[allow(clippy::too_many_arguments)]
fn realistic_small(
    id: &str,
    ext: Option<String>,
    name: Option<String>,
    display: Option<String>,
    title: Option<String>,
    active: Option<bool>,
    work: Option<String>,
    dept: Option<String>,
    manager: Option<String>,
    skill: Option<(Option<String>, f64)>,
    version: Option<String>,
    reference: Option<String>,
) -> User {
    User {
        schemas: vec![crate::scim::model::SCHEMA_USER.into()],
        id: Some(id.into()),
        external_id: ext,
        user_name: name,
        display_name: display,
        title,
        active,
        emails: work
            .map(|w| {
                vec![MultiValue {
                    value: w,
                    kind: Some("work".into()),
                    primary: true,
                }]
            })
            .unwrap_or_default(),
        roles: vec![RoleRef {
            value: "employee".into(),
        }],
        enterprise: Some(EnterpriseUser {
            department: dept,
            manager: manager.map(|value| ManagerRef {
                value,
                reference: reference.clone(),
                display_name: Some("Boss".into()),
            }),
            ..EnterpriseUser::default()
        }),
        genesys: skill.map(|(n, p)| GenesysUser {
            routing_skills: vec![Proficiency {
                name: n.unwrap_or_default(),
                proficiency: p,
            }],
            ..GenesysUser::default()
        }),
        meta: Some(Meta {
            version,
            location: reference,
            ..Meta::default()
        }),
        ..User::default()
    }
}

proptest! {
    /// Over tenants with clashing keys, the compact index finds what the old index
    /// found, and the user it returns plans exactly like the whole user: the same
    /// diff (ops and changes), id, version and active, so `plan_user` (which reads the
    /// index only through `find` and `id_by_external_id`) plans the same.
    #[test]
    fn compact_index_plans_like_the_old_one(
        tenant in proptest::collection::vec(arb_tenant_user(), 0..12),
        rows in proptest::collection::vec(arb_tenant_user(), 1..6),
        keys in proptest::sample::select(vec![
            vec![MatchKey::ExternalId, MatchKey::UserName],
            vec![MatchKey::UserName, MatchKey::ExternalId],
            vec![MatchKey::ExternalId],
            vec![MatchKey::UserName],
        ]),
    ) {
        let mut idx = TenantIndex::new();
        let mut reference = Reference::default();
        for u in tenant {
            idx.insert_user(u.clone());
            reference.insert(u);
        }
        let opts = PlanOptions::default();
        for row in rows {
            let mut want = row.clone();
            want.id = None;
            want.meta = None;
            let d = DesiredUser { user: want, ..DesiredUser::default() };
            for ext in ["E1", "E2", "E3", "", "E9"] {
                prop_assert_eq!(idx.id_by_external_id(ext), reference.by_ext(ext).and_then(|u| u.id.as_deref()));
            }
            match (idx.find(&d, &keys), reference.find(&d, &keys)) {
                (Match::None, Ok(None)) => {}
                (Match::One(got), Ok(Some(whole))) => {
                    prop_assert_eq!(&*got, &planned(whole));
                    prop_assert_eq!(diff_user(&d, &got, &opts), diff_user(&d, whole, &opts));
                    prop_assert_eq!(&got.id, &whole.id);
                    prop_assert_eq!(
                        got.meta.as_ref().and_then(|m| m.version.clone()),
                        whole.meta.as_ref().and_then(|m| m.version.clone())
                    );
                    prop_assert_eq!(got.active, whole.active);
                }
                (Match::Conflict { kind, reason }, Err((k, r))) => {
                    prop_assert_eq!(kind, k);
                    prop_assert_eq!(reason, r);
                }
                (got, want) => prop_assert!(false, "compact {:?}, old {:?}", got, want),
            }
        }
    }
}

//! Tests of the planner as a whole: table tests for `diff_user` (`diff_cases`) and
//! `plan_user` (`plan_cases`), proptests (`props`), and a test-only PATCH applier
//! (`patch_apply`). Shared fixtures live here.

mod diff_cases;
mod patch_apply;
mod plan_cases;
mod props;

use serde_json::json;

use crate::mapping::DesiredUser;
use crate::plan::diff::{P_MANAGER, P_SKILLS};
use crate::plan::*;
use crate::scim::model::{
    EnterpriseUser, ExternalIdEntry, GenesysUser, Group, GroupRef, ManagerRef, Meta, MultiValue,
    PatchOperation, Proficiency, RoleRef, SCHEMA_ENTERPRISE, SCHEMA_USER, User,
};
use patch_apply::apply;

const DEPT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";
const HIRE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:dateHire";
const MOBILE: &str = r#"phoneNumbers[type eq "mobile"].value"#;

fn mv(kind: &str, value: &str) -> MultiValue {
    MultiValue {
        value: value.into(),
        kind: Some(kind.into()),
        primary: false,
    }
}

fn roles(v: &[&str]) -> Vec<RoleRef> {
    v.iter()
        .map(|r| RoleRef {
            value: r.to_string(),
        })
        .collect()
}

fn skills(v: &[(&str, f64)]) -> Option<GenesysUser> {
    Some(GenesysUser {
        routing_skills: v
            .iter()
            .map(|(n, p)| Proficiency {
                name: n.to_string(),
                proficiency: *p,
            })
            .collect(),
        ..GenesysUser::default()
    })
}

fn ent(f: impl FnOnce(&mut EnterpriseUser)) -> Option<EnterpriseUser> {
    let mut e = EnterpriseUser::default();
    f(&mut e);
    Some(e)
}

/// A tenant user with every field the base desired user sets, equal to it.
fn tenant(id: &str) -> User {
    User {
        id: Some(id.into()),
        external_id: Some(format!("E-{id}")),
        user_name: Some(format!("{id}@example.com")),
        display_name: Some(format!("User {id}")),
        title: Some("Agent".into()),
        active: Some(true),
        emails: vec![mv("other", &format!("{id}@example.com"))],
        roles: roles(&["employee", "Agent"]),
        meta: Some(Meta {
            version: Some("7".into()),
            ..Meta::default()
        }),
        ..User::default()
    }
}

fn want(id: &str) -> DesiredUser {
    DesiredUser {
        row: 1,
        user: User {
            external_id: Some(format!("E-{id}")),
            user_name: Some(format!("{id}@example.com")),
            display_name: Some(format!("User {id}")),
            title: Some("Agent".into()),
            active: Some(true),
            roles: roles(&["Agent"]),
            ..User::default()
        },
        ..DesiredUser::default()
    }
}

fn paths(ops: &[PatchOperation]) -> Vec<String> {
    ops.iter()
        .map(|o| format!("{} {}", o.op, o.path.as_deref().unwrap_or("")))
        .collect()
}

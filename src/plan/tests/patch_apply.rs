//! Test-only: a small RFC 7644 PATCH applier for exactly the path forms the planner
//! emits, strict like a server (a `replace` on a filtered path with no match is
//! `noTarget`). Used to check that applying a diff yields the desired user.

use serde_json::Value;

use crate::plan::diff::{P_LANGUAGES, P_MANAGER, P_SKILLS};
use crate::scim::model::{
    EnterpriseUser, ExternalIdEntry, GenesysUser, ManagerRef, MultiValue, Name, PatchOperation,
    Proficiency, RoleRef, SCHEMA_ENTERPRISE, SCHEMA_GENESYS, User,
};

fn string(v: &Option<Value>) -> Result<Option<String>, String> {
    match v {
        Some(Value::String(s)) => Ok(Some(s.clone())),
        None => Ok(None),
        other => Err(format!("expected a string, got {other:?}")),
    }
}

fn set_scalar(slot: &mut Option<String>, op: &PatchOperation) -> Result<(), String> {
    match op.op.as_str() {
        "add" | "replace" => *slot = Some(string(&op.value)?.ok_or("no value")?),
        "remove" => *slot = None,
        o => return Err(format!("bad op {o}")),
    }
    Ok(())
}

/// The key of a `prefix[key eq "K"].value` path, or of a whole-entry
/// `prefix[key eq "K"]` path (flagged `true`).
fn typed_entry<'a>(path: &'a str, prefix: &str, key: &str) -> Option<(&'a str, bool)> {
    let rest = path
        .strip_prefix(prefix)?
        .strip_prefix(&format!("[{key} eq \""))?;
    match rest.strip_suffix("\"].value") {
        Some(k) => Some((k, false)),
        None => rest.strip_suffix("\"]").map(|k| (k, true)),
    }
}

fn typed<'a>(path: &'a str, prefix: &str, key: &str) -> Option<&'a str> {
    typed_entry(path, prefix, key).map(|(k, _)| k)
}

/// Applies one op to a typed list as an RFC 7644 server does: `remove` of a whole
/// entry drops it; `remove` of its `.value` leaves the entry without a value.
fn set_typed(
    list: &mut Vec<MultiValue>,
    (kind, whole): (&str, bool),
    op: &PatchOperation,
) -> Result<(), String> {
    let pos = list.iter().position(|m| {
        m.kind
            .as_deref()
            .unwrap_or("work")
            .eq_ignore_ascii_case(kind)
    });
    match (op.op.as_str(), pos) {
        ("add", None) => list.push(MultiValue {
            value: string(&op.value)?.ok_or("no value")?,
            kind: Some(kind.to_string()),
            primary: false,
        }),
        ("add" | "replace", Some(i)) => list[i].value = string(&op.value)?.ok_or("no value")?,
        ("replace", None) => return Err(format!("noTarget: no entry of type {kind}")),
        ("remove", Some(i)) if !whole => list[i].value.clear(),
        ("remove", _) => list.retain(|m| {
            !m.kind
                .as_deref()
                .unwrap_or("work")
                .eq_ignore_ascii_case(kind)
        }),
        (o, _) => return Err(format!("bad op {o}")),
    }
    Ok(())
}

fn proficiency_list(v: &Option<Value>) -> Result<Vec<Proficiency>, String> {
    serde_json::from_value(v.clone().ok_or("no value")?).map_err(|e| e.to_string())
}

/// Applies the ops in order, like a server would.
pub fn apply(user: &mut User, ops: &[PatchOperation]) -> Result<(), String> {
    for op in ops {
        apply_one(user, op)?;
    }
    Ok(())
}

fn apply_one(u: &mut User, op: &PatchOperation) -> Result<(), String> {
    let path = op.path.as_deref().ok_or("no path")?;
    let ent_field = path
        .strip_prefix(SCHEMA_ENTERPRISE)
        .and_then(|p| p.strip_prefix(':'));
    match path {
        "active" => match (op.op.as_str(), &op.value) {
            ("replace" | "add", Some(Value::Bool(b))) => u.active = Some(*b),
            _ => return Err("bad active op".into()),
        },
        "externalId" => set_scalar(&mut u.external_id, op)?,
        "userName" => set_scalar(&mut u.user_name, op)?,
        "displayName" => set_scalar(&mut u.display_name, op)?,
        "title" => set_scalar(&mut u.title, op)?,
        "name.givenName" => {
            set_scalar(&mut u.name.get_or_insert_with(Name::default).given_name, op)?
        }
        "name.familyName" => set_scalar(
            &mut u.name.get_or_insert_with(Name::default).family_name,
            op,
        )?,
        "name.formatted" => {
            set_scalar(&mut u.name.get_or_insert_with(Name::default).formatted, op)?
        }
        "roles" => match op.op.as_str() {
            "replace" => {
                u.roles =
                    serde_json::from_value::<Vec<RoleRef>>(op.value.clone().ok_or("no value")?)
                        .map_err(|e| e.to_string())?
            }
            "remove" => u.roles.clear(),
            o => return Err(format!("bad roles op {o}")),
        },
        P_MANAGER => {
            let e = u.enterprise.get_or_insert_with(EnterpriseUser::default);
            match op.op.as_str() {
                "replace" | "add" => {
                    let v = op
                        .value
                        .as_ref()
                        .and_then(|v| v.get("value"))
                        .and_then(Value::as_str);
                    e.manager = Some(ManagerRef {
                        value: v.ok_or("manager without value")?.to_string(),
                        ..ManagerRef::default()
                    });
                }
                "remove" => e.manager = None,
                o => return Err(format!("bad manager op {o}")),
            }
        }
        P_SKILLS | P_LANGUAGES => {
            let g = u.genesys.get_or_insert_with(GenesysUser::default);
            let list = if path == P_SKILLS {
                &mut g.routing_skills
            } else {
                &mut g.routing_languages
            };
            match op.op.as_str() {
                "replace" => *list = proficiency_list(&op.value)?,
                "remove" => list.clear(),
                o => return Err(format!("bad list op {o}")),
            }
        }
        _ if ent_field.is_some() => {
            let e = u.enterprise.get_or_insert_with(EnterpriseUser::default);
            let slot = match ent_field.unwrap_or_default() {
                "department" => &mut e.department,
                "division" => &mut e.division,
                "employeeNumber" => &mut e.employee_number,
                "dateHire" => &mut e.date_hire,
                other => return Err(format!("unknown enterprise field {other}")),
            };
            set_scalar(slot, op)?;
        }
        _ => {
            if let Some(entry) = typed_entry(path, "emails", "type") {
                if entry.0 == "other" {
                    return Err("mutability: emails of type other are read-only".into());
                }
                set_typed(&mut u.emails, entry, op)?;
            } else if let Some(entry) = typed_entry(path, "phoneNumbers", "type") {
                set_typed(&mut u.phone_numbers, entry, op)?;
            } else if let Some(auth) =
                typed(path, &format!("{SCHEMA_GENESYS}:externalIds"), "authority")
            {
                let g = u.genesys.get_or_insert_with(GenesysUser::default);
                let pos = g.external_ids.iter().position(|x| x.authority == auth);
                match (op.op.as_str(), pos) {
                    ("add", None) => g.external_ids.push(ExternalIdEntry {
                        authority: auth.into(),
                        value: string(&op.value)?.ok_or("no value")?,
                    }),
                    ("add" | "replace", Some(i)) => {
                        g.external_ids[i].value = string(&op.value)?.ok_or("no value")?
                    }
                    ("remove", _) => g.external_ids.retain(|x| x.authority != auth),
                    _ => return Err(format!("noTarget: authority {auth}")),
                }
            } else {
                return Err(format!("invalidPath: {path}"));
            }
        }
    }
    Ok(())
}

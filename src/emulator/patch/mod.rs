//! RFC 7644 PATCH applied to a resource's writable JSON: `add`, `replace`, `remove`
//! (op case-insensitive), plain and sub-attribute paths, value-filter paths such as
//! `emails[type eq "work"].value`, extension-URN paths, and path-less object values.
//!
//! Owns applying operations: the read-only mirrors (the `other` email, the
//! `x-pc:scimv2:v1` externalIds entry -> 400 `mutability`), the merge rules of
//! multi-valued attributes, and `remove` of a sub-attribute, which keeps the entry
//! (RFC 7644 §3.5.2.2). `attrs.rs` resolves a path's attribute (unknown ones per
//! `--unknown-attributes`). Does not validate values (see `rules`).

use std::str::FromStr;

use scim_v2::filter::{AttrExp, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value};

use attrs::{MULTI, Scope, canonical, ext_urn, scope_of};

use super::config::UnknownAttributes;
use super::errors::ApiError;
use super::filter::val_matches;
use crate::scim::model::{AUTHORITY_SCIM, PatchOperation, SCHEMA_GROUP, SCHEMA_USER};

/// Which resource a PATCH applies to, with its read-only mirrors.
#[derive(Debug, Clone)]
pub enum Resource {
    /// A user; `user_name` and `external_id` feed the read-only mirrors.
    User {
        /// Current userName (the `other` email mirrors it).
        user_name: Option<String>,
        /// Current externalId (the `x-pc:scimv2:v1` entry mirrors it).
        external_id: Option<String>,
        /// What a path naming an attribute the user lacks gets.
        unknown: UnknownAttributes,
    },
    /// A group.
    Group,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Applies operations in order to `doc` (the resource's writable attributes).
pub fn apply(doc: &mut Value, ops: &[PatchOperation], res: &Resource) -> Result<(), ApiError> {
    if ops.is_empty() {
        return Err(ApiError::scim400(
            "invalidSyntax",
            "PATCH needs at least one operation",
        ));
    }
    for o in ops {
        let op = match o.op.to_ascii_lowercase().as_str() {
            "add" => Op::Add,
            "replace" => Op::Replace,
            "remove" => Op::Remove,
            other => {
                return Err(ApiError::scim400(
                    "invalidSyntax",
                    format!("unknown PATCH op {other:?}: use add, replace or remove"),
                ));
            }
        };
        match (&o.path, op) {
            (None, Op::Remove) => {
                return Err(ApiError::scim400("noTarget", "remove requires a path"));
            }
            (None, _) => {
                let Some(Value::Object(map)) = &o.value else {
                    return Err(ApiError::scim400(
                        "invalidValue",
                        "a PATCH without path needs an object value",
                    ));
                };
                for (k, v) in map {
                    if k.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    apply_path(doc, op, k, Some(v), res)?;
                }
            }
            (Some(path), _) => {
                if op != Op::Remove && o.value.is_none() {
                    return Err(ApiError::scim400(
                        "invalidValue",
                        format!("{:?} on {path} needs a value", o.op),
                    ));
                }
                apply_path(doc, op, path, o.value.as_ref(), res)?
            }
        }
    }
    Ok(())
}

fn apply_path(
    doc: &mut Value,
    op: Op,
    path: &str,
    value: Option<&Value>,
    res: &Resource,
) -> Result<(), ApiError> {
    let path = path.trim();
    // A bare extension URN addresses the whole extension object.
    if let Some(urn) = ext_urn(path) {
        if matches!(res, Resource::Group) {
            return Err(ApiError::invalid_path(format!(
                "unknown attribute {path:?}"
            )));
        }
        match (op, value) {
            (Op::Remove, _) => {
                if let Some(m) = doc.as_object_mut() {
                    m.remove(urn);
                }
                return Ok(());
            }
            (_, Some(Value::Object(map))) => {
                for (k, v) in map {
                    apply_path(doc, op, &format!("{urn}:{k}"), Some(v), res)?;
                }
                return Ok(());
            }
            _ => {
                return Err(ApiError::invalid_value(format!(
                    "{path} needs an object value"
                )));
            }
        }
    }
    if matches!(res, Resource::User { .. })
        && path.len() > SCHEMA_USER.len()
        && path
            .get(..SCHEMA_USER.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(SCHEMA_USER))
        && path.as_bytes()[SCHEMA_USER.len()] == b':'
    {
        return apply_path(doc, op, &path[SCHEMA_USER.len() + 1..], value, res);
    }
    if matches!(res, Resource::Group)
        && path.len() > SCHEMA_GROUP.len()
        && path
            .get(..SCHEMA_GROUP.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(SCHEMA_GROUP))
        && path.as_bytes()[SCHEMA_GROUP.len()] == b':'
    {
        return apply_path(doc, op, &path[SCHEMA_GROUP.len() + 1..], value, res);
    }
    let parsed = PatchPath::from_str(path)
        .map_err(|e| ApiError::invalid_path(format!("invalid path {path:?}: {e}")))?;
    let (attr, filter, sub) = match &parsed {
        PatchPath::Attr(a) => (a, None, a.sub_attr.as_deref()),
        PatchPath::Value(v) => (&v.attr, Some(&v.filter), v.sub_attr.as_deref()),
    };
    let scope = scope_of(attr, res)?;
    let Some(name) = canonical(res, scope, &attr.name)? else {
        return Ok(());
    };
    check_read_only(res, name, filter, value, op)?;
    let root = doc
        .as_object_mut()
        .ok_or_else(|| ApiError::invalid_value("resource is not an object"))?;
    let container = match scope {
        Scope::Root => root,
        Scope::Ext(urn) => {
            if op == Op::Remove && !root.contains_key(urn) {
                return Ok(());
            }
            let ext = root
                .entry(urn.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !ext.is_object() {
                *ext = Value::Object(Map::new());
            }
            ext.as_object_mut()
                .ok_or_else(|| ApiError::invalid_value("extension is not an object"))?
        }
    };
    let value = value.map(|v| normalise(name, v.clone(), res));
    match filter {
        None => apply_attr(container, op, name, sub, value),
        Some(f) => apply_filtered(container, op, name, f, sub, value),
    }
}

/// Accepts the loose forms IdPs send: `"True"` for booleans, a bare id for manager.
fn normalise(name: &str, v: Value, res: &Resource) -> Value {
    match (name, v) {
        ("active", Value::String(s)) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
        ("active", Value::String(s)) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
        ("manager", Value::String(s)) => serde_json::json!({ "value": s }),
        ("externalIds", Value::Array(xs)) => {
            let mirror = match res {
                Resource::User { external_id, .. } => external_id.clone(),
                Resource::Group => None,
            };
            Value::Array(
                xs.into_iter()
                    .filter(|x| {
                        let is_scim = x
                            .get("authority")
                            .and_then(Value::as_str)
                            .is_some_and(|a| a.starts_with(AUTHORITY_SCIM));
                        let same = x.get("value").and_then(Value::as_str) == mirror.as_deref();
                        !(is_scim && same)
                    })
                    .collect(),
            )
        }
        (_, v) => v,
    }
}

fn check_read_only(
    res: &Resource,
    name: &str,
    filter: Option<&ValFilter>,
    value: Option<&Value>,
    op: Op,
) -> Result<(), ApiError> {
    let Resource::User {
        user_name,
        external_id,
        ..
    } = res
    else {
        return Ok(());
    };
    let mirror = match name {
        "emails" => serde_json::json!({"type": "other", "primary": true, "value": user_name}),
        "externalIds" => serde_json::json!({"authority": AUTHORITY_SCIM, "value": external_id}),
        _ => return Ok(()),
    };
    if let Some(f) = filter
        && val_matches(f, &mirror)
    {
        return Err(ApiError::mutability(format!(
            "the {name} entry {mirror} is read-only"
        )));
    }
    if name == "externalIds"
        && op != Op::Remove
        && let Some(v) = value
    {
        let items = match v {
            Value::Array(xs) => xs.iter().collect::<Vec<_>>(),
            v => vec![v],
        };
        for x in items {
            let scim = x
                .get("authority")
                .and_then(Value::as_str)
                .is_some_and(|a| a.starts_with(AUTHORITY_SCIM));
            if scim && x.get("value").and_then(Value::as_str) != external_id.as_deref() {
                return Err(ApiError::mutability(format!(
                    "the {AUTHORITY_SCIM} externalIds entry mirrors externalId and is read-only"
                )));
            }
        }
    }
    Ok(())
}

/// The key that identifies an element of a multi-valued attribute.
fn element_key(name: &str) -> &'static str {
    match name {
        "emails" | "phoneNumbers" => "type",
        "routingSkills" | "routingLanguages" => "name",
        "externalIds" => "authority",
        _ => "value",
    }
}

/// Adds `items` to `list`, replacing an element with the same key (`type`, `name`,
/// `value`, ...). Indexes the keys once, so a group PATCH adding thousands of members
/// to a group of thousands stays linear.
fn merge_all(list: &mut Vec<Value>, name: &str, items: Vec<Value>) {
    let key = element_key(name);
    let mut index: std::collections::HashMap<String, usize> = list
        .iter()
        .enumerate()
        .filter_map(|(i, x)| x.get(key).map(|k| (k.to_string(), i)))
        .collect();
    for item in items {
        match item.get(key).map(Value::to_string) {
            Some(k) => match index.get(&k) {
                Some(&pos) => list[pos] = item,
                None => {
                    index.insert(k, list.len());
                    list.push(item);
                }
            },
            None => list.push(item),
        }
    }
}

fn apply_attr(
    container: &mut Map<String, Value>,
    op: Op,
    name: &str,
    sub: Option<&str>,
    value: Option<Value>,
) -> Result<(), ApiError> {
    let multi = MULTI.contains(&name);
    if let Some(sub) = sub {
        if multi {
            return Err(ApiError::invalid_path(format!(
                "{name}.{sub} needs a filter such as {name}[type eq \"work\"].{sub}"
            )));
        }
        if op == Op::Remove {
            if let Some(Value::Object(m)) = container.get_mut(name) {
                m.retain(|k, _| !k.eq_ignore_ascii_case(sub));
            }
            return Ok(());
        }
        let obj = container
            .entry(name.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !obj.is_object() {
            *obj = Value::Object(Map::new());
        }
        if let Some(m) = obj.as_object_mut() {
            m.insert(sub.to_string(), value.unwrap_or(Value::Null));
        }
        return Ok(());
    }
    match op {
        Op::Remove => {
            match (value, container.get_mut(name)) {
                (Some(v), Some(Value::Array(list))) if multi => {
                    let targets = match v {
                        Value::Array(xs) => xs,
                        v => vec![v],
                    };
                    let key = element_key(name);
                    list.retain(|x| !targets.iter().any(|t| t.get(key) == x.get(key)));
                }
                _ => {
                    container.remove(name);
                }
            }
            Ok(())
        }
        Op::Replace | Op::Add if multi => {
            let items = match value.unwrap_or(Value::Null) {
                Value::Array(xs) => xs,
                Value::Null => Vec::new(),
                v => vec![v],
            };
            if op == Op::Replace {
                let mut list = Vec::new();
                merge_all(&mut list, name, items);
                container.insert(name.to_string(), Value::Array(list));
            } else {
                let slot = container
                    .entry(name.to_string())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                if let Value::Array(list) = slot {
                    merge_all(list, name, items);
                }
            }
            Ok(())
        }
        _ => {
            let value = value.unwrap_or(Value::Null);
            match (container.get_mut(name), value) {
                (Some(Value::Object(existing)), Value::Object(new)) => {
                    for (k, v) in new {
                        existing.insert(k, v);
                    }
                }
                (_, v) => {
                    container.insert(name.to_string(), v);
                }
            }
            Ok(())
        }
    }
}

/// A new element built from a filter's `eq` clauses (`[type eq "work"]` -> `{type: work}`).
fn seed_from_filter(f: &ValFilter, out: &mut Map<String, Value>) {
    match f {
        ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, v)) => {
            let v = match v {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::True => Value::Bool(true),
                CompValue::False => Value::Bool(false),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => Value::Null,
            };
            out.insert(p.name.clone(), v);
        }
        ValFilter::And(xs) => xs.as_slice().iter().for_each(|x| seed_from_filter(x, out)),
        _ => {}
    }
}

fn apply_filtered(
    container: &mut Map<String, Value>,
    op: Op,
    name: &str,
    filter: &ValFilter,
    sub: Option<&str>,
    value: Option<Value>,
) -> Result<(), ApiError> {
    if !MULTI.contains(&name) {
        return Err(ApiError::invalid_path(format!(
            "{name} is not multi-valued and takes no filter"
        )));
    }
    if op == Op::Remove && !container.contains_key(name) {
        return Ok(());
    }
    let slot = container
        .entry(name.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    let Value::Array(list) = slot else {
        return Ok(());
    };
    let hits: Vec<usize> = (0..list.len())
        .filter(|&i| val_matches(filter, &list[i]))
        .collect();
    if op == Op::Remove {
        // RFC 7644 §3.5.2.2: a path ending in a sub-attribute removes only that
        // sub-attribute; the entry stays (without a value, if that was the one).
        match sub {
            None => {
                let mut i = 0;
                list.retain(|_| {
                    let keep = !hits.contains(&i);
                    i += 1;
                    keep
                });
            }
            Some(sub) => {
                for &i in &hits {
                    if let Some(m) = list[i].as_object_mut() {
                        m.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                    }
                }
            }
        }
        return Ok(());
    }
    let value = value.unwrap_or(Value::Null);
    let hits = if hits.is_empty() {
        let mut seed = Map::new();
        seed_from_filter(filter, &mut seed);
        if seed.is_empty() {
            return Err(ApiError::scim400(
                "noTarget",
                format!("no {name} entry matches the filter"),
            ));
        }
        list.push(Value::Object(seed));
        vec![list.len() - 1]
    } else {
        hits
    };
    for i in hits {
        let Some(element) = list[i].as_object_mut() else {
            continue;
        };
        match (sub, &value) {
            (Some(sub), v) => {
                element.insert(sub.to_string(), v.clone());
            }
            (None, Value::Object(new)) => {
                for (k, v) in new {
                    element.insert(k.clone(), v.clone());
                }
            }
            (None, _) => {
                return Err(ApiError::invalid_value(format!(
                    "{name}[...] without a sub-attribute needs an object value"
                )));
            }
        }
    }
    Ok(())
}

mod attrs;
#[cfg(test)]
mod tests;

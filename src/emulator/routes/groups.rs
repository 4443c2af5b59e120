//! `/groups`: list, get, replace and patch (members by user id). Groups exist only
//! from the tenant; there is no create or delete, as in Genesys. Adding or removing
//! a member id that is no existing user refuses the whole PATCH (400 `invalidValue`
//! naming the member).

use std::collections::BTreeSet;
use std::str::FromStr;

use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use scim_v2::filter::{AttrExp, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Value, json};

use super::{
    AppState, ListParams, Projection, check_if_match, etag, not_modified, not_modified_response,
    read_json, scim_json,
};
use crate::emulator::errors::ApiError;
use crate::emulator::filter::{GroupQuery, matches, parse_group_filter};
use crate::emulator::patch::{self, Resource};
use crate::emulator::permissions;
use crate::emulator::state::Caller;
use crate::emulator::store::{Store, now_ms};
use crate::scim::model::{Group, MSG_LIST, PatchOperation, PatchRequest};

const ALWAYS: &[&str] = &["id", "meta"];

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Group {id} was not found."))
}

fn group_response(store: &Store, gi: usize, proj: &Projection) -> Response {
    let g = store.render_group(gi);
    let v = proj.apply(serde_json::to_value(&g).unwrap_or_default(), ALWAYS);
    let mut r = scim_json(StatusCode::OK, &v);
    r.headers_mut()
        .insert(header::ETAG, etag(store.groups[gi].version));
    r
}

/// `GET /groups`
pub(crate) async fn list(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    s.require(&caller, &[permissions::GROUP_EDIT])?;
    let p = ListParams::parse(q.as_deref())?;
    super::paging::check_page(&s.cfg, &p)?;
    let query = p
        .filter
        .as_deref()
        .map(|f| parse_group_filter(f, s.cfg.lenient_filters))
        .transpose()?;
    let store = s.store.read();
    let hits: Vec<usize> = (0..store.groups.len())
        .filter(|&i| {
            let g = &store.groups[i];
            match &query {
                None => true,
                Some(GroupQuery::Id(id)) => g.id.to_string().eq_ignore_ascii_case(id),
                Some(GroupQuery::DisplayName(n)) => g.display_name.eq_ignore_ascii_case(n),
                Some(GroupQuery::Generic(f)) => matches(
                    f,
                    &serde_json::to_value(store.render_group(i)).unwrap_or_default(),
                ),
            }
        })
        .collect();
    let resources: Vec<Value> = hits
        .iter()
        .skip(p.start_index - 1)
        .take(p.count)
        .map(|&i| {
            p.projection.apply(
                serde_json::to_value(store.render_group(i)).unwrap_or_default(),
                ALWAYS,
            )
        })
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [MSG_LIST],
            "totalResults": hits.len(),
            "startIndex": p.start_index,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    ))
}

/// `GET /groups/{id}`
pub(crate) async fn get_one(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    s.require(&caller, &[permissions::GROUP_EDIT])?;
    let store = s.store.read();
    let gi = store.find_group(&id).ok_or_else(|| not_found(&id))?;
    let version = store.groups[gi].version;
    if not_modified(&headers, version) {
        return Ok(not_modified_response(version));
    }
    Ok(group_response(&store, gi, &Projection::parse(q.as_deref())))
}

/// 400 `invalidValue` naming a member id that is no existing user.
fn unknown_member(id: &str) -> ApiError {
    ApiError::invalid_value(format!(
        "members: {id:?} is not the id of an existing user; drop it from the request"
    ))
}

/// The member ids that `remove` operations address as `members[value eq "<id>"]`.
fn removed_member_ids(ops: &[PatchOperation]) -> Vec<String> {
    ops.iter()
        .filter(|o| o.op.eq_ignore_ascii_case("remove"))
        .filter_map(|o| PatchPath::from_str(o.path.as_deref()?.trim()).ok())
        .filter_map(|p| match p {
            PatchPath::Value(v) if v.attr.name.eq_ignore_ascii_case("members") => match v.filter {
                ValFilter::Attr(AttrExp::Comparison(a, CompareOp::Eq, CompValue::Str(id)))
                    if a.name.eq_ignore_ascii_case("value") =>
                {
                    Some(id)
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Stores a group body after checking its name and members.
fn store_group(store: &mut Store, gi: usize, g: Group) -> Result<(), ApiError> {
    let name = g
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::invalid_value("displayName is required"))?
        .to_string();
    if store
        .groups
        .iter()
        .enumerate()
        .any(|(i, o)| i != gi && o.display_name.eq_ignore_ascii_case(&name))
    {
        return Err(ApiError::uniqueness(format!(
            "a group named {name:?} already exists"
        )));
    }
    let mut members = BTreeSet::new();
    for m in &g.members {
        let idx = store
            .find(&m.value)
            .ok_or_else(|| unknown_member(&m.value))?;
        members.insert(idx);
    }
    let slot = &mut store.groups[gi];
    if slot.display_name != name || slot.external_id != g.external_id || slot.members != members {
        slot.display_name = name;
        slot.external_id = g.external_id;
        slot.members = members;
        slot.version += 1;
        slot.modified_ms = now_ms();
    }
    Ok(())
}

/// `PUT /groups/{id}`: replaces displayName, externalId and members.
pub(crate) async fn replace(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    s.require(&caller, &[permissions::GROUP_EDIT])?;
    let g: Group = read_json(&s, &headers, body).await?;
    let mut store = s.store.write();
    let gi = store.find_group(&id).ok_or_else(|| not_found(&id))?;
    check_if_match(&s, &headers, store.groups[gi].version)?;
    store_group(&mut store, gi, g)?;
    Ok(group_response(&store, gi, &Projection::default()))
}

/// `PATCH /groups/{id}`
pub(crate) async fn patch(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    s.require(&caller, &[permissions::GROUP_EDIT])?;
    let req: PatchRequest = read_json(&s, &headers, body).await?;
    let mut store = s.store.write();
    let gi = store.find_group(&id).ok_or_else(|| not_found(&id))?;
    check_if_match(&s, &headers, store.groups[gi].version)?;
    let current = store.render_group(gi);
    let mut doc = json!({
        "displayName": current.display_name,
        "members": current.members.iter().map(|m| json!({"value": m.value})).collect::<Vec<_>>(),
    });
    if let Some(e) = &current.external_id {
        doc["externalId"] = json!(e);
    }
    // Genesys's answer to removing an unknown member is not documented: refuse it, as
    // an add of one is refused (never laxer than Genesys).
    if let Some(id) = removed_member_ids(&req.operations)
        .into_iter()
        .find(|id| store.find(id).is_none())
    {
        return Err(unknown_member(&id));
    }
    patch::apply(&mut doc, &req.operations, &Resource::Group)?;
    let g: Group = serde_json::from_value(doc)
        .map_err(|e| ApiError::invalid_value(format!("the patched group is not valid: {e}")))?;
    store_group(&mut store, gi, g)?;
    Ok(group_response(&store, gi, &Projection::default()))
}

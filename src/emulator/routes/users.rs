//! `/users`: list (filters, paging, projection), get, create, replace, patch and
//! soft delete, with ETags and `If-Match`/`If-None-Match`.

use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{
    AppState, ListParams, Projection, check_if_match, etag, not_modified, not_modified_response,
    read_json, scim_json,
};
use crate::emulator::attributes::check_user_doc;
use crate::emulator::errors::ApiError;
use crate::emulator::extensions::Extensions;
use crate::emulator::filter::{UserQuery, matches, parse_user_filter};
use crate::emulator::patch::{self, Resource};
use crate::emulator::permissions;
use crate::emulator::rules::check_user;
use crate::emulator::state::Caller;
use crate::emulator::store::{Store, UserState, now_ms};
use crate::scim::model::{MSG_LIST, PatchRequest, User};

const ALWAYS: &[&str] = &["id", "userName", "active", "meta"];

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("User {id} was not found."))
}

fn user_response(store: &Store, idx: u32, status: StatusCode, proj: &Projection) -> Response {
    let user = store.render(idx);
    let version = store.users[idx as usize].version;
    let location = user.meta.as_ref().and_then(|m| m.location.clone());
    let mut r = if proj.is_empty() {
        scim_json(status, &user)
    } else {
        let v = serde_json::to_value(&user).unwrap_or_default();
        scim_json(status, &proj.apply(v, ALWAYS))
    };
    r.headers_mut().insert(header::ETAG, etag(version));
    if status == StatusCode::CREATED
        && let Some(loc) = location.and_then(|l| HeaderValue::from_str(&l).ok())
    {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    r
}

/// Handles of the users a query selects (never deleted ones).
fn select(store: &Store, q: &UserQuery) -> Vec<u32> {
    let one = |x: Option<u32>| x.into_iter().collect();
    let scan = |pred: &dyn Fn(&User) -> bool| -> Vec<u32> {
        (0..store.users.len() as u32)
            .filter(|&i| store.users[i as usize].state != UserState::Deleted)
            .filter(|&i| pred(&store.writable(i)))
            .collect()
    };
    match q {
        UserQuery::Id(id) => one(store.find(id)),
        UserQuery::UserName(u) => one(store.find_user_name(u)),
        UserQuery::ExternalId(e) => one(store.find_external_id(e)),
        UserQuery::ExternalIds { authority, value } => one(store.find_authority(authority, value)),
        UserQuery::Active(a) => {
            let want = if *a {
                UserState::Active
            } else {
                UserState::Inactive
            };
            store.page(want, 0, usize::MAX)
        }
        UserQuery::Email(e) => {
            let e = e.to_lowercase();
            scan(&|u| {
                u.user_name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase() == e)
                    || u.emails.iter().any(|m| m.value.to_lowercase() == e)
            })
        }
        UserQuery::Manager(m) => scan(&|u| {
            u.enterprise
                .as_ref()
                .and_then(|x| x.manager.as_ref())
                .is_some_and(|x| &x.value == m)
        }),
        UserQuery::Division(d) => scan(&|u| {
            u.enterprise
                .as_ref()
                .and_then(|x| x.division.as_deref())
                .is_some_and(|x| x.eq_ignore_ascii_case(d))
        }),
        UserQuery::EmployeeNumber(n) => scan(&|u| {
            u.enterprise
                .as_ref()
                .and_then(|x| x.employee_number.as_deref())
                == Some(n.as_str())
        }),
        UserQuery::Generic(f) => (0..store.users.len() as u32)
            .filter(|&i| store.users[i as usize].state != UserState::Deleted)
            .filter(|&i| {
                matches(
                    f,
                    &serde_json::to_value(store.render(i)).unwrap_or_default(),
                )
            })
            .collect(),
    }
}

/// `GET /users`
pub(crate) async fn list(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = ListParams::parse(q.as_deref())?;
    super::paging::check_page(&s.cfg, &p)?;
    let query = p
        .filter
        .as_deref()
        .map(|f| parse_user_filter(f, s.cfg.lenient_filters))
        .transpose()?;
    let store = s.store.read();
    let skip = p.start_index - 1;
    let (total, page): (usize, Vec<u32>) = match &query {
        None => {
            let (page, examined) = store.page_examined(UserState::Active, skip, p.count);
            s.stats.page_slots(examined);
            (store.active as usize, page)
        }
        Some(UserQuery::Active(a)) => {
            let (state, total) = if *a {
                (UserState::Active, store.active)
            } else {
                (UserState::Inactive, store.inactive)
            };
            let (page, examined) = store.page_examined(state, skip, p.count);
            s.stats.page_slots(examined);
            (total as usize, page)
        }
        Some(q) => {
            let all = select(&store, q);
            s.stats.page_slots(store.users.len() as u64);
            (
                all.len(),
                all.into_iter().skip(skip).take(p.count).collect(),
            )
        }
    };
    let resources: Vec<Value> = page
        .iter()
        .map(|&i| {
            p.projection.apply(
                serde_json::to_value(store.render(i)).unwrap_or_default(),
                ALWAYS,
            )
        })
        .collect();
    let body = serde_json::json!({
        "schemas": [MSG_LIST],
        "totalResults": total,
        "startIndex": p.start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    Ok(scim_json(StatusCode::OK, &body))
}

/// Reads a user body, checked against the published user schemas
/// (`--unknown-attributes`).
async fn read_user(s: &AppState, headers: &HeaderMap, body: Body) -> Result<User, ApiError> {
    let mut doc: Value = read_json(s, headers, body).await?;
    let taken = s.extensions.take(&mut doc)?;
    check_user_doc(&mut doc, s.cfg.unknown_attributes)?;
    Extensions::put_back(&mut doc, taken);
    serde_json::from_value(doc)
        .map_err(|e| ApiError::invalid_value(format!("the user is not valid: {e}")))
}

/// `GET /users/{id}`
pub(crate) async fn get_one(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let store = s.store.read();
    let idx = store.find(&id).ok_or_else(|| not_found(&id))?;
    let version = store.users[idx as usize].version;
    if not_modified(&headers, version) {
        return Ok(not_modified_response(version));
    }
    Ok(user_response(
        &store,
        idx,
        StatusCode::OK,
        &Projection::parse(q.as_deref()),
    ))
}

/// `POST /users`
pub(crate) async fn create(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    s.require(&caller, &[permissions::USER_ADD])?;
    let mut user = read_user(&s, &headers, body).await?;
    s.require(&caller, &permissions::for_create(&user))?;
    let id = s.new_id();
    let mut store = s.store.write();
    check_user(&mut user, &s.cat, &store, None, true)?;
    let idx = store.insert(id, &user, now_ms())?;
    Ok(user_response(
        &store,
        idx,
        StatusCode::CREATED,
        &Projection::default(),
    ))
}

/// `PUT /users/{id}`: replaces the writable attributes; read-only ones are ignored.
pub(crate) async fn replace(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    s.require(&caller, &[permissions::USER_EDIT])?;
    let mut user = read_user(&s, &headers, body).await?;
    let sets_password = user.password.is_some();
    let mut store = s.store.write();
    let idx = store.find(&id).ok_or_else(|| not_found(&id))?;
    check_if_match(&s, &headers, store.users[idx as usize].version)?;
    let current = store.writable(idx);
    if user.active.is_none() {
        user.active = current.active;
    }
    // A user always has a division: one left out stays as it was.
    if user
        .enterprise
        .as_ref()
        .and_then(|e| e.division.as_ref())
        .is_none()
        && let Some(d) = current.enterprise.as_ref().and_then(|e| e.division.clone())
    {
        user.enterprise.get_or_insert_default().division = Some(d);
    }
    check_user(&mut user, &s.cat, &store, Some(idx), false)?;
    s.require(
        &caller,
        &permissions::for_update(&current, &user, sets_password),
    )?;
    if user != current {
        store.update(idx, &user, now_ms())?;
    }
    Ok(user_response(
        &store,
        idx,
        StatusCode::OK,
        &Projection::default(),
    ))
}

/// `PATCH /users/{id}`
pub(crate) async fn patch(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    s.require(&caller, &[permissions::USER_EDIT])?;
    let req: PatchRequest = read_json(&s, &headers, body).await?;
    let mut store = s.store.write();
    let idx = store.find(&id).ok_or_else(|| not_found(&id))?;
    check_if_match(&s, &headers, store.users[idx as usize].version)?;
    let current = store.writable(idx);
    let mut doc = serde_json::to_value(&current).unwrap_or_default();
    let res = Resource::User {
        user_name: current.user_name.clone(),
        external_id: current.external_id.clone(),
        unknown: s.cfg.unknown_attributes,
    };
    let rest = s.extensions.apply_patch(&mut doc, &req.operations)?;
    if !rest.is_empty() || req.operations.is_empty() {
        patch::apply(&mut doc, &rest, &res)?;
    }
    let taken = s.extensions.take(&mut doc)?;
    check_user_doc(&mut doc, s.cfg.unknown_attributes)?;
    Extensions::put_back(&mut doc, taken);
    let mut user: User = serde_json::from_value(doc)
        .map_err(|e| ApiError::invalid_value(format!("the patched user is not valid: {e}")))?;
    let sets_password = user.password.is_some();
    check_user(&mut user, &s.cat, &store, Some(idx), false)?;
    s.require(
        &caller,
        &permissions::for_update(&current, &user, sets_password),
    )?;
    if user != current {
        store.update(idx, &user, now_ms())?;
    }
    Ok(user_response(
        &store,
        idx,
        StatusCode::OK,
        &Projection::default(),
    ))
}

/// `DELETE /users/{id}`: soft delete.
pub(crate) async fn delete(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    s.require(&caller, &[permissions::USER_DELETE])?;
    let mut store = s.store.write();
    let idx = store.find(&id).ok_or_else(|| not_found(&id))?;
    check_if_match(&s, &headers, store.users[idx as usize].version)?;
    store.delete(idx, now_ms());
    Ok(StatusCode::NO_CONTENT.into_response())
}

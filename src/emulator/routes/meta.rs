//! Discovery endpoints: `/schemas` (a filter is refused with 403, as in Genesys),
//! `/resourcetypes` and `/serviceproviderconfig` (ETag and If-None-Match).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::{AppState, etag, not_modified, not_modified_response, scim_json};
use crate::emulator::errors::ApiError;
use crate::emulator::schemas;
use crate::scim::model::MSG_LIST;

fn list(items: Vec<Value>) -> Response {
    scim_json(
        StatusCode::OK,
        &json!({"schemas": [MSG_LIST], "totalResults": items.len(), "startIndex": 1,
                "itemsPerPage": items.len(), "Resources": items}),
    )
}

/// The Schema resources served: `--schemas`' when given, the built-in ones otherwise.
fn served(s: &AppState) -> Vec<Value> {
    match &s.schemas {
        Some(list) => list.clone(),
        None => schemas::all_schemas(&s.scim_url()),
    }
}

/// `GET /schemas`
pub(crate) async fn schemas(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    if q.as_deref()
        .is_some_and(|q| q.to_ascii_lowercase().contains("filter="))
    {
        return Err(ApiError::platform(
            403,
            "not.authorized",
            "Filtering is not supported on schemas.",
        ));
    }
    Ok(list(served(&s)))
}

/// `GET /schemas/{id}`
pub(crate) async fn schema(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    served(&s)
        .into_iter()
        .find(|v| {
            v["id"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(&id))
        })
        .map(|v| scim_json(StatusCode::OK, &v))
        .ok_or_else(|| ApiError::not_found(format!("Schema {id} was not found.")))
}

/// `GET /resourcetypes`
pub(crate) async fn resource_types(State(s): State<AppState>) -> Response {
    list(schemas::resource_types(&s.scim_url()))
}

/// `GET /resourcetypes/{type}`
pub(crate) async fn resource_type(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    schemas::resource_types(&s.scim_url())
        .into_iter()
        .find(|v| {
            v["id"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(&id))
        })
        .map(|v| scim_json(StatusCode::OK, &v))
        .ok_or_else(|| ApiError::not_found(format!("ResourceType {id} was not found.")))
}

/// `GET /serviceproviderconfig`
pub(crate) async fn service_provider_config(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Response {
    if not_modified(&headers, 1) {
        return not_modified_response(1);
    }
    let mut r = scim_json(
        StatusCode::OK,
        &schemas::service_provider_config(&s.scim_url(), s.cfg.max_body_bytes),
    );
    r.headers_mut().insert(header::ETAG, etag(1));
    r
}

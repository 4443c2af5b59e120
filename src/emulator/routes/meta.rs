//! Discovery endpoints: `/schemas` (a filter is refused with 403, as in Genesys;
//! `POST` deploys an extension under `--schema-extensions`, 405 otherwise),
//! `/resourcetypes` and `/serviceproviderconfig` (ETag and If-None-Match).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::{AppState, etag, not_modified, not_modified_response, scim_json};
use crate::emulator::errors::ApiError;
use crate::emulator::schemas;
use crate::scim::model::MSG_LIST;
use crate::scim::schema::{Discovery, parse_resource_types, parse_schemas};

fn list(items: Vec<Value>) -> Response {
    scim_json(
        StatusCode::OK,
        &json!({"schemas": [MSG_LIST], "totalResults": items.len(), "startIndex": 1,
                "itemsPerPage": items.len(), "Resources": items}),
    )
}

/// The Schema resources served: `--schemas`' when given, the built-in ones
/// otherwise, then the extensions deployed under `--schema-extensions`.
fn served(s: &AppState) -> Vec<Value> {
    let mut list = match &s.schemas {
        Some(list) => list.clone(),
        None => schemas::all_schemas(&s.scim_url()),
    };
    list.extend(s.extensions.schemas());
    list
}

/// The ResourceTypes served: the User one lists the deployed extensions too.
fn served_types(s: &AppState) -> Vec<Value> {
    let mut types = schemas::resource_types(&s.scim_url());
    let urns = s.extensions.urns();
    if !urns.is_empty() {
        for t in types.iter_mut().filter(|t| t["id"] == "User") {
            if let Some(Value::Array(exts)) = t.get_mut("schemaExtensions") {
                exts.extend(urns.iter().map(|u| json!({"schema": u, "required": false})));
            }
        }
    }
    types
}

/// `POST /schemas`: deploys a custom extension schema under `--schema-extensions`;
/// 405 otherwise (Genesys's schemas are read-only).
pub(crate) async fn create_schema(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    if !s.cfg.schema_extensions {
        return Err(ApiError::platform(
            405,
            "method.not.allowed",
            "The method is not allowed on this resource: schemas are read-only.",
        ));
    }
    let doc: Value = super::read_json(&s, &headers, body).await?;
    let published = Discovery {
        schemas: parse_schemas(&json!({ "Resources": served(&s) }))
            .map_err(|e| ApiError::invalid_value(e.to_string()))?,
        resource_types: Some(
            parse_resource_types(&json!({ "Resources": served_types(&s) }))
                .map_err(|e| ApiError::invalid_value(e.to_string()))?,
        ),
        patch_supported: Some(true),
    };
    let created = s.extensions.deploy(&doc, &published, &s.scim_url())?;
    Ok(scim_json(StatusCode::CREATED, &created))
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
    list(served_types(&s))
}

/// `GET /resourcetypes/{type}`
pub(crate) async fn resource_type(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    served_types(&s)
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

//! The emulator's HTTP routes and the helpers they share: reading a JSON body (415,
//! 413, 408 for a body that trickles in, malformed JSON), list paging,
//! `attributes`/`excludedAttributes`, ETags and `If-Match`.
//!
//! One file per area: `users.rs`, `groups.rs`, `meta.rs` (Schemas, ResourceTypes,
//! ServiceProviderConfig), `platform.rs` (routing skills), `admin.rs` (OAuth token,
//! stats, reset). Paths arrive normalised by `server` (lower-case resource segment,
//! `/api/v2/scim/v2` family).

mod admin;
mod groups;
mod meta;
pub(crate) mod paging;
mod platform;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::errors::ApiError;
use super::state::Shared;
use crate::scim::model::{SCHEMA_ENTERPRISE, SCHEMA_GENESYS, SCHEMA_USER};

/// State handed to every handler.
pub(crate) type AppState = Arc<Shared>;

/// All routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    const S: &str = "/api/v2/scim/v2";
    Router::new()
        .route("/oauth/token", post(admin::token))
        .route("/emulator/stats", get(admin::stats))
        .route("/emulator/reset", post(admin::reset))
        .route(&format!("{S}/users"), get(users::list).post(users::create))
        .route(
            &format!("{S}/users/{{id}}"),
            get(users::get_one)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route(&format!("{S}/groups"), get(groups::list))
        .route(
            &format!("{S}/groups/{{id}}"),
            get(groups::get_one)
                .put(groups::replace)
                .patch(groups::patch),
        )
        .route(&format!("{S}/resourcetypes"), get(meta::resource_types))
        .route(
            &format!("{S}/resourcetypes/{{id}}"),
            get(meta::resource_type),
        )
        .route(
            &format!("{S}/schemas"),
            get(meta::schemas).post(meta::create_schema),
        )
        .route(&format!("{S}/schemas/{{id}}"), get(meta::schema))
        .route(
            &format!("{S}/serviceproviderconfig"),
            get(meta::service_provider_config),
        )
        .route("/api/v2/routing/skills", get(platform::skills))
        .route(
            "/api/v2/users/{id}/routingskills",
            get(platform::user_skills),
        )
        .route("/api/v2/routing/languages", get(platform::languages))
        .route(
            "/api/v2/users/{id}/routinglanguages",
            get(platform::user_languages),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

async fn not_found() -> ApiError {
    ApiError::not_found("The requested resource was not found.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::platform(
        405,
        "method.not.allowed",
        "The method is not allowed on this resource.",
    )
}

/// Reads a JSON body: checks the content type (415), the size (413) and the syntax.
pub(crate) async fn read_json<T: DeserializeOwned>(
    shared: &Shared,
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    let bytes = read_body(
        shared,
        headers,
        body,
        &["application/json", "application/scim+json"],
    )
    .await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(format!("The request body could not be read as JSON: {e}"))
    })
}

/// Reads a body of one of the allowed media types, within the size limit and the
/// header-read timeout (408 after it).
pub(crate) async fn read_body(
    shared: &Shared,
    headers: &HeaderMap,
    body: Body,
    allowed: &[&str],
) -> Result<bytes::Bytes, ApiError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if !media.as_deref().is_some_and(|m| allowed.contains(&m)) {
        return Err(ApiError::platform(
            415,
            "unsupported.media.type",
            format!(
                "Content-Type {} is not supported; use {}",
                media.as_deref().unwrap_or("(none)"),
                allowed.join(" or ")
            ),
        ));
    }
    let limit = shared.cfg.max_body_bytes;
    let too_large = || {
        ApiError::platform(
            413,
            "request.entity.too.large",
            format!("The request body is larger than {limit} bytes."),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    // A body trickled in slowly would hold its connection (and a slot under the
    // connection cap) for ever; it gets as long as a request head does.
    let within = shared.cfg.header_read_timeout;
    match tokio::time::timeout(within, axum::body::to_bytes(body, limit)).await {
        Ok(read) => read.map_err(|_| too_large()),
        Err(_) => Err(ApiError::platform(
            408,
            "request.timeout",
            format!(
                "The request body did not arrive within {} ms; send it at once.",
                within.as_millis()
            ),
        )),
    }
}

/// The `"N"` ETag of a version.
pub(crate) fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

fn tag_of(v: &str) -> &str {
    v.trim().trim_start_matches("W/").trim_matches('"')
}

/// Whether `If-None-Match` names the current version (-> 304).
pub(crate) fn not_modified(headers: &HeaderMap, version: u64) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == "*" || tag_of(t) == version.to_string())
        })
}

/// Checks `If-Match` against the current version.
pub(crate) fn check_if_match(
    shared: &Shared,
    headers: &HeaderMap,
    version: u64,
) -> Result<(), ApiError> {
    let Some(v) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    // RFC 7232 §3.1: If-Match uses the strong comparison, so a weak tag never matches.
    let strong = |t: &str| {
        let t = t.trim();
        !t.starts_with("W/") && t.trim_matches('"') == version.to_string()
    };
    if v.split(',').any(|t| t.trim() == "*" || strong(t)) {
        return Ok(());
    }
    Err(ApiError::Scim {
        status: shared.cfg.version_conflict.status(),
        scim_type: Some("invalidVers"),
        detail: format!("If-Match {v} does not match the current version \"{version}\""),
    })
}

/// A SCIM JSON response.
pub(crate) fn scim_json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut r = (status, bytes).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    r
}

/// A 304 with the ETag.
pub(crate) fn not_modified_response(version: u64) -> Response {
    let mut r = StatusCode::NOT_MODIFIED.into_response();
    r.headers_mut().insert(header::ETAG, etag(version));
    r
}

/// List parameters shared by the SCIM list endpoints.
#[derive(Debug, Default)]
pub(crate) struct ListParams {
    pub filter: Option<String>,
    pub start_index: usize,
    pub count: usize,
    pub projection: Projection,
}

/// `attributes` / `excludedAttributes` (repeated or comma-separated).
#[derive(Debug, Default, Clone)]
pub(crate) struct Projection {
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

fn parse_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query.map(serde_urlencoded_pairs).unwrap_or_default()
}

fn serde_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{q}").parse().unwrap_or_default(),
    )
    .map(|axum::extract::Query(v)| v)
    .unwrap_or_default()
}

impl ListParams {
    /// Parses a query string (bad numbers are a 400 platform error).
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut p = ListParams {
            start_index: 1,
            count: 25,
            ..Default::default()
        };
        for (k, v) in parse_pairs(query) {
            match k.to_ascii_lowercase().as_str() {
                "filter" => p.filter = Some(v),
                "startindex" => {
                    let n: i64 = v.trim().parse().map_err(|_| {
                        ApiError::bad_request(format!("startIndex must be an integer, not {v:?}"))
                    })?;
                    p.start_index = n.max(1) as usize;
                }
                "count" => {
                    let n: i64 = v.trim().parse().map_err(|_| {
                        ApiError::bad_request(format!("count must be an integer, not {v:?}"))
                    })?;
                    p.count = n.max(0) as usize;
                }
                _ => p.projection.take(&k, &v),
            }
        }
        Ok(p)
    }
}

impl Projection {
    fn take(&mut self, key: &str, value: &str) {
        let list = match key.to_ascii_lowercase().as_str() {
            "attributes" => &mut self.attributes,
            "excludedattributes" => &mut self.excluded,
            _ => return,
        };
        list.extend(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
    }

    /// Parses only the projection parameters of a query string.
    pub fn parse(query: Option<&str>) -> Self {
        let mut p = Projection::default();
        for (k, v) in parse_pairs(query) {
            p.take(&k, &v);
        }
        p
    }

    /// Whether nothing is trimmed.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }

    /// Applies the projection to a resource; `always` are never removed.
    pub fn apply(&self, resource: Value, always: &[&str]) -> Value {
        if self.is_empty() {
            return resource;
        }
        let Value::Object(src) = resource else {
            return resource;
        };
        let keep_always =
            |k: &str| k == "schemas" || always.iter().any(|a| a.eq_ignore_ascii_case(k));
        if !self.attributes.is_empty() {
            let mut out = serde_json::Map::new();
            for (k, v) in &src {
                if keep_always(k) {
                    out.insert(k.clone(), v.clone());
                }
            }
            for a in &self.attributes {
                // A custom extension (`--schema-extensions`) named by its URN.
                if let Some((k, v)) = src
                    .iter()
                    .find(|(k, _)| k.starts_with("urn:") && k.eq_ignore_ascii_case(a.trim()))
                {
                    out.insert(k.clone(), v.clone());
                    continue;
                }
                let (scope, name, sub) = split_attr(a);
                if let (Some(urn), "") = (scope, name) {
                    // A bare extension URN selects the whole extension.
                    if let Some(ext) = src.get(urn) {
                        out.insert(urn.to_string(), ext.clone());
                    }
                    continue;
                }
                let from = match scope {
                    Some(urn) => src.get(urn),
                    None => Some(&Value::Object(src.clone())),
                };
                let Some(Value::Object(from)) = from else {
                    continue;
                };
                let mut found = from.iter().find(|(k, _)| k.eq_ignore_ascii_case(name));
                let mut scope = scope;
                if found.is_none() && scope.is_none() {
                    for urn in [SCHEMA_ENTERPRISE, SCHEMA_GENESYS] {
                        if let Some(Value::Object(ext)) = src.get(urn)
                            && let Some(hit) =
                                ext.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))
                        {
                            let target = out
                                .entry(urn.to_string())
                                .or_insert_with(|| Value::Object(Default::default()));
                            if let Value::Object(t) = target {
                                t.insert(hit.0.clone(), hit.1.clone());
                            }
                        }
                    }
                    continue;
                }
                let Some((k, v)) = found.take() else { continue };
                let v = match (sub, v) {
                    (Some(sub), Value::Object(m)) => Value::Object(
                        m.iter()
                            .filter(|(sk, _)| sk.eq_ignore_ascii_case(sub))
                            .map(|(a, b)| (a.clone(), b.clone()))
                            .collect(),
                    ),
                    (Some(sub), Value::Array(xs)) => Value::Array(
                        xs.iter()
                            .map(|x| match x {
                                Value::Object(m) => Value::Object(
                                    m.iter()
                                        .filter(|(sk, _)| sk.eq_ignore_ascii_case(sub))
                                        .map(|(a, b)| (a.clone(), b.clone()))
                                        .collect(),
                                ),
                                x => x.clone(),
                            })
                            .collect(),
                    ),
                    (_, v) => v.clone(),
                };
                match scope.take() {
                    Some(urn) => {
                        let target = out
                            .entry(urn.to_string())
                            .or_insert_with(|| Value::Object(Default::default()));
                        if let Value::Object(t) = target {
                            t.insert(k.clone(), v);
                        }
                    }
                    None => match (out.get_mut(k.as_str()), v) {
                        (Some(Value::Object(existing)), Value::Object(more)) => {
                            existing.extend(more)
                        }
                        (_, v) => {
                            out.insert(k.clone(), v);
                        }
                    },
                }
            }
            return Value::Object(out);
        }
        let mut out = src;
        for a in &self.excluded {
            let (scope, name, sub) = split_attr(a);
            if let (Some(urn), "") = (scope, name) {
                // A bare extension URN drops the whole extension.
                out.remove(urn);
                continue;
            }
            if scope.is_none() && keep_always(name) {
                continue;
            }
            let has =
                |m: &serde_json::Map<String, Value>| m.keys().any(|k| k.eq_ignore_ascii_case(name));
            let scope = match scope {
                Some(urn) => Some(urn),
                None if has(&out) => None,
                None => [SCHEMA_ENTERPRISE, SCHEMA_GENESYS]
                    .into_iter()
                    .find(|urn| out.get(*urn).and_then(Value::as_object).is_some_and(has)),
            };
            let target = match scope {
                Some(urn) => out.get_mut(urn).and_then(Value::as_object_mut),
                None => Some(&mut out),
            };
            let Some(target) = target else { continue };
            let key = target
                .keys()
                .find(|k| k.eq_ignore_ascii_case(name))
                .cloned();
            let Some(key) = key else { continue };
            match sub {
                None => {
                    target.remove(&key);
                }
                Some(sub) => {
                    if let Some(Value::Object(m)) = target.get_mut(&key) {
                        m.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                    }
                }
            }
        }
        Value::Object(out)
    }
}

/// Splits `urn:...:User:name.sub` into (extension URN, name, sub); a bare extension
/// URN gives (URN, "", None).
fn split_attr(a: &str) -> (Option<&'static str>, &str, Option<&str>) {
    let a = a.trim();
    if let Some(urn) = [SCHEMA_ENTERPRISE, SCHEMA_GENESYS]
        .into_iter()
        .find(|u| u.eq_ignore_ascii_case(a))
    {
        return (Some(urn), "", None);
    }
    let mut scope = None;
    let mut rest = a;
    for urn in [SCHEMA_ENTERPRISE, SCHEMA_GENESYS, SCHEMA_USER] {
        if a.len() > urn.len()
            && a.get(..urn.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(urn))
            && a.as_bytes()[urn.len()] == b':'
        {
            rest = &a[urn.len() + 1..];
            if urn != SCHEMA_USER {
                scope = Some(urn);
            }
            break;
        }
    }
    match rest.split_once('.') {
        Some((n, s)) => (scope, n, Some(s)),
        None => (scope, rest, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projection_keeps_always_returned() {
        let user = json!({"schemas": ["s"], "id": "1", "userName": "u", "active": true, "meta": {},
            "title": "T", "displayName": "D",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "X", "manager": {"value": "m", "$ref": "r"}}});
        let p = Projection::parse(Some(
            "attributes=title,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        ));
        let out = p.apply(user.clone(), &["id", "userName", "active", "meta"]);
        assert_eq!(out["title"], "T");
        assert!(out.get("displayName").is_none());
        assert_eq!(out["userName"], "u");
        assert_eq!(out[SCHEMA_ENTERPRISE], json!({"manager": {"value": "m"}}));
        let p = Projection::parse(Some(
            "excludedAttributes=title&excludedAttributes=id,department",
        ));
        let out = p.apply(user, &["id", "userName", "active", "meta"]);
        assert!(out.get("title").is_none());
        assert_eq!(out["id"], "1");
        assert_eq!(out[SCHEMA_ENTERPRISE].get("department"), None);
    }

    #[test]
    fn bare_extension_urn_selects_or_drops_the_extension() {
        let user = json!({"id": "1", "userName": "u", "title": "T",
            SCHEMA_ENTERPRISE: {"department": "X"}, SCHEMA_GENESYS: {"routingSkills": []}});
        let always = ["id", "userName", "active", "meta"];
        let p = Projection::parse(Some(&format!("attributes={SCHEMA_ENTERPRISE}")));
        let out = p.apply(user.clone(), &always);
        assert_eq!(out[SCHEMA_ENTERPRISE], json!({"department": "X"}));
        assert!(out.get(SCHEMA_GENESYS).is_none() && out.get("title").is_none());
        let p = Projection::parse(Some(&format!("excludedAttributes={SCHEMA_GENESYS}")));
        let out = p.apply(user, &always);
        assert!(out.get(SCHEMA_GENESYS).is_none());
        assert_eq!(out["title"], "T");
    }

    #[test]
    fn list_params_defaults_and_errors() {
        let p = ListParams::parse(None).unwrap();
        assert_eq!((p.start_index, p.count), (1, 25));
        let p = ListParams::parse(Some("startIndex=0&count=0&filter=userName%20eq%20a")).unwrap();
        assert_eq!((p.start_index, p.count), (1, 0));
        assert_eq!(p.filter.as_deref(), Some("userName eq a"));
        assert!(ListParams::parse(Some("count=x")).is_err());
    }
}

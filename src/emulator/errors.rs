//! Error types: [`EmulatorError`] for starting and stopping the emulator, and
//! [`ApiError`], an HTTP error answer in one of the three Genesys shapes (SCIM Error
//! with a string status, platform ErrorBody with an integer status, OAuth error).
//!
//! Every handler returns `Result<_, ApiError>`, so a bad request always becomes a
//! Genesys-shaped body and never a panic or a plain-text answer.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::config::ErrorShape;
use crate::scim::model::{MSG_ERROR, OAuthError, PlatformError, ScimError};

/// Failure to start or stop the emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The tenant or state file could not be read or parsed.
    #[error("cannot load {what} from {path}: {detail}")]
    Load {
        /// `tenant` or `state`.
        what: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The state file could not be written.
    #[error("cannot save state to {path}")]
    Save {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// An error answer of the emulator's HTTP API.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// RFC 7644 SCIM error (`status` as a string, `scimType`).
    Scim {
        /// HTTP status.
        status: u16,
        /// RFC 7644 Table 9 value.
        scim_type: Option<&'static str>,
        /// Detail text.
        detail: String,
    },
    /// Genesys platform ErrorBody (`status` as an integer, `code`).
    Platform {
        /// HTTP status.
        status: u16,
        /// Code such as `not.found`.
        code: &'static str,
        /// Message text.
        message: String,
        /// Seconds for a `Retry-After` header (429 only).
        retry_after: Option<u64>,
    },
    /// OAuth token endpoint error.
    OAuth {
        /// HTTP status.
        status: u16,
        /// OAuth error code.
        error: &'static str,
        /// Description.
        description: String,
    },
}

impl ApiError {
    /// 400 SCIM error with a scimType.
    pub fn scim400(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Scim {
            status: 400,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }
    /// 400 `invalidValue` naming the field.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::scim400("invalidValue", detail)
    }
    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::scim400("invalidFilter", detail)
    }
    /// 400 `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::scim400("mutability", detail)
    }
    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::scim400("invalidPath", detail)
    }
    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        ApiError::Scim {
            status: 409,
            scim_type: Some("uniqueness"),
            detail: detail.into(),
        }
    }
    /// A platform ErrorBody.
    pub fn platform(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Platform {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    /// 400 `bad.request` platform body.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::platform(400, "bad.request", message)
    }
    /// 404 `not.found` platform body.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::platform(404, "not.found", message)
    }
    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Scim { status, .. }
            | ApiError::Platform { status, .. }
            | ApiError::OAuth { status, .. } => *status,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (body, content_type, retry_after) = match self {
            ApiError::Scim {
                status,
                scim_type,
                detail,
            } => {
                let parts = ScimParts {
                    scim_type,
                    detail: detail.clone(),
                };
                let body = ScimError {
                    schemas: vec![MSG_ERROR.to_string()],
                    status: status.to_string(),
                    scim_type: scim_type.map(str::to_string),
                    detail: Some(detail),
                };
                let mut r = scim_or_platform(status, serde_json::to_vec(&body));
                r.extensions_mut().insert(parts);
                return r;
            }
            ApiError::Platform {
                status,
                code,
                message,
                retry_after,
            } => {
                let body = PlatformError {
                    message: message.clone(),
                    code: code.to_string(),
                    status,
                    message_with_params: message,
                    context_id: uuid::Builder::from_random_bytes(rand::random())
                        .into_uuid()
                        .to_string(),
                    ..PlatformError::default()
                };
                (serde_json::to_vec(&body), "application/json", retry_after)
            }
            ApiError::OAuth {
                error, description, ..
            } => {
                let body = OAuthError {
                    error: error.to_string(),
                    description,
                };
                (serde_json::to_vec(&body), "application/json", None)
            }
        };
        let mut response = (status, body.unwrap_or_default()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A SCIM error's parts, kept on its response so that [`reshape`] can re-render a
/// 400 in the platform shape once the emulator's `--error-shape` is known.
#[derive(Debug, Clone)]
struct ScimParts {
    scim_type: Option<&'static str>,
    detail: String,
}

fn scim_or_platform(status: u16, body: serde_json::Result<Vec<u8>>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (code, body.unwrap_or_default()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    response
}

/// Re-renders a 400 SCIM error as the platform ErrorBody (`bad.request`, the
/// scimType in `messageParams.scimType`) when `shape` asks for it. `invalidVers`
/// stays a SCIM error: the Genesys If-Match text names that scimType.
pub(crate) fn reshape(response: Response, shape: ErrorShape) -> Response {
    if shape != ErrorShape::Platform || response.status() != StatusCode::BAD_REQUEST {
        return response;
    }
    let Some(parts) = response.extensions().get::<ScimParts>().cloned() else {
        return response;
    };
    if parts.scim_type == Some("invalidVers") {
        return response;
    }
    let mut params = serde_json::Map::new();
    if let Some(t) = parts.scim_type {
        params.insert("scimType".into(), serde_json::Value::String(t.into()));
    }
    let message = match parts.scim_type {
        Some(t) => format!("{t}: {}", parts.detail),
        None => parts.detail,
    };
    let body = PlatformError {
        message: message.clone(),
        code: "bad.request".into(),
        status: 400,
        message_with_params: message,
        message_params: params,
        context_id: uuid::Builder::from_random_bytes(rand::random())
            .into_uuid()
            .to_string(),
        ..PlatformError::default()
    };
    let mut r = (
        StatusCode::BAD_REQUEST,
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn scim_status_is_a_string_and_platform_an_integer() {
        let r = ApiError::uniqueness("taken").into_response();
        assert_eq!(r.status(), 409);
        let b = axum::body::to_bytes(r.into_body(), 10_000).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["status"], "409");
        assert_eq!(v["scimType"], "uniqueness");

        let r = ApiError::not_found("gone").into_response();
        let b = axum::body::to_bytes(r.into_body(), 10_000).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["status"], 404);
        assert_eq!(v["code"], "not.found");
    }
}

//! `POST /oauth/token` (client credentials), and the emulator's own endpoints:
//! `GET /emulator/stats` and `POST /emulator/reset` (loopback only, no auth).

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;

use super::{AppState, read_body};
use crate::emulator::errors::ApiError;
use crate::scim::model::TokenResponse;

/// `POST /oauth/token`
pub(crate) async fn token(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&s, &headers, body, &["application/x-www-form-urlencoded"]).await?;
    let form: HashMap<String, String> = axum::extract::Query::try_from_uri(
        &format!("/?{}", String::from_utf8_lossy(&bytes))
            .parse()
            .map_err(|_| ApiError::OAuth {
                status: 400,
                error: "invalid_request",
                description: "the form body could not be read".into(),
            })?,
    )
    .map(|axum::extract::Query(f)| f)
    .map_err(|_| ApiError::OAuth {
        status: 400,
        error: "invalid_request",
        description: "the form body could not be read".into(),
    })?;
    let raw: [u8; 32] = s.rng.lock().random();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let (access_token, expires_in) =
        s.auth
            .issue(authorization, &form, hex::encode(raw), Instant::now())?;
    Ok(axum::Json(TokenResponse {
        access_token,
        token_type: "bearer".into(),
        expires_in,
    })
    .into_response())
}

/// `GET /emulator/stats`
pub(crate) async fn stats(State(s): State<AppState>) -> Response {
    axum::Json(s.stats()).into_response()
}

/// `POST /emulator/reset`: empties the counters.
pub(crate) async fn reset(State(s): State<AppState>) -> Response {
    s.stats.reset();
    StatusCode::NO_CONTENT.into_response()
}

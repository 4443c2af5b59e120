//! OAuth client credentials: the `/oauth/token` checks (Basic auth or form fields)
//! and bearer-token verification on the API.
//!
//! Owns issued tokens and their expiry. Errors follow Genesys: OAuth style on the
//! token endpoint, platform ErrorBody (401) on the API. Never logs a secret.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use parking_lot::RwLock;

use super::errors::ApiError;

/// The emulator's one OAuth client and the tokens issued to it.
#[derive(Debug)]
pub(crate) struct Auth {
    client_id: String,
    client_secret: String,
    ttl: Duration,
    tokens: RwLock<HashMap<String, (String, Instant)>>,
}

/// Credentials found in a token request.
fn credentials(
    authorization: Option<&str>,
    form: &HashMap<String, String>,
) -> Option<(String, String)> {
    if let Some(basic) = authorization.and_then(|h| {
        h.get(..6)
            .filter(|p| p.eq_ignore_ascii_case("basic "))
            .map(|_| h[6..].trim())
    }) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        return Some((id.to_string(), secret.to_string()));
    }
    Some((
        form.get("client_id")?.clone(),
        form.get("client_secret")?.clone(),
    ))
}

impl Auth {
    /// Accepts `client_id`/`client_secret`; tokens live `ttl_secs`.
    pub fn new(client_id: String, client_secret: String, ttl_secs: u64) -> Self {
        Self {
            client_id,
            client_secret,
            ttl: Duration::from_secs(ttl_secs),
            tokens: RwLock::new(HashMap::new()),
        }
    }

    /// Handles a token request; `token` is a fresh random string.
    pub fn issue(
        &self,
        authorization: Option<&str>,
        form: &HashMap<String, String>,
        token: String,
        now: Instant,
    ) -> Result<(String, u64), ApiError> {
        let oauth = |status, error, description: &str| ApiError::OAuth {
            status,
            error,
            description: description.to_string(),
        };
        match form.get("grant_type").map(String::as_str) {
            Some("client_credentials") => {}
            Some(_) => {
                return Err(oauth(
                    400,
                    "unsupported_grant_type",
                    "only client_credentials is supported",
                ));
            }
            None => return Err(oauth(400, "invalid_request", "grant_type is required")),
        }
        let Some((id, secret)) = credentials(authorization, form) else {
            return Err(oauth(
                401,
                "invalid_client",
                "client credentials are required",
            ));
        };
        if id != self.client_id || secret != self.client_secret {
            return Err(oauth(401, "invalid_client", "client authentication failed"));
        }
        self.tokens
            .write()
            .insert(token.clone(), (id, now + self.ttl));
        Ok((token, self.ttl.as_secs()))
    }

    /// The client id behind a valid `Authorization: Bearer` header.
    pub fn verify(&self, authorization: Option<&str>, now: Instant) -> Result<String, ApiError> {
        let token = authorization
            .and_then(|h| {
                h.get(..7)
                    .filter(|p| p.eq_ignore_ascii_case("bearer "))
                    .map(|_| h[7..].trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::platform(
                    401,
                    "authentication.required",
                    "No authentication bearer token specified in authorization header.",
                )
            })?;
        match self.tokens.read().get(token) {
            Some((client, expiry)) if *expiry > now => Ok(client.clone()),
            Some(_) => Err(ApiError::platform(
                401,
                "credentials.expired",
                "The bearer token has expired.",
            )),
            None => Err(ApiError::platform(
                401,
                "bad.credentials",
                "Invalid login credentials.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_or_form_credentials() {
        let a = Auth::new("id".into(), "s3".into(), 60);
        let now = Instant::now();
        let mut form =
            HashMap::from([("grant_type".to_string(), "client_credentials".to_string())]);
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("id:s3")
        );
        let (t, ttl) = a.issue(Some(&basic), &form, "tok".into(), now).unwrap();
        assert_eq!(ttl, 60);
        assert_eq!(a.verify(Some(&format!("Bearer {t}")), now).unwrap(), "id");
        assert_eq!(
            a.verify(Some("Bearer tok"), now + Duration::from_secs(61))
                .unwrap_err()
                .status(),
            401
        );
        form.insert("client_id".into(), "id".into());
        form.insert("client_secret".into(), "wrong".into());
        let e = a.issue(None, &form, "t2".into(), now).unwrap_err();
        assert!(matches!(
            e,
            ApiError::OAuth {
                status: 401,
                error: "invalid_client",
                ..
            }
        ));
        assert!(a.verify(None, now).is_err());
        assert!(a.verify(Some("Bearer nope"), now).is_err());
    }
}

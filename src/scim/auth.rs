//! The OAuth client-credentials token cache: one token shared by every task,
//! refreshed ahead of expiry, fetched single-flight (however many tasks wait, one
//! request goes out), and invalidated by generation after a 401 so that a burst of
//! 401s causes one refresh, not one per task.
//!
//! The token and the client secret live in `SecretString`s; no `Debug`, `Display`
//! or error of this module contains either. Both are registered with the redactor
//! (`secrets`): the client secret when the cache is made, each token when it is
//! issued, so a server that echoes them back cannot get them into any output; the
//! error details of this module are redacted when they are made. Retrying a failed fetch, counting calls
//! and the auth circuit belong to `apply::api`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

use crate::scim::body::{BodyError, MAX_BODY_BYTES, read_capped, too_large_message};
use crate::scim::model::{OAuthError, PlatformError, TokenResponse};
use crate::scim::target::Target;
use crate::secrets::{self, SecretKind};

/// A bearer token with its lifetime. `Debug` is redacted.
pub struct Token {
    secret: SecretString,
    /// Increases by one per fetched token; used to invalidate exactly this token.
    pub generation: u64,
    /// When the server says it expires.
    pub expires_at: Instant,
    refresh_at: Instant,
}

impl Token {
    /// `Bearer <token>` for the Authorization header.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.secret.expose_secret())
    }

    /// The raw token, for tests (the redactor learns it when it is fetched).
    #[cfg(test)]
    pub(crate) fn expose(&self) -> &str {
        self.secret.expose_secret()
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("secret", &"[REDACTED]")
            .field("generation", &self.generation)
            .finish()
    }
}

/// Why no token could be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// The token endpoint refused the credentials (4xx): retrying cannot help.
    #[error("token endpoint refused the credentials (HTTP {status}): {detail}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// OAuth `error` / platform `code` and description.
        detail: String,
    },
    /// The token endpoint failed (5xx): may be retried.
    #[error("token endpoint unavailable (HTTP {status})")]
    Unavailable {
        /// HTTP status.
        status: u16,
    },
    /// The request timed out.
    #[error("token request timed out")]
    Timeout,
    /// The connection failed or was dropped.
    #[error("token request failed: {detail}")]
    Connection {
        /// Transport detail (no secrets: the URL has none).
        detail: String,
    },
    /// The response could not be read as a token.
    #[error("token response malformed: {detail}")]
    Malformed {
        /// What was wrong.
        detail: String,
    },
}

impl AuthError {
    /// True when another attempt may succeed.
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            AuthError::Rejected { .. } | AuthError::Malformed { .. }
        )
    }
}

/// One token request, as reported to [`TokenCache`]'s hook.
#[derive(Debug, Clone)]
pub struct TokenFetch {
    /// HTTP status, if a response came back.
    pub status: Option<u16>,
    /// Wall time of the request.
    pub latency: Duration,
    /// The failure, if any.
    pub error: Option<AuthError>,
}

/// Called after every token request (for stats and the audit log).
pub type FetchHook = Arc<dyn Fn(&TokenFetch) + Send + Sync>;

/// The shared token cache. Cheap to share behind an `Arc`.
pub struct TokenCache {
    http: reqwest::Client,
    token_url: String,
    basic: SecretString,
    timeout: Duration,
    current: parking_lot::RwLock<Option<Arc<Token>>>,
    refresh: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    hook: Option<FetchHook>,
    /// A static bearer token (`Target::bearer`): returned by `get`, never fetched.
    fixed: Option<Arc<Token>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("token_url", &self.token_url)
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish()
    }
}

impl TokenCache {
    /// A cache for `target`'s token endpoint using `http` (which must not follow
    /// redirects to other hosts with the credentials; reqwest strips Authorization
    /// on cross-host redirects).
    pub fn new(
        http: reqwest::Client,
        target: &Target,
        timeout: Duration,
        hook: Option<FetchHook>,
    ) -> TokenCache {
        let fixed = target.bearer.as_ref().map(|b| {
            secrets::register(SecretKind::BearerToken, b.expose_secret());
            // A static token has no known lifetime: a 401 with it opens the auth
            // circuit rather than asking for a new one.
            let now = Instant::now();
            let far = now
                .checked_add(Duration::from_secs(10 * 365 * 24 * 3600))
                .unwrap_or(now);
            Arc::new(Token {
                secret: b.clone(),
                generation: 0,
                expires_at: far,
                refresh_at: far,
            })
        });
        if fixed.is_none() {
            secrets::register_client(
                &target.credentials.client_id,
                target.credentials.client_secret.expose_secret(),
            );
        }
        TokenCache {
            fixed,
            http,
            token_url: target.token_url(),
            basic: target.credentials.basic_auth_header(),
            timeout,
            current: parking_lot::RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            hook,
        }
    }

    /// A valid token: the cached one, or a fresh one fetched once for all waiters.
    /// Past the refresh point (90% of the lifetime; at most 60 s and at least 1 s
    /// before expiry) one task refreshes while the others keep using the
    /// still-valid token.
    pub async fn get(&self) -> Result<Arc<Token>, AuthError> {
        if let Some(tok) = &self.fixed {
            return Ok(tok.clone());
        }
        let now = Instant::now();
        let cached = self.current.read().clone();
        if let Some(tok) = cached {
            if now < tok.refresh_at {
                return Ok(tok);
            }
            if now < tok.expires_at {
                // Early refresh: whoever gets the lock refreshes; the rest go on.
                let Ok(_guard) = self.refresh.try_lock() else {
                    return Ok(tok);
                };
                if let Some(newer) = self.fresh_after(tok.generation) {
                    return Ok(newer);
                }
                return match self.fetch().await {
                    Ok(fresh) => Ok(fresh),
                    Err(_) if Instant::now() < tok.expires_at => Ok(tok),
                    Err(e) => Err(e),
                };
            }
        }
        let seen = self.current.read().as_ref().map(|t| t.generation);
        let _guard = self.refresh.lock().await;
        // Someone else may have fetched while we waited for the lock.
        let cached = self.current.read().clone();
        if let Some(tok) = cached {
            let now = Instant::now();
            if (Some(tok.generation) != seen && now < tok.expires_at) || now < tok.refresh_at {
                return Ok(tok);
            }
        }
        self.fetch().await
    }

    /// Forgets the token of `generation` (after a 401 with it). A no-op when a newer
    /// token is already cached, so many tasks seeing the same 401 refresh once.
    pub fn invalidate(&self, generation: u64) {
        let mut cur = self.current.write();
        if cur.as_ref().is_some_and(|t| t.generation == generation) {
            *cur = None;
        }
    }

    /// How many tokens have been fetched so far.
    pub fn fetched(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    fn fresh_after(&self, generation: u64) -> Option<Arc<Token>> {
        self.current
            .read()
            .clone()
            .filter(|t| t.generation > generation && Instant::now() < t.refresh_at)
    }

    async fn fetch(&self) -> Result<Arc<Token>, AuthError> {
        let start = Instant::now();
        let result = self.request().await;
        let latency = start.elapsed();
        if let Some(hook) = &self.hook {
            let (status, error) = match &result {
                Ok((status, _)) => (Some(*status), None),
                Err((status, e)) => (*status, Some(e.clone())),
            };
            hook(&TokenFetch {
                status,
                latency,
                error,
            });
        }
        let (_, body) = result.map_err(|(_, e)| e)?;
        secrets::register(SecretKind::BearerToken, &body.access_token);
        let ttl = Duration::from_secs(body.expires_in.max(1));
        // 10% of the lifetime, at most 60 s; at least 1 s (half of a lifetime
        // shorter than 2 s) so a token never expires in flight on a busy machine.
        let floor = Duration::from_secs(1).min(ttl / 2);
        let margin = (ttl / 10).max(floor).min(Duration::from_secs(60));
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let token = Arc::new(Token {
            secret: SecretString::from(body.access_token),
            generation,
            expires_at: start + ttl,
            refresh_at: start + ttl - margin,
        });
        *self.current.write() = Some(token.clone());
        Ok(token)
    }

    async fn request(&self) -> Result<(u16, TokenResponse), (Option<u16>, AuthError)> {
        let resp = self
            .http
            .post(&self.token_url)
            .header(reqwest::header::AUTHORIZATION, self.basic.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("grant_type", "client_credentials")])
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| (None, transport_error(&e)))?;
        let status = resp.status().as_u16();
        let bytes = match read_capped(resp, MAX_BODY_BYTES).await {
            Ok(b) => b,
            Err(BodyError::Transport(e)) => return Err((Some(status), transport_error(&e))),
            Err(BodyError::TooLarge { limit }) => {
                let detail = too_large_message(limit);
                return Err((Some(status), AuthError::Malformed { detail }));
            }
        };
        if (200..300).contains(&status) {
            let body: TokenResponse = serde_json::from_slice(&bytes).map_err(|e| {
                (
                    Some(status),
                    AuthError::Malformed {
                        // serde quotes the offending value, which may be a secret.
                        detail: secrets::redact(&e.to_string()).into_owned(),
                    },
                )
            })?;
            if body.access_token.is_empty() {
                return Err((
                    Some(status),
                    AuthError::Malformed {
                        detail: "empty access_token".into(),
                    },
                ));
            }
            return Ok((status, body));
        }
        if status >= 500 || status == 429 {
            return Err((Some(status), AuthError::Unavailable { status }));
        }
        let detail = if let Ok(e) = serde_json::from_slice::<OAuthError>(&bytes) {
            format!("{}: {}", e.error, e.description)
        } else if let Ok(e) = serde_json::from_slice::<PlatformError>(&bytes) {
            format!("{}: {}", e.code, e.message)
        } else {
            "no error body".to_string()
        };
        // A token endpoint may echo the request (the Basic header, the form body).
        let detail = secrets::redact(&detail).into_owned();
        Err((Some(status), AuthError::Rejected { status, detail }))
    }
}

fn transport_error(e: &reqwest::Error) -> AuthError {
    if e.is_timeout() {
        AuthError::Timeout
    } else {
        AuthError::Connection {
            detail: secrets::redact(&e.without_url_string()).into_owned(),
        }
    }
}

/// A reqwest error's text with its cause chain but without the URL.
pub(crate) trait WithoutUrl {
    /// The message and causes, URL stripped.
    fn without_url_string(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_string(&self) -> String {
        use std::error::Error;
        let mut parts = Vec::new();
        let mut src: Option<&dyn Error> = self.source();
        while let Some(s) = src {
            parts.push(s.to_string());
            src = s.source();
        }
        let head = if self.is_connect() {
            "connect error"
        } else if self.is_body() || self.is_decode() {
            "body error"
        } else {
            "request error"
        };
        if parts.is_empty() {
            head.to_string()
        } else {
            format!("{head}: {}", parts.join(": "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    async fn server(ttl: u64) -> (MockServer, Arc<AtomicUsize>) {
        let server = MockServer::start().await;
        let n = Arc::new(AtomicUsize::new(0));
        let n2 = n.clone();
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(move |_: &Request| {
                let i = n2.fetch_add(1, Ordering::SeqCst) + 1;
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({
                        "access_token": format!("token-{i}"), "token_type": "bearer", "expires_in": ttl
                    }))
                    .set_delay(Duration::from_millis(50))
            })
            .mount(&server)
            .await;
        (server, n)
    }

    fn cache(server: &MockServer) -> Arc<TokenCache> {
        let target = Target::emulator(&server.uri(), "id", "auth-tests-secret");
        Arc::new(TokenCache::new(
            crate::scim::client::build_http(Duration::from_secs(5), 4).unwrap(),
            &target,
            Duration::from_secs(5),
            None,
        ))
    }

    #[tokio::test]
    async fn many_waiters_one_fetch() {
        let (server, n) = server(3600).await;
        let c = cache(&server);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..32 {
            let c = c.clone();
            set.spawn(async move { c.get().await.map(|t| t.generation) });
        }
        while let Some(r) = set.join_next().await {
            assert_eq!(r.unwrap().unwrap(), 1);
        }
        assert_eq!(n.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn invalidate_by_generation_refreshes_once() {
        let (server, n) = server(3600).await;
        let c = cache(&server);
        let t1 = c.get().await.unwrap();
        assert_eq!(t1.expose(), "token-1");
        // Two tasks saw a 401 with token 1: one refresh, not two.
        c.invalidate(t1.generation);
        let t2 = c.get().await.unwrap();
        c.invalidate(t1.generation);
        let t3 = c.get().await.unwrap();
        assert_eq!((t2.expose(), t3.expose()), ("token-2", "token-2"));
        assert_eq!(n.load(Ordering::SeqCst), 2);
        assert!(!format!("{t3:?} {c:?}").contains("token-2"));
    }

    #[tokio::test]
    async fn token_is_replaced_ahead_of_expiry() {
        let (server, n) = server(1).await;
        let c = cache(&server);
        assert_eq!(c.get().await.unwrap().expose(), "token-1");
        // Lifetime 1 s: refresh point at 0.5 s, expiry at 1 s; at 0.6 s the
        // token still works but is replaced ahead of expiry.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(c.get().await.unwrap().expose(), "token-2");
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn rejected_credentials_are_not_transient() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
                "error": "invalid_client", "description": "bad secret"
            })))
            .mount(&server)
            .await;
        let err = cache(&server).get().await.unwrap_err();
        assert!(!err.is_transient());
        assert_eq!(
            err.to_string(),
            "token endpoint refused the credentials (HTTP 400): invalid_client: bad secret"
        );
    }
}

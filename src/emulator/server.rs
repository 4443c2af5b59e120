//! Starting, serving and stopping: [`spawn`] binds the listener, loads the tenant
//! and serves each connection with hyper; [`EmulatorHandle`] is what tests hold.
//!
//! Owns the per-request pipeline that is not a route: path normalisation, counting,
//! bearer auth, the rate limit, latency and faults (including closing a connection
//! without an answer), and the `inin-ratelimit-*` headers. The routes live in
//! `routes`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, Uri};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

use super::auth::Auth;
use super::config::EmulatorConfig;
use super::errors::{ApiError, EmulatorError};
use super::faults::{Fault, Faults};
use super::limit::Limiter;
use super::permissions::Permissions;
use super::state::Shared;
use super::stats::{Counters, Stats};
use super::store::{Store, StoredUser};
use super::tenant::{self, Catalogue, TenantFile};

/// A running emulator. Dropping it without [`shutdown`](Self::shutdown) stops
/// accepting connections but skips saving `--state`.
#[derive(Debug)]
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        self.shared.url.clone()
    }
    /// The SCIM base URL: `url() + "/api/v2/scim/v2"`.
    pub fn scim_url(&self) -> String {
        self.shared.scim_url()
    }
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.cfg.listen
    }
    /// The OAuth client id the token endpoint accepts.
    pub fn client_id(&self) -> &str {
        &self.shared.cfg.client_id
    }
    /// The OAuth client secret the token endpoint accepts.
    pub fn client_secret(&self) -> &str {
        &self.shared.cfg.client_secret
    }
    /// The same data as `GET /emulator/stats`.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }
    /// Forgets the request and status counts (as `DELETE /emulator/stats` does).
    pub fn reset_stats(&self) {
        self.shared.stats.reset();
    }
    /// Every user, inactive and deleted ones included.
    pub fn users(&self) -> Vec<StoredUser> {
        self.shared.store.read().all_users()
    }
    /// Changes the rate limit at run time (`None`: off).
    pub fn set_rate_limit(&self, per_minute: Option<u32>) {
        self.shared.limiter.set(per_minute);
    }
    /// Stops accepting, lets requests in flight finish (up to the drain timeout; then
    /// their connections are cut), and only then saves `--state` if set, so every
    /// write already answered is in the file.
    pub async fn shutdown(self) {
        if let Err(e) = self.stop().await {
            tracing::error!(error = %e, "emulator state not saved");
        }
    }

    /// [`EmulatorHandle::shutdown`], saying what became of `--state`: the users
    /// saved (`None` without `--state`), or why they were not.
    pub async fn stop(mut self) -> Result<Option<usize>, EmulatorError> {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.save_state()?;
        Ok(self.shared.cfg.state.as_ref().map(|_| self.users().len()))
    }
    /// Saves `--state` now, if set.
    pub fn save_state(&self) -> Result<(), EmulatorError> {
        match &self.shared.cfg.state {
            Some(path) => tenant::save_state(
                path,
                &self.shared.cat,
                &self.shared.store.read(),
                self.shared.extensions.schemas(),
            ),
            None => Ok(()),
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Binds `cfg.listen`, loads the tenant and starts serving on the current runtime.
pub async fn spawn(mut cfg: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| EmulatorError::Bind {
            addr: cfg.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind {
            addr: cfg.listen,
            source,
        })?;
    cfg.listen = addr;
    let url = format!("http://{addr}");
    let mut rng = tenant::rng(cfg.seed);
    let mut store = Store::new(format!("{url}/api/v2/scim/v2"));
    let mut deployed = Vec::new();
    let cat = match &cfg.state {
        Some(path) if path.exists() => {
            let (cat, exts) = tenant::load_state(path, &mut store)?;
            deployed = exts;
            cat
        }
        _ => {
            let file = match &cfg.tenant {
                Some(path) => TenantFile::load(path)?,
                None => TenantFile::default(),
            };
            let cat = Catalogue::new(file);
            store.groups = cat.initial_groups(super::store::now_ms());
            tenant::seed_users(&mut store, &cat, cfg.seed_users, &mut rng);
            cat
        }
    };
    let schemas = match &cfg.schemas {
        Some(path) => Some(super::schemas::load(path)?),
        None => None,
    };
    let extensions = super::extensions::Extensions::default();
    if let Some(path) = &cfg.state {
        extensions
            .restore(deployed)
            .map_err(|detail| EmulatorError::Load {
                what: "state",
                path: path.clone(),
                detail,
            })?;
    }
    let faults = Faults::new(
        cfg.fail_rate,
        cfg.drop_rate,
        cfg.latency_ms,
        tenant::rng(cfg.seed.map(|s| s ^ 0x5eed)),
    );
    let shared = Arc::new(Shared {
        auth: Auth::new(
            cfg.client_id.clone(),
            cfg.client_secret.clone(),
            cfg.token_ttl_secs,
        ),
        perms: Permissions::new(&cat.file.clients, &cfg.client_id, &cfg.deny),
        limiter: Limiter::new(cfg.rate_limit_per_minute),
        faults,
        stats: Counters::default(),
        rng: Mutex::new(rng),
        store: RwLock::new(store),
        cat,
        schemas,
        extensions,
        cfg,
        url,
    });
    let (stop, stop_rx) = watch::channel(false);
    let router = super::routes::router(shared.clone());
    let task = tokio::spawn(accept_loop(listener, shared.clone(), router, stop_rx));
    Ok(EmulatorHandle {
        shared,
        stop,
        task: Some(task),
    })
}

/// Accepts connections until `stop`, at most `max_connections` served at once, then
/// drains: the listener is closed first, requests in flight may finish (up to
/// `drain_timeout`), and connections still open after that are cut. It returns only
/// once every connection task is gone, so nothing is answered after `--state` is
/// saved.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(shared.cfg.max_connections.max(1)));
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        // Over the cap, wait here: new connections queue in the kernel's listen
        // backlog and are accepted as soon as a served one closes.
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors, typically: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        conns.spawn(serve(
            stream,
            peer,
            shared.clone(),
            router.clone(),
            stop.clone(),
            slot,
        ));
    }
    drop(listener);
    let within = shared.cfg.drain_timeout;
    let drained =
        tokio::time::timeout(within, async { while conns.join_next().await.is_some() {} })
            .await
            .is_ok();
    if !drained {
        tracing::warn!(
            connections = conns.len(),
            "requests still in flight after the drain timeout; closing their connections"
        );
        conns.shutdown().await;
    }
}

/// How long the accept loop waits after a failed `accept` before trying again.
const ACCEPT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// Serves one connection until the client closes it, its request head times out, a
/// fault drops it, or shutdown; holds `_slot` (its place under the connection cap)
/// until then.
async fn serve(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let kill = Arc::new(Notify::new());
    let k = kill.clone();
    let header_read_timeout = shared.cfg.header_read_timeout;
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let shared = shared.clone();
        let router = router.clone();
        let kill = k.clone();
        async move { Ok::<_, Infallible>(handle(shared, router, peer, kill, req.map(Body::new)).await) }
    });
    // The header-read timeout also runs while a kept-alive connection waits for its
    // next request, so idle connections do not hold a slot forever.
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        // Dropping the connection closes the socket with no answer.
        _ = kill.notified() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Lower-cases the resource segment and maps the legacy `/api/v2/scim/...` family
/// onto `/api/v2/scim/v2/...`.
fn normalise(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    let lower = path.to_ascii_lowercase();
    let rest = if let Some(r) = lower.strip_prefix("/api/v2/scim/v2/") {
        &path[path.len() - r.len()..]
    } else if let Some(r) = lower.strip_prefix("/api/v2/scim/") {
        &path[path.len() - r.len()..]
    } else {
        return None;
    };
    let rest = rest.trim_end_matches('/');
    let (resource, tail) = rest.split_once('/').map_or((rest, ""), |(a, b)| (a, b));
    let mut new = format!("/api/v2/scim/v2/{}", resource.to_ascii_lowercase());
    if !tail.is_empty() {
        new.push('/');
        new.push_str(tail);
    }
    if let Some(q) = uri.query() {
        new.push('?');
        new.push_str(q);
    }
    new.parse().ok()
}

fn header_str<'a>(req: &'a Request<Body>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn handle(
    shared: Arc<Shared>,
    router: axum::Router,
    peer: SocketAddr,
    kill: Arc<Notify>,
    mut req: Request<Body>,
) -> Response<Body> {
    if let Some(uri) = normalise(req.uri()) {
        *req.uri_mut() = uri;
    }
    let path = req.uri().path();
    let admin = path.starts_with("/emulator/");
    let api = path.starts_with("/api/");
    if admin {
        if !peer.ip().is_loopback() {
            return ApiError::platform(
                403,
                "not.authorized",
                "emulator endpoints are loopback only",
            )
            .into_response();
        }
        return router.oneshot(req).await.into_response();
    }
    shared.stats.request(req.method().as_str());
    let mut limit = None;
    let mut fault = Fault::None;
    if api {
        let now = Instant::now();
        let client = match shared.auth.verify(header_str(&req, "authorization"), now) {
            Ok(c) => c,
            Err(e) => return finish(&shared, e.into_response(), Some(shared.limiter.idle())),
        };
        let d = shared.limiter.check(&client, now);
        req.extensions_mut()
            .insert(super::state::Caller(client.clone()));
        limit = Some(d);
        if !d.allowed {
            let e = ApiError::Platform {
                status: 429,
                code: "too.many.requests",
                message: format!(
                    "Rate limit exceeded the maximum. Retry the request in [{}] seconds",
                    d.retry_after
                ),
                retry_after: Some(d.retry_after),
            };
            return finish(&shared, e.into_response(), limit);
        }
        let (delay, f) = shared.faults.decide();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        fault = f;
        match fault {
            Fault::Fail(status) => {
                let (code, msg) = match status {
                    502 => (
                        "bad.gateway",
                        "The upstream service returned an invalid response.",
                    ),
                    503 => (
                        "service.unavailable",
                        "The service is currently unavailable.",
                    ),
                    _ => (
                        "internal.server.error",
                        "The server encountered an internal error.",
                    ),
                };
                return finish(
                    &shared,
                    ApiError::platform(status, code, msg).into_response(),
                    limit,
                );
            }
            Fault::DropBefore => return drop_connection(&shared, &kill).await,
            _ => {}
        }
    }
    let response = super::errors::reshape(
        router.oneshot(req).await.into_response(),
        shared.cfg.error_shape,
    );
    if fault == Fault::DropAfter {
        return drop_connection(&shared, &kill).await;
    }
    finish(&shared, response, limit)
}

async fn drop_connection(shared: &Shared, kill: &Notify) -> Response<Body> {
    shared.stats.dropped();
    kill.notify_one();
    // The connection task drops this future together with the connection.
    std::future::pending::<Response<Body>>().await
}

fn finish(
    shared: &Shared,
    mut response: Response<Body>,
    limit: Option<super::limit::Decision>,
) -> Response<Body> {
    shared.stats.status(response.status().as_u16());
    if let Some(d) = limit {
        let h = response.headers_mut();
        h.insert("inin-ratelimit-count", HeaderValue::from(d.count));
        h.insert("inin-ratelimit-allowed", HeaderValue::from(d.limit));
        h.insert("inin-ratelimit-reset", HeaderValue::from(d.reset_secs));
    }
    let correlation = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    if let Ok(v) = HeaderValue::from_str(&correlation.to_string()) {
        response.headers_mut().insert("inin-correlation-id", v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_legacy_family() {
        let n = |s: &str| normalise(&s.parse().unwrap()).map(|u| u.to_string());
        assert_eq!(
            n("/api/v2/scim/v2/Users/AbC?x=1").unwrap(),
            "/api/v2/scim/v2/users/AbC?x=1"
        );
        assert_eq!(n("/api/v2/scim/Groups").unwrap(), "/api/v2/scim/v2/groups");
        assert_eq!(
            n("/API/V2/SCIM/V2/ServiceProviderConfig/").unwrap(),
            "/api/v2/scim/v2/serviceproviderconfig"
        );
        assert_eq!(n("/api/v2/routing/skills"), None);
    }
}

//! Background delivery: a bounded queue, a dispatcher task and up to
//! `concurrency` deliveries in flight, each retried with exponential backoff and
//! jitter (honouring `Retry-After` on 429 and 5xx) until acknowledged (2xx) or
//! out of attempts. Its own HTTP client (TLS verified, no redirects, timeouts).
//! Every attempt is signed afresh (`webhook-timestamp` is the attempt's time) over
//! the same id and bytes. Never blocks the caller: a full queue leaves the item
//! pending (the journal holds it; a resume sends it).

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{Semaphore, mpsc, watch};

use super::WebhookSecret;
use crate::apply::sink::{DeliveryEnd, DeliveryReply};
use crate::journal::OutboxItem;

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// Attempts per delivery before it is recorded as failed (at least 1).
    pub attempts: u32,
    /// The first retry's delay; each next one doubles (with jitter), up to 60×
    /// this (the default 1 s: 8 attempts span about 2 minutes).
    pub backoff: Duration,
    /// Timeout of one attempt.
    pub timeout: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Deliveries queued before further ones are left for a resume.
    pub queue: usize,
    /// The longest the end of a run waits for deliveries to finish.
    pub drain_timeout: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            attempts: 8,
            backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            concurrency: 8,
            queue: 65_536,
            drain_timeout: Duration::from_secs(60),
        }
    }
}

/// Why webhooks cannot be set up (a usage error).
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The URL is not http(s), or is plain http to a host that is not loopback.
    #[error("--webhook-url: {reason}")]
    Url {
        /// Why.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the webhook HTTP client: {reason}")]
    Client {
        /// reqwest's reason.
        reason: String,
    },
}

/// Where deliveries go and how they are signed.
struct Target {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: Option<WebhookSecret>,
    opts: DeliveryOptions,
}

struct Job {
    item: OutboxItem,
    done: DeliveryReply,
}

/// The delivery task's handle.
pub struct Delivery {
    jobs: mpsc::Sender<Job>,
    /// Deliveries queued or in flight and not yet reported.
    outstanding: Arc<watch::Sender<u64>>,
    drain_timeout: Duration,
    /// Whether the queue has overflowed (warned once).
    overflowed: std::sync::atomic::AtomicBool,
}

/// Checks a webhook URL: http(s) with a host; plain http only to loopback.
/// Values in its query (a token some receivers want there) are registered with
/// the redactor.
pub fn check_url(raw: &str) -> Result<reqwest::Url, WebhookError> {
    let bad = |reason: &str| WebhookError::Url {
        reason: reason.to_string(),
    };
    let url = reqwest::Url::parse(raw).map_err(|_| bad("not a URL"))?;
    for (_, v) in url.query_pairs() {
        crate::secrets::register(crate::secrets::SecretKind::WebhookSecret, &v);
    }
    if let Some(p) = url.password() {
        crate::secrets::register(crate::secrets::SecretKind::WebhookSecret, p);
    }
    let Some(host) = url.host_str() else {
        return Err(bad("the URL has no host"));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(bad("use https (plain http only to a loopback receiver)")),
        _ => Err(bad("use an https URL")),
    }
}

impl Delivery {
    /// Starts the delivery task on the current tokio runtime.
    pub fn start(
        url: reqwest::Url,
        secret: Option<WebhookSecret>,
        opts: DeliveryOptions,
    ) -> Result<Delivery, WebhookError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(opts.timeout.min(Duration::from_secs(5)))
            .timeout(opts.timeout)
            .pool_max_idle_per_host(opts.concurrency.max(1))
            .build()
            .map_err(|e| WebhookError::Client {
                reason: e.without_url().to_string(),
            })?;
        let (jobs, rx) = mpsc::channel(opts.queue.max(1));
        let outstanding = Arc::new(watch::Sender::new(0u64));
        let drain_timeout = opts.drain_timeout;
        let target = Arc::new(Target {
            client,
            url,
            secret,
            opts,
        });
        tokio::spawn(dispatch(target, rx, outstanding.clone()));
        Ok(Delivery {
            jobs,
            outstanding,
            drain_timeout,
            overflowed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Queues a delivery; false (the item stays pending) when the queue is full.
    pub fn send(&self, item: OutboxItem, done: DeliveryReply) -> bool {
        self.outstanding.send_modify(|n| *n += 1);
        match self.jobs.try_send(Job { item, done }) {
            Ok(()) => true,
            Err(_) => {
                self.outstanding.send_modify(|n| *n = n.saturating_sub(1));
                if !self
                    .overflowed
                    .swap(true, std::sync::atomic::Ordering::Relaxed)
                {
                    tracing::warn!(
                        "the webhook queue is full (the receiver is far behind): further deliveries stay pending for --resume"
                    );
                }
                false
            }
        }
    }

    /// Waits up to the drain timeout until every queued delivery has been
    /// reported; true when none is left.
    pub async fn drain(&self) -> bool {
        let mut rx = self.outstanding.subscribe();
        tokio::time::timeout(self.drain_timeout, rx.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

async fn dispatch(
    target: Arc<Target>,
    mut rx: mpsc::Receiver<Job>,
    outstanding: Arc<watch::Sender<u64>>,
) {
    let slots = Arc::new(Semaphore::new(target.opts.concurrency.max(1)));
    while let Some(job) = rx.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let target = target.clone();
        let outstanding = outstanding.clone();
        tokio::spawn(async move {
            let end = deliver(&target, &job.item).await;
            (job.done)(end);
            drop(slot);
            outstanding.send_modify(|n| *n = n.saturating_sub(1));
        });
    }
}

/// One delivery, every attempt.
async fn deliver(t: &Target, item: &OutboxItem) -> DeliveryEnd {
    let body = bytes::Bytes::from(item.body.clone());
    let attempts = t.opts.attempts.max(1);
    let mut last = String::new();
    for attempt in 1..=attempts {
        let wait = match attempt_once(t, item, &body).await {
            Attempt::Delivered => {
                return DeliveryEnd {
                    id: item.id.clone(),
                    attempts: attempt,
                    result: Ok(()),
                };
            }
            Attempt::Refused(why) => {
                return DeliveryEnd {
                    id: item.id.clone(),
                    attempts: attempt,
                    result: Err(why),
                };
            }
            Attempt::Retry { why, after } => {
                last = why;
                after
            }
        };
        if attempt < attempts {
            let delay = wait.unwrap_or_else(|| backoff(t.opts.backoff, attempt));
            tokio::time::sleep(delay.min(max_delay(t.opts.backoff) * 5)).await;
        }
    }
    DeliveryEnd {
        id: item.id.clone(),
        attempts,
        result: Err(last),
    }
}

enum Attempt {
    Delivered,
    /// The receiver answered with a status that retrying will not change.
    Refused(String),
    /// Worth another attempt, after `after` when the receiver said so.
    Retry {
        why: String,
        after: Option<Duration>,
    },
}

async fn attempt_once(t: &Target, item: &OutboxItem, body: &bytes::Bytes) -> Attempt {
    let ts = chrono::Utc::now().timestamp();
    let mut req = t
        .client
        .post(t.url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &item.id)
        .header("webhook-timestamp", ts.to_string())
        .body(body.clone());
    if let Some(secret) = &t.secret {
        req = req.header("webhook-signature", secret.sign(&item.id, ts, body));
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            let what = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "cannot connect"
            } else {
                "request failed"
            };
            return Attempt::Retry {
                why: format!("{what}: {}", e.without_url()),
                after: None,
            };
        }
    };
    let status = resp.status();
    if status.is_success() {
        return Attempt::Delivered;
    }
    let code = status.as_u16();
    let why = format!("HTTP {code}");
    if code == 429 || code == 408 || code == 425 || status.is_server_error() {
        let after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        return Attempt::Retry { why, after };
    }
    Attempt::Refused(format!("the receiver refused it ({why})"))
}

fn max_delay(base: Duration) -> Duration {
    base.saturating_mul(60)
}

/// The delay before retry `attempt` (1-based): `base × 2^(attempt-1)`, capped at
/// 60 × base, then jittered to between half and all of it.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let full = base
        .saturating_mul(1u32 << (attempt - 1).min(16))
        .min(max_delay(base));
    let half = full / 2;
    let jitter = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
    half + Duration::from_millis(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_a_cap() {
        let base = Duration::from_secs(1);
        for attempt in 1..=12 {
            let full = base.saturating_mul(1 << (attempt - 1)).min(base * 60);
            let d = backoff(base, attempt);
            assert!(
                d >= full / 2 && d <= full + Duration::from_millis(1),
                "{attempt}: {d:?}"
            );
        }
    }

    #[test]
    fn urls_must_be_https_unless_loopback() {
        assert!(check_url("https://hr.example.com/hook").is_ok());
        assert!(check_url("http://127.0.0.1:9/hook").is_ok());
        assert!(check_url("http://localhost:9/hook").is_ok());
        assert!(check_url("http://[::1]:9/hook").is_ok());
        assert!(check_url("http://hr.example.com/hook").is_err());
        assert!(check_url("ftp://hr.example.com/hook").is_err());
        assert!(check_url("not a url").is_err());
        check_url("https://hr.example.com/hook?token=Zq9-query-token-unit").unwrap();
        assert_eq!(
            crate::secrets::scrub("x Zq9-query-token-unit y").as_ref(),
            "x *** y"
        );
    }
}
